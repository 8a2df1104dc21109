/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_<name>.c; never
 * shipped): an invariant check that crashes loudly, a private temporary
 * directory for the targets whose entry point takes a path, a fixed set of
 * profiles, and the fixed Ed25519 key that signs the checkpoint seeds.
 */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* libFuzzer's entry points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: abort (a crash libFuzzer saves) when it does not hold. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* data as a new NUL-terminated string (free()); aborts when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * A file name in this process's own temporary directory (made on first use
 * under $TMPDIR or /tmp, removed with what it holds at exit). Static storage.
 */
const char *fuzz_tmp_path(const char *name);

/* Replace the file at path with data (aborts on failure). */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/*
 * A configuration loaded once (kept until exit) with three profiles: "leaf"
 * (every kind of name: DNS with wildcards, IP, URI, e-mail; every subject
 * attribute), "spiffe" (SPIFFE IDs in example.com) and "sub-ca" (a CA with
 * name constraints and CRL/AIA URLs).
 */
struct sd_config;
const struct sd_config *fuzz_profiles(void);

/*
 * The Ed25519 key the checkpoint seeds are signed with (tests/fuzz/seeds.c):
 * a fixed private key, so that a seed verifies and a mutation of it reaches
 * the signature check. Kept until exit.
 */
#define FUZZ_CHECKPOINT_ORIGIN "fuzz.signerd/journal"
EVP_PKEY *fuzz_checkpoint_key(void);
void fuzz_checkpoint_pub(uint8_t pub[32]);

#endif
