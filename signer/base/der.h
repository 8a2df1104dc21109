/*
 * The minimal DER writer the issuance core needs: a tag and definite length
 * header, and wrapping already-encoded pieces in one TLV. Everything else is
 * encoded by OpenSSL; this only glues its output together. And the matching
 * strict reader: walking a structure's TLV headers without decoding it, so
 * that hot paths can find a part (a SubjectPublicKeyInfo, a TBS) without
 * handing the whole thing to OpenSSL's decoders.
 */
#ifndef SIGNER_DER_H
#define SIGNER_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define DER_TAG_BOOLEAN 0x01
#define DER_TAG_INTEGER 0x02
#define DER_TAG_BIT_STRING 0x03
#define DER_TAG_OCTET_STRING 0x04
#define DER_TAG_NULL 0x05
#define DER_TAG_OID 0x06
#define DER_TAG_SEQUENCE 0x30
#define DER_TAG_SET 0x31
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

/* One TLV found by der_read(); every pointer borrows the input. */
struct der_tlv {
	uint8_t tag;
	const uint8_t *tlv;	/* tag, length and content */
	size_t tlv_len;
	const uint8_t *val;	/* content */
	size_t len;
};

/*
 * Read the TLV at the start of in (avail bytes) strictly as DER: a
 * one-octet tag (tag numbers below 31), a definite length in its shortest
 * form with at most 3 length octets (DER_CONTENT_MAX), the content within
 * avail. Bytes after the TLV are the caller's business. No allocation.
 * Errors: SD_E_INVAL ("malformed DER ..." detail).
 */
SD_WUR int der_read(const uint8_t *in, size_t avail, struct der_tlv *out);

/*
 * der_read() at *p (*avail bytes left) requiring tag; on success *p and
 * *avail move past the TLV. Errors: SD_E_INVAL (also for another tag).
 */
SD_WUR int der_next(const uint8_t **p, size_t *avail, uint8_t tag, struct der_tlv *out);

/* Whether the next TLV at p (avail bytes) has tag; reads one octet only. */
bool der_peek_tag(const uint8_t *p, size_t avail, uint8_t tag);

#endif
