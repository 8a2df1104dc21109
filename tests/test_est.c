/*
 * Unit tests for EST's pure helpers (api/api_est.c): the base64 reader of
 * request bodies, the CSR body to PEM, and the certs-only PKCS#7, which
 * OpenSSL must read back (RFC 7030's examples read it with openssl pkcs7).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "api_est.h"
#include "csr_fixture.h"
#include "sd_test.h"

/* Base64 of len bytes of der, in lines of width characters (0: one line), each line ending in eol. */
static char *
b64_of(const uint8_t *der, size_t len, size_t width, const char *eol)
{
	size_t n = 4 * ((len + 2) / 3), i, at = 0;
	char *flat = malloc(n + 1), *out = malloc(2 * n + 16);

	if (flat == NULL || out == NULL || EVP_EncodeBlock((unsigned char *)flat, der, (int)len) != (int)n)
		abort();
	for (i = 0; i < n; i++) {
		out[at++] = flat[i];
		if (width != 0 && (i + 1) % width == 0) {
			memcpy(out + at, eol, strlen(eol));
			at += strlen(eol);
		}
	}
	out[at] = '\0';
	free(flat);
	return out;
}

/* A self-signed P-256 certificate with CN cn, as PEM (free()). */
static char *
cert_pem(const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;

	if (x == NULL || name == NULL || bio == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 7) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL || X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_set_pubkey(x, key_p256()) != 1 || X509_sign(x, key_p256(), EVP_sha256()) == 0 ||
	    PEM_write_bio_X509(bio, x) != 1)
		abort();
	pem = bio_text(bio);
	BIO_free(bio);
	X509_NAME_free(name);
	X509_free(x);
	return pem;
}

