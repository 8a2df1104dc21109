/*
 * CRL records: each CRL signed is journaled before it is published, and
 * its cRLNumber must be greater than every earlier CRL's. The crls index
 * (be64 seq of the CRL record -> be64 its number, MDB_APPEND) keeps the
 * last number at hand; it is checked and written in the append's own
 * transaction (journal_put.c), so two CRLs of one number racing each other,
 * in one process or two, cannot both be written.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "journal_internal.h"

int
journal_crl_txn_last(struct journal *j, MDB_txn *txn, uint64_t *number, uint64_t *seq)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, mrc;

	*number = 0;
	*seq = 0;
	/* A journal from before CRL records, opened read-only: it has none. */
	if (!j->has_crls)
		return 0;
	if ((mrc = mdb_cursor_open(txn, j->crls, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (mrc == MDB_NOTFOUND) {
		rc = 0;
	} else if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the crls index");
	} else if (k.mv_size != JOURNAL_SEQ_LEN || v.mv_size != JOURNAL_SEQ_LEN) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "crls index: entry of %zu and %zu bytes, not a seq and a number",
		    k.mv_size, v.mv_size);
	} else {
		*seq = journal_be64_get(k.mv_data);
		*number = journal_be64_get(v.mv_data);
		rc = 0;
	}
	mdb_cursor_close(cur);
	return rc;
}

int
journal_crl_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq)
{
	uint8_t key[JOURNAL_SEQ_LEN], num[JOURNAL_SEQ_LEN];
	uint64_t last = 0, last_seq = 0;
	MDB_val k, v;
	int rc, mrc;

	if ((rc = journal_crl_txn_last(j, txn, &last, &last_seq)) != 0)
		return rc;
	if (rec->crl_number <= last)
		return sd_error_set(SD_E_INVAL, "crl: number %llu is not greater than %llu, the number of record %llu",
		    (unsigned long long)rec->crl_number, (unsigned long long)last, (unsigned long long)last_seq);
	journal_key(key, seq, &k);
	journal_be64_put(num, rec->crl_number);
	v.mv_size = JOURNAL_SEQ_LEN;
	v.mv_data = num;
	mrc = mdb_put(txn, j->crls, &k, &v, MDB_APPEND);
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "indexing a CRL");
}

int
journal_crl_append(struct journal *j, const struct journal_crl *in, uint64_t *seq_out)
{
	struct journal_record rec;
	struct timespec now;

	if (seq_out != NULL)
		*seq_out = 0;
	if (j == NULL || in == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_crl_append: NULL argument");
	if (clock_gettime(CLOCK_REALTIME, &now) != 0)
		return sd_error_set(SD_E_INTERNAL, "journal: no wall clock");
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CRL;
	/* When the CRL was journaled; its own times are this_update and next_update. */
	rec.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	rec.crl_number = in->number;
	rec.crl_base_number = in->base_number;
	rec.crl_this_update = in->this_update;
	rec.crl_next_update = in->next_update;
	rec.crl_entries = in->entries;
	memcpy(rec.crl_sha256, in->sha256, JOURNAL_HASH_LEN);
	/* journal_append() checks the fields first, the number against the last in its transaction. */
	return journal_append(j, &rec, seq_out);
}

int
journal_crl_last(struct journal *j, uint64_t *number, uint64_t *seq)
{
	MDB_txn *txn = NULL;
	int rc;

	if (number != NULL)
		*number = 0;
	if (seq != NULL)
		*seq = 0;
	if (j == NULL || number == NULL || seq == NULL)
		return sd_error_set(SD_E_INVAL, "journal_crl_last: NULL argument");
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_crl_txn_last(j, txn, number, seq);
	journal_read_end(j, txn);
	return rc;
}
