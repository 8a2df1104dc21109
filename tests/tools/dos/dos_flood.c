/*
 * Flood: a few threads, each as fast as it can, open a new TCP connection
 * from an attacker address, complete a full TLS handshake without a client
 * certificate, send a whole POST /v1/sign with a small JSON body, read the
 * status line of the answer (401 expected) or notice the close, and hang up.
 * Blocking sockets: every call is bounded by DOS_FLOOD_TIMEOUT_S.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "dos.h"

#define DOS_FLOOD_TIMEOUT_S 5.0
#define DOS_FLOOD_ANSWER_MAX 4096	/* the status line and headers fit in this */
#define DOS_FLOOD_BACKOFF_S 0.01	/* after a failed connect (e.g. no local port left) */

static const char dos_flood_request[] =
    "POST /v1/sign HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 37\r\n"
    "\r\n"
    "{\"csr\": \"flood\", \"profile\": \"server\"}";

struct dos_flooder {
	struct dos_flood *f;
	unsigned idx;
	pthread_t tid;
	struct dos_flood_result res;
};

struct dos_flood {
	const struct dos_opts *o;
	struct dos_ctl *ctl;
	SSL_CTX *ctx;
	struct dos_flooder *th;
	double t0;
};

/* The status of the answer on ssl, 0 if the connection ended first. */
static int
dos_flood_status(SSL *ssl)
{
	char buf[DOS_FLOOD_ANSWER_MAX + 1];
	size_t have = 0;
	int n;

	while (have < DOS_FLOOD_ANSWER_MAX) {
		if ((n = SSL_read(ssl, buf + have, (int)(DOS_FLOOD_ANSWER_MAX - have))) <= 0)
			return 0;
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			return bench_http_status(buf);
	}
	return 0;
}

/* One attack connection, counted in r. */
static void
dos_flood_once(struct dos_flood *f, uint64_t seq, struct dos_flood_result *r)
{
	SSL *ssl = NULL;
	bool in_progress;
	int fd = -1, status;

	r->attempted++;
	if (dos_connect((unsigned)(seq % f->o->sources), f->o->port, DOS_FLOOD_TIMEOUT_S, &fd, &in_progress) != 0) {
		r->connect_failed++;
		dos_sleep(DOS_FLOOD_BACKOFF_S, f->ctl);
		goto out;
	}
	if ((ssl = SSL_new(f->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
		r->refused++;
		goto out;
	}
	r->handshakes++;
	if (SSL_write(ssl, dos_flood_request, (int)sizeof(dos_flood_request) - 1) !=
	    (int)sizeof(dos_flood_request) - 1) {
		r->closed++;
		goto out;
	}
	status = dos_flood_status(ssl);
	if (status == 401)
		r->answered_401++;
	else if (status != 0)
		r->answered_other++;
	else
		r->closed++;
out:
	ERR_clear_error();
	SSL_free(ssl);
	dos_abort_fd(fd);
}

static void *
dos_flooder_main(void *arg)
{
	struct dos_flooder *t = arg;
	unsigned nthreads = t->f->o->threads;
	uint64_t seq = t->idx;

	while (!atomic_load(&t->f->ctl->stop)) {
		dos_flood_once(t->f, seq, &t->res);
		seq += nthreads;
	}
	return NULL;
}

static void
dos_flood_free(struct dos_flood *f)
{
	if (f == NULL)
		return;
	SSL_CTX_free(f->ctx);
	free(f->th);
	free(f);
}

int
dos_flood_start(const struct dos_opts *o, struct dos_ctl *ctl, struct dos_flood **out)
{
	struct dos_flood *f = NULL;
	unsigned i;
	int rc;

	*out = NULL;
	if (o->threads == 0 || o->threads > DOS_THREADS_MAX || o->sources == 0 || o->sources > DOS_SOURCES_MAX) {
		rc = sd_error_set(SD_E_INVAL, "%u flood threads over %u sources", o->threads, o->sources);
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->th = calloc(o->threads, sizeof(*f->th))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	f->o = o;
	f->ctl = ctl;
	if ((rc = dos_tls_ctx_new(&f->ctx)) != 0)
		goto out;
	f->t0 = bench_now();
	for (i = 0; i < o->threads; i++) {
		f->th[i].f = f;
		f->th[i].idx = i;
		if (pthread_create(&f->th[i].tid, NULL, dos_flooder_main, &f->th[i]) != 0) {
			atomic_store(&ctl->stop, true);
			for (; i > 0; i--)
				(void)pthread_join(f->th[i - 1].tid, NULL);
			rc = sd_error_set(SD_E_INTERNAL, "cannot start flood thread %u", i);
			goto out;
		}
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	dos_flood_free(f);
	return rc;
}

void
dos_flood_finish(struct dos_flood *f, struct dos_flood_result *res)
{
	struct dos_flood_result *r;
	unsigned i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < f->o->threads; i++) {
		(void)pthread_join(f->th[i].tid, NULL);
		r = &f->th[i].res;
		res->attempted += r->attempted;
		res->connect_failed += r->connect_failed;
		res->refused += r->refused;
		res->handshakes += r->handshakes;
		res->answered_401 += r->answered_401;
		res->answered_other += r->answered_other;
		res->closed += r->closed;
	}
	res->seconds = bench_now() - f->t0;
	dos_flood_free(f);
}
