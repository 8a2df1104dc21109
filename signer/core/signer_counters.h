/*
 * What the signer counts for GET /metrics: issuances by profile and client,
 * refusals by reason, and how long issuance, the HSM signature and the
 * journal commits take. Request threads update it with relaxed atomics
 * only; signer_metrics() (include/signer.h) reads it.
 */
#ifndef SIGNER_COUNTERS_H
#define SIGNER_COUNTERS_H

#include <stdint.h>

#include "config.h"
#include "sd_error.h"
#include "sd_metrics.h"

struct signer_counters {
	struct sd_histogram issue;		/* signer_issue(), whole, issued only */
	struct sd_histogram hsm_sign;		/* the certificate's C_Sign, pool wait included */
	struct sd_histogram journal_commit;	/* each durable append (intent, result) */
	atomic_uint_fast64_t refused[SD_ERROR_COUNT];	/* by error code, refusals and failures alike */
	const struct sd_config *cfg;
	atomic_uint_fast64_t *issued;		/* [profile][client], client n_clients: not a configured client */
};

/* Errors: SD_E_NOMEM. cfg must outlive the counters. */
SD_WUR int signer_counters_new(const struct sd_config *cfg, struct signer_counters **out);
void signer_counters_free(struct signer_counters *c);

/* One certificate issued for client (NULL: not a configured client) under profile (one of cfg's). */
void signer_counters_issued(struct signer_counters *c, const struct config_profile *profile,
    const struct config_client *client);
void signer_counters_failed(struct signer_counters *c, int err);

/* The HSM's gauges (sessions by state, token up) into t. */
struct hsm_stats;
void signer_counters_hsm_text(const struct hsm_stats *hs, struct sd_metrics_text *t);

/* After a reload: to (for the new configuration) takes over from's counts, matched by profile and client name. */
void signer_counters_carry(struct signer_counters *to, const struct signer_counters *from);

/* The families above into t. */
void signer_counters_text(const struct signer_counters *c, struct sd_metrics_text *t);

#endif
