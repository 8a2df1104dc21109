/*
 * The syntax of values: numbers, durations, IP ranges, comma-separated lists
 * and their items, names from a set of flags, URLs, paths relative to the
 * file. Each parser names the key and the value it refuses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

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

int
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

/*
 * Split a comma-separated list into trimmed items and call fn for each.
 */
int
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

int
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

int
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

int
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

const char *
config_flag_name(const struct config_flag *table, unsigned bit)
{
	size_t i;

	for (i = 0; table[i].name != NULL; i++)
		if (table[i].bit == bit)
			return table[i].name;
	return "?";
}

int
config_u64(struct config_parse *p, const char *key, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	if (config_parse_u64(value, min, max, out) != 0)
		return config_fail(p, "key '%s': '%s' is not a number in %" PRIu64 "..%" PRIu64, key, value, min, max);
	return 1;
}

int
config_duration(struct config_parse *p, const char *key, const char *value, uint64_t *out)
{
	int rc;

	if ((rc = sd_config_parse_duration(value, out)) != 0)
		return config_fail(p, "key '%s': %s", key, sd_error_detail(rc));
	return 1;
}

/* A URL for certificate extensions: http:// or https://, a host, printable ASCII without spaces or quotes. */
bool
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
int
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

/*
 * A [journal] witness item, "VKEY URL": the shape only (name+id+key, one
 * space, an http:// or https:// URL); the witness code parses the key
 * when it is used.
 */
int
config_add_witness(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	const char *sp = strchr(item, ' '), *plus, *url;

	if (sp == NULL || (plus = memchr(item, '+', (size_t)(sp - item))) == NULL ||
	    memchr(plus + 1, '+', (size_t)(sp - plus - 1)) == NULL)
		return config_fail(p, "'%s': '%s' is not \"VKEY URL\" (signerctl audit witness vkey prints the VKEY)", key, item);
	for (url = sp; *url == ' '; url++)
		;
	if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || strpbrk(url, " \t") != NULL ||
	    strlen(url) > CONFIG_URL_MAX)
		return config_fail(p, "'%s': '%s' is not an http:// or https:// URL", key, url);
	if (*((struct config_strlist *)ctx)->n >= CONFIG_PUSH_MAX)
		return config_fail(p, "too many '%s' lines (at most %d witnesses)", key, CONFIG_PUSH_MAX);
	return config_add_string(p, key, item, ctx);
}

/*
 * An [acme] hosts item, "name=address": a lower-case DNS name (labels of
 * a-z, 0-9 and inner '-', at most 253 characters) and an IPv4 or IPv6
 * literal, each name once.
 */
int
config_add_host(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	struct config_hosts *h = ctx;
	unsigned char probe[16];
	const char *eq = strchr(item, '='), *c, *label;
	size_t n, i;

	if (*h->n >= CONFIG_LIST_MAX)
		return config_fail(p, "'%s' has more than %d entries", key, CONFIG_LIST_MAX);
	if (eq == NULL)
		return config_fail(p, "'%s': '%s' is not name=address", key, item);
	n = (size_t)(eq - item);
	if (n == 0 || n > 253)
		return config_fail(p, "'%s': '%s' does not start with a DNS name", key, item);
	for (c = label = item; c <= eq; c++) {
		if (c < eq && (islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
			continue;
		if (c < eq && *c != '.')
			return config_fail(p, "'%s': '%.*s' is not a lower-case DNS name", key, (int)n, item);
		if (c == label || c - label > 63 || *label == '-' || c[-1] == '-')
			return config_fail(p, "'%s': '%.*s' is not a lower-case DNS name", key, (int)n, item);
		label = c + 1;
	}
	if (inet_pton(AF_INET, eq + 1, probe) != 1 && inet_pton(AF_INET6, eq + 1, probe) != 1)
		return config_fail(p, "'%s': '%s' is not an IPv4 or IPv6 address", key, eq + 1);
	for (i = 0; i < *h->n; i++)
		if (strlen(h->items[i].name) == n && strncmp(h->items[i].name, item, n) == 0)
			return config_fail(p, "'%s' lists '%.*s' twice", key, (int)n, item);
	if ((h->items[*h->n].name = strndup(item, n)) == NULL || (h->items[*h->n].address = strdup(eq + 1)) == NULL) {
		free(h->items[*h->n].name);
		h->items[*h->n].name = NULL;
		p->rc = SD_E_NOMEM;
		return 0;
	}
	(*h->n)++;
	return 1;
}

int
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
