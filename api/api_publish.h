/*
 * The revocation-status and CA routes (README "Revocation"): the CRL and
 * its delta on both listeners, the CA certificate and OCSP on the public one. One
 * handler per route, shared by both listeners; they reach the signer only
 * through signer.h and fill the response's caching headers themselves.
 */
#ifndef API_PUBLISH_H
#define API_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "api_routes.h"

#define API_CT_CRL "application/pkix-crl"
#define API_CT_CERT "application/pkix-cert"
#define API_CT_OCSP_REQUEST "application/ocsp-request"
#define API_CT_OCSP_RESPONSE "application/ocsp-response"
#define API_PUBLISH_RETRY 30		/* Retry-After of a 503: seconds */

/* GET /v1/crl and /v1/ca/{name}/crl ({name} is [ca] name, else 404). */
void api_route_crl(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* GET /v1/crl/delta and /v1/ca/{name}/delta-crl: as api_route_crl(); 404 when delta CRLs are off. */
void api_route_crl_delta(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* GET /v1/ca/{name}/certificate: ctx->ca_der. */
void api_route_ca_certificate(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* POST /ocsp (and /ocsp/): the DER request is the body. */
void api_route_ocsp_post(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* GET /ocsp/{request}: RFC 6960 A.1, base64 (or base64url), percent-encoded or not. */
void api_route_ocsp_get(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

/*
 * Decode the GET form of an OCSP request: percent-decoding, then base64
 * (standard or URL alphabet, padding optional), into out (cap bytes).
 * Errors: SD_E_INVAL (not base64, or more than cap bytes).
 */
SD_WUR int api_ocsp_get_decode(const char *param, uint8_t *out, size_t cap, size_t *len);

/* An HTTP-date (RFC 9110 IMF-fixdate, GMT) of Unix time t; "" when out of range. */
void api_http_date(int64_t t, char out[32]);
/* Read an IMF-fixdate. Errors: SD_E_INVAL. */
SD_WUR int api_http_date_parse(const char *text, int64_t *out);

#endif
