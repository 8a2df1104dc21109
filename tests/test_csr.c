/*
 * CSR parsing and checks, on CSRs made here with OpenSSL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csr/csr.h"
#include "csr/weakkey.h"
#include "sd_test.h"
#include "signer.h"

static EVP_PKEY *p256, *rsa2048;

static EVP_PKEY *
key_p256(void)
{
	if (p256 == NULL && (p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	return p256;
}

static EVP_PKEY *
key_rsa2048(void)
{
	if (rsa2048 == NULL && (rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL)
		abort();
	return rsa2048;
}

static char *
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

static char *
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

/* Add one extension, made from OpenSSL's config syntax (e.g. "DNS:a,IP:1.2.3.4"), to exts. */
static void
push_conf_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		abort();
}

/* Add an extension with raw DER content. */
static void
push_raw_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const uint8_t *der, size_t len)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	if (os == NULL || ASN1_OCTET_STRING_set(os, der, (int)len) != 1 ||
	    (ext = X509_EXTENSION_create_by_NID(NULL, nid, 0, os)) == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		abort();
	ASN1_OCTET_STRING_free(os);
}

/*
 * A signed CSR for k with subject CN cn (NULL: none) and the extensions in
 * exts (NULL: no extensionRequest), as DER.
 */
static uint8_t *
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

static char *
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

static char *
make_csr_exts(EVP_PKEY *k, STACK_OF(X509_EXTENSION) *exts)
{
	size_t len;
	uint8_t *der = make_csr_der(k, "x", exts, &len);
	char *pem = pem_of("CERTIFICATE REQUEST", der, len);

	OPENSSL_free(der);
	return pem;
}

static int
parse(const char *pem, struct csr **out)
{
	return csr_parse(pem, strlen(pem), 0, out);
}

static int
parse_only(const char *pem)
{
	struct csr *csr = NULL;
	int rc = parse(pem, &csr);

	if (rc != 0)
		CU_ASSERT_PTR_NULL(csr);
	csr_free(csr);
	return rc;
}

static void
test_accept_p256(void)
{
	char *pem = make_csr(key_p256(), "www.example.com", "DNS:www.example.com,IP:10.0.0.1,DNS:Api.Example.com,IP:2001:db8::1");
	struct csr *csr = NULL;
	unsigned char *spki = NULL;
	uint8_t digest[32];
	BIO *bio;
	X509_REQ *req;
	unsigned char *der = NULL;
	int n;

	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_TRUE(csr->has_cn);
	CU_ASSERT_STRING_EQUAL(csr->cn, "www.example.com");
	CU_ASSERT_EQUAL_FATAL(csr->n_sans, 4);
	CU_ASSERT_EQUAL(csr->sans[0].type, X509_SAN_DNS);
	CU_ASSERT_EQUAL(csr->sans[0].name_len, 15);
	CU_ASSERT_STRING_EQUAL(csr->sans[0].name, "www.example.com");
	CU_ASSERT_EQUAL(csr->sans[1].type, X509_SAN_IP);
	CU_ASSERT_EQUAL(csr->sans[1].ip_len, 4);
	CU_ASSERT_EQUAL(memcmp(csr->sans[1].ip, "\x0a\x00\x00\x01", 4), 0);
	CU_ASSERT_EQUAL(csr->sans[2].type, X509_SAN_DNS);
	CU_ASSERT_STRING_EQUAL(csr->sans[2].name, "Api.Example.com");	/* as requested; policy lower-cases */
	CU_ASSERT_EQUAL(csr->sans[3].type, X509_SAN_IP);
	CU_ASSERT_EQUAL(csr->sans[3].ip_len, 16);
	CU_ASSERT_EQUAL(memcmp(csr->sans[3].ip, "\x20\x01\x0d\xb8", 4), 0);
	CU_ASSERT_EQUAL(csr->sans[3].ip[15], 1);

	/* The SPKI is the key's; the hash is of the CSR DER. */
	n = i2d_PUBKEY(key_p256(), &spki);
	CU_ASSERT_EQUAL(csr->spki_len, (size_t)n);
	CU_ASSERT_EQUAL(memcmp(csr->spki, spki, csr->spki_len), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bio = BIO_new_mem_buf(pem, -1));
	CU_ASSERT_PTR_NOT_NULL_FATAL(req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL));
	n = i2d_X509_REQ(req, &der);
	CU_ASSERT_EQUAL_FATAL(EVP_Digest(der, (size_t)n, digest, NULL, EVP_sha256(), NULL), 1);
	CU_ASSERT_EQUAL(memcmp(csr->sha256, digest, 32), 0);

	OPENSSL_free(der);
	X509_REQ_free(req);
	BIO_free(bio);
	OPENSSL_free(spki);
	csr_free(csr);
	free(pem);
}

