/*
 * Journal tests, appending under concurrency: threads appending one by one
 * and in batches, group commit sharing durable commits, a batch keeping the
 * records the store does not refuse, checkpoints taken meanwhile, and the
 * map growing to its maximum.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define THREADS 4
#define PER_THREAD 250

struct worker {
	struct journal *j;
	unsigned id;
	uint64_t seqs[PER_THREAD];
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct tiss t;
	size_t i;

	for (i = 0; i < PER_THREAD; i++) {
		tiss_init(&t, (uint64_t)(w->id + 1) << 32 | i, 200 + i);
		if (journal_append_issuance(w->j, &t.in, &w->seqs[i]) != 0)
			w->failures++;
		tiss_free(&t);
	}
	return NULL;
}

static void
test_commit_threads(void)
{
	static struct worker w[THREADS];
	static bool seen[THREADS * PER_THREAD + 1];
	struct journal_options o = { MAP_DEFAULT, 0, false, 5 };
	struct journal_stats st;
	pthread_t tid[THREADS];
	struct journal *j = NULL;
	uint64_t through, last;
	char dir[PATH_MAX];
	unsigned i;
	size_t k;
	int dup = 0;

	sd_test_tmpdir(dir, "journal");
	/* With the indexing thread: its batches ride on the appenders' commits. */
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].j = j;
		w[i].id = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(w[i].failures, 0);
		for (k = 0; k < PER_THREAD; k++) {
			uint64_t s = w[i].seqs[k];

			if (s == 0 || s > THREADS * PER_THREAD || seen[s])
				dup++;
			else
				seen[s] = true;
			/* Each thread's own appends are ordered. */
			if (k > 0 && s <= w[i].seqs[k - 1])
				dup++;
		}
	}
	CU_ASSERT_EQUAL(dup, 0);
	expect_verify(j, THREADS * PER_THREAD);
	journal_stats_get(j, &st);
	CU_ASSERT(st.index_shared >= 1);
	CU_ASSERT_EQUAL(st.index_failures, 0);
	CU_ASSERT_EQUAL(journal_index_sync(j), 0);
	CU_ASSERT_EQUAL(journal_certs_indexed(j, &through, &last), 0);
	CU_ASSERT_EQUAL(through, THREADS * PER_THREAD);
	expect_verify(j, THREADS * PER_THREAD);
	journal_close(j);
	sd_test_rmtree(dir);
}

#define GC_THREADS 16
#define GC_PER_THREAD 40

struct gc_worker {
	struct journal *j;
	unsigned id;
	int failures;
};

static void *
gc_run(void *arg)
{
	struct gc_worker *w = arg;
	struct journal_record r;
	uint8_t serial[8], cert[500];
	uint64_t in, out;
	unsigned i;

	memset(cert, 1, sizeof(cert));
	for (i = 0; i < GC_PER_THREAD; i++) {
		rec_intent(&r, serial, (uint64_t)(w->id + 1) << 32 | i);
		if (journal_append(w->j, &r, &in) != 0) {
			w->failures++;
			continue;
		}
		rec_result(&r, serial, in, cert, sizeof(cert));
		if (journal_append(w->j, &r, &out) != 0)
			w->failures++;
	}
	return NULL;
}

