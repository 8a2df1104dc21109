/*
 * A finalize that never finished: the certificate it may have journaled is
 * looked up in the certificate index, so that the client gets that one
 * rather than a second certificate for the same order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_order.h"
#include "sd_file.h"
#include "sd_log.h"

/* What a lost finalize's certificate must match. */
struct acme_lost {
	struct acme_txn *txn;
	struct journal *journal;
	const json_t *names;		/* the order's identifiers */
	int64_t since;			/* processing_at */
	const char *key_hex;		/* the CSR's key hash */
	char serial_hex[2 * JOURNAL_SERIAL_MAX + 1];	/* the match */
};

/* Whether c's DNS SANs are exactly the order's names. */
static bool
acme_lost_names_match(const struct acme_lost *l, const struct journal_cert *c)
{
	const json_t *v;
	size_t i, k, dns = 0;
	bool found;

	for (k = 0; k < c->n_sans; k++)
		if (c->sans[k].type == JOURNAL_SAN_DNS)
			dns++;
	if (dns != json_array_size(l->names))
		return false;
	json_array_foreach(l->names, i, v)
	{
		found = false;
		for (k = 0; k < c->n_sans && !found; k++)
			found = c->sans[k].type == JOURNAL_SAN_DNS && acme_json_str(v, "value") != NULL &&
			    strcmp(c->sans[k].value, acme_json_str(v, "value")) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Whether the certificate of serial carries the CSR's key. Errors: those of journal_cert_get(), SD_E_CRYPTO. */
static int
acme_lost_key_match(const struct acme_lost *l, const struct journal_cert *c, bool *match)
{
	struct journal_cert *full = NULL;
	const unsigned char *p;
	unsigned char *spki = NULL;
	uint8_t md[ACME_KEY_HASH_LEN];
	char hex[2 * ACME_KEY_HASH_LEN + 1];
	X509 *x = NULL;
	int len, rc;

	*match = false;
	if ((rc = journal_cert_get(l->journal, c->serial, c->serial_len, &full)) != 0)
		return rc;
	p = full->cert_der;
	if ((x = d2i_X509(NULL, &p, (long)full->cert_der_len)) == NULL ||
	    (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) <= 0 ||
	    EVP_Digest(spki, (size_t)len, md, NULL, EVP_sha256(), NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "the key of a journaled certificate");
		goto out;
	}
	sd_hex_encode(md, sizeof(md), hex);
	*match = strcmp(hex, l->key_hex) == 0;
out:
	OPENSSL_free(spki);
	X509_free(x);
	journal_cert_free(full);
	return rc;
}

/* Whether c is the lost finalize's certificate (its serial then in l). */
static int
acme_lost_is_it(struct acme_lost *l, const struct journal_cert *c, bool *it)
{
	char serial_hex[2 * JOURNAL_SERIAL_MAX + 1];
	json_t *claimed = NULL;
	int rc;

	*it = false;
	if (!c->parsed || c->issued_ms / 1000 < l->since || !acme_lost_names_match(l, c))
		return 0;
	sd_hex_encode(c->serial, c->serial_len, serial_hex);
	/* Another order's certificate, delivered: not this one. */
	rc = acme_store_get(l->txn, ACME_T_CERT, serial_hex, &claimed);
	json_decref(claimed);
	if (rc != SD_E_NOT_FOUND)
		return rc != 0 ? rc : 0;
	sd_error_clear();
	if ((rc = acme_lost_key_match(l, c, it)) == 0 && *it)
		memcpy(l->serial_hex, serial_hex, sizeof(serial_hex));
	return rc;
}

/*
 * Search the index by the order's first name and the requester, in journal
 * order, a bounded number of pages. *found tells whether l->serial_hex is set.
 */
static int
acme_lost_search(struct acme_lost *l, const char *client, bool *found)
{
	struct journal_cert_query q;
	struct journal_cert_page *page = NULL;
	char cursor[JOURNAL_CURSOR_MAX + 1] = "";
	size_t i, pages;
	int rc;

	*found = false;
	for (pages = 0; pages < ACME_LOST_PAGES_MAX && !*found; pages++) {
		memset(&q, 0, sizeof(q));
		q.san = acme_json_str(json_array_get(l->names, 0), "value");
		q.client = client;
		q.limit = JOURNAL_CERTS_LIMIT_MAX;
		q.cursor = cursor[0] != '\0' ? cursor : NULL;
		if (q.san == NULL)
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: an order without identifiers");
		if ((rc = journal_certs_list(l->journal, &q, &page)) == SD_E_NOT_FOUND) {
			sd_error_clear();	/* no certificate index: nothing to find */
			return 0;
		}
		if (rc != 0)
			return rc;
		for (i = 0; i < page->n && !*found && rc == 0; i++)
			rc = acme_lost_is_it(l, page->items[i], found);
		if (rc != 0 || page->next_cursor == NULL) {
			journal_cert_page_free(page);
			return rc;
		}
		(void)snprintf(cursor, sizeof(cursor), "%s", page->next_cursor);
		journal_cert_page_free(page);
		page = NULL;
	}
	return 0;
}

int
acme_finalize_lost(struct acme_call *c, struct acme_txn *txn, json_t *order, bool *changed)
{
	char client[SIGNER_ACME_PARAM_MAX + 64];
	struct acme_lost l;
	const char *account = acme_json_str(order, "account"), *profile = acme_json_str(order, "profile");
	bool found = false;
	int rc;

	*changed = true;
	memset(&l, 0, sizeof(l));
	l.txn = txn;
	l.journal = c->a->journal;
	l.names = json_object_get(order, "identifiers");
	l.since = acme_json_int(order, "processing_at", 0);
	l.key_hex = acme_json_str(order, "csr_key");
	if (account == NULL || profile == NULL)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: order %s without its account", c->req->id);
	/* An order marked by an older version has no key to tell its certificate by. */
	if (l.key_hex != NULL && json_array_size(l.names) > 0) {
		(void)snprintf(client, sizeof(client), "acme:%s/%s", profile, account);
		if ((rc = acme_lost_search(&l, client, &found)) != 0)
			return rc;
	}
	if (found) {
		sd_log(SD_LOG_INFO, "acme: order %s: its lost finalize had issued certificate %s, now the order's", c->req->id,
		    l.serial_hex);
		return acme_finalize_record(txn, c->req->id, order, l.serial_hex);
	}
	return json_object_set_new(order, "status", json_string("ready")) == 0 ? 0 : SD_E_NOMEM;
}
