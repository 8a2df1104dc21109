#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <microhttpd.h>

#include "api.h"
#include "api_auth.h"
#include "acme_validator.h"
#include "api_guard.h"
#include "api_http.h"
#include "api_json.h"
#include "api_metrics.h"
#include "api_public.h"
#include "api_refusals.h"
#include "api_routes.h"
#include "api_view.h"
#include "sd_file.h"
#include "sd_log.h"
#include "sd_metrics.h"

#define API_TLS_FILE_MAX (1024 * 1024)
/*
 * libmicrohttpd's per-connection pool: the read buffer (request line,
 * headers, body as it streams through) and the answer's headers. It zeroes
 * the whole pool after every request, so each keep-alive connection keeps
 * all of it resident: 32 KiB (its default; about 30 KiB of headers) rather
 * than 64 saves 2 MB of RSS at 64 connections. Bodies are copied out
 * (max_body bounds them), not held in the pool.
 */
#define API_CONNECTION_MEMORY (32 * 1024)
#define API_BODY_HARD_MAX (16 * 1024 * 1024)	/* largest api_max_body accepted */
#define API_STOP_WAIT_MS 10000			/* in-flight requests get this long at stop */
#define API_REQUEST_ID_LEN 16			/* hex digits of X-Request-Id */

/*
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites, and key exchange on
 * the elliptic curve groups only: a finite-field group (up to FFDHE8192)
 * costs the server up to 200 times an ECDHE handshake, at the client's
 * choice.
 */
#define API_TLS_PRIORITIES \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:-AES-256-CBC:-AES-128-CBC:-SHA1:%SERVER_PRECEDENCE"

#define API_REFUSALS_WINDOW_MS 60000	/* the front's refusal counts go to the journal this often */

struct api_server {
	struct MHD_Daemon *daemon;
	unsigned listener;			/* enum api_listener: which routes it serves, TLS or not */
	const char *name;			/* static: "https" or "public", in log lines */
	uint8_t *ca_der;			/* the public listener's CA certificate (ctx.ca_der) */
	struct api_auth *holder_auth;		/* ctx.holder_auth: the issuing CA (HTTPS listener) */
	struct api_ctx ctx;
	/* The configuration requests read now (api_view.h); a reload replaces it. */
	pthread_mutex_t view_lock;
	bool view_lock_ready;
	struct api_view *view;
	unsigned start_max_connections;		/* libmicrohttpd's limit and timeout are set from these */
	uint64_t start_backstop;
	struct api_guard *guard;
	struct api_metrics *metrics;
	struct api_refusals *refusals;		/* every 4xx, journaled as summaries (api_refusals.h) */
	uint32_t request_id_prefix;		/* random per process: ids of two runs differ */
	atomic_uint_fast64_t request_id_next;
	/* libmicrohttpd keeps pointers to these until it stops. */
	uint8_t *tls_cert;
	size_t tls_cert_len;
	uint8_t *tls_key;
	size_t tls_key_len;
	uint8_t *client_ca;
	size_t client_ca_len;
	struct sockaddr_storage addr;
	uint16_t port;
	atomic_uint in_flight;
};

/* One request's state across the access-handler calls. */
struct api_exchange {
	struct api_call call;
	const struct api_route *route;
	char *body;
	size_t body_len;
	size_t body_cap;
	bool responded;
	struct api_conn *conn;		/* the connection's state, or NULL */
	struct api_view *view;		/* the configuration this request reads, from start to end */
	struct api_ctx ctx;		/* the server's, with the view's configuration and trust list */
	const char *listener;		/* the server's name, for the log */
	uint64_t start_us;		/* headers complete (CLOCK_MONOTONIC) */
	char request_id[API_REQUEST_ID_LEN + 1];
};

/*
 * One TLS connection's state across its requests: the client it verified
 * to, its place in the guard. libmicrohttpd runs a connection on one
 * thread, so the cache needs no lock.
 */
struct api_conn {
	struct api_auth_cache auth;
	struct api_server *srv;
	struct api_guard_conn *guard;	/* NULL if it could not be tracked (it is being shut down) */
};

