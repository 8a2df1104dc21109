/*
 * signerd configuration: one INI file read by both signerd and signerctl.
 *
 * The parsed configuration is plain, read-only data shared by the signer and
 * the API after sd_config_load() returns; it is not opaque because every
 * module reads different parts of it and none changes it. Relative paths in
 * the file are resolved against the file's directory.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define CONFIG_LIST_MAX 64	/* entries in any comma-separated list */

/* Key usage bits (names as in RFC 5280). */
enum config_key_usage {
	CONFIG_KU_DIGITAL_SIGNATURE = 1 << 0,
	CONFIG_KU_KEY_ENCIPHERMENT = 1 << 1,
	CONFIG_KU_KEY_AGREEMENT = 1 << 2,
	CONFIG_KU_KEY_CERT_SIGN = 1 << 3,
	CONFIG_KU_CRL_SIGN = 1 << 4,
};

/* Extended key usage bits. */
enum config_ext_key_usage {
	CONFIG_EKU_SERVER_AUTH = 1 << 0,
	CONFIG_EKU_CLIENT_AUTH = 1 << 1,
	CONFIG_EKU_CODE_SIGNING = 1 << 2,
	CONFIG_EKU_EMAIL_PROTECTION = 1 << 3,
};

/* Subject key types a profile accepts (key_types). */
enum config_key_type {
	CONFIG_KEY_RSA = 1 << 0,
	CONFIG_KEY_P256 = 1 << 1,
	CONFIG_KEY_P384 = 1 << 2,
	CONFIG_KEY_P521 = 1 << 3,
	CONFIG_KEY_ED25519 = 1 << 4,
};
#define CONFIG_KEY_ALL (CONFIG_KEY_RSA | CONFIG_KEY_P256 | CONFIG_KEY_P384 | CONFIG_KEY_P521 | CONFIG_KEY_ED25519)

/* Subject attributes a profile lets pass from the CSR (subject_attributes). */
enum config_subject_attr {
	CONFIG_SUBJ_CN = 1 << 0,
	CONFIG_SUBJ_O = 1 << 1,
	CONFIG_SUBJ_OU = 1 << 2,
	CONFIG_SUBJ_C = 1 << 3,
	CONFIG_SUBJ_ST = 1 << 4,
	CONFIG_SUBJ_L = 1 << 5,
	CONFIG_SUBJ_SERIAL = 1 << 6,	/* serialNumber */
};

/* Client roles. */
enum config_role {
	CONFIG_ROLE_ISSUER = 1 << 0,	/* may request certificates (for its profiles) */
	CONFIG_ROLE_AUDITOR = 1 << 1,	/* may read the journal */
	CONFIG_ROLE_ADMIN = 1 << 2,	/* may be granted CA profiles (ca = true) */
	CONFIG_ROLE_REVOKER = 1 << 3,	/* may revoke certificates (no route yet); implies no other role */
};

struct config_ip_range {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network address, big-endian */
	unsigned prefix;	/* prefix length in bits */
};

#define CONFIG_URL_MAX 1024		/* crl_url, ocsp_url, ca_issuers_url, uri_prefixes entries */
#define CONFIG_PUSH_MAX 8		/* [journal] checkpoint_url lines (receivers) */

/*
 * One [profile NAME] section. Defaults (the profile table): key_types all,
 * rsa_min_bits 2048, key_usage digitalSignature (leaf) or keyCertSign,
 * cRLSign (CA), subject_attributes CN, cn_must_be_san true (leaf) or false
 * (CA), wildcards false, path_len -1 (none).
 */
