/*
 * The front's pool of ACME challenge validators: answers ask for a
 * validation (signer_acme_answer.validate), the pool runs it with
 * acme_validate.h on one of [acme] validations threads and reports the
 * outcome with signer_acme_validated(). The HTTPS server owns it.
 */
#ifndef ACME_VALIDATOR_H
#define ACME_VALIDATOR_H

#include "config.h"
#include "sd_error.h"
#include "signer.h"

struct acme_validator;

/*
 * Start cfg->acme_validations threads (cfg and s outlive the pool) with a
 * queue of four jobs per thread. Errors: SD_E_CONFIG (no threads),
 * SD_E_NOMEM, SD_E_INTERNAL (thread).
 */
SD_WUR int acme_validator_new(const struct sd_config *cfg, struct signer *s, struct acme_validator **out);

/*
 * Queue the validation v of profile's challenge (copied). A full queue
 * reports the challenge failed at once ("connection": retry), so the
 * client is never left waiting on a validation nobody runs. Thread-safe.
 */
void acme_validator_submit(struct acme_validator *p, const char *profile, const struct signer_acme_validation *v);

/*
 * Stop: queued jobs are dropped (their challenges stay "processing" until
 * they expire), running ones finish; join the threads and free. NULL is a
 * no-op.
 */
void acme_validator_free(struct acme_validator *p);

#endif
