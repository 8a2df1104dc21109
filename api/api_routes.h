/*
 * The API's routes: admission (client certificate, role, media type,
 * declared size) and one handler per route. Handlers see plain C data and
 * fill an api_response; they know nothing of libmicrohttpd, and reach the
 * issuance core only through signer.h.
 */
#ifndef API_ROUTES_H
#define API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "api_auth.h"
#include "api_json.h"
#include "config.h"
#include "signer.h"

/* What every handler shares; read-only while the server runs. */
struct api_ctx {
	const struct sd_config *cfg;
	struct signer *signer;
	const struct api_auth *auth;
	const struct api_auth *holder_auth;	/* the issuing CA as trust anchor (API_ROUTE_HOLDER), or NULL */
	const struct api_metrics *metrics;	/* the front's request counters, or NULL */
	struct acme_validator *acme_validator;	/* ACME challenge validations (HTTPS listener), or NULL */
	const uint8_t *ca_der;			/* the issuing CA certificate in DER (public listener), or NULL */
	size_t ca_der_len;
};

struct api_metrics;
struct acme_validator;

/* One request, as the handlers see it. Strings are borrowed from the server. */
struct api_call {
	const char *method;
	const char *path;
	gnutls_session_t tls;			/* NULL if none */
	struct api_auth_cache *auth_cache;	/* the connection's verified client, or NULL */
	const char *content_type;		/* header value or NULL */
	const char *content_length;		/* header value or NULL */
	const char *query_from;			/* ?from=, ?limit=, ?serial= (auditor routes) or NULL */
	const char *query_limit;
	const char *query_serial;
	const char *query_profile;		/* ?profile=, ?client=, ... (GET /v1/certificates) or NULL */
	const char *query_client;
	const char *query_san;
	const char *query_valid_at;
	const char *query_expires_before;
	const char *query_cursor;
	const char *if_modified_since;		/* header value or NULL */
	const char *host;			/* the Host header or NULL */
	const char *path_param;			/* the {name} segment of a route's path, or NULL */
	const char *body;			/* complete body (routes with API_ROUTE_BODY) */
	size_t body_len;
	/* Set by api_route_admit() for routes with API_ROUTE_AUTH. */
	bool authenticated;
	struct api_identity id;
	const struct config_client *client;
	/* API_ROUTE_HOLDER: no client matched, the certificate is one the CA issued (id.serial_hex names it). */
	bool holder;
};

/* One response. The server adds Cache-Control: no-store unless cache_control is set. */
struct api_response {
	unsigned status;
	const char *content_type;		/* static */
	char *body;				/* owned (free()); NULL: empty body */
	size_t body_len;
	unsigned retry_after;			/* seconds for "Retry-After", 0: none */
	const char *allow;			/* static "Allow" value (405) or NULL */
	bool close;				/* "Connection: close": a refusal ends the connection */
	char serial[41];			/* issued serial, for the request log */
	char log_detail[256];			/* why a 401/403 was refused or a 5xx failed, for the log */
	const char *problem;			/* static: the slug of a problem document sent, or NULL */
	char cache_control[96];			/* "" : no-store */
	char last_modified[32];			/* HTTP-dates, or "" */
	char expires[32];
	const char *transfer_encoding;		/* static "Content-Transfer-Encoding" value (EST) or NULL */
	/* ACME (RFC 8555): "" or none when empty. */
	char location[SIGNER_ACME_URL_MAX + 1];	/* "Location" */
	char links[SIGNER_ACME_LINKS_MAX][SIGNER_ACME_URL_MAX + 32];	/* one "Link" header each */
	size_t n_links;
	char replay_nonce[64];			/* "Replay-Nonce" */
	/* The handler authenticated the client itself (an ACME JWS): the guard treats it as an mTLS client. */
	bool authenticated;
};

enum api_route_flags {
	API_ROUTE_AUTH = 1 << 0,		/* verified client certificate and a known client */
	API_ROUTE_BODY = 1 << 1,		/* a body, size-limited: JSON unless the route names body_type */
	API_ROUTE_TAIL = 1 << 2,		/* the "{name}" at the end takes the rest of the path, '/' too */
	/*
	 * With API_ROUTE_AUTH: a certificate that matches no client but was
	 * issued by the CA (ctx->holder_auth) is admitted as its holder
	 * (call->holder), whatever the route's roles; the signer decides what
	 * a holder may do (EST re-enrollment, RFC 7030 4.2.2).
	 */
	API_ROUTE_HOLDER = 1 << 3,
};

