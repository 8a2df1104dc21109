/*
 * Profile policy: DNS name syntax and suffixes, IP ranges, lifetimes.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "policy/profile_check.h"
#include "sd_test.h"

static struct config_profile profile;

static void
test_profile_init(void)
{
	static char name[] = "web";
	static char s1[] = "example.com";
	static char s2[] = ".Internal.Example.NET";

	memset(&profile, 0, sizeof(profile));
	profile.name = name;
	profile.default_ttl = 86400;
	profile.max_ttl = 7 * 86400;
	profile.dns_suffixes[0] = s1;
	profile.dns_suffixes[1] = s2;
	profile.n_dns_suffixes = 2;
}

static void
test_range(size_t i, int family, const char *addr, unsigned prefix)
{
	memset(&profile.ip_ranges[i], 0, sizeof(profile.ip_ranges[i]));
	profile.ip_ranges[i].family = family;
	profile.ip_ranges[i].prefix = prefix;
	CU_ASSERT_EQUAL_FATAL(inet_pton(family, addr, profile.ip_ranges[i].addr), 1);
	if (profile.n_ip_ranges <= i)
		profile.n_ip_ranges = i + 1;
}

static int
dns(const char *name)
{
	return profile_check_dns(&profile, name, strlen(name));
}

static int
ip(const char *text)
{
	uint8_t a[16];
	int family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(family, text, a) != 1)
		return 99;
	return profile_check_ip(&profile, family, a, family == AF_INET ? 4 : 16);
}

static void
test_dns_suffix(void)
{
	test_profile_init();
	CU_ASSERT_EQUAL(dns("example.com"), 0);
	CU_ASSERT_EQUAL(dns("www.example.com"), 0);
	CU_ASSERT_EQUAL(dns("a.b.c.example.com"), 0);
	CU_ASSERT_EQUAL(dns("db.internal.example.net"), 0);
	CU_ASSERT_EQUAL(dns("internal.example.net"), 0);

	CU_ASSERT_EQUAL(dns("badexample.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "badexample.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "profile web"));
	CU_ASSERT_EQUAL(dns("example.com.evil.org"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("example.net"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("xexample.com"), SD_E_NAME_REFUSED);

	CU_ASSERT_TRUE(profile_dns_suffix_match("a.example.com", 13, "example.com"));
	CU_ASSERT_TRUE(profile_dns_suffix_match("A.EXAMPLE.COM", 13, "example.com"));
	CU_ASSERT_FALSE(profile_dns_suffix_match("aexample.com", 12, "example.com"));
	CU_ASSERT_FALSE(profile_dns_suffix_match("example.com", 11, ""));
	CU_ASSERT_FALSE(profile_dns_suffix_match("example.com", 11, "."));
	CU_ASSERT_FALSE(profile_dns_suffix_match("example.com", 11, NULL));
	/* Only len bytes count. */
	CU_ASSERT_TRUE(profile_dns_suffix_match("example.comXYZ", 11, "example.com"));

	profile.n_dns_suffixes = 0;
	CU_ASSERT_EQUAL(dns("example.com"), SD_E_NAME_REFUSED);
}

static void
test_dns_case(void)
{
	test_profile_init();
	CU_ASSERT_EQUAL(dns("WWW.Example.COM"), 0);
	CU_ASSERT_EQUAL(dns("DB.INTERNAL.EXAMPLE.NET"), 0);
	CU_ASSERT_EQUAL(dns("www.BADEXAMPLE.com"), SD_E_NAME_REFUSED);
}

