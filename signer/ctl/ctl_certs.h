/*
 * signerctl certs list|show|expiring|reindex: the certificate index beside
 * the journal, read offline (README "Certificate index").
 */
#ifndef SIGNER_CTL_CERTS_H
#define SIGNER_CTL_CERTS_H

#include <stdbool.h>

#include "journal.h"

/*
 * Run "signerctl certs ARGS": argv[0] is the action. Returns the exit code:
 * 0 success, 1 failure (the reason on stderr; show: an unknown serial),
 * 2 usage.
 */
int ctl_certs_main(const char *config_path, int argc, char **argv);

/*
 * Open the journal of the configuration at config_path, or journal_dir
 * when given (then without a configuration); a writer may grow the map.
 * Returns 0, or 1 with the reason on stderr.
 */
int ctl_certs_journal(const char *config_path, const char *journal_dir, bool writer, struct journal **j);

#endif