static void
test_accept_others(void)
{
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *pem;
	struct csr *csr = NULL;

	CU_ASSERT_FATAL(p384 != NULL && p521 != NULL && ed != NULL);
	pem = make_csr(key_rsa2048(), NULL, "DNS:rsa.example.com");
	CU_ASSERT_EQUAL(parse(pem, &csr), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(csr);
	CU_ASSERT_FALSE(csr->has_cn);
	CU_ASSERT_EQUAL(csr->n_sans, 1);
	csr_free(csr);
	csr = NULL;
	/* A profile may demand more. */
	CU_ASSERT_EQUAL(csr_parse(pem, strlen(pem), 3072, &csr), SD_E_KEY_REFUSED);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_KEY_REFUSED), "RSA key of 2048 bits is below the minimum 3072");
	free(pem);

	pem = make_csr(p384, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	pem = make_csr(p521, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	pem = make_csr(ed, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	/* No extensionRequest at all: parsed, with no SANs (the signer refuses that later). */
	pem = make_csr(p384, "a", NULL);
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_EQUAL(csr->n_sans, 0);
	csr_free(csr);
	free(pem);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed);
}

/* An RSA or RSA-PSS key of bits with public exponent e. */
static EVP_PKEY *
keygen_rsa(const char *type, int bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	if (ctx == NULL || bn == NULL || BN_set_word(bn, e) != 1 || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) != 1 || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) != 1 ||
	    EVP_PKEY_generate(ctx, &k) != 1)
		abort();
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
test_refuse_keys(void)
{
	EVP_PKEY *rsa1024 = keygen_rsa("RSA", 1024, 65537);
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *pss = keygen_rsa("RSA-PSS", 2048, 65537);
	EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	EVP_PKEY *e3 = keygen_rsa("RSA", 2048, 3);
	char *pem;

	CU_ASSERT_FATAL(k1 != NULL && ed448 != NULL);

	pem = make_csr(rsa1024, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_KEY_REFUSED), "RSA key of 1024 bits is below the minimum 2048");
	free(pem);
	pem = make_csr(e3, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_KEY_REFUSED), "RSA public exponent 3 is not 65537");
	free(pem);
	pem = make_csr(k1, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_KEY_REFUSED), "secp256k1"));
	free(pem);
	pem = make_csr(pss, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_KEY_REFUSED), "RSA-PSS"));
	free(pem);
	pem = make_csr(ed448, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	free(pem);

	CU_ASSERT_EQUAL(csr_check_key(NULL, 0), SD_E_KEY_REFUSED);
	CU_ASSERT_EQUAL(csr_check_key(key_rsa2048(), 0), 0);
	CU_ASSERT_EQUAL(csr_check_key(key_rsa2048(), 2048), 0);
	CU_ASSERT_EQUAL(csr_check_key(key_rsa2048(), 2049), SD_E_KEY_REFUSED);

	EVP_PKEY_free(e3);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(pss);
	EVP_PKEY_free(ed448);
}

static void
test_refuse_bad_signature(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	uint8_t *der;
	size_t len;
	char *pem;

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	push_conf_ext(exts, NID_subject_alt_name, "DNS:a.example.com");
	der = make_csr_der(key_rsa2048(), "a", exts, &len);
	/* The last byte is inside the RSA signature. */
	der[len - 1] ^= 0x01;
	pem = pem_of("CERTIFICATE REQUEST", der, len);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	free(pem);
	der[len - 1] ^= 0x01;
	/* A changed byte in the signed part (the SAN's last letter). */
	{
		uint8_t *p = NULL;
		size_t i;

		for (i = 0; i + 13 <= len; i++)
			if (memcmp(der + i, "a.example.com", 13) == 0)
				p = der + i;
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p[12] = 'n';
	}
	pem = pem_of("CERTIFICATE REQUEST", der, len);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	free(pem);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void
test_refuse_not_csr(void)
{
	X509 *x = X509_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem, *csr_pem, *two, *buf;
	size_t n, csr_len;
	uint8_t *der;

	/* A certificate. */
	CU_ASSERT_FATAL(x != NULL && bio != NULL);
	CU_ASSERT_FATAL(X509_set_pubkey(x, key_p256()) == 1 &&
	    ASN1_TIME_set(X509_getm_notBefore(x), 0) != NULL && ASN1_TIME_set(X509_getm_notAfter(x), 1) != NULL &&
	    X509_sign(x, key_p256(), EVP_sha256()) > 0 && PEM_write_bio_X509(bio, x) == 1);
	pem = bio_text(bio);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "not a certificate request"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "CERTIFICATE"));
	free(pem);

	/* Garbage, empty, a PEM of garbage, DER instead of PEM. */
	CU_ASSERT_EQUAL(parse_only("hello world"), SD_E_CSR);
	CU_ASSERT_EQUAL(csr_parse("", 0, 0, &(struct csr *){ NULL }), SD_E_CSR);
	CU_ASSERT_EQUAL(parse_only("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
	    SD_E_CSR);
	CU_ASSERT_EQUAL(parse_only("-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"),
	    SD_E_CSR);
	csr_pem = make_csr(key_p256(), "a", "DNS:a.example.com");
	csr_len = strlen(csr_pem);
	CU_ASSERT_EQUAL(parse_only(csr_pem), 0);

	/* Two CSRs, text before or after, a NUL byte, an old-style label, surrounding whitespace. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(two = malloc(2 * csr_len + 32));
	memcpy(two, csr_pem, csr_len);
	memcpy(two + csr_len, csr_pem, csr_len + 1);
	CU_ASSERT_EQUAL(parse_only(two), SD_E_CSR);
	memcpy(two, "junk\n", 5);
	memcpy(two + 5, csr_pem, csr_len + 1);
	CU_ASSERT_EQUAL(parse_only(two), SD_E_CSR);
	memcpy(two, csr_pem, csr_len);
	memcpy(two + csr_len, "junk\n", 6);
	CU_ASSERT_EQUAL(parse_only(two), SD_E_CSR);
	memcpy(two, " \n\t", 3);
	memcpy(two + 3, csr_pem, csr_len);
	memcpy(two + 3 + csr_len, "\r\n \n", 5);
	CU_ASSERT_EQUAL(parse_only(two), 0);
	memcpy(two, csr_pem, csr_len);
	two[csr_len] = '\0';
	two[csr_len + 1] = '\n';
	CU_ASSERT_EQUAL(csr_parse(two, csr_len + 2, 0, &(struct csr *){ NULL }), SD_E_CSR);
	free(two);

	{
		BIO *b2 = BIO_new_mem_buf(csr_pem, -1);
		X509_REQ *req = PEM_read_bio_X509_REQ(b2, NULL, NULL, NULL);
		unsigned char *d = NULL;
		int k = i2d_X509_REQ(req, &d);

		CU_ASSERT_FATAL(k > 0);
		der = d;
		n = (size_t)k;
		pem = pem_of("NEW CERTIFICATE REQUEST", der, n);
		CU_ASSERT_EQUAL(parse_only(pem), 0);
		free(pem);
		pem = pem_of("X509 CRL", der, n);
		CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
		free(pem);
		/* Trailing bytes after the DER inside the PEM. */
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf = malloc(n + 1));
		memcpy(buf, der, n);
		buf[n] = 0;
		pem = pem_of("CERTIFICATE REQUEST", (uint8_t *)buf, n + 1);
		CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
		free(pem);
		free(buf);
		/* Raw DER is not PEM. */
		CU_ASSERT_EQUAL(csr_parse((const char *)der, n, 0, &(struct csr *){ NULL }), SD_E_CSR);
		OPENSSL_free(d);
		X509_REQ_free(req);
		BIO_free(b2);
	}
	free(csr_pem);
	BIO_free(bio);
	X509_free(x);
}

