/*
 * Unit tests of the ACME challenge validators against real servers: each
 * test starts one server thread on an ephemeral 127.0.0.1 port that answers
 * one connection the way its mode says (an http-01 responder or a GnuTLS
 * tls-alpn-01 responder with a certificate made here), and the validator
 * reaches it through the host map as "acme.test". dns-01 asks a small DNS
 * responder (tests/lib/dns_fixture.h) on 127.0.0.1 or ::1, over UDP and,
 * when it truncates, TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>

#include "acme_validate.h"
#include "dns_fixture.h"
#include "sd_error.h"
#include "sd_test.h"

#define TEST_NAME "acme.test"
#define TEST_TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define TEST_KEYAUTH TEST_TOKEN ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
#define TEST_OID "1.3.6.1.5.5.7.1.31"
/* base64url(SHA-256(TEST_KEYAUTH)), unpadded: RFC 8555 8.4, computed with Python's hashlib. */
#define TEST_DNS_DIGEST "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM"
#define TEST_DNS_TIMEOUT_MS 600

static const struct acme_validate_host test_hosts[] = {
	{ TEST_NAME, "127.0.0.1" },
};

enum test_mode {
	HTTP_GOOD,
	HTTP_CRLF,
	HTTP_WRONG,
	HTTP_404,
	HTTP_302,
	HTTP_HUGE,
	HTTP_HUGE_CLOSE,
	HTTP_LONG_WRONG,
	HTTP_BAD_LENGTH,
	HTTP_CHUNKED,
	HTTP_SILENT,
	TLS_GOOD,
	TLS_WRONG_DIGEST,
	TLS_NOT_CRITICAL,
	TLS_TWO_SANS,
	TLS_OTHER_NAME,
	TLS_NO_ALPN,
};

struct test_server {
	int lfd;
	uint16_t port;
	enum test_mode mode;
	pthread_t thread;
	char request[2048]; /* what the validator sent (http-01) */
};

static uint64_t
test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
test_options(struct acme_validate_options *o, const struct test_server *srv)
{
	memset(o, 0, sizeof(*o));
	o->http_port = srv != NULL ? srv->port : 80;
	o->tls_port = srv != NULL ? srv->port : 443;
	o->hosts = test_hosts;
	o->n_hosts = 1;
	o->timeout_ms = 5000;
}

/* A listening socket on 127.0.0.1 with an ephemeral port. */
static int
test_listen(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(listen(fd, 4) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Accept one connection, giving up after 10 s so that a failed test cannot hang the program. */
static int
test_accept(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, 10000) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

static void
test_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Wait (at most 5 s) for the peer to close. */
static void
test_drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];
	uint64_t end = test_now_ms() + 5000;

	while (test_now_ms() < end && poll(&pfd, 1, 100) >= 0) {
		if ((pfd.revents & (POLLIN | POLLHUP)) != 0 && recv(fd, buf, sizeof(buf), 0) <= 0)
			return;
	}
}

