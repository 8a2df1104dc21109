#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "sd_file.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_NAME_MAX 64
#define CONFIG_SECTIONS_MAX 256

/* Parser state handed to inih; the first error stops the parse. */
struct config_parse {
	struct sd_config *cfg;
	int rc;
	char detail[256];
	char last_section[128];
	unsigned seen;	/* bits of CONFIG_SEEN_* for scalar keys of the fixed sections */
};

static int config_fail(struct config_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
config_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->rc == 0) {
		va_start(ap, fmt);
		(void)vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
		va_end(ap);
		p->rc = SD_E_CONFIG;
	}
	return 0;	/* tells inih to report this line */
}

static char *
config_path(const struct sd_config *cfg, const char *value)
{
	char *out;
	size_t n;

	if (value[0] == '/' || value[0] == '\0')
		return strdup(value);
	n = strlen(cfg->dir) + 1 + strlen(value) + 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	(void)snprintf(out, n, "%s/%s", cfg->dir, value);
	return out;
}

static int
config_set_string(struct config_parse *p, char **dst, const char *key, const char *value, bool is_path)
{
	if (*dst != NULL)
		return config_fail(p, "key '%s' is set twice", key);
	if (value[0] == '\0')
		return config_fail(p, "key '%s' is empty", key);
	*dst = is_path ? config_path(p->cfg, value) : strdup(value);
	if (*dst == NULL) {
		p->rc = SD_E_NOMEM;
		return 0;
	}
	return 1;
}

static int
config_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (text[0] == '\0' || !isdigit((unsigned char)text[0]))
		return SD_E_CONFIG;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return SD_E_CONFIG;
	*out = v;
	return 0;
}

int
sd_config_parse_duration(const char *text, uint64_t *seconds)
{
	char num[32];
	uint64_t v, unit = 1;
	size_t n = strlen(text);

	if (n == 0 || n >= sizeof(num))
		return sd_error_set(SD_E_CONFIG, "bad duration '%s'", text);
	memcpy(num, text, n + 1);
	switch (num[n - 1]) {
	case 's': unit = 1; num[--n] = '\0'; break;
	case 'm': unit = 60; num[--n] = '\0'; break;
	case 'h': unit = 3600; num[--n] = '\0'; break;
	case 'd': unit = 86400; num[--n] = '\0'; break;
	default: break;
	}
	/* Cap at 100 years: anything longer is a typo. */
	if (config_parse_u64(num, 0, UINT64_C(3153600000) / unit, &v) != 0)
		return sd_error_set(SD_E_CONFIG, "bad duration '%s' (use e.g. 90s, 15m, 12h, 30d)", text);
	*seconds = v * unit;
	return 0;
}

int
sd_config_parse_ip_range(const char *text, struct config_ip_range *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	uint64_t prefix;
	unsigned bits, i;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return sd_error_set(SD_E_CONFIG, "bad IP range '%s'", text);
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
		bits = 128;
	} else {
		return sd_error_set(SD_E_CONFIG, "bad IP address in range '%s'", text);
	}
	prefix = bits;
	if (slash != NULL && config_parse_u64(slash + 1, 0, bits, &prefix) != 0)
		return sd_error_set(SD_E_CONFIG, "bad prefix length in range '%s'", text);
	out->prefix = (unsigned)prefix;
	/* Host bits must be zero, so that "10.1.2.3/8" is not silently widened. */
	for (i = out->prefix; i < bits; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return sd_error_set(SD_E_CONFIG, "IP range '%s' has host bits set", text);
	return 0;
}

/*
 * Split a comma-separated list into trimmed items and call fn for each.
 */
static int
config_list(struct config_parse *p, const char *key, const char *value,
    int (*fn)(struct config_parse *, const char *, const char *, void *), void *ctx)
{
	char item[256];
	const char *s = value, *e;
	size_t n;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		e = s;
		while (*e != '\0' && *e != ',')
			e++;
		n = (size_t)(e - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n >= sizeof(item))
			return config_fail(p, "item in '%s' is too long", key);
		memcpy(item, s, n);
		item[n] = '\0';
		if (!fn(p, key, item, ctx))
			return 0;
		s = e;
	}
	return 1;
}

struct config_strlist {
	char **items;
	size_t *n;
};

static int
config_add_string(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	struct config_strlist *l = ctx;
	size_t i;

	if (*l->n >= CONFIG_LIST_MAX)
		return config_fail(p, "'%s' has more than %d entries", key, CONFIG_LIST_MAX);
	for (i = 0; i < *l->n; i++)
		if (strcmp(l->items[i], item) == 0)
			return config_fail(p, "'%s' lists '%s' twice", key, item);
	if ((l->items[*l->n] = strdup(item)) == NULL) {
		p->rc = SD_E_NOMEM;
		return 0;
	}
	(*l->n)++;
	return 1;
}

