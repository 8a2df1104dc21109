/*
 * journal-append-bench: what a durable append costs under concurrency.
 *
 *   journal-append-bench DIR [THREADS [SECONDS [SIGN_US]]]
 *
 * THREADS (default 16) threads each append what signerd appends per
 * certificate, an intent and then its result (a 600-byte "certificate"),
 * for SECONDS (default 5) into a fresh journal in DIR (created, must not
 * hold a journal), with durable commits as signerd makes them. SIGN_US
 * (default 0) sleeps between the two, standing in for the HSM. With
 * BENCH_CERT=FILE (a DER certificate) the results carry that certificate,
 * so that the certificate index parses and indexes a real one. Prints
 * appends per second, process CPU seconds per append (getrusage), durable
 * commits per append and context switches per append.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "sd_file.h"

#define BENCH_THREADS_MAX 256

/* BENCH_CERT's bytes, or NULL: each worker's 600 bytes of 0x5a. */
static uint8_t *bench_cert;
static size_t bench_cert_len;

struct bench_worker {
	struct journal *j;
	unsigned id;
	unsigned sign_us;
	atomic_bool *stop;
	uint64_t appends;
	int rc;
};

static void *
bench_run(void *arg)
{
	struct bench_worker *w = arg;
	struct journal_record r;
	uint8_t serial[8], cert[600];
	uint64_t i, in, out;
	int k;

	memset(cert, 0x5a, sizeof(cert));
	for (i = 0; !atomic_load(w->stop); i++) {
		for (k = 0; k < 8; k++)
			serial[k] = (uint8_t)(((uint64_t)(w->id + 1) << 40 | i) >> (56 - 8 * k));
		serial[0] &= 0x7f;
		memset(&r, 0, sizeof(r));
		r.type = JOURNAL_REC_INTENT;
		r.time_ms = 1700000000000LL;
		r.client_subject = "CN=bench-client,O=Example";
		r.profile = "server";
		r.serial = serial;
		r.serial_len = sizeof(serial);
		if ((w->rc = journal_append(w->j, &r, &in)) != 0)
			return NULL;
		if (w->sign_us > 0) {
			struct timespec ts = { (time_t)(w->sign_us / 1000000), (long)(w->sign_us % 1000000) * 1000L };

			(void)nanosleep(&ts, NULL);	/* stands for the HSM's C_Sign */
		}
		memset(&r, 0, sizeof(r));
		r.type = JOURNAL_REC_RESULT;
		r.time_ms = 1700000000001LL;
		r.intent_seq = in;
		r.serial = serial;
		r.serial_len = sizeof(serial);
		r.cert_der = bench_cert != NULL ? bench_cert : cert;
		r.cert_der_len = bench_cert != NULL ? bench_cert_len : sizeof(cert);
		if ((w->rc = journal_append(w->j, &r, &out)) != 0)
			return NULL;
		w->appends += 2;
	}
	return NULL;
}

static double
bench_secs(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct journal_options o = { (uint64_t)4 << 30, 0, false, 0 };
	static struct bench_worker w[BENCH_THREADS_MAX];
	pthread_t tid[BENCH_THREADS_MAX];
	struct rusage ru0, ru1;
	struct journal_stats st;
	struct timespec t0, t1;
	struct journal *j = NULL;
	atomic_bool stop = false;
	unsigned threads = 16, seconds = 5, sign_us = 0, i;
	uint64_t appends = 0, last = 0;
	double wall, cpu;
	int rc;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: journal-append-bench DIR [THREADS [SECONDS [SIGN_US]]]\n");
		return 2;
	}
	if (argc > 2)
		threads = (unsigned)strtoul(argv[2], NULL, 10);
	if (argc > 3)
		seconds = (unsigned)strtoul(argv[3], NULL, 10);
	if (argc > 4)
		sign_us = (unsigned)strtoul(argv[4], NULL, 10);
	if (threads == 0 || threads > BENCH_THREADS_MAX || seconds == 0) {
		fprintf(stderr, "journal-append-bench: 1..%d threads, at least one second\n", BENCH_THREADS_MAX);
		return 2;
	}
	if (getenv("BENCH_CERT") != NULL &&
	    (rc = sd_file_read(getenv("BENCH_CERT"), JOURNAL_CERT_MAX, &bench_cert, &bench_cert_len)) != 0) {
		fprintf(stderr, "journal-append-bench: BENCH_CERT: %s\n", sd_error_detail(rc));
		return 1;
	}
	if ((rc = journal_open_opts(argv[1], &o, &j)) != 0 || (rc = journal_last_seq(j, &last)) != 0) {
		fprintf(stderr, "journal-append-bench: %s\n", sd_error_detail(rc));
		return 1;
	}
	if (last != 0) {
		fprintf(stderr, "journal-append-bench: %s already holds %" PRIu64 " records\n", argv[1], last);
		journal_close(j);
		return 1;
	}
	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < threads; i++) {
		w[i] = (struct bench_worker){ j, i, sign_us, &stop, 0, 0 };
		if (pthread_create(&tid[i], NULL, bench_run, &w[i]) != 0) {
			fprintf(stderr, "journal-append-bench: cannot start a thread\n");
			return 1;
		}
	}
	sleep(seconds);
	atomic_store(&stop, true);
	rc = 0;
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		appends += w[i].appends;
		if (w[i].rc != 0 && rc == 0)
			rc = w[i].rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru1);
	journal_stats_get(j, &st);
	if (rc != 0) {
		fprintf(stderr, "journal-append-bench: append: %s\n", sd_error_detail(rc));
		journal_close(j);
		return 1;
	}
	wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = bench_secs(&ru1.ru_utime) - bench_secs(&ru0.ru_utime) + bench_secs(&ru1.ru_stime) -
	    bench_secs(&ru0.ru_stime);
	printf("threads=%u seconds=%.2f appends=%" PRIu64 " appends_per_s=%.0f cpu_us_per_append=%.1f "
	    "(user %.1f sys %.1f) commits_per_append=%.3f csw_per_append=%.2f (vol %.2f invol %.2f)\n",
	    threads, wall, appends, (double)appends / wall, cpu * 1e6 / (double)appends,
	    (bench_secs(&ru1.ru_utime) - bench_secs(&ru0.ru_utime)) * 1e6 / (double)appends,
	    (bench_secs(&ru1.ru_stime) - bench_secs(&ru0.ru_stime)) * 1e6 / (double)appends,
	    (double)st.commits / (double)st.records,
	    (double)(ru1.ru_nvcsw - ru0.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nivcsw) / (double)appends,
	    (double)(ru1.ru_nvcsw - ru0.ru_nvcsw) / (double)appends,
	    (double)(ru1.ru_nivcsw - ru0.ru_nivcsw) / (double)appends);
	journal_close(j);
	free(bench_cert);
	return 0;
}
