/*
 * hsm_sim.so: a PKCS#11 module for tests and benchmarks that models a
 * network HSM in front of a real module (SoftHSMv2): each signature takes a
 * fixed time on the device and the device works on at most N of them at
 * once, so that it signs at most N / latency per second however fast the
 * real module is, and callers past N queue for their turn.
 *
 *   HSM_SIM_MODULE      the real module (default /usr/lib/softhsm/libsofthsm2.so)
 *   HSM_SIM_LATENCY_US  microseconds a signature holds its slot (default 0, at
 *                       most 10000000), the real module's own signing time
 *                       included: from the moment it gets the slot or, for a
 *                       caller that queued, from the moment the slot was
 *                       freed (the queue is the device's: the host waking
 *                       its thread late costs the device nothing). A slot
 *                       thus serves exactly 1 / latency signatures per
 *                       second as long as the real module is faster.
 *   HSM_SIM_PARALLEL    slots: signatures in progress at once (default 0: no
 *                       limit, at most 4096); a caller that finds them all
 *                       taken waits, in arrival order (each freed slot is
 *                       handed to the longest waiting caller), asleep on a
 *                       condition variable of its own
 *
 * Both are read at every C_Initialize, so a test can change them between
 * C_Finalize and C_Initialize; a malformed value fails C_Initialize with
 * CKR_ARGUMENTS_BAD after a line on stderr. A signature is a C_Sign or
 * C_SignFinal given a buffer (signerd's Cryptoki layer calls C_SignInit and
 * C_Sign); a length query (a NULL buffer) is answered at once. The time is
 * spent whatever the real module answers, as a round trip to a device is.
 * Every other function is the real module's own, called directly. Each
 * process that loads the module models a device of its own.
 *
 * For tests, two more exported functions (declare them, dlsym them from a
 * handle of the same path):
 *
 *   void hsm_sim_stats(unsigned long *signatures, unsigned long *waited, unsigned long *in_flight_max);
 *   void hsm_sim_stats_reset(void);
 *
 * signatures finished, those that found every slot taken, and the most in
 * progress at once, since the last C_Initialize or reset.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/p11_real.h"

#define HSM_SIM_LATENCY_MAX_US 10000000UL
#define HSM_SIM_PARALLEL_MAX 4096UL

/* A caller waiting for a slot, on its own stack; the one that frees a slot hands it over. */
struct hsm_sim_waiter {
	pthread_cond_t turn;
	bool admitted;
	struct timespec start;		/* when its slot became free: its signature's time starts there */
	struct hsm_sim_waiter *next;
};

static pthread_mutex_t hsm_sim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ck_function_list *hsm_sim_real;	/* set once by C_GetFunctionList, before any other call */
static struct ck_function_list hsm_sim_list;	/* the real list with the functions below in it */
static pthread_once_t hsm_sim_once = PTHREAD_ONCE_INIT;

/* Under hsm_sim_mu. */
static unsigned long hsm_sim_latency_us;
static unsigned long hsm_sim_parallel;		/* 0: no limit */
static unsigned long hsm_sim_in_flight;
static struct hsm_sim_waiter *hsm_sim_head, *hsm_sim_tail;
static unsigned long hsm_sim_signatures, hsm_sim_waited, hsm_sim_in_flight_max;

/* An unsigned decimal of at most max from $name, def when unset or empty. */
static bool
hsm_sim_env(const char *name, unsigned long def, unsigned long max, unsigned long *out)
{
	const char *text = getenv(name);
	unsigned long v;
	char *end;

	*out = def;
	if (text == NULL || text[0] == '\0')
		return true;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > max) {
		fprintf(stderr, "hsm_sim.so: %s=%s: want a whole number from 0 to %lu\n", name, text, max);
		return false;
	}
	*out = v;
	return true;
}

