/*
 * Pre-issuance lints (signer/policy/lint.c) on TBSCertificates built here with the
 * issuance core's own builders: one good leaf and one good CA, then each rule
 * broken on purpose and refused by name. Also the extension builders the
 * lints read (name constraints, CRL distribution point, AIA).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "policy/lint.h"
#include "sd_test.h"
#include "x509/x509_ext.h"
#include "x509/x509_tbs.h"

#define NOW ((time_t)1900000000)	/* 2030 */
#define CA_NOT_AFTER (NOW + 400 * 86400)

static const uint8_t ca_keyid[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
/* ecdsa-with-SHA256 */
static const uint8_t algid[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static EVP_PKEY *k_p256, *k_rsa, *k_ed;

/* What to build; tb_leaf() and tb_ca() give the good ones. */
struct tb {
	EVP_PKEY *key;
	EVP_PKEY *ski_key;		/* key the SKI is computed from */
	bool bc, bc_ca;
	int path_len;
	unsigned ku;
	unsigned eku;
	bool ski, aki, dup_ski;
	bool san, san_crit;
	const char *san_dns;		/* the SAN's DNS name (default a.example.com) */
	const char *cn, *o;
	bool nc, crl_crit, unknown_ext;
	size_t serial_len;
	time_t nb, na;
	uint8_t aki_byte;
};

static struct config_profile leaf_profile, ca_profile;

static void
profiles_init(void)
{
	static char leaf_name[] = "leaf", ca_name[] = "sub";

	memset(&leaf_profile, 0, sizeof(leaf_profile));
	leaf_profile.name = leaf_name;
	leaf_profile.max_ttl = 86400;
	leaf_profile.backdate = 60;
	leaf_profile.key_types = CONFIG_KEY_ALL;
	leaf_profile.path_len = -1;
	ca_profile = leaf_profile;
	ca_profile.name = ca_name;
	ca_profile.ca = true;
	ca_profile.path_len = 0;
	ca_profile.max_ttl = 365 * 86400;
}

static struct tb
tb_leaf(void)
{
	return (struct tb){ .key = k_p256, .bc = true, .path_len = -1, .ku = CONFIG_KU_DIGITAL_SIGNATURE,
		.eku = CONFIG_EKU_SERVER_AUTH, .ski = true, .aki = true, .san = true, .cn = "a.example.com",
		.serial_len = X509_SERIAL_LEN, .nb = NOW - 60, .na = NOW + 3600, .aki_byte = 1 };
}

static struct tb
tb_ca(void)
{
	return (struct tb){ .key = k_p256, .bc = true, .bc_ca = true, .path_len = 0,
		.ku = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN, .ski = true, .aki = true, .o = "Example", .cn = "Sub CA",
		.nc = true, .serial_len = X509_SERIAL_LEN, .nb = NOW - 60, .na = NOW + 30 * 86400, .aki_byte = 1 };
}

static uint8_t *
spki_of(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	return der;
}

/* Build the TBS described by b (aborting the test on builder failures). */
static uint8_t *
build(const struct tb *b, size_t *len)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_NAME *subject = X509_NAME_new();
	struct x509_san san = { .type = X509_SAN_DNS, .name = "a.example.com", .name_len = 13 };
	struct x509_subtree perm = { .type = X509_SAN_DNS, .dns = "example.com" };
	struct x509_subtree excl = { .type = X509_SAN_IP, .ip_len = 4, .prefix = 0 };
	uint8_t serial[X509_SERIAL_MAX + 1], keyid[X509_KEYID_LEN], aki[20], *spki, *ski_spki, *tbs = NULL;
	size_t spki_len, ski_len;
	X509_EXTENSION *ext;
	struct x509_tbs_template t;

	CU_ASSERT_FATAL(exts != NULL && subject != NULL);
	if (b->o != NULL)
		CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, (const unsigned char *)b->o, -1, -1,
		    0) == 1);
	if (b->cn != NULL)
		CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)b->cn, -1,
		    -1, 0) == 1);
	spki = spki_of(b->key, &spki_len);
	ski_spki = spki_of(b->ski_key != NULL ? b->ski_key : b->key, &ski_len);
	if (b->bc)
		CU_ASSERT_FATAL(x509_ext_add_basic_constraints(exts, b->bc_ca, b->path_len) == 0);
	if (b->ku != 0)
		CU_ASSERT_FATAL(x509_ext_add_key_usage(exts, b->ku) == 0);
	if (b->eku != 0)
		CU_ASSERT_FATAL(x509_ext_add_ext_key_usage(exts, b->eku) == 0);
	CU_ASSERT_FATAL(x509_ext_key_id(ski_spki, ski_len, keyid) == 0);
	if (b->ski)
		CU_ASSERT_FATAL(x509_ext_add_ski(exts, keyid, sizeof(keyid)) == 0);
	if (b->dup_ski)
		CU_ASSERT_FATAL(x509_ext_add_ski(exts, keyid, sizeof(keyid)) == 0);
	memcpy(aki, ca_keyid, sizeof(aki));
	aki[0] = b->aki_byte;
	if (b->aki)
		CU_ASSERT_FATAL(x509_ext_add_aki(exts, aki, sizeof(aki)) == 0);
	if (b->san_dns != NULL) {
		CU_ASSERT_FATAL(strlen(b->san_dns) < sizeof(san.name));
		san.name_len = strlen(b->san_dns);
		memcpy(san.name, b->san_dns, san.name_len + 1);
	}
	if (b->san)
		CU_ASSERT_FATAL(x509_ext_add_san(exts, &san, 1, b->san_crit) == 0);
	if (b->nc)
		CU_ASSERT_FATAL(x509_ext_add_name_constraints(exts, &perm, 1, &excl, 1) == 0);
	if (b->crl_crit) {
		CU_ASSERT_FATAL((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points,
		    "critical,URI:http://crl.example.com/a.crl")) != NULL && sk_X509_EXTENSION_push(exts, ext) > 0);
	}
	if (b->unknown_ext) {
		CU_ASSERT_FATAL((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, "hello")) != NULL &&
		    sk_X509_EXTENSION_push(exts, ext) > 0);
	}
	memset(serial, 0x5a, sizeof(serial));
	t = (struct x509_tbs_template){ .serial = serial, .serial_len = b->serial_len, .algid = algid,
		.algid_len = sizeof(algid), .issuer = (const uint8_t *)"\x30\x00", .issuer_len = 2, .not_before = b->nb,
		.not_after = b->na, .subject = subject, .spki = spki, .spki_len = spki_len, .exts = exts };
	CU_ASSERT_FATAL(x509_tbs_build(&t, &tbs, len) == 0);
	OPENSSL_free(spki);
	OPENSSL_free(ski_spki);
	X509_NAME_free(subject);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return tbs;
}