static int
config_add_dns_suffix(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	const char *c;

	for (c = item; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return config_fail(p, "'%s': '%s' is not a DNS name", key, item);
	if (item[0] == '.' || item[0] == '-')
		return config_fail(p, "'%s': '%s' is not a DNS name", key, item);
	return config_add_string(p, key, item, ctx);
}

static int
config_add_ip_range(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	struct config_profile *prof = ctx;
	int rc;

	if (prof->n_ip_ranges >= CONFIG_LIST_MAX)
		return config_fail(p, "'%s' has more than %d entries", key, CONFIG_LIST_MAX);
	if ((rc = sd_config_parse_ip_range(item, &prof->ip_ranges[prof->n_ip_ranges])) != 0)
		return config_fail(p, "'%s': %s", key, sd_error_detail(rc));
	prof->n_ip_ranges++;
	return 1;
}

struct config_flag {
	const char *name;
	unsigned bit;
};

static const struct config_flag config_key_usages[] = {
	{ "digitalSignature", CONFIG_KU_DIGITAL_SIGNATURE },
	{ "keyEncipherment", CONFIG_KU_KEY_ENCIPHERMENT },
	{ "keyAgreement", CONFIG_KU_KEY_AGREEMENT },
	{ "keyCertSign", CONFIG_KU_KEY_CERT_SIGN },
	{ "cRLSign", CONFIG_KU_CRL_SIGN },
	{ NULL, 0 },
};

static const struct config_flag config_ext_key_usages[] = {
	{ "serverAuth", CONFIG_EKU_SERVER_AUTH },
	{ "clientAuth", CONFIG_EKU_CLIENT_AUTH },
	{ "codeSigning", CONFIG_EKU_CODE_SIGNING },
	{ "emailProtection", CONFIG_EKU_EMAIL_PROTECTION },
	{ NULL, 0 },
};

static const struct config_flag config_roles[] = {
	{ "issuer", CONFIG_ROLE_ISSUER },
	{ "auditor", CONFIG_ROLE_AUDITOR },
	{ "admin", CONFIG_ROLE_ADMIN },
	{ NULL, 0 },
};

static const struct config_flag config_key_types[] = {
	{ "rsa", CONFIG_KEY_RSA },
	{ "p256", CONFIG_KEY_P256 },
	{ "p384", CONFIG_KEY_P384 },
	{ "p521", CONFIG_KEY_P521 },
	{ "ed25519", CONFIG_KEY_ED25519 },
	{ NULL, 0 },
};

static const struct config_flag config_subject_attrs[] = {
	{ "CN", CONFIG_SUBJ_CN },
	{ "O", CONFIG_SUBJ_O },
	{ "OU", CONFIG_SUBJ_OU },
	{ "C", CONFIG_SUBJ_C },
	{ "ST", CONFIG_SUBJ_ST },
	{ "L", CONFIG_SUBJ_L },
	{ "serialNumber", CONFIG_SUBJ_SERIAL },
	{ NULL, 0 },
};

struct config_flags_ctx {
	const struct config_flag *table;
	unsigned *bits;
};

static int
config_add_flag(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	struct config_flags_ctx *f = ctx;
	size_t i;

	for (i = 0; f->table[i].name != NULL; i++) {
		if (strcmp(f->table[i].name, item) == 0) {
			*f->bits |= f->table[i].bit;
			return 1;
		}
	}
	return config_fail(p, "'%s': unknown value '%s'", key, item);
}

static int
config_flags(struct config_parse *p, const char *key, const char *value,
    const struct config_flag *table, unsigned *bits)
{
	struct config_flags_ctx f = { table, bits };

	if (*bits != 0)
		return config_fail(p, "key '%s' is set twice", key);
	if (!config_list(p, key, value, config_add_flag, &f))
		return 0;
	if (*bits == 0)
		return config_fail(p, "key '%s' is empty", key);
	return 1;
}

static int
config_u64(struct config_parse *p, const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	if (config_parse_u64(value, min, max, out) != 0)
		return config_fail(p, "key '%s': '%s' is not a number in %" PRIu64 "..%" PRIu64, key, value, min, max);
	return 1;
}

static int
config_duration(struct config_parse *p, const char *key, const char *value, uint64_t *out)
{
	int rc;

	if ((rc = sd_config_parse_duration(value, out)) != 0)
		return config_fail(p, "key '%s': %s", key, sd_error_detail(rc));
	return 1;
}

static bool
config_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > CONFIG_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '-' && name[i] != '_')
			return false;
	return true;
}

/* Find or add the object for a "profile NAME" / "client NAME" section. */
static void *
config_section_object(struct config_parse *p, const char *section, const char *kind)
{
	struct sd_config *cfg = p->cfg;
	const char *name = section + strlen(kind) + 1;
	bool is_profile = strcmp(kind, "profile") == 0;
	size_t n = is_profile ? cfg->n_profiles : cfg->n_clients, i;
	void *grown;

	if (!config_name_ok(name)) {
		config_fail(p, "section [%s]: name must be 1-%d characters of a-z, 0-9, '-', '_'", section, CONFIG_NAME_MAX);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *have = is_profile ? cfg->profiles[i].name : cfg->clients[i].name;
		if (strcmp(have, name) == 0) {
			/* inih calls us once per key: the same section, unless it appears twice. */
			if (strcmp(p->last_section, section) != 0) {
				config_fail(p, "section [%s] appears twice", section);
				return NULL;
			}
			return is_profile ? (void *)&cfg->profiles[i] : (void *)&cfg->clients[i];
		}
	}
	if (n >= CONFIG_SECTIONS_MAX) {
		config_fail(p, "more than %d %s sections", CONFIG_SECTIONS_MAX, kind);
		return NULL;
	}
	if (is_profile) {
		if ((grown = realloc(cfg->profiles, (n + 1) * sizeof(*cfg->profiles))) == NULL)
			goto nomem;
		cfg->profiles = grown;
		memset(&cfg->profiles[n], 0, sizeof(cfg->profiles[n]));
		if ((cfg->profiles[n].name = strdup(name)) == NULL)
			goto nomem;
		cfg->n_profiles++;
		return &cfg->profiles[n];
	}
	if ((grown = realloc(cfg->clients, (n + 1) * sizeof(*cfg->clients))) == NULL)
		goto nomem;
	cfg->clients = grown;
	memset(&cfg->clients[n], 0, sizeof(cfg->clients[n]));
	if ((cfg->clients[n].name = strdup(name)) == NULL)
		goto nomem;
	cfg->n_clients++;
	return &cfg->clients[n];
nomem:
	p->rc = SD_E_NOMEM;
	return NULL;
}

