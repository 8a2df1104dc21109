/*
 * The front's refusal counts (api_refusals.h): one window at a time, a
 * thread that hands each window on once it has passed, and a last one at
 * stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_refusals.h"
#include "sd_log.h"
#include "sd_time.h"
#include "signer.h"

struct api_refusal_key {
	char key[API_REFUSALS_KEY_MAX + 1];
	uint64_t count;
};

struct api_refusals {
	const char *name;
	uint64_t window_ms;
	api_refusals_send_fn send;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
	int64_t window_start_ms;
	uint64_t total;
	struct api_refusal_key keys[API_REFUSALS_KEYS];
	size_t n;
	uint64_t other;			/* past API_REFUSALS_KEYS distinct types */
};

void
api_refusals_count(struct api_refusals *r, unsigned status, const char *slug)
{
	char key[API_REFUSALS_KEY_MAX + 1];
	size_t i;

	if (r == NULL || status < 400 || status > 499)
		return;
	if (slug != NULL && slug[0] != '\0' && strlen(slug) <= API_REFUSALS_KEY_MAX)
		(void)snprintf(key, sizeof(key), "%s", slug);
	else
		(void)snprintf(key, sizeof(key), "http-%u", status);
	if (pthread_mutex_lock(&r->lock) != 0)
		abort();
	r->total++;
	for (i = 0; i < r->n && strcmp(r->keys[i].key, key) != 0; i++)
		;
	if (i < r->n) {
		r->keys[i].count++;
	} else if (r->n < API_REFUSALS_KEYS) {
		memcpy(r->keys[r->n].key, key, sizeof(key));
		r->keys[r->n++].count = 1;
	} else {
		r->other++;
	}
	if (pthread_mutex_unlock(&r->lock) != 0)
		abort();
}

/* The detail of the window (lock held): as many "key=count" as fit, then "other=N". */
static uint64_t
api_refusals_detail_locked(struct api_refusals *r, char *out, size_t cap)
{
	size_t i, at;
	int n;

	n = snprintf(out, cap, "%s:", r->name);
	at = n > 0 && (size_t)n < cap ? (size_t)n : 0;
	for (i = 0; i <= r->n; i++) {
		if (i == r->n && r->other == 0)
			break;
		n = i < r->n ? snprintf(out + at, cap - at, " %s=%llu", r->keys[i].key, (unsigned long long)r->keys[i].count) :
		    snprintf(out + at, cap - at, " other=%llu", (unsigned long long)r->other);
		if (n < 0 || (size_t)n >= cap - at) {
			out[at] = '\0';
			break;
		}
		at += (size_t)n;
	}
	return r->total;
}

uint64_t
api_refusals_detail(struct api_refusals *r, char *out, size_t cap)
{
	uint64_t total;

	if (pthread_mutex_lock(&r->lock) != 0)
		abort();
	total = api_refusals_detail_locked(r, out, cap);
	if (pthread_mutex_unlock(&r->lock) != 0)
		abort();
	return total;
}

/* Hand the window on (outside the lock) when it holds any; a new one starts now. */
static void
api_refusals_flush(struct api_refusals *r)
{
	char detail[SIGNER_API_REFUSALS_DETAIL_MAX + 1];
	int64_t start = r->window_start_ms;
	uint64_t total;
	int rc;

	total = api_refusals_detail_locked(r, detail, sizeof(detail));
	r->window_start_ms = sd_time_now_ms();
	r->total = 0;
	r->n = 0;
	r->other = 0;
	if (total == 0)
		return;
	if (pthread_mutex_unlock(&r->lock) != 0)
		abort();
	if ((rc = r->send(r->ctx, start, total, detail)) != 0)
		sd_log(SD_LOG_WARN, "refusals not journaled (%s): %llu since %lld ms, %s", sd_error_detail(rc),
		    (unsigned long long)total, (long long)start, detail);
	if (pthread_mutex_lock(&r->lock) != 0)
		abort();
}

static void *
api_refusals_main(void *arg)
{
	struct api_refusals *r = arg;
	struct timespec until;
	int64_t end;

	if (pthread_mutex_lock(&r->lock) != 0)
		abort();
	while (!r->stop) {
		end = r->window_start_ms + (int64_t)r->window_ms;
		until.tv_sec = (time_t)(end / 1000);
		until.tv_nsec = (long)(end % 1000) * 1000000;
		while (!r->stop && sd_time_now_ms() < end)
			if (pthread_cond_timedwait(&r->wake, &r->lock, &until) == ETIMEDOUT)
				break;
		if (!r->stop && sd_time_now_ms() >= end)
			api_refusals_flush(r);
	}
	api_refusals_flush(r);
	if (pthread_mutex_unlock(&r->lock) != 0)
		abort();
	return NULL;
}

int
api_refusals_start(const char *name, uint64_t window_ms, api_refusals_send_fn send, void *ctx,
    struct api_refusals **out)
{
	struct api_refusals *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SD_E_NOMEM;
	r->name = name;
	r->window_ms = window_ms;
	r->send = send;
	r->ctx = ctx;
	r->window_start_ms = sd_time_now_ms();
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return SD_E_NOMEM;
	}
	if (pthread_cond_init(&r->wake, NULL) != 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return SD_E_NOMEM;
	}
	if (pthread_create(&r->thread, NULL, api_refusals_main, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return sd_error_set(SD_E_INTERNAL, "cannot start the refusal counter");
	}
	*out = r;
	return 0;
}

void
api_refusals_stop(struct api_refusals *r)
{
	if (r == NULL)
		return;
	if (pthread_mutex_lock(&r->lock) != 0)
		abort();
	r->stop = true;
	pthread_cond_signal(&r->wake);
	if (pthread_mutex_unlock(&r->lock) != 0)
		abort();
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
