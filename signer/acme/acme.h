/*
 * The ACME engine (RFC 8555, RFC 9773) behind signer_acme() and
 * signer_acme_validated() (signer.h), run in the signer process. It keeps
 * its state in acme_store.h, journals account, EAB and authorization events
 * (journal.h, record type "acme"), and issues and revokes through the
 * operations core hands it, so that an ACME certificate takes exactly the
 * path of POST /v1/sign: the same policy, lints and journal.
 */
#ifndef ACME_H
#define ACME_H

#include <stdint.h>

#include "acme_store.h"
#include "config.h"
#include "journal.h"
#include "sd_error.h"
#include "signer.h"

struct acme;

/* What the engine may ask of the core; ctx is the core's. */
struct acme_ops {
	void *ctx;
	/* signer_issue() for an ACME account (req->client NULL): the same contract. */
	int (*issue)(void *ctx, const struct signer_request *req, struct signer_result **out);
	/*
	 * Revoke the certificate with serial serial_hex for reason, already
	 * authorised by the engine; who is journaled as the requester.
	 * Errors: those of signer_revoke() but SD_E_FORBIDDEN.
	 */
	int (*revoke)(void *ctx, const char *serial_hex, uint8_t reason, const char *who,
	    struct signer_revocation *out);
	/* The issuing chain (PEM, issuing CA first), borrowed. */
	size_t (*chain_count)(void *ctx);
	const char *(*chain_pem)(void *ctx, size_t i);
};

/*
 * Open the ACME state store as cfg's [acme] section sets it: the engine's,
 * and signerctl's while signerd runs. Errors: SD_E_CONFIG (no path), those
 * of acme_store_open().
 */
SD_WUR int acme_store_open_config(const struct sd_config *cfg, struct acme_store **out);

/*
 * Open the engine for cfg (its [acme] section and the profiles with acme =
 * true; cfg outlives it): the state store at cfg->acme_path. j is the
 * signer's journal (events and certificates are read and written there).
 * [ca] retired_certificates is read here, once (acme_ari_retired_load();
 * ops->chain_pem must give the issuing CA already).
 * *out is NULL, and 0 returned, when no profile has acme = true (the
 * retired_certificates file is still read, so that a bad one is refused).
 * Errors: those of acme_store_open(), SD_E_CONFIG (also a refused
 * retired_certificates file, the detail saying why), SD_E_NOMEM.
 */
SD_WUR int acme_open(const struct sd_config *cfg, struct journal *j, const struct acme_ops *ops, struct acme **out);
void acme_close(struct acme *a);

/* signer_acme() and signer_acme_validated(), with a NULL engine answering 404 / SD_E_NOT_FOUND. */
SD_WUR int acme_serve(struct acme *a, const struct signer_acme_request *req, struct signer_acme_answer **out);
SD_WUR int acme_validated(struct acme *a, const char *profile, const char *challenge, const char *error_type,
    const char *detail);

#endif
