/*
 * EST (RFC 7030) handlers (api_est.h). Bodies are base64 DER both ways;
 * the CSR goes to the signer as PEM of the very same DER, so that its
 * signature and every check are those of /v1/sign.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>

#include "api_base64.h"
#include "api_est.h"

#define API_EST_LABEL_MAX API_ROUTE_PARAM_MAX
#define API_EST_B64_LINE 64

int
api_est_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	/* RFC 7030 bodies are base64 per RFC 2045: line breaks (and stray blanks) carry nothing. */
	return api_base64_decode(text, len, API_BASE64_BLANKS | API_BASE64_PADDED, out, cap, out_len);
}

int
api_est_csr_pem(const char *body, size_t len, char **pem, size_t *pem_len)
{
	gnutls_x509_crq_t crq = NULL;
	gnutls_datum_t der, out = { NULL, 0 };
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	*pem = NULL;
	*pem_len = 0;
	if ((buf = malloc(SIGNER_CSR_MAX)) == NULL)
		return SD_E_NOMEM;
	if ((rc = api_est_base64_decode(body, len, buf, SIGNER_CSR_MAX, &n)) != 0)
		goto out;
	if (n > UINT32_MAX) {
		rc = sd_error_set(SD_E_INVAL, "CSR too large");
		goto out;
	}
	der.data = buf;
	der.size = (unsigned)n;
	if (gnutls_x509_crq_init(&crq) < 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (gnutls_x509_crq_import(crq, &der, GNUTLS_X509_FMT_DER) < 0) {
		rc = sd_error_set(SD_E_INVAL, "the body is base64 but not a DER PKCS#10 request");
		goto out;
	}
	/* The received DER, not a re-encoding: the CSR's signature covers those bytes. */
	if (gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, &out) < 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((*pem = malloc((size_t)out.size + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(*pem, out.data, out.size);
	(*pem)[out.size] = '\0';
	*pem_len = out.size;
	rc = 0;
out:
	gnutls_free(out.data);
	gnutls_x509_crq_deinit(crq);
	free(buf);
	return rc;
}

int
api_est_pkcs7(const char *const *pems, size_t n, char **out, size_t *len)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pkcs7_t p7 = NULL;
	gnutls_datum_t pem, der = { NULL, 0 }, p7der = { NULL, 0 }, b64 = { NULL, 0 };
	size_t i, plen, lines;
	int rc;

	*out = NULL;
	*len = 0;
	if (n == 0 || n > SIGNER_CHAIN_MAX)
		return sd_error_set(SD_E_INVAL, "%zu certificates", n);
	if (gnutls_pkcs7_init(&p7) < 0)
		return SD_E_NOMEM;
	for (i = 0; i < n; i++) {
		if (pems[i] == NULL || (plen = strlen(pems[i])) > UINT32_MAX) {
			rc = sd_error_set(SD_E_INVAL, "certificate %zu missing", i);
			goto out;
		}
		pem.data = (unsigned char *)(uintptr_t)pems[i];
		pem.size = (unsigned)plen;
		if (gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der) < 0) {
			rc = sd_error_set(SD_E_INVAL, "certificate %zu is not PEM", i);
			goto out;
		}
		/* Parsed first: gnutls_pkcs7_set_crt_raw() would take any bytes. */
		if (gnutls_x509_crt_init(&crt) < 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0 || gnutls_pkcs7_set_crt(p7, crt) < 0) {
			rc = sd_error_set(SD_E_INVAL, "certificate %zu does not parse", i);
			goto out;
		}
		gnutls_x509_crt_deinit(crt);
		crt = NULL;
		gnutls_free(der.data);
		der.data = NULL;
	}
	if (gnutls_pkcs7_export2(p7, GNUTLS_X509_FMT_DER, &p7der) < 0 || gnutls_base64_encode2(&p7der, &b64) < 0) {
		rc = sd_error_set(SD_E_CRYPTO, "GnuTLS could not encode the PKCS#7");
		goto out;
	}
	/* Lines of API_EST_B64_LINE: RFC 2045's limit, and what `openssl base64 -d` (RFC 7030's example) reads. */
	lines = ((size_t)b64.size + API_EST_B64_LINE - 1) / API_EST_B64_LINE;
	if ((*out = malloc((size_t)b64.size + lines + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < b64.size; i += API_EST_B64_LINE) {
		plen = b64.size - i < API_EST_B64_LINE ? b64.size - i : API_EST_B64_LINE;
		memcpy(*out + *len, b64.data + i, plen);
		*len += plen;
		(*out)[(*len)++] = '\n';
	}
	(*out)[*len] = '\0';
	rc = 0;
out:
	gnutls_free(der.data);
	gnutls_free(p7der.data);
	gnutls_free(b64.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_pkcs7_deinit(p7);
	return rc;
}

/*
 * The label of a /.well-known/est/{label}/... path, copied into label: a
 * configured profile, else resp is the 404 and false. No label (the
 * label-less cacerts) is label "" and true.
 */
static bool
api_est_label(const struct api_ctx *ctx, const struct api_call *call, char label[API_EST_LABEL_MAX + 1],
    struct api_response *resp)
{
	struct api_problem p;
	const char *slash;
	size_t n;

	label[0] = '\0';
	if (call->path_param == NULL)
		return true;
	/* The route's {label} runs on to the end of the path: it ends at the next '/'. */
	slash = strchr(call->path_param, '/');
	n = slash != NULL ? (size_t)(slash - call->path_param) : strlen(call->path_param);
	if (n == 0 || n > API_EST_LABEL_MAX)
		abort();	/* api_route_match() bounds the segment */
	memcpy(label, call->path_param, n);
	label[n] = '\0';
	if (sd_config_profile(ctx->cfg, label) != NULL)
		return true;
	api_problem_set(&p, API_P_NOT_FOUND, "no EST label \"%s\" (an EST label is a profile name)", label);
	api_response_problem(resp, &p);
	return false;
}

static void
api_est_certs(struct api_response *resp, const char *const *pems, size_t n)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if ((rc = api_est_pkcs7(pems, n, &body, &len)) != 0) {
		api_response_error(resp,
		    rc == SD_E_INVAL ? sd_error_set(SD_E_INTERNAL, "%s", sd_error_detail(rc)) : rc);
		return;
	}
	api_response_bytes(resp, API_CT_PKCS7_CERTS, body, len);
	resp->transfer_encoding = "base64";
}

void
api_route_est_cacerts(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	const char *chain[SIGNER_CHAIN_MAX];
	char label[API_EST_LABEL_MAX + 1];
	size_t i, n;

	if (!api_est_label(ctx, call, label, resp))
		return;
	n = signer_chain_count(ctx->signer);
	if (n == 0 || n > SIGNER_CHAIN_MAX) {
		api_response_error(resp, sd_error_set(SD_E_INTERNAL, "chain of %zu certificates", n));
		return;
	}
	for (i = 0; i < n; i++)
		chain[i] = signer_chain_pem(ctx->signer, i);
	api_est_certs(resp, chain, n);
	/* RFC 7030 4.1.3 names the bare type for cacerts. */
	if (resp->status == 200)
		resp->content_type = API_CT_PKCS7;
}

void
api_route_est_enroll(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	char label[API_EST_LABEL_MAX + 1];
	struct signer_result *res = NULL;
	struct signer_request sreq;
	struct api_problem p;
	const char *cert;
	char *pem = NULL;
	size_t pem_len = 0;
	int rc;

	if (!call->authenticated || (call->client == NULL) != call->holder)
		abort();	/* the permit table requires API_ROUTE_AUTH here */
	/* A holder (simplereenroll only) is no client: the signer checks the certificate it renews. */
	if (!api_est_label(ctx, call, label, resp) || (!call->holder && !api_route_profile_admit(call, label, resp)))
		goto out;
	if ((rc = api_est_csr_pem(call->body, call->body_len, &pem, &pem_len)) != 0) {
		if (rc != SD_E_INVAL) {
			api_response_error(resp, rc);
			goto out;
		}
		api_problem_set(&p, API_P_BAD_REQUEST, "the body must be a base64 DER PKCS#10 request: %s",
		    sd_error_detail(rc));
		api_response_problem(resp, &p);
		goto out;
	}
	api_route_signer_request(call, label, pem, pem_len, &sreq);
	if ((rc = signer_issue(ctx->signer, &sreq, &res)) != 0) {
		api_response_error(resp, rc);
		goto out;
	}
	cert = res->cert_pem;
	api_est_certs(resp, &cert, 1);
	memcpy(resp->serial, res->serial_hex, sizeof(resp->serial) - 1);
	resp->serial[sizeof(resp->serial) - 1] = '\0';
out:
	signer_result_free(res);
	free(pem);
}

void
api_route_est_csrattrs(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	char label[API_EST_LABEL_MAX + 1];

	if (!api_est_label(ctx, call, label, resp))
		return;
	/* RFC 7030 4.5.2: 204 when no attributes are asked for; the profile decides the rest. */
	api_response_clear(resp);
	resp->status = 204;
}

void
api_route_est_serverkeygen(const struct api_ctx *ctx, const struct api_call *call, struct api_response *resp)
{
	char label[API_EST_LABEL_MAX + 1];
	struct api_problem p;

	if (!api_est_label(ctx, call, label, resp))
		return;
	api_problem_set(&p, API_P_NOT_IMPLEMENTED, "serverkeygen is not offered: keys are made by their owners, "
	    "who send a CSR to simpleenroll");
	api_response_problem(resp, &p);
}
