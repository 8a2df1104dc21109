/*
 * The issuance core end to end against a real SoftHSM token and a real
 * journal: ceremony certificates (root, intermediate), then signer_open()
 * and signer_issue() with OpenSSL checking every certificate returned.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "config.h"
#include "csr/csr.h"
#include "hsm.h"
#include "journal.h"
#include "policy/policy.h"
#include "sd_file.h"
#include "sd_test.h"
#include "sd_time.h"
#include "signer.h"
#include "softhsm_fixture.h"
#include "x509/ca.h"

#define ROOT_DAYS 3650
#define INT_DAYS 30

static struct sd_test_softhsm fx;
static bool fx_ok;
static struct hsm *g_hsm;
static char g_dir[PATH_MAX];
static char *g_root_pem, *g_int_pem;	/* P-256 root, P-384 intermediate */
static char g_int_path[PATH_MAX], g_chain_path[PATH_MAX], g_root_path[PATH_MAX], g_journal[PATH_MAX];

static struct hsm_key *
key(const char *label, enum hsm_key_type type)
{
	struct hsm_key *k = NULL;
	char uri[128];
	int rc;

	CU_ASSERT_FATAL(snprintf(uri, sizeof(uri), "pkcs11:object=%s", label) < (int)sizeof(uri));
	if (hsm_key_find(g_hsm, uri, false, &k) == 0)
		return k;
	if ((rc = hsm_keygen(g_hsm, uri, type)) != 0 || (rc = hsm_key_find(g_hsm, uri, false, &k)) != 0) {
		fprintf(stderr, "%s: %s\n", label, sd_error_detail(rc));
		return NULL;
	}
	return k;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

static bool
detail_has(int rc, const char *text)
{
	const char *d = sd_error_detail(rc);
	bool ok = strstr(d, text) != NULL;

	if (!ok)
		fprintf(stderr, "detail \"%s\" lacks \"%s\"\n", d, text);
	return ok;
}

static void
test_setup(void)
{
	struct hsm_config cfg;
	int rc;

	rc = sd_test_softhsm_new("signer-test", &fx);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	cfg = (struct hsm_config){ fx.module, fx.token_uri, fx.pin_file, 2 };
	rc = hsm_open(&cfg, &g_hsm);
	if (rc != 0)
		fprintf(stderr, "hsm_open: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	sd_test_tmpdir(g_dir, "signer");
	fx_ok = true;
}

/* ---- ceremony ---- */

static void
check_ca_cert(X509 *x, EVP_PKEY *issuer_key, int path_len, const char *cn)
{
	const ASN1_OCTET_STRING *ski, *aki;
	X509_EXTENSION *ext;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char buf[256];

	CU_ASSERT_EQUAL(X509_verify(x, issuer_key), 1);
	CU_ASSERT_EQUAL(X509_check_ca(x), 1);
	CU_ASSERT_EQUAL(X509_get_version(x), X509_VERSION_3);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	CU_ASSERT_EQUAL(X509_get_pathlen(x), path_len);
	ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_basic_constraints, -1));
	CU_ASSERT(ext != NULL && X509_EXTENSION_get_critical(ext) == 1);
	ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1));
	CU_ASSERT(ext != NULL && X509_EXTENSION_get_critical(ext) == 1);
	ski = X509_get0_subject_key_id(x);
	aki = X509_get0_authority_key_id(x);
	CU_ASSERT_FATAL(ski != NULL && aki != NULL);
	CU_ASSERT_EQUAL(X509_pubkey_digest(x, EVP_sha1(), md, &md_len), 1);
	CU_ASSERT(ASN1_STRING_length(ski) == (int)md_len && memcmp(ASN1_STRING_get0_data(ski), md, md_len) == 0);
	CU_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf)) > 0 &&
	    strcmp(buf, cn) == 0);
	CU_ASSERT(ASN1_STRING_length(X509_get0_serialNumber(x)) == 17);
}

static void
test_ceremony_roots(void)
{
	static const struct {
		const char *label;
		enum hsm_key_type type;
	} keys[] = {
		{ "root-p256", HSM_KEY_P256 }, { "root-rsa2048", HSM_KEY_RSA2048 }, { "root-ed25519", HSM_KEY_ED25519 },
		{ "root-p521", HSM_KEY_P521 }, { "root-rsa3072", HSM_KEY_RSA3072 },
	};
	struct ceremony_ca req = { "/C=DE/O=signerd test/CN=Root CA", ROOT_DAYS, -1 };
	struct hsm_key *k;
	const ASN1_OCTET_STRING *ski, *aki;
	char *pem = NULL;
	size_t i;
	X509 *x;
	int rc;

	CU_ASSERT_TRUE_FATAL(fx_ok);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(k = key(keys[i].label, keys[i].type));
		req.path_len = i == 0 ? 1 : -1;
		rc = ceremony_root(k, &req, &pem);
		if (rc != 0)
			fprintf(stderr, "ceremony_root %s: %s\n", keys[i].label, sd_error_detail(rc));
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(x = pem_cert(pem));
		check_ca_cert(x, X509_get0_pubkey(x), req.path_len, "Root CA");
		CU_ASSERT_EQUAL(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
		ski = X509_get0_subject_key_id(x);
		aki = X509_get0_authority_key_id(x);
		CU_ASSERT(ski != NULL && aki != NULL && ASN1_OCTET_STRING_cmp(ski, aki) == 0);
		/* Backdated by five minutes, valid for the days asked. */
		CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), time(NULL) - 290), -1);
		CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), time(NULL) + ROOT_DAYS * 86400 - 10), 1);
		if (i == 0)
			g_root_pem = pem;
		else
			free(pem);
		pem = NULL;
		X509_free(x);
		hsm_key_free(k);
	}
}

