/*
 * Unit tests of the admission guard, seen from outside as libmicrohttpd
 * would see it: each connection is one end of a socketpair registered with
 * api_guard_conn_open(), and a deadline or an eviction shows on the other
 * end as the end of the stream. Addresses are made up (127.0.0.x and
 * 2001:db8::/32); the guard never looks at the socket's own address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_guard.h"
#include "sd_error.h"
#include "sd_test.h"

/* A registered connection: fd is the server's end, peer the client's. */
struct test_conn {
	int fd, peer;
	struct api_guard_conn *c;
};

static uint64_t
test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
test_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Limits no test reaches unless it lowers them. */
static void
test_limits(struct api_guard_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_connections = 100;
	lim->max_per_source = 100;
	lim->handshake_ms = 30000;
	lim->header_ms = 30000;
	lim->request_ms = 30000;
	lim->idle_ms = 30000;
	lim->unauth_rate = 1000;
	lim->unauth_burst = 1000;
}

static struct sockaddr_in
test_v4(const char *ip)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		abort();
	return sin;
}

static struct sockaddr_in6
test_v6(const char *ip)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40000);
	if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) != 1)
		abort();
	return sin6;
}

static bool
test_admit4(struct api_guard *g, const char *ip)
{
	struct sockaddr_in sin = test_v4(ip);

	return api_guard_admit(g, (const struct sockaddr *)&sin, sizeof(sin));
}

static bool
test_admit6(struct api_guard *g, const char *ip)
{
	struct sockaddr_in6 sin6 = test_v6(ip);

	return api_guard_admit(g, (const struct sockaddr *)&sin6, sizeof(sin6));
}

static void
test_pair(struct test_conn *t)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		abort();
	}
	t->fd = sv[0];
	t->peer = sv[1];
	t->c = NULL;
}

/* Register a new connection from an IPv4 source; the guard must track it. */
static void
test_open4(struct api_guard *g, struct test_conn *t, const char *ip)
{
	struct sockaddr_in sin = test_v4(ip);

	test_pair(t);
	t->c = api_guard_conn_open(g, t->fd, (const struct sockaddr *)&sin, sizeof(sin));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->c);
}

static void
test_open6(struct api_guard *g, struct test_conn *t, const char *ip)
{
	struct sockaddr_in6 sin6 = test_v6(ip);

	test_pair(t);
	t->c = api_guard_conn_open(g, t->fd, (const struct sockaddr *)&sin6, sizeof(sin6));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->c);
}

/* As libmicrohttpd does: the guard forgets the connection, then the descriptor is closed. */
static void
test_close(struct api_guard *g, struct test_conn *t)
{
	api_guard_conn_close(g, t->c);
	t->c = NULL;
	close(t->fd);
	close(t->peer);
	t->fd = t->peer = -1;
}

/*
 * Whether the server's end has been shut down, waiting up to wait_ms: the
 * peer reads the end of the stream. Nothing is ever written, so readable
 * means EOF.
 */
static bool
test_shut_within(const struct test_conn *t, int wait_ms)
{
	struct pollfd p = { .fd = t->peer, .events = POLLIN };
	char b;
	int n;

	while ((n = poll(&p, 1, wait_ms)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return false;
	CU_ASSERT((p.revents & (POLLIN | POLLHUP)) != 0);
	return recv(t->peer, &b, 1, MSG_DONTWAIT) == 0;
}

static bool
test_shut(const struct test_conn *t)
{
	return test_shut_within(t, 0);
}

/* Milliseconds from start until t is shut down, or -1 if it is not within wait_ms. */
static long
test_shut_after(const struct test_conn *t, uint64_t start, int wait_ms)
{
	if (!test_shut_within(t, wait_ms))
		return -1;
	return (long)(test_now_ms() - start);
}

static struct api_guard *
test_guard(const struct api_guard_limits *lim)
{
	struct api_guard *g = NULL;
	int rc;

	if ((rc = api_guard_new(lim, &g)) != 0 || g == NULL) {
		fprintf(stderr, "api_guard_new: %s\n", sd_error_detail(rc));
		abort();
	}
	return g;
}

/* ---- api_guard_new / api_guard_free ---- */

static void
test_new_zero_limit(void)
{
	static const size_t fields[] = {
		offsetof(struct api_guard_limits, max_connections),
		offsetof(struct api_guard_limits, max_per_source),
		offsetof(struct api_guard_limits, handshake_ms),
		offsetof(struct api_guard_limits, header_ms),
		offsetof(struct api_guard_limits, request_ms),
		offsetof(struct api_guard_limits, idle_ms),
		offsetof(struct api_guard_limits, unauth_rate),
		offsetof(struct api_guard_limits, unauth_burst),
	};
	struct api_guard_limits lim;
	struct api_guard *g;
	size_t i;

	CU_ASSERT_EQUAL(sizeof(fields) / sizeof(fields[0]), sizeof(lim) / sizeof(unsigned));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		test_limits(&lim);
		*(unsigned *)(void *)((char *)&lim + fields[i]) = 0;
		g = (struct api_guard *)1;
		CU_ASSERT_EQUAL(api_guard_new(&lim, &g), SD_E_CONFIG);
		CU_ASSERT_PTR_NULL(g);
		CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_CONFIG),
		    "[api] connection limits and timeouts must not be 0");
	}
}

