/*
 * signerd-dos: unauthenticated denial-of-service attacks on a running
 * signerd over loopback, with a legitimate client measured at the same time
 * (issue 11). Test code, never installed.
 *
 * Attackers bind to 127.0.0.2 and up (Linux routes all of 127/8 to lo); the
 * legitimate client connects from 127.0.0.1. Modules: dos_net.c (sockets,
 * source addresses, the attacker's TLS context), dos_hold.c (slowloris and
 * idle: many held connections in one poll() loop), dos_garbage.c (non-TLS
 * bytes at a fixed rate), dos_flood.c (handshake + unauthenticated POST
 * flood), dos_legit.c (the legitimate client), dos_main.c (options, phases,
 * the result line). The legitimate client is tests/bench's.
 * Functions return 0 or a negative SD_E_* code with sd_error_set().
 */
#ifndef DOS_H
#define DOS_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "bench/bench.h"
#include "sd_error.h"

#define DOS_CONNS_MAX 4096		/* held connections (slowloris, idle) */
#define DOS_SOURCES_MAX 4096		/* attacker addresses 127.0.0.2 .. 127.0.16.1 */
#define DOS_THREADS_MAX 32		/* flood threads */
#define DOS_RATE_MAX 20000		/* garbage connections per second */
#define DOS_SECONDS_MAX 600		/* any one duration */
#define DOS_LEGIT_MAX 1000		/* fresh-connection legitimate requests */
#define DOS_LEGIT_CONC_MAX 64		/* closed-loop legitimate connections */
#define DOS_OP_TIMEOUT_S 10.0		/* an attacker's connect or handshake */
#define DOS_REOPEN_S 0.1		/* a persistent attacker comes back after this */
#define DOS_SAMPLE_S 0.1		/* attacker connection count sampling period */
#define DOS_AGES_MAX 1000000		/* connection ages kept for percentiles */

enum dos_attack {
	DOS_SLOWLORIS,
	DOS_IDLE,
	DOS_FLOOD,
	DOS_GARBAGE,
};

struct dos_opts {
	uint16_t port;
	const char *demo;
	enum dos_attack attack;
	unsigned conns;
	unsigned sources;
	bool plain;
	double trickle_s;
	unsigned threads;
	unsigned rate;
	double warmup_s;
	double seconds;			/* flood: each closed-loop phase; others: least attack time after warm-up */
	unsigned legit_requests;
	double legit_interval_s;
	double legit_timeout_s;
	unsigned legit_conc;
	int attacker_cpu;		/* -1, or the one CPU the attack threads run on */
	int victim_cpu;			/* -1, or the CPU of the legitimate client (and of the tool's main thread) */
};

/* Shared between the main thread and the attack threads. */
struct dos_ctl {
	atomic_bool stop;		/* attackers finish and report */
	atomic_bool measuring;		/* the legitimate client is being measured */
};

/* ---- dos_net.c ---- */

/* The i-th attacker address: 127.0.0.2 + i (i < DOS_SOURCES_MAX). */
void dos_source(unsigned i, struct sockaddr_in *sin);

/*
 * A TCP socket bound to attacker address src (port chosen at connect, so
 * that sources share no port space), connecting to 127.0.0.1:port. With
 * timeout_s > 0 the socket is blocking and every call on it is bounded by
 * timeout_s; with 0 it is nonblocking and *in_progress tells whether the
 * connect is still under way (then poll for POLLOUT and read SO_ERROR).
 * Errors: SD_E_IO (errno-based detail).
 */
SD_WUR int dos_connect(unsigned src, uint16_t port, double timeout_s, int *fd, bool *in_progress);

/*
 * Run the calling thread, and the threads it creates from now on, on CPU
 * cpu only (-1: on every CPU). Errors: SD_E_IO.
 */
SD_WUR int dos_pin(int cpu);

/* Shut a socket with an RST instead of a FIN: no TIME_WAIT left on this side. */
void dos_abort_fd(int fd);

/*
 * The attacker's TLS: TLS 1.2+, no client certificate, the server
 * certificate not verified, no session cache (every handshake is full).
 * Errors: SD_E_CRYPTO.
 */
SD_WUR int dos_tls_ctx_new(SSL_CTX **out);

/* Sleep up to seconds, waking early when ctl->stop is set (ctl may be NULL). */
void dos_sleep(double seconds, struct dos_ctl *ctl);

/* CPU seconds this process has used. */
double dos_cpu_seconds(void);

/* Raise the open-file limit to at least want; false if the hard limit is lower. */
bool dos_nofile(size_t want);

/* ---- the result line ---- */

struct dos_line {
	char buf[4096];
	size_t len;
	bool truncated;
};

