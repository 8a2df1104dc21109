/*
 * Merkle trees per RFC 9162 section 2.1: leaf hash SHA-256(0x00 || data),
 * node hash SHA-256(0x01 || left || right), inclusion and consistency proofs.
 *
 * Trees are read through a merkle_source: a function returning the hash of
 * one aligned complete subtree (level L, index i covers leaves
 * [i * 2^L, (i + 1) * 2^L)). The journal stores exactly those nodes, so
 * roots and proofs cost O(log^2 n) lookups. A merkle_frontier keeps the
 * complete subtrees of the binary decomposition of the current size, so
 * appending a leaf and computing the root are O(log n) without lookups.
 */
#ifndef SIGNER_MERKLE_H
#define SIGNER_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define MERKLE_HASH_LEN 32
#define MERKLE_LEVELS 64
/* Longest inclusion or consistency proof for any tree of up to 2^64 - 1 leaves. */
#define MERKLE_PROOF_MAX 128

struct merkle_source {
	/* Hash of the complete subtree (level, index). Errors: any SD_E_* (passed through). */
	int (*node)(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);
	void *ctx;
};

/* The complete subtrees of size's binary decomposition; h[L] is valid when bit L of size is set. */
struct merkle_frontier {
	uint64_t size;
	uint8_t h[MERKLE_LEVELS][MERKLE_HASH_LEN];
};

/* Plain SHA-256(data) (data may be NULL when len is 0). Errors: SD_E_CRYPTO. */
SD_WUR int merkle_sha256(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256(0x00 || data). Errors: SD_E_CRYPTO. */
SD_WUR int merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);

/* SHA-256(0x01 || left || right). Errors: SD_E_CRYPTO. */
SD_WUR int merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN]);

/* An empty frontier. */
void merkle_frontier_init(struct merkle_frontier *f);

/*
 * Append one leaf hash. The subtrees it completes are written to done[0..*n)
 * (done[k] is the level-k node ending at the new leaf; done[0] is the leaf
 * itself), so that a store can keep them. done may be NULL.
 * Errors: SD_E_TOO_LARGE (2^64 - 1 leaves), SD_E_CRYPTO.
 */
SD_WUR int merkle_frontier_add(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
    uint8_t done[MERKLE_LEVELS][MERKLE_HASH_LEN], unsigned *n);

/* MTH of the f->size leaves (SHA-256 of "" when empty). Errors: SD_E_CRYPTO. */
SD_WUR int merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN]);

/* Load the frontier for size from src. Errors: those of src. */
SD_WUR int merkle_frontier_load(const struct merkle_source *src, uint64_t size, struct merkle_frontier *f);

/* MTH(D[start:end]) from src (start < end). Errors: SD_E_INVAL, those of src, SD_E_CRYPTO. */
SD_WUR int merkle_range_hash(const struct merkle_source *src, uint64_t start, uint64_t end,
    uint8_t out[MERKLE_HASH_LEN]);

/*
 * RFC 9162 2.1.3.1 PATH(index, D[0:size]). proof must hold MERKLE_PROOF_MAX
 * hashes. Errors: SD_E_INVAL (index >= size), those of src, SD_E_CRYPTO.
 */
SD_WUR int merkle_inclusion_proof(const struct merkle_source *src, uint64_t index, uint64_t size,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *n);

/*
 * RFC 9162 2.1.3.2. 0 when proof shows leaf at index in the tree of size
 * with root. Errors: SD_E_INVAL (it does not), SD_E_CRYPTO.
 */
SD_WUR int merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
    const uint8_t proof[][MERKLE_HASH_LEN], size_t n, const uint8_t root[MERKLE_HASH_LEN]);

/*
 * RFC 9162 2.1.4.1 PROOF(m, D[0:n]), 0 < m <= n. proof must hold
 * MERKLE_PROOF_MAX hashes. Errors: SD_E_INVAL, those of src, SD_E_CRYPTO.
 */
SD_WUR int merkle_consistency_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *count);

/*
 * RFC 9162 2.1.4.2. 0 when proof shows the tree of size m with root_m is a
 * prefix of the tree of size n with root_n. Errors: SD_E_INVAL (it is not), SD_E_CRYPTO.
 */
SD_WUR int merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH_LEN],
    const uint8_t root_n[MERKLE_HASH_LEN], const uint8_t proof[][MERKLE_HASH_LEN], size_t count);

#endif
