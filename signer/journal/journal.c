/*
 * The journal store, write side: opening the LMDB environment and appending
 * with group commit. The tail check is in journal_tail.c, the Merkle node
 * index in journal_nodes.c, the map lock and map growth in journal_map.c,
 * what one entry writes in journal_put.c.
 *
 * Databases (README "Journal format"): records (be64 seq -> record,
 * MDB_APPEND), serials (serial -> intent seq, MDB_NOOVERWRITE), results
 * (intent seq -> result seq, MDB_NOOVERWRITE), nodes (be64 seq || level ->
 * hash of the complete Merkle subtree that record seq completes,
 * MDB_APPEND), checkpoints (be64 seq -> tree size, MDB_APPEND). All are
 * written in the same transaction as the record.
 *
 * Group commit: an appender queues its entry; if no committer is running it
 * becomes the committer, takes every queued entry, writes them in one write
 * transaction and commits once. If one entry is refused part-way, the batch
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
 */
#include <errno.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

#define JOURNAL_MAX_DBS 8

/*
 * A thread in journal_submit_chain(), on its own stack. It is posted
 * exactly once: when its entries are committed or refused (commit false),
 * or to become the committer (commit true, set under queue_lock).
 */
struct journal_waiter {
	sem_t wake;
	bool commit;
};

static void
journal_mutex_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort();
}

static void
journal_mutex_unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

int
journal_mdb_error(struct journal *j, int mrc, const char *what)
{
	MDB_envinfo info;

	if (mrc == MDB_MAP_FULL) {
		if (mdb_env_info(j->env, &info) != 0)
			info.me_mapsize = 0;
		return sd_error_set(SD_E_JOURNAL_FULL, "journal map of %zu bytes is full", info.me_mapsize);
	}
	return sd_error_set(SD_E_JOURNAL, "journal: %s: %s", what, mdb_strerror(mrc));
}

void
journal_key(uint8_t key[JOURNAL_SEQ_LEN], uint64_t seq, MDB_val *val)
{
	journal_be64_put(key, seq);
	val->mv_size = JOURNAL_SEQ_LEN;
	val->mv_data = key;
}

int
journal_key_seq(const MDB_val *k, uint64_t *seq)
{
	if (k->mv_size != JOURNAL_SEQ_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "record key of %zu bytes is not a sequence number",
		    k->mv_size);
	*seq = journal_be64_get(k->mv_data);
	return 0;
}

int
journal_db_last_seq(struct journal *j, MDB_txn *txn, MDB_dbi dbi, size_t key_len, const char *what,
    uint64_t *seq)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int mrc, rc = 0;
	char doing[96];

	*seq = 0;
	if ((mrc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (mrc == 0 && k.mv_size == key_len) {
		*seq = journal_be64_get(k.mv_data);
	} else if (mrc == 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: %s key of %zu bytes", what, k.mv_size);
	} else if (mrc != MDB_NOTFOUND) {
		(void)snprintf(doing, sizeof(doing), "reading the %s index", what);
		rc = journal_mdb_error(j, mrc, doing);
	}
	mdb_cursor_close(cur);
	return rc;
}

static int
journal_env_open(const char *path, bool readonly, const struct journal_options *opts, struct journal **out)
{
	struct journal *j = NULL;
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	struct stat st;
	unsigned dbflags = readonly ? 0 : MDB_CREATE;
	int rc, mrc;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		rc = sd_error_set(SD_E_INVAL, "journal: no path");
		goto out;
	}
	if (!readonly && (opts->map_size == 0 || opts->map_size > SIZE_MAX || opts->map_max > SIZE_MAX)) {
		rc = sd_error_set(SD_E_INVAL, "journal: map size %llu is out of range",
		    (unsigned long long)opts->map_size);
		goto out;
	}
	if (!readonly && mkdir(path, 0700) != 0 && errno != EEXIST) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: cannot create %s: %s", path, mdb_strerror(errno));
		goto out;
	}
	if (stat(path, &st) != 0) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: cannot open %s: %s", path, mdb_strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: %s is not a directory", path);
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	j->readonly = readonly;
	if (pthread_rwlock_init(&j->map_lock, NULL) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "journal: cannot create a lock");
		goto out;
	}
	if (pthread_mutex_init(&j->queue_lock, NULL) != 0) {
		pthread_rwlock_destroy(&j->map_lock);
		rc = sd_error_set(SD_E_INTERNAL, "journal: cannot create a mutex");
		goto out;
	}
	j->ready = true;
	merkle_frontier_init(&j->tree);
	if ((mrc = mdb_env_create(&j->env)) != 0) {
		j->env = NULL;
		rc = sd_error_set(SD_E_JOURNAL, "journal: mdb_env_create: %s", mdb_strerror(mrc));
		goto out;
	}
	if ((mrc = mdb_env_set_maxdbs(j->env, JOURNAL_MAX_DBS)) != 0 ||
	    (!readonly && (mrc = mdb_env_set_mapsize(j->env, (size_t)opts->map_size)) != 0)) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: configuring %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	/* MDB_NOTLS: requests come from a thread pool. Default sync: durable commits. */
	mrc = mdb_env_open(j->env, path, MDB_NOTLS | (readonly ? MDB_RDONLY : 0) | (opts->no_sync ? MDB_NOSYNC : 0),
	    0600);
	if (mrc != 0) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: cannot open %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	/* Another process may have grown the map past the size asked for. */
	if (mdb_env_info(j->env, &info) == 0)
		j->map_size = info.me_mapsize;
	j->map_max = readonly || opts->map_max < j->map_size ? j->map_size : opts->map_max;
	if ((rc = journal_txn_begin(j, readonly ? MDB_RDONLY : 0, &txn)) != 0)
		goto out;
	if ((mrc = mdb_dbi_open(txn, "records", dbflags, &j->records)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "serials", dbflags, &j->serials)) != 0) {
		if (mrc == MDB_NOTFOUND)
			rc = sd_error_set(SD_E_JOURNAL, "journal: %s holds no journal", path);
		else
			rc = journal_mdb_error(j, mrc, "opening the databases");
		goto out;
	}
	if ((mrc = mdb_dbi_open(txn, "results", dbflags, &j->results)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "nodes", dbflags, &j->nodes)) != 0 ||
	    (mrc = mdb_dbi_open(txn, "checkpoints", dbflags, &j->checkpoints)) != 0) {
		if (mrc == MDB_NOTFOUND)
			rc = sd_error_set(SD_E_JOURNAL,
			    "journal: %s predates the Merkle index; open it once with signerd or signerctl to index it",
			    path);
		else
			rc = journal_mdb_error(j, mrc, "opening the databases");
		goto out;
	}
	if (!readonly && ((rc = journal_tail_read(j, txn, &j->last_seq, j->last_hash)) != 0 ||
	    (rc = journal_tree_load(j, txn, j->last_seq, &j->tree)) != 0))
		goto out;
	/* Committing (even read-only) keeps the dbi handles for the environment. */
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	journal_map_unlock(j);
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "committing the open transaction");
		goto out;
	}
	*out = j;
	j = NULL;
	rc = 0;