static void
test_refuse_oversize(void)
{
	char *big = malloc(SIGNER_CSR_MAX + 2);
	struct csr *csr = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'A', SIGNER_CSR_MAX + 1);
	big[SIGNER_CSR_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(csr_parse(big, SIGNER_CSR_MAX + 1, 0, &csr), SD_E_TOO_LARGE);
	CU_ASSERT_PTR_NULL(csr);
	CU_ASSERT_EQUAL(csr_parse(big, SIZE_MAX, 0, &csr), SD_E_TOO_LARGE);
	free(big);
}

static void
test_san_types(void)
{
	struct csr *csr = NULL;
	char *pem;

	pem = make_csr(key_p256(), "a", "DNS:a.example.com,email:someone@example.com,URI:spiffe://example.com/web");
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_EQUAL_FATAL(csr->n_sans, 3);
	CU_ASSERT_EQUAL(csr->sans[1].type, X509_SAN_EMAIL);
	CU_ASSERT_STRING_EQUAL(csr->sans[1].name, "someone@example.com");
	CU_ASSERT_EQUAL(csr->sans[2].type, X509_SAN_URI);
	CU_ASSERT_STRING_EQUAL(csr->sans[2].name, "spiffe://example.com/web");
	CU_ASSERT_EQUAL(csr->sans[2].name_len, 24);
	csr_free(csr);
	free(pem);
	pem = make_csr(key_p256(), "a", "RID:1.2.3.4");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "registeredID"));
	free(pem);
	pem = make_csr(key_p256(), "a", "otherName:1.2.3.4;UTF8:x");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "otherName"));
	free(pem);
}

/* A CSR with subject name (or O=Org when NULL), signed with md ("SHA1", "SHA256"; NULL for EdDSA), PSS if asked. */
static char *
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

static void
test_refuse_weak_signature(void)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *pem;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
	pem = make_csr_full(key_rsa2048(), NULL, NULL, "SHA1", false);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR_SIGNATURE), "SHA-1 and weaker"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR_SIGNATURE), "sha1WithRSAEncryption"));
	free(pem);
	pem = make_csr_full(key_p256(), NULL, NULL, "SHA1", false);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR_SIGNATURE), "ecdsa-with-SHA1"));
	free(pem);
	pem = make_csr_full(key_p256(), NULL, NULL, "SHA224", false);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	free(pem);
	pem = make_csr_full(key_rsa2048(), NULL, NULL, "SHA1", true);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR_SIGNATURE), "SHA-1 and weaker"));
	free(pem);
	/* The accepted digests. */
	pem = make_csr_full(key_rsa2048(), NULL, NULL, "SHA256", true);
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	pem = make_csr_full(key_p256(), NULL, NULL, "SHA384", false);
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	pem = make_csr_full(key_rsa2048(), NULL, NULL, "SHA512", false);
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	pem = make_csr_full(ed, NULL, NULL, NULL, false);
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	EVP_PKEY_free(ed);
}

static EVP_PKEY *
read_key(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *k = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (k == NULL)
		fprintf(stderr, "cannot read %s (run the tests from the source tree)\n", path);
	return k;
}

static void
test_weak_keys(void)
{
	EVP_PKEY *roca = read_key("tests/data/weak-roca-rsa2048.key");
	EVP_PKEY *fermat = read_key("tests/data/weak-fermat-rsa2048.key");
	BIGNUM *n = BN_new(), *p = NULL, *m = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	char *pem;

	CU_ASSERT_FATAL(roca != NULL && fermat != NULL && n != NULL && m != NULL && ctx != NULL);
	pem = make_csr(roca, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_KEY_REFUSED), "ROCA"));
	free(pem);
	pem = make_csr(fermat, "a", "DNS:a.example.com");
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_KEY_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_KEY_REFUSED), "Fermat"));
	free(pem);
	CU_ASSERT_EQUAL(weakkey_check(key_rsa2048()), 0);
	CU_ASSERT_EQUAL(weakkey_check(key_p256()), 0);

	/* 65537^k mod every test prime: the fingerprint; one off: not. */
	CU_ASSERT_FATAL(BN_set_word(m, 65537) && BN_set_word(n, 65537));
	CU_ASSERT_FATAL(BN_exp(n, n, m, ctx));	/* 65537^65537 */
	CU_ASSERT_TRUE(weakkey_roca(n));
	CU_ASSERT_FATAL(BN_add_word(n, 2));
	CU_ASSERT_FALSE(weakkey_roca(n));
	CU_ASSERT_FALSE(weakkey_roca(BN_value_one()) == false);	/* 1 = 65537^0 is in every subgroup */

	/* Fermat: 1000003 * 1000033 is found at once, with its factor; a wide gap is not found. */
	CU_ASSERT_FATAL(BN_set_word(n, 1000003ULL * 1000033ULL));
	CU_ASSERT_EQUAL(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS, &p), 1);
	CU_ASSERT(p != NULL && BN_is_word(p, 1000003));
	BN_free(p);
	p = NULL;
	CU_ASSERT_FATAL(BN_set_word(n, 1000003ULL * 3000017ULL));
	CU_ASSERT_EQUAL(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS, &p), 0);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_FATAL(BN_set_word(n, 1000003ULL * 1000003ULL));	/* a square */
	CU_ASSERT_EQUAL(weakkey_fermat(n, 1, NULL), 1);
	BN_free(n);
	BN_free(m);
	BN_CTX_free(ctx);
	EVP_PKEY_free(roca);
	EVP_PKEY_free(fermat);
}

