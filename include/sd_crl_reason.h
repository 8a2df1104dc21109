/*
 * RFC 5280's CRLReason codes and their names ("keyCompromise"), the one
 * table the journal, signerctl and the API read them from.
 */
#ifndef SD_CRL_REASON_H
#define SD_CRL_REASON_H

#include <stdint.h>

#include "sd_error.h"

#define SD_CRL_REASON_MAX 10		/* 7 is unused */

/* The name of code, or NULL for 7 and above SD_CRL_REASON_MAX. */
const char *sd_crl_reason_name(uint8_t code);

/* The code named name (exactly as RFC 5280 spells it). Errors: SD_E_INVAL. */
SD_WUR int sd_crl_reason_parse(const char *name, uint8_t *code);

/*
 * Whether a revocation may carry code: signerd's revocations are final,
 * so certificateHold (6) and removeFromCRL (8) are refused, as is every
 * code without a name. Errors: SD_E_INVAL.
 */
SD_WUR int sd_crl_reason_final(uint8_t code);

#endif