/* The last message libmicrohttpd logged on this thread (start-up failures). */
static _Thread_local char api_mhd_last[256];

static void api_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api_server *srv = cls;
	int n;
	size_t len;

	n = vsnprintf(api_mhd_last, sizeof(api_mhd_last), fmt, ap);
	if (n < 0) {
		api_mhd_last[0] = '\0';
		return;
	}
	len = strlen(api_mhd_last);
	while (len > 0 && (api_mhd_last[len - 1] == '\n' || api_mhd_last[len - 1] == '\r'))
		api_mhd_last[--len] = '\0';
	/* Once serving, its per-connection complaints are what a flood makes: a few, then a count. */
	if (srv->guard != NULL && !api_guard_library_log(srv->guard))
		return;
	sd_log(SD_LOG_WARN, "api: %s", api_mhd_last);
}

/* A new request's id: this process's random prefix, then a counter (unique, not secret). */
static void
api_request_id(struct api_server *srv, char id[API_REQUEST_ID_LEN + 1])
{
	uint64_t n = atomic_fetch_add_explicit(&srv->request_id_next, 1, memory_order_relaxed);

	(void)snprintf(id, API_REQUEST_ID_LEN + 1, "%08x%08x", (unsigned)srv->request_id_prefix,
	    (unsigned)(n & 0xffffffffu));
}

/* The guard's record of the exchange's connection, or NULL. */
static struct api_guard_conn *
api_exchange_guard(const struct api_exchange *x)
{
	return x->conn != NULL ? x->conn->guard : NULL;
}

/*
 * One JSON line per request: its id (also the X-Request-Id header), method,
 * path, the [client] matched, status, then the serial or why it failed, the
 * source address, how long it took and the certificate's CN (a pinned
 * client's CN says little; a refused one's says who tried). Refusals of
 * unauthenticated requests are logged in full only for a source's first few
 * in an interval; the guard summarises the rest. Never the body.
 */
static void
api_log_request(const struct api_exchange *x, const struct api_response *resp, uint64_t duration_us)
{
	struct sd_log_field f[11];
	size_t n = 0;

	f[n++] = SD_LOG_STR("request_id", x->request_id);
	f[n++] = SD_LOG_STR("listener", x->listener);
	f[n++] = SD_LOG_STR("method", x->call.method);
	f[n++] = SD_LOG_STR("path", x->call.path);
	f[n++] = SD_LOG_STR("client", x->call.client != NULL ? x->call.client->name : "-");
	f[n++] = SD_LOG_NUM("status", resp->status);
	if (resp->serial[0] != '\0')
		f[n++] = SD_LOG_STR("serial", resp->serial);
	else if (resp->log_detail[0] != '\0')
		f[n++] = SD_LOG_STR("error", resp->log_detail);
	f[n++] = SD_LOG_STR("source", api_guard_conn_source(api_exchange_guard(x)));
	f[n++] = SD_LOG_NUM("duration_us", duration_us);
	f[n++] = SD_LOG_STR("cn", x->call.authenticated && x->call.id.cn[0] != '\0' ? x->call.id.cn : "-");
	sd_log_fields(SD_LOG_INFO, "request", f, n);
}

