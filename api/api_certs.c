/*
 * The certificate inventory's handlers (api_certs.h): query parameters
 * checked here with a precise 400 each, the signer asked through signer.h,
 * the answer as JSON (api_certs_json.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api_certs.h"
#include "sd_file.h"
#include "sd_time.h"

/* One decoded query value: SIGNER_CERTS_FILTER_MAX bytes and its NUL. */
struct api_certs_buf {
	char text[SIGNER_CERTS_FILTER_MAX + 1];
};

/*
 * A text query value: absent, or 1..SIGNER_CERTS_FILTER_MAX bytes once
 * percent-decoded into buf (the server hands values over as sent; '+' is
 * itself, as RFC 3986 has it). A bad escape or an encoded NUL is a 400.
 */
static int
api_certs_text(const char *name, const char *value, struct api_certs_buf *buf, const char **out,
    struct api_problem *p)
{
	size_t i, n = 0;
	int hi, lo;

	*out = NULL;
	if (value == NULL)
		return 0;
	for (i = 0; value[i] != '\0'; i++) {
		if (n == SIGNER_CERTS_FILTER_MAX)
			goto long_value;
		if (value[i] != '%') {
			buf->text[n++] = value[i];
			continue;
		}
		if ((hi = sd_hex_digit(value[i + 1])) < 0 || (lo = sd_hex_digit(value[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			api_problem_set(p, API_P_BAD_REQUEST, "query parameter %s has a bad percent-escape at %zu", name,
			    i);
			return SD_E_INVAL;
		}
		buf->text[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	if (n == 0)
		goto long_value;
	buf->text[n] = '\0';
	*out = buf->text;
	return 0;
long_value:
	api_problem_set(p, API_P_BAD_REQUEST, "query parameter %s must be 1..%d bytes", name, SIGNER_CERTS_FILTER_MAX);
	return SD_E_INVAL;
}

static int
api_certs_time(const char *name, const char *raw, bool *has, int64_t *out, struct api_problem *p)
{
	struct api_certs_buf buf;
	const char *value;
	int rc;

	*has = false;
	*out = 0;
	if ((rc = api_certs_text(name, raw, &buf, &value, p)) != 0 || value == NULL)
		return rc;
	if ((rc = sd_time_parse(value, out)) != 0) {
		api_problem_set(p, API_P_BAD_REQUEST, "query parameter %s: %s", name, sd_error_detail(rc));
		return rc;
	}
	*has = true;
	return 0;
}

/* The signer's answer: its own 400s (a cursor from other filters) as bad-request, the rest by the table. */
static void
api_certs_error(struct api_response *resp, int rc)
{
	struct api_problem p;

	if (rc != SD_E_INVAL) {
		api_response_error(resp, rc);
		return;
	}
	api_problem_set(&p, API_P_BAD_REQUEST, "%s", sd_error_detail(rc));
	api_response_problem(resp, &p);
}

void
api_route_certs(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct api_certs_buf profile, client, san, cursor;
	struct signer_certs_query q;
	struct signer_certs *certs = NULL;
	struct api_problem p;
	uint64_t limit;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	memset(&q, 0, sizeof(q));
	if (api_certs_text("profile", call->query_profile, &profile, &q.profile, &p) != 0 ||
	    api_certs_text("client", call->query_client, &client, &q.client, &p) != 0 ||
	    api_certs_text("san", call->query_san, &san, &q.san, &p) != 0 ||
	    api_certs_time("valid_at", call->query_valid_at, &q.has_valid_at, &q.valid_at, &p) != 0 ||
	    api_certs_time("expires_before", call->query_expires_before, &q.has_expires_before, &q.expires_before,
	    &p) != 0 ||
	    api_certs_text("cursor", call->query_cursor, &cursor, &q.cursor, &p) != 0 ||
	    api_query_u64("limit", call->query_limit, 1, SIGNER_CERTS_LIMIT_MAX, SIGNER_CERTS_LIMIT_DEFAULT, &limit,
	    &p) != 0) {
		api_response_problem(resp, &p);
		return;
	}
	if (q.cursor != NULL && strlen(q.cursor) > SIGNER_CERTS_CURSOR_MAX) {
		api_problem_set(&p, API_P_BAD_REQUEST, "query parameter cursor is longer than %d characters",
		    SIGNER_CERTS_CURSOR_MAX);
		api_response_problem(resp, &p);
		return;
	}
	q.limit = (size_t)limit;
	if ((rc = signer_certs_list(ctx->signer, call->client->name, &q, &certs)) != 0)
		api_certs_error(resp, rc);
	else if ((rc = api_certs_json(certs, &body, &len)) != 0)
		api_response_error(resp, rc);
	else
		api_response_json(resp, body, len);
	signer_certs_free(certs);
}

void
api_route_cert(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct signer_caller caller;
	struct signer_cert *cert = NULL;
	struct api_problem p;
	const char *serial = call->path_param;
	char *body = NULL;
	size_t len = 0, n, i;
	int rc;

	if (!call->authenticated || call->client == NULL || serial == NULL)
		abort();	/* the permit table: API_ROUTE_AUTH and a {serial} segment */
	n = strlen(serial);
	for (i = 0; i < n && strchr("0123456789abcdefABCDEF", serial[i]) != NULL; i++)
		;
	if (n == 0 || n > 40 || n % 2 != 0 || i != n) {
		api_problem_set(&p, API_P_BAD_REQUEST, "the serial in the path must be 1..20 bytes of hex");
		api_response_problem(resp, &p);
		return;
	}
	memset(&caller, 0, sizeof(caller));
	caller.client = call->client->name;
	caller.subject = call->id.subject;
	memcpy(caller.spki_sha256, call->id.spki_sha256, sizeof(caller.spki_sha256));
	if ((rc = signer_cert_get(ctx->signer, &caller, serial, &cert)) != 0)
		api_certs_error(resp, rc);
	else if ((rc = api_cert_json(cert, &body, &len)) != 0)
		api_response_error(resp, rc);
	else
		api_response_json(resp, body, len);
	signer_cert_free(cert);
}
