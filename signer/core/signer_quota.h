/*
 * Per-client issuance quotas ([client] quota_per_minute, quota_burst,
 * quota_per_day): a token bucket per client, and a count per UTC day.
 * Every issuance request a client makes takes a token, whether it is then
 * issued or refused, so that a client cannot keep the HSM busy with
 * requests that fail late. Counts live in memory: a restart refills the
 * buckets and starts the day's count again.
 */
#ifndef SIGNER_QUOTA_H
#define SIGNER_QUOTA_H

#include <stdint.h>

#include "config.h"
#include "sd_error.h"
#include "sd_metrics.h"

struct signer_quota;

/* One state per [client] of cfg (which must outlive it). Errors: SD_E_NOMEM, SD_E_INTERNAL. */
SD_WUR int signer_quota_new(const struct sd_config *cfg, struct signer_quota **out);
void signer_quota_free(struct signer_quota *q);

/*
 * Take one request of client (a [client] of the cfg given to
 * signer_quota_new(); NULL: no quota) at now_ms (Unix milliseconds).
 * Errors: SD_E_QUOTA, with sd_error_retry_after() set to the seconds until
 * a token is back (or the next UTC day) and the detail naming the limit.
 */
SD_WUR int signer_quota_take(struct signer_quota *q, const struct config_client *client, int64_t now_ms);

/*
 * After a reload: each client of to that from also has (by name) keeps its
 * bucket, its day's count and its refusals. Neither may be in use.
 */
void signer_quota_carry(struct signer_quota *to, struct signer_quota *from);

/* Requests of client refused by its quota since start. */
uint64_t signer_quota_refused(const struct signer_quota *q, const struct config_client *client);

/* signerd_quota_refusals_total for each client with a quota, into t. */
void signer_quota_text(const struct signer_quota *q, struct sd_metrics_text *t);

#endif
