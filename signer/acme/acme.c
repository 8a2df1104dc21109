/*
 * The ACME engine's door: which directory, the JWS of every POST (nonce,
 * url, key, signature, in RFC 8555 6.2-6.5's order), then the handler of
 * the operation, and a fresh nonce on every answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "acme_internal.h"
#include "sd_log.h"

#define ACME_SWEEP_SECONDS 60 /* expired orders and authorizations are deleted this often */
#define ACME_SWEEP_BATCH 1000

static const char *const acme_paths[SIGNER_ACME_OP_MAX + 1] = {
	[SIGNER_ACME_DIRECTORY] = "directory",
	[SIGNER_ACME_NEW_NONCE] = "new-nonce",
	[SIGNER_ACME_NEW_ACCOUNT] = "new-account",
	[SIGNER_ACME_ACCOUNT] = "acct",
	[SIGNER_ACME_KEY_CHANGE] = "key-change",
	[SIGNER_ACME_NEW_ORDER] = "new-order",
	[SIGNER_ACME_ORDER] = "order",
	[SIGNER_ACME_FINALIZE] = "order",
	[SIGNER_ACME_AUTHZ] = "authz",
	[SIGNER_ACME_CHALLENGE] = "chall",
	[SIGNER_ACME_CERT] = "cert",
	[SIGNER_ACME_REVOKE] = "revoke-cert",
	[SIGNER_ACME_RENEWAL_INFO] = "renewal-info",
	[SIGNER_ACME_ORDERS] = "acct",
};

static bool
acme_any_profile(const struct sd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].acme)
			return true;
	return false;
}

int
acme_store_open_config(const struct sd_config *cfg, struct acme_store **out)
{
	struct acme_store_options o;

	*out = NULL;
	if (cfg->acme_path == NULL)
		return sd_error_set(SD_E_CONFIG, "no [acme] path");
	memset(&o, 0, sizeof(o));
	o.map_size = cfg->acme_map_size;
	o.nonce_max = cfg->acme_nonces;
	o.nonce_lifetime = (uint32_t)cfg->acme_nonce_lifetime;
	return acme_store_open(cfg->acme_path, &o, out);
}

/* [ca] retired_certificates, once: the file is not read again per request. */
static int
acme_retired_open(struct acme *a)
{
	X509 *ca = NULL;
	int rc;

	if (a->cfg->ca_retired_certificates == NULL)
		return 0;
	if ((rc = acme_ca_get(a, &ca)) == 0)
		rc = acme_ari_retired_load(a->cfg->ca_retired_certificates, ca, a->retired, &a->n_retired);
	X509_free(ca);
	return rc;
}

