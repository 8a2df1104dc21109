/*
 * Unit tests of ACME orders, authorizations and challenges
 * (signer/acme/acme_order.c, acme_authz.c), through acme_open() and
 * acme_serve() with a loaded config, a real journal and a real store. The
 * accounts are written to the store directly; requests are "kid" JWS
 * signed here with Ed25519. Issuance is a test operation that checks the
 * request and journals a self-signed certificate under a serial of its own.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme_internal.h"
#include "acme/acme_order.h"
#include "acme_fixture.h"
#include "config.h"
#include "journal.h"
#include "journal_fixture.h"
#include "sd_error.h"
#include "sd_test.h"

#define BASE "https://acme.test"
#define PROFILE "web"
#define CHAIN_PEM "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"

static const char *config_text = "[hsm]\n"
                                 "module = /usr/lib/softhsm/libsofthsm2.so\n"
                                 "token = pkcs11:token=t\n"
                                 "pin_file = pin\n"
                                 "[ca]\n"
                                 "key = pkcs11:token=t;object=ica\n"
                                 "certificate = ca/ica.pem\n"
                                 "chain = /abs/chain.pem\n"
                                 "[journal]\n"
                                 "path = journal\n"
                                 "map_size_mb = 16\n"
                                 "[api]\n"
                                 "port = 0\n"
                                 "tls_certificate = tls/server.pem\n"
                                 "tls_key = tls/server.key\n"
                                 "client_ca = tls/client-ca.pem\n"
                                 "[acme]\n"
                                 "map_size_mb = 16\n"
                                 "orders_per_hour = 60\n"
                                 "pending_authorizations = 4\n"
                                 "identifiers_per_order = 3\n"
                                 "[profile " PROFILE "]\n"
                                 "default_ttl = 2h\n"
                                 "max_ttl = 1d\n"
                                 "key_usage = digitalSignature\n"
                                 "ext_key_usage = serverAuth\n"
                                 "dns_suffixes = example.com\n"
                                 "wildcards = true\n"
                                 "acme = true\n"
                                 "acme_eab = false\n";

/* One account: its key, id and "kid" URL. */
struct tacct {
	EVP_PKEY *key;
	char id[ACME_ID_LEN + 1];
	char kid[256];
	char thumbprint[ACME_THUMBPRINT_LEN + 1];
};

static char tmp[PATH_MAX];
static struct sd_config *cfg;
static struct journal *tjournal;
static struct acme *engine;
static char nonce[64];
static struct tacct alice, bob, carol, rate, busy, wild, lost;
static uint64_t next_serial = 0x1000;
static int issue_calls;
static char issued_serial[41];
static int issue_fail; /* test_issue() fails with this when non-zero */
static const char *want_sans[2] = { "a.example.com", "b.example.com" }; /* what test_issue() expects */

/*
 * The certificate the core would make for req, as DER (OPENSSL_free()):
 * serial id, the CSR's key, req's DNS names, valid an hour.
 */
