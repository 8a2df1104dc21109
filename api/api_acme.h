/*
 * ACME (RFC 8555) as the front carries it: the path names the directory's
 * profile and the resource, the Host header the URL base; the signer
 * (signer_acme()) verifies and answers, and the front runs the challenge
 * validations the answers ask for (acme_validator.h).
 */
#ifndef API_ACME_H
#define API_ACME_H

#include <stdbool.h>
#include <stddef.h>

#include "api_routes.h"
#include "signer.h"

#define API_CT_JOSE "application/jose+json"
#define API_ACME_PROFILE_MAX 64 /* bytes of the path's profile segment */

/* The tail of /acme/{path}, parsed. */
struct api_acme_path {
	char profile[API_ACME_PROFILE_MAX + 1];
	enum signer_acme_op op;
	char id[SIGNER_ACME_PARAM_MAX + 1]; /* "" : the resource takes none */
};

/*
 * Parse tail ("PROFILE/directory", "PROFILE/order/ID/finalize", ...):
 * segments non-empty, of [A-Za-z0-9._-] only, each within its bound.
 * Errors: SD_E_NOT_FOUND (no such resource; the detail says why).
 */
SD_WUR int api_acme_path_parse(const char *tail, struct api_acme_path *out);

/*
 * "https://" host into out (cap bytes): host is a Host header, a DNS name
 * or IPv4 literal of [A-Za-z0-9.-] or an IPv6 literal in brackets, either
 * with an optional ":port" of 1..5 digits; the whole base at most
 * SIGNER_ACME_BASE_MAX bytes. Errors: SD_E_INVAL (missing or malformed),
 * SD_E_TOO_LARGE.
 */
SD_WUR int api_acme_base(const char *host, char *out, size_t cap);

/* The handler of both /acme/{path} routes (GET/HEAD and POST). */
void api_route_acme(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);

#endif
