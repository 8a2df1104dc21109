/*
 * pkcs11/ against a real SoftHSMv2 token in a temporary directory.
 *
 * A few tests reach under the API (hsm_int.h) to do what an operator or a
 * fault would do to the token: create an extractable key, create two keys
 * with one label, close every session behind the pool's back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "hsm_int.h"
#include "lib/sd_test.h"
#include "lib/softhsm_fixture.h"

#define TOKEN_LABEL "signerd-test"

static struct sd_test_softhsm fx;
static bool fx_ok;
static struct hsm *g_hsm;
static struct hsm_key *g_keys[HSM_KEY_ED25519 + 1];
static bool g_unsupported[HSM_KEY_ED25519 + 1];

static const uint8_t msg[] = "tbsCertificate stand-in: signerd test message";

static struct hsm_config
test_config(const char *pin_file, unsigned pool)
{
	struct hsm_config cfg = { fx.module, fx.token_uri, pin_file, pool };

	return cfg;
}

static void
show(int rc)
{
	if (rc != 0)
		fprintf(stderr, "\n    rc %d (%s): %s\n", rc, sd_error_name(rc), sd_error_detail(rc));
}

static bool
detail_has(int rc, const char *needle)
{
	if (strstr(sd_error_detail(rc), needle) != NULL)
		return true;
	fprintf(stderr, "\n    detail \"%s\" lacks \"%s\"\n", sd_error_detail(rc), needle);
	return false;
}

/* The shared test key of a type, generated on first use. NULL when SoftHSM cannot make it. */
static struct hsm_key *
test_key(enum hsm_key_type type)
{
	char uri[128];
	int rc;

	if (g_keys[type] != NULL || g_unsupported[type] || g_hsm == NULL)
		return g_keys[type];
	CU_ASSERT_FATAL(snprintf(uri, sizeof(uri), "pkcs11:object=test-%s", hsm_key_type_name(type)) < (int)sizeof(uri));
	rc = hsm_key_find(g_hsm, uri, false, &g_keys[type]);
	if (rc == SD_E_KEY_NOT_FOUND) {
		rc = hsm_keygen(g_hsm, uri, type);
		if (rc == SD_E_UNSUPPORTED) {
			fprintf(stderr, "\n    SoftHSM cannot generate %s: %s\n", hsm_key_type_name(type), sd_error_detail(rc));
			g_unsupported[type] = true;
			return NULL;
		}
		show(rc);
		if (rc == 0)
			rc = hsm_key_find(g_hsm, uri, false, &g_keys[type]);
	}
	show(rc);
	return g_keys[type];
}

