/*
 * signerd-dos: run one denial-of-service attack on a signerd serving
 * 127.0.0.1:PORT from attacker addresses 127.0.0.2 and up, measure a
 * legitimate client from 127.0.0.1 meanwhile, and print one result line.
 *
 *   signerd-dos --port PORT --demo DIR ATTACK [options]
 *
 * DIR is a packaging/demo.sh state: DIR/tls/ca.pem verifies the server,
 * DIR/clients/issuer.pem and .key are the legitimate client.
 *
 * ATTACK:
 *   slowloris  --conns N (600) --sources K (1) [--trickle-s S (10)] [--plain]
 *              N connections over K addresses; each completes the TLS
 *              handshake without a client certificate, then sends one byte
 *              of "POST /v1/sign HTTP/1.1\r\nHost: x\r\nX-a: aaa..." every S
 *              seconds and never ends its headers. --plain: bare TCP,
 *              trickling the start of a TLS ClientHello instead.
 *   idle       --conns N (256) --sources K (1) [--plain]
 *              N connections that complete the TLS handshake (--plain: only
 *              TCP) and then send nothing.
 *   flood      [--threads T (2)] [--sources K (1)] [--seconds D (5)]
 *              T threads each loop: new TCP + full TLS handshake without a
 *              client certificate, a whole POST /v1/sign, read the answer
 *              (401 expected) or the close, hang up.
 *   garbage    [--rate R (1000)] [--sources K (1)]
 *              R new TCP connections per second, each sending 200 bytes of
 *              non-TLS text, then closing its side (FIN).
 *   Slowloris and idle connections that the server closes, or that fail,
 *   are re-opened after 100 ms (a persistent attacker).
 *
 * The legitimate client, during every attack, after --warmup-s W (2) of
 * attack: --legit-requests M (10) issuances started --legit-interval-s I
 * (1) apart, each on a fresh connection (TCP + TLS handshake + POST
 * /v1/sign as the issuer), each socket call bounded by --legit-timeout-s T
 * (5); one counts as ok when it got a 200 with a certificate within T.
 * flood also measures --legit-conc C (4) keep-alive connections issuing back
 * to back for D seconds, first with no attack (baseline), then during the
 * flood; ratio = during / baseline. For the other attacks --seconds D (0)
 * keeps the attack up at least D seconds after the warm-up.
 *
 * --attacker-cpu N runs the attack threads on CPU N only, --victim-cpu M
 * the legitimate client on CPU M only (run signerd there too, e.g. with
 * taskset): on a small shared machine the attacker's own CPU would
 * otherwise count as damage done to the server, which it is not when the
 * attacker is another machine.
 *
 * Output: progress on stderr; on stdout exactly one line "dos attack=NAME
 * key=value ..." (see dos_print_*). Exit: 0 the run completed (whatever the
 * figures), 1 setup error (no demo files, the server does not issue before
 * the attack, a hard time cap hit), 2 usage error.
 *
 * Every run is bounded: the phases above, then a hard wall-clock cap
 * (SIGALRM) a minute beyond them; every socket call has a timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "dos.h"

#define DOS_CAP_SLACK_S 60		/* hard cap beyond the planned phases */
#define DOS_POOL_EXTRA 64		/* CSRs beyond the fresh requests, for the closed loop */
#define DOS_FD_SLACK 512

static const char *const dos_attack_names[] = {
	[DOS_SLOWLORIS] = "slowloris",
	[DOS_IDLE] = "idle",
	[DOS_FLOOD] = "flood",
	[DOS_GARBAGE] = "garbage",
};

static void
dos_usage(FILE *f)
{
	fprintf(f,
	    "usage: signerd-dos --port PORT --demo DIR ATTACK [options]\n"
	    "  ATTACK: slowloris [--conns N] [--sources K] [--trickle-s S] [--plain]\n"
	    "          idle      [--conns N] [--sources K] [--plain]\n"
	    "          flood     [--threads T] [--sources K] [--seconds D] [--legit-conc C]\n"
	    "          garbage   [--rate R] [--sources K]\n"
	    "  legitimate client: [--warmup-s W] [--legit-requests M] [--legit-interval-s I]\n"
	    "          [--legit-timeout-s T] [--seconds D]\n"
	    "  CPUs: [--attacker-cpu N] [--victim-cpu M]\n"
	    "  defaults: conns 600 (slowloris) or 256 (idle), sources 1, trickle-s 10, threads 2,\n"
	    "  rate 1000, warmup-s 2, seconds 5 (flood) or 0, legit-requests 10,\n"
	    "  legit-interval-s 1, legit-timeout-s 5, legit-conc 4.\n"
	    "  Attackers bind 127.0.0.2 and up; the legitimate client uses 127.0.0.1.\n"
	    "  stdout: one line \"dos attack=NAME key=value ...\". Exit: 0 run completed,\n"
	    "  1 setup error, 2 usage error.\n");
}

