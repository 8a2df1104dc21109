/*
 * Admission control for the HTTPS listener: what a peer may cost before it
 * proves who it is. Per-source and global connection limits, deadlines that
 * activity does not extend, a per-source budget of connections that do not
 * authenticate, eviction of connections that have not sent a request when
 * the server is full, and refusals logged as one summary line per source and
 * interval instead of one line per connection.
 *
 * libmicrohttpd's listen thread calls api_guard_admit() (its accept policy),
 * api_guard_conn_open() and api_guard_conn_close(); a connection's own thread
 * reports its progress. A watchdog thread enforces the deadlines by shutting
 * the socket down: the connection's thread then reads the end of the stream
 * and libmicrohttpd closes the connection. A socket is shut down only while
 * its connection is registered, and libmicrohttpd closes the descriptor only
 * after api_guard_conn_close(), so a reused descriptor is never touched.
 *
 * A source is an IPv4 address or an IPv6 /64 (one host usually holds a
 * whole /64). All functions are thread-safe.
 */
#ifndef API_GUARD_H
#define API_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sd_error.h"

#define API_GUARD_LOG_INTERVAL_MS 10000	/* refusal summaries, one line per source */
#define API_GUARD_LOG_FULL 3			/* refusals a source may log in full per interval */
#define API_GUARD_LOG_SOURCES 16		/* summary lines per interval; the rest in one line */
#define API_GUARD_SOURCES_MAX 65536		/* sources remembered at once */

struct api_guard_limits {
	unsigned max_connections;	/* open connections; beyond, one is evicted or the new one refused */
	unsigned max_per_source;	/* open connections from one source */
	unsigned handshake_ms;		/* accept to TLS handshake done */
	unsigned header_ms;		/* handshake done to the first request's headers complete */
	unsigned request_ms;		/* headers complete to body received; response queued to sent */
	unsigned idle_ms;		/* response sent to the next request's headers complete */
	unsigned unauth_rate;		/* connections per second a source may open without authenticating */
	unsigned unauth_burst;		/* and how many above that rate at once */
};

/* Why a connection or request was refused: the columns of the summary line. */
enum api_guard_refusal {
	API_GUARD_R_SOURCE_LIMIT,	/* at accept: the source holds max_per_source connections */
	API_GUARD_R_RATE,		/* at accept: the source's unauthenticated budget is spent */
	API_GUARD_R_TABLE_FULL,		/* at accept: too many sources remembered */
	API_GUARD_R_FULL,		/* at accept: max_connections, nothing to evict */
	API_GUARD_R_EVICTED,		/* dropped to make room: had not sent a request */
	API_GUARD_R_HANDSHAKE,		/* handshake deadline */
	API_GUARD_R_HEADERS,		/* header or idle deadline */
	API_GUARD_R_REQUEST,		/* body or response deadline */
	API_GUARD_R_TLS,		/* a TLS 1.0/1.1 ClientHello */
	API_GUARD_R_UNAUTHENTICATED,	/* 401 */
	API_GUARD_R_REFUSED,		/* other refusals of an unauthenticated request (404, 405, ...) */
	API_GUARD_R_COUNT
};

struct api_guard;
struct api_guard_conn;

/*
 * Start the watchdog. lim is copied. On success *out (api_guard_free()).
 * Errors: SD_E_CONFIG (a limit is 0), SD_E_NOMEM, SD_E_INTERNAL (thread).
 */
SD_WUR int api_guard_new(const struct api_guard_limits *lim, struct api_guard **out);

/* New limits (a reload), for the connections and requests to come; lim is copied. */
void api_guard_limits_set(struct api_guard *g, const struct api_guard_limits *lim);

/* Stop the watchdog and free; every connection must be closed. NULL is a no-op. */
void api_guard_free(struct api_guard *g);

/*
 * Accept policy: true when a connection from addr may be accepted now.
 * A refusal is counted against the source; an accepted connection takes one
 * unit of the source's unauthenticated budget (api_guard_authenticated()
 * gives it back).
 */
bool api_guard_admit(struct api_guard *g, const struct sockaddr *addr, socklen_t len);

/*
 * Register an accepted connection on socket fd. When the server is full,
 * the oldest connection that has not sent a complete request (from the
 * source with the most connections) is evicted, else the oldest
 * authenticated one idling between requests; when there is none, the new
 * connection is registered already shut down. NULL when it cannot be
 * tracked (out of memory, the source table full): fd has then been shut
 * down and libmicrohttpd will close it.
 */
struct api_guard_conn *api_guard_conn_open(struct api_guard *g, int fd, const struct sockaddr *addr,
    socklen_t len);

/* The connection is gone (its descriptor is about to be closed). NULL is a no-op. */
void api_guard_conn_close(struct api_guard *g, struct api_guard_conn *c);

/* Progress of a connection, each from its own thread (c NULL: no-op). */
void api_guard_handshake_done(struct api_guard *g, struct api_guard_conn *c);
void api_guard_request_begin(struct api_guard *g, struct api_guard_conn *c, bool reads_body);
void api_guard_request_body_done(struct api_guard *g, struct api_guard_conn *c);
void api_guard_response_queued(struct api_guard *g, struct api_guard_conn *c);
void api_guard_request_done(struct api_guard *g, struct api_guard_conn *c);

/* The connection's client authenticated: its source gets the unit back, once. */
void api_guard_authenticated(struct api_guard *g, struct api_guard_conn *c);

/*
 * Count a refusal of connection c (NULL: counted without a source). True
 * when it may be logged in full: the source's first API_GUARD_LOG_FULL in
 * the interval; the rest appear in its summary line.
 */
bool api_guard_refused(struct api_guard *g, struct api_guard_conn *c, enum api_guard_refusal why);

/*
 * libmicrohttpd's own messages (which name no source): true for the first
 * few of an interval; the rest are counted into one summary line.
 */
bool api_guard_library_log(struct api_guard *g);

/* The source of c as text, for log lines ("-" when unknown). */
const char *api_guard_conn_source(const struct api_guard_conn *c);

#endif
