#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "revocation_ocsp.h"
#include "sd_file.h"
#include "sd_log.h"
#include "sd_metrics.h"
#include "x509/ocsp.h"

#define OCSP_BUCKETS 4096		/* hash chains of the cache */
#define OCSP_REFRESH_MAX 256		/* answers signed again in one refresh */
#define OCSP_CERT_FILE_MAX (64 * 1024)
#define OCSP_RESPONDER_WARN (14 * 86400)	/* s before the responder certificate expires: warned at start */

/* How an answer was made, for the metrics. */
enum ocsp_answer_kind {
	OCSP_ANSWER_CACHED = 0,
	OCSP_ANSWER_SIGNED = 1,
	OCSP_ANSWER_TRY_LATER = 2,
	OCSP_ANSWER_UNAUTHORIZED = 3,
	OCSP_ANSWER_MALFORMED = 4,
	OCSP_ANSWER_KINDS = 5,
};
static const char *const ocsp_answer_names[OCSP_ANSWER_KINDS] = {
	"cached", "signed", "try_later", "unauthorized", "malformed",
};

/* One pre-signed answer: a single CertID, no nonce, good or revoked. */
struct ocsp_cached {
	struct ocsp_cached *next;
	struct ocsp_certid id;		/* as the request named it: the key, and what a refresh answers */
	uint8_t *der;
	size_t len;
	int64_t this_update, next_update;
	int64_t used;			/* when it was last served */
};

struct revocation_ocsp {
	const struct sd_config *cfg;
	struct journal *j;
	const struct ca *ca;
	struct hsm_key *key;
	X509 *cert;			/* the responder's: in every answer */
	int64_t cert_not_after;		/* its notAfter, Unix seconds: answers past it do not verify */
	EVP_PKEY *cert_key;		/* its public key, borrowed from cert: checks every answer */
	pthread_mutex_t lock;		/* everything below */
	struct ocsp_cached *buckets[OCSP_BUCKETS];
	size_t n_cached;
	uint64_t generation;		/* bumped by every revocation: an answer made across one is not kept */
	double tokens;			/* fresh signatures left this second (a token bucket) */
	int64_t refilled;
	atomic_uint_fast64_t answers[OCSP_ANSWER_KINDS];	/* by enum ocsp_answer_kind */
};

static int
revocation_ocsp_load_cert(const char *path, X509 **out)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int rc;

	*out = NULL;
	if ((rc = sd_file_read(path, OCSP_CERT_FILE_MAX, &pem, &len)) != 0)
		return rc;
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		rc = sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s: no PEM certificate", path);
out:
	BIO_free(bio);
	free(pem);
	return rc;
}

