/*
 * signerctl acme eab add|list|remove: External Account Binding keys for
 * the ACME directories (README "ACME and EST").
 */
#ifndef SIGNER_CTL_ACME_H
#define SIGNER_CTL_ACME_H

/*
 * Run "signerctl acme ARGS" (argv[0] is "acme"). Returns the exit code:
 * 0 done, 1 failure (the configuration, the store, the journal, a kid
 * taken or unknown, a profile or suffix refused), 2 usage.
 */
int ctl_acme_main(const char *config_path, int argc, char **argv);

#endif
