/*
 * Journal tests, revocations on real LMDB environments: revoking a
 * certificate (a result, a legacy issuance), the refusals that write
 * nothing (unknown serial, an intent without a result, a second
 * revocation, reason codes RFC 5280 does not assign), the status queries
 * report, reopening, a journal from before the revocations database, and
 * journal_verify_full() naming a tampered revocations index.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define T0 1800000000		/* a fixed "now": 2027-01-15 */
#define DAY 86400
#define REVOKED_MS 1800000500000LL

/* Journal an intent and, when with_result, its result; returns the last seq written. */
static uint64_t
issue(struct journal *j, uint64_t id, bool with_result)
{
	struct journal_record r;
	uint8_t serial[8], *cert;
	uint64_t in = 0, out = 0;
	size_t len = 0;

	rec_intent(&r, serial, id);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &in), 0);
	if (!with_result)
		return in;
	cert = tcert_der(id, T0 - DAY, T0 + 365 * DAY, &len);
	rec_result(&r, serial, in, cert, len);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &out), 0);
	OPENSSL_free(cert);
	return out;
}

/* A legacy issuance of id (its certificate bytes do not parse). */
static uint64_t
issue_legacy(struct journal *j, uint64_t id)
{
	struct tiss t;
	uint64_t seq = 0;

	tiss_init(&t, id, 40);
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &t.in, &seq), 0);
	tiss_free(&t);
	return seq;
}

/* A revocation of the serial of id; serial is its storage. */
static void
revocation(struct journal_revocation *rv, uint8_t serial[8], uint64_t id, uint8_t reason)
{
	memset(rv, 0, sizeof(*rv));
	be64_put(serial, id);
	rv->time_ms = REVOKED_MS + (int64_t)id;
	rv->serial = serial;
	rv->serial_len = 8;
	rv->reason = reason;
	rv->client_subject = "CN=admin,O=Example";
	memset(rv->client_spki_sha256, 0xad, JOURNAL_HASH_LEN);
	rv->detail = "ticket 42";
}

static uint64_t
last_seq(struct journal *j)
{
	uint64_t last = 0;

	CU_ASSERT_EQUAL_FATAL(journal_last_seq(j, &last), 0);
	return last;
}

/* The status journal_cert_get() gives the certificate of id now (T0 + a day). */
static void
expect_status(struct journal *j, uint64_t id, const char *want, bool revoked, uint8_t reason)
{
	struct journal_cert *c = NULL;
	uint8_t serial[8];

	be64_put(serial, id);
	CU_ASSERT_EQUAL_FATAL(journal_cert_get(j, serial, 8, &c), 0);
	CU_ASSERT_STRING_EQUAL(journal_cert_status(c, T0 + DAY), want);
	CU_ASSERT_EQUAL(c->revoked, revoked);
	CU_ASSERT_EQUAL(c->revoked_ms, revoked ? REVOKED_MS + (int64_t)id : 0);
	CU_ASSERT_EQUAL(c->revocation_reason, revoked ? reason : 0);
	journal_cert_free(c);
}

static struct journal *
fresh(char dir[PATH_MAX])
{
	struct journal *j = NULL;

	sd_test_tmpdir(dir, "revoke");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	return j;
}

/* Certificates 1 (revoked, key compromise), 2 (legacy, revoked, unspecified) and 3 (not revoked). */
static void
fill3(struct journal *j, uint64_t seqs[2])
{
	struct journal_revocation rv;
	struct journal_record *ex = NULL;
	uint8_t serial[8];

	CU_ASSERT_EQUAL(issue(j, 1, true), 2);
	CU_ASSERT_EQUAL(issue_legacy(j, 2), 3);
	CU_ASSERT_EQUAL(issue(j, 3, true), 5);
	revocation(&rv, serial, 1, JOURNAL_CRL_KEY_COMPROMISE);
	CU_ASSERT_EQUAL_FATAL(journal_revoke(j, &rv, &seqs[0], &ex), 0);
	CU_ASSERT_EQUAL(seqs[0], 6);
	CU_ASSERT_PTR_NULL(ex);
	revocation(&rv, serial, 2, JOURNAL_CRL_UNSPECIFIED);
	rv.detail = NULL;
	CU_ASSERT_EQUAL_FATAL(journal_revoke(j, &rv, &seqs[1], NULL), 0);
	CU_ASSERT_EQUAL(seqs[1], 7);
}

