/*
 * Unit tests for ACME accounts (signer/acme/acme_account.c) through
 * acme_serve() with a real configuration, journal and state store, and
 * for the operator's EAB keys (signer/acme/acme_eab.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "acme/acme.h"
#include "acme/acme_eab.h"
#include "acme/acme_internal.h"
#include "acme_fixture.h"
#include "sd_test.h"

#define BASE "https://ca.example"
#define P "web"

static char tmp[PATH_MAX];
static struct sd_config *cfg;
static struct journal *jr;
static struct acme *eng;
static EVP_PKEY *k1, *k2, *k3;
static char eab_kid[ACME_EAB_KID_MAX + 1], eab_key[ACME_EAB_KEY_B64_LEN + 1];

static struct signer_acme_answer *
serve(enum signer_acme_op op, const char *id, const char *body)
{
	struct signer_acme_request r;
	struct signer_acme_answer *ans = NULL;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.profile = P;
	r.base = BASE;
	r.id = id;
	r.body = (const uint8_t *)body;
	r.body_len = body != NULL ? strlen(body) : 0;
	CU_ASSERT_EQUAL_FATAL(acme_serve(eng, &r, &ans), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ans);
	return ans;
}

static char *
nonce(void)
{
	struct signer_acme_answer *a = serve(SIGNER_ACME_NEW_NONCE, NULL, NULL);
	char *n = strdup(a->nonce);

	signer_acme_answer_free(a);
	if (n == NULL)
		abort();
	return n;
}

/* A request body (free()) to url, by key with its jwk (kid NULL) or by account kid; n: the nonce or NULL for a fresh one. */
static char *
request(EVP_PKEY *key, const char *kid, const char *url, const char *payload, const char *n, bool flip)
{
	char *fresh = n == NULL ? nonce() : NULL, *s;
	json_t *h = kid != NULL ?
	    json_pack("{s:s, s:s, s:s, s:s}", "alg", "ES256", "nonce", n != NULL ? n : fresh, "url", url, "kid", kid) :
	    json_pack("{s:s, s:s, s:s, s:o}", "alg", "ES256", "nonce", n != NULL ? n : fresh, "url", url, "jwk",
	        acme_fx_jwk(key));
	json_t *o = acme_fx_jws(key, "ES256", h, payload, flip);

	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	json_decref(o);
	free(fresh);
	return s;
}

/* An EAB for key's jwk with kid and the base64url HMAC key b64 (new reference). */
static json_t *
eab_obj(EVP_PKEY *key, const char *kid, const char *b64, const char *url)
{
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid, "url", url), *jwk = acme_fx_jwk(key), *out;
	char *hs = json_dumps(h, JSON_COMPACT), *js = json_dumps(jwk, JSON_COMPACT), *ph, *pp, *input, *ps;
	uint8_t *k = NULL, mac[32];
	size_t klen = 0, mlen = 0;

	if (hs == NULL || js == NULL || acme_b64url_decode(b64, strlen(b64), 64, &k, &klen) != 0)
		abort();
	ph = acme_fx_b64url(hs, strlen(hs));
	pp = acme_fx_b64url(js, strlen(js));
	if ((input = malloc(strlen(ph) + strlen(pp) + 2)) == NULL)
		abort();
	(void)snprintf(input, strlen(ph) + strlen(pp) + 2, "%s.%s", ph, pp);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k, klen, (const uint8_t *)input, strlen(input), mac,
	        sizeof(mac), &mlen) == NULL)
		abort();
	ps = acme_fx_b64url(mac, mlen);
	if ((out = json_pack("{s:s, s:s, s:s}", "protected", ph, "payload", pp, "signature", ps)) == NULL)
		abort();
	json_decref(h);
	json_decref(jwk);
	free(hs);
	free(js);
	free(ph);
	free(pp);
	free(ps);
	free(input);
	free(k);
	return out;
}

static const char *
type_of(const struct signer_acme_answer *a)
{
	static char buf[128];
	json_t *o = json_loadb(a->body != NULL ? a->body : "", a->body_len, 0, NULL);
	const char *t = json_string_value(json_object_get(o, "type"));

	(void)snprintf(buf, sizeof(buf), "%s", t != NULL ? t + strlen("urn:ietf:params:acme:error:") : "");
	json_decref(o);
	return buf;
}

