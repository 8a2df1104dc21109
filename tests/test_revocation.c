/*
 * Revocation status as signerd publishes it (signer/revocation/): the CRL
 * made from a real journal and signed in a real SoftHSM token, numbered
 * across makes, made again after a revocation (at once, or after
 * crl_delay) and leaving out short-lived and expired certificates; the
 * OCSP responder with its delegated key in the token, answering good,
 * revoked and unknown, serving repeats from its cache (the same bytes:
 * ECDSA signatures differ each time), echoing nonces, refusing other
 * issuers and garbage, and answering tryLater once its budget of fresh
 * signatures is spent. OpenSSL checks every CRL and answer as a relying
 * party would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "config.h"
#include "hsm.h"
#include "hsm_ca_fixture.h"
#include "journal.h"
#include "revocation/revocation.h"
#include "revocation/revocation_ocsp.h"
#include "sd_metrics.h"
#include "sd_test.h"
#include "softhsm_fixture.h"
#include "x509/ca.h"

#define DAY 86400

static struct sd_test_softhsm fx;
static struct hsm *g_hsm;
static struct hsm_key *g_ca_key, *g_resp_key;
static struct ca *g_ca;
static X509 *g_root, *g_other;
static char g_dir[PATH_MAX], g_resp_pem[PATH_MAX];
static EVP_PKEY *g_leaf_key;
static struct sd_config g_cfg;

static void
test_setup(void)
{
	struct hsm_key *other_key;
	char *root_pem = NULL, *resp_pem = NULL, uri[64];

	g_hsm = hsm_ca_open("revocation-test", &fx);
	g_ca_key = hsm_ca_key(g_hsm, "ca", HSM_KEY_P256);
	g_resp_key = hsm_ca_key(g_hsm, "responder", HSM_KEY_P256);
	other_key = hsm_ca_key(g_hsm, "other", HSM_KEY_P256);
	g_root = hsm_ca_make(g_ca_key, "revocation root", NULL, NULL, &root_pem);
	g_other = hsm_ca_make(other_key, "another root", NULL, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(ca_from_pem(g_ca_key, "ca", root_pem, strlen(root_pem), "root", &g_ca), 0);
	CU_ASSERT_EQUAL_FATAL(ceremony_ocsp_responder(g_ca_key, root_pem, strlen(root_pem), g_resp_key,
	    "/O=signerd test/CN=OCSP responder", 30, &resp_pem), 0);
	sd_test_tmpdir(g_dir, "revocation");
	sd_test_write(g_dir, "responder.pem", resp_pem, 0644, g_resp_pem);
	g_leaf_key = EVP_EC_gen("P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_leaf_key);
	(void)snprintf(uri, sizeof(uri), "pkcs11:object=responder");
	g_cfg.ca_crl_validity = DAY;
	g_cfg.ca_crl_delay = 0;
	g_cfg.ca_ocsp_key = strdup(uri);
	g_cfg.ca_ocsp_certificate = g_resp_pem;
	g_cfg.ca_ocsp_validity = 4 * 3600;
	g_cfg.ca_ocsp_signatures_per_second = 1000;
	g_cfg.ca_short_lived = 2 * 3600;
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_cfg.ca_ocsp_key);
	hsm_key_free(other_key);
	free(root_pem);
	free(resp_pem);
}

/* A journal in a fresh directory. */
static struct journal *
open_journal(const char *tag)
{
	char path[PATH_MAX];
	struct journal *j = NULL;

	CU_ASSERT_FATAL(snprintf(path, sizeof(path), "%s/%s", g_dir, tag) < (int)sizeof(path));
	CU_ASSERT_EQUAL_FATAL(journal_open(path, 64u * 1024 * 1024, &j), 0);
	return j;
}