static const EVP_MD *
test_md(enum hsm_hash hash)
{
	switch (hash) {
	case HSM_HASH_SHA256:
		return EVP_sha256();
	case HSM_HASH_SHA384:
		return EVP_sha384();
	case HSM_HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

/* What hsm_sign() takes for mech: DigestInfo, digest, or the message. */
static size_t
test_input(enum hsm_mech mech, enum hsm_hash hash, uint8_t *out)
{
	static const uint8_t di[3][19] = {
		{ 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 },
		{ 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 },
		{ 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 },
	};
	unsigned int dlen = 0;
	size_t off = 0;

	if (mech == HSM_MECH_EDDSA) {
		memcpy(out, msg, sizeof(msg));
		return sizeof(msg);
	}
	if (mech == HSM_MECH_RSA_PKCS) {
		memcpy(out, di[hash], sizeof(di[hash]));
		off = sizeof(di[hash]);
	}
	if (EVP_Digest(msg, sizeof(msg), out + off, &dlen, test_md(hash), NULL) != 1)
		abort();
	return off + dlen;
}

/* Verify sig over msg with OpenSSL, from the SPKI the HSM reported. */
static bool
test_verify(const struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash, const uint8_t *sig, size_t sig_len)
{
	const uint8_t *spki, *p;
	size_t spki_len, half;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL, *q;
	const uint8_t *vsig = sig;
	size_t vsig_len = sig_len;
	int der_len;
	bool ok = false;

	spki = hsm_key_spki_peek(key, &spki_len);
	p = spki;
	if ((pk = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (mech == HSM_MECH_ECDSA) {
		/* r || s to the DER ECDSA-Sig-Value X.509 carries. */
		half = sig_len / 2;
		if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
			goto out;
		r = s = NULL;
		if ((der_len = i2d_ECDSA_SIG(es, NULL)) <= 0 || (der = malloc((size_t)der_len)) == NULL)
			goto out;
		q = der;
		if (i2d_ECDSA_SIG(es, &q) != der_len)
			goto out;
		vsig = der;
		vsig_len = (size_t)der_len;
	}
	if (EVP_DigestVerifyInit(ctx, &pctx, mech == HSM_MECH_EDDSA ? NULL : test_md(hash), NULL, pk) != 1)
		goto out;
	if (mech == HSM_MECH_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, test_md(hash)) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, vsig, vsig_len, msg, sizeof(msg)) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	free(der);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok;
}

/* Sign msg with key and verify it; 0 or the hsm_sign() error. */
static int
sign_verify(struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash)
{
	uint8_t in[256], sig[HSM_SIG_MAX];
	size_t in_len, sig_len = 0;
	int rc;

	in_len = test_input(mech, hash, in);
	if ((rc = hsm_sign(key, mech, hash, in, in_len, sig, &sig_len)) != 0)
		return rc;
	return test_verify(key, mech, hash, sig, sig_len) ? 0 : SD_E_CRYPTO;
}

/* --- token and open --- */

static void
test_fixture(void)
{
	CU_ASSERT_TRUE_FATAL(fx_ok);
}

static void
test_token_init_twice(void)
{
	int rc = hsm_token_init(fx.module, TOKEN_LABEL, fx.so_pin_file, fx.pin_file);

	CU_ASSERT_EQUAL(rc, SD_E_INVAL);
	CU_ASSERT_TRUE(detail_has(rc, "already exists"));
}

static void
test_open(void)
{
	struct hsm_config cfg = test_config(fx.pin_file, 0);
	int rc;

	rc = hsm_open(&cfg, &g_hsm);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(g_hsm);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

/* Token flags of the test token, read through a module instance of our own. */
static CK_FLAGS
token_flags(void)
{
	CK_FUNCTION_LIST *fn = NULL;
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	CK_FLAGS flags = 0;
	size_t n, i;

	if (hsm_module_open(fx.module, &fn) != 0 || hsm_slots_get(fn, &slots, &n) != 0)
		abort();
	for (i = 0; i < n; i++)
		if (fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK && memcmp(ti.label, TOKEN_LABEL, strlen(TOKEN_LABEL)) == 0)
			flags = ti.flags;
	free(slots);
	hsm_module_close(fn);
	return flags;
}

/* Runs before any struct hsm is open: PKCS#11 login is per process, so a
 * second hsm_open() in a process already logged in cannot check the PIN. */
static void
test_open_wrong_pin(void)
{
	char path[PATH_MAX];
	struct hsm_config cfg;
	struct hsm *h = (struct hsm *)1;
	int rc;

	CU_ASSERT_EQUAL(token_flags() & CKF_USER_PIN_COUNT_LOW, 0);
	sd_test_write(fx.dir, "wrong.pin", "not-the-pin\n", 0600, path);
	cfg = test_config(path, 4);
	rc = hsm_open(&cfg, &h);
	CU_ASSERT_EQUAL(rc, SD_E_PIN);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_PIN_INCORRECT"));
	hsm_close(h == (struct hsm *)1 ? NULL : h);
	/* SoftHSM marks the failed login; with a pool of 4 the PIN was still tried only once. */
	CU_ASSERT_NOT_EQUAL(token_flags() & CKF_USER_PIN_COUNT_LOW, 0);
	CU_ASSERT_EQUAL(token_flags() & (CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED), 0);
	/* The right PIN still works, and clears the mark. */
	h = NULL;
	cfg = test_config(fx.pin_file, 1);
	rc = hsm_open(&cfg, &h);
	show(rc);
	CU_ASSERT_EQUAL(rc, 0);
	hsm_close(h);
}

static void
test_open_pin_mode(void)
{
	char path[PATH_MAX];
	struct hsm_config cfg;
	struct hsm *h = NULL;
	int rc;

	sd_test_write(fx.dir, "open.pin", "1234\n", 0644, path);
	cfg = test_config(path, 1);
	rc = hsm_open(&cfg, &h);
	CU_ASSERT_EQUAL(rc, SD_E_PIN);
	CU_ASSERT_PTR_NULL(h);
	CU_ASSERT_TRUE(detail_has(rc, "group or others"));
	cfg = test_config("/nonexistent/pin", 1);
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), SD_E_PIN);
}

static void
test_open_bad_token(void)
{
	struct hsm_config cfg = test_config(fx.pin_file, 1);
	struct hsm *h = NULL;
	int rc;

	cfg.token_uri = "pkcs11:token=no-such-token";
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), SD_E_NOT_FOUND);
	cfg.token_uri = "pkcs11:token=" TOKEN_LABEL "?pin-value=1234";
	rc = hsm_open(&cfg, &h);
	CU_ASSERT_EQUAL(rc, SD_E_URI);
	CU_ASSERT_TRUE(detail_has(rc, "pin-value"));
	cfg.token_uri = "pkcs11:token=" TOKEN_LABEL ";object=ca";
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), SD_E_URI);
	cfg.token_uri = fx.token_uri;
	cfg.module_path = "/nonexistent/libpkcs11.so";
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), SD_E_HSM);
	cfg.module_path = fx.module;
	cfg.pool_size = HSM_POOL_MAX + 1;
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(h);
}

