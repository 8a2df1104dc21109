/*
 * CRLs signed in a real SoftHSM token (signer/x509/crl.h): for each key
 * type, a root made by the ceremony code signs a CRL; OpenSSL parses it,
 * checks every field, verifies the signature and, with CRL checking on,
 * rejects the revoked one of two sub-CAs and accepts the other. Bad
 * parameters are refused before the HSM is asked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "hsm.h"
#include "sd_test.h"
#include "hsm_ca_fixture.h"
#include "softhsm_fixture.h"
#include "x509/crl.h"
#include "x509/x509_sigalg.h"

static struct sd_test_softhsm fx;
static struct hsm *g_hsm;

static void
test_setup(void)
{
	g_hsm = hsm_ca_open("crl-test", &fx);
}

/* serial of x as big-endian bytes into e. */
static void
entry_of(X509 *x, uint8_t reason, int64_t at, struct crl_entry *e)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bn);
	n = BN_bn2bin(bn, e->serial);
	CU_ASSERT_FATAL(n > 0 && n <= CRL_SERIAL_MAX);
	e->serial_len = (size_t)n;
	e->reason = reason;
	e->revoked_at = at;
	BN_free(bn);
}

static X509_CRL *
parse_crl(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(crl);
	CU_ASSERT(p == der + len);
	return crl;
}

/* X509_verify_cert() of leaf under root with crl: the error code (X509_V_OK when it verifies). */
static int
verify_with_crl(X509 *root, X509 *leaf, X509_CRL *crl)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int err;

	CU_ASSERT_FATAL(store != NULL && ctx != NULL);
	CU_ASSERT_FATAL(X509_STORE_add_cert(store, root) == 1 && X509_STORE_add_crl(store, crl) == 1);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	CU_ASSERT_FATAL(X509_STORE_CTX_init(ctx, store, leaf, NULL) == 1);
	err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

/* The reasonCode of entry r, or -1 when it has none. */
static long
entry_reason(X509_REVOKED *r)
{
	ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	long v = e != NULL ? ASN1_ENUMERATED_get(e) : -1;

	ASN1_ENUMERATED_free(e);
	return v;
}

static uint64_t
crl_ext_u64(X509_CRL *crl, int nid, int *crit)
{
	ASN1_INTEGER *i = X509_CRL_get_ext_d2i(crl, nid, crit, NULL);
	uint64_t v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(i);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get_uint64(&v, i), 1);
	ASN1_INTEGER_free(i);
	return v;
}

