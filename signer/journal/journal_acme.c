/*
 * ACME records: account, EAB key and authorization events, journaled so
 * that an auditor can tell which account (and which key) was behind each
 * order. Issuance itself stays intent and result records. Nothing is
 * indexed: the record is all there is.
 */
#include <stdint.h>
#include <string.h>

#include "journal.h"

int
journal_acme_append(struct journal *j, const struct journal_acme *a, uint64_t *seq)
{
	struct journal_record rec;

	if (seq != NULL)
		*seq = 0;
	if (j == NULL || a == NULL || seq == NULL)
		return sd_error_set(SD_E_INVAL, "journal_acme_append: NULL argument");
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_ACME;
	rec.time_ms = a->time_ms;
	rec.acme_event = a->event;
	/* Borrowed for the append: journal_append() encodes and never keeps or frees rec's texts. */
	rec.acme_account = (char *)(uintptr_t)a->account;
	memcpy(rec.acme_key_sha256, a->key_sha256, JOURNAL_HASH_LEN);
	rec.acme_eab_kid = (char *)(uintptr_t)a->eab_kid;
	rec.profile = (char *)(uintptr_t)a->profile;
	rec.actor = (char *)(uintptr_t)a->actor;
	rec.detail = (char *)(uintptr_t)a->detail;
	/* journal_append() checks every field and the event's needs, and returns once the record is durable. */
	return journal_append(j, &rec, seq);
}
