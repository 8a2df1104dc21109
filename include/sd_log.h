/*
 * The daemons' log: one JSON object per line on stderr, which journald
 * (or any collector) keeps as it is. Every line has "time" (RFC 3339, UTC,
 * milliseconds), "level", "process" and "msg"; a line may add fields.
 * Each line is one write(2), so lines of concurrent threads never mix.
 * The log is best effort: a failed write is dropped, never an error.
 * Never log a PIN, a key, or a request body.
 */
#ifndef SD_LOG_H
#define SD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SD_LOG_LINE_MAX 4096	/* bytes of one line; longer values are cut */

enum sd_log_level {
	SD_LOG_ERROR = 0,
	SD_LOG_WARN = 1,
	SD_LOG_INFO = 2,
};

/* One extra field: a string (str, any bytes made valid JSON) or, with str NULL, the number num. */
struct sd_log_field {
	const char *key;	/* static, plain ASCII */
	const char *str;
	int64_t num;
};
#define SD_LOG_STR(k, v) ((struct sd_log_field){ (k), (v) != NULL ? (v) : "", 0 })
#define SD_LOG_NUM(k, v) ((struct sd_log_field){ (k), NULL, (int64_t)(v) })

/*
 * The "process" of every line ("signerd", "signerd-front"; a static string)
 * and whether lines are JSON (the daemons) or text, "process: msg key=value"
 * (signerctl and the tests, the default). Call once at start.
 */
void sd_log_init(const char *process, bool json);

/* A line whose "msg" is the formatted text. */
void sd_log(enum sd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line with msg and n fields after it. */
void sd_log_fields(enum sd_log_level level, const char *msg, const struct sd_log_field *fields, size_t n);

/*
 * The line sd_log_fields() writes, into buf (size >= 64; cut to fit, always
 * a complete JSON object ending in a newline); returns its length. time_ms
 * is Unix milliseconds. For tests and for callers that batch lines.
 */
size_t sd_log_format(char *buf, size_t size, int64_t time_ms, enum sd_log_level level, const char *msg,
    const struct sd_log_field *fields, size_t n);

#endif
