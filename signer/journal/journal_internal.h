/*
 * Shared between the journal files (journal_record.c: byte format and
 * hashing; journal.c: the LMDB store; journal_map.c: the map lock and map
 * growth; journal_tail.c: checked reads and the tail check; journal_nodes.c:
 * the Merkle node index; journal_put.c: what one entry writes;
 * journal_commit.c: appending with group commit; journal_read.c: the read
 * side; journal_revoke.c: revocations; journal_crl.c: CRL records;
 * journal_state.c: a serial's validity and revocation; journal_stream.c: the auditor's
 * walk; inventory_*.c: the
 * certificate index). Nothing outside
 * signer/journal/ includes this header.
 */
#ifndef JOURNAL_INTERNAL_H
#define JOURNAL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "inventory.h"
#include "journal.h"
#include "merkle.h"

#define JOURNAL_MAGIC "SDJR"
#define JOURNAL_MAGIC_LEN 4
/* magic 4, version 1, type 1, seq 8, time_ms 8, prev_hash 32 */
#define JOURNAL_HEADER_LEN 54
#define JOURNAL_SEQ_LEN 8

/*
 * Upper bound of any encoded record: the header, at most 12 length
 * prefixes, three long texts, short texts and hashes, one certificate.
 */
#define JOURNAL_RECORD_MAX \
	(JOURNAL_HEADER_LEN + 12 * 4 + 3 * JOURNAL_TEXT_MAX + 512 + 4 * JOURNAL_HASH_LEN + \
	    JOURNAL_SERIAL_MAX + 32 + JOURNAL_CERT_MAX)

/* A thread waiting for its entries to be committed (journal_commit.c). */
struct journal_waiter;

/* One append waiting for the committer. */
struct journal_entry {
	const struct journal_record *rec;	/* borrowed; NULL for a checkpoint */
	journal_checkpoint_sign_fn sign;
	void *sign_ctx;
	int64_t cp_time_ms;
	char *note;				/* checkpoint note, owned */
	uint64_t seq;
	int rc;
	char detail[256];
	struct journal_waiter *waiter;		/* the thread that queued it; NULL: nobody waits (later) */
	struct journal_record *later;		/* journal_append_later()'s own copy (rec), freed when done */
	struct journal_entry *next;
};

struct journal {
	MDB_env *env;
	MDB_dbi records;		/* be64 seq -> encoded record (MDB_APPEND) */
	MDB_dbi serials;		/* serial -> be64 seq of its intent or legacy issuance */
	MDB_dbi results;		/* be64 intent seq -> be64 result seq */
	MDB_dbi nodes;			/* be64 last leaf seq || level -> Merkle subtree hash (MDB_APPEND) */
	MDB_dbi checkpoints;		/* be64 seq -> be64 tree size (MDB_APPEND) */
	MDB_dbi revocations;		/* serial -> be64 seq of its revocation record */
	bool has_revocations;		/* false: a read-only open of a journal from before revocations */
	MDB_dbi crls;			/* be64 seq of a CRL record -> be64 its number (MDB_APPEND) */
	bool has_crls;			/* false: a read-only open of a journal from before CRL records */
	struct inv_dbs inv;		/* the certificate index (inventory.h) */
	bool readonly;
	bool ready;			/* mutexes initialised */
	/*
	 * Every transaction holds map_lock shared; growing the map takes it
	 * exclusively, since LMDB remaps and no transaction may be live then.
	 */
	pthread_rwlock_t map_lock;
	/*
	 * queue_lock guards the queue, committing, the tail and the stats.
	 * committing: some thread holds the committer role (it is committing,
	 * or has been handed the role and is about to); the queue holds what
	 * its next commit takes.
	 */
	pthread_mutex_t queue_lock;
	struct journal_entry *queue_head, *queue_tail;
	bool committing;
	uint64_t last_seq;			/* 0 when empty */
	uint8_t last_hash[JOURNAL_HASH_LEN];	/* zeros when empty */
	struct merkle_frontier tree;		/* of the last_seq records */
	uint64_t map_size, map_max;
	struct journal_stats stats;
	/*
	 * Appends nobody waits for (journal_append_later()), under queue_lock:
	 * later_queued and later_done count them; flush_waiters threads wait
	 * in journal_flush() for later_done (broadcast on flushed). The flusher
	 * thread commits what no waiting append took along within
	 * JOURNAL_LATER_DELAY_US; it runs from the first such append to close.
	 */
	uint64_t later_queued, later_done;
	unsigned flush_waiters;
	pthread_cond_t flushed, flusher_wake;	/* flusher_wake on CLOCK_MONOTONIC */
	bool flusher_running, flusher_stop;
	pthread_t flusher;
	/*
	 * The certificate index (inventory_batch.c): index_lock lets one batch
	 * be derived or written at a time (but for one riding on a commit);
	 * indexed_through (under queue_lock) is the last record it covers; the
	 * indexer thread runs while indexer_running.
	 */
	pthread_mutex_t index_lock;
	uint64_t indexed_through;
	struct inv_batch *index_pending;	/* under queue_lock: for the next group commit */
	bool index_inflight;			/* under queue_lock: a commit took it */
	bool indexer_running, indexer_stop;
	unsigned indexer_interval_ms;
	pthread_t indexer;
	pthread_mutex_t indexer_mutex;
	pthread_cond_t indexer_cond;
};