static uint8_t *
issued_der(const struct signer_request *req, uint64_t id, size_t *len)
{
	static EVP_PKEY *ca_key;
	BIO *bio = BIO_new_mem_buf(req->csr_pem, (int)req->csr_pem_len);
	X509_REQ *csr = bio != NULL ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	X509 *x = X509_new();
	uint8_t *der = NULL;
	size_t i;
	int n;

	if (ca_key == NULL)
		ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_FATAL(csr != NULL && x != NULL && gens != NULL && ca_key != NULL);
	CU_ASSERT_FATAL(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), id) == 1);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL);
	CU_ASSERT_FATAL(X509_set_pubkey(x, X509_REQ_get0_pubkey(csr)) == 1);
	for (i = 0; i < req->n_sans; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *v = ASN1_IA5STRING_new();

		CU_ASSERT_FATAL(g != NULL && v != NULL);
		CU_ASSERT_FATAL(ASN1_STRING_set(v, req->sans[i].value, (int)req->sans[i].len) == 1);
		GENERAL_NAME_set0_value(g, GEN_DNS, v);
		CU_ASSERT_FATAL(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	CU_ASSERT_FATAL(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1);
	CU_ASSERT_FATAL(X509_sign(x, ca_key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	*len = (size_t)n;
	GENERAL_NAMES_free(gens);
	X509_free(x);
	X509_REQ_free(csr);
	BIO_free(bio);
	return der;
}

/* ops.issue: check what the engine asks, then journal a certificate under a new serial. */
static int
test_issue(void *ctx, const struct signer_request *req, struct signer_result **out)
{
	struct journal_record r;
	struct signer_result *res;
	char subject[256], profile[64];
	uint8_t serial[8], *der;
	uint64_t seq = 0, id = next_serial++;
	size_t len = 0;
	int rc;
	time_t now = time(NULL);
	(void)ctx;

	*out = NULL;
	issue_calls++;
	if (issue_fail != 0) {
		rc = sd_error_set(issue_fail, "refused by the test");
		if (issue_fail == SD_E_BUSY)
			sd_error_set_retry_after(3);
		return rc;
	}
	CU_ASSERT_STRING_EQUAL(req->profile, PROFILE);
	CU_ASSERT_PTR_NULL(req->client);
	CU_ASSERT_EQUAL(strncmp(req->client_subject, "acme:" PROFILE "/", 9), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(req->csr_pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));
	CU_ASSERT_EQUAL(req->csr_pem_len, strlen(req->csr_pem));
	CU_ASSERT_EQUAL_FATAL(req->n_sans, 2);
	CU_ASSERT_EQUAL(req->sans[0].type, SIGNER_SAN_DNS);
	CU_ASSERT_EQUAL(req->sans[0].len, strlen(want_sans[0]));
	CU_ASSERT_EQUAL(memcmp(req->sans[0].value, want_sans[0], req->sans[0].len), 0);
	CU_ASSERT_EQUAL(req->sans[1].len, strlen(want_sans[1]));
	CU_ASSERT_EQUAL(memcmp(req->sans[1].value, want_sans[1], req->sans[1].len), 0);
	CU_ASSERT_EQUAL(req->ttl, 0);
	rec_intent(&r, serial, id);
	(void)snprintf(subject, sizeof(subject), "%s", req->client_subject);
	(void)snprintf(profile, sizeof(profile), "%s", req->profile);
	r.client_subject = subject;
	r.profile = profile;
	r.time_ms = (int64_t)now * 1000;
	CU_ASSERT_EQUAL_FATAL(journal_append(tjournal, &r, &seq), 0);
	der = issued_der(req, id, &len);
	rec_result(&r, serial, seq, der, len);
	r.time_ms = (int64_t)now * 1000;
	CU_ASSERT_EQUAL_FATAL(journal_append(tjournal, &r, &seq), 0);
	OPENSSL_free(der);
	res = calloc(1, sizeof(*res));
	CU_ASSERT_PTR_NOT_NULL_FATAL(res);
	(void)snprintf(res->serial_hex, sizeof(res->serial_hex), "%016llx", (unsigned long long)id);
	res->cert_pem = strdup("unused");
	memcpy(issued_serial, res->serial_hex, sizeof(issued_serial));
	*out = res;
	return 0;
}

/* An Ed25519 account in the store; suffixes is a JSON array text. */
static void
account_make(struct tacct *t, const char *suffixes, int64_t tokens)
{
	struct acme_txn *txn = NULL;
	json_t *jwk, *acct;

	t->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->key);
	jwk = acme_fx_jwk(t->key);
	CU_ASSERT_EQUAL_FATAL(acme_jwk_thumbprint(jwk, t->thumbprint), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_id_new(t->id), 0);
	(void)snprintf(t->kid, sizeof(t->kid), BASE "/acme/" PROFILE "/acct/%s", t->id);
	acct = json_pack("{s:s, s:s, s:o, s:s, s:s, s:[], s:I, s:n, s:o, s:[]}", "profile", PROFILE, "status", "valid",
	    "jwk", jwk, "thumbprint", t->thumbprint, "spki_sha256", "", "contact", "created", (json_int_t)time(NULL),
	    "eab", "dns_suffixes", json_loads(suffixes, 0, NULL), "pending");
	CU_ASSERT_PTR_NOT_NULL_FATAL(acct);
	if (tokens >= 0) {
		CU_ASSERT_EQUAL(json_object_set_new(acct, "orders_tokens", json_integer(tokens)), 0);
		CU_ASSERT_EQUAL(json_object_set_new(acct, "orders_at", json_integer(time(NULL))), 0);
	}
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_ACCOUNT, t->id, acct, 0), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(acct);
}

/* Serve one request; the answer's nonce is kept for the next. */
static struct signer_acme_answer *
serve(enum signer_acme_op op, const char *id, const uint8_t *body, size_t len)
{
	struct signer_acme_request req;
	struct signer_acme_answer *ans = NULL;

	memset(&req, 0, sizeof(req));
	req.op = op;
	req.profile = PROFILE;
	req.base = BASE;
	req.id = id;
	req.body = body;
	req.body_len = len;
	CU_ASSERT_EQUAL_FATAL(acme_serve(engine, &req, &ans), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ans);
	CU_ASSERT_FATAL(ans->nonce[0] != '\0');
	memcpy(nonce, ans->nonce, sizeof(nonce));
	return ans;
}

/* POST payload (NULL: POST-as-GET) to kind/id as t. */
static struct signer_acme_answer *
post(const struct tacct *t, enum signer_acme_op op, const char *kind, const char *id, const char *payload)
{
	char url[1024], *body;
	struct signer_acme_answer *ans;
	json_t *h;

	if (nonce[0] == '\0')
		signer_acme_answer_free(serve(SIGNER_ACME_NEW_NONCE, NULL, NULL, 0));
	if (op == SIGNER_ACME_FINALIZE)
		(void)snprintf(url, sizeof(url), BASE "/acme/" PROFILE "/order/%s/finalize", id);
	else if (op == SIGNER_ACME_ORDERS) /* id: ACCOUNT[/CURSOR] */
		(void)snprintf(url, sizeof(url), BASE "/acme/" PROFILE "/acct/%.*s/orders%s", (int)strcspn(id, "/"), id,
		    id + strcspn(id, "/"));
	else
		(void)snprintf(url, sizeof(url), BASE "/acme/" PROFILE "/%s%s%s", kind, id != NULL ? "/" : "",
		    id != NULL ? id : "");
	h = json_pack("{s:s, s:s, s:s, s:s}", "alg", "EdDSA", "nonce", nonce, "url", url, "kid", t->kid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	body = acme_fx_jws_text(t->key, "EdDSA", h, payload != NULL ? payload : "", false);
	ans = serve(op, id, (const uint8_t *)body, strlen(body));
	free(body);
	return ans;
}

static json_t *
answer_json(const struct signer_acme_answer *ans)
{
	json_t *o = json_loadb(ans->body, ans->body_len, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

/* The answer must be the problem type (last part) with status; its detail must hold needle. */
static void
expect_problem(struct signer_acme_answer *ans, unsigned status, const char *type, const char *needle)
{
	char want[128];
	json_t *o = answer_json(ans);

	(void)snprintf(want, sizeof(want), "urn:ietf:params:acme:error:%s", type);
	CU_ASSERT_EQUAL(ans->status, status);
	CU_ASSERT_STRING_EQUAL(ans->content_type, "application/problem+json");
	if (strcmp(type, "-") != 0)
		CU_ASSERT_STRING_EQUAL(acme_json_str(o, "type"), want);
	if (needle != NULL && strstr(acme_json_str(o, "detail"), needle) == NULL) {
		printf("\n  detail \"%s\" lacks \"%s\"\n", acme_json_str(o, "detail"), needle);
		CU_FAIL("detail");
	}
	json_decref(o);
	signer_acme_answer_free(ans);
}

/* The last path part of url into out. */
static void
url_id(const char *url, char *out, size_t cap)
{
	const char *p = strrchr(url, '/');

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	(void)snprintf(out, cap, "%s", p + 1);
}

/* A DER CSR of a new P-256 key with CN cn (NULL: none) and DNS SANs names (comma-separated), base64url. */
static char *
csr_make(const char *cn, const char *names)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	char san[512] = "", *copy = strdup(names), *tok, *save = NULL, *out;
	unsigned char *der = NULL;
	int n;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		(void)snprintf(san + strlen(san), sizeof(san) - strlen(san), "%sDNS:%s", san[0] ? "," : "", tok);
	free(copy);
	CU_ASSERT_FATAL(X509_REQ_set_pubkey(r, k) == 1);
	if (cn != NULL)
		CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
		                    (const unsigned char *)cn, -1, -1, 0) == 1);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ext);
	CU_ASSERT_FATAL(sk_X509_EXTENSION_push(exts, ext) > 0);
	CU_ASSERT_FATAL(X509_REQ_add_extensions(r, exts) == 1);
	CU_ASSERT_FATAL(X509_REQ_sign(r, k, EVP_sha256()) > 0);
	n = i2d_X509_REQ(r, &der);
	CU_ASSERT_FATAL(n > 0);
	out = acme_fx_b64url(der, (size_t)n);
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return out;
}

/* An ACME event record of type event for account id must be in the journal. */
static bool
journal_has_event(uint8_t event, const char *account, const char *detail)
{
	struct journal_record *r = NULL;
	uint64_t seq;
	bool found = false;

	for (seq = 1; !found && journal_get(tjournal, seq, &r) == 0; seq++) {
		if (r->type == JOURNAL_REC_ACME && r->acme_event == event && strcmp(r->acme_account, account) == 0 &&
		    (detail == NULL || strstr(r->detail, detail) != NULL))
			found = true;
		journal_record_free(r);
		r = NULL;
	}
	sd_error_clear();
	return found;
}

/* --- Fixture --- */

static int
suite_init(void)
{
	struct acme_ops ops = { .ctx = (void *)CHAIN_PEM,
		.issue = test_issue,
		.chain_count = acme_fx_chain_count,
		.chain_pem = acme_fx_chain_pem };
	char path[PATH_MAX], jpath[PATH_MAX + 16];

	sd_test_tmpdir(tmp, "acme_order");
	sd_test_write(tmp, "signerd.conf", config_text, 0600, path);
	if (sd_config_load(path, &cfg) != 0) {
		printf("config: %s\n", sd_error_detail(SD_E_CONFIG));
		return -1;
	}
	(void)snprintf(jpath, sizeof(jpath), "%s/journal", tmp);
	if (journal_open(jpath, MAP_DEFAULT, &tjournal) != 0 || acme_open(cfg, tjournal, &ops, &engine) != 0 ||
	    engine == NULL)
		return -1;
	return 0;
}

