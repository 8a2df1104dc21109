/*
 * ACME challenge validation: http-01 (RFC 8555 8.3) and tls-alpn-01 (RFC
 * 8737), and the helpers every validator shares (acme_validate_internal.h);
 * dns-01 is in acme_validate_dns.c.
 *
 * Everything an ACME client controls is bounded here: the answer is read
 * into a fixed 8 KiB buffer, the whole validation shares one deadline on
 * CLOCK_MONOTONIC, and sockets are non-blocking so that neither a slow
 * connect nor a silent server can hold the front past it.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>

#include "acme_validate.h"
#include "acme_validate_internal.h"
#include "sd_error.h"

#define AV_HTTP_MAX 8192 /* the whole http-01 answer, headers and body */
#define AV_TOKEN_MAX 64
#define AV_ALPN "acme-tls/1"
#define AV_OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31"

/* The parser's verdicts besides an error code. */
#define AV_HTTP_MORE 1

uint64_t
av_now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, as poll() wants them (0 once passed). */
int
av_left_ms(uint64_t deadline)
{
	uint64_t now = av_now_ms();

	if (now >= deadline)
		return 0;
	if (deadline - now > INT_MAX)
		return INT_MAX;
	return (int)(deadline - now);
}

/*
 * Fill *err and return SD_E_INVAL. A detail longer than the buffer is cut:
 * harmless, it is a human hint and every caller's fixed part comes first.
 */
int
av_fail(struct acme_validate_error *err, const char *type, const char *fmt, ...)
{
	va_list ap;

	err->type = type;
	va_start(ap, fmt);
	(void)vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return sd_error_set(SD_E_INVAL, "%s: %s", type, err->detail);
}

/* An internal failure (not the client's doing): code is SD_E_NOMEM or SD_E_CRYPTO. */
int
av_internal(struct acme_validate_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->type = "serverInternal";
	va_start(ap, fmt);
	(void)vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return sd_error_set(code, "%s", err->detail);
}

/* Escape at most AV_SHOW_MAX bytes of untrusted data for a detail. */
void
av_escape(const unsigned char *p, size_t n, char out[AV_SHOW_ESCAPED])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n && i < AV_SHOW_MAX; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"') {
			out[o++] = (char)p[i];
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	if (n > AV_SHOW_MAX) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = '\0';
}

int
av_check_name(const char *name, struct acme_validate_error *err)
{
	size_t i, n = strnlen(name, ACME_VALIDATE_NAME_MAX + 1);

	if (n == 0 || n > ACME_VALIDATE_NAME_MAX)
		return av_fail(err, "malformed", "identifier length must be 1..%d", ACME_VALIDATE_NAME_MAX);
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return av_fail(err, "malformed", "identifier has a character outside [a-z0-9.-] at %zu", i);
	}
	return 0;
}

SD_WUR static int
av_check_token(const char *token, struct acme_validate_error *err)
{
	size_t i, n = strnlen(token, AV_TOKEN_MAX + 1);

	if (n == 0 || n > AV_TOKEN_MAX)
		return av_fail(err, "malformed", "token length must be 1..%d", AV_TOKEN_MAX);
	for (i = 0; i < n; i++) {
		char c = token[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		        c == '_'))
			return av_fail(err, "malformed", "token is not base64url (character %zu)", i);
	}
	return 0;
}

int
av_check_keyauth(const char *ka, struct acme_validate_error *err)
{
	size_t n = strnlen(ka, ACME_VALIDATE_KEYAUTH_MAX + 1);

	if (n == 0 || n > ACME_VALIDATE_KEYAUTH_MAX)
		return av_fail(err, "malformed", "key authorization length must be 1..%d", ACME_VALIDATE_KEYAUTH_MAX);
	return 0;
}

/*
 * Connect to name:port before deadline; *fdp is a connected non-blocking
 * socket on success. The host map wins over DNS so that tests and closed
 * networks never leak a lookup. getaddrinfo() itself is not bounded by the
 * deadline (glibc's resolver has its own timeouts, resolv.conf).
 */