/* Scalar profile keys that may be set once (config_profile.keys_seen bits). */
enum config_profile_seen {
	CONFIG_SEEN_CN_MUST_BE_SAN = 1 << 0,
	CONFIG_SEEN_WILDCARDS = 1 << 1,
	CONFIG_SEEN_CA = 1 << 2,
	CONFIG_SEEN_PATH_LEN = 1 << 3,
};

static int
config_bool(struct config_parse *p, struct config_profile *prof, unsigned seen, const char *key, const char *value,
    bool *out)
{
	if (prof->keys_seen & seen)
		return config_fail(p, "key '%s' is set twice", key);
	prof->keys_seen |= seen;
	if (strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0)
		*out = false;
	else
		return config_fail(p, "key '%s': '%s' is not true or false", key, value);
	return 1;
}

/* A URL for certificate extensions: http:// or https://, a host, printable ASCII without spaces or quotes. */
static bool
config_url_ok(const char *url)
{
	const char *host, *c;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	if (strlen(url) > CONFIG_URL_MAX || *host == '\0' || *host == '/')
		return false;
	for (c = url; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f || *c == '"' || *c == '<' || *c == '>' || *c == '\\' || *c == '^' ||
		    *c == '`' || *c == '{' || *c == '|' || *c == '}')
			return false;
	return true;
}

static int
config_url(struct config_parse *p, char **dst, const char *key, const char *value)
{
	if (*dst == NULL && !config_url_ok(value))
		return config_fail(p, "key '%s': '%s' is not an http:// or https:// URL", key, value);
	return config_set_string(p, dst, key, value, false);
}

/*
 * A URI prefix: "scheme://authority/..." ending in '/', so that a prefix can
 * never match a longer host name (https://example.com.evil.org).
 */
