#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "config.h"
#include "csr/csr.h"
#include "hsm.h"
#include "journal.h"
#include "policy/policy.h"
#include "policy/profile_check.h"
#include "sd_file.h"
#include "signer.h"
#include "signer_acme.h"
#include "signer_admit.h"
#include "sd_metrics.h"
#include "signer_counters.h"
#include "signer_certs.h"
#include "revocation/revocation.h"
#include "signer_reenroll.h"
#include "signer_revoke.h"
#include "signer_journal.h"
#include "signer_quota.h"
#include "x509/ca.h"
#include "x509/sign_tbs.h"
#include "x509/x509_cert.h"
#include "x509/x509_ext.h"
#include "x509/x509_tbs.h"
#include "witness/witness.h"

struct signer {
	const struct sd_config *cfg;	/* borrowed: outlives the signer */
	struct hsm *hsm;
	struct hsm_key *key;
	struct ca *ca;
	struct signer_journal *sj;
	struct journal *journal;	/* borrowed from sj */
	struct weakkey_blocklist *blocklist;	/* [ca] key_blocklist, or NULL */
	struct signer_quota *quota;
	struct signer_counters *counters;
	struct revocation *rev;		/* CRLs and OCSP answers */
	struct acme *acme;		/* the ACME engine; NULL when no profile serves ACME */
	struct signer_admit *admit;	/* issuances at once: [hsm] concurrency, queue, queue_wait_ms */
};

int
signer_open(const struct sd_config *cfg, struct signer **out)
{
	struct signer *s = NULL;
	struct hsm_config hc;
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->ca_key_uri == NULL || cfg->journal_path == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "configuration lacks the CA key or the journal path");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	s->cfg = cfg;
	hc = (struct hsm_config){
		.module_path = cfg->hsm_module,
		.token_uri = cfg->hsm_token_uri,
		.pin_file = cfg->hsm_pin_file,
		.pool_size = cfg->hsm_sessions,
	};
	if ((rc = hsm_open(&hc, &s->hsm)) != 0)
		goto out;
	hsm_session_keys_set(s->hsm, cfg->hsm_session_keys);
	if ((rc = hsm_key_find(s->hsm, cfg->ca_key_uri, false, &s->key)) != 0)
		goto out;
	if ((rc = ca_load(s->key, cfg->ca_key_uri, cfg->ca_certificate, cfg->ca_chain, cfg->ca_signature_pss, &s->ca)) != 0)
		goto out;
	if ((rc = signer_journal_open(cfg, s->hsm, &s->sj)) != 0)
		goto out;
	s->journal = signer_journal_peek(s->sj);
	if ((rc = signer_quota_new(cfg, &s->quota)) != 0 || (rc = signer_counters_new(cfg, &s->counters)) != 0)
		goto out;
	signer_journal_counters_set(s->sj, s->counters);
	if ((rc = signer_admit_new(cfg->hsm_concurrency != 0 ? cfg->hsm_concurrency : SIGNER_ADMIT_PERMITS_MAX,
	    &s->admit)) != 0)
		goto out;
	if (cfg->ca_key_blocklist != NULL && (rc = weakkey_blocklist_load(cfg->ca_key_blocklist, &s->blocklist)) != 0)
		goto out;
	if ((rc = revocation_open(cfg, s->hsm, s->journal, s->key, s->ca, &s->rev)) != 0)
		goto out;
	/* After the journal and the CA: the engine issues and revokes through them. */
	if ((rc = signer_acme_open(s, cfg, s->journal, &s->acme)) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	signer_close(s);
	return rc;
}

void
signer_close(struct signer *s)
{
	if (s == NULL)
		return;
	acme_close(s->acme);
	revocation_close(s->rev);
	signer_journal_close(s->sj);
	signer_quota_free(s->quota);
	signer_counters_free(s->counters);
	weakkey_blocklist_free(s->blocklist);
	signer_admit_free(s->admit);
	ca_free(s->ca);
	hsm_key_free(s->key);
	hsm_close(s->hsm);
	free(s);
}

size_t
signer_chain_count(const struct signer *s)
{
	return s != NULL && s->ca != NULL ? s->ca->n_chain : 0;
}

const char *
signer_chain_pem(const struct signer *s, size_t i)
{
	return i < signer_chain_count(s) ? s->ca->chain_pem[i] : NULL;
}