static int
suite_clean(void)
{
	acme_close(engine);
	journal_close(tjournal);
	sd_config_free(cfg);
	EVP_PKEY_free(alice.key);
	EVP_PKEY_free(bob.key);
	EVP_PKEY_free(carol.key);
	EVP_PKEY_free(rate.key);
	EVP_PKEY_free(busy.key);
	EVP_PKEY_free(wild.key);
	EVP_PKEY_free(lost.key);
	tcert_cleanup();
	sd_test_rmtree(tmp);
	return 0;
}

/* --- newOrder --- */

static char order_id[64], authz_a[64], authz_b[64], order_bad[64], order_again[64];

static void
test_new_order_good(void)
{
	struct signer_acme_answer *ans;
	json_t *o, *authzs;
	char want[512];

	account_make(&alice, "[]", -1);
	account_make(&bob, "[]", -1);
	account_make(&carol, "[\"sub.example.com\"]", -1);
	account_make(&rate, "[]", 0);
	account_make(&busy, "[]", -1);
	ans = post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"A.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"b.example.com\"},{\"type\":\"dns\",\"value\":\"a.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "pending");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "identifiers")), 2);
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_array_get(json_object_get(o, "identifiers"), 0), "value"),
	    "a.example.com");
	authzs = json_object_get(o, "authorizations");
	CU_ASSERT_EQUAL_FATAL(json_array_size(authzs), 2);
	url_id(ans->location, order_id, sizeof(order_id));
	CU_ASSERT_EQUAL(strlen(order_id), ACME_ID_LEN);
	(void)snprintf(want, sizeof(want), BASE "/acme/" PROFILE "/order/%s/finalize", order_id);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "finalize"), want);
	CU_ASSERT_PTR_NULL(json_object_get(o, "certificate"));
	CU_ASSERT_EQUAL(strlen(acme_json_str(o, "expires")), 20);
	url_id(json_string_value(json_array_get(authzs, 0)), authz_a, sizeof(authz_a));
	url_id(json_string_value(json_array_get(authzs, 1)), authz_b, sizeof(authz_b));
	json_decref(o);
	signer_acme_answer_free(ans);
}

static void
test_new_order_refused(void)
{
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"}]}"),
	    400, "rejectedIdentifier", "www.example.org is not allowed by profile web");
	expect_problem(post(&carol, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.com\"}]}"),
	    400, "rejectedIdentifier", "outside the names its External Account Binding allows");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.example.com\"}]}"),
	    400, "rejectedIdentifier", "wildcards need dns-01, which this server does not offer ([acme] resolver is "
	    "not configured)");
	/* The profile is asked first, as it is with a resolver. */
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.example.org\"}]}"),
	    400, "rejectedIdentifier", "*.example.org is not allowed by profile web");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"ip\",\"value\":\"10.0.0.1\"}]}"),
	    400, "unsupportedIdentifier", "\"ip\"");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a..example.com\"}]}"),
	    400, "rejectedIdentifier", "not a valid DNS name");
	expect_problem(
	    post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	        "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},{\"type\":\"dns\",\"value\":"
	        "\"b.example.com\"},{\"type\":\"dns\",\"value\":\"c.example.com\"},{\"type\":\"dns\",\"value\":"
	        "\"d.example.com\"}]}"),
	    400, "malformed", "more than 3 identifiers");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL, "{\"identifiers\":[]}"), 400, "malformed",
	    "non-empty");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}],\"notBefore\":"
	                   "\"2030-01-01T00:00:00Z\"}"),
	    400, "malformed", "notBefore is not supported");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}],\"notAfter\":"
	                   "\"yesterday\"}"),
	    400, "malformed", "notAfter");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL, NULL), 400, "malformed", "payload");
}

static void
test_new_order_rate(void)
{
	struct signer_acme_answer *ans;

	ans = post(&rate, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"r.example.com\"}]}");
	CU_ASSERT(ans->retry_after >= 1 && ans->retry_after <= 60);
	expect_problem(ans, 429, "rateLimited", "at most 60 new orders an hour");
}

static void
test_new_order_pending_limit(void)
{
	struct signer_acme_answer *ans;

	ans = post(&busy, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p1.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"p2.example.com\"},{\"type\":\"dns\",\"value\":\"p3.example.com\"}]}");
	CU_ASSERT_EQUAL(ans->status, 201);
	signer_acme_answer_free(ans);
	/* p1 reuses the pending authorization; p4 and p5 make five. */
	expect_problem(post(&busy, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p1.example.com\"},{\"type\":\"dns\","
	                   "\"value\":"
	                   "\"p4.example.com\"},{\"type\":\"dns\",\"value\":\"p5.example.com\"}]}"),
	    429, "rateLimited", "5 pending authorizations, more than 4");
	ans = post(&busy, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p1.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"p4.example.com\"}]}");
	CU_ASSERT_EQUAL(ans->status, 201);
	signer_acme_answer_free(ans);
}

/* --- authz, challenge, validation --- */

static char chall_id[64];

static void
test_authz_get(void)
{
	struct signer_acme_answer *ans = post(&alice, SIGNER_ACME_AUTHZ, "authz", authz_a, NULL);
	json_t *o, *ch;

	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "pending");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_object_get(o, "identifier"), "value"), "a.example.com");
	CU_ASSERT_EQUAL_FATAL(json_array_size(json_object_get(o, "challenges")), 2);
	ch = json_array_get(json_object_get(o, "challenges"), 0);
	CU_ASSERT_STRING_EQUAL(acme_json_str(ch, "type"), "http-01");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_array_get(json_object_get(o, "challenges"), 1), "type"),
	    "tls-alpn-01");
	CU_ASSERT_EQUAL(strlen(acme_json_str(ch, "token")), 43);
	CU_ASSERT_PTR_NULL(json_object_get(o, "wildcard"));
	url_id(acme_json_str(ch, "url"), chall_id, sizeof(chall_id));
	CU_ASSERT_EQUAL(strlen(chall_id), ACME_ID_LEN + 2);
	json_decref(o);
	signer_acme_answer_free(ans);
	expect_problem(post(&bob, SIGNER_ACME_AUTHZ, "authz", authz_a, NULL), 404, "-", "no such authorization");
	expect_problem(post(&alice, SIGNER_ACME_AUTHZ, "authz", "nope", NULL), 404, "-", NULL);
}

/* Mark order id processing since seconds ago, as a finalize under way (or lost) leaves it. */
static void
order_processing(const char *id, int64_t seconds)
{
	struct acme_txn *txn = NULL;
	json_t *o = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_get(txn, ACME_T_ORDER, id, &o), 0);
	CU_ASSERT_EQUAL(json_object_set_new(o, "status", json_string("processing")), 0);
	CU_ASSERT_EQUAL(json_object_set_new(o, "processing_at", json_integer(time(NULL) - seconds)), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_ORDER, id, o, acme_json_int(o, "expires", 0)), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(o);
}

