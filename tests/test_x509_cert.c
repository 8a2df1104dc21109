/*
 * Signing and assembly: the DER writer and reader, signature algorithms and
 * the HSM's raw outputs, certificate assembly, its check and the prepared
 * verifier, all with OpenSSL software keys standing in for the HSM. What is
 * signed (TBS building, extensions) is in test_x509_tbs.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base/der.h"
#include "sd_test.h"
#include "x509/x509_cert.h"
#include "x509/x509_sigalg.h"
#include "x509/x509_tbs.h"
#include "x509_fixture.h"

/* ---- DER writer ---- */

static void
test_der_header_lengths(void)
{
	static const struct {
		size_t len;
		uint8_t hdr[5];
		size_t hlen;
	} cases[] = {
		{ 0, { 0x30, 0x00 }, 2 },
		{ 127, { 0x30, 0x7f }, 2 },
		{ 128, { 0x30, 0x81, 0x80 }, 3 },
		{ 255, { 0x30, 0x81, 0xff }, 3 },
		{ 256, { 0x30, 0x82, 0x01, 0x00 }, 4 },
		{ 65535, { 0x30, 0x82, 0xff, 0xff }, 4 },
		{ 65536, { 0x30, 0x83, 0x01, 0x00, 0x00 }, 5 },
		{ DER_CONTENT_MAX, { 0x30, 0x83, 0xff, 0xff, 0xff }, 5 },
	};
	uint8_t buf[DER_HEADER_MAX];
	size_t i, used;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(der_header_len(cases[i].len), cases[i].hlen);
		CU_ASSERT_EQUAL(der_write_header(0x30, cases[i].len, buf, sizeof(buf), &used), 0);
		CU_ASSERT_EQUAL(used, cases[i].hlen);
		CU_ASSERT_EQUAL(memcmp(buf, cases[i].hdr, cases[i].hlen), 0);
	}
	CU_ASSERT_EQUAL(der_header_len(DER_CONTENT_MAX + 1), 0);
	CU_ASSERT_EQUAL(der_write_header(0x30, DER_CONTENT_MAX + 1, buf, sizeof(buf), &used), SD_E_TOO_LARGE);
	CU_ASSERT_EQUAL(der_write_header(0x30, SIZE_MAX, buf, sizeof(buf), &used), SD_E_TOO_LARGE);
	CU_ASSERT_EQUAL(der_write_header(0x30, 256, buf, 3, &used), SD_E_INVAL);
	CU_ASSERT_EQUAL(used, 0);
}

static void
test_der_wrap(void)
{
	static const uint8_t a[] = { 1, 2 }, b[] = { 3 };
	static const uint8_t want[] = { 0x30, 0x03, 1, 2, 3 };
	struct der_piece pieces[] = { { a, 2 }, { NULL, 0 }, { b, 1 } };
	uint8_t *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(der_wrap(0x30, pieces, 3, &out, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, len), 0);
	free(out);

	CU_ASSERT_EQUAL(der_wrap(0x30, NULL, 0, &out, &len), 0);
	CU_ASSERT_EQUAL(len, 2);
	free(out);

	/* Sums that would overflow, or data missing, are refused. */
	pieces[1] = (struct der_piece){ a, SIZE_MAX };
	CU_ASSERT_EQUAL(der_wrap(0x30, pieces, 3, &out, &len), SD_E_TOO_LARGE);
	CU_ASSERT_PTR_NULL(out);
	pieces[1] = (struct der_piece){ a, DER_CONTENT_MAX - 2 };
	CU_ASSERT_EQUAL(der_wrap(0x30, pieces, 3, &out, &len), SD_E_TOO_LARGE);
	pieces[1] = (struct der_piece){ NULL, 5 };
	CU_ASSERT_EQUAL(der_wrap(0x30, pieces, 3, &out, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(out);
}

static void
test_der_bit_string(void)
{
	static const uint8_t bits[] = { 0xaa, 0xbb };
	static const uint8_t want[] = { 0x03, 0x03, 0x00, 0xaa, 0xbb };
	uint8_t *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(der_bit_string(bits, sizeof(bits), &out, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(out, want, len), 0);
	free(out);
}

/* ---- certificate assembly against certificates OpenSSL signed itself ---- */

static const char *
test_md_name(enum hsm_key_type type)
{
	const struct x509_sigalg *alg;

	if (x509_sigalg_for(type, &alg) != 0)
		abort();
	return alg->digest;
}

/* A complete certificate made and signed by OpenSSL with a software key. */
static X509 *
test_openssl_cert(enum hsm_key_type type)
{
	EVP_PKEY *k = key_of(type);
	X509 *x = X509_new();
	X509_NAME *name = test_name("OpenSSL made");
	const char *md = test_md_name(type);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (x == NULL || ctx == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_subject_name(x, name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), NOW) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), NOW + 86400) == NULL || X509_set_pubkey(x, k) != 1 ||
	    EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, k, NULL) != 1 || X509_sign_ctx(x, ctx) <= 0)
		abort();
	EVP_MD_CTX_free(ctx);
	X509_NAME_free(name);
	return x;
}

