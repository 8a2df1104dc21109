/*
 * Metrics in the Prometheus text exposition format (version 0.0.4): a
 * growing text to write them into, and a lock-free latency histogram that
 * request threads update with relaxed atomics, so that counting costs no
 * lock on the issuance path.
 */
#ifndef SD_METRICS_H
#define SD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define SD_METRICS_TEXT_MAX (1024 * 1024)	/* bytes of one exposition */

/* Text being written; zero-initialise. Once a write fails (memory, size), the rest are dropped. */
struct sd_metrics_text {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

void sd_metrics_printf(struct sd_metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void sd_metrics_family(struct sd_metrics_text *t, const char *name, const char *type, const char *help);

/* value as a label value, quotes excluded: \, " and newline escaped; other control bytes become '?'. */
void sd_metrics_label(struct sd_metrics_text *t, const char *value);

/* The text, NUL-terminated, owned by the caller. Errors: SD_E_NOMEM, SD_E_TOO_LARGE (past SD_METRICS_TEXT_MAX). */
SD_WUR int sd_metrics_text_take(struct sd_metrics_text *t, char **out, size_t *len);
void sd_metrics_text_clear(struct sd_metrics_text *t);

/* Upper bounds of the histogram buckets, in seconds: 1 ms to 10 s; the last bucket is +Inf. */
#define SD_HISTOGRAM_BOUNDS 13
extern const double sd_histogram_bounds[SD_HISTOGRAM_BOUNDS];

/* A latency histogram; zero-initialise (static or calloc). */
struct sd_histogram {
	atomic_uint_fast64_t le[SD_HISTOGRAM_BOUNDS + 1];	/* per bucket, not cumulative */
	atomic_uint_fast64_t sum_us;
};

void sd_histogram_observe(struct sd_histogram *h, uint64_t us);

/*
 * name_bucket{labels,le="..."} (cumulative), name_sum and name_count; labels
 * is a ready label list without braces (e.g. route="/v1/sign") or "".
 */
void sd_histogram_text(struct sd_metrics_text *t, const char *name, const char *labels, const struct sd_histogram *h);

/* Microseconds of CLOCK_MONOTONIC, for durations. */
uint64_t sd_monotonic_us(void);

#endif
