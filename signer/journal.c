/*
 * The issuance journal store: one LMDB environment holding the records
 * (key: 8-byte big-endian seq, value: encoded record, written only with
 * MDB_APPEND) and a serial index (key: serial bytes, value: 8-byte seq,
 * written with MDB_NOOVERWRITE), both updated in one durable transaction.
 *
 * The last seq and hash live in memory so that an append does not have to
 * read the tail back; they change only after mdb_txn_commit() succeeds, under
 * the mutex that also spans the write transaction.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

/* records, serials, and room for the Merkle tree and checkpoints to come. */
#define JOURNAL_MAX_DBS 8
#define JOURNAL_DB_RECORDS "records"
#define JOURNAL_DB_SERIALS "serials"
/*
 * journal_health() reports the map full when less than one largest record
 * plus this many pages (copy-on-write B-tree and free-list updates) is left
 * past the last used page. Free-list pages are not counted, so it errs
 * towards warning early.
 */
#define JOURNAL_HEALTH_COW_PAGES 16

struct journal {
	MDB_env *env;
	MDB_dbi records;
	MDB_dbi serials;
	bool readonly;
	bool lock_ready;
	pthread_mutex_t lock;			/* spans each write txn; guards last_* */
	uint64_t last_seq;			/* 0 when empty */
	uint8_t last_hash[JOURNAL_HASH_LEN];	/* zeros when empty */
};

/*
 * One record to append. build() encodes it for the seq and prev_hash chosen
 * under the lock; serial, when set, is added to the serial index in the same
 * transaction. Each record type brings its own builder, and a group commit
 * can put several entries in one transaction through journal_txn_put().
 */
struct journal_entry {
	int (*build)(const void *arg, uint64_t seq, const uint8_t prev_hash[JOURNAL_HASH_LEN],
	    uint8_t **out, size_t *len);
	const void *arg;
	const uint8_t *serial;
	size_t serial_len;
};

static void
journal_lock(struct journal *j)
{
	if (pthread_mutex_lock(&j->lock) != 0)
		abort();
}

static void
journal_unlock(struct journal *j)
{
	if (pthread_mutex_unlock(&j->lock) != 0)
		abort();
}

/* Map an LMDB failure to a project error; what says what was being done. */
static int
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

static void
journal_key(uint8_t key[JOURNAL_SEQ_LEN], uint64_t seq, MDB_val *val)
{
	journal_be64_put(key, seq);
	val->mv_size = JOURNAL_SEQ_LEN;
	val->mv_data = key;
}

static void
journal_serial_hex(const uint8_t *serial, size_t len, char out[2 * JOURNAL_SERIAL_MAX + 1])
{
	if (len > JOURNAL_SERIAL_MAX)
		len = JOURNAL_SERIAL_MAX;
	sd_hex_encode(serial, len, out);
}

/*
 * Decode v, which is stored under key seq; it must carry that seq. what
 * starts the detail ("record", "tail record").
 */
static int
journal_decode_at(const MDB_val *v, uint64_t seq, const char *what, struct journal_record **out)
{
	struct journal_record *rec = NULL;
	char detail[256];
	int rc;

	*out = NULL;
	if ((rc = journal_record_decode(v->mv_data, v->mv_size, &rec)) != 0) {
		if (rc != SD_E_JOURNAL_CORRUPT)
			return rc;
		/* The detail buffer is reused by sd_error_set: copy it first. */
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

static int
journal_key_seq(const MDB_val *k, uint64_t *seq)
{
	if (k->mv_size != JOURNAL_SEQ_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "record key of %zu bytes is not a sequence number",
		    k->mv_size);
	*seq = journal_be64_get(k->mv_data);
	return 0;
}

/*
 * Load the last seq and hash, checking that the tail record decodes, sits
 * under its own seq and chains to the record before it.
 */
static int
journal_tail_load(struct journal *j, MDB_txn *txn)
{
	static const uint8_t zero[JOURNAL_HASH_LEN];
	struct journal_record *last = NULL, *prev = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0, pseq = 0;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == MDB_NOTFOUND) {
		j->last_seq = 0;
		memset(j->last_hash, 0, JOURNAL_HASH_LEN);
		rc = 0;
		goto out;
	}
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the last record");
		goto out;
	}
	if ((rc = journal_key_seq(&k, &seq)) != 0)
		goto out;
	if ((rc = journal_decode_at(&v, seq, "tail record", &last)) != 0)
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
		if ((rc = journal_decode_at(&v, pseq, "record", &prev)) != 0)
			goto out;
		if (memcmp(last->prev_hash, prev->hash, JOURNAL_HASH_LEN) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "tail record %llu does not chain to record %llu (one of them was modified)",
			    (unsigned long long)seq, (unsigned long long)pseq);
			goto out;
		}
	}
	j->last_seq = seq;
	memcpy(j->last_hash, last->hash, JOURNAL_HASH_LEN);
	rc = 0;
