/*
 * Revocation status for relying parties, as the signer core serves it
 * (signer_crl(), signer_crl_delta(), signer_ocsp()): the current CRL,
 * made again after revocations ([ca] crl_delay gathers a burst into one)
 * and once half its validity has passed; with delta CRLs on, revocations
 * make a new delta instead, and the complete CRL waits for half its
 * validity; and the OCSP responder. A thread wakes every second
 * for both; nothing here runs on the issuance path.
 */
#ifndef SIGNER_REVOCATION_H
#define SIGNER_REVOCATION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hsm.h"
#include "journal.h"
#include "sd_error.h"
#include "signer.h"
#include "x509/ca.h"

struct revocation;

/*
 * Publish for ca (whose key is key) from j; the OCSP responder when cfg has
 * [ca] ocsp_key. Everything passed must outlive r. No CRL is made yet: the
 * first signer_crl() makes one. Errors: those of revocation_ocsp_open(),
 * SD_E_NOMEM, SD_E_INTERNAL (thread).
 */
SD_WUR int revocation_open(const struct sd_config *cfg, struct hsm *hsm, struct journal *j, struct hsm_key *key,
    const struct ca *ca, struct revocation **out);
void revocation_close(struct revocation *r);

/* signer_crl(): a copy of the current CRL, made first when there is none or it is due. */
SD_WUR int revocation_crl(struct revocation *r, struct signer_crl **out);

/* signer_crl_delta(): a copy of the current delta CRL, made first (its base too) when there is none or it is due. */
SD_WUR int revocation_crl_delta(struct revocation *r, struct signer_crl **out);

/* signer_ocsp(). */
SD_WUR int revocation_ocsp(struct revocation *r, const uint8_t *req, size_t len, struct signer_ocsp **out);

/* Gauges and counters for GET /metrics: the current CRL's number and time to nextUpdate, failures, OCSP's. */
struct sd_metrics_text;
void revocation_metrics_text(struct revocation *r, struct sd_metrics_text *t);

/* The certificate with serial was just revoked: OCSP forgets it, and a new CRL is due after [ca] crl_delay. */
void revocation_revoked(struct revocation *r, const uint8_t *serial, size_t len);

#endif
