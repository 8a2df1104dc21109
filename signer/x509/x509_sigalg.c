#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "x509_sigalg.h"

/* AlgorithmIdentifier encodings (RFC 4055, RFC 5758, RFC 8410). */
static const uint8_t algid_sha256_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
};
static const uint8_t algid_sha384_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
};
static const uint8_t algid_sha512_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
};
static const uint8_t algid_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const uint8_t algid_ecdsa_sha384[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
};
static const uint8_t algid_ecdsa_sha512[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
};
/*
 * RSASSA-PSS with explicit parameters (RFC 4055 3.1): hash with NULL
 * parameters, MGF1 with the same hash, salt length = hash length, trailer
 * field left at its default. The exact encodings the CA/Browser Forum
 * Baseline Requirements (7.1.3.2.1) list.
 */
static const uint8_t algid_pss_sha256[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0,
	0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
	0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03,
	0x02, 0x01, 0x20,
};
static const uint8_t algid_pss_sha384[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0,
	0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
	0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03,
	0x02, 0x01, 0x30,
};
static const uint8_t algid_pss_sha512[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0,
	0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
	0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0xa2, 0x03,
	0x02, 0x01, 0x40,
};
static const uint8_t algid_ed25519[] = {
	0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
};

#define ALGID(a) (a), sizeof(a)

static const struct x509_sigalg x509_sigalgs[] = {
	{ HSM_KEY_RSA2048, "sha256WithRSAEncryption", ALGID(algid_sha256_rsa),
	  HSM_MECH_RSA_PKCS, HSM_HASH_SHA256, "SHA256", 256 },
	{ HSM_KEY_RSA3072, "sha384WithRSAEncryption", ALGID(algid_sha384_rsa),
	  HSM_MECH_RSA_PKCS, HSM_HASH_SHA384, "SHA384", 384 },
	{ HSM_KEY_RSA4096, "sha512WithRSAEncryption", ALGID(algid_sha512_rsa),
	  HSM_MECH_RSA_PKCS, HSM_HASH_SHA512, "SHA512", 512 },
	{ HSM_KEY_P256, "ecdsa-with-SHA256", ALGID(algid_ecdsa_sha256),
	  HSM_MECH_ECDSA, HSM_HASH_SHA256, "SHA256", 64 },
	{ HSM_KEY_P384, "ecdsa-with-SHA384", ALGID(algid_ecdsa_sha384),
	  HSM_MECH_ECDSA, HSM_HASH_SHA384, "SHA384", 96 },
	{ HSM_KEY_P521, "ecdsa-with-SHA512", ALGID(algid_ecdsa_sha512),
	  HSM_MECH_ECDSA, HSM_HASH_SHA512, "SHA512", 132 },
	{ HSM_KEY_ED25519, "Ed25519", ALGID(algid_ed25519),
	  HSM_MECH_EDDSA, HSM_HASH_SHA512, NULL, 64 },
};

/* The same hashes as PKCS#1 v1.5 for each RSA size, with RSASSA-PSS. */
static const struct x509_sigalg x509_sigalgs_pss[] = {
	{ HSM_KEY_RSA2048, "RSASSA-PSS with SHA-256", ALGID(algid_pss_sha256),
	  HSM_MECH_RSA_PSS, HSM_HASH_SHA256, "SHA256", 256 },
	{ HSM_KEY_RSA3072, "RSASSA-PSS with SHA-384", ALGID(algid_pss_sha384),
	  HSM_MECH_RSA_PSS, HSM_HASH_SHA384, "SHA384", 384 },
	{ HSM_KEY_RSA4096, "RSASSA-PSS with SHA-512", ALGID(algid_pss_sha512),
	  HSM_MECH_RSA_PSS, HSM_HASH_SHA512, "SHA512", 512 },
};

/* DigestInfo prefixes: SEQUENCE { AlgorithmIdentifier (NULL params), OCTET STRING } (RFC 8017 9.2). */
static const uint8_t digestinfo_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00, 0x04, 0x20,
};
static const uint8_t digestinfo_sha384[] = {
	0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
	0x05, 0x00, 0x04, 0x30,
};
static const uint8_t digestinfo_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
	0x05, 0x00, 0x04, 0x40,
};

int
x509_sigalg_for(enum hsm_key_type type, const struct x509_sigalg **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < sizeof(x509_sigalgs) / sizeof(x509_sigalgs[0]); i++) {
		if (x509_sigalgs[i].key_type == type) {
			*out = &x509_sigalgs[i];
			return 0;
		}
	}
	return sd_error_set(SD_E_UNSUPPORTED, "no signature algorithm for key type %d", (int)type);
}

int
x509_sigalg_for_scheme(enum hsm_key_type type, bool pss, const struct x509_sigalg **out)
{
	size_t i;

	*out = NULL;
	if (!pss)
		return x509_sigalg_for(type, out);
	for (i = 0; i < sizeof(x509_sigalgs_pss) / sizeof(x509_sigalgs_pss[0]); i++) {
		if (x509_sigalgs_pss[i].key_type == type) {
			*out = &x509_sigalgs_pss[i];
			return 0;
		}
	}
	return sd_error_set(SD_E_UNSUPPORTED, "RSASSA-PSS needs an RSA key (2048, 3072 or 4096 bits), not %s",
	    hsm_key_type_name(type));
}

