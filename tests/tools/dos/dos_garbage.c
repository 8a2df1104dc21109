/*
 * Garbage: rate new TCP connections per second, each from the next attacker
 * address, each sending 200 bytes of text that is not TLS and closing its
 * side (FIN). The connection is then watched for up to DOS_GARBAGE_WAIT_S to
 * see whether and how fast the server hangs up. One thread, one poll() loop.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dos.h"

#define DOS_GARBAGE_LEN 200
#define DOS_GARBAGE_WAIT_S 2.0
#define DOS_GARBAGE_INFLIGHT 4096	/* connections open at once, at most */
#define DOS_GARBAGE_POLL_MS 2

enum dos_gslot_state {
	DOS_GSLOT_FREE,
	DOS_GSLOT_CONNECTING,
	DOS_GSLOT_SENT,
};

struct dos_gslot {
	enum dos_gslot_state state;
	int fd;
	double t_deadline;
	double t_sent;
};

struct dos_garbage {
	const struct dos_opts *o;
	struct dos_ctl *ctl;
	struct dos_gslot *slot;
	unsigned *free_list;		/* indices of free slots */
	unsigned n_free;
	struct pollfd *pfd;
	unsigned *pfd_slot;
	double *close_ms;
	size_t n_close;
	char text[DOS_GARBAGE_LEN];
	pthread_t tid;
	struct dos_garbage_result res;
	bool oom;
};

static void
dos_gslot_release(struct dos_garbage *g, unsigned i)
{
	struct dos_gslot *s = &g->slot[i];

	dos_abort_fd(s->fd);
	s->fd = -1;
	s->state = DOS_GSLOT_FREE;
	g->free_list[g->n_free++] = i;
}

static void
dos_garbage_open(struct dos_garbage *g, uint64_t seq, double now)
{
	struct dos_gslot *s;
	unsigned i;
	bool in_progress;
	int fd;

	g->res.attempted++;
	if (g->n_free == 0) {
		g->res.skipped++;
		return;
	}
	if (dos_connect((unsigned)(seq % g->o->sources), g->o->port, 0, &fd, &in_progress) != 0) {
		g->res.connect_failed++;
		return;
	}
	i = g->free_list[--g->n_free];
	s = &g->slot[i];
	s->fd = fd;
	s->state = DOS_GSLOT_CONNECTING;
	s->t_deadline = now + DOS_OP_TIMEOUT_S;
}

static void
dos_garbage_send(struct dos_garbage *g, unsigned i, double now)
{
	struct dos_gslot *s = &g->slot[i];
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0 ||
	    send(s->fd, g->text, sizeof(g->text), MSG_NOSIGNAL) != (ssize_t)sizeof(g->text)) {
		g->res.connect_failed++;
		dos_gslot_release(g, i);
		return;
	}
	(void)shutdown(s->fd, SHUT_WR);
	g->res.sent++;
	s->state = DOS_GSLOT_SENT;
	s->t_sent = now;
	s->t_deadline = now + DOS_GARBAGE_WAIT_S;
}

static void
dos_garbage_watch(struct dos_garbage *g, unsigned i, double now)
{
	struct dos_gslot *s = &g->slot[i];
	char buf[1024];
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	g->res.server_closed++;
	if (g->n_close < DOS_AGES_MAX) {
		if (g->close_ms == NULL && (g->close_ms = malloc(DOS_AGES_MAX * sizeof(*g->close_ms))) == NULL)
			g->oom = true;
		else
			g->close_ms[g->n_close++] = (now - s->t_sent) * 1000.0;
	}
	dos_gslot_release(g, i);
}

