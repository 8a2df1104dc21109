/*
 * Journal tests, the LMDB store on real environments in temp dirs:
 * appending and reading back along the hash chain, the on-disk layout,
 * reopening, foreach, refused appends, open errors and the read-only
 * handle, a map that fills up.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <lmdb.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

static uint64_t
be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

static void
test_store_append_verify(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct journal *j = NULL;
	struct stat st;
	uint64_t last = 7;

	sd_test_tmpdir(dir, "journal");
	if (snprintf(path, sizeof(path), "%s/j", dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(journal_open(path, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 0);
	expect_verify(j, 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	append_n(j, 1, 100, 500);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 100);
	expect_verify(j, 100);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	journal_close(j);

	/* Directory 0700, data file 0600. */
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	if (snprintf(path, sizeof(path), "%s/j/data.mdb", dir) < 0)
		abort();
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	sd_test_rmtree(dir);
}

static void
test_store_chain(void)
{
	struct journal_record *rec = NULL, *prev = NULL;
	uint8_t zero[JOURNAL_HASH_LEN] = { 0 };
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t n;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1000, 20, 300);
	for (n = 1; n <= 20; n++) {
		CU_ASSERT_EQUAL_FATAL(journal_get(j, n, &rec), 0);
		CU_ASSERT_EQUAL(rec->seq, n);
		CU_ASSERT(memcmp(rec->prev_hash, prev != NULL ? prev->hash : zero, JOURNAL_HASH_LEN) == 0);
		/* Every field as appended. */
		tiss_init(&t, 1000 + n - 1, 300);
		CU_ASSERT_EQUAL(rec->time_ms, t.in.time_ms);
		CU_ASSERT_STRING_EQUAL(rec->client_subject, t.subject);
		CU_ASSERT_STRING_EQUAL(rec->profile, t.profile);
		CU_ASSERT(memcmp(rec->client_spki_sha256, t.in.client_spki_sha256, JOURNAL_HASH_LEN) == 0);
		CU_ASSERT(memcmp(rec->csr_sha256, t.in.csr_sha256, JOURNAL_HASH_LEN) == 0);
		CU_ASSERT(rec->serial_len == 8 && memcmp(rec->serial, t.serial, 8) == 0);
		CU_ASSERT(rec->cert_der_len == 300 && memcmp(rec->cert_der, t.cert, 300) == 0);
		tiss_free(&t);
		journal_record_free(prev);
		prev = rec;
		rec = NULL;
	}
	journal_record_free(prev);
	CU_ASSERT_EQUAL(journal_get(j, 0, &rec), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(journal_get(j, 21, &rec), SD_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(rec);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The stored bytes are exactly the documented encoding, keyed by BE seq. */
static void
test_store_on_disk(void)
{
	struct journal_record *rec = NULL;
	struct journal *j = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi recs, sers;
	MDB_val k, v;
	uint8_t key[8], *enc = NULL, hash[JOURNAL_HASH_LEN];
	char dir[PATH_MAX];
	size_t len;
	uint64_t n;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 5, 64);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 3, &rec), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(rec, &enc, &len), 0);
	journal_close(j);

	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_set_maxdbs(env, 8), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "records", 0, &recs), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "serials", 0, &sers), 0);
	be64_put(key, 3);
	k.mv_size = 8;
	k.mv_data = key;
	CU_ASSERT_EQUAL_FATAL(mdb_get(txn, recs, &k, &v), 0);
	CU_ASSERT(v.mv_size == len && memcmp(v.mv_data, enc, len) == 0);
	sha256(v.mv_data, v.mv_size, hash);
	CU_ASSERT(memcmp(hash, rec->hash, JOURNAL_HASH_LEN) == 0);
	for (n = 1; n <= 5; n++) {
		be64_put(key, n);	/* serials were the ids 1..5 */
		CU_ASSERT_EQUAL(mdb_get(txn, sers, &k, &v), 0);
		CU_ASSERT(v.mv_size == 8 && be64_get(v.mv_data) == n);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	journal_record_free(rec);
	free(enc);
	sd_test_rmtree(dir);
}

