/*
 * What a reload may change (sd_config_reload_check()): the table of the
 * fixed sections says, key by key, whether a running signerd reads the value
 * again (CONFIG_RELOADABLE) or built it into the module, the token, the
 * journal or the socket at start.
 */
#include <string.h>

#include "config_internal.h"

static bool
config_same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether e's field holds the same value in a and b. */
static bool
config_same_field(const struct config_entry *e, struct sd_config *a, struct sd_config *b)
{
	const struct config_acme_host *ha, *hb;
	char **la, **lb;
	size_t i, n;

	switch (config_storage(e)) {
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_PKCS11_URI:
	case CONFIG_URL:
		return config_same_string(*(char **)config_field(e, a), *(char **)config_field(e, b));
	case CONFIG_LIST:
		if ((n = *config_count(e, a)) != *config_count(e, b))
			return false;
		la = config_field(e, a);
		lb = config_field(e, b);
		for (i = 0; i < n; i++)
			if (!config_same_string(la[i], lb[i]))
				return false;
		return true;
	case CONFIG_IP_RANGES:
		n = *config_count(e, a);
		return n == *config_count(e, b) &&
		    memcmp(config_field(e, a), config_field(e, b), n * sizeof(struct config_ip_range)) == 0;
	case CONFIG_HOSTS:
		if ((n = *config_count(e, a)) != *config_count(e, b))
			return false;
		ha = config_field(e, a);
		hb = config_field(e, b);
		for (i = 0; i < n; i++)
			if (!config_same_string(ha[i].name, hb[i].name) ||
			    !config_same_string(ha[i].address, hb[i].address))
				return false;
		return true;
	default:
		/* Numbers and bools: the bytes of the field. */
		return memcmp(config_field(e, a), config_field(e, b), e->size) == 0;
	}
}

int
sd_config_reload_check(const struct sd_config *cfg, const struct sd_config *next)
{
	const struct config_entry *e;
	size_t i;

	for (i = 0; i < config_n_keys; i++) {
		e = &config_keys[i];
		if (e->flags & CONFIG_RELOADABLE)
			continue;
		/* Read only: config_field() takes a mutable object for the parser's sake. */
		if (!config_same_field(e, (struct sd_config *)(uintptr_t)cfg, (struct sd_config *)(uintptr_t)next))
			return sd_error_set(SD_E_CONFIG, "%s: [%s] %s changed: only a restart applies it", next->path,
			    e->section, e->key);
	}
	return 0;
}
