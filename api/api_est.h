/*
 * EST (RFC 7030) under /.well-known/est/, on the HTTPS listener: cacerts,
 * simpleenroll, simplereenroll, csrattrs, and serverkeygen refused. The
 * label is a profile name. Enrolment takes the /v1/sign path: the same
 * admission (issuer role, the profile allowed to the client) and the same
 * signer_issue(), so policy, lint and journal do not differ.
 */
#ifndef API_EST_H
#define API_EST_H

#include <stddef.h>
#include <stdint.h>

#include "api_routes.h"

#define API_CT_PKCS10 "application/pkcs10"
#define API_CT_PKCS7_CERTS "application/pkcs7-mime; smime-type=certs-only"
#define API_CT_PKCS7 "application/pkcs7-mime"
/* A base64 CSR body: SIGNER_CSR_MAX bytes of DER in base64, with room for line breaks. */
#define API_EST_BODY_MAX (2 * SIGNER_CSR_MAX)

/* GET /.well-known/est/cacerts and /.well-known/est/{label}/cacerts: the chain, base64 PKCS#7 certs-only. */
void api_route_est_cacerts(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* POST /.well-known/est/{label}/simpleenroll and .../simplereenroll: a base64 DER CSR. */
void api_route_est_enroll(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* GET /.well-known/est/{label}/csrattrs: 204, no attributes asked for. */
void api_route_est_csrattrs(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp);
/* POST /.well-known/est/{label}/serverkeygen: 501, keys are made by their owners. */
void api_route_est_serverkeygen(const struct api_ctx *ctx, const struct api_call *call,
    struct api_response *resp);

/*
 * Decode base64 text (standard alphabet, padding required, whitespace and
 * line breaks anywhere ignored) into out (cap bytes).
 * Errors: SD_E_INVAL (not base64, empty, or more than cap bytes).
 */
SD_WUR int api_est_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/*
 * The EST request body (base64 DER PKCS#10) as a PEM "CERTIFICATE REQUEST"
 * of the same DER (new string, *pem_len bytes, NUL-terminated). The DER
 * must parse as a CSR; the signer checks everything else.
 * Errors: SD_E_INVAL (not base64, not a CSR, more than SIGNER_CSR_MAX bytes
 * of DER), SD_E_NOMEM.
 */
SD_WUR int api_est_csr_pem(const char *body, size_t len, char **pem, size_t *pem_len);

/*
 * A certs-only PKCS#7 (degenerate SignedData, RFC 7030 4.1.3) holding the
 * n PEM certificates (1..SIGNER_CHAIN_MAX), in DER encoded as base64 in
 * lines of 64 characters, each ending in "\n" (new string, *len bytes, NUL-terminated).
 * Errors: SD_E_INVAL (n out of range, a certificate that does not parse), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int api_est_pkcs7(const char *const *pems, size_t n, char **out, size_t *len);

#endif
