/*
 * Reading records back inside a transaction, each checked against the key
 * it is stored under, and the tail check: on open the last record must
 * decode, sit under its own seq and chain to the record before it; before
 * each batch a writer follows the tail another process may have appended.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"

/* Decode v stored under seq, which it must carry; hash: compute hash and leaf_hash too. */
static int
journal_decode_at(const MDB_val *v, uint64_t seq, const char *what, bool hash, struct journal_record **out)
{
	struct journal_record *rec = NULL;
	char detail[256];
	int rc;

	*out = NULL;
	rc = hash ? journal_record_decode(v->mv_data, v->mv_size, &rec) :
	    journal_record_decode_nohash(v->mv_data, v->mv_size, &rec);
	if (rc != 0) {
		if (rc != SD_E_JOURNAL_CORRUPT)
			return rc;
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "%s %llu is undecodable: %s", what,
		    (unsigned long long)seq, detail);
	}
	if (rec->seq != seq) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "%s stored under key %llu carries seq %llu (records reordered or moved)", what,
		    (unsigned long long)seq, (unsigned long long)rec->seq);
		journal_record_free(rec);
		return rc;
	}
	*out = rec;
	return 0;
}

int
journal_txn_get_hash(struct journal *j, MDB_txn *txn, uint64_t seq, bool hash, struct journal_record **out)
{
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	int mrc;

	*out = NULL;
	journal_key(key, seq, &k);
	if ((mrc = mdb_get(txn, j->records, &k, &v)) == MDB_NOTFOUND)
		return sd_error_set(SD_E_NOT_FOUND, "journal: no record %llu", (unsigned long long)seq);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading a record");
	return journal_decode_at(&v, seq, "record", hash, out);
}

int
journal_txn_get(struct journal *j, MDB_txn *txn, uint64_t seq, struct journal_record **out)
{
	return journal_txn_get_hash(j, txn, seq, true, out);
}

/*
 * The last seq and hash in txn, checking that the tail record decodes, sits
 * under its own seq and chains to the record before it.
 */
int
journal_tail_read(struct journal *j, MDB_txn *txn, uint64_t *seq_out, uint8_t hash[JOURNAL_HASH_LEN])
{
	static const uint8_t zero[JOURNAL_HASH_LEN];
	struct journal_record *last = NULL, *prev = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0, pseq = 0;
	int rc, mrc;

	*seq_out = 0;
	memset(hash, 0, JOURNAL_HASH_LEN);
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == MDB_NOTFOUND) {
		rc = 0;
		goto out;
	}
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the last record");
		goto out;
	}
	if ((rc = journal_key_seq(&k, &seq)) != 0)
		goto out;
	if ((rc = journal_decode_at(&v, seq, "tail record", true, &last)) != 0)
		goto out;
	if (seq == 1) {
		if (memcmp(last->prev_hash, zero, JOURNAL_HASH_LEN) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "tail record 1: prev_hash is not zero");
			goto out;
		}
	} else {
		mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		if (mrc != 0 && mrc != MDB_NOTFOUND) {
			rc = journal_mdb_error(j, mrc, "reading the record before the tail");
			goto out;
		}
		if (mrc == MDB_NOTFOUND || journal_key_seq(&k, &pseq) != 0 || pseq != seq - 1) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu before tail record %llu is missing",
			    (unsigned long long)(seq - 1), (unsigned long long)seq);
			goto out;
		}
		if ((rc = journal_decode_at(&v, pseq, "record", true, &prev)) != 0)
			goto out;
		if (memcmp(last->prev_hash, prev->hash, JOURNAL_HASH_LEN) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "tail record %llu does not chain to record %llu (one of them was modified)",
			    (unsigned long long)seq, (unsigned long long)pseq);
			goto out;
		}
	}
	*seq_out = seq;
	memcpy(hash, last->hash, JOURNAL_HASH_LEN);
	rc = 0;
out:
	mdb_cursor_close(cur);
	journal_record_free(last);
	journal_record_free(prev);
	return rc;
}

/* Another process may have appended since our last commit: follow its tail. */
int
journal_tail_sync(struct journal *j, MDB_txn *txn, struct journal_tail *t)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the last record");
	if (mrc == 0 && (rc = journal_key_seq(&k, &seq)) != 0)
		return rc;
	if (seq == t->seq)
		return 0;
	if (seq < t->seq)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: records after %llu vanished (this process appended %llu)",
		    (unsigned long long)seq, (unsigned long long)t->seq);
	if ((rc = journal_tail_read(j, txn, &t->seq, t->hash)) != 0)
		return rc;
	return journal_tree_load(j, txn, t->seq, &t->tree);
}
