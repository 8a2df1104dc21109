/*
 * ACME orders (RFC 8555 7.4): newOrder with its limits and authorizations,
 * the order's lazy status and its answer (finalize and the certificate
 * download are in acme_finalize.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_order.h"
#include "policy/profile_check.h"
#include "sd_time.h"

/* --- The order's status --- */

/* Mark order invalid with problem p and detail. Errors: SD_E_NOMEM. */
int
acme_order_fail(json_t *order, json_t *problem)
{
	if (problem == NULL || json_object_set_new(order, "status", json_string("invalid")) != 0 ||
	    json_object_set_new(order, "error", problem) != 0)
		return SD_E_NOMEM;
	return 0;
}

/* The error of authz's failed challenge, or a new unauthorized problem naming its status. */
static json_t *
acme_order_authz_error(const json_t *authz, const char *status)
{
	const json_t *ch;
	char detail[128];
	size_t i;

	json_array_foreach(json_object_get(authz, "challenges"), i, ch)
	{
		if (json_is_object(json_object_get(ch, "error")))
			return json_deep_copy(json_object_get(ch, "error"));
	}
	(void)snprintf(detail, sizeof(detail), "an authorization is %s", status);
	return acme_problem_json(ACME_P_UNAUTHORIZED, detail);
}

int
acme_order_refresh(struct acme_txn *txn, json_t *order, int64_t now, bool *changed)
{
	const char *status = acme_json_str(order, "status"), *id, *as;
	const json_t *ids = json_object_get(order, "authorizations"), *v;
	json_t *authz = NULL;
	bool all_valid = true;
	size_t i;
	int rc = 0;

	*changed = false;
	if (status == NULL || (strcmp(status, "pending") != 0 && strcmp(status, "ready") != 0))
		return 0;
	if (acme_json_int(order, "expires", 0) <= now) {
		*changed = true;
		return acme_order_fail(order, acme_problem_json(ACME_P_UNAUTHORIZED, "the order expired"));
	}
	if (strcmp(status, "ready") == 0)
		return 0;
	json_array_foreach(ids, i, v)
	{
		if ((id = json_string_value(v)) == NULL)
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "an order's authorizations");
		rc = acme_store_get(txn, ACME_T_AUTHZ, id, &authz);
		if (rc == SD_E_NOT_FOUND) {
			/* Swept: it expired. */
			*changed = true;
			return acme_order_fail(order,
			    acme_problem_json(ACME_P_UNAUTHORIZED, "an authorization expired"));
		}
		if (rc != 0)
			return rc;
		as = acme_authz_status(authz, now);
		if (strcmp(as, "valid") != 0)
			all_valid = false;
		if (strcmp(as, "pending") != 0 && strcmp(as, "valid") != 0) {
			*changed = true;
			rc = acme_order_fail(order, acme_order_authz_error(authz, as));
			json_decref(authz);
			return rc;
		}
		json_decref(authz);
		authz = NULL;
	}
	if (all_valid) {
		*changed = true;
		if (json_object_set_new(order, "status", json_string("ready")) != 0)
			return SD_E_NOMEM;
	}
	return 0;
}

/* The order of c's account, id; foreign and unknown alike SD_E_NOT_FOUND. */
static int
acme_order_get(struct acme_txn *txn, const struct acme_call *c, const char *id, json_t **out)
{
	const char *owner;
	json_t *order = NULL;
	int rc;

	*out = NULL;
	if (strlen(id) != ACME_ID_LEN)
		return sd_error_set(SD_E_NOT_FOUND, "no such order");
	if ((rc = acme_store_get(txn, ACME_T_ORDER, id, &order)) != 0)
		return rc;
	owner = acme_json_str(order, "account");
	if (owner == NULL || strcmp(owner, c->account_id) != 0) {
		json_decref(order);
		return sd_error_set(SD_E_NOT_FOUND, "no such order");
	}
	*out = order;
	return 0;
}

