/*
 * signerd-overload: more issuers than the HSM can serve (issue 18,
 * "Backpressure instead of pile-up"). conc keep-alive connections with the
 * demo's issuer identity send POST /v1/sign back to back for a fixed time,
 * while a probe asks GET /healthz every interval on a connection of its own
 * and the main thread samples the threads and RSS of signerd and its front.
 * Test code, never installed.
 *
 *   signerd-overload --port PORT --demo DIR --pid PID --front-pid PID
 *       [--conc N (64)] [--seconds S (5)] [--backoff-ms MS (0)]
 *       [--probe-ms MS (100)]
 *
 * Each answer is classed: 200 with a certificate ("ok"); 503 with an
 * integer Retry-After of at least 1 and an application/problem+json body of
 * type urn:signerd:problem:busy ("busy"); anything else ("other", the first
 * shown). After a busy answer a client sleeps --backoff-ms, at most the
 * Retry-After (0: it asks again at once, as a client that ignores
 * Retry-After would; 60000: it waits as told).
 *
 * Output: one line on stdout, "overload key=value ...": the counts, ok/s,
 * latency percentiles of ok and busy answers, the Retry-After range, the
 * probe's latencies, and the most threads and RSS seen per process. Exit:
 * 0 the run completed (whatever the figures), 1 it could not, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "bench/bench.h"

#define OVL_CONC_MAX 256
#define OVL_SECONDS_MAX 120
#define OVL_LAT_MAX 200000		/* latencies kept per class and thread */
#define OVL_SAMPLE_MS 50

struct ovl_opts {
	uint16_t port;
	const char *demo;
	pid_t pid, front_pid;
	unsigned conc;
	unsigned seconds;
	unsigned backoff_ms;
	unsigned probe_ms;
};

struct ovl_lat {
	double *v;
	size_t n, cap;
};

struct ovl_client {
	const struct ovl_opts *o;
	struct bench_tls *tls;
	const struct bench_pool *pool;
	unsigned idx;
	pthread_barrier_t *go;
	struct ovl_lat ok_lat, busy_lat;
	uint64_t ok, busy, other, connects;
	unsigned retry_min, retry_max;
	char first_other[BENCH_ERROR_TEXT];
	bool oom;
};

struct ovl_probe {
	const struct ovl_opts *o;
	struct bench_tls *tls;
	pthread_barrier_t *go;
	struct ovl_lat lat;
	uint64_t fails;
	char first_fail[BENCH_ERROR_TEXT];
	bool oom;
};

static _Atomic double ovl_deadline;	/* bench_now() at which the clients stop */

static void
ovl_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Sleep ms, but not past the end of the run. */
static void
ovl_backoff(unsigned ms)
{
	double left = (ovl_deadline - bench_now()) * 1000.0;

	if (left > 0)
		ovl_sleep_ms(left < ms ? (unsigned)left + 1 : ms);
}

static bool
ovl_lat_add(struct ovl_lat *l, double v)
{
	double *grown;
	size_t cap;

	if (l->n == OVL_LAT_MAX)
		return true;	/* full: later values are not kept */
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 1024 : l->cap * 2;
		if (cap > OVL_LAT_MAX)
			cap = OVL_LAT_MAX;
		if ((grown = realloc(l->v, cap * sizeof(*grown))) == NULL)
			return false;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return true;
}

/* Whether a 503 is the gate's: Retry-After >= 1, a problem+json body of type busy. */
static bool
ovl_busy_ok(const struct bench_response *resp, unsigned *retry, char *why, size_t cap)
{
	char value[64], *end;
	unsigned long v;

	if (!bench_http_header(resp->hdr, "Retry-After", value, sizeof(value))) {
		(void)snprintf(why, cap, "503 without Retry-After");
		return false;
	}
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < 1 || v > 86400) {
		(void)snprintf(why, cap, "503 with Retry-After \"%.32s\"", value);
		return false;
	}
	if (!bench_http_header(resp->hdr, "Content-Type", value, sizeof(value)) ||
	    strcmp(value, "application/problem+json") != 0) {
		(void)snprintf(why, cap, "503 not application/problem+json");
		return false;
	}
	if (strstr(resp->body, "\"type\":\"urn:signerd:problem:busy\"") == NULL &&
	    strstr(resp->body, "\"type\": \"urn:signerd:problem:busy\"") == NULL) {
		(void)snprintf(why, cap, "503 not busy: %.120s", resp->body);
		return false;
	}
	*retry = (unsigned)v;
	return true;
}

static void
ovl_other(struct ovl_client *c, const char *what, int status, const char *detail)
{
	if (c->other++ == 0)
		(void)snprintf(c->first_other, sizeof(c->first_other), "%s %d: %.160s", what, status, detail);
}

