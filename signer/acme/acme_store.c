/*
 * The ACME state store (acme_store.h): an LMDB environment of its own.
 *
 * Databases:
 *  - one per enum acme_table ("account", "account_key", "order", "authz",
 *    "eab", "cert", "account_order"): key -> be64 expires || compact JSON. The expiry sits
 *    in the value's 8-byte header so that put and del find the index entry
 *    to remove without a second database to keep in step.
 *  - "expiry": be64 expires || table byte || key -> empty, for the sweep,
 *    oldest first. Objects that never expire (0) have no entry.
 *  - "nonce": 16 raw nonce bytes -> be64 issued || be64 counter.
 *  - "nonce_fifo": be64 counter -> 16 raw nonce bytes, oldest first, so
 *    that eviction past nonce_max is a walk from the first entry.
 *  - "meta": "nonce_next" -> be64 the next counter.
 *
 * The environment runs MDB_NOSYNC: durability comes from the explicit
 * mdb_env_sync() after each acme_store_commit() and sweep, which also
 * flushes whatever nonce commits came before. Nonces alone are never
 * flushed: losing them costs clients a badNonce retry, not a state change.
 *
 * Nothing in struct acme_store changes after open, and LMDB serializes
 * writers itself (MDB_NOTLS lets any thread run a read transaction), so the
 * store needs no lock of its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/rand.h>

#include "acme_jws.h"
#include "acme_store.h"
#include "sd_error.h"

#define ACME_STORE_MAP_MIN (1024 * 1024)
#define ACME_STORE_RAW_LEN 16 /* random bytes behind an id or a nonce */
#define ACME_STORE_HDR_LEN 8 /* be64 expires before each object's JSON */
#define ACME_STORE_EXP_MAX (8 + 1 + ACME_KEY_MAX)
#define ACME_STORE_NONCE_VAL_LEN 16 /* be64 issued || be64 counter */
#define ACME_STORE_MAX_DBS (ACME_T_COUNT + 4)

struct acme_store {
	MDB_env *env;
	MDB_dbi table[ACME_T_COUNT];
	MDB_dbi expiry;
	MDB_dbi nonce;
	MDB_dbi fifo;
	MDB_dbi meta;
	struct acme_store_options opts;
};

struct acme_txn {
	struct acme_store *st;
	MDB_txn *txn;
	bool write;
};

static const char *const acme_store_table_names[ACME_T_COUNT] = {
	[ACME_T_ACCOUNT] = "account",
	[ACME_T_ACCOUNT_KEY] = "account_key",
	[ACME_T_ORDER] = "order",
	[ACME_T_AUTHZ] = "authz",
	[ACME_T_EAB] = "eab",
	[ACME_T_CERT] = "cert",
	[ACME_T_ACCOUNT_ORDER] = "account_order",
};

static const char acme_store_nonce_next_key[] = "nonce_next";