/* Answer status with the answer form of order id and its Location. */
int
acme_order_answer(struct acme_call *c, unsigned status, const char *id, const json_t *order)
{
	char url[SIGNER_ACME_URL_MAX + 1], fin[ACME_ID_LEN + 16];
	const json_t *v;
	json_t *o, *list;
	const char *s;
	size_t i;
	int rc;

	if ((o = json_pack("{s:s?, s:O}", "status", acme_json_str(order, "status"), "identifiers",
	         json_object_get(order, "identifiers"))) == NULL)
		return SD_E_NOMEM;
	if ((rc = acme_json_set_time(o, "expires", acme_json_int(order, "expires", 0))) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if ((list = json_array()) == NULL || json_object_set_new(o, "authorizations", list) != 0)
		goto out;
	json_array_foreach(json_object_get(order, "authorizations"), i, v)
	{
		if ((rc = acme_url(c, url, sizeof(url), "authz", json_string_value(v))) != 0)
			goto out;
		if (json_array_append_new(list, json_string(url)) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	(void)snprintf(fin, sizeof(fin), "%s/finalize", id);
	if ((rc = acme_url(c, url, sizeof(url), "order", fin)) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if (json_object_set_new(o, "finalize", json_string(url)) != 0)
		goto out;
	if ((s = acme_json_str(order, "certificate")) != NULL) {
		if ((rc = acme_url(c, url, sizeof(url), "cert", s)) != 0)
			goto out;
		rc = SD_E_NOMEM;
		if (json_object_set_new(o, "certificate", json_string(url)) != 0)
			goto out;
	}
	if (json_is_object(json_object_get(order, "error")) &&
	    json_object_set(o, "error", json_object_get(order, "error")) != 0)
		goto out;
	if (acme_json_int(order, "not_after", 0) > 0 &&
	    (rc = acme_json_set_time(o, "notAfter", acme_json_int(order, "not_after", 0))) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if ((s = acme_json_str(order, "replaces")) != NULL && json_object_set_new(o, "replaces", json_string(s)) != 0)
		goto out;
	rc = acme_answer_json(c, status, o);
	o = NULL;
	if (rc == 0)
		rc = acme_answer_location(c, "order", id);
out:
	json_decref(o);
	return rc;
}

/* --- newOrder --- */

/*
 * Check one identifier and add its lower-cased value to names (duplicates
 * dropped). Returns 0, with a problem answered when it is refused.
 */
static int
acme_new_order_identifier(struct acme_call *c, const json_t *ident, json_t *names)
{
	const json_t *suffixes = json_object_get(c->account, "dns_suffixes"), *sv;
	const char *type = acme_json_str(ident, "type"), *value = acme_json_str(ident, "value");
	char name[SIGNER_ACME_NAME_MAX + 3];
	bool inside = json_array_size(suffixes) == 0;
	size_t i, len;

	if (type == NULL || value == NULL)
		return acme_answer_problem(c, ACME_P_MALFORMED, "an identifier needs a \"type\" and a \"value\"");
	if (strcmp(type, "dns") != 0)
		return acme_answer_problem(c, ACME_P_UNSUPPORTED_IDENTIFIER,
		    "identifiers of type \"%.32s\" are "
		    "not supported: only \"dns\"",
		    type);
	len = strlen(value);
	if (len == 0 || len >= sizeof(name))
		return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER, "a DNS identifier of %zu bytes", len);
	for (i = 0; i <= len; i++)
		name[i] = (char)tolower((unsigned char)value[i]);
	if (strncmp(name, "*.", 2) == 0) {
		/* The profile decides first whether a wildcard may be certified at all, as finalize would. */
		if (profile_check_dns(c->profile, name, len) != 0)
			return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER, "%s is not allowed by profile %s",
			    name, c->req->profile);
		/* RFC 8555 7.1.3: a wildcard's authorization offers dns-01 only. */
		if (c->a->cfg->acme_resolver == NULL)
			return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER,
			    "%s: wildcards need dns-01, which this server does not offer ([acme] resolver is not "
			    "configured)",
			    name);
	} else if (profile_check_dns_syntax(name, len) != 0) {
		return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER, "%s is not a valid DNS name", name);
	}
	if (profile_check_dns(c->profile, name, len) != 0)
		return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER, "%s is not allowed by profile %s", name,
		    c->req->profile);
	json_array_foreach(suffixes, i, sv)
	{
		if (json_is_string(sv) && profile_dns_suffix_match(name, len, json_string_value(sv)))
			inside = true;
	}
	if (!inside)
		return acme_answer_problem(c, ACME_P_REJECTED_IDENTIFIER,
		    "%s is outside the names its External "
		    "Account Binding allows",
		    name);
	sd_error_clear();
	json_array_foreach(names, i, sv)
	{
		if (strcmp(json_string_value(sv), name) == 0)
			return 0;
	}
	return json_array_append_new(names, json_string(name)) == 0 ? 0 : SD_E_NOMEM;
}

/*
 * The account's newOrder bucket (cfg->acme_orders_per_hour tokens a
 * whole hour refills): take a token, or *retry_after the seconds until one.
 */
