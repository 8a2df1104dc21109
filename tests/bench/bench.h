/*
 * signerd-bench: the raw HSM signing rate and end-to-end issuance against a
 * running signerd, in one run on the same token and key (issue 7).
 *
 * Test code, never shipped. Modules: bench_hsm.c (raw C_Sign rate),
 * bench_csr.c (pre-generated request pool), bench_conn.c (one keep-alive
 * HTTPS connection with mutual TLS), bench_load.c (one concurrency step),
 * bench_server.c (the server's RSS, CPU time and journal commits),
 * bench_stats.c (percentiles), bench_acme.c (ACME orders end to end),
 * bench_main.c (options, sweep, output).
 * Functions return 0 or a negative SD_E_* code with sd_error_set().
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sd_error.h"

#define BENCH_CONC_MAX 256		/* client threads in one step */
#define BENCH_SECONDS_MAX 600		/* duration of one step */
#define BENCH_STEP_REQUESTS_MAX 2000000	/* requests in one step, all threads together */
#define BENCH_HSM_THREADS_MAX 256
#define BENCH_TBS_LEN 400		/* bytes; about a P-256 end-entity TBSCertificate */
#define BENCH_ERROR_TEXT 256

/* Seconds on CLOCK_MONOTONIC. */
double bench_now(void);

/* ---- bench_hsm.c: the raw HSM limit ---- */

struct bench_hsm_result {
	unsigned threads;
	uint64_t signs;
	uint64_t errors;
	double seconds;
	double rate;			/* signs per second */
	char first_error[BENCH_ERROR_TEXT];
};

struct bench_hsm;

/*
 * Open the token of cfg (cfg's [hsm] environment must already be applied)
 * with a pool of max_threads sessions and find the [ca] key.
 * Errors: those of hsm_open() and hsm_key_find(), SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int bench_hsm_open(const struct sd_config *cfg, unsigned max_threads, struct bench_hsm **out);
void bench_hsm_close(struct bench_hsm *bh);
const char *bench_hsm_key_type(const struct bench_hsm *bh);

/*
 * hsm_sign() on the CA key from threads threads (at most max_threads, so one
 * session each) for seconds, with the input signerd would give it for a
 * BENCH_TBS_LEN-byte TBS (digest, DigestInfo or the message for Ed25519).
 * Errors: SD_E_INVAL, SD_E_NOMEM, SD_E_INTERNAL (thread start).
 */
SD_WUR int bench_hsm_rate(struct bench_hsm *bh, unsigned threads, double seconds, struct bench_hsm_result *res);

/* ---- bench_csr.c: the request pool ---- */

/* The sign API a request is for, and so the answer it expects. */
enum bench_api {
	BENCH_API_SIGNERD,		/* POST /v1/sign {"csr", "profile"}: {"certificate", "serial_number"} */
	BENCH_API_CFSSL,		/* POST /api/v1/cfssl/sign {"certificate_request"}: cfssl's
					 * {"success": true, "result": {"certificate"}} */
};

struct bench_request {
	char *http;			/* a whole HTTP/1.1 sign request */
	size_t http_len;
	enum bench_api api;
};

struct bench_pool {
	struct bench_request *req;	/* for signerd */
	struct bench_request *cfssl;	/* the same CSRs for cfssl serve; NULL unless asked */
	size_t n;
};

/*
 * n P-256 CSRs for bench-<i>.example.com (CN and DNS SAN, allowed by the demo
 * profile "server"), each wrapped as a complete HTTP request for profile.
 * Errors: SD_E_CRYPTO, SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int bench_pool_new(size_t n, const char *profile, struct bench_pool **out);

/*
 * As bench_pool_new(), and the same n CSRs (the same bytes) also wrapped
 * as cfssl sign requests in pool->cfssl, so that a peer signs exactly
 * what signerd signs. Errors: those of bench_pool_new().
 */
SD_WUR int bench_pool_new_cfssl(size_t n, const char *profile, struct bench_pool **out);
void bench_pool_free(struct bench_pool *pool);

/*
 * One P-256 CSR for bench-<i>.example.com as PEM in *out (new, the caller
 * frees it with free()). Errors: SD_E_CRYPTO, SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int bench_csr_pem(size_t i, char **out);

/* ---- bench_conn.c: one client connection ---- */

struct bench_tls;			/* shared client TLS context */
struct bench_conn;

struct bench_tls_files {
	const char *ca;			/* verifies the server */
	const char *cert;		/* client certificate; NULL: none (ACME) */
	const char *key;		/* its key */
};