static void *
test_http_main(void *arg)
{
	struct test_server *srv = arg;
	char resp[20000];
	size_t len = 0;
	int fd = test_accept(srv->lfd);

	if (fd == -1)
		return NULL;
	/* Read the request up to its blank line. */
	while (len < sizeof(srv->request) - 1 && strstr(srv->request, "\r\n\r\n") == NULL) {
		ssize_t n = recv(fd, srv->request + len, sizeof(srv->request) - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		srv->request[len] = '\0';
	}
	resp[0] = '\0';
	switch (srv->mode) {
	case HTTP_GOOD:
		(void)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		    strlen(TEST_KEYAUTH), TEST_KEYAUTH);
		break;
	case HTTP_CRLF:
		/* No Content-Length: the body runs to the close. */
		(void)snprintf(resp, sizeof(resp), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s\r\n",
		    TEST_KEYAUTH);
		break;
	case HTTP_WRONG:
		(void)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nnot\x01it\"\\abc");
		break;
	case HTTP_404: (void)snprintf(resp, sizeof(resp), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"); break;
	case HTTP_302:
		(void)snprintf(resp, sizeof(resp),
		    "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.test/\r\nContent-Length: 0\r\n\r\n");
		break;
	case HTTP_HUGE:
		len = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 16384\r\n\r\n");
		memset(resp + len, 'a', 16384);
		resp[len + 16384] = '\0';
		break;
	case HTTP_HUGE_CLOSE:
		/* No Content-Length: only the 8 KiB cap stops the read. */
		len = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n\r\n");
		memset(resp + len, 'a', 16384);
		resp[len + 16384] = '\0';
		break;
	case HTTP_LONG_WRONG:
		len = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
		memset(resp + len, 'b', 1000);
		resp[len + 1000] = '\0';
		break;
	case HTTP_BAD_LENGTH:
		(void)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n%s", TEST_KEYAUTH);
		break;
	case HTTP_CHUNKED:
		(void)snprintf(resp, sizeof(resp),
		    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx;ext=1\r\n%s\r\n0\r\n\r\n",
		    (size_t)10, 10, TEST_KEYAUTH, strlen(TEST_KEYAUTH) - 10, TEST_KEYAUTH + 10);
		break;
	default: break;
	}
	if (srv->mode == HTTP_SILENT)
		test_drain(fd);
	else
		test_write_all(fd, resp, strlen(resp));
	/* The huge answer: let the client see it all (or give up) before the close. */
	if (srv->mode == HTTP_HUGE || srv->mode == HTTP_HUGE_CLOSE)
		test_drain(fd);
	close(fd);
	return NULL;
}

/* TLS server credentials: a P-256 key and a self-signed certificate shaped by mode. */
static gnutls_certificate_credentials_t
test_tls_cred(enum test_mode mode)
{
	gnutls_certificate_credentials_t cred;
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	unsigned char ext[34];
	const char *err = NULL;
	const char *san = mode == TLS_OTHER_NAME ? "other.test" : TEST_NAME;
	time_t now = time(NULL);
	unsigned char serial[1] = { 1 };

	ext[0] = 0x04;
	ext[1] = 0x20;
	CU_ASSERT_FATAL(gnutls_hash_fast(GNUTLS_DIG_SHA256, TEST_KEYAUTH, strlen(TEST_KEYAUTH), ext + 2) == 0);
	if (mode == TLS_WRONG_DIGEST)
		ext[10] ^= 1;
	CU_ASSERT_FATAL(gnutls_x509_privkey_init(&key) == 0);
	CU_ASSERT_FATAL(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	                    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_init(&crt) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_version(crt, 3) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_activation_time(crt, now - 3600) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_expiration_time(crt, now + 3600) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_dn(crt, "CN=acme-tls-alpn", &err) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_key(crt, key) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, san, (unsigned)strlen(san),
	                    GNUTLS_FSAN_APPEND) == 0);
	if (mode == TLS_TWO_SANS)
		CU_ASSERT_FATAL(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "second.test", 11,
		                    GNUTLS_FSAN_APPEND) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_set_extension_by_oid(crt, TEST_OID, ext, sizeof(ext),
	                    mode == TLS_NOT_CRITICAL ? 0 : 1) == 0);
	CU_ASSERT_FATAL(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) == 0);
	CU_ASSERT_FATAL(gnutls_certificate_allocate_credentials(&cred) == 0);
	CU_ASSERT_FATAL(gnutls_certificate_set_x509_key(cred, &crt, 1, key) == 0);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return cred;
}

static void *
test_tls_main(void *arg)
{
	struct test_server *srv = arg;
	gnutls_certificate_credentials_t cred = test_tls_cred(srv->mode);
	gnutls_datum_t proto = { (unsigned char *)"acme-tls/1", 10 };
	gnutls_session_t s;
	int fd = test_accept(srv->lfd), r;

	if (fd == -1 || gnutls_init(&s, GNUTLS_SERVER) != 0) {
		if (fd != -1)
			close(fd);
		gnutls_certificate_free_credentials(cred);
		return NULL;
	}
	(void)gnutls_set_default_priority(s);
	(void)gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (srv->mode != TLS_NO_ALPN)
		(void)gnutls_alpn_set_protocols(s, &proto, 1, 0);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 5000);
	do
		r = gnutls_handshake(s);
	while (r < 0 && gnutls_error_is_fatal(r) == 0);
	if (r == 0)
		(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	test_drain(fd);
	gnutls_deinit(s);
	close(fd);
	gnutls_certificate_free_credentials(cred);
	return NULL;
}