void dos_line_add(struct dos_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- dos_hold.c: slowloris and idle ---- */

struct dos_hold_result {
	uint64_t opened;		/* connection attempts */
	uint64_t reopened;		/* attempts after a slot's first */
	uint64_t established;		/* TCP (plain) or TLS handshakes completed */
	uint64_t refused;		/* failed or closed before established */
	uint64_t timeouts;		/* connect or handshake not done in DOS_OP_TIMEOUT_S */
	uint64_t closed;		/* established, then closed by the server */
	uint64_t bytes;			/* bytes trickled (slowloris) */
	uint64_t answers;		/* bytes the server sent after the handshake (e.g. an error page) */
	unsigned open_peak;		/* most established at once */
	unsigned open_min;		/* fewest established at once while measuring */
	double open_mean;		/* mean established while measuring */
	double age_p50_s, age_max_s;	/* established to closed by the server */
};

struct dos_hold;

/*
 * Start the slowloris (trickle true) or idle attack of o in one thread:
 * o->conns connections over o->sources addresses, each re-opened
 * DOS_REOPEN_S after the server closes it or it fails.
 * Errors: SD_E_NOMEM, SD_E_CRYPTO, SD_E_INTERNAL (thread start).
 */
SD_WUR int dos_hold_start(const struct dos_opts *o, bool trickle, struct dos_ctl *ctl, struct dos_hold **out);

/* Established connections now (racy read, for progress lines). */
unsigned dos_hold_open_now(const struct dos_hold *h);

/* Stop (ctl->stop must be set), join, fill res, free h. */
void dos_hold_finish(struct dos_hold *h, struct dos_hold_result *res);

/* ---- dos_garbage.c ---- */

struct dos_garbage_result {
	uint64_t attempted;		/* connections started */
	uint64_t skipped;		/* not started: too many still in flight */
	uint64_t connect_failed;	/* connect refused or timed out, or the send failed */
	uint64_t sent;			/* connections that sent their bytes */
	uint64_t server_closed;		/* ... and saw the server close within DOS_GARBAGE_WAIT_S */
	uint64_t server_kept;		/* ... and did not */
	double close_p50_ms, close_max_ms; /* send to the server's close */
	double seconds;
};

struct dos_garbage;

/* Start o->rate connections per second from o->sources addresses. Errors: SD_E_NOMEM, SD_E_INTERNAL. */
SD_WUR int dos_garbage_start(const struct dos_opts *o, struct dos_ctl *ctl, struct dos_garbage **out);
void dos_garbage_finish(struct dos_garbage *g, struct dos_garbage_result *res);

/* ---- dos_flood.c ---- */

struct dos_flood_result {
	uint64_t attempted;		/* TCP connects tried */
	uint64_t connect_failed;	/* connect refused, reset or timed out */
	uint64_t refused;		/* connected, closed or failed before the handshake completed */
	uint64_t handshakes;		/* TLS handshakes completed */
	uint64_t answered_401;
	uint64_t answered_other;	/* any other status */
	uint64_t closed;		/* handshake done, no answer (closed, reset, timed out) */
	double seconds;
};

struct dos_flood;

/* Start o->threads flood threads. Errors: SD_E_NOMEM, SD_E_CRYPTO, SD_E_INTERNAL. */
SD_WUR int dos_flood_start(const struct dos_opts *o, struct dos_ctl *ctl, struct dos_flood **out);
void dos_flood_finish(struct dos_flood *f, struct dos_flood_result *res);

/* ---- dos_legit.c: the legitimate client (127.0.0.1, the issuer identity) ---- */

struct dos_legit_result {
	unsigned total;
	unsigned ok;			/* 200 with a certificate, within the timeout */
	unsigned late;			/* 200 with a certificate, after the timeout */
	unsigned fails[BENCH_FAIL_COUNT];
	unsigned hung;			/* still running at the hard deadline */
	double p50_ms, max_ms;		/* over the 200 answers */
	char first_error[BENCH_ERROR_TEXT];
};

/*
 * o->legit_requests issuances started o->legit_interval_s apart (each in
 * its own thread, so a slow one does not delay the next), each on a fresh
 * connection bounded by o->legit_timeout_s per socket call; counted ok only
 * when whole within o->legit_timeout_s. Returns early when ctl->stop is set.
 * Errors: SD_E_NOMEM, SD_E_INTERNAL.
 */
SD_WUR int dos_legit_fresh(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool,
    struct dos_ctl *ctl, struct dos_legit_result *res);

/* Whether a fresh request's thread outlived its deadline (it still uses the TLS context and pool). */
bool dos_legit_busy(void);

struct dos_loop_result {
	uint64_t issued;
	uint64_t errors;
	double seconds;
	double rate;			/* issued per second */
	char first_error[BENCH_ERROR_TEXT];
};

/*
 * o->legit_conc keep-alive connections issuing back to back for seconds.
 * Errors: SD_E_NOMEM, SD_E_INTERNAL.
 */
SD_WUR int dos_legit_loop(const struct dos_opts *o, struct bench_tls *tls, const struct bench_pool *pool,
    double seconds, struct dos_loop_result *res);

#endif
