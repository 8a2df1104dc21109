/*
 * Unit tests for ACME's JWS layer (signer/acme/acme_jws.c): base64url, the
 * flattened JWS parser, JWKs and their RFC 7638 thumbprints, signature
 * verification for every accepted algorithm, External Account Binding, and
 * the problem table. Keys are generated here and requests signed as a
 * client would; every refusal asserts its exact code and problem.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme/acme_jws.h"
#include "acme/acme_problem.h"
#include "acme_fixture.h"
#include "sd_test.h"

#define URL "https://ca.example/acme/new-account"

static EVP_PKEY *k_p256, *k_p384, *k_rsa, *k_ed25519, *k_rsa1024;

/* A newAccount-like request signed by key with its jwk in the header. */
static char *
body_jwk(EVP_PKEY *key, const char *alg, bool flip)
{
	json_t *h = json_pack("{s:s, s:s, s:s, s:o}", "alg", alg, "nonce", "n0nce", "url", URL, "jwk", acme_fx_jwk(key));

	if (h == NULL)
		abort();
	return acme_fx_jws_text(key, alg, h, "{\"termsOfServiceAgreed\":true}", flip);
}

/* Parse body; expect rc and problem. */
static void
expect_parse(const char *body, int rc, enum acme_problem p)
{
	struct acme_jws *jws = (struct acme_jws *)1;
	enum acme_problem problem = ACME_P_NONE;

	CU_ASSERT_EQUAL(acme_jws_parse(body, strlen(body), &jws, &problem), rc);
	CU_ASSERT_EQUAL(problem, p);
	if (rc != 0)
		CU_ASSERT_PTR_NULL(jws);
	acme_jws_free(jws);
}

/* Parse, take the jwk's key and verify; returns verify's rc and its problem in *p. */
static int
parse_verify(const char *body, EVP_PKEY *key, enum acme_problem *p)
{
	struct acme_jws *jws = NULL;
	EVP_PKEY *jwk_key = NULL;
	int rc;

	CU_ASSERT_EQUAL_FATAL(acme_jws_parse(body, strlen(body), &jws, p), 0);
	if (key == NULL) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(jws->jwk);
		CU_ASSERT_EQUAL_FATAL(acme_jwk_key(jws->jwk, &jwk_key, p), 0);
		key = jwk_key;
	}
	rc = acme_jws_verify(jws, key, p);
	EVP_PKEY_free(jwk_key);
	acme_jws_free(jws);
	return rc;
}

