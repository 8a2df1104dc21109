/*
 * One benchmark client connection: TCP to 127.0.0.1, TLS with the demo's
 * issuer identity (mutual TLS, the server verified against the demo's TLS
 * CA and its IP SAN), HTTP/1.1 keep-alive, one request at a time. Every
 * response is read in full and checked; a failed exchange closes the
 * connection so the next request starts on a fresh one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "bench.h"

#define BENCH_RESPONSE_MAX (256 * 1024)	/* a sign answer is a few KB */
#define BENCH_IO_TIMEOUT_S 30		/* no socket call blocks longer */
#define BENCH_SHOWN 160			/* bytes of an error body shown */

struct bench_tls {
	SSL_CTX *ctx;
};

struct bench_conn {
	struct bench_tls *tls;
	uint16_t port;
	int fd;
	SSL *ssl;
	uint64_t connects;
	struct timeval timeout;		/* each socket call */
	char *buf;			/* BENCH_RESPONSE_MAX + 1 bytes */
};

int
bench_tls_new(const struct bench_tls_files *files, struct bench_tls **out)
{
	struct bench_tls *tls = NULL;
	int rc;

	*out = NULL;
	if ((tls = calloc(1, sizeof(*tls))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((tls->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "SSL_CTX_new failed");
		goto out;
	}
	if (SSL_CTX_load_verify_locations(tls->ctx, files->ca, NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot load the server CA %s", files->ca);
		goto out;
	}
	if (files->cert != NULL && (SSL_CTX_use_certificate_chain_file(tls->ctx, files->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(tls->ctx, files->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(tls->ctx) != 1)) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot load the client identity %s / %s", files->cert, files->key);
		goto out;
	}
	SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
	*out = tls;
	tls = NULL;
	rc = 0;
out:
	ERR_clear_error();
	bench_tls_free(tls);
	return rc;
}

void
bench_tls_free(struct bench_tls *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls);
}

int
bench_conn_new(struct bench_tls *tls, uint16_t port, struct bench_conn **out)
{
	struct bench_conn *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->buf = malloc(BENCH_RESPONSE_MAX + 1)) == NULL) {
		free(c);
		return SD_E_NOMEM;
	}
	c->tls = tls;
	c->port = port;
	c->fd = -1;
	c->timeout.tv_sec = BENCH_IO_TIMEOUT_S;
	*out = c;
	return 0;
}

/* Drop the connection without a close_notify: the peer may be gone already. */
static void
bench_conn_close(struct bench_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
}

void
bench_conn_free(struct bench_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);
	bench_conn_close(c);
	free(c->buf);
	free(c);
}

void
bench_conn_set_timeout(struct bench_conn *c, double seconds)
{
	if (!(seconds >= 0.001) || seconds > BENCH_IO_TIMEOUT_S)
		seconds = BENCH_IO_TIMEOUT_S;
	c->timeout.tv_sec = (time_t)seconds;
	c->timeout.tv_usec = (suseconds_t)((seconds - (double)c->timeout.tv_sec) * 1e6);
}

uint64_t
bench_conn_connects(const struct bench_conn *c)
{
	return c->connects;
}

int
bench_http_status(const char *line)
{
	int status = 0;
	size_t i;

	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
		return 0;
	for (i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		status = status * 10 + (line[i] - '0');
	}
	return line[12] == ' ' || line[12] == '\r' ? status : 0;
}

static void
bench_ssl_reason(char *out, size_t cap)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		(void)snprintf(out, cap, "%s", errno != 0 ? strerror(errno) : "no OpenSSL reason");
	else
		ERR_error_string_n(e, out, cap);
	ERR_clear_error();
}

