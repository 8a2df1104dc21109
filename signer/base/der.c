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

int
der_read(const uint8_t *in, size_t avail, struct der_tlv *out)
{
	size_t hlen, len, n, i;

	memset(out, 0, sizeof(*out));
	if (in == NULL || avail < 2)
		return sd_error_set(SD_E_INVAL, "malformed DER: %zu bytes cannot hold a TLV", avail);
	if ((in[0] & 0x1f) == 0x1f)
		return sd_error_set(SD_E_INVAL, "malformed DER: multi-octet tag 0x%02x", in[0]);
	if (in[1] < 0x80) {
		hlen = 2;
		len = in[1];
	} else {
		n = in[1] & 0x7f;
		if (n == 0)
			return sd_error_set(SD_E_INVAL, "malformed DER: indefinite length");
		if (n > 3 || avail < 2 + n)
			return sd_error_set(SD_E_INVAL, "malformed DER: %zu length octets", n);
		for (i = 0, len = 0; i < n; i++)
			len = len << 8 | in[2 + i];
		/* Shortest form: no leading zero octet, no long form below 0x80. */
		if (in[2] == 0 || len < 0x80)
			return sd_error_set(SD_E_INVAL, "malformed DER: length %zu not in its shortest form", len);
		hlen = 2 + n;
	}
	if (len > avail - hlen)
		return sd_error_set(SD_E_INVAL, "malformed DER: content of %zu bytes exceeds the %zu available", len,
		    avail - hlen);
	out->tag = in[0];
	out->tlv = in;
	out->tlv_len = hlen + len;
	out->val = in + hlen;
	out->len = len;
	return 0;
}

int
der_next(const uint8_t **p, size_t *avail, uint8_t tag, struct der_tlv *out)
{
	int rc;

	if ((rc = der_read(*p, *avail, out)) != 0)
		return rc;
	if (out->tag != tag) {
		memset(out, 0, sizeof(*out));
		return sd_error_set(SD_E_INVAL, "malformed DER: tag 0x%02x where 0x%02x belongs", (*p)[0], tag);
	}
	*p += out->tlv_len;
	*avail -= out->tlv_len;
	return 0;
}

bool
der_peek_tag(const uint8_t *p, size_t avail, uint8_t tag)
{
	return p != NULL && avail > 0 && p[0] == tag;
}
