#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "base/der.h"
#include "ocsp.h"
#include "sign_tbs.h"

/* Tags of RFC 6960's module (EXPLICIT TAGS but for the IMPLICIT CertStatus choices). */
#define OCSP_TAG_ENUMERATED 0x0a
#define OCSP_TAG_GOOD 0x80		/* [0] IMPLICIT NULL */
#define OCSP_TAG_REVOKED 0xa1		/* [1] IMPLICIT RevokedInfo */
#define OCSP_TAG_UNKNOWN 0x82		/* [2] IMPLICIT UnknownInfo (NULL) */
#define OCSP_TAG_CONTEXT_0 0xa0		/* nextUpdate, revocationReason, responseBytes, certs */
#define OCSP_TAG_CONTEXT_1 0xa1		/* responseExtensions */

/* OCSPResponseStatus successful (ENUMERATED 0). */
static const uint8_t ocsp_successful[] = { OCSP_TAG_ENUMERATED, 0x01, 0x00 };

static const struct ocsp_hash_alg {
	enum ocsp_hash hash;
	int nid;
	size_t len;
	const EVP_MD *(*md)(void);
} ocsp_hashes[] = {
	{ OCSP_HASH_SHA1, NID_sha1, 20, EVP_sha1 },
	{ OCSP_HASH_SHA256, NID_sha256, 32, EVP_sha256 },
	{ OCSP_HASH_SHA384, NID_sha384, 48, EVP_sha384 },
	{ OCSP_HASH_SHA512, NID_sha512, 64, EVP_sha512 },
};

static const struct ocsp_hash_alg *
ocsp_hash_by_id(enum ocsp_hash hash)
{
	size_t i;

	for (i = 0; i < sizeof(ocsp_hashes) / sizeof(ocsp_hashes[0]); i++)
		if (ocsp_hashes[i].hash == hash)
			return &ocsp_hashes[i];
	return NULL;
}

static const struct ocsp_hash_alg *
ocsp_hash_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(ocsp_hashes) / sizeof(ocsp_hashes[0]); i++)
		if (ocsp_hashes[i].nid == nid)
			return &ocsp_hashes[i];
	return NULL;
}

/* Encode with an i2d function into a new OPENSSL_malloc buffer. */
#define OCSP_I2D(fn, obj, buf, len) ocsp_i2d_len((fn)((obj), (buf)), (len))

static int
ocsp_i2d_len(int n, size_t *len)
{
	if (n <= 0) {
		*len = 0;
		return sd_error_set(SD_E_CRYPTO, "OCSP: DER encoding failed");
	}
	*len = (size_t)n;
	return 0;
}

/* The plain form of cid; idx names it in details. */
static int
ocsp_certid_from(OCSP_CERTID *cid, int idx, struct ocsp_certid *out)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *serial = NULL;
	const struct ocsp_hash_alg *h;
	OCSP_CERTID *back = NULL;
	const unsigned char *q;
	unsigned char *p;
	BIGNUM *bn = NULL;
	char oid[80];
	int n, rc;

	memset(out, 0, sizeof(*out));
	if (OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, cid) != 1 || name_hash == NULL || md == NULL ||
	    key_hash == NULL || serial == NULL) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d is incomplete", idx);
		goto out;
	}
	if ((h = ocsp_hash_by_nid(OBJ_obj2nid(md))) == NULL) {
		if (OBJ_obj2txt(oid, sizeof(oid), md, 1) <= 0)
			(void)snprintf(oid, sizeof(oid), "(unprintable)");
		rc = sd_error_set(SD_E_UNSUPPORTED, "OCSP CertID %d: hash algorithm %s (only SHA-1 and SHA-2)", idx,
		    oid);
		goto out;
	}
	if ((size_t)ASN1_STRING_length(name_hash) != h->len || (size_t)ASN1_STRING_length(key_hash) != h->len) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d: issuer hashes of %d and %d octets, not %zu for %s", idx,
		    ASN1_STRING_length(name_hash), ASN1_STRING_length(key_hash), h->len, OBJ_nid2sn(h->nid));
		goto out;
	}
	if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d: the serial is negative", idx);
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (BN_num_bytes(bn) > OCSP_SERIAL_MAX) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d: a serial of %d octets, at most %d", idx, BN_num_bytes(bn),
		    OCSP_SERIAL_MAX);
		goto out;
	}
	/* Echoed as OpenSSL encodes it: DER, whatever BER the client sent. */
	if ((n = i2d_OCSP_CERTID(cid, NULL)) <= 0 || (size_t)n > sizeof(out->der)) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d does not encode in %zu bytes", idx, sizeof(out->der));
		goto out;
	}
	p = out->der;
	if (i2d_OCSP_CERTID(cid, &p) != n) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP CertID %d: DER encoding failed", idx);
		goto out;
	}
	/* OpenSSL re-encodes odd input (a parameter of a made-up tag) into bytes that need not decode: refuse, not echo. */
	q = out->der;
	back = d2i_OCSP_CERTID(NULL, &q, n);
	if (back == NULL || q != out->der + n) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID %d does not encode back as one CertID", idx);
		goto out;
	}
	out->der_len = (size_t)n;
	out->hash = h->hash;
	out->hash_len = h->len;
	memcpy(out->name_hash, ASN1_STRING_get0_data(name_hash), h->len);
	memcpy(out->key_hash, ASN1_STRING_get0_data(key_hash), h->len);
	out->serial_len = (size_t)BN_bn2bin(bn, out->serial);
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	OCSP_CERTID_free(back);
	BN_free(bn);
	return rc;
}

