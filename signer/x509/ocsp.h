/*
 * OCSP (RFC 6960, in the RFC 5019 profile) signed in the HSM. Requests are
 * decoded by OpenSSL into plain, bounded structs. A response's
 * tbsResponseData is composed from OpenSSL-encoded parts (as x509_tbs.c
 * composes a TBSCertificate), signed with x509_sign_tbs(), wrapped in a
 * BasicOCSPResponse and an OCSPResponse, then parsed back by OpenSSL,
 * re-encoded to the same bytes and verified before it is returned.
 */
#ifndef SIGNER_OCSP_H
#define SIGNER_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm.h"
#include "sd_error.h"
#include "x509_sigalg.h"

#define OCSP_REQUEST_MAX 8192		/* bytes of a DER OCSPRequest (RFC 5019 ones are about 100) */
#define OCSP_REQUEST_IDS_MAX 8		/* certificates asked about in one request */
#define OCSP_NONCE_MAX 32		/* octets of a nonce (RFC 8954: 1 to 32) */
#define OCSP_HASH_MAX 64		/* octets of the longest CertID hash (SHA-512) */
#define OCSP_SERIAL_MAX 20		/* octets of a serial (RFC 5280 4.1.2.2) */
#define OCSP_CERTID_MAX 256		/* bytes of a DER CertID within the limits above */
#define OCSP_NO_REASON 0xff		/* revoked without a revocationReason */

/* The hash algorithms of a CertID that are understood. */
enum ocsp_hash {
	OCSP_HASH_SHA1 = 1,
	OCSP_HASH_SHA256 = 2,
	OCSP_HASH_SHA384 = 3,
	OCSP_HASH_SHA512 = 4,
};

/* One CertID: which certificate, named by its issuer's hashes and its serial. */
struct ocsp_certid {
	enum ocsp_hash hash;
	uint8_t name_hash[OCSP_HASH_MAX];	/* hash of the issuer's DER subject Name */
	uint8_t key_hash[OCSP_HASH_MAX];	/* hash of the issuer's subjectPublicKey BIT STRING content */
	size_t hash_len;			/* the digest length of hash, for both */
	uint8_t serial[OCSP_SERIAL_MAX];	/* big-endian magnitude; no octet for serial 0 */
	size_t serial_len;
	uint8_t der[OCSP_CERTID_MAX];		/* the CertID as DER, echoed in the response */
	size_t der_len;
};

/* A decoded OCSPRequest. */
struct ocsp_request {
	struct ocsp_certid ids[OCSP_REQUEST_IDS_MAX];
	size_t n_ids;				/* 1 to OCSP_REQUEST_IDS_MAX */
	uint8_t nonce[OCSP_NONCE_MAX];		/* the content of the nonce OCTET STRING */
	size_t nonce_len;			/* 0: no nonce extension */
	bool is_signed;				/* had a signature, which was not checked */
};

enum ocsp_cert_status {
	OCSP_CERT_GOOD = 0,
	OCSP_CERT_REVOKED = 1,
	OCSP_CERT_UNKNOWN = 2,
};

/* One answer: a SingleResponse. */
struct ocsp_single {
	struct ocsp_certid id;			/* from a request, or ocsp_certid_for() */
	enum ocsp_cert_status status;
	int64_t revoked_at;			/* OCSP_CERT_REVOKED: Unix seconds */
	uint8_t reason;				/* OCSP_CERT_REVOKED: CRLReason (0..10 but 7), or OCSP_NO_REASON */
	int64_t this_update, next_update;	/* Unix seconds; next_update > this_update (RFC 5019 2.2.4) */
};

/* OCSPResponseStatus values of a response without responseBytes. */
enum ocsp_response_status {
	OCSP_MALFORMED_REQUEST = 1,
	OCSP_INTERNAL_ERROR = 2,
	OCSP_TRY_LATER = 3,
	OCSP_SIG_REQUIRED = 5,
	OCSP_UNAUTHORIZED = 6,
};