/* Caller holds hsm_sim_mu: one more slot taken. */
static void
hsm_sim_take(bool waited)
{
	hsm_sim_in_flight++;
	if (hsm_sim_in_flight > hsm_sim_in_flight_max)
		hsm_sim_in_flight_max = hsm_sim_in_flight;
	if (waited)
		hsm_sim_waited++;
}

/*
 * Caller holds hsm_sim_mu: hand free slots to the longest waiting callers.
 * The queue is the device's: a slot freed at time at starts the next
 * signature at that very time, however late the host wakes its caller.
 */
static void
hsm_sim_hand_over(const struct timespec *at)
{
	struct hsm_sim_waiter *w;

	while (hsm_sim_head != NULL && (hsm_sim_parallel == 0 || hsm_sim_in_flight < hsm_sim_parallel)) {
		w = hsm_sim_head;
		if ((hsm_sim_head = w->next) == NULL)
			hsm_sim_tail = NULL;
		w->admitted = true;
		w->start = *at;
		hsm_sim_take(true);
		if (pthread_cond_signal(&w->turn) != 0)
			abort();	/* a waiter left asleep would hold up every caller behind it */
	}
}

/*
 * Take a slot, waiting behind earlier callers: *until is when the
 * signature's time in the slot ends. CKR_GENERAL_ERROR (no clock) or
 * CKR_HOST_MEMORY, and then no slot.
 */
static ck_rv_t
hsm_sim_enter(struct timespec *until)
{
	struct hsm_sim_waiter me = { .admitted = false, .next = NULL };
	unsigned long us;

	if (clock_gettime(CLOCK_MONOTONIC, &me.start) != 0)
		return CKR_GENERAL_ERROR;
	if (pthread_cond_init(&me.turn, NULL) != 0)
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&hsm_sim_mu);
	if (hsm_sim_head == NULL && (hsm_sim_parallel == 0 || hsm_sim_in_flight < hsm_sim_parallel)) {
		hsm_sim_take(false);
	} else {
		if (hsm_sim_tail != NULL)
			hsm_sim_tail->next = &me;
		else
			hsm_sim_head = &me;
		hsm_sim_tail = &me;
		while (!me.admitted) {
			if (pthread_cond_wait(&me.turn, &hsm_sim_mu) != 0)
				abort();	/* only for a broken mutex; the queue would hold a dead entry */
		}
	}
	us = hsm_sim_latency_us;
	pthread_mutex_unlock(&hsm_sim_mu);
	if (pthread_cond_destroy(&me.turn) != 0)
		abort();	/* nobody else can be waiting on it */
	*until = me.start;
	until->tv_sec += (time_t)(us / 1000000);
	until->tv_nsec += (long)(us % 1000000) * 1000;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
	return CKR_OK;	/* NOLINT(clang-analyzer-core.StackAddressEscape): hsm_sim_hand_over() unlinked me before admitting it */
}

/* Free the slot taken by hsm_sim_enter(), whose time ended at until. */
static void
hsm_sim_leave(const struct timespec *until)
{
	pthread_mutex_lock(&hsm_sim_mu);
	hsm_sim_in_flight--;
	hsm_sim_signatures++;
	hsm_sim_hand_over(until);
	pthread_mutex_unlock(&hsm_sim_mu);
}

/*
 * One signature (C_SignFinal when final): a slot, the real call, the rest
 * of the latency in the slot (also after a failure: a round trip to a
 * device takes its time whatever the answer), the slot freed.
 */
static ck_rv_t
hsm_sim_sign(bool final, ck_session_handle_t session, unsigned char *data, unsigned long data_len,
    unsigned char *signature, unsigned long *signature_len)
{
	struct timespec until;
	ck_rv_t rv;
	int err;

	if ((rv = hsm_sim_enter(&until)) != CKR_OK)
		return rv;
	if (final)
		rv = hsm_sim_real->C_SignFinal(session, signature, signature_len);
	else
		rv = hsm_sim_real->C_Sign(session, data, data_len, signature, signature_len);
	/* Absolute: at once when until has passed (the real module or the host was slower). */
	while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)) == EINTR)
		;
	hsm_sim_leave(&until);
	return rv == CKR_OK && err != 0 ? CKR_GENERAL_ERROR : rv;
}

