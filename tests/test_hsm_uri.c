/*
 * RFC 7512 URI parsing (pkcs11/hsm_uri.c).
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "hsm_uri.h"
#include "lib/sd_test.h"

/* Parse text expecting failure with code, and a detail mentioning needle. */
static void
expect_error(const char *text, int code, const char *needle)
{
	struct hsm_uri *uri = (struct hsm_uri *)1;
	int rc;

	rc = hsm_uri_parse(text, &uri);
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT_PTR_NULL(uri);
	if (needle != NULL && strstr(sd_error_detail(rc), needle) == NULL) {
		fprintf(stderr, "\n  %s: detail \"%s\" lacks \"%s\"\n", text, sd_error_detail(rc), needle);
		CU_FAIL("detail does not name the problem");
	}
	hsm_uri_free(uri == (struct hsm_uri *)1 ? NULL : uri);
}

static void
test_token_attrs(void)
{
	struct hsm_uri *uri = NULL;

	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:token=signerd-demo;manufacturer=SoftHSM%20project;serial=abc123;model=SoftHSM%20v2", &uri), 0);
	CU_ASSERT_TRUE(uri->has_token);
	CU_ASSERT_STRING_EQUAL(uri->token, "signerd-demo");
	CU_ASSERT_TRUE(uri->has_manufacturer);
	CU_ASSERT_STRING_EQUAL(uri->manufacturer, "SoftHSM project");
	CU_ASSERT_TRUE(uri->has_serial);
	CU_ASSERT_STRING_EQUAL(uri->serial, "abc123");
	CU_ASSERT_TRUE(uri->has_model);
	CU_ASSERT_STRING_EQUAL(uri->model, "SoftHSM v2");
	CU_ASSERT_PTR_NULL(uri->object);
	CU_ASSERT_PTR_NULL(uri->id);
	CU_ASSERT_EQUAL(uri->type, HSM_URI_CLASS_ANY);
	CU_ASSERT_TRUE(hsm_uri_has_token_attrs(uri));
	CU_ASSERT_FALSE(hsm_uri_has_object_attrs(uri));
	hsm_uri_free(uri);
}

static void
test_object_attrs(void)
{
	struct hsm_uri *uri = NULL;
	static const uint8_t id[] = { 0x01, 0x02 };

	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:token=t;object=my%20key;id=%01%02;type=private", &uri), 0);
	CU_ASSERT_STRING_EQUAL(uri->token, "t");
	CU_ASSERT_PTR_NOT_NULL_FATAL(uri->object);
	CU_ASSERT_STRING_EQUAL(uri->object, "my key");
	CU_ASSERT_EQUAL(uri->object_len, 6);
	CU_ASSERT_EQUAL_FATAL(uri->id_len, sizeof(id));
	CU_ASSERT_EQUAL(memcmp(uri->id, id, sizeof(id)), 0);
	CU_ASSERT_EQUAL(uri->type, HSM_URI_CLASS_PRIVATE);
	CU_ASSERT_FALSE(uri->has_serial);
	CU_ASSERT_TRUE(hsm_uri_has_object_attrs(uri));
	hsm_uri_free(uri);
}

static void
test_minimal_and_types(void)
{
	struct hsm_uri *uri = NULL;

	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:", &uri), 0);
	CU_ASSERT_FALSE(hsm_uri_has_token_attrs(uri));
	CU_ASSERT_FALSE(hsm_uri_has_object_attrs(uri));
	hsm_uri_free(uri);
	uri = NULL;
	/* The scheme is case-insensitive (RFC 3986). */
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("PKCS11:object=ca;type=public", &uri), 0);
	CU_ASSERT_EQUAL(uri->type, HSM_URI_CLASS_PUBLIC);
	CU_ASSERT_STRING_EQUAL(uri->object, "ca");
	hsm_uri_free(uri);
	uri = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:object=a%3Bb%3Dc", &uri), 0);
	CU_ASSERT_STRING_EQUAL(uri->object, "a;b=c");
	hsm_uri_free(uri);
}

static void
test_token_match(void)
{
	struct hsm_uri *uri = NULL;
	unsigned char label[32], manuf[32], model[16], serial[16];

	memset(label, ' ', sizeof(label));
	memset(manuf, ' ', sizeof(manuf));
	memset(model, ' ', sizeof(model));
	memset(serial, ' ', sizeof(serial));
	memcpy(label, "demo", 4);
	memcpy(serial, "42", 2);
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:token=demo;serial=42", &uri), 0);
	CU_ASSERT_TRUE(hsm_uri_token_match(uri, label, manuf, model, serial));
	memcpy(serial, "43", 2);
	CU_ASSERT_FALSE(hsm_uri_token_match(uri, label, manuf, model, serial));
	hsm_uri_free(uri);
	uri = NULL;
	/* A prefix of the label is not the label. */
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:token=dem", &uri), 0);
	CU_ASSERT_FALSE(hsm_uri_token_match(uri, label, manuf, model, serial));
	hsm_uri_free(uri);
}