static void
acme_store_be64_put(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
acme_store_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

/* The 16 random bytes behind ids and nonces in base64url; out holds ACME_ID_LEN characters and a NUL. */
static void
acme_store_b64url_encode16(const uint8_t in[ACME_STORE_RAW_LEN], char out[ACME_ID_LEN + 1])
{
	char buf[4 * ((ACME_STORE_RAW_LEN + 2) / 3) + 1];

	if (acme_b64url_encode(in, ACME_STORE_RAW_LEN, buf) != ACME_ID_LEN)
		abort();	/* 16 bytes are always 22 characters */
	memcpy(out, buf, ACME_ID_LEN + 1);
}

/*
 * The inverse of acme_store_b64url_encode16(): false unless s is exactly
 * ACME_NONCE_LEN base64url characters in canonical form (acme_b64url_decode()
 * refuses other spellings), so that one nonce has one spelling.
 */
static bool
acme_store_b64url_decode16(const char *s, uint8_t out[ACME_STORE_RAW_LEN])
{
	uint8_t *raw = NULL;
	size_t len = 0;
	bool ok;

	if (strnlen(s, ACME_NONCE_LEN + 1) != ACME_NONCE_LEN ||
	    acme_b64url_decode(s, ACME_NONCE_LEN, ACME_STORE_RAW_LEN, &raw, &len) != 0) {
		sd_error_clear();
		return false;
	}
	ok = len == ACME_STORE_RAW_LEN;
	if (ok)
		memcpy(out, raw, len);
	free(raw);
	return ok;
}

static int
acme_store_mdb_error(const struct acme_store *st, int mrc, const char *what)
{
	MDB_envinfo info;

	if (mrc == MDB_MAP_FULL) {
		if (mdb_env_info(st->env, &info) != 0)
			info.me_mapsize = 0;
		return sd_error_set(SD_E_JOURNAL_FULL, "acme store map of %zu bytes is full", info.me_mapsize);
	}
	return sd_error_set(SD_E_JOURNAL, "acme store: %s: %s", what, mdb_strerror(mrc));
}

static int
acme_store_sync(const struct acme_store *st)
{
	int mrc;

	if (st->opts.no_sync)
		return 0;
	if ((mrc = mdb_env_sync(st->env, 1)) != 0)
		return acme_store_mdb_error(st, mrc, "flushing to disk");
	return 0;
}

static int
acme_store_options_check(const char *path, const struct acme_store_options *o)
{
	if (path == NULL || path[0] == '\0')
		return sd_error_set(SD_E_INVAL, "acme store: no path");
	if (o == NULL)
		return sd_error_set(SD_E_INVAL, "acme store: no options");
	if (o->map_size < ACME_STORE_MAP_MIN || o->map_size > SIZE_MAX)
		return sd_error_set(SD_E_INVAL, "acme store: map size %llu is out of range (at least %u)",
		    (unsigned long long)o->map_size, (unsigned)ACME_STORE_MAP_MIN);
	if (o->nonce_max < 1)
		return sd_error_set(SD_E_INVAL, "acme store: nonce_max must be at least 1");
	if (o->nonce_lifetime < 1)
		return sd_error_set(SD_E_INVAL, "acme store: nonce_lifetime must be at least 1 second");
	return 0;
}

/* The directory: made 0700 when absent; one others may write to is refused (they could swap the files). */
static int
acme_store_dir(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0) {
		/* The umask may have taken bits we want kept off anyway; make the mode exact. */
		if (chmod(path, 0700) != 0)
			return sd_error_set(SD_E_IO, "acme store: chmod %s: %s", path, strerror(errno));
	} else if (errno != EEXIST) {
		return sd_error_set(SD_E_IO, "acme store: cannot create %s: %s", path, strerror(errno));
	}
	if (stat(path, &sb) != 0)
		return sd_error_set(SD_E_IO, "acme store: %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return sd_error_set(SD_E_IO, "acme store: %s is not a directory", path);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return sd_error_set(SD_E_IO, "acme store: %s is writable by group or others (mode %04o)", path,
		    (unsigned)(sb.st_mode & 07777));
	return 0;
}

static int
acme_store_dbs_open(struct acme_store *st)
{
	MDB_txn *txn = NULL;
	int mrc, rc = 0;
	size_t i;

	if ((mrc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return acme_store_mdb_error(st, mrc, "beginning the open transaction");
	for (i = 0; i < ACME_T_COUNT; i++)
		if ((mrc = mdb_dbi_open(txn, acme_store_table_names[i], MDB_CREATE, &st->table[i])) != 0)
			break;
	if (mrc == 0 && (mrc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &st->expiry)) == 0 &&
	    (mrc = mdb_dbi_open(txn, "nonce", MDB_CREATE, &st->nonce)) == 0 &&
	    (mrc = mdb_dbi_open(txn, "nonce_fifo", MDB_CREATE, &st->fifo)) == 0)
		mrc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta);
	if (mrc != 0) {
		rc = acme_store_mdb_error(st, mrc, "opening the databases");
		mdb_txn_abort(txn);
		goto out;
	}
	/* Committing keeps the dbi handles for the environment. */
	if ((mrc = mdb_txn_commit(txn)) != 0) {
		rc = acme_store_mdb_error(st, mrc, "committing the open transaction");
		goto out;
	}
	rc = acme_store_sync(st);
out:
	return rc;
}