/* A root of type (and scheme) signs a CRL revoking one of two sub-CAs; OpenSSL checks all of it. */
static void
crl_for(enum hsm_key_type type, bool pss, const char *label)
{
	char name[64], *root_pem = NULL;
	struct hsm_key *rk, *ak, *bk;
	const struct x509_sigalg *alg = NULL;
	struct crl_entry entries[3];
	struct crl_params p;
	X509 *root, *a, *b;
	X509_CRL *crl;
	EVP_PKEY *pub;
	STACK_OF(X509_REVOKED) *revoked;
	AUTHORITY_KEYID *akid;
	uint8_t *der = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	int crit = -1;

	(void)snprintf(name, sizeof(name), "%s-root", label);
	rk = hsm_ca_key(g_hsm, name, type);
	(void)snprintf(name, sizeof(name), "%s-a", label);
	ak = hsm_ca_key(g_hsm, name, HSM_KEY_P256);
	(void)snprintf(name, sizeof(name), "%s-b", label);
	bk = hsm_ca_key(g_hsm, name, HSM_KEY_P256);
	root = hsm_ca_make(rk, label, NULL, NULL, &root_pem);
	a = hsm_ca_make(ak, "sub A", rk, root_pem, NULL);
	b = hsm_ca_make(bk, "sub B", rk, root_pem, NULL);
	pub = X509_get0_pubkey(root);
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for_scheme(type, pss, &alg), 0);

	/* Given out of order: a made-up serial above A's, then A (keyCompromise), then one unspecified. */
	memset(entries, 0, sizeof(entries));
	memset(entries[0].serial, 0xff, 20);
	entries[0].serial[0] = 0x7f;
	entries[0].serial_len = 20;
	entries[0].reason = CRL_ENTRY_NO_REASON;
	entries[0].revoked_at = (int64_t)now - 60;
	entry_of(a, 1, (int64_t)now - 30, &entries[1]);
	entries[2].serial[0] = 0x01;
	entries[2].serial_len = 1;
	entries[2].reason = 0;
	entries[2].revoked_at = (int64_t)now - 90;
	p = (struct crl_params){ .issuer = root, .number = 42, .this_update = (int64_t)now,
	    .next_update = (int64_t)now + 86400, .entries = entries, .n_entries = 3 };
	CU_ASSERT_EQUAL_FATAL(crl_sign(rk, alg, &p, pub, &der, &len), 0);
	crl = parse_crl(der, len);
	CU_ASSERT_EQUAL(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	CU_ASSERT_EQUAL(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(root)), 0);
	CU_ASSERT_EQUAL(X509_CRL_verify(crl, pub), 1);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl), now), 0);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl), now + 86400), 0);
	CU_ASSERT_EQUAL(crl_ext_u64(crl, NID_crl_number, &crit), 42);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1), -1);
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	CU_ASSERT_FATAL(akid != NULL && akid->keyid != NULL);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(root)), 0);
	AUTHORITY_KEYID_free(akid);
	/* In serial order: 0x01, A's (17 bytes), the 20-byte one; reasons as asked, unspecified left out. */
	revoked = X509_CRL_get_REVOKED(crl);
	CU_ASSERT_EQUAL_FATAL(sk_X509_REVOKED_num(revoked), 3);
	CU_ASSERT_EQUAL(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, 0))), 1);
	CU_ASSERT_EQUAL(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, 1)),
	    X509_get0_serialNumber(a)), 0);
	CU_ASSERT_EQUAL(entry_reason(sk_X509_REVOKED_value(revoked, 0)), -1);
	CU_ASSERT_EQUAL(entry_reason(sk_X509_REVOKED_value(revoked, 1)), 1);
	CU_ASSERT_EQUAL(entry_reason(sk_X509_REVOKED_value(revoked, 2)), -1);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(revoked, 1)),
	    now - 30), 0);
	/* What relying parties do with it: A is revoked, B is not. */
	CU_ASSERT_EQUAL(verify_with_crl(root, a, crl), X509_V_ERR_CERT_REVOKED);
	CU_ASSERT_EQUAL(verify_with_crl(root, b, crl), X509_V_OK);
	X509_CRL_free(crl);
	free(der);

	/* A delta over CRL 42, and an empty complete CRL: B and A both verify then. */
	p = (struct crl_params){ .issuer = root, .number = 43, .this_update = (int64_t)now,
	    .next_update = (int64_t)now + 3600, .entries = entries + 1, .n_entries = 1, .delta = true, .base_number = 42 };
	CU_ASSERT_EQUAL_FATAL(crl_sign(rk, alg, &p, pub, &der, &len), 0);
	crl = parse_crl(der, len);
	CU_ASSERT_EQUAL(crl_ext_u64(crl, NID_delta_crl, &crit), 42);
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(crl_ext_u64(crl, NID_crl_number, &crit), 43);
	X509_CRL_free(crl);
	free(der);
	p = (struct crl_params){ .issuer = root, .number = 44, .this_update = (int64_t)now,
	    .next_update = (int64_t)now + 3600, .freshest_url = "http://crl.example.com/delta.crl" };
	CU_ASSERT_EQUAL_FATAL(crl_sign(rk, NULL, &p, pub, &der, &len), 0);
	crl = parse_crl(der, len);
	CU_ASSERT_PTR_NULL(X509_CRL_get_REVOKED(crl));
	CU_ASSERT_EQUAL(verify_with_crl(root, a, crl), X509_V_OK);
	/* freshestCRL: where the deltas are, one fullName URI, not critical. */
	{
		CRL_DIST_POINTS *fresh = X509_CRL_get_ext_d2i(crl, NID_freshest_crl, &crit, NULL);
		const GENERAL_NAME *gn;

		CU_ASSERT_FATAL(fresh != NULL && sk_DIST_POINT_num(fresh) == 1);
		CU_ASSERT_EQUAL(crit, 0);
		gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(fresh, 0)->distpoint->name.fullname, 0);
		CU_ASSERT(gn != NULL && gn->type == GEN_URI &&
		    strcmp((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		    "http://crl.example.com/delta.crl") == 0);
		CRL_DIST_POINTS_free(fresh);
	}
	X509_CRL_free(crl);
	free(der);
	X509_free(a);
	X509_free(b);
	X509_free(root);
	free(root_pem);
	hsm_key_free(bk);
	hsm_key_free(ak);
	hsm_key_free(rk);
}

static void
test_crl_p256(void)
{
	crl_for(HSM_KEY_P256, false, "p256");
}

static void
test_crl_p384(void)
{
	crl_for(HSM_KEY_P384, false, "p384");
}

static void
test_crl_rsa(void)
{
	crl_for(HSM_KEY_RSA2048, false, "rsa");
}

static void
test_crl_rsa_pss(void)
{
	crl_for(HSM_KEY_RSA2048, true, "rsapss");
}

static void
test_crl_ed25519(void)
{
	crl_for(HSM_KEY_ED25519, false, "ed25519");
}

/* crl_sign() of p with its first entry replaced by e (serial length and reason set) is refused, naming needle. */
static void
refuse_entry(struct hsm_key *k, const struct crl_params *p, EVP_PKEY *pub, struct crl_entry e, size_t serial_len,
    uint8_t reason, const char *needle)
{
	struct crl_params q = *p;
	uint8_t *der = NULL;
	size_t len = 0;

	e.serial_len = serial_len;
	e.reason = reason;
	q.entries = &e;
	q.n_entries = 1;
	CU_ASSERT_EQUAL(crl_sign(k, NULL, &q, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(der);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), needle) != NULL);
}