out:
	mdb_cursor_close(cur);
	journal_record_free(last);
	journal_record_free(prev);
	return rc;
}

static int
journal_env_open(const char *path, bool readonly, uint64_t map_size, struct journal **out)
{
	struct journal *j = NULL;
	MDB_txn *txn = NULL;
	struct stat st;
	unsigned dbflags = readonly ? 0 : MDB_CREATE;
	int rc, mrc;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		rc = sd_error_set(SD_E_INVAL, "journal: no path");
		goto out;
	}
	if (!readonly && (map_size == 0 || map_size > SIZE_MAX)) {
		rc = sd_error_set(SD_E_INVAL, "journal: map size %llu is out of range",
		    (unsigned long long)map_size);
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
	if (pthread_mutex_init(&j->lock, NULL) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "journal: cannot create a mutex");
		goto out;
	}
	j->lock_ready = true;
	if ((mrc = mdb_env_create(&j->env)) != 0) {
		j->env = NULL;
		rc = sd_error_set(SD_E_JOURNAL, "journal: mdb_env_create: %s", mdb_strerror(mrc));
		goto out;
	}
	if ((mrc = mdb_env_set_maxdbs(j->env, JOURNAL_MAX_DBS)) != 0 ||
	    (!readonly && (mrc = mdb_env_set_mapsize(j->env, (size_t)map_size)) != 0)) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: configuring %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	/* MDB_NOTLS: requests come from a thread pool. Default sync: durable commits. */
	mrc = mdb_env_open(j->env, path, MDB_NOTLS | (readonly ? MDB_RDONLY : 0), 0600);
	if (mrc != 0) {
		rc = sd_error_set(SD_E_JOURNAL, "journal: cannot open %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	if ((mrc = mdb_txn_begin(j->env, NULL, readonly ? MDB_RDONLY : 0, &txn)) != 0) {
		rc = journal_mdb_error(j, mrc, "beginning the open transaction");
		goto out;
	}
	if ((mrc = mdb_dbi_open(txn, JOURNAL_DB_RECORDS, dbflags, &j->records)) != 0 ||
	    (mrc = mdb_dbi_open(txn, JOURNAL_DB_SERIALS, dbflags, &j->serials)) != 0) {
		if (mrc == MDB_NOTFOUND)
			rc = sd_error_set(SD_E_JOURNAL, "journal: %s holds no journal", path);
		else
			rc = journal_mdb_error(j, mrc, "opening the databases");
		goto out;
	}
	if (!readonly && (rc = journal_tail_load(j, txn)) != 0)
		goto out;
	/* Committing (even read-only) keeps the dbi handles for the environment. */
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "committing the open transaction");
		goto out;
	}
	*out = j;
	j = NULL;
	rc = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	journal_close(j);
	return rc;
}

int
journal_open(const char *path, uint64_t map_size, struct journal **out)
{
	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open: NULL argument");
	return journal_env_open(path, false, map_size, out);
}

int
journal_open_readonly(const char *path, struct journal **out)
{
	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_open_readonly: NULL argument");
	return journal_env_open(path, true, 0, out);
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->env != NULL)
		mdb_env_close(j->env);
	if (j->lock_ready && pthread_mutex_destroy(&j->lock) != 0)
		abort();
	free(j);
}

/*
 * Put one encoded record and its serial index entry in txn. MDB_APPEND
 * refuses any key not above the last one, so a record is never overwritten.
 */
