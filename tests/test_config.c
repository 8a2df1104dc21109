/* Unit tests for the configuration parser (signer/config/). */
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
	CU_ASSERT_FALSE(cfg->hsm_session_keys);	/* off unless asked for */
	CU_ASSERT_EQUAL(cfg->hsm_concurrency, 0);	/* no limit of its own */
	CU_ASSERT_EQUAL(cfg->hsm_queue, 256);
	CU_ASSERT_EQUAL(cfg->hsm_queue_wait_ms, 2000);
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

	cl = sd_config_client_by_name(cfg, "issuer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_TRUE(sd_config_client_may_use(cl, "server"));
	CU_ASSERT_FALSE(sd_config_client_may_use(cl, "client"));
	CU_ASSERT_STRING_EQUAL(cl->subject_cn, "issuer");
	CU_ASSERT_PTR_NULL(sd_config_client_by_name(cfg, "audit-team"));
	cl = sd_config_client_by_name(cfg, "auditor");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_STRING_EQUAL(cl->subject_cn, "audit-team");
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

/* The revocation keys' defaults, and which certificates are short-lived. */
static void
test_revocation_defaults(void)
{
	struct sd_config *cfg = NULL;

	CU_ASSERT_EQUAL_FATAL(load_with("", &cfg), 0);
	CU_ASSERT_STRING_EQUAL(cfg->ca_name, "issuing");
	CU_ASSERT_EQUAL(cfg->ca_crl_validity, 86400);
	CU_ASSERT_EQUAL(cfg->ca_crl_delay, 2);
	CU_ASSERT_EQUAL(cfg->ca_delta_crl_validity, 0);
	CU_ASSERT_PTR_NULL(cfg->ca_delta_crl_url);
	CU_ASSERT_PTR_NULL(cfg->ca_ocsp_key);
	CU_ASSERT_EQUAL(cfg->ca_ocsp_validity, 4 * 3600);
	CU_ASSERT_EQUAL(cfg->ca_ocsp_signatures_per_second, 50);
	CU_ASSERT_EQUAL(cfg->ca_short_lived, 7 * 86400);
	CU_ASSERT_FALSE(cfg->ca_ocsp_short_lived);
	CU_ASSERT_PTR_NULL(cfg->api_public_listen);
	CU_ASSERT_TRUE(sd_config_short_lived(cfg, 7 * 86400));
	CU_ASSERT_FALSE(sd_config_short_lived(cfg, 7 * 86400 + 1));
	CU_ASSERT_FALSE(sd_config_short_lived(cfg, -1));
	cfg->ca_short_lived = 0;
	CU_ASSERT_FALSE(sd_config_short_lived(cfg, 60));
	sd_config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(load_with("[ca]\nname = sub-2.example\nshort_lived = 0\ndelta_crl_validity = 1h\n"
	    "delta_crl_url = http://127.0.0.1:8444/v1/crl/delta\n[api]\npublic_listen = ::1\npublic_port = 8444", &cfg), 0);
	CU_ASSERT_STRING_EQUAL(cfg->ca_name, "sub-2.example");
	CU_ASSERT_EQUAL(cfg->ca_short_lived, 0);
	CU_ASSERT_EQUAL(cfg->ca_delta_crl_validity, 3600);
	CU_ASSERT_STRING_EQUAL(cfg->api_public_listen, "::1");
	CU_ASSERT_EQUAL(cfg->api_public_port, 8444);
	sd_config_free(cfg);
}

/* [acme]: every key's default when the section is absent, then every key given. */
static void
test_acme_keys(void)
{
	struct sd_config *cfg = NULL;
	char want[PATH_MAX * 2];

	CU_ASSERT_EQUAL_FATAL(load_with("", &cfg), 0);
	(void)snprintf(want, sizeof(want), "%s/acme", cfg->journal_path);
	CU_ASSERT_STRING_EQUAL(cfg->acme_path, want);
	(void)snprintf(want, sizeof(want), "%s/journal/acme", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->acme_path, want);
	CU_ASSERT_EQUAL(cfg->acme_map_size, 256 * 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->acme_http_port, 80);
	CU_ASSERT_EQUAL(cfg->acme_tls_port, 443);
	CU_ASSERT_EQUAL(cfg->n_acme_hosts, 0);
	CU_ASSERT_EQUAL(cfg->acme_validation_timeout, 10);
	CU_ASSERT_EQUAL(cfg->acme_validations, 8);
	CU_ASSERT_EQUAL(cfg->acme_nonces, 65536);
	CU_ASSERT_EQUAL(cfg->acme_nonce_lifetime, 3600);
	CU_ASSERT_EQUAL(cfg->acme_order_lifetime, 86400);
	CU_ASSERT_EQUAL(cfg->acme_authorization_lifetime, 86400);
	CU_ASSERT_EQUAL(cfg->acme_orders_per_hour, 300);
	CU_ASSERT_EQUAL(cfg->acme_pending_authorizations, 100);
	CU_ASSERT_EQUAL(cfg->acme_identifiers_per_order, 100);
	sd_config_free(cfg);

	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\npath = acme-state\nmap_size_mb = 1\nhttp_port = 5002\n"
	    "tls_port = 5001\nhosts = a.example=127.0.0.1, b-2.test=::1\nvalidation_timeout = 1s\n"
	    "validations = 1\nnonces = 16\nnonce_lifetime = 60\norder_lifetime = 1m\n"
	    "authorization_lifetime = 60s\norders_per_hour = 1000000\npending_authorizations = 100000\n"
	    "identifiers_per_order = 100", &cfg), 0);
	(void)snprintf(want, sizeof(want), "%s/acme-state", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->acme_path, want);
	CU_ASSERT_EQUAL(cfg->acme_map_size, 1024 * 1024);
	CU_ASSERT_EQUAL(cfg->acme_http_port, 5002);
	CU_ASSERT_EQUAL(cfg->acme_tls_port, 5001);
	CU_ASSERT_EQUAL_FATAL(cfg->n_acme_hosts, 2);
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[0].name, "a.example");
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[0].address, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[1].name, "b-2.test");
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[1].address, "::1");
	CU_ASSERT_EQUAL(cfg->acme_validation_timeout, 1);
	CU_ASSERT_EQUAL(cfg->acme_validations, 1);
	CU_ASSERT_EQUAL(cfg->acme_nonces, 16);
	CU_ASSERT_EQUAL(cfg->acme_nonce_lifetime, 60);
	CU_ASSERT_EQUAL(cfg->acme_order_lifetime, 60);
	CU_ASSERT_EQUAL(cfg->acme_authorization_lifetime, 60);
	CU_ASSERT_EQUAL(cfg->acme_orders_per_hour, 1000000);
	CU_ASSERT_EQUAL(cfg->acme_pending_authorizations, 100000);
	CU_ASSERT_EQUAL(cfg->acme_identifiers_per_order, 100);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\npath = /var/lib/acme\nhosts = a.example=127.0.0.1, b-2.test=::1, "
	    "c.example=192.0.2.7\nvalidation_timeout = 60s\nvalidations = 64\nnonces = 1048576\n"
	    "nonce_lifetime = 5m\norder_lifetime = 2h\nauthorization_lifetime = 30d\norders_per_hour = 0\n"
	    "pending_authorizations = 1\nidentifiers_per_order = 1", &cfg), 0);
	CU_ASSERT_STRING_EQUAL(cfg->acme_path, "/var/lib/acme");
	CU_ASSERT_EQUAL_FATAL(cfg->n_acme_hosts, 3);
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[2].name, "c.example");
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[2].address, "192.0.2.7");
	CU_ASSERT_EQUAL(cfg->acme_validation_timeout, 60);
	CU_ASSERT_EQUAL(cfg->acme_validations, 64);
	CU_ASSERT_EQUAL(cfg->acme_nonces, 1048576);
	CU_ASSERT_EQUAL(cfg->acme_nonce_lifetime, 300);
	CU_ASSERT_EQUAL(cfg->acme_order_lifetime, 7200);
	CU_ASSERT_EQUAL(cfg->acme_authorization_lifetime, 30 * 86400);
	CU_ASSERT_EQUAL(cfg->acme_orders_per_hour, 0);	/* given as 0: no limit, not the default */
	CU_ASSERT_EQUAL(cfg->acme_pending_authorizations, 1);
	CU_ASSERT_EQUAL(cfg->acme_identifiers_per_order, 1);
	sd_config_free(cfg);
}

