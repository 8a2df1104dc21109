/*
 * RFC 9162 Merkle tree hashing and proofs. Proof generation follows the
 * recursive definitions of 2.1.3.1 and 2.1.4.1 (written as loops that collect
 * the path top-down and then reverse it); verification follows 2.1.3.2 and
 * 2.1.4.2 step by step.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "merkle.h"

/*
 * SHA-256 fetched once. With EVP_sha256(), OpenSSL 3 looks the
 * implementation up in its provider store (locks and a hash table) on every
 * digest, which costs as much as hashing a short record; the journal hashes
 * each record two to four times inside its commit. Kept for the life of
 * the process; if the fetch fails, digests fall back to EVP_sha256().
 */
static EVP_MD *merkle_md;
static pthread_once_t merkle_md_once = PTHREAD_ONCE_INIT;

static void
merkle_md_fetch(void)
{
	merkle_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
merkle_sha256_md(void)
{
	if (pthread_once(&merkle_md_once, merkle_md_fetch) != 0 || merkle_md == NULL)
		return EVP_sha256();
	return merkle_md;
}

int
merkle_sha256(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, merkle_sha256_md(), NULL) != 1 || n != MERKLE_HASH_LEN)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 failed");
	return 0;
}

int
merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return sd_error_set(SD_E_CRYPTO, "merkle: cannot allocate a digest");
	ok = EVP_DigestInit_ex(ctx, merkle_sha256_md(), NULL) == 1 && EVP_DigestUpdate(ctx, &prefix, 1) == 1 &&
	    (len == 0 || EVP_DigestUpdate(ctx, data, len) == 1) && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
	    n == MERKLE_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : sd_error_set(SD_E_CRYPTO, "merkle: SHA-256 of a leaf failed");
}

int
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
    uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];
	unsigned int n = 0;

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	if (EVP_Digest(buf, sizeof(buf), out, &n, merkle_sha256_md(), NULL) != 1 || n != MERKLE_HASH_LEN)
		return sd_error_set(SD_E_CRYPTO, "merkle: SHA-256 of a node failed");
	return 0;
}

void
merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int
merkle_frontier_add(struct merkle_frontier *f, const uint8_t leaf[MERKLE_HASH_LEN],
    uint8_t done[MERKLE_LEVELS][MERKLE_HASH_LEN], unsigned *n)
{
	uint8_t carry[MERKLE_HASH_LEN];
	unsigned level = 0;
	int rc;

	if (n != NULL)
		*n = 0;
	if (f->size == UINT64_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "merkle: tree is full");
	memcpy(carry, leaf, MERKLE_HASH_LEN);
	if (done != NULL)
		memcpy(done[0], carry, MERKLE_HASH_LEN);
	/* A binary counter: each set low bit is a complete subtree that merges with the carry. */
	while (level < MERKLE_LEVELS - 1 && (f->size >> level & 1) != 0) {
		if ((rc = merkle_node_hash(f->h[level], carry, carry)) != 0)
			return rc;
		level++;
		if (done != NULL)
			memcpy(done[level], carry, MERKLE_HASH_LEN);
	}
	memcpy(f->h[level], carry, MERKLE_HASH_LEN);
	f->size++;
	if (n != NULL)
		*n = level + 1;
	return 0;
}

int
merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t acc[MERKLE_HASH_LEN];
	unsigned level;
	bool have = false;
	int rc;

	if (f->size == 0) {
		if (merkle_sha256(NULL, 0, out) != 0)
			return sd_error_set(SD_E_CRYPTO, "merkle: SHA-256 failed");
		return 0;
	}
	for (level = 0; level < MERKLE_LEVELS; level++) {
		if ((f->size >> level & 1) == 0)
			continue;
		if (!have) {
			memcpy(acc, f->h[level], MERKLE_HASH_LEN);
			have = true;
		} else if ((rc = merkle_node_hash(f->h[level], acc, acc)) != 0) {
			return rc;
		}
	}
	memcpy(out, acc, MERKLE_HASH_LEN);
	return 0;
}

