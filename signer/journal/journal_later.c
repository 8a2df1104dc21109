/*
 * Appends nobody waits for: journal_append_later() queues a copy of the
 * record and returns; the next group commit takes it along. When no
 * waiting append comes within JOURNAL_LATER_DELAY_US, the flusher thread
 * commits it alone. The delay is what lets a lone client's next intent
 * carry the previous result in its own durable commit, so that an issuance
 * waits for one flush, not two.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "journal_internal.h"

#define JOURNAL_LATER_DELAY_US 10000

/* Wait on flusher_wake until deadline or stop (queue_lock held). */
static void
journal_flusher_pause(struct journal *j)
{
	struct timespec until;

	if (clock_gettime(CLOCK_MONOTONIC, &until) != 0)
		abort();
	until.tv_nsec += JOURNAL_LATER_DELAY_US * 1000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!j->flusher_stop && pthread_cond_timedwait(&j->flusher_wake, &j->queue_lock, &until) != ETIMEDOUT)
		;
}

static void *
journal_flusher_main(void *arg)
{
	struct journal *j = arg;

	journal_mutex_lock(&j->queue_lock);
	while (!j->flusher_stop) {
		if (j->queue_head == NULL || j->committing) {
			(void)pthread_cond_wait(&j->flusher_wake, &j->queue_lock);
			continue;
		}
		/* Give a waiting append the chance to take these along in its own commit. */
		journal_flusher_pause(j);
		if (j->flusher_stop || j->queue_head == NULL || j->committing)
			continue;
		j->committing = true;
		journal_mutex_unlock(&j->queue_lock);
		journal_commit_round(j, NULL);
		journal_mutex_lock(&j->queue_lock);
	}
	journal_mutex_unlock(&j->queue_lock);
	return NULL;
}

/* Start the flusher (queue_lock held). */
static int
journal_flusher_start(struct journal *j)
{
	int err;

	if ((err = journal_cond_init_monotonic(&j->flusher_wake)) == 0 && (err = pthread_cond_init(&j->flushed, NULL)) != 0)
		pthread_cond_destroy(&j->flusher_wake);
	if (err != 0)
		return sd_error_set(SD_E_JOURNAL, "journal: cannot create the flusher's conditions");
	j->flusher_stop = false;
	if ((err = journal_thread_start(&j->flusher, journal_flusher_main, j)) != 0) {
		pthread_cond_destroy(&j->flushed);
		pthread_cond_destroy(&j->flusher_wake);
		return sd_error_set(SD_E_JOURNAL, "journal: cannot start the flusher: %s", strerror(err));
	}
	j->flusher_running = true;
	return 0;
}

int
journal_append_later(struct journal *j, const struct journal_record *rec)
{
	struct journal_entry *e;
	int rc;

	if (j == NULL || rec == NULL)
		return sd_error_set(SD_E_INVAL, "journal_append_later: NULL argument");
	if (j->readonly)
		return sd_error_set(SD_E_JOURNAL, "journal: opened read-only");
	if (rec->type == JOURNAL_REC_CHECKPOINT)
		return sd_error_set(SD_E_INVAL, "journal_append_later: checkpoints go through journal_append_checkpoint()");
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return SD_E_NOMEM;
	/* The copy is checked against the limits of its type, as journal_append() checks before queueing. */
	if ((rc = journal_record_dup(rec, &e->later)) != 0) {
		free(e);
		return rc;
	}
	e->rec = e->later;
	journal_mutex_lock(&j->queue_lock);
	if (!j->flusher_running && (rc = journal_flusher_start(j)) != 0) {
		journal_mutex_unlock(&j->queue_lock);
		journal_record_free(e->later);
		free(e);
		return rc;
	}
	if (j->queue_tail != NULL)
		j->queue_tail->next = e;
	else
		j->queue_head = e;
	j->queue_tail = e;
	j->later_queued++;
	if (!j->committing)
		(void)pthread_cond_signal(&j->flusher_wake);
	journal_mutex_unlock(&j->queue_lock);
	return 0;
}

void
journal_flush(struct journal *j)
{
	uint64_t target;

	if (j == NULL || j->readonly)
		return;
	journal_mutex_lock(&j->queue_lock);
	target = j->later_queued;
	while (j->later_done < target) {
		/* Commit them now rather than wait for the flusher's pause. */
		if (!j->committing) {
			j->committing = true;
			journal_mutex_unlock(&j->queue_lock);
			journal_commit_round(j, NULL);
			journal_mutex_lock(&j->queue_lock);
			continue;
		}
		j->flush_waiters++;
		(void)pthread_cond_wait(&j->flushed, &j->queue_lock);
		j->flush_waiters--;
	}
	journal_mutex_unlock(&j->queue_lock);
}

void
journal_later_stop(struct journal *j)
{
	bool running;

	journal_flush(j);
	journal_mutex_lock(&j->queue_lock);
	running = j->flusher_running;
	j->flusher_stop = true;
	if (running)
		(void)pthread_cond_signal(&j->flusher_wake);
	journal_mutex_unlock(&j->queue_lock);
	if (!running)
		return;
	if (pthread_join(j->flusher, NULL) != 0)
		abort();
	j->flusher_running = false;
	pthread_cond_destroy(&j->flushed);
	pthread_cond_destroy(&j->flusher_wake);
}