static int
config_add_uri_prefix(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	const char *c, *sep = strstr(item, "://");
	size_t n = strlen(item);

	if (sep == NULL || sep == item || sep[3] == '\0' || sep[3] == '/' || n > CONFIG_URL_MAX)
		return config_fail(p, "'%s': '%s' is not a scheme://authority/ prefix", key, item);
	for (c = item; c < sep; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.')
			return config_fail(p, "'%s': '%s' has an invalid or upper-case scheme", key, item);
	for (c = item; *c != '\0'; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return config_fail(p, "'%s': '%s' has a space or a non-ASCII character", key, item);
	if (strchr(sep + 3, '/') == NULL || item[n - 1] != '/')
		return config_fail(p, "'%s': '%s' must end with '/' (e.g. spiffe://example.com/)", key, item);
	return config_add_string(p, key, item, ctx);
}

/* A SPIFFE trust domain name: 1-255 characters of a-z, 0-9, '.', '-', '_' (SPIFFE ID spec, 2.1). */
static int
config_spiffe_trust_domain(struct config_parse *p, struct config_profile *prof, const char *key, const char *value)
{
	const char *c;

	if (strlen(value) > 255)
		return config_fail(p, "key '%s': trust domain is longer than 255 characters", key);
	for (c = value; *c != '\0'; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
			return config_fail(p, "key '%s': '%s' is not a trust domain name (a-z, 0-9, '.', '-', '_')", key,
			    value);
	return config_set_string(p, &prof->spiffe_trust_domain, key, value, false);
}

struct config_ranges {
	struct config_ip_range *items;
	size_t *n;
};

static int
config_add_range(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	struct config_ranges *r = ctx;
	int rc;

	if (*r->n >= CONFIG_LIST_MAX)
		return config_fail(p, "'%s' has more than %d entries", key, CONFIG_LIST_MAX);
	if ((rc = sd_config_parse_ip_range(item, &r->items[*r->n])) != 0)
		return config_fail(p, "'%s': %s", key, sd_error_detail(rc));
	(*r->n)++;
	return 1;
}

static int
config_profile_key(struct config_parse *p, struct config_profile *prof, const char *key, const char *value)
{
	struct config_strlist dns = { prof->dns_suffixes, &prof->n_dns_suffixes };
	struct config_strlist uris = { prof->uri_prefixes, &prof->n_uri_prefixes };
	struct config_strlist emails = { prof->email_domains, &prof->n_email_domains };
	struct config_strlist pdns = { prof->permitted_dns, &prof->n_permitted_dns };
	struct config_strlist xdns = { prof->excluded_dns, &prof->n_excluded_dns };
	struct config_ranges pip = { prof->permitted_ip, &prof->n_permitted_ip };
	struct config_ranges xip = { prof->excluded_ip, &prof->n_excluded_ip };
	uint64_t bits;

	if (strcmp(key, "default_ttl") == 0)
		return config_duration(p, key, value, &prof->default_ttl);
	if (strcmp(key, "max_ttl") == 0)
		return config_duration(p, key, value, &prof->max_ttl);
	if (strcmp(key, "backdate") == 0)
		return config_duration(p, key, value, &prof->backdate);
	if (strcmp(key, "key_usage") == 0)
		return config_flags(p, key, value, config_key_usages, &prof->key_usage);
	if (strcmp(key, "ext_key_usage") == 0)
		return config_flags(p, key, value, config_ext_key_usages, &prof->ext_key_usage);
	if (strcmp(key, "rsa_min_bits") == 0) {
		if (!config_u64(p, key, value, 2048, 8192, &bits))
			return 0;
		prof->rsa_min_bits = (unsigned)bits;
		return 1;
	}
	if (strcmp(key, "dns_suffixes") == 0)
		return config_list(p, key, value, config_add_dns_suffix, &dns);
	if (strcmp(key, "ip_ranges") == 0)
		return config_list(p, key, value, config_add_ip_range, prof);
	if (strcmp(key, "key_types") == 0)
		return config_flags(p, key, value, config_key_types, &prof->key_types);
	if (strcmp(key, "subject_attributes") == 0)
		return config_flags(p, key, value, config_subject_attrs, &prof->subject_attributes);
	if (strcmp(key, "cn_must_be_san") == 0)
		return config_bool(p, prof, CONFIG_SEEN_CN_MUST_BE_SAN, key, value, &prof->cn_must_be_san);
	if (strcmp(key, "wildcards") == 0)
		return config_bool(p, prof, CONFIG_SEEN_WILDCARDS, key, value, &prof->wildcards);
	if (strcmp(key, "ca") == 0)
		return config_bool(p, prof, CONFIG_SEEN_CA, key, value, &prof->ca);
	if (strcmp(key, "path_len") == 0) {
		if (prof->keys_seen & CONFIG_SEEN_PATH_LEN)
			return config_fail(p, "key '%s' is set twice", key);
		prof->keys_seen |= CONFIG_SEEN_PATH_LEN;
		if (!config_u64(p, key, value, 0, 16, &bits))
			return 0;
		prof->path_len = (int)bits;
		return 1;
	}
	if (strcmp(key, "uri_prefixes") == 0)
		return config_list(p, key, value, config_add_uri_prefix, &uris);
	if (strcmp(key, "spiffe_trust_domain") == 0)
		return config_spiffe_trust_domain(p, prof, key, value);
	if (strcmp(key, "email_domains") == 0)
		return config_list(p, key, value, config_add_dns_suffix, &emails);
	if (strcmp(key, "permitted_dns") == 0)
		return config_list(p, key, value, config_add_dns_suffix, &pdns);
	if (strcmp(key, "excluded_dns") == 0)
		return config_list(p, key, value, config_add_dns_suffix, &xdns);
	if (strcmp(key, "permitted_ip") == 0)
		return config_list(p, key, value, config_add_range, &pip);
	if (strcmp(key, "excluded_ip") == 0)
		return config_list(p, key, value, config_add_range, &xip);
	if (strcmp(key, "crl_url") == 0)
		return config_url(p, &prof->crl_url, key, value);
	if (strcmp(key, "ocsp_url") == 0)
		return config_url(p, &prof->ocsp_url, key, value);
	if (strcmp(key, "ca_issuers_url") == 0)
		return config_url(p, &prof->ca_issuers_url, key, value);
	return config_fail(p, "unknown key '%s' in a profile section", key);
}

static int
config_client_key(struct config_parse *p, struct config_client *cl, const char *key, const char *value)
{
	struct config_strlist profiles = { cl->profiles, &cl->n_profiles };

	if (strcmp(key, "subject_cn") == 0)
		return config_set_string(p, &cl->subject_cn, key, value, false);
	if (strcmp(key, "roles") == 0)
		return config_flags(p, key, value, config_roles, &cl->roles);
	if (strcmp(key, "profiles") == 0)
		return config_list(p, key, value, config_add_string, &profiles);
	return config_fail(p, "unknown key '%s' in a client section", key);
}

static int
config_hsm_key(struct config_parse *p, const char *key, const char *value)
{
	struct sd_config *cfg = p->cfg;
	uint64_t n;

	if (strcmp(key, "module") == 0)
		return config_set_string(p, &cfg->hsm_module, key, value, true);
	if (strcmp(key, "token") == 0)
		return config_set_string(p, &cfg->hsm_token_uri, key, value, false);
	if (strcmp(key, "pin_file") == 0)
		return config_set_string(p, &cfg->hsm_pin_file, key, value, true);
	if (strcmp(key, "sessions") == 0) {
		if (!config_u64(p, key, value, 1, 256, &n))
			return 0;
		cfg->hsm_sessions = (unsigned)n;
		return 1;
	}
	if (strcmp(key, "session_keys") == 0) {
		if (strcmp(value, "true") == 0)
			cfg->hsm_session_keys = true;
		else if (strcmp(value, "false") == 0)
			cfg->hsm_session_keys = false;
		else
			return config_fail(p, "key 'session_keys': '%s' is not true or false", value);
		return 1;
	}
	if (strcmp(key, "environment") == 0) {
		if (cfg->n_hsm_environment >= sizeof(cfg->hsm_environment) / sizeof(cfg->hsm_environment[0]))
			return config_fail(p, "too many 'environment' entries");
		if (strchr(value, '=') == NULL || value[0] == '=')
			return config_fail(p, "'environment' must be NAME=value");
		if ((cfg->hsm_environment[cfg->n_hsm_environment] = strdup(value)) == NULL) {
			p->rc = SD_E_NOMEM;
			return 0;
		}
		cfg->n_hsm_environment++;
		return 1;
	}
	return config_fail(p, "unknown key '%s' in [hsm]", key);
}

/* [api] keys that limit connections before they authenticate. */
static int
config_api_guard_key(struct config_parse *p, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t offset;
		bool seconds;		/* a duration (uint64_t) rather than a count (unsigned) */
		uint64_t min, max;
	} keys[] = {
		{ "max_connections", offsetof(struct sd_config, api_max_connections), false, 16, 16384 },
		{ "max_connections_per_source", offsetof(struct sd_config, api_max_connections_per_source), false, 1,
		    16384 },
		{ "handshake_timeout", offsetof(struct sd_config, api_handshake_timeout), true, 1, 300 },
		{ "header_timeout", offsetof(struct sd_config, api_header_timeout), true, 1, 300 },
		{ "request_timeout", offsetof(struct sd_config, api_request_timeout), true, 1, 3600 },
		{ "idle_timeout", offsetof(struct sd_config, api_idle_timeout), true, 1, 3600 },
		{ "unauthenticated_rate", offsetof(struct sd_config, api_unauthenticated_rate), false, 1, 100000 },
		{ "unauthenticated_burst", offsetof(struct sd_config, api_unauthenticated_burst), false, 1, 100000 },
	};
	char *field;
	uint64_t n;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) != 0)
			continue;
		field = (char *)p->cfg + keys[i].offset;
		/* Every bound is at least 1: a field that is not 0 was set before. */
		if (keys[i].seconds ? *(uint64_t *)(void *)field != 0 : *(unsigned *)(void *)field != 0)
			return config_fail(p, "key '%s' is set twice", key);
		if (keys[i].seconds) {
			if (!config_duration(p, key, value, &n))
				return 0;
			if (n < keys[i].min || n > keys[i].max)
				return config_fail(p, "key '%s': '%s' is outside %" PRIu64 "s..%" PRIu64 "s", key,
				    value, keys[i].min, keys[i].max);
			memcpy(field, &n, sizeof(n));
		} else {
			unsigned u;

			if (!config_u64(p, key, value, keys[i].min, keys[i].max, &n))
				return 0;
			u = (unsigned)n;
			memcpy(field, &u, sizeof(u));
		}
		return 1;
	}
	return config_fail(p, "unknown key '%s' in [api]", key);
}