static void
test_new_free(void)
{
	struct api_guard_limits lim;
	struct api_guard *g = NULL;

	test_limits(&lim);
	lim.max_connections = 1;
	lim.max_per_source = 1;
	lim.unauth_rate = 1;
	lim.unauth_burst = 1;
	CU_ASSERT_EQUAL_FATAL(api_guard_new(&lim, &g), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	/* lim is copied: changing it afterwards changes nothing. */
	lim.unauth_burst = 1000;
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	api_guard_free(g);
	api_guard_free(NULL);
}

/* ---- api_guard_admit, api_guard_conn_open / close ---- */

static void
test_admit_per_source(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a, b;

	test_limits(&lim);
	lim.max_per_source = 2;
	g = test_guard(&lim);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &a, "127.0.0.2");
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &b, "127.0.0.2");
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.3"));
	/* Refusing is not shutting: both connections still run. */
	CU_ASSERT_FALSE(test_shut(&a));
	CU_ASSERT_FALSE(test_shut(&b));
	test_close(g, &a);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_close(g, &b);
	api_guard_free(g);
}

static void
test_admit_ipv6_prefix(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a, b;

	test_limits(&lim);
	lim.max_per_source = 2;
	g = test_guard(&lim);
	test_open6(g, &a, "2001:db8:1:2::1");
	test_open6(g, &b, "2001:db8:1:2:ffff:ffff:ffff:ffff");
	CU_ASSERT_FALSE(test_admit6(g, "2001:db8:1:2:abcd::7"));
	CU_ASSERT_FALSE(test_admit6(g, "2001:db8:1:2::1"));
	CU_ASSERT_TRUE(test_admit6(g, "2001:db8:1:3::1"));
	CU_ASSERT_TRUE(test_admit6(g, "2001:db8:1:1:ffff:ffff:ffff:ffff"));
	test_close(g, &b);
	CU_ASSERT_TRUE(test_admit6(g, "2001:db8:1:2:abcd::7"));
	test_close(g, &a);
	api_guard_free(g);
}

static void
test_admit_refusal_costs_no_budget(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a;
	int i;

	test_limits(&lim);
	lim.max_per_source = 1;
	lim.unauth_rate = 1;
	lim.unauth_burst = 2;
	g = test_guard(&lim);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &a, "127.0.0.2");
	for (i = 0; i < 10; i++)
		CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	test_close(g, &a);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	api_guard_free(g);
}

static void
test_open_unknown_address(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct sockaddr_in sin = test_v4("127.0.0.2");
	struct sockaddr_in6 sin6 = test_v6("2001:db8::1");
	struct sockaddr_un_like {
		sa_family_t family;
		char path[32];
	} un = { AF_UNIX, "/run/x" };
	struct test_conn t;

	test_limits(&lim);
	g = test_guard(&lim);
	CU_ASSERT_FALSE(api_guard_admit(g, NULL, 0));
	CU_ASSERT_FALSE(api_guard_admit(g, (const struct sockaddr *)&un, sizeof(un)));
	CU_ASSERT_FALSE(api_guard_admit(g, (const struct sockaddr *)&sin, sizeof(sin) - 1));
	CU_ASSERT_FALSE(api_guard_admit(g, (const struct sockaddr *)&sin6, sizeof(struct sockaddr_in)));

	/* An untracked connection would escape every deadline: it is shut down at once. */
	test_pair(&t);
	CU_ASSERT_PTR_NULL(api_guard_conn_open(g, t.fd, NULL, 0));
	CU_ASSERT_TRUE(test_shut(&t));
	test_close(g, &t);
	test_pair(&t);
	CU_ASSERT_PTR_NULL(api_guard_conn_open(g, t.fd, (const struct sockaddr *)&sin6, sizeof(sin)));
	CU_ASSERT_TRUE(test_shut(&t));
	test_close(g, &t);

	/* NULL connections are no-ops. */
	api_guard_conn_close(g, NULL);
	api_guard_handshake_done(g, NULL);
	api_guard_request_begin(g, NULL, true);
	api_guard_request_body_done(g, NULL);
	api_guard_response_queued(g, NULL);
	api_guard_request_done(g, NULL);
	api_guard_authenticated(g, NULL);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	api_guard_free(g);
}

