/* Token buckets and daily counts per client (signer_quota.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "signer_quota.h"

#define QUOTA_DAY_MS INT64_C(86400000)

struct quota_client {
	pthread_mutex_t lock;
	double tokens;			/* may be fractional: refilled by elapsed time */
	int64_t refilled_ms;
	int64_t day;			/* UTC day number of day_count */
	uint64_t day_count;
	atomic_uint_fast64_t refused;
};

struct signer_quota {
	const struct sd_config *cfg;
	size_t n;
	struct quota_client *clients;
};

int
signer_quota_new(const struct sd_config *cfg, struct signer_quota **out)
{
	struct signer_quota *q;
	size_t i;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return SD_E_NOMEM;
	q->cfg = cfg;
	if (cfg->n_clients > 0 && (q->clients = calloc(cfg->n_clients, sizeof(*q->clients))) == NULL) {
		free(q);
		return SD_E_NOMEM;
	}
	for (; q->n < cfg->n_clients; q->n++) {
		if (pthread_mutex_init(&q->clients[q->n].lock, NULL) != 0) {
			signer_quota_free(q);
			return sd_error_set(SD_E_INTERNAL, "pthread_mutex_init failed");
		}
		/* A new bucket is full. */
		q->clients[q->n].tokens = (double)cfg->clients[q->n].quota_burst;
		q->clients[q->n].refilled_ms = -1;
	}
	for (i = 0; i < q->n; i++)
		q->clients[i].day = -1;
	*out = q;
	return 0;
}

void
signer_quota_free(struct signer_quota *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++)
		pthread_mutex_destroy(&q->clients[i].lock);
	free(q->clients);
	free(q);
}

/* The state of client, or NULL when it is not one of the configuration's clients. */
static struct quota_client *
quota_state(const struct signer_quota *q, const struct config_client *client)
{
	if (q == NULL || client == NULL || client < q->cfg->clients || client >= q->cfg->clients + q->n)
		return NULL;
	return &q->clients[client - q->cfg->clients];
}

int
signer_quota_take(struct signer_quota *q, const struct config_client *client, int64_t now_ms)
{
	struct quota_client *st = quota_state(q, client);
	double rate_ms;
	unsigned retry = 0;
	bool daily = false;
	int64_t day;
	int rc;

	if (st == NULL || (client->quota_per_minute == 0 && client->quota_per_day == 0))
		return 0;
	day = now_ms / QUOTA_DAY_MS;
	pthread_mutex_lock(&st->lock);
	if (st->day != day) {
		st->day = day;
		st->day_count = 0;
	}
	if (client->quota_per_day != 0 && st->day_count >= client->quota_per_day) {
		daily = true;
		retry = (unsigned)(((day + 1) * QUOTA_DAY_MS - now_ms + 999) / 1000);
		goto out;
	}
	if (client->quota_per_minute != 0) {
		rate_ms = (double)client->quota_per_minute / 60000.0;
		if (st->refilled_ms >= 0 && now_ms > st->refilled_ms)
			st->tokens += (double)(now_ms - st->refilled_ms) * rate_ms;
		if (st->tokens > (double)client->quota_burst)
			st->tokens = (double)client->quota_burst;
		if (st->refilled_ms < now_ms)
			st->refilled_ms = now_ms;
		if (st->tokens < 1.0) {
			/* Whole seconds, rounded up: a client that waits this long finds a token. */
			retry = (unsigned)((1.0 - st->tokens) / rate_ms / 1000.0) + 1;
			goto out;
		}
		st->tokens -= 1.0;
	}
	st->day_count++;
out:
	pthread_mutex_unlock(&st->lock);
	if (retry == 0)
		return 0;
	atomic_fetch_add_explicit(&st->refused, 1, memory_order_relaxed);
	if (daily)
		rc = sd_error_set(SD_E_QUOTA, "client \"%s\" has used its %llu issuance requests of today (UTC)",
		    client->name, (unsigned long long)client->quota_per_day);
	else
		rc = sd_error_set(SD_E_QUOTA, "client \"%s\" is limited to %llu issuance requests a minute (burst %llu)",
		    client->name, (unsigned long long)client->quota_per_minute,
		    (unsigned long long)client->quota_burst);
	sd_error_set_retry_after(retry);
	return rc;
}

uint64_t
signer_quota_refused(const struct signer_quota *q, const struct config_client *client)
{
	const struct quota_client *st = quota_state(q, client);

	return st != NULL ? atomic_load_explicit(&st->refused, memory_order_relaxed) : 0;
}

void
signer_quota_text(const struct signer_quota *q, struct sd_metrics_text *t)
{
	size_t i;

	sd_metrics_family(t, "signerd_quota_refusals_total", "counter",
	    "Issuance requests refused by the client's quota (429), by client.");
	for (i = 0; i < q->n; i++) {
		if (q->cfg->clients[i].quota_per_minute == 0 && q->cfg->clients[i].quota_per_day == 0)
			continue;
		sd_metrics_printf(t, "signerd_quota_refusals_total{client=\"");
		sd_metrics_label(t, q->cfg->clients[i].name);
		sd_metrics_printf(t, "\"} %llu\n",
		    (unsigned long long)atomic_load_explicit(&q->clients[i].refused, memory_order_relaxed));
	}
}

void
signer_quota_carry(struct signer_quota *to, struct signer_quota *from)
{
	struct quota_client *a, *b;
	size_t i, j;

	for (i = 0; i < to->n; i++) {
		for (j = 0; j < from->n && strcmp(from->cfg->clients[j].name, to->cfg->clients[i].name) != 0; j++)
			;
		if (j == from->n)
			continue;
		a = &to->clients[i];
		b = &from->clients[j];
		pthread_mutex_lock(&b->lock);
		/* A bucket keeps what is left of it, within its new size. */
		a->tokens = b->refilled_ms < 0 ? a->tokens : b->tokens;
		if (a->tokens > (double)to->cfg->clients[i].quota_burst)
			a->tokens = (double)to->cfg->clients[i].quota_burst;
		a->refilled_ms = b->refilled_ms;
		a->day = b->day;
		a->day_count = b->day_count;
		pthread_mutex_unlock(&b->lock);
		atomic_store(&a->refused, atomic_load(&b->refused));
	}
}
