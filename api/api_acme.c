/*
 * The /acme/{path} routes (api_acme.h). The front decides only what the
 * path and Host say and which method a resource takes; everything else,
 * JWS included, is the signer's (signer_acme()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_validator.h"
#include "api_acme.h"
#include "api_json.h"

/* Resources by their path segment; with_id: one "/ID" segment follows. */
static const struct {
	const char *name;
	enum signer_acme_op op;
	bool with_id;
} api_acme_resources[] = {
	{ "directory", SIGNER_ACME_DIRECTORY, false },
	{ "new-nonce", SIGNER_ACME_NEW_NONCE, false },
	{ "new-account", SIGNER_ACME_NEW_ACCOUNT, false },
	{ "new-order", SIGNER_ACME_NEW_ORDER, false },
	{ "revoke-cert", SIGNER_ACME_REVOKE, false },
	{ "key-change", SIGNER_ACME_KEY_CHANGE, false },
	{ "renewal-info", SIGNER_ACME_RENEWAL_INFO, true },
	{ "acct", SIGNER_ACME_ACCOUNT, true },
	{ "order", SIGNER_ACME_ORDER, true },
	{ "authz", SIGNER_ACME_AUTHZ, true },
	{ "chall", SIGNER_ACME_CHALLENGE, true },
	{ "cert", SIGNER_ACME_CERT, true },
};

/* The next segment of *p (up to '/' or the end) into out: non-empty, [A-Za-z0-9._-], at most max bytes. */
static bool
api_acme_segment(const char **p, char *out, size_t max)
{
	size_t n = 0;
	char ch;

	while ((ch = (*p)[n]) != '\0' && ch != '/') {
		if (n == max ||
		    !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		        ch == '_' || ch == '-'))
			return false;
		out[n] = ch;
		n++;
	}
	out[n] = '\0';
	*p += n;
	return n != 0;
}

int
api_acme_path_parse(const char *tail, struct api_acme_path *out)
{
	char name[16], extra[16];
	const char *p = tail;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (tail == NULL || !api_acme_segment(&p, out->profile, API_ACME_PROFILE_MAX) || *p++ != '/')
		return sd_error_set(SD_E_NOT_FOUND, "no ACME directory at this path");
	if (!api_acme_segment(&p, name, sizeof(name) - 1))
		return sd_error_set(SD_E_NOT_FOUND, "no such ACME resource");
	for (i = 0; i < sizeof(api_acme_resources) / sizeof(api_acme_resources[0]); i++)
		if (strcmp(api_acme_resources[i].name, name) == 0)
			break;
	if (i == sizeof(api_acme_resources) / sizeof(api_acme_resources[0]))
		return sd_error_set(SD_E_NOT_FOUND, "no such ACME resource \"%s\"", name);
	out->op = api_acme_resources[i].op;
	if (api_acme_resources[i].with_id) {
		if (*p++ != '/' || !api_acme_segment(&p, out->id, SIGNER_ACME_PARAM_MAX))
			return sd_error_set(SD_E_NOT_FOUND, "ACME resource \"%s\" needs a valid id", name);
		/* order/ID/finalize and acct/ID/orders[/CURSOR] are the resources below an id. */
		if (out->op == SIGNER_ACME_ORDER && *p == '/') {
			p++;
			if (!api_acme_segment(&p, extra, sizeof(extra) - 1) || strcmp(extra, "finalize") != 0)
				return sd_error_set(SD_E_NOT_FOUND, "no such ACME resource below an order");
			out->op = SIGNER_ACME_FINALIZE;
		} else if (out->op == SIGNER_ACME_ACCOUNT && *p == '/') {
			p++;
			if (!api_acme_segment(&p, extra, sizeof(extra) - 1) || strcmp(extra, "orders") != 0)
				return sd_error_set(SD_E_NOT_FOUND, "no such ACME resource below an account");
			out->op = SIGNER_ACME_ORDERS;
			/* A page's cursor travels in the id after a '/', as in the URL: the engine splits it. */
			if (*p == '/') {
				p++;
				n = strlen(out->id);
				if (n + 1 >= sizeof(out->id) ||
				    !api_acme_segment(&p, out->id + n + 1, sizeof(out->id) - n - 2))
					return sd_error_set(SD_E_NOT_FOUND,
					    "an account's orders page needs a valid cursor");
				out->id[n] = '/';
			}
		}
	}
	if (*p != '\0')
		return sd_error_set(SD_E_NOT_FOUND, "no such ACME resource (extra path segments)");
	return 0;
}

