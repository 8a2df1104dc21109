#include <stdio.h>
#include <string.h>

#include "ctl_hsm.h"
#include "hsm.h"

static const char *
ctl_hsm_yn(bool v)
{
	return v ? "yes" : "no";
}

static int
ctl_hsm_slot(const struct hsm_slot_info *si, void *ctx)
{
	(void)ctx;
	printf("slot %lu: %s (%s)%s%s\n", si->id, si->description, si->manufacturer,
	    si->hardware ? " hardware" : "", si->removable ? " removable" : "");
	if (!si->token_present) {
		printf("  no token\n");
		return 0;
	}
	printf("  token: label \"%s\" manufacturer \"%s\" model \"%s\" serial \"%s\"\n", si->label,
	    si->token_manufacturer, si->model, si->serial);
	printf("  flags: initialized=%s login_required=%s user_pin_initialized=%s user_pin_locked=%s "
	    "user_pin_low=%s so_pin_locked=%s write_protected=%s rng=%s protected_auth_path=%s\n",
	    ctl_hsm_yn(si->initialized), ctl_hsm_yn(si->login_required), ctl_hsm_yn(si->user_pin_initialized), ctl_hsm_yn(si->user_pin_locked),
	    ctl_hsm_yn(si->user_pin_low), ctl_hsm_yn(si->so_pin_locked), ctl_hsm_yn(si->write_protected), ctl_hsm_yn(si->rng),
	    ctl_hsm_yn(si->protected_auth_path));
	if (si->sessions != ~0UL && si->max_sessions != ~0UL)
		printf("  sessions: %lu open, at most %lu\n", si->sessions, si->max_sessions);
	return 0;
}

static int
ctl_hsm_mech(const struct hsm_mech_info *mi, void *ctx)
{
	(void)ctx;
	printf("  %-28s keys %lu-%lu%s%s%s%s%s\n", mi->name, mi->min_key, mi->max_key, mi->sign ? " sign" : "",
	    mi->verify ? " verify" : "", mi->generate_key_pair ? " generate-key-pair" : "",
	    mi->digest ? " digest" : "", mi->hw ? " hw" : "");
	return 0;
}

static int
ctl_hsm_key(const struct hsm_key_info *ki, void *ctx)
{
	(void)ctx;
	printf("%s\tid=%s\ttype=%s\tbits=%u\tsensitive=%s extractable=%s always_sensitive=%s never_extractable=%s "
	    "sign=%s private=%s local=%s\tCA key: %s%s%s\n", ki->label, ki->id_hex[0] != '\0' ? ki->id_hex : "-",
	    ki->type, ki->bits, ctl_hsm_yn(ki->sensitive), ctl_hsm_yn(ki->extractable), ctl_hsm_yn(ki->always_sensitive),
	    ctl_hsm_yn(ki->never_extractable), ctl_hsm_yn(ki->can_sign), ctl_hsm_yn(ki->private_obj), ctl_hsm_yn(ki->local),
	    ki->usable ? "yes" : "no", ki->why[0] != '\0' ? ": " : "", ki->why);
	return 0;
}

static int
ctl_hsm_open(const struct sd_config *cfg, struct hsm **out)
{
	struct hsm_config hc = {
		.module_path = cfg->hsm_module,
		.token_uri = cfg->hsm_token_uri,
		.pin_file = cfg->hsm_pin_file,
		.pool_size = 1,
	};

	return hsm_open(&hc, out);
}

int
ctl_hsm_run(const struct sd_config *cfg, const char *action)
{
	struct hsm_module_info mi;
	struct hsm *hsm = NULL;
	int rc;

	if (strcmp(action, "slots") == 0)
		return hsm_list_slots(cfg->hsm_module, ctl_hsm_slot, NULL);
	if (strcmp(action, "info") == 0) {
		if ((rc = hsm_list_module(cfg->hsm_module, &mi)) != 0)
			return rc;
		printf("module: %s\n  library: %s %u.%u (%s)\n  Cryptoki: %u.%u\n", cfg->hsm_module, mi.description,
		    mi.library_major, mi.library_minor, mi.manufacturer, mi.cryptoki_major, mi.cryptoki_minor);
		printf("token: %s\n", cfg->hsm_token_uri);
		if ((rc = ctl_hsm_open(cfg, &hsm)) != 0)
			return rc;
		printf("mechanisms for signing keys:\n");
		rc = hsm_list_mechanisms(hsm, ctl_hsm_mech, NULL);
		hsm_close(hsm);
		return rc;
	}
	if (strcmp(action, "keys") == 0) {
		if ((rc = ctl_hsm_open(cfg, &hsm)) != 0)
			return rc;
		printf("label\tid\ttype\tbits\tattributes\tusable as a CA key\n");
		rc = hsm_list_keys(hsm, ctl_hsm_key, NULL);
		hsm_close(hsm);
		return rc;
	}
	return sd_error_set(SD_E_INVAL, "unknown hsm action '%s' (info, slots, keys)", action);
}