static void
test_ceremony_intermediates(void)
{
	struct ceremony_ca req = { "/O=signerd test/CN=Issuing CA\\/1", INT_DAYS, 0 };
	struct hsm_key *root = key("root-p256", HSM_KEY_P256), *sub = key("int-p384", HSM_KEY_P384);
	struct hsm_key *sub_ed = key("int-ed25519", HSM_KEY_ED25519);
	X509 *rx, *x;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char *pem = NULL;
	int rc;

	CU_ASSERT_FATAL(root != NULL && sub != NULL && sub_ed != NULL && store != NULL && ctx != NULL &&
	    g_root_pem != NULL);
	rc = ceremony_intermediate(root, g_root_pem, strlen(g_root_pem), sub, &req, &g_int_pem);
	if (rc != 0)
		fprintf(stderr, "ceremony_intermediate: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	rx = pem_cert(g_root_pem);
	x = pem_cert(g_int_pem);
	CU_ASSERT_FATAL(rx != NULL && x != NULL);
	check_ca_cert(x, X509_get0_pubkey(rx), 0, "Issuing CA/1");
	CU_ASSERT_EQUAL(X509_check_issued(rx, x), X509_V_OK);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(rx)), 0);
	CU_ASSERT_EQUAL(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	/* OpenSSL's own path validation accepts root -> intermediate. */
	CU_ASSERT_EQUAL(X509_STORE_add_cert(store, rx), 1);
	CU_ASSERT_EQUAL(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	CU_ASSERT_EQUAL(X509_verify_cert(ctx), 1);

	/* notAfter is capped at the issuer's. */
	req.days = ROOT_DAYS + 100;
	req.path_len = -1;
	CU_ASSERT_EQUAL_FATAL(ceremony_intermediate(root, g_root_pem, strlen(g_root_pem), sub_ed, &req, &pem), 0);
	X509_free(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x = pem_cert(pem));
	CU_ASSERT_EQUAL(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(rx)), 0);
	free(pem);
	pem = NULL;

	/* The root has pathLen 1: an intermediate may not ask for more than 0. */
	req.path_len = 1;
	CU_ASSERT_EQUAL(ceremony_intermediate(root, g_root_pem, strlen(g_root_pem), sub, &req, &pem), SD_E_INVAL);
	/* An issuer certificate that is not the issuer key's. */
	req.path_len = -1;
	CU_ASSERT_EQUAL(ceremony_intermediate(sub, g_root_pem, strlen(g_root_pem), sub_ed, &req, &pem), SD_E_CONFIG);
	CU_ASSERT_TRUE(detail_has(SD_E_CONFIG, "does not match"));
	/* An issuer with pathLen 0 cannot make intermediates. */
	CU_ASSERT_EQUAL(ceremony_intermediate(sub, g_int_pem, strlen(g_int_pem), sub_ed, &req, &pem), SD_E_INVAL);
	CU_ASSERT_EQUAL(ceremony_intermediate(root, "junk", 4, sub, &req, &pem), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(pem);

	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(rx);
	X509_free(x);
	hsm_key_free(root);
	hsm_key_free(sub);
	hsm_key_free(sub_ed);
}

static void
test_ceremony_refusals(void)
{
	static const char *bad[] = {
		"O=x/CN=y", "/", "/O=x/", "//CN=y", "/O", "/O=", "/=x", "/NoSuchType=x", "/C=Germany", "",
	};
	struct ceremony_ca req = { NULL, 10, -1 };
	struct hsm_key *k = key("root-p256", HSM_KEY_P256);
	char *pem = NULL;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req.subject = bad[i];
		CU_ASSERT_EQUAL(ceremony_root(k, &req, &pem), SD_E_INVAL);
		CU_ASSERT_PTR_NULL(pem);
	}
	req.subject = NULL;
	CU_ASSERT_EQUAL(ceremony_root(k, &req, &pem), SD_E_INVAL);
	req.subject = "/CN=ok";
	req.days = 0;
	CU_ASSERT_EQUAL(ceremony_root(k, &req, &pem), SD_E_INVAL);
	req.days = 10;
	req.path_len = -2;
	CU_ASSERT_EQUAL(ceremony_root(k, &req, &pem), SD_E_INVAL);
	req.path_len = -1;
	CU_ASSERT_EQUAL(ceremony_root(k, &req, &pem), 0);
	free(pem);
	hsm_key_free(k);
}

/* ---- signer ---- */

static char g_profile_name[] = "web", g_suffix[] = "example.com", g_long_name[] = "long";
static char g_svid_name[] = "svid", g_mail_name[] = "mail", g_p256_name[] = "p256only", g_td[] = "example.com";
static char g_sub_name[] = "sub";
static struct config_profile g_profiles[6];
static struct sd_config g_cfg;
static char g_key_uri[] = "pkcs11:object=int-p384";
static struct signer *g_signer;
static uint64_t g_last_seq, g_first_seq;	/* journal seqs: latest and first issuance results */

static void
write_files(void)
{
	char chain[16384];
	int n;

	sd_test_write(g_dir, "root.pem", g_root_pem, 0644, g_root_path);
	sd_test_write(g_dir, "issuing.pem", g_int_pem, 0644, g_int_path);
	n = snprintf(chain, sizeof(chain), "%s%s", g_int_pem, g_root_pem);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(chain));
	sd_test_write(g_dir, "chain.pem", chain, 0644, g_chain_path);
	n = snprintf(g_journal, sizeof(g_journal), "%s/journal", g_dir);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(g_journal));
}

