/* The revocation-status and CA routes (api_publish.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_base64.h"
#include "api_publish.h"
#include "sd_file.h"
#include "sd_time.h"

/* RFC 6960 4.2.1: OCSPResponse { responseStatus malformedRequest (1) }, no responseBytes. */
static const uint8_t api_ocsp_malformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };

static const char api_days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char api_months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec" };

void
api_http_date(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	int n;

	out[0] = '\0';
	/* Written by hand: strftime()'s names follow the locale. */
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year < 0 || tm.tm_year > 8099 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return;
	n = snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", api_days[tm.tm_wday], tm.tm_mday,
	    api_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || n >= 32)
		out[0] = '\0';
}

/* n decimal digits at p; -1 when one is not a digit. */
static int
api_digits(const char *p, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int
api_http_date_parse(const char *text, int64_t *out)
{
	int day, year, hour, min, sec, mon = -1, i;

	*out = 0;
	/* "Sun, 06 Nov 1994 08:49:37 GMT": the one form RFC 9110 has senders make. */
	if (text == NULL || strlen(text) != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' ||
	    text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':' || strcmp(text + 25, " GMT") != 0)
		return sd_error_set(SD_E_INVAL, "not an HTTP-date");
	for (i = 0; i < 12; i++)
		if (strncmp(text + 8, api_months[i], 3) == 0)
			mon = i;
	day = api_digits(text + 5, 2);
	year = api_digits(text + 12, 4);
	hour = api_digits(text + 17, 2);
	min = api_digits(text + 20, 2);
	sec = api_digits(text + 23, 2);
	if (mon < 0 || day < 1 || day > 31 || year < 0 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 ||
	    sec > 60)
		return sd_error_set(SD_E_INVAL, "not an HTTP-date");
	*out = sd_days_from_civil(year, (unsigned)mon + 1, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec;
	return 0;
}

int
api_ocsp_get_decode(const char *param, uint8_t *out, size_t cap, size_t *len)
{
	/* RFC 6960 A.1: the path's own percent-encoding; clients send base64url and drop the padding too. */
	return api_base64_decode(param, strlen(param), API_BASE64_PERCENT | API_BASE64_URL, out, cap, len);
}

/* The {name} of a /v1/ca/{name}/... route is the CA's; else resp is the 404 and false. */
static bool
api_publish_ca_name(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	struct api_problem p;

	if (call->path_param == NULL ||
	    (ctx->cfg->ca_name != NULL && strncmp(call->path_param, ctx->cfg->ca_name, strlen(ctx->cfg->ca_name)) == 0 &&
	    call->path_param[strlen(ctx->cfg->ca_name)] == '/'))
		return true;
	api_problem_set(&p, API_P_NOT_FOUND, "no resource at %s", call->path);
	api_response_refusal(resp, &p);
	return false;
}

/* Seconds from now until t, at least 0. */
static long long
api_until(int64_t t)
{
	int64_t now = (int64_t)time(NULL);

	return t > now ? (long long)(t - now) : 0;
}

/* The complete CRL or the delta: the same headers, the same conditional GET. */
static void
api_publish_crl(const struct api_ctx *ctx, const struct api_call *call, bool delta, struct api_response *resp)
{
	struct signer_crl *c = NULL;
	struct api_problem p;
	int64_t since;
	int rc, n;

	if (!api_publish_ca_name(ctx, call, resp))
		return;
	rc = delta ? signer_crl_delta(ctx->signer, &c) : signer_crl(ctx->signer, &c);
	if (delta && rc == SD_E_NOT_FOUND) {
		/* Not a fault to retry: this CA publishes no delta until its configuration says so. */
		api_problem_set(&p, API_P_NOT_FOUND, "delta CRLs are off: [ca] delta_crl_validity");
		api_response_refusal(resp, &p);
		return;
	}
	if (rc != 0) {
		api_response_unavailable(resp, rc, API_PUBLISH_RETRY);
		return;
	}
	api_http_date(c->this_update, resp->last_modified);
	api_http_date(c->next_update, resp->expires);
	n = snprintf(resp->cache_control, sizeof(resp->cache_control), "public, max-age=%lld",
	    api_until(c->next_update));
	if (n < 0 || (size_t)n >= sizeof(resp->cache_control))
		abort();	/* 96 bytes hold any max-age */
	/* Not newer than what the client holds: 304, the same headers, no body. */
	if (call->if_modified_since != NULL && api_http_date_parse(call->if_modified_since, &since) == 0 &&
	    c->this_update <= since) {
		resp->status = 304;
		signer_crl_free(c);
		return;
	}
	api_response_bytes(resp, API_CT_CRL, (char *)c->der, c->len);
	c->der = NULL;
	signer_crl_free(c);
}

void
api_route_crl(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	api_publish_crl(ctx, call, false, resp);
}

void
api_route_crl_delta(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	api_publish_crl(ctx, call, true, resp);
}

void
api_route_ca_certificate(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	char *body;

	if (!api_publish_ca_name(ctx, call, resp))
		return;
	if (ctx->ca_der == NULL || ctx->ca_der_len == 0) {
		api_response_error(resp, sd_error_set(SD_E_INTERNAL, "no CA certificate on this listener"));
		return;
	}
	if ((body = malloc(ctx->ca_der_len)) == NULL) {
		api_response_error(resp, SD_E_NOMEM);
		return;
	}
	memcpy(body, ctx->ca_der, ctx->ca_der_len);
	api_response_bytes(resp, API_CT_CERT, body, ctx->ca_der_len);
	/* It changes only with a restart: caches may keep it a day. */
	(void)snprintf(resp->cache_control, sizeof(resp->cache_control), "public, max-age=86400");
}

/* Answer OCSP request der, with RFC 5019's caching headers for a cacheable answer. */
static void
api_publish_ocsp(const struct api_ctx *ctx, const uint8_t *der, size_t len, struct api_response *resp)
{
	struct signer_ocsp *o = NULL;
	int rc, n;

	if ((rc = signer_ocsp(ctx->signer, der, len, &o)) != 0) {
		api_response_unavailable(resp, rc, API_PUBLISH_RETRY);
		return;
	}
	if (o->successful && !o->has_nonce) {
		api_http_date(o->this_update, resp->last_modified);
		api_http_date(o->next_update, resp->expires);
		n = snprintf(resp->cache_control, sizeof(resp->cache_control),
		    "max-age=%lld, public, no-transform, must-revalidate", api_until(o->next_update));
		if (n < 0 || (size_t)n >= sizeof(resp->cache_control))
			abort();	/* 96 bytes hold any max-age */
	}
	/* A nonce, or an error status: cache_control stays "", which is no-store. */
	api_response_bytes(resp, API_CT_OCSP_RESPONSE, (char *)o->der, o->len);
	o->der = NULL;
	signer_ocsp_free(o);
}

void
api_route_ocsp_post(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	api_publish_ocsp(ctx, (const uint8_t *)call->body, call->body_len, resp);
}

void
api_route_ocsp_get(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	uint8_t der[SIGNER_OCSP_REQUEST_MAX];
	size_t len, n = sizeof(api_ocsp_malformed);
	char *body;

	if (call->path_param == NULL || api_ocsp_get_decode(call->path_param, der, sizeof(der), &len) != 0) {
		/* Not a request at all: the protocol's answer is malformedRequest, not an HTTP error. */
		if ((body = malloc(n)) == NULL) {
			api_response_error(resp, SD_E_NOMEM);
			return;
		}
		memcpy(body, api_ocsp_malformed, n);
		api_response_bytes(resp, API_CT_OCSP_RESPONSE, body, n);
		return;
	}
	api_publish_ocsp(ctx, der, len, resp);
}
