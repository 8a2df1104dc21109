/*
 * OCSP signed in a real SoftHSM token (signer/x509/ocsp.h): for each key
 * type, a root made by the ceremony code delegates to an OCSP responder
 * whose key is in the HSM; requests built by OpenSSL as a client builds
 * them are parsed, answered good, revoked and unknown, and the responses
 * checked by OpenSSL as a relying party checks them (chain to the root,
 * OCSPSigning, status, reason, times, nonce). Bad requests and bad answers
 * are refused with precise errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "hsm.h"
#include "sd_test.h"
#include "hsm_ca_fixture.h"
#include "softhsm_fixture.h"
#include "x509/ocsp.h"
#include "x509/x509_sigalg.h"

static struct sd_test_softhsm fx;
static struct hsm *g_hsm;

static void
test_setup(void)
{
	g_hsm = hsm_ca_open("ocsp-test", &fx);
}

/* The delegated responder of the root rk (certificate root_pem) for key resk. */
static X509 *
make_responder(struct hsm_key *rk, const char *root_pem, struct hsm_key *resk, uint64_t days)
{
	char *pem = NULL;
	X509 *x;

	CU_ASSERT_EQUAL_FATAL(ceremony_ocsp_responder(rk, root_pem, strlen(root_pem), resk,
	    "/O=signerd test/CN=OCSP responder", days, &pem), 0);
	x = hsm_ca_pem_cert(pem);
	free(pem);
	return x;
}

/* DER of req into *der (OPENSSL_free()). */
static size_t
request_der(OCSP_REQUEST *req, unsigned char **der)
{
	int n;

	*der = NULL;
	n = i2d_OCSP_REQUEST(req, der);
	CU_ASSERT_FATAL(n > 0);
	return (size_t)n;
}

/* A request for certs issued by issuer, with md (NULL: SHA-1), and a nonce of nonce_len random bytes (0: none). */
static OCSP_REQUEST *
make_request(X509 *issuer, X509 **certs, size_t n, const EVP_MD *md, int nonce_len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	for (i = 0; i < n; i++) {
		id = OCSP_cert_to_id(md, certs[i], issuer);
		CU_ASSERT_FATAL(id != NULL && OCSP_request_add0_id(req, id) != NULL);
	}
	if (nonce_len > 0)
		CU_ASSERT_FATAL(OCSP_request_add1_nonce(req, NULL, nonce_len) == 1);
	return req;
}

/* ocsp_request_parse() on the DER of req. */
static int
parse(OCSP_REQUEST *req, struct ocsp_request **out)
{
	unsigned char *der = NULL;
	size_t len = request_der(req, &der);
	int rc = ocsp_request_parse(der, len, out);

	OPENSSL_free(der);
	return rc;
}

