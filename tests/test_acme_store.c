/*
 * ACME store tests on real LMDB environments in temp dirs: open and its
 * options, objects (put, add, get, del, foreach) in transactions, the
 * expiry sweep, nonces (single use, lifetime, eviction, threads) and a map
 * that fills up.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "acme/acme_store.h"
#include "sd_error.h"
#include "sd_test.h"

#define NONCE_THREADS 4
#define NONCE_PER_THREAD 500

static const struct acme_store_options test_opts = {
	.map_size = 16 * 1024 * 1024,
	.nonce_max = 8192,
	.nonce_lifetime = 60,
	.no_sync = true,
};

static struct acme_store *
store_open(const char *dir, const struct acme_store_options *o)
{
	struct acme_store *st = NULL;

	CU_ASSERT_EQUAL_FATAL(acme_store_open(dir, o, &st), 0);
	return st;
}

static json_t *
obj(int n)
{
	json_t *v = json_pack("{si}", "n", n);

	if (v == NULL)
		abort();
	return v;
}

/* The "n" member of the object under key, or -1 when absent. */
static int
get_n(struct acme_store *st, enum acme_table t, const char *key)
{
	struct acme_txn *txn = NULL;
	json_t *v = NULL;
	int n = -1;

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, false, &txn), 0);
	if (acme_store_get(txn, t, key, &v) == 0)
		n = (int)json_integer_value(json_object_get(v, "n"));
	json_decref(v);
	acme_store_abort(txn);
	return n;
}

static void
put_commit(struct acme_store *st, enum acme_table t, const char *key, int n, int64_t expires)
{
	struct acme_txn *txn = NULL;
	json_t *v = obj(n);

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, t, key, v, expires), 0);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	json_decref(v);
}

static void
test_open_modes(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct acme_store *st = NULL;
	struct stat sb;

	sd_test_tmpdir(dir, "acme");
	if (snprintf(path, sizeof(path), "%s/a", dir) < 0)
		abort();
	st = store_open(path, &test_opts);
	acme_store_close(st);
	CU_ASSERT(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
	if (snprintf(path, sizeof(path), "%s/a/data.mdb", dir) < 0)
		abort();
	CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	if (snprintf(path, sizeof(path), "%s/a/lock.mdb", dir) < 0)
		abort();
	CU_ASSERT(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);

	/* A directory others may write to is refused. */
	if (snprintf(path, sizeof(path), "%s/a", dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(chmod(path, 0777), 0);
	CU_ASSERT_EQUAL(acme_store_open(path, &test_opts, &st), SD_E_IO);
	CU_ASSERT_PTR_NULL(st);
	sd_test_rmtree(dir);
}

static void
test_open_options(void)
{
	struct acme_store_options o = test_opts;
	struct acme_store *st = NULL;
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	o.map_size = 1024 * 1024 - 1;
	CU_ASSERT_EQUAL(acme_store_open(dir, &o, &st), SD_E_INVAL);
	o = test_opts;
	o.nonce_max = 0;
	CU_ASSERT_EQUAL(acme_store_open(dir, &o, &st), SD_E_INVAL);
	o = test_opts;
	o.nonce_lifetime = 0;
	CU_ASSERT_EQUAL(acme_store_open(dir, &o, &st), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_open(dir, NULL, &st), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_open("", &test_opts, &st), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(st);
	o = test_opts;
	o.map_size = 1024 * 1024;
	st = store_open(dir, &o);
	acme_store_close(st);
	acme_store_close(NULL);
	sd_test_rmtree(dir);
}

static void
test_id_new(void)
{
	char a[ACME_ID_LEN + 1], b[ACME_ID_LEN + 1];
	size_t i;

	CU_ASSERT_EQUAL(acme_store_id_new(a), 0);
	CU_ASSERT_EQUAL(acme_store_id_new(b), 0);
	CU_ASSERT_EQUAL(strlen(a), ACME_ID_LEN);
	CU_ASSERT(strcmp(a, b) != 0);
	for (i = 0; i < ACME_ID_LEN; i++)
		CU_ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]) != NULL);
}

static void
test_put_get(void)
{
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *v = NULL, *got = NULL;
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	v = json_pack("{ss s[ii] s{sb}}", "status", "valid", "list", 1, 2, "o", "x", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_ACCOUNT, "acct1", v, 0), 0);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_ACCOUNT, "acct1", &got), 0);
	CU_ASSERT(json_equal(v, got));
	json_decref(got);
	got = NULL;
	/* Tables are apart: the same key elsewhere is absent. */
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_ORDER, "acct1", &got), SD_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(got);
	/* An array is a value too; replacing works. */
	json_decref(v);
	v = json_pack("[s]", "a");
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_ACCOUNT, "acct1", v, 0), 0);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_ACCOUNT, "acct1", &got), 0);
	CU_ASSERT(json_equal(v, got));
	json_decref(got);
	got = NULL;
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	json_decref(v);

	/* Not an object or array, bad table, negative expiry. */
	v = json_string("x");
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_ACCOUNT, "k", v, 0), SD_E_INVAL);
	json_decref(v);
	v = obj(1);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_COUNT, "k", v, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_ACCOUNT, "k", v, -1), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_COUNT, "k", &got), SD_E_INVAL);
	acme_store_abort(txn);
	acme_store_abort(NULL);
	json_decref(v);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_add_exists(void)
{
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *a = obj(1), *b = obj(2);
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_add(txn, ACME_T_ACCOUNT_KEY, "thumb", a, 0), 0);
	CU_ASSERT_EQUAL(acme_store_add(txn, ACME_T_ACCOUNT_KEY, "thumb", b, 0), SD_E_INVAL);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(SD_E_INVAL), "exists");
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ACCOUNT_KEY, "thumb"), 1);
	acme_store_close(st);
	json_decref(a);
	json_decref(b);
	sd_test_rmtree(dir);
}