struct config_profile {
	char *name;
	uint64_t default_ttl;		/* seconds */
	uint64_t max_ttl;		/* seconds */
	uint64_t backdate;		/* seconds notBefore is moved back */
	unsigned key_usage;		/* enum config_key_usage bits */
	unsigned ext_key_usage;		/* enum config_ext_key_usage bits */
	unsigned key_types;		/* enum config_key_type bits */
	unsigned rsa_min_bits;		/* smallest RSA subject key accepted */
	unsigned subject_attributes;	/* enum config_subject_attr bits */
	bool cn_must_be_san;		/* a CN that is not one of the SANs is dropped */
	bool wildcards;			/* "*.example.com" DNS names allowed (full left-most label only) */
	bool ca;			/* basicConstraints cA = TRUE */
	int path_len;			/* CA only: pathLenConstraint, -1 for none */
	char *dns_suffixes[CONFIG_LIST_MAX];	/* "example.com" allows example.com and names under it */
	size_t n_dns_suffixes;
	struct config_ip_range ip_ranges[CONFIG_LIST_MAX];
	size_t n_ip_ranges;
	char *uri_prefixes[CONFIG_LIST_MAX];	/* "scheme://host/..." ending in '/': URIs starting with it */
	size_t n_uri_prefixes;
	char *spiffe_trust_domain;	/* SPIFFE IDs spiffe://<this>/path allowed; NULL: none */
	char *email_domains[CONFIG_LIST_MAX];	/* rfc822Name domains, exact (case-insensitive) match */
	size_t n_email_domains;
	/* CA only: nameConstraints (critical). */
	char *permitted_dns[CONFIG_LIST_MAX];
	size_t n_permitted_dns;
	char *excluded_dns[CONFIG_LIST_MAX];
	size_t n_excluded_dns;
	struct config_ip_range permitted_ip[CONFIG_LIST_MAX];
	size_t n_permitted_ip;
	struct config_ip_range excluded_ip[CONFIG_LIST_MAX];
	size_t n_excluded_ip;
	/* Optional URLs (http:// or https://): CRL distribution point, AIA OCSP and caIssuers. */
	char *crl_url;
	char *ocsp_url;
	char *ca_issuers_url;
	/* ACME (RFC 8555): a directory at /acme/NAME/directory issues from this profile (a leaf one). */
	bool acme;			/* serve the directory (default false) */
	bool acme_eab;			/* newAccount needs External Account Binding, RFC 8555 7.3.4 (default true) */
	/* ACME Renewal Information (RFC 9773): percent of the lifetime, START < END (default 33-66). */
	unsigned renewal_window_start;
	unsigned renewal_window_end;
	uint64_t keys_seen;		/* parser bookkeeping: bit i set once key i of the profile table is given */
};

#define CONFIG_CLIENT_SAN_MAX 255	/* bytes of one san selector, "URI:" or "DNS:" included */

/*
 * One [client NAME] section. A certificate (verified against [api]
 * client_ca) is this client when every selector the client has matches it:
 * subject_cn (its one CN), spki_sha256 (one of the pins is the SHA-256 of
 * its SubjectPublicKeyInfo) and san (it carries each listed name). With
 * neither spki_sha256 nor san nor subject_cn, subject_cn is the section name.
 */
struct config_client {
	char *name;			/* section name */
	char *subject_cn;		/* CN of the client certificate, or NULL: the CN is not consulted */
	char *spki_sha256[CONFIG_LIST_MAX];	/* pins: 64 lower-case hex digits each */
	size_t n_spki_sha256;
	char *sans[CONFIG_LIST_MAX];	/* "URI:..." (exact) or "DNS:name" (lower case) */
	size_t n_sans;
	unsigned roles;			/* enum config_role bits */
	char *profiles[CONFIG_LIST_MAX];	/* profiles an issuer may use */
	size_t n_profiles;
	uint64_t quota_per_minute;	/* issuance requests refilled per minute; 0: no limit */
	uint64_t quota_burst;		/* the bucket's size (quota_per_minute set) */
	uint64_t quota_per_day;		/* issuance requests per UTC day; 0: no limit */
	uint64_t keys_seen;		/* parser bookkeeping: bit i set once key i of the client table is given */
};

/* One [acme] hosts entry: validation connects to address instead of resolving name. */
struct config_acme_host {
	char *name;			/* lower-case DNS name */
	char *address;			/* IPv4 or IPv6 literal */
};

struct sd_config {
	char *path;			/* the file read */
	char *dir;			/* its directory */

