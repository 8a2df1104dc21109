/*
 * The issuing CA's CRLs, made from the journal: every revoked certificate
 * that is neither short-lived (sd_config_short_lived()) nor expired, signed
 * in the HSM, then journaled as a CRL record whose number is one past the
 * last before anyone sees it; complete CRLs and delta CRLs share the
 * numbers (RFC 5280 5.2.3). signerd's publisher
 * (revocation.c) and signerctl crl both make their CRLs here, so the two
 * share one numbering.
 */
#ifndef SIGNER_REVOCATION_CRL_H
#define SIGNER_REVOCATION_CRL_H

#include <stdint.h>

#include "config.h"
#include "hsm.h"
#include "journal.h"
#include "sd_error.h"
#include "signer.h"
#include "x509/ca.h"

/*
 * A delta CRL lists the revocations since this long before its base's
 * thisUpdate: a revocation stamped just before the base was made but
 * committed after the base read the journal is in the delta, at worst in
 * both (harmless).
 */
#define REVOCATION_DELTA_MARGIN 300

/*
 * Make, sign with key (ca's key, with ca's signature algorithm) and
 * journal the CRL that holds at now. base NULL: the complete CRL,
 * thisUpdate now, nextUpdate now + [ca] crl_validity, freshestCRL [ca]
 * delta_crl_url when set. base given (a complete CRL): the delta CRL over
 * it, nextUpdate now + [ca] delta_crl_validity, listing what was revoked
 * from REVOCATION_DELTA_MARGIN before base's thisUpdate on.
 * *out (signer_crl_free()) is set on success only.
 * Errors: those of journal_revoked_foreach(), crl_sign() (SD_E_HSM,
 * SD_E_HSM_UNAVAILABLE, ...), journal_crl_append(); SD_E_TOO_LARGE (over
 * SIGNER_CRL_MAX), SD_E_NOMEM.
 */
SD_WUR int revocation_crl_make(struct journal *j, const struct sd_config *cfg, struct hsm_key *key,
    const struct ca *ca, int64_t now, const struct signer_crl *base, struct signer_crl **out);

#endif
