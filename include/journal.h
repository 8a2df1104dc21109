/*
 * The audit journal: an append-only LMDB log of records chained by SHA-256,
 * with an RFC 9162 Merkle tree over the same records.
 *
 * Records are keyed by a big-endian uint64 sequence number starting at 1 and
 * written only with MDB_APPEND; nothing deletes or overwrites a record. Each
 * record carries the SHA-256 of the previous encoded record (32 zero bytes for
 * the first). Commits are durable (no MDB_NOSYNC) before journal_append*
 * returns; concurrent appends share one commit (group commit). The byte
 * format is specified in README.md ("Journal format"). LMDB types stay
 * inside the journal files.
 *
 * Several processes may append to one journal (signerd and signerctl's
 * ceremony records): LMDB serialises writers and every write transaction
 * re-reads the tail it appends to.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

struct journal;

#define JOURNAL_FORMAT_VERSION 1
#define JOURNAL_HASH_LEN 32

enum journal_record_type {
	JOURNAL_REC_ISSUANCE = 1,	/* legacy: intent and result in one record (written before issue 6) */
	JOURNAL_REC_INTENT = 2,		/* before the HSM signs */
	JOURNAL_REC_RESULT = 3,		/* the signed certificate, before it is released */
	JOURNAL_REC_REFUSAL = 4,	/* a refused request */
	JOURNAL_REC_REFUSAL_SUMMARY = 5,	/* refusals past the configured rate, counted */
	JOURNAL_REC_CEREMONY = 6,	/* signerctl: key generation, root and intermediate */
	JOURNAL_REC_SERVICE = 7,	/* signerd start and stop */
	JOURNAL_REC_RELOAD = 8,		/* configuration reload: reserved, not yet decodable */
	JOURNAL_REC_CHECKPOINT = 9,	/* a signed tree head */
	JOURNAL_REC_REVOCATION = 10,	/* a certificate revoked */
	JOURNAL_REC_CRL = 11,		/* a CRL signed: its number, times, entries and SHA-256 */
	JOURNAL_REC_ACME = 12,		/* an ACME account, EAB key or authorization event */
	JOURNAL_REC_INTENT_TBS = 13,	/* before the HSM signs: an intent holding the whole TBS */
	JOURNAL_REC_UNRESOLVED = 14,	/* an intent found without a result at start-up: outcome unknown */
};
#define JOURNAL_REC_TYPE_MAX 14

/* An intent of either form: its serial is reserved and a result may complete it. */
static inline bool
journal_rec_is_intent(uint8_t type)
{
	return type == JOURNAL_REC_INTENT || type == JOURNAL_REC_INTENT_TBS;
}

/* RFC 5280 CRLReason codes (5.3.1); 7 is unassigned and refused. */
enum journal_crl_reason {
	JOURNAL_CRL_UNSPECIFIED = 0,
	JOURNAL_CRL_KEY_COMPROMISE = 1,
	JOURNAL_CRL_CA_COMPROMISE = 2,
	JOURNAL_CRL_AFFILIATION_CHANGED = 3,
	JOURNAL_CRL_SUPERSEDED = 4,
	JOURNAL_CRL_CESSATION_OF_OPERATION = 5,
	JOURNAL_CRL_CERTIFICATE_HOLD = 6,
	JOURNAL_CRL_REMOVE_FROM_CRL = 8,
	JOURNAL_CRL_PRIVILEGE_WITHDRAWN = 9,
	JOURNAL_CRL_AA_COMPROMISE = 10,
};
#define JOURNAL_CRL_REASON_MAX 10

enum journal_service_event {
	JOURNAL_SERVICE_START = 1,
	JOURNAL_SERVICE_STOP = 2,
	JOURNAL_SERVICE_RELOAD = 3,	/* SIGHUP: the configuration now in force (its hash) */
};

/* What an ACME record (type 12) journals; other values are refused. */
enum journal_acme_event {
	JOURNAL_ACME_ACCOUNT_CREATED = 1,
	JOURNAL_ACME_ACCOUNT_DEACTIVATED = 2,
	JOURNAL_ACME_ACCOUNT_KEY_CHANGED = 3,
	JOURNAL_ACME_EAB_ADDED = 4,		/* signerctl acme eab add */
	JOURNAL_ACME_AUTHZ_VALID = 5,
	JOURNAL_ACME_AUTHZ_INVALID = 6,
	JOURNAL_ACME_EAB_REMOVED = 7,
};
#define JOURNAL_ACME_EVENT_MAX 7