/* pthread_mutex_lock() and _unlock(), aborting if they fail. */
void journal_mutex_lock(pthread_mutex_t *m);
void journal_mutex_unlock(pthread_mutex_t *m);

/* pthread_cond_init() on CLOCK_MONOTONIC, for timed waits the wall clock must not move. Returns an errno value. */
int journal_cond_init_monotonic(pthread_cond_t *c);

/* pthread_create() of a thread that takes no signal. Returns an errno value. */
int journal_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Map an LMDB failure to a project error; what says what was being done. */
int journal_mdb_error(struct journal *j, int mrc, const char *what);

/*
 * The seq that starts the last key of dbi in txn's snapshot (0 when dbi is
 * empty): every index is keyed by a big-endian seq, some with a suffix, so
 * its keys are key_len bytes. what names the index in messages.
 * Errors: SD_E_JOURNAL_CORRUPT (a key of another length), SD_E_JOURNAL.
 */
SD_WUR int journal_db_last_seq(struct journal *j, MDB_txn *txn, MDB_dbi dbi, size_t key_len, const char *what,
    uint64_t *seq);

/*
 * Begin a transaction with flags, map_lock taken shared (adopting a map
 * another process grew); on failure the lock is not held. End it with
 * mdb_txn_commit() or mdb_txn_abort(), then journal_map_unlock().
 * Errors: SD_E_JOURNAL, SD_E_JOURNAL_FULL.
 */
SD_WUR int journal_txn_begin(struct journal *j, unsigned flags, MDB_txn **txn);
void journal_map_unlock(struct journal *j);

/* A read transaction (map_lock taken shared); end it with journal_read_end(). */
SD_WUR int journal_read_begin(struct journal *j, MDB_txn **txn);
void journal_read_end(struct journal *j, MDB_txn *txn);

/*
 * Grow the map towards map_max; the caller holds no transaction (this waits
 * until the others have ended).
 * Errors: SD_E_JOURNAL_FULL when it is there already, SD_E_JOURNAL.
 */
SD_WUR int journal_grow(struct journal *j);

/* 8-byte big-endian key for seq in key, described by val. */
void journal_key(uint8_t key[JOURNAL_SEQ_LEN], uint64_t seq, MDB_val *val);

/* The seq of a records key. Errors: SD_E_JOURNAL_CORRUPT (a key of another length). */
SD_WUR int journal_key_seq(const MDB_val *k, uint64_t *seq);

/* Record seq in txn, decoded and hashed. Errors: SD_E_NOT_FOUND, SD_E_JOURNAL_CORRUPT, SD_E_JOURNAL, SD_E_NOMEM. */
SD_WUR int journal_txn_get(struct journal *j, MDB_txn *txn, uint64_t seq, struct journal_record **out);

/* journal_txn_get(), computing hash and leaf_hash only when hash is true. Same errors. */
SD_WUR int journal_txn_get_hash(struct journal *j, MDB_txn *txn, uint64_t seq, bool hash,
    struct journal_record **out);

/*
 * The last seq and hash in txn (0 and zeros when empty), checking that the
 * tail record decodes, sits under its own seq and chains to the record
 * before it. Errors: SD_E_JOURNAL_CORRUPT, SD_E_JOURNAL, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int journal_tail_read(struct journal *j, MDB_txn *txn, uint64_t *seq_out, uint8_t hash[JOURNAL_HASH_LEN]);

/* Writer state carried through one batch. */
struct journal_tail {
	uint64_t seq;
	uint8_t hash[JOURNAL_HASH_LEN];
	struct merkle_frontier tree;
};

/*
 * Bring t up to the tail in txn when another process has appended since
 * (journal_tail_read() and journal_tree_load()). Errors: theirs; SD_E_JOURNAL_CORRUPT
 * also when records this process appended have vanished.
 */
SD_WUR int journal_tail_sync(struct journal *j, MDB_txn *txn, struct journal_tail *t);

/*
 * Write entry e into txn as the record after t, advancing t and setting
 * e->seq on success. With nested, the writes go through a child
 * transaction and a failure leaves txn as it was; without, a failure from
 * the first write on sets *spoiled and txn must then be aborted.
 * Errors: SD_E_INVAL and SD_E_INTERNAL (refused by the store: a duplicate
 * serial, a result without its intent), those of the checkpoint signer,
 * SD_E_JOURNAL_FULL, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int journal_entry_put(struct journal *j, MDB_txn *txn, struct journal_entry *e, struct journal_tail *t,
    bool nested, bool *spoiled);

/*
 * The committer's round (journal_commit.c): commit everything queued, pass
 * the role on, wake the waiters of the batch but self (NULL: the caller
 * queued nothing it waits for) and free its entries nobody waits for. The
 * caller holds the committer role.
 */
