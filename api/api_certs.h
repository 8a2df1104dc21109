/*
 * The certificate inventory's routes: GET /v1/certificates (auditor,
 * admin) and GET /v1/certificates/{serial} (its requesting issuer, auditor,
 * admin). Their entries are in the permit table (api_routes.c).
 */
#ifndef API_CERTS_H
#define API_CERTS_H

#include "api_routes.h"

/* GET /v1/certificates?profile=&client=&san=&valid_at=&expires_before=&cursor=&limit= */
void api_route_certs(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

/* GET /v1/certificates/{serial} */
void api_route_cert(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

#endif
