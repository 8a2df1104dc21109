/* Prometheus text and histograms (include/sd_metrics.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sd_metrics.h"

const double sd_histogram_bounds[SD_HISTOGRAM_BOUNDS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Room for at least need more bytes (and a NUL), within SD_METRICS_TEXT_MAX. */
static bool
sd_metrics_reserve(struct sd_metrics_text *t, size_t need)
{
	size_t cap;
	char *p;

	if (t->failed)
		return false;
	if (need >= SD_METRICS_TEXT_MAX - t->len) {
		t->failed = true;
		return false;
	}
	if (t->len + need + 1 <= t->cap)
		return true;
	cap = t->cap == 0 ? 4096 : t->cap;
	while (cap < t->len + need + 1)
		cap *= 2;
	if ((p = realloc(t->p, cap)) == NULL) {
		t->failed = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

void
sd_metrics_printf(struct sd_metrics_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sd_metrics_reserve(t, (size_t)n)) {
		t->failed = true;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void
sd_metrics_family(struct sd_metrics_text *t, const char *name, const char *type, const char *help)
{
	sd_metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
sd_metrics_label(struct sd_metrics_text *t, const char *value)
{
	const char *s;
	size_t n = 0;

	for (s = value; *s != '\0'; s++)
		n += (*s == '\\' || *s == '"' || *s == '\n') ? 2 : 1;
	if (!sd_metrics_reserve(t, n))
		return;
	for (s = value; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"') {
			t->p[t->len++] = '\\';
			t->p[t->len++] = *s;
		} else if (*s == '\n') {
			t->p[t->len++] = '\\';
			t->p[t->len++] = 'n';
		} else {
			t->p[t->len++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
		}
	}
	t->p[t->len] = '\0';
}

void
sd_metrics_text_clear(struct sd_metrics_text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

int
sd_metrics_text_take(struct sd_metrics_text *t, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!t->failed && t->p == NULL)
		(void)sd_metrics_reserve(t, 0);
	if (t->failed || t->p == NULL) {
		bool big = t->p != NULL && t->len + 4096 >= SD_METRICS_TEXT_MAX;

		sd_metrics_text_clear(t);
		return big ? sd_error_set(SD_E_TOO_LARGE, "metrics exceed %d bytes", SD_METRICS_TEXT_MAX) : SD_E_NOMEM;
	}
	t->p[t->len] = '\0';
	*out = t->p;
	*len = t->len;
	memset(t, 0, sizeof(*t));
	return 0;
}

void
sd_histogram_observe(struct sd_histogram *h, uint64_t us)
{
	double s = (double)us / 1e6;
	size_t i;

	for (i = 0; i < SD_HISTOGRAM_BOUNDS && s > sd_histogram_bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&h->le[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void
sd_histogram_text(struct sd_metrics_text *t, const char *name, const char *labels, const struct sd_histogram *h)
{
	const char *sep = labels[0] != '\0' ? "," : "";
	uint64_t total = 0;
	size_t i;

	for (i = 0; i <= SD_HISTOGRAM_BOUNDS; i++) {
		total += atomic_load_explicit(&h->le[i], memory_order_relaxed);
		if (i < SD_HISTOGRAM_BOUNDS)
			sd_metrics_printf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, sd_histogram_bounds[i],
			    (unsigned long long)total);
		else
			sd_metrics_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			    (unsigned long long)total);
	}
	sd_metrics_printf(t, "%s_sum%s%s%s %.6f\n", name, labels[0] != '\0' ? "{" : "", labels,
	    labels[0] != '\0' ? "}" : "", (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	sd_metrics_printf(t, "%s_count%s%s%s %llu\n", name, labels[0] != '\0' ? "{" : "", labels,
	    labels[0] != '\0' ? "}" : "", (unsigned long long)total);
}

uint64_t
sd_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
