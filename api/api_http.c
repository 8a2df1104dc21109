#include <string.h>
#include <strings.h>

#include "api_http.h"

/* What the header walk found. */
struct api_http_scan {
	unsigned hosts;
	unsigned lengths;
	unsigned encodings;
	const char *length;
	const char *encoding;
	const char *bad_name;		/* the first header name that is not a token */
};

/* RFC 9110 tchar. */
static bool
api_http_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static enum MHD_Result
api_http_scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct api_http_scan *scan = cls;
	const char *k;

	(void)kind;
	for (k = key; *k != '\0' && api_http_tchar((unsigned char)*k); k++)
		;
	if ((*key == '\0' || *k != '\0') && scan->bad_name == NULL)
		scan->bad_name = key;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		scan->hosts++;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		scan->lengths++;
		scan->length = value;
	}
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		scan->encodings++;
		scan->encoding = value;
	}
	return MHD_YES;
}

static bool
api_http_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* An origin-form path: "/" then RFC 3986 pchar and "/", percent-encoding valid and never %00. */
static bool
api_http_path_ok(const char *path, struct api_problem *p)
{
	const unsigned char *s = (const unsigned char *)path;

	if (*s != '/') {
		api_problem_set(p, API_P_BAD_HTTP, "the request target must be a path starting with /");
		return false;
	}
	for (; *s != '\0'; s++) {
		if (*s == '%') {
			if (!api_http_hex(s[1]) || !api_http_hex(s[2])) {
				api_problem_set(p, API_P_BAD_HTTP, "bad percent-encoding in the path");
				return false;
			}
			if (s[1] == '0' && s[2] == '0') {
				api_problem_set(p, API_P_BAD_HTTP, "the path encodes a NUL (%%00)");
				return false;
			}
			s += 2;
			continue;
		}
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("-._~!$&'()*+,;=:@/", *s) != NULL)
			continue;
		api_problem_set(p, API_P_BAD_HTTP, "the path has a character outside RFC 3986 (0x%02x)", *s);
		return false;
	}
	return true;
}

bool
api_http_check(struct MHD_Connection *conn, const char *url, const char *version,
    struct api_http_frame *frame, struct api_problem *p)
{
	struct api_http_scan scan;

	memset(frame, 0, sizeof(*frame));
	memset(&scan, 0, sizeof(scan));
	if (!api_http_path_ok(url, p))
		return false;
	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, api_http_scan_header, &scan);
	if (scan.bad_name != NULL) {
		api_problem_set(p, API_P_BAD_HTTP, "a header field name is not a token (whitespace before the colon?)");
		return false;
	}
	/* HTTP/1.0 may omit Host; HTTP/1.1 (and any 1.x above) must send exactly one. */
	if (strcmp(version, MHD_HTTP_VERSION_1_0) != 0 && scan.hosts != 1) {
		api_problem_set(p, API_P_BAD_HTTP, scan.hosts == 0 ? "an HTTP/1.1 request needs a Host header" :
		    "Host is given more than once");
		return false;
	}
	if (scan.lengths > 1) {
		api_problem_set(p, API_P_BAD_HTTP, "Content-Length is given more than once");
		return false;
	}
	if (scan.lengths == 1 && scan.encodings != 0) {
		api_problem_set(p, API_P_BAD_HTTP, "Content-Length and Transfer-Encoding together");
		return false;
	}
	if (scan.encodings != 0) {
		if (scan.encodings > 1 || strcasecmp(scan.encoding, "chunked") != 0) {
			api_problem_set(p, API_P_NOT_IMPLEMENTED, "only Transfer-Encoding: chunked is understood");
			return false;
		}
		frame->chunked = true;
	}
	if (scan.lengths == 1) {
		if (api_content_length_parse(scan.length, &frame->length) != 0) {
			api_problem_set(p, API_P_BAD_HTTP, "Content-Length is not a decimal number");
			return false;
		}
		frame->has_length = true;
	}
	return true;
}

size_t
api_http_unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}
