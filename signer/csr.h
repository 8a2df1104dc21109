/*
 * Certificate signing requests: PEM decoding with limits, proof of
 * possession, the subject key policy, and the names requested. Nothing from
 * a CSR reaches a certificate except its public key, checked SANs and a CN
 * equal to one of them.
 */
#ifndef SIGNER_CSR_H
#define SIGNER_CSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sd_error.h"
#include "x509_ext.h"

#define CSR_SAN_MAX 100		/* subjectAltName entries accepted */
#define CSR_CN_MAX 64		/* ub-common-name (RFC 5280) */
#define CSR_RSA_MIN_DEFAULT 2048
#define CSR_RSA_MAX 8192

struct csr {
	X509_REQ *req;
	EVP_PKEY *pubkey;		/* borrowed from req */
	uint8_t *spki;			/* DER SubjectPublicKeyInfo, as OpenSSL encodes pubkey */
	size_t spki_len;
	uint8_t sha256[32];		/* SHA-256 of the CSR DER */
	bool has_cn;			/* exactly one CN, UTF-8, no NUL, <= CSR_CN_MAX bytes */
	char cn[CSR_CN_MAX + 1];
	struct x509_san sans[CSR_SAN_MAX];	/* as requested: not yet checked against policy */
	size_t n_sans;
};

/*
 * Parse a PEM CSR of len bytes (one "CERTIFICATE REQUEST" or "NEW
 * CERTIFICATE REQUEST" object, only whitespace around it), check its subject
 * key (csr_check_key()), verify its self-signature (proof of possession),
 * hash its DER and extract the CN and the DNS and IP SANs.
 * *out (csr_free()) is set on success only.
 * Errors: SD_E_TOO_LARGE (len > SIGNER_CSR_MAX, too many SANs), SD_E_CSR
 * (not one PEM CSR, malformed DER or extensions, duplicated
 * subjectAltName), SD_E_KEY_REFUSED, SD_E_CSR_SIGNATURE, SD_E_NAME_REFUSED
 * (a SAN type other than DNS or IP, a DNS name over 253 characters),
 * SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int csr_parse(const char *pem, size_t len, unsigned rsa_min_bits, struct csr **out);
void csr_free(struct csr *csr);

/*
 * Subject key policy: RSA of rsa_min_bits (0 means CSR_RSA_MIN_DEFAULT) to
 * CSR_RSA_MAX bits with exponent 65537; EC on P-256, P-384 or P-521 with a
 * valid point; Ed25519. Errors: SD_E_KEY_REFUSED (with the reason), SD_E_NOMEM.
 */
SD_WUR int csr_check_key(EVP_PKEY *pkey, unsigned rsa_min_bits);

#endif
