/*
 * The certificate index (include/journal.h "certificate inventory"), inside
 * the journal room: how an entry is derived from journal records, encoded
 * and keyed. Nothing outside signer/journal/ includes this header.
 *
 * Two databases (README "Certificate index"): "inventory" holds three
 * kinds of keys, one tree so that a batch dirties one root and branch
 * path, not three:
 *   certs   'C' || be64 seq of the result (or legacy issuance) -> entry (below)
 *   expiry  'E' || be64 (not_after ^ 2^63) || be64 seq -> empty (parsed certificates only)
 *   attr    prefix || be64 seq -> empty; the prefix is 'p' || SHA-256(profile),
 *               'c' || SHA-256(client subject), or for each distinct SAN value
 *               's' 'T' || its text (dot-separated labels reversed when it holds
 *               no ':', '/' or '@') || 0x00 when at most INV_SAN_TEXT_MAX bytes,
 *               else 's' 'H' || SHA-256(value)
 * and "inv_meta": "version" -> 1 byte, present once the index exists, and
 * "through" -> be64 seq: every record up to it is indexed, none after it.
 * The index trails the journal: appends write no entries, a batch
 * (inventory_batch.c) indexes the records after "through" in a write
 * transaction of its own. Version 1 (entries written in the append's own
 * transaction) has no "through" and is complete up to the last record.
 * A serial is found through the journal's own serials and results indexes.
 * Keys that grow with seq (certs, and within one value attr and mostly
 * expiry) keep the pages a batch dirties few; SAN keys in text
 * order (com.example.www) put the names of one domain on the same pages,
 * where hashed keys would scatter every certificate's over the tree.
 * Entry: u8 version 1, u8 flags (bit 0: parsed), u8 serial length, serial,
 * be64 seq, be64 intent seq, be64 issued_ms, be64 not_before, be64
 * not_after, 32 client SPKI hash, u32+profile, u32+client subject, u32 n,
 * n x (u8 type, u32+value).
 */
#ifndef JOURNAL_INVENTORY_H
#define JOURNAL_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "journal.h"

#define INV_VERSION 2
#define INV_VERSION_INLINE 1	/* indexed in the append's transaction: complete up to the tail */
#define INV_KIND_PROFILE 'p'
#define INV_KIND_CLIENT 'c'
#define INV_KIND_SAN 's'
#define INV_SAN_TEXT_MAX 255
/* The longest inv_attr prefix ('s' 'T' text 0x00) and key (and its seq). */
#define INV_PREFIX_MAX (2 + INV_SAN_TEXT_MAX + 1)
#define INV_KEY_MAX (INV_PREFIX_MAX + 8)
#define INV_CERT_KEY_LEN 9
#define INV_EXPIRY_KEY_LEN 17
#define INV_KIND_CERT 'C'
#define INV_KIND_EXPIRY 'E'

/* The index handles; the journal holds one (j->inv). */
struct inv_dbs {
	bool ready;			/* the databases exist (a read-only open of an old journal: false) */
	MDB_dbi idx, meta;		/* "inventory" and "inv_meta" */
};

/*
 * Validity and SANs of a certificate DER, read with the strict DER reader:
 * c->parsed stays false for DER that does not read as a certificate
 * (nothing else is an error then). SANs of other kinds (otherName,
 * directoryName, ...) and IP addresses of other lengths are left out.
 * Errors: SD_E_NOMEM.
 */
SD_WUR int inv_cert_parse(const uint8_t *der, size_t len, struct journal_cert *c);

/*
 * inv_cert_parse()'s validity alone, nothing allocated (OCSP's path): false,
 * with both times 0, for DER that does not read as a certificate.
 */
bool inv_cert_validity(const uint8_t *der, size_t len, int64_t *not_before, int64_t *not_after);

/*
 * The entry for result record res stored under seq (its own seq field may
 * not be set yet) whose intent is intent, or for a legacy issuance when
 * intent is NULL. Errors: SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int inv_entry_from(const struct journal_record *res, uint64_t seq, const struct journal_record *intent,
    struct journal_cert **out);

/*
 * The entry's own fields without parsing the certificate: serial, seqs,
 * times, profile and client (c->parsed false, no SANs). Errors: SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int inv_entry_base(const struct journal_record *res, uint64_t seq, const struct journal_record *intent,
    struct journal_cert **out);

/* Encode c as an inv_certs value into a new buffer. Errors: SD_E_NOMEM, SD_E_TOO_LARGE. */
SD_WUR int inv_entry_encode(const struct journal_cert *c, uint8_t **out, size_t *len);

/* Decode an inv_certs value. Errors: SD_E_JOURNAL_CORRUPT, SD_E_NOMEM. */
SD_WUR int inv_entry_decode(const uint8_t *buf, size_t len, struct journal_cert **out);