static bool
dos_parse_unsigned(const char *s, unsigned long min, unsigned long max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool
dos_parse_seconds(const char *s, double min, double *out)
{
	char *end;
	double v;

	if ((s[0] < '0' || s[0] > '9') && s[0] != '.')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min) || v > DOS_SECONDS_MAX)
		return false;
	*out = v;
	return true;
}

enum {
	DOS_OPT_PORT = 256, DOS_OPT_DEMO, DOS_OPT_CONNS, DOS_OPT_SOURCES, DOS_OPT_PLAIN, DOS_OPT_TRICKLE,
	DOS_OPT_THREADS, DOS_OPT_RATE, DOS_OPT_WARMUP, DOS_OPT_SECONDS, DOS_OPT_LEGIT_N, DOS_OPT_LEGIT_I,
	DOS_OPT_LEGIT_T, DOS_OPT_LEGIT_C, DOS_OPT_ATTACKER_CPU, DOS_OPT_VICTIM_CPU, DOS_OPT_HELP,
};

/* 0 parsed, 1 --help, -1 usage error (said on stderr). */
static int
dos_parse_args(int argc, char **argv, struct dos_opts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, DOS_OPT_PORT },
		{ "demo", required_argument, NULL, DOS_OPT_DEMO },
		{ "conns", required_argument, NULL, DOS_OPT_CONNS },
		{ "sources", required_argument, NULL, DOS_OPT_SOURCES },
		{ "plain", no_argument, NULL, DOS_OPT_PLAIN },
		{ "trickle-s", required_argument, NULL, DOS_OPT_TRICKLE },
		{ "threads", required_argument, NULL, DOS_OPT_THREADS },
		{ "rate", required_argument, NULL, DOS_OPT_RATE },
		{ "warmup-s", required_argument, NULL, DOS_OPT_WARMUP },
		{ "seconds", required_argument, NULL, DOS_OPT_SECONDS },
		{ "legit-requests", required_argument, NULL, DOS_OPT_LEGIT_N },
		{ "legit-interval-s", required_argument, NULL, DOS_OPT_LEGIT_I },
		{ "legit-timeout-s", required_argument, NULL, DOS_OPT_LEGIT_T },
		{ "legit-conc", required_argument, NULL, DOS_OPT_LEGIT_C },
		{ "attacker-cpu", required_argument, NULL, DOS_OPT_ATTACKER_CPU },
		{ "victim-cpu", required_argument, NULL, DOS_OPT_VICTIM_CPU },
		{ "help", no_argument, NULL, DOS_OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned port = 0, conns = 0, cpu;
	bool seconds_set = false, ok;
	size_t i;
	int ch;

	*o = (struct dos_opts){ .sources = 1, .trickle_s = 10, .threads = 2, .rate = 1000, .warmup_s = 2,
		.legit_requests = 10, .legit_interval_s = 1, .legit_timeout_s = 5, .legit_conc = 4,
		.attacker_cpu = -1, .victim_cpu = -1 };
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		ok = true;
		switch (ch) {
		case DOS_OPT_PORT: ok = dos_parse_unsigned(optarg, 1, 65535, &port); break;
		case DOS_OPT_DEMO: o->demo = optarg; break;
		case DOS_OPT_CONNS: ok = dos_parse_unsigned(optarg, 1, DOS_CONNS_MAX, &conns); break;
		case DOS_OPT_SOURCES: ok = dos_parse_unsigned(optarg, 1, DOS_SOURCES_MAX, &o->sources); break;
		case DOS_OPT_PLAIN: o->plain = true; break;
		case DOS_OPT_TRICKLE: ok = dos_parse_seconds(optarg, 0.01, &o->trickle_s); break;
		case DOS_OPT_THREADS: ok = dos_parse_unsigned(optarg, 1, DOS_THREADS_MAX, &o->threads); break;
		case DOS_OPT_RATE: ok = dos_parse_unsigned(optarg, 1, DOS_RATE_MAX, &o->rate); break;
		case DOS_OPT_WARMUP: ok = dos_parse_seconds(optarg, 0, &o->warmup_s); break;
		case DOS_OPT_SECONDS:
			ok = dos_parse_seconds(optarg, 0, &o->seconds);
			seconds_set = true;
			break;
		case DOS_OPT_LEGIT_N: ok = dos_parse_unsigned(optarg, 0, DOS_LEGIT_MAX, &o->legit_requests); break;
		case DOS_OPT_LEGIT_I: ok = dos_parse_seconds(optarg, 0, &o->legit_interval_s); break;
		case DOS_OPT_LEGIT_T: ok = dos_parse_seconds(optarg, 0.01, &o->legit_timeout_s); break;
		case DOS_OPT_LEGIT_C:
			ok = dos_parse_unsigned(optarg, 1, DOS_LEGIT_CONC_MAX, &o->legit_conc);
			break;
		case DOS_OPT_ATTACKER_CPU:
			if ((ok = dos_parse_unsigned(optarg, 0, 1023, &cpu)))
				o->attacker_cpu = (int)cpu;
			break;
		case DOS_OPT_VICTIM_CPU:
			if ((ok = dos_parse_unsigned(optarg, 0, 1023, &cpu)))
				o->victim_cpu = (int)cpu;
			break;
		case 'h':
		case DOS_OPT_HELP: return 1;
		default: return -1;
		}
		if (!ok) {
			fprintf(stderr, "signerd-dos: bad value for %s: %s\n", argv[optind - 1], optarg);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "signerd-dos: want exactly one ATTACK\n");
		return -1;
	}
	for (i = 0; i < sizeof(dos_attack_names) / sizeof(dos_attack_names[0]); i++)
		if (strcmp(argv[optind], dos_attack_names[i]) == 0)
			break;
	if (i == sizeof(dos_attack_names) / sizeof(dos_attack_names[0])) {
		fprintf(stderr, "signerd-dos: unknown attack %s\n", argv[optind]);
		return -1;
	}
	o->attack = (enum dos_attack)i;
	if (port == 0 || o->demo == NULL) {
		fprintf(stderr, "signerd-dos: --port and --demo are required\n");
		return -1;
	}
	o->port = (uint16_t)port;
	o->conns = conns != 0 ? conns : o->attack == DOS_SLOWLORIS ? 600 : 256;
	if (o->attack == DOS_FLOOD) {
		if (!seconds_set)
			o->seconds = 5;
		if (!(o->seconds > 0)) {
			fprintf(stderr, "signerd-dos: flood wants --seconds above 0\n");
			return -1;
		}
	}
	if (o->plain && o->attack != DOS_SLOWLORIS && o->attack != DOS_IDLE) {
		fprintf(stderr, "signerd-dos: --plain is for slowloris and idle\n");
		return -1;
	}
	return 0;
}

