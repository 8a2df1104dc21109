/*
 * Known-weak subject keys: RSA moduli with the ROCA fingerprint
 * (CVE-2017-15361), RSA moduli that Fermat's method factors quickly
 * (primes too close together), and an operator-supplied blocklist of
 * SubjectPublicKeyInfo SHA-256 hashes (e.g. the Debian 2008 keys).
 */
#ifndef SIGNER_WEAKKEY_H
#define SIGNER_WEAKKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "sd_error.h"

/* Fermat rounds tried: p and q with |p - q| < ~2 * 10 * N^(1/4) are found. */
#define WEAKKEY_FERMAT_ROUNDS 100
/* Entries in a blocklist file. */
#define WEAKKEY_BLOCKLIST_MAX 1000000
#define WEAKKEY_BLOCKLIST_FILE_MAX (80 * 1024 * 1024)

/*
 * True when n has the ROCA fingerprint: for every prime p in the published
 * test set (3 .. 167), n mod p lies in the multiplicative subgroup generated
 * by 65537 mod p (Nemec et al., CCS 2017, and the roca-detect tool).
 */
bool weakkey_roca(const BIGNUM *n);

/*
 * When Fermat's method factors n within WEAKKEY_FERMAT_ROUNDS rounds starting
 * at ceil(sqrt(n)), 1 with *p (optional; BN_free()) a factor; 0 if not found.
 * Errors: SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int weakkey_fermat(const BIGNUM *n, unsigned rounds, BIGNUM **p);

/*
 * RSA checks for pkey (other key types pass): ROCA and Fermat.
 * Errors: SD_E_KEY_REFUSED (with which weakness), SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int weakkey_check(EVP_PKEY *pkey);

struct weakkey_blocklist;

/*
 * Load a blocklist file: one lower- or upper-case hex SHA-256 (64 digits)
 * per line; blank lines and lines starting with '#' are ignored, as is
 * anything after whitespace following the hash (a comment). Read once; the
 * result is read-only and thread-safe to query.
 * Errors: SD_E_IO, SD_E_TOO_LARGE, SD_E_CONFIG (naming the line), SD_E_NOMEM.
 */
SD_WUR int weakkey_blocklist_load(const char *path, struct weakkey_blocklist **out);
void weakkey_blocklist_free(struct weakkey_blocklist *bl);

/* Number of distinct hashes loaded. */
size_t weakkey_blocklist_count(const struct weakkey_blocklist *bl);

/* Whether sha256 (32 bytes) is listed; false for a NULL list. */
bool weakkey_blocklist_has(const struct weakkey_blocklist *bl, const uint8_t sha256[32]);

#endif