out:
	if (txn != NULL) {
		mdb_txn_abort(txn);
		journal_map_unlock(j);
	}
	journal_close(j);
	return rc;
}

int
journal_open_opts(const char *path, const struct journal_options *opts, struct journal **out)
{
	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open: NULL argument");
	*out = NULL;
	if (opts == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open: no options");
	return journal_env_open(path, false, opts, out);
}

int
journal_open(const char *path, uint64_t map_size, struct journal **out)
{
	struct journal_options o = { map_size, 0, false };

	return journal_open_opts(path, &o, out);
}

int
journal_open_readonly(const char *path, struct journal **out)
{
	struct journal_options o = { 0, 0, false };

	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open_readonly: NULL argument");
	return journal_env_open(path, true, &o, out);
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->env != NULL)
		mdb_env_close(j->env);
	if (j->ready) {
		pthread_mutex_destroy(&j->queue_lock);
		pthread_rwlock_destroy(&j->map_lock);
	}
	free(j);
}

/* Record e's outcome so that its own thread can report it. */
static void
journal_entry_fail(struct journal_entry *e, int rc)
{
	e->rc = rc;
	e->seq = 0;
	if (snprintf(e->detail, sizeof(e->detail), "%s", sd_error_detail(rc)) < 0)
		e->detail[0] = '\0';
}

/* Write and commit one batch (the caller is the committer, outside queue_lock). */
static void
journal_batch_commit(struct journal *j, struct journal_entry *batch, struct journal_tail *t)
{
	struct journal_tail work;
	struct journal_entry *e;
	MDB_txn *txn = NULL;
	uint64_t appended;
	bool full, spoiled = false, nested = false;
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
		} else if ((mrc = mdb_txn_commit(txn)) != 0) {
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
 * Queue the chain first..last (linked by next) and wait until all of it is
 * committed or refused; maybe be the committer.
 */
static void
journal_submit_chain(struct journal *j, struct journal_entry *first, struct journal_entry *last)
{
	struct journal_waiter self, *w, *successor = NULL;
	struct journal_entry *batch, *x, *next;
	struct journal_tail t;
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
		if (!self.commit)
			goto out;
	}

	/*
	 * The committer: commit everything queued now, ours included (the
	 * queue is only ever taken by the one thread holding the role).
	 */
	journal_mutex_lock(&j->queue_lock);
	batch = j->queue_head;
	j->queue_head = j->queue_tail = NULL;
	t.seq = j->last_seq;
	memcpy(t.hash, j->last_hash, JOURNAL_HASH_LEN);
	t.tree = j->tree;
	journal_mutex_unlock(&j->queue_lock);
	journal_batch_commit(j, batch, &t);
	journal_mutex_lock(&j->queue_lock);
	j->last_seq = t.seq;
	memcpy(j->last_hash, t.hash, JOURNAL_HASH_LEN);
	j->tree = t.tree;
	/* What was queued during this commit goes into the next, by its oldest waiter. */
	if (j->queue_head != NULL) {
		successor = j->queue_head->waiter;
		successor->commit = true;
	} else {
		j->committing = false;
	}
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
		if (w != &self && (next == NULL || next->waiter != w))
			journal_waiter_post(w);
	}
out:
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

void
journal_stats_get(struct journal *j, struct journal_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return;
	journal_mutex_lock(&j->queue_lock);
	*out = j->stats;
	out->map_size = j->map_size;
	journal_mutex_unlock(&j->queue_lock);
}

int
journal_last_seq(struct journal *j, uint64_t *seq_out)
{
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (j == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_last_seq: NULL argument");
	if (!j->readonly) {
		journal_mutex_lock(&j->queue_lock);
		*seq_out = j->last_seq;
		journal_mutex_unlock(&j->queue_lock);
		return 0;
	}
	/* A reader sees what writers in other processes have committed since. */
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (mrc == MDB_NOTFOUND) {
		rc = 0;
		goto out;
	}
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the last record");
		goto out;
	}
	rc = journal_key_seq(&k, seq_out);
out:
	mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}