static int
config_api_key(struct config_parse *p, const char *key, const char *value)
{
	struct sd_config *cfg = p->cfg;
	unsigned char probe[16];
	uint64_t n;

	if (strcmp(key, "listen") == 0) {
		if (inet_pton(AF_INET, value, probe) != 1 && inet_pton(AF_INET6, value, probe) != 1)
			return config_fail(p, "'listen': '%s' is not an IPv4 or IPv6 address", value);
		return config_set_string(p, &cfg->api_listen, key, value, false);
	}
	if (strcmp(key, "port") == 0) {
		if (!config_u64(p, key, value, 0, 65535, &n))
			return 0;
		cfg->api_port = (uint16_t)n;
		return 1;
	}
	if (strcmp(key, "tls_certificate") == 0)
		return config_set_string(p, &cfg->api_tls_certificate, key, value, true);
	if (strcmp(key, "tls_key") == 0)
		return config_set_string(p, &cfg->api_tls_key, key, value, true);
	if (strcmp(key, "client_ca") == 0)
		return config_set_string(p, &cfg->api_client_ca, key, value, true);
	if (strcmp(key, "workers") == 0) {
		if (!config_u64(p, key, value, 1, 256, &n))
			return 0;
		cfg->api_workers = (unsigned)n;
		return 1;
	}
	if (strcmp(key, "max_body") == 0) {
		if (!config_u64(p, key, value, 1024, 1024 * 1024, &n))
			return 0;
		cfg->api_max_body = (size_t)n;
		return 1;
	}
	return config_api_guard_key(p, key, value);
}

static int
config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_parse *p = user;
	struct sd_config *cfg = p->cfg;
	void *obj;
	uint64_t mb;
	int ok;

	if (p->rc != 0)
		return 0;
	if (strcmp(section, "hsm") == 0) {
		ok = config_hsm_key(p, key, value);
	} else if (strcmp(section, "ca") == 0) {
		if (strcmp(key, "key") == 0)
			ok = config_set_string(p, &cfg->ca_key_uri, key, value, false);
		else if (strcmp(key, "key_blocklist") == 0)
			ok = config_set_string(p, &cfg->ca_key_blocklist, key, value, true);
		else if (strcmp(key, "certificate") == 0)
			ok = config_set_string(p, &cfg->ca_certificate, key, value, true);
		else if (strcmp(key, "chain") == 0)
			ok = config_set_string(p, &cfg->ca_chain, key, value, true);
		else if (strcmp(key, "signature") == 0) {
			/* RSASSA-PKCS1-v1_5 or RSASSA-PSS for an RSA CA key (x509_sigalg.h). */
			cfg->ca_signature_pss = strcmp(value, "pss") == 0;
			ok = cfg->ca_signature_pss || strcmp(value, "pkcs1") == 0 ? 1 :
			    config_fail(p, "'signature' must be pkcs1 or pss, not '%s'", value);
		}
		else
			ok = config_fail(p, "unknown key '%s' in [ca]", key);
	} else if (strcmp(section, "journal") == 0) {
		if (strcmp(key, "path") == 0) {
			ok = config_set_string(p, &cfg->journal_path, key, value, true);
		} else if (strcmp(key, "map_size_mb") == 0) {
			ok = config_u64(p, key, value, 1, 1024 * 1024, &mb);
			cfg->journal_map_size = mb * 1024 * 1024;
		} else if (strcmp(key, "map_max_mb") == 0) {
			ok = config_u64(p, key, value, 1, 1024 * 1024, &mb);
			cfg->journal_map_max = mb * 1024 * 1024;
		} else if (strcmp(key, "audit_key") == 0) {
			ok = config_set_string(p, &cfg->journal_audit_key, key, value, false);
		} else if (strcmp(key, "origin") == 0) {
			ok = config_set_string(p, &cfg->journal_origin, key, value, false);
		} else if (strcmp(key, "checkpoint_every") == 0) {
			ok = config_u64(p, key, value, 1, UINT32_MAX, &cfg->journal_checkpoint_every);
		} else if (strcmp(key, "checkpoint_interval") == 0) {
			ok = config_duration(p, key, value, &cfg->journal_checkpoint_interval);
		} else if (strcmp(key, "checkpoint_file") == 0) {
			ok = config_set_string(p, &cfg->journal_checkpoint_file, key, value, true);
		} else if (strcmp(key, "refusals_per_minute") == 0) {
			ok = config_u64(p, key, value, 1, 1000000, &cfg->journal_refusals_per_minute);
		} else {
			ok = config_fail(p, "unknown key '%s' in [journal]", key);
		}
	} else if (strcmp(section, "api") == 0) {
		ok = config_api_key(p, key, value);
	} else if (strncmp(section, "profile ", 8) == 0) {
		ok = (obj = config_section_object(p, section, "profile")) != NULL &&
		    config_profile_key(p, obj, key, value);
	} else if (strncmp(section, "client ", 7) == 0) {
		ok = (obj = config_section_object(p, section, "client")) != NULL &&
		    config_client_key(p, obj, key, value);
	} else {
		ok = config_fail(p, "unknown section [%s]", section);
	}
	(void)snprintf(p->last_section, sizeof(p->last_section), "%s", section);
	return ok && p->rc == 0;
}

