/*
 * TBSCertificate encoding from a plain template. OpenSSL 3.0 cannot set the
 * TBS signature AlgorithmIdentifier of a certificate it did not sign, so the
 * TBS is glued together here from pieces OpenSSL encodes (INTEGER, Time,
 * Name, Extensions) and the DER writer in der.h.
 */
#ifndef SIGNER_X509_TBS_H
#define SIGNER_X509_TBS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "sd_error.h"

/* Serial numbers signerd makes: 17 random bytes, top bit clear, first byte non-zero. */
#define X509_SERIAL_LEN 17
/* RFC 5280 4.1.2.2: at most 20 octets of INTEGER content. */
#define X509_SERIAL_MAX 20

struct x509_tbs_template {
	const uint8_t *serial;		/* big-endian magnitude, non-zero */
	size_t serial_len;
	const uint8_t *algid;		/* DER AlgorithmIdentifier of the issuer's signature */
	size_t algid_len;
	const uint8_t *issuer;		/* DER Name */
	size_t issuer_len;
	time_t not_before;
	time_t not_after;
	const X509_NAME *subject;	/* may be empty */
	const uint8_t *spki;		/* DER SubjectPublicKeyInfo */
	size_t spki_len;
	const STACK_OF(X509_EXTENSION) *exts;	/* NULL or empty: no [3] */
};

/*
 * DER TBSCertificate (version 3) for t. *der (free with free()) and *len are
 * set on success only. Validity uses UTCTime through 2049 and
 * GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
 * Errors: SD_E_INVAL (empty or oversized serial, notAfter before notBefore,
 * missing part), SD_E_CRYPTO, SD_E_TOO_LARGE, SD_E_NOMEM.
 */
SD_WUR int x509_tbs_build(const struct x509_tbs_template *t, uint8_t **der, size_t *len);

/*
 * A fresh serial number: X509_SERIAL_LEN bytes from RAND_bytes(), top bit
 * cleared (positive) and the first byte non-zero (no shorter encoding), so at
 * least 128 random bits. Thread-safe. Errors: SD_E_CRYPTO.
 */
SD_WUR int x509_tbs_serial_random(uint8_t serial[X509_SERIAL_LEN]);

#endif
