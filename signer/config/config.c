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
#define CONFIG_DURATION_MAX UINT64_C(3153600000)	/* 100 years: anything longer is a typo */

/* Parser state handed to inih; the first error stops the parse. */
struct config_parse {
	struct sd_config *cfg;
	int rc;
	char detail[256];
	char last_section[128];
	uint64_t seen;	/* keys of the fixed sections already given: bit i is config_keys[i] */
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
	if (config_parse_u64(num, 0, CONFIG_DURATION_MAX / unit, &v) != 0)
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

/* Checks and adds one item of a list; 1 on success, else config_fail()'s 0. */
typedef int config_item_fn(struct config_parse *p, const char *key, const char *item, void *ctx);

/*
 * Split a comma-separated list into trimmed items and call fn for each.
 */
static int
config_list(struct config_parse *p, const char *key, const char *value, config_item_fn *fn, void *ctx)
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

	if (!config_list(p, key, value, config_add_flag, &f))
		return 0;
	if (*bits == 0)
		return config_fail(p, "key '%s' is empty", key);
	return 1;
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

/*
 * The keys of the file, as Redis keeps its configuration: one table of typed
 * entries per kind of section. An entry names the field it fills (in struct
 * sd_config, config_profile or config_client), how its value is written and
 * bounded, its default, and what a reload or a dump must know about it.
 */
enum config_type {
	CONFIG_STRING,		/* char *, not empty */
	CONFIG_PATH,		/* char *, relative to the file's directory */
	CONFIG_PKCS11_URI,	/* char *: RFC 7512; pkcs11/ parses it when the token is opened */
	CONFIG_URL,		/* char *: http:// or https://, for a certificate extension */
	CONFIG_COUNT,		/* unsigned integer field of 2, 4 or 8 bytes, min..max */
	CONFIG_SIZE_MB,		/* uint64_t bytes, written in MB, min..max MB */
	CONFIG_DURATION,	/* uint64_t seconds (sd_config_parse_duration), min..max s */
	CONFIG_BOOL,		/* bool: true or false */
	CONFIG_FLAGS,		/* unsigned: comma-separated names of e->names, ORed; not empty */
	CONFIG_LIST,		/* char *[CONFIG_LIST_MAX] and its count: each line adds items through e->add */
	CONFIG_IP_RANGES,	/* struct config_ip_range[CONFIG_LIST_MAX] and its count; each line adds */
	CONFIG_SPECIAL,		/* e->special parses and stores it */
};

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
};

#define CONFIG_REQUIRED (1u << 0)	/* loading fails without it */
/*
 * A second line for the key is refused ("key 'x' is set twice"). A scalar
 * without it takes the last of several lines, as those keys always have; a
 * list without it gathers the items of every line.
 */
#define CONFIG_ONCE (1u << 1)
/*
 * A live reload could apply a new value without a restart: the value is read
 * where it is used (per request, per connection, per checkpoint), not built
 * into the module, the token, the journal environment or the listening socket
 * at start.
 */
#define CONFIG_RELOADABLE (1u << 2)
/*
 * A dump, a log line or a reload diff shows the key but not its value. No value
 * in this file is a secret itself: PINs live in files or systemd credentials
 * and private keys in files or the HSM, never in the configuration, and the
 * PKCS#11 URIs name keys that never leave the token (pkcs11/ refuses pin-value
 * and pin-source). What is flagged tells where a secret is kept: pin_file (a
 * PIN file or credential name) and tls_key (the API's private key file). A key
 * that ever holds a secret itself must carry this flag.
 */
#define CONFIG_SECRET (1u << 3)
/*
 * The default depends on other keys: def describes the rule, which
 * config_finish(), config_finish_profile() or config_finish_clients() applies.
 */
#define CONFIG_DERIVED (1u << 4)

/* The default of an optional key that stays unset (NULL, an empty list). */
static const char config_none[] = "none";

struct config_entry;

