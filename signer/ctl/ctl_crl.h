/*
 * signerctl crl: the issuing CA's complete CRL made offline from the
 * journal (README "Revocation"), numbered after the last one signerd or
 * signerctl journaled.
 */
#ifndef SIGNER_CTL_CRL_H
#define SIGNER_CTL_CRL_H

/*
 * Run "signerctl crl ARGS" (argv[0] is "crl"): open the HSM and the CA key
 * and certificate of the configuration at config_path, make, sign and
 * journal the CRL, write it (DER, or PEM with --pem) to --out or stdout,
 * and print its number, entries and nextUpdate on stderr. Returns the exit
 * code: 0 written, 1 failure (the reason on stderr), 2 usage.
 */
int ctl_crl_main(const char *config_path, int argc, char **argv);

#endif
