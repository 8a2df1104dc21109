/*
 * The audit report's pure parts (signer/ctl/ctl_report.h): HTML escaping of
 * untrusted journal texts, day buckets, bounded name tables with "others",
 * text cut at a character boundary, and a page written from a hand-made
 * report that carries markup in every text it shows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "ctl/ctl_report.h"
#include "sd_test.h"

/* s escaped, in a new string (free()). */
static char *
escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(ctl_report_html_escape(f, s), 0);
	CU_ASSERT_EQUAL(fclose(f), 0);
	return buf;
}

static void
escape_is(const char *in, const char *want)
{
	char *got = escaped(in);

	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void
test_escape(void)
{
	escape_is("CN=a.example.com", "CN=a.example.com");
	escape_is("<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	escape_is("a\"b&c", "a&quot;b&amp;c");
	/* An entity already in the text is text: escaped again, not passed through. */
	escape_is("&lt;", "&amp;lt;");
	escape_is(NULL, "");
	escape_is("", "");
	/* Well-formed UTF-8 stays; the em dash and a 4-byte character. */
	escape_is("\xe2\x80\x94 \xf0\x9f\x94\x91", "\xe2\x80\x94 \xf0\x9f\x94\x91");
}

static void
test_escape_bytes(void)
{
	/* Control characters, and bytes that are not UTF-8: each becomes U+FFFD. */
	escape_is("a\nb\x01" "c\x7f", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd");
	escape_is("\xff<", "\xef\xbf\xbd&lt;");
	/* A lead byte whose continuation is markup: the '<' is still escaped. */
	escape_is("\xc3<b>", "\xef\xbf\xbd&lt;b&gt;");
	/* Overlong '<' (C0 BC) and a truncated 3-byte sequence at the end. */
	escape_is("\xc0\xbc", "\xef\xbf\xbd\xef\xbf\xbd");
	escape_is("x\xe2\x80", "x\xef\xbf\xbd\xef\xbf\xbd");
	/* A UTF-16 surrogate encoded in UTF-8 is not UTF-8. */
	escape_is("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_day(void)
{
	CU_ASSERT_EQUAL(ctl_report_day(0), 0);
	CU_ASSERT_EQUAL(ctl_report_day(86399999), 0);
	CU_ASSERT_EQUAL(ctl_report_day(86400000), 1);
	/* Before 1970: the day before, not day 0 (floor, not truncation). */
	CU_ASSERT_EQUAL(ctl_report_day(-1), -1);
	CU_ASSERT_EQUAL(ctl_report_day(-86400000), -1);
	CU_ASSERT_EQUAL(ctl_report_day(-86400001), -2);
	/* 2026-12-06T10:20:00Z. */
	CU_ASSERT_EQUAL(ctl_report_day(INT64_C(1796552400000)), 20793);
}

static void
test_buckets(void)
{
	struct ctl_report_keys *k = calloc(1, sizeof(*k));
	int64_t first = 1000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(ctl_report_count(k, "server", first, first), 0);
	CU_ASSERT_EQUAL(ctl_report_count(k, "server", first + CTL_REPORT_DAYS - 1, first), 0);
	/* Outside the charted days: the total only. */
	CU_ASSERT_EQUAL(ctl_report_count(k, "server", first - 1, first), 0);
	CU_ASSERT_EQUAL(ctl_report_count(k, "server", first + CTL_REPORT_DAYS, first), 0);
	CU_ASSERT_EQUAL(ctl_report_count(k, NULL, first, first), 0);
	CU_ASSERT_EQUAL(ctl_report_count(k, "", first, first), 0);
	CU_ASSERT_EQUAL(k->n, 2);
	CU_ASSERT_STRING_EQUAL(k->keys[0].name, "server");
	CU_ASSERT_EQUAL(k->keys[0].total, 4);
	CU_ASSERT_EQUAL(k->keys[0].days[0], 1);
	CU_ASSERT_EQUAL(k->keys[0].days[CTL_REPORT_DAYS - 1], 1);
	CU_ASSERT_STRING_EQUAL(k->keys[1].name, "-");
	CU_ASSERT_EQUAL(k->keys[1].total, 2);
	ctl_report_keys_free(k);
}

static void
test_keys_bounded(void)
{
	struct ctl_report_keys *k = calloc(1, sizeof(*k));
	char name[32];
	size_t i, slot;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	for (i = 0; i < CTL_REPORT_KEYS_MAX + 10; i++) {
		(void)snprintf(name, sizeof(name), "client-%zu", i);
		CU_ASSERT_EQUAL(ctl_report_count(k, name, 5, 0), 0);
	}
	/* The table stops growing; the names past it are "others". */
	CU_ASSERT_EQUAL(k->n, CTL_REPORT_KEYS_MAX);
	CU_ASSERT_EQUAL(k->others.total, 10);
	CU_ASSERT_EQUAL(k->others.days[5], 10);
	CU_ASSERT_EQUAL(ctl_report_key_slot(k, "client-0", &slot), 0);
	CU_ASSERT_EQUAL(slot, 0);
	CU_ASSERT_EQUAL(ctl_report_key_slot(k, "new", &slot), 0);
	CU_ASSERT_EQUAL(slot, CTL_REPORT_KEYS_MAX);
	ctl_report_key_add(k, slot, 5, 0, 7);
	CU_ASSERT_EQUAL(k->others.total, 17);
	ctl_report_keys_free(k);
	ctl_report_keys_free(NULL);
}

static void
test_summary(void)
{
	struct ctl_report_keys *k = calloc(1, sizeof(*k));

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(ctl_report_summary(k, "name-refused=3 bad-ttl=2", 5, 0, 0), 0);
	CU_ASSERT_EQUAL(k->n, 2);
	CU_ASSERT_STRING_EQUAL(k->keys[0].name, "name-refused");
	CU_ASSERT_EQUAL(k->keys[0].total, 3);
	CU_ASSERT_STRING_EQUAL(k->keys[1].name, "bad-ttl");
	CU_ASSERT_EQUAL(k->keys[1].days[0], 2);
	/* A detail cut short: the rest is counted without a reason. */
	CU_ASSERT_EQUAL(ctl_report_summary(k, "bad-ttl=4 quota-exce", 10, 0, 0), 0);
	CU_ASSERT_EQUAL(k->keys[1].total, 6);
	CU_ASSERT_EQUAL(k->n, 3);
	CU_ASSERT_STRING_EQUAL(k->keys[2].name, CTL_REPORT_SUMMARIZED);
	CU_ASSERT_EQUAL(k->keys[2].total, 6);
	/* Counts past the record's own count, garbage, an empty detail: none is believed. */
	CU_ASSERT_EQUAL(ctl_report_summary(k, "bad-ttl=99", 1, 0, 0), 0);
	CU_ASSERT_EQUAL(ctl_report_summary(k, "=3 x=1y", 2, 0, 0), 0);
	CU_ASSERT_EQUAL(ctl_report_summary(k, NULL, 1, 0, 0), 0);
	CU_ASSERT_EQUAL(ctl_report_summary(k, "bad-ttl=18446744073709551616", 1, 0, 0), 0);
	CU_ASSERT_EQUAL(k->keys[1].total, 6);
	CU_ASSERT_EQUAL(k->keys[2].total, 11);
	CU_ASSERT_EQUAL(k->n, 3);
	ctl_report_keys_free(k);
}

static void
test_text(void)
{
	char out[8];

	ctl_report_text(out, sizeof(out), "short");
	CU_ASSERT_STRING_EQUAL(out, "short");
	ctl_report_text(out, sizeof(out), "1234567");
	CU_ASSERT_STRING_EQUAL(out, "1234567");
	ctl_report_text(out, sizeof(out), "12345678");
	CU_ASSERT_STRING_EQUAL(out, "1234\xe2\x80\xa6");
	/* Never half a character: "12" then a 3-byte em dash does not fit before "…". */
	ctl_report_text(out, sizeof(out), "123\xe2\x80\x94xyz");
	CU_ASSERT_STRING_EQUAL(out, "123\xe2\x80\xa6");
	ctl_report_text(out, sizeof(out), NULL);
	CU_ASSERT_STRING_EQUAL(out, "");
}

/* A page from a report whose every text is markup: none of it comes out raw. */
static void
test_page(void)
{
	static const char evil[] = "<script>x</script><img src=http://e/>";
	struct ctl_report *r = calloc(1, sizeof(*r));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	r->profiles = calloc(1, sizeof(*r->profiles));
	r->clients = calloc(1, sizeof(*r->clients));
	r->reasons = calloc(1, sizeof(*r->reasons));
	r->api_reasons = calloc(1, sizeof(*r->api_reasons));
	CU_ASSERT_FATAL(r->profiles != NULL && r->clients != NULL && r->reasons != NULL && r->api_reasons != NULL);
	r->now = 1796552400;
	r->first_day = ctl_report_day(r->now * 1000) - (CTL_REPORT_DAYS - 1);
	(void)snprintf(r->source, sizeof(r->source), "journal %s", evil);
	(void)snprintf(r->verdict, sizeof(r->verdict), "journal does NOT verify: first bad record 3: %s", evil);
	r->bad_seq = 3;
	CU_ASSERT_EQUAL(ctl_report_count(r->profiles, evil, ctl_report_day(r->now * 1000), r->first_day), 0);
	CU_ASSERT_EQUAL(ctl_report_count(r->clients, evil, ctl_report_day(r->now * 1000), r->first_day), 0);
	CU_ASSERT_EQUAL(ctl_report_count(r->reasons, evil, ctl_report_day(r->now * 1000), r->first_day), 0);
	CU_ASSERT_EQUAL(ctl_report_summary(r->api_reasons, "forbidden=2 unauthenticated=1", 3,
	    ctl_report_day(r->now * 1000), r->first_day), 0);
	/* An older checkpoint cosigned than the newest: its size, age and witnesses, names escaped. */
	r->last_cp_seq = 50;
	r->last_cp_tree_size = 49;
	r->last_cp_time_ms = (r->now - 60) * 1000;
	r->cosigned_newest.size = 41;
	r->cosigned_newest.time_ms = (r->now - 3600) * 1000;
	(void)snprintf(r->cosigned_newest.by, sizeof(r->cosigned_newest.by), "w.example/%s", evil);
	r->refusals.total = 1;
	r->refusals.ev[0].seq = 3;
	ctl_report_text(r->refusals.ev[0].what, sizeof(r->refusals.ev[0].what), evil);
	ctl_report_text(r->refusals.ev[0].who, sizeof(r->refusals.ev[0].who), evil);
	ctl_report_text(r->refusals.ev[0].detail, sizeof(r->refusals.ev[0].detail), evil);
	(void)snprintf(r->certs_note, sizeof(r->certs_note), "%s", evil);

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(ctl_report_html_write(f, r), 0);
	CU_ASSERT_EQUAL(fclose(f), 0);
	CU_ASSERT_PTR_NULL(strstr(buf, "<script"));
	CU_ASSERT_PTR_NULL(strstr(buf, "<img"));
	/* Text that reads like an attribute is harmless once its '<' is an entity. */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "&lt;img src=http://e/&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "&lt;script&gt;x&lt;/script&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "class=\"verdict bad\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "id=\"bad-seq\">3<"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "default-src 'none'; style-src 'unsafe-inline'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "id=\"cosigned\">tree size 41, signed "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cosigned by w.example/&lt;script&gt;"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "not the newest checkpoint"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "id=\"api-refused\">"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<td class=\"t\">forbidden</td><td class=\"n\">2</td>"));
	free(buf);
	ctl_report_keys_free(r->profiles);
	ctl_report_keys_free(r->clients);
	ctl_report_keys_free(r->reasons);
	ctl_report_keys_free(r->api_reasons);
	free(r);
}

int
main(void)
{
	static const struct sd_test_case escape[] = {
		{ "markup and quotes become entities", test_escape },
		{ "control characters and bad UTF-8 become U+FFFD", test_escape_bytes },
	};
	static const struct sd_test_case tables[] = {
		{ "Unix days, floor before 1970", test_day },
		{ "per-day buckets and totals", test_buckets },
		{ "a full table counts new names as others", test_keys_bounded },
		{ "refusal summaries by reason, within their count", test_summary },
		{ "texts cut at a character boundary", test_text },
	};
	static const struct sd_test_case page[] = {
		{ "no journal text comes out as markup", test_page },
	};

	SD_TEST_SUITE("ctl_report_html_escape", escape);
	SD_TEST_SUITE("ctl_report tables", tables);
	SD_TEST_SUITE("ctl_report_html_write", page);
	return sd_test_run("test_report");
}
