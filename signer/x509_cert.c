#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "der.h"
#include "x509_cert.h"

int
x509_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *algid, size_t algid_len,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *len)
{
	uint8_t *bits = NULL;
	size_t bits_len = 0;
	struct der_piece pieces[3];
	int rc;

	*der = NULL;
	*len = 0;
	if (tbs == NULL || tbs_len == 0 || algid == NULL || algid_len == 0 || sig == NULL || sig_len == 0) {
		rc = sd_error_set(SD_E_INVAL, "certificate assembly: missing TBS, algorithm or signature");
		goto out;
	}
	if ((rc = der_bit_string(sig, sig_len, &bits, &bits_len)) != 0)
		goto out;
	pieces[0] = (struct der_piece){ tbs, tbs_len };
	pieces[1] = (struct der_piece){ algid, algid_len };
	pieces[2] = (struct der_piece){ bits, bits_len };
	rc = der_wrap(DER_TAG_SEQUENCE, pieces, 3, der, len);
out:
	free(bits);
	return rc;
}

/* Encode with OpenSSL's i2d and compare with want; 1 equal, 0 different, -1 error. */
static int
x509_cert_same(int n, unsigned char *enc, const uint8_t *want, size_t want_len)
{
	if (n <= 0 || enc == NULL)
		return -1;
	return (size_t)n == want_len && memcmp(enc, want, want_len) == 0;
}

int
x509_cert_check(const uint8_t *der, size_t len, const uint8_t *expected_tbs, size_t expected_tbs_len,
    EVP_PKEY *ca_pubkey, X509 **out)
{
	X509 *cert = NULL;
	const unsigned char *p = der;
	unsigned char *enc = NULL;
	int n, same, rc;

	if (out != NULL)
		*out = NULL;
	if (der == NULL || len == 0 || len > (size_t)INT32_MAX || expected_tbs == NULL || ca_pubkey == NULL) {
		rc = sd_error_set(SD_E_INTERNAL, "certificate check: missing input");
		goto out;
	}
	if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate does not parse");
		goto out;
	}
	if (p != der + len) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate has %zu trailing bytes", len - (size_t)(p - der));
		goto out;
	}
	n = i2d_X509(cert, &enc);
	if ((same = x509_cert_same(n, enc, der, len)) <= 0) {
		rc = sd_error_set(SD_E_INTERNAL, same < 0 ? "cannot re-encode the built certificate" :
		    "built certificate does not re-encode to itself");
		goto out;
	}
	OPENSSL_free(enc);
	enc = NULL;
	/* i2d_re_X509_tbs() drops the cached encoding and encodes the parsed TBS afresh. */
	n = i2d_re_X509_tbs(cert, &enc);
	if ((same = x509_cert_same(n, enc, expected_tbs, expected_tbs_len)) <= 0) {
		rc = sd_error_set(SD_E_INTERNAL, same < 0 ? "cannot re-encode the parsed TBS" :
		    "parsed TBS differs from the TBS signed");
		goto out;
	}
	if (X509_verify(cert, ca_pubkey) != 1) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate does not verify with the CA public key");
		goto out;
	}
	if (out != NULL) {
		*out = cert;
		cert = NULL;
	}
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	OPENSSL_free(enc);
	X509_free(cert);
	return rc;
}

/* Read a SEQUENCE header at p (avail bytes): *hlen header bytes, *clen content bytes. */
static int
x509_cert_seq_header(const uint8_t *p, size_t avail, size_t *hlen, size_t *clen)
{
	size_t n, i, v = 0;

	if (avail < 2 || p[0] != DER_TAG_SEQUENCE)
		return SD_E_INVAL;
	if (p[1] < 0x80) {
		*hlen = 2;
		v = p[1];
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0)
			return SD_E_INVAL;
		for (i = 0; i < n; i++)
			v = v << 8 | p[2 + i];
		if (v < 0x80)
			return SD_E_INVAL;
		*hlen = 2 + n;
	}
	if (v > avail - *hlen)
		return SD_E_INVAL;
	*clen = v;
	return 0;
}

int
x509_cert_tbs_peek(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len)
{
	size_t h1, c1, h2, c2;

	*tbs = NULL;
	*tbs_len = 0;
	if (der == NULL || x509_cert_seq_header(der, len, &h1, &c1) != 0 ||
	    x509_cert_seq_header(der + h1, c1, &h2, &c2) != 0)
		return sd_error_set(SD_E_INVAL, "not a DER certificate");
	*tbs = der + h1;
	*tbs_len = h2 + c2;
	return 0;
}

int
x509_cert_pem(const uint8_t *der, size_t len, char **pem)
{
	BIO *bio = NULL;
	char *data, *copy = NULL;
	long n;
	int rc;

	*pem = NULL;
	if (der == NULL || len == 0 || len > (size_t)INT32_MAX) {
		rc = sd_error_set(SD_E_INVAL, "no certificate to write as PEM");
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (PEM_write_bio(bio, PEM_STRING_X509, "", der, (long)len) <= 0 || (n = BIO_get_mem_data(bio, &data)) <= 0) {
		ERR_clear_error();
		rc = sd_error_set(SD_E_CRYPTO, "cannot write the certificate as PEM");
		goto out;
	}
	if ((copy = malloc((size_t)n + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*pem = copy;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}
