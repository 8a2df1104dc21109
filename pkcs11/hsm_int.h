/*
 * Internals shared by the files of pkcs11/ (never included outside it).
 *
 * This is the only header that brings Cryptoki types in; CK_RV is turned
 * into an SD_E_* code by hsm_rv_error() before anything leaves pkcs11/.
 */
#ifndef HSM_INT_H
#define HSM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/p11-kit.h>

#include "hsm.h"

#define HSM_POOL_DEFAULT	4
#define HSM_POOL_MAX		64
#define HSM_SIGN_ATTEMPTS	2	/* first try + one retry on a fresh session */
/*
 * Time budgets. Every wait in pkcs11/ is bounded by the caller's budget; only
 * a Cryptoki call that itself never returns can exceed it.
 */
#define HSM_SIGN_BUDGET_MS	5000	/* whole hsm_sign(): waits, recovery, retry */
#define HSM_FIND_BUDGET_MS	10000	/* hsm_key_find(), hsm_keygen(), listings */
#define HSM_HEALTH_BUDGET_MS	3000	/* hsm_health(), including a recovery attempt */
#define HSM_QUIESCE_MS		2000	/* longest wait for running calls before C_Finalize */
#define HSM_BACKOFF_MIN_MS	100	/* first pause between recovery attempts */
#define HSM_BACKOFF_MAX_MS	2000	/* the pause doubles up to this */
#define HSM_REASON_MAX		256
#define HSM_SIGN_IN_MAX		(16u * 1024 * 1024)	/* EdDSA input (whole TBS or CRL) */
#define HSM_ATTR_MAX		(64u * 1024)	/* largest attribute value read */
#define HSM_LABEL_MAX		256	/* longest object label (CKA_LABEL) accepted */
#define HSM_ID_MAX		128	/* longest object id (CKA_ID) accepted */
#define HSM_CACHELINE		64	/* pool slots are this far apart: no false sharing */

/*
 * One slot of the session pool. busy is taken with a compare-and-swap;
 * every other field is touched only by the thread that holds the slot (or
 * by hsm_pool_forget() while no slot is held).
 */
struct hsm_session {
	_Alignas(HSM_CACHELINE) atomic_bool busy;	/* checked out */
	size_t index;			/* position in the pool, also in key handle caches */
	CK_SESSION_HANDLE handle;
	bool open;			/* handle is a live session */
	atomic_bool live;		/* open, for hsm_stats_get() (which reads no other thread's slot) */
	uint64_t epoch;			/* changes whenever handle is replaced */
};

struct hsm_pool;

/*
 * Health and recovery (hsm_recover.c), guarded by mu. Every thread that
 * calls into the module is "admitted" (inflight) first; a module
 * re-initialisation waits until it is the only one admitted. While the
 * token is down, one thread at a time probes it (after a backoff pause);
 * the others wait for its outcome within their budget or fail fast.
 * While the token is up and no re-initialisation runs (blocked false),
 * admission and release are one atomic add each, without mu.
 */
struct hsm_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* CLOCK_MONOTONIC */
	atomic_uint inflight;		/* admitted threads (changed with or without mu) */
	atomic_bool blocked;		/* reinit || down, written under mu: the fast path is closed */
	bool reinit;			/* a thread is re-initialising the module */
	bool probing;			/* a thread is probing a down token */
	bool down;			/* the token is unusable */
	bool need_reinit;		/* the next probe starts with C_Finalize/C_Initialize */
	uint64_t generation;		/* module initialisations so far */
	uint64_t down_since_ms;
	uint64_t next_try_ms;		/* no probe before this */
	unsigned backoff_ms;
	unsigned probes;		/* failed probes since down */
	char reason[HSM_REASON_MAX];	/* why it is down */
	struct hsm_key *probe_key;	/* signs health probes while down; may be NULL */
};

struct hsm {
	CK_FUNCTION_LIST *fn;
	CK_SLOT_ID slot;		/* changes when a re-initialised module numbers slots anew */
	CK_TOKEN_INFO token_info;	/* as found by hsm_open() */
	struct hsm_uri *token_uri;	/* re-finds the token after a re-initialisation */
	char *token_uri_text;
	char token_label[33];		/* for details, blank padding removed */
	bool login_required;

	/* PIN kept for re-login after a fault: one mlock()ed page, wiped in hsm_close(). */
	pthread_mutex_t login_mu;
	char *pin;
	size_t pin_len;
	size_t pin_map_len;
	atomic_bool pin_refused;	/* the token refused it once: never try it again */
	atomic_bool session_keys;	/* sign with per-session copies of keys (hsm_session_keys_set()) */