/* Lint b against profile; 0 or the refusal, whose detail must start with "lint <want>:". */
static void
expect(const struct tb *b, const struct config_profile *profile, const char *want, const char *needle)
{
	struct lint_input in;
	char prefix[64];
	size_t len = 0;
	uint8_t *tbs = build(b, &len);
	int rc;

	in = (struct lint_input){ tbs, len, profile, NOW, CA_NOT_AFTER, ca_keyid, sizeof(ca_keyid) };
	rc = lint_tbs(&in);
	if (want == NULL) {
		if (rc != 0)
			fprintf(stderr, "unexpected: %s\n", sd_error_detail(rc));
		CU_ASSERT_EQUAL(rc, 0);
	} else {
		CU_ASSERT_FATAL(snprintf(prefix, sizeof(prefix), "lint %s: ", want) < (int)sizeof(prefix));
		CU_ASSERT_EQUAL(rc, SD_E_INTERNAL);
		if (rc != SD_E_INTERNAL || strncmp(sd_error_detail(rc), prefix, strlen(prefix)) != 0 ||
		    (needle != NULL && strstr(sd_error_detail(rc), needle) == NULL)) {
			fprintf(stderr, "want \"%s...%s\", got \"%s\"\n", prefix, needle != NULL ? needle : "",
			    sd_error_detail(rc));
			CU_FAIL("wrong lint");
		}
	}
	free(tbs);
}

static void
test_setup(void)
{
	k_p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_FATAL(k_p256 != NULL && k_rsa != NULL && k_ed != NULL);
	profiles_init();
}

