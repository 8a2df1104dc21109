#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api_guard.h"
#include "sd_log.h"

#define GUARD_BUCKETS 4096		/* hash chains of the source table */
#define GUARD_TICK_MS 100		/* how often deadlines are checked */
#define GUARD_LIBRARY_LOG_FULL 5	/* libmicrohttpd lines per interval */
#define GUARD_KEY_LEN 17		/* family, then 16 address bytes */

/* Where a connection is; each phase but BUSY has a deadline. */
enum guard_phase {
	GUARD_HANDSHAKE,	/* accepted, TLS handshake not done */
	GUARD_HEADERS,		/* handshake done, first request's headers not complete */
	GUARD_BODY,		/* headers complete, body being read */
	GUARD_BUSY,		/* the request is being handled (the signer bounds its own waits) */
	GUARD_SENDING,		/* response queued, not yet sent */
	GUARD_IDLE,		/* keep-alive, between requests */
};

struct guard_source {
	struct guard_source *next;	/* hash chain */
	uint8_t key[GUARD_KEY_LEN];
	char text[INET6_ADDRSTRLEN + 4];
	unsigned open;			/* registered connections */
	unsigned live;			/* of which not shut down */
	double tokens;			/* unauthenticated budget */
	uint64_t refilled_ms;
	uint64_t refused[API_GUARD_R_COUNT];	/* this interval */
	uint64_t logged;		/* refusals logged in full this interval */
};

struct api_guard_conn {
	struct api_guard_conn *prev, *next;
	struct guard_source *src;
	int fd;
	enum guard_phase phase;
	uint64_t opened_ms;
	uint64_t deadline_ms;
	bool shut;
	bool authenticated;
};

/* The summary lines of an interval, made under the lock and written after it. */
struct guard_text {
	char buf[(API_GUARD_LOG_SOURCES + 2) * 640];
	size_t len;
};

struct api_guard {
	struct api_guard_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t watchdog;
	bool stop;
	struct guard_source *buckets[GUARD_BUCKETS];
	size_t n_sources;
	struct api_guard_conn *conns;	/* every registered connection */
	unsigned open, live;
	uint64_t unsourced[API_GUARD_R_COUNT];	/* refusals without a source (table full, no memory) */
	uint64_t library_lines, library_dropped;
	uint64_t interval_start_ms;
	uint32_t seed;			/* of the source hash: chains an attacker cannot aim at */
	struct guard_text text;		/* the watchdog's, written without the lock */
};

static uint64_t
guard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void guard_line(struct guard_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append one line; a line that does not fit is cut, and the text always ends with a newline. */
static void
guard_line(struct guard_text *t, const char *fmt, ...)
{
	size_t room = sizeof(t->buf) - t->len;
	va_list ap;
	int n;

	if (room < 2)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	t->len += (size_t)n < room - 1 ? (size_t)n : room - 2;
	t->buf[t->len++] = '\n';
}

/* Each line as a log line (one write(2) each: lines of other threads never land inside one). */
static void
guard_text_write(const struct guard_text *t)
{
	size_t at = 0, end;

	while (at < t->len) {
		for (end = at; end < t->len && t->buf[end] != '\n'; end++)
			;
		if (end > at)
			sd_log(SD_LOG_WARN, "%.*s", (int)(end - at), t->buf + at);
		at = end + 1;
	}
}

/* The source of addr: an IPv4 address or an IPv6 /64. False for other families. */
static bool
guard_source_key(const struct sockaddr *addr, socklen_t len, uint8_t key[GUARD_KEY_LEN], char *text,
    size_t text_size)
{
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;
	char buf[INET6_ADDRSTRLEN];

	memset(key, 0, GUARD_KEY_LEN);
	if (addr == NULL)
		return false;
	if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(*in4)) {
		in4 = (const struct sockaddr_in *)(const void *)addr;
		key[0] = 4;
		memcpy(key + 1, &in4->sin_addr, 4);
		if (text != NULL && inet_ntop(AF_INET, &in4->sin_addr, text, (socklen_t)text_size) == NULL)
			(void)snprintf(text, text_size, "?");
		return true;
	}
	if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(*in6)) {
		in6 = (const struct sockaddr_in6 *)(const void *)addr;
		/* An IPv4 client of a dual-stack socket is its IPv4 address, not the /64 ::ffff:0:0. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, in6->sin6_addr.s6_addr + 12, 4);
			if (text != NULL && inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, text,
			    (socklen_t)text_size) == NULL)
				(void)snprintf(text, text_size, "?");
			return true;
		}
		key[0] = 6;
		memcpy(key + 1, &in6->sin6_addr, 8);	/* the /64 */
		if (text != NULL) {
			struct in6_addr net;

			memset(&net, 0, sizeof(net));
			memcpy(&net, &in6->sin6_addr, 8);
			if (inet_ntop(AF_INET6, &net, buf, sizeof(buf)) == NULL ||
			    snprintf(text, text_size, "%s/64", buf) >= (int)text_size)
				(void)snprintf(text, text_size, "?");
		}
		return true;
	}
	return false;
}

