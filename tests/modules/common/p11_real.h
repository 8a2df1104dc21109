/*
 * What the test modules (faulty.so, hsm_sim.so) share: the real module they
 * stand in front of. Compiled into each module, hidden from its exports.
 */
#ifndef P11_REAL_H
#define P11_REAL_H

/* The lowercase type names (struct ck_function_list, ck_rv_t) the modules are written in. */
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#define P11_REAL_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

/*
 * Load the module named by the environment variable env
 * (P11_REAL_DEFAULT_MODULE when it is unset or empty) and return its
 * function list, or NULL after a line on stderr that starts with tag (the
 * calling module's name) and says why. The module stays loaded for the life
 * of the process: SoftHSM does not like being unloaded. Call it once (from a
 * pthread_once routine): each call loads again.
 */
__attribute__((visibility("hidden"))) struct ck_function_list *p11_real_load(const char *env, const char *tag);

#endif
