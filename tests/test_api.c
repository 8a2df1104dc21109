/*
 * Unit tests of the API's pure parts: request parsing, problem documents,
 * the error-to-status table, the issuance response, header helpers and the
 * client CA loading. The HTTPS paths are covered by the integration tests.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_auth.h"
#include "api_json.h"
#include "api_publish.h"
#include "api_refusals.h"
#include "api_routes.h"
#include "sd_test.h"
#include "signer.h"

/* A throwaway self-signed CA certificate (public only). */
static const char test_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBoDCCAUegAwIBAgIUcxKzTm9H/p01rlGUHfuiQHfD5PcwCgYIKoZIzj0EAwIw\n"
    "HTEbMBkGA1UEAwwSdGVzdF9hcGkgY2xpZW50IENBMCAXDTI2MTEyMzExMzkxNFoY\n"
    "DzIxMjYxMDMwMTEzOTE0WjAdMRswGQYDVQQDDBJ0ZXN0X2FwaSBjbGllbnQgQ0Ew\n"
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASHO3sargLpiOZltFqJXy4BQ2VYt50w\n"
    "2MAMB/rX5FHcv/gNkIDgGfokm5/URNEgGDCg73FXvKEf9rxiwcn33cDno2MwYTAd\n"
    "BgNVHQ4EFgQUStW+IPIhkBZ9O6Fldf3379SuC1gwHwYDVR0jBBgwFoAUStW+IPIh\n"
    "kBZ9O6Fldf3379SuC1gwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQw\n"
    "CgYIKoZIzj0EAwIDRwAwRAIgQA7d6z7aXEXq/iENAxv74ECFOwh2QTgSKfemUIYC\n"
    "aPQCICHhzmLMTD5PauPVXicueXygr4PSI4TbsGf972vtEvuf\n"
    "-----END CERTIFICATE-----\n";

#define CSR "-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n-----END CERTIFICATE REQUEST-----\\n"

/* Parse text; expect failure with slug, a 400, and every needle in the detail. */
static void
expect_refused(const char *text, const char *slug, const char *needle)
{
	struct api_sign_request *req = (struct api_sign_request *)1;
	struct api_problem p;

	memset(&p, 0, sizeof(p));
	CU_ASSERT_EQUAL(api_sign_request_parse(text, strlen(text), &req, &p), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT_EQUAL(p.status, 400);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p.slug);
	CU_ASSERT_STRING_EQUAL(p.slug, slug);
	if (strstr(p.detail, needle) == NULL)
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", p.detail, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.detail, needle));
}

static void
test_parse_valid(void)
{
	const char *text = "{\"csr\": \"" CSR "\", \"profile\": \"web\", \"ttl\": 3600}";
	struct api_sign_request *req = NULL;
	struct api_problem p;

	CU_ASSERT_EQUAL_FATAL(api_sign_request_parse(text, strlen(text), &req, &p), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_STRING_EQUAL(req->profile, "web");
	CU_ASSERT_EQUAL(req->ttl, 3600);
	CU_ASSERT_EQUAL(req->csr_pem_len, strlen(req->csr_pem));
	CU_ASSERT_PTR_NOT_NULL(strstr(req->csr_pem, "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"));
	api_sign_request_free(req);
}

static void
test_parse_valid_no_ttl(void)
{
	const char *text = "{\"profile\":\"web\",\"csr\":\"" CSR "\"}";
	struct api_sign_request *req = NULL;
	struct api_problem p;

	CU_ASSERT_EQUAL_FATAL(api_sign_request_parse(text, strlen(text), &req, &p), 0);
	CU_ASSERT_EQUAL(req->ttl, 0);
	api_sign_request_free(req);
	api_sign_request_free(NULL);
}

static void
test_parse_sans(void)
{
	const char *text = "{\"csr\": \"" CSR "\", \"profile\": \"web\", \"sans\": {\"dns\": [\"a.example.com\", "
	    "\"*.example.com\"], \"ip\": [\"10.0.0.1\", \"::1\"], \"uri\": [\"spiffe://example.com/w\"], "
	    "\"email\": [\"a@example.com\"]}}";
	const char *dns_only = "{\"csr\":\"" CSR "\",\"profile\":\"web\",\"sans\":{\"dns\":[\"b.example.com\"]}}";
	struct api_sign_request *req = NULL;
	struct api_problem p;

	CU_ASSERT_EQUAL_FATAL(api_sign_request_parse(text, strlen(text), &req, &p), 0);
	CU_ASSERT_EQUAL_FATAL(req->n_sans, 6);
	CU_ASSERT_EQUAL(req->sans[0].type, SIGNER_SAN_DNS);
	CU_ASSERT_STRING_EQUAL(req->sans[1].value, "*.example.com");
	CU_ASSERT_EQUAL(req->sans[1].len, 13);
	CU_ASSERT_EQUAL(req->sans[3].type, SIGNER_SAN_IP);
	CU_ASSERT_STRING_EQUAL(req->sans[3].value, "::1");
	CU_ASSERT_EQUAL(req->sans[4].type, SIGNER_SAN_URI);
	CU_ASSERT_EQUAL(req->sans[5].type, SIGNER_SAN_EMAIL);
	api_sign_request_free(req);
	req = NULL;
	CU_ASSERT_EQUAL_FATAL(api_sign_request_parse(dns_only, strlen(dns_only), &req, &p), 0);
	CU_ASSERT_EQUAL(req->n_sans, 1);
	api_sign_request_free(req);
}

/* Append to text (cap bytes, n of them used); text that does not fit is the test's own bug. */
static size_t __attribute__((format(printf, 4, 5)))
text_put(char *text, size_t cap, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k;

	CU_ASSERT_FATAL(n < cap);
	va_start(ap, fmt);
	k = vsnprintf(text + n, cap - n, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(k >= 0 && (size_t)k < cap - n);
	return n + (size_t)k;
}

static void
test_parse_sans_refused(void)
{
	char *text;
	size_t i, n, cap = 64 * 1024;

	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":[\"a.example.com\"]}", "bad-request",
	    "\"sans\" must be an object");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"rid\":[\"1.2\"]}}", "bad-request",
	    "unknown field \"sans.rid\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"dns\":\"a.example.com\"}}",
	    "bad-request", "\"sans.dns\" must be a list of strings");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"ip\":[10]}}", "bad-request",
	    "\"sans.ip\" item 0 must be a string");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"dns\":[\"a\",\"\"]}}", "bad-request",
	    "\"sans.dns\" item 1 must be 1 to 2048 bytes without NUL");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"email\":[\"a\\u0000b\"]}}",
	    "bad-json", "\\u0000 is not allowed");	/* jansson refuses NUL before us */
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"dns\":[]}}", "bad-request",
	    "names no name");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{}}", "bad-request", "names no name");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"dns\":[\"a\"],\"dns\":[\"b\"]}}",
	    "bad-json", "duplicate");
	/* 101 names, and one of 2049 bytes. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(text = malloc(cap));
	n = text_put(text, cap, 0, "{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"dns\":[");
	for (i = 0; i <= SIGNER_SAN_MAX; i++)
		n = text_put(text, cap, n, "%s\"h%zu.example.com\"", i ? "," : "", i);
	(void)text_put(text, cap, n, "]}}");
	expect_refused(text, "bad-request", "more than 100 names");
	n = text_put(text, cap, 0, "{\"csr\":\"" CSR "\",\"profile\":\"w\",\"sans\":{\"uri\":[\"");
	CU_ASSERT_FATAL(cap - n > SIGNER_SAN_VALUE_MAX + 1);
	memset(text + n, 'a', SIGNER_SAN_VALUE_MAX + 1);
	n += SIGNER_SAN_VALUE_MAX + 1;
	(void)text_put(text, cap, n, "\"]}}");
	expect_refused(text, "bad-request", "must be 1 to 2048 bytes");
	free(text);
}

static void
test_parse_bad_json(void)
{
	expect_refused("{\"csr\": ", "bad-json", "line 1, column 8");
	expect_refused("", "bad-json", "line 1, column 0");
	expect_refused("{\"csr\":\"a\",\"profile\":\"p\"} x", "bad-json", "column");
	expect_refused("{\"csr\":\"a\",\n\"profile\":\"p\",}", "bad-json", "line 2");
	expect_refused("{\"ttl\": 99999999999999999999, \"csr\":\"a\", \"profile\":\"p\"}", "bad-json", "too big integer");
}

static void
test_parse_duplicate_keys(void)
{
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"a\",\"csr\":\"" CSR "\"}", "bad-json", "\"csr\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"a\",\"profile\":\"b\"}", "bad-json", "\"profile\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"a\",\"ttl\":1,\"ttl\":2}", "bad-json", "duplicate");
}

static void
test_parse_not_object(void)
{
	expect_refused("[1, 2]", "bad-request", "JSON object");
	expect_refused("\"csr\"", "bad-request", "JSON object");
	expect_refused("42", "bad-request", "JSON object");
	expect_refused("null", "bad-request", "JSON object");
}

static void
test_parse_missing_fields(void)
{
	expect_refused("{\"profile\":\"web\"}", "bad-request", "\"csr\"");
	expect_refused("{\"csr\":\"" CSR "\"}", "bad-request", "\"profile\"");
	expect_refused("{}", "bad-request", "missing field \"csr\"");
}

static void
test_parse_wrong_types(void)
{
	expect_refused("{\"csr\": 1, \"profile\":\"web\"}", "bad-request", "\"csr\" must be a string");
	expect_refused("{\"csr\": [\"x\"], \"profile\":\"web\"}", "bad-request", "\"csr\"");
	expect_refused("{\"csr\":\"" CSR "\", \"profile\": null}", "bad-request", "\"profile\" must be a string");
	expect_refused("{\"csr\":\"" CSR "\", \"profile\": {}}", "bad-request", "\"profile\"");
	expect_refused("{\"csr\":\"\", \"profile\":\"web\"}", "bad-request", "\"csr\" must not be empty");
	expect_refused("{\"csr\":\"" CSR "\", \"profile\":\"\"}", "bad-request", "\"profile\" must not be empty");
}

static void
test_parse_unknown_field(void)
{
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"subject\":\"CN=x\"}", "bad-request",
	    "unknown field \"subject\"");
	expect_refused("{\"CSR\":\"" CSR "\",\"profile\":\"web\"}", "bad-request", "unknown field \"CSR\"");
}

static void
test_parse_ttl(void)
{
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":0}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":-1}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":1.5}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":\"10\"}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":null}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":10.0}", "bad-request", "\"ttl\"");
	expect_refused("{\"csr\":\"" CSR "\",\"profile\":\"web\",\"ttl\":true}", "bad-request", "\"ttl\"");
}

/* A body whose "csr" is n bytes of 'A' and whose profile is m bytes of 'p'. */
static char *
sized_body(size_t n, size_t m)
{
	size_t len = n + m + 64;
	char *body = malloc(len), *at;

	if (body == NULL)
		abort();
	at = body;
	memcpy(at, "{\"csr\":\"", 8);
	at += 8;
	memset(at, 'A', n);
	at += n;
	memcpy(at, "\",\"profile\":\"", 13);
	at += 13;
	memset(at, 'p', m);
	at += m;
	memcpy(at, "\"}", 3);
	return body;
}

