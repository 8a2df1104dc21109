/*
 * The DER structure of a CertificationRequest (RFC 2986), read with the
 * strict reader of der.h: its parts are located without handing the whole
 * request to OpenSSL's decoder, which in OpenSSL 3.0 sets up a key decoder
 * chain per call (most of the cost of d2i_X509_REQ()). Each part is then
 * decoded on its own: the subject by d2i_X509_NAME(), the key by
 * csr_key_decode(), the extensions by d2i_X509_EXTENSIONS().
 */
#ifndef SIGNER_CSR_DER_H
#define SIGNER_CSR_DER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/der.h"
#include "sd_error.h"

/* The parts of one CSR; every TLV borrows the DER it was read from. */
struct csr_der {
	struct der_tlv info;		/* CertificationRequestInfo: the signed bytes */
	struct der_tlv version;		/* INTEGER */
	struct der_tlv subject;		/* Name */
	struct der_tlv spki;		/* SubjectPublicKeyInfo */
	struct der_tlv sigalg;		/* AlgorithmIdentifier */
	struct der_tlv sig;		/* BIT STRING */
	struct der_tlv ext_req;		/* the extensionRequest value (Extensions); tlv NULL when none */
};

/*
 * Split der (exactly len bytes) into its parts: CertificationRequest ::=
 * SEQUENCE { SEQUENCE { version INTEGER, subject Name, spki
 * SubjectPublicKeyInfo, [0] attributes }, AlgorithmIdentifier, BIT STRING }
 * with nothing after it. Every attribute must be SEQUENCE { OID, SET OF
 * values } of DER TLVs; an extensionRequest attribute (PKCS#9 or its
 * Microsoft twin) may appear once, with exactly one value.
 * Errors: SD_E_CSR ("not a certificate request: ..." or which rule of
 * extensionRequest is broken).
 */
SD_WUR int csr_der_split(const uint8_t *der, size_t len, struct csr_der *out);

/*
 * Verify the request's signature over its CertificationRequestInfo bytes
 * with pkey, under the algorithm alg (decoded from d->sigalg), as
 * X509_REQ_verify() would (RSASSA-PSS parameters included).
 * Errors: SD_E_CSR_SIGNATURE (does not verify, or malformed signature),
 * SD_E_NOMEM.
 */
SD_WUR int csr_der_verify(const struct csr_der *d, const X509_ALGOR *alg, EVP_PKEY *pkey);

#endif