static OCSP_BASICRESP *
basic_of(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT(p == der + len);
	CU_ASSERT_EQUAL(OCSP_response_status(resp), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	OCSP_RESPONSE_free(resp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bs);
	return bs;
}

/* OCSP_basic_verify() with a store holding root alone, as a relying party does. */
static int
rp_verify(OCSP_BASICRESP *bs, X509 *root)
{
	X509_STORE *store = X509_STORE_new();
	int rc;

	CU_ASSERT_FATAL(store != NULL && X509_STORE_add_cert(store, root) == 1);
	rc = OCSP_basic_verify(bs, NULL, store, 0);
	ERR_clear_error();
	X509_STORE_free(store);
	return rc;
}

/* OCSP_resp_find_status() for cert under issuer: the status, and reason/times checked. */
static int
rp_status(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer, int *reason, ASN1_GENERALIZEDTIME **rev)
{
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	ASN1_GENERALIZEDTIME *this_upd = NULL, *next_upd = NULL;
	int status = -1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	CU_ASSERT_EQUAL_FATAL(OCSP_resp_find_status(bs, id, &status, reason, rev, &this_upd, &next_upd), 1);
	CU_ASSERT_EQUAL(OCSP_check_validity(this_upd, next_upd, 300, -1), 1);
	OCSP_CERTID_free(id);
	return status;
}

/* A root of type delegates to a responder; both sub-CAs and a made-up serial are asked about. */
static void
ocsp_for(enum hsm_key_type type, const char *label)
{
	char name[64], *root_pem = NULL;
	struct hsm_key *rk, *ak, *bk, *resk;
	struct ocsp_request *req = NULL;
	struct ocsp_single answers[3];
	X509 *root, *a, *b, *responder, *certs[2];
	OCSP_REQUEST *oreq;
	OCSP_CERTID *made_up;
	OCSP_BASICRESP *bs;
	ASN1_GENERALIZEDTIME *rev = NULL;
	const ASN1_OCTET_STRING *rid_key = NULL;
	const X509_NAME *rid_name = NULL;
	ASN1_INTEGER *serial;
	AUTHORITY_KEYID *akid;
	X509_EXTENSION *ext;
	uint8_t *der = NULL;
	size_t len = 0, i;
	time_t now = time(NULL);
	int reason = -2, idx;
	bool match = false;

	(void)snprintf(name, sizeof(name), "%s-root", label);
	rk = hsm_ca_key(g_hsm, name, type);
	(void)snprintf(name, sizeof(name), "%s-a", label);
	ak = hsm_ca_key(g_hsm, name, HSM_KEY_P256);
	(void)snprintf(name, sizeof(name), "%s-b", label);
	bk = hsm_ca_key(g_hsm, name, HSM_KEY_P256);
	(void)snprintf(name, sizeof(name), "%s-responder", label);
	resk = hsm_ca_key(g_hsm, name, type);
	root = hsm_ca_make(rk, label, NULL, NULL, &root_pem);
	a = hsm_ca_make(ak, "sub A", rk, root_pem, NULL);
	b = hsm_ca_make(bk, "sub B", rk, root_pem, NULL);
	responder = make_responder(rk, root_pem, resk, 7);

	/* The responder certificate: an OCSP signer and nothing else. */
	CU_ASSERT_EQUAL(X509_check_ca(responder), 0);
	CU_ASSERT_EQUAL(X509_get_extended_key_usage(responder), XKU_OCSP_SIGN);
	CU_ASSERT_EQUAL(X509_get_key_usage(responder), KU_DIGITAL_SIGNATURE);
	CU_ASSERT_EQUAL(X509_check_issued(root, responder), X509_V_OK);
	idx = X509_get_ext_by_NID(responder, NID_id_pkix_OCSP_noCheck, -1);
	CU_ASSERT_FATAL(idx >= 0);
	ext = X509_get_ext(responder, idx);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(ext), 0);
	CU_ASSERT_EQUAL(ASN1_STRING_length(X509_EXTENSION_get_data(ext)), 2);
	CU_ASSERT_EQUAL(memcmp(ASN1_STRING_get0_data(X509_EXTENSION_get_data(ext)), "\x05\x00", 2), 0);
	CU_ASSERT_EQUAL(X509_EXTENSION_get_critical(X509_get_ext(responder,
	    X509_get_ext_by_NID(responder, NID_key_usage, -1))), 1);
	CU_ASSERT_PTR_NOT_NULL(X509_get0_subject_key_id(responder));
	akid = X509_get_ext_d2i(responder, NID_authority_key_identifier, NULL, NULL);
	CU_ASSERT_FATAL(akid != NULL && akid->keyid != NULL);
	CU_ASSERT_EQUAL(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(root)), 0);
	AUTHORITY_KEYID_free(akid);
	CU_ASSERT(ASN1_TIME_compare(X509_get0_notAfter(responder), X509_get0_notAfter(root)) < 0);

	/* A, B and a serial the root never issued, with a 16-byte nonce, as OpenSSL's client asks. */
	certs[0] = a;
	certs[1] = b;
	oreq = make_request(root, certs, 2, NULL, 16);
	serial = ASN1_INTEGER_new();
	CU_ASSERT_FATAL(serial != NULL && ASN1_INTEGER_set(serial, 0x1234567) == 1);
	made_up = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root), X509_get0_pubkey_bitstr(root), serial);
	ASN1_INTEGER_free(serial);	/* OCSP_cert_id_new() copied it */
	CU_ASSERT_FATAL(made_up != NULL && OCSP_request_add0_id(oreq, made_up) != NULL);
	CU_ASSERT_EQUAL_FATAL(parse(oreq, &req), 0);
	CU_ASSERT_EQUAL_FATAL(req->n_ids, 3);
	CU_ASSERT_EQUAL(req->nonce_len, 16);
	CU_ASSERT_FALSE(req->is_signed);
	for (i = 0; i < req->n_ids; i++) {
		CU_ASSERT_EQUAL(req->ids[i].hash, OCSP_HASH_SHA1);
		CU_ASSERT_EQUAL(req->ids[i].hash_len, 20);
		CU_ASSERT_EQUAL(ocsp_certid_is_issued_by(&req->ids[i], root, &match), 0);
		CU_ASSERT_TRUE(match);
		/* A sub-CA is not the issuer asked about. */
		CU_ASSERT_EQUAL(ocsp_certid_is_issued_by(&req->ids[i], a, &match), 0);
		CU_ASSERT_FALSE(match);
	}
	CU_ASSERT_EQUAL(req->ids[2].serial_len, 4);
	CU_ASSERT_EQUAL(memcmp(req->ids[2].serial, "\x01\x23\x45\x67", 4), 0);
	/* ocsp_certid_for() makes the same CertID as the client did. */
	{
		struct ocsp_certid same;

		CU_ASSERT_EQUAL_FATAL(ocsp_certid_for(root, OCSP_HASH_SHA1, req->ids[2].serial, req->ids[2].serial_len,
		    &same), 0);
		CU_ASSERT_EQUAL(same.der_len, req->ids[2].der_len);
		CU_ASSERT_EQUAL(memcmp(same.der, req->ids[2].der, same.der_len), 0);
	}

	memset(answers, 0, sizeof(answers));
	for (i = 0; i < 3; i++) {
		answers[i].id = req->ids[i];
		answers[i].this_update = (int64_t)now;
		answers[i].next_update = (int64_t)now + 86400;
		answers[i].reason = OCSP_NO_REASON;
	}
	answers[0].status = OCSP_CERT_GOOD;
	answers[1].status = OCSP_CERT_REVOKED;
	answers[1].revoked_at = (int64_t)now - 3600;
	answers[1].reason = 1;	/* keyCompromise */
	answers[2].status = OCSP_CERT_UNKNOWN;
	CU_ASSERT_EQUAL_FATAL(ocsp_response_sign(resk, NULL, responder, answers, 3, (int64_t)now, req->nonce,
	    req->nonce_len, X509_get0_pubkey(responder), &der, &len), 0);

	/* What a relying party does with it. */
	bs = basic_of(der, len);
	CU_ASSERT_EQUAL(rp_verify(bs, root), 1);
	CU_ASSERT_EQUAL(OCSP_check_nonce(oreq, bs), 1);
	CU_ASSERT_EQUAL(rp_status(bs, a, root, &reason, &rev), V_OCSP_CERTSTATUS_GOOD);
	CU_ASSERT_EQUAL(rp_status(bs, b, root, &reason, &rev), V_OCSP_CERTSTATUS_REVOKED);
	CU_ASSERT_EQUAL(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	CU_ASSERT_FATAL(rev != NULL);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(rev, now - 3600), 0);
	CU_ASSERT_EQUAL(OCSP_resp_find(bs, made_up, -1), 2);
	CU_ASSERT_EQUAL(OCSP_single_get0_status(OCSP_resp_get0(bs, 2), &reason, NULL, NULL, NULL),
	    V_OCSP_CERTSTATUS_UNKNOWN);
	CU_ASSERT_EQUAL(ASN1_TIME_cmp_time_t(OCSP_resp_get0_produced_at(bs), now), 0);
	CU_ASSERT_EQUAL(OCSP_resp_get0_id(bs, &rid_key, &rid_name), 1);
	CU_ASSERT(rid_key != NULL && rid_name == NULL);
	CU_ASSERT_EQUAL(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	/* A trust store without the root: the chain does not verify. */
	{
		X509_STORE *empty = X509_STORE_new();

		CU_ASSERT_FATAL(empty != NULL);
		CU_ASSERT_NOT_EQUAL(OCSP_basic_verify(bs, NULL, empty, 0), 1);
		ERR_clear_error();
		X509_STORE_free(empty);
	}
	OCSP_BASICRESP_free(bs);
	free(der);
	ocsp_request_free(req);
	OCSP_REQUEST_free(oreq);

	/* SHA-256 CertIDs, no nonce, answered by the root itself with its own key. */
	oreq = make_request(root, certs + 1, 1, EVP_sha256(), 0);
	CU_ASSERT_EQUAL_FATAL(parse(oreq, &req), 0);
	CU_ASSERT_EQUAL(req->ids[0].hash, OCSP_HASH_SHA256);
	CU_ASSERT_EQUAL(req->nonce_len, 0);
	CU_ASSERT_EQUAL(ocsp_certid_is_issued_by(&req->ids[0], root, &match), 0);
	CU_ASSERT_TRUE(match);
	answers[0].id = req->ids[0];
	answers[0].status = OCSP_CERT_REVOKED;
	answers[0].revoked_at = (int64_t)now - 60;
	answers[0].reason = OCSP_NO_REASON;
	CU_ASSERT_EQUAL_FATAL(ocsp_response_sign(rk, NULL, root, answers, 1, (int64_t)now, NULL, 0,
	    X509_get0_pubkey(root), &der, &len), 0);
	bs = basic_of(der, len);
	CU_ASSERT_EQUAL(rp_verify(bs, root), 1);
	CU_ASSERT_EQUAL(OCSP_check_nonce(oreq, bs), 2);	/* absent from both */
	{
		OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha256(), b, root);
		int status = -1;

		CU_ASSERT_FATAL(id != NULL);
		reason = -2;
		CU_ASSERT_EQUAL(OCSP_resp_find_status(bs, id, &status, &reason, NULL, NULL, NULL), 1);
		CU_ASSERT_EQUAL(status, V_OCSP_CERTSTATUS_REVOKED);
		CU_ASSERT_EQUAL(reason, OCSP_REVOKED_STATUS_NOSTATUS);
		OCSP_CERTID_free(id);
	}
	OCSP_BASICRESP_free(bs);
	free(der);
	ocsp_request_free(req);
	OCSP_REQUEST_free(oreq);

	X509_free(responder);
	X509_free(a);
	X509_free(b);
	X509_free(root);
	free(root_pem);
	hsm_key_free(resk);
	hsm_key_free(bk);
	hsm_key_free(ak);
	hsm_key_free(rk);
}