enum journal_ceremony_phase {
	JOURNAL_CEREMONY_BEGIN = 1,	/* before the HSM is asked */
	JOURNAL_CEREMONY_DONE = 2,	/* output holds the SPKI or certificate DER */
	JOURNAL_CEREMONY_FAILED = 3,	/* detail says why */
};

/* What the signer tells the journal about one legacy issuance; all fields borrowed. */
struct journal_issuance {
	int64_t time_ms;			/* Unix time in milliseconds */
	const char *client_subject;		/* authenticated client certificate subject (RFC 4514 string) */
	uint8_t client_spki_sha256[JOURNAL_HASH_LEN];
	const char *profile;
	uint8_t csr_sha256[JOURNAL_HASH_LEN];	/* SHA-256 of the CSR DER */
	const uint8_t *serial;			/* certificate serial, big-endian magnitude */
	size_t serial_len;
	const uint8_t *cert_der;
	size_t cert_der_len;
};

/*
 * A record. Decoded records own their buffers (journal_record_free()); a
 * record handed to journal_append() is borrowed and only the fields of its
 * type are read (README "Journal format" lists them per type).
 */
struct journal_record {
	uint8_t version;
	uint8_t type;
	uint64_t seq;
	int64_t time_ms;
	uint8_t prev_hash[JOURNAL_HASH_LEN];
	uint8_t hash[JOURNAL_HASH_LEN];		/* SHA-256 of the whole encoded record */
	uint8_t leaf_hash[JOURNAL_HASH_LEN];	/* SHA-256(0x00 || encoded record) */
	/* issuance, intent, refusal, revocation */
	char *client_subject;
	uint8_t client_spki_sha256[JOURNAL_HASH_LEN];
	char *profile;
	uint8_t csr_sha256[JOURNAL_HASH_LEN];
	/* issuance, intent, result, revocation */
	uint8_t *serial;
	size_t serial_len;
	/* issuance, result */
	uint8_t *cert_der;
	size_t cert_der_len;
	/* intent, unresolved; an intent-tbs's is derived from tbs_der when decoded */
	uint8_t tbs_sha256[JOURNAL_HASH_LEN];
	/* intent-tbs: the DER TBSCertificate the HSM is about to sign */
	uint8_t *tbs_der;
	size_t tbs_der_len;
	/* result, unresolved: the intent it completes */
	uint64_t intent_seq;
	/* refusal: error slug; ceremony: operation ("keygen", "root", "intermediate") */
	char *reason;
	/* refusal, summary, ceremony, service, revocation, acme: free text */
	char *detail;
	/* summary: refusals counted and not journaled one by one since window_start_ms */
	uint64_t count;
	int64_t window_start_ms;
	/* ceremony */
	uint8_t phase;
	char *actor;			/* operator: user name and uid (ceremony, acme) */
	char *key_uri;
	uint8_t *output;		/* SPKI or certificate DER; may be empty */
	size_t output_len;
	/* service */
	uint8_t event;
	uint8_t config_sha256[JOURNAL_HASH_LEN];
	/* checkpoint */
	uint64_t tree_size;
	uint8_t root_hash[JOURNAL_HASH_LEN];
	char *note;			/* the signed checkpoint text */
	/* revocation: enum journal_crl_reason (the text field reason is the refusal's and ceremony's) */
	uint8_t revocation_reason;
	/* crl (journal_crl_append()) */
	uint64_t crl_number;		/* cRLNumber */
	uint64_t crl_base_number;	/* a delta CRL: the complete CRL it is a delta of; 0: a complete CRL */
	int64_t crl_this_update, crl_next_update;	/* Unix seconds */
	uint64_t crl_entries;		/* revoked certificates listed */
	uint8_t crl_sha256[JOURNAL_HASH_LEN];	/* of the CRL's DER */
	/* acme (journal_acme_append()); also profile, actor and detail */
	uint8_t acme_event;		/* enum journal_acme_event */
	char *acme_account;		/* the ACME account id (base64url); empty for EAB events */
	uint8_t acme_key_sha256[JOURNAL_HASH_LEN];	/* RFC 7638 thumbprint of the account key; EAB events: zeros */
	char *acme_eab_kid;		/* the EAB key id; empty when none */
};

/* Limits enforced by encode and decode. */
#define JOURNAL_TEXT_MAX 4096
#define JOURNAL_SHORT_MAX 64
#define JOURNAL_SERIAL_MAX 20
#define JOURNAL_CERT_MAX (64 * 1024)