/* CONFIG_SPECIAL: a value that no generic type describes. */
struct config_special {
	const char *type;		/* for sd_config_key() */
	enum config_type storage;	/* what the field holds: CONFIG_STRING, CONFIG_LIST, CONFIG_BOOL */
	int (*parse)(struct config_parse *p, const struct config_entry *e, void *obj, const char *value);
};

struct config_entry {
	const char *section;		/* "hsm", "ca", "journal", "api", "profile", "client" */
	const char *key;
	enum config_type type;
	unsigned flags;			/* CONFIG_REQUIRED, CONFIG_ONCE, ... */
	size_t offset;			/* of the field in the section's struct */
	size_t size;			/* of the field */
	uint64_t min, max;		/* CONFIG_COUNT, CONFIG_SIZE_MB (MB), CONFIG_DURATION (s) */
	/*
	 * The default as written in the file, filled into a field the file left
	 * zero (NULL, 0; for a bool: not given); config_none: stays unset; NULL:
	 * CONFIG_REQUIRED. With CONFIG_DERIVED a description of the rule.
	 */
	const char *def;
	size_t count_offset;		/* CONFIG_LIST, CONFIG_IP_RANGES: of the size_t count */
	config_item_fn *add;		/* CONFIG_LIST: checks and adds one item */
	const struct config_flag *names;	/* CONFIG_FLAGS */
	const struct config_special *special;	/* CONFIG_SPECIAL */
};

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
	case CONFIG_SPECIAL:
		return e->special->parse(p, e, obj, value);
	}
	abort();
}

static void *
config_field(const struct config_entry *e, void *obj)
{
	return (char *)obj + e->offset;
}

static size_t *
config_count(const struct config_entry *e, void *obj)
{
	return (size_t *)(void *)((char *)obj + e->count_offset);
}

/* What e's field holds: its type, or for CONFIG_SPECIAL the type whose storage it shares. */
static enum config_type
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
		return config_fail(p, "'listen': '%s' is not an IPv4 or IPv6 address", value);
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

