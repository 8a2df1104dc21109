/*
 * signerd-bench: measure the raw HSM limit on the issuing key, then sweep
 * end-to-end issuance against a running signerd over the given
 * concurrencies, and print a table and one "bench ..." line per step.
 *
 *   signerd-bench --demo DIR --pid PID --port PORT [--key NAME]
 *       [--seconds N] [--conc 1,2,4,16,64] [--csrs N] [--startup-ms MS]
 *       [--acme-eab FILE --acme-http-port PORT]
 *       [--hsm-latency-us N --hsm-parallel N]
 *       [--peer cfssl --peer-pid PID --peer-port PORT]
 *
 * DIR is a packaging/demo.sh state (signerd.conf, clients/issuer.*,
 * tls/ca.pem) that the signerd with PID serves on 127.0.0.1:PORT. With
 * --acme-eab (signerctl acme eab add's output: the HMAC key stays out of
 * argv), the sweep is followed by BENCH_ACME_CONC ACME workers on profile
 * server, compared with /v1/sign at the same concurrency (run if the sweep
 * has no such step); signerd validates http-01 on --acme-http-port.
 * --hsm-latency-us and --hsm-parallel describe the network HSM that
 * tests/modules/hsm_sim.so models under signerd (run.sh's BENCH_HSM): each
 * "bench" line then also gives its capacity (parallel / latency) and
 * issued/s against it (ratio_capacity).
 * --peer cfssl: a cfssl serve with PID on 127.0.0.1:PORT behind the same
 * mutual TLS (the demo's server certificate and client CA, run.sh's
 * BENCH_PEER) is driven right after signerd at each concurrency, by the
 * same clients with the same CSRs (POST /api/v1/cfssl/sign); each "bench"
 * line then also gives the peer's figures (peer_rate, ...) and
 * ratio_peer = signerd's issued/s over the peer's.
 * Exit: 0 all requests succeeded, 1 the run failed, 2 usage,
 * 3 the run completed but some requests failed (all shown).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define BENCH_STEPS_MAX 32
#define BENCH_POOL_DEFAULT 256

struct bench_opts {
	const char *demo;
	pid_t pid;
	uint16_t port;
	const char *key;
	double seconds;
	unsigned conc[BENCH_STEPS_MAX];
	size_t n_conc;
	size_t csrs;
	double startup_ms;		/* < 0: not measured */
	const char *acme_eab;		/* NULL: no ACME step */
	uint16_t acme_http_port;
	unsigned long hsm_latency_us;	/* the modelled HSM (both or neither): 0 none */
	unsigned long hsm_parallel;
	const char *peer;		/* "cfssl", or NULL: no peer */
	pid_t peer_pid;
	uint16_t peer_port;
};

static const char *const bench_fail_names[BENCH_FAIL_COUNT] = {
	"connect", "io", "http", "status", "body", "cert",
};

static void
bench_usage(void)
{
	fprintf(stderr, "usage: signerd-bench --demo DIR --pid PID --port PORT [--key NAME] [--seconds N]\n"
	    "           [--conc 1,2,4,16,64] [--csrs N] [--startup-ms MS]\n"
	    "           [--acme-eab FILE --acme-http-port PORT] [--hsm-latency-us N --hsm-parallel N]\n"
	    "           [--peer cfssl --peer-pid PID --peer-port PORT]\n");
}

static bool
bench_parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return false;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

static bool
bench_parse_conc(const char *s, struct bench_opts *o)
{
	char buf[256], *tok, *save = NULL;
	unsigned long v;

	if (strlen(s) >= sizeof(buf))
		return false;
	memcpy(buf, s, strlen(s) + 1);
	o->n_conc = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_conc == BENCH_STEPS_MAX || !bench_parse_ul(tok, BENCH_CONC_MAX, &v) || v == 0)
			return false;
		o->conc[o->n_conc++] = (unsigned)v;
	}
	return o->n_conc > 0;
}