static enum MHD_Result
api_server_respond(struct api_server *srv, struct MHD_Connection *conn, struct api_exchange *x,
    struct api_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char retry[24];
	uint64_t took;
	size_t i;
	bool log = true;

	x->responded = true;
	took = sd_monotonic_us() - x->start_us;
	api_metrics_request(srv->metrics, x->route, resp->status, took);
	api_refusals_count(srv->refusals, resp->status, resp->problem);
	if (resp->status >= 400 && resp->status < 500 && !x->call.authenticated)
		log = api_guard_refused(srv->guard, api_exchange_guard(x),
		    resp->status == 401 ? API_GUARD_R_UNAUTHENTICATED : API_GUARD_R_REFUSED);
	if (log)
		api_log_request(x, resp, took);
	(void)snprintf(retry, sizeof(retry), "%u", resp->retry_after);
	if (resp->body != NULL) {
		r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
		if (r != NULL)
			resp->body = NULL;	/* MHD frees it with free() */
	} else {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	if (r == NULL) {
		api_response_clear(resp);
		return MHD_NO;
	}
	if ((resp->content_type != NULL &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type) != MHD_YES) ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    resp->cache_control[0] != '\0' ? resp->cache_control : "no-store") != MHD_YES ||
	    (resp->last_modified[0] != '\0' &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, resp->last_modified) != MHD_YES) ||
	    (resp->expires[0] != '\0' && MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, resp->expires) != MHD_YES) ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    (resp->close && MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) ||
	    MHD_add_response_header(r, "X-Request-Id", x->request_id) != MHD_YES ||
	    (resp->retry_after != 0 && MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry) != MHD_YES) ||
	    (resp->allow != NULL && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow) != MHD_YES) ||
	    (resp->transfer_encoding != NULL &&
	    MHD_add_response_header(r, "Content-Transfer-Encoding", resp->transfer_encoding) != MHD_YES) ||
	    (resp->location[0] != '\0' && MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location) != MHD_YES) ||
	    (resp->replay_nonce[0] != '\0' && MHD_add_response_header(r, "Replay-Nonce", resp->replay_nonce) != MHD_YES)) {
		MHD_destroy_response(r);
		api_response_clear(resp);
		return MHD_NO;
	}
	for (i = 0; i < resp->n_links && i < SIGNER_ACME_LINKS_MAX; i++) {
		if (MHD_add_response_header(r, MHD_HTTP_HEADER_LINK, resp->links[i]) != MHD_YES) {
			MHD_destroy_response(r);
			api_response_clear(resp);
			return MHD_NO;
		}
	}
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	api_response_clear(resp);
	api_guard_response_queued(srv->guard, api_exchange_guard(x));
	return ret;
}

/* A refusal before the route's handler runs: the problem, and the connection ends. */
static enum MHD_Result
api_server_refuse(struct api_server *srv, struct MHD_Connection *conn, struct api_exchange *x,
    const struct api_problem *p, struct api_response *resp)
{
	if (p != NULL)
		api_response_refusal(resp, p);
	resp->close = true;
	return api_server_respond(srv, conn, x, resp);
}

/* Keep up to api_max_body bytes of the body; more is a broken promise (Content-Length was checked). */
static bool
api_exchange_append(struct api_exchange *x, size_t max, const char *data, size_t len)
{
	size_t cap;
	char *p;

	if (len > max - x->body_len)
		return false;
	if (x->body_len + len + 1 > x->body_cap) {
		cap = x->body_cap == 0 ? 4096 : x->body_cap;
		while (cap < x->body_len + len + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > max + 1)
			cap = max + 1;
		if ((p = realloc(x->body, cap)) == NULL)
			return false;
		x->body = p;
		x->body_cap = cap;
	}
	memcpy(x->body + x->body_len, data, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return true;
}

/*
 * The first call for a request, its headers complete: framing, route,
 * body rules and admission, all before a body byte is read. Returns
 * MHD_YES with no response queued to go on reading the body.
 */
static enum MHD_Result
api_server_begin(struct api_server *srv, struct MHD_Connection *conn, struct api_exchange *x, const char *url,
    const char *method, const char *version)
{
	const union MHD_ConnectionInfo *info;
	struct api_http_frame frame;
	struct api_response resp;
	struct api_problem p;
	const char *allow;

	memset(&resp, 0, sizeof(resp));
	x->call.method = method;
	x->call.path = url;
	if (!api_http_check(conn, url, version, &frame, &p))
		return api_server_refuse(srv, conn, x, &p, &resp);
	if ((x->route = api_route_find_on(srv->listener, url, method, &allow, &x->call.path_param)) == NULL) {
		if (allow != NULL) {
			api_problem_set(&p, API_P_METHOD_NOT_ALLOWED, "%s is not allowed on %s; use %s", method, url,
			    allow);
			resp.allow = allow;
		} else {
			api_problem_set(&p, API_P_NOT_FOUND, "no resource at %s", url);
		}
		return api_server_refuse(srv, conn, x, &p, &resp);
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	x->call.tls = info != NULL ? (gnutls_session_t)info->tls_session : NULL;
	if (x->conn != NULL)
		x->call.auth_cache = &x->conn->auth;
	x->call.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	x->call.content_length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	x->call.query_from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
	x->call.query_limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	x->call.query_serial = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "serial");
	x->call.query_profile = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "profile");
	x->call.query_client = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "client");
	x->call.query_san = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "san");
	x->call.query_valid_at = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "valid_at");
	x->call.query_expires_before = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "expires_before");
	x->call.query_cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
	x->call.if_modified_since = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	x->call.host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!api_route_admit(&x->ctx, x->route, &x->call, &resp))
		return api_server_refuse(srv, conn, x, NULL, &resp);
	if (x->call.authenticated)
		api_guard_authenticated(srv->guard, api_exchange_guard(x));
	if (x->route->flags & API_ROUTE_BODY) {
		/* A body's size is known before it is read, so that an over-long one is refused unread. */
		if (frame.chunked) {
			api_problem_set(&p, API_P_LENGTH_REQUIRED, "%s %s needs a Content-Length", method, url);
			return api_server_refuse(srv, conn, x, &p, &resp);
		}
	} else if (frame.chunked || frame.length != 0) {
		api_problem_set(&p, API_P_BAD_HTTP, "%s %s takes no body", method, url);
		return api_server_refuse(srv, conn, x, &p, &resp);
	}
	api_guard_request_begin(srv->guard, api_exchange_guard(x), frame.length != 0);
	return MHD_YES;
}

