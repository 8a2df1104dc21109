/*
 * Loading PKCS#11 modules, in one place.
 *
 * Modules are loaded through p11-kit as managed modules: every
 * p11_kit_module_load() gets its own function list over one shared module,
 * p11_kit_module_initialize() is reference counted and initialises the real
 * module once with CKF_OS_LOCKING_OK, and finalizing one instance closes only
 * its own sessions. So several struct hsm may use the same module in one
 * process.
 *
 * p11-kit refuses to load its own proxy module (p11-kit-proxy.so) that way.
 * The proxy is loaded with dlopen() instead and initialised directly with
 * CKF_OS_LOCKING_OK; it is not reference counted, so only one struct hsm
 * at a time should use it in a process. The proxy then loads the modules
 * registered with p11-kit (/usr/share/p11-kit/modules/) itself.
 */
#include <dlfcn.h>
#include <string.h>

#include "hsm_int.h"

#define HSM_DIRECT_MAX 8

/* Function lists loaded with dlopen(), not through p11-kit. */
static pthread_mutex_t hsm_direct_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	CK_FUNCTION_LIST *fn;
	void *dl;
} hsm_direct[HSM_DIRECT_MAX];

static bool
hsm_module_is_direct(const CK_FUNCTION_LIST *fn)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&hsm_direct_mu);
	for (i = 0; i < HSM_DIRECT_MAX; i++)
		if (hsm_direct[i].fn == fn)
			found = true;
	pthread_mutex_unlock(&hsm_direct_mu);
	return found;
}

static CK_RV
hsm_module_direct_init(CK_FUNCTION_LIST *fn)
{
	CK_C_INITIALIZE_ARGS args;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	return fn->C_Initialize(&args);
}

static int
hsm_module_open_direct(const char *module_path, CK_FUNCTION_LIST **out)
{
	CK_RV (*get)(CK_FUNCTION_LIST **);
	CK_FUNCTION_LIST *fn = NULL;
	void *dl;
	size_t i;
	CK_RV rv;

	if ((dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return sd_error_set(SD_E_HSM, "cannot load PKCS#11 module %s: %s", module_path, dlerror());
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&fn) != CKR_OK || fn == NULL) {
		dlclose(dl);
		return sd_error_set(SD_E_HSM, "PKCS#11 module %s has no usable C_GetFunctionList", module_path);
	}
	rv = hsm_module_direct_init(fn);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		dlclose(dl);
		return sd_error_set(SD_E_HSM, "C_Initialize of %s: %s", module_path, hsm_rv_name(rv));
	}
	pthread_mutex_lock(&hsm_direct_mu);
	for (i = 0; i < HSM_DIRECT_MAX && hsm_direct[i].fn != NULL; i++)
		;
	if (i < HSM_DIRECT_MAX) {
		hsm_direct[i].fn = fn;
		hsm_direct[i].dl = dl;
	}
	pthread_mutex_unlock(&hsm_direct_mu);
	if (i == HSM_DIRECT_MAX) {
		(void)fn->C_Finalize(NULL);
		dlclose(dl);
		return sd_error_set(SD_E_HSM, "too many directly loaded PKCS#11 modules");
	}
	*out = fn;
	return 0;
}

int
hsm_module_open(const char *module_path, CK_FUNCTION_LIST **out)
{
	CK_FUNCTION_LIST *fn;
	const char *base;
	CK_RV rv;
	char *msg;

	*out = NULL;
	base = strrchr(module_path, '/');
	base = base != NULL ? base + 1 : module_path;
	if (strncmp(base, "p11-kit-proxy", strlen("p11-kit-proxy")) == 0)
		return hsm_module_open_direct(module_path, out);
	if ((fn = p11_kit_module_load(module_path, 0)) == NULL) {
		msg = (char *)p11_kit_message();
		return sd_error_set(SD_E_HSM, "cannot load PKCS#11 module %s: %s", module_path,
		    msg != NULL ? msg : "unknown error");
	}
	/* A managed module answers CKR_CRYPTOKI_ALREADY_INITIALIZED only for this very instance. */
	rv = p11_kit_module_initialize(fn);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		p11_kit_module_release(fn);
		return sd_error_set(SD_E_HSM, "C_Initialize of %s: %s", module_path, hsm_rv_name(rv));
	}
	*out = fn;
	return 0;
}

void
hsm_module_finalize(CK_FUNCTION_LIST *fn)
{
	/* p11-kit closes this instance's sessions and finalises the real module when it is the last user. */
	if (hsm_module_is_direct(fn))
		(void)fn->C_Finalize(NULL);
	else
		(void)p11_kit_module_finalize(fn);
}

CK_RV
hsm_module_initialize(CK_FUNCTION_LIST *fn)
{
	CK_RV rv;

	rv = hsm_module_is_direct(fn) ? hsm_module_direct_init(fn) : p11_kit_module_initialize(fn);
	return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

void
hsm_module_close(CK_FUNCTION_LIST *fn)
{
	void *dl = NULL;
	bool direct = false;
	size_t i;

	if (fn == NULL)
		return;
	pthread_mutex_lock(&hsm_direct_mu);
	for (i = 0; i < HSM_DIRECT_MAX; i++) {
		if (hsm_direct[i].fn == fn) {
			direct = true;
			dl = hsm_direct[i].dl;
			hsm_direct[i].fn = NULL;
			hsm_direct[i].dl = NULL;
		}
	}
	pthread_mutex_unlock(&hsm_direct_mu);
	if (!direct) {
		(void)p11_kit_module_finalize(fn);
		p11_kit_module_release(fn);
		return;
	}
	(void)fn->C_Finalize(NULL);
	dlclose(dl);
}
