/*
 * The legitimate client, from 127.0.0.1 with the demo's issuer identity,
 * built on the benchmark's connection (tests/bench/bench_conn.c): what an
 * attack is judged by.
 *
 * Fresh: each issuance on a new connection (TCP + full TLS handshake +
 * POST /v1/sign), as a client that comes and goes would meet the server
 * under attack. Loop: keep-alive connections issuing back to back, the
 * throughput that is left.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "dos.h"

#define DOS_LEGIT_JOIN_SLACK_S 2.0	/* beyond the socket timeouts, before a request counts as hung */
#define DOS_LOOP_RETRY_S 0.01		/* after a failed connect */

static const char *const dos_fail_names[BENCH_FAIL_COUNT] = {
	"connect", "io", "http", "status", "body", "cert",
};

static atomic_bool dos_legit_hung;	/* a request thread outlived its deadline */

struct dos_legit_req {
	const struct dos_opts *o;
	struct bench_tls *tls;
	const struct bench_request *req;
	unsigned idx;
	pthread_t tid;
	bool started, joined, reported;
	atomic_bool done;
	bool answered;			/* 200 with a certificate */
	double seconds;			/* start to answer or failure */
	enum bench_fail fail;
	char detail[BENCH_ERROR_TEXT];
};

static void *
dos_legit_one(void *arg)
{
	struct dos_legit_req *r = arg;
	struct bench_conn *c = NULL;
	struct bench_reply reply;
	double t0 = bench_now(), latency;
	int rc;

	if (bench_conn_new(r->tls, r->o->port, &c) != 0) {	/* SD_E_NOMEM only */
		r->fail = BENCH_FAIL_CONNECT;
		(void)snprintf(r->detail, sizeof(r->detail), "out of memory");
		goto out;
	}
	bench_conn_set_timeout(c, r->o->legit_timeout_s);
	if ((rc = bench_conn_ensure(c)) != 0) {
		r->fail = BENCH_FAIL_CONNECT;
		(void)snprintf(r->detail, sizeof(r->detail), "%s", sd_error_detail(rc));
		goto out;
	}
	if (bench_conn_sign(c, r->req, &latency, &reply) != 0) {
		r->fail = reply.fail;
		(void)snprintf(r->detail, sizeof(r->detail), "%s", reply.detail);
		goto out;
	}
	r->answered = true;
out:
	r->seconds = bench_now() - t0;
	bench_conn_free(c);
	ERR_clear_error();
	atomic_store(&r->done, true);
	return NULL;
}

static void
dos_legit_report(struct dos_legit_req *reqs, unsigned n, const struct dos_opts *o)
{
	struct dos_legit_req *r;
	unsigned i;

	for (i = 0; i < n; i++) {
		r = &reqs[i];
		if (!r->started || r->reported || !atomic_load(&r->done))
			continue;
		r->reported = true;
		if (r->answered)
			fprintf(stderr, "signerd-dos: legit %u/%u: 200 in %.1f ms%s\n", i + 1, o->legit_requests,
			    r->seconds * 1000, r->seconds > o->legit_timeout_s ? " (late)" : "");
		else
			fprintf(stderr, "signerd-dos: legit %u/%u: failed (%s) after %.1f ms: %s\n", i + 1,
			    o->legit_requests, dos_fail_names[r->fail], r->seconds * 1000, r->detail);
	}
}

int
dos_legit_fresh(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, struct dos_ctl *ctl,
    struct dos_legit_result *res)
{
	struct dos_legit_req *reqs = NULL, *r;
	double t0, deadline, left, *lat = NULL;
	size_t n_lat = 0;
	unsigned i, n = o->legit_requests;
	bool leak = false;
	int rc;

