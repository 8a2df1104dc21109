/*
 * ACME issuance end to end (RFC 8555): one account, then workers that each
 * loop newOrder, finalize, poll and certificate download for their own name
 * on their own keep-alive connection. The first order of a name is
 * validated over http-01 by the responder here; later orders reuse that
 * valid authorization, so they are "ready" at once: the figure is the
 * issuance path of a renewing client, not of validation.
 *
 * Every request carries the Replay-Nonce of the worker's previous answer;
 * a badNonce answer is retried once with the nonce it carried.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme_fixture.h"
#include "bench.h"

#define BENCH_ACME_URL_MAX 512
#define BENCH_ACME_NONCE_MAX 128
#define BENCH_ACME_KEY_MAX 128 /* EAB HMAC key bytes */
#define BENCH_ACME_WAIT_S 30 /* longest wait for one order to change state */
#define BENCH_ACME_POLL_MS 2 /* pause between polls of a processing order */
#define BENCH_ACME_VALIDATE_POLL_MS 20 /* pause between polls of a pending order */
#define BENCH_ACME_HTTP_REQ_MAX 2048 /* an http-01 request from the validator */
#define BENCH_ACME_PROBLEM "urn:ietf:params:acme:error:"

struct bench_acme {
	const struct bench_acme_opts *o;
	EVP_PKEY *key; /* the account key, P-256 */
	char jwk[256]; /* canonical JWK (RFC 7638 member order) */
	char thumb[64]; /* base64url SHA-256 of jwk */
	char authority[64]; /* Host: 127.0.0.1:port */
	char new_nonce[BENCH_ACME_URL_MAX];
	char new_account[BENCH_ACME_URL_MAX];
	char new_order[BENCH_ACME_URL_MAX];
	char kid[BENCH_ACME_URL_MAX]; /* the account URL */
	atomic_uint_fast64_t validations;
	atomic_bool stop;
};

struct bench_acme_worker {
	struct bench_acme *a;
	unsigned idx;
	pthread_barrier_t *ready, *go;
	struct bench_conn *conn;
	char name[64];
	char *csr; /* base64url DER */
	char nonce[BENCH_ACME_NONCE_MAX]; /* empty: none held */
	double seconds, last_done;
	uint64_t orders, errors, bad_nonces, polls, connects;
	double first_error_at;
	char first_error[BENCH_ERROR_TEXT];
	bool oom;
};

/* One answer: status, Location, and the body as JSON when it is JSON. */
struct bench_acme_answer {
	int status;
	char location[BENCH_ACME_URL_MAX];
	json_t *doc;
	char *text; /* the body as text when it is not JSON (a certificate chain) */
};

static void
bench_acme_answer_clear(struct bench_acme_answer *ans)
{
	json_decref(ans->doc);
	free(ans->text);
	memset(ans, 0, sizeof(*ans));
}

static void
bench_acme_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/* base64url without padding of len bytes, new (free()). */
/* Decode base64url (padding optional) into out[cap]; false if malformed or too long. */
static bool
bench_b64u_decode(const char *in, unsigned char *out, size_t cap, size_t *out_len)
{
	char buf[4 * BENCH_ACME_KEY_MAX / 3 + 8];
	size_t len = strlen(in), pad, i;
	int n;

	while (len > 0 && in[len - 1] == '=')
		len--;
	pad = (4 - len % 4) % 4;
	if (pad == 3 || len + pad >= sizeof(buf) || (len + pad) / 4 * 3 > cap)
		return false;
	for (i = 0; i < len; i++)
		buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	memset(buf + len, '=', pad);
	buf[len + pad] = '\0';
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)(len + pad))) < 0 || (size_t)n < pad)
		return false;
	*out_len = (size_t)n - pad;
	OPENSSL_cleanse(buf, sizeof(buf));
	return true;
}