int
bench_conn_ensure(struct bench_conn *c)
{
	struct sockaddr_in sin;
	struct timeval tv = c->timeout;
	char why[BENCH_ERROR_TEXT];
	int one = 1, rc;

	if (c->ssl != NULL)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(c->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		rc = sd_error_set(SD_E_IO, "connect to 127.0.0.1:%u: %s", (unsigned)c->port, strerror(errno));
		goto out;
	}
	if ((c->ssl = SSL_new(c->tls->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1") != 1) {
		bench_ssl_reason(why, sizeof(why));
		rc = sd_error_set(SD_E_CRYPTO, "SSL_new: %s", why);
		goto out;
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		bench_ssl_reason(why, sizeof(why));
		rc = sd_error_set(SD_E_CRYPTO, "TLS handshake: %s", why);
		goto out;
	}
	c->connects++;
	rc = 0;
out:
	if (rc != 0)
		bench_conn_close(c);
	return rc;
}

static int
bench_fail(struct bench_reply *reply, enum bench_fail fail, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bench_fail(struct bench_reply *reply, enum bench_fail fail, int rc, const char *fmt, ...)
{
	va_list ap;

	reply->fail = fail;
	va_start(ap, fmt);
	(void)vsnprintf(reply->detail, sizeof(reply->detail), fmt, ap);
	va_end(ap);
	return rc;
}

bool
bench_http_header(const char *hdr, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name), vlen;
	const char *line, *end, *v;

	for (line = strstr(hdr, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		for (v = line + nlen + 1; *v == ' ' || *v == '\t'; v++)
			;
		if ((end = strstr(v, "\r\n")) == NULL)
			return false;
		vlen = (size_t)(end - v);
		if (vlen >= cap)
			vlen = cap - 1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return true;
	}
	return false;
}

/* Copy up to BENCH_SHOWN printable bytes of a response body for a failure detail. */
static void
bench_show(const char *body, size_t len, char out[BENCH_SHOWN + 1])
{
	size_t i;

	for (i = 0; i < len && i < BENCH_SHOWN; i++)
		out[i] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : ' ';
	out[i] = '\0';
}

/* Whether hex (the answer's serial_number) names the serial octets der (leading zero octets aside). */
static bool
bench_serial_matches(const char *hex, const unsigned char *der, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char want[2 * 64 + 1];
	size_t i, o = 0;

	while (len > 1 && der[0] == 0) {
		der++;
		len--;
	}
	if (len > 64)
		return false;
	for (i = 0; i < len; i++) {
		want[o++] = digits[der[i] >> 4];
		want[o++] = digits[der[i] & 0xf];
	}
	want[o] = '\0';
	while (hex[0] == '0' && hex[1] == '0' && hex[2] != '\0')
		hex += 2;
	return strcasecmp(hex, want) == 0;
}

/* The answer's JSON into *root. Errors: those of bench_fail() (BENCH_FAIL_BODY). */
static int
bench_body_json(const char *body, size_t len, struct bench_reply *reply, json_t **root)
{
	json_error_t jerr;
	char shown[BENCH_SHOWN + 1];

	if ((*root = json_loadb(body, len, 0, &jerr)) != NULL)
		return 0;
	bench_show(body, len, shown);
	return bench_fail(reply, BENCH_FAIL_BODY, SD_E_INVAL, "answer is not JSON (%s): %s", jerr.text, shown);
}

/*
 * The PEM certificate of the JSON string cert parses as X.509 (GnuTLS's
 * parser: about a fifth of the CPU of OpenSSL 3.0's d2i_X509(), whose key
 * decoding would otherwise be most of this client's work); with serial (a
 * hex string) non-NULL, it carries that serial.
 * Errors: those of bench_fail() (BENCH_FAIL_CERT).
 */
static int
bench_cert_check(const json_t *cert, const char *serial, struct bench_reply *reply)
{
	gnutls_x509_crt_t x = NULL;
	gnutls_datum_t pem;
	unsigned char sn[64];
	size_t sn_len = sizeof(sn);
	int rc;

	pem.data = (unsigned char *)(uintptr_t)json_string_value(cert);
	pem.size = (unsigned)json_string_length(cert);
	if (gnutls_x509_crt_init(&x) < 0)
		return bench_fail(reply, BENCH_FAIL_CERT, SD_E_NOMEM, "out of memory");
	if (gnutls_x509_crt_import(x, &pem, GNUTLS_X509_FMT_PEM) < 0 ||
	    (serial != NULL && gnutls_x509_crt_get_serial(x, sn, &sn_len) < 0))
		rc = bench_fail(reply, BENCH_FAIL_CERT, SD_E_INVAL, "the certificate does not parse");
	else if (serial != NULL && !bench_serial_matches(serial, sn, sn_len))
		rc = bench_fail(reply, BENCH_FAIL_CERT, SD_E_INVAL, "the certificate's serial is not serial_number %s",
		    serial);
	else
		rc = 0;
	gnutls_x509_crt_deinit(x);
	return rc;
}

/*
 * signerd's answer: {"certificate": PEM, "serial_number": hex, ...} whose
 * certificate parses and carries that serial.
 */
static int
bench_check_body(const char *body, size_t len, struct bench_reply *reply)
{
	json_t *root = NULL, *cert, *serial;
	int rc;

	if ((rc = bench_body_json(body, len, reply, &root)) != 0)
		return rc;
	if ((cert = json_object_get(root, "certificate")) == NULL || !json_is_string(cert) ||
	    (serial = json_object_get(root, "serial_number")) == NULL || !json_is_string(serial))
		rc = bench_fail(reply, BENCH_FAIL_BODY, SD_E_INVAL, "answer lacks certificate or serial_number");
	else
		rc = bench_cert_check(cert, json_string_value(serial), reply);
	json_decref(root);
	return rc;
}

/*
 * cfssl's answer: {"success": true, "result": {"certificate": PEM}} whose
 * certificate parses as X.509 (GnuTLS, as for signerd's answers).
 */
static int
bench_check_cfssl_body(const char *body, size_t len, struct bench_reply *reply)
{
	json_t *root = NULL, *success, *result, *cert;
	char shown[BENCH_SHOWN + 1];
	int rc;

	if ((rc = bench_body_json(body, len, reply, &root)) != 0)
		return rc;
	if ((success = json_object_get(root, "success")) == NULL || !json_is_true(success)) {
		bench_show(body, len, shown);
		rc = bench_fail(reply, BENCH_FAIL_BODY, SD_E_INVAL, "cfssl answer without \"success\": true: %s", shown);
	} else if ((result = json_object_get(root, "result")) == NULL || !json_is_object(result) ||
	    (cert = json_object_get(result, "certificate")) == NULL || !json_is_string(cert)) {
		rc = bench_fail(reply, BENCH_FAIL_BODY, SD_E_INVAL, "cfssl answer lacks result.certificate");
	} else {
		rc = bench_cert_check(cert, NULL, reply);
	}
	json_decref(root);
	return rc;
}

/* Read into c->buf until the whole response is there; *hdr_len and *body_len describe it. */
static int
bench_read_response(struct bench_conn *c, struct bench_reply *reply, size_t *hdr_len, size_t *body_len,
    bool *close_after)
{
	char value[64], why[BENCH_ERROR_TEXT], *end, *hdr_end;
	size_t have = 0, need = 0;
	unsigned long long clen;
	int n, err;

	*hdr_len = 0;
	*body_len = 0;
	*close_after = false;
	for (;;) {
		if (have >= BENCH_RESPONSE_MAX)
			return bench_fail(reply, BENCH_FAIL_HTTP, SD_E_INVAL, "response over %d bytes", BENCH_RESPONSE_MAX);
		errno = 0;
		n = SSL_read(c->ssl, c->buf + have, (int)(BENCH_RESPONSE_MAX - have));
		if (n <= 0) {
			err = SSL_get_error(c->ssl, n);
			bench_ssl_reason(why, sizeof(why));
			return bench_fail(reply, BENCH_FAIL_IO, SD_E_IO, "%s after %zu response bytes: %s",
			    err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0) ?
			    "connection closed" : "read failed", have, why);
		}
		have += (size_t)n;
		c->buf[have] = '\0';
		if (*hdr_len == 0) {
			if ((hdr_end = strstr(c->buf, "\r\n\r\n")) == NULL)
				continue;
			*hdr_len = (size_t)(hdr_end - c->buf) + 4;
			hdr_end[2] = '\0';	/* headers end with their own CRLF; restored below */
			if ((reply->status = bench_http_status(c->buf)) == 0) {
				hdr_end[2] = '\r';
				return bench_fail(reply, BENCH_FAIL_HTTP, SD_E_INVAL, "bad status line");
			}
			if (bench_http_header(c->buf, "Transfer-Encoding", value, sizeof(value))) {
				hdr_end[2] = '\r';
				return bench_fail(reply, BENCH_FAIL_HTTP, SD_E_INVAL, "Transfer-Encoding %s not expected",
				    value);
			}
			/* A 204 has no body and need not say so (RFC 9110 8.6). */
			if (!bench_http_header(c->buf, "Content-Length", value, sizeof(value)))
				(void)snprintf(value, sizeof(value), "%s", reply->status == 204 ? "0" : "");
			if (value[0] == '\0' ||
			    (errno = 0, clen = strtoull(value, &end, 10), errno != 0 || *end != '\0' ||
			    clen > BENCH_RESPONSE_MAX)) {
				hdr_end[2] = '\r';
				return bench_fail(reply, BENCH_FAIL_HTTP, SD_E_INVAL, "no usable Content-Length");
			}
			*close_after = bench_http_header(c->buf, "Connection", value, sizeof(value)) &&
			    strcasecmp(value, "close") == 0;
			hdr_end[2] = '\r';
			*body_len = (size_t)clen;
			need = *hdr_len + *body_len;
		}
		if (have > need)
			return bench_fail(reply, BENCH_FAIL_HTTP, SD_E_INVAL, "%zu bytes after the response", have - need);
		if (have == need)
			return 0;
	}
}

int
bench_conn_sign(struct bench_conn *c, const struct bench_request *req, double *latency, struct bench_reply *reply)
{
	char why[BENCH_ERROR_TEXT], shown[BENCH_SHOWN + 1];
	size_t hdr_len, body_len;
	bool close_after = false;
	double t0;
	int rc;

	*latency = 0;
	memset(reply, 0, sizeof(*reply));
	if (c->ssl == NULL || req->http_len > INT32_MAX) {
		rc = bench_fail(reply, BENCH_FAIL_CONNECT, SD_E_IO, "not connected");
		goto out;
	}
	t0 = bench_now();
	errno = 0;
	if (SSL_write(c->ssl, req->http, (int)req->http_len) != (int)req->http_len) {
		bench_ssl_reason(why, sizeof(why));
		rc = bench_fail(reply, BENCH_FAIL_IO, SD_E_IO, "write failed: %s", why);
		goto out;
	}
	if ((rc = bench_read_response(c, reply, &hdr_len, &body_len, &close_after)) != 0)
		goto out;
	*latency = bench_now() - t0;
	if (reply->status != 200) {
		bench_show(c->buf + hdr_len, body_len, shown);
		rc = bench_fail(reply, BENCH_FAIL_STATUS, SD_E_INVAL, "status %d: %s", reply->status, shown);
		goto out;
	}
	rc = req->api == BENCH_API_CFSSL ? bench_check_cfssl_body(c->buf + hdr_len, body_len, reply) :
	    bench_check_body(c->buf + hdr_len, body_len, reply);
out:
	if ((rc != 0 && reply->fail != BENCH_FAIL_STATUS && reply->fail != BENCH_FAIL_BODY &&
	    reply->fail != BENCH_FAIL_CERT) || close_after)
		bench_conn_close(c);
	return rc;
}

int
bench_conn_exchange(struct bench_conn *c, const char *req, size_t req_len, struct bench_reply *reply,
    struct bench_response *resp)
{
	char why[BENCH_ERROR_TEXT];
	size_t hdr_len, body_len;
	bool close_after = false;
	int rc;

	memset(reply, 0, sizeof(*reply));
	memset(resp, 0, sizeof(*resp));
	if (c->ssl == NULL || req_len > INT32_MAX) {
		rc = bench_fail(reply, BENCH_FAIL_CONNECT, SD_E_IO, "not connected");
		goto out;
	}
	errno = 0;
	if (SSL_write(c->ssl, req, (int)req_len) != (int)req_len) {
		bench_ssl_reason(why, sizeof(why));
		rc = bench_fail(reply, BENCH_FAIL_IO, SD_E_IO, "write failed: %s", why);
		goto out;
	}
	if ((rc = bench_read_response(c, reply, &hdr_len, &body_len, &close_after)) != 0)
		goto out;
	/* The header block ends at its last line's CRLF, as bench_http_header() wants it. */
	c->buf[hdr_len - 2] = '\0';
	resp->hdr = c->buf;
	resp->body = c->buf + hdr_len;
	resp->body_len = body_len;
	rc = 0;
out:
	if (rc != 0 || close_after)
		bench_conn_close(c);
	return rc;
}