/* A SPIFFE trust domain name: 1-255 characters of a-z, 0-9, '.', '-', '_' (SPIFFE ID spec, 2.1). */
static int
config_parse_trust_domain(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	const char *c;

	if (strlen(value) > 255)
		return config_fail(p, "key '%s': trust domain is longer than 255 characters", e->key);
	for (c = value; *c != '\0'; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
			return config_fail(p, "key '%s': '%s' is not a trust domain name (a-z, 0-9, '.', '-', '_')",
			    e->key, value);
	return config_set_string(p, config_field(e, obj), e->key, value, false);
}

static const struct config_special config_listen = { "IP address", CONFIG_STRING, config_parse_listen };
static const struct config_special config_environment = { "NAME=value", CONFIG_LIST, config_parse_environment };
static const struct config_special config_signature = { "pkcs1 or pss", CONFIG_BOOL, config_parse_signature };
static const struct config_special config_trust_domain = { "SPIFFE trust domain", CONFIG_STRING,
	config_parse_trust_domain };

/* Field f of struct T; for an array, also its count n_f. */
#define CONFIG_FIELD(T, f) .offset = offsetof(struct T, f), .size = sizeof(((struct T *)0)->f)
#define CONFIG_ARRAY(T, f) CONFIG_FIELD(T, f), .count_offset = offsetof(struct T, n_##f)
#define CFG(f) CONFIG_FIELD(sd_config, f)

/* The fixed sections: [hsm], [ca], [journal], [api]. */
static const struct config_entry config_keys[] = {
	/* The module, the token and the session pool live from start to exit. */
	{ "hsm", "module", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(hsm_module) },
	{ "hsm", "token", CONFIG_PKCS11_URI, CONFIG_REQUIRED | CONFIG_ONCE, CFG(hsm_token_uri) },
	{ "hsm", "pin_file", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_SECRET, CFG(hsm_pin_file) },
	{ "hsm", "environment", CONFIG_SPECIAL, 0, CONFIG_ARRAY(sd_config, hsm_environment), .def = config_none,
	    .special = &config_environment },
	{ "hsm", "sessions", CONFIG_COUNT, CONFIG_DERIVED, CFG(hsm_sessions), .min = 1, .max = 256,
	    .def = "= [api] workers" },
	{ "hsm", "session_keys", CONFIG_BOOL, 0, CFG(hsm_session_keys), .def = "false" },

	/* The issuing key and its certificates are found and matched at start. */
	{ "ca", "key", CONFIG_PKCS11_URI, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_key_uri) },
	{ "ca", "certificate", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_certificate) },
	{ "ca", "chain", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(ca_chain) },
	/* Policy, like a profile: a reload can read the file again and swap the set of refused keys. */
	{ "ca", "key_blocklist", CONFIG_PATH, CONFIG_ONCE | CONFIG_RELOADABLE, CFG(ca_key_blocklist),
	    .def = config_none },
	{ "ca", "signature", CONFIG_SPECIAL, 0, CFG(ca_signature_pss), .def = "pkcs1", .special = &config_signature },

	/* The LMDB environment, its map and the checkpoint key and origin are fixed when the journal opens. */
	{ "journal", "path", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(journal_path) },
	{ "journal", "map_size_mb", CONFIG_SIZE_MB, 0, CFG(journal_map_size), .min = 1, .max = 1024 * 1024,
	    .def = "1024" },
	{ "journal", "map_max_mb", CONFIG_SIZE_MB, CONFIG_DERIVED, CFG(journal_map_max), .min = 1, .max = 1024 * 1024,
	    .def = "= map_size_mb (never less)" },
	{ "journal", "audit_key", CONFIG_PKCS11_URI, CONFIG_ONCE, CFG(journal_audit_key), .def = config_none },
	{ "journal", "origin", CONFIG_STRING, CONFIG_ONCE, CFG(journal_origin), .def = "signerd/journal" },
	/* Read at each append and each tick of the checkpoint timer. */
	{ "journal", "checkpoint_every", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(journal_checkpoint_every), .min = 1,
	    .max = UINT32_MAX, .def = "1000" },
	{ "journal", "checkpoint_interval", CONFIG_DURATION, CONFIG_RELOADABLE, CFG(journal_checkpoint_interval),
	    .min = 0, .max = CONFIG_DURATION_MAX, .def = "300s" },
	/* Where auditors look for every checkpoint: moving it is a restart, like the journal's path. */
	{ "journal", "checkpoint_file", CONFIG_PATH, CONFIG_ONCE, CFG(journal_checkpoint_file), .def = config_none },
	{ "journal", "refusals_per_minute", CONFIG_COUNT, CONFIG_RELOADABLE, CFG(journal_refusals_per_minute),
	    .min = 1, .max = 1000000, .def = "60" },

	/* The socket, the TLS credentials and the client CA are handed to libmicrohttpd at start. */
	{ "api", "listen", CONFIG_SPECIAL, CONFIG_ONCE, CFG(api_listen), .def = "127.0.0.1",
	    .special = &config_listen },
	{ "api", "port", CONFIG_COUNT, 0, CFG(api_port), .min = 0, .max = 65535, .def = "0" },
	{ "api", "tls_certificate", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(api_tls_certificate) },
	{ "api", "tls_key", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_SECRET, CFG(api_tls_key) },
	{ "api", "client_ca", CONFIG_PATH, CONFIG_REQUIRED | CONFIG_ONCE, CFG(api_client_ca) },
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
};
#define CONFIG_N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

#define PROF(f) CONFIG_FIELD(config_profile, f)
#define PROF_LIST(f) CONFIG_ARRAY(config_profile, f)

/*
 * [profile NAME]: policy read for each request, so a reload could swap every
 * profile. Checks across keys (a leaf needs ext_key_usage and a name source,
 * keyCertSign needs ca = true, ...) are in config_finish_profile().
 */
