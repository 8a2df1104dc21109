#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "api.h"
#include "api_auth.h"
#include "api_json.h"
#include "api_routes.h"
#include "sd_file.h"

#define API_TLS_FILE_MAX (1024 * 1024)
#define API_CONNECTION_TIMEOUT 30		/* seconds idle before a connection is closed */
#define API_CONNECTION_LIMIT 256
#define API_CONNECTION_MEMORY (64 * 1024)	/* per-connection pool: request line and headers */
#define API_WORKERS_MAX 256
#define API_BODY_HARD_MAX (16 * 1024 * 1024)	/* largest api_max_body accepted */
#define API_DRAIN_MAX (1024 * 1024)		/* body bytes read past the limit before hanging up */
#define API_STOP_WAIT_MS 10000			/* in-flight requests get this long at stop */
#define API_LOG_FIELD 128

/* TLS 1.2 and 1.3 only, forward-secret AEAD suites. */
#define API_TLS_PRIORITIES \
	"SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-DHE-RSA:-AES-256-CBC:-AES-128-CBC:-SHA1:%SERVER_PRECEDENCE"

struct api_server {
	struct MHD_Daemon *daemon;
	struct api_ctx ctx;
	struct api_auth *auth;
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
	size_t drained;			/* bytes past the limit that were read and dropped */
	bool too_large;
	bool responded;
};

/*
 * One TLS connection's state across its requests: the client it verified
 * to. libmicrohttpd runs a connection on one pool thread, so no lock.
 */
struct api_conn {
	struct api_auth_cache auth;
};

/* The last message libmicrohttpd logged on this thread (start-up failures). */
static _Thread_local char api_mhd_last[256];

static void api_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	int n;
	size_t len;

	(void)cls;
	n = vsnprintf(api_mhd_last, sizeof(api_mhd_last), fmt, ap);
	if (n < 0) {
		api_mhd_last[0] = '\0';
		return;
	}
	len = strlen(api_mhd_last);
	while (len > 0 && (api_mhd_last[len - 1] == '\n' || api_mhd_last[len - 1] == '\r'))
		api_mhd_last[--len] = '\0';
	fprintf(stderr, "signerd: api: %s\n", api_mhd_last);
}

