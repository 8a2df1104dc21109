/*
 * EST re-enrollment by the holder of a certificate (RFC 7030 4.2.2), behind
 * signer_request.reenroll_serial (signer.h).
 */
#ifndef SIGNER_CORE_REENROLL_H
#define SIGNER_CORE_REENROLL_H

#include <stdint.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "journal.h"
#include "sd_error.h"

/*
 * The certificate with serial serial_hex that a holder renews, checked
 * before any work on the request: one in journal j, of profile, not
 * revoked, valid at now (Unix seconds), held by the key whose
 * SubjectPublicKeyInfo hashes to spki_sha256. *renewed is it, parsed
 * (X509_free()).
 * Errors: SD_E_FORBIDDEN (not such a certificate; the detail says which
 * rule), SD_E_JOURNAL, SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int signer_reenroll_holder(struct journal *j, const char *serial_hex, const uint8_t spki_sha256[32],
    const char *profile, int64_t now, X509 **renewed);

/*
 * Whether the certificate to be issued (subject, extensions exts) carries
 * exactly the subject and subjectAltNames (as a set) of renewed.
 * Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int signer_reenroll_same(const X509 *renewed, const X509_NAME *subject, const STACK_OF(X509_EXTENSION) *exts);

#endif
