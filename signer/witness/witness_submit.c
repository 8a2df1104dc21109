/*
 * The log's side of add-checkpoint (witness.h): the journal's newest
 * checkpoint, with a consistency proof from the size the witness last
 * cosigned, POSTed with libcurl; a 409 names the witness's size, and the
 * proof is made again from there (the journal holds the whole tree, so any
 * older size will do). The cosignature is verified with the configured
 * witness key before it is stored.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "witness.h"

#define WSB_TIMEOUT_S 10L
#define WSB_ANSWER_MAX (64 * 1024)
#define WSB_TRIES 3

struct wsb_answer {
	char *buf;
	size_t len;
	bool over;
};

static size_t
wsb_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct wsb_answer *a = ctx;
	size_t n = size * nmemb;
	char *grown;

	if (a->over || n > WSB_ANSWER_MAX - a->len) {
		a->over = true;
		return 0;
	}
	if ((grown = realloc(a->buf, a->len + n + 1)) == NULL)
		return 0;
	a->buf = grown;
	memcpy(a->buf + a->len, data, n);
	a->len += n;
	a->buf[a->len] = '\0';
	return n;
}

/* POST body to url: the status and the answer (a->buf, free()). */
static int
wsb_post(const char *url, const char *body, size_t len, long *status, struct wsb_answer *a)
{
	struct curl_slist *headers = NULL;
	CURLcode cc;
	CURL *c;
	int rc = 0;

	*status = 0;
	memset(a, 0, sizeof(*a));
	if ((c = curl_easy_init()) == NULL)
		return sd_error_set(SD_E_INTERNAL, "libcurl: cannot make a handle");
	if ((headers = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8")) == NULL) {
		curl_easy_cleanup(c);
		return SD_E_NOMEM;
	}
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, WSB_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wsb_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, a) != CURLE_OK) {
		rc = sd_error_set(SD_E_INTERNAL, "libcurl: cannot set up the request");
		goto out;
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		rc = sd_error_set(SD_E_IO, "%s: %s", url, a->over ? "answer too large" : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) != CURLE_OK)
		rc = sd_error_set(SD_E_IO, "%s: no status", url);
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (rc != 0) {
		free(a->buf);
		memset(a, 0, sizeof(*a));
	}
	return rc;
}

int
witness_submit(struct journal *j, const char *journal_dir, const struct witness_target *t, uint64_t *size_out,
    uint64_t *time_out)
{
	struct journal_record *rec = NULL;
	char *body = NULL, first[128];
	struct witness_checkpoint cp;
	struct witness_note wn;
	struct wsb_answer a = { NULL, 0, false };
	size_t len;
	uint64_t seq = 0, old = 0, t_cosig = 0;
	long status = 0;
	int rc, tries;

	*size_out = 0;
	*time_out = 0;
	if ((rc = journal_last_checkpoint(j, &seq)) != 0)
		return rc;
	if (seq == 0)
		return sd_error_set(SD_E_NOT_FOUND, "the journal holds no checkpoint yet");
	if ((rc = journal_get(j, seq, &rec)) != 0)
		return rc;
	if ((rc = witness_note_parse(rec->note, strlen(rec->note), &wn)) != 0 ||
	    (rc = witness_checkpoint_parse(rec->note, wn.text_len, &cp)) != 0)
		goto out;
	/* Where the witness should be: the last checkpoint it cosigned for us (0: none, forgotten, or past ours). */
	if ((rc = witness_stored_size(journal_dir, t->vk.name, cp.origin, &old)) != 0)
		goto out;
	if (old > cp.size)
		old = 0;
	for (tries = 1;; tries++) {
		free(body);
		body = NULL;
		if ((rc = witness_request_make(j, rec->note, cp.size, old, &body, &len)) != 0)
			goto out;
		free(a.buf);
		a.buf = NULL;
		if ((rc = wsb_post(t->url, body, len, &status, &a)) != 0)
			goto out;
		if (status != 409 || tries == WSB_TRIES)
			break;
		/* The witness is elsewhere: from its size, if the journal's tree has it. */
		if (a.buf == NULL || witness_size_parse(a.buf, a.len, &old) != 0) {
			rc = sd_error_set(SD_E_INVAL, "%s: 409 without a tree size", t->url);
			goto out;
		}
		if (old > cp.size) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s cosigned tree size %" PRIu64 ", over the journal's newest "
			    "checkpoint (%" PRIu64 "): records lost, or another log under the origin %s", t->vk.name, old,
			    cp.size, cp.origin);
			goto out;
		}
	}
	if (status != 200) {
		witness_first_line(a.buf, a.buf != NULL ? a.len : 0, first, sizeof(first));
		rc = sd_error_set(status == 409 || status == 422 ? SD_E_JOURNAL_CORRUPT : SD_E_IO,
		    "%s answered %ld%s%s", t->url, status, first[0] != '\0' ? ": " : "", first);
		goto out;
	}
	if ((rc = witness_answer_store(journal_dir, &t->vk, rec->note, a.buf != NULL ? a.buf : "", a.len, &t_cosig)) != 0)
		goto out;
	*size_out = cp.size;
	*time_out = t_cosig;
out:
	free(a.buf);
	free(body);
	journal_record_free(rec);
	return rc;
}
