/*
 * The start-up scan after a crash (journal_resolve_intents()): each intent
 * of the last run that has no result gets an unresolved record, so that the
 * journal says in so many words that its outcome is unknown. The walk goes
 * backwards from the tail to the last service start or stop record: a run
 * that stopped cleanly left nothing open, and a crashed run's records are
 * the only ones to read.
 */
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"

#define JU_DETAIL "found without a result at start-up"

struct ju_scan {
	struct journal_record *open;	/* intents without a result, newest first (serial owned) */
	size_t n_open, cap_open;
	uint64_t *closed;		/* intents an unresolved record closed already */
	size_t n_closed, cap_closed;
};

static int
ju_grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t next = *cap == 0 ? 16 : *cap * 2;
	void *grown;

	if (n < *cap)
		return 0;
	if (next > SIZE_MAX / size || (grown = realloc(*p, next * size)) == NULL)
		return SD_E_NOMEM;
	*p = grown;
	*cap = next;
	return 0;
}

static bool
ju_closed(const struct ju_scan *s, uint64_t seq)
{
	size_t i;

	for (i = 0; i < s->n_closed; i++) {
		if (s->closed[i] == seq)
			return true;
	}
	return false;
}

/* Intent rec (at seq) is open unless the results index or an unresolved record says otherwise. */
static int
ju_intent(struct journal *j, MDB_txn *txn, struct ju_scan *s, const struct journal_record *rec)
{
	uint8_t key[JOURNAL_SEQ_LEN];
	struct journal_record *u;
	MDB_val k, v;
	int mrc, rc;

	journal_key(key, rec->seq, &k);
	if ((mrc = mdb_get(txn, j->results, &k, &v)) == 0 || ju_closed(s, rec->seq))
		return 0;
	if (mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the result index");
	if ((rc = ju_grow((void **)&s->open, &s->cap_open, s->n_open, sizeof(*s->open))) != 0)
		return rc;
	u = &s->open[s->n_open];
	memset(u, 0, sizeof(*u));
	u->type = JOURNAL_REC_UNRESOLVED;
	u->intent_seq = rec->seq;
	if ((u->serial = malloc(rec->serial_len)) == NULL)
		return SD_E_NOMEM;
	memcpy(u->serial, rec->serial, rec->serial_len);
	u->serial_len = rec->serial_len;
	memcpy(u->tbs_sha256, rec->tbs_sha256, JOURNAL_HASH_LEN);
	s->n_open++;
	return 0;
}

/* Walk back from the tail; *stop once the last run's start (or a clean stop) is reached. */
static int
ju_visit(struct journal *j, MDB_txn *txn, struct ju_scan *s, const MDB_val *v, bool *stop)
{
	struct journal_record *rec = NULL;
	uint8_t type;
	int rc;

	*stop = false;
	if (v->mv_size <= 5)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: a record of %zu bytes", v->mv_size);
	type = ((const uint8_t *)v->mv_data)[5];
	if (type != JOURNAL_REC_SERVICE && type != JOURNAL_REC_UNRESOLVED && !journal_rec_is_intent(type))
		return 0;
	if ((rc = journal_record_decode_nohash(v->mv_data, v->mv_size, &rec)) != 0)
		return rc;
	if (type == JOURNAL_REC_SERVICE) {
		*stop = rec->event == JOURNAL_SERVICE_START || rec->event == JOURNAL_SERVICE_STOP;
	} else if (type == JOURNAL_REC_UNRESOLVED) {
		if ((rc = ju_grow((void **)&s->closed, &s->cap_closed, s->n_closed, sizeof(*s->closed))) == 0)
			s->closed[s->n_closed++] = rec->intent_seq;
	} else {
		rc = ju_intent(j, txn, s, rec);
	}
	journal_record_free(rec);
	return rc;
}

static int
ju_scan(struct journal *j, struct ju_scan *s)
{
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	bool stop = false;
	int rc, mrc;

	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST); mrc == 0 && !stop; mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if ((rc = ju_visit(j, txn, s, &v, &stop)) != 0)
			goto out;
	}
	rc = mrc == 0 || mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "reading records");
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}

int
journal_resolve_intents(struct journal *j, int64_t time_ms, uint64_t *count)
{
	struct ju_scan s = { NULL, 0, 0, NULL, 0, 0 };
	const struct journal_record **recs = NULL;
	uint64_t first;
	size_t i;
	int rc;

	if (count != NULL)
		*count = 0;
	if (j == NULL || count == NULL)
		return sd_error_set(SD_E_INVAL, "journal_resolve_intents: NULL argument");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	if ((rc = ju_scan(j, &s)) != 0 || s.n_open == 0)
		goto out;
	if ((recs = calloc(s.n_open, sizeof(const struct journal_record *))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* Found newest first; journaled in the order of their intents. */
	for (i = 0; i < s.n_open; i++) {
		s.open[i].time_ms = time_ms;
		s.open[i].detail = (char *)(uintptr_t)JU_DETAIL;
		recs[s.n_open - 1 - i] = &s.open[i];
	}
	if ((rc = journal_append_batch(j, recs, s.n_open, &first)) == 0)
		*count = s.n_open;
out:
	for (i = 0; i < s.n_open; i++)
		free(s.open[i].serial);
	free(s.open);
	free(s.closed);
	free(recs);
	return rc;
}
