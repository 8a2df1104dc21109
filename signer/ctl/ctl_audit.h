/*
 * signerctl's auditor and journal tools (audit verify|export|show|find|
 * prove|consistency|pubkey, and report's hook: ctl_report.h; journal backup)
 * and the ceremony records that
 * signerctl appends to the journal named in the configuration.
 */
#ifndef SIGNER_CTL_AUDIT_H
#define SIGNER_CTL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"
#include "sd_error.h"

/*
 * Run "signerctl audit ARGS": argv[0] is the action. Returns the exit code:
 * 0 all holds, 1 failure or tampering, 2 usage, 3 (verify only) the journal
 * holds but has intents without a result (a crash between intent and result).
 */
int ctl_audit_main(const char *config_path, int argc, char **argv);

/*
 * What audit verify checks checkpoint signatures with, for audit report:
 * pubkey (a PEM file), else with pin (32 bytes, --pubkey-sha256) the key
 * made by the journal's key ceremony of that fingerprint, else the HSM's
 * [journal] audit_key from config_path; *have false when there is none.
 * j is the journal, or NULL with export the path of an export. fp gets the
 * key's fingerprint; *other_seq the first keygen record that made another
 * [journal] audit_key (0: none). May print which ceremony made the key.
 * Errors: SD_E_INVAL (a key without the pinned fingerprint), SD_E_NOT_FOUND
 * (a pin no ceremony made and no --pubkey), those of the HSM and the journal.
 */
SD_WUR int ctl_audit_key(const char *config_path, struct journal *j, const char *export, const char *pubkey,
    const uint8_t *pin, struct journal_audit_key *key, uint8_t fp[32], bool *have, uint64_t *other_seq);

/* Call fn (key 0) with each record of the export at path, in order. Errors: SD_E_IO, SD_E_JOURNAL_CORRUPT, fn's. */
SD_WUR int ctl_audit_export_walk(const char *path, journal_visit_raw_fn fn, void *ctx, uint64_t *count);

/* "signerctl journal backup DEST [--journal DIR]": a compacted online copy. Returns the exit code. */
int ctl_journal_backup(const char *config_path, int argc, char **argv);

/*
 * Ceremony records: begin appends a "begin" record (operation, key, detail,
 * operator) to cfg's journal, durably, before the HSM is asked; end appends
 * "done" with the output (SPKI or certificate DER) or "failed" with the
 * error, then closes the journal and frees c. signerctl opens the journal
 * itself (LMDB serialises it with a running signerd).
 * Errors: those of journal_open_opts() and journal_append().
 */
/* Who runs signerctl, as journal records name an operator: "user (uid N) pid P". */
void ctl_actor(char *out, size_t len);

struct ctl_ceremony;
SD_WUR int ctl_ceremony_begin(const struct sd_config *cfg, const char *operation, const char *key_uri,
    const char *detail, struct ctl_ceremony **out);
SD_WUR int ctl_ceremony_end(struct ctl_ceremony *c, int result, const uint8_t *output, size_t len);

/*
 * Append "; more" to the detail the "done" record will carry (what is known
 * only once the HSM answered, such as a key's fingerprint). Errors:
 * SD_E_TOO_LARGE (over CTL_CEREMONY_DETAIL_MAX bytes), SD_E_NOMEM.
 */
#define CTL_CEREMONY_DETAIL_MAX 511
SD_WUR int ctl_ceremony_note(struct ctl_ceremony *c, const char *more);

/*
 * In the detail of a keygen ceremony of the key [journal] audit_key names:
 * audit verify compares such a record's key with the key it trusts.
 */
#define CTL_AUDIT_KEY_ROLE "role=audit-key"

/*
 * A key's fingerprint (SHA-256 of its DER SubjectPublicKeyInfo spki, lower-case
 * hex) and, for an Ed25519 key, its C2SP note key id under cfg's [journal]
 * origin (8 hex digits; "" for another type). Errors: SD_E_CRYPTO.
 */
SD_WUR int ctl_key_ids(const struct sd_config *cfg, const uint8_t *spki, size_t len, char fp[65], char key_id[9]);

/* DER of the first certificate in PEM text (free()). Errors: SD_E_INVAL. */
SD_WUR int ctl_pem_cert_der(const char *pem, uint8_t **der, size_t *len);

#endif