static void
dos_on_alarm(int sig)
{
	static const char msg[] = "signerd-dos: hard time cap reached; giving up\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* Seconds the phases may take at most; the hard cap adds DOS_CAP_SLACK_S. */
static double
dos_plan_seconds(const struct dos_opts *o)
{
	double legit = o->legit_requests * o->legit_interval_s + 3 * o->legit_timeout_s + 2, preflight;
	double attack = o->warmup_s + (legit > o->seconds ? legit : o->seconds);

	preflight = 3 * o->legit_timeout_s + 2;
	if (o->attack == DOS_FLOOD)
		attack += 2 * (o->seconds + o->legit_timeout_s);
	return preflight + attack;
}

static int
dos_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? sd_error_set(SD_E_INVAL, "path %s/%s too long", dir, name) : 0;
}

static void
dos_print_legit(struct dos_line *l, const struct dos_legit_result *r)
{
	unsigned other = r->fails[BENCH_FAIL_HTTP] + r->fails[BENCH_FAIL_BODY] + r->fails[BENCH_FAIL_CERT];

	dos_line_add(l, " legit_ok=%u legit_total=%u legit_failures=%u legit_late=%u legit_p50_ms=%.1f"
	    " legit_max_ms=%.1f legit_fail_connect=%u legit_fail_io=%u legit_fail_status=%u legit_fail_other=%u"
	    " legit_hung=%u", r->ok, r->total, r->total - r->ok, r->late, r->p50_ms, r->max_ms,
	    r->fails[BENCH_FAIL_CONNECT], r->fails[BENCH_FAIL_IO], r->fails[BENCH_FAIL_STATUS], other, r->hung);
	if (r->first_error[0] != '\0')
		fprintf(stderr, "signerd-dos: first legitimate failure: %s\n", r->first_error);
}

