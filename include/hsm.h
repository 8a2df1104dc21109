/*
 * The HSM: one PKCS#11 module, one logged-in token, a pool of sessions.
 *
 * Only pkcs11/ implements this header; no Cryptoki type crosses it. Keys are
 * named by RFC 7512 PKCS#11 URIs. Lifecycle: hsm_open() -> hsm_key_find() ->
 * hsm_sign() from any number of threads -> hsm_key_free() -> hsm_close().
 * A process must call hsm_open() itself: a module is never used across fork().
 *
 * Faults: a session that reports a session or token fault is dropped and
 * the call retried once on a new session; CKR_CRYPTOKI_NOT_INITIALIZED
 * re-initialises the module at once (C_Finalize/C_Initialize, the token
 * found again by URI and serial, login again). A fault that persists marks
 * the token down: calls then fail fast with SD_E_HSM_UNAVAILABLE and the
 * reason, while one caller at a time probes the token after a backoff pause
 * (100 ms doubling to 2 s), re-initialising the module first. The first
 * successful probe marks it up again. State changes are logged once on
 * stderr ("hsm: HSM unavailable: ...", "hsm: HSM recovered: ..."). A PIN the
 * token refuses is never tried again.
 */
#ifndef HSM_H
#define HSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

struct hsm;
struct hsm_key;

struct hsm_config {
	const char *module_path;	/* PKCS#11 module (.so) */
	const char *token_uri;		/* RFC 7512 URI selecting the token, e.g. "pkcs11:token=signerd-demo" */
	const char *pin_file;		/* user PIN file (mode 0600) or systemd credential name */
	unsigned pool_size;		/* sessions in the pool; 0 means 4 (signerd passes [hsm] sessions, default: workers) */
};

/* Kinds of key the project can generate and use. */
enum hsm_key_type {
	HSM_KEY_RSA2048,
	HSM_KEY_RSA3072,
	HSM_KEY_RSA4096,
	HSM_KEY_P256,
	HSM_KEY_P384,
	HSM_KEY_P521,
	HSM_KEY_ED25519,
};

/* Signature mechanisms; the caller hashes and formats the input. */
enum hsm_mech {
	HSM_MECH_RSA_PKCS,	/* input: DER DigestInfo; output: RSASSA-PKCS1-v1_5 signature */
	HSM_MECH_RSA_PSS,	/* input: digest; salt length = digest length; MGF1 with the same hash */
	HSM_MECH_ECDSA,		/* input: digest; output: r || s, each the curve's byte length */
	HSM_MECH_EDDSA,		/* input: whole message; output: 64-byte Ed25519 signature */
};

enum hsm_hash {
	HSM_HASH_SHA256,
	HSM_HASH_SHA384,
	HSM_HASH_SHA512,
};

/* Largest signature any supported key makes (RSA-4096). */
#define HSM_SIG_MAX 512

/*
 * Load the module, initialise it, find exactly one token matching
 * cfg->token_uri, read the PIN file, log in as user, wipe the PIN copy used
 * for C_Login (a copy is kept locked in memory for re-login after faults) and
 * open the session pool.
 * Errors: SD_E_URI, SD_E_HSM (module load/init), SD_E_NOT_FOUND (no token),
 * SD_E_PIN (unreadable file, wrong or locked PIN; never retried),
 * SD_E_HSM_UNAVAILABLE, SD_E_NOMEM.
 */
SD_WUR int hsm_open(const struct hsm_config *cfg, struct hsm **out);
void hsm_close(struct hsm *hsm);

/*
 * [hsm] session_keys: when on (default off), keys found afterwards by
 * hsm_key_find() (not allow_unsafe ones) sign with a per-session copy made
 * inside the token by C_CopyObject with CKA_TOKEN false: one per pooled
 * session, made on first use, checked to be a sensitive, non-extractable
 * session object (else destroyed), and gone when its session closes, so
 * that recovery makes new ones. The private key never leaves the HSM. Keys
 * with CKA_COPYABLE false, and tokens that refuse the copy, sign with the
 * token object (logged once per key). Call before hsm_key_find().
 */
void hsm_session_keys_set(struct hsm *hsm, bool on);

/*
 * Find the private key named by key_uri (object/id/type attributes; token
 * attributes must match the open token) and its public half. A key that is
 * extractable or not sensitive is refused with SD_E_KEY_UNSAFE unless
 * allow_unsafe (listing tools only).
 * Errors: SD_E_URI, SD_E_KEY_NOT_FOUND, SD_E_KEY_AMBIGUOUS, SD_E_KEY_UNSAFE,
 * SD_E_UNSUPPORTED (key type), SD_E_HSM, SD_E_HSM_UNAVAILABLE, SD_E_NOMEM.
 */
SD_WUR int hsm_key_find(struct hsm *hsm, const char *key_uri, bool allow_unsafe, struct hsm_key **out);
void hsm_key_free(struct hsm_key *key);

enum hsm_key_type hsm_key_type(const struct hsm_key *key);

/*
 * DER SubjectPublicKeyInfo of the key, borrowed: valid until hsm_key_free().
 */