int
x509_sigalg_digestinfo(enum hsm_hash hash, const uint8_t *digest, size_t digest_len,
    uint8_t *out, size_t cap, size_t *out_len)
{
	const uint8_t *prefix;
	size_t prefix_len, want;

	*out_len = 0;
	switch (hash) {
	case HSM_HASH_SHA256:
		prefix = digestinfo_sha256;
		prefix_len = sizeof(digestinfo_sha256);
		want = 32;
		break;
	case HSM_HASH_SHA384:
		prefix = digestinfo_sha384;
		prefix_len = sizeof(digestinfo_sha384);
		want = 48;
		break;
	case HSM_HASH_SHA512:
		prefix = digestinfo_sha512;
		prefix_len = sizeof(digestinfo_sha512);
		want = 64;
		break;
	default:
		return sd_error_set(SD_E_INVAL, "DigestInfo: unknown hash %d", (int)hash);
	}
	if (digest == NULL || digest_len != want)
		return sd_error_set(SD_E_INVAL, "DigestInfo: digest of %zu bytes, expected %zu", digest_len, want);
	if (out == NULL || cap < prefix_len + want)
		return sd_error_set(SD_E_INVAL, "DigestInfo: buffer of %zu bytes too small", cap);
	memcpy(out, prefix, prefix_len);
	memcpy(out + prefix_len, digest, want);
	*out_len = prefix_len + want;
	return 0;
}

int
x509_sigalg_hsm_input(const struct x509_sigalg *alg, const uint8_t *tbs, size_t tbs_len,
    uint8_t buf[X509_SIGALG_INPUT_MAX], const uint8_t **in, size_t *in_len)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD *md = NULL;
	int rc;

	*in = NULL;
	*in_len = 0;
	if (tbs == NULL || tbs_len == 0) {
		rc = sd_error_set(SD_E_INVAL, "nothing to sign");
		goto out;
	}
	if (alg->digest == NULL) {
		*in = tbs;
		*in_len = tbs_len;
		rc = 0;
		goto out;
	}
	if ((md = EVP_MD_fetch(NULL, alg->digest, NULL)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "digest %s unavailable", alg->digest);
		goto out;
	}
	if (EVP_Digest(tbs, tbs_len, digest, &dlen, md, NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "%s of the TBS failed", alg->digest);
		goto out;
	}
	switch (alg->mech) {
	case HSM_MECH_RSA_PKCS:
		if ((rc = x509_sigalg_digestinfo(alg->hash, digest, dlen, buf, X509_SIGALG_INPUT_MAX, in_len)) != 0)
			goto out;
		break;
	case HSM_MECH_ECDSA:
	case HSM_MECH_RSA_PSS:
		/* The HSM pads (CKM_RSA_PKCS_PSS takes the digest); ECDSA signs the digest. */
		if (dlen > X509_SIGALG_INPUT_MAX)
			abort();	/* EVP_MAX_MD_SIZE is 64 */
		memcpy(buf, digest, dlen);
		*in_len = dlen;
		break;
	default:
		rc = sd_error_set(SD_E_INVAL, "%s: unexpected mechanism %d", alg->name, (int)alg->mech);
		goto out;
	}
	*in = buf;
	rc = 0;
out:
	EVP_MD_free(md);
	return rc;
}

int
x509_sigalg_ecdsa_to_der(const uint8_t *rs, size_t rs_len, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *buf = NULL, *p;
	size_t half;
	int n, rc;

	*der = NULL;
	*der_len = 0;
	if (rs == NULL || rs_len == 0 || rs_len % 2 != 0 || rs_len > 2 * 66) {
		rc = sd_error_set(SD_E_INVAL, "ECDSA signature of %zu bytes is not r || s", rs_len);
		goto out;
	}
	half = rs_len / 2;
	if ((r = BN_bin2bn(rs, (int)half, NULL)) == NULL || (s = BN_bin2bn(rs + half, (int)half, NULL)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (BN_is_zero(r) || BN_is_zero(s)) {
		rc = sd_error_set(SD_E_INVAL, "ECDSA signature with %s zero", BN_is_zero(r) ? "r" : "s");
		goto out;
	}
	if ((sig = ECDSA_SIG_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (ECDSA_SIG_set0(sig, r, s) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "ECDSA_SIG_set0 failed");
		goto out;
	}
	r = s = NULL;	/* owned by sig */
	if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot encode ECDSA signature");
		goto out;
	}
	if ((buf = malloc((size_t)n)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	p = buf;
	if (i2d_ECDSA_SIG(sig, &p) != n) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot encode ECDSA signature");
		goto out;
	}
	*der = buf;
	*der_len = (size_t)n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

int
x509_sigalg_finish(const struct x509_sigalg *alg, const uint8_t *raw, size_t raw_len,
    uint8_t **sig, size_t *sig_len)
{
	uint8_t *copy = NULL;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	if (raw == NULL || raw_len != alg->sig_len) {
		rc = sd_error_set(SD_E_HSM, "%s signature of %zu bytes, expected %zu", alg->name, raw_len,
		    alg->sig_len);
		goto out;
	}
	if (alg->mech == HSM_MECH_ECDSA) {
		rc = x509_sigalg_ecdsa_to_der(raw, raw_len, sig, sig_len);
		if (rc == SD_E_INVAL)
			rc = sd_error_set(SD_E_HSM, "HSM returned a malformed %s signature", alg->name);
		goto out;
	}
	if ((copy = malloc(raw_len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(copy, raw, raw_len);
	*sig = copy;
	*sig_len = raw_len;
	rc = 0;
out:
	return rc;
}
