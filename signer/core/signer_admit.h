/*
 * The admission gate of issuance ([hsm] concurrency, queue, queue_wait_ms):
 * at most permits issuances at once (what the HSM signs in parallel), at
 * most queue more waiting in arrival order, each for at most its wait. Past that a request is refused at once with SD_E_BUSY and a
 * Retry-After, before its CSR is parsed or anything is journaled: a slow
 * HSM then serves what it can within a bounded delay, and the excess is
 * told to come back instead of piling up threads, memory and time-outs.
 */
#ifndef SIGNER_ADMIT_H
#define SIGNER_ADMIT_H

#include <stdint.h>

#include "sd_error.h"
#include "sd_metrics.h"

#define SIGNER_ADMIT_PERMITS_MAX 4096
#define SIGNER_ADMIT_RETRY_MAX 60	/* seconds: a longer Retry-After says nothing more useful */

struct signer_admit;

/* A gate of permits (1 .. SIGNER_ADMIT_PERMITS_MAX). Errors: SD_E_INVAL, SD_E_NOMEM, SD_E_INTERNAL. */
SD_WUR int signer_admit_new(unsigned permits, struct signer_admit **out);

/* No thread may hold a permit or wait. */
void signer_admit_free(struct signer_admit *a);

/*
 * Take a permit: at once if one is free and nobody waits; else wait in
 * arrival order behind at most queue - 1 others, for at most wait_ms.
 * Refused at once, without waiting, when queue requests already wait or
 * when at the pace of the last issuances the wait would outlast wait_ms.
 * On success *held is the time the permit was granted (sd_monotonic_us()),
 * for signer_admit_give(). Thread-safe.
 * Errors: SD_E_BUSY (the detail says why), with sd_error_retry_after() set
 * to the seconds until the queue ahead could drain (1 ..
 * SIGNER_ADMIT_RETRY_MAX).
 */
SD_WUR int signer_admit_take(struct signer_admit *a, unsigned queue, unsigned wait_ms, uint64_t *held);

/* Give back the permit granted at held; the first waiter gets it. Thread-safe. */
void signer_admit_give(struct signer_admit *a, uint64_t held);

struct signer_admit_stats {
	unsigned permits;
	unsigned in_use;		/* permits held now */
	unsigned waiting;		/* requests waiting now */
	unsigned waiting_max;		/* most waiting at once since start */
	uint64_t admitted;		/* permits granted since start */
	uint64_t refused_full;		/* refused at once: the queue was full */
	uint64_t refused_slow;		/* refused at once: the wait would have outlasted wait_ms */
	uint64_t refused_timeout;	/* waited wait_ms without a permit */
	uint64_t hold_us;		/* a permit's recent hold time (moving average) */
};

void signer_admit_stats_get(struct signer_admit *a, struct signer_admit_stats *out);

/* The gate's gauges and counters (signerd_admission_*), into t. */
void signer_admit_text(struct signer_admit *a, struct sd_metrics_text *t);

#endif
