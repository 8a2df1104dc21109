/*
 * POST /v1/revoke: a revoker or admin revokes any certificate, any other
 * client one of its own key. Its entry is in the permit table (api_routes.c).
 */
#ifndef API_REVOKE_H
#define API_REVOKE_H

#include "api_routes.h"

/* POST /v1/revoke {"serial_number": HEX, "reason": NAME (optional), "detail": TEXT (optional)} */
void api_route_revoke(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

#endif