unsigned
sd_config_key_usage_allowed(unsigned key_type)
{
	const unsigned ca = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;

	switch (key_type) {
	case CONFIG_KEY_RSA:
		return CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT | ca;
	case CONFIG_KEY_P256:
	case CONFIG_KEY_P384:
	case CONFIG_KEY_P521:
		return CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_AGREEMENT | ca;
	case CONFIG_KEY_ED25519:
		return CONFIG_KU_DIGITAL_SIGNATURE | ca;
	default:
		return 0;
	}
}

static const char *
config_flag_name(const struct config_flag *table, unsigned bit)
{
	size_t i;

	for (i = 0; table[i].name != NULL; i++)
		if (table[i].bit == bit)
			return table[i].name;
	return "?";
}

/* Defaults and consistency of one profile. */
static int
config_finish_profile(const struct sd_config *cfg, struct config_profile *prof)
{
	const unsigned ca_bits = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;
	unsigned t;

	if (prof->key_types == 0)
		prof->key_types = CONFIG_KEY_ALL;
	if (prof->subject_attributes == 0)
		prof->subject_attributes = CONFIG_SUBJ_CN;
	if (!(prof->keys_seen & CONFIG_SEEN_PATH_LEN))
		prof->path_len = -1;
	if (!(prof->keys_seen & CONFIG_SEEN_CN_MUST_BE_SAN))
		prof->cn_must_be_san = !prof->ca;
	if (prof->key_usage == 0)
		prof->key_usage = prof->ca ? ca_bits : CONFIG_KU_DIGITAL_SIGNATURE;
	if (prof->ca) {
		if (!(prof->key_usage & CONFIG_KU_KEY_CERT_SIGN))
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: ca = true needs keyCertSign in key_usage",
			    cfg->path, prof->name);
		if (prof->cn_must_be_san)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: ca = true needs cn_must_be_san = false "
			    "(a CA's subject names the CA, not a host)", cfg->path, prof->name);
		if (prof->wildcards)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: wildcards are for leaf profiles only",
			    cfg->path, prof->name);
	} else {
		if (prof->key_usage & ca_bits)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: keyCertSign and cRLSign need ca = true",
			    cfg->path, prof->name);
		if (prof->keys_seen & CONFIG_SEEN_PATH_LEN)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: path_len needs ca = true", cfg->path,
			    prof->name);
		if (prof->n_permitted_dns + prof->n_excluded_dns + prof->n_permitted_ip + prof->n_excluded_ip != 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: name constraints (permitted_*, excluded_*) "
			    "need ca = true", cfg->path, prof->name);
		if (prof->ext_key_usage == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: a leaf profile needs ext_key_usage",
			    cfg->path, prof->name);
		if (prof->n_dns_suffixes == 0 && prof->n_ip_ranges == 0 && prof->n_uri_prefixes == 0 &&
		    prof->spiffe_trust_domain == NULL && prof->n_email_domains == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s allows no names (set dns_suffixes, ip_ranges, "
			    "uri_prefixes, spiffe_trust_domain and/or email_domains)", cfg->path, prof->name);
	}
	if (prof->wildcards && prof->n_dns_suffixes == 0)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: wildcards = true needs dns_suffixes", cfg->path,
		    prof->name);
	if (!(prof->subject_attributes & CONFIG_SUBJ_CN) && (prof->keys_seen & CONFIG_SEEN_CN_MUST_BE_SAN) &&
	    prof->cn_must_be_san)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: cn_must_be_san needs CN in subject_attributes",
		    cfg->path, prof->name);
	/* Every accepted key type must keep at least one usage (e.g. keyEncipherment alone cannot serve EC keys). */
	for (t = 1; t <= CONFIG_KEY_ED25519; t <<= 1)
		if ((prof->key_types & t) && (prof->key_usage & sd_config_key_usage_allowed(t)) == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: key_usage leaves nothing for %s keys "
			    "(restrict key_types or add digitalSignature)", cfg->path, prof->name,
			    config_flag_name(config_key_types, t));
	return 0;
}

