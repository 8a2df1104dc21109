/*
 * The auditor's walk over encoded records (README "Journal format",
 * "Auditing"): decode, sequence, hash chain, Merkle tree, checkpoints and
 * their signatures, intent/result pairing (an intent-tbs's certificate carries exactly its TBS; an
 * unresolved record closes an intent instead), CRL numbers that only grow. No LMDB: the same code checks a
 * live journal (journal_read.c feeds it) and a JSON-lines export (signerctl).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/der.h"
#include "checkpoint_note.h"
#include "journal.h"
#include "journal_internal.h"
#include "merkle.h"

struct js_intent {
	uint64_t seq;
	uint8_t serial[JOURNAL_SERIAL_MAX];
	size_t serial_len;
	uint8_t tbs_sha256[JOURNAL_HASH_LEN];
	bool whole_tbs;		/* an intent-tbs: its result's TBS must hash to tbs_sha256 */
};

struct journal_stream {
	bool have_key;
	uint8_t key[32];
	char *key_name;
	uint64_t expect;			/* next seq */
	uint8_t prev_hash[JOURNAL_HASH_LEN];
	struct merkle_frontier tree;
	uint8_t nodes[MERKLE_LEVELS][MERKLE_HASH_LEN];
	unsigned n_nodes;
	/* A prev_hash mismatch at pending_seq, decided by the next record. */
	bool pending;
	uint64_t pending_seq;
	uint8_t pending_hash[JOURNAL_HASH_LEN];
	bool failed;
	uint64_t tail_seq;
	uint8_t tail_hash[JOURNAL_HASH_LEN];
	uint64_t want_size;
	bool have_want;
	uint8_t want_root[JOURNAL_HASH_LEN];
	/* The last CRL record so far (0: none): each CRL's number must exceed it. */
	uint64_t crl_seq, crl_number;
	/* Intents without a result so far, in seq order. */
	struct js_intent *open;
	size_t n_open, cap_open;
	struct journal_verify_report rep;
};

int
journal_stream_new(const struct journal_audit_key *key, struct journal_stream **out)
{
	struct journal_stream *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SD_E_NOMEM;
	s->expect = 1;
	merkle_frontier_init(&s->tree);
	if (key != NULL) {
		s->have_key = true;
		memcpy(s->key, key->ed25519, 32);
		if (key->name != NULL && (s->key_name = strdup(key->name)) == NULL) {
			free(s);
			return SD_E_NOMEM;
		}
	}
	*out = s;
	return 0;
}

void
journal_stream_free(struct journal_stream *s)
{
	if (s == NULL)
		return;
	free(s->open);
	free(s->key_name);
	free(s);
}

void
journal_stream_set_tail(struct journal_stream *s, uint64_t seq, const uint8_t hash[JOURNAL_HASH_LEN])
{
	s->tail_seq = seq;
	memcpy(s->tail_hash, hash, JOURNAL_HASH_LEN);
}

void
journal_stream_want_root(struct journal_stream *s, uint64_t size)
{
	s->want_size = size;
	s->have_want = false;
}

int
journal_stream_root(const struct journal_stream *s, uint8_t root[JOURNAL_HASH_LEN])
{
	if (!s->have_want)
		return sd_error_set(SD_E_NOT_FOUND, "the journal has fewer than %llu records",
		    (unsigned long long)s->want_size);
	memcpy(root, s->want_root, JOURNAL_HASH_LEN);
	return 0;
}

void
journal_stream_nodes(const struct journal_stream *s, const uint8_t (**nodes)[JOURNAL_HASH_LEN], unsigned *n)
{
	*nodes = (const uint8_t (*)[JOURNAL_HASH_LEN])s->nodes;
	*n = s->n_nodes;
}

void
journal_stream_report(const struct journal_stream *s, struct journal_verify_report *r)
{
	*r = s->rep;
	r->open_intents = s->n_open;
	r->first_open_intent = s->n_open > 0 ? s->open[0].seq : 0;
}

static int
js_fail(struct journal_stream *s, uint64_t bad)
{
	s->failed = true;
	s->rep.bad_seq = bad;
	return SD_E_JOURNAL_CORRUPT;
}