/* The status t's order id answers with (static). */
static const char *
order_status_as(const struct tacct *t, const char *id)
{
	static char status[32];
	struct signer_acme_answer *ans = post(t, SIGNER_ACME_ORDER, "order", id, NULL);
	json_t *o = answer_json(ans);

	(void)snprintf(status, sizeof(status), "%s", acme_json_str(o, "status") != NULL ? acme_json_str(o, "status") : "");
	json_decref(o);
	signer_acme_answer_free(ans);
	return status;
}

/* The status alice's order id answers with (static). */
static const char *
order_status(const char *id)
{
	return order_status_as(&alice, id);
}

/* Move challenge i of authorization authz's start seconds into the past, as a lost validation's. */
static void
challenge_age(const char *authz, size_t i, int64_t seconds)
{
	struct acme_txn *txn = NULL;
	json_t *a = NULL, *ch;

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_get(txn, ACME_T_AUTHZ, authz, &a), 0);
	ch = json_array_get(json_object_get(a, "challenges"), i);
	CU_ASSERT_FATAL(ch != NULL);
	CU_ASSERT_EQUAL(json_object_set_new(ch, "processing_at", json_integer(time(NULL) - seconds)), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_AUTHZ, authz, a, acme_json_int(a, "expires", 0)), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(a);
}

/* POST {} to the challenge: processing, the validation asked of the front. */
static void
challenge_start(const char *authz, char *cid, size_t cap, const char **token_out)
{
	static char token[64];
	struct signer_acme_answer *ans;
	char want[256];
	json_t *o;

	(void)snprintf(cid, cap, "%s.0", authz);
	ans = post(&alice, SIGNER_ACME_CHALLENGE, "chall", cid, "{}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "processing");
	CU_ASSERT_FATAL(ans->validate);
	CU_ASSERT_STRING_EQUAL(ans->validation.challenge, cid);
	CU_ASSERT_STRING_EQUAL(ans->validation.type, "http-01");
	CU_ASSERT_STRING_EQUAL(ans->validation.token, acme_json_str(o, "token"));
	(void)snprintf(want, sizeof(want), "%s.%s", acme_json_str(o, "token"), alice.thumbprint);
	CU_ASSERT_STRING_EQUAL(ans->validation.key_authorization, want);
	(void)snprintf(want, sizeof(want), "<" BASE "/acme/" PROFILE "/authz/%s>;rel=\"up\"", authz);
	CU_ASSERT_STRING_EQUAL(ans->links[0], want);
	(void)snprintf(token, sizeof(token), "%s", acme_json_str(o, "token"));
	*token_out = token;
	json_decref(o);
	signer_acme_answer_free(ans);
}

static void
test_challenge_and_validation(void)
{
	struct signer_acme_answer *ans;
	const char *token;
	char cid[64];
	json_t *o;

	/* Finalize before ready. */
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, "{\"csr\":\"AA\"}"), 403, "orderNotReady",
	    "pending");
	/* POST-as-GET only reads. */
	ans = post(&alice, SIGNER_ACME_CHALLENGE, "chall", chall_id, NULL);
	CU_ASSERT_EQUAL(ans->status, 200);
	CU_ASSERT_FALSE(ans->validate);
	signer_acme_answer_free(ans);
	challenge_start(authz_a, cid, sizeof(cid), &token);
	CU_ASSERT_STRING_EQUAL(alice.kid + strlen(alice.kid) - ACME_ID_LEN, alice.id);
	CU_ASSERT_EQUAL(strlen(token), 43);
	/* A second POST does not validate again. */
	ans = post(&alice, SIGNER_ACME_CHALLENGE, "chall", cid, "{}");
	CU_ASSERT_EQUAL(ans->status, 200);
	CU_ASSERT_FALSE(ans->validate);
	signer_acme_answer_free(ans);
	/* A validation never reported (the front restarted): once it is old, a POST starts it again. */
	challenge_age(authz_a, 0, 3600);
	ans = post(&alice, SIGNER_ACME_CHALLENGE, "chall", cid, "{}");
	CU_ASSERT_EQUAL(ans->status, 200);
	CU_ASSERT_TRUE(ans->validate);
	CU_ASSERT_STRING_EQUAL(ans->validation.challenge, cid);
	signer_acme_answer_free(ans);
	ans = post(&alice, SIGNER_ACME_CHALLENGE, "chall", cid, "{}");
	CU_ASSERT_FALSE(ans->validate);
	signer_acme_answer_free(ans);
	/* Foreign challenge, unknown challenge. */
	expect_problem(post(&bob, SIGNER_ACME_CHALLENGE, "chall", cid, "{}"), 404, "-", NULL);
	expect_problem(post(&alice, SIGNER_ACME_CHALLENGE, "chall", "x.0", "{}"), 404, "-", NULL);

	CU_ASSERT_EQUAL(acme_challenge_validated(engine, PROFILE, cid, NULL, NULL, time(NULL)), 0);
	CU_ASSERT_EQUAL(acme_challenge_validated(engine, PROFILE, cid, NULL, NULL, time(NULL)), SD_E_NOT_FOUND);
	CU_ASSERT_TRUE(journal_has_event(JOURNAL_ACME_AUTHZ_VALID, alice.id, "dns:a.example.com http-01"));
	ans = post(&alice, SIGNER_ACME_AUTHZ, "authz", authz_a, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "valid");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_array_get(json_object_get(o, "challenges"), 0), "status"), "valid");
	CU_ASSERT_PTR_NOT_NULL(acme_json_str(json_array_get(json_object_get(o, "challenges"), 0), "validated"));
	json_decref(o);
	signer_acme_answer_free(ans);

	/* One of two valid: still pending. */
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_id, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "pending");
	json_decref(o);
	signer_acme_answer_free(ans);

	challenge_start(authz_b, cid, sizeof(cid), &token);
	CU_ASSERT_EQUAL(acme_validated(engine, PROFILE, cid, NULL, NULL), 0);
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_id, NULL);
	CU_ASSERT_EQUAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "ready");
	json_decref(o);
	signer_acme_answer_free(ans);
	expect_problem(post(&bob, SIGNER_ACME_ORDER, "order", order_id, NULL), 404, "-", "no such order");

	/* A finalize under way stays processing; one the signer never finished is ready again. */
	order_processing(order_id, 10);
	CU_ASSERT_STRING_EQUAL(order_status(order_id), "processing");
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, "{\"csr\":\"AA\"}"), 403, "orderNotReady",
	    NULL);
	order_processing(order_id, ACME_ORDER_LOST_SECONDS + 1);
	CU_ASSERT_STRING_EQUAL(order_status(order_id), "ready");
}

