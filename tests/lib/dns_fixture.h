/*
 * A tiny DNS responder for tests (never shipped): one UDP socket on
 * 127.0.0.1 or ::1 and an ephemeral port (and, when asked, a TCP listener
 * on the same port), answered by a thread with the CNAME and TXT records,
 * response code or silence the test set. It writes the few bytes of an
 * answer by hand so that the validator's DNS library is checked against
 * something it did not make itself.
 */
#ifndef DNS_FIXTURE_H
#define DNS_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_FIXTURE_RECORDS 4
#define DNS_FIXTURE_STRINGS 2		/* character-strings per TXT record */
#define DNS_FIXTURE_NAME_MAX 300
#define DNS_FIXTURE_CNAMES 12

/* A CNAME record of the answer: owner NULL is the question's name; names dotted, no final dot. */
struct dns_fixture_cname {
	const char *owner;
	const char *target;
};

struct dns_fixture {
	/* Set before dns_fixture_start(), read by the thread. */
	uint8_t rcode;			/* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ... */
	bool silent;			/* read queries, answer none */
	struct dns_fixture_cname cname[DNS_FIXTURE_CNAMES];	/* answered before the TXT records, in order */
	size_t n_cname;
	const char *txt_owner;		/* the TXT records' name; NULL: the question's */
	const char *txt[DNS_FIXTURE_RECORDS][DNS_FIXTURE_STRINGS];	/* NULL ends a record's strings */
	size_t n_txt;
	bool tcp;			/* also listen on TCP, same address and port (RFC 1035 4.2.2 framing) */
	bool tcp_hangup;		/* over TCP, read the query and close without an answer */
	bool truncate_udp;		/* over UDP, answer with TC set and no records (TCP has them) */
	/* Filled by the thread. */
	char qname[DNS_FIXTURE_NAME_MAX];	/* the last question's name, dotted, no final dot */
	uint16_t qtype;
	atomic_uint queries;		/* over UDP */
	atomic_uint tcp_queries;
	/* Private. */
	int fd;
	int tcp_fd;
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
};

/*
 * Bind f to family's loopback (AF_INET: 127.0.0.1, AF_INET6: ::1) on an
 * ephemeral port (f->port) and start answering; with f->tcp, a TCP
 * listener on the same port too. Returns 0, or -1 when the address cannot
 * be bound (no IPv6 on this machine: the caller skips).
 */
int dns_fixture_start(struct dns_fixture *f, int family);

/* Stop the thread and close the sockets. */
void dns_fixture_stop(struct dns_fixture *f);

/* The port f answers on. */
uint16_t dns_fixture_port(const struct dns_fixture *f);

#endif