static void
test_blocklist(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct weakkey_blocklist *bl = NULL;
	uint8_t h[32];

	sd_test_tmpdir(dir, "blocklist");
	sd_test_write(dir, "ok.txt", "# compromised keys\n\n"
	    "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff  debian-2008\n"
	    "  ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\r\n"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0644, path);
	CU_ASSERT_EQUAL_FATAL(weakkey_blocklist_load(path, &bl), 0);
	CU_ASSERT_EQUAL(weakkey_blocklist_count(bl), 2);	/* the duplicate is merged */
	memset(h, 0xff, sizeof(h));
	CU_ASSERT_TRUE(weakkey_blocklist_has(bl, h));
	h[31] = 0xfe;
	CU_ASSERT_FALSE(weakkey_blocklist_has(bl, h));
	CU_ASSERT_FALSE(weakkey_blocklist_has(NULL, h));
	weakkey_blocklist_free(bl);
	bl = NULL;
	sd_test_write(dir, "short.txt", "0011\n", 0644, path);
	CU_ASSERT_EQUAL(weakkey_blocklist_load(path, &bl), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "short.txt:1: not a SHA-256 hash"));
	sd_test_write(dir, "bad.txt", "# x\n0011223344556677889900112233445566778899001122334455667788990g\n", 0644, path);
	CU_ASSERT_EQUAL(weakkey_blocklist_load(path, &bl), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "bad.txt:2:"));
	CU_ASSERT_EQUAL(weakkey_blocklist_load("/nonexistent/blocklist.txt", &bl), SD_E_IO);
	CU_ASSERT_PTR_NULL(bl);
	sd_test_rmtree(dir);
}

static void
test_extensions_checked(void)
{
	/* keyUsage BIT STRING with a bad unused-bits count. */
	static const uint8_t bad_ku[] = { 0x03, 0x02, 0x09, 0x80 };
	STACK_OF(X509_EXTENSION) *exts;
	char *pem;

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
	push_conf_ext(exts, NID_basic_constraints, "CA:FALSE");
	push_conf_ext(exts, NID_basic_constraints, "CA:TRUE");
	push_conf_ext(exts, NID_subject_alt_name, "DNS:a.example.com");
	pem = make_csr_exts(key_p256(), exts);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "extension basicConstraints (2.5.29.19) more than once"));
	free(pem);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
	push_raw_ext(exts, NID_key_usage, bad_ku, sizeof(bad_ku));
	pem = make_csr_exts(key_p256(), exts);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "malformed keyUsage (2.5.29.15)"));
	free(pem);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static X509_NAME *
name_of(const char *type, const char *value, int len, int mbtype)
{
	X509_NAME *name = X509_NAME_new();

	if (name == NULL || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"a.example.com",
	    -1, -1, 0) != 1 || X509_NAME_add_entry_by_txt(name, type, mbtype, (const unsigned char *)value, len, -1, 0) != 1)
		abort();
	return name;
}

static void
test_subject_checked(void)
{
	static const struct {
		const char *type, *value;
		int len;
		const char *needle;
	} bad[] = {
		{ "O", "a\0b", 3, "a NUL byte" },
		{ "OU", "a\x01b", 3, "a control character" },
		{ "L", "a\x7f", 2, "a control character" },
		{ "O", "a\xc2\x85", 3, "a control character" },	/* U+0085, a C1 control */
		{ "C", "Germany", -1, "at most 2" },
		{ "C", "de", -1, "two letters" },
		{ "O", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", -1, "at most 64" },
		{ "emailAddress", "a\0@example.com", 15, "a NUL byte" },
	};
	struct csr *csr = NULL;
	X509_NAME *name;
	size_t i;
	char *pem;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Raw string types: OpenSSL's own bounds checks would refuse some of these values. */
		name = name_of(bad[i].type, bad[i].value, bad[i].len,
		    strcmp(bad[i].type, "C") == 0 ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING);
		pem = make_csr_full(key_p256(), name, NULL, "SHA256", false);
		CU_ASSERT_EQUAL(parse_only(pem), SD_E_NAME_REFUSED);
		if (strstr(sd_error_detail(SD_E_NAME_REFUSED), bad[i].needle) == NULL)
			fprintf(stderr, "case %zu: \"%s\" lacks \"%s\"\n", i, sd_error_detail(SD_E_NAME_REFUSED),
			    bad[i].needle);
		CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), bad[i].needle));
		free(pem);
		X509_NAME_free(name);
	}
	/* Kept types in CSR order; other valid attributes are checked but not kept. */
	name = name_of("O", "Example GmbH \xc3\xa4", -1, MBSTRING_UTF8);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(name, "emailAddress", MBSTRING_ASC, (const unsigned char *)"a@b.c",
	    -1, -1, 0) == 1 && X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"DE", -1, -1,
	    0) == 1);
	pem = make_csr_full(key_p256(), name, NULL, "SHA256", false);
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_EQUAL_FATAL(csr->n_attrs, 3);
	CU_ASSERT_EQUAL(csr->attrs[0].type, CONFIG_SUBJ_CN);
	CU_ASSERT_EQUAL(csr->attrs[1].type, CONFIG_SUBJ_O);
	CU_ASSERT_STRING_EQUAL(csr->attrs[1].value, "Example GmbH \xc3\xa4");
	CU_ASSERT_EQUAL(csr->attrs[2].type, CONFIG_SUBJ_C);
	CU_ASSERT_EQUAL(csr->key_type, CONFIG_KEY_P256);
	CU_ASSERT_STRING_EQUAL(csr_key_type_name(csr->key_type), "P-256");
	csr_free(csr);
	free(pem);
	X509_NAME_free(name);
}