static const struct config_entry config_profile_keys[] = {
	{ "profile", "default_ttl", CONFIG_DURATION, CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(default_ttl),
	    .max = CONFIG_DURATION_MAX, .def = "24h, or max_ttl if shorter" },
	{ "profile", "max_ttl", CONFIG_DURATION, CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(max_ttl),
	    .max = CONFIG_DURATION_MAX, .def = "default_ttl, else 24h" },
	{ "profile", "backdate", CONFIG_DURATION, CONFIG_RELOADABLE, PROF(backdate), .max = CONFIG_DURATION_MAX,
	    .def = "0" },
	{ "profile", "key_usage", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(key_usage),
	    .names = config_key_usages, .def = "digitalSignature; CA: keyCertSign, cRLSign" },
	{ "profile", "ext_key_usage", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ext_key_usage),
	    .names = config_ext_key_usages, .def = config_none },
	{ "profile", "rsa_min_bits", CONFIG_COUNT, CONFIG_RELOADABLE, PROF(rsa_min_bits), .min = 2048, .max = 8192,
	    .def = "2048" },
	{ "profile", "dns_suffixes", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(dns_suffixes),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "ip_ranges", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(ip_ranges), .def = config_none },
	{ "profile", "key_types", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(key_types),
	    .names = config_key_types, .def = "rsa, p256, p384, p521, ed25519" },
	{ "profile", "subject_attributes", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(subject_attributes),
	    .names = config_subject_attrs, .def = "CN" },
	{ "profile", "cn_must_be_san", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    PROF(cn_must_be_san), .def = "true; CA: false" },
	{ "profile", "wildcards", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(wildcards), .def = "false" },
	{ "profile", "ca", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ca), .def = "false" },
	{ "profile", "path_len", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(path_len),
	    .min = 0, .max = 16, .def = config_none },
	{ "profile", "uri_prefixes", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(uri_prefixes),
	    .add = config_add_uri_prefix, .def = config_none },
	{ "profile", "spiffe_trust_domain", CONFIG_SPECIAL, CONFIG_ONCE | CONFIG_RELOADABLE,
	    PROF(spiffe_trust_domain), .def = config_none, .special = &config_trust_domain },
	{ "profile", "email_domains", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(email_domains),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "permitted_dns", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(permitted_dns),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "excluded_dns", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(excluded_dns),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "permitted_ip", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(permitted_ip), .def = config_none },
	{ "profile", "excluded_ip", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(excluded_ip), .def = config_none },
	{ "profile", "crl_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(crl_url), .def = config_none },
	{ "profile", "ocsp_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ocsp_url), .def = config_none },
	{ "profile", "ca_issuers_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ca_issuers_url),
	    .def = config_none },
};
#define CONFIG_N_PROFILE_KEYS (sizeof(config_profile_keys) / sizeof(config_profile_keys[0]))

/* [client NAME]: matched for each connection, so a reload could swap every client. */
static const struct config_entry config_client_keys[] = {
	{ "client", "subject_cn", CONFIG_STRING, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    CONFIG_FIELD(config_client, subject_cn), .def = "the section name" },
	/* Required: config_finish_clients() says "has no roles". */
	{ "client", "roles", CONFIG_FLAGS, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_RELOADABLE,
	    CONFIG_FIELD(config_client, roles), .names = config_roles },
	{ "client", "profiles", CONFIG_LIST, CONFIG_RELOADABLE, CONFIG_ARRAY(config_client, profiles),
	    .add = config_add_string, .def = config_none },
};
#define CONFIG_N_CLIENT_KEYS (sizeof(config_client_keys) / sizeof(config_client_keys[0]))

/* Which keys were given is a 64-bit mask per section object. */
_Static_assert(CONFIG_N_KEYS <= 64 && CONFIG_N_PROFILE_KEYS <= 64 && CONFIG_N_CLIENT_KEYS <= 64,
    "a table of keys outgrows its 64-bit mask");

/*
 * One line "key = value" in a section whose keys are in table: 1 when it is
 * stored, 0 after config_fail(), -1 when table has no such key. seen is the
 * mask of the keys of this section (object) already given.
 */
static int
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
		again = (*seen >> i) & 1;
		*seen |= UINT64_C(1) << i;
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

	if (config_storage(e) == CONFIG_BOOL)
		return !given;
	if (e->size > sizeof(zero))
		abort();	/* a list has no default but "none" */
	return memcmp(config_field(e, obj), zero, e->size) == 0;
}