/* The nonce (RFC 8954: an OCTET STRING of 1 to 32 octets inside extnValue); no other critical extension. */
static int
ocsp_request_extensions(OCSP_REQUEST *req, struct ocsp_request *r)
{
	ASN1_OCTET_STRING *nonce = NULL;
	const ASN1_OCTET_STRING *val;
	const unsigned char *p, *start;
	X509_EXTENSION *ext;
	bool seen = false;
	char oid[80];
	int i, n, rc = 0;

	n = OCSP_REQUEST_get_ext_count(req);
	for (i = 0; i < n; i++) {
		ext = OCSP_REQUEST_get_ext(req, i);
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_id_pkix_OCSP_Nonce) {
			if (X509_EXTENSION_get_critical(ext) != 1)
				continue;
			if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
				(void)snprintf(oid, sizeof(oid), "(unprintable)");
			rc = sd_error_set(SD_E_INVAL, "OCSP request: critical extension %s is not understood", oid);
			goto out;
		}
		if (seen) {
			rc = sd_error_set(SD_E_INVAL, "OCSP request: two nonce extensions");
			goto out;
		}
		seen = true;
		val = X509_EXTENSION_get_data(ext);
		start = p = ASN1_STRING_get0_data(val);
		if ((nonce = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(val))) == NULL ||
		    p != start + ASN1_STRING_length(val)) {
			rc = sd_error_set(SD_E_INVAL, "OCSP request: the nonce is not one OCTET STRING (RFC 8954)");
			goto out;
		}
		if (ASN1_STRING_length(nonce) < 1 || ASN1_STRING_length(nonce) > OCSP_NONCE_MAX) {
			rc = sd_error_set(SD_E_INVAL, "OCSP request: a nonce of %d octets, not 1 to %d (RFC 8954)",
			    ASN1_STRING_length(nonce), OCSP_NONCE_MAX);
			goto out;
		}
		r->nonce_len = (size_t)ASN1_STRING_length(nonce);
		memcpy(r->nonce, ASN1_STRING_get0_data(nonce), r->nonce_len);
		ASN1_OCTET_STRING_free(nonce);
		nonce = NULL;
	}
out:
	ASN1_OCTET_STRING_free(nonce);
	return rc;
}

