/*
 * Appending: the public append calls, the queue of waiting entries and
 * group commit.
 *
 * Group commit: an appender queues its entry; if no committer is running it
 * becomes the committer, takes every queued entry, writes them in one write
 * transaction (with the certificate index's pending batch, if there is
 * one) and commits once. If one entry is refused part-way, the batch
 * is written again with each entry in a nested transaction, so that the
 * refused one does not spoil the others. Each caller returns only when its
 * own entry is durable or refused.
 *
 * Wake-ups are targeted, because on a loaded host every futex wake-up that
 * puts a thread back to sleep costs more than the commit's own CPU: a waiter
 * sleeps on a semaphore of its own and is woken exactly once, either when
 * its entries are done or to take the committer role. A committer that
 * finds entries queued behind its batch hands the role to the waiter of the
 * oldest of them, so no entry is stranded and no thread waits for work.
 * Entries nobody waits for (journal_later.c) ride along in whichever
 * commit comes next.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_log.h"

/*
 * A thread in journal_submit_chain(), on its own stack. It is posted
 * exactly once: when its entries are committed or refused (commit false),
 * or to become the committer (commit true, set under queue_lock).
 */
struct journal_waiter {
	sem_t wake;
	bool commit;
};

/* Record e's outcome so that its own thread can report it. */
static void
journal_entry_fail(struct journal_entry *e, int rc)
{
	e->rc = rc;
	e->seq = 0;
	if (snprintf(e->detail, sizeof(e->detail), "%s", sd_error_detail(rc)) < 0)
		e->detail[0] = '\0';
}

/*
 * Commit txn, and with it the certificate index's pending batch, if any:
 * the index shares this durable commit instead of adding one of its own.
 */
static int
journal_txn_commit_with_index(struct journal *j, MDB_txn *txn)
{
	struct inv_batch *b = inv_piggyback_take(j);
	bool put = b != NULL && inv_piggyback_put(j, txn, b);
	int mrc = mdb_txn_commit(txn);

	inv_piggyback_done(j, b, put && mrc == 0);
	return mrc;
}

/* Write and commit one batch (the caller is the committer, outside queue_lock). */
static void
journal_batch_commit(struct journal *j, struct journal_entry *batch, struct journal_tail *t)
{
	struct journal_tail work;
	struct journal_entry *e;
	MDB_txn *txn = NULL;
	uint64_t appended;
	bool full, spoiled, nested = false;
	int rc, mrc;

	/*
	 * First without nested transactions: a record is refused in the commit
	 * only when the store disagrees with the signer (a duplicate serial, a
	 * result without its intent, a damaged index) or LMDB fails. Then the
	 * batch is written again with each entry in its own child transaction,
	 * so that the one refused fails alone and nothing of it is kept.
	 */
	for (;;) {
		full = spoiled = false;
		appended = 0;
		if ((rc = journal_txn_begin(j, 0, &txn)) != 0)
			goto fail_all;
		work = *t;
		if ((rc = journal_tail_sync(j, txn, &work)) != 0) {
			mdb_txn_abort(txn);
			journal_map_unlock(j);
			goto fail_all;
		}
		for (e = batch; e != NULL; e = e->next) {
			e->rc = journal_entry_put(j, txn, e, &work, nested, &spoiled);
			if (e->rc == SD_E_JOURNAL_FULL) {
				full = true;
				break;
			}
			if (spoiled)
				break;
			if (e->rc != 0)
				journal_entry_fail(e, e->rc);
			else
				appended++;
		}
		if (full || spoiled) {
			mdb_txn_abort(txn);
		} else if ((mrc = journal_txn_commit_with_index(j, txn)) != 0) {
			/*
			 * A failed commit writes no new meta page, so nothing is
			 * committed; if LMDB cannot tell, it marks the environment
			 * fatal and refuses later transactions.
			 */
			full = mrc == MDB_MAP_FULL;
			if (!full) {
				journal_map_unlock(j);
				rc = journal_mdb_error(j, mrc, "committing records");
				goto fail_all;
			}
		}
		journal_map_unlock(j);
		txn = NULL;
		if (full) {
			if ((rc = journal_grow(j)) != 0)
				goto fail_all;
		} else if (spoiled) {
			nested = true;
		} else {
			break;
		}
	}
	*t = work;
	journal_mutex_lock(&j->queue_lock);
	j->stats.commits++;
	j->stats.records += appended;
	journal_mutex_unlock(&j->queue_lock);
	return;
fail_all:
	for (e = batch; e != NULL; e = e->next)
		journal_entry_fail(e, rc);
}

