/*
 * The certificate index trails the journal (inventory.h): appends write no
 * index entries; a batch indexes the records after "through". A batch
 * derives its entries in a read transaction and sorts their keys there,
 * outside every lock, so that writing it only puts keys.
 *
 * A writer handle may run an indexing thread. Every interval it derives a
 * batch and leaves it pending; the next group commit takes it and writes
 * it in a child of its own write transaction, so that the index shares the
 * journal's durable commit instead of adding one (journal_commit.c). A
 * batch no commit took by the next interval (an idle journal), a larger
 * backlog, and journal_index_sync() (queries, open, close) write their own
 * transaction. Each write checks "through" first: a batch derived from an
 * index that has moved since is dropped and derived again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory.h"
#include "journal_internal.h"

#define INV_BATCH_RECORDS 4096	/* records per write transaction of its own */
#define INV_PENDING_RECORDS 1024	/* at most this many ride on a group commit */

/* One key of a batch and its value (empty but for 'C' keys), in one allocation. */
struct inv_item {
	uint8_t *key;
	size_t klen, vlen;
};

struct inv_batch {
	struct inv_item *items;
	size_t n, cap;
	uint64_t from, to;	/* "through" when derived, and the last record the batch covers */
};

static void
inv_batch_clear(struct inv_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->items[i].key);
	b->n = 0;
}

static int
inv_batch_add(struct inv_batch *b, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct inv_item *grown;
	size_t cap;

	if (b->n == b->cap) {
		cap = b->cap != 0 ? 2 * b->cap : 256;
		if (cap > SIZE_MAX / sizeof(*grown) || (grown = realloc(b->items, cap * sizeof(*grown))) == NULL)
			return SD_E_NOMEM;
		b->items = grown;
		b->cap = cap;
	}
	if ((b->items[b->n].key = malloc(klen + vlen)) == NULL)
		return SD_E_NOMEM;
	memcpy(b->items[b->n].key, key, klen);
	if (vlen > 0)
		memcpy(b->items[b->n].key + klen, val, vlen);
	b->items[b->n].klen = klen;
	b->items[b->n].vlen = vlen;
	b->n++;
	return 0;
}

/* Every key of c's entry. */
static int
inv_batch_add_cert(struct inv_batch *b, const struct journal_cert *c)
{
	uint8_t ckey[INV_CERT_KEY_LEN];
	struct inv_key *keys = NULL;
	uint8_t *buf = NULL;
	size_t len, n, i;
	int rc;

	if ((rc = inv_entry_encode(c, &buf, &len)) != 0 || (rc = inv_entry_keys(c, &keys, &n)) != 0)
		goto out;
	inv_cert_key(c->seq, ckey);
	if ((rc = inv_batch_add(b, ckey, sizeof(ckey), buf, len)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = inv_batch_add(b, keys[i].key, keys[i].len, NULL, 0)) != 0)
			goto out;
out:
	free(keys);
	free(buf);
	return rc;
}

/* LMDB's default key order: bytes, then length. */
static int
inv_item_cmp(const void *pa, const void *pb)
{
	const struct inv_item *a = pa, *b = pb;
	int d = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);

	return d != 0 ? d : (a->klen > b->klen) - (a->klen < b->klen);
}

/* Derive and sort the entries of up to max records after "through" (*complete false: no index). */
static int
inv_batch_derive(struct journal *j, struct inv_batch *b, size_t max, bool *complete)
{
	struct journal_record *rec = NULL;
	struct journal_cert *c = NULL;
	uint8_t start[JOURNAL_SEQ_LEN];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t seq;
	size_t n = 0;
	int rc, mrc;

	inv_batch_clear(b);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	if ((rc = inv_through(j, txn, complete, &b->from)) != 0 || !*complete)
		goto out;
	b->to = b->from;
	if (b->from == UINT64_MAX)
		goto out;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	journal_key(start, b->from + 1, &k);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && n < max;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
		if ((rc = journal_key_seq(&k, &seq)) != 0)
			goto out;
		/* Only results and issuances are indexed: the type byte at offset 5 says which, without decoding. */
		if (v.mv_size <= 5 || ((const uint8_t *)v.mv_data)[5] == JOURNAL_REC_RESULT ||
		    ((const uint8_t *)v.mv_data)[5] == JOURNAL_REC_ISSUANCE) {
			if ((rc = journal_record_decode_nohash(v.mv_data, v.mv_size, &rec)) != 0 ||
			    (rc = inv_record_entry(j, txn, rec, &c)) != 0 || (c != NULL && (rc = inv_batch_add_cert(b, c)) != 0))
				goto out;
			journal_cert_free(c);
			c = NULL;
			journal_record_free(rec);
			rec = NULL;
		}
		b->to = seq;
	}
	rc = mrc == 0 || mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the records");
	/* An empty batch has no array: qsort() may not be handed NULL, even for nothing. */
	if (rc == 0 && b->n > 1)
		qsort(b->items, b->n, sizeof(*b->items), inv_item_cmp);
