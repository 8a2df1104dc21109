/*
 * Unit tests for api/api_acme.c: the /acme/{path} tail parser and the
 * Host -> URL base builder, every refusal with its exact error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api_acme.h"
#include "sd_error.h"
#include "sd_test.h"

static void
expect_path(const char *tail, enum signer_acme_op op, const char *id)
{
	struct api_acme_path p;

	CU_ASSERT_EQUAL_FATAL(api_acme_path_parse(tail, &p), 0);
	CU_ASSERT_STRING_EQUAL(p.profile, "server");
	CU_ASSERT_EQUAL(p.op, op);
	CU_ASSERT_STRING_EQUAL(p.id, id);
}

static void
test_path_resources(void)
{
	expect_path("server/directory", SIGNER_ACME_DIRECTORY, "");
	expect_path("server/new-nonce", SIGNER_ACME_NEW_NONCE, "");
	expect_path("server/new-account", SIGNER_ACME_NEW_ACCOUNT, "");
	expect_path("server/new-order", SIGNER_ACME_NEW_ORDER, "");
	expect_path("server/revoke-cert", SIGNER_ACME_REVOKE, "");
	expect_path("server/key-change", SIGNER_ACME_KEY_CHANGE, "");
	expect_path("server/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", SIGNER_ACME_RENEWAL_INFO,
	    "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	expect_path("server/acct/A1", SIGNER_ACME_ACCOUNT, "A1");
	expect_path("server/order/O_2", SIGNER_ACME_ORDER, "O_2");
	expect_path("server/order/O-3/finalize", SIGNER_ACME_FINALIZE, "O-3");
	expect_path("server/authz/Z", SIGNER_ACME_AUTHZ, "Z");
	expect_path("server/chall/Z.0", SIGNER_ACME_CHALLENGE, "Z.0");
	expect_path("server/cert/0A1B", SIGNER_ACME_CERT, "0A1B");
	/* The orders list's cursor travels in the id after a '/'. */
	expect_path("server/acct/A1/orders", SIGNER_ACME_ORDERS, "A1");
	expect_path("server/acct/A1/orders/7f.O-1", SIGNER_ACME_ORDERS, "A1/7f.O-1");
}

static void
test_path_bounds(void)
{
	char tail[SIGNER_ACME_PARAM_MAX + 64], profile[API_ACME_PROFILE_MAX + 2];
	struct api_acme_path p;
	int n;

	/* The longest id and profile are taken; one byte more is not. */
	n = snprintf(tail, sizeof(tail), "server/acct/%0*d", SIGNER_ACME_PARAM_MAX, 0);
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(tail));
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), 0);
	CU_ASSERT_EQUAL(strlen(p.id), SIGNER_ACME_PARAM_MAX);
	n = snprintf(tail, sizeof(tail), "server/acct/%0*d", SIGNER_ACME_PARAM_MAX + 1, 0);
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(tail));
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), SD_E_NOT_FOUND);
	/* An orders page's id and cursor share the id's bound. */
	n = snprintf(tail, sizeof(tail), "server/acct/%0*d/orders/c", SIGNER_ACME_PARAM_MAX - 2, 0);
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(tail));
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), 0);
	CU_ASSERT_EQUAL(strlen(p.id), SIGNER_ACME_PARAM_MAX);
	n = snprintf(tail, sizeof(tail), "server/acct/%0*d/orders/c", SIGNER_ACME_PARAM_MAX - 1, 0);
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(tail));
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), SD_E_NOT_FOUND);
	memset(profile, 'p', API_ACME_PROFILE_MAX);
	profile[API_ACME_PROFILE_MAX] = '\0';
	(void)snprintf(tail, sizeof(tail), "%s/directory", profile);
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), 0);
	memset(profile, 'p', API_ACME_PROFILE_MAX + 1);
	profile[API_ACME_PROFILE_MAX + 1] = '\0';
	(void)snprintf(tail, sizeof(tail), "%s/directory", profile);
	CU_ASSERT_EQUAL(api_acme_path_parse(tail, &p), SD_E_NOT_FOUND);
}

