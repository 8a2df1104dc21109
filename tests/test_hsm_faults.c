/*
 * Recovery from HSM faults: pkcs11/ over tests/modules/faulty.so, which
 * forwards to a real SoftHSM token and fails chosen calls on command.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "hsm.h"
#include "hsm_int.h"
#include "lib/sd_test.h"
#include "lib/softhsm_fixture.h"

#define TOKEN_LABEL "signerd-faults"
#define KEY_URI "pkcs11:object=faults-p256"

static struct sd_test_softhsm fx;
static bool fx_ok;
static char faulty[PATH_MAX], control[PATH_MAX], fault_log[PATH_MAX];
static struct hsm *g_hsm;
static struct hsm_key *g_key;

static void
show(int rc)
{
	if (rc != 0)
		fprintf(stderr, "\n    rc %d (%s): %s\n", rc, sd_error_name(rc), sd_error_detail(rc));
}

static bool
detail_has(int rc, const char *needle)
{
	if (strstr(sd_error_detail(rc), needle) != NULL)
		return true;
	fprintf(stderr, "\n    detail \"%s\" lacks \"%s\"\n", sd_error_detail(rc), needle);
	return false;
}

/* Replace the control file in one step (a new inode: the module notices). */
static void
faults(const char *rules)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.new", control) >= (int)sizeof(tmp) || (f = fopen(tmp, "w")) == NULL || fputs(rules, f) == EOF || fclose(f) != 0 || rename(tmp, control) != 0)
		abort();
}