int
acme_store_open(const char *path, const struct acme_store_options *o, struct acme_store **out)
{
	struct acme_store *st = NULL;
	int rc, mrc, dead = 0;

	*out = NULL;
	if ((rc = acme_store_options_check(path, o)) != 0 || (rc = acme_store_dir(path)) != 0)
		goto out;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	st->opts = *o;
	if ((mrc = mdb_env_create(&st->env)) != 0) {
		st->env = NULL;
		rc = sd_error_set(SD_E_JOURNAL, "acme store: mdb_env_create: %s", mdb_strerror(mrc));
		goto out;
	}
	if ((mrc = mdb_env_set_maxdbs(st->env, ACME_STORE_MAX_DBS)) != 0 ||
	    (mrc = mdb_env_set_mapsize(st->env, (size_t)o->map_size)) != 0) {
		rc = sd_error_set(SD_E_JOURNAL, "acme store: configuring %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	/* MDB_NOTLS: requests come from a thread pool. MDB_NOSYNC: see the top of this file. */
	if ((mrc = mdb_env_open(st->env, path, MDB_NOTLS | MDB_NOSYNC, 0600)) != 0) {
		rc = sd_error_set(SD_E_JOURNAL, "acme store: cannot open %s: %s", path, mdb_strerror(mrc));
		goto out;
	}
	/* Reader slots a crashed process left behind would pin old pages forever. */
	(void)mdb_reader_check(st->env, &dead);
	if ((rc = acme_store_dbs_open(st)) != 0)
		goto out;
	*out = st;
	st = NULL;
out:
	acme_store_close(st);
	return rc;
}

void
acme_store_close(struct acme_store *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
}

int
acme_store_id_new(char out[ACME_ID_LEN + 1])
{
	uint8_t raw[ACME_STORE_RAW_LEN];

	out[0] = '\0';
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return sd_error_set(SD_E_CRYPTO, "RAND_bytes failed");
	acme_store_b64url_encode16(raw, out);
	return 0;
}

/* Forget the oldest nonces while more than nonce_max are remembered. */
static int
acme_store_nonce_evict(struct acme_store *st, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_stat ms;
	MDB_val k, v, nk;
	size_t n;
	int mrc, rc = 0;

	if ((mrc = mdb_stat(txn, st->fifo, &ms)) != 0)
		return acme_store_mdb_error(st, mrc, "counting nonces");
	if (ms.ms_entries <= st->opts.nonce_max)
		return 0;
	if ((mrc = mdb_cursor_open(txn, st->fifo, &cur)) != 0)
		return acme_store_mdb_error(st, mrc, "opening a cursor");
	for (n = ms.ms_entries; n > st->opts.nonce_max; n--) {
		if ((mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) != 0) {
			rc = acme_store_mdb_error(st, mrc, "reading the oldest nonce");
			goto out;
		}
		nk = v;
		/* Absent when it was used already: its fifo entry goes regardless. */
		if ((mrc = mdb_del(txn, st->nonce, &nk, NULL)) != 0 && mrc != MDB_NOTFOUND) {
			rc = acme_store_mdb_error(st, mrc, "forgetting a nonce");
			goto out;
		}
		if ((mrc = mdb_cursor_del(cur, 0)) != 0) {
			rc = acme_store_mdb_error(st, mrc, "forgetting a nonce");
			goto out;
		}
	}
out:
	mdb_cursor_close(cur);
	return rc;
}

int
acme_store_nonce_new(struct acme_store *st, int64_t now, char out[ACME_NONCE_LEN + 1])
{
	uint8_t raw[ACME_STORE_RAW_LEN], val[ACME_STORE_NONCE_VAL_LEN], ctr[8];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t next = 0;
	int rc, mrc;

	out[0] = '\0';
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "RAND_bytes failed");
		goto out;
	}
	if ((mrc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		txn = NULL;
		rc = acme_store_mdb_error(st, mrc, "beginning a nonce transaction");
		goto out;
	}
	k.mv_data = (void *)acme_store_nonce_next_key;
	k.mv_size = sizeof(acme_store_nonce_next_key) - 1;
	mrc = mdb_get(txn, st->meta, &k, &v);
	if (mrc == 0 && v.mv_size == 8) {
		next = acme_store_be64_get(v.mv_data);
	} else if (mrc == 0) {
		rc = sd_error_set(SD_E_JOURNAL, "acme store: nonce counter of %zu bytes", v.mv_size);
		goto out;
	} else if (mrc != MDB_NOTFOUND) {
		rc = acme_store_mdb_error(st, mrc, "reading the nonce counter");
		goto out;
	}
	acme_store_be64_put(val, (uint64_t)now);
	acme_store_be64_put(val + 8, next);
	k.mv_data = raw;
	k.mv_size = sizeof(raw);
	v.mv_data = val;
	v.mv_size = sizeof(val);
	/* A collision of 128 random bits means the generator is broken: refuse rather than reissue. */
	if ((mrc = mdb_put(txn, st->nonce, &k, &v, MDB_NOOVERWRITE)) != 0) {
		rc = mrc == MDB_KEYEXIST ? sd_error_set(SD_E_CRYPTO, "acme store: random nonce repeated") :
		                           acme_store_mdb_error(st, mrc, "storing a nonce");
		goto out;
	}
	acme_store_be64_put(ctr, next);
	k.mv_data = ctr;
	k.mv_size = sizeof(ctr);
	v.mv_data = raw;
	v.mv_size = sizeof(raw);
	if ((mrc = mdb_put(txn, st->fifo, &k, &v, MDB_APPEND)) != 0) {
		rc = acme_store_mdb_error(st, mrc, "storing a nonce");
		goto out;
	}
	acme_store_be64_put(ctr, next + 1);
	k.mv_data = (void *)acme_store_nonce_next_key;
	k.mv_size = sizeof(acme_store_nonce_next_key) - 1;
	v.mv_data = ctr;
	v.mv_size = sizeof(ctr);
	if ((mrc = mdb_put(txn, st->meta, &k, &v, 0)) != 0) {
		rc = acme_store_mdb_error(st, mrc, "storing the nonce counter");
		goto out;
	}
	if ((rc = acme_store_nonce_evict(st, txn)) != 0)
		goto out;
	/* Not flushed (acme_store.h): MDB_NOSYNC makes this commit cheap. */
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		rc = acme_store_mdb_error(st, mrc, "committing a nonce");
		goto out;
	}
	acme_store_b64url_encode16(raw, out);
	rc = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

int
acme_store_nonce_use(struct acme_store *st, const char *nonce, int64_t now)
{
	uint8_t raw[ACME_STORE_RAW_LEN], ctr[8];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	uint64_t issued = 0;
	bool expired;
	int rc, mrc;

	/* Any malformed nonce is simply unknown: the client must get badNonce. */
	if (nonce == NULL || !acme_store_b64url_decode16(nonce, raw)) {
		rc = sd_error_set(SD_E_NOT_FOUND, "unknown nonce");
		goto out;
	}
	if ((mrc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		txn = NULL;
		rc = acme_store_mdb_error(st, mrc, "beginning a nonce transaction");
		goto out;
	}
	k.mv_data = raw;
	k.mv_size = sizeof(raw);
	if ((mrc = mdb_get(txn, st->nonce, &k, &v)) == MDB_NOTFOUND) {
		rc = sd_error_set(SD_E_NOT_FOUND, "unknown nonce");
		goto out;
	} else if (mrc != 0) {
		rc = acme_store_mdb_error(st, mrc, "reading a nonce");
		goto out;
	}
	if (v.mv_size != ACME_STORE_NONCE_VAL_LEN) {
		rc = sd_error_set(SD_E_JOURNAL, "acme store: nonce record of %zu bytes", v.mv_size);
		goto out;
	}
	issued = acme_store_be64_get(v.mv_data);
	memcpy(ctr, (const uint8_t *)v.mv_data + 8, sizeof(ctr));
	if ((mrc = mdb_del(txn, st->nonce, &k, NULL)) != 0) {
		rc = acme_store_mdb_error(st, mrc, "forgetting a nonce");
		goto out;
	}
	k.mv_data = ctr;
	k.mv_size = sizeof(ctr);
	if ((mrc = mdb_del(txn, st->fifo, &k, NULL)) != 0 && mrc != MDB_NOTFOUND) {
		rc = acme_store_mdb_error(st, mrc, "forgetting a nonce");
		goto out;
	}
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		rc = acme_store_mdb_error(st, mrc, "committing a nonce");
		goto out;
	}
	/* Two's complement: the unsigned difference is exact whenever now is the later time. */
	expired = now > (int64_t)issued && (uint64_t)now - issued > st->opts.nonce_lifetime;
	rc = expired ? sd_error_set(SD_E_NOT_FOUND, "nonce expired") : 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

int
acme_store_begin(struct acme_store *st, bool write, struct acme_txn **out)
{
	struct acme_txn *t = NULL;
	int rc = 0, mrc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	t->st = st;
	t->write = write;
	if ((mrc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn)) != 0) {
		t->txn = NULL;
		rc = acme_store_mdb_error(st, mrc, "beginning a transaction");
		goto out;
	}
	*out = t;
	t = NULL;
out:
	free(t);
	return rc;
}

int
acme_store_commit(struct acme_txn *txn)
{
	struct acme_store *st = txn->st;
	bool write = txn->write;
	int mrc;

	mrc = mdb_txn_commit(txn->txn);
	free(txn);
	if (mrc != 0)
		return acme_store_mdb_error(st, mrc, "committing");
	/* A read-only commit changed nothing that a flush would keep. */
	return write ? acme_store_sync(st) : 0;
}

void
acme_store_abort(struct acme_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_abort(txn->txn);
	free(txn);
}

/* The table and key checks of every object call; *len is the key's length. */
static int
acme_store_key_check(enum acme_table t, const char *key, size_t *len)
{
	*len = 0;
	if ((unsigned)t >= ACME_T_COUNT)
		return sd_error_set(SD_E_INVAL, "acme store: no table %d", (int)t);
	if (key == NULL || key[0] == '\0')
		return sd_error_set(SD_E_INVAL, "acme store: empty key");
	if ((*len = strnlen(key, ACME_KEY_MAX + 1)) > ACME_KEY_MAX)
		return sd_error_set(SD_E_INVAL, "acme store: key longer than %d bytes", ACME_KEY_MAX);
	return 0;
}

/* expiry key: be64 expires || table || key; returns its length. */
static size_t
acme_store_expiry_key(uint8_t out[ACME_STORE_EXP_MAX], uint64_t expires, enum acme_table t, const char *key, size_t len)
{
	acme_store_be64_put(out, expires);
	out[8] = (uint8_t)t;
	memcpy(out + 9, key, len);
	return 9 + len;
}

/* Remove the expiry entry of the object stored as v (absent, if it never expires). */
static int
acme_store_expiry_del(struct acme_txn *txn, enum acme_table t, const char *key, size_t len, const MDB_val *v)
{
	uint8_t ek[ACME_STORE_EXP_MAX];
	uint64_t expires;
	MDB_val k;
	int mrc;

	if (v->mv_size < ACME_STORE_HDR_LEN)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: %s object of %zu bytes",
		    acme_store_table_names[t], v->mv_size);
	if ((expires = acme_store_be64_get(v->mv_data)) == 0)
		return 0;
	k.mv_data = ek;
	k.mv_size = acme_store_expiry_key(ek, expires, t, key, len);
	if ((mrc = mdb_del(txn->txn, txn->st->expiry, &k, NULL)) != 0 && mrc != MDB_NOTFOUND)
		return acme_store_mdb_error(txn->st, mrc, "deleting an expiry");
	return 0;
}

