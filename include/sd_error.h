/*
 * Error codes shared by every signerd module.
 *
 * A fallible function returns 0 or one negative code from this table.
 * sd_error_set() records a precise, human detail for the current thread
 * (e.g. which SAN was refused) so that the caller at the edge (the API or a
 * CLI) can report it without every layer threading a buffer through.
 */
#ifndef SD_ERROR_H
#define SD_ERROR_H

#define SD_WUR __attribute__((warn_unused_result))

enum sd_error {
	SD_OK = 0,
	SD_E_NOMEM = -1,		/* out of memory */
	SD_E_INVAL = -2,		/* invalid argument or malformed input */
	SD_E_IO = -3,			/* file or system I/O failed */
	SD_E_CONFIG = -4,		/* configuration invalid */
	SD_E_URI = -5,			/* malformed or unsupported PKCS#11 URI */
	SD_E_HSM = -6,			/* HSM refused or failed an operation */
	SD_E_HSM_UNAVAILABLE = -7,	/* token or module temporarily unusable */
	SD_E_PIN = -8,			/* PIN wrong, locked or unreadable */
	SD_E_KEY_NOT_FOUND = -9,	/* no key object matches */
	SD_E_KEY_AMBIGUOUS = -10,	/* several key objects match */
	SD_E_KEY_UNSAFE = -11,		/* CA key extractable or not sensitive */
	SD_E_CSR = -12,			/* CSR cannot be parsed */
	SD_E_CSR_SIGNATURE = -13,	/* CSR signature does not verify */
	SD_E_KEY_REFUSED = -14,		/* subject key type or size refused */
	SD_E_NAME_REFUSED = -15,	/* a requested name is outside policy */
	SD_E_PROFILE_UNKNOWN = -16,	/* no such profile */
	SD_E_TTL = -17,			/* requested lifetime outside policy */
	SD_E_JOURNAL = -18,		/* journal cannot be written or read */
	SD_E_JOURNAL_FULL = -19,	/* journal map is full */
	SD_E_JOURNAL_CORRUPT = -20,	/* journal record or chain is invalid */
	SD_E_CRYPTO = -21,		/* cryptographic library failure */
	SD_E_TOO_LARGE = -22,		/* input exceeds a configured limit */
	SD_E_UNSUPPORTED = -23,		/* algorithm or feature not supported */
	SD_E_NOT_FOUND = -24,		/* requested item does not exist */
	SD_E_INTERNAL = -25,		/* internal check failed; nothing released */
	SD_E_QUOTA = -26,		/* the client's issuance quota is used up for now */
	SD_E_FORBIDDEN = -27,		/* the client may not do this */
	SD_E_BUSY = -28,		/* the HSM is at capacity and its wait queue full: retry later */
};
#define SD_ERROR_COUNT 29

/* Short, stable slug for a code, e.g. "name-refused" (used in API problem types). */
const char *sd_error_name(int err);

/* Generic message for a code, e.g. "a requested name is outside policy". */
const char *sd_strerror(int err);

/*
 * Record a precise detail for err on this thread and return err, so that
 * "return sd_error_set(SD_E_TTL, "ttl %lu exceeds %lu", a, b);" reads naturally.
 * Never put secrets in the detail.
 */
int sd_error_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#if defined(__clang_analyzer__) && !defined(SD_ERROR_IMPL)
/* clang-tidy's analyzer neither sees into sd_error.c nor inlines a variadic call: the call returns err. */
#define sd_error_set(err, ...) (sd_error_set((err), __VA_ARGS__), (err))
#endif

/* The detail recorded on this thread for its last error, or sd_strerror(err) if none matches err. */
const char *sd_error_detail(int err);

/*
 * With the error just set on this thread: the seconds after which the same
 * request may succeed (a quota refusal). sd_error_retry_after(err) reads it
 * back for that error, else 0. sd_error_set() forgets it.
 */
void sd_error_set_retry_after(unsigned seconds);
unsigned sd_error_retry_after(int err);

/* Forget this thread's detail (call at the start of each request). */
void sd_error_clear(void);

#endif
