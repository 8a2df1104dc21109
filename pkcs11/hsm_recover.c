/*
 * Health state and recovery from HSM faults, in one place.
 *
 * States: up, or down with a reason. A fault that a fresh session does not
 * cure marks the token down; while it is down every caller gets
 * SD_E_HSM_UNAVAILABLE with the reason at once, except one thread at a time
 * (a request or hsm_health()) that probes it after a backoff pause of
 * 100 ms doubling to 2 s. A probe after a module fault (or after a failed
 * probe) first finalises and initialises the module again through p11-kit,
 * finds the token by its URI (slot numbers may change) and logs in again;
 * a successful operation marks the token up. Each state change is logged
 * once. A refused PIN is never tried again: the token stays down.
 *
 * C_Finalize must not run while another thread is inside the module, so
 * every caller is admitted (counted) first and re-initialisation waits,
 * bounded, until it is the only one admitted. No lock is held across a
 * Cryptoki call except by the re-initialising thread, which others wait
 * for within their own time budget.
 *
 * While all is well admission is lock-free: hsm_admit() adds one to
 * inflight and then reads blocked; hsm_reinit() sets blocked and then reads
 * inflight (both sequentially consistent), so either the admitted thread
 * sees the gate closed and backs out to the slow path under mu, or the
 * re-initialising thread counts it and waits for its hsm_release(), which
 * broadcasts under mu whenever the gate is closed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm_int.h"
#include "sd_log.h"

uint64_t
hsm_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		abort();
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
hsm_state_init(struct hsm_state *st)
{
	pthread_condattr_t ca;

	memset(st, 0, sizeof(*st));
	atomic_init(&st->inflight, 0);
	atomic_init(&st->blocked, false);
	if (pthread_mutex_init(&st->mu, NULL) != 0)
		return SD_E_NOMEM;
	if (pthread_condattr_init(&ca) != 0) {
		pthread_mutex_destroy(&st->mu);
		return SD_E_NOMEM;
	}
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&st->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&st->mu);
		return SD_E_NOMEM;
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

void
hsm_state_destroy(struct hsm_state *st)
{
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
}

bool
hsm_rv_is_module_fault(CK_RV rv)
{
	switch (rv) {
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SLOT_ID_INVALID:
		return true;
	default:
		return false;
	}
}

/* Wait on the state's condition until deadline_ms; caller holds st->mu. Returns false on timeout. */
static bool
hsm_state_wait(struct hsm_state *st, uint64_t deadline_ms)
{
	struct timespec ts;

	if (hsm_now_ms() >= deadline_ms)
		return false;
	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	return pthread_cond_timedwait(&st->cv, &st->mu, &ts) != ETIMEDOUT || hsm_now_ms() < deadline_ms;
}

/* Caller holds st->mu, after changing reinit or down: open or close the fast path of hsm_admit(). */
static void
hsm_state_gate(struct hsm_state *st)
{
	atomic_store(&st->blocked, st->reinit || st->down);
}

/* Caller holds st->mu. */
static int
hsm_state_refuse(struct hsm *hsm, uint64_t now)
{
	struct hsm_state *st = &hsm->st;

	if (hsm->pin_refused)
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s refused the PIN; not trying it again: fix the PIN "
		    "file and restart", hsm->token_label);
	return sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s unavailable for %llu s: %s (next check in %llu ms)",
	    hsm->token_label, (unsigned long long)((now - st->down_since_ms) / 1000), st->reason,
	    (unsigned long long)(st->next_try_ms > now ? st->next_try_ms - now : 0));
}