/* [acme]: each bound, the hosts entries, a second line. */
static void
test_acme_refusals(void)
{
	struct sd_config *cfg = NULL;
	char text[CONFIG_LIST_MAX * 32 + 64];
	size_t i, n;

	expect_refused("[hsm]\nconcurrency = 4097", "key 'concurrency': '4097' is not a number in 0..4096");
	expect_refused("[hsm]\nqueue = 16385", "key 'queue': '16385' is not a number in 0..16384");
	expect_refused("[hsm]\nqueue_wait_ms = 60001", "key 'queue_wait_ms': '60001' is not a number in 0..60000");
	expect_refused("[hsm]\nqueue_wait_ms = 2s", "key 'queue_wait_ms': '2s' is not a number in 0..60000");
	expect_refused("[acme]\nmap_size_mb = 0", "key 'map_size_mb': '0' is not a number in 1..1048576");
	expect_refused("[acme]\nhttp_port = 0", "key 'http_port': '0' is not a number in 1..65535");
	expect_refused("[acme]\nhttp_port = 65536", "key 'http_port': '65536' is not a number in 1..65535");
	expect_refused("[acme]\ntls_port = 0", "key 'tls_port': '0' is not a number in 1..65535");
	expect_refused("[acme]\nvalidation_timeout = 0", "key 'validation_timeout': '0' is outside 1s..60s");
	expect_refused("[acme]\nvalidation_timeout = 61s", "key 'validation_timeout': '61s' is outside 1s..60s");
	expect_refused("[acme]\nvalidation_timeout = soon", "key 'validation_timeout': bad duration 'soon'");
	expect_refused("[acme]\nvalidations = 0", "key 'validations': '0' is not a number in 1..64");
	expect_refused("[acme]\nvalidations = 65", "key 'validations': '65' is not a number in 1..64");
	expect_refused("[acme]\nnonces = 15", "key 'nonces': '15' is not a number in 16..1048576");
	expect_refused("[acme]\nnonces = 1048577", "key 'nonces': '1048577' is not a number in 16..1048576");
	expect_refused("[acme]\nnonce_lifetime = 59s", "key 'nonce_lifetime': '59s' is outside 60s..86400s");
	expect_refused("[acme]\nnonce_lifetime = 2d", "key 'nonce_lifetime': '2d' is outside 60s..86400s");
	expect_refused("[acme]\norder_lifetime = 0", "key 'order_lifetime': '0' is outside 60s..2592000s");
	expect_refused("[acme]\norder_lifetime = 31d", "key 'order_lifetime': '31d' is outside 60s..2592000s");
	expect_refused("[acme]\nauthorization_lifetime = 31d",
	    "key 'authorization_lifetime': '31d' is outside 60s..2592000s");
	expect_refused("[acme]\norders_per_hour = 1000001",
	    "key 'orders_per_hour': '1000001' is not a number in 0..1000000");
	expect_refused("[acme]\npending_authorizations = 0",
	    "key 'pending_authorizations': '0' is not a number in 1..100000");
	expect_refused("[acme]\nidentifiers_per_order = 0",
	    "key 'identifiers_per_order': '0' is not a number in 1..100");
	expect_refused("[acme]\nidentifiers_per_order = 101",
	    "key 'identifiers_per_order': '101' is not a number in 1..100");
	expect_refused("[acme]\npath =", "key 'path' is empty");
	expect_refused("[acme]\nnonces = 64\nnonces = 128", "key 'nonces' is set twice");
	expect_refused("[acme]\nbogus = 1", "unknown key 'bogus' in [acme]");
	/* hosts entries. */
	expect_refused("[acme]\nhosts = a.example", "'hosts': 'a.example' is not name=address");
	expect_refused("[acme]\nhosts = a.example=localhost", "'hosts': 'localhost' is not an IPv4 or IPv6 address");
	expect_refused("[acme]\nhosts = a.example=10.0.0.1/8", "'hosts': '10.0.0.1/8' is not an IPv4 or IPv6 address");
	expect_refused("[acme]\nhosts = a.example=", "'hosts': '' is not an IPv4 or IPv6 address");
	/* config_list() trims each item, not the sides of its '='. */
	expect_refused("[acme]\nhosts = c.example = 192.0.2.7", "'hosts': 'c.example ' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = A.example=127.0.0.1", "'hosts': 'A.example' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = a..example=127.0.0.1", "'hosts': 'a..example' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = -a.example=127.0.0.1", "'hosts': '-a.example' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = a.example.=127.0.0.1", "'hosts': 'a.example.' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = *.example=127.0.0.1", "'hosts': '*.example' is not a lower-case DNS name");
	expect_refused("[acme]\nhosts = =127.0.0.1", "'hosts': '=127.0.0.1' does not start with a DNS name");
	expect_refused("[acme]\nhosts = a.example=127.0.0.1, a.example=::1", "'hosts' lists 'a.example' twice");
	/* Each line adds entries (an inih line holds a few): CONFIG_LIST_MAX of them, not one more. */
	n = (size_t)snprintf(text, sizeof(text), "[acme]");
	for (i = 0; i <= CONFIG_LIST_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%shost%zu.test=10.0.0.1",
		    i % 4 ? ", " : "\nhosts = ", i);
	CU_ASSERT_FATAL(n < sizeof(text));
	expect_refused(text, "'hosts' has more than 64 entries");
	*strrchr(text, '\n') = '\0';	/* the last line holds host64 alone */
	CU_ASSERT_EQUAL_FATAL(load_with(text, &cfg), 0);
	CU_ASSERT_EQUAL_FATAL(cfg->n_acme_hosts, CONFIG_LIST_MAX);
	CU_ASSERT_STRING_EQUAL(cfg->acme_hosts[63].name, "host63.test");
	sd_config_free(cfg);
}

/* [acme] resolver: unset by default; IPv4 or bracketed IPv6, port 53 unless given; never a name. */
static void
test_acme_resolver(void)
{
	static const struct {
		const char *value, *address;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1:5353", "127.0.0.1", 5353 },
		{ "192.0.2.53", "192.0.2.53", 53 },
		{ "[::1]:5353", "::1", 5353 },
		{ "[2001:db8::53]", "2001:db8::53", 53 },
		{ "[::ffff:192.0.2.1]:65535", "::ffff:192.0.2.1", 65535 },
	};
	struct sd_config *cfg = NULL;
	char text[128];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(load_with("", &cfg), 0);
	CU_ASSERT_PTR_NULL(cfg->acme_resolver);
	CU_ASSERT_EQUAL(cfg->acme_resolver_port, 0);
	CU_ASSERT_STRING_EQUAL(cfg->acme_resolver_address, "");
	sd_config_free(cfg);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cfg = NULL;
		(void)snprintf(text, sizeof(text), "[acme]\nresolver = %s", good[i].value);
		CU_ASSERT_EQUAL_FATAL(load_with(text, &cfg), 0);
		CU_ASSERT_STRING_EQUAL(cfg->acme_resolver, good[i].value);
		CU_ASSERT_STRING_EQUAL(cfg->acme_resolver_address, good[i].address);
		CU_ASSERT_EQUAL(cfg->acme_resolver_port, good[i].port);
		sd_config_free(cfg);
	}
	expect_refused("[acme]\nresolver =", "'resolver': '' is not an IPv4 address");
	expect_refused("[acme]\nresolver = dns.example:53",
	    "'resolver': 'dns.example' is not an IPv4 address (a name is not resolved here)");
	expect_refused("[acme]\nresolver = 127.0.0.1:0", "key 'resolver': '0' is not a number in 1..65535");
	expect_refused("[acme]\nresolver = 127.0.0.1:65536", "key 'resolver': '65536' is not a number in 1..65535");
	expect_refused("[acme]\nresolver = 127.0.0.1:", "key 'resolver': '' is not a number in 1..65535");
	expect_refused("[acme]\nresolver = 127.0.0.1:53x", "key 'resolver': '53x' is not a number in 1..65535");
	expect_refused("[acme]\nresolver = 127.0.0.256", "'resolver': '127.0.0.256' is not an IPv4 address");
	expect_refused("[acme]\nresolver = ::1", "'resolver': '::1': write an IPv6 address in brackets, as [::1]:53");
	expect_refused("[acme]\nresolver = [::1", "'resolver': '[::1' has no ']' after its IPv6 address");
	expect_refused("[acme]\nresolver = []:53", "'resolver': '[]:53' is not an IPv6 address in brackets");
	expect_refused("[acme]\nresolver = [127.0.0.1]:53", "'resolver': '127.0.0.1' is not an IPv6 address");
	expect_refused("[acme]\nresolver = [::1]5353", "'resolver': '[::1]5353' has something other than ':PORT' after ']'");
	expect_refused("[acme]\nresolver = 127.0.0.1\nresolver = 127.0.0.2", "key 'resolver' is set twice");
}

