/*
 * Client authentication for the API. libmicrohttpd only *requests* a client
 * certificate; this module verifies the peer's chain itself, against the
 * configured client CA, for TLS client use and at the current time, and
 * extracts the identity that authorisation and the journal use.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "sd_error.h"

#define API_AUTH_CHAIN_MAX 8		/* certificates accepted from a client */
#define API_AUTH_SUBJECT_MAX 1024	/* bytes of an RFC 4514 subject, NUL included */
#define API_AUTH_CN_MAX 256		/* bytes of a CN (UTF-8), NUL included */
#define API_AUTH_CACHE_SECONDS 60	/* a connection's chain is verified again after this */

/* Trust anchors for client certificates; read-only once loaded, shared by all threads. */
struct api_auth;

/* A verified client. */
struct api_identity {
	char subject[API_AUTH_SUBJECT_MAX];	/* RFC 4514 string */
	char cn[API_AUTH_CN_MAX];		/* the one CN of the subject */
	uint8_t spki_sha256[32];		/* SHA-256 of the leaf's DER SubjectPublicKeyInfo */
};

/*
 * Build the trust list from a PEM client CA bundle (at least one
 * certificate); name is the file it came from, for messages. pem is only
 * read during the call. On success *out (free with api_auth_free()) is set.
 * Errors: SD_E_CONFIG (no certificate or unparsable; detail names the file), SD_E_NOMEM.
 */
SD_WUR int api_auth_new(const uint8_t *pem, size_t len, const char *name, struct api_auth **out);
void api_auth_free(struct api_auth *auth);

/*
 * Verify the certificate chain the peer of session presented and fill *id.
 * Thread-safe: auth is only read.
 * Errors (detail through sd_error_detail()): SD_E_INVAL when there is no
 * certificate, the chain does not verify (untrusted, expired, not for TLS
 * client use, ...), or the subject has no single usable CN; SD_E_NOMEM;
 * SD_E_CRYPTO when GnuTLS fails for another reason.
 */
SD_WUR int api_auth_verify(const struct api_auth *auth, gnutls_session_t session, struct api_identity *id);

/*
 * One TLS connection's verified client: the exact DER of the certificates
 * the peer presented and the identity they verified to. Used by one thread
 * at a time (the connection's). Zero-initialise; api_auth_cache_clear()
 * frees what it holds. Only successes are remembered.
 */
struct api_auth_cache {
	uint8_t *der;				/* the presented certificates, concatenated */
	size_t der_len;
	size_t lens[API_AUTH_CHAIN_MAX];	/* each certificate's length in der */
	unsigned n;				/* certificates; 0: nothing cached */
	int64_t verified_at;			/* CLOCK_MONOTONIC seconds of the verification */
	int64_t not_after;			/* earliest notAfter of the presented chain, Unix seconds */
	struct api_identity id;
};

/*
 * api_auth_verify() for a request on a connection whose earlier requests
 * may have verified already. The cached identity is reused only when the
 * peer presents byte for byte the same certificates (a TLS 1.2
 * renegotiation may change them), the verification is younger than
 * API_AUTH_CACHE_SECONDS, and no presented certificate has expired since;
 * otherwise the chain is verified again and the cache replaced (success) or
 * cleared (failure). cache NULL: plain api_auth_verify(). Errors: as
 * api_auth_verify(); failing to remember a success (memory) is not an error.
 */
SD_WUR int api_auth_verify_cached(const struct api_auth *auth, gnutls_session_t session,
    struct api_auth_cache *cache, struct api_identity *id);

/*
 * The cache policy, apart from TLS (exposed for tests): true when cache
 * holds exactly the n certificates of peers, was filled at monotonic second
 * verified_at with now_mono - verified_at < API_AUTH_CACHE_SECONDS, and
 * now_wall (Unix seconds) is before its not_after.
 */
bool api_auth_cache_match(const struct api_auth_cache *cache, const gnutls_datum_t *peers, unsigned n,
    int64_t now_mono, int64_t now_wall);

/*
 * Remember that peers (n certificates, 1..API_AUTH_CHAIN_MAX) verified to
 * id at monotonic second now_mono, the earliest of them expiring at
 * not_after. Replaces what cache held; the DER is copied.
 * Errors: SD_E_INVAL (n out of range or sizes overflow; cache cleared), SD_E_NOMEM (cache cleared).
 */
SD_WUR int api_auth_cache_store(struct api_auth_cache *cache, const gnutls_datum_t *peers, unsigned n,
    const struct api_identity *id, int64_t not_after, int64_t now_mono);

/* Forget what cache holds and free its memory; it may be reused. NULL is a no-op. */
void api_auth_cache_clear(struct api_auth_cache *cache);

#endif
