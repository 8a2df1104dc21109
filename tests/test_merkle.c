/*
 * Merkle tree tests (RFC 9162): the frontier against a reference MTH, the
 * RFC's known empty-tree hash, inclusion and consistency proofs for every
 * size up to 70 and some larger ones, and refusals for a wrong leaf, root,
 * index, size or proof.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "journal/merkle.h"
#include "sd_test.h"

#define MAXLEAVES 300

static uint8_t g_leaves[MAXLEAVES][MERKLE_HASH_LEN];

/* Reference MTH straight from RFC 9162 2.1.1 over leaf hashes [a, b). */
static void
ref_mth(uint64_t a, uint64_t b, uint8_t out[MERKLE_HASH_LEN])	/* NOLINT(misc-no-recursion): the RFC's definition */
{
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	uint64_t k = 1;

	if (b - a == 1) {
		memcpy(out, g_leaves[a], MERKLE_HASH_LEN);
		return;
	}
	while (k < b - a - k)
		k <<= 1;
	ref_mth(a, a + k, l);
	ref_mth(a + k, b, r);
	CU_ASSERT_EQUAL_FATAL(merkle_node_hash(l, r, out), 0);
}

static int
mem_node(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t n = *(uint64_t *)ctx, a = index << level, b = (index + 1) << level;

	if (b > n)
		return sd_error_set(SD_E_NOT_FOUND, "no node %u/%llu", level, (unsigned long long)index);
	ref_mth(a, b, out);
	return 0;
}

static void
make_leaves(void)
{
	uint8_t data[8];
	size_t i;

	for (i = 0; i < MAXLEAVES; i++) {
		memset(data, (int)i, sizeof(data));
		data[0] = (uint8_t)(i >> 8);
		CU_ASSERT_EQUAL_FATAL(merkle_leaf_hash(data, (i % 7) + 1, g_leaves[i]), 0);
	}
}

static void
test_hashes(void)
{
	static const uint8_t empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	/* SHA-256 of the single byte 0x00: the hash of an empty leaf. */
	static const uint8_t leaf0[32] = {
		0x6e, 0x34, 0x0b, 0x9c, 0xff, 0xb3, 0x7a, 0x98, 0x9c, 0xa5, 0x44, 0xe6, 0xbb, 0x78, 0x0a, 0x2c,
		0x78, 0x90, 0x1d, 0x3f, 0xb3, 0x37, 0x38, 0x76, 0x85, 0x11, 0xa3, 0x06, 0x17, 0xaf, 0xa0, 0x1d,
	};
	struct merkle_frontier f;
	uint8_t out[32];

	merkle_frontier_init(&f);
	CU_ASSERT_EQUAL(merkle_frontier_root(&f, out), 0);
	CU_ASSERT(memcmp(out, empty, 32) == 0);
	CU_ASSERT_EQUAL(merkle_leaf_hash(NULL, 0, out), 0);
	CU_ASSERT(memcmp(out, leaf0, 32) == 0);
}

/* The frontier root equals the reference MTH for every size, and reloads from nodes. */
static void
test_frontier(void)
{
	struct merkle_frontier f, g;
	uint8_t done[MERKLE_LEVELS][MERKLE_HASH_LEN], a[32], b[32];
	uint64_t n, ctx;
	unsigned k, level;
	struct merkle_source src = { mem_node, &ctx };

	make_leaves();
	merkle_frontier_init(&f);
	for (n = 1; n <= MAXLEAVES; n++) {
		CU_ASSERT_EQUAL_FATAL(merkle_frontier_add(&f, g_leaves[n - 1], done, &k), 0);
		CU_ASSERT_FATAL(k >= 1);	/* the leaf itself, at least */
		ref_mth(0, n, a);
		CU_ASSERT_EQUAL(merkle_frontier_root(&f, b), 0);
		CU_ASSERT(memcmp(a, b, 32) == 0);
		/* The completed nodes are the aligned subtrees ending at leaf n - 1. */
		for (level = 0; level < k; level++) {
			ref_mth(n - (UINT64_C(1) << level), n, a);
			CU_ASSERT(memcmp(a, done[level], 32) == 0);
		}
		CU_ASSERT_EQUAL(n % (UINT64_C(1) << (k - 1)), 0);
		ctx = n;
		CU_ASSERT_EQUAL(merkle_frontier_load(&src, n, &g), 0);
		CU_ASSERT_EQUAL(merkle_frontier_root(&g, a), 0);
		CU_ASSERT(memcmp(a, b, 32) == 0);
		CU_ASSERT_EQUAL(merkle_range_hash(&src, 0, n, a), 0);
		CU_ASSERT(memcmp(a, b, 32) == 0);
	}
}