static void
config_init(void)
{
	struct config_profile *p = &g_profiles[0];

	memset(g_profiles, 0, sizeof(g_profiles));
	p->name = g_profile_name;
	p->default_ttl = 3600;
	p->max_ttl = 86400;
	p->backdate = 60;
	p->key_usage = CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT;
	p->ext_key_usage = CONFIG_EKU_SERVER_AUTH;
	p->key_types = CONFIG_KEY_ALL;
	p->subject_attributes = CONFIG_SUBJ_CN;
	p->cn_must_be_san = true;
	p->path_len = -1;
	p->dns_suffixes[0] = g_suffix;
	p->n_dns_suffixes = 1;
	p->ip_ranges[0].family = AF_INET;
	p->ip_ranges[0].addr[0] = 10;
	p->ip_ranges[0].prefix = 8;
	p->n_ip_ranges = 1;
	g_profiles[1] = *p;
	g_profiles[1].name = g_long_name;
	g_profiles[1].max_ttl = 400 * 86400;
	g_profiles[1].ext_key_usage = CONFIG_EKU_CLIENT_AUTH;
	/* SPIFFE workloads: a URI SAN only. */
	g_profiles[2] = *p;
	g_profiles[2].name = g_svid_name;
	g_profiles[2].key_usage = CONFIG_KU_DIGITAL_SIGNATURE;
	g_profiles[2].ext_key_usage = CONFIG_EKU_SERVER_AUTH | CONFIG_EKU_CLIENT_AUTH;
	g_profiles[2].n_dns_suffixes = 0;
	g_profiles[2].n_ip_ranges = 0;
	g_profiles[2].spiffe_trust_domain = g_td;
	/* E-mail addresses in example.com. */
	g_profiles[3] = g_profiles[2];
	g_profiles[3].name = g_mail_name;
	g_profiles[3].ext_key_usage = CONFIG_EKU_CLIENT_AUTH | CONFIG_EKU_EMAIL_PROTECTION;
	g_profiles[3].spiffe_trust_domain = NULL;
	g_profiles[3].email_domains[0] = g_td;
	g_profiles[3].n_email_domains = 1;
	/* P-256 keys only. */
	g_profiles[4] = *p;
	g_profiles[4].name = g_p256_name;
	g_profiles[4].key_types = CONFIG_KEY_P256;
	/* A CA profile (only in test_signer_ca_profile: the P-384 intermediate has pathLen 0). */
	g_profiles[5] = *p;
	g_profiles[5].name = g_sub_name;
	g_profiles[5].ca = true;
	g_profiles[5].path_len = 0;
	g_profiles[5].key_usage = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;
	g_profiles[5].ext_key_usage = 0;
	g_profiles[5].cn_must_be_san = false;

	memset(&g_cfg, 0, sizeof(g_cfg));
	g_cfg.hsm_module = fx.module;
	g_cfg.hsm_token_uri = fx.token_uri;
	g_cfg.hsm_pin_file = fx.pin_file;
	g_cfg.hsm_sessions = 4;
	g_cfg.hsm_queue = 256;
	g_cfg.hsm_queue_wait_ms = 2000;
	g_cfg.ca_key_uri = g_key_uri;
	g_cfg.ca_certificate = g_int_path;
	g_cfg.ca_chain = g_chain_path;
	g_cfg.journal_path = g_journal;
	g_cfg.journal_map_size = 16 * 1024 * 1024;
	g_cfg.profiles = g_profiles;
	g_cfg.n_profiles = 5;
}

static void
test_signer_open(void)
{
	struct signer *s = NULL;
	int rc;

	CU_ASSERT_FATAL(g_int_pem != NULL && g_root_pem != NULL);
	write_files();
	config_init();

	/* The root certificate is not the issuing key's. */
	g_cfg.ca_certificate = g_root_path;
	CU_ASSERT_EQUAL(signer_open(&g_cfg, &s), SD_E_CONFIG);
	CU_ASSERT_TRUE(detail_has(SD_E_CONFIG, "does not match key pkcs11:object=int-p384"));
	CU_ASSERT_PTR_NULL(s);
	/* A chain that does not start with the issuing certificate. */
	g_cfg.ca_certificate = g_int_path;
	g_cfg.ca_chain = g_root_path;
	CU_ASSERT_EQUAL(signer_open(&g_cfg, &s), SD_E_CONFIG);
	g_cfg.ca_chain = g_chain_path;

	rc = signer_open(&g_cfg, &g_signer);
	if (rc != 0)
		fprintf(stderr, "signer_open: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(signer_health(g_signer), 0);
	CU_ASSERT_EQUAL_FATAL(signer_chain_count(g_signer), 2);
	CU_ASSERT_STRING_EQUAL(signer_chain_pem(g_signer, 0), g_int_pem);
	CU_ASSERT_STRING_EQUAL(signer_chain_pem(g_signer, 1), g_root_pem);
	CU_ASSERT_PTR_NULL(signer_chain_pem(g_signer, 2));
}

static char *
make_csr(EVP_PKEY *k, const char *cn, const char *san)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (req == NULL || name == NULL || exts == NULL || bio == NULL)
		abort();
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Should Not Be Copied", -1, -1,
	    0) != 1)
		abort();
	if (cn != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		abort();
	if (san != NULL) {
		if ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san)) == NULL ||
		    sk_X509_EXTENSION_push(exts, ext) <= 0 || X509_REQ_add_extensions(req, exts) != 1)
			abort();
	}
	if (X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, k) != 1 ||
	    X509_REQ_sign(req, k, EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(bio, req) != 1)
		abort();
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		abort();
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return out;
}

static int
issue_sans(const char *csr, const char *profile, const struct signer_san *sans, size_t n, struct signer_result **out)
{
	struct signer_request req;

	memset(&req, 0, sizeof(req));
	req.csr_pem = csr;
	req.csr_pem_len = strlen(csr);
	req.profile = profile;
	req.client_subject = "CN=issuer,O=signerd test";
	req.sans = sans;
	req.n_sans = n;
	return signer_issue(g_signer, &req, out);
}