/* --- key generation --- */

static void
keygen_type(enum hsm_key_type type)
{
	struct hsm_key *k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_hsm);
	k = test_key(type);
	if (k == NULL && g_unsupported[type])
		return;
	/* Found with allow_unsafe false: the key is sensitive and not extractable. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(hsm_key_type(k), type);
}

static void test_keygen_rsa2048(void) { keygen_type(HSM_KEY_RSA2048); }
static void test_keygen_rsa3072(void) { keygen_type(HSM_KEY_RSA3072); }
static void test_keygen_p256(void) { keygen_type(HSM_KEY_P256); }
static void test_keygen_p384(void) { keygen_type(HSM_KEY_P384); }
static void test_keygen_p521(void) { keygen_type(HSM_KEY_P521); }
static void test_keygen_ed25519(void) { keygen_type(HSM_KEY_ED25519); }

static void
test_keygen_duplicate(void)
{
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(test_key(HSM_KEY_P256));
	rc = hsm_keygen(g_hsm, "pkcs11:object=test-p256", HSM_KEY_P256);
	CU_ASSERT_EQUAL(rc, SD_E_INVAL);
	CU_ASSERT_TRUE(detail_has(rc, "already exists"));
	rc = hsm_keygen(g_hsm, "pkcs11:object=test-p256", HSM_KEY_RSA2048);
	CU_ASSERT_EQUAL(rc, SD_E_INVAL);
}

static void
test_keygen_with_id(void)
{
	struct hsm_key *k = NULL;
	int rc;

	rc = hsm_keygen(g_hsm, "pkcs11:token=" TOKEN_LABEL ";object=with-id;id=%01%02%03", HSM_KEY_P256);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* By id alone, and by both. */
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:id=%01%02%03", false, &k), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	hsm_key_free(k);
	k = NULL;
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:object=with-id;id=%01%02%03;type=private", false, &k), 0);
	hsm_key_free(k);
	/* The id is taken too. */
	rc = hsm_keygen(g_hsm, "pkcs11:object=other;id=%01%02%03", HSM_KEY_P256);
	CU_ASSERT_EQUAL(rc, SD_E_INVAL);
}

static void
test_keygen_bad_uri(void)
{
	CU_ASSERT_EQUAL(hsm_keygen(g_hsm, "pkcs11:id=%07", HSM_KEY_P256), SD_E_URI);
	CU_ASSERT_EQUAL(hsm_keygen(g_hsm, "pkcs11:token=elsewhere;object=x", HSM_KEY_P256), SD_E_URI);
	CU_ASSERT_EQUAL(hsm_keygen(g_hsm, "pkcs11:object=x;type=public", HSM_KEY_P256), SD_E_URI);
	CU_ASSERT_EQUAL(hsm_keygen(g_hsm, "pkcs11:object=x;colour=red", HSM_KEY_P256), SD_E_URI);
}

static void
test_key_type_names(void)
{
	enum hsm_key_type t;
	int i;

	for (i = HSM_KEY_RSA2048; i <= HSM_KEY_ED25519; i++) {
		CU_ASSERT_EQUAL(hsm_key_type_from_name(hsm_key_type_name((enum hsm_key_type)i), &t), 0);
		CU_ASSERT_EQUAL(t, (enum hsm_key_type)i);
	}
	CU_ASSERT_EQUAL(hsm_key_type_from_name("rsa1024", &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_key_type_from_name("P256", &t), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_key_type_from_name(NULL, &t), SD_E_INVAL);
}

/* --- key lookup --- */

static void
test_find_not_found(void)
{
	struct hsm_key *k = (struct hsm_key *)1;
	int rc;

	rc = hsm_key_find(g_hsm, "pkcs11:object=no-such-key", false, &k);
	CU_ASSERT_EQUAL(rc, SD_E_KEY_NOT_FOUND);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:token=other;object=test-p256", false, &k), SD_E_KEY_NOT_FOUND);
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:token=" TOKEN_LABEL, false, &k), SD_E_URI);
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:object=test-p256;type=public", false, &k), SD_E_URI);
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "object=test-p256", false, &k), SD_E_URI);
	CU_ASSERT_PTR_NULL(k);
}

