/*
 * The one base64 decoder of the front: EST bodies (RFC 7030, RFC 2045
 * line breaks) and OCSP GET paths (RFC 6960 A.1, percent-encoded, padding
 * optional) differ only in what they tolerate.
 */
#ifndef API_BASE64_H
#define API_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

enum api_base64_flags {
	API_BASE64_BLANKS = 1 << 0,	/* spaces, tabs and line breaks anywhere carry nothing */
	API_BASE64_PERCENT = 1 << 1,	/* %XX stands for its byte (a URL path) */
	API_BASE64_URL = 1 << 2,	/* '-' and '_' also stand for '+' and '/' */
	API_BASE64_PADDED = 1 << 3,	/* the '=' padding to a multiple of four is required */
};

/*
 * Decode len bytes of text into out (cap bytes); *out_len bytes written.
 * Errors: SD_E_INVAL (a character outside the alphabet, data after padding,
 * a length no encoding has, nothing at all, more than cap bytes).
 */
SD_WUR int api_base64_decode(const char *text, size_t len, unsigned flags, uint8_t *out, size_t cap,
    size_t *out_len);

#endif
