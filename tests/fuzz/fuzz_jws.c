/*
 * ACME request bodies (signer/acme/acme_jws.h): acme_jws_parse() on
 * arbitrary bytes, as anyone who reaches /acme/ sends them to the signer;
 * then, for what parses, the JWK's key and thumbprint and the signature
 * check. What parses names a nonce, a url and exactly one of kid and jwk,
 * and every refusal names an ACME problem.
 *
 * fuzz-options: -max_len=65536 (ACME_JWS_MAX: 64 KiB)
 */
#include <string.h>

#include "acme/acme_jws.h"
#include "harness.h"
#include "sd_error.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char thumbprint[ACME_THUMBPRINT_LEN + 1];
	enum acme_problem problem = ACME_P_NONE;
	struct acme_jws *jws = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	rc = acme_jws_parse((const char *)data, size, &jws, &problem);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_TOO_LARGE || rc == SD_E_NOMEM);
	FUZZ_CHECK((rc == 0) == (jws != NULL));
	FUZZ_CHECK(rc == 0 || rc == SD_E_NOMEM || problem != ACME_P_NONE);
	if (rc != 0)
		return 0;
	FUZZ_CHECK(size <= ACME_JWS_MAX);
	FUZZ_CHECK(jws->nonce != NULL && jws->url != NULL);
	FUZZ_CHECK((jws->kid != NULL) != (jws->jwk != NULL));
	FUZZ_CHECK(jws->payload != NULL && jws->payload[jws->payload_len] == '\0');
	if (jws->jwk != NULL && acme_jwk_key(jws->jwk, &key, &problem) == 0) {
		FUZZ_CHECK(key != NULL);
		FUZZ_CHECK(acme_jwk_thumbprint(jws->jwk, thumbprint) == 0);
		FUZZ_CHECK(strlen(thumbprint) == ACME_THUMBPRINT_LEN);
		rc = acme_jws_verify(jws, key, &problem);
		FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_CRYPTO || rc == SD_E_NOMEM);
	}
	EVP_PKEY_free(key);
	acme_jws_free(jws);
	return 0;
}
