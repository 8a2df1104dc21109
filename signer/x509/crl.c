#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "base/der.h"
#include "crl.h"
#include "sign_tbs.h"
#include "x509_cert.h"
#include "x509_ext.h"

/* An INTEGER of the big-endian magnitude bytes (new). */
static ASN1_INTEGER *
crl_integer(const uint8_t *bytes, size_t len)
{
	BIGNUM *bn = BN_bin2bn(bytes, (int)len, NULL);
	ASN1_INTEGER *i = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;

	BN_free(bn);
	return i;
}

static ASN1_INTEGER *
crl_u64(uint64_t v)
{
	uint8_t b[8];
	int k;

	for (k = 7; k >= 0; k--, v >>= 8)
		b[k] = (uint8_t)v;
	return crl_integer(b, sizeof(b));
}

static int
crl_check_params(const struct crl_params *p)
{
	size_t i;

	if (p->issuer == NULL || (p->entries == NULL && p->n_entries != 0))
		return sd_error_set(SD_E_INVAL, "CRL: no issuer or no entries");
	if (p->next_update <= p->this_update)
		return sd_error_set(SD_E_INVAL, "CRL: nextUpdate is not after thisUpdate");
	if (p->delta && p->base_number >= p->number)
		return sd_error_set(SD_E_INVAL, "CRL: a delta's base CRL %llu is not before it (%llu)",
		    (unsigned long long)p->base_number, (unsigned long long)p->number);
	if (X509_get0_subject_key_id(p->issuer) == NULL)
		return sd_error_set(SD_E_INVAL, "CRL: the issuer certificate has no subjectKeyIdentifier");
	for (i = 0; i < p->n_entries; i++) {
		if (p->entries[i].serial_len == 0 || p->entries[i].serial_len > CRL_SERIAL_MAX)
			return sd_error_set(SD_E_INVAL, "CRL: entry %zu has a serial of %zu bytes", i,
			    p->entries[i].serial_len);
		if (p->entries[i].reason != CRL_ENTRY_NO_REASON && (p->entries[i].reason > 10 || p->entries[i].reason == 7))
			return sd_error_set(SD_E_INVAL, "CRL: entry %zu has reason code %u", i, p->entries[i].reason);
	}
	return 0;
}

/* Encode with an i2d function into a new OPENSSL_malloc buffer. */
#define CRL_I2D(fn, obj, buf, len) crl_i2d_len((fn)((obj), (buf)), (len))

static int
crl_i2d_len(int n, size_t *len)
{
	if (n <= 0) {
		*len = 0;
		return sd_error_set(SD_E_CRYPTO, "CRL: DER encoding failed");
	}
	*len = (size_t)n;
	return 0;
}

/* Serial order, as INTEGER values: leading zero bytes do not count. */
static int
crl_entry_cmp(const void *pa, const void *pb)
{
	const struct crl_entry *a = pa, *b = pb;
	const uint8_t *x = a->serial, *y = b->serial;
	size_t n = a->serial_len, m = b->serial_len;

	for (; n > 1 && *x == 0; x++, n--)
		;
	for (; m > 1 && *y == 0; y++, m--)
		;
	if (n != m)
		return n < m ? -1 : 1;
	return memcmp(x, y, n);
}

/* One revokedCertificates entry: SEQUENCE { serial, revocationDate, crlEntryExtensions }. */
static int
crl_entry_der(const struct crl_entry *e, unsigned char **der, size_t *len)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *serial = crl_integer(e->serial, e->serial_len);
	ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)e->revoked_at);
	ASN1_ENUMERATED *reason = NULL;
	int rc = sd_error_set(SD_E_CRYPTO, "CRL: cannot build an entry");

	if (r == NULL || serial == NULL || at == NULL || X509_REVOKED_set_serialNumber(r, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(r, at) != 1)
		goto out;
	/* unspecified (0) "SHOULD NOT" be written (RFC 5280 5.3.1): no extension says the same. */
	if (e->reason != CRL_ENTRY_NO_REASON && e->reason != 0 &&
	    ((reason = ASN1_ENUMERATED_new()) == NULL || ASN1_ENUMERATED_set(reason, e->reason) != 1 ||
	    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) != 1))
		goto out;
	rc = CRL_I2D(i2d_X509_REVOKED, r, der, len);
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(at);
	ASN1_INTEGER_free(serial);
	X509_REVOKED_free(r);
	return rc;
}

