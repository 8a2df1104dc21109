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

int
witness_target_parse(const char *item, struct witness_target *t)
{
	const char *sp = strchr(item, ' ');
	size_t ulen;
	int rc;

	memset(t, 0, sizeof(*t));
	if (sp == NULL)
		return sd_error_set(SD_E_INVAL, "witness '%s': not \"VKEY URL\"", item);
	if ((rc = witness_vkey_parse(item, (size_t)(sp - item), &t->vk)) != 0)
		return rc;
	if (t->vk.type != WITNESS_TYPE_COSIG)
		return sd_error_set(SD_E_UNSUPPORTED, "witness %s: its vkey is not of a cosignature key (type 04)", t->vk.name);
	while (*sp == ' ')
		sp++;
	ulen = strlen(sp);
	while (ulen > 0 && sp[ulen - 1] == '/')
		ulen--;
	if ((strncmp(sp, "http://", 7) != 0 && strncmp(sp, "https://", 8) != 0) || strpbrk(sp, " \t") != NULL ||
	    ulen + sizeof("/add-checkpoint") > sizeof(t->url))
		return sd_error_set(SD_E_INVAL, "witness %s: '%s' is not an http:// or https:// URL prefix", t->vk.name, sp);
	memcpy(t->url, sp, ulen);
	memcpy(t->url + ulen, "/add-checkpoint", sizeof("/add-checkpoint"));
	return 0;
}

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

/* The size a 409 names: "N\n". */
static int
wsb_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\n' || end[1] != '\0')
		return -1;
	*out = v;
	return 0;
}

/* The first line of an answer, for a message. */
static void
wsb_first_line(const struct wsb_answer *a, char *out, size_t cap)
{
	size_t i;

	for (i = 0; a->buf != NULL && i < a->len && i + 1 < cap && a->buf[i] != '\n'; i++) {
		if (a->buf[i] >= 0x20 && a->buf[i] < 0x7f)
			out[i] = a->buf[i];
		else
			out[i] = '?';
	}
	out[i] = '\0';
}

int
witness_submit(struct journal *j, const char *journal_dir, const struct witness_target *t, uint64_t *size_out,
    uint64_t *time_out)
{
	struct journal_record *rec = NULL;
	uint8_t proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN];
	char *body = NULL, *full = NULL, b64[64], first[128], prev[WITNESS_NOTE_MAX + 1];
	struct witness_checkpoint cp, pcp;
	struct witness_note wn, pn, fn;
	struct wsb_answer a = { NULL, 0, false };
	size_t n, i, len, cap, prev_len = 0, note_len, full_len, k;
	uint64_t seq = 0, old = 0, t_cosig = 0;
	long status = 0;
	int rc, tries, m;

	*size_out = 0;
	*time_out = 0;
	if ((rc = journal_last_checkpoint(j, &seq)) != 0)
		return rc;
	if (seq == 0)
		return sd_error_set(SD_E_NOT_FOUND, "the journal holds no checkpoint yet");
	if ((rc = journal_get(j, seq, &rec)) != 0)
		return rc;
	note_len = strlen(rec->note);
	if ((rc = witness_note_parse(rec->note, note_len, &wn)) != 0 ||
	    (rc = witness_checkpoint_parse(rec->note, wn.text_len, &cp)) != 0)
		goto out;
	/* Where the witness should be: the last checkpoint it cosigned for us (0: none, or forgotten). */
	if ((rc = witness_store_get(journal_dir, t->vk.name, prev, sizeof(prev), &prev_len)) != 0)
		goto out;
	if (prev_len > 0 && witness_note_parse(prev, prev_len, &pn) == 0 &&
	    witness_checkpoint_parse(prev, pn.text_len, &pcp) == 0 && strcmp(pcp.origin, cp.origin) == 0 &&
	    pcp.size <= cp.size)
		old = pcp.size;
	cap = 32 + (size_t)WITNESS_PROOF_MAX * 46 + 1 + note_len + 1;
	if ((body = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (tries = 1;; tries++) {
		n = 0;
		if (old > 0 && old < cp.size && (rc = journal_consistency_proof(j, old, cp.size, proof, &n)) != 0)
			goto out;
		if (n > WITNESS_PROOF_MAX) {
			rc = sd_error_set(SD_E_TOO_LARGE, "a proof of %zu hashes (the protocol takes %d)", n, WITNESS_PROOF_MAX);
			goto out;
		}
		m = snprintf(body, cap, "old %" PRIu64 "\n", old);
		len = m > 0 ? (size_t)m : 0;
		for (i = 0; i < n; i++) {
			checkpoint_b64(proof[i], JOURNAL_HASH_LEN, b64);
			m = snprintf(body + len, cap - len, "%s\n", b64);
			len += m > 0 ? (size_t)m : 0;
		}
		m = snprintf(body + len, cap - len, "\n%s", rec->note);
		if (m < 0 || (size_t)m >= cap - len) {
			rc = sd_error_set(SD_E_INTERNAL, "request truncated");
			goto out;
		}
		len += (size_t)m;
		free(a.buf);
		if ((rc = wsb_post(t->url, body, len, &status, &a)) != 0)
			goto out;
		if (status != 409 || tries == WSB_TRIES)
			break;
		/* The witness is elsewhere: from its size, if the journal's tree has it. */
		if (wsb_size(a.buf, &old) != 0) {
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
		wsb_first_line(&a, first, sizeof(first));
		rc = sd_error_set(status == 409 || status == 422 ? SD_E_JOURNAL_CORRUPT : SD_E_IO,
		    "%s answered %ld%s%s", t->url, status, first[0] != '\0' ? ": " : "", first);
		goto out;
	}
	/* The answer is signature lines: with the note, a note whose witness line must verify. */
	full_len = note_len + a.len;
	if (a.len == 0 || a.buf[a.len - 1] != '\n' || full_len > WITNESS_NOTE_MAX) {
		rc = sd_error_set(SD_E_INVAL, "%s: the answer is not signature lines", t->url);
		goto out;
	}
	if ((full = malloc(full_len + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(full, rec->note, note_len);
	memcpy(full + note_len, a.buf, a.len);
	full[full_len] = '\0';
	if ((rc = witness_note_parse(full, full_len, &fn)) != 0 || (rc = witness_cosig_verify(full, &fn, &t->vk, &t_cosig)) != 0)
		goto out;
	/* Keep the note and this witness's lines only. */
	len = note_len;
	for (k = wn.nsigs; k < fn.nsigs; k++) {
		if (fn.sigs[k].name_len != strlen(t->vk.name) || memcmp(fn.sigs[k].name, t->vk.name, fn.sigs[k].name_len) != 0)
			continue;
		memmove(full + len, fn.sigs[k].line, fn.sigs[k].line_len);
		len += fn.sigs[k].line_len;
	}
	if ((rc = witness_store_put(journal_dir, t->vk.name, full, len)) != 0)
		goto out;
	*size_out = cp.size;
	*time_out = t_cosig;
out:
	free(a.buf);
	free(body);
	free(full);
	journal_record_free(rec);
	return rc;
}
