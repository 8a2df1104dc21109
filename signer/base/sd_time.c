/*
 * RFC 3339 timestamps (include/sd_time.h), by civil-calendar arithmetic
 * (H. Hinnant's days_from_civil and civil_from_days) so that neither the
 * process's TZ nor a libc's timegm() is involved.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sd_time.h"

#define SD_TIME_MIN (-62167219200LL)	/* 0000-01-01T00:00:00Z */
#define SD_TIME_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */

int64_t
sd_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static unsigned
sd_month_days(unsigned y, unsigned m)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at p as a number; false if any is not a digit. */
static bool
sd_digits(const char *p, size_t n, unsigned *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*out = *out * 10 + (unsigned)(p[i] - '0');
	}
	return true;
}

int
sd_time_parse(const char *text, int64_t *out)
{
	unsigned y, mo, d, h, mi, s, oh = 0, om = 0;
	const char *p;
	int64_t t, off = 0;

	*out = 0;
	if (text == NULL || strnlen(text, 64) < 19 || strnlen(text, 64) >= 64)
		return sd_error_set(SD_E_INVAL, "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)");
	if (!sd_digits(text, 4, &y) || text[4] != '-' || !sd_digits(text + 5, 2, &mo) || text[7] != '-' ||
	    !sd_digits(text + 8, 2, &d))
		return sd_error_set(SD_E_INVAL, "RFC 3339 time: the date is not YYYY-MM-DD");
	if (mo < 1 || mo > 12 || d < 1 || d > sd_month_days(y, mo))
		return sd_error_set(SD_E_INVAL, "RFC 3339 time: %04u-%02u-%02u is not a day", y, mo, d);
	if ((text[10] != 'T' && text[10] != 't') || !sd_digits(text + 11, 2, &h) || text[13] != ':' ||
	    !sd_digits(text + 14, 2, &mi) || text[16] != ':' || !sd_digits(text + 17, 2, &s))
		return sd_error_set(SD_E_INVAL, "RFC 3339 time: the time is not THH:MM:SS");
	if (h > 23 || mi > 59 || s > 59)
		return sd_error_set(SD_E_INVAL, "RFC 3339 time: %02u:%02u:%02u is not a time of day", h, mi, s);
	p = text + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return sd_error_set(SD_E_INVAL, "RFC 3339 time: a '.' without fraction digits");
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((p[0] == '+' || p[0] == '-') && sd_digits(p + 1, 2, &oh) && p[3] == ':' &&
	    sd_digits(p + 4, 2, &om) && p[6] == '\0' && oh <= 23 && om <= 59) {
		off = ((int64_t)oh * 3600 + (int64_t)om * 60) * (p[0] == '-' ? -1 : 1);
	} else {
		return sd_error_set(SD_E_INVAL, "RFC 3339 time: the zone is not Z or +HH:MM / -HH:MM");
	}
	t = sd_days_from_civil((int64_t)y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + (int64_t)s;
	*out = t - off;
	return 0;
}

int
sd_time_format(int64_t t, char out[SD_TIME_RFC3339_LEN])
{
	int64_t z, era, doe, yoe, doy, mp, y, days, secs;
	unsigned m, d;

	out[0] = '\0';
	if (t < SD_TIME_MIN || t > SD_TIME_MAX)
		return sd_error_set(SD_E_INVAL, "time %lld is outside years 0 to 9999", (long long)t);
	days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	secs = t - days * 86400;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y += m <= 2;
	if (snprintf(out, SD_TIME_RFC3339_LEN, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
	    (long long)(secs / 3600), (long long)(secs % 3600 / 60), (long long)(secs % 60)) != SD_TIME_RFC3339_LEN - 1)
		return sd_error_set(SD_E_INTERNAL, "time %lld does not format", (long long)t);
	return 0;
}

int64_t
sd_time_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
