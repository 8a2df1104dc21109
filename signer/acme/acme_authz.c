/*
 * ACME authorizations and challenges (RFC 8555 7.1.4, 7.5): their answers,
 * deactivation, the start of a validation, and its outcome.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "acme_order.h"
#include "journal.h"
#include "sd_time.h"

#define ACME_ERROR_TYPE_MAX 64 /* bytes of a problem type's last part */

int
acme_json_set_time(json_t *o, const char *name, int64_t t)
{
	char text[SD_TIME_RFC3339_LEN];
	int rc;

	if ((rc = sd_time_format(t, text)) != 0)
		return rc;
	return json_object_set_new(o, name, json_string(text)) == 0 ? 0 : SD_E_NOMEM;
}

int
acme_authz_get(struct acme_txn *txn, const struct acme_call *c, const char *id, json_t **out)
{
	const char *owner;
	json_t *authz = NULL;
	int rc;

	*out = NULL;
	if (strlen(id) != ACME_ID_LEN)
		return sd_error_set(SD_E_NOT_FOUND, "no such authorization");
	if ((rc = acme_store_get(txn, ACME_T_AUTHZ, id, &authz)) != 0)
		return rc;
	owner = acme_json_str(authz, "account");
	if (owner == NULL || strcmp(owner, c->account_id) != 0) {
		json_decref(authz);
		return sd_error_set(SD_E_NOT_FOUND, "no such authorization");
	}
	*out = authz;
	return 0;
}

int
acme_authz_each(struct acme_txn *txn, const json_t *list, size_t max,
    int (*each)(void *arg, json_t *id, const json_t *authz), void *arg)
{
	json_t *authz = NULL;
	const char *id;
	size_t i, n = json_array_size(list);
	int rc;

	for (i = 0; i < n && (max == 0 || i < max); i++) {
		if ((id = json_string_value(json_array_get(list, i))) == NULL)
			continue;
		if ((rc = acme_store_get(txn, ACME_T_AUTHZ, id, &authz)) == SD_E_NOT_FOUND) {
			sd_error_clear();
			continue;
		}
		if (rc != 0)
			return rc;
		rc = each(arg, json_array_get(list, i), authz);
		json_decref(authz);
		authz = NULL;
		if (rc != 0)
			return rc == 1 ? 0 : rc;
	}
	return 0;
}

const char *
acme_authz_status(const json_t *authz, int64_t now)
{
	const char *s = acme_json_str(authz, "status");

	if (s == NULL)
		return "invalid";
	if ((strcmp(s, "pending") == 0 || strcmp(s, "valid") == 0) && acme_json_int(authz, "expires", 0) <= now)
		return "expired";
	return s;
}

/* A challenge token: 32 random bytes, base64url. */
static int
acme_token_new(char out[ACME_TOKEN_LEN + 1])
{
	uint8_t raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return sd_error_set(SD_E_CRYPTO, "no random bytes for a token");
	if (acme_b64url_encode(raw, sizeof(raw), out) != ACME_TOKEN_LEN)
		abort(); /* 32 bytes are always 43 characters */
	out[ACME_TOKEN_LEN] = '\0';
	return 0;
}

/*
 * The challenges an authorization of a name offers: dns-01 only with a
 * resolver to ask ([acme] resolver); a wildcard's only dns-01 (RFC 8555
 * 7.1.3, RFC 8737 3: http-01 and tls-alpn-01 would prove one host, not
 * the whole zone below the name).
 */
static size_t
acme_authz_types(const struct acme *a, bool wildcard, const char *types[3])
{
	size_t n = 0;

	if (!wildcard) {
		types[n++] = "http-01";
		types[n++] = "tls-alpn-01";
	}
	if (a->cfg->acme_resolver != NULL)
		types[n++] = "dns-01";
	return n;
}