static int
bench_parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "demo", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "key", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ "conc", required_argument, NULL, 'c' },
		{ "csrs", required_argument, NULL, 'n' },
		{ "startup-ms", required_argument, NULL, 'S' },
		{ "acme-eab", required_argument, NULL, 'E' },
		{ "acme-http-port", required_argument, NULL, 'H' },
		{ "hsm-latency-us", required_argument, NULL, 'L' },
		{ "hsm-parallel", required_argument, NULL, 'N' },
		{ "peer", required_argument, NULL, 'r' },
		{ "peer-pid", required_argument, NULL, 'R' },
		{ "peer-port", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int ch;

	*o = (struct bench_opts){ .seconds = 10, .csrs = BENCH_POOL_DEFAULT, .startup_ms = -1 };
	if (!bench_parse_conc("1,2,4,16,64", o))
		return -1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->demo = optarg; break;
		case 'k': o->key = optarg; break;
		case 'E': o->acme_eab = optarg; break;
		case 'H':
			if (!bench_parse_ul(optarg, 65535, &v) || v == 0)
				return -1;
			o->acme_http_port = (uint16_t)v;
			break;
		case 'p':
			if (!bench_parse_ul(optarg, INT_MAX, &v) || v == 0)
				return -1;
			o->pid = (pid_t)v;
			break;
		case 'r':
			if (strcmp(optarg, "cfssl") != 0)
				return -1;
			o->peer = optarg;
			break;
		case 'R':
			if (!bench_parse_ul(optarg, INT_MAX, &v) || v == 0)
				return -1;
			o->peer_pid = (pid_t)v;
			break;
		case 'T':
			if (!bench_parse_ul(optarg, 65535, &v) || v == 0)
				return -1;
			o->peer_port = (uint16_t)v;
			break;
		case 'P':
			if (!bench_parse_ul(optarg, 65535, &v) || v == 0)
				return -1;
			o->port = (uint16_t)v;
			break;
		case 's':
			if (!bench_parse_ul(optarg, BENCH_SECONDS_MAX, &v) || v == 0)
				return -1;
			o->seconds = (double)v;
			break;
		case 'L':
			if (!bench_parse_ul(optarg, 10000000, &o->hsm_latency_us) || o->hsm_latency_us == 0)
				return -1;
			break;
		case 'N':
			if (!bench_parse_ul(optarg, 4096, &o->hsm_parallel) || o->hsm_parallel == 0)
				return -1;
			break;
		case 'c':
			if (!bench_parse_conc(optarg, o))
				return -1;
			break;
		case 'n':
			if (!bench_parse_ul(optarg, 65536, &v) || v == 0)
				return -1;
			o->csrs = v;
			break;
		case 'S':
			errno = 0;
			o->startup_ms = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->startup_ms >= 0))
				return -1;
			break;
		default:
			return -1;
		}
	}
	if ((o->acme_eab != NULL && o->acme_http_port == 0) || (o->hsm_latency_us == 0) != (o->hsm_parallel == 0))
		return -1;
	if ((o->peer != NULL) != (o->peer_pid != 0) || (o->peer != NULL) != (o->peer_port != 0))
		return -1;
	return optind == argc && o->demo != NULL && o->pid != 0 && o->port != 0 ? 0 : -1;
}

static int
bench_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? sd_error_set(SD_E_INVAL, "path %s/%s too long", dir, name) : 0;
}