/* Server-given text (a URL, a nonce) that may go into a JSON string unescaped. */
static bool
bench_acme_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static int
bench_acme_copy(char *out, size_t cap, const char *s, const char *what)
{
	if (s == NULL || strlen(s) >= cap || !bench_acme_plain(s))
		return sd_error_set(SD_E_INVAL, "%s missing, too long or not plain text", what);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* The account key, its JWK and thumbprint (RFC 7638). */
static int
bench_acme_key_new(struct bench_acme *a)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char xb[32], yb[32], digest[32];
	char *xs = NULL, *ys = NULL, *th = NULL;
	int n, rc;

	if ((a->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 || BN_bn2binpad(x, xb, 32) != 32 ||
	    BN_bn2binpad(y, yb, 32) != 32) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot make the P-256 account key");
		goto out;
	}
	if ((xs = acme_fx_b64url(xb, sizeof(xb))) == NULL || (ys = acme_fx_b64url(yb, sizeof(yb))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(a->jwk, sizeof(a->jwk), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
	if (n < 0 || (size_t)n >= sizeof(a->jwk) ||
	    EVP_Digest(a->jwk, (size_t)n, digest, NULL, EVP_sha256(), NULL) != 1 ||
	    (th = acme_fx_b64url(digest, sizeof(digest))) == NULL || strlen(th) >= sizeof(a->thumb)) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot encode the account JWK");
		goto out;
	}
	memcpy(a->thumb, th, strlen(th) + 1);
	rc = 0;
out:
	free(th);
	free(xs);
	free(ys);
	BN_free(x);
	BN_free(y);
	return rc;
}

/* ES256 over msg: r || s, 64 bytes, base64url in *out (new). */
/* A flattened JWS of protected (JSON) and payload (JSON, or "" for POST-as-GET), new in *out. */
static int
bench_acme_jws(EVP_PKEY *key, const char *protected, const char *payload, char **out)
{
	char *p64 = NULL, *b64 = NULL, *input = NULL, *sig = NULL, *jws = NULL;
	uint8_t *raw = NULL;
	size_t cap, raw_len;
	int n, rc;

	*out = NULL;
	if ((p64 = acme_fx_b64url((const unsigned char *)protected, strlen(protected))) == NULL ||
	    (b64 = acme_fx_b64url((const unsigned char *)payload, strlen(payload))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	cap = strlen(p64) + strlen(b64) + 256; /* the signature and the JSON around it */
	if ((input = malloc(cap)) == NULL || (jws = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(input, cap, "%s.%s", p64, b64);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_INTERNAL, "JWS signing input does not fit");
		goto out;
	}
	raw = acme_fx_sign(key, "ES256", input, &raw_len);
	sig = acme_fx_b64url(raw, raw_len);
	n = snprintf(jws, cap, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, b64, sig);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_INTERNAL, "JWS does not fit");
		goto out;
	}
	*out = jws;
	jws = NULL;
	rc = 0;
out:
	free(jws);
	free(sig);
	free(raw);
	free(input);
	free(b64);
	free(p64);
	return rc;
}

/* The path of an absolute https URL on our authority. */
static const char *
bench_acme_path(const struct bench_acme *a, const char *url)
{
	const char *p;

	if (strncmp(url, "https://", 8) != 0 || strncmp(url + 8, a->authority, strlen(a->authority)) != 0)
		return NULL;
	p = url + 8 + strlen(a->authority);
	return *p == '/' ? p : NULL;
}

/*
 * One HTTP exchange on conn: method path with body (NULL: none); the answer
 * in ans, the Replay-Nonce (if any) in nonce. detail says why it failed.
 */
static int
bench_acme_http(const struct bench_acme *a, struct bench_conn *conn, const char *method, const char *path,
    const char *body, char *nonce, struct bench_acme_answer *ans, char *detail, size_t detail_cap)
{
	struct bench_response resp;
	struct bench_reply reply;
	char *req = NULL, value[BENCH_ACME_URL_MAX];
	size_t body_len = body != NULL ? strlen(body) : 0, cap = body_len + strlen(path) + 256;
	json_error_t jerr;
	int n, rc;

	memset(ans, 0, sizeof(*ans));
	if ((rc = bench_conn_ensure(conn)) != 0) {
		(void)snprintf(detail, detail_cap, "%s", sd_error_detail(rc));
		goto out;
	}
	if ((req = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (body != NULL)
		n = snprintf(req, cap,
		    "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/jose+json\r\n"
		    "Content-Length: %zu\r\n\r\n%s",
		    method, path, a->authority, body_len, body);
	else
		n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, path, a->authority);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_INTERNAL, "request does not fit");
		goto out;
	}
	if ((rc = bench_conn_exchange(conn, req, (size_t)n, &reply, &resp)) != 0) {
		(void)snprintf(detail, detail_cap, "%s %.60s: %.150s", method, path, reply.detail);
		goto out;
	}
	ans->status = reply.status;
	if (nonce != NULL) {
		nonce[0] = '\0';
		if (bench_http_header(resp.hdr, "Replay-Nonce", value, sizeof(value)) &&
		    strlen(value) < BENCH_ACME_NONCE_MAX && bench_acme_plain(value))
			memcpy(nonce, value, strlen(value) + 1);
	}
	if (bench_http_header(resp.hdr, "Location", value, sizeof(value)) && bench_acme_plain(value))
		memcpy(ans->location, value, strlen(value) + 1);
	if (resp.body_len > 0 && resp.body[0] == '{') {
		if ((ans->doc = json_loadb(resp.body, resp.body_len, 0, &jerr)) == NULL) {
			rc = sd_error_set(SD_E_INVAL, "%s %s: answer is not JSON: %s", method, path, jerr.text);
			(void)snprintf(detail, detail_cap, "%s", sd_error_detail(rc));
			goto out;
		}
	} else if (resp.body_len > 0 && (ans->text = strndup(resp.body, resp.body_len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = 0;
out:
	if (rc == SD_E_NOMEM)
		(void)snprintf(detail, detail_cap, "out of memory");
	free(req);
	return rc;
}

static bool
bench_acme_problem(const struct bench_acme_answer *ans, const char *type)
{
	const char *t = json_string_value(json_object_get(ans->doc, "type"));

	return t != NULL && strncmp(t, BENCH_ACME_PROBLEM, strlen(BENCH_ACME_PROBLEM)) == 0 &&
	    strcmp(t + strlen(BENCH_ACME_PROBLEM), type) == 0;
}

/* A fresh nonce from newNonce (GET: 204 with Replay-Nonce). */
static int
bench_acme_fresh_nonce(const struct bench_acme *a, struct bench_conn *conn, char *nonce, char *detail,
    size_t detail_cap)
{
	struct bench_acme_answer ans;
	int rc;

	if ((rc = bench_acme_http(a, conn, "GET", bench_acme_path(a, a->new_nonce), NULL, nonce, &ans, detail,
	         detail_cap)) != 0)
		return rc;
	if ((ans.status != 200 && ans.status != 204) || nonce[0] == '\0') {
		(void)snprintf(detail, detail_cap, "newNonce: status %d, nonce %s", ans.status,
		    nonce[0] != '\0' ? "given" : "missing");
		rc = SD_E_INVAL;
	}
	bench_acme_answer_clear(&ans);
	return rc;
}

/*
 * POST a JWS to url (payload "" is POST-as-GET), signed with the account's
 * kid, or with its jwk when kid is false. nonce is used and replaced by the
 * answer's; a badNonce answer is retried once with the nonce it carried.
 */
static int
bench_acme_post(const struct bench_acme *a, struct bench_conn *conn, char *nonce, uint64_t *bad_nonces, const char *url,
    const char *payload, bool kid, struct bench_acme_answer *ans, char *detail, size_t detail_cap)
{
	char protected[3 * BENCH_ACME_URL_MAX + 512], *jws = NULL;
	const char *path = bench_acme_path(a, url);
	int attempt, n, rc = 0;

	memset(ans, 0, sizeof(*ans));
	if (path == NULL) {
		(void)snprintf(detail, detail_cap, "URL %.100s is not on https://%s", url, a->authority);
		return SD_E_INVAL;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		if (nonce[0] == '\0' && (rc = bench_acme_fresh_nonce(a, conn, nonce, detail, detail_cap)) != 0)
			return rc;
		if (kid)
			n = snprintf(protected, sizeof(protected),
			    "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}", a->kid, nonce, url);
		else
			n = snprintf(protected, sizeof(protected),
			    "{\"alg\":\"ES256\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}", a->jwk, nonce, url);
		nonce[0] = '\0'; /* spent */
		if (n < 0 || (size_t)n >= sizeof(protected)) {
			(void)snprintf(detail, detail_cap, "JWS header does not fit");
			return SD_E_INTERNAL;
		}
		if ((rc = bench_acme_jws(a->key, protected, payload, &jws)) != 0) {
			(void)snprintf(detail, detail_cap, "%s", sd_error_detail(rc));
			return rc;
		}
		rc = bench_acme_http(a, conn, "POST", path, jws, nonce, ans, detail, detail_cap);
		free(jws);
		jws = NULL;
		if (rc != 0 || attempt == 1 || ans->status != 400 || !bench_acme_problem(ans, "badNonce") ||
		    nonce[0] == '\0')
			break;
		(*bad_nonces)++;
		bench_acme_answer_clear(ans);
	}
	return rc;
}

static bool
bench_acme_is(const json_t *v, const char *s)
{
	const char *t = json_string_value(v);

	return t != NULL && strcmp(t, s) == 0;
}

/* status of an order or authorization document, or "". */
static const char *
bench_acme_status(const struct bench_acme_answer *ans)
{
	const char *s = json_string_value(json_object_get(ans->doc, "status"));

	return s != NULL ? s : "";
}

/* Say what went wrong with an answer: status and problem detail. */
static void
bench_acme_unexpected(const struct bench_acme_answer *ans, const char *what, char *detail, size_t detail_cap)
{
	const char *type = json_string_value(json_object_get(ans->doc, "type"));
	const char *text = json_string_value(json_object_get(ans->doc, "detail"));

	(void)snprintf(detail, detail_cap, "%s: status %d %s%s%s%.100s", what, ans->status,
	    ans->doc != NULL ? bench_acme_status(ans) : "", type != NULL ? type : "", text != NULL ? ": " : "",
	    text != NULL ? text : "");
}

/* ---- the http-01 responder ---- */

struct bench_acme_responder {
	struct bench_acme *a;
	int fd;
	pthread_t tid;
	bool started;
};

/* Answer one validator connection: GET /.well-known/acme-challenge/TOKEN. */
static void
bench_acme_respond(struct bench_acme *a, int fd)
{
	static const char prefix[] = "GET /.well-known/acme-challenge/";
	struct timeval tv = { .tv_sec = 5 };
	char req[BENCH_ACME_HTTP_REQ_MAX + 1], body[256], out[512];
	size_t have = 0, tlen = 0;
	ssize_t r;
	int n = 0;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (have < BENCH_ACME_HTTP_REQ_MAX) {
		if ((r = read(fd, req + have, BENCH_ACME_HTTP_REQ_MAX - have)) <= 0)
			return;
		have += (size_t)r;
		req[have] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (strncmp(req, prefix, sizeof(prefix) - 1) == 0) {
		const char *t = req + sizeof(prefix) - 1;

		while ((t[tlen] >= 'A' && t[tlen] <= 'Z') || (t[tlen] >= 'a' && t[tlen] <= 'z') ||
		    (t[tlen] >= '0' && t[tlen] <= '9') || t[tlen] == '-' || t[tlen] == '_')
			tlen++;
		if (tlen == 0 || t[tlen] != ' ' || tlen > 128)
			tlen = 0;
		else
			n = snprintf(body, sizeof(body), "%.*s.%s", (int)tlen, t, a->thumb);
	}
	if (tlen > 0 && n > 0 && (size_t)n < sizeof(body)) {
		n = snprintf(out, sizeof(out),
		    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
		    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
		    n, body);
		atomic_fetch_add(&a->validations, 1);
	} else {
		n = snprintf(out, sizeof(out),
		    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	}
	/* A short write is the validator's failure to count, not ours. */
	if (n > 0 && (size_t)n < sizeof(out) && write(fd, out, (size_t)n) != n)
		return;
}

static void *
bench_acme_responder_main(void *arg)
{
	struct bench_acme_responder *r = arg;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int fd;

	while (!atomic_load(&r->a->stop)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((fd = accept(r->fd, NULL, NULL)) < 0)
			continue;
		bench_acme_respond(r->a, fd);
		(void)close(fd);
	}
	return NULL;
}

static int
bench_acme_responder_start(struct bench_acme *a, uint16_t port, struct bench_acme_responder *r)
{
	struct sockaddr_in sin;
	int one = 1;

	memset(r, 0, sizeof(*r));
	r->a = a;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(r->fd, 64) != 0)
		return sd_error_set(SD_E_IO, "http-01 responder on 127.0.0.1:%u: %s", (unsigned)port, strerror(errno));
	if (pthread_create(&r->tid, NULL, bench_acme_responder_main, r) != 0)
		return sd_error_set(SD_E_INTERNAL, "cannot start the http-01 responder");
	r->started = true;
	return 0;
}

static void
bench_acme_responder_stop(struct bench_acme_responder *r)
{
	if (r->a != NULL)
		atomic_store(&r->a->stop, true);
	if (r->started)
		(void)pthread_join(r->tid, NULL);
	if (r->fd >= 0)
		(void)close(r->fd);
	r->started = false;
	r->fd = -1;
}

/* ---- the account ---- */

/* The "kid: " and "hmac_key: " lines of signerctl acme eab add. */
static int
bench_acme_eab_read(const char *path, char *kid, size_t kid_cap, unsigned char *key, size_t *key_len)
{
	char line[512], *nl;
	bool have_kid = false, have_key = false;
	FILE *f;
	int rc;

	if ((f = fopen(path, "re")) == NULL)
		return sd_error_set(SD_E_INVAL, "EAB file %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (strncmp(line, "kid: ", 5) == 0)
			have_kid = bench_acme_copy(kid, kid_cap, line + 5, "EAB kid") == 0;
		else if (strncmp(line, "hmac_key: ", 10) == 0)
			have_key = bench_b64u_decode(line + 10, key, BENCH_ACME_KEY_MAX, key_len) && *key_len > 0;
	}
	OPENSSL_cleanse(line, sizeof(line));
	(void)fclose(f); /* read only */
	rc = have_kid && have_key ? 0 : sd_error_set(SD_E_INVAL, "EAB file %s lacks a kid: or hmac_key: line", path);
	return rc;
}

/* The externalAccountBinding JWS (RFC 8555 7.3.4): HS256 over the account JWK, new in *out. */
static int
bench_acme_eab(const struct bench_acme *a, const char *kid, const unsigned char *key, size_t key_len, char **out)
{
	char protected[2 * BENCH_ACME_URL_MAX + 64], *p64 = NULL, *b64 = NULL, *input = NULL, *mac64 = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	size_t cap;
	int n, rc;

	*out = NULL;
	n = snprintf(protected, sizeof(protected), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"url\":\"%s\"}", kid,
	    a->new_account);
	if (n < 0 || (size_t)n >= sizeof(protected)) {
		rc = sd_error_set(SD_E_INVAL, "EAB header does not fit");
		goto out;
	}
	if ((p64 = acme_fx_b64url((const unsigned char *)protected, (size_t)n)) == NULL ||
	    (b64 = acme_fx_b64url((const unsigned char *)a->jwk, strlen(a->jwk))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	cap = strlen(p64) + strlen(b64) + 256; /* the signature and the JSON around it */
	if ((input = malloc(cap)) == NULL || (*out = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(input, cap, "%s.%s", p64, b64);
	if (n < 0 || (size_t)n >= cap || key_len > INT32_MAX ||
	    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)input, (size_t)n, mac, &mac_len) == NULL ||
	    (mac64 = acme_fx_b64url(mac, mac_len)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "EAB HMAC failed");
		goto out;
	}
	n = snprintf(*out, cap, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", p64, b64, mac64);
	rc = n < 0 || (size_t)n >= cap ? sd_error_set(SD_E_INTERNAL, "EAB JWS does not fit") : 0;
out:
	if (rc != 0) {
		free(*out);
		*out = NULL;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	free(mac64);
	free(input);
	free(b64);
	free(p64);
	return rc;
}

/* The directory, then newAccount with EAB: a->kid. */
static int
bench_acme_account(struct bench_acme *a, struct bench_conn *conn)
{
	struct bench_acme_answer ans = { 0 };
	unsigned char key[BENCH_ACME_KEY_MAX];
	char path[256], eab_kid[BENCH_ACME_URL_MAX], nonce[BENCH_ACME_NONCE_MAX] = "", detail[BENCH_ERROR_TEXT];
	char *eab = NULL, *payload = NULL;
	size_t key_len = 0, cap;
	uint64_t bad = 0;
	int n, rc;

	n = snprintf(path, sizeof(path), "/acme/%s/directory", a->o->profile);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		rc = sd_error_set(SD_E_INVAL, "profile name too long");
		goto out;
	}
	if (bench_acme_http(a, conn, "GET", path, NULL, NULL, &ans, detail, sizeof(detail)) != 0) {
		rc = sd_error_set(SD_E_IO, "ACME directory: %s", detail);
		goto out;
	}
	if (ans.status != 200 || ans.doc == NULL) {
		bench_acme_unexpected(&ans, path, detail, sizeof(detail));
		rc = sd_error_set(SD_E_IO, "ACME directory: %s", detail);
		goto out;
	}
	if ((rc = bench_acme_copy(a->new_nonce, sizeof(a->new_nonce),
	         json_string_value(json_object_get(ans.doc, "newNonce")), "directory newNonce")) != 0 ||
	    (rc = bench_acme_copy(a->new_account, sizeof(a->new_account),
	         json_string_value(json_object_get(ans.doc, "newAccount")), "directory newAccount")) != 0 ||
	    (rc = bench_acme_copy(a->new_order, sizeof(a->new_order),
	         json_string_value(json_object_get(ans.doc, "newOrder")), "directory newOrder")) != 0)
		goto out;
	bench_acme_answer_clear(&ans);
	if ((rc = bench_acme_eab_read(a->o->eab_file, eab_kid, sizeof(eab_kid), key, &key_len)) != 0 ||
	    (rc = bench_acme_eab(a, eab_kid, key, key_len, &eab)) != 0)
		goto out;
	cap = strlen(eab) + 128;
	if ((payload = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(payload, cap,
	    "{\"termsOfServiceAgreed\":true,\"contact\":[\"mailto:bench@example.com\"],"
	    "\"externalAccountBinding\":%s}",
	    eab);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_INTERNAL, "newAccount payload does not fit");
		goto out;
	}
	if (bench_acme_post(a, conn, nonce, &bad, a->new_account, payload, false, &ans, detail, sizeof(detail)) != 0) {
		rc = sd_error_set(SD_E_IO, "newAccount: %s", detail);
		goto out;
	}
	if ((ans.status != 200 && ans.status != 201) || ans.location[0] == '\0') {
		bench_acme_unexpected(&ans, "newAccount", detail, sizeof(detail));
		rc = sd_error_set(SD_E_IO, "%s", detail);
		goto out;
	}
	rc = bench_acme_copy(a->kid, sizeof(a->kid), ans.location, "newAccount Location");
out:
	OPENSSL_cleanse(key, sizeof(key));
	bench_acme_answer_clear(&ans);
	free(payload);
	free(eab);
	return rc;
}

/* ---- the workers ---- */

/* POST-as-GET url until its status is none of the waiting ones. */
static int
bench_acme_wait(struct bench_acme_worker *w, const char *url, const char *waiting, const char *other, unsigned pause_ms,
    struct bench_acme_answer *ans, char *detail, size_t cap)
{
	double deadline = bench_now() + BENCH_ACME_WAIT_S;
	const char *st;
	int rc;

	for (;;) {
		bench_acme_answer_clear(ans);
		if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, url, "", true, ans, detail, cap)) !=
		    0)
			return rc;
		w->polls++;
		if (ans->status != 200) {
			bench_acme_unexpected(ans, "poll", detail, cap);
			return SD_E_INVAL;
		}
		st = bench_acme_status(ans);
		if (strcmp(st, waiting) != 0 && (other == NULL || strcmp(st, other) != 0))
			return 0;
		if (bench_now() > deadline) {
			(void)snprintf(detail, cap, "still %s after %d s", st, BENCH_ACME_WAIT_S);
			return SD_E_INVAL;
		}
		bench_acme_sleep_ms(pause_ms);
	}
}

/* Validate the (first) authorization of a pending order over http-01; *order is polled until not pending. */
static int
bench_acme_validate(struct bench_acme_worker *w, const char *order_url, struct bench_acme_answer *order, char *detail,
    size_t cap)
{
	struct bench_acme_answer ans = { 0 };
	const char *authz = json_string_value(json_array_get(json_object_get(order->doc, "authorizations"), 0));
	char chall[BENCH_ACME_URL_MAX] = "";
	json_t *c;
	size_t i;
	int rc;

	if (authz == NULL) {
		(void)snprintf(detail, cap, "pending order without authorizations");
		return SD_E_INVAL;
	}
	if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, authz, "", true, &ans, detail, cap)) != 0)
		goto out;
	if (ans.status != 200) {
		bench_acme_unexpected(&ans, "authorization", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	if (strcmp(bench_acme_status(&ans), "pending") == 0) {
		json_array_foreach(json_object_get(ans.doc, "challenges"), i,
		    c) if (bench_acme_is(json_object_get(c, "type"), "http-01"))(void) bench_acme_copy(chall,
		    sizeof(chall), json_string_value(json_object_get(c, "url")), "challenge url");
		if (chall[0] == '\0') {
			(void)snprintf(detail, cap, "no http-01 challenge");
			rc = SD_E_INVAL;
			goto out;
		}
		bench_acme_answer_clear(&ans);
		if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, chall, "{}", true, &ans, detail,
		         cap)) != 0)
			goto out;
		if (ans.status != 200) {
			bench_acme_unexpected(&ans, "challenge", detail, cap);
			rc = SD_E_INVAL;
			goto out;
		}
	}
	rc = bench_acme_wait(w, order_url, "pending", NULL, BENCH_ACME_VALIDATE_POLL_MS, order, detail, cap);
out:
	bench_acme_answer_clear(&ans);
	return rc;
}

/* The first certificate of a PEM chain parses as X.509 and names the worker's name. */
static int
bench_acme_check_cert(const struct bench_acme_worker *w, const char *pem, char *detail, size_t cap)
{
	gnutls_x509_crt_t x = NULL;
	gnutls_datum_t d;
	int rc;

	if (pem == NULL || strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0) {
		(void)snprintf(detail, cap, "certificate download is not a PEM chain");
		return SD_E_INVAL;
	}
	d.data = (unsigned char *)(uintptr_t)pem;
	d.size = (unsigned)strlen(pem);
	if (gnutls_x509_crt_init(&x) < 0)
		return SD_E_NOMEM;
	rc = SD_E_INVAL;
	if (gnutls_x509_crt_import(x, &d, GNUTLS_X509_FMT_PEM) < 0)
		(void)snprintf(detail, cap, "the certificate does not parse");
	else if (gnutls_x509_crt_check_hostname(x, w->name) == 0)
		(void)snprintf(detail, cap, "the certificate does not name %s", w->name);
	else
		rc = 0;
	gnutls_x509_crt_deinit(x);
	return rc;
}

/* One order from newOrder to the downloaded certificate. */
static int
bench_acme_order(struct bench_acme_worker *w, const char *new_order, char *detail, size_t cap)
{
	struct bench_acme_answer ans = { 0 };
	char order_url[BENCH_ACME_URL_MAX], finalize[BENCH_ACME_URL_MAX], cert[BENCH_ACME_URL_MAX], body[512];
	const char *st;
	int n, rc;

	n = snprintf(body, sizeof(body), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", w->name);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		(void)snprintf(detail, cap, "newOrder payload does not fit");
		return SD_E_INTERNAL;
	}
	if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, new_order, body, true, &ans, detail, cap)) !=
	    0)
		goto out;
	if (ans.status != 201 || bench_acme_copy(order_url, sizeof(order_url), ans.location, "order URL") != 0) {
		bench_acme_unexpected(&ans, "newOrder", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	if (strcmp(bench_acme_status(&ans), "pending") == 0 &&
	    (rc = bench_acme_validate(w, order_url, &ans, detail, cap)) != 0)
		goto out;
	if (strcmp(bench_acme_status(&ans), "ready") != 0 ||
	    bench_acme_copy(finalize, sizeof(finalize), json_string_value(json_object_get(ans.doc, "finalize")),
	        "finalize URL") != 0) {
		bench_acme_unexpected(&ans, "order before finalize", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	bench_acme_answer_clear(&ans);
	n = snprintf(body, sizeof(body), "{\"csr\":\"%s\"}", w->csr);
	if (n < 0 || (size_t)n >= sizeof(body)) {
		(void)snprintf(detail, cap, "finalize payload does not fit");
		rc = SD_E_INTERNAL;
		goto out;
	}
	if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, finalize, body, true, &ans, detail, cap)) !=
	    0)
		goto out;
	if (ans.status != 200) {
		bench_acme_unexpected(&ans, "finalize", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	st = bench_acme_status(&ans);
	if (strcmp(st, "processing") == 0 || strcmp(st, "ready") == 0) {
		if ((rc = bench_acme_wait(w, order_url, "processing", "ready", BENCH_ACME_POLL_MS, &ans, detail,
		         cap)) != 0)
			goto out;
	}
	if (strcmp(bench_acme_status(&ans), "valid") != 0 ||
	    bench_acme_copy(cert, sizeof(cert), json_string_value(json_object_get(ans.doc, "certificate")),
	        "certificate URL") != 0) {
		bench_acme_unexpected(&ans, "order after finalize", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	bench_acme_answer_clear(&ans);
	if ((rc = bench_acme_post(w->a, w->conn, w->nonce, &w->bad_nonces, cert, "", true, &ans, detail, cap)) != 0)
		goto out;
	if (ans.status != 200) {
		bench_acme_unexpected(&ans, "certificate", detail, cap);
		rc = SD_E_INVAL;
		goto out;
	}
	rc = bench_acme_check_cert(w, ans.text, detail, cap);
out:
	bench_acme_answer_clear(&ans);
	return rc;
}

static void *
bench_acme_worker_main(void *arg)
{
	struct bench_acme_worker *w = arg;
	char detail[BENCH_ERROR_TEXT];
	double deadline;
	int rc;

	if (bench_conn_new(w->a->o->tls, w->a->o->port, &w->conn) != 0)
		w->oom = true;
	else
		(void)bench_acme_fresh_nonce(w->a, w->conn, w->nonce, detail, sizeof(detail));
	(void)pthread_barrier_wait(w->ready);
	(void)pthread_barrier_wait(w->go);
	deadline = bench_now() + w->seconds;
	while (!w->oom && bench_now() < deadline) {
		detail[0] = '\0';
		rc = bench_acme_order(w, w->a->new_order, detail, sizeof(detail));
		if (rc == SD_E_NOMEM) {
			w->oom = true;
		} else if (rc != 0) {
			if (w->errors++ == 0) {
				w->first_error_at = bench_now();
				(void)snprintf(w->first_error, sizeof(w->first_error), "%s: %s", w->name, detail);
			}
			if (rc == SD_E_IO)
				bench_acme_sleep_ms(10);
		} else {
			w->orders++;
		}
		w->last_done = bench_now();
	}
	if (w->conn != NULL)
		w->connects = bench_conn_connects(w->conn);
	bench_conn_free(w->conn);
	w->conn = NULL;
	ERR_clear_error();
	return NULL;
}

/* The worker's CSR (bench-<idx>.example.com) as base64url DER. */
static int
bench_acme_worker_csr(struct bench_acme_worker *w)
{
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *pem = NULL;
	int len, rc;

	if ((rc = bench_csr_pem(w->idx, &pem)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL || (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL ||
	    (len = i2d_X509_REQ(req, &der)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot encode CSR %u", w->idx);
		goto out;
	}
	rc = (w->csr = acme_fx_b64url(der, (size_t)len)) == NULL ? SD_E_NOMEM : 0;
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	BIO_free(bio);
	free(pem);
	return rc;
}

int
bench_acme_run(const struct bench_acme_opts *o, struct bench_acme_result *res)
{
	struct bench_acme a;
	struct bench_acme_responder resp = { .fd = -1 };
	struct bench_acme_worker *w = NULL;
	struct bench_conn *conn = NULL;
	pthread_barrier_t ready, go;
	pthread_t *tid = NULL;
	bool barriers = false;
	double t0, first_at = 0, last = 0;
	unsigned t, started = 0;
	int n, rc;

	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.o = o;
	res->conc = o->conc;
	if (o->conc == 0 || o->conc > BENCH_CONC_MAX || !(o->seconds > 0) || o->seconds > BENCH_SECONDS_MAX ||
	    o->http_port == 0) {
		rc = sd_error_set(SD_E_INVAL, "ACME step of %u workers for %.1f s, http-01 port %u", o->conc,
		    o->seconds, (unsigned)o->http_port);
		goto out;
	}
	n = snprintf(a.authority, sizeof(a.authority), "127.0.0.1:%u", (unsigned)o->port);
	if (n < 0 || (size_t)n >= sizeof(a.authority)) {
		rc = sd_error_set(SD_E_INTERNAL, "authority does not fit");
		goto out;
	}
	if ((rc = bench_acme_key_new(&a)) != 0 || (rc = bench_acme_responder_start(&a, o->http_port, &resp)) != 0)
		goto out;
	if ((rc = bench_conn_new(o->tls, o->port, &conn)) != 0 || (rc = bench_acme_account(&a, conn)) != 0)
		goto out;
	if ((w = calloc(o->conc, sizeof(*w))) == NULL || (tid = calloc(o->conc, sizeof(*tid))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (t = 0; t < o->conc; t++) {
		w[t] =
		    (struct bench_acme_worker){ .a = &a, .idx = t, .ready = &ready, .go = &go, .seconds = o->seconds };
		n = snprintf(w[t].name, sizeof(w[t].name), "bench-%u.example.com", t);
		if (n < 0 || (size_t)n >= sizeof(w[t].name)) {
			rc = sd_error_set(SD_E_INTERNAL, "name does not fit");
			goto out;
		}
		if ((rc = bench_acme_worker_csr(&w[t])) != 0)
			goto out;
	}
	if (pthread_barrier_init(&ready, NULL, o->conc + 1) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "pthread_barrier_init failed");
		goto out;
	}
	if (pthread_barrier_init(&go, NULL, o->conc + 1) != 0) {
		(void)pthread_barrier_destroy(&ready);
		rc = sd_error_set(SD_E_INTERNAL, "pthread_barrier_init failed");
		goto out;
	}
	barriers = true;
	for (t = 0; t < o->conc; t++) {
		if (pthread_create(&tid[t], NULL, bench_acme_worker_main, &w[t]) != 0)
			abort(); /* the barriers would never open; a benchmark may stop here */
		started++;
	}
	(void)pthread_barrier_wait(&ready);
	(void)pthread_barrier_wait(&go);
	t0 = bench_now();
	for (t = 0; t < started; t++)
		(void)pthread_join(tid[t], NULL);
	for (t = 0; t < o->conc; t++) {
		if (w[t].oom) {
			rc = sd_error_set(SD_E_NOMEM, "ACME worker %u ran out of memory", t);
			goto out;
		}
		res->orders += w[t].orders;
		res->errors += w[t].errors;
		res->bad_nonces += w[t].bad_nonces;
		res->polls += w[t].polls;
		res->reconnects += w[t].connects > 1 ? w[t].connects - 1 : 0;
		if (w[t].last_done > last)
			last = w[t].last_done;
		if (w[t].errors > 0 && (first_at == 0 || w[t].first_error_at < first_at)) {
			first_at = w[t].first_error_at;
			memcpy(res->first_error, w[t].first_error, sizeof(res->first_error));
		}
	}
	res->seconds = last > t0 ? last - t0 : bench_now() - t0;
	res->rate = res->seconds > 0 ? (double)res->orders / res->seconds : 0;
	rc = 0;
out:
	bench_acme_responder_stop(&resp);
	res->validations = atomic_load(&a.validations);
	if (barriers) {
		(void)pthread_barrier_destroy(&ready);
		(void)pthread_barrier_destroy(&go);
	}
	if (w != NULL)
		for (t = 0; t < o->conc; t++)
			free(w[t].csr);
	free(w);
	free(tid);
	bench_conn_free(conn);
	EVP_PKEY_free(a.key);
	ERR_clear_error();
	return rc;
}
