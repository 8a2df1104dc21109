/*
 * The journal store, read side: records, the serial index, Merkle roots
 * and proofs from the node index, the full verification walk, health and
 * online backup. Every read transaction holds the map lock shared
 * (journal_read_begin()), so that the writer can grow the map safely.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

/*
 * journal_health() reports the map full when less than one largest record
 * plus this many pages (copy-on-write B-tree and free-list updates) is left
 * past the last used page of the largest map allowed.
 */
#define JOURNAL_HEALTH_COW_PAGES 16

static int
journal_seq_of(const MDB_val *v, uint64_t *seq)
{
	if (v->mv_size != JOURNAL_SEQ_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "journal: index entry of %zu bytes is not a seq", v->mv_size);
	*seq = journal_be64_get(v->mv_data);
	return 0;
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
	journal_flush(j);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_txn_get(j, txn, seq, out);
	journal_read_end(j, txn);
	return rc;
}

int
journal_get_raw(struct journal *j, uint64_t seq, uint8_t **out, size_t *len)
{
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (out == NULL || len == NULL || j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_get_raw: NULL argument");
	*out = NULL;
	*len = 0;
	journal_flush(j);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	journal_key(key, seq, &k);
	if ((mrc = mdb_get(txn, j->records, &k, &v)) == MDB_NOTFOUND)
		rc = sd_error_set(SD_E_NOT_FOUND, "journal: no record %llu", (unsigned long long)seq);
	else if (mrc != 0)
		rc = journal_mdb_error(j, mrc, "reading a record");
	else if ((*out = malloc(v.mv_size == 0 ? 1 : v.mv_size)) == NULL)
		rc = SD_E_NOMEM;
	else {
		memcpy(*out, v.mv_data, v.mv_size);
		*len = v.mv_size;
		rc = 0;
	}
	journal_read_end(j, txn);
	return rc;
}

int
journal_foreach_raw(struct journal *j, uint64_t from, journal_visit_raw_fn fn, void *ctx)
{
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (j == NULL || fn == NULL)
		return sd_error_set(SD_E_INVAL, "journal_foreach: NULL argument");
	journal_flush(j);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	journal_key(key, from, &k);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != JOURNAL_SEQ_LEN) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record key of %zu bytes is not a sequence number",
			    k.mv_size);
			goto out;
		}
		if ((rc = fn(journal_be64_get(k.mv_data), v.mv_data, v.mv_size, ctx)) != 0)
			goto out;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the records");
out:
	mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}

struct journal_visit {
	journal_visit_fn fn;
	void *ctx;
};

static int
journal_visit_decoded(uint64_t key, const uint8_t *raw, size_t len, void *vctx)
{
	struct journal_visit *c = vctx;
	struct journal_record *rec = NULL;
	char detail[256];
	int rc;

	if ((rc = journal_record_decode(raw, len, &rec)) != 0) {
		if (rc != SD_E_JOURNAL_CORRUPT)
			return rc;
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is undecodable: %s", (unsigned long long)key,
		    detail);
	}
	if (rec->seq != key)
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record stored under key %llu carries seq %llu (records reordered or moved)",
		    (unsigned long long)key, (unsigned long long)rec->seq);
	else
		rc = c->fn(rec, c->ctx);
	journal_record_free(rec);
	return rc;
}

int
journal_foreach(struct journal *j, uint64_t from, journal_visit_fn fn, void *ctx)
{
	struct journal_visit c = { fn, ctx };

	if (fn == NULL)
		return sd_error_set(SD_E_INVAL, "journal_foreach: NULL argument");
	return journal_foreach_raw(j, from, journal_visit_decoded, &c);
}