static int
issue(const char *csr, const char *profile, uint64_t ttl, struct signer_result **out)
{
	struct signer_request req;

	memset(&req, 0, sizeof(req));
	req.csr_pem = csr;
	req.csr_pem_len = strlen(csr);
	req.profile = profile;
	req.ttl = ttl;
	req.client_subject = "CN=issuer,O=signerd test";
	memset(req.client_spki_sha256, 0x42, sizeof(req.client_spki_sha256));
	return signer_issue(g_signer, &req, out);
}

/* The certificate chains to the root through the intermediate; returns it parsed. */
static X509 *
verify_chain(const char *pem, int purpose)
{
	X509 *x = pem_cert(pem), *root = pem_cert(g_root_pem), *inter = pem_cert(g_int_pem);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	CU_ASSERT_FATAL(x != NULL && root != NULL && inter != NULL && store != NULL && ctx != NULL &&
	    untrusted != NULL);
	CU_ASSERT_FATAL(X509_STORE_add_cert(store, root) == 1 && sk_X509_push(untrusted, inter) > 0);
	CU_ASSERT_FATAL(X509_STORE_CTX_init(ctx, store, x, untrusted) == 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		fprintf(stderr, "verify: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	CU_ASSERT_EQUAL(ok, 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(root);
	return x;
}

static void
test_issue_p256(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *csr = make_csr(k, "WWW.example.com", "DNS:www.Example.com,IP:10.1.2.3,DNS:www.example.com");
	struct signer_result *r = NULL;
	GENERAL_NAMES *sans;
	X509 *x;
	BIGNUM *bn = NULL;
	char *hex, buf[128], want[32];
	struct tm tm;
	int crit = -1, rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_signer);
	rc = issue(csr, "web", 0, &r);
	if (rc != 0)
		fprintf(stderr, "signer_issue: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* Each issuance journals an intent then a result (and refusals may be journaled): seqs only grow. */
	CU_ASSERT(r->journal_seq > g_last_seq);
	g_last_seq = r->journal_seq;
	g_first_seq = r->journal_seq;
	x = verify_chain(r->cert_pem, X509_PURPOSE_SSL_SERVER);

	/* Serial: 17 bytes, positive, as reported in lower-case hex. */
	CU_ASSERT_EQUAL(strlen(r->serial_hex), 34);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL));
	hex = BN_bn2hex(bn);
	for (char *p = hex; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	CU_ASSERT_STRING_EQUAL(hex, r->serial_hex);
	OPENSSL_free(hex);
	BN_free(bn);

	/* Subject: the CN alone, normalised like the SAN it names. */
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	CU_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "www.example.com");
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sans);
	CU_ASSERT_EQUAL(crit, 0);
	CU_ASSERT_EQUAL(sk_GENERAL_NAME_num(sans), 2);	/* the duplicate is dropped */
	GENERAL_NAMES_free(sans);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	CU_ASSERT_EQUAL(X509_check_ca(x), 0);
	CU_ASSERT_EQUAL(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);

	/* Validity: backdated by the profile, default TTL, reported in RFC 3339. */
	CU_ASSERT_EQUAL(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	CU_ASSERT(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
	CU_ASSERT_STRING_EQUAL(r->not_after, want);
	{
		int days = -1, secs = -1;

		CU_ASSERT_EQUAL(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
		CU_ASSERT_EQUAL(days * 86400 + secs, 3600 + 60);
	}
	X509_free(x);
	signer_result_free(r);
	free(csr);
	EVP_PKEY_free(k);
}

static void
test_issue_subjects(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct signer_result *r = NULL;
	char *csr, buf[64];
	int crit = -1;
	GENERAL_NAMES *sans;
	X509 *x;

	/* A CN that is not one of the SANs is dropped: empty subject, critical SAN. */
	csr = make_csr(k, "evil.example.org", "DNS:a.example.com");
	CU_ASSERT_EQUAL_FATAL(issue(csr, "long", 20 * 86400, &r), 0);
	x = verify_chain(r->cert_pem, X509_PURPOSE_SSL_CLIENT);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	CU_ASSERT_EQUAL(crit, 1);
	GENERAL_NAMES_free(sans);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	X509_free(x);
	signer_result_free(r);
	r = NULL;
	free(csr);

	/* A CN naming an IP SAN; an Ed25519 subject key. */
	csr = make_csr(ed, "10.0.0.7", "IP:10.0.0.7");
	CU_ASSERT_EQUAL_FATAL(issue(csr, "web", 60, &r), 0);
	x = pem_cert(r->cert_pem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "10.0.0.7");
	CU_ASSERT_EQUAL(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_ED25519);
	g_last_seq = r->journal_seq;
	X509_free(x);
	signer_result_free(r);
	free(csr);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ed);
}

static void
test_issue_refusals(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct signer_result *r = NULL;
	char *ok = make_csr(k, NULL, "DNS:a.example.com"), *csr;

	CU_ASSERT_EQUAL(issue(ok, "nope", 0, &r), SD_E_PROFILE_UNKNOWN);
	CU_ASSERT_TRUE(detail_has(SD_E_PROFILE_UNKNOWN, "nope"));
	CU_ASSERT_EQUAL(issue(ok, "web", 86401, &r), SD_E_TTL);
	/* The intermediate lives INT_DAYS: a longer certificate is refused, naming both dates. */
	CU_ASSERT_EQUAL(issue(ok, "long", (INT_DAYS + 1) * 86400ULL, &r), SD_E_TTL);
	CU_ASSERT_TRUE(detail_has(SD_E_TTL, "CA certificate's notAfter"));
	CU_ASSERT_EQUAL(issue("garbage", "web", 0, &r), SD_E_CSR);

	csr = make_csr(k, "a.example.com", NULL);
	CU_ASSERT_EQUAL(issue(csr, "web", 0, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "no subjectAltName"));
	free(csr);
	csr = make_csr(k, NULL, "DNS:a.example.com,DNS:badexample.com");
	CU_ASSERT_EQUAL(issue(csr, "web", 0, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "badexample.com"));
	free(csr);
	csr = make_csr(k, NULL, "IP:192.168.1.1");
	CU_ASSERT_EQUAL(issue(csr, "web", 0, &r), SD_E_NAME_REFUSED);
	free(csr);
	csr = make_csr(k, NULL, "DNS:*.example.com");
	CU_ASSERT_EQUAL(issue(csr, "web", 0, &r), SD_E_NAME_REFUSED);
	free(csr);
	CU_ASSERT_PTR_NULL(r);

	/* Nothing refused was journaled: the next issuance takes the next number. */
	CU_ASSERT_EQUAL_FATAL(issue(ok, "web", 0, &r), 0);
	CU_ASSERT(r->journal_seq > g_last_seq);
	g_last_seq = r->journal_seq;
	signer_result_free(r);
	free(ok);
	EVP_PKEY_free(k);
}

/* SHA-256 of k's DER SubjectPublicKeyInfo. */
static void
spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_FATAL(EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) == 1);
	OPENSSL_free(der);
}