static void
test_assemble_matches_openssl(void)
{
	static const enum hsm_key_type types[] = {
		HSM_KEY_RSA2048, HSM_KEY_P256, HSM_KEY_P384, HSM_KEY_P521, HSM_KEY_ED25519,
	};
	const struct x509_sigalg *alg;
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *algor;
	unsigned char *tbs = NULL, *algid = NULL, *want = NULL;
	uint8_t *der = NULL;
	size_t i, len;
	int tbs_len, algid_len, want_len;
	X509 *x, *parsed = NULL;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		x = test_openssl_cert(types[i]);
		tbs_len = i2d_re_X509_tbs(x, &tbs);
		X509_get0_signature(&sig, &algor, x);
		algid_len = i2d_X509_ALGOR(algor, &algid);
		want_len = i2d_X509(x, &want);
		CU_ASSERT_FATAL(tbs_len > 0 && algid_len > 0 && want_len > 0);

		/* Our table has OpenSSL's AlgorithmIdentifier byte for byte. */
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(types[i], &alg), 0);
		CU_ASSERT_EQUAL(alg->algid_len, (size_t)algid_len);
		CU_ASSERT_EQUAL(memcmp(alg->algid, algid, alg->algid_len), 0);

		CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(tbs, (size_t)tbs_len, algid, (size_t)algid_len,
		    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), &der, &len), 0);
		CU_ASSERT_EQUAL(len, (size_t)want_len);
		CU_ASSERT_EQUAL(memcmp(der, want, len), 0);
		CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len, key_of(types[i]), &parsed), 0);
		CU_ASSERT_PTR_NOT_NULL(parsed);
		CU_ASSERT_EQUAL(X509_cmp(parsed, x), 0);

		X509_free(parsed);
		parsed = NULL;
		free(der);
		der = NULL;
		OPENSSL_free(tbs);
		OPENSSL_free(algid);
		OPENSSL_free(want);
		tbs = algid = want = NULL;
		X509_free(x);
	}
}

