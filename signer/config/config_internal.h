/*
 * Inside signer/config/ only: the parser's state, the tables of keys and the
 * value parsers that config.c (the typed setters and the fixed sections),
 * config_load.c (reading the file), config_profile.c, config_client.c and
 * config_values.c share.
 *
 * The functions that parse a value return inih's convention: 1 when the value
 * is stored, 0 after config_fail() (or with p->rc = SD_E_NOMEM).
 */
#ifndef CONFIG_INTERNAL_H
#define CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CONFIG_DURATION_MAX UINT64_C(3153600000)	/* 100 years: anything longer is a typo */
#define CONFIG_SEEN_WORDS 2	/* of struct config_parse's mask: the fixed sections have up to 128 keys */

/* Parser state handed to inih; the first error stops the parse. */
struct config_parse {
	struct sd_config *cfg;
	int rc;
	char detail[256];
	char last_section[128];
	/* Keys of the fixed sections already given: bit i % 64 of word i / 64 is config_keys[i]. */
	uint64_t seen[CONFIG_SEEN_WORDS];
};

/* Whether bit i of a mask of given keys (words of 64) is set. */
static inline bool
config_seen(const uint64_t *seen, size_t i)
{
	return (seen[i / 64] >> (i % 64)) & 1;
}

/* Record the first error of the parse (SD_E_CONFIG and its detail); returns 0. */
int config_fail(struct config_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* config_values.c: the syntax of values. */

/* Checks and adds one item of a list; 1 on success, else config_fail()'s 0. */
typedef int config_item_fn(struct config_parse *p, const char *key, const char *item, void *ctx);

struct config_strlist {
	char **items;
	size_t *n;
};

struct config_ranges {
	struct config_ip_range *items;
	size_t *n;
};

/* One name of a set of flags (key usages, roles, ...); tables end with a NULL name. */
struct config_flag {
	const char *name;
	unsigned bit;
};

/* Store a copy of value in *dst (resolved against the file's directory if is_path). */
int config_set_string(struct config_parse *p, char **dst, const char *key, const char *value, bool is_path);
/* Split a comma-separated list into trimmed items and call fn for each. */
int config_list(struct config_parse *p, const char *key, const char *value, config_item_fn *fn, void *ctx);
/* Items of a struct config_strlist: any text; a DNS name; a scheme://authority/ prefix. */
config_item_fn config_add_string, config_add_dns_suffix, config_add_uri_prefix;
/* A [journal] witness item: "VKEY URL", a note verifier key and an http(s):// prefix. */
config_item_fn config_add_witness;
/* Items of a struct config_ranges: CIDR ranges (sd_config_parse_ip_range()). */
config_item_fn config_add_range;

struct config_hosts {
	struct config_acme_host *items;
	size_t *n;
};

/* Items of a struct config_hosts: "name=address", a lower-case DNS name and an IP literal. */
config_item_fn config_add_host;
/* OR the names of a comma-separated list into *bits; an empty list is refused. */
int config_flags(struct config_parse *p, const char *key, const char *value, const struct config_flag *table,
    unsigned *bits);
const char *config_flag_name(const struct config_flag *table, unsigned bit);
int config_u64(struct config_parse *p, const char *key, const char *value, uint64_t min, uint64_t max,
    uint64_t *out);
int config_duration(struct config_parse *p, const char *key, const char *value, uint64_t *out);
/* A URL for certificate extensions: http:// or https://, a host, printable ASCII without spaces or quotes. */
bool config_url_ok(const char *url);

/* config.c: the tables of keys. */

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
	CONFIG_HOSTS,		/* struct config_acme_host[CONFIG_LIST_MAX] and its count: "name=address" items */
	CONFIG_SPECIAL,		/* e->special parses and stores it */
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
 * config_table_finish(), config_finish_profile() or config_finish_clients()
 * applies.
 */
#define CONFIG_DERIVED (1u << 4)

/* The default of an optional key that stays unset (NULL, an empty list). */
extern const char config_none[];

struct config_entry;

/* CONFIG_SPECIAL: a value that no generic type describes. */
struct config_special {
	const char *type;		/* for sd_config_key() */
	enum config_type storage;	/* what the field holds: CONFIG_STRING, CONFIG_LIST, CONFIG_BOOL */
	int (*parse)(struct config_parse *p, const struct config_entry *e, void *obj, const char *value);
};

struct config_entry {
	const char *section;		/* "hsm", "ca", ..., "acme", "profile", "client" */
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
	size_t count_offset;		/* CONFIG_LIST, CONFIG_IP_RANGES, CONFIG_HOSTS: of the size_t count */
	config_item_fn *add;		/* CONFIG_LIST: checks and adds one item */
	const struct config_flag *names;	/* CONFIG_FLAGS */
	const struct config_special *special;	/* CONFIG_SPECIAL */
};

/* Field f of struct T; for an array, also its count n_f. */
#define CONFIG_FIELD(T, f) .offset = offsetof(struct T, f), .size = sizeof(((struct T *)0)->f)
#define CONFIG_ARRAY(T, f) CONFIG_FIELD(T, f), .count_offset = offsetof(struct T, n_##f)

/* The tables: fixed sections (config.c), [profile NAME] (config_profile.c), [client NAME] (config_client.c). */
extern const struct config_entry config_keys[], config_profile_keys[], config_client_keys[];
extern const size_t config_n_keys, config_n_profile_keys, config_n_client_keys;

/* e's field in obj (struct sd_config, config_profile or config_client). */
void *config_field(const struct config_entry *e, void *obj);
/* The count of a CONFIG_LIST, CONFIG_IP_RANGES or CONFIG_HOSTS field in obj. */
size_t *config_count(const struct config_entry *e, void *obj);
/* What e's field holds: its type, or for CONFIG_SPECIAL the type whose storage it shares. */
enum config_type config_storage(const struct config_entry *e);
/*
 * One line "key = value" in a section whose keys are in table: 1 when it is
 * stored, 0 after config_fail(), -1 when table has no such key. seen is the
 * mask of the keys of this section (object) already given, in words of 64
 * bits (config_seen()): one word for a table of up to 64 keys.
 */
int config_table_line(struct config_parse *p, const struct config_entry *table, size_t n, const char *section,
    void *obj, uint64_t *seen, const char *key, const char *value);
/* Whether section is one of the fixed sections. */
bool config_fixed_section(const char *section);
/*
 * Fill each field of obj that the file left unset with its entry's default,
 * parsed as a line of the file would be; CONFIG_DERIVED and required keys
 * are left to the caller.
 * Errors: SD_E_NOMEM; a default that does not parse is a broken table and aborts.
 */
SD_WUR int config_defaults(struct sd_config *cfg, const struct config_entry *table, size_t n, void *obj,
    const uint64_t *seen);
/* The fixed sections once the file is read: required keys, then defaults. Errors: SD_E_CONFIG, SD_E_NOMEM. */
SD_WUR int config_table_finish(struct config_parse *p);
/* Free what the fields of obj described by table own. */
void config_free_fields(const struct config_entry *table, size_t n, void *obj);

/* config_profile.c: defaults and consistency of one profile. Errors: SD_E_CONFIG, SD_E_NOMEM. */
SD_WUR int config_finish_profile(struct sd_config *cfg, struct config_profile *prof);

/* config_client.c: defaults and consistency of the clients, once every profile is known. */
SD_WUR int config_finish_clients(struct sd_config *cfg);

#endif