static void *
dos_garbage_main(void *arg)
{
	struct dos_garbage *g = arg;
	struct dos_gslot *s;
	double t0, now;
	uint64_t due, seq = 0;
	unsigned i, n;

	t0 = bench_now();
	while (!atomic_load(&g->ctl->stop) && !g->oom) {
		now = bench_now();
		due = (uint64_t)((now - t0) * g->o->rate) + 1;
		while (seq < due)
			dos_garbage_open(g, seq++, now);
		for (i = 0, n = 0; i < DOS_GARBAGE_INFLIGHT; i++) {
			s = &g->slot[i];
			if (s->state == DOS_GSLOT_FREE)
				continue;
			if (now >= s->t_deadline) {
				if (s->state == DOS_GSLOT_CONNECTING)
					g->res.connect_failed++;
				else
					g->res.server_kept++;
				dos_gslot_release(g, i);
				continue;
			}
			g->pfd[n] = (struct pollfd){ .fd = s->fd,
				.events = s->state == DOS_GSLOT_CONNECTING ? POLLOUT : POLLIN };
			g->pfd_slot[n++] = i;
		}
		if (poll(g->pfd, n, DOS_GARBAGE_POLL_MS) <= 0)
			continue;
		now = bench_now();
		for (i = 0; i < n; i++) {
			if (g->pfd[i].revents == 0)
				continue;
			if (g->slot[g->pfd_slot[i]].state == DOS_GSLOT_CONNECTING)
				dos_garbage_send(g, g->pfd_slot[i], now);
			else
				dos_garbage_watch(g, g->pfd_slot[i], now);
		}
	}
	g->res.seconds = bench_now() - t0;
	for (i = 0; i < DOS_GARBAGE_INFLIGHT; i++)
		if (g->slot[i].state != DOS_GSLOT_FREE)
			dos_gslot_release(g, i);
	return NULL;
}

static void
dos_garbage_free(struct dos_garbage *g)
{
	if (g == NULL)
		return;
	free(g->slot);
	free(g->free_list);
	free(g->pfd);
	free(g->pfd_slot);
	free(g->close_ms);
	free(g);
}

int
dos_garbage_start(const struct dos_opts *o, struct dos_ctl *ctl, struct dos_garbage **out)
{
	static const char line[] = "GET /index.html HTTP/1.1\r\nHost: garbage.invalid\r\nX-Garbage: ";
	struct dos_garbage *g = NULL;
	unsigned i;
	int rc;

	*out = NULL;
	if (o->rate == 0 || o->rate > DOS_RATE_MAX || o->sources == 0 || o->sources > DOS_SOURCES_MAX) {
		rc = sd_error_set(SD_E_INVAL, "rate %u over %u sources", o->rate, o->sources);
		goto out;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->slot = calloc(DOS_GARBAGE_INFLIGHT, sizeof(*g->slot))) == NULL ||
	    (g->free_list = calloc(DOS_GARBAGE_INFLIGHT, sizeof(*g->free_list))) == NULL ||
	    (g->pfd = calloc(DOS_GARBAGE_INFLIGHT, sizeof(*g->pfd))) == NULL ||
	    (g->pfd_slot = calloc(DOS_GARBAGE_INFLIGHT, sizeof(*g->pfd_slot))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	g->o = o;
	g->ctl = ctl;
	for (i = 0; i < DOS_GARBAGE_INFLIGHT; i++) {
		g->slot[i].fd = -1;
		g->free_list[g->n_free++] = DOS_GARBAGE_INFLIGHT - 1 - i;
	}
	/* Plain text: the first byte, 'G', is no TLS record type. */
	memset(g->text, 'x', sizeof(g->text));
	memcpy(g->text, line, sizeof(line) - 1);
	g->text[sizeof(g->text) - 2] = '\r';
	g->text[sizeof(g->text) - 1] = '\n';
	if (pthread_create(&g->tid, NULL, dos_garbage_main, g) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot start the attack thread");
		goto out;
	}
	*out = g;
	g = NULL;
	rc = 0;
out:
	dos_garbage_free(g);
	return rc;
}

void
dos_garbage_finish(struct dos_garbage *g, struct dos_garbage_result *res)
{
	(void)pthread_join(g->tid, NULL);
	*res = g->res;
	bench_sort(g->close_ms, g->n_close);
	res->close_p50_ms = bench_percentile(g->close_ms, g->n_close, 50);
	res->close_max_ms = g->n_close > 0 ? g->close_ms[g->n_close - 1] : 0;
	dos_garbage_free(g);
}