int
ocsp_request_parse(const uint8_t *der, size_t len, struct ocsp_request **out)
{
	struct ocsp_request *r = NULL;
	OCSP_REQUEST *req = NULL;
	OCSP_ONEREQ *one;
	const unsigned char *p = der;
	int i, n, rc;

	*out = NULL;
	if (der == NULL || len == 0) {
		rc = sd_error_set(SD_E_INVAL, "OCSP request: empty");
		goto out;
	}
	if (len > OCSP_REQUEST_MAX) {
		rc = sd_error_set(SD_E_TOO_LARGE, "OCSP request of %zu bytes: at most %d", len, OCSP_REQUEST_MAX);
		goto out;
	}
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		rc = sd_error_set(SD_E_INVAL, "OCSP request: not a DER OCSPRequest");
		goto out;
	}
	if (p != der + len) {
		rc = sd_error_set(SD_E_INVAL, "OCSP request: %zu bytes after it", len - (size_t)(p - der));
		goto out;
	}
	n = OCSP_request_onereq_count(req);
	if (n <= 0 || n > OCSP_REQUEST_IDS_MAX) {
		rc = sd_error_set(SD_E_INVAL, "OCSP request asks about %d certificates: 1 to %d", n,
		    OCSP_REQUEST_IDS_MAX);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		one = OCSP_request_onereq_get0(req, i);
		if (OCSP_ONEREQ_get_ext_by_critical(one, 1, -1) >= 0) {
			rc = sd_error_set(SD_E_INVAL, "OCSP request: CertID %d has a critical extension", i);
			goto out;
		}
		if ((rc = ocsp_certid_from(OCSP_onereq_get0_id(one), i, &r->ids[i])) != 0)
			goto out;
	}
	r->n_ids = (size_t)n;
	if ((rc = ocsp_request_extensions(req, r)) != 0)
		goto out;
	r->is_signed = OCSP_request_is_signed(req) == 1;
	*out = r;
	r = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	ocsp_request_free(r);
	OCSP_REQUEST_free(req);
	return rc;
}

void
ocsp_request_free(struct ocsp_request *req)
{
	free(req);
}

