/*
 * Journal tests, one durable commit per issuance: intents that hold the
 * whole TBS, results appended without waiting (they ride on the next
 * commit, or the flusher's), what close and readers flush, refused later
 * records, the start-up scan that journals open intents as unresolved, and
 * the auditor's check that a result's certificate carries its intent's TBS.
 * A real LMDB environment throughout.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define LATER_THREADS 8
#define LATER_PER_THREAD 150

/* A TBS-like SEQUENCE whose INTEGER is id, and a certificate around it. */
struct tcertpair {
	uint8_t tbs[5];
	uint8_t cert[12];
	uint8_t serial[3];
};

static void
pair_init(struct tcertpair *p, uint32_t id, uint8_t tbs_int)
{
	const uint8_t tbs[5] = { 0x30, 0x03, 0x02, 0x01, tbs_int };
	const uint8_t cert[12] = { 0x30, 0x0a, 0x30, 0x03, 0x02, 0x01, tbs_int, 0x30, 0x00, 0x03, 0x01, 0x00 };

	memcpy(p->tbs, tbs, sizeof(tbs));
	memcpy(p->cert, cert, sizeof(cert));
	p->serial[0] = (uint8_t)(0x01 + (id >> 16 & 0x7f));
	p->serial[1] = (uint8_t)(id >> 8);
	p->serial[2] = (uint8_t)id;
}

static void
intent_fill(struct journal_record *r, struct tcertpair *p)
{
	memset(r, 0, sizeof(*r));
	r->type = JOURNAL_REC_INTENT_TBS;
	r->time_ms = 1000;
	r->client_subject = "CN=later";
	r->profile = "web";
	r->serial = p->serial;
	r->serial_len = sizeof(p->serial);
	r->tbs_der = p->tbs;
	r->tbs_der_len = sizeof(p->tbs);
}

static void
result_fill(struct journal_record *r, struct tcertpair *p, uint64_t intent_seq)
{
	memset(r, 0, sizeof(*r));
	r->type = JOURNAL_REC_RESULT;
	r->time_ms = 1001;
	r->intent_seq = intent_seq;
	r->serial = p->serial;
	r->serial_len = sizeof(p->serial);
	r->cert_der = p->cert;
	r->cert_der_len = sizeof(p->cert);
}

static void
service(struct journal *j, uint8_t event)
{
	struct journal_record r;
	uint64_t seq;

	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_SERVICE;
	r.time_ms = 999;
	r.event = event;
	r.detail = "test";
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &seq), 0);
}

static struct journal *
open_tmp(char dir[PATH_MAX])
{
	struct journal *j = NULL;

	sd_test_tmpdir(dir, "journal-later");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	return j;
}

