/*
 * Certificate extensions, built with OpenSSL's X509V3 structures and
 * appended to a STACK_OF(X509_EXTENSION) that the TBS builder encodes.
 */
#ifndef SIGNER_X509_EXT_H
#define SIGNER_X509_EXT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "base/der.h"
#include "sd_error.h"

/* SHA-1 key identifier length (RFC 5280 4.2.1.2, method 1). */
#define X509_KEYID_LEN 20
/* Longest key identifier accepted from an existing certificate. */
#define X509_KEYID_MAX 64

/* Longest DNS name (RFC 1035 presentation form without the trailing dot). */
#define X509_DNS_MAX 253
/* Longest text SAN value (DNS, URI, e-mail); SPIFFE IDs may be 2048 bytes. */
#define X509_SAN_NAME_MAX 2048

enum x509_san_type {
	X509_SAN_DNS = 1,
	X509_SAN_IP = 2,
	X509_SAN_URI = 3,
	X509_SAN_EMAIL = 4,
};

/* One subjectAltName entry. */
struct x509_san {
	enum x509_san_type type;
	char name[X509_SAN_NAME_MAX + 1];	/* DNS, URI, EMAIL: name_len bytes, NUL-terminated (may hold NUL if hostile) */
	size_t name_len;
	uint8_t ip[16];			/* X509_SAN_IP: 4 or 16 bytes */
	size_t ip_len;
};

/*
 * Each x509_ext_add_* function appends one new extension to exts.
 * Errors: SD_E_INVAL (bad argument), SD_E_CRYPTO, SD_E_NOMEM.
 */

/* basicConstraints, critical: cA = ca; pathLenConstraint = path_len when ca and path_len >= 0. */
SD_WUR int x509_ext_add_basic_constraints(STACK_OF(X509_EXTENSION) *exts, bool ca, int path_len);

/* keyUsage, critical, from enum config_key_usage bits (at least one). */
SD_WUR int x509_ext_add_key_usage(STACK_OF(X509_EXTENSION) *exts, unsigned ku);

/* extendedKeyUsage, not critical, from enum config_ext_key_usage bits (at least one). */
SD_WUR int x509_ext_add_ext_key_usage(STACK_OF(X509_EXTENSION) *exts, unsigned eku);

/*
 * The two marks of a delegated OCSP responder (RFC 6960 4.2.2.2): extendedKeyUsage
 * with id-kp-OCSPSigning alone, and id-pkix-ocsp-nocheck (NULL), both not critical.
 */
SD_WUR int x509_ext_add_ocsp_signing(STACK_OF(X509_EXTENSION) *exts);

/* subjectKeyIdentifier, not critical. */
SD_WUR int x509_ext_add_ski(STACK_OF(X509_EXTENSION) *exts, const uint8_t *keyid, size_t len);

/* authorityKeyIdentifier with only keyIdentifier, not critical. */
SD_WUR int x509_ext_add_aki(STACK_OF(X509_EXTENSION) *exts, const uint8_t *keyid, size_t len);

/* subjectAltName from n (>= 1) entries; critical when the subject is empty (RFC 5280 4.2.1.6). */
SD_WUR int x509_ext_add_san(STACK_OF(X509_EXTENSION) *exts, const struct x509_san *sans, size_t n, bool critical);

/* One subtree of a name constraint: a DNS name, or an IP address with a prefix length. */
struct x509_subtree {
	enum x509_san_type type;	/* X509_SAN_DNS or X509_SAN_IP */
	const char *dns;
	uint8_t ip[16];
	size_t ip_len;			/* 4 or 16 */
	unsigned prefix;		/* bits */
};

/* nameConstraints, critical (RFC 5280 4.2.1.10); at least one subtree in all. */
SD_WUR int x509_ext_add_name_constraints(STACK_OF(X509_EXTENSION) *exts, const struct x509_subtree *permitted,
    size_t n_permitted, const struct x509_subtree *excluded, size_t n_excluded);

/* cRLDistributionPoints with one distributionPoint fullName URI, not critical. */
SD_WUR int x509_ext_add_crl_dp(STACK_OF(X509_EXTENSION) *exts, const char *url);

/* freshestCRL (RFC 5280 5.2.6: where the delta CRLs are), one fullName URI, not critical. */
SD_WUR int x509_ext_add_freshest_crl(STACK_OF(X509_EXTENSION) *exts, const char *url);

/* authorityInfoAccess with ocsp and/or caIssuers URIs (either NULL, not both), not critical. */
SD_WUR int x509_ext_add_aia(STACK_OF(X509_EXTENSION) *exts, const char *ocsp_url, const char *ca_issuers_url);

/*
 * RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey BIT STRING
 * value (no tag, length or unused-bits octet) of the DER SubjectPublicKeyInfo.
 * Errors: SD_E_INVAL (not an SPKI), SD_E_CRYPTO.
 */
SD_WUR int x509_ext_key_id(const uint8_t *spki, size_t spki_len, uint8_t keyid[X509_KEYID_LEN]);

/*
 * Split a DER SubjectPublicKeyInfo of exactly spki_len bytes, read with
 * der_read() and not decoded: *algid is its AlgorithmIdentifier TLV (a
 * SEQUENCE starting with an OBJECT IDENTIFIER), *key the subjectPublicKey
 * BIT STRING content after its unused-bits octet, which must be 0, with at
 * least one octet. All borrow spki. Errors: SD_E_INVAL.
 */
SD_WUR int x509_spki_split(const uint8_t *spki, size_t spki_len, struct der_tlv *algid, const uint8_t **key,
    size_t *key_len);

/*
 * Decode one part found by der_read() (a struct der_tlv) with OpenSSL's
 * d2i_<type>(): out is the decoded value, or NULL unless the decoding took
 * exactly the part's bytes. Used where a hot path hands OpenSSL one field
 * at a time instead of the whole structure.
 */
#define X509_D2I_PART(type, part, out) do { \
	const unsigned char *x509_p_ = (part).tlv; \
	(out) = (part).tlv_len <= LONG_MAX ? d2i_##type(NULL, &x509_p_, (long)(part).tlv_len) : NULL; \
	if ((out) != NULL && x509_p_ != (part).tlv + (part).tlv_len) { \
		type##_free(out); \
		(out) = NULL; \
	} \
} while (0)
/* OpenSSL has d2i_ and i2d_X509_EXTENSIONS but no _free; this completes the set for X509_D2I_PART. */
#define X509_EXTENSIONS_free(exts) sk_X509_EXTENSION_pop_free((exts), X509_EXTENSION_free)

#endif