static void
test_parse_limits(void)
{
	struct api_sign_request *req = NULL;
	struct api_problem p;
	char *body;

	body = sized_body(SIGNER_CSR_MAX, API_PROFILE_MAX);
	CU_ASSERT_EQUAL(api_sign_request_parse(body, strlen(body), &req, &p), 0);
	CU_ASSERT_PTR_NOT_NULL(req);
	if (req != NULL) {
		CU_ASSERT_EQUAL(req->csr_pem_len, SIGNER_CSR_MAX);
		CU_ASSERT_EQUAL(strlen(req->profile), API_PROFILE_MAX);
	}
	api_sign_request_free(req);
	free(body);

	body = sized_body(SIGNER_CSR_MAX + 1, 3);
	expect_refused(body, "bad-request", "\"csr\" is longer than 16384 bytes");
	free(body);

	body = sized_body(10, API_PROFILE_MAX + 1);
	expect_refused(body, "bad-request", "\"profile\" is longer than 64 bytes");
	free(body);
}

static void
test_parse_length_bounds_input(void)
{
	/* Only len bytes are parsed: a valid document followed by junk outside len is fine. */
	const char *text = "{\"csr\":\"x\",\"profile\":\"web\"}GARBAGE";
	struct api_sign_request *req = NULL;
	struct api_problem p;

	CU_ASSERT_EQUAL(api_sign_request_parse(text, strlen(text) - 7, &req, &p), 0);
	api_sign_request_free(req);
	expect_refused("{\"csr\":\"x\",\"profile\":\"web\"}GARBAGE", "bad-json", "end of file expected");
}

/* Parse a problem document and check its four members. */
static void
check_problem_json(const struct api_problem *p, const char *slug, unsigned status, const char *detail)
{
	char type[128], *text = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *doc;

	CU_ASSERT_EQUAL_FATAL(api_problem_json(p, &text, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(text));
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_FATAL(snprintf(type, sizeof(type), "urn:signerd:problem:%s", slug) < (int)sizeof(type));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "type")), type);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "status")), (json_int_t)status);
	CU_ASSERT_PTR_NOT_NULL(json_string_value(json_object_get(doc, "title")));
	CU_ASSERT_PTR_NOT_NULL_FATAL(json_string_value(json_object_get(doc, "detail")));
	if (detail != NULL)
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "detail")), detail);
	CU_ASSERT_EQUAL(json_object_size(doc), 4);
	json_decref(doc);
	free(text);
}