static void
test_del(void)
{
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	put_commit(st, ACME_T_ORDER, "o1", 5, 1000);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, false, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_del(txn, ACME_T_ORDER, "o1"), SD_E_INVAL);
	acme_store_abort(txn);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_del(txn, ACME_T_ORDER, "o1"), 0);
	CU_ASSERT_EQUAL(acme_store_del(txn, ACME_T_ORDER, "o1"), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_del(txn, ACME_T_ORDER, ""), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ORDER, "o1"), -1);
	/* Re-added without an expiry, the old expiry entry went with the delete. */
	put_commit(st, ACME_T_ORDER, "o1", 6, 0);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_key_limits(void)
{
	char dir[PATH_MAX], key[ACME_KEY_MAX + 2];
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *v = obj(1), *got = NULL;

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_CERT, key, v, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_CERT, key, &got), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_CERT, "", v, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_CERT, NULL, v, 0), SD_E_INVAL);
	key[ACME_KEY_MAX] = '\0';
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_CERT, key, v, 99), 0);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_CERT, key, &got), 0);
	json_decref(got);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	json_decref(v);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

/* An object of one string member whose compact JSON is exactly n bytes ({"s":"..."} is 8 + len). */
static json_t *
obj_of_size(size_t n)
{
	json_t *v;
	char *s;

	if (n < 8 || (s = malloc(n - 8 + 1)) == NULL)
		abort();
	memset(s, 'x', n - 8);
	s[n - 8] = '\0';
	v = json_pack("{ss}", "s", s);
	free(s);
	if (v == NULL)
		abort();
	return v;
}

static void
test_value_limit(void)
{
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *ok = obj_of_size(ACME_VALUE_MAX), *big = obj_of_size(ACME_VALUE_MAX + 1), *got = NULL;
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_EAB, "ok", ok, 0), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_EAB, "big", big, 0), SD_E_TOO_LARGE);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_EAB, "big", &got), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_EAB, "ok", &got), 0);
	CU_ASSERT(json_equal(ok, got));
	json_decref(got);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	json_decref(ok);
	json_decref(big);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_txn_readonly_abort(void)
{
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *v = obj(3);
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, false, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_AUTHZ, "z", v, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_add(txn, ACME_T_AUTHZ, "z", v, 0), SD_E_INVAL);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);

	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_put(txn, ACME_T_AUTHZ, "z", v, 0), 0);
	acme_store_abort(txn);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_AUTHZ, "z"), -1);
	json_decref(v);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_reopen(void)
{
	struct acme_store_options o = test_opts;
	struct acme_store *st = NULL;
	char dir[PATH_MAX];

	o.no_sync = false;
	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &o);
	put_commit(st, ACME_T_ACCOUNT, "a", 41, 0);
	put_commit(st, ACME_T_CERT, "0a1b", 42, 0);
	acme_store_close(st);
	st = store_open(dir, &o);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ACCOUNT, "a"), 41);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_CERT, "0a1b"), 42);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

struct seen {
	char keys[16][16];
	size_t n;
	size_t stop_at; /* return 7 on this call (1-based); 0: never */
};

static int
seen_fn(const char *key, const json_t *value, void *arg)
{
	struct seen *s = arg;

	CU_ASSERT(json_is_object(value));
	if (s->n < 16 && snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key) < 0)
		abort();
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at ? 7 : 0;
}

