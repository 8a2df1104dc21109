/*
 * The subject key of a CSR, on CSRs made here with OpenSSL: the key types
 * taken, the key decoded from its SPKI as OpenSSL decodes it, and the
 * refusals (small RSA, e=3, unknown curves, ROCA, Fermat, the blocklist).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "config.h"
#include "csr/csr.h"
#include "csr/weakkey.h"
#include "csr_fixture.h"
#include "sd_test.h"

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

/* The SPKI key type read from the bytes, and the CSR's SPKI taken from its own encoding. */
/* rsaEncryption without its NULL parameters: legal BER-ish practice, not the canonical form. */
static const uint8_t rsa_no_null[] = { 0x30, 0x18, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	0x01, 0x01, 0x01, 0x03, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03 };

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

int
main(void)
{
	static const struct sd_test_case accept_cases[] = {
		{ "RSA-2048, P-384, P-521, Ed25519, no SANs", test_accept_others },
		{ "SPKI key type from its bytes; the CSR's own SPKI bytes", test_spki_key_type },
		{ "subject key decoded as OpenSSL decodes it (compressed, off-curve, non-canonical)", test_key_decode },
	};
	static const struct sd_test_case refuse_cases[] = {
		{ "keys: RSA-1024, e=3, secp256k1, RSA-PSS, Ed448", test_refuse_keys },
		{ "weak keys: ROCA, Fermat", test_weak_keys },
		{ "key blocklist file", test_blocklist },
	};
	int rc;

	SD_TEST_SUITE("csr accept", accept_cases);
	SD_TEST_SUITE("csr refuse", refuse_cases);
	rc = sd_test_run("test_csr_key");
	csr_fixture_free_keys();
	return rc;
}
