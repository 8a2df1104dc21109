/*
 * ACME Renewal Information (RFC 9773) and revocation authorisation tests:
 * certIDs made and parsed (RFC 9773's own example, every refusal), the
 * window arithmetic, renewal-info end to end through acme_serve() with a
 * loaded config, a real journal and an issuing CA made here, and who may
 * revoke: the issuing account, the certificate's key, and an account with
 * valid authorizations for every name (the JWS path of revokeCert is left
 * to the integration test).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_ari.h"
#include "acme/acme_internal.h"
#include "acme_fixture.h"
#include "config.h"
#include "journal.h"
#include "journal_fixture.h"
#include "sd_error.h"
#include "sd_test.h"
#include "sd_time.h"

/* RFC 9773 4.1's example. */
static const uint8_t rfc_aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
	0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
static const uint8_t rfc_serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
#define RFC_CERT_ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static void
test_cert_id_rfc(void)
{
	char out[128];

	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, sizeof(rfc_aki), rfc_serial, sizeof(rfc_serial), out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, RFC_CERT_ID);
	/* Exactly the bytes needed, then one short. */
	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, sizeof(rfc_aki), rfc_serial, sizeof(rfc_serial), out,
	                    sizeof(RFC_CERT_ID)),
	    0);
	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, sizeof(rfc_aki), rfc_serial, sizeof(rfc_serial), out,
	                    sizeof(RFC_CERT_ID) - 1),
	    SD_E_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, 0, rfc_serial, sizeof(rfc_serial), out, sizeof(out)), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, sizeof(rfc_aki), rfc_serial, 0, out, sizeof(out)), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_ari_cert_id(rfc_aki, sizeof(rfc_aki), rfc_serial, ACME_ARI_SERIAL_MAX + 1, out,
	                    sizeof(out)),
	    SD_E_INVAL);
}

static void
test_cert_id_parse(void)
{
	struct acme_ari_id id;

	CU_ASSERT_EQUAL_FATAL(acme_ari_id_parse(RFC_CERT_ID, &id), 0);
	CU_ASSERT_EQUAL(id.aki_len, sizeof(rfc_aki));
	CU_ASSERT(memcmp(id.aki, rfc_aki, sizeof(rfc_aki)) == 0);
	/* The leading 0x00 is DER's, not the serial's: the journal keys 87654321. */
	CU_ASSERT_EQUAL(id.serial_len, 4);
	CU_ASSERT_STRING_EQUAL(id.serial_hex, "87654321");
	CU_ASSERT_EQUAL(acme_ari_id_parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.ASM", &id), 0);
	CU_ASSERT_STRING_EQUAL(id.serial_hex, "0123");
}

static void
expect_refused(const char *cert_id, const char *needle)
{
	struct acme_ari_id id;
	int rc = acme_ari_id_parse(cert_id, &id);

	CU_ASSERT_EQUAL(rc, SD_E_INVAL);
	if (rc == SD_E_INVAL)
		CU_ASSERT(detail_has(rc, needle));
}

static void
test_cert_id_refused(void)
{
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE", "padded");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE=", "padded");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQAIdlQyE", "\".\"");
	expect_refused("", "\".\"");
	expect_refused(".AIdlQyE", "keyIdentifier is empty");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.", "serial is empty");
	expect_refused(".", "empty");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl.QyE", "exactly one");
	expect_refused("aYhba4dGQEHhs3uEe6+uLN4ByNQ.AIdlQyE", "not base64url");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AId/QyE", "not base64url");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl QyE", "not base64url");
	/* 0x87...: negative; 0x00 0x12: not minimal; 0x00 alone: zero. */
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.h2VDIQ", "negative");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.ABI", "minimal");
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA", "minimal");
	/* 22 bytes of serial: past the 20 (and a 0x00) RFC 5280 allows. */
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ", "longer than 21");
	/* 21 bytes, no leading 0x00: fits the INTEGER but not a serial. */
	expect_refused("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQEBAQEBAQEBAQEBAQEBAQEBAQEB", "longer than 20");
}

static void
test_window(void)
{
	int64_t s = 0, e = 0;

	acme_ari_window(1000, 1900, 33, 66, false, 5000, &s, &e);
	CU_ASSERT_EQUAL(s, 1297);
	CU_ASSERT_EQUAL(e, 1594);
	acme_ari_window(0, 90 * 86400, 33, 66, false, 0, &s, &e);
	CU_ASSERT_EQUAL(s, 2566080);
	CU_ASSERT_EQUAL(e, 5132160);
	acme_ari_window(1000, 2000, 0, 100, false, 0, &s, &e);
	CU_ASSERT_EQUAL(s, 1000);
	CU_ASSERT_EQUAL(e, 2000);
	/* Revoked: in the past whatever the validity. */
	acme_ari_window(1000, 2000, 33, 66, true, 1000000, &s, &e);
	CU_ASSERT_EQUAL(s, 1000000 - 7200);
	CU_ASSERT_EQUAL(e, 1000000 - 3600);
	/* Backwards validity: an empty window at notBefore. */
	acme_ari_window(2000, 1000, 33, 66, false, 0, &s, &e);
	CU_ASSERT_EQUAL(s, 2000);
	CU_ASSERT_EQUAL(e, 2000);
	/* Extremes must not overflow. */
	acme_ari_window(INT64_MIN, INT64_MAX, 33, 66, false, 0, &s, &e);
	CU_ASSERT(s > INT64_MIN && s < e && e < INT64_MAX);
	acme_ari_window(0, INT64_MAX, 100, 100, false, 0, &s, &e);
	CU_ASSERT_EQUAL(e, INT64_MAX);
}

/* --- renewal-info end to end --- */

struct ca {
	EVP_PKEY *key;
	X509 *cert;
	char *pem;
};

struct revoke_call {
	int answer; /* 0: revoked now, 1: revoked before, 2: SD_E_NOT_FOUND */
	int calls;
	char serial_hex[41];
	uint8_t reason;
	char who[256];
};

static const uint8_t serial_known[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
static struct ca test_ca, other_ca;
/* Keys this CA signed with before ([ca] retired_certificates): spare first in the file, then retired. */
static struct ca retired_ca, spare_ca;
static uint8_t *known_der; /* the certificate of serial_known, DER */
static size_t known_der_len;
static uint8_t known_spki[32]; /* SHA-256 of its SubjectPublicKeyInfo */
static struct revoke_call revoked_calls;
static char tmp[PATH_MAX];

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ext);
	CU_ASSERT_FATAL(X509_add_ext(x, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

/* A certificate of key for serial, valid [nb, na], signed by issuer (NULL: itself, a CA). */
static X509 *
make_cert(EVP_PKEY *key, const struct ca *issuer, const uint8_t *serial, size_t serial_len, int64_t nb, int64_t na)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_bin2bn(serial, (int)serial_len, NULL);

	CU_ASSERT_FATAL(x != NULL && bn != NULL);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1);
	CU_ASSERT_FATAL(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL);
	BN_free(bn);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                    (const unsigned char *)(issuer == NULL ? "Test CA" : "leaf"), -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(issuer == NULL ? x : issuer->cert)) == 1);
	CU_ASSERT_FATAL(X509_set_pubkey(x, key) == 1);
	add_ext(x, x, NID_subject_key_identifier, "hash");
	if (issuer == NULL)
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	else
		add_ext(x, issuer->cert, NID_authority_key_identifier, "keyid:always");
	CU_ASSERT_FATAL(X509_sign(x, issuer == NULL ? key : issuer->key, EVP_sha256()) > 0);
	return x;
}