out:
	journal_cert_free(c);
	journal_record_free(rec);
	mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}

/*
 * Put b into txn, unless the index moved since b was derived (*raced: a
 * reindex, a batch written meanwhile, a writer of another process).
 */
static int
inv_batch_put(struct journal *j, MDB_txn *txn, const struct inv_batch *b, bool *raced)
{
	MDB_val k, v;
	uint64_t through;
	bool complete;
	size_t i;
	int rc, mrc;

	*raced = false;
	if ((rc = inv_through(j, txn, &complete, &through)) != 0)
		return rc;
	if (!complete || through != b->from) {
		*raced = true;
		return 0;
	}
	for (i = 0; i < b->n; i++) {
		k.mv_size = b->items[i].klen;
		k.mv_data = b->items[i].key;
		v.mv_size = b->items[i].vlen;
		v.mv_data = b->items[i].key + b->items[i].klen;
		if ((mrc = mdb_put(txn, j->inv.idx, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
			return sd_error_set(SD_E_INTERNAL, "certificate index: record %llu is indexed already",
			    (unsigned long long)journal_be64_get(b->items[i].key + b->items[i].klen - 8));
		if (mrc != 0)
			return journal_mdb_error(j, mrc, "writing the certificate index");
	}
	return inv_through_put(j, txn, b->to);
}

struct inv_write {
	struct inv_batch *b;
	bool raced;
};

static int
inv_batch_write_fn(struct journal *j, MDB_txn *txn, void *ctx, bool *commit)
{
	struct inv_write *w = ctx;
	int rc = inv_batch_put(j, txn, w->b, &w->raced);

	*commit = !w->raced;
	return rc;
}

/* Write b in a transaction of its own. */
static int
inv_batch_write(struct journal *j, struct inv_batch *b, bool *raced)
{
	struct inv_write w = { b, false };
	int rc = inv_write_txn(j, inv_batch_write_fn, &w);

	*raced = w.raced;
	return rc;
}

/* b is in the index now. */
static void
inv_batch_done(struct journal *j, const struct inv_batch *b)
{
	journal_mutex_lock(&j->queue_lock);
	j->indexed_through = b->to;
	j->stats.index_batches += b->to != b->from;
	journal_mutex_unlock(&j->queue_lock);
}

static void
inv_batch_free(struct inv_batch *b)
{
	if (b == NULL)
		return;
	inv_batch_clear(b);
	free(b->items);
	free(b);
}

/* The pending batch, taken back from the committers (NULL when there is none). */
static struct inv_batch *
inv_pending_take(struct journal *j)
{
	struct inv_batch *b;

	journal_mutex_lock(&j->queue_lock);
	b = j->index_pending;
	j->index_pending = NULL;
	journal_mutex_unlock(&j->queue_lock);
	return b;
}

struct inv_batch *
inv_piggyback_take(struct journal *j)
{
	struct inv_batch *b;

	journal_mutex_lock(&j->queue_lock);
	b = j->index_pending;
	j->index_pending = NULL;
	j->index_inflight = b != NULL;
	journal_mutex_unlock(&j->queue_lock);
	return b;
}

bool
inv_piggyback_put(struct journal *j, MDB_txn *txn, struct inv_batch *b)
{
	MDB_txn *child = NULL;
	bool raced = false;
	int rc;

	/* A child transaction: if the batch fails, the journal's records are committed without it. */
	if (mdb_txn_begin(j->env, txn, 0, &child) != 0)
		return false;
	if ((rc = inv_batch_put(j, child, b, &raced)) != 0 || raced || mdb_txn_commit(child) != 0) {
		if (rc != 0 || raced)
			mdb_txn_abort(child);
		return false;
	}
	return true;
}

void
inv_piggyback_done(struct journal *j, struct inv_batch *b, bool committed)
{
	if (b == NULL)
		return;
	if (committed)
		inv_batch_done(j, b);
	journal_mutex_lock(&j->queue_lock);
	j->stats.index_shared += committed;
	j->index_inflight = false;
	journal_mutex_unlock(&j->queue_lock);
	inv_batch_free(b);
}

int
journal_index_sync(struct journal *j)
{
	struct inv_batch b = { NULL, 0, 0, 0, 0 };
	uint64_t target;
	bool complete, raced;
	int rc = 0;

	if (j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_index_sync: NULL argument");
	if (j->readonly)
		return 0;
	journal_flush(j);
	journal_mutex_lock(&j->queue_lock);
	target = j->last_seq;
	complete = j->indexed_through >= target;
	journal_mutex_unlock(&j->queue_lock);
	if (complete)
		return 0;
	journal_mutex_lock(&j->index_lock);
	/* Derived again below, with whatever came since. */
	inv_batch_free(inv_pending_take(j));
	for (;;) {
		if ((rc = inv_batch_derive(j, &b, INV_BATCH_RECORDS, &complete)) != 0 || !complete)
			break;
		if (b.to != b.from) {
			if ((rc = inv_batch_write(j, &b, &raced)) != 0)
				break;
			if (raced)
				continue;
		}
		inv_batch_done(j, &b);
		if (b.to >= target || b.to == b.from)
			break;
	}
	journal_mutex_unlock(&j->index_lock);
	inv_batch_clear(&b);
	free(b.items);
	return rc;
}

void
inv_sync_failed(struct journal *j)
{
	journal_mutex_lock(&j->queue_lock);
	j->stats.index_failures++;
	journal_mutex_unlock(&j->queue_lock);
}

/*
 * One interval of the indexing thread: a pending batch no commit took is
 * written in its own transaction; then the records since are derived and
 * left pending for the next group commit (a larger backlog is written at
 * once, in batches of its own).
 */
static int
inv_indexer_tick(struct journal *j)
{
	struct inv_batch *b, *idle;
	bool complete, raced, busy;
	int rc = 0;

	journal_mutex_lock(&j->index_lock);
	if ((idle = inv_pending_take(j)) != NULL) {
		if ((rc = inv_batch_write(j, idle, &raced)) == 0 && !raced)
			inv_batch_done(j, idle);
		inv_batch_free(idle);
		goto out;
	}
	journal_mutex_lock(&j->queue_lock);
	/* A commit is writing the last batch: derived now, this one would only repeat it. */
	busy = j->index_inflight || j->indexed_through >= j->last_seq;
	journal_mutex_unlock(&j->queue_lock);
	if (busy)
		goto out;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = inv_batch_derive(j, b, INV_PENDING_RECORDS, &complete)) != 0 || !complete || b->to == b->from) {
		inv_batch_free(b);
		goto out;
	}
	if (b->to - b->from >= INV_PENDING_RECORDS) {
		inv_batch_free(b);
		journal_mutex_unlock(&j->index_lock);
		return journal_index_sync(j);
	}
	journal_mutex_lock(&j->queue_lock);
	j->index_pending = b;
	journal_mutex_unlock(&j->queue_lock);
out:
	journal_mutex_unlock(&j->index_lock);
	return rc;
}

static void *
inv_indexer_main(void *arg)
{
	struct journal *j = arg;
	struct timespec at;
	int err;

	journal_mutex_lock(&j->indexer_mutex);
	while (!j->indexer_stop) {
		if (clock_gettime(CLOCK_MONOTONIC, &at) != 0)
			abort();
		at.tv_nsec += (long)(j->indexer_interval_ms % 1000) * 1000000L;
		at.tv_sec += (time_t)(j->indexer_interval_ms / 1000) + at.tv_nsec / 1000000000L;
		at.tv_nsec %= 1000000000L;
		err = 0;
		while (!j->indexer_stop && err != ETIMEDOUT)
			if ((err = pthread_cond_timedwait(&j->indexer_cond, &j->indexer_mutex, &at)) != 0 &&
			    err != ETIMEDOUT)
				abort();
		if (j->indexer_stop)
			break;
		journal_mutex_unlock(&j->indexer_mutex);
		/* A failed batch is counted and tried again next time: the journal holds everything it needs. */
		if (inv_indexer_tick(j) != 0)
			inv_sync_failed(j);
		journal_mutex_lock(&j->indexer_mutex);
	}
	journal_mutex_unlock(&j->indexer_mutex);
	return NULL;
}

int
inv_indexer_start(struct journal *j, unsigned interval_ms)
{
	int err;

	if (interval_ms == 0 || interval_ms > 60000)
		return sd_error_set(SD_E_INVAL, "journal: an index interval of %u ms is out of range", interval_ms);
	if ((err = journal_cond_init_monotonic(&j->indexer_cond)) == 0 &&
	    (err = pthread_mutex_init(&j->indexer_mutex, NULL)) != 0)
		pthread_cond_destroy(&j->indexer_cond);
	if (err != 0)
		return sd_error_set(SD_E_INTERNAL, "journal: cannot create the indexer's condition");
	j->indexer_interval_ms = interval_ms;
	j->indexer_stop = false;
	if ((err = journal_thread_start(&j->indexer, inv_indexer_main, j)) != 0) {
		pthread_mutex_destroy(&j->indexer_mutex);
		pthread_cond_destroy(&j->indexer_cond);
		return sd_error_set(SD_E_INTERNAL, "journal: cannot start the indexer: %s", strerror(err));
	}
	j->indexer_running = true;
	return 0;
}

void
inv_indexer_stop(struct journal *j)
{
	if (!j->indexer_running)
		return;
	journal_mutex_lock(&j->indexer_mutex);
	j->indexer_stop = true;
	if (pthread_cond_signal(&j->indexer_cond) != 0)
		abort();
	journal_mutex_unlock(&j->indexer_mutex);
	if (pthread_join(j->indexer, NULL) != 0)
		abort();
	inv_batch_free(inv_pending_take(j));
	pthread_mutex_destroy(&j->indexer_mutex);
	pthread_cond_destroy(&j->indexer_cond);
	j->indexer_running = false;
}