/* The legitimate fresh-connection phase, then the rest of --seconds; attackers keep going meanwhile. */
static int
dos_measure(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, struct dos_ctl *ctl,
    struct dos_legit_result *legit)
{
	double t0 = bench_now(), left;
	int rc;

	atomic_store(&ctl->measuring, true);
	rc = dos_legit_fresh(o, tls, pool, ctl, legit);
	if (rc == 0 && (left = o->seconds - (bench_now() - t0)) > 0)
		dos_sleep(left, NULL);
	atomic_store(&ctl->measuring, false);
	return rc;
}

static int
dos_run_hold(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, struct dos_line *l)
{
	struct dos_ctl ctl;
	struct dos_hold *h = NULL;
	struct dos_hold_result hr;
	struct dos_legit_result legit;
	double t0;
	unsigned w;
	int rc;

	atomic_init(&ctl.stop, false);
	atomic_init(&ctl.measuring, false);
	fprintf(stderr, "signerd-dos: %s%s: %u connections over %u sources, warm-up %.1f s\n",
	    dos_attack_names[o->attack], o->plain ? " (plain TCP)" : "", o->conns, o->sources, o->warmup_s);
	t0 = bench_now();
	if ((rc = dos_pin(o->attacker_cpu)) != 0)
		return rc;
	rc = dos_hold_start(o, o->attack == DOS_SLOWLORIS, &ctl, &h);
	if (rc == 0)
		rc = dos_pin(o->victim_cpu);
	if (rc != 0)
		return rc;
	for (w = 0; w < o->warmup_s; w++) {
		dos_sleep(o->warmup_s - w < 1 ? o->warmup_s - w : 1, NULL);
		fprintf(stderr, "signerd-dos: attack: %u connections established\n", dos_hold_open_now(h));
	}
	rc = dos_measure(o, tls, pool, &ctl, &legit);
	atomic_store(&ctl.stop, true);
	dos_hold_finish(h, &hr);
	if (rc != 0)
		return rc;
	dos_line_add(l, "dos attack=%s plain=%d conns=%u sources=%u", dos_attack_names[o->attack], o->plain ? 1 : 0,
	    o->conns, o->sources);
	if (o->attack == DOS_SLOWLORIS)
		dos_line_add(l, " trickle_s=%g", o->trickle_s);
	dos_line_add(l, " warmup_s=%g duration_s=%.1f attacker_open_peak=%u attacker_open_min=%u"
	    " attacker_open_mean=%.1f attacker_opened=%llu attacker_reopened=%llu attacker_established=%llu"
	    " attacker_refused=%llu attacker_timeouts=%llu attacker_closed=%llu attacker_closed_age_p50_s=%.1f"
	    " attacker_closed_age_max_s=%.1f", o->warmup_s, bench_now() - t0, hr.open_peak, hr.open_min,
	    hr.open_mean, (unsigned long long)hr.opened, (unsigned long long)hr.reopened,
	    (unsigned long long)hr.established, (unsigned long long)hr.refused, (unsigned long long)hr.timeouts,
	    (unsigned long long)hr.closed, hr.age_p50_s, hr.age_max_s);
	if (o->attack == DOS_SLOWLORIS)
		dos_line_add(l, " attacker_bytes=%llu", (unsigned long long)hr.bytes);
	dos_line_add(l, " attacker_answer_bytes=%llu", (unsigned long long)hr.answers);
	dos_print_legit(l, &legit);
	return 0;
}

static int
dos_run_garbage(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, struct dos_line *l)
{
	struct dos_ctl ctl;
	struct dos_garbage *g = NULL;
	struct dos_garbage_result gr;
	struct dos_legit_result legit;
	int rc;

	atomic_init(&ctl.stop, false);
	atomic_init(&ctl.measuring, false);
	fprintf(stderr, "signerd-dos: garbage: %u connections/s over %u sources, warm-up %.1f s\n", o->rate,
	    o->sources, o->warmup_s);
	if ((rc = dos_pin(o->attacker_cpu)) != 0)
		return rc;
	rc = dos_garbage_start(o, &ctl, &g);
	if (rc == 0)
		rc = dos_pin(o->victim_cpu);
	if (rc != 0)
		return rc;
	dos_sleep(o->warmup_s, NULL);
	rc = dos_measure(o, tls, pool, &ctl, &legit);
	atomic_store(&ctl.stop, true);
	dos_garbage_finish(g, &gr);
	if (rc != 0)
		return rc;
	dos_line_add(l, "dos attack=garbage rate=%u sources=%u warmup_s=%g duration_s=%.1f attacker_conns=%llu"
	    " attacker_conns_per_s=%.1f attacker_sent=%llu attacker_connect_failed=%llu attacker_skipped=%llu"
	    " attacker_server_closed=%llu attacker_server_kept=%llu attacker_close_p50_ms=%.1f"
	    " attacker_close_max_ms=%.1f", o->rate, o->sources, o->warmup_s, gr.seconds,
	    (unsigned long long)gr.attempted, gr.seconds > 0 ? (double)gr.attempted / gr.seconds : 0,
	    (unsigned long long)gr.sent, (unsigned long long)gr.connect_failed, (unsigned long long)gr.skipped,
	    (unsigned long long)gr.server_closed, (unsigned long long)gr.server_kept, gr.close_p50_ms,
	    gr.close_max_ms);
	dos_print_legit(l, &legit);
	return 0;
}

