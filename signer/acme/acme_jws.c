#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "acme_jws.h"

/* Bytes of a decoded signature: RSA 8192 is the largest we accept. */
#define ACME_SIG_MAX 1024
/* Bytes of an RSA modulus (8192 bits) and exponent (64 bits is far beyond any real key). */
#define ACME_RSA_N_MAX 1024
#define ACME_RSA_E_MAX 8

struct acme_eab {
	json_t *header;
	const char *kid; /* borrowed from header */
	const char *md; /* "SHA256", "SHA384" or "SHA512" */
	size_t mac_len;
	char *signing_input;
	size_t signing_input_len;
	uint8_t *signature;
	size_t signature_len;
};

static const char acme_b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Set the problem the client is told and pass rc on, so that every refusal is one line. */
static int
acme_refuse(enum acme_problem *problem, enum acme_problem p, int rc)
{
	*problem = p;
	return rc;
}

size_t
acme_b64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i, at = 0;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[at++] = acme_b64url_alphabet[(v >> 18) & 63];
		out[at++] = acme_b64url_alphabet[(v >> 12) & 63];
		out[at++] = acme_b64url_alphabet[(v >> 6) & 63];
		out[at++] = acme_b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[at++] = acme_b64url_alphabet[(v >> 18) & 63];
		out[at++] = acme_b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[at++] = acme_b64url_alphabet[(v >> 18) & 63];
		out[at++] = acme_b64url_alphabet[(v >> 12) & 63];
		out[at++] = acme_b64url_alphabet[(v >> 6) & 63];
	}
	out[at] = '\0';
	return at;
}

