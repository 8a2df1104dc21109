/*
 * What the CA signs: TBSCertificate building (serials, validity encodings,
 * refusals) and the extensions, signed with OpenSSL software keys standing in
 * for the HSM and read back by OpenSSL. Signing and assembly are in
 * test_x509_cert.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/der.h"
#include "config.h"
#include "sd_test.h"
#include "x509/x509_cert.h"
#include "x509/x509_ext.h"
#include "x509/x509_sigalg.h"
#include "x509/x509_tbs.h"
#include "x509_fixture.h"

/* ---- TBS building, signed with software keys ---- */

/* Everything we put in must come out of OpenSSL's parse. */
static void
test_check_contents(X509 *x, enum hsm_key_type ca_type, const struct test_built *b, bool empty_subject,
    time_t not_before, time_t not_after)
{
	BIGNUM *want = BN_bin2bn(b->serial, sizeof(b->serial), NULL), *got = NULL;
	GENERAL_NAMES *sans = NULL;
	GENERAL_NAME *gn;
	const ASN1_OCTET_STRING *ski;
	const ASN1_OCTET_STRING *akid;
	X509_EXTENSION *ext;
	int crit = -1, idx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	CU_ASSERT_EQUAL(X509_get_version(x), X509_VERSION_3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	got = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL(BN_cmp(want, got), 0);
	CU_ASSERT_EQUAL(ASN1_STRING_length(X509_get0_serialNumber(x)), X509_SERIAL_LEN);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), not_before), 0);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), not_after), 0);
	CU_ASSERT_EQUAL(X509_get_signature_nid(x), test_sig_nid(ca_type));
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), empty_subject ? 0 : 2);
	CU_ASSERT_EQUAL(X509_check_ca(x), 0);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	CU_ASSERT_EQUAL(X509_get_extension_flags(x) & EXFLAG_INVALID, 0);
	CU_ASSERT_EQUAL(X509_get_ext_count(x), 6);

	/* basicConstraints critical, encoded as an empty SEQUENCE (cA FALSE is the default). */
	idx = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
	CU_ASSERT_FATAL(idx >= 0);
	ext = X509_get_ext(x, idx);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 1);
	CU_ASSERT_EQUAL(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 2);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), "\x30\x00", 2), 0);
	/* keyUsage critical: 03 02 07 80 (digitalSignature only, 7 unused bits). */
	ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1));
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 1);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), "\x03\x02\x07\x80", 4), 0);
	ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_ext_key_usage, -1));
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 0);

	/* SKI: RFC 5280 method 1, which is what X509_pubkey_digest() computes. */
	ski = X509_get0_subject_key_id(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ski);
	CU_ASSERT_EQUAL(X509_pubkey_digest(x, EVP_sha1(), md, &md_len), 1);
	CU_ASSERT_EQUAL(md_len, X509_KEYID_LEN);
	CU_ASSERT_EQUAL(ASN1_STRING_length(ski), X509_KEYID_LEN);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(ski), md, md_len), 0);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(ski), b->ski, X509_KEYID_LEN), 0);
	akid = X509_get0_authority_key_id(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(akid);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(akid), b->aki, X509_KEYID_LEN), 0);
	CU_ASSERT_PTR_NULL(X509_get0_authority_issuer(x));

	sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sans);
	CU_ASSERT_EQUAL(crit, empty_subject ? 1 : 0);
	CU_ASSERT_EQUAL_FATAL(sk_GENERAL_NAME_num(sans), 2);
	gn = sk_GENERAL_NAME_value(sans, 0);
	CU_ASSERT_EQUAL(gn->type, GEN_DNS);
	CU_ASSERT_EQUAL(ASN1_STRING_length(gn->d.dNSName), 15);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(gn->d.dNSName), "www.example.com", 15), 0);
	gn = sk_GENERAL_NAME_value(sans, 1);
	CU_ASSERT_EQUAL(gn->type, GEN_IPADD);
	CU_ASSERT_EQUAL(ASN1_STRING_length(gn->d.iPAddress), 4);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(gn->d.iPAddress), "\x0a\x00\x00\x01", 4), 0);
	GENERAL_NAMES_free(sans);
	BN_free(want);
	BN_free(got);
}

static void
test_tbs_each_key_type(void)
{
	static const enum hsm_key_type types[] = {
		HSM_KEY_P256, HSM_KEY_P384, HSM_KEY_P521, HSM_KEY_RSA2048, HSM_KEY_ED25519,
	};
	struct test_built b;
	uint8_t *der = NULL;
	size_t i, len = 0;
	X509 *x = NULL;
	int empty;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		for (empty = 0; empty < 2; empty++) {
			memset(&b, 0, sizeof(b));
			test_build_tbs(types[i], empty, NOW - 60, NOW + 86400, &b);
			test_sign_software(types[i], b.tbs, b.tbs_len, &der, &len);
			CU_ASSERT_EQUAL_FATAL(x509_cert_check(der, len, b.tbs, b.tbs_len, key_of(types[i]), &x), 0);
			CU_ASSERT_EQUAL(X509_verify(x, key_of(types[i])), 1);
			test_check_contents(x, types[i], &b, empty, NOW - 60, NOW + 86400);
			X509_free(x);
			x = NULL;
			free(der);
			der = NULL;
			free(b.tbs);
		}
	}
}

