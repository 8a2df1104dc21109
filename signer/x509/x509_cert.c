#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/der.h"
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

struct x509_verifier {
	EVP_PKEY *pubkey;
	const struct x509_sigalg *alg;
	EVP_MD_CTX *proto;	/* initialised for verifying; only ever copied, or NULL when it cannot be */
};

/* Set ctx up to verify v's signatures from scratch. */
static int
x509_verifier_init(EVP_PKEY *pubkey, const struct x509_sigalg *alg, EVP_MD_CTX *ctx)
{
	EVP_PKEY_CTX *pctx = NULL;

	if (EVP_DigestVerifyInit_ex(ctx, &pctx, alg->digest, NULL, NULL, pubkey, NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "cannot set up %s verification", alg->name);
	/* RFC 4055 parameters as signerd signs them (x509_sigalg.c): MGF1 with the same hash, salt = hash length. */
	if (alg->mech == HSM_MECH_RSA_PSS && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg->digest, NULL) != 1))
		return sd_error_set(SD_E_CRYPTO, "cannot set the %s parameters", alg->name);
	return 0;
}

int
x509_verifier_new(EVP_PKEY *pubkey, const struct x509_sigalg *alg, struct x509_verifier **out)
{
	struct x509_verifier *v = NULL;
	EVP_MD_CTX *probe = NULL;
	int rc;

	*out = NULL;
	if (pubkey == NULL || alg == NULL) {
		rc = sd_error_set(SD_E_INVAL, "verifier without a key or algorithm");
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL || (v->proto = EVP_MD_CTX_new()) == NULL ||
	    (probe = EVP_MD_CTX_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (EVP_PKEY_up_ref(pubkey) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot reference the verification key");
		goto out;
	}
	v->pubkey = pubkey;
	v->alg = alg;
	if ((rc = x509_verifier_init(pubkey, alg, v->proto)) != 0)
		goto out;
	/* Providers without a context copy get a fresh set-up per use instead. */
	if (EVP_MD_CTX_copy_ex(probe, v->proto) != 1) {
		EVP_MD_CTX_free(v->proto);
		v->proto = NULL;
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(probe);
	x509_verifier_free(v);
	return rc;
}

void
x509_verifier_free(struct x509_verifier *v)
{
	if (v == NULL)
		return;
	EVP_MD_CTX_free(v->proto);
	EVP_PKEY_free(v->pubkey);
	free(v);
}

/* The TBS's top-level TLVs: [0] version, serial, signature (= algid), issuer, validity, subject, SPKI, [3]. */
static int
x509_cert_tbs_shape(const uint8_t *tbs, size_t tbs_len, const uint8_t *algid, size_t algid_len)
{
	static const uint8_t tags[] = { DER_TAG_CONTEXT_0, DER_TAG_INTEGER, DER_TAG_SEQUENCE, DER_TAG_SEQUENCE,
		DER_TAG_SEQUENCE, DER_TAG_SEQUENCE, DER_TAG_SEQUENCE };
	struct der_tlv seq, t;
	const uint8_t *p;
	size_t avail, i;

	if (der_read(tbs, tbs_len, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE || seq.tlv_len != tbs_len)
		return sd_error_set(SD_E_INTERNAL, "signed TBS is not one DER SEQUENCE");
	p = seq.val;
	avail = seq.len;
	for (i = 0; i < sizeof(tags); i++) {
		if (der_next(&p, &avail, tags[i], &t) != 0)
			return sd_error_set(SD_E_INTERNAL, "signed TBS field %zu is not DER or not in place", i);
		if (i == 2 && (t.tlv_len != algid_len || memcmp(t.tlv, algid, algid_len) != 0))
			return sd_error_set(SD_E_INTERNAL, "signed TBS names another signature algorithm");
	}
	if (avail > 0 && (der_next(&p, &avail, DER_TAG_CONTEXT_3, &t) != 0 || avail != 0))
		return sd_error_set(SD_E_INTERNAL, "signed TBS has malformed or unexpected fields after the key");
	return 0;
}

int
x509_cert_verify(const struct x509_verifier *v, const uint8_t *der, size_t len, const uint8_t *tbs, size_t tbs_len)
{
	struct der_tlv cert, got_tbs, algid, sig;
	const uint8_t *p;
	size_t avail;
	EVP_MD_CTX *ctx = NULL;
	int rc;

	sd_error_clear();
	if (v == NULL || der == NULL || tbs == NULL) {
		rc = sd_error_set(SD_E_INTERNAL, "certificate check: missing input");
		goto out;
	}
	if (der_read(der, len, &cert) != 0 || cert.tag != DER_TAG_SEQUENCE || cert.tlv_len != len) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate is not one DER SEQUENCE without trailing bytes");
		goto out;
	}
	p = cert.val;
	avail = cert.len;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &got_tbs) != 0 || der_next(&p, &avail, DER_TAG_SEQUENCE, &algid) != 0 ||
	    der_next(&p, &avail, DER_TAG_BIT_STRING, &sig) != 0 || avail != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate is not SEQUENCE { tbs, algorithm, signature } in DER");
		goto out;
	}
	if (got_tbs.tlv_len != tbs_len || memcmp(got_tbs.tlv, tbs, tbs_len) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "parsed TBS differs from the TBS signed");
		goto out;
	}
	if (algid.tlv_len != v->alg->algid_len || memcmp(algid.tlv, v->alg->algid, algid.tlv_len) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate names another signature algorithm than %s",
		    v->alg->name);
		goto out;
	}
	if (sig.len < 2 || sig.val[0] != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate's signature is empty or has unused bits");
		goto out;
	}
	if ((rc = x509_cert_tbs_shape(tbs, tbs_len, v->alg->algid, v->alg->algid_len)) != 0)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (v->proto != NULL ? EVP_MD_CTX_copy_ex(ctx, v->proto) != 1 :
	    x509_verifier_init(v->pubkey, v->alg, ctx) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot set up the verification of the built certificate");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig.val + 1, sig.len - 1, tbs, tbs_len) != 1) {
		rc = sd_error_set(SD_E_INTERNAL, "built certificate does not verify with the CA public key");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
x509_cert_tbs_peek(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len)
{
	struct der_tlv cert, got;

	*tbs = NULL;
	*tbs_len = 0;
	if (der_read(der, len, &cert) != 0 || cert.tag != DER_TAG_SEQUENCE ||
	    der_read(cert.val, cert.len, &got) != 0 || got.tag != DER_TAG_SEQUENCE) {
		sd_error_clear();
		return sd_error_set(SD_E_INVAL, "not a DER certificate");
	}
	*tbs = got.tlv;
	*tbs_len = got.tlv_len;
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
