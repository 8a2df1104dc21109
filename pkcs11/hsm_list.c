/*
 * Listings for operators: the module, its slots and tokens, the token's
 * mechanisms and its private keys with their security attributes, and
 * whether each key is fit to be a signerd CA key (same rule as
 * hsm_key_find(): sensitive, never extractable, may sign, a supported type).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm_int.h"
#include "sd_file.h"

#define HSM_LIST_KEYS_MAX 1024
#define HSM_LIST_MECHS_MAX 1024

static void
hsm_list_text(const unsigned char *field, size_t width, char *out)
{
	size_t len = width;

	while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\0'))
		len--;
	memcpy(out, field, len);
	out[len] = '\0';
}

int
hsm_list_module(const char *module_path, struct hsm_module_info *out)
{
	CK_FUNCTION_LIST *fn = NULL;
	CK_INFO info;
	CK_RV rv;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hsm_module_open(module_path, &fn)) != 0)
		return rc;
	if ((rv = fn->C_GetInfo(&info)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetInfo");
		goto out;
	}
	hsm_list_text(info.manufacturerID, sizeof(info.manufacturerID), out->manufacturer);
	hsm_list_text(info.libraryDescription, sizeof(info.libraryDescription), out->description);
	out->cryptoki_major = info.cryptokiVersion.major;
	out->cryptoki_minor = info.cryptokiVersion.minor;
	out->library_major = info.libraryVersion.major;
	out->library_minor = info.libraryVersion.minor;
	rc = 0;
out:
	hsm_module_close(fn);
	return rc;
}

static void
hsm_list_token(const CK_TOKEN_INFO *ti, struct hsm_slot_info *si)
{
	hsm_list_text(ti->label, sizeof(ti->label), si->label);
	hsm_list_text(ti->manufacturerID, sizeof(ti->manufacturerID), si->token_manufacturer);
	hsm_list_text(ti->model, sizeof(ti->model), si->model);
	hsm_list_text(ti->serialNumber, sizeof(ti->serialNumber), si->serial);
	si->initialized = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;
	si->login_required = (ti->flags & CKF_LOGIN_REQUIRED) != 0;
	si->user_pin_initialized = (ti->flags & CKF_USER_PIN_INITIALIZED) != 0;
	si->user_pin_locked = (ti->flags & CKF_USER_PIN_LOCKED) != 0;
	si->user_pin_low = (ti->flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)) != 0;
	si->so_pin_locked = (ti->flags & CKF_SO_PIN_LOCKED) != 0;
	si->write_protected = (ti->flags & CKF_WRITE_PROTECTED) != 0;
	si->rng = (ti->flags & CKF_RNG) != 0;
	si->protected_auth_path = (ti->flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
	si->sessions = ti->ulSessionCount == CK_UNAVAILABLE_INFORMATION ? ~0UL : ti->ulSessionCount;
	si->max_sessions = ti->ulMaxSessionCount == CK_UNAVAILABLE_INFORMATION ? ~0UL : ti->ulMaxSessionCount;
}

int
hsm_list_slots(const char *module_path, int (*cb)(const struct hsm_slot_info *, void *), void *ctx)
{
	CK_FUNCTION_LIST *fn = NULL;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_SLOT_INFO sl;
	CK_TOKEN_INFO ti;
	struct hsm_slot_info si;
	CK_RV rv;
	int rc;

	if ((rc = hsm_module_open(module_path, &fn)) != 0)
		return rc;
	/* All slots, with or without a token (hsm_slots_get() lists only those with one). */
	if ((rv = fn->C_GetSlotList(CK_FALSE, NULL, &n)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetSlotList");
		goto out;
	}
	if (n > 1024) {
		rc = sd_error_set(SD_E_HSM, "C_GetSlotList: %lu slots", (unsigned long)n);
		goto out;
	}
	if ((slots = calloc(n + 1, sizeof(*slots))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rv = fn->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetSlotList");
		goto out;
	}
	for (i = 0; i < n; i++) {
		memset(&si, 0, sizeof(si));
		si.id = slots[i];
		if ((rv = fn->C_GetSlotInfo(slots[i], &sl)) != CKR_OK) {
			rc = hsm_rv_error(rv, "C_GetSlotInfo");
			goto out;
		}
		hsm_list_text(sl.slotDescription, sizeof(sl.slotDescription), si.description);
		hsm_list_text(sl.manufacturerID, sizeof(sl.manufacturerID), si.manufacturer);
		si.hardware = (sl.flags & CKF_HW_SLOT) != 0;
		si.removable = (sl.flags & CKF_REMOVABLE_DEVICE) != 0;
		si.token_present = (sl.flags & CKF_TOKEN_PRESENT) != 0;
		if (si.token_present && fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK)
			hsm_list_token(&ti, &si);
		else
			si.token_present = false;
		if ((rc = cb(&si, ctx)) != 0)
			goto out;
	}
	rc = 0;
out:
	free(slots);
	hsm_module_close(fn);
	return rc;
}

static const struct {
	CK_MECHANISM_TYPE mech;
	const char *name;
} hsm_mech_names[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN" },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS" },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS" },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS" },
	{ CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS" },
	{ CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS" },
	{ CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS" },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS" },
	{ CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS" },
	{ CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN" },
	{ CKM_ECDSA, "CKM_ECDSA" },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256" },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384" },
	{ CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512" },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, "CKM_EC_EDWARDS_KEY_PAIR_GEN" },
	{ CKM_EDDSA, "CKM_EDDSA" },
	{ CKM_SHA256, "CKM_SHA256" },
	{ CKM_SHA384, "CKM_SHA384" },
	{ CKM_SHA512, "CKM_SHA512" },
};

int
hsm_list_mechanisms(struct hsm *hsm, int (*cb)(const struct hsm_mech_info *, void *), void *ctx)
{
	CK_MECHANISM_TYPE *mechs = NULL;
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 0, i;
	struct hsm_mech_info info;
	size_t k;
	bool probe, admitted = false;
	CK_RV rv;
	int rc;

	if (hsm == NULL)
		return sd_error_set(SD_E_INVAL, "HSM not open");
	if ((rc = hsm_admit(hsm, hsm_now_ms() + HSM_FIND_BUDGET_MS, &probe)) != 0)
		return rc;
	admitted = true;
	if ((rv = hsm->fn->C_GetMechanismList(hsm->slot, NULL, &n)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetMechanismList");
		goto out;
	}
	if (n > HSM_LIST_MECHS_MAX) {
		rc = sd_error_set(SD_E_HSM, "C_GetMechanismList: %lu mechanisms", (unsigned long)n);
		goto out;
	}
	if ((mechs = calloc(n + 1, sizeof(*mechs))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rv = hsm->fn->C_GetMechanismList(hsm->slot, mechs, &n)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetMechanismList");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (hsm->fn->C_GetMechanismInfo(hsm->slot, mechs[i], &mi) != CKR_OK)
			continue;
		/* Only what CA keys of the supported types need (the table above). */
		for (k = 0; k < sizeof(hsm_mech_names) / sizeof(hsm_mech_names[0]); k++)
			if (hsm_mech_names[k].mech == mechs[i])
				break;
		if (k == sizeof(hsm_mech_names) / sizeof(hsm_mech_names[0]))
			continue;
		memset(&info, 0, sizeof(info));
		(void)snprintf(info.name, sizeof(info.name), "%s", hsm_mech_names[k].name);
		info.min_key = mi.ulMinKeySize;
		info.max_key = mi.ulMaxKeySize;
		info.hw = (mi.flags & CKF_HW) != 0;
		info.sign = (mi.flags & CKF_SIGN) != 0;
		info.verify = (mi.flags & CKF_VERIFY) != 0;
		info.generate_key_pair = (mi.flags & CKF_GENERATE_KEY_PAIR) != 0;
		info.digest = (mi.flags & CKF_DIGEST) != 0;
		if ((rc = cb(&info, ctx)) != 0)
			goto out;
	}
	rc = 0;
out:
	free(mechs);
	if (admitted)
		hsm_release(hsm, probe);
	return rc;
}

/* Printable label, else its hex. */
static void
hsm_list_label(const uint8_t *v, size_t len, char *out, size_t cap)
{
	size_t i;
	bool printable = true;

	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f)
			printable = false;
	if (printable && len < cap) {
		memcpy(out, v, len);
		out[len] = '\0';
		return;
	}
	out[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < cap; i++)
		(void)snprintf(out + 2 * i, cap - 2 * i, "%02x", v[i]);
}

/* Read one attribute into buf (cap bytes); *len 0 when unavailable or too large. */
static void
hsm_list_attr(struct hsm *hsm, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf,
    size_t cap, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };

	*len = 0;
	if (hsm->fn->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a.ulValueLen > cap)
		return;
	a.pValue = buf;
	if (hsm->fn->C_GetAttributeValue(s, o, &a, 1) == CKR_OK)
		*len = a.ulValueLen;
}

static bool
hsm_list_bool(struct hsm *hsm, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	size_t len;

	hsm_list_attr(hsm, s, o, type, &v, sizeof(v), &len);
	return len == sizeof(v) && v == CK_TRUE;
}

/* Type, size and CA fitness of one private key. */
static void
hsm_list_key(struct hsm *hsm, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, struct hsm_key_info *ki)
{
	uint8_t buf[1024];
	CK_KEY_TYPE kt = 0;
	enum hsm_key_type t;
	size_t len;
	bool known = false;

	memset(ki, 0, sizeof(*ki));
	hsm_list_attr(hsm, s, o, CKA_LABEL, buf, sizeof(buf), &len);
	hsm_list_label(buf, len, ki->label, sizeof(ki->label));
	hsm_list_attr(hsm, s, o, CKA_ID, buf, 64, &len);
	sd_hex_encode(buf, len, ki->id_hex);
	ki->sensitive = hsm_list_bool(hsm, s, o, CKA_SENSITIVE);
	ki->extractable = hsm_list_bool(hsm, s, o, CKA_EXTRACTABLE);
	ki->always_sensitive = hsm_list_bool(hsm, s, o, CKA_ALWAYS_SENSITIVE);
	ki->never_extractable = hsm_list_bool(hsm, s, o, CKA_NEVER_EXTRACTABLE);
	ki->can_sign = hsm_list_bool(hsm, s, o, CKA_SIGN);
	ki->private_obj = hsm_list_bool(hsm, s, o, CKA_PRIVATE);
	ki->local = hsm_list_bool(hsm, s, o, CKA_LOCAL);
	hsm_list_attr(hsm, s, o, CKA_KEY_TYPE, &kt, sizeof(kt), &len);
	/* Each text below fits its field in struct hsm_key_info (hsm.h). */
	if (len != sizeof(kt)) {
		(void)snprintf(ki->type, sizeof(ki->type), "unknown");
	} else if (kt == CKK_RSA) {
		hsm_list_attr(hsm, s, o, CKA_MODULUS, buf, sizeof(buf), &len);
		while (len > 0 && buf[0] == 0) {
			memmove(buf, buf + 1, len - 1);
			len--;
		}
		ki->bits = (unsigned)len * 8;
		if (len > 0)
			for (unsigned top = buf[0]; (top & 0x80) == 0; top <<= 1)	/* buf[0] != 0 */
				ki->bits--;
		known = ki->bits == 2048 || ki->bits == 3072 || ki->bits == 4096;
		if (known)
			(void)snprintf(ki->type, sizeof(ki->type), "rsa%u", ki->bits);
		else
			(void)snprintf(ki->type, sizeof(ki->type), "RSA-%u", ki->bits);
	} else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
		hsm_list_attr(hsm, s, o, CKA_EC_PARAMS, buf, sizeof(buf), &len);
		if (hsm_curve_from_params(buf, len, &t) == 0 && (kt == CKK_EC_EDWARDS) == (t == HSM_KEY_ED25519)) {
			known = true;
			(void)snprintf(ki->type, sizeof(ki->type), "%s", hsm_key_type_name(t));
			ki->bits = t == HSM_KEY_P256 || t == HSM_KEY_ED25519 ? 256 : t == HSM_KEY_P384 ? 384 : 521;
		} else {
			(void)snprintf(ki->type, sizeof(ki->type), kt == CKK_EC ? "EC (other curve)" : "EdDSA (other curve)");
		}
	} else {
		(void)snprintf(ki->type, sizeof(ki->type), "CKK 0x%lx", (unsigned long)kt);
	}
	if (!ki->sensitive)
		(void)snprintf(ki->why, sizeof(ki->why), "not sensitive");
	else if (ki->extractable)
		(void)snprintf(ki->why, sizeof(ki->why), "extractable");
	else if (!ki->can_sign)
		(void)snprintf(ki->why, sizeof(ki->why), "CKA_SIGN is false");
	else if (!known)
		(void)snprintf(ki->why, sizeof(ki->why), "unsupported key type or size");
	else {
		ki->usable = true;
		if (!ki->always_sensitive || !ki->never_extractable)
			(void)snprintf(ki->why, sizeof(ki->why), "note: imported or once extractable (not generated in the token)");
	}
}

int
hsm_list_keys(struct hsm *hsm, int (*cb)(const struct hsm_key_info *, void *), void *ctx)
{
	struct hsm_session *sess = NULL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BBOOL on_token = CK_TRUE;
	/* Token objects only: session copies of keys (session_keys) are not keys of their own. */
	CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_TOKEN, &on_token, sizeof(on_token) } };
	CK_OBJECT_HANDLE *objs = NULL;
	struct hsm_key_info ki;
	size_t count, i;
	bool probe, admitted = false;
	CK_RV rv = CKR_OK;
	int rc;

	if (hsm == NULL)
		return sd_error_set(SD_E_INVAL, "HSM not open");
	if ((objs = calloc(HSM_LIST_KEYS_MAX, sizeof(*objs))) == NULL)
		return SD_E_NOMEM;
	if ((rc = hsm_admit(hsm, hsm_now_ms() + HSM_FIND_BUDGET_MS, &probe)) != 0)
		goto out;
	admitted = true;
	if ((rc = hsm_pool_get(hsm->pool, hsm_now_ms() + HSM_FIND_BUDGET_MS, false, &sess, &rv)) != 0)
		goto out;
	hsm_objects_lock();
	rc = hsm_objects_find(hsm, sess->handle, tmpl, 2, objs, HSM_LIST_KEYS_MAX, &count, &rv);
	hsm_objects_unlock();
	if (rc != 0)
		goto out;
	for (i = 0; i < count; i++) {
		hsm_list_key(hsm, sess->handle, objs[i], &ki);
		if ((rc = cb(&ki, ctx)) != 0)
			goto out;
	}
	rc = 0;
out:
	if (sess != NULL)
		hsm_pool_put(hsm->pool, sess, hsm_rv_is_fault(rv));
	if (admitted)
		hsm_release(hsm, probe);
	free(objs);
	return rc;
}
