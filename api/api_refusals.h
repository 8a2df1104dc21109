/*
 * The front's account of the refusals it answers (README "Refusals"): every
 * 4xx of a listener, counted by problem type, sent to the signer once a
 * window has passed and at stop, which journals it as a refusal summary
 * (signer_api_refusals()). The core journals its own refusals besides;
 * this is what the front answered, whether the core saw the request or not.
 */
#ifndef API_REFUSALS_H
#define API_REFUSALS_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define API_REFUSALS_KEYS 24		/* distinct problem types per window; the rest count as "other" */
#define API_REFUSALS_KEY_MAX 40		/* bytes of one (a slug, or "http-NNN" without a problem type) */

/* Send one window's summary: detail "slug=count ..." (count in all). */
typedef int (*api_refusals_send_fn)(void *ctx, int64_t window_start_ms, uint64_t count, const char *detail);

struct api_refusals;

/*
 * Count the refusals of the listener named name (static), and hand each
 * window of window_ms to send (from a thread of its own, or at stop).
 * Errors: SD_E_NOMEM, SD_E_INTERNAL (a thread).
 */
SD_WUR int api_refusals_start(const char *name, uint64_t window_ms, api_refusals_send_fn send, void *ctx,
    struct api_refusals **out);

/* One refusal of status (400..499), its problem slug or NULL. Thread-safe; NULL r is a no-op. */
void api_refusals_count(struct api_refusals *r, unsigned status, const char *slug);

/* The last window goes out (when it holds any), then the thread ends. NULL is a no-op. */
void api_refusals_stop(struct api_refusals *r);

/*
 * What a window holds as a summary's detail, "<name>: slug=count ..." in
 * the order first seen, into out (cap bytes); its count. Exposed for the tests.
 */
uint64_t api_refusals_detail(struct api_refusals *r, char *out, size_t cap);

#endif