/* Defaults and cross-checks once the whole file is read. */
/* Defaults of the connection limits (README, "Denial of service"). */
static void
config_finish_api_guard(struct sd_config *cfg)
{
	if (cfg->api_max_connections == 0)
		cfg->api_max_connections = cfg->api_workers * 4 > 256 ? cfg->api_workers * 4 : 256;
	if (cfg->api_max_connections_per_source == 0)
		cfg->api_max_connections_per_source = 64;
	if (cfg->api_handshake_timeout == 0)
		cfg->api_handshake_timeout = 5;
	if (cfg->api_header_timeout == 0)
		cfg->api_header_timeout = 5;
	if (cfg->api_request_timeout == 0)
		cfg->api_request_timeout = 10;
	if (cfg->api_idle_timeout == 0)
		cfg->api_idle_timeout = 30;
	if (cfg->api_unauthenticated_rate == 0)
		cfg->api_unauthenticated_rate = 20;
	if (cfg->api_unauthenticated_burst == 0)
		cfg->api_unauthenticated_burst = 64;
}

static int
config_finish(struct sd_config *cfg)
{
	static const struct {
		const char *name;
		size_t offset;
	} required[] = {
		{ "[hsm] module", offsetof(struct sd_config, hsm_module) },
		{ "[hsm] token", offsetof(struct sd_config, hsm_token_uri) },
		{ "[hsm] pin_file", offsetof(struct sd_config, hsm_pin_file) },
		{ "[ca] key", offsetof(struct sd_config, ca_key_uri) },
		{ "[ca] certificate", offsetof(struct sd_config, ca_certificate) },
		{ "[ca] chain", offsetof(struct sd_config, ca_chain) },
		{ "[journal] path", offsetof(struct sd_config, journal_path) },
		{ "[api] tls_certificate", offsetof(struct sd_config, api_tls_certificate) },
		{ "[api] tls_key", offsetof(struct sd_config, api_tls_key) },
		{ "[api] client_ca", offsetof(struct sd_config, api_client_ca) },
	};
	size_t i, j, k;
	int rc;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (*(char **)((char *)cfg + required[i].offset) == NULL)
			return sd_error_set(SD_E_CONFIG, "%s: missing %s", cfg->path, required[i].name);
	if (cfg->api_listen == NULL && (cfg->api_listen = strdup("127.0.0.1")) == NULL)
		return SD_E_NOMEM;
	/*
	 * Requests block in signer_issue() until their journal commit: more in
	 * flight lets one durable commit carry more of them (measured: P-256 and
	 * RSA-2048 at concurrency 16 about 1.7x the issuances/s of 4 workers on 2
	 * cores, peak RSS about 37 MB at concurrency 64).
	 */
	if (cfg->api_workers == 0)
		cfg->api_workers = 16;
	if (cfg->hsm_sessions == 0)
		cfg->hsm_sessions = cfg->api_workers;
	if (cfg->api_max_body == 0)
		cfg->api_max_body = 64 * 1024;
	config_finish_api_guard(cfg);
	if (cfg->journal_map_size == 0)
		cfg->journal_map_size = UINT64_C(1024) * 1024 * 1024;
	if (cfg->journal_map_max < cfg->journal_map_size)
		cfg->journal_map_max = cfg->journal_map_size;
	if (cfg->journal_origin == NULL && (cfg->journal_origin = strdup("signerd/journal")) == NULL)
		return SD_E_NOMEM;
	if (cfg->journal_checkpoint_every == 0)
		cfg->journal_checkpoint_every = 1000;
	if (cfg->journal_checkpoint_interval == 0)
		cfg->journal_checkpoint_interval = 300;
	if (cfg->journal_refusals_per_minute == 0)
		cfg->journal_refusals_per_minute = 60;
	for (i = 0; i < cfg->n_profiles; i++) {
		struct config_profile *prof = &cfg->profiles[i];

		if ((rc = config_finish_profile(cfg, prof)) != 0)
			return rc;
		if (prof->max_ttl == 0)
			prof->max_ttl = prof->default_ttl != 0 ? prof->default_ttl : 24 * 3600;
		if (prof->default_ttl == 0)
			prof->default_ttl = prof->max_ttl < 24 * 3600 ? prof->max_ttl : 24 * 3600;
		if (prof->default_ttl > prof->max_ttl)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: default_ttl exceeds max_ttl", cfg->path, prof->name);
		if (prof->rsa_min_bits == 0)
			prof->rsa_min_bits = 2048;
	}
	for (i = 0; i < cfg->n_clients; i++) {
		struct config_client *cl = &cfg->clients[i];

		if (cl->subject_cn == NULL && (cl->subject_cn = strdup(cl->name)) == NULL)
			return SD_E_NOMEM;
		if (cl->roles == 0)
			return sd_error_set(SD_E_CONFIG, "%s: client %s has no roles", cfg->path, cl->name);
		if (cl->n_profiles > 0 && !(cl->roles & CONFIG_ROLE_ISSUER))
			return sd_error_set(SD_E_CONFIG, "%s: client %s lists profiles but lacks the issuer role",
			    cfg->path, cl->name);
		for (j = 0; j < cl->n_profiles; j++) {
			const struct config_profile *prof = sd_config_profile(cfg, cl->profiles[j]);

			if (prof == NULL)
				return sd_error_set(SD_E_CONFIG, "%s: client %s names unknown profile %s",
				    cfg->path, cl->name, cl->profiles[j]);
			if (prof->ca && !(cl->roles & CONFIG_ROLE_ADMIN))
				return sd_error_set(SD_E_CONFIG, "%s: client %s: CA profile %s needs the admin role",
				    cfg->path, cl->name, prof->name);
		}
		for (k = 0; k < i; k++)
			if (strcmp(cfg->clients[k].subject_cn, cl->subject_cn) == 0)
				return sd_error_set(SD_E_CONFIG, "%s: clients %s and %s have the same subject_cn",
				    cfg->path, cfg->clients[k].name, cl->name);
	}
	return 0;
}

