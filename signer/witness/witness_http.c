/*
 * The witness over plain HTTP (libmicrohttpd): one polling thread, bodies
 * bounded by WITNESS_REQUEST_MAX. Plain HTTP is enough: a request carries
 * its own proof (the log's signature and the consistency proof), and a
 * cosignature is a signature anyone can check; TLS in front is the
 * operator's choice (a bastion, a reverse proxy).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "witness.h"

#define WH_TIMEOUT_S 30U
#define WH_CONNECTIONS 64U

struct witness_http {
	struct witness *w;
	struct MHD_Daemon *daemon;
};

/* One request's body as it arrives. */
struct wh_body {
	char *buf;
	size_t len;
	bool too_large;
};

static enum MHD_Result
wh_send(struct MHD_Connection *conn, unsigned status, const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if ((r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
wh_respond(struct MHD_Connection *conn, const struct witness_response *resp)
{
	return wh_send(conn, resp->status, resp->content_type, resp->body, resp->body_len);
}

static enum MHD_Result
wh_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_len, void **con_cls)
{
	struct witness_http *h = cls;
	struct witness_response *resp;
	struct wh_body *b = *con_cls;
	enum MHD_Result ret;
	const char *tail;
	char hash[80];
	size_t n;
	time_t now;

	(void)version;
	if (strcmp(url, "/add-checkpoint") == 0) {
		if (strcmp(method, "POST") != 0)
			return wh_send(conn, 405, "text/plain; charset=utf-8", "POST only\n", 10);
		if (b == NULL) {
			if ((b = calloc(1, sizeof(*b))) == NULL)
				return MHD_NO;
			*con_cls = b;
			return MHD_YES;
		}
		if (*upload_len != 0) {
			/* Past the bound the rest is read and dropped, so that the answer is a clean 413. */
			if (!b->too_large && *upload_len <= WITNESS_REQUEST_MAX - b->len) {
				char *grown = realloc(b->buf, b->len + *upload_len);

				if (grown == NULL)
					return MHD_NO;
				b->buf = grown;
				memcpy(b->buf + b->len, upload, *upload_len);
				b->len += *upload_len;
			} else {
				b->too_large = true;
			}
			*upload_len = 0;
			return MHD_YES;
		}
		if (b->too_large)
			return wh_send(conn, 413, "text/plain; charset=utf-8", "request too large\n", 18);
		if ((resp = malloc(sizeof(*resp))) == NULL)
			return MHD_NO;
		now = time(NULL);
		witness_add_checkpoint(h->w, b->buf != NULL ? b->buf : "", b->len, now > 0 ? (uint64_t)now : 0, resp);
		ret = wh_respond(conn, resp);
		free(resp);
		return ret;
	}
	/* GET /<origin hash>/checkpoint */
	n = strlen(url);
	tail = "/checkpoint";
	if (n > strlen(tail) + 1 && n - strlen(tail) - 1 < sizeof(hash) && strcmp(url + n - strlen(tail), tail) == 0 &&
	    url[0] == '/') {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return wh_send(conn, 405, "text/plain; charset=utf-8", "GET only\n", 9);
		memcpy(hash, url + 1, n - strlen(tail) - 1);
		hash[n - strlen(tail) - 1] = '\0';
		if ((resp = malloc(sizeof(*resp))) == NULL)
			return MHD_NO;
		witness_get_checkpoint(h->w, hash, resp);
		ret = wh_respond(conn, resp);
		free(resp);
		return ret;
	}
	return wh_send(conn, 404, "text/plain; charset=utf-8", "not found\n", 10);
}

static void
wh_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct wh_body *b = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (b != NULL) {
		free(b->buf);
		free(b);
		*con_cls = NULL;
	}
}

int
witness_http_start(struct witness *w, const char *addr, uint16_t port, struct witness_http **out, uint16_t *bound)
{
	struct witness_http *h;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	*out = NULL;
	*bound = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return sd_error_set(SD_E_INVAL, "--listen %s is not an IPv4 address", addr);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SD_E_NOMEM;
	h->w = w;
	/* One thread: requests run one at a time, which also orders each log's check-and-store. */
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, port, NULL,
	    NULL, wh_handler, h,
	    MHD_OPTION_NOTIFY_COMPLETED, wh_completed, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, WH_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, WH_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		free(h);
		return sd_error_set(SD_E_IO, "cannot listen on %s:%u", addr, (unsigned)port);
	}
	if ((info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT)) == NULL || info->port == 0) {
		witness_http_stop(h);
		return sd_error_set(SD_E_IO, "cannot tell the port bound on %s", addr);
	}
	*bound = info->port;
	*out = h;
	return 0;
}

void
witness_http_stop(struct witness_http *h)
{
	if (h == NULL)
		return;
	if (h->daemon != NULL)
		MHD_stop_daemon(h->daemon);
	free(h);
}
