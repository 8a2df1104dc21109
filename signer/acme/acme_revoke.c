/*
 * revokeCert (RFC 8555 7.6): the certificate, checked to be this CA's,
 * the reason, who may revoke it, then the core's revocation (journaled,
 * the revocation publisher told).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_ari.h"
#include "acme_internal.h"
#include "sd_crl_reason.h"
#include "sd_file.h"

#define ACME_REVOKE_CERT_MAX (64 * 1024) /* bytes of the certificate's DER */

enum acme_revoke_by
acme_revoke_authorised(const json_t *issued, const char *profile, const char *account_id,
    const uint8_t key_spki_sha256[32], const uint8_t cert_spki_sha256[32])
{
	const char *owner = acme_json_str(issued, "account"), *issued_in = acme_json_str(issued, "profile");

	/*
	 * RFC 8555 7.6 also lets an account with valid authorizations for all
	 * the certificate's names revoke it; that path is not offered.
	 */
	if (account_id != NULL)
		return owner != NULL && issued_in != NULL && strcmp(owner, account_id) == 0 &&
		        strcmp(issued_in, profile) == 0 ?
		    ACME_REVOKE_BY_ACCOUNT :
		    ACME_REVOKE_REFUSED;
	return CRYPTO_memcmp(key_spki_sha256, cert_spki_sha256, 32) == 0 ? ACME_REVOKE_BY_KEY : ACME_REVOKE_REFUSED;
}

/* The payload's "certificate": base64url DER, one X.509 certificate and nothing after it. */
static int
acme_revoke_cert(struct acme_call *c, X509 **out)
{
	const char *b64 = acme_json_str(c->payload, "certificate");
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (b64 == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "\"certificate\" (base64url DER) is required");
		goto out;
	}
	if ((rc = acme_b64url_decode(b64, strlen(b64), ACME_REVOKE_CERT_MAX, &der, &len)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = acme_answer_problem(c, ACME_P_MALFORMED, "\"certificate\": %s", sd_error_detail(rc));
		goto out;
	}
	p = der;
	if (len > (size_t)ACME_REVOKE_CERT_MAX || (*out = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		X509_free(*out);
		*out = NULL;
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "\"certificate\" is not one DER X.509 certificate");
	}
out:
	free(der);
	return rc;
}

/* "reason": absent is unspecified (0); a final RFC 5280 code else. */
static int
acme_revoke_reason(struct acme_call *c, uint8_t *reason)
{
	const json_t *v = json_object_get(c->payload, "reason");
	json_int_t n;

	*reason = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 || n > 255 || sd_crl_reason_final((uint8_t)n) != 0)
		return acme_answer_problem(c, ACME_P_BAD_REVOCATION_REASON,
		    "\"reason\" must be an RFC 5280 code of a final revocation (not 6, 7 or 8)");
	*reason = (uint8_t)n;
	return 0;
}

/* Whether ca issued cert: names and key identifiers match, and ca's key verifies its signature. */
static bool
acme_revoke_ours(X509 *ca, X509 *cert)
{
	EVP_PKEY *key = X509_get0_pubkey(ca);

	return X509_check_issued(ca, cert) == X509_V_OK && key != NULL && X509_verify(cert, key) == 1;
}

/* The serial's magnitude as lower-case hex, as signerd writes serials; false: none of ours. */
static bool
acme_revoke_serial(X509 *cert, char hex[2 * JOURNAL_SERIAL_MAX + 1])
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	const uint8_t *b = ASN1_STRING_get0_data(sn);
	int n = ASN1_STRING_length(sn);

	hex[0] = '\0';
	/* OpenSSL keeps the magnitude without a leading 0x00; this CA writes 1..20 byte positive serials. */
	if (ASN1_STRING_type(sn) != V_ASN1_INTEGER || n < 1 || n > JOURNAL_SERIAL_MAX || b[0] == 0)
		return false;
	sd_hex_encode(b, (size_t)n, hex);
	return true;
}

/* SHA-256 of cert's DER SubjectPublicKeyInfo. */
static int
acme_revoke_spki(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	int rc = 0;

	if (n <= 0 || EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "the certificate's SubjectPublicKeyInfo");
	OPENSSL_free(der);
	return rc;
}

int
acme_op_revoke(struct acme_call *c)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1], who[256];
	struct signer_revocation rv;
	struct acme_txn *txn = NULL;
	enum acme_revoke_by by;
	uint8_t reason = 0, cert_spki[32];
	json_t *issued = NULL;
	X509 *ca = NULL, *cert = NULL;
	int n, rc;

	memset(&rv, 0, sizeof(rv));
	if (c->payload == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "revokeCert needs a payload");
		goto out;
	}
	if ((rc = acme_revoke_cert(c, &cert)) != 0 || c->ans->status != 0)
		goto out;
	if ((rc = acme_revoke_reason(c, &reason)) != 0 || c->ans->status != 0)
		goto out;
	if ((rc = acme_ca_get(c->a, &ca)) != 0)
		goto out;
	/*
	 * unauthorized, not malformed: the request is well formed, but nobody
	 * can be authorised here to revoke a certificate another CA issued.
	 */
	if (!acme_revoke_ours(ca, cert) || !acme_revoke_serial(cert, hex)) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "the certificate was not issued by this CA");
		goto out;
	}
	if ((rc = acme_revoke_spki(cert, cert_spki)) != 0)
		goto out;
	if (c->account_id[0] != '\0') {
		if ((rc = acme_store_begin(c->a->store, false, &txn)) != 0)
			goto out;
		if ((rc = acme_store_get(txn, ACME_T_CERT, hex, &issued)) != 0 && rc != SD_E_NOT_FOUND)
			goto out;
		acme_store_abort(txn);
		txn = NULL;
	}
	by = acme_revoke_authorised(issued, c->profile->name, c->account_id[0] != '\0' ? c->account_id : NULL,
	    c->spki_sha256, cert_spki);
	if (by == ACME_REVOKE_REFUSED) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED,
		    c->account_id[0] != '\0' ? "this account was not issued certificate %s" :
		                               "the request is not signed by the key of certificate %s",
		    hex);
		goto out;
	}
	if (by == ACME_REVOKE_BY_ACCOUNT)
		n = snprintf(who, sizeof(who), "acme:%s/%s", c->profile->name, c->account_id);
	else
		n = snprintf(who, sizeof(who), "acme:%s certificate key", c->profile->name);
	if (n < 0 || (size_t)n >= sizeof(who)) {
		rc = sd_error_set(SD_E_TOO_LARGE, "a requester name longer than %zu bytes", sizeof(who));
		goto out;
	}
	rc = c->a->ops.revoke(c->a->ops.ctx, hex, reason, who, &rv);
	/* This CA's signature, yet the journal has no such serial: nothing a client can be authorised for. */
	if (rc == SD_E_NOT_FOUND) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "no certificate has serial %s", hex);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (rv.already) {
		rc = acme_answer_problem(c, ACME_P_ALREADY_REVOKED, "certificate %s was revoked at %s", hex,
		    rv.revoked_at);
		goto out;
	}
	/* RFC 8555 7.6: 200 and no body. */
	free(c->ans->body);
	c->ans->body = NULL;
	c->ans->body_len = 0;
	c->ans->content_type = NULL;
	c->ans->status = 200;
out:
	acme_store_abort(txn);
	json_decref(issued);
	X509_free(cert);
	X509_free(ca);
	return rc;
}
