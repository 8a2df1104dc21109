/*
 * OCSP requests (signer/x509/ocsp.h): ocsp_request_parse() on arbitrary
 * bytes, as they will come from anyone who reaches the OCSP responder.
 * What parses is within every bound of struct ocsp_request, and each
 * CertID it keeps decodes again as exactly one CertID.
 *
 * fuzz-options: -max_len=8300 (OCSP_REQUEST_MAX: 8 KiB)
 */
#include <openssl/ocsp.h>

#include "harness.h"
#include "sd_error.h"
#include "x509/ocsp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_request *req = NULL;
	const unsigned char *p;
	OCSP_CERTID *id;
	size_t i;
	int rc;

	rc = ocsp_request_parse(data, size, &req);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_TOO_LARGE || rc == SD_E_UNSUPPORTED ||
	    rc == SD_E_NOMEM || rc == SD_E_CRYPTO);
	FUZZ_CHECK((rc == 0) == (req != NULL));
	if (rc == 0) {
		FUZZ_CHECK(size <= OCSP_REQUEST_MAX);
		FUZZ_CHECK(req->n_ids >= 1 && req->n_ids <= OCSP_REQUEST_IDS_MAX);
		FUZZ_CHECK(req->nonce_len <= OCSP_NONCE_MAX);
		for (i = 0; i < req->n_ids; i++) {
			FUZZ_CHECK(req->ids[i].hash_len > 0 && req->ids[i].hash_len <= OCSP_HASH_MAX);
			FUZZ_CHECK(req->ids[i].serial_len <= OCSP_SERIAL_MAX);
			FUZZ_CHECK(req->ids[i].der_len > 0 && req->ids[i].der_len <= OCSP_CERTID_MAX);
			p = req->ids[i].der;
			id = d2i_OCSP_CERTID(NULL, &p, (long)req->ids[i].der_len);
			FUZZ_CHECK(id != NULL && p == req->ids[i].der + req->ids[i].der_len);
			OCSP_CERTID_free(id);
		}
	}
	ocsp_request_free(req);
	return 0;
}
