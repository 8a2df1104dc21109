/*
 * Assembling a certificate from its separately built and signed parts, and
 * the check every certificate passes before it is released.
 */
#ifndef SIGNER_X509_CERT_H
#define SIGNER_X509_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sd_error.h"
#include "x509_sigalg.h"

/*
 * Certificate ::= SEQUENCE { tbs, algid, BIT STRING (0 unused bits) sig }
 * (a CertificateList has the same shape).
 * tbs and algid are complete DER TLVs; sig is the BIT STRING's content.
 * *der (free with free()) and *len are set on success only.
 * Errors: SD_E_INVAL (missing part), SD_E_TOO_LARGE, SD_E_NOMEM.
 */
SD_WUR int x509_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *algid, size_t algid_len,
    const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *len);

/*
 * Parse der back and accept it only if: it is exactly one certificate with
 * no trailing bytes, OpenSSL re-encodes it to the same bytes, its TBS
 * re-encodes to expected_tbs byte for byte, and its signature verifies with
 * ca_pubkey. *out (optional; X509_free()) is the parsed certificate.
 * Errors: SD_E_INTERNAL (with the failed check in the detail).
 */
SD_WUR int x509_cert_check(const uint8_t *der, size_t len, const uint8_t *expected_tbs, size_t expected_tbs_len,
    EVP_PKEY *ca_pubkey, X509 **out);

/* A prepared verifier for what one CA key signs with one algorithm; read-only once made, so shared by threads. */
struct x509_verifier;

/*
 * A verifier for signatures by pubkey (up-referenced) with alg: the
 * verification context (key, algorithm, RSASSA-PSS parameters) is set up
 * once here and copied for each use, so no algorithm fetch happens per
 * certificate. *out (x509_verifier_free()) is set on success only.
 * Errors: SD_E_INVAL (missing argument), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int x509_verifier_new(EVP_PKEY *pubkey, const struct x509_sigalg *alg, struct x509_verifier **out);
void x509_verifier_free(struct x509_verifier *v);

/*
 * The post-signing check of the issuance path, as strict as
 * x509_cert_check() for what signerd assembles but without OpenSSL's
 * certificate decoder (which sets up a public-key decoder per call):
 * der must be exactly one Certificate, every TLV header on the way DER
 * (shortest definite lengths), no trailing bytes; its TBSCertificate TLV
 * byte for byte tbs, whose own top-level TLVs are DER and whose signature
 * field is v's AlgorithmIdentifier; its signatureAlgorithm byte for byte
 * v's; its signature a BIT STRING without unused bits that verifies over
 * tbs with v's key. The content of tbs is DER-checked by lint_tbs() before
 * it is signed; callers pass only linted TBS bytes. Thread-safe.
 * Errors: SD_E_INTERNAL (with the failed check in the detail), SD_E_NOMEM.
 */
SD_WUR int x509_cert_verify(const struct x509_verifier *v, const uint8_t *der, size_t len, const uint8_t *tbs,
    size_t tbs_len);

/*
 * Locate the TBSCertificate TLV inside a DER Certificate without copying:
 * *tbs points into der. Only the two outer DER headers are read, with
 * der_read() (definite shortest-form lengths within len).
 * Errors: SD_E_INVAL (not a SEQUENCE holding a SEQUENCE).
 */
SD_WUR int x509_cert_tbs_peek(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len);

/*
 * PEM "CERTIFICATE" text of der as a new NUL-terminated string (free with
 * free()). Errors: SD_E_INVAL, SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int x509_cert_pem(const uint8_t *der, size_t len, char **pem);

#endif