struct journal_options {
	uint64_t map_size;		/* initial LMDB map size in bytes */
	uint64_t map_max;		/* grow the map up to this many bytes; 0 or <= map_size: never grow */
	bool no_sync;			/* MDB_NOSYNC: benchmarks and test fixtures only, never signerd */
	unsigned index_interval_ms;	/* 1..60000: a thread indexes certificates this often; 0: no thread */
};

/*
 * One environment must not be opened twice at once in the same process
 * (an LMDB rule): auditor tools run in their own process.
 *
 * Open (creating if needed) the journal environment in directory path,
 * verify the hash chain of its tail, and bring the Merkle node index and
 * the certificate index up to date (a journal written before either
 * existed is indexed once, in the open's transaction; records a crash
 * left unindexed are indexed after it).
 * Errors: SD_E_INVAL, SD_E_JOURNAL (cannot open/create), SD_E_JOURNAL_CORRUPT
 * (tail does not chain), SD_E_JOURNAL_FULL (no room to index), SD_E_NOMEM.
 */
SD_WUR int journal_open_opts(const char *path, const struct journal_options *opts, struct journal **out);

/* journal_open_opts() with a fixed map of map_size bytes. */
SD_WUR int journal_open(const char *path, uint64_t map_size, struct journal **out);

/*
 * Open an existing journal read-only (auditor tools). Same errors; no tail check.
 */
SD_WUR int journal_open_readonly(const char *path, struct journal **out);
void journal_close(struct journal *j);

/*
 * Queue rec (copied) for the next group commit and return without waiting
 * for it: a waiting append or the flusher thread (within a few
 * milliseconds) commits it. For a record whose loss in a crash the journal
 * itself describes (a result: the start-up scan journals its intent as
 * unresolved). A record the commit refuses is logged and counted in
 * journal_stats's later_failed.
 * Errors: SD_E_INVAL (a checkpoint, a field out of its limits), SD_E_JOURNAL
 * (read-only handle, no flusher thread), SD_E_NOMEM.
 */
SD_WUR int journal_append_later(struct journal *j, const struct journal_record *rec);

/*
 * After a crash: journal an unresolved record (detail "found without a
 * result at start-up") for each intent of the last run that has neither a
 * result nor an unresolved record, in one durable commit; *count says how
 * many. The last run is what follows the last service start or stop
 * record; after a clean stop there is nothing to scan.
 * Errors: SD_E_JOURNAL (read-only), SD_E_JOURNAL_CORRUPT, those of journal_append_batch().
 */
SD_WUR int journal_resolve_intents(struct journal *j, int64_t time_ms, uint64_t *count);

/*
 * Wait until every record queued by journal_append_later() before the call
 * is committed or refused. The readers that answer about certificates
 * (states, revocations, the certificate index, records, proofs) call it
 * first, so that what this process released is what they see.
 */
void journal_flush(struct journal *j);

/*
 * Append one record of any type but JOURNAL_REC_RELOAD durably; the
 * version, seq, prev_hash and hash fields of rec are ignored. *seq_out is its
 * sequence number. Thread-safe; concurrent callers share one commit, and each
 * returns only after its own record is durable or refused.
 * Intents and legacy issuances index their serial (a serial is journaled at
 * most once); a result must name an earlier intent of the same serial that
 * has no result yet; a revocation (journal_revoke()) must name a serial
 * with a certificate and not revoked yet; a checkpoint's tree_size must
 * not exceed the records before it.
 * Errors: SD_E_INVAL (a field over its limit, bad type, result without its
 * intent), SD_E_JOURNAL_FULL (nothing written; the map is at its maximum),
 * SD_E_INTERNAL (duplicate serial or second result; nothing written),
 * SD_E_NOT_FOUND and SD_E_INVAL for a revocation (journal_revoke()),
 * SD_E_JOURNAL (also on a read-only handle), SD_E_NOMEM.
 */
SD_WUR int journal_append(struct journal *j, const struct journal_record *rec, uint64_t *seq_out);

/*
 * Append n records in one commit (as if n callers had arrived together);
 * *first_seq is the seq of recs[0], the others follow in order. Each record
 * is checked as by journal_append() before any is queued; in the commit
 * each stands or falls on its own, and the first refused one's error is
 * returned (*first_seq is then 0).
 */