static void
test_server_start(struct test_server *srv, enum test_mode mode)
{
	memset(srv, 0, sizeof(*srv));
	srv->mode = mode;
	srv->lfd = test_listen(&srv->port);
	CU_ASSERT_FATAL(
	    pthread_create(&srv->thread, NULL, mode >= TLS_GOOD ? test_tls_main : test_http_main, srv) == 0);
}

static void
test_server_stop(struct test_server *srv)
{
	CU_ASSERT(pthread_join(srv->thread, NULL) == 0);
	close(srv->lfd);
}

/* Run http-01 against a fresh server in mode; returns the validator's result. */
static int
test_http(enum test_mode mode, struct acme_validate_error *err, struct test_server *srv)
{
	struct acme_validate_options o;
	int rc;

	test_server_start(srv, mode);
	test_options(&o, srv);
	rc = acme_validate_http01(TEST_NAME, TEST_TOKEN, TEST_KEYAUTH, &o, err);
	test_server_stop(srv);
	return rc;
}

static void
test_http_good(void)
{
	struct acme_validate_error err;
	struct test_server srv;
	char want[256];

	CU_ASSERT_EQUAL(test_http(HTTP_GOOD, &err, &srv), 0);
	(void)snprintf(want, sizeof(want),
	    "GET /.well-known/acme-challenge/" TEST_TOKEN " HTTP/1.1\r\nHost: " TEST_NAME ":%u\r\n"
	    "User-Agent: signerd-acme\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	    (unsigned)srv.port);
	CU_ASSERT_STRING_EQUAL(srv.request, want);
}

static void
test_http_crlf(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_CRLF, &err, &srv), 0);
}

static void
test_http_chunked(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_CHUNKED, &err, &srv), 0);
}

static void
test_http_wrong(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_WRONG, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "\"not\\x01it\\x22\\x5cabc\"")); /* escaped, whole */
}

static void
test_http_404(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_404, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "404"));
}

static void
test_http_302(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_302, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "redirect not followed"));
}

static void
test_http_huge(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_HUGE, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "8192"));
}

static void
test_http_huge_close(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_HUGE_CLOSE, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_STRING_EQUAL(err.detail, "answer exceeds 8192 bytes");
}

static void
test_http_long_wrong(void)
{
	struct acme_validate_error err;
	struct test_server srv;
	char want[128];

	/* The detail shows 64 bytes of the body and says there was more. */
	memset(want, 'b', 64);
	(void)snprintf(want + 64, sizeof(want) - 64, "...\" is");
	CU_ASSERT_EQUAL(test_http(HTTP_LONG_WRONG, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, want));
	CU_ASSERT(strlen(err.detail) < 120);
}