/* x as PEM, a new string. */
static char *
pem_of(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *pem;
	long n;

	CU_ASSERT_FATAL(bio != NULL && PEM_write_bio_X509(bio, x) == 1);
	n = BIO_get_mem_data(bio, &data);
	CU_ASSERT_FATAL(n > 0);
	pem = strndup(data, (size_t)n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	BIO_free(bio);
	return pem;
}

static void
ca_init(struct ca *ca)
{
	uint8_t serial[1] = { 1 };

	if (ca->key != NULL)
		return;
	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca->key);
	ca->cert = make_cert(ca->key, NULL, serial, 1, 0, 4000000000LL);
	ca->pem = pem_of(ca->cert);
}

static void
ca_free(struct ca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
	memset(ca, 0, sizeof(*ca));
}

static int
ops_revoke(void *ctx, const char *serial_hex, uint8_t reason, const char *who, struct signer_revocation *out)
{
	(void)ctx;
	revoked_calls.calls++;
	(void)snprintf(revoked_calls.serial_hex, sizeof(revoked_calls.serial_hex), "%s", serial_hex);
	revoked_calls.reason = reason;
	(void)snprintf(revoked_calls.who, sizeof(revoked_calls.who), "%s", who);
	memset(out, 0, sizeof(*out));
	if (revoked_calls.answer == 2)
		return sd_error_set(SD_E_NOT_FOUND, "no certificate has serial %s", serial_hex);
	(void)snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", serial_hex);
	(void)snprintf(out->revoked_at, sizeof(out->revoked_at), "2027-01-15T08:00:00Z");
	out->already = revoked_calls.answer == 1;
	return 0;
}

/* Journal a certificate of issuer with serial (its DER INTEGER content), issued under profile. */
static void
journal_issue(struct journal *j, const struct ca *issuer, const uint8_t *serial, size_t serial_len, const char *profile,
    int64_t nb, int64_t na)
{
	struct journal_record r;
	uint8_t ignored[8], key_serial[JOURNAL_SERIAL_MAX], *der = NULL;
	uint64_t in = 0, out = 0;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	x = make_cert(key, issuer, serial, serial_len, nb, na);
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	if (serial_len == sizeof(serial_known) && memcmp(serial, serial_known, serial_len) == 0) {
		unsigned char *spki = NULL;
		int m = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);

		CU_ASSERT_FATAL(m > 0);
		sha256(spki, (size_t)m, known_spki);
		OPENSSL_free(spki);
		OPENSSL_free(known_der);
		known_der = OPENSSL_memdup(der, (size_t)n);
		known_der_len = (size_t)n;
	}
	/* The journal keys serials without DER's leading 0x00, as the certificate index reads them back. */
	if (serial[0] == 0x00) {
		serial++;
		serial_len--;
	}
	CU_ASSERT_FATAL(serial_len <= sizeof(key_serial));
	memcpy(key_serial, serial, serial_len);
	rec_intent(&r, ignored, 1);
	r.serial = key_serial;
	r.serial_len = serial_len;
	r.profile = (char *)(uintptr_t)profile;
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &in), 0);
	rec_result(&r, ignored, in, der, (size_t)n);
	r.serial = key_serial;
	r.serial_len = serial_len;
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &out), 0);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

static const char *config_text = "[hsm]\n"
                                 "module = /usr/lib/softhsm/libsofthsm2.so\n"
                                 "token = pkcs11:token=t\n"
                                 "pin_file = pin\n"
                                 "[ca]\n"
                                 "key = pkcs11:token=t;object=ica\n"
                                 "certificate = ca/ica.pem\n"
                                 "chain = ca/chain.pem\n"
                                 "[journal]\n"
                                 "path = journal\n"
                                 "map_size_mb = 16\n"
                                 "[api]\n"
                                 "port = 0\n"
                                 "tls_certificate = tls/server.pem\n"
                                 "tls_key = tls/server.key\n"
                                 "client_ca = tls/client-ca.pem\n"
                                 "[acme]\n"
                                 "path = acme-state\n"
                                 "map_size_mb = 16\n"
                                 "[profile web]\n"
                                 "default_ttl = 1d\n"
                                 "max_ttl = 90d\n"
                                 "key_usage = digitalSignature\n"
                                 "ext_key_usage = serverAuth\n"
                                 "dns_suffixes = example.com\n"
                                 "acme = true\n"
                                 "acme_eab = false\n"
                                 "[profile short]\n"
                                 "default_ttl = 1d\n"
                                 "max_ttl = 90d\n"
                                 "key_usage = digitalSignature\n"
                                 "ext_key_usage = serverAuth\n"
                                 "dns_suffixes = example.com\n"
                                 "renewal_window = 10-20\n";

static const uint8_t serial_revoked[] = { 0x12, 0x34, 0x56 };
static const uint8_t serial_short[] = { 0x22 };
static const uint8_t serial_gone[] = { 0x33 };
static const uint8_t serial_unknown[] = { 0x44 };
static const uint8_t serial_old[] = { 0x5e, 0x71 }; /* signed by retired_ca */
#define NB 1800000000LL
#define NA (NB + 90LL * 86400)

struct ari_env {
	struct sd_config *cfg;
	struct journal *j;
	struct acme *a;
};

/*
 * The engine over a journal of test_ca's certificates and one of
 * retired_ca's, the configuration config_text then extra; retired.pem
 * holds retired (NULL: no such file). acme_open()'s result.
 */
