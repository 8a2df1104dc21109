#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "config.h"
#include "x509/x509_cert.h"
#include "x509/x509_ext.h"
#include "x509/x509_sigalg.h"
#include "x509/x509_tbs.h"
#include "x509_fixture.h"

EVP_PKEY *
test_key(enum hsm_key_type type)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case HSM_KEY_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case HSM_KEY_RSA3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case HSM_KEY_RSA4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case HSM_KEY_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case HSM_KEY_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case HSM_KEY_P521:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		break;
	case HSM_KEY_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	if (k == NULL)
		abort();
	return k;
}

/* Cached keys: RSA generation is slow. */
static EVP_PKEY *test_keys[HSM_KEY_ED25519 + 1];

EVP_PKEY *
key_of(enum hsm_key_type type)
{
	if (test_keys[type] == NULL)
		test_keys[type] = test_key(type);
	return test_keys[type];
}

void
x509_fixture_free_keys(void)
{
	size_t i;

	for (i = 0; i < sizeof(test_keys) / sizeof(test_keys[0]); i++) {
		EVP_PKEY_free(test_keys[i]);
		test_keys[i] = NULL;
	}
}

uint8_t *
test_spki(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n <= 0)
		abort();
	*len = (size_t)n;
	return der;
}

X509_NAME *
test_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		abort();
	if (cn != NULL && (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"signerd test",
	    -1, -1, 0) != 1 || X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1))
		abort();
	return n;
}

uint8_t *
test_name_der(const char *cn, size_t *len)
{
	X509_NAME *n = test_name(cn);
	unsigned char *der = NULL;
	int k = i2d_X509_NAME(n, &der);

	if (k <= 0)
		abort();
	X509_NAME_free(n);
	*len = (size_t)k;
	return der;
}

static STACK_OF(X509_EXTENSION) *
test_ee_exts(const uint8_t *spki, size_t spki_len, struct test_built *b, bool empty_subject)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	struct x509_san sans[2];

	memset(sans, 0, sizeof(sans));
	sans[0].type = X509_SAN_DNS;
	memcpy(sans[0].name, "www.example.com", 16);
	sans[0].name_len = 15;
	sans[1].type = X509_SAN_IP;
	memcpy(sans[1].ip, "\x0a\x00\x00\x01", 4);
	sans[1].ip_len = 4;
	memset(b->aki, 0xa5, sizeof(b->aki));
	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	CU_ASSERT_EQUAL_FATAL(x509_ext_key_id(spki, spki_len, b->ski), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_basic_constraints(exts, false, -1), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_key_usage(exts, CONFIG_KU_DIGITAL_SIGNATURE), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_ext_key_usage(exts, CONFIG_EKU_SERVER_AUTH | CONFIG_EKU_CLIENT_AUTH), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_ski(exts, b->ski, sizeof(b->ski)), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_aki(exts, b->aki, sizeof(b->aki)), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_san(exts, sans, 2, empty_subject), 0);
	return exts;
}

void
test_build_tbs(enum hsm_key_type ca_type, bool empty_subject, time_t not_before, time_t not_after,
    struct test_built *b)
{
	const struct x509_sigalg *alg;
	EVP_PKEY *subject_key = key_of(HSM_KEY_P256);
	STACK_OF(X509_EXTENSION) *exts;
	X509_NAME *subject = test_name(empty_subject ? NULL : "www.example.com");
	uint8_t *issuer, *spki;
	size_t issuer_len, spki_len;
	struct x509_tbs_template t;

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(ca_type, &alg), 0);
	CU_ASSERT_EQUAL_FATAL(x509_tbs_serial_random(b->serial), 0);
	issuer = test_name_der("Test CA", &issuer_len);
	spki = test_spki(subject_key, &spki_len);
	exts = test_ee_exts(spki, spki_len, b, empty_subject);
	t = (struct x509_tbs_template){
		.serial = b->serial,
		.serial_len = sizeof(b->serial),
		.algid = alg->algid,
		.algid_len = alg->algid_len,
		.issuer = issuer,
		.issuer_len = issuer_len,
		.not_before = not_before,
		.not_after = not_after,
		.subject = subject,
		.spki = spki,
		.spki_len = spki_len,
		.exts = exts,
	};
	CU_ASSERT_EQUAL_FATAL(x509_tbs_build(&t, &b->tbs, &b->tbs_len), 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	OPENSSL_free(issuer);
	OPENSSL_free(spki);
}

void
test_sign_software(enum hsm_key_type type, const uint8_t *tbs, size_t tbs_len, uint8_t **der, size_t *len)
{
	const struct x509_sigalg *alg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t sig_len = 0;

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(type, &alg), 0);
	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit_ex(ctx, NULL, alg->digest, NULL, NULL, key_of(type), NULL), 1);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(ctx, NULL, &sig_len, tbs, tbs_len), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig = malloc(sig_len));
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(ctx, sig, &sig_len, tbs, tbs_len), 1);
	CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(tbs, tbs_len, alg->algid, alg->algid_len, sig, sig_len, der, len), 0);
	free(sig);
	EVP_MD_CTX_free(ctx);
}

int
test_sig_nid(enum hsm_key_type type)
{
	switch (type) {
	case HSM_KEY_RSA2048:
		return NID_sha256WithRSAEncryption;
	case HSM_KEY_RSA3072:
		return NID_sha384WithRSAEncryption;
	case HSM_KEY_RSA4096:
		return NID_sha512WithRSAEncryption;
	case HSM_KEY_P256:
		return NID_ecdsa_with_SHA256;
	case HSM_KEY_P384:
		return NID_ecdsa_with_SHA384;
	case HSM_KEY_P521:
		return NID_ecdsa_with_SHA512;
	case HSM_KEY_ED25519:
		return NID_ED25519;
	}
	return NID_undef;
}
