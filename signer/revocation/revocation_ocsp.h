/*
 * The OCSP responder (signer_ocsp() in signer.h): the delegated responder
 * key in the HSM and its certificate, the answers from the journal, a cache
 * of pre-signed answers, and a budget of fresh signatures per second.
 *
 * A cached answer is one CertID's, without a nonce, good or revoked (an
 * "unknown" is never cached: the serial may be in flight). It is signed
 * again once half its validity has passed if it was asked for since it was
 * signed, and dropped otherwise; a revocation drops its serial's answers at
 * once. So a burst of queries for known certificates costs no signature,
 * and a burst of anything else costs at most the budget, past which the
 * answer is tryLater.
 */
#ifndef SIGNER_REVOCATION_OCSP_H
#define SIGNER_REVOCATION_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hsm.h"
#include "journal.h"
#include "sd_error.h"
#include "signer.h"
#include "x509/ca.h"

#define REVOCATION_OCSP_CACHE_MAX 16384	/* answers kept; past it new ones are served, not kept */

struct revocation_ocsp;

/*
 * The responder of cfg's [ca] ocsp_key and ocsp_certificate, answering for
 * ca from j. The certificate must be issued by ca (its signature verifies
 * with ca's key), carry id-kp-OCSPSigning, and hold the public key of the
 * HSM key. Errors: SD_E_CONFIG (a check failed), those of hsm_key_find()
 * and sd_file_read(), SD_E_NOMEM.
 */
SD_WUR int revocation_ocsp_open(const struct sd_config *cfg, struct hsm *hsm, struct journal *j, const struct ca *ca,
    struct revocation_ocsp **out);
void revocation_ocsp_close(struct revocation_ocsp *r);

/* signer_ocsp() for r, which may be NULL: no responder configured (unauthorized). */
SD_WUR int revocation_ocsp_answer(struct revocation_ocsp *r, const uint8_t *req, size_t len, int64_t now,
    struct signer_ocsp **out);

/* The certificate with serial was revoked: its cached answers go. */
void revocation_ocsp_forget(struct revocation_ocsp *r, const uint8_t *serial, size_t len);

/* Its counters for GET /metrics: answers by how they were made, answers kept. */
struct sd_metrics_text;
void revocation_ocsp_metrics_text(struct revocation_ocsp *r, struct sd_metrics_text *t);

/* Sign again the cached answers past half their validity that were asked for; drop the others. */
void revocation_ocsp_refresh(struct revocation_ocsp *r, int64_t now);

#endif