/* Copy s for a log line: printable ASCII only, bounded, "-" when absent. */
static void
api_log_clean(char *out, size_t size, const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		s = "-";
	for (i = 0; i + 1 < size && s[i] != '\0'; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	out[i] = '\0';
}

/* One line per request: method, path, client CN, status, then the serial or why it failed. */
static void
api_log_request(const struct api_exchange *x, const struct api_response *resp)
{
	char method[16], path[API_LOG_FIELD], cn[API_LOG_FIELD], note[256], extra[300], line[768];
	size_t len, at;
	ssize_t w;
	int n = 0;

	api_log_clean(method, sizeof(method), x->call.method);
	api_log_clean(path, sizeof(path), x->call.path);
	api_log_clean(cn, sizeof(cn), x->call.authenticated ? x->call.id.cn : NULL);
	extra[0] = '\0';
	if (resp->serial[0] != '\0') {
		api_log_clean(note, sizeof(note), resp->serial);
		n = snprintf(extra, sizeof(extra), " serial=%s", note);
	} else if (resp->log_detail[0] != '\0') {
		api_log_clean(note, sizeof(note), resp->log_detail);
		n = snprintf(extra, sizeof(extra), " error=\"%s\"", note);
	}
	if (n < 0 || (size_t)n >= sizeof(extra))
		extra[0] = '\0';
	/* One write(2) per line: no stdio lock, and lines of concurrent requests never interleave. */
	n = snprintf(line, sizeof(line), "signerd: api: %s %s client=%s status=%u%s\n", method, path, cn,
	    resp->status, extra);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if ((size_t)n >= sizeof(line))
		line[len - 1] = '\n';
	at = 0;
	while (at < len) {
		w = write(STDERR_FILENO, line + at, len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* the log is best effort; the response still goes out */
		at += (size_t)w;
	}
}

static enum MHD_Result
api_server_respond(struct MHD_Connection *conn, struct api_exchange *x, struct api_response *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	x->responded = true;
	api_log_request(x, resp);
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
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    (resp->retry_after && MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5") != MHD_YES) ||
	    (resp->allow != NULL && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow) != MHD_YES)) {
		MHD_destroy_response(r);
		api_response_clear(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	api_response_clear(resp);
	return ret;
}

/* Keep up to api_max_body bytes of the body; past it, remember and drop. */
static bool
api_exchange_append(struct api_exchange *x, size_t max, const char *data, size_t len)
{
	size_t cap;
	char *p;

	if (x->too_large || len > max - x->body_len) {
		x->too_large = true;
		if (len > API_DRAIN_MAX - x->drained)
			return false;
		x->drained += len;
		return true;
	}
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

static enum MHD_Result
api_server_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_exchange *x = *con_cls;
	const union MHD_ConnectionInfo *info;
	struct api_response resp;
	struct api_problem p;
	const char *allow;

	(void)version;
	memset(&resp, 0, sizeof(resp));
	if (x == NULL) {
		sd_error_clear();
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return MHD_NO;
		*con_cls = x;
		atomic_fetch_add(&srv->in_flight, 1);
		x->call.method = method;
		x->call.path = url;
		if ((x->route = api_route_find(url, method, &allow)) == NULL) {
			if (allow != NULL) {
				api_problem_set(&p, API_P_METHOD_NOT_ALLOWED, "%s is not allowed on %s; use %s",
				    method, url, allow);
				resp.allow = allow;
			} else {
				api_problem_set(&p, API_P_NOT_FOUND, "no resource at %s", url);
			}
			api_response_problem(&resp, &p);
			return api_server_respond(conn, x, &resp);
		}
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		x->call.tls = info != NULL ? (gnutls_session_t)info->tls_session : NULL;
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (info != NULL && info->socket_context != NULL)
			x->call.auth_cache = &((struct api_conn *)info->socket_context)->auth;
		x->call.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE);
		x->call.content_length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		x->call.query_from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
		x->call.query_limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
		x->call.query_serial = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "serial");
		if (!api_route_admit(&srv->ctx, x->route, &x->call, &resp))
			return api_server_respond(conn, x, &resp);
		return MHD_YES;
	}
	if (x->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* Routes without a body drop one (up to a point); others keep it within the limit. */
		if (!(x->route->flags & API_ROUTE_BODY)) {
			if (*upload_data_size > API_DRAIN_MAX - x->drained)
				return MHD_NO;
			x->drained += *upload_data_size;
		} else if (!api_exchange_append(x, srv->ctx.cfg->api_max_body, upload_data, *upload_data_size)) {
			return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	sd_error_clear();
	if (x->too_large) {
		api_problem_set(&p, API_P_BODY_TOO_LARGE, "request body exceeds the limit of %zu bytes",
		    srv->ctx.cfg->api_max_body);
		api_response_problem(&resp, &p);
		return api_server_respond(conn, x, &resp);
	}
	x->call.body = x->body != NULL ? x->body : "";
	x->call.body_len = x->body_len;
	x->route->handler(&srv->ctx, &x->call, &resp);
	return api_server_respond(conn, x, &resp);
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
	free(x->body);
	free(x);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* A connection opens or closes: its state (NULL if out of memory: then every request verifies). */
static void
api_server_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct api_conn *c = *socket_context;

	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct api_conn));
		return;
	}
	if (c != NULL) {
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
api_server_address(const struct sd_config *cfg, struct api_server *srv, bool *ipv6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&srv->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&srv->addr;

	memset(&srv->addr, 0, sizeof(srv->addr));
	*ipv6 = false;
	if (cfg->api_listen == NULL)
		return sd_error_set(SD_E_CONFIG, "[api] listen is not set");
	if (inet_pton(AF_INET, cfg->api_listen, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(cfg->api_port);
		return 0;
	}
	if (inet_pton(AF_INET6, cfg->api_listen, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(cfg->api_port);
		*ipv6 = true;
		return 0;
	}
	return sd_error_set(SD_E_CONFIG, "[api] listen \"%s\" is not an IPv4 or IPv6 address", cfg->api_listen);
}

static void
api_server_free(struct api_server *srv)
{
	if (srv == NULL)
		return;
	api_auth_free(srv->auth);
	free(srv->tls_cert);
	free(srv->client_ca);
	if (srv->tls_key != NULL) {
		gnutls_memset(srv->tls_key, 0, srv->tls_key_len);
		free(srv->tls_key);
	}
	free(srv);
}

int
api_server_start(const struct sd_config *cfg, struct signer *s, struct api_server **out)
{
	struct api_server *srv = NULL;
	const union MHD_DaemonInfo *info;
	unsigned flags, workers, limit;
	bool ipv6;
	int rc;

	*out = NULL;
	if (cfg == NULL || s == NULL)
		abort();
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	atomic_init(&srv->in_flight, 0);
	if (cfg->api_max_body == 0 || cfg->api_max_body > API_BODY_HARD_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "[api] max body %zu is outside 1 .. %d bytes", cfg->api_max_body,
		    API_BODY_HARD_MAX);
		goto out;
	}
	if ((rc = api_server_address(cfg, srv, &ipv6)) != 0 ||
	    (rc = api_server_read_tls(cfg, srv)) != 0 ||
	    (rc = api_auth_new(srv->client_ca, srv->client_ca_len, cfg->api_client_ca, &srv->auth)) != 0)
		goto out;
	srv->ctx.cfg = cfg;
	srv->ctx.signer = s;
	srv->ctx.auth = srv->auth;

	workers = cfg->api_workers == 0 ? 1 : cfg->api_workers;
	if (workers > API_WORKERS_MAX)
		workers = API_WORKERS_MAX;
	limit = API_CONNECTION_LIMIT < workers * 4 ? workers * 4 : API_CONNECTION_LIMIT;
	/*
	 * One thread per connection: a request waiting for the HSM or for the
	 * journal's durable commit holds up no other connection (a shared pool
	 * thread would stall every connection it owns), and all waiting issuances
	 * can share one journal commit. Small stacks keep 256 threads cheap.
	 */
	flags = MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	api_mhd_last[0] = '\0';
	/* The port argument is ignored when MHD_OPTION_SOCK_ADDR is given. */
	srv->daemon = MHD_start_daemon(flags, cfg->api_port, NULL, NULL, api_server_access, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, api_server_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, api_server_connection, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&srv->addr,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONNECTION_MEMORY,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_HTTPS_MEM_KEY, (const char *)srv->tls_key,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)srv->tls_cert,
	    /* Given a trust list, libmicrohttpd requests (not requires) a client certificate. */
	    MHD_OPTION_HTTPS_MEM_TRUST, (const char *)srv->client_ca,
	    MHD_OPTION_HTTPS_PRIORITIES, API_TLS_PRIORITIES,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		rc = sd_error_set(SD_E_IO, "cannot serve on %s%s%s:%u: %s", ipv6 ? "[" : "", cfg->api_listen,
		    ipv6 ? "]" : "", (unsigned)cfg->api_port,
		    api_mhd_last[0] != '\0' ? api_mhd_last : "libmicrohttpd failed to start");
		goto out;
	}
	if ((info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT)) == NULL || info->port == 0) {
		rc = sd_error_set(SD_E_IO, "cannot tell which port %s is bound to", cfg->api_listen);
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