int
sd_config_load(const char *path, struct sd_config **out)
{
	struct config_parse p;
	struct sd_config *cfg = NULL;
	uint8_t *text = NULL;
	char *slash;
	size_t len;
	int rc, line;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if ((rc = sd_file_read(path, CONFIG_FILE_MAX, &text, &len)) != 0)
		goto out;
	if (strlen((char *)text) != len) {
		rc = sd_error_set(SD_E_CONFIG, "%s: contains a NUL byte", path);
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->path = strdup(path)) == NULL ||
	    (cfg->dir = strdup(path)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* Relative paths in the file are relative to its directory. */
	slash = strrchr(cfg->dir, '/');
	if (slash == NULL) {
		free(cfg->dir);
		cfg->dir = strdup(".");
	} else if (slash == cfg->dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (cfg->dir == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	p.cfg = cfg;
	line = ini_parse_string((char *)text, config_handler, &p);
	if (p.rc == SD_E_NOMEM) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (line != 0 || p.rc != 0) {
		rc = sd_error_set(SD_E_CONFIG, "%s:%d: %s", path, line,
		    p.rc != 0 ? p.detail : "syntax error (expected [section] or key = value)");
		goto out;
	}
	if ((rc = config_finish(cfg)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	free(text);
	sd_config_free(cfg);
	return rc;
}

static void
config_profile_clear(struct config_profile *prof)
{
	size_t i;

	free(prof->name);
	for (i = 0; i < prof->n_dns_suffixes; i++)
		free(prof->dns_suffixes[i]);
	for (i = 0; i < prof->n_uri_prefixes; i++)
		free(prof->uri_prefixes[i]);
	for (i = 0; i < prof->n_email_domains; i++)
		free(prof->email_domains[i]);
	for (i = 0; i < prof->n_permitted_dns; i++)
		free(prof->permitted_dns[i]);
	for (i = 0; i < prof->n_excluded_dns; i++)
		free(prof->excluded_dns[i]);
	free(prof->spiffe_trust_domain);
	free(prof->crl_url);
	free(prof->ocsp_url);
	free(prof->ca_issuers_url);
}

static void
config_client_clear(struct config_client *cl)
{
	size_t i;

	free(cl->name);
	free(cl->subject_cn);
	for (i = 0; i < cl->n_profiles; i++)
		free(cl->profiles[i]);
}

void
sd_config_free(struct sd_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->hsm_module);
	free(cfg->hsm_token_uri);
	free(cfg->hsm_pin_file);
	for (i = 0; i < cfg->n_hsm_environment; i++)
		free(cfg->hsm_environment[i]);
	free(cfg->ca_key_uri);
	free(cfg->ca_certificate);
	free(cfg->ca_chain);
	free(cfg->ca_key_blocklist);
	free(cfg->journal_path);
	free(cfg->journal_audit_key);
	free(cfg->journal_origin);
	free(cfg->journal_checkpoint_file);
	free(cfg->api_listen);
	free(cfg->api_tls_certificate);
	free(cfg->api_tls_key);
	free(cfg->api_client_ca);
	for (i = 0; i < cfg->n_profiles; i++)
		config_profile_clear(&cfg->profiles[i]);
	free(cfg->profiles);
	for (i = 0; i < cfg->n_clients; i++)
		config_client_clear(&cfg->clients[i]);
	free(cfg->clients);
	free(cfg);
}

int
sd_config_apply_environment(const struct sd_config *cfg)
{
	char name[128];
	const char *eq;
	size_t i, n;

	for (i = 0; i < cfg->n_hsm_environment; i++) {
		eq = strchr(cfg->hsm_environment[i], '=');
		n = (size_t)(eq - cfg->hsm_environment[i]);
		if (n >= sizeof(name))
			return sd_error_set(SD_E_CONFIG, "environment name too long");
		memcpy(name, cfg->hsm_environment[i], n);
		name[n] = '\0';
		if (setenv(name, eq + 1, 1) != 0)
			return sd_error_set(SD_E_CONFIG, "cannot set environment %s", name);
	}
	return 0;
}

const struct config_profile *
sd_config_profile(const struct sd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_profiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}

const struct config_client *
sd_config_client_by_cn(const struct sd_config *cfg, const char *cn)
{
	size_t i;

	for (i = 0; i < cfg->n_clients; i++)
		if (strcmp(cfg->clients[i].subject_cn, cn) == 0)
			return &cfg->clients[i];
	return NULL;
}

bool
sd_config_client_may_use(const struct config_client *client, const char *profile)
{
	size_t i;

	if (!(client->roles & CONFIG_ROLE_ISSUER))
		return false;
	for (i = 0; i < client->n_profiles; i++)
		if (strcmp(client->profiles[i], profile) == 0)
			return true;
	return false;
}
