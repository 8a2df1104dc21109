/*
 * RFC 3339 times (include/sd_time.h): what is read, what is refused with
 * which detail, and formatting back, across leap years and the range ends.
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "sd_test.h"
#include "sd_time.h"

static int64_t
parsed(const char *text)
{
	int64_t t = -1;

	CU_ASSERT_EQUAL(sd_time_parse(text, &t), 0);
	return t;
}

static void
refused(const char *text, const char *needle)
{
	int64_t t = 7;

	CU_ASSERT_EQUAL(sd_time_parse(text, &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INVAL), needle));
}

static void
test_parse(void)
{
	CU_ASSERT_EQUAL(parsed("1970-01-01T00:00:00Z"), 0);
	CU_ASSERT_EQUAL(parsed("2026-12-06T10:20:00Z"), 1796552400);
	CU_ASSERT_EQUAL(parsed("2026-12-06t10:20:00z"), 1796552400);
	CU_ASSERT_EQUAL(parsed("2026-12-06T12:20:00+02:00"), 1796552400);
	CU_ASSERT_EQUAL(parsed("2026-12-06T05:50:00-04:30"), 1796552400);
	CU_ASSERT_EQUAL(parsed("2026-12-06T10:20:00.999999Z"), 1796552400);
	CU_ASSERT_EQUAL(parsed("2024-02-29T00:00:00Z"), 1709164800);
	CU_ASSERT_EQUAL(parsed("2000-02-29T00:00:00Z"), 951782400);
	CU_ASSERT_EQUAL(parsed("1969-12-31T23:59:59Z"), -1);
	CU_ASSERT_EQUAL(parsed("9999-12-31T23:59:59Z"), 253402300799LL);
}

static void
test_refused(void)
{
	int64_t t;

	refused("yesterday", "not an RFC 3339 time");
	refused("", "not an RFC 3339 time");
	refused("2026-12-06 10:20:00Z", "THH:MM:SS");
	refused("2026-13-01T00:00:00Z", "is not a day");
	refused("2025-02-29T00:00:00Z", "is not a day");
	refused("1900-02-29T00:00:00Z", "is not a day");
	refused("2026-04-31T00:00:00Z", "is not a day");
	refused("2026-12-06T24:00:00Z", "not a time of day");
	refused("2026-12-06T23:59:60Z", "not a time of day");
	refused("2026-12-06T10:20:00", "zone");
	refused("2026-12-06T10:20:00+0200", "zone");
	refused("2026-12-06T10:20:00+24:00", "zone");
	refused("2026-12-06T10:20:00Z ", "zone");
	refused("2026-12-06T10:20:00.Z", "fraction");
	refused("+026-12-06T10:20:00Z", "YYYY-MM-DD");
	CU_ASSERT_EQUAL(sd_time_parse(NULL, &t), SD_E_INVAL);
}

static void
test_format(void)
{
	char out[SD_TIME_RFC3339_LEN];
	int64_t t;

	CU_ASSERT_EQUAL(sd_time_format(0, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00Z");
	CU_ASSERT_EQUAL(sd_time_format(-1, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "1969-12-31T23:59:59Z");
	CU_ASSERT_EQUAL(sd_time_format(1709164800, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "2024-02-29T00:00:00Z");
	CU_ASSERT_EQUAL(sd_time_format(253402300799LL, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "9999-12-31T23:59:59Z");
	CU_ASSERT_EQUAL(sd_time_format(253402300800LL, out), SD_E_INVAL);
	CU_ASSERT_EQUAL(sd_time_format(-62167219201LL, out), SD_E_INVAL);
	/* Every day of four years round-trips. */
	for (t = 1704067200; t < 1704067200 + 4 * 366 * 86400; t += 86400 + 3601) {
		CU_ASSERT_EQUAL_FATAL(sd_time_format(t, out), 0);
		CU_ASSERT_EQUAL(parsed(out), t);
	}
}

int
main(void)
{
	static const struct sd_test_case rfc3339[] = {
		{ "times read, offsets and fractions", test_parse },
		{ "every malformed part refused by name", test_refused },
		{ "formatting and round trips", test_format },
	};

	SD_TEST_SUITE("sd_time", rfc3339);
	return sd_test_run("test_time");
}
