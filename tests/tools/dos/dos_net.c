/*
 * The attacker's sockets and TLS context, and small shared helpers. Every
 * attacker socket is bound to its own loopback address before connect():
 * that is what makes the server see many sources on one machine.
 */
#define _GNU_SOURCE	/* pthread_setaffinity_np, CPU_SET */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "dos.h"

#define DOS_SOURCE_BASE 0x7f000002u	/* 127.0.0.2 */

void
dos_source(unsigned i, struct sockaddr_in *sin)
{
	if (i >= DOS_SOURCES_MAX)
		abort();	/* options are checked against DOS_SOURCES_MAX */
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(DOS_SOURCE_BASE + i);
}

int
dos_connect(unsigned src, uint16_t port, double timeout_s, int *fd_out, bool *in_progress)
{
	struct sockaddr_in from, to;
	struct timeval tv;
	char addr[INET_ADDRSTRLEN];
	int fd = -1, one = 1, flags = SOCK_STREAM | SOCK_CLOEXEC, rc;

	*fd_out = -1;
	*in_progress = false;
	if (timeout_s <= 0)
		flags |= SOCK_NONBLOCK;
	dos_source(src, &from);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons(port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, flags, 0)) < 0) {
		rc = sd_error_set(SD_E_IO, "socket: %s", strerror(errno));
		goto out;
	}
	/* The port is picked at connect() for the whole 4-tuple, not at bind() for the address alone. */
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		rc = sd_error_set(SD_E_IO, "setsockopt: %s", strerror(errno));
		goto out;
	}
	if (timeout_s > 0) {
		tv.tv_sec = (time_t)timeout_s;
		tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
			rc = sd_error_set(SD_E_IO, "setsockopt: %s", strerror(errno));
			goto out;
		}
	}
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0) {
		if (inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr)) == NULL)
			(void)snprintf(addr, sizeof(addr), "?");
		rc = sd_error_set(SD_E_IO, "bind %s: %s", addr, strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		if (timeout_s <= 0 && errno == EINPROGRESS) {
			*in_progress = true;
		} else {
			rc = sd_error_set(SD_E_IO, "connect to 127.0.0.1:%u: %s", (unsigned)port, strerror(errno));
			goto out;
		}
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

void
dos_abort_fd(int fd)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	(void)close(fd);
}

int
dos_tls_ctx_new(SSL_CTX **out)
{
	SSL_CTX *ctx;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return sd_error_set(SD_E_CRYPTO, "SSL_CTX_new failed");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	*out = ctx;
	return 0;
}

void
dos_sleep(double seconds, struct dos_ctl *ctl)
{
	double end = bench_now() + seconds, left;
	struct timespec ts;

	while ((ctl == NULL || !atomic_load(&ctl->stop)) && (left = end - bench_now()) > 0) {
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		(void)nanosleep(&ts, NULL);
	}
}

double
dos_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool
dos_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return true;
	if (rl.rlim_cur == RLIM_INFINITY)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return false;
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

void
dos_line_add(struct dos_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(l->buf) - l->len) {
		l->truncated = true;
		l->buf[l->len] = '\0';
		return;
	}
	l->len += (size_t)n;
}

int
dos_pin(int cpu)
{
	cpu_set_t set;
	size_t i;
	int rc;

	CPU_ZERO(&set);
	if (cpu >= 0) {
		if (cpu >= CPU_SETSIZE)
			return sd_error_set(SD_E_IO, "CPU %d out of range", cpu);
		CPU_SET((size_t)cpu, &set);	/* 0 <= cpu < CPU_SETSIZE */
	} else {
		for (i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	if ((rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) != 0)
		return sd_error_set(SD_E_IO, "cannot run on CPU %d: %s", cpu, strerror(rc));
	return 0;
}
