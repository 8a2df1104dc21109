/*
 * [client NAME]: the table of client keys, and the checks of each client
 * against the profiles it is granted.
 */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static const struct config_flag config_roles[] = {
	{ "issuer", CONFIG_ROLE_ISSUER },
	{ "auditor", CONFIG_ROLE_AUDITOR },
	{ "admin", CONFIG_ROLE_ADMIN },
	{ NULL, 0 },
};

/* [client NAME]: matched for each connection, so a reload could swap every client. */
const struct config_entry config_client_keys[] = {
	{ "client", "subject_cn", CONFIG_STRING, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    CONFIG_FIELD(config_client, subject_cn), .def = "the section name" },
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

int
config_finish_clients(struct sd_config *cfg)
{
	size_t i, j, k;
	int rc;

	for (i = 0; i < cfg->n_clients; i++) {
		struct config_client *cl = &cfg->clients[i];

		if ((rc = config_defaults(cfg, config_client_keys, config_n_client_keys, cl, cl->keys_seen)) != 0)
			return rc;
		if (cl->subject_cn == NULL && (cl->subject_cn = strdup(cl->name)) == NULL)
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
			if (strcmp(cfg->clients[k].subject_cn, cl->subject_cn) == 0)
				return sd_error_set(SD_E_CONFIG, "%s: clients %s and %s have the same subject_cn",
				    cfg->path, cfg->clients[k].name, cl->name);
	}
	return 0;
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