static void
test_foreach(void)
{
	static const char *const keys[] = { "c", "a", "e", "b", "d" };
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	char dir[PATH_MAX];
	struct seen s;
	size_t i;

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	for (i = 0; i < 5; i++)
		put_commit(st, ACME_T_ORDER, keys[i], (int)i, 0);
	put_commit(st, ACME_T_AUTHZ, "zz", 9, 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, false, &txn), 0);

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_ORDER, NULL, 100, seen_fn, &s), 0);
	CU_ASSERT_EQUAL(s.n, 5);
	CU_ASSERT_STRING_EQUAL(s.keys[0], "a");
	CU_ASSERT_STRING_EQUAL(s.keys[4], "e");

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_ORDER, "bb", 2, seen_fn, &s), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.keys[0], "c");
	CU_ASSERT_STRING_EQUAL(s.keys[1], "d");

	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_ORDER, "a", 100, seen_fn, &s), 7);
	CU_ASSERT_EQUAL(s.n, 3);

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_ORDER, "f", 100, seen_fn, &s), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(acme_store_foreach(txn, ACME_T_EAB, NULL, 100, seen_fn, &s), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	acme_store_abort(txn);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_sweep(void)
{
	struct acme_store *st = NULL;
	char dir[PATH_MAX];
	size_t deleted = 99;

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	put_commit(st, ACME_T_ORDER, "o100", 1, 100);
	put_commit(st, ACME_T_ORDER, "o200", 2, 200);
	put_commit(st, ACME_T_AUTHZ, "z300", 3, 300);
	put_commit(st, ACME_T_AUTHZ, "z150", 4, 150);
	put_commit(st, ACME_T_ACCOUNT, "never", 5, 0);
	/* A put with a new expiry moves it: o100 now lives until 1000. */
	put_commit(st, ACME_T_ORDER, "o100", 6, 1000);

	CU_ASSERT_EQUAL(acme_store_sweep(st, 100, 10, &deleted), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	/* Three are due by 301; max 1 takes the oldest only (z150). */
	CU_ASSERT_EQUAL(acme_store_sweep(st, 301, 1, &deleted), 0);
	CU_ASSERT_EQUAL(deleted, 1);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_AUTHZ, "z150"), -1);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ORDER, "o200"), 2);
	CU_ASSERT_EQUAL(acme_store_sweep(st, 301, 10, &deleted), 0);
	CU_ASSERT_EQUAL(deleted, 2);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ORDER, "o200"), -1);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_AUTHZ, "z300"), -1);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ORDER, "o100"), 6);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ACCOUNT, "never"), 5);
	/* o100 goes at its new time; the never-expiring one stays. */
	CU_ASSERT_EQUAL(acme_store_sweep(st, 1001, 10, &deleted), 0);
	CU_ASSERT_EQUAL(deleted, 1);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ORDER, "o100"), -1);
	CU_ASSERT_EQUAL(acme_store_sweep(st, INT64_MAX, 10, &deleted), 0);
	CU_ASSERT_EQUAL(deleted, 0);
	CU_ASSERT_EQUAL(get_n(st, ACME_T_ACCOUNT, "never"), 5);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_nonce_once(void)
{
	char n[ACME_NONCE_LEN + 1], m[ACME_NONCE_LEN + 1];
	struct acme_store *st = NULL;
	char dir[PATH_MAX];

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n), 0);
	CU_ASSERT_EQUAL(strlen(n), ACME_NONCE_LEN);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1001), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1001), SD_E_NOT_FOUND);

	/* Garbage of every shape is unknown, not another error. */
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, "", 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, NULL, 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, "abc", 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, "!!!!!!!!!!!!!!!!!!!!!!", 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, "AAAAAAAAAAAAAAAAAAAAAA", 1001), SD_E_NOT_FOUND);

	/* A non-canonical spelling of a live nonce (last character's spare bits set) is unknown. */
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n), 0);
	memcpy(m, n, sizeof(m));
	/* The last character is one of A, Q, g, w (low 4 bits zero); the next letter sets a spare bit. */
	CU_ASSERT(strchr("AQgw", m[ACME_NONCE_LEN - 1]) != NULL);
	m[ACME_NONCE_LEN - 1]++;
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, m, 1001), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1001), 0);

	/* Past its lifetime: refused, and forgotten. */
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1000 + 61), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1000), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1000 + 60), 0);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_nonce_evict(void)
{
	char n[5][ACME_NONCE_LEN + 1];
	struct acme_store_options o = test_opts;
	struct acme_store *st = NULL;
	char dir[PATH_MAX];
	int i;

	o.nonce_max = 3;
	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &o);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n[i]), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[0], 1000), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[1], 1000), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[4], 1000), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[2], 1000), 0);
	/* Used ones leave room: two new ones keep the last old one. */
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n[0]), 0);
	CU_ASSERT_EQUAL_FATAL(acme_store_nonce_new(st, 1000, n[1]), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[3], 1000), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[0], 1000), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n[1], 1000), 0);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

