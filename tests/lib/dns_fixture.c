/* The test DNS responder (dns_fixture.h): RFC 1035 4.1 by hand, for CNAME and TXT answers only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_fixture.h"

#define DNS_HEADER 12
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_TXT 16

/* Put a 16-bit value big-endian at p. */
static void
dns_put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * The question's end (just past QTYPE and QCLASS) in q[0..len), with its
 * name dotted into f->qname; 0 when the query is not one we can answer.
 */
static size_t
dns_question(struct dns_fixture *f, const uint8_t *q, size_t len)
{
	size_t off = DNS_HEADER, o = 0;

	while (off < len && q[off] != 0) {
		size_t n = q[off];

		if (n > 63 || off + 1 + n >= len || o + n + 1 >= sizeof(f->qname))
			return 0;
		if (o > 0)
			f->qname[o++] = '.';
		memcpy(f->qname + o, q + off + 1, n);
		o += n;
		off += 1 + n;
	}
	f->qname[o] = '\0';
	if (off + 5 > len)
		return 0;
	f->qtype = (uint16_t)(q[off + 1] << 8 | q[off + 2]);
	return off + 5;
}

/*
 * Put name (dotted, no final dot; NULL: a pointer to the question's) at
 * a + *n; false when it does not fit in cap or a label is too long.
 */
static bool
dns_put_name(const char *name, uint8_t *a, size_t *n, size_t cap)
{
	const char *p = name, *dot;
	size_t len;

	if (name == NULL) {
		if (*n + 2 > cap)
			return false;
		a[(*n)++] = 0xc0;
		a[(*n)++] = DNS_HEADER;
		return true;
	}
	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len > 63 || *n + 1 + len + 1 > cap)
			return false;
		a[(*n)++] = (uint8_t)len;
		memcpy(a + *n, p, len);
		*n += len;
		p += len;
		if (*p == '.')
			p++;
	}
	if (*n + 1 > cap)
		return false;
	a[(*n)++] = 0;
	return true;
}

/* TYPE, CLASS IN, TTL 60 and RDLENGTH of a record at a + *n; false when they do not fit. */
static bool
dns_put_rr_fixed(uint16_t type, size_t rdlen, uint8_t *a, size_t *n, size_t cap)
{
	if (*n + 10 > cap || rdlen > 0xffff)
		return false;
	dns_put16(a + *n, type);
	dns_put16(a + *n + 2, 1);
	dns_put16(a + *n + 4, 0);
	dns_put16(a + *n + 6, 60);
	dns_put16(a + *n + 8, rdlen);
	*n += 10;
	return true;
}

/*
 * The answer to q (qend bytes of header and question) into a, over UDP
 * or TCP; its length, 0 if it does not fit.
 */
static size_t
dns_answer(const struct dns_fixture *f, const uint8_t *q, size_t qend, bool tcp, uint8_t *a, size_t cap)
{
	bool records = f->rcode == 0 && (tcp || !f->truncate_udp);
	size_t i, j, n = qend, rdlen, len, start;

	if (qend > cap)
		return 0;
	memcpy(a, q, qend);
	a[2] = (uint8_t)(0x80 | (q[2] & 0x01));	/* QR, opcode QUERY, RD as asked */
	if (!tcp && f->truncate_udp)
		a[2] |= 0x02;			/* TC: what would not fit is over TCP */
	a[3] = (uint8_t)(0x80 | (f->rcode & 0x0f));	/* RA, the rcode */
	dns_put16(a + 4, 1);
	dns_put16(a + 6, records ? f->n_cname + f->n_txt : 0);
	dns_put16(a + 8, 0);
	dns_put16(a + 10, 0);	/* the query's OPT record is not echoed: no EDNS here */
	for (i = 0; records && i < f->n_cname; i++) {
		if (!dns_put_name(f->cname[i].owner, a, &n, cap))
			return 0;
		start = n;
		/* RDLENGTH is known once the target is written: put it, then fix it. */
		if (!dns_put_rr_fixed(DNS_TYPE_CNAME, 0, a, &n, cap) || !dns_put_name(f->cname[i].target, a, &n, cap))
			return 0;
		dns_put16(a + start + 8, n - start - 10);
	}
	for (i = 0; records && i < f->n_txt; i++) {
		rdlen = 0;
		for (j = 0; j < DNS_FIXTURE_STRINGS && f->txt[i][j] != NULL; j++)
			rdlen += 1 + strlen(f->txt[i][j]);
		if (!dns_put_name(f->txt_owner, a, &n, cap) || !dns_put_rr_fixed(DNS_TYPE_TXT, rdlen, a, &n, cap) ||
		    n + rdlen > cap)
			return 0;
		for (j = 0; j < DNS_FIXTURE_STRINGS && f->txt[i][j] != NULL; j++) {
			len = strlen(f->txt[i][j]);
			a[n++] = (uint8_t)len;
			memcpy(a + n, f->txt[i][j], len);
			n += len;
		}
	}
	return n;
}

