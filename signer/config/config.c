/*
 * The configuration's keys, one table of typed entries as in Redis's
 * config.c: the table of the fixed sections [hsm], [ca], [journal],
 * [process], [api], [acme] with the parsers of their own (listen, environment, signature); the
 * typed setters every entry of every table goes through; defaults, required
 * keys, what the fields own, and sd_config_key().
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "sd_process.h"

static const char *const config_type_names[] = {
	[CONFIG_STRING] = "string",
	[CONFIG_PATH] = "path",
	[CONFIG_PKCS11_URI] = "PKCS#11 URI",
	[CONFIG_URL] = "URL",
	[CONFIG_COUNT] = "count",
	[CONFIG_SIZE_MB] = "size in MB",
	[CONFIG_DURATION] = "duration",
	[CONFIG_BOOL] = "bool",
	[CONFIG_FLAGS] = "names",
	[CONFIG_LIST] = "list",
	[CONFIG_IP_RANGES] = "IP ranges",
	[CONFIG_HOSTS] = "name=address list",
};

/* The default of an optional key that stays unset (NULL, an empty list). */
const char config_none[] = "none";

static void
config_store_uint(void *field, size_t size, uint64_t v)
{
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (size) {
	case sizeof(v16): memcpy(field, &v16, size); break;
	case sizeof(v32): memcpy(field, &v32, size); break;
	case sizeof(v): memcpy(field, &v, size); break;
	default: abort();
	}
}

/* Parse value as e's type and store it in obj; 1 on success, else config_fail()'s 0. */
static int
config_store(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	void *field = (char *)obj + e->offset;
	struct config_strlist list;
	struct config_ranges ranges;
	struct config_hosts hosts;
	uint64_t n;

	switch (e->type) {
	case CONFIG_STRING:
	case CONFIG_PKCS11_URI:
		return config_set_string(p, field, e->key, value, false);
	case CONFIG_PATH:
		return config_set_string(p, field, e->key, value, true);
	case CONFIG_URL:
		if (!config_url_ok(value))
			return config_fail(p, "key '%s': '%s' is not an http:// or https:// URL", e->key, value);
		return config_set_string(p, field, e->key, value, false);
	case CONFIG_COUNT:
		if (!config_u64(p, e->key, value, e->min, e->max, &n))
			return 0;
		config_store_uint(field, e->size, n);
		return 1;
	case CONFIG_SIZE_MB:
		if (!config_u64(p, e->key, value, e->min, e->max, &n))
			return 0;
		n *= 1024 * 1024;
		memcpy(field, &n, sizeof(n));
		return 1;
	case CONFIG_DURATION:
		if (!config_duration(p, e->key, value, &n))
			return 0;
		if (n < e->min || n > e->max)
			return config_fail(p, "key '%s': '%s' is outside %" PRIu64 "s..%" PRIu64 "s", e->key, value,
			    e->min, e->max);
		memcpy(field, &n, sizeof(n));
		return 1;
	case CONFIG_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return config_fail(p, "key '%s': '%s' is not true or false", e->key, value);
		*(bool *)field = value[0] == 't';
		return 1;
	case CONFIG_FLAGS:
		return config_flags(p, e->key, value, e->names, field);
	case CONFIG_LIST:
		list = (struct config_strlist){ field, (size_t *)(void *)((char *)obj + e->count_offset) };
		return config_list(p, e->key, value, e->add, &list);
	case CONFIG_IP_RANGES:
		ranges = (struct config_ranges){ field, (size_t *)(void *)((char *)obj + e->count_offset) };
		return config_list(p, e->key, value, config_add_range, &ranges);
	case CONFIG_HOSTS:
		hosts = (struct config_hosts){ field, config_count(e, obj) };
		return config_list(p, e->key, value, config_add_host, &hosts);
	case CONFIG_SPECIAL:
		return e->special->parse(p, e, obj, value);
	}
	abort();
}

void *
config_field(const struct config_entry *e, void *obj)
{
	return (char *)obj + e->offset;
}

size_t *
config_count(const struct config_entry *e, void *obj)
{
	return (size_t *)(void *)((char *)obj + e->count_offset);
}

/* What e's field holds: its type, or for CONFIG_SPECIAL the type whose storage it shares. */
enum config_type
config_storage(const struct config_entry *e)
{
	return e->type == CONFIG_SPECIAL ? e->special->storage : e->type;
}