static void
test_store_reopen(void)
{
	struct journal_record *r100 = NULL, *r101 = NULL;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t last = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 100, 200);
	journal_close(j);
	j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 100);
	append_n(j, 101, 5, 200);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 100, &r100), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 101, &r101), 0);
	CU_ASSERT(memcmp(r101->prev_hash, r100->hash, JOURNAL_HASH_LEN) == 0);
	expect_verify(j, 105);
	journal_close(j);
	j = NULL;

	/* A different map size on reopen keeps the data. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, 2 * MAP_DEFAULT, &j), 0);
	expect_verify(j, 105);
	journal_close(j);
	journal_record_free(r100);
	journal_record_free(r101);
	sd_test_rmtree(dir);
}

struct visit {
	uint64_t seen[128];
	size_t n;
	uint64_t stop_at;
};

static int
visit_fn(const struct journal_record *rec, void *ctx)
{
	struct visit *v = ctx;

	if (v->n < 128)
		v->seen[v->n++] = rec->seq;
	return rec->seq == v->stop_at ? 7 : 0;
}

static void
test_store_foreach(void)
{
	struct journal *j = NULL;
	struct visit v;
	char dir[PATH_MAX];
	size_t i;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 60, 100);
	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(journal_foreach(j, 40, visit_fn, &v), 0);
	CU_ASSERT_EQUAL(v.n, 21);
	for (i = 0; i < v.n; i++)
		CU_ASSERT_EQUAL(v.seen[i], 40 + i);
	memset(&v, 0, sizeof(v));
	v.stop_at = 45;
	CU_ASSERT_EQUAL(journal_foreach(j, 0, visit_fn, &v), 7);
	CU_ASSERT_EQUAL(v.n, 45);
	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(journal_foreach(j, 61, visit_fn, &v), 0);
	CU_ASSERT_EQUAL(v.n, 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_duplicate_serial(void)
{
	struct journal_record *r1 = NULL, *r2 = NULL;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss a, b;
	uint64_t seq = 9, last;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	tiss_init(&a, 5, 100);
	tiss_init(&b, 6, 100);
	memcpy(b.serial, a.serial, sizeof(a.serial));
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &a.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &b.in, &seq), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "serial 0000000000000005 is already journaled (record 1)"));
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 1);
	CU_ASSERT_EQUAL(journal_get(j, 2, &r2), SD_E_NOT_FOUND);
	expect_verify(j, 1);

	/* The refused append left the chain where it was. */
	b.serial[7] = 0x66;
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &b.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 1, &r1), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 2, &r2), 0);
	CU_ASSERT(memcmp(r2->prev_hash, r1->hash, JOURNAL_HASH_LEN) == 0);
	expect_verify(j, 2);
	journal_record_free(r1);
	journal_record_free(r2);
	tiss_free(&a);
	tiss_free(&b);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_inval(void)
{
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq = 3, last;
	char big[JOURNAL_TEXT_MAX + 2];

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 3, 100);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	tiss_init(&t, 50, JOURNAL_CERT_MAX + 1);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "cert_der is 65537 bytes"));
	CU_ASSERT_EQUAL(seq, 0);
	t.in.cert_der_len = 100;
	t.in.serial_len = JOURNAL_SERIAL_MAX + 1;
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.serial_len = 8;
	t.in.client_subject = big;
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.client_subject = t.subject;
	t.in.profile = "";
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.profile = t.profile;
	CU_ASSERT_EQUAL(journal_append_issuance(j, NULL, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, NULL), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 4);
	expect_verify(j, 4);
	tiss_free(&t);
	journal_close(j);
	journal_close(NULL);
	sd_test_rmtree(dir);
}

static void
test_store_open_errors(void)
{
	struct journal *j = (struct journal *)1;
	char dir[PATH_MAX], path[PATH_MAX + 16], file[PATH_MAX];
	uint64_t last = 0, count, bad;

	sd_test_tmpdir(dir, "journal");
	if (snprintf(path, sizeof(path), "%s/missing", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(journal_open_readonly(path, &j), SD_E_JOURNAL);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT(detail_has(SD_E_JOURNAL, "No such file or directory"));
	/* An existing directory without a journal: not created by a reader. */
	CU_ASSERT_EQUAL(journal_open_readonly(dir, &j), SD_E_JOURNAL);
	CU_ASSERT_PTR_NULL(j);
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) < 0)
		abort();
	CU_ASSERT(access(path, F_OK) != 0);
	/* Parent missing, path a file, map size 0. */
	if (snprintf(path, sizeof(path), "%s/no/such", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(journal_open(path, MAP_DEFAULT, &j), SD_E_JOURNAL);
	sd_test_write(dir, "plain", "x", 0600, file);
	CU_ASSERT_EQUAL(journal_open(file, MAP_DEFAULT, &j), SD_E_JOURNAL);
	CU_ASSERT(detail_has(SD_E_JOURNAL, "is not a directory"));
	CU_ASSERT_EQUAL(journal_open(dir, 0, &j), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_open(NULL, MAP_DEFAULT, &j), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(j);

	/* A reader of a real journal sees it but cannot write. */
	if (snprintf(path, sizeof(path), "%s/j", dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(journal_open(path, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 3, 100);
	journal_close(j);
	j = NULL;
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(path, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL(journal_verify(j, &count, &bad), 0);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL);
	{
		struct tiss t;
		uint64_t seq = 1;

		tiss_init(&t, 9, 10);
		CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_JOURNAL);
		CU_ASSERT(detail_has(SD_E_JOURNAL, "read-only"));
		CU_ASSERT_EQUAL(seq, 0);
		tiss_free(&t);
	}
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_full(void)
{
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq, last = 0, n = 0, i;
	const uint64_t tiny = 256 * 1024;
	int rc = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, tiny, &j), 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	for (i = 1; i <= 200; i++) {
		tiss_init(&t, i, 10 * 1024);
		rc = journal_append_issuance(j, &t.in, &seq);
		tiss_free(&t);
		if (rc != 0)
			break;
		CU_ASSERT_EQUAL(seq, i);
		n = seq;
	}
	CU_ASSERT_EQUAL_FATAL(rc, SD_E_JOURNAL_FULL);
	CU_ASSERT(detail_has(rc, "journal map of 262144 bytes is full"));
	CU_ASSERT(n >= 3);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, n);
	/* Still full, still nothing written, and the health check says so. */
	tiss_init(&t, 500, 10 * 1024);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_JOURNAL_FULL);
	tiss_free(&t);
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL_FULL);
	expect_verify(j, n);
	journal_close(j);
	j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open(dir, tiny, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, n);
	expect_verify(j, n);
	journal_close(j);
	j = NULL;

	/* A larger map takes more records on the same chain. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	append_n(j, 1000, 3, 10 * 1024);
	expect_verify(j, n + 3);
	journal_close(j);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case store[] = {
		{ "append 100 and verify", test_store_append_verify },
		{ "hash chain via journal_get", test_store_chain },
		{ "on-disk layout", test_store_on_disk },
		{ "reopen and continue", test_store_reopen },
		{ "foreach", test_store_foreach },
		{ "duplicate serial refused", test_store_duplicate_serial },
		{ "field over limit", test_store_inval },
		{ "open errors and read-only", test_store_open_errors },
		{ "tiny map fills up", test_store_full },
	};

	SD_TEST_SUITE("journal_store", store);
	return sd_test_run("test_journal_store");
}