static void
test_http_bad_length(void)
{
	struct acme_validate_error err;
	struct test_server srv;

	CU_ASSERT_EQUAL(test_http(HTTP_BAD_LENGTH, &err, &srv), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_STRING_EQUAL(err.detail, "malformed Content-Length");
}

static void
test_http_timeout(void)
{
	struct acme_validate_options o;
	struct acme_validate_error err;
	struct test_server srv;
	uint64_t start;

	test_server_start(&srv, HTTP_SILENT);
	test_options(&o, &srv);
	o.timeout_ms = 500;
	start = test_now_ms();
	CU_ASSERT_EQUAL(acme_validate_http01(TEST_NAME, TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT(test_now_ms() - start >= 450);
	CU_ASSERT(test_now_ms() - start < 2000);
	test_server_stop(&srv);
	CU_ASSERT_STRING_EQUAL(err.type, "connection");
}

static void
test_http_refused(void)
{
	struct acme_validate_options o;
	struct acme_validate_error err;
	uint16_t port;
	int fd = test_listen(&port);

	/* The port was ours a moment ago and nobody listens on it now. */
	close(fd);
	test_options(&o, NULL);
	o.http_port = port;
	CU_ASSERT_EQUAL(acme_validate_http01(TEST_NAME, TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "connection");
}

static void
test_http_malformed(void)
{
	struct acme_validate_options o;
	struct acme_validate_error err;
	char long_token[80], long_name[300];

	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	test_options(&o, NULL);
	CU_ASSERT_EQUAL(acme_validate_http01(TEST_NAME, "a/../b", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_http01(TEST_NAME, "", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_http01(TEST_NAME, long_token, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_http01("acme.test\r\nX: y", TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_http01(long_name, TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_http01("", TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_tls_alpn01("ACME_test", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
}

static void
test_dns_unknown(void)
{
	struct acme_validate_options o;
	struct acme_validate_error err;

	test_options(&o, NULL);
	CU_ASSERT_EQUAL(acme_validate_http01("no-such-host.invalid", TEST_TOKEN, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_EQUAL(acme_validate_tls_alpn01("no-such-host.invalid", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
}

/* Run tls-alpn-01 against a fresh server in mode. */
static int
test_tls(enum test_mode mode, struct acme_validate_error *err)
{
	struct acme_validate_options o;
	struct test_server srv;
	int rc;

	test_server_start(&srv, mode);
	test_options(&o, &srv);
	rc = acme_validate_tls_alpn01(TEST_NAME, TEST_KEYAUTH, &o, err);
	test_server_stop(&srv);
	return rc;
}

static void
test_tls_good(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_GOOD, &err), 0);
}

static void
test_tls_wrong_digest(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_WRONG_DIGEST, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "SHA-256"));
}

static void
test_tls_not_critical(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_NOT_CRITICAL, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "not critical"));
}

static void
test_tls_two_sans(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_TWO_SANS, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "2 subjectAltNames"));
}

static void
test_tls_other_name(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_OTHER_NAME, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "is not " TEST_NAME));
}

static void
test_tls_no_alpn(void)
{
	struct acme_validate_error err;

	CU_ASSERT_EQUAL(test_tls(TLS_NO_ALPN, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "tls");
}

/* --- dns-01 --- */

static struct dns_fixture dns;

/* Answer with the records of dns (set by the caller), ask over family; the validator's result. */
static int
test_dns01(int family, struct acme_validate_error *err)
{
	struct acme_validate_options o;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(err, 0, sizeof(*err));
	CU_ASSERT_EQUAL_FATAL(dns_fixture_start(&dns, family), 0);
	o.resolver = family == AF_INET6 ? "::1" : "127.0.0.1";
	o.resolver_port = dns_fixture_port(&dns);
	o.timeout_ms = TEST_DNS_TIMEOUT_MS;
	rc = acme_validate_dns01(TEST_NAME, TEST_KEYAUTH, &o, err);
	dns_fixture_stop(&dns);
	/* A success leaves no type: make a test that expected a failure fail rather than crash in strcmp(). */
	if (err->type == NULL)
		err->type = "(none)";
	if (rc != 0)
		printf("\n  dns-01: %s: %s\n", err->type != NULL ? err->type : "?", err->detail);
	return rc;
}

static void
test_dns_reset(void)
{
	memset(&dns, 0, sizeof(dns));
	dns.fd = -1;
}

static void
test_dns01_good(void)
{
	struct acme_validate_error err;

	test_dns_reset();
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	CU_ASSERT_STRING_EQUAL(dns.qname, "_acme-challenge." TEST_NAME);
	CU_ASSERT_EQUAL(dns.qtype, 16);
	CU_ASSERT_EQUAL(atomic_load(&dns.queries), 1);
}

static void
test_dns01_wrong(void)
{
	struct acme_validate_error err;

	test_dns_reset();
	dns.txt[0][0] = "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYN";
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "1 TXT record at _acme-challenge." TEST_NAME));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "\"lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYN\""));
	/* The padded form is not the value either. */
	test_dns_reset();
	dns.txt[0][0] = TEST_DNS_DIGEST "=";
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
}

static void
test_dns01_several(void)
{
	struct acme_validate_error err;

	/* Three records (one split in two character-strings, as long values are): one is right. */
	test_dns_reset();
	dns.txt[0][0] = "stale-value-of-an-earlier-order";
	dns.txt[1][0] = "lCM7cZyQXcVHK2nnW3jjA";
	dns.txt[1][1] = "hNT3Fvm18UN-kWZZknKoYM";
	dns.txt[2][0] = "v=spf1 -all";
	dns.n_txt = 3;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	/* The halves as two records are not the value. */
	test_dns_reset();
	dns.txt[0][0] = "lCM7cZyQXcVHK2nnW3jjA";
	dns.txt[1][0] = "hNT3Fvm18UN-kWZZknKoYM";
	dns.n_txt = 2;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "2 TXT records at _acme-challenge." TEST_NAME));
}

static void
test_dns01_nxdomain(void)
{
	struct acme_validate_error err;

	test_dns_reset();
	dns.rcode = 3;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "answered NXDOMAIN for _acme-challenge." TEST_NAME));
	test_dns_reset();
	dns.rcode = 2;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "answered SERVFAIL for _acme-challenge." TEST_NAME));
	/* NOERROR without records. */
	test_dns_reset();
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_STRING_EQUAL(err.detail, "no TXT record at _acme-challenge." TEST_NAME);
}

