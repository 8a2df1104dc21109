/*
 * The map and the lock that guards it. LMDB remaps when the map size
 * changes, and no transaction may be live then: every transaction begins
 * here with map_lock held shared, and growing the map (towards map_max,
 * when a commit finds it full) or adopting a size another process set
 * takes it exclusively.
 */
#include <stdint.h>
#include <stdlib.h>

#include "journal.h"
#include "journal_internal.h"

static void
journal_map_shared(struct journal *j)
{
	if (pthread_rwlock_rdlock(&j->map_lock) != 0)
		abort();
}

static void
journal_map_exclusive(struct journal *j)
{
	if (pthread_rwlock_wrlock(&j->map_lock) != 0)
		abort();
}

void
journal_map_unlock(struct journal *j)
{
	if (pthread_rwlock_unlock(&j->map_lock) != 0)
		abort();
}

/* Adopt a map grown by another process (MDB_MAP_RESIZED). */
static int
journal_map_adopt(struct journal *j)
{
	MDB_envinfo info;
	int mrc;

	journal_map_exclusive(j);
	mrc = mdb_env_set_mapsize(j->env, 0);
	if (mrc == 0 && mdb_env_info(j->env, &info) == 0)
		j->map_size = info.me_mapsize;
	journal_map_unlock(j);
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "adopting the map size");
}

/* Begin a transaction with map_lock held shared (released on failure). */
int
journal_txn_begin(struct journal *j, unsigned flags, MDB_txn **txn)
{
	int mrc, rc, tries;

	*txn = NULL;
	for (tries = 0; tries < 3; tries++) {
		journal_map_shared(j);
		if ((mrc = mdb_txn_begin(j->env, NULL, flags, txn)) == 0)
			return 0;
		*txn = NULL;
		journal_map_unlock(j);
		if (mrc != MDB_MAP_RESIZED)
			return journal_mdb_error(j, mrc, "beginning a transaction");
		if ((rc = journal_map_adopt(j)) != 0)
			return rc;
	}
	return sd_error_set(SD_E_JOURNAL, "journal: the map keeps being resized");
}

int
journal_read_begin(struct journal *j, MDB_txn **txn)
{
	return journal_txn_begin(j, MDB_RDONLY, txn);
}

void
journal_read_end(struct journal *j, MDB_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_abort(txn);
	journal_map_unlock(j);
}

/* Grow the map towards map_max. Errors: SD_E_JOURNAL_FULL when it is there already. */
int
journal_grow(struct journal *j)
{
	uint64_t want;
	int mrc;

	if (j->map_size >= j->map_max)
		return sd_error_set(SD_E_JOURNAL_FULL,
		    "journal map of %llu bytes is full (the configured maximum); nothing was written",
		    (unsigned long long)j->map_size);
	want = j->map_size > j->map_max / 2 ? j->map_max : j->map_size * 2;
	if (want - j->map_size < 4 * JOURNAL_RECORD_MAX)
		want = j->map_size + 4 * JOURNAL_RECORD_MAX < j->map_max ? j->map_size + 4 * JOURNAL_RECORD_MAX : j->map_max;
	journal_map_exclusive(j);
	mrc = mdb_env_set_mapsize(j->env, (size_t)want);
	journal_map_unlock(j);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "growing the map");
	j->map_size = want;
	j->stats.grows++;
	return 0;
}
