/*
 * ACME accounts (RFC 8555 7.3): newAccount with External Account Binding,
 * the account resource (update, deactivation) and keyChange. acme.c has
 * verified the outer JWS, its nonce and url before any of these run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_account.h"
#include "acme_eab.h"
#include "journal.h"
#include "policy/profile_check.h"
#include "sd_file.h"

int
acme_account_key_name(const char *profile, const char *thumbprint, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", profile, thumbprint);

	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "an account key name longer than %zu bytes", cap);
	return 0;
}

int
acme_account_view(const struct acme_call *c, const char *id, const json_t *account, json_t **out)
{
	char url[SIGNER_ACME_URL_MAX + 1], orders[ACME_ID_LEN + 16];
	const json_t *contact = json_object_get(account, "contact");
	const char *status = acme_json_str(account, "status");
	json_t *v;
	int n, rc;

	*out = NULL;
	/* RFC 8555 7.1.2 requires "orders": acme_op_orders() serves it. */
	n = snprintf(orders, sizeof(orders), "%s/orders", id);
	if (n < 0 || (size_t)n >= sizeof(orders))
		return sd_error_set(SD_E_TOO_LARGE, "account id too long");
	if ((rc = acme_url(c, url, sizeof(url), "acct", orders)) != 0)
		return rc;
	v = json_pack("{s:s, s:o, s:s}", "status", status != NULL ? status : "valid", "contact",
	    json_is_array(contact) ? json_incref((json_t *)(uintptr_t)contact) : json_array(), "orders", url);
	if (v == NULL)
		return SD_E_NOMEM;
	*out = v;
	return 0;
}

/* One "mailto:" URI: a single addr-spec, no hfields, a domain of valid DNS syntax. */
static int
acme_contact_check(const char *uri, size_t len, enum acme_problem *problem)
{
	const char *addr, *at;
	size_t i;

	*problem = ACME_P_INVALID_CONTACT;
	if (len < 7 || strncmp(uri, "mailto:", 7) != 0) {
		*problem = ACME_P_UNSUPPORTED_CONTACT;
		return sd_error_set(SD_E_INVAL, "contact \"%.64s\": only \"mailto:\" URIs are supported", uri);
	}
	if (len > ACME_ACCOUNT_CONTACT_MAX)
		return sd_error_set(SD_E_INVAL, "a contact of %zu bytes (at most %d)", len, ACME_ACCOUNT_CONTACT_MAX);
	if (strlen(uri) != len)
		return sd_error_set(SD_E_INVAL, "a contact with a NUL byte");
	addr = uri + 7;
	for (i = 0; addr[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)addr[i];

		/* hfields ("?") and several addresses (",") are RFC 8555 7.3's "unsupported" mailto forms. */
		if (ch == '?' || ch == ',' || ch <= ' ' || ch >= 0x7f || ch == '%' || ch == '<' || ch == '>')
			return sd_error_set(SD_E_INVAL, "contact \"%.64s\": one plain address, no hfields", uri);
	}
	at = strchr(addr, '@');
	if (at == NULL || at == addr || strchr(at + 1, '@') != NULL ||
	    profile_check_dns_syntax(at + 1, strlen(at + 1)) != 0) {
		sd_error_clear();
		return sd_error_set(SD_E_INVAL, "contact \"%.64s\" is not an e-mail address", uri);
	}
	*problem = ACME_P_NONE;
	return 0;
}

int
acme_account_contacts_check(const json_t *contact, enum acme_problem *problem)
{
	const json_t *v;
	size_t i;
	int rc;

	*problem = ACME_P_NONE;
	if (contact == NULL)
		return 0;
	*problem = ACME_P_INVALID_CONTACT;
	if (!json_is_array(contact))
		return sd_error_set(SD_E_INVAL, "\"contact\" is not an array");
	if (json_array_size(contact) > ACME_ACCOUNT_CONTACTS_MAX)
		return sd_error_set(SD_E_INVAL, "%zu contacts (at most %d)", json_array_size(contact),
		    ACME_ACCOUNT_CONTACTS_MAX);
	json_array_foreach(contact, i, v)
	{
		if (!json_is_string(v))
			return sd_error_set(SD_E_INVAL, "a contact that is not a string");
		if ((rc = acme_contact_check(json_string_value(v), json_string_length(v), problem)) != 0)
			return rc;
	}
	*problem = ACME_P_NONE;
	return 0;
}

