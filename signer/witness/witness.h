/*
 * A C2SP tlog-witness (c2sp.org/tlog-witness) that an auditor runs on a
 * machine of their own, and the note and cosignature code its clients
 * share (c2sp.org/signed-note, c2sp.org/tlog-cosignature):
 *
 *   POST /add-checkpoint   old <size>\n, up to 63 base64 consistency proof
 *                          hashes one a line, a blank line, a signed
 *                          checkpoint; 200 with a cosignature line
 *   GET /<hex SHA-256 of the origin>/checkpoint
 *                          the latest checkpoint it cosigned for that log
 *
 * A cosignature (signature type 0x04) is Ed25519 over
 * "cosignature/v1\ntime <unix s>\n" || the checkpoint text; its line is
 * "— <witness name> base64(key id (4) || time (8, big-endian) || sig (64))\n",
 * key id = SHA-256(name || 0x0A || 0x04 || public key)[:4].
 *
 * The witness keeps, per origin, the latest checkpoint it cosigned, in a
 * file of its state directory named like the monitoring URL (hex SHA-256
 * of the origin), written durably (temp file, fsync, rename, fsync of the
 * directory) before the cosignature leaves. A lock on the directory keeps a
 * second witness process off it; a mutex makes check-and-store atomic.
 *
 * The witness key is an Ed25519 PEM file of the auditor's (never in the
 * signerd token). Foreign types stay in the .c files.
 */
#ifndef SIGNER_WITNESS_H
#define SIGNER_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define WITNESS_NAME_MAX 255		/* bytes of a key name or an origin */
#define WITNESS_PROOF_MAX 63		/* consistency proof lines a request may carry (the spec's bound) */
#define WITNESS_SIGS_MAX 16		/* signature lines of one note (the spec's minimum to accept) */
#define WITNESS_NOTE_MAX (16 * 1024)	/* bytes of one note, signatures included */
/* old line, proof lines (44 + 1 bytes each), blank line, note. */
#define WITNESS_REQUEST_MAX (32 + (WITNESS_PROOF_MAX * 45) + 1 + WITNESS_NOTE_MAX)
#define WITNESS_ED25519_LEN 32
#define WITNESS_TYPE_ED25519 0x01	/* signed-note Ed25519: the log's checkpoint signature */
#define WITNESS_TYPE_COSIG 0x04		/* tlog-cosignature Ed25519, timestamped */
#define WITNESS_VKEY_MAX (WITNESS_NAME_MAX + 64)
#define WITNESS_COSIG_LINE_MAX (WITNESS_NAME_MAX + 112)
/*
 * signerd keeps, in this folder of the journal's directory, the latest
 * checkpoint each witness cosigned, in the witness's own state format, in a
 * file named by the hex SHA-256 of the witness's name.
 */
#define WITNESS_STORE_DIR "cosignatures"

/*
 * A verifier key. An empty name (an Ed25519 log key read from a PEM file)
 * stands for "the origin the checkpoint names": the key id is then made
 * per note.
 */
struct witness_vkey {
	char name[WITNESS_NAME_MAX + 1];
	uint8_t type;			/* WITNESS_TYPE_* */
	uint8_t id[4];
	uint8_t pub[WITNESS_ED25519_LEN];
};

/* One signature line of a note: pointers into the note's text. */
struct witness_sig {
	const char *name;
	size_t name_len;
	const char *b64;		/* base64(key id || signature) */
	size_t b64_len;
	const char *line;		/* the whole line, newline included */
	size_t line_len;
};

struct witness_note {
	size_t text_len;		/* the signed text, its final newline included */
	size_t nsigs;
	struct witness_sig sigs[WITNESS_SIGS_MAX];
};

/* The first three lines of a checkpoint's text (extension lines may follow). */
struct witness_checkpoint {
	char origin[WITNESS_NAME_MAX + 1];
	uint64_t size;
	uint8_t root[32];
};

