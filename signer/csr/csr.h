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

#include "csr_key.h"
#include "sd_error.h"
#include "x509/x509_ext.h"

#define CSR_SAN_MAX 100		/* subjectAltName entries accepted */
#define CSR_CN_MAX 64		/* ub-common-name (RFC 5280) */
#define CSR_DER_MAX 12288	/* DER bytes (what a SIGNER_CSR_MAX PEM can hold) */
#define CSR_ATTR_MAX 16		/* subject attributes */
#define CSR_ATTR_VALUE_MAX 128	/* longest upper bound of a kept attribute (ub-locality-name) */

/* One subject attribute of a type a profile may let pass (enum config_subject_attr). */
struct csr_attr {
	unsigned type;				/* one CONFIG_SUBJ_* bit */
	int nid;
	char value[CSR_ATTR_VALUE_MAX + 1];	/* UTF-8, no control characters, within the type's bound */
};

struct csr {
	EVP_PKEY *pubkey;
	const uint8_t *spki;		/* DER SubjectPublicKeyInfo: the CSR's own bytes, canonical (csr_spki_key_type()) */
	size_t spki_len;
	unsigned char *der;		/* the CSR's DER (spki points into it) */
	unsigned char *spki_enc;	/* or OpenSSL's re-encoding of pubkey, when the CSR's was not canonical */
	uint8_t sha256[32];		/* SHA-256 of the CSR DER */
	unsigned key_type;		/* one enum config_key_type bit */
	bool has_cn;			/* exactly one CN, UTF-8, no NUL, <= CSR_CN_MAX bytes */
	char cn[CSR_CN_MAX + 1];
	struct csr_attr attrs[CSR_ATTR_MAX];	/* subject attributes of kept types, in CSR order */
	size_t n_attrs;
	struct x509_san *sans;			/* as requested, n_sans of them: not yet checked against policy */
	size_t n_sans;
	size_t sans_cap;			/* entries allocated (<= CSR_SAN_MAX) */
};

/*
 * Parse a PEM CSR of len bytes (one "CERTIFICATE REQUEST" or "NEW
 * CERTIFICATE REQUEST" object, only whitespace around it), check its subject
 * key (csr_check_key(), then weakkey_check(): ROCA, Fermat), refuse a
 * signature algorithm with SHA-1 or weaker, verify its self-signature (proof
 * of possession), hash its DER, check every subject attribute (valid
 * UTF-8, no NUL or control character, within its upper bound) and extract
 * the CN, the attributes a profile may keep, and the DNS, IP, URI and e-mail
 * SANs. *out (csr_free()) is set on success only.
 * Errors: SD_E_TOO_LARGE (len > SIGNER_CSR_MAX, DER > CSR_DER_MAX, too many
 * SANs), SD_E_CSR (not one PEM CSR, malformed DER, a malformed known
 * extension, an extension requested twice), SD_E_KEY_REFUSED,
 * SD_E_CSR_SIGNATURE (does not verify, or SHA-1 or weaker), SD_E_NAME_REFUSED
 * (a SAN type other than DNS, IP, URI or e-mail, an over-long name, a bad
 * subject attribute), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int csr_parse(const char *pem, size_t len, unsigned rsa_min_bits, struct csr **out);
void csr_free(struct csr *csr);

#endif