static int
acme_new_order_bucket(struct acme_call *c, json_t *account, unsigned *retry_after)
{
	int64_t rate = (int64_t)c->a->cfg->acme_orders_per_hour;
	int64_t tokens, at, refill, elapsed;

	*retry_after = 0;
	if (rate == 0)
		return 0;
	tokens = acme_json_int(account, "orders_tokens", rate);
	at = acme_json_int(account, "orders_at", c->now);
	elapsed = c->now - at;
	if (elapsed < 0)
		elapsed = 0;
	if (elapsed > 3600)
		elapsed = 3600;
	refill = elapsed * rate / 3600;
	if (refill > 0) {
		tokens += refill;
		at += refill * 3600 / rate;
	}
	if (tokens >= rate) {
		tokens = rate;
		at = c->now;
	}
	if (tokens < 1) {
		*retry_after = (unsigned)(at + (3600 + rate - 1) / rate - c->now);
		if (*retry_after == 0)
			*retry_after = 1;
		return 0;
	}
	if (json_object_set_new(account, "orders_tokens", json_integer(tokens - 1)) != 0 ||
	    json_object_set_new(account, "orders_at", json_integer(at)) != 0)
		return SD_E_NOMEM;
	return 0;
}

/* acme_new_order_scan()'s walks over the account's lists. */
struct acme_scan {
	const struct acme_call *c;
	json_t *reuse, *kept, *still;
	size_t pending;
};

/* An authorization of "authzs": kept, and usable by its name (valid preferred over pending). */
static int
acme_scan_authz(void *arg, json_t *id, const json_t *authz)
{
	struct acme_scan *w = arg;
	char key[SIGNER_ACME_NAME_MAX + 3];	/* "*." and a name, as newOrder admits them */
	const char *status, *name, *prev;
	int n;

	if (json_array_append(w->kept, id) != 0)
		return SD_E_NOMEM;
	status = acme_authz_status(authz, w->c->now);
	name = json_string_value(json_object_get(json_object_get(authz, "identifier"), "value"));
	if (name != NULL && json_is_true(json_object_get(authz, "wildcard"))) {
		/* Keyed as the order names it: a wildcard's authorization serves "*." NAME only. */
		n = snprintf(key, sizeof(key), "*.%s", name);
		name = n > 0 && (size_t)n < sizeof(key) ? key : NULL;
	}
	if (name == NULL || (strcmp(status, "valid") != 0 && strcmp(status, "pending") != 0))
		return 0;
	prev = json_string_value(json_object_get(w->reuse, name));
	/* The list is newest first: keep the first valid one, else the first pending one. */
	if ((prev == NULL || (strcmp(status, "valid") == 0 && strncmp(prev, "p:", 2) == 0)) &&
	    json_object_set_new(w->reuse, name, json_sprintf("%c:%s", strcmp(status, "valid") == 0 ? 'v' : 'p',
	        json_string_value(id))) != 0)
		return SD_E_NOMEM;
	return 0;
}

/* An authorization of "pending": kept while it still is. */
static int
acme_scan_pending(void *arg, json_t *id, const json_t *authz)
{
	struct acme_scan *w = arg;

	if (strcmp(acme_authz_status(authz, w->c->now), "pending") != 0)
		return 0;
	if (json_array_append(w->still, id) != 0)
		return SD_E_NOMEM;
	w->pending++;
	return 0;
}

/*
 * From the account's "authzs", usable authorizations by name into reuse
 * (name -> id; valid preferred over pending), and the account's lists
 * pruned: "pending" of ids no longer pending, "authzs" of swept ones.
 */
static int
acme_new_order_scan(struct acme_call *c, struct acme_txn *txn, json_t *account, json_t *reuse, size_t *pending)
{
	struct acme_scan w = { c, reuse, json_array(), json_array(), 0 };
	int rc = SD_E_NOMEM;

	*pending = 0;
	if (w.kept == NULL || w.still == NULL)
		goto out;
	if ((rc = acme_authz_each(txn, json_object_get(account, "authzs"), 0, acme_scan_authz, &w)) != 0 ||
	    (rc = acme_authz_each(txn, json_object_get(account, "pending"), 0, acme_scan_pending, &w)) != 0)
		goto out;
	rc = SD_E_NOMEM;
	if (json_object_set(account, "authzs", w.kept) != 0 || json_object_set(account, "pending", w.still) != 0)
		goto out;
	*pending = w.pending;
	rc = 0;
out:
	json_decref(w.kept);
	json_decref(w.still);
	return rc;
}

