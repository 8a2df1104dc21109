/* The signer's counters (signer_counters.h). */
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "signer_counters.h"

int
signer_counters_new(const struct sd_config *cfg, struct signer_counters **out)
{
	struct signer_counters *c;
	size_t cells = (cfg->n_profiles > 0 ? cfg->n_profiles : 1) * (cfg->n_clients + 1);

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SD_E_NOMEM;
	if ((c->issued = calloc(cells, sizeof(*c->issued))) == NULL) {
		free(c);
		return SD_E_NOMEM;
	}
	c->cfg = cfg;
	*out = c;
	return 0;
}

void
signer_counters_free(struct signer_counters *c)
{
	if (c == NULL)
		return;
	free(c->issued);
	free(c);
}

void
signer_counters_issued(struct signer_counters *c, const struct config_profile *profile,
    const struct config_client *client)
{
	const struct sd_config *cfg = c->cfg;
	size_t p, k;

	if (profile < cfg->profiles || profile >= cfg->profiles + cfg->n_profiles)
		return;
	p = (size_t)(profile - cfg->profiles);
	k = client != NULL && client >= cfg->clients && client < cfg->clients + cfg->n_clients ?
	    (size_t)(client - cfg->clients) : cfg->n_clients;
	atomic_fetch_add_explicit(&c->issued[p * (cfg->n_clients + 1) + k], 1, memory_order_relaxed);
}

void
signer_counters_failed(struct signer_counters *c, int err)
{
	if (err < 0 && err > -SD_ERROR_COUNT)
		atomic_fetch_add_explicit(&c->refused[-err], 1, memory_order_relaxed);
}

void
signer_counters_text(const struct signer_counters *c, struct sd_metrics_text *t)
{
	const struct sd_config *cfg = c->cfg;
	uint64_t v;
	size_t p, k;
	int e;

	sd_metrics_family(t, "signerd_issued_total", "counter", "Certificates issued, by profile and client.");
	for (p = 0; p < cfg->n_profiles; p++) {
		for (k = 0; k <= cfg->n_clients; k++) {
			v = atomic_load_explicit(&c->issued[p * (cfg->n_clients + 1) + k], memory_order_relaxed);
			if (v == 0)
				continue;
			sd_metrics_printf(t, "signerd_issued_total{profile=\"");
			sd_metrics_label(t, cfg->profiles[p].name);
			sd_metrics_printf(t, "\",client=\"");
			sd_metrics_label(t, k < cfg->n_clients ? cfg->clients[k].name : "-");
			sd_metrics_printf(t, "\"} %llu\n", (unsigned long long)v);
		}
	}
	sd_metrics_family(t, "signerd_issue_failures_total", "counter",
	    "Issuance requests refused or failed, by reason (the API's problem type).");
	for (e = 1; e < SD_ERROR_COUNT; e++) {
		v = atomic_load_explicit(&c->refused[e], memory_order_relaxed);
		if (v != 0)
			sd_metrics_printf(t, "signerd_issue_failures_total{reason=\"%s\"} %llu\n", sd_error_name(-e),
			    (unsigned long long)v);
	}
	sd_metrics_family(t, "signerd_issue_duration_seconds", "histogram",
	    "Time the signer takes to issue one certificate: policy, HSM signature, journal.");
	sd_histogram_text(t, "signerd_issue_duration_seconds", "", &c->issue);
	sd_metrics_family(t, "signerd_hsm_sign_duration_seconds", "histogram",
	    "Time of one certificate signature in the HSM, waiting for a session included.");
	sd_histogram_text(t, "signerd_hsm_sign_duration_seconds", "", &c->hsm_sign);
	sd_metrics_family(t, "signerd_journal_commit_duration_seconds", "histogram",
	    "Time of one durable journal append (intent or result), group commit included.");
	sd_histogram_text(t, "signerd_journal_commit_duration_seconds", "", &c->journal_commit);
}

void
signer_counters_hsm_text(const struct hsm_stats *hs, struct sd_metrics_text *t)
{
	sd_metrics_family(t, "signerd_hsm_sessions", "gauge",
	    "HSM sessions of the pool: in_use (signing), free (open, idle), closed (after a fault, or not yet opened).");
	sd_metrics_printf(t, "signerd_hsm_sessions{state=\"in_use\"} %u\n", hs->in_use);
	sd_metrics_printf(t, "signerd_hsm_sessions{state=\"free\"} %u\n", hs->idle);
	sd_metrics_printf(t, "signerd_hsm_sessions{state=\"closed\"} %u\n", hs->closed);
	sd_metrics_family(t, "signerd_hsm_up", "gauge", "1 while the HSM token is usable, 0 while it is marked down.");
	sd_metrics_printf(t, "signerd_hsm_up %d\n", hs->available ? 1 : 0);
}

static void
counters_copy_histogram(struct sd_histogram *to, const struct sd_histogram *from)
{
	size_t i;

	for (i = 0; i <= SD_HISTOGRAM_BOUNDS; i++)
		atomic_store(&to->le[i], atomic_load(&from->le[i]));
	atomic_store(&to->sum_us, atomic_load(&from->sum_us));
}

/* Index of name among n clients (n: none), or of "-" (n) when name is NULL. */
static size_t
counters_client(const struct sd_config *cfg, const char *name)
{
	size_t k;

	for (k = 0; name != NULL && k < cfg->n_clients && strcmp(cfg->clients[k].name, name) != 0; k++)
		;
	return name == NULL ? cfg->n_clients : k;
}

void
signer_counters_carry(struct signer_counters *to, const struct signer_counters *from)
{
	const struct sd_config *a = to->cfg, *b = from->cfg;
	size_t p, q, k, j;
	int e;

	counters_copy_histogram(&to->issue, &from->issue);
	counters_copy_histogram(&to->hsm_sign, &from->hsm_sign);
	counters_copy_histogram(&to->journal_commit, &from->journal_commit);
	for (e = 0; e < SD_ERROR_COUNT; e++)
		atomic_store(&to->refused[e], atomic_load(&from->refused[e]));
	/* Counts of a profile or client the new file no longer has are dropped with it. */
	for (q = 0; q < b->n_profiles; q++) {
		for (p = 0; p < a->n_profiles && strcmp(a->profiles[p].name, b->profiles[q].name) != 0; p++)
			;
		if (p == a->n_profiles)
			continue;
		for (j = 0; j <= b->n_clients; j++) {
			k = counters_client(a, j < b->n_clients ? b->clients[j].name : NULL);
			if (k > a->n_clients || (k == a->n_clients && j < b->n_clients))
				continue;
			atomic_store(&to->issued[p * (a->n_clients + 1) + k],
			    atomic_load(&from->issued[q * (b->n_clients + 1) + j]));
		}
	}
}