static void
test_validation_failure(void)
{
	struct signer_acme_answer *ans;
	const char *token;
	char cid[64], authz[64];
	json_t *o;

	ans = post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"c.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	url_id(ans->location, order_bad, sizeof(order_bad));
	o = answer_json(ans);
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), authz, sizeof(authz));
	json_decref(o);
	signer_acme_answer_free(ans);
	challenge_start(authz, cid, sizeof(cid), &token);
	CU_ASSERT_EQUAL(acme_challenge_validated(engine, PROFILE, cid, "urn:x", "d", time(NULL)), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_challenge_validated(engine, "other", cid, "connection", "d", time(NULL)), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_challenge_validated(engine, PROFILE, cid, "connection", "refused", time(NULL)), 0);
	CU_ASSERT_TRUE(journal_has_event(JOURNAL_ACME_AUTHZ_INVALID, alice.id, "connection: refused"));
	ans = post(&alice, SIGNER_ACME_AUTHZ, "authz", authz, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "invalid");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_object_get(json_array_get(json_object_get(o, "challenges"), 0),
	                                         "error"),
	                           "type"),
	    "urn:ietf:params:acme:error:connection");
	json_decref(o);
	signer_acme_answer_free(ans);
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_bad, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "invalid");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_object_get(o, "error"), "type"),
	    "urn:ietf:params:acme:error:connection");
	json_decref(o);
	signer_acme_answer_free(ans);
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_bad, "{\"csr\":\"AA\"}"), 403, "orderNotReady",
	    "invalid");
}

static void
test_authz_deactivate(void)
{
	struct signer_acme_answer *ans;
	char authz[64];
	json_t *o;

	ans = post(&bob, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"d.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), authz, sizeof(authz));
	json_decref(o);
	signer_acme_answer_free(ans);
	expect_problem(post(&bob, SIGNER_ACME_AUTHZ, "authz", authz, "{\"status\":\"valid\"}"), 400, "malformed",
	    "deactivated");
	expect_problem(post(&alice, SIGNER_ACME_AUTHZ, "authz", authz, "{\"status\":\"deactivated\"}"), 404, "-", NULL);
	ans = post(&bob, SIGNER_ACME_AUTHZ, "authz", authz, "{\"status\":\"deactivated\"}");
	CU_ASSERT_EQUAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "deactivated");
	json_decref(o);
	signer_acme_answer_free(ans);
}

/* --- finalize, certificate --- */

static void
test_finalize(void)
{
	struct signer_acme_answer *ans;
	char payload[4096], *csr, want[512];
	json_t *o;

	csr = csr_make("a.example.com", "a.example.com,c.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, payload), 400, "badCSR", "b.example.com");
	csr = csr_make("x.example.com", "a.example.com,B.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, payload), 400, "badCSR",
	    "x.example.com, not in the order");
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, "{\"csr\":\"AAAA\"}"), 400, "badCSR", NULL);
	expect_problem(post(&bob, SIGNER_ACME_FINALIZE, NULL, order_id, "{\"csr\":\"AAAA\"}"), 404, "-", NULL);
	CU_ASSERT_EQUAL(issue_calls, 0);

	csr = csr_make(NULL, "a.example.com,B.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	ans = post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, payload);
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	CU_ASSERT_EQUAL(issue_calls, 1);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "valid");
	(void)snprintf(want, sizeof(want), BASE "/acme/" PROFILE "/cert/%s", issued_serial);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "certificate"), want);
	(void)snprintf(want, sizeof(want), BASE "/acme/" PROFILE "/order/%s", order_id);
	CU_ASSERT_STRING_EQUAL(ans->location, want);
	json_decref(o);
	signer_acme_answer_free(ans);
	/* Valid: no second issuance. */
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_id, payload), 403, "orderNotReady", "valid");
	CU_ASSERT_EQUAL(issue_calls, 1);
}

static void
test_cert(void)
{
	struct signer_acme_answer *ans;

	ans = post(&alice, SIGNER_ACME_CERT, "cert", issued_serial, NULL);
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	CU_ASSERT_STRING_EQUAL(ans->content_type, "application/pem-certificate-chain");
	CU_ASSERT_EQUAL(strncmp(ans->body, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ans->body, "-----END CERTIFICATE-----\n" CHAIN_PEM));
	signer_acme_answer_free(ans);
	expect_problem(post(&bob, SIGNER_ACME_CERT, "cert", issued_serial, NULL), 404, "-", "no such certificate");
	expect_problem(post(&alice, SIGNER_ACME_CERT, "cert", "00ff", NULL), 404, "-", NULL);
	expect_problem(post(&alice, SIGNER_ACME_CERT, "cert", "zz", NULL), 404, "-", NULL);
	expect_problem(post(&alice, SIGNER_ACME_CERT, "cert", "ABCD", NULL), 404, "-", NULL);
}

/* A second order for the same names reuses the valid authorizations: ready at once. */
static void
test_reuse(void)
{
	struct signer_acme_answer *ans = post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"b.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"a.example.com\"}]}");
	char id[64];
	json_t *o;

	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "ready");
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), id, sizeof(id));
	CU_ASSERT_STRING_EQUAL(id, authz_b);
	json_decref(o);
	url_id(ans->location, order_again, sizeof(order_again));
	signer_acme_answer_free(ans);
}

/* The core's refusals: retryable ones leave the order ready, the request's own make it invalid. */
static void
test_finalize_refused(void)
{
	struct signer_acme_answer *ans;
	char payload[4096], *csr;
	json_t *o;

	csr = csr_make("a.example.com", "b.example.com,a.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	issue_fail = SD_E_HSM_UNAVAILABLE;
	ans = post(&alice, SIGNER_ACME_FINALIZE, NULL, order_again, payload);
	CU_ASSERT_EQUAL(ans->retry_after, 5);
	expect_problem(ans, 500, "serverInternal", "refused by the test");
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_again, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "ready");
	json_decref(o);
	signer_acme_answer_free(ans);
	/* Busy: a limit with the gate's Retry-After, the order ready again. */
	issue_fail = SD_E_BUSY;
	ans = post(&alice, SIGNER_ACME_FINALIZE, NULL, order_again, payload);
	CU_ASSERT_EQUAL(ans->retry_after, 3);
	expect_problem(ans, 429, "rateLimited", "refused by the test");
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_again, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "ready");
	json_decref(o);
	signer_acme_answer_free(ans);
	issue_fail = SD_E_NAME_REFUSED;
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_again, payload), 400, "badCSR",
	    "refused by the test");
	issue_fail = 0;
	ans = post(&alice, SIGNER_ACME_ORDER, "order", order_again, NULL);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "invalid");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_object_get(o, "error"), "type"), "urn:ietf:params:acme:error:badCSR");
	json_decref(o);
	signer_acme_answer_free(ans);
	expect_problem(post(&alice, SIGNER_ACME_FINALIZE, NULL, order_again, payload), 403, "orderNotReady", "invalid");
}

/* "replaces" goes through acme_ari_replaces(): a certID it refuses is refused. */
static void
test_new_order_replaces(void)
{
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}],\"replaces\":\"bogus\"}"),
	    400, "malformed", "replaces");
	expect_problem(post(&alice, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}],\"replaces\":5}"),
	    400, "malformed", "certID");
}

/* --- the account's orders list --- */

static char order_f[64], order_g[64];

/* A new order of t for name; its id into out. */
static void
order_new(const struct tacct *t, const char *name, char *out, size_t cap)
{
	char payload[256];
	struct signer_acme_answer *ans;

	(void)snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name);
	ans = post(t, SIGNER_ACME_NEW_ORDER, "new-order", NULL, payload);
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	url_id(ans->location, out, cap);
	signer_acme_answer_free(ans);
}