static void
test_assemble_refuses_missing(void)
{
	static const uint8_t x[] = { 0x30, 0x00 };
	uint8_t *der = (uint8_t *)1;
	size_t len = 1;

	CU_ASSERT_EQUAL(x509_cert_assemble(NULL, 0, x, 2, x, 2, &der, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(x509_cert_assemble(x, 2, NULL, 0, x, 2, &der, &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_cert_assemble(x, 2, x, 2, NULL, 0, &der, &len), SD_E_INVAL);
}

/* Read a DER header; returns the content length and sets *hlen, or SIZE_MAX if malformed. */
static size_t
test_der_read_len(const uint8_t *p, size_t avail, size_t *hlen)
{
	size_t n, i, len = 0;

	if (avail < 2)
		return SIZE_MAX;
	if (p[1] < 0x80) {
		*hlen = 2;
		return p[1];
	}
	n = p[1] & 0x7f;
	if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0)
		return SIZE_MAX;
	for (i = 0; i < n; i++)
		len = len << 8 | p[2 + i];
	if (len < 0x80)
		return SIZE_MAX;	/* long form where short would do: not DER */
	*hlen = 2 + n;
	return len;
}

static void
test_assemble_length_boundaries(void)
{
	static const size_t sizes[] = { 127, 128, 255, 256, 65535, 65536 };
	static const uint8_t algid[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
	static const uint8_t sig[] = { 0x11, 0x22, 0x33 };
	const size_t bits_len = 2 + 1 + sizeof(sig);
	uint8_t *tbs, *der = NULL;
	size_t i, len, hlen = 0, content, tbs_len, rest = sizeof(algid) + bits_len;
	int round;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* Round 0: the TBS is sizes[i] bytes. Round 1: the certificate's content is. */
		for (round = 0; round < 2; round++) {
			tbs_len = round == 0 ? sizes[i] : sizes[i] - rest;
			CU_ASSERT_PTR_NOT_NULL_FATAL(tbs = malloc(tbs_len));
			memset(tbs, 0x5a, tbs_len);
			CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(tbs, tbs_len, algid, sizeof(algid), sig, sizeof(sig),
			    &der, &len), 0);
			content = test_der_read_len(der, len, &hlen);
			CU_ASSERT_EQUAL(der[0], 0x30);
			CU_ASSERT_EQUAL(content, tbs_len + rest);
			CU_ASSERT_EQUAL(hlen, der_header_len(tbs_len + rest));
			CU_ASSERT_EQUAL(len, hlen + content);
			CU_ASSERT_EQUAL(memcmp(der + hlen, tbs, tbs_len), 0);
			CU_ASSERT_EQUAL(memcmp(der + hlen + tbs_len, algid, sizeof(algid)), 0);
			CU_ASSERT_EQUAL(der[hlen + tbs_len + sizeof(algid)], 0x03);
			CU_ASSERT_EQUAL(der[hlen + tbs_len + sizeof(algid) + 1], 1 + sizeof(sig));
			CU_ASSERT_EQUAL(der[hlen + tbs_len + sizeof(algid) + 2], 0x00);
			CU_ASSERT_EQUAL(memcmp(der + len - sizeof(sig), sig, sizeof(sig)), 0);
			if (round == 1) {
				static const size_t want_hlen[] = { 2, 3, 3, 4, 4, 5 };

				CU_ASSERT_EQUAL(hlen, want_hlen[i]);
			}
			free(der);
			der = NULL;
			free(tbs);
		}
	}
}

static void
test_check_refuses_tampering(void)
{
	X509 *x = test_openssl_cert(HSM_KEY_P256);
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *algor;
	unsigned char *tbs = NULL, *algid = NULL;
	uint8_t *der = NULL, *longer, *tbs2;
	X509 *out = (X509 *)1;
	size_t len = 0;
	int tbs_len, algid_len;
	EVP_PKEY *other = test_key(HSM_KEY_P256);

	tbs_len = i2d_re_X509_tbs(x, &tbs);
	X509_get0_signature(&sig, &algor, x);
	algid_len = i2d_X509_ALGOR(algor, &algid);
	CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(tbs, (size_t)tbs_len, algid, (size_t)algid_len,
	    ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), &der, &len), 0);
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL), 0);

	/* A flipped byte inside the ECDSA s value (the last bytes of the DER). */
	der[len - 5] ^= 0x01;
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), &out), SD_E_INTERNAL);
	CU_ASSERT_PTR_NULL(out);
	der[len - 5] ^= 0x01;

	/* One trailing byte. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	CU_ASSERT_EQUAL(x509_cert_check(longer, len + 1, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL),
	    SD_E_INTERNAL);
	free(longer);

	/* The TBS we think we signed differs by one byte. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(tbs2 = malloc((size_t)tbs_len));
	memcpy(tbs2, tbs, (size_t)tbs_len);
	tbs2[tbs_len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs2, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len - 1, key_of(HSM_KEY_P256), NULL),
	    SD_E_INTERNAL);
	free(tbs2);

	/* Another CA key; truncation; garbage. */
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len, other, NULL), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_check(der, len - 1, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL),
	    SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_check(tbs, (size_t)tbs_len, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL),
	    SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, (size_t)tbs_len, key_of(HSM_KEY_P256), NULL), 0);

	EVP_PKEY_free(other);
	free(der);
	OPENSSL_free(tbs);
	OPENSSL_free(algid);
	X509_free(x);
}

