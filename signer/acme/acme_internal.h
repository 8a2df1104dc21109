/*
 * What the ACME engine's files share: the engine, one request being
 * served, the answers, and the stored objects' shapes.
 *
 * Stored objects (acme_store.h tables; times are Unix seconds):
 *
 * ACME_T_ACCOUNT, id ->
 *   {"profile": P, "status": "valid" | "deactivated", "jwk": {...},
 *    "thumbprint": T, "spki_sha256": hex, "contact": [...], "created": t,
 *    "eab": kid | null, "dns_suffixes": [...] (the EAB key's; [] : the profile's),
 *    "orders_tokens": n, "orders_at": t (the newOrder bucket),
 *    "pending": [authz id, ...] (pending authorizations it holds, pruned lazily)}
 * ACME_T_ACCOUNT_KEY, P "/" T -> {"account": id}
 * ACME_T_ORDER, id ->
 *   {"account": id, "profile": P, "status": "pending" | "ready" | "processing" | "valid" | "invalid",
 *    "expires": t, "identifiers": [{"type": "dns", "value": v}], "authorizations": [id, ...],
 *    "not_after": t | 0, "certificate": serial hex | null, "error": problem | null,
 *    "replaces": certID | null}
 * ACME_T_AUTHZ, id ->
 *   {"account": id, "profile": P, "identifier": {"type": "dns", "value": v}, "wildcard": bool,
 *    "status": "pending" | "valid" | "invalid" | "deactivated" | "expired", "expires": t,
 *    "challenges": [{"type": "http-01" | "tls-alpn-01" | "dns-01", "token": tok,
 *                    "status": "pending" | "processing" | "valid" | "invalid",
 *                    "validated": t | null, "error": problem | null}]}
 *   A challenge's id is the authorization's id, "." and its index: "AUTHZID.0".
 *   An order's identifier "*." v has an authorization of v with "wildcard": true
 *   and one challenge, dns-01; any other has http-01 and tls-alpn-01, then
 *   dns-01 when [acme] resolver is set (the set is fixed when it is made).
 * ACME_T_EAB, kid ->
 *   {"key": base64url, "profiles": [P, ...], "dns_suffixes": [...], "created": t,
 *    "actor": text, "account": id | null (bound once: an EAB key makes one account)}
 * ACME_T_CERT, serial hex -> {"account": id, "order": id, "profile": P, "replaced_by": order id | null}
 * ACME_T_ACCOUNT_ORDER, account id "/" 16 hex "/" order id -> {"order": id}
 *   The account's orders list (RFC 8555 7.1.2.1), newest first: the hex is
 *   INT64_MAX minus the order's creation time, so that key order is
 *   newest first. Written with the order, in its transaction and with its
 *   expiry, so that the sweep deletes both.
 *
 * URLs: base "/acme/" P "/" then directory, new-nonce, new-account,
 * new-order, revoke-cert, key-change, renewal-info/CERTID, acct/ID,
 * acct/ID/orders, acct/ID/orders/CURSOR (the page from CURSOR on: the
 * index key's 16 hex "." order id), order/ID, order/ID/finalize, authz/ID,
 * chall/ID, cert/SERIAL.
 */
#ifndef ACME_INTERNAL_H
#define ACME_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "acme.h"
#include "acme_ari.h"
#include "acme_jws.h"
#include "acme_problem.h"
#include "acme_store.h"

struct acme {
	const struct sd_config *cfg;
	struct journal *journal;
	struct acme_ops ops;
	struct acme_store *store;
	pthread_mutex_t sweep_lock;
	int64_t swept_at;			/* the last acme_store_sweep() */
	size_t orders_page;			/* order URLs a page of an orders list holds (tests lower it) */
	/* [ca] retired_certificates, read once at open: certIDs under these keys are renewed at once. */
	struct acme_ari_ski retired[ACME_ARI_RETIRED_MAX];
	size_t n_retired;
};

/* One request being served, as acme.c verified it for the handlers. */
struct acme_call {
	struct acme *a;
	const struct signer_acme_request *req;
	const struct config_profile *profile;
	int64_t now;				/* Unix seconds, taken once */
	char url[SIGNER_ACME_URL_MAX + 1];	/* the request's URL: the JWS "url" equals it */
	/* POST only: */
	struct acme_jws *jws;
	json_t *payload;			/* the payload object; NULL for POST-as-GET */
	EVP_PKEY *key;				/* the key the JWS verified with */
	char thumbprint[ACME_THUMBPRINT_LEN + 1];	/* of that key (RFC 7638) */
	uint8_t spki_sha256[32];		/* SHA-256 of its DER SubjectPublicKeyInfo */
	/* A "kid" request: its account, status valid. */
	char account_id[ACME_ID_LEN + 1];
	json_t *account;
	struct signer_acme_answer *ans;
};