static void
expect(struct signer_acme_answer *a, unsigned status, const char *type)
{
	CU_ASSERT_EQUAL(a->status, status);
	if (type != NULL && strcmp(type_of(a), type) != 0) {
		fprintf(stderr, "\nwant %s, got %u %.*s\n", type, a->status, (int)a->body_len, a->body);
		CU_FAIL("problem type");
	}
	signer_acme_answer_free(a);
}

/* newAccount by key with payload (the EAB, if any, already in it); the answer. */
static struct signer_acme_answer *
new_account(EVP_PKEY *key, json_t *payload)
{
	char *p = json_dumps(payload, JSON_COMPACT),
	     *body = request(key, NULL, BASE "/acme/" P "/new-account", p, NULL, false);
	struct signer_acme_answer *a = serve(SIGNER_ACME_NEW_ACCOUNT, NULL, body);

	json_decref(payload);
	free(p);
	free(body);
	return a;
}

static uint8_t
last_event(void)
{
	struct journal_record *r = NULL;
	uint64_t seq = 0;
	uint8_t ev;

	CU_ASSERT_EQUAL_FATAL(journal_last_seq(jr, &seq), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(jr, seq, &r), 0);
	CU_ASSERT_EQUAL(r->type, JOURNAL_REC_ACME);
	ev = r->acme_event;
	journal_record_free(r);
	return ev;
}

static char acct1[SIGNER_ACME_URL_MAX + 1];

static void
test_new_account(void)
{
	struct signer_acme_answer *a;
	char kid2[ACME_EAB_KID_MAX + 1], key2[ACME_EAB_KEY_B64_LEN + 1], *body, *n;
	const char *profiles[] = { P }, *other[] = { "other" };

	/* EAB required. */
	expect(new_account(k1, json_pack("{s:b}", "termsOfServiceAgreed", 1)), 403, "externalAccountRequired");
	/* onlyReturnExisting for an unknown key. */
	expect(new_account(k1, json_pack("{s:b}", "onlyReturnExisting", 1)), 400, "accountDoesNotExist");
	/* A wrong HMAC key: key2's, kid of the first. */
	CU_ASSERT_EQUAL_FATAL(acme_eab_add(cfg, eng->store, jr, NULL, profiles, 1, NULL, 0, "tester", kid2, key2), 0);
	expect(new_account(k1,
	           json_pack("{s:o}", "externalAccountBinding",
	               eab_obj(k1, eab_kid, key2, BASE "/acme/" P "/new-account"))),
	    403, "unauthorized");
	/* An unknown kid; an EAB for another profile. */
	expect(new_account(k1,
	           json_pack("{s:o}", "externalAccountBinding",
	               eab_obj(k1, "nope", key2, BASE "/acme/" P "/new-account"))),
	    403, "unauthorized");
	CU_ASSERT_EQUAL_FATAL(acme_eab_add(cfg, eng->store, jr, "for-other", other, 1, NULL, 0, "tester", kid2, key2), 0);
	expect(new_account(k1,
	           json_pack("{s:o}", "externalAccountBinding",
	               eab_obj(k1, "for-other", key2, BASE "/acme/" P "/new-account"))),
	    403, "unauthorized");
	/* Bad contacts. */
	expect(new_account(k1,
	           json_pack("{s:[s], s:o}", "contact", "tel:+1555", "externalAccountBinding",
	               eab_obj(k1, eab_kid, eab_key, BASE "/acme/" P "/new-account"))),
	    400, "unsupportedContact");
	expect(new_account(k1,
	           json_pack("{s:[s], s:o}", "contact", "mailto:a@example.com?subject=x", "externalAccountBinding",
	               eab_obj(k1, eab_kid, eab_key, BASE "/acme/" P "/new-account"))),
	    400, "invalidContact");
	/* Good. */
	a = new_account(k1,
	    json_pack("{s:[s], s:o}", "contact", "mailto:ops@example.com", "externalAccountBinding",
	        eab_obj(k1, eab_kid, eab_key, BASE "/acme/" P "/new-account")));
	CU_ASSERT_EQUAL(a->status, 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->location, BASE "/acme/" P "/acct/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a->body, "\"orders\""));
	memcpy(acct1, a->location, sizeof(acct1));
	signer_acme_answer_free(a);
	CU_ASSERT_EQUAL(last_event(), JOURNAL_ACME_ACCOUNT_CREATED);
	/* The same key again: 200, the same account. */
	a = new_account(k1, json_pack("{s:b}", "onlyReturnExisting", 1));
	CU_ASSERT_EQUAL(a->status, 200);
	CU_ASSERT_STRING_EQUAL(a->location, acct1);
	signer_acme_answer_free(a);
	/* The EAB key is bound now. */
	expect(new_account(k2,
	           json_pack("{s:o}", "externalAccountBinding",
	               eab_obj(k2, eab_kid, eab_key, BASE "/acme/" P "/new-account"))),
	    403, "unauthorized");
	/* Nonce replay, url mismatch, bad signature. */
	n = nonce();
	body = request(k2, NULL, BASE "/acme/" P "/new-account", "{}", n, false);
	expect(serve(SIGNER_ACME_NEW_ACCOUNT, NULL, body), 403, "externalAccountRequired");
	expect(serve(SIGNER_ACME_NEW_ACCOUNT, NULL, body), 400, "badNonce");
	free(body);
	free(n);
	body = request(k2, NULL, BASE "/acme/" P "/new-order", "{}", NULL, false);
	expect(serve(SIGNER_ACME_NEW_ACCOUNT, NULL, body), 403, "unauthorized");
	free(body);
	body = request(k2, NULL, BASE "/acme/" P "/new-account", "{}", NULL, true);
	expect(serve(SIGNER_ACME_NEW_ACCOUNT, NULL, body), 400, "malformed");
	free(body);
}

