/*
 * JSON lines on stderr (include/sd_log.h). Strings are escaped here rather
 * than by a JSON library so that every room, the HSM layer included, can
 * log; any byte sequence comes out as valid JSON (bad UTF-8 becomes U+FFFD).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sd_log.h"
#include "sd_time.h"

/* Room kept for the closing }\n. */
#define SD_LOG_TAIL 2

static const char *sd_log_process = "signerd";
static bool sd_log_json = false;

static const char *const sd_log_levels[] = { "error", "warn", "info" };

/* A line being built: nothing is appended that does not fit whole, and once full it stays full. */
struct sd_log_buf {
	char *p;
	size_t size;	/* usable bytes, SD_LOG_TAIL already kept back */
	size_t len;
	bool full;
};

void
sd_log_init(const char *process, bool json)
{
	if (process != NULL)
		sd_log_process = process;
	sd_log_json = json;
}

/* Append n bytes if they fit with keep bytes to spare; else the line is full. */
static bool
sd_log_raw(struct sd_log_buf *b, const char *s, size_t n, size_t keep)
{
	if (b->full || n > b->size - b->len || keep > b->size - b->len - n) {
		b->full = true;
		return false;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t
sd_log_utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n > avail)
		return 0;
	cp = s[0] & (0x7fu >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * s as a JSON string (quotes included), after the line already holds its
 * opening quote's room: a value cut short is still closed.
 */
static void
sd_log_string_body(struct sd_log_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t avail = strlen(s), used, n;
	char out[8];

	while (avail > 0) {
		used = 1;
		if (*u == '"' || *u == '\\') {
			out[0] = '\\';
			out[1] = (char)*u;
			n = 2;
		} else if (*u < 0x20 || *u == 0x7f) {
			(void)snprintf(out, sizeof(out), "\\u%04x", *u);
			n = 6;
		} else if (*u < 0x80) {
			out[0] = (char)*u;
			n = 1;
		} else if ((used = sd_log_utf8_len(u, avail)) > 0) {
			memcpy(out, u, used);
			n = used;
		} else {
			memcpy(out, "\xef\xbf\xbd", 3);	/* U+FFFD for one bad byte */
			n = 3;
			used = 1;
		}
		/* Keep room for the closing quote. */
		if (!sd_log_raw(b, out, n, 1))
			break;
		u += used;
		avail -= used;
	}
	/* The room kept: a line cut inside a value still closes it. */
	b->p[b->len++] = '"';
}

/* ,"key": then the value's opening quote, if at least an empty value fits; false when full. */
static bool
sd_log_key(struct sd_log_buf *b, const char *key, bool string)
{
	char head[80];
	int n = snprintf(head, sizeof(head), ",\"%s\":%s", key, string ? "\"" : "");

	if (n < 0 || (size_t)n >= sizeof(head))
		return false;
	return sd_log_raw(b, head, (size_t)n, string ? 1 : 0);
}

static void
sd_log_string_field(struct sd_log_buf *b, const char *key, const char *value)
{
	if (sd_log_key(b, key, true))
		sd_log_string_body(b, value);
}

static void
sd_log_number_field(struct sd_log_buf *b, const char *key, int64_t v)
{
	char text[96];
	int n = snprintf(text, sizeof(text), ",\"%s\":%lld", key, (long long)v);

	if (n > 0 && (size_t)n < sizeof(text))
		(void)sd_log_raw(b, text, (size_t)n, 0);
}

static void
sd_log_time(char *text, size_t size, int64_t time_ms)
{
	struct tm tm;
	time_t t = (time_t)(time_ms / 1000);
	int n;

	if (time_ms < 0 || gmtime_r(&t, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
		time_ms = 0;
	}
	n = snprintf(text, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(time_ms % 1000));
	if (n < 0 || (size_t)n >= size)
		text[0] = '\0';
}

size_t
sd_log_format(char *buf, size_t size, int64_t time_ms, enum sd_log_level level, const char *msg,
    const struct sd_log_field *fields, size_t n)
{
	struct sd_log_buf b;
	char time_text[40];
	size_t i;

	if (size < 64)
		return 0;
	b = (struct sd_log_buf){ buf, size - SD_LOG_TAIL, 0, false };
	sd_log_time(time_text, sizeof(time_text), time_ms);
	/* size >= 64 holds the time whole: the line starts complete. */
	(void)sd_log_raw(&b, "{\"time\":\"", 9, 1);
	sd_log_string_body(&b, time_text);
	sd_log_string_field(&b, "level", sd_log_levels[(unsigned)level < 3 ? level : SD_LOG_ERROR]);
	sd_log_string_field(&b, "process", sd_log_process);
	sd_log_string_field(&b, "msg", msg != NULL ? msg : "");
	for (i = 0; i < n && !b.full; i++) {
		if (fields[i].str != NULL)
			sd_log_string_field(&b, fields[i].key, fields[i].str);
		else
			sd_log_number_field(&b, fields[i].key, fields[i].num);
	}
	memcpy(buf + b.len, "}\n", 2);
	return b.len + 2;
}

static void
sd_log_write(const char *line, size_t len)
{
	size_t at = 0;
	ssize_t w;

	while (at < len) {
		w = write(STDERR_FILENO, line + at, len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		at += (size_t)w;
	}
}

/* "process: msg key=value ...", cut to fit; for people at a terminal. */
static size_t
sd_log_text(char *buf, size_t size, const char *msg, const struct sd_log_field *fields, size_t n)
{
	size_t len, i;
	int w;

	w = snprintf(buf, size - 1, "%s: %s", sd_log_process, msg != NULL ? msg : "");
	len = w < 0 ? 0 : (size_t)w < size - 1 ? (size_t)w : size - 2;
	for (i = 0; i < n && len < size - 2; i++) {
		if (fields[i].str != NULL)
			w = snprintf(buf + len, size - 1 - len, " %s=%s", fields[i].key, fields[i].str);
		else
			w = snprintf(buf + len, size - 1 - len, " %s=%lld", fields[i].key, (long long)fields[i].num);
		if (w < 0)
			break;
		len = (size_t)w < size - 1 - len ? len + (size_t)w : size - 2;
	}
	buf[len++] = '\n';
	return len;
}

void
sd_log_fields(enum sd_log_level level, const char *msg, const struct sd_log_field *fields, size_t n)
{
	char line[SD_LOG_LINE_MAX];
	size_t len;
	int saved = errno;

	if (sd_log_json)
		len = sd_log_format(line, sizeof(line), sd_time_now_ms(), level, msg, fields, n);
	else
		len = sd_log_text(line, sizeof(line), msg, fields, n);
	sd_log_write(line, len);
	errno = saved;
}

void
sd_log(enum sd_log_level level, const char *fmt, ...)
{
	char msg[SD_LOG_LINE_MAX / 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	sd_log_fields(level, msg, NULL, 0);
}