/*
 * One page of t's orders list from cursor (NULL: the first): its order ids
 * into ids (a new array); the next page's cursor into next ("" : none).
 */
static json_t *
orders_page(const struct tacct *t, const char *cursor, char *next, size_t cap)
{
	char id[256], want[256], order[64];
	struct signer_acme_answer *ans;
	json_t *o, *ids = json_array(), *v;
	const char *link = NULL;
	size_t i;

	(void)snprintf(id, sizeof(id), "%s%s%s", t->id, cursor != NULL ? "/" : "", cursor != NULL ? cursor : "");
	ans = post(t, SIGNER_ACME_ORDERS, "acct", id, NULL);
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	CU_ASSERT_STRING_EQUAL(ans->content_type, "application/json");
	o = answer_json(ans);
	CU_ASSERT_EQUAL(json_object_size(o), 1);
	json_array_foreach(json_object_get(o, "orders"), i, v)
	{
		(void)snprintf(want, sizeof(want), BASE "/acme/" PROFILE "/order/");
		CU_ASSERT_EQUAL(strncmp(json_string_value(v), want, strlen(want)), 0);
		url_id(json_string_value(v), order, sizeof(order));
		CU_ASSERT_EQUAL(json_array_append_new(ids, json_string(order)), 0);
	}
	next[0] = '\0';
	for (i = 0; i < ans->n_links; i++)
		if (strstr(ans->links[i], ";rel=\"next\"") != NULL)
			link = ans->links[i];
	if (link != NULL) {
		(void)snprintf(want, sizeof(want), "<" BASE "/acme/" PROFILE "/acct/%s/orders/", t->id);
		CU_ASSERT_EQUAL_FATAL(strncmp(link, want, strlen(want)), 0);
		(void)snprintf(next, cap, "%.*s", (int)strcspn(link + strlen(want), ">"), link + strlen(want));
	}
	json_decref(o);
	signer_acme_answer_free(ans);
	return ids;
}

/* Whether ids (an array of strings) holds id. */
static bool
ids_have(const json_t *ids, const char *id)
{
	const json_t *v;
	size_t i;

	json_array_foreach(ids, i, v)
	{
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	}
	return false;
}

static void
test_orders_list(void)
{
	char next[128], id[256], order_e[64];
	json_t *ids;

	/* Alice: her valid order; the invalid ones (a failed challenge, a refused CSR) are left out. */
	ids = orders_page(&alice, NULL, next, sizeof(next));
	CU_ASSERT_EQUAL(json_array_size(ids), 1);
	CU_ASSERT_TRUE(ids_have(ids, order_id));
	CU_ASSERT_FALSE(ids_have(ids, order_bad));
	CU_ASSERT_FALSE(ids_have(ids, order_again));
	CU_ASSERT_STRING_EQUAL(next, "");
	json_decref(ids);
	/* Bob: his pending order only (his other one's authorization was deactivated). */
	order_new(&bob, "e.example.com", order_e, sizeof(order_e));
	ids = orders_page(&bob, NULL, next, sizeof(next));
	CU_ASSERT_EQUAL(json_array_size(ids), 1);
	CU_ASSERT_TRUE(ids_have(ids, order_e));
	json_decref(ids);
	/* Another account's list; a POST with a payload. */
	expect_problem(post(&bob, SIGNER_ACME_ORDERS, "acct", alice.id, NULL), 403, "unauthorized", "its own");
	(void)snprintf(id, sizeof(id), "%s/%s", alice.id, "0000000000000000.AAAAAAAAAAAAAAAAAAAAAA");
	expect_problem(post(&bob, SIGNER_ACME_ORDERS, "acct", id, NULL), 403, "unauthorized", "its own");
	expect_problem(post(&alice, SIGNER_ACME_ORDERS, "acct", alice.id, "{}"), 400, "malformed", "POST-as-GET");
	/* Malformed cursors. */
	(void)snprintf(id, sizeof(id), "%s/zz", alice.id);
	expect_problem(post(&alice, SIGNER_ACME_ORDERS, "acct", id, NULL), 400, "malformed", "cursor");
	(void)snprintf(id, sizeof(id), "%s/000000000000000G.AAAAAAAAAAAAAAAAAAAAAA", alice.id);
	expect_problem(post(&alice, SIGNER_ACME_ORDERS, "acct", id, NULL), 400, "malformed", "cursor");
	(void)snprintf(id, sizeof(id), "%s/0000000000000000.AAAAAAAAAAAAAAAAAAAAA.", alice.id);
	expect_problem(post(&alice, SIGNER_ACME_ORDERS, "acct", id, NULL), 400, "malformed", "cursor");
	(void)snprintf(id, sizeof(id), "%s/0000000000000000-AAAAAAAAAAAAAAAAAAAAAA", alice.id);
	expect_problem(post(&alice, SIGNER_ACME_ORDERS, "acct", id, NULL), 400, "malformed", "cursor");
}

static void
test_orders_pages(void)
{
	char cur2[128], cur3[128], none[128], next[128];
	json_t *p1, *p2, *p3;

	/* Pages of one: newest first, g a second after f, each with the next page's Link. */
	order_new(&alice, "f.example.com", order_f, sizeof(order_f));
	sleep(1);
	order_new(&alice, "g.example.com", order_g, sizeof(order_g));
	engine->orders_page = 1;
	p1 = orders_page(&alice, NULL, cur2, sizeof(cur2));
	CU_ASSERT_EQUAL(json_array_size(p1), 1);
	CU_ASSERT_TRUE(ids_have(p1, order_g));
	CU_ASSERT_NOT_EQUAL_FATAL(cur2[0], '\0');
	p2 = orders_page(&alice, cur2, cur3, sizeof(cur3));
	CU_ASSERT_EQUAL(json_array_size(p2), 1);
	CU_ASSERT_NOT_EQUAL_FATAL(cur3[0], '\0');
	p3 = orders_page(&alice, cur3, none, sizeof(none));
	CU_ASSERT_EQUAL(json_array_size(p3), 1);
	CU_ASSERT_STRING_EQUAL(none, "");
	/* f is older than g; order_id may share f's second, so the two follow in either order. */
	CU_ASSERT_TRUE(ids_have(p2, order_f) || ids_have(p3, order_f));
	CU_ASSERT_TRUE(ids_have(p2, order_id) || ids_have(p3, order_id));
	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	/* A whole page at once. */
	engine->orders_page = ACME_ORDERS_PAGE;
	p1 = orders_page(&alice, NULL, next, sizeof(next));
	CU_ASSERT_EQUAL(json_array_size(p1), 3);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(p1, 0)), order_g);
	CU_ASSERT_STRING_EQUAL(next, "");
	json_decref(p1);
}

struct prefixed {
	const char *prefix;
	size_t count;
};

/* acme_store_foreach() callback: count the entries under a prefix. */
static int
count_prefixed(const char *key, const json_t *value, void *arg)
{
	struct prefixed *p = arg;

	(void)value;
	if (strncmp(key, p->prefix, strlen(p->prefix)) == 0)
		p->count++;
	return 0;
}

