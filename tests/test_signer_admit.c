/*
 * The admission gate of issuance (signer/core/signer_admit.c): permits at
 * once, a bounded FIFO of waiters, each for a bounded time; refusals are
 * SD_E_BUSY with a Retry-After from the pace of the last issuances.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/signer_admit.h"
#include "sd_metrics.h"
#include "sd_test.h"

/* A waiter thread: takes a permit, notes its turn, holds it hold_ms, gives it back. */
struct waiter {
	struct signer_admit *a;
	unsigned queue, wait_ms, hold_ms;
	atomic_uint *turns;
	unsigned turn;			/* 1, 2, ... in the order permits were granted */
	int rc;
	double waited_ms;
	pthread_t tid;
};

static double
now_ms(void)
{
	return (double)sd_monotonic_us() / 1000.0;
}

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint64_t held;
	double t0 = now_ms();

	w->rc = signer_admit_take(w->a, w->queue, w->wait_ms, &held);
	w->waited_ms = now_ms() - t0;
	if (w->rc != 0)
		return NULL;
	w->turn = atomic_fetch_add(w->turns, 1) + 1;
	sd_test_sleep_ms(w->hold_ms);
	signer_admit_give(w->a, held);
	return NULL;
}

static unsigned
waiting(struct signer_admit *a)
{
	struct signer_admit_stats st;

	signer_admit_stats_get(a, &st);
	return st.waiting;
}

/* Start w and return once it waits in the gate (the waiting count reaches n). */
static void
waiter_start(struct waiter *w, unsigned n)
{
	unsigned i;

	CU_ASSERT_EQUAL_FATAL(pthread_create(&w->tid, NULL, waiter_main, w), 0);
	for (i = 0; i < 2000 && waiting(w->a) < n; i++)
		sd_test_sleep_ms(1);
	CU_ASSERT_EQUAL_FATAL(waiting(w->a), n);
}

static bool
detail_has(int rc, const char *needle)
{
	return strstr(sd_error_detail(rc), needle) != NULL;
}

static void
test_admit_new(void)
{
	struct signer_admit *a = NULL;

	CU_ASSERT_EQUAL(signer_admit_new(0, &a), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(signer_admit_new(SIGNER_ADMIT_PERMITS_MAX + 1, &a), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(signer_admit_new(1, &a), 0);
	signer_admit_free(a);
	signer_admit_free(NULL);
}

/* Permits go at once; with no queue the next request is busy at once, with Retry-After 1 before any pace is known. */
static void
test_admit_no_queue(void)
{
	struct signer_admit *a = NULL;
	struct signer_admit_stats st;
	uint64_t h1, h2, h3;
	double t0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(2, &a), 0);
	CU_ASSERT_EQUAL(signer_admit_take(a, 0, 1000, &h1), 0);
	CU_ASSERT_EQUAL(signer_admit_take(a, 0, 1000, &h2), 0);
	CU_ASSERT_NOT_EQUAL(h1, 0);
	t0 = now_ms();
	rc = signer_admit_take(a, 0, 1000, &h3);
	CU_ASSERT_EQUAL(rc, SD_E_BUSY);
	CU_ASSERT_TRUE(now_ms() - t0 < 50);
	CU_ASSERT_EQUAL(h3, 0);
	CU_ASSERT_TRUE(detail_has(rc, "the wait queue is full"));
	CU_ASSERT_TRUE(detail_has(rc, "[hsm] queue = 0"));
	CU_ASSERT_EQUAL(sd_error_retry_after(rc), 1);
	CU_ASSERT_STRING_EQUAL(sd_error_name(rc), "busy");
	signer_admit_give(a, h1);
	CU_ASSERT_EQUAL(signer_admit_take(a, 0, 1000, &h3), 0);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.permits, 2);
	CU_ASSERT_EQUAL(st.in_use, 2);
	CU_ASSERT_EQUAL(st.admitted, 3);
	CU_ASSERT_EQUAL(st.refused_full, 1);
	signer_admit_give(a, h2);
	signer_admit_give(a, h3);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.in_use, 0);
	signer_admit_free(a);
}