static ck_rv_t
hsm_sim_C_Sign(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature,
    unsigned long *signature_len)
{
	if (signature == NULL)
		return hsm_sim_real->C_Sign(session, data, data_len, signature, signature_len);
	return hsm_sim_sign(false, session, data, data_len, signature, signature_len);
}

static ck_rv_t
hsm_sim_C_SignFinal(ck_session_handle_t session, unsigned char *signature, unsigned long *signature_len)
{
	if (signature == NULL)
		return hsm_sim_real->C_SignFinal(session, signature, signature_len);
	return hsm_sim_sign(true, session, NULL, 0, signature, signature_len);
}

static ck_rv_t
hsm_sim_C_Initialize(void *init_args)
{
	unsigned long latency_us, parallel;
	struct timespec now;

	if (!hsm_sim_env("HSM_SIM_LATENCY_US", 0, HSM_SIM_LATENCY_MAX_US, &latency_us) ||
	    !hsm_sim_env("HSM_SIM_PARALLEL", 0, HSM_SIM_PARALLEL_MAX, &parallel))
		return CKR_ARGUMENTS_BAD;
	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return CKR_GENERAL_ERROR;
	pthread_mutex_lock(&hsm_sim_mu);
	hsm_sim_latency_us = latency_us;
	hsm_sim_parallel = parallel;
	hsm_sim_signatures = 0;
	hsm_sim_waited = 0;
	hsm_sim_in_flight_max = hsm_sim_in_flight;
	hsm_sim_hand_over(&now);	/* more slots than before: waiters need not wait for a signature to end */
	pthread_mutex_unlock(&hsm_sim_mu);
	return hsm_sim_real->C_Initialize(init_args);
}

static ck_rv_t
hsm_sim_C_GetFunctionList(struct ck_function_list **list);

static void
hsm_sim_open_real(void)
{
	struct ck_function_list *real = p11_real_load("HSM_SIM_MODULE", "hsm_sim.so");

	if (real == NULL)
		return;
	hsm_sim_list = *real;
	hsm_sim_list.C_Initialize = hsm_sim_C_Initialize;
	hsm_sim_list.C_GetFunctionList = hsm_sim_C_GetFunctionList;
	hsm_sim_list.C_Sign = hsm_sim_C_Sign;
	hsm_sim_list.C_SignFinal = hsm_sim_C_SignFinal;
	hsm_sim_real = real;
}

static ck_rv_t
hsm_sim_C_GetFunctionList(struct ck_function_list **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pthread_once(&hsm_sim_once, hsm_sim_open_real) != 0 || hsm_sim_real == NULL)
		return CKR_GENERAL_ERROR;
	*list = &hsm_sim_list;
	return CKR_OK;
}

ck_rv_t C_GetFunctionList(struct ck_function_list **list);
void hsm_sim_stats(unsigned long *signatures, unsigned long *waited, unsigned long *in_flight_max);
void hsm_sim_stats_reset(void);

ck_rv_t
C_GetFunctionList(struct ck_function_list **list)
{
	return hsm_sim_C_GetFunctionList(list);
}

void
hsm_sim_stats(unsigned long *signatures, unsigned long *waited, unsigned long *in_flight_max)
{
	pthread_mutex_lock(&hsm_sim_mu);
	*signatures = hsm_sim_signatures;
	*waited = hsm_sim_waited;
	*in_flight_max = hsm_sim_in_flight_max;
	pthread_mutex_unlock(&hsm_sim_mu);
}

void
hsm_sim_stats_reset(void)
{
	pthread_mutex_lock(&hsm_sim_mu);
	hsm_sim_signatures = 0;
	hsm_sim_waited = 0;
	hsm_sim_in_flight_max = hsm_sim_in_flight;
	pthread_mutex_unlock(&hsm_sim_mu);
}
