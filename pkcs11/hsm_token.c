/*
 * Token initialisation for demos and tests (SoftHSM): C_InitToken, then the
 * security officer sets the user PIN.
 */
#include <stdlib.h>
#include <string.h>

#include "hsm_int.h"
#include "sd_file.h"

static bool
hsm_token_label_is(const CK_TOKEN_INFO *ti, const unsigned char padded[32])
{
	return memcmp(ti->label, padded, 32) == 0;
}

/* The initialised token labelled padded, if exactly one, else the first uninitialised one. */
static int
hsm_token_scan(CK_FUNCTION_LIST *fn, const unsigned char padded[32], CK_SLOT_ID *labelled, size_t *n_labelled,
    CK_SLOT_ID *blank, bool *have_blank)
{
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	size_t n, i;
	int rc;

	*n_labelled = 0;
	*have_blank = false;
	if ((rc = hsm_slots_get(fn, &slots, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0) {
			if (!*have_blank) {
				*blank = slots[i];
				*have_blank = true;
			}
		} else if (hsm_token_label_is(&ti, padded)) {
			if ((*n_labelled)++ == 0)
				*labelled = slots[i];
		}
	}
	free(slots);
	return 0;
}

int
hsm_token_init(const char *module_path, const char *label, const char *so_pin_file, const char *user_pin_file)
{
	CK_FUNCTION_LIST *fn = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot = 0, blank = 0;
	unsigned char padded[32];
	char *so_pin = NULL, *user_pin = NULL;
	size_t so_len = 0, user_len = 0, label_len, n_labelled, i;
	bool have_blank, logged_in = false;
	CK_RV rv;
	int rc;

	if (module_path == NULL || label == NULL || so_pin_file == NULL || user_pin_file == NULL)
		return sd_error_set(SD_E_INVAL, "hsm_token_init: missing argument");
	label_len = strlen(label);
	if (label_len == 0 || label_len > sizeof(padded))
		return sd_error_set(SD_E_INVAL, "token label must be 1 to %zu bytes", sizeof(padded));
	for (i = 0; i < label_len; i++)
		if ((unsigned char)label[i] < 0x20 || (unsigned char)label[i] >= 0x7f)
			return sd_error_set(SD_E_INVAL, "token label must be printable ASCII");
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, label_len);

	if ((rc = sd_secret_read(so_pin_file, &so_pin, &so_len)) != 0 ||
	    (rc = sd_secret_read(user_pin_file, &user_pin, &user_len)) != 0)
		goto out;
	if ((rc = hsm_module_open(module_path, &fn)) != 0)
		goto out;
	if ((rc = hsm_token_scan(fn, padded, &slot, &n_labelled, &blank, &have_blank)) != 0)
		goto out;
	if (n_labelled > 0) {
		rc = sd_error_set(SD_E_INVAL, "a token labelled %s already exists", label);
		goto out;
	}
	if (!have_blank) {
		rc = sd_error_set(SD_E_NOT_FOUND, "no slot holds an uninitialised token");
		goto out;
	}
	if ((rv = fn->C_InitToken(blank, (CK_UTF8CHAR *)so_pin, so_len, padded)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_InitToken");
		goto out;
	}
	/* SoftHSM moves the new token to a slot numbered after its serial: look it up again. */
	if ((rc = hsm_token_scan(fn, padded, &slot, &n_labelled, &blank, &have_blank)) != 0)
		goto out;
	if (n_labelled != 1) {
		rc = sd_error_set(SD_E_HSM, "token %s not found once after C_InitToken", label);
		goto out;
	}
	if ((rv = fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_OpenSession");
		goto out;
	}
	if ((rv = fn->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, so_len)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_Login as security officer");
		goto out;
	}
	logged_in = true;
	if ((rv = fn->C_InitPIN(s, (CK_UTF8CHAR *)user_pin, user_len)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_InitPIN");
		goto out;
	}
	rc = 0;
out:
	sd_secret_free(so_pin, so_len);
	sd_secret_free(user_pin, user_len);
	if (logged_in)
		(void)fn->C_Logout(s);
	if (s != CK_INVALID_HANDLE)
		(void)fn->C_CloseSession(s);
	hsm_module_close(fn);
	return rc;
}