int
signer_metrics(struct signer *s, const char *client, char **text)
{
	struct sd_metrics_text t = { NULL, 0, 0, false };
	struct hsm_stats hs;
	size_t len;

	(void)client;
	*text = NULL;
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	signer_counters_text(s->counters, &t);
	signer_quota_text(s->quota, &t);
	hsm_stats_get(s->hsm, &hs);
	signer_counters_hsm_text(&hs, &t);
	signer_journal_metrics_text(s->sj, &t);
	signer_admit_text(s->admit, &t);
	revocation_metrics_text(s->rev, &t);
	return sd_metrics_text_take(&t, text, &len);
}

int
signer_api_refusals(struct signer *s, int64_t window_start_ms, uint64_t count, const char *detail)
{
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_journal_api_refusals(s->sj, window_start_ms, count, detail);
}

int
signer_health(struct signer *s)
{
	int rc;

	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((rc = hsm_health(s->hsm)) != 0)
		return rc;
	return journal_health(s->journal);
}

void
signer_result_free(struct signer_result *r)
{
	if (r == NULL)
		return;
	free(r->cert_pem);
	free(r);
}

/* Profile names come from clients: show at most 64 printable characters. */
static void
signer_show(const char *in, char out[68])
{
	size_t i;

	for (i = 0; i < 64 && in[i] != '\0'; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	if (in[i] != '\0')
		out[i++] = '~';
	out[i] = '\0';
}

/* journal_find_serial() as policy_serial()'s "already taken" test. */
static int
signer_serial_taken(void *ctx, const uint8_t *serial, size_t len)
{
	uint64_t intent = 0, result = 0;
	int rc = journal_find_serial(ctx, serial, len, &intent, &result);

	return rc == 0 ? 1 : rc == SD_E_NOT_FOUND ? 0 : rc;
}

static int
signer_rfc3339(time_t t, char *out, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return sd_error_set(SD_E_INTERNAL, "cannot format time %lld", (long long)t);
	return 0;
}

/* Validity from now: notBefore backdated, notAfter within the CA's own validity. */
static int
signer_validity(const struct signer *s, const struct config_profile *profile, uint64_t ttl, time_t now,
    time_t *not_before, time_t *not_after)
{
	char want[32], limit[32];

	_Static_assert(sizeof(time_t) == sizeof(int64_t), "64-bit time_t required");
	if (now <= 0 || profile->backdate > (uint64_t)now)
		return sd_error_set(SD_E_TTL, "backdate of %llu s in profile %s is not usable",
		    (unsigned long long)profile->backdate, profile->name);
	if (ttl > (uint64_t)(INT64_MAX - now))
		return sd_error_set(SD_E_TTL, "lifetime of %llu s is too long", (unsigned long long)ttl);
	*not_before = now - (time_t)profile->backdate;
	*not_after = now + (time_t)ttl;
	if (*not_after > s->ca->not_after) {
		if (signer_rfc3339(*not_after, want, sizeof(want)) != 0 ||
		    signer_rfc3339(s->ca->not_after, limit, sizeof(limit)) != 0)
			return SD_E_INTERNAL;
		return sd_error_set(SD_E_TTL, "notAfter %s (lifetime %llu s) would be after the CA certificate's "
		    "notAfter %s", want, (unsigned long long)ttl, limit);
	}
	return 0;
}

static int
signer_result_new(const uint8_t *serial, size_t serial_len, const uint8_t *der, size_t der_len, time_t not_after,
    struct signer_result **out)
{
	struct signer_result *r = NULL;
	int rc;

	*out = NULL;
	if (serial_len * 2 + 1 > sizeof(r->serial_hex)) {
		rc = sd_error_set(SD_E_INTERNAL, "serial of %zu bytes", serial_len);
		goto out;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	sd_hex_encode(serial, serial_len, r->serial_hex);
	if ((rc = x509_cert_pem(der, der_len, &r->cert_pem)) != 0)
		goto out;
	if ((rc = signer_rfc3339(not_after, r->not_after, sizeof(r->not_after))) != 0)
		goto out;
	*out = r;
	r = NULL;
	rc = 0;
out:
	signer_result_free(r);
	return rc;
}

/* Failures of the building blocks that are not the request's fault are internal errors, with their detail. */
static int
signer_internal(int rc)
{
	char detail[512];

	if (rc != SD_E_CRYPTO && rc != SD_E_INVAL && rc != SD_E_UNSUPPORTED)
		return rc;
	if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
		detail[0] = '\0';
	return sd_error_set(SD_E_INTERNAL, "%s", detail);
}

/* signer_journal_unresolved(), keeping err's detail for the caller. */
static void
signer_issue_unresolved(struct signer *s, uint64_t intent_seq, const uint8_t *serial, size_t serial_len,
    const uint8_t *tbs, size_t tbs_len, int err)
{
	char detail[512];

	if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(err)) < 0)
		detail[0] = '\0';
	(void)signer_journal_unresolved(s->sj, intent_seq, serial, serial_len, tbs, tbs_len, err);
	(void)sd_error_set(err, "%s", detail);
}

