/*
 * The issuance core's side of the audit journal (see signer_journal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "journal/checkpoint_note.h"
#include "push/push.h"
#include "sd_file.h"
#include "signer.h"
#include "signer_journal.h"
#include "signer_witness.h"
#include "x509/sign_tbs.h"
#include "x509/x509_cert.h"
#include "sd_log.h"
#include "sd_metrics.h"
#include "signer_counters.h"
#include "sd_time.h"

#define SJ_WINDOW_MS 60000
#define SJ_FILL_WARN 0.8			/* of the map's maximum: warn, the journal is filling */
#define SJ_FILL_CLEAR 0.75
#define SJ_EXPIRING_MAX 1000000			/* index entries one scrape counts, per window */
#define SJ_REASONS 8
#define SJ_INDEX_INTERVAL_MS 100		/* the certificate index trails the journal by about this much */

struct sj_reason {
	int err;
	uint64_t count;
};

struct signer_journal {
	const struct sd_config *cfg;		/* read under lock: a reload swaps it (signer_journal_config_set()) */
	char *origin;				/* [journal] origin and checkpoint_file: never reloaded */
	char *cp_file;
	struct push_spool *spool;		/* [journal] checkpoint_url: signerd-push sends what is spooled here */
	struct signer_witness *witness;		/* [journal] witness: requests and answers through the spool */
	struct journal *j;
	struct hsm_key *audit;			/* NULL: no checkpoints */
	uint8_t audit_pub[CHECKPOINT_ED25519_LEN];
	uint8_t audit_id[4];
	pthread_mutex_t lock;			/* refusal window and checkpointer state */
	pthread_cond_t wake;
	bool ready;
	int64_t window_start_ms;
	uint64_t in_window;			/* refusals journaled one by one in this window */
	uint64_t suppressed;
	struct sj_reason reasons[SJ_REASONS];
	bool thread_running, stopping;
	pthread_t thread;
	uint64_t cp_size;			/* tree size of the last checkpoint */
	int64_t cp_time_ms;
	uint8_t config_sha256[JOURNAL_HASH_LEN];	/* of the file read at start */
	struct signer_counters *counters;	/* timings, or NULL */
	bool fill_warned;			/* the map passed SJ_FILL_WARN; logged once until it drops again */
	bool result_durable;			/* [journal] result = durable-before-release: never reloaded */
	/* The front's summaries (signer_journal_api_refusals()): when each listener's last was taken. */
	struct {
		char name[16];
		int64_t at_ms;
	} api_last[4];
};

static void
sj_lock(struct signer_journal *sj)
{
	if (pthread_mutex_lock(&sj->lock) != 0)
		abort();
}

static void
sj_unlock(struct signer_journal *sj)
{
	if (pthread_mutex_unlock(&sj->lock) != 0)
		abort();
}