int
ocsp_certid_for(X509 *ca, enum ocsp_hash hash, const uint8_t *serial, size_t serial_len, struct ocsp_certid *out)
{
	const struct ocsp_hash_alg *h = ocsp_hash_by_id(hash);
	OCSP_CERTID *cid = NULL;
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (h == NULL) {
		rc = sd_error_set(SD_E_UNSUPPORTED, "OCSP CertID: hash %d is not known", (int)hash);
		goto out;
	}
	if (ca == NULL || serial == NULL || serial_len == 0 || serial_len > OCSP_SERIAL_MAX) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID: no CA, or a serial of %zu octets (1 to %d)", serial_len,
		    OCSP_SERIAL_MAX);
		goto out;
	}
	if ((bn = BN_bin2bn(serial, (int)serial_len, NULL)) == NULL || (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* The same call as OCSP_cert_to_id() on the client's side. */
	if ((cid = OCSP_cert_id_new(h->md(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), ai)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP CertID: OCSP_cert_id_new failed");
		goto out;
	}
	rc = ocsp_certid_from(cid, 0, out);
out:
	if (rc != 0)
		ERR_clear_error();
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

int
ocsp_certid_is_issued_by(const struct ocsp_certid *id, X509 *ca, bool *match)
{
	const struct ocsp_hash_alg *h;
	const ASN1_BIT_STRING *key;
	unsigned char *name = NULL;
	uint8_t name_md[EVP_MAX_MD_SIZE], key_md[EVP_MAX_MD_SIZE];
	unsigned int name_md_len = 0, key_md_len = 0;
	size_t key_len;
	int n, rc;

	*match = false;
	if (id == NULL || ca == NULL || (h = ocsp_hash_by_id(id->hash)) == NULL || id->hash_len != h->len) {
		rc = sd_error_set(SD_E_INVAL, "OCSP CertID: no CA, or an unknown hash");
		goto out;
	}
	if ((key = X509_get0_pubkey_bitstr(ca)) == NULL || (n = i2d_X509_NAME(X509_get_subject_name(ca), &name)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP CertID: cannot encode the CA's subject or key");
		goto out;
	}
	key_len = (size_t)ASN1_STRING_length(key);
	/* RFC 6960 4.1.1: the key hash excludes the BIT STRING's tag, length and unused-bits octet. */
	if (EVP_Digest(name, (size_t)n, name_md, &name_md_len, h->md(), NULL) != 1 ||
	    EVP_Digest(ASN1_STRING_get0_data(key), key_len, key_md, &key_md_len, h->md(), NULL) != 1 ||
	    name_md_len != h->len || key_md_len != h->len) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP CertID: %s of the CA's subject or key failed", OBJ_nid2sn(h->nid));
		goto out;
	}
	*match = memcmp(name_md, id->name_hash, h->len) == 0 && memcmp(key_md, id->key_hash, h->len) == 0;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	OPENSSL_free(name);
	return rc;
}

static int
ocsp_check_single(const struct ocsp_single *s, size_t i)
{
	const unsigned char *p = s->id.der;
	OCSP_CERTID *cid;

	if (s->id.der_len == 0 || s->id.der_len > sizeof(s->id.der) ||
	    (cid = d2i_OCSP_CERTID(NULL, &p, (long)s->id.der_len)) == NULL) {
		ERR_clear_error();
		return sd_error_set(SD_E_INVAL, "OCSP answer %zu: its CertID is not DER", i);
	}
	OCSP_CERTID_free(cid);
	if (p != s->id.der + s->id.der_len)
		return sd_error_set(SD_E_INVAL, "OCSP answer %zu: bytes after its CertID", i);
	if (s->status != OCSP_CERT_GOOD && s->status != OCSP_CERT_REVOKED && s->status != OCSP_CERT_UNKNOWN)
		return sd_error_set(SD_E_INVAL, "OCSP answer %zu: status %d", i, (int)s->status);
	if (s->status == OCSP_CERT_REVOKED && s->reason != OCSP_NO_REASON && (s->reason > 10 || s->reason == 7))
		return sd_error_set(SD_E_INVAL, "OCSP answer %zu: reason code %u", i, s->reason);
	/* RFC 5019 2.2.4: nextUpdate is always given, so that responses can be cached. */
	if (s->next_update <= s->this_update)
		return sd_error_set(SD_E_INVAL, "OCSP answer %zu: nextUpdate is not after thisUpdate", i);
	return 0;
}

/* 9999-12-31T23:59:59Z: OpenSSL would write a five-digit year after it. */
#define OCSP_TIME_MAX INT64_C(253402300799)

/* A GeneralizedTime (RFC 6960 uses it throughout, with seconds and Z). */
static int
ocsp_time(int64_t t, unsigned char **der, size_t *len)
{
	ASN1_GENERALIZEDTIME *gt = NULL;
	int rc;

	*len = 0;
	if (t < 0 || t > OCSP_TIME_MAX || (gt = ASN1_GENERALIZEDTIME_set(NULL, (time_t)t)) == NULL) {
		rc = sd_error_set(SD_E_INVAL, "OCSP: time %lld cannot be a GeneralizedTime", (long long)t);
		goto out;
	}
	rc = OCSP_I2D(i2d_ASN1_GENERALIZEDTIME, gt, der, len);
out:
	ASN1_GENERALIZEDTIME_free(gt);
	return rc;
}

/* certStatus: good [0] NULL, revoked [1] { revocationTime, [0] EXPLICIT CRLReason OPTIONAL }, unknown [2] NULL. */
static int
ocsp_status_der(const struct ocsp_single *s, uint8_t **der, size_t *len)
{
	ASN1_ENUMERATED *reason = NULL;
	unsigned char *at = NULL, *r = NULL;
	uint8_t *wrapped = NULL;
	size_t at_len = 0, r_len = 0, wrapped_len = 0;
	struct der_piece pieces[2];
	int rc;

	if (s->status == OCSP_CERT_GOOD)
		return der_wrap(OCSP_TAG_GOOD, NULL, 0, der, len);
	if (s->status == OCSP_CERT_UNKNOWN)
		return der_wrap(OCSP_TAG_UNKNOWN, NULL, 0, der, len);
	if ((rc = ocsp_time(s->revoked_at, &at, &at_len)) != 0)
		goto out;
	if (s->reason != OCSP_NO_REASON) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL || ASN1_ENUMERATED_set(reason, s->reason) != 1) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if ((rc = OCSP_I2D(i2d_ASN1_ENUMERATED, reason, &r, &r_len)) != 0)
			goto out;
		pieces[0] = (struct der_piece){ r, r_len };
		if ((rc = der_wrap(OCSP_TAG_CONTEXT_0, pieces, 1, &wrapped, &wrapped_len)) != 0)
			goto out;
	}
	pieces[0] = (struct der_piece){ at, at_len };
	pieces[1] = (struct der_piece){ wrapped, wrapped_len };
	rc = der_wrap(OCSP_TAG_REVOKED, pieces, 2, der, len);
out:
	free(wrapped);
	OPENSSL_free(r);
	OPENSSL_free(at);
	ASN1_ENUMERATED_free(reason);
	return rc;
}

/* SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT }. */
static int
ocsp_single_der(const struct ocsp_single *s, uint8_t **der, size_t *len)
{
	unsigned char *t1 = NULL, *t2 = NULL;
	uint8_t *status = NULL, *next = NULL;
	size_t t1_len = 0, t2_len = 0, status_len = 0, next_len = 0;
	struct der_piece piece;
	int rc;

	if ((rc = ocsp_status_der(s, &status, &status_len)) != 0 || (rc = ocsp_time(s->this_update, &t1, &t1_len)) != 0 ||
	    (rc = ocsp_time(s->next_update, &t2, &t2_len)) != 0)
		goto out;
	piece = (struct der_piece){ t2, t2_len };
	if ((rc = der_wrap(OCSP_TAG_CONTEXT_0, &piece, 1, &next, &next_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = {
			{ s->id.der, s->id.der_len }, { status, status_len }, { t1, t1_len }, { next, next_len },
		};

		rc = der_wrap(DER_TAG_SEQUENCE, pieces, sizeof(pieces) / sizeof(pieces[0]), der, len);
	}
out:
	free(next);
	free(status);
	OPENSSL_free(t2);
	OPENSSL_free(t1);
	return rc;
}

/* responses: SEQUENCE OF SingleResponse, in the order given. */
static int
ocsp_responses_der(const struct ocsp_single *answers, size_t n, uint8_t **der, size_t *len)
{
	struct der_piece pieces[OCSP_REQUEST_IDS_MAX];
	uint8_t *bufs[OCSP_REQUEST_IDS_MAX] = { NULL };
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if ((rc = ocsp_single_der(&answers[i], &bufs[i], &pieces[i].len)) != 0)
			goto out;
		pieces[i].data = bufs[i];
	}
	rc = der_wrap(DER_TAG_SEQUENCE, pieces, n, der, len);
out:
	for (i = 0; i < n; i++)
		free(bufs[i]);
	return rc;
}

/* responseExtensions: [1] EXPLICIT { nonce }, whose extnValue is the DER of an OCTET STRING (RFC 8954). */
static int
ocsp_extensions_der(const uint8_t *nonce, size_t nonce_len, uint8_t **der, size_t *len)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	ASN1_OCTET_STRING *inner = NULL, *value = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *inner_der = NULL, *seq = NULL;
	size_t inner_len = 0, seq_len = 0;
	struct der_piece piece;
	int rc;

	*der = NULL;
	*len = 0;
	if (nonce_len == 0)
		return 0;
	if ((inner = ASN1_OCTET_STRING_new()) == NULL || ASN1_OCTET_STRING_set(inner, nonce, (int)nonce_len) != 1 ||
	    (value = ASN1_OCTET_STRING_new()) == NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = OCSP_I2D(i2d_ASN1_OCTET_STRING, inner, &inner_der, &inner_len)) != 0)
		goto out;
	if (ASN1_OCTET_STRING_set(value, inner_der, (int)inner_len) != 1 ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0, value)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP: cannot build the nonce extension");
		goto out;
	}
	if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	ext = NULL;
	if ((rc = OCSP_I2D(i2d_X509_EXTENSIONS, exts, &seq, &seq_len)) != 0)
		goto out;
	piece = (struct der_piece){ seq, seq_len };
	rc = der_wrap(OCSP_TAG_CONTEXT_1, &piece, 1, der, len);