static void
test_dns01_silent(void)
{
	struct acme_validate_error err;
	uint64_t t0 = test_now_ms(), took;

	test_dns_reset();
	dns.silent = true;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	took = test_now_ms() - t0;
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "no answer for _acme-challenge." TEST_NAME " from 127.0.0.1 port"));
	/* One query, and not much past the deadline (ldns would otherwise retry and pause). */
	CU_ASSERT_EQUAL(atomic_load(&dns.queries), 1);
	CU_ASSERT(took >= TEST_DNS_TIMEOUT_MS - 50 && took < TEST_DNS_TIMEOUT_MS + 400);
}

static void
test_dns01_ipv6(void)
{
	struct acme_validate_error err;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (fd == -1 || bind(fd, (struct sockaddr *)&s6, sizeof(s6)) != 0) {
		printf("\n  SKIPPED: ::1 is not available on this machine\n");
		if (fd != -1)
			(void)close(fd);
		return;
	}
	(void)close(fd);
	test_dns_reset();
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET6, &err), 0);
	CU_ASSERT_STRING_EQUAL(dns.qname, "_acme-challenge." TEST_NAME);
}

static void
test_dns01_refusals(void)
{
	struct acme_validate_options o;
	struct acme_validate_error err;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = TEST_DNS_TIMEOUT_MS;
	/* No resolver configured: nothing is asked. */
	CU_ASSERT_EQUAL(acme_validate_dns01(TEST_NAME, TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "serverInternal");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "[acme] resolver"));
	o.resolver = "127.0.0.1";
	o.resolver_port = 9;
	CU_ASSERT_EQUAL(acme_validate_dns01("*.acme.test", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_dns01("Acme.test", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_dns01(TEST_NAME, "", &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
	CU_ASSERT_EQUAL(acme_validate_dns01("a..acme.test", TEST_KEYAUTH, &o, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "malformed");
}

/* A name that only a CNAME leads to, where a delegated _acme-challenge usually points. */
#define TEST_DNS_TARGET "acme-test.challenges.dns.test"
#define TEST_DNS_CNAMES_MAX 8	/* AV_DNS_CNAMES_MAX: CNAMEs the validator follows in one answer */

static void
test_dns01_truncated(void)
{
	struct acme_validate_error err;

	/* TC over UDP with no records: asked again over TCP, whose answer is the one judged. */
	test_dns_reset();
	dns.tcp = true;
	dns.truncate_udp = true;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	CU_ASSERT_EQUAL(atomic_load(&dns.queries), 1);
	CU_ASSERT_EQUAL(atomic_load(&dns.tcp_queries), 1);
	CU_ASSERT_STRING_EQUAL(dns.qname, "_acme-challenge." TEST_NAME);
	CU_ASSERT_EQUAL(dns.qtype, 16);
	test_dns_reset();
	dns.tcp = true;
	dns.truncate_udp = true;
	dns.txt[0][0] = "stale-value-of-an-earlier-order";
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "\"stale-value-of-an-earlier-order\""));
	CU_ASSERT_EQUAL(atomic_load(&dns.tcp_queries), 1);
	/* The TCP server closes without an answer: dns, and it says so. */
	test_dns_reset();
	dns.tcp = true;
	dns.tcp_hangup = true;
	dns.truncate_udp = true;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "for _acme-challenge." TEST_NAME " over TCP: "));
	CU_ASSERT_EQUAL(atomic_load(&dns.tcp_queries), 1);
	/* A whole UDP answer is not asked again. */
	test_dns_reset();
	dns.tcp = true;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	CU_ASSERT_EQUAL(atomic_load(&dns.queries), 1);
	CU_ASSERT_EQUAL(atomic_load(&dns.tcp_queries), 0);
}

