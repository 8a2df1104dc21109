/*
 * The API's request parsing: the POST /v1/sign body
 * (api_sign_request_parse()), and the header and query values the routes
 * read (api_content_type_is_json(), api_content_length_parse(),
 * api_query_u64()). A parsed request must keep every limit the API
 * promises the signer; a refusal must make a problem document. The names
 * of a parsed request then go where the signer takes them, policy_names()
 * with the request's own list, against the leaf and SPIFFE profiles of
 * fuzz_profiles().
 *
 * fuzz-options: -max_len=20000 (a sign request carrying a CSR of SIGNER_CSR_MAX)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "config.h"
#include "csr/csr.h"
#include "harness.h"
#include "policy/policy.h"
#include "sd_error.h"

static struct x509_san fuzz_sans[SIGNER_SAN_MAX];

static void
fuzz_problem(const struct api_problem *prob)
{
	char *json = NULL;
	size_t len = 0;

	FUZZ_CHECK(prob->status == 400 && prob->slug != NULL && prob->title != NULL);
	FUZZ_CHECK(memchr(prob->detail, '\0', sizeof(prob->detail)) != NULL);
	FUZZ_CHECK(api_problem_json(prob, &json, &len) == 0 && strlen(json) == len);
	free(json);
}

static void
fuzz_request(const struct api_sign_request *req)
{
	size_t i;

	FUZZ_CHECK(req->csr_pem != NULL && req->csr_pem_len > 0 && req->csr_pem_len <= SIGNER_CSR_MAX);
	FUZZ_CHECK(strlen(req->csr_pem) == req->csr_pem_len);
	FUZZ_CHECK(req->profile != NULL && strlen(req->profile) > 0 && strlen(req->profile) <= API_PROFILE_MAX);
	FUZZ_CHECK(req->ttl <= (uint64_t)INT64_MAX);
	FUZZ_CHECK(req->n_sans <= SIGNER_SAN_MAX);
	for (i = 0; i < req->n_sans; i++) {
		FUZZ_CHECK(req->sans[i].len > 0 && req->sans[i].len <= SIGNER_SAN_VALUE_MAX);
		FUZZ_CHECK(strlen(req->sans[i].value) == req->sans[i].len);
		FUZZ_CHECK(req->sans[i].type == SIGNER_SAN_DNS || req->sans[i].type == SIGNER_SAN_IP ||
		    req->sans[i].type == SIGNER_SAN_URI || req->sans[i].type == SIGNER_SAN_EMAIL);
	}
}

/* The request's names against profile name, as signer_issue() checks them (the CSR's are then unused). */
static void
fuzz_names(const char *name, const struct api_sign_request *req)
{
	const struct config_profile *profile = sd_config_profile(fuzz_profiles(), name);
	struct csr none;
	size_t n = 0, i;
	int rc;

	memset(&none, 0, sizeof(none));
	FUZZ_CHECK(profile != NULL);
	rc = policy_names(profile, &none, req->sans, req->n_sans, fuzz_sans, &n);
	FUZZ_CHECK(rc == 0 || rc == SD_E_NAME_REFUSED || rc == SD_E_TOO_LARGE);
	if (rc != 0)
		return;
	FUZZ_CHECK(n > 0 && n <= req->n_sans);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(fuzz_sans[i].type == X509_SAN_IP ? fuzz_sans[i].ip_len == 4 || fuzz_sans[i].ip_len == 16 :
		    fuzz_sans[i].name_len > 0 && fuzz_sans[i].name_len <= X509_SAN_NAME_MAX &&
		    strlen(fuzz_sans[i].name) == fuzz_sans[i].name_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_sign_request *req = NULL;
	struct api_problem prob;
	uint64_t v;
	char *text;
	int rc;

	memset(&prob, 0, sizeof(prob));
	rc = api_sign_request_parse((const char *)data, size, &req, &prob);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_NOMEM);
	FUZZ_CHECK((rc == 0) == (req != NULL));
	if (rc == 0) {
		fuzz_request(req);
		if (req->n_sans > 0) {
			fuzz_names("leaf", req);
			fuzz_names("spiffe", req);
		}
	}
	else if (rc == SD_E_INVAL)
		fuzz_problem(&prob);
	api_sign_request_free(req);

	/* Header and query values arrive as C strings. */
	text = fuzz_strndup(data, size);
	(void)api_content_type_is_json(text);
	if (api_content_length_parse(text, &v) == 0)
		FUZZ_CHECK(strspn(text, "0123456789") == strlen(text));
	memset(&prob, 0, sizeof(prob));
	if (api_query_u64("limit", text, 1, SIGNER_AUDIT_RECORDS_MAX, SIGNER_AUDIT_RECORDS_MAX, &v, &prob) == 0)
		FUZZ_CHECK(v >= 1 && v <= SIGNER_AUDIT_RECORDS_MAX);
	else
		fuzz_problem(&prob);
	memset(&prob, 0, sizeof(prob));
	if (api_query_u64("from", text, 1, INT64_MAX, 1, &v, &prob) == 0)
		FUZZ_CHECK(v >= 1 && v <= INT64_MAX);
	else
		fuzz_problem(&prob);
	free(text);
	return 0;
}