/* Injected faults logged for function so far. */
static int
faults_logged(const char *function)
{
	char line[256];
	size_t n = strlen(function);
	int count = 0;
	FILE *f;

	if ((f = fopen(fault_log, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, function, n) == 0 && line[n] == ' ')
			count++;
	(void)fclose(f);	/* read only */
	return count;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One ECDSA signature over a fixed digest. */
static int
sign_once(struct hsm_key *key)
{
	uint8_t digest[32], sig[HSM_SIG_MAX];
	size_t sig_len = 0;

	memset(digest, 0x5a, sizeof(digest));
	return hsm_sign(key, HSM_MECH_ECDSA, HSM_HASH_SHA256, digest, sizeof(digest), sig, &sig_len);
}

/* Poll hsm_health() until it answers 0, at most ms milliseconds. */
static int
health_within(unsigned ms)
{
	uint64_t end = now_ms() + ms;
	int rc;

	while ((rc = hsm_health(g_hsm)) != 0 && now_ms() < end)
		sd_test_sleep_ms(50);
	return rc;
}

/* Open g_hsm (4 sessions) through the fault-injecting module, with no faults armed. */
static void
open_faulty_hsm(void)
{
	struct hsm_config cfg;
	int rc;

	CU_ASSERT_TRUE_FATAL(fx_ok);
	faults("");
	cfg = (struct hsm_config){ faulty, fx.token_uri, fx.pin_file, 4 };
	rc = hsm_open(&cfg, &g_hsm);
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void
test_open(void)
{
	open_faulty_hsm();
	CU_ASSERT_EQUAL_FATAL(hsm_keygen(g_hsm, KEY_URI, HSM_KEY_P256), 0);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(g_hsm, KEY_URI, false, &g_key), 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

static void
test_session_invalid_once(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	faults("C_Sign CKR_SESSION_HANDLE_INVALID once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);	/* dropped, retried on a new session */
	CU_ASSERT_EQUAL(faults_logged("C_Sign"), 1);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_Sign"), 1);	/* once means once */
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
	CU_ASSERT_FALSE(g_hsm->st.down);
}

static void
test_user_not_logged_in_once(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	faults("C_SignInit CKR_USER_NOT_LOGGED_IN once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_SignInit"), 1);
	CU_ASSERT_FALSE(g_hsm->st.down);
}

static void
test_device_error_always(void)
{
	uint64_t t0;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	faults("C_Sign CKR_DEVICE_ERROR always\n");
	t0 = now_ms();
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_ERROR"));
	CU_ASSERT_TRUE(now_ms() - t0 < HSM_SIGN_BUDGET_MS + 500);
	CU_ASSERT_TRUE(g_hsm->st.down);
	/* Down: the next callers fail fast with the reason. */
	t0 = now_ms();
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(now_ms() - t0 < 1000);
	rc = hsm_health(g_hsm);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_ERROR"));
	/* Still failing after a backoff pause: health's probe signature fails too. */
	sd_test_sleep_ms(HSM_BACKOFF_MAX_MS + 100);
	rc = hsm_health(g_hsm);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_ERROR"));
	/* Cleared: health recovers on its own, then signing works. */
	faults("");
	rc = health_within(HSM_BACKOFF_MAX_MS * 2 + 500);
	show(rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FALSE(g_hsm->st.down);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
}

static void
test_device_removed_always(void)
{
	uint64_t gen;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	gen = g_hsm->st.generation;
	faults("* CKR_DEVICE_REMOVED always\n");
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_REMOVED"));
	rc = hsm_health(g_hsm);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_REMOVED"));
	/* Probes re-initialise the module; C_Initialize fails while the device is gone. */
	sd_test_sleep_ms(HSM_BACKOFF_MIN_MS * 4);
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	faults("");
	rc = health_within(HSM_BACKOFF_MAX_MS * 2 + 500);
	show(rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(g_hsm->st.generation > gen);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
}

static void
test_not_initialized_once(void)
{
	uint64_t gen;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	gen = g_hsm->st.generation;
	/* The module lost its state (as after a proxy restart): re-initialised at once, the request succeeds. */
	faults("C_Sign CKR_CRYPTOKI_NOT_INITIALIZED once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(g_hsm->st.generation, gen + 1);
	CU_ASSERT_FALSE(g_hsm->st.down);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

/* --- concurrency under faults --- */

#define THREADS 4

struct worker {
	volatile bool *stop;
	int ok, unavailable, other, first_other;
	uint64_t longest_ms;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t t0, took;
	int rc;

	while (!*w->stop) {
		t0 = now_ms();
		rc = sign_once(g_key);
		took = now_ms() - t0;
		if (took > w->longest_ms)
			w->longest_ms = took;
		if (rc == 0)
			w->ok++;
		else if (rc == SD_E_HSM_UNAVAILABLE)
			w->unavailable++;
		else if (w->other++ == 0)
			w->first_other = rc;
	}
	return NULL;
}

static void
test_concurrent_faults(void)
{
	static const char *rules[] = {
		"C_Sign CKR_SESSION_HANDLE_INVALID once\n",
		"C_Sign CKR_DEVICE_ERROR always\n",
		"",
		"* CKR_DEVICE_REMOVED always\n",
		"",
		"C_SignInit CKR_CRYPTOKI_NOT_INITIALIZED once\n",
		"C_FindObjectsInit CKR_SESSION_CLOSED once\nC_Sign CKR_USER_NOT_LOGGED_IN once\n",
		"",
	};
	volatile bool stop = false;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	size_t i;
	int ok = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].stop = &stop;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		faults(rules[i]);
		sd_test_sleep_ms(600);
	}
	/* Cleared: within a few backoff pauses every thread signs again. */
	CU_ASSERT_EQUAL(health_within(HSM_BACKOFF_MAX_MS * 2 + 500), 0);
	for (i = 0; i < THREADS; i++)
		ok += w[i].ok;
	sd_test_sleep_ms(300);
	stop = true;
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].other != 0)
			fprintf(stderr, "\n    thread %zu: %d other errors, first %s\n", i, w[i].other, sd_error_name(w[i].first_other));
		CU_ASSERT_EQUAL(w[i].other, 0);
		CU_ASSERT_TRUE(w[i].longest_ms <= HSM_SIGN_BUDGET_MS + 1000);
	}
	CU_ASSERT_TRUE(ok > 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
}

/* A PIN the token refuses on re-login is tried once and never again. */
static void
test_pin_refused_on_relogin(void)
{
	int logins, rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	faults("C_Sign CKR_CRYPTOKI_NOT_INITIALIZED once\nC_Login CKR_PIN_INCORRECT always\n");
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	logins = faults_logged("C_Login");
	CU_ASSERT_EQUAL(logins, 1);
	CU_ASSERT_TRUE(g_hsm->pin_refused);
	faults("");
	sd_test_sleep_ms(HSM_BACKOFF_MAX_MS + 100);
	rc = sign_once(g_key);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "refused the PIN"));
	rc = hsm_health(g_hsm);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "refused the PIN"));
	CU_ASSERT_EQUAL(faults_logged("C_Login"), logins);
	hsm_key_free(g_key);
	g_key = NULL;
	hsm_close(g_hsm);
	g_hsm = NULL;
}

/* --- session copies of the key ([hsm] session_keys) under faults --- */

/* Forget every cached handle of g_key, so that the next signature on each session makes a new copy. */
static void
copies_forget(void)
{
	size_t i;

	for (i = 0; i < g_key->n_cache; i++)
		g_key->cache[i].epoch = 0;
}

