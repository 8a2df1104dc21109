/*
 * Signing a TBSCertificate with an HSM key: the one place the issuance core
 * calls hsm_sign(). Kept apart from x509_sigalg.c so that the pure X.509
 * code links (and is unit-tested) without pkcs11/.
 */
#ifndef SIGNER_SIGN_TBS_H
#define SIGNER_SIGN_TBS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "sd_error.h"
#include "x509_sigalg.h"
#include "x509_tbs.h"

/* *out: alg, or the default for key's type when alg is NULL. Errors: SD_E_INVAL (alg is for another key type), SD_E_UNSUPPORTED. */
SD_WUR int x509_sign_alg(struct hsm_key *key, const struct x509_sigalg *alg, const struct x509_sigalg **out);

/*
 * Hash and format tbs for algorithm alg (NULL: the default for key's type,
 * x509_sigalg_for(); alg must fit key's type), sign it in the HSM and return
 * the content of the certificate's signature BIT STRING (RSA: the
 * signature; ECDSA: DER ECDSA-Sig-Value; Ed25519: 64 bytes).
 * *sig is new (free with free()), set on success only. Thread-safe.
 * Errors: SD_E_UNSUPPORTED, SD_E_INVAL, SD_E_HSM, SD_E_HSM_UNAVAILABLE,
 * SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int x509_sign_tbs(struct hsm_key *key, const struct x509_sigalg *alg, const uint8_t *tbs, size_t tbs_len,
    uint8_t **sig, size_t *sig_len);

/*
 * The whole issuance of one certificate: encode the TBS from t (its algid is
 * replaced by alg's; alg NULL: the default for key's type, as in
 * x509_sign_tbs()), sign it with key in the HSM, assemble the certificate
 * and check it (x509_cert_check()) against verify_key, which must be the
 * public key of key. *der (free()) and *cert (X509_free(); optional) are set
 * on success only: nothing that failed the check is returned.
 * Errors: those of x509_tbs_build(), x509_sign_tbs(), x509_cert_assemble(),
 * x509_cert_check().
 */
SD_WUR int x509_sign_cert(struct hsm_key *key, const struct x509_sigalg *alg, const struct x509_tbs_template *t,
    EVP_PKEY *verify_key, uint8_t **der, size_t *der_len, X509 **cert);

#endif