/* Refuse with a problem (returns 0) unless the limits let account place this order. */
static int
acme_new_order_authzs(struct acme_call *c, struct acme_txn *txn, json_t *account, const json_t *names, json_t *ids,
    bool *all_valid)
{
	char id[ACME_ID_LEN + 1];
	json_t *reuse = json_object(), *authzs, *pending, *v;
	const char *r;
	size_t i, held = 0, fresh = 0;
	int rc;

	*all_valid = true;
	if (reuse == NULL)
		return SD_E_NOMEM;
	if ((rc = acme_new_order_scan(c, txn, account, reuse, &held)) != 0)
		goto out;
	json_array_foreach(names, i, v)
	{
		if (json_object_get(reuse, json_string_value(v)) == NULL)
			fresh++;
	}
	if (held + fresh > c->a->cfg->acme_pending_authorizations) {
		rc = acme_answer_problem(c, ACME_P_RATE_LIMITED,
		    "the account would hold %zu pending authorizations, "
		    "more than %u",
		    held + fresh, c->a->cfg->acme_pending_authorizations);
		goto out;
	}
	authzs = json_object_get(account, "authzs");
	pending = json_object_get(account, "pending");
	json_array_foreach(names, i, v)
	{
		if ((r = json_string_value(json_object_get(reuse, json_string_value(v)))) != NULL) {
			if (r[0] != 'v')
				*all_valid = false;
			rc = json_array_append_new(ids, json_string(r + 2)) == 0 ? 0 : SD_E_NOMEM;
			if (rc != 0)
				goto out;
			continue;
		}
		*all_valid = false;
		if ((rc = acme_authz_new(c, txn, json_string_value(v), id)) != 0)
			goto out;
		rc = SD_E_NOMEM;
		if (json_array_append_new(ids, json_string(id)) != 0 ||
		    json_array_append_new(pending, json_string(id)) != 0 ||
		    json_array_insert_new(authzs, 0, json_string(id)) != 0)
			goto out;
		rc = 0;
	}
	while (json_array_size(authzs) > ACME_ORDER_AUTHZS_MAX)
		if (json_array_remove(authzs, json_array_size(authzs) - 1) != 0)
			abort(); /* an index inside the array */
out:
	json_decref(reuse);
	return rc;
}

/* The payload's identifiers, notBefore, notAfter and replaces; 0 with a problem answered when refused. */
static int
acme_new_order_payload(struct acme_call *c, json_t *names, int64_t *not_after, const char **replaces)
{
	const json_t *idents = json_object_get(c->payload, "identifiers"), *v;
	const char *text;
	size_t i;
	int rc;

	*not_after = 0;
	*replaces = NULL;
	if (!json_is_array(idents) || json_array_size(idents) == 0)
		return acme_answer_problem(c, ACME_P_MALFORMED, "\"identifiers\" must be a non-empty array");
	if (json_array_size(idents) > c->a->cfg->acme_identifiers_per_order)
		return acme_answer_problem(c, ACME_P_MALFORMED, "more than %u identifiers",
		    c->a->cfg->acme_identifiers_per_order);
	json_array_foreach(idents, i, v)
	{
		if (!json_is_object(v))
			return acme_answer_problem(c, ACME_P_MALFORMED, "an identifier is not an object");
		if ((rc = acme_new_order_identifier(c, v, names)) != 0 || c->ans->status != 0)
			return rc;
	}
	if (json_object_get(c->payload, "notBefore") != NULL)
		return acme_answer_problem(c, ACME_P_MALFORMED, "notBefore is not supported");
	if ((v = json_object_get(c->payload, "notAfter")) != NULL) {
		if ((text = json_string_value(v)) == NULL || sd_time_parse(text, not_after) != 0 ||
		    *not_after <= c->now)
			return acme_answer_problem(c, ACME_P_MALFORMED,
			    "notAfter must be an RFC 3339 time in the future");
		sd_error_clear();
	}
	if ((v = json_object_get(c->payload, "replaces")) != NULL &&
	    ((*replaces = json_string_value(v)) == NULL || strlen(*replaces) > ACME_KEY_MAX))
		return acme_answer_problem(c, ACME_P_MALFORMED, "\"replaces\" must be a certID");
	return 0;
}