static void
test_dns_syntax(void)
{
	char name[300];

	test_profile_init();
	CU_ASSERT_EQUAL(dns("www.example.com."), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "ends with a dot"));
	CU_ASSERT_EQUAL(dns("www..example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "empty label"));
	CU_ASSERT_EQUAL(dns(".example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns(""), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("."), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("under_score.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "'_'"));
	CU_ASSERT_EQUAL(dns("*.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "wildcard"));
	CU_ASSERT_EQUAL(dns("w*w.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("-www.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("www-.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("w-w.example.com"), 0);
	CU_ASSERT_EQUAL(dns("www example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("www.exämple.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("1.2.3.4"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("123.example.com"), 0);

	/* NUL inside the name: the length, not strlen(), is what counts. */
	CU_ASSERT_EQUAL(profile_check_dns(&profile, "evil.com\0.example.com", 21), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "NUL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "\\x00"));

	/* Labels of 63 and 64 characters. */
	memset(name, 'a', 63);
	memcpy(name + 63, ".example.com", 13);
	CU_ASSERT_EQUAL(dns(name), 0);
	memset(name, 'a', 64);
	memcpy(name + 64, ".example.com", 13);
	CU_ASSERT_EQUAL(dns(name), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "64 characters"));

	/* Names of 253 and 254 characters (labels of 60 + '.'). */
	memset(name, 0, sizeof(name));
	memset(name, 'b', 241);
	name[60] = name[121] = name[182] = '.';
	memcpy(name + 241, ".example.com", 13);
	CU_ASSERT_EQUAL(strlen(name), 253);
	CU_ASSERT_EQUAL(dns(name), 0);
	memset(name, 'b', 242);
	name[60] = name[121] = name[182] = '.';
	memcpy(name + 242, ".example.com", 13);
	CU_ASSERT_EQUAL(strlen(name), 254);
	CU_ASSERT_EQUAL(dns(name), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "at most 253"));

	CU_ASSERT_EQUAL(profile_check_dns_syntax(NULL, 0), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(profile_check_dns_syntax("localhost", 9), 0);

	/* IDNA2008: an "xn--" label must be the A-label of a valid U-label. */
	CU_ASSERT_EQUAL(dns("xn--zz.example.com"), SD_E_NAME_REFUSED);	/* not punycode */
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "\"xn--zz\" is not a valid IDNA2008 A-label"));
	CU_ASSERT_EQUAL(dns("a.XN--ZZ.example.com"), SD_E_NAME_REFUSED);	/* the prefix in any case */
	CU_ASSERT_EQUAL(dns("xn--ls8h.example.com"), SD_E_NAME_REFUSED);	/* an emoji: disallowed */
	CU_ASSERT_EQUAL(dns("xn--a.example.com"), SD_E_NAME_REFUSED);	/* decodes to nothing */
	CU_ASSERT_EQUAL(dns("xn--0000h.example.com"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(dns("xn--bcher-kva.example.com"), 0);		/* bücher */
	CU_ASSERT_EQUAL(dns("XN--BCHER-KVA.example.com"), 0);		/* A-labels compare without case */
	CU_ASSERT_EQUAL(profile_check_dns_syntax("shop.xn--55qx5d", 15), 0);	/* .公司 */
	CU_ASSERT_EQUAL(dns("xn-a.example.com"), 0);			/* not the prefix */
	CU_ASSERT_EQUAL(profile_check_alabel("xn--zz", 6), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(profile_check_alabel("www", 3), 0);
}

static void
test_ip_ranges(void)
{
	test_profile_init();
	test_range(0, AF_INET, "10.1.0.0", 16);
	test_range(1, AF_INET, "192.0.2.7", 32);
	test_range(2, AF_INET6, "2001:db8::", 32);
	test_range(3, AF_INET, "172.16.0.0", 12);

	CU_ASSERT_EQUAL(ip("10.1.0.0"), 0);
	CU_ASSERT_EQUAL(ip("10.1.255.255"), 0);
	CU_ASSERT_EQUAL(ip("10.2.0.0"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "10.2.0.0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "profile web"));
	CU_ASSERT_EQUAL(ip("10.0.255.255"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(ip("192.0.2.7"), 0);
	CU_ASSERT_EQUAL(ip("192.0.2.8"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(ip("192.0.2.6"), SD_E_NAME_REFUSED);
	/* /12: 172.16.0.0 - 172.31.255.255. */
	CU_ASSERT_EQUAL(ip("172.31.255.255"), 0);
	CU_ASSERT_EQUAL(ip("172.32.0.0"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(ip("172.15.255.255"), SD_E_NAME_REFUSED);

	CU_ASSERT_EQUAL(ip("2001:db8::1"), 0);
	CU_ASSERT_EQUAL(ip("2001:db8:ffff:ffff::"), 0);
	CU_ASSERT_EQUAL(ip("2001:db9::1"), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "2001:db9::1"));
	/* v4 and v6 do not mix, not even as v4-mapped addresses. */
	CU_ASSERT_EQUAL(ip("::ffff:10.1.0.1"), SD_E_NAME_REFUSED);

	/* /0 allows every address of its family only. */
	profile.n_ip_ranges = 0;
	CU_ASSERT_EQUAL(ip("10.1.0.1"), SD_E_NAME_REFUSED);
	test_range(0, AF_INET, "0.0.0.0", 0);
	CU_ASSERT_EQUAL(ip("10.1.0.1"), 0);
	CU_ASSERT_EQUAL(ip("255.255.255.255"), 0);
	CU_ASSERT_EQUAL(ip("::1"), SD_E_NAME_REFUSED);
	test_range(0, AF_INET6, "::", 0);
	CU_ASSERT_EQUAL(ip("::1"), 0);
	CU_ASSERT_EQUAL(ip("10.1.0.1"), SD_E_NAME_REFUSED);
	/* /128 and a bad length. */
	test_range(0, AF_INET6, "::1", 128);
	CU_ASSERT_EQUAL(ip("::1"), 0);
	CU_ASSERT_EQUAL(ip("::2"), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(profile_check_ip(&profile, AF_INET6, (const uint8_t *)"\0\0\0\1", 4), SD_E_NAME_REFUSED);
	/* A range whose prefix exceeds the address length never matches. */
	test_range(0, AF_INET, "10.0.0.1", 33);
	CU_ASSERT_EQUAL(ip("10.0.0.1"), SD_E_NAME_REFUSED);
}

static void
test_ttl(void)
{
	uint64_t ttl = 1;

	test_profile_init();
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 0, &ttl), 0);
	CU_ASSERT_EQUAL(ttl, 86400);
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 3600, &ttl), 0);
	CU_ASSERT_EQUAL(ttl, 3600);
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 7 * 86400, &ttl), 0);
	CU_ASSERT_EQUAL(ttl, 7 * 86400);
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 7 * 86400 + 1, &ttl), SD_E_TTL);
	CU_ASSERT_EQUAL(ttl, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_TTL), "604801"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_TTL), "604800"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_TTL), "profile web"));
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, UINT64_MAX, &ttl), SD_E_TTL);
	/* A default above the maximum is refused too, naming both. */
	profile.default_ttl = 8 * 86400;
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 0, &ttl), SD_E_TTL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_TTL), "691200"));
	profile.default_ttl = 0;
	CU_ASSERT_EQUAL(profile_check_ttl(&profile, 0, &ttl), SD_E_TTL);
}