/* Journal a certificate with a random 16-byte serial valid from now + from to now + to (seconds). */
static void
issue(struct journal *j, int64_t from, int64_t to, uint8_t serial[16])
{
	struct journal_issuance in;
	X509 *x = X509_new();
	BIGNUM *bn;
	unsigned char *der = NULL;
	uint64_t seq = 0;
	int n;

	CU_ASSERT_FATAL(x != NULL && RAND_bytes(serial, 16) == 1);
	serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x01);
	bn = BN_bin2bn(serial, 16, NULL);
	CU_ASSERT_FATAL(bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1 && X509_set_pubkey(x, g_leaf_key) == 1);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notBefore(x), from) != NULL);
	CU_ASSERT_FATAL(X509_gmtime_adj(X509_getm_notAfter(x), to) != NULL);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(g_root)) == 1);
	CU_ASSERT_FATAL(X509_sign(x, g_leaf_key, EVP_sha256()) > 0);
	CU_ASSERT_FATAL((n = i2d_X509(x, &der)) > 0);
	memset(&in, 0, sizeof(in));
	in.time_ms = (int64_t)time(NULL) * 1000;
	in.client_subject = "CN=test";
	in.profile = "server";
	in.serial = serial;
	in.serial_len = 16;
	in.cert_der = der;
	in.cert_der_len = (size_t)n;
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &in, &seq), 0);
	OPENSSL_free(der);
	BN_free(bn);
	X509_free(x);
}

static void
revoke(struct journal *j, struct revocation *r, const uint8_t serial[16], uint8_t reason)
{
	struct journal_revocation in;
	uint64_t seq = 0;

	memset(&in, 0, sizeof(in));
	in.time_ms = (int64_t)time(NULL) * 1000;
	in.serial = serial;
	in.serial_len = 16;
	in.reason = reason;
	in.client_subject = "CN=revoker";
	CU_ASSERT_EQUAL_FATAL(journal_revoke(j, &in, &seq, NULL), 0);
	if (r != NULL)
		revocation_revoked(r, serial, 16);
}

/* The CRL r publishes now, checked with the CA key (X509_CRL_free()). */
static X509_CRL *
current_crl(struct revocation *r, uint64_t *number)
{
	struct signer_crl *c = NULL;
	const unsigned char *p;
	X509_CRL *crl;
	ASN1_INTEGER *num;

	CU_ASSERT_EQUAL_FATAL(revocation_crl(r, &c), 0);
	p = c->der;
	crl = d2i_X509_CRL(NULL, &p, (long)c->len);
	CU_ASSERT_FATAL(crl != NULL && p == c->der + c->len);
	CU_ASSERT_EQUAL(X509_CRL_verify(crl, g_ca->pubkey), 1);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	CU_ASSERT_FATAL(num != NULL);
	*number = (uint64_t)ASN1_INTEGER_get(num);
	CU_ASSERT_EQUAL(*number, c->number);
	CU_ASSERT_EQUAL(c->next_update - c->this_update, DAY);
	ASN1_INTEGER_free(num);
	signer_crl_free(c);
	return crl;
}

/* Whether crl lists serial, with reason (-1: no reasonCode). */
static bool
crl_lists(X509_CRL *crl, const uint8_t serial[16], int *reason)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *ai;
	ASN1_ENUMERATED *e;
	BIGNUM *bn = BN_bin2bn(serial, 16, NULL);
	int found;

	ai = BN_to_ASN1_INTEGER(bn, NULL);
	found = X509_CRL_get0_by_serial(crl, &rev, ai);
	*reason = -1;
	if (found == 1 && (e = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL)) != NULL) {
		*reason = (int)ASN1_ENUMERATED_get(e);
		ASN1_ENUMERATED_free(e);
	}
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return found == 1;
}

