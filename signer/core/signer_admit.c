/*
 * The admission gate (signer_admit.h): a counting semaphore whose waiters
 * form a bounded FIFO. A freed permit passes straight to the first waiter,
 * so that nobody who arrived later overtakes it, and each waiter sleeps on
 * a condition of its own, so that one release wakes one thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "signer_admit.h"

struct signer_admit_waiter {
	pthread_cond_t cond;
	struct signer_admit_waiter *next;
	bool granted;
	uint64_t granted_at;		/* sd_monotonic_us() */
};

struct signer_admit {
	pthread_mutex_t lock;
	unsigned permits;
	unsigned in_use;
	unsigned waiting;
	unsigned waiting_max;
	struct signer_admit_waiter *head, *tail;
	uint64_t hold_us;		/* moving average of a permit's hold time; 0 until the first give */
	uint64_t admitted;
	uint64_t refused_full, refused_slow, refused_timeout;
};

int
signer_admit_new(unsigned permits, struct signer_admit **out)
{
	struct signer_admit *a;

	*out = NULL;
	if (permits == 0 || permits > SIGNER_ADMIT_PERMITS_MAX)
		return sd_error_set(SD_E_INVAL, "%u signing permits: want 1 .. %d", permits, SIGNER_ADMIT_PERMITS_MAX);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SD_E_NOMEM;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return sd_error_set(SD_E_INTERNAL, "pthread_mutex_init failed");
	}
	a->permits = permits;
	*out = a;
	return 0;
}

void
signer_admit_free(struct signer_admit *a)
{
	if (a == NULL)
		return;
	/* A waiter's or holder's thread would touch freed memory: a broken invariant. */
	if (a->in_use != 0 || a->head != NULL)
		abort();
	(void)pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Seconds until the queue ahead (waiting plus the permits in use) could drain; lock held. */
static unsigned
admit_retry_after(const struct signer_admit *a)
{
	uint64_t us;

	if (a->hold_us == 0)
		return 1;
	us = ((uint64_t)a->waiting + a->in_use) * a->hold_us / a->permits;
	if (us >= (uint64_t)SIGNER_ADMIT_RETRY_MAX * 1000000)
		return SIGNER_ADMIT_RETRY_MAX;
	return us < 1000000 ? 1 : (unsigned)((us + 999999) / 1000000);
}

/* SD_E_BUSY with its Retry-After; lock held (the detail and the retry are this thread's). */
static int
admit_busy(const struct signer_admit *a, const char *why, unsigned queue, unsigned wait_ms)
{
	unsigned retry = admit_retry_after(a);
	int rc;

	rc = sd_error_set(SD_E_BUSY, "the HSM is busy: %s (%u signing at once, %u waiting; [hsm] queue = %u, "
	    "queue_wait_ms = %u); retry after %u s", why, a->in_use, a->waiting, queue, wait_ms, retry);
	sd_error_set_retry_after(retry);
	return rc;
}

/* Take w out of the queue (it timed out, so it is in it); lock held. */
static void
admit_unlink(struct signer_admit *a, struct signer_admit_waiter *w)
{
	struct signer_admit_waiter **p;

	for (p = &a->head; *p != NULL; p = &(*p)->next) {
		if (*p != w)
			continue;
		*p = w->next;
		if (a->tail == w) {
			a->tail = a->head;
			while (a->tail != NULL && a->tail->next != NULL)
				a->tail = a->tail->next;
		}
		a->waiting--;
		return;
	}
	abort();	/* a waiter that is neither granted nor queued */
}

int
signer_admit_take(struct signer_admit *a, unsigned queue, unsigned wait_ms, uint64_t *held)
{
	struct signer_admit_waiter w = { .next = NULL, .granted = false, .granted_at = 0 };
	pthread_condattr_t attr;
	struct timespec deadline;
	uint64_t now = sd_monotonic_us(), wait_us;
	int err = 0, rc;

	*held = 0;
	pthread_mutex_lock(&a->lock);
	if (a->in_use < a->permits && a->head == NULL) {
		a->in_use++;
		a->admitted++;
		pthread_mutex_unlock(&a->lock);
		*held = now;
		return 0;
	}
	if (a->waiting >= queue) {
		a->refused_full++;
		rc = admit_busy(a, "the wait queue is full", queue, wait_ms);
		pthread_mutex_unlock(&a->lock);
		return rc;
	}
	/* The last in line gets a permit after waiting + 1 gives: refuse now what would only time out later. */
	wait_us = ((uint64_t)a->waiting + 1) * a->hold_us / a->permits;
	if (wait_us > (uint64_t)wait_ms * 1000) {
		a->refused_slow++;
		rc = admit_busy(a, "at the current pace the wait would be too long", queue, wait_ms);
		pthread_mutex_unlock(&a->lock);
		return rc;
	}
	if (pthread_condattr_init(&attr) != 0 || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&w.cond, &attr) != 0) {
		pthread_mutex_unlock(&a->lock);
		return sd_error_set(SD_E_INTERNAL, "cannot set up a wait for the HSM");
	}
	(void)pthread_condattr_destroy(&attr);
	/* On this stack only while queued: a give or the time-out below takes it out before we return. */
	if (a->tail != NULL)
		a->tail->next = &w;
	else
		/* cppcheck-suppress autoVariables */
		a->head = &w;
	/* cppcheck-suppress autoVariables */
	a->tail = &w;
	if (++a->waiting > a->waiting_max)
		a->waiting_max = a->waiting;
	(void)clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(wait_ms / 1000);
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	while (!w.granted && err == 0)
		err = pthread_cond_timedwait(&w.cond, &a->lock, &deadline);
	if (w.granted) {
		*held = w.granted_at;
		rc = 0;
	} else {
		admit_unlink(a, &w);
		a->refused_timeout++;
		rc = admit_busy(a, "no signing permit within the wait", queue, wait_ms);
	}
	pthread_mutex_unlock(&a->lock);
	(void)pthread_cond_destroy(&w.cond);
	return rc;
}

