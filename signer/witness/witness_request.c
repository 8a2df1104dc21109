/*
 * The log's side of add-checkpoint without the network (witness.h): the
 * request body for a checkpoint of the journal, the size a witness stands
 * at, and the cosignature of an answer checked and stored. Both submitters
 * use it: signerctl audit witness submit (with libcurl, witness_submit.c)
 * and signerd itself, whose signerd-push carries the bodies and answers
 * (README "Witnesses"); libcurl stays out of this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "witness.h"

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

int
witness_request_make(struct journal *j, const char *note, uint64_t size, uint64_t old, char **body, size_t *len)
{
	uint8_t proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN];
	char b64[64], *out;
	size_t n = 0, i, at, cap, note_len = strlen(note);
	int rc, m;

	*body = NULL;
	*len = 0;
	if (old > size)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "a proof from tree size %" PRIu64 " to %" PRIu64 ": the "
		    "witness is past this checkpoint", old, size);
	if (old > 0 && old < size && (rc = journal_consistency_proof(j, old, size, proof, &n)) != 0)
		return rc;
	if (n > WITNESS_PROOF_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "a proof of %zu hashes (the protocol takes %d)", n, WITNESS_PROOF_MAX);
	cap = 32 + n * 46 + 1 + note_len + 1;
	if ((out = malloc(cap)) == NULL)
		return SD_E_NOMEM;
	m = snprintf(out, cap, "old %" PRIu64 "\n", old);
	at = m > 0 ? (size_t)m : 0;
	for (i = 0; i < n; i++) {
		checkpoint_b64(proof[i], JOURNAL_HASH_LEN, b64);
		m = snprintf(out + at, cap - at, "%s\n", b64);
		at += m > 0 ? (size_t)m : 0;
	}
	m = snprintf(out + at, cap - at, "\n%s", note);
	if (m < 0 || (size_t)m >= cap - at) {
		free(out);
		return sd_error_set(SD_E_INTERNAL, "add-checkpoint request truncated");
	}
	*body = out;
	*len = at + (size_t)m;
	return 0;
}

int
witness_stored_size(const char *journal_dir, const char *name, const char *origin, uint64_t *size)
{
	char prev[WITNESS_NOTE_MAX + 1];
	struct witness_checkpoint pcp;
	struct witness_note pn;
	size_t prev_len = 0;
	int rc;

	*size = 0;
	if ((rc = witness_store_get(journal_dir, name, prev, sizeof(prev), &prev_len)) != 0)
		return rc;
	if (prev_len > 0 && witness_note_parse(prev, prev_len, &pn) == 0 &&
	    witness_checkpoint_parse(prev, pn.text_len, &pcp) == 0 && strcmp(pcp.origin, origin) == 0)
		*size = pcp.size;
	return 0;
}

int
witness_size_parse(const char *text, size_t len, uint64_t *size)
{
	if (len < 2 || text[len - 1] != '\n' || checkpoint_u64(text, len - 1, size) != 0)
		return sd_error_set(SD_E_INVAL, "not a tree size line");
	return 0;
}

int
witness_answer_store(const char *journal_dir, const struct witness_vkey *vk, const char *note, const char *answer,
    size_t answer_len, uint64_t *time)
{
	struct witness_note wn, fn;
	size_t note_len = strlen(note), full_len = note_len + answer_len, len, k;
	char *full;
	int rc;

	*time = 0;
	if ((rc = witness_note_parse(note, note_len, &wn)) != 0)
		return rc;
	/* The answer is signature lines: with the note, a note whose witness line must verify. */
	if (answer_len == 0 || answer[answer_len - 1] != '\n' || memchr(answer, '\0', answer_len) != NULL ||
	    full_len > WITNESS_NOTE_MAX)
		return sd_error_set(SD_E_INVAL, "the answer of %s is not signature lines", vk->name);
	if ((full = malloc(full_len + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(full, note, note_len);
	memcpy(full + note_len, answer, answer_len);
	full[full_len] = '\0';
	if ((rc = witness_note_parse(full, full_len, &fn)) != 0 || (rc = witness_cosig_verify(full, &fn, vk, time)) != 0)
		goto out;
	/* Keep the note and this witness's lines only. */
	len = note_len;
	for (k = wn.nsigs; k < fn.nsigs; k++) {
		if (fn.sigs[k].name_len != strlen(vk->name) || memcmp(fn.sigs[k].name, vk->name, fn.sigs[k].name_len) != 0)
			continue;
		memmove(full + len, fn.sigs[k].line, fn.sigs[k].line_len);
		len += fn.sigs[k].line_len;
	}
	rc = witness_store_put(journal_dir, vk->name, full, len);
out:
	free(full);
	return rc;
}

void
witness_first_line(const char *body, size_t len, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap && body[i] != '\n'; i++)
		out[i] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
	out[i] = '\0';
}