int
journal_find_serial(struct journal *j, const uint8_t *serial, size_t len, uint64_t *intent_seq, uint64_t *result_seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (intent_seq != NULL)
		*intent_seq = 0;
	if (result_seq != NULL)
		*result_seq = 0;
	if (j == NULL || serial == NULL || intent_seq == NULL || result_seq == NULL)
		return sd_error_set(SD_E_INVAL, "journal_find_serial: NULL argument");
	if (len == 0 || len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "serial of %zu bytes", len);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	k.mv_size = len;
	k.mv_data = (void *)(uintptr_t)serial;
	if ((mrc = mdb_get(txn, j->serials, &k, &v)) == MDB_NOTFOUND) {
		sd_hex_encode(serial, len, hex);
		rc = sd_error_set(SD_E_NOT_FOUND, "serial %s is not in the journal", hex);
		goto out;
	}
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the serial index");
		goto out;
	}
	if ((rc = journal_seq_of(&v, intent_seq)) != 0)
		goto out;
	journal_key(key, *intent_seq, &k);
	mrc = mdb_get(txn, j->results, &k, &v);
	if (mrc == MDB_NOTFOUND)
		rc = 0;
	else if (mrc != 0)
		rc = journal_mdb_error(j, mrc, "reading the result index");
	else
		rc = journal_seq_of(&v, result_seq);
out:
	journal_read_end(j, txn);
	return rc;
}

int
journal_last_checkpoint(struct journal *j, uint64_t *seq_out)
{
	MDB_txn *txn = NULL;
	int rc;

	if (seq_out == NULL || j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_last_checkpoint: NULL argument");
	*seq_out = 0;
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_db_last_seq(j, txn, j->checkpoints, JOURNAL_SEQ_LEN, "checkpoint", seq_out);
	journal_read_end(j, txn);
	return rc;
}

/* Records in txn's snapshot. */
static int
journal_txn_count(struct journal *j, MDB_txn *txn, uint64_t *n)
{
	return journal_db_last_seq(j, txn, j->records, JOURNAL_SEQ_LEN, "record", n);
}

int
journal_tree_head(struct journal *j, uint64_t *size, uint8_t root[JOURNAL_HASH_LEN])
{
	struct merkle_frontier *f = NULL;
	struct journal_node_ctx ctx;
	struct merkle_source src = { journal_node_get, &ctx };
	MDB_txn *txn = NULL;
	int rc;

	if (j == NULL || size == NULL || root == NULL)
		return sd_error_set(SD_E_INVAL, "journal_tree_head: NULL argument");
	*size = 0;
	journal_flush(j);
	if ((f = malloc(sizeof(*f))) == NULL)
		return SD_E_NOMEM;
	if ((rc = journal_read_begin(j, &txn)) != 0)
		goto out;
	ctx.j = j;
	ctx.txn = txn;
	if ((rc = journal_txn_count(j, txn, size)) != 0 || (rc = merkle_frontier_load(&src, *size, f)) != 0)
		goto out;
	rc = merkle_frontier_root(f, root);
out:
	journal_read_end(j, txn);
	free(f);
	return rc;
}

int
journal_tree_root(struct journal *j, uint64_t size, uint8_t root[JOURNAL_HASH_LEN])
{
	struct journal_node_ctx ctx;
	struct merkle_source src = { journal_node_get, &ctx };
	struct merkle_frontier f;
	MDB_txn *txn = NULL;
	uint64_t n;
	int rc;

	if (j == NULL || root == NULL)
		return sd_error_set(SD_E_INVAL, "journal_tree_root: NULL argument");
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	ctx.j = j;
	ctx.txn = txn;
	if ((rc = journal_txn_count(j, txn, &n)) != 0)
		goto out;
	if (size > n) {
		rc = sd_error_set(SD_E_INVAL, "journal: tree size %llu is larger than the %llu records",
		    (unsigned long long)size, (unsigned long long)n);
		goto out;
	}
	if (size == 0) {
		merkle_frontier_init(&f);
		rc = merkle_frontier_root(&f, root);
	} else {
		rc = merkle_range_hash(&src, 0, size, root);
	}
out:
	journal_read_end(j, txn);
	return rc;
}

static int
journal_proof(struct journal *j, bool inclusion, uint64_t a, uint64_t b, uint8_t proof[][JOURNAL_HASH_LEN],
    size_t *count)
{
	struct journal_node_ctx ctx;
	struct merkle_source src = { journal_node_get, &ctx };
	MDB_txn *txn = NULL;
	uint64_t n;
	int rc;

	*count = 0;
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	ctx.j = j;
	ctx.txn = txn;
	if ((rc = journal_txn_count(j, txn, &n)) != 0)
		goto out;
	if (b > n) {
		rc = sd_error_set(SD_E_INVAL, "journal: tree size %llu is larger than the %llu records",
		    (unsigned long long)b, (unsigned long long)n);
		goto out;
	}
	if (inclusion)
		rc = a == 0 ? sd_error_set(SD_E_INVAL, "journal: no record 0") :
		    merkle_inclusion_proof(&src, a - 1, b, proof, count);
	else
		rc = merkle_consistency_proof(&src, a, b, proof, count);
out:
	journal_read_end(j, txn);
	return rc;
}

int
journal_inclusion_proof(struct journal *j, uint64_t seq, uint64_t size, uint8_t proof[][JOURNAL_HASH_LEN], size_t *n)
{
	if (j == NULL || proof == NULL || n == NULL)
		return sd_error_set(SD_E_INVAL, "journal_inclusion_proof: NULL argument");
	journal_flush(j);
	return journal_proof(j, true, seq, size, proof, n);
}

int
journal_consistency_proof(struct journal *j, uint64_t m, uint64_t n, uint8_t proof[][JOURNAL_HASH_LEN],
    size_t *count)
{
	if (j == NULL || proof == NULL || count == NULL)
		return sd_error_set(SD_E_INVAL, "journal_consistency_proof: NULL argument");
	return journal_proof(j, false, m, n, proof, count);
}

/* The index entry key in db must map to want (an 8-byte seq). */
static int
journal_index_check(struct journal *j, MDB_txn *txn, MDB_dbi db, const void *key, size_t key_len, uint64_t want,
    const char *what, uint64_t seq)
{
	MDB_val k, v;
	int mrc;

	k.mv_size = key_len;
	k.mv_data = (void *)(uintptr_t)key;
	mrc = mdb_get(txn, db, &k, &v);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading an index");
	if (mrc == MDB_NOTFOUND)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "%s of record %llu is missing", what, (unsigned long long)seq);
	if (v.mv_size != JOURNAL_SEQ_LEN || journal_be64_get(v.mv_data) != want)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "%s of record %llu is mapped to another record%s", what,
		    (unsigned long long)seq, db == j->serials ? " (which has another serial)" : "");
	return 0;
}