static int
env_open_base(struct ari_env *env, bool acme, const char *extra, const char *retired)
{
	struct acme_ops ops = { .revoke = ops_revoke,
		.chain_count = acme_fx_chain_count,
		.chain_pem = acme_fx_chain_pem };
	struct journal_revocation rv;
	char path[PATH_MAX], retired_path[PATH_MAX], jdir[PATH_MAX + 16], *text;
	size_t len = strlen(config_text) + strlen(extra) + 1;
	uint64_t seq = 0;
	int rc;

	memset(env, 0, sizeof(*env));
	/* Made under a running suite: its assertions need one. */
	ca_init(&test_ca);
	ca_init(&other_ca);
	ca_init(&retired_ca);
	ca_init(&spare_ca);
	ops.ctx = test_ca.pem;
	sd_test_tmpdir(tmp, "acme-ari");
	text = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	(void)snprintf(text, len, "%s%s", config_text, extra);
	if (!acme) {
		char *on = strstr(text, "acme = true\n");

		CU_ASSERT_PTR_NOT_NULL_FATAL(on);
		memmove(on, on + strlen("acme = true\n"), strlen(on + strlen("acme = true\n")) + 1);
	}
	sd_test_write(tmp, "signerd.conf", text, 0600, path);
	free(text);
	if (retired != NULL)
		sd_test_write(tmp, "retired.pem", retired, 0600, retired_path);
	rc = sd_config_load(path, &env->cfg);
	if (rc != 0)
		printf("config: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	(void)snprintf(jdir, sizeof(jdir), "%s/journal", tmp);
	CU_ASSERT_EQUAL_FATAL(journal_open(jdir, MAP_DEFAULT, &env->j), 0);
	journal_issue(env->j, &test_ca, serial_known, sizeof(serial_known), "web", NB, NA);
	journal_issue(env->j, &test_ca, serial_revoked, sizeof(serial_revoked), "web", NB, NA);
	journal_issue(env->j, &test_ca, serial_short, sizeof(serial_short), "short", NB, NB + 1000);
	journal_issue(env->j, &test_ca, serial_gone, sizeof(serial_gone), "retired", NB, NB + 1000);
	journal_issue(env->j, &retired_ca, serial_old, sizeof(serial_old), "web", NB, NA);
	memset(&rv, 0, sizeof(rv));
	rv.time_ms = NB * 1000;
	rv.serial = serial_revoked;
	rv.serial_len = sizeof(serial_revoked);
	rv.reason = 1;
	rv.client_subject = "CN=admin";
	CU_ASSERT_EQUAL_FATAL(journal_revoke(env->j, &rv, &seq, NULL), 0);
	return acme_open(env->cfg, env->j, &ops, &env->a);
}

/* The engine as env_open_base() opens it, with profile web serving ACME. */
static int
env_open_with(struct ari_env *env, const char *extra, const char *retired)
{
	return env_open_base(env, true, extra, retired);
}

static void
env_open(struct ari_env *env)
{
	CU_ASSERT_EQUAL_FATAL(env_open_with(env, "", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(env->a);
}

#define RETIRED_CONFIG "[ca]\nretired_certificates = retired.pem\n"

/* env_open() with spare_ca's and retired_ca's certificates in [ca] retired_certificates. */
static void
env_open_retired(struct ari_env *env)
{
	size_t len;
	char *pem;
	int rc;

	ca_init(&retired_ca);
	ca_init(&spare_ca);
	len = strlen(spare_ca.pem) + strlen(retired_ca.pem) + 1;
	pem = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	(void)snprintf(pem, len, "%s%s", spare_ca.pem, retired_ca.pem);
	rc = env_open_with(env, RETIRED_CONFIG, pem);
	free(pem);
	if (rc != 0)
		printf("acme_open: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(env->a);
	CU_ASSERT_EQUAL(env->a->n_retired, 2);
}

static void
env_close(struct ari_env *env)
{
	acme_close(env->a);
	journal_close(env->j);
	sd_config_free(env->cfg);
	sd_test_rmtree(tmp);
}

/* GET renewal-info/cert_id on directory profile. */
static struct signer_acme_answer *
renewal_info(struct ari_env *env, const char *profile, const char *cert_id)
{
	struct signer_acme_request req = { .op = SIGNER_ACME_RENEWAL_INFO,
		.profile = profile,
		.base = "https://acme.test",
		.id = cert_id };
	struct signer_acme_answer *ans = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_serve(env->a, &req, &ans), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ans);
	return ans;
}

/* The certID of serial under ca. */
static void
cert_id_of(const struct ca *ca, const uint8_t *serial, size_t len, char out[128])
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ski);
	CU_ASSERT_EQUAL_FATAL(acme_ari_cert_id(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), serial, len,
	                          out, 128),
	    0);
}

