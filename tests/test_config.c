/* Unit tests for the configuration parser (signer/config.c). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sd_test.h"

static char tmp[PATH_MAX];

static const char *base_config =
    "[hsm]\n"
    "module = /usr/lib/softhsm/libsofthsm2.so\n"
    "token = pkcs11:token=t\n"
    "pin_file = pin\n"
    "environment = SD_TEST_CONF_ENV=hello\n"
    "[ca]\n"
    "key = pkcs11:token=t;object=ica\n"
    "certificate = ca/ica.pem\n"
    "chain = /abs/chain.pem\n"
    "[journal]\n"
    "path = journal\n"
    "map_size_mb = 16\n"
    "[api]\n"
    "port = 0\n"
    "tls_certificate = tls/server.pem\n"
    "tls_key = tls/server.key\n"
    "client_ca = tls/client-ca.pem\n"
    "workers = 3\n"
    "[profile server]\n"
    "default_ttl = 2h\n"
    "max_ttl = 1d\n"
    "backdate = 60\n"
    "key_usage = digitalSignature\n"
    "ext_key_usage = serverAuth\n"
    "dns_suffixes = example.com, localhost\n"
    "ip_ranges = 127.0.0.0/8, ::1/128\n"
    "[client issuer]\n"
    "roles = issuer\n"
    "profiles = server\n"
    "[client auditor]\n"
    "subject_cn = audit-team\n"
    "roles = auditor\n";

/* Load text as a config file; returns the code, *out set on success. */
static int
load_text(const char *text, struct sd_config **out)
{
	char path[PATH_MAX];

	sd_test_write(tmp, "signerd.conf", text, 0600, path);
	return sd_config_load(path, out);
}

/* Load base_config with one line appended to the end (usually a new section). */
static int
load_with(const char *extra, struct sd_config **out)
{
	char *text;
	size_t n = strlen(base_config) + strlen(extra) + 2;
	int rc;

	text = malloc(n);
	CU_ASSERT_FATAL(text != NULL);
	(void)snprintf(text, n, "%s%s\n", base_config, extra);
	rc = load_text(text, out);
	free(text);
	return rc;
}