static void
test_problem_api_kinds(void)
{
	static const struct {
		enum api_problem_kind kind;
		const char *slug;
		unsigned status;
	} cases[] = {
		{ API_P_UNAUTHENTICATED, "unauthenticated", 401 },
		{ API_P_FORBIDDEN, "forbidden", 403 },
		{ API_P_BAD_JSON, "bad-json", 400 },
		{ API_P_BAD_REQUEST, "bad-request", 400 },
		{ API_P_BODY_TOO_LARGE, "body-too-large", 413 },
		{ API_P_UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", 415 },
		{ API_P_NOT_FOUND, "not-found", 404 },
		{ API_P_METHOD_NOT_ALLOWED, "method-not-allowed", 405 },
		{ API_P_BAD_HTTP, "bad-http", 400 },
		{ API_P_LENGTH_REQUIRED, "length-required", 411 },
		{ API_P_NOT_IMPLEMENTED, "not-implemented", 501 },
	};
	struct api_problem p;
	size_t i;

	CU_ASSERT_EQUAL(sizeof(cases) / sizeof(cases[0]), API_P_COUNT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api_problem_set(&p, cases[i].kind, "case %zu", i);
		CU_ASSERT_STRING_EQUAL(p.slug, cases[i].slug);
		CU_ASSERT_EQUAL(p.status, cases[i].status);
		CU_ASSERT_FALSE(p.retry_after);
		check_problem_json(&p, cases[i].slug, cases[i].status, NULL);
	}
}

static void
test_problem_escaping(void)
{
	struct api_problem p;
	char *text = NULL;
	size_t len;

	api_problem_set(&p, API_P_BAD_REQUEST, "field \"x\" has a \\ and a\nnewline and </script>");
	check_problem_json(&p, "bad-request", 400, "field \"x\" has a \\ and a\nnewline and </script>");
	CU_ASSERT_EQUAL_FATAL(api_problem_json(&p, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "field \\\"x\\\" has a \\\\ and a\\nnewline"));
	free(text);
}

static void
test_problem_not_utf8(void)
{
	struct api_problem p;

	/* A detail from outside (a CSR name) need not be UTF-8; the document must still be JSON. */
	api_problem_set(&p, API_P_BAD_REQUEST, "name \xff\xfe refused");
	check_problem_json(&p, "bad-request", 400, "name ?? refused");
}

static void
test_problem_long_detail(void)
{
	struct api_problem p;
	char big[2 * API_DETAIL_MAX];

	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	api_problem_set(&p, API_P_BAD_REQUEST, "%s", big);
	CU_ASSERT_EQUAL(strlen(p.detail), API_DETAIL_MAX - 1);
	check_problem_json(&p, "bad-request", 400, NULL);
}

static void
test_problem_from_signer_error(void)
{
	struct api_problem p;

	sd_error_clear();
	(void)sd_error_set(SD_E_NAME_REFUSED, "DNS name \"evil.example\" is outside profile \"web\"");
	api_problem_from_error(&p, SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(p.status, 400);
	CU_ASSERT_STRING_EQUAL(p.slug, "name-refused");
	check_problem_json(&p, "name-refused", 400, "DNS name \"evil.example\" is outside profile \"web\"");

	(void)sd_error_set(SD_E_HSM_UNAVAILABLE, "token removed");
	api_problem_from_error(&p, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_EQUAL(p.status, 503);
	CU_ASSERT_EQUAL(p.retry_after, 5);
	check_problem_json(&p, "hsm-unavailable", 503, "token removed");

	/* No detail recorded for this code: the generic message. */
	sd_error_clear();
	api_problem_from_error(&p, SD_E_TTL);
	check_problem_json(&p, "bad-ttl", 400, sd_strerror(SD_E_TTL));
}

static void
test_problem_internal_hides_detail(void)
{
	struct api_problem p;

	(void)sd_error_set(SD_E_CRYPTO, "EVP_DigestSign failed in /secret/path");
	api_problem_from_error(&p, SD_E_CRYPTO);
	CU_ASSERT_EQUAL(p.status, 500);
	CU_ASSERT_FALSE(p.retry_after);
	CU_ASSERT_STRING_EQUAL(p.slug, "crypto");
	CU_ASSERT_PTR_NULL(strstr(p.detail, "secret"));
	CU_ASSERT_PTR_NULL(strstr(p.title, "cryptographic"));
	check_problem_json(&p, "crypto", 500, NULL);
	sd_error_clear();
}

static void
test_status_table(void)
{
	static const struct {
		int err;
		unsigned status;
		unsigned retry;		/* seconds */
	} cases[] = {
		{ SD_OK, 500, 0 },
		{ SD_E_NOMEM, 500, 0 },
		{ SD_E_INVAL, 400, 0 },
		{ SD_E_IO, 500, 0 },
		{ SD_E_CONFIG, 500, 0 },
		{ SD_E_URI, 500, 0 },
		{ SD_E_HSM, 503, 5 },
		{ SD_E_HSM_UNAVAILABLE, 503, 5 },
		{ SD_E_PIN, 500, 0 },
		{ SD_E_KEY_NOT_FOUND, 500, 0 },
		{ SD_E_KEY_AMBIGUOUS, 500, 0 },
		{ SD_E_KEY_UNSAFE, 500, 0 },
		{ SD_E_CSR, 400, 0 },
		{ SD_E_CSR_SIGNATURE, 400, 0 },
		{ SD_E_KEY_REFUSED, 400, 0 },
		{ SD_E_NAME_REFUSED, 400, 0 },
		{ SD_E_PROFILE_UNKNOWN, 400, 0 },
		{ SD_E_TTL, 400, 0 },
		{ SD_E_JOURNAL, 503, 5 },
		{ SD_E_JOURNAL_FULL, 503, 5 },
		{ SD_E_JOURNAL_CORRUPT, 500, 0 },
		{ SD_E_CRYPTO, 500, 0 },
		{ SD_E_TOO_LARGE, 400, 0 },
		{ SD_E_UNSUPPORTED, 500, 0 },
		{ SD_E_NOT_FOUND, 404, 0 },	/* auditor lookups: unknown serial, no checkpoint yet */
		{ SD_E_INTERNAL, 500, 0 },
		{ SD_E_QUOTA, 429, 1 },	/* at least; the quota says how long (sd_error_retry_after()) */
		{ SD_E_FORBIDDEN, 403, 0 },	/* a revocation of a certificate not of the caller's key */
		{ SD_E_BUSY, 503, 1 },	/* at least; the admission gate says how long (sd_error_retry_after()) */
	};
	struct api_problem p;
	unsigned retry;
	size_t i;

	/* Every code in the table is covered. */
	CU_ASSERT_EQUAL(sizeof(cases) / sizeof(cases[0]), SD_ERROR_COUNT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		retry = cases[i].retry + 1;
		CU_ASSERT_EQUAL(api_error_status(cases[i].err, &retry), cases[i].status);
		CU_ASSERT_EQUAL(retry, cases[i].retry);
		api_problem_from_error(&p, cases[i].err);
		CU_ASSERT_EQUAL(p.status, cases[i].status);
		CU_ASSERT_STRING_EQUAL(p.slug, sd_error_name(cases[i].err));
		check_problem_json(&p, sd_error_name(cases[i].err), cases[i].status, NULL);
	}
	/* Codes outside the table are server faults. */
	CU_ASSERT_EQUAL(api_error_status(-SD_ERROR_COUNT, NULL), 500);
	CU_ASSERT_EQUAL(api_error_status(-1000, NULL), 500);
	CU_ASSERT_EQUAL(api_error_status(7, &retry), 500);
	CU_ASSERT_EQUAL(retry, 0);

	/* A quota refusal says how long to wait; the retry belongs to the error it was set with. */
	(void)sd_error_set(SD_E_QUOTA, "client \"a\" is limited");
	sd_error_set_retry_after(42);
	api_problem_from_error(&p, SD_E_QUOTA);
	CU_ASSERT_EQUAL(p.status, 429);
	CU_ASSERT_EQUAL(p.retry_after, 42);
	(void)sd_error_set(SD_E_QUOTA, "again");
	api_problem_from_error(&p, SD_E_QUOTA);
	CU_ASSERT_EQUAL(p.retry_after, 1);
	/* A busy HSM likewise: 503 with the gate's Retry-After, and the detail shown (not a server fault's). */
	(void)sd_error_set(SD_E_BUSY, "the HSM is busy: the wait queue is full");
	sd_error_set_retry_after(7);
	api_problem_from_error(&p, SD_E_BUSY);
	CU_ASSERT_EQUAL(p.status, 503);
	CU_ASSERT_EQUAL(p.retry_after, 7);
	CU_ASSERT_STRING_EQUAL(p.slug, "busy");
	CU_ASSERT_PTR_NOT_NULL(strstr(p.detail, "wait queue is full"));
}

static void
test_sign_response(void)
{
	struct signer_result r;
	const char *chain[2] = { "-----BEGIN CERTIFICATE-----\nISSUING\n-----END CERTIFICATE-----\n",
				 "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n" };
	char *text = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *doc, *arr;

	memset(&r, 0, sizeof(r));
	(void)snprintf(r.serial_hex, sizeof(r.serial_hex), "%s", "0a1b2c3d");
	(void)snprintf(r.not_after, sizeof(r.not_after), "%s", "2026-11-23T18:00:00Z");
	r.cert_pem = (char *)"-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n";
	r.journal_seq = 42;
	CU_ASSERT_EQUAL_FATAL(api_sign_response_json(&r, chain, 2, &text, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(text));
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(json_object_size(doc), 5);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "serial_number")), "0a1b2c3d");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "certificate")), r.cert_pem);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "not_after")), "2026-11-23T18:00:00Z");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "journal_seq")), 42);
	arr = json_object_get(doc, "ca_chain");
	CU_ASSERT_TRUE_FATAL(json_is_array(arr));
	CU_ASSERT_EQUAL(json_array_size(arr), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(arr, 1)), chain[1]);
	json_decref(doc);
	free(text);
}

