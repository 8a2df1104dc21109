#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_metrics.h"
#include "api_certs.h"
#include "api_acme.h"
#include "api_est.h"
#include "api_publish.h"
#include "api_revoke.h"
#include "api_routes.h"
#include "sd_metrics.h"

#define API_CT_JSON "application/json"
#define API_CT_PROBLEM "application/problem+json"
#define API_CT_PEM_CHAIN "application/pem-certificate-chain"

static void api_route_sign(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_ca(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_health(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_ready(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_metrics(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_audit_checkpoint(const struct api_ctx *ctx, const struct api_call *call,
    struct api_response *resp);
static void api_route_audit_records(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
static void api_route_audit_proof(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

/*
 * The permit table: every (path, method) the API serves and what admission
 * it needs. Routes that later read the journal (/v1/audit/...) go here with
 * API_ROUTE_AUTH and CONFIG_ROLE_AUDITOR.
 */
static const struct api_route api_routes[] = {
	{ "/v1/sign", "POST", "POST", API_ROUTE_AUTH | API_ROUTE_BODY, CONFIG_ROLE_ISSUER, api_route_sign, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/ca", "GET", "GET, HEAD", 0, 0, api_route_ca, API_LISTENER_TLS, NULL, 0 },
	{ "/healthz", "GET", "GET, HEAD", 0, 0, api_route_health, API_LISTENER_TLS, NULL, 0 },
	{ "/readyz", "GET", "GET, HEAD", 0, 0, api_route_ready, API_LISTENER_TLS, NULL, 0 },
	{ "/metrics", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN, api_route_metrics, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/audit/checkpoint", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_AUDITOR, api_route_audit_checkpoint, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/audit/records", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_AUDITOR, api_route_audit_records, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/audit/proof", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_AUDITOR, api_route_audit_proof, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/certificates", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN, api_route_certs, API_LISTENER_TLS, NULL, 0 },
	{ "/v1/certificates/{serial}", "GET", "GET, HEAD", API_ROUTE_AUTH, CONFIG_ROLE_ISSUER | CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN, api_route_cert, API_LISTENER_TLS, NULL, 0 },
	/* Any role: a revoker or admin revokes any certificate, every other client one of its own key (the signer decides). */
	{ "/v1/revoke", "POST", "POST", API_ROUTE_AUTH | API_ROUTE_BODY, CONFIG_ROLE_ISSUER | CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN | CONFIG_ROLE_REVOKER, api_route_revoke, API_LISTENER_TLS, NULL, 0 },
	/*
	 * EST (RFC 7030): the label is a profile; enrolment is admitted as
	 * /v1/sign is, re-enrolment also for the holder of the certificate renewed.
	 */
	{ "/.well-known/est/cacerts", "GET", "GET, HEAD", 0, 0, api_route_est_cacerts, API_LISTENER_TLS, NULL, 0 },
	{ "/.well-known/est/{label}/cacerts", "GET", "GET, HEAD", 0, 0, api_route_est_cacerts, API_LISTENER_TLS, NULL, 0 },
	{ "/.well-known/est/{label}/simpleenroll", "POST", "POST", API_ROUTE_AUTH | API_ROUTE_BODY, CONFIG_ROLE_ISSUER, api_route_est_enroll, API_LISTENER_TLS, API_CT_PKCS10, API_EST_BODY_MAX },
	{ "/.well-known/est/{label}/simplereenroll", "POST", "POST", API_ROUTE_AUTH | API_ROUTE_BODY | API_ROUTE_HOLDER, CONFIG_ROLE_ISSUER, api_route_est_enroll, API_LISTENER_TLS, API_CT_PKCS10, API_EST_BODY_MAX },
	{ "/.well-known/est/{label}/csrattrs", "GET", "GET, HEAD", 0, 0, api_route_est_csrattrs, API_LISTENER_TLS, NULL, 0 },
	/* Refused to everyone, after the body (a client sends one). */
	{ "/.well-known/est/{label}/serverkeygen", "POST", "POST", API_ROUTE_BODY, 0, api_route_est_serverkeygen, API_LISTENER_TLS, API_CT_PKCS10, API_EST_BODY_MAX },
	/* Revocation status is public (RFC 5280, RFC 6960): on both listeners, nobody authenticates. */
	{ "/v1/crl", "GET", "GET, HEAD", 0, 0, api_route_crl, API_LISTENER_TLS | API_LISTENER_PUBLIC, NULL, 0 },
	{ "/v1/ca/{name}/crl", "GET", "GET, HEAD", 0, 0, api_route_crl, API_LISTENER_TLS | API_LISTENER_PUBLIC, NULL, 0 },
	{ "/v1/crl/delta", "GET", "GET, HEAD", 0, 0, api_route_crl_delta, API_LISTENER_TLS | API_LISTENER_PUBLIC, NULL, 0 },
	{ "/v1/ca/{name}/delta-crl", "GET", "GET, HEAD", 0, 0, api_route_crl_delta, API_LISTENER_TLS | API_LISTENER_PUBLIC, NULL, 0 },
	/* Plain HTTP only: what relying parties fetch from AIA and CRL distribution point URLs. */
	{ "/v1/ca/{name}/certificate", "GET", "GET, HEAD", 0, 0, api_route_ca_certificate, API_LISTENER_PUBLIC, NULL, 0 },
	{ "/ocsp", "POST", "POST", API_ROUTE_BODY, 0, api_route_ocsp_post, API_LISTENER_PUBLIC, API_CT_OCSP_REQUEST, SIGNER_OCSP_REQUEST_MAX },
	{ "/ocsp/", "POST", "POST", API_ROUTE_BODY, 0, api_route_ocsp_post, API_LISTENER_PUBLIC, API_CT_OCSP_REQUEST, SIGNER_OCSP_REQUEST_MAX },
	/* RFC 6960 A.1: the base64 request, whose '/' may come unencoded. */
	{ "/ocsp/{request}", "GET", "GET, HEAD", API_ROUTE_TAIL, 0, api_route_ocsp_get, API_LISTENER_PUBLIC, NULL, 0 },
	/*
	 * ACME (RFC 8555): no client certificate and no role, since a client
	 * authenticates by the JWS the signer verifies. The handler decides
	 * which resource takes which method.
	 */
	{ "/acme/{path}", "GET", "GET, HEAD, POST", API_ROUTE_TAIL, 0, api_route_acme, API_LISTENER_TLS, NULL, 0 },
	{ "/acme/{path}", "POST", "GET, HEAD, POST", API_ROUTE_TAIL | API_ROUTE_BODY, 0, api_route_acme, API_LISTENER_TLS, API_CT_JOSE, SIGNER_ACME_BODY_MAX },
};

size_t
api_route_count(void)
{
	return sizeof(api_routes) / sizeof(api_routes[0]);
}

const struct api_route *
api_route_at(size_t i)
{
	return i < api_route_count() ? &api_routes[i] : NULL;
}

size_t
api_route_index(const struct api_route *route)
{
	if (route < api_routes || route >= api_routes + api_route_count())
		abort();	/* routes come from the table */
	return (size_t)(route - api_routes);
}

/*
 * Whether path matches the route's pattern: equal, or equal up to a
 * "{name}", then one non-empty segment (no '/', at most API_ROUTE_PARAM_MAX
 * bytes; with tail, the rest of the path, at most API_ROUTE_TAIL_MAX), then
 * equal to what follows the "{name}". *param then points at the segment
 * (borrowed from path; it runs on to the end of path).
 */
static bool
api_route_match(const char *pattern, const char *path, bool tail, const char **param)
{
	const char *brace = strchr(pattern, '{'), *close, *seg;
	size_t prefix, n, max = tail ? API_ROUTE_TAIL_MAX : API_ROUTE_PARAM_MAX;

	*param = NULL;
	if (brace == NULL)
		return strcmp(pattern, path) == 0;
	if ((close = strchr(brace, '}')) == NULL)
		abort();	/* the permit table's patterns are well formed */
	prefix = (size_t)(brace - pattern);
	if (strncmp(pattern, path, prefix) != 0)
		return false;
	seg = path + prefix;
	n = strnlen(seg, max + 1);
	if (!tail && (seg = memchr(path + prefix, '/', n)) != NULL)
		n = (size_t)(seg - (path + prefix));
	if (n == 0 || n > max || strcmp(path + prefix + n, close + 1) != 0)
		return false;
	*param = path + prefix;
	return true;
}

const struct api_route *
api_route_find_on(unsigned listener, const char *path, const char *method, const char **allow, const char **param)
{
	const struct api_route *r;
	bool head = strcmp(method, "HEAD") == 0;
	size_t i;

	*allow = NULL;
	*param = NULL;
	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		r = &api_routes[i];
		if (((r->listeners != 0 ? r->listeners : API_LISTENER_TLS) & listener) == 0 ||
		    !api_route_match(r->path, path, (r->flags & API_ROUTE_TAIL) != 0, param))
			continue;
		/* HEAD is GET without the body (libmicrohttpd leaves the body out). */
		if (strcmp(r->method, method) == 0 || (head && strcmp(r->method, "GET") == 0))
			return r;
		*allow = r->allow;
	}
	*param = NULL;
	return NULL;
}

const struct api_route *
api_route_find(const char *path, const char *method, const char **allow, const char **param)
{
	return api_route_find_on(API_LISTENER_TLS, path, method, allow, param);
}

size_t
api_route_body_max(const struct api_ctx *ctx, const struct api_route *route)
{
	return route->body_max != 0 ? route->body_max : ctx->cfg->api_max_body;
}

void
api_response_clear(struct api_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

void
api_response_problem(struct api_response *resp, const struct api_problem *p)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = p->status;
	resp->retry_after = p->retry_after;
	resp->content_type = API_CT_PROBLEM;
	resp->problem = p->slug;
	if (api_problem_json(p, &resp->body, &resp->body_len) != 0) {
		/* Out of memory: the status alone still tells the client something. */
		resp->body = NULL;
		resp->body_len = 0;
	}
}

void
api_response_json(struct api_response *resp, char *body, size_t len)
{
	free(resp->body);
	resp->status = 200;
	resp->content_type = API_CT_JSON;
	resp->body = body;
	resp->body_len = len;
}

void
api_response_refusal(struct api_response *resp, const struct api_problem *p)
{
	int n;

	n = snprintf(resp->log_detail, sizeof(resp->log_detail), "%s: %s", p->slug, p->detail);
	if (n < 0)
		resp->log_detail[0] = '\0';
	api_response_problem(resp, p);
}

void
api_response_error(struct api_response *resp, int err)
{
	struct api_problem p;
	int n;

	api_problem_from_error(&p, err);
	if (p.status >= 500) {
		n = snprintf(resp->log_detail, sizeof(resp->log_detail), "%s: %s", sd_error_name(err),
		    sd_error_detail(err));
		if (n < 0)
			resp->log_detail[0] = '\0';
	}
	api_response_problem(resp, &p);
}

void
api_response_unavailable(struct api_response *resp, int err, unsigned retry)
{
	struct api_problem p;
	int n;

	api_problem_from_error(&p, err);
	p.status = 503;
	p.retry_after = sd_error_retry_after(err) != 0 ? sd_error_retry_after(err) : retry;
	p.title = sd_strerror(err);
	n = snprintf(p.detail, sizeof(p.detail), "%s", sd_error_detail(err));
	if (n < 0)
		p.detail[0] = '\0';
	n = snprintf(resp->log_detail, sizeof(resp->log_detail), "%s: %s", sd_error_name(err), sd_error_detail(err));
	if (n < 0)
		resp->log_detail[0] = '\0';
	api_response_problem(resp, &p);
}

static void
api_response_text(struct api_response *resp, unsigned status, const char *content_type, char *body,
    size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->body = body;
	resp->body_len = len;
}

void
api_response_bytes(struct api_response *resp, const char *content_type, char *body, size_t len)
{
	api_response_text(resp, 200, content_type, body, len);
}

/* Which [client] the verified certificate is: exactly one, or 403. */
static bool
api_route_client(const struct api_ctx *ctx, struct api_call *call, struct api_response *resp)
{
	const char *sans[API_AUTH_SAN_MAX];
	struct config_client_identity cid;
	const struct config_client *also;
	struct api_problem p;
	size_t i;

	if (call->id.n_sans > API_AUTH_SAN_MAX)
		abort();	/* api_auth bounds it */
	for (i = 0; i < call->id.n_sans; i++)
		sans[i] = call->id.sans[i];
	cid.cn = call->id.cn[0] != '\0' ? call->id.cn : NULL;
	cid.spki_sha256 = call->id.spki_sha256;
	cid.sans = sans;
	cid.n_sans = call->id.n_sans;
	call->client = sd_config_client_match(ctx->cfg, &cid, &also);
	if (call->client != NULL && also != NULL) {
		api_problem_set(&p, API_P_FORBIDDEN, "the client certificate matches both client \"%s\" and client "
		    "\"%s\": ambiguous, refused", call->client->name, also->name);
		call->client = NULL;
		api_response_refusal(resp, &p);
		return false;
	}
	if (call->client == NULL) {
		api_problem_set(&p, API_P_FORBIDDEN, "no client is configured for this certificate (%s%s%s; "
		    "subject_cn, spki_sha256 and san are compared)", call->id.cn[0] != '\0' ? "CN \"" : "no CN",
		    call->id.cn, call->id.cn[0] != '\0' ? "\"" : "");
		api_response_refusal(resp, &p);
		return false;
	}
	return true;
}

/*
 * A holder route's second chance: the certificate verifies against the
 * issuing CA. Returns 1 with call->holder set; 0 when it is no holder (the
 * route takes none, or the certificate does not verify: resp untouched);
 * -1 when verifying failed (resp is the error).
 */
static int
api_route_holder(const struct api_ctx *ctx, const struct api_route *route, struct api_call *call,
    struct api_response *resp)
{
	struct api_identity id;
	int rc;

	if (!(route->flags & API_ROUTE_HOLDER) || ctx->holder_auth == NULL || call->tls == NULL)
		return 0;
	if ((rc = api_auth_verify(ctx->holder_auth, call->tls, &id)) != 0) {
		if (rc == SD_E_INVAL)
			return 0;
		api_response_error(resp, rc);
		return -1;
	}
	api_response_clear(resp);
	call->id = id;
	call->client = NULL;
	call->authenticated = true;
	call->holder = true;
	return 1;
}

bool
api_route_admit(const struct api_ctx *ctx, const struct api_route *route, struct api_call *call,
    struct api_response *resp)
{
	struct api_problem p;
	const char *want;
	uint64_t declared;
	int rc, h;

	if (route->flags & API_ROUTE_AUTH) {
		if ((rc = api_auth_verify_cached(ctx->auth, call->tls, call->auth_cache, &call->id)) != 0) {
			if (rc != SD_E_INVAL) {
				api_response_error(resp, rc);
				return false;
			}
			if ((h = api_route_holder(ctx, route, call, resp)) != 0)
				return h > 0;
			api_problem_set(&p, API_P_UNAUTHENTICATED, "%s", sd_error_detail(rc));
			api_response_refusal(resp, &p);
			return false;
		}
		call->authenticated = true;
		/* No client: a holder after all (the refusal written is cleared), or that refusal stands. */
		if (!api_route_client(ctx, call, resp))
			return api_route_holder(ctx, route, call, resp) > 0;
		if (route->roles != 0 && (call->client->roles & route->roles) == 0) {
			api_problem_set(&p, API_P_FORBIDDEN, "client \"%s\" lacks the role for %s %s",
			    call->client->name, route->method, route->path);
			api_response_refusal(resp, &p);
			return false;
		}
	}
	if (route->flags & API_ROUTE_BODY) {
		want = route->body_type != NULL ? route->body_type : API_CT_JSON;
		if (!api_content_type_is(call->content_type, want)) {
			api_problem_set(&p, API_P_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be %s", want);
			api_response_problem(resp, &p);
			return false;
		}
		if (call->content_length != NULL &&
		    api_content_length_parse(call->content_length, &declared) == 0 &&
		    declared > api_route_body_max(ctx, route)) {
			api_problem_set(&p, API_P_BODY_TOO_LARGE, "request body is %llu bytes; the limit is %zu",
			    (unsigned long long)declared, api_route_body_max(ctx, route));
			api_response_problem(resp, &p);
			return false;
		}
	}
	return true;
}

bool
api_route_profile_admit(const struct api_call *call, const char *profile, struct api_response *resp)
{
	struct api_problem p;

	if (!call->authenticated || call->client == NULL)
		abort();	/* only routes with API_ROUTE_AUTH issue */
	if (sd_config_client_may_use(call->client, profile))
		return true;
	api_problem_set(&p, API_P_FORBIDDEN, "client \"%s\" may not use profile \"%s\"", call->client->name,
	    profile);
	api_response_refusal(resp, &p);
	return false;
}

void
api_route_signer_request(const struct api_call *call, const char *profile, const char *csr_pem, size_t csr_pem_len,
    struct signer_request *sreq)
{
	memset(sreq, 0, sizeof(*sreq));
	sreq->csr_pem = csr_pem;
	sreq->csr_pem_len = csr_pem_len;
	sreq->profile = profile;
	sreq->client = call->client != NULL ? call->client->name : NULL;
	sreq->reenroll_serial = call->holder ? call->id.serial_hex : NULL;
	sreq->client_subject = call->id.subject;
	memcpy(sreq->client_spki_sha256, call->id.spki_sha256, sizeof(sreq->client_spki_sha256));
}

/* POST /v1/sign: the caller is an authenticated issuer and the body is complete. */
static void
api_route_sign(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	const char *chain[SIGNER_CHAIN_MAX];
	struct api_sign_request *req = NULL;
	struct signer_result *res = NULL;
	struct signer_request sreq;
	struct api_problem p;
	size_t i, n;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	if ((rc = api_sign_request_parse(call->body, call->body_len, &req, &p)) != 0) {
		if (rc == SD_E_INVAL)
			api_response_problem(resp, &p);
		else
			api_response_error(resp, rc);
		goto out;
	}
	if (sd_config_profile(ctx->cfg, req->profile) == NULL) {
		api_response_error(resp, sd_error_set(SD_E_PROFILE_UNKNOWN, "no profile named \"%s\"",
		    req->profile));
		goto out;
	}
	if (!api_route_profile_admit(call, req->profile, resp))
		goto out;
	api_route_signer_request(call, req->profile, req->csr_pem, req->csr_pem_len, &sreq);
	sreq.ttl = req->ttl;
	sreq.sans = req->n_sans > 0 ? req->sans : NULL;
	sreq.n_sans = req->n_sans;
	if ((rc = signer_issue(ctx->signer, &sreq, &res)) != 0) {
		api_response_error(resp, rc);
		goto out;
	}
	if ((n = signer_chain_count(ctx->signer)) > SIGNER_CHAIN_MAX) {
		api_response_error(resp, sd_error_set(SD_E_INTERNAL, "chain of %zu certificates", n));
		goto out;
	}
	for (i = 0; i < n; i++)
		chain[i] = signer_chain_pem(ctx->signer, i);
	if ((rc = api_sign_response_json(res, chain, n, &body, &len)) != 0) {
		/* The certificate is journaled; the client can retry for a new one. */
		api_response_error(resp, rc == SD_E_INTERNAL ?
		    sd_error_set(rc, "signer result for serial %.40s is malformed", res->serial_hex) : rc);
		goto out;
	}
	api_response_text(resp, 200, API_CT_JSON, body, len);
	memcpy(resp->serial, res->serial_hex, sizeof(resp->serial) - 1);
	resp->serial[sizeof(resp->serial) - 1] = '\0';
out:
	signer_result_free(res);
	api_sign_request_free(req);
}

/* GET /v1/ca: the issuing chain, issuing CA first, as one PEM document. */
static void
api_route_ca(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	const char *pem;
	size_t i, n, len, total = 0, at = 0;
	char *body = NULL;

	(void)call;
	n = signer_chain_count(ctx->signer);
	if (n == 0 || n > SIGNER_CHAIN_MAX) {
		api_response_error(resp, sd_error_set(SD_E_INTERNAL, "chain of %zu certificates", n));
		return;
	}
	for (i = 0; i < n; i++) {
		if ((pem = signer_chain_pem(ctx->signer, i)) == NULL) {
			api_response_error(resp, sd_error_set(SD_E_INTERNAL, "chain certificate %zu missing", i));
			return;
		}
		len = strlen(pem);
		/* Room for a newline between certificates that lack one. */
		if (total > SIZE_MAX - 2 || len > SIZE_MAX - 2 - total) {
			api_response_error(resp, SD_E_NOMEM);
			return;
		}
		total += len + 1;
	}
	if ((body = malloc(total + 1)) == NULL) {
		api_response_error(resp, SD_E_NOMEM);
		return;
	}
	for (i = 0; i < n; i++) {
		pem = signer_chain_pem(ctx->signer, i);
		len = strlen(pem);
		memcpy(body + at, pem, len);
		at += len;
		if (len == 0 || pem[len - 1] != '\n')
			body[at++] = '\n';
	}
	body[at] = '\0';
	api_response_text(resp, 200, API_CT_PEM_CHAIN, body, at);
}

/*
 * GET /healthz: liveness only. The front answers, so it is alive; and if
 * the signer were gone the front would have ended with it. A load balancer
 * that should stop sending work while the HSM is away asks /readyz. Without
 * [journal] audit_key the details say the journal has no checkpoints: a
 * monitor sees it, though the service is alive all the same.
 */
static void
api_route_health(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	const char *json = api_health_json(ctx->cfg == NULL || ctx->cfg->journal_audit_key != NULL);
	size_t len = strlen(json);
	char *body;

	(void)call;
	if ((body = malloc(len + 1)) == NULL) {
		api_response_error(resp, SD_E_NOMEM);
		return;
	}
	memcpy(body, json, len + 1);
	api_response_text(resp, 200, API_CT_JSON, body, len);
}

/* GET /readyz: 200 when the HSM and journal are usable, else 503 with the reason. */
static void
api_route_ready(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	char *body;
	size_t len;
	int rc;

	(void)call;
	if ((rc = signer_health(ctx->signer)) != 0) {
		/* Not ready is not a server fault: always 503, with the signer's reason. */
		api_response_unavailable(resp, rc, 5);
		return;
	}
	len = strlen(api_health_ok_json());
	if ((body = malloc(len + 1)) == NULL) {
		api_response_error(resp, SD_E_NOMEM);
		return;
	}
	memcpy(body, api_health_ok_json(), len + 1);
	api_response_text(resp, 200, API_CT_JSON, body, len);
}

/* GET /metrics: the front's request counters, then the signer's, in the Prometheus text format. */
static void
api_route_metrics(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct sd_metrics_text t = { NULL, 0, 0, false };
	char *signer_text = NULL, *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	if ((rc = signer_metrics(ctx->signer, call->client->name, &signer_text)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	if (ctx->metrics != NULL)
		api_metrics_text(ctx->metrics, &t);
	sd_metrics_printf(&t, "%s", signer_text);
	free(signer_text);
	if ((rc = sd_metrics_text_take(&t, &body, &len)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	api_response_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* GET /v1/audit/checkpoint: the latest signed checkpoint, C2SP text. */
static void
api_route_audit_checkpoint(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	uint64_t seq;
	char *note = NULL;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	if ((rc = signer_audit_checkpoint(ctx->signer, call->client->name, &note, &seq)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	api_response_text(resp, 200, "text/plain; charset=utf-8", note, strlen(note));
}

/* GET /v1/audit/records?from=SEQ&limit=N (N <= SIGNER_AUDIT_RECORDS_MAX, default 100). */
static void
api_route_audit_records(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct signer_audit_records *r = NULL;
	struct api_problem p;
	uint64_t from, limit;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();
	if (api_query_u64("from", call->query_from, 1, INT64_MAX, 1, &from, &p) != 0 ||
	    api_query_u64("limit", call->query_limit, 1, SIGNER_AUDIT_RECORDS_MAX, SIGNER_AUDIT_RECORDS_MAX, &limit,
	    &p) != 0) {
		api_response_problem(resp, &p);
		return;
	}
	if ((rc = signer_audit_records(ctx->signer, call->client->name, from, (size_t)limit, &r)) != 0 ||
	    (rc = api_audit_records_json(r, &body, &len)) != 0)
		api_response_error(resp, rc);
	else
		api_response_text(resp, 200, API_CT_JSON, body, len);
	signer_audit_records_free(r);
}

/* GET /v1/audit/proof?serial=HEX: inclusion proof against the latest checkpoint. */
static void
api_route_audit_proof(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct signer_audit_proof *pr = NULL;
	struct api_problem p;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();
	if (call->query_serial == NULL || strlen(call->query_serial) > 40) {
		api_problem_set(&p, API_P_BAD_REQUEST, "query parameter serial (1..20 bytes of hex) is required");
		api_response_problem(resp, &p);
		return;
	}
	if ((rc = signer_audit_proof(ctx->signer, call->client->name, call->query_serial, &pr)) != 0 ||
	    (rc = api_audit_proof_json(pr, call->query_serial, &body, &len)) != 0)
		api_response_error(resp, rc);
	else
		api_response_text(resp, 200, API_CT_JSON, body, len);
	signer_audit_proof_free(pr);
}