/* The contacts joined by spaces, for the journal's detail (free()). */
static char *
acme_contacts_text(const json_t *contact)
{
	const json_t *v;
	size_t i, n = json_array_size(contact), len = 1, at = 0;
	char *s;

	for (i = 0; i < n; i++)
		len += json_string_length(json_array_get(contact, i)) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v = json_array_get(contact, i);
		if (i != 0)
			s[at++] = ' ';
		memcpy(s + at, json_string_value(v), json_string_length(v));
		at += json_string_length(v);
	}
	s[at] = '\0';
	return s;
}

/* Answer 200 or 201 with the account object of id, Location its URL. */
static int
acme_account_answer(struct acme_call *c, unsigned status, const char *id, const json_t *account)
{
	json_t *view = NULL;
	int rc;

	if ((rc = acme_account_view(c, id, account, &view)) != 0 || (rc = acme_answer_json(c, status, view)) != 0)
		return rc;
	return acme_answer_location(c, "acct", id);
}

/*
 * Check the External Account Binding eab (RFC 8555 7.3.4) in txn: its key
 * is known, lists this profile, is not bound yet, and its MAC verifies.
 * Returns 0 with *eab_obj (a new reference) and its kid in kid_out, or 0
 * with a problem answered, or an error.
 */
static int
acme_eab_check(struct acme_call *c, struct acme_txn *txn, const json_t *eab, json_t **eab_obj,
    char kid_out[ACME_EAB_KID_MAX + 1])
{
	struct acme_eab *e = NULL;
	enum acme_problem p = ACME_P_NONE;
	const char *kid = NULL, *b64;
	const json_t *v;
	json_t *o = NULL;
	uint8_t *key = NULL;
	size_t key_len = 0, i;
	bool listed = false;
	int rc;

	*eab_obj = NULL;
	kid_out[0] = '\0';
	if ((rc = acme_eab_parse(eab, c->jws->jwk, c->url, &e, &kid, &p)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "%s", sd_error_detail(rc));
		goto out;
	}
	if (strlen(kid) > ACME_EAB_KID_MAX || (rc = acme_store_get(txn, ACME_T_EAB, kid, &o)) == SD_E_NOT_FOUND ||
	    rc == SD_E_INVAL) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "unknown EAB key \"%.64s\"", kid);
		goto out;
	}
	if (rc != 0)
		goto out;
	json_array_foreach(json_object_get(o, "profiles"), i,
	    v) if (json_is_string(v) && strcmp(json_string_value(v), c->profile->name) == 0) listed = true;
	if (!listed) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "EAB key \"%.64s\" is not for this directory", kid);
		goto out;
	}
	if (acme_json_str(o, "account") != NULL) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "EAB key already bound");
		goto out;
	}
	if ((b64 = acme_json_str(o, "key")) == NULL ||
	    acme_b64url_decode(b64, strlen(b64), ACME_EAB_KEY_MAX, &key, &key_len) != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "EAB key \"%.64s\": its HMAC key", kid);
		goto out;
	}
	if ((rc = acme_eab_verify(e, key, key_len, &p)) != 0) {
		if (rc == SD_E_INVAL)
			rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "%s", sd_error_detail(rc));
		goto out;
	}
	memcpy(kid_out, kid, strlen(kid) + 1);
	*eab_obj = o;
	o = NULL;
	rc = 0;
out:
	if (key != NULL) {
		OPENSSL_cleanse(key, key_len);
		free(key);
	}
	json_decref(o);
	acme_eab_free(e);
	return rc;
}

/* A new account object for c's key (a new reference), or NULL on memory failure. */
static json_t *
acme_account_new_object(const struct acme_call *c, const json_t *contact, const json_t *eab_obj, const char *eab_kid)
{
	char spki[2 * sizeof(c->spki_sha256) + 1];
	const json_t *suffixes = json_object_get(eab_obj, "dns_suffixes");

	/* "o" takes a reference: the borrowed arrays get one, new empty ones are handed over. */
	json_t *contacts = contact != NULL ? json_incref((json_t *)(uintptr_t)contact) : json_array();
	json_t *names = json_is_array(suffixes) ? json_incref((json_t *)(uintptr_t)suffixes) : json_array();

	sd_hex_encode(c->spki_sha256, sizeof(c->spki_sha256), spki);
	return json_pack("{s:s, s:s, s:O, s:s, s:s, s:o, s:I, s:s?, s:o, s:I, s:I, s:[]}", "profile", c->profile->name,
	    "status", "valid", "jwk", c->jws->jwk, "thumbprint", c->thumbprint, "spki_sha256", spki, "contact",
	    contacts, "created", (json_int_t)c->now, "eab", eab_kid, "dns_suffixes", names, "orders_tokens",
	    (json_int_t)c->a->cfg->acme_orders_per_hour, "orders_at", (json_int_t)c->now, "pending");
}