/* A waiter gives up after its wait, no sooner and not much later, and leaves the queue. */
static void
test_admit_timeout(void)
{
	struct signer_admit *a = NULL;
	struct signer_admit_stats st;
	atomic_uint turns = 0;
	struct waiter w = { .queue = 4, .wait_ms = 150, .turns = &turns };
	uint64_t held;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(1, &a), 0);
	w.a = a;
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 4, 150, &held), 0);
	waiter_start(&w, 1);
	CU_ASSERT_EQUAL(pthread_join(w.tid, NULL), 0);
	CU_ASSERT_EQUAL(w.rc, SD_E_BUSY);
	CU_ASSERT_TRUE(w.waited_ms >= 140);
	CU_ASSERT_TRUE(w.waited_ms < 1000);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.waiting, 0);
	CU_ASSERT_EQUAL(st.refused_timeout, 1);
	CU_ASSERT_EQUAL(st.waiting_max, 1);
	/* The permit still works, and the next one goes to nobody: in_use drops. */
	signer_admit_give(a, held);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.in_use, 0);
	signer_admit_free(a);
}

/* Waiters get the permit in arrival order; one arriving while others wait queues behind them. */
static void
test_admit_fifo(void)
{
	struct signer_admit *a = NULL;
	struct signer_admit_stats st;
	atomic_uint turns = 0;
	struct waiter w[4];
	uint64_t held;
	unsigned i;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 8, 5000, &held), 0);
	for (i = 0; i < 4; i++) {
		w[i] = (struct waiter){ .a = a, .queue = 8, .wait_ms = 5000, .hold_ms = 5, .turns = &turns };
		waiter_start(&w[i], i + 1);
	}
	signer_admit_give(a, held);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pthread_join(w[i].tid, NULL), 0);
		CU_ASSERT_EQUAL(w[i].rc, 0);
		CU_ASSERT_EQUAL(w[i].turn, i + 1);
	}
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.admitted, 5);
	CU_ASSERT_EQUAL(st.in_use, 0);
	CU_ASSERT_EQUAL(st.waiting, 0);
	CU_ASSERT_EQUAL(st.waiting_max, 4);
	signer_admit_free(a);
}

/*
 * With the pace known (a permit held about 200 ms), a request that would
 * wait longer than its wait is refused at once, a full queue too, and the
 * Retry-After covers the queue ahead.
 */
static void
test_admit_pace(void)
{
	struct signer_admit *a = NULL;
	struct signer_admit_stats st;
	atomic_uint turns = 0;
	struct waiter w[2];
	uint64_t held, h;
	unsigned i;
	double t0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 8, 1000, &held), 0);
	sd_test_sleep_ms(200);
	signer_admit_give(a, held);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_TRUE(st.hold_us >= 190000 && st.hold_us < 1000000);
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 8, 1000, &held), 0);
	/* First and second in line: 200 and 400 ms ahead of them, within 500 ms. */
	for (i = 0; i < 2; i++) {
		w[i] = (struct waiter){ .a = a, .queue = 8, .wait_ms = 500, .turns = &turns };
		waiter_start(&w[i], i + 1);
	}
	/* Third: 600 ms > 500 ms, refused at once. */
	t0 = now_ms();
	rc = signer_admit_take(a, 8, 500, &h);
	CU_ASSERT_EQUAL(rc, SD_E_BUSY);
	CU_ASSERT_TRUE(now_ms() - t0 < 50);
	CU_ASSERT_TRUE(detail_has(rc, "the wait would be too long"));
	/* Two waiting and one signing, 200 ms each: 0.6 s to drain, rounded up. */
	CU_ASSERT_EQUAL(sd_error_retry_after(rc), 1);
	/* A queue of two is full now. */
	rc = signer_admit_take(a, 2, 60000, &h);
	CU_ASSERT_EQUAL(rc, SD_E_BUSY);
	CU_ASSERT_TRUE(detail_has(rc, "the wait queue is full"));
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.refused_slow, 1);
	CU_ASSERT_EQUAL(st.refused_full, 1);
	signer_admit_give(a, held);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(pthread_join(w[i].tid, NULL), 0);
		CU_ASSERT_EQUAL(w[i].rc, 0);
	}
	signer_admit_free(a);
}

/* A long hold makes a long Retry-After, capped at SIGNER_ADMIT_RETRY_MAX. */
static void
test_admit_retry_after(void)
{
	struct signer_admit *a = NULL;
	atomic_uint turns = 0;
	struct waiter w[3];
	uint64_t held, h;
	unsigned i;
	int rc;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(1, &a), 0);
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 8, 1000, &held), 0);
	sd_test_sleep_ms(600);
	signer_admit_give(a, held);
	CU_ASSERT_EQUAL_FATAL(signer_admit_take(a, 3, 60000, &held), 0);
	for (i = 0; i < 3; i++) {
		w[i] = (struct waiter){ .a = a, .queue = 3, .wait_ms = 60000, .turns = &turns };
		waiter_start(&w[i], i + 1);
	}
	/* Three waiting and one signing at about 600 ms each: 2.4 s, so 3. */
	rc = signer_admit_take(a, 3, 60000, &h);
	CU_ASSERT_EQUAL(rc, SD_E_BUSY);
	CU_ASSERT_EQUAL(sd_error_retry_after(rc), 3);
	signer_admit_give(a, held);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(pthread_join(w[i].tid, NULL), 0);
		CU_ASSERT_EQUAL(w[i].rc, 0);
	}
	signer_admit_free(a);
}

