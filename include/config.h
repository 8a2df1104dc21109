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
};

/* Client roles. */
enum config_role {
	CONFIG_ROLE_ISSUER = 1 << 0,	/* may request certificates (for its profiles) */
	CONFIG_ROLE_AUDITOR = 1 << 1,	/* may read the journal */
};

struct config_ip_range {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network address, big-endian */
	unsigned prefix;	/* prefix length in bits */
};

struct config_profile {
	char *name;
	uint64_t default_ttl;		/* seconds */
	uint64_t max_ttl;		/* seconds */
	uint64_t backdate;		/* seconds notBefore is moved back */
	unsigned key_usage;		/* enum config_key_usage bits */
	unsigned ext_key_usage;		/* enum config_ext_key_usage bits */
	unsigned rsa_min_bits;		/* smallest RSA subject key accepted */
	char *dns_suffixes[CONFIG_LIST_MAX];	/* "example.com" allows example.com and *.example.com names' hosts */
	size_t n_dns_suffixes;
	struct config_ip_range ip_ranges[CONFIG_LIST_MAX];
	size_t n_ip_ranges;
};

struct config_client {
	char *name;			/* section name */
	char *subject_cn;		/* CN of the client certificate (verified against the client CA) */
	unsigned roles;			/* enum config_role bits */
	char *profiles[CONFIG_LIST_MAX];	/* profiles an issuer may use */
	size_t n_profiles;
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

	/* [ca] */
	char *ca_key_uri;		/* issuing key */
	char *ca_certificate;		/* issuing CA certificate (PEM) */
	char *ca_chain;			/* issuing certificate then its issuers up to the root (PEM) */
	bool ca_signature_pss;		/* signature = pss: RSASSA-PSS (RSA keys only); default pkcs1 */

	/* [journal] */
	char *journal_path;		/* LMDB environment directory */
	uint64_t journal_map_size;	/* bytes */

	/* [api] */
	char *api_listen;		/* IPv4 or IPv6 literal */
	uint16_t api_port;		/* 0: ephemeral */
	char *api_tls_certificate;
	char *api_tls_key;
	char *api_client_ca;
	unsigned api_workers;
	size_t api_max_body;		/* bytes */

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
void sd_config_free(struct sd_config *cfg);

/*
 * Export each [hsm] environment entry (e.g. SOFTHSM2_CONF=...) into the
 * process environment; call before hsm_open(). Errors: SD_E_CONFIG.
 */
SD_WUR int sd_config_apply_environment(const struct sd_config *cfg);

/* Borrowed lookups; NULL when absent. */
const struct config_profile *sd_config_profile(const struct sd_config *cfg, const char *name);
const struct config_client *sd_config_client_by_cn(const struct sd_config *cfg, const char *cn);
bool sd_config_client_may_use(const struct config_client *client, const char *profile);

/* Parse a duration: "90", "90s", "15m", "12h", "30d". Errors: SD_E_CONFIG. */
SD_WUR int sd_config_parse_duration(const char *text, uint64_t *seconds);

/* Parse "10.0.0.0/8", "::1/128", or a bare address (full-length prefix). */
SD_WUR int sd_config_parse_ip_range(const char *text, struct config_ip_range *out);

#endif