/*
 * A revocation record: its serial has a certificate earlier in the journal
 * (the serial and result indexes are checked against their own records as
 * the walk passes them), and the revocation index maps the serial to it.
 */
static int
journal_revocation_indexes(struct journal *j, MDB_txn *txn, const struct journal_record *rec)
{
	char what[80], hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint64_t cert = 0;
	int rc;

	sd_hex_encode(rec->serial, rec->serial_len, hex);
	rc = journal_cert_seq(j, txn, rec->serial, rec->serial_len, &cert);
	if (rc != 0 && rc != SD_E_NOT_FOUND)
		return rc;
	if (rc == SD_E_NOT_FOUND || cert >= rec->seq)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "revocation record %llu: serial %s has no certificate earlier in the journal",
		    (unsigned long long)rec->seq, hex);
	if (!j->has_revocations)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "revocation index: missing, yet record %llu revokes serial %s", (unsigned long long)rec->seq, hex);
	if (snprintf(what, sizeof(what), "revocation index: entry for serial %s", hex) < 0)
		what[0] = '\0';
	return journal_index_check(j, txn, j->revocations, rec->serial, rec->serial_len, rec->seq, what, rec->seq);
}

/* A CRL record: the crls index maps its seq to its number. */
static int
journal_crl_index(struct journal *j, MDB_txn *txn, const struct journal_record *rec)
{
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	int mrc;

	if (!j->has_crls)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "crls index: missing, yet record %llu is a CRL",
		    (unsigned long long)rec->seq);
	journal_key(key, rec->seq, &k);
	mrc = mdb_get(txn, j->crls, &k, &v);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the crls index");
	if (mrc == MDB_NOTFOUND)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "crls index: entry of record %llu is missing",
		    (unsigned long long)rec->seq);
	if (v.mv_size != JOURNAL_SEQ_LEN || journal_be64_get(v.mv_data) != rec->crl_number)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "crls index: entry of record %llu does not hold its CRL number %llu", (unsigned long long)rec->seq,
		    (unsigned long long)rec->crl_number);
	return 0;
}