/*
 * glibc's sem_post() touches the semaphore no more once the post is
 * visible (a stray futex wake at most), so the woken thread may return
 * and reuse its stack at once.
 */
static void
journal_waiter_post(struct journal_waiter *w)
{
	if (sem_post(&w->wake) != 0)
		abort();
}

static void
journal_waiter_wait(struct journal_waiter *w)
{
	/* sem_wait is not restarted after a signal handler, even with SA_RESTART. */
	while (sem_wait(&w->wake) != 0) {
		if (errno != EINTR)
			abort();
	}
}

/*
 * Pass the committer role on after a commit (queue_lock held): to the
 * waiter of the oldest queued entry someone waits for, who takes the
 * whole queue. Entries nobody waits for are the flusher's; with only
 * those queued, the role is given up and the flusher woken.
 */
static struct journal_waiter *
journal_role_next(struct journal *j)
{
	struct journal_entry *x;

	for (x = j->queue_head; x != NULL; x = x->next) {
		if (x->waiter != NULL) {
			x->waiter->commit = true;
			return x->waiter;
		}
	}
	j->committing = false;
	if (j->queue_head != NULL && j->flusher_running)
		(void)pthread_cond_signal(&j->flusher_wake);
	return NULL;
}

/* An entry nobody waits for is done: say so when it was refused, and free it. */
static void
journal_later_free(struct journal_entry *e)
{
	if (e->rc != 0)
		sd_log(SD_LOG_ERROR, "journal: a %s record appended without waiting was not written: %s",
		    journal_record_type_name(e->later->type), e->detail);
	journal_record_free(e->later);
	free(e);
}

void
journal_commit_round(struct journal *j, const struct journal_waiter *self)
{
	struct journal_waiter *w, *successor;
	struct journal_entry *batch, *x, *next;
	struct journal_tail t;
	uint64_t later = 0, failed = 0;

	/* The queue is only ever taken by the one thread holding the role. */
	journal_mutex_lock(&j->queue_lock);
	batch = j->queue_head;
	j->queue_head = j->queue_tail = NULL;
	t.seq = j->last_seq;
	memcpy(t.hash, j->last_hash, JOURNAL_HASH_LEN);
	t.tree = j->tree;
	journal_mutex_unlock(&j->queue_lock);
	journal_batch_commit(j, batch, &t);
	for (x = batch; x != NULL; x = x->next) {
		if (x->waiter == NULL) {
			later++;
			failed += x->rc != 0;
		}
	}
	journal_mutex_lock(&j->queue_lock);
	j->last_seq = t.seq;
	memcpy(j->last_hash, t.hash, JOURNAL_HASH_LEN);
	j->tree = t.tree;
	j->later_done += later;
	j->stats.later_failed += failed;
	/* What was queued during this commit goes into the next, by its oldest waiter. */
	successor = journal_role_next(j);
	if (j->flush_waiters > 0)
		(void)pthread_cond_broadcast(&j->flushed);
	journal_mutex_unlock(&j->queue_lock);
	/* The next commit first: it is on everyone's path. */
	if (successor != NULL)
		journal_waiter_post(successor);
	/*
	 * A chain's entries are adjacent; post its waiter once, at its last
	 * entry. A posted waiter may return and free its entries at once, so
	 * read next before the post.
	 */
	for (x = batch; x != NULL; x = next) {
		next = x->next;
		w = x->waiter;
		if (w == NULL)
			journal_later_free(x);
		else if (w != self && (next == NULL || next->waiter != w))
			journal_waiter_post(w);
	}
}

/*
 * Queue the chain first..last (linked by next) and wait until all of it is
 * committed or refused; maybe be the committer.
 */
static void
journal_submit_chain(struct journal *j, struct journal_entry *first, struct journal_entry *last)
{
	struct journal_waiter self;
	struct journal_entry *x;
	bool commit;

	if (sem_init(&self.wake, 0, 0) != 0)
		abort();
	self.commit = false;
	last->next = NULL;
	for (x = first; x != NULL; x = x->next)
		x->waiter = &self;
	journal_mutex_lock(&j->queue_lock);
	if (j->queue_tail != NULL)
		j->queue_tail->next = first;
	else
		j->queue_head = first;
	j->queue_tail = last;
	commit = !j->committing;
	j->committing = true;
	journal_mutex_unlock(&j->queue_lock);
	if (!commit) {
		journal_waiter_wait(&self);
		/* Done, or handed the committer role while our chain is still queued. */
		commit = self.commit;
	}
	if (commit)
		journal_commit_round(j, &self);
	sem_destroy(&self.wake);
}