static void
test_b64url(void)
{
	uint8_t *out = NULL;
	size_t len = 7, i;
	char enc[16];
	static const char *const bad[] = { "QQ==", "QQ=", "a+b_", "a/b_", "QU E", "QUJD\n", "Q", "QUJDR", "QR" };

	CU_ASSERT_EQUAL(acme_b64url_encode((const uint8_t *)"\xfb\xff", 2, enc), 3);
	CU_ASSERT_STRING_EQUAL(enc, "-_8");
	CU_ASSERT_EQUAL(acme_b64url_decode("-_8", 3, 16, &out, &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT(out != NULL && memcmp(out, "\xfb\xff", 3) == 0); /* and the NUL */
	free(out);
	CU_ASSERT_EQUAL(acme_b64url_decode("", 0, 16, &out, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT(out != NULL && out[0] == 0);
	free(out);
	CU_ASSERT_EQUAL(acme_b64url_encode((const uint8_t *)"ABCD", 4, enc), 6);
	CU_ASSERT_STRING_EQUAL(enc, "QUJDRA");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(acme_b64url_decode(bad[i], strlen(bad[i]), 16, &out, &len), SD_E_INVAL);
		CU_ASSERT_PTR_NULL(out);
		CU_ASSERT_EQUAL(len, 0);
	}
	CU_ASSERT_EQUAL(acme_b64url_decode("QUJDRA", 6, 3, &out, &len), SD_E_TOO_LARGE);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(acme_b64url_decode("QUJDRA", 6, 4, &out, &len), 0);
	free(out);
}

static void
test_verify_good(void)
{
	static const struct {
		EVP_PKEY **key;
		const char *alg;
	} cases[] = {
		{ &k_p256, "ES256" },
		{ &k_p384, "ES384" },
		{ &k_rsa, "RS256" },
		{ &k_ed25519, "EdDSA" },
	};
	enum acme_problem p = ACME_P_MALFORMED;
	size_t i;
	char *body;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = body_jwk(*cases[i].key, cases[i].alg, false);
		CU_ASSERT_EQUAL(parse_verify(body, NULL, &p), 0);
		CU_ASSERT_EQUAL(p, ACME_P_NONE);
		free(body);
	}
}

static void
test_parse_fields(void)
{
	struct acme_jws *jws = NULL;
	enum acme_problem p;
	json_t *h = json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "nonce", "abc", "url", URL, "kid", "acct/1");
	char *body = acme_fx_jws_text(k_p256, "ES256", h, "", false);

	CU_ASSERT_EQUAL_FATAL(acme_jws_parse(body, strlen(body), &jws, &p), 0);
	CU_ASSERT_EQUAL(jws->alg, ACME_JWS_ES256);
	CU_ASSERT_STRING_EQUAL(jws->nonce, "abc");
	CU_ASSERT_STRING_EQUAL(jws->url, URL);
	CU_ASSERT_STRING_EQUAL(jws->kid, "acct/1");
	CU_ASSERT_PTR_NULL(jws->jwk);
	CU_ASSERT_EQUAL(jws->payload_len, 0); /* POST-as-GET */
	CU_ASSERT_EQUAL(jws->signing_input[jws->signing_input_len - 1], '.');
	CU_ASSERT_EQUAL(acme_jws_verify(jws, k_p256, &p), 0);
	CU_ASSERT_EQUAL(acme_jws_verify(jws, k_p384, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_BAD_SIGNATURE_ALGORITHM);
	acme_jws_free(jws);
	free(body);
}

static void
test_verify_refused(void)
{
	enum acme_problem p;
	char *body;
	json_t *h;

	/* One flipped bit in each kind of signature. */
	body = body_jwk(k_p256, "ES256", true);
	CU_ASSERT_EQUAL(parse_verify(body, NULL, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_INVAL), "JWS signature invalid");
	free(body);
	body = body_jwk(k_rsa, "RS256", true);
	CU_ASSERT_EQUAL(parse_verify(body, NULL, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	free(body);
	body = body_jwk(k_ed25519, "EdDSA", true);
	CU_ASSERT_EQUAL(parse_verify(body, NULL, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	free(body);
	/* ES384 in the header, a P-256 key in the jwk (signed with SHA-384 over P-256: still refused). */
	h = json_pack("{s:s, s:s, s:s, s:o}", "alg", "ES384", "nonce", "n", "url", URL, "jwk", acme_fx_jwk(k_p256));
	body = acme_fx_jws_text(k_p256, "ES256", h, "{}", false);
	CU_ASSERT_EQUAL(parse_verify(body, NULL, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_BAD_SIGNATURE_ALGORITHM);
	free(body);
	/* RS256 header with an EC key, EdDSA with RSA. */
	body = body_jwk(k_rsa, "RS256", false);
	CU_ASSERT_EQUAL(parse_verify(body, k_p256, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_BAD_SIGNATURE_ALGORITHM);
	free(body);
	body = body_jwk(k_ed25519, "EdDSA", false);
	CU_ASSERT_EQUAL(parse_verify(body, k_rsa, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_BAD_SIGNATURE_ALGORITHM);
	free(body);
	/* An ES256 signature of the wrong length (an RSA signature under an ES256 header). */
	h = json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "nonce", "n", "url", URL, "kid", "k");
	body = acme_fx_jws_text(k_rsa, "RS256", h, "{}", false);
	CU_ASSERT_EQUAL(parse_verify(body, k_p256, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	free(body);
}

/* A header h (stolen) over a good ES256 signature: what parse says of it. */
static void
expect_header(json_t *h, int rc, enum acme_problem p)
{
	char *body;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	body = acme_fx_jws_text(k_p256, "ES256", h, "{}", false);
	expect_parse(body, rc, p);
	free(body);
}

static void
test_parse_refused(void)
{
	static const char *const algs[] = { "none", "HS256", "PS256", "ES512", "RS384", "es256" };
	size_t i;
	char *body, *big;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		expect_header(json_pack("{s:s, s:s, s:s, s:s}", "alg", algs[i], "nonce", "n", "url", URL, "kid", "k"),
		    SD_E_INVAL, ACME_P_BAD_SIGNATURE_ALGORITHM);
	expect_header(json_pack("{s:s, s:s, s:s}", "nonce", "n", "url", URL, "kid", "k"), SD_E_INVAL, ACME_P_MALFORMED);
	expect_header(json_pack("{s:s, s:s, s:s}", "alg", "ES256", "url", URL, "kid", "k"), SD_E_INVAL,
	    ACME_P_BAD_NONCE);
	expect_header(json_pack("{s:s, s:i, s:s, s:s}", "alg", "ES256", "nonce", 7, "url", URL, "kid", "k"), SD_E_INVAL,
	    ACME_P_BAD_NONCE);
	expect_header(json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", "n", "kid", "k"), SD_E_INVAL,
	    ACME_P_MALFORMED);
	expect_header(json_pack("{s:s, s:s, s:s, s:s, s:o}", "alg", "ES256", "nonce", "n", "url", URL, "kid", "k",
	                  "jwk", acme_fx_jwk(k_p256)),
	    SD_E_INVAL, ACME_P_MALFORMED);
	expect_header(json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", "n", "url", URL), SD_E_INVAL,
	    ACME_P_MALFORMED);
	expect_header(json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "alg", "ES256", "nonce", "n", "url", URL, "kid", "k",
	                  "crit", "b64"),
	    SD_E_INVAL, ACME_P_MALFORMED);
	expect_header(json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "nonce", "n", "url", URL, "jwk", "k"),
	    SD_E_INVAL, ACME_P_MALFORMED);

	/* The body itself: an extra member, a missing one, not an object, duplicates, not JSON. */
	expect_parse("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\",\"header\":{}}", SD_E_INVAL,
	    ACME_P_MALFORMED);
	expect_parse("{\"protected\":\"e30\",\"payload\":\"\"}", SD_E_INVAL, ACME_P_MALFORMED);
	expect_parse("{\"protected\":\"e30\",\"payload\":\"\",\"signature\":7}", SD_E_INVAL, ACME_P_MALFORMED);
	expect_parse("[\"e30\"]", SD_E_INVAL, ACME_P_MALFORMED);
	expect_parse("{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\"}", SD_E_INVAL,
	    ACME_P_MALFORMED);
	expect_parse("{\"protected\":", SD_E_INVAL, ACME_P_MALFORMED);
	/* Protected header not an object, and padded base64url. */
	expect_parse("{\"protected\":\"W10\",\"payload\":\"\",\"signature\":\"\"}", SD_E_INVAL, ACME_P_MALFORMED);
	expect_parse("{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"\"}", SD_E_INVAL, ACME_P_MALFORMED);

	/* Padding on the payload or the signature of an otherwise good request. */
	body = body_jwk(k_p256, "ES256", false);
	big = malloc(strlen(body) + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	{
		char *sig = strstr(body, "\"signature\":\"");
		size_t at;

		CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
		at = (size_t)(strchr(sig + 13, '"') - body);
		memcpy(big, body, at);
		big[at] = '=';
		memcpy(big + at + 1, body + at, strlen(body + at) + 1);
		expect_parse(big, SD_E_INVAL, ACME_P_MALFORMED);
	}
	free(big);
	free(body);

	/* Over ACME_JWS_MAX: refused before it is read. */
	big = malloc(ACME_JWS_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', ACME_JWS_MAX + 1);
	big[ACME_JWS_MAX + 1] = '\0';
	expect_parse(big, SD_E_TOO_LARGE, ACME_P_MALFORMED);
	free(big);
}

static void
expect_jwk(json_t *jwk, int rc, enum acme_problem p)
{
	EVP_PKEY *key = (EVP_PKEY *)1;
	enum acme_problem problem = ACME_P_NONE;
	char tp[ACME_THUMBPRINT_LEN + 1];

	CU_ASSERT_PTR_NOT_NULL_FATAL(jwk);
	CU_ASSERT_EQUAL(acme_jwk_key(jwk, &key, &problem), rc);
	CU_ASSERT_EQUAL(problem, p);
	CU_ASSERT_PTR_NULL(key);
	CU_ASSERT_EQUAL(acme_jwk_thumbprint(jwk, tp), SD_E_INVAL);
	json_decref(jwk);
}

static void
test_jwk_refused(void)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	json_t *j;
	size_t i;
	uint8_t raw[66];
	char *s66, *s32;

	/* RSA 1024. */
	expect_jwk(acme_fx_jwk(k_rsa1024), SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	/* Curves we do not take: secp256k1, P-521 (a correct-length P-521 coordinate). */
	memset(raw, 0x01, sizeof(raw));
	s66 = acme_fx_b64url(raw, 66);
	s32 = acme_fx_b64url(raw, 32);
	expect_jwk(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "secp256k1", "x", s32, "y", s32),
	    SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	expect_jwk(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-521", "x", s66, "y", s66), SD_E_KEY_REFUSED,
	    ACME_P_BAD_PUBLIC_KEY);
	expect_jwk(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed448", "x", s32), SD_E_KEY_REFUSED,
	    ACME_P_BAD_PUBLIC_KEY);
	expect_jwk(json_pack("{s:s, s:s}", "kty", "oct", "kk", s32), SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	/* P-256 point not on the curve; coordinates of the wrong length. */
	expect_jwk(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", s32, "y", s32), SD_E_KEY_REFUSED,
	    ACME_P_BAD_PUBLIC_KEY);
	expect_jwk(json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", s66, "y", s66), SD_E_KEY_REFUSED,
	    ACME_P_BAD_PUBLIC_KEY);
	/* Malformed: no kty, no x, x not base64url. */
	expect_jwk(json_pack("{s:s, s:s}", "crv", "P-256", "x", s32), SD_E_INVAL, ACME_P_MALFORMED);
	expect_jwk(json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "y", s32), SD_E_INVAL, ACME_P_MALFORMED);
	expect_jwk(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", "AA=="), SD_E_INVAL,
	    ACME_P_MALFORMED);
	/* RSA exponent 1 and an even one. */
	j = acme_fx_jwk(k_rsa);
	json_object_set_new(j, "e", json_string("AQ"));
	expect_jwk(j, SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	j = acme_fx_jwk(k_rsa);
	json_object_set_new(j, "e", json_string("AQAC"));
	expect_jwk(j, SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	/* Every private member, on an otherwise good key. */
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
		j = acme_fx_jwk(i % 2 == 0 ? k_p256 : k_rsa);
		json_object_set_new(j, private_members[i], json_string(s32));
		expect_jwk(j, SD_E_KEY_REFUSED, ACME_P_BAD_PUBLIC_KEY);
	}
	free(s66);
	free(s32);
}

static void
test_thumbprint(void)
{
	/* RFC 7638 3.1. */
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
	    "BJECPebWKRXjBZCiFV4n3oknjhMst"
	    "n64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
	    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn"
	    "1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
	    "kEgU8awapJzKnqDKgw",
	    "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
	char tp[ACME_THUMBPRINT_LEN + 1], tp2[ACME_THUMBPRINT_LEN + 1];
	json_t *k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(acme_jwk_thumbprint(j, tp), 0);
	CU_ASSERT_STRING_EQUAL(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_decref(j);
	/* Optional members do not change it; each key type has one. */
	k = acme_fx_jwk(k_p384);
	CU_ASSERT_EQUAL(acme_jwk_thumbprint(k, tp), 0);
	json_object_set_new(k, "use", json_string("sig"));
	CU_ASSERT_EQUAL(acme_jwk_thumbprint(k, tp2), 0);
	CU_ASSERT_STRING_EQUAL(tp, tp2);
	CU_ASSERT_EQUAL(strlen(tp), ACME_THUMBPRINT_LEN);
	json_decref(k);
	k = acme_fx_jwk(k_ed25519);
	CU_ASSERT_EQUAL(acme_jwk_thumbprint(k, tp2), 0);
	CU_ASSERT_STRING_NOT_EQUAL(tp, tp2);
	json_decref(k);
}

/* The last byte is not zero: HMAC pads short keys with zeros, so a key one zero byte shorter would be the same key. */
static const uint8_t eab_key[32] = { 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed,
	0xfe, 0x0f, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x5a };

/* An EAB object (new reference): HMAC alg over header (stolen) and payload jwk (stolen) with key. */
static json_t *
eab_with(const char *alg, json_t *header, json_t *payload_jwk, const uint8_t *key, size_t key_len)
{
	char *h = json_dumps(header, JSON_COMPACT), *p = json_dumps(payload_jwk, JSON_COMPACT), *ph, *pp, *ps, *input;
	uint8_t mac[64];
	size_t mac_len = 0;
	const char *md = strcmp(alg, "HS384") == 0 ? "SHA384" : strcmp(alg, "HS512") == 0 ? "SHA512" : "SHA256";
	json_t *out;

	if (h == NULL || p == NULL)
		abort();
	ph = acme_fx_b64url(h, strlen(h));
	pp = acme_fx_b64url(p, strlen(p));
	input = acme_fx_join(ph, pp);
	if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, key_len, (const uint8_t *)input, strlen(input), mac,
	        sizeof(mac), &mac_len) == NULL)
		abort();
	ps = acme_fx_b64url(mac, mac_len);
	out = json_pack("{s:s, s:s, s:s}", "protected", ph, "payload", pp, "signature", ps);
	if (out == NULL)
		abort();
	json_decref(header);
	json_decref(payload_jwk);
	free(h);
	free(p);
	free(ph);
	free(pp);
	free(ps);
	free(input);
	return out;
}

static json_t *
eab_header(const char *alg, const char *url)
{
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", "eab-1", "url", url);

	if (h == NULL)
		abort();
	return h;
}

static void
test_eab(void)
{
	static const char *const algs[] = { "HS256", "HS384", "HS512" };
	json_t *outer = acme_fx_jwk(k_p256), *eab;
	struct acme_eab *e = NULL;
	const char *kid = NULL;
	enum acme_problem p;
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		eab = eab_with(algs[i], eab_header(algs[i], URL), acme_fx_jwk(k_p256), eab_key, sizeof(eab_key));
		CU_ASSERT_EQUAL_FATAL(acme_eab_parse(eab, outer, URL, &e, &kid, &p), 0);
		CU_ASSERT_EQUAL(p, ACME_P_NONE);
		CU_ASSERT_STRING_EQUAL(kid, "eab-1");
		CU_ASSERT_EQUAL(acme_eab_verify(e, eab_key, sizeof(eab_key), &p), 0);
		CU_ASSERT_EQUAL(p, ACME_P_NONE);
		/* The wrong key, a shorter one, none. */
		CU_ASSERT_EQUAL(acme_eab_verify(e, (const uint8_t *)"another key of 32 bytes.........", 32, &p),
		    SD_E_INVAL);
		CU_ASSERT_EQUAL(p, ACME_P_UNAUTHORIZED);
		CU_ASSERT_EQUAL(acme_eab_verify(e, eab_key, sizeof(eab_key) - 1, &p), SD_E_INVAL);
		CU_ASSERT_EQUAL(p, ACME_P_UNAUTHORIZED);
		CU_ASSERT_EQUAL(acme_eab_verify(e, eab_key, 0, &p), SD_E_INVAL);
		CU_ASSERT_EQUAL(p, ACME_P_UNAUTHORIZED);
		acme_eab_free(e);
		json_decref(eab);
	}
	json_decref(outer);
}

static void
expect_eab(json_t *eab, const json_t *outer, int rc, enum acme_problem p)
{
	struct acme_eab *e = (struct acme_eab *)1;
	const char *kid = "x";
	enum acme_problem problem = ACME_P_NONE;

	CU_ASSERT_PTR_NOT_NULL_FATAL(eab);
	CU_ASSERT_EQUAL(acme_eab_parse(eab, outer, URL, &e, &kid, &problem), rc);
	CU_ASSERT_EQUAL(problem, p);
	CU_ASSERT_PTR_NULL(e);
	CU_ASSERT_PTR_NULL(kid);
	json_decref(eab);
}

static void
test_eab_refused(void)
{
	json_t *outer = acme_fx_jwk(k_p256), *h;

	/* The url of another request. */
	expect_eab(eab_with("HS256", eab_header("HS256", "https://ca.example/acme/new-order"), acme_fx_jwk(k_p256), eab_key,
	               sizeof(eab_key)),
	    outer, SD_E_INVAL, ACME_P_MALFORMED);
	/* Binds another key than the account's. */
	expect_eab(eab_with("HS256", eab_header("HS256", URL), acme_fx_jwk(k_p384), eab_key, sizeof(eab_key)), outer,
	    SD_E_INVAL, ACME_P_MALFORMED);
	/* A nonce (RFC 8555 7.3.4: MUST NOT). */
	h = eab_header("HS256", URL);
	json_object_set_new(h, "nonce", json_string("n0nce"));
	expect_eab(eab_with("HS256", h, acme_fx_jwk(k_p256), eab_key, sizeof(eab_key)), outer, SD_E_INVAL, ACME_P_MALFORMED);
	/* No kid. */
	h = eab_header("HS256", URL);
	json_object_del(h, "kid");
	expect_eab(eab_with("HS256", h, acme_fx_jwk(k_p256), eab_key, sizeof(eab_key)), outer, SD_E_INVAL, ACME_P_MALFORMED);
	/* Not an HMAC. */
	expect_eab(eab_with("HS256", eab_header("ES256", URL), acme_fx_jwk(k_p256), eab_key, sizeof(eab_key)), outer,
	    SD_E_INVAL, ACME_P_BAD_SIGNATURE_ALGORITHM);
	expect_eab(eab_with("HS256", eab_header("none", URL), acme_fx_jwk(k_p256), eab_key, sizeof(eab_key)), outer,
	    SD_E_INVAL, ACME_P_BAD_SIGNATURE_ALGORITHM);
	/* Payload not a JWK; an extra member. */
	expect_eab(eab_with("HS256", eab_header("HS256", URL), json_pack("{s:b}", "termsOfServiceAgreed", 1), eab_key,
	               sizeof(eab_key)),
	    outer, SD_E_INVAL, ACME_P_MALFORMED);
	h = eab_with("HS256", eab_header("HS256", URL), acme_fx_jwk(k_p256), eab_key, sizeof(eab_key));
	json_object_set_new(h, "header", json_object());
	expect_eab(h, outer, SD_E_INVAL, ACME_P_MALFORMED);
	expect_eab(json_string("eab"), outer, SD_E_INVAL, ACME_P_MALFORMED);
	json_decref(outer);
}

/* keyChange's inner JWS: no nonce, a jwk and never a kid. */
static void
test_parse_inner(void)
{
	struct acme_jws *jws = NULL;
	enum acme_problem p = ACME_P_NONE;
	char *body;

	body = acme_fx_jws_text(k_p256, "ES256", json_pack("{s:s, s:s, s:o}", "alg", "ES256", "url", URL, "jwk", acme_fx_jwk(k_p256)),
	    "{}", false);
	CU_ASSERT_EQUAL_FATAL(acme_jws_parse_inner(body, strlen(body), &jws, &p), 0);
	CU_ASSERT_PTR_NULL(jws->nonce);
	CU_ASSERT_PTR_NOT_NULL(jws->jwk);
	acme_jws_free(jws);
	/* The outer parser refuses it: it has no nonce. */
	CU_ASSERT_EQUAL(acme_jws_parse(body, strlen(body), &jws, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_BAD_NONCE);
	free(body);
	body = body_jwk(k_p256, "ES256", false);
	CU_ASSERT_EQUAL(acme_jws_parse_inner(body, strlen(body), &jws, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	CU_ASSERT_PTR_NULL(jws);
	free(body);
	body = acme_fx_jws_text(k_p256, "ES256", json_pack("{s:s, s:s, s:s}", "alg", "ES256", "url", URL, "kid", "k"), "{}",
	    false);
	CU_ASSERT_EQUAL(acme_jws_parse_inner(body, strlen(body), &jws, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
	CU_ASSERT_PTR_NULL(jws);
	free(body);
}

static void
test_problem(void)
{
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_MALFORMED), "urn:ietf:params:acme:error:malformed");
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_BAD_NONCE), "urn:ietf:params:acme:error:badNonce");
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_BAD_SIGNATURE_ALGORITHM),
	    "urn:ietf:params:acme:error:badSignatureAlgorithm");
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_EXTERNAL_ACCOUNT_REQUIRED),
	    "urn:ietf:params:acme:error:externalAccountRequired");
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_SERVER_INTERNAL), "urn:ietf:params:acme:error:serverInternal");
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_NOT_FOUND), "about:blank");
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_BAD_NONCE), 400);
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_UNAUTHORIZED), 403);
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_RATE_LIMITED), 429);
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_ORDER_NOT_READY), 403);
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_SERVER_INTERNAL), 500);
	CU_ASSERT_EQUAL(acme_problem_status(ACME_P_NOT_FOUND), 404);
	CU_ASSERT_EQUAL(acme_problem_status((enum acme_problem)999), 500);
}