int
acme_b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
acme_b64url_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t n, i, at = 0;
	uint32_t acc = 0;
	int v, bits = 0, rc;

	*out = NULL;
	*out_len = 0;
	if (len % 4 == 1) {
		rc = sd_error_set(SD_E_INVAL, "base64url: %zu characters is not a possible length", len);
		goto out;
	}
	n = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	if (n > max) {
		rc = sd_error_set(SD_E_TOO_LARGE, "base64url: %zu bytes exceed the limit of %zu", n, max);
		goto out;
	}
	if ((buf = malloc(n + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < len; i++) {
		/* Padding, '+', '/' and whitespace all land here: one spelling per value. */
		if ((v = acme_b64url_value(in[i])) < 0) {
			rc = sd_error_set(SD_E_INVAL, "base64url: character %zu is not in the URL-safe alphabet", i);
			goto out;
		}
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[at++] = (uint8_t)(acc >> bits);
		}
	}
	/* Non-zero leftover bits would let two strings decode to the same bytes (and the same signature). */
	if ((acc & ((1u << bits) - 1)) != 0) {
		rc = sd_error_set(SD_E_INVAL, "base64url: non-canonical trailing bits");
		goto out;
	}
	if (at != n)
		abort();
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The three string members of a flattened JWS, and nothing else (RFC 7515 7.2.2 without "header"). */
static int
acme_jws_members(const json_t *root, const char *what, const json_t **prot, const json_t **payload, const json_t **sig)
{
	if (!json_is_object(root))
		return sd_error_set(SD_E_INVAL, "%s: not a JSON object", what);
	*prot = json_object_get(root, "protected");
	*payload = json_object_get(root, "payload");
	*sig = json_object_get(root, "signature");
	if (!json_is_string(*prot) || !json_is_string(*payload) || !json_is_string(*sig))
		return sd_error_set(SD_E_INVAL, "%s: \"protected\", \"payload\" and \"signature\" must be strings",
		    what);
	if (json_object_size(root) != 3)
		return sd_error_set(SD_E_INVAL, "%s: members other than \"protected\", \"payload\" and \"signature\"",
		    what);
	return 0;
}

/* "protected.payload" exactly as the client sent them: the bytes its signature covers. */
static int
acme_signing_input(const json_t *prot, const json_t *payload, char **out, size_t *out_len)
{
	size_t plen = json_string_length(prot), len = json_string_length(payload);
	char *s;

	*out = NULL;
	*out_len = 0;
	/* Both are bounded by the body (ACME_JWS_MAX): no overflow. */
	if ((s = malloc(plen + 1 + len + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(s, json_string_value(prot), plen);
	s[plen] = '.';
	memcpy(s + plen + 1, json_string_value(payload), len);
	s[plen + 1 + len] = '\0';
	*out = s;
	*out_len = plen + 1 + len;
	return 0;
}

/* Decode a base64url protected header into a JSON object. */
static int
acme_header_decode(const json_t *prot, const char *what, json_t **out)
{
	uint8_t *raw = NULL;
	size_t raw_len;
	json_t *h = NULL;
	json_error_t jerr;
	int rc;

	*out = NULL;
	if ((rc = acme_b64url_decode(json_string_value(prot), json_string_length(prot), ACME_JWS_MAX, &raw,
	         &raw_len)) != 0) {
		if (rc == SD_E_INVAL)
			rc = sd_error_set(SD_E_INVAL, "%s: protected header is not base64url", what);
		goto out;
	}
	h = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(h)) {
		rc = sd_error_set(SD_E_INVAL, "%s: protected header is not a JSON object", what);
		goto out;
	}
	*out = h;
	h = NULL;
	rc = 0;
out:
	json_decref(h);
	free(raw);
	return rc;
}

/* inner: a keyChange's inner JWS (RFC 8555 7.3.5): no nonce, a "jwk" and never a "kid". */
static int
acme_jws_parse_any(const char *body, size_t len, bool inner, struct acme_jws **out, enum acme_problem *problem)
{
	struct acme_jws *jws = NULL;
	json_t *root = NULL;
	const json_t *prot, *payload, *sig, *v, *jwk, *kid;
	json_error_t jerr;
	const char *alg;
	int rc;

	*out = NULL;
	*problem = ACME_P_NONE;
	if (len > ACME_JWS_MAX) {
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_TOO_LARGE, "JWS: %zu bytes exceed the limit of %d", len, ACME_JWS_MAX));
		goto out;
	}
	if ((jws = calloc(1, sizeof(*jws))) == NULL) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, SD_E_NOMEM);
		goto out;
	}
	/* Duplicate members are refused: two readers must never see two different headers. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: not JSON: %s", jerr.text));
		goto out;
	}
	if ((rc = acme_jws_members(root, "JWS", &prot, &payload, &sig)) != 0) {
		*problem = ACME_P_MALFORMED;
		goto out;
	}
	if ((rc = acme_header_decode(prot, "JWS", &jws->header)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		goto out;
	}
	v = json_object_get(jws->header, "alg");
	if (!json_is_string(v)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: \"alg\" missing"));
		goto out;
	}
	alg = json_string_value(v);
	if (strcmp(alg, "ES256") == 0)
		jws->alg = ACME_JWS_ES256;
	else if (strcmp(alg, "ES384") == 0)
		jws->alg = ACME_JWS_ES384;
	else if (strcmp(alg, "RS256") == 0)
		jws->alg = ACME_JWS_RS256;
	else if (strcmp(alg, "EdDSA") == 0)
		jws->alg = ACME_JWS_EDDSA;
	else {
		/* "none" and the MACs land here too: RFC 8555 6.2 forbids them for a request's signature. */
		rc = acme_refuse(problem, ACME_P_BAD_SIGNATURE_ALGORITHM,
		    sd_error_set(SD_E_INVAL, "JWS: algorithm is not one of ES256, ES384, RS256, EdDSA"));
		goto out;
	}
	/* We understand no extension, so a critical one can never be honoured (RFC 7515 4.1.11). */
	if (json_object_get(jws->header, "crit") != NULL) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: \"crit\" is not supported"));
		goto out;
	}
	v = json_object_get(jws->header, "nonce");
	if (inner && v != NULL) {
		/* The inner JWS is no request of its own: a nonce would let it be mistaken for one. */
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "inner JWS: \"nonce\" is not allowed"));
		goto out;
	}
	if (!inner && !json_is_string(v)) {
		rc = acme_refuse(problem, ACME_P_BAD_NONCE, sd_error_set(SD_E_INVAL, "JWS: \"nonce\" missing"));
		goto out;
	}
	jws->nonce = json_string_value(v);
	v = json_object_get(jws->header, "url");
	if (!json_is_string(v)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: \"url\" missing"));
		goto out;
	}
	jws->url = json_string_value(v);
	jwk = json_object_get(jws->header, "jwk");
	kid = json_object_get(jws->header, "kid");
	if ((jwk == NULL) == (kid == NULL)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "JWS: exactly one of \"jwk\" and \"kid\" is required"));
		goto out;
	}
	if (jwk != NULL && !json_is_object(jwk)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: \"jwk\" is not an object"));
		goto out;
	}
	if (kid != NULL && !json_is_string(kid)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS: \"kid\" is not a string"));
		goto out;
	}
	if (inner && jwk == NULL) {
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "inner JWS: the new key (\"jwk\") is required"));
		goto out;
	}
	jws->jwk = jwk;
	jws->kid = kid != NULL ? json_string_value(kid) : NULL;
	if ((rc = acme_b64url_decode(json_string_value(payload), json_string_length(payload), ACME_JWS_MAX,
	         &jws->payload, &jws->payload_len)) != 0 ||
	    (rc = acme_b64url_decode(json_string_value(sig), json_string_length(sig), ACME_SIG_MAX, &jws->signature,
	         &jws->signature_len)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		if (rc != SD_E_NOMEM)
			rc = sd_error_set(SD_E_INVAL, "JWS: payload or signature: %s", sd_error_detail(rc));
		goto out;
	}
	if ((rc = acme_signing_input(prot, payload, &jws->signing_input, &jws->signing_input_len)) != 0) {
		*problem = ACME_P_SERVER_INTERNAL;
		goto out;
	}
	*out = jws;
	jws = NULL;
	rc = 0;
out:
	acme_jws_free(jws);
	json_decref(root);
	return rc;
}

