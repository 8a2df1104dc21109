/*
 * The session pool: N sessions, each used by one thread at a time.
 *
 * A slot is checked out with one compare-and-swap on its busy flag, starting
 * from the slot the calling thread used last, so that on the fast path
 * signers share no lock and no written cache line. The mutex and condition
 * variable only serve threads that found every slot busy: a thread giving a
 * slot back takes the mutex only when someone waits. Nothing holds a lock
 * across a Cryptoki call, so C_Sign on one session never waits for another.
 * A session that reported a fault is closed, never handed out again, and
 * reopened (logging in again if needed) by the next thread that checks its
 * slot out. After the module is re-initialised every handle is forgotten
 * (never closed: a new session may carry the same number).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm_int.h"

struct hsm_pool {
	struct hsm *hsm;
	pthread_mutex_t mu;		/* only for waiting: see hsm_pool_get() */
	pthread_cond_t cv;
	atomic_uint waiters;		/* threads waiting for a free slot */
	atomic_uint_fast64_t next_epoch;
	size_t n;
	struct hsm_session *sessions;	/* HSM_CACHELINE aligned */
};

/* The slot this thread used last: likely free again, and its cache lines are warm here. */
static _Thread_local size_t hsm_pool_hint;

/* Open a session in a checked-out, closed slot. */
static int
hsm_pool_open_slot(struct hsm_pool *pool, struct hsm_session *s, CK_RV *rv_out)
{
	CK_SESSION_HANDLE h;
	int rc;

	if ((rc = hsm_session_open(pool->hsm, false, &h, rv_out)) != 0)
		return rc;
	s->epoch = atomic_fetch_add(&pool->next_epoch, 1) + 1;
	s->handle = h;
	s->open = true;
	atomic_store_explicit(&s->live, true, memory_order_relaxed);
	return 0;
}

/* Closing the session also destroys the session objects made on it (key copies). */
static void
hsm_pool_close_slot(struct hsm_pool *pool, struct hsm_session *s)
{
	if (!s->open)
		return;
	hsm_session_close(pool->hsm, s->handle);
	s->handle = CK_INVALID_HANDLE;
	s->open = false;
	atomic_store_explicit(&s->live, false, memory_order_relaxed);
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
	/* sizeof is a multiple of the alignment, and n <= HSM_POOL_MAX: no overflow. */
	if ((pool->sessions = aligned_alloc(HSM_CACHELINE, n * sizeof(*pool->sessions))) == NULL) {
		free(pool);
		return SD_E_NOMEM;
	}
	memset(pool->sessions, 0, n * sizeof(*pool->sessions));
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
	atomic_init(&pool->waiters, 0);
	atomic_init(&pool->next_epoch, 0);
	pool->hsm = hsm;
	pool->n = n;
	for (i = 0; i < n; i++) {
		atomic_init(&pool->sessions[i].busy, false);
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

void
hsm_pool_count(const struct hsm_pool *pool, unsigned *in_use, unsigned *idle, unsigned *closed)
{
	const struct hsm_session *s;
	size_t i;

	*in_use = *idle = *closed = 0;
	for (i = 0; i < pool->n; i++) {
		s = &pool->sessions[i];
		if (atomic_load_explicit(&s->busy, memory_order_relaxed))
			(*in_use)++;
		else if (atomic_load_explicit(&s->live, memory_order_relaxed))
			(*idle)++;
		else
			(*closed)++;
	}
}

static bool
hsm_pool_take(struct hsm_session *s)
{
	bool expected = false;

	/* Cheap read first: a busy slot costs no exclusive cache line. */
	return !atomic_load_explicit(&s->busy, memory_order_relaxed) &&
	    atomic_compare_exchange_strong(&s->busy, &expected, true);
}

/*
 * Give a slot back and wake one waiter, if any (seq_cst: pairs with
 * hsm_pool_get()'s waiters++). locked: the caller holds mu.
 */
static void
hsm_pool_release(struct hsm_pool *pool, struct hsm_session *s, bool locked)
{
	atomic_store(&s->busy, false);
	if (atomic_load(&pool->waiters) == 0)
		return;
	if (locked) {
		pthread_cond_signal(&pool->cv);
		return;
	}
	pthread_mutex_lock(&pool->mu);
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

/*
 * Check out a free slot, starting at this thread's last one; NULL if all
 * are busy. fresh prefers a slot whose session is closed (a retry after a
 * fault should not close a good session when a dead one is at hand).
 */
static struct hsm_session *
hsm_pool_pick(struct hsm_pool *pool, bool fresh, bool locked)
{
	struct hsm_session *s, *open = NULL;
	size_t i, start = hsm_pool_hint < pool->n ? hsm_pool_hint : 0;

	for (i = 0; i < pool->n; i++) {
		s = &pool->sessions[(start + i) % pool->n];
		if (!hsm_pool_take(s))
			continue;
		if (!fresh || !s->open) {
			if (open != NULL)
				hsm_pool_release(pool, open, locked);
			return s;
		}
		if (open == NULL)
			open = s;
		else
			hsm_pool_release(pool, s, locked);
	}
	return open;
}

int
hsm_pool_get(struct hsm_pool *pool, uint64_t deadline_ms, bool fresh, struct hsm_session **out, CK_RV *rv_out)
{
	struct hsm_session *s;
	struct timespec deadline;
	int rc;

	*out = NULL;
	*rv_out = CKR_OK;
	if ((s = hsm_pool_pick(pool, fresh, false)) == NULL) {
		/*
		 * All busy: wait. waiters is raised before picking again, so a
		 * slot given back after that pick sees it and signals under mu,
		 * which this thread holds until it sleeps: no wakeup is lost.
		 */
		deadline.tv_sec = (time_t)(deadline_ms / 1000);
		deadline.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
		pthread_mutex_lock(&pool->mu);
		atomic_fetch_add(&pool->waiters, 1);
		while ((s = hsm_pool_pick(pool, fresh, true)) == NULL) {
			if (hsm_now_ms() >= deadline_ms)
				break;
			(void)pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline);
		}
		atomic_fetch_sub(&pool->waiters, 1);
		pthread_mutex_unlock(&pool->mu);
		if (s == NULL)
			return sd_error_set(SD_E_HSM_UNAVAILABLE, "all %zu HSM sessions stayed busy", pool->n);
	}
	hsm_pool_hint = s->index;

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

	for (i = 0; i < pool->n; i++) {
		if (atomic_load(&pool->sessions[i].busy))
			abort();	/* hsm_recover() runs alone */
		pool->sessions[i].handle = CK_INVALID_HANDLE;
		pool->sessions[i].open = false;
		atomic_store_explicit(&pool->sessions[i].live, false, memory_order_relaxed);
	}
}

void
hsm_pool_put(struct hsm_pool *pool, struct hsm_session *s, bool broken)
{
	if (s == NULL)
		return;
	if (broken)
		hsm_pool_close_slot(pool, s);
	hsm_pool_release(pool, s, false);
}

struct hsm_session *
hsm_pool_try_slot(struct hsm_pool *pool, size_t index)
{
	struct hsm_session *s;

	if (index >= pool->n)
		return NULL;
	s = &pool->sessions[index];
	if (!hsm_pool_take(s))
		return NULL;
	if (!s->open) {
		hsm_pool_release(pool, s, false);
		return NULL;
	}
	return s;
}