static void
check_revoked(struct journal *j)
{
	struct journal_cert_query q = { .limit = 10 };
	struct journal_cert_page *p = NULL;
	struct journal_record *rec = NULL;
	uint8_t serial[8];
	size_t i;

	be64_put(serial, 1);
	CU_ASSERT_EQUAL_FATAL(journal_revocation_get(j, serial, 8, &rec), 0);
	CU_ASSERT_EQUAL(rec->type, JOURNAL_REC_REVOCATION);
	CU_ASSERT_EQUAL(rec->seq, 6);
	CU_ASSERT_EQUAL(rec->time_ms, REVOKED_MS + 1);
	CU_ASSERT_EQUAL(rec->revocation_reason, JOURNAL_CRL_KEY_COMPROMISE);
	CU_ASSERT_STRING_EQUAL(rec->client_subject, "CN=admin,O=Example");
	CU_ASSERT_STRING_EQUAL(rec->detail, "ticket 42");
	journal_record_free(rec);
	rec = NULL;
	be64_put(serial, 2);
	CU_ASSERT_EQUAL_FATAL(journal_revocation_get(j, serial, 8, &rec), 0);
	CU_ASSERT_STRING_EQUAL(rec->detail, "");
	journal_record_free(rec);
	rec = NULL;
	be64_put(serial, 3);
	CU_ASSERT_EQUAL(journal_revocation_get(j, serial, 8, &rec), SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "serial 0000000000000003 is not revoked"));
	CU_ASSERT_PTR_NULL(rec);
	CU_ASSERT_EQUAL(journal_revocation_get(j, serial, 0, &rec), SD_E_INVAL);

	expect_status(j, 1, "revoked", true, JOURNAL_CRL_KEY_COMPROMISE);
	/* Revoked comes before unknown (its DER does not parse) and before expired. */
	expect_status(j, 2, "revoked", true, JOURNAL_CRL_UNSPECIFIED);
	expect_status(j, 3, "valid", false, 0);

	CU_ASSERT_EQUAL_FATAL(journal_certs_list(j, &q, &p), 0);
	CU_ASSERT_EQUAL_FATAL(p->n, 3);
	for (i = 0; i < p->n; i++) {
		CU_ASSERT_EQUAL(p->items[i]->revoked, p->items[i]->serial[7] != 3);
		CU_ASSERT_STRING_EQUAL(journal_cert_status(p->items[i], T0 + DAY),
		    p->items[i]->serial[7] == 3 ? "valid" : "revoked");
		if (p->items[i]->serial[7] == 1)
			CU_ASSERT(p->items[i]->revoked_ms == REVOKED_MS + 1 &&
			    p->items[i]->revocation_reason == JOURNAL_CRL_KEY_COMPROMISE);
	}
	/* The expired check still holds for a certificate nobody revoked. */
	for (i = 0; i < p->n; i++)
		if (p->items[i]->serial[7] == 3)
			CU_ASSERT_STRING_EQUAL(journal_cert_status(p->items[i], T0 + 400 * DAY), "expired");
	journal_cert_page_free(p);
}