static void
test_sign_response_malformed(void)
{
	struct signer_result r;
	const char *chain[1] = { NULL };
	char *text = (char *)1;
	size_t len;

	memset(&r, 0, sizeof(r));
	r.cert_pem = (char *)"PEM";
	(void)snprintf(r.not_after, sizeof(r.not_after), "%s", "2026-11-23T18:00:00Z");
	/* Empty serial. */
	CU_ASSERT_EQUAL(api_sign_response_json(&r, NULL, 0, &text, &len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NULL(text);
	/* Serial not NUL-terminated. */
	memset(r.serial_hex, 'a', sizeof(r.serial_hex));
	CU_ASSERT_EQUAL(api_sign_response_json(&r, NULL, 0, &text, &len), SD_E_INTERNAL);
	(void)snprintf(r.serial_hex, sizeof(r.serial_hex), "%s", "01");
	/* Missing chain entry, missing certificate, sequence beyond JSON integers. */
	CU_ASSERT_EQUAL(api_sign_response_json(&r, chain, 1, &text, &len), SD_E_INTERNAL);
	r.cert_pem = NULL;
	CU_ASSERT_EQUAL(api_sign_response_json(&r, NULL, 0, &text, &len), SD_E_INTERNAL);
	r.cert_pem = (char *)"PEM";
	r.journal_seq = UINT64_MAX;
	CU_ASSERT_EQUAL(api_sign_response_json(&r, NULL, 0, &text, &len), SD_E_INTERNAL);
	r.journal_seq = 1;
	CU_ASSERT_EQUAL(api_sign_response_json(&r, NULL, 0, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"ca_chain\":[]"));
	free(text);
}

static void
test_health_json(void)
{
	json_error_t jerr;
	json_t *doc = json_loads(api_health_ok_json(), 0, &jerr);

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "status")), "ok");
	json_decref(doc);
	/* With an audit key: no details. Without: still ok, and the details say the journal is unprotected. */
	CU_ASSERT_STRING_EQUAL(api_health_json(true), api_health_ok_json());
	doc = json_loads(api_health_json(false), 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "status")), "ok");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(doc, "details"), "checkpoints")),
	    "disabled: the journal is unprotected against rewriting");
	json_decref(doc);
}

static void
test_content_type(void)
{
	CU_ASSERT_TRUE(api_content_type_is_json("application/json"));
	CU_ASSERT_TRUE(api_content_type_is_json("Application/JSON"));
	CU_ASSERT_TRUE(api_content_type_is_json("application/json; charset=utf-8"));
	CU_ASSERT_TRUE(api_content_type_is_json(" application/json "));
	CU_ASSERT_FALSE(api_content_type_is_json(NULL));
	CU_ASSERT_FALSE(api_content_type_is_json(""));
	CU_ASSERT_FALSE(api_content_type_is_json("application/jsonx"));
	CU_ASSERT_FALSE(api_content_type_is_json("application/problem+json"));
	CU_ASSERT_FALSE(api_content_type_is_json("text/plain"));
	CU_ASSERT_FALSE(api_content_type_is_json("application/x-www-form-urlencoded"));
}

