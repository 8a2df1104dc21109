/*
 * CA material in a SoftHSM token for tests (never shipped): the token
 * opened, keys generated in it, root and sub-CA certificates made by the
 * ceremony code. Failures are fatal CUnit assertions.
 */
#ifndef HSM_CA_FIXTURE_H
#define HSM_CA_FIXTURE_H

#include <openssl/x509.h>

#include "hsm.h"
#include "softhsm_fixture.h"

/* A fresh token labelled label in *fx, opened (two sessions). */
struct hsm *hsm_ca_open(const char *label, struct sd_test_softhsm *fx);

/* The key object label in h, generated as type on first use (hsm_key_free()). */
struct hsm_key *hsm_ca_key(struct hsm *h, const char *label, enum hsm_key_type type);

/* The first certificate of pem (X509_free()). */
X509 *hsm_ca_pem_cert(const char *pem);

/*
 * A CA valid 30 days, subject "/O=signerd test/CN=cn": a root for k, or,
 * issuer given, a sub-CA signed by issuer (whose certificate is issuer_pem).
 * Its PEM in *pem_out (free()) when asked.
 */
X509 *hsm_ca_make(struct hsm_key *k, const char *cn, struct hsm_key *issuer, const char *issuer_pem, char **pem_out);

#endif
