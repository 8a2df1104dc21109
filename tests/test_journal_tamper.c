/*
 * Journal tests, tampering: a 100-record journal is built once, and each
 * test damages a copy of it straight through lmdb.h, as an attacker with
 * file access would; verification, or opening for writing, must name the
 * damage.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <lmdb.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define FIXTURE_RECORDS 100

static char fixture_dir[PATH_MAX];

/* A 100-record journal, built once; tests tamper with copies of it. */
static const char *
fixture(void)
{
	struct journal *j = NULL;

	if (fixture_dir[0] != '\0')
		return fixture_dir;
	sd_test_tmpdir(fixture_dir, "journal-fixture");
	if (journal_open(fixture_dir, MAP_DEFAULT, &j) != 0)
		abort();
	append_n(j, 1, FIXTURE_RECORDS, 300);
	journal_close(j);
	return fixture_dir;
}

/* Copy the fixture to a new dir and open the copy for writing with lmdb.h. */
struct raw {
	char dir[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi recs;
	MDB_dbi sers;
};

static void
raw_copy_open(struct raw *r)
{
	MDB_env *src = NULL;

	memset(r, 0, sizeof(*r));
	sd_test_tmpdir(r->dir, "journal-tamper");
	if (mdb_env_create(&src) != 0 || mdb_env_set_maxdbs(src, 8) != 0 ||
	    mdb_env_open(src, fixture(), MDB_RDONLY, 0600) != 0 || mdb_env_copy(src, r->dir) != 0)
		abort();
	mdb_env_close(src);
	if (mdb_env_create(&r->env) != 0 || mdb_env_set_maxdbs(r->env, 8) != 0 ||
	    mdb_env_open(r->env, r->dir, 0, 0600) != 0 || mdb_txn_begin(r->env, NULL, 0, &r->txn) != 0 ||
	    mdb_dbi_open(r->txn, "records", 0, &r->recs) != 0 ||
	    mdb_dbi_open(r->txn, "serials", 0, &r->sers) != 0)
		abort();
}

static void
raw_commit(struct raw *r)
{
	if (mdb_txn_commit(r->txn) != 0)
		abort();
	mdb_env_close(r->env);
	r->txn = NULL;
	r->env = NULL;
}

/* A malloc'd copy of record seq's value. */
static uint8_t *
raw_get(struct raw *r, uint64_t seq, size_t *len)
{
	uint8_t key[8], *copy;
	MDB_val k = { 8, key }, v;

	be64_put(key, seq);
	if (mdb_get(r->txn, r->recs, &k, &v) != 0 || (copy = malloc(v.mv_size)) == NULL)
		abort();
	memcpy(copy, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return copy;
}

static void
raw_put(struct raw *r, uint64_t seq, const uint8_t *buf, size_t len)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v = { len, (void *)buf };

	be64_put(key, seq);
	if (mdb_put(r->txn, r->recs, &k, &v, 0) != 0)
		abort();
}

static void
raw_del(struct raw *r, uint64_t seq)
{
	uint8_t key[8];
	MDB_val k = { 8, key };

	be64_put(key, seq);
	if (mdb_del(r->txn, r->recs, &k, NULL) != 0)
		abort();
}

/* Open the tampered copy (reader or writer) and verify it. */
static int
raw_verify(struct raw *r, bool readonly, uint64_t *bad)
{
	struct journal *j = NULL;
	uint64_t count;
	int rc;

	if (readonly)
		rc = journal_open_readonly(r->dir, &j);
	else
		rc = journal_open(r->dir, MAP_DEFAULT, &j);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	rc = journal_verify(j, &count, bad);
	journal_close(j);
	return rc;
}

static void
test_tamper_flip(void)
{
	/* magic, seq, time_ms, prev_hash, subject text, last cert byte */
	static const long offsets[] = { 0, 13, 20, 30, 60, -1 };
	struct raw r;
	uint8_t *val;
	size_t len, i;
	uint64_t bad;
	int rc;

	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		raw_copy_open(&r);
		val = raw_get(&r, 50, &len);
		val[offsets[i] < 0 ? len - 1 : (size_t)offsets[i]] ^= 0x01;
		raw_put(&r, 50, val, len);
		raw_commit(&r);
		free(val);
		bad = 0;
		rc = raw_verify(&r, i % 2 == 0, &bad);
		CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
		if (bad != 50)
			fprintf(stderr, "\n    offset %ld: bad_seq %llu: %s\n", offsets[i],
			    (unsigned long long)bad, sd_error_detail(rc));
		CU_ASSERT_EQUAL(bad, 50);
		CU_ASSERT(detail_has(rc, "50"));
		sd_test_rmtree(r.dir);
	}
}

/* Next to the tail there is no record after to tell which of the two changed. */
static void
test_tamper_before_tail(void)
{
	struct raw r;
	uint8_t *val;
	size_t len;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	val = raw_get(&r, 99, &len);
	val[len - 1] ^= 0x01;
	raw_put(&r, 99, val, len);
	raw_commit(&r);
	free(val);
	rc = raw_verify(&r, true, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 99);
	CU_ASSERT(detail_has(rc, "record 99 or record 100 modified"));
	sd_test_rmtree(r.dir);
}