/* [profile NAME] acme, acme_eab and renewal_window. */
static void
test_acme_profile(void)
{
	struct sd_config *cfg = NULL;
	const struct config_profile *prof;

	CU_ASSERT_EQUAL_FATAL(load_with("[profile acme]\nacme = true\nacme_eab = false\nrenewal_window = 0-100\n"
	    "ext_key_usage = serverAuth\ndns_suffixes = example.com", &cfg), 0);
	prof = sd_config_profile(cfg, "server");
	CU_ASSERT_PTR_NOT_NULL_FATAL(prof);
	CU_ASSERT_FALSE(prof->acme);
	CU_ASSERT_TRUE(prof->acme_eab);
	CU_ASSERT_EQUAL(prof->renewal_window_start, 33);
	CU_ASSERT_EQUAL(prof->renewal_window_end, 66);
	prof = sd_config_profile(cfg, "acme");
	CU_ASSERT_PTR_NOT_NULL_FATAL(prof);
	CU_ASSERT_TRUE(prof->acme);
	CU_ASSERT_FALSE(prof->acme_eab);
	CU_ASSERT_EQUAL(prof->renewal_window_start, 0);
	CU_ASSERT_EQUAL(prof->renewal_window_end, 100);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[profile a2]\nrenewal_window = 50-51\next_key_usage = serverAuth\n"
	    "dns_suffixes = example.com", &cfg), 0);
	prof = sd_config_profile(cfg, "a2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(prof);
	CU_ASSERT_EQUAL(prof->renewal_window_start, 50);
	CU_ASSERT_EQUAL(prof->renewal_window_end, 51);
	sd_config_free(cfg);

	expect_refused("[profile a2]\nrenewal_window = 66-33", "key 'renewal_window': '66-33' is not START-END with "
	    "0 <= START < END <= 100");
	expect_refused("[profile a2]\nrenewal_window = 0-101", "key 'renewal_window': '0-101' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = 50", "key 'renewal_window': '50' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = a-b", "key 'renewal_window': 'a-b' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = 50-50", "key 'renewal_window': '50-50' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = -5-10", "key 'renewal_window': '-5-10' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = 10-", "key 'renewal_window': '10-' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = 0010-20", "key 'renewal_window': '0010-20' is not START-END");
	expect_refused("[profile a2]\nrenewal_window = 10-20\nrenewal_window = 20-30", "key 'renewal_window' is set twice");
	expect_refused("[profile a2]\nacme = yes", "key 'acme': 'yes' is not true or false");
	expect_refused("[profile a2]\nacme_eab = 1", "key 'acme_eab': '1' is not true or false");
	expect_refused("[profile sub]\nca = true\nacme = true\ncn_must_be_san = false",
	    "profile sub: acme = true is for leaf profiles only");
}

static void
test_refusals(void)
{
	expect_refused("[nosuch]\nx = 1", "unknown section [nosuch]");
	expect_refused("[hsm]\nsessions = 0", "'sessions'");
	expect_refused("[hsm]\nsession_keys = maybe", "key 'session_keys': 'maybe' is not true or false");
	expect_refused("[api]\nport = 70000", "'port'");
	expect_refused("[api]\nport = 12ab", "'port'");
	expect_refused("[api]\nlisten = localhost", "not an IPv4 or IPv6 address");
	expect_refused("[api]\nbogus = 1", "unknown key 'bogus' in [api]");
	/* Revocation publishing. */
	expect_refused("[api]\npublic_listen = pki.example.com", "'public_listen': 'pki.example.com' is not an IPv4");
	expect_refused("[api]\npublic_port = 8444", "public_port needs public_listen");
	expect_refused("[ca]\nocsp_key = pkcs11:object=ocsp", "ocsp_key and ocsp_certificate go together");
	expect_refused("[ca]\nocsp_certificate = ocsp.pem", "ocsp_key and ocsp_certificate go together");
	expect_refused("[ca]\ndelta_crl_url = http://crl.example.com/delta", "delta_crl_url needs delta_crl_validity");
	expect_refused("[ca]\ndelta_crl_url = ldap://crl.example.com/", "not an http:// or https:// URL");
	expect_refused("[ca]\nname = a/b", "'name': 'a/b' is not 1 to 64 letters");
	expect_refused("[ca]\nname = ..", "'name': '..' is not");
	expect_refused("[ca]\ncrl_validity = 30s", "'crl_validity'");
	expect_refused("[ca]\nshort_lived = 7d\nshort_lived = 1d", "set twice");
	expect_refused("[profile p2]\nmax_ttl = 1h\ndns_suffixes = a.b\nkey_usage = sign", "unknown value 'sign'");
	expect_refused("[profile p2]\nmax_ttl = forever\ndns_suffixes = a.b", "bad duration 'forever'");
	expect_refused("[profile p2]\nip_ranges = 10.1.2.3/8", "host bits set");
	expect_refused("[profile p2]\nip_ranges = 10.0.0.0/33", "bad prefix length");
	expect_refused("[profile p2]\ndns_suffixes = exa mple.com", "not a DNS name");
	expect_refused("[profile p2]\ndns_suffixes = a.com, a.com", "twice");
	expect_refused("[profile p2]\nmax_ttl = 1h\next_key_usage = serverAuth", "allows no names");
	expect_refused("[profile p2]\ndefault_ttl = 2h\nmax_ttl = 1h\ndns_suffixes = a.b\next_key_usage = serverAuth",
	    "default_ttl exceeds max_ttl");
	expect_refused("[profile Bad]\ndns_suffixes = a.b", "name must be");
	expect_refused("[profile server]\nbackdate = 1", "appears twice");
	expect_refused("[client c2]\nroles = issuer\nprofiles = nosuch", "unknown profile nosuch");
	expect_refused("[client c2]\nroles = auditor\nprofiles = server", "lacks the issuer role");
	expect_refused("[client c2]\nroles = root", "unknown value 'root'");
	expect_refused("[client c2]\nsubject_cn = issuer\nroles = issuer", "have the same subject_cn, spki_sha256 and san");
	expect_refused("[client c2]\nprofiles = server", "has no roles");
	expect_refused("[ca]\nkey = pkcs11:object=again", "set twice");
	expect_refused("not a key value line", "syntax error");
}

#define PIN_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PIN_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

/* The client that id matches in cfg, its name, or "none"; "ambiguous" when two do. */
static const char *
match_name(const struct sd_config *cfg, const char *cn, uint8_t spki_byte, const char *const *sans, size_t n)
{
	uint8_t spki[32];
	struct config_client_identity id = { cn, spki, sans, n };
	const struct config_client *cl, *also;

	memset(spki, spki_byte, sizeof(spki));
	cl = sd_config_client_match(cfg, &id, &also);
	if (cl != NULL && also != NULL)
		return "ambiguous";
	return cl != NULL ? cl->name : "none";
}