static void
test_check_refuses_non_der(void)
{
	/* A certificate whose TBS uses a long-form length where the short form fits parses but is not DER. */
	X509 *x = test_openssl_cert(HSM_KEY_ED25519);
	unsigned char *tbs = NULL;
	uint8_t *bad = NULL, *der = NULL;
	size_t sig_len = 0, len = 0, bad_len;
	int tbs_len = i2d_re_X509_tbs(x, &tbs);
	const struct x509_sigalg *alg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64];

	CU_ASSERT_FATAL(tbs_len > 0 && ctx != NULL);
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_ED25519, &alg), 0);
	/* The version field "a0 03 02 01 02" becomes "a0 81 03 02 01 02"; the outer length grows by one. */
	bad_len = (size_t)tbs_len + 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad = malloc(bad_len));
	{
		size_t hlen = 0, content = test_der_read_len(tbs, (size_t)tbs_len, &hlen);
		uint8_t hdr[DER_HEADER_MAX];
		size_t used = 0;

		CU_ASSERT_FATAL(content != SIZE_MAX && tbs[hlen] == 0xa0 && tbs[hlen + 1] == 0x03);
		CU_ASSERT_EQUAL_FATAL(der_write_header(0x30, content + 1, hdr, sizeof(hdr), &used), 0);
		CU_ASSERT_EQUAL_FATAL(used, hlen);
		memcpy(bad, hdr, hlen);
		bad[hlen] = 0xa0;
		bad[hlen + 1] = 0x81;
		memcpy(bad + hlen + 2, tbs + hlen + 1, (size_t)tbs_len - hlen - 1);
	}
	sig_len = sizeof(sig);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key_of(HSM_KEY_ED25519), NULL), 1);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(ctx, sig, &sig_len, bad, bad_len), 1);
	CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(bad, bad_len, alg->algid, alg->algid_len, sig, sig_len, &der, &len), 0);
	CU_ASSERT_EQUAL(x509_cert_check(der, len, bad, bad_len, key_of(HSM_KEY_ED25519), NULL), SD_E_INTERNAL);

	free(der);
	free(bad);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(tbs);
	X509_free(x);
}

/* ---- signature algorithms and the HSM's raw outputs ---- */

static void
test_digestinfo(void)
{
	uint8_t d[64], out[X509_SIGALG_INPUT_MAX];
	size_t len = 0;

	memset(d, 0x11, sizeof(d));
	CU_ASSERT_EQUAL(x509_sigalg_digestinfo(HSM_HASH_SHA256, d, 32, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 51);
	CU_ASSERT_EQUAL(out[0], 0x30);
	CU_ASSERT_EQUAL(out[1], 49);
	CU_ASSERT_EQUAL(x509_sigalg_digestinfo(HSM_HASH_SHA384, d, 48, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 67);
	CU_ASSERT_EQUAL(x509_sigalg_digestinfo(HSM_HASH_SHA512, d, 64, out, sizeof(out), &len), 0);
	CU_ASSERT_EQUAL(len, 83);
	CU_ASSERT_EQUAL(x509_sigalg_digestinfo(HSM_HASH_SHA256, d, 48, out, sizeof(out), &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_sigalg_digestinfo(HSM_HASH_SHA512, d, 64, out, 82, &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(len, 0);
}

/* r || s of width bytes each from a DER ECDSA-Sig-Value. */
static void
test_der_to_rs(const uint8_t *der, size_t der_len, size_t width, uint8_t *rs)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	CU_ASSERT_EQUAL_FATAL(BN_bn2binpad(r, rs, (int)width), (int)width);
	CU_ASSERT_EQUAL_FATAL(BN_bn2binpad(s, rs + width, (int)width), (int)width);
	ECDSA_SIG_free(sig);
}

/*
 * Sign as the HSM would (raw mechanisms on software keys): DigestInfo with
 * RSA PKCS#1 v1.5 and no hashing, ECDSA over the digest returning r || s,
 * Ed25519 over the whole message. Returns the raw signature length.
 */
static size_t
test_hsm_emulate(EVP_PKEY *k, const struct x509_sigalg *alg, const uint8_t *in, size_t in_len, uint8_t *raw)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t der[HSM_SIG_MAX];
	size_t len = sizeof(der);

	if (alg->mech == HSM_MECH_EDDSA) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(mctx = EVP_MD_CTX_new());
		CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, k, NULL), 1);
		CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(mctx, raw, &len, in, in_len), 1);
		EVP_MD_CTX_free(mctx);
		return len;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL));
	CU_ASSERT_EQUAL_FATAL(EVP_PKEY_sign_init(pctx), 1);
	if (alg->mech == HSM_MECH_RSA_PKCS) {
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_sign(pctx, raw, &len, in, in_len), 1);
	} else {
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_sign(pctx, der, &len, in, in_len), 1);
		test_der_to_rs(der, len, alg->sig_len / 2, raw);
		len = alg->sig_len;
	}
	EVP_PKEY_CTX_free(pctx);
	return len;
}

