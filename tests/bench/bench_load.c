/*
 * One concurrency step: conc client threads, each with its own keep-alive
 * connection, send sign requests back to back for a fixed time while the
 * main thread samples the server. Connections are made before the clock
 * starts; each thread stops at its deadline or at its share of
 * BENCH_STEP_REQUESTS_MAX, whichever comes first. Nothing is dropped from
 * the figures: every failure is counted by kind and the first one shown.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/err.h>

#include "bench.h"

#define BENCH_SAMPLE_MS 50		/* server RSS sampling period */
#define BENCH_RETRY_MS 10		/* pause after a failed connect */

struct bench_client {
	const struct bench_load *load;
	unsigned idx, conc;
	pthread_barrier_t *ready, *go;
	atomic_bool *stop;
	atomic_uint *done;
	double seconds;
	uint64_t cap;			/* requests this thread may send */
	struct bench_conn *conn;
	double *lat;			/* seconds per successful request */
	size_t n_lat, cap_lat;
	uint64_t issued, errors, connects;
	uint64_t fails[BENCH_FAIL_COUNT];
	double first_error_at;		/* bench_now() of the first failure */
	char first_error[BENCH_ERROR_TEXT];
	bool oom;
};

static double
bench_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static void
bench_client_fail(struct bench_client *c, enum bench_fail fail, const char *detail)
{
	if (c->errors++ == 0) {
		c->first_error_at = bench_now();
		(void)snprintf(c->first_error, sizeof(c->first_error), "%s", detail);
	}
	c->fails[fail]++;
}

static bool
bench_client_record(struct bench_client *c, double latency)
{
	double *grown;
	size_t cap;

	if (c->n_lat == c->cap_lat) {
		cap = c->cap_lat == 0 ? 4096 : c->cap_lat * 2;
		if (cap > c->cap || cap > SIZE_MAX / sizeof(*grown))
			cap = (size_t)c->cap;
		if (cap <= c->n_lat || (grown = realloc(c->lat, cap * sizeof(*grown))) == NULL)
			return false;
		c->lat = grown;
		c->cap_lat = cap;
	}
	c->lat[c->n_lat++] = latency;
	return true;
}

static void *
bench_client_main(void *arg)
{
	struct bench_client *c = arg;
	const struct bench_pool *pool = c->load->pool;
	const struct bench_request *reqs = c->load->api == BENCH_API_CFSSL ? pool->cfssl : pool->req;
	struct bench_reply reply;
	double deadline, latency;
	uint64_t k = 0;
	int rc;

	if (bench_conn_new(c->load->tls, c->load->port, &c->conn) != 0)
		c->oom = true;
	else if ((rc = bench_conn_ensure(c->conn)) != 0)
		bench_client_fail(c, BENCH_FAIL_CONNECT, sd_error_detail(rc));
	(void)pthread_barrier_wait(c->ready);
	(void)pthread_barrier_wait(c->go);
	deadline = bench_now() + c->seconds;
	while (!c->oom && k < c->cap && !atomic_load(c->stop) && bench_now() < deadline) {
		if ((rc = bench_conn_ensure(c->conn)) != 0) {
			bench_client_fail(c, BENCH_FAIL_CONNECT, sd_error_detail(rc));
			bench_sleep_ms(BENCH_RETRY_MS);
			continue;
		}
		rc = bench_conn_sign(c->conn, &reqs[(c->idx + k * c->conc) % pool->n], &latency, &reply);
		k++;
		if (rc != 0) {
			bench_client_fail(c, reply.fail, reply.detail);
			continue;
		}
		c->issued++;
		if (!bench_client_record(c, latency))
			c->oom = true;
	}
	if (c->conn != NULL)
		c->connects = bench_conn_connects(c->conn);
	bench_conn_free(c->conn);
	c->conn = NULL;
	ERR_clear_error();
	atomic_fetch_add(c->done, 1);
	return NULL;
}

/* Merge the threads' figures into step; latencies are collected into one sorted array. */
static int
bench_step_merge(struct bench_client *cl, unsigned conc, struct bench_step *step)
{
	double *all = NULL, first_at = 0;
	size_t n = 0, i;
	unsigned t;
	int f;

	for (t = 0; t < conc; t++) {
		if (cl[t].oom)
			return sd_error_set(SD_E_NOMEM, "client thread %u ran out of memory", t);
		n += cl[t].n_lat;
	}
	if (n > 0 && (all = malloc(n * sizeof(*all))) == NULL)
		return SD_E_NOMEM;
	for (t = 0, i = 0; t < conc; t++) {
		if (cl[t].n_lat > 0)
			memcpy(all + i, cl[t].lat, cl[t].n_lat * sizeof(*all));
		i += cl[t].n_lat;
		step->issued += cl[t].issued;
		step->errors += cl[t].errors;
		step->reconnects += cl[t].connects > 1 ? cl[t].connects - 1 : 0;
		for (f = 0; f < BENCH_FAIL_COUNT; f++)
			step->fails[f] += cl[t].fails[f];
		if (cl[t].errors > 0 && (first_at == 0 || cl[t].first_error_at < first_at)) {
			first_at = cl[t].first_error_at;
			memcpy(step->first_error, cl[t].first_error, sizeof(step->first_error));
		}
	}
	bench_sort(all, n);
	step->p50_ms = bench_percentile(all, n, 50) * 1000;
	step->p95_ms = bench_percentile(all, n, 95) * 1000;
	step->p99_ms = bench_percentile(all, n, 99) * 1000;
	step->max_ms = n > 0 ? all[n - 1] * 1000 : 0;
	free(all);
	return 0;
}