static void
test_tbs_time_encoding(void)
{
	const time_t y2049 = 2524607999, y2050 = 2524608000;	/* 2049-12-31T23:59:59Z, 2050-01-01T00:00:00Z */
	struct test_built b;
	uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;

	memset(&b, 0, sizeof(b));
	test_build_tbs(HSM_KEY_P256, false, y2049, y2050, &b);
	test_sign_software(HSM_KEY_P256, b.tbs, b.tbs_len, &der, &len);
	CU_ASSERT_EQUAL_FATAL(x509_cert_check(der, len, b.tbs, b.tbs_len, key_of(HSM_KEY_P256), &x), 0);
	CU_ASSERT_EQUAL(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
	CU_ASSERT_EQUAL(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), y2050), 0);
	X509_free(x);
	free(der);
	free(b.tbs);
}

static void
test_tbs_refusals(void)
{
	const struct x509_sigalg *alg;
	X509_NAME *subject = X509_NAME_new();
	uint8_t serial[21], *issuer, *spki, *tbs = NULL;
	size_t issuer_len, spki_len, tbs_len = 0;
	struct x509_tbs_template t;
	X509 *x = NULL;
	uint8_t *cert = NULL;
	size_t cert_len = 0;

	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_P256, &alg), 0);
	issuer = test_name_der("Test CA", &issuer_len);
	spki = test_spki(key_of(HSM_KEY_P256), &spki_len);
	memset(serial, 0x7f, sizeof(serial));
	t = (struct x509_tbs_template){
		.serial = serial, .serial_len = 20,
		.algid = alg->algid, .algid_len = alg->algid_len,
		.issuer = issuer, .issuer_len = issuer_len,
		.not_before = NOW, .not_after = NOW + 1,
		.subject = subject, .spki = spki, .spki_len = spki_len, .exts = NULL,
	};
	/* 20 octets, top bit clear: the largest serial allowed; no extensions: no [3]. */
	CU_ASSERT_EQUAL_FATAL(x509_tbs_build(&t, &tbs, &tbs_len), 0);
	test_sign_software(HSM_KEY_P256, tbs, tbs_len, &cert, &cert_len);
	CU_ASSERT_EQUAL(x509_cert_check(cert, cert_len, tbs, tbs_len, key_of(HSM_KEY_P256), &x), 0);
	CU_ASSERT_EQUAL(X509_get_ext_count(x), 0);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	X509_free(x);
	free(cert);
	free(tbs);
	tbs = NULL;

	t.serial_len = 21;
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(tbs);
	serial[0] = 0x80;	/* 20 octets of magnitude, 21 of INTEGER */
	t.serial_len = 20;
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	memset(serial, 0, sizeof(serial));
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	t.serial_len = 0;
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	serial[0] = 1;
	t.serial_len = 1;
	t.not_after = t.not_before;
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	t.not_after = NOW + 1;
	t.spki = NULL;
	CU_ASSERT_EQUAL(x509_tbs_build(&t, &tbs, &tbs_len), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(tbs);

	X509_NAME_free(subject);
	OPENSSL_free(issuer);
	OPENSSL_free(spki);
}

static void
test_serial_random(void)
{
	uint8_t a[X509_SERIAL_LEN], b[X509_SERIAL_LEN];
	int i;

	for (i = 0; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(x509_tbs_serial_random(a), 0);
		CU_ASSERT(a[0] != 0 && a[0] < 0x80);
	}
	CU_ASSERT_EQUAL(x509_tbs_serial_random(b), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
}

/* ---- extensions ---- */

static void
test_ext_refusals(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	struct x509_san san;
	uint8_t id[X509_KEYID_LEN] = { 1 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	CU_ASSERT_EQUAL(x509_ext_add_key_usage(exts, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_key_usage(exts, 1u << 20), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_ext_key_usage(exts, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_ski(exts, id, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_aki(exts, NULL, 20), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_san(exts, NULL, 0, false), SD_E_INVAL);
	memset(&san, 0, sizeof(san));
	san.type = X509_SAN_IP;
	san.ip_len = 5;
	CU_ASSERT_EQUAL(x509_ext_add_san(exts, &san, 1, false), SD_E_INVAL);
	san.type = X509_SAN_DNS;
	memcpy(san.name, "a\0b", 3);
	san.name_len = 3;
	CU_ASSERT_EQUAL(x509_ext_add_san(exts, &san, 1, false), SD_E_INVAL);
	CU_ASSERT_EQUAL(sk_X509_EXTENSION_num(exts), 0);
	CU_ASSERT_EQUAL(x509_ext_key_id((const uint8_t *)"\x30\x00", 2, id), SD_E_INVAL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static void
test_ext_ca(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	BASIC_CONSTRAINTS *bc;
	X509_EXTENSION *ext;

	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_basic_constraints(exts, true, 0), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_basic_constraints(exts, true, -1), 0);
	CU_ASSERT_EQUAL_FATAL(x509_ext_add_key_usage(exts, CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN), 0);
	ext = sk_X509_EXTENSION_value(exts, 0);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 1);
	/* 30 06 01 01 ff 02 01 00 */
	CU_ASSERT_EQUAL(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 8);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)),
	    "\x30\x06\x01\x01\xff\x02\x01\x00", 8), 0);
	bc = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, 1));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
	CU_ASSERT(bc->ca != 0);
	CU_ASSERT_PTR_NULL(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	/* keyCertSign (5) and cRLSign (6): 03 02 01 06. */
	ext = sk_X509_EXTENSION_value(exts, 2);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), "\x03\x02\x01\x06", 4), 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* ---- SPKI split ---- */

