/*
 * The subject public key of a CSR: built straight from its
 * SubjectPublicKeyInfo bytes when they are the canonical encoding of an
 * accepted type (OpenSSL 3.0's generic decoder sets up a decoder chain on
 * every call, some 100 us), and checked against the key policy.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "base/der.h"
#include "config.h"
#include "csr_key.h"
#include "x509/x509_ext.h"

int
csr_check_key(EVP_PKEY *pkey, unsigned rsa_min_bits)
{
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *e = NULL;
	char group[80];
	size_t glen = 0;
	unsigned min = rsa_min_bits != 0 ? rsa_min_bits : CSR_RSA_MIN_DEFAULT;
	int bits, nid, rc;

	if (pkey == NULL) {
		rc = sd_error_set(SD_E_KEY_REFUSED, "no subject public key");
		goto out;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < 0 || (unsigned)bits < min) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "RSA key of %d bits is below the minimum %u", bits, min);
			goto out;
		}
		if (bits > CSR_RSA_MAX) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "RSA key of %d bits is above the maximum %d", bits, CSR_RSA_MAX);
			goto out;
		}
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "RSA key without a readable public exponent");
			goto out;
		}
		if (!BN_is_word(e, 65537)) {
			if (BN_num_bits(e) <= 64)
				rc = sd_error_set(SD_E_KEY_REFUSED, "RSA public exponent %llu is not 65537",
				    (unsigned long long)BN_get_word(e));
			else
				rc = sd_error_set(SD_E_KEY_REFUSED, "RSA public exponent of %d bits is not 65537",
				    BN_num_bits(e));
			goto out;
		}
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "EC key without a named curve");
			goto out;
		}
		if ((nid = OBJ_sn2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "EC key on curve %s is not allowed (P-256, P-384, P-521 only)",
			    group);
			goto out;
		}
		/*
		 * Point on the curve and not at infinity. The full check's
		 * multiplication by the order adds nothing here: P-256, P-384
		 * and P-521 have cofactor 1, so every point of the curve is in
		 * the prime-order group.
		 */
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if (EVP_PKEY_public_check_quick(ctx) != 1) {
			rc = sd_error_set(SD_E_KEY_REFUSED, "EC public key on %s is not a valid point", group);
			goto out;
		}
		break;
	case EVP_PKEY_ED25519:
		break;
	default:
		rc = sd_error_set(SD_E_KEY_REFUSED, "%s keys are not allowed (RSA, EC P-256/P-384/P-521, Ed25519 only)",
		    EVP_PKEY_get0_type_name(pkey) != NULL ? EVP_PKEY_get0_type_name(pkey) : "unknown");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Canonical AlgorithmIdentifiers of the accepted key types (RFC 3279, RFC 5480, RFC 8410). */
static const uint8_t csr_alg_rsa[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
};
static const uint8_t csr_alg_p256[] = {
	0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x03, 0x01, 0x07,
};
static const uint8_t csr_alg_p384[] = {
	0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
};
static const uint8_t csr_alg_p521[] = {
	0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23,
};
static const uint8_t csr_alg_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };

static const struct {
	const uint8_t *algid;
	size_t algid_len;
	unsigned type;
	const char *group;		/* EC: the curve's name */
	size_t field;			/* EC: octets of a coordinate */
} csr_spki_algs[] = {
	{ csr_alg_rsa, sizeof(csr_alg_rsa), CONFIG_KEY_RSA, NULL, 0 },
	{ csr_alg_p256, sizeof(csr_alg_p256), CONFIG_KEY_P256, "P-256", 32 },
	{ csr_alg_p384, sizeof(csr_alg_p384), CONFIG_KEY_P384, "P-384", 48 },
	{ csr_alg_p521, sizeof(csr_alg_p521), CONFIG_KEY_P521, "P-521", 66 },
	{ csr_alg_ed25519, sizeof(csr_alg_ed25519), CONFIG_KEY_ED25519, NULL, 0 },
};

/* The parts of a canonical SubjectPublicKeyInfo of an accepted key type (csr_spki_key_type()). */
struct csr_spki {
	size_t alg;			/* index in csr_spki_algs */
	unsigned type;			/* one CONFIG_KEY_* bit */
	const uint8_t *key;		/* EC: the point; Ed25519: the 32 octets */
	size_t key_len;
	struct der_tlv n, e;		/* RSA: modulus and public exponent */
};

/* Whether an INTEGER's content is a positive number in the shortest form. */
static bool
csr_positive_integer(const struct der_tlv *i)
{
	if (i->len == 0 || (i->val[0] & 0x80) != 0)
		return false;
	return i->len == 1 || i->val[0] != 0 || (i->val[1] & 0x80) != 0;
}