struct dos_loop_job {
	const struct dos_opts *o;
	struct bench_tls *tls;
	const struct bench_pool *pool;
	struct dos_loop_result res;
	int rc;
};

static void *
dos_loop_job_main(void *arg)
{
	struct dos_loop_job *j = arg;

	j->rc = dos_legit_loop(j->o, j->tls, j->pool, j->o->seconds, &j->res);
	ERR_clear_error();
	return NULL;
}

static int
dos_run_flood(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool, struct dos_line *l)
{
	struct dos_ctl ctl;
	struct dos_flood *f = NULL;
	struct dos_flood_result fr;
	struct dos_loop_result base;
	struct dos_loop_job job = { .o = o, .tls = tls, .pool = pool };
	struct dos_legit_result legit;
	pthread_t tid;
	double cpu0;
	int rc;

	atomic_init(&ctl.stop, false);
	atomic_init(&ctl.measuring, false);
	fprintf(stderr, "signerd-dos: flood: baseline, %u keep-alive issuer connections for %.1f s\n",
	    o->legit_conc, o->seconds);
	if ((rc = dos_legit_loop(o, tls, pool, o->seconds, &base)) != 0)
		return rc;
	fprintf(stderr, "signerd-dos: baseline %.1f issued/s, %llu errors%s%s\n", base.rate,
	    (unsigned long long)base.errors, base.errors > 0 ? "; first: " : "", base.first_error);
	fprintf(stderr, "signerd-dos: flood: %u threads over %u sources, warm-up %.1f s\n", o->threads, o->sources,
	    o->warmup_s);
	cpu0 = dos_cpu_seconds();
	if ((rc = dos_pin(o->attacker_cpu)) != 0)
		return rc;
	rc = dos_flood_start(o, &ctl, &f);
	if (rc == 0)
		rc = dos_pin(o->victim_cpu);
	if (rc != 0)
		return rc;
	dos_sleep(o->warmup_s, NULL);
	if (pthread_create(&tid, NULL, dos_loop_job_main, &job) != 0) {
		atomic_store(&ctl.stop, true);
		dos_flood_finish(f, &fr);
		return sd_error_set(SD_E_INTERNAL, "cannot start the closed loop");
	}
	rc = dos_measure(o, tls, pool, &ctl, &legit);
	(void)pthread_join(tid, NULL);
	atomic_store(&ctl.stop, true);
	dos_flood_finish(f, &fr);
	if (rc != 0)
		return rc;
	if (job.rc != 0)
		return job.rc;
	fprintf(stderr, "signerd-dos: during the flood %.1f issued/s, %llu errors%s%s\n", job.res.rate,
	    (unsigned long long)job.res.errors, job.res.errors > 0 ? "; first: " : "", job.res.first_error);
	dos_line_add(l, "dos attack=flood threads=%u sources=%u seconds=%g legit_conc=%u warmup_s=%g"
	    " baseline_per_s=%.1f during_per_s=%.1f ratio=%.2f baseline_errors=%llu legit_errors=%llu"
	    " flood_s=%.1f attacker_conns=%llu attacker_conns_per_s=%.1f attacker_handshakes=%llu"
	    " attacker_401=%llu attacker_other=%llu attacker_refused=%llu attacker_connect_failed=%llu"
	    " attacker_closed=%llu tool_cpu_s=%.1f",
	    o->threads, o->sources, o->seconds, o->legit_conc, o->warmup_s, base.rate, job.res.rate,
	    base.rate > 0 ? job.res.rate / base.rate : 0, (unsigned long long)base.errors,
	    (unsigned long long)job.res.errors, fr.seconds, (unsigned long long)fr.attempted,
	    fr.seconds > 0 ? (double)fr.attempted / fr.seconds : 0, (unsigned long long)fr.handshakes,
	    (unsigned long long)fr.answered_401, (unsigned long long)fr.answered_other,
	    (unsigned long long)fr.refused + fr.connect_failed, (unsigned long long)fr.connect_failed,
	    (unsigned long long)fr.closed, dos_cpu_seconds() - cpu0);
	dos_print_legit(l, &legit);
	return 0;
}