/* Read exactly n bytes from fd, waiting at most a second for each part; false on EOF, error or silence. */
static bool
dns_read_full(int fd, uint8_t *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t off = 0;

	while (off < n) {
		ssize_t got;

		if (poll(&pfd, 1, 1000) != 1)
			return false;
		got = recv(fd, buf + off, n - off, 0);
		if (got <= 0)
			return false;
		off += (size_t)got;
	}
	return true;
}

/* One DNS-over-TCP exchange (RFC 1035 4.2.2: each message after its two-byte length) on listener f->tcp_fd. */
static void
dns_tcp_one(struct dns_fixture *f)
{
	uint8_t len[2], q[512], a[2 + 2048];
	size_t qlen, qend, n;
	int cfd = accept(f->tcp_fd, NULL, NULL);

	if (cfd == -1)
		return;
	if (!dns_read_full(cfd, len, 2))
		goto out;
	qlen = (size_t)len[0] << 8 | len[1];
	if (qlen < DNS_HEADER || qlen > sizeof(q) || !dns_read_full(cfd, q, qlen))
		goto out;
	qend = dns_question(f, q, qlen);
	atomic_fetch_add(&f->tcp_queries, 1);
	if (qend == 0 || f->silent || f->tcp_hangup)
		goto out;
	n = dns_answer(f, q, qend, true, a + 2, sizeof(a) - 2);
	if (n == 0)
		goto out;
	dns_put16(a, n);
	(void)send(cfd, a, n + 2, MSG_NOSIGNAL);
out:
	(void)close(cfd);
}

static void *
dns_main(void *arg)
{
	struct dns_fixture *f = arg;
	uint8_t q[512], a[2048];
	struct sockaddr_storage from;
	struct pollfd pfd[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = f->tcp_fd, .events = POLLIN } };

	while (!atomic_load(&f->stop)) {
		socklen_t flen = sizeof(from);
		ssize_t got;
		size_t qend, n;

		/* A negative fd (no TCP) is ignored by poll(). */
		if (poll(pfd, 2, 50) < 1)
			continue;
		if (pfd[1].revents & POLLIN)
			dns_tcp_one(f);
		if (!(pfd[0].revents & POLLIN))
			continue;
		got = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (got < DNS_HEADER)
			continue;
		qend = dns_question(f, q, (size_t)got);
		atomic_fetch_add(&f->queries, 1);
		if (qend == 0 || f->silent)
			continue;
		n = dns_answer(f, q, qend, false, a, sizeof(a));
		if (n > 0)
			(void)sendto(f->fd, a, n, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

/* Close f's sockets (those open). */
static void
dns_close(struct dns_fixture *f)
{
	if (f->fd != -1)
		(void)close(f->fd);
	if (f->tcp_fd != -1)
		(void)close(f->tcp_fd);
	f->fd = -1;
	f->tcp_fd = -1;
}

/*
 * Bind f->fd (UDP) to ss on an ephemeral port and, with f->tcp, f->tcp_fd
 * to the same port; f->port. 0, 1 when TCP found the port taken (try
 * again), -1 on another failure.
 */
static int
dns_bind(struct dns_fixture *f, int family, struct sockaddr_storage *ss, socklen_t len)
{
	static const int one = 1;

	f->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->fd == -1 || bind(f->fd, (struct sockaddr *)ss, len) != 0 ||
	    getsockname(f->fd, (struct sockaddr *)ss, &len) != 0)
		return -1;
	f->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)ss)->sin6_port :
	                                     ((struct sockaddr_in *)ss)->sin_port);
	if (!f->tcp)
		return 0;
	if ((f->tcp_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(f->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		return -1;
	if (bind(f->tcp_fd, (struct sockaddr *)ss, len) != 0)
		return errno == EADDRINUSE ? 1 : -1;
	return listen(f->tcp_fd, 4) == 0 ? 0 : -1;
}

int
dns_fixture_start(struct dns_fixture *f, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int tries, rc = 1;

	atomic_store(&f->stop, false);
	atomic_store(&f->queries, 0);
	atomic_store(&f->tcp_queries, 0);
	f->qname[0] = '\0';
	f->fd = -1;
	f->tcp_fd = -1;
	/* The UDP port the kernel picks may be some TCP socket's already: pick again. */
	for (tries = 0; rc == 1 && tries < 16; tries++) {
		dns_close(f);
		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_loopback;
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
		rc = dns_bind(f, family, &ss, len);
	}
	if (rc != 0 || pthread_create(&f->thread, NULL, dns_main, f) != 0) {
		dns_close(f);
		return -1;
	}
	return 0;
}

void
dns_fixture_stop(struct dns_fixture *f)
{
	if (f->fd == -1)
		return;
	atomic_store(&f->stop, true);
	(void)pthread_join(f->thread, NULL);
	dns_close(f);
}

uint16_t
dns_fixture_port(const struct dns_fixture *f)
{
	return f->port;
}