int
acme_op_new_account(struct acme_call *c)
{
	char key_name[ACME_KEY_MAX + 1], id[ACME_ID_LEN + 1], eab_kid[ACME_EAB_KID_MAX + 1] = "";
	struct acme_txn *txn = NULL;
	const json_t *contact, *eab;
	json_t *found = NULL, *account = NULL, *eab_obj = NULL, *ref = NULL;
	enum acme_problem p = ACME_P_NONE;
	const char *existing, *status;
	char *detail = NULL;
	int rc;

	if (c->payload == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "newAccount needs a payload");
		goto out;
	}
	contact = json_object_get(c->payload, "contact");
	eab = json_object_get(c->payload, "externalAccountBinding");
	if ((rc = acme_account_key_name(c->profile->name, c->thumbprint, key_name, sizeof(key_name))) != 0)
		goto out;
	/* One write transaction from the first read: a key, an EAB key, each makes one account only. */
	if ((rc = acme_store_begin(c->a->store, true, &txn)) != 0)
		goto out;
	rc = acme_store_get(txn, ACME_T_ACCOUNT_KEY, key_name, &found);
	if (rc != 0 && rc != SD_E_NOT_FOUND)
		goto out;
	if (rc == 0) {
		/* RFC 8555 7.3.1: the key's account, whatever else the request asks. */
		existing = acme_json_str(found, "account");
		if (existing == NULL || strlen(existing) != ACME_ID_LEN ||
		    acme_store_get(txn, ACME_T_ACCOUNT, existing, &account) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "account key %s: its account", key_name);
			goto out;
		}
		status = acme_json_str(account, "status");
		if (status == NULL || strcmp(status, "valid") != 0)
			rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "the account of this key is %s",
			    status != NULL ? status : "unusable");
		else
			rc = acme_account_answer(c, 200, existing, account);
		goto out;
	}
	if (json_is_true(json_object_get(c->payload, "onlyReturnExisting"))) {
		rc = acme_answer_problem(c, ACME_P_ACCOUNT_DOES_NOT_EXIST, "no account has this key");
		goto out;
	}
	if ((rc = acme_account_contacts_check(contact, &p)) != 0) {
		rc = acme_answer_problem(c, p, "%s", sd_error_detail(rc));
		goto out;
	}
	if (eab == NULL && c->profile->acme_eab) {
		rc = acme_answer_problem(c, ACME_P_EXTERNAL_ACCOUNT_REQUIRED,
		    "this directory needs an External Account Binding");
		goto out;
	}
	/* Where EAB is optional, one given still binds: its key's names then limit the account. */
	if (eab != NULL) {
		if ((rc = acme_eab_check(c, txn, eab, &eab_obj, eab_kid)) != 0 || c->ans->status != 0)
			goto out;
	}
	if ((rc = acme_store_id_new(id)) != 0)
		goto out;
	if ((account = acme_account_new_object(c, contact, eab_obj, eab_obj != NULL ? eab_kid : NULL)) == NULL ||
	    (ref = json_pack("{s:s}", "account", id)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_add(txn, ACME_T_ACCOUNT, id, account, 0)) != 0 ||
	    (rc = acme_store_add(txn, ACME_T_ACCOUNT_KEY, key_name, ref, 0)) != 0)
		goto out;
	if (eab_obj != NULL) {
		if (json_object_set_new(eab_obj, "account", json_string(id)) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if ((rc = acme_store_put(txn, ACME_T_EAB, eab_kid, eab_obj, 0)) != 0)
			goto out;
	}
	if ((detail = acme_contacts_text(json_object_get(account, "contact"))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/*
	 * Journal first, then commit: the journal is another database. A
	 * failed commit after it leaves a record of an account that never
	 * came to be, which an auditor can see is harmless; the other order
	 * could leave an account the journal never heard of.
	 */
	if ((rc = acme_journal(c->a, JOURNAL_ACME_ACCOUNT_CREATED, id, c->thumbprint, eab_kid, c->profile->name, NULL,
	         detail, c->now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	rc = acme_account_answer(c, 201, id, account);
out:
	acme_store_abort(txn);
	json_decref(found);
	json_decref(account);
	json_decref(eab_obj);
	json_decref(ref);
	free(detail);
	return rc;
}

/* The account of c, read again in the write transaction txn; 0 with a problem answered when no longer usable. */
static int
acme_account_reload(struct acme_call *c, struct acme_txn *txn, json_t **out)
{
	const char *status, *thumbprint;
	int rc;

	*out = NULL;
	if ((rc = acme_store_get(txn, ACME_T_ACCOUNT, c->account_id, out)) == SD_E_NOT_FOUND)
		return acme_answer_problem(c, ACME_P_ACCOUNT_DOES_NOT_EXIST, "no account %s", c->account_id);
	if (rc != 0)
		return rc;
	/* Another request may have deactivated it, or changed its key, since acme.c read it. */
	status = acme_json_str(*out, "status");
	thumbprint = acme_json_str(*out, "thumbprint");
	if (status == NULL || strcmp(status, "valid") != 0 || thumbprint == NULL ||
	    strcmp(thumbprint, c->thumbprint) != 0)
		return acme_answer_problem(c, ACME_P_UNAUTHORIZED, "account %s has changed", c->account_id);
	return 0;
}

int
acme_op_account(struct acme_call *c)
{
	struct acme_txn *txn = NULL;
	const json_t *contact, *status;
	json_t *account = NULL;
	enum acme_problem p = ACME_P_NONE;
	bool deactivate = false;
	int rc;

	if (c->req->id == NULL || strcmp(c->req->id, c->account_id) != 0) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "the request is signed by another account");
		goto out;
	}
	if (c->payload == NULL) {
		rc = acme_account_answer(c, 200, c->account_id, c->account);
		goto out;
	}
	contact = json_object_get(c->payload, "contact");
	status = json_object_get(c->payload, "status");
	if (status != NULL) {
		if (!json_is_string(status) || strcmp(json_string_value(status), "deactivated") != 0) {
			rc = acme_answer_problem(c, ACME_P_MALFORMED,
			    "a client may only set \"status\" to \"deactivated\"");
			goto out;
		}
		deactivate = true;
	}
	if ((rc = acme_account_contacts_check(contact, &p)) != 0) {
		rc = acme_answer_problem(c, p, "%s", sd_error_detail(rc));
		goto out;
	}
	if (contact == NULL && !deactivate) {
		rc = acme_account_answer(c, 200, c->account_id, c->account);
		goto out;
	}
	if ((rc = acme_store_begin(c->a->store, true, &txn)) != 0)
		goto out;
	if ((rc = acme_account_reload(c, txn, &account)) != 0 || c->ans->status != 0)
		goto out;
	if ((contact != NULL && json_object_set_new(account, "contact", json_deep_copy(contact)) != 0) ||
	    (deactivate && json_object_set_new(account, "status", json_string("deactivated")) != 0)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_put(txn, ACME_T_ACCOUNT, c->account_id, account, 0)) != 0)
		goto out;
	/* Journaled before the commit, as a new account is (acme_op_new_account()). */
	if (deactivate &&
	    (rc = acme_journal(c->a, JOURNAL_ACME_ACCOUNT_DEACTIVATED, c->account_id, c->thumbprint,
	         acme_json_str(account, "eab"), c->profile->name, NULL, NULL, c->now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	rc = acme_account_answer(c, 200, c->account_id, account);
out:
	acme_store_abort(txn);
	json_decref(account);
	return rc;
}

/* Hex SHA-256 of key's DER SubjectPublicKeyInfo. */
static int
acme_key_spki_hex(EVP_PKEY *key, char out[65])
{
	unsigned char *der = NULL;
	uint8_t md[32];
	int n = i2d_PUBKEY(key, &der);
	int rc = 0;

	if (n <= 0 || EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "the key's SubjectPublicKeyInfo");
	else
		sd_hex_encode(md, sizeof(md), out);
	OPENSSL_free(der);
	return rc;
}

/*
 * The inner JWS of a keyChange (RFC 8555 7.3.5): parsed, signed by its own
 * "jwk", for this URL, naming this account and its current key. Returns 0
 * with *inner, *key and the new key's thumbprint, or 0 with a problem
 * answered, or an error.
 */
static int
acme_key_change_inner(struct acme_call *c, struct acme_jws **inner, EVP_PKEY **key,
    char thumbprint[ACME_THUMBPRINT_LEN + 1])
{
	char acct[SIGNER_ACME_URL_MAX + 1], old[ACME_THUMBPRINT_LEN + 1];
	enum acme_problem p = ACME_P_NONE;
	json_t *payload = NULL;
	json_error_t jerr;
	const json_t *old_key;
	char *text = NULL;
	int rc;

	if (c->payload == NULL || (text = json_dumps(c->payload, JSON_COMPACT)) == NULL) {
		rc = c->payload == NULL ? acme_answer_problem(c, ACME_P_MALFORMED, "keyChange needs an inner JWS") :
		                          SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_jws_parse_inner(text, strlen(text), inner, &p)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "%s", sd_error_detail(rc));
		goto out;
	}
	if (strcmp((*inner)->url, c->url) != 0) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "the inner JWS's \"url\" is not the outer one's");
		goto out;
	}
	if ((rc = acme_jwk_key((*inner)->jwk, key, &p)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "new key: %s",
			    sd_error_detail(rc));
		goto out;
	}
	if ((rc = acme_jws_verify(*inner, *key, &p)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "inner JWS: %s",
			    sd_error_detail(rc));
		goto out;
	}
	if ((rc = acme_jwk_thumbprint((*inner)->jwk, thumbprint)) != 0)
		goto out;
	payload = json_loadb((const char *)(*inner)->payload, (*inner)->payload_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(payload) || acme_json_str(payload, "account") == NULL ||
	    !json_is_object(old_key = json_object_get(payload, "oldKey"))) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "the inner payload must hold \"account\" and \"oldKey\"");
		goto out;
	}
	if ((rc = acme_url(c, acct, sizeof(acct), "acct", c->account_id)) != 0)
		goto out;
	if (strcmp(acme_json_str(payload, "account"), acct) != 0) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "\"account\" is not the signing account");
		goto out;
	}
	if (acme_jwk_thumbprint(old_key, old) != 0 || strcmp(old, c->thumbprint) != 0) {
		sd_error_clear();
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "\"oldKey\" is not the account's key");
		goto out;
	}
	if (strcmp(thumbprint, c->thumbprint) == 0)
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "the new key is the account's key already");
out:
	json_decref(payload);
	free(text);
	return rc;
}