/* Finalise and initialise the module, find the token again, log in on one session. Runs alone. */
static int
hsm_reinit_run(struct hsm *hsm, uint64_t deadline_ms)
{
	struct hsm_session *s = NULL;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	CK_RV rv;
	int rc;

	hsm_pool_forget(hsm->pool);
	hsm_module_finalize(hsm->fn);
	rv = hsm_module_initialize(hsm->fn);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "C_Initialize: %s", hsm_rv_name(rv));
	/* The same token (by serial), wherever the module now puts it. */
	if ((rc = hsm_token_find(hsm, hsm->token_info.serialNumber, &slot, &ti)) != 0) {
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "after C_Initialize: %s", sd_error_detail(rc));
	}
	hsm->slot = slot;
	if (ti.flags & CKF_USER_PIN_LOCKED) {
		hsm->pin_refused = true;
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "the user PIN of token %s is locked", hsm->token_label);
	}
	/* One session now: a token that lets us log in is back. */
	if ((rc = hsm_pool_get(hsm->pool, deadline_ms, false, &s, &rv)) != 0) {
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "after C_Initialize: %s", sd_error_detail(rc));
	}
	hsm_pool_put(hsm->pool, s, false);
	return 0;
}

/* Caller is admitted and holds no session. */
static int
hsm_reinit(struct hsm *hsm, uint64_t deadline_ms)
{
	struct hsm_state *st = &hsm->st;
	uint64_t gen, quiesce;
	int rc;

	pthread_mutex_lock(&st->mu);
	if (st->reinit) {
		/* Someone else is at it: step out of the way, then use their outcome. */
		gen = st->generation;
		atomic_fetch_sub(&st->inflight, 1);
		pthread_cond_broadcast(&st->cv);
		while (st->reinit && hsm_state_wait(st, deadline_ms))
			;
		atomic_fetch_add(&st->inflight, 1);
		rc = st->reinit || st->generation == gen || st->need_reinit ?
		    sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: re-initialisation by another thread %s", hsm->token_label,
		    st->reinit ? "still running" : "failed") : 0;
		pthread_mutex_unlock(&st->mu);
		return rc;
	}
	st->reinit = true;
	hsm_state_gate(st);	/* before reading inflight: see the comment at the top */
	quiesce = hsm_now_ms() + HSM_QUIESCE_MS;
	if (quiesce > deadline_ms)
		quiesce = deadline_ms;
	while (atomic_load(&st->inflight) > 1 && hsm_state_wait(st, quiesce))
		;
	if (atomic_load(&st->inflight) > 1) {
		rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: %u operations still running; module not re-initialised",
		    hsm->token_label, atomic_load(&st->inflight) - 1);
		st->reinit = false;
		hsm_state_gate(st);
		pthread_cond_broadcast(&st->cv);
		pthread_mutex_unlock(&st->mu);
		return rc;
	}
	pthread_mutex_unlock(&st->mu);

	rc = hsm_reinit_run(hsm, deadline_ms);

	pthread_mutex_lock(&st->mu);
	st->reinit = false;
	hsm_state_gate(st);
	st->generation++;
	st->need_reinit = rc != 0;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int
hsm_admit(struct hsm *hsm, uint64_t deadline_ms, bool *probe)
{
	struct hsm_state *st = &hsm->st;
	bool need;
	uint64_t now;
	int rc;

	*probe = false;
	if (hsm_admit_now(hsm))
		return 0;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		now = hsm_now_ms();
		if (hsm->pin_refused) {
			rc = hsm_state_refuse(hsm, now);
			pthread_mutex_unlock(&st->mu);
			return rc;
		}
		if (!st->reinit && !st->down) {
			atomic_fetch_add(&st->inflight, 1);
			pthread_mutex_unlock(&st->mu);
			return 0;
		}
		if (!st->reinit && st->down && !st->probing) {
			if (now < st->next_try_ms) {
				rc = hsm_state_refuse(hsm, now);
				pthread_mutex_unlock(&st->mu);
				return rc;
			}
			break;
		}
		/* A recovery is under way: its outcome decides, if it comes in time. */
		if (!hsm_state_wait(st, deadline_ms)) {
			rc = st->down ? hsm_state_refuse(hsm, now) :
			    sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: timed out waiting for HSM recovery", hsm->token_label);
			pthread_mutex_unlock(&st->mu);
			return rc;
		}
	}
	st->probing = true;
	atomic_fetch_add(&st->inflight, 1);
	need = st->need_reinit;
	pthread_mutex_unlock(&st->mu);
	*probe = true;
	if (need && (rc = hsm_reinit(hsm, deadline_ms)) != 0) {
		hsm_mark_down(hsm, true, "%s", sd_error_detail(rc));
		hsm_release(hsm, true);
		*probe = false;
		pthread_mutex_lock(&st->mu);
		rc = hsm_state_refuse(hsm, hsm_now_ms());
		pthread_mutex_unlock(&st->mu);
		return rc;
	}
	return 0;
}