/* The inv_attr prefix of (kind, value) in out; *len its length. Errors: SD_E_CRYPTO. */
SD_WUR int inv_attr_prefix(uint8_t kind, const char *value, uint8_t out[INV_PREFIX_MAX], size_t *len);
void inv_expiry_key(int64_t not_after, uint64_t seq, uint8_t key[INV_EXPIRY_KEY_LEN]);
void inv_cert_key(uint64_t seq, uint8_t key[INV_CERT_KEY_LEN]);

/* Whether SAN i of c repeats an earlier SAN value (indexed once). */
bool inv_san_repeats(const struct journal_cert *c, size_t i);

/* A key the entry of c is found under besides its 'C' key; what names its kind in messages. */
struct inv_key {
	uint8_t key[INV_KEY_MAX];
	size_t len;
	const char *what;
};

/*
 * The keys of c besides its 'C' key (expiry when parsed, profile, client,
 * each distinct SAN) into a new array of *n (free()). Errors: SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int inv_entry_keys(const struct journal_cert *c, struct inv_key **keys, size_t *n);

/*
 * The entry of record rec of txn (a result, with its intent read from txn,
 * or a legacy issuance); *out stays NULL for other types.
 * Errors: SD_E_JOURNAL_CORRUPT (the intent is missing), SD_E_INVAL, SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int inv_record_entry(struct journal *j, MDB_txn *txn, const struct journal_record *rec,
    struct journal_cert **out);

/*
 * Begin a read of the index; with sync, a writer handle catches up first
 * (journal_index_sync()). *through is the last record the index covers.
 * End it with journal_read_end(). Errors: SD_E_NOT_FOUND (no index), those
 * of journal_index_sync(), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT.
 */
SD_WUR int inv_read_begin(struct journal *j, bool sync, MDB_txn **txn, uint64_t *through);

/*
 * Open the index databases in txn; with create, make them. Without,
 * absent databases leave d->ready false. Errors: SD_E_JOURNAL.
 */
SD_WUR int inv_dbs_open(struct journal *j, MDB_txn *txn, bool create, struct inv_dbs *d);

/*
 * Whether the index exists in txn and the last record it covers: every
 * result and issuance up to *through is indexed, none after.
 * Errors: SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT (a malformed meta entry).
 */
SD_WUR int inv_through(struct journal *j, MDB_txn *txn, bool *complete, uint64_t *through);

/* Mark the index (version INV_VERSION) complete up to record through. Errors: SD_E_JOURNAL_FULL, SD_E_JOURNAL. */
SD_WUR int inv_through_put(struct journal *j, MDB_txn *txn, uint64_t through);

/*
 * Index c in txn: its entry and every key. Errors: SD_E_INTERNAL (already
 * indexed), SD_E_JOURNAL_FULL, SD_E_JOURNAL, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int inv_put(struct journal *j, MDB_txn *txn, const struct journal_cert *c);

/*
 * Run fn in a write transaction of its own and commit it unless fn clears
 * *commit; when the map is full, grow it and run fn again.
 * Errors: fn's, SD_E_JOURNAL_FULL, SD_E_JOURNAL.
 */
typedef int (*inv_txn_fn)(struct journal *j, MDB_txn *txn, void *ctx, bool *commit);
SD_WUR int inv_write_txn(struct journal *j, inv_txn_fn fn, void *ctx);

/* Empty the index and build it again from every record in txn. Errors: as inv_put(), SD_E_JOURNAL_CORRUPT. */
SD_WUR int inv_rebuild(struct journal *j, MDB_txn *txn, uint64_t *count);

/*
 * journal_verify_full()'s part: the entries record rec (a result or legacy
 * issuance) should have are all there with its data, when it is at most
 * through (later records are not indexed yet); counts[0..2] (certs,
 * expiry, attr) add up what the records imply. Errors:
 * SD_E_JOURNAL_CORRUPT (detail names the serial and what differs), SD_E_JOURNAL, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int inv_verify_record(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t through,
    uint64_t counts[3]);

/*
 * The index holds no more keys than counts and covers no record past last.
 * Errors: SD_E_JOURNAL_CORRUPT (stray entries), SD_E_JOURNAL.
 */
SD_WUR int inv_verify_counts(struct journal *j, MDB_txn *txn, uint64_t last, const uint64_t counts[3]);

/*
 * The indexing thread of a writer handle (inventory_batch.c): a batch
 * every interval_ms. Errors: SD_E_INTERNAL.
 */
SD_WUR int inv_indexer_start(struct journal *j, unsigned interval_ms);
void inv_indexer_stop(struct journal *j);

/*
 * A group commit's part (journal_commit.c): take the pending batch (NULL
 * when there is none), put it into the commit's transaction txn (false:
 * it was dropped, the records commit without it), and after the commit
 * (committed: it is durable) let it go.
 */
struct inv_batch;
struct inv_batch *inv_piggyback_take(struct journal *j);
bool inv_piggyback_put(struct journal *j, MDB_txn *txn, struct inv_batch *b);
void inv_piggyback_done(struct journal *j, struct inv_batch *b, bool committed);

/* Count a journal_index_sync() whose failure is not reported to anyone (journal_stats.index_failures). */
void inv_sync_failed(struct journal *j);

#endif
