#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "ceremony.h"
#include "hsm_ca_fixture.h"

struct hsm *
hsm_ca_open(const char *label, struct sd_test_softhsm *fx)
{
	struct hsm_config cfg;
	struct hsm *h = NULL;

	CU_ASSERT_EQUAL_FATAL(sd_test_softhsm_new(label, fx), 0);
	cfg = (struct hsm_config){ fx->module, fx->token_uri, fx->pin_file, 2 };
	CU_ASSERT_EQUAL_FATAL(hsm_open(&cfg, &h), 0);
	return h;
}

struct hsm_key *
hsm_ca_key(struct hsm *h, const char *label, enum hsm_key_type type)
{
	struct hsm_key *k = NULL;
	char uri[128];

	CU_ASSERT_FATAL(snprintf(uri, sizeof(uri), "pkcs11:object=%s", label) < (int)sizeof(uri));
	if (hsm_key_find(h, uri, false, &k) == 0)
		return k;
	CU_ASSERT_EQUAL_FATAL(hsm_keygen(h, uri, type), 0);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, uri, false, &k), 0);
	return k;
}

X509 *
hsm_ca_pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	return x;
}

X509 *
hsm_ca_make(struct hsm_key *k, const char *cn, struct hsm_key *issuer, const char *issuer_pem, char **pem_out)
{
	char subject[128], *pem = NULL;
	struct ceremony_ca req;
	X509 *x;

	(void)snprintf(subject, sizeof(subject), "/O=signerd test/CN=%s", cn);
	req = (struct ceremony_ca){ subject, 30, -1 };
	if (issuer == NULL) {
		CU_ASSERT_EQUAL_FATAL(ceremony_root(k, &req, &pem), 0);
	} else {
		CU_ASSERT_EQUAL_FATAL(ceremony_intermediate(issuer, issuer_pem, strlen(issuer_pem), k, &req, &pem), 0);
	}
	x = hsm_ca_pem_cert(pem);
	if (pem_out != NULL)
		*pem_out = pem;
	else
		free(pem);
	return x;
}