/* Decide the chain break at pending_seq; next is the record after it, or NULL at the end. */
static int
js_break(struct journal_stream *s, const struct journal_record *next)
{
	unsigned long long n = s->pending_seq;

	if (next != NULL && memcmp(next->prev_hash, s->pending_hash, JOURNAL_HASH_LEN) == 0) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: its hash no longer matches the prev_hash in record %llu", n - 1, n);
		return js_fail(s, n - 1);
	}
	if (next != NULL) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: it chains neither to record %llu nor from record %llu", n, n - 1, n + 1);
		return js_fail(s, n);
	}
	if (s->tail_seq == n && memcmp(s->tail_hash, s->pending_hash, JOURNAL_HASH_LEN) != 0) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: it differs from the record this process appended", n);
		return js_fail(s, n);
	}
	if (s->tail_seq == n) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu modified: its hash no longer matches the prev_hash in record %llu", n - 1, n);
		return js_fail(s, n - 1);
	}
	sd_error_set(SD_E_JOURNAL_CORRUPT,
	    "record %llu or record %llu modified: the hash of %llu does not match the prev_hash in %llu", n - 1, n,
	    n - 1, n);
	return js_fail(s, n - 1);
}

/* Index in open of seq, or where it would go. */
static size_t
js_open_find(const struct journal_stream *s, uint64_t seq)
{
	size_t lo = 0, hi = s->n_open, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->open[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
js_intent(struct journal_stream *s, const struct journal_record *rec)
{
	struct js_intent *grown;
	size_t cap;

	if (s->n_open == s->cap_open) {
		cap = s->cap_open == 0 ? 64 : s->cap_open * 2;
		if (cap > SIZE_MAX / sizeof(*grown) || (grown = realloc(s->open, cap * sizeof(*grown))) == NULL)
			return SD_E_NOMEM;
		s->open = grown;
		s->cap_open = cap;
	}
	/* Seqs only grow, so appending keeps the array sorted. */
	s->open[s->n_open].seq = rec->seq;
	memcpy(s->open[s->n_open].serial, rec->serial, rec->serial_len);
	s->open[s->n_open].serial_len = rec->serial_len;
	memcpy(s->open[s->n_open].tbs_sha256, rec->tbs_sha256, JOURNAL_HASH_LEN);
	s->open[s->n_open].whole_tbs = rec->type == JOURNAL_REC_INTENT_TBS;
	s->n_open++;
	return 0;
}

/* The open intent that rec (a result or an unresolved record) closes, or s->n_open after failing. */
static size_t
js_closing(struct journal_stream *s, const struct journal_record *rec, const char *what)
{
	size_t i = js_open_find(s, rec->intent_seq);
	unsigned long long seq = rec->seq, in = rec->intent_seq;

	if (rec->intent_seq >= rec->seq || i == s->n_open || s->open[i].seq != rec->intent_seq) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu: %s for record %llu, which is not an open intent (missing, not an intent, "
		    "already completed, or reordered)", seq, what, in);
		(void)js_fail(s, rec->seq);
		return s->n_open;
	}
	if (s->open[i].serial_len != rec->serial_len || memcmp(s->open[i].serial, rec->serial, rec->serial_len) != 0) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: %s serial differs from intent %llu's", seq, what, in);
		(void)js_fail(s, rec->seq);
		return s->n_open;
	}
	return i;
}

static void
js_close(struct journal_stream *s, size_t i)
{
	memmove(&s->open[i], &s->open[i + 1], (s->n_open - i - 1) * sizeof(s->open[0]));
	s->n_open--;
}

/* SHA-256 of the TBSCertificate inside a certificate's DER. */
static int
js_cert_tbs_sha256(const uint8_t *der, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	struct der_tlv cert, tbs;
	const uint8_t *p;
	size_t avail;

	if (der_read(der, len, &cert) != 0 || cert.tag != DER_TAG_SEQUENCE)
		return SD_E_INVAL;
	p = cert.val;
	avail = cert.len;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &tbs) != 0)
		return SD_E_INVAL;
	return journal_hash(tbs.tlv, tbs.tlv_len, out);
}