/* [client] spki_sha256 and san: parsing, defaults, the refusals. */
static void
test_client_selectors(void)
{
	struct sd_config *cfg = NULL;
	const struct config_client *cl;

	CU_ASSERT_EQUAL_FATAL(load_with("[client pinned]\nspki_sha256 = " PIN_A ", " PIN_B "\nsan = URI:spiffe://x.test/a, "
	    "DNS:Host.Example\nsan = DNS:other.example\nroles = issuer, revoker\nprofiles = server\n"
	    "[client both]\nsubject_cn = issuer\nspki_sha256 = " PIN_A "\nroles = revoker", &cfg), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl = sd_config_client_by_name(cfg, "pinned"));
	/* Pinned: the CN is not consulted unless the file says so. */
	CU_ASSERT_PTR_NULL(cl->subject_cn);
	CU_ASSERT_EQUAL_FATAL(cl->n_spki_sha256, 2);
	CU_ASSERT_STRING_EQUAL(cl->spki_sha256[1], "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	CU_ASSERT_EQUAL_FATAL(cl->n_sans, 3);
	CU_ASSERT_STRING_EQUAL(cl->sans[0], "URI:spiffe://x.test/a");
	CU_ASSERT_STRING_EQUAL(cl->sans[1], "DNS:host.example");
	CU_ASSERT_EQUAL(cl->roles, CONFIG_ROLE_ISSUER | CONFIG_ROLE_REVOKER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl = sd_config_client_by_name(cfg, "both"));
	CU_ASSERT_STRING_EQUAL(cl->subject_cn, "issuer");
	CU_ASSERT_EQUAL(cl->roles, CONFIG_ROLE_REVOKER);
	sd_config_free(cfg);

	expect_refused("[client c2]\nspki_sha256 = abc\nroles = issuer", "is not 64 hex digits");
	expect_refused("[client c2]\nspki_sha256 = " PIN_A "0\nroles = issuer", "is not 64 hex digits");
	expect_refused("[client c2]\nspki_sha256 = " "g" PIN_A "\nroles = issuer", "is not 64 hex digits");
	expect_refused("[client c2]\nspki_sha256 = " PIN_A ", aa" PIN_A "\nroles = issuer", "not 64 hex");
	/* The same pin in two cases is the same pin. */
	expect_refused("[client c2]\nspki_sha256 = " PIN_B ", bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
	    "roles = issuer", "twice");
	expect_refused("[client c2]\nsan = spiffe://x.test/a\nroles = issuer", "must start with URI: or DNS:");
	expect_refused("[client c2]\nsan = URI:not a uri\nroles = issuer", "is not URI:scheme://");
	expect_refused("[client c2]\nsan = URI:spiffe://x.test/a b\nroles = issuer", "a space or a non-ASCII");
	expect_refused("[client c2]\nsan = DNS:-bad.example\nroles = issuer", "is not a DNS name");
	expect_refused("[client c2]\nsan = DNS:a_b.example\nroles = issuer", "is not a DNS name");
	expect_refused("[client c2]\nsan = DNS:\nroles = issuer", "is not a DNS name");
	/* Two clients no certificate could tell apart, whatever the order or case of their selectors. */
	expect_refused("[client c2]\nspki_sha256 = " PIN_A ", " PIN_B "\nroles = issuer\n"
	    "[client c3]\nspki_sha256 = " PIN_B ", " PIN_A "\nroles = auditor", "clients c2 and c3 have the same");
	expect_refused("[client c2]\nsan = DNS:a.example\nroles = issuer\n"
	    "[client c3]\nsan = DNS:A.example\nroles = auditor", "clients c2 and c3 have the same");
	/* Same pin, different CN: they can be told apart. */
	CU_ASSERT_EQUAL(load_with("[client c2]\nsubject_cn = x\nspki_sha256 = " PIN_A "\nroles = issuer\n"
	    "[client c3]\nsubject_cn = y\nspki_sha256 = " PIN_A "\nroles = auditor", &cfg), 0);
	sd_config_free(cfg);
}

/* sd_config_client_match(): every selector a client has must match; two matches are ambiguous. */
static void
test_client_match(void)
{
	static const char *const spiffe[] = { "DNS:unrelated.example", "URI:spiffe://x.test/a" };
	static const char *const spiffe_upper[] = { "URI:SPIFFE://x.test/a" };
	static const char *const dns_mixed[] = { "DNS:HOST.example" };
	static const char *const dns_as_uri[] = { "URI:host.example" };
	static const char *const all[] = { "URI:spiffe://x.test/a", "DNS:Host.Example" };
	struct sd_config *cfg = NULL;
	uint8_t a = 0xaa;

	CU_ASSERT_EQUAL_FATAL(load_with("[client pinned]\nspki_sha256 = " PIN_A "\nroles = issuer\n"
	    "[client spiffe]\nsan = URI:spiffe://x.test/a\nroles = auditor\n"
	    "[client dns]\nsan = DNS:host.example\nroles = auditor\n"
	    "[client strict]\nsubject_cn = strict\nspki_sha256 = " PIN_B "\nsan = URI:spiffe://x.test/a, DNS:host.example\n"
	    "roles = admin", &cfg), 0);
	/* CN only, as before. */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "issuer", 0x01, NULL, 0), "issuer");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "audit-team", 0x01, NULL, 0), "auditor");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "auditor", 0x01, NULL, 0), "none");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, NULL, 0), "none");
	/* A pinned client: its key, whatever the CN; the CN "pinned" with another key is nobody. */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "anything", a, NULL, 0), "pinned");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, a, NULL, 0), "pinned");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "pinned", 0x01, NULL, 0), "none");
	/* SANs: URIs exactly, DNS names in any case, types not mixed. */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, spiffe, 2), "spiffe");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, spiffe_upper, 1), "none");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, dns_mixed, 1), "dns");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, dns_as_uri, 1), "none");
	/* Both SANs: spiffe and dns both match. */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, NULL, 0x01, all, 2), "ambiguous");
	/* CN issuer with the pinned key: issuer (by CN) and pinned (by key). */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "issuer", a, NULL, 0), "ambiguous");
	/* strict needs all three of its selectors; with them, spiffe and dns match too. */
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "strict", 0xbb, spiffe, 2), "spiffe");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "strict", 0xbb, all, 2), "ambiguous");
	CU_ASSERT_STRING_EQUAL(match_name(cfg, "strict", 0x01, all, 2), "ambiguous");
	CU_ASSERT_FALSE(sd_config_client_pinned_to(sd_config_client_by_name(cfg, "pinned"), (const uint8_t *)"x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	CU_ASSERT_TRUE(sd_config_client_pinned_to(sd_config_client_by_name(cfg, "issuer"), (const uint8_t *)"x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	sd_config_free(cfg);

	/* [api] client_crl and require_client_auth_eku. */
	CU_ASSERT_EQUAL_FATAL(load_with("", &cfg), 0);
	CU_ASSERT_PTR_NULL(cfg->api_client_crl);
	CU_ASSERT_FALSE(cfg->api_require_client_auth_eku);
	sd_config_free(cfg);
	CU_ASSERT_EQUAL_FATAL(load_with("[api]\nclient_crl = tls/client.crl\nrequire_client_auth_eku = true", &cfg), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg->api_client_crl, "/tls/client.crl"));
	CU_ASSERT_TRUE(cfg->api_require_client_auth_eku);
	sd_config_free(cfg);
	expect_refused("[api]\nrequire_client_auth_eku = yes", "'require_client_auth_eku': 'yes' is not true or false");
	expect_refused("[api]\nclient_crl = a\nclient_crl = b", "set twice");
}

/* A leaf profile section with the given extra lines (one name source and an EKU already set). */
#define LEAF "[profile p2]\next_key_usage = clientAuth\ndns_suffixes = example.com\n"
#define SUBCA "[profile sub]\nca = true\n"

static void
test_profile_keys(void)
{
	struct sd_config *cfg = NULL;
	const struct config_profile *p;

	if (load_with(LEAF "key_types = p256, ed25519\nsubject_attributes = CN, O, OU\n"
	    "cn_must_be_san = false\nwildcards = true\nuri_prefixes = spiffe://example.com/, https://example.com/app/\n"
	    "spiffe_trust_domain = example.com\nemail_domains = example.com\nkey_usage = digitalSignature, keyAgreement\n"
	    "crl_url = http://crl.example.com/ca.crl\nocsp_url = http://ocsp.example.com/\n"
	    "ca_issuers_url = https://pki.example.com/ca.der\n"
	    SUBCA "path_len = 0\npermitted_dns = example.com, example.org\nexcluded_dns = bad.example.com\n"
	    "permitted_ip = 10.0.0.0/8\nexcluded_ip = 10.9.0.0/16\nsubject_attributes = CN, O, C\n"
	    "ext_key_usage = clientAuth, serverAuth, emailProtection, codeSigning\n"
	    "[client admin]\nroles = issuer, admin\nprofiles = sub, p2\n[ca]\nkey_blocklist = blocked.txt\n"
	    "retired_certificates = old/ica-2025.pem", &cfg) != 0)
		fprintf(stderr, "load: %s\n", sd_error_detail(SD_E_CONFIG));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	p = sd_config_profile(cfg, "p2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->key_types, CONFIG_KEY_P256 | CONFIG_KEY_ED25519);
	CU_ASSERT_EQUAL(p->subject_attributes, CONFIG_SUBJ_CN | CONFIG_SUBJ_O | CONFIG_SUBJ_OU);
	CU_ASSERT_FALSE(p->cn_must_be_san);
	CU_ASSERT_TRUE(p->wildcards);
	CU_ASSERT_FALSE(p->ca);
	CU_ASSERT_EQUAL(p->path_len, -1);
	CU_ASSERT_EQUAL(p->n_uri_prefixes, 2);
	CU_ASSERT_STRING_EQUAL(p->spiffe_trust_domain, "example.com");
	CU_ASSERT_EQUAL(p->n_email_domains, 1);
	CU_ASSERT_EQUAL(p->ext_key_usage, CONFIG_EKU_CLIENT_AUTH);
	CU_ASSERT_STRING_EQUAL(p->crl_url, "http://crl.example.com/ca.crl");
	CU_ASSERT_STRING_EQUAL(p->ocsp_url, "http://ocsp.example.com/");
	CU_ASSERT_STRING_EQUAL(p->ca_issuers_url, "https://pki.example.com/ca.der");
	p = sd_config_profile(cfg, "sub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE(p->ca);
	CU_ASSERT_EQUAL(p->path_len, 0);
	CU_ASSERT_EQUAL(p->ext_key_usage, CONFIG_EKU_CLIENT_AUTH | CONFIG_EKU_SERVER_AUTH | CONFIG_EKU_EMAIL_PROTECTION |
	    CONFIG_EKU_CODE_SIGNING);
	CU_ASSERT_FALSE(p->cn_must_be_san);	/* CA default */
	CU_ASSERT_EQUAL(p->key_usage, CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN);
	CU_ASSERT_EQUAL(p->key_types, CONFIG_KEY_ALL);
	CU_ASSERT_EQUAL(p->n_permitted_dns, 2);
	CU_ASSERT_EQUAL(p->n_excluded_dns, 1);
	CU_ASSERT_EQUAL(p->n_permitted_ip, 1);
	CU_ASSERT_EQUAL(p->excluded_ip[0].prefix, 16);
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg->ca_key_blocklist, "/blocked.txt"));
	/* Resolved against the configuration's directory, as every path. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->ca_retired_certificates);
	CU_ASSERT_EQUAL(cfg->ca_retired_certificates[0], '/');
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg->ca_retired_certificates, "/old/ica-2025.pem"));
	CU_ASSERT_TRUE(sd_config_client_may_use(sd_config_client_by_name(cfg, "admin"), "sub"));
	sd_config_free(cfg);

	/* Defaults of a leaf profile. */
	CU_ASSERT_EQUAL_FATAL(load_with(LEAF, &cfg), 0);
	p = sd_config_profile(cfg, "p2");
	CU_ASSERT_EQUAL(p->key_types, CONFIG_KEY_ALL);
	CU_ASSERT_EQUAL(p->subject_attributes, CONFIG_SUBJ_CN);
	CU_ASSERT_TRUE(p->cn_must_be_san);
	CU_ASSERT_FALSE(p->wildcards);
	CU_ASSERT_EQUAL(p->key_usage, CONFIG_KU_DIGITAL_SIGNATURE);
	CU_ASSERT_PTR_NULL(p->crl_url);
	CU_ASSERT_PTR_NULL(cfg->ca_retired_certificates);
	sd_config_free(cfg);
}