/* Once the sweep deleted the expired orders, their index entries are gone with them. */
static void
test_orders_swept(void)
{
	struct acme_txn *txn = NULL;
	char prefix[ACME_ID_LEN + 2], next[128];
	json_t *order = NULL, *ids;
	struct prefixed p = { prefix, 0 };
	size_t deleted = 0;

	(void)snprintf(prefix, sizeof(prefix), "%s/", alice.id);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, false, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_get(txn, ACME_T_ORDER, order_g, &order), 0);
	acme_store_abort(txn);
	/* Past g's expiry (the newest order's): every order of alice expired. */
	CU_ASSERT_EQUAL(acme_store_sweep(engine->store, acme_json_int(order, "expires", 0) + 1, 10000, &deleted), 0);
	CU_ASSERT(deleted >= 6);
	json_decref(order);
	ids = orders_page(&alice, NULL, next, sizeof(next));
	CU_ASSERT_EQUAL(json_array_size(ids), 0);
	json_decref(ids);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, false, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_ACCOUNT_ORDER, NULL, 100000, count_prefixed, &p), 0);
	acme_store_abort(txn);
	CU_ASSERT_EQUAL(p.count, 0);
}

/* POST {} to challenge i of authz as t: the validation the front is asked for, of type. */
static void
challenge_start_as(const struct tacct *t, const char *authz, size_t i, const char *type, const char *name)
{
	struct signer_acme_answer *ans;
	char cid[64], want[256];
	json_t *o;

	(void)snprintf(cid, sizeof(cid), "%s.%zu", authz, i);
	ans = post(t, SIGNER_ACME_CHALLENGE, "chall", cid, "{}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "type"), type);
	CU_ASSERT_FATAL(ans->validate);
	CU_ASSERT_STRING_EQUAL(ans->validation.type, type);
	CU_ASSERT_STRING_EQUAL(ans->validation.name, name);
	(void)snprintf(want, sizeof(want), "%s.%s", acme_json_str(o, "token"), t->thumbprint);
	CU_ASSERT_STRING_EQUAL(ans->validation.key_authorization, want);
	json_decref(o);
	signer_acme_answer_free(ans);
	CU_ASSERT_EQUAL(acme_challenge_validated(engine, PROFILE, cid, NULL, NULL, time(NULL)), 0);
}

/* The authorization id as t: its identifier value, "wildcard", and its challenge types joined by ','. */
static void
authz_expect(const struct tacct *t, const char *id, const char *value, bool wildcard, const char *types)
{
	struct signer_acme_answer *ans = post(t, SIGNER_ACME_AUTHZ, "authz", id, NULL);
	const json_t *ch;
	char got[128] = "";
	json_t *o;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_object_get(o, "identifier"), "value"), value);
	CU_ASSERT_EQUAL(json_is_true(json_object_get(o, "wildcard")), wildcard);
	json_array_foreach(json_object_get(o, "challenges"), i, ch)
	    (void)snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? "," : "", acme_json_str(ch, "type"));
	if (strcmp(got, types) != 0) {
		printf("\n  authorization %s offers %s, want %s\n", value, got, types);
		CU_FAIL("challenge types");
	}
	json_decref(o);
	signer_acme_answer_free(ans);
}

/*
 * With [acme] resolver: every authorization offers dns-01 as well, a
 * wildcard is accepted and its authorization (of the base name, "wildcard")
 * offers dns-01 only; finalize wants the "*." name in the CSR; a valid
 * wildcard authorization serves the wildcard again, never the base name.
 */
static void
test_dns01_wildcard(void)
{
	struct signer_acme_answer *ans;
	char wild_order[64], az_d[64], az_w[64], id[80], payload[4096], *csr;
	json_t *o, *authzs, *idents;

	account_make(&wild, "[]", -1);
	cfg->acme_resolver = strdup("127.0.0.1:5353");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->acme_resolver);
	expect_problem(post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.example.org\"}]}"),
	    400, "rejectedIdentifier", "*.example.org is not allowed by profile web");
	expect_problem(post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.*.example.com\"}]}"),
	    400, "rejectedIdentifier", "is not allowed by profile web");
	expect_problem(post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.com\"}]}"),
	    400, "rejectedIdentifier", "is not allowed by profile web");
	expect_problem(post(&carol, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.example.com\"}]}"),
	    400, "rejectedIdentifier", "outside the names its External Account Binding allows");

	ans = post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"d.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"*.W.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	idents = json_object_get(o, "identifiers");
	CU_ASSERT_EQUAL_FATAL(json_array_size(idents), 2);
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_array_get(idents, 0), "value"), "d.example.com");
	CU_ASSERT_STRING_EQUAL(acme_json_str(json_array_get(idents, 1), "value"), "*.w.example.com");
	authzs = json_object_get(o, "authorizations");
	CU_ASSERT_EQUAL_FATAL(json_array_size(authzs), 2);
	url_id(json_string_value(json_array_get(authzs, 0)), az_d, sizeof(az_d));
	url_id(json_string_value(json_array_get(authzs, 1)), az_w, sizeof(az_w));
	url_id(ans->location, wild_order, sizeof(wild_order));
	json_decref(o);
	signer_acme_answer_free(ans);
	authz_expect(&wild, az_d, "d.example.com", false, "http-01,tls-alpn-01,dns-01");
	authz_expect(&wild, az_w, "w.example.com", true, "dns-01");
	/* Index 1 does not exist on the wildcard's: no http-01 to fall back on. */
	(void)snprintf(id, sizeof(id), "%s.1", az_w);
	expect_problem(post(&wild, SIGNER_ACME_CHALLENGE, "chall", id, "{}"), 404, "-", "no such challenge");
	challenge_start_as(&wild, az_w, 0, "dns-01", "w.example.com");
	CU_ASSERT_TRUE(journal_has_event(JOURNAL_ACME_AUTHZ_VALID, wild.id, "dns:w.example.com dns-01"));
	challenge_start_as(&wild, az_d, 2, "dns-01", "d.example.com");

	/* The CSR must name the wildcard itself, not its base name. */
	csr = csr_make(NULL, "d.example.com,w.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	expect_problem(post(&wild, SIGNER_ACME_FINALIZE, NULL, wild_order, payload), 400, "badCSR",
	    "lacks the order's identifier *.w.example.com");
	csr = csr_make("*.w.example.com", "d.example.com,*.W.example.com");
	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	want_sans[0] = "d.example.com";
	want_sans[1] = "*.w.example.com";
	ans = post(&wild, SIGNER_ACME_FINALIZE, NULL, wild_order, payload);
	CU_ASSERT_EQUAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "valid");
	json_decref(o);
	signer_acme_answer_free(ans);
	want_sans[0] = "a.example.com";
	want_sans[1] = "b.example.com";

	/* The valid wildcard authorization serves "*.w.example.com" again, not "w.example.com". */
	ans = post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.w.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "ready");
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), id, sizeof(id));
	CU_ASSERT_STRING_EQUAL(id, az_w);
	json_decref(o);
	signer_acme_answer_free(ans);
	ans = post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"w.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "pending");
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), id, sizeof(id));
	CU_ASSERT_STRING_NOT_EQUAL(id, az_w);
	json_decref(o);
	signer_acme_answer_free(ans);
	authz_expect(&wild, id, "w.example.com", false, "http-01,tls-alpn-01,dns-01");

	/* Without a resolver again: new authorizations offer no dns-01, and wildcards are refused. */
	free(cfg->acme_resolver);
	cfg->acme_resolver = NULL;
	ans = post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"e.example.com\"}]}");
	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	o = answer_json(ans);
	url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), 0)), id, sizeof(id));
	json_decref(o);
	signer_acme_answer_free(ans);
	authz_expect(&wild, id, "e.example.com", false, "http-01,tls-alpn-01");
	expect_problem(post(&wild, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.v.example.com\"}]}"),
	    400, "rejectedIdentifier", "[acme] resolver is not configured");
}