static int
js_result(struct journal_stream *s, const struct journal_record *rec)
{
	uint8_t tbs[JOURNAL_HASH_LEN];
	size_t i = js_closing(s, rec, "result");

	if (i == s->n_open)
		return SD_E_JOURNAL_CORRUPT;
	if (s->open[i].whole_tbs && (js_cert_tbs_sha256(rec->cert_der, rec->cert_der_len, tbs) != 0 ||
	    memcmp(tbs, s->open[i].tbs_sha256, JOURNAL_HASH_LEN) != 0)) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: the certificate's TBS differs from the one intent %llu holds",
		    (unsigned long long)rec->seq, (unsigned long long)rec->intent_seq);
		return js_fail(s, rec->seq);
	}
	js_close(s, i);
	return 0;
}

static int
js_unresolved(struct journal_stream *s, const struct journal_record *rec)
{
	size_t i = js_closing(s, rec, "unresolved record");

	if (i == s->n_open)
		return SD_E_JOURNAL_CORRUPT;
	if (memcmp(s->open[i].tbs_sha256, rec->tbs_sha256, JOURNAL_HASH_LEN) != 0) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: tbs_sha256 differs from intent %llu's",
		    (unsigned long long)rec->seq, (unsigned long long)rec->intent_seq);
		return js_fail(s, rec->seq);
	}
	js_close(s, i);
	if (s->rep.unresolved++ == 0)
		s->rep.first_unresolved = rec->seq;
	return 0;
}

static int
js_checkpoint(struct journal_stream *s, const struct journal_record *rec)
{
	struct checkpoint cp;
	uint8_t root[JOURNAL_HASH_LEN];
	unsigned long long seq = rec->seq;
	char detail[256];
	int rc;

	if (rec->tree_size != rec->seq - 1) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: checkpoint of tree size %llu, not %llu", seq,
		    (unsigned long long)rec->tree_size, seq - 1);
		return js_fail(s, rec->seq);
	}
	if ((rc = merkle_frontier_root(&s->tree, root)) != 0)
		return rc;
	if (memcmp(root, rec->root_hash, JOURNAL_HASH_LEN) != 0) {
		sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "record %llu: checkpoint root does not match the Merkle root of records 1..%llu", seq, seq - 1);
		return js_fail(s, rec->seq);
	}
	if ((rc = checkpoint_parse(rec->note, strlen(rec->note), &cp)) != 0 ||
	    (s->have_key && (rc = checkpoint_verify_sig(rec->note, &cp, s->key)) != 0)) {
		if (rc != SD_E_INVAL)
			return rc;
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: %s", seq, detail);
		return js_fail(s, rec->seq);
	}
	if (cp.size != rec->tree_size || memcmp(cp.root, rec->root_hash, JOURNAL_HASH_LEN) != 0 ||
	    (s->key_name != NULL && strcmp(cp.origin, s->key_name) != 0)) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: checkpoint note does not match the record", seq);
		return js_fail(s, rec->seq);
	}
	s->rep.checkpoints++;
	s->rep.last_checkpoint_seq = rec->seq;
	return 0;
}

static int
js_crl(struct journal_stream *s, const struct journal_record *rec)
{
	if (rec->crl_number <= s->crl_number) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu: CRL number %llu is not greater than %llu of record %llu",
		    (unsigned long long)rec->seq, (unsigned long long)rec->crl_number,
		    (unsigned long long)s->crl_number, (unsigned long long)s->crl_seq);
		return js_fail(s, rec->seq);
	}
	s->crl_seq = rec->seq;
	s->crl_number = rec->crl_number;
	return 0;
}

int
journal_stream_add(struct journal_stream *s, uint64_t key, const uint8_t *raw, size_t len,
    struct journal_record **rec_out)
{
	struct journal_record *rec = NULL;
	uint64_t pos = s->expect;
	unsigned long long at;
	char detail[256];
	int rc;