/* A 200 answer's window, parsed. */
static void
expect_window(struct signer_acme_answer *ans, int64_t *start, int64_t *end)
{
	json_t *o, *w;

	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	CU_ASSERT_STRING_EQUAL(ans->content_type, "application/json");
	CU_ASSERT_EQUAL(ans->retry_after, ACME_ARI_RETRY_AFTER);
	o = json_loadb(ans->body, ans->body_len, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	w = json_object_get(o, "suggestedWindow");
	CU_ASSERT_FATAL(json_is_object(w));
	CU_ASSERT_EQUAL(json_object_size(o), 1);
	CU_ASSERT_EQUAL_FATAL(sd_time_parse(json_string_value(json_object_get(w, "start")), start), 0);
	CU_ASSERT_EQUAL_FATAL(sd_time_parse(json_string_value(json_object_get(w, "end")), end), 0);
	json_decref(o);
}

static void
expect_problem(struct signer_acme_answer *ans, unsigned status, const char *type)
{
	const char *got;
	json_t *o;

	CU_ASSERT_EQUAL(ans->status, status);
	CU_ASSERT_STRING_EQUAL(ans->content_type, "application/problem+json");
	o = json_loadb(ans->body, ans->body_len, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	/* A window answered instead has no type: a failure, not a crash. */
	got = json_string_value(json_object_get(o, "type"));
	CU_ASSERT_PTR_NOT_NULL(got);
	if (got != NULL)
		CU_ASSERT_STRING_EQUAL(got, type);
	json_decref(o);
}

/* The window of ca's certificate serial, asked through profile's directory: exactly [want_s, want_e]. */
static void
expect_window_is(struct ari_env *env, const struct ca *ca, const uint8_t *serial, size_t len, int64_t want_s,
    int64_t want_e)
{
	struct signer_acme_answer *ans;
	int64_t s = 0, e = 0;
	char id[128];

	cert_id_of(ca, serial, len, id);
	ans = renewal_info(env, "web", id);
	expect_window(ans, &s, &e);
	CU_ASSERT_EQUAL(s, want_s);
	CU_ASSERT_EQUAL(e, want_e);
	CU_ASSERT(ans->nonce[0] != '\0');
	signer_acme_answer_free(ans);
}

/* ... a window in the past, to replace it at once: [now - 2 h, now - 1 h]. */
static void
expect_window_past(struct ari_env *env, const struct ca *ca, const uint8_t *serial, size_t len)
{
	struct signer_acme_answer *ans;
	int64_t s = 0, e = 0, now = (int64_t)time(NULL);
	char id[128];

	cert_id_of(ca, serial, len, id);
	ans = renewal_info(env, "web", id);
	expect_window(ans, &s, &e);
	CU_ASSERT(s >= now - 7200 && s <= now - 7200 + 60);
	CU_ASSERT_EQUAL(e, s + 3600);
	CU_ASSERT(e < now);
	signer_acme_answer_free(ans);
}

/* newOrder's "replaces" of ca's certificate serial refused with problem want, no serial named. */
static void
expect_replace_refused(struct acme_call *c, const struct ca *ca, const uint8_t *serial, size_t len,
    enum acme_problem want)
{
	enum acme_problem p = ACME_P_NONE;
	char id[128], hex[41];

	cert_id_of(ca, serial, len, id);
	CU_ASSERT_EQUAL(acme_ari_replaces(c, id, hex, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, want);
	CU_ASSERT_STRING_EQUAL(hex, "");
}

static void
test_renewal_info(void)
{
	struct ari_env env;

	env_open(&env);
	/* Known: the middle third of its 90 days, the default 33-66. */
	expect_window_is(&env, &test_ca, serial_known, sizeof(serial_known), NB + (NA - NB) * 33 / 100,
	    NB + (NA - NB) * 66 / 100);
	/* The profile it was issued under (10-20), asked through another directory. */
	expect_window_is(&env, &test_ca, serial_short, sizeof(serial_short), NB + 100, NB + 200);
	/* A profile no longer configured: 33-66. */
	expect_window_is(&env, &test_ca, serial_gone, sizeof(serial_gone), NB + 330, NB + 660);
	/* Revoked: the window is in the past, so that it is replaced at once. */
	expect_window_past(&env, &test_ca, serial_revoked, sizeof(serial_revoked));
	env_close(&env);
}

static void
test_renewal_info_refused(void)
{
	struct signer_acme_answer *ans;
	struct ari_env env;
	char id[128];

	env_open(&env);
	cert_id_of(&test_ca, serial_unknown, sizeof(serial_unknown), id);
	ans = renewal_info(&env, "web", id);
	expect_problem(ans, 404, "about:blank");
	signer_acme_answer_free(ans);
	/* A serial this CA knows, under another issuer's key identifier. */
	cert_id_of(&other_ca, serial_known, sizeof(serial_known), id);
	ans = renewal_info(&env, "web", id);
	expect_problem(ans, 404, "about:blank");
	signer_acme_answer_free(ans);
	/* Under this CA's key identifier a serial the journal holds from another key: no such certificate. */
	cert_id_of(&test_ca, serial_old, sizeof(serial_old), id);
	ans = renewal_info(&env, "web", id);
	expect_problem(ans, 404, "about:blank");
	CU_ASSERT(strstr(ans->body, "was not issued under the certID's key") != NULL);
	signer_acme_answer_free(ans);
	/* The key that did sign it is not configured as retired: another issuer's. */
	cert_id_of(&retired_ca, serial_old, sizeof(serial_old), id);
	ans = renewal_info(&env, "web", id);
	expect_problem(ans, 404, "about:blank");
	CU_ASSERT(strstr(ans->body, "names another issuer") != NULL);
	signer_acme_answer_free(ans);
	ans = renewal_info(&env, "web", "aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE");
	expect_problem(ans, 400, "urn:ietf:params:acme:error:malformed");
	signer_acme_answer_free(ans);
	ans = renewal_info(&env, "web", "nodot");
	expect_problem(ans, 400, "urn:ietf:params:acme:error:malformed");
	signer_acme_answer_free(ans);
	/* A profile without ACME has no directory. */
	cert_id_of(&test_ca, serial_known, sizeof(serial_known), id);
	ans = renewal_info(&env, "short", id);
	expect_problem(ans, 404, "about:blank");
	signer_acme_answer_free(ans);
	env_close(&env);
}

/* A 404 about:blank whose detail holds needle. */
static void
expect_not_found(struct signer_acme_answer *ans, const char *needle)
{
	expect_problem(ans, 404, "about:blank");
	if (ans->body == NULL || strstr(ans->body, needle) == NULL) {
		printf("\n  %s lacks \"%s\"\n", ans->body != NULL ? ans->body : "(no body)", needle);
		CU_FAIL("detail");
	}
	signer_acme_answer_free(ans);
}

static void
test_renewal_info_retired(void)
{
	struct ari_env env;
	char id[128];

	env_open_retired(&env);
	/* Valid and not revoked, but its key is retired: the window is in the past, as a revoked one's. */
	expect_window_past(&env, &retired_ca, serial_old, sizeof(serial_old));
	/* The current key's certificates keep their window. */
	expect_window_is(&env, &test_ca, serial_known, sizeof(serial_known), NB + (NA - NB) * 33 / 100,
	    NB + (NA - NB) * 66 / 100);
	/* A serial paired with a key that did not sign it, either way round; the other retired key signed neither. */
	cert_id_of(&test_ca, serial_old, sizeof(serial_old), id);
	expect_not_found(renewal_info(&env, "web", id), "certificate 5e71 was not issued under the certID's key");
	cert_id_of(&retired_ca, serial_known, sizeof(serial_known), id);
	expect_not_found(renewal_info(&env, "web", id), "certificate 87654321 was not issued under");
	cert_id_of(&spare_ca, serial_old, sizeof(serial_old), id);
	expect_not_found(renewal_info(&env, "web", id), "certificate 5e71 was not issued under");
	/* A key identifier neither current nor retired; a serial the journal lacks under a retired key. */
	cert_id_of(&other_ca, serial_old, sizeof(serial_old), id);
	expect_not_found(renewal_info(&env, "web", id), "names another issuer");
	cert_id_of(&retired_ca, serial_unknown, sizeof(serial_unknown), id);
	expect_not_found(renewal_info(&env, "web", id), "no certificate has serial 44");
	env_close(&env);
}

/* A self-signed CA certificate without a subjectKeyIdentifier, PEM. */
static char *
no_ski_pem(void)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	char *pem;

	CU_ASSERT_FATAL(key != NULL && x != NULL);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), 0) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)4000000000LL) != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	                    (const unsigned char *)"No SKI CA", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1);
	CU_ASSERT_FATAL(X509_set_pubkey(x, key) == 1);
	add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	CU_ASSERT_FATAL(X509_sign(x, key, EVP_sha256()) > 0);
	CU_ASSERT_PTR_NULL_FATAL(X509_get0_subject_key_id(x));
	pem = pem_of(x);
	X509_free(x);
	EVP_PKEY_free(key);
	return pem;
}

/* n copies of pem, then tail (may be ""); a new string. */
static char *
pem_repeat(const char *pem, size_t n, const char *tail)
{
	size_t len = strlen(pem) * n + strlen(tail) + 1, i;
	char *out = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	out[0] = '\0';
	for (i = 0; i < n; i++)
		memcpy(out + strlen(pem) * i, pem, strlen(pem) + 1);
	memcpy(out + strlen(pem) * n, tail, strlen(tail) + 1);
	return out;
}