/* A ready order of t for a and b, their authorizations validated (or reused); its id into id. */
static void
order_ready_ab(const struct tacct *t, char id[64])
{
	struct signer_acme_answer *ans = post(t, SIGNER_ACME_NEW_ORDER, "new-order", NULL,
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"},{\"type\":\"dns\",\"value\":"
	    "\"b.example.com\"}]}");
	char authz[64];
	json_t *o;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(ans->status, 201);
	url_id(ans->location, id, 64);
	o = answer_json(ans);
	for (i = 0; i < 2 && strcmp(acme_json_str(o, "status"), "pending") == 0; i++) {
		url_id(json_string_value(json_array_get(json_object_get(o, "authorizations"), i)), authz, sizeof(authz));
		challenge_start_as(t, authz, 0, "http-01", want_sans[i]);	/* and validated */
	}
	json_decref(o);
	signer_acme_answer_free(ans);
	CU_ASSERT_STRING_EQUAL(order_status_as(t, id), "ready");
}

/* Finalize t's order id with a new key for a and b; the serial issued into serial. */
static void
order_finalize_ab(const struct tacct *t, const char *id, char serial[41])
{
	struct signer_acme_answer *ans;
	char payload[4096], *csr = csr_make(NULL, "a.example.com,b.example.com");

	(void)snprintf(payload, sizeof(payload), "{\"csr\":\"%s\"}", csr);
	free(csr);
	ans = post(t, SIGNER_ACME_FINALIZE, NULL, id, payload);
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	signer_acme_answer_free(ans);
	memcpy(serial, issued_serial, 41);
}

/*
 * Make order id look as a finalize leaves it when the signer stops between
 * the journal and the store: processing for longer than the engine waits,
 * no certificate; forget: its certificate's own entry gone too.
 */
static void
order_lose(const char *id, const char *serial, bool forget, const char *csr_key)
{
	struct acme_txn *txn = NULL;
	json_t *o = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(engine->store, true, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_get(txn, ACME_T_ORDER, id, &o), 0);
	CU_ASSERT_EQUAL(json_object_set_new(o, "status", json_string("processing")), 0);
	CU_ASSERT_EQUAL(json_object_set_new(o, "processing_at", json_integer(time(NULL) - ACME_ORDER_LOST_SECONDS - 1)),
	    0);
	CU_ASSERT_EQUAL(json_object_set_new(o, "certificate", json_null()), 0);
	CU_ASSERT_EQUAL_FATAL(strlen(acme_json_str(o, "csr_key")), 2 * ACME_KEY_HASH_LEN);
	if (csr_key != NULL)
		CU_ASSERT_EQUAL(json_object_set_new(o, "csr_key", json_string(csr_key)), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_put(txn, ACME_T_ORDER, id, o, acme_json_int(o, "expires", 0)), 0);
	if (forget)
		CU_ASSERT_EQUAL_FATAL(acme_store_del(txn, ACME_T_CERT, serial), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_commit(txn), 0);
	json_decref(o);
}

/*
 * A finalize whose answer was lost after the journal had the certificate:
 * the order becomes valid with that certificate, not ready for a second
 * one; a certificate another order holds, or of another key, is not taken.
 */
static void
test_finalize_lost(void)
{
	struct signer_acme_answer *ans;
	char id[64], id2[64], serial[41], serial2[41], want[512];
	int calls;
	json_t *o;

	account_make(&lost, "[]", -1);
	order_ready_ab(&lost, id);
	order_finalize_ab(&lost, id, serial);
	calls = issue_calls;
	order_lose(id, serial, true, NULL);
	ans = post(&lost, SIGNER_ACME_ORDER, "order", id, NULL);
	CU_ASSERT_EQUAL_FATAL(ans->status, 200);
	o = answer_json(ans);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "status"), "valid");
	(void)snprintf(want, sizeof(want), BASE "/acme/" PROFILE "/cert/%s", serial);
	CU_ASSERT_STRING_EQUAL(acme_json_str(o, "certificate"), want);
	json_decref(o);
	signer_acme_answer_free(ans);
	CU_ASSERT_EQUAL(issue_calls, calls);
	ans = post(&lost, SIGNER_ACME_CERT, "cert", serial, NULL);
	CU_ASSERT_EQUAL(ans->status, 200);
	signer_acme_answer_free(ans);

	/* Its certificate delivered to another order (kept entry): not taken; ready again. */
	order_ready_ab(&lost, id2);
	order_finalize_ab(&lost, id2, serial2);
	order_lose(id2, serial2, false, NULL);
	CU_ASSERT_STRING_EQUAL(order_status_as(&lost, id2), "ready");

	/* Of another key: not taken either. */
	order_finalize_ab(&lost, id2, serial2);
	order_lose(id2, serial2, true, "00000000000000000000000000000000000000000000000000000000000000ff");
	CU_ASSERT_STRING_EQUAL(order_status_as(&lost, id2), "ready");
	order_finalize_ab(&lost, id2, serial2);
	CU_ASSERT_STRING_EQUAL(order_status_as(&lost, id2), "valid");
	CU_ASSERT_EQUAL(issue_calls, calls + 3);
}

int
main(void)
{
	static const struct sd_test_case cases[] = {
		{ "newOrder", test_new_order_good },
		{ "newOrder refusals", test_new_order_refused },
		{ "newOrder rate limit", test_new_order_rate },
		{ "newOrder pending authorizations limit", test_new_order_pending_limit },
		{ "authz POST-as-GET", test_authz_get },
		{ "challenge and validation", test_challenge_and_validation },
		{ "validation failure", test_validation_failure },
		{ "authz deactivation", test_authz_deactivate },
		{ "finalize", test_finalize },
		{ "certificate", test_cert },
		{ "authorization reuse", test_reuse },
		{ "finalize refused by the core", test_finalize_refused },
		{ "newOrder replaces", test_new_order_replaces },
		{ "orders list", test_orders_list },
		{ "orders list pages", test_orders_pages },
		{ "orders list after the sweep", test_orders_swept },
		{ "dns-01 and wildcards with a resolver", test_dns01_wildcard },
		{ "a lost finalize's certificate", test_finalize_lost },
	};
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("acme_order", suite_init, suite_clean);
	if (s == NULL)
		return 2;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (CU_add_test(s, cases[i].name, cases[i].fn) == NULL)
			return 2;
	return sd_test_run("test_acme_order");
}