SD_WUR int journal_append_batch(struct journal *j, const struct journal_record *const *recs, size_t n,
    uint64_t *first_seq);

/* A legacy issuance record (type 1) through journal_append(). */
SD_WUR int journal_append_issuance(struct journal *j, const struct journal_issuance *in, uint64_t *seq_out);

/* Sequence number of the last record (0 when empty). */
SD_WUR int journal_last_seq(struct journal *j, uint64_t *seq_out);

/* Read record seq. Errors: SD_E_NOT_FOUND, SD_E_JOURNAL_CORRUPT, SD_E_JOURNAL, SD_E_NOMEM. */
SD_WUR int journal_get(struct journal *j, uint64_t seq, struct journal_record **out);

/* The stored bytes of record seq in a new buffer (free()). Errors: as journal_get(). */
SD_WUR int journal_get_raw(struct journal *j, uint64_t seq, uint8_t **out, size_t *len);

/*
 * Call fn for each record with from <= seq, in order, until fn returns
 * non-zero (which is returned) or the end. The record and its stored bytes
 * are borrowed for the call.
 */
typedef int (*journal_visit_fn)(const struct journal_record *rec, void *ctx);
SD_WUR int journal_foreach(struct journal *j, uint64_t from, journal_visit_fn fn, void *ctx);
typedef int (*journal_visit_raw_fn)(uint64_t key, const uint8_t *raw, size_t len, void *ctx);
SD_WUR int journal_foreach_raw(struct journal *j, uint64_t from, journal_visit_raw_fn fn, void *ctx);

/*
 * The intent (or legacy issuance) seq of serial, and the seq of its result
 * (0 when it has none). Errors: SD_E_NOT_FOUND, SD_E_JOURNAL.
 */
SD_WUR int journal_find_serial(struct journal *j, const uint8_t *serial, size_t len, uint64_t *intent_seq,
    uint64_t *result_seq);

/* What a revocation says (a revocation record, type 10); all fields borrowed. */
struct journal_revocation {
	int64_t time_ms;			/* revocation time, Unix milliseconds */
	const uint8_t *serial;			/* the certificate's serial, as in its intent */
	size_t serial_len;
	uint8_t reason;				/* enum journal_crl_reason: 0..10 but 7 */
	const char *client_subject;		/* who asked: the authenticated client, or signerctl's operator */
	uint8_t client_spki_sha256[JOURNAL_HASH_LEN];	/* the client's key; zeros for signerctl */
	const char *detail;			/* free text, at most 512 bytes; NULL: none */
};

/*
 * Journal the revocation of the certificate with in's serial, durably (as
 * journal_append()); *seq_out is the new record's seq. In the append's own
 * transaction, the serial must have a certificate in the journal (the
 * result of its intent, or a legacy issuance: an intent without a result is
 * none) and must not be revoked yet: a serial is revoked at most once.
 * When it is, nothing is written and *existing (optional) receives the
 * earlier revocation record (journal_record_free()), so that a caller can
 * answer idempotently with its time and reason; *existing is set only then.
 * Errors: SD_E_INVAL (a field over its limit, a reason that is not an RFC
 * 5280 code; or the serial is revoked already, with *existing set),
 * SD_E_NOT_FOUND (no certificate has this serial; nothing written),
 * SD_E_JOURNAL_FULL, SD_E_JOURNAL (also on a read-only handle),
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int journal_revoke(struct journal *j, const struct journal_revocation *in, uint64_t *seq_out,
    struct journal_record **existing);

/*
 * The revocation record of serial (journal_record_free()).
 * Errors: SD_E_NOT_FOUND (not revoked), SD_E_INVAL, SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT (the index names a record that is not its revocation), SD_E_NOMEM.
 */
SD_WUR int journal_revocation_get(struct journal *j, const uint8_t *serial, size_t len, struct journal_record **out);

/* What a CRL record (type 11) says: one CRL signed, so that an auditor can match a CRL to the journal. */
struct journal_crl {
	uint64_t number;			/* cRLNumber, 1 or more */
	uint64_t base_number;			/* a delta CRL: the complete CRL's number (< number); 0: complete */
	int64_t this_update, next_update;	/* Unix seconds; next_update > this_update */
	uint64_t entries;			/* revoked certificates it lists */
	uint8_t sha256[JOURNAL_HASH_LEN];	/* SHA-256 of its DER */
};