/*
 * Split a signed note: the text up to the last blank line, then 1..16
 * signature lines. Pointers in out borrow note. Errors: SD_E_INVAL (with
 * the reason), SD_E_TOO_LARGE (over WITNESS_NOTE_MAX or 16 signatures).
 */
SD_WUR int witness_note_parse(const char *note, size_t len, struct witness_note *out);

/* The origin, size and root hash lines of a checkpoint text. Errors: SD_E_INVAL. */
SD_WUR int witness_checkpoint_parse(const char *text, size_t len, struct witness_checkpoint *out);

/* A verifier key for name, type and the Ed25519 key pub (the key id computed). Errors: SD_E_INVAL, SD_E_CRYPTO. */
SD_WUR int witness_vkey_make(const char *name, uint8_t type, const uint8_t pub[WITNESS_ED25519_LEN],
    struct witness_vkey *out);

/*
 * A vkey line "name+hex id+base64(type || key)" (one trailing newline
 * allowed); only Ed25519 types (0x01, 0x04), and the id must be the one the
 * key makes. Errors: SD_E_INVAL, SD_E_UNSUPPORTED (another type), SD_E_CRYPTO.
 */
SD_WUR int witness_vkey_parse(const char *text, size_t len, struct witness_vkey *out);

/* The vkey line of k (no newline) into out (cap bytes). Errors: SD_E_TOO_LARGE, SD_E_INVAL (no name). */
SD_WUR int witness_vkey_format(const struct witness_vkey *k, char *out, size_t cap);

/*
 * A key file: a vkey line, or (for type WITNESS_TYPE_ED25519 only) a PEM
 * Ed25519 public key, which gives a key of any origin (empty name).
 * Errors: SD_E_IO, SD_E_INVAL, SD_E_UNSUPPORTED (a PEM witness key: it has
 * no name; a vkey of another type than want).
 */
SD_WUR int witness_vkey_load(const char *path, uint8_t want, struct witness_vkey *out);

/*
 * Verify the log signature (type 0x01) of k on note: the line named k's
 * name (or, for an empty name, the checkpoint's origin) with k's id.
 * Errors: SD_E_NOT_FOUND (no such line), SD_E_INVAL (it does not verify),
 * SD_E_CRYPTO.
 */
SD_WUR int witness_note_verify_log(const char *note, const struct witness_note *wn, const char *origin,
    const struct witness_vkey *k, size_t *index);

/*
 * Verify a cosignature (type 0x04) of k on note; *time gets its timestamp.
 * Errors: SD_E_NOT_FOUND (no line of k's name and id), SD_E_INVAL (one is
 * there and does not verify), SD_E_CRYPTO.
 */
SD_WUR int witness_cosig_verify(const char *note, const struct witness_note *wn, const struct witness_vkey *k,
    uint64_t *time);

/*
 * Lower-case hex SHA-256 of origin (or of a witness name): the name of its
 * state file and monitoring URL. Errors: SD_E_CRYPTO.
 */
SD_WUR int witness_origin_hash(const char *origin, char hex[65]);

/* The witness's own key (opaque; holds the Ed25519 private key). */
struct witness_signer;

/*
 * A new Ed25519 key into a new PEM file at path (O_EXCL, mode 0600).
 * Errors: SD_E_IO (it exists, or cannot be written), SD_E_CRYPTO.
 */
SD_WUR int witness_key_generate(const char *path);

/*
 * Load the key at path (a PEM Ed25519 private key, not readable by group or
 * others) to cosign as name. Errors: SD_E_IO, SD_E_INVAL (permissions, not
 * PEM, bad name), SD_E_UNSUPPORTED (not Ed25519), SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int witness_signer_load(const char *path, const char *name, struct witness_signer **out);
void witness_signer_free(struct witness_signer *s);

/* The signer's verifier key (type 0x04). */
const struct witness_vkey *witness_signer_vkey(const struct witness_signer *s);

/*
 * The cosignature line of s on the checkpoint text (text_len bytes) at
 * time (unix seconds, > 0) into line (cap bytes, NUL-terminated).
 * Errors: SD_E_TOO_LARGE, SD_E_INVAL, SD_E_CRYPTO, SD_E_NOMEM.
 */