int
signer_issue(struct signer *s, const struct signer_request *req, struct signer_result **out)
{
	const struct config_profile *profile;
	struct signer_result *result = NULL;
	struct csr *csr = NULL;
	struct x509_san *sans = NULL;
	X509_NAME *subject = NULL;
	X509 *renewed = NULL;		/* a holder's re-enrollment: the certificate renewed */
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct x509_tbs_template tmpl;
	struct signer_journal_who who;
	uint64_t intent_seq = 0;
	struct timespec ts;
	uint8_t serial[X509_SERIAL_LEN];
	uint8_t *der = NULL, *linted = NULL;
	size_t der_len = 0, n_sans = 0, linted_len = 0, want;
	unsigned ku = 0;
	uint64_t ttl = 0;
	time_t not_before = 0, not_after = 0;
	const struct config_client *client = NULL;
	uint64_t start = sd_monotonic_us(), held = 0;
	char show[68];
	bool empty_subject, admitted = false, resulted = false;
	int rc;

	*out = NULL;
	if (s == NULL || req == NULL || req->client_subject == NULL) {
		rc = sd_error_set(SD_E_INTERNAL, "issuance request without a client");
		goto out;
	}
	/* Before any work: a client over its quota costs a lookup, not a CSR parse or a signature. */
	if (req->client != NULL)
		client = sd_config_client_by_name(s->cfg, req->client);
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "clock_gettime failed");
		goto out;
	}
	if ((rc = signer_quota_take(s->quota, client, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000)) != 0)
		goto out;
	/* Nor past the HSM's capacity: a bounded wait, then 503 busy, before anything is parsed or journaled. */
	if ((rc = signer_admit_take(s->admit, s->cfg->hsm_queue, s->cfg->hsm_queue_wait_ms, &held)) != 0)
		goto out;
	admitted = true;
	if (req->profile == NULL || (profile = sd_config_profile(s->cfg, req->profile)) == NULL) {
		signer_show(req->profile != NULL ? req->profile : "", show);
		rc = sd_error_set(SD_E_PROFILE_UNKNOWN, "no profile \"%s\"", show);
		goto out;
	}
	/* A holder that renews no current certificate of its own costs a lookup, not a CSR parse. */
	if (req->reenroll_serial != NULL && (rc = signer_reenroll_holder(s->journal, req->reenroll_serial,
	    req->client_spki_sha256, profile->name, ts.tv_sec, &renewed)) != 0)
		goto out;
	if ((rc = csr_parse(req->csr_pem, req->csr_pem_len, profile->rsa_min_bits, &csr)) != 0)
		goto out;
	if ((rc = policy_check_ca_profile(profile, s->ca)) != 0 ||
	    (rc = policy_check_key(profile, csr, s->ca, s->blocklist, &ku)) != 0)
		goto out;
	/*
	 * One entry (about 2 KB) per name requested, within the limit
	 * policy_names() enforces; not zeroed, as only the entries it fills
	 * (n_sans) are read.
	 */
	want = req->sans != NULL && req->n_sans > 0 ? req->n_sans : csr->n_sans;
	if ((sans = malloc((want > 0 && want <= SIGNER_SAN_MAX ? want : 1) * sizeof(*sans))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = policy_names(profile, csr, req->sans, req->sans != NULL ? req->n_sans : 0, sans, &n_sans)) != 0)
		goto out;
	if ((rc = profile_check_ttl(profile, req->ttl, &ttl)) != 0)
		goto out;
	if ((rc = policy_serial(serial, signer_serial_taken, s->journal)) != 0)
		goto out;
	if ((rc = policy_subject(profile, csr, sans, n_sans, &subject, &empty_subject)) != 0)
		goto out;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "clock_gettime failed");
		goto out;
	}
	if ((rc = signer_validity(s, profile, ttl, ts.tv_sec, &not_before, &not_after)) != 0)
		goto out;
	if ((rc = policy_extensions(profile, csr, ku, s->ca->keyid, s->ca->keyid_len, sans, n_sans, empty_subject,
	    sd_config_short_lived(s->cfg, (int64_t)(not_after - not_before)), &exts)) != 0)
		goto out;
	if (renewed != NULL && (rc = signer_reenroll_same(renewed, subject, exts)) != 0)
		goto out;
	tmpl = (struct x509_tbs_template){
		.serial = serial,
		.serial_len = sizeof(serial),
		.issuer = s->ca->issuer,
		.issuer_len = s->ca->issuer_len,
		.not_before = not_before,
		.not_after = not_after,
		.subject = subject,
		.spki = csr->spki,
		.spki_len = csr->spki_len,
		.exts = exts,
	};
	/* The lints read the TBS the HSM will sign; the certificate must carry exactly that TBS. */
	if ((rc = policy_lint(profile, s->ca, &tmpl, s->ca->sigalg->algid, s->ca->sigalg->algid_len, ts.tv_sec, &linted,
	    &linted_len)) != 0)
		goto out;
	who = (struct signer_journal_who){ req->client_subject, req->client_spki_sha256, profile->name, csr->sha256 };
	/*
	 * Journals the intent durably, signs exactly the linted TBS in the HSM,
	 * parses the certificate back and verifies it with the CA public key.
	 */
	rc = signer_journal_sign(s->sj, &who, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, s->key,
	    s->ca->sigalg, linted, linted_len, serial, sizeof(serial), s->ca->verifier, &der, &der_len, &intent_seq);
	/* The permit covers the HSM's part (the intent's commit and the signature), not what follows. */
	if (admitted) {
		signer_admit_give(s->admit, held);
		admitted = false;
	}
	if (rc != 0)
		goto out;
	if ((rc = policy_same_tbs(der, der_len, linted, linted_len)) != 0)
		goto out;
	/* Everything that can fail is done before the journal, so a journaled certificate is always returned. */
	if ((rc = signer_result_new(serial, sizeof(serial), der, der_len, not_after, &result)) != 0)
		goto out;
	/*
	 * A certificate the journal does not hold is never returned: its intent
	 * (the whole TBS) is durable, and its result durable too or in the next
	 * group commit ([journal] result).
	 */
	if ((rc = signer_journal_result(s->sj, intent_seq, serial, sizeof(serial), der, der_len,
	    &result->journal_seq)) != 0)
		goto out;
	resulted = true;
	*out = result;
	result = NULL;
	signer_counters_issued(s->counters, profile, client);
	sd_histogram_observe(&s->counters->issue, sd_monotonic_us() - start);
	rc = 0;