/* One issuance before any attack: a server that cannot issue now makes every figure meaningless. */
static int
dos_preflight(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool)
{
	struct dos_opts one = *o;
	struct dos_ctl ctl;
	struct dos_legit_result r;
	int rc;

	atomic_init(&ctl.stop, false);
	atomic_init(&ctl.measuring, false);
	one.legit_requests = 1;
	fprintf(stderr, "signerd-dos: preflight: one issuance on 127.0.0.1:%u before the attack\n", (unsigned)o->port);
	if ((rc = dos_legit_fresh(&one, tls, pool, &ctl, &r)) != 0)
		return rc;
	if (r.ok != 1)
		return sd_error_set(SD_E_IO, "signerd on 127.0.0.1:%u does not issue before the attack: %s",
		    (unsigned)o->port, r.first_error[0] != '\0' ? r.first_error : "too slow");
	return 0;
}

int
main(int argc, char **argv)
{
	struct dos_opts o;
	struct bench_tls *tls = NULL;
	struct bench_pool *pool = NULL;
	struct bench_tls_files files;
	struct dos_line line = { .len = 0 };
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	double cap;
	int rc;

	switch (dos_parse_args(argc, argv, &o)) {
	case 0:
		break;
	case 1:
		dos_usage(stdout);
		return 0;
	default:
		dos_usage(stderr);
		return 2;
	}
	/* A server that hangs up mid-write is counted, not a fatal signal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGALRM, dos_on_alarm) == SIG_ERR) {
		perror("signal");
		return 1;
	}
	if ((rc = dos_pin(o.victim_cpu)) != 0)
		goto out;
	cap = dos_plan_seconds(&o) + DOS_CAP_SLACK_S;
	(void)alarm((unsigned)cap);
	if (!dos_nofile((size_t)o.conns + 4096 + DOS_LEGIT_MAX + DOS_FD_SLACK)) {
		rc = sd_error_set(SD_E_IO, "cannot raise the open-file limit for %u connections", o.conns);
		goto out;
	}
	if ((rc = dos_path(ca, sizeof(ca), o.demo, "tls/ca.pem")) != 0 ||
	    (rc = dos_path(cert, sizeof(cert), o.demo, "clients/issuer.pem")) != 0 ||
	    (rc = dos_path(key, sizeof(key), o.demo, "clients/issuer.key")) != 0)
		goto out;
	files = (struct bench_tls_files){ .ca = ca, .cert = cert, .key = key };
	if ((rc = bench_tls_new(&files, &tls)) != 0 ||
	    (rc = bench_pool_new((size_t)o.legit_requests + DOS_POOL_EXTRA, "server", &pool)) != 0)
		goto out;
	if ((rc = dos_preflight(&o, tls, pool)) != 0)
		goto out;
	switch (o.attack) {
	case DOS_SLOWLORIS:
	case DOS_IDLE:
		rc = dos_run_hold(&o, tls, pool, &line);
		break;
	case DOS_GARBAGE:
		rc = dos_run_garbage(&o, tls, pool, &line);
		break;
	case DOS_FLOOD:
		rc = dos_run_flood(&o, tls, pool, &line);
		break;
	}
	if (rc != 0)
		goto out;
	if (line.truncated) {
		rc = sd_error_set(SD_E_INTERNAL, "result line over %zu bytes", sizeof(line.buf));
		goto out;
	}
	printf("%s\n", line.buf);
	if (fflush(stdout) != 0)
		rc = sd_error_set(SD_E_IO, "writing the result line failed");
out:
	/* A legitimate request still stuck in a socket call uses both; the process ends anyway. */
	if (!dos_legit_busy()) {
		bench_pool_free(pool);
		bench_tls_free(tls);
	}
	if (rc != 0) {
		fprintf(stderr, "signerd-dos: %s: %s\n", sd_error_name(rc), sd_error_detail(rc));
		return 1;
	}
	return 0;
}