/*
 * The last CRL number the index keeps (what the next CRL is checked
 * against) must be that of the last CRL record, crl_seq (0: none).
 */
static int
journal_crl_last_check(struct journal *j, MDB_txn *txn, uint64_t crl_seq, uint64_t crl_number, uint64_t *bad_seq)
{
	uint64_t number = 0, seq = 0;
	int rc;

	if ((rc = journal_crl_txn_last(j, txn, &number, &seq)) != 0)
		return rc;
	if (seq == crl_seq && number == crl_number)
		return 0;
	*bad_seq = seq > crl_seq ? seq : crl_seq;
	return sd_error_set(SD_E_JOURNAL_CORRUPT,
	    "crls index: the last CRL number is %llu (record %llu), but the last CRL record is %llu (record %llu)",
	    (unsigned long long)number, (unsigned long long)seq, (unsigned long long)crl_number,
	    (unsigned long long)crl_seq);
}

/* The indexes verify counts: serials, results, checkpoints, Merkle nodes, revocations, crls. */
#define JOURNAL_INDEXES 6

/* The index entries for rec, and the Merkle nodes it completed. */
static int
journal_record_indexes(struct journal *j, MDB_txn *txn, MDB_cursor *nodes, const struct journal_record *rec,
    const uint8_t (*done)[JOURNAL_HASH_LEN], unsigned n, uint64_t counts[JOURNAL_INDEXES])
{
	char what[80], hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	unsigned level;
	int rc = 0, mrc;

	switch (rec->type) {
	case JOURNAL_REC_ISSUANCE:
	case JOURNAL_REC_INTENT:
	case JOURNAL_REC_INTENT_TBS:
		sd_hex_encode(rec->serial, rec->serial_len, hex);
		if (snprintf(what, sizeof(what), "serial index: entry for serial %s", hex) < 0)
			what[0] = '\0';
		rc = journal_index_check(j, txn, j->serials, rec->serial, rec->serial_len, rec->seq, what, rec->seq);
		counts[0]++;
		break;
	case JOURNAL_REC_RESULT:
		journal_be64_put(key, rec->intent_seq);
		rc = journal_index_check(j, txn, j->results, key, JOURNAL_SEQ_LEN, rec->seq, "result index: entry",
		    rec->seq);
		counts[1]++;
		break;
	case JOURNAL_REC_CHECKPOINT:
		journal_be64_put(key, rec->seq);
		rc = journal_index_check(j, txn, j->checkpoints, key, JOURNAL_SEQ_LEN, rec->tree_size,
		    "checkpoint index: entry", rec->seq);
		counts[2]++;
		break;
	case JOURNAL_REC_REVOCATION:
		rc = journal_revocation_indexes(j, txn, rec);
		counts[4]++;
		break;
	case JOURNAL_REC_CRL:
		rc = journal_crl_index(j, txn, rec);
		counts[5]++;
		break;
	default:
		break;
	}
	if (rc != 0)
		return rc;
	for (level = 0; level < n; level++) {
		mrc = mdb_cursor_get(nodes, &k, &v, MDB_NEXT);
		if (mrc != 0 && mrc != MDB_NOTFOUND)
			return journal_mdb_error(j, mrc, "walking the Merkle nodes");
		if (mrc == MDB_NOTFOUND || k.mv_size != 9 || journal_be64_get(k.mv_data) != rec->seq ||
		    ((uint8_t *)k.mv_data)[8] != level)
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "Merkle node %u of record %llu is missing", level,
			    (unsigned long long)rec->seq);
		if (v.mv_size != JOURNAL_HASH_LEN || memcmp(v.mv_data, done[level], JOURNAL_HASH_LEN) != 0)
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "Merkle node %u of record %llu modified", level,
			    (unsigned long long)rec->seq);
		counts[3]++;
	}
	return 0;
}