/* A deleted record is reported as missing at its own seq, 50 (not 51). */
static void
test_tamper_delete(void)
{
	struct raw r;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	raw_del(&r, 50);
	raw_commit(&r);
	rc = raw_verify(&r, true, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 50);
	CU_ASSERT(detail_has(rc, "record 50 is missing (next is record 51)"));
	sd_test_rmtree(r.dir);

	/* The first record too. */
	raw_copy_open(&r);
	raw_del(&r, 1);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 1);
	sd_test_rmtree(r.dir);
}

static void
test_tamper_swap(void)
{
	uint8_t *a, *b;
	size_t alen, blen;
	struct raw r;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	a = raw_get(&r, 30, &alen);
	b = raw_get(&r, 60, &blen);
	raw_put(&r, 30, b, blen);
	raw_put(&r, 60, a, alen);
	raw_commit(&r);
	free(a);
	free(b);
	rc = raw_verify(&r, false, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 30);
	CU_ASSERT(detail_has(rc, "under key 30 carries seq 60 (records reordered"));
	sd_test_rmtree(r.dir);
}

static void
test_tamper_serial_index(void)
{
	uint8_t key[8], val[8];
	MDB_val k = { 8, key }, v = { 8, val };
	struct raw r;
	uint64_t bad = 0;

	/* Entry removed. */
	raw_copy_open(&r);
	be64_put(key, 70);
	CU_ASSERT_EQUAL_FATAL(mdb_del(r.txn, r.sers, &k, NULL), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 70);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "serial 0000000000000046 of record 70 is missing"));
	sd_test_rmtree(r.dir);

	/* Entry pointing elsewhere. */
	raw_copy_open(&r);
	be64_put(key, 70);
	be64_put(val, 71);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 70);
	sd_test_rmtree(r.dir);

	/* A stray entry for a record that does not exist. */
	raw_copy_open(&r);
	be64_put(key, 5000);
	be64_put(val, 101);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 101);
	sd_test_rmtree(r.dir);

	/* A stray entry for a record that has another serial. */
	raw_copy_open(&r);
	be64_put(key, 5000);
	be64_put(val, 5);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 5);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "which has another serial"));
	sd_test_rmtree(r.dir);
}

static void expect_open_corrupt(struct raw *r, const char *needle);

/*
 * Cutting off the tail (record and index entries) leaves a valid shorter
 * chain: the Merkle node index, and a checkpoint kept outside, reveal it.
 */
static void
test_tamper_truncate_tail(void)
{
	uint8_t key[8];
	MDB_val k = { 8, key };
	struct raw r;
	uint64_t bad = 0;

	raw_copy_open(&r);
	raw_del(&r, 100);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 100);	/* the serial index still names it */
	sd_test_rmtree(r.dir);

	/* Record and serial entry gone: the Merkle node index still reaches 100. */
	raw_copy_open(&r);
	raw_del(&r, 100);
	be64_put(key, 100);
	CU_ASSERT_EQUAL_FATAL(mdb_del(r.txn, r.sers, &k, NULL), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "Merkle node index holds"));
	/* The first missing record is named, not record 0. */
	CU_ASSERT_EQUAL(bad, 100);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 100 is missing"));
	expect_open_corrupt(&r, "Merkle nodes reach record 100 but the records end at 99");
}

static void
expect_open_corrupt(struct raw *r, const char *needle)
{
	struct journal *j = (struct journal *)1;
	int rc;

	rc = journal_open(r->dir, MAP_DEFAULT, &j);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT(detail_has(rc, needle));
	/* An auditor can still open it and find the damage. */
	CU_ASSERT_EQUAL(journal_open_readonly(r->dir, &j), 0);
	journal_close(j);
	sd_test_rmtree(r->dir);
}

static void
test_tamper_tail_open(void)
{
	uint8_t *val;
	size_t len;
	struct raw r;

	/* Truncated tail value. */
	raw_copy_open(&r);
	val = raw_get(&r, 100, &len);
	raw_put(&r, 100, val, len - 1);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record 100 is undecodable");

	/* Tail prev_hash altered. */
	raw_copy_open(&r);
	val = raw_get(&r, 100, &len);
	val[40] ^= 0x80;
	raw_put(&r, 100, val, len);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record 100 does not chain to record 99");

	/* Record before the tail gone. */
	raw_copy_open(&r);
	raw_del(&r, 99);
	raw_commit(&r);
	expect_open_corrupt(&r, "record 99 before tail record 100 is missing");

	/* A copy of record 99 appended under key 101. */
	raw_copy_open(&r);
	val = raw_get(&r, 99, &len);
	raw_put(&r, 101, val, len);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record stored under key 101 carries seq 99");
}

int
main(void)
{
	static const struct sd_test_case tamper[] = {
		{ "flipped byte in record 50", test_tamper_flip },
		{ "flipped byte before the tail", test_tamper_before_tail },
		{ "deleted record", test_tamper_delete },
		{ "swapped records", test_tamper_swap },
		{ "serial index altered", test_tamper_serial_index },
		{ "tail truncation", test_tamper_truncate_tail },
		{ "corrupted tail refused at open", test_tamper_tail_open },
	};
	int rc;

	SD_TEST_SUITE("journal_tamper", tamper);
	rc = sd_test_run("test_journal_tamper");
	if (fixture_dir[0] != '\0')
		sd_test_rmtree(fixture_dir);
	return rc;
}
