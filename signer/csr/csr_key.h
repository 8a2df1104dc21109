/*
 * CSR subject keys: decoding a SubjectPublicKeyInfo into an EVP_PKEY (straight
 * from the bytes for the canonical encodings of accepted types), the subject
 * key policy, and key types read from the DER.
 */
#ifndef SIGNER_CSR_KEY_H
#define SIGNER_CSR_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sd_error.h"

#define CSR_RSA_MIN_DEFAULT 2048
#define CSR_RSA_MAX 8192

/*
 * The public key of a DER SubjectPublicKeyInfo of exactly len bytes. The
 * canonical encoding of an RSA, P-256, P-384, P-521 or Ed25519 key is
 * built directly (an EC point must lie on its curve); any other is left to
 * OpenSSL's decoder, so that the key policy can name what it is. *out
 * (EVP_PKEY_free()) is set on success only; the key is not yet checked
 * against the policy (csr_check_key()).
 * Errors: SD_E_KEY_REFUSED (malformed, or of a type OpenSSL does not know).
 */
SD_WUR int csr_key_decode(const uint8_t *spki, size_t len, EVP_PKEY **out);

/*
 * Subject key policy: RSA of rsa_min_bits (0 means CSR_RSA_MIN_DEFAULT) to
 * CSR_RSA_MAX bits with exponent 65537; EC on P-256, P-384 or P-521 with a
 * valid point; Ed25519. Errors: SD_E_KEY_REFUSED (with the reason), SD_E_NOMEM.
 */
SD_WUR int csr_check_key(EVP_PKEY *pkey, unsigned rsa_min_bits);

/* The enum config_key_type bit of an accepted key (csr_check_key()), 0 for any other. */
unsigned csr_key_type(EVP_PKEY *pkey);

/*
 * The enum config_key_type bit of a DER SubjectPublicKeyInfo, read without
 * decoding the key: its AlgorithmIdentifier must be byte for byte the
 * canonical one of an accepted type (rsaEncryption with NULL parameters,
 * id-ecPublicKey with the named curve P-256, P-384 or P-521, id-Ed25519
 * without parameters) and the key must have that type's shape (RSA: a DER
 * SEQUENCE of two positive INTEGERs in shortest form; EC: an uncompressed or
 * compressed point of the curve's size; Ed25519: 32 octets). 0 for anything
 * else.
 */
unsigned csr_spki_key_type(const uint8_t *spki, size_t len);

/* A short name for a key type bit: "RSA", "P-256", "P-384", "P-521", "Ed25519", "?". */
const char *csr_key_type_name(unsigned key_type);

#endif