/* [api] listen: an IPv4 or IPv6 literal, never a name to resolve. */
static int
config_parse_listen(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	unsigned char probe[16];

	if (inet_pton(AF_INET, value, probe) != 1 && inet_pton(AF_INET6, value, probe) != 1)
		return config_fail(p, "'%s': '%s' is not an IPv4 or IPv6 address", e->key, value);
	return config_set_string(p, config_field(e, obj), e->key, value, false);
}

/* [hsm] environment: NAME=value, one per line, exported before the module loads. */
static int
config_parse_environment(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	char **items = config_field(e, obj);
	size_t *n = config_count(e, obj);

	if (*n >= e->size / sizeof(items[0]))
		return config_fail(p, "too many 'environment' entries");
	if (strchr(value, '=') == NULL || value[0] == '=')
		return config_fail(p, "'environment' must be NAME=value");
	if ((items[*n] = strdup(value)) == NULL) {
		p->rc = SD_E_NOMEM;
		return 0;
	}
	(*n)++;
	return 1;
}

/* [ca] signature: RSASSA-PKCS1-v1_5 or RSASSA-PSS for an RSA CA key (x509_sigalg.h). */
static int
config_parse_signature(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	bool *pss = config_field(e, obj);

	if (strcmp(value, "pss") != 0 && strcmp(value, "pkcs1") != 0)
		return config_fail(p, "'signature' must be pkcs1 or pss, not '%s'", value);
	*pss = strcmp(value, "pss") == 0;
	return 1;
}

/* [journal] result: the result record durable before the certificate leaves, or in the next group commit. */
static int
config_parse_result(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	bool *durable = config_field(e, obj);

	if (strcmp(value, "durable-before-release") != 0 && strcmp(value, "next-commit") != 0)
		return config_fail(p, "'result' must be durable-before-release or next-commit, not '%s'", value);
	*durable = strcmp(value, "durable-before-release") == 0;
	return 1;
}

/* [process] seccomp: kill, log or off. */
static int
config_parse_seccomp(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	unsigned *mode = config_field(e, obj);

	if (strcmp(value, "kill") == 0)
		*mode = SD_SECCOMP_KILL;
	else if (strcmp(value, "log") == 0)
		*mode = SD_SECCOMP_LOG;
	else if (strcmp(value, "off") == 0)
		*mode = SD_SECCOMP_OFF;
	else
		return config_fail(p, "'seccomp' must be kill, log or off, not '%s'", value);
	return 1;
}

/* [ca] name: one path segment of a URL, so letters, digits, '-', '_' and '.' (not "." or ".."). */
static int
config_parse_ca_name(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	size_t i, n = strlen(value);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]) && strchr("-_.", value[i]) == NULL)
			break;
	if (n == 0 || n > 64 || i < n || strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
		return config_fail(p, "'name': '%s' is not 1 to 64 letters, digits, '-', '_' or '.'", value);
	return config_set_string(p, config_field(e, obj), e->key, value, false);
}

/*
 * [acme] resolver: ADDRESS[:PORT], an IPv6 address in brackets ("[::1]:5353",
 * "[::1]"), never a name: the server that answers dns-01 must not itself
 * depend on a lookup. The field keeps the text as written (so that a reload
 * sees any change); the parts go to acme_resolver_address and
 * acme_resolver_port (this key lives in the fixed table: obj is sd_config).
 */
_Static_assert(sizeof(((struct sd_config *)0)->acme_resolver_address) >= INET6_ADDRSTRLEN,
    "acme_resolver_address holds any IPv6 literal");

static int
config_parse_resolver(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	struct sd_config *cfg = obj;
	char addr[sizeof(cfg->acme_resolver_address)];
	unsigned char probe[16];
	const char *end, *port = NULL;
	size_t n;
	uint64_t v = 53;

	if (value[0] == '[') {
		if ((end = strchr(value, ']')) == NULL)
			return config_fail(p, "'%s': '%s' has no ']' after its IPv6 address", e->key, value);
		n = (size_t)(end - value - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return config_fail(p, "'%s': '%s' has something other than ':PORT' after ']'", e->key, value);
		if (n == 0 || n >= sizeof(addr))
			return config_fail(p, "'%s': '%s' is not an IPv6 address in brackets", e->key, value);
		memcpy(addr, value + 1, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET6, addr, probe) != 1)
			return config_fail(p, "'%s': '%s' is not an IPv6 address", e->key, addr);
	} else {
		end = strchr(value, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL)
			return config_fail(p, "'%s': '%s': write an IPv6 address in brackets, as [::1]:53", e->key,
			    value);
		n = end != NULL ? (size_t)(end - value) : strlen(value);
		if (end != NULL)
			port = end + 1;
		if (n == 0 || n >= sizeof(addr))
			return config_fail(p, "'%s': '%s' is not an IPv4 address", e->key, value);
		memcpy(addr, value, n);
		addr[n] = '\0';
		if (inet_pton(AF_INET, addr, probe) != 1)
			return config_fail(p, "'%s': '%s' is not an IPv4 address (a name is not resolved here)", e->key,
			    addr);
	}
	if (port != NULL && !config_u64(p, e->key, port, 1, 65535, &v))
		return 0;
	if (!config_set_string(p, config_field(e, obj), e->key, value, false))
		return 0;
	memcpy(cfg->acme_resolver_address, addr, n + 1);
	cfg->acme_resolver_port = (uint16_t)v;
	return 1;
}