static void
test_ocsp_p256(void)
{
	ocsp_for(HSM_KEY_P256, "p256");
}

static void
test_ocsp_rsa(void)
{
	ocsp_for(HSM_KEY_RSA2048, "rsa");
}

static void
test_ocsp_ed25519(void)
{
	ocsp_for(HSM_KEY_ED25519, "ed25519");
}

/* The responder's validity stops at the root's; its key is not the root's; days are bounded. */
static void
test_ocsp_responder_cert(void)
{
	struct hsm_key *rk = hsm_ca_key(g_hsm, "cert-root", HSM_KEY_P256), *resk = hsm_ca_key(g_hsm, "cert-responder", HSM_KEY_P256);
	char *root_pem = NULL, *pem = NULL;
	X509 *root = hsm_ca_make(rk, "cert root", NULL, NULL, &root_pem), *responder;

	responder = make_responder(rk, root_pem, resk, 36500);
	CU_ASSERT_EQUAL(ASN1_TIME_compare(X509_get0_notAfter(responder), X509_get0_notAfter(root)), 0);
	X509_free(responder);
	CU_ASSERT_EQUAL(ceremony_ocsp_responder(rk, root_pem, strlen(root_pem), rk, "/CN=self", 7, &pem), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "issuer's own key") != NULL);
	CU_ASSERT_EQUAL(ceremony_ocsp_responder(rk, root_pem, strlen(root_pem), resk, "/CN=r", 0, &pem), SD_E_INVAL);
	CU_ASSERT_EQUAL(ceremony_ocsp_responder(rk, root_pem, strlen(root_pem), resk, "CN=r", 7, &pem), SD_E_INVAL);
	/* The root's PEM with another key: refused as for an intermediate. */
	CU_ASSERT_EQUAL(ceremony_ocsp_responder(resk, root_pem, strlen(root_pem), rk, "/CN=r", 7, &pem), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(pem);
	X509_free(root);
	free(root_pem);
	hsm_key_free(resk);
	hsm_key_free(rk);
}