static enum MHD_Result
api_server_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_exchange *x = *con_cls;
	const union MHD_ConnectionInfo *info;
	struct api_response resp;

	if (x == NULL) {
		sd_error_clear();
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return MHD_NO;
		*con_cls = x;
		x->start_us = sd_monotonic_us();
		pthread_mutex_lock(&srv->view_lock);
		x->view = api_view_ref(srv->view);
		pthread_mutex_unlock(&srv->view_lock);
		x->ctx = srv->ctx;
		x->ctx.cfg = x->view->cfg;
		x->ctx.auth = x->view->auth;
		x->listener = srv->name;
		api_request_id(srv, x->request_id);
		atomic_fetch_add(&srv->in_flight, 1);
		x->conn = info != NULL ? info->socket_context : NULL;
		return api_server_begin(srv, conn, x, url, method, version);
	}
	if (x->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* Only routes with a body get here (api_server_begin() refused the others' bodies). */
		if (!(x->route->flags & API_ROUTE_BODY) ||
		    !api_exchange_append(x, api_route_body_max(&x->ctx, x->route), upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	sd_error_clear();
	memset(&resp, 0, sizeof(resp));
	api_guard_request_body_done(srv->guard, api_exchange_guard(x));
	x->call.body = x->body != NULL ? x->body : "";
	x->call.body_len = x->body_len;
	x->route->handler(&x->ctx, &x->call, &resp);
	/* The handler verified the client itself (an ACME JWS): it leaves the unauthenticated budget. */
	if (resp.authenticated)
		api_guard_authenticated(srv->guard, api_exchange_guard(x));
	return api_server_respond(srv, conn, x, &resp);
}

static void
api_server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct api_exchange *x = *con_cls;

	(void)conn;
	(void)toe;
	if (x == NULL)
		return;
	api_guard_request_done(srv->guard, api_exchange_guard(x));
	api_view_put(x->view);
	free(x->body);
	free(x);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* libmicrohttpd's accept policy: the guard's per-source limits and budget. */
static enum MHD_Result
api_server_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct api_server *srv = cls;

	return api_guard_admit(srv->guard, addr, addrlen) ? MHD_YES : MHD_NO;
}

/* The connection a TLS session belongs to (libmicrohttpd keeps it as the session's pointer). */
static struct api_conn *
api_server_session_conn(gnutls_session_t session)
{
	struct MHD_Connection *mc = gnutls_session_get_ptr(session);
	const union MHD_ConnectionInfo *info;

	if (mc == NULL || (info = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) == NULL)
		return NULL;
	return info->socket_context;
}

/*
 * Handshake messages: a ClientHello offering at most TLS 1.1 gets a
 * protocol_version alert (GnuTLS would only close), and the client's
 * Finished ends the handshake deadline.
 */
static int
api_server_tls_hook(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
    const gnutls_datum_t *msg)
{
	struct api_conn *c;

	if (!incoming)
		return 0;
	if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && when == GNUTLS_HOOK_PRE && msg != NULL && msg->size >= 2 &&
	    (msg->data[0] < 3 || (msg->data[0] == 3 && msg->data[1] < 3))) {
		(void)gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_PROTOCOL_VERSION);
		if ((c = api_server_session_conn(session)) != NULL)
			(void)api_guard_refused(c->srv->guard, c->guard, API_GUARD_R_TLS);
		return GNUTLS_E_UNSUPPORTED_VERSION_PACKET;
	}
	if (htype == GNUTLS_HANDSHAKE_FINISHED && when == GNUTLS_HOOK_POST &&
	    (c = api_server_session_conn(session)) != NULL)
		api_guard_handshake_done(c->srv->guard, c->guard);
	return 0;
}

