#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acme/acme.h"
#include "acme/acme_eab.h"
#include "config.h"
#include "ctl_acme.h"
#include "ctl_audit.h"
#include "journal.h"
#include "sd_time.h"

static int
ca_usage(void)
{
	fprintf(stderr,
	    "usage: signerctl [-c CONFIG] acme eab add --profile P [--profile Q ...] [--dns-suffix S ...]\n"
	    "                 [--kid K]\n"
	    "       signerctl [-c CONFIG] acme eab list\n"
	    "       signerctl [-c CONFIG] acme eab remove KID\n");
	return 2;
}

static int
ca_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: acme eab %s: %s\n", what, sd_error_detail(rc));
	return 1;
}

static int
ca_print(const struct acme_eab_info *info, void *arg)
{
	char at[SD_TIME_RFC3339_LEN];

	(void)arg;
	if (sd_time_format(info->created, at) != 0)
		(void)snprintf(at, sizeof(at), "-");
	printf("%s profiles=%s dns_suffixes=%s account=%s created=%s actor=\"%s\"\n", info->kid, info->profiles,
	    info->dns_suffixes[0] != '\0' ? info->dns_suffixes : "-", info->account != NULL ? info->account : "-", at,
	    info->actor != NULL ? info->actor : "");
	return 0;
}

static int
ca_add(const struct sd_config *cfg, struct acme_store *st, struct journal *j, int argc, char **argv)
{
	static const struct option options[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "dns-suffix", required_argument, NULL, 's' },
		{ "kid", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *profiles[ACME_EAB_PROFILES_MAX], *suffixes[CONFIG_LIST_MAX], *kid = NULL;
	char kid_out[ACME_EAB_KID_MAX + 1], key[ACME_EAB_KEY_B64_LEN + 1], actor[256];
	size_t n_profiles = 0, n_suffixes = 0;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (n_profiles == ACME_EAB_PROFILES_MAX)
				return ca_usage();
			profiles[n_profiles++] = optarg;
			break;
		case 's':
			if (n_suffixes == CONFIG_LIST_MAX)
				return ca_usage();
			suffixes[n_suffixes++] = optarg;
			break;
		case 'k': kid = optarg; break;
		default: return ca_usage();
		}
	}
	if (optind != argc || n_profiles == 0)
		return ca_usage();
	ctl_actor(actor, sizeof(actor));
	rc = acme_eab_add(cfg, st, j, kid, profiles, n_profiles, suffixes, n_suffixes, actor, kid_out, key);
	if (rc != 0)
		return ca_fail(rc, "add");
	/* The key is shown this once: certbot takes it as --eab-hmac-key. */
	printf("kid: %s\nhmac_key: %s\n", kid_out, key);
	OPENSSL_cleanse(key, sizeof(key));
	return fflush(stdout) == 0 ? 0 : 1;
}

int
ctl_acme_main(const char *config_path, int argc, char **argv)
{
	struct sd_config *cfg = NULL;
	struct acme_store *st = NULL;
	struct journal *j = NULL;
	struct journal_options jo;
	char actor[256];
	int rc;

	if (argc < 3 || strcmp(argv[1], "eab") != 0)
		return ca_usage();
	if (strcmp(argv[2], "add") != 0 && strcmp(argv[2], "list") != 0 && strcmp(argv[2], "remove") != 0)
		return ca_usage();
	if ((strcmp(argv[2], "list") == 0 && argc != 3) || (strcmp(argv[2], "remove") == 0 && argc != 4))
		return ca_usage();
	if ((rc = sd_config_load(config_path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0) {
		rc = ca_fail(rc, "configuration");
		goto out;
	}
	if (strcmp(argv[2], "list") != 0) {
		/* The journal first: opening it makes its directory, where the ACME state lives by default. */
		memset(&jo, 0, sizeof(jo));
		jo.map_size = cfg->journal_map_size;
		jo.map_max = cfg->journal_map_max;
		if ((rc = journal_open_opts(cfg->journal_path, &jo, &j)) != 0) {
			rc = ca_fail(rc, "journal");
			goto out;
		}
	}
	if ((rc = acme_store_open_config(cfg, &st)) != 0) {
		rc = ca_fail(rc, "ACME state");
		goto out;
	}
	if (strcmp(argv[2], "list") == 0) {
		if ((rc = acme_eab_list(st, ca_print, NULL)) != 0)
			rc = ca_fail(rc, "list");
		goto out;
	}
	if (strcmp(argv[2], "add") == 0) {
		rc = ca_add(cfg, st, j, argc - 2, argv + 2);
		goto out;
	}
	ctl_actor(actor, sizeof(actor));
	if ((rc = acme_eab_remove(st, j, argv[3], actor)) != 0)
		rc = ca_fail(rc, "remove");
	else
		printf("removed %s\n", argv[3]);
out:
	journal_close(j);
	acme_store_close(st);
	sd_config_free(cfg);
	return rc;
}
