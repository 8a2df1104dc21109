/*
 * signerctl certs list|show|expiring|reindex: the certificate index beside
 * the journal, read offline (README "Certificate index").
 */
#ifndef SIGNER_CTL_CERTS_H
#define SIGNER_CTL_CERTS_H

/*
 * Run "signerctl certs ARGS": argv[0] is the action. Returns the exit code:
 * 0 success, 1 failure (the reason on stderr; show: an unknown serial),
 * 2 usage.
 */
int ctl_certs_main(const char *config_path, int argc, char **argv);

#endif