/* signer_issue() as the holder of key spki renewing the certificate with serial serial_hex. */
static int
reenroll(const char *csr, const char *profile, const char *serial_hex, const uint8_t spki[32],
    struct signer_result **out)
{
	struct signer_request req;

	memset(&req, 0, sizeof(req));
	req.csr_pem = csr;
	req.csr_pem_len = strlen(csr);
	req.profile = profile;
	req.client_subject = "CN=r.example.com";
	memcpy(req.client_spki_sha256, spki, sizeof(req.client_spki_sha256));
	req.reenroll_serial = serial_hex;
	return signer_issue(g_signer, &req, out);
}

static void
test_issue_reenroll(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *csr = make_csr(k, "r.example.com", "DNS:r.example.com,DNS:s.example.com");
	char *same = make_csr(k2, "r.example.com", "DNS:s.example.com,DNS:r.example.com");
	char *fewer = make_csr(k2, "r.example.com", "DNS:r.example.com");
	char *other_cn = make_csr(k2, "s.example.com", "DNS:r.example.com,DNS:s.example.com");
	struct signer_result *a = NULL, *r = NULL;
	uint8_t spki[32], wrong[32];
	X509 *x;

	CU_ASSERT_EQUAL_FATAL(issue(csr, "web", 0, &a), 0);
	spki_sha256(k, spki);
	memset(wrong, 0x42, sizeof(wrong));

	/* A new key, the same subject and names (in another order): renewed. */
	CU_ASSERT_EQUAL_FATAL(reenroll(same, "web", a->serial_hex, spki, &r), 0);
	x = verify_chain(r->cert_pem, X509_PURPOSE_SSL_SERVER);
	CU_ASSERT_EQUAL(EVP_PKEY_eq(X509_get0_pubkey(x), k2), 1);
	X509_free(x);
	signer_result_free(r);
	r = NULL;

	CU_ASSERT_EQUAL(reenroll(fewer, "web", a->serial_hex, spki, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "RFC 7030"));
	CU_ASSERT_EQUAL(reenroll(other_cn, "web", a->serial_hex, spki, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(reenroll(same, "web", a->serial_hex, wrong, &r), SD_E_FORBIDDEN);
	CU_ASSERT_TRUE(detail_has(SD_E_FORBIDDEN, "not the key"));
	CU_ASSERT_EQUAL(reenroll(same, "long", a->serial_hex, spki, &r), SD_E_FORBIDDEN);
	CU_ASSERT_TRUE(detail_has(SD_E_FORBIDDEN, "issued under profile"));
	CU_ASSERT_EQUAL(reenroll(same, "web", "7f0102", spki, &r), SD_E_FORBIDDEN);
	CU_ASSERT_TRUE(detail_has(SD_E_FORBIDDEN, "not one this CA issued"));
	CU_ASSERT_EQUAL(reenroll(same, "web", "not hex", spki, &r), SD_E_FORBIDDEN);
	/* The lookup comes first: a CSR that does not even parse is not looked at. */
	CU_ASSERT_EQUAL(reenroll("garbage", "web", "7f0102", spki, &r), SD_E_FORBIDDEN);
	CU_ASSERT_PTR_NULL(r);
	signer_result_free(a);
	free(csr);
	free(same);
	free(fewer);
	free(other_cn);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* The SANs of x as "DNS:a,IP:b,URI:c,email:d" text (OpenSSL's names). */
static void
san_text(X509 *x, char *out, size_t cap, int *crit)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, crit, NULL);
	const GENERAL_NAME *gn;
	const ASN1_STRING *str;
	char ip[INET6_ADDRSTRLEN];
	size_t o = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_IPADD) {
			str = gn->d.iPAddress;
			inet_ntop(ASN1_STRING_length(str) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(str), ip, sizeof(ip));
			n = snprintf(out + o, cap - o, "%sIP:%s", o ? "," : "", ip);
		} else {
			str = gn->type == GEN_DNS ? gn->d.dNSName : gn->type == GEN_URI ? gn->d.uniformResourceIdentifier :
			    gn->d.rfc822Name;
			n = snprintf(out + o, cap - o, "%s%s:%.*s", o ? "," : "",
			    gn->type == GEN_DNS ? "DNS" : gn->type == GEN_URI ? "URI" : "email", ASN1_STRING_length(str),
			    (const char *)ASN1_STRING_get0_data(str));
		}
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	GENERAL_NAMES_free(sans);
}

static void
test_issue_body_sans(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *csr = make_csr(k, "x.example.com", "DNS:x.example.com,IP:10.9.9.9");
	const struct signer_san body[] = {
		{ SIGNER_SAN_DNS, "B.example.com", 13 }, { SIGNER_SAN_IP, "10.0.0.9", 8 }, { SIGNER_SAN_DNS, "b.example.com", 13 },
	};
	const struct signer_san evil[] = { { SIGNER_SAN_DNS, "b.example.com", 13 }, { SIGNER_SAN_DNS, "evil.org", 8 } };
	const struct signer_san noip[] = { { SIGNER_SAN_IP, "10.0.0.300", 10 } };
	struct signer_result *r = NULL;
	char text[512];
	int crit = -1;
	X509 *x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_signer);
	/* The body's names are the requested set: the CSR's SANs (and so its CN) are not used. */
	CU_ASSERT_EQUAL_FATAL(issue_sans(csr, "web", body, 3, &r), 0);
	x = verify_chain(r->cert_pem, X509_PURPOSE_SSL_SERVER);
	san_text(x, text, sizeof(text), &crit);
	CU_ASSERT_STRING_EQUAL(text, "DNS:b.example.com,IP:10.0.0.9");
	CU_ASSERT_EQUAL(crit, 1);	/* x.example.com is not certified, so the CN is dropped */
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	/* keyEncipherment in the profile is not certified for an EC key. */
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	X509_free(x);
	signer_result_free(r);
	r = NULL;
	CU_ASSERT_EQUAL(issue_sans(csr, "web", evil, 2, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "\"evil.org\" is not under any DNS suffix of profile web"));
	CU_ASSERT_EQUAL(issue_sans(csr, "web", noip, 1, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "\"10.0.0.300\" is not an IP address"));
	CU_ASSERT_PTR_NULL(r);
	free(csr);
	EVP_PKEY_free(k);

	/* An RSA key keeps keyEncipherment. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	csr = make_csr(k, NULL, "DNS:r.example.com");
	CU_ASSERT_EQUAL_FATAL(issue(csr, "web", 0, &r), 0);
	x = pem_cert(r->cert_pem);
	CU_ASSERT_EQUAL(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	X509_free(x);
	signer_result_free(r);
	r = NULL;
	/* ... but the P-256-only profile refuses it. */
	CU_ASSERT_EQUAL(issue(csr, "p256only", 0, &r), SD_E_KEY_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_KEY_REFUSED, "rsa subject keys are not allowed by profile p256only (key_types = p256)"));
	free(csr);
	EVP_PKEY_free(k);
}