/*
 * Journal a CRL, durably (as journal_append()), before it is published.
 * In the append's own transaction its number must be greater than that of
 * every earlier CRL record, so that cRLNumber grows across restarts and
 * writers. Errors: SD_E_INVAL (a bad field, or a number not greater than
 * the last one: nothing written), SD_E_JOURNAL_FULL, SD_E_JOURNAL (also on
 * a read-only handle), SD_E_NOMEM.
 */
SD_WUR int journal_crl_append(struct journal *j, const struct journal_crl *in, uint64_t *seq_out);

/* What an ACME record (type 12) says; all fields borrowed, NULL texts are empty. */
struct journal_acme {
	int64_t time_ms;			/* when it happened, Unix milliseconds */
	uint8_t event;				/* enum journal_acme_event */
	const char *account;			/* the account id, 0..64 bytes; required but for EAB events */
	uint8_t key_sha256[JOURNAL_HASH_LEN];	/* RFC 7638 JWK thumbprint of the account key; zeros for EAB events */
	const char *eab_kid;			/* 0..64 bytes; EAB events, and an account bound with EAB */
	const char *profile;			/* the ACME directory's profile, 0..64 bytes */
	const char *actor;			/* EAB events: the operator as ctl_actor() writes it, 1..256 bytes */
	const char *detail;			/* 0..4096 bytes (README, "Record encoding", type 12) */
};

/*
 * Journal an ACME event, durably (as journal_append()): the record is
 * committed before this returns, so that the caller acts on an event only
 * once it is journaled. Nothing is indexed. Events 1, 2, 3, 5 and 6 need an
 * account; events 4 and 7 (EAB keys) need eab_kid and actor.
 * Errors: SD_E_INVAL (a NULL argument, an unknown event, a text over its
 * limit or not UTF-8, a missing account, eab_kid or actor: nothing
 * written), SD_E_JOURNAL_FULL, SD_E_JOURNAL (also on a read-only handle),
 * SD_E_NOMEM.
 */
SD_WUR int journal_acme_append(struct journal *j, const struct journal_acme *a, uint64_t *seq);

/*
 * The number and seq of the last CRL record; both 0 when there is none.
 * Errors: SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT.
 */
SD_WUR int journal_crl_last(struct journal *j, uint64_t *number, uint64_t *seq);

/* What the journal knows of one serial (journal_serial_state()). */
struct journal_serial_state {
	bool parsed;			/* false: the certificate's DER did not parse; no validity */
	int64_t not_before, not_after;	/* Unix seconds */
	bool revoked;
	int64_t revoked_ms;		/* the revocation record's time */
	uint8_t revocation_reason;	/* enum journal_crl_reason */
};

/*
 * The state of the certificate with serial: its validity, read from the
 * certificate in its result (or legacy issuance) record, and its
 * revocation. Cheap enough for every OCSP query: no index is consulted
 * but serials and revocations. Thread-safe.
 * Errors: SD_E_NOT_FOUND (no certificate has this serial; an intent
 * without a result is none), SD_E_INVAL, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT,
 * SD_E_NOMEM.
 */
SD_WUR int journal_serial_state(struct journal *j, const uint8_t *serial, size_t len,
    struct journal_serial_state *out);

/*
 * Call fn for each revoked certificate, in the order of the revocations
 * index (serial bytes), with its serial and state (borrowed for the call),
 * until fn returns non-zero (which is returned). Everything is read in one
 * read transaction: a consistent view.
 * Errors: SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM, or fn's.
 */
typedef int (*journal_revoked_fn)(const uint8_t *serial, size_t len, const struct journal_serial_state *st,
    void *ctx);
SD_WUR int journal_revoked_foreach(struct journal *j, journal_revoked_fn fn, void *ctx);

/* Seq of the latest checkpoint record (0 when none). Errors: SD_E_JOURNAL. */
SD_WUR int journal_last_checkpoint(struct journal *j, uint64_t *seq_out);

/* Tree size (= records) and Merkle root now, as one consistent pair. Errors: SD_E_JOURNAL, SD_E_CRYPTO. */
SD_WUR int journal_tree_head(struct journal *j, uint64_t *size, uint8_t root[JOURNAL_HASH_LEN]);

/* Merkle root of the first size records (size <= records). Errors: SD_E_INVAL, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT. */
SD_WUR int journal_tree_root(struct journal *j, uint64_t size, uint8_t root[JOURNAL_HASH_LEN]);

