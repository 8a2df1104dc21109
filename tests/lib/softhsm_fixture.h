/*
 * A fresh SoftHSMv2 token in a temporary directory, for tests (never shipped).
 *
 * SoftHSM reads SOFTHSM2_CONF when the module is first initialised in the
 * process, so a second fixture only takes effect once every hsm using the
 * module has been closed.
 */
#ifndef SOFTHSM_FIXTURE_H
#define SOFTHSM_FIXTURE_H

#include <limits.h>

#define SD_TEST_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct sd_test_softhsm {
	char dir[PATH_MAX];		/* the temporary directory */
	char conf[PATH_MAX];		/* softhsm2.conf, also in $SOFTHSM2_CONF */
	char module[PATH_MAX];		/* SD_TEST_SOFTHSM_MODULE */
	char pin_file[PATH_MAX];	/* user PIN, mode 0600 */
	char so_pin_file[PATH_MAX];	/* security officer PIN, mode 0600 */
	char token_uri[PATH_MAX];	/* "pkcs11:token=<label>" */
};

/*
 * Create the directory and configuration, set SOFTHSM2_CONF, write the PIN
 * files and initialise a token labelled label. Returns 0 or the error of
 * hsm_token_init() (the directory is removed on failure).
 */
int sd_test_softhsm_new(const char *label, struct sd_test_softhsm *out);

/* Remove the directory (NULL is a no-op). */
void sd_test_softhsm_free(struct sd_test_softhsm *hsm);

#endif