int
api_acme_base(const char *host, char *out, size_t cap)
{
	const char *p, *port = NULL;
	size_t n, digits;
	int len;

	if (cap > 0)
		out[0] = '\0';
	if (host == NULL || host[0] == '\0')
		return sd_error_set(SD_E_INVAL, "the request has no Host header");
	p = host;
	if (*p == '[') {
		/* An IPv6 literal: hex digits, ':' and '.' (an embedded IPv4) only. */
		for (p++, n = 0; p[n] != ']' && p[n] != '\0'; n++)
			if (strchr("0123456789abcdefABCDEF:.", p[n]) == NULL)
				return sd_error_set(SD_E_INVAL, "Host has a malformed IPv6 literal");
		if (p[n] != ']' || n < 2)
			return sd_error_set(SD_E_INVAL, "Host has a malformed IPv6 literal");
		p += n + 1;
	} else {
		for (n = 0; p[n] != '\0' && p[n] != ':'; n++)
			if (!((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
			        (p[n] >= '0' && p[n] <= '9') || p[n] == '.' || p[n] == '-'))
				return sd_error_set(SD_E_INVAL, "Host has a character a host name may not hold");
		if (n == 0)
			return sd_error_set(SD_E_INVAL, "Host has no host name");
		p += n;
	}
	if (*p == ':') {
		port = ++p;
		for (digits = 0; p[digits] >= '0' && p[digits] <= '9'; digits++)
			;
		if (digits == 0 || digits > 5 || p[digits] != '\0' || strtoul(port, NULL, 10) > 65535)
			return sd_error_set(SD_E_INVAL, "Host has a malformed port");
	} else if (*p != '\0') {
		return sd_error_set(SD_E_INVAL, "Host is malformed");
	}
	len = snprintf(out, cap, "https://%s", host);
	if (len < 0 || (size_t)len >= cap || (size_t)len > SIGNER_ACME_BASE_MAX) {
		if (cap > 0)
			out[0] = '\0';
		return sd_error_set(SD_E_TOO_LARGE, "Host is longer than an ACME URL base may be");
	}
	return 0;
}

/* The resources a GET (or HEAD) reaches; every other one takes POST only (RFC 8555 6.3, 7.2; RFC 9773 4). */
static bool
api_acme_op_get(enum signer_acme_op op)
{
	return op == SIGNER_ACME_DIRECTORY || op == SIGNER_ACME_NEW_NONCE || op == SIGNER_ACME_RENEWAL_INFO;
}

/* The answer as the HTTP response: status, type, body and the ACME headers. */
static void
api_acme_respond(const struct signer_acme_answer *a, bool head, struct api_response *resp)
{
	size_t i;

	resp->status = a->status;
	resp->content_type = a->content_type;
	/* HEAD: the same headers (Content-Type too), no body; libmicrohttpd leaves it out. */
	if (!head && a->body != NULL && a->body_len != 0 && (resp->body = malloc(a->body_len)) != NULL) {
		memcpy(resp->body, a->body, a->body_len);
		resp->body_len = a->body_len;
	} else if (!head && a->body_len != 0) {
		api_response_error(resp, SD_E_NOMEM);
		return;
	}
	(void)snprintf(resp->location, sizeof(resp->location), "%s", a->location);
	for (i = 0; i < a->n_links && i < SIGNER_ACME_LINKS_MAX; i++)
		(void)snprintf(resp->links[i], sizeof(resp->links[i]), "%s", a->links[i]);
	resp->n_links = i;
	(void)snprintf(resp->replay_nonce, sizeof(resp->replay_nonce), "%s", a->nonce);
	resp->retry_after = a->retry_after;
}

void
api_route_acme(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct signer_acme_answer *a = NULL;
	struct signer_acme_request req;
	struct api_acme_path path;
	struct api_problem p;
	char base[SIGNER_ACME_BASE_MAX + 1];
	bool post = strcmp(call->method, "POST") == 0, head = strcmp(call->method, "HEAD") == 0;
	int rc;

	if ((rc = api_acme_path_parse(call->path_param, &path)) != 0) {
		api_problem_set(&p, API_P_NOT_FOUND, "%s", sd_error_detail(rc));
		api_response_problem(resp, &p);
		return;
	}
	if (post == api_acme_op_get(path.op)) {
		resp->allow = post ? "GET, HEAD" : "POST";
		api_problem_set(&p, API_P_METHOD_NOT_ALLOWED, "%s is not allowed on %s; use %s", call->method,
		    call->path, resp->allow);
		api_response_problem(resp, &p);
		return;
	}
	if ((rc = api_acme_base(call->host, base, sizeof(base))) != 0) {
		api_problem_set(&p, API_P_BAD_HTTP, "%s", sd_error_detail(rc));
		api_response_problem(resp, &p);
		return;
	}
	req = (struct signer_acme_request){
		.op = path.op,
		.profile = path.profile,
		.base = base,
		.id = path.id[0] != '\0' ? path.id : NULL,
		.head = head,
		.body = post ? (const uint8_t *)call->body : NULL,
		.body_len = post ? call->body_len : 0,
	};
	if ((rc = signer_acme(ctx->signer, &req, &a)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	api_acme_respond(a, head, resp);
	/*
	 * A POST the signer answered below 400 carried a JWS it verified: the
	 * client authenticated as surely as by mutual TLS, so the connection
	 * leaves the unauthenticated budget ([api] unauthenticated_rate) as an
	 * mTLS one does, and certbot or a bench at concurrency 16 from one
	 * address is not throttled. GETs (directory, nonces, renewal
	 * information) prove nothing and stay within the budget.
	 */
	resp->authenticated = post && a->status < 400;
	if (a->validate)
		acme_validator_submit(ctx->acme_validator, path.profile, &a->validation);
	signer_acme_answer_free(a);
}
