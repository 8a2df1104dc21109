/*
 * Issuance policy: what one certificate may contain, decided from a parsed
 * CSR, the names in the request and the profile. Every function checks, and
 * nothing from the request reaches a certificate without passing here.
 */
#ifndef SIGNER_POLICY_H
#define SIGNER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "config.h"
#include "csr/csr.h"
#include "csr/weakkey.h"
#include "sd_error.h"
#include "signer.h"
#include "x509/ca.h"
#include "x509/x509_ext.h"
#include "x509/x509_tbs.h"

/*
 * The subject key: its type in profile's key_types, not a key of ca's chain,
 * not on the blocklist bl (may be NULL); *ku is the keyUsage to certify
 * (profile_key_usage()). Errors: SD_E_KEY_REFUSED, SD_E_CRYPTO.
 */
SD_WUR int policy_check_key(const struct config_profile *profile, const struct csr *csr, const struct ca *ca,
    const struct weakkey_blocklist *bl, unsigned *ku);

/*
 * The names to certify: body (n_body > 0: the request's own list, which
 * replaces the CSR's subjectAltName) or else the CSR's SANs, each checked
 * against profile (profile_check_dns/ip/uri/email); DNS names and e-mail
 * domains lower-cased, duplicates dropped. A SPIFFE ID must be the only URI.
 * A leaf profile needs at least one name. sans holds as many entries as
 * names requested (n_body, else csr->n_sans) when that is at most
 * SIGNER_SAN_MAX; more are refused before sans is written.
 * Errors: SD_E_NAME_REFUSED, SD_E_TOO_LARGE.
 */
SD_WUR int policy_names(const struct config_profile *profile, const struct csr *csr, const struct signer_san *body,
    size_t n_body, struct x509_san *sans, size_t *n);

/*
 * The subject: the CSR's attributes whose types are in profile's
 * subject_attributes, in CSR order; with cn_must_be_san the CN passes only
 * when it names one of sans (in that SAN's normalised form). *empty tells
 * whether nothing passed. A CA profile needs a non-empty subject.
 * Errors: SD_E_NAME_REFUSED, SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int policy_subject(const struct config_profile *profile, const struct csr *csr, const struct x509_san *sans,
    size_t n, X509_NAME **out, bool *empty);

/*
 * The extensions: basicConstraints (critical; cA and pathLen from the
 * profile), keyUsage ku (critical), extendedKeyUsage (if any), SKI, AKI
 * (ca_keyid), subjectAltName (when n > 0; critical iff the subject is
 * empty), nameConstraints (CA profiles with constraints; critical), CRL
 * distribution point and AIA (when configured; a short-lived certificate,
 * sd_config_short_lived(), has neither a CRL nor an OCSP pointer, only
 * caIssuers).
 * Errors: SD_E_INVAL, SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int policy_extensions(const struct config_profile *profile, const struct csr *csr, unsigned ku,
    const uint8_t *ca_keyid, size_t ca_keyid_len, const struct x509_san *sans, size_t n, bool empty_subject,
    bool short_lived, STACK_OF(X509_EXTENSION) **out);

/*
 * A CA profile can be issued under ca: the issuing certificate's
 * pathLenConstraint (if any) is above the profile's path_len (an unset
 * path_len needs an issuer pathLen of at least 1). Leaf profiles pass.
 * Checked per issuance, so that one unusable CA profile does not stop the
 * service. Errors: SD_E_CONFIG.
 */
SD_WUR int policy_check_ca_profile(const struct config_profile *profile, const struct ca *ca);

/*
 * Build the TBS of t with algid (the algorithm the CA signs with) and run
 * lint_tbs() on it. *tbs (free()) is the linted TBS, set on success only.
 * Errors: those of x509_tbs_build(), SD_E_INTERNAL ("lint <name>: ...").
 */
SD_WUR int policy_lint(const struct config_profile *profile, const struct ca *ca, const struct x509_tbs_template *t,
    const uint8_t *algid, size_t algid_len, time_t now, uint8_t **tbs, size_t *tbs_len);

/* The TBS inside the certificate der is byte for byte tbs. Errors: SD_E_INTERNAL. */
SD_WUR int policy_same_tbs(const uint8_t *der, size_t der_len, const uint8_t *tbs, size_t tbs_len);

/*
 * A fresh serial (x509_tbs_serial_random()) that exists(ctx, serial) says is
 * not yet journaled; redrawn up to 4 times. exists returns 1 taken, 0 free,
 * or a negative error. Errors: SD_E_CRYPTO, SD_E_INTERNAL (four collisions),
 * those of exists.
 */
SD_WUR int policy_serial(uint8_t serial[X509_SERIAL_LEN], int (*exists)(void *, const uint8_t *, size_t), void *ctx);

#endif