static void
test_dns01_cname(void)
{
	struct acme_validate_error err;

	/* One CNAME, the target's TXT record in the same answer, as a recursive resolver sends them. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, TEST_DNS_TARGET };
	dns.n_cname = 1;
	dns.txt_owner = TEST_DNS_TARGET;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	CU_ASSERT_STRING_EQUAL(dns.qname, "_acme-challenge." TEST_NAME);
	CU_ASSERT_EQUAL(atomic_load(&dns.queries), 1);
	/* Two, answered out of order: the chain is followed by owner, not by position. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ "hop.dns.test", TEST_DNS_TARGET };
	dns.cname[1] = (struct dns_fixture_cname){ NULL, "hop.dns.test" };
	dns.n_cname = 2;
	dns.txt_owner = TEST_DNS_TARGET;
	dns.txt[0][0] = "v=spf1 -all";
	dns.txt[1][0] = TEST_DNS_DIGEST;
	dns.n_txt = 2;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
}

static void
test_dns01_cname_refused(void)
{
	struct acme_validate_error err;

	/* The target's TXT record is wrong. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, TEST_DNS_TARGET };
	dns.n_cname = 1;
	dns.txt_owner = TEST_DNS_TARGET;
	dns.txt[0][0] = "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYN";
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "incorrectResponse");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "1 TXT record at _acme-challenge." TEST_NAME));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "\"lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYN\""));
	/* The target has no TXT record in the answer. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, TEST_DNS_TARGET };
	dns.n_cname = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_STRING_EQUAL(err.detail, "no TXT record at _acme-challenge." TEST_NAME);
	/* The right value, but at a name off the chain: not the target's. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, TEST_DNS_TARGET };
	dns.n_cname = 1;
	dns.txt_owner = "elsewhere.dns.test";
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	/* Nor at the question's name, which has a CNAME and so no other data (RFC 1034 3.6.2). */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, TEST_DNS_TARGET };
	dns.n_cname = 1;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
}

/* A chain of n CNAMEs from the question's name through c1.dns.test ... to cN.dns.test, the digest at its end. */
static void
test_dns_chain(size_t n, char names[][32])
{
	size_t i;

	test_dns_reset();
	for (i = 0; i < n; i++) {
		(void)snprintf(names[i], 32, "c%zu.dns.test", i + 1);
		dns.cname[i] = (struct dns_fixture_cname){ i == 0 ? NULL : names[i - 1], names[i] };
	}
	dns.n_cname = n;
	dns.txt_owner = names[n - 1];
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
}

static void
test_dns01_cname_bound(void)
{
	struct acme_validate_error err;
	char names[TEST_DNS_CNAMES_MAX + 1][32];

	test_dns_chain(TEST_DNS_CNAMES_MAX, names);
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), 0);
	/* One more: the chain is still going at the bound, so it has no end to look at. */
	test_dns_chain(TEST_DNS_CNAMES_MAX + 1, names);
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_STRING_EQUAL(err.detail, "the CNAME chain from _acme-challenge." TEST_NAME " is longer than 8 names or a loop");
}