/* Generate a P-256 pair directly through Cryptoki, with chosen safety attributes. */
static void
raw_keygen_copyable(const char *label, const uint8_t *id, size_t id_len, CK_BBOOL sensitive, CK_BBOOL extractable,
    CK_BBOOL copyable)
{
	static CK_BBOOL yes = CK_TRUE;
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, id_len },
		{ CKA_COPYABLE, &copyable, sizeof(copyable) },
	};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE a, b;
	CK_RV rv;

	CU_ASSERT_EQUAL_FATAL(hsm_session_open(g_hsm, true, &s, &rv), 0);
	CU_ASSERT_EQUAL(g_hsm->fn->C_GenerateKeyPair(s, &m, pub, 5, priv, 8, &a, &b), CKR_OK);
	hsm_session_close(g_hsm, s);
}

static void
raw_keygen(const char *label, const uint8_t *id, size_t id_len, CK_BBOOL sensitive, CK_BBOOL extractable)
{
	raw_keygen_copyable(label, id, id_len, sensitive, extractable, CK_TRUE);
}

static void
test_find_unsafe(void)
{
	static const uint8_t id1[] = { 0xe1 }, id2[] = { 0xe2 };
	struct hsm_key *k = NULL;
	int rc;

	raw_keygen("extractable", id1, sizeof(id1), CK_TRUE, CK_TRUE);
	rc = hsm_key_find(g_hsm, "pkcs11:object=extractable", false, &k);
	CU_ASSERT_EQUAL(rc, SD_E_KEY_UNSAFE);
	CU_ASSERT_TRUE(detail_has(rc, "extractable"));
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:object=extractable", true, &k), 0);
	hsm_key_free(k);
	k = NULL;
	raw_keygen("not-sensitive", id2, sizeof(id2), CK_FALSE, CK_FALSE);
	rc = hsm_key_find(g_hsm, "pkcs11:object=not-sensitive", false, &k);
	CU_ASSERT_EQUAL(rc, SD_E_KEY_UNSAFE);
	CU_ASSERT_TRUE(detail_has(rc, "not sensitive"));
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:object=not-sensitive", true, &k), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	hsm_key_free(k);
}

static void
test_find_ambiguous(void)
{
	static const uint8_t id1[] = { 0xa1 }, id2[] = { 0xa2 };
	struct hsm_key *k = NULL;
	int rc;

	/* keygen refuses a second "twin", so make them under the API. */
	raw_keygen("twin", id1, sizeof(id1), CK_TRUE, CK_FALSE);
	raw_keygen("twin", id2, sizeof(id2), CK_TRUE, CK_FALSE);
	rc = hsm_key_find(g_hsm, "pkcs11:object=twin", false, &k);
	CU_ASSERT_EQUAL(rc, SD_E_KEY_AMBIGUOUS);
	CU_ASSERT_PTR_NULL(k);
	/* The id tells them apart, and the public half is found by id, not by the shared label. */
	CU_ASSERT_EQUAL(hsm_key_find(g_hsm, "pkcs11:object=twin;id=%a2", false, &k), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	hsm_key_free(k);
}

/* --- signing --- */

static void
sign_case(enum hsm_key_type type, enum hsm_mech mech, enum hsm_hash hash)
{
	struct hsm_key *k = test_key(type);
	int rc;

	if (k == NULL && g_unsupported[type])
		return;
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	rc = sign_verify(k, mech, hash);
	show(rc);
	CU_ASSERT_EQUAL(rc, 0);
}

static void
test_sign_rsa_pkcs(void)
{
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PKCS, HSM_HASH_SHA256);
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PKCS, HSM_HASH_SHA384);
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PKCS, HSM_HASH_SHA512);
	sign_case(HSM_KEY_RSA3072, HSM_MECH_RSA_PKCS, HSM_HASH_SHA256);
}

static void
test_sign_rsa_pss(void)
{
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PSS, HSM_HASH_SHA256);
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PSS, HSM_HASH_SHA384);
	sign_case(HSM_KEY_RSA2048, HSM_MECH_RSA_PSS, HSM_HASH_SHA512);
	sign_case(HSM_KEY_RSA3072, HSM_MECH_RSA_PSS, HSM_HASH_SHA384);
}