/*
 * A connection opens or closes: its state, registered with the guard (which
 * shuts it down at once when there is no room). Out of memory, the socket is
 * shut down: an untracked connection would escape every deadline.
 */
static void
api_server_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct api_server *srv = cls;
	struct api_conn *c = *socket_context;
	const union MHD_ConnectionInfo *fd, *addr, *tls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		tls = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (fd == NULL)
			abort();	/* libmicrohttpd always knows a connection's socket */
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			(void)shutdown(fd->connect_fd, SHUT_RDWR);
			return;
		}
		c->srv = srv;
		c->guard = api_guard_conn_open(srv->guard, fd->connect_fd, addr != NULL ? addr->client_addr : NULL,
		    addr != NULL && addr->client_addr != NULL && addr->client_addr->sa_family == AF_INET6 ?
		    (socklen_t)sizeof(struct sockaddr_in6) : (socklen_t)sizeof(struct sockaddr_in));
		if (tls != NULL && tls->tls_session != NULL)
			gnutls_handshake_set_hook_function((gnutls_session_t)tls->tls_session, GNUTLS_HANDSHAKE_ANY,
			    GNUTLS_HOOK_BOTH, api_server_tls_hook);
		else if (!(srv->listener & API_LISTENER_TLS))
			api_guard_handshake_done(srv->guard, c->guard);	/* plain HTTP: no handshake stage */
		*socket_context = c;
		return;
	}
	if (c != NULL) {
		api_guard_conn_close(srv->guard, c->guard);
		api_auth_cache_clear(&c->auth);
		free(c);
	}
	*socket_context = NULL;
}

/* SD_E_CONFIG naming what the file is for; sd_file's detail already names the path. */
static int
api_server_file_error(int rc, const char *what)
{
	char why[256];
	int n;

	if (rc == SD_E_NOMEM)
		return rc;
	/* Copy first: the detail lives in the buffer sd_error_set() rewrites. */
	n = snprintf(why, sizeof(why), "%s", sd_error_detail(rc));
	if (n < 0)
		why[0] = '\0';
	return sd_error_set(SD_E_CONFIG, "%s: %s", what, why);
}