int
acme_store_get(struct acme_txn *txn, enum acme_table t, const char *key, json_t **out)
{
	json_error_t jerr;
	MDB_val k, v;
	size_t len;
	int rc, mrc;

	*out = NULL;
	if ((rc = acme_store_key_check(t, key, &len)) != 0)
		goto out;
	k.mv_data = (void *)key;
	k.mv_size = len;
	if ((mrc = mdb_get(txn->txn, txn->st->table[t], &k, &v)) == MDB_NOTFOUND) {
		rc = sd_error_set(SD_E_NOT_FOUND, "acme store: no such %s", acme_store_table_names[t]);
		goto out;
	} else if (mrc != 0) {
		rc = acme_store_mdb_error(txn->st, mrc, "reading an object");
		goto out;
	}
	if (v.mv_size < ACME_STORE_HDR_LEN) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: %s object of %zu bytes", acme_store_table_names[t],
		    v.mv_size);
		goto out;
	}
	if ((*out = json_loadb((const char *)v.mv_data + ACME_STORE_HDR_LEN, v.mv_size - ACME_STORE_HDR_LEN, 0,
	         &jerr)) == NULL) {
		/* The position, not the text: values are never logged. */
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: %s object is not JSON (byte %d)",
		    acme_store_table_names[t], jerr.position);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int