SD_WUR int witness_cosign(const struct witness_signer *s, const char *text, size_t text_len, uint64_t time,
    char *line, size_t cap, size_t *line_len);

/*
 * "old N\n" + proof lines + "\n" of an add-checkpoint body: *old, the
 * hashes into proof (WITNESS_PROOF_MAX), *note_off where the checkpoint
 * starts. Errors: SD_E_INVAL (with the reason), SD_E_TOO_LARGE (over 63 lines).
 */
SD_WUR int witness_request_parse(const char *req, size_t len, uint64_t *old, uint8_t proof[][32], size_t *n,
    size_t *note_off);

/* The cosignature store beside the journal (witness_store.c). */

/*
 * Replace the latest cosigned note of witness name in
 * journal_dir/WITNESS_STORE_DIR (made when missing) durably: temp file,
 * fsync, rename, fsync of the directory. Errors: SD_E_IO, SD_E_TOO_LARGE.
 */
SD_WUR int witness_store_put(const char *journal_dir, const char *name, const char *note, size_t len);

/* That note into buf (cap bytes, NUL-terminated); *len 0 when there is none. Errors: SD_E_IO, SD_E_TOO_LARGE. */
SD_WUR int witness_store_get(const char *journal_dir, const char *name, char *buf, size_t cap, size_t *len);

/*
 * note (the journal's newest checkpoint) with the cosignature lines stored
 * for that very text appended (new string, free()): what
 * GET /v1/audit/checkpoint serves. An unreadable store adds nothing.
 * Errors: SD_E_INVAL (note), SD_E_NOMEM.
 */
SD_WUR int witness_store_cosigned(const char *journal_dir, const char *note, char **out);

/*
 * Copy every cosignature file of from_dir's store into to_dir's (a backup
 * of the journal); *copied counts them. Errors: SD_E_IO, SD_E_TOO_LARGE, SD_E_NOMEM.
 */
SD_WUR int witness_store_copy(const char *from_dir, const char *to_dir, size_t *copied);

/* The newest checkpoint of an origin any witness cosigned, as stored: for the report. */
struct witness_cosigned {
	uint64_t size;			/* 0: none */
	int64_t time_ms;		/* its time line; 0 when it has none */
	char by[512];			/* the witnesses that cosigned it, comma-separated */
};

/* Errors: SD_E_NOMEM, SD_E_TOO_LARGE (the path). An unreadable store holds none. */
SD_WUR int witness_store_newest(const char *journal_dir, const char *origin, struct witness_cosigned *out);

/* The log's side of add-checkpoint, without the network (witness_request.c). */

struct journal;

/*
 * The add-checkpoint body for note (a checkpoint of j, of tree size size):
 * "old N\n", the consistency proof from old to size (base64, a hash a
 * line; none from 0 or from size itself), a blank line, the note (new
 * string, free(); *len bytes). Errors: SD_E_JOURNAL_CORRUPT (old over
 * size), SD_E_TOO_LARGE (over 63 hashes), SD_E_NOMEM, those of the journal.
 */
SD_WUR int witness_request_make(struct journal *j, const char *note, uint64_t size, uint64_t old, char **body,
    size_t *len);

/*
 * The tree size of the checkpoint of origin that witness name last
 * cosigned, as stored beside the journal; 0 when none is (or one of
 * another origin). Errors: those of witness_store_get().
 */
SD_WUR int witness_stored_size(const char *journal_dir, const char *name, const char *origin, uint64_t *size);

/* The first line of a witness's answer (len bytes), printable ('?' for others), into out (cap > 0 bytes). */
void witness_first_line(const char *body, size_t len, char *out, size_t cap);

/* The body of a 409 (text/x.tlog.size): "N\n" (len bytes). Errors: SD_E_INVAL. */
SD_WUR int witness_size_parse(const char *text, size_t len, uint64_t *size);