static void
test_inclusion(void)
{
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN], root[32], bad[32];
	uint64_t n, m, ctx;
	struct merkle_source src = { mem_node, &ctx };
	size_t len;
	unsigned checked = 0;

	make_leaves();
	for (n = 1; n <= MAXLEAVES; n += (n < 70 ? 1 : 37)) {
		ctx = n;
		ref_mth(0, n, root);
		for (m = 0; m < n; m++) {
			CU_ASSERT_EQUAL_FATAL(merkle_inclusion_proof(&src, m, n, proof, &len), 0);
			CU_ASSERT_EQUAL(merkle_inclusion_verify(m, n, g_leaves[m], proof, len, root), 0);
			/* Wrong leaf, wrong index, wrong root, truncated proof. */
			CU_ASSERT_EQUAL(merkle_inclusion_verify(m, n, g_leaves[(m + 1) % MAXLEAVES], proof, len, root),
			    SD_E_INVAL);
			if (n > 1)
				CU_ASSERT_EQUAL(merkle_inclusion_verify((m + 1) % n, n, g_leaves[m], proof, len, root),
				    SD_E_INVAL);
			memcpy(bad, root, 32);
			bad[5] ^= 1;
			CU_ASSERT_EQUAL(merkle_inclusion_verify(m, n, g_leaves[m], proof, len, bad), SD_E_INVAL);
			if (len > 0)
				CU_ASSERT_EQUAL(merkle_inclusion_verify(m, n, g_leaves[m], proof, len - 1, root),
				    SD_E_INVAL);
			checked++;
		}
		CU_ASSERT_EQUAL(merkle_inclusion_proof(&src, n, n, proof, &len), SD_E_INVAL);
	}
	CU_ASSERT(checked > 2000);
}

static void
test_consistency(void)
{
	uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_LEN], rm[32], rn[32], bad[32];
	uint64_t n, m, ctx;
	struct merkle_source src = { mem_node, &ctx };
	size_t len;
	unsigned checked = 0;

	make_leaves();
	for (n = 1; n <= 140; n += (n < 70 ? 1 : 23)) {
		ctx = n;
		ref_mth(0, n, rn);
		for (m = 1; m <= n; m++) {
			ref_mth(0, m, rm);
			CU_ASSERT_EQUAL_FATAL(merkle_consistency_proof(&src, m, n, proof, &len), 0);
			CU_ASSERT_EQUAL(merkle_consistency_verify(m, n, rm, rn, proof, len), 0);
			memcpy(bad, rm, 32);
			bad[0] ^= 0x80;
			CU_ASSERT_EQUAL(merkle_consistency_verify(m, n, bad, rn, proof, len), SD_E_INVAL);
			memcpy(bad, rn, 32);
			bad[31] ^= 1;
			CU_ASSERT_EQUAL(merkle_consistency_verify(m, n, rm, bad, proof, len), SD_E_INVAL);
			if (len > 0) {
				proof[0][3] ^= 4;
				CU_ASSERT_EQUAL(merkle_consistency_verify(m, n, rm, rn, proof, len), SD_E_INVAL);
			}
			checked++;
		}
		CU_ASSERT_EQUAL(merkle_consistency_proof(&src, 0, n, proof, &len), SD_E_INVAL);
		CU_ASSERT_EQUAL(merkle_consistency_proof(&src, n + 1, n, proof, &len), SD_E_INVAL);
	}
	CU_ASSERT(checked > 2000);
}

int
main(void)
{
	static const struct sd_test_case merkle[] = {
		{ "RFC 9162 leaf and empty-tree hashes", test_hashes },
		{ "frontier root and nodes match the reference MTH, sizes 1..300", test_frontier },
		{ "inclusion proofs verify and fail for wrong leaf/index/root", test_inclusion },
		{ "consistency proofs verify and fail for wrong roots/proof", test_consistency },
	};

	SD_TEST_SUITE("merkle", merkle);
	return sd_test_run("test_merkle");
}