static const char *
id_of(const char *url)
{
	return strrchr(url, '/') + 1;
}

static void
test_account(void)
{
	struct signer_acme_answer *a;
	char *body, url[SIGNER_ACME_URL_MAX + 1];

	/* An unknown account. */
	(void)snprintf(url, sizeof(url), "%s/acme/%s/acct/AAAAAAAAAAAAAAAAAAAAAA", BASE, P);
	body = request(k1, url, url, "", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, "AAAAAAAAAAAAAAAAAAAAAA", body), 400, "accountDoesNotExist");
	free(body);
	/* POST-as-GET; contact update; a bad status. */
	body = request(k1, acct1, acct1, "", NULL, false);
	a = serve(SIGNER_ACME_ACCOUNT, id_of(acct1), body);
	CU_ASSERT_EQUAL(a->status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->body, "ops@example.com"));
	signer_acme_answer_free(a);
	free(body);
	body = request(k1, acct1, acct1, "{\"contact\":[\"mailto:new@example.com\"]}", NULL, false);
	a = serve(SIGNER_ACME_ACCOUNT, id_of(acct1), body);
	CU_ASSERT_EQUAL(a->status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(a->body, "new@example.com"));
	signer_acme_answer_free(a);
	free(body);
	body = request(k1, acct1, acct1, "{\"status\":\"valid\"}", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, id_of(acct1), body), 400, "malformed");
	free(body);
}

/* A keyChange by the account at acct (signed by old) to new_key; the answer. */
static struct signer_acme_answer *
key_change(EVP_PKEY *old, const char *acct, EVP_PKEY *new_key, const char *inner_nonce)
{
	const char *url = BASE "/acme/" P "/key-change";
	json_t *payload = json_pack("{s:s, s:o}", "account", acct, "oldKey", acme_fx_jwk(old));
	char *ps = json_dumps(payload, JSON_COMPACT), *is, *body;
	json_t *h = inner_nonce != NULL ?
	    json_pack("{s:s, s:s, s:s, s:o}", "alg", "ES256", "url", url, "nonce", inner_nonce, "jwk",
	        acme_fx_jwk(new_key)) :
	    json_pack("{s:s, s:s, s:o}", "alg", "ES256", "url", url, "jwk", acme_fx_jwk(new_key));
	json_t *inner = acme_fx_jws(new_key, "ES256", h, ps, false);
	struct signer_acme_answer *a;

	is = json_dumps(inner, JSON_COMPACT);
	body = request(old, acct, url, is, NULL, false);
	a = serve(SIGNER_ACME_KEY_CHANGE, NULL, body);
	json_decref(payload);
	json_decref(inner);
	free(ps);
	free(is);
	free(body);
	return a;
}