out:
	OPENSSL_free(seq);
	OPENSSL_free(inner_der);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_OCTET_STRING_free(value);
	ASN1_OCTET_STRING_free(inner);
	return rc;
}

/* ResponseData ::= SEQUENCE { responderID byKey, producedAt, responses, [1] responseExtensions }; version v1 omitted. */
static int
ocsp_tbs(X509 *responder, const struct ocsp_single *answers, size_t n, int64_t produced_at, const uint8_t *nonce,
    size_t nonce_len, uint8_t **tbs, size_t *tbs_len)
{
	OCSP_RESPID *rid = NULL;
	unsigned char *rid_der = NULL, *at = NULL;
	uint8_t *responses = NULL, *exts = NULL;
	size_t rid_len = 0, at_len = 0, responses_len = 0, exts_len = 0;
	int rc;

	*tbs = NULL;
	*tbs_len = 0;
	/* byKey: SHA-1 of the responder's subjectPublicKey content (RFC 6960 4.2.1), as RFC 5019 2.2.3 recommends. */
	if ((rid = OCSP_RESPID_new()) == NULL || OCSP_RESPID_set_by_key(rid, responder) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "OCSP: cannot make the responderID");
		goto out;
	}
	if ((rc = OCSP_I2D(i2d_OCSP_RESPID, rid, &rid_der, &rid_len)) != 0 ||
	    (rc = ocsp_time(produced_at, &at, &at_len)) != 0 ||
	    (rc = ocsp_responses_der(answers, n, &responses, &responses_len)) != 0 ||
	    (rc = ocsp_extensions_der(nonce, nonce_len, &exts, &exts_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = {
			{ rid_der, rid_len }, { at, at_len }, { responses, responses_len }, { exts, exts_len },
		};

		rc = der_wrap(DER_TAG_SEQUENCE, pieces, sizeof(pieces) / sizeof(pieces[0]), tbs, tbs_len);
	}
out:
	free(exts);
	free(responses);
	OPENSSL_free(at);
	OPENSSL_free(rid_der);
	OCSP_RESPID_free(rid);
	return rc;
}

/*
 * OCSPResponse ::= SEQUENCE { successful, [0] EXPLICIT ResponseBytes { id-pkix-ocsp-basic,
 * OCTET STRING BasicOCSPResponse { tbs, algid, BIT STRING sig, [0] EXPLICIT SEQUENCE { responder } } } }.
 */
static int
ocsp_assemble(const uint8_t *tbs, size_t tbs_len, const struct x509_sigalg *alg, const uint8_t *sig, size_t sig_len,
    X509 *responder, uint8_t **der, size_t *len)
{
	unsigned char *cert = NULL, *oid = NULL;
	uint8_t *bits = NULL, *certs = NULL, *certs0 = NULL, *basic = NULL, *octets = NULL, *rbytes = NULL;
	uint8_t *rbytes0 = NULL;
	size_t cert_len = 0, oid_len = 0, bits_len = 0, certs_len = 0, certs0_len = 0, basic_len = 0, octets_len = 0;
	size_t rbytes_len = 0, rbytes0_len = 0;
	struct der_piece piece;
	int rc;

	if ((rc = OCSP_I2D(i2d_X509, responder, &cert, &cert_len)) != 0 ||
	    (rc = OCSP_I2D(i2d_ASN1_OBJECT, OBJ_nid2obj(NID_id_pkix_OCSP_basic), &oid, &oid_len)) != 0 ||
	    (rc = der_bit_string(sig, sig_len, &bits, &bits_len)) != 0)
		goto out;
	piece = (struct der_piece){ cert, cert_len };
	if ((rc = der_wrap(DER_TAG_SEQUENCE, &piece, 1, &certs, &certs_len)) != 0)
		goto out;
	piece = (struct der_piece){ certs, certs_len };
	if ((rc = der_wrap(OCSP_TAG_CONTEXT_0, &piece, 1, &certs0, &certs0_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = {
			{ tbs, tbs_len }, { alg->algid, alg->algid_len }, { bits, bits_len }, { certs0, certs0_len },
		};

		if ((rc = der_wrap(DER_TAG_SEQUENCE, pieces, sizeof(pieces) / sizeof(pieces[0]), &basic,
		    &basic_len)) != 0)
			goto out;
	}
	piece = (struct der_piece){ basic, basic_len };
	if ((rc = der_wrap(DER_TAG_OCTET_STRING, &piece, 1, &octets, &octets_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = { { oid, oid_len }, { octets, octets_len } };

		if ((rc = der_wrap(DER_TAG_SEQUENCE, pieces, 2, &rbytes, &rbytes_len)) != 0)
			goto out;
	}
	piece = (struct der_piece){ rbytes, rbytes_len };
	if ((rc = der_wrap(OCSP_TAG_CONTEXT_0, &piece, 1, &rbytes0, &rbytes0_len)) != 0)
		goto out;
	{
		const struct der_piece pieces[] = { { ocsp_successful, sizeof(ocsp_successful) },
			{ rbytes0, rbytes0_len } };

		rc = der_wrap(DER_TAG_SEQUENCE, pieces, 2, der, len);
	}
out:
	free(rbytes0);
	free(rbytes);
	free(octets);
	free(basic);
	free(certs0);
	free(certs);
	free(bits);
	OPENSSL_free(oid);
	OPENSSL_free(cert);
	return rc;
}

/*
 * der must parse as exactly one successful OCSPResponse that re-encodes to
 * the same bytes, whose tbsResponseData is tbs, whose responderID finds
 * responder among its certs, and whose signature verifies with key.
 */
static int
ocsp_check(const uint8_t *der, size_t len, const uint8_t *tbs, size_t tbs_len, X509 *responder, EVP_PKEY *key)
{
	const unsigned char *q = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &q, (long)len);
	OCSP_BASICRESP *bs = NULL;
	unsigned char *re = NULL, *re_tbs = NULL;
	X509 *signer = NULL;
	int n, m, rc;

	if (resp == NULL || q != der + len)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: it does not parse as one OCSPResponse");
	else if ((n = i2d_OCSP_RESPONSE(resp, &re)) <= 0 || (size_t)n != len || memcmp(re, der, len) != 0)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: it does not re-encode to the same bytes");
	else if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: it is not a successful basic response");
	else if ((m = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &re_tbs)) <= 0 || (size_t)m != tbs_len ||
	    memcmp(re_tbs, tbs, tbs_len) != 0)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: its tbsResponseData is not the one signed");
	else if (OCSP_resp_get0_signer(bs, &signer, NULL) != 1 || X509_cmp(signer, responder) != 0)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: its responderID does not find the responder certificate");
	else if (ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
	    OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs), key) != 1)
		rc = sd_error_set(SD_E_INTERNAL, "OCSP check: its signature does not verify");
	else
		rc = 0;
	OPENSSL_free(re_tbs);
	OPENSSL_free(re);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

int
ocsp_response_sign(struct hsm_key *key, const struct x509_sigalg *want, X509 *responder_cert,
    const struct ocsp_single *answers, size_t n, int64_t produced_at, const uint8_t *nonce, size_t nonce_len,
    EVP_PKEY *verify_key, uint8_t **der, size_t *len)
{
	const struct x509_sigalg *alg;
	EVP_PKEY *cert_key;
	uint8_t *tbs = NULL, *sig = NULL, *out = NULL;
	size_t i, tbs_len = 0, sig_len = 0, out_len = 0;
	int rc;

	*der = NULL;
	*len = 0;
	if (key == NULL || responder_cert == NULL || answers == NULL || verify_key == NULL) {
		rc = sd_error_set(SD_E_INVAL, "ocsp_response_sign: NULL argument");
		goto out;
	}
	if (n == 0 || n > OCSP_REQUEST_IDS_MAX) {
		rc = sd_error_set(SD_E_INVAL, "OCSP response with %zu answers: 1 to %d", n, OCSP_REQUEST_IDS_MAX);
		goto out;
	}
	if (nonce_len > OCSP_NONCE_MAX || (nonce_len > 0 && nonce == NULL)) {
		rc = sd_error_set(SD_E_INVAL, "OCSP response: a nonce of %zu octets, at most %d", nonce_len,
		    OCSP_NONCE_MAX);
		goto out;
	}
	/* What relying parties verify the signature with must be what is in the HSM. */
	if ((cert_key = X509_get0_pubkey(responder_cert)) == NULL || EVP_PKEY_eq(cert_key, verify_key) != 1) {
		rc = sd_error_set(SD_E_INVAL, "OCSP response: the responder certificate's key is not the signing key");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = ocsp_check_single(&answers[i], i)) != 0)
			goto out;
	if ((rc = x509_sign_alg(key, want, &alg)) != 0 ||
	    (rc = ocsp_tbs(responder_cert, answers, n, produced_at, nonce, nonce_len, &tbs, &tbs_len)) != 0 ||
	    (rc = x509_sign_tbs(key, alg, tbs, tbs_len, &sig, &sig_len)) != 0 ||
	    (rc = ocsp_assemble(tbs, tbs_len, alg, sig, sig_len, responder_cert, &out, &out_len)) != 0 ||
	    (rc = ocsp_check(out, out_len, tbs, tbs_len, responder_cert, verify_key)) != 0)
		goto out;
	*der = out;
	*len = out_len;
	out = NULL;
out:
	if (rc != 0)
		ERR_clear_error();
	free(out);
	free(sig);
	free(tbs);
	return rc;
}

int
ocsp_error_response(int status, uint8_t **der, size_t *len)
{
	uint8_t enumerated[] = { OCSP_TAG_ENUMERATED, 0x01, 0x00 };
	struct der_piece piece = { enumerated, sizeof(enumerated) };

	*der = NULL;
	*len = 0;
	if (status != OCSP_MALFORMED_REQUEST && status != OCSP_INTERNAL_ERROR && status != OCSP_TRY_LATER &&
	    status != OCSP_SIG_REQUIRED && status != OCSP_UNAUTHORIZED)
		return sd_error_set(SD_E_INVAL, "OCSP response status %d is not an error status", status);
	enumerated[2] = (uint8_t)status;
	return der_wrap(DER_TAG_SEQUENCE, &piece, 1, der, len);
}