/* A result appended later is committed by the flusher alone, or by the next waiting append with its own. */
static void
test_later_rides(void)
{
	struct journal_record r, *got = NULL;
	struct journal_verify_report rep;
	struct journal_stats st;
	struct tcertpair a, b;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seq, ia, ib;

	j = open_tmp(dir);
	pair_init(&a, 1, 5);
	pair_init(&b, 2, 6);
	intent_fill(&r, &a);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ia), 0);
	result_fill(&r, &a, ia);
	CU_ASSERT_EQUAL_FATAL(journal_append_later(j, &r), 0);
	/* The next intent's own durable commit takes the pending result along (or the flusher did already). */
	intent_fill(&r, &b);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ib), 0);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.later_pending, 0);
	CU_ASSERT_EQUAL(ib, 3);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 2, &got), 0);
	CU_ASSERT_EQUAL(got->type, JOURNAL_REC_RESULT);
	CU_ASSERT_EQUAL(got->intent_seq, ia);
	journal_record_free(got);
	got = NULL;

	/* Alone, the flusher commits it; a reader flushes first and sees it. */
	result_fill(&r, &b, ib);
	CU_ASSERT_EQUAL_FATAL(journal_append_later(j, &r), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, 4);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 3, &got), 0);
	CU_ASSERT_EQUAL(got->type, JOURNAL_REC_INTENT_TBS);
	CU_ASSERT_EQUAL(got->tbs_der_len, sizeof(b.tbs));
	CU_ASSERT(got->tbs_der != NULL && memcmp(got->tbs_der, b.tbs, sizeof(b.tbs)) == 0);
	sha256(b.tbs, sizeof(b.tbs), r.tbs_sha256);
	CU_ASSERT(memcmp(got->tbs_sha256, r.tbs_sha256, JOURNAL_HASH_LEN) == 0);
	journal_record_free(got);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, 4);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	CU_ASSERT_EQUAL(rep.unresolved, 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* Closing commits what is pending; a refused later record is logged and counted, nothing written. */
static void
test_later_close_and_refused(void)
{
	struct journal_record r, *got = NULL;
	struct journal_stats st;
	struct tcertpair a;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seq, ia;

	j = open_tmp(dir);
	pair_init(&a, 7, 5);
	intent_fill(&r, &a);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ia), 0);
	result_fill(&r, &a, ia);
	CU_ASSERT_EQUAL_FATAL(journal_append_later(j, &r), 0);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 2, &got), 0);
	CU_ASSERT_EQUAL(got->type, JOURNAL_REC_RESULT);
	journal_record_free(got);

	/* A result of no intent: accepted into the queue, refused by the store, counted. */
	result_fill(&r, &a, 99);
	CU_ASSERT_EQUAL(journal_append_later(j, &r), 0);
	journal_flush(j);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.later_failed, 1);
	CU_ASSERT_EQUAL(st.later_pending, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	/* Refused before queueing: a checkpoint, a field out of its limits, a read-only handle. */
	r.type = JOURNAL_REC_CHECKPOINT;
	CU_ASSERT_EQUAL(journal_append_later(j, &r), SD_E_INVAL);
	result_fill(&r, &a, 0);
	CU_ASSERT_EQUAL(journal_append_later(j, &r), SD_E_INVAL);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	result_fill(&r, &a, 1);
	CU_ASSERT_EQUAL(journal_append_later(j, &r), SD_E_JOURNAL);
	journal_close(j);
	sd_test_rmtree(dir);
}

struct later_worker {
	struct journal *j;
	uint32_t id;
	int failures;
};

static void *
later_worker_run(void *arg)
{
	struct later_worker *w = arg;
	struct journal_record r;
	struct tcertpair p;
	uint64_t seq;
	uint32_t i;

	for (i = 0; i < LATER_PER_THREAD; i++) {
		pair_init(&p, w->id * 1000 + i, (uint8_t)i);
		intent_fill(&r, &p);
		if (journal_append(w->j, &r, &seq) != 0) {
			w->failures++;
			continue;
		}
		result_fill(&r, &p, seq);
		if (journal_append_later(w->j, &r) != 0)
			w->failures++;
	}
	return NULL;
}

/* Threads issuing intent then later result: every result lands, in fewer commits than records. */
static void
test_later_concurrent(void)
{
	struct later_worker w[LATER_THREADS];
	pthread_t th[LATER_THREADS];
	struct journal_verify_report rep;
	struct journal_stats st;
	struct journal *j;
	char dir[PATH_MAX];
	unsigned i;

	j = open_tmp(dir);
	for (i = 0; i < LATER_THREADS; i++) {
		w[i] = (struct later_worker){ j, i + 1, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, later_worker_run, &w[i]), 0);
	}
	for (i = 0; i < LATER_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	journal_flush(j);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.later_pending, 0);
	CU_ASSERT_EQUAL(st.later_failed, 0);
	CU_ASSERT_EQUAL(st.records, 2 * LATER_THREADS * LATER_PER_THREAD);
	CU_ASSERT(st.commits < st.records / 2);
	fprintf(stderr, "\n    %d threads: %llu records in %llu commits\n", LATER_THREADS,
	    (unsigned long long)st.records, (unsigned long long)st.commits);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, 2 * LATER_THREADS * LATER_PER_THREAD);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* After a crash, the intents of the last run without a result get one unresolved record each. */
