/*
 * CA material, loaded and checked once: the issuing certificate (whose key
 * must be the HSM key), the chain served to clients, and everything each
 * issuance needs precomputed. Read-only after ca_load()/ca_from_pem(), so
 * it is shared by concurrent issuances without locking.
 */
#ifndef SIGNER_CA_H
#define SIGNER_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "sd_error.h"
#include "signer.h"
#include "x509_cert.h"
#include "x509_ext.h"
#include "x509_sigalg.h"

/* Largest certificate or chain file read. */
#define CA_FILE_MAX (256 * 1024)

struct ca {
	X509 *cert;				/* issuing certificate */
	EVP_PKEY *pubkey;			/* its public key (verifies what is issued) */
	uint8_t *issuer;			/* DER subject Name of cert: the issuer of what it signs */
	size_t issuer_len;
	uint8_t keyid[X509_KEYID_MAX];		/* AKI keyIdentifier: cert's SKI, else computed */
	size_t keyid_len;
	const struct x509_sigalg *sigalg;	/* from the HSM key type and [ca] signature */
	struct x509_verifier *verifier;		/* pubkey with sigalg, set up once: checks what is issued */
	time_t not_after;			/* cert's notAfter */
	char *chain_pem[SIGNER_CHAIN_MAX];	/* issuing certificate first */
	size_t n_chain;
	EVP_PKEY *chain_keys[SIGNER_CHAIN_MAX];	/* public keys of the chain (issuing CA first): never certified */
	size_t n_chain_keys;
	long path_len;				/* issuing certificate's pathLenConstraint, -1 for none */
};

/*
 * CA material from the PEM certificate in pem (len bytes; source names it
 * in details), which must be a CA certificate whose public key equals key's
 * (key_name, e.g. its URI, names the key in details).
 * The chain holds only this certificate.
 * Errors: SD_E_CONFIG (not one PEM certificate, not a CA, key mismatch),
 * SD_E_UNSUPPORTED (key type), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int ca_from_pem(struct hsm_key *key, const char *key_name, const char *pem, size_t len, const char *source,
    struct ca **out);

/*
 * ca_from_pem() on the file cert_path, the signature algorithm (RSASSA-PSS
 * when pss, which needs an RSA key), then the chain from chain_path (PEM
 * certificates, at most SIGNER_CHAIN_MAX, the first equal to the issuing
 * certificate, each signed by the next); chain_path NULL means the issuing
 * certificate alone.
 * Errors: those of ca_from_pem(), SD_E_IO, SD_E_TOO_LARGE.
 */
SD_WUR int ca_load(struct hsm_key *key, const char *key_name, const char *cert_path, const char *chain_path,
    bool pss, struct ca **out);
void ca_free(struct ca *ca);

/* Whether pkey equals the public key of a certificate in ca's chain (the issuing CA's included). */
bool ca_key_is_ca(const struct ca *ca, const EVP_PKEY *pkey);

#endif