/* rc must be want, and when refused the detail must contain needle. */
static void
expect(int rc, int want, const char *needle)
{
	CU_ASSERT_EQUAL(rc, want);
	if (rc != 0 && needle != NULL && strstr(sd_error_detail(rc), needle) == NULL) {
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", sd_error_detail(rc), needle);
		CU_FAIL("detail");
	}
}

#define DNS(n) profile_check_dns(&profile, (n), strlen(n))
#define URI(n) profile_check_uri(&profile, (n), strlen(n))
#define SPIFFE(n) profile_check_spiffe_id((n), strlen(n), NULL, NULL, NULL)
#define EMAIL(n) profile_check_email(&profile, (n), strlen(n))

static void
test_wildcards(void)
{
	test_profile_init();
	expect(DNS("*.example.com"), SD_E_NAME_REFUSED, "wildcards = false");
	profile.wildcards = true;
	expect(DNS("*.example.com"), 0, NULL);
	expect(DNS("*.a.example.com"), 0, NULL);
	expect(DNS("*.internal.example.net"), 0, NULL);
	expect(DNS("*.com"), SD_E_NAME_REFUSED, "covers a whole top-level domain");
	expect(DNS("*.evil.org"), SD_E_NAME_REFUSED, "not under any DNS suffix");
	expect(DNS("f*o.example.com"), SD_E_NAME_REFUSED, "whole left-most label");
	expect(DNS("*foo.example.com"), SD_E_NAME_REFUSED, "whole left-most label");
	expect(DNS("a.*.example.com"), SD_E_NAME_REFUSED, "whole left-most label");
	expect(DNS("*.*.example.com"), SD_E_NAME_REFUSED, "whole left-most label");
	expect(DNS("*"), SD_E_NAME_REFUSED, "whole left-most label");
	expect(DNS("*."), SD_E_NAME_REFUSED, NULL);
	/* A suffix that is a single label: its wildcard would cover a whole top-level domain. */
	{
		static char tld[] = "localhost";

		profile.dns_suffixes[2] = tld;
		profile.n_dns_suffixes = 3;
		expect(DNS("*.localhost"), SD_E_NAME_REFUSED, "covers a whole top-level domain");
		expect(DNS("a.localhost"), 0, NULL);
	}
	test_profile_init();
}