/* SHA-1 of the subjectPublicKey the OpenSSL way: decode the SPKI, take its key bits. */
static void
test_keyid_openssl(const uint8_t *spki, size_t len, uint8_t out[X509_KEYID_LEN])
{
	const unsigned char *p = spki, *key = NULL;
	X509_PUBKEY *pub = d2i_X509_PUBKEY(NULL, &p, (long)len);
	int key_len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_EQUAL_FATAL(X509_PUBKEY_get0_param(NULL, &key, &key_len, NULL, pub), 1);
	CU_ASSERT_EQUAL_FATAL(EVP_Digest(key, (size_t)key_len, out, NULL, EVP_sha1(), NULL), 1);
	X509_PUBKEY_free(pub);
}

static void
test_key_id_without_decoding(void)
{
	static const enum hsm_key_type types[] = { HSM_KEY_RSA2048, HSM_KEY_P256, HSM_KEY_P384, HSM_KEY_P521,
		HSM_KEY_ED25519 };
	uint8_t got[X509_KEYID_LEN], want[X509_KEYID_LEN], *spki, *copy;
	const uint8_t *key;
	struct der_tlv algid;
	size_t i, len, key_len;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		spki = test_spki(key_of(types[i]), &len);
		CU_ASSERT_EQUAL(x509_ext_key_id(spki, len, got), 0);
		test_keyid_openssl(spki, len, want);
		CU_ASSERT_EQUAL(memcmp(got, want, sizeof(got)), 0);
		CU_ASSERT_EQUAL(x509_spki_split(spki, len, &algid, &key, &key_len), 0);
		CU_ASSERT(algid.tlv == spki + 2 || algid.tlv == spki + 3 || algid.tlv == spki + 4);
		CU_ASSERT(key + key_len == spki + len);
		/* Trailing byte, truncation, unused bits in the key's BIT STRING. */
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy = malloc(len + 1));
		memcpy(copy, spki, len);
		copy[len] = 0;
		CU_ASSERT_EQUAL(x509_ext_key_id(copy, len + 1, got), SD_E_INVAL);
		CU_ASSERT_EQUAL(x509_ext_key_id(copy, len - 1, got), SD_E_INVAL);
		copy[key - spki - 1] = 1;
		CU_ASSERT_EQUAL(x509_ext_key_id(copy, len, got), SD_E_INVAL);
		free(copy);
		OPENSSL_free(spki);
	}
	/* An AlgorithmIdentifier without an OID; a BIT STRING with only the unused-bits octet. */
	CU_ASSERT_EQUAL(x509_ext_key_id((const uint8_t *)"\x30\x07\x30\x02\x05\x00\x03\x01\x00", 9, got), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_key_id((const uint8_t *)"\x30\x08\x30\x03\x06\x01\x2a\x03\x01\x00", 10, got),
	    SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_key_id((const uint8_t *)"\x30\x09\x30\x03\x06\x01\x2a\x03\x02\x00\x07", 11, got), 0);
}

int
main(void)
{
	static const struct sd_test_case tbs_cases[] = {
		{ "TBS signed by each key type verifies with expected contents", test_tbs_each_key_type },
		{ "UTCTime before 2050, GeneralizedTime from 2050", test_tbs_time_encoding },
		{ "refusals and 20-octet serial", test_tbs_refusals },
		{ "random serials", test_serial_random },
	};
	static const struct sd_test_case ext_cases[] = {
		{ "refusals", test_ext_refusals },
		{ "CA basicConstraints and keyUsage encodings", test_ext_ca },
		{ "key identifier from the SPKI bytes equals OpenSSL's", test_key_id_without_decoding },
	};
	int rc;

	SD_TEST_SUITE("x509_tbs", tbs_cases);
	SD_TEST_SUITE("x509_ext", ext_cases);
	rc = sd_test_run("test_x509_tbs");
	x509_fixture_free_keys();
	return rc;
}
