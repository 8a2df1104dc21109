/*
 * Loading the file: inih hands each line to the table of its section
 * (config.c, config_profile.c, config_client.c); then required keys,
 * defaults and the checks across keys and sections; and freeing it all.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config_internal.h"
#include "sd_file.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_NAME_MAX 64
#define CONFIG_SECTIONS_MAX 256

int
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
		ok = config_table_line(p, config_keys, config_n_keys, section, p->cfg, p->seen, key, value);
		if (ok < 0)
			ok = config_fail(p, "unknown key '%s' in [%s]", key, section);
	} else if (strncmp(section, "profile ", 8) == 0) {
		if ((prof = config_section_object(p, section, "profile")) == NULL)
			ok = 0;
		else if ((ok = config_table_line(p, config_profile_keys, config_n_profile_keys, "profile", prof,
		    &prof->keys_seen, key, value)) < 0)
			ok = config_fail(p, "unknown key '%s' in a profile section", key);
	} else if (strncmp(section, "client ", 7) == 0) {
		if ((cl = config_section_object(p, section, "client")) == NULL)
			ok = 0;
		else if ((ok = config_table_line(p, config_client_keys, config_n_client_keys, "client", cl,
		    &cl->keys_seen, key, value)) < 0)
			ok = config_fail(p, "unknown key '%s' in a client section", key);
	} else {
		ok = config_fail(p, "unknown section [%s]", section);
	}
	(void)snprintf(p->last_section, sizeof(p->last_section), "%s", section);
	return ok && p->rc == 0;
}

/* Required keys, then defaults and cross-checks, once the whole file is read. */
static int
config_finish(struct config_parse *p)
{
	struct sd_config *cfg = p->cfg;
	size_t i;
	int rc;

	if ((rc = config_table_finish(p)) != 0)
		return rc;
	for (i = 0; i < cfg->n_profiles; i++)
		if ((rc = config_finish_profile(cfg, &cfg->profiles[i])) != 0)
			return rc;
	return config_finish_clients(cfg);
}

int
sd_config_load(const char *path, struct sd_config **out)
{
	uint8_t *text = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = sd_file_read(path, CONFIG_FILE_MAX, &text, &len)) != 0)
		return rc;
	rc = sd_config_parse(path, (const char *)text, len, out);
	free(text);
	return rc;
}

int
sd_config_parse(const char *path, const char *text, size_t len, struct sd_config **out)
{
	struct config_parse p;
	struct sd_config *cfg = NULL;
	char *copy = NULL, *slash;
	int rc, line;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if (len > CONFIG_FILE_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		rc = sd_error_set(SD_E_CONFIG, "%s: contains a NUL byte", path);
		goto out;
	}
	/* inih reads a NUL-terminated string. */
	if ((copy = malloc(len + 1)) == NULL || (cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL || (cfg->dir = strdup(path)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
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
	line = ini_parse_string(copy, config_handler, &p);
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
	free(copy);
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
	config_free_fields(config_keys, config_n_keys, cfg);
	for (i = 0; i < cfg->n_profiles; i++) {
		free(cfg->profiles[i].name);
		config_free_fields(config_profile_keys, config_n_profile_keys, &cfg->profiles[i]);
	}
	free(cfg->profiles);
	for (i = 0; i < cfg->n_clients; i++) {
		free(cfg->clients[i].name);
		config_free_fields(config_client_keys, config_n_client_keys, &cfg->clients[i]);
	}
	free(cfg->clients);
	free(cfg);
}

bool
sd_config_short_lived(const struct sd_config *cfg, int64_t validity)
{
	return cfg->ca_short_lived > 0 && validity >= 0 && (uint64_t)validity <= cfg->ca_short_lived;
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
