#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr/csr.h"
#include "csr_fixture.h"

static EVP_PKEY *p256, *rsa2048;

EVP_PKEY *
key_p256(void)
{
	if (p256 == NULL && (p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	return p256;
}

EVP_PKEY *
key_rsa2048(void)
{
	if (rsa2048 == NULL && (rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL)
		abort();
	return rsa2048;
}

void
csr_fixture_free_keys(void)
{
	EVP_PKEY_free(p256);
	EVP_PKEY_free(rsa2048);
	p256 = rsa2048 = NULL;
}

char *
bio_text(BIO *bio)
{
	char *data, *out;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		abort();
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	return out;
}

char *
pem_of(const char *label, const uint8_t *der, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out;

	if (bio == NULL || PEM_write_bio(bio, label, "", der, (long)len) <= 0)
		abort();
	out = bio_text(bio);
	BIO_free(bio);
	return out;
}

void
push_conf_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		abort();
}

uint8_t *
make_csr_der(EVP_PKEY *k, const char *cn, STACK_OF(X509_EXTENSION) *exts, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;
	const char *md = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 || EVP_PKEY_get_base_id(k) == EVP_PKEY_ED448 ?
	    NULL : "SHA256";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (req == NULL || name == NULL || ctx == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1)
		abort();
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Org", -1, -1, 0) != 1)
		abort();
	if (cn != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		abort();
	if (X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, k) != 1)
		abort();
	if (exts != NULL && X509_REQ_add_extensions(req, exts) != 1)
		abort();
	if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, k, NULL) != 1 || X509_REQ_sign_ctx(req, ctx) <= 0)
		abort();
	if ((n = i2d_X509_REQ(req, &der)) <= 0)
		abort();
	*len = (size_t)n;
	EVP_MD_CTX_free(ctx);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

char *
make_csr(EVP_PKEY *k, const char *cn, const char *san)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	uint8_t *der;
	size_t len;
	char *pem;

	if (san != NULL) {
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL)
			abort();
		push_conf_ext(exts, NID_subject_alt_name, san);
	}
	der = make_csr_der(k, cn, exts, &len);
	pem = pem_of("CERTIFICATE REQUEST", der, len);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return pem;
}

int
parse(const char *pem, struct csr **out)
{
	return csr_parse(pem, strlen(pem), 0, out);
}

int
parse_only(const char *pem)
{
	struct csr *csr = NULL;
	int rc = parse(pem, &csr);

	if (rc != 0)
		CU_ASSERT_PTR_NULL(csr);
	csr_free(csr);
	return rc;
}

char *
make_csr_full(EVP_PKEY *k, X509_NAME *name, STACK_OF(X509_EXTENSION) *exts, const char *md, bool pss)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *def = X509_NAME_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	char *pem;
	int n;

	if (req == NULL || def == NULL || ctx == NULL ||
	    X509_NAME_add_entry_by_txt(def, "O", MBSTRING_UTF8, (const unsigned char *)"Org", -1, -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name != NULL ? name : def) != 1 || X509_REQ_set_pubkey(req, k) != 1 ||
	    (exts != NULL && X509_REQ_add_extensions(req, exts) != 1) ||
	    EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, k, NULL) != 1 ||
	    (pss && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0) ||
	    X509_REQ_sign_ctx(req, ctx) <= 0 || (n = i2d_X509_REQ(req, &der)) <= 0)
		abort();
	pem = pem_of("CERTIFICATE REQUEST", der, (size_t)n);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	X509_NAME_free(def);
	X509_REQ_free(req);
	return pem;
}

void
one_key_of_each_type(EVP_PKEY *keys[5])
{
	keys[0] = key_rsa2048();
	keys[1] = key_p256();
	keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[3] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[4] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_FATAL(keys[2] != NULL && keys[3] != NULL && keys[4] != NULL);
}

void
free_keys_of_each_type(EVP_PKEY *keys[5])
{
	size_t i;

	for (i = 2; i < 5; i++)
		EVP_PKEY_free(keys[i]);
}
