/*
 * signerd's own witness submissions (signer_witness.h, README
 * "Witnesses"). At each checkpoint, each witness gets the add-checkpoint
 * body from the size it last cosigned; once a second the answers
 * signerd-push wrote back are judged here, against the journal: what this
 * process reads of a witness is a bounded file, never a socket.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "push/push.h"
#include "sd_log.h"
#include "sd_metrics.h"
#include "sd_time.h"
#include "signer_witness.h"
#include "witness/witness.h"

struct sw_witness {
	struct witness_target t;
	char dir[PUSH_DIR_MAX];
	bool has_hint;			/* the witness said where it stands (a 409): requests go from there */
	uint64_t hint;
	uint64_t cosigned_size;		/* the newest checkpoint it cosigned, as stored */
	int64_t cosigned_time_ms;	/* that checkpoint's time line; 0: none */
	uint64_t refusals;		/* answers other than 200 and 409, and cosignatures that did not verify */
};

struct signer_witness {
	struct journal *j;
	char *journal_dir;
	pthread_mutex_t lock;		/* checkpoints (any thread), the poll and the metrics */
	struct sw_witness w[CONFIG_PUSH_MAX];
	size_t n;
};

static void
sw_lock(struct signer_witness *sw)
{
	if (pthread_mutex_lock(&sw->lock) != 0)
		abort();
}

static void
sw_unlock(struct signer_witness *sw)
{
	if (pthread_mutex_unlock(&sw->lock) != 0)
		abort();
}

/* The stored cosigned checkpoint of w: its size and time, for the metrics (none: 0). */
static void
sw_load_stored(struct signer_witness *sw, struct sw_witness *w)
{
	char note[WITNESS_NOTE_MAX + 1];
	struct witness_note wn;
	struct checkpoint cp;
	size_t len = 0;

	w->cosigned_size = 0;
	w->cosigned_time_ms = 0;
	if (witness_store_get(sw->journal_dir, w->t.vk.name, note, sizeof(note), &len) != 0 || len == 0 ||
	    witness_note_parse(note, len, &wn) != 0) {
		sd_error_clear();
		return;
	}
	/* The checkpoint alone (its text and the log's line), as checkpoint_parse() takes it. */
	if (checkpoint_parse(note, (size_t)(wn.sigs[0].line - note) + wn.sigs[0].line_len, &cp) != 0) {
		sd_error_clear();
		return;
	}
	w->cosigned_size = cp.size;
	w->cosigned_time_ms = cp.time_ms;
}

