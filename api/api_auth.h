/*
 * Client authentication for the API. libmicrohttpd only *requests* a client
 * certificate; this module verifies the peer's chain itself, against the
 * configured client CA, for TLS client use and at the current time, and
 * extracts the identity that authorisation and the journal use.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "sd_error.h"

#define API_AUTH_CHAIN_MAX 8		/* certificates accepted from a client */
#define API_AUTH_SUBJECT_MAX 1024	/* bytes of an RFC 4514 subject, NUL included */
#define API_AUTH_CN_MAX 256		/* bytes of a CN (UTF-8), NUL included */

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

#endif