int
acme_op_new_order(struct acme_call *c)
{
	char id[ACME_ID_LEN + 1], serial[41] = "";
	enum acme_problem p = ACME_P_NONE;
	struct acme_txn *txn = NULL;
	json_t *names = NULL, *ids = NULL, *account = NULL, *order = NULL, *idents = NULL, *v;
	const char *replaces;
	int64_t not_after, expires = c->now + (int64_t)c->a->cfg->acme_order_lifetime;
	unsigned retry = 0;
	bool all_valid = false;
	size_t i;
	int rc;

	if (c->payload == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "newOrder needs a payload");
		goto out;
	}
	rc = SD_E_NOMEM;
	if ((names = json_array()) == NULL || (ids = json_array()) == NULL || (idents = json_array()) == NULL)
		goto out;
	if ((rc = acme_new_order_payload(c, names, &not_after, &replaces)) != 0 || c->ans->status != 0)
		goto out;
	/* Before the write transaction: acme_ari_replaces() reads the store and the journal itself. */
	if (replaces != NULL && (rc = acme_ari_replaces(c, replaces, serial, &p)) != 0) {
		if (rc == SD_E_INVAL || rc == SD_E_NOT_FOUND)
			rc = acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "replaces: %s",
			    sd_error_detail(rc));
		goto out;
	}
	if ((rc = acme_store_begin(c->a->store, true, &txn)) != 0 ||
	    (rc = acme_store_get(txn, ACME_T_ACCOUNT, c->account_id, &account)) != 0)
		goto out;
	if ((rc = acme_new_order_bucket(c, account, &retry)) != 0)
		goto out;
	if (retry != 0) {
		c->ans->retry_after = retry;
		rc = acme_answer_problem(c, ACME_P_RATE_LIMITED, "at most %u new orders an hour",
		    c->a->cfg->acme_orders_per_hour);
		goto out;
	}
	rc = SD_E_NOMEM;
	if ((json_object_get(account, "authzs") == NULL && json_object_set_new(account, "authzs", json_array()) != 0) ||
	    (json_object_get(account, "pending") == NULL && json_object_set_new(account, "pending", json_array()) != 0))
		goto out;
	if ((rc = acme_new_order_authzs(c, txn, account, names, ids, &all_valid)) != 0 || c->ans->status != 0)
		goto out;
	rc = SD_E_NOMEM;
	json_array_foreach(names, i, v)
	{
		if (json_array_append_new(idents, json_pack("{s:s, s:O}", "type", "dns", "value", v)) != 0)
			goto out;
	}
	if ((rc = acme_store_id_new(id)) != 0)
		goto out;
	order = json_pack("{s:s, s:s, s:s, s:I, s:O, s:O, s:I, s:n, s:n, s:s?, s:s?}", "account", c->account_id,
	    "profile", c->req->profile, "status", all_valid ? "ready" : "pending", "expires", (json_int_t)expires,
	    "identifiers", idents, "authorizations", ids, "not_after", (json_int_t)not_after, "certificate", "error",
	    "replaces", replaces, "replaces_serial", replaces != NULL ? serial : NULL);
	if (order == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_add(txn, ACME_T_ORDER, id, order, expires)) != 0 ||
	    (rc = acme_account_order_add(txn, c->account_id, c->now, id, expires)) != 0 ||
	    (rc = acme_store_put(txn, ACME_T_ACCOUNT, c->account_id, account, 0)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	rc = acme_order_answer(c, 201, id, order);
out:
	acme_store_abort(txn);
	json_decref(names);
	json_decref(ids);
	json_decref(idents);
	json_decref(account);
	json_decref(order);
	return rc;
}

/* --- order --- */

/* The order of c's request, refreshed and stored when that changed it, in a write txn *txn left open. */
int
acme_order_load(struct acme_call *c, struct acme_txn **txn, json_t **out)
{
	const char *status;
	bool changed = false;
	int rc;

	*out = NULL;
	if ((rc = acme_store_begin(c->a->store, true, txn)) != 0)
		return rc;
	if ((rc = acme_order_get(*txn, c, c->req->id, out)) == SD_E_NOT_FOUND)
		return acme_answer_problem(c, ACME_P_NOT_FOUND, "no such order");
	if (rc != 0)
		return rc;
	if ((rc = acme_order_refresh(*txn, *out, c->now, &changed)) != 0)
		return rc;
	status = acme_json_str(*out, "status");
	if (status != NULL && strcmp(status, "processing") == 0 &&
	    c->now - acme_json_int(*out, "processing_at", 0) >= ACME_ORDER_LOST_SECONDS &&
	    (rc = acme_finalize_lost(c, *txn, *out, &changed)) != 0)
		return rc;
	if (changed)
		rc = acme_store_put(*txn, ACME_T_ORDER, c->req->id, *out, acme_json_int(*out, "expires", 0));
	return rc;
}

int
acme_op_order(struct acme_call *c)
{
	struct acme_txn *txn = NULL;
	json_t *order = NULL;
	int rc;

	if ((rc = acme_order_load(c, &txn, &order)) != 0 || c->ans->status != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc == 0)
		rc = acme_order_answer(c, 200, c->req->id, order);
out:
	acme_store_abort(txn);
	json_decref(order);
	return rc;
}
