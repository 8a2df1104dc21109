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

#include "config.h"
#include "sd_error.h"

#define API_AUTH_CHAIN_MAX 8		/* certificates accepted from a client */
#define API_AUTH_SUBJECT_MAX 1024	/* bytes of an RFC 4514 subject, NUL included */
#define API_AUTH_CN_MAX 256		/* bytes of a CN (UTF-8), NUL included */
#define API_AUTH_SAN_MAX 16		/* URI and DNS subjectAltNames of a client certificate */
#define API_AUTH_SAN_SCAN_MAX 64	/* subjectAltNames of any type looked at */
#define API_AUTH_CACHE_SECONDS 60	/* a connection's chain is verified again after this */

/* Trust anchors for client certificates; read-only once loaded, shared by all threads. */
struct api_auth;

/* A verified client. */
struct api_identity {
	char subject[API_AUTH_SUBJECT_MAX];	/* RFC 4514 string */
	char cn[API_AUTH_CN_MAX];		/* the one CN of the subject, or "" when it has none */
	uint8_t spki_sha256[32];		/* SHA-256 of the leaf's DER SubjectPublicKeyInfo */
	/* The leaf's URI and DNS names, "URI:..." and "DNS:..." as [client] san writes them. */
	char sans[API_AUTH_SAN_MAX][CONFIG_CLIENT_SAN_MAX + 1];
	size_t n_sans;
	char serial_hex[41];			/* the leaf's serial, lower-case hex (at most 20 bytes) */
};

/* What api_auth_new() builds a trust list from; every pointer is only read during the call. */
struct api_auth_material {
	const uint8_t *ca_pem;		/* PEM client CA bundle, at least one certificate */
	size_t ca_len;
	const char *ca_name;		/* the file it came from, for messages */
	const uint8_t *crl;		/* PEM or DER CRL issued by a certificate of the bundle, or NULL */
	size_t crl_len;
	const char *crl_name;
	bool require_client_auth_eku;	/* refuse a leaf without an extendedKeyUsage holding clientAuth */
	/*
	 * Any key purpose: the holders of certificates signerd issued (EST
	 * re-enrollment), whose certificates need not be for TLS clients; what
	 * such an identity may do, the signer decides.
	 */
	bool any_purpose;
};

/*
 * Build the trust list from m. Called again (e.g. at a reload) it builds an
 * independent new one. A CRL must verify against the bundle; one past its
 * nextUpdate is still used (its revocations stay true), with a warning on
 * stderr. On success *out (free with api_auth_free()) is set.
 * Errors: SD_E_CONFIG (no CA certificate, unparsable CA or CRL, CRL not
 * issued by the CA or with a bad signature; the detail names the file),
 * SD_E_NOMEM.
 */
SD_WUR int api_auth_new(const struct api_auth_material *m, struct api_auth **out);
void api_auth_free(struct api_auth *auth);

/*
 * Verify the certificate chain the peer of session presented and fill *id.
 * Thread-safe: auth is only read.
 * Errors (detail through sd_error_detail()): SD_E_INVAL when there is no
 * certificate, the chain does not verify (untrusted, expired, not for TLS
 * client use, revoked by the CRL, no clientAuth extendedKeyUsage when it
 * is required, ...), the subject has several CNs or an unusable one, or the
 * leaf has more than API_AUTH_SAN_MAX URI and DNS names; SD_E_NOMEM;
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
	uint64_t generation;			/* of the trust list it verified against (a reload makes a new one) */
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