int
acme_jws_parse(const char *body, size_t len, struct acme_jws **out, enum acme_problem *problem)
{
	return acme_jws_parse_any(body, len, false, out, problem);
}

int
acme_jws_parse_inner(const char *body, size_t len, struct acme_jws **out, enum acme_problem *problem)
{
	return acme_jws_parse_any(body, len, true, out, problem);
}

void
acme_jws_free(struct acme_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	free(jws->payload);
	free(jws->signing_input);
	free(jws->signature);
	free(jws);
}

/*
 * Member name of jwk as base64url bytes of exactly want bytes (want 0: 1..max
 * bytes, no leading zero octet, which would give one key two thumbprints).
 */
static int
acme_jwk_bytes(const json_t *jwk, const char *name, size_t want, size_t max, uint8_t **out, size_t *out_len,
    enum acme_problem *problem)
{
	const json_t *v = json_object_get(jwk, name);
	int rc;

	*out = NULL;
	*out_len = 0;
	if (!json_is_string(v))
		return acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWK: \"%s\" missing", name));
	rc = acme_b64url_decode(json_string_value(v), json_string_length(v), want != 0 ? want : max, out, out_len);
	if (rc == SD_E_NOMEM)
		return acme_refuse(problem, ACME_P_SERVER_INTERNAL, rc);
	if (rc == SD_E_INVAL)
		return acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "JWK: \"%s\" is not base64url", name));
	if (rc != 0 || (want != 0 && *out_len != want) || (want == 0 && (*out_len == 0 || (*out)[0] == 0))) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: \"%s\" has the wrong length or a leading zero octet", name));
	}
	return 0;
}

/* Build a key with EVP_PKEY_fromdata from params (type "EC" or "RSA") and check it as a public key. */
static int
acme_key_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out, enum acme_problem *problem)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL,
		    sd_error_set(SD_E_CRYPTO, "JWK: cannot set up %s", type));
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL || EVP_PKEY_public_check(check) != 1) {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: not a valid %s public key", type));
		goto out;
	}
	*out = key;
	key = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rc;
}