/*
 * [journal] checkpoint_url: one receiver per line (repeatable). The URL goes
 * to libcurl in signerd-push, on its command line and into metric labels:
 * no user:password@ (a secret never sits in the file or in argv), no
 * fragment, and never the same receiver twice.
 */
static int
config_parse_checkpoint_url(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	char **items = config_field(e, obj);
	size_t *n = config_count(e, obj), i, auth;
	const char *host;

	if (!config_url_ok(value))
		return config_fail(p, "'%s': '%s' is not an http:// or https:// URL", e->key, value);
	host = strstr(value, "://") + 3;
	auth = strcspn(host, "/?#");
	if (memchr(host, '@', auth) != NULL)
		return config_fail(p, "'%s': '%s' carries a user name or password; none may be in the file", e->key,
		    value);
	if (strchr(value, '#') != NULL)
		return config_fail(p, "'%s': '%s' has a fragment ('#')", e->key, value);
	for (i = 0; i < *n; i++)
		if (strcmp(items[i], value) == 0)
			return config_fail(p, "'%s': '%s' is given twice", e->key, value);
	if (*n >= e->size / sizeof(items[0]))
		return config_fail(p, "too many '%s' lines (at most %zu receivers)", e->key,
		    e->size / sizeof(items[0]));
	if ((items[*n] = strdup(value)) == NULL) {
		p->rc = SD_E_NOMEM;
		return 0;
	}
	(*n)++;
	return 1;
}

static const struct config_special config_listen = { "IP address", CONFIG_STRING, config_parse_listen };
static const struct config_special config_environment = { "NAME=value", CONFIG_LIST, config_parse_environment };
static const struct config_special config_signature = { "pkcs1 or pss", CONFIG_BOOL, config_parse_signature };
static const struct config_special config_result = { "durable-before-release or next-commit", CONFIG_BOOL,
    config_parse_result };
static const struct config_special config_ca_name = { "name", CONFIG_STRING, config_parse_ca_name };
static const struct config_special config_resolver = { "ADDRESS[:PORT]", CONFIG_STRING, config_parse_resolver };
static const struct config_special config_seccomp = { "kill, log or off", CONFIG_COUNT, config_parse_seccomp };
static const struct config_special config_checkpoint_url = { "URL (a line each)", CONFIG_LIST,
	config_parse_checkpoint_url };

#define CFG(f) CONFIG_FIELD(sd_config, f)

