/*
 * [client NAME]: the table of client keys, the checks of each client
 * against the profiles it is granted and against the other clients, and
 * which client a verified certificate is (both processes ask).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"

static const struct config_flag config_roles[] = {
	{ "issuer", CONFIG_ROLE_ISSUER },
	{ "auditor", CONFIG_ROLE_AUDITOR },
	{ "admin", CONFIG_ROLE_ADMIN },
	{ "revoker", CONFIG_ROLE_REVOKER },
	{ NULL, 0 },
};

/* spki_sha256: 64 hex digits, either case; kept in lower case so that pins compare as strings. */
static int
config_add_spki_pin(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	char pin[65];
	size_t i, n = strlen(item);

	if (n != 64)
		return config_fail(p, "'%s': '%s' is not 64 hex digits (a SHA-256)", key, item);
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)item[i]))
			return config_fail(p, "'%s': '%s' is not 64 hex digits (a SHA-256)", key, item);
		pin[i] = (char)tolower((unsigned char)item[i]);
	}
	pin[n] = '\0';
	return config_add_string(p, key, pin, ctx);
}

/*
 * san: URI:<uri> (compared exactly) or DNS:<name> (kept in lower case, as
 * DNS compares); the names api/ extracts from a client certificate.
 */
static int
config_add_client_san(struct config_parse *p, const char *key, const char *item, void *ctx)
{
	char san[CONFIG_CLIENT_SAN_MAX + 1];
	const char *c, *v;
	size_t n = strlen(item), i;

	if (n > CONFIG_CLIENT_SAN_MAX)
		return config_fail(p, "'%s': '%.32s...' is longer than %d bytes", key, item, CONFIG_CLIENT_SAN_MAX);
	v = n >= 4 ? item + 4 : item + n;
	if (strncmp(item, "URI:", 4) == 0) {
		if (strstr(v, "://") == NULL || strstr(v, "://") == v)
			return config_fail(p, "'%s': '%s' is not URI:scheme://...", key, item);
		for (c = v; *c != '\0'; c++)
			if (*c <= 0x20 || *c >= 0x7f)
				return config_fail(p, "'%s': '%s' has a space or a non-ASCII character", key, item);
		return config_add_string(p, key, item, ctx);
	}
	if (strncmp(item, "DNS:", 4) != 0)
		return config_fail(p, "'%s': '%s' must start with URI: or DNS:", key, item);
	if (*v == '\0' || *v == '.' || *v == '-' || v[strlen(v) - 1] == '.')
		return config_fail(p, "'%s': '%s' is not a DNS name", key, item);
	for (i = 0; i < n; i++) {
		if (i >= 4 && !isalnum((unsigned char)item[i]) && item[i] != '-' && item[i] != '.')
			return config_fail(p, "'%s': '%s' is not a DNS name", key, item);
		san[i] = i < 4 ? item[i] : (char)tolower((unsigned char)item[i]);
	}
	san[n] = '\0';
	return config_add_string(p, key, san, ctx);
}

/* [client NAME]: matched for each connection, so a reload could swap every client. */
const struct config_entry config_client_keys[] = {
	{ "client", "subject_cn", CONFIG_STRING, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    CONFIG_FIELD(config_client, subject_cn), .def = "the section name, unless spki_sha256 or san is set" },
	{ "client", "spki_sha256", CONFIG_LIST, CONFIG_RELOADABLE, CONFIG_ARRAY(config_client, spki_sha256),
	    .add = config_add_spki_pin, .def = config_none },
	{ "client", "san", CONFIG_LIST, CONFIG_RELOADABLE, CONFIG_ARRAY(config_client, sans),
	    .add = config_add_client_san, .def = config_none },
	/* Required: config_finish_clients() says "has no roles". */
	{ "client", "roles", CONFIG_FLAGS, CONFIG_REQUIRED | CONFIG_ONCE | CONFIG_RELOADABLE,
	    CONFIG_FIELD(config_client, roles), .names = config_roles },
	{ "client", "profiles", CONFIG_LIST, CONFIG_RELOADABLE, CONFIG_ARRAY(config_client, profiles),
	    .add = config_add_string, .def = config_none },
	/* Issuance quotas (signer/core/signer_quota.h); none by default. */
	{ "client", "quota_per_minute", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE,
	    CONFIG_FIELD(config_client, quota_per_minute), .min = 1, .max = UINT64_C(1000000000), .def = config_none },
	{ "client", "quota_burst", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    CONFIG_FIELD(config_client, quota_burst), .min = 1, .max = UINT64_C(1000000000),
	    .def = "quota_per_minute / 6 (ten seconds' worth), at least 1" },
	{ "client", "quota_per_day", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE,
	    CONFIG_FIELD(config_client, quota_per_day), .min = 1, .max = UINT64_C(1000000000000), .def = config_none },
};
const size_t config_n_client_keys = sizeof(config_client_keys) / sizeof(config_client_keys[0]);
_Static_assert(sizeof(config_client_keys) / sizeof(config_client_keys[0]) <= 64,
    "config_client_keys outgrows the 64-bit config_client.keys_seen");