/* acme_open() with retired.pem holding pem (NULL: no such file): SD_E_CONFIG, the detail holding needle. */
static void
expect_retired_refused(const char *pem, const char *needle)
{
	struct ari_env env;
	int rc = env_open_with(&env, RETIRED_CONFIG, pem);

	CU_ASSERT_EQUAL(rc, SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(env.a);
	if (rc != SD_E_CONFIG || !detail_has(rc, needle)) {
		printf("\n  %d %s lacks \"%s\"\n", rc, sd_error_detail(rc), needle);
		CU_FAIL("detail");
	}
	env_close(&env);
}

static void
test_retired_config(void)
{
	struct ari_env env;
	char *pem, *no_ski, *big;

	ca_init(&test_ca);
	ca_init(&retired_ca);
	expect_retired_refused(NULL, "[ca] retired_certificates ");
	expect_retired_refused(NULL, "retired.pem: No such file or directory");
	expect_retired_refused("", "retired.pem: no PEM certificate");
	expect_retired_refused("not a certificate\n", "retired.pem: no PEM certificate");
	expect_retired_refused("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    "retired.pem: certificate 1 is malformed");
	no_ski = no_ski_pem();
	expect_retired_refused(no_ski, "retired.pem: certificate 1 has no subjectKeyIdentifier");
	pem = pem_repeat(retired_ca.pem, 1, no_ski);
	expect_retired_refused(pem, "retired.pem: certificate 2 has no subjectKeyIdentifier");
	free(pem);
	pem = pem_repeat(retired_ca.pem, 1, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	expect_retired_refused(pem, "retired.pem: certificate 2 is malformed");
	free(pem);
	/* The current key would be told to renew for ever. */
	pem = pem_repeat(retired_ca.pem, 1, test_ca.pem);
	expect_retired_refused(pem, "retired.pem: certificate 2 is of the current issuing key");
	free(pem);
	/* ACME_ARI_RETIRED_MAX certificates, and one more. */
	pem = pem_repeat(retired_ca.pem, ACME_ARI_RETIRED_MAX, "");
	CU_ASSERT_EQUAL(env_open_with(&env, RETIRED_CONFIG, pem), 0);
	CU_ASSERT_PTR_NOT_NULL(env.a);
	if (env.a != NULL)
		CU_ASSERT_EQUAL(env.a->n_retired, ACME_ARI_RETIRED_MAX);
	env_close(&env);
	free(pem);
	pem = pem_repeat(retired_ca.pem, ACME_ARI_RETIRED_MAX + 1, "");
	expect_retired_refused(pem, "retired.pem: more than 16 certificates");
	free(pem);
	/* Past the file's bound: refused before it is parsed. */
	big = malloc(ACME_ARI_RETIRED_FILE_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', ACME_ARI_RETIRED_FILE_MAX + 1);
	big[ACME_ARI_RETIRED_FILE_MAX + 1] = '\0';
	expect_retired_refused(big, "larger than 1048576 bytes");
	free(big);
	free(no_ski);
	/* No profile serves ACME: no engine, but a bad file is still refused. */
	CU_ASSERT_EQUAL(env_open_base(&env, false, RETIRED_CONFIG, retired_ca.pem), 0);
	CU_ASSERT_PTR_NULL(env.a);
	env_close(&env);
	CU_ASSERT_EQUAL(env_open_base(&env, false, RETIRED_CONFIG, NULL), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(env.a);
	env_close(&env);
}

/* --- acme_ari_replaces --- */

static void
put_cert(struct acme *a, const char *serial_hex, const char *account, const char *profile, const char *replaced_by)
{
	struct acme_txn *txn = NULL;
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "account", account, "order", "order-1", "profile", profile,
	    "replaced_by", replaced_by != NULL ? json_string(replaced_by) : json_null());

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(a->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_CERT, serial_hex, o, 0), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(o);
}

#define ACCOUNT_A "AAAAAAAAAAAAAAAAAAAAAA"
#define ACCOUNT_B "BBBBBBBBBBBBBBBBBBBBBB"

static void
test_replaces(void)
{
	struct signer_acme_request req = { .op = SIGNER_ACME_NEW_ORDER, .profile = "web", .base = "https://acme.test" };
	struct signer_acme_answer ans;
	enum acme_problem p = ACME_P_NONE;
	struct acme_call c;
	struct ari_env env;
	char id[128], hex[41];

	env_open(&env);
	memset(&c, 0, sizeof(c));
	memset(&ans, 0, sizeof(ans));
	c.a = env.a;
	c.req = &req;
	c.ans = &ans;
	c.profile = sd_config_profile(env.cfg, "web");
	memcpy(c.account_id, ACCOUNT_A, sizeof(ACCOUNT_A));
	put_cert(env.a, "87654321", ACCOUNT_A, "web", NULL);
	put_cert(env.a, "123456", ACCOUNT_A, "web", "order-2");
	put_cert(env.a, "22", ACCOUNT_B, "web", NULL);
	put_cert(env.a, "33", ACCOUNT_A, "short", NULL);

	cert_id_of(&test_ca, serial_known, sizeof(serial_known), id);
	CU_ASSERT_EQUAL(acme_ari_replaces(&c, id, hex, &p), 0);
	CU_ASSERT_EQUAL(p, ACME_P_NONE);
	CU_ASSERT_STRING_EQUAL(hex, "87654321");

	expect_replace_refused(&c, &test_ca, serial_revoked, sizeof(serial_revoked), ACME_P_ALREADY_REPLACED);
	CU_ASSERT_STRING_EQUAL(acme_problem_type(ACME_P_ALREADY_REPLACED), "urn:ietf:params:acme:error:alreadyReplaced");

	/* Another account's, another directory's, one not issued through ACME, another issuer's. */
	expect_replace_refused(&c, &test_ca, serial_short, sizeof(serial_short), ACME_P_MALFORMED);
	CU_ASSERT(detail_has(SD_E_INVAL, "not one this account was issued"));
	expect_replace_refused(&c, &test_ca, serial_gone, sizeof(serial_gone), ACME_P_MALFORMED);
	expect_replace_refused(&c, &test_ca, serial_unknown, sizeof(serial_unknown), ACME_P_MALFORMED);
	expect_replace_refused(&c, &other_ca, serial_known, sizeof(serial_known), ACME_P_MALFORMED);
	CU_ASSERT_EQUAL(acme_ari_replaces(&c, "not a certID", hex, &p), SD_E_INVAL);
	CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);

	/* The same certificate is account B's to replace, not A's. */
	memcpy(c.account_id, ACCOUNT_B, sizeof(ACCOUNT_B));
	cert_id_of(&test_ca, serial_short, sizeof(serial_short), id);
	CU_ASSERT_EQUAL(acme_ari_replaces(&c, id, hex, &p), 0);
	CU_ASSERT_STRING_EQUAL(hex, "22");
	free(ans.body);
	env_close(&env);
}

static void
test_replaces_retired(void)
{
	struct signer_acme_request req = { .op = SIGNER_ACME_NEW_ORDER, .profile = "web", .base = "https://acme.test" };
	struct signer_acme_answer ans;
	enum acme_problem p = ACME_P_NONE;
	struct acme_call c;
	struct ari_env env;
	char id[128], hex[41];
	int round;

	/* Round 0: the key is not configured as retired; round 1: it is. */
	for (round = 0; round < 2; round++) {
		if (round == 0)
			env_open(&env);
		else
			env_open_retired(&env);
		memset(&c, 0, sizeof(c));
		memset(&ans, 0, sizeof(ans));
		c.a = env.a;
		c.req = &req;
		c.ans = &ans;
		c.profile = sd_config_profile(env.cfg, "web");
		memcpy(c.account_id, ACCOUNT_A, sizeof(ACCOUNT_A));
		put_cert(env.a, "5e71", ACCOUNT_A, "web", NULL);

		cert_id_of(&retired_ca, serial_old, sizeof(serial_old), id);
		if (round == 0) {
			CU_ASSERT_EQUAL(acme_ari_replaces(&c, id, hex, &p), SD_E_INVAL);
			CU_ASSERT_EQUAL(p, ACME_P_MALFORMED);
			CU_ASSERT_STRING_EQUAL(hex, "");
		} else {
			CU_ASSERT_EQUAL(acme_ari_replaces(&c, id, hex, &p), 0);
			CU_ASSERT_EQUAL(p, ACME_P_NONE);
			CU_ASSERT_STRING_EQUAL(hex, "5e71");
		}
		/* The same serial under the current key's, or the other retired key's, identifier. */
		expect_replace_refused(&c, &test_ca, serial_old, sizeof(serial_old), ACME_P_MALFORMED);
		CU_ASSERT(detail_has(SD_E_INVAL, "not one this account was issued"));
		expect_replace_refused(&c, &spare_ca, serial_old, sizeof(serial_old), ACME_P_MALFORMED);
		/* Another account's to replace, retired key or not. */
		memcpy(c.account_id, ACCOUNT_B, sizeof(ACCOUNT_B));
		expect_replace_refused(&c, &retired_ca, serial_old, sizeof(serial_old), ACME_P_MALFORMED);
		free(ans.body);
		env_close(&env);
	}
}

/* --- revocation authorisation --- */

static void
test_revoke_authorised(void)
{
	json_t *issued =
	    json_pack("{s:s, s:s, s:s, s:n}", "account", ACCOUNT_A, "order", "o", "profile", "web", "replaced_by");
	uint8_t key[32], cert[32], other[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(issued);
	memset(key, 0x11, sizeof(key));
	memcpy(cert, key, sizeof(cert));
	memset(other, 0x22, sizeof(other));
	/* kid: the issuing account in its directory only. */
	CU_ASSERT_EQUAL(acme_revoke_authorised(issued, "web", ACCOUNT_A, other, cert), ACME_REVOKE_BY_ACCOUNT);
	CU_ASSERT_EQUAL(acme_revoke_authorised(issued, "web", ACCOUNT_B, other, cert), ACME_REVOKE_REFUSED);
	CU_ASSERT_EQUAL(acme_revoke_authorised(issued, "short", ACCOUNT_A, other, cert), ACME_REVOKE_REFUSED);
	CU_ASSERT_EQUAL(acme_revoke_authorised(NULL, "web", ACCOUNT_A, other, cert), ACME_REVOKE_REFUSED);
	/* A kid request signed by the certificate's key still needs the account. */
	CU_ASSERT_EQUAL(acme_revoke_authorised(NULL, "web", ACCOUNT_A, key, cert), ACME_REVOKE_REFUSED);
	/* jwk: the certificate's own key, ACME-issued or not. */
	CU_ASSERT_EQUAL(acme_revoke_authorised(NULL, "web", NULL, key, cert), ACME_REVOKE_BY_KEY);
	CU_ASSERT_EQUAL(acme_revoke_authorised(issued, "web", NULL, key, cert), ACME_REVOKE_BY_KEY);
	CU_ASSERT_EQUAL(acme_revoke_authorised(issued, "web", NULL, other, cert), ACME_REVOKE_REFUSED);
	json_decref(issued);
}

/* --- acme_op_revoke, from a verified request on (the JWS is the integration test's) --- */

struct revoke_env {
	struct ari_env env;
	struct signer_acme_request req;
	struct signer_acme_answer ans;
	struct acme_call c;
};

static void
revoke_open(struct revoke_env *r)
{
	env_open(&r->env);
	memset(&r->req, 0, sizeof(r->req));
	r->req.op = SIGNER_ACME_REVOKE;
	r->req.profile = "web";
	r->req.base = "https://acme.test";
	put_cert(r->env.a, "87654321", ACCOUNT_A, "web", NULL);
	memset(&revoked_calls, 0, sizeof(revoked_calls));
}

/* Serve revokeCert for a payload of der and reason (-1: none), by account (NULL: signed by key). */
static void
revoke_call(struct revoke_env *r, const uint8_t *der, size_t len, int reason, const char *account,
    const uint8_t key[32])
{
	char *b64 = malloc(len / 3 * 4 + 8);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b64);
	(void)acme_b64url_encode(der, len, b64);
	free(r->ans.body);
	memset(&r->ans, 0, sizeof(r->ans));
	memset(&r->c, 0, sizeof(r->c));
	r->c.a = r->env.a;
	r->c.req = &r->req;
	r->c.ans = &r->ans;
	r->c.profile = sd_config_profile(r->env.cfg, "web");
	r->c.payload = reason < 0 ? json_pack("{s:s}", "certificate", b64) :
	                            json_pack("{s:s, s:i}", "certificate", b64, "reason", reason);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->c.payload);
	if (account != NULL)
		memcpy(r->c.account_id, account, ACME_ID_LEN + 1);
	r->c.now = (int64_t)time(NULL);
	memcpy(r->c.spki_sha256, key, 32);
	CU_ASSERT_EQUAL(acme_op_revoke(&r->c), 0);
	json_decref(r->c.payload);
	free(b64);
}

static void
revoke_close(struct revoke_env *r)
{
	free(r->ans.body);
	env_close(&r->env);
}

static void
revoke_expect_problem(struct revoke_env *r, unsigned status, const char *type)
{
	expect_problem(&r->ans, status, type);
	CU_ASSERT_EQUAL(revoked_calls.calls, 0);
}

static void
test_revoke_handler(void)
{
	struct revoke_env r;
	uint8_t other[32];

	memset(other, 0x5a, sizeof(other));
	memset(&r, 0, sizeof(r));
	revoke_open(&r);
	/* The issuing account, default reason. */
	revoke_call(&r, known_der, known_der_len, -1, ACCOUNT_A, other);
	CU_ASSERT_EQUAL(r.ans.status, 200);
	CU_ASSERT_PTR_NULL(r.ans.body);
	CU_ASSERT_PTR_NULL(r.ans.content_type);
	CU_ASSERT_EQUAL(revoked_calls.calls, 1);
	CU_ASSERT_STRING_EQUAL(revoked_calls.serial_hex, "87654321");
	CU_ASSERT_EQUAL(revoked_calls.reason, 0);
	CU_ASSERT_STRING_EQUAL(revoked_calls.who, "acme:web/" ACCOUNT_A);
	/* The certificate's own key (jwk), keyCompromise. */
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoke_call(&r, known_der, known_der_len, 1, NULL, known_spki);
	CU_ASSERT_EQUAL(r.ans.status, 200);
	CU_ASSERT_EQUAL(revoked_calls.reason, 1);
	CU_ASSERT_STRING_EQUAL(revoked_calls.who, "acme:web certificate key");
	/* Revoked before: alreadyRevoked, with the original time. */
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoked_calls.answer = 1;
	revoke_call(&r, known_der, known_der_len, -1, ACCOUNT_A, other);
	expect_problem(&r.ans, 400, "urn:ietf:params:acme:error:alreadyRevoked");
	CU_ASSERT(strstr(r.ans.body, "2027-01-15T08:00:00Z") != NULL);
	/* Signed by this CA yet unknown to the journal: nothing to be authorised for. */
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoked_calls.answer = 2;
	revoke_call(&r, known_der, known_der_len, -1, NULL, known_spki);
	expect_problem(&r.ans, 403, "urn:ietf:params:acme:error:unauthorized");
	revoke_close(&r);
}

static void
test_revoke_refused(void)
{
	struct revoke_env r;
	uint8_t other[32], junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char *der = NULL;
	uint8_t serial[] = { 0x42 };
	X509 *foreign;
	int n;

	memset(other, 0x5a, sizeof(other));
	memset(&r, 0, sizeof(r));
	revoke_open(&r);
	/* Another account; a key that is not the certificate's. */
	revoke_call(&r, known_der, known_der_len, -1, ACCOUNT_B, known_spki);
	revoke_expect_problem(&r, 403, "urn:ietf:params:acme:error:unauthorized");
	revoke_call(&r, known_der, known_der_len, -1, NULL, other);
	revoke_expect_problem(&r, 403, "urn:ietf:params:acme:error:unauthorized");
	/* Reasons a final revocation cannot carry. */
	revoke_call(&r, known_der, known_der_len, 6, ACCOUNT_A, other);
	revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:badRevocationReason");
	revoke_call(&r, known_der, known_der_len, 7, ACCOUNT_A, other);
	revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:badRevocationReason");
	revoke_call(&r, known_der, known_der_len, 8, ACCOUNT_A, other);
	revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:badRevocationReason");
	revoke_call(&r, known_der, known_der_len, 256, ACCOUNT_A, other);
	revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:badRevocationReason");
	/* Not a certificate; trailing bytes after one. */
	revoke_call(&r, junk, sizeof(junk), -1, ACCOUNT_A, other);
	revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:malformed");
	{
		uint8_t *longer = malloc(known_der_len + 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
		memcpy(longer, known_der, known_der_len);
		longer[known_der_len] = 0;
		revoke_call(&r, longer, known_der_len + 1, -1, ACCOUNT_A, other);
		revoke_expect_problem(&r, 400, "urn:ietf:params:acme:error:malformed");
		free(longer);
	}
	/* Another CA's certificate, even with its own key. */
	foreign = make_cert(other_ca.key, &other_ca, serial, sizeof(serial), NB, NA);
	n = i2d_X509(foreign, &der);
	CU_ASSERT_FATAL(n > 0);
	revoke_call(&r, der, (size_t)n, -1, NULL, other);
	revoke_expect_problem(&r, 403, "urn:ietf:params:acme:error:unauthorized");
	CU_ASSERT(strstr(r.ans.body, "not issued by this CA") != NULL);
	OPENSSL_free(der);
	X509_free(foreign);
	revoke_close(&r);
}

/* --- the third way: valid authorizations for every name --- */

/* An authorization of account for name (wildcard: "*." name) in profile, status valid, expiring at expires. */
static void
put_authz(struct acme *a, const char *id, const char *account, const char *profile, const char *name, bool wildcard,
    int64_t expires)
{
	struct acme_txn *txn = NULL;
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:b, s:s, s:I, s:[]}", "account", account, "profile", profile,
	    "identifier", "type", "dns", "value", name, "wildcard", wildcard, "status", "valid", "expires",
	    (json_int_t)expires, "challenges");

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(a->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_AUTHZ, id, o, 0), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(o);
}

/* Account id in the store holding authzs (a JSON array text), newest first. */
static void
put_account(struct acme *a, const char *id, const char *authzs)
{
	struct acme_txn *txn = NULL;
	json_t *o = json_pack("{s:s, s:s, s:o, s:[]}", "profile", "web", "status", "valid", "authzs",
	    json_loads(authzs, 0, NULL), "pending");

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(a->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_ACCOUNT, id, o, 0), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(o);
}

/* A certificate of test_ca with serial byte, subject CN cn (NULL: none) and subjectAltName san (NULL: none); DER. */
static uint8_t *
san_cert(uint8_t serial, const char *cn, const char *san, size_t *len)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	unsigned char *der = NULL;
	ASN1_INTEGER *sn = X509_get_serialNumber(x);
	int n;

	CU_ASSERT_FATAL(key != NULL && x != NULL);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(sn, serial) == 1);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)NB) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)NA) != NULL);
	if (cn != NULL)
		CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
		                    (const unsigned char *)cn, -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(test_ca.cert)) == 1);
	CU_ASSERT_FATAL(X509_set_pubkey(x, key) == 1);
	add_ext(x, test_ca.cert, NID_authority_key_identifier, "keyid:always");
	if (san != NULL)
		add_ext(x, test_ca.cert, NID_subject_alt_name, san);
	CU_ASSERT_FATAL(X509_sign(x, test_ca.key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	X509_free(x);
	EVP_PKEY_free(key);
	return der;
}

/* revokeCert of a certificate of cn and san by account B: refused unauthorized, the detail holding needle. */
static void
revoke_by_b_refused(struct revoke_env *r, uint8_t serial, const char *cn, const char *san, const char *needle)
{
	uint8_t other[32];
	size_t len = 0;
	uint8_t *der = san_cert(serial, cn, san, &len);

	memset(other, 0x5a, sizeof(other));
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoke_call(r, der, len, -1, ACCOUNT_B, other);
	revoke_expect_problem(r, 403, "urn:ietf:params:acme:error:unauthorized");
	if (r->ans.body == NULL || strstr(r->ans.body, needle) == NULL) {
		printf("\n  %s lacks \"%s\"\n", r->ans.body != NULL ? r->ans.body : "(no body)", needle);
		CU_FAIL("detail");
	}
	OPENSSL_free(der);
}

static void
test_revoke_by_authorization(void)
{
	struct revoke_env r;
	int64_t now = (int64_t)time(NULL);
	uint8_t other[32], *der;
	size_t len = 0;

	memset(other, 0x5a, sizeof(other));
	memset(&r, 0, sizeof(r));
	revoke_open(&r);
	/* B: a and *.w valid; v only without a wildcard; e expired; s in another directory; f is A's. */
	put_authz(r.env.a, "authz-a", ACCOUNT_B, "web", "a.example.com", false, now + 3600);
	put_authz(r.env.a, "authz-w", ACCOUNT_B, "web", "w.example.com", true, now + 3600);
	put_authz(r.env.a, "authz-v", ACCOUNT_B, "web", "v.example.com", false, now + 3600);
	put_authz(r.env.a, "authz-e", ACCOUNT_B, "web", "e.example.com", false, now - 10);
	put_authz(r.env.a, "authz-s", ACCOUNT_B, "short", "s.example.com", false, now + 3600);
	put_authz(r.env.a, "authz-f", ACCOUNT_A, "web", "f.example.com", false, now + 3600);
	put_account(r.env.a, ACCOUNT_B,
	    "[\"authz-gone\", \"authz-a\", \"authz-w\", \"authz-v\", \"authz-e\", "
	    "\"authz-s\", \"authz-f\"]");

	/* Every name covered, compared without case: revoked, journaled as by authorization. */
	der = san_cert(0x51, "A.EXAMPLE.com", "DNS:a.Example.COM,DNS:*.W.example.com", &len);
	revoke_call(&r, der, len, 4, ACCOUNT_B, other);
	CU_ASSERT_EQUAL(r.ans.status, 200);
	CU_ASSERT_PTR_NULL(r.ans.body);
	CU_ASSERT_EQUAL(revoked_calls.calls, 1);
	CU_ASSERT_STRING_EQUAL(revoked_calls.serial_hex, "51");
	CU_ASSERT_EQUAL(revoked_calls.reason, 4);
	CU_ASSERT_STRING_EQUAL(revoked_calls.who, "acme:web/" ACCOUNT_B " by authorization");
	OPENSSL_free(der);
	/* The issuing account still revokes as itself. */
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoke_call(&r, known_der, known_der_len, -1, ACCOUNT_A, other);
	CU_ASSERT_EQUAL(r.ans.status, 200);
	CU_ASSERT_STRING_EQUAL(revoked_calls.who, "acme:web/" ACCOUNT_A);

	/* One name uncovered, named; the first one when several are. */
	revoke_by_b_refused(&r, 0x52, NULL, "DNS:a.example.com,DNS:b.example.com,DNS:c.example.com",
	    "no valid authorization of this account covers b.example.com");
	/* A wildcard name needs a wildcard authorization; a plain name a plain one. */
	revoke_by_b_refused(&r, 0x53, NULL, "DNS:*.v.example.com", "covers *.v.example.com");
	revoke_by_b_refused(&r, 0x54, NULL, "DNS:w.example.com", "covers w.example.com");
	/* Expired, another directory's, another account's. */
	revoke_by_b_refused(&r, 0x55, NULL, "DNS:a.example.com,DNS:e.example.com", "covers e.example.com");
	revoke_by_b_refused(&r, 0x56, NULL, "DNS:s.example.com", "covers s.example.com");
	revoke_by_b_refused(&r, 0x57, NULL, "DNS:f.example.com", "covers f.example.com");
	/* Identifiers no authorization can cover. */
	revoke_by_b_refused(&r, 0x58, NULL, "DNS:a.example.com,IP:192.0.2.1", "IP address 192.0.2.1");
	revoke_by_b_refused(&r, 0x59, NULL, "DNS:a.example.com,email:ops@example.com", "email address ops@example.com");
	revoke_by_b_refused(&r, 0x5a, "x.example.com", "DNS:a.example.com", "subject CN x.example.com");
	revoke_by_b_refused(&r, 0x5b, "a.example.com", NULL, "subject CN a.example.com");
	revoke_by_b_refused(&r, 0x5c, NULL, NULL, "no DNS identifier");
	/* An account the store does not hold has no authorizations. */
	der = san_cert(0x5d, NULL, "DNS:a.example.com", &len);
	memset(&revoked_calls, 0, sizeof(revoked_calls));
	revoke_call(&r, der, len, -1, "CCCCCCCCCCCCCCCCCCCCCC", other);
	revoke_expect_problem(&r, 403, "urn:ietf:params:acme:error:unauthorized");
	OPENSSL_free(der);
	revoke_close(&r);
}

int
main(void)
{
	static const struct sd_test_case cert_id[] = {
		{ "RFC 9773 example", test_cert_id_rfc },
		{ "parse", test_cert_id_parse },
		{ "refusals", test_cert_id_refused },
	};
	static const struct sd_test_case window[] = {
		{ "arithmetic", test_window },
	};
	static const struct sd_test_case serve[] = {
		{ "windows", test_renewal_info },
		{ "refusals", test_renewal_info_refused },
		{ "a retired issuing key", test_renewal_info_retired },
		{ "[ca] retired_certificates refusals", test_retired_config },
	};
	static const struct sd_test_case replaces[] = {
		{ "replaces", test_replaces },
		{ "a retired issuing key's certificate", test_replaces_retired },
	};
	static const struct sd_test_case revoke[] = {
		{ "authorised", test_revoke_authorised },
		{ "acme_op_revoke", test_revoke_handler },
		{ "acme_op_revoke refusals", test_revoke_refused },
		{ "acme_op_revoke by authorization", test_revoke_by_authorization },
	};
	int rc;

	SD_TEST_SUITE("acme_ari_cert_id", cert_id);
	SD_TEST_SUITE("acme_ari_window", window);
	SD_TEST_SUITE("acme_op_renewal_info", serve);
	SD_TEST_SUITE("acme_ari_replaces", replaces);
	SD_TEST_SUITE("acme_revoke_authorised", revoke);
	rc = sd_test_run("test_acme_ari");
	OPENSSL_free(known_der);
	ca_free(&test_ca);
	ca_free(&other_ca);
	ca_free(&retired_ca);
	ca_free(&spare_ca);
	return rc;
}