/* The fixed sections: [hsm], [ca], [journal], [process], [api], [acme]. */
const struct config_entry config_keys[] = {
	/* The module, the token and the session pool live from start to exit. */
	{ "hsm", "module", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(hsm_module) },
	{ "hsm", "token", CONFIG_PKCS11_URI, CONFIG_REQUIRED | CONFIG_ONCE, CFG(hsm_token_uri) },
	{ "hsm", "pin_file", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_SECRET, CFG(hsm_pin_file) },
	{ "hsm", "environment", CONFIG_SPECIAL, 0, CONFIG_ARRAY(sd_config, hsm_environment), .def = config_none,
	    .special = &config_environment },
	{ "hsm", "sessions", CONFIG_COUNT, CONFIG_DERIVED, CFG(hsm_sessions), .min = 1, .max = 256,
	    .def = "= [api] workers" },
	{ "hsm", "session_keys", CONFIG_BOOL, 0, CFG(hsm_session_keys), .def = "false" },
	/*
	 * The admission gate (README "Backpressure"): concurrency issuances at
	 * once (0: no limit of its own), at most queue more wait, each at most
	 * queue_wait_ms; past that, 503 busy at once. The gate is made at start;
	 * queue and queue_wait_ms are read at each issuance, so a reload applies them.
	 */
	{ "hsm", "concurrency", CONFIG_COUNT, 0, CFG(hsm_concurrency), .min = 0, .max = 4096, .def = "0" },
	{ "hsm", "queue", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(hsm_queue), .min = 0, .max = 16384, .def = "256" },
	{ "hsm", "queue_wait_ms", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(hsm_queue_wait_ms), .min = 0, .max = 60000,
	    .def = "2000" },

	/* The issuing key and its certificates are found and matched at start. */
	{ "ca", "key", CONFIG_PKCS11_URI, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_key_uri) },
	{ "ca", "certificate", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_certificate) },
	{ "ca", "chain", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_chain) },
	/* Policy, like a profile: a reload can read the file again and swap the set of refused keys. */
	{ "ca", "key_blocklist", CONFIG_PATH, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(ca_key_blocklist),
	    .def = config_none },
	/*
	 * Issuing certificates of keys this CA no longer signs with: the ACME
	 * engine reads their subjectKeyIdentifiers once, when it opens, so that
	 * renewal information tells clients to replace their certificates at once.
	 */
	{ "ca", "retired_certificates", CONFIG_PATH, CONFIG_ONCE, CFG(ca_retired_certificates), .def = config_none },
	{ "ca", "signature", CONFIG_SPECIAL, 0, CFG(ca_signature_pss), .def = "pkcs1", .special = &config_signature },
	/* Revocation: the CRL and OCSP keys and their timings are fixed at start. */
	{ "ca", "name", CONFIG_SPECIAL, CONFIG_ONCE, CFG(ca_name), .def = "issuing", .special = &config_ca_name },
	{ "ca", "crl_validity", CONFIG_DURATION, CONFIG_ONCE, CFG(ca_crl_validity), .min = 60,
	    .max = 366 * 86400, .def = "1d" },
	{ "ca", "crl_delay", CONFIG_DURATION, CONFIG_ONCE, CFG(ca_crl_delay), .min = 0,
	    .max = 3600, .def = "2s" },
	{ "ca", "delta_crl_validity", CONFIG_DURATION, CONFIG_ONCE, CFG(ca_delta_crl_validity), .min = 0,
	    .max = 366 * 86400, .def = "0" },
	{ "ca", "delta_crl_url", CONFIG_URL, CONFIG_ONCE, CFG(ca_delta_crl_url), .def = config_none },
	{ "ca", "ocsp_key", CONFIG_PKCS11_URI, CONFIG_ONCE, CFG(ca_ocsp_key), .def = config_none },
	{ "ca", "ocsp_certificate", CONFIG_PATH, CONFIG_ONCE, CFG(ca_ocsp_certificate), .def = config_none },
	{ "ca", "ocsp_validity", CONFIG_DURATION, CONFIG_ONCE, CFG(ca_ocsp_validity), .min = 60,
	    .max = 7 * 86400, .def = "4h" },
	{ "ca", "ocsp_signatures_per_second", CONFIG_COUNT, CONFIG_ONCE,
	    CFG(ca_ocsp_signatures_per_second), .min = 1, .max = 100000, .def = "50" },
	{ "ca", "short_lived", CONFIG_DURATION, CONFIG_ONCE, CFG(ca_short_lived), .min = 0,
	    .max = CONFIG_DURATION_MAX, .def = "7d" },
	{ "ca", "ocsp_short_lived", CONFIG_BOOL, CONFIG_ONCE, CFG(ca_ocsp_short_lived),
	    .def = "false" },

	/* The LMDB environment, its map and the checkpoint key and origin are fixed when the journal opens. */
	{ "journal", "path", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(journal_path) },
	{ "journal", "map_size_mb", CONFIG_SIZE_MB, 0, CFG(journal_map_size), .min = 1, .max = 1024 * 1024,
	    .def = "1024" },
	{ "journal", "map_max_mb", CONFIG_SIZE_MB, CONFIG_DERIVED, CFG(journal_map_max), .min = 1, .max = 1024 * 1024,
	    .def = "= map_size_mb (never less)" },
	{ "journal", "audit_key", CONFIG_PKCS11_URI, CONFIG_ONCE, CFG(journal_audit_key), .def = config_none },
	{ "journal", "origin", CONFIG_STRING, CONFIG_ONCE, CFG(journal_origin), .def = "signerd/journal" },
	{ "journal", "result", CONFIG_SPECIAL, CONFIG_ONCE, CFG(journal_result_durable), .def = "next-commit",
	    .special = &config_result },
	/* Read at each append and each tick of the checkpoint timer. */
	{ "journal", "checkpoint_every", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(journal_checkpoint_every), .min = 1,
	    .max = UINT32_MAX, .def = "1000" },
	{ "journal", "checkpoint_interval", CONFIG_DURATION, CONFIG_RELOADABLE, CFG(journal_checkpoint_interval),
	    .min = 0, .max = CONFIG_DURATION_MAX, .def = "300s" },
	/* Where auditors look for every checkpoint: moving it is a restart, like the journal's path. */
	{ "journal", "checkpoint_file", CONFIG_PATH, CONFIG_ONCE, CFG(journal_checkpoint_file), .def = config_none },
	/*
	 * Receivers of every checkpoint (signerd-push, started once): each line
	 * adds one. The spool, its bound and the back-off are fixed at start too.
	 */
	{ "journal", "checkpoint_url", CONFIG_SPECIAL, 0, CONFIG_ARRAY(sd_config, journal_checkpoint_url),
	    .def = config_none, .special = &config_checkpoint_url },
	{ "journal", "checkpoint_ca", CONFIG_PATH, CONFIG_ONCE, CFG(journal_checkpoint_ca), .def = config_none },
	{ "journal", "checkpoint_spool", CONFIG_PATH, CONFIG_ONCE | CONFIG_DERIVED, CFG(journal_checkpoint_spool),
	    .def = "= [journal] path/checkpoint-spool" },
	{ "journal", "checkpoint_spool_max", CONFIG_COUNT, CONFIG_ONCE, CFG(journal_checkpoint_spool_max), .min = 1,
	    .max = 100000, .def = "10000" },
	{ "journal", "checkpoint_retry_max", CONFIG_DURATION, CONFIG_ONCE, CFG(journal_checkpoint_retry_max),
	    .min = 1, .max = 86400, .def = "300s" },
	{ "journal", "refusals_per_minute", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(journal_refusals_per_minute),
	    .min = 1, .max = 1000000, .def = "60" },
	/* C2SP witnesses: signerd submits each checkpoint to them through signerd-push (README "Witnesses"). */
	{ "journal", "witness", CONFIG_LIST, 0, CONFIG_ARRAY(sd_config, journal_witness),
	    .add = config_add_witness, .def = config_none },

	/*
	 * Both processes change user and install their system call filters once,
	 * at start (README, "Privilege separation"). "root" keeps a root start
	 * as root: the demo and the tests name whoever runs them.
	 */
	{ "process", "user", CONFIG_STRING, CONFIG_ONCE, CFG(process_user), .def = "signerd" },
	{ "process", "seccomp", CONFIG_SPECIAL, CONFIG_ONCE, CFG(process_seccomp), .def = "kill",
	    .special = &config_seccomp },

	/* The socket, the TLS credentials and the client CA are handed to libmicrohttpd at start. */
	{ "api", "listen", CONFIG_SPECIAL, CONFIG_ONCE, CFG(api_listen), .def = "127.0.0.1",
	    .special = &config_listen },
	{ "api", "port", CONFIG_COUNT, 0, CFG(api_port), .min = 0, .max = 65535, .def = "0" },
	/* Plain HTTP for relying parties (README "Revocation"): CRLs, OCSP and CA certificates only. */
	{ "api", "public_listen", CONFIG_SPECIAL, CONFIG_ONCE, CFG(api_public_listen), .def = config_none,
	    .special = &config_listen },
	{ "api", "public_port", CONFIG_COUNT, CONFIG_ONCE, CFG(api_public_port), .min = 0, .max = 65535, .def = "0" },
	{ "api", "tls_certificate", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(api_tls_certificate) },
	{ "api", "tls_key", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_SECRET, CFG(api_tls_key) },
	{ "api", "client_ca", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(api_client_ca) },
	/*
	 * Built into the client trust list with the CA; api_auth_new() builds a
	 * new list from the CA's and the CRL's bytes, so a reload can swap both.
	 */
	{ "api", "client_crl", CONFIG_PATH, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(api_client_crl), .def = config_none },
	{ "api", "require_client_auth_eku", CONFIG_BOOL, CONFIG_RELOADABLE, CFG(api_require_client_auth_eku),
	    .def = "false" },
	/*
	 * Requests block in signer_issue() until their journal commit: more in
	 * flight lets one durable commit carry more of them (measured: P-256 and
	 * RSA-2048 at concurrency 16 about 1.7x the issuances/s of 4 workers on 2
	 * cores, peak RSS about 37 MB at concurrency 64).
	 */
	{ "api", "workers", CONFIG_COUNT, 0, CFG(api_workers), .min = 1, .max = 256, .def = "16" },
	/* Compared with each request's declared length. */
	{ "api", "max_body", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(api_max_body), .min = 1024, .max = 1024 * 1024,
	    .def = "65536" },
	/*
	 * What a connection may cost before it authenticates (README, "Denial of
	 * service"): the guard reads these limits for each connection. At start
	 * libmicrohttpd also gets a connection limit from max_connections and a
	 * timeout backstop from request_timeout + idle_timeout: a reload that
	 * raises those must raise the backstops too.
	 */
	{ "api", "max_connections", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    CFG(api_max_connections), .min = 16, .max = 16384, .def = "256, or 4 x workers if more" },
	{ "api", "max_connections_per_source", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE,
	    CFG(api_max_connections_per_source), .min = 1, .max = 16384, .def = "64" },
	{ "api", "handshake_timeout", CONFIG_DURATION, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(api_handshake_timeout),
	    .min = 1, .max = 300, .def = "5s" },
	{ "api", "header_timeout", CONFIG_DURATION, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(api_header_timeout),
	    .min = 1, .max = 300, .def = "5s" },
	{ "api", "request_timeout", CONFIG_DURATION, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(api_request_timeout),
	    .min = 1, .max = 3600, .def = "10s" },
	{ "api", "idle_timeout", CONFIG_DURATION, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(api_idle_timeout),
	    .min = 1, .max = 3600, .def = "30s" },
	{ "api", "unauthenticated_rate", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE,
	    CFG(api_unauthenticated_rate), .min = 1, .max = 100000, .def = "20" },
	{ "api", "unauthenticated_burst", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE,
	    CFG(api_unauthenticated_burst), .min = 1, .max = 100000, .def = "64" },

	/*
	 * The ACME server (RFC 8555): its LMDB environment, its validators and
	 * their limits are set up once at start.
	 */
	{ "acme", "path", CONFIG_PATH, CONFIG_ONCE | CONFIG_DERIVED, CFG(acme_path), .def = "= [journal] path/acme" },
	{ "acme", "map_size_mb", CONFIG_SIZE_MB, CONFIG_ONCE, CFG(acme_map_size), .min = 1, .max = 1024 * 1024,
	    .def = "256" },
	{ "acme", "http_port", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_http_port), .min = 1, .max = 65535, .def = "80" },
	{ "acme", "tls_port", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_tls_port), .min = 1, .max = 65535, .def = "443" },
	/*
	 * For tests and closed networks, as Pebble does: a name listed here is
	 * not resolved. Not CONFIG_ONCE, so that each line adds entries: inih
	 * reads at most 200 bytes a line, fewer than CONFIG_LIST_MAX entries.
	 * Restart-only all the same.
	 */
	{ "acme", "hosts", CONFIG_HOSTS, 0, CONFIG_ARRAY(sd_config, acme_hosts), .def = config_none },
	/* dns-01 and wildcards only with it: TXT records are asked of this server and no other. */
	{ "acme", "resolver", CONFIG_SPECIAL, CONFIG_ONCE, CFG(acme_resolver), .def = config_none,
	    .special = &config_resolver },
	{ "acme", "validation_timeout", CONFIG_DURATION, CONFIG_ONCE, CFG(acme_validation_timeout), .min = 1, .max = 60,
	    .def = "10s" },
	{ "acme", "validations", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_validations), .min = 1, .max = 64, .def = "8" },
	{ "acme", "nonces", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_nonces), .min = 16, .max = 1048576, .def = "65536" },
	{ "acme", "nonce_lifetime", CONFIG_DURATION, CONFIG_ONCE, CFG(acme_nonce_lifetime), .min = 60, .max = 86400,
	    .def = "1h" },
	{ "acme", "order_lifetime", CONFIG_DURATION, CONFIG_ONCE, CFG(acme_order_lifetime), .min = 60,
	    .max = 30 * 86400, .def = "1d" },
	{ "acme", "authorization_lifetime", CONFIG_DURATION, CONFIG_ONCE, CFG(acme_authorization_lifetime), .min = 60,
	    .max = 30 * 86400, .def = "1d" },
	/* Per account: what one key pair may ask of the HSM and the state store. */
	{ "acme", "orders_per_hour", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_orders_per_hour), .min = 0, .max = 1000000,
	    .def = "300" },
	{ "acme", "pending_authorizations", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_pending_authorizations), .min = 1,
	    .max = 100000, .def = "100" },
	{ "acme", "identifiers_per_order", CONFIG_COUNT, CONFIG_ONCE, CFG(acme_identifiers_per_order), .min = 1,
	    .max = 100, .def = "100" },
};
const size_t config_n_keys = sizeof(config_keys) / sizeof(config_keys[0]);

