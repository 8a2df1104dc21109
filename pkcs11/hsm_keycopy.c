/*
 * Session copies of a CA key ([hsm] session_keys, hsm_session_keys_set()).
 *
 * Some modules do expensive work in C_SignInit for a token object: SoftHSMv2
 * reopens, locks and re-reads the token's object file and decrypts the key
 * on every call, and serialises signers doing so. A session object copy of
 * the key (C_CopyObject with CKA_TOKEN false) avoids that. The copy is made
 * inside the token and keeps the key's attributes: it stays sensitive and
 * not extractable, so the private key never leaves the HSM; it is a session
 * object, so the token destroys it when its session closes (a fault, a
 * recovery, hsm_close(), or the process dying). Each copy is checked after
 * it is made; a copy that is a token object, not sensitive, extractable or
 * unable to sign is destroyed at once and copies are turned off for the key.
 * A token that refuses to copy (CKA_COPYABLE false, CKR_ACTION_PROHIBITED, a
 * read-only session, no C_CopyObject) leaves signing on the token object;
 * the first such fallback is logged once per key.
 */
#include <stdio.h>

#include "hsm_int.h"
#include "sd_log.h"

static pthread_mutex_t hsm_objects_mu = PTHREAD_MUTEX_INITIALIZER;

void
hsm_objects_lock(void)
{
	pthread_mutex_lock(&hsm_objects_mu);
}

void
hsm_objects_unlock(void)
{
	pthread_mutex_unlock(&hsm_objects_mu);
}

/* The token will not make such a copy for this key, now or later. */
static bool
hsm_copy_refused_for_good(CK_RV rv)
{
	switch (rv) {
	case CKR_ACTION_PROHIBITED:
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_SESSION_READ_ONLY:
	case CKR_ATTRIBUTE_READ_ONLY:
	case CKR_ATTRIBUTE_TYPE_INVALID:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_TEMPLATE_INCOMPLETE:
	case CKR_TEMPLATE_INCONSISTENT:
	case CKR_KEY_UNEXTRACTABLE:
		return true;
	default:
		return false;
	}
}

static void
hsm_copy_fallback(struct hsm_key *key, bool for_good, const char *why)
{
	if (for_good)
		atomic_store(&key->copy_off, true);
	if (!atomic_exchange(&key->copy_logged, true))
		sd_log(SD_LOG_WARN, "hsm: key %s: no session copy (%s); signing with the token object%s", key->uri, why,
		    for_good ? "" : " on this session");
}

/* Is the copy what we asked for and no less safe than the key? */
static int
hsm_copy_check(struct hsm_key *key, struct hsm_session *s, CK_OBJECT_HANDLE copy, bool *ok, CK_RV *rv_out)
{
	CK_BBOOL token = CK_TRUE, sensitive = CK_FALSE, extractable = CK_TRUE, can_sign = CK_FALSE;
	CK_ATTRIBUTE a[4] = {
		{ CKA_TOKEN, &token, sizeof(token) },
		{ CKA_SENSITIVE, &sensitive, sizeof(sensitive) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
		{ CKA_SIGN, &can_sign, sizeof(can_sign) },
	};
	size_t i;
	CK_RV rv;

	*ok = false;
	rv = key->hsm->fn->C_GetAttributeValue(s->handle, copy, a, 4);
	*rv_out = rv;
	if (hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv))
		return hsm_rv_error(rv, "C_GetAttributeValue of a key copy");
	*rv_out = CKR_OK;
	if (rv != CKR_OK)
		return 0;
	for (i = 0; i < 4; i++)
		if (a[i].ulValueLen != sizeof(CK_BBOOL))
			return 0;
	*ok = token == CK_FALSE && sensitive == CK_TRUE && extractable == CK_FALSE && can_sign == CK_TRUE;
	return 0;
}

static int
hsm_key_copy_locked(struct hsm_key *key, struct hsm_session *s, CK_OBJECT_HANDLE token_key, CK_OBJECT_HANDLE *out,
    CK_RV *rv_out)
{
	CK_FUNCTION_LIST *fn = key->hsm->fn;
	CK_BBOOL session_object = CK_FALSE;
	CK_ATTRIBUTE tmpl[1] = { { CKA_TOKEN, &session_object, sizeof(session_object) } };
	CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
	char why[96];
	bool ok;
	CK_RV rv;
	int rc;

	*out = CK_INVALID_HANDLE;
	*rv_out = CKR_OK;
	rv = fn->C_CopyObject(s->handle, token_key, tmpl, 1, &copy);
	if (rv != CKR_OK) {
		*rv_out = rv;
		/* Session and token faults, and a stale key handle, are the caller's to handle. */
		if (hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv) || rv == CKR_OBJECT_HANDLE_INVALID ||
		    rv == CKR_KEY_HANDLE_INVALID)
			return hsm_rv_error(rv, "C_CopyObject");
		*rv_out = CKR_OK;
		(void)snprintf(why, sizeof(why), "C_CopyObject: %s", hsm_rv_name(rv));	/* fits: rv names are short */
		hsm_copy_fallback(key, hsm_copy_refused_for_good(rv), why);
		return 0;
	}
	if ((rc = hsm_copy_check(key, s, copy, &ok, rv_out)) != 0) {
		(void)fn->C_DestroyObject(s->handle, copy);
		return rc;
	}
	if (!ok) {
		rv = fn->C_DestroyObject(s->handle, copy);
		if (rv != CKR_OK)
			sd_log(SD_LOG_ERROR, "hsm: key %s: could not destroy an unsafe copy of it (object 0x%lx): C_DestroyObject: "
			    "%s; if it is a token object, remove it", key->uri, (unsigned long)copy, hsm_rv_name(rv));
		hsm_copy_fallback(key, true, "the copy was not a sensitive, non-extractable session object able to sign");
		return 0;
	}
	*out = copy;
	return 0;
}

int
hsm_key_copy_make(struct hsm_key *key, struct hsm_session *s, CK_OBJECT_HANDLE token_key, CK_OBJECT_HANDLE *out,
    CK_RV *rv_out)
{
	int rc;

	hsm_objects_lock();
	rc = hsm_key_copy_locked(key, s, token_key, out, rv_out);
	hsm_objects_unlock();
	return rc;
}

void
hsm_key_copies_destroy(struct hsm_key *key)
{
	struct hsm *hsm = key->hsm;
	struct hsm_session *s;
	size_t i;

	/*
	 * Best effort, never waiting: a copy whose session is busy, closed or
	 * replaced is left to die with its session. The epoch check makes sure
	 * the handle belongs to the session as it is now.
	 */
	if (!hsm_admit_now(hsm))
		return;
	for (i = 0; i < key->n_cache; i++) {
		/* The cache entry belongs to whoever holds slot i: check it out first. */
		if ((s = hsm_pool_try_slot(hsm->pool, i)) == NULL)
			continue;
		if (key->cache[i].copy != CK_INVALID_HANDLE && key->cache[i].epoch == s->epoch)
			(void)hsm->fn->C_DestroyObject(s->handle, key->cache[i].copy);
		key->cache[i].copy = CK_INVALID_HANDLE;
		hsm_pool_put(hsm->pool, s, false);
	}
	hsm_release(hsm, false);
}
