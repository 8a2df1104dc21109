/*
 * Internals shared by the files of pkcs11/ (never included outside it).
 *
 * This is the only header that brings Cryptoki types in; CK_RV is turned
 * into an SD_E_* code by hsm_rv_error() before anything leaves pkcs11/.
 */
#ifndef HSM_INT_H
#define HSM_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/p11-kit.h>

#include "hsm.h"

#define HSM_POOL_DEFAULT	4
#define HSM_POOL_MAX		64
#define HSM_POOL_WAIT_MS	30000	/* longest wait for a free session */
#define HSM_SIGN_ATTEMPTS	2	/* first try + one retry on a fresh session */
#define HSM_SIGN_IN_MAX		(16u * 1024 * 1024)	/* EdDSA input (whole TBS or CRL) */
#define HSM_ATTR_MAX		(64u * 1024)	/* largest attribute value read */
#define HSM_LABEL_MAX		256	/* longest object label (CKA_LABEL) accepted */
#define HSM_ID_MAX		128	/* longest object id (CKA_ID) accepted */

/* One slot of the session pool; only the thread that checked it out touches it. */
struct hsm_session {
	size_t index;			/* position in the pool, also in key handle caches */
	CK_SESSION_HANDLE handle;
	bool open;			/* handle is a live session */
	bool busy;			/* checked out (pool mutex) */
	uint64_t epoch;			/* changes whenever handle is replaced */
};

struct hsm_pool;

struct hsm {
	CK_FUNCTION_LIST *fn;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO token_info;	/* as found by hsm_open() */
	char token_label[33];		/* for details, blank padding removed */
	bool login_required;

	/* PIN kept for re-login after a fault: one mlock()ed page, wiped in hsm_close(). */
	pthread_mutex_t login_mu;
	char *pin;
	size_t pin_len;
	size_t pin_map_len;
	bool pin_refused;		/* the token refused it once: never try it again */

	pthread_mutex_t keygen_mu;	/* duplicate-label check and generation are one step */
	struct hsm_pool *pool;
};

/* A cached object handle, valid only for the session epoch it was found in. */
struct hsm_key_cache {
	uint64_t epoch;			/* 0: empty */
	CK_OBJECT_HANDLE handle;
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
};

/* hsm_rv.c: the one CK_RV table. */
const char *hsm_rv_name(CK_RV rv);
int hsm_rv_code(CK_RV rv);
/* sd_error_set(hsm_rv_code(rv), "<what>: <CKR_NAME>") */
int hsm_rv_error(CK_RV rv, const char *what);
/* Faults after which a session must be dropped and a fresh one tried. */
bool hsm_rv_is_fault(CK_RV rv);

/* hsm.c: module, sessions and login. */
SD_WUR int hsm_module_open(const char *module_path, CK_FUNCTION_LIST **out);
void hsm_module_close(CK_FUNCTION_LIST *fn);
/* Slots with a token present; *out is freed with free(). */
SD_WUR int hsm_slots_get(CK_FUNCTION_LIST *fn, CK_SLOT_ID **out, size_t *n);
/* Open a session on the token and log in if the token needs it. *rv_out gets the last CK_RV. */
SD_WUR int hsm_session_open(struct hsm *hsm, bool rw, CK_SESSION_HANDLE *out, CK_RV *rv_out);
void hsm_session_close(struct hsm *hsm, CK_SESSION_HANDLE handle);
/*
 * Called between attempts after a fault. Today it only decides whether a
 * retry is allowed; bounded backoff and module re-initialisation
 * (C_Finalize/C_Initialize on CKR_CRYPTOKI_NOT_INITIALIZED) belong here.
 */
bool hsm_recover(struct hsm *hsm, unsigned attempt, CK_RV rv);

/* hsm_pool.c */
SD_WUR int hsm_pool_new(struct hsm *hsm, size_t n, struct hsm_pool **out);
void hsm_pool_free(struct hsm_pool *pool);
size_t hsm_pool_size(const struct hsm_pool *pool);
/* Check out a session, opening it if needed; wait at most wait_ms (0: do not wait). */
SD_WUR int hsm_pool_get(struct hsm_pool *pool, unsigned wait_ms, struct hsm_session **out);
/* Give a session back (NULL: no-op); a broken one is closed and reopened on next use. */
void hsm_pool_put(struct hsm_pool *pool, struct hsm_session *s, bool broken);
/* Replace the checked-out session s with a fresh one (logging in again if needed). */
SD_WUR int hsm_pool_reopen(struct hsm_pool *pool, struct hsm_session *s, CK_RV *rv_out);

/* hsm_key.c helpers also used by key generation and tests of it. */
SD_WUR int hsm_objects_find(struct hsm *hsm, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl,
    CK_ULONG n, CK_OBJECT_HANDLE *found, size_t max, size_t *count, CK_RV *rv_out);
/* Handle of key on session s, from the cache or found again (refresh forces a search). */
SD_WUR int hsm_key_handle(struct hsm_key *key, struct hsm_session *s, bool refresh,
    CK_OBJECT_HANDLE *out, CK_RV *rv_out);

/* hsm_keytype.c: signature size, DER OID of a curve (borrowed), curve of CKA_EC_PARAMS. */
size_t hsm_key_type_sig_size(enum hsm_key_type type);
SD_WUR int hsm_curve_params(enum hsm_key_type type, const uint8_t **der, size_t *len);
SD_WUR int hsm_curve_from_params(const uint8_t *der, size_t len, enum hsm_key_type *out);

#endif