/*
 * Every record's serial maps to its seq, yet the serial index holds more
 * entries: name the first stray one and the record it points to.
 */
static int
journal_serial_stray(struct journal *j, MDB_txn *txn, uint64_t *bad_seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->serials, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		sd_hex_encode(k.mv_data, k.mv_size > JOURNAL_SERIAL_MAX ? JOURNAL_SERIAL_MAX : k.mv_size, hex);
		if ((rc = journal_seq_of(&v, &seq)) != 0)
			goto out;
		rc = journal_txn_get(j, txn, seq, &rec);
		if (rc == SD_E_NOT_FOUND) {
			*bad_seq = seq;
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "serial index: serial %s points to record %llu, which is missing", hex, (unsigned long long)seq);
			goto out;
		}
		if (rc != 0)
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
	rc = mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the serial index");
out:
	journal_record_free(rec);
	mdb_cursor_close(cur);
	return rc;
}

/*
 * Every revocation record has its entry, yet the revocation index holds
 * more: name the first stray one and the record it points to.
 */
static int
journal_revocation_stray(struct journal *j, MDB_txn *txn, uint64_t *bad_seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq = 0;
	int rc, mrc;

	if ((mrc = mdb_cursor_open(txn, j->revocations, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		sd_hex_encode(k.mv_data, k.mv_size > JOURNAL_SERIAL_MAX ? JOURNAL_SERIAL_MAX : k.mv_size, hex);
		if ((rc = journal_seq_of(&v, &seq)) != 0)
			goto out;
		rc = journal_txn_get(j, txn, seq, &rec);
		if (rc != 0 && rc != SD_E_NOT_FOUND)
			goto out;
		if (rc == SD_E_NOT_FOUND || rec->type != JOURNAL_REC_REVOCATION || rec->serial_len != k.mv_size ||
		    memcmp(rec->serial, k.mv_data, k.mv_size) != 0) {
			*bad_seq = seq;
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "revocation index: serial %s points to record %llu, which does not revoke it (stray entry)",
			    hex, (unsigned long long)seq);
			goto out;
		}
		journal_record_free(rec);
		rec = NULL;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the revocation index");
out:
	journal_record_free(rec);
	mdb_cursor_close(cur);
	return rc;
}

/*
 * Every record has its Merkle nodes, yet the node index holds more: nodes
 * past the last record mean the records after it were deleted. Name the
 * first of them (the records alone cannot: they end cleanly).
 */
static int
journal_nodes_past_end(struct journal *j, MDB_txn *txn, uint64_t last, uint64_t *bad_seq)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t seq;
	int mrc;

	if ((mrc = mdb_cursor_open(txn, j->nodes, &cur)) != 0)
		return journal_mdb_error(j, mrc, "opening a cursor");
	mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (mrc == MDB_NOTFOUND || (mrc == 0 && k.mv_size != 9))
		return 0;
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the Merkle node index");
	if ((seq = journal_be64_get(k.mv_data)) <= last)
		return 0;
	*bad_seq = last + 1;
	return sd_error_set(SD_E_JOURNAL_CORRUPT,
	    "record %llu is missing: the Merkle node index holds nodes of records up to %llu, the records end at %llu "
	    "(records deleted from the end)", (unsigned long long)last + 1, (unsigned long long)seq,
	    (unsigned long long)last);
}

/* Every record is indexed; now no index may hold more than its records (last: the last record's seq). */
static int
journal_index_counts(struct journal *j, MDB_txn *txn, const uint64_t counts[JOURNAL_INDEXES], uint64_t last,
    uint64_t *bad_seq)
{
	static const char *names[JOURNAL_INDEXES] = { "serial index", "result index", "checkpoint index",
	    "Merkle node index", "revocation index", "crls index" };
	MDB_dbi dbs[JOURNAL_INDEXES] = { j->serials, j->results, j->checkpoints, j->nodes, j->revocations, j->crls };
	MDB_stat st;
	int i, mrc, rc;

	/* Deleted tail records first: every index then holds too much, and only this names the record. */
	if ((rc = journal_nodes_past_end(j, txn, last, bad_seq)) != 0)
		return rc;
	for (i = 0; i < JOURNAL_INDEXES; i++) {
		/* A journal from before revocations, opened read-only: no database, and no records need it. */
		if ((i == 4 && !j->has_revocations) || (i == 5 && !j->has_crls))
			continue;
		if ((mrc = mdb_stat(txn, dbs[i], &st)) != 0)
			return journal_mdb_error(j, mrc, "reading an index");
		if (st.ms_entries != counts[i] && i == 0 && journal_serial_stray(j, txn, bad_seq) != 0)
			return SD_E_JOURNAL_CORRUPT;
		if (st.ms_entries != counts[i] && i == 4 && journal_revocation_stray(j, txn, bad_seq) != 0)
			return SD_E_JOURNAL_CORRUPT;
		if (st.ms_entries != counts[i])
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "%s holds %zu entries for %llu records (stray entries)",
			    names[i], st.ms_entries, (unsigned long long)counts[i]);
	}
	return 0;
}