/* The shipped example configuration loads, with its four profiles and their grants. */
static void
test_example_config(void)
{
	struct sd_config *cfg = NULL;
	const struct config_profile *p;
	int rc = sd_config_load("packaging/signerd.conf.example", &cfg);

	if (rc != 0)
		fprintf(stderr, "example: %s (run from the source tree)\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(sd_config_profile(cfg, "server"));
	CU_ASSERT_PTR_NOT_NULL(p = sd_config_profile(cfg, "client"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p = sd_config_profile(cfg, "spiffe-workload"));
	CU_ASSERT_EQUAL(p->max_ttl, 86400);
	CU_ASSERT_STRING_EQUAL(p->spiffe_trust_domain, "example.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p = sd_config_profile(cfg, "subordinate-ca"));
	CU_ASSERT_TRUE(p->ca);
	CU_ASSERT_EQUAL(p->path_len, 0);
	CU_ASSERT_TRUE(sd_config_client_may_use(sd_config_client_by_name(cfg, "issuer"), "spiffe-workload"));
	CU_ASSERT_FALSE(sd_config_client_may_use(sd_config_client_by_name(cfg, "issuer"), "subordinate-ca"));
	CU_ASSERT_TRUE(sd_config_client_may_use(sd_config_client_by_name(cfg, "admin"), "subordinate-ca"));
	sd_config_free(cfg);
}

static void
test_profile_key_refusals(void)
{
	expect_refused(LEAF "key_types = rsa, dsa", "'key_types': unknown value 'dsa'");
	expect_refused(LEAF "subject_attributes = CN, emailAddress", "unknown value 'emailAddress'");
	expect_refused(LEAF "wildcards = yes", "'wildcards': 'yes' is not true or false");
	expect_refused(LEAF "wildcards = true\nwildcards = false", "'wildcards' is set twice");
	expect_refused(LEAF "ca = maybe", "not true or false");
	expect_refused(LEAF "path_len = 1", "path_len needs ca = true");
	expect_refused(LEAF "path_len = 17", "not a number in 0..16");
	expect_refused(LEAF "permitted_dns = example.com", "need ca = true");
	expect_refused(LEAF "excluded_ip = 10.0.0.0/8", "need ca = true");
	expect_refused(LEAF "key_usage = keyCertSign", "keyCertSign and cRLSign need ca = true");
	expect_refused(LEAF "key_usage = keyEncipherment", "key_usage leaves nothing for p256 keys");
	expect_refused(LEAF "key_usage = keyEncipherment\nkey_types = rsa, ed25519", "nothing for ed25519 keys");
	expect_refused("[profile p2]\ndns_suffixes = a.b", "a leaf profile needs ext_key_usage");
	expect_refused("[profile p2]\next_key_usage = serverAuth\nwildcards = true\nip_ranges = 10.0.0.0/8",
	    "wildcards = true needs dns_suffixes");
	expect_refused(LEAF "uri_prefixes = https://example.com", "must end with '/'");
	expect_refused(LEAF "uri_prefixes = example.com/", "not a scheme://authority/ prefix");
	expect_refused(LEAF "uri_prefixes = HTTPS://example.com/", "invalid or upper-case scheme");
	expect_refused(LEAF "uri_prefixes = https:///x/", "not a scheme://authority/ prefix");
	expect_refused(LEAF "spiffe_trust_domain = Example.com", "not a trust domain name");
	expect_refused(LEAF "spiffe_trust_domain = example.com:443", "not a trust domain name");
	expect_refused(LEAF "email_domains = @example.com", "not a DNS name");
	expect_refused(LEAF "crl_url = ldap://x/", "'crl_url': 'ldap://x/' is not an http:// or https:// URL");
	expect_refused(LEAF "ocsp_url = http://a b/", "not an http:// or https:// URL");
	expect_refused(LEAF "ca_issuers_url = http:///x", "not an http:// or https:// URL");
	expect_refused(LEAF "crl_url = http://a/\ncrl_url = http://b/", "set twice");
	expect_refused(LEAF "subject_attributes = O\ncn_must_be_san = true", "cn_must_be_san needs CN");
	expect_refused(SUBCA "key_usage = cRLSign", "ca = true needs keyCertSign");
	expect_refused(SUBCA "cn_must_be_san = true", "ca = true needs cn_must_be_san = false");
	expect_refused(SUBCA "wildcards = true\ndns_suffixes = a.b", "wildcards are for leaf profiles only");
	expect_refused(SUBCA "[client c2]\nroles = issuer\nprofiles = sub", "CA profile sub needs the admin role");
	expect_refused("[ca]\nkey_blocklist = ", "is empty");
	expect_refused("[ca]\nretired_certificates = ", "is empty");
	expect_refused("[ca]\nretired_certificates = a.pem\nretired_certificates = b.pem", "set twice");
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
test_session_keys(void)
{
	struct sd_config *cfg = NULL;

	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nsession_keys = true", &cfg), 0);
	CU_ASSERT_TRUE(cfg->hsm_session_keys);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nsession_keys = false", &cfg), 0);
	CU_ASSERT_FALSE(cfg->hsm_session_keys);
	sd_config_free(cfg);
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

/* [journal] keys: values, defaults, refusals. */
static void
test_journal_keys(void)
{
	struct sd_config *cfg = NULL;
	char want[PATH_MAX * 2];

	CU_ASSERT_EQUAL_FATAL(load_text(base_config, &cfg), 0);
	CU_ASSERT_EQUAL(cfg->journal_map_max, cfg->journal_map_size);
	CU_ASSERT_PTR_NULL(cfg->journal_audit_key);
	CU_ASSERT_STRING_EQUAL(cfg->journal_origin, "signerd/journal");
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_every, 1000);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_interval, 300);
	CU_ASSERT_PTR_NULL(cfg->journal_checkpoint_file);
	CU_ASSERT_EQUAL(cfg->journal_refusals_per_minute, 60);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[journal]\nmap_max_mb = 64\naudit_key = pkcs11:token=t;object=audit-key\n"
	    "origin = example.org/log\ncheckpoint_every = 10\ncheckpoint_interval = 2m\ncheckpoint_file = cps.txt\n"
	    "refusals_per_minute = 5", &cfg), 0);
	CU_ASSERT_EQUAL(cfg->journal_map_max, 64u * 1024 * 1024);
	CU_ASSERT_STRING_EQUAL(cfg->journal_audit_key, "pkcs11:token=t;object=audit-key");
	CU_ASSERT_STRING_EQUAL(cfg->journal_origin, "example.org/log");
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_every, 10);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_interval, 120);
	(void)snprintf(want, sizeof(want), "%s/cps.txt", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_file, want);
	CU_ASSERT_EQUAL(cfg->journal_refusals_per_minute, 5);
	sd_config_free(cfg);
	/* A maximum below the initial size is the initial size. */
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[journal]\nmap_max_mb = 1", &cfg), 0);
	CU_ASSERT_EQUAL(cfg->journal_map_max, cfg->journal_map_size);
	sd_config_free(cfg);
	expect_refused("[journal]\ncheckpoint_every = 0", "checkpoint_every");
	expect_refused("[journal]\nrefusals_per_minute = many", "refusals_per_minute");
	expect_refused("[journal]\ncheckpoint_interval = soon", "checkpoint_interval");
	expect_refused("[journal]\nmap_max_mb = 0", "map_max_mb");
	/* [journal] witness: "VKEY URL" items, each line adds; the key itself is parsed where it is used. */
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[journal]\naudit_key = pkcs11:token=t;object=audit-key\n"
	    "witness = w.example/a+01020304+BAAA http://127.0.0.1:8080\n"
	    "witness = w.example/b+01020304+BAAA https://w.example/b/\ncheckpoint_spool = s\ncheckpoint_ca = ca.pem",
	    &cfg), 0);
	CU_ASSERT_EQUAL(cfg->n_journal_witness, 2);
	CU_ASSERT_STRING_EQUAL(cfg->journal_witness[1], "w.example/b+01020304+BAAA https://w.example/b/");
	sd_config_free(cfg);
	expect_refused("[journal]\nwitness = http://127.0.0.1:8080", "is not \"VKEY URL\"");
	expect_refused("[journal]\nwitness = w.example/a http://127.0.0.1:8080", "is not \"VKEY URL\"");
	expect_refused("[journal]\nwitness = w.example/a+01020304+BAAA ftp://x/", "not an http:// or https:// URL");
	expect_refused("[journal]\nwitness = w.example/a+01020304+BAAA http://x/ more", "not an http:// or https:// URL");
	expect_refused("[journal]\nwitness = w.example/a+01020304+BAAA http://x/", "[journal] witness needs audit_key");
	expect_refused("[journal]\naudit_key = pkcs11:token=t;object=audit-key\n"
	    "witness = w.example/a+01020304+BAAA http://x/\ncheckpoint_ca = ca.pem",
	    "checkpoint_ca is set, but no checkpoint_url or witness is https://");
	expect_refused("[journal]\nwitness = a+01020304+BAAA http://x/1\nwitness = a+01020304+BAAA http://x/2\n"
	    "witness = a+01020304+BAAA http://x/3\nwitness = a+01020304+BAAA http://x/4\n"
	    "witness = a+01020304+BAAA http://x/5\nwitness = a+01020304+BAAA http://x/6\n"
	    "witness = a+01020304+BAAA http://x/7\nwitness = a+01020304+BAAA http://x/8\n"
	    "witness = a+01020304+BAAA http://x/9", "too many 'witness' lines (at most 8 witnesses)");
}