SD_WUR static int
av_connect(const char *name, uint16_t port, const struct acme_validate_options *o, uint64_t deadline,
    struct acme_validate_error *err, int *fdp)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *node = name;
	char service[8];
	int fd = -1, gai, rc, last = 0;
	bool timed_out = false;
	size_t i;

	*fdp = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	for (i = 0; o->hosts != NULL && i < o->n_hosts; i++) {
		if (o->hosts[i].name != NULL && strcasecmp(o->hosts[i].name, name) == 0) {
			node = o->hosts[i].address;
			hints.ai_flags |= AI_NUMERICHOST;
			break;
		}
	}
	(void)snprintf(service, sizeof(service), "%u", (unsigned)port);
	gai = getaddrinfo(node, service, &hints, &res);
	if (gai != 0) {
		rc = av_fail(err, "dns", "cannot resolve %s: %s", name, gai_strerror(gai));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(last);
		int n;

		if (av_left_ms(deadline) == 0) {
			timed_out = true;
			break;
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last = errno;
		if (last == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				n = poll(&pfd, 1, av_left_ms(deadline));
			while (n == -1 && errno == EINTR);
			if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &len) == 0 && last == 0)
				break;
			if (n == 0) {
				timed_out = true;
				last = ETIMEDOUT;
			} else if (n == -1) {
				last = errno;
			}
		}
		(void)close(fd);
		fd = -1;
	}
	if (fd == -1) {
		if (timed_out)
			rc = av_fail(err, "connection", "connecting to %s port %u timed out", name, (unsigned)port);
		else
			rc = av_fail(err, "connection", "cannot connect to %s port %u: %s", name, (unsigned)port,
			    strerror(last));
		goto out;
	}
	*fdp = fd;
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	if (res != NULL)
		freeaddrinfo(res);
	return rc;
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 poll failed. */
static int
av_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&pfd, 1, av_left_ms(deadline));
	while (n == -1 && errno == EINTR);
	return n > 0 ? 1 : n;
}

SD_WUR static int
av_send_all(int fd, const char *buf, size_t len, uint64_t deadline, const char *name, struct acme_validate_error *err)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return av_fail(err, "connection", "sending to %s: %s", name, strerror(errno));
		if (av_wait(fd, POLLOUT, deadline) != 1)
			return av_fail(err, "connection", "sending to %s timed out", name);
	}
	return 0;
}

