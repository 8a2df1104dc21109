/*
 * The Merkle node index (README "Journal format", database nodes): the
 * hash of every complete subtree, stored under the seq of the record that
 * completes it, written in the same transaction as that record. On open it
 * is brought up to the records and gives the frontier the next append
 * extends, and a deleted tail shows as nodes past the last record.
 */
#include <stdint.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"

#define JOURNAL_NODE_KEY_LEN 9

static void
journal_node_key(uint8_t key[JOURNAL_NODE_KEY_LEN], uint64_t seq, unsigned level, MDB_val *val)
{
	journal_be64_put(key, seq);
	key[8] = (uint8_t)level;
	val->mv_size = JOURNAL_NODE_KEY_LEN;
	val->mv_data = key;
}

int
journal_node_get(void *vctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct journal_node_ctx *ctx = vctx;
	uint8_t key[JOURNAL_NODE_KEY_LEN];
	MDB_val k, v;
	uint64_t last;
	int mrc;

	if (level >= 64 || index >= (UINT64_MAX >> level))
		return sd_error_set(SD_E_INVAL, "journal: no Merkle node %u/%llu", level, (unsigned long long)index);
	/* The node is stored under the seq of its last leaf: (index + 1) * 2^level. */
	last = (index + 1) << level;
	journal_node_key(key, last, level, &k);
	if ((mrc = mdb_get(ctx->txn, ctx->j->nodes, &k, &v)) == MDB_NOTFOUND)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: Merkle node %u/%llu (record %llu) is missing",
		    level, (unsigned long long)index, (unsigned long long)last);
	if (mrc != 0)
		return journal_mdb_error(ctx->j, mrc, "reading a Merkle node");
	if (v.mv_size != MERKLE_HASH_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: Merkle node %u/%llu holds %zu bytes", level,
		    (unsigned long long)index, v.mv_size);
	memcpy(out, v.mv_data, MERKLE_HASH_LEN);
	return 0;
}

/* Seq of the last record that has Merkle nodes (0 when none). */
static int
journal_nodes_last(struct journal *j, MDB_txn *txn, uint64_t *seq)
{
	return journal_db_last_seq(j, txn, j->nodes, JOURNAL_NODE_KEY_LEN, "Merkle node", seq);
}

/* Store the nodes that record seq completes. */
int
journal_nodes_put(struct journal *j, MDB_txn *txn, uint64_t seq, const uint8_t nodes[][MERKLE_HASH_LEN], unsigned n)
{
	uint8_t key[JOURNAL_NODE_KEY_LEN];
	MDB_val k, v;
	unsigned level;
	int mrc;

	for (level = 0; level < n; level++) {
		journal_node_key(key, seq, level, &k);
		v.mv_size = MERKLE_HASH_LEN;
		v.mv_data = (void *)(uintptr_t)nodes[level];	/* LMDB does not write through it */
		if ((mrc = mdb_put(txn, j->nodes, &k, &v, MDB_APPEND)) != 0)
			return journal_mdb_error(j, mrc, "writing a Merkle node");
	}
	return 0;
}

/*
 * Bring the node index up to the records (a journal written before the
 * index existed), then load the frontier for last records and check that
 * the stored leaf of the tail is the tail's.
 */
int
journal_tree_load(struct journal *j, MDB_txn *txn, uint64_t last, struct merkle_frontier *tree)
{
	struct journal_node_ctx ctx = { j, txn };
	struct merkle_source src = { journal_node_get, &ctx };
	uint8_t done[MERKLE_LEVELS][MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN], hash[JOURNAL_HASH_LEN];
	uint8_t key[JOURNAL_SEQ_LEN];
	uint64_t nseq, seq;
	MDB_val k, v;
	unsigned n;
	int rc, mrc;

	if ((rc = journal_nodes_last(j, txn, &nseq)) != 0)
		return rc;
	if (nseq > last)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "journal: Merkle nodes reach record %llu but the records end at %llu (tail deleted?)",
		    (unsigned long long)nseq, (unsigned long long)last);
	if ((rc = merkle_frontier_load(&src, nseq, tree)) != 0)
		return rc;
	for (seq = nseq + 1; seq <= last; seq++) {
		if (j->readonly)
			return sd_error_set(SD_E_JOURNAL, "journal: Merkle nodes end at record %llu of %llu",
			    (unsigned long long)nseq, (unsigned long long)last);
		journal_key(key, seq, &k);
		if ((mrc = mdb_get(txn, j->records, &k, &v)) != 0)
			return journal_mdb_error(j, mrc, "reading a record to index");
		if ((rc = journal_record_hashes(v.mv_data, v.mv_size, hash, leaf)) != 0 ||
		    (rc = merkle_frontier_add(tree, leaf, done, &n)) != 0 ||
		    (rc = journal_nodes_put(j, txn, seq, done, n)) != 0)
			return rc;
	}
	if (last == 0)
		return 0;
	journal_key(key, last, &k);
	if ((mrc = mdb_get(txn, j->records, &k, &v)) != 0)
		return journal_mdb_error(j, mrc, "reading the tail record");
	if ((rc = journal_record_hashes(v.mv_data, v.mv_size, hash, leaf)) != 0 ||
	    (rc = journal_node_get(&ctx, 0, last - 1, done[0])) != 0)
		return rc;
	if (memcmp(leaf, done[0], MERKLE_HASH_LEN) != 0)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: the stored Merkle leaf of tail record %llu does not match it",
		    (unsigned long long)last);
	return 0;
}
