/*
 * RFC 3339 timestamps, read and written (the API's and signerctl's time
 * filters and answers), and the wall clock. Plain arithmetic in UTC: no
 * locale, no TZ.
 */
#ifndef SD_TIME_H
#define SD_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define SD_TIME_RFC3339_LEN 21		/* "2026-12-06T10:20:00Z" and its NUL */

/*
 * Read "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (RFC 3339 §5.6;
 * 't' and 'z' too; the fraction is dropped; no leap second) as Unix seconds.
 * Errors: SD_E_INVAL (the detail says which part is wrong).
 */
SD_WUR int sd_time_parse(const char *text, int64_t *out);

/* Write t as "YYYY-MM-DDTHH:MM:SSZ" (years 0..9999). Errors: SD_E_INVAL (out of range). */
SD_WUR int sd_time_format(int64_t t, char out[SD_TIME_RFC3339_LEN]);

/* The wall clock in milliseconds since the Unix epoch (0 when it cannot be read). */
int64_t sd_time_now_ms(void);

/* Days from 1970-01-01 to y-m-d (m 1..12, d 1..31), proleptic Gregorian (H. Hinnant's days_from_civil). */
int64_t sd_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
