/*
 * signerctl audit witness keygen|vkey|serve: a C2SP tlog-witness that an
 * auditor runs beside signerd, with a key of their own (README "Auditing",
 * "Witnesses").
 */
#ifndef SIGNER_CTL_WITNESS_H
#define SIGNER_CTL_WITNESS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run "signerctl audit witness ARGS": argv[0] is the action. Returns the
 * exit code: 0 done (serve: stopped by SIGINT or SIGTERM), 1 failure, 2 usage.
 */
int ctl_witness_main(const char *config_path, int argc, char **argv);

#define CTL_WITNESS_KEYS_MAX 8

/*
 * audit verify --witness-key: each witness of keys[0..nkeys) (vkey files)
 * made a valid cosignature on the newest checkpoint: note (note_len bytes,
 * the last of the file source), or when note is NULL the newest checkpoint
 * of j with the cosignatures signerd stored in journal_dir/cosignatures. A
 * stored cosignature of a tree larger than the journal's records, or of
 * another root, is named as such (a cut tail, a rewritten history).
 * Prints a line per witness; returns 0 when each holds, else 1.
 */
struct journal;
int ctl_witness_verify(const char *const *keys, size_t nkeys, const char *note, size_t note_len, const char *source,
    struct journal *j, const char *journal_dir, uint64_t records);

#endif
