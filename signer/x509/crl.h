/*
 * RFC 5280 v2 certificate revocation lists, signed in the HSM: the
 * TBSCertList is composed from OpenSSL-encoded parts (as x509_tbs.c composes
 * a TBSCertificate), signed with x509_sign_tbs() and assembled like a
 * certificate (the outer SEQUENCE has the same shape), then parsed back by
 * OpenSSL, re-encoded to the same bytes and verified before it is returned.
 */
#ifndef SIGNER_CRL_H
#define SIGNER_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "sd_error.h"
#include "x509_sigalg.h"

#define CRL_SERIAL_MAX 20	/* octets of a serial (RFC 5280 4.1.2.2) */
#define CRL_ENTRY_NO_REASON 0xff	/* no reasonCode extension on the entry */

/* One revoked certificate. */
struct crl_entry {
	uint8_t serial[CRL_SERIAL_MAX];		/* big-endian magnitude */
	size_t serial_len;
	int64_t revoked_at;			/* Unix seconds */
	uint8_t reason;				/* RFC 5280 CRLReason (0..10 but 7), or CRL_ENTRY_NO_REASON */
};

/* What one CRL says; borrowed. */
struct crl_params {
	X509 *issuer;				/* the CA certificate: issuer name and key identifier */
	uint64_t number;			/* cRLNumber: grows with every CRL of this issuer */
	int64_t this_update, next_update;	/* Unix seconds; next_update > this_update */
	const struct crl_entry *entries;
	size_t n_entries;
	bool delta;				/* a delta CRL over the complete CRL numbered base_number */
	uint64_t base_number;
	const char *freshest_url;		/* a complete CRL: where its deltas are (freshestCRL); NULL: none */
};

/*
 * Build, sign with key (alg NULL: the default for key's type; else it must
 * fit the key) and check a CRL: version 2, the issuer's subject,
 * thisUpdate, nextUpdate, the entries in serial order (reasonCode
 * extension unless CRL_ENTRY_NO_REASON; unspecified (0) is written as none, as
 * RFC 5280 5.3.1 asks), authorityKeyIdentifier (the issuer's
 * subjectKeyIdentifier), cRLNumber, deltaCRLIndicator for a delta, and
 * freshestCRL for a complete CRL with freshest_url.
 * The result is parsed back and its signature verified with verify_key
 * (the public key of key). *der (free()) is set on success only.
 * Errors: SD_E_INVAL (a bad field: reason, serial, times, no issuer key
 * identifier, alg for another key type), those of x509_sign_tbs(),
 * SD_E_INTERNAL (the check failed), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int crl_sign(struct hsm_key *key, const struct x509_sigalg *alg, const struct crl_params *p,
    EVP_PKEY *verify_key, uint8_t **der, size_t *len);

#endif
