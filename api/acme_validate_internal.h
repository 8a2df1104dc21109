/*
 * What the ACME validators (acme_validate.c: http-01, tls-alpn-01;
 * acme_validate_dns.c: dns-01) share, and nothing else includes: the
 * deadline clock, the error filling and the input checks. Every function
 * is thread-safe.
 */
#ifndef ACME_VALIDATE_INTERNAL_H
#define ACME_VALIDATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "acme_validate.h"
#include "sd_error.h"

#define AV_SHOW_MAX 64 /* bytes of untrusted data shown in a detail */
#define AV_SHOW_ESCAPED (AV_SHOW_MAX * 4 + 4) /* av_escape()'s output: \xNN each, "...", NUL */
#define AV_SHA256_LEN 32

/* Milliseconds since an arbitrary point, on CLOCK_MONOTONIC. */
uint64_t av_now_ms(void);

/* Milliseconds left before deadline (an av_now_ms() value), as poll() wants them (0 once passed). */
int av_left_ms(uint64_t deadline);

/* Fill *err with the ACME problem type (static) and a detail; returns SD_E_INVAL. */
__attribute__((format(printf, 3, 4))) int av_fail(struct acme_validate_error *err, const char *type, const char *fmt,
    ...);

/* Fill *err as "serverInternal"; returns code, which is SD_E_NOMEM or SD_E_CRYPTO. */
__attribute__((format(printf, 3, 4))) int av_internal(struct acme_validate_error *err, int code, const char *fmt, ...);

/* Escape at most AV_SHOW_MAX of p's n bytes into out, NUL-terminated, "..." when n is more. */
void av_escape(const unsigned char *p, size_t n, char out[AV_SHOW_ESCAPED]);

/* 0 when name is a DNS identifier ([a-z0-9.-], 1..ACME_VALIDATE_NAME_MAX bytes), else av_fail() "malformed". */
SD_WUR int av_check_name(const char *name, struct acme_validate_error *err);

/* 0 when ka is 1..ACME_VALIDATE_KEYAUTH_MAX bytes, else av_fail() "malformed". */
SD_WUR int av_check_keyauth(const char *ka, struct acme_validate_error *err);

#endif
