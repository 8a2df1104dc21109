/*
 * Reading the certificate index: a page of certificates through the index
 * that best narrows the filters, with a bounded number of index entries
 * looked at per page and a cursor to go on; one certificate by serial; and
 * the rebuild's transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"
#include "sd_file.h"

enum inv_driver {
	INV_DRIVE_SEQ = 1,		/* the 'C' keys: journal order */
	INV_DRIVE_EXPIRY = 2,		/* the 'E' keys: not_after order */
	INV_DRIVE_ATTR = 3,		/* one value's attr keys: journal order */
};

#define INV_FILTER_HASH_LEN 8
/* A cursor holds the end of the last key: the prefix comes from the filters it is bound to. */
#define INV_TAIL_MAX (INV_EXPIRY_KEY_LEN - 1)

/* The query being walked. */
struct inv_walk {
	const struct journal_cert_query *q;
	enum inv_driver driver;
	uint8_t prefix[INV_PREFIX_MAX];	/* 'C', 'E', or inv_attr_prefix() of the value */
	size_t prefix_len;
	uint8_t start[INV_KEY_MAX];
	size_t start_len, key_len, tail_len;	/* key_len = prefix_len + tail_len */
	uint8_t fhash[INV_FILTER_HASH_LEN];	/* binds a cursor to its filters */
};

void
journal_cert_page_free(struct journal_cert_page *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		journal_cert_free(p->items[i]);
	free(p->items);
	free(p->next_cursor);
	free(p);
}

int
inv_read_begin(struct journal *j, bool sync, MDB_txn **txn, uint64_t *through)
{
	bool complete = false;
	int rc;

	*txn = NULL;
	journal_flush(j);	/* the certificates this process released are there */
	if (sync && (rc = journal_index_sync(j)) != 0)
		return rc;
	if ((rc = journal_read_begin(j, txn)) != 0)
		return rc;
	if ((rc = inv_through(j, *txn, &complete, through)) == 0 && !complete)
		rc = sd_error_set(SD_E_NOT_FOUND, "journal: no certificate index (signerctl certs reindex builds it)");
	if (rc != 0) {
		journal_read_end(j, *txn);
		*txn = NULL;
	}
	return rc;
}

int
journal_certs_indexed(struct journal *j, uint64_t *through, uint64_t *last)
{
	MDB_txn *txn = NULL;
	int rc;

	if (through != NULL)
		*through = 0;
	if (last != NULL)
		*last = 0;
	if (j == NULL || through == NULL || last == NULL)
		return sd_error_set(SD_E_INVAL, "journal_certs_indexed: NULL argument");
	if ((rc = inv_read_begin(j, false, &txn, through)) != 0)
		return rc;
	rc = journal_db_last_seq(j, txn, j->records, JOURNAL_SEQ_LEN, "records", last);
	journal_read_end(j, txn);
	return rc;
}

static size_t
inv_put_str(uint8_t *buf, size_t at, char tag, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	buf[at++] = (uint8_t)tag;
	buf[at++] = s != NULL;
	journal_be64_put(buf + at, n);
	at += 8;
	if (n > 0)
		memcpy(buf + at, s, n);
	return at + n;
}

/* SHA-256 of the filters, each tagged and length-prefixed, so no two queries share it. */
static int
inv_filter_hash(const struct journal_cert_query *q, uint8_t out[INV_FILTER_HASH_LEN])
{
	uint8_t *buf, h[JOURNAL_HASH_LEN];
	size_t at = 0;
	int rc;

	if ((buf = malloc(3 * (10 + JOURNAL_TEXT_MAX) + 2 * 10)) == NULL)
		return SD_E_NOMEM;
	at = inv_put_str(buf, at, 'p', q->profile);
	at = inv_put_str(buf, at, 'c', q->client);
	at = inv_put_str(buf, at, 's', q->san);
	buf[at++] = 'v';
	buf[at++] = q->has_valid_at;
	journal_be64_put(buf + at, q->has_valid_at ? (uint64_t)q->valid_at : 0);
	at += 8;
	buf[at++] = 'e';
	buf[at++] = q->has_expires_before;
	journal_be64_put(buf + at, q->has_expires_before ? (uint64_t)q->expires_before : 0);
	at += 8;
	rc = journal_hash(buf, at, h);
	free(buf);
	if (rc == 0)
		memcpy(out, h, INV_FILTER_HASH_LEN);
	return rc;
}