/* Errors: SD_E_CRYPTO (unreadable files, wrong key), SD_E_NOMEM. */
SD_WUR int bench_tls_new(const struct bench_tls_files *files, struct bench_tls **out);
void bench_tls_free(struct bench_tls *tls);

/* Errors: SD_E_NOMEM. */
SD_WUR int bench_conn_new(struct bench_tls *tls, uint16_t port, struct bench_conn **out);
void bench_conn_free(struct bench_conn *c);

/*
 * Bound each socket call (connect, every read and write) of the connections
 * made from now on to seconds (0.001 to 30; 30 by default and otherwise).
 */
void bench_conn_set_timeout(struct bench_conn *c, double seconds);

/* Connect to 127.0.0.1 and handshake if not connected. Errors: SD_E_IO, SD_E_CRYPTO. */
SD_WUR int bench_conn_ensure(struct bench_conn *c);

/* Times this connection was (re)established. */
uint64_t bench_conn_connects(const struct bench_conn *c);

/* The status code of a "HTTP/1.0 NNN" or "HTTP/1.1 NNN" status line, or 0. */
int bench_http_status(const char *line);

enum bench_fail {
	BENCH_FAIL_CONNECT,		/* TCP connect or TLS handshake */
	BENCH_FAIL_IO,			/* write, read, or a connection closed mid-exchange */
	BENCH_FAIL_HTTP,		/* malformed HTTP response */
	BENCH_FAIL_STATUS,		/* status other than 200 */
	BENCH_FAIL_BODY,		/* not JSON, or no certificate in it */
	BENCH_FAIL_CERT,		/* the certificate does not parse */
	BENCH_FAIL_COUNT
};

struct bench_reply {
	int status;
	enum bench_fail fail;		/* meaningful when bench_conn_sign() failed */
	char detail[BENCH_ERROR_TEXT];	/* why it failed */
};

/*
 * The value of header name (case-insensitive) in hdr, a status line and
 * header lines each ending in CRLF, NUL-terminated; truncated to cap - 1
 * bytes. False if absent.
 */
bool bench_http_header(const char *hdr, const char *name, char *out, size_t cap);

/* A response in the connection's buffer, valid until its next exchange. */
struct bench_response {
	const char *hdr;		/* status line and headers, as bench_http_header() reads them */
	const char *body;		/* NUL-terminated */
	size_t body_len;
};

/*
 * Send req (a whole HTTP/1.1 request), read the whole response into resp,
 * any status. On a failed exchange or a "Connection: close" answer the
 * connection is closed so that the next bench_conn_ensure() reconnects.
 * Errors: SD_E_IO (connection), SD_E_INVAL (malformed HTTP; reply->fail
 * and reply->detail say which).
 */
SD_WUR int bench_conn_exchange(struct bench_conn *c, const char *req, size_t req_len, struct bench_reply *reply,
    struct bench_response *resp);

/*
 * Send one request, read the whole response, check it as req->api says
 * (status 200, JSON with a certificate that parses as X.509; for signerd
 * its serial is the answer's serial_number, for cfssl "success" is true). *latency is the seconds from
 * the write to the last response byte. On a failed exchange or a
 * "Connection: close" answer the connection is closed so that the next
 * bench_conn_ensure() reconnects.
 * Errors: SD_E_IO (connection), SD_E_INVAL (a response that fails a check;
 * reply->fail and reply->detail say which).
 */
SD_WUR int bench_conn_sign(struct bench_conn *c, const struct bench_request *req, double *latency,
    struct bench_reply *reply);

/* ---- bench_server.c: the server process and its journal ---- */

struct bench_server;

/*
 * Watch pid and the LMDB journal directory (opened read-only); with
 * journal_path NULL (a peer without a journal), the process alone and
 * txnid stays 0. Errors: SD_E_IO (no such process), SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int bench_server_open(pid_t pid, const char *journal_path, struct bench_server **out);
void bench_server_close(struct bench_server *srv);

bool bench_server_alive(const struct bench_server *srv);

struct bench_server_sample {
	uint64_t cpu_ticks;		/* utime + stime, signerd and its front (or the peer) */
	uint64_t txnid;			/* LMDB last committed transaction */
	uint64_t rss_kb;		/* VmRSS now, both processes */
	uint64_t anon_kb;		/* of it RssAnon: heap, malloc arenas, stacks, pools */
	uint64_t hwm_kb;		/* VmHWM: peak since the last reset */
};

/* Errors: SD_E_IO, SD_E_JOURNAL. */
SD_WUR int bench_server_sample(struct bench_server *srv, struct bench_server_sample *s);