/* Client and server share the machine: show what else was running. */
static void
bench_print_load(void)
{
	char buf[128];
	FILE *f;

	if ((f = fopen("/proc/loadavg", "r")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL)
		printf("machine: %ld CPUs online, load average %s", sysconf(_SC_NPROCESSORS_ONLN), buf);
	(void)fclose(f);	/* read only */
}

static void
bench_print_raw(const char *key, const struct bench_hsm_result *r, double base)
{
	printf("  %2u thread%s %10.1f signs/s%s", r->threads, r->threads == 1 ? " " : "s", r->rate,
	    base > 0 && r->threads > 1 ? "" : "\n");
	if (base > 0 && r->threads > 1)
		printf("  (%.2fx one thread)\n", r->rate / base);
	if (r->errors > 0)
		printf("     %llu HSM errors, first: %s\n", (unsigned long long)r->errors, r->first_error);
	(void)key;
}

/* Signatures per second the modelled HSM can make (0: no model). */
static double
bench_capacity(const struct bench_opts *o)
{
	return o->hsm_latency_us == 0 ? 0 : (double)o->hsm_parallel * 1e6 / (double)o->hsm_latency_us;
}

static void
bench_print_row(const struct bench_step *s, double raw, double capacity)
{
	printf("%5u %10.1f %7.3f %8.2f %8.2f %8.2f %8.2f %7llu %7.1f %9.3f %9.3f %9.3f %6llu\n", s->conc, s->rate,
	    raw > 0 ? s->rate / raw : 0, s->p50_ms, s->p95_ms, s->p99_ms, s->max_ms, (unsigned long long)s->errors,
	    s->rss_mb, s->cpu_ms_per_cert, s->client_cpu_ms_per_cert, s->commits_per_cert,
	    (unsigned long long)s->reconnects);
	if (s->errors > 0) {
		int f;

		printf("      errors by kind:");
		for (f = 0; f < BENCH_FAIL_COUNT; f++)
			if (s->fails[f] > 0)
				printf(" %s=%llu", bench_fail_names[f], (unsigned long long)s->fails[f]);
		printf("; first: %s\n", s->first_error);
	}
	if (capacity > 0)
		printf("      issued/s / HSM capacity %.1f/s: %.3f\n", capacity, s->rate / capacity);
	if (s->capped)
		printf("      (stopped at the request cap of %d)\n", BENCH_STEP_REQUESTS_MAX);
	(void)fflush(stdout);	/* progress; the final flush is checked */
}

/* signerd's issued/s over the peer's at the same concurrency (0: the peer issued nothing). */
static double
bench_ratio_peer(const struct bench_step *s, const struct bench_step *peer)
{
	return peer->rate > 0 ? s->rate / peer->rate : 0;
}

/* The peer's row under signerd's: its name in the conc column, signerd ÷ peer in the ratio column. */
static void
bench_print_peer_row(const char *name, const struct bench_step *s, const struct bench_step *peer)
{
	int f;

	printf("%5.5s %10.1f %7.3f %8.2f %8.2f %8.2f %8.2f %7llu %7.1f %9.3f %9.3f %9s %6llu\n", name, peer->rate,
	    bench_ratio_peer(s, peer), peer->p50_ms, peer->p95_ms, peer->p99_ms, peer->max_ms,
	    (unsigned long long)peer->errors, peer->rss_mb, peer->cpu_ms_per_cert, peer->client_cpu_ms_per_cert, "-",
	    (unsigned long long)peer->reconnects);
	if (peer->errors > 0) {
		printf("      %s errors by kind:", name);
		for (f = 0; f < BENCH_FAIL_COUNT; f++)
			if (peer->fails[f] > 0)
				printf(" %s=%llu", bench_fail_names[f], (unsigned long long)peer->fails[f]);
		printf("; first: %s\n", peer->first_error);
	}
	if (peer->capped)
		printf("      (stopped at the request cap of %d)\n", BENCH_STEP_REQUESTS_MAX);
	(void)fflush(stdout);	/* progress; the final flush is checked */
}

static void
bench_print_line(const struct bench_opts *o, const char *key, const struct bench_step *s, double raw,
    unsigned workers, const struct bench_step *peer)
{
	double capacity = bench_capacity(o);

	printf("bench key=%s conc=%u rate=%.1f raw=%.1f ratio=%.3f p50_ms=%.2f p99_ms=%.2f errors=%llu rss_mb=%.1f "
	    "p95_ms=%.2f max_ms=%.2f cpu_ms_per_cert=%.3f client_cpu_ms_per_cert=%.3f commits_per_cert=%.3f reconnects=%llu "
	    "workers=%u seconds=%.0f",
	    key, s->conc, s->rate, raw, raw > 0 ? s->rate / raw : 0, s->p50_ms, s->p99_ms,
	    (unsigned long long)s->errors, s->rss_mb, s->p95_ms, s->max_ms, s->cpu_ms_per_cert,
	    s->client_cpu_ms_per_cert, s->commits_per_cert, (unsigned long long)s->reconnects, workers, o->seconds);
	printf(" rss_nomap_mb=%.1f rss_anon_mb=%.1f rss_lmdb_mb=%.1f", s->rss_nomap_mb, s->rss_anon_mb, s->rss_lmdb_mb);
	if (o->startup_ms >= 0)
		printf(" startup_ms=%.1f", o->startup_ms);
	if (capacity > 0)
		printf(" hsm_latency_ms=%.3f hsm_parallel=%lu capacity=%.1f ratio_capacity=%.3f",
		    (double)o->hsm_latency_us / 1000, o->hsm_parallel, capacity, s->rate / capacity);
	if (o->peer != NULL)
		printf(" peer=%s peer_rate=%.1f ratio_peer=%.3f peer_p50_ms=%.2f peer_p99_ms=%.2f peer_errors=%llu "
		    "peer_rss_mb=%.1f peer_cpu_ms_per_cert=%.3f peer_reconnects=%llu", o->peer, peer->rate,
		    bench_ratio_peer(s, peer), peer->p50_ms, peer->p99_ms, (unsigned long long)peer->errors,
		    peer->rss_mb, peer->cpu_ms_per_cert, (unsigned long long)peer->reconnects);
	printf("\n");
}

/*
 * One concurrency step on signerd, then (with a peer) the same on the peer
 * right after, so that both meet the same machine at nearly the same time.
 */
static int
bench_step_pair(const struct bench_opts *o, const struct bench_load *load, const struct bench_load *peer_load,
    unsigned conc, double raw, struct bench_step *step, struct bench_step *peer, uint64_t *errors)
{
	int rc;

	memset(peer, 0, sizeof(*peer));
	if ((rc = bench_load_step(load, conc, o->seconds, step)) != 0)
		return rc;
	*errors += step->errors;
	bench_print_row(step, raw, bench_capacity(o));
	if (o->peer == NULL)
		return 0;
	if ((rc = bench_load_step(peer_load, conc, o->seconds, peer)) != 0)
		return rc;
	*errors += peer->errors;
	bench_print_peer_row(o->peer, step, peer);
	return 0;
}

static int
bench_run(const struct bench_opts *o, uint64_t *errors)
{
	struct sd_config *cfg = NULL;
	struct bench_hsm *bh = NULL;
	struct bench_pool *pool = NULL;
	struct bench_tls *tls = NULL;
	struct bench_server *srv = NULL, *peer_srv = NULL;
	struct bench_hsm_result r1, r2, rw;
	struct bench_step steps[BENCH_STEPS_MAX + 1];	/* + the ACME comparison */
	struct bench_step peer_steps[BENCH_STEPS_MAX + 1];	/* the peer's, step for step */
	struct bench_tls *acme_tls = NULL;
	struct bench_acme_result acme;
	struct bench_acme_opts acme_opts;
	size_t n_steps = 0, sign_step = 0;
	struct bench_tls_files files;
	struct bench_load load, peer_load = { 0 };
	char conf[PATH_MAX], ca[PATH_MAX], cert[PATH_MAX], keyf[PATH_MAX];
	const char *key;
	unsigned workers;
	double t0;
	size_t i;
	int rc;

	*errors = 0;
	if ((rc = bench_path(conf, sizeof(conf), o->demo, "signerd.conf")) != 0 ||
	    (rc = bench_path(ca, sizeof(ca), o->demo, "tls/ca.pem")) != 0 ||
	    (rc = bench_path(cert, sizeof(cert), o->demo, "clients/issuer.pem")) != 0 ||
	    (rc = bench_path(keyf, sizeof(keyf), o->demo, "clients/issuer.key")) != 0)
		goto out;
	if ((rc = sd_config_load(conf, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0)
		goto out;
	workers = cfg->api_workers == 0 ? 1 : cfg->api_workers;	/* as api_server.c does */
	if ((rc = bench_hsm_open(cfg, workers < 2 ? 2 : workers, &bh)) != 0)
		goto out;
	key = bench_hsm_key_type(bh);
	if (o->key != NULL && strcmp(o->key, key) != 0) {
		rc = sd_error_set(SD_E_CONFIG, "--key %s but the CA key in %s is %s", o->key, conf, key);
		goto out;
	}

	printf("signerd bench: CA key %s, %u workers, %.0f s per step, %zu P-256 CSRs, 127.0.0.1:%u (pid %ld)\n",
	    key, workers, o->seconds, o->csrs, (unsigned)o->port, (long)o->pid);
	bench_print_load();
	if (o->startup_ms >= 0)
		printf("startup to ready (warm token, median): %.1f ms\n", o->startup_ms);
	if (bench_capacity(o) > 0)
		printf("HSM: hsm_sim.so, %.3f ms per signature, %lu at once: capacity %.1f signatures/s\n",
		    (double)o->hsm_latency_us / 1000, o->hsm_parallel, bench_capacity(o));
	printf("raw HSM limit: hsm_sign() on the issuing key, one session per thread, pre-hashed input\n");
	(void)fflush(stdout);	/* progress; the final flush is checked */
	if ((rc = bench_hsm_rate(bh, 1, o->seconds, &r1)) != 0)
		goto out;
	bench_print_raw(key, &r1, 0);
	if ((rc = bench_hsm_rate(bh, 2, o->seconds, &r2)) != 0)
		goto out;
	bench_print_raw(key, &r2, r1.rate);
	if (workers != 2 && workers != 1) {
		if ((rc = bench_hsm_rate(bh, workers, o->seconds, &rw)) != 0)
			goto out;
		bench_print_raw(key, &rw, r1.rate);
	} else {
		rw = workers == 1 ? r1 : r2;
	}
	*errors += r1.errors + r2.errors + (workers > 2 ? rw.errors : 0);

	t0 = bench_now();
	rc = o->peer != NULL ? bench_pool_new_cfssl(o->csrs, "server", &pool) : bench_pool_new(o->csrs, "server", &pool);
	if (rc != 0)
		goto out;
	printf("CSR pool: %zu P-256 CSRs in %.2f s (not timed)\n", pool->n, bench_now() - t0);
	files = (struct bench_tls_files){ .ca = ca, .cert = cert, .key = keyf };
	if ((rc = bench_tls_new(&files, &tls)) != 0)
		goto out;
	if ((rc = bench_server_open(o->pid, cfg->journal_path, &srv)) != 0)
		goto out;
	load = (struct bench_load){ .tls = tls, .port = o->port, .pool = pool, .server = srv, .api = BENCH_API_SIGNERD,
		.name = "signerd" };
	if (o->peer != NULL) {
		if ((rc = bench_server_open(o->peer_pid, NULL, &peer_srv)) != 0)
			goto out;
		peer_load = (struct bench_load){ .tls = tls, .port = o->peer_port, .pool = pool, .server = peer_srv,
			.api = BENCH_API_CFSSL, .name = o->peer };
	}

	printf("\nend to end: POST /v1/sign, keep-alive mutual TLS, ratio = issued/s / raw (%u threads) %.1f/s\n",
	    rw.threads, rw.rate);
	printf("(srv/cli ms/c: server / benchmark CPU ms per certificate; commit/c: journal commits per certificate)\n");
	if (o->peer != NULL)
		printf("(row %s: cfssl serve on 127.0.0.1:%u (pid %ld), same clients, CSRs and mutual TLS, right after\n"
		    "signerd; its ratio column is signerd's issued/s over %s's)\n", o->peer, (unsigned)o->peer_port,
		    (long)o->peer_pid, o->peer);
	printf(" conc   issued/s   ratio   p50 ms   p95 ms   p99 ms   max ms  errors  rss MB"
	    "  srv ms/c  cli ms/c  commit/c reconn\n");
	(void)fflush(stdout);	/* progress; the final flush is checked */
	for (i = 0; i < o->n_conc; i++) {
		if ((rc = bench_step_pair(o, &load, &peer_load, o->conc[i], rw.rate, &steps[i], &peer_steps[i],
		    errors)) != 0)
			goto out;
		n_steps++;
	}
	if (o->acme_eab != NULL) {
		for (sign_step = 0; sign_step < n_steps && steps[sign_step].conc != BENCH_ACME_CONC; sign_step++)
			;
		if (sign_step == n_steps) {	/* the ACME line compares with /v1/sign at its concurrency */
			if ((rc = bench_step_pair(o, &load, &peer_load, BENCH_ACME_CONC, rw.rate, &steps[n_steps],
			    &peer_steps[n_steps], errors)) != 0)
				goto out;
			n_steps++;
		}
		files = (struct bench_tls_files){ .ca = ca };
		if ((rc = bench_tls_new(&files, &acme_tls)) != 0)
			goto out;
		acme_opts = (struct bench_acme_opts){ .tls = acme_tls, .port = o->port, .profile = "server",
			.eab_file = o->acme_eab, .http_port = o->acme_http_port, .conc = BENCH_ACME_CONC,
			.seconds = o->seconds };
		printf("\nACME: %u workers, one account, newOrder + finalize + poll + certificate download per order;\n"
		    "the first order of each name is validated over http-01 (responder on 127.0.0.1:%u), later\n"
		    "orders reuse that valid authorization\n", BENCH_ACME_CONC, (unsigned)o->acme_http_port);
		(void)fflush(stdout);	/* progress; the final flush is checked */
		if ((rc = bench_acme_run(&acme_opts, &acme)) != 0)
			goto out;
		*errors += acme.errors;
		printf("  %.1f orders/s (/v1/sign at %u: %.1f/s), %llu errors, %llu http-01 answers, %llu badNonce "
		    "retries, %.2f polls per order, %llu reconnects\n", acme.rate, BENCH_ACME_CONC,
		    steps[sign_step].rate, (unsigned long long)acme.errors, (unsigned long long)acme.validations,
		    (unsigned long long)acme.bad_nonces, acme.orders > 0 ? (double)acme.polls / (double)acme.orders : 0,
		    (unsigned long long)acme.reconnects);
		if (acme.errors > 0)
			printf("      first error: %s\n", acme.first_error);
	}
	printf("\n");
	printf("bench-raw key=%s threads=1 rate=%.1f\n", key, r1.rate);
	printf("bench-raw key=%s threads=2 rate=%.1f scaling=%.2f\n", key, r2.rate, r1.rate > 0 ? r2.rate / r1.rate : 0);
	if (workers > 2)
		printf("bench-raw key=%s threads=%u rate=%.1f scaling=%.2f\n", key, rw.threads, rw.rate,
		    r1.rate > 0 ? rw.rate / r1.rate : 0);
	for (i = 0; i < n_steps; i++)
		bench_print_line(o, key, &steps[i], rw.rate, workers, &peer_steps[i]);
	if (o->acme_eab != NULL)
		printf("bench-acme key=%s conc=%u orders_per_s=%.1f sign_rate=%.1f ratio_to_sign=%.3f errors=%llu "
		    "seconds=%.0f validations=%llu bad_nonces=%llu polls=%llu reconnects=%llu\n", key, acme.conc,
		    acme.rate, steps[sign_step].rate, steps[sign_step].rate > 0 ? acme.rate / steps[sign_step].rate : 0,
		    (unsigned long long)acme.errors, o->seconds, (unsigned long long)acme.validations,
		    (unsigned long long)acme.bad_nonces, (unsigned long long)acme.polls,
		    (unsigned long long)acme.reconnects);
	rc = 0;
out:
	if (fflush(stdout) != 0 && rc == 0)
		rc = sd_error_set(SD_E_IO, "writing the report failed");
	bench_server_close(peer_srv);
	bench_server_close(srv);
	bench_tls_free(acme_tls);
	bench_tls_free(tls);
	bench_pool_free(pool);
	bench_hsm_close(bh);
	sd_config_free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	uint64_t errors = 0;
	int rc;

	if (bench_parse_args(argc, argv, &o) != 0) {
		bench_usage();
		return 2;
	}
	/* A server that hangs up mid-write is a counted error, not a fatal signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("signal");
		return 1;
	}
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	if ((rc = bench_run(&o, &errors)) != 0) {
		fprintf(stderr, "signerd-bench: %s: %s\n", sd_error_name(rc), sd_error_detail(rc));
		return 1;
	}
	if (errors > 0) {
		fprintf(stderr, "signerd-bench: %llu requests or signatures failed (see above)\n",
		    (unsigned long long)errors);
		return 3;
	}
	return 0;
}