static void
test_revoke_issued(void)
{
	struct journal_verify_report r;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seqs[2];

	j = fresh(dir);
	fill3(j, seqs);
	check_revoked(j);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.count, 7);
	journal_close(j);

	/* Reopening keeps everything, for a writer and a reader. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	check_revoked(j);
	expect_verify(j, 7);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	check_revoked(j);
	expect_verify(j, 7);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_revoke_refused(void)
{
	static const uint8_t bad[] = { 7, 11, 255 };
	struct journal_revocation rv;
	struct journal_record *ex = NULL, rec;
	struct journal *j;
	char dir[PATH_MAX];
	uint8_t serial[8];
	uint64_t seq = 9, seqs[2];
	size_t i;

	j = fresh(dir);
	fill3(j, seqs);
	CU_ASSERT_EQUAL(issue(j, 4, false), 8);	/* an intent whose result never came */

	/* No certificate: nothing written. */
	revocation(&rv, serial, 99, 0);
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "serial 0000000000000063 is not in the journal"));
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_PTR_NULL(ex);
	CU_ASSERT_EQUAL(last_seq(j), 8);
	revocation(&rv, serial, 4, 0);
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "serial 0000000000000004 has an intent (record 8) but no certificate"));
	CU_ASSERT_PTR_NULL(ex);
	CU_ASSERT_EQUAL(last_seq(j), 8);

	/* Revoked at most once: the first revocation comes back, nothing is written. */
	revocation(&rv, serial, 1, JOURNAL_CRL_SUPERSEDED);
	rv.time_ms = REVOKED_MS + 1000;
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "serial 0000000000000001 is already revoked (record 6)"));
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ex);
	CU_ASSERT_EQUAL(ex->seq, 6);
	CU_ASSERT_EQUAL(ex->time_ms, REVOKED_MS + 1);
	CU_ASSERT_EQUAL(ex->revocation_reason, JOURNAL_CRL_KEY_COMPROMISE);
	journal_record_free(ex);
	ex = NULL;
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, NULL), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "already revoked (record 6)"));
	/* The same through journal_append(): the store refuses it in the append's transaction. */
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REVOCATION;
	rec.serial = serial;
	rec.serial_len = 8;
	rec.client_subject = "CN=x";
	CU_ASSERT_EQUAL(journal_append(j, &rec, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "already revoked (record 6)"));
	CU_ASSERT_EQUAL(last_seq(j), 8);
	expect_status(j, 1, "revoked", true, JOURNAL_CRL_KEY_COMPROMISE);

	/* Reason codes RFC 5280 does not assign, on a serial that could be revoked. */
	for (i = 0; i < sizeof(bad); i++) {
		revocation(&rv, serial, 3, bad[i]);
		CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_INVAL);
		CU_ASSERT(detail_has(SD_E_INVAL, "revocation: reason"));
		CU_ASSERT_PTR_NULL(ex);
		CU_ASSERT_EQUAL(last_seq(j), 8);
	}
	/* Other limits. */
	revocation(&rv, serial, 3, 0);
	rv.client_subject = NULL;
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_INVAL);
	revocation(&rv, serial, 3, 0);
	rv.serial_len = JOURNAL_SERIAL_MAX + 1;
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_revoke(j, NULL, &seq, &ex), SD_E_INVAL);
	CU_ASSERT_EQUAL(last_seq(j), 8);
	expect_status(j, 3, "valid", false, 0);
	expect_verify(j, 8);
	journal_close(j);

	/* A read-only handle writes nothing. */
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	revocation(&rv, serial, 3, 0);
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, &ex), SD_E_JOURNAL);
	CU_ASSERT_PTR_NULL(ex);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The raw LMDB environment of a closed journal, for what only an attacker or an old version writes. */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn)
{
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(env), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_set_maxdbs(*env, 16), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(*env, dir, 0, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

static void
raw_close(MDB_env *env, MDB_txn *txn)
{
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Set (val != NULL) or delete the revocations entry of the serial of id. */
static void
raw_revocation(const char *dir, uint64_t id, const uint64_t *val)
{
	uint8_t serial[8], seq[8];
	MDB_val k = { 8, serial }, v = { 8, seq };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(serial, id);
	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "revocations", 0, &dbi), 0);
	if (val == NULL) {
		CU_ASSERT_EQUAL(mdb_del(txn, dbi, &k, NULL), 0);
	} else {
		be64_put(seq, *val);
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	raw_close(env, txn);
}

/* A read-only verify of the journal in dir fails at bad_seq, naming needle. */
static void
verify_fails(const char *dir, uint64_t bad_seq, const char *needle)
{
	struct journal_verify_report r;
	struct journal *j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, needle));
	CU_ASSERT_EQUAL(r.bad_seq, bad_seq);
	journal_close(j);
}