/* ---- unauthenticated budget: api_guard_admit, api_guard_authenticated ---- */

static void
test_budget_burst_and_rate(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	uint64_t start;
	int i;

	test_limits(&lim);
	lim.unauth_rate = 2;	/* one unit every 500 ms */
	lim.unauth_burst = 3;
	g = test_guard(&lim);
	start = test_now_ms();
	for (i = 0; i < 3; i++)
		CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	/* Another source has its own budget. */
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.3"));
	test_sleep_ms(250);
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	test_sleep_ms(350);
	/* About 600 ms since the burst: one unit, not two. */
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	if (test_now_ms() - start < 900)
		CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	api_guard_free(g);
}

static void
test_budget_authenticated(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a, b;

	test_limits(&lim);
	lim.unauth_rate = 1;
	lim.unauth_burst = 2;
	g = test_guard(&lim);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &a, "127.0.0.2");
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &b, "127.0.0.2");
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));

	api_guard_authenticated(g, a.c);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	/* Once per connection: a second report gives nothing back. */
	api_guard_authenticated(g, a.c);
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	api_guard_authenticated(g, b.c);
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	/* Closing does not give the unit back either. */
	test_close(g, &a);
	test_close(g, &b);
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	api_guard_free(g);
}

static void
test_budget_capped(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[3];
	int i;

	test_limits(&lim);
	lim.unauth_rate = 1;
	lim.unauth_burst = 2;
	g = test_guard(&lim);
	/* Registered without admit (the budget is full): giving back cannot exceed the burst. */
	for (i = 0; i < 3; i++) {
		test_open4(g, &t[i], "127.0.0.2");
		api_guard_authenticated(g, t[i].c);
	}
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	for (i = 0; i < 3; i++)
		test_close(g, &t[i]);
	api_guard_free(g);
}

/* ---- global limit and eviction: api_guard_conn_open ---- */

/* Which of n connections are shut, as a bit mask. */
static unsigned
test_shut_mask(const struct test_conn *t, int n)
{
	unsigned mask = 0;
	int i;

	for (i = 0; i < n; i++)
		if (test_shut(&t[i]))
			mask |= 1u << i;
	return mask;
}

static void
test_close_all(struct api_guard *g, struct test_conn *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		test_close(g, &t[i]);
}

static void
test_busy(struct api_guard *g, struct test_conn *t)
{
	api_guard_handshake_done(g, t->c);
	api_guard_request_begin(g, t->c, false);
}

static void
test_evict_heaviest_oldest(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[6];

	test_limits(&lim);
	lim.max_connections = 4;
	g = test_guard(&lim);
	/* Opened within the same millisecond, as a flood is: age is still the order of opening. */
	test_open4(g, &t[0], "127.0.0.3");
	test_open4(g, &t[1], "127.0.0.2");
	test_open4(g, &t[2], "127.0.0.2");
	api_guard_handshake_done(g, t[2].c);	/* headers phase: still has not sent a request */
	test_open4(g, &t[3], "127.0.0.2");
	CU_ASSERT_EQUAL(test_shut_mask(t, 4), 0);
	/* Full: 127.0.0.2 holds the most, and t[1] is its oldest (t[0] is older but lighter). */
	test_open4(g, &t[4], "127.0.0.4");
	CU_ASSERT_EQUAL(test_shut_mask(t, 5), 1u << 1);
	/* 127.0.0.2 still holds two, every other source one: t[2] next. */
	test_open4(g, &t[5], "127.0.0.5");
	CU_ASSERT_EQUAL(test_shut_mask(t, 6), (1u << 1) | (1u << 2));
	test_close_all(g, t, 6);
	api_guard_free(g);
}