const uint8_t *hsm_key_spki_peek(const struct hsm_key *key, size_t *len);

/*
 * Sign with the key on a pooled session. sig must hold HSM_SIG_MAX bytes;
 * *sig_len is set to the signature length. Thread-safe; no lock is held
 * across C_Sign. Every wait (free session, another thread's recovery) ends
 * within about 5 s in all, unless a Cryptoki call itself never returns.
 * Errors: SD_E_INVAL (mechanism does not fit the key, bad input length),
 * SD_E_HSM, SD_E_HSM_UNAVAILABLE (token gone; retry later), SD_E_NOMEM.
 */
SD_WUR int hsm_sign(struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash,
    const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len);

/*
 * Generate a key pair inside the token, named by key_uri's "object" (label)
 * and optional "id". Private key: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false, CKA_SIGN true. Refuses with SD_E_INVAL when a key
 * with the same label already exists.
 */
SD_WUR int hsm_keygen(struct hsm *hsm, const char *key_uri, enum hsm_key_type type);

/*
 * 0 when the token is usable (token info, a logged-in session), else
 * SD_E_HSM_UNAVAILABLE with the reason. While the token is down it answers
 * at once with the reason, or (backoff permitting) probes the token itself,
 * re-initialising the module and signing once with a key found earlier, so
 * that the service recovers without traffic. Bounded by about 3 s.
 */
SD_WUR int hsm_health(struct hsm *hsm);

/* The session pool and token state now, for metrics; a snapshot that needs no lock on the signing path. */
struct hsm_stats {
	unsigned sessions;		/* the pool's size */
	unsigned in_use;		/* checked out by a signing thread */
	unsigned idle;			/* free, with an open session */
	unsigned closed;		/* free, without one: closed after a fault, or not opened yet */
	bool available;			/* the token is not marked down */
};
void hsm_stats_get(struct hsm *hsm, struct hsm_stats *out);

/*
 * Initialise the token in the first slot whose token is not yet initialised
 * (or whose label is already label, which is an error), with label, SO PIN
 * and user PIN from files. For demos and tests on SoftHSM; production tokens
 * are initialised with the vendor's tools.
 */
SD_WUR int hsm_token_init(const char *module_path, const char *label,
    const char *so_pin_file, const char *user_pin_file);

/* Parse "rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521", "ed25519". */
SD_WUR int hsm_key_type_from_name(const char *name, enum hsm_key_type *out);
const char *hsm_key_type_name(enum hsm_key_type type);

/*
 * Listings for operators (signerctl hsm info|slots|keys): plain structs,
 * strings NUL-terminated with blank padding removed. Each call hands every
 * item to cb (borrowed for the call only); a non-zero return from cb stops
 * the listing and is returned.
 */
struct hsm_module_info {
	char manufacturer[33];
	char description[33];
	unsigned cryptoki_major, cryptoki_minor;
	unsigned library_major, library_minor;
};

struct hsm_slot_info {
	unsigned long id;		/* module's slot number; may change between runs */
	char description[65];
	char manufacturer[33];
	bool hardware, removable, token_present;
	/* Token, when present. */
	char label[33], token_manufacturer[33], model[17], serial[17];
	bool initialized, login_required, user_pin_initialized, user_pin_locked, user_pin_low,
	    so_pin_locked, write_protected, rng, protected_auth_path;
	unsigned long sessions, max_sessions;	/* ~0UL: unknown */
};

struct hsm_mech_info {
	char name[48];			/* CKM_ name */
	unsigned long min_key, max_key;
	bool hw, sign, verify, generate_key_pair, digest;
};

struct hsm_key_info {
	char label[129];		/* printable, else hex */
	char id_hex[2 * 64 + 1];
	char type[32];			/* e.g. "rsa3072", "p256", "ed25519", "RSA-1024", "CKK 0x..." */
	unsigned bits;			/* 0 when unknown */
	bool sensitive, extractable, always_sensitive, never_extractable, can_sign, private_obj, local;
	bool usable;			/* fit to be a signerd CA key */
	char why[128];			/* why not usable, or a note (e.g. imported) */
};

/* Module information of module_path, loaded and initialised for the call. Errors: SD_E_HSM. */
SD_WUR int hsm_list_module(const char *module_path, struct hsm_module_info *out);
/* Every slot of module_path (with or without a token). Errors: SD_E_HSM, SD_E_NOMEM, cb's. */
SD_WUR int hsm_list_slots(const char *module_path, int (*cb)(const struct hsm_slot_info *, void *), void *ctx);
/* The token's mechanisms for the supported key types (sign, generate, digest). Errors: SD_E_HSM*, SD_E_NOMEM, cb's. */
SD_WUR int hsm_list_mechanisms(struct hsm *hsm, int (*cb)(const struct hsm_mech_info *, void *), void *ctx);
/* Private keys of the open token (logged in) with their security attributes. Same errors. */
SD_WUR int hsm_list_keys(struct hsm *hsm, int (*cb)(const struct hsm_key_info *, void *), void *ctx);

#endif
