/*
 * How many certificates expire in a window (journal_certs_expiring()), for
 * the metrics: a walk of the 'E' keys, bounded like every other walk.
 */
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"

int
journal_certs_expiring(struct journal *j, int64_t from, int64_t until, uint64_t max, uint64_t *count, bool *more)
{
	uint8_t start[INV_EXPIRY_KEY_LEN], end[INV_EXPIRY_KEY_LEN];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t n = 0, through;
	int mrc, rc;

	*count = 0;
	*more = false;
	if (j == NULL || from > until)
		return sd_error_set(SD_E_INVAL, "journal_certs_expiring: bad window");
	inv_expiry_key(from, 0, start);
	inv_expiry_key(until, 0, end);
	/* Up to date like every query, but a gauge is not refused because a batch could not be written. */
	if (journal_index_sync(j) != 0)
		inv_sync_failed(j);
	if ((rc = inv_read_begin(j, false, &txn, &through)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, j->inv.idx, &cur)) != 0) {
		rc = journal_mdb_error(j, mrc, "opening the certificate index");
		goto out;
	}
	k.mv_size = sizeof(start);
	k.mv_data = start;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != INV_EXPIRY_KEY_LEN || memcmp(k.mv_data, end, INV_EXPIRY_KEY_LEN) >= 0)
			break;
		if (n == max) {
			*more = true;
			break;
		}
		n++;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND) {
		rc = journal_mdb_error(j, mrc, "reading the certificate index");
		goto out;
	}
	*count = n;
	rc = 0;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	journal_read_end(j, txn);
	return rc;
}
