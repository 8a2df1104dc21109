/*
 * Request framing checks that libmicrohttpd 0.9.75 leaves to the
 * application, made on the complete header block before any body byte is
 * read (RFC 9112). A request that fails one is refused with a problem and
 * its connection closed: behind a proxy, an ambiguous frame is how one
 * request smuggles another.
 */
#ifndef API_HTTP_H
#define API_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "api_json.h"

/* How the request's body is framed. */
struct api_http_frame {
	bool chunked;		/* Transfer-Encoding: chunked */
	bool has_length;	/* Content-Length given */
	uint64_t length;	/* its value */
};

/*
 * Check the request line and headers of conn: url is the raw path (the
 * server does not percent-decode it), version the HTTP version. Refused:
 * a path that is not RFC 3986 characters with valid percent-encoding or
 * that encodes a NUL; a header name that is not a token; an HTTP/1.1
 * request without exactly one Host; Content-Length twice, not a decimal
 * number, or beside Transfer-Encoding; a Transfer-Encoding other than
 * "chunked" (501). Returns true and fills *frame when the request may
 * proceed; otherwise *p holds the problem.
 */
bool api_http_check(struct MHD_Connection *conn, const char *url, const char *version,
    struct api_http_frame *frame, struct api_problem *p);

/* libmicrohttpd's unescape callback that leaves paths and query values as sent. */
size_t api_http_unescape_none(void *cls, struct MHD_Connection *conn, char *s);

#endif
