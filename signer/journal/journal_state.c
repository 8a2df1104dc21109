/*
 * What the journal knows of one serial, for OCSP and CRLs: the validity of
 * its certificate and its revocation, in one read transaction. Only the
 * serials, results and revocations indexes and the records they name are
 * read, never the certificate index: that one trails the journal, and a
 * revocation must be answered the moment it is durable.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal.h"
#include "journal_internal.h"
#include "sd_file.h"

/* The state of serial in txn. Errors: as journal_serial_state(). */
static int
journal_state_txn(struct journal *j, MDB_txn *txn, const uint8_t *serial, size_t len,
    struct journal_serial_state *st)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_record *rec = NULL;
	uint64_t seq = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = journal_cert_seq(j, txn, serial, len, &seq)) != 0)
		return rc;
	/* Its certificate DER is all that is read of the record: no need to hash it. */
	if ((rc = journal_txn_get_hash(j, txn, seq, false, &rec)) != 0) {
		if (rc == SD_E_NOT_FOUND) {
			sd_hex_encode(serial, len, hex);
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
			    "result index: serial %s points to record %llu, which is missing", hex,
			    (unsigned long long)seq);
		}
		goto out;
	}
	if ((rec->type != JOURNAL_REC_RESULT && rec->type != JOURNAL_REC_ISSUANCE) || rec->serial_len != len ||
	    memcmp(rec->serial, serial, len) != 0) {
		sd_hex_encode(serial, len, hex);
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "result index: serial %s points to record %llu, which is not its certificate", hex,
		    (unsigned long long)seq);
		goto out;
	}
	st->parsed = inv_cert_validity(rec->cert_der, rec->cert_der_len, &st->not_before, &st->not_after);
	journal_record_free(rec);
	rec = NULL;
	rc = journal_revocation_txn_get(j, txn, serial, len, NULL, &rec);
	if (rc == SD_E_NOT_FOUND) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	if (rec == NULL)
		abort();	/* set on success */
	st->revoked = true;
	st->revoked_ms = rec->time_ms;
	st->revocation_reason = rec->revocation_reason;
out:
	journal_record_free(rec);
	return rc;
}

int
journal_serial_state(struct journal *j, const uint8_t *serial, size_t len, struct journal_serial_state *out)
{
	MDB_txn *txn = NULL;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (j == NULL || serial == NULL || out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_serial_state: NULL argument");
	if (len == 0 || len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "serial of %zu bytes", len);
	journal_flush(j);
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	rc = journal_state_txn(j, txn, serial, len, out);
	journal_read_end(j, txn);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/*
 * fn runs inside the read transaction, which holds the map lock shared:
 * it must not append to this journal (growing the map would wait for it).
 */
int
journal_revoked_foreach(struct journal *j, journal_revoked_fn fn, void *ctx)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	struct journal_serial_state st;
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (j == NULL || fn == NULL)
		return sd_error_set(SD_E_INVAL, "journal_revoked_foreach: NULL argument");
	/* A journal from before revocations, opened read-only: nothing is revoked. */
	if (!j->has_revocations)
		return 0;
	if ((rc = journal_read_begin(j, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, j->revocations, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening a cursor");
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size > JOURNAL_SERIAL_MAX) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "revocation index: key of %zu bytes is not a serial",
			    k.mv_size);
			goto out;
		}
		rc = journal_state_txn(j, txn, k.mv_data, k.mv_size, &st);
		/* The index says revoked, so the certificate exists and the revocation is its own. */
		if (rc == 0 && !st.revoked)
			abort();	/* the revocation was just found under this key */
		if (rc == SD_E_NOT_FOUND) {
			sd_hex_encode(k.mv_data, k.mv_size, hex);
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "revocation index: serial %s has no certificate", hex);
		}
		if (rc != 0 || (rc = fn(k.mv_data, k.mv_size, &st, ctx)) != 0)
			goto out;
	}
	rc = mrc == MDB_NOTFOUND ? 0 : journal_mdb_error(j, mrc, "walking the revocation index");
out:
	mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}
