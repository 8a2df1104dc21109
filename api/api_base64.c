#include "api_base64.h"
#include "sd_file.h"

static int
api_base64_sextet(char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (c == '-' && (flags & API_BASE64_URL)))
		return 62;
	if (c == '/' || (c == '_' && (flags & API_BASE64_URL)))
		return 63;
	return -1;
}

int
api_base64_decode(const char *text, size_t len, unsigned flags, uint8_t *out, size_t cap, size_t *out_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, sextets = 0, pad = 0;
	int v, hi, lo;
	char c;

	*out_len = 0;
	for (i = 0; i < len; i++) {
		c = text[i];
		if (c == '%' && (flags & API_BASE64_PERCENT)) {
			if (len - i < 3 || (hi = sd_hex_digit(text[i + 1])) < 0 || (lo = sd_hex_digit(text[i + 2])) < 0)
				return sd_error_set(SD_E_INVAL, "bad percent-encoding");
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if ((flags & API_BASE64_BLANKS) && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad != 0)
			return sd_error_set(SD_E_INVAL, "data after base64 padding");
		if ((v = api_base64_sextet(c, flags)) < 0)
			return sd_error_set(SD_E_INVAL, "not base64 (byte %zu)", i);
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		sextets++;
		if (bits >= 8) {
			bits -= 8;
			if (*out_len >= cap)
				return sd_error_set(SD_E_INVAL, "more than %zu bytes", cap);
			out[(*out_len)++] = (uint8_t)(acc >> bits);
		}
	}
	if (sextets % 4 == 1 || pad > 2 || *out_len == 0 ||
	    ((pad != 0 || (flags & API_BASE64_PADDED)) && (sextets + pad) % 4 != 0))
		return sd_error_set(SD_E_INVAL, "not base64 (length)");
	return 0;
}
