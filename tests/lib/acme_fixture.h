/*
 * ACME client pieces for the engine's test programs (never shipped): what a
 * client sends (base64url, JWKs, flattened JWS of every account key type)
 * built with OpenSSL, so that the engine's own codec is not what checks
 * itself. A helper aborts when OpenSSL or memory fails: a request that
 * cannot be built is no test result.
 */
#ifndef ACME_FIXTURE_H
#define ACME_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

/* base64url without padding of len bytes (free()). */
char *acme_fx_b64url(const void *in, size_t len);

/* "a.b" (free()): a JWS signing input. */
char *acme_fx_join(const char *a, const char *b);

/* The public JWK (RFC 7517/8037) of an RSA, P-256, P-384 or Ed25519 key (new reference). */
json_t *acme_fx_jwk(const EVP_PKEY *key);

/*
 * A JWS signature over input with key as alg spells it: ES256 and ES384
 * as r||s, RS256, EdDSA; *sig_len bytes (free()).
 */
uint8_t *acme_fx_sign(EVP_PKEY *key, const char *alg, const char *input, size_t *sig_len);

/*
 * The flattened JWS object (new reference) of header (stolen) and payload
 * ("" for POST-as-GET), signed with key under alg; flip: one signature
 * bit corrupted.
 */
json_t *acme_fx_jws(EVP_PKEY *key, const char *alg, json_t *header, const char *payload, bool flip);

/* The same as compact JSON text (free()): a request body. */
char *acme_fx_jws_text(EVP_PKEY *key, const char *alg, json_t *header, const char *payload, bool flip);

/* struct acme_ops chain callbacks for a one-certificate chain: ctx is its PEM text. */
size_t acme_fx_chain_count(void *ctx);
const char *acme_fx_chain_pem(void *ctx, size_t i);

#endif