/* Garbage, trailing bytes, size, count, nonce, hash and critical extensions are refused with precise errors. */
static void
test_ocsp_request_refusals(void)
{
	struct hsm_key *rk = hsm_ca_key(g_hsm, "req-root", HSM_KEY_P256), *ok = hsm_ca_key(g_hsm, "req-other", HSM_KEY_P256);
	X509 *root = hsm_ca_make(rk, "req root", NULL, NULL, NULL), *other = hsm_ca_make(ok, "other root", NULL, NULL, NULL);
	X509 *certs[9];
	struct ocsp_request *req = NULL;
	OCSP_REQUEST *oreq;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *os;
	unsigned char *der = NULL;
	uint8_t *big, *trail;
	size_t len, i;
	bool match = true;
	static const uint8_t garbage[] = "GET / HTTP/1.1\r\n";

	CU_ASSERT_EQUAL(ocsp_request_parse(garbage, sizeof(garbage) - 1, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "not a DER OCSPRequest") != NULL);
	CU_ASSERT_EQUAL(ocsp_request_parse(garbage, 0, &req), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(req);
	/* Found by fuzz_ocsp: the SHA-1 AlgorithmIdentifier's NULL under tag 0x20, which OpenSSL takes and re-encodes into bytes that do not decode. */
	{
		static const uint8_t bad_param[] = {
			0x30, 0x55, 0x30, 0x53, 0x30, 0x51, 0x30, 0x4f, 0x30, 0x4d, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
			0x03, 0x02, 0x1a, 0x20, 0x00, 0x04, 0x14, 0x96, 0xfd, 0x4f, 0x41, 0x77, 0x34, 0x2d, 0x09, 0xde,
			0x0c, 0xdf, 0x7b, 0x45, 0x32, 0x50, 0x8a, 0x2a, 0x9d, 0x63, 0xa2, 0x04, 0x14, 0x13, 0xde, 0x0b,
			0x6c, 0xa0, 0xb6, 0xbb, 0x46, 0xb3, 0x3b, 0xfb, 0x37, 0xe4, 0xc5, 0x11, 0x6b, 0xbb, 0x7a, 0x65,
			0x6d, 0x02, 0x14, 0x31, 0x5f, 0x12, 0xb6, 0x64, 0x5d, 0xae, 0x4e, 0x7a, 0xa5, 0xd0, 0x12, 0xf7,
			0xd6, 0x93, 0x58, 0x96, 0xf9, 0xd2, 0xf8,
		};

		CU_ASSERT_EQUAL(ocsp_request_parse(bad_param, sizeof(bad_param), &req), SD_E_INVAL);
		CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "does not encode back") != NULL);
		CU_ASSERT_PTR_NULL(req);
	}
	big = calloc(1, OCSP_REQUEST_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	CU_ASSERT_EQUAL(ocsp_request_parse(big, OCSP_REQUEST_MAX + 1, &req), SD_E_TOO_LARGE);
	free(big);

	/* A CertID naming another CA: recognised as not the root's. */
	oreq = make_request(other, &other, 1, NULL, 8);
	CU_ASSERT_EQUAL_FATAL(parse(oreq, &req), 0);
	CU_ASSERT_EQUAL(ocsp_certid_is_issued_by(&req->ids[0], root, &match), 0);
	CU_ASSERT_FALSE(match);
	CU_ASSERT_EQUAL(ocsp_certid_is_issued_by(&req->ids[0], other, &match), 0);
	CU_ASSERT_TRUE(match);
	ocsp_request_free(req);
	req = NULL;
	OCSP_REQUEST_free(oreq);

	/* Trailing bytes after a good request. */
	oreq = make_request(root, &root, 1, NULL, 8);
	len = request_der(oreq, &der);
	CU_ASSERT_EQUAL(ocsp_request_parse(der, len, &req), 0);
	ocsp_request_free(req);
	req = NULL;
	OCSP_REQUEST_free(oreq);
	trail = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(trail);
	memcpy(trail, der, len);
	trail[len] = 0;
	CU_ASSERT_EQUAL(ocsp_request_parse(trail, len + 1, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "1 bytes after it") != NULL);
	CU_ASSERT_PTR_NULL(req);
	free(trail);
	OPENSSL_free(der);

	/* Eight certificates are allowed, nine are not, nor none. */
	for (i = 0; i < 9; i++)
		certs[i] = root;
	oreq = make_request(root, certs, 8, NULL, 0);
	CU_ASSERT_EQUAL(parse(oreq, &req), 0);
	CU_ASSERT(req != NULL && req->n_ids == 8);
	ocsp_request_free(req);
	req = NULL;
	OCSP_REQUEST_free(oreq);
	oreq = make_request(root, certs, 9, NULL, 0);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "asks about 9 certificates") != NULL);
	OCSP_REQUEST_free(oreq);
	oreq = make_request(root, certs, 0, NULL, 0);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_INVAL);
	OCSP_REQUEST_free(oreq);

	/* A nonce of 32 octets is allowed, of 33 not (RFC 8954). */
	oreq = make_request(root, certs, 1, NULL, 32);
	CU_ASSERT_EQUAL(parse(oreq, &req), 0);
	CU_ASSERT(req != NULL && req->nonce_len == 32);
	ocsp_request_free(req);
	req = NULL;
	OCSP_REQUEST_free(oreq);
	oreq = make_request(root, certs, 1, NULL, 33);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "nonce of 33 octets") != NULL);
	OCSP_REQUEST_free(oreq);

	/* A nonce that is not an OCTET STRING inside extnValue, and a critical extension not understood. */
	oreq = make_request(root, certs, 1, NULL, 0);
	os = ASN1_OCTET_STRING_new();
	CU_ASSERT_FATAL(os != NULL && ASN1_OCTET_STRING_set(os, (const unsigned char *)"raw", 3) == 1);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_Nonce, 0, os);
	CU_ASSERT_FATAL(ext != NULL && OCSP_REQUEST_add_ext(oreq, ext, -1) == 1);
	X509_EXTENSION_free(ext);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "not one OCTET STRING") != NULL);
	OCSP_REQUEST_free(oreq);
	oreq = make_request(root, certs, 1, NULL, 0);
	CU_ASSERT_FATAL(ASN1_OCTET_STRING_set(os, (const unsigned char *)"\x05\x00", 2) == 1);
	ext = X509_EXTENSION_create_by_NID(NULL, NID_id_pkix_OCSP_serviceLocator, 1, os);
	CU_ASSERT_FATAL(ext != NULL && OCSP_REQUEST_add_ext(oreq, ext, -1) == 1);
	X509_EXTENSION_free(ext);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "critical extension") != NULL);
	OCSP_REQUEST_free(oreq);
	ASN1_OCTET_STRING_free(os);

	/* A signed request is accepted; its signature is not needed. */
	{
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *self = X509_new();

		CU_ASSERT_FATAL(k != NULL && self != NULL && X509_set_pubkey(self, k) == 1 &&
		    X509_set_subject_name(self, X509_get_subject_name(root)) == 1 &&
		    X509_set_issuer_name(self, X509_get_subject_name(root)) == 1 &&
		    X509_gmtime_adj(X509_getm_notBefore(self), 0) != NULL &&
		    X509_gmtime_adj(X509_getm_notAfter(self), 60) != NULL && X509_sign(self, k, EVP_sha256()) > 0);
		oreq = make_request(root, certs, 2, NULL, 16);
		CU_ASSERT_FATAL(OCSP_request_sign(oreq, self, k, EVP_sha256(), NULL, 0) == 1);
		CU_ASSERT_EQUAL(parse(oreq, &req), 0);
		CU_ASSERT(req != NULL && req->is_signed && req->n_ids == 2 && req->nonce_len == 16);
		ocsp_request_free(req);
		req = NULL;
		OCSP_REQUEST_free(oreq);
		X509_free(self);
		EVP_PKEY_free(k);
	}

	/* An MD5 CertID. */
	oreq = make_request(root, certs, 1, EVP_md5(), 0);
	CU_ASSERT_EQUAL(parse(oreq, &req), SD_E_UNSUPPORTED);
	CU_ASSERT(strstr(sd_error_detail(SD_E_UNSUPPORTED), "1.2.840.113549.2.5") != NULL);
	OCSP_REQUEST_free(oreq);
	CU_ASSERT_PTR_NULL(req);

	X509_free(other);
	X509_free(root);
	hsm_key_free(ok);
	hsm_key_free(rk);
}