static void
test_content_length(void)
{
	uint64_t v = 1;

	CU_ASSERT_EQUAL(api_content_length_parse("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(api_content_length_parse("65536", &v), 0);
	CU_ASSERT_EQUAL(v, 65536);
	CU_ASSERT_EQUAL(api_content_length_parse("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	CU_ASSERT_EQUAL(api_content_length_parse("18446744073709551616", &v), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_content_length_parse("", &v), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_content_length_parse(NULL, &v), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_content_length_parse("-1", &v), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_content_length_parse("12 ", &v), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_content_length_parse("0x10", &v), SD_E_INVAL);
}

/* api_auth_new() of a CA bundle alone. */
static int
auth_new(const char *pem, size_t len, const char *name, struct api_auth **out)
{
	struct api_auth_material m = { .ca_pem = (const uint8_t *)pem, .ca_len = len, .ca_name = name };

	return api_auth_new(&m, out);
}

static void
test_auth_ca_load(void)
{
	struct api_auth *auth = NULL;

	CU_ASSERT_EQUAL(auth_new(test_ca_pem, strlen(test_ca_pem), "ca.pem", &auth), 0);
	CU_ASSERT_PTR_NOT_NULL(auth);
	api_auth_free(auth);
	api_auth_free(NULL);
}

static void
test_auth_ca_refused(void)
{
	static const char junk[] = "not a certificate\n";
	static const char broken[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	struct api_auth *auth = (struct api_auth *)1;

	CU_ASSERT_EQUAL(auth_new(junk, strlen(junk), "junk.pem", &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(auth);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "junk.pem"));
	CU_ASSERT_EQUAL(auth_new(broken, strlen(broken), "broken.pem", &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "broken.pem"));
	CU_ASSERT_EQUAL(auth_new("", 0, "empty.pem", &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(auth);
}

/* A client CRL that is no CRL, or none at all, is a configuration error naming its file. */
static void
test_auth_crl_refused(void)
{
	static const char junk[] = "not a CRL\n";
	static const char broken[] = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
	struct api_auth_material m = { .ca_pem = (const uint8_t *)test_ca_pem, .ca_len = strlen(test_ca_pem),
	    .ca_name = "ca.pem", .crl_name = "client.crl" };
	struct api_auth *auth = (struct api_auth *)1;

	m.crl = (const uint8_t *)junk;
	m.crl_len = strlen(junk);
	CU_ASSERT_EQUAL(api_auth_new(&m, &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(auth);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "client CRL client.crl: neither a PEM nor a DER CRL"));
	m.crl = (const uint8_t *)broken;
	m.crl_len = strlen(broken);
	CU_ASSERT_EQUAL(api_auth_new(&m, &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "client.crl"));
	m.crl_len = 0;
	CU_ASSERT_EQUAL(api_auth_new(&m, &auth), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "client CRL client.crl: empty"));
	CU_ASSERT_PTR_NULL(auth);
}

static void
test_auth_no_session(void)
{
	struct api_auth *auth = NULL;
	struct api_identity id;

	CU_ASSERT_EQUAL_FATAL(auth_new(test_ca_pem, strlen(test_ca_pem), "ca.pem", &auth), 0);
	memset(&id, 'x', sizeof(id));
	CU_ASSERT_EQUAL(api_auth_verify(auth, NULL, &id), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_INVAL), "no client certificate presented");
	CU_ASSERT_EQUAL(id.cn[0], '\0');
	CU_ASSERT_EQUAL(id.subject[0], '\0');
	api_auth_free(auth);
}

/* ---- per-connection cache of the verified client ---- */

#define T_MONO 1000		/* monotonic second of the cached verification */
#define T_EXPIRES 2000000000	/* the chain's earliest notAfter */

static uint8_t cache_leaf[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static uint8_t cache_ca[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };

/* A cache holding leaf + ca for identity "issuer", verified at T_MONO. */
static void
cache_fill(struct api_auth_cache *c, gnutls_datum_t *peers)
{
	struct api_identity id;

	memset(&id, 0, sizeof(id));
	(void)snprintf(id.cn, sizeof(id.cn), "%s", "issuer");
	(void)snprintf(id.subject, sizeof(id.subject), "%s", "CN=issuer,O=signerd demo");
	id.spki_sha256[0] = 0xab;
	peers[0] = (gnutls_datum_t){ cache_leaf, sizeof(cache_leaf) };
	peers[1] = (gnutls_datum_t){ cache_ca, sizeof(cache_ca) };
	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL_FATAL(api_auth_cache_store(c, peers, 2, &id, T_EXPIRES, T_MONO), 0);
}

static void
test_cache_same_chain(void)
{
	struct api_auth_cache c;
	gnutls_datum_t peers[2];
	uint8_t copy[sizeof(cache_leaf)];

	cache_fill(&c, peers);
	CU_ASSERT_TRUE(api_auth_cache_match(&c, peers, 2, T_MONO, T_EXPIRES - 100));
	CU_ASSERT_STRING_EQUAL(c.id.cn, "issuer");
	CU_ASSERT_EQUAL(c.id.spki_sha256[0], 0xab);
	/* Equal bytes at another address are the same chain: the DER was copied. */
	memcpy(copy, cache_leaf, sizeof(copy));
	peers[0].data = copy;
	CU_ASSERT_TRUE(api_auth_cache_match(&c, peers, 2, T_MONO + 1, T_EXPIRES - 100));
	api_auth_cache_clear(&c);
}

static void
test_cache_other_chain(void)
{
	struct api_auth_cache c;
	gnutls_datum_t peers[2], other[3];
	uint8_t leaf[sizeof(cache_leaf)], longer[sizeof(cache_leaf) + 1];

	cache_fill(&c, peers);
	/* One byte of the leaf differs (a renegotiation presented another certificate). */
	memcpy(leaf, cache_leaf, sizeof(leaf));
	leaf[sizeof(leaf) - 1] ^= 1;
	other[0] = (gnutls_datum_t){ leaf, sizeof(leaf) };
	other[1] = peers[1];
	CU_ASSERT_FALSE(api_auth_cache_match(&c, other, 2, T_MONO, 0));
	/* A longer leaf, the leaf alone, the chain in the other order, one more certificate. */
	memcpy(longer, cache_leaf, sizeof(cache_leaf));
	longer[sizeof(cache_leaf)] = 0;
	other[0] = (gnutls_datum_t){ longer, sizeof(longer) };
	CU_ASSERT_FALSE(api_auth_cache_match(&c, other, 2, T_MONO, 0));
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 1, T_MONO, 0));
	other[0] = peers[1];
	other[1] = peers[0];
	CU_ASSERT_FALSE(api_auth_cache_match(&c, other, 2, T_MONO, 0));
	other[0] = peers[0];
	other[1] = peers[1];
	other[2] = peers[1];
	CU_ASSERT_FALSE(api_auth_cache_match(&c, other, 3, T_MONO, 0));
	/* Bytes moved between certificates: same concatenation, other boundaries. */
	other[0] = (gnutls_datum_t){ cache_leaf, sizeof(cache_leaf) - 1 };
	CU_ASSERT_FALSE(api_auth_cache_match(&c, other, 2, T_MONO, 0));
	api_auth_cache_clear(&c);
}

static void
test_cache_age(void)
{
	struct api_auth_cache c;
	gnutls_datum_t peers[2];

	cache_fill(&c, peers);
	CU_ASSERT_TRUE(api_auth_cache_match(&c, peers, 2, T_MONO + API_AUTH_CACHE_SECONDS - 1, 0));
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 2, T_MONO + API_AUTH_CACHE_SECONDS, 0));
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 2, INT64_MAX, 0));
	/* A monotonic clock that went back is not trusted either. */
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 2, T_MONO - 1, 0));
	api_auth_cache_clear(&c);
}

static void
test_cache_expiry(void)
{
	struct api_auth_cache c;
	gnutls_datum_t peers[2];

	cache_fill(&c, peers);
	CU_ASSERT_TRUE(api_auth_cache_match(&c, peers, 2, T_MONO, T_EXPIRES - 1));
	/* The moment a certificate of the chain expires, the identity must be verified again. */
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 2, T_MONO, T_EXPIRES));
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 2, T_MONO, T_EXPIRES + 1));
	api_auth_cache_clear(&c);
}

