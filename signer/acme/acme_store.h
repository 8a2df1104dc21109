/*
 * ACME state (README "ACME and EST"): accounts, orders, authorizations,
 * External Account Binding keys and nonces, in an LMDB environment of its
 * own beside the journal ([acme] path; default the journal directory's
 * "acme" subdirectory). Its own environment, so that ACME writes never
 * wait for, nor hold, the journal's single writer lock. Objects are JSON
 * values (jansson) under a string key; what they hold is the engine's
 * business (acme.c). The journal, not this store, is the audit record.
 *
 * Thread-safe: every call may run from any signer thread at once; a
 * transaction belongs to the thread that began it.
 */
#ifndef ACME_STORE_H
#define ACME_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sd_error.h"

#define ACME_ID_LEN 22			/* base64url of 16 random bytes */
#define ACME_NONCE_LEN 22		/* base64url of 16 random bytes */
#define ACME_KEY_MAX 256		/* bytes of a store key (ids, thumbprints, "kid", certIDs) */
#define ACME_VALUE_MAX (256 * 1024)	/* bytes of one stored object's JSON */

enum acme_table {
	ACME_T_ACCOUNT = 0,		/* account id -> account */
	ACME_T_ACCOUNT_KEY,		/* JWK thumbprint -> {"account": id}: one account per key */
	ACME_T_ORDER,			/* order id -> order */
	ACME_T_AUTHZ,			/* authorization id -> authorization (its challenges inside) */
	ACME_T_EAB,			/* EAB key id -> {key, profiles, names, bound account} */
	ACME_T_CERT,			/* serial hex -> {"order": id, "account": id} */
	ACME_T_ACCOUNT_ORDER,		/* account id "/" hex "/" order id -> {"order": id}: orders lists */
	ACME_T_COUNT
};

struct acme_store_options {
	uint64_t map_size;		/* bytes of the LMDB map (e.g. 256 MiB) */
	uint32_t nonce_max;		/* outstanding nonces kept; the oldest go first past it */
	uint32_t nonce_lifetime;	/* seconds a nonce stays usable */
	bool no_sync;			/* tests and benchmarks only: commits not flushed */
};

struct acme_store;
struct acme_txn;

/*
 * Open (creating: mode 0700 directory, 0600 files) the environment in
 * directory path; a directory group or others may write to is refused
 * (SD_E_IO). Errors: SD_E_INVAL (options), SD_E_IO, SD_E_JOURNAL
 * (LMDB failed; detail says how), SD_E_NOMEM.
 */
SD_WUR int acme_store_open(const char *path, const struct acme_store_options *o, struct acme_store **out);
void acme_store_close(struct acme_store *st);

/* A new random id (ACME_ID_LEN base64url characters and a NUL). Errors: SD_E_CRYPTO. */
SD_WUR int acme_store_id_new(char out[ACME_ID_LEN + 1]);

/*
 * Nonces (RFC 8555 6.5): a new one, remembered with now (Unix seconds);
 * and its single use, which forgets it. Not flushed to disk: a crash costs
 * clients one badNonce retry. Past nonce_max the oldest are forgotten.
 * nonce_use errors: SD_E_NOT_FOUND (unknown, used, forgotten or older than
 * nonce_lifetime: badNonce), SD_E_JOURNAL. nonce_new: SD_E_CRYPTO, SD_E_JOURNAL.
 */
SD_WUR int acme_store_nonce_new(struct acme_store *st, int64_t now, char out[ACME_NONCE_LEN + 1]);
SD_WUR int acme_store_nonce_use(struct acme_store *st, const char *nonce, int64_t now);

/*
 * Transactions: one writer at a time (others wait), readers never wait.
 * commit flushes to disk before it returns (unless no_sync) and frees txn,
 * also on failure; abort frees it; NULL is a no-op for abort.
 * Errors: SD_E_JOURNAL (LMDB; SD_E_JOURNAL_FULL when the map is full), SD_E_NOMEM.
 */
SD_WUR int acme_store_begin(struct acme_store *st, bool write, struct acme_txn **out);
SD_WUR int acme_store_commit(struct acme_txn *txn);
void acme_store_abort(struct acme_txn *txn);

/*
 * The object under key (at most ACME_KEY_MAX bytes) in table: a new
 * reference. Errors: SD_E_NOT_FOUND, SD_E_JOURNAL_CORRUPT (not JSON),
 * SD_E_INVAL (key), SD_E_NOMEM.
 */
SD_WUR int acme_store_get(struct acme_txn *txn, enum acme_table t, const char *key, json_t **out);

/*
 * Store value (a JSON object or array; compact JSON, at most ACME_VALUE_MAX
 * bytes) under key in a write transaction, replacing any. expires (Unix
 * seconds, 0: never, negative: SD_E_INVAL) lets
 * acme_store_sweep() delete it later; a put replaces the expiry too.
 * add: only when key is absent, else SD_E_INVAL with detail "exists".
 * Errors: SD_E_INVAL (table, key, value, expires, read-only txn),
 * SD_E_TOO_LARGE, SD_E_JOURNAL, SD_E_JOURNAL_FULL, SD_E_NOMEM.
 */
SD_WUR int acme_store_put(struct acme_txn *txn, enum acme_table t, const char *key, const json_t *value,
    int64_t expires);
SD_WUR int acme_store_add(struct acme_txn *txn, enum acme_table t, const char *key, const json_t *value,
    int64_t expires);
/* Delete key from t (and its expiry). Errors: SD_E_NOT_FOUND, SD_E_INVAL, SD_E_JOURNAL. */
SD_WUR int acme_store_del(struct acme_txn *txn, enum acme_table t, const char *key);

/*
 * Call fn for each object of t in key order from key from (NULL: the first)
 * until it returns non-zero (returned) or max objects were seen (0: none). For
 * listings (an account's orders, EAB keys) and tests.
 * Errors: those of fn, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int acme_store_foreach(struct acme_txn *txn, enum acme_table t, const char *from, size_t max,
    int (*fn)(const char *key, const json_t *value, void *arg), void *arg);

/*
 * Delete at most max objects whose expiry is before now, oldest first, in
 * one write transaction; *deleted says how many. Errors: SD_E_JOURNAL.
 */
SD_WUR int acme_store_sweep(struct acme_store *st, int64_t now, size_t max, size_t *deleted);

#endif
