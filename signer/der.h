/*
 * The minimal DER writer the issuance core needs: a tag and definite length
 * header, and wrapping already-encoded pieces in one TLV. Everything else is
 * encoded by OpenSSL; this only glues its output together.
 */
#ifndef SIGNER_DER_H
#define SIGNER_DER_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define DER_TAG_INTEGER 0x02
#define DER_TAG_BIT_STRING 0x03
#define DER_TAG_SEQUENCE 0x30
#define DER_TAG_CONTEXT_0 0xa0	/* [0] constructed */
#define DER_TAG_CONTEXT_3 0xa3	/* [3] constructed */

/* Largest content length written: far above any certificate, fits 3 length octets. */
#define DER_CONTENT_MAX ((size_t)0xffffff)
/* Largest header: one tag octet, 0x83, three length octets. */
#define DER_HEADER_MAX 5

/* One already-encoded piece of content; data may be NULL when len is 0. */
struct der_piece {
	const uint8_t *data;
	size_t len;
};

/*
 * Length of the tag and length header for content_len bytes of content, or
 * 0 when content_len exceeds DER_CONTENT_MAX.
 */
size_t der_header_len(size_t content_len);

/*
 * Write tag and the shortest definite length for content_len into buf (cap
 * bytes); *used is the header length.
 * Errors: SD_E_TOO_LARGE (content_len > DER_CONTENT_MAX), SD_E_INVAL (buf too small).
 */
SD_WUR int der_write_header(uint8_t tag, size_t content_len, uint8_t *buf, size_t cap, size_t *used);

/*
 * New buffer holding tag || length || pieces[0] || ... || pieces[n-1].
 * *out (free with free()) and *out_len are set on success only.
 * Errors: SD_E_TOO_LARGE (total over DER_CONTENT_MAX), SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int der_wrap(uint8_t tag, const struct der_piece *pieces, size_t n, uint8_t **out, size_t *out_len);

/*
 * New BIT STRING with no unused bits holding bits[0..len). Same contract as der_wrap().
 */
SD_WUR int der_bit_string(const uint8_t *bits, size_t len, uint8_t **out, size_t *out_len);

#endif