	if (rec_out != NULL)
		*rec_out = NULL;
	if (s->failed)
		return SD_E_JOURNAL_CORRUPT;
	s->n_nodes = 0;
	if (key != 0 && key != pos) {
		/* LMDB keys are sorted, so a higher key means a gap. */
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is missing (next is record %llu)",
		    (unsigned long long)pos, (unsigned long long)key);
		rc = js_fail(s, pos);
		goto out;
	}
	if ((rc = journal_record_decode_nohash(raw, len, &rec)) != 0) {
		if (rc != SD_E_JOURNAL_CORRUPT)
			goto out;
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is undecodable: %s", (unsigned long long)pos, detail);
		rc = js_fail(s, pos);
		goto out;
	}
	if ((rc = journal_record_hashes(raw, len, rec->hash, rec->leaf_hash)) != 0)
		goto out;
	if (s->pending) {
		rc = js_break(s, rec);
		goto out;
	}
	if (rec->seq != pos) {
		at = (unsigned long long)pos;
		if (key != 0)
			sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "record stored under key %llu carries seq %llu (records reordered or moved)", at,
			    (unsigned long long)rec->seq);
		else
			sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "position %llu holds record %llu (record %llu missing, or records reordered)", at,
			    (unsigned long long)rec->seq, at);
		rc = js_fail(s, pos);
		goto out;
	}
	if (memcmp(rec->prev_hash, s->prev_hash, JOURNAL_HASH_LEN) != 0) {
		if (rec->seq == 1) {
			sd_error_set(SD_E_JOURNAL_CORRUPT, "record 1 modified: prev_hash is not zero");
			rc = js_fail(s, 1);
			goto out;
		}
		s->pending = true;
		s->pending_seq = rec->seq;
		memcpy(s->pending_hash, rec->hash, JOURNAL_HASH_LEN);
	}
	if (rec->seq == s->tail_seq && memcmp(rec->hash, s->tail_hash, JOURNAL_HASH_LEN) != 0 && !s->pending) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu modified: it differs from the record this process appended",
		    (unsigned long long)rec->seq);
		rc = js_fail(s, rec->seq);
		goto out;
	}
	switch (rec->type) {
	case JOURNAL_REC_INTENT:
	case JOURNAL_REC_INTENT_TBS:
		rc = js_intent(s, rec);
		break;
	case JOURNAL_REC_RESULT:
		rc = js_result(s, rec);
		break;
	case JOURNAL_REC_UNRESOLVED:
		rc = js_unresolved(s, rec);
		break;
	case JOURNAL_REC_CHECKPOINT:
		rc = js_checkpoint(s, rec);
		break;
	case JOURNAL_REC_CRL:
		rc = js_crl(s, rec);
		break;
	default:
		rc = 0;
		break;
	}
	if (rc != 0 && !s->pending)
		goto out;
	if (rc != 0)
		s->failed = false;	/* the chain break is the first fault: report it */
	if ((rc = merkle_frontier_add(&s->tree, rec->leaf_hash, s->nodes, &s->n_nodes)) != 0)
		goto out;
	if (s->want_size == s->tree.size && (rc = merkle_frontier_root(&s->tree, s->want_root)) == 0)
		s->have_want = true;
	if (rc != 0)
		goto out;
	memcpy(s->prev_hash, rec->hash, JOURNAL_HASH_LEN);
	s->expect = pos + 1;
	s->rep.count = rec->seq;
	rc = 0;
out:
	if (rc == 0 && rec_out != NULL) {
		*rec_out = rec;
		rec = NULL;
	}
	journal_record_free(rec);
	return rc;
}

int
journal_stream_finish(struct journal_stream *s)
{
	if (s->failed)
		return SD_E_JOURNAL_CORRUPT;
	if (s->pending)
		return js_break(s, NULL);
	if (s->tail_seq > s->rep.count) {
		sd_error_set(SD_E_JOURNAL_CORRUPT, "record %llu is missing (this process appended %llu)",
		    (unsigned long long)s->rep.count + 1, (unsigned long long)s->tail_seq);
		return js_fail(s, s->rep.count + 1);
	}
	return 0;
}