static void
test_sigalg_hsm_path(void)
{
	static const enum hsm_key_type types[] = {
		HSM_KEY_RSA2048, HSM_KEY_RSA3072, HSM_KEY_RSA4096, HSM_KEY_P256, HSM_KEY_P384, HSM_KEY_P521,
		HSM_KEY_ED25519,
	};
	const struct x509_sigalg *alg;
	struct test_built b;
	uint8_t buf[X509_SIGALG_INPUT_MAX], raw[HSM_SIG_MAX];
	const uint8_t *in;
	uint8_t *sig = NULL, *der = NULL;
	size_t i, in_len, raw_len, sig_len, len;
	X509 *x = NULL;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&b, 0, sizeof(b));
		test_build_tbs(types[i], false, NOW, NOW + 3600, &b);
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(types[i], &alg), 0);
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_hsm_input(alg, b.tbs, b.tbs_len, buf, &in, &in_len), 0);
		if (alg->mech == HSM_MECH_EDDSA)
			CU_ASSERT(in == b.tbs && in_len == b.tbs_len);
		raw_len = test_hsm_emulate(key_of(types[i]), alg, in, in_len, raw);
		CU_ASSERT_EQUAL(raw_len, alg->sig_len);
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_finish(alg, raw, raw_len, &sig, &sig_len), 0);
		CU_ASSERT_EQUAL(x509_sigalg_finish(alg, raw, raw_len - 1, &der, &len), SD_E_HSM);
		CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(b.tbs, b.tbs_len, alg->algid, alg->algid_len, sig, sig_len,
		    &der, &len), 0);
		CU_ASSERT_EQUAL(x509_cert_check(der, len, b.tbs, b.tbs_len, key_of(types[i]), &x), 0);
		CU_ASSERT_EQUAL(X509_get_signature_nid(x), test_sig_nid(types[i]));
		X509_free(x);
		x = NULL;
		free(der);
		free(sig);
		free(b.tbs);
		der = sig = NULL;
	}
	CU_ASSERT_EQUAL(x509_sigalg_for((enum hsm_key_type)99, &alg), SD_E_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(alg);
}

