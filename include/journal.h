/*
 * The issuance journal: an append-only LMDB log of records chained by SHA-256.
 *
 * Records are keyed by a big-endian uint64 sequence number starting at 1 and
 * written only with MDB_APPEND; nothing deletes or overwrites a record. Each
 * record carries the SHA-256 of the previous encoded record (32 zero bytes for
 * the first). Commits are durable (no MDB_NOSYNC) before journal_append_*
 * returns. The byte format is specified in README.md ("Journal format").
 * LMDB types stay inside the journal files.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

struct journal;

#define JOURNAL_FORMAT_VERSION 1
#define JOURNAL_HASH_LEN 32

enum journal_record_type {
	JOURNAL_REC_ISSUANCE = 1,
};

/* What the signer tells the journal about one issuance; all fields borrowed. */
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

/* A decoded record; owns its buffers. */
struct journal_record {
	uint8_t version;
	uint8_t type;
	uint64_t seq;
	int64_t time_ms;
	uint8_t prev_hash[JOURNAL_HASH_LEN];
	uint8_t hash[JOURNAL_HASH_LEN];		/* SHA-256 of the whole encoded record */
	char *client_subject;
	uint8_t client_spki_sha256[JOURNAL_HASH_LEN];
	char *profile;
	uint8_t csr_sha256[JOURNAL_HASH_LEN];
	uint8_t *serial;
	size_t serial_len;
	uint8_t *cert_der;
	size_t cert_der_len;
};

/* Limits enforced by encode and decode. */
#define JOURNAL_TEXT_MAX 4096
#define JOURNAL_SERIAL_MAX 20
#define JOURNAL_CERT_MAX (64 * 1024)

/*
 * One environment must not be opened twice at once in the same process
 * (an LMDB rule): auditor tools run in their own process.
 *
 * Open (creating if needed) the journal environment in directory path, with
 * the given LMDB map size in bytes, and verify the hash chain of its tail.
 * Errors: SD_E_JOURNAL (cannot open/create), SD_E_JOURNAL_CORRUPT (tail
 * does not chain), SD_E_NOMEM.
 */
SD_WUR int journal_open(const char *path, uint64_t map_size, struct journal **out);

/*
 * Open an existing journal read-only (auditor tools). Same errors; no tail check.
 */
SD_WUR int journal_open_readonly(const char *path, struct journal **out);
void journal_close(struct journal *j);

/*
 * Append one issuance record durably; *seq_out is its sequence number.
 * Thread-safe. Errors: SD_E_INVAL (a field over its limit), SD_E_JOURNAL_FULL
 * (nothing written), SD_E_INTERNAL (duplicate serial; nothing written),
 * SD_E_JOURNAL (also on a read-only handle), SD_E_NOMEM.
 */
SD_WUR int journal_append_issuance(struct journal *j, const struct journal_issuance *in, uint64_t *seq_out);

/* Sequence number of the last record (0 when empty). */
SD_WUR int journal_last_seq(struct journal *j, uint64_t *seq_out);

/* Read record seq. Errors: SD_E_NOT_FOUND, SD_E_JOURNAL_CORRUPT, SD_E_JOURNAL, SD_E_NOMEM. */
SD_WUR int journal_get(struct journal *j, uint64_t seq, struct journal_record **out);

/*
 * Call fn for each record with from <= seq, in order, until fn returns
 * non-zero (which is returned) or the end. The record is borrowed for the call.
 */
typedef int (*journal_visit_fn)(const struct journal_record *rec, void *ctx);
SD_WUR int journal_foreach(struct journal *j, uint64_t from, journal_visit_fn fn, void *ctx);

/*
 * Check every record: it decodes, its key equals its seq, seqs are 1..n
 * without gaps, each prev_hash equals the previous record's hash, and the
 * serial index maps each serial to its record and nothing else.
 * *count = records checked; on SD_E_JOURNAL_CORRUPT *bad_seq names the first
 * bad sequence number and sd_error_detail() says what is wrong.
 */
SD_WUR int journal_verify(struct journal *j, uint64_t *count, uint64_t *bad_seq);

/*
 * 0 when a write transaction can be started now and the map has room for one
 * more largest record, else SD_E_JOURNAL/SD_E_JOURNAL_FULL.
 */
SD_WUR int journal_health(struct journal *j);

/* Encode rec (its hash field is ignored) into a new buffer. */
SD_WUR int journal_record_encode(const struct journal_record *rec, uint8_t **out, size_t *len);

/* Decode and hash one encoded record. Errors: SD_E_JOURNAL_CORRUPT, SD_E_NOMEM. */
SD_WUR int journal_record_decode(const uint8_t *buf, size_t len, struct journal_record **out);
void journal_record_free(struct journal_record *rec);

#endif
