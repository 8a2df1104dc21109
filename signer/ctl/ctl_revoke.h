/*
 * signerctl revoke SERIAL: a revocation journaled offline, as POST
 * /v1/revoke journals it (README "Revocation").
 */
#ifndef SIGNER_CTL_REVOKE_H
#define SIGNER_CTL_REVOKE_H

/*
 * Run "signerctl revoke ARGS" (argv[0] is "revoke"). Returns the exit code:
 * 0 revoked (or revoked before: the original time and reason are printed),
 * 1 failure (no certificate has the serial, the journal), 2 usage (a bad
 * serial or reason).
 */
int ctl_revoke_main(const char *config_path, int argc, char **argv);

#endif
