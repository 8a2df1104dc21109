/*
 * What the front counts: requests by route, method and status, and how
 * long each took from complete headers to the queued response. Updated by
 * every request thread with relaxed atomics (no lock); read by GET /metrics.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api_routes.h"
#include "sd_error.h"
#include "sd_metrics.h"

struct api_metrics;

/* Errors: SD_E_NOMEM. */
SD_WUR int api_metrics_new(struct api_metrics **out);
void api_metrics_free(struct api_metrics *m);

/* One answered request; route NULL when none matched (404, 405, malformed). m NULL: no-op. */
void api_metrics_request(struct api_metrics *m, const struct api_route *route, unsigned status, uint64_t us);

/* signerd_http_requests_total and signerd_http_request_duration_seconds into t. */
void api_metrics_text(const struct api_metrics *m, struct sd_metrics_text *t);

#endif
