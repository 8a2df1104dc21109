/*
 * PKCS#11 URIs (RFC 7512): hsm_uri_parse() on arbitrary text, as it comes
 * from the configuration ([hsm] token, [ca] key, [journal] audit_key) and
 * from signerctl's --key. A URI that parses is matched against a token so
 * that the parsed fields are read too.
 *
 * fuzz-options: -max_len=1100 (HSM_URI_MAX: 1024 characters)
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hsm_uri.h"
#include "sd_error.h"

/* Whether the path part of text (after "pkcs11:", before '?') has the attribute name=. */
static bool
fuzz_names(const char *text, const char *name)
{
	const char *p = text + strlen("pkcs11:");
	size_t n = strlen(name);

	while (*p != '\0' && *p != '?') {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return true;
		p += strcspn(p, ";?");
		if (*p == ';')
			p++;
	}
	return false;
}

static bool
fuzz_filled(const char *field, size_t cap)
{
	return memchr(field, '\0', cap) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char label[32] = "signerd-demo                    ";
	static const unsigned char manuf[32] = "SoftHSM project                 ";
	static const unsigned char model[16] = "SoftHSM v2      ";
	static const unsigned char serial[16] = "0123456789abcdef";
	struct hsm_uri *uri = NULL;
	char *text;
	int rc;

	/* The callers hand over C strings: the text ends at the first NUL. */
	text = fuzz_strndup(data, size);
	rc = hsm_uri_parse(text, &uri);
	FUZZ_CHECK(rc == 0 || rc == SD_E_URI || rc == SD_E_NOMEM);
	FUZZ_CHECK((rc == 0) == (uri != NULL));
	if (rc == 0) {
		FUZZ_CHECK(fuzz_filled(uri->token, sizeof(uri->token)) && fuzz_filled(uri->serial, sizeof(uri->serial)));
		FUZZ_CHECK(fuzz_filled(uri->manufacturer, sizeof(uri->manufacturer)) &&
		    fuzz_filled(uri->model, sizeof(uri->model)));
		FUZZ_CHECK(uri->object == NULL || (uri->object_len > 0 && uri->object[uri->object_len] == '\0'));
		FUZZ_CHECK(uri->id == NULL || uri->id_len > 0);
		/* A token attribute the URI names is never dropped: that would widen the search. */
		FUZZ_CHECK(uri->has_token == fuzz_names(text, "token"));
		FUZZ_CHECK(uri->has_manufacturer == fuzz_names(text, "manufacturer"));
		FUZZ_CHECK(uri->has_serial == fuzz_names(text, "serial"));
		FUZZ_CHECK(uri->has_model == fuzz_names(text, "model"));
		(void)hsm_uri_has_token_attrs(uri);
		(void)hsm_uri_has_object_attrs(uri);
		(void)hsm_uri_token_match(uri, label, manuf, model, serial);
	}
	hsm_uri_free(uri);
	free(text);
	return 0;
}