/*
 * RFC 9162 inclusion proof of record seq (leaf index seq - 1) in the tree of
 * size records, and consistency proof between tree sizes m and n. proof must
 * hold JOURNAL_PROOF_MAX hashes. Errors: SD_E_INVAL, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT.
 */
#define JOURNAL_PROOF_MAX 128
SD_WUR int journal_inclusion_proof(struct journal *j, uint64_t seq, uint64_t size,
    uint8_t proof[][JOURNAL_HASH_LEN], size_t *n);
SD_WUR int journal_consistency_proof(struct journal *j, uint64_t m, uint64_t n,
    uint8_t proof[][JOURNAL_HASH_LEN], size_t *count);

/*
 * What journal_verify_full() checks checkpoint signatures with: the
 * Ed25519 public key of the audit key (32 bytes) and the note key name.
 * NULL: signatures are not checked (structure, chain and roots still are).
 */
struct journal_audit_key {
	uint8_t ed25519[32];
	const char *name;
};

struct journal_verify_report {
	uint64_t count;			/* records checked */
	uint64_t bad_seq;		/* first bad record on SD_E_JOURNAL_CORRUPT */
	uint64_t checkpoints;		/* checkpoint records whose root (and signature) held */
	uint64_t open_intents;		/* intents without a result (a crash between the two) */
	uint64_t first_open_intent;	/* the first of them, 0 when none */
	uint64_t unresolved;		/* intents closed by an unresolved record (outcome unknown) */
	uint64_t first_unresolved;	/* the first such record, 0 when none */
	uint64_t last_checkpoint_seq;
};

/*
 * Check every record: it decodes, its key equals its seq, seqs are 1..n
 * without gaps, each prev_hash equals the previous record's hash, the serial,
 * result, revocation and checkpoint indexes and the stored Merkle nodes
 * match the records, every result completes an earlier intent of the same
 * serial, every revocation names a certificate earlier in the journal, every
 * checkpoint's root is the root of the tree it names (and its signature
 * verifies with key when given), and the certificate index holds exactly
 * what the results imply (a journal with results and no index fails). Intents without a result are counted, not
 * errors. On SD_E_JOURNAL_CORRUPT, r->bad_seq names the first bad sequence
 * number and sd_error_detail() says what is wrong (modified, missing,
 * reordered, ...).
 */
SD_WUR int journal_verify_full(struct journal *j, const struct journal_audit_key *key,
    struct journal_verify_report *r);

/* journal_verify_full() without signature checks, reporting only count and bad_seq. */
SD_WUR int journal_verify(struct journal *j, uint64_t *count, uint64_t *bad_seq);

/*
 * 0 when a write transaction can be started now and the map (at its maximum
 * size) has room for one more largest record, else SD_E_JOURNAL/SD_E_JOURNAL_FULL.
 */
SD_WUR int journal_health(struct journal *j);

struct journal_stats {
	uint64_t commits;		/* durable LMDB commits made by this handle */
	uint64_t records;		/* records they appended */
	uint64_t map_size;		/* current map size in bytes */
	uint64_t grows;			/* times the map was grown */
	uint64_t map_max;		/* bytes the map may grow to */
	uint64_t used_bytes;		/* pages in use (the last page number), in bytes */
	uint64_t last_seq;		/* the last record (writer handles) */
	uint64_t indexed_through;	/* the certificate index covers the records up to this one */
	uint64_t index_batches;		/* certificate index batches written by this handle */
	uint64_t index_shared;		/* of them, batches that rode on a group commit */
	uint64_t index_failures;	/* batches of the indexing thread that failed (tried again) */
	uint64_t later_pending;		/* journal_append_later() records not committed yet */
	uint64_t later_failed;		/* of them, records the store refused or could not write (logged) */
};
void journal_stats_get(struct journal *j, struct journal_stats *out);

/*
 * Consistent copy of the environment to dest_dir (an existing empty
 * directory), compacted; safe while other processes write.
 * Errors: SD_E_JOURNAL.
 */
SD_WUR int journal_backup(struct journal *j, const char *dest_dir);

/* Encode rec (its hash fields are ignored) into a new buffer. Errors: SD_E_INVAL, SD_E_NOMEM. */
SD_WUR int journal_record_encode(const struct journal_record *rec, uint8_t **out, size_t *len);

/* Decode and hash one encoded record. Errors: SD_E_JOURNAL_CORRUPT, SD_E_NOMEM. */
SD_WUR int journal_record_decode(const uint8_t *buf, size_t len, struct journal_record **out);
void journal_record_free(struct journal_record *rec);