/* Whether list a (na items) and list b (nb items, no duplicates in either) hold the same strings. */
static bool
config_same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i, j;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && strcmp(a[i], b[j]) != 0; j++)
			;
		if (j == nb)
			return false;
	}
	return true;
}

/* Two clients that select the same certificates: no certificate could ever be either of them. */
static bool
config_same_selectors(const struct config_client *a, const struct config_client *b)
{
	if ((a->subject_cn == NULL) != (b->subject_cn == NULL) ||
	    (a->subject_cn != NULL && strcmp(a->subject_cn, b->subject_cn) != 0))
		return false;
	return config_same_set(a->spki_sha256, a->n_spki_sha256, b->spki_sha256, b->n_spki_sha256) &&
	    config_same_set(a->sans, a->n_sans, b->sans, b->n_sans);
}

int
config_finish_clients(struct sd_config *cfg)
{
	size_t i, j, k;
	int rc;

	for (i = 0; i < cfg->n_clients; i++) {
		struct config_client *cl = &cfg->clients[i];

		if ((rc = config_defaults(cfg, config_client_keys, config_n_client_keys, cl, &cl->keys_seen)) != 0)
			return rc;
		/* A pinned client is not named by its CN unless the file says so. */
		if (cl->subject_cn == NULL && cl->n_spki_sha256 == 0 && cl->n_sans == 0 &&
		    (cl->subject_cn = strdup(cl->name)) == NULL)
			return SD_E_NOMEM;
		if (cl->roles == 0)
			return sd_error_set(SD_E_CONFIG, "%s: client %s has no roles", cfg->path, cl->name);
		if (cl->quota_burst != 0 && cl->quota_per_minute == 0)
			return sd_error_set(SD_E_CONFIG, "%s: client %s sets quota_burst without quota_per_minute",
			    cfg->path, cl->name);
		if (cl->quota_per_minute != 0 && cl->quota_burst == 0)
			cl->quota_burst = cl->quota_per_minute >= 6 ? (cl->quota_per_minute + 5) / 6 : 1;
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
			if (config_same_selectors(&cfg->clients[k], cl))
				return sd_error_set(SD_E_CONFIG, "%s: clients %s and %s have the same subject_cn, "
				    "spki_sha256 and san: no certificate could tell them apart",
				    cfg->path, cfg->clients[k].name, cl->name);
	}
	return 0;
}

const struct config_client *
sd_config_client_by_name(const struct sd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_clients; i++)
		if (strcmp(cfg->clients[i].name, name) == 0)
			return &cfg->clients[i];
	return NULL;
}

bool
sd_config_client_pinned_to(const struct config_client *client, const uint8_t *pin)
{
	char hex[65];
	size_t i;

	if (client->n_spki_sha256 == 0)
		return true;
	for (i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", pin[i]);
	for (i = 0; i < client->n_spki_sha256; i++)
		if (strcmp(client->spki_sha256[i], hex) == 0)
			return true;
	return false;
}

/* Whether the certificate carries san: URI exactly, DNS without regard to case. */
static bool
config_identity_has_san(const struct config_client_identity *id, const char *san)
{
	size_t i;

	for (i = 0; i < id->n_sans; i++) {
		if (strncmp(san, "DNS:", 4) == 0 ? strncmp(id->sans[i], "DNS:", 4) == 0 &&
		    strcasecmp(id->sans[i] + 4, san + 4) == 0 : strcmp(id->sans[i], san) == 0)
			return true;
	}
	return false;
}

static bool
config_client_matches(const struct config_client *cl, const struct config_client_identity *id)
{
	size_t i;

	/* config_finish_clients() leaves every client at least one selector. */
	if (cl->subject_cn == NULL && cl->n_spki_sha256 == 0 && cl->n_sans == 0)
		abort();
	if (cl->subject_cn != NULL && (id->cn == NULL || strcmp(cl->subject_cn, id->cn) != 0))
		return false;
	if (cl->n_spki_sha256 > 0 && !sd_config_client_pinned_to(cl, id->spki_sha256))
		return false;
	for (i = 0; i < cl->n_sans; i++)
		if (!config_identity_has_san(id, cl->sans[i]))
			return false;
	return true;
}

const struct config_client *
sd_config_client_match(const struct sd_config *cfg, const struct config_client_identity *id,
    const struct config_client **also)
{
	const struct config_client *found = NULL;
	size_t i;

	*also = NULL;
	for (i = 0; i < cfg->n_clients; i++) {
		if (!config_client_matches(&cfg->clients[i], id))
			continue;
		if (found == NULL) {
			found = &cfg->clients[i];
		} else {
			*also = &cfg->clients[i];
			break;
		}
	}
	return found;
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