static int
inv_walk_init(const struct journal_cert_query *q, struct inv_walk *w)
{
	const char *v = NULL;
	uint8_t kind = 0;
	int rc;

	memset(w, 0, sizeof(*w));
	w->q = q;
	if (q->limit == 0 || q->limit > JOURNAL_CERTS_LIMIT_MAX)
		return sd_error_set(SD_E_INVAL, "limit %zu is not between 1 and %d", q->limit, JOURNAL_CERTS_LIMIT_MAX);
	if ((q->profile != NULL && strlen(q->profile) > JOURNAL_TEXT_MAX) ||
	    (q->client != NULL && strlen(q->client) > JOURNAL_TEXT_MAX) ||
	    (q->san != NULL && strlen(q->san) > JOURNAL_TEXT_MAX))
		return sd_error_set(SD_E_INVAL, "a filter value is longer than %d bytes", JOURNAL_TEXT_MAX);
	if ((rc = inv_filter_hash(q, w->fhash)) != 0)
		return rc;
	if (q->san != NULL) {
		kind = INV_KIND_SAN;
		v = q->san;
	} else if (q->client != NULL) {
		kind = INV_KIND_CLIENT;
		v = q->client;
	} else if (q->profile != NULL) {
		kind = INV_KIND_PROFILE;
		v = q->profile;
	}
	if (v != NULL) {
		w->driver = INV_DRIVE_ATTR;
		if ((rc = inv_attr_prefix(kind, v, w->prefix, &w->prefix_len)) != 0)
			return rc;
		w->tail_len = JOURNAL_SEQ_LEN;
		memcpy(w->start, w->prefix, w->prefix_len);
		w->start_len = w->prefix_len;
	} else if (q->has_valid_at || q->has_expires_before) {
		w->driver = INV_DRIVE_EXPIRY;
		w->prefix[0] = INV_KIND_EXPIRY;
		w->prefix_len = 1;
		w->tail_len = INV_EXPIRY_KEY_LEN - 1;
		w->start[0] = INV_KIND_EXPIRY;
		w->start_len = 1;
		/* Certificates valid at t expire at t or later: start there. */
		if (q->has_valid_at) {
			inv_expiry_key(q->valid_at, 0, w->start);
			w->start_len = INV_EXPIRY_KEY_LEN;
		}
	} else {
		w->driver = INV_DRIVE_SEQ;
		w->prefix[0] = INV_KIND_CERT;
		w->prefix_len = 1;
		w->tail_len = JOURNAL_SEQ_LEN;
		w->start[0] = INV_KIND_CERT;
		w->start_len = 1;
	}
	w->key_len = w->prefix_len + w->tail_len;
	return 0;
}

/* Whether key k lies in the walk's range (the driving index's end). */
static bool
inv_in_range(const struct inv_walk *w, const MDB_val *k)
{
	uint8_t end[INV_EXPIRY_KEY_LEN];

	if (k->mv_size != w->key_len || memcmp(k->mv_data, w->prefix, w->prefix_len) != 0)
		return false;
	if (w->driver == INV_DRIVE_EXPIRY && w->q->has_expires_before) {
		inv_expiry_key(w->q->expires_before, 0, end);
		return memcmp(k->mv_data, end, INV_EXPIRY_KEY_LEN) < 0;
	}
	return true;
}

static bool
inv_matches(const struct journal_cert_query *q, const struct journal_cert *c)
{
	size_t i;
	bool found;

	if (q->profile != NULL && strcmp(q->profile, c->profile) != 0)
		return false;
	if (q->client != NULL && strcmp(q->client, c->client_subject) != 0)
		return false;
	if (q->san != NULL) {
		for (i = 0, found = false; i < c->n_sans && !found; i++)
			found = strcmp(q->san, c->sans[i].value) == 0;
		if (!found)
			return false;
	}
	if (q->has_valid_at && (!c->parsed || c->not_before > q->valid_at || c->not_after < q->valid_at))
		return false;
	if (q->has_expires_before && (!c->parsed || c->not_after >= q->expires_before))
		return false;
	return true;
}

/* The cursor's key, checked against the walk: its driver, its filters, its tail's length. */
static int
inv_cursor_decode(const struct inv_walk *w, const char *cursor, uint8_t key[INV_KEY_MAX])
{
	uint8_t raw[1 + INV_FILTER_HASH_LEN + INV_TAIL_MAX] = { 0 };
	size_t n = strnlen(cursor, sizeof(raw) * 2 + 1), got;

	if (n % 2 != 0 || n > sizeof(raw) * 2 || n < 2 * (1 + INV_FILTER_HASH_LEN))
		return sd_error_set(SD_E_INVAL, "cursor is not one this service returned (length %zu)", n);
	if (sd_hex_decode(cursor, raw, sizeof(raw), &got) != 0)
		return sd_error_set(SD_E_INVAL, "cursor is not hex");
	if (raw[0] != w->driver || memcmp(raw + 1, w->fhash, INV_FILTER_HASH_LEN) != 0)
		return sd_error_set(SD_E_INVAL, "cursor was made for other filters");
	if (n != 2 * (1 + INV_FILTER_HASH_LEN + w->tail_len))
		return sd_error_set(SD_E_INVAL, "cursor is not one this service returned (length %zu)", n);
	memcpy(key, w->prefix, w->prefix_len);
	memcpy(key + w->prefix_len, raw + 1 + INV_FILTER_HASH_LEN, w->tail_len);
	return 0;
}