static void
test_evict_oldest_by_time(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[4];
	int i;

	test_limits(&lim);
	lim.max_connections = 3;
	g = test_guard(&lim);
	/* Milliseconds apart, so that age is the clock's and not the order of registration alone. */
	for (i = 0; i < 3; i++) {
		test_open4(g, &t[i], i == 1 ? "127.0.0.3" : "127.0.0.2");
		test_sleep_ms(5);
	}
	test_open4(g, &t[3], "127.0.0.4");
	CU_ASSERT_EQUAL(test_shut_mask(t, 4), 1u << 0);
	test_close_all(g, t, 4);
	api_guard_free(g);
}

static void
test_evict_newcomer_from_heaviest(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[4];

	test_limits(&lim);
	lim.max_connections = 3;
	g = test_guard(&lim);
	test_open4(g, &t[0], "127.0.0.3");
	test_open4(g, &t[1], "127.0.0.2");
	test_open4(g, &t[2], "127.0.0.2");
	/* The newcomer's own source is the heaviest: its oldest goes, not the lighter source's older one. */
	test_open4(g, &t[3], "127.0.0.2");
	CU_ASSERT_EQUAL(test_shut_mask(t, 4), 1u << 1);
	test_close_all(g, t, 4);
	api_guard_free(g);
}

static void
test_evict_never_busy(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[5];

	test_limits(&lim);
	lim.max_connections = 4;
	g = test_guard(&lim);
	test_open4(g, &t[0], "127.0.0.2");
	test_busy(g, &t[0]);
	test_open4(g, &t[1], "127.0.0.2");
	api_guard_handshake_done(g, t[1].c);
	api_guard_request_begin(g, t[1].c, true);	/* reading its body */
	test_open4(g, &t[2], "127.0.0.2");
	test_busy(g, &t[2]);
	api_guard_response_queued(g, t[2].c);		/* sending its response */
	test_open4(g, &t[3], "127.0.0.3");
	/* 127.0.0.2 holds three, all under way: the one from .3 goes instead. */
	test_open4(g, &t[4], "127.0.0.4");
	CU_ASSERT_EQUAL(test_shut_mask(t, 5), 1u << 3);
	test_close_all(g, t, 5);
	api_guard_free(g);
}

static void
test_evict_idle_unauthenticated(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[3];

	test_limits(&lim);
	lim.max_connections = 2;
	g = test_guard(&lim);
	/* Answered but never authenticated, now idle: as cheap to drop as one that sent nothing. */
	test_open4(g, &t[0], "127.0.0.2");
	test_busy(g, &t[0]);
	api_guard_request_done(g, t[0].c);
	test_open4(g, &t[1], "127.0.0.3");
	test_busy(g, &t[1]);
	test_open4(g, &t[2], "127.0.0.4");
	CU_ASSERT_EQUAL(test_shut_mask(t, 3), 1u << 0);
	test_close_all(g, t, 3);
	api_guard_free(g);
}

static void
test_evict_authenticated_idle_last(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[4];

	test_limits(&lim);
	lim.max_connections = 2;
	g = test_guard(&lim);
	/* It has sent a request and proved who it is: dropped only when nothing cheaper is left. */
	test_open4(g, &t[0], "127.0.0.2");
	test_busy(g, &t[0]);
	api_guard_authenticated(g, t[0].c);
	api_guard_request_done(g, t[0].c);
	test_open4(g, &t[1], "127.0.0.3");
	test_open4(g, &t[2], "127.0.0.4");
	CU_ASSERT_EQUAL(test_shut_mask(t, 3), 1u << 1);
	/* The newcomer t[2] is still in its handshake and goes before the authenticated one... */
	test_busy(g, &t[2]);
	/* ...but with t[2] under way, a newcomer gets in in place of the idle authenticated one. */
	test_open4(g, &t[3], "127.0.0.5");
	CU_ASSERT_EQUAL(test_shut_mask(t, 4), (1u << 1) | (1u << 0));
	test_close_all(g, t, 4);
	api_guard_free(g);
}

