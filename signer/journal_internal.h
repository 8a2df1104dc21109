/*
 * Shared between journal_record.c (byte format, hashing) and journal.c (the
 * LMDB store). Nothing outside these two files includes this header.
 */
#ifndef JOURNAL_INTERNAL_H
#define JOURNAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"

#define JOURNAL_MAGIC "SDJR"
#define JOURNAL_MAGIC_LEN 4
/* magic 4, version 1, type 1, seq 8, time_ms 8, prev_hash 32 */
#define JOURNAL_HEADER_LEN 54
#define JOURNAL_SEQ_LEN 8

/* Longest encoded issuance record: header plus six length-prefixed fields. */
#define JOURNAL_RECORD_MAX \
	(JOURNAL_HEADER_LEN + 6 * 4 + 2 * JOURNAL_TEXT_MAX + 2 * JOURNAL_HASH_LEN + \
	    JOURNAL_SERIAL_MAX + JOURNAL_CERT_MAX)

void journal_be64_put(uint8_t out[8], uint64_t v);
uint64_t journal_be64_get(const uint8_t in[8]);

/* SHA-256 of buf. Errors: SD_E_CRYPTO. */
SD_WUR int journal_hash(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN]);

/* Check every field of in against its limit. Errors: SD_E_INVAL. */
SD_WUR int journal_issuance_check(const struct journal_issuance *in);

/*
 * Encode one issuance record with the given header values into a new buffer
 * (free with free()). Errors: SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int journal_issuance_encode(uint64_t seq, const uint8_t prev_hash[JOURNAL_HASH_LEN],
    const struct journal_issuance *in, uint8_t **out, size_t *len);

#endif