static void
test_cache_empty_and_refused(void)
{
	struct api_auth_cache c;
	struct api_identity id;
	gnutls_datum_t peers[API_AUTH_CHAIN_MAX + 1], empty = { cache_leaf, 0 };
	unsigned i;

	memset(&c, 0, sizeof(c));
	memset(&id, 0, sizeof(id));
	for (i = 0; i <= API_AUTH_CHAIN_MAX; i++)
		peers[i] = (gnutls_datum_t){ cache_leaf, sizeof(cache_leaf) };
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 1, T_MONO, 0));
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, 0, T_MONO, 0));
	CU_ASSERT_EQUAL(api_auth_cache_store(&c, peers, 0, &id, T_EXPIRES, T_MONO), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_auth_cache_store(&c, peers, API_AUTH_CHAIN_MAX + 1, &id, T_EXPIRES, T_MONO),
	    SD_E_INVAL);
	CU_ASSERT_EQUAL(api_auth_cache_store(&c, &empty, 1, &id, T_EXPIRES, T_MONO), SD_E_INVAL);
	CU_ASSERT_EQUAL(c.n, 0);
	CU_ASSERT_PTR_NULL(c.der);
	CU_ASSERT_EQUAL(api_auth_cache_store(&c, peers, API_AUTH_CHAIN_MAX, &id, T_EXPIRES, T_MONO), 0);
	CU_ASSERT_TRUE(api_auth_cache_match(&c, peers, API_AUTH_CHAIN_MAX, T_MONO, 0));
	/* A failed store forgets what was there. */
	CU_ASSERT_EQUAL(api_auth_cache_store(&c, &empty, 1, &id, T_EXPIRES, T_MONO), SD_E_INVAL);
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, API_AUTH_CHAIN_MAX, T_MONO, 0));
	api_auth_cache_clear(&c);
	CU_ASSERT_FALSE(api_auth_cache_match(&c, peers, API_AUTH_CHAIN_MAX, T_MONO, 0));
	api_auth_cache_clear(NULL);
}

static void
test_cache_no_session(void)
{
	struct api_auth *auth = NULL;
	struct api_auth_cache c;
	struct api_identity id;
	gnutls_datum_t peers[2];

	CU_ASSERT_EQUAL_FATAL(auth_new(test_ca_pem, strlen(test_ca_pem), "ca.pem", &auth), 0);
	/* A connection whose peer no longer presents a certificate gets no cached identity, and loses it. */
	cache_fill(&c, peers);
	memset(&id, 'x', sizeof(id));
	CU_ASSERT_EQUAL(api_auth_verify_cached(auth, NULL, &c, &id), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_INVAL), "no client certificate presented");
	CU_ASSERT_EQUAL(id.cn[0], '\0');
	CU_ASSERT_EQUAL(c.n, 0);
	CU_ASSERT_PTR_NULL(c.der);
	/* Without a cache: plain verification. */
	CU_ASSERT_EQUAL(api_auth_verify_cached(auth, NULL, NULL, &id), SD_E_INVAL);
	api_auth_free(auth);
}

/* ---- auditor routes: the pure parts ---- */

static void
test_audit_query(void)
{
	struct api_problem p;
	uint64_t v = 7;

	CU_ASSERT_EQUAL(api_query_u64("from", NULL, 1, 100, 5, &v, &p), 0);
	CU_ASSERT_EQUAL(v, 5);
	CU_ASSERT_EQUAL(api_query_u64("from", "42", 1, 100, 5, &v, &p), 0);
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_EQUAL(api_query_u64("limit", "101", 1, 100, 5, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p.status, 400);
	CU_ASSERT_STRING_EQUAL(p.slug, "bad-request");
	CU_ASSERT(strstr(p.detail, "limit must be a number in 1..100") != NULL);
	CU_ASSERT_EQUAL(api_query_u64("limit", "0", 1, 100, 5, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_query_u64("limit", "", 1, 100, 5, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_query_u64("limit", "-1", 1, 100, 5, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_query_u64("limit", "1e3", 1, 100, 5, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_query_u64("from", "99999999999999999999999", 1, INT64_MAX, 1, &v, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_error_status(SD_E_NOT_FOUND, NULL), 404);
}

static void
test_audit_json(void)
{
	struct signer_audit_record items[2];
	struct signer_audit_records r = { items, 2, 9 };
	struct signer_audit_proof *pr;
	json_t *doc;
	json_error_t err;
	char *out = NULL;
	size_t len = 0;

	memset(items, 0, sizeof(items));
	items[0] = (struct signer_audit_record){ 3, "intent", 1700000000000LL, "aa", "bb", "U0RKUg==" };
	items[1] = (struct signer_audit_record){ 4, "result", 1700000000001LL, "cc", "dd", "U0RKUg==" };
	CU_ASSERT_EQUAL_FATAL(api_audit_records_json(&r, &out, &len), 0);
	doc = json_loadb(out, len, 0, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "records")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "next")), 5);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "last_seq")), 9);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(doc, "records"), 1),
	    "type")), "result");
	json_decref(doc);
	free(out);
	r.n = 0;
	CU_ASSERT_EQUAL_FATAL(api_audit_records_json(&r, &out, &len), 0);
	CU_ASSERT(strstr(out, "\"next\":null") != NULL);
	free(out);
	items[0].record_b64 = NULL;
	r.n = 1;
	CU_ASSERT_EQUAL(api_audit_records_json(&r, &out, &len), SD_E_INTERNAL);

	pr = calloc(1, sizeof(*pr));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pr);
	pr->intent_seq = 3;
	pr->seq = 4;
	pr->leaf_index = 3;
	pr->tree_size = 8;
	pr->checkpoint_seq = 9;
	memcpy(pr->leaf_hash_hex, "ab", 3);
	memcpy(pr->hashes_hex[0], "01", 3);
	memcpy(pr->hashes_hex[1], "02", 3);
	pr->n = 2;
	CU_ASSERT_EQUAL(api_audit_proof_json(pr, "0a", &out, &len), SD_E_INTERNAL);	/* no checkpoint */
	pr->checkpoint = strdup("origin\n8\nAAAA\n");
	CU_ASSERT_EQUAL_FATAL(api_audit_proof_json(pr, "0a", &out, &len), 0);
	doc = json_loadb(out, len, 0, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "inclusion_path")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(doc, "tree_size")), 8);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "serial_number")), "0a");
	json_decref(doc);
	free(out);
	signer_audit_proof_free(pr);
}

/* The permit table's path parameter: one non-empty segment, bounded, never across a '/'. */