/* Case-insensitive "Name:" at the start of a header line; returns the value after it, or NULL. */
static const char *
av_header_value(const char *line, const char *end, const char *hname)
{
	size_t n = strlen(hname);

	if ((size_t)(end - line) <= n || strncasecmp(line, hname, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	return line;
}

/*
 * Decode a chunked body of buf[0..len) into out (at most AV_HTTP_MAX).
 * Returns 0 with *outlen when the last chunk is in, AV_HTTP_MORE when
 * more bytes are needed, SD_E_INVAL on a malformed body.
 */
SD_WUR static int
av_dechunk(const char *buf, size_t len, char *out, size_t *outlen, struct acme_validate_error *err)
{
	size_t off = 0, o = 0;

	for (;;) {
		const char *eol = memchr(buf + off, '\n', len - off);
		size_t size = 0, digits = 0;
		const char *p;

		if (eol == NULL)
			return AV_HTTP_MORE;
		for (p = buf + off; p < eol && digits <= 4; p++, digits++) {
			int v;

			if (*p >= '0' && *p <= '9')
				v = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				v = *p - 'a' + 10;
			else if (*p >= 'A' && *p <= 'F')
				v = *p - 'A' + 10;
			else
				break;
			size = size * 16 + (size_t)v;
		}
		/* Four hex digits are more than the whole answer may hold. */
		if (digits == 0 || digits > 4 || (p < eol && *p != ';' && *p != '\r'))
			return av_fail(err, "incorrectResponse", "malformed chunk size");
		off = (size_t)(eol - buf) + 1;
		if (size == 0) {
			/* Trailers, if any, are of no interest: the body is whole. */
			*outlen = o;
			return 0;
		}
		if (size > AV_HTTP_MAX - o)
			return av_fail(err, "incorrectResponse", "chunked body exceeds %d bytes", AV_HTTP_MAX);
		if (len - off < size + 2)
			return AV_HTTP_MORE;
		memcpy(out + o, buf + off, size);
		o += size;
		off += size;
		if (buf[off] == '\r')
			off++;
		if (buf[off] != '\n')
			return av_fail(err, "incorrectResponse", "chunk not followed by CRLF");
		off++;
	}
}

/*
 * Parse the answer in buf[0..len). eof says the peer closed. Returns 0 with
 * the body in body/bodylen, AV_HTTP_MORE to read on, or SD_E_INVAL.
 */
SD_WUR static int
av_http_parse(const char *buf, size_t len, bool eof, char *body, size_t *bodylen, struct acme_validate_error *err)
{
	const char *hend, *line, *eol, *v;
	size_t i, hlen, rest, clen = 0;
	bool have_clen = false, chunked = false;
	int status, rc;

	hend = NULL;
	for (i = 0; i + 4 <= len; i++) {
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			hend = buf + i;
			break;
		}
	}
	if (hend == NULL)
		return eof ? av_fail(err, "incorrectResponse", "answer ends inside its headers") : AV_HTTP_MORE;
	hlen = (size_t)(hend - buf) + 4;
	if (hlen < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r'))
		return av_fail(err, "incorrectResponse", "no HTTP/1.x status line");
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (status >= 300 && status < 400)
		return av_fail(err, "incorrectResponse", "status %d: redirect not followed", status);
	if (status != 200)
		return av_fail(err, "incorrectResponse", "status %d, want 200", status);

	/* The status line ends at or before hend: memchr() finds its '\n'. */
	line = (const char *)memchr(buf, '\n', hlen) + 1;
	for (; line < buf + hlen - 2; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(buf + hlen - line));
		if (eol == NULL)
			break;
		if ((v = av_header_value(line, eol, "Content-Length")) != NULL) {
			const char *digits = v;
			bool none;

			clen = 0;
			for (; v < eol && *v >= '0' && *v <= '9'; v++) {
				clen = clen * 10 + (size_t)(*v - '0');
				if (clen > AV_HTTP_MAX)
					return av_fail(err, "incorrectResponse", "Content-Length exceeds %d bytes",
					    AV_HTTP_MAX);
			}
			none = v == digits;
			while (v < eol && (*v == ' ' || *v == '\t' || *v == '\r'))
				v++;
			if (none || v != eol)
				return av_fail(err, "incorrectResponse", "malformed Content-Length");
			have_clen = true;
		} else if ((v = av_header_value(line, eol, "Transfer-Encoding")) != NULL) {
			if ((size_t)(eol - v) < 7 || strncasecmp(v, "chunked", 7) != 0)
				return av_fail(err, "incorrectResponse", "unsupported Transfer-Encoding");
			chunked = true;
		}
	}

	rest = len - hlen;
	if (chunked) {
		rc = av_dechunk(buf + hlen, rest, body, bodylen, err);
		if (rc == AV_HTTP_MORE && eof)
			return av_fail(err, "incorrectResponse", "answer ends inside its chunked body");
		return rc;
	}
	if (have_clen) {
		if (rest < clen)
			return eof ? av_fail(err, "incorrectResponse", "answer ends before its Content-Length") :
			             AV_HTTP_MORE;
		rest = clen;
	} else if (!eof) {
		return AV_HTTP_MORE;
	}
	memcpy(body, buf + hlen, rest);
	*bodylen = rest;
	return 0;
}

int
acme_validate_http01(const char *name, const char *token, const char *key_authorization,
    const struct acme_validate_options *o, struct acme_validate_error *err)
{
	char req[1024], *buf = NULL, *body = NULL, show[AV_SHOW_ESCAPED];
	uint64_t deadline = av_now_ms() + o->timeout_ms;
	size_t len = 0, bodylen = 0, kalen;
	bool eof = false;
	int fd = -1, rc, n;

	err->type = NULL;
	err->detail[0] = '\0';
	if ((rc = av_check_name(name, err)) != 0 || (rc = av_check_token(token, err)) != 0 ||
	    (rc = av_check_keyauth(key_authorization, err)) != 0)
		goto out;
	kalen = strlen(key_authorization);
	/* name <= 253 and token <= 64 bytes: the request always fits. */
	if (o->http_port == 80)
		n = snprintf(req, sizeof(req),
		    "GET /.well-known/acme-challenge/%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: signerd-acme\r\n"
		    "Accept: */*\r\nConnection: close\r\n\r\n",
		    token, name);
	else
		n = snprintf(req, sizeof(req),
		    "GET /.well-known/acme-challenge/%s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: signerd-acme\r\n"
		    "Accept: */*\r\nConnection: close\r\n\r\n",
		    token, name, (unsigned)o->http_port);
	if (n < 0 || (size_t)n >= sizeof(req))
		abort();
	/* One byte more than allowed: reading it is how an oversized answer shows. */
	if ((buf = malloc(AV_HTTP_MAX + 1)) == NULL || (body = malloc(AV_HTTP_MAX)) == NULL) {
		rc = av_internal(err, SD_E_NOMEM, "no memory for the http-01 answer");
		goto out;
	}
	if ((rc = av_connect(name, o->http_port, o, deadline, err, &fd)) != 0)
		goto out;
	if ((rc = av_send_all(fd, req, (size_t)n, deadline, name, err)) != 0)
		goto out;
	for (;;) {
		ssize_t got = recv(fd, buf + len, AV_HTTP_MAX + 1 - len, 0);

		if (got == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				rc = av_fail(err, "connection", "reading from %s: %s", name, strerror(errno));
				goto out;
			}
			if (av_wait(fd, POLLIN, deadline) != 1) {
				rc = av_fail(err, "connection", "no complete answer from %s within %u ms", name,
				    o->timeout_ms);
				goto out;
			}
			continue;
		}
		if (got == 0)
			eof = true;
		len += (size_t)got;
		if (len > AV_HTTP_MAX) {
			rc = av_fail(err, "incorrectResponse", "answer exceeds %d bytes", AV_HTTP_MAX);
			goto out;
		}
		rc = av_http_parse(buf, len, eof, body, &bodylen, err);
		if (rc != AV_HTTP_MORE)
			break;
	}
	if (rc != 0)
		goto out;
	/* RFC 8555 8.3: the client may end the body with whitespace. */
	while (bodylen > 0 &&
	    (body[bodylen - 1] == ' ' || body[bodylen - 1] == '\t' || body[bodylen - 1] == '\r' ||
	        body[bodylen - 1] == '\n'))
		bodylen--;
	if (bodylen != kalen || memcmp(body, key_authorization, kalen) != 0) {
		av_escape((const unsigned char *)body, bodylen, show);
		rc = av_fail(err, "incorrectResponse", "body \"%s\" is not the key authorization", show);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	free(buf);
	free(body);
	return rc;
}

/* Drive the handshake of a non-blocking session until deadline. */
SD_WUR static int
av_tls_handshake(gnutls_session_t s, int fd, uint64_t deadline, const char *name, struct acme_validate_error *err,
    int *gerr)
{
	int r;

	for (;;) {
		r = gnutls_handshake(s);
		if (r == GNUTLS_E_SUCCESS)
			return 0;
		*gerr = r;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			return av_fail(err, "tls", "handshake with %s failed: %s", name, gnutls_strerror(r));
		if (av_wait(fd, gnutls_record_get_direction(s) == 0 ? POLLIN : POLLOUT, deadline) != 1)
			return av_fail(err, "tls", "handshake with %s timed out", name);
	}
}

/* The certificate checks of RFC 8737 3 on an imported certificate. */
SD_WUR static int
av_tls_check_cert(gnutls_x509_crt_t crt, const char *name, const char *ka, struct acme_validate_error *err)
{
	unsigned char ext[64], digest[AV_SHA256_LEN];
	char san[ACME_VALIDATE_NAME_MAX + 2];
	size_t size;
	unsigned critical = 0, nsan = 0;
	int r;

	/* Count them (a handful is enough to refuse), then read the one there is. */
	for (nsan = 0; nsan <= 8; nsan++) {
		size = sizeof(san);
		r = gnutls_x509_crt_get_subject_alt_name(crt, nsan, san, &size, &critical);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0 && r != GNUTLS_E_SHORT_MEMORY_BUFFER)
			return av_fail(err, "incorrectResponse", "unreadable subjectAltName: %s", gnutls_strerror(r));
	}
	if (nsan != 1)
		return av_fail(err, "incorrectResponse", "certificate has %u subjectAltNames, want exactly one", nsan);
	size = sizeof(san);
	r = gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &size, &critical);
	/* A name too long for san comes back as GNUTLS_E_SHORT_MEMORY_BUFFER: not ours either. */
	if (r != GNUTLS_SAN_DNSNAME)
		return av_fail(err, "incorrectResponse", "the subjectAltName is not a dNSName of at most %d bytes",
		    ACME_VALIDATE_NAME_MAX);
	/* strlen() rather than size: an embedded NUL must not shorten the name. */
	if (size != strlen(name) || strlen(san) != size || strncasecmp(san, name, size) != 0)
		return av_fail(err, "incorrectResponse", "the subjectAltName is not %s", name);

	size = sizeof(ext);
	r = gnutls_x509_crt_get_extension_by_oid(crt, AV_OID_ACME_IDENTIFIER, 0, ext, &size, &critical);
	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return av_fail(err, "incorrectResponse", "no acmeIdentifier extension");
	if (r == GNUTLS_E_SHORT_MEMORY_BUFFER)
		return av_fail(err, "incorrectResponse", "acmeIdentifier extension is too long");
	if (r < 0)
		return av_fail(err, "incorrectResponse", "unreadable acmeIdentifier extension: %s", gnutls_strerror(r));
	if (!critical)
		return av_fail(err, "incorrectResponse", "acmeIdentifier extension is not critical");
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, ka, strlen(ka), digest) != 0)
		return av_internal(err, SD_E_CRYPTO, "SHA-256 of the key authorization failed");
	if (size != 2 + AV_SHA256_LEN || ext[0] != 0x04 || ext[1] != AV_SHA256_LEN)
		return av_fail(err, "incorrectResponse", "acmeIdentifier is not an OCTET STRING of %d bytes",
		    AV_SHA256_LEN);
	if (memcmp(ext + 2, digest, AV_SHA256_LEN) != 0)
		return av_fail(err, "incorrectResponse", "acmeIdentifier is not SHA-256 of the key authorization");
	return 0;
}

