/*
 * Helpers shared by the journal test programs (tests/test_journal_*.c; never
 * shipped): issuances and intent/result records filled from an id,
 * appending and verifying under CUnit assertions, and an Ed25519 key that
 * signs checkpoints.
 */
#ifndef JOURNAL_FIXTURE_H
#define JOURNAL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "journal.h"

#define MAP_DEFAULT ((uint64_t)64 * 1024 * 1024)

/* One issuance with storage for its fields, filled from an id. */
struct tiss {
	struct journal_issuance in;
	char subject[64];
	char profile[16];
	uint8_t serial[8];
	uint8_t *cert;
};

/* Fill t from id, with a cert_len-byte certificate (free it with tiss_free()). */
void tiss_init(struct tiss *t, uint64_t id, size_t cert_len);
void tiss_free(struct tiss *t);

/*
 * A self-signed P-256 certificate with serial, valid [nb, na] (Unix
 * seconds), as DER (OPENSSL_free()): what a result record carries.
 * tcert_cleanup() frees the key they share.
 */
uint8_t *tcert_der(uint64_t serial, int64_t nb, int64_t na, size_t *len);
void tcert_cleanup(void);

/* 8-byte big-endian v. */
void be64_put(uint8_t out[8], uint64_t v);

/* SHA-256 of buf (aborts if OpenSSL fails). */
void sha256(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN]);

/* Whether the detail of err contains needle (printing it when not). */
bool detail_has(int err, const char *needle);

/* Append the issuances of ids first..first+n-1; each must get the next seq (fatal assertions). */
void append_n(struct journal *j, uint64_t first, size_t n, size_t cert_len);

/* journal_verify() must pass over exactly want_count records. */
void expect_verify(struct journal *j, uint64_t want_count);

/* An Ed25519 checkpoint key made for the test, named "test.signerd/journal". */
struct tkey {
	EVP_PKEY *pkey;
	struct journal_audit_key ak;
	uint8_t id[4];
};

/* Make k (fatal assertions); free k->pkey with EVP_PKEY_free(). */
void tkey_init(struct tkey *k);

/* A journal_checkpoint_sign_fn: ctx is a struct tkey. */
int tkey_sign(void *ctx, uint64_t size, const uint8_t root[32], int64_t time_ms, char **note);

/* An intent for the serial of id, written into serial (r borrows it). */
void rec_intent(struct journal_record *r, uint8_t serial[8], uint64_t id);

/* The result of the intent at intent_seq, for serial, with cert (r borrows both). */
void rec_result(struct journal_record *r, uint8_t serial[8], uint64_t intent_seq, uint8_t *cert, size_t len);

#endif