/* The public routes: per listener, "{name}" in the middle, the OCSP tail; the GET request and HTTP-date codecs. */
static void
test_route_public(void)
{
	const struct api_route *r;
	const char *allow, *param;
	uint8_t der[8];
	size_t len;
	int64_t t;
	char date[32];

	r = api_route_find_on(API_LISTENER_PUBLIC, "/v1/ca/issuing/crl", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->path, "/v1/ca/{name}/crl");
	CU_ASSERT_STRING_EQUAL(param, "issuing/crl");
	CU_ASSERT_PTR_NOT_NULL(api_route_find("/v1/ca/issuing/crl", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/ca/issuing/crlx", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/ca//crl", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/ca/a/b/crl", "GET", &allow, &param));
	/* The delta CRL: both listeners, GET and HEAD. */
	r = api_route_find_on(API_LISTENER_PUBLIC, "/v1/ca/issuing/delta-crl", "HEAD", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->path, "/v1/ca/{name}/delta-crl");
	CU_ASSERT_STRING_EQUAL(param, "issuing/delta-crl");
	CU_ASSERT_PTR_NOT_NULL(api_route_find("/v1/ca/issuing/delta-crl", "GET", &allow, &param));
	r = api_route_find("/v1/crl/delta", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_TRUE(r->handler == api_route_crl_delta && (r->flags & API_ROUTE_AUTH) == 0);
	CU_ASSERT_PTR_NOT_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/crl/delta", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/crl/delta", "POST", &allow, &param));
	CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/crl/deltax", "GET", &allow, &param));
	/* The HTTPS API's routes are not on the public listener, nor the public-only ones on HTTPS. */
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/v1/sign", "POST", &allow, &param));
	CU_ASSERT_PTR_NULL(allow);
	CU_ASSERT_PTR_NULL(api_route_find("/v1/ca/issuing/certificate", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find("/ocsp", "POST", &allow, &param));
	CU_ASSERT_PTR_NULL(allow);
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/ocsp", "GET", &allow, &param));
	CU_ASSERT_STRING_EQUAL(allow, "POST");
	r = api_route_find_on(API_LISTENER_PUBLIC, "/ocsp/MAo/wCDAGMAQ=", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(param, "MAo/wCDAGMAQ=");

	CU_ASSERT_EQUAL(api_ocsp_get_decode("MAM%2BCgEB", der, sizeof(der), &len), 0);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_EQUAL(der[3], 0x0a);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MAM-CgEB", der, sizeof(der), &len), 0);
	CU_ASSERT_EQUAL(der[2], 0x3e);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MAM=", der, sizeof(der), &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MAM%3D", der, sizeof(der), &len), 0);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MAM", der, sizeof(der), &len), 0);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("M", der, sizeof(der), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MA=M", der, sizeof(der), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MA*M", der, sizeof(der), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("MA%2", der, sizeof(der), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("", der, sizeof(der), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_ocsp_get_decode("AAAAAAAAAAAA", der, sizeof(der), &len), SD_E_INVAL);	/* 9 > 8 bytes */

	api_http_date(784111777, date);
	CU_ASSERT_STRING_EQUAL(date, "Sun, 06 Nov 1994 08:49:37 GMT");
	CU_ASSERT_EQUAL(api_http_date_parse(date, &t), 0);
	CU_ASSERT_EQUAL(t, 784111777);
	CU_ASSERT_EQUAL(api_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_http_date_parse("Sun, 06 Xyz 1994 08:49:37 GMT", &t), SD_E_INVAL);
}

static void
test_route_param(void)
{
	const struct api_route *r;
	const char *allow, *param;
	char longp[128];

	r = api_route_find("/v1/certificates/0a0b", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->path, "/v1/certificates/{serial}");
	CU_ASSERT_STRING_EQUAL(param, "0a0b");
	r = api_route_find("/v1/certificates/0a0b", "HEAD", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL(r);
	r = api_route_find("/v1/certificates", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->path, "/v1/certificates");
	CU_ASSERT_PTR_NULL(param);
	CU_ASSERT_PTR_NULL(api_route_find("/v1/certificates/", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(allow);
	CU_ASSERT_PTR_NULL(api_route_find("/v1/certificates/0a/b", "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find("/v1/certificatesX", "GET", &allow, &param));
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "/v1/certificates/", 17);
	longp[17 + API_ROUTE_PARAM_MAX] = '\0';
	CU_ASSERT_PTR_NOT_NULL(api_route_find(longp, "GET", &allow, &param));
	longp[17 + API_ROUTE_PARAM_MAX] = 'a';
	longp[17 + API_ROUTE_PARAM_MAX + 1] = '\0';
	CU_ASSERT_PTR_NULL(api_route_find(longp, "GET", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find("/v1/certificates/0a0b", "POST", &allow, &param));
	CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
}

/* A page and one certificate as JSON: every field, null validity for an unparsed certificate, the cursor. */
static void
test_certs_json(void)
{
	struct signer_cert_san sans[2] = { { SIGNER_SAN_DNS, "a.example.com" }, { SIGNER_SAN_IP, "10.0.0.1" } };
	struct signer_cert items[2];
	struct signer_certs page = { items, 2, "01ab" };
	json_t *doc;
	char *out = NULL;
	size_t len = 0;

	memset(items, 0, sizeof(items));
	(void)snprintf(items[0].serial_hex, sizeof(items[0].serial_hex), "0a0b");
	items[0].profile = "server";
	items[0].client = "CN=issuer,O=Example";
	(void)snprintf(items[0].not_before, sizeof(items[0].not_before), "2026-01-01T00:00:00Z");
	(void)snprintf(items[0].not_after, sizeof(items[0].not_after), "2026-01-02T00:00:00Z");
	items[0].status = "valid";
	items[0].journal_seq = 42;
	items[0].sans = sans;
	items[0].n_sans = 2;
	items[1] = items[0];
	items[1].not_before[0] = items[1].not_after[0] = '\0';
	items[1].status = "unknown";
	items[1].n_sans = 0;
	CU_ASSERT_EQUAL_FATAL(api_certs_json(&page, &out, &len), 0);
	doc = json_loads(out, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "next_cursor")), "01ab");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(doc, "items")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(json_object_get(json_array_get(
	    json_object_get(doc, "items"), 0), "sans"), 1), "type")), "ip");
	CU_ASSERT(json_is_null(json_object_get(json_array_get(json_object_get(doc, "items"), 1), "not_after")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "items"), 0),
	    "journal_seq")), 42);
	json_decref(doc);
	free(out);
	page.next_cursor = NULL;
	page.n = 0;
	CU_ASSERT_EQUAL_FATAL(api_certs_json(&page, &out, &len), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"items\":[]}");
	free(out);
	/* One certificate needs its PEM. */
	CU_ASSERT_EQUAL(api_cert_json(&items[0], &out, &len), SD_E_INTERNAL);
	items[0].cert_pem = "-----BEGIN CERTIFICATE-----\n";
	(void)snprintf(items[0].issued, sizeof(items[0].issued), "2026-01-01T00:00:01Z");
	CU_ASSERT_EQUAL_FATAL(api_cert_json(&items[0], &out, &len), 0);
	doc = json_loads(out, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(doc, "requested_at")), "2026-01-01T00:00:01Z");
	CU_ASSERT_PTR_NOT_NULL(json_object_get(doc, "certificate"));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(doc, "client_spki_sha256"));
	json_decref(doc);
	free(out);
}

/* What the refusal counter handed on: windows, their counts and details. */
struct sent_refusals {
	pthread_mutex_t lock;
	size_t n;
	uint64_t count[4];
	char detail[4][SIGNER_API_REFUSALS_DETAIL_MAX + 1];
};

