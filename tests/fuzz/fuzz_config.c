/*
 * The configuration file: sd_config_load() on arbitrary text, written to a
 * file in this process's own temporary directory, since the loader takes a
 * path. A file that loads must give a consistent configuration: what
 * signerd and signerctl rely on without checking again.
 *
 * fuzz-options: -max_len=16384 (four times the shipped example)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "harness.h"
#include "sd_error.h"

static void
fuzz_profile(const struct sd_config *cfg, const struct config_profile *p)
{
	const unsigned ca_bits = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;

	FUZZ_CHECK(p->name != NULL && sd_config_profile(cfg, p->name) == p);
	FUZZ_CHECK(p->default_ttl > 0 && p->default_ttl <= p->max_ttl);
	FUZZ_CHECK(p->path_len >= -1 && (p->ca || p->path_len == -1));
	FUZZ_CHECK(p->key_usage != 0 && p->key_types != 0 && p->rsa_min_bits >= 2048);
	FUZZ_CHECK(p->ca ? (p->key_usage & CONFIG_KU_KEY_CERT_SIGN) != 0 : (p->key_usage & ca_bits) == 0);
	FUZZ_CHECK(p->ca || p->ext_key_usage != 0);
	FUZZ_CHECK(!p->wildcards || p->n_dns_suffixes > 0);
	FUZZ_CHECK(p->n_dns_suffixes <= CONFIG_LIST_MAX && p->n_ip_ranges <= CONFIG_LIST_MAX &&
	    p->n_uri_prefixes <= CONFIG_LIST_MAX && p->n_email_domains <= CONFIG_LIST_MAX &&
	    p->n_permitted_dns <= CONFIG_LIST_MAX && p->n_excluded_dns <= CONFIG_LIST_MAX &&
	    p->n_permitted_ip <= CONFIG_LIST_MAX && p->n_excluded_ip <= CONFIG_LIST_MAX);
}

/* A certificate showing exactly cl's selectors is cl, or ambiguous: never nobody, never another alone. */
static void
fuzz_client_match(const struct sd_config *cfg, const struct config_client *cl)
{
	struct config_client_identity id;
	const struct config_client *got, *also;
	uint8_t spki[32];
	char pair[3] = { 0, 0, 0 }, *end;
	unsigned long v;
	size_t i;

	memset(spki, 0, sizeof(spki));
	for (i = 0; cl->n_spki_sha256 > 0 && i < sizeof(spki); i++) {
		memcpy(pair, cl->spki_sha256[0] + 2 * i, 2);
		v = strtoul(pair, &end, 16);
		FUZZ_CHECK(end == pair + 2);
		spki[i] = (uint8_t)v;
	}
	id.cn = cl->subject_cn;
	id.spki_sha256 = spki;
	id.sans = (const char *const *)cl->sans;
	id.n_sans = cl->n_sans;
	got = sd_config_client_match(cfg, &id, &also);
	FUZZ_CHECK(got != NULL);
	FUZZ_CHECK(also != NULL || got == cl);
}

static void
fuzz_client(const struct sd_config *cfg, const struct config_client *cl)
{
	size_t i;

	FUZZ_CHECK(cl->name != NULL && cl->roles != 0);
	FUZZ_CHECK(cl->subject_cn != NULL || cl->n_spki_sha256 > 0 || cl->n_sans > 0);
	FUZZ_CHECK(sd_config_client_by_name(cfg, cl->name) == cl);
	FUZZ_CHECK(cl->n_spki_sha256 <= CONFIG_LIST_MAX && cl->n_sans <= CONFIG_LIST_MAX);
	for (i = 0; i < cl->n_spki_sha256; i++)
		FUZZ_CHECK(strlen(cl->spki_sha256[i]) == 64);
	for (i = 0; i < cl->n_sans; i++)
		FUZZ_CHECK(strncmp(cl->sans[i], "URI:", 4) == 0 || strncmp(cl->sans[i], "DNS:", 4) == 0);
	fuzz_client_match(cfg, cl);
	FUZZ_CHECK(cl->n_profiles <= CONFIG_LIST_MAX);
	for (i = 0; i < cl->n_profiles; i++) {
		FUZZ_CHECK(sd_config_profile(cfg, cl->profiles[i]) != NULL);
		FUZZ_CHECK(sd_config_client_may_use(cl, cl->profiles[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_tmp_path("signerd.conf");
	struct sd_config *cfg = NULL;
	size_t i;
	int rc;

	fuzz_write_file(path, data, size);
	rc = sd_config_load(path, &cfg);
	FUZZ_CHECK(rc == 0 || rc == SD_E_CONFIG || rc == SD_E_TOO_LARGE);
	FUZZ_CHECK((rc == 0) == (cfg != NULL));
	if (rc != 0)
		return 0;
	FUZZ_CHECK(cfg->hsm_module != NULL && cfg->hsm_token_uri != NULL && cfg->hsm_pin_file != NULL);
	FUZZ_CHECK(cfg->ca_key_uri != NULL && cfg->ca_certificate != NULL && cfg->ca_chain != NULL);
	FUZZ_CHECK(cfg->journal_path != NULL && cfg->journal_map_max >= cfg->journal_map_size);
	FUZZ_CHECK(cfg->api_tls_certificate != NULL && cfg->api_tls_key != NULL && cfg->api_client_ca != NULL);
	FUZZ_CHECK(cfg->n_hsm_environment <= sizeof(cfg->hsm_environment) / sizeof(cfg->hsm_environment[0]));
	for (i = 0; i < cfg->n_hsm_environment; i++)
		FUZZ_CHECK(strchr(cfg->hsm_environment[i], '=') != NULL);
	for (i = 0; i < cfg->n_profiles; i++)
		fuzz_profile(cfg, &cfg->profiles[i]);
	for (i = 0; i < cfg->n_clients; i++)
		fuzz_client(cfg, &cfg->clients[i]);
	sd_config_free(cfg);
	return 0;
}