out:
	if (admitted)
		signer_admit_give(s->admit, held);
	if (rc != 0 && s != NULL)
		signer_counters_failed(s->counters, rc);
	/* An intent that will have no result says so, rather than wait for the next start's scan. */
	if (rc != 0 && intent_seq != 0 && !resulted)
		signer_issue_unresolved(s, intent_seq, serial, sizeof(serial), linted, linted_len, rc);
	if (rc != 0 && s != NULL && req != NULL && req->client_subject != NULL) {
		/* Refusals (not failures) are journaled, bounded by [journal] refusals_per_minute. */
		unsigned retry = sd_error_retry_after(rc);

		who = (struct signer_journal_who){ req->client_subject, req->client_spki_sha256, req->profile,
		    csr != NULL ? csr->sha256 : NULL };
		signer_journal_refusal(s->sj, &who, rc);
		sd_error_set_retry_after(retry);	/* the refusal's journaling set the detail again */
	}
	if (rc != 0) {
		ERR_clear_error();
		rc = signer_internal(rc);
	}
	signer_result_free(result);
	free(der);
	free(linted);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	X509_free(renewed);
	free(sans);
	csr_free(csr);
	return rc;
}

int
signer_service_start(struct signer *s, const void *config, size_t len)
{
	if (s == NULL || config == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_journal_start(s->sj, config, len);
}

struct signer_reload {
	const struct sd_config *cfg;
	struct signer_quota *quota;
	struct signer_counters *counters;
	struct weakkey_blocklist *blocklist;
};

void
signer_reload_abort(struct signer_reload *r)
{
	if (r == NULL)
		return;
	signer_quota_free(r->quota);
	signer_counters_free(r->counters);
	weakkey_blocklist_free(r->blocklist);
	free(r);
}

int
signer_reload_prepare(const struct signer *s, const struct sd_config *next, struct signer_reload **out)
{
	struct signer_reload *r;
	int rc;

	*out = NULL;
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SD_E_NOMEM;
	r->cfg = next;
	if ((rc = signer_quota_new(next, &r->quota)) != 0 || (rc = signer_counters_new(next, &r->counters)) != 0 ||
	    (next->ca_key_blocklist != NULL && (rc = weakkey_blocklist_load(next->ca_key_blocklist, &r->blocklist)) != 0)) {
		signer_reload_abort(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
signer_reload_commit(struct signer *s, struct signer_reload *r)
{
	struct signer_quota *old_quota = s->quota;
	struct signer_counters *old_counters = s->counters;
	struct weakkey_blocklist *old_blocklist = s->blocklist;

	/* No request runs now: what the old state counted is carried over, then it goes. */
	signer_quota_carry(r->quota, s->quota);
	signer_counters_carry(r->counters, s->counters);
	s->cfg = r->cfg;
	s->quota = r->quota;
	s->counters = r->counters;
	s->blocklist = r->blocklist;
	signer_journal_counters_set(s->sj, s->counters);
	signer_journal_config_set(s->sj, s->cfg);
	signer_quota_free(old_quota);
	signer_counters_free(old_counters);
	weakkey_blocklist_free(old_blocklist);
	free(r);
}

int
signer_service_reload(struct signer *s, const void *config, size_t len)
{
	if (s == NULL || config == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_journal_reload(s->sj, config, len);
}

int
signer_service_stop(struct signer *s)
{
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_journal_stop(s->sj);
}

/* The auditor's name (client) was checked by the caller; signerd's separated signer checks it again. */
int
signer_audit_records(struct signer *s, const char *client, uint64_t from, size_t limit,
    struct signer_audit_records **out)
{
	(void)client;
	return signer_journal_audit_records(s != NULL ? s->sj : NULL, from, limit, out);
}

int
signer_audit_checkpoint(struct signer *s, const char *client, char **note, uint64_t *seq)
{
	char *cosigned = NULL;
	int rc;

	(void)client;
	*note = NULL;
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((rc = signer_journal_audit_checkpoint(s->sj, note, seq)) != 0)
		return rc;
	/* With the witnesses' cosignatures of that very checkpoint (signerctl audit witness submit stores them). */
	if ((rc = witness_store_cosigned(s->cfg->journal_path, *note, &cosigned)) != 0) {
		free(*note);
		*note = NULL;
		return rc;
	}
	free(*note);
	*note = cosigned;
	return 0;
}

int
signer_audit_proof(struct signer *s, const char *client, const char *serial_hex, struct signer_audit_proof **out)
{
	(void)client;
	return signer_journal_audit_proof(s != NULL ? s->sj : NULL, serial_hex, out);
}

/* The auditor's or admin's name (client) was checked by the caller; signerd's separated signer checks it again. */
int
signer_certs_list(struct signer *s, const char *client, const struct signer_certs_query *q, struct signer_certs **out)
{
	(void)client;
	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_certs_list_journal(s->journal, q, out);
}

int
signer_cert_get(struct signer *s, const struct signer_caller *caller, const char *serial_hex, struct signer_cert **out)
{
	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return signer_cert_get_journal(s->journal, s->cfg, caller, serial_hex, out);
}

/* Tell the publishers of a new revocation (not a repeat): the next CRL and OCSP answers carry it. */
static void
signer_revoke_publish(struct signer *s, const struct signer_revocation *r)
{
	uint8_t serial[JOURNAL_SERIAL_MAX];
	size_t len;

	if (!r->already && sd_hex_decode(r->serial_hex, serial, sizeof(serial), &len) == 0)
		revocation_revoked(s->rev, serial, len);
}

int
signer_revoke(struct signer *s, const struct signer_caller *caller, const char *serial_hex, uint8_t reason,
    const char *detail, struct signer_revocation *out)
{
	int rc;

	if (s == NULL || out == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((rc = signer_revoke_journal(s->journal, s->cfg, caller, serial_hex, reason, detail, out)) != 0)
		return rc;
	signer_revoke_publish(s, out);
	return 0;
}

int
signer_revoke_as(struct signer *s, const char *serial_hex, uint8_t reason, const char *who,
    struct signer_revocation *out)
{
	int rc;

	if (s == NULL || out == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	if ((rc = signer_revoke_journal_as(s->journal, serial_hex, reason, who, out)) != 0)
		return rc;
	signer_revoke_publish(s, out);
	return 0;
}

struct acme *
signer_acme_peek(const struct signer *s)
{
	return s != NULL ? s->acme : NULL;
}

int
signer_crl(struct signer *s, struct signer_crl **out)
{
	*out = NULL;
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return revocation_crl(s->rev, out);
}

int
signer_crl_delta(struct signer *s, struct signer_crl **out)
{
	*out = NULL;
	if (s == NULL)
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return revocation_crl_delta(s->rev, out);
}

int
signer_ocsp(struct signer *s, const uint8_t *req, size_t len, struct signer_ocsp **out)
{
	*out = NULL;
	if (s == NULL || (req == NULL && len > 0))
		return sd_error_set(SD_E_INTERNAL, "no signer");
	return revocation_ocsp(s->rev, req, len, out);
}