/* Which listener a route is served on (api_route.listeners; 0 is the HTTPS API only). */
enum api_listener {
	API_LISTENER_TLS = 1 << 0,		/* the HTTPS API (mutual TLS) */
	API_LISTENER_PUBLIC = 1 << 1,		/* the plain-HTTP public listener ([api] public_listen) */
};

struct api_route {
	const char *path;			/* may end in one "{name}" segment: any non-empty segment */
	const char *method;
	const char *allow;			/* every method this path accepts */
	unsigned flags;				/* enum api_route_flags */
	unsigned roles;				/* enum config_role bits required (any of) */
	void (*handler)(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
	unsigned listeners;			/* enum api_listener bits; 0: API_LISTENER_TLS */
	const char *body_type;			/* API_ROUTE_BODY: the media type; NULL: application/json */
	size_t body_max;			/* API_ROUTE_BODY: bytes; 0: [api] max_body */
};

/* The permit table's routes: how many, the i-th (NULL past the end), and a route's index. */
size_t api_route_count(void);
const struct api_route *api_route_at(size_t i);
size_t api_route_index(const struct api_route *route);

/*
 * The route for path and method. NULL when there is none: then *allow is
 * the path's Allow value if only the method is wrong (405), else NULL (404).
 * *param is the segment a "{name}" in the route's path matched (borrowed
 * from path), else NULL.
 */
const struct api_route *api_route_find(const char *path, const char *method, const char **allow,
    const char **param);
/* The same among the routes of listener (enum api_listener). */
const struct api_route *api_route_find_on(unsigned listener, const char *path, const char *method,
    const char **allow, const char **param);

/* The largest body route accepts. */
size_t api_route_body_max(const struct api_ctx *ctx, const struct api_route *route);

/* The longest segment a "{name}" matches (a serial is 40 hex digits; a few more give a precise 400). */
#define API_ROUTE_PARAM_MAX 64
/* The longest tail (API_ROUTE_TAIL): an OCSP request in base64, every character percent-encoded. */
#define API_ROUTE_TAIL_MAX (3 * 4 * ((SIGNER_OCSP_REQUEST_MAX + 2) / 3))

/*
 * Decide, before any body is read, whether call may proceed on route:
 * client certificate (401), known client and role (403), media type (415),
 * declared Content-Length against cfg->api_max_body (413). Returns true to
 * proceed; otherwise resp holds the problem to send.
 */
bool api_route_admit(const struct api_ctx *ctx, const struct api_route *route, struct api_call *call,
    struct api_response *resp);

/*
 * Whether the admitted client of call may issue with profile (which
 * exists): true, or false with resp the 403. Every issuing route asks it
 * before signer_issue(), which checks again in the signer process.
 */
bool api_route_profile_admit(const struct api_call *call, const char *profile, struct api_response *resp);

/* A signer_request for the admitted client of call: csr_pem and profile borrowed, no ttl, the CSR's names. */
void api_route_signer_request(const struct api_call *call, const char *profile, const char *csr_pem,
    size_t csr_pem_len, struct signer_request *sreq);

/* Fill resp with a problem document (falls back to a static body when out of memory). */
void api_response_problem(struct api_response *resp, const struct api_problem *p);

/* A refusal: the problem goes to the client and its slug and detail to the request log. */
void api_response_refusal(struct api_response *resp, const struct api_problem *p);

/* Fill resp for a signerd error code (api_problem_from_error()), keeping the detail for the log. */
void api_response_error(struct api_response *resp, int err);

/* A 200 application/json answer; resp takes body (malloc'ed). */
void api_response_json(struct api_response *resp, char *body, size_t len);

/*
 * A 503 for signerd error err, with its detail for the client and the log,
 * and Retry-After: the error's own, else retry seconds.
 */
void api_response_unavailable(struct api_response *resp, int err, unsigned retry);

/* A 200 answer of content_type (static); resp takes body (malloc'ed, len bytes). */
void api_response_bytes(struct api_response *resp, const char *content_type, char *body, size_t len);

/* Free what resp owns and zero it. */
void api_response_clear(struct api_response *resp);

#endif