int
signer_witness_open(const struct sd_config *cfg, struct journal *j, struct signer_witness **out)
{
	struct signer_witness *sw;
	size_t i, k;
	int rc;

	*out = NULL;
	if (cfg->n_journal_witness == 0)
		return 0;
	if (cfg->n_journal_witness > CONFIG_PUSH_MAX)
		return sd_error_set(SD_E_CONFIG, "more than %d witnesses", CONFIG_PUSH_MAX);
	if ((sw = calloc(1, sizeof(*sw))) == NULL)
		return SD_E_NOMEM;
	if (pthread_mutex_init(&sw->lock, NULL) != 0) {
		free(sw);
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	sw->j = j;
	if ((sw->journal_dir = strdup(cfg->journal_path)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < cfg->n_journal_witness; i++, sw->n++) {
		struct sw_witness *w = &sw->w[i];

		if ((rc = witness_target_parse(cfg->journal_witness[i], &w->t)) != 0) {
			rc = sd_error_set(SD_E_CONFIG, "[journal] witness: %s", sd_error_detail(rc));
			goto out;
		}
		/* One directory per URL in the spool: a receiver and a witness may not share one. */
		for (k = 0; k < cfg->n_journal_checkpoint_url; k++)
			if (strcmp(cfg->journal_checkpoint_url[k], w->t.url) == 0) {
				rc = sd_error_set(SD_E_CONFIG, "[journal] %s is both a checkpoint_url and witness %s's "
				    "add-checkpoint", w->t.url, w->t.vk.name);
				goto out;
			}
		if ((rc = push_exchange_prepare(cfg->journal_checkpoint_spool, w->t.url, w->dir, sizeof(w->dir))) != 0)
			goto out;
		sw_load_stored(sw, w);
	}
	*out = sw;
	return 0;
out:
	signer_witness_free(sw);
	return rc;
}

void
signer_witness_free(struct signer_witness *sw)
{
	if (sw == NULL)
		return;
	free(sw->journal_dir);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}

/* Put the request for note (tree size size) to w, from where w stands; older requests go. Lock held. */
static void
sw_request(struct signer_witness *sw, struct sw_witness *w, const char *note, const char *origin, uint64_t size)
{
	uint64_t old = 0, *sizes = NULL;
	size_t len = 0, n = 0, i;
	char *body = NULL;
	int rc;

	if (w->has_hint)
		old = w->hint;
	else if ((rc = witness_stored_size(sw->journal_dir, w->t.vk.name, origin, &old)) != 0)
		goto fail;
	/* A witness past this checkpoint answers 409 with its size, which poll judges. */
	if (old > size)
		old = 0;
	if ((rc = witness_request_make(sw->j, note, size, old, &body, &len)) != 0 ||
	    (rc = push_exchange_put(w->dir, size, PUSH_REQUEST, body, len)) != 0)
		goto fail;
	free(body);
	if (push_exchange_list(w->dir, PUSH_REQUEST, &sizes, &n) == 0)
		for (i = 0; i < n; i++)
			if (sizes[i] < size && (rc = push_exchange_remove(w->dir, sizes[i], PUSH_REQUEST)) != 0)
				sd_log(SD_LOG_WARN, "witness %s: %s", w->t.vk.name, sd_error_detail(rc));
	free(sizes);
	sd_error_clear();
	return;
fail:
	free(body);
	sd_log(SD_LOG_ERROR, "witness %s: tree size %" PRIu64 " not submitted: %s", w->t.vk.name, size,
	    sd_error_detail(rc));
}

void
signer_witness_checkpoint(struct signer_witness *sw, const char *note)
{
	struct checkpoint cp;
	size_t i;
	int rc;

	if (sw == NULL)
		return;
	if ((rc = checkpoint_parse(note, strlen(note), &cp)) != 0) {
		sd_log(SD_LOG_ERROR, "witnesses: a checkpoint that does not parse: %s", sd_error_detail(rc));
		return;
	}
	sw_lock(sw);
	for (i = 0; i < sw->n; i++)
		sw_request(sw, &sw->w[i], note, cp.origin, cp.size);
	sw_unlock(sw);
}

/* The journal's checkpoint of tree size (record size + 1), or its newest (size UINT64_MAX). */
static int
sw_checkpoint_get(struct signer_witness *sw, uint64_t size, struct journal_record **rec, struct checkpoint *cp)
{
	uint64_t seq = size + 1;
	int rc;

	*rec = NULL;
	if (size == UINT64_MAX && (rc = journal_last_checkpoint(sw->j, &seq)) != 0)
		return rc;
	if (seq == 0)
		return sd_error_set(SD_E_NOT_FOUND, "the journal holds no checkpoint");
	if ((rc = journal_get(sw->j, seq, rec)) != 0)
		return rc;
	if ((*rec)->note == NULL || checkpoint_parse((*rec)->note, strlen((*rec)->note), cp) != 0 ||
	    (size != UINT64_MAX && cp->size != size)) {
		journal_record_free(*rec);
		*rec = NULL;
		return sd_error_set(SD_E_NOT_FOUND, "record %" PRIu64 " is not the checkpoint of tree size %" PRIu64,
		    seq, size);
	}
	return 0;
}

/* A 200: the cosignature, verified with w's key on the journal's own checkpoint of that size, stored. */
static void
sw_cosigned(struct signer_witness *sw, struct sw_witness *w, uint64_t size, const char *body, size_t len)
{
	struct journal_record *rec = NULL;
	struct checkpoint cp;
	uint64_t when = 0;
	int rc;

	if ((rc = sw_checkpoint_get(sw, size, &rec, &cp)) != 0 ||
	    (rc = witness_answer_store(sw->journal_dir, &w->t.vk, rec->note, body, len, &when)) != 0) {
		w->refusals++;
		sd_log(SD_LOG_ERROR, "witness %s: its answer for tree size %" PRIu64 " is not kept: %s", w->t.vk.name,
		    size, sd_error_detail(rc));
		journal_record_free(rec);
		return;
	}
	w->has_hint = false;
	if (size >= w->cosigned_size) {
		w->cosigned_size = size;
		w->cosigned_time_ms = cp.time_ms;
	}
	{
		const struct sd_log_field f[] = {
			SD_LOG_STR("witness", w->t.vk.name),
			SD_LOG_NUM("tree_size", size),
			SD_LOG_NUM("cosigned_at", when),
		};
		sd_log_fields(SD_LOG_INFO, "witness: checkpoint cosigned", f, sizeof(f) / sizeof(f[0]));
	}
	journal_record_free(rec);
}

/* A 409: the witness stands at another size; the newest checkpoint again, from there (once per size). */
static void
sw_conflict(struct signer_witness *sw, struct sw_witness *w, uint64_t size, const char *body, size_t len)
{
	struct journal_record *rec = NULL;
	struct checkpoint cp;
	uint64_t at;
	int rc;

	if (witness_size_parse(body, len, &at) != 0) {
		w->refusals++;
		sd_log(SD_LOG_ERROR, "witness %s: 409 for tree size %" PRIu64 " without a tree size", w->t.vk.name, size);
		return;
	}
	if ((rc = sw_checkpoint_get(sw, UINT64_MAX, &rec, &cp)) != 0) {
		sd_log(SD_LOG_ERROR, "witness %s: %s", w->t.vk.name, sd_error_detail(rc));
		return;
	}
	if (at > cp.size) {
		w->refusals++;
		sd_log(SD_LOG_ERROR, "witness %s cosigned tree size %" PRIu64 ", over the journal's newest checkpoint "
		    "(%" PRIu64 "): records lost, or another log under the origin %s", w->t.vk.name, at, cp.size,
		    cp.origin);
	} else if (w->has_hint && w->hint == at) {
		w->refusals++;
		sd_log(SD_LOG_ERROR, "witness %s: 409 again at tree size %" PRIu64 "; the next checkpoint tries again",
		    w->t.vk.name, at);
	} else {
		w->has_hint = true;
		w->hint = at;
		sw_request(sw, w, rec->note, cp.origin, cp.size);
	}
	journal_record_free(rec);
}

/* Judge one answer file of w (its status line, then the witness's body). Lock held. */
static void
sw_answer(struct signer_witness *sw, struct sw_witness *w, uint64_t size)
{
	char *text, first[128];
	size_t len = 0;
	unsigned status;
	int rc;

	if ((text = malloc(PUSH_EXCHANGE_MAX)) == NULL) {
		sd_log(SD_LOG_ERROR, "witness %s: %s", w->t.vk.name, sd_error_detail(SD_E_NOMEM));
		return;
	}
	rc = push_exchange_get(w->dir, size, PUSH_ANSWER, text, PUSH_EXCHANGE_MAX, &len);
	/* "NNN\n", as signerd-push writes it. */
	if (rc == 0 && (len < 4 || text[3] != '\n' || text[0] < '1' || text[0] > '5' || text[1] < '0' ||
	    text[1] > '9' || text[2] < '0' || text[2] > '9'))
		rc = sd_error_set(SD_E_INVAL, "an answer file without a status line");
	status = rc == 0 ? (unsigned)(text[0] - '0') * 100 + (unsigned)(text[1] - '0') * 10 + (unsigned)(text[2] - '0') : 0;
	if (rc != 0) {
		sd_log(SD_LOG_ERROR, "witness %s: %s", w->t.vk.name, sd_error_detail(rc));
	} else if (status == 200) {
		sw_cosigned(sw, w, size, text + 4, len - 4);
	} else if (status == 409) {
		sw_conflict(sw, w, size, text + 4, len - 4);
	} else {
		w->refusals++;
		witness_first_line(text + 4, len - 4, first, sizeof(first));
		sd_log(SD_LOG_ERROR, "witness %s refused tree size %" PRIu64 " with %u%s%s%s", w->t.vk.name, size, status,
		    first[0] != '\0' ? ": " : "", first, status == 422 ? " (not consistent with what it cosigned "
		    "before: this journal's history differs from the one it saw)" : "");
	}
	if ((rc = push_exchange_remove(w->dir, size, PUSH_ANSWER)) != 0)
		sd_log(SD_LOG_ERROR, "witness %s: %s", w->t.vk.name, sd_error_detail(rc));
	free(text);
}

void
signer_witness_poll(struct signer_witness *sw)
{
	uint64_t *sizes;
	size_t n, i, k;
	int rc;

	if (sw == NULL)
		return;
	sw_lock(sw);
	for (i = 0; i < sw->n; i++) {
		sizes = NULL;
		n = 0;
		if ((rc = push_exchange_list(sw->w[i].dir, PUSH_ANSWER, &sizes, &n)) != 0)
			sd_log(SD_LOG_ERROR, "witness %s: %s", sw->w[i].t.vk.name, sd_error_detail(rc));
		for (k = 0; k < n; k++)
			sw_answer(sw, &sw->w[i], sizes[k]);
		free(sizes);
	}
	sw_unlock(sw);
	sd_error_clear();
}

void
signer_witness_metrics_text(struct signer_witness *sw, struct sd_metrics_text *t)
{
	int64_t now_ms;
	size_t i;

	if (sw == NULL)
		return;
	now_ms = sd_time_now_ms();
	sw_lock(sw);
	sd_metrics_family(t, "signerd_witness_cosigned_tree_size", "gauge",
	    "Tree size of the newest checkpoint the witness cosigned, as stored beside the journal.");
	for (i = 0; i < sw->n; i++) {
		sd_metrics_printf(t, "signerd_witness_cosigned_tree_size{witness=\"");
		sd_metrics_label(t, sw->w[i].t.vk.name);
		sd_metrics_printf(t, "\"} %" PRIu64 "\n", sw->w[i].cosigned_size);
	}
	sd_metrics_family(t, "signerd_witness_cosigned_age_seconds", "gauge",
	    "Now minus the time line of the newest checkpoint the witness cosigned (absent: none yet).");
	for (i = 0; i < sw->n; i++) {
		if (sw->w[i].cosigned_time_ms == 0)
			continue;
		sd_metrics_printf(t, "signerd_witness_cosigned_age_seconds{witness=\"");
		sd_metrics_label(t, sw->w[i].t.vk.name);
		sd_metrics_printf(t, "\"} %.3f\n", (double)(now_ms - sw->w[i].cosigned_time_ms) / 1000.0);
	}
	sd_metrics_family(t, "signerd_witness_refusals_total", "counter",
	    "Answers of the witness other than a cosignature or a 409, and cosignatures that did not verify.");
	for (i = 0; i < sw->n; i++) {
		sd_metrics_printf(t, "signerd_witness_refusals_total{witness=\"");
		sd_metrics_label(t, sw->w[i].t.vk.name);
		sd_metrics_printf(t, "\"} %" PRIu64 "\n", sw->w[i].refusals);
	}
	sw_unlock(sw);
}