/* The responder certificate speaks for ca with key: issued by ca, for OCSP signing, of key's public key. */
static int
revocation_ocsp_check(struct revocation_ocsp *r, const char *path)
{
	const uint8_t *spki, *p;
	EVP_PKEY *hsm_pub = NULL;
	size_t spki_len = 0;
	struct tm tm;
	int rc = 0;

	if ((r->cert_key = X509_get0_pubkey(r->cert)) == NULL)
		return sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s: its public key does not parse", path);
	if (X509_verify(r->cert, r->ca->pubkey) != 1)
		return sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s is not issued by the issuing CA", path);
	if ((X509_get_extension_flags(r->cert) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(r->cert) & XKU_OCSP_SIGN) == 0)
		return sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s lacks id-kp-OCSPSigning", path);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(r->cert), &tm) != 1)
		return sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s: its notAfter does not parse", path);
	r->cert_not_after = (int64_t)timegm(&tm);
	if (r->cert_not_after - (int64_t)time(NULL) < OCSP_RESPONDER_WARN)
		sd_log(SD_LOG_WARN, "[ca] ocsp_certificate %s expires in less than %d days: make a new one "
		    "(signerctl ocsp-responder)", path, OCSP_RESPONDER_WARN / 86400);
	if ((spki = hsm_key_spki_peek(r->key, &spki_len)) == NULL || spki_len == 0 || spki_len > LONG_MAX)
		return sd_error_set(SD_E_CONFIG, "[ca] ocsp_key has no public key");
	p = spki;
	if ((hsm_pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL || EVP_PKEY_eq(hsm_pub, r->cert_key) != 1)
		rc = sd_error_set(SD_E_CONFIG, "[ca] ocsp_certificate %s does not hold the key of [ca] ocsp_key", path);
	EVP_PKEY_free(hsm_pub);
	return rc;
}

int
revocation_ocsp_open(const struct sd_config *cfg, struct hsm *hsm, struct journal *j, const struct ca *ca,
    struct revocation_ocsp **out)
{
	struct revocation_ocsp *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SD_E_NOMEM;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return SD_E_NOMEM;
	}
	r->cfg = cfg;
	r->j = j;
	r->ca = ca;
	r->tokens = cfg->ca_ocsp_signatures_per_second;
	if ((rc = hsm_key_find(hsm, cfg->ca_ocsp_key, false, &r->key)) != 0 ||
	    (rc = revocation_ocsp_load_cert(cfg->ca_ocsp_certificate, &r->cert)) != 0 ||
	    (rc = revocation_ocsp_check(r, cfg->ca_ocsp_certificate)) != 0) {
		revocation_ocsp_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void
revocation_ocsp_cached_free(struct ocsp_cached *e)
{
	if (e == NULL)
		return;
	free(e->der);
	free(e);
}

void
revocation_ocsp_close(struct revocation_ocsp *r)
{
	struct ocsp_cached *e, *next;
	size_t b;

	if (r == NULL)
		return;
	for (b = 0; b < OCSP_BUCKETS; b++)
		for (e = r->buckets[b]; e != NULL; e = next) {
			next = e->next;
			revocation_ocsp_cached_free(e);
		}
	X509_free(r->cert);
	hsm_key_free(r->key);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* FNV-1a of a CertID's DER. */
static size_t
revocation_ocsp_bucket(const struct ocsp_certid *id)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < id->der_len; i++)
		h = (h ^ id->der[i]) * 16777619u;
	return h % OCSP_BUCKETS;
}

/* The cached answer for id, or NULL; r->lock held. */
static struct ocsp_cached **
revocation_ocsp_find(struct revocation_ocsp *r, const struct ocsp_certid *id)
{
	struct ocsp_cached **pe;

	for (pe = &r->buckets[revocation_ocsp_bucket(id)]; *pe != NULL; pe = &(*pe)->next)
		if ((*pe)->id.der_len == id->der_len && memcmp((*pe)->id.der, id->der, id->der_len) == 0)
			return pe;
	return NULL;
}

/* Take one fresh signature from the budget; r->lock held. */
static bool
revocation_ocsp_spend(struct revocation_ocsp *r, int64_t now)
{
	double rate = r->cfg->ca_ocsp_signatures_per_second;

	if (now > r->refilled) {
		r->tokens += rate * (double)(now - r->refilled);
		if (r->tokens > rate)
			r->tokens = rate;
		r->refilled = now;
	}
	if (r->tokens < 1.0)
		return false;
	r->tokens -= 1.0;
	return true;
}

/* What the journal says of id now. Errors: those of journal_serial_state() but SD_E_NOT_FOUND. */
static int
revocation_ocsp_status(struct revocation_ocsp *r, const struct ocsp_certid *id, int64_t now, struct ocsp_single *out)
{
	struct journal_serial_state st;
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = *id;
	out->this_update = now;
	out->next_update = now + (int64_t)r->cfg->ca_ocsp_validity;
	out->status = OCSP_CERT_UNKNOWN;
	if (id->serial_len == 0)
		return 0;
	rc = journal_serial_state(r->j, id->serial, id->serial_len, &st);
	if (rc == SD_E_NOT_FOUND)
		return 0;
	if (rc != 0)
		return rc;
	/* A short-lived certificate's lifetime is its revocation: the responder vouches for it only if told to. */
	if (st.parsed && sd_config_short_lived(r->cfg, st.not_after - st.not_before) && !r->cfg->ca_ocsp_short_lived)
		return 0;
	if (st.revoked) {
		out->status = OCSP_CERT_REVOKED;
		out->revoked_at = st.revoked_ms / 1000;
		out->reason = st.revocation_reason;
	} else {
		out->status = OCSP_CERT_GOOD;
	}
	return 0;
}

/* Sign the answers to ids (with nonce, if any) into o. */
static int
revocation_ocsp_sign(struct revocation_ocsp *r, const struct ocsp_certid *ids, size_t n, const uint8_t *nonce,
    size_t nonce_len, int64_t now, struct signer_ocsp *o, enum ocsp_cert_status *first)
{
	struct ocsp_single answers[OCSP_REQUEST_IDS_MAX];
	size_t i;
	int rc;

	if (n == 0 || n > OCSP_REQUEST_IDS_MAX)
		return sd_error_set(SD_E_INVAL, "%zu CertIDs", n);
	for (i = 0; i < n; i++)
		if ((rc = revocation_ocsp_status(r, &ids[i], now, &answers[i])) != 0)
			return rc;
	if ((rc = ocsp_response_sign(r->key, NULL, r->cert, answers, n, now, nonce, nonce_len, r->cert_key, &o->der,
	    &o->len)) != 0)
		return rc;
	o->successful = true;
	o->this_update = answers[0].this_update;
	o->next_update = answers[0].next_update;
	o->has_nonce = nonce_len > 0;
	*first = answers[0].status;
	return 0;
}

/*
 * Keep o as the answer to id, unless a revocation came between (generation)
 * or the cache is full. used: when it was asked for (0: by a refresh, which
 * is no use).
 */
static void
revocation_ocsp_keep(struct revocation_ocsp *r, const struct ocsp_certid *id, const struct signer_ocsp *o,
    uint64_t generation, int64_t used)
{
	struct ocsp_cached **pe, *e = NULL, *old;

	if ((e = calloc(1, sizeof(*e))) == NULL || (e->der = malloc(o->len)) == NULL) {
		free(e);
		return;
	}
	e->id = *id;
	memcpy(e->der, o->der, o->len);
	e->len = o->len;
	e->this_update = o->this_update;
	e->next_update = o->next_update;
	e->used = used;
	pthread_mutex_lock(&r->lock);
	if (r->generation != generation) {
		pthread_mutex_unlock(&r->lock);
		revocation_ocsp_cached_free(e);
		return;
	}
	if ((pe = revocation_ocsp_find(r, id)) != NULL) {
		old = *pe;
		e->next = old->next;
		e->used = old->used > used ? old->used : used;
		*pe = e;
		e = old;
	} else if (r->n_cached < REVOCATION_OCSP_CACHE_MAX) {
		pe = &r->buckets[revocation_ocsp_bucket(id)];
		e->next = *pe;
		*pe = e;
		r->n_cached++;
		e = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	revocation_ocsp_cached_free(e);
}

/* The unsigned answer status into o. */
static int
revocation_ocsp_refuse(struct signer_ocsp *o, int status)
{
	free(o->der);
	memset(o, 0, sizeof(*o));
	return ocsp_error_response(status, &o->der, &o->len);
}

/* A copy of the cached answer to id into o (o->der NULL when there is none valid at now). */
static int
revocation_ocsp_lookup(struct revocation_ocsp *r, const struct ocsp_certid *id, int64_t now, struct signer_ocsp *o)
{
	struct ocsp_cached **pe, *e;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if ((pe = revocation_ocsp_find(r, id)) != NULL && now < (e = *pe)->next_update) {
		if ((o->der = malloc(e->len)) == NULL) {
			rc = SD_E_NOMEM;
		} else {
			memcpy(o->der, e->der, e->len);
			o->len = e->len;
			o->successful = true;
			o->this_update = e->this_update;
			o->next_update = e->next_update;
			e->used = now;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Count an answer of kind; returns rc. */
static int
revocation_ocsp_count(struct revocation_ocsp *r, enum ocsp_answer_kind kind, int rc)
{
	if (rc == 0)
		atomic_fetch_add_explicit(&r->answers[kind], 1, memory_order_relaxed);
	return rc;
}

/* Answer the parsed request q into o. */
static int
revocation_ocsp_serve(struct revocation_ocsp *r, const struct ocsp_request *q, int64_t now, struct signer_ocsp *o)
{
	enum ocsp_cert_status status = OCSP_CERT_UNKNOWN;
	struct signer_ocsp fresh;
	uint64_t generation;
	bool match, spend;
	size_t i;
	int rc;

	for (i = 0; i < q->n_ids; i++)
		if (ocsp_certid_is_issued_by(&q->ids[i], r->ca->cert, &match) != 0 || !match) {
			atomic_fetch_add_explicit(&r->answers[OCSP_ANSWER_UNAUTHORIZED], 1, memory_order_relaxed);
			return revocation_ocsp_refuse(o, OCSP_UNAUTHORIZED);
		}
	/* One CertID: the cache may answer (without the nonce, as RFC 5019 2.1 allows when signing is dear). */
	if (q->n_ids == 1 && (rc = revocation_ocsp_lookup(r, &q->ids[0], now, o)) != 0)
		return rc;
	if (o->der != NULL && q->nonce_len == 0)
		return revocation_ocsp_count(r, OCSP_ANSWER_CACHED, 0);
	pthread_mutex_lock(&r->lock);
	spend = revocation_ocsp_spend(r, now);
	generation = r->generation;
	pthread_mutex_unlock(&r->lock);
	if (!spend && o->der != NULL)
		return revocation_ocsp_count(r, OCSP_ANSWER_CACHED, 0);
	if (!spend)
		return revocation_ocsp_count(r, OCSP_ANSWER_TRY_LATER, revocation_ocsp_refuse(o, OCSP_TRY_LATER));
	memset(&fresh, 0, sizeof(fresh));
	rc = revocation_ocsp_sign(r, q->ids, q->n_ids, q->nonce, q->nonce_len, now, &fresh, &status);
	if (rc == SD_E_NOMEM) {
		free(fresh.der);
		return rc;
	}
	if (rc != 0) {
		free(fresh.der);
		sd_log(SD_LOG_WARN, "OCSP answer not signed: %s", sd_error_detail(rc));
		/* The HSM or the journal is away: the client asks again later, or keeps a cached answer. */
		if (o->der != NULL)
			return revocation_ocsp_count(r, OCSP_ANSWER_CACHED, 0);
		return revocation_ocsp_count(r, OCSP_ANSWER_TRY_LATER, revocation_ocsp_refuse(o, OCSP_TRY_LATER));
	}
	if (q->n_ids == 1 && q->nonce_len == 0 && status != OCSP_CERT_UNKNOWN)
		revocation_ocsp_keep(r, &q->ids[0], &fresh, generation, now);
	free(o->der);
	*o = fresh;
	return revocation_ocsp_count(r, OCSP_ANSWER_SIGNED, 0);
}

int
revocation_ocsp_answer(struct revocation_ocsp *r, const uint8_t *req, size_t len, int64_t now,
    struct signer_ocsp **out)
{
	struct ocsp_request *q = NULL;
	struct signer_ocsp *o;
	int rc;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return SD_E_NOMEM;
	if (r == NULL) {
		rc = revocation_ocsp_refuse(o, OCSP_UNAUTHORIZED);
	} else if ((rc = ocsp_request_parse(req, len, &q)) != 0 && rc != SD_E_NOMEM) {
		rc = revocation_ocsp_count(r, OCSP_ANSWER_MALFORMED, revocation_ocsp_refuse(o, OCSP_MALFORMED_REQUEST));
	} else if (rc == 0) {
		rc = revocation_ocsp_serve(r, q, now, o);
	}
	ocsp_request_free(q);
	if (rc != 0) {
		signer_ocsp_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void
revocation_ocsp_forget(struct revocation_ocsp *r, const uint8_t *serial, size_t len)
{
	struct ocsp_cached **pe, *e;
	size_t b;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->generation++;
	for (b = 0; b < OCSP_BUCKETS; b++)
		for (pe = &r->buckets[b]; *pe != NULL;) {
			e = *pe;
			if (e->id.serial_len == len && memcmp(e->id.serial, serial, len) == 0) {
				*pe = e->next;
				revocation_ocsp_cached_free(e);
				r->n_cached--;
			} else {
				pe = &e->next;
			}
		}
	pthread_mutex_unlock(&r->lock);
}

void
revocation_ocsp_refresh(struct revocation_ocsp *r, int64_t now)
{
	struct ocsp_certid *due;
	struct ocsp_cached **pe, *e;
	struct signer_ocsp fresh;
	enum ocsp_cert_status status;
	uint64_t generation;
	size_t b, n = 0, i;
	int64_t half;

	if (r == NULL || (due = calloc(OCSP_REFRESH_MAX, sizeof(*due))) == NULL)
		return;
	half = (int64_t)r->cfg->ca_ocsp_validity / 2;
	pthread_mutex_lock(&r->lock);
	generation = r->generation;
	for (b = 0; b < OCSP_BUCKETS; b++)
		for (pe = &r->buckets[b]; *pe != NULL;) {
			e = *pe;
			/* Past half its validity and nobody asked since it was signed: it goes rather than cost a signature. */
			if (now >= e->this_update + half && (e->used <= e->this_update || now >= e->next_update)) {
				*pe = e->next;
				revocation_ocsp_cached_free(e);
				r->n_cached--;
				continue;
			}
			if (now >= e->this_update + half && n < OCSP_REFRESH_MAX)
				due[n++] = e->id;
			pe = &e->next;
		}
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < n; i++) {
		memset(&fresh, 0, sizeof(fresh));
		status = OCSP_CERT_UNKNOWN;
		if (revocation_ocsp_sign(r, &due[i], 1, NULL, 0, now, &fresh, &status) == 0 && status != OCSP_CERT_UNKNOWN)
			revocation_ocsp_keep(r, &due[i], &fresh, generation, 0);
		free(fresh.der);
	}
	free(due);
}

void
revocation_ocsp_metrics_text(struct revocation_ocsp *r, struct sd_metrics_text *t)
{
	size_t i, n;

	if (r == NULL)
		return;
	sd_metrics_family(t, "signerd_ocsp_answers_total", "counter",
	    "OCSP answers by how they were made: cached, signed, try_later, unauthorized, malformed.");
	for (i = 0; i < OCSP_ANSWER_KINDS; i++)
		sd_metrics_printf(t, "signerd_ocsp_answers_total{answer=\"%s\"} %llu\n", ocsp_answer_names[i],
		    (unsigned long long)atomic_load_explicit(&r->answers[i], memory_order_relaxed));
	pthread_mutex_lock(&r->lock);
	n = r->n_cached;
	pthread_mutex_unlock(&r->lock);
	sd_metrics_family(t, "signerd_ocsp_cached_answers", "gauge", "Pre-signed OCSP answers kept.");
	sd_metrics_printf(t, "signerd_ocsp_cached_answers %zu\n", n);
	sd_metrics_family(t, "signerd_ocsp_responder_expiry_seconds", "gauge",
	    "Seconds until the OCSP responder certificate expires (negative: expired; its answers no longer verify).");
	sd_metrics_printf(t, "signerd_ocsp_responder_expiry_seconds %lld\n",
	    (long long)(r->cert_not_after - (int64_t)time(NULL)));
}

void
signer_ocsp_free(struct signer_ocsp *o)
{
	if (o == NULL)
		return;
	free(o->der);
	free(o);
}