int
signer_journal_open(const struct sd_config *cfg, struct hsm *hsm, struct signer_journal **out)
{
	struct journal_options o = { cfg->journal_map_size, cfg->journal_map_max, false, SJ_INDEX_INTERVAL_MS };
	struct signer_journal *sj = NULL;
	const uint8_t *spki;
	size_t spki_len;
	int rc;

	*out = NULL;
	if ((sj = calloc(1, sizeof(*sj))) == NULL)
		return SD_E_NOMEM;
	sj->cfg = cfg;
	sj->result_durable = cfg->journal_result_durable;
	if ((cfg->journal_origin != NULL && (sj->origin = strdup(cfg->journal_origin)) == NULL) ||
	    (cfg->journal_checkpoint_file != NULL && (sj->cp_file = strdup(cfg->journal_checkpoint_file)) == NULL)) {
		free(sj->origin);
		free(sj);
		return SD_E_NOMEM;
	}
	if (pthread_mutex_init(&sj->lock, NULL) != 0) {
		free(sj->origin);
		free(sj->cp_file);
		free(sj);
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	if (pthread_cond_init(&sj->wake, NULL) != 0) {
		pthread_mutex_destroy(&sj->lock);
		free(sj->origin);
		free(sj->cp_file);
		free(sj);
		return sd_error_set(SD_E_INTERNAL, "cannot create a condition");
	}
	sj->ready = true;
	if (cfg->journal_audit_key != NULL) {
		if (cfg->ca_key_uri != NULL && strcmp(cfg->ca_key_uri, cfg->journal_audit_key) == 0) {
			rc = sd_error_set(SD_E_CONFIG, "[journal] audit_key must not be the CA key");
			goto out;
		}
		if ((rc = hsm_key_find(hsm, cfg->journal_audit_key, false, &sj->audit)) != 0)
			goto out;
		spki = hsm_key_spki_peek(sj->audit, &spki_len);
		if (hsm_key_type(sj->audit) != HSM_KEY_ED25519 ||
		    checkpoint_ed25519_from_spki(spki, spki_len, sj->audit_pub) != 0) {
			rc = sd_error_set(SD_E_UNSUPPORTED, "[journal] audit_key %s is not an Ed25519 key",
			    cfg->journal_audit_key);
			goto out;
		}
		if ((rc = checkpoint_key_id(cfg->journal_origin, sj->audit_pub, sj->audit_id)) != 0)
			goto out;
	}
	if ((rc = journal_open_opts(cfg->journal_path, &o, &sj->j)) != 0)
		goto out;
	if (sj->audit != NULL && ((rc = push_spool_open(cfg, &sj->spool)) != 0 ||
	    (rc = signer_witness_open(cfg, sj->j, &sj->witness)) != 0))
		goto out;
	if ((rc = journal_last_seq(sj->j, &sj->cp_size)) != 0)
		goto out;
	sj->cp_time_ms = sd_time_now_ms();
	*out = sj;
	sj = NULL;
	rc = 0;
out:
	signer_journal_close(sj);
	return rc;
}

void
signer_journal_close(struct signer_journal *sj)
{
	if (sj == NULL)
		return;
	if (sj->thread_running) {
		sj_lock(sj);
		sj->stopping = true;
		pthread_cond_broadcast(&sj->wake);
		sj_unlock(sj);
		pthread_join(sj->thread, NULL);
	}
	signer_witness_free(sj->witness);
	journal_close(sj->j);
	push_spool_free(sj->spool);
	hsm_key_free(sj->audit);
	if (sj->ready) {
		pthread_cond_destroy(&sj->wake);
		pthread_mutex_destroy(&sj->lock);
	}
	free(sj->origin);
	free(sj->cp_file);
	free(sj);
}

struct journal *
signer_journal_peek(struct signer_journal *sj)
{
	return sj != NULL ? sj->j : NULL;
}

void
signer_journal_config_set(struct signer_journal *sj, const struct sd_config *cfg)
{
	sj_lock(sj);
	sj->cfg = cfg;
	sj_unlock(sj);
}

void
signer_journal_counters_set(struct signer_journal *sj, struct signer_counters *c)
{
	sj->counters = c;
}

/* Valid certificates expiring within 7 and 30 days, from the certificate index (when there is one). */
static void
sj_metrics_expiring(struct signer_journal *sj, struct sd_metrics_text *t)
{
	static const struct {
		const char *label;
		int64_t seconds;
	} windows[] = { { "7d", 7 * 86400 }, { "30d", 30 * 86400 } };
	int64_t now = sd_time_now_ms() / 1000;
	uint64_t n[2];
	bool more[2];
	size_t i;

	for (i = 0; i < 2; i++)
		if (journal_certs_expiring(sj->j, now, now + windows[i].seconds, SJ_EXPIRING_MAX, &n[i], &more[i]) != 0) {
			sd_error_clear();
			return;
		}
	sd_metrics_family(t, "signerd_certificates_expiring", "gauge",
	    "Certificates still valid that expire within the window, from the certificate index (counted up to 1000000).");
	for (i = 0; i < 2; i++)
		sd_metrics_printf(t, "signerd_certificates_expiring{within=\"%s\"} %llu\n", windows[i].label,
		    (unsigned long long)n[i]);
}

void
signer_journal_metrics_text(struct signer_journal *sj, struct sd_metrics_text *t)
{
	struct journal_record *rec = NULL;
	struct journal_stats st;
	uint64_t last = 0, cp_seq = 0;
	int64_t cp_ms = -1;

	journal_stats_get(sj->j, &st);
	if (journal_last_seq(sj->j, &last) != 0)
		last = 0;
	/* The last checkpoint's own time, as an auditor sees it in the journal. */
	if (journal_last_checkpoint(sj->j, &cp_seq) == 0 && journal_get(sj->j, cp_seq, &rec) == 0) {
		cp_ms = rec->time_ms;
		journal_record_free(rec);
	}
	sd_error_clear();
	sd_metrics_family(t, "signerd_journal_records", "gauge", "Records in the journal (the last sequence number).");
	sd_metrics_printf(t, "signerd_journal_records %llu\n", (unsigned long long)last);
	sd_metrics_family(t, "signerd_journal_used_bytes", "gauge", "Bytes of the journal's LMDB map in use.");
	sd_metrics_printf(t, "signerd_journal_used_bytes %llu\n", (unsigned long long)st.used_bytes);
	sd_metrics_family(t, "signerd_journal_map_bytes", "gauge", "The journal's LMDB map size now.");
	sd_metrics_printf(t, "signerd_journal_map_bytes %llu\n", (unsigned long long)st.map_size);
	sd_metrics_family(t, "signerd_journal_map_max_bytes", "gauge", "The size the map may grow to ([journal] map_max).");
	sd_metrics_printf(t, "signerd_journal_map_max_bytes %llu\n", (unsigned long long)st.map_max);
	sd_metrics_family(t, "signerd_journal_fill_ratio", "gauge",
	    "Used bytes over map_max; issuance stops with journal-full near 1.");
	sd_metrics_printf(t, "signerd_journal_fill_ratio %.6f\n",
	    st.map_max != 0 ? (double)st.used_bytes / (double)st.map_max : 0.0);
	sd_metrics_family(t, "signerd_journal_fill_warning", "gauge",
	    "1 when the journal has passed 80% of map_max (also logged), else 0.");
	sd_metrics_printf(t, "signerd_journal_fill_warning %d\n",
	    st.map_max != 0 && (double)st.used_bytes >= SJ_FILL_WARN * (double)st.map_max ? 1 : 0);
	sd_metrics_family(t, "signerd_journal_commits_total", "counter", "Durable LMDB commits since start.");
	sd_metrics_printf(t, "signerd_journal_commits_total %llu\n", (unsigned long long)st.commits);
	sd_metrics_family(t, "signerd_journal_results_pending", "gauge",
	    "Result records queued for the next group commit ([journal] result = next-commit).");
	sd_metrics_printf(t, "signerd_journal_results_pending %llu\n", (unsigned long long)st.later_pending);
	sd_metrics_family(t, "signerd_journal_results_failed_total", "counter",
	    "Queued result records the journal refused or could not write (each logged).");
	sd_metrics_printf(t, "signerd_journal_results_failed_total %llu\n", (unsigned long long)st.later_failed);
	sd_metrics_family(t, "signerd_certificate_index_lag_records", "gauge",
	    "Journal records the certificate index does not cover yet (it trails by one batch).");
	sd_metrics_printf(t, "signerd_certificate_index_lag_records %llu\n",
	    (unsigned long long)(st.last_seq > st.indexed_through ? st.last_seq - st.indexed_through : 0));
	sd_metrics_family(t, "signerd_certificate_index_failures_total", "counter",
	    "Certificate index batches that failed (each is tried again).");
	sd_metrics_printf(t, "signerd_certificate_index_failures_total %llu\n", (unsigned long long)st.index_failures);
	sj_metrics_expiring(sj, t);
	if (cp_ms >= 0) {
		sd_metrics_family(t, "signerd_checkpoint_age_seconds", "gauge",
		    "Seconds since the last signed checkpoint was journaled.");
		sd_metrics_printf(t, "signerd_checkpoint_age_seconds %.3f\n",
		    (double)(sd_time_now_ms() - cp_ms) / 1000.0);
		sd_metrics_family(t, "signerd_checkpoint_seq", "gauge", "Sequence number of the last checkpoint record.");
		sd_metrics_printf(t, "signerd_checkpoint_seq %llu\n", (unsigned long long)cp_seq);
	}
	push_spool_metrics_text(sj->spool, t);
	signer_witness_metrics_text(sj->witness, t);
}

int
signer_journal_sign(struct signer_journal *sj, const struct signer_journal_who *who, int64_t time_ms,
    struct hsm_key *key, const struct x509_sigalg *alg, const uint8_t *tbs, size_t tbs_len, const uint8_t *serial,
    size_t serial_len, const struct x509_verifier *verifier, uint8_t **der, size_t *der_len, uint64_t *intent_seq)
{
	struct journal_record rec;
	uint8_t *sig = NULL, *out_der = NULL;
	size_t sig_len = 0, out_len = 0;
	uint64_t start, mid;
	int rc;

	*der = NULL;
	*der_len = 0;
	*intent_seq = 0;
	if (alg == NULL || tbs == NULL || tbs_len == 0 || serial == NULL || verifier == NULL) {
		rc = sd_error_set(SD_E_INVAL, "signing without an algorithm, TBS, serial or verifier");
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	/* The whole TBS: the intent alone says exactly what the HSM is about to certify. */
	rec.type = JOURNAL_REC_INTENT_TBS;
	rec.time_ms = time_ms;
	rec.client_subject = (char *)(uintptr_t)who->client_subject;
	memcpy(rec.client_spki_sha256, who->client_spki_sha256, JOURNAL_HASH_LEN);
	rec.profile = (char *)(uintptr_t)who->profile;
	if (who->csr_sha256 != NULL)
		memcpy(rec.csr_sha256, who->csr_sha256, JOURNAL_HASH_LEN);
	rec.serial = (uint8_t *)(uintptr_t)serial;
	rec.serial_len = serial_len;
	rec.tbs_der = (uint8_t *)(uintptr_t)tbs;
	rec.tbs_der_len = tbs_len;
	/*
	 * Admit the intent only while the map (at its maximum) has room for a
	 * largest record more, so that the result of a signature made below
	 * can always be journaled.
	 */
	if ((rc = journal_health(sj->j)) != 0)
		goto out;
	/* The ordering rule: the intent is durable before the HSM is asked to sign. */
	start = sd_monotonic_us();
	if ((rc = journal_append(sj->j, &rec, intent_seq)) != 0)
		goto out;
	mid = sd_monotonic_us();
	rc = x509_sign_tbs(key, alg, tbs, tbs_len, &sig, &sig_len);
	if (sj->counters != NULL) {
		sd_histogram_observe(&sj->counters->journal_commit, mid - start);
		sd_histogram_observe(&sj->counters->hsm_sign, sd_monotonic_us() - mid);
	}
	if (rc != 0)
		goto out;
	if ((rc = x509_cert_assemble(tbs, tbs_len, alg->algid, alg->algid_len, sig, sig_len, &out_der, &out_len)) != 0)
		goto out;
	if ((rc = x509_cert_verify(verifier, out_der, out_len, tbs, tbs_len)) != 0)
		goto out;
	*der = out_der;
	*der_len = out_len;
	out_der = NULL;
	rc = 0;
out:
	free(out_der);
	free(sig);
	return rc;
}

int
signer_journal_result(struct signer_journal *sj, uint64_t intent_seq, const uint8_t *serial, size_t serial_len,
    const uint8_t *der, size_t der_len, uint64_t *seq)
{
	struct journal_record rec;
	uint64_t start;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_RESULT;
	rec.time_ms = sd_time_now_ms();
	rec.intent_seq = intent_seq;
	rec.serial = (uint8_t *)(uintptr_t)serial;
	rec.serial_len = serial_len;
	rec.cert_der = (uint8_t *)(uintptr_t)der;
	rec.cert_der_len = der_len;
	start = sd_monotonic_us();
	/*
	 * next-commit: the durable intent already holds the whole TBS, so the
	 * result rides on the next group commit and the certificate leaves
	 * now; a crash before that commit leaves the intent for the next
	 * start to journal as unresolved (signer_journal_start()).
	 */
	if (sj->result_durable) {
		if ((rc = journal_append(sj->j, &rec, seq)) != 0)
			return rc;
		if (sj->counters != NULL)
			sd_histogram_observe(&sj->counters->journal_commit, sd_monotonic_us() - start);
	} else {
		if ((rc = journal_append_later(sj->j, &rec)) != 0)
			return rc;
		*seq = intent_seq;
	}
	/* Wake the checkpointer when a checkpoint is due by count. */
	sj_lock(sj);
	if (sj->audit != NULL && *seq - sj->cp_size >= sj->cfg->journal_checkpoint_every)
		pthread_cond_signal(&sj->wake);
	sj_unlock(sj);
	return 0;
}

/* Printable ASCII copy of in, at most cap - 1 bytes ("-" when empty). */
static void
sj_clean(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < cap; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
	if (i == 0 && cap > 1)
		(void)snprintf(out, cap, "-");
}

int
signer_journal_unresolved(struct signer_journal *sj, uint64_t intent_seq, const uint8_t *serial, size_t serial_len,
    const uint8_t *tbs, size_t tbs_len, int err)
{
	struct journal_record rec;
	char detail[512];
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_UNRESOLVED;
	rec.time_ms = sd_time_now_ms();
	rec.intent_seq = intent_seq;
	rec.serial = (uint8_t *)(uintptr_t)serial;
	rec.serial_len = serial_len;
	if (EVP_Digest(tbs, tbs_len, rec.tbs_sha256, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of the TBS failed");
	if (snprintf(detail, sizeof(detail), "no certificate released: %s: %s", sd_error_name(err),
	    sd_error_detail(err)) < 0)
		detail[0] = '\0';
	sj_clean(detail, detail, sizeof(detail));
	rec.detail = detail;
	if ((rc = journal_append_later(sj->j, &rec)) != 0)
		sd_log(SD_LOG_ERROR, "journaling intent %llu as unresolved failed: %s", (unsigned long long)intent_seq,
		    sd_error_detail(rc));
	return rc;
}

static bool
sj_is_refusal(int err)
{
	switch (err) {
	case SD_E_PROFILE_UNKNOWN:
	case SD_E_CSR:
	case SD_E_CSR_SIGNATURE:
	case SD_E_TOO_LARGE:
	case SD_E_KEY_REFUSED:
	case SD_E_NAME_REFUSED:
	case SD_E_TTL:
	case SD_E_QUOTA:
		return true;
	default:
		return false;
	}
}

/* Write the summary of the window that ended (lock held). */
static void
sj_flush_window(struct signer_journal *sj, int64_t now)
{
	struct journal_record rec;
	char detail[512];
	size_t i, at = 0;
	uint64_t seq;
	int n, rc;

	if (sj->suppressed > 0) {
		detail[0] = '\0';
		for (i = 0; i < SJ_REASONS && sj->reasons[i].count > 0; i++) {
			n = snprintf(detail + at, sizeof(detail) - at, "%s%s=%llu", at > 0 ? " " : "",
			    sd_error_name(sj->reasons[i].err), (unsigned long long)sj->reasons[i].count);
			if (n < 0 || (size_t)n >= sizeof(detail) - at)
				break;
			at += (size_t)n;
		}
		memset(&rec, 0, sizeof(rec));
		rec.type = JOURNAL_REC_REFUSAL_SUMMARY;
		rec.time_ms = now;
		rec.window_start_ms = sj->window_start_ms;
		rec.count = sj->suppressed;
		rec.detail = detail;
		if ((rc = journal_append(sj->j, &rec, &seq)) != 0)
			sd_log(SD_LOG_ERROR, "journal: refusal summary not written: %s", sd_error_detail(rc));
	}
	sj->window_start_ms = now;
	sj->in_window = 0;
	sj->suppressed = 0;
	memset(sj->reasons, 0, sizeof(sj->reasons));
}

void
signer_journal_refusal(struct signer_journal *sj, const struct signer_journal_who *who, int err)
{
	struct journal_record rec;
	char subject[512], profile[JOURNAL_SHORT_MAX + 1], detail[512];
	int64_t now = sd_time_now_ms();
	uint64_t seq;
	size_t i;
	int rc;

	if (sj == NULL || who == NULL || !sj_is_refusal(err))
		return;
	/* Copied before anything else can overwrite this thread's detail. */
	sj_clean(sd_error_detail(err), detail, sizeof(detail));
	sj_clean(who->client_subject, subject, sizeof(subject));
	sj_clean(who->profile, profile, sizeof(profile));
	sj_lock(sj);
	if (now - sj->window_start_ms >= SJ_WINDOW_MS)
		sj_flush_window(sj, now);
	if (sj->in_window >= sj->cfg->journal_refusals_per_minute) {
		sj->suppressed++;
		for (i = 0; i < SJ_REASONS; i++) {
			if (sj->reasons[i].count == 0 || sj->reasons[i].err == err) {
				sj->reasons[i].err = err;
				sj->reasons[i].count++;
				break;
			}
		}
		sj_unlock(sj);
		return;
	}
	sj->in_window++;
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REFUSAL;
	rec.time_ms = now;
	rec.client_subject = subject;
	memcpy(rec.client_spki_sha256, who->client_spki_sha256, JOURNAL_HASH_LEN);
	rec.profile = profile;
	if (who->csr_sha256 != NULL)
		memcpy(rec.csr_sha256, who->csr_sha256, JOURNAL_HASH_LEN);
	rec.reason = (char *)(uintptr_t)sd_error_name(err);
	rec.detail = detail;
	rc = journal_append(sj->j, &rec, &seq);
	sj_unlock(sj);
	if (rc != 0)
		sd_log(SD_LOG_ERROR, "journal: refusal not written: %s", sd_error_detail(rc));
	/* The caller still reports the refusal's own detail. */
	(void)sd_error_set(err, "%s", detail);
}

int
signer_journal_api_refusals(struct signer_journal *sj, int64_t window_start_ms, uint64_t count, const char *detail)
{
	struct journal_record rec;
	char clean[SIGNER_API_REFUSALS_DETAIL_MAX + 1], text[SIGNER_API_REFUSALS_DETAIL_MAX + 8], name[16];
	int64_t now = sd_time_now_ms();
	uint64_t seq;
	size_t slots = sizeof(sj->api_last) / sizeof(sj->api_last[0]), i, slot, n;
	int rc;

	if (sj == NULL || sj->j == NULL)
		return sd_error_set(SD_E_CONFIG, "no journal");
	if (detail == NULL || count == 0 || window_start_ms <= 0 || window_start_ms > now + 5000)
		return sd_error_set(SD_E_INVAL, "a refusal summary needs a count, a detail and a past window");
	sj_clean(detail, clean, sizeof(clean));
	/* The listener is the detail's first word ("https:"), the rate limit's key. */
	if ((n = strcspn(clean, ": ")) == 0 || clean[n] != ':')
		return sd_error_set(SD_E_INVAL, "a refusal summary's detail starts with its listener's name and a colon");
	(void)snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) - 1 ? n : sizeof(name) - 1), clean);
	(void)snprintf(text, sizeof(text), "api %s", clean);
	sj_lock(sj);
	for (i = 0; i < slots && strcmp(sj->api_last[i].name, name) != 0; i++)
		;
	for (slot = 0; i == slots && slot < slots; slot++)
		if (sj->api_last[slot].name[0] == '\0')
			i = slot;
	if (i == slots) {
		sj_unlock(sj);
		return sd_error_set(SD_E_QUOTA, "refusal summaries of more than %zu listeners", slots);
	}
	if (sj->api_last[i].name[0] != '\0' && now - sj->api_last[i].at_ms < SIGNER_API_REFUSALS_MIN_MS) {
		sj_unlock(sj);
		return sd_error_set(SD_E_QUOTA, "a refusal summary of %s came %lld ms after the last", name,
		    (long long)(now - sj->api_last[i].at_ms));
	}
	memcpy(sj->api_last[i].name, name, sizeof(name));
	sj->api_last[i].at_ms = now;
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REFUSAL_SUMMARY;
	rec.time_ms = now;
	rec.window_start_ms = window_start_ms;
	rec.count = count;
	rec.detail = text;
	rc = journal_append(sj->j, &rec, &seq);
	sj_unlock(sj);
	return rc;
}

static int
sj_sign_note(void *ctx, uint64_t size, const uint8_t root[JOURNAL_HASH_LEN], int64_t time_ms, char **note)
{
	struct signer_journal *sj = ctx;
	uint8_t sig[HSM_SIG_MAX];
	char body[CHECKPOINT_NOTE_MAX];
	size_t body_len = 0, sig_len = 0;
	int rc;

	*note = NULL;
	if ((rc = checkpoint_body(sj->origin, size, root, time_ms, body, sizeof(body), &body_len)) != 0)
		return rc;
	if ((rc = hsm_sign(sj->audit, HSM_MECH_EDDSA, HSM_HASH_SHA512, (const uint8_t *)body, body_len, sig,
	    &sig_len)) != 0)
		return rc;
	if (sig_len != CHECKPOINT_SIG_LEN)
		return sd_error_set(SD_E_HSM, "audit key made a %zu-byte signature", sig_len);
	return checkpoint_note_assemble(body, body_len, sj->origin, sj->audit_id, sig, note);
}

/* Append note to [journal] checkpoint_file, durably. */
static int
sj_export(const char *path, const char *note)
{
	size_t len = strlen(note), off = 0;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return sd_error_set(SD_E_IO, "checkpoint_file %s: %s", path, strerror(errno));
	while (off < len) {
		if ((n = write(fd, note + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = sd_error_set(SD_E_IO, "checkpoint_file %s: %s", path, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = sd_error_set(SD_E_IO, "checkpoint_file %s: fsync: %s", path, strerror(errno));
	close(fd);
	return rc;
}

int
signer_journal_checkpoint(struct signer_journal *sj, uint64_t *seq)
{
	struct checkpoint cp;
	char *note = NULL;
	int64_t now = sd_time_now_ms();
	int rc, rc2;

	*seq = 0;
	if (sj->audit == NULL)
		return sd_error_set(SD_E_CONFIG, "no [journal] audit_key: checkpoints are not signed");
	if ((rc = journal_append_checkpoint(sj->j, now, sj_sign_note, sj, seq, &note)) != 0)
		return rc;
	sj_lock(sj);
	sj->cp_size = *seq;
	sj->cp_time_ms = now;
	sj_unlock(sj);
	if (sj->cp_file != NULL)
		rc = sj_export(sj->cp_file, note);
	/*
	 * Spooled, durably, for signerd-push (push.h), which sends it when its
	 * receivers answer: the checkpointer never waits on the network. A
	 * spool that cannot be written is logged, not this checkpoint's failure:
	 * it is journaled and in checkpoint_file, and the next one is spooled.
	 */
	if (sj->spool != NULL && ((rc2 = checkpoint_parse(note, strlen(note), &cp)) != 0 ||
	    (rc2 = push_spool_put(sj->spool, cp.size, note, strlen(note))) != 0))
		sd_log(SD_LOG_ERROR, "checkpoint record %llu is not spooled for every checkpoint_url: %s",
		    (unsigned long long)*seq, sd_error_detail(rc2));
	signer_witness_checkpoint(sj->witness, note);
	free(note);
	return rc;
}

/* Log once when the map passes SJ_FILL_WARN of its maximum, and again after it dropped below SJ_FILL_CLEAR. */
static void
sj_check_fill(struct signer_journal *sj)
{
	struct journal_stats st;
	double fill;

	journal_stats_get(sj->j, &st);
	if (st.map_max == 0)
		return;
	fill = (double)st.used_bytes / (double)st.map_max;
	if (fill >= SJ_FILL_WARN && !sj->fill_warned) {
		sj->fill_warned = true;
		sd_log(SD_LOG_WARN, "journal: %.0f%% of its map is used (%llu of %llu MB): back it up and raise "
		    "[journal] map_max, or issuance stops with journal-full", fill * 100,
		    (unsigned long long)(st.used_bytes >> 20), (unsigned long long)(st.map_max >> 20));
	} else if (fill < SJ_FILL_CLEAR) {
		sj->fill_warned = false;
	}
}

/*
 * Once a second: the journal's fill, the refusal window, the witnesses'
 * answers, and a checkpoint
 * every N records or T seconds (when anything new was journaled and there
 * is an audit key).
 */
static void *
sj_thread(void *arg)
{
	struct signer_journal *sj = arg;
	struct timespec until;
	uint64_t last = 0, seq, every, interval;
	int64_t now;
	bool due;
	int rc;

	sj_lock(sj);
	while (!sj->stopping) {
		if (clock_gettime(CLOCK_REALTIME, &until) != 0)
			abort();
		until.tv_sec += 1;
		(void)pthread_cond_timedwait(&sj->wake, &sj->lock, &until);
		if (sj->stopping)
			break;
		now = sd_time_now_ms();
		if (sj->window_start_ms != 0 && now - sj->window_start_ms >= SJ_WINDOW_MS && sj->suppressed > 0)
			sj_flush_window(sj, now);
		every = sj->cfg->journal_checkpoint_every;
		interval = sj->cfg->journal_checkpoint_interval;
		sj_unlock(sj);
		sj_check_fill(sj);
		signer_witness_poll(sj->witness);
		due = false;
		if (sj->audit != NULL && journal_last_seq(sj->j, &last) == 0 && last > sj->cp_size)
			due = last - sj->cp_size >= every || now - sj->cp_time_ms >= (int64_t)interval * 1000;
		if (due && (rc = signer_journal_checkpoint(sj, &seq)) != 0)
			sd_log(SD_LOG_ERROR, "checkpoint failed: %s", sd_error_detail(rc));
		sj_lock(sj);
	}
	sj_unlock(sj);
	return NULL;
}

static int
sj_service(struct signer_journal *sj, uint8_t event, const uint8_t config_sha256[JOURNAL_HASH_LEN])
{
	struct journal_record rec;
	char detail[64];
	uint64_t seq;

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_SERVICE;
	rec.time_ms = sd_time_now_ms();
	rec.event = event;
	memcpy(rec.config_sha256, config_sha256, JOURNAL_HASH_LEN);
	if (snprintf(detail, sizeof(detail), "signerd pid %ld", (long)getpid()) < 0)
		detail[0] = '\0';
	rec.detail = detail;
	return journal_append(sj->j, &rec, &seq);
}

int
signer_journal_start(struct signer_journal *sj, const void *config, size_t len)
{
	uint64_t seq, n = 0;
	int rc = 0;

	if (EVP_Digest(config, len, sj->config_sha256, NULL, EVP_sha256(), NULL) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "SHA-256 of the configuration failed");
	/* A crash may have left intents of the last run without their result: each is journaled as unresolved. */
	if (rc != 0 || (rc = journal_resolve_intents(sj->j, sd_time_now_ms(), &n)) != 0)
		return rc;
	if (n > 0)
		sd_log(SD_LOG_WARN, "journaled %llu intents of the last run without a result as unresolved (outcome unknown)",
		    (unsigned long long)n);
	if ((rc = sj_service(sj, JOURNAL_SERVICE_START, sj->config_sha256)) != 0)
		return rc;
	/*
	 * A checkpoint over the start record: what happened before this start,
	 * and that it happened, is signed and leaves the box at once rather than
	 * checkpoint_interval later. Its failure (an HSM fault) is logged; the
	 * checkpointer tries again when one is due.
	 */
	if (sj->audit != NULL && (rc = signer_journal_checkpoint(sj, &seq)) != 0)
		sd_log(SD_LOG_ERROR, "checkpoint at start failed: %s", sd_error_detail(rc));
	sj_check_fill(sj);
	if (pthread_create(&sj->thread, NULL, sj_thread, sj) != 0)
		return sd_error_set(SD_E_INTERNAL, "cannot start the checkpointer");
	sj->thread_running = true;
	return 0;
}

int
signer_journal_reload(struct signer_journal *sj, const void *config, size_t len)
{
	uint8_t hash[JOURNAL_HASH_LEN];
	int rc;

	if (EVP_Digest(config, len, hash, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of the configuration failed");
	if ((rc = sj_service(sj, JOURNAL_SERVICE_RELOAD, hash)) != 0)
		return rc;
	/* The stop record names the file in force then. */
	sj_lock(sj);
	memcpy(sj->config_sha256, hash, JOURNAL_HASH_LEN);
	sj_unlock(sj);
	return 0;
}

int
signer_journal_stop(struct signer_journal *sj)
{
	uint64_t seq;
	int rc;

	if (sj->thread_running) {
		sj_lock(sj);
		sj->stopping = true;
		pthread_cond_broadcast(&sj->wake);
		sj_unlock(sj);
		pthread_join(sj->thread, NULL);
		sj->thread_running = false;
	}
	sj_lock(sj);
	sj_flush_window(sj, sd_time_now_ms());
	sj_unlock(sj);
	if ((rc = sj_service(sj, JOURNAL_SERVICE_STOP, sj->config_sha256)) != 0)
		return rc;
	/* The last checkpoint covers the stop record. */
	return sj->audit != NULL ? signer_journal_checkpoint(sj, &seq) : 0;
}