static void
test_issue_spiffe_email(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *csr = make_csr(k, "web", "URI:spiffe://example.com/ns/prod/sa/web"), text[512];
	const struct signer_san two[] = {
		{ SIGNER_SAN_URI, "spiffe://example.com/a", 22 }, { SIGNER_SAN_URI, "spiffe://example.com/b", 22 },
	};
	const struct signer_san other[] = { { SIGNER_SAN_URI, "spiffe://example.org/a", 22 } };
	const struct signer_san root[] = { { SIGNER_SAN_URI, "spiffe://example.com", 20 } };
	const struct signer_san dns[] = { { SIGNER_SAN_DNS, "a.example.com", 13 } };
	const struct signer_san mail[] = { { SIGNER_SAN_EMAIL, "Alice@EXAMPLE.com", 17 } };
	struct signer_result *r = NULL;
	int crit = -1;
	X509 *x;

	CU_ASSERT_EQUAL_FATAL(issue(csr, "svid", 0, &r), 0);
	x = verify_chain(r->cert_pem, X509_PURPOSE_SSL_CLIENT);
	san_text(x, text, sizeof(text), &crit);
	CU_ASSERT_STRING_EQUAL(text, "URI:spiffe://example.com/ns/prod/sa/web");
	CU_ASSERT_EQUAL(crit, 1);
	CU_ASSERT_EQUAL(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(x), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	X509_free(x);
	signer_result_free(r);
	r = NULL;
	CU_ASSERT_EQUAL(issue_sans(csr, "svid", two, 2, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "exactly one URI SAN"));
	CU_ASSERT_EQUAL(issue_sans(csr, "svid", other, 1, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "is not in trust domain example.com of profile svid"));
	CU_ASSERT_EQUAL(issue_sans(csr, "svid", root, 1, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "has no path"));
	CU_ASSERT_EQUAL(issue_sans(csr, "svid", dns, 1, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "not under any DNS suffix of profile svid"));

	CU_ASSERT_EQUAL_FATAL(issue_sans(csr, "mail", mail, 1, &r), 0);
	x = pem_cert(r->cert_pem);
	san_text(x, text, sizeof(text), &crit);
	CU_ASSERT_STRING_EQUAL(text, "email:Alice@example.com");
	X509_free(x);
	signer_result_free(r);
	r = NULL;
	free(csr);
	csr = make_csr(k, NULL, "email:bob@example.org");
	CU_ASSERT_EQUAL(issue(csr, "mail", 0, &r), SD_E_NAME_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_NAME_REFUSED, "\"bob@example.org\" is not in any email_domains of profile mail"));
	free(csr);
	EVP_PKEY_free(k);
}