/* Bad answers, nonces, counts, keys and algorithms are refused; a wrong verify key fails the check. */
static void
test_ocsp_response_refusals(void)
{
	struct hsm_key *rk = hsm_ca_key(g_hsm, "resp-root", HSM_KEY_P256), *resk = hsm_ca_key(g_hsm, "resp-responder", HSM_KEY_P256);
	char *root_pem = NULL;
	X509 *root = hsm_ca_make(rk, "resp root", NULL, NULL, &root_pem), *responder = make_responder(rk, root_pem, resk, 7);
	EVP_PKEY *pub = X509_get0_pubkey(responder);
	const struct x509_sigalg *rsa = NULL;
	struct ocsp_single s[OCSP_REQUEST_IDS_MAX + 1];
	uint8_t nonce[OCSP_NONCE_MAX + 1], serial[] = { 0x42 };
	uint8_t *der = NULL;
	size_t len = 0, i;
	int64_t now = (int64_t)time(NULL);
	static const uint8_t bad_reasons[] = { 7, 11, 254 };

	memset(s, 0, sizeof(s));
	memset(nonce, 0x5a, sizeof(nonce));
	CU_ASSERT_EQUAL_FATAL(ocsp_certid_for(root, OCSP_HASH_SHA256, serial, sizeof(serial), &s[0].id), 0);
	s[0].status = OCSP_CERT_REVOKED;
	s[0].revoked_at = now - 10;
	s[0].this_update = now;
	s[0].next_update = now + 60;
	for (i = 1; i < sizeof(s) / sizeof(s[0]); i++)
		s[i] = s[0];
	for (i = 0; i < sizeof(bad_reasons); i++) {
		s[0].reason = bad_reasons[i];
		CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
		CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "reason code") != NULL);
		CU_ASSERT_PTR_NULL(der);
	}
	s[0].reason = 0;	/* unspecified is written */
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, nonce, OCSP_NONCE_MAX, pub, &der, &len), 0);
	free(der);
	der = NULL;
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, nonce, OCSP_NONCE_MAX + 1, pub, &der,
	    &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 0, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, OCSP_REQUEST_IDS_MAX + 1, now, NULL, 0, pub, &der,
	    &len), SD_E_INVAL);
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, OCSP_REQUEST_IDS_MAX, now, NULL, 0, pub, &der,
	    &len), 0);
	free(der);
	der = NULL;
	s[0].next_update = s[0].this_update;
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "nextUpdate") != NULL);
	s[0].next_update = now + 60;
	s[0].status = (enum ocsp_cert_status)3;
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	s[0].status = OCSP_CERT_GOOD;
	s[0].id.der[0] = 0x31;
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "CertID") != NULL);
	s[0].id.der[0] = 0x30;
	/* Times past 9999 (OpenSSL would write a five-digit year) or before 1970. */
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, INT64_C(253402300800), NULL, 0, pub, &der,
	    &len), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "GeneralizedTime") != NULL);
	s[0].this_update = -1;
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	s[0].this_update = now;
	/* An algorithm for another key type. */
	CU_ASSERT_EQUAL_FATAL(x509_sigalg_for(HSM_KEY_RSA2048, &rsa), 0);
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, rsa, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	/* A responder certificate whose key is not the verify key. */
	CU_ASSERT_EQUAL(ocsp_response_sign(resk, NULL, root, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INVAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INVAL), "not the signing key") != NULL);
	/* Signed by the root's key but naming the responder: the check refuses what was signed. */
	CU_ASSERT_EQUAL(ocsp_response_sign(rk, NULL, responder, s, 1, now, NULL, 0, pub, &der, &len), SD_E_INTERNAL);
	CU_ASSERT(strstr(sd_error_detail(SD_E_INTERNAL), "does not verify") != NULL);
	CU_ASSERT_PTR_NULL(der);
	/* Unknown and out-of-range CertID inputs. */
	CU_ASSERT_EQUAL(ocsp_certid_for(root, (enum ocsp_hash)9, serial, 1, &s[1].id), SD_E_UNSUPPORTED);
	CU_ASSERT_EQUAL(ocsp_certid_for(root, OCSP_HASH_SHA1, serial, 0, &s[1].id), SD_E_INVAL);
	CU_ASSERT_EQUAL(ocsp_certid_for(root, OCSP_HASH_SHA1, nonce, OCSP_SERIAL_MAX + 1, &s[1].id), SD_E_INVAL);

	X509_free(responder);
	X509_free(root);
	free(root_pem);
	hsm_key_free(resk);
	hsm_key_free(rk);
}