/*
 * Handlers: each answers c->ans (a success or a problem) and returns 0,
 * or returns an error when it could not answer at all (memory, the store,
 * the journal): acme.c then answers serverInternal.
 */
SD_WUR int acme_op_new_account(struct acme_call *c);	/* jwk request */
SD_WUR int acme_op_account(struct acme_call *c);	/* update, deactivate, POST-as-GET */
SD_WUR int acme_op_key_change(struct acme_call *c);
SD_WUR int acme_op_new_order(struct acme_call *c);
SD_WUR int acme_op_order(struct acme_call *c);
SD_WUR int acme_op_finalize(struct acme_call *c);
SD_WUR int acme_op_authz(struct acme_call *c);
SD_WUR int acme_op_challenge(struct acme_call *c);
SD_WUR int acme_op_cert(struct acme_call *c);
SD_WUR int acme_op_revoke(struct acme_call *c);	/* kid or jwk (the certificate's key) request */
SD_WUR int acme_op_renewal_info(struct acme_call *c);	/* GET: no JWS, no account */
SD_WUR int acme_op_orders(struct acme_call *c);	/* POST-as-GET acct/ID/orders[/CURSOR] */

#define ACME_ORDERS_PAGE 100	/* order URLs a page of an account's orders list holds */
#define ACME_ORDERS_SCAN 400	/* index entries one page reads at most; invalid orders are skipped */

/*
 * Index order id of account account_id, created at created and stored with
 * expiry expires, in its account's orders list (ACME_T_ACCOUNT_ORDER), in
 * write transaction txn. Errors: SD_E_INVAL (created), those of acme_store_add().
 */
SD_WUR int acme_account_order_add(struct acme_txn *txn, const char *account_id, int64_t created, const char *id,
    int64_t expires);

/* The validation outcome for challenge id (see acme_validated()); answers nothing. */
SD_WUR int acme_challenge_validated(struct acme *a, const char *profile, const char *challenge,
    const char *error_type, const char *detail, int64_t now);

/*
 * RFC 9773: whether certificate certID may be replaced by an order of
 * account account_id: it names a certificate of this CA (of its issuing
 * key or of a retired one, the journal's copy signed under the certID's
 * key) the account was issued in this directory, not replaced yet.
 * *serial_hex (41 bytes) receives its serial. Errors: SD_E_INVAL with
 * *problem (malformed: not a certID; or alreadyReplaced-like conflicts as
 * malformed), SD_E_NOT_FOUND, SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int acme_ari_replaces(struct acme_call *c, const char *cert_id, char serial_hex[41], enum acme_problem *problem);

/* --- Answers (acme.c) --- */

/* Answer the problem p with a detail (printf format); returns 0. */
int acme_answer_problem(struct acme_call *c, enum acme_problem p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer status with the JSON object body (taken, also on failure). Errors: SD_E_NOMEM, SD_E_TOO_LARGE. */
SD_WUR int acme_answer_json(struct acme_call *c, unsigned status, json_t *body);
/* Answer status with body bytes (copied) of content_type (static). Errors: SD_E_NOMEM, SD_E_TOO_LARGE. */
SD_WUR int acme_answer_bytes(struct acme_call *c, unsigned status, const char *content_type, const char *body,
    size_t len);
/* Set the Location header to the URL of kind/id (acme_url()). Errors: SD_E_TOO_LARGE. */
SD_WUR int acme_answer_location(struct acme_call *c, const char *kind, const char *id);
/* Add a Link header "<url>;rel=\"rel\"". Errors: SD_E_TOO_LARGE (too long, or too many). */
SD_WUR int acme_answer_link(struct acme_call *c, const char *url, const char *rel);

/*
 * The URL base "/acme/" profile "/" kind ["/" id] into out (cap bytes).
 * Errors: SD_E_TOO_LARGE.
 */
SD_WUR int acme_url(const struct acme_call *c, char *out, size_t cap, const char *kind, const char *id);

/* --- Stored objects (acme.c) --- */

/* The string member name of o, or NULL when absent or not a string. */
const char *acme_json_str(const json_t *o, const char *name);
/* The integer member name of o, or def. */
int64_t acme_json_int(const json_t *o, const char *name, int64_t def);
/* A problem object {"type", "detail"} for a stored error, or NULL on memory failure. */
json_t *acme_problem_json(enum acme_problem p, const char *detail);

/*
 * Journal an ACME event for account account_id (may be NULL for EAB events)
 * with its key's thumbprint (base64url, may be NULL). Errors: those of
 * journal_acme_append().
 */
SD_WUR int acme_journal(struct acme *a, uint8_t event, const char *account_id, const char *thumbprint,
    const char *eab_kid, const char *profile, const char *actor, const char *detail, int64_t now);

#endif
