/*
 * signerctl hsm info|slots|keys: what an operator needs to configure and
 * audit the HSM (module, slots and tokens with their flags, the token's
 * mechanisms, the keys with their security attributes and whether each is
 * fit to be a CA key). Output is plain text on stdout.
 */
#ifndef SIGNER_CTL_HSM_H
#define SIGNER_CTL_HSM_H

#include "config.h"
#include "sd_error.h"

/*
 * Run "hsm <action>" with cfg's [hsm] settings. info and slots need no PIN;
 * keys logs in. Errors: SD_E_INVAL (unknown action), those of hsm_open()
 * and the hsm_list_*() functions.
 */
SD_WUR int ctl_hsm_run(const struct sd_config *cfg, const char *action);

#endif