/* Reopen the signer with a key blocklist, and with a CA profile the issuing CA's pathLen 0 forbids. */
static void
test_signer_reopen_policies(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char *spki = NULL;
	uint8_t sha[32];
	char hex[65], line[80], path[PATH_MAX], *csr = make_csr(k, NULL, "DNS:a.example.com");
	struct signer_result *r = NULL;
	struct signer *s = NULL;
	struct ca fake;
	unsigned ku = 0;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_signer);
	signer_close(g_signer);
	g_signer = NULL;
	/* A CA profile the issuing CA's pathLen 0 forbids: the service starts, that profile is refused. */
	g_cfg.n_profiles = 6;
	CU_ASSERT_EQUAL_FATAL(signer_open(&g_cfg, &s), 0);
	g_signer = s;
	CU_ASSERT_EQUAL(issue(csr, "sub", 0, &r), SD_E_CONFIG);
	CU_ASSERT_TRUE(detail_has(SD_E_CONFIG, "profile sub issues CA certificates (path_len 0) but the issuing CA's "
	    "pathLenConstraint is 0"));
	CU_ASSERT_PTR_NULL(r);
	signer_close(s);
	g_signer = s = NULL;
	g_cfg.n_profiles = 5;

	n = i2d_PUBKEY(k, &spki);
	CU_ASSERT_FATAL(n > 0 && EVP_Digest(spki, (size_t)n, sha, NULL, EVP_sha256(), NULL) == 1);
	sd_hex_encode(sha, sizeof(sha), hex);
	CU_ASSERT_FATAL(snprintf(line, sizeof(line), "%s\n", hex) < (int)sizeof(line));
	sd_test_write(g_dir, "blocklist.txt", line, 0644, path);
	g_cfg.ca_key_blocklist = path;
	CU_ASSERT_EQUAL_FATAL(signer_open(&g_cfg, &g_signer), 0);
	g_cfg.ca_key_blocklist = NULL;
	CU_ASSERT_EQUAL(issue(csr, "web", 0, &r), SD_E_KEY_REFUSED);
	CU_ASSERT_TRUE(detail_has(SD_E_KEY_REFUSED, "key blocklist"));
	CU_ASSERT_PTR_NULL(r);
	free(csr);
	csr = make_csr(other, NULL, "DNS:a.example.com");
	CU_ASSERT_EQUAL_FATAL(issue(csr, "web", 0, &r), 0);
	g_last_seq = r->journal_seq;
	signer_result_free(r);
	r = NULL;

	/* A subject key equal to a CA key of the chain is refused (the rule, on a stand-in chain). */
	memset(&fake, 0, sizeof(fake));
	fake.chain_keys[0] = other;
	fake.n_chain_keys = 1;
	{
		struct csr *c = NULL;

		CU_ASSERT_EQUAL_FATAL(csr_parse(csr, strlen(csr), 0, &c), 0);
		CU_ASSERT_TRUE(ca_key_is_ca(&fake, other));
		CU_ASSERT_FALSE(ca_key_is_ca(&fake, k));
		CU_ASSERT_EQUAL(policy_check_key(&g_profiles[0], c, &fake, NULL, &ku), SD_E_KEY_REFUSED);
		CU_ASSERT_TRUE(detail_has(SD_E_KEY_REFUSED, "public key of a CA in this signer's chain"));
		fake.n_chain_keys = 0;
		CU_ASSERT_EQUAL(policy_check_key(&g_profiles[0], c, &fake, NULL, &ku), 0);
		CU_ASSERT_EQUAL(ku, CONFIG_KU_DIGITAL_SIGNATURE);
		csr_free(c);
	}
	OPENSSL_free(spki);
	free(csr);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

#define THREADS 4
#define PER_THREAD 5

struct worker {
	char *csr;
	uint64_t seqs[PER_THREAD];
	char serials[PER_THREAD][41];
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct signer_result *r;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		r = NULL;
		if (issue(w->csr, "web", 0, &r) != 0) {
			w->failures++;
			continue;
		}
		w->seqs[i] = r->journal_seq;
		memcpy(w->serials[i], r->serial_hex, sizeof(w->serials[i]));
		signer_result_free(r);
	}
	return NULL;
}

static void
test_issue_concurrent(void)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint64_t max = g_last_seq;
	int i, j, a, b;

	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].csr = make_csr(k, NULL, "DNS:c.example.com");
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(t[i], NULL), 0);
	for (i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(w[i].failures, 0);
		for (j = 0; j < PER_THREAD; j++) {
			CU_ASSERT(w[i].seqs[j] > g_last_seq);
			if (w[i].seqs[j] > max)
				max = w[i].seqs[j];
		}
		free(w[i].csr);
	}
	for (a = 0; a < THREADS * PER_THREAD; a++) {
		for (b = a + 1; b < THREADS * PER_THREAD; b++) {
			CU_ASSERT_NOT_EQUAL(w[a / PER_THREAD].seqs[a % PER_THREAD], w[b / PER_THREAD].seqs[b % PER_THREAD]);
			CU_ASSERT_STRING_NOT_EQUAL(w[a / PER_THREAD].serials[a % PER_THREAD],
			    w[b / PER_THREAD].serials[b % PER_THREAD]);
		}
	}
	g_last_seq = max;
	EVP_PKEY_free(k);
}

/* After closing, the journal holds each issuance with its certificate and serial. */
/* The front's refusal counts: journaled as summaries, one per listener every 10 s, bad ones refused. */
static void
test_api_refusals(void)
{
	int64_t now = sd_time_now_ms();

	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 60000, 3, "https: forbidden=2 unauthenticated=1"), 0);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 1000, 1, "https: forbidden=1"), SD_E_QUOTA);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 60000, 1, "public: not-found=1\x01"), 0);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 60000, 0, "other: x=0"), SD_E_INVAL);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now + 60000, 1, "other: x=1"), SD_E_INVAL);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 60000, 1, "no listener name"), SD_E_INVAL);
	CU_ASSERT_EQUAL(signer_api_refusals(g_signer, now - 60000, 1, ": x=1"), SD_E_INVAL);
	sd_error_clear();
}