int
journal_verify_full(struct journal *j, const struct journal_audit_key *key, struct journal_verify_report *r)
{
	const uint8_t (*done)[JOURNAL_HASH_LEN];
	struct journal_stream *s = NULL;
	struct journal_record *rec = NULL;
	MDB_cursor *cur = NULL, *nodes = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t seq = 0, counts[JOURNAL_INDEXES] = { 0, 0, 0, 0, 0, 0 }, inv_counts[3] = { 0, 0, 0 }, idx_bad = 0;
	uint64_t through = 0, crl_seq = 0, crl_number = 0;
	char idx_detail[256] = "";
	bool indexed;
	unsigned n;
	int rc, mrc, idx_rc = 0;

	if (r != NULL)
		memset(r, 0, sizeof(*r));
	if (j == NULL || r == NULL)
		return sd_error_set(SD_E_INVAL, "journal_verify: NULL argument");
	if ((rc = journal_stream_new(key, &s)) != 0)
		return rc;
	/* Taken before the read txn, so the snapshot holds at least that many records. */
	if (!j->readonly) {
		if (pthread_mutex_lock(&j->queue_lock) != 0)
			abort();
		journal_stream_set_tail(s, j->last_seq, j->last_hash);
		if (pthread_mutex_unlock(&j->queue_lock) != 0)
			abort();
	}
	if ((rc = journal_read_begin(j, &txn)) != 0)
		goto out;
	/* The certificate index trails the journal: records past the last it covers are not checked against it. */
	if ((rc = inv_through(j, txn, &indexed, &through)) != 0)
		goto out;
	if (!indexed)
		through = UINT64_MAX;
	if ((mrc = mdb_cursor_open(txn, j->records, &cur)) != 0 || (mrc = mdb_cursor_open(txn, j->nodes, &nodes)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != JOURNAL_SEQ_LEN) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record key of %zu bytes is not a sequence number",
			    k.mv_size);
			goto out;
		}
		seq = journal_be64_get(k.mv_data);
		if ((rc = journal_stream_add(s, seq, v.mv_data, v.mv_size, &rec)) != 0)
			goto out;
		journal_stream_nodes(s, &done, &n);
		if (rec->type == JOURNAL_REC_CRL) {
			crl_seq = rec->seq;
			crl_number = rec->crl_number;
		}
		/* Index faults are reported only if the records themselves hold. */
		if (idx_rc == 0 && ((idx_rc = journal_record_indexes(j, txn, nodes, rec, done, n, counts)) != 0 ||
		    (idx_rc = inv_verify_record(j, txn, rec, through, inv_counts)) != 0)) {
			if (idx_rc != SD_E_JOURNAL_CORRUPT) {
				rc = idx_rc;
				goto out;
			}
			idx_bad = seq;
			if (snprintf(idx_detail, sizeof(idx_detail), "%s", sd_error_detail(idx_rc)) < 0)
				idx_detail[0] = '\0';
		}
		journal_record_free(rec);
		rec = NULL;
	}
	if (mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "walking the records");
		goto out;
	}
	if ((rc = journal_stream_finish(s)) != 0)
		goto out;
	if (idx_rc != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s", idx_detail);
		journal_stream_report(s, r);
		r->bad_seq = idx_bad;
		goto done;
	}
	if ((rc = journal_crl_last_check(j, txn, crl_seq, crl_number, &idx_bad)) != 0 ||
	    (rc = journal_index_counts(j, txn, counts, seq, &idx_bad)) != 0 ||
	    (rc = inv_verify_counts(j, txn, seq, inv_counts)) != 0) {
		journal_stream_report(s, r);
		r->bad_seq = idx_bad;
		goto done;
	}
	rc = 0;