static void
test_san_malformed(void)
{
	STACK_OF(X509_EXTENSION) *exts;
	/* SEQUENCE { [2] "a.example.com" } then variants. */
	static const uint8_t good[] = { 0x30, 0x0f, 0x82, 0x0d, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c',
		'o', 'm' };
	static const uint8_t truncated[] = { 0x30, 0x0f, 0x82, 0x0d, 'a', '.', 'e' };
	static const uint8_t trailing[] = { 0x30, 0x0f, 0x82, 0x0d, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
		'c', 'o', 'm', 0x00 };
	static const uint8_t empty[] = { 0x30, 0x00 };
	static const uint8_t ip5[] = { 0x30, 0x07, 0x87, 0x05, 10, 0, 0, 1, 2 };
	static const struct {
		const uint8_t *der;
		size_t len;
		int want;
	} cases[] = {
		{ good, sizeof(good), 0 },
		{ truncated, sizeof(truncated), SD_E_CSR },
		{ trailing, sizeof(trailing), SD_E_CSR },
		{ empty, sizeof(empty), SD_E_CSR },
		{ ip5, sizeof(ip5), SD_E_CSR },
	};
	size_t i;
	char *pem;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
		push_raw_ext(exts, NID_subject_alt_name, cases[i].der, cases[i].len);
		pem = make_csr_exts(key_p256(), exts);
		CU_ASSERT_EQUAL(parse_only(pem), cases[i].want);
		free(pem);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}

	/* The SAN extension twice. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
	push_conf_ext(exts, NID_subject_alt_name, "DNS:a.example.com");
	push_conf_ext(exts, NID_subject_alt_name, "DNS:b.example.com");
	pem = make_csr_exts(key_p256(), exts);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "more than once"));
	free(pem);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);

	/* Other extensions are ignored (nothing but SANs is taken from the CSR). */
	CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
	push_conf_ext(exts, NID_basic_constraints, "critical,CA:TRUE");
	push_conf_ext(exts, NID_subject_alt_name, "DNS:a.example.com");
	pem = make_csr_exts(key_p256(), exts);
	CU_ASSERT_EQUAL(parse_only(pem), 0);
	free(pem);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void
test_two_extension_requests(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	char *pem;
	int n;

	unsigned char *seq = NULL;
	int seq_len;

	CU_ASSERT_FATAL(exts != NULL && req != NULL);
	push_conf_ext(exts, NID_subject_alt_name, "DNS:a.example.com");
	/*
	 * OpenSSL will not add a second extensionRequest itself; a Microsoft
	 * one next to the standard one is the same ambiguity.
	 */
	seq_len = i2d_X509_EXTENSIONS(exts, &seq);
	CU_ASSERT_FATAL(seq_len > 0);
	CU_ASSERT_FATAL(X509_REQ_set_pubkey(req, key_p256()) == 1 && X509_REQ_add_extensions(req, exts) == 1 &&
	    X509_REQ_add1_attr_by_NID(req, NID_ms_ext_req, V_ASN1_SEQUENCE, seq, seq_len) == 1 &&
	    X509_REQ_sign(req, key_p256(), EVP_sha256()) > 0);
	OPENSSL_free(seq);
	n = i2d_X509_REQ(req, &der);
	CU_ASSERT_FATAL(n > 0);
	pem = pem_of("CERTIFICATE REQUEST", der, (size_t)n);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "extensionRequest"));
	free(pem);
	OPENSSL_free(der);
	X509_REQ_free(req);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* A CSR for key_p256() with one attribute of type nid holding n_values copies of (type, data, len). */
static char *
csr_with_attribute(int nid, int type, const unsigned char *data, int len, int n_values)
{
	X509_REQ *req = X509_REQ_new();
	X509_ATTRIBUTE *attr = X509_ATTRIBUTE_new();
	unsigned char *der = NULL;
	char *pem;
	int i, n;

	CU_ASSERT_FATAL(req != NULL && attr != NULL);
	CU_ASSERT_FATAL(X509_ATTRIBUTE_set1_object(attr, OBJ_nid2obj(nid)) == 1);
	for (i = 0; i < n_values; i++)
		CU_ASSERT_FATAL(X509_ATTRIBUTE_set1_data(attr, type, data, len) == 1);
	CU_ASSERT_FATAL(X509_REQ_set_pubkey(req, key_p256()) == 1 && X509_REQ_add1_attr(req, attr) == 1 &&
	    X509_REQ_sign(req, key_p256(), EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	CU_ASSERT_FATAL(n > 0);
	pem = pem_of("CERTIFICATE REQUEST", der, (size_t)n);
	OPENSSL_free(der);
	X509_ATTRIBUTE_free(attr);
	X509_REQ_free(req);
	return pem;
}

/*
 * Microsoft's extensionRequest is read like PKCS#9's; one with two values,
 * or whose value is not Extensions, is refused; an empty list is no request.
 */
static void
test_extension_request_forms(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *seq = NULL;
	struct csr *csr = NULL;
	char *pem;
	int seq_len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	push_conf_ext(exts, NID_subject_alt_name, "DNS:ms.example.com");
	CU_ASSERT_FATAL((seq_len = i2d_X509_EXTENSIONS(exts, &seq)) > 0);
	pem = csr_with_attribute(NID_ms_ext_req, V_ASN1_SEQUENCE, seq, seq_len, 1);
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_FATAL(csr->n_sans == 1);
	CU_ASSERT_STRING_EQUAL(csr->sans[0].name, "ms.example.com");
	csr_free(csr);
	csr = NULL;
	free(pem);
	pem = csr_with_attribute(NID_ext_req, V_ASN1_SEQUENCE, seq, seq_len, 2);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_CSR), "extensionRequest attribute must have exactly one value");
	free(pem);
	pem = csr_with_attribute(NID_ext_req, V_ASN1_UTF8STRING, (const unsigned char *)"x", 1, 1);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_CSR), "malformed extensionRequest");
	free(pem);
	pem = csr_with_attribute(NID_ext_req, V_ASN1_SEQUENCE, (const unsigned char *)"\x30\x00", 2, 1);
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_EQUAL(csr->n_sans, 0);
	csr_free(csr);
	free(pem);
	OPENSSL_free(seq);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void