/* Which keys were given is a mask of 64-bit words per section object. */
_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= 64 * CONFIG_SEEN_WORDS,
    "config_keys outgrows config_parse.seen");

int
config_table_line(struct config_parse *p, const struct config_entry *table, size_t n, const char *section,
    void *obj, uint64_t *seen, const char *key, const char *value)
{
	const struct config_entry *e;
	bool again;
	size_t i;

	for (i = 0; i < n; i++) {
		e = &table[i];
		if (strcmp(e->section, section) != 0 || strcmp(e->key, key) != 0)
			continue;
		again = config_seen(seen, i);
		seen[i / 64] |= UINT64_C(1) << (i % 64);
		/*
		 * A special checks its value first; a string one then refuses a
		 * second line in config_set_string(), the order its messages
		 * have always had.
		 */
		if (again && (e->flags & CONFIG_ONCE) && e->type != CONFIG_SPECIAL)
			return config_fail(p, "key '%s' is set twice", key);
		return config_store(p, e, obj, value);
	}
	return -1;
}

/* Whether the file left e's field in obj unset: zero (NULL, 0) or, for a bool, not given. */
static bool
config_unset(const struct config_entry *e, void *obj, bool given)
{
	static const unsigned char zero[sizeof(uint64_t)];

	/* A value given is set, 0 too: "short_lived = 0" means none, not the default. */
	if (given || config_storage(e) == CONFIG_BOOL)
		return !given;
	if (e->size > sizeof(zero))
		abort();	/* a list has no default but "none" */
	return memcmp(config_field(e, obj), zero, e->size) == 0;
}

