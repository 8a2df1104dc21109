/*
 * Writing the certificate index: its databases, one certificate's entries
 * (in the transaction that appends its result), and the rebuild from the
 * records (signerctl certs reindex, or a writer's open of a journal that
 * has no index yet).
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"
#include "sd_file.h"

static const char inv_meta_key[] = "version";

int
inv_dbs_open(struct journal *j, MDB_txn *txn, bool create, struct inv_dbs *d)
{
	unsigned fl = create ? MDB_CREATE : 0;
	int mrc;

	d->ready = false;
	if ((mrc = mdb_dbi_open(txn, "inventory", fl, &d->idx)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "inv_meta", fl, &d->meta)) != 0)
		return mrc == MDB_NOTFOUND && !create ? 0 : journal_mdb_error(j, mrc, "opening the certificate index");
	d->ready = true;
	return 0;
}

int
inv_complete(struct journal *j, MDB_txn *txn, bool *complete)
{
	MDB_val k = { sizeof(inv_meta_key) - 1, (void *)(uintptr_t)inv_meta_key }, v;
	int mrc;

	*complete = false;
	if (!j->inv.ready)
		return 0;
	mrc = mdb_get(txn, j->inv.meta, &k, &v);
	if (mrc == MDB_NOTFOUND)
		return 0;
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the certificate index");
	*complete = v.mv_size == 1 && *(const uint8_t *)v.mv_data == INV_VERSION;
	return 0;
}

/* One key of a driving index (the seq is its last 8 bytes); the value is empty. */
static int
inv_put_key(struct journal *j, MDB_txn *txn, MDB_dbi db, const uint8_t *key, size_t klen)
{
	if (klen < 8)
		abort();	/* every key ends with its seq */
	MDB_val k = { klen, (void *)(uintptr_t)key }, v = { 0, NULL };
	int mrc;

	if ((mrc = mdb_put(txn, db, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		return sd_error_set(SD_E_INTERNAL, "certificate index: record %llu is indexed already",
		    (unsigned long long)journal_be64_get(key + klen - 8));
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "writing the certificate index");
}

int
inv_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq,
    const struct journal_record *intent, const struct inv_pre *pre)
{
	uint8_t ckey[INV_CERT_KEY_LEN], ekey[INV_EXPIRY_KEY_LEN], akey[INV_KEY_MAX];
	struct journal_cert *c = NULL;
	uint8_t *buf = NULL;
	MDB_val k, v;
	size_t len, i, alen;
	int rc, mrc;

	if (!j->inv.ready)
		return sd_error_set(SD_E_JOURNAL, "certificate index: not open");
	if (pre != NULL) {
		/* Borrow the parse made before the writer lock (given back below, before c is freed). */
		if ((rc = inv_entry_base(rec, seq, intent, &c)) != 0)
			goto out;
		c->parsed = pre->cert->parsed;
		c->not_before = pre->cert->not_before;
		c->not_after = pre->cert->not_after;
		c->sans = pre->cert->sans;
		c->n_sans = pre->cert->n_sans;
	} else if ((rc = inv_entry_from(rec, seq, intent, &c)) != 0) {
		goto out;
	}
	if ((rc = inv_entry_encode(c, &buf, &len)) != 0)
		goto out;
	/* Seqs only grow: each entry lands at the end of the 'C' keys, on the page the last one filled. */
	inv_cert_key(c->seq, ckey);
	k.mv_size = sizeof(ckey);
	k.mv_data = ckey;
	v.mv_size = len;
	v.mv_data = buf;
	if ((mrc = mdb_put(txn, j->inv.idx, &k, &v, MDB_NOOVERWRITE)) != 0) {
		rc = mrc == MDB_KEYEXIST ? sd_error_set(SD_E_INTERNAL, "certificate index: record %llu is indexed "
		    "already", (unsigned long long)c->seq) :
		    journal_mdb_error(j, mrc, "writing the certificate index");
		goto out;
	}
	if (c->parsed) {
		inv_expiry_key(c->not_after, c->seq, ekey);
		if ((rc = inv_put_key(j, txn, j->inv.idx, ekey, sizeof(ekey))) != 0)
			goto out;
	}
	if ((rc = inv_attr_prefix(INV_KIND_PROFILE, c->profile, akey, &alen)) != 0)
		goto out;
	journal_be64_put(akey + alen, c->seq);
	if ((rc = inv_put_key(j, txn, j->inv.idx, akey, alen + 8)) != 0)
		goto out;
	if ((rc = inv_attr_prefix(INV_KIND_CLIENT, c->client_subject, akey, &alen)) != 0)
		goto out;
	journal_be64_put(akey + alen, c->seq);
	if ((rc = inv_put_key(j, txn, j->inv.idx, akey, alen + 8)) != 0)
		goto out;
	for (i = 0; i < c->n_sans; i++) {
		if (inv_san_repeats(c, i))
			continue;
		if (pre != NULL) {
			alen = pre->san[i].len;
			memcpy(akey, pre->san[i].key, alen);
		} else if ((rc = inv_attr_prefix(INV_KIND_SAN, c->sans[i].value, akey, &alen)) != 0) {
			goto out;
		}
		journal_be64_put(akey + alen, c->seq);
		if ((rc = inv_put_key(j, txn, j->inv.idx, akey, alen + 8)) != 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	if (c != NULL && pre != NULL) {
		c->sans = NULL;
		c->n_sans = 0;
	}
	journal_cert_free(c);
	return rc;
}

/* Index one record of the walk: results (with their intent) and legacy issuances. */
static int
inv_rebuild_one(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t *count)
{
	struct journal_record *intent = NULL;
	int rc;

	if (rec->type == JOURNAL_REC_ISSUANCE) {
		rc = inv_put(j, txn, rec, rec->seq, NULL, NULL);
	} else if (rec->type == JOURNAL_REC_RESULT) {
		if ((rc = journal_txn_get_hash(j, txn, rec->intent_seq, false, &intent)) != 0)
			return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "result %llu: its intent %llu is missing", (unsigned long long)rec->seq,
			    (unsigned long long)rec->intent_seq) : rc;
		rc = inv_put(j, txn, rec, rec->seq, intent, NULL);
		journal_record_free(intent);
	} else {
		return 0;
	}
	if (rc == 0)
		(*count)++;
	return rc;
}

int
inv_rebuild(struct journal *j, MDB_txn *txn, uint64_t *count)
{
	MDB_dbi dbs[2] = { j->inv.idx, j->inv.meta };
	MDB_val mk = { sizeof(inv_meta_key) - 1, (void *)(uintptr_t)inv_meta_key }, mv;
	struct journal_record *rec = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t version = INV_VERSION;
	size_t i;
	int rc, mrc;

	*count = 0;
	if (!j->inv.ready)
		return sd_error_set(SD_E_JOURNAL, "certificate index: not open");
	for (i = 0; i < 2; i++)
		if ((mrc = mdb_drop(txn, dbs[i], 0)) != 0)
			return journal_mdb_error(j, mrc, "emptying the certificate index");
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* Only results and issuances matter: a type byte at offset 5 says which, without decoding. */
		if (v.mv_size > 5 && ((const uint8_t *)v.mv_data)[5] != JOURNAL_REC_RESULT &&
		    ((const uint8_t *)v.mv_data)[5] != JOURNAL_REC_ISSUANCE)
			continue;
		if ((rc = journal_record_decode_nohash(v.mv_data, v.mv_size, &rec)) != 0)
			goto out;
		if ((rc = inv_rebuild_one(j, txn, rec, count)) != 0)
			goto out;
		journal_record_free(rec);
		rec = NULL;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the records");
		goto out;
	}
	mv.mv_size = 1;
	mv.mv_data = &version;
	if ((mrc = mdb_put(txn, j->inv.meta, &mk, &mv, 0)) != 0) {
		rc = journal_mdb_error(j, mrc, "writing the certificate index");
		goto out;
	}
	rc = 0;
out:
	journal_record_free(rec);
	mdb_cursor_close(cur);
	return rc;
}