static int
journal_txn_put(struct journal *j, MDB_txn *txn, uint64_t seq, const uint8_t *buf, size_t len,
    const uint8_t *serial, size_t serial_len)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k, v, sk;
	int mrc;

	journal_key(key, seq, &k);
	v.mv_size = len;
	v.mv_data = (void *)buf;
	if ((mrc = mdb_put(txn, j->records, &k, &v, MDB_APPEND)) == MDB_KEYEXIST)
		return sd_error_set(SD_E_JOURNAL,
		    "journal: record %llu already exists (another process is writing this journal?)",
		    (unsigned long long)seq);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "writing a record");
	if (serial == NULL)
		return 0;
	sk.mv_size = serial_len;
	sk.mv_data = (void *)serial;
	v.mv_size = JOURNAL_SEQ_LEN;
	v.mv_data = key;
	if ((mrc = mdb_put(txn, j->serials, &sk, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST) {
		/* On MDB_KEYEXIST, v holds the existing entry. */
		journal_serial_hex(serial, serial_len, hex);
		return sd_error_set(SD_E_INTERNAL, "journal: serial %s is already journaled (record %llu)",
		    hex, v.mv_size == JOURNAL_SEQ_LEN ? (unsigned long long)journal_be64_get(v.mv_data) : 0ULL);
	}
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "indexing a serial");
	return 0;
}

static int
journal_append_entry(struct journal *j, const struct journal_entry *e, uint64_t *seq_out)
{
	uint8_t hash[JOURNAL_HASH_LEN];
	uint8_t *buf = NULL;
	MDB_txn *txn = NULL;
	uint64_t seq;
	size_t len = 0;
	int rc, mrc;

	*seq_out = 0;
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	journal_lock(j);
	if (j->last_seq == UINT64_MAX) {
		rc = sd_error_set(SD_E_JOURNAL_FULL, "journal: sequence numbers exhausted");
		goto out;
	}
	seq = j->last_seq + 1;
	if ((rc = e->build(e->arg, seq, j->last_hash, &buf, &len)) != 0)
		goto out;
	if ((rc = journal_hash(buf, len, hash)) != 0)
		goto out;
	if ((mrc = mdb_txn_begin(j->env, NULL, 0, &txn)) != 0) {
		rc = journal_mdb_error(j, mrc, "beginning a write transaction");
		goto out;
	}
	if ((rc = journal_txn_put(j, txn, seq, buf, len, e->serial, e->serial_len)) != 0)
		goto out;
	/*
	 * A failed commit writes no new meta page, so nothing is committed; if
	 * LMDB cannot tell, it marks the environment fatal and refuses later
	 * transactions rather than leave memory and disk disagreeing.
	 */
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "committing a record");
		goto out;
	}
	j->last_seq = seq;
	memcpy(j->last_hash, hash, JOURNAL_HASH_LEN);
	*seq_out = seq;
	rc = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	journal_unlock(j);
	free(buf);
	return rc;
}

static int
journal_build_issuance(const void *arg, uint64_t seq, const uint8_t prev_hash[JOURNAL_HASH_LEN],
    uint8_t **out, size_t *len)
{
	return journal_issuance_encode(seq, prev_hash, arg, out, len);
}

int
journal_append_issuance(struct journal *j, const struct journal_issuance *in, uint64_t *seq_out)
{
	struct journal_entry e;
	int rc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (j == NULL || in == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_append_issuance: NULL argument");
	/* Refuse bad input before taking the lock. */
	if ((rc = journal_issuance_check(in)) != 0)
		return rc;
	e.build = journal_build_issuance;
	e.arg = in;
	e.serial = in->serial;
	e.serial_len = in->serial_len;
	return journal_append_entry(j, &e, seq_out);
}

static int
journal_read_begin(struct journal *j, MDB_txn **txn)
{
	int mrc;

	if ((mrc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, txn)) != 0) {
		*txn = NULL;
		return journal_mdb_error(j, mrc, "beginning a read transaction");
	}
	return 0;
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
		journal_lock(j);
		*seq_out = j->last_seq;
		journal_unlock(j);
		return 0;
	}
	/* A reader sees what writers in other processes have committed since. */
	if ((rc = journal_read_begin(j, &txn)) != 0)
		goto out;
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
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* Read and decode record seq in txn. Errors: SD_E_NOT_FOUND and journal_decode_at()'s. */
static int
journal_txn_get(struct journal *j, MDB_txn *txn, uint64_t seq, struct journal_record **out)
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
	return journal_decode_at(&v, seq, "record", out);
}

