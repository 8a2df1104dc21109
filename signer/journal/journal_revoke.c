/*
 * Revocations: a revocation record names the serial of a certificate in
 * the journal, and the revocations index (serial -> seq of its revocation,
 * MDB_NOOVERWRITE) keeps a serial from being revoked twice. Both checks run
 * in the append's own transaction (journal_put.c), so two revocations of
 * one serial racing each other cannot both be written. A certificate's
 * revocation is read from this index at query time, never stored in the
 * certificate index: that index trails the journal and is rebuilt from
 * records.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

/* An index value: the 8-byte seq of a record. */
static int
journal_rev_seq(const MDB_val *v, const char *what, const char *hex, uint64_t *seq)
{
	if (v->mv_size != JOURNAL_SEQ_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: entry of serial %s is %zu bytes, not a seq", what, hex,
		    v->mv_size);
	*seq = journal_be64_get(v->mv_data);
	return 0;
}

int
journal_cert_seq(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len, uint64_t *seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k = { len, (void *)(uintptr_t)serial }, v;
	uint64_t intent = 0;
	int rc, mrc;

	*seq = 0;
	sd_hex_encode(serial, len > JOURNAL_SERIAL_MAX ? JOURNAL_SERIAL_MAX : len, hex);
	if ((mrc = mdb_get(txn, j->serials, &k, &v)) == MDB_NOTFOUND)
		return sd_error_set(SD_E_NOT_FOUND, "serial %s is not in the journal", hex);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the serial index");
	if ((rc = journal_rev_seq(&v, "serial index", hex, &intent)) != 0)
		return rc;
	journal_key(key, intent, &k);
	if ((mrc = mdb_get(txn, j->results, &k, &v)) == 0)
		return journal_rev_seq(&v, "result index", hex, seq);
	if (mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the result index");
	/* No result: a legacy issuance is its own certificate, an intent is none. */
	if ((rc = journal_txn_get_hash(j, txn, intent, false, &rec)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "serial index: serial %s points to record %llu, which is missing", hex,
		    (unsigned long long)intent) : rc;
	if (rec->type == JOURNAL_REC_ISSUANCE)
		*seq = intent;
	else
		rc = sd_error_set(SD_E_NOT_FOUND, "serial %s has an intent (record %llu) but no certificate", hex,
		    (unsigned long long)intent);
	journal_record_free(rec);
	return rc;
}

int
journal_revocation_put(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t seq)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t key[JOURNAL_SEQ_LEN];
	MDB_val k, v;
	uint64_t cert;
	int rc, mrc;

	if ((rc = journal_cert_seq(j, txn, rec->serial, rec->serial_len, &cert)) != 0)
		return rc;
	sd_hex_encode(rec->serial, rec->serial_len, hex);
	k.mv_size = rec->serial_len;
	k.mv_data = rec->serial;
	journal_key(key, seq, &v);
	if ((mrc = mdb_put(txn, j->revocations, &k, &v, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		return sd_error_set(SD_E_INVAL, "serial %s is already revoked (record %llu)", hex,
		    v.mv_size == JOURNAL_SEQ_LEN ? (unsigned long long)journal_be64_get(v.mv_data) : 0ULL);
	return mrc == 0 ? 0 : journal_mdb_error(j, mrc, "indexing a revocation");
}

int
journal_revocation_txn_get(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len, uint64_t *seq,
    struct journal_record **out)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	MDB_val k = { len, (void *)(uintptr_t)serial }, v;
	uint64_t s = 0;
	int rc, mrc;

	if (seq != NULL)
		*seq = 0;
	if (out != NULL)
		*out = NULL;
	sd_hex_encode(serial, len > JOURNAL_SERIAL_MAX ? JOURNAL_SERIAL_MAX : len, hex);
	if (!j->has_revocations)
		return sd_error_set(SD_E_NOT_FOUND, "serial %s is not revoked", hex);
	if ((mrc = mdb_get(txn, j->revocations, &k, &v)) == MDB_NOTFOUND)
		return sd_error_set(SD_E_NOT_FOUND, "serial %s is not revoked", hex);
	if (mrc != 0)
		return journal_mdb_error(j, mrc, "reading the revocation index");
	if ((rc = journal_rev_seq(&v, "revocation index", hex, &s)) != 0)
		return rc;
	if ((rc = journal_txn_get(j, txn, s, &rec)) != 0) {
		if (rc == SD_E_NOT_FOUND)
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "revocation index: serial %s points to record %llu, which is missing", hex,
			    (unsigned long long)s);
		goto out;
	}
	if (rec->type != JOURNAL_REC_REVOCATION || rec->serial_len != len || memcmp(rec->serial, serial, len) != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "revocation index: serial %s points to record %llu, which is not its revocation", hex,
		    (unsigned long long)s);
		goto out;
	}
	if (seq != NULL)
		*seq = s;
	if (out != NULL) {
		*out = rec;
		rec = NULL;
	}
	rc = 0;
out:
	journal_record_free(rec);
	return rc;
}

int
journal_revocation_fill(struct journal *j, MDB_txn *txn, struct journal_cert *c)
{
	struct journal_record *rec = NULL;
	int rc;

	c->revoked = false;
	c->revoked_ms = 0;
	c->revocation_reason = 0;
	rc = journal_revocation_txn_get(j, txn, c->serial, c->serial_len, NULL, &rec);
	if (rc == SD_E_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (rec == NULL)
		abort();	/* set on success */
	c->revoked = true;
	c->revoked_ms = rec->time_ms;
	c->revocation_reason = rec->revocation_reason;
	journal_record_free(rec);
	return 0;
}

int
journal_revoke(struct journal *j, const struct journal_revocation *in, uint64_t *seq_out,
    struct journal_record **existing)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record rec;
	MDB_txn *txn = NULL;
	int rc, erc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (existing != NULL)
		*existing = NULL;
	if (j == NULL || in == NULL || seq_out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_revoke: NULL argument");
	journal_flush(j);
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REVOCATION;
	rec.time_ms = in->time_ms;
	rec.serial = (uint8_t *)(uintptr_t)in->serial;
	rec.serial_len = in->serial_len;
	rec.revocation_reason = in->reason;
	rec.client_subject = (char *)(uintptr_t)in->client_subject;
	memcpy(rec.client_spki_sha256, in->client_spki_sha256, JOURNAL_HASH_LEN);
	rec.detail = (char *)(uintptr_t)(in->detail != NULL ? in->detail : "");
	/* Bad input is told apart from "revoked already", the only other SD_E_INVAL of the append. */
	if ((rc = journal_record_check(&rec)) != 0)
		return rc;
	if ((rc = journal_append(j, &rec, seq_out)) != SD_E_INVAL || existing == NULL)
		return rc;
	/* Revocations are never undone, so the one that refused this append is still there. */
	if ((erc = journal_read_begin(j, &txn)) != 0)
		return erc;
	erc = journal_revocation_txn_get(j, txn, in->serial, in->serial_len, NULL, existing);
	journal_read_end(j, txn);
	if (erc != 0)
		return erc == SD_E_NOT_FOUND ? sd_error_set(SD_E_INTERNAL,
		    "journal: a revocation was refused as a repeat, yet the serial is not revoked") : erc;
	if (*existing == NULL)
		abort();	/* set on success */
	sd_hex_encode(in->serial, in->serial_len, hex);
	return sd_error_set(SD_E_INVAL, "serial %s is already revoked (record %llu)", hex,
	    (unsigned long long)(*existing)->seq);
}

int
journal_revocation_get(struct journal *j, const uint8_t *serial, size_t len, struct journal_record **out)
{
	MDB_txn *txn = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (j == NULL || serial == NULL || out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_revocation_get: NULL argument");
	if (len == 0 || len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "serial of %zu bytes", len);
	journal_flush(j);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_revocation_txn_get(j, txn, serial, len, NULL, out);
	journal_read_end(j, txn);
	return rc;
}
