/*
 * faulty.so: a PKCS#11 module for tests that forwards every call to a real
 * module (SoftHSMv2) and fails chosen functions on command.
 *
 *   FAULTY_MODULE   the real module (default /usr/lib/softhsm/libsofthsm2.so)
 *   FAULTY_CONTROL  the control file, read again whenever it changes
 *   FAULTY_LOG      optional: one line "C_Sign CKR_DEVICE_ERROR" appended per injected fault
 *
 * Control file: one rule per line, "#" starts a comment, an empty file means
 * no faults:
 *
 *   C_Sign CKR_SESSION_HANDLE_INVALID once    the next C_Sign only (once across all threads)
 *   C_Sign CKR_DEVICE_ERROR always            every C_Sign until the file changes
 *   * CKR_DEVICE_REMOVED always               every function
 *
 * The code is a CKR_ name from the table below or a number (0x30). The first
 * matching rule that has not fired yet (once) decides. Rewriting the file
 * (e.g. by rename) rearms "once" rules. An injected fault skips the real
 * call, except for C_Finalize, C_CloseSession, C_CloseAllSessions,
 * C_Logout and C_FindObjectsFinal: those are forwarded first, so that
 * SoftHSM's own state stays consistent, and the fault replaces the result.
 * C_GetFunctionList never fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The real module, and the lowercase type names of the declarations the forwarders were generated from. */
#include "common/p11_real.h"

#define FAULTY_RULES_MAX 32
#define FAULTY_LINE_MAX 256

struct faulty_rule {
	char function[48];	/* "*" matches every function */
	ck_rv_t rv;
	bool once;
	bool fired;
};