static void
test_key_change(void)
{
	struct signer_acme_answer *a;
	char acct3[SIGNER_ACME_URL_MAX + 1], kid3[ACME_EAB_KID_MAX + 1], key3[ACME_EAB_KEY_B64_LEN + 1], *body;
	const char *profiles[] = { P };

	/* An inner JWS with a nonce. */
	expect(key_change(k1, acct1, k2, "n0nce"), 400, "malformed");
	/* Good: k1 -> k2. */
	a = key_change(k1, acct1, k2, NULL);
	CU_ASSERT_EQUAL(a->status, 200);
	signer_acme_answer_free(a);
	CU_ASSERT_EQUAL(last_event(), JOURNAL_ACME_ACCOUNT_KEY_CHANGED);
	body = request(k1, acct1, acct1, "", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, id_of(acct1), body), 400, "malformed");
	free(body);
	body = request(k2, acct1, acct1, "", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, id_of(acct1), body), 200, NULL);
	free(body);
	/* A second account (k3), then k3's account wants k2: 409 with the first account's Location. */
	CU_ASSERT_EQUAL_FATAL(acme_eab_add(cfg, eng->store, jr, "third", profiles, 1, NULL, 0, "tester", kid3, key3), 0);
	a = new_account(k3,
	    json_pack("{s:o}", "externalAccountBinding", eab_obj(k3, kid3, key3, BASE "/acme/" P "/new-account")));
	CU_ASSERT_EQUAL_FATAL(a->status, 201);
	memcpy(acct3, a->location, sizeof(acct3));
	signer_acme_answer_free(a);
	a = key_change(k3, acct3, k2, NULL);
	CU_ASSERT_EQUAL(a->status, 409);
	CU_ASSERT_STRING_EQUAL(a->location, acct1);
	signer_acme_answer_free(a);
	/* Deactivate account 3: journaled, then refused. */
	body = request(k3, acct3, acct3, "{\"status\":\"deactivated\"}", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, id_of(acct3), body), 200, NULL);
	free(body);
	CU_ASSERT_EQUAL(last_event(), JOURNAL_ACME_ACCOUNT_DEACTIVATED);
	body = request(k3, acct3, acct3, "", NULL, false);
	expect(serve(SIGNER_ACME_ACCOUNT, id_of(acct3), body), 403, "unauthorized");
	free(body);
}

struct seen {
	int n;
	bool bound;
};

static int
count_eab(const struct acme_eab_info *info, void *arg)
{
	struct seen *s = arg;

	s->n++;
	if (strcmp(info->kid, eab_kid) == 0)
		s->bound = info->account != NULL;
	return 0;
}

static void
test_eab_ops(void)
{
	const char *profiles[] = { P }, *bad[] = { "nope" }, *out[] = { "example.org" }, *in[] = { "a.example.com" };
	char kid[ACME_EAB_KID_MAX + 1], key[ACME_EAB_KEY_B64_LEN + 1];
	struct seen s = { 0, false };

	CU_ASSERT_EQUAL(acme_eab_add(cfg, eng->store, jr, "third", profiles, 1, NULL, 0, "tester", kid, key), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_eab_add(cfg, eng->store, jr, NULL, bad, 1, NULL, 0, "tester", kid, key), SD_E_CONFIG);
	CU_ASSERT_EQUAL(acme_eab_add(cfg, eng->store, jr, NULL, profiles, 1, out, 1, "tester", kid, key), SD_E_NAME_REFUSED);
	CU_ASSERT_EQUAL(acme_eab_add(cfg, eng->store, jr, "bad kid", profiles, 1, NULL, 0, "tester", kid, key), SD_E_INVAL);
	CU_ASSERT_EQUAL_FATAL(acme_eab_add(cfg, eng->store, jr, "limited", profiles, 1, in, 1, "tester", kid, key), 0);
	CU_ASSERT_EQUAL(strlen(key), ACME_EAB_KEY_B64_LEN);
	CU_ASSERT_EQUAL(last_event(), JOURNAL_ACME_EAB_ADDED);
	CU_ASSERT_EQUAL(acme_eab_list(eng->store, count_eab, &s), 0);
	CU_ASSERT(s.n >= 5);
	CU_ASSERT(s.bound);
	CU_ASSERT_EQUAL(acme_eab_remove(eng->store, jr, "limited", "tester"), 0);
	CU_ASSERT_EQUAL(last_event(), JOURNAL_ACME_EAB_REMOVED);
	CU_ASSERT_EQUAL(acme_eab_remove(eng->store, jr, "limited", "tester"), SD_E_NOT_FOUND);
}

