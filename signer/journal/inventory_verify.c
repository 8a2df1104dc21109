/*
 * journal_verify_full()'s check of the certificate index: every result
 * (and legacy issuance) up to the last record the index covers has exactly
 * the entries its records imply, with the same bytes, and the index holds
 * no more (none of a later record). The index is derived
 * data: a mismatch is reported like a broken index of the journal, naming
 * the serial and the record.
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"
#include "sd_file.h"

/* key must be in db, with an empty value. */
static int
inv_key_check(struct journal *j, MDB_txn *txn, MDB_dbi db, const void *key, size_t klen,
    const struct journal_cert *c, const char *hex, const char *what)
{
	MDB_val k = { klen, (void *)(uintptr_t)key }, v;
	int mrc;

	mrc = mdb_get(txn, db, &k, &v);
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		return journal_mdb_error(j, mrc, "reading the certificate index");
	if (mrc == MDB_NOTFOUND)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: %s entry of serial %s (record %llu) is missing",
		    what, hex, (unsigned long long)c->seq);
	if (v.mv_size != 0)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "certificate index: %s entry of serial %s (record %llu) carries %zu unexpected bytes", what, hex,
		    (unsigned long long)c->seq, v.mv_size);
	return 0;
}

/* Name the first field of the stored entry that differs from the one derived from the records. */
static int
inv_entry_differs(const struct journal_cert *want, const uint8_t *buf, size_t len, const char *hex)
{
	struct journal_cert *got = NULL;
	const char *field = "its encoding";
	size_t i;
	int rc;

	if ((rc = inv_entry_decode(buf, len, &got)) != 0) {
		if (rc != SD_E_JOURNAL_CORRUPT)
			return rc;
		field = "its encoding (it does not decode)";
	} else if (got->serial_len != want->serial_len || memcmp(got->serial, want->serial, want->serial_len) != 0) {
		field = "the serial";
	} else if (got->seq != want->seq) {
		field = "the result seq";
	} else if (got->intent_seq != want->intent_seq) {
		field = "the intent seq";
	} else if (got->issued_ms != want->issued_ms) {
		field = "the issuance time";
	} else if (got->parsed != want->parsed || got->not_before != want->not_before) {
		field = "not_before";
	} else if (got->not_after != want->not_after) {
		field = "not_after";
	} else if (strcmp(got->profile, want->profile) != 0) {
		field = "the profile";
	} else if (strcmp(got->client_subject, want->client_subject) != 0) {
		field = "the client subject";
	} else if (memcmp(got->client_spki_sha256, want->client_spki_sha256, JOURNAL_HASH_LEN) != 0) {
		field = "the client key hash";
	} else if (got->n_sans != want->n_sans) {
		field = "the SANs";
	} else {
		for (i = 0; i < got->n_sans; i++)
			if (got->sans[i].type != want->sans[i].type || strcmp(got->sans[i].value, want->sans[i].value) != 0)
				field = "the SANs";
	}
	journal_cert_free(got);
	return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: entry of serial %s (record %llu) differs in %s",
	    hex, (unsigned long long)want->seq, field);
}

int
inv_verify_record(struct journal *j, MDB_txn *txn, const struct journal_record *rec, uint64_t through,
    uint64_t counts[3])
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	uint8_t ckey[INV_CERT_KEY_LEN];
	struct journal_cert *c = NULL;
	struct inv_key *keys = NULL;
	uint8_t *buf = NULL;
	MDB_val k, v;
	size_t len, n, i;
	int rc, mrc;

	if ((rec->type != JOURNAL_REC_RESULT && rec->type != JOURNAL_REC_ISSUANCE) || rec->seq > through)
		return 0;
	if (!j->inv.ready)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "certificate index: missing (signerctl certs reindex builds it)");
	if ((rc = inv_record_entry(j, txn, rec, &c)) != 0 || (rc = inv_entry_encode(c, &buf, &len)) != 0 ||
	    (rc = inv_entry_keys(c, &keys, &n)) != 0)
		goto out;
	sd_hex_encode(c->serial, c->serial_len, hex);
	inv_cert_key(c->seq, ckey);
	k.mv_size = sizeof(ckey);
	k.mv_data = ckey;
	mrc = mdb_get(txn, j->inv.idx, &k, &v);
	if (mrc == MDB_NOTFOUND) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: serial %s (record %llu) is not indexed", hex,
		    (unsigned long long)c->seq);
		goto out;
	}
	if (mrc != 0) {
		rc = journal_mdb_error(j, mrc, "reading the certificate index");
		goto out;
	}
	if (v.mv_size != len || memcmp(v.mv_data, buf, len) != 0) {
		rc = inv_entry_differs(c, v.mv_data, v.mv_size, hex);
		goto out;
	}
	counts[0]++;
	for (i = 0; i < n; i++) {
		if ((rc = inv_key_check(j, txn, j->inv.idx, keys[i].key, keys[i].len, c, hex, keys[i].what)) != 0)
			goto out;
		counts[keys[i].key[0] == INV_KIND_EXPIRY ? 1 : 2]++;
	}
	rc = 0;
out:
	free(keys);
	free(buf);
	journal_cert_free(c);
	return rc;
}

int
inv_verify_counts(struct journal *j, MDB_txn *txn, uint64_t last, const uint64_t counts[3])
{
	uint64_t want = counts[0] + counts[1] + counts[2], through;
	MDB_stat st;
	bool complete;
	int rc, mrc;

	if (!j->inv.ready) {
		if (counts[0] == 0)
			return 0;
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: missing (signerctl certs reindex builds it)");
	}
	if ((mrc = mdb_stat(txn, j->inv.idx, &st)) != 0)
		return journal_mdb_error(j, mrc, "reading the certificate index");
	if (st.ms_entries != want)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "certificate index: %zu keys where %llu certificates make %llu (stray entries)", st.ms_entries,
		    (unsigned long long)counts[0], (unsigned long long)want);
	if ((rc = inv_through(j, txn, &complete, &through)) != 0)
		return rc;
	if (!complete)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: not marked complete (interrupted rebuild?)");
	if (through > last)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: covers record %llu, past the last (%llu)",
		    (unsigned long long)through, (unsigned long long)last);
	return 0;
}