int
main(void)
{
	static const struct sd_test_case b64[] = {
		{ "encode, decode, refused spellings, cap", test_b64url },
	};
	static const struct sd_test_case jws[] = {
		{ "ES256, ES384, RS256, EdDSA verify", test_verify_good },
		{ "kid request fields, POST-as-GET", test_parse_fields },
		{ "refused: bad signature, alg and key mismatch", test_verify_refused },
		{ "refused: alg, nonce, url, jwk/kid, crit, body shape, padding, size", test_parse_refused },
		{ "keyChange inner JWS: no nonce, jwk only", test_parse_inner },
	};
	static const struct sd_test_case jwk[] = {
		{ "refused: size, curve, point, private members", test_jwk_refused },
		{ "RFC 7638 thumbprint", test_thumbprint },
	};
	static const struct sd_test_case eab[] = {
		{ "HS256, HS384, HS512 verify; wrong key unauthorized", test_eab },
		{ "refused: url, key, nonce, kid, alg, shape", test_eab_refused },
	};
	static const struct sd_test_case problem[] = {
		{ "types and statuses", test_problem },
	};
	int rc;

	if ((k_p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (k_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")) == NULL ||
	    (k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    (k_rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)) == NULL ||
	    (k_ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL)
		abort();
	SD_TEST_SUITE("acme_b64url", b64);
	SD_TEST_SUITE("acme_jws_parse and acme_jws_verify", jws);
	SD_TEST_SUITE("acme_jwk_key and acme_jwk_thumbprint", jwk);
	SD_TEST_SUITE("acme_eab_parse and acme_eab_verify", eab);
	SD_TEST_SUITE("acme_problem", problem);
	rc = sd_test_run("test_acme_jws");
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_p384);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa1024);
	EVP_PKEY_free(k_ed25519);
	return rc;
}
