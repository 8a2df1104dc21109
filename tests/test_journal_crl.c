/*
 * Journal tests, CRL records and serial state on real LMDB environments:
 * journal_crl_append() and journal_crl_last() (numbers that only grow, the
 * refusals that write nothing, reopening, read-only handles, a journal
 * from before the crls index, two threads racing for one number),
 * journal_serial_state() and journal_revoked_foreach(), and verification
 * naming a tampered crls index or CRL numbers out of order.
 */
#include <limits.h>
#include <pthread.h>
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
#define RACE_ROUNDS 25

/* Journal an intent and, when with_result, its result valid [T0 - id days, T0 + 365 days]. */
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
	cert = tcert_der(id, T0 - (int64_t)id * DAY, T0 + 365 * DAY, &len);
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

static void
revoke(struct journal *j, uint64_t id, uint8_t reason)
{
	struct journal_revocation rv;
	uint8_t serial[8];
	uint64_t seq = 0;

	memset(&rv, 0, sizeof(rv));
	be64_put(serial, id);
	rv.time_ms = REVOKED_MS + (int64_t)id;
	rv.serial = serial;
	rv.serial_len = 8;
	rv.reason = reason;
	rv.client_subject = "CN=admin,O=Example";
	CU_ASSERT_EQUAL_FATAL(journal_revoke(j, &rv, &seq, NULL), 0);
}

/* A complete CRL of number, a week from T0 + number hours. */
static void
crl_init(struct journal_crl *c, uint64_t number)
{
	memset(c, 0, sizeof(*c));
	c->number = number;
	c->this_update = T0 + (int64_t)number * 3600;
	c->next_update = c->this_update + 7 * DAY;
	c->entries = number % 3;
	memset(c->sha256, (int)(number & 0xff), JOURNAL_HASH_LEN);
}

static uint64_t
crl_append(struct journal *j, uint64_t number)
{
	struct journal_crl c;
	uint64_t seq = 0;

	crl_init(&c, number);
	CU_ASSERT_EQUAL_FATAL(journal_crl_append(j, &c, &seq), 0);
	CU_ASSERT(seq > 0);
	return seq;
}

static void
expect_last(struct journal *j, uint64_t number, uint64_t seq)
{
	uint64_t n = 99, s = 99;

	CU_ASSERT_EQUAL_FATAL(journal_crl_last(j, &n, &s), 0);
	CU_ASSERT_EQUAL(n, number);
	CU_ASSERT_EQUAL(s, seq);
}

static uint64_t
last_seq(struct journal *j)
{
	uint64_t last = 0;

	CU_ASSERT_EQUAL_FATAL(journal_last_seq(j, &last), 0);
	return last;
}

static struct journal *
fresh(char dir[PATH_MAX])
{
	struct journal *j = NULL;

	sd_test_tmpdir(dir, "crl");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	return j;
}