static size_t
copies_count(void)
{
	size_t i, n = 0;

	for (i = 0; i < g_key->n_cache; i++)
		n += g_key->cache[i].copy != CK_INVALID_HANDLE;
	return n;
}

static void
test_open_session_keys(void)
{
	open_faulty_hsm();
	hsm_session_keys_set(g_hsm, true);
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(g_hsm, KEY_URI, false, &g_key), 0);
	CU_ASSERT_TRUE(g_key->copies);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(copies_count(), 1);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

/* A fault while copying drops the session like any other; the retry copies on a new one. */
static void
test_copy_device_error_once(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	copies_forget();
	faults("C_CopyObject CKR_DEVICE_ERROR once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_CopyObject"), 1);
	CU_ASSERT_FALSE(g_hsm->st.down);
	CU_ASSERT_FALSE(atomic_load(&g_key->copy_off));
	CU_ASSERT_TRUE(copies_count() >= 1);
}

/* A session fault on a copy: the session (and its copy) is dropped; a new copy is made on the retry. */
static void
test_copy_session_invalid_once(void)
{
	uint64_t copies_before = 0;
	size_t i;
	int logged = faults_logged("C_SignInit");

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	for (i = 0; i < g_key->n_cache; i++)
		copies_before += g_key->cache[i].epoch;
	faults("C_SignInit CKR_SESSION_HANDLE_INVALID once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_SignInit"), logged + 1);
	for (i = 0; i < g_key->n_cache; i++)
		copies_before -= g_key->cache[i].epoch;
	CU_ASSERT_NOT_EQUAL(copies_before, 0);	/* a copy was made in a new session epoch */
	CU_ASSERT_TRUE(copies_count() >= 1);
	CU_ASSERT_FALSE(g_hsm->st.down);
}

/* A copy the token cannot make just now: the token key signs on that session; copies stay on. */
static void
test_copy_failed_fallback(void)
{
	int before;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	copies_forget();
	before = faults_logged("C_CopyObject");
	faults("C_CopyObject CKR_FUNCTION_FAILED always\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(copies_count(), 0);
	/* Tried once per session epoch, not per signature. */
	CU_ASSERT_TRUE(faults_logged("C_CopyObject") - before >= 1);
	CU_ASSERT_TRUE(faults_logged("C_CopyObject") - before <= 2);
	CU_ASSERT_FALSE(atomic_load(&g_key->copy_off));
	CU_ASSERT_TRUE(atomic_load(&g_key->copy_logged));
	CU_ASSERT_FALSE(g_hsm->st.down);
	faults("");
	copies_forget();
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(copies_count(), 1);
}

/* A token that forbids the copy (CKR_ACTION_PROHIBITED): the token key from now on, never asked again. */
static void
test_copy_prohibited(void)
{
	int before;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	copies_forget();
	before = faults_logged("C_CopyObject");
	faults("C_CopyObject 0x1b always\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_CopyObject"), before + 1);
	CU_ASSERT_TRUE(atomic_load(&g_key->copy_off));
	copies_forget();
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(faults_logged("C_CopyObject"), before + 1);
	CU_ASSERT_EQUAL(copies_count(), 0);
	faults("");
	CU_ASSERT_FALSE(g_hsm->st.down);
}

/* Copies on again (a new key object): the module re-initialised at once; copies are made anew. */
static void
test_copy_after_reinit(void)
{
	uint64_t gen;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	hsm_key_free(g_key);
	g_key = NULL;
	CU_ASSERT_EQUAL_FATAL(hsm_key_find(g_hsm, KEY_URI, false, &g_key), 0);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(copies_count(), 1);
	gen = g_hsm->st.generation;
	faults("C_Sign CKR_CRYPTOKI_NOT_INITIALIZED once\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(g_hsm->st.generation, gen + 1);
	CU_ASSERT_TRUE(copies_count() >= 1);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	CU_ASSERT_EQUAL(hsm_health(g_hsm), 0);
}

/* A token that cannot describe itself (SoftHSM's token directory gone) is down, even if copies still sign. */
static void
test_token_info_general_error(void)
{
	uint64_t gen;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_key);
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
	gen = g_hsm->st.generation;
	faults("C_GetTokenInfo CKR_GENERAL_ERROR always\n");
	CU_ASSERT_EQUAL(sign_once(g_key), 0);	/* signing does not ask the token for its info */
	rc = hsm_health(g_hsm);
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "C_GetTokenInfo: CKR_GENERAL_ERROR"));
	CU_ASSERT_TRUE(g_hsm->st.down);
	CU_ASSERT_EQUAL(sign_once(g_key), SD_E_HSM_UNAVAILABLE);
	faults("");
	rc = health_within(HSM_BACKOFF_MAX_MS * 2 + 500);
	show(rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(g_hsm->st.generation > gen);	/* recovered by re-initialising the module */
	CU_ASSERT_EQUAL(sign_once(g_key), 0);
}