test_san_limits(void)
{
	char conf[8192], name[300], *pem;
	size_t off = 0;
	int i, n;

	/* CSR_SAN_MAX names pass, one more is too many. */
	for (i = 0; i <= CSR_SAN_MAX; i++) {
		n = snprintf(conf + off, sizeof(conf) - off, "%sDNS:h%d.example.com", i == 0 ? "" : ",", i);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(conf) - off);
		if (i == CSR_SAN_MAX - 1) {
			pem = make_csr(key_p256(), "a", conf);
			CU_ASSERT_EQUAL(parse_only(pem), 0);
			free(pem);
		}
		off += (size_t)n;
	}
	pem = make_csr(key_p256(), "a", conf);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_TOO_LARGE);
	free(pem);

	/* A DNS name longer than any valid one. */
	memcpy(name, "DNS:", 4);
	memset(name + 4, 'a', 254);
	name[258] = '\0';
	pem = make_csr(key_p256(), "a", name);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_NAME_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_NAME_REFUSED), "254"));
	free(pem);
}

static void
test_cn_extraction(void)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	struct csr *csr = NULL;
	char long_cn[80], *pem;
	int n;

	/* Two CNs: neither is used. */
	CU_ASSERT_FATAL(req != NULL && name != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"a.example.com",
	    -1, -1, 0) == 1 && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"b.example.com", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_REQ_set_subject_name(req, name) == 1 && X509_REQ_set_pubkey(req, key_p256()) == 1 &&
	    X509_REQ_sign(req, key_p256(), EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	pem = pem_of("CERTIFICATE REQUEST", der, (size_t)n);
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_FALSE(csr->has_cn);
	csr_free(csr);
	csr = NULL;
	free(pem);
	OPENSSL_free(der);

	/* A CN over 64 bytes is not used either (OpenSSL itself refuses to add one, so use UTF-8 length). */
	memset(long_cn, 'x', 64);
	long_cn[64] = '\0';
	pem = make_csr(key_p256(), long_cn, "DNS:a.example.com");
	CU_ASSERT_EQUAL_FATAL(parse(pem, &csr), 0);
	CU_ASSERT_TRUE(csr->has_cn);
	CU_ASSERT_EQUAL(strlen(csr->cn), 64);
	csr_free(csr);
	free(pem);
	X509_NAME_free(name);
	X509_REQ_free(req);
}

/* The SPKI key type read from the bytes, and the CSR's SPKI taken from its own encoding. */
/* rsaEncryption without its NULL parameters: legal BER-ish practice, not the canonical form. */
static const uint8_t rsa_no_null[] = { 0x30, 0x18, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	0x01, 0x01, 0x01, 0x03, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03 };

/* RSA-2048, P-256 (shared), P-384, P-521, Ed25519 (new: free_keys_of_each_type()). */
static void
one_key_of_each_type(EVP_PKEY *keys[5])
{
	keys[0] = key_rsa2048();
	keys[1] = key_p256();
	keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[3] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[4] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_FATAL(keys[2] != NULL && keys[3] != NULL && keys[4] != NULL);
}

static void
free_keys_of_each_type(EVP_PKEY *keys[5])
{
	size_t i;

	for (i = 2; i < 5; i++)
		EVP_PKEY_free(keys[i]);
}

static void
test_spki_key_type(void)
{
	EVP_PKEY *keys[5];
	static const unsigned want[5] = { CONFIG_KEY_RSA, CONFIG_KEY_P256, CONFIG_KEY_P384, CONFIG_KEY_P521,
		CONFIG_KEY_ED25519 };
	unsigned char *spki = NULL, *copy;
	struct csr *csr = NULL;
	char *pem;
	size_t i;
	int n;

	one_key_of_each_type(keys);
	for (i = 0; i < 5; i++) {
		n = i2d_PUBKEY(keys[i], &spki);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL(csr_spki_key_type(spki, (size_t)n), want[i]);
		CU_ASSERT_EQUAL(csr_spki_key_type(spki, (size_t)n - 1), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy = malloc((size_t)n));
		if (want[i] != CONFIG_KEY_RSA && want[i] != CONFIG_KEY_ED25519) {
			/* A hybrid point (0x06) has the right length but is not an accepted encoding. */
			memcpy(copy, spki, (size_t)n);
			CU_ASSERT_EQUAL(copy[n - 1 - (int)(want[i] == CONFIG_KEY_P256 ? 64 : want[i] == CONFIG_KEY_P384 ?
			    96 : 132)], 0x04);
			copy[n - 1 - (want[i] == CONFIG_KEY_P256 ? 64 : want[i] == CONFIG_KEY_P384 ? 96 : 132)] = 0x06;
			CU_ASSERT_EQUAL(csr_spki_key_type(copy, (size_t)n), 0);
		}
		free(copy);
		/* The CSR's SPKI is its own bytes, which equal OpenSSL's encoding of the key. */
		pem = make_csr(keys[i], NULL, "DNS:k.example.com");
		CU_ASSERT_EQUAL(parse(pem, &csr), 0);
		CU_ASSERT_FATAL(csr != NULL);
		CU_ASSERT(csr->spki_len == (size_t)n && memcmp(csr->spki, spki, (size_t)n) == 0);
		CU_ASSERT(csr->spki >= csr->der && csr->spki_enc == NULL);
		CU_ASSERT_EQUAL(csr->key_type, want[i]);
		csr_free(csr);
		csr = NULL;
		free(pem);
		OPENSSL_free(spki);
		spki = NULL;
	}
	CU_ASSERT_EQUAL(csr_spki_key_type(rsa_no_null, sizeof(rsa_no_null)), 0);
	CU_ASSERT_EQUAL(csr_spki_key_type(NULL, 0), 0);
	CU_ASSERT_EQUAL(csr_spki_key_type((const uint8_t *)"\x30\x00", 2), 0);
	free_keys_of_each_type(keys);
}