int
journal_get(struct journal *j, uint64_t seq, struct journal_record **out)
{
	MDB_txn *txn = NULL;
	int rc;

	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_get: NULL argument");
	*out = NULL;
	if (j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_get: NULL argument");
	if (seq == 0)
		return sd_error_set(SD_E_NOT_FOUND, "journal: no record 0 (seqs start at 1)");
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_txn_get(j, txn, seq, out);
	mdb_txn_abort(txn);
	return rc;
}

int
journal_foreach(struct journal *j, uint64_t from, journal_visit_fn fn, void *ctx)
{
	struct journal_record *rec = NULL;
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t seq = 0;
	int rc, mrc;

	if (j == NULL || fn == NULL)
		return sd_error_set(SD_E_INVAL, "journal_foreach: NULL argument");
	if ((rc = journal_read_begin(j, &txn)) != 0)
		goto out;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	journal_key(key, from, &k);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = journal_key_seq(&k, &seq)) != 0)
			goto out;
		if ((rc = journal_decode_at(&v, seq, "record", &rec)) != 0)
			goto out;
		if ((rc = fn(rec, ctx)) != 0)
			goto out;
		journal_record_free(rec);
		rec = NULL;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the records");
		goto out;
	}
	rc = 0;
out:
	journal_record_free(rec);
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/*
 * Record seq's prev_hash does not match the hash of record seq - 1 (prev).
 * Either record seq - 1 was modified, or record seq itself was (its
 * prev_hash field, which also changes its own hash). Record seq + 1 tells
 * them apart: it still chains to an intact record seq. For the tail, the
 * hash this process last appended (mem_seq, mem_hash) can decide.
 */
static int
journal_chain_break(struct journal *j, MDB_txn *txn, const struct journal_record *cur,
    uint64_t mem_seq, const uint8_t mem_hash[JOURNAL_HASH_LEN], uint64_t *bad_seq)
{
	struct journal_record *next = NULL;
	unsigned long long s = cur->seq;
	int rc;

	rc = journal_txn_get(j, txn, cur->seq + 1, &next);
	if (rc != 0 && rc != SD_E_NOT_FOUND && rc != SD_E_JOURNAL_CORRUPT)
		goto out;
	if (rc == 0 && memcmp(next->prev_hash, cur->hash, JOURNAL_HASH_LEN) == 0) {
		*bad_seq = cur->seq - 1;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: its hash no longer matches the prev_hash in record %llu", s - 1, s);
	} else if (rc == 0) {
		*bad_seq = cur->seq;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: it chains neither to record %llu nor from record %llu", s,
		    s - 1, s + 1);
	} else if (mem_seq == cur->seq && memcmp(mem_hash, cur->hash, JOURNAL_HASH_LEN) != 0) {
		*bad_seq = cur->seq;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: it differs from the record this process appended", s);
	} else if (mem_seq == cur->seq) {
		*bad_seq = cur->seq - 1;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: its hash no longer matches the prev_hash in record %llu", s - 1, s);
	} else {
		*bad_seq = cur->seq - 1;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu or record %llu modified: the hash of %llu does not match the prev_hash in %llu",
		    s - 1, s, s - 1, s);
	}
out:
	journal_record_free(next);
	return rc;
}

/* The serial index must map rec's serial to rec's seq. */
static int
journal_serial_check(struct journal *j, MDB_txn *txn, const struct journal_record *rec)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	MDB_val k, v;
	int mrc;

	k.mv_size = rec->serial_len;
	k.mv_data = rec->serial;
	mrc = mdb_get(txn, j->serials, &k, &v);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the serial index");
	journal_serial_hex(rec->serial, rec->serial_len, hex);
	if (mrc == MDB_NOTFOUND)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "serial index: entry for serial %s of record %llu is missing", hex,
		    (unsigned long long)rec->seq);
	if (v.mv_size != JOURNAL_SEQ_LEN || journal_be64_get(v.mv_data) != rec->seq)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "serial index: serial %s of record %llu is mapped to another record", hex,
		    (unsigned long long)rec->seq);
	return 0;
}

/*
 * Every record's serial maps to its seq, yet the index holds more entries
 * than there are records: find the first stray one.
 */
static int
journal_serial_stray(struct journal *j, MDB_txn *txn, uint64_t count, uint64_t *bad_seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->serials, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		journal_serial_hex(k.mv_data, k.mv_size, hex);
		if (v.mv_size != JOURNAL_SEQ_LEN) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "serial index: entry for serial %s holds %zu bytes, not a seq", hex, v.mv_size);
			goto out;
		}
		seq = journal_be64_get(v.mv_data);
		if (seq == 0 || seq > count) {
			*bad_seq = seq;
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "serial index: serial %s points to record %llu, which is missing", hex,
			    (unsigned long long)seq);
			goto out;
		}
		if ((rc = journal_txn_get(j, txn, seq, &rec)) != 0)
			goto out;
		if (rec->serial_len != k.mv_size || memcmp(rec->serial, k.mv_data, k.mv_size) != 0) {
			*bad_seq = seq;
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "serial index: serial %s points to record %llu, which has another serial", hex,
			    (unsigned long long)seq);
			goto out;
		}
		journal_record_free(rec);
		rec = NULL;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the serial index");
		goto out;
	}
	rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "serial index does not match the %llu records",
	    (unsigned long long)count);