static int
api_server_read_tls(const struct sd_config *cfg, struct api_server *srv)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t cert, key;
	int rc, g;

	/*
	 * GnuTLS would load every PKCS#11 module p11-kit registers (SoftHSM
	 * among them) the first time it meets a pkcs11: URL: the process that
	 * terminates TLS loads none.
	 */
	if (gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL) < 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot keep GnuTLS from loading PKCS#11 modules");
		goto out;
	}
	if ((rc = sd_file_read(cfg->api_tls_certificate, API_TLS_FILE_MAX, &srv->tls_cert, &srv->tls_cert_len)) != 0) {
		rc = api_server_file_error(rc, "[api] TLS certificate");
		goto out;
	}
	if ((rc = sd_file_read(cfg->api_tls_key, API_TLS_FILE_MAX, &srv->tls_key, &srv->tls_key_len)) != 0) {
		rc = api_server_file_error(rc, "[api] TLS key");
		goto out;
	}
	if ((rc = sd_file_read(cfg->api_client_ca, API_TLS_FILE_MAX, &srv->client_ca, &srv->client_ca_len)) != 0) {
		rc = api_server_file_error(rc, "[api] client CA");
		goto out;
	}
	if (srv->tls_cert_len > UINT32_MAX || srv->tls_key_len > UINT32_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "[api] TLS files too large");
		goto out;
	}
	/* Check the pair here so that a bad file is reported by name, not as a failed start. */
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		cred = NULL;
		rc = SD_E_NOMEM;
		goto out;
	}
	cert.data = srv->tls_cert;
	cert.size = (unsigned)srv->tls_cert_len;
	key.data = srv->tls_key;
	key.size = (unsigned)srv->tls_key_len;
	if ((g = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		rc = sd_error_set(SD_E_CONFIG, "[api] TLS certificate %s and key %s: %s",
		    cfg->api_tls_certificate, cfg->api_tls_key, gnutls_strerror(g));
		goto out;
	}
	rc = 0;
out:
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	return rc;
}

static int
api_server_address(const struct api_listen_spec *spec, struct api_server *srv, bool *ipv6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&srv->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&srv->addr;

	memset(&srv->addr, 0, sizeof(srv->addr));
	*ipv6 = false;
	if (spec->address == NULL)
		return sd_error_set(SD_E_CONFIG, "[api] %s is not set", spec->key);
	if (inet_pton(AF_INET, spec->address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(spec->port);
		return 0;
	}
	if (inet_pton(AF_INET6, spec->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(spec->port);
		*ipv6 = true;
		return 0;
	}
	return sd_error_set(SD_E_CONFIG, "[api] %s \"%s\" is not an IPv4 or IPv6 address", spec->key, spec->address);
}

/* The guard's limits from [api]. */
static void
api_server_limits(const struct sd_config *cfg, struct api_guard_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_connections = cfg->api_max_connections;
	lim->max_per_source = cfg->api_max_connections_per_source;
	lim->handshake_ms = (unsigned)(cfg->api_handshake_timeout * 1000);
	lim->header_ms = (unsigned)(cfg->api_header_timeout * 1000);
	lim->request_ms = (unsigned)(cfg->api_request_timeout * 1000);
	lim->idle_ms = (unsigned)(cfg->api_idle_timeout * 1000);
	lim->unauth_rate = cfg->api_unauthenticated_rate;
	lim->unauth_burst = cfg->api_unauthenticated_burst;
}

int
api_server_reload(struct api_server *srv, struct sd_config *next)
{
	struct api_guard_limits lim;
	struct api_view *view = NULL, *old;
	int rc;

	if ((rc = sd_config_reload_check(srv->view->cfg, next)) != 0)
		return rc;
	/* libmicrohttpd's connection limit and timeout were set at start: a reload may only stay under them. */
	if (next->api_max_connections > srv->start_max_connections)
		return sd_error_set(SD_E_CONFIG, "%s: [api] max_connections may only be lowered by a reload "
		    "(%u at start): a restart raises it", next->path, srv->start_max_connections);
	if (next->api_idle_timeout + next->api_request_timeout > srv->start_backstop)
		return sd_error_set(SD_E_CONFIG, "%s: [api] request_timeout + idle_timeout may not grow past %llu s "
		    "by a reload: a restart raises them", next->path, (unsigned long long)srv->start_backstop);
	if ((rc = api_view_new(next, next, &view)) != 0)
		return rc;
	api_server_limits(next, &lim);
	api_guard_limits_set(srv->guard, &lim);
	pthread_mutex_lock(&srv->view_lock);
	old = srv->view;
	srv->view = view;
	pthread_mutex_unlock(&srv->view_lock);
	/* Requests that started before keep the old view until they end. */
	api_view_put(old);
	return 0;
}

/* A window of this listener's refusals, to the signer's journal (api_refusals.h). */
static int
api_server_send_refusals(void *ctx, int64_t window_start_ms, uint64_t count, const char *detail)
{
	struct api_server *srv = ctx;

	return signer_api_refusals(srv->ctx.signer, window_start_ms, count, detail);
}

static void
api_server_free(struct api_server *srv)
{
	if (srv == NULL)
		return;
	api_view_put(srv->view);
	if (srv->view_lock_ready)
		pthread_mutex_destroy(&srv->view_lock);
	acme_validator_free(srv->ctx.acme_validator);
	/* Requests are over: the last window of refusals goes to the signer while it still listens. */
	api_refusals_stop(srv->refusals);
	api_guard_free(srv->guard);
	api_metrics_free(srv->metrics);
	free(srv->ca_der);
	api_auth_free(srv->holder_auth);
	free(srv->tls_cert);
	free(srv->client_ca);
	if (srv->tls_key != NULL) {
		gnutls_memset(srv->tls_key, 0, srv->tls_key_len);
		free(srv->tls_key);
	}
	free(srv);
}

static bool
api_server_acme_on(const struct sd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].acme)
			return true;
	return false;
}

