/*
 * RFC 7512 PKCS#11 URIs, parsed with p11-kit into plain fields.
 *
 * Only the attributes signerd acts on are accepted: token, manufacturer,
 * serial, model (the token) and object, id, type (the object). Anything else
 * is refused with a detail naming the attribute, so that a typo never widens
 * a search. PINs are never taken from a URI (pin-value, pin-source): they
 * come only from files.
 */
#ifndef HSM_URI_H
#define HSM_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define HSM_URI_MAX 1024	/* longest URI accepted, in characters */

enum hsm_uri_class {
	HSM_URI_CLASS_ANY,	/* no type attribute */
	HSM_URI_CLASS_PRIVATE,
	HSM_URI_CLASS_PUBLIC,
	HSM_URI_CLASS_CERT,
	HSM_URI_CLASS_SECRET,
	HSM_URI_CLASS_DATA,
};

struct hsm_uri {
	/* Token attributes, trailing blanks removed; empty string when absent. */
	bool has_token, has_manufacturer, has_serial, has_model;
	char token[33];
	char manufacturer[33];
	char serial[17];
	char model[17];
	/* Object attributes, percent-decoded. object is NUL-terminated. */
	char *object;		/* CKA_LABEL, or NULL */
	size_t object_len;
	uint8_t *id;		/* CKA_ID, or NULL */
	size_t id_len;
	enum hsm_uri_class type;
};

/*
 * Parse text into a new hsm_uri (free with hsm_uri_free()).
 * Errors: SD_E_URI (empty, longer than HSM_URI_MAX, not "pkcs11:", bad
 * syntax or encoding, unknown or unsupported attribute named in the detail,
 * a PIN in the URI, a repeated attribute, an empty object or id),
 * SD_E_NOMEM.
 */
SD_WUR int hsm_uri_parse(const char *text, struct hsm_uri **out);
void hsm_uri_free(struct hsm_uri *uri);

/* Whether the URI names token or object attributes at all. */
bool hsm_uri_has_token_attrs(const struct hsm_uri *uri);
bool hsm_uri_has_object_attrs(const struct hsm_uri *uri);

/*
 * Whether the token described by the blank-padded CK_TOKEN_INFO fields
 * matches every token attribute the URI names.
 */
bool hsm_uri_token_match(const struct hsm_uri *uri, const unsigned char label[32],
    const unsigned char manufacturer[32], const unsigned char model[16],
    const unsigned char serial[16]);

#endif