out:
	journal_record_free(rec);
	mdb_cursor_close(cur);
	return rc;
}

int
journal_verify(struct journal *j, uint64_t *count, uint64_t *bad_seq)
{
	uint8_t prev_hash[JOURNAL_HASH_LEN], mem_hash[JOURNAL_HASH_LEN];
	struct journal_record *rec = NULL;
	uint64_t expect = 1, seq = 0, mem_seq = 0;
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_stat st;
	MDB_val k, v;
	int rc, mrc;

	if (count != NULL)
		*count = 0;
	if (bad_seq != NULL)
		*bad_seq = 0;
	if (j == NULL || count == NULL || bad_seq == NULL)
		return sd_error_set(SD_E_INVAL, "journal_verify: NULL argument");
	memset(prev_hash, 0, JOURNAL_HASH_LEN);
	memset(mem_hash, 0, JOURNAL_HASH_LEN);
	/* Taken before the read txn, so the snapshot holds at least mem_seq records. */
	if (!j->readonly) {
		journal_lock(j);
		mem_seq = j->last_seq;
		memcpy(mem_hash, j->last_hash, JOURNAL_HASH_LEN);
		journal_unlock(j);
	}
	if ((rc = journal_read_begin(j, &txn)) != 0)
		goto out;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		*bad_seq = expect;
		if ((rc = journal_key_seq(&k, &seq)) != 0)
			goto out;
		if (seq != expect) {
			/* Keys are sorted, so a higher key means a gap. */
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is missing (next is record %llu)",
			    (unsigned long long)expect, (unsigned long long)seq);
			goto out;
		}
		if ((rc = journal_decode_at(&v, seq, "record", &rec)) != 0)
			goto out;
		if (memcmp(rec->prev_hash, prev_hash, JOURNAL_HASH_LEN) != 0) {
			if (seq == 1)
				rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record 1 modified: prev_hash is not zero");
			else
				rc = journal_chain_break(j, txn, rec, mem_seq, mem_hash, bad_seq);
			goto out;
		}
		if (seq == mem_seq && memcmp(rec->hash, mem_hash, JOURNAL_HASH_LEN) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "record %llu modified: it differs from the record this process appended",
			    (unsigned long long)seq);
			goto out;
		}
		if ((rc = journal_serial_check(j, txn, rec)) != 0)
			goto out;
		memcpy(prev_hash, rec->hash, JOURNAL_HASH_LEN);
		journal_record_free(rec);
		rec = NULL;
		*count = seq;
		expect = seq + 1;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the records");
		goto out;
	}
	if (mem_seq > *count) {
		*bad_seq = *count + 1;
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is missing (this process appended %llu)",
		    (unsigned long long)*bad_seq, (unsigned long long)mem_seq);
		goto out;
	}
	if ((mrc = mdb_stat(txn, j->serials, &st)) != 0) {
		rc = journal_mdb_error(j, mrc, "reading the serial index");
		goto out;
	}
	if (st.ms_entries != *count) {
		*bad_seq = 0;
		rc = journal_serial_stray(j, txn, *count, bad_seq);
		goto out;
	}
	rc = 0;
out:
	if (rc != SD_E_JOURNAL_CORRUPT)
		*bad_seq = 0;
	journal_record_free(rec);
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

int
journal_health(struct journal *j)
{
	MDB_envinfo info;
	MDB_txn *txn = NULL;
	MDB_stat st;
	size_t used, reserve;
	int mrc;

	if (j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_health: NULL argument");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	if ((mrc = mdb_txn_begin(j->env, NULL, 0, &txn)) != 0)
		return journal_mdb_error(j, mrc, "beginning a write transaction");
	mrc = mdb_env_info(j->env, &info);
	if (mrc == 0)
		mrc = mdb_env_stat(j->env, &st);
	mdb_txn_abort(txn);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the environment");
	used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	reserve = JOURNAL_RECORD_MAX + JOURNAL_HEALTH_COW_PAGES * (size_t)st.ms_psize;
	if (used > info.me_mapsize || info.me_mapsize - used < reserve)
		return sd_error_set(SD_E_JOURNAL_FULL,
		    "journal map of %zu bytes is full: %zu bytes used, %zu needed in reserve",
		    info.me_mapsize, used, reserve);
	return 0;
}