int
acme_open(const struct sd_config *cfg, struct journal *j, const struct acme_ops *ops, struct acme **out)
{
	struct acme *a = NULL;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SD_E_NOMEM;
	a->cfg = cfg;
	a->journal = j;
	a->ops = *ops;
	a->orders_page = ACME_ORDERS_PAGE;
	/* Read even when no profile serves ACME: a bad file stops the start, as any bad setting does. */
	if ((rc = acme_retired_open(a)) != 0 || !acme_any_profile(cfg)) {
		free(a);
		return rc;
	}
	if (pthread_mutex_init(&a->sweep_lock, NULL) != 0) {
		free(a);
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	if ((rc = acme_store_open_config(cfg, &a->store)) != 0) {
		acme_close(a);
		return rc;
	}
	*out = a;
	return 0;
}

void
acme_close(struct acme *a)
{
	if (a == NULL)
		return;
	acme_store_close(a->store);
	pthread_mutex_destroy(&a->sweep_lock);
	free(a);
}

/* --- Answers --- */

int
acme_answer_problem(struct acme_call *c, enum acme_problem p, const char *fmt, ...)
{
	char detail[1024];
	json_t *o;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	free(c->ans->body);
	c->ans->body = NULL;
	c->ans->body_len = 0;
	c->ans->status = (unsigned)acme_problem_status(p);
	c->ans->content_type = "application/problem+json";
	c->ans->location[0] = '\0';
	if ((o = acme_problem_json(p, detail)) != NULL &&
	    json_object_set_new(o, "status", json_integer(c->ans->status)) == 0 &&
	    (c->ans->body = json_dumps(o, JSON_COMPACT)) != NULL)
		c->ans->body_len = strlen(c->ans->body);
	json_decref(o);
	if (p == ACME_P_RATE_LIMITED && c->ans->retry_after == 0)
		c->ans->retry_after = 60;
	return 0;
}

int
acme_answer_bytes(struct acme_call *c, unsigned status, const char *content_type, const char *body, size_t len)
{
	char *copy;

	if (len > SIGNER_ACME_ANSWER_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "an answer of %zu bytes", len);
	if ((copy = malloc(len + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	free(c->ans->body);
	c->ans->body = copy;
	c->ans->body_len = len;
	c->ans->status = status;
	c->ans->content_type = content_type;
	return 0;
}

int
acme_answer_json(struct acme_call *c, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	if (text == NULL)
		return SD_E_NOMEM;
	rc = acme_answer_bytes(c, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

int
acme_url(const struct acme_call *c, char *out, size_t cap, const char *kind, const char *id)
{
	int n = snprintf(out, cap, "%s/acme/%s/%s%s%s", c->req->base, c->req->profile, kind, id != NULL ? "/" : "",
	    id != NULL ? id : "");

	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "a URL longer than %zu bytes", cap);
	return 0;
}

int
acme_answer_location(struct acme_call *c, const char *kind, const char *id)
{
	return acme_url(c, c->ans->location, sizeof(c->ans->location), kind, id);
}

int
acme_answer_link(struct acme_call *c, const char *url, const char *rel)
{
	int n;

	if (c->ans->n_links >= SIGNER_ACME_LINKS_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "more than %d links", SIGNER_ACME_LINKS_MAX);
	n = snprintf(c->ans->links[c->ans->n_links], sizeof(c->ans->links[0]), "<%s>;rel=\"%s\"", url, rel);
	if (n < 0 || (size_t)n >= sizeof(c->ans->links[0]))
		return sd_error_set(SD_E_TOO_LARGE, "a Link longer than %zu bytes", sizeof(c->ans->links[0]));
	c->ans->n_links++;
	return 0;
}

/* --- Stored objects --- */

const char *
acme_json_str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

int64_t
acme_json_int(const json_t *o, const char *name, int64_t def)
{
	const json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

json_t *
acme_problem_json(enum acme_problem p, const char *detail)
{
	return json_pack("{s:s, s:s}", "type", acme_problem_type(p), "detail", detail != NULL ? detail : "");
}

int
acme_journal(struct acme *a, uint8_t event, const char *account_id, const char *thumbprint, const char *eab_kid,
    const char *profile, const char *actor, const char *detail, int64_t now)
{
	struct journal_acme e;
	uint8_t *raw = NULL;
	uint64_t seq = 0;
	size_t len = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	e.time_ms = now * 1000;
	e.event = event;
	e.account = account_id != NULL ? account_id : "";
	e.eab_kid = eab_kid != NULL ? eab_kid : "";
	e.profile = profile != NULL ? profile : "";
	e.actor = actor != NULL ? actor : "";
	e.detail = detail != NULL ? detail : "";
	/* The thumbprint is base64url of a SHA-256: the record holds its 32 bytes. */
	if (thumbprint != NULL) {
		if ((rc = acme_b64url_decode(thumbprint, strlen(thumbprint), sizeof(e.key_sha256), &raw, &len)) != 0)
			return rc;
		if (len != sizeof(e.key_sha256)) {
			free(raw);
			return sd_error_set(SD_E_INTERNAL, "a thumbprint of %zu bytes", len);
		}
		memcpy(e.key_sha256, raw, len);
		free(raw);
	}
	/* journal_acme_append() requires seq: NULL would refuse every event. */
	return journal_acme_append(a->journal, &e, &seq);
}

/* --- Requests --- */

/* The request's URL, rebuilt from its operation: the JWS must name exactly it. */
static int
acme_request_url(struct acme_call *c)
{
	const struct signer_acme_request *r = c->req;
	char id[SIGNER_ACME_PARAM_MAX + 16];
	const char *cursor;
	int n;

	if (r->op == SIGNER_ACME_FINALIZE) {
		n = snprintf(id, sizeof(id), "%s/finalize", r->id != NULL ? r->id : "");
		if (n < 0 || (size_t)n >= sizeof(id))
			return sd_error_set(SD_E_INVAL, "id too long");
		return acme_url(c, c->url, sizeof(c->url), acme_paths[r->op], id);
	}
	/* acct/ID/orders[/CURSOR]: the request's id is "ID[/CURSOR]". */
	if (r->op == SIGNER_ACME_ORDERS) {
		cursor = strchr(r->id, '/');
		n = cursor == NULL ? snprintf(id, sizeof(id), "%s/orders", r->id) :
		                     snprintf(id, sizeof(id), "%.*s/orders%s", (int)(cursor - r->id), r->id, cursor);
		if (n < 0 || (size_t)n >= sizeof(id))
			return sd_error_set(SD_E_INVAL, "id too long");
		return acme_url(c, c->url, sizeof(c->url), acme_paths[r->op], id);
	}
	return acme_url(c, c->url, sizeof(c->url), acme_paths[r->op], r->id);
}

static bool
acme_op_takes_id(enum signer_acme_op op)
{
	return op == SIGNER_ACME_ACCOUNT || op == SIGNER_ACME_ORDER || op == SIGNER_ACME_FINALIZE ||
	    op == SIGNER_ACME_AUTHZ || op == SIGNER_ACME_CHALLENGE || op == SIGNER_ACME_CERT ||
	    op == SIGNER_ACME_RENEWAL_INFO || op == SIGNER_ACME_ORDERS;
}

/* The account a "kid" names: base "/acme/" P "/acct/" ID, status valid; its key. */
static int
acme_request_account(struct acme_call *c)
{
	char prefix[SIGNER_ACME_URL_MAX + 1];
	struct acme_txn *txn = NULL;
	const char *kid = c->jws->kid, *id, *status;
	enum acme_problem p = ACME_P_NONE;
	size_t n;
	int rc;

	if ((rc = acme_url(c, prefix, sizeof(prefix), "acct", NULL)) != 0)
		return rc;
	n = strlen(prefix);
	id = kid + n + 1;
	if (strncmp(kid, prefix, n) != 0 || kid[n] != '/' || strlen(id) != ACME_ID_LEN)
		return acme_answer_problem(c, ACME_P_ACCOUNT_DOES_NOT_EXIST,
		    "\"kid\" is no account URL of this "
		    "directory");
	memcpy(c->account_id, id, ACME_ID_LEN + 1);
	if ((rc = acme_store_begin(c->a->store, false, &txn)) != 0)
		return rc;
	rc = acme_store_get(txn, ACME_T_ACCOUNT, c->account_id, &c->account);
	acme_store_abort(txn);
	if (rc == SD_E_NOT_FOUND)
		return acme_answer_problem(c, ACME_P_ACCOUNT_DOES_NOT_EXIST, "no account %s", c->account_id);
	if (rc != 0)
		return rc;
	status = acme_json_str(c->account, "status");
	if (status == NULL || strcmp(status, "valid") != 0)
		return acme_answer_problem(c, ACME_P_UNAUTHORIZED, "account %s is %s", c->account_id,
		    status != NULL ? status : "unusable");
	if ((rc = acme_jwk_key(json_object_get(c->account, "jwk"), &c->key, &p)) != 0)
		return rc == SD_E_NOMEM ? rc : sd_error_set(SD_E_JOURNAL_CORRUPT, "account %s: its key", c->account_id);
	return 0;
}

/* SHA-256 of the DER SubjectPublicKeyInfo of c->key. */
static int
acme_request_spki(struct acme_call *c)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(c->key, &der);
	int rc = 0;

	if (n <= 0 || EVP_Digest(der, (size_t)n, c->spki_sha256, NULL, EVP_sha256(), NULL) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "the key's SubjectPublicKeyInfo");
	OPENSSL_free(der);
	return rc;
}

/*
 * A POST: the JWS parsed, its nonce used, its url this request's, its key
 * the account's ("kid") or its own ("jwk", where the operation allows),
 * its signature verified, its payload an object (or empty: POST-as-GET).
 * Returns 0 with c ready, or 0 with a problem answered (c->ans->status set),
 * or an error.
 */
static int
acme_request_verify(struct acme_call *c)
{
	enum signer_acme_op op = c->req->op;
	enum acme_problem p = ACME_P_NONE;
	json_error_t jerr;
	int rc;

	if (c->req->body == NULL)
		return acme_answer_problem(c, ACME_P_MALFORMED, "a POST without a body");
	rc = acme_jws_parse((const char *)c->req->body, c->req->body_len, &c->jws, &p);
	if (rc == SD_E_NOMEM)
		return rc;
	if (rc != 0)
		return acme_answer_problem(c, p != ACME_P_NONE ? p : ACME_P_MALFORMED, "%s", sd_error_detail(rc));
	if ((rc = acme_store_nonce_use(c->a->store, c->jws->nonce, c->now)) == SD_E_NOT_FOUND)
		return acme_answer_problem(c, ACME_P_BAD_NONCE, "the nonce is unknown, used or expired");
	if (rc != 0)
		return rc;
	if ((rc = acme_request_url(c)) != 0)
		return rc;
	if (strcmp(c->jws->url, c->url) != 0)
		return acme_answer_problem(c, ACME_P_UNAUTHORIZED, "the JWS \"url\" is not this request's URL (%s)",
		    c->url);
	if (c->jws->jwk != NULL) {
		if (op != SIGNER_ACME_NEW_ACCOUNT && op != SIGNER_ACME_REVOKE)
			return acme_answer_problem(c, ACME_P_MALFORMED,
			    "this request must be signed by an account "
			    "(\"kid\"), not a \"jwk\"");
		if ((rc = acme_jwk_key(c->jws->jwk, &c->key, &p)) != 0)
			return rc == SD_E_NOMEM ? rc : acme_answer_problem(c, p, "%s", sd_error_detail(rc));
		if ((rc = acme_jwk_thumbprint(c->jws->jwk, c->thumbprint)) != 0)
			return rc;
	} else {
		if (op == SIGNER_ACME_NEW_ACCOUNT)
			return acme_answer_problem(c, ACME_P_MALFORMED, "newAccount must carry its key (\"jwk\")");
		if ((rc = acme_request_account(c)) != 0 || c->ans->status != 0)
			return rc;
		if (acme_json_str(c->account, "thumbprint") == NULL ||
		    strlen(acme_json_str(c->account, "thumbprint")) != ACME_THUMBPRINT_LEN)
			return sd_error_set(SD_E_JOURNAL_CORRUPT, "account %s: its thumbprint", c->account_id);
		memcpy(c->thumbprint, acme_json_str(c->account, "thumbprint"), ACME_THUMBPRINT_LEN + 1);
	}
	if ((rc = acme_jws_verify(c->jws, c->key, &p)) != 0)
		return rc == SD_E_NOMEM ? rc : acme_answer_problem(c, p, "%s", sd_error_detail(rc));
	if ((rc = acme_request_spki(c)) != 0)
		return rc;
	if (c->jws->payload_len == 0)
		return 0;
	c->payload = json_loadb((const char *)c->jws->payload, c->jws->payload_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(c->payload))
		return acme_answer_problem(c, ACME_P_MALFORMED, "the payload is not a JSON object%s%s",
		    c->payload == NULL ? ": " : "", c->payload == NULL ? jerr.text : "");
	return 0;
}

static int
acme_directory(struct acme_call *c)
{
	static const struct {
		const char *name;
		const char *kind;
	} res[] = {
		{ "newNonce", "new-nonce" },
		{ "newAccount", "new-account" },
		{ "newOrder", "new-order" },
		{ "revokeCert", "revoke-cert" },
		{ "keyChange", "key-change" },
		{ "renewalInfo", "renewal-info" },
	};
	char url[SIGNER_ACME_URL_MAX + 1];
	json_t *d = json_object(), *meta = json_object();
	size_t i;
	int rc;

	if (d == NULL || meta == NULL) {
		json_decref(d);
		json_decref(meta);
		return SD_E_NOMEM;
	}
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		if ((rc = acme_url(c, url, sizeof(url), res[i].kind, NULL)) != 0 ||
		    json_object_set_new(d, res[i].name, json_string(url)) != 0) {
			json_decref(d);
			json_decref(meta);
			return rc != 0 ? rc : SD_E_NOMEM;
		}
	}
	if (json_object_set_new(meta, "externalAccountRequired", json_boolean(c->profile->acme_eab)) != 0 ||
	    json_object_set_new(d, "meta", meta) != 0) {
		json_decref(d);
		return SD_E_NOMEM;
	}
	return acme_answer_json(c, 200, d);
}

static int
acme_dispatch(struct acme_call *c)
{
	int rc;

	switch (c->req->op) {
	case SIGNER_ACME_DIRECTORY: return acme_directory(c);
	case SIGNER_ACME_NEW_NONCE:
		/* RFC 8555 7.2: 200 to HEAD, 204 to GET; the nonce is added to every answer. */
		c->ans->status = c->req->head ? 200 : 204;
		return 0;
	case SIGNER_ACME_RENEWAL_INFO: return acme_op_renewal_info(c);
	default: break;
	}
	if ((rc = acme_request_verify(c)) != 0 || c->ans->status != 0)
		return rc;
	switch (c->req->op) {
	case SIGNER_ACME_NEW_ACCOUNT: return acme_op_new_account(c);
	case SIGNER_ACME_ACCOUNT: return acme_op_account(c);
	case SIGNER_ACME_KEY_CHANGE: return acme_op_key_change(c);
	case SIGNER_ACME_NEW_ORDER: return acme_op_new_order(c);
	case SIGNER_ACME_ORDER: return acme_op_order(c);
	case SIGNER_ACME_FINALIZE: return acme_op_finalize(c);
	case SIGNER_ACME_AUTHZ: return acme_op_authz(c);
	case SIGNER_ACME_CHALLENGE: return acme_op_challenge(c);
	case SIGNER_ACME_CERT: return acme_op_cert(c);
	case SIGNER_ACME_REVOKE: return acme_op_revoke(c);
	case SIGNER_ACME_ORDERS: return acme_op_orders(c);
	default: abort(); /* acme_serve() checked the range */
	}
}

/* Delete expired orders and authorizations at most every ACME_SWEEP_SECONDS, off the answer's path of others. */
static void
acme_sweep(struct acme *a, int64_t now)
{
	size_t deleted = 0;
	int rc;

	if (pthread_mutex_trylock(&a->sweep_lock) != 0)
		return;
	if (now - a->swept_at >= ACME_SWEEP_SECONDS) {
		a->swept_at = now;
		if ((rc = acme_store_sweep(a->store, now, ACME_SWEEP_BATCH, &deleted)) != 0)
			sd_log(SD_LOG_WARN, "acme: sweeping expired state failed: %s", sd_error_detail(rc));
	}
	pthread_mutex_unlock(&a->sweep_lock);
}

int
acme_serve(struct acme *a, const struct signer_acme_request *req, struct signer_acme_answer **out)
{
	char index[SIGNER_ACME_URL_MAX + 1];
	struct acme_call c;
	int rc;

	*out = NULL;
	if (req == NULL || req->profile == NULL || req->base == NULL || req->op < SIGNER_ACME_DIRECTORY ||
	    req->op > SIGNER_ACME_OP_MAX || strlen(req->base) > SIGNER_ACME_BASE_MAX ||
	    (req->id != NULL && strlen(req->id) > SIGNER_ACME_PARAM_MAX) || req->body_len > SIGNER_ACME_BODY_MAX ||
	    (req->id != NULL) != acme_op_takes_id(req->op))
		return sd_error_set(SD_E_INVAL, "ACME request out of bounds");
	memset(&c, 0, sizeof(c));
	if ((c.ans = calloc(1, sizeof(*c.ans))) == NULL)
		return SD_E_NOMEM;
	c.a = a;
	c.req = req;
	c.now = (int64_t)time(NULL);
	c.profile = a != NULL ? sd_config_profile(a->cfg, req->profile) : NULL;
	if (c.profile == NULL || !c.profile->acme) {
		(void)acme_answer_problem(&c, ACME_P_NOT_FOUND, "no ACME directory \"%.64s\"", req->profile);
		*out = c.ans;
		return 0;
	}
	acme_sweep(a, c.now);
	rc = acme_dispatch(&c);
	if (rc == SD_E_NOMEM && c.ans->status == 0) {
		signer_acme_answer_free(c.ans);
		c.ans = NULL;
		goto out;
	}
	if (rc != 0) {
		sd_log(SD_LOG_ERROR, "acme: %s %s: %s", req->profile, acme_paths[req->op], sd_error_detail(rc));
		(void)acme_answer_problem(&c, ACME_P_SERVER_INTERNAL, "%s", sd_error_detail(rc));
	}
	/* Every answer carries a fresh nonce, refusals too (RFC 8555 6.5): a client retries with it. */
	if (acme_store_nonce_new(a->store, c.now, c.ans->nonce) != 0)
		c.ans->nonce[0] = '\0';
	/* A link too many or too long only costs the client the directory's address. */
	if (req->op != SIGNER_ACME_DIRECTORY && acme_url(&c, index, sizeof(index), "directory", NULL) == 0 &&
	    acme_answer_link(&c, index, "index") != 0)
		sd_error_clear();
	*out = c.ans;
	c.ans = NULL;
	rc = 0;
out:
	acme_jws_free(c.jws);
	json_decref(c.payload);
	json_decref(c.account);
	EVP_PKEY_free(c.key);
	return rc;
}

int
acme_validated(struct acme *a, const char *profile, const char *challenge, const char *error_type, const char *detail)
{
	if (a == NULL)
		return sd_error_set(SD_E_NOT_FOUND, "ACME is not configured");
	return acme_challenge_validated(a, profile, challenge, error_type, detail, (int64_t)time(NULL));
}

void
signer_acme_answer_free(struct signer_acme_answer *ans)
{
	if (ans == NULL)
		return;
	free(ans->body);
	free(ans);
}