static int
no_issue(void *ctx, const struct signer_request *req, struct signer_result **out)
{
	(void)ctx, (void)req, (void)out;
	return SD_E_INTERNAL;
}

static int
no_revoke(void *ctx, const char *serial_hex, uint8_t reason, const char *who, struct signer_revocation *out)
{
	(void)ctx, (void)serial_hex, (void)reason, (void)who, (void)out;
	return SD_E_INTERNAL;
}

static size_t
no_chain(void *ctx)
{
	(void)ctx;
	return 0;
}

int
main(void)
{
	static const struct sd_test_case cases[] = {
		{ "newAccount: EAB, contacts, existing key, request checks", test_new_account },
		{ "account: unknown, POST-as-GET, contacts, status", test_account },
		{ "keyChange, conflict, deactivation", test_key_change },
		{ "EAB keys: add refusals, list, remove", test_eab_ops },
	};
	struct acme_ops ops = { NULL, no_issue, no_revoke, no_chain, NULL };
	struct journal_options jo = { (uint64_t)16 << 20, 0, true, 0 };
	char path[PATH_MAX], text[3 * PATH_MAX], jpath[PATH_MAX + 16];
	const char *profiles[] = { P };
	int rc;

	sd_test_tmpdir(tmp, "acme-account");
	if (snprintf(jpath, sizeof(jpath), "%s/journal", tmp) < 0)
		return 1;
	if (snprintf(text, sizeof(text),
	        "[hsm]\nmodule = /m.so\ntoken = pkcs11:token=t\npin_file = pin\n"
	        "[ca]\nkey = pkcs11:token=t;object=ica\ncertificate = ica.pem\nchain = chain.pem\n"
	        "[journal]\npath = %s\n"
	        "[api]\nport = 0\ntls_certificate = s.pem\ntls_key = s.key\nclient_ca = ca.pem\n"
	        "[acme]\npath = %s/acme\n"
	        "[profile web]\nkey_usage = digitalSignature\next_key_usage = serverAuth\ndns_suffixes = example.com\n"
	        "acme = true\n"
	        "[profile other]\nkey_usage = digitalSignature\next_key_usage = serverAuth\ndns_suffixes = "
	        "example.com\n"
	        "acme = true\n",
	        jpath, tmp) < 0)
		return 1;
	sd_test_write(tmp, "signerd.conf", text, 0600, path);
	if ((rc = sd_config_load(path, &cfg)) != 0) {
		fprintf(stderr, "config: %s\n", sd_error_detail(rc));
		return 1;
	}
	if ((rc = journal_open_opts(jpath, &jo, &jr)) != 0 || (rc = acme_open(cfg, jr, &ops, &eng)) != 0 ||
	    eng == NULL) {
		fprintf(stderr, "open: %s\n", sd_error_detail(rc));
		return 1;
	}
	if ((k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (k3 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (rc = acme_eab_add(cfg, eng->store, jr, NULL, profiles, 1, NULL, 0, "tester", eab_kid, eab_key)) != 0) {
		fprintf(stderr, "setup: %s\n", sd_error_detail(rc));
		return 1;
	}
	SD_TEST_SUITE("acme accounts", cases);
	rc = sd_test_run("test_acme_account");
	acme_close(eng);
	journal_close(jr);
	sd_config_free(cfg);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	sd_test_rmtree(tmp);
	return rc;
}