static void
test_revoke_tampered(void)
{
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seqs[2], v;

	j = fresh(dir);
	fill3(j, seqs);
	journal_close(j);

	/* A deleted entry. */
	raw_revocation(dir, 1, NULL);
	verify_fails(dir, 6, "revocation index: entry for serial 0000000000000001 of record 6 is missing");
	v = 6;
	raw_revocation(dir, 1, &v);
	/* An entry pointing at the wrong record. */
	v = 7;
	raw_revocation(dir, 1, &v);
	verify_fails(dir, 6, "revocation index: entry for serial 0000000000000001 of record 6 is mapped to another record");
	v = 2;
	raw_revocation(dir, 1, &v);
	verify_fails(dir, 6, "of record 6 is mapped to another record");
	v = 6;
	raw_revocation(dir, 1, &v);
	/* A stray entry: certificate 3 was never revoked. */
	raw_revocation(dir, 3, &v);
	verify_fails(dir, 6, "revocation index: serial 0000000000000003 points to record 6, which does not revoke it");
	raw_revocation(dir, 3, NULL);
	/* Stray, pointing past the records. */
	v = 50;
	raw_revocation(dir, 3, &v);
	verify_fails(dir, 50, "serial 0000000000000003 points to record 50");
	raw_revocation(dir, 3, NULL);

	/* Put back, it verifies again. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	expect_verify(j, 7);
	check_revoked(j);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_revoke_old_journal(void)
{
	struct journal_revocation rv;
	struct journal_record *rec = NULL;
	struct journal *j;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char dir[PATH_MAX];
	uint8_t serial[8];
	uint64_t seq = 0;

	/* A journal from before revocations: no revocations database. */
	j = fresh(dir);
	CU_ASSERT_EQUAL(issue(j, 1, true), 2);
	journal_close(j);
	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "revocations", 0, &dbi), 0);
	CU_ASSERT_EQUAL(mdb_drop(txn, dbi, 1), 0);
	raw_close(env, txn);

	/* Readers treat it as empty. */
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	be64_put(serial, 1);
	CU_ASSERT_EQUAL(journal_revocation_get(j, serial, 8, &rec), SD_E_NOT_FOUND);
	expect_status(j, 1, "valid", false, 0);
	expect_verify(j, 2);
	journal_close(j);

	/* A writer's open creates it. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	revocation(&rv, serial, 1, JOURNAL_CRL_CESSATION_OF_OPERATION);
	CU_ASSERT_EQUAL(journal_revoke(j, &rv, &seq, NULL), 0);
	CU_ASSERT_EQUAL(seq, 3);
	expect_status(j, 1, "revoked", true, JOURNAL_CRL_CESSATION_OF_OPERATION);
	expect_verify(j, 3);
	journal_close(j);

	/* Its revocation records without the database: verify says the index is missing. */
	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "revocations", 0, &dbi), 0);
	CU_ASSERT_EQUAL(mdb_drop(txn, dbi, 1), 0);
	raw_close(env, txn);
	verify_fails(dir, 3, "revocation index: missing, yet record 3 revokes serial 0000000000000001");
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case revoke[] = {
		{ "revoke a result's and a legacy issuance's certificate; status, get, list, verify, reopen",
		    test_revoke_issued },
		{ "unknown serial, intent without result, second revocation, bad reasons: nothing written",
		    test_revoke_refused },
		{ "verify names a deleted, misdirected or stray revocations entry", test_revoke_tampered },
		{ "a journal from before revocations: readers see none, a writer's open creates the database",
		    test_revoke_old_journal },
	};
	int rc;

	SD_TEST_SUITE("journal_revoke", revoke);
	rc = sd_test_run("test_journal_revoke");
	tcert_cleanup();
	return rc;
}
