/*
 * ACME challenge validation (RFC 8555 8.3 http-01, 8.4 dns-01, RFC 8737
 * tls-alpn-01), done by the front, which holds the network: it connects to
 * the identifier's address, or asks the configured DNS server, and checks
 * the key authorization the signer named.
 * The targets come from the identifier; a configuration may pin the ports
 * and a static host -> address map (for tests and closed networks, as
 * Pebble does), never skip validation.
 */
#ifndef ACME_VALIDATE_H
#define ACME_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define ACME_VALIDATE_HOSTS_MAX 64
#define ACME_VALIDATE_DETAIL_MAX 512
#define ACME_VALIDATE_NAME_MAX 253		/* a DNS identifier */
#define ACME_VALIDATE_KEYAUTH_MAX 128		/* token "." thumbprint */

struct acme_validate_host {
	const char *name;			/* lower-case DNS name */
	const char *address;			/* IPv4 or IPv6 literal */
};

struct acme_validate_options {
	uint16_t http_port;			/* http-01 connects here (80 unless pinned) */
	uint16_t tls_port;			/* tls-alpn-01 connects here (443 unless pinned) */
	const struct acme_validate_host *hosts;	/* consulted first; a name not in it is resolved (getaddrinfo) */
	size_t n_hosts;
	unsigned timeout_ms;			/* the whole validation: connect, send, read, TLS handshake
						 * (name resolution has the resolver's own timeouts) */
	const char *resolver;			/* dns-01 asks this IPv4 or IPv6 literal only; NULL: no dns-01 */
	uint16_t resolver_port;
};

/*
 * What a failed validation tells the client: an ACME problem type suffix and
 * a detail (untrusted bytes escaped; a detail too long for the buffer is cut).
 * Set on every error; "serverInternal" only with SD_E_NOMEM or SD_E_CRYPTO.
 */
struct acme_validate_error {
	const char *type;			/* static: "connection", "incorrectResponse", "tls", "dns", "malformed",
						 * "serverInternal" */
	char detail[ACME_VALIDATE_DETAIL_MAX];
};

/*
 * http-01: GET http://NAME:http_port/.well-known/acme-challenge/TOKEN with
 * Host NAME, no redirects followed, at most 8 KiB of answer; status 200 and
 * a body that is key_authorization (trailing whitespace allowed, RFC 8555
 * 8.3). name is a DNS identifier ([a-z0-9.-], at most 253), token base64url
 * (at most 64 characters), key_authorization at most ACME_VALIDATE_KEYAUTH_MAX.
 * The body may come with Content-Length, chunked, or run to the close.
 * Thread-safe. Errors: SD_E_INVAL (*err says why the challenge failed),
 * SD_E_NOMEM.
 */
SD_WUR int acme_validate_http01(const char *name, const char *token, const char *key_authorization,
    const struct acme_validate_options *o, struct acme_validate_error *err);

/*
 * tls-alpn-01: TLS 1.2+ to NAME:tls_port with SNI NAME and ALPN
 * "acme-tls/1" only; the server must select it and present a certificate
 * with exactly one subjectAltName, the dNSName NAME, and a critical
 * id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31) extension holding the
 * SHA-256 of key_authorization as an OCTET STRING. The certificate is not
 * otherwise trusted (RFC 8737 3). Thread-safe. Errors: SD_E_INVAL (*err
 * says why), SD_E_NOMEM, SD_E_CRYPTO (TLS session setup or hashing failed).
 */
SD_WUR int acme_validate_tls_alpn01(const char *name, const char *key_authorization,
    const struct acme_validate_options *o, struct acme_validate_error *err);

/*
 * dns-01: ask o->resolver (UDP, then TCP when the answer is truncated, all
 * within o->timeout_ms) for the TXT records of "_acme-challenge." NAME,
 * following the CNAMEs its answer holds; one record (its character-strings
 * joined) must be base64url(SHA-256(key_authorization)) without padding.
 * name is a DNS identifier (a wildcard's base name), key_authorization at
 * most ACME_VALIDATE_KEYAUTH_MAX. Thread-safe. Errors: SD_E_INVAL (*err:
 * "dns" for no answer, NXDOMAIN, SERVFAIL or no TXT record at all,
 * "incorrectResponse" for TXT records none of which matches, "malformed"),
 * SD_E_NOMEM, SD_E_CRYPTO (hashing failed).
 */
SD_WUR int acme_validate_dns01(const char *name, const char *key_authorization, const struct acme_validate_options *o,
    struct acme_validate_error *err);

#endif