/* Every bad parameter is refused with a precise error, before the HSM signs. */
static void
test_crl_refusals(void)
{
	struct hsm_key *rk = hsm_ca_key(g_hsm, "refusals-root", HSM_KEY_P256);
	X509 *root = hsm_ca_make(rk, "refusals", NULL, NULL, NULL), *bare = X509_new();
	EVP_PKEY *pub = X509_get0_pubkey(root);
	const struct x509_sigalg *rsa = NULL;
	struct crl_entry e[1];
	struct crl_params p;
	uint8_t *der = NULL;
	size_t len = 0;
	time_t now = time(NULL);
	static const uint8_t bad_reasons[] = { 7, 11, 254 };
	size_t i;

	memset(e, 0, sizeof(e));
	e[0].serial[0] = 5;
	e[0].serial_len = 1;
	e[0].reason = 1;
	p = (struct crl_params){ .issuer = root, .number = 1, .this_update = (int64_t)now, .next_update = (int64_t)now + 60,
	    .entries = e, .n_entries = 1 };
	for (i = 0; i < sizeof(bad_reasons); i++)
		refuse_entry(rk, &p, pub, e[0], 1, bad_reasons[i], "reason code");
	refuse_entry(rk, &p, pub, e[0], 0, 1, "a serial of 0 bytes");
	refuse_entry(rk, &p, pub, e[0], 21, 1, "a serial of 21 bytes");
	/* The same serial twice, once with a leading zero byte. */
	{
		struct crl_entry dup[2] = { e[0], e[0] };
		struct crl_params q = p;

		dup[1].serial[0] = 0;
		dup[1].serial[1] = 5;
		dup[1].serial_len = 2;
		q.entries = dup;
		q.n_entries = 2;
		CU_ASSERT_EQUAL(crl_sign(rk, NULL, &q, pub, &der, &len), SD_E_INVAL);
		CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "twice") != NULL);
	}
	p.n_entries = 1;
	p.next_update = p.this_update;
	CU_ASSERT_EQUAL(crl_sign(rk, NULL, &p, pub, &der, &len), SD_E_INVAL);
	p.next_update = p.this_update + 60;
	p.delta = true;
	p.base_number = 1;
	CU_ASSERT_EQUAL(crl_sign(rk, NULL, &p, pub, &der, &len), SD_E_INVAL);
	p.delta = false;
	/* An issuer certificate without a subjectKeyIdentifier: no authorityKeyIdentifier to give. */
	CU_ASSERT_FATAL(bare != NULL && X509_set_subject_name(bare, X509_get_subject_name(root)) == 1);
	p.issuer = bare;
	CU_ASSERT_EQUAL(crl_sign(rk, NULL, &p, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "subjectKeyIdentifier") != NULL);
	p.issuer = root;
	/* An algorithm for another key type. */
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_RSA2048, &rsa), 0);
	CU_ASSERT_EQUAL(crl_sign(rk, rsa, &p, pub, &der, &len), SD_E_INVAL);
	/* A verify key that is not the signer's: the check refuses what was signed. */
	{
		struct hsm_key *ok = hsm_ca_key(g_hsm, "refusals-other", HSM_KEY_P256);
		X509 *other = hsm_ca_make(ok, "other", NULL, NULL, NULL);

		CU_ASSERT_EQUAL(crl_sign(rk, NULL, &p, X509_get0_pubkey(other), &der, &len), SD_E_INTERNAL);
		CU_ASSERT_PTR_NULL(der);
		X509_free(other);
		hsm_key_free(ok);
	}
	CU_ASSERT_EQUAL(crl_sign(rk, NULL, &p, pub, &der, &len), 0);
	free(der);
	X509_free(bare);
	X509_free(root);
	hsm_key_free(rk);
}

static void
test_teardown(void)
{
	hsm_close(g_hsm);
	g_hsm = NULL;
	sd_test_softhsm_free(&fx);
}

int
main(void)
{
	static const struct sd_test_case crl[] = {
		{ "set up a SoftHSM token", test_setup },
		{ "P-256 root: fields, order, reasons, AKI, number, delta; OpenSSL rejects the revoked", test_crl_p256 },
		{ "P-384 root", test_crl_p384 },
		{ "RSA-2048 root (PKCS#1 v1.5)", test_crl_rsa },
		{ "RSA-2048 root (RSASSA-PSS)", test_crl_rsa_pss },
		{ "Ed25519 root", test_crl_ed25519 },
		{ "bad reasons, serials, times, delta base, issuer and algorithm are refused", test_crl_refusals },
		{ "tear down", test_teardown },
	};

	SD_TEST_SUITE("crl", crl);
	return sd_test_run("test_crl");
}