static void *
ovl_client_main(void *arg)
{
	struct ovl_client *c = arg;
	const struct bench_request *req;
	struct bench_conn *conn = NULL;
	struct bench_response resp;
	struct bench_reply reply;
	char why[BENCH_ERROR_TEXT];
	unsigned retry;
	uint64_t k = 0;
	double t0, took;
	int rc;

	c->retry_min = UINT32_MAX;
	if (bench_conn_new(c->tls, c->o->port, &conn) != 0) {
		c->oom = true;
	} else {
		bench_conn_set_timeout(conn, 10);
		if ((rc = bench_conn_ensure(conn)) != 0)
			ovl_other(c, "connect", 0, sd_error_detail(rc));
	}
	(void)pthread_barrier_wait(c->go);
	while (!c->oom && bench_now() < ovl_deadline) {
		if ((rc = bench_conn_ensure(conn)) != 0) {
			ovl_other(c, "connect", 0, sd_error_detail(rc));
			ovl_sleep_ms(10);
			continue;
		}
		req = &c->pool->req[(c->idx + k++ * c->o->conc) % c->pool->n];
		t0 = bench_now();
		rc = bench_conn_exchange(conn, req->http, req->http_len, &reply, &resp);
		took = (bench_now() - t0) * 1000.0;
		if (rc != 0) {
			ovl_other(c, "exchange", reply.status, reply.detail);
			continue;
		}
		if (reply.status == 200 && strstr(resp.body, "\"certificate\"") != NULL) {
			c->ok++;
			if (!ovl_lat_add(&c->ok_lat, took))
				c->oom = true;
		} else if (reply.status == 503 && ovl_busy_ok(&resp, &retry, why, sizeof(why))) {
			c->busy++;
			if (!ovl_lat_add(&c->busy_lat, took))
				c->oom = true;
			if (retry < c->retry_min)
				c->retry_min = retry;
			if (retry > c->retry_max)
				c->retry_max = retry;
			if (c->o->backoff_ms > 0)
				ovl_backoff(c->o->backoff_ms < retry * 1000 ? c->o->backoff_ms : retry * 1000);
		} else {
			(void)snprintf(why, sizeof(why), "%.200s", resp.body != NULL ? resp.body : "");
			ovl_other(c, "status", reply.status, why);
		}
	}
	if (conn != NULL)
		c->connects = bench_conn_connects(conn);
	bench_conn_free(conn);
	ERR_clear_error();
	return NULL;
}

static void *
ovl_probe_main(void *arg)
{
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct ovl_probe *p = arg;
	struct bench_conn *conn = NULL;
	struct bench_response resp;
	struct bench_reply reply;
	double t0, took;
	int rc;

	if (bench_conn_new(p->tls, p->o->port, &conn) != 0)
		p->oom = true;
	else
		bench_conn_set_timeout(conn, 5);
	(void)pthread_barrier_wait(p->go);
	while (!p->oom && bench_now() < ovl_deadline) {
		ovl_sleep_ms(p->o->probe_ms);
		/* A monitor that connects when it must: the handshake counts, as it would for a load balancer. */
		t0 = bench_now();
		memset(&reply, 0, sizeof(reply));
		if ((rc = bench_conn_ensure(conn)) == 0)
			rc = bench_conn_exchange(conn, get, sizeof(get) - 1, &reply, &resp);
		took = (bench_now() - t0) * 1000.0;
		if (rc != 0 || reply.status != 200) {
			if (p->fails++ == 0)
				(void)snprintf(p->first_fail, sizeof(p->first_fail), "status %d: %s", reply.status,
				    rc != 0 ? sd_error_detail(rc) : "not 200");
			continue;
		}
		if (!ovl_lat_add(&p->lat, took))
			p->oom = true;
	}
	bench_conn_free(conn);
	ERR_clear_error();
	return NULL;
}

/* Threads and VmRSS (kB) of pid from /proc; false when it is gone. */
static bool
ovl_proc(pid_t pid, unsigned *threads, unsigned long *rss_kb)
{
	char path[64], line[256];
	FILE *f;

	*threads = 0;
	*rss_kb = 0;
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Threads:", 8) == 0)
			*threads = (unsigned)strtoul(line + 8, NULL, 10);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtoul(line + 6, NULL, 10);
	}
	(void)fclose(f);
	return *threads > 0;
}