static void
test_good(void)
{
	struct tb b = tb_leaf();

	expect(&b, &leaf_profile, NULL, NULL);
	b.cn = NULL;
	b.san_crit = true;
	expect(&b, &leaf_profile, NULL, NULL);
	b = tb_leaf();
	b.key = k_rsa;
	b.ku = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT;
	expect(&b, &leaf_profile, NULL, NULL);
	b = tb_ca();
	expect(&b, &ca_profile, NULL, NULL);
	b.nc = false;
	b.key = k_ed;
	expect(&b, &ca_profile, NULL, NULL);
}

static void
test_names(void)
{
	struct tb b = tb_leaf();

	b.san = false;
	expect(&b, &leaf_profile, "san", "without subjectAltName");
	b = tb_leaf();
	b.cn = NULL;
	expect(&b, &leaf_profile, "subject", "empty subject without a critical subjectAltName");
	b = tb_leaf();
	b.san_crit = true;
	expect(&b, &leaf_profile, "san", "critical although the subject is not empty");
	b = tb_ca();
	b.cn = b.o = NULL;
	expect(&b, &ca_profile, "subject", "a CA certificate has an empty subject");
	/* An "xn--" label that is no IDNA2008 A-label, however it got past policy. */
	b = tb_leaf();
	b.san_dns = "xn--zz.example.com";
	expect(&b, &leaf_profile, "dns_idna", "\"xn--zz\" is not a valid IDNA2008 A-label");
	b.san_dns = "www.xn--ls8h.example.com";
	expect(&b, &leaf_profile, "dns_idna", "xn--ls8h");
	b.san_dns = "xn--bcher-kva.example.com";
	expect(&b, &leaf_profile, NULL, NULL);
}

static void
test_key_usage(void)
{
	struct tb b = tb_leaf();

	b.ku = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT;
	expect(&b, &leaf_profile, "key_usage", "keyEncipherment is inconsistent with a P-256 subject key");
	b.key = k_ed;
	b.ku = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_AGREEMENT;
	expect(&b, &leaf_profile, "key_usage", "keyAgreement is inconsistent with a Ed25519 subject key");
	b.key = k_rsa;
	expect(&b, &leaf_profile, "key_usage", "keyAgreement is inconsistent with a RSA subject key");
	b = tb_leaf();
	b.ku = 0;
	expect(&b, &leaf_profile, "key_usage", "missing");
	b.ku = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_CRL_SIGN;
	expect(&b, &leaf_profile, "key_usage", "on a leaf certificate");
	b = tb_ca();
	b.ku = CONFIG_KU_CRL_SIGN;
	expect(&b, &ca_profile, "key_usage", "without keyCertSign");
}

static void
test_constraints(void)
{
	struct tb b = tb_leaf();

	b.bc_ca = true;
	expect(&b, &leaf_profile, "basic_constraints", "cA is TRUE but profile leaf has ca = false");
	b = tb_leaf();
	b.bc = false;
	expect(&b, &leaf_profile, "basic_constraints", "missing");
	b = tb_ca();
	b.path_len = 3;
	expect(&b, &ca_profile, "basic_constraints", "pathLenConstraint 3 differs from the profile's 0");
	b = tb_ca();
	b.bc_ca = false;
	b.path_len = -1;
	expect(&b, &ca_profile, "basic_constraints", "cA is FALSE");
	b = tb_leaf();
	b.nc = true;
	expect(&b, &leaf_profile, "name_constraints", "on a leaf certificate");
}

static void
test_eku_ids(void)
{
	struct tb b = tb_leaf();

	b.eku = 0;
	expect(&b, &leaf_profile, "ext_key_usage", "a leaf certificate without extendedKeyUsage");
	b = tb_leaf();
	b.ski = false;
	expect(&b, &leaf_profile, "ski", "missing");
	b = tb_leaf();
	b.ski_key = k_rsa;
	expect(&b, &leaf_profile, "ski", "not the SHA-1 of the subject public key");
	b = tb_leaf();
	b.aki = false;
	expect(&b, &leaf_profile, "aki", "missing");
	b = tb_leaf();
	b.aki_byte = 99;
	expect(&b, &leaf_profile, "aki", "not the issuing CA's keyIdentifier");
}