static void
test_load_full(void)
{
	struct sd_config *cfg = NULL;
	const struct config_profile *prof;
	const struct config_client *cl;
	char want[PATH_MAX * 2];

	CU_ASSERT_EQUAL_FATAL(load_text(base_config, &cfg), 0);
	CU_ASSERT_STRING_EQUAL(cfg->hsm_module, "/usr/lib/softhsm/libsofthsm2.so");
	(void)snprintf(want, sizeof(want), "%s/pin", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->hsm_pin_file, want);
	(void)snprintf(want, sizeof(want), "%s/ca/ica.pem", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->ca_certificate, want);
	CU_ASSERT_STRING_EQUAL(cfg->ca_chain, "/abs/chain.pem");
	CU_ASSERT_STRING_EQUAL(cfg->hsm_token_uri, "pkcs11:token=t");
	CU_ASSERT_EQUAL(cfg->journal_map_size, 16u * 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->api_port, 0);
	CU_ASSERT_EQUAL(cfg->api_workers, 3);
	CU_ASSERT_EQUAL(cfg->hsm_sessions, 3);	/* defaults to workers */
	CU_ASSERT_STRING_EQUAL(cfg->api_listen, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg->api_max_body, 64 * 1024);

	prof = sd_config_profile(cfg, "server");
	CU_ASSERT_PTR_NOT_NULL_FATAL(prof);
	CU_ASSERT_EQUAL(prof->default_ttl, 7200);
	CU_ASSERT_EQUAL(prof->max_ttl, 86400);
	CU_ASSERT_EQUAL(prof->backdate, 60);
	CU_ASSERT_EQUAL(prof->key_usage, CONFIG_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(prof->ext_key_usage, CONFIG_EKU_SERVER_AUTH);
	CU_ASSERT_EQUAL(prof->rsa_min_bits, 2048);
	CU_ASSERT_EQUAL_FATAL(prof->n_dns_suffixes, 2);
	CU_ASSERT_STRING_EQUAL(prof->dns_suffixes[1], "localhost");
	CU_ASSERT_EQUAL_FATAL(prof->n_ip_ranges, 2);
	CU_ASSERT_EQUAL(prof->ip_ranges[0].family, AF_INET);
	CU_ASSERT_EQUAL(prof->ip_ranges[0].prefix, 8);
	CU_ASSERT_EQUAL(prof->ip_ranges[1].family, AF_INET6);
	CU_ASSERT_PTR_NULL(sd_config_profile(cfg, "client"));

	cl = sd_config_client_by_cn(cfg, "issuer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_TRUE(sd_config_client_may_use(cl, "server"));
	CU_ASSERT_FALSE(sd_config_client_may_use(cl, "client"));
	CU_ASSERT_PTR_NULL(sd_config_client_by_cn(cfg, "auditor"));
	cl = sd_config_client_by_cn(cfg, "audit-team");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_EQUAL(cl->roles, CONFIG_ROLE_AUDITOR);
	CU_ASSERT_FALSE(sd_config_client_may_use(cl, "server"));

	CU_ASSERT_EQUAL(sd_config_apply_environment(cfg), 0);
	CU_ASSERT_STRING_EQUAL(getenv("SD_TEST_CONF_ENV"), "hello");
	sd_config_free(cfg);
}

/* Each bad line must fail with SD_E_CONFIG and a detail containing needle. */
static void
expect_refused(const char *extra, const char *needle)
{
	struct sd_config *cfg = NULL;
	int rc = load_with(extra, &cfg);

	CU_ASSERT_EQUAL(rc, SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(cfg);
	if (rc == SD_E_CONFIG && strstr(sd_error_detail(rc), needle) == NULL) {
		fprintf(stderr, "detail '%s' lacks '%s'\n", sd_error_detail(rc), needle);
		CU_FAIL("detail does not name the problem");
	}
	sd_config_free(cfg);
}

static void
test_refusals(void)
{
	expect_refused("[nosuch]\nx = 1", "unknown section [nosuch]");
	expect_refused("[hsm]\nsessions = 0", "'sessions'");
	expect_refused("[api]\nport = 70000", "'port'");
	expect_refused("[api]\nport = 12ab", "'port'");
	expect_refused("[api]\nlisten = localhost", "not an IPv4 or IPv6 address");
	expect_refused("[api]\nbogus = 1", "unknown key 'bogus' in [api]");
	expect_refused("[profile p2]\nmax_ttl = 1h\ndns_suffixes = a.b\nkey_usage = sign", "unknown value 'sign'");
	expect_refused("[profile p2]\nmax_ttl = forever\ndns_suffixes = a.b", "bad duration 'forever'");
	expect_refused("[profile p2]\nip_ranges = 10.1.2.3/8", "host bits set");
	expect_refused("[profile p2]\nip_ranges = 10.0.0.0/33", "bad prefix length");
	expect_refused("[profile p2]\ndns_suffixes = exa mple.com", "not a DNS name");
	expect_refused("[profile p2]\ndns_suffixes = a.com, a.com", "twice");
	expect_refused("[profile p2]\nmax_ttl = 1h", "allows no names");
	expect_refused("[profile p2]\ndefault_ttl = 2h\nmax_ttl = 1h\ndns_suffixes = a.b", "default_ttl exceeds max_ttl");
	expect_refused("[profile Bad]\ndns_suffixes = a.b", "name must be");
	expect_refused("[profile server]\nbackdate = 1", "appears twice");
	expect_refused("[client c2]\nroles = issuer\nprofiles = nosuch", "unknown profile nosuch");
	expect_refused("[client c2]\nroles = auditor\nprofiles = server", "lacks the issuer role");
	expect_refused("[client c2]\nroles = admin", "unknown value 'admin'");
	expect_refused("[client c2]\nsubject_cn = issuer\nroles = issuer", "same subject_cn");
	expect_refused("[client c2]\nprofiles = server", "has no roles");
	expect_refused("[ca]\nkey = pkcs11:object=again", "set twice");
	expect_refused("not a key value line", "syntax error");
}

static void
test_missing_required(void)
{
	struct sd_config *cfg = NULL;
	int rc;

	rc = load_text("[hsm]\nmodule = /m.so\n", &cfg);
	CU_ASSERT_EQUAL(rc, SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(rc), "missing [hsm] token"));
	CU_ASSERT_PTR_NULL(cfg);
	rc = sd_config_load("/nonexistent/signerd.conf", &cfg);
	CU_ASSERT_EQUAL(rc, SD_E_IO);
	CU_ASSERT_PTR_NULL(cfg);
}

static void
test_duration(void)
{
	uint64_t s = 0;

	CU_ASSERT_EQUAL(sd_config_parse_duration("90", &s), 0);
	CU_ASSERT_EQUAL(s, 90);
	CU_ASSERT_EQUAL(sd_config_parse_duration("15m", &s), 0);
	CU_ASSERT_EQUAL(s, 900);
	CU_ASSERT_EQUAL(sd_config_parse_duration("12h", &s), 0);
	CU_ASSERT_EQUAL(s, 43200);
	CU_ASSERT_EQUAL(sd_config_parse_duration("30d", &s), 0);
	CU_ASSERT_EQUAL(s, 30 * 86400);
	CU_ASSERT_EQUAL(sd_config_parse_duration("", &s), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_duration("h", &s), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_duration("-5s", &s), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_duration("5w", &s), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_duration("99999999999999999999", &s), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_duration("36501d", &s), SD_E_CONFIG);
}

static void
test_ip_range(void)
{
	struct config_ip_range r;

	CU_ASSERT_EQUAL(sd_config_parse_ip_range("192.168.0.0/16", &r), 0);
	CU_ASSERT_EQUAL(r.family, AF_INET);
	CU_ASSERT_EQUAL(r.prefix, 16);
	CU_ASSERT_EQUAL(r.addr[0], 192);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("10.0.0.7", &r), 0);
	CU_ASSERT_EQUAL(r.prefix, 32);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("0.0.0.0/0", &r), 0);
	CU_ASSERT_EQUAL(r.prefix, 0);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("fd00::/8", &r), 0);
	CU_ASSERT_EQUAL(r.family, AF_INET6);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("fd00::/129", &r), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("300.0.0.0/8", &r), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("/8", &r), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("10.0.0.0/", &r), SD_E_CONFIG);
	CU_ASSERT_EQUAL(sd_config_parse_ip_range("10.0.0.1/24", &r), SD_E_CONFIG);
}

int
main(void)
{
	static const struct sd_test_case load[] = {
		{ "full file", test_load_full },
		{ "refusals name the problem", test_refusals },
		{ "missing required keys and files", test_missing_required },
	};
	static const struct sd_test_case values[] = {
		{ "durations", test_duration },
		{ "IP ranges", test_ip_range },
	};
	int rc;

	sd_test_tmpdir(tmp, "config");
	SD_TEST_SUITE("config load", load);
	SD_TEST_SUITE("config values", values);
	rc = sd_test_run("test_config");
	sd_test_rmtree(tmp);
	return rc;
}