/*
 * Decode the DER OCSPRequest der (len bytes): each requested CertID
 * (hash algorithm, issuer name and key hashes, serial, and its DER) and
 * the nonce. A signature on the request is accepted and not checked. The
 * request's optional singleRequestExtensions and non-critical extensions
 * other than the nonce are ignored. *out is new (ocsp_request_free()), set
 * on success only. Thread-safe.
 * Errors: SD_E_TOO_LARGE (over OCSP_REQUEST_MAX bytes), SD_E_INVAL (not
 * one DER OCSPRequest, trailing bytes, no request or more than
 * OCSP_REQUEST_IDS_MAX, a hash of the wrong length, a serial that is
 * negative or over OCSP_SERIAL_MAX octets, a nonce that is not an OCTET
 * STRING of 1 to OCSP_NONCE_MAX octets or is given twice, a critical
 * extension other than the nonce), SD_E_UNSUPPORTED (a hash algorithm
 * other than SHA-1, SHA-256, SHA-384, SHA-512), SD_E_NOMEM.
 */
SD_WUR int ocsp_request_parse(const uint8_t *der, size_t len, struct ocsp_request **out);
void ocsp_request_free(struct ocsp_request *req);

/*
 * The CertID for the certificate with serial (big-endian magnitude,
 * 1 to OCSP_SERIAL_MAX octets) issued by ca, with hash: what a client
 * sends for it (OCSP_cert_to_id()), for answers made without a request.
 * Errors: SD_E_INVAL, SD_E_UNSUPPORTED (hash), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int ocsp_certid_for(X509 *ca, enum ocsp_hash hash, const uint8_t *serial, size_t serial_len,
    struct ocsp_certid *out);

/*
 * *match: whether id names ca as the issuer, i.e. its issuer name hash and
 * key hash are, with id's hash algorithm, those of ca's DER subject and of
 * the content of its subjectPublicKey BIT STRING. The serial is not looked
 * at. Errors: SD_E_INVAL, SD_E_CRYPTO (*match is false then).
 */
SD_WUR int ocsp_certid_is_issued_by(const struct ocsp_certid *id, X509 *ca, bool *match);

/*
 * Build, sign with key (alg NULL: the default for key's type; else it must
 * fit the key) and check a successful OCSPResponse with a
 * BasicOCSPResponse: version v1 (omitted), responderID byKey (SHA-1 of
 * responder_cert's subjectPublicKey content), producedAt, the n answers in
 * order (1 to OCSP_REQUEST_IDS_MAX; GeneralizedTime throughout; a reason
 * of 0 is written, as OCSP has no rule against it), the nonce extension
 * when nonce_len > 0 (1 to OCSP_NONCE_MAX octets), and certs holding
 * responder_cert. responder_cert is the CA certificate itself or a
 * delegated responder's (ceremony_ocsp_responder()), and its public key
 * must be verify_key, the public key of key. The result is parsed back,
 * its tbsResponseData re-encoded to the bytes signed, its responder found
 * in certs by responderID and its signature verified with verify_key.
 * *der (free()) is set on success only.
 * Errors: SD_E_INVAL (a bad answer: status, reason, times, CertID; a bad
 * nonce, n, a responder certificate whose key is not verify_key, alg for
 * another key type), those of x509_sign_tbs(), SD_E_INTERNAL (the check
 * failed), SD_E_TOO_LARGE, SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int ocsp_response_sign(struct hsm_key *key, const struct x509_sigalg *alg, X509 *responder_cert,
    const struct ocsp_single *answers, size_t n, int64_t produced_at, const uint8_t *nonce, size_t nonce_len,
    EVP_PKEY *verify_key, uint8_t **der, size_t *len);

/*
 * An unsigned OCSPResponse with status (enum ocsp_response_status) and no
 * responseBytes, as RFC 6960 4.2.1 has for every status but successful.
 * *der (free()) is set on success only. Errors: SD_E_INVAL (status),
 * SD_E_NOMEM.
 */
SD_WUR int ocsp_error_response(int status, uint8_t **der, size_t *len);

#endif