static void
test_unknown_attribute(void)
{
	expect_error("pkcs11:token=t;colour=blue", SD_E_URI, "\"colour\"");
	expect_error("pkcs11:objct=ca", SD_E_URI, "\"objct\"");
	expect_error("pkcs11:token=t;slot-id=3", SD_E_URI, "\"slot-id\"");
	expect_error("pkcs11:token=t?module-path=/tmp/evil.so", SD_E_URI, "\"module-path\"");
	expect_error("pkcs11:token=t?x-vendor=1", SD_E_URI, "\"x-vendor\"");
}

static void
test_pin_refused(void)
{
	expect_error("pkcs11:token=t;object=ca?pin-value=1234", SD_E_URI, "pin-value");
	expect_error("pkcs11:token=t;pin-value=1234", SD_E_URI, "pin-value");
	expect_error("pkcs11:token=t?pin-source=file:/etc/pin", SD_E_URI, "pin-source");
}

static void
test_not_pkcs11(void)
{
	expect_error("https://example.com/", SD_E_URI, "pkcs11:");
	expect_error("pkcs11", SD_E_URI, "pkcs11:");
	expect_error("pkcs12:token=t", SD_E_URI, "pkcs11:");
	expect_error("token=t", SD_E_URI, "pkcs11:");
}

static void
test_empty(void)
{
	expect_error("", SD_E_URI, "empty");
	expect_error(NULL, SD_E_URI, "empty");
	expect_error("pkcs11:object=", SD_E_URI, "\"object\"");
	expect_error("pkcs11:id=", SD_E_URI, "\"id\"");
	expect_error("pkcs11:token=t;;object=a", SD_E_URI, "empty attribute");
}

static void
test_too_long(void)
{
	char buf[1100];
	struct hsm_uri *uri = NULL;
	size_t n = 0, i;

	/* 14 + 256 * 3 + 4 + 79 * 3 + 1 = 1024 characters: the longest accepted. */
	memcpy(buf, "pkcs11:object=", 14);
	n = 14;
	for (i = 0; i < 256; i++, n += 3)
		memcpy(buf + n, "%41", 3);
	memcpy(buf + n, ";id=", 4);
	n += 4;
	for (i = 0; i < 79; i++, n += 3)
		memcpy(buf + n, "%01", 3);
	buf[n++] = 'a';
	buf[n] = '\0';
	CU_ASSERT_EQUAL_FATAL(n, 1024);
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse(buf, &uri), 0);
	CU_ASSERT_EQUAL(uri->object_len, 256);
	CU_ASSERT_EQUAL(uri->id_len, 80);
	hsm_uri_free(uri);
	buf[n++] = 'a';
	buf[n] = '\0';
	expect_error(buf, SD_E_URI, "longer than 1024");
	/* Fields have limits of their own. */
	expect_error("pkcs11:token=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SD_E_URI, "\"token\"");
	expect_error("pkcs11:serial=12345678901234567", SD_E_URI, "\"serial\"");
}

static void
test_malformed(void)
{
	struct hsm_uri *uri = NULL;

	expect_error("pkcs11:token", SD_E_URI, "'='");
	expect_error("pkcs11:=x", SD_E_URI, "no name");
	expect_error("pkcs11:object=a%zz", SD_E_URI, NULL);
	expect_error("pkcs11:object=my key", SD_E_URI, "offset 16");
	expect_error("pkcs11:object=a;object=b", SD_E_URI, "more than once");
	expect_error("pkcs11:type=banana", SD_E_URI, "\"type\"");
	/*
	 * A NUL in a token attribute: "serial=%00v" used to read as no serial at
	 * all, matching any token (found by tests/fuzz/fuzz_p11uri.c).
	 */
	expect_error("pkcs11:token=t;serial=%00v", SD_E_URI, "\"serial\" holds a NUL");
	expect_error("pkcs11:token=%00", SD_E_URI, "\"token\" holds a NUL");
	expect_error("pkcs11:manufacturer=a%00b", SD_E_URI, "\"manufacturer\" holds a NUL");
	expect_error("pkcs11:token=t;model=%00", SD_E_URI, "\"model\" holds a NUL");
	/* An id is bytes: a NUL is one of them. */
	CU_ASSERT_EQUAL_FATAL(hsm_uri_parse("pkcs11:token=t;id=%00%01", &uri), 0);
	CU_ASSERT(uri->id_len == 2 && uri->id[0] == 0 && uri->id[1] == 1);
	hsm_uri_free(uri);
}

int
main(void)
{
	static const struct sd_test_case parse[] = {
		{ "token attributes", test_token_attrs },
		{ "object, id, type, percent-encoding", test_object_attrs },
		{ "minimal URI, scheme case, encoded separators", test_minimal_and_types },
		{ "token matching", test_token_match },
	};
	static const struct sd_test_case refuse[] = {
		{ "unknown attribute named", test_unknown_attribute },
		{ "PIN in URI refused", test_pin_refused },
		{ "not a pkcs11: URI", test_not_pkcs11 },
		{ "empty URI and values", test_empty },
		{ "over-long URI and fields", test_too_long },
		{ "malformed syntax", test_malformed },
	};

	SD_TEST_SUITE("hsm_uri_parse", parse);
	SD_TEST_SUITE("hsm_uri_parse refusals", refuse);
	return sd_test_run("test_hsm_uri");
}