static void
test_ecdsa_rs_to_der(void)
{
	uint8_t rs[64], *der = NULL;
	size_t len = 0;
	uint8_t back[64];
	/* r = 1 (31 leading zero octets), s = 0x80 00 .. 00 (top bit set: needs a 0x00 octet). */
	static const uint8_t want_small[] = {
		0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80,
	};

	memset(rs, 0, sizeof(rs));
	rs[31] = 0x01;
	rs[32] = 0x80;
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_ecdsa_to_der(rs, 64, &der, &len), 0);
	CU_ASSERT_EQUAL(len, 2 + 3 + 2 + 33);
	CU_ASSERT_EQUAL(memcmp(der, want_small, sizeof(want_small)), 0);
	test_der_to_rs(der, len, 32, back);
	CU_ASSERT_EQUAL(memcmp(back, rs, 64), 0);
	free(der);
	der = NULL;

	/* r with its top bit set and s with a leading zero octet but next bit set. */
	memset(rs, 0xff, 32);
	memset(rs + 32, 0x00, 32);
	rs[33] = 0x90;
	rs[63] = 0x01;
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_ecdsa_to_der(rs, 64, &der, &len), 0);
	CU_ASSERT_EQUAL(der[2], 0x02);
	CU_ASSERT_EQUAL(der[3], 33);
	CU_ASSERT_EQUAL(der[4], 0x00);
	CU_ASSERT_EQUAL(der[4 + 33], 0x02);
	CU_ASSERT_EQUAL(der[4 + 33 + 1], 32);	/* 31 octets of magnitude, top bit set: one 0x00 */
	CU_ASSERT_EQUAL(der[4 + 33 + 2], 0x00);
	CU_ASSERT_EQUAL(der[4 + 33 + 3], 0x90);
	test_der_to_rs(der, len, 32, back);
	CU_ASSERT_EQUAL(memcmp(back, rs, 64), 0);
	free(der);
	der = NULL;

	/* P-521: 66-byte halves, and a long-form outer length (content > 127). */
	memset(rs, 0, sizeof(rs));
	{
		uint8_t big[132];

		memset(big, 0x01, sizeof(big));
		big[0] = 0x01;
		big[66] = 0x01;
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_ecdsa_to_der(big, 132, &der, &len), 0);
		CU_ASSERT_EQUAL(der[1], 0x81);
		CU_ASSERT_EQUAL(len, 3 + 2 * (2 + 66));
		free(der);
		der = NULL;
	}

	/* Refused: zero r or s, odd length, empty. */
	memset(rs, 0, 32);
	memset(rs + 32, 1, 32);
	CU_ASSERT_EQUAL(x509_sigalg_ecdsa_to_der(rs, 64, &der, &len), SD_E_INVAL);
	memset(rs, 1, 32);
	memset(rs + 32, 0, 32);
	CU_ASSERT_EQUAL(x509_sigalg_ecdsa_to_der(rs, 64, &der, &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_sigalg_ecdsa_to_der(rs, 63, &der, &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_sigalg_ecdsa_to_der(rs, 0, &der, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT_EQUAL(len, 0);
}

/* ---- DER reader, prepared verifier ---- */

static void
test_der_read(void)
{
	static const uint8_t good[] = { 0x30, 0x03, 0x02, 0x01, 0x05, 0xff };
	static const uint8_t bad[][5] = {
		{ 0x30, 0x81, 0x05, 0, 0 },	/* long form below 0x80 */
		{ 0x30, 0x82, 0x00, 0x80, 0 },	/* leading zero length octet */
		{ 0x30, 0x80, 0, 0, 0 },	/* indefinite */
		{ 0x30, 0x84, 1, 0, 0 },	/* four length octets */
		{ 0x30, 0x04, 0, 0, 0 },	/* content past the end (4 of 3 available) */
		{ 0x1f, 0x01, 0x00, 0, 0 },	/* multi-octet tag */
	};
	uint8_t big[3 + 0x100];
	struct der_tlv t, u;
	const uint8_t *p = good;
	size_t avail = sizeof(good), i;

	CU_ASSERT_EQUAL_FATAL(der_read(good, sizeof(good), &t), 0);
	CU_ASSERT(t.tag == 0x30 && t.tlv == good && t.tlv_len == 5 && t.val == good + 2 && t.len == 3);
	CU_ASSERT_EQUAL(der_next(&p, &avail, 0x02, &u), SD_E_INVAL);
	CU_ASSERT(p == good && avail == sizeof(good) && u.tlv == NULL);
	CU_ASSERT_EQUAL(der_next(&p, &avail, 0x30, &u), 0);
	CU_ASSERT(p == good + 5 && avail == 1);
	CU_ASSERT(der_peek_tag(p, avail, 0xff) && !der_peek_tag(p, 0, 0xff) && !der_peek_tag(NULL, 1, 0xff));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(der_read(bad[i], i == 4 ? 5 : sizeof(bad[i]), &t), SD_E_INVAL);
		CU_ASSERT_PTR_NULL(t.tlv);
	}
	CU_ASSERT_EQUAL(der_read(good, 1, &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(der_read(NULL, 5, &t), SD_E_INVAL);
	memset(big, 0, sizeof(big));
	big[0] = 0x04;
	big[1] = 0x82;
	big[2] = 0x01;	/* 0x100 needs two length octets: 0x82 0x01 0x00 */
	CU_ASSERT_EQUAL(der_read(big, sizeof(big), &t), SD_E_INVAL);	/* one octet short */
	{
		uint8_t ok[4 + 0x100] = { 0x04, 0x82, 0x01, 0x00 };

		CU_ASSERT_EQUAL(der_read(ok, sizeof(ok), &t), 0);
		CU_ASSERT(t.len == 0x100 && t.val == ok + 4);
	}
}

/* Sign tbs with the software key the way alg says (RSASSA-PSS included) and assemble with alg's algid. */
static void
test_sign_alg(const struct x509_sigalg *alg, EVP_PKEY *k, const uint8_t *tbs, size_t tbs_len, uint8_t **der,
    size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[1024];
	size_t sig_len = sizeof(sig);

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit_ex(ctx, &pctx, alg->digest, NULL, NULL, k, NULL), 1);
	if (alg->mech == HSM_MECH_RSA_PSS) {
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		CU_ASSERT_EQUAL_FATAL(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(ctx, sig, &sig_len, tbs, tbs_len), 1);
	CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(tbs, tbs_len, alg->algid, alg->algid_len, sig, sig_len, der, len), 0);
	EVP_MD_CTX_free(ctx);
}

static void
test_verifier_each_algorithm(void)
{
	static const struct {
		enum hsm_key_type type;
		bool pss;
	} cases[] = {
		{ HSM_KEY_P256, false }, { HSM_KEY_P384, false }, { HSM_KEY_P521, false }, { HSM_KEY_RSA2048, false },
		{ HSM_KEY_RSA2048, true }, { HSM_KEY_ED25519, false },
	};
	const struct x509_sigalg *alg;
	struct x509_verifier *v = NULL;
	struct test_built b;
	uint8_t *der = NULL;
	size_t i, len = 0, round;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(x509_sigalg_for_scheme(cases[i].type, cases[i].pss, &alg), 0);
		memset(&b, 0, sizeof(b));
		test_build_tbs(cases[i].type, false, NOW, NOW + 3600, &b);
		CU_ASSERT_EQUAL_FATAL(x509_verifier_new(key_of(cases[i].type), alg, &v), 0);
		test_sign_alg(alg, key_of(cases[i].type), b.tbs, b.tbs_len, &der, &len);
		if (cases[i].pss) {
			/* test_build_tbs() names PKCS#1 v1.5 in the TBS: a PSS verifier refuses that TBS. */
			CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len), SD_E_INTERNAL);
			CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "another signature algorithm"));
		} else {
			/* Twice: the prepared context is copied, never used up. */
			for (round = 0; round < 2; round++)
				CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len), 0);
		}
		free(der);
		der = NULL;
		x509_verifier_free(v);
		v = NULL;
		free(b.tbs);
	}
	CU_ASSERT_EQUAL(x509_verifier_new(NULL, alg, &v), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(v);
	x509_verifier_free(NULL);
}