	/* [hsm] */
	char *hsm_module;
	char *hsm_token_uri;
	char *hsm_pin_file;
	char *hsm_environment[8];	/* "NAME=value" set before loading the module */
	size_t n_hsm_environment;
	unsigned hsm_sessions;
	bool hsm_session_keys;		/* sign with per-session copies of the key (hsm_session_keys_set()) */
	unsigned hsm_concurrency;	/* issuances at once (the HSM's parallelism); 0: no limit (default) */
	unsigned hsm_queue;		/* issuances that may wait beyond those (default 256) */
	unsigned hsm_queue_wait_ms;	/* how long each may wait (default 2000) */

	/* [ca] */
	char *ca_key_uri;		/* issuing key */
	char *ca_certificate;		/* issuing CA certificate (PEM) */
	char *ca_chain;			/* issuing certificate then its issuers up to the root (PEM) */
	char *ca_key_blocklist;		/* optional: hex SHA-256 of refused SubjectPublicKeyInfo DER, one per line */
	char *ca_retired_certificates;	/* optional: issuing certificates (PEM) of retired keys, for ACME ARI */
	bool ca_signature_pss;		/* signature = pss: RSASSA-PSS (RSA keys only); default pkcs1 */
	/* Revocation (README "Revocation"): CRLs and OCSP answers, signed in the HSM. */
	char *ca_name;			/* the CA in URLs: /v1/ca/NAME/crl (default "issuing") */
	uint64_t ca_crl_validity;	/* s: nextUpdate - thisUpdate of each CRL (default 1d) */
	uint64_t ca_crl_delay;		/* s: a new CRL this long after a revocation, gathering others (default 2s) */
	uint64_t ca_delta_crl_validity;	/* s: nextUpdate - thisUpdate of delta CRLs; 0: no delta CRLs (default) */
	char *ca_delta_crl_url;		/* freshestCRL of complete CRLs: where the deltas are, or NULL */
	char *ca_ocsp_key;		/* PKCS#11 URI of the delegated OCSP signing key, or NULL: no OCSP */
	char *ca_ocsp_certificate;	/* its certificate (PEM; id-kp-OCSPSigning, ocsp-nocheck), with ocsp_key */
	uint64_t ca_ocsp_validity;	/* s: nextUpdate - thisUpdate of each OCSP answer (default 4h) */
	unsigned ca_ocsp_signatures_per_second;	/* fresh OCSP signatures (nonces, cache misses); past it: tryLater */
	uint64_t ca_short_lived;	/* s: a certificate valid this long or less is short-lived (0: none is) */
	bool ca_ocsp_short_lived;	/* OCSP answers for short-lived certificates (default false: "unknown") */

	/* [journal] */
	char *journal_path;		/* LMDB environment directory */
	uint64_t journal_map_size;	/* bytes */
	uint64_t journal_map_max;	/* bytes the map may grow to (default: map_size) */
	char *journal_audit_key;	/* PKCS#11 URI of the Ed25519 checkpoint key, or NULL */
	char *journal_origin;		/* checkpoint origin line (default "signerd/journal") */
	bool journal_result_durable;	/* result = durable-before-release (default next-commit: false) */
	uint64_t journal_checkpoint_every;	/* records between checkpoints (default 1000) */
	uint64_t journal_checkpoint_interval;	/* seconds between checkpoints (default 300) */
	char *journal_checkpoint_file;	/* each checkpoint is appended here, or NULL */
	/* Checkpoints pushed to receivers (README "Checkpoints"): signerd-push POSTs each spooled note. */
	char *journal_checkpoint_url[CONFIG_PUSH_MAX];	/* http:// or https://, no user:password@ */
	size_t n_journal_checkpoint_url;
	char *journal_checkpoint_ca;	/* CA file for https receivers, or NULL: the system's CAs */
	char *journal_checkpoint_spool;	/* per-receiver spool directories (default: [journal] path/checkpoint-spool) */
	uint64_t journal_checkpoint_spool_max;	/* notes kept per receiver; the oldest dropped past it (default 10000) */
	uint64_t journal_checkpoint_retry_max;	/* s: retry back-off doubles from 1 s up to this (default 300) */
	uint64_t journal_refusals_per_minute;	/* refusals journaled one by one (default 60) */
	char *journal_witness[CONFIG_LIST_MAX];	/* "VKEY URL": C2SP witnesses of the checkpoints */
	size_t n_journal_witness;