int
acme_authz_new(struct acme_call *c, struct acme_txn *txn, const char *name, char id[ACME_ID_LEN + 1])
{
	const char *types[3];
	char token[ACME_TOKEN_LEN + 1];
	json_t *authz = NULL, *challs = NULL, *ch;
	int64_t expires = c->now + (int64_t)c->a->cfg->acme_order_lifetime;
	/* RFC 8555 7.1.4: the authorization names the base domain and says "wildcard". */
	bool wildcard = strncmp(name, "*.", 2) == 0;
	const char *value = wildcard ? name + 2 : name;
	size_t i, n = acme_authz_types(c->a, wildcard, types);
	int rc;

	token[0] = '\0';
	if (n == 0)
		return sd_error_set(SD_E_INVAL, "no challenge type for %s", name);
	if ((rc = acme_store_id_new(id)) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if ((challs = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = acme_token_new(token)) != 0)
			goto out;
		ch = json_pack("{s:s, s:s, s:s, s:n, s:n}", "type", types[i], "token", token, "status", "pending",
		    "validated", "error");
		if (ch == NULL || json_array_append_new(challs, ch) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	authz = json_pack("{s:s, s:s, s:{s:s, s:s}, s:b, s:s, s:I, s:O}", "account", c->account_id, "profile",
	    c->req->profile, "identifier", "type", "dns", "value", value, "wildcard", wildcard, "status", "pending",
	    "expires", (json_int_t)expires, "challenges", challs);
	if (authz == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = acme_store_add(txn, ACME_T_AUTHZ, id, authz, expires);
out:
	OPENSSL_cleanse(token, sizeof(token));
	json_decref(challs);
	json_decref(authz);
	return rc;
}

/* The answer form of challenge i of authorization id. */
static json_t *
acme_challenge_answer(const struct acme_call *c, const char *id, size_t i, const json_t *ch)
{
	char url[SIGNER_ACME_URL_MAX + 1], cid[ACME_ID_LEN + 24];
	json_t *o = NULL, *err;
	int64_t validated;

	(void)snprintf(cid, sizeof(cid), "%s.%zu", id, i);
	if (acme_url(c, url, sizeof(url), "chall", cid) != 0)
		return NULL;
	o = json_pack("{s:s?, s:s, s:s?, s:s?}", "type", acme_json_str(ch, "type"), "url", url, "token",
	    acme_json_str(ch, "token"), "status", acme_json_str(ch, "status"));
	if (o == NULL)
		return NULL;
	validated = acme_json_int(ch, "validated", 0);
	if (validated > 0 && acme_json_set_time(o, "validated", validated) != 0)
		goto fail;
	err = json_object_get(ch, "error");
	if (json_is_object(err) && json_object_set(o, "error", err) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* The answer form of authorization id. Errors: SD_E_NOMEM, SD_E_INVAL, SD_E_TOO_LARGE. */
static int
acme_authz_answer(const struct acme_call *c, const char *id, const json_t *authz, json_t **out)
{
	const json_t *challs = json_object_get(authz, "challenges"), *ch;
	json_t *o, *list, *item;
	size_t i;
	int rc;

	*out = NULL;
	if ((o = json_pack("{s:O, s:s}", "identifier", json_object_get(authz, "identifier"), "status",
	         acme_authz_status(authz, c->now))) == NULL)
		return SD_E_NOMEM;
	if ((rc = acme_json_set_time(o, "expires", acme_json_int(authz, "expires", 0))) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if ((list = json_array()) == NULL || json_object_set_new(o, "challenges", list) != 0)
		goto out;
	json_array_foreach(challs, i, ch)
	{
		if ((item = acme_challenge_answer(c, id, i, ch)) == NULL || json_array_append_new(list, item) != 0)
			goto out;
	}
	if (json_is_true(json_object_get(authz, "wildcard")) && json_object_set_new(o, "wildcard", json_true()) != 0)
		goto out;
	*out = o;
	o = NULL;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
acme_op_authz(struct acme_call *c)
{
	struct acme_txn *txn = NULL;
	json_t *authz = NULL, *body = NULL;
	const char *want = NULL, *status;
	int rc;

	if (c->payload != NULL && json_object_get(c->payload, "status") != NULL) {
		want = json_string_value(json_object_get(c->payload, "status"));
		if (want == NULL || strcmp(want, "deactivated") != 0) {
			rc = acme_answer_problem(c, ACME_P_MALFORMED,
			    "an authorization's \"status\" may only "
			    "become \"deactivated\"");
			goto out;
		}
	}
	if ((rc = acme_store_begin(c->a->store, want != NULL, &txn)) != 0)
		goto out;
	if ((rc = acme_authz_get(txn, c, c->req->id, &authz)) == SD_E_NOT_FOUND) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no such authorization");
		goto out;
	}
	if (rc != 0)
		goto out;
	if (want != NULL) {
		/* RFC 8555 7.5.2: only a pending or valid authorization can be deactivated. */
		status = acme_authz_status(authz, c->now);
		if (strcmp(status, "pending") != 0 && strcmp(status, "valid") != 0) {
			rc = acme_answer_problem(c, ACME_P_MALFORMED, "the authorization is %s", status);
			goto out;
		}
		if (json_object_set_new(authz, "status", json_string("deactivated")) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if ((rc = acme_store_put(txn, ACME_T_AUTHZ, c->req->id, authz, acme_json_int(authz, "expires", 0))) !=
		    0)
			goto out;
		rc = acme_store_commit(txn);
		txn = NULL;
		if (rc != 0)
			goto out;
	}
	if ((rc = acme_authz_answer(c, c->req->id, authz, &body)) != 0)
		goto out;
	rc = acme_answer_json(c, 200, body);
out:
	acme_store_abort(txn);
	json_decref(authz);
	return rc;
}

/*
 * Split challenge id "AUTHZID.N" into authz (ACME_ID_LEN + 1 bytes) and N.
 * Errors: SD_E_NOT_FOUND (not of that form).
 */
static int
acme_challenge_id(const char *id, char authz[ACME_ID_LEN + 1], size_t *index)
{
	const char *p;

	if (strlen(id) < ACME_ID_LEN + 2 || id[ACME_ID_LEN] != '.')
		return sd_error_set(SD_E_NOT_FOUND, "no such challenge");
	/* One digit: an authorization has at most three challenges. */
	p = id + ACME_ID_LEN + 1;
	if (!isdigit((unsigned char)p[0]) || p[1] != '\0')
		return sd_error_set(SD_E_NOT_FOUND, "no such challenge");
	memcpy(authz, id, ACME_ID_LEN);
	authz[ACME_ID_LEN] = '\0';
	*index = (size_t)(p[0] - '0');
	return 0;
}

/*
 * Whether challenge ch is being validated now: "processing" since less
 * than lost_after seconds. A validation the front never reported (it was
 * restarted, its queue was lost) must not hold the authorization forever:
 * past that, a new POST starts the challenge again.
 */
static bool
acme_challenge_busy(const json_t *ch, int64_t now, int64_t lost_after)
{
	const char *s = acme_json_str(ch, "status");

	return s != NULL && strcmp(s, "processing") == 0 && now - acme_json_int(ch, "processing_at", 0) < lost_after;
}

/* Whether any challenge of authz is being validated: one validation at a time per authorization. */
static bool
acme_authz_processing(const json_t *authz, int64_t now, int64_t lost_after)
{
	const json_t *challenges = json_object_get(authz, "challenges");
	size_t i;

	for (i = 0; i < json_array_size(challenges); i++)
		if (acme_challenge_busy(json_array_get(challenges, i), now, lost_after))
			return true;
	return false;
}

/* Fill c->ans->validation for challenge cid (type, name, token) of c's account. */
static int
acme_challenge_validation(struct acme_call *c, const char *cid, const char *type, const char *name, const char *token)
{
	struct signer_acme_validation *v = &c->ans->validation;
	int n;

	if (strlen(cid) >= sizeof(v->challenge) || strlen(type) >= sizeof(v->type) || strlen(name) >= sizeof(v->name) ||
	    strlen(token) >= sizeof(v->token))
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "challenge %s: fields too long", cid);
	memcpy(v->challenge, cid, strlen(cid) + 1);
	memcpy(v->type, type, strlen(type) + 1);
	memcpy(v->name, name, strlen(name) + 1);
	memcpy(v->token, token, strlen(token) + 1);
	n = snprintf(v->key_authorization, sizeof(v->key_authorization), "%s.%s", token, c->thumbprint);
	if (n < 0 || (size_t)n >= sizeof(v->key_authorization))
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "challenge %s: key authorization too long", cid);
	c->ans->validate = true;
	return 0;
}

int
acme_op_challenge(struct acme_call *c)
{
	char aid[ACME_ID_LEN + 1], up[SIGNER_ACME_URL_MAX + 1];
	struct acme_txn *txn = NULL;
	json_t *authz = NULL, *ch, *body;
	const char *type, *token, *name, *status;
	/* Longer than a validation may take, queued behind a full pool. */
	int64_t lost_after = (int64_t)c->a->cfg->acme_validation_timeout * 4 + 60;
	size_t index = 0;
	bool start = false;
	int rc;

	/* RFC 8555 7.5.1: a POST of {} starts validation; POST-as-GET only reads. */
	if ((rc = acme_challenge_id(c->req->id, aid, &index)) != 0 ||
	    (rc = acme_store_begin(c->a->store, c->payload != NULL, &txn)) != 0 ||
	    (rc = acme_authz_get(txn, c, aid, &authz)) != 0) {
		if (rc == SD_E_NOT_FOUND)
			rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no such challenge");
		goto out;
	}
	if ((ch = json_array_get(json_object_get(authz, "challenges"), index)) == NULL) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no such challenge");
		goto out;
	}
	type = acme_json_str(ch, "type");
	token = acme_json_str(ch, "token");
	name = json_string_value(json_object_get(json_object_get(authz, "identifier"), "value"));
	if (type == NULL || token == NULL || name == NULL) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "authorization %s: its challenge %zu", aid, index);
		goto out;
	}
	status = acme_json_str(ch, "status") != NULL ? acme_json_str(ch, "status") : "";
	if (c->payload != NULL && strcmp(acme_authz_status(authz, c->now), "pending") == 0 &&
	    (strcmp(status, "pending") == 0 || strcmp(status, "processing") == 0) &&
	    !acme_authz_processing(authz, c->now, lost_after)) {
		if (json_object_set_new(ch, "status", json_string("processing")) != 0 ||
		    json_object_set_new(ch, "processing_at", json_integer(c->now)) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if ((rc = acme_store_put(txn, ACME_T_AUTHZ, aid, authz, acme_json_int(authz, "expires", 0))) != 0)
			goto out;
		rc = acme_store_commit(txn);
		txn = NULL;
		if (rc != 0)
			goto out;
		start = true;
	}
	if ((body = acme_challenge_answer(c, aid, index, ch)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_answer_json(c, 200, body)) != 0 || (rc = acme_url(c, up, sizeof(up), "authz", aid)) != 0 ||
	    (rc = acme_answer_link(c, up, "up")) != 0)
		goto out;
	if (start)
		rc = acme_challenge_validation(c, c->req->id, type, name, token);
out:
	acme_store_abort(txn);
	json_decref(authz);
	return rc;
}

/* error_type is a problem type's last part: letters only, so it cannot forge a URN. */
static bool
acme_error_type_ok(const char *t)
{
	size_t i, n = strlen(t);

	if (n == 0 || n > ACME_ERROR_TYPE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)t[i]))
			return false;
	return true;
}

int
acme_challenge_validated(struct acme *a, const char *profile, const char *challenge, const char *error_type,
    const char *detail, int64_t now)
{
	char aid[ACME_ID_LEN + 1], type_urn[96], text[1024];
	struct acme_txn *txn = NULL;
	json_t *authz = NULL, *account = NULL, *ch, *err = NULL;
	const char *owner, *status, *name, *ctype, *aprofile;
	size_t index = 0;
	int n, rc;

	if (profile == NULL || challenge == NULL || (error_type != NULL && !acme_error_type_ok(error_type)))
		return sd_error_set(SD_E_INVAL, "a validation outcome out of bounds");
	if ((rc = acme_challenge_id(challenge, aid, &index)) != 0)
		return rc;
	if ((rc = acme_store_begin(a->store, true, &txn)) != 0)
		goto out;
	if ((rc = acme_store_get(txn, ACME_T_AUTHZ, aid, &authz)) != 0)
		goto out;
	aprofile = acme_json_str(authz, "profile");
	ch = json_array_get(json_object_get(authz, "challenges"), index);
	status = acme_json_str(ch, "status");
	if (aprofile == NULL || strcmp(aprofile, profile) != 0 || status == NULL || strcmp(status, "processing") != 0) {
		rc = sd_error_set(SD_E_NOT_FOUND, "no challenge %s being validated", challenge);
		goto out;
	}
	owner = acme_json_str(authz, "account");
	name = json_string_value(json_object_get(json_object_get(authz, "identifier"), "value"));
	ctype = acme_json_str(ch, "type");
	if (owner == NULL || name == NULL || ctype == NULL) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "authorization %s", aid);
		goto out;
	}
	if ((rc = acme_store_get(txn, ACME_T_ACCOUNT, owner, &account)) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if (error_type == NULL) {
		n = snprintf(text, sizeof(text), "dns:%s %s", name, ctype);
		if (json_object_set_new(ch, "status", json_string("valid")) != 0 ||
		    json_object_set_new(ch, "validated", json_integer(now)) != 0 ||
		    json_object_set_new(authz, "status", json_string("valid")) != 0 ||
		    json_object_set_new(authz, "expires",
		        json_integer(now + (int64_t)a->cfg->acme_authorization_lifetime)) != 0)
			goto out;
	} else {
		(void)snprintf(type_urn, sizeof(type_urn), "urn:ietf:params:acme:error:%s", error_type);
		n = snprintf(text, sizeof(text), "dns:%s %s: %s: %.512s", name, ctype, error_type,
		    detail != NULL ? detail : "");
		if ((err = json_pack("{s:s, s:s}", "type", type_urn, "detail", detail != NULL ? detail : "")) == NULL ||
		    json_object_set_new(ch, "status", json_string("invalid")) != 0 ||
		    json_object_set(ch, "error", err) != 0 ||
		    json_object_set_new(authz, "status", json_string("invalid")) != 0)
			goto out;
	}
	if (n < 0)
		text[0] = '\0';
	if ((rc = acme_store_put(txn, ACME_T_AUTHZ, aid, authz, acme_json_int(authz, "expires", 0))) != 0)
		goto out;
	/* Journal before commit: an event without its state is safer than state without its event. */
	if ((rc = acme_journal(a, error_type == NULL ? JOURNAL_ACME_AUTHZ_VALID : JOURNAL_ACME_AUTHZ_INVALID, owner,
	         acme_json_str(account, "thumbprint"), NULL, profile, NULL, text, now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
out:
	acme_store_abort(txn);
	json_decref(err);
	json_decref(account);
	json_decref(authz);
	return rc;
}