int
config_defaults(struct sd_config *cfg, const struct config_entry *table, size_t n, void *obj, const uint64_t *seen)
{
	struct config_parse p;
	const struct config_entry *e;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	for (i = 0; i < n; i++) {
		e = &table[i];
		if (e->def == NULL || e->def == config_none || (e->flags & CONFIG_DERIVED) ||
		    !config_unset(e, obj, config_seen(seen, i)))
			continue;
		if (!config_store(&p, e, obj, e->def)) {
			if (p.rc == SD_E_NOMEM)
				return SD_E_NOMEM;
			abort();
		}
	}
	return 0;
}

void
config_free_fields(const struct config_entry *table, size_t n, void *obj)
{
	const struct config_entry *e;
	struct config_acme_host *hosts;
	char **items;
	size_t i, j;

	for (i = 0; i < n; i++) {
		e = &table[i];
		switch (config_storage(e)) {
		case CONFIG_STRING:
		case CONFIG_PATH:
		case CONFIG_PKCS11_URI:
		case CONFIG_URL:
			free(*(char **)config_field(e, obj));
			break;
		case CONFIG_LIST:
			items = config_field(e, obj);
			for (j = 0; j < *config_count(e, obj); j++)
				free(items[j]);
			break;
		case CONFIG_HOSTS:
			hosts = config_field(e, obj);
			for (j = 0; j < *config_count(e, obj); j++) {
				free(hosts[j].name);
				free(hosts[j].address);
			}
			break;
		default:
			break;
		}
	}
}

