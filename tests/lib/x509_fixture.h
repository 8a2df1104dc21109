/*
 * Software keys, names and TBSCertificates for the X.509 test programs (never
 * shipped): OpenSSL keys stand in for the HSM. A helper aborts, or fails the
 * running test, when OpenSSL does: a fixture that cannot be built is no test
 * result.
 */
#ifndef X509_FIXTURE_H
#define X509_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "x509/x509_ext.h"
#include "x509/x509_tbs.h"

#define NOW ((time_t)1763900000)	/* 2025-11-23 */

/* A new software key of type (EVP_PKEY_free()). */
EVP_PKEY *test_key(enum hsm_key_type type);

/* The software key of type, made on first use (RSA generation is slow) and kept until x509_fixture_free_keys(). */
EVP_PKEY *key_of(enum hsm_key_type type);

/* Free the keys key_of() kept, once the tests have run. */
void x509_fixture_free_keys(void);

/* k's SubjectPublicKeyInfo as DER (OPENSSL_free()). */
uint8_t *test_spki(EVP_PKEY *k, size_t *len);

/* O=signerd test, CN=cn; an empty name when cn is NULL (X509_NAME_free()). */
X509_NAME *test_name(const char *cn);

/* The same as DER (OPENSSL_free()). */
uint8_t *test_name_der(const char *cn, size_t *len);

/* What test_build_tbs() put into a TBS, and the TBS (free()). */

struct test_built {
	uint8_t serial[X509_SERIAL_LEN];
	uint8_t ski[X509_KEYID_LEN];
	uint8_t aki[X509_KEYID_LEN];
	uint8_t *tbs;
	size_t tbs_len;
};

/*
 * Build a TBS for a P-256 subject key under a CA key of type, with the usual
 * end-entity extensions: basicConstraints, keyUsage digitalSignature, server
 * and client auth, SKI, an AKI of 0xa5 octets, and the SANs www.example.com
 * and 10.0.0.1.
 */
void test_build_tbs(enum hsm_key_type ca_type, bool empty_subject, time_t not_before, time_t not_after,
    struct test_built *b);

/* Sign tbs the ordinary way (EVP_DigestSign with the table's digest) and assemble (*der: free()). */
void test_sign_software(enum hsm_key_type type, const uint8_t *tbs, size_t tbs_len, uint8_t **der, size_t *len);

/* The signature algorithm OpenSSL names for a certificate signed by a CA key of type. */
int test_sig_nid(enum hsm_key_type type);

#endif