/* A cursor after key: the driver, the filters' hash, the key past its prefix. */
static int
inv_cursor_encode(const struct inv_walk *w, const uint8_t *key, char **out)
{
	uint8_t raw[1 + INV_FILTER_HASH_LEN + INV_TAIL_MAX];
	size_t n = 1 + INV_FILTER_HASH_LEN + w->tail_len;

	raw[0] = (uint8_t)w->driver;
	memcpy(raw + 1, w->fhash, INV_FILTER_HASH_LEN);
	memcpy(raw + 1 + INV_FILTER_HASH_LEN, key + w->prefix_len, w->tail_len);
	if ((*out = malloc(2 * n + 1)) == NULL)
		return SD_E_NOMEM;
	sd_hex_encode(raw, n, *out);
	return 0;
}

/* The entry of the certificate whose result is record seq; *size: its stored bytes. */
static int
inv_entry_get(struct journal *j, MDB_txn *txn, uint64_t seq, struct journal_cert **out, size_t *size)
{
	uint8_t key[INV_CERT_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	int mrc;

	*out = NULL;
	*size = 0;
	inv_cert_key(seq, key);
	mrc = mdb_get(txn, j->inv.idx, &k, &v);
	if (mrc == MDB_NOTFOUND)
		return sd_error_set(SD_E_NOT_FOUND, "certificate index: no entry for record %llu",
		    (unsigned long long)seq);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the certificate index");
	*size = v.mv_size;
	return inv_entry_decode(v.mv_data, v.mv_size, out);
}

static int
inv_walk_run(struct journal *j, MDB_txn *txn, struct inv_walk *w, struct journal_cert_page *p)
{
	const struct journal_cert_query *q = w->q;
	size_t scan_max = q->scan_max == 0 || q->scan_max > JOURNAL_CERTS_SCAN_MAX ? JOURNAL_CERTS_SCAN_MAX : q->scan_max;
	uint8_t last[INV_KEY_MAX], ckey[INV_KEY_MAX];
	size_t size;
	struct journal_cert *c = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t bytes = 0;
	bool full = false;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->inv.idx, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	if (q->cursor != NULL) {
		if ((rc = inv_cursor_decode(w, q->cursor, ckey)) != 0)
			goto out;
		k.mv_size = w->key_len;
		k.mv_data = ckey;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (mrc == 0 && k.mv_size == w->key_len && memcmp(k.mv_data, ckey, w->key_len) == 0)
			mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	} else {
		k.mv_size = w->start_len;
		k.mv_data = w->start;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if ((p->items = calloc(q->limit, sizeof(struct journal_cert *))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (; mrc == 0 && inv_in_range(w, &k); mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* A full page, or a full scan, with more to come: stop here and say where. */
		if (p->n == q->limit || p->scanned == scan_max || full) {
			rc = inv_cursor_encode(w, last, &p->next_cursor);
			goto out;
		}
		p->scanned++;
		memcpy(last, k.mv_data, w->key_len);
		/* Every driving key ends with the seq; inv_certs's value is the entry itself. */
		if (w->driver == INV_DRIVE_SEQ) {
			size = v.mv_size;
			rc = inv_entry_decode(v.mv_data, v.mv_size, &c);
		} else {
			rc = inv_entry_get(j, txn, journal_be64_get((const uint8_t *)k.mv_data + w->key_len - 8), &c,
			    &size);
			if (rc == SD_E_NOT_FOUND)
				rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s", sd_error_detail(rc));
		}
		if (rc != 0)
			goto out;
		if (c == NULL)
			abort();	/* a decoder that succeeds sets its entry */
		if (inv_matches(q, c)) {
			/* Revocations are journal state, read now: the index only trails the records. */
			if ((rc = journal_revocation_fill(j, txn, c)) != 0)
				goto out;
			p->items[p->n++] = c;
			c = NULL;
			/* A page must fit the reply that carries it. */
			bytes += size;
			full = q->bytes_max != 0 && bytes >= q->bytes_max;
		}
		journal_cert_free(c);
		c = NULL;
	}
	rc = mrc == 0 || mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the certificate index");
out:
	journal_cert_free(c);
	mdb_cursor_close(cur);
	return rc;
}

int
journal_certs_list(struct journal *j, const struct journal_cert_query *q, struct journal_cert_page **out)
{
	struct journal_cert_page *p = NULL;
	struct inv_walk w;
	MDB_txn *txn = NULL;
	uint64_t through;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (j == NULL || q == NULL || out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_certs_list: NULL argument");
	if ((rc = inv_walk_init(q, &w)) != 0 || (rc = inv_read_begin(j, true, &txn, &through)) != 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = inv_walk_run(j, txn, &w, p)) != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	journal_cert_page_free(p);
	journal_read_end(j, txn);
	return rc;
}

/*
 * The record of serial's certificate: the result of its intent, or its
 * legacy issuance. Errors: SD_E_NOT_FOUND (unknown serial, or an intent
 * without a result), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
static int
inv_serial_record(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len, struct journal_record **out)
{
	uint64_t seq;
	int rc;

	*out = NULL;
	if ((rc = journal_cert_seq(j, txn, serial, len, &seq)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_NOT_FOUND, "no certificate has this serial") : rc;
	if ((rc = journal_txn_get_hash(j, txn, seq, false, out)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_JOURNAL_CORRUPT, "serial index: record %llu is missing",
		    (unsigned long long)seq) : rc;
	if ((*out)->type != JOURNAL_REC_RESULT && (*out)->type != JOURNAL_REC_ISSUANCE) {
		journal_record_free(*out);
		*out = NULL;
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "result index: record %llu is not a certificate",
		    (unsigned long long)seq);
	}
	return 0;
}

int
journal_cert_get(struct journal *j, const uint8_t *serial, size_t len, struct journal_cert **out)
{
	struct journal_record *rec = NULL;
	struct journal_cert *c = NULL;
	MDB_txn *txn = NULL;
	uint64_t through;
	size_t size;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (j == NULL || serial == NULL || out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_cert_get: NULL argument");
	if (len == 0 || len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_NOT_FOUND, "no certificate has a serial of %zu bytes", len);
	/* No catching up: a certificate the index does not cover yet is derived from its records. */
	if ((rc = inv_read_begin(j, false, &txn, &through)) != 0)
		return rc;
	if ((rc = inv_serial_record(j, txn, serial, len, &rec)) != 0)
		goto out;
	if (rec == NULL)
		abort();	/* set on success */
	if (rec->seq > through)
		rc = inv_record_entry(j, txn, rec, &c);
	else if ((rc = inv_entry_get(j, txn, rec->seq, &c, &size)) == SD_E_NOT_FOUND)
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s", sd_error_detail(rc));
	if (rc != 0)
		goto out;
	if (c == NULL)
		abort();	/* a result or issuance always has an entry */
	if (rec->cert_der == NULL || rec->cert_der_len == 0 || rec->serial_len != len ||
	    memcmp(rec->serial, serial, len) != 0 || c->serial_len != len || memcmp(c->serial, serial, len) != 0 ||
	    c->seq != rec->seq) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: record %llu is not this certificate's",
		    (unsigned long long)rec->seq);
		goto out;
	}
	if ((rc = journal_revocation_fill(j, txn, c)) != 0)
		goto out;
	c->cert_der = rec->cert_der;
	c->cert_der_len = rec->cert_der_len;
	rec->cert_der = NULL;
	rec->cert_der_len = 0;
	*out = c;
	c = NULL;
out:
	journal_record_free(rec);
	journal_cert_free(c);
	journal_read_end(j, txn);
	return rc;
}

static int
inv_reindex_fn(struct journal *j, MDB_txn *txn, void *ctx, bool *commit)
{
	*commit = true;
	return inv_rebuild(j, txn, ctx);
}

int
journal_certs_reindex(struct journal *j, uint64_t *count)
{
	uint64_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_certs_reindex: NULL argument");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	/* Not while a batch is written: it would find its "through" gone and derive again. One transaction for all. */
	journal_mutex_lock(&j->index_lock);
	rc = inv_write_txn(j, inv_reindex_fn, &n);
	/* Unknown until the next batch reads it back from the index. */
	journal_mutex_lock(&j->queue_lock);
	j->indexed_through = 0;
	journal_mutex_unlock(&j->queue_lock);
	journal_mutex_unlock(&j->index_lock);
	if (rc == 0 && count != NULL)
		*count = n;
	return rc;
}
