/*
 * revokeCert (RFC 8555 7.6): the certificate, checked to be this CA's,
 * the reason, who may revoke it (the issuing account, the certificate's
 * key, or an account with valid authorizations for all its names), then
 * the core's revocation (journaled, the revocation publisher told).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_ari.h"
#include "acme_order.h"
#include "sd_crl_reason.h"
#include "sd_file.h"

#define ACME_REVOKE_CERT_MAX (64 * 1024) /* bytes of the certificate's DER */
#define ACME_REVOKE_NAMES_MAX 100 /* subjectAltNames of a certificate revoked by authorization */
#define ACME_REVOKE_WHY_MAX 384 /* bytes of why the third way refused */

enum acme_revoke_by
acme_revoke_authorised(const json_t *issued, const char *profile, const char *account_id,
    const uint8_t key_spki_sha256[32], const uint8_t cert_spki_sha256[32])
{
	const char *owner = acme_json_str(issued, "account"), *issued_in = acme_json_str(issued, "profile");

	/*
	 * RFC 8555 7.6's third way, an account with valid authorizations for
	 * all the certificate's names, reads the store: acme_revoke_covered().
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

/* len bytes of s for a detail, at most cap - 1 of them, anything but printable ASCII as '?'. */
static void
acme_revoke_printable(const unsigned char *s, size_t len, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[i] = '\0';
}

/* A subjectAltName no authorization can cover (not a dNSName), named into why. */
static void
acme_revoke_other_name(const GENERAL_NAME *gen, char *why, size_t cap)
{
	char text[SIGNER_ACME_NAME_MAX + 1] = "";
	const ASN1_STRING *s = NULL;
	const char *kind;

	switch (gen->type) {
	case GEN_IPADD:
		kind = "IP address";
		s = gen->d.iPAddress;
		if (ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16) {
			if (inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text,
			        sizeof(text)) == NULL)
				text[0] = '\0';
			s = NULL;
		}
		break;
	case GEN_EMAIL:
		kind = "email address";
		s = gen->d.rfc822Name;
		break;
	case GEN_URI:
		kind = "URI";
		s = gen->d.uniformResourceIdentifier;
		break;
	default: kind = "subjectAltName of another type"; break;
	}
	if (s != NULL)
		acme_revoke_printable(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), text, sizeof(text));
	(void)snprintf(why, cap, "its %s%s%s is no DNS identifier an authorization covers", kind, text[0] ? " " : "",
	    text);
}

/*
 * The certificate's dNSNames, lower-case, into names; why says what
 * refuses the third way: another type of subjectAltName, a subject CN
 * that is none of the dNSNames, or no name at all.
 */
static int
acme_revoke_names(X509 *cert, json_t *names, char *why, size_t cap)
{
	char name[SIGNER_ACME_NAME_MAX + 1], text[SIGNER_ACME_NAME_MAX + 1];
	const X509_NAME *subject = X509_get_subject_name(cert);
	const ASN1_STRING *s;
	const unsigned char *b;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *gen;
	unsigned char *cn = NULL;
	bool found;
	size_t i, j, len;
	int crit = -1, n, idx = -1, rc = 0;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		(void)snprintf(why, cap, "its subjectAltName extension is repeated or unreadable");
		goto out;
	}
	if ((n = sk_GENERAL_NAME_num(gens)) > ACME_REVOKE_NAMES_MAX) {
		(void)snprintf(why, cap, "it has more than %d subjectAltNames", ACME_REVOKE_NAMES_MAX);
		goto out;
	}
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		gen = sk_GENERAL_NAME_value(gens, (int)i);
		if (gen->type != GEN_DNS) {
			acme_revoke_other_name(gen, why, cap);
			goto out;
		}
		s = gen->d.dNSName;
		b = ASN1_STRING_get0_data(s);
		len = (size_t)ASN1_STRING_length(s);
		for (j = 0; j < len && j < SIGNER_ACME_NAME_MAX && b[j] > 0x20 && b[j] < 0x7f; j++)
			name[j] = (char)tolower(b[j]);
		if (len == 0 || j != len) {
			acme_revoke_printable(b, len, text, sizeof(text));
			(void)snprintf(why, cap, "its dNSName \"%s\" is no DNS name an authorization covers", text);
			goto out;
		}
		name[len] = '\0';
		if (json_array_append_new(names, json_string(name)) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	/* Every subject CN must be one of the dNSNames: it is an identifier too. */
	while ((idx = X509_NAME_get_index_by_NID(subject, NID_commonName, idx)) >= 0) {
		if ((n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)))) < 0) {
			(void)snprintf(why, cap, "its subject CN is unreadable");
			goto out;
		}
		found = false;
		for (i = 0; !found && i < json_array_size(names); i++) {
			found = strlen(json_string_value(json_array_get(names, i))) == (size_t)n &&
			    strncasecmp(json_string_value(json_array_get(names, i)), (const char *)cn, (size_t)n) == 0;
		}
		if (!found) {
			acme_revoke_printable(cn, (size_t)n, text, sizeof(text));
			(void)snprintf(why, cap, "its subject CN %s is none of its DNS names", text);
			goto out;
		}
		OPENSSL_free(cn);
		cn = NULL;
	}
	if (json_array_size(names) == 0)
		(void)snprintf(why, cap, "it names no DNS identifier");
