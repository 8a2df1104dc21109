/*
 * Checkpoints as C2SP tlog-checkpoint text signed as a C2SP signed note
 * with Ed25519 (signature type 0x01):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\ntime <unix ms>\n
 *   \n
 *   \u2014 <origin> <base64(key id (4) || Ed25519 signature (64))>\n
 *
 * key id = first 4 bytes of SHA-256(origin || 0x0A || 0x01 || public key).
 * The signature covers the body (the first four lines, final newline
 * included). Pure functions: the HSM signs elsewhere (checkpoint.c).
 */
#ifndef SIGNER_CHECKPOINT_NOTE_H
#define SIGNER_CHECKPOINT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define CHECKPOINT_ORIGIN_MAX 255
#define CHECKPOINT_NOTE_MAX 1024
#define CHECKPOINT_ED25519_LEN 32
#define CHECKPOINT_SIG_LEN 64

struct checkpoint {
	char origin[CHECKPOINT_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[32];
	int64_t time_ms;
	uint8_t key_id[4];
	uint8_t sig[CHECKPOINT_SIG_LEN];
	size_t body_len;		/* bytes of the note that are signed */
};

/* The body to sign, NUL-terminated, into out (cap bytes). Errors: SD_E_INVAL (origin), SD_E_TOO_LARGE. */
SD_WUR int checkpoint_body(const char *origin, uint64_t size, const uint8_t root[32], int64_t time_ms,
    char *out, size_t cap, size_t *len);

/* Key id of an Ed25519 note key. Errors: SD_E_CRYPTO. */
SD_WUR int checkpoint_key_id(const char *name, const uint8_t pub[CHECKPOINT_ED25519_LEN], uint8_t id[4]);

/* body + blank line + signature line into a new string (free()). Errors: SD_E_NOMEM, SD_E_TOO_LARGE. */
SD_WUR int checkpoint_note_assemble(const char *body, size_t body_len, const char *name, const uint8_t id[4],
    const uint8_t sig[CHECKPOINT_SIG_LEN], char **note);

/* Parse a signed checkpoint (exactly one signature line). Errors: SD_E_INVAL with the reason. */
SD_WUR int checkpoint_parse(const char *note, size_t len, struct checkpoint *out);

/*
 * Check cp's signature over note's body with the Ed25519 key pub (and the
 * key id). Errors: SD_E_INVAL (wrong key id or bad signature), SD_E_CRYPTO.
 */
SD_WUR int checkpoint_verify_sig(const char *note, const struct checkpoint *cp,
    const uint8_t pub[CHECKPOINT_ED25519_LEN]);

/* The raw Ed25519 key from a DER SubjectPublicKeyInfo. Errors: SD_E_UNSUPPORTED (not Ed25519). */
SD_WUR int checkpoint_ed25519_from_spki(const uint8_t *spki, size_t len, uint8_t pub[CHECKPOINT_ED25519_LEN]);

/* The raw Ed25519 key from a PEM public key file's text. Errors: SD_E_INVAL, SD_E_UNSUPPORTED. */
SD_WUR int checkpoint_ed25519_from_pem(const char *pem, size_t len, uint8_t pub[CHECKPOINT_ED25519_LEN]);

/*
 * The audit key's fingerprint: SHA-256 over the DER SubjectPublicKeyInfo of
 * the Ed25519 key pub (RFC 8410: 302a300506032b6570032100 || pub), the
 * bytes a keygen ceremony record journals. Errors: SD_E_CRYPTO.
 */
SD_WUR int checkpoint_ed25519_fingerprint(const uint8_t pub[CHECKPOINT_ED25519_LEN], uint8_t fp[32]);

/*
 * A fingerprint as an auditor types it: exactly 64 hex digits, either case.
 * Errors: SD_E_INVAL naming the length or the first character that is not hex.
 */
SD_WUR int checkpoint_fingerprint_parse(const char *hex, uint8_t fp[32]);

/* Standard base64 with padding into out (cap >= 4 * ceil(len / 3) + 1). */
void checkpoint_b64(const uint8_t *in, size_t len, char *out);

/* Bytes a checkpoint_b64_decode() decodes at most (a signature line's blob, a key). */
#define CHECKPOINT_B64_MAX 128

/*
 * Strict standard base64 of in (in_len characters, with its padding; only
 * the canonical encoding) into out (cap bytes; *out_len written): 0, or -1
 * when it is not that, or longer than cap or CHECKPOINT_B64_MAX bytes.
 */
int checkpoint_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);

/* A decimal of len bytes (1..20 digits, no sign, no leading zero but "0"): 0, or -1 when it is not one. */
int checkpoint_u64(const char *s, size_t len, uint64_t *out);

#endif