bool
config_fixed_section(const char *section)
{
	size_t i;

	for (i = 0; i < config_n_keys; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

/* What a pusher needs, and settings that would do nothing without one. */
static int
config_finish_push(struct config_parse *p)
{
	static const char *const alone[] = { "checkpoint_ca", "checkpoint_spool", "checkpoint_spool_max",
		"checkpoint_retry_max" };
	struct sd_config *cfg = p->cfg;
	size_t i, j;
	bool https = false;

	for (i = 0; i < cfg->n_journal_checkpoint_url; i++)
		https = https || strncmp(cfg->journal_checkpoint_url[i], "https://", 8) == 0;
	for (i = 0; i < cfg->n_journal_witness; i++)
		https = https || strstr(cfg->journal_witness[i], " https://") != NULL;
	if (cfg->n_journal_checkpoint_url > 0 && cfg->journal_audit_key == NULL)
		return sd_error_set(SD_E_CONFIG, "%s: [journal] checkpoint_url needs audit_key: without it no "
		    "checkpoint is signed", cfg->path);
	if (cfg->n_journal_witness > 0 && cfg->journal_audit_key == NULL)
		return sd_error_set(SD_E_CONFIG, "%s: [journal] witness needs audit_key: without it no checkpoint is "
		    "signed", cfg->path);
	/* signerd-push sends to witnesses too: the spool and the CA serve both. */
	if (cfg->n_journal_checkpoint_url == 0 && cfg->n_journal_witness == 0)
		for (i = 0; i < config_n_keys; i++)
			for (j = 0; j < sizeof(alone) / sizeof(alone[0]); j++)
				if (config_seen(p->seen, i) && strcmp(config_keys[i].section, "journal") == 0 &&
				    strcmp(config_keys[i].key, alone[j]) == 0)
					return sd_error_set(SD_E_CONFIG, "%s: [journal] %s needs checkpoint_url or witness",
					    cfg->path, alone[j]);
	if (cfg->journal_checkpoint_ca != NULL && !https)
		return sd_error_set(SD_E_CONFIG, "%s: [journal] checkpoint_ca is set, but no checkpoint_url or witness is https://",
		    cfg->path);
	return 0;
}

int
config_table_finish(struct config_parse *p)
{
	struct sd_config *cfg = p->cfg;
	size_t i, n;
	int rc;

	for (i = 0; i < config_n_keys; i++)
		if ((config_keys[i].flags & CONFIG_REQUIRED) &&
		    config_unset(&config_keys[i], cfg, config_seen(p->seen, i)))
			return sd_error_set(SD_E_CONFIG, "%s: missing [%s] %s", cfg->path, config_keys[i].section,
			    config_keys[i].key);
	if ((rc = config_defaults(cfg, config_keys, config_n_keys, cfg, p->seen)) != 0)
		return rc;
	/* The CONFIG_DERIVED defaults. */
	if (cfg->acme_path == NULL) {
		n = strlen(cfg->journal_path) + sizeof("/acme");
		if ((cfg->acme_path = malloc(n)) == NULL)
			return SD_E_NOMEM;
		(void)snprintf(cfg->acme_path, n, "%s/acme", cfg->journal_path);
	}
	if (cfg->journal_checkpoint_spool == NULL) {
		n = strlen(cfg->journal_path) + sizeof("/checkpoint-spool");
		if ((cfg->journal_checkpoint_spool = malloc(n)) == NULL)
			return SD_E_NOMEM;
		(void)snprintf(cfg->journal_checkpoint_spool, n, "%s/checkpoint-spool", cfg->journal_path);
	}
	if (cfg->hsm_sessions == 0)
		cfg->hsm_sessions = cfg->api_workers;
	if (cfg->api_max_connections == 0)
		cfg->api_max_connections = cfg->api_workers * 4 > 256 ? cfg->api_workers * 4 : 256;
	if (cfg->journal_map_max < cfg->journal_map_size)
		cfg->journal_map_max = cfg->journal_map_size;
	if (cfg->ca_delta_crl_url != NULL && cfg->ca_delta_crl_validity == 0)
		return sd_error_set(SD_E_CONFIG, "%s: [ca] delta_crl_url needs delta_crl_validity", cfg->path);
	if ((cfg->ca_ocsp_key == NULL) != (cfg->ca_ocsp_certificate == NULL))
		return sd_error_set(SD_E_CONFIG, "%s: [ca] ocsp_key and ocsp_certificate go together", cfg->path);
	if (cfg->api_public_listen == NULL && cfg->api_public_port != 0)
		return sd_error_set(SD_E_CONFIG, "%s: [api] public_port needs public_listen", cfg->path);
	return config_finish_push(p);
}

bool
sd_config_key(size_t i, struct config_key_info *out)
{
	const struct {
		const struct config_entry *table;
		size_t n;
	} tables[] = {
		{ config_keys, config_n_keys },
		{ config_profile_keys, config_n_profile_keys },
		{ config_client_keys, config_n_client_keys },
	};
	const struct config_entry *e;
	size_t t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); i -= tables[t].n, t++) {
		if (i >= tables[t].n)
			continue;
		e = &tables[t].table[i];
		out->section = e->section;
		out->key = e->key;
		out->type = e->type == CONFIG_SPECIAL ? e->special->type : config_type_names[e->type];
		out->default_text = e->def;
		out->required = (e->flags & CONFIG_REQUIRED) != 0;
		out->reloadable = (e->flags & CONFIG_RELOADABLE) != 0;
		out->secret = (e->flags & CONFIG_SECRET) != 0;
		return true;
	}
	return false;
}