static void
test_journal_records(void)
{
	struct journal *j = NULL;
	struct journal_record *rec = NULL, *intent = NULL;
	uint64_t last = 0, count = 0, bad = 0, intent_seq = 0, result_seq = 0, seq, api;
	const unsigned char *p;
	X509 *x;
	BIGNUM *a, *b;

	signer_close(g_signer);
	g_signer = NULL;
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(g_journal, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT(last >= g_last_seq);
	CU_ASSERT_EQUAL(journal_verify(j, &count, &bad), 0);
	CU_ASSERT_EQUAL(count, last);
	/* test_api_refusals' two summaries, "api " before the front's detail, made printable. */
	for (seq = 1, api = 0; seq <= last; seq++) {
		if (journal_get(j, seq, &rec) != 0)
			break;
		if (rec->type == JOURNAL_REC_REFUSAL_SUMMARY && strncmp(rec->detail, "api ", 4) == 0) {
			CU_ASSERT(api > 0 || (strcmp(rec->detail, "api https: forbidden=2 unauthenticated=1") == 0 &&
			    rec->count == 3));
			CU_ASSERT(api == 0 || (strcmp(rec->detail, "api public: not-found=1?") == 0 && rec->count == 1));
			api++;
		}
		journal_record_free(rec);
		rec = NULL;
	}
	CU_ASSERT_EQUAL(api, 2);
	/* The answer's journal_seq is the durable intent ([journal] result = next-commit): it holds the whole TBS. */
	CU_ASSERT_EQUAL_FATAL(journal_get(j, g_first_seq, &intent), 0);
	CU_ASSERT_EQUAL(intent->type, JOURNAL_REC_INTENT_TBS);
	CU_ASSERT_EQUAL(intent->serial_len, 17);
	CU_ASSERT_STRING_EQUAL(intent->profile, "web");
	CU_ASSERT_STRING_EQUAL(intent->client_subject, "CN=issuer,O=signerd test");
	CU_ASSERT_EQUAL(intent->client_spki_sha256[0], 0x42);
	/* Its result came in a later commit, and the certificate carries exactly that TBS. */
	CU_ASSERT_EQUAL_FATAL(journal_find_serial(j, intent->serial, intent->serial_len, &intent_seq, &result_seq), 0);
	CU_ASSERT_EQUAL(intent_seq, g_first_seq);
	CU_ASSERT(result_seq > intent_seq);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, result_seq, &rec), 0);
	CU_ASSERT_EQUAL(rec->type, JOURNAL_REC_RESULT);
	CU_ASSERT_EQUAL(rec->intent_seq, intent_seq);
	/* 30 82 LL LL, then the TBS (a leaf is 256 bytes to 64 KiB). */
	CU_ASSERT(rec->cert_der_len > intent->tbs_der_len + 4 &&
	    memcmp(rec->cert_der + 4, intent->tbs_der, intent->tbs_der_len) == 0);
	journal_record_free(intent);
	p = rec->cert_der;
	CU_ASSERT_PTR_NOT_NULL_FATAL(x = d2i_X509(NULL, &p, (long)rec->cert_der_len));
	a = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	b = BN_bin2bn(rec->serial, (int)rec->serial_len, NULL);
	CU_ASSERT(a != NULL && b != NULL && BN_cmp(a, b) == 0);
	BN_free(a);
	BN_free(b);
	X509_free(x);
	journal_record_free(rec);
	journal_close(j);
}

static void
test_teardown(void)
{
	signer_close(g_signer);
	g_signer = NULL;
	hsm_close(g_hsm);
	g_hsm = NULL;
	free(g_root_pem);
	free(g_int_pem);
	sd_test_rmtree(g_dir);
	sd_test_softhsm_free(&fx);
}

int
main(void)
{
	static const struct sd_test_case setup_cases[] = {
		{ "SoftHSM token and keys", test_setup },
	};
	static const struct sd_test_case ceremony_cases[] = {
		{ "roots for P-256, RSA-2048, Ed25519, P-521, RSA-3072", test_ceremony_roots },
		{ "intermediate: chain, AKI, notAfter cap, pathLen", test_ceremony_intermediates },
		{ "refusals: subject form, days, pathLen", test_ceremony_refusals },
	};
	static const struct sd_test_case signer_cases[] = {
		{ "open: key mismatch refused, chain served", test_signer_open },
		{ "issue P-256 leaf under a P-384 intermediate", test_issue_p256 },
		{ "subject only from a matching CN; RSA and Ed25519 keys", test_issue_subjects },
		{ "refusals journal nothing", test_issue_refusals },
		{ "a holder's re-enrollment renews only its own current certificate, same names", test_issue_reenroll },
		{ "SANs from the body; key usage per key type; key_types", test_issue_body_sans },
		{ "SPIFFE IDs and e-mail addresses", test_issue_spiffe_email },
		{ "blocklist, CA keys, CA profile under pathLen 0", test_signer_reopen_policies },
		{ "concurrent issuance", test_issue_concurrent },
		{ "the front's refusal summaries", test_api_refusals },
		{ "journal holds the issuances", test_journal_records },
	};
	static const struct sd_test_case teardown_cases[] = {
		{ "teardown", test_teardown },
	};

	SD_TEST_SUITE("setup", setup_cases);
	SD_TEST_SUITE("ceremony", ceremony_cases);
	SD_TEST_SUITE("signer", signer_cases);
	SD_TEST_SUITE("teardown", teardown_cases);
	return sd_test_run("test_signer");
}
