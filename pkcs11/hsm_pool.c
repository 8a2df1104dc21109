/*
 * The session pool: N sessions, each used by one thread at a time.
 *
 * The pool mutex guards only the busy flags; nothing holds it across a
 * Cryptoki call, so C_Sign on one session never waits for another. A session
 * that reported a fault is closed, never handed out again, and reopened
 * (logging in again if needed) by the next thread that checks its slot out.
 * After the module is re-initialised every handle is forgotten (never
 * closed: a new session may carry the same number).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "hsm_int.h"

struct hsm_pool {
	struct hsm *hsm;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_epoch;
	size_t n;
	struct hsm_session *sessions;
};

/* Caller holds pool->mu and the slot is checked out. */
static uint64_t
hsm_pool_epoch_next(struct hsm_pool *pool)
{
	return ++pool->next_epoch;
}

/* Open a session in a checked-out, closed slot. */
static int
hsm_pool_open_slot(struct hsm_pool *pool, struct hsm_session *s, CK_RV *rv_out)
{
	CK_SESSION_HANDLE h;
	int rc;

	if ((rc = hsm_session_open(pool->hsm, false, &h, rv_out)) != 0)
		return rc;
	pthread_mutex_lock(&pool->mu);
	s->epoch = hsm_pool_epoch_next(pool);
	pthread_mutex_unlock(&pool->mu);
	s->handle = h;
	s->open = true;
	return 0;
}

static void
hsm_pool_close_slot(struct hsm_pool *pool, struct hsm_session *s)
{
	if (!s->open)
		return;
	hsm_session_close(pool->hsm, s->handle);
	s->handle = CK_INVALID_HANDLE;
	s->open = false;
}

int
hsm_pool_new(struct hsm *hsm, size_t n, struct hsm_pool **out)
{
	struct hsm_pool *pool = NULL;
	pthread_condattr_t ca;
	CK_RV rv;
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0 || n > HSM_POOL_MAX)
		return sd_error_set(SD_E_INVAL, "session pool size %zu out of range", n);
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return SD_E_NOMEM;
	if ((pool->sessions = calloc(n, sizeof(*pool->sessions))) == NULL) {
		free(pool);
		return SD_E_NOMEM;
	}
	if (pthread_mutex_init(&pool->mu, NULL) != 0) {
		free(pool->sessions);
		free(pool);
		return SD_E_NOMEM;
	}
	/* Timeouts use the monotonic clock so that a clock step cannot stretch a wait. */
	if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pool->cv, &ca) != 0) {
		pthread_mutex_destroy(&pool->mu);
		free(pool->sessions);
		free(pool);
		return SD_E_NOMEM;
	}
	pthread_condattr_destroy(&ca);
	pool->hsm = hsm;
	pool->n = n;
	for (i = 0; i < n; i++) {
		pool->sessions[i].index = i;
		pool->sessions[i].handle = CK_INVALID_HANDLE;
	}
	for (i = 0; i < n; i++)
		if ((rc = hsm_pool_open_slot(pool, &pool->sessions[i], &rv)) != 0)
			goto out;
	*out = pool;
	pool = NULL;
	rc = 0;
out:
	hsm_pool_free(pool);
	return rc;
}

void
hsm_pool_free(struct hsm_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->n; i++)
		hsm_pool_close_slot(pool, &pool->sessions[i]);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->sessions);
	free(pool);
}

size_t
hsm_pool_size(const struct hsm_pool *pool)
{
	return pool->n;
}

/*
 * A free slot, preferring one with an open session (a closed one when
 * fresh); NULL if all are busy. Caller holds mu.
 */
static struct hsm_session *
hsm_pool_pick(struct hsm_pool *pool, bool fresh)
{
	struct hsm_session *closed = NULL, *open = NULL;
	size_t i;

	for (i = 0; i < pool->n; i++) {
		if (pool->sessions[i].busy)
			continue;
		if (pool->sessions[i].open) {
			if (!fresh)
				return &pool->sessions[i];
			if (open == NULL)
				open = &pool->sessions[i];
			continue;
		}
		if (closed == NULL)
			closed = &pool->sessions[i];
	}
	return closed != NULL ? closed : open;
}

int
hsm_pool_get(struct hsm_pool *pool, uint64_t deadline_ms, bool fresh, struct hsm_session **out, CK_RV *rv_out)
{
	struct hsm_session *s;
	struct timespec deadline;
	uint64_t now;
	int rc, err;

	*out = NULL;
	*rv_out = CKR_OK;
	deadline.tv_sec = (time_t)(deadline_ms / 1000);
	deadline.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	pthread_mutex_lock(&pool->mu);
	while ((s = hsm_pool_pick(pool, fresh)) == NULL) {
		now = hsm_now_ms();
		err = now >= deadline_ms ? ETIMEDOUT : pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline);
		if (err == ETIMEDOUT) {
			pthread_mutex_unlock(&pool->mu);
			return sd_error_set(SD_E_HSM_UNAVAILABLE, "all %zu HSM sessions stayed busy", pool->n);
		}
	}
	s->busy = true;
	pthread_mutex_unlock(&pool->mu);

	/* After a fault the other idle sessions may be dead too: retry on a new one. */
	if (fresh)
		hsm_pool_close_slot(pool, s);
	if (!s->open && (rc = hsm_pool_open_slot(pool, s, rv_out)) != 0) {
		hsm_pool_put(pool, s, true);
		return rc;
	}
	*out = s;
	return 0;
}

void
hsm_pool_forget(struct hsm_pool *pool)
{
	size_t i;

	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->n; i++) {
		if (pool->sessions[i].busy)
			abort();	/* hsm_recover() runs alone */
		pool->sessions[i].handle = CK_INVALID_HANDLE;
		pool->sessions[i].open = false;
	}
	pthread_mutex_unlock(&pool->mu);
}

void
hsm_pool_put(struct hsm_pool *pool, struct hsm_session *s, bool broken)
{
	if (s == NULL)
		return;
	if (broken)
		hsm_pool_close_slot(pool, s);
	pthread_mutex_lock(&pool->mu);
	s->busy = false;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}