/* A TBS whose signature field is alg's, for the RSASSA-PSS case the builder helper does not cover. */
static void
test_verifier_pss(void)
{
	const struct x509_sigalg *alg;
	struct x509_verifier *v = NULL;
	X509_NAME *subject = test_name("pss.example.com");
	uint8_t serial[X509_SERIAL_LEN], *issuer, *spki, *tbs = NULL, *der = NULL;
	size_t issuer_len, spki_len, tbs_len = 0, len = 0;
	struct x509_tbs_template t;

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for_scheme(HSM_KEY_RSA2048, true, &alg), 0);
	CU_ASSERT_EQUAL_FATAL(x509_tbs_serial_random(serial), 0);
	issuer = test_name_der("Test CA", &issuer_len);
	spki = test_spki(key_of(HSM_KEY_P256), &spki_len);
	t = (struct x509_tbs_template){ .serial = serial, .serial_len = sizeof(serial), .algid = alg->algid,
		.algid_len = alg->algid_len, .issuer = issuer, .issuer_len = issuer_len, .not_before = NOW,
		.not_after = NOW + 60, .subject = subject, .spki = spki, .spki_len = spki_len };
	CU_ASSERT_EQUAL_FATAL(x509_tbs_build(&t, &tbs, &tbs_len), 0);
	CU_ASSERT_EQUAL_FATAL(x509_verifier_new(key_of(HSM_KEY_RSA2048), alg, &v), 0);
	test_sign_alg(alg, key_of(HSM_KEY_RSA2048), tbs, tbs_len, &der, &len);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, tbs, tbs_len), 0);
	CU_ASSERT_EQUAL(x509_cert_check(der, len, tbs, tbs_len, key_of(HSM_KEY_RSA2048), NULL), 0);
	x509_verifier_free(v);
	free(der);
	free(tbs);
	OPENSSL_free(issuer);
	OPENSSL_free(spki);
	X509_NAME_free(subject);
}

static void
test_verify_refuses_tampering(void)
{
	const struct x509_sigalg *alg, *ed;
	struct x509_verifier *v = NULL, *v_other = NULL;
	EVP_PKEY *other = test_key(HSM_KEY_P256);
	struct test_built b;
	uint8_t *der = NULL, *longer, *tbs2, *der2 = NULL;
	size_t len = 0, len2 = 0;
	static const uint8_t fake_sig[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_P256, &alg), 0);
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_ED25519, &ed), 0);
	memset(&b, 0, sizeof(b));
	test_build_tbs(HSM_KEY_P256, false, NOW, NOW + 3600, &b);
	test_sign_software(HSM_KEY_P256, b.tbs, b.tbs_len, &der, &len);
	CU_ASSERT_EQUAL_FATAL(x509_verifier_new(key_of(HSM_KEY_P256), alg, &v), 0);
	CU_ASSERT_EQUAL_FATAL(x509_verifier_new(other, alg, &v_other), 0);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len), 0);

	der[len - 5] ^= 0x01;	/* inside s */
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "does not verify"));
	der[len - 5] ^= 0x01;
	CU_ASSERT_EQUAL(x509_cert_verify(v_other, der, len, b.tbs, b.tbs_len), SD_E_INTERNAL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	CU_ASSERT_EQUAL(x509_cert_verify(v, longer, len + 1, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "trailing"));
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len - 1, b.tbs, b.tbs_len), SD_E_INTERNAL);
	free(longer);

	CU_ASSERT_PTR_NOT_NULL_FATAL(tbs2 = malloc(b.tbs_len));
	memcpy(tbs2, b.tbs, b.tbs_len);
	tbs2[b.tbs_len - 1] ^= 0x01;
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, tbs2, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "differs from the TBS signed"));
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len - 1), SD_E_INTERNAL);
	free(tbs2);

	/* Another signatureAlgorithm around the same TBS and signature bytes. */
	CU_ASSERT_EQUAL_FATAL(x509_cert_assemble(b.tbs, b.tbs_len, ed->algid, ed->algid_len, fake_sig, sizeof(fake_sig),
	    &der2, &len2), 0);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der2, len2, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "another signature algorithm"));
	free(der2);

	/* The TBS alone; garbage; missing parts. */
	CU_ASSERT_EQUAL(x509_cert_verify(v, b.tbs, b.tbs_len, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_verify(v, (const uint8_t *)"\x30\x00", 2, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_verify(NULL, der, len, b.tbs, b.tbs_len), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, NULL, 0), SD_E_INTERNAL);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, b.tbs, b.tbs_len), 0);

	x509_verifier_free(v);
	x509_verifier_free(v_other);
	EVP_PKEY_free(other);
	free(der);
	free(b.tbs);
}