static void
test_base64_decode(void)
{
	static const uint8_t hello[] = "hello world";
	uint8_t out[32];
	size_t len;

	CU_ASSERT_EQUAL(api_est_base64_decode("aGVsbG8gd29ybGQ=", 16, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 11);
	CU_ASSERT_EQUAL(memcmp(out, hello, 11), 0);
	/* Line breaks, CRLF and blanks anywhere carry nothing. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aGVs\r\nbG8g d29y\tbGQ=\n", 21, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 11);
	CU_ASSERT_EQUAL(memcmp(out, hello, 11), 0);
	CU_ASSERT_EQUAL(api_est_base64_decode("aGk=", 4, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	/* The length given bounds the read: a NUL is not needed, what follows is not read. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aGk=garbage!", 4, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 2);
}

static void
test_base64_refused(void)
{
	uint8_t out[8];
	size_t len;

	CU_ASSERT_EQUAL(api_est_base64_decode("", 0, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode(" \r\n", 3, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode("not base64!", 11, out, sizeof(out), &len), SD_E_INVAL);
	/* base64url's alphabet is not RFC 2045's. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aG-_", 4, out, sizeof(out), &len), SD_E_INVAL);
	/* Padding missing, in the middle, too much. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aGk", 3, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode("aGk=aGk=", 8, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode("aG===", 5, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode("a===", 4, out, sizeof(out), &len), SD_E_INVAL);
	/* An embedded NUL is not whitespace. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aG\0k", 4, out, sizeof(out), &len), SD_E_INVAL);
	/* The cap is kept: 12 bytes into 8. */
	CU_ASSERT_EQUAL(api_est_base64_decode("aGVsbG8gd29ybGQh", 16, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(api_est_base64_decode("aGVsbG8g", 8, out, 6, &len), 0);
	CU_ASSERT_EQUAL(len, 6);
}

static void
test_csr_pem(void)
{
	static const char *const eols[] = { "\n", "\r\n" };
	uint8_t *der;
	char *b64, *pem = NULL, *want;
	size_t der_len, pem_len = 0, i;

	der = make_csr_der(key_p256(), "device.example.com", NULL, &der_len);
	want = pem_of("CERTIFICATE REQUEST", der, der_len);
	for (i = 0; i < 3; i++) {
		b64 = b64_of(der, der_len, i == 0 ? 0 : 64, eols[i == 0 ? 0 : i - 1]);
		CU_ASSERT_EQUAL_FATAL(api_est_csr_pem(b64, strlen(b64), &pem, &pem_len), 0);
		/* The same DER, not a re-encoding. */
		CU_ASSERT_STRING_EQUAL(pem, want);
		CU_ASSERT_EQUAL(pem_len, strlen(pem));
		CU_ASSERT_EQUAL(parse_only(pem), 0);
		free(pem);
		free(b64);
	}
	OPENSSL_free(der);
	free(want);
}

static void
test_csr_pem_refused(void)
{
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	char *b64, *pem = (char *)1, *big;
	size_t pem_len = 1;

	CU_ASSERT_EQUAL(api_est_csr_pem("%%%", 3, &pem, &pem_len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(pem);
	CU_ASSERT_EQUAL(pem_len, 0);
	/* DER, but no CSR. */
	b64 = b64_of(junk, sizeof(junk), 0, "");
	CU_ASSERT_EQUAL(api_est_csr_pem(b64, strlen(b64), &pem, &pem_len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(pem);
	free(b64);
	/* A PEM CSR is not the EST body. */
	b64 = make_csr(key_p256(), "device.example.com", NULL);
	CU_ASSERT_EQUAL(api_est_csr_pem(b64, strlen(b64), &pem, &pem_len), SD_E_INVAL);
	free(b64);
	/* More than SIGNER_CSR_MAX bytes of DER: refused before parsing. */
	if ((big = calloc(1, SIGNER_CSR_MAX + 3)) == NULL)
		abort();
	b64 = b64_of((const uint8_t *)big, SIGNER_CSR_MAX + 3, 0, "");
	CU_ASSERT_EQUAL(api_est_csr_pem(b64, strlen(b64), &pem, &pem_len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(pem);
	free(b64);
	free(big);
}

/* The certificates OpenSSL reads from the base64 PKCS#7 b64 (len bytes), or -1. */
static int
p7_count(const char *b64, size_t len)
{
	const unsigned char *p;
	uint8_t *der = malloc(len);
	size_t der_len;
	PKCS7 *p7;
	int n = -1;

	if (der == NULL)
		abort();
	if (api_est_base64_decode(b64, len, der, len, &der_len) == 0) {
		p = der;
		if ((p7 = d2i_PKCS7(NULL, &p, (long)der_len)) != NULL && (size_t)(p - der) == der_len &&
		    PKCS7_type_is_signed(p7) && p7->d.sign->cert != NULL &&
		    sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) <= 0)
			n = sk_X509_num(p7->d.sign->cert);
		PKCS7_free(p7);
	}
	free(der);
	return n;
}

static void
test_pkcs7(void)
{
	const char *pems[2];
	char *a = cert_pem("a.example"), *b = cert_pem("b.example"), *out = NULL, *line;
	size_t len = 0;

	pems[0] = a;
	pems[1] = b;
	CU_ASSERT_EQUAL_FATAL(api_est_pkcs7(pems, 1, &out, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(out));
	CU_ASSERT_EQUAL(p7_count(out, len), 1);
	free(out);
	CU_ASSERT_EQUAL_FATAL(api_est_pkcs7(pems, 2, &out, &len), 0);
	CU_ASSERT_EQUAL(p7_count(out, len), 2);
	/* 64-column lines, each ending in a newline. */
	CU_ASSERT(len > 0 && out[len - 1] == '\n');
	for (line = out; *line != '\0'; line = strchr(line, '\n') + 1)
		CU_ASSERT(strcspn(line, "\n") <= 64);
	free(out);
	free(a);
	free(b);
}

static void
test_pkcs7_refused(void)
{
	const char *pems[SIGNER_CHAIN_MAX + 1];
	char *a = cert_pem("a.example"), *out = (char *)1;
	size_t len = 1, i;

	for (i = 0; i <= SIGNER_CHAIN_MAX; i++)
		pems[i] = a;
	CU_ASSERT_EQUAL(api_est_pkcs7(pems, 0, &out, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(api_est_pkcs7(pems, SIGNER_CHAIN_MAX + 1, &out, &len), SD_E_INVAL);
	pems[1] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	CU_ASSERT_EQUAL(api_est_pkcs7(pems, 2, &out, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(out);
	pems[1] = "not PEM";
	CU_ASSERT_EQUAL(api_est_pkcs7(pems, 2, &out, &len), SD_E_INVAL);
	pems[1] = NULL;
	CU_ASSERT_EQUAL(api_est_pkcs7(pems, 2, &out, &len), SD_E_INVAL);
	free(a);
}

static void
test_routes(void)
{
	const struct api_route *r;
	const char *allow, *param;

	r = api_route_find("/.well-known/est/cacerts", "GET", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NULL(param);
	CU_ASSERT_EQUAL(r->flags & API_ROUTE_AUTH, 0);
	r = api_route_find("/.well-known/est/server/simpleenroll", "POST", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(param, "server/simpleenroll");
	CU_ASSERT_STRING_EQUAL(r->body_type, API_CT_PKCS10);
	CU_ASSERT(r->flags & API_ROUTE_AUTH);
	CU_ASSERT_EQUAL(r->roles, CONFIG_ROLE_ISSUER);
	r = api_route_find("/.well-known/est/server/simplereenroll", "POST", &allow, &param);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(r->flags & API_ROUTE_AUTH);
	/* Enrolment needs a label; the label is one segment; GET is not enrolment. */
	CU_ASSERT_PTR_NULL(api_route_find("/.well-known/est/simpleenroll", "POST", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find("/.well-known/est/a/b/simpleenroll", "POST", &allow, &param));
	CU_ASSERT_PTR_NULL(api_route_find("/.well-known/est/server/simpleenroll", "GET", &allow, &param));
	CU_ASSERT_STRING_EQUAL(allow, "POST");
	/* Not on the public listener. */
	CU_ASSERT_PTR_NULL(api_route_find_on(API_LISTENER_PUBLIC, "/.well-known/est/cacerts", "GET", &allow, &param));
}

int
main(void)
{
	static const struct sd_test_case b64[] = {
		{ "decoded, whitespace ignored", test_base64_decode },
		{ "refused: alphabet, padding, cap", test_base64_refused },
	};
	static const struct sd_test_case csr[] = {
		{ "the same DER as PEM", test_csr_pem },
		{ "refused: not base64, not a CSR, PEM, too large", test_csr_pem_refused },
	};
	static const struct sd_test_case p7[] = {
		{ "OpenSSL reads it back", test_pkcs7 },
		{ "refused: count, bad certificates", test_pkcs7_refused },
	};
	static const struct sd_test_case routes[] = {
		{ "the permit table's EST routes", test_routes },
	};

	SD_TEST_SUITE("api_est_base64_decode", b64);
	SD_TEST_SUITE("api_est_csr_pem", csr);
	SD_TEST_SUITE("api_est_pkcs7", p7);
	SD_TEST_SUITE("api_est routes", routes);
	csr_fixture_free_keys();
	return sd_test_run("test_est");
}