	pthread_mutex_t keygen_mu;	/* duplicate-label check and generation are one step */
	struct hsm_pool *pool;
	struct hsm_state st;
};

/* Cached object handles, valid only for the session epoch they were found (or made) in. */
struct hsm_key_cache {
	uint64_t epoch;			/* 0: empty */
	CK_OBJECT_HANDLE handle;	/* the token key */
	CK_OBJECT_HANDLE copy;		/* its session copy on this session, or CK_INVALID_HANDLE */
	bool copy_tried;		/* a copy was made or refused in this epoch */
};

struct hsm_key {
	struct hsm *hsm;
	char *uri;			/* as given, for error details */
	enum hsm_key_type type;
	size_t sig_size;		/* bytes of a signature */
	uint8_t *label;			/* CKA_LABEL searched for, or NULL */
	size_t label_len;
	uint8_t *id;			/* CKA_ID searched for, or NULL */
	size_t id_len;
	uint8_t *spki;			/* DER SubjectPublicKeyInfo */
	size_t spki_len;
	struct hsm_key_cache *cache;	/* one per pool session */
	size_t n_cache;
	bool copies;			/* session_keys on, key safe and not CKA_COPYABLE false */
	atomic_bool copy_off;		/* the token refused a usable copy: token key from now on */
	atomic_bool copy_logged;	/* the first fallback to the token key was logged */
};

/* hsm_rv.c: the one CK_RV table. */
const char *hsm_rv_name(CK_RV rv);
int hsm_rv_code(CK_RV rv);
/* sd_error_set(hsm_rv_code(rv), "<what>: <CKR_NAME>") */
int hsm_rv_error(CK_RV rv, const char *what);
/* Faults after which a session must be dropped and a fresh one tried. */
bool hsm_rv_is_fault(CK_RV rv);

/* hsm_module.c: load, initialise, finalise (for recovery) and unload a module. */
SD_WUR int hsm_module_open(const char *module_path, CK_FUNCTION_LIST **out);
void hsm_module_close(CK_FUNCTION_LIST *fn);
void hsm_module_finalize(CK_FUNCTION_LIST *fn);
/* C_Initialize again after hsm_module_finalize(); CKR_CRYPTOKI_ALREADY_INITIALIZED counts as success. */
CK_RV hsm_module_initialize(CK_FUNCTION_LIST *fn);

/* hsm.c: sessions and login. */
/* Slots with a token present; *out is freed with free(). */
SD_WUR int hsm_slots_get(CK_FUNCTION_LIST *fn, CK_SLOT_ID **out, size_t *n);
/* Open a session on the token and log in if the token needs it. *rv_out gets the last CK_RV. */
SD_WUR int hsm_session_open(struct hsm *hsm, bool rw, CK_SESSION_HANDLE *out, CK_RV *rv_out);
void hsm_session_close(struct hsm *hsm, CK_SESSION_HANDLE handle);
/* The one initialised token matching hsm->token_uri (and, when serial is set, with that serial). */
SD_WUR int hsm_token_find(struct hsm *hsm, const unsigned char *serial, CK_SLOT_ID *slot, CK_TOKEN_INFO *info);

/* hsm_recover.c: health state, admission, recovery. */
uint64_t hsm_now_ms(void);
SD_WUR int hsm_state_init(struct hsm_state *st);
void hsm_state_destroy(struct hsm_state *st);
/* Faults after which the module itself must be finalised and initialised again. */
bool hsm_rv_is_module_fault(CK_RV rv);
/*
 * Admit the calling thread to use the module until hsm_release(). While the
 * token is down, the caller either waits (bounded by deadline_ms) for the
 * thread probing it, fails fast with SD_E_HSM_UNAVAILABLE and the reason
 * (backoff pause), or becomes the prober (*probe true): then the module is
 * re-initialised first when a fault asked for it. The prober reports the
 * outcome with hsm_mark_ok() or hsm_mark_down() before hsm_release().
 */