void journal_commit_round(struct journal *j, const struct journal_waiter *self);

/* Stop the flusher thread (journal_later.c), committing what it would have. */
void journal_later_stop(struct journal *j);

/* Merkle node (level, index) from the nodes DB in txn, as a merkle_source. */
struct journal_node_ctx {
	struct journal *j;
	MDB_txn *txn;
};
int journal_node_get(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);

/*
 * Store the n Merkle nodes that record seq completes (merkle_frontier_add()'s
 * done). Errors: SD_E_JOURNAL_FULL, SD_E_JOURNAL.
 */
SD_WUR int journal_nodes_put(struct journal *j, MDB_txn *txn, uint64_t seq, const uint8_t nodes[][MERKLE_HASH_LEN],
    unsigned n);

/*
 * Load into tree the frontier of the first last records of txn, indexing
 * the records the node index lacks first (writers only), and check that
 * the stored leaf of record last is its own.
 * Errors: SD_E_JOURNAL_CORRUPT, SD_E_JOURNAL_FULL, SD_E_JOURNAL, SD_E_INVAL, SD_E_TOO_LARGE, SD_E_CRYPTO.
 */
SD_WUR int journal_tree_load(struct journal *j, MDB_txn *txn, uint64_t last, struct merkle_frontier *tree);

/*
 * The seq of serial's certificate in txn: the result of its intent, or its
 * legacy issuance. Errors: SD_E_NOT_FOUND (unknown serial, or an intent
 * without a result; the detail names the serial), SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT (an index entry that is not a seq).
 */
SD_WUR int journal_cert_seq(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len, uint64_t *seq);

/*
 * journal_entry_put()'s part for a revocation record rec at seq: serial's
 * certificate exists and the revocations index gains serial -> seq.
 * Errors: SD_E_NOT_FOUND (no certificate), SD_E_INVAL (revoked already; the
 * detail names the serial and the record), SD_E_JOURNAL_FULL, SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT.
 */
SD_WUR int journal_revocation_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq);

/*
 * The revocation of serial in txn: *seq (optional) its record's seq, and
 * *out (optional) the record, checked to be serial's revocation.
 * Errors: SD_E_NOT_FOUND (not revoked), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int journal_revocation_txn_get(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len,
    uint64_t *seq, struct journal_record **out);

/* Set c's revoked, revoked_ms and revocation_reason from txn. Errors: as journal_revocation_txn_get() but NOT_FOUND. */
SD_WUR int journal_revocation_fill(struct journal *j, MDB_txn *txn, struct journal_cert *c);

/*
 * journal_entry_put()'s part for a CRL record rec at seq: its number is
 * greater than the last CRL's in txn, and the crls index gains seq -> number.
 * Errors: SD_E_INVAL (not greater; the detail names both numbers and the
 * earlier record), SD_E_JOURNAL_FULL, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT.
 */
SD_WUR int journal_crl_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq);

/*
 * The last CRL in txn's crls index: its number and seq (both 0 when none,
 * or when a read-only handle's journal predates the index).
 * Errors: SD_E_JOURNAL_CORRUPT (an entry that is not a seq and a number), SD_E_JOURNAL.
 */
SD_WUR int journal_crl_txn_last(struct journal *j, MDB_txn *txn, uint64_t *number, uint64_t *seq);

void journal_be64_put(uint8_t out[8], uint64_t v);
uint64_t journal_be64_get(const uint8_t in[8]);

/* SHA-256 of buf. Errors: SD_E_CRYPTO. */
SD_WUR int journal_hash(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN]);

/*
 * A copy of rec that owns its buffers (journal_record_free()), holding only
 * the fields of its type. Errors: SD_E_INVAL (a field out of its limits), SD_E_NOMEM.
 */
SD_WUR int journal_record_dup(const struct journal_record *rec, struct journal_record **out);

/* Check every field of rec's type against its limit. Errors: SD_E_INVAL. */
SD_WUR int journal_record_check(const struct journal_record *rec);

/*
 * Encode rec with the given header values into a new buffer (free with
 * free()). Errors: SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int journal_record_encode_at(const struct journal_record *rec, uint64_t seq,
    const uint8_t prev_hash[JOURNAL_HASH_LEN], uint8_t **out, size_t *len);

/*
 * Decode without computing hash and leaf_hash (the caller has them).
 * Errors: as journal_record_decode().
 */
SD_WUR int journal_record_decode_nohash(const uint8_t *buf, size_t len, struct journal_record **out);

/* Both hashes of an encoded record. Errors: SD_E_CRYPTO. */
SD_WUR int journal_record_hashes(const uint8_t *buf, size_t len, uint8_t hash[JOURNAL_HASH_LEN],
    uint8_t leaf[JOURNAL_HASH_LEN]);

#endif