static int
acme_jwk_ec(const json_t *jwk, const char *crv, EVP_PKEY **out, enum acme_problem *problem)
{
	OSSL_PARAM_BLD *bld = NULL;
	uint8_t *x = NULL, *y = NULL, point[1 + 2 * 48];
	size_t x_len, y_len, size;
	const char *group;
	int rc;

	*out = NULL;
	if (strcmp(crv, "P-256") == 0) {
		group = "prime256v1";
		size = 32;
	} else if (strcmp(crv, "P-384") == 0) {
		group = "secp384r1";
		size = 48;
	} else {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: EC curve is not P-256 or P-384"));
		goto out;
	}
	if ((rc = acme_jwk_bytes(jwk, "x", size, size, &x, &x_len, problem)) != 0 ||
	    (rc = acme_jwk_bytes(jwk, "y", size, size, &y, &y_len, problem)) != 0)
		goto out;
	point[0] = 0x04; /* uncompressed (SEC 1 2.3.3): the only form a JWK can spell */
	memcpy(point + 1, x, size);
	memcpy(point + 1 + size, y, size);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size) != 1) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, SD_E_NOMEM);
		goto out;
	}
	rc = acme_key_fromdata("EC", bld, out, problem);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return rc;
}

static int
acme_jwk_rsa(const json_t *jwk, EVP_PKEY **out, enum acme_problem *problem)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *nb = NULL, *eb = NULL;
	size_t n_len, e_len;
	int bits, rc;

	*out = NULL;
	if ((rc = acme_jwk_bytes(jwk, "n", 0, ACME_RSA_N_MAX, &nb, &n_len, problem)) != 0 ||
	    (rc = acme_jwk_bytes(jwk, "e", 0, ACME_RSA_E_MAX, &eb, &e_len, problem)) != 0)
		goto out;
	if ((n = BN_bin2bn(nb, (int)n_len, NULL)) == NULL || (e = BN_bin2bn(eb, (int)e_len, NULL)) == NULL) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, SD_E_NOMEM);
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < 2048 || bits > 8192) {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: RSA key of %d bits is outside 2048..8192", bits));
		goto out;
	}
	if (!BN_is_odd(e) || BN_is_one(e)) {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: RSA exponent must be odd and at least 3"));
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, SD_E_NOMEM);
		goto out;
	}
	rc = acme_key_fromdata("RSA", bld, out, problem);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

static int
acme_jwk_okp(const json_t *jwk, const char *crv, EVP_PKEY **out, enum acme_problem *problem)
{
	uint8_t *x = NULL;
	size_t x_len;
	int rc;

	*out = NULL;
	if (strcmp(crv, "Ed25519") != 0) {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: OKP curve is not Ed25519"));
		goto out;
	}
	if ((rc = acme_jwk_bytes(jwk, "x", 32, 32, &x, &x_len, problem)) != 0)
		goto out;
	if ((*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, x_len)) == NULL) {
		ERR_clear_error();
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: not a valid Ed25519 public key"));
		goto out;
	}
	rc = 0;
out:
	free(x);
	return rc;
}

int
acme_jwk_key(const json_t *jwk, EVP_PKEY **out, enum acme_problem *problem)
{
	/* RFC 7518 6.2.2, 6.3.2 and RFC 8037 2: a private member means the client leaked its key. */
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	const json_t *kty, *crv;
	size_t i;
	int rc;

	*out = NULL;
	*problem = ACME_P_NONE;
	if (!json_is_object(jwk)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWK: not a JSON object"));
		goto out;
	}
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]) != NULL) {
			rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
			    sd_error_set(SD_E_KEY_REFUSED, "JWK: private member \"%s\" present", private_members[i]));
			goto out;
		}
	kty = json_object_get(jwk, "kty");
	crv = json_object_get(jwk, "crv");
	if (!json_is_string(kty)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWK: \"kty\" missing"));
		goto out;
	}
	if (strcmp(json_string_value(kty), "RSA") == 0) {
		rc = acme_jwk_rsa(jwk, out, problem);
		goto out;
	}
	if (strcmp(json_string_value(kty), "EC") != 0 && strcmp(json_string_value(kty), "OKP") != 0) {
		rc = acme_refuse(problem, ACME_P_BAD_PUBLIC_KEY,
		    sd_error_set(SD_E_KEY_REFUSED, "JWK: key type is not EC, RSA or OKP"));
		goto out;
	}
	if (!json_is_string(crv)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWK: \"crv\" missing"));
		goto out;
	}
	if (strcmp(json_string_value(kty), "EC") == 0)
		rc = acme_jwk_ec(jwk, json_string_value(crv), out, problem);
	else
		rc = acme_jwk_okp(jwk, json_string_value(crv), out, problem);