static const struct {
	const char *name;
	ck_rv_t rv;
} faulty_codes[] = {
	{ "CKR_OK", CKR_OK },
	{ "CKR_HOST_MEMORY", CKR_HOST_MEMORY },
	{ "CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID },
	{ "CKR_GENERAL_ERROR", CKR_GENERAL_ERROR },
	{ "CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED },
	{ "CKR_DEVICE_ERROR", CKR_DEVICE_ERROR },
	{ "CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY },
	{ "CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED },
	{ "CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID },
	{ "CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID },
	{ "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED },
	{ "CKR_SESSION_CLOSED", CKR_SESSION_CLOSED },
	{ "CKR_SESSION_COUNT", CKR_SESSION_COUNT },
	{ "CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID },
	{ "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT },
	{ "CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED },
	{ "CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN },
	{ "CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED },
};

static pthread_mutex_t faulty_mu = PTHREAD_MUTEX_INITIALIZER;
static struct ck_function_list *faulty_real;	/* set once by C_GetFunctionList, before any other call */
static struct faulty_rule faulty_rules[FAULTY_RULES_MAX];
static size_t faulty_n_rules;
static struct stat faulty_seen;		/* the control file as last read */
static bool faulty_have_seen;

static bool
faulty_code(const char *text, ck_rv_t *rv)
{
	char *end;
	size_t i;

	for (i = 0; i < sizeof(faulty_codes) / sizeof(faulty_codes[0]); i++) {
		if (strcmp(text, faulty_codes[i].name) == 0) {
			*rv = faulty_codes[i].rv;
			return true;
		}
	}
	errno = 0;
	*rv = strtoul(text, &end, 0);
	return errno == 0 && end != text && *end == '\0';
}

/* Read the rules; a malformed line is reported once on stderr and ignored. Caller holds faulty_mu. */
static void
faulty_load(const char *path)
{
	char line[FAULTY_LINE_MAX], fn[48], code[64], when[16];
	struct faulty_rule *r;
	FILE *f;
	int n;

	faulty_n_rules = 0;
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && faulty_n_rules < FAULTY_RULES_MAX) {
		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		n = sscanf(line, "%47s %63s %15s", fn, code, when);
		r = &faulty_rules[faulty_n_rules];
		if (n != 3 || (strcmp(when, "once") != 0 && strcmp(when, "always") != 0) ||
		    !faulty_code(code, &r->rv)) {
			fprintf(stderr, "faulty.so: %s: ignoring malformed rule: %s", path, line);
			continue;
		}
		memcpy(r->function, fn, sizeof(r->function));
		r->once = strcmp(when, "once") == 0;
		r->fired = false;
		faulty_n_rules++;
	}
	(void)fclose(f);	/* read only */
}

static void
faulty_log(const char *function, ck_rv_t rv)
{
	const char *path = getenv("FAULTY_LOG");
	char line[128];
	int fd, n;

	if (path == NULL || path[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "%s 0x%lx\n", function, (unsigned long)rv);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		fprintf(stderr, "faulty.so: cannot write %s\n", path);
	close(fd);
}

/* Whether function must fail now, and with which code (*rv). */
static bool
faulty_fault(const char *function, ck_rv_t *rv)
{
	const char *path = getenv("FAULTY_CONTROL");
	struct stat st;
	bool changed, hit = false;
	size_t i;

	if (path == NULL || path[0] == '\0')
		return false;
	pthread_mutex_lock(&faulty_mu);
	if (stat(path, &st) != 0) {
		faulty_n_rules = 0;
		faulty_have_seen = false;
	} else {
		changed = !faulty_have_seen || st.st_ino != faulty_seen.st_ino || st.st_dev != faulty_seen.st_dev ||
		    st.st_size != faulty_seen.st_size || st.st_mtim.tv_sec != faulty_seen.st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != faulty_seen.st_mtim.tv_nsec;
		if (changed) {
			faulty_load(path);
			faulty_seen = st;
			faulty_have_seen = true;
		}
	}
	for (i = 0; i < faulty_n_rules && !hit; i++) {
		if (strcmp(faulty_rules[i].function, "*") != 0 && strcmp(faulty_rules[i].function, function) != 0)
			continue;
		if (faulty_rules[i].once && faulty_rules[i].fired)
			continue;
		faulty_rules[i].fired = true;
		*rv = faulty_rules[i].rv;
		hit = true;
	}
	pthread_mutex_unlock(&faulty_mu);
	if (hit)
		faulty_log(function, *rv);
	return hit;
}

static ck_rv_t
faulty_C_Initialize(void *init_args)
{
	ck_rv_t rv;

	if (faulty_fault("C_Initialize", &rv))
		return rv;
	return faulty_real->C_Initialize(init_args);
}

static ck_rv_t
faulty_C_Finalize(void *reserved)
{
	ck_rv_t rv = faulty_real->C_Finalize(reserved);

	(void)faulty_fault("C_Finalize", &rv);
	return rv;
}

static ck_rv_t
faulty_C_GetFunctionList(struct ck_function_list **list);

/* Forwarders, one per struct ck_function_list entry (generated from p11-kit/pkcs11.h). */

static ck_rv_t
faulty_C_GetInfo(struct ck_info *info)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetInfo", &rv))
		return rv;
	return faulty_real->C_GetInfo(info);
}

static ck_rv_t
faulty_C_GetSlotList(unsigned char token_present, ck_slot_id_t *slot_list, unsigned long *count)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetSlotList", &rv))
		return rv;
	return faulty_real->C_GetSlotList(token_present, slot_list, count);
}

static ck_rv_t
faulty_C_GetSlotInfo(ck_slot_id_t slot_id, struct ck_slot_info *info)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetSlotInfo", &rv))
		return rv;
	return faulty_real->C_GetSlotInfo(slot_id, info);
}

static ck_rv_t
faulty_C_GetTokenInfo(ck_slot_id_t slot_id, struct ck_token_info *info)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetTokenInfo", &rv))
		return rv;
	return faulty_real->C_GetTokenInfo(slot_id, info);
}

static ck_rv_t
faulty_C_GetMechanismList(ck_slot_id_t slot_id, ck_mechanism_type_t *mechanism_list, unsigned long *count)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetMechanismList", &rv))
		return rv;
	return faulty_real->C_GetMechanismList(slot_id, mechanism_list, count);
}

static ck_rv_t
faulty_C_GetMechanismInfo(ck_slot_id_t slot_id, ck_mechanism_type_t type, struct ck_mechanism_info *info)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetMechanismInfo", &rv))
		return rv;
	return faulty_real->C_GetMechanismInfo(slot_id, type, info);
}

static ck_rv_t
faulty_C_InitToken(ck_slot_id_t slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label)
{
	ck_rv_t rv;

	if (faulty_fault("C_InitToken", &rv))
		return rv;
	return faulty_real->C_InitToken(slot_id, pin, pin_len, label);
}

static ck_rv_t
faulty_C_InitPIN(ck_session_handle_t session, unsigned char *pin, unsigned long pin_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_InitPIN", &rv))
		return rv;
	return faulty_real->C_InitPIN(session, pin, pin_len);
}

static ck_rv_t
faulty_C_SetPIN(ck_session_handle_t session, unsigned char *old_pin, unsigned long old_len, unsigned char *new_pin, unsigned long new_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SetPIN", &rv))
		return rv;
	return faulty_real->C_SetPIN(session, old_pin, old_len, new_pin, new_len);
}

static ck_rv_t
faulty_C_OpenSession(ck_slot_id_t slot_id, ck_flags_t flags, void *application, ck_notify_t notify, ck_session_handle_t *session)
{
	ck_rv_t rv;

	if (faulty_fault("C_OpenSession", &rv))
		return rv;
	return faulty_real->C_OpenSession(slot_id, flags, application, notify, session);
}

static ck_rv_t
faulty_C_CloseSession(ck_session_handle_t session)
{
	ck_rv_t rv = faulty_real->C_CloseSession(session);

	(void)faulty_fault("C_CloseSession", &rv);
	return rv;
}

static ck_rv_t
faulty_C_CloseAllSessions(ck_slot_id_t slot_id)
{
	ck_rv_t rv = faulty_real->C_CloseAllSessions(slot_id);

	(void)faulty_fault("C_CloseAllSessions", &rv);
	return rv;
}

static ck_rv_t
faulty_C_GetSessionInfo(ck_session_handle_t session, struct ck_session_info *info)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetSessionInfo", &rv))
		return rv;
	return faulty_real->C_GetSessionInfo(session, info);
}

static ck_rv_t
faulty_C_GetOperationState(ck_session_handle_t session, unsigned char *operation_state, unsigned long *operation_state_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetOperationState", &rv))
		return rv;
	return faulty_real->C_GetOperationState(session, operation_state, operation_state_len);
}

static ck_rv_t
faulty_C_SetOperationState(ck_session_handle_t session, unsigned char *operation_state, unsigned long operation_state_len, ck_object_handle_t encryption_key, ck_object_handle_t authentiation_key)
{
	ck_rv_t rv;

	if (faulty_fault("C_SetOperationState", &rv))
		return rv;
	return faulty_real->C_SetOperationState(session, operation_state, operation_state_len, encryption_key, authentiation_key);
}

static ck_rv_t
faulty_C_Login(ck_session_handle_t session, ck_user_type_t user_type, unsigned char *pin, unsigned long pin_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Login", &rv))
		return rv;
	return faulty_real->C_Login(session, user_type, pin, pin_len);
}

static ck_rv_t
faulty_C_Logout(ck_session_handle_t session)
{
	ck_rv_t rv = faulty_real->C_Logout(session);

	(void)faulty_fault("C_Logout", &rv);
	return rv;
}

static ck_rv_t
faulty_C_CreateObject(ck_session_handle_t session, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *object)
{
	ck_rv_t rv;

	if (faulty_fault("C_CreateObject", &rv))
		return rv;
	return faulty_real->C_CreateObject(session, templ, count, object);
}

static ck_rv_t
faulty_C_CopyObject(ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *new_object)
{
	ck_rv_t rv;

	if (faulty_fault("C_CopyObject", &rv))
		return rv;
	return faulty_real->C_CopyObject(session, object, templ, count, new_object);
}

static ck_rv_t
faulty_C_DestroyObject(ck_session_handle_t session, ck_object_handle_t object)
{
	ck_rv_t rv;

	if (faulty_fault("C_DestroyObject", &rv))
		return rv;
	return faulty_real->C_DestroyObject(session, object);
}

static ck_rv_t
faulty_C_GetObjectSize(ck_session_handle_t session, ck_object_handle_t object, unsigned long *size)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetObjectSize", &rv))
		return rv;
	return faulty_real->C_GetObjectSize(session, object, size);
}

static ck_rv_t
faulty_C_GetAttributeValue(ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetAttributeValue", &rv))
		return rv;
	return faulty_real->C_GetAttributeValue(session, object, templ, count);
}

static ck_rv_t
faulty_C_SetAttributeValue(ck_session_handle_t session, ck_object_handle_t object, struct ck_attribute *templ, unsigned long count)
{
	ck_rv_t rv;

	if (faulty_fault("C_SetAttributeValue", &rv))
		return rv;
	return faulty_real->C_SetAttributeValue(session, object, templ, count);
}

static ck_rv_t
faulty_C_FindObjectsInit(ck_session_handle_t session, struct ck_attribute *templ, unsigned long count)
{
	ck_rv_t rv;

	if (faulty_fault("C_FindObjectsInit", &rv))
		return rv;
	return faulty_real->C_FindObjectsInit(session, templ, count);
}

static ck_rv_t
faulty_C_FindObjects(ck_session_handle_t session, ck_object_handle_t *object, unsigned long max_object_count, unsigned long *object_count)
{
	ck_rv_t rv;

	if (faulty_fault("C_FindObjects", &rv))
		return rv;
	return faulty_real->C_FindObjects(session, object, max_object_count, object_count);
}

static ck_rv_t
faulty_C_FindObjectsFinal(ck_session_handle_t session)
{
	ck_rv_t rv = faulty_real->C_FindObjectsFinal(session);

	(void)faulty_fault("C_FindObjectsFinal", &rv);
	return rv;
}

static ck_rv_t
faulty_C_EncryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_EncryptInit", &rv))
		return rv;
	return faulty_real->C_EncryptInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_Encrypt(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *encrypted_data, unsigned long *encrypted_data_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Encrypt", &rv))
		return rv;
	return faulty_real->C_Encrypt(session, data, data_len, encrypted_data, encrypted_data_len);
}

static ck_rv_t
faulty_C_EncryptUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_EncryptUpdate", &rv))
		return rv;
	return faulty_real->C_EncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static ck_rv_t
faulty_C_EncryptFinal(ck_session_handle_t session, unsigned char *last_encrypted_part, unsigned long *last_encrypted_part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_EncryptFinal", &rv))
		return rv;
	return faulty_real->C_EncryptFinal(session, last_encrypted_part, last_encrypted_part_len);
}

static ck_rv_t
faulty_C_DecryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_DecryptInit", &rv))
		return rv;
	return faulty_real->C_DecryptInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_Decrypt(ck_session_handle_t session, unsigned char *encrypted_data, unsigned long encrypted_data_len, unsigned char *data, unsigned long *data_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Decrypt", &rv))
		return rv;
	return faulty_real->C_Decrypt(session, encrypted_data, encrypted_data_len, data, data_len);
}

static ck_rv_t
faulty_C_DecryptUpdate(ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DecryptUpdate", &rv))
		return rv;
	return faulty_real->C_DecryptUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static ck_rv_t
faulty_C_DecryptFinal(ck_session_handle_t session, unsigned char *last_part, unsigned long *last_part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DecryptFinal", &rv))
		return rv;
	return faulty_real->C_DecryptFinal(session, last_part, last_part_len);
}

static ck_rv_t
faulty_C_DigestInit(ck_session_handle_t session, struct ck_mechanism *mechanism)
{
	ck_rv_t rv;

	if (faulty_fault("C_DigestInit", &rv))
		return rv;
	return faulty_real->C_DigestInit(session, mechanism);
}

static ck_rv_t
faulty_C_Digest(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *digest, unsigned long *digest_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Digest", &rv))
		return rv;
	return faulty_real->C_Digest(session, data, data_len, digest, digest_len);
}

static ck_rv_t
faulty_C_DigestUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DigestUpdate", &rv))
		return rv;
	return faulty_real->C_DigestUpdate(session, part, part_len);
}

static ck_rv_t
faulty_C_DigestKey(ck_session_handle_t session, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_DigestKey", &rv))
		return rv;
	return faulty_real->C_DigestKey(session, key);
}

static ck_rv_t
faulty_C_DigestFinal(ck_session_handle_t session, unsigned char *digest, unsigned long *digest_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DigestFinal", &rv))
		return rv;
	return faulty_real->C_DigestFinal(session, digest, digest_len);
}

static ck_rv_t
faulty_C_SignInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignInit", &rv))
		return rv;
	return faulty_real->C_SignInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_Sign(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Sign", &rv))
		return rv;
	return faulty_real->C_Sign(session, data, data_len, signature, signature_len);
}

static ck_rv_t
faulty_C_SignUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignUpdate", &rv))
		return rv;
	return faulty_real->C_SignUpdate(session, part, part_len);
}

static ck_rv_t
faulty_C_SignFinal(ck_session_handle_t session, unsigned char *signature, unsigned long *signature_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignFinal", &rv))
		return rv;
	return faulty_real->C_SignFinal(session, signature, signature_len);
}

static ck_rv_t
faulty_C_SignRecoverInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignRecoverInit", &rv))
		return rv;
	return faulty_real->C_SignRecoverInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_SignRecover(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignRecover", &rv))
		return rv;
	return faulty_real->C_SignRecover(session, data, data_len, signature, signature_len);
}

static ck_rv_t
faulty_C_VerifyInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_VerifyInit", &rv))
		return rv;
	return faulty_real->C_VerifyInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_Verify(ck_session_handle_t session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long signature_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_Verify", &rv))
		return rv;
	return faulty_real->C_Verify(session, data, data_len, signature, signature_len);
}

static ck_rv_t
faulty_C_VerifyUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_VerifyUpdate", &rv))
		return rv;
	return faulty_real->C_VerifyUpdate(session, part, part_len);
}

static ck_rv_t
faulty_C_VerifyFinal(ck_session_handle_t session, unsigned char *signature, unsigned long signature_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_VerifyFinal", &rv))
		return rv;
	return faulty_real->C_VerifyFinal(session, signature, signature_len);
}

static ck_rv_t
faulty_C_VerifyRecoverInit(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t key)
{
	ck_rv_t rv;

	if (faulty_fault("C_VerifyRecoverInit", &rv))
		return rv;
	return faulty_real->C_VerifyRecoverInit(session, mechanism, key);
}

static ck_rv_t
faulty_C_VerifyRecover(ck_session_handle_t session, unsigned char *signature, unsigned long signature_len, unsigned char *data, unsigned long *data_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_VerifyRecover", &rv))
		return rv;
	return faulty_real->C_VerifyRecover(session, signature, signature_len, data, data_len);
}

static ck_rv_t
faulty_C_DigestEncryptUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DigestEncryptUpdate", &rv))
		return rv;
	return faulty_real->C_DigestEncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static ck_rv_t
faulty_C_DecryptDigestUpdate(ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DecryptDigestUpdate", &rv))
		return rv;
	return faulty_real->C_DecryptDigestUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static ck_rv_t
faulty_C_SignEncryptUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SignEncryptUpdate", &rv))
		return rv;
	return faulty_real->C_SignEncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static ck_rv_t
faulty_C_DecryptVerifyUpdate(ck_session_handle_t session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_DecryptVerifyUpdate", &rv))
		return rv;
	return faulty_real->C_DecryptVerifyUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static ck_rv_t
faulty_C_GenerateKey(ck_session_handle_t session, struct ck_mechanism *mechanism, struct ck_attribute *templ, unsigned long count, ck_object_handle_t *key)
{
	ck_rv_t rv;

	if (faulty_fault("C_GenerateKey", &rv))
		return rv;
	return faulty_real->C_GenerateKey(session, mechanism, templ, count, key);
}

static ck_rv_t
faulty_C_GenerateKeyPair(ck_session_handle_t session, struct ck_mechanism *mechanism, struct ck_attribute *public_key_template, unsigned long public_key_attribute_count, struct ck_attribute *private_key_template, unsigned long private_key_attribute_count, ck_object_handle_t *public_key, ck_object_handle_t *private_key)
{
	ck_rv_t rv;

	if (faulty_fault("C_GenerateKeyPair", &rv))
		return rv;
	return faulty_real->C_GenerateKeyPair(session, mechanism, public_key_template, public_key_attribute_count, private_key_template, private_key_attribute_count, public_key, private_key);
}

static ck_rv_t
faulty_C_WrapKey(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t wrapping_key, ck_object_handle_t key, unsigned char *wrapped_key, unsigned long *wrapped_key_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_WrapKey", &rv))
		return rv;
	return faulty_real->C_WrapKey(session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len);
}

static ck_rv_t
faulty_C_UnwrapKey(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t unwrapping_key, unsigned char *wrapped_key, unsigned long wrapped_key_len, struct ck_attribute *templ, unsigned long attribute_count, ck_object_handle_t *key)
{
	ck_rv_t rv;

	if (faulty_fault("C_UnwrapKey", &rv))
		return rv;
	return faulty_real->C_UnwrapKey(session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, templ, attribute_count, key);
}

static ck_rv_t
faulty_C_DeriveKey(ck_session_handle_t session, struct ck_mechanism *mechanism, ck_object_handle_t base_key, struct ck_attribute *templ, unsigned long attribute_count, ck_object_handle_t *key)
{
	ck_rv_t rv;

	if (faulty_fault("C_DeriveKey", &rv))
		return rv;
	return faulty_real->C_DeriveKey(session, mechanism, base_key, templ, attribute_count, key);
}

static ck_rv_t
faulty_C_SeedRandom(ck_session_handle_t session, unsigned char *seed, unsigned long seed_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_SeedRandom", &rv))
		return rv;
	return faulty_real->C_SeedRandom(session, seed, seed_len);
}

static ck_rv_t
faulty_C_GenerateRandom(ck_session_handle_t session, unsigned char *random_data, unsigned long random_len)
{
	ck_rv_t rv;

	if (faulty_fault("C_GenerateRandom", &rv))
		return rv;
	return faulty_real->C_GenerateRandom(session, random_data, random_len);
}

static ck_rv_t
faulty_C_GetFunctionStatus(ck_session_handle_t session)
{
	ck_rv_t rv;

	if (faulty_fault("C_GetFunctionStatus", &rv))
		return rv;
	return faulty_real->C_GetFunctionStatus(session);
}

static ck_rv_t
faulty_C_CancelFunction(ck_session_handle_t session)
{
	ck_rv_t rv;

	if (faulty_fault("C_CancelFunction", &rv))
		return rv;
	return faulty_real->C_CancelFunction(session);
}

static ck_rv_t
faulty_C_WaitForSlotEvent(ck_flags_t flags, ck_slot_id_t *slot, void *reserved)
{
	ck_rv_t rv;

	if (faulty_fault("C_WaitForSlotEvent", &rv))
		return rv;
	return faulty_real->C_WaitForSlotEvent(flags, slot, reserved);
}

static struct ck_function_list faulty_list = {
	{ CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR },
	faulty_C_Initialize,
	faulty_C_Finalize,
	faulty_C_GetInfo,
	faulty_C_GetFunctionList,
	faulty_C_GetSlotList,
	faulty_C_GetSlotInfo,
	faulty_C_GetTokenInfo,
	faulty_C_GetMechanismList,
	faulty_C_GetMechanismInfo,
	faulty_C_InitToken,
	faulty_C_InitPIN,
	faulty_C_SetPIN,
	faulty_C_OpenSession,
	faulty_C_CloseSession,
	faulty_C_CloseAllSessions,
	faulty_C_GetSessionInfo,
	faulty_C_GetOperationState,
	faulty_C_SetOperationState,
	faulty_C_Login,
	faulty_C_Logout,
	faulty_C_CreateObject,
	faulty_C_CopyObject,
	faulty_C_DestroyObject,
	faulty_C_GetObjectSize,
	faulty_C_GetAttributeValue,
	faulty_C_SetAttributeValue,
	faulty_C_FindObjectsInit,
	faulty_C_FindObjects,
	faulty_C_FindObjectsFinal,
	faulty_C_EncryptInit,
	faulty_C_Encrypt,
	faulty_C_EncryptUpdate,
	faulty_C_EncryptFinal,
	faulty_C_DecryptInit,
	faulty_C_Decrypt,
	faulty_C_DecryptUpdate,
	faulty_C_DecryptFinal,
	faulty_C_DigestInit,
	faulty_C_Digest,
	faulty_C_DigestUpdate,
	faulty_C_DigestKey,
	faulty_C_DigestFinal,
	faulty_C_SignInit,
	faulty_C_Sign,
	faulty_C_SignUpdate,
	faulty_C_SignFinal,
	faulty_C_SignRecoverInit,
	faulty_C_SignRecover,
	faulty_C_VerifyInit,
	faulty_C_Verify,
	faulty_C_VerifyUpdate,
	faulty_C_VerifyFinal,
	faulty_C_VerifyRecoverInit,
	faulty_C_VerifyRecover,
	faulty_C_DigestEncryptUpdate,
	faulty_C_DecryptDigestUpdate,
	faulty_C_SignEncryptUpdate,
	faulty_C_DecryptVerifyUpdate,
	faulty_C_GenerateKey,
	faulty_C_GenerateKeyPair,
	faulty_C_WrapKey,
	faulty_C_UnwrapKey,
	faulty_C_DeriveKey,
	faulty_C_SeedRandom,
	faulty_C_GenerateRandom,
	faulty_C_GetFunctionStatus,
	faulty_C_CancelFunction,
	faulty_C_WaitForSlotEvent,
};

static pthread_once_t faulty_once = PTHREAD_ONCE_INIT;

static void
faulty_open_real(void)
{
	faulty_real = p11_real_load("FAULTY_MODULE", "faulty.so");
}

static ck_rv_t
faulty_C_GetFunctionList(struct ck_function_list **list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pthread_once(&faulty_once, faulty_open_real) != 0 || faulty_real == NULL)
		return CKR_GENERAL_ERROR;
	*list = &faulty_list;
	return CKR_OK;
}

ck_rv_t C_GetFunctionList(struct ck_function_list **list);

ck_rv_t
C_GetFunctionList(struct ck_function_list **list)
{
	return faulty_C_GetFunctionList(list);
}