/* Read spki as the canonical encoding of an accepted key type into *out; false for anything else. */
static bool
csr_spki_read(const uint8_t *spki, size_t len, struct csr_spki *out)
{
	struct der_tlv algid, seq;
	const uint8_t *p;
	size_t avail, i, field;

	memset(out, 0, sizeof(*out));
	if (x509_spki_split(spki, len, &algid, &out->key, &out->key_len) != 0) {
		sd_error_clear();
		return false;
	}
	for (i = 0; i < sizeof(csr_spki_algs) / sizeof(csr_spki_algs[0]); i++)
		if (algid.tlv_len == csr_spki_algs[i].algid_len &&
		    memcmp(algid.tlv, csr_spki_algs[i].algid, algid.tlv_len) == 0)
			break;
	if (i == sizeof(csr_spki_algs) / sizeof(csr_spki_algs[0]))
		return false;
	out->alg = i;
	out->type = csr_spki_algs[i].type;
	field = csr_spki_algs[i].field;
	switch (out->type) {
	case CONFIG_KEY_RSA:
		/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
		p = out->key;
		avail = out->key_len;
		if (der_next(&p, &avail, DER_TAG_SEQUENCE, &seq) != 0 || avail != 0) {
			sd_error_clear();
			return false;
		}
		p = seq.val;
		avail = seq.len;
		if (der_next(&p, &avail, DER_TAG_INTEGER, &out->n) != 0 ||
		    der_next(&p, &avail, DER_TAG_INTEGER, &out->e) != 0 || avail != 0) {
			sd_error_clear();
			return false;
		}
		return csr_positive_integer(&out->n) && csr_positive_integer(&out->e);
	case CONFIG_KEY_ED25519:
		return out->key_len == 32;
	default:
		if (out->key_len == 1 + 2 * field && out->key[0] == 0x04)
			return true;
		return out->key_len == 1 + field && (out->key[0] == 0x02 || out->key[0] == 0x03);
	}
}

unsigned
csr_spki_key_type(const uint8_t *spki, size_t len)
{
	struct csr_spki s;

	return csr_spki_read(spki, len, &s) ? s.type : 0;
}

/*
 * Parameter-only keys of the accepted curves: a CSR's EC key is a copy of
 * one with the CSR's point set, which skips building the curve's group
 * (and OpenSSL 3.0's decoder set-up) on every request. NULL when building
 * one failed; that curve then takes the generic decoder.
 */
static EVP_PKEY *csr_ec_templates[sizeof(csr_spki_algs) / sizeof(csr_spki_algs[0])];
static pthread_once_t csr_ec_templates_once = PTHREAD_ONCE_INIT;

static void
csr_ec_templates_init(void)
{
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx;
	size_t i;

	for (i = 0; i < sizeof(csr_spki_algs) / sizeof(csr_spki_algs[0]); i++) {
		if (csr_spki_algs[i].group == NULL || (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
			continue;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
		    (char *)csr_spki_algs[i].group, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &csr_ec_templates[i], EVP_PKEY_KEY_PARAMETERS, params) != 1)
			csr_ec_templates[i] = NULL;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
}

static EVP_PKEY *
csr_ec_key(const struct csr_spki *s)
{
	EVP_PKEY *tmpl, *pkey;

	if (pthread_once(&csr_ec_templates_once, csr_ec_templates_init) != 0)
		return NULL;
	if ((tmpl = csr_ec_templates[s->alg]) == NULL || (pkey = EVP_PKEY_dup(tmpl)) == NULL)
		return NULL;
	/* Refuses a point that is not on the curve. */
	if (EVP_PKEY_set1_encoded_public_key(pkey, s->key, s->key_len) != 1) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static EVP_PKEY *
csr_rsa_key(const struct csr_spki *s)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;

	if ((n = BN_bin2bn(s->n.val, (int)s->n.len, NULL)) == NULL ||
	    (e = BN_bin2bn(s->e.val, (int)s->e.len, NULL)) == NULL || (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(e);
	BN_free(n);
	return pkey;
}

int
csr_key_decode(const uint8_t *spki, size_t len, EVP_PKEY **out)
{
	struct csr_spki s;
	const unsigned char *p = spki;
	EVP_PKEY *pkey = NULL;

	*out = NULL;
	if (len > LONG_MAX)
		return sd_error_set(SD_E_KEY_REFUSED, "subject public key of an unsupported or malformed type");
	if (csr_spki_read(spki, len, &s)) {
		switch (s.type) {
		case CONFIG_KEY_RSA:
			pkey = csr_rsa_key(&s);
			break;
		case CONFIG_KEY_ED25519:
			pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, s.key, s.key_len);
			break;
		default:
			pkey = csr_ec_key(&s);
			break;
		}
	}
	/* Anything else, or a key the direct path refused: OpenSSL's decoder has the last word. */
	if (pkey == NULL) {
		ERR_clear_error();
		if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) != NULL && p != spki + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	ERR_clear_error();
	if (pkey == NULL)
		return sd_error_set(SD_E_KEY_REFUSED, "subject public key of an unsupported or malformed type");
	*out = pkey;
	return 0;
}

unsigned
csr_key_type(EVP_PKEY *pkey)
{
	char group[80];
	size_t glen = 0;
	int nid;

	if (pkey == NULL)
		return 0;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return CONFIG_KEY_RSA;
	case EVP_PKEY_ED25519:
		return CONFIG_KEY_ED25519;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1) {
			ERR_clear_error();
			return 0;
		}
		if ((nid = OBJ_sn2nid(group)) == NID_undef)
			nid = EC_curve_nist2nid(group);
		return nid == NID_X9_62_prime256v1 ? CONFIG_KEY_P256 : nid == NID_secp384r1 ? CONFIG_KEY_P384 :
		    nid == NID_secp521r1 ? CONFIG_KEY_P521 : 0;
	default:
		return 0;
	}
}

const char *
csr_key_type_name(unsigned key_type)
{
	switch (key_type) {
	case CONFIG_KEY_RSA:
		return "RSA";
	case CONFIG_KEY_P256:
		return "P-256";
	case CONFIG_KEY_P384:
		return "P-384";
	case CONFIG_KEY_P521:
		return "P-521";
	case CONFIG_KEY_ED25519:
		return "Ed25519";
	default:
		return "?";
	}
}