/* 16 concurrent appenders share commits: fewer durable commits than records. */
static void
test_commit_group(void)
{
	struct gc_worker w[GC_THREADS];
	pthread_t tid[GC_THREADS];
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct timespec t0, t1;
	double secs;
	unsigned i;
	int failures = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < GC_THREADS; i++) {
		w[i] = (struct gc_worker){ j, i, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, gc_run, &w[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_EQUAL(failures, 0);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.records, 2 * GC_THREADS * GC_PER_THREAD);
	CU_ASSERT(st.commits < st.records);
	fprintf(stderr, "\n    group commit: %d appenders, %llu records in %llu durable commits "
	    "(%.2f commits per record), %.0f records/s\n", GC_THREADS, (unsigned long long)st.records,
	    (unsigned long long)st.commits, (double)st.commits / (double)st.records, (double)st.records / secs);
	expect_verify(j, 2 * GC_THREADS * GC_PER_THREAD);
	journal_close(j);
	sd_test_rmtree(dir);
}

/*
 * A batch in which the store refuses records: the others are committed in
 * order, in one commit, and nothing of a refused record is kept (no record,
 * no index entry, no Merkle node: verify would see it).
 */
static void
test_commit_batch_refused(void)
{
	struct journal_verify_report rep;
	struct journal_record r[4], *got = NULL;
	const struct journal_record *p[4] = { &r[0], &r[1], &r[2], &r[3] };
	uint8_t serial[4][8], other[8], cert[100];
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t first = 9, last = 0, in, out;

	memset(cert, 7, sizeof(cert));
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	rec_intent(&r[0], serial[0], 0x100);
	rec_intent(&r[1], serial[1], 0x101);
	rec_intent(&r[2], serial[2], 0x100);	/* the serial of r[0] again */
	rec_intent(&r[3], serial[3], 0x102);
	CU_ASSERT_EQUAL(journal_append_batch(j, p, 4, &first), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "serial 0000000000000100 is already journaled (record 1)"));
	CU_ASSERT_EQUAL(first, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 3, &got), 0);
	CU_ASSERT(got->serial_len == 8 && memcmp(got->serial, serial[3], 8) == 0);
	journal_record_free(got);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[3], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(in, 3);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.commits, 1);
	CU_ASSERT_EQUAL(st.records, 3);
	expect_verify(j, 3);

	/* A result naming another serial's intent, between two good results. */
	rec_result(&r[0], serial[0], 1, cert, sizeof(cert));
	be64_put(other, 0x102);
	rec_result(&r[1], other, 2, cert, sizeof(cert));
	rec_result(&r[2], serial[3], 3, cert, sizeof(cert));
	CU_ASSERT_EQUAL(journal_append_batch(j, p, 3, &first), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "result: record 2 is not the intent of this serial"));
	CU_ASSERT_EQUAL(first, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 5);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[0], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 4);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[1], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 0);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[3], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 5);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.commits, 2);
	CU_ASSERT_EQUAL(st.records, 5);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, 5);
	CU_ASSERT_EQUAL(rep.open_intents, 1);
	CU_ASSERT_EQUAL(rep.first_open_intent, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

/*
 * 32 threads, half appending intent/result pairs one by one, half in
 * batches, and a checkpointer, into a map that has to grow meanwhile.
 */
#define CC_THREADS 32
#define CC_ROUNDS 10
#define CC_BATCH 3
#define CC_PER_WORKER (2 * CC_BATCH * CC_ROUNDS)
#define CC_CHECKPOINTS 8
#define CC_RECORDS (CC_THREADS * CC_PER_WORKER + CC_CHECKPOINTS)

struct cc_worker {
	struct journal *j;
	unsigned id;
	bool batch;
	size_t n;
	uint64_t seq[CC_PER_WORKER];	/* what each call said its record got */
	uint64_t serial[CC_PER_WORKER];	/* and the serial (as rec_intent's id) and type of that record */
	uint8_t type[CC_PER_WORKER];
	int failures;
};

static uint64_t
cc_id(unsigned worker, unsigned round, unsigned k)
{
	return (uint64_t)(worker + 1) << 32 | round << 8 | k;
}

static void
cc_note(struct cc_worker *w, uint64_t seq, uint64_t id, uint8_t type)
{
	if (w->n >= CC_PER_WORKER)
		abort();
	w->seq[w->n] = seq;
	w->serial[w->n] = id;
	w->type[w->n] = type;
	w->n++;
}

static void *
cc_run(void *arg)
{
	struct cc_worker *w = arg;
	struct journal_record r[CC_BATCH];
	const struct journal_record *p[CC_BATCH];
	uint8_t serial[CC_BATCH][8], cert[400];
	uint64_t seq;
	unsigned round, k;

	memset(cert, (int)w->id, sizeof(cert));
	for (round = 0; round < CC_ROUNDS; round++) {
		for (k = 0; k < CC_BATCH; k++) {
			rec_intent(&r[k], serial[k], cc_id(w->id, round, k));
			p[k] = &r[k];
		}
		if (!w->batch) {
			for (k = 0; k < CC_BATCH; k++) {
				if (journal_append(w->j, &r[k], &seq) != 0) {
					w->failures++;
					continue;
				}
				cc_note(w, seq, cc_id(w->id, round, k), JOURNAL_REC_INTENT);
				rec_result(&r[k], serial[k], seq, cert, sizeof(cert));
				if (journal_append(w->j, &r[k], &seq) != 0) {
					w->failures++;
					continue;
				}
				cc_note(w, seq, cc_id(w->id, round, k), JOURNAL_REC_RESULT);
			}
			continue;
		}
		if (journal_append_batch(w->j, p, CC_BATCH, &seq) != 0) {
			w->failures++;
			continue;
		}
		for (k = 0; k < CC_BATCH; k++) {
			cc_note(w, seq + k, cc_id(w->id, round, k), JOURNAL_REC_INTENT);
			rec_result(&r[k], serial[k], seq + k, cert, sizeof(cert));
		}
		if (journal_append_batch(w->j, p, CC_BATCH, &seq) != 0) {
			w->failures++;
			continue;
		}
		for (k = 0; k < CC_BATCH; k++)
			cc_note(w, seq + k, cc_id(w->id, round, k), JOURNAL_REC_RESULT);
	}
	return NULL;
}

struct cc_checkpointer {
	struct journal *j;
	struct tkey *k;
	uint64_t seq[CC_CHECKPOINTS];
	int failures;
};

static void *
cc_checkpoint_run(void *arg)
{
	struct cc_checkpointer *c = arg;
	unsigned i;

	for (i = 0; i < CC_CHECKPOINTS; i++) {
		sd_test_sleep_ms(2);
		if (journal_append_checkpoint(c->j, 1, tkey_sign, c->k, &c->seq[i], NULL) != 0)
			c->failures++;
	}
	return NULL;
}

static void
test_commit_concurrent(void)
{
	struct journal_options o = { 256 * 1024, 64 * 1024 * 1024, false, 0 };
	static struct cc_worker w[CC_THREADS];
	static uint64_t want_serial[CC_RECORDS + 1];
	static uint8_t want_type[CC_RECORDS + 1];
	struct cc_checkpointer cp;
	struct journal_verify_report rep;
	struct journal_record *got;
	pthread_t tid[CC_THREADS], cp_tid;
	struct journal_stats st;
	struct journal *j = NULL;
	struct tkey k;
	char dir[PATH_MAX];
	uint8_t serial[8];
	uint64_t last = 0, s;
	unsigned i;
	size_t n;
	int failures = 0, bad = 0, wrong = 0;

	tkey_init(&k);
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	memset(want_type, 0, sizeof(want_type));
	cp = (struct cc_checkpointer){ .j = j, .k = &k };
	CU_ASSERT_EQUAL_FATAL(pthread_create(&cp_tid, NULL, cc_checkpoint_run, &cp), 0);
	for (i = 0; i < CC_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].j = j;
		w[i].id = i;
		w[i].batch = i % 2 == 1;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, cc_run, &w[i]), 0);
	}
	for (i = 0; i < CC_THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(tid[i], NULL), 0);
	CU_ASSERT_EQUAL(pthread_join(cp_tid, NULL), 0);

	/* Every call got its own seq, 1..CC_RECORDS between them, each thread's in order. */
	failures = cp.failures;
	for (i = 0; i < CC_CHECKPOINTS; i++) {
		s = cp.seq[i];
		if (s == 0 || s > CC_RECORDS || want_type[s] != 0 || (i > 0 && s <= cp.seq[i - 1]))
			bad++;
		else
			want_type[s] = JOURNAL_REC_CHECKPOINT;
	}
	for (i = 0; i < CC_THREADS; i++) {
		failures += w[i].failures;
		CU_ASSERT_EQUAL(w[i].n, CC_PER_WORKER);
		for (n = 0; n < w[i].n; n++) {
			s = w[i].seq[n];
			if (s == 0 || s > CC_RECORDS || want_type[s] != 0 || (n > 0 && s <= w[i].seq[n - 1])) {
				bad++;
				continue;
			}
			want_type[s] = w[i].type[n];
			want_serial[s] = w[i].serial[n];
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, CC_RECORDS);

	/* Each seq holds the record its caller appended. */
	for (s = 1; s <= CC_RECORDS; s++) {
		got = NULL;
		if (journal_get(j, s, &got) != 0 || got->type != want_type[s]) {
			wrong++;
		} else if (got->type != JOURNAL_REC_CHECKPOINT) {
			be64_put(serial, want_serial[s]);
			if (got->serial_len != 8 || memcmp(got->serial, serial, 8) != 0)
				wrong++;
		}
		journal_record_free(got);
	}
	CU_ASSERT_EQUAL(wrong, 0);

	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.records, CC_RECORDS);
	CU_ASSERT(st.commits < st.records);
	CU_ASSERT(st.grows >= 1);
	fprintf(stderr, "\n    %d threads and a checkpointer: %llu records in %llu commits, %llu map grows\n",
	    CC_THREADS, (unsigned long long)st.records, (unsigned long long)st.commits,
	    (unsigned long long)st.grows);
	CU_ASSERT_EQUAL(journal_verify_full(j, &k.ak, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, CC_RECORDS);
	CU_ASSERT_EQUAL(rep.checkpoints, CC_CHECKPOINTS);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	journal_close(j);
	EVP_PKEY_free(k.pkey);
	sd_test_rmtree(dir);
}