void
signer_admit_give(struct signer_admit *a, uint64_t held)
{
	struct signer_admit_waiter *w;
	uint64_t now = sd_monotonic_us(), hold = now > held ? now - held : 0;

	pthread_mutex_lock(&a->lock);
	if (a->in_use == 0)
		abort();	/* a give without a take */
	/* An average over about the last eight issuances: it follows a slower HSM within a second or two. */
	a->hold_us = a->hold_us == 0 ? (hold > 0 ? hold : 1) : (a->hold_us * 7 + hold) / 8;
	if ((w = a->head) != NULL) {
		/* The permit passes to the first waiter: in_use stays as it is. */
		a->head = w->next;
		if (a->head == NULL)
			a->tail = NULL;
		a->waiting--;
		a->admitted++;
		w->granted = true;
		w->granted_at = now;
		pthread_cond_signal(&w->cond);
	} else {
		a->in_use--;
	}
	pthread_mutex_unlock(&a->lock);
}

void
signer_admit_stats_get(struct signer_admit *a, struct signer_admit_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = (struct signer_admit_stats){
		.permits = a->permits,
		.in_use = a->in_use,
		.waiting = a->waiting,
		.waiting_max = a->waiting_max,
		.admitted = a->admitted,
		.refused_full = a->refused_full,
		.refused_slow = a->refused_slow,
		.refused_timeout = a->refused_timeout,
		.hold_us = a->hold_us,
	};
	pthread_mutex_unlock(&a->lock);
}

void
signer_admit_text(struct signer_admit *a, struct sd_metrics_text *t)
{
	struct signer_admit_stats st;

	if (a == NULL)
		return;
	signer_admit_stats_get(a, &st);
	sd_metrics_family(t, "signerd_admission_permits", "gauge", "Issuances the signer works on at once "
	    "([hsm] concurrency; 4096 when 0).");
	sd_metrics_printf(t, "signerd_admission_permits %u\n", st.permits);
	sd_metrics_family(t, "signerd_admission_in_use", "gauge", "Issuances holding a permit now.");
	sd_metrics_printf(t, "signerd_admission_in_use %u\n", st.in_use);
	sd_metrics_family(t, "signerd_admission_waiting", "gauge", "Issuances waiting for a permit now.");
	sd_metrics_printf(t, "signerd_admission_waiting %u\n", st.waiting);
	sd_metrics_family(t, "signerd_admission_waiting_max", "gauge", "Most issuances waiting at once since start.");
	sd_metrics_printf(t, "signerd_admission_waiting_max %u\n", st.waiting_max);
	sd_metrics_family(t, "signerd_admission_busy_total", "counter", "Issuances refused busy (503), by why: "
	    "the queue was full, the wait would have been too long, or it was.");
	sd_metrics_printf(t, "signerd_admission_busy_total{why=\"full\"} %llu\n",
	    (unsigned long long)st.refused_full);
	sd_metrics_printf(t, "signerd_admission_busy_total{why=\"slow\"} %llu\n",
	    (unsigned long long)st.refused_slow);
	sd_metrics_printf(t, "signerd_admission_busy_total{why=\"timeout\"} %llu\n",
	    (unsigned long long)st.refused_timeout);
	sd_metrics_family(t, "signerd_admission_hold_seconds", "gauge", "Recent average time an issuance holds "
	    "its permit.");
	sd_metrics_printf(t, "signerd_admission_hold_seconds %.6f\n", (double)st.hold_us / 1e6);
}