static void
test_evict_all_busy(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[4];

	test_limits(&lim);
	lim.max_connections = 2;
	g = test_guard(&lim);
	test_open4(g, &t[0], "127.0.0.2");
	test_busy(g, &t[0]);
	test_open4(g, &t[1], "127.0.0.2");
	test_busy(g, &t[1]);
	/* Nothing to evict: the newcomer is registered and shut down at once. */
	test_open4(g, &t[2], "127.0.0.3");
	CU_ASSERT_EQUAL(test_shut_mask(t, 3), 1u << 2);
	/* A shut connection holds no room: the next newcomer meets the same two. */
	test_open4(g, &t[3], "127.0.0.3");
	CU_ASSERT_EQUAL(test_shut_mask(t, 4), (1u << 2) | (1u << 3));
	test_close(g, &t[2]);
	test_close(g, &t[3]);
	/* One of the two finishes: room again. */
	test_close(g, &t[1]);
	test_open4(g, &t[1], "127.0.0.3");
	CU_ASSERT_FALSE(test_shut(&t[1]));
	CU_ASSERT_FALSE(test_shut(&t[0]));
	test_close(g, &t[0]);
	test_close(g, &t[1]);
	api_guard_free(g);
}

static void
test_evicted_frees_source(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t[3];

	test_limits(&lim);
	lim.max_connections = 2;
	lim.max_per_source = 2;
	g = test_guard(&lim);
	test_open4(g, &t[0], "127.0.0.2");
	test_open4(g, &t[1], "127.0.0.2");
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	test_open4(g, &t[2], "127.0.0.3");
	CU_ASSERT_EQUAL(test_shut_mask(t, 3), 1u << 0);
	/* Evicted but not yet closed by libmicrohttpd: it no longer counts against its source. */
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	test_close_all(g, t, 3);
	api_guard_free(g);
}

/* ---- deadlines: the watchdog ---- */

static struct api_guard *
test_deadline_guard(void)
{
	struct api_guard_limits lim;

	test_limits(&lim);
	lim.handshake_ms = 1000;
	lim.header_ms = 1000;
	lim.request_ms = 1000;
	lim.idle_ms = 1000;
	return test_guard(&lim);
}

/*
 * The watchdog checks every 100 ms: a deadline of d ms shows between d and
 * d + 100 ms, plus scheduling; the upper bound is generous for loaded
 * machines and sanitizers.
 */
#define TEST_EARLY_MS 20
#define TEST_LATE_MS 600

