/*
 * An account's orders list (RFC 8555 7.1.2.1): its index, written with
 * each new order, and the POST-as-GET of acct/ID/orders[/CURSOR], newest
 * first, a page at a time with a Link rel="next" to the rest.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "acme_order.h"
#include "sd_file.h"

#define ACME_ORDERS_HEX 16 /* hex digits of the index key's time */
/* The account's prefix ID "/", then hex "/" order id. */
#define ACME_ORDERS_KEY_LEN (ACME_ID_LEN + 1 + ACME_ORDERS_HEX + 1 + ACME_ID_LEN)
#define ACME_ORDERS_CURSOR_LEN (ACME_ORDERS_HEX + 1 + ACME_ID_LEN)

/* A page being gathered by acme_orders_each(). */
struct acme_orders_walk {
	struct acme_call *c;
	struct acme_txn *txn;
	char prefix[ACME_ID_LEN + 2]; /* ID "/" */
	json_t *urls;
	size_t seen; /* index entries read */
	char next[ACME_ORDERS_KEY_LEN + 1]; /* the next page's first key, "" : none */
};

int
acme_account_order_add(struct acme_txn *txn, const char *account_id, int64_t created, const char *id, int64_t expires)
{
	char key[ACME_ORDERS_KEY_LEN + 1];
	json_t *ref;
	int n, rc;

	if (created < 0)
		return sd_error_set(SD_E_INVAL, "an order created at %" PRId64, created);
	/* INT64_MAX - created: a later order sorts first. */
	n = snprintf(key, sizeof(key), "%s/%016" PRIx64 "/%s", account_id, (uint64_t)(INT64_MAX - created), id);
	if (n != ACME_ORDERS_KEY_LEN)
		return sd_error_set(SD_E_INVAL, "an orders list key of %d bytes", n);
	if ((ref = json_pack("{s:s}", "order", id)) == NULL)
		return SD_E_NOMEM;
	rc = acme_store_add(txn, ACME_T_ACCOUNT_ORDER, key, ref, expires);
	json_decref(ref);
	return rc;
}

/* Whether s is n characters of base64url. */
static bool
acme_orders_b64url(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acme_b64url_value(s[i]) < 0)
			return false;
	return true;
}

/* A cursor (16 lower-case hex "." order id) as the index key of account account_id. */
static bool
acme_orders_cursor_key(const char *account_id, const char *cursor, char key[ACME_ORDERS_KEY_LEN + 1])
{
	size_t i;

	if (strlen(cursor) != ACME_ORDERS_CURSOR_LEN || cursor[ACME_ORDERS_HEX] != '.' ||
	    !acme_orders_b64url(cursor + ACME_ORDERS_HEX + 1, ACME_ID_LEN))
		return false;
	/* Lower-case only: one spelling per cursor. */
	for (i = 0; i < ACME_ORDERS_HEX; i++)
		if (sd_hex_digit(cursor[i]) < 0 || (cursor[i] >= 'A' && cursor[i] <= 'F'))
			return false;
	return snprintf(key, ACME_ORDERS_KEY_LEN + 1, "%s/%.*s/%s", account_id, ACME_ORDERS_HEX, cursor,
	           cursor + ACME_ORDERS_HEX + 1) == ACME_ORDERS_KEY_LEN;
}

/*
 * acme_store_foreach() callback: 1 stops the walk (the account's entries
 * ended, or the page is full). A page is full once a listed order follows
 * it, so that a Link rel="next" never leads to an empty page but when
 * ACME_ORDERS_SCAN entries of unlisted orders were read.
 */
