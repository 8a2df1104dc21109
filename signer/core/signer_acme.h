/*
 * The ACME engine inside the core (signer/acme/acme.h): the operations the
 * core hands it, and what signer_acme.c needs of struct signer.
 */
#ifndef SIGNER_CORE_ACME_H
#define SIGNER_CORE_ACME_H

#include "acme/acme.h"
#include "config.h"
#include "journal.h"
#include "signer.h"

/*
 * acme_open() for s, with s's issue, revoke and chain as the engine's
 * operations; *out NULL when no profile has acme = true. Errors: those of
 * acme_open().
 */
SD_WUR int signer_acme_open(struct signer *s, const struct sd_config *cfg, struct journal *j, struct acme **out);

/* The engine of s, borrowed; NULL when ACME is off. */
struct acme *signer_acme_peek(const struct signer *s);

/*
 * Revoke without signer_revoke()'s client check (the engine authorised
 * it), journaling who as the requester and telling the publishers.
 * Errors: those of signer_revoke() but SD_E_FORBIDDEN.
 */
SD_WUR int signer_revoke_as(struct signer *s, const char *serial_hex, uint8_t reason, const char *who,
    struct signer_revocation *out);

#endif