static void
test_path_refused(void)
{
	static const char *const bad[] = {
		NULL,
		"",
		"server",
		"server/",
		"/directory",
		"server/nosuch",
		"server/Directory",
		"server/directory/",
		"server/directory/x",
		"server/new-nonce/x",
		"server//directory",
		"server/acct",
		"server/acct/",
		"server/acct/A/B",
		"server/acct/A/orders/",
		"server/acct/A/orders/c/d",
		"server/acct/A/orders/c:d",
		"server/acct/A/Orders",
		"server/order/O/orders",
		"server/order/O/finalize/x",
		"server/order/O/cancel",
		"server/authz/Z/finalize",
		"server/order//finalize",
		"ser ver/directory",
		"server/acct/a%2fb",
		"server/acct/a:b",
		"server/cert/a+b",
		"s\xc3\xa9rver/directory",
		"server/renewal-info",
		"server/chall/Z.0?x=1",
	};
	struct api_acme_path p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(api_acme_path_parse(bad[i], &p), SD_E_NOT_FOUND);
		if (api_acme_path_parse(bad[i], &p) != SD_E_NOT_FOUND)
			fprintf(stderr, "accepted: %s\n", bad[i] != NULL ? bad[i] : "(null)");
	}
}

static void
test_base(void)
{
	char base[SIGNER_ACME_BASE_MAX + 1], host[SIGNER_ACME_BASE_MAX + 2];

	CU_ASSERT_EQUAL(api_acme_base("127.0.0.1:8443", base, sizeof(base)), 0);
	CU_ASSERT_STRING_EQUAL(base, "https://127.0.0.1:8443");
	CU_ASSERT_EQUAL(api_acme_base("ca.example.test", base, sizeof(base)), 0);
	CU_ASSERT_STRING_EQUAL(base, "https://ca.example.test");
	CU_ASSERT_EQUAL(api_acme_base("[::1]:443", base, sizeof(base)), 0);
	CU_ASSERT_STRING_EQUAL(base, "https://[::1]:443");
	CU_ASSERT_EQUAL(api_acme_base("[2001:db8::1]", base, sizeof(base)), 0);
	CU_ASSERT_STRING_EQUAL(base, "https://[2001:db8::1]");
	/* The longest host fits the base's bound exactly; one more byte does not. */
	memset(host, 'h', SIGNER_ACME_BASE_MAX - 8);
	host[SIGNER_ACME_BASE_MAX - 8] = '\0';
	CU_ASSERT_EQUAL(api_acme_base(host, base, sizeof(base)), 0);
	CU_ASSERT_EQUAL(strlen(base), SIGNER_ACME_BASE_MAX);
	memset(host, 'h', SIGNER_ACME_BASE_MAX - 7);
	host[SIGNER_ACME_BASE_MAX - 7] = '\0';
	CU_ASSERT_EQUAL(api_acme_base(host, base, sizeof(base)), SD_E_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(base, "");
}

static void
test_base_refused(void)
{
	static const char *const bad[] = {
		NULL,
		"",
		":443",
		"host:",
		"host:abc",
		"host:123456",
		"host:65536",
		"host:80:80",
		"ho st",
		"host/x",
		"host@evil",
		"h\xc3\xa9st",
		"[::1",
		"[]",
		"[::1]x",
		"[::1]:",
		"[fe80::1%eth0]",
		"[::g]",
		"host:+80",
		"host:-1",
		"a\r\nX-Injected: 1",
	};
	char base[SIGNER_ACME_BASE_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(api_acme_base(bad[i], base, sizeof(base)), SD_E_INVAL);
		if (api_acme_base(bad[i], base, sizeof(base)) != SD_E_INVAL)
			fprintf(stderr, "accepted Host: %s\n", bad[i] != NULL ? bad[i] : "(null)");
	}
}

int
main(void)
{
	static const struct sd_test_case path[] = {
		{ "every resource, exact op and id", test_path_resources },
		{ "segment bounds", test_path_bounds },
		{ "unknown, malformed, missing id, extra segments", test_path_refused },
	};
	static const struct sd_test_case base[] = {
		{ "Host forms", test_base },
		{ "Host refused", test_base_refused },
	};

	SD_TEST_SUITE("api_acme_path_parse", path);
	SD_TEST_SUITE("api_acme_base", base);
	return sd_test_run("test_api_acme");
}