static void
test_deadline_handshake(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t, busy;
	uint64_t start;
	long at;

	test_limits(&lim);
	lim.handshake_ms = 1000;
	lim.max_per_source = 1;
	g = test_guard(&lim);
	start = test_now_ms();
	test_open4(g, &t, "127.0.0.2");
	test_open4(g, &busy, "127.0.0.3");
	test_busy(g, &busy);
	CU_ASSERT_FALSE(test_admit4(g, "127.0.0.2"));
	at = test_shut_after(&t, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at >= 1000 - TEST_EARLY_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	/* Shut down but still registered: the source may connect again. */
	CU_ASSERT_TRUE(test_admit4(g, "127.0.0.2"));
	CU_ASSERT_FALSE(test_shut(&busy));
	test_close(g, &t);
	test_close(g, &busy);
	api_guard_free(g);
}

static void
test_deadline_headers(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn t;
	uint64_t start;
	long at;

	/* Unequal deadlines, so the one that fires tells which phase the connection is in. */
	test_limits(&lim);
	lim.handshake_ms = 600;
	lim.header_ms = 1000;
	g = test_guard(&lim);
	test_open4(g, &t, "127.0.0.2");
	test_sleep_ms(300);
	start = test_now_ms();
	api_guard_handshake_done(g, t.c);
	/* Past the handshake deadline (600 ms after opening): not shut. */
	CU_ASSERT_FALSE(test_shut_within(&t, 700));
	at = test_shut_after(&t, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at >= 1000 - TEST_EARLY_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	test_close(g, &t);
	api_guard_free(g);
}

static void
test_deadline_not_extended(void)
{
	struct api_guard *g = test_deadline_guard();
	struct test_conn t;
	uint64_t start;
	long at;

	test_open4(g, &t, "127.0.0.2");
	start = test_now_ms();
	api_guard_handshake_done(g, t.c);
	test_sleep_ms(800);
	/*
	 * Activity is not progress: neither a repeated report nor authenticating
	 * moves the deadline (a reset would put it at 1800 ms).
	 */
	api_guard_handshake_done(g, t.c);
	api_guard_authenticated(g, t.c);
	at = test_shut_after(&t, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at >= 1000 - TEST_EARLY_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	test_close(g, &t);
	api_guard_free(g);
}

static void
test_deadline_busy_then_idle(void)
{
	struct api_guard *g = test_deadline_guard();
	struct test_conn t, body;
	uint64_t start;
	long at;

	test_open4(g, &t, "127.0.0.2");
	test_open4(g, &body, "127.0.0.3");
	api_guard_handshake_done(g, t.c);
	api_guard_request_begin(g, t.c, false);
	api_guard_handshake_done(g, body.c);
	api_guard_request_begin(g, body.c, true);
	api_guard_request_body_done(g, body.c);
	/* Past every deadline it has met: a request under way is bounded elsewhere. */
	CU_ASSERT_FALSE(test_shut_within(&t, 1500));
	CU_ASSERT_FALSE(test_shut(&body));
	start = test_now_ms();
	api_guard_request_done(g, t.c);
	at = test_shut_after(&t, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at >= 1000 - TEST_EARLY_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	CU_ASSERT_FALSE(test_shut(&body));
	test_close(g, &t);
	test_close(g, &body);
	api_guard_free(g);
}

static void
test_deadline_body_and_response(void)
{
	struct api_guard *g = test_deadline_guard();
	struct test_conn body, send, idle;
	uint64_t start;
	long at;

	test_open4(g, &body, "127.0.0.2");
	test_open4(g, &send, "127.0.0.3");
	test_open4(g, &idle, "127.0.0.4");
	test_sleep_ms(500);
	start = test_now_ms();
	api_guard_handshake_done(g, body.c);
	api_guard_request_begin(g, body.c, true);
	test_busy(g, &send);
	api_guard_response_queued(g, send.c);
	/* A response sent, then the next request begins (keep-alive): busy again, no deadline. */
	test_busy(g, &idle);
	api_guard_request_done(g, idle.c);
	api_guard_request_begin(g, idle.c, false);
	at = test_shut_after(&body, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at >= 1000 - TEST_EARLY_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	at = test_shut_after(&send, start, 1000 + TEST_LATE_MS);
	CU_ASSERT(at != -1 && at <= 1000 + TEST_LATE_MS);
	CU_ASSERT_FALSE(test_shut(&idle));
	test_close(g, &body);
	test_close(g, &send);
	test_close(g, &idle);
	api_guard_free(g);
}

/* ---- refusal logging: api_guard_refused, api_guard_library_log ---- */

static void
test_refused_per_source(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a, a2, b;
	int i;

	test_limits(&lim);
	g = test_guard(&lim);
	test_open4(g, &a, "127.0.0.2");
	test_open4(g, &a2, "127.0.0.2");
	test_open4(g, &b, "127.0.0.3");
	for (i = 0; i < API_GUARD_LOG_FULL; i++)
		CU_ASSERT_TRUE(api_guard_refused(g, i % 2 == 0 ? a.c : a2.c,
		    i == 0 ? API_GUARD_R_TLS : API_GUARD_R_UNAUTHENTICATED));
	/* The allowance is the source's, whatever the connection or the reason. */
	CU_ASSERT_FALSE(api_guard_refused(g, a.c, API_GUARD_R_UNAUTHENTICATED));
	CU_ASSERT_FALSE(api_guard_refused(g, a2.c, API_GUARD_R_REFUSED));
	CU_ASSERT_FALSE(api_guard_refused(g, a.c, API_GUARD_R_TLS));
	for (i = 0; i < API_GUARD_LOG_FULL; i++)
		CU_ASSERT_TRUE(api_guard_refused(g, b.c, API_GUARD_R_REFUSED));
	CU_ASSERT_FALSE(api_guard_refused(g, b.c, API_GUARD_R_REFUSED));
	/* Counted but never logged in full: there is no source to name. */
	for (i = 0; i < 5; i++)
		CU_ASSERT_FALSE(api_guard_refused(g, NULL, API_GUARD_R_TLS));
	/* Logging does not refuse: the connections still run. */
	CU_ASSERT_EQUAL(test_shut_mask(&a, 1) | test_shut_mask(&a2, 1) | test_shut_mask(&b, 1), 0);
	test_close(g, &a);
	test_close(g, &a2);
	test_close(g, &b);
	api_guard_free(g);
}

static void
test_library_log(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	int n = 0, i;

	test_limits(&lim);
	g = test_guard(&lim);
	while (n < 100 && api_guard_library_log(g))
		n++;
	CU_ASSERT(n >= 1 && n <= 16);
	for (i = 0; i < 20; i++)
		CU_ASSERT_FALSE(api_guard_library_log(g));
	api_guard_free(g);
}

/* ---- api_guard_conn_source ---- */

static void
test_source_text(void)
{
	struct api_guard_limits lim;
	struct api_guard *g;
	struct test_conn a, b, c, d;

	test_limits(&lim);
	g = test_guard(&lim);
	test_open4(g, &a, "127.0.0.2");
	test_open6(g, &b, "2001:db8:1:2:3:4:5:6");
	test_open6(g, &c, "2001:db8:abcd:12:ffff::1");
	CU_ASSERT_STRING_EQUAL(api_guard_conn_source(a.c), "127.0.0.2");
	CU_ASSERT_STRING_EQUAL(api_guard_conn_source(b.c), "2001:db8:1:2::/64");
	CU_ASSERT_STRING_EQUAL(api_guard_conn_source(c.c), "2001:db8:abcd:12::/64");
	CU_ASSERT_STRING_EQUAL(api_guard_conn_source(NULL), "-");
	/* An IPv4 client of a dual-stack socket is its IPv4 address, and the same source as over IPv4. */
	test_open6(g, &d, "::ffff:127.0.0.2");
	CU_ASSERT_STRING_EQUAL(api_guard_conn_source(d.c), "127.0.0.2");
	test_close(g, &d);
	test_close(g, &a);
	test_close(g, &b);
	test_close(g, &c);
	api_guard_free(g);
}

int
main(void)
{
	static const struct sd_test_case new_free[] = {
		{ "a zero limit is SD_E_CONFIG", test_new_zero_limit },
		{ "limits are copied; free(NULL)", test_new_free },
	};
	static const struct sd_test_case admit[] = {
		{ "max_per_source live connections", test_admit_per_source },
		{ "an IPv6 /64 is one source", test_admit_ipv6_prefix },
		{ "a refusal costs no budget", test_admit_refusal_costs_no_budget },
		{ "no address, other families, short lengths", test_open_unknown_address },
	};
	static const struct sd_test_case budget[] = {
		{ "burst, then the rate", test_budget_burst_and_rate },
		{ "authenticated gives one unit back, once", test_budget_authenticated },
		{ "never above the burst", test_budget_capped },
	};
	static const struct sd_test_case evict[] = {
		{ "the heaviest source's oldest", test_evict_heaviest_oldest },
		{ "oldest by the clock", test_evict_oldest_by_time },
		{ "the newcomer's source is the heaviest", test_evict_newcomer_from_heaviest },
		{ "never a request under way", test_evict_never_busy },
		{ "idle, never authenticated", test_evict_idle_unauthenticated },
		{ "idle, authenticated: last", test_evict_authenticated_idle_last },
		{ "all busy: the newcomer is shut", test_evict_all_busy },
		{ "evicted no longer counts for its source", test_evicted_frees_source },
	};
	static const struct sd_test_case deadline[] = {
		{ "handshake", test_deadline_handshake },
		{ "headers after the handshake", test_deadline_headers },
		{ "activity does not extend", test_deadline_not_extended },
		{ "busy has none; done means idle", test_deadline_busy_then_idle },
		{ "body and response", test_deadline_body_and_response },
	};
	static const struct sd_test_case logging[] = {
		{ "API_GUARD_LOG_FULL per source", test_refused_per_source },
		{ "libmicrohttpd messages", test_library_log },
	};
	static const struct sd_test_case source[] = {
		{ "IPv4, IPv6 /64, none", test_source_text },
	};

	SD_TEST_SUITE("api_guard_new", new_free);
	SD_TEST_SUITE("api_guard_admit", admit);
	SD_TEST_SUITE("unauthenticated budget", budget);
	SD_TEST_SUITE("eviction", evict);
	SD_TEST_SUITE("deadlines", deadline);
	SD_TEST_SUITE("api_guard_refused", logging);
	SD_TEST_SUITE("api_guard_conn_source", source);
	return sd_test_run("test_api_guard");
}