static void
test_close_session_keys(void)
{
	hsm_key_free(g_key);
	g_key = NULL;
	hsm_close(g_hsm);
	g_hsm = NULL;
}

/* The module's own contract: a malformed line is ignored, codes by number work, "*" matches all. */
static void
test_module_rules(void)
{
	struct hsm_config cfg = { faulty, fx.token_uri, fx.pin_file, 1 };
	struct hsm *h = NULL;
	int rc;

	faults("# comment\nC_Sign CKR_NO_SUCH_CODE always\nC_OpenSession 0x32 once\n");
	rc = hsm_open(&cfg, &h);	/* C_OpenSession fails with CKR_DEVICE_REMOVED (0x32) */
	CU_ASSERT_EQUAL(rc, SD_E_HSM_UNAVAILABLE);
	CU_ASSERT_TRUE(detail_has(rc, "CKR_DEVICE_REMOVED"));
	rc = hsm_open(&cfg, &h);	/* once has fired */
	show(rc);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	hsm_close(h);
	h = NULL;
	faults("* CKR_DEVICE_ERROR always\n");
	rc = hsm_open(&cfg, &h);
	CU_ASSERT_NOT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(h);
	faults("");
	CU_ASSERT_EQUAL(hsm_open(&cfg, &h), 0);
	hsm_close(h);
}

static int
test_path(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct sd_test_case cases[] = {
		{ "open through faulty.so", test_open },
		{ "session handle invalid once: retried", test_session_invalid_once },
		{ "user not logged in once: retried", test_user_not_logged_in_once },
		{ "device error always: down, fast 503s, health reason, recovers", test_device_error_always },
		{ "device removed always: module re-initialised after clearing", test_device_removed_always },
		{ "cryptoki not initialized once: re-initialised at once", test_not_initialized_once },
		{ "4 threads while faults come and go", test_concurrent_faults },
		{ "PIN refused at re-login: never retried", test_pin_refused_on_relogin },
		{ "session keys: open, a copy per session", test_open_session_keys },
		{ "session keys: C_CopyObject device error once: retried, copied", test_copy_device_error_once },
		{ "session keys: session invalid once: new copy on the new session", test_copy_session_invalid_once },
		{ "session keys: C_CopyObject failing: token key, copies again later", test_copy_failed_fallback },
		{ "session keys: C_CopyObject prohibited: token key for good", test_copy_prohibited },
		{ "session keys: module re-initialised: copies made anew", test_copy_after_reinit },
		{ "session keys: C_GetTokenInfo failing: down, re-initialised", test_token_info_general_error },
		{ "session keys: 4 threads while faults come and go", test_concurrent_faults },
		{ "session keys: close", test_close_session_keys },
		{ "control file rules", test_module_rules },
	};
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int rc;

	(void)argc;
	(void)argv;
	/* faulty.so is built next to this program: $(BUILD)/tests/modules/faulty.so. */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		abort();
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		abort();
	*slash = '\0';
	if (test_path(faulty, exe, "modules/faulty.so") != 0)
		abort();
	rc = sd_test_softhsm_new(TOKEN_LABEL, &fx);
	fx_ok = rc == 0 && access(faulty, R_OK) == 0;
	if (access(faulty, R_OK) != 0)
		fprintf(stderr, "test_hsm_faults: %s missing (make %s)\n", faulty, faulty);
	if (test_path(control, fx.dir, "faults") != 0 || test_path(fault_log, fx.dir, "faults.log") != 0)
		abort();
	if (setenv("FAULTY_CONTROL", control, 1) != 0 || setenv("FAULTY_LOG", fault_log, 1) != 0 ||
	    setenv("FAULTY_MODULE", fx.module, 1) != 0)
		abort();
	SD_TEST_SUITE("hsm recovery", cases);
	rc = sd_test_run("test_hsm_faults");
	hsm_key_free(g_key);
	hsm_close(g_hsm);
	sd_test_softhsm_free(&fx);
	return rc;
}