/* revokedCertificates: SEQUENCE OF entry, in serial order; nothing when there is none. */
static int
crl_revoked_der(const struct crl_params *p, uint8_t **der, size_t *len)
{
	struct crl_entry *sorted = NULL;
	struct der_piece *pieces = NULL;
	unsigned char **bufs = NULL;
	size_t i, n = p->n_entries;
	int rc = 0;

	*der = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	if ((sorted = calloc(n, sizeof(*sorted))) == NULL || (pieces = calloc(n, sizeof(*pieces))) == NULL ||
	    (bufs = calloc(n, sizeof(*bufs))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(sorted, p->entries, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), crl_entry_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && crl_entry_cmp(&sorted[i - 1], &sorted[i]) == 0) {
			rc = sd_error_set(SD_E_INVAL, "CRL: a serial is listed twice");
			goto out;
		}
		if ((rc = crl_entry_der(&sorted[i], &bufs[i], &pieces[i].len)) != 0)
			goto out;
		pieces[i].data = bufs[i];
	}
	rc = der_wrap(DER_TAG_SEQUENCE, pieces, n, der, len);
out:
	for (i = 0; bufs != NULL && i < n; i++)
		OPENSSL_free(bufs[i]);
	free(bufs);
	free(pieces);
	free(sorted);
	return rc;
}

/*
 * crlExtensions: [0] EXPLICIT { authorityKeyIdentifier, cRLNumber,
 * deltaCRLIndicator (critical) for a delta, freshestCRL for a complete CRL
 * with a delta URL }.
 */
static int
crl_extensions_der(const struct crl_params *p, uint8_t **der, size_t *len)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	ASN1_INTEGER *number = crl_u64(p->number), *base = p->delta ? crl_u64(p->base_number) : NULL;
	unsigned char *seq = NULL;
	struct der_piece piece;
	size_t seq_len = 0;
	int rc;

	*der = NULL;
	*len = 0;
	if (exts == NULL || akid == NULL || number == NULL || (p->delta && base == NULL) ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(p->issuer))) == NULL ||
	    X509V3_add1_i2d(&exts, NID_authority_key_identifier, akid, 0, X509V3_ADD_APPEND) != 1 ||
	    X509V3_add1_i2d(&exts, NID_crl_number, number, 0, X509V3_ADD_APPEND) != 1 ||
	    (p->delta && X509V3_add1_i2d(&exts, NID_delta_crl, base, 1, X509V3_ADD_APPEND) != 1)) {
		rc = sd_error_set(SD_E_CRYPTO, "CRL: cannot build its extensions");
		goto out;
	}
	if (!p->delta && p->freshest_url != NULL && (rc = x509_ext_add_freshest_crl(exts, p->freshest_url)) != 0)
		goto out;
	if ((rc = CRL_I2D(i2d_X509_EXTENSIONS, exts, &seq, &seq_len)) != 0)
		goto out;
	piece = (struct der_piece){ seq, seq_len };
	rc = der_wrap(DER_TAG_CONTEXT_0, &piece, 1, der, len);
out:
	OPENSSL_free(seq);
	ASN1_INTEGER_free(base);
	ASN1_INTEGER_free(number);
	AUTHORITY_KEYID_free(akid);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* Version ::= INTEGER 1 (v2). */
static const uint8_t crl_version[] = { DER_TAG_INTEGER, 0x01, 0x01 };