/* [journal] checkpoint_url and its spool: repeatable, bounded, refused without what they need. */
static void
test_checkpoint_push_keys(void)
{
	struct sd_config *cfg = NULL;
	char want[PATH_MAX * 2];

	CU_ASSERT_EQUAL_FATAL(load_text(base_config, &cfg), 0);
	CU_ASSERT_EQUAL(cfg->n_journal_checkpoint_url, 0);
	CU_ASSERT_PTR_NULL(cfg->journal_checkpoint_ca);
	(void)snprintf(want, sizeof(want), "%s/journal/checkpoint-spool", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_spool, want);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_spool_max, 10000);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_retry_max, 300);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[journal]\naudit_key = pkcs11:token=t;object=audit-key\n"
	    "checkpoint_url = https://a.example/cp\ncheckpoint_url = http://127.0.0.1:8080/x?y=1\n"
	    "checkpoint_ca = ca.pem\ncheckpoint_spool = spool\ncheckpoint_spool_max = 3\ncheckpoint_retry_max = 1m",
	    &cfg), 0);
	CU_ASSERT_EQUAL_FATAL(cfg->n_journal_checkpoint_url, 2);
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_url[0], "https://a.example/cp");
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_url[1], "http://127.0.0.1:8080/x?y=1");
	(void)snprintf(want, sizeof(want), "%s/ca.pem", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_ca, want);
	(void)snprintf(want, sizeof(want), "%s/spool", tmp);
	CU_ASSERT_STRING_EQUAL(cfg->journal_checkpoint_spool, want);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_spool_max, 3);
	CU_ASSERT_EQUAL(cfg->journal_checkpoint_retry_max, 60);
	sd_config_free(cfg);
#define AK "[journal]\naudit_key = pkcs11:token=t;object=audit-key\n"
	expect_refused(AK "checkpoint_url = ftp://a.example/", "'checkpoint_url': 'ftp://a.example/' is not an http:// or https:// URL");
	expect_refused(AK "checkpoint_url = https://", "is not an http:// or https:// URL");
	expect_refused(AK "checkpoint_url = https://a.example/a b", "is not an http:// or https:// URL");
	expect_refused(AK "checkpoint_url = https://me:pw@a.example/", "carries a user name or password");
	expect_refused(AK "checkpoint_url = https://me@a.example/", "carries a user name or password");
	expect_refused(AK "checkpoint_url = https://a.example/#x", "has a fragment");
	expect_refused(AK "checkpoint_url = https://a.example/\ncheckpoint_url = https://a.example/", "is given twice");
	expect_refused(AK "checkpoint_url = http://h/1\ncheckpoint_url = http://h/2\ncheckpoint_url = http://h/3\n"
	    "checkpoint_url = http://h/4\ncheckpoint_url = http://h/5\ncheckpoint_url = http://h/6\n"
	    "checkpoint_url = http://h/7\ncheckpoint_url = http://h/8\ncheckpoint_url = http://h/9",
	    "too many 'checkpoint_url' lines (at most 8 receivers)");
	expect_refused("[journal]\ncheckpoint_url = https://a.example/", "checkpoint_url needs audit_key");
	expect_refused(AK "checkpoint_ca = ca.pem", "[journal] checkpoint_ca needs checkpoint_url");
	expect_refused(AK "checkpoint_spool = s", "[journal] checkpoint_spool needs checkpoint_url");
	expect_refused(AK "checkpoint_spool_max = 5", "[journal] checkpoint_spool_max needs checkpoint_url");
	expect_refused(AK "checkpoint_retry_max = 5s", "[journal] checkpoint_retry_max needs checkpoint_url");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_ca = ca.pem",
	    "checkpoint_ca is set, but no checkpoint_url or witness is https://");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_spool_max = 0", "checkpoint_spool_max");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_spool_max = 100001", "checkpoint_spool_max");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_retry_max = 0", "checkpoint_retry_max");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_retry_max = 2d", "checkpoint_retry_max");
	expect_refused(AK "checkpoint_url = http://a.example/\ncheckpoint_spool = a\ncheckpoint_spool = b",
	    "key 'checkpoint_spool' is set twice");
#undef AK
}

/* [api] connection limits: defaults, values, bounds, duplicates. */
static void
test_api_limits(void)
{
	struct sd_config *cfg = NULL;

	CU_ASSERT_EQUAL_FATAL(load_text(base_config, &cfg), 0);
	CU_ASSERT_EQUAL(cfg->api_max_connections, 256);	/* workers = 3: 4 x 3 is less */
	CU_ASSERT_EQUAL(cfg->api_max_connections_per_source, 64);
	CU_ASSERT_EQUAL(cfg->api_handshake_timeout, 5);
	CU_ASSERT_EQUAL(cfg->api_header_timeout, 5);
	CU_ASSERT_EQUAL(cfg->api_request_timeout, 10);
	CU_ASSERT_EQUAL(cfg->api_idle_timeout, 30);
	CU_ASSERT_EQUAL(cfg->api_unauthenticated_rate, 20);
	CU_ASSERT_EQUAL(cfg->api_unauthenticated_burst, 64);
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[api]\nmax_connections = 1000\nmax_connections_per_source = 8\n"
	    "handshake_timeout = 2s\nheader_timeout = 3\nrequest_timeout = 1m\nidle_timeout = 2m\n"
	    "unauthenticated_rate = 5\nunauthenticated_burst = 10", &cfg), 0);
	CU_ASSERT_EQUAL(cfg->api_max_connections, 1000);
	CU_ASSERT_EQUAL(cfg->api_max_connections_per_source, 8);
	CU_ASSERT_EQUAL(cfg->api_handshake_timeout, 2);
	CU_ASSERT_EQUAL(cfg->api_header_timeout, 3);
	CU_ASSERT_EQUAL(cfg->api_request_timeout, 60);
	CU_ASSERT_EQUAL(cfg->api_idle_timeout, 120);
	CU_ASSERT_EQUAL(cfg->api_unauthenticated_rate, 5);
	CU_ASSERT_EQUAL(cfg->api_unauthenticated_burst, 10);
	sd_config_free(cfg);
	cfg = NULL;
	/* Workers beyond a quarter of the default limit raise it: each may hold a connection. */
	CU_ASSERT_EQUAL_FATAL(load_with("[api]\nworkers = 100", &cfg), 0);
	CU_ASSERT_EQUAL(cfg->api_max_connections, 400);
	sd_config_free(cfg);
	expect_refused("[api]\nmax_connections = 15", "'max_connections'");
	expect_refused("[api]\nmax_connections_per_source = 0", "'max_connections_per_source'");
	expect_refused("[api]\nhandshake_timeout = 0s", "outside 1s..300s");
	expect_refused("[api]\nheader_timeout = 6m", "outside 1s..300s");
	expect_refused("[api]\nrequest_timeout = soon", "bad duration 'soon'");
	expect_refused("[api]\nidle_timeout = 2h", "outside 1s..3600s");
	expect_refused("[api]\nunauthenticated_rate = -1", "'unauthenticated_rate'");
	expect_refused("[api]\nunauthenticated_burst = 100001", "'unauthenticated_burst'");
	expect_refused("[api]\nidle_timeout = 5s\nidle_timeout = 6s", "'idle_timeout' is set twice");
	expect_refused("[api]\nmax_connections = 20\nmax_connections = 20", "'max_connections' is set twice");
}