int
merkle_frontier_load(const struct merkle_source *src, uint64_t size, struct merkle_frontier *f)
{
	uint64_t start = 0;
	int level, rc;

	merkle_frontier_init(f);
	for (level = MERKLE_LEVELS - 1; level >= 0; level--) {
		if ((size >> level & 1) == 0)
			continue;
		if ((rc = src->node(src->ctx, (unsigned)level, start >> level, f->h[level])) != 0)
			return rc;
		start += UINT64_C(1) << level;
	}
	f->size = size;
	return 0;
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t
merkle_split(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

/* n is a power of two (1, 2, 4 ...); 0 is not. */
static bool
merkle_is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static unsigned
merkle_log2(uint64_t n)
{
	unsigned l = 0;

	while (n > 1) {
		n >>= 1;
		l++;
	}
	return l;
}

/* Recursive, at most 128 deep: within two calls the range of 64-bit leaf indexes at least halves. */
int
merkle_range_hash(const struct merkle_source *src, uint64_t start, uint64_t end, uint8_t out[MERKLE_HASH_LEN]) /* NOLINT(misc-no-recursion) */
{
	uint8_t left[MERKLE_HASH_LEN], right[MERKLE_HASH_LEN];
	uint64_t n, k;
	int rc;

	if (start >= end)
		return sd_error_set(SD_E_INVAL, "merkle: empty range %llu..%llu", (unsigned long long)start,
		    (unsigned long long)end);
	n = end - start;
	if (merkle_is_pow2(n) && start % n == 0)
		return src->node(src->ctx, merkle_log2(n), start / n, out);
	k = merkle_split(n);
	if ((rc = merkle_range_hash(src, start, start + k, left)) != 0 ||
	    (rc = merkle_range_hash(src, start + k, end, right)) != 0)
		return rc;
	return merkle_node_hash(left, right, out);
}

static void
merkle_reverse(uint8_t proof[][MERKLE_HASH_LEN], size_t n)
{
	uint8_t tmp[MERKLE_HASH_LEN];
	size_t i;

	for (i = 0; i < n / 2; i++) {
		memcpy(tmp, proof[i], MERKLE_HASH_LEN);
		memcpy(proof[i], proof[n - 1 - i], MERKLE_HASH_LEN);
		memcpy(proof[n - 1 - i], tmp, MERKLE_HASH_LEN);
	}
}

int
merkle_inclusion_proof(const struct merkle_source *src, uint64_t index, uint64_t size,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *n)
{
	uint64_t start = 0, end = size, k;
	int rc;

	*n = 0;
	if (index >= size)
		return sd_error_set(SD_E_INVAL, "merkle: leaf %llu is not in a tree of %llu leaves",
		    (unsigned long long)index, (unsigned long long)size);
	while (end - start > 1) {
		if (*n >= MERKLE_PROOF_MAX)
			abort();
		k = merkle_split(end - start);
		if (index - start < k) {
			rc = merkle_range_hash(src, start + k, end, proof[*n]);
			end = start + k;
		} else {
			rc = merkle_range_hash(src, start, start + k, proof[*n]);
			start += k;
		}
		if (rc != 0)
			return rc;
		(*n)++;
	}
	merkle_reverse(proof, *n);
	return 0;
}

int
merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
    const uint8_t proof[][MERKLE_HASH_LEN], size_t n, const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i;
	int rc;

	if (index >= size)
		return sd_error_set(SD_E_INVAL, "inclusion proof: leaf %llu is not in a tree of %llu leaves",
		    (unsigned long long)index, (unsigned long long)size);
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (i = 0; i < n; i++) {
		if (sn == 0)
			return sd_error_set(SD_E_INVAL, "inclusion proof: %zu hashes, too many", n);
		if ((fn & 1) != 0 || fn == sn) {
			if ((rc = merkle_node_hash(proof[i], r, r)) != 0)
				return rc;
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if ((rc = merkle_node_hash(r, proof[i], r)) != 0) {
			return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return sd_error_set(SD_E_INVAL, "inclusion proof: %zu hashes, too few", n);
	if (memcmp(r, root, MERKLE_HASH_LEN) != 0)
		return sd_error_set(SD_E_INVAL, "inclusion proof: the computed root does not match");
	return 0;
}

int
merkle_consistency_proof(const struct merkle_source *src, uint64_t m, uint64_t n,
    uint8_t proof[][MERKLE_HASH_LEN], size_t *count)
{
	uint64_t start = 0, end = n, k;
	bool b = true;
	int rc;

	*count = 0;
	if (m == 0 || m > n)
		return sd_error_set(SD_E_INVAL, "merkle: no consistency proof from size %llu to %llu",
		    (unsigned long long)m, (unsigned long long)n);
	/* m counts leaves from start within [start, end). */
	for (;;) {
		if (*count >= MERKLE_PROOF_MAX)
			abort();
		if (m == end - start) {
			if (!b) {
				if ((rc = merkle_range_hash(src, start, end, proof[*count])) != 0)
					return rc;
				(*count)++;
			}
			break;
		}
		k = merkle_split(end - start);
		if (m <= k) {
			rc = merkle_range_hash(src, start + k, end, proof[*count]);
			end = start + k;
		} else {
			rc = merkle_range_hash(src, start, start + k, proof[*count]);
			m -= k;
			start += k;
			b = false;
		}
		if (rc != 0)
			return rc;
		(*count)++;
	}
	merkle_reverse(proof, *count);
	return 0;
}

int
merkle_consistency_verify(uint64_t m, uint64_t n, const uint8_t root_m[MERKLE_HASH_LEN],
    const uint8_t root_n[MERKLE_HASH_LEN], const uint8_t proof[][MERKLE_HASH_LEN], size_t count)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	const uint8_t *c;
	uint64_t fn, sn;
	size_t i, first;
	int rc;

	if (m == 0 || m > n)
		return sd_error_set(SD_E_INVAL, "consistency proof: sizes %llu and %llu", (unsigned long long)m,
		    (unsigned long long)n);
	if (m == n) {
		if (count != 0 || memcmp(root_m, root_n, MERKLE_HASH_LEN) != 0)
			return sd_error_set(SD_E_INVAL, "consistency proof: equal sizes with different roots or a proof");
		return 0;
	}
	if (count == 0)
		return sd_error_set(SD_E_INVAL, "consistency proof: empty");
	/* When m is a power of two the old root is the proof's implicit first element. */
	first = merkle_is_pow2(m) ? 0 : 1;
	c = first == 0 ? root_m : proof[0];
	fn = m - 1;
	sn = n - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, c, MERKLE_HASH_LEN);
	memcpy(sr, c, MERKLE_HASH_LEN);
	for (i = first; i < count; i++) {
		if (sn == 0)
			return sd_error_set(SD_E_INVAL, "consistency proof: too many hashes");
		if ((fn & 1) != 0 || fn == sn) {
			if ((rc = merkle_node_hash(proof[i], fr, fr)) != 0 ||
			    (rc = merkle_node_hash(proof[i], sr, sr)) != 0)
				return rc;
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if ((rc = merkle_node_hash(sr, proof[i], sr)) != 0) {
			return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return sd_error_set(SD_E_INVAL, "consistency proof: too few hashes");
	if (memcmp(fr, root_m, MERKLE_HASH_LEN) != 0)
		return sd_error_set(SD_E_INVAL, "consistency proof: the old root does not match");
	if (memcmp(sr, root_n, MERKLE_HASH_LEN) != 0)
		return sd_error_set(SD_E_INVAL, "consistency proof: the new root does not match");
	return 0;
}
