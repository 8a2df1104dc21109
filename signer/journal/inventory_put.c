/*
 * Writing the certificate index: its databases and meta entries, one
 * certificate's entries, the rebuild from the records (signerctl certs
 * reindex, or a writer's open of a journal that has no index yet), and a
 * write transaction of the index's own.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"

static const char inv_version_key[] = "version";
static const char inv_through_key[] = "through";

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

/* The meta entry name in txn (*found false when absent). */
static int
inv_meta_get(struct journal *j, MDB_txn *txn, const char *name, MDB_val *v, bool *found)
{
	MDB_val k = { strlen(name), (void *)(uintptr_t)name };
	int mrc;

	*found = false;
	if ((mrc = mdb_get(txn, j->inv.meta, &k, v)) == MDB_NOTFOUND)
		return 0;
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the certificate index");
	*found = true;
	return 0;
}

int
inv_through(struct journal *j, MDB_txn *txn, bool *complete, uint64_t *through)
{
	MDB_val v;
	uint8_t version;
	bool found;
	int rc;

	*complete = false;
	*through = 0;
	if (!j->inv.ready)
		return 0;
	if ((rc = inv_meta_get(j, txn, inv_version_key, &v, &found)) != 0 || !found || v.mv_size != 1)
		return rc;
	version = *(const uint8_t *)v.mv_data;
	if (version == INV_VERSION_INLINE) {
		*complete = true;
		return journal_db_last_seq(j, txn, j->records, JOURNAL_SEQ_LEN, "records", through);
	}
	if (version != INV_VERSION)
		return 0;	/* another version: rebuilt by a writer's open */
	if ((rc = inv_meta_get(j, txn, inv_through_key, &v, &found)) != 0)
		return rc;
	if (!found || v.mv_size != JOURNAL_SEQ_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: no record number it is complete up to");
	*through = journal_be64_get(v.mv_data);
	*complete = true;
	return 0;
}

int
inv_through_put(struct journal *j, MDB_txn *txn, uint64_t through)
{
	MDB_val vk = { sizeof(inv_version_key) - 1, (void *)(uintptr_t)inv_version_key };
	MDB_val tk = { sizeof(inv_through_key) - 1, (void *)(uintptr_t)inv_through_key }, v;
	uint8_t version = INV_VERSION, seq[JOURNAL_SEQ_LEN];
	int mrc;

	journal_be64_put(seq, through);
	v.mv_size = sizeof(seq);
	v.mv_data = seq;
	if ((mrc = mdb_put(txn, j->inv.meta, &tk, &v, 0)) == 0) {
		v.mv_size = 1;
		v.mv_data = &version;
		mrc = mdb_put(txn, j->inv.meta, &vk, &v, 0);
	}
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "writing the certificate index");
}

/* One key; MDB_NOOVERWRITE, since an entry is written once. */
static int
inv_put_one(struct journal *j, MDB_txn *txn, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	MDB_val k = { klen, (void *)(uintptr_t)key }, v = { vlen, (void *)(uintptr_t)val };
	int mrc;

	if (klen < 8)
		abort();	/* every key ends with its seq */
	if ((mrc = mdb_put(txn, j->inv.idx, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		return sd_error_set(SD_E_INTERNAL, "certificate index: record %llu is indexed already",
		    (unsigned long long)journal_be64_get(key + klen - 8));
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "writing the certificate index");
}

int
inv_put(struct journal *j, MDB_txn *txn, const struct journal_cert *c)
{
	uint8_t ckey[INV_CERT_KEY_LEN];
	struct inv_key *keys = NULL;
	uint8_t *buf = NULL;
	size_t len, n, i;
	int rc;

	if (!j->inv.ready)
		return sd_error_set(SD_E_JOURNAL, "certificate index: not open");
	if ((rc = inv_entry_encode(c, &buf, &len)) != 0 || (rc = inv_entry_keys(c, &keys, &n)) != 0)
		goto out;
	inv_cert_key(c->seq, ckey);
	if ((rc = inv_put_one(j, txn, ckey, sizeof(ckey), buf, len)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = inv_put_one(j, txn, keys[i].key, keys[i].len, NULL, 0)) != 0)
			goto out;
out:
	free(keys);
	free(buf);
	return rc;
}

int
inv_rebuild(struct journal *j, MDB_txn *txn, uint64_t *count)
{
	MDB_dbi dbs[2] = { j->inv.idx, j->inv.meta };
	struct journal_record *rec = NULL;
	struct journal_cert *c = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t last = 0;
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
		if ((rc = journal_key_seq(&k, &last)) != 0)
			goto out;
		/* Only results and issuances matter: a type byte at offset 5 says which, without decoding. */
		if (v.mv_size > 5 && ((const uint8_t *)v.mv_data)[5] != JOURNAL_REC_RESULT &&
		    ((const uint8_t *)v.mv_data)[5] != JOURNAL_REC_ISSUANCE)
			continue;
		if ((rc = journal_record_decode_nohash(v.mv_data, v.mv_size, &rec)) != 0 ||
		    (rc = inv_record_entry(j, txn, rec, &c)) != 0 || (c != NULL && (rc = inv_put(j, txn, c)) != 0))
			goto out;
		if (c != NULL)
			(*count)++;
		journal_cert_free(c);
		c = NULL;
		journal_record_free(rec);
		rec = NULL;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the records");
		goto out;
	}
	rc = inv_through_put(j, txn, last);
out:
	journal_cert_free(c);
	journal_record_free(rec);
	mdb_cursor_close(cur);
	return rc;
}

int
inv_write_txn(struct journal *j, inv_txn_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	bool commit;
	int rc, mrc;

	for (;;) {
		if ((rc = journal_txn_begin(j, 0, &txn)) != 0)
			return rc;
		commit = true;
		if ((rc = fn(j, txn, ctx, &commit)) == 0 && commit) {
			mrc = mdb_txn_commit(txn);
			txn = NULL;
			rc = mrc == 0 ? 0 : journal_mdb_error(j, mrc, "committing the certificate index");
		}
		if (txn != NULL)
			mdb_txn_abort(txn);
		txn = NULL;
		journal_map_unlock(j);
		/* The map is too small: grow it and start again (the old index's pages are free only after a commit). */
		if (rc != SD_E_JOURNAL_FULL || (rc = journal_grow(j)) != 0)
			return rc;
	}
}