static size_t
guard_hash(const struct api_guard *g, const uint8_t key[GUARD_KEY_LEN])
{
	uint32_t h = 2166136261u ^ g->seed;	/* FNV-1a from a secret start */
	size_t i;

	for (i = 0; i < GUARD_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % GUARD_BUCKETS;
}

/*
 * The table is full: forget every source that holds no connection (their
 * budgets start full again). Sources with connections are at most
 * max_connections plus those being closed, far below the table's size.
 */
static void
guard_reclaim(struct api_guard *g)
{
	struct guard_source **pp, *s;
	size_t h;

	for (h = 0; h < GUARD_BUCKETS; h++) {
		for (pp = &g->buckets[h]; (s = *pp) != NULL;) {
			if (s->open == 0) {
				*pp = s->next;
				free(s);
				g->n_sources--;
				continue;
			}
			pp = &s->next;
		}
	}
}

/* The source of addr, created with a full budget if new; NULL when the table is full or memory is short. */
static struct guard_source *
guard_source_get(struct api_guard *g, const struct sockaddr *addr, socklen_t len, uint64_t now)
{
	uint8_t key[GUARD_KEY_LEN];
	struct guard_source *s;
	char text[INET6_ADDRSTRLEN + 4];
	size_t h;

	if (!guard_source_key(addr, len, key, NULL, 0))
		return NULL;
	h = guard_hash(g, key);
	for (s = g->buckets[h]; s != NULL; s = s->next)
		if (memcmp(s->key, key, sizeof(key)) == 0)
			return s;
	if (g->n_sources >= API_GUARD_SOURCES_MAX)
		guard_reclaim(g);
	if (g->n_sources >= API_GUARD_SOURCES_MAX || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	(void)guard_source_key(addr, len, s->key, text, sizeof(text));
	memcpy(s->text, text, sizeof(s->text));
	s->tokens = g->lim.unauth_burst;
	s->refilled_ms = now;
	s->next = g->buckets[h];
	g->buckets[h] = s;
	g->n_sources++;
	return s;
}

static void
guard_refill(const struct api_guard *g, struct guard_source *s, uint64_t now)
{
	if (now > s->refilled_ms) {
		s->tokens += (double)(now - s->refilled_ms) * g->lim.unauth_rate / 1000.0;
		if (s->tokens > g->lim.unauth_burst)
			s->tokens = g->lim.unauth_burst;
	}
	s->refilled_ms = now;
}

static void
guard_count(struct api_guard *g, struct guard_source *s, enum api_guard_refusal why)
{
	if (s != NULL)
		s->refused[why]++;
	else
		g->unsourced[why]++;
}

/* Shut c's socket down: its thread sees the end of the stream and libmicrohttpd closes it. */
static void
guard_shut(struct api_guard *g, struct api_guard_conn *c, enum api_guard_refusal why)
{
	if (c->shut)
		return;
	c->shut = true;
	c->deadline_ms = 0;
	g->live--;
	c->src->live--;
	guard_count(g, c->src, why);
	(void)shutdown(c->fd, SHUT_RDWR);
}

static void
guard_set_phase(struct api_guard *g, struct api_guard_conn *c, enum guard_phase phase)
{
	uint64_t now = guard_now_ms(), ms;

	switch (phase) {
	case GUARD_HANDSHAKE: ms = g->lim.handshake_ms; break;
	case GUARD_HEADERS: ms = g->lim.header_ms; break;
	case GUARD_BODY:
	case GUARD_SENDING: ms = g->lim.request_ms; break;
	case GUARD_IDLE: ms = g->lim.idle_ms; break;
	case GUARD_BUSY: ms = 0; break;
	default: abort();
	}
	pthread_mutex_lock(&g->lock);
	c->phase = phase;
	if (!c->shut)
		c->deadline_ms = ms != 0 ? now + ms : 0;
	pthread_mutex_unlock(&g->lock);
}

static enum api_guard_refusal
guard_deadline_reason(enum guard_phase phase)
{
	switch (phase) {
	case GUARD_HANDSHAKE: return API_GUARD_R_HANDSHAKE;
	case GUARD_HEADERS:
	case GUARD_IDLE: return API_GUARD_R_HEADERS;
	default: return API_GUARD_R_REQUEST;
	}
}

static const char *const guard_refusal_names[API_GUARD_R_COUNT] = {
	[API_GUARD_R_SOURCE_LIMIT] = "source-limit",
	[API_GUARD_R_RATE] = "unauthenticated-rate",
	[API_GUARD_R_TABLE_FULL] = "source-table-full",
	[API_GUARD_R_FULL] = "server-full",
	[API_GUARD_R_EVICTED] = "evicted",
	[API_GUARD_R_HANDSHAKE] = "handshake-timeout",
	[API_GUARD_R_HEADERS] = "header-timeout",
	[API_GUARD_R_REQUEST] = "request-timeout",
	[API_GUARD_R_TLS] = "tls",
	[API_GUARD_R_UNAUTHENTICATED] = "unauthenticated",
	[API_GUARD_R_REFUSED] = "refused",
};

/* "reason n, reason n" of the non-zero counts into out; the total. */
static uint64_t
guard_counts_text(const uint64_t counts[API_GUARD_R_COUNT], char *out, size_t size)
{
	uint64_t total = 0;
	size_t at = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < API_GUARD_R_COUNT; i++) {
		if (counts[i] == 0)
			continue;
		total += counts[i];
		n = snprintf(out + at, size - at, "%s%s %llu", at == 0 ? "" : ", ", guard_refusal_names[i],
		    (unsigned long long)counts[i]);
		if (n < 0 || (size_t)n >= size - at)
			break;
		at += (size_t)n;
	}
	return total;
}

/*
 * End of an interval: one line per source whose refusals were not all
 * logged in full, then forget sources that hold nothing.
 */
static void
guard_summarise(struct api_guard *g, uint64_t now, struct guard_text *out)
{
	uint64_t others[API_GUARD_R_COUNT], total, secs;
	struct guard_source **pp, *s;
	char text[512];
	size_t h, lines = 0, more = 0;
	int i;

	secs = (now - g->interval_start_ms + 500) / 1000;
	memcpy(others, g->unsourced, sizeof(others));
	for (h = 0; h < GUARD_BUCKETS; h++) {
		for (pp = &g->buckets[h]; (s = *pp) != NULL;) {
			total = 0;
			for (i = 0; i < API_GUARD_R_COUNT; i++)
				total += s->refused[i];
			if (total > s->logged) {
				if (lines < API_GUARD_LOG_SOURCES) {
					(void)guard_counts_text(s->refused, text, sizeof(text));
					guard_line(out, "api: refused %s: %llu in %llu s (%s)", s->text,
					    (unsigned long long)total, (unsigned long long)secs, text);
					lines++;
				} else {
					for (i = 0; i < API_GUARD_R_COUNT; i++)
						others[i] += s->refused[i];
					more++;
				}
			}
			memset(s->refused, 0, sizeof(s->refused));
			s->logged = 0;
			guard_refill(g, s, now);
			if (s->open == 0 && s->tokens >= g->lim.unauth_burst) {
				*pp = s->next;
				free(s);
				g->n_sources--;
				continue;
			}
			pp = &s->next;
		}
	}
	if ((total = guard_counts_text(others, text, sizeof(text))) != 0)
		guard_line(out, "api: refused %zu more sources: %llu in %llu s (%s)", more,
		    (unsigned long long)total, (unsigned long long)secs, text);
	if (g->library_dropped != 0)
		guard_line(out, "api: %llu more libmicrohttpd messages in %llu s not logged",
		    (unsigned long long)g->library_dropped, (unsigned long long)secs);
	memset(g->unsourced, 0, sizeof(g->unsourced));
	g->library_lines = 0;
	g->library_dropped = 0;
	g->interval_start_ms = now;
}

static void *
guard_watchdog(void *arg)
{
	struct api_guard *g = arg;
	struct api_guard_conn *c;
	struct timespec until;
	uint64_t now;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (g->stop)
			break;
		now = guard_now_ms();
		for (c = g->conns; c != NULL; c = c->next)
			if (!c->shut && c->deadline_ms != 0 && now >= c->deadline_ms)
				guard_shut(g, c, guard_deadline_reason(c->phase));
		if (now - g->interval_start_ms >= API_GUARD_LOG_INTERVAL_MS) {
			g->text.len = 0;
			guard_summarise(g, now, &g->text);
			/* A stalled stderr must not hold up accepts: write without the lock. */
			pthread_mutex_unlock(&g->lock);
			guard_text_write(&g->text);
			pthread_mutex_lock(&g->lock);
		}
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

void
api_guard_limits_set(struct api_guard *g, const struct api_guard_limits *lim)
{
	pthread_mutex_lock(&g->lock);
	g->lim = *lim;
	pthread_mutex_unlock(&g->lock);
}

int
api_guard_new(const struct api_guard_limits *lim, struct api_guard **out)
{
	struct api_guard *g = NULL;
	pthread_condattr_t attr;
	bool lock = false, cond = false;
	int rc;

	*out = NULL;
	if (lim->max_connections == 0 || lim->max_per_source == 0 || lim->handshake_ms == 0 ||
	    lim->header_ms == 0 || lim->request_ms == 0 || lim->idle_ms == 0 || lim->unauth_rate == 0 ||
	    lim->unauth_burst == 0)
		return sd_error_set(SD_E_CONFIG, "[api] connection limits and timeouts must not be 0");
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return SD_E_NOMEM;
	g->lim = *lim;
	g->interval_start_ms = guard_now_ms();
	if (getrandom(&g->seed, sizeof(g->seed), 0) != (ssize_t)sizeof(g->seed))
		g->seed = (uint32_t)g->interval_start_ms ^ (uint32_t)getpid();
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	lock = true;
	if (pthread_condattr_init(&attr) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&g->wake, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (!rc) {
		rc = SD_E_NOMEM;
		goto out;
	}
	cond = true;
	if (pthread_create(&g->watchdog, NULL, guard_watchdog, g) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "cannot start the connection watchdog");
		goto out;
	}
	*out = g;
	return 0;
out:
	if (cond)
		pthread_cond_destroy(&g->wake);
	if (lock)
		pthread_mutex_destroy(&g->lock);
	free(g);
	return rc;
}

void
api_guard_free(struct api_guard *g)
{
	struct guard_source *s, *next;
	size_t h;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->watchdog, NULL);
	if (g->conns != NULL)
		abort();	/* libmicrohttpd reports every close before it stops */
	for (h = 0; h < GUARD_BUCKETS; h++) {
		for (s = g->buckets[h]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

bool
api_guard_admit(struct api_guard *g, const struct sockaddr *addr, socklen_t len)
{
	struct guard_source *s;
	uint64_t now = guard_now_ms();
	bool ok = false;

	pthread_mutex_lock(&g->lock);
	if ((s = guard_source_get(g, addr, len, now)) == NULL) {
		guard_count(g, NULL, API_GUARD_R_TABLE_FULL);
		goto out;
	}
	if (s->live >= g->lim.max_per_source) {
		guard_count(g, s, API_GUARD_R_SOURCE_LIMIT);
		goto out;
	}
	guard_refill(g, s, now);
	if (s->tokens < 1.0) {
		guard_count(g, s, API_GUARD_R_RATE);
		goto out;
	}
	s->tokens -= 1.0;
	ok = true;
out:
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/*
 * The connection to drop for a newcomer: one that has not sent a complete
 * request (handshake, first headers, or idle and never authenticated), then
 * an authenticated one idling between requests; from the source holding the
 * most connections, oldest first. Never one whose request is under way.
 */
static struct api_guard_conn *
guard_victim(const struct api_guard *g, const struct api_guard_conn *newcomer)
{
	struct api_guard_conn *c, *best = NULL;
	int rank, best_rank = 0;

	for (c = g->conns; c != NULL; c = c->next) {
		if (c->shut || c == newcomer)
			continue;
		if (c->phase == GUARD_HANDSHAKE || c->phase == GUARD_HEADERS ||
		    (c->phase == GUARD_IDLE && !c->authenticated))
			rank = 2;
		else if (c->phase == GUARD_IDLE)
			rank = 1;
		else
			continue;
		/* The list is newest first: on a tie in opened_ms the later one is the older. */
		if (best == NULL || rank > best_rank ||
		    (rank == best_rank && (c->src->live > best->src->live ||
		    (c->src->live == best->src->live && c->opened_ms <= best->opened_ms)))) {
			best = c;
			best_rank = rank;
		}
	}
	return best;
}

struct api_guard_conn *
api_guard_conn_open(struct api_guard *g, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct api_guard_conn *c, *victim;
	struct guard_source *s;
	uint64_t now = guard_now_ms();

	pthread_mutex_lock(&g->lock);
	if ((s = guard_source_get(g, addr, len, now)) == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		guard_count(g, s, s == NULL ? API_GUARD_R_TABLE_FULL : API_GUARD_R_FULL);
		pthread_mutex_unlock(&g->lock);
		(void)shutdown(fd, SHUT_RDWR);
		return NULL;
	}
	c->src = s;
	c->fd = fd;
	c->phase = GUARD_HANDSHAKE;
	c->opened_ms = now;
	c->deadline_ms = now + g->lim.handshake_ms;
	c->next = g->conns;
	if (g->conns != NULL)
		g->conns->prev = c;
	g->conns = c;
	g->open++;
	g->live++;
	s->open++;
	s->live++;
	if (g->live > g->lim.max_connections) {
		if ((victim = guard_victim(g, c)) != NULL)
			guard_shut(g, victim, API_GUARD_R_EVICTED);
		else
			guard_shut(g, c, API_GUARD_R_FULL);
	}
	pthread_mutex_unlock(&g->lock);
	return c;
}

void
api_guard_conn_close(struct api_guard *g, struct api_guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (!c->shut) {
		g->live--;
		c->src->live--;
	}
	g->open--;
	c->src->open--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
}

void
api_guard_handshake_done(struct api_guard *g, struct api_guard_conn *c)
{
	if (c != NULL && c->phase == GUARD_HANDSHAKE)
		guard_set_phase(g, c, GUARD_HEADERS);
}

void
api_guard_request_begin(struct api_guard *g, struct api_guard_conn *c, bool reads_body)
{
	if (c != NULL)
		guard_set_phase(g, c, reads_body ? GUARD_BODY : GUARD_BUSY);
}

void
api_guard_request_body_done(struct api_guard *g, struct api_guard_conn *c)
{
	if (c != NULL)
		guard_set_phase(g, c, GUARD_BUSY);
}

void
api_guard_response_queued(struct api_guard *g, struct api_guard_conn *c)
{
	if (c != NULL)
		guard_set_phase(g, c, GUARD_SENDING);
}

void
api_guard_request_done(struct api_guard *g, struct api_guard_conn *c)
{
	if (c != NULL)
		guard_set_phase(g, c, GUARD_IDLE);
}

void
api_guard_authenticated(struct api_guard *g, struct api_guard_conn *c)
{
	if (c == NULL || c->authenticated)
		return;
	pthread_mutex_lock(&g->lock);
	c->authenticated = true;
	guard_refill(g, c->src, guard_now_ms());
	c->src->tokens += 1.0;
	if (c->src->tokens > g->lim.unauth_burst)
		c->src->tokens = g->lim.unauth_burst;
	pthread_mutex_unlock(&g->lock);
}

bool
api_guard_refused(struct api_guard *g, struct api_guard_conn *c, enum api_guard_refusal why)
{
	bool full = false;

	if ((unsigned)why >= API_GUARD_R_COUNT)
		abort();
	pthread_mutex_lock(&g->lock);
	guard_count(g, c != NULL ? c->src : NULL, why);
	if (c != NULL && c->src->logged < API_GUARD_LOG_FULL) {
		c->src->logged++;
		full = true;
	}
	pthread_mutex_unlock(&g->lock);
	return full;
}

bool
api_guard_library_log(struct api_guard *g)
{
	bool full;

	pthread_mutex_lock(&g->lock);
	full = g->library_lines < GUARD_LIBRARY_LOG_FULL;
	if (full)
		g->library_lines++;
	else
		g->library_dropped++;
	pthread_mutex_unlock(&g->lock);
	return full;
}

const char *
api_guard_conn_source(const struct api_guard_conn *c)
{
	return c != NULL ? c->src->text : "-";
}
