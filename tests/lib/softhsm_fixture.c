#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm.h"
#include "sd_file.h"
#include "sd_test.h"
#include "softhsm_fixture.h"

static void
sd_test_softhsm_path(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX)
		abort();
}

/* A fresh PIN per token, so tests cannot lean on a well-known one. */
static void
sd_test_softhsm_pin(char out[17])
{
	uint8_t raw[8];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort();
	sd_hex_encode(raw, sizeof(raw), out);
}

int
sd_test_softhsm_new(const char *label, struct sd_test_softhsm *out)
{
	char text[2 * PATH_MAX], tokens[PATH_MAX], pin[17];
	int n, rc;

	memset(out, 0, sizeof(*out));
	sd_test_tmpdir(out->dir, "softhsm");
	sd_test_softhsm_path(tokens, out->dir, "tokens");
	if (mkdir(tokens, 0700) != 0)
		abort();
	n = snprintf(text, sizeof(text),
	    "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
	    tokens);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	sd_test_write(out->dir, "softhsm2.conf", text, 0600, out->conf);
	if (setenv("SOFTHSM2_CONF", out->conf, 1) != 0)
		abort();
	sd_test_softhsm_pin(pin);
	sd_test_write(out->dir, "so.pin", pin, 0600, out->so_pin_file);
	sd_test_softhsm_pin(pin);
	sd_test_write(out->dir, "user.pin", pin, 0600, out->pin_file);
	OPENSSL_cleanse(pin, sizeof(pin));
	n = snprintf(out->module, sizeof(out->module), "%s", SD_TEST_SOFTHSM_MODULE);
	if (n < 0 || (size_t)n >= sizeof(out->module))
		abort();
	n = snprintf(out->token_uri, sizeof(out->token_uri), "pkcs11:token=%s", label);
	if (n < 0 || (size_t)n >= sizeof(out->token_uri))
		abort();
	if ((rc = hsm_token_init(out->module, label, out->so_pin_file, out->pin_file)) != 0) {
		fprintf(stderr, "hsm_token_init: %s\n", sd_error_detail(rc));
		sd_test_softhsm_free(out);
		return rc;
	}
	return 0;
}

void
sd_test_softhsm_free(struct sd_test_softhsm *hsm)
{
	if (hsm == NULL || hsm->dir[0] == '\0')
		return;
	sd_test_rmtree(hsm->dir);
	hsm->dir[0] = '\0';
}

/*
 * SoftHSM 2.6.1 leaks the decoded curve OID (two small allocations) on every
 * C_SignInit with an Ed25519 key. Not ours to fix; keep it out of LeakSanitizer
 * reports of tests that use this fixture. The suppression needs whole stacks,
 * which libcrypto's frames hide from the fast unwinder. Ignored without -fsanitize.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:libsofthsm2.so\n";
}