/*
 * The holders' trust anchor: the issuing CA alone, so that only what it
 * issued verifies (not what a sibling CA under the same root issued).
 */
static int
api_server_holder_auth(struct signer *s, struct api_auth **out)
{
	const char *pem = signer_chain_count(s) > 0 ? signer_chain_pem(s, 0) : NULL;
	struct api_auth_material m;

	*out = NULL;
	if (pem == NULL)
		return sd_error_set(SD_E_INTERNAL, "the signer has no issuing CA certificate");
	memset(&m, 0, sizeof(m));
	m.ca_pem = (const uint8_t *)pem;
	m.ca_len = strlen(pem);
	m.ca_name = "the issuing CA certificate";
	m.any_purpose = true;
	return api_auth_new(&m, out);
}

int
api_server_listen(const struct sd_config *cfg, struct signer *s, struct api_listen_spec *spec,
    struct api_server **out)
{
	struct api_server *srv = NULL;
	const union MHD_DaemonInfo *info;
	struct api_guard_limits lim;
	struct MHD_OptionItem tls[5];
	unsigned flags, limit;
	bool ipv6, use_tls = (spec->listener & API_LISTENER_TLS) != 0;
	int rc;

	*out = NULL;
	if (cfg == NULL || s == NULL)
		abort();
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	atomic_init(&srv->in_flight, 0);
	srv->listener = spec->listener;
	srv->name = use_tls ? "https" : "public";
	srv->ca_der = spec->ca_der;
	srv->ctx.ca_der = spec->ca_der;
	srv->ctx.ca_der_len = spec->ca_der_len;
	spec->ca_der = NULL;
	if (cfg->api_max_body == 0 || cfg->api_max_body > API_BODY_HARD_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "[api] max body %zu is outside 1 .. %d bytes", cfg->api_max_body,
		    API_BODY_HARD_MAX);
		goto out;
	}
	if ((rc = api_server_address(spec, srv, &ipv6)) != 0 ||
	    (use_tls && (rc = api_server_read_tls(cfg, srv)) != 0) ||
	    (rc = api_view_new(cfg, NULL, &srv->view)) != 0)
		goto out;
	if (pthread_mutex_init(&srv->view_lock, NULL) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
		goto out;
	}
	srv->view_lock_ready = true;
	srv->start_max_connections = cfg->api_max_connections;
	srv->start_backstop = cfg->api_idle_timeout + cfg->api_request_timeout;
	if ((rc = api_metrics_new(&srv->metrics)) != 0)
		goto out;
	if (getrandom(&srv->request_id_prefix, sizeof(srv->request_id_prefix), 0) !=
	    (ssize_t)sizeof(srv->request_id_prefix)) {
		rc = sd_error_set(SD_E_INTERNAL, "getrandom failed");
		goto out;
	}
	srv->ctx.signer = s;
	srv->ctx.metrics = srv->metrics;
	/* ACME validations belong to the HTTPS listener, which serves /acme/ (none when no profile has acme). */
	if (use_tls && api_server_acme_on(cfg) && (rc = acme_validator_new(cfg, s, &srv->ctx.acme_validator)) != 0)
		goto out;
	if (use_tls && (rc = api_server_holder_auth(s, &srv->holder_auth)) != 0)
		goto out;
	srv->ctx.holder_auth = srv->holder_auth;
	api_server_limits(cfg, &lim);
	if ((rc = api_guard_new(&lim, &srv->guard)) != 0)
		goto out;
	if ((rc = api_refusals_start(srv->name, API_REFUSALS_WINDOW_MS, api_server_send_refusals, srv,
	    &srv->refusals)) != 0)
		goto out;
	/*
	 * libmicrohttpd's own limit sits above the guard's, so that connections
	 * being evicted (shut down, not yet closed) never lock a newcomer out.
	 */
	limit = cfg->api_max_connections + (cfg->api_max_connections / 4 > 16 ? cfg->api_max_connections / 4 : 16);
	/*
	 * One thread per connection: a request waiting for the HSM or for the
	 * journal's durable commit holds up no other connection (a shared pool
	 * thread would stall every connection it owns), and all waiting issuances
	 * can share one journal commit. Small stacks keep 256 threads cheap.
	 */
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (use_tls)
		flags |= MHD_USE_TLS;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	memset(tls, 0, sizeof(tls));
	tls[0].option = MHD_OPTION_END;
	if (use_tls) {
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert };
		/* Given a trust list, libmicrohttpd requests (not requires) a client certificate. */
		tls[2] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca };
		tls[3] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)API_TLS_PRIORITIES };
		tls[4] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	}
	api_mhd_last[0] = '\0';
	/* The port argument is ignored when MHD_OPTION_SOCK_ADDR is given. */
	srv->daemon = MHD_start_daemon(flags, spec->port, api_server_accept, srv, api_server_access, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, api_server_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, api_server_connection, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    /* A backstop: the guard's deadlines come first and activity does not extend them. */
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->api_idle_timeout + cfg->api_request_timeout),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONNECTION_MEMORY,
	    /* Host and the other framing rules are checked by api_http_check(), which answers problem+json. */
	    MHD_OPTION_STRICT_FOR_CLIENT, 0,
	    /* Routes match the path as sent: "/v1/%73ign" is not "/v1/sign". */
	    MHD_OPTION_UNESCAPE_CALLBACK, api_http_unescape_none, NULL,
	    /* The TLS identity and trust list (the HTTPS listener), or nothing. */
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		rc = sd_error_set(SD_E_IO, "cannot serve %s on %s%s%s:%u: %s", srv->name, ipv6 ? "[" : "",
		    spec->address, ipv6 ? "]" : "", (unsigned)spec->port,
		    api_mhd_last[0] != '\0' ? api_mhd_last : "libmicrohttpd failed to start");
		goto out;
	}
	if ((info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT)) == NULL || info->port == 0) {
		rc = sd_error_set(SD_E_IO, "cannot tell which port %s is bound to", spec->address);
		goto out;
	}
	srv->port = info->port;
	*out = srv;
	srv = NULL;
	rc = 0;
out:
	if (srv != NULL && srv->daemon != NULL)
		MHD_stop_daemon(srv->daemon);
	api_server_free(srv);
	return rc;
}

int
api_server_start(const struct sd_config *cfg, struct signer *s, struct api_server **out)
{
	struct api_listen_spec spec = { API_LISTENER_TLS, "listen", cfg->api_listen, cfg->api_port, NULL, 0 };

	return api_server_listen(cfg, s, &spec, out);
}

uint16_t
api_server_port(const struct api_server *srv)
{
	return srv != NULL ? srv->port : 0;
}

void
api_server_stop(struct api_server *srv)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	MHD_socket fd;
	unsigned waited;

	if (srv == NULL)
		return;
	/* Stop accepting, let requests being handled finish, then stop. */
	fd = MHD_quiesce_daemon(srv->daemon);
	for (waited = 0; atomic_load(&srv->in_flight) != 0 && waited < API_STOP_WAIT_MS; waited += 50)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	api_server_free(srv);
}
