/*
 * The auditor role's view of the journal (signer_audit_*() in signer.h):
 * records, the latest checkpoint, inclusion proofs, as plain data for api/.
 */
#include <stdlib.h>
#include <string.h>

#include "journal/checkpoint_note.h"
#include "sd_file.h"
#include "signer.h"
#include "signer_journal.h"

void
signer_audit_records_free(struct signer_audit_records *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->items[i].record_b64);
	free(r->items);
	free(r);
}

struct sa_collect {
	struct signer_audit_records *r;
	size_t limit;
};

static int
sa_collect_one(uint64_t key, const uint8_t *raw, size_t len, void *vctx)
{
	struct sa_collect *c = vctx;
	struct signer_audit_record *it;
	struct journal_record *rec = NULL;
	int rc;

	if (c->r->n >= c->limit)
		return 1;	/* enough: stop the walk */
	if ((rc = journal_record_decode(raw, len, &rec)) != 0)
		return rc;
	it = &c->r->items[c->r->n];
	it->seq = key;
	it->type = journal_record_type_name(rec->type);
	it->time_ms = rec->time_ms;
	sd_hex_encode(rec->hash, JOURNAL_HASH_LEN, it->hash_hex);
	sd_hex_encode(rec->leaf_hash, JOURNAL_HASH_LEN, it->leaf_hash_hex);
	journal_record_free(rec);
	if (len > JOURNAL_CERT_MAX * 2 || (it->record_b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return SD_E_NOMEM;
	checkpoint_b64(raw, len, it->record_b64);
	c->r->n++;
	return 0;
}

int
signer_journal_audit_records(struct signer_journal *sj, uint64_t from, size_t limit, struct signer_audit_records **out)
{
	struct signer_audit_records *r = NULL;
	struct sa_collect c;
	int rc;

	*out = NULL;
	if (sj == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if (limit == 0 || limit > SIGNER_AUDIT_RECORDS_MAX)
		return sd_error_set(SD_E_INVAL, "limit must be 1..%d", SIGNER_AUDIT_RECORDS_MAX);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->items = calloc(limit, sizeof(*r->items))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = journal_last_seq(signer_journal_peek(sj), &r->last_seq)) != 0)
		goto out;
	c.r = r;
	c.limit = limit;
	rc = journal_foreach_raw(signer_journal_peek(sj), from == 0 ? 1 : from, sa_collect_one, &c);
	if (rc != 0 && rc != 1)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	signer_audit_records_free(r);
	return rc;
}

int
signer_journal_audit_checkpoint(struct signer_journal *sj, char **note, uint64_t *seq)
{
	struct journal_record *rec = NULL;
	int rc;

	*note = NULL;
	*seq = 0;
	if (sj == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((rc = journal_last_checkpoint(signer_journal_peek(sj), seq)) != 0)
		return rc;
	if (*seq == 0)
		return sd_error_set(SD_E_NOT_FOUND, "the journal holds no checkpoint yet");
	if ((rc = journal_get(signer_journal_peek(sj), *seq, &rec)) != 0)
		return rc;
	*note = rec->note;
	rec->note = NULL;
	journal_record_free(rec);
	return 0;
}

void
signer_audit_proof_free(struct signer_audit_proof *p)
{
	if (p == NULL)
		return;
	free(p->checkpoint);
	free(p);
}

int
signer_journal_audit_proof(struct signer_journal *sj, const char *serial_hex, struct signer_audit_proof **out)
{
	struct signer_audit_proof *p = NULL;
	struct journal_record *rec = NULL;
	uint8_t serial[JOURNAL_SERIAL_MAX], proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN];
	struct journal *j;
	size_t len = 0, i;
	uint64_t result = 0;
	int rc;

	*out = NULL;
	if (sj == NULL || serial_hex == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	j = signer_journal_peek(sj);
	if (sd_hex_decode(serial_hex, serial, sizeof(serial), &len) != 0)
		return sd_error_set(SD_E_INVAL, "serial must be 1..%d bytes of hex", JOURNAL_SERIAL_MAX);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SD_E_NOMEM;
	if ((rc = journal_find_serial(j, serial, len, &p->intent_seq, &result)) != 0)
		goto out;
	p->seq = result != 0 ? result : p->intent_seq;
	if ((rc = signer_journal_audit_checkpoint(sj, &p->checkpoint, &p->checkpoint_seq)) != 0)
		goto out;
	if ((rc = journal_get(j, p->checkpoint_seq, &rec)) != 0)
		goto out;
	p->tree_size = rec->tree_size;
	journal_record_free(rec);
	rec = NULL;
	if (p->seq > p->tree_size) {
		rc = sd_error_set(SD_E_NOT_FOUND, "record %llu is not yet covered by a checkpoint (latest: tree size %llu)",
		    (unsigned long long)p->seq, (unsigned long long)p->tree_size);
		goto out;
	}
	if ((rc = journal_get(j, p->seq, &rec)) != 0)
		goto out;
	sd_hex_encode(rec->leaf_hash, JOURNAL_HASH_LEN, p->leaf_hash_hex);
	if ((rc = journal_inclusion_proof(j, p->seq, p->tree_size, proof, &p->n)) != 0)
		goto out;
	p->leaf_index = p->seq - 1;
	for (i = 0; i < p->n; i++)
		sd_hex_encode(proof[i], JOURNAL_HASH_LEN, p->hashes_hex[i]);
	*out = p;
	p = NULL;
	rc = 0;
out:
	journal_record_free(rec);
	signer_audit_proof_free(p);
	return rc;
}
