/*
 * What one entry of a batch writes into the write transaction: its record
 * under the next seq, chained to the tail; its index entry (serials,
 * results, revocations, crls or checkpoints), refused when the store disagrees
 * with the signer; and the Merkle nodes it completes. A checkpoint's record is built
 * and signed here, under the writer lock, so that nothing slips in between.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

static int
journal_serial_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val sk, v;
	int mrc;

	sk.mv_size = rec->serial_len;
	sk.mv_data = rec->serial;
	journal_key(key, seq, &v);
	if ((mrc = mdb_put(txn, j->serials, &sk, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST) {
		sd_hex_encode(rec->serial, rec->serial_len, hex);
		return sd_error_set(SD_E_INTERNAL, "journal: serial %s is already journaled (record %llu)",
		    hex, v.mv_size == JOURNAL_SEQ_LEN ? (unsigned long long)journal_be64_get(v.mv_data) : 0ULL);
	}
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "indexing a serial");
}

/*
 * The intent that rec (a result or an unresolved record, at seq) closes: an
 * earlier intent of its serial, and with tbs of its TBS hash too. what names
 * rec's type in messages. Errors: SD_E_INVAL, those of journal_txn_get_hash().
 */
static int
journal_closed_intent(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq, bool tbs,
    const char *what)
{
	struct journal_record *intent = NULL;
	int rc;

	if (rec->intent_seq == 0 || rec->intent_seq >= seq)
		return sd_error_set(SD_E_INVAL, "%s: intent %llu is not an earlier record", what,
		    (unsigned long long)rec->intent_seq);
	/* Only its type, serial and TBS hash are read: no need to hash it. */
	if ((rc = journal_txn_get_hash(j, txn, rec->intent_seq, false, &intent)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_INVAL, "%s: no record %llu", what,
		    (unsigned long long)rec->intent_seq) : rc;
	if (!journal_rec_is_intent(intent->type) || intent->serial_len != rec->serial_len ||
	    memcmp(intent->serial, rec->serial, rec->serial_len) != 0 ||
	    (tbs && memcmp(intent->tbs_sha256, rec->tbs_sha256, JOURNAL_HASH_LEN) != 0))
		rc = sd_error_set(SD_E_INVAL, "%s: record %llu is not the intent of this serial%s", what,
		    (unsigned long long)rec->intent_seq, tbs ? " and TBS" : "");
	journal_record_free(intent);
	return rc;
}

/* A result must complete an earlier intent of its serial that has no result yet. */
static int
journal_result_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq)
{
	uint8_t ikey[JOURNAL_SEQ_LEN], rkey[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	int rc, mrc;

	if ((rc = journal_closed_intent(j, txn, rec, seq, false, "result")) != 0)
		return rc;
	journal_key(ikey, rec->intent_seq, &k);
	journal_key(rkey, seq, &v);
	if ((mrc = mdb_put(txn, j->results, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		return sd_error_set(SD_E_INTERNAL, "journal: intent %llu already has its result (record %llu)",
		    (unsigned long long)rec->intent_seq,
		    v.mv_size == JOURNAL_SEQ_LEN ? (unsigned long long)journal_be64_get(v.mv_data) : 0ULL);
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "indexing a result");
}

/*
 * An unresolved record closes an earlier intent of its serial and TBS that
 * has no result; it is not indexed (the start-up scan writes one per intent).
 */
static int
journal_unresolved_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq)
{
	uint8_t ikey[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	int rc, mrc;

	if ((rc = journal_closed_intent(j, txn, rec, seq, true, "unresolved")) != 0)
		return rc;
	journal_key(ikey, rec->intent_seq, &k);
	if ((mrc = mdb_get(txn, j->results, &k, &v)) == 0)
		return sd_error_set(SD_E_INVAL, "unresolved: intent %llu has its result", (unsigned long long)rec->intent_seq);
	return mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "reading the result index");
}

/* Build a checkpoint record for the tree of t->seq records: the signer is asked under the writer lock. */
static int
journal_checkpoint_build(struct journal_entry *e, const struct journal_tail *t, struct journal_record *rec)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->type = JOURNAL_REC_CHECKPOINT;
	rec->time_ms = e->cp_time_ms;
	rec->tree_size = t->seq;
	if ((rc = merkle_frontier_root(&t->tree, rec->root_hash)) != 0)
		return rc;
	free(e->note);
	e->note = NULL;
	if ((rc = e->sign(e->sign_ctx, t->seq, rec->root_hash, e->cp_time_ms, &e->note)) != 0)
		return rc;
	if (e->note == NULL)
		return sd_error_set(SD_E_INTERNAL, "checkpoint signer returned no note");
	rec->note = e->note;
	return journal_record_check(rec);
}

/*
 * Write one entry into txn, advancing t on success. With nested, the writes
 * go through a child transaction, so that a failure leaves txn as it was.
 * Without, they go straight into txn (a child copies every page it touches):
 * a failure before the first write leaves txn untouched, any later one sets
 * *spoiled, and txn must then be aborted.
 */
int
journal_entry_put(struct journal *j, MDB_txn *txn, struct journal_entry *e, struct journal_tail *t, bool nested,
    bool *spoiled)
{
	struct journal_record cp;
	const struct journal_record *rec = e->rec;
	uint8_t done[MERKLE_LEVELS][MERKLE_HASH_LEN], hash[JOURNAL_HASH_LEN], leaf[MERKLE_HASH_LEN];
	uint8_t key[JOURNAL_SEQ_LEN], tsz[JOURNAL_SEQ_LEN];
	struct merkle_frontier tree;
	uint8_t *buf = NULL;
	MDB_txn *child = NULL, *w;
	MDB_val k, v;
	size_t len = 0;
	uint64_t seq;
	unsigned n;
	int rc, mrc;

	*spoiled = false;
	if (t->seq == UINT64_MAX) {
		rc = sd_error_set(SD_E_JOURNAL_FULL, "journal: sequence numbers exhausted");
		goto out;
	}
	seq = t->seq + 1;
	if (rec == NULL) {
		if ((rc = journal_checkpoint_build(e, t, &cp)) != 0)
			goto out;
		rec = &cp;
	}
	if ((rc = journal_record_encode_at(rec, seq, t->hash, &buf, &len)) != 0)
		goto out;
	if ((rc = journal_record_hashes(buf, len, hash, leaf)) != 0)
		goto out;
	if (nested) {
		if ((mrc = mdb_txn_begin(j->env, txn, 0, &child)) != 0) {
			child = NULL;
			rc = journal_mdb_error(j, mrc, "beginning a nested transaction");
			goto out;
		}
		w = child;
	} else {
		w = txn;
		*spoiled = true;	/* until every write below has succeeded */
	}
	journal_key(key, seq, &k);
	v.mv_size = len;
	v.mv_data = buf;
	if ((mrc = mdb_put(w, j->records, &k, &v, MDB_APPEND)) != 0) {
		rc = mrc == MDB_KEYEXIST ? sd_error_set(SD_E_JOURNAL, "journal: record %llu already exists",
		    (unsigned long long)seq) : journal_mdb_error(j, mrc, "writing a record");
		goto out;
	}
	switch (rec->type) {
	case JOURNAL_REC_ISSUANCE:
	case JOURNAL_REC_INTENT:
	case JOURNAL_REC_INTENT_TBS:
		rc = journal_serial_put(j, w, rec, seq);
		break;
	case JOURNAL_REC_UNRESOLVED:
		rc = journal_unresolved_put(j, w, rec, seq);
		break;
	case JOURNAL_REC_RESULT:
		rc = journal_result_put(j, w, rec, seq);
		break;
	case JOURNAL_REC_REVOCATION:
		rc = journal_revocation_put(j, w, rec, seq);
		break;
	case JOURNAL_REC_CRL:
		rc = journal_crl_put(j, w, rec, seq);
		break;
	case JOURNAL_REC_CHECKPOINT:
		journal_key(key, seq, &k);
		journal_be64_put(tsz, rec->tree_size);
		v.mv_size = JOURNAL_SEQ_LEN;
		v.mv_data = tsz;
		mrc = mdb_put(w, j->checkpoints, &k, &v, MDB_APPEND);
		rc = mrc == 0 ? 0 : journal_mdb_error(j, mrc, "indexing a checkpoint");
		break;
	default:
		rc = 0;
		break;
	}
	if (rc != 0)
		goto out;
	tree = t->tree;
	if ((rc = merkle_frontier_add(&tree, leaf, done, &n)) != 0 ||
	    (rc = journal_nodes_put(j, w, seq, done, n)) != 0)
		goto out;
	if (child != NULL) {
		mrc = mdb_txn_commit(child);
		child = NULL;
		if (mrc != 0) {
			rc = journal_mdb_error(j, mrc, "committing a nested transaction");
			goto out;
		}
	}
	*spoiled = false;
	t->seq = seq;
	memcpy(t->hash, hash, JOURNAL_HASH_LEN);
	t->tree = tree;
	e->seq = seq;
	rc = 0;
out:
	if (child != NULL)
		mdb_txn_abort(child);
	free(buf);
	return rc;
}