/* csr_key_decode() gives the key OpenSSL's decoder gives, for every type and encoding, and refuses the same. */
static void
test_key_decode(void)
{
	EVP_PKEY *keys[5], *pk, *ref, *comp;
	unsigned char *spki = NULL, *enc = NULL;
	const unsigned char *p;
	/* An RSA modulus with a superfluous leading zero octet. */
	static const uint8_t rsa_padded[] = { 0x30, 0x1b, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x0a, 0x00, 0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x03 };
	size_t i;
	int n, m;

	one_key_of_each_type(keys);
	for (i = 0; i < 5; i++) {
		n = i2d_PUBKEY(keys[i], &spki);
		CU_ASSERT_FATAL(n > 0);
		pk = NULL;
		CU_ASSERT_EQUAL_FATAL(csr_key_decode(spki, (size_t)n, &pk), 0);
		CU_ASSERT_EQUAL(EVP_PKEY_eq(pk, keys[i]), 1);
		CU_ASSERT_EQUAL(EVP_PKEY_get_bits(pk), EVP_PKEY_get_bits(keys[i]));
		m = i2d_PUBKEY(pk, &enc);
		CU_ASSERT(m == n && memcmp(enc, spki, (size_t)n) == 0);
		CU_ASSERT_EQUAL(csr_check_key(pk, 0), 0);
		OPENSSL_free(enc);
		enc = NULL;
		EVP_PKEY_free(pk);
		pk = NULL;
		CU_ASSERT_EQUAL(csr_key_decode(spki, (size_t)n - 1, &pk), SD_E_KEY_REFUSED);
		CU_ASSERT_PTR_NULL(pk);
		if (i >= 1 && i <= 3) {
			/* The compressed form of the same point. */
			CU_ASSERT_PTR_NOT_NULL_FATAL(comp = EVP_PKEY_dup(keys[i]));
			CU_ASSERT_EQUAL_FATAL(EVP_PKEY_set_utf8_string_param(comp, "point-format", "compressed"), 1);
			m = i2d_PUBKEY(comp, &enc);
			CU_ASSERT_FATAL(m > 0 && m < n);
			CU_ASSERT_EQUAL(csr_key_decode(enc, (size_t)m, &pk), 0);
			CU_ASSERT_EQUAL(EVP_PKEY_eq(pk, keys[i]), 1);
			EVP_PKEY_free(pk);
			pk = NULL;
			OPENSSL_free(enc);
			enc = NULL;
			EVP_PKEY_free(comp);
			/* A point off the curve: refused by both paths. */
			spki[n - 1] ^= 0x01;
			p = spki;
			ref = d2i_PUBKEY(NULL, &p, n);
			CU_ASSERT_PTR_NULL(ref);
			EVP_PKEY_free(ref);
			CU_ASSERT_EQUAL(csr_key_decode(spki, (size_t)n, &pk), SD_E_KEY_REFUSED);
			CU_ASSERT_PTR_NULL(pk);
			CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_KEY_REFUSED), "unsupported or malformed"));
		}
		OPENSSL_free(spki);
		spki = NULL;
	}
	/* Non-canonical encodings go to OpenSSL's decoder and get its answer. */
	p = rsa_no_null;
	ref = d2i_PUBKEY(NULL, &p, sizeof(rsa_no_null));
	CU_ASSERT_EQUAL(csr_key_decode(rsa_no_null, sizeof(rsa_no_null), &pk), ref != NULL ? 0 : SD_E_KEY_REFUSED);
	if (ref != NULL)
		CU_ASSERT_EQUAL(EVP_PKEY_eq(pk, ref), 1);
	EVP_PKEY_free(ref);
	EVP_PKEY_free(pk);
	pk = NULL;
	p = rsa_padded;
	ref = d2i_PUBKEY(NULL, &p, sizeof(rsa_padded));
	CU_ASSERT_EQUAL(csr_key_decode(rsa_padded, sizeof(rsa_padded), &pk), ref != NULL ? 0 : SD_E_KEY_REFUSED);
	EVP_PKEY_free(ref);
	EVP_PKEY_free(pk);
	free_keys_of_each_type(keys);
}