/* Unsigned error responses: exactly the status, no responseBytes. */
static void
test_ocsp_error_responses(void)
{
	static const int statuses[] = { OCSP_MALFORMED_REQUEST, OCSP_INTERNAL_ERROR, OCSP_TRY_LATER, OCSP_SIG_REQUIRED,
		OCSP_UNAUTHORIZED };
	static const int bad[] = { 0, 4, 7, -1 };
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	uint8_t *der = NULL;
	size_t len = 0, i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(ocsp_error_response(statuses[i], &der, &len), 0);
		CU_ASSERT_EQUAL(len, 5);
		p = der;
		resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
		CU_ASSERT(p == der + len);
		CU_ASSERT_EQUAL(OCSP_response_status(resp), statuses[i]);
		bs = OCSP_response_get1_basic(resp);
		CU_ASSERT_PTR_NULL(bs);
		ERR_clear_error();
		OCSP_RESPONSE_free(resp);
		free(der);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(ocsp_error_response(bad[i], &der, &len), SD_E_INVAL);
		CU_ASSERT_PTR_NULL(der);
	}
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
	static const struct sd_test_case ocsp[] = {
		{ "set up a SoftHSM token", test_setup },
		{ "P-256 root and responder: good, revoked, unknown; OpenSSL verifies as a relying party", test_ocsp_p256 },
		{ "RSA-2048 root and responder", test_ocsp_rsa },
		{ "Ed25519 root and responder", test_ocsp_ed25519 },
		{ "responder certificate: validity capped, own key, bad days, subject and issuer", test_ocsp_responder_cert },
		{ "requests: garbage, trailing bytes, size, count, nonce, hash, critical extension; signed ones accepted",
		    test_ocsp_request_refusals },
		{ "responses: reasons, times, status, CertID, nonce, count, algorithm, keys", test_ocsp_response_refusals },
		{ "error responses parse with their status", test_ocsp_error_responses },
		{ "tear down", test_teardown },
	};

	SD_TEST_SUITE("ocsp", ocsp);
	return sd_test_run("test_ocsp");
}