out:
	return rc;
}

int
acme_jwk_thumbprint(const json_t *jwk, char out[ACME_THUMBPRINT_LEN + 1])
{
	enum acme_problem problem;
	EVP_PKEY *key = NULL;
	uint8_t digest[32];
	unsigned int digest_len = 0;
	char *canon = NULL;
	const char *kty;
	size_t len;
	int n, rc;

	out[0] = '\0';
	if ((rc = acme_jwk_key(jwk, &key, &problem)) != 0) {
		if (rc != SD_E_NOMEM && rc != SD_E_CRYPTO)
			rc = sd_error_set(SD_E_INVAL, "JWK thumbprint: %s", sd_error_detail(rc));
		goto out;
	}
	/*
	 * RFC 7638 3.2: the required members in lexicographic order, no
	 * whitespace. acme_jwk_key() has checked each value is base64url or a
	 * known name, so none needs JSON escaping.
	 */
	kty = json_string_value(json_object_get(jwk, "kty"));
	len = 64;
	if (strcmp(kty, "RSA") == 0)
		len += json_string_length(json_object_get(jwk, "e")) + json_string_length(json_object_get(jwk, "n"));
	else
		len += json_string_length(json_object_get(jwk, "crv")) + json_string_length(json_object_get(jwk, "x")) +
		    (strcmp(kty, "EC") == 0 ? json_string_length(json_object_get(jwk, "y")) : 0);
	if ((canon = malloc(len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (strcmp(kty, "RSA") == 0)
		n = snprintf(canon, len, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    json_string_value(json_object_get(jwk, "e")), json_string_value(json_object_get(jwk, "n")));
	else if (strcmp(kty, "EC") == 0)
		n = snprintf(canon, len, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    json_string_value(json_object_get(jwk, "crv")), json_string_value(json_object_get(jwk, "x")),
		    json_string_value(json_object_get(jwk, "y")));
	else
		n = snprintf(canon, len, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}",
		    json_string_value(json_object_get(jwk, "crv")), json_string_value(json_object_get(jwk, "x")));
	if (n < 0 || (size_t)n >= len)
		abort();
	if (EVP_Digest(canon, (size_t)n, digest, &digest_len, EVP_sha256(), NULL) != 1 || digest_len != 32) {
		rc = sd_error_set(SD_E_CRYPTO, "JWK thumbprint: SHA-256 failed");
		goto out;
	}
	if (acme_b64url_encode(digest, digest_len, out) != ACME_THUMBPRINT_LEN)
		abort();
	rc = 0;
out:
	free(canon);
	EVP_PKEY_free(key);
	return rc;
}

/* Whether key is an EC key on the named group ("prime256v1", "secp384r1"). */
static bool
acme_key_on_group(EVP_PKEY *key, const char *group)
{
	char name[64];
	size_t len = 0;

	if (!EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1)
		return false;
	return strcmp(name, group) == 0;
}

/* JWS ECDSA signatures are r||s, fixed width (RFC 7518 3.4); OpenSSL verifies DER ECDSA-Sig-Value. */
static int
acme_ecdsa_der(const uint8_t *sig, size_t half, uint8_t **der, size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int n, rc;

	*der = NULL;
	*der_len = 0;
	if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		rc = SD_E_NOMEM;
		goto out;
	}
	r = s = NULL; /* es owns them */
	if ((n = i2d_ECDSA_SIG(es, &p)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "JWS: cannot encode the ECDSA signature");
		goto out;
	}
	*der = p;
	*der_len = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
acme_jws_verify(const struct acme_jws *jws, EVP_PKEY *key, enum acme_problem *problem)
{
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = NULL;
	uint8_t *der = NULL;
	const uint8_t *sig = jws->signature;
	size_t sig_len = jws->signature_len, half = 0;
	bool fits;
	int rc;

	*problem = ACME_P_NONE;
	switch (jws->alg) {
	case ACME_JWS_ES256:
		fits = acme_key_on_group(key, "prime256v1");
		md = EVP_sha256();
		half = 32;
		break;
	case ACME_JWS_ES384:
		fits = acme_key_on_group(key, "secp384r1");
		md = EVP_sha384();
		half = 48;
		break;
	case ACME_JWS_RS256:
		fits = EVP_PKEY_is_a(key, "RSA");
		md = EVP_sha256();
		break;
	case ACME_JWS_EDDSA: fits = EVP_PKEY_is_a(key, "ED25519"); break;
	default: abort();
	}
	if (!fits) {
		rc = acme_refuse(problem, ACME_P_BAD_SIGNATURE_ALGORITHM,
		    sd_error_set(SD_E_INVAL, "JWS: algorithm does not fit the key"));
		goto out;
	}
	if (half != 0) {
		if (sig_len != 2 * half) {
			rc = acme_refuse(problem, ACME_P_MALFORMED,
			    sd_error_set(SD_E_INVAL, "JWS: ECDSA signature of %zu bytes, not %zu", sig_len, 2 * half));
			goto out;
		}
		if ((rc = acme_ecdsa_der(sig, half, &der, &sig_len)) != 0) {
			*problem = ACME_P_SERVER_INTERNAL;
			goto out;
		}
		sig = der;
	}
	/* RSA's default padding in a digest-verify context is PKCS#1 v1.5, which RS256 names. */
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL,
		    sd_error_set(SD_E_CRYPTO, "JWS: cannot set up signature verification"));
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jws->signing_input, jws->signing_input_len) !=
	    1) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "JWS signature invalid"));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