/* Merge the per-thread latencies of one class into a sorted array (free()); NULL and 0 when none. */
static double *
ovl_merge(struct ovl_client *cl, unsigned n, bool ok, size_t *count)
{
	struct ovl_lat *l;
	size_t total = 0, at = 0;
	double *all;
	unsigned i;

	for (i = 0; i < n; i++)
		total += ok ? cl[i].ok_lat.n : cl[i].busy_lat.n;
	*count = total;
	if (total == 0 || (all = malloc(total * sizeof(*all))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		l = ok ? &cl[i].ok_lat : &cl[i].busy_lat;
		if (l->n > 0)
			memcpy(all + at, l->v, l->n * sizeof(*all));
		at += l->n;
	}
	bench_sort(all, total);
	return all;
}

static void
ovl_usage(void)
{
	fprintf(stderr, "usage: signerd-overload --port PORT --demo DIR --pid PID --front-pid PID\n"
	    "           [--conc N (64)] [--seconds S (5)] [--backoff-ms MS (0)] [--probe-ms MS (100)]\n");
}

static bool
ovl_ul(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

static int
ovl_args(int argc, char **argv, struct ovl_opts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'P' },
		{ "demo", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "front-pid", required_argument, NULL, 'f' },
		{ "conc", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "backoff-ms", required_argument, NULL, 'b' },
		{ "probe-ms", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int ch;

	*o = (struct ovl_opts){ .conc = 64, .seconds = 5, .probe_ms = 100 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'P': if (!ovl_ul(optarg, 1, 65535, &v)) return -1; o->port = (uint16_t)v; break;
		case 'd': o->demo = optarg; break;
		case 'p': if (!ovl_ul(optarg, 1, INT32_MAX, &v)) return -1; o->pid = (pid_t)v; break;
		case 'f': if (!ovl_ul(optarg, 1, INT32_MAX, &v)) return -1; o->front_pid = (pid_t)v; break;
		case 'c': if (!ovl_ul(optarg, 1, OVL_CONC_MAX, &v)) return -1; o->conc = (unsigned)v; break;
		case 's': if (!ovl_ul(optarg, 1, OVL_SECONDS_MAX, &v)) return -1; o->seconds = (unsigned)v; break;
		case 'b': if (!ovl_ul(optarg, 0, 60000, &v)) return -1; o->backoff_ms = (unsigned)v; break;
		case 'r': if (!ovl_ul(optarg, 10, 10000, &v)) return -1; o->probe_ms = (unsigned)v; break;
		default: return -1;
		}
	}
	return optind == argc && o->port != 0 && o->demo != NULL && o->pid != 0 && o->front_pid != 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct ovl_opts o;
	struct bench_tls *tls = NULL;
	struct bench_pool *pool = NULL;
	struct ovl_client *cl = NULL;
	struct ovl_probe probe;
	pthread_t *tid = NULL, probe_tid;
	pthread_barrier_t go;
	char ca[4096], cert[4096], key[4096];
	unsigned i, started = 0, thr, sig_thr_max = 0, front_thr_max = 0, retry_min = UINT32_MAX, retry_max = 0;
	unsigned long rss, sig_rss_max = 0, front_rss_max = 0;
	uint64_t ok = 0, busy = 0, other = 0, connects = 0;
	double *ok_all = NULL, *busy_all = NULL, t0 = 0, elapsed;
	size_t n_ok, n_busy;
	const char *first_other = "";
	bool probe_started = false, barrier = false, died = false;
	int rc = 1;

	if (ovl_args(argc, argv, &o) != 0) {
		ovl_usage();
		return 2;
	}
	memset(&probe, 0, sizeof(probe));
	if (snprintf(ca, sizeof(ca), "%s/tls/ca.pem", o.demo) >= (int)sizeof(ca) ||
	    snprintf(cert, sizeof(cert), "%s/clients/issuer.pem", o.demo) >= (int)sizeof(cert) ||
	    snprintf(key, sizeof(key), "%s/clients/issuer.key", o.demo) >= (int)sizeof(key)) {
		fprintf(stderr, "signerd-overload: demo path too long\n");
		return 2;
	}
	if (bench_tls_new(&(struct bench_tls_files){ ca, cert, key }, &tls) != 0 ||
	    bench_pool_new(o.conc * 4, "server", &pool) != 0) {
		fprintf(stderr, "signerd-overload: %s\n", sd_error_detail(SD_E_CRYPTO));
		goto out;
	}
	if ((cl = calloc(o.conc, sizeof(*cl))) == NULL || (tid = calloc(o.conc, sizeof(*tid))) == NULL ||
	    pthread_barrier_init(&go, NULL, o.conc + 2) != 0) {
		fprintf(stderr, "signerd-overload: out of memory\n");
		goto out;
	}
	barrier = true;
	ovl_deadline = 1e18;	/* set for real once every client is connected */
	for (i = 0; i < o.conc; i++) {
		cl[i] = (struct ovl_client){ .o = &o, .tls = tls, .pool = pool, .idx = i, .go = &go };
		if (pthread_create(&tid[i], NULL, ovl_client_main, &cl[i]) != 0)
			abort();	/* the barrier would never open */
		started++;
	}
	probe = (struct ovl_probe){ .o = &o, .tls = tls, .go = &go };
	if (pthread_create(&probe_tid, NULL, ovl_probe_main, &probe) != 0)
		abort();
	probe_started = true;
	t0 = bench_now();
	ovl_deadline = t0 + 600;	/* a bound while connecting */
	(void)pthread_barrier_wait(&go);
	t0 = bench_now();
	ovl_deadline = t0 + o.seconds;
	while (bench_now() < ovl_deadline + 0.2) {
		if (ovl_proc(o.pid, &thr, &rss)) {
			sig_thr_max = thr > sig_thr_max ? thr : sig_thr_max;
			sig_rss_max = rss > sig_rss_max ? rss : sig_rss_max;
		} else {
			died = true;
		}
		if (ovl_proc(o.front_pid, &thr, &rss)) {
			front_thr_max = thr > front_thr_max ? thr : front_thr_max;
			front_rss_max = rss > front_rss_max ? rss : front_rss_max;
		} else {
			died = true;
		}
		ovl_sleep_ms(OVL_SAMPLE_MS);
	}
	rc = 0;
out:
	for (i = 0; i < started; i++)
		(void)pthread_join(tid[i], NULL);
	if (probe_started)
		(void)pthread_join(probe_tid, NULL);
	elapsed = started > 0 ? bench_now() - t0 : 0;
	if (rc == 0) {
		for (i = 0; i < o.conc; i++) {
			if (cl[i].oom)
				rc = 1;
			ok += cl[i].ok;
			busy += cl[i].busy;
			connects += cl[i].connects;
			if (cl[i].other > 0 && other == 0)
				first_other = cl[i].first_other;
			other += cl[i].other;
			if (cl[i].busy > 0 && cl[i].retry_min < retry_min)
				retry_min = cl[i].retry_min;
			if (cl[i].retry_max > retry_max)
				retry_max = cl[i].retry_max;
		}
		ok_all = ovl_merge(cl, o.conc, true, &n_ok);
		busy_all = ovl_merge(cl, o.conc, false, &n_busy);
		if (probe.oom || (n_ok > 0 && ok_all == NULL) || (n_busy > 0 && busy_all == NULL))
			rc = 1;
		bench_sort(probe.lat.v, probe.lat.n);
		printf("overload conc=%u seconds=%.2f ok=%llu busy=%llu other=%llu ok_per_s=%.2f "
		    "ok_p50_ms=%.1f ok_p99_ms=%.1f ok_max_ms=%.1f busy_p50_ms=%.1f busy_p99_ms=%.1f busy_max_ms=%.1f "
		    "retry_after_min=%u retry_after_max=%u health_n=%zu health_fail=%llu health_p50_ms=%.1f "
		    "health_p99_ms=%.1f health_max_ms=%.1f signer_threads_max=%u front_threads_max=%u "
		    "signer_rss_max_mb=%.1f front_rss_max_mb=%.1f connects=%llu died=%d\n",
		    o.conc, elapsed, (unsigned long long)ok, (unsigned long long)busy, (unsigned long long)other,
		    elapsed > 0 ? (double)ok / elapsed : 0,
		    bench_percentile(ok_all, n_ok, 50), bench_percentile(ok_all, n_ok, 99),
		    ok_all != NULL ? ok_all[n_ok - 1] : 0,
		    bench_percentile(busy_all, n_busy, 50), bench_percentile(busy_all, n_busy, 99),
		    busy_all != NULL ? busy_all[n_busy - 1] : 0,
		    busy > 0 ? retry_min : 0, retry_max, probe.lat.n, (unsigned long long)probe.fails,
		    bench_percentile(probe.lat.v, probe.lat.n, 50), bench_percentile(probe.lat.v, probe.lat.n, 99),
		    probe.lat.v != NULL && probe.lat.n > 0 ? probe.lat.v[probe.lat.n - 1] : 0, sig_thr_max, front_thr_max,
		    (double)sig_rss_max / 1024.0, (double)front_rss_max / 1024.0, (unsigned long long)connects,
		    died ? 1 : 0);
		if (other > 0)
			fprintf(stderr, "signerd-overload: %llu other answers; first: %s\n", (unsigned long long)other,
			    first_other);
		if (probe.fails > 0)
			fprintf(stderr, "signerd-overload: %llu /healthz failures; first: %s\n",
			    (unsigned long long)probe.fails, probe.first_fail);
	}
	if (barrier)
		(void)pthread_barrier_destroy(&go);
	if (cl != NULL) {
		for (i = 0; i < o.conc; i++) {
			free(cl[i].ok_lat.v);
			free(cl[i].busy_lat.v);
		}
	}
	free(probe.lat.v);
	free(ok_all);
	free(busy_all);
	free(cl);
	free(tid);
	bench_pool_free(pool);
	bench_tls_free(tls);
	return rc;
}
