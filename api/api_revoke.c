/*
 * The revocation route's handler (api_revoke.h): the body checked here with
 * a precise 400 each, the signer asked through signer.h (which decides who
 * may revoke what), the answer as JSON. A repeat is answered 200 with the
 * original time and reason.
 */
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "api_revoke.h"
#include "sd_crl_reason.h"

static const char *const api_revoke_fields[] = { "serial_number", "reason", "detail", NULL };

struct api_revoke_request {
	char serial_hex[41];
	uint8_t reason;
	char detail[SIGNER_REVOKE_DETAIL_MAX + 1];
};

static int
api_revoke_parse(const char *body, size_t len, struct api_revoke_request *req, struct api_problem *p)
{
	const char *serial, *reason = "unspecified", *detail = NULL;
	size_t serial_len, n = 0;
	json_t *root = NULL;
	int rc;

	memset(req, 0, sizeof(req[0]));
	if ((rc = api_json_object_parse(body, len, api_revoke_fields, &root, p)) != 0)
		return rc;
	if ((rc = api_field_string(root, "serial_number", 40, &serial, &serial_len, p)) != 0)
		goto out;
	if (json_object_get(root, "reason") != NULL && (rc = api_field_string(root, "reason", 32, &reason, &n, p)) != 0)
		goto out;
	if (json_object_get(root, "detail") != NULL &&
	    (rc = api_field_string(root, "detail", SIGNER_REVOKE_DETAIL_MAX, &detail, &n, p)) != 0)
		goto out;
	if (strlen(serial) != serial_len || (detail != NULL && strlen(detail) != n)) {
		api_problem_set(p, API_P_BAD_REQUEST, "a field holds a NUL character");
		rc = SD_E_INVAL;
		goto out;
	}
	if (sd_crl_reason_parse(reason, &req->reason) != 0) {
		api_problem_set(p, API_P_BAD_REQUEST, "field \"reason\": %s", sd_error_detail(SD_E_INVAL));
		rc = SD_E_INVAL;
		goto out;
	}
	memcpy(req->serial_hex, serial, serial_len);
	if (detail != NULL)
		memcpy(req->detail, detail, strlen(detail));
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int
api_revoke_json(const struct signer_revocation *r, char **out, size_t *len)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "serial_number", r->serial_hex, "revoked_at", r->revoked_at,
	    "reason", sd_crl_reason_name(r->reason) != NULL ? sd_crl_reason_name(r->reason) : "unspecified",
	    "already_revoked", r->already);
	char *text;

	*out = NULL;
	if (o == NULL)
		return SD_E_NOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return SD_E_NOMEM;
	*out = text;
	*len = strlen(text);
	return 0;
}

void
api_route_revoke(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct api_revoke_request req;
	struct signer_revocation r;
	struct signer_caller caller;
	struct api_problem p;
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!call->authenticated || call->client == NULL)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	if ((rc = api_revoke_parse(call->body, call->body_len, &req, &p)) != 0) {
		if (rc == SD_E_INVAL)
			api_response_problem(resp, &p);
		else
			api_response_error(resp, rc);
		return;
	}
	caller.client = call->client->name;
	caller.subject = call->id.subject;
	memcpy(caller.spki_sha256, call->id.spki_sha256, sizeof(caller.spki_sha256));
	if ((rc = signer_revoke(ctx->signer, &caller, req.serial_hex, req.reason, req.detail[0] != '\0' ? req.detail :
	    NULL, &r)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	if ((rc = api_revoke_json(&r, &body, &len)) != 0) {
		api_response_error(resp, rc);
		return;
	}
	api_response_json(resp, body, len);
	memcpy(resp->serial, r.serial_hex, sizeof(resp->serial) - 1);
	resp->serial[sizeof(resp->serial) - 1] = '\0';
}