out:
	journal_stream_report(s, r);
done:
	if (rc != SD_E_JOURNAL_CORRUPT)
		r->bad_seq = 0;
	journal_record_free(rec);
	mdb_cursor_close(nodes);
	mdb_cursor_close(cur);
	journal_read_end(j, txn);
	journal_stream_free(s);
	return rc;
}

int
journal_verify(struct journal *j, uint64_t *count, uint64_t *bad_seq)
{
	struct journal_verify_report r;
	int rc;

	if (count != NULL)
		*count = 0;
	if (bad_seq != NULL)
		*bad_seq = 0;
	if (j == NULL || count == NULL || bad_seq == NULL)
		return sd_error_set(SD_E_INVAL, "journal_verify: NULL argument");
	rc = journal_verify_full(j, NULL, &r);
	*count = r.count;
	*bad_seq = r.bad_seq;
	return rc;
}

int
journal_health(struct journal *j)
{
	MDB_envinfo info;
	MDB_txn *txn = NULL;
	MDB_stat st;
	size_t used, reserve, cap;
	int rc, mrc;

	if (j == NULL)
		return sd_error_set(SD_E_INVAL, "journal_health: NULL argument");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	mrc = mdb_env_info(j->env, &info);
	if (mrc == 0)
		mrc = mdb_env_stat(j->env, &st);
	journal_read_end(j, txn);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the environment");
	used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	cap = info.me_mapsize > j->map_max ? info.me_mapsize : (size_t)j->map_max;
	reserve = JOURNAL_RECORD_MAX + JOURNAL_HEALTH_COW_PAGES * (size_t)st.ms_psize;
	if (used > cap || cap - used < reserve)
		return sd_error_set(SD_E_JOURNAL_FULL,
		    "journal map of %zu bytes is full: %zu bytes used, %zu needed in reserve", cap, used, reserve);
	return 0;
}

int
journal_backup(struct journal *j, const char *dest_dir)
{
	int mrc;

	if (j == NULL || dest_dir == NULL)
		return sd_error_set(SD_E_INVAL, "journal_backup: NULL argument");
	/* A read snapshot; it does not block writers in this or other processes. */
	if (pthread_rwlock_rdlock(&j->map_lock) != 0)
		abort();
	mrc = mdb_env_copy2(j->env, dest_dir, MDB_CP_COMPACT);
	if (pthread_rwlock_unlock(&j->map_lock) != 0)
		abort();
	if (mrc != 0)
		return sd_error_set(SD_E_JOURNAL, "journal: backup to %s: %s", dest_dir, mdb_strerror(mrc));
	return 0;
}