/* Many threads through a small gate: never more than permits at once, every request admitted or busy. */
#define STRESS_THREADS 32
#define STRESS_ROUNDS 50

struct stresser {
	struct signer_admit *a;
	atomic_uint *inside, *most;
	unsigned ok, busy, other;
};

static void *
stress_main(void *arg)
{
	struct stresser *s = arg;
	unsigned r, now, seen;
	uint64_t held;
	int rc;

	for (r = 0; r < STRESS_ROUNDS; r++) {
		rc = signer_admit_take(s->a, 8, 50, &held);
		if (rc == SD_E_BUSY) {
			s->busy++;
			continue;
		}
		if (rc != 0) {
			s->other++;
			continue;
		}
		now = atomic_fetch_add(s->inside, 1) + 1;
		seen = atomic_load(s->most);
		while (now > seen && !atomic_compare_exchange_weak(s->most, &seen, now))
			;
		sd_test_sleep_ms(1);
		atomic_fetch_sub(s->inside, 1);
		signer_admit_give(s->a, held);
		s->ok++;
	}
	return NULL;
}

static void
test_admit_stress(void)
{
	struct signer_admit *a = NULL;
	struct signer_admit_stats st;
	struct stresser s[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	atomic_uint inside = 0, most = 0;
	unsigned i, ok = 0, busy = 0, other = 0;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(3, &a), 0);
	for (i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stresser){ .a = a, .inside = &inside, .most = &most };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, stress_main, &s[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(t[i], NULL), 0);
		ok += s[i].ok;
		busy += s[i].busy;
		other += s[i].other;
	}
	CU_ASSERT_TRUE(atomic_load(&most) <= 3);
	CU_ASSERT_TRUE(ok > 0);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(ok + busy, STRESS_THREADS * STRESS_ROUNDS);
	signer_admit_stats_get(a, &st);
	CU_ASSERT_EQUAL(st.admitted, ok);
	CU_ASSERT_EQUAL(st.refused_full + st.refused_slow + st.refused_timeout, busy);
	CU_ASSERT_TRUE(st.waiting_max <= 8);
	CU_ASSERT_EQUAL(st.in_use, 0);
	CU_ASSERT_EQUAL(st.waiting, 0);
	signer_admit_free(a);
}

static void
test_admit_metrics(void)
{
	struct sd_metrics_text t = { NULL, 0, 0, false };
	struct signer_admit *a = NULL;
	uint64_t held, h;
	char *text = NULL;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(signer_admit_new(1, &a), 0);
	CU_ASSERT_EQUAL(signer_admit_take(a, 0, 0, &held), 0);
	CU_ASSERT_EQUAL(signer_admit_take(a, 0, 0, &h), SD_E_BUSY);
	signer_admit_text(a, &t);
	CU_ASSERT_EQUAL_FATAL(sd_metrics_text_take(&t, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE signerd_admission_waiting gauge\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_admission_permits 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_admission_in_use 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_admission_busy_total{why=\"full\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_admission_busy_total{why=\"timeout\"} 0\n"));
	free(text);
	signer_admit_give(a, held);
	signer_admit_free(a);
}

int
main(void)
{
	static const struct sd_test_case gate[] = {
		{ "permits 1 .. SIGNER_ADMIT_PERMITS_MAX", test_admit_new },
		{ "no queue: busy at once, Retry-After 1", test_admit_no_queue },
		{ "a waiter gives up after its wait", test_admit_timeout },
		{ "waiters served in arrival order", test_admit_fifo },
		{ "a wait that would be too long is refused at once", test_admit_pace },
		{ "Retry-After from the queue ahead", test_admit_retry_after },
		{ "32 threads, 3 permits: never more at once", test_admit_stress },
		{ "metrics", test_admit_metrics },
	};

	SD_TEST_SUITE("admission gate", gate);
	return sd_test_run("test_signer_admit");
}
