/*
 * signerctl's auditor and journal tools (audit verify|export|show|find|
 * prove|consistency|pubkey, journal backup) and the ceremony records that
 * signerctl appends to the journal named in the configuration.
 */
#ifndef SIGNER_CTL_AUDIT_H
#define SIGNER_CTL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sd_error.h"

/*
 * Run "signerctl audit ARGS": argv[0] is the action. Returns the exit code:
 * 0 all holds, 1 failure or tampering, 2 usage, 3 (verify only) the journal
 * holds but has intents without a result (a crash between intent and result).
 */
int ctl_audit_main(const char *config_path, int argc, char **argv);

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

/* DER of the first certificate in PEM text (free()). Errors: SD_E_INVAL. */
SD_WUR int ctl_pem_cert_der(const char *pem, uint8_t **der, size_t *len);

#endif