static void
test_spiffe_syntax(void)
{
	const char *td = NULL;
	size_t td_len = 0;
	bool has_path = false;
	char big[PROFILE_SPIFFE_MAX + 16];

	CU_ASSERT_EQUAL(profile_check_spiffe_id("spiffe://example.com/ns/a_b-c.d", 31, &td, &td_len, &has_path), 0);
	CU_ASSERT(td_len == 11 && memcmp(td, "example.com", 11) == 0 && has_path);
	CU_ASSERT_EQUAL(profile_check_spiffe_id("spiffe://td", 11, NULL, NULL, &has_path), 0);
	CU_ASSERT_FALSE(has_path);
	expect(SPIFFE("spiffe://my_td-1.example/A/b.c/D-e_f"), 0, NULL);
	expect(SPIFFE("SPIFFE://example.com/a"), SD_E_NAME_REFUSED, "does not start with \"spiffe://\"");
	expect(SPIFFE("https://example.com/a"), SD_E_NAME_REFUSED, "does not start with");
	expect(SPIFFE("spiffe://Example.com/a"), SD_E_NAME_REFUSED, "upper-case trust domain");
	expect(SPIFFE("spiffe://example.com:443/a"), SD_E_NAME_REFUSED, "a port");
	expect(SPIFFE("spiffe://user@example.com/a"), SD_E_NAME_REFUSED, "userinfo");
	expect(SPIFFE("spiffe:///a"), SD_E_NAME_REFUSED, "no trust domain");
	expect(SPIFFE("spiffe://example.com/a?x=1"), SD_E_NAME_REFUSED, "a query");
	expect(SPIFFE("spiffe://example.com/a#f"), SD_E_NAME_REFUSED, "a fragment");
	expect(SPIFFE("spiffe://example.com/a%20b"), SD_E_NAME_REFUSED, "percent-encoding");
	expect(SPIFFE("spiffe://example.com/a//b"), SD_E_NAME_REFUSED, "empty path segment");
	expect(SPIFFE("spiffe://example.com/a/"), SD_E_NAME_REFUSED, "empty path segment");
	expect(SPIFFE("spiffe://example.com/a/./b"), SD_E_NAME_REFUSED, "\".\" or \"..\"");
	expect(SPIFFE("spiffe://example.com/.."), SD_E_NAME_REFUSED, "\".\" or \"..\"");
	expect(SPIFFE("spiffe://example.com/a b"), SD_E_NAME_REFUSED, "outside [A-Za-z0-9.-_]");
	memcpy(big, "spiffe://example.com/", 21);
	memset(big + 21, 'a', sizeof(big) - 22);
	big[sizeof(big) - 1] = '\0';
	expect(SPIFFE(big), SD_E_NAME_REFUSED, "at most 2048");
	CU_ASSERT_EQUAL(profile_check_spiffe_id("spiffe://example.com/a\0b", 23, NULL, NULL, NULL), SD_E_NAME_REFUSED);
}

