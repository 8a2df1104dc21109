#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SD_ERROR_IMPL	/* the function itself, not clang-tidy's model of it (sd_error.h) */
#include "sd_error.h"

static const struct {
	const char *name;
	const char *message;
} sd_error_table[SD_ERROR_COUNT] = {
	[0] = { "ok", "success" },
	[-SD_E_NOMEM] = { "no-memory", "out of memory" },
	[-SD_E_INVAL] = { "invalid-input", "invalid argument or malformed input" },
	[-SD_E_IO] = { "io", "file or system I/O failed" },
	[-SD_E_CONFIG] = { "config", "configuration invalid" },
	[-SD_E_URI] = { "pkcs11-uri", "malformed or unsupported PKCS#11 URI" },
	[-SD_E_HSM] = { "hsm", "HSM refused or failed an operation" },
	[-SD_E_HSM_UNAVAILABLE] = { "hsm-unavailable", "HSM token or module temporarily unusable" },
	[-SD_E_PIN] = { "pin", "PIN wrong, locked or unreadable" },
	[-SD_E_KEY_NOT_FOUND] = { "key-not-found", "no key object matches" },
	[-SD_E_KEY_AMBIGUOUS] = { "key-ambiguous", "several key objects match" },
	[-SD_E_KEY_UNSAFE] = { "key-unsafe", "CA key is extractable or not sensitive" },
	[-SD_E_CSR] = { "bad-csr", "CSR cannot be parsed" },
	[-SD_E_CSR_SIGNATURE] = { "bad-csr-signature", "CSR signature does not verify" },
	[-SD_E_KEY_REFUSED] = { "key-refused", "subject key type or size refused" },
	[-SD_E_NAME_REFUSED] = { "name-refused", "a requested name is outside policy" },
	[-SD_E_PROFILE_UNKNOWN] = { "unknown-profile", "no such profile" },
	[-SD_E_TTL] = { "bad-ttl", "requested lifetime outside policy" },
	[-SD_E_JOURNAL] = { "journal", "journal cannot be written or read" },
	[-SD_E_JOURNAL_FULL] = { "journal-full", "journal map is full" },
	[-SD_E_JOURNAL_CORRUPT] = { "journal-corrupt", "journal record or chain is invalid" },
	[-SD_E_CRYPTO] = { "crypto", "cryptographic library failure" },
	[-SD_E_TOO_LARGE] = { "too-large", "input exceeds a configured limit" },
	[-SD_E_UNSUPPORTED] = { "unsupported", "algorithm or feature not supported" },
	[-SD_E_NOT_FOUND] = { "not-found", "requested item does not exist" },
	[-SD_E_INTERNAL] = { "internal", "internal check failed" },
	[-SD_E_QUOTA] = { "quota-exceeded", "the client's issuance quota is used up for now" },
	[-SD_E_FORBIDDEN] = { "forbidden", "the client may not do this" },
	[-SD_E_BUSY] = { "busy", "the HSM is at capacity; retry later" },
};

static _Thread_local int sd_error_last;
static _Thread_local char sd_error_buf[512];
static _Thread_local unsigned sd_error_retry;

static int
sd_error_index(int err)
{
	if (err > 0 || err <= -SD_ERROR_COUNT)
		return -SD_E_INTERNAL;
	return -err;
}

const char *
sd_error_name(int err)
{
	return sd_error_table[sd_error_index(err)].name;
}

const char *
sd_strerror(int err)
{
	return sd_error_table[sd_error_index(err)].message;
}

int
sd_error_set(int err, const char *fmt, ...)
{
	char tmp[sizeof(sd_error_buf)];
	va_list ap;
	int n;

	/* Format aside first: an argument may be the current detail itself. */
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* A truncated detail is still useful; a failed format is not. */
	if (n < 0)
		tmp[0] = '\0';
	memcpy(sd_error_buf, tmp, sizeof(sd_error_buf));
	sd_error_last = err;
	sd_error_retry = 0;
	return err;
}

const char *
sd_error_detail(int err)
{
	if (err == sd_error_last && sd_error_buf[0] != '\0')
		return sd_error_buf;
	return sd_strerror(err);
}

void
sd_error_set_retry_after(unsigned seconds)
{
	sd_error_retry = seconds;
}

unsigned
sd_error_retry_after(int err)
{
	return err == sd_error_last ? sd_error_retry : 0;
}

void
sd_error_clear(void)
{
	sd_error_last = 0;
	sd_error_retry = 0;
	sd_error_buf[0] = '\0';
}