static void
test_extensions(void)
{
	struct tb b = tb_leaf();

	b.dup_ski = true;
	expect(&b, &leaf_profile, "duplicate_extension", "2.5.29.14 appears twice");
	b = tb_leaf();
	b.unknown_ext = true;
	expect(&b, &leaf_profile, "extensions", "unexpected extension 2.16.840.1.113730.1.13");
	b = tb_leaf();
	b.crl_crit = true;
	expect(&b, &leaf_profile, "extensions", "crlDistributionPoints is critical");
}

static void
test_serial_validity(void)
{
	struct tb b = tb_leaf();
	struct config_profile p256_only = leaf_profile;
	struct lint_input in = { (const uint8_t *)"\x30\x00", 2, &leaf_profile, NOW, CA_NOT_AFTER, NULL, 0 };

	b.serial_len = 8;
	expect(&b, &leaf_profile, "serial", "8 content octets");
	b.serial_len = 20;	/* 0x5a...: 20 octets, positive */
	expect(&b, &leaf_profile, NULL, NULL);
	b = tb_leaf();
	b.na = NOW + 86400 + 1;
	expect(&b, &leaf_profile, "validity", "exceeds max_ttl");
	b = tb_leaf();
	b.nb = NOW - 3600;
	expect(&b, &leaf_profile, "validity", "notBefore is not the issuance time minus the backdate");
	b = tb_ca();
	b.na = CA_NOT_AFTER + 1;
	ca_profile.max_ttl = 1000 * 86400;
	expect(&b, &ca_profile, "validity", "after the CA certificate's notAfter");
	ca_profile.max_ttl = 365 * 86400;
	b = tb_leaf();
	b.key = k_rsa;
	p256_only.key_types = CONFIG_KEY_P256;
	expect(&b, &p256_only, "subject_key", "RSA");
	CU_ASSERT_EQUAL(lint_tbs(&in), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "lint tbs_der: "));
}

/* The extension builders the CA profile and the URL keys use, read back by OpenSSL. */
static void
test_builders(void)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	struct x509_subtree perm[2] = { { .type = X509_SAN_DNS, .dns = "example.com" },
		{ .type = X509_SAN_IP, .ip = { 10 }, .ip_len = 4, .prefix = 8 } };
	struct x509_subtree bad = { .type = X509_SAN_URI };
	NAME_CONSTRAINTS *nc;
	CRL_DIST_POINTS *dps;
	AUTHORITY_INFO_ACCESS *aia;
	GENERAL_SUBTREE *st;
	const ASN1_OCTET_STRING *ip;
	static const uint8_t want_ip[] = { 10, 0, 0, 0, 255, 0, 0, 0 };

	CU_ASSERT_FATAL(exts != NULL);
	CU_ASSERT_EQUAL(x509_ext_add_name_constraints(exts, perm, 2, NULL, 0), 0);
	CU_ASSERT_EQUAL(x509_ext_add_crl_dp(exts, "http://crl.example.com/ca.crl"), 0);
	CU_ASSERT_EQUAL(x509_ext_add_aia(exts, "http://ocsp.example.com/", "http://pki.example.com/ca.der"), 0);
	CU_ASSERT_EQUAL(x509_ext_add_name_constraints(exts, NULL, 0, NULL, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_name_constraints(exts, &bad, 1, NULL, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_aia(exts, NULL, NULL), SD_E_INVAL);
	CU_ASSERT_EQUAL(x509_ext_add_crl_dp(exts, "http://bad\x01/"), SD_E_INVAL);
	CU_ASSERT_EQUAL_FATAL(sk_X509_EXTENSION_num(exts), 3);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, 0)), 1);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, 1)), 0);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(exts, 2)), 0);
	nc = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, 0));
	CU_ASSERT_FATAL(nc != NULL && sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) == 2 && nc->excludedSubtrees == NULL);
	st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 1);
	CU_ASSERT_FATAL(st->base->type == GEN_IPADD);
	ip = st->base->d.iPAddress;
	CU_ASSERT(ASN1_STRING_length(ip) == 8 && memcmp(ASN1_STRING_get0_data(ip), want_ip, 8) == 0);
	NAME_CONSTRAINTS_free(nc);
	dps = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, 1));
	CU_ASSERT_FATAL(dps != NULL && sk_DIST_POINT_num(dps) == 1);
	DIST_POINT *dp = sk_DIST_POINT_value(dps, 0);
	CU_ASSERT_FATAL(dp->distpoint != NULL && dp->distpoint->type == 0);
	CU_ASSERT_EQUAL(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0)->type, GEN_URI);
	CRL_DIST_POINTS_free(dps);
	aia = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, 2));
	CU_ASSERT_FATAL(aia != NULL && sk_ACCESS_DESCRIPTION_num(aia) == 2);
	CU_ASSERT_EQUAL(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->method), NID_ad_OCSP);
	CU_ASSERT_EQUAL(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 1)->method), NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* The TBS itself must be DER: a long-form length where the short form fits, trailing bytes, a v1 TBS. */