/*
 * Fill each field of obj that the file left unset with its entry's default,
 * parsed as a line of the file would be; CONFIG_DERIVED and required keys
 * are left to the caller.
 * Errors: SD_E_NOMEM; a default that does not parse is a broken table and aborts.
 */
static int
config_defaults(struct sd_config *cfg, const struct config_entry *table, size_t n, void *obj, uint64_t seen)
{
	struct config_parse p;
	const struct config_entry *e;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	for (i = 0; i < n; i++) {
		e = &table[i];
		if (e->def == NULL || e->def == config_none || (e->flags & CONFIG_DERIVED) ||
		    !config_unset(e, obj, (seen >> i) & 1))
			continue;
		if (!config_store(&p, e, obj, e->def)) {
			if (p.rc == SD_E_NOMEM)
				return SD_E_NOMEM;
			abort();
		}
	}
	return 0;
}

/* Free what the fields of obj described by table own. */
static void
config_free_fields(const struct config_entry *table, size_t n, void *obj)
{
	const struct config_entry *e;
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
		default:
			break;
		}
	}
}

bool
sd_config_key(size_t i, struct config_key_info *out)
{
	static const struct {
		const struct config_entry *table;
		size_t n;
	} tables[] = {
		{ config_keys, CONFIG_N_KEYS },
		{ config_profile_keys, CONFIG_N_PROFILE_KEYS },
		{ config_client_keys, CONFIG_N_CLIENT_KEYS },
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

/* Whether section is one of the fixed sections of config_keys. */
static bool
config_fixed_section(const char *section)
{
	size_t i;

	for (i = 0; i < CONFIG_N_KEYS; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return true;
	return false;
}

static int
config_handler(void *user, const char *section, const char *key, const char *value)
{
	struct config_parse *p = user;
	struct config_profile *prof;
	struct config_client *cl;
	int ok;

	if (p->rc != 0)
		return 0;
	if (config_fixed_section(section)) {
		ok = config_table_line(p, config_keys, CONFIG_N_KEYS, section, p->cfg, &p->seen, key, value);
		if (ok < 0)
			ok = config_fail(p, "unknown key '%s' in [%s]", key, section);
	} else if (strncmp(section, "profile ", 8) == 0) {
		if ((prof = config_section_object(p, section, "profile")) == NULL)
			ok = 0;
		else if ((ok = config_table_line(p, config_profile_keys, CONFIG_N_PROFILE_KEYS, "profile", prof,
		    &prof->keys_seen, key, value)) < 0)
			ok = config_fail(p, "unknown key '%s' in a profile section", key);
	} else if (strncmp(section, "client ", 7) == 0) {
		if ((cl = config_section_object(p, section, "client")) == NULL)
			ok = 0;
		else if ((ok = config_table_line(p, config_client_keys, CONFIG_N_CLIENT_KEYS, "client", cl,
		    &cl->keys_seen, key, value)) < 0)
			ok = config_fail(p, "unknown key '%s' in a client section", key);
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

/* Whether a profile's file gave key. */
static bool
config_profile_given(const struct config_profile *prof, const char *key)
{
	size_t i;

	for (i = 0; i < CONFIG_N_PROFILE_KEYS; i++)
		if (strcmp(config_profile_keys[i].key, key) == 0)
			return (prof->keys_seen >> i) & 1;
	abort();
}

/* Defaults and consistency of one profile. */
static int
config_finish_profile(struct sd_config *cfg, struct config_profile *prof)
{
	const unsigned ca_bits = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;
	bool path_len_given = config_profile_given(prof, "path_len");
	bool cn_must_be_san_given = config_profile_given(prof, "cn_must_be_san");
	unsigned t;
	int rc;

	if ((rc = config_defaults(cfg, config_profile_keys, CONFIG_N_PROFILE_KEYS, prof, prof->keys_seen)) != 0)
		return rc;
	/* The CONFIG_DERIVED defaults. */
	if (!path_len_given)
		prof->path_len = -1;
	if (!cn_must_be_san_given)
		prof->cn_must_be_san = !prof->ca;
	if (prof->key_usage == 0)
		prof->key_usage = prof->ca ? ca_bits : CONFIG_KU_DIGITAL_SIGNATURE;
	if (prof->max_ttl == 0)
		prof->max_ttl = prof->default_ttl != 0 ? prof->default_ttl : 24 * 3600;
	if (prof->default_ttl == 0)
		prof->default_ttl = prof->max_ttl < 24 * 3600 ? prof->max_ttl : 24 * 3600;

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
		if (path_len_given)
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
	if (!(prof->subject_attributes & CONFIG_SUBJ_CN) && cn_must_be_san_given && prof->cn_must_be_san)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: cn_must_be_san needs CN in subject_attributes",
		    cfg->path, prof->name);
	/* Every accepted key type must keep at least one usage (e.g. keyEncipherment alone cannot serve EC keys). */
	for (t = 1; t <= CONFIG_KEY_ED25519; t <<= 1)
		if ((prof->key_types & t) && (prof->key_usage & sd_config_key_usage_allowed(t)) == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: key_usage leaves nothing for %s keys "
			    "(restrict key_types or add digitalSignature)", cfg->path, prof->name,
			    config_flag_name(config_key_types, t));
	if (prof->default_ttl > prof->max_ttl)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: default_ttl exceeds max_ttl", cfg->path, prof->name);
	return 0;
}

/* Defaults and consistency of the clients, once every profile is known. */
static int
config_finish_clients(struct sd_config *cfg)
{
	size_t i, j, k;
	int rc;

	for (i = 0; i < cfg->n_clients; i++) {
		struct config_client *cl = &cfg->clients[i];

		if ((rc = config_defaults(cfg, config_client_keys, CONFIG_N_CLIENT_KEYS, cl, cl->keys_seen)) != 0)
			return rc;
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

/* Required keys, then defaults and cross-checks, once the whole file is read. */
static int
config_finish(struct config_parse *p)
{
	struct sd_config *cfg = p->cfg;
	size_t i;
	int rc;

	for (i = 0; i < CONFIG_N_KEYS; i++)
		if ((config_keys[i].flags & CONFIG_REQUIRED) && config_unset(&config_keys[i], cfg, (p->seen >> i) & 1))
			return sd_error_set(SD_E_CONFIG, "%s: missing [%s] %s", cfg->path, config_keys[i].section,
			    config_keys[i].key);
	if ((rc = config_defaults(cfg, config_keys, CONFIG_N_KEYS, cfg, p->seen)) != 0)
		return rc;
	/* The CONFIG_DERIVED defaults. */
	if (cfg->hsm_sessions == 0)
		cfg->hsm_sessions = cfg->api_workers;
	if (cfg->api_max_connections == 0)
		cfg->api_max_connections = cfg->api_workers * 4 > 256 ? cfg->api_workers * 4 : 256;
	if (cfg->journal_map_max < cfg->journal_map_size)
		cfg->journal_map_max = cfg->journal_map_size;
	for (i = 0; i < cfg->n_profiles; i++)
		if ((rc = config_finish_profile(cfg, &cfg->profiles[i])) != 0)
			return rc;
	return config_finish_clients(cfg);
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
	if ((rc = config_finish(&p)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	free(text);
	sd_config_free(cfg);
	return rc;
}

void
sd_config_free(struct sd_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	config_free_fields(config_keys, CONFIG_N_KEYS, cfg);
	for (i = 0; i < cfg->n_profiles; i++) {
		free(cfg->profiles[i].name);
		config_free_fields(config_profile_keys, CONFIG_N_PROFILE_KEYS, &cfg->profiles[i]);
	}
	free(cfg->profiles);
	for (i = 0; i < cfg->n_clients; i++) {
		free(cfg->clients[i].name);
		config_free_fields(config_client_keys, CONFIG_N_CLIENT_KEYS, &cfg->clients[i]);
	}
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