acme_store_store(struct acme_txn *txn, enum acme_table t, const char *key, const json_t *value, int64_t expires,
    bool add)
{
	uint8_t ek[ACME_STORE_EXP_MAX];
	uint8_t *buf = NULL;
	MDB_val k, v, old;
	size_t len, n;
	int rc, mrc;

	if ((rc = acme_store_key_check(t, key, &len)) != 0)
		goto out;
	if (!txn->write) {
		rc = sd_error_set(SD_E_INVAL, "acme store: write in a read-only transaction");
		goto out;
	}
	if (value == NULL || (!json_is_object(value) && !json_is_array(value))) {
		rc = sd_error_set(SD_E_INVAL, "acme store: value is not a JSON object or array");
		goto out;
	}
	if (expires < 0) {
		rc = sd_error_set(SD_E_INVAL, "acme store: negative expiry");
		goto out;
	}
	if ((n = json_dumpb(value, NULL, 0, JSON_COMPACT)) == 0) {
		rc = sd_error_set(SD_E_INVAL, "acme store: value cannot be encoded");
		goto out;
	}
	if (n > ACME_VALUE_MAX) {
		rc = sd_error_set(SD_E_TOO_LARGE, "acme store: value of %zu bytes exceeds %d", n, ACME_VALUE_MAX);
		goto out;
	}
	if ((buf = malloc(ACME_STORE_HDR_LEN + n)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	acme_store_be64_put(buf, (uint64_t)expires);
	if (json_dumpb(value, (char *)buf + ACME_STORE_HDR_LEN, n, JSON_COMPACT) != n) {
		rc = sd_error_set(SD_E_INTERNAL, "acme store: value changed while encoded");
		goto out;
	}
	k.mv_data = (void *)key;
	k.mv_size = len;
	if (!add) {
		/* The old expiry entry goes, or the sweep would delete the object at its old time. */
		mrc = mdb_get(txn->txn, txn->st->table[t], &k, &old);
		if (mrc == 0 && (rc = acme_store_expiry_del(txn, t, key, len, &old)) != 0)
			goto out;
		if (mrc != 0 && mrc != MDB_NOTFOUND) {
			rc = acme_store_mdb_error(txn->st, mrc, "reading an object");
			goto out;
		}
	}
	v.mv_data = buf;
	v.mv_size = ACME_STORE_HDR_LEN + n;
	if ((mrc = mdb_put(txn->txn, txn->st->table[t], &k, &v, add ? MDB_NOOVERWRITE : 0)) != 0) {
		/* The detail is the word itself: callers tell a taken key from other refusals by it. */
		rc = mrc == MDB_KEYEXIST ? sd_error_set(SD_E_INVAL, "exists") :
		                           acme_store_mdb_error(txn->st, mrc, "storing an object");
		goto out;
	}
	if (expires != 0) {
		k.mv_data = ek;
		k.mv_size = acme_store_expiry_key(ek, (uint64_t)expires, t, key, len);
		v.mv_data = NULL;
		v.mv_size = 0;
		if ((mrc = mdb_put(txn->txn, txn->st->expiry, &k, &v, 0)) != 0) {
			rc = acme_store_mdb_error(txn->st, mrc, "storing an expiry");
			goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
acme_store_put(struct acme_txn *txn, enum acme_table t, const char *key, const json_t *value, int64_t expires)
{
	return acme_store_store(txn, t, key, value, expires, false);
}

int
acme_store_add(struct acme_txn *txn, enum acme_table t, const char *key, const json_t *value, int64_t expires)
{
	return acme_store_store(txn, t, key, value, expires, true);
}

int
acme_store_del(struct acme_txn *txn, enum acme_table t, const char *key)
{
	MDB_val k, v;
	size_t len;
	int rc, mrc;

	if ((rc = acme_store_key_check(t, key, &len)) != 0)
		goto out;
	if (!txn->write) {
		rc = sd_error_set(SD_E_INVAL, "acme store: delete in a read-only transaction");
		goto out;
	}
	k.mv_data = (void *)key;
	k.mv_size = len;
	if ((mrc = mdb_get(txn->txn, txn->st->table[t], &k, &v)) == MDB_NOTFOUND) {
		rc = sd_error_set(SD_E_NOT_FOUND, "acme store: no such %s", acme_store_table_names[t]);
		goto out;
	} else if (mrc != 0) {
		rc = acme_store_mdb_error(txn->st, mrc, "reading an object");
		goto out;
	}
	if ((rc = acme_store_expiry_del(txn, t, key, len, &v)) != 0)
		goto out;
	if ((mrc = mdb_del(txn->txn, txn->st->table[t], &k, NULL)) != 0) {
		rc = acme_store_mdb_error(txn->st, mrc, "deleting an object");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int
acme_store_foreach(struct acme_txn *txn, enum acme_table t, const char *from, size_t max,
    int (*fn)(const char *key, const json_t *value, void *arg), void *arg)
{
	char name[ACME_KEY_MAX + 1];
	MDB_cursor *cur = NULL;
	json_error_t jerr;
	json_t *value = NULL;
	MDB_val k, v;
	size_t seen, len = 0;
	int rc = 0, mrc;

	if ((unsigned)t >= ACME_T_COUNT) {
		rc = sd_error_set(SD_E_INVAL, "acme store: no table %d", (int)t);
		goto out;
	}
	if (from != NULL && (rc = acme_store_key_check(t, from, &len)) != 0)
		goto out;
	if ((mrc = mdb_cursor_open(txn->txn, txn->st->table[t], &cur)) != 0) {
		cur = NULL;
		rc = acme_store_mdb_error(txn->st, mrc, "opening a cursor");
		goto out;
	}
	if (from != NULL) {
		k.mv_data = (void *)from;
		k.mv_size = len;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else {
		mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	for (seen = 0; seen < max && mrc == 0; seen++) {
		if (k.mv_size == 0 || k.mv_size > ACME_KEY_MAX || v.mv_size < ACME_STORE_HDR_LEN) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: %s entry of %zu+%zu bytes",
			    acme_store_table_names[t], k.mv_size, v.mv_size);
			goto out;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((value = json_loadb((const char *)v.mv_data + ACME_STORE_HDR_LEN, v.mv_size - ACME_STORE_HDR_LEN, 0,
		         &jerr)) == NULL) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "acme store: %s object is not JSON (byte %d)",
			    acme_store_table_names[t], jerr.position);
			goto out;
		}
		if ((rc = fn(name, value, arg)) != 0)
			goto out;
		json_decref(value);
		value = NULL;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = acme_store_mdb_error(txn->st, mrc, "walking a table");
out:
	json_decref(value);
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

int
acme_store_sweep(struct acme_store *st, int64_t now, size_t max, size_t *deleted)
{
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v, ok, ov;
	uint64_t expires;
	unsigned table;
	int rc = 0, mrc;

	*deleted = 0;
	if (now <= 0 || max == 0)
		goto out;
	if ((mrc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		txn = NULL;
		rc = acme_store_mdb_error(st, mrc, "beginning the sweep");
		goto out;
	}
	if ((mrc = mdb_cursor_open(txn, st->expiry, &cur)) != 0) {
		cur = NULL;
		rc = acme_store_mdb_error(st, mrc, "opening a cursor");
		goto out;
	}
	/* Each pass deletes the first entry, so the next oldest is first again. */
	while (*deleted < max && (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size < 10 || k.mv_size > ACME_STORE_EXP_MAX ||
		    (table = ((const uint8_t *)k.mv_data)[8]) >= ACME_T_COUNT) {
			rc = sd_error_set(SD_E_JOURNAL, "acme store: expiry entry of %zu bytes is corrupt", k.mv_size);
			goto out;
		}
		if ((expires = acme_store_be64_get(k.mv_data)) >= (uint64_t)now)
			break;
		ok.mv_data = (uint8_t *)k.mv_data + 9;
		ok.mv_size = k.mv_size - 9;
		/* Only an object that still carries this expiry goes; a stale entry alone is dropped. */
		mrc = mdb_get(txn, st->table[table], &ok, &ov);
		if (mrc == 0 && ov.mv_size >= ACME_STORE_HDR_LEN && acme_store_be64_get(ov.mv_data) == expires) {
			if ((mrc = mdb_del(txn, st->table[table], &ok, NULL)) != 0) {
				rc = acme_store_mdb_error(st, mrc, "deleting an expired object");
				goto out;
			}
			(*deleted)++;
		} else if (mrc != 0 && mrc != MDB_NOTFOUND) {
			rc = acme_store_mdb_error(st, mrc, "reading an expired object");
			goto out;
		}
		if ((mrc = mdb_cursor_del(cur, 0)) != 0) {
			rc = acme_store_mdb_error(st, mrc, "deleting an expiry");
			goto out;
		}
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND) {
		rc = acme_store_mdb_error(st, mrc, "walking the expiry index");
		goto out;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	mrc = mdb_txn_commit(txn);
	txn = NULL;
	if (mrc != 0) {
		rc = acme_store_mdb_error(st, mrc, "committing the sweep");
		goto out;
	}
	rc = acme_store_sync(st);
out:
	if (rc != 0)
		*deleted = 0;
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}