SD_WUR int hsm_admit(struct hsm *hsm, uint64_t deadline_ms, bool *probe);
void hsm_release(struct hsm *hsm, bool probe);
void hsm_mark_ok(struct hsm *hsm);
void hsm_mark_down(struct hsm *hsm, bool need_reinit, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Called by an admitted thread that holds no pool session after a fault rv:
 * for a module fault, C_Finalize/C_Initialize the module (one thread does it;
 * the others wait for it), find the token by URI again and log in. Returns 0
 * when a retry makes sense, else SD_E_HSM_UNAVAILABLE with the reason (the
 * state is then marked down by the caller).
 */
SD_WUR int hsm_recover(struct hsm *hsm, CK_RV rv, uint64_t deadline_ms);

/* hsm_pool.c */
SD_WUR int hsm_pool_new(struct hsm *hsm, size_t n, struct hsm_pool **out);
void hsm_pool_free(struct hsm_pool *pool);
size_t hsm_pool_size(const struct hsm_pool *pool);
/* A snapshot, racy by design (for metrics): slots checked out, free with a session, free without one. */
void hsm_pool_count(const struct hsm_pool *pool, unsigned *in_use, unsigned *idle, unsigned *closed);
/*
 * Check out a session, opening it if needed; wait at most until deadline_ms
 * (hsm_now_ms() clock). fresh: close the session picked and open a new one
 * (a retry after a fault). *rv_out gets the CK_RV of a failed C_OpenSession or
 * C_Login (CKR_OK otherwise). Caller is admitted (hsm_admit()).
 */
SD_WUR int hsm_pool_get(struct hsm_pool *pool, uint64_t deadline_ms, bool fresh, struct hsm_session **out,
    CK_RV *rv_out);
/* Forget every session without closing it (the module was finalised). None may be checked out. */
void hsm_pool_forget(struct hsm_pool *pool);
/* Give a session back (NULL: no-op); a broken one is closed and reopened on next use. */
void hsm_pool_put(struct hsm_pool *pool, struct hsm_session *s, bool broken);
/* Check out slot index if it is free and open right now (no wait); NULL otherwise. Caller is admitted. */
struct hsm_session *hsm_pool_try_slot(struct hsm_pool *pool, size_t index);
/* Admit the caller only if that needs no wait (token up, no recovery running); release with hsm_release(h, false). */
bool hsm_admit_now(struct hsm *hsm);

/* hsm_key.c helpers also used by key generation and tests of it. */
SD_WUR int hsm_objects_find(struct hsm *hsm, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl,
    CK_ULONG n, CK_OBJECT_HANDLE *found, size_t max, size_t *count, CK_RV *rv_out);
/* Handle of key on session s, from the cache or found again (refresh forces a search). */
SD_WUR int hsm_key_handle(struct hsm_key *key, struct hsm_session *s, bool refresh,
    CK_OBJECT_HANDLE *out, CK_RV *rv_out);
/*
 * The handle to sign with on session s: the key's session copy when copies
 * are on (made on first use in each session epoch), else the token key.
 * Errors as hsm_key_handle(); a fault during the copy returns its rv.
 */
SD_WUR int hsm_key_sign_handle(struct hsm_key *key, struct hsm_session *s, bool refresh,
    CK_OBJECT_HANDLE *out, CK_RV *rv_out);

/*
 * hsm_keycopy.c: copy the token key token_key as a session object on s and
 * check that the copy is a session object, sensitive, not extractable and
 * may sign. *out is the copy, or CK_INVALID_HANDLE when the token refused
 * (then the token key is used; logged once per key). Errors: a fault rv
 * (session or token) as hsm_rv_error(); CKR_*_HANDLE_INVALID for a stale
 * token_key.
 */
SD_WUR int hsm_key_copy_make(struct hsm_key *key, struct hsm_session *s, CK_OBJECT_HANDLE token_key,
    CK_OBJECT_HANDLE *out, CK_RV *rv_out);
/* Destroy the session copies of key that can be reached now without waiting (hsm_key_free()). */
void hsm_key_copies_destroy(struct hsm_key *key);
/*
 * One process-wide lock around searches for private keys and the making of
 * session copies (never around C_Sign): SoftHSMv2 gives a new copy the
 * original's attributes, CKA_TOKEN true included, before it applies the
 * template, so a search running meanwhile would find two token keys.
 */
void hsm_objects_lock(void);
void hsm_objects_unlock(void);

/* hsm_sign.c: one signature over a fixed input with key's own mechanism (health probe). */
SD_WUR int hsm_sign_probe(struct hsm_key *key, uint64_t deadline_ms, CK_RV *rv_out);

/* hsm_keytype.c: signature size, DER OID of a curve (borrowed), curve of CKA_EC_PARAMS. */
size_t hsm_key_type_sig_size(enum hsm_key_type type);
SD_WUR int hsm_curve_params(enum hsm_key_type type, const uint8_t **der, size_t *len);
SD_WUR int hsm_curve_from_params(const uint8_t *der, size_t len, enum hsm_key_type *out);

#endif