/* [hsm] environment, [ca] signature, [api] listen: the keys with their own parsers. */
static void
test_special_keys(void)
{
	struct sd_config *cfg = NULL;

	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nenvironment = A=1\nenvironment = B=\nenvironment = C=x=y\n"
	    "[ca]\nsignature = pss\n[api]\nlisten = ::1", &cfg), 0);
	CU_ASSERT_EQUAL_FATAL(cfg->n_hsm_environment, 4);
	CU_ASSERT_STRING_EQUAL(cfg->hsm_environment[3], "C=x=y");
	CU_ASSERT_TRUE(cfg->ca_signature_pss);
	CU_ASSERT_STRING_EQUAL(cfg->api_listen, "::1");
	sd_config_free(cfg);
	cfg = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[ca]\nsignature = pkcs1", &cfg), 0);
	CU_ASSERT_FALSE(cfg->ca_signature_pss);
	sd_config_free(cfg);
	expect_refused("[hsm]\nenvironment = 2=2\nenvironment = 3=3\nenvironment = 4=4\nenvironment = 5=5\n"
	    "environment = 6=6\nenvironment = 7=7\nenvironment = 8=8\nenvironment = 9=9",
	    "too many 'environment' entries");
	expect_refused("[hsm]\nenvironment = =x", "'environment' must be NAME=value");
	expect_refused("[hsm]\nenvironment = X", "'environment' must be NAME=value");
	expect_refused("[ca]\nsignature = rsa", "'signature' must be pkcs1 or pss, not 'rsa'");
	expect_refused("[api]\nlisten = ::1\nlisten = ::1", "key 'listen' is set twice");
	expect_refused("[api]\nlisten = ", "'listen': '' is not an IPv4 or IPv6 address");
	expect_refused("[api]\ntls_key = other.key", "key 'tls_key' is set twice");
	expect_refused("[journal]\nmap_size_mb = 1048577", "key 'map_size_mb': '1048577' is not a number in 1..1048576");
	expect_refused("[hsm]\nbogus = 1", "unknown key 'bogus' in [hsm]");
	expect_refused("[ca]\nbogus = 1", "unknown key 'bogus' in [ca]");
	expect_refused(LEAF "bogus = 1", "unknown key 'bogus' in a profile section");
	expect_refused("[client c2]\nbogus = 1", "unknown key 'bogus' in a client section");
}

/* Every required key of a fixed section, left out of base_config, is named. */
static void
test_required_keys(void)
{
	struct config_key_info k;
	char line[128], want[128], *text, *at, *end;
	size_t i, n = 0;
	int rc;

	for (i = 0; sd_config_key(i, &k); i++) {
		struct sd_config *cfg = NULL;

		if (!k.required || strcmp(k.section, "profile") == 0 || strcmp(k.section, "client") == 0)
			continue;
		n++;
		(void)snprintf(line, sizeof(line), "\n%s = ", k.key);
		text = strdup(base_config);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		at = strstr(text, line);
		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		end = strchr(at + 1, '\n');
		memmove(at, end, strlen(end) + 1);
		rc = load_text(text, &cfg);
		CU_ASSERT_EQUAL(rc, SD_E_CONFIG);
		CU_ASSERT_PTR_NULL(cfg);
		(void)snprintf(want, sizeof(want), "missing [%s] %s", k.section, k.key);
		if (rc == SD_E_CONFIG && strstr(sd_error_detail(rc), want) == NULL) {
			fprintf(stderr, "detail '%s' lacks '%s'\n", sd_error_detail(rc), want);
			CU_FAIL("a missing required key is not named");
		}
		free(text);
	}
	CU_ASSERT_EQUAL(n, 10);
}

/*
 * The keys of the fixed sections a live reload could apply, and the keys a
 * dump must redact: the lists a configuration reference states. Every
 * profile and client key is reloadable.
 */
static const char *const reloadable_keys[] = {
	"hsm queue", "hsm queue_wait_ms", "ca key_blocklist", "journal checkpoint_every", "journal checkpoint_interval", "journal refusals_per_minute",
	"api max_body", "api max_connections", "api max_connections_per_source", "api handshake_timeout",
	"api header_timeout", "api request_timeout", "api idle_timeout", "api unauthenticated_rate",
	"api unauthenticated_burst", "api client_crl", "api require_client_auth_eku",
};
static const char *const secret_keys[] = { "hsm pin_file", "api tls_key" };

#define LISTED(list, k) listed((list), sizeof(list) / sizeof((list)[0]), (k))