int
acme_op_key_change(struct acme_call *c)
{
	char new_tp[ACME_THUMBPRINT_LEN + 1], new_name[ACME_KEY_MAX + 1], old_name[ACME_KEY_MAX + 1], spki[65],
	    detail[ACME_THUMBPRINT_LEN + 8];
	struct acme_jws *inner = NULL;
	struct acme_txn *txn = NULL;
	json_t *found = NULL, *account = NULL, *ref = NULL;
	EVP_PKEY *key = NULL;
	const char *other;
	int rc;

	if ((rc = acme_key_change_inner(c, &inner, &key, new_tp)) != 0 || c->ans->status != 0)
		goto out;
	if ((rc = acme_key_spki_hex(key, spki)) != 0 ||
	    (rc = acme_account_key_name(c->profile->name, new_tp, new_name, sizeof(new_name))) != 0 ||
	    (rc = acme_account_key_name(c->profile->name, c->thumbprint, old_name, sizeof(old_name))) != 0)
		goto out;
	if ((rc = acme_store_begin(c->a->store, true, &txn)) != 0)
		goto out;
	rc = acme_store_get(txn, ACME_T_ACCOUNT_KEY, new_name, &found);
	if (rc == 0) {
		/* RFC 8555 7.3.5: 409 and the Location of the account that has the key. */
		other = acme_json_str(found, "account");
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "the new key belongs to another account");
		c->ans->status = 409;
		if (other != NULL && strlen(other) == ACME_ID_LEN)
			rc = acme_answer_location(c, "acct", other);
		goto out;
	}
	if (rc != SD_E_NOT_FOUND)
		goto out;
	if ((rc = acme_account_reload(c, txn, &account)) != 0 || c->ans->status != 0)
		goto out;
	if (json_object_set_new(account, "jwk", json_deep_copy(inner->jwk)) != 0 ||
	    json_object_set_new(account, "thumbprint", json_string(new_tp)) != 0 ||
	    json_object_set_new(account, "spki_sha256", json_string(spki)) != 0 ||
	    (ref = json_pack("{s:s}", "account", c->account_id)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_put(txn, ACME_T_ACCOUNT, c->account_id, account, 0)) != 0 ||
	    (rc = acme_store_del(txn, ACME_T_ACCOUNT_KEY, old_name)) != 0 ||
	    (rc = acme_store_add(txn, ACME_T_ACCOUNT_KEY, new_name, ref, 0)) != 0)
		goto out;
	(void)snprintf(detail, sizeof(detail), "old %s", c->thumbprint);
	/* Journaled before the commit, as a new account is (acme_op_new_account()). */
	if ((rc = acme_journal(c->a, JOURNAL_ACME_ACCOUNT_KEY_CHANGED, c->account_id, new_tp,
	         acme_json_str(account, "eab"), c->profile->name, NULL, detail, c->now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	rc = acme_account_answer(c, 200, c->account_id, account);
out:
	acme_store_abort(txn);
	json_decref(found);
	json_decref(account);
	json_decref(ref);
	EVP_PKEY_free(key);
	acme_jws_free(inner);
	return rc;
}