int
acme_eab_parse(const json_t *eab, const json_t *outer_jwk, const char *url, struct acme_eab **out, const char **kid,
    enum acme_problem *problem)
{
	struct acme_eab *e = NULL;
	const json_t *prot, *payload, *sig, *v;
	json_t *inner = NULL;
	json_error_t jerr;
	uint8_t *raw = NULL;
	size_t raw_len;
	char outer_tp[ACME_THUMBPRINT_LEN + 1], inner_tp[ACME_THUMBPRINT_LEN + 1];
	const char *alg;
	int rc;

	*out = NULL;
	*kid = NULL;
	*problem = ACME_P_NONE;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, SD_E_NOMEM);
		goto out;
	}
	if ((rc = acme_jws_members(eab, "EAB", &prot, &payload, &sig)) != 0) {
		*problem = ACME_P_MALFORMED;
		goto out;
	}
	if ((rc = acme_header_decode(prot, "EAB", &e->header)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		goto out;
	}
	v = json_object_get(e->header, "alg");
	if (!json_is_string(v)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "EAB: \"alg\" missing"));
		goto out;
	}
	alg = json_string_value(v);
	if (strcmp(alg, "HS256") == 0) {
		e->md = "SHA256";
		e->mac_len = 32;
	} else if (strcmp(alg, "HS384") == 0) {
		e->md = "SHA384";
		e->mac_len = 48;
	} else if (strcmp(alg, "HS512") == 0) {
		e->md = "SHA512";
		e->mac_len = 64;
	} else {
		rc = acme_refuse(problem, ACME_P_BAD_SIGNATURE_ALGORITHM,
		    sd_error_set(SD_E_INVAL, "EAB: algorithm is not one of HS256, HS384, HS512"));
		goto out;
	}
	if (json_object_get(e->header, "crit") != NULL) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "EAB: \"crit\" is not supported"));
		goto out;
	}
	/* RFC 8555 7.3.4: the binding is not a request, so it carries no nonce. */
	if (json_object_get(e->header, "nonce") != NULL) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "EAB: \"nonce\" is not allowed"));
		goto out;
	}
	v = json_object_get(e->header, "kid");
	if (!json_is_string(v)) {
		rc = acme_refuse(problem, ACME_P_MALFORMED, sd_error_set(SD_E_INVAL, "EAB: \"kid\" missing"));
		goto out;
	}
	e->kid = json_string_value(v);
	v = json_object_get(e->header, "url");
	if (!json_is_string(v) || strcmp(json_string_value(v), url) != 0) {
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "EAB: \"url\" is not the newAccount request's url"));
		goto out;
	}
	if ((rc = acme_b64url_decode(json_string_value(payload), json_string_length(payload), ACME_JWS_MAX, &raw,
	         &raw_len)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		if (rc != SD_E_NOMEM)
			rc = sd_error_set(SD_E_INVAL, "EAB: payload is not base64url");
		goto out;
	}
	inner = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
	/* The binding ties the external account to this account key and no other. */
	if ((rc = acme_jwk_thumbprint(outer_jwk, outer_tp)) != 0 || (rc = acme_jwk_thumbprint(inner, inner_tp)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		goto out;
	}
	if (strcmp(outer_tp, inner_tp) != 0) {
		rc = acme_refuse(problem, ACME_P_MALFORMED,
		    sd_error_set(SD_E_INVAL, "EAB: payload key is not the account key"));
		goto out;
	}
	if ((rc = acme_b64url_decode(json_string_value(sig), json_string_length(sig), ACME_SIG_MAX, &e->signature,
	         &e->signature_len)) != 0) {
		*problem = rc == SD_E_NOMEM ? ACME_P_SERVER_INTERNAL : ACME_P_MALFORMED;
		if (rc != SD_E_NOMEM)
			rc = sd_error_set(SD_E_INVAL, "EAB: signature is not base64url");
		goto out;
	}
	if ((rc = acme_signing_input(prot, payload, &e->signing_input, &e->signing_input_len)) != 0) {
		*problem = ACME_P_SERVER_INTERNAL;
		goto out;
	}
	*kid = e->kid;
	*out = e;
	e = NULL;
	rc = 0;
out:
	json_decref(inner);
	free(raw);
	acme_eab_free(e);
	return rc;
}

int
acme_eab_verify(const struct acme_eab *eab, const uint8_t *key, size_t key_len, enum acme_problem *problem)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	int rc;

	*problem = ACME_P_NONE;
	if (key_len == 0 || key_len > ACME_EAB_KEY_MAX) {
		rc = acme_refuse(problem, ACME_P_UNAUTHORIZED,
		    sd_error_set(SD_E_INVAL, "EAB: key of %zu bytes is outside 1..%d", key_len, ACME_EAB_KEY_MAX));
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, eab->md, NULL, key, key_len, (const unsigned char *)eab->signing_input,
	        eab->signing_input_len, mac, sizeof(mac), &mac_len) == NULL ||
	    mac_len != eab->mac_len) {
		ERR_clear_error();
		rc = acme_refuse(problem, ACME_P_SERVER_INTERNAL, sd_error_set(SD_E_CRYPTO, "EAB: HMAC failed"));
		goto out;
	}
	/* The length is public (it follows from alg); the bytes are compared in constant time. */
	if (eab->signature_len != mac_len || CRYPTO_memcmp(mac, eab->signature, mac_len) != 0) {
		rc = acme_refuse(problem, ACME_P_UNAUTHORIZED,
		    sd_error_set(SD_E_INVAL, "EAB: MAC does not verify with the key \"kid\" names"));
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

void
acme_eab_free(struct acme_eab *eab)
{
	if (eab == NULL)
		return;
	json_decref(eab->header);
	free(eab->signing_input);
	free(eab->signature);
	free(eab);
}