/* Structural refusals of the DER reader: version, a missing attributes field, a truncated signature. */
static void
test_refuse_structure(void)
{
	uint8_t *der, *bad;
	size_t len, i;
	char *pem;

	der = make_csr_der(key_p256(), "a.example.com", NULL, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad = malloc(len));
	/* Version: SEQUENCE hdr, SEQUENCE hdr, then 02 01 00. */
	for (i = 2; i + 3 < len && !(der[i] == 0x02 && der[i + 1] == 0x01 && der[i + 2] == 0x00); i++)
		;
	CU_ASSERT_FATAL(i < 8);
	memcpy(bad, der, len);
	bad[i + 2] = 0x01;
	pem = pem_of("CERTIFICATE REQUEST", bad, len);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_CSR), "CSR version 2 is not 1");
	free(pem);
	bad[i + 2] = 0x80;
	pem = pem_of("CERTIFICATE REQUEST", bad, len);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_CSR), "CSR version is not 1");
	free(pem);
	/* The outer length one octet short: the signature is cut. */
	memcpy(bad, der, len);
	pem = pem_of("CERTIFICATE REQUEST", bad, len - 1);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CSR), "not a certificate request"));
	free(pem);
	/* The signature's last octet changed: well-formed, does not verify. */
	bad[len - 1] ^= 0x01;
	pem = pem_of("CERTIFICATE REQUEST", bad, len);
	CU_ASSERT_EQUAL(parse_only(pem), SD_E_CSR_SIGNATURE);
	free(pem);
	free(bad);
	OPENSSL_free(der);
}

/* Whether OpenSSL's own decoder takes der as a CSR whose signature verifies. */
static bool
openssl_accepts(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	EVP_PKEY *k;
	bool ok;

	ok = req != NULL && p == der + len && (k = X509_REQ_get0_pubkey(req)) != NULL && X509_REQ_verify(req, k) == 1;
	X509_REQ_free(req);
	ERR_clear_error();
	return ok;
}

/*
 * The strict reader is never more lenient than OpenSSL: every truncation and
 * every byte of a CSR changed three ways is either refused, or taken by
 * OpenSSL's decoder too (with a verifying signature). Run under ASan by
 * `make asan`, this also walks the reader through thousands of malformed inputs.
 */
static void
test_mutations_never_looser(void)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	EVP_PKEY *keys[5];
	uint8_t *der, *bad;
	size_t len, i, k, m, accepted, looser = 0;
	STACK_OF(X509_EXTENSION) *exts;
	char *pem;
	int rc;

	one_key_of_each_type(keys);
	for (k = 0; k < 5; k++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(exts = sk_X509_EXTENSION_new_null());
		push_conf_ext(exts, NID_subject_alt_name, "DNS:m.example.com,IP:127.0.0.1");
		der = make_csr_der(keys[k], "m.example.com", exts, &len);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		CU_ASSERT_PTR_NOT_NULL_FATAL(bad = malloc(len));
		accepted = 0;
		for (i = 0; i <= len; i++) {
			for (m = 0; m < (i < len ? sizeof(masks) : 1); m++) {
				memcpy(bad, der, len);
				if (i < len)
					bad[i] ^= masks[m];
				/* i == len: the whole CSR, unchanged; below, truncated to i bytes as well. */
				pem = pem_of("CERTIFICATE REQUEST", bad, len);
				rc = parse_only(pem);
				free(pem);
				if (rc == 0 && !openssl_accepts(bad, len))
					looser++;
				accepted += rc == 0;
				if (m == 0 && i > 0 && i < len) {
					pem = pem_of("CERTIFICATE REQUEST", der, i);
					rc = parse_only(pem);
					free(pem);
					CU_ASSERT_NOT_EQUAL(rc, 0);
				}
			}
		}
		/* The unchanged CSR is taken; almost no change survives the signature. */
		CU_ASSERT(accepted >= 1);
		free(bad);
		OPENSSL_free(der);
	}
	CU_ASSERT_EQUAL(looser, 0);
	free_keys_of_each_type(keys);
}

int
main(void)
{
	static const struct sd_test_case accept_cases[] = {
		{ "P-256 with SANs and CN extracted", test_accept_p256 },
		{ "RSA-2048, P-384, P-521, Ed25519, no SANs", test_accept_others },
		{ "SPKI key type from its bytes; the CSR's own SPKI bytes", test_spki_key_type },
		{ "subject key decoded as OpenSSL decodes it (compressed, off-curve, non-canonical)", test_key_decode },
	};
	static const struct sd_test_case refuse_cases[] = {
		{ "keys: RSA-1024, e=3, secp256k1, RSA-PSS, Ed448", test_refuse_keys },
		{ "broken signature", test_refuse_bad_signature },
		{ "structure: version, truncated, signature changed", test_refuse_structure },
		{ "every truncation and byte change: refused, or taken by OpenSSL too", test_mutations_never_looser },
		{ "not a CSR: certificate, garbage, several objects, trailing text", test_refuse_not_csr },
		{ "oversize", test_refuse_oversize },
		{ "SHA-1 and SHA-224 signatures (PKCS#1, ECDSA, PSS)", test_refuse_weak_signature },
		{ "weak keys: ROCA, Fermat", test_weak_keys },
		{ "key blocklist file", test_blocklist },
	};
	static const struct sd_test_case san_cases[] = {
		{ "email and URI extracted; registeredID, otherName refused", test_san_types },
		{ "duplicate and malformed extensions refused", test_extensions_checked },
		{ "subject attributes: NUL, controls, C, bounds; kept types", test_subject_checked },
		{ "malformed and duplicated subjectAltName", test_san_malformed },
		{ "two extensionRequest attributes", test_two_extension_requests },
		{ "Microsoft extensionRequest; two values, not Extensions, empty", test_extension_request_forms },
		{ "SAN count and length limits", test_san_limits },
		{ "CN extraction", test_cn_extraction },
	};
	int rc;

	SD_TEST_SUITE("csr accept", accept_cases);
	SD_TEST_SUITE("csr refuse", refuse_cases);
	SD_TEST_SUITE("csr names", san_cases);
	rc = sd_test_run("test_csr");
	EVP_PKEY_free(p256);
	EVP_PKEY_free(rsa2048);
	return rc;
}
