/*
 * The journal store: the LMDB environment, opened (with the tail check and
 * the Merkle node index brought up to the records) and closed, LMDB errors,
 * the keys the databases share, and the writer's state (journal_stats_get(),
 * journal_last_seq()). The rest of the write side:
 * journal_commit.c (appending with group commit), journal_put.c (what one
 * entry writes), journal_tail.c (the tail check), journal_nodes.c (the
 * Merkle node index), journal_map.c (the map lock and map growth).
 *
 * Databases (README "Journal format"): records (be64 seq -> record,
 * MDB_APPEND), serials (serial -> intent seq, MDB_NOOVERWRITE), results
 * (intent seq -> result seq, MDB_NOOVERWRITE), nodes (be64 seq || level ->
 * hash of the complete Merkle subtree that record seq completes,
 * MDB_APPEND), checkpoints (be64 seq -> tree size, MDB_APPEND),
 * revocations (serial -> seq of its revocation, MDB_NOOVERWRITE), crls
 * (be64 seq of a CRL record -> be64 its number, MDB_APPEND). All are
 * written in the same transaction as the record. The certificate index
 * (inventory.h) trails them, in transactions of its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "journal.h"
#include "journal_internal.h"

#define JOURNAL_MAX_DBS 16

void
journal_mutex_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort();
}

void
journal_mutex_unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

int
journal_cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	int err;

	if ((err = pthread_condattr_init(&ca)) != 0)
		return err;
	if ((err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		err = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return err;
}

int
journal_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	/* Signals are the process's business: the thread takes none. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		abort();
	err = pthread_create(t, NULL, fn, arg);
	if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
		abort();
	return err;
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
	uint64_t indexed = 0, through = 0;
	bool complete = false;
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
	if (pthread_mutex_init(&j->index_lock, NULL) != 0) {
		pthread_mutex_destroy(&j->queue_lock);
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
	/* A journal from before revocations gets the database at a writer's open; readers see none. */
	mrc = mdb_dbi_open(txn, "revocations", dbflags, &j->revocations);
	if (mrc != 0 && !(readonly && mrc == MDB_NOTFOUND)) {
		rc = journal_mdb_error(j, mrc, "opening the revocations database");
		goto out;
	}
	j->has_revocations = mrc == 0;
	/* Likewise the CRL index: a journal from before CRL records has none, so "no CRL yet" is right. */
	mrc = mdb_dbi_open(txn, "crls", dbflags, &j->crls);
	if (mrc != 0 && !(readonly && mrc == MDB_NOTFOUND)) {
		rc = journal_mdb_error(j, mrc, "opening the crls database");
		goto out;
	}
	j->has_crls = mrc == 0;
	if (!readonly && ((rc = journal_tail_read(j, txn, &j->last_seq, j->last_hash)) != 0 ||
	    (rc = journal_tree_load(j, txn, j->last_seq, &j->tree)) != 0))
		goto out;
	if ((rc = inv_dbs_open(j, txn, !readonly, &j->inv)) != 0)
		goto out;
	/* A journal from before the certificate index gets one, once (README "Certificate index"). */
	if (!readonly && (rc = inv_through(j, txn, &complete, &through)) == 0 && !complete)
		rc = inv_rebuild(j, txn, &indexed);
	if (rc != 0)
		goto out;
	/* Committing (even read-only) keeps the dbi handles for the environment. */
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	journal_map_unlock(j);
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "committing the open transaction");
		goto out;
	}
	/*
	 * What a crash left unindexed, then the thread that keeps the index
	 * close behind. A map at its maximum leaves the index behind until it
	 * is given room; the journal itself is whole.
	 */
	if (!readonly && (rc = journal_index_sync(j)) == SD_E_JOURNAL_FULL)
		rc = 0;
	if (!readonly && rc == 0 && opts->index_interval_ms != 0)
		rc = inv_indexer_start(j, opts->index_interval_ms);
	if (rc != 0)
		goto out;
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
	struct journal_options o = { map_size, 0, false, 0 };

	return journal_open_opts(path, &o, out);
}

int
journal_open_readonly(const char *path, struct journal **out)
{
	struct journal_options o = { 0, 0, false, 0 };

	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open_readonly: NULL argument");
	return journal_env_open(path, true, &o, out);
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->ready) {
		/* What was appended without waiting is committed before anything closes. */
		if (!j->readonly)
			journal_later_stop(j);
		inv_indexer_stop(j);
		/* Best effort: what is left unindexed now, the next writer's open indexes. */
		if (j->env != NULL && !j->readonly && j->inv.ready && journal_index_sync(j) != 0)
			inv_sync_failed(j);
	}
	if (j->env != NULL)
		mdb_env_close(j->env);
	if (j->ready) {
		pthread_mutex_destroy(&j->index_lock);
		pthread_mutex_destroy(&j->queue_lock);
		pthread_rwlock_destroy(&j->map_lock);
	}
	free(j);
}

void
journal_stats_get(struct journal *j, struct journal_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return;
	MDB_envinfo info;
	MDB_stat st;

	journal_mutex_lock(&j->queue_lock);
	*out = j->stats;
	out->map_size = j->map_size;
	out->map_max = j->map_max > j->map_size ? j->map_max : j->map_size;
	out->last_seq = j->last_seq;
	out->indexed_through = j->indexed_through;
	out->later_pending = j->later_queued - j->later_done;
	journal_mutex_unlock(&j->queue_lock);
	/* The last committed meta page: a read, no transaction. */
	if (mdb_env_info(j->env, &info) == 0 && mdb_env_stat(j->env, &st) == 0)
		out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
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
	journal_flush(j);
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