static void
test_crl(void)
{
	struct journal *j = open_journal("crl");
	struct revocation *r = NULL;
	uint8_t a[16], b[16], brief[16], old[16], kept[16];
	uint64_t n1 = 0, n2 = 0, n3 = 0, last = 0, seq = 0;
	X509_CRL *crl;
	int reason;

	CU_ASSERT_EQUAL_FATAL(revocation_open(&g_cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	issue(j, -60, 30 * DAY, a);
	issue(j, -60, 30 * DAY, b);
	issue(j, -60, 3600, brief);	/* short-lived: 2 h or less */
	issue(j, -10 * DAY, -DAY, old);	/* expired */
	issue(j, -60, 30 * DAY, kept);

	crl = current_crl(r, &n1);
	CU_ASSERT_EQUAL(n1, 1);
	CU_ASSERT_PTR_NULL(X509_CRL_get_REVOKED(crl));
	X509_CRL_free(crl);
	/* Asked again, the same CRL: nothing changed. */
	crl = current_crl(r, &n2);
	CU_ASSERT_EQUAL(n2, 1);
	X509_CRL_free(crl);

	revoke(j, r, a, 1);		/* keyCompromise */
	revoke(j, r, b, 0);		/* unspecified: no reasonCode */
	revoke(j, r, brief, 4);
	revoke(j, r, old, 4);
	/* With crl_delay 0 the thread may have made CRLs between the revocations: the number only grows. */
	crl = current_crl(r, &n3);
	CU_ASSERT(n3 >= 2);
	CU_ASSERT_EQUAL(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	CU_ASSERT(crl_lists(crl, a, &reason) && reason == 1);
	CU_ASSERT(crl_lists(crl, b, &reason) && reason == -1);
	CU_ASSERT(!crl_lists(crl, brief, &reason));
	CU_ASSERT(!crl_lists(crl, old, &reason));
	CU_ASSERT(!crl_lists(crl, kept, &reason));
	X509_CRL_free(crl);
	CU_ASSERT_EQUAL(journal_crl_last(j, &last, &seq), 0);
	CU_ASSERT_EQUAL(last, n3);
	CU_ASSERT(seq > 0);
	revocation_close(r);

	/* A restart numbers on from the journal. */
	CU_ASSERT_EQUAL_FATAL(revocation_open(&g_cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	crl = current_crl(r, &n1);
	CU_ASSERT_EQUAL(n1, n3 + 1);
	CU_ASSERT(crl_lists(crl, a, &reason));
	X509_CRL_free(crl);
	revocation_close(r);
	journal_close(j);
}

static void
test_crl_delay(void)
{
	struct sd_config cfg = g_cfg;
	struct journal *j = open_journal("delay");
	struct revocation *r = NULL;
	uint8_t a[16], b[16];
	uint64_t n = 0;
	X509_CRL *crl;
	int reason;

	cfg.ca_crl_delay = 2;
	CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	issue(j, -60, 30 * DAY, a);
	issue(j, -60, 30 * DAY, b);
	crl = current_crl(r, &n);
	X509_CRL_free(crl);
	revoke(j, r, a, 1);
	sd_test_sleep_ms(500);
	revoke(j, r, b, 3);
	/* Within the delay the published CRL stands. */
	crl = current_crl(r, &n);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(!crl_lists(crl, a, &reason));
	X509_CRL_free(crl);
	/* Then the thread makes one CRL for both, unasked. */
	sd_test_sleep_ms(3500);
	crl = current_crl(r, &n);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(crl_lists(crl, a, &reason) && reason == 1);
	CU_ASSERT(crl_lists(crl, b, &reason) && reason == 3);
	X509_CRL_free(crl);
	revocation_close(r);
	journal_close(j);
}

/* The delta CRL r publishes now, checked with the CA key; its number and base (X509_CRL_free()). */
static X509_CRL *
current_delta(struct revocation *r, uint64_t *number, uint64_t *base)
{
	struct signer_crl *c = NULL;
	const unsigned char *p;
	ASN1_INTEGER *num, *b;
	X509_CRL *crl;
	int crit = -1;

	CU_ASSERT_EQUAL_FATAL(revocation_crl_delta(r, &c), 0);
	p = c->der;
	crl = d2i_X509_CRL(NULL, &p, (long)c->len);
	CU_ASSERT_FATAL(crl != NULL && p == c->der + c->len);
	CU_ASSERT_EQUAL(X509_CRL_verify(crl, g_ca->pubkey), 1);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	b = X509_CRL_get_ext_d2i(crl, NID_delta_crl, &crit, NULL);
	CU_ASSERT_FATAL(num != NULL && b != NULL);
	CU_ASSERT_EQUAL(crit, 1);
	*number = (uint64_t)ASN1_INTEGER_get(num);
	*base = (uint64_t)ASN1_INTEGER_get(b);
	CU_ASSERT_EQUAL(*number, c->number);
	CU_ASSERT_EQUAL(*base, c->base_number);
	CU_ASSERT_EQUAL(c->next_update - c->this_update, 3600);
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(b);
	signer_crl_free(c);
	return crl;
}

static void
test_crl_delta(void)
{
	struct sd_config cfg = g_cfg;
	struct journal *j = open_journal("deltas");
	struct revocation *r = NULL;
	struct signer_crl *none = NULL;
	uint8_t a[16], b[16];
	uint64_t complete = 0, n = 0, base = 0, again = 0;
	CRL_DIST_POINTS *fresh;
	GENERAL_NAME *gn;
	X509_CRL *crl;
	int reason;

	/* Off: no delta. */
	CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	CU_ASSERT_EQUAL(revocation_crl_delta(r, &none), SD_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(none);
	revocation_close(r);

	cfg.ca_delta_crl_validity = 3600;
	cfg.ca_delta_crl_url = (char *)"http://crl.example.com/delta.crl";
	CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	issue(j, -60, 30 * DAY, a);
	issue(j, -60, 30 * DAY, b);
	revoke(j, r, a, 1);
	/* The complete CRL says where its deltas are. */
	crl = current_crl(r, &complete);
	fresh = X509_CRL_get_ext_d2i(crl, NID_freshest_crl, NULL, NULL);
	CU_ASSERT_FATAL(fresh != NULL && sk_DIST_POINT_num(fresh) == 1);
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(fresh, 0)->distpoint->name.fullname, 0);
	CU_ASSERT(gn->type == GEN_URI &&
	    strcmp((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), cfg.ca_delta_crl_url) == 0);
	CRL_DIST_POINTS_free(fresh);
	CU_ASSERT(crl_lists(crl, a, &reason));
	X509_CRL_free(crl);
	/* Its first delta: numbered next, over it; a was revoked within the margin before the base, so it is there too. */
	crl = current_delta(r, &n, &base);
	CU_ASSERT_EQUAL(n, complete + 1);
	CU_ASSERT_EQUAL(base, complete);
	CU_ASSERT_PTR_NULL(X509_CRL_get_ext_d2i(crl, NID_freshest_crl, NULL, NULL));
	X509_CRL_free(crl);
	/* A revocation makes a new delta, not a new complete CRL. */
	revoke(j, r, b, 3);
	crl = current_delta(r, &again, &base);
	CU_ASSERT(again > n);
	CU_ASSERT_EQUAL(base, complete);
	CU_ASSERT(crl_lists(crl, b, &reason) && reason == 3);
	X509_CRL_free(crl);
	crl = current_crl(r, &n);
	CU_ASSERT_EQUAL(n, complete);
	CU_ASSERT(!crl_lists(crl, b, &reason));
	X509_CRL_free(crl);
	revocation_close(r);
	journal_close(j);
}

/* DER of a request for serial issued by issuer (SHA-1 CertID), with a nonce when asked. */
static size_t
ocsp_request(X509 *issuer, const uint8_t *serial, size_t len, bool nonce, unsigned char **der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	ASN1_INTEGER *ai;
	BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
	OCSP_CERTID *id;
	int n;

	ai = BN_to_ASN1_INTEGER(bn, NULL);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), ai);
	CU_ASSERT_FATAL(req != NULL && id != NULL && OCSP_request_add0_id(req, id) != NULL);
	if (nonce)
		CU_ASSERT_FATAL(OCSP_request_add1_nonce(req, NULL, 16) == 1);
	*der = NULL;
	CU_ASSERT_FATAL((n = i2d_OCSP_REQUEST(req, der)) > 0);
	OCSP_REQUEST_free(req);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return (size_t)n;
}

/* Ask r about serial; the response status, and for a successful one the cert status and reason. */
static int
ask(struct revocation *r, X509 *issuer, const uint8_t *serial, bool nonce, int *status, int *reason,
    struct signer_ocsp **keep)
{
	unsigned char *req = NULL;
	size_t len = ocsp_request(issuer, serial, 16, nonce, &req);
	struct signer_ocsp *o = NULL;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	OCSP_REQUEST *oreq;
	STACK_OF(X509) *roots = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	int rs;

	CU_ASSERT_EQUAL_FATAL(revocation_ocsp(r, req, len, &o), 0);
	p = o->der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)o->len);
	CU_ASSERT_FATAL(resp != NULL);
	rs = OCSP_response_status(resp);
	CU_ASSERT_EQUAL(rs == OCSP_RESPONSE_STATUS_SUCCESSFUL, o->successful);
	*status = -1;
	*reason = -1;
	if (rs == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		p = req;
		oreq = d2i_OCSP_REQUEST(NULL, &p, (long)len);
		bs = OCSP_response_get1_basic(resp);
		CU_ASSERT_FATAL(bs != NULL && oreq != NULL && store != NULL && roots != NULL);
		CU_ASSERT_FATAL(X509_STORE_add_cert(store, g_root) == 1);
		CU_ASSERT_EQUAL(OCSP_basic_verify(bs, NULL, store, 0), 1);
		CU_ASSERT_EQUAL(OCSP_check_nonce(oreq, bs), nonce && o->has_nonce ? 1 : (nonce ? -1 : 2));
		*status = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), reason, NULL, NULL, NULL);
		OCSP_BASICRESP_free(bs);
		OCSP_REQUEST_free(oreq);
	}
	OCSP_RESPONSE_free(resp);
	X509_STORE_free(store);
	sk_X509_free(roots);
	OPENSSL_free(req);
	if (keep != NULL)
		*keep = o;
	else
		signer_ocsp_free(o);
	return rs;
}

