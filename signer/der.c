#include <stdlib.h>
#include <string.h>

#include "der.h"

size_t
der_header_len(size_t content_len)
{
	if (content_len > DER_CONTENT_MAX)
		return 0;
	if (content_len < 0x80)
		return 2;
	if (content_len <= 0xff)
		return 3;
	if (content_len <= 0xffff)
		return 4;
	return 5;
}

int
der_write_header(uint8_t tag, size_t content_len, uint8_t *buf, size_t cap, size_t *used)
{
	size_t hlen, i, n;

	*used = 0;
	if ((hlen = der_header_len(content_len)) == 0)
		return sd_error_set(SD_E_TOO_LARGE, "DER content of %zu bytes exceeds %zu", content_len,
		    DER_CONTENT_MAX);
	if (buf == NULL || cap < hlen)
		return sd_error_set(SD_E_INVAL, "DER header needs %zu bytes, have %zu", hlen, cap);
	buf[0] = tag;
	if (hlen == 2) {
		buf[1] = (uint8_t)content_len;
	} else {
		n = hlen - 2;	/* length octets */
		buf[1] = (uint8_t)(0x80 | n);
		for (i = 0; i < n; i++)
			buf[2 + i] = (uint8_t)(content_len >> (8 * (n - 1 - i)));
	}
	*used = hlen;
	return 0;
}

int
der_wrap(uint8_t tag, const struct der_piece *pieces, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t content = 0, hlen, total, off, i;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (n > 0 && pieces == NULL) {
		rc = sd_error_set(SD_E_INVAL, "DER wrap: no pieces");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (pieces[i].data == NULL && pieces[i].len != 0) {
			rc = sd_error_set(SD_E_INVAL, "DER wrap: piece %zu has no data", i);
			goto out;
		}
		if (pieces[i].len > DER_CONTENT_MAX - content) {
			rc = sd_error_set(SD_E_TOO_LARGE, "DER content exceeds %zu bytes", DER_CONTENT_MAX);
			goto out;
		}
		content += pieces[i].len;
	}
	hlen = der_header_len(content);	/* non-zero: content <= DER_CONTENT_MAX */
	total = hlen + content;		/* cannot overflow: both are small */
	if ((buf = malloc(total)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = der_write_header(tag, content, buf, total, &off)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (pieces[i].len == 0)
			continue;
		memcpy(buf + off, pieces[i].data, pieces[i].len);
		off += pieces[i].len;
	}
	if (off != total)
		abort();	/* broken invariant: lengths were summed above */
	*out = buf;
	*out_len = total;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

int
der_bit_string(const uint8_t *bits, size_t len, uint8_t **out, size_t *out_len)
{
	static const uint8_t no_unused_bits = 0;
	const struct der_piece pieces[] = {
		{ &no_unused_bits, 1 },
		{ bits, len },
	};

	return der_wrap(DER_TAG_BIT_STRING, pieces, 2, out, out_len);
}