static int
keep_refusals(void *ctx, int64_t window_start_ms, uint64_t count, const char *detail)
{
	struct sent_refusals *s = ctx;

	CU_ASSERT(window_start_ms > 0);
	pthread_mutex_lock(&s->lock);
	if (s->n < 4) {
		s->count[s->n] = count;
		(void)snprintf(s->detail[s->n], sizeof(s->detail[0]), "%s", detail);
	}
	s->n++;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/*
 * The front's refusal counter: 4xx only, by slug or "http-NNN", in the order
 * first seen; past API_REFUSALS_KEYS types "other"; a window handed on when
 * it has passed (and an empty one never), the last at stop; a detail that
 * does not fit is cut at a whole entry.
 */
static void
test_refusal_counter(void)
{
	struct sent_refusals s;
	struct api_refusals *r = NULL;
	char detail[SIGNER_API_REFUSALS_DETAIL_MAX + 1], slug[API_REFUSALS_KEY_MAX + 1];
	size_t i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	CU_ASSERT_EQUAL_FATAL(api_refusals_start("https", 300, keep_refusals, &s, &r), 0);
	api_refusals_count(r, 401, "unauthenticated");
	api_refusals_count(r, 403, "forbidden");
	api_refusals_count(r, 401, "unauthenticated");
	api_refusals_count(r, 405, NULL);
	api_refusals_count(r, 200, NULL);
	api_refusals_count(r, 503, "hsm-unavailable");
	CU_ASSERT_EQUAL(api_refusals_detail(r, detail, sizeof(detail)), 4);
	CU_ASSERT_STRING_EQUAL(detail, "https: unauthenticated=2 forbidden=1 http-405=1");
	sd_test_sleep_ms(500);
	pthread_mutex_lock(&s.lock);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_EQUAL(s.count[0], 4);
	CU_ASSERT_STRING_EQUAL(s.detail[0], "https: unauthenticated=2 forbidden=1 http-405=1");
	pthread_mutex_unlock(&s.lock);
	/* A new window: nothing was counted in it yet. */
	CU_ASSERT_EQUAL(api_refusals_detail(r, detail, sizeof(detail)), 0);
	sd_test_sleep_ms(400);
	pthread_mutex_lock(&s.lock);
	CU_ASSERT_EQUAL(s.n, 1);
	pthread_mutex_unlock(&s.lock);
	for (i = 0; i < API_REFUSALS_KEYS + 3; i++) {
		(void)snprintf(slug, sizeof(slug), "problem-type-number-%02zu", i);
		api_refusals_count(r, 400, slug);
	}
	CU_ASSERT_EQUAL(api_refusals_detail(r, detail, sizeof(detail)), API_REFUSALS_KEYS + 3);
	/* 24 entries of 27 bytes do not fit in 480: whole entries only, the count stays whole. */
	CU_ASSERT(strlen(detail) <= SIGNER_API_REFUSALS_DETAIL_MAX);
	CU_ASSERT(detail[strlen(detail) - 1] >= '0' && detail[strlen(detail) - 1] <= '9');
	CU_ASSERT_PTR_NULL(strstr(detail, "other="));
	api_refusals_stop(r);
	pthread_mutex_lock(&s.lock);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.count[1], API_REFUSALS_KEYS + 3);
	pthread_mutex_unlock(&s.lock);
	/* Few types: "other" shows. */
	CU_ASSERT_EQUAL_FATAL(api_refusals_start("public", 60000, keep_refusals, &s, &r), 0);
	for (i = 0; i < API_REFUSALS_KEYS + 2; i++) {
		(void)snprintf(slug, sizeof(slug), "t%02zu", i);
		api_refusals_count(r, 404, slug);
	}
	CU_ASSERT_EQUAL(api_refusals_detail(r, detail, sizeof(detail)), API_REFUSALS_KEYS + 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, " t23=1 other=2"));
	api_refusals_stop(r);
	pthread_mutex_lock(&s.lock);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(strncmp(s.detail[2], "public: t00=1 ", 14), 0);
	pthread_mutex_unlock(&s.lock);
	/* Stopped with nothing counted: nothing sent. */
	CU_ASSERT_EQUAL_FATAL(api_refusals_start("https", 60000, keep_refusals, &s, &r), 0);
	api_refusals_stop(r);
	CU_ASSERT_EQUAL(s.n, 3);
	pthread_mutex_destroy(&s.lock);
}

int
main(void)
{
	static const struct sd_test_case parse[] = {
		{ "valid", test_parse_valid },
		{ "valid without ttl", test_parse_valid_no_ttl },
		{ "sans: dns, ip, uri, email", test_parse_sans },
		{ "sans refused: shape, types, empty, NUL, count, length", test_parse_sans_refused },
		{ "invalid JSON", test_parse_bad_json },
		{ "duplicate keys", test_parse_duplicate_keys },
		{ "not an object", test_parse_not_object },
		{ "missing fields", test_parse_missing_fields },
		{ "wrong types", test_parse_wrong_types },
		{ "unknown field", test_parse_unknown_field },
		{ "ttl 0, -1, 1.5, \"10\", null", test_parse_ttl },
		{ "csr and profile limits", test_parse_limits },
		{ "length bounds input", test_parse_length_bounds_input },
	};
	static const struct sd_test_case problem[] = {
		{ "API problems", test_problem_api_kinds },
		{ "detail escaping", test_problem_escaping },
		{ "detail not UTF-8", test_problem_not_utf8 },
		{ "long detail truncated", test_problem_long_detail },
		{ "signer error detail", test_problem_from_signer_error },
		{ "500 hides internals", test_problem_internal_hides_detail },
	};
	static const struct sd_test_case status[] = {
		{ "every SD_E_* code", test_status_table },
	};
	static const struct sd_test_case response[] = {
		{ "sign response", test_sign_response },
		{ "malformed signer result", test_sign_response_malformed },
		{ "health", test_health_json },
	};
	static const struct sd_test_case headers[] = {
		{ "Content-Type", test_content_type },
		{ "Content-Length", test_content_length },
	};
	static const struct sd_test_case refusals[] = {
		{ "the front's refusal counter", test_refusal_counter },
	};
	static const struct sd_test_case audit[] = {
		{ "query numbers are bounded", test_audit_query },
		{ "records and proof JSON", test_audit_json },
	};
	static const struct sd_test_case certs[] = {
		{ "a path parameter in the permit table", test_route_param },
		{ "public routes, OCSP GET decoding, HTTP-dates", test_route_public },
		{ "page and certificate JSON", test_certs_json },
	};
	static const struct sd_test_case auth[] = {
		{ "client CA loads", test_auth_ca_load },
		{ "client CA refused", test_auth_ca_refused },
		{ "client CRL refused", test_auth_crl_refused },
		{ "no TLS session", test_auth_no_session },
	};
	static const struct sd_test_case cache[] = {
		{ "the same chain reuses the identity", test_cache_same_chain },
		{ "another chain does not", test_cache_other_chain },
		{ "older than API_AUTH_CACHE_SECONDS", test_cache_age },
		{ "a certificate expired since", test_cache_expiry },
		{ "empty cache, bad stores", test_cache_empty_and_refused },
		{ "no TLS session clears it", test_cache_no_session },
	};

	SD_TEST_SUITE("api_sign_request_parse", parse);
	SD_TEST_SUITE("api_problem", problem);
	SD_TEST_SUITE("api_error_status", status);
	SD_TEST_SUITE("api_sign_response_json", response);
	SD_TEST_SUITE("headers", headers);
	SD_TEST_SUITE("api_auth", auth);
	SD_TEST_SUITE("api_auth_cache", cache);
	SD_TEST_SUITE("api_audit", audit);
	SD_TEST_SUITE("api_certs", certs);
	SD_TEST_SUITE("api_refusals", refusals);
	return sd_test_run("test_api");
}