static void
test_tbs_der(void)
{
	struct tb b = tb_leaf();
	struct lint_input in;
	size_t len = 0, hlen, i_crit = 0;
	uint8_t *tbs = build(&b, &len), *bad;

	CU_ASSERT_FATAL(tbs[0] == 0x30 && (tbs[1] == 0x81 || tbs[1] == 0x82));
	hlen = tbs[1] == 0x81 ? 3 : 4;
	CU_ASSERT_FATAL(tbs[hlen] == 0xa0 && tbs[hlen + 1] == 0x03);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bad = malloc(len + 1));
	/* Trailing byte after the TBS. */
	memcpy(bad, tbs, len);
	bad[len] = 0;
	in = (struct lint_input){ bad, len + 1, &leaf_profile, NOW, CA_NOT_AFTER, ca_keyid, sizeof(ca_keyid) };
	CU_ASSERT_EQUAL(lint_tbs(&in), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "lint tbs_der: "));
	/* Version 2 (v3 is 2): INTEGER 1. */
	memcpy(bad, tbs, len);
	bad[hlen + 4] = 1;
	in.tbs_len = len;
	CU_ASSERT_EQUAL(lint_tbs(&in), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "lint tbs_der: version 2 is not v3"));
	/* The extensions' critical flag encoded as an explicit DEFAULT FALSE is not DER. */
	memcpy(bad, tbs, len);
	{
		size_t i;

		/* basicConstraints is the first extension: 06 03 55 1d 13 01 01 ff; make the BOOLEAN 0x00. */
		for (i = hlen; i + 8 < len; i++)
			if (memcmp(bad + i, "\x06\x03\x55\x1d\x13\x01\x01\xff", 8) == 0)
				break;
		CU_ASSERT_FATAL(i + 8 < len);
		bad[i + 7] = 0x00;
		i_crit = i + 7;
	}
	CU_ASSERT_EQUAL(lint_tbs(&in), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "lint tbs_der: extension 1's critical flag"));
	/* TRUE must be 0xff in DER. */
	bad[i_crit] = 0x01;
	CU_ASSERT_EQUAL(lint_tbs(&in), SD_E_INTERNAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_INTERNAL), "lint tbs_der: extension 1's critical flag"));
	memcpy(bad, tbs, len);
	CU_ASSERT_EQUAL(lint_tbs(&in), 0);
	free(bad);
	free(tbs);
}

static void
test_teardown(void)
{
	EVP_PKEY_free(k_p256);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_ed);
}

int
main(void)
{
	static const struct sd_test_case cases[] = {
		{ "setup", test_setup },
		{ "good leaf (EC, RSA) and CA (EC, Ed25519)", test_good },
		{ "subject and SAN", test_names },
		{ "key usage per key type and profile", test_key_usage },
		{ "basic and name constraints", test_constraints },
		{ "EKU, SKI, AKI", test_eku_ids },
		{ "duplicate, unknown and critical extensions", test_extensions },
		{ "serial, validity, key type, not a TBS", test_serial_validity },
		{ "TBS not DER: trailing byte, v2, explicit DEFAULT FALSE", test_tbs_der },
		{ "name constraints, CRL DP and AIA builders", test_builders },
		{ "teardown", test_teardown },
	};

	SD_TEST_SUITE("lint", cases);
	return sd_test_run("test_lint");
}
