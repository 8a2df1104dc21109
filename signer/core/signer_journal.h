/*
 * The issuance core's side of the audit journal: the ordering rule
 * (intent durable before the HSM signs, result durable before release),
 * refusals with a rate bound, service start/stop records, and the
 * checkpointer. signer.c calls these; nothing else does.
 */
#ifndef SIGNER_SIGNER_JOURNAL_H
#define SIGNER_SIGNER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config.h"
#include "hsm.h"
#include "journal.h"
#include "sd_error.h"
#include "x509/x509_cert.h"
#include "x509/x509_sigalg.h"

struct signer_journal;

/* Who asked, for the intent and refusal records; all borrowed. */
struct signer_journal_who {
	const char *client_subject;
	const uint8_t *client_spki_sha256;	/* 32 bytes */
	const char *profile;
	const uint8_t *csr_sha256;		/* 32 bytes, or NULL when the CSR did not parse */
};

/*
 * Open the journal of cfg (growing up to [journal] map_max_mb) and, when
 * [journal] audit_key is set, find that key in hsm (Ed25519 only).
 * Errors: those of journal_open_opts() and hsm_key_find(); SD_E_UNSUPPORTED
 * (audit key not Ed25519), SD_E_CONFIG (audit key is the CA key).
 */
SD_WUR int signer_journal_open(const struct sd_config *cfg, struct hsm *hsm, struct signer_journal **out);
void signer_journal_close(struct signer_journal *sj);

/* A reload's configuration: checkpoint_every, checkpoint_interval, refusals_per_minute. cfg outlives sj's use. */
void signer_journal_config_set(struct signer_journal *sj, const struct sd_config *cfg);

/* Time intent and result commits and the HSM signature into c (NULL: stop). */
struct signer_counters;
void signer_journal_counters_set(struct signer_journal *sj, struct signer_counters *c);

/* The journal's gauges for GET /metrics: records, map use and fill, the last checkpoint's age. */
struct sd_metrics_text;
void signer_journal_metrics_text(struct signer_journal *sj, struct sd_metrics_text *t);
struct journal *signer_journal_peek(struct signer_journal *sj);

/*
 * Journal the intent to sign tbs (the linted TBSCertificate, built once by
 * the caller with alg's AlgorithmIdentifier; serial is its serial number)
 * durably, sign exactly those bytes in the HSM, assemble the certificate
 * and check it with verifier (x509_cert_verify(): the CA public key).
 * *intent_seq is set once the intent is durable (also when signing then
 * fails). Errors: SD_E_INVAL (missing part), those of journal_append()
 * (nothing signed), x509_sign_tbs(), x509_cert_assemble(),
 * x509_cert_verify().
 */
SD_WUR int signer_journal_sign(struct signer_journal *sj, const struct signer_journal_who *who, int64_t time_ms,
    struct hsm_key *key, const struct x509_sigalg *alg, const uint8_t *tbs, size_t tbs_len, const uint8_t *serial,
    size_t serial_len, const struct x509_verifier *verifier, uint8_t **der, size_t *der_len, uint64_t *intent_seq);

/*
 * Journal the result of intent_seq: durably before returning with [journal]
 * result = durable-before-release (*seq: the result record), else queued
 * for the next group commit (*seq: intent_seq, the durable record that
 * holds the certificate's TBS). Errors: those of journal_append() or
 * journal_append_later().
 */
SD_WUR int signer_journal_result(struct signer_journal *sj, uint64_t intent_seq, const uint8_t *serial,
    size_t serial_len, const uint8_t *der, size_t der_len, uint64_t *seq);

/*
 * Close intent_seq, which will have no result (signing, its check or what
 * follows failed with err), with an unresolved record naming err; queued
 * for the next group commit. Failures are logged (the next start's scan
 * finds the intent then). Errors: SD_E_CRYPTO, those of journal_append_later().
 */
int signer_journal_unresolved(struct signer_journal *sj, uint64_t intent_seq, const uint8_t *serial, size_t serial_len,
    const uint8_t *tbs, size_t tbs_len, int err);

/*
 * Note a refused request (err is the refusal code). Up to [journal]
 * refusals_per_minute are journaled one by one per minute; past that they
 * are counted and one summary record is written when the minute ends.
 * Failures to journal a refusal are not the caller's concern (logged).
 */
void signer_journal_refusal(struct signer_journal *sj, const struct signer_journal_who *who, int err);

/* signer_api_refusals() (signer.h): the front's summary, as a type-5 record whose detail starts "api ". */
SD_WUR int signer_journal_api_refusals(struct signer_journal *sj, int64_t window_start_ms, uint64_t count,
    const char *detail);

/*
 * Service start (the configuration's bytes hashed) and the checkpointer
 * thread; stop: the stop record, the thread ended, one last checkpoint.
 * Errors: SD_E_CRYPTO, those of journal_append().
 */
SD_WUR int signer_journal_start(struct signer_journal *sj, const void *config, size_t len);
SD_WUR int signer_journal_stop(struct signer_journal *sj);
/* A reload record with the SHA-256 of config (len bytes), which later stop records name too. */
SD_WUR int signer_journal_reload(struct signer_journal *sj, const void *config, size_t len);

/* Make a checkpoint now. Errors: SD_E_CONFIG (no audit key), HSM and journal errors. */
SD_WUR int signer_journal_checkpoint(struct signer_journal *sj, uint64_t *seq);

/* The auditor accessors behind signer_audit_*() (signer.h), with the same contracts. */
struct signer_audit_records;
struct signer_audit_proof;
SD_WUR int signer_journal_audit_records(struct signer_journal *sj, uint64_t from, size_t limit,
    struct signer_audit_records **out);
SD_WUR int signer_journal_audit_checkpoint(struct signer_journal *sj, char **note, uint64_t *seq);
SD_WUR int signer_journal_audit_proof(struct signer_journal *sj, const char *serial_hex,
    struct signer_audit_proof **out);

#endif