static bool
listed(const char *const *list, size_t n, const struct config_key_info *k)
{
	char name[128];
	size_t i;

	(void)snprintf(name, sizeof(name), "%s %s", k->section, k->key);
	for (i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static void
test_key_table(void)
{
	static const char *const sections[] = { "hsm", "ca", "journal", "process", "api", "acme", "profile",
		"client" };
	struct config_key_info k, other;
	size_t i, j, n_reloadable = 0, n_secret = 0, n_profile = 0, n_client = 0;
	bool section_ok, policy;

	for (i = 0; sd_config_key(i, &k); i++) {
		section_ok = false;
		for (j = 0; j < sizeof(sections) / sizeof(sections[0]); j++)
			section_ok |= strcmp(k.section, sections[j]) == 0;
		CU_ASSERT_TRUE(section_ok);
		CU_ASSERT_PTR_NOT_NULL(k.key);
		CU_ASSERT_PTR_NOT_NULL(k.type);
		/* Each key has a default ("none" when it may stay unset) or is required, never both. */
		if (k.required == (k.default_text != NULL)) {
			fprintf(stderr, "[%s] %s: required %d, default %s\n", k.section, k.key, k.required,
			    k.default_text != NULL ? k.default_text : "NULL");
			CU_FAIL("a key is neither required nor defaulted, or both");
		}
		for (j = 0; j < i; j++) {
			CU_ASSERT_TRUE_FATAL(sd_config_key(j, &other));
			if (strcmp(k.section, other.section) == 0 && strcmp(k.key, other.key) == 0) {
				fprintf(stderr, "[%s] %s is in the table twice\n", k.section, k.key);
				CU_FAIL("a key is in the table twice");
			}
		}
		policy = strcmp(k.section, "profile") == 0 || strcmp(k.section, "client") == 0;
		n_profile += strcmp(k.section, "profile") == 0;
		n_client += strcmp(k.section, "client") == 0;
		if (k.reloadable != (policy || LISTED(reloadable_keys, &k))) {
			fprintf(stderr, "[%s] %s: reloadable %d\n", k.section, k.key, k.reloadable);
			CU_FAIL("reloadable flag differs from reloadable_keys");
		}
		if (k.secret != LISTED(secret_keys, &k)) {
			fprintf(stderr, "[%s] %s: secret %d\n", k.section, k.key, k.secret);
			CU_FAIL("secret flag differs from secret_keys");
		}
		n_reloadable += k.reloadable && !policy;
		n_secret += k.secret;
	}
	CU_ASSERT_EQUAL(n_reloadable, sizeof(reloadable_keys) / sizeof(reloadable_keys[0]));
	CU_ASSERT_EQUAL(n_secret, sizeof(secret_keys) / sizeof(secret_keys[0]));
	CU_ASSERT_EQUAL(i, 78 + 27 + 8);
	CU_ASSERT_EQUAL(n_profile, 27);
	CU_ASSERT_EQUAL(n_client, 8);
	CU_ASSERT_FALSE(sd_config_key(i, &k));
	CU_ASSERT_FALSE(sd_config_key((size_t)-1, &k));
}

/* The type and default of a few keys, as sd_config_key() gives them. */
static void
expect_key(const char *section, const char *key, const char *type, const char *default_text)
{
	struct config_key_info k;
	size_t i;

	for (i = 0; sd_config_key(i, &k); i++) {
		if (strcmp(k.section, section) != 0 || strcmp(k.key, key) != 0)
			continue;
		CU_ASSERT_STRING_EQUAL(k.type, type);
		if (default_text == NULL) {
			CU_ASSERT_PTR_NULL(k.default_text);
		} else {
			CU_ASSERT_STRING_EQUAL(k.default_text != NULL ? k.default_text : "NULL", default_text);
		}
		return;
	}
	fprintf(stderr, "[%s] %s not in the table\n", section, key);
	CU_FAIL("key not in the table");
}

static void
test_key_types(void)
{
	expect_key("hsm", "module", "path", NULL);
	expect_key("hsm", "token", "PKCS#11 URI", NULL);
	expect_key("hsm", "environment", "NAME=value", "none");
	expect_key("hsm", "sessions", "count", "= [api] workers");
	expect_key("ca", "retired_certificates", "path", "none");
	expect_key("ca", "signature", "pkcs1 or pss", "pkcs1");
	expect_key("journal", "map_size_mb", "size in MB", "1024");
	expect_key("journal", "checkpoint_interval", "duration", "300s");
	expect_key("journal", "origin", "string", "signerd/journal");
	expect_key("journal", "checkpoint_url", "URL (a line each)", "none");
	expect_key("journal", "checkpoint_spool", "path", "= [journal] path/checkpoint-spool");
	expect_key("journal", "checkpoint_spool_max", "count", "10000");
	expect_key("journal", "checkpoint_retry_max", "duration", "300s");
	expect_key("api", "listen", "IP address", "127.0.0.1");
	expect_key("api", "idle_timeout", "duration", "30s");
	expect_key("profile", "key_types", "names", "rsa, p256, p384, p521, ed25519");
	expect_key("profile", "ip_ranges", "IP ranges", "none");
	expect_key("profile", "wildcards", "bool", "false");
	expect_key("profile", "crl_url", "URL", "none");
	expect_key("client", "roles", "names", NULL);
	expect_key("client", "profiles", "list", "none");
	expect_key("client", "spki_sha256", "list", "none");
	expect_key("client", "san", "list", "none");
	expect_key("client", "subject_cn", "string", "the section name, unless spki_sha256 or san is set");
	expect_key("api", "client_crl", "path", "none");
	expect_key("api", "require_client_auth_eku", "bool", "false");
	expect_key("acme", "path", "path", "= [journal] path/acme");
	expect_key("acme", "map_size_mb", "size in MB", "256");
	expect_key("acme", "hosts", "name=address list", "none");
	expect_key("acme", "validation_timeout", "duration", "10s");
	expect_key("profile", "acme", "bool", "false");
	expect_key("profile", "acme_eab", "bool", "true");
	expect_key("profile", "renewal_window", "percentages START-END", "33-66");
}

/* [client] quota_per_minute, quota_burst (derived), quota_per_day. */
static void
test_client_quotas(void)
{
	struct sd_config *cfg = NULL;
	const struct config_client *cl;

	CU_ASSERT_EQUAL_FATAL(load_with("[client q1]\nroles = issuer\nprofiles = server\nquota_per_minute = 60\n"
	    "[client q2]\nroles = issuer\nquota_per_minute = 5\nquota_per_day = 1000\n"
	    "[client q3]\nroles = issuer\nquota_per_minute = 600\nquota_burst = 7\n", &cfg), 0);
	cl = sd_config_client_by_name(cfg, "q1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_EQUAL(cl->quota_per_minute, 60);
	CU_ASSERT_EQUAL(cl->quota_burst, 10);		/* ten seconds' worth */
	CU_ASSERT_EQUAL(cl->quota_per_day, 0);
	cl = sd_config_client_by_name(cfg, "q2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_EQUAL(cl->quota_burst, 1);		/* at least one */
	CU_ASSERT_EQUAL(cl->quota_per_day, 1000);
	cl = sd_config_client_by_name(cfg, "q3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_EQUAL(cl->quota_burst, 7);
	cl = sd_config_client_by_name(cfg, "issuer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
	CU_ASSERT_EQUAL(cl->quota_per_minute, 0);	/* none unless set */
	CU_ASSERT_EQUAL(cl->quota_burst, 0);
	sd_config_free(cfg);

	expect_refused("[client q]\nroles = issuer\nquota_burst = 5", "quota_burst without quota_per_minute");
	expect_refused("[client q]\nroles = issuer\nquota_per_minute = 0", "'quota_per_minute'");
	expect_refused("[client q]\nroles = issuer\nquota_per_minute = 5\nquota_per_minute = 6", "set twice");
	expect_refused("[client q]\nroles = issuer\nquota_per_day = lots", "'quota_per_day'");
}

/* What a reload may change: policy and reloadable keys yes, the rest no, naming the first key that differs. */
static void
test_reload_check(void)
{
	struct sd_config *a = NULL, *b = NULL;

	CU_ASSERT_EQUAL_FATAL(load_with("", &a), 0);
	CU_ASSERT_EQUAL_FATAL(load_with("[client newbie]\nroles = auditor\n[journal]\nrefusals_per_minute = 5", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, a), 0);
	sd_config_free(b);
	b = NULL;
	/* The issuance gate's queue and wait are read at each issuance; its permits (concurrency) are not. */
	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nqueue = 0\nqueue_wait_ms = 100", &b), 0);
	CU_ASSERT_EQUAL(b->hsm_queue, 0);
	CU_ASSERT_EQUAL(b->hsm_queue_wait_ms, 100);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), 0);
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nconcurrency = 2", &b), 0);
	CU_ASSERT_EQUAL(b->hsm_concurrency, 2);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[hsm] concurrency changed: only a restart applies it"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nsession_keys = true", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[hsm] session_keys changed: only a restart applies it"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[hsm]\nenvironment = EXTRA=1", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[hsm] environment changed"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[api]\nport = 4443", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[api] port changed"));
	sd_config_free(b);
	b = NULL;
	/* [acme]: every key is restart-only, the hosts map entry by entry. */
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\nnonces = 1024", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[acme] nonces changed: only a restart applies it"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\npath = /srv/acme", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[acme] path changed"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\nhosts = a.example=127.0.0.1", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[acme] hosts changed"));
	sd_config_free(a);
	a = b;
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\nhosts = a.example=127.0.0.2", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "[acme] hosts changed"));
	sd_config_free(b);
	b = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[acme]\nhosts = a.example=127.0.0.1", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), 0);
	sd_config_free(b);
	b = NULL;
	/* A profile's ACME keys are policy: a reload may change them. */
	sd_config_free(a);
	a = NULL;
	CU_ASSERT_EQUAL_FATAL(load_with("[profile a2]\nacme = true\next_key_usage = serverAuth\n"
	    "dns_suffixes = example.com", &a), 0);
	CU_ASSERT_EQUAL_FATAL(load_with("[profile a2]\nacme = false\nacme_eab = false\nrenewal_window = 10-20\n"
	    "ext_key_usage = serverAuth\ndns_suffixes = example.com", &b), 0);
	CU_ASSERT_EQUAL(sd_config_reload_check(a, b), 0);
	sd_config_free(b);
	sd_config_free(a);
}

int
main(void)
{
	static const struct sd_test_case load[] = {
		{ "full file", test_load_full },
		{ "refusals name the problem", test_refusals },
		{ "revocation keys: defaults, short-lived, values", test_revocation_defaults },
		{ "client selectors: spki_sha256, san, revoker", test_client_selectors },
		{ "client matching and ambiguity", test_client_match },
		{ "profile keys: types, subject, SANs, CA, URLs", test_profile_keys },
		{ "profile key refusals", test_profile_key_refusals },
		{ "packaging/signerd.conf.example", test_example_config },
		{ "missing required keys and files", test_missing_required },
		{ "[hsm] session_keys", test_session_keys },
		{ "[journal] keys", test_journal_keys },
		{ "[journal] checkpoint_url and its spool", test_checkpoint_push_keys },
		{ "[api] connection limits", test_api_limits },
		{ "environment, signature, listen", test_special_keys },
		{ "every required key is named when missing", test_required_keys },
		{ "[client] quotas", test_client_quotas },
		{ "[acme] keys: defaults and values", test_acme_keys },
		{ "[acme] refusals: bounds and hosts", test_acme_refusals },
		{ "[acme] resolver: addresses, ports, refusals", test_acme_resolver },
		{ "profile acme, acme_eab, renewal_window", test_acme_profile },
	};
	static const struct sd_test_case table[] = {
		{ "defaults, duplicates, reloadable and secret flags", test_key_table },
		{ "types and defaults of some keys", test_key_types },
		{ "what a reload may change", test_reload_check },
	};
	static const struct sd_test_case values[] = {
		{ "durations", test_duration },
		{ "IP ranges", test_ip_range },
	};
	int rc;

	sd_test_tmpdir(tmp, "config");
	SD_TEST_SUITE("config load", load);
	SD_TEST_SUITE("config values", values);
	SD_TEST_SUITE("config key table", table);
	rc = sd_test_run("test_config");
	sd_test_rmtree(tmp);
	return rc;
}
