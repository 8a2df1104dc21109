#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "p11_real.h"

static void *p11_real_dl;	/* the module loaded, never closed */

struct ck_function_list *
p11_real_load(const char *env, const char *tag)
{
	const char *path = getenv(env);
	ck_rv_t (*get)(struct ck_function_list **);
	struct ck_function_list *real = NULL;
	void *dl;

	if (path == NULL || path[0] == '\0')
		path = P11_REAL_DEFAULT_MODULE;
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "%s: cannot load %s: %s\n", tag, path, dlerror());
		return NULL;
	}
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&real) != CKR_OK || real == NULL) {
		fprintf(stderr, "%s: %s has no usable C_GetFunctionList\n", tag, path);
		dlclose(dl);
		return NULL;
	}
	p11_real_dl = dl;
	return real;
}