static void
test_uris(void)
{
	static char td[] = "example.com", p1[] = "https://example.com/app/", p2[] = "urn:x/";

	test_profile_init();
	expect(URI("https://example.com/app/x"), SD_E_NAME_REFUSED, "does not start with any uri_prefixes of profile web");
	profile.uri_prefixes[0] = p1;
	profile.uri_prefixes[1] = p2;
	profile.n_uri_prefixes = 2;
	expect(URI("https://example.com/app/x?y=1#z"), 0, NULL);
	expect(URI("https://example.com/app/"), 0, NULL);
	expect(URI("https://example.com/application"), SD_E_NAME_REFUSED, "uri_prefixes");
	expect(URI("https://example.com.evil.org/app/x"), SD_E_NAME_REFUSED, "uri_prefixes");
	expect(URI("https://example.com/app/../admin"), SD_E_NAME_REFUSED, "path segment");
	expect(URI("https://example.com/app/%2e%2e/admin"), SD_E_NAME_REFUSED, "percent-encoded '.'");
	expect(URI("https://example.com/app/a b"), SD_E_NAME_REFUSED, "byte 0x20");
	expect(URI("https://example.com/app/%zz"), SD_E_NAME_REFUSED, "bad percent-encoding");
	expect(URI("example.com/app/"), SD_E_NAME_REFUSED, "not an absolute URI");
	/* SPIFFE IDs: by trust domain, with a path, and always valid ones. */
	expect(URI("spiffe://example.com/ns/web"), SD_E_NAME_REFUSED, "uri_prefixes");
	profile.spiffe_trust_domain = td;
	expect(URI("spiffe://example.com/ns/web"), 0, NULL);
	expect(URI("spiffe://example.org/ns/web"), SD_E_NAME_REFUSED, "not in trust domain example.com of profile web");
	expect(URI("spiffe://example.com"), SD_E_NAME_REFUSED, "has no path");
	expect(URI("spiffe://example.com/a//b"), SD_E_NAME_REFUSED, "has an empty path segment");
	expect(URI("spiffe://EXAMPLE.com/a"), SD_E_NAME_REFUSED, "upper-case trust domain");
	test_profile_init();
}

static void
test_emails(void)
{
	static char d[] = "example.com";

	test_profile_init();
	profile.email_domains[0] = d;
	profile.n_email_domains = 1;
	expect(EMAIL("alice@example.com"), 0, NULL);
	expect(EMAIL("Alice.B+tag@EXAMPLE.COM"), 0, NULL);
	expect(EMAIL("alice@sub.example.com"), SD_E_NAME_REFUSED, "not in any email_domains of profile web");
	expect(EMAIL("alice@example.org"), SD_E_NAME_REFUSED, "not in any email_domains");
	expect(EMAIL("alice"), SD_E_NAME_REFUSED, "has no '@'");
	expect(EMAIL("a@b@example.com"), SD_E_NAME_REFUSED, "more than one '@'");
	expect(EMAIL("@example.com"), SD_E_NAME_REFUSED, "local part of 0 bytes");
	expect(EMAIL(".a@example.com"), SD_E_NAME_REFUSED, "not a dot-atom");
	expect(EMAIL("a..b@example.com"), SD_E_NAME_REFUSED, "not a dot-atom");
	expect(EMAIL("\"a b\"@example.com"), SD_E_NAME_REFUSED, "not a dot-atom");
	expect(EMAIL("a@exa_mple.com"), SD_E_NAME_REFUSED, "has character '_'");
	expect(EMAIL("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com"), SD_E_NAME_REFUSED,
	    "local part of 65 bytes");
	CU_ASSERT_EQUAL(profile_check_email(&profile, "a\0@example.com", 14), SD_E_NAME_REFUSED);
	test_profile_init();
}

