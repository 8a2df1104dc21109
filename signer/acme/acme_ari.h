/*
 * ACME Renewal Information (RFC 9773) and revocation (RFC 8555 7.6): the
 * certID that names a certificate, the suggested renewal window, the
 * issuing CA both are checked against, and who may revoke.
 */
#ifndef ACME_ARI_H
#define ACME_ARI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "journal.h"
#include "sd_error.h"

#define ACME_ARI_AKI_MAX 64 /* bytes of an AKI keyIdentifier we accept */
#define ACME_ARI_SERIAL_MAX (JOURNAL_SERIAL_MAX + 1) /* DER INTEGER content: a leading 0x00 and 20 bytes */
#define ACME_ARI_RETRY_AFTER 21600 /* s: how often clients should ask again (RFC 9773 4.3.3) */
#define ACME_ARI_DEFAULT_START 33 /* percent of the lifetime, when the profile is gone */
#define ACME_ARI_DEFAULT_END 66
#define ACME_ARI_RETIRED_MAX 16 /* issuing certificates [ca] retired_certificates may hold */
#define ACME_ARI_RETIRED_FILE_MAX (1024 * 1024) /* bytes of that file */

struct acme;

/* A parsed certID. */
struct acme_ari_id {
	uint8_t aki[ACME_ARI_AKI_MAX];
	size_t aki_len;
	uint8_t serial[JOURNAL_SERIAL_MAX]; /* the serial as the journal keys it: no leading 0x00 */
	size_t serial_len;
	char serial_hex[2 * JOURNAL_SERIAL_MAX + 1]; /* lower-case, as signerd writes serials */
};

/* A subjectKeyIdentifier: what a certID's keyIdentifier is compared with. */
struct acme_ari_ski {
	uint8_t id[ACME_ARI_AKI_MAX];
	size_t len;
};

/* Which issuing key a certID's keyIdentifier names. */
enum acme_ari_issuer {
	ACME_ARI_FOREIGN = 0, /* neither: another CA's, or none */
	ACME_ARI_CURRENT, /* the issuing CA's ([ca] certificate) */
	ACME_ARI_RETIRED, /* one of [ca] retired_certificates */
};

/*
 * The certID (RFC 9773 4.1) of aki (the AKI keyIdentifier, 1..ACME_ARI_AKI_MAX
 * bytes) and serial (the serial's DER INTEGER content bytes, leading 0x00
 * included, 1..ACME_ARI_SERIAL_MAX bytes): base64url(aki) "." base64url(serial),
 * no padding, into out (cap bytes, NUL included).
 * Errors: SD_E_INVAL (a length out of range), SD_E_TOO_LARGE (cap too small).
 */
SD_WUR int acme_ari_cert_id(const uint8_t *aki, size_t aki_len, const uint8_t *serial, size_t serial_len, char *out,
    size_t cap);

/*
 * Parse cert_id into *out: two non-empty base64url parts without padding,
 * the serial a positive, minimally encoded DER INTEGER content of at most
 * ACME_ARI_SERIAL_MAX bytes. Errors: SD_E_INVAL (malformed; the detail says how).
 */
SD_WUR int acme_ari_id_parse(const char *cert_id, struct acme_ari_id *out);

/*
 * The suggested renewal window of a certificate valid [not_before,
 * not_after]: start_pct and end_pct percent (0..100) into its lifetime; for
 * one to replace at once (at_once: it is revoked, or its issuing key is
 * retired) [now - 2 h, now - 1 h], so that clients replace it now (RFC 9773
 * 4.2). Pure arithmetic, no overflow for any input.
 */
void acme_ari_window(int64_t not_before, int64_t not_after, unsigned start_pct, unsigned end_pct, bool at_once,
    int64_t now, int64_t *start, int64_t *end);

/*
 * The issuing CA's certificate (ops.chain_pem(ctx, 0)), parsed: a new
 * reference (X509_free()). Errors: SD_E_CONFIG (no chain, or it does not
 * parse), SD_E_NOMEM.
 */
SD_WUR int acme_ca_get(struct acme *a, X509 **out);

/*
 * The subjectKeyIdentifiers of the issuing certificates in the PEM file at
 * path ([ca] retired_certificates: certificates of keys this CA signed with
 * before) into skis (ACME_ARI_RETIRED_MAX entries), *n their count (>= 1).
 * Certificates are read, not verified: only their subjectKeyIdentifier is
 * used. None may be that of ca, the current issuing CA certificate (NULL:
 * not checked): its certificates would be told to renew at once, again and
 * again. Errors: SD_E_CONFIG (the file cannot be read or passes
 * ACME_ARI_RETIRED_FILE_MAX bytes; it holds no certificate, a malformed one,
 * more than ACME_ARI_RETIRED_MAX, one without a subjectKeyIdentifier or with
 * one longer than ACME_ARI_AKI_MAX bytes, or one of ca's key; ca has no
 * subjectKeyIdentifier), SD_E_NOMEM. The detail names the file and the
 * certificate, counted from 1.
 */
SD_WUR int acme_ari_retired_load(const char *path, X509 *ca, struct acme_ari_ski *skis, size_t *n);

/* Who authorised a revocation (RFC 8555 7.6). */
enum acme_revoke_by {
	ACME_REVOKE_REFUSED = 0,
	ACME_REVOKE_BY_ACCOUNT, /* the account the certificate was issued to */
	ACME_REVOKE_BY_KEY, /* the certificate's own key signed the request */
	ACME_REVOKE_BY_AUTHORIZATION, /* an account with valid authorizations for all its names */
};

/*
 * Whether a revocation request may revoke a certificate. issued is its
 * ACME_T_CERT object (NULL: not issued through ACME); account_id the "kid"
 * request's account (NULL: a "jwk" request); profile the directory's;
 * key_spki_sha256 the SHA-256 of the JWS key's SubjectPublicKeyInfo and
 * cert_spki_sha256 that of the certificate's. A "kid" request revokes only
 * what its account was issued in this directory; a "jwk" request only a
 * certificate of its own key. The third way, an account holding valid
 * authorizations for every identifier (ACME_REVOKE_BY_AUTHORIZATION),
 * needs the store: acme_op_revoke() tries it when this refuses a "kid" request.
 */
enum acme_revoke_by acme_revoke_authorised(const json_t *issued, const char *profile, const char *account_id,
    const uint8_t key_spki_sha256[32], const uint8_t cert_spki_sha256[32]);

#endif