/* Queue e and wait until it is committed or refused. */
static int
journal_submit(struct journal *j, struct journal_entry *e, uint64_t *seq_out)
{
	*seq_out = 0;
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	journal_submit_chain(j, e, e);
	if (e->rc != 0)
		return sd_error_set(e->rc, "%s", e->detail);
	*seq_out = e->seq;
	return 0;
}

int
journal_append_batch(struct journal *j, const struct journal_record *const *recs, size_t n, uint64_t *first_seq)
{
	struct journal_entry *es = NULL;
	size_t i;
	int rc;

	if (first_seq != NULL)
		*first_seq = 0;
	if (j == NULL || recs == NULL || first_seq == NULL || n == 0)
		return sd_error_set(SD_E_INVAL, "journal_append_batch: NULL argument or no records");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	for (i = 0; i < n; i++) {
		if (recs[i] == NULL || recs[i]->type == JOURNAL_REC_CHECKPOINT)
			return sd_error_set(SD_E_INVAL, "journal_append_batch: record %zu is missing or a checkpoint", i);
		if ((rc = journal_record_check(recs[i])) != 0)
			return rc;
	}
	if (n > SIZE_MAX / sizeof(*es) || (es = calloc(n, sizeof(*es))) == NULL)
		return SD_E_NOMEM;
	for (i = 0; i < n; i++) {
		es[i].rec = recs[i];
		es[i].next = i + 1 < n ? &es[i + 1] : NULL;
	}
	journal_submit_chain(j, &es[0], &es[n - 1]);
	rc = 0;
	for (i = 0; i < n; i++) {
		if (es[i].rc != 0) {
			rc = sd_error_set(es[i].rc, "%s", es[i].detail);
			break;
		}
	}
	if (rc == 0)
		*first_seq = es[0].seq;
	free(es);
	return rc;
}

int
journal_append(struct journal *j, const struct journal_record *rec, uint64_t *seq_out)
{
	struct journal_entry e;
	int rc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (j == NULL || rec == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_append: NULL argument");
	if (rec->type == JOURNAL_REC_CHECKPOINT)
		return sd_error_set(SD_E_INVAL, "journal_append: checkpoints go through journal_append_checkpoint()");
	/* Refuse bad input before queueing it. */
	if ((rc = journal_record_check(rec)) != 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.rec = rec;
	return journal_submit(j, &e, seq_out);
}

int
journal_append_checkpoint(struct journal *j, int64_t time_ms, journal_checkpoint_sign_fn sign, void *ctx,
    uint64_t *seq_out, char **note_out)
{
	struct journal_entry e;
	int rc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (note_out != NULL)
		*note_out = NULL;
	if (j == NULL || sign == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_append_checkpoint: NULL argument");
	memset(&e, 0, sizeof(e));
	e.sign = sign;
	e.sign_ctx = ctx;
	e.cp_time_ms = time_ms;
	rc = journal_submit(j, &e, seq_out);
	if (rc == 0 && note_out != NULL) {
		*note_out = e.note;
		e.note = NULL;
	}
	free(e.note);
	return rc;
}

int
journal_append_issuance(struct journal *j, const struct journal_issuance *in, uint64_t *seq_out)
{
	struct journal_record rec;

	if (seq_out != NULL)
		*seq_out = 0;
	if (j == NULL || in == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_append_issuance: NULL argument");
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_ISSUANCE;
	rec.time_ms = in->time_ms;
	rec.client_subject = (char *)(uintptr_t)in->client_subject;
	memcpy(rec.client_spki_sha256, in->client_spki_sha256, JOURNAL_HASH_LEN);
	rec.profile = (char *)(uintptr_t)in->profile;
	memcpy(rec.csr_sha256, in->csr_sha256, JOURNAL_HASH_LEN);
	rec.serial = (uint8_t *)(uintptr_t)in->serial;
	rec.serial_len = in->serial_len;
	rec.cert_der = (uint8_t *)(uintptr_t)in->cert_der;
	rec.cert_der_len = in->cert_der_len;
	return journal_append(j, &rec, seq_out);
}
