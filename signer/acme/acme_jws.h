/*
 * The JSON Web Signatures that carry every ACME request (RFC 8555 6.2,
 * RFC 7515 flattened JSON serialization), their JWKs (RFC 7517, RFC 7638
 * thumbprints) and External Account Binding (RFC 8555 7.3.4). Verified in
 * the signer process: the front never decides who an account is.
 *
 * Every fallible call returns 0 or an sd_error code with a detail, and sets
 * *problem to the ACME problem the client is told (ACME_P_NONE on success).
 */
#ifndef ACME_JWS_H
#define ACME_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "acme_problem.h"
#include "sd_error.h"

#define ACME_JWS_MAX (64 * 1024)		/* bytes of one request body */
#define ACME_THUMBPRINT_LEN 43			/* base64url of a SHA-256, no padding */
#define ACME_EAB_KEY_MAX 64			/* bytes of an EAB HMAC key */

enum acme_jws_alg {
	ACME_JWS_ES256 = 1,			/* ECDSA P-256 SHA-256, signature r||s (64 bytes) */
	ACME_JWS_ES384 = 2,			/* ECDSA P-384 SHA-384, r||s (96 bytes) */
	ACME_JWS_RS256 = 3,			/* RSASSA-PKCS1-v1_5 SHA-256, RSA 2048..8192 bits */
	ACME_JWS_EDDSA = 4,			/* Ed25519 */
};

/* A parsed (not yet verified) JWS; owned, acme_jws_free(). */
struct acme_jws {
	json_t *header;				/* the decoded protected header (object) */
	enum acme_jws_alg alg;
	const char *nonce;			/* borrowed from header; never NULL after acme_jws_parse() */
	const char *url;			/* borrowed from header; never NULL after parse */
	const char *kid;			/* borrowed; exactly one of kid and jwk is set */
	const json_t *jwk;			/* borrowed from header */
	uint8_t *payload;			/* decoded payload, NUL-terminated (not counted) */
	size_t payload_len;			/* 0: POST-as-GET (payload "") */
	char *signing_input;			/* "protected.payload" as received */
	size_t signing_input_len;
	uint8_t *signature;
	size_t signature_len;
};

/*
 * Parse body (len <= ACME_JWS_MAX bytes: a flattened JWS object with exactly
 * "protected", "payload" and "signature", base64url without padding) and its
 * protected header: alg one of enum acme_jws_alg ("none", HS*, others:
 * badSignatureAlgorithm), "nonce" (else badNonce), "url", exactly one of
 * "jwk" and "kid" (else malformed); unknown "crit" refused. payload, when
 * not empty, must be a JSON text (checked by the caller's json_loadb).
 * Errors: SD_E_INVAL (malformed, badSignatureAlgorithm, badNonce), SD_E_TOO_LARGE, SD_E_NOMEM.
 */
SD_WUR int acme_jws_parse(const char *body, size_t len, struct acme_jws **out, enum acme_problem *problem);
/*
 * The inner JWS of a keyChange (RFC 8555 7.3.5), as acme_jws_parse() but:
 * a "nonce" is refused (malformed) and jws->nonce is NULL; "jwk" is
 * required, a "kid" refused (malformed). The same errors.
 */
SD_WUR int acme_jws_parse_inner(const char *body, size_t len, struct acme_jws **out, enum acme_problem *problem);
void acme_jws_free(struct acme_jws *jws);

/*
 * The public key of jwk: EC P-256 or P-384 ("kty":"EC"), RSA 2048..8192 bits
 * with an odd exponent >= 3 ("RSA"), Ed25519 ("OKP", "crv":"Ed25519").
 * Private members ("d", "p", ...) or any other key: badPublicKey.
 * Errors: SD_E_KEY_REFUSED (badPublicKey), SD_E_INVAL (malformed), SD_E_NOMEM,
 * SD_E_CRYPTO (OpenSSL could not set up the key type: serverInternal).
 */
SD_WUR int acme_jwk_key(const json_t *jwk, EVP_PKEY **out, enum acme_problem *problem);

/*
 * RFC 7638 thumbprint of jwk (its required members only, in lexicographic
 * order, no whitespace): base64url(SHA-256), ACME_THUMBPRINT_LEN characters
 * and a NUL. Errors: SD_E_INVAL (not a key acme_jwk_key() accepts), SD_E_NOMEM,
 * SD_E_CRYPTO (SHA-256 failed).
 */
SD_WUR int acme_jwk_thumbprint(const json_t *jwk, char out[ACME_THUMBPRINT_LEN + 1]);

/*
 * Verify jws's signature with key. The algorithm must fit the key (ES256 and
 * P-256, ES384 and P-384, RS256 and RSA, EdDSA and Ed25519), else
 * badSignatureAlgorithm; a signature that does not verify is malformed
 * ("JWS signature invalid"). Errors: SD_E_INVAL, SD_E_CRYPTO and SD_E_NOMEM
 * (serverInternal).
 */
SD_WUR int acme_jws_verify(const struct acme_jws *jws, EVP_PKEY *key, enum acme_problem *problem);

/*
 * External Account Binding: eab is the newAccount payload's
 * "externalAccountBinding" (a flattened JWS), outer_jwk the outer JWS's
 * jwk and url its url. Parse it: alg HS256, HS384 or HS512
 * (else badSignatureAlgorithm), "kid" and "url" (== url) in its protected
 * header, no nonce, its payload the same key as outer_jwk (same thumbprint).
 * *kid borrows from *out. Then acme_eab_verify() with the key kid names.
 * Errors: SD_E_INVAL (malformed, badSignatureAlgorithm), SD_E_NOMEM.
 */
struct acme_eab;
SD_WUR int acme_eab_parse(const json_t *eab, const json_t *outer_jwk, const char *url, struct acme_eab **out,
    const char **kid, enum acme_problem *problem);
/*
 * The HMAC over the EAB's signing input with key (1..ACME_EAB_KEY_MAX bytes),
 * compared in constant time. Errors: SD_E_INVAL (unauthorized), SD_E_CRYPTO
 * (serverInternal).
 */
SD_WUR int acme_eab_verify(const struct acme_eab *eab, const uint8_t *key, size_t key_len, enum acme_problem *problem);
void acme_eab_free(struct acme_eab *eab);

/*
 * base64url without padding (RFC 7515 2). Encode: out holds
 * 4 * ceil(len / 3) + 1 bytes at least; returns the length written (NUL not
 * counted). Decode: padding, '+', '/', whitespace refused; *out is a new
 * buffer with a NUL after *out_len bytes.
 * Errors: SD_E_INVAL, SD_E_TOO_LARGE (more than max bytes), SD_E_NOMEM.
 */
size_t acme_b64url_encode(const uint8_t *in, size_t len, char *out);
/* The value (0..63) of one base64url character, or -1. */
int acme_b64url_value(char c);
SD_WUR int acme_b64url_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *out_len);

#endif