	/* [process] */
	char *process_user;		/* the user signerd becomes when started as root */
	unsigned process_seccomp;	/* enum sd_seccomp (sd_process.h) */

	/* [api] */
	char *api_listen;		/* IPv4 or IPv6 literal */
	uint16_t api_port;		/* 0: ephemeral */
	char *api_public_listen;	/* plain-HTTP listener for CRLs, OCSP, CA certificates; NULL: none */
	uint16_t api_public_port;	/* 0: ephemeral */
	char *api_tls_certificate;
	char *api_tls_key;
	char *api_client_ca;
	char *api_client_crl;		/* PEM or DER CRL of the client CA, or NULL */
	bool api_require_client_auth_eku;	/* refuse client certificates without clientAuth in an EKU */
	unsigned api_workers;
	size_t api_max_body;		/* bytes */
	/* Denial of service: limits on connections before they authenticate (see api_guard.h). */
	unsigned api_max_connections;		/* open connections (default 256 or 4 x workers) */
	unsigned api_max_connections_per_source;	/* per IPv4 address or IPv6 /64 (default 64) */
	uint64_t api_handshake_timeout;		/* s: connect to TLS handshake done (default 5) */
	uint64_t api_header_timeout;		/* s: handshake done to request headers complete (default 5) */
	uint64_t api_request_timeout;		/* s: headers complete to body received; response sent (default 10) */
	uint64_t api_idle_timeout;		/* s: keep-alive, response sent to next headers complete (default 30) */
	unsigned api_unauthenticated_rate;	/* unauthenticated connections per second per source (default 20) */
	unsigned api_unauthenticated_burst;	/* and the burst allowed above that rate (default 64) */

	/* [acme]: the ACME server (RFC 8555), fixed at start. */
	char *acme_path;		/* LMDB environment of the ACME state (default: [journal] path + "/acme") */
	uint64_t acme_map_size;		/* bytes (default 256 MiB) */
	uint16_t acme_http_port;	/* http-01 validation connects here (default 80) */
	uint16_t acme_tls_port;		/* tls-alpn-01 validation connects here (default 443) */
	struct config_acme_host acme_hosts[CONFIG_LIST_MAX];	/* consulted before resolving; none by default */
	size_t n_acme_hosts;
	/*
	 * dns-01 asks this DNS server only (RFC 8555 8.4); NULL (the default):
	 * dns-01 is not offered, so neither are wildcard identifiers.
	 */
	char *acme_resolver;		/* as written: ADDRESS[:PORT], an IPv6 address in brackets */
	char acme_resolver_address[46];	/* its IPv4 or IPv6 literal, without brackets (INET6_ADDRSTRLEN) */
	uint16_t acme_resolver_port;	/* its UDP port (53 unless given) */
	uint64_t acme_validation_timeout;	/* s: one whole validation (default 10) */
	unsigned acme_validations;	/* validations run at once (default 8) */
	unsigned acme_nonces;		/* outstanding nonces kept (default 65536) */
	uint64_t acme_nonce_lifetime;	/* s: a nonce is accepted this long after it is given (default 1h) */
	uint64_t acme_order_lifetime;	/* s: an order and its pending authorizations expire after it (default 1d) */
	uint64_t acme_authorization_lifetime;	/* s: a valid authorization may be reused this long (default 1d) */
	unsigned acme_orders_per_hour;	/* new orders per account and hour; 0: no limit (default 300) */
	unsigned acme_pending_authorizations;	/* pending authorizations per account (default 100) */
	unsigned acme_identifiers_per_order;	/* (default 100) */

	struct config_profile *profiles;
	size_t n_profiles;
	struct config_client *clients;
	size_t n_clients;
};

/*
 * Parse the INI file at path. Unknown sections or keys, missing required
 * keys, bad numbers and bad lists are errors naming the file, line and key.
 * Errors: SD_E_CONFIG, SD_E_IO, SD_E_NOMEM.
 */
SD_WUR int sd_config_load(const char *path, struct sd_config **out);