/*
 * answer (the body of a 200 to add-checkpoint of note) must be signature
 * lines among which a cosignature of vk on note verifies (*time its
 * timestamp); then note with vk's lines is stored (witness_store_put()).
 * Errors: SD_E_INVAL (not signature lines, or no valid cosignature),
 * SD_E_NOT_FOUND (no line of vk), SD_E_NOMEM, SD_E_IO, SD_E_CRYPTO.
 */
SD_WUR int witness_answer_store(const char *journal_dir, const struct witness_vkey *vk, const char *note,
    const char *answer, size_t answer_len, uint64_t *time);

/* A witness signerd submits to: [journal] witness = VKEY URL (witness_submit.c). */
struct witness_target {
	struct witness_vkey vk;			/* type 0x04 */
	char url[512];				/* <prefix>/add-checkpoint */
};

/* "VKEY URL" (URL the witness's submission prefix). Errors: SD_E_INVAL, SD_E_UNSUPPORTED. */
SD_WUR int witness_target_parse(const char *item, struct witness_target *t);

/*
 * Submit the newest checkpoint of j to t: old is the size t last cosigned
 * (from the store; 0 when none), a 409 moves it to the witness's size (at
 * most twice); a 200's cosignature must verify with t's key before it is
 * stored. *size and *time: the tree size and time cosigned.
 * Errors: SD_E_NOT_FOUND (no checkpoint yet), SD_E_IO (network, the
 * store, an answer other than 200/409/422), SD_E_JOURNAL_CORRUPT (409 or
 * 422 to the real history: the witness saw another one, or more records),
 * SD_E_INVAL (a cosignature that does not verify), SD_E_TOO_LARGE, those of
 * the journal.
 */
SD_WUR int witness_submit(struct journal *j, const char *journal_dir, const struct witness_target *t,
    uint64_t *size, uint64_t *time);

/* The witness service (opaque). */
struct witness;

/*
 * Open state_dir (made 0700 when missing; refused when group or others may
 * write it) and lock it, to cosign with signer (taken, also on failure)
 * checkpoints signed by one of logs[0..nlogs) (copied).
 * Errors: SD_E_IO (another witness holds the lock, or the directory),
 * SD_E_INVAL, SD_E_NOMEM.
 */
SD_WUR int witness_open(const char *state_dir, struct witness_signer *signer, const struct witness_vkey *logs,
    size_t nlogs, struct witness **out);
void witness_close(struct witness *w);

/* An HTTP answer: status, content type, body (NUL-terminated; body_len bytes). */
struct witness_response {
	unsigned status;
	const char *content_type;	/* static */
	char body[WITNESS_NOTE_MAX + 512];
	size_t body_len;
};

/*
 * add-checkpoint: req is the request body, now the time to cosign at
 * (unix seconds). resp gets the answer the spec names: 200 and the
 * cosignature line once the checkpoint is stored durably; 400 malformed
 * or old > size; 403 no valid signature of a known log key; 404 unknown
 * origin; 409 and text/x.tlog.size when old is not the size last
 * cosigned; 422 a proof that does not verify, a root that differs at the
 * same size, a non-empty proof from 0; 500 the state cannot be read or
 * written (nothing cosigned). Thread-safe.
 */
void witness_add_checkpoint(struct witness *w, const char *req, size_t len, uint64_t now,
    struct witness_response *resp);

/* GET /<origin hash>/checkpoint: 200 and the latest cosigned checkpoint, or 404. Thread-safe. */
void witness_get_checkpoint(struct witness *w, const char *origin_hash, struct witness_response *resp);

/* The HTTP listener (witness_http.c; opaque). */
struct witness_http;

/*
 * Serve w over plain HTTP on addr (an IPv4 address) and port (0: any);
 * *bound gets the port. Errors: SD_E_INVAL (addr), SD_E_IO (cannot listen).
 */
SD_WUR int witness_http_start(struct witness *w, const char *addr, uint16_t port, struct witness_http **out,
    uint16_t *bound);
void witness_http_stop(struct witness_http *h);

#endif