static void
test_sign_ecdsa(void)
{
	sign_case(HSM_KEY_P256, HSM_MECH_ECDSA, HSM_HASH_SHA256);
	sign_case(HSM_KEY_P384, HSM_MECH_ECDSA, HSM_HASH_SHA384);
	sign_case(HSM_KEY_P521, HSM_MECH_ECDSA, HSM_HASH_SHA512);
	/* A digest longer than the order is truncated, as X.509 ECDSA with SHA-512 on P-256 expects. */
	sign_case(HSM_KEY_P256, HSM_MECH_ECDSA, HSM_HASH_SHA512);
}

static void
test_sign_eddsa(void)
{
	sign_case(HSM_KEY_ED25519, HSM_MECH_EDDSA, HSM_HASH_SHA512);
}

static void
test_sign_misuse(void)
{
	uint8_t in[256], sig[HSM_SIG_MAX];
	size_t in_len, sig_len = 99;
	struct hsm_key *rsa = test_key(HSM_KEY_RSA2048), *ec = test_key(HSM_KEY_P256);
	struct hsm_key *ed = test_key(HSM_KEY_ED25519);

	CU_ASSERT_PTR_NOT_NULL_FATAL(rsa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ec);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ed);
	in_len = test_input(HSM_MECH_ECDSA, HSM_HASH_SHA256, in);
	CU_ASSERT_EQUAL(hsm_sign(rsa, HSM_MECH_ECDSA, HSM_HASH_SHA256, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(sig_len, 0);
	CU_ASSERT_EQUAL(hsm_sign(ec, HSM_MECH_RSA_PSS, HSM_HASH_SHA256, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(ed, HSM_MECH_ECDSA, HSM_HASH_SHA256, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(ec, HSM_MECH_EDDSA, HSM_HASH_SHA256, in, in_len, sig, &sig_len), SD_E_INVAL);
	/* A bare digest is not a DigestInfo; a digest of the wrong length is refused. */
	CU_ASSERT_EQUAL(hsm_sign(rsa, HSM_MECH_RSA_PKCS, HSM_HASH_SHA256, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(ec, HSM_MECH_ECDSA, HSM_HASH_SHA384, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(rsa, HSM_MECH_RSA_PSS, HSM_HASH_SHA512, in, in_len, sig, &sig_len), SD_E_INVAL);
	in_len = test_input(HSM_MECH_RSA_PKCS, HSM_HASH_SHA256, in);
	CU_ASSERT_EQUAL(hsm_sign(rsa, HSM_MECH_RSA_PKCS, HSM_HASH_SHA384, in, in_len, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(ed, HSM_MECH_EDDSA, HSM_HASH_SHA256, in, 0, sig, &sig_len), SD_E_INVAL);
	CU_ASSERT_EQUAL(hsm_sign(ec, HSM_MECH_ECDSA, HSM_HASH_SHA256, in, 32, NULL, &sig_len), SD_E_INVAL);
}

/* Every session closed behind the pool (as after a token reset): the next signature recovers. */
static void
test_sign_after_sessions_lost(void)
{
	struct hsm_key *k = test_key(HSM_KEY_P256);
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL_FATAL(g_hsm->fn->C_CloseAllSessions(g_hsm->slot), CKR_OK);
	/* Closing the last session logged the application out. */
	CU_ASSERT_EQUAL_FATAL(g_hsm->fn->C_OpenSession(g_hsm->slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	CU_ASSERT_EQUAL(g_hsm->fn->C_GetSessionInfo(s, &si), CKR_OK);
	CU_ASSERT_EQUAL(si.state, CKS_RO_PUBLIC_SESSION);
	CU_ASSERT_EQUAL(g_hsm->fn->C_CloseSession(s), CKR_OK);
	/* Each pooled session fails once, is replaced, logs in again and signs. */
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(sign_verify(test_key(HSM_KEY_ED25519), HSM_MECH_EDDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

/* --- concurrency --- */

#define THREADS 4
#define PER_THREAD 200

struct worker {
	struct hsm_key *key;
	enum hsm_mech mech;
	int failures;
	int first_error;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	int i, rc;

	for (i = 0; i < PER_THREAD; i++) {
		if ((rc = sign_verify(w->key, w->mech, HSM_HASH_SHA256)) != 0) {
			if (w->failures++ == 0)
				w->first_error = rc;
		}
	}
	return NULL;
}

static void
sign_concurrent(bool session_keys)
{
	struct hsm_config cfg = test_config(fx.pin_file, 2);
	struct hsm *h = NULL;
	struct hsm_key *keys[3] = { NULL, NULL, NULL };
	struct worker w[THREADS];
	pthread_t t[THREADS];
	int i, rc;

	/* A second struct hsm on the same module in one process, with a pool of 2. */
	rc = hsm_open(&cfg, &h);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	hsm_session_keys_set(h, session_keys);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, "pkcs11:object=test-p256", false, &keys[0]), 0);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, "pkcs11:object=test-ed25519", false, &keys[1]), 0);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, "pkcs11:object=test-rsa2048", false, &keys[2]), 0);
	for (i = 0; i < THREADS; i++) {
		w[i].key = keys[i % 3];
		w[i].mech = i % 3 == 0 ? HSM_MECH_ECDSA : i % 3 == 1 ? HSM_MECH_EDDSA : HSM_MECH_RSA_PSS;
		w[i].failures = 0;
		w[i].first_error = 0;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures != 0)
			fprintf(stderr, "\n    thread %d: %d failures, first %s\n", i, w[i].failures, sd_error_name(w[i].first_error));
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	for (i = 0; i < 3; i++)
		hsm_key_free(keys[i]);
	hsm_close(h);
	/* Closing one struct hsm leaves the other working. */
	CU_ASSERT_EQUAL(sign_verify(test_key(HSM_KEY_P256), HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

static void
test_sign_concurrent(void)
{
	sign_concurrent(false);
}

static void
test_sign_concurrent_copies(void)
{
	sign_concurrent(true);
}

/* --- session copies of keys ([hsm] session_keys) --- */

static int
count_listed_p256(const struct hsm_key_info *ki, void *ctx)
{
	if (strcmp(ki->label, "test-p256") == 0)
		(*(int *)ctx)++;
	return 0;
}

/* Private key objects labelled label: token objects (on_token) or session objects. */
static size_t
count_keys(struct hsm *h, const char *label, CK_BBOOL on_token)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_TOKEN, &on_token, sizeof(on_token) },
	};
	CK_OBJECT_HANDLE found[16];
	CK_SESSION_HANDLE s;
	size_t count = 99;
	CK_RV rv;

	if (hsm_session_open(h, false, &s, &rv) != 0)
		return 99;
	if (hsm_objects_find(h, s, tmpl, 3, found, 16, &count, &rv) != 0)
		count = 99;
	hsm_session_close(h, s);
	return count;
}

/* The copy cached for pool slot i is a sensitive, non-extractable session object; its value cannot be read. */
static void
check_copy_slot(struct hsm *h, struct hsm_key *k, size_t i)
{
	CK_BBOOL token = CK_TRUE, sensitive = CK_FALSE, extractable = CK_TRUE;
	CK_ATTRIBUTE a[3] = {
		{ CKA_TOKEN, &token, sizeof(token) },
		{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
	};
	uint8_t value[1024];
	CK_ATTRIBUTE v = { hsm_key_type(k) <= HSM_KEY_RSA4096 ? CKA_PRIVATE_EXPONENT : CKA_VALUE, value, sizeof(value) };
	CK_SESSION_HANDLE s;
	CK_RV rv;

	CU_ASSERT_NOT_EQUAL_FATAL(k->cache[i].copy, CK_INVALID_HANDLE);
	CU_ASSERT_NOT_EQUAL(k->cache[i].copy, k->cache[i].handle);
	CU_ASSERT_EQUAL_FATAL(hsm_session_open(h, false, &s, &rv), 0);
	CU_ASSERT_EQUAL(h->fn->C_GetAttributeValue(s, k->cache[i].copy, a, 3), CKR_OK);
	CU_ASSERT_EQUAL(token, CK_FALSE);
	CU_ASSERT_EQUAL(sensitive, CK_TRUE);
	CU_ASSERT_EQUAL(extractable, CK_FALSE);
	CU_ASSERT_EQUAL(h->fn->C_GetAttributeValue(s, k->cache[i].copy, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
	hsm_session_close(h, s);
}

/* Every copy k has is safe; there is at least one. */
static void
check_copies(struct hsm *h, struct hsm_key *k)
{
	size_t i, n = 0;

	for (i = 0; i < k->n_cache; i++) {
		if (k->cache[i].copy == CK_INVALID_HANDLE)
			continue;
		check_copy_slot(h, k, i);
		n++;
	}
	CU_ASSERT_TRUE(n > 0);
}

static void
test_session_keys_sign(void)
{
	static const struct {
		const char *uri, *label;
		enum hsm_mech mech;
		enum hsm_hash hash;
	} cases[] = {
		{ "pkcs11:object=test-p256", "test-p256", HSM_MECH_ECDSA, HSM_HASH_SHA256 },
		{ "pkcs11:object=test-ed25519", "test-ed25519", HSM_MECH_EDDSA, HSM_HASH_SHA512 },
		{ "pkcs11:object=test-rsa2048", "test-rsa2048", HSM_MECH_RSA_PSS, HSM_HASH_SHA256 },
		{ "pkcs11:object=test-rsa2048", "test-rsa2048", HSM_MECH_RSA_PKCS, HSM_HASH_SHA384 },
	};
	struct hsm_config cfg = test_config(fx.pin_file, 2);
	struct hsm *h = NULL;
	struct hsm_key *k = NULL, *again = NULL;
	int listed = 0;
	size_t i;
	int rc;

	rc = hsm_open(&cfg, &h);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	hsm_session_keys_set(h, true);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = hsm_key_find(h, cases[i].uri, false, &k);
		show(rc);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_TRUE(k->copies);
		CU_ASSERT_EQUAL(count_keys(h, cases[i].label, CK_FALSE), 0);	/* made on first use */
		rc = sign_verify(k, cases[i].mech, cases[i].hash);
		show(rc);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(sign_verify(k, cases[i].mech, cases[i].hash), 0);
		/* One copy on the session used, none on the token; lookups still see exactly one key. */
		CU_ASSERT_EQUAL(count_keys(h, cases[i].label, CK_FALSE), 1);
		CU_ASSERT_EQUAL(count_keys(h, cases[i].label, CK_TRUE), 1);
		check_copies(h, k);
		CU_ASSERT_EQUAL(hsm_key_find(h, cases[i].uri, false, &again), 0);
		hsm_key_free(again);
		again = NULL;
		/* Freeing the key destroys its copies. */
		hsm_key_free(k);
		k = NULL;
		CU_ASSERT_EQUAL(count_keys(h, cases[i].label, CK_FALSE), 0);
	}
	/* The listing shows token keys only. */
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, "pkcs11:object=test-p256", false, &k), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(hsm_list_keys(h, count_listed_p256, &listed), 0);
	CU_ASSERT_EQUAL(listed, 1);
	hsm_key_free(k);
	hsm_close(h);
	/* Off (the default): no copies. */
	CU_ASSERT_FALSE(test_key(HSM_KEY_P256)->copies);
}

static void
test_session_keys_not_copyable(void)
{
	static const uint8_t id[] = { 0xc0 };
	struct hsm_config cfg = test_config(fx.pin_file, 2);
	struct hsm *h = NULL;
	struct hsm_key *k = NULL;
	struct hsm_session *s;
	CK_OBJECT_HANDLE token_key, copy;
	CK_RV rv;
	int rc;

	raw_keygen_copyable("not-copyable", id, sizeof(id), CK_TRUE, CK_FALSE, CK_FALSE);
	CU_ASSERT_EQUAL_FATAL(hsm_open(&cfg, &h), 0);
	hsm_session_keys_set(h, true);
	rc = hsm_key_find(h, "pkcs11:object=not-copyable", false, &k);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_FALSE(k->copies);
	CU_ASSERT_TRUE(atomic_load(&k->copy_logged));
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(count_keys(h, "not-copyable", CK_FALSE), 0);
	CU_ASSERT_EQUAL(k->cache[0].copy, CK_INVALID_HANDLE);
	CU_ASSERT_EQUAL(k->cache[1].copy, CK_INVALID_HANDLE);
	hsm_key_free(k);
	k = NULL;
	/* An unsafe key found for a listing never gets copies either. */
	CU_ASSERT_EQUAL(hsm_key_find(h, "pkcs11:object=not-sensitive", true, &k), 0);
	CU_ASSERT_FALSE(k->copies);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_EQUAL(count_keys(h, "not-sensitive", CK_FALSE), 0);
	/* Forced through: a copy that is not sensitive is destroyed at once and copies stop for the key. */
	CU_ASSERT_TRUE_FATAL(hsm_admit_now(h));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s = hsm_pool_try_slot(h->pool, 0));
	CU_ASSERT_EQUAL(hsm_key_handle(k, s, false, &token_key, &rv), 0);
	CU_ASSERT_EQUAL(hsm_key_copy_make(k, s, token_key, &copy, &rv), 0);
	CU_ASSERT_EQUAL(copy, CK_INVALID_HANDLE);
	CU_ASSERT_TRUE(atomic_load(&k->copy_off));
	CU_ASSERT_TRUE(atomic_load(&k->copy_logged));
	hsm_pool_put(h->pool, s, false);
	hsm_release(h, false);
	CU_ASSERT_EQUAL(count_keys(h, "not-sensitive", CK_FALSE), 0);
	hsm_key_free(k);
	hsm_close(h);
}

/* Sessions lost behind the pool: the copies die with them and are made again on new sessions. */
static void
test_session_keys_sessions_lost(void)
{
	struct hsm_config cfg = test_config(fx.pin_file, 1);
	struct hsm *h = NULL;
	struct hsm_key *k = NULL;
	struct hsm_session *s;
	CK_SESSION_HANDLE handle;
	uint64_t epoch;

	CU_ASSERT_EQUAL_FATAL(hsm_open(&cfg, &h), 0);
	hsm_session_keys_set(h, true);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(h, "pkcs11:object=test-p256", false, &k), 0);
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	check_copy_slot(h, k, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s = hsm_pool_try_slot(h->pool, 0));
	epoch = s->epoch;
	handle = s->handle;
	hsm_pool_put(h->pool, s, false);
	CU_ASSERT_EQUAL_FATAL(h->fn->C_CloseSession(handle), CKR_OK);
	CU_ASSERT_EQUAL(count_keys(h, "test-p256", CK_FALSE), 0);	/* gone with its session */
	CU_ASSERT_EQUAL(sign_verify(k, HSM_MECH_ECDSA, HSM_HASH_SHA256), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s = hsm_pool_try_slot(h->pool, 0));
	CU_ASSERT_NOT_EQUAL(s->epoch, epoch);
	CU_ASSERT_EQUAL(k->cache[0].epoch, s->epoch);
	hsm_pool_put(h->pool, s, false);
	check_copy_slot(h, k, 0);
	CU_ASSERT_EQUAL(count_keys(h, "test-p256", CK_FALSE), 1);
	hsm_key_free(k);
	hsm_close(h);
}

static void
test_close(void)
{
	size_t i;

	for (i = 0; i < sizeof(g_keys) / sizeof(g_keys[0]); i++) {
		hsm_key_free(g_keys[i]);
		g_keys[i] = NULL;
	}
	hsm_close(g_hsm);
	g_hsm = NULL;
	hsm_close(NULL);
	hsm_key_free(NULL);
	CU_ASSERT_EQUAL(hsm_health(NULL), SD_E_HSM_UNAVAILABLE);
}

int
main(void)
{
	static const struct sd_test_case open[] = {
		{ "SoftHSM fixture and hsm_token_init", test_fixture },
		{ "hsm_token_init refuses an existing label", test_token_init_twice },
		{ "wrong PIN: SD_E_PIN, token marks one failure", test_open_wrong_pin },
		{ "PIN file readable by others refused", test_open_pin_mode },
		{ "hsm_open and hsm_health", test_open },
		{ "bad token URI, module, pool size", test_open_bad_token },
	};
	static const struct sd_test_case keygen[] = {
		{ "rsa2048", test_keygen_rsa2048 },
		{ "rsa3072", test_keygen_rsa3072 },
		{ "p256", test_keygen_p256 },
		{ "p384", test_keygen_p384 },
		{ "p521", test_keygen_p521 },
		{ "ed25519", test_keygen_ed25519 },
		{ "duplicate label refused", test_keygen_duplicate },
		{ "explicit id", test_keygen_with_id },
		{ "bad key URIs", test_keygen_bad_uri },
		{ "key type names", test_key_type_names },
	};
	static const struct sd_test_case find[] = {
		{ "not found", test_find_not_found },
		{ "extractable or non-sensitive key refused", test_find_unsafe },
		{ "ambiguous label", test_find_ambiguous },
	};
	static const struct sd_test_case sign[] = {
		{ "RSA PKCS#1 v1.5", test_sign_rsa_pkcs },
		{ "RSA-PSS", test_sign_rsa_pss },
		{ "ECDSA", test_sign_ecdsa },
		{ "Ed25519", test_sign_eddsa },
		{ "mechanism and input misuse", test_sign_misuse },
		{ "recovery after every session is lost", test_sign_after_sessions_lost },
		{ "4 threads x 200 signatures, pool of 2", test_sign_concurrent },
		{ "session keys: copies sign, are session objects, sensitive, freed", test_session_keys_sign },
		{ "session keys: CKA_COPYABLE false, unsafe keys and unsafe copies: token key", test_session_keys_not_copyable },
		{ "session keys: made again after the session is lost", test_session_keys_sessions_lost },
		{ "4 threads x 200 signatures, pool of 2, session keys", test_sign_concurrent_copies },
		{ "close", test_close },
	};
	int rc;

	rc = sd_test_softhsm_new(TOKEN_LABEL, &fx);
	fx_ok = rc == 0;
	SD_TEST_SUITE("hsm_open", open);
	SD_TEST_SUITE("hsm_keygen", keygen);
	SD_TEST_SUITE("hsm_key_find", find);
	SD_TEST_SUITE("hsm_sign", sign);
	rc = sd_test_run("test_hsm");
	sd_test_softhsm_free(&fx);
	return rc;
}