/*
 * sd_config_load() of text (len bytes, no NUL) read from path, which names
 * the file in messages and anchors relative paths.
 * Errors: SD_E_CONFIG, SD_E_NOMEM.
 */
SD_WUR int sd_config_parse(const char *path, const char *text, size_t len, struct sd_config **out);
void sd_config_free(struct sd_config *cfg);

/*
 * Whether a running signerd can swap cfg for next (a SIGHUP reload): every
 * key of the fixed sections that is not reloadable (sd_config_key()) has the
 * same value in both. [profile] and [client] sections may change at will.
 * Errors: SD_E_CONFIG, naming the first key that changed ("[hsm] module
 * changed: only a restart applies it").
 */
SD_WUR int sd_config_reload_check(const struct sd_config *cfg, const struct sd_config *next);

/*
 * Export each [hsm] environment entry (e.g. SOFTHSM2_CONF=...) into the
 * process environment; call before hsm_open(). Errors: SD_E_CONFIG.
 */
SD_WUR int sd_config_apply_environment(const struct sd_config *cfg);

/* Borrowed lookups; NULL when absent. */
const struct config_profile *sd_config_profile(const struct sd_config *cfg, const char *name);
const struct config_client *sd_config_client_by_name(const struct sd_config *cfg, const char *name);

/* What a verified client certificate shows for matching; every pointer is borrowed. */
struct config_client_identity {
	const char *cn;			/* its one CN, or NULL when it has none */
	const uint8_t *spki_sha256;	/* 32 bytes: SHA-256 of its DER SubjectPublicKeyInfo */
	const char *const *sans;	/* its URI and DNS names as "URI:..." and "DNS:..." */
	size_t n_sans;
};

/*
 * The client that the certificate described by id is (struct config_client
 * says when a client matches). Returns the first matching client, or NULL;
 * *also is set to a second matching client, or NULL: when it is set the
 * certificate is ambiguous and must be refused.
 */
const struct config_client *sd_config_client_match(const struct sd_config *cfg,
    const struct config_client_identity *id, const struct config_client **also);

/* Whether pin (32 bytes) is one of client's spki_sha256 pins; true when it has none. */
bool sd_config_client_pinned_to(const struct config_client *client, const uint8_t *pin);
bool sd_config_client_may_use(const struct config_client *client, const char *profile);

/*
 * Key usage bits a subject key of one enum config_key_type may carry
 * (RFC 5280 4.2.1.3, RFC 3279, RFC 5480, RFC 8410): RSA digitalSignature,
 * keyEncipherment; EC digitalSignature, keyAgreement; Ed25519
 * digitalSignature; each also keyCertSign and cRLSign. 0 for an unknown type.
 */
unsigned sd_config_key_usage_allowed(unsigned key_type);

/*
 * Key i (0, 1, ...) of the parser's table of keys, for documentation and a
 * future reload; false past the last. section is "hsm", "ca", "journal",
 * "process", "api", "acme", "profile" or "client"; default_text is the
 * default as written in the file, a rule (e.g. "= [api] workers"), or
 * "none"; NULL when required.
 * The strings are static.
 */
struct config_key_info {
	const char *section;
	const char *key;
	const char *type;		/* "path", "duration", "count", "names", "list", ... */
	const char *default_text;
	bool required;
	bool reloadable;		/* a live reload could apply a new value without a restart */
	bool secret;			/* a dump or log must show the key without its value */
};
bool sd_config_key(size_t i, struct config_key_info *out);

/*
 * Whether a certificate valid for validity seconds (notAfter - notBefore)
 * is short-lived: [ca] short_lived is set and validity is at most that.
 * Short lifetime replaces revocation: such a certificate carries no CRL or
 * OCSP pointer and no CRL lists it.
 */
bool sd_config_short_lived(const struct sd_config *cfg, int64_t validity);

/* Parse a duration: "90", "90s", "15m", "12h", "30d". Errors: SD_E_CONFIG. */
SD_WUR int sd_config_parse_duration(const char *text, uint64_t *seconds);

/* Parse "10.0.0.0/8", "::1/128", or a bare address (full-length prefix). */
SD_WUR int sd_config_parse_ip_range(const char *text, struct config_ip_range *out);

#endif