static void
test_key_types(void)
{
	unsigned ku = 0;

	test_profile_init();
	profile.key_types = CONFIG_KEY_P256 | CONFIG_KEY_ED25519;
	profile.key_usage = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT;
	expect(profile_check_key_type(&profile, CONFIG_KEY_P256), 0, NULL);
	expect(profile_check_key_type(&profile, CONFIG_KEY_RSA), SD_E_KEY_REFUSED,
	    "rsa subject keys are not allowed by profile web (key_types = p256, ed25519)");
	expect(profile_check_key_type(&profile, CONFIG_KEY_P384), SD_E_KEY_REFUSED, "p384");
	expect(profile_check_key_type(&profile, 0), SD_E_KEY_REFUSED, "unknown");
	/* keyUsage per key type: keyEncipherment for RSA only, keyAgreement for EC only. */
	CU_ASSERT_EQUAL(profile_key_usage(&profile, CONFIG_KEY_RSA, &ku), 0);
	CU_ASSERT_EQUAL(ku, CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT);
	CU_ASSERT_EQUAL(profile_key_usage(&profile, CONFIG_KEY_P384, &ku), 0);
	CU_ASSERT_EQUAL(ku, CONFIG_KU_DIGITAL_SIGNATURE);
	profile.key_usage = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_AGREEMENT;
	CU_ASSERT_EQUAL(profile_key_usage(&profile, CONFIG_KEY_P521, &ku), 0);
	CU_ASSERT_EQUAL(ku, CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_AGREEMENT);
	CU_ASSERT_EQUAL(profile_key_usage(&profile, CONFIG_KEY_ED25519, &ku), 0);
	CU_ASSERT_EQUAL(ku, CONFIG_KU_DIGITAL_SIGNATURE);
	profile.key_usage = CONFIG_KU_KEY_ENCIPHERMENT;
	expect(profile_key_usage(&profile, CONFIG_KEY_ED25519, &ku), SD_E_KEY_REFUSED,
	    "key_usage allows nothing for a ed25519 subject key");
	CU_ASSERT_EQUAL(sd_config_key_usage_allowed(0), 0);
	test_profile_init();
}

int
main(void)
{
	static const struct sd_test_case dns_cases[] = {
		{ "suffix match: exact, subdomain, badexample.com", test_dns_suffix },
		{ "upper case", test_dns_case },
		{ "syntax: dot, empty label, 63/64, 253/254, NUL, _, *, IDNA2008 A-labels", test_dns_syntax },
	};
	static const struct sd_test_case name_cases[] = {
		{ "wildcards: policy, left-most label only, never a TLD", test_wildcards },
		{ "SPIFFE ID syntax", test_spiffe_syntax },
		{ "URIs: prefixes, dot-segments, SPIFFE trust domain", test_uris },
		{ "e-mail addresses", test_emails },
		{ "key types and key usage per key type", test_key_types },
	};
	static const struct sd_test_case ip_cases[] = {
		{ "ranges: in, out, /0, /32, /128, v4 vs v6", test_ip_ranges },
	};
	static const struct sd_test_case ttl_cases[] = {
		{ "default, maximum, refusals", test_ttl },
	};

	SD_TEST_SUITE("profile dns", dns_cases);
	SD_TEST_SUITE("profile ip", ip_cases);
	SD_TEST_SUITE("profile names and keys", name_cases);
	SD_TEST_SUITE("profile ttl", ttl_cases);
	return sd_test_run("test_profile");
}
