/*
 * Signature algorithms of the keys signerd signs with: which
 * AlgorithmIdentifier goes into the certificate, which HSM mechanism and
 * hash make the signature, how the HSM input is formed from the TBS, and how
 * the HSM output becomes the certificate's signature BIT STRING content.
 * Pure functions: nothing here talks to the HSM (see sign_tbs.h).
 */
#ifndef SIGNER_X509_SIGALG_H
#define SIGNER_X509_SIGALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm.h"
#include "sd_error.h"

/* Largest HSM input formed from a TBS: a SHA-512 DigestInfo (19 + 64 bytes). */
#define X509_SIGALG_INPUT_MAX 83

struct x509_sigalg {
	enum hsm_key_type key_type;
	const char *name;		/* e.g. "sha256WithRSAEncryption" */
	const uint8_t *algid;		/* DER AlgorithmIdentifier, static */
	size_t algid_len;
	enum hsm_mech mech;
	enum hsm_hash hash;
	const char *digest;		/* OpenSSL digest name; NULL: the whole TBS is signed (EdDSA) */
	size_t sig_len;			/* exact length of the HSM's signature */
};

/*
 * The algorithm for keys of type, a pointer to a static entry.
 * Errors: SD_E_UNSUPPORTED.
 */
SD_WUR int x509_sigalg_for(enum hsm_key_type type, const struct x509_sigalg **out);

/*
 * As x509_sigalg_for(), or with pss the RSASSA-PSS algorithm for an RSA key
 * (RFC 4055 explicit parameters: the key size's hash, MGF1 with the same
 * hash, salt length = hash length, default trailer field).
 * Errors: SD_E_UNSUPPORTED (pss with a key that is not RSA).
 */
SD_WUR int x509_sigalg_for_scheme(enum hsm_key_type type, bool pss, const struct x509_sigalg **out);

/*
 * The bytes to hand to hsm_sign() for tbs: a DER DigestInfo (RSA PKCS#1
 * v1.5), a digest (ECDSA, RSA-PSS) or tbs itself (EdDSA). *in points either into buf
 * (X509_SIGALG_INPUT_MAX bytes) or at tbs; both borrowed.
 * Errors: SD_E_INVAL, SD_E_CRYPTO.
 */
SD_WUR int x509_sigalg_hsm_input(const struct x509_sigalg *alg, const uint8_t *tbs, size_t tbs_len,
    uint8_t buf[X509_SIGALG_INPUT_MAX], const uint8_t **in, size_t *in_len);

/*
 * DER DigestInfo for digest made with hash, written to out (cap bytes).
 * Errors: SD_E_INVAL (digest length does not match, out too small).
 */
SD_WUR int x509_sigalg_digestinfo(enum hsm_hash hash, const uint8_t *digest, size_t digest_len,
    uint8_t *out, size_t cap, size_t *out_len);

/*
 * Turn the HSM's raw signature into the content of the certificate's
 * signature BIT STRING: a copy for RSA and EdDSA, a DER ECDSA-Sig-Value for
 * ECDSA's r || s. *sig is new (free with free()).
 * Errors: SD_E_HSM (wrong length, r or s zero), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int x509_sigalg_finish(const struct x509_sigalg *alg, const uint8_t *raw, size_t raw_len,
    uint8_t **sig, size_t *sig_len);

/*
 * DER ECDSA-Sig-Value for r || s (two halves of equal length, big-endian,
 * leading zeros allowed). *der is new (free with free()).
 * Errors: SD_E_INVAL (odd or zero length, r or s zero), SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int x509_sigalg_ecdsa_to_der(const uint8_t *rs, size_t rs_len, uint8_t **der, size_t *der_len);

#endif