bool
hsm_admit_now(struct hsm *hsm)
{
	struct hsm_state *st = &hsm->st;

	if (atomic_load(&hsm->pin_refused))
		return false;
	atomic_fetch_add(&st->inflight, 1);
	if (!atomic_load(&st->blocked))
		return true;
	/* The gate closed meanwhile: back out (a re-initialisation may be counting us). */
	hsm_release(hsm, false);
	return false;
}

void
hsm_release(struct hsm *hsm, bool probe)
{
	struct hsm_state *st = &hsm->st;

	if (!probe) {
		if (atomic_fetch_sub(&st->inflight, 1) == 0)
			abort();
		/* Only a closed gate has waiters that care about inflight or about us. */
		if (atomic_load(&st->blocked)) {
			pthread_mutex_lock(&st->mu);
			pthread_cond_broadcast(&st->cv);
			pthread_mutex_unlock(&st->mu);
		}
		return;
	}
	pthread_mutex_lock(&st->mu);
	if (atomic_fetch_sub(&st->inflight, 1) == 0)
		abort();
	st->probing = false;
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

void
hsm_mark_ok(struct hsm *hsm)
{
	struct hsm_state *st = &hsm->st;

	pthread_mutex_lock(&st->mu);
	if (st->down) {
		st->down = false;
		hsm_state_gate(st);
		st->need_reinit = false;
		st->probes = 0;
		sd_log(SD_LOG_INFO, "hsm: HSM recovered: token %s usable again after %llu ms", hsm->token_label,
		    (unsigned long long)(hsm_now_ms() - st->down_since_ms));
	}
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

void
hsm_mark_down(struct hsm *hsm, bool need_reinit, const char *fmt, ...)
{
	struct hsm_state *st = &hsm->st;
	char reason[HSM_REASON_MAX];
	uint64_t now = hsm_now_ms();
	va_list ap;

	/* Formatted aside: fmt may quote sd_error_detail(), which sd_error_set() rewrites. */
	va_start(ap, fmt);
	if (vsnprintf(reason, sizeof(reason), fmt, ap) < 0)
		reason[0] = '\0';
	va_end(ap);
	pthread_mutex_lock(&st->mu);
	if (!st->down) {
		st->down = true;
		hsm_state_gate(st);
		st->down_since_ms = now;
		st->backoff_ms = HSM_BACKOFF_MIN_MS;
		st->probes = 0;
		sd_log(SD_LOG_ERROR, "hsm: HSM unavailable: token %s: %s", hsm->token_label, reason);
	} else {
		st->probes++;
		st->backoff_ms = st->backoff_ms * 2 > HSM_BACKOFF_MAX_MS ? HSM_BACKOFF_MAX_MS : st->backoff_ms * 2;
	}
	/* A fault that survived a fresh session, or a failed probe: start the next probe from scratch. */
	st->need_reinit = st->need_reinit || need_reinit || st->probes > 0;
	st->next_try_ms = now + st->backoff_ms;
	memcpy(st->reason, reason, sizeof(st->reason));
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

int
hsm_recover(struct hsm *hsm, CK_RV rv, uint64_t deadline_ms)
{
	if (hsm->pin_refused)
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s refused the PIN; not trying it again", hsm->token_label);
	/*
	 * A fresh session is the first remedy. The module is re-initialised at
	 * once only when it says it is not initialised; other module faults
	 * must persist (the retry fails too) and the next probe does it.
	 */
	if (rv != CKR_CRYPTOKI_NOT_INITIALIZED)
		return 0;
	return hsm_reinit(hsm, deadline_ms);
}
