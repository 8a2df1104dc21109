/*
 * CA certificates made during a key ceremony (by signerctl): a self-signed
 * root from an HSM key, and an intermediate whose key is in the HSM, signed
 * by an HSM root key; and the certificate of a delegated OCSP responder
 * whose key is in the HSM. All are built, signed in the HSM, parsed back and
 * verified before they are returned.
 */
#ifndef CEREMONY_H
#define CEREMONY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm.h"
#include "sd_error.h"

struct ceremony_ca {
	const char *subject;	/* OpenSSL one-line form, e.g. "/O=signerd demo/CN=Root CA" */
	uint64_t days;		/* validity from now (notBefore backdated by 5 minutes) */
	int path_len;		/* pathLenConstraint, or -1 for none */
};

/*
 * Self-signed root: CA:TRUE (critical), keyCertSign + cRLSign (critical),
 * SKI, AKI = SKI. *pem is a new PEM certificate (free with free()).
 * Errors: SD_E_INVAL (subject, days), SD_E_HSM, SD_E_HSM_UNAVAILABLE,
 * SD_E_CRYPTO, SD_E_INTERNAL (did not verify), SD_E_NOMEM.
 */
SD_WUR int ceremony_root(struct hsm_key *key, const struct ceremony_ca *req, char **pem);

/*
 * Intermediate for subject_key, signed by issuer_key whose certificate is
 * issuer_pem (the issuer's public key must match issuer_key). notAfter is
 * capped at the issuer's notAfter. Same errors as ceremony_root(), plus
 * SD_E_CONFIG when issuer_pem does not match issuer_key.
 */
SD_WUR int ceremony_intermediate(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *subject_key, const struct ceremony_ca *req, char **pem);

/*
 * Delegated OCSP responder certificate (RFC 6960 4.2.2.2) for responder_key,
 * signed by issuer_key whose certificate is issuer_pem (as for
 * ceremony_intermediate()): subject in the one-line form, valid for days
 * (notBefore backdated by 5 minutes, notAfter capped at the issuer's),
 * basicConstraints CA:FALSE (critical), keyUsage digitalSignature
 * (critical), extendedKeyUsage id-kp-OCSPSigning alone, id-pkix-ocsp-nocheck,
 * SKI, AKI = the issuer's key identifier. *pem is new (free with free()).
 * Errors: those of ceremony_intermediate(), SD_E_INVAL also when
 * responder_key is issuer_key.
 */
SD_WUR int ceremony_ocsp_responder(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *responder_key, const char *subject, uint64_t days, char **pem);

/*
 * The same, signed with RSASSA-PSS when pss (the signing key must be RSA;
 * else SD_E_UNSUPPORTED), else as above with PKCS#1 v1.5 / ECDSA / EdDSA.
 */
SD_WUR int ceremony_root_sig(struct hsm_key *key, const struct ceremony_ca *req, bool pss, char **pem);
SD_WUR int ceremony_intermediate_sig(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *subject_key, const struct ceremony_ca *req, bool pss, char **pem);

#endif