struct nonce_worker {
	struct acme_store *st;
	char nonces[NONCE_PER_THREAD][ACME_NONCE_LEN + 1];
	int failures;
};

static void *
nonce_worker_run(void *arg)
{
	struct nonce_worker *w = arg;
	int i;

	for (i = 0; i < NONCE_PER_THREAD; i++)
		if (acme_store_nonce_new(w->st, 5000, w->nonces[i]) != 0)
			w->failures++;
	for (i = 0; i < NONCE_PER_THREAD; i++)
		if (acme_store_nonce_use(w->st, w->nonces[i], 5001) != 0)
			w->failures++;
	for (i = 0; i < NONCE_PER_THREAD; i += 50)
		if (acme_store_nonce_use(w->st, w->nonces[i], 5001) != SD_E_NOT_FOUND)
			w->failures++;
	return NULL;
}

static void
test_nonce_threads(void)
{
	static struct nonce_worker w[NONCE_THREADS];
	pthread_t t[NONCE_THREADS];
	struct acme_store *st = NULL;
	char dir[PATH_MAX];
	int i;

	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &test_opts);
	for (i = 0; i < NONCE_THREADS; i++) {
		w[i].st = st;
		w[i].failures = 0;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, nonce_worker_run, &w[i]), 0);
	}
	for (i = 0; i < NONCE_THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(t[i], NULL), 0);
		CU_ASSERT_EQUAL(w[i].failures, 0);
	}
	acme_store_close(st);
	sd_test_rmtree(dir);
}

static void
test_map_full(void)
{
	struct acme_store_options o = test_opts;
	struct acme_store *st = NULL;
	struct acme_txn *txn = NULL;
	json_t *big = obj_of_size(200 * 1024), *got = NULL;
	char dir[PATH_MAX], key[16], n[ACME_NONCE_LEN + 1];
	int i, rc = 0, stored = 0;

	o.map_size = 1024 * 1024;
	sd_test_tmpdir(dir, "acme");
	st = store_open(dir, &o);
	for (i = 0; i < 32 && rc == 0; i++) {
		if (snprintf(key, sizeof(key), "k%d", i) < 0)
			abort();
		CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
		if ((rc = acme_store_put(txn, ACME_T_EAB, key, big, 0)) != 0) {
			acme_store_abort(txn);
			break;
		}
		if ((rc = acme_store_commit(txn)) == 0)
			stored++;
	}
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_FULL);
	CU_ASSERT(stored >= 1);
	/* Still readable, and deleting makes room again. */
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, false, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_get(txn, ACME_T_EAB, "k0", &got), 0);
	CU_ASSERT(json_equal(big, got));
	json_decref(got);
	acme_store_abort(txn);
	CU_ASSERT_EQUAL_FATAL(acme_store_begin(st, true, &txn), 0);
	CU_ASSERT_EQUAL(acme_store_del(txn, ACME_T_EAB, "k0"), 0);
	CU_ASSERT_EQUAL(acme_store_commit(txn), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_new(st, 1, n), 0);
	CU_ASSERT_EQUAL(acme_store_nonce_use(st, n, 1), 0);
	json_decref(big);
	acme_store_close(st);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case open[] = {
		{ "creates dir 0700 and files 0600", test_open_modes },
		{ "options refused", test_open_options },
		{ "random ids", test_id_new },
	};
	static const struct sd_test_case objects[] = {
		{ "put and get", test_put_get },
		{ "add refuses an existing key", test_add_exists },
		{ "del", test_del },
		{ "key limits", test_key_limits },
		{ "value limit", test_value_limit },
		{ "read-only txn and abort", test_txn_readonly_abort },
		{ "commit persists across reopen", test_reopen },
		{ "foreach", test_foreach },
		{ "sweep", test_sweep },
		{ "map fills up", test_map_full },
	};
	static const struct sd_test_case nonces[] = {
		{ "single use, garbage, lifetime", test_nonce_once },
		{ "eviction past nonce_max", test_nonce_evict },
		{ "threads", test_nonce_threads },
	};

	SD_TEST_SUITE("acme_store_open", open);
	SD_TEST_SUITE("acme_store_objects", objects);
	SD_TEST_SUITE("acme_store_nonces", nonces);
	return sd_test_run("test_acme_store");
}
