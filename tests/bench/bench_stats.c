/*
 * Time and percentiles for the benchmark.
 */
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double
bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		abort();	/* CLOCK_MONOTONIC always exists on Linux */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
bench_sort(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), bench_cmp_double);
}

double
bench_percentile(const double *v, size_t n, double p)
{
	double rank;
	size_t k;

	if (n == 0)
		return 0;
	/* Nearest rank: the smallest value with at least p% of the values at or below it (no libm here). */
	rank = p / 100.0 * (double)n;
	k = (size_t)rank;
	if ((double)k < rank)
		k++;
	if (k == 0)
		k = 1;
	return v[k <= n ? k - 1 : n - 1];
}
