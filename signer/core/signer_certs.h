/*
 * The certificate inventory behind signer_certs_list() and
 * signer_cert_get() (signer.h), on the signer's journal.
 */
#ifndef SIGNER_CORE_CERTS_H
#define SIGNER_CORE_CERTS_H

#include "config.h"
#include "journal.h"
#include "signer.h"

/* signer_certs_list() on journal j. Same contract. */
SD_WUR int signer_certs_list_journal(struct journal *j, const struct signer_certs_query *q, struct signer_certs **out);

/* signer_cert_get() on journal j, deciding with cfg who may read what. Same contract. */
SD_WUR int signer_cert_get_journal(struct journal *j, const struct sd_config *cfg, const struct signer_caller *caller,
    const char *serial_hex, struct signer_cert **out);

#endif