static void
test_resolve_intents(void)
{
	struct journal_record r, *got = NULL;
	struct journal_verify_report rep;
	struct tcertpair a, b, c, old;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t seq, n = 9, ia, ib, io;

	j = open_tmp(dir);
	CU_ASSERT_EQUAL(journal_resolve_intents(j, 5, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	/* A run that stopped cleanly with an intent open (an older signerd's failed signature): not scanned. */
	service(j, JOURNAL_SERVICE_START);
	pair_init(&old, 10, 9);
	intent_fill(&r, &old);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &io), 0);
	service(j, JOURNAL_SERVICE_STOP);
	/* The run that crashed: a open, b completed. */
	service(j, JOURNAL_SERVICE_START);
	pair_init(&a, 11, 1);
	pair_init(&b, 12, 2);
	intent_fill(&r, &a);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ia), 0);
	intent_fill(&r, &b);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ib), 0);
	result_fill(&r, &b, ib);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &seq), 0);
	service(j, JOURNAL_SERVICE_RELOAD);

	CU_ASSERT_EQUAL(journal_resolve_intents(j, 5, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, seq, &got), 0);
	CU_ASSERT_EQUAL(got->type, JOURNAL_REC_UNRESOLVED);
	CU_ASSERT_EQUAL(got->intent_seq, ia);
	CU_ASSERT(got->serial_len == sizeof(a.serial) && memcmp(got->serial, a.serial, sizeof(a.serial)) == 0);
	sha256(a.tbs, sizeof(a.tbs), r.tbs_sha256);
	CU_ASSERT(memcmp(got->tbs_sha256, r.tbs_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(got->detail, "found without a result at start-up");
	CU_ASSERT_STRING_EQUAL(journal_record_type_name(got->type), "unresolved");
	journal_record_free(got);
	/* Once only; the store refuses to close an intent that has its result. */
	CU_ASSERT_EQUAL(journal_resolve_intents(j, 5, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_UNRESOLVED;
	r.intent_seq = ib;
	r.serial = b.serial;
	r.serial_len = sizeof(b.serial);
	sha256(b.tbs, sizeof(b.tbs), r.tbs_sha256);
	r.detail = "";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "has its result"));
	/* Nor one whose TBS hash differs from its intent's. */
	pair_init(&c, 13, 3);
	intent_fill(&r, &c);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &seq), 0);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_UNRESOLVED;
	r.intent_seq = seq;
	r.serial = c.serial;
	r.serial_len = sizeof(c.serial);
	r.detail = "";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "not the intent of this serial and TBS"));

	/* The auditor: one unresolved (reported), the clean run's and c's intents still open. */
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.unresolved, 1);
	CU_ASSERT(rep.first_unresolved > ia);
	CU_ASSERT_EQUAL(rep.open_intents, 2);
	CU_ASSERT_EQUAL(rep.first_open_intent, io);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The auditor checks that a result's certificate carries exactly the TBS its intent holds. */
static void
test_verify_tbs(void)
{
	struct journal_record r;
	struct journal_verify_report rep;
	struct tcertpair a, other;
	struct journal *j;
	char dir[PATH_MAX];
	uint64_t ia, seq;
	int rc;

	j = open_tmp(dir);
	pair_init(&a, 20, 1);
	pair_init(&other, 20, 2);
	intent_fill(&r, &a);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &ia), 0);
	/* The certificate of another TBS (same serial): the store takes it, the auditor does not. */
	result_fill(&r, &other, ia);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &seq), 0);
	rc = journal_verify_full(j, NULL, &rep);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(rc, "record 2: the certificate's TBS differs from the one intent 1 holds"));
	CU_ASSERT_EQUAL(rep.bad_seq, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case later[] = {
		{ "a result appended later rides on the next commit or the flusher's", test_later_rides },
		{ "close commits what is pending; a refused later record is counted", test_later_close_and_refused },
		{ "8 threads: intents durable, results later, all land", test_later_concurrent },
		{ "the start-up scan journals open intents as unresolved", test_resolve_intents },
		{ "the auditor matches a result's TBS to its intent's", test_verify_tbs },
	};

	SD_TEST_SUITE("journal_later", later);
	return sd_test_run("test_journal_later");
}