/* The map grows up to its maximum, then refuses with nothing written; the journal still verifies. */
static void
test_commit_map_grow(void)
{
	struct journal_options o = { 256 * 1024, 2 * 1024 * 1024, false, 0 };
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq, last = 0, i;
	int rc = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	for (i = 1; i <= 1000; i++) {
		tiss_init(&t, i, 10 * 1024);
		rc = journal_append_issuance(j, &t.in, &seq);
		tiss_free(&t);
		if (rc != 0)
			break;
		last = seq;
	}
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_FULL);
	CU_ASSERT(detail_has(rc, "(the configured maximum); nothing was written"));
	journal_stats_get(j, &st);
	CU_ASSERT(st.grows >= 2);
	CU_ASSERT_EQUAL(st.map_size, 2 * 1024 * 1024);
	CU_ASSERT(last > 100);	/* far more than the 256 KiB map held */
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL_FULL);
	expect_verify(j, last);
	journal_close(j);
	/* Reopened with the same maximum: still full, still consistent. */
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, last);
	expect_verify(j, last);
	journal_close(j);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case commit[] = {
		{ "4 threads x 250 appends, the certificate index riding on their commits", test_commit_threads },
		{ "16 appenders share durable commits", test_commit_group },
		{ "a batch keeps the records the store does not refuse", test_commit_batch_refused },
		{ "32 threads: appends, batches, checkpoints, map growth", test_commit_concurrent },
		{ "the map grows to its maximum, then refuses", test_commit_map_grow },
	};

	SD_TEST_SUITE("journal_commit", commit);
	return sd_test_run("test_journal_commit");
}
