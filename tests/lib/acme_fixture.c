#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>

#include "acme/acme_jws.h"
#include "acme_fixture.h"

char *
acme_fx_b64url(const void *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out == NULL)
		abort();
	(void)acme_b64url_encode(in, len, out);
	return out;
}

char *
acme_fx_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (s == NULL)
		abort();
	memcpy(s, a, la);
	s[la] = '.';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/* The big-endian bytes of key's parameter name in base64url: width bytes, or as few as it takes (0). */
static char *
acme_fx_b64url_bn(const EVP_PKEY *key, const char *name, int width)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	char *s;
	int n;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1 || BN_num_bytes(bn) > (int)sizeof(buf) ||
	    width > (int)sizeof(buf))
		abort();
	n = width != 0 ? BN_bn2binpad(bn, buf, width) : BN_bn2bin(bn, buf);
	if (n <= 0)
		abort();
	s = acme_fx_b64url(buf, (size_t)n);
	BN_free(bn);
	return s;
}

json_t *
acme_fx_jwk(const EVP_PKEY *key)
{
	char group[32], *a = NULL, *b = NULL;
	uint8_t raw[32];
	size_t raw_len = sizeof(raw);
	json_t *j;
	int w;

	if (EVP_PKEY_is_a(key, "RSA")) {
		a = acme_fx_b64url_bn(key, OSSL_PKEY_PARAM_RSA_N, 0);
		b = acme_fx_b64url_bn(key, OSSL_PKEY_PARAM_RSA_E, 0);
		j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", a, "e", b);
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		if (EVP_PKEY_get_raw_public_key(key, raw, &raw_len) != 1)
			abort();
		a = acme_fx_b64url(raw, raw_len);
		j = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", a);
	} else {
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
			abort();
		w = strcmp(group, "prime256v1") == 0 ? 32 : 48;
		a = acme_fx_b64url_bn(key, OSSL_PKEY_PARAM_EC_PUB_X, w);
		b = acme_fx_b64url_bn(key, OSSL_PKEY_PARAM_EC_PUB_Y, w);
		j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", w == 32 ? "P-256" : "P-384", "x", a, "y", b);
	}
	if (j == NULL)
		abort();
	free(a);
	free(b);
	return j;
}

uint8_t *
acme_fx_sign(EVP_PKEY *key, const char *alg, const char *input, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = NULL;
	uint8_t *sig, *rs;
	size_t len = 0, half = 0;

	if (strcmp(alg, "ES256") == 0 || strcmp(alg, "RS256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "ES384") == 0)
		md = EVP_sha384();
	if (strcmp(alg, "ES256") == 0)
		half = 32;
	else if (strcmp(alg, "ES384") == 0)
		half = 48;
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const uint8_t *)input, strlen(input)) != 1 ||
	    (sig = malloc(len)) == NULL || EVP_DigestSign(ctx, sig, &len, (const uint8_t *)input, strlen(input)) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (half != 0) {
		/* OpenSSL signs ECDSA as DER; JWS wants the two integers side by side (RFC 7518 3.4). */
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);

		if (es == NULL || (rs = malloc(2 * half)) == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)half) != (int)half ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + half, (int)half) != (int)half)
			abort();
		ECDSA_SIG_free(es);
		free(sig);
		sig = rs;
		len = 2 * half;
	}
	*sig_len = len;
	return sig;
}

json_t *
acme_fx_jws(EVP_PKEY *key, const char *alg, json_t *header, const char *payload, bool flip)
{
	char *h = json_dumps(header, JSON_COMPACT), *ph, *pp, *ps, *input;
	size_t sig_len;
	uint8_t *sig;
	json_t *out;

	if (h == NULL)
		abort();
	ph = acme_fx_b64url(h, strlen(h));
	pp = acme_fx_b64url(payload, strlen(payload));
	input = acme_fx_join(ph, pp);
	sig = acme_fx_sign(key, alg, input, &sig_len);
	if (flip)
		sig[sig_len / 2] ^= 0x01;
	ps = acme_fx_b64url(sig, sig_len);
	if ((out = json_pack("{s:s, s:s, s:s}", "protected", ph, "payload", pp, "signature", ps)) == NULL)
		abort();
	json_decref(header);
	free(h);
	free(ph);
	free(pp);
	free(ps);
	free(input);
	free(sig);
	return out;
}

char *
acme_fx_jws_text(EVP_PKEY *key, const char *alg, json_t *header, const char *payload, bool flip)
{
	json_t *o = acme_fx_jws(key, alg, header, payload, flip);
	char *s = json_dumps(o, JSON_COMPACT);

	if (s == NULL)
		abort();
	json_decref(o);
	return s;
}

size_t
acme_fx_chain_count(void *ctx)
{
	(void)ctx;
	return 1;
}

const char *
acme_fx_chain_pem(void *ctx, size_t i)
{
	return i == 0 ? (const char *)ctx : NULL;
}
