/* The test DNS responder (dns_fixture.h): RFC 1035 4.1 by hand, for TXT answers only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns_fixture.h"

#define DNS_HEADER 12
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

/* The answer to q (qend bytes of header and question) into a; its length, 0 if it does not fit. */
static size_t
dns_answer(const struct dns_fixture *f, const uint8_t *q, size_t qend, uint8_t *a, size_t cap)
{
	size_t i, j, n = qend, rdlen, len;

	if (qend > cap)
		return 0;
	memcpy(a, q, qend);
	a[2] = (uint8_t)(0x80 | (q[2] & 0x01));	/* QR, opcode QUERY, RD as asked */
	a[3] = (uint8_t)(0x80 | (f->rcode & 0x0f));	/* RA, the rcode */
	dns_put16(a + 4, 1);
	dns_put16(a + 6, f->rcode == 0 ? f->n_txt : 0);
	dns_put16(a + 8, 0);
	dns_put16(a + 10, 0);	/* the query's OPT record is not echoed: no EDNS here */
	for (i = 0; f->rcode == 0 && i < f->n_txt; i++) {
		rdlen = 0;
		for (j = 0; j < DNS_FIXTURE_STRINGS && f->txt[i][j] != NULL; j++)
			rdlen += 1 + strlen(f->txt[i][j]);
		if (n + 12 + rdlen > cap)
			return 0;
		a[n] = 0xc0;	/* the name: a pointer to the question's */
		a[n + 1] = DNS_HEADER;
		dns_put16(a + n + 2, DNS_TYPE_TXT);
		dns_put16(a + n + 4, 1);
		dns_put16(a + n + 6, 0);
		dns_put16(a + n + 8, 60);
		dns_put16(a + n + 10, rdlen);
		n += 12;
		for (j = 0; j < DNS_FIXTURE_STRINGS && f->txt[i][j] != NULL; j++) {
			len = strlen(f->txt[i][j]);
			a[n++] = (uint8_t)len;
			memcpy(a + n, f->txt[i][j], len);
			n += len;
		}
	}
	return n;
}

static void *
dns_main(void *arg)
{
	struct dns_fixture *f = arg;
	uint8_t q[512], a[2048];
	struct sockaddr_storage from;
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

	while (!atomic_load(&f->stop)) {
		socklen_t flen = sizeof(from);
		ssize_t got;
		size_t qend, n;

		if (poll(&pfd, 1, 50) != 1)
			continue;
		got = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (got < DNS_HEADER)
			continue;
		qend = dns_question(f, q, (size_t)got);
		atomic_fetch_add(&f->queries, 1);
		if (qend == 0 || f->silent)
			continue;
		n = dns_answer(f, q, qend, a, sizeof(a));
		if (n > 0)
			(void)sendto(f->fd, a, n, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

int
dns_fixture_start(struct dns_fixture *f, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	memset(&ss, 0, sizeof(ss));
	atomic_store(&f->stop, false);
	atomic_store(&f->queries, 0);
	f->qname[0] = '\0';
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if ((f->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(f->fd, (struct sockaddr *)&ss, len) != 0 || getsockname(f->fd, (struct sockaddr *)&ss, &len) != 0) {
		(void)close(f->fd);
		f->fd = -1;
		return -1;
	}
	f->port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	                                     ((struct sockaddr_in *)&ss)->sin_port);
	if (pthread_create(&f->thread, NULL, dns_main, f) != 0) {
		(void)close(f->fd);
		f->fd = -1;
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
	(void)close(f->fd);
	f->fd = -1;
}

uint16_t
dns_fixture_port(const struct dns_fixture *f)
{
	return f->port;
}