static int
acme_orders_each(const char *key, const json_t *value, void *arg)
{
	struct acme_orders_walk *w = arg;
	char url[SIGNER_ACME_URL_MAX + 1];
	const char *id, *owner, *status;
	json_t *order = NULL;
	bool changed = false;
	int rc;

	(void)value;
	if (strncmp(key, w->prefix, strlen(w->prefix)) != 0)
		return 1;
	if (w->seen >= ACME_ORDERS_SCAN) {
		(void)snprintf(w->next, sizeof(w->next), "%s", key);
		return 1;
	}
	w->seen++;
	if (strlen(key) != ACME_ORDERS_KEY_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: an orders list key of %zu bytes", strlen(key));
	id = key + ACME_ORDERS_KEY_LEN - ACME_ID_LEN;
	/* The sweep may have deleted the order first: the index entry goes in the same or the next sweep. */
	if ((rc = acme_store_get(w->txn, ACME_T_ORDER, id, &order)) == SD_E_NOT_FOUND) {
		sd_error_clear();
		return 0;
	}
	if (rc != 0)
		return rc;
	owner = acme_json_str(order, "account");
	if (owner == NULL || strcmp(owner, w->c->account_id) != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: order %s is listed for another account", id);
		goto out;
	}
	/* The status the order's own URL would answer; stored when that URL is asked, not here. */
	if ((rc = acme_order_refresh(w->txn, order, w->c->now, &changed)) != 0)
		goto out;
	status = acme_json_str(order, "status");
	if (status == NULL || strcmp(status, "invalid") == 0)
		goto out;
	if (json_array_size(w->urls) >= w->c->a->orders_page) {
		(void)snprintf(w->next, sizeof(w->next), "%s", key);
		rc = 1;
		goto out;
	}
	if ((rc = acme_url(w->c, url, sizeof(url), "order", id)) != 0)
		goto out;
	if (json_array_append_new(w->urls, json_string(url)) != 0)
		rc = SD_E_NOMEM;
out:
	json_decref(order);
	return rc;
}

int
acme_op_orders(struct acme_call *c)
{
	char from[ACME_ORDERS_KEY_LEN + 1], page[ACME_ID_LEN + 16 + ACME_ORDERS_CURSOR_LEN],
	    url[SIGNER_ACME_URL_MAX + 1];
	struct acme_orders_walk w;
	const char *cursor = strchr(c->req->id, '/');
	size_t id_len = cursor != NULL ? (size_t)(cursor - c->req->id) : strlen(c->req->id);
	json_t *body = NULL;
	int n, rc;

	memset(&w, 0, sizeof(w));
	/* Only the account itself reads its list (RFC 8555 7.1.2.1). */
	if (id_len != ACME_ID_LEN || strncmp(c->req->id, c->account_id, ACME_ID_LEN) != 0) {
		rc = acme_answer_problem(c, ACME_P_UNAUTHORIZED, "an account reads its own orders list only");
		goto out;
	}
	if (c->payload != NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED,
		    "the orders list is read by a POST-as-GET (an empty payload)");
		goto out;
	}
	(void)snprintf(w.prefix, sizeof(w.prefix), "%s/", c->account_id);
	if (cursor == NULL) {
		(void)snprintf(from, sizeof(from), "%s", w.prefix);
	} else if (!acme_orders_cursor_key(c->account_id, cursor + 1, from)) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "the orders list cursor is not one this server gave");
		goto out;
	}
	w.c = c;
	rc = SD_E_NOMEM;
	if ((w.urls = json_array()) == NULL)
		goto out;
	if ((rc = acme_store_begin(c->a->store, false, &w.txn)) != 0)
		goto out;
	/* One entry more than a page reads, to find where the next one begins. */
	rc = acme_store_foreach(w.txn, ACME_T_ACCOUNT_ORDER, from, ACME_ORDERS_SCAN + 1, acme_orders_each, &w);
	if (rc < 0)
		goto out;
	if (w.next[0] != '\0') {
		/* The next key's hex "." order id: the URL's cursor. */
		n = snprintf(page, sizeof(page), "%s/orders/%.*s.%s", c->account_id, ACME_ORDERS_HEX,
		    w.next + ACME_ID_LEN + 1, w.next + ACME_ORDERS_KEY_LEN - ACME_ID_LEN);
		if (n < 0 || (size_t)n >= sizeof(page)) {
			rc = sd_error_set(SD_E_INTERNAL, "an orders page URL of %d bytes", n);
			goto out;
		}
		if ((rc = acme_url(c, url, sizeof(url), "acct", page)) != 0 ||
		    (rc = acme_answer_link(c, url, "next")) != 0)
			goto out;
	}
	rc = SD_E_NOMEM;
	if ((body = json_object()) == NULL || json_object_set(body, "orders", w.urls) != 0)
		goto out;
	rc = acme_answer_json(c, 200, body);
	body = NULL;
out:
	acme_store_abort(w.txn);
	json_decref(w.urls);
	json_decref(body);
	return rc;
}