out:
	OPENSSL_free(cn);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Whether authz, valid at now in directory profile, covers name ("*.x": a wildcard authorization for x). */
static bool
acme_revoke_authz_covers(const json_t *authz, const char *profile, int64_t now, const char *name)
{
	const json_t *ident = json_object_get(authz, "identifier");
	const char *type = acme_json_str(ident, "type"), *value = acme_json_str(ident, "value"),
	           *in = acme_json_str(authz, "profile");
	bool wildcard = json_is_true(json_object_get(authz, "wildcard"));

	if (type == NULL || value == NULL || in == NULL || strcmp(type, "dns") != 0 || strcmp(in, profile) != 0 ||
	    strcmp(acme_authz_status(authz, now), "valid") != 0)
		return false;
	if (strncmp(name, "*.", 2) == 0)
		return wildcard && strcasecmp(name + 2, value) == 0;
	return !wildcard && strcasecmp(name, value) == 0;
}

/* acme_revoke_covered()'s walk: which of names the account's authorizations cover. */
struct acme_revoke_cover {
	const struct acme_call *c;
	const json_t *names;
	bool covered[ACME_REVOKE_NAMES_MAX];
	size_t left;
};

static int
acme_revoke_cover_each(void *arg, json_t *id, const json_t *authz)
{
	struct acme_revoke_cover *w = arg;
	const char *owner = acme_json_str(authz, "account");
	size_t j;

	(void)id;
	for (j = 0; owner != NULL && strcmp(owner, w->c->account_id) == 0 && j < json_array_size(w->names); j++) {
		if (!w->covered[j] && acme_revoke_authz_covers(authz, w->c->profile->name, w->c->now,
		    json_string_value(json_array_get(w->names, j)))) {
			w->covered[j] = true;
			w->left--;
		}
	}
	return w->left == 0 ? 1 : 0;
}

/*
 * RFC 8555 7.6's third way: c's account holds, in this directory, valid
 * authorizations covering every identifier of cert. Returns 0, with
 * unauthorized answered (naming the first identifier not covered) when not.
 */
static int
acme_revoke_covered(struct acme_call *c, X509 *cert, const char *hex)
{
	struct acme_revoke_cover w;
	char why[ACME_REVOKE_WHY_MAX] = "";
	struct acme_txn *txn = NULL;
	json_t *names = json_array(), *account = NULL;
	size_t j;
	int rc;

	if (names == NULL)
		return SD_E_NOMEM;
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.names = names;
	if ((rc = acme_revoke_names(cert, names, why, sizeof(why))) != 0 || why[0] != '\0')
		goto out;
	w.left = json_array_size(names);
	if ((rc = acme_store_begin(c->a->store, false, &txn)) != 0)
		goto out;
	if ((rc = acme_store_get(txn, ACME_T_ACCOUNT, c->account_id, &account)) != 0 && rc != SD_E_NOT_FOUND)
		goto out;
	sd_error_clear();
	/* The account's most recent authorizations, newest first, as newOrder reuses them. */
	if (w.left > 0 && (rc = acme_authz_each(txn, json_object_get(account, "authzs"), ACME_ORDER_AUTHZS_MAX,
	    acme_revoke_cover_each, &w)) != 0)
		goto out;
	for (j = 0; w.left > 0 && j < json_array_size(names); j++) {
		if (!w.covered[j]) {
			(void)snprintf(why, sizeof(why), "no valid authorization of this account covers %s",
			    json_string_value(json_array_get(names, j)));
			break;
		}
	}
out:
	acme_store_abort(txn);
	if (rc == 0 && why[0] != '\0')
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "this account was not issued certificate %s, and %s",
		    hex, why);
	json_decref(account);
	json_decref(names);
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
	if (by == ACME_REVOKE_REFUSED && c->account_id[0] != '\0') {
		if ((rc = acme_revoke_covered(c, cert, hex)) != 0 || c->ans->status != 0)
			goto out;
		by = ACME_REVOKE_BY_AUTHORIZATION;
	}
	if (by == ACME_REVOKE_REFUSED) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED,
		    "the request is not signed by the key of certificate %s", hex);
		goto out;
	}
	if (by == ACME_REVOKE_BY_ACCOUNT)
		n = snprintf(who, sizeof(who), "acme:%s/%s", c->profile->name, c->account_id);
	else if (by == ACME_REVOKE_BY_AUTHORIZATION)
		n = snprintf(who, sizeof(who), "acme:%s/%s by authorization", c->profile->name, c->account_id);
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