/* Stable lower-case name of a record type ("intent"), or "unknown". */
const char *journal_record_type_name(uint8_t type);

/* RFC 5280's name of a CRLReason code ("keyCompromise"), or NULL for 7 and above 10. */
const char *journal_crl_reason_name(uint8_t reason);

/*
 * The auditor's walk, without LMDB: feed encoded records in order (from a
 * journal or an export) and get the same verdicts as journal_verify_full()
 * minus the index checks. Not thread-safe; one stream per walk.
 */
struct journal_stream;
SD_WUR int journal_stream_new(const struct journal_audit_key *key, struct journal_stream **out);
void journal_stream_free(struct journal_stream *s);

/* The writer's own tail, so that a modified last record is caught too. */
void journal_stream_set_tail(struct journal_stream *s, uint64_t seq, const uint8_t hash[JOURNAL_HASH_LEN]);

/* Capture the Merkle root when the walk reaches size records (for a saved checkpoint). */
void journal_stream_want_root(struct journal_stream *s, uint64_t size);
/* The captured root. Errors: SD_E_NOT_FOUND (the walk did not reach size). */
SD_WUR int journal_stream_root(const struct journal_stream *s, uint8_t root[JOURNAL_HASH_LEN]);

/*
 * The next record: key is the LMDB key it was stored under, or 0 when it
 * comes from an export (then its position counts). A chain break is decided
 * one record later (or at finish), so that the modified record can be named.
 * *rec_out (optional) receives the decoded record (journal_record_free()).
 * Errors: SD_E_JOURNAL_CORRUPT (detail and journal_stream_report()'s
 * bad_seq say what and where), SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int journal_stream_add(struct journal_stream *s, uint64_t key, const uint8_t *raw, size_t len,
    struct journal_record **rec_out);

/* The Merkle nodes the last added record completed (level 0 = its leaf hash). */
void journal_stream_nodes(const struct journal_stream *s, const uint8_t (**nodes)[JOURNAL_HASH_LEN], unsigned *n);

/* End of the walk. Errors: SD_E_JOURNAL_CORRUPT. */
SD_WUR int journal_stream_finish(struct journal_stream *s);
void journal_stream_report(const struct journal_stream *s, struct journal_verify_report *r);

/*
 * Append a checkpoint: under the writer lock, with nothing appended in
 * between, sign(ctx, size, root, time_ms, &note) is called with the tree head
 * of all records so far and returns the signed note text (malloc'ed; the
 * journal frees it); the record (tree_size = its seq - 1) is then committed.
 * *note_out (optional) receives a copy of the note.
 * Errors: those of sign and journal_append().
 */
typedef int (*journal_checkpoint_sign_fn)(void *ctx, uint64_t size, const uint8_t root[JOURNAL_HASH_LEN],
    int64_t time_ms, char **note);
SD_WUR int journal_append_checkpoint(struct journal *j, int64_t time_ms, journal_checkpoint_sign_fn sign,
    void *ctx, uint64_t *seq_out, char **note_out);

/*
 * The certificate inventory: indexes beside the journal (README "Journal
 * format", "Certificate index"), derived data and not part of the
 * tamper-evident log. Each result (and legacy issuance) record is indexed
 * from its certificate and its intent alone, so the index can always be
 * rebuilt. The index trails the journal: records are indexed in batches
 * of their own, off the appenders' commits (journal_index_sync(), or the
 * thread of journal_options.index_interval_ms). Queries on a writer
 * handle catch up first; a read-only handle sees what its writer indexed
 * (journal_certs_indexed()).
 */
enum journal_san_type {
	JOURNAL_SAN_DNS = 1,
	JOURNAL_SAN_IP = 2,		/* textual, as inet_ntop() writes it */
	JOURNAL_SAN_URI = 3,
	JOURNAL_SAN_EMAIL = 4,
};

struct journal_san {
	uint8_t type;			/* enum journal_san_type */
	char *value;
};