static bool
same_bytes(const struct signer_ocsp *a, const struct signer_ocsp *b)
{
	return a->len == b->len && memcmp(a->der, b->der, a->len) == 0;
}

static void
test_ocsp(void)
{
	struct journal *j = open_journal("ocsp");
	struct revocation *r = NULL;
	struct signer_ocsp *first = NULL, *again = NULL, *nonced = NULL, *o = NULL;
	uint8_t good[16], gone[16], brief[16], unknown[16] = { 0x42 };
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01 };
	int status, reason;

	CU_ASSERT_EQUAL_FATAL(revocation_open(&g_cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	issue(j, -60, 30 * DAY, good);
	issue(j, -60, 30 * DAY, gone);
	issue(j, -60, 3600, brief);

	CU_ASSERT_EQUAL(ask(r, g_root, good, false, &status, &reason, &first), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_GOOD);
	/* A repeat is the cached answer: the same bytes (a new ECDSA signature would differ). */
	CU_ASSERT_EQUAL(ask(r, g_root, good, false, &status, &reason, &again), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(same_bytes(first, again));
	CU_ASSERT(again->next_update - again->this_update == 4 * 3600);
	/* A nonce gets a fresh answer that echoes it. */
	CU_ASSERT_EQUAL(ask(r, g_root, good, true, &status, &reason, &nonced), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT(nonced->has_nonce && !same_bytes(first, nonced));
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_GOOD);

	CU_ASSERT_EQUAL(ask(r, g_root, gone, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_GOOD);
	revoke(j, r, gone, 1);
	/* The revocation dropped the cached "good". */
	CU_ASSERT_EQUAL(ask(r, g_root, gone, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_REVOKED);
	CU_ASSERT_EQUAL(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);

	CU_ASSERT_EQUAL(ask(r, g_root, unknown, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_UNKNOWN);
	/* Short-lived: the responder does not vouch for it. */
	CU_ASSERT_EQUAL(ask(r, g_root, brief, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_UNKNOWN);
	/* Another issuer's CertID, and garbage. */
	CU_ASSERT_EQUAL(ask(r, g_other, good, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp(r, junk, sizeof(junk), &o), 0);
	CU_ASSERT(!o->successful && o->len == 5 && o->der[4] == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	signer_ocsp_free(o);
	signer_ocsp_free(first);
	signer_ocsp_free(again);
	signer_ocsp_free(nonced);
	revocation_close(r);

	/* Told to, it answers for short-lived certificates too. */
	{
		struct sd_config cfg = g_cfg;

		cfg.ca_ocsp_short_lived = true;
		CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
		CU_ASSERT_EQUAL(ask(r, g_root, brief, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
		CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_GOOD);
		revocation_close(r);
	}
	journal_close(j);
}

static void
test_ocsp_budget(void)
{
	struct sd_config cfg = g_cfg;
	struct journal *j = open_journal("budget");
	struct revocation *r = NULL;
	uint8_t good[16], serial[16];
	int i, status, reason, signed_n = 0, later = 0;

	cfg.ca_ocsp_signatures_per_second = 3;
	CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	issue(j, -60, 30 * DAY, good);
	CU_ASSERT_EQUAL(ask(r, g_root, good, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	/* A scan of unknown serials spends the budget, then gets tryLater. */
	for (i = 0; i < 20; i++) {
		CU_ASSERT_FATAL(RAND_bytes(serial, sizeof(serial)) == 1);
		if (ask(r, g_root, serial, false, &status, &reason, NULL) == OCSP_RESPONSE_STATUS_SUCCESSFUL)
			signed_n++;
		else
			later++;
	}
	CU_ASSERT(signed_n <= 4);
	CU_ASSERT(later >= 16);
	{
		struct sd_metrics_text t = { NULL, 0, 0, false };
		char *text = NULL, want[96];
		size_t len = 0;

		revocation_metrics_text(r, &t);
		CU_ASSERT_EQUAL_FATAL(sd_metrics_text_take(&t, &text, &len), 0);
		(void)snprintf(want, sizeof(want), "signerd_ocsp_answers_total{answer=\"try_later\"} %d\n", later);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_ocsp_cached_answers 1\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_crl_number 0\n"));
		/* The responder certificate was made for 30 days. */
		{
			const char *at = strstr(text, "\nsignerd_ocsp_responder_expiry_seconds ");
			long long left = at != NULL ? strtoll(at + strlen("\nsignerd_ocsp_responder_expiry_seconds "), NULL, 10) : -1;

			CU_ASSERT(left > 29 * DAY && left <= 30 * DAY);
		}
		free(text);
	}
	/* The cached answer still comes back, and so does a nonced request, without its nonce. */
	CU_ASSERT_EQUAL(ask(r, g_root, good, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_GOOD);
	CU_ASSERT_EQUAL(ask(r, g_root, good, true, &status, &reason, NULL), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	revocation_close(r);
	journal_close(j);
}

/* How many answers r keeps, from its metrics. */
static long
cached_answers(struct revocation_ocsp *r)
{
	struct sd_metrics_text t = { NULL, 0, 0, false };
	char *text = NULL, *at;
	size_t len = 0;
	long n = -1;

	revocation_ocsp_metrics_text(r, &t);
	CU_ASSERT_EQUAL_FATAL(sd_metrics_text_take(&t, &text, &len), 0);
	if ((at = strstr(text, "\nsignerd_ocsp_cached_answers ")) != NULL)
		n = strtol(at + strlen("\nsignerd_ocsp_cached_answers "), NULL, 10);
	free(text);
	return n;
}

static void
test_ocsp_refresh(void)
{
	struct journal *j = open_journal("refresh");
	struct revocation_ocsp *r = NULL;
	struct signer_ocsp *a = NULL, *b = NULL, *c = NULL;
	unsigned char *req = NULL;
	uint8_t good[16];
	int64_t t0 = (int64_t)time(NULL), half = (int64_t)g_cfg.ca_ocsp_validity / 2;
	size_t len;

	issue(j, -60, 30 * DAY, good);
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp_open(&g_cfg, g_hsm, j, g_ca, &r), 0);
	len = ocsp_request(g_root, good, 16, false, &req);
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp_answer(r, req, len, t0, &a), 0);
	CU_ASSERT_EQUAL(a->this_update, t0);
	/* Asked again later: served from the cache, and marked as wanted. */
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp_answer(r, req, len, t0 + 10, &b), 0);
	CU_ASSERT(same_bytes(a, b));
	/* Before half its validity a refresh leaves it; past it, signs it again. */
	revocation_ocsp_refresh(r, t0 + half - 1);
	signer_ocsp_free(b);
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp_answer(r, req, len, t0 + half - 1, &b), 0);
	CU_ASSERT(same_bytes(a, b));
	revocation_ocsp_refresh(r, t0 + half + 1);
	CU_ASSERT_EQUAL(cached_answers(r), 1);
	CU_ASSERT_EQUAL_FATAL(revocation_ocsp_answer(r, req, len, t0 + half + 1, &c), 0);
	CU_ASSERT(!same_bytes(a, c));
	CU_ASSERT_EQUAL(c->this_update, t0 + half + 1);
	CU_ASSERT_EQUAL(c->next_update, t0 + half + 1 + 2 * half);
	/* Refreshed and not asked for since (the answer above came in its signing second): it goes. */
	revocation_ocsp_refresh(r, t0 + 3 * half + 2);
	CU_ASSERT_EQUAL(cached_answers(r), 0);
	signer_ocsp_free(a);
	signer_ocsp_free(b);
	signer_ocsp_free(c);
	OPENSSL_free(req);
	revocation_ocsp_close(r);
	journal_close(j);
}

static void
test_responder_checks(void)
{
	struct sd_config cfg = g_cfg;
	struct journal *j = open_journal("checks");
	struct revocation *r = NULL;
	char root_path[PATH_MAX], *pem = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;
	int status, reason;
	uint8_t serial[16] = { 1 };

	/* The root's own certificate: not for OCSP signing, and not the responder key's. */
	CU_ASSERT_FATAL(bio != NULL && PEM_write_bio_X509(bio, g_root) == 1);
	BIO_get_mem_ptr(bio, &mem);
	CU_ASSERT_FATAL((pem = strndup(mem->data, mem->length)) != NULL);
	sd_test_write(g_dir, "root.pem", pem, 0644, root_path);
	cfg.ca_ocsp_certificate = root_path;
	CU_ASSERT_EQUAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), SD_E_CONFIG);
	/* The responder certificate with another key. */
	cfg.ca_ocsp_certificate = g_resp_pem;
	cfg.ca_ocsp_key = (char *)"pkcs11:object=other";
	CU_ASSERT_EQUAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), SD_E_CONFIG);
	/* No responder: every request is unauthorized. */
	cfg.ca_ocsp_key = NULL;
	cfg.ca_ocsp_certificate = NULL;
	CU_ASSERT_EQUAL_FATAL(revocation_open(&cfg, g_hsm, j, g_ca_key, g_ca, &r), 0);
	CU_ASSERT_EQUAL(ask(r, g_root, serial, false, &status, &reason, NULL), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	revocation_close(r);
	BIO_free(bio);
	free(pem);
	journal_close(j);
}

static void
test_teardown(void)
{
	ca_free(g_ca);
	X509_free(g_root);
	X509_free(g_other);
	EVP_PKEY_free(g_leaf_key);
	hsm_key_free(g_ca_key);
	hsm_key_free(g_resp_key);
	hsm_close(g_hsm);
	free(g_cfg.ca_ocsp_key);
	sd_test_rmtree(g_dir);
	sd_test_softhsm_free(&fx);
}

int
main(void)
{
	static const struct sd_test_case cases[] = {
		{ "set up a SoftHSM token, a root and its OCSP responder", test_setup },
		{ "CRL: numbered from the journal, made again after revocations, short-lived and expired left out",
		    test_crl },
		{ "CRL: revocations within crl_delay share one new CRL, made unasked", test_crl_delay },
		{ "delta CRLs: off by default; over the complete CRL, with freshestCRL; revocations make deltas",
		    test_crl_delta },
		{ "OCSP: good, revoked, unknown; cached repeats, nonces, other issuers, garbage, short-lived",
		    test_ocsp },
		{ "OCSP: a scan of unknown serials spends the budget, then tryLater; cached answers still served",
		    test_ocsp_budget },
		{ "OCSP: cached answers asked for are signed again past half their validity, others dropped",
		    test_ocsp_refresh },
		{ "OCSP: responder certificate checks; no responder configured", test_responder_checks },
		{ "tear down", test_teardown },
	};

	SD_TEST_SUITE("revocation", cases);
	return sd_test_run("test_revocation");
}
