/*
 * The token and the login: hsm_open(), hsm_close(), hsm_health(). Module
 * loading is in hsm_module.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm_int.h"
#include "hsm_uri.h"
#include "sd_file.h"

#define HSM_SLOTS_MAX 1024

int
hsm_slots_get(CK_FUNCTION_LIST *fn, CK_SLOT_ID **out, size_t *n_out)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	int rc, tries;

	*out = NULL;
	*n_out = 0;
	/* The slot count may grow between the two calls (SoftHSM adds a slot after C_InitToken). */
	for (tries = 0; tries < 3; tries++) {
		if ((rv = fn->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
			rc = hsm_rv_error(rv, "C_GetSlotList");
			goto out;
		}
		if (n > HSM_SLOTS_MAX) {
			rc = sd_error_set(SD_E_HSM, "C_GetSlotList: %lu slots", (unsigned long)n);
			goto out;
		}
		free(slots);
		if ((slots = calloc(n > 0 ? n : 1, sizeof(*slots))) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		rv = fn->C_GetSlotList(CK_TRUE, slots, &n);
		if (rv == CKR_BUFFER_TOO_SMALL)
			continue;
		if (rv != CKR_OK) {
			rc = hsm_rv_error(rv, "C_GetSlotList");
			goto out;
		}
		*out = slots;
		*n_out = n;
		slots = NULL;
		rc = 0;
		goto out;
	}
	rc = sd_error_set(SD_E_HSM, "C_GetSlotList: slot list keeps changing");
out:
	free(slots);
	return rc;
}

static void
hsm_label_trim(const unsigned char *field, size_t width, char *out)
{
	size_t len = width;

	while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\0'))
		len--;
	memcpy(out, field, len);
	out[len] = '\0';
}

int
hsm_token_find(struct hsm *hsm, const unsigned char *serial, CK_SLOT_ID *slot, CK_TOKEN_INFO *info)
{
	CK_FUNCTION_LIST *fn = hsm->fn;
	CK_SLOT_ID *slots = NULL;
	CK_TOKEN_INFO ti;
	size_t n, i, matches = 0;
	int rc;

	if ((rc = hsm_slots_get(fn, &slots, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;	/* token removed meanwhile */
		if ((ti.flags & CKF_TOKEN_INITIALIZED) == 0)
			continue;
		if (!hsm_uri_token_match(hsm->token_uri, ti.label, ti.manufacturerID, ti.model, ti.serialNumber))
			continue;
		if (serial != NULL && memcmp(serial, ti.serialNumber, sizeof(ti.serialNumber)) != 0)
			continue;
		if (matches++ == 0) {
			*slot = slots[i];
			*info = ti;
		}
	}
	if (matches == 0)
		rc = sd_error_set(SD_E_NOT_FOUND, "no initialised token matches %s%s", hsm->token_uri_text,
		    serial != NULL ? " with the serial found at start" : "");
	else if (matches > 1)
		rc = sd_error_set(SD_E_URI, "%zu tokens match %s; add serial= to choose one", matches, hsm->token_uri_text);
	else
		rc = 0;
out:
	free(slots);
	return rc;
}

/* Keep a copy of the PIN in one locked, non-dumpable page for re-login after faults. */
static int
hsm_pin_keep(struct hsm *hsm, const char *pin, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (page <= 0 || len >= (size_t)page)
		return sd_error_set(SD_E_PIN, "PIN too long");
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return sd_error_set(SD_E_NOMEM, "mmap for the PIN: %s", strerror(errno));
	if (mlock(p, (size_t)page) != 0) {
		munmap(p, (size_t)page);
		return sd_error_set(SD_E_NOMEM, "mlock for the PIN: %s (raise RLIMIT_MEMLOCK)", strerror(errno));
	}
	(void)madvise(p, (size_t)page, MADV_DONTDUMP);
	memcpy(p, pin, len);
	hsm->pin = p;
	hsm->pin_len = len;
	hsm->pin_map_len = (size_t)page;
	return 0;
}

/* Caller holds login_mu (or is the only user). */
static void
hsm_pin_wipe(struct hsm *hsm)
{
	if (hsm->pin == NULL)
		return;
	OPENSSL_cleanse(hsm->pin, hsm->pin_map_len);
	munlock(hsm->pin, hsm->pin_map_len);
	munmap(hsm->pin, hsm->pin_map_len);
	hsm->pin = NULL;
	hsm->pin_len = 0;
	hsm->pin_map_len = 0;
}

/* Log the application in through session h unless it already is. */
static int
hsm_login(struct hsm *hsm, CK_SESSION_HANDLE h, CK_RV *rv_out)
{
	CK_SESSION_INFO si;
	CK_RV rv;
	int rc;

	pthread_mutex_lock(&hsm->login_mu);
	if ((rv = hsm->fn->C_GetSessionInfo(h, &si)) != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GetSessionInfo");
		goto out;
	}
	if (si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS) {
		rc = 0;
		goto out;
	}
	if (hsm->pin_refused || hsm->pin == NULL) {
		rv = CKR_PIN_INCORRECT;
		rc = sd_error_set(SD_E_PIN, "token %s refused the PIN earlier; not trying it again", hsm->token_label);
		goto out;
	}
	rv = hsm->fn->C_Login(h, CKU_USER, (CK_UTF8CHAR *)hsm->pin, hsm->pin_len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		rv = CKR_OK;
		rc = 0;
		goto out;
	}
	if (hsm_rv_code(rv) == SD_E_PIN) {
		/* Never retry a refused PIN: each attempt brings the token closer to locking. */
		hsm->pin_refused = true;
		hsm_pin_wipe(hsm);
	}
	rc = hsm_rv_error(rv, "C_Login");
out:
	pthread_mutex_unlock(&hsm->login_mu);
	*rv_out = rv;
	return rc;
}

int
hsm_session_open(struct hsm *hsm, bool rw, CK_SESSION_HANDLE *out, CK_RV *rv_out)
{
	CK_SESSION_HANDLE h;
	CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
	CK_RV rv;
	int rc;

	*out = CK_INVALID_HANDLE;
	if ((rv = hsm->fn->C_OpenSession(hsm->slot, flags, NULL, NULL, &h)) != CKR_OK) {
		*rv_out = rv;
		return hsm_rv_error(rv, "C_OpenSession");
	}
	if (hsm->login_required && (rc = hsm_login(hsm, h, rv_out)) != 0) {
		(void)hsm->fn->C_CloseSession(h);
		return rc;
	}
	*rv_out = CKR_OK;
	*out = h;
	return 0;
}

void
hsm_session_close(struct hsm *hsm, CK_SESSION_HANDLE handle)
{
	if (handle != CK_INVALID_HANDLE)
		(void)hsm->fn->C_CloseSession(handle);
}

int
hsm_open(const struct hsm_config *cfg, struct hsm **out)
{
	struct hsm *hsm = NULL;
	CK_TOKEN_INFO ti;
	char *pin = NULL;
	size_t pin_len = 0, n;
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->module_path == NULL || cfg->token_uri == NULL || cfg->pin_file == NULL)
		return sd_error_set(SD_E_INVAL, "hsm_open: module, token URI and PIN file are required");
	n = cfg->pool_size == 0 ? HSM_POOL_DEFAULT : cfg->pool_size;
	if (n > HSM_POOL_MAX)
		return sd_error_set(SD_E_INVAL, "HSM session pool of %zu exceeds %d", n, HSM_POOL_MAX);
	if ((hsm = calloc(1, sizeof(*hsm))) == NULL)
		return SD_E_NOMEM;
	atomic_init(&hsm->pin_refused, false);
	atomic_init(&hsm->session_keys, false);
	if (pthread_mutex_init(&hsm->login_mu, NULL) != 0) {
		free(hsm);
		return SD_E_NOMEM;
	}
	if (pthread_mutex_init(&hsm->keygen_mu, NULL) != 0) {
		pthread_mutex_destroy(&hsm->login_mu);
		free(hsm);
		return SD_E_NOMEM;
	}
	if (hsm_state_init(&hsm->st) != 0) {
		pthread_mutex_destroy(&hsm->keygen_mu);
		pthread_mutex_destroy(&hsm->login_mu);
		free(hsm);
		return SD_E_NOMEM;
	}
	if ((rc = hsm_uri_parse(cfg->token_uri, &hsm->token_uri)) != 0)
		goto out;
	if (hsm_uri_has_object_attrs(hsm->token_uri)) {
		rc = sd_error_set(SD_E_URI, "token URI %s names an object; keys are named separately", cfg->token_uri);
		goto out;
	}
	if ((hsm->token_uri_text = strdup(cfg->token_uri)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}

	/* Read the PIN before touching the token: a bad PIN file fails without a login attempt. */
	if ((rc = sd_secret_read(cfg->pin_file, &pin, &pin_len)) != 0)
		goto out;
	rc = hsm_pin_keep(hsm, pin, pin_len);
	sd_secret_free(pin, pin_len);
	pin = NULL;
	if (rc != 0)
		goto out;

	if ((rc = hsm_module_open(cfg->module_path, &hsm->fn)) != 0)
		goto out;
	if ((rc = hsm_token_find(hsm, NULL, &hsm->slot, &ti)) != 0)
		goto out;
	hsm->token_info = ti;
	hsm_label_trim(ti.label, sizeof(ti.label), hsm->token_label);
	if (ti.flags & CKF_USER_PIN_LOCKED) {
		rc = sd_error_set(SD_E_PIN, "the user PIN of token %s is locked; the security officer must reset it", hsm->token_label);
		goto out;
	}
	if ((ti.flags & CKF_USER_PIN_INITIALIZED) == 0 && (ti.flags & CKF_LOGIN_REQUIRED)) {
		rc = sd_error_set(SD_E_PIN, "token %s has no user PIN yet", hsm->token_label);
		goto out;
	}
	hsm->login_required = (ti.flags & CKF_LOGIN_REQUIRED) != 0;
	/* Opens every session now: the first one logs in, so a wrong PIN fails here, once. */
	if ((rc = hsm_pool_new(hsm, n, &hsm->pool)) != 0)
		goto out;
	*out = hsm;
	hsm = NULL;
	rc = 0;
out:
	hsm_close(hsm);
	return rc;
}

void
hsm_close(struct hsm *hsm)
{
	if (hsm == NULL)
		return;
	hsm_pool_free(hsm->pool);
	hsm_module_close(hsm->fn);
	hsm_pin_wipe(hsm);
	hsm_uri_free(hsm->token_uri);
	free(hsm->token_uri_text);
	hsm_state_destroy(&hsm->st);
	pthread_mutex_destroy(&hsm->keygen_mu);
	pthread_mutex_destroy(&hsm->login_mu);
	free(hsm);
}

void
hsm_session_keys_set(struct hsm *hsm, bool on)
{
	if (hsm != NULL)
		atomic_store(&hsm->session_keys, on);
}

/* A cheap check (token info, a logged-in session) and, when a key is known, a probe signature. */
static int
hsm_health_check(struct hsm *hsm, bool sign, uint64_t deadline_ms, CK_RV *rv_out, bool *token_lost)
{
	struct hsm_session *s = NULL;
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO si;
	CK_RV rv;
	int rc;

	*rv_out = CKR_OK;
	*token_lost = false;
	if ((rv = hsm->fn->C_GetTokenInfo(hsm->slot, &ti)) != CKR_OK) {
		/*
		 * Whatever the code (SoftHSM says CKR_GENERAL_ERROR when its token
		 * directory is gone), a token that cannot describe itself is down
		 * and only a module re-initialisation finds it again. Signing may
		 * not notice: session copies of keys live in the sessions.
		 */
		*rv_out = rv;
		*token_lost = true;
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "C_GetTokenInfo: %s", hsm_rv_name(rv));
	}
	if ((rc = hsm_pool_get(hsm->pool, deadline_ms, false, &s, rv_out)) != 0)
		return rc;
	rv = hsm->fn->C_GetSessionInfo(s->handle, &si);
	if (rv == CKR_OK && hsm->login_required && si.state != CKS_RO_USER_FUNCTIONS &&
	    si.state != CKS_RW_USER_FUNCTIONS)
		rv = CKR_USER_NOT_LOGGED_IN;
	hsm_pool_put(hsm->pool, s, rv != CKR_OK);
	*rv_out = rv;
	if (rv != CKR_OK)
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "session check: %s", hsm_rv_name(rv));
	if (sign && hsm->st.probe_key != NULL)
		return hsm_sign_probe(hsm->st.probe_key, deadline_ms, rv_out);
	return 0;
}

int
hsm_health(struct hsm *hsm)
{
	uint64_t deadline;
	bool probe, token_lost;
	CK_RV rv;
	char why[HSM_REASON_MAX];
	int rc;

	if (hsm == NULL)
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "HSM not open");
	deadline = hsm_now_ms() + HSM_HEALTH_BUDGET_MS;
	/* While the token is down this fails fast with the reason, or makes this call the probe. */
	if ((rc = hsm_admit(hsm, deadline, &probe)) != 0)
		return rc;
	rc = hsm_health_check(hsm, probe, deadline, &rv, &token_lost);
	if (rc == 0 && probe)
		hsm_mark_ok(hsm);
	else if (rc != 0 && (probe || token_lost || hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv) || rc == SD_E_PIN)) {
		(void)snprintf(why, sizeof(why), "%s", sd_error_detail(rc));	/* truncated is still useful */
		hsm_mark_down(hsm, hsm_rv_is_module_fault(rv) || token_lost, "%s", why);
		rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: %s", hsm->token_label, why);
	}
	hsm_release(hsm, probe);
	return rc;
}

void
hsm_stats_get(struct hsm *hsm, struct hsm_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (hsm == NULL || hsm->pool == NULL)
		return;
	out->sessions = (unsigned)hsm_pool_size(hsm->pool);
	hsm_pool_count(hsm->pool, &out->in_use, &out->idle, &out->closed);
	pthread_mutex_lock(&hsm->st.mu);
	out->available = !hsm->st.down;
	pthread_mutex_unlock(&hsm->st.mu);
}