static void
test_crl_append_last(void)
{
	struct journal_record *rec = NULL;
	struct journal_crl c;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t s1, s2, s3;

	j = fresh(dir);
	expect_last(j, 0, 0);
	CU_ASSERT_EQUAL(issue(j, 1, true), 2);
	s1 = crl_append(j, 1);
	CU_ASSERT_EQUAL(s1, 3);
	expect_last(j, 1, 3);
	/* Numbers may skip; a delta names the complete CRL below it. */
	s2 = crl_append(j, 7);
	expect_last(j, 7, s2);
	crl_init(&c, 8);
	c.base_number = 7;
	CU_ASSERT_EQUAL_FATAL(journal_crl_append(j, &c, &s3), 0);
	CU_ASSERT_EQUAL(s3, 5);
	expect_last(j, 8, 5);

	CU_ASSERT_EQUAL_FATAL(journal_get(j, s3, &rec), 0);
	CU_ASSERT_EQUAL(rec->type, JOURNAL_REC_CRL);
	CU_ASSERT_EQUAL(rec->crl_number, 8);
	CU_ASSERT_EQUAL(rec->crl_base_number, 7);
	CU_ASSERT_EQUAL(rec->crl_this_update, c.this_update);
	CU_ASSERT_EQUAL(rec->crl_next_update, c.next_update);
	CU_ASSERT_EQUAL(rec->crl_entries, 2);
	CU_ASSERT(memcmp(rec->crl_sha256, c.sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT(rec->time_ms > 1600000000000LL);	/* the wall clock at the append */
	journal_record_free(rec);
	expect_verify(j, 5);
	CU_ASSERT_EQUAL(journal_crl_last(j, NULL, &s1), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_crl_last(NULL, &s1, &s2), SD_E_INVAL);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_crl_refused(void)
{
	const struct journal_record *batch[2];
	struct journal_record rec;
	struct journal_crl c;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seq = 9;

	j = fresh(dir);
	crl_append(j, 5);
	expect_last(j, 5, 1);

	/* The same number, a lower one: refused in the append, nothing written. */
	crl_init(&c, 5);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: number 5 is not greater than 5, the number of record 1"));
	CU_ASSERT_EQUAL(seq, 0);
	crl_init(&c, 4);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: number 4 is not greater than 5"));
	CU_ASSERT_EQUAL(last_seq(j), 1);
	/* The same through journal_append(): the store refuses it, not only the wrapper. */
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CRL;
	rec.crl_number = 2;
	rec.crl_this_update = T0;
	rec.crl_next_update = T0 + 1;
	CU_ASSERT_EQUAL(journal_append(j, &rec, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: number 2 is not greater than 5"));
	/* In one batch, the second of two equal numbers falls alone. */
	rec.crl_number = 6;
	batch[0] = &rec;
	batch[1] = &rec;
	CU_ASSERT_EQUAL(journal_append_batch(j, batch, 2, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: number 6 is not greater than 6, the number of record 2"));
	CU_ASSERT_EQUAL(last_seq(j), 2);
	expect_last(j, 6, 2);

	/* Bad fields. */
	crl_init(&c, 0);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: number is 0"));
	crl_init(&c, 9);
	c.base_number = 9;
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "crl: base_number 9 is not below number 9"));
	crl_init(&c, 9);
	c.next_update = c.this_update;
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "is not after this_update"));
	CU_ASSERT_EQUAL(journal_crl_append(j, NULL, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, NULL), SD_E_INVAL);
	CU_ASSERT_EQUAL(last_seq(j), 2);
	expect_last(j, 6, 2);
	expect_verify(j, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The raw LMDB environment of a closed journal, for what only an attacker or an old version writes. */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *crls)
{
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(env), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_set_maxdbs(*env, 16), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(*env, dir, 0, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(*env, NULL, 0, txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(*txn, "crls", 0, crls), 0);
}

static void
raw_close(MDB_env *env, MDB_txn *txn)
{
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Delete the database name: a journal from before it. */
static void
raw_drop(const char *dir, const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	raw_open(dir, &env, &txn, &dbi);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, name, 0, &dbi), 0);
	CU_ASSERT_EQUAL(mdb_drop(txn, dbi, 1), 0);
	raw_close(env, txn);
}

/* Set (number != NULL) or delete the crls entry of record seq. */
static void
raw_crl(const char *dir, uint64_t seq, const uint64_t *number)
{
	uint8_t key[8], val[8];
	MDB_val k = { 8, key }, v = { 8, val };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	be64_put(key, seq);
	raw_open(dir, &env, &txn, &dbi);
	if (number == NULL) {
		CU_ASSERT_EQUAL(mdb_del(txn, dbi, &k, NULL), 0);
	} else {
		be64_put(val, *number);
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	raw_close(env, txn);
}

static void
test_crl_reopen_readonly(void)
{
	struct journal_crl c;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seq = 0;

	j = fresh(dir);
	crl_append(j, 3);
	CU_ASSERT_EQUAL(issue(j, 1, true), 3);
	journal_close(j);

	/* The last number survives a reopen: the next CRL is still held to it. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	expect_last(j, 3, 1);
	crl_init(&c, 3);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(crl_append(j, 4), 4);
	journal_close(j);

	/* A read-only handle reads it and writes nothing. */
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	expect_last(j, 4, 4);
	crl_init(&c, 10);
	CU_ASSERT_EQUAL(journal_crl_append(j, &c, &seq), SD_E_JOURNAL);
	CU_ASSERT_EQUAL(seq, 0);
	expect_last(j, 4, 4);
	expect_verify(j, 4);
	journal_close(j);
	sd_test_rmtree(dir);

	/* A journal from before the crls index: readers see no CRL, a writer's open creates it. */
	j = fresh(dir);
	CU_ASSERT_EQUAL(issue(j, 1, true), 2);
	journal_close(j);
	raw_drop(dir, "crls");
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	expect_last(j, 0, 0);
	expect_verify(j, 2);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	expect_last(j, 0, 0);
	CU_ASSERT_EQUAL(crl_append(j, 1), 3);
	expect_last(j, 1, 3);
	expect_verify(j, 3);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* journal_serial_state() of id must fail with err. */
static void
expect_state_err(struct journal *j, uint64_t id, int err)
{
	struct journal_serial_state st;
	uint8_t serial[8];

	be64_put(serial, id);
	memset(&st, 0x5a, sizeof(st));
	CU_ASSERT_EQUAL(journal_serial_state(j, serial, 8, &st), err);
	CU_ASSERT(!st.parsed && !st.revoked && st.not_before == 0 && st.not_after == 0);
}

static void
expect_state(struct journal *j, uint64_t id, bool parsed, bool revoked, uint8_t reason)
{
	struct journal_serial_state st;
	uint8_t serial[8];

	be64_put(serial, id);
	CU_ASSERT_EQUAL_FATAL(journal_serial_state(j, serial, 8, &st), 0);
	CU_ASSERT_EQUAL(st.parsed, parsed);
	CU_ASSERT_EQUAL(st.not_before, parsed ? T0 - (int64_t)id * DAY : 0);
	CU_ASSERT_EQUAL(st.not_after, parsed ? T0 + 365 * DAY : 0);
	CU_ASSERT_EQUAL(st.revoked, revoked);
	CU_ASSERT_EQUAL(st.revoked_ms, revoked ? REVOKED_MS + (int64_t)id : 0);
	CU_ASSERT_EQUAL(st.revocation_reason, revoked ? reason : 0);
}

/*
 * Certificates 1 (revoked, key compromise), 2 (legacy, revoked, superseded),
 * 3 (not revoked), 5 (revoked, cessation), 6 (legacy, not revoked); 4 an
 * intent without a result.
 */
static void
fill_states(struct journal *j)
{
	issue(j, 1, true);
	issue_legacy(j, 2);
	issue(j, 3, true);
	issue(j, 4, false);
	issue(j, 5, true);
	issue_legacy(j, 6);
	revoke(j, 5, JOURNAL_CRL_CESSATION_OF_OPERATION);
	revoke(j, 1, JOURNAL_CRL_KEY_COMPROMISE);
	revoke(j, 2, JOURNAL_CRL_SUPERSEDED);
}

static void
check_states(struct journal *j)
{
	struct journal_serial_state st;
	uint8_t serial[JOURNAL_SERIAL_MAX + 1] = { 0 };

	expect_state(j, 1, true, true, JOURNAL_CRL_KEY_COMPROMISE);
	expect_state(j, 2, false, true, JOURNAL_CRL_SUPERSEDED);
	expect_state(j, 3, true, false, 0);
	expect_state(j, 5, true, true, JOURNAL_CRL_CESSATION_OF_OPERATION);
	expect_state(j, 6, false, false, 0);
	expect_state_err(j, 4, SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "serial 0000000000000004 has an intent (record 6) but no certificate"));
	expect_state_err(j, 99, SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "serial 0000000000000063 is not in the journal"));
	CU_ASSERT_EQUAL(journal_serial_state(j, serial, 0, &st), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_serial_state(j, serial, JOURNAL_SERIAL_MAX + 1, &st), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_serial_state(j, NULL, 8, &st), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_serial_state(j, serial, 8, NULL), SD_E_INVAL);
}

struct visits {
	uint64_t ids[8];
	size_t n;
	size_t stop_after;	/* 0: never */
};

static int
visit(const uint8_t *serial, size_t len, const struct journal_serial_state *st, void *ctx)
{
	struct visits *v = ctx;
	uint64_t id = 0;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(len, 8);
	for (i = 0; i < 8; i++)
		id = id << 8 | serial[i];
	CU_ASSERT_FATAL(v->n < 8);
	v->ids[v->n++] = id;
	/* The same state journal_serial_state() gives. */
	CU_ASSERT(st->revoked);
	CU_ASSERT_EQUAL(st->revoked_ms, REVOKED_MS + (int64_t)id);
	CU_ASSERT_EQUAL(st->parsed, id != 2);
	CU_ASSERT_EQUAL(st->not_after, id != 2 ? T0 + 365 * DAY : 0);
	if (id == 1)
		CU_ASSERT_EQUAL(st->revocation_reason, JOURNAL_CRL_KEY_COMPROMISE);
	if (v->stop_after != 0 && v->n == v->stop_after)
		return 42;
	return 0;
}

static void
check_revoked_walk(struct journal *j)
{
	struct visits v;

	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(journal_revoked_foreach(j, visit, &v), 0);
	/* Exactly the revoked ones, in serial order. */
	CU_ASSERT_EQUAL_FATAL(v.n, 3);
	CU_ASSERT(v.ids[0] == 1 && v.ids[1] == 2 && v.ids[2] == 5);
	memset(&v, 0, sizeof(v));
	v.stop_after = 2;
	CU_ASSERT_EQUAL(journal_revoked_foreach(j, visit, &v), 42);
	CU_ASSERT_EQUAL(v.n, 2);
	CU_ASSERT_EQUAL(journal_revoked_foreach(j, NULL, &v), SD_E_INVAL);
}

static int
count_visit(const uint8_t *serial, size_t len, const struct journal_serial_state *st, void *ctx)
{
	(void)serial;
	(void)len;
	(void)st;
	(*(size_t *)ctx)++;
	return 0;
}

static void
test_serial_state(void)
{
	struct journal *j;
	char dir[PATH_MAX];
	size_t n = 0;

	j = fresh(dir);
	CU_ASSERT_EQUAL(journal_revoked_foreach(j, count_visit, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	fill_states(j);
	check_states(j);
	check_revoked_walk(j);
	journal_close(j);
	/* A reader sees the same. */
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	check_states(j);
	check_revoked_walk(j);
	journal_close(j);
	/* Without the certificate index at all: the state never reads it. */
	raw_drop(dir, "inventory");
	raw_drop(dir, "inv_meta");
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	check_states(j);
	check_revoked_walk(j);
	journal_close(j);
	sd_test_rmtree(dir);
}

struct racer {
	struct journal *j;
	pthread_barrier_t *go;
	uint64_t number;
	int rc;
	uint64_t seq;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct journal_crl c;
	int b;

	crl_init(&c, r->number);
	b = pthread_barrier_wait(r->go);
	if (b != 0 && b != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
	r->rc = journal_crl_append(r->j, &c, &r->seq);
	return NULL;
}

static void
test_crl_race(void)
{
	struct racer r[2];
	pthread_barrier_t go;
	pthread_t t[2];
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t round, number, last_ok = 0;
	int i;

	j = fresh(dir);
	for (round = 1; round <= RACE_ROUNDS; round++) {
		CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&go, NULL, 2), 0);
		for (i = 0; i < 2; i++) {
			r[i].j = j;
			r[i].go = &go;
			r[i].number = round * 10;
			r[i].rc = -1;
			r[i].seq = 0;
			CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (i = 0; i < 2; i++)
			CU_ASSERT_EQUAL_FATAL(pthread_join(t[i], NULL), 0);
		pthread_barrier_destroy(&go);
		/* Exactly one wins; the other is told, and nothing of it is written. */
		CU_ASSERT((r[0].rc == 0) != (r[1].rc == 0));
		CU_ASSERT(r[0].rc == SD_E_INVAL || r[1].rc == SD_E_INVAL);
		CU_ASSERT(r[0].seq == 0 || r[1].seq == 0);
		last_ok = r[0].rc == 0 ? r[0].seq : r[1].seq;
		CU_ASSERT_EQUAL(last_ok, round);
	}
	number = RACE_ROUNDS * 10;
	expect_last(j, number, last_ok);
	expect_verify(j, RACE_ROUNDS);
	journal_close(j);
	sd_test_rmtree(dir);
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
test_crl_tampered(void)
{
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t v;

	j = fresh(dir);
	crl_append(j, 2);
	issue(j, 1, true);
	crl_append(j, 5);	/* record 4 */
	journal_close(j);

	/* The stored last number rolled back: the next CRL could reuse a number. */
	v = 3;
	raw_crl(dir, 4, &v);
	verify_fails(dir, 4, "crls index: entry of record 4 does not hold its CRL number 5");
	v = 5;
	raw_crl(dir, 4, &v);
	/* Deleted: the last number would fall back to 2. */
	raw_crl(dir, 4, NULL);
	verify_fails(dir, 4, "crls index: entry of record 4 is missing");
	raw_crl(dir, 4, &v);
	/* A stray entry after the last CRL: the next CRL would be held to its number. */
	v = 1000;
	raw_crl(dir, 9, &v);
	verify_fails(dir, 9, "crls index: the last CRL number is 1000 (record 9), but the last CRL record is 5 (record 4)");
	raw_crl(dir, 9, NULL);
	/* A stray entry before it. */
	v = 1;
	raw_crl(dir, 2, &v);
	verify_fails(dir, 0, "crls index holds 3 entries for 2 records");
	raw_crl(dir, 2, NULL);
	/* No index at all, yet CRL records. */
	raw_drop(dir, "crls");
	verify_fails(dir, 1, "crls index: missing, yet record 1 is a CRL");

	/* A writer's open recreates it empty; verify still names the loss. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	journal_close(j);
	verify_fails(dir, 1, "crls index: entry of record 1 is missing");
	v = 2;
	raw_crl(dir, 1, &v);
	v = 5;
	raw_crl(dir, 4, &v);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	expect_verify(j, 4);
	expect_last(j, 5, 4);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* A CRL record at seq chained to prev, encoded (free()). */
static uint8_t *
crl_encoded(uint64_t seq, uint64_t number, const uint8_t prev[JOURNAL_HASH_LEN], uint8_t hash[JOURNAL_HASH_LEN],
    size_t *len)
{
	struct journal_record rec;
	struct journal_crl c;
	uint8_t *buf = NULL;

	crl_init(&c, number);
	memset(&rec, 0, sizeof(rec));
	rec.version = JOURNAL_FORMAT_VERSION;
	rec.type = JOURNAL_REC_CRL;
	rec.seq = seq;
	rec.time_ms = REVOKED_MS;
	memcpy(rec.prev_hash, prev, JOURNAL_HASH_LEN);
	rec.crl_number = c.number;
	rec.crl_this_update = c.this_update;
	rec.crl_next_update = c.next_update;
	memcpy(rec.crl_sha256, c.sha256, JOURNAL_HASH_LEN);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &buf, len), 0);
	sha256(buf, *len, hash);
	return buf;
}

/* The auditor's walk over records 1..n of the given numbers: 0, or where it stopped. */
static uint64_t
stream_numbers(const uint64_t *numbers, size_t n)
{
	struct journal_verify_report r;
	struct journal_stream *s = NULL;
	uint8_t prev[JOURNAL_HASH_LEN] = { 0 }, hash[JOURNAL_HASH_LEN];
	uint8_t *buf;
	size_t i, len = 0;
	int rc = 0;

	CU_ASSERT_EQUAL_FATAL(journal_stream_new(NULL, &s), 0);
	for (i = 0; i < n && rc == 0; i++) {
		buf = crl_encoded(i + 1, numbers[i], prev, hash, &len);
		rc = journal_stream_add(s, 0, buf, len, NULL);
		free(buf);
		memcpy(prev, hash, JOURNAL_HASH_LEN);
	}
	if (rc == 0)
		rc = journal_stream_finish(s);
	journal_stream_report(s, &r);
	journal_stream_free(s);
	CU_ASSERT(rc == 0 || rc == SD_E_JOURNAL_CORRUPT);
	return rc == 0 ? 0 : r.bad_seq;
}

static void
test_crl_order(void)
{
	static const uint64_t good[] = { 1, 2, 9, 10 }, back[] = { 1, 5, 4 }, same[] = { 3, 7, 7, 8 };

	/* The export walk holds CRL numbers to journal order, as verify does. */
	CU_ASSERT_EQUAL(stream_numbers(good, 4), 0);
	CU_ASSERT_EQUAL(stream_numbers(back, 3), 3);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 3: CRL number 4 is not greater than 5 of record 2"));
	CU_ASSERT_EQUAL(stream_numbers(same, 4), 3);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 3: CRL number 7 is not greater than 7 of record 2"));
}

int
main(void)
{
	static const struct sd_test_case crl[] = {
		{ "append CRLs; the last number and seq; a delta; the record; verify", test_crl_append_last },
		{ "a number not above the last, bad fields, a batch of two equal: nothing written", test_crl_refused },
		{ "the last number survives reopen; read-only handles; a journal from before the index",
		    test_crl_reopen_readonly },
		{ "two threads append the same number: exactly one wins", test_crl_race },
		{ "verify names a rolled-back, deleted, stray or missing crls index", test_crl_tampered },
		{ "the auditor's walk refuses CRL numbers that do not grow", test_crl_order },
	};
	static const struct sd_test_case state[] = {
		{ "serial state of unknown, intent-only, issued, legacy and revoked serials; revoked walk",
		    test_serial_state },
	};
	int rc;

	SD_TEST_SUITE("journal_crl", crl);
	SD_TEST_SUITE("journal_serial_state", state);
	rc = sd_test_run("test_journal_crl");
	tcert_cleanup();
	return rc;
}