/* Reset the kernel's peak RSS of the process (clear_refs 5); false if the kernel refuses. */
bool bench_server_hwm_reset(struct bench_server *srv);

/*
 * Resident kB of the LMDB maps (*.mdb: the journal's and the ACME store's
 * page cache) and of the other mapped files (programs, libraries; their
 * anonymous copy-on-write pages left to RssAnon), both processes, now.
 * Errors: SD_E_IO.
 */
SD_WUR int bench_server_maps(struct bench_server *srv, uint64_t *lmdb_kb, uint64_t *lib_kb);

/* Clock ticks per second for cpu_ticks. */
long bench_server_ticks_per_second(void);

/* ---- bench_load.c: one concurrency step ---- */

struct bench_step {
	unsigned conc;
	double seconds;			/* measured: first request to last response */
	uint64_t issued;
	uint64_t errors;
	uint64_t fails[BENCH_FAIL_COUNT];
	uint64_t reconnects;		/* connections made during the step beyond the first per thread */
	char first_error[BENCH_ERROR_TEXT];
	double rate;			/* issued per second */
	double p50_ms, p95_ms, p99_ms, max_ms;
	double rss_mb;			/* server peak RSS over the step */
	double rss_anon_mb;		/* peak of its anonymous part (sampled) */
	double rss_lmdb_mb;		/* the LMDB maps' resident pages at the end (they only grow) */
	double rss_nomap_mb;		/* rss_anon_mb + the libraries' pages: RSS without the LMDB maps */
	double cpu_ms_per_cert;
	double client_cpu_ms_per_cert;	/* this benchmark's own CPU (it shares the machine) */
	double commits_per_cert;
	bool capped;			/* stopped at BENCH_STEP_REQUESTS_MAX */
};

struct bench_load {
	struct bench_tls *tls;
	uint16_t port;
	const struct bench_pool *pool;
	struct bench_server *server;
	enum bench_api api;		/* which of the pool's requests: signerd's or cfssl's */
	const char *name;		/* the server, for messages: "signerd", "cfssl" */
};

/*
 * Run conc client threads, each on its own keep-alive connection, for
 * seconds (connections are made before the clock starts), and fill step.
 * Errors: SD_E_IO (the server died, a thread cannot connect at all),
 * SD_E_NOMEM, SD_E_INTERNAL.
 */
SD_WUR int bench_load_step(const struct bench_load *load, unsigned conc, double seconds, struct bench_step *step);

/* ---- bench_acme.c: ACME issuance (RFC 8555) ---- */

#define BENCH_ACME_CONC 16u		/* workers in the ACME step */

struct bench_acme_opts {
	struct bench_tls *tls;		/* verifies the server; no client certificate */
	uint16_t port;			/* signerd's HTTPS listener on 127.0.0.1 */
	const char *profile;		/* /acme/<profile>/directory */
	const char *eab_file;		/* "kid: " and "hmac_key: " lines of signerctl acme eab add */
	uint16_t http_port;		/* [acme] http_port: the http-01 responder listens there */
	unsigned conc;
	double seconds;
};

struct bench_acme_result {
	unsigned conc;
	double seconds;			/* measured: first request to last certificate */
	uint64_t orders;		/* finalized, certificate downloaded and parsed */
	uint64_t errors;		/* orders that failed, any step */
	uint64_t validations;		/* http-01 answers the responder gave */
	uint64_t bad_nonces;		/* badNonce answers retried */
	uint64_t polls;			/* POST-as-GET of an order or authorization while waiting */
	uint64_t reconnects;
	double rate;			/* orders per second */
	char first_error[BENCH_ERROR_TEXT];
};

/*
 * One ACME account (P-256, bound with the EAB key of o->eab_file), then
 * o->conc workers, each on its own keep-alive connection with its own
 * name bench-<i>.example.com, looping newOrder, (the first time) http-01,
 * finalize, poll, certificate download for o->seconds.
 * Errors: SD_E_IO (the responder port, the directory, the account),
 * SD_E_INVAL (bad options, an unreadable EAB file), SD_E_CRYPTO, SD_E_NOMEM,
 * SD_E_INTERNAL.
 */
SD_WUR int bench_acme_run(const struct bench_acme_opts *o, struct bench_acme_result *res);

/* ---- bench_stats.c ---- */

/* Sort v in place; then bench_percentile() reads it. */
void bench_sort(double *v, size_t n);

/* Nearest-rank percentile p (0 < p <= 100) of sorted v; 0 when n is 0. */
double bench_percentile(const double *v, size_t n, double p);

#endif
