/*
 * Revocation behind signer_revoke() (signer.h), on the signer's journal.
 */
#ifndef SIGNER_CORE_REVOKE_H
#define SIGNER_CORE_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "journal.h"
#include "signer.h"

/* signer_revoke() on journal j, deciding with cfg who may revoke what. Same contract. */
SD_WUR int signer_revoke_journal(struct journal *j, const struct sd_config *cfg, const struct signer_caller *caller,
    const char *serial_hex, uint8_t reason, const char *detail, struct signer_revocation *out);

/*
 * The same revocation, already authorised by the caller (the ACME engine):
 * who is journaled as the requester, with a zero key hash. Errors: those of
 * signer_revoke() but SD_E_FORBIDDEN.
 */
SD_WUR int signer_revoke_journal_as(struct journal *j, const char *serial_hex, uint8_t reason, const char *who,
    struct signer_revocation *out);

/* Whether the certificate der holds the key whose SubjectPublicKeyInfo hashes to spki_sha256. */
bool signer_cert_holds_key(const uint8_t *der, size_t len, const uint8_t spki_sha256[32]);

#endif