/* TBSCertList ::= SEQUENCE { version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] crlExtensions }. */
static int
crl_tbs(const struct crl_params *p, const struct x509_sigalg *alg, uint8_t **tbs, size_t *tbs_len)
{
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)p->this_update), *t2 = ASN1_TIME_set(NULL, (time_t)p->next_update);
	unsigned char *name = NULL, *d1 = NULL, *d2 = NULL;
	uint8_t *revoked = NULL, *exts = NULL;
	size_t name_len = 0, d1_len = 0, d2_len = 0, revoked_len = 0, exts_len = 0;
	int rc;

	*tbs = NULL;
	if (t1 == NULL || t2 == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "CRL: cannot set its times");
		goto out;
	}
	if ((rc = CRL_I2D(i2d_X509_NAME, X509_get_subject_name(p->issuer), &name, &name_len)) != 0 ||
	    (rc = CRL_I2D(i2d_ASN1_TIME, t1, &d1, &d1_len)) != 0 || (rc = CRL_I2D(i2d_ASN1_TIME, t2, &d2, &d2_len)) != 0 ||
	    (rc = crl_revoked_der(p, &revoked, &revoked_len)) != 0 || (rc = crl_extensions_der(p, &exts, &exts_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = {
			{ crl_version, sizeof(crl_version) }, { alg->algid, alg->algid_len }, { name, name_len },
			{ d1, d1_len }, { d2, d2_len }, { revoked, revoked_len }, { exts, exts_len },
		};

		rc = der_wrap(DER_TAG_SEQUENCE, pieces, sizeof(pieces) / sizeof(pieces[0]), tbs, tbs_len);
	}
out:
	free(exts);
	free(revoked);
	OPENSSL_free(d2);
	OPENSSL_free(d1);
	OPENSSL_free(name);
	ASN1_TIME_free(t2);
	ASN1_TIME_free(t1);
	return rc;
}

/* der must parse as exactly one CRL whose TBS is tbs and whose signature verifies with key. */
static int
crl_check(const uint8_t *der, size_t len, const uint8_t *tbs, size_t tbs_len, EVP_PKEY *key)
{
	const unsigned char *q = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)len);
	unsigned char *re = NULL;
	int n, rc;

	if (crl == NULL || q != der + len)
		rc = sd_error_set(SD_E_INTERNAL, "CRL check: it does not parse as one CRL");
	else if ((n = i2d_re_X509_CRL_tbs(crl, &re)) <= 0 || (size_t)n != tbs_len || memcmp(re, tbs, tbs_len) != 0)
		rc = sd_error_set(SD_E_INTERNAL, "CRL check: its TBSCertList is not the one signed");
	else if (X509_CRL_verify(crl, key) != 1)
		rc = sd_error_set(SD_E_INTERNAL, "CRL check: its signature does not verify");
	else
		rc = 0;
	OPENSSL_free(re);
	X509_CRL_free(crl);
	return rc;
}

int
crl_sign(struct hsm_key *key, const struct x509_sigalg *want, const struct crl_params *p, EVP_PKEY *verify_key,
    uint8_t **der, size_t *len)
{
	const struct x509_sigalg *alg;
	uint8_t *tbs = NULL, *sig = NULL, *out = NULL;
	size_t tbs_len = 0, sig_len = 0, out_len = 0;
	int rc;

	*der = NULL;
	*len = 0;
	if (key == NULL || p == NULL || verify_key == NULL)
		return sd_error_set(SD_E_INVAL, "crl_sign: NULL argument");
	if ((rc = crl_check_params(p)) != 0 || (rc = x509_sign_alg(key, want, &alg)) != 0 ||
	    (rc = crl_tbs(p, alg, &tbs, &tbs_len)) != 0 ||
	    (rc = x509_sign_tbs(key, alg, tbs, tbs_len, &sig, &sig_len)) != 0 ||
	    (rc = x509_cert_assemble(tbs, tbs_len, alg->algid, alg->algid_len, sig, sig_len, &out, &out_len)) != 0 ||
	    (rc = crl_check(out, out_len, tbs, tbs_len, verify_key)) != 0)
		goto out;
	*der = out;
	*len = out_len;
	out = NULL;
out:
	free(out);
	free(sig);
	free(tbs);
	return rc;
}
