/*
 * CSR parsing and checks, on CSRs made here with OpenSSL: the structure, the
 * signature (proof of possession, weak digests), the names and extensions.
 * The subject key's checks are in test_csr_key.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csr/csr.h"
#include "csr_fixture.h"
#include "sd_test.h"
#include "signer.h"

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

static char *
make_csr_exts(EVP_PKEY *k, STACK_OF(X509_EXTENSION) *exts)
{
	size_t len;
	uint8_t *der = make_csr_der(k, "x", exts, &len);
	char *pem = pem_of("CERTIFICATE REQUEST", der, len);

	OPENSSL_free(der);
	return pem;
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
	};
	static const struct sd_test_case refuse_cases[] = {
		{ "broken signature", test_refuse_bad_signature },
		{ "structure: version, truncated, signature changed", test_refuse_structure },
		{ "every truncation and byte change: refused, or taken by OpenSSL too", test_mutations_never_looser },
		{ "not a CSR: certificate, garbage, several objects, trailing text", test_refuse_not_csr },
		{ "oversize", test_refuse_oversize },
		{ "SHA-1 and SHA-224 signatures (PKCS#1, ECDSA, PSS)", test_refuse_weak_signature },
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
	rc = sd_test_run("test_csr_parse");
	csr_fixture_free_keys();
	return rc;
}