/* One indexed certificate; journal_cert_free() frees it. */
struct journal_cert {
	uint8_t serial[JOURNAL_SERIAL_MAX];
	size_t serial_len;
	uint64_t seq;			/* its result (or legacy issuance) record */
	uint64_t intent_seq;		/* = seq for a legacy issuance */
	int64_t issued_ms;		/* the result record's time */
	bool parsed;			/* false: the DER did not parse; no validity, no SANs */
	int64_t not_before, not_after;	/* Unix seconds */
	uint8_t client_spki_sha256[JOURNAL_HASH_LEN];
	char *profile;
	char *client_subject;
	struct journal_san *sans;
	size_t n_sans;
	uint8_t *cert_der;		/* journal_cert_get() only; else NULL */
	size_t cert_der_len;
	/* From the journal's revocations index at query time, not from the certificate index. */
	bool revoked;
	int64_t revoked_ms;		/* the revocation record's time */
	uint8_t revocation_reason;	/* enum journal_crl_reason */
};
void journal_cert_free(struct journal_cert *c);

/* "revoked", else "unknown" (not parsed), "expired" (now past not_after) or "valid". */
const char *journal_cert_status(const struct journal_cert *c, int64_t now);

/*
 * Index every record committed so far that the certificate index lacks
 * (nothing on a read-only handle). Thread-safe.
 * Errors: SD_E_JOURNAL, SD_E_JOURNAL_FULL, SD_E_JOURNAL_CORRUPT, SD_E_INTERNAL, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int journal_index_sync(struct journal *j);

/*
 * How far the certificate index reaches: *through, the last record it
 * covers, and *last, the last record (0 when empty).
 * Errors: SD_E_NOT_FOUND (no index), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT.
 */
SD_WUR int journal_certs_indexed(struct journal *j, uint64_t *through, uint64_t *last);

#define JOURNAL_CERTS_LIMIT_MAX 1000	/* items in one page */
#define JOURNAL_CERTS_SCAN_MAX 10000	/* index entries one page looks at */
#define JOURNAL_CURSOR_MAX 128		/* characters of a cursor, NUL excluded */

/* What to list; every filter is optional and all given ones must hold. Borrowed. */
struct journal_cert_query {
	const char *profile;		/* exact profile name */
	const char *client;		/* exact client subject as journaled */
	const char *san;		/* exact SAN value, any type */
	bool has_valid_at;
	int64_t valid_at;		/* not_before <= valid_at <= not_after (Unix seconds) */
	bool has_expires_before;
	int64_t expires_before;		/* not_after < expires_before */
	const char *cursor;		/* next_cursor of the previous page, or NULL */
	size_t limit;			/* 1 .. JOURNAL_CERTS_LIMIT_MAX */
	size_t scan_max;		/* 0: JOURNAL_CERTS_SCAN_MAX; at most that */
	size_t bytes_max;		/* 0: none; else end the page once its entries reach this size */
};

struct journal_cert_page {
	struct journal_cert **items;
	size_t n;
	char *next_cursor;		/* NULL at the end */
	size_t scanned;			/* index entries looked at */
};
void journal_cert_page_free(struct journal_cert_page *p);

/*
 * One page of certificates matching q, in the order of the index that
 * drives the query: a SAN, client or profile filter (in that preference)
 * gives journal order within that value; otherwise a time filter gives
 * not_after order; otherwise journal order. At most scan_max index entries
 * are looked at: a page may hold fewer than limit items and still carry a
 * cursor. A cursor is bound to the filters that made it.
 * Errors: SD_E_INVAL (limit, a malformed cursor or one from other filters),
 * SD_E_NOT_FOUND (the journal has no certificate index: signerctl certs
 * reindex), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT (an index entry does not
 * decode), SD_E_NOMEM.
 */
SD_WUR int journal_certs_list(struct journal *j, const struct journal_cert_query *q, struct journal_cert_page **out);

/*
 * The indexed certificate of serial, with its DER from the result record.
 * Errors: SD_E_NOT_FOUND (unknown serial, or no index), SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int journal_cert_get(struct journal *j, const uint8_t *serial, size_t len, struct journal_cert **out);

/*
 * Rebuild the certificate index from the records in one write transaction
 * (readers see the old index or the new one, never a mix); *count (optional)
 * is the number of certificates indexed. A writer's open builds it once when
 * the journal has none.
 * Errors: SD_E_JOURNAL (also on a read-only handle), SD_E_JOURNAL_FULL,
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int journal_certs_reindex(struct journal *j, uint64_t *count);

/*
 * Certificates whose notAfter is in [from, until) (Unix seconds), counted
 * from the index up to max (*more set when there are more).
 * Errors: SD_E_INVAL, SD_E_NOT_FOUND (no index yet), SD_E_JOURNAL.
 */
SD_WUR int journal_certs_expiring(struct journal *j, int64_t from, int64_t until, uint64_t max, uint64_t *count,
    bool *more);

#endif