static void
test_dns01_cname_loop(void)
{
	struct acme_validate_error err;
	uint64_t t0;

	/*
	 * Two names pointing at each other: the bound ends the walk, long
	 * before the deadline. Were it gone, the walk would never end: SIGALRM
	 * ends the program instead, so that make check fails rather than hangs.
	 */
	(void)alarm(10);
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, "loop.dns.test" };
	dns.cname[1] = (struct dns_fixture_cname){ "loop.dns.test", "_acme-challenge." TEST_NAME };
	dns.n_cname = 2;
	t0 = test_now_ms();
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT(test_now_ms() - t0 < TEST_DNS_TIMEOUT_MS);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	CU_ASSERT_STRING_EQUAL(err.detail, "the CNAME chain from _acme-challenge." TEST_NAME " is longer than 8 names or a loop");
	/* The same loop carrying the right value at the name asked: a broken answer, refused all the same. */
	dns.txt_owner = "_acme-challenge." TEST_NAME;
	dns.txt[0][0] = TEST_DNS_DIGEST;
	dns.n_txt = 1;
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(err.detail, "the CNAME chain from _acme-challenge." TEST_NAME " is longer than 8 names or a loop");
	/* A name that is its own CNAME. */
	test_dns_reset();
	dns.cname[0] = (struct dns_fixture_cname){ NULL, "_acme-challenge." TEST_NAME };
	dns.n_cname = 1;
	t0 = test_now_ms();
	CU_ASSERT_EQUAL(test_dns01(AF_INET, &err), SD_E_INVAL);
	CU_ASSERT(test_now_ms() - t0 < TEST_DNS_TIMEOUT_MS);
	CU_ASSERT_STRING_EQUAL(err.type, "dns");
	(void)alarm(0);
}

int
main(void)
{
	static const struct sd_test_case http[] = {
		{ "the key authorization; the request sent", test_http_good },
		{ "trailing CRLF, body to the close", test_http_crlf },
		{ "chunked body", test_http_chunked },
		{ "wrong body: incorrectResponse, escaped", test_http_wrong },
		{ "404: incorrectResponse", test_http_404 },
		{ "302: not followed", test_http_302 },
		{ "16 KiB Content-Length: refused", test_http_huge },
		{ "16 KiB to the close: refused at 8 KiB", test_http_huge_close },
		{ "long wrong body: 64 bytes shown", test_http_long_wrong },
		{ "malformed Content-Length", test_http_bad_length },
		{ "silent server: connection within the deadline", test_http_timeout },
		{ "closed port: connection", test_http_refused },
	};
	static const struct sd_test_case input[] = {
		{ "token and name: malformed", test_http_malformed },
		{ "unmapped, unresolvable name: dns", test_dns_unknown },
	};
	static const struct sd_test_case tls[] = {
		{ "the acmeIdentifier certificate", test_tls_good },
		{ "wrong digest", test_tls_wrong_digest },
		{ "extension not critical", test_tls_not_critical },
		{ "two subjectAltNames", test_tls_two_sans },
		{ "another name", test_tls_other_name },
		{ "no ALPN: tls", test_tls_no_alpn },
	};

	SD_TEST_SUITE("acme_validate_http01", http);
	SD_TEST_SUITE("identifier checks", input);
	static const struct sd_test_case dns01[] = {
		{ "the digest: valid; the name asked", test_dns01_good },
		{ "a wrong value: incorrectResponse", test_dns01_wrong },
		{ "several records, one right; split strings", test_dns01_several },
		{ "NXDOMAIN, SERVFAIL, no record: dns", test_dns01_nxdomain },
		{ "silent server: dns within the deadline", test_dns01_silent },
		{ "IPv6 resolver [::1]", test_dns01_ipv6 },
		{ "no resolver; malformed name or key authorization", test_dns01_refusals },
		{ "truncated over UDP: asked over TCP, its answer judged", test_dns01_truncated },
		{ "a CNAME, a chain of two: the target's TXT records", test_dns01_cname },
		{ "CNAME: a wrong target TXT, none, one off the chain", test_dns01_cname_refused },
		{ "eight CNAMEs followed, a ninth not", test_dns01_cname_bound },
		{ "CNAME loops: dns, without waiting", test_dns01_cname_loop },
	};

	SD_TEST_SUITE("acme_validate_tls_alpn01", tls);
	SD_TEST_SUITE("acme_validate_dns01", dns01);
	return sd_test_run("test_acme_validate");
}