	memset(res, 0, sizeof(*res));
	if (n == 0)
		return 0;
	if (n > DOS_LEGIT_MAX || pool->n == 0) {
		rc = sd_error_set(SD_E_INVAL, "%u legitimate requests", n);
		goto out;
	}
	if ((reqs = calloc(n, sizeof(*reqs))) == NULL || (lat = calloc(n, sizeof(*lat))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	t0 = bench_now();
	for (i = 0; i < n && !atomic_load(&ctl->stop); i++) {
		while ((left = t0 + i * o->legit_interval_s - bench_now()) > 0 && !atomic_load(&ctl->stop)) {
			dos_legit_report(reqs, n, o);
			dos_sleep(left < 0.05 ? left : 0.05, ctl);
		}
		if (atomic_load(&ctl->stop))
			break;
		r = &reqs[i];
		*r = (struct dos_legit_req){ .o = o, .tls = tls, .req = &pool->req[i % pool->n], .idx = i };
		atomic_init(&r->done, false);
		if (pthread_create(&r->tid, NULL, dos_legit_one, r) != 0) {
			rc = sd_error_set(SD_E_INTERNAL, "cannot start legitimate request %u", i + 1);
			goto join;
		}
		r->started = true;
	}
	rc = 0;
join:
	/* connect, handshake read, response read: each bounded by the timeout */
	deadline = bench_now() + 3 * o->legit_timeout_s + DOS_LEGIT_JOIN_SLACK_S;
	for (i = 0; i < n; i++) {
		r = &reqs[i];
		if (!r->started)
			continue;
		while (!atomic_load(&r->done) && bench_now() < deadline) {
			dos_legit_report(reqs, n, o);
			dos_sleep(0.01, NULL);
		}
		if (!atomic_load(&r->done)) {
			res->hung++;
			atomic_store(&dos_legit_hung, true);
			leak = true;	/* the thread still uses reqs */
			(void)pthread_detach(r->tid);
			continue;
		}
		(void)pthread_join(r->tid, NULL);
		r->joined = true;
	}
	dos_legit_report(reqs, n, o);
	if (rc != 0)
		goto out;
	for (i = 0; i < n; i++) {
		r = &reqs[i];
		if (!r->joined)
			continue;
		res->total++;
		if (r->answered) {
			lat[n_lat++] = r->seconds * 1000;
			if (r->seconds <= o->legit_timeout_s)
				res->ok++;
			else
				res->late++;
		} else {
			res->fails[r->fail]++;
			if (res->first_error[0] == '\0')
				(void)snprintf(res->first_error, sizeof(res->first_error), "%s: %.200s", dos_fail_names[r->fail],
				    r->detail);
		}
	}
	res->total += res->hung;
	bench_sort(lat, n_lat);
	res->p50_ms = bench_percentile(lat, n_lat, 50);
	res->max_ms = n_lat > 0 ? lat[n_lat - 1] : 0;
out:
	free(lat);
	if (!leak)
		free(reqs);
	return rc;
}

bool
dos_legit_busy(void)
{
	return atomic_load(&dos_legit_hung);
}

/* ---- closed loop ---- */

struct dos_looper {
	const struct dos_opts *o;
	struct bench_tls *tls;
	const struct bench_pool *pool;
	unsigned idx;
	double t_end;
	pthread_t tid;
	uint64_t issued, errors;
	char first_error[BENCH_ERROR_TEXT];
};

static void
dos_looper_fail(struct dos_looper *l, const char *what, const char *detail)
{
	if (l->errors++ == 0)
		(void)snprintf(l->first_error, sizeof(l->first_error), "%s: %.200s", what, detail);
}

static void *
dos_looper_main(void *arg)
{
	struct dos_looper *l = arg;
	struct bench_conn *c = NULL;
	struct bench_reply reply;
	uint64_t k = 0;
	double latency;
	int rc;

	if (bench_conn_new(l->tls, l->o->port, &c) != 0) {
		dos_looper_fail(l, "connect", "out of memory");
		return NULL;
	}
	bench_conn_set_timeout(c, l->o->legit_timeout_s);
	while (bench_now() < l->t_end) {
		if ((rc = bench_conn_ensure(c)) != 0) {
			dos_looper_fail(l, "connect", sd_error_detail(rc));
			dos_sleep(DOS_LOOP_RETRY_S, NULL);
			continue;
		}
		rc = bench_conn_sign(c, &l->pool->req[(l->idx + k * l->o->legit_conc) % l->pool->n], &latency, &reply);
		k++;
		if (rc != 0) {
			dos_looper_fail(l, dos_fail_names[reply.fail], reply.detail);
			continue;
		}
		l->issued++;
	}
	bench_conn_free(c);
	ERR_clear_error();
	return NULL;
}

int
dos_legit_loop(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, double seconds,
    struct dos_loop_result *res)
{
	struct dos_looper *l = NULL;
	unsigned i, started = 0;
	double t0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (o->legit_conc == 0 || o->legit_conc > DOS_LEGIT_CONC_MAX || !(seconds > 0) || pool->n == 0) {
		rc = sd_error_set(SD_E_INVAL, "closed loop of %u connections for %.1f s", o->legit_conc, seconds);
		goto out;
	}
	if ((l = calloc(o->legit_conc, sizeof(*l))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	t0 = bench_now();
	rc = 0;
	for (i = 0; i < o->legit_conc; i++) {
		l[i] = (struct dos_looper){ .o = o, .tls = tls, .pool = pool, .idx = i, .t_end = t0 + seconds };
		if (pthread_create(&l[i].tid, NULL, dos_looper_main, &l[i]) != 0) {
			rc = sd_error_set(SD_E_INTERNAL, "cannot start closed-loop client %u", i);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		(void)pthread_join(l[i].tid, NULL);
		res->issued += l[i].issued;
		res->errors += l[i].errors;
		if (res->first_error[0] == '\0' && l[i].first_error[0] != '\0')
			memcpy(res->first_error, l[i].first_error, sizeof(res->first_error));
	}
	res->seconds = bench_now() - t0;
	res->rate = res->seconds > 0 ? (double)res->issued / res->seconds : 0;
out:
	free(l);
	return rc;
}
