/*
 * What acme_order.c (newOrder, order), acme_finalize.c (finalize, cert)
 * and acme_authz.c (authz, challenge, the validation outcome) share.
 *
 * Additions to the stored shapes of acme_internal.h:
 *
 * ACME_T_ACCOUNT gains "authzs": [authz id, ...]: the account's most
 *   recent authorizations, newest first, at most ACME_ORDER_AUTHZS_MAX,
 *   so that newOrder can reuse a valid (or pending) authorization for the
 *   same name without a table indexed by name.
 * ACME_T_ORDER gains "replaces_serial": serial hex | null: the serial of
 *   the certificate "replaces" names (acme_ari_replaces()), whose
 *   ACME_T_CERT entry gets "replaced_by" once this order is valid; and,
 *   from its finalize on, "processing_at" (Unix seconds) and "csr_key":
 *   the hex SHA-256 of the CSR's SubjectPublicKeyInfo.
 */
#ifndef ACME_ORDER_H
#define ACME_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "acme_internal.h"

#define ACME_ORDER_AUTHZS_MAX 200 /* account "authzs" entries kept */
#define ACME_TOKEN_LEN 43 /* base64url of 32 random bytes */
#define ACME_ORDER_LOST_SECONDS 300 /* a finalize still processing after this never finishes */
#define ACME_KEY_HASH_LEN 32 /* SHA-256 */
#define ACME_LOST_PAGES_MAX 64 /* certificate index pages a lost finalize's search reads */

/*
 * The authorization id of c's account: a new reference in *out. A foreign
 * or unknown one is SD_E_NOT_FOUND, the same answer, so that ids of other
 * accounts are not disclosed. Errors: SD_E_NOT_FOUND, those of acme_store_get().
 */
SD_WUR int acme_authz_get(struct acme_txn *txn, const struct acme_call *c, const char *id, json_t **out);

/*
 * Each authorization whose id is in list (a JSON array of ids, the first
 * max of them; 0: all) and still stored, in list order: each(arg, the id
 * as list holds it, the authorization). each returns 0 to go on, 1 to stop
 * (the walk then returns 0), anything else to fail with it. Ids that are
 * not strings, and authorizations swept meanwhile, are skipped.
 * Errors: those of acme_store_get() but SD_E_NOT_FOUND, and each's.
 */
SD_WUR int acme_authz_each(struct acme_txn *txn, const json_t *list, size_t max,
    int (*each)(void *arg, json_t *id, const json_t *authz), void *arg);

/* The status an authorization has at now: a pending or valid one past "expires" is "expired". */
const char *acme_authz_status(const json_t *authz, int64_t now);

/*
 * Update order's status lazily at now: pending or ready past "expires",
 * or pending with an authorization invalid, deactivated or expired, becomes
 * invalid (with an error); pending with every authorization valid becomes
 * ready. *changed tells whether order was modified (store it then).
 * Errors: SD_E_NOMEM, those of acme_store_get() but SD_E_NOT_FOUND (a
 * swept authorization counts as expired).
 */
SD_WUR int acme_order_refresh(struct acme_txn *txn, json_t *order, int64_t now, bool *changed);

/*
 * A new pending authorization of c's account for the DNS name, stored with
 * its expiry; its id in id. A wildcard name ("*.example.com") gets an
 * authorization of the base name with "wildcard": true and dns-01 only;
 * dns-01 is offered only with [acme] resolver.
 * Errors: SD_E_INVAL (a wildcard without a resolver: no challenge to offer),
 * SD_E_CRYPTO, SD_E_NOMEM, those of acme_store_add().
 */
SD_WUR int acme_authz_new(struct acme_call *c, struct acme_txn *txn, const char *name, char id[ACME_ID_LEN + 1]);

/*
 * Make order (id order_id) valid with the certificate serial_hex: its
 * ACME_T_CERT entry, and the replaced certificate's "replaced_by", in txn.
 * Errors: SD_E_NOMEM, those of the store.
 */
SD_WUR int acme_finalize_record(struct acme_txn *txn, const char *order_id, json_t *order, const char *serial_hex);

/*
 * c's order, processing for ACME_ORDER_LOST_SECONDS: its finalize never
 * finished (the signer stopped, or recording the certificate failed). The
 * certificate that finalize journaled, if any, is valid and owed to the
 * client: found in the certificate index (this account and profile, issued
 * since processing_at, exactly the order's names, the CSR's key, no other
 * order's), the order is valid with it; otherwise ready again, to be
 * finalized once more. *changed is set.
 * Errors: SD_E_NOMEM, SD_E_JOURNAL_CORRUPT, those of the store and of the
 * journal's index.
 */
SD_WUR int acme_finalize_lost(struct acme_call *c, struct acme_txn *txn, json_t *order, bool *changed);

/* Mark order invalid with problem (taken; NULL: SD_E_NOMEM). Errors: SD_E_NOMEM. */
SD_WUR int acme_order_fail(json_t *order, json_t *problem);

/*
 * The order c->req->id of c's account in *out, refreshed
 * (acme_order_refresh()) and stored again when that changed it, in a write
 * transaction *txn left open for the caller (acme_store_abort() it also on
 * failure). An unknown or foreign order is answered 404 (returns 0).
 * Errors: those of the store and of acme_order_refresh().
 */
SD_WUR int acme_order_load(struct acme_call *c, struct acme_txn **txn, json_t **out);

/* Answer status with the answer form of order id and its Location. Errors: SD_E_NOMEM, SD_E_INVAL, SD_E_TOO_LARGE. */
SD_WUR int acme_order_answer(struct acme_call *c, unsigned status, const char *id, const json_t *order);

/* t as RFC 3339 into o's member name. Errors: SD_E_INVAL, SD_E_NOMEM. */
SD_WUR int acme_json_set_time(json_t *o, const char *name, int64_t t);

#endif