int
bench_load_step(const struct bench_load *load, unsigned conc, double seconds, struct bench_step *step)
{
	struct bench_client *cl = NULL;
	struct bench_server_sample s0, s1, s;
	pthread_barrier_t ready, go;
	pthread_t *tid = NULL;
	atomic_bool stop = false;
	atomic_uint done = 0;
	uint64_t rss_max_kb = 0, anon_max_kb = 0, lmdb_kb = 0, lib_kb = 0, cpu_ticks, total_cap = 0;
	bool barriers = false, died = false;
	double t0, cpu0 = 0, cpu1;
	unsigned t, started = 0;
	int rc;

	memset(step, 0, sizeof(*step));
	step->conc = conc;
	if (conc == 0 || conc > BENCH_CONC_MAX || !(seconds > 0) || seconds > BENCH_SECONDS_MAX ||
	    (load->api == BENCH_API_CFSSL && load->pool->cfssl == NULL)) {
		rc = sd_error_set(SD_E_INVAL, "step of %u clients for %.1f s", conc, seconds);
		goto out;
	}
	/* A peer stopped between two steps: say so, not which /proc file vanished. */
	if (!bench_server_alive(load->server)) {
		rc = sd_error_set(SD_E_IO, "%s is gone: it exited before the step with %u clients",
		    load->name != NULL ? load->name : "the server", conc);
		goto out;
	}
	if ((cl = calloc(conc, sizeof(*cl))) == NULL || (tid = calloc(conc, sizeof(*tid))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (pthread_barrier_init(&ready, NULL, conc + 1) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "pthread_barrier_init failed");
		goto out;
	}
	if (pthread_barrier_init(&go, NULL, conc + 1) != 0) {
		(void)pthread_barrier_destroy(&ready);
		rc = sd_error_set(SD_E_INTERNAL, "pthread_barrier_init failed");
		goto out;
	}
	barriers = true;
	for (t = 0; t < conc; t++) {
		cl[t] = (struct bench_client){ .load = load, .idx = t, .conc = conc, .ready = &ready, .go = &go,
			.stop = &stop, .done = &done, .seconds = seconds, .cap = BENCH_STEP_REQUESTS_MAX / conc };
		total_cap += cl[t].cap;
		if (pthread_create(&tid[t], NULL, bench_client_main, &cl[t]) != 0)
			abort();	/* the barriers would never open; a benchmark may stop here */
		started++;
	}
	(void)pthread_barrier_wait(&ready);
	/* Every client is connected: the server's counters start from here. */
	(void)bench_server_hwm_reset(load->server);
	if ((rc = bench_server_sample(load->server, &s0)) != 0) {
		atomic_store(&stop, true);
		(void)pthread_barrier_wait(&go);
		goto join;
	}
	rss_max_kb = s0.rss_kb;
	anon_max_kb = s0.anon_kb;
	cpu0 = bench_self_cpu();
	(void)pthread_barrier_wait(&go);
	t0 = bench_now();
	while (atomic_load(&done) < conc) {
		bench_sleep_ms(BENCH_SAMPLE_MS);
		if (!bench_server_alive(load->server)) {
			died = true;
			atomic_store(&stop, true);
			continue;
		}
		if (bench_server_sample(load->server, &s) != 0)
			continue;
		rss_max_kb = s.rss_kb > rss_max_kb ? s.rss_kb : rss_max_kb;
		anon_max_kb = s.anon_kb > anon_max_kb ? s.anon_kb : anon_max_kb;
	}
	step->seconds = bench_now() - t0;
	rc = 0;
join:
	for (t = 0; t < started; t++)
		(void)pthread_join(tid[t], NULL);
	cpu1 = bench_self_cpu();
	if (rc != 0)
		goto out;
	if (died) {
		rc = sd_error_set(SD_E_IO, "%s exited during the step with %u clients",
		    load->name != NULL ? load->name : "the server", conc);
		goto out;
	}
	if ((rc = bench_server_sample(load->server, &s1)) != 0 ||
	    (rc = bench_server_maps(load->server, &lmdb_kb, &lib_kb)) != 0)
		goto out;
	if (s1.hwm_kb > rss_max_kb)
		rss_max_kb = s1.hwm_kb;
	if ((rc = bench_step_merge(cl, conc, step)) != 0)
		goto out;
	step->capped = step->issued + step->errors >= total_cap;
	step->rate = step->seconds > 0 ? (double)step->issued / step->seconds : 0;
	step->rss_mb = (double)rss_max_kb / 1024.0;
	anon_max_kb = s1.anon_kb > anon_max_kb ? s1.anon_kb : anon_max_kb;
	step->rss_anon_mb = (double)anon_max_kb / 1024.0;
	step->rss_lmdb_mb = (double)lmdb_kb / 1024.0;
	/* Both peaks, added: never below the true peak of the sum (the libraries' pages hardly move). */
	step->rss_nomap_mb = (double)(anon_max_kb + lib_kb) / 1024.0;
	cpu_ticks = s1.cpu_ticks - s0.cpu_ticks;
	if (step->issued > 0) {
		step->cpu_ms_per_cert = (double)cpu_ticks * 1000.0 / (double)bench_server_ticks_per_second() /
		    (double)step->issued;
		step->commits_per_cert = (double)(s1.txnid - s0.txnid) / (double)step->issued;
		step->client_cpu_ms_per_cert = (cpu1 - cpu0) * 1000.0 / (double)step->issued;
	}
	rc = 0;
out:
	if (barriers) {
		(void)pthread_barrier_destroy(&ready);
		(void)pthread_barrier_destroy(&go);
	}
	if (cl != NULL)
		for (t = 0; t < conc; t++)
			free(cl[t].lat);
	free(tid);
	free(cl);
	return rc;
}
