#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base/der.h"
#include "x509_tbs.h"

/* [0] EXPLICIT Version ::= INTEGER 2 (v3). */
static const uint8_t x509_tbs_version[] = { DER_TAG_CONTEXT_0, 0x03, DER_TAG_INTEGER, 0x01, 0x02 };

int
x509_tbs_serial_random(uint8_t serial[X509_SERIAL_LEN])
{
	int tries;

	/* The first byte is zero with probability 1/128; redraw rather than bias it. */
	for (tries = 0; tries < 64; tries++) {
		if (RAND_bytes(serial, X509_SERIAL_LEN) != 1)
			return sd_error_set(SD_E_CRYPTO, "RAND_bytes failed");
		serial[0] &= 0x7f;
		if (serial[0] != 0)
			return 0;
	}
	return sd_error_set(SD_E_CRYPTO, "RAND_bytes keeps returning zero bytes");
}

/* Encode with an i2d function into a new OPENSSL_malloc buffer. */
#define X509_TBS_I2D(fn, obj, buf, len) x509_tbs_i2d_len((fn)((obj), (buf)), (len))

static int
x509_tbs_i2d_len(int n, size_t *len)
{
	if (n <= 0) {
		*len = 0;
		return sd_error_set(SD_E_CRYPTO, "DER encoding failed");
	}
	*len = (size_t)n;
	return 0;
}

static int
x509_tbs_serial(const uint8_t *serial, size_t serial_len, unsigned char **der, size_t *len)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	int rc;

	if (serial == NULL || serial_len == 0 || serial_len > X509_SERIAL_MAX) {
		rc = sd_error_set(SD_E_INVAL, "serial of %zu bytes: must be 1 to %d", serial_len, X509_SERIAL_MAX);
		goto out;
	}
	if ((bn = BN_bin2bn(serial, (int)serial_len, NULL)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (BN_is_zero(bn)) {
		rc = sd_error_set(SD_E_INVAL, "serial number is zero");
		goto out;
	}
	/* A magnitude with the top bit set gains a 0x00 octet; RFC 5280 counts that octet too. */
	if (BN_num_bytes(bn) + ((BN_num_bits(bn) % 8) == 0 ? 1 : 0) > X509_SERIAL_MAX) {
		rc = sd_error_set(SD_E_INVAL, "serial encodes to more than %d octets", X509_SERIAL_MAX);
		goto out;
	}
	if ((ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "BN_to_ASN1_INTEGER failed");
		goto out;
	}
	rc = X509_TBS_I2D(i2d_ASN1_INTEGER, ai, der, len);
out:
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

static int
x509_tbs_time(time_t t, unsigned char **der, size_t *len)
{
	ASN1_TIME *at = NULL;
	int rc;

	/* ASN1_TIME_set() picks UTCTime for 1950-2049 and GeneralizedTime otherwise. */
	if ((at = ASN1_TIME_set(NULL, t)) == NULL) {
		rc = sd_error_set(SD_E_INVAL, "time %lld cannot be encoded", (long long)t);
		goto out;
	}
	rc = X509_TBS_I2D(i2d_ASN1_TIME, at, der, len);
out:
	ASN1_TIME_free(at);
	return rc;
}

static int
x509_tbs_validity(time_t not_before, time_t not_after, uint8_t **der, size_t *len)
{
	unsigned char *nb = NULL, *na = NULL;
	size_t nb_len = 0, na_len = 0;
	struct der_piece pieces[2];
	int rc;

	if (not_after <= not_before) {
		rc = sd_error_set(SD_E_INVAL, "notAfter %lld is not after notBefore %lld", (long long)not_after,
		    (long long)not_before);
		goto out;
	}
	if ((rc = x509_tbs_time(not_before, &nb, &nb_len)) != 0 || (rc = x509_tbs_time(not_after, &na, &na_len)) != 0)
		goto out;
	pieces[0] = (struct der_piece){ nb, nb_len };
	pieces[1] = (struct der_piece){ na, na_len };
	rc = der_wrap(DER_TAG_SEQUENCE, pieces, 2, der, len);
out:
	OPENSSL_free(nb);
	OPENSSL_free(na);
	return rc;
}

static int
x509_tbs_extensions(const STACK_OF(X509_EXTENSION) *exts, uint8_t **der, size_t *len)
{
	unsigned char *seq = NULL;
	size_t seq_len = 0;
	struct der_piece piece;
	int rc;

	*der = NULL;
	*len = 0;
	if (exts == NULL || sk_X509_EXTENSION_num(exts) <= 0)
		return 0;
	if ((rc = X509_TBS_I2D(i2d_X509_EXTENSIONS, (X509_EXTENSIONS *)exts, &seq, &seq_len)) != 0)
		goto out;
	piece = (struct der_piece){ seq, seq_len };
	rc = der_wrap(DER_TAG_CONTEXT_3, &piece, 1, der, len);
out:
	OPENSSL_free(seq);
	return rc;
}

int
x509_tbs_build(const struct x509_tbs_template *t, uint8_t **der, size_t *len)
{
	unsigned char *serial = NULL, *subject = NULL;
	uint8_t *validity = NULL, *exts = NULL;
	size_t serial_len = 0, subject_len = 0, validity_len = 0, exts_len = 0;
	struct der_piece pieces[8];
	int rc;

	*der = NULL;
	*len = 0;
	if (t->algid == NULL || t->algid_len == 0 || t->issuer == NULL || t->issuer_len == 0 ||
	    t->subject == NULL || t->spki == NULL || t->spki_len == 0) {
		rc = sd_error_set(SD_E_INVAL, "TBS template is missing a part");
		goto out;
	}
	if ((rc = x509_tbs_serial(t->serial, t->serial_len, &serial, &serial_len)) != 0)
		goto out;
	if ((rc = x509_tbs_validity(t->not_before, t->not_after, &validity, &validity_len)) != 0)
		goto out;
	if ((rc = X509_TBS_I2D(i2d_X509_NAME, t->subject, &subject, &subject_len)) != 0)
		goto out;
	if ((rc = x509_tbs_extensions(t->exts, &exts, &exts_len)) != 0)
		goto out;
	pieces[0] = (struct der_piece){ x509_tbs_version, sizeof(x509_tbs_version) };
	pieces[1] = (struct der_piece){ serial, serial_len };
	pieces[2] = (struct der_piece){ t->algid, t->algid_len };
	pieces[3] = (struct der_piece){ t->issuer, t->issuer_len };
	pieces[4] = (struct der_piece){ validity, validity_len };
	pieces[5] = (struct der_piece){ subject, subject_len };
	pieces[6] = (struct der_piece){ t->spki, t->spki_len };
	pieces[7] = (struct der_piece){ exts, exts_len };
	rc = der_wrap(DER_TAG_SEQUENCE, pieces, 8, der, len);
out:
	if (rc == SD_E_CRYPTO)
		ERR_clear_error();
	OPENSSL_free(serial);
	OPENSSL_free(subject);
	free(validity);
	free(exts);
	return rc;
}