/* One connection and handshake with priorities prio; *gerr is the handshake's GnuTLS error when it failed. */
SD_WUR static int
av_tls_alpn_once(const char *name, const char *key_authorization, const struct acme_validate_options *o,
    uint64_t deadline, const char *prio, struct acme_validate_error *err, int *gerr)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t proto = { (unsigned char *)AV_ALPN, sizeof(AV_ALPN) - 1 }, sel;
	const gnutls_datum_t *peers;
	unsigned npeers = 0;
	int fd = -1, rc, r;

	/*
	 * No trust anchors and no verification call: RFC 8737 3 says the
	 * certificate is self-signed; what proves control is its content.
	 */
	if (gnutls_certificate_allocate_credentials(&cred) != 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) != 0 || gnutls_x509_crt_init(&crt) != 0) {
		rc = av_internal(err, SD_E_NOMEM, "no memory for a TLS session");
		goto out;
	}
	if ((r = gnutls_set_default_priority_append(s, prio, NULL, 0)) != 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) != 0 ||
	    (r = gnutls_server_name_set(s, GNUTLS_NAME_DNS, name, strlen(name))) != 0 ||
	    (r = gnutls_alpn_set_protocols(s, &proto, 1, GNUTLS_ALPN_MANDATORY)) != 0) {
		rc = av_internal(err, SD_E_CRYPTO, "TLS session setup: %s", gnutls_strerror(r));
		goto out;
	}
	if ((rc = av_connect(name, o->tls_port, o, deadline, err, &fd)) != 0)
		goto out;
	gnutls_transport_set_int(s, fd);
	if ((rc = av_tls_handshake(s, fd, deadline, name, err, gerr)) != 0)
		goto out;
	if (gnutls_alpn_get_selected_protocol(s, &sel) != 0 || sel.size != proto.size ||
	    memcmp(sel.data, proto.data, proto.size) != 0) {
		rc = av_fail(err, "tls", "%s did not select ALPN %s", name, AV_ALPN);
		goto out;
	}
	peers = gnutls_certificate_get_peers(s, &npeers);
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 || peers == NULL || npeers == 0) {
		rc = av_fail(err, "tls", "%s presented no X.509 certificate", name);
		goto out;
	}
	if ((r = gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER)) != 0) {
		rc = av_fail(err, "incorrectResponse", "certificate does not parse: %s", gnutls_strerror(r));
		goto out;
	}
	rc = av_tls_check_cert(crt, name, key_authorization, err);
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (fd != -1)
		(void)close(fd);
	return rc;
}

int
acme_validate_tls_alpn01(const char *name, const char *key_authorization, const struct acme_validate_options *o,
    struct acme_validate_error *err)
{
	uint64_t deadline = av_now_ms() + o->timeout_ms;
	int rc, gerr = 0;

	err->type = NULL;
	err->detail[0] = '\0';
	if ((rc = av_check_name(name, err)) != 0 || (rc = av_check_keyauth(key_authorization, err)) != 0)
		return rc;
	rc = av_tls_alpn_once(name, key_authorization, o, deadline, "-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", err, &gerr);
	/*
	 * A challenge certificate whose keyUsage allows encipherment only (lego
	 * makes RSA ones so) cannot sign a handshake, and GnuTLS ends it: its
	 * keyUsage is not ours to judge (RFC 8737 asks nothing of it), so the
	 * server is asked again for a TLS 1.2 handshake with RSA key transport,
	 * which proves the key as fully.
	 */
	if (rc != 0 && gerr == GNUTLS_E_KEY_USAGE_VIOLATION) {
		err->type = NULL;
		err->detail[0] = '\0';
		rc = av_tls_alpn_once(name, key_authorization, o, deadline, "-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA", err,
		    &gerr);
	}
	return rc;
}