static void
test_verify_refuses_non_der(void)
{
	/* The TBS's version with a long-form length where the short form fits, signed for real. */
	const struct x509_sigalg *alg;
	struct x509_verifier *v = NULL;
	struct test_built b;
	uint8_t *bad, *der = NULL, hdr[DER_HEADER_MAX];
	size_t hlen = 0, content, used = 0, bad_len, len = 0;

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_ED25519, &alg), 0);
	memset(&b, 0, sizeof(b));
	test_build_tbs(HSM_KEY_ED25519, false, NOW, NOW + 3600, &b);
	content = test_der_read_len(b.tbs, b.tbs_len, &hlen);
	CU_ASSERT_FATAL(content != SIZE_MAX && b.tbs[hlen] == 0xa0 && b.tbs[hlen + 1] == 0x03);
	bad_len = b.tbs_len + 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad = malloc(bad_len));
	CU_ASSERT_EQUAL_FATAL(der_write_header(0x30, content + 1, hdr, sizeof(hdr), &used), 0);
	CU_ASSERT_EQUAL_FATAL(used, hlen);
	memcpy(bad, hdr, hlen);
	bad[hlen] = 0xa0;
	bad[hlen + 1] = 0x81;
	memcpy(bad + hlen + 2, b.tbs + hlen + 1, b.tbs_len - hlen - 1);
	CU_ASSERT_EQUAL_FATAL(x509_verifier_new(key_of(HSM_KEY_ED25519), alg, &v), 0);
	test_sign_alg(alg, key_of(HSM_KEY_ED25519), bad, bad_len, &der, &len);
	CU_ASSERT_EQUAL(x509_cert_verify(v, der, len, bad, bad_len), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "signed TBS field 0"));
	x509_verifier_free(v);
	free(der);
	free(bad);
	free(b.tbs);
}

int
main(void)
{
	static const struct sd_test_case der_cases[] = {
		{ "header lengths 0..16M", test_der_header_lengths },
		{ "wrap pieces, overflow refused", test_der_wrap },
		{ "bit string", test_der_bit_string },
		{ "strict reader: shortest lengths, bounds, tags", test_der_read },
	};
	static const struct sd_test_case cert_cases[] = {
		{ "assembly equals OpenSSL's own certificate", test_assemble_matches_openssl },
		{ "assembly refuses missing parts", test_assemble_refuses_missing },
		{ "assembly length boundaries", test_assemble_length_boundaries },
		{ "check refuses flipped signature, trailing byte, TBS mismatch", test_check_refuses_tampering },
		{ "check refuses a non-DER TBS", test_check_refuses_non_der },
		{ "prepared verifier: every algorithm, twice", test_verifier_each_algorithm },
		{ "prepared verifier: RSASSA-PSS", test_verifier_pss },
		{ "verify refuses flipped signature, trailing byte, TBS and algorithm mismatch", test_verify_refuses_tampering },
		{ "verify refuses a non-DER TBS", test_verify_refuses_non_der },
	};
	static const struct sd_test_case sigalg_cases[] = {
		{ "DigestInfo", test_digestinfo },
		{ "HSM input and output for every key type", test_sigalg_hsm_path },
		{ "ECDSA r||s to DER", test_ecdsa_rs_to_der },
	};
	int rc;

	SD_TEST_SUITE("der", der_cases);
	SD_TEST_SUITE("x509_cert", cert_cases);
	SD_TEST_SUITE("x509_sigalg", sigalg_cases);
	rc = sd_test_run("test_x509_cert");
	x509_fixture_free_keys();
	return rc;
}
