/*
 * RFC 7512 parsing. p11-kit does the decoding; a first pass over the text
 * names any attribute signerd does not act on, because p11-kit only says
 * "something was unrecognized" and silently keeps the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "hsm_int.h"
#include "hsm_uri.h"

#define HSM_URI_SCHEME "pkcs11:"
#define HSM_URI_NAME_MAX 32

/* Path attributes signerd understands, with the longest decoded value p11-kit keeps. */
static const struct {
	const char *name;
	const char *limit;	/* why p11-kit may not recognise a value */
	bool token_text;	/* a blank-padded CK_TOKEN_INFO text field */
} hsm_uri_known[] = {
	{ "token", "longer than 32 bytes", true },
	{ "manufacturer", "longer than 32 bytes", true },
	{ "serial", "longer than 16 bytes", true },
	{ "model", "longer than 16 bytes", true },
	{ "object", "not accepted", false },
	{ "id", "not accepted", false },
	{ "type", "not one of private, public, cert, secret-key, data", false },
};
#define HSM_URI_KNOWN_COUNT (sizeof(hsm_uri_known) / sizeof(hsm_uri_known[0]))

/* RFC 7512 attributes that are valid but select things signerd does not choose by. */
static const char *const hsm_uri_unsupported[] = {
	"slot-id", "slot-description", "slot-manufacturer", "library-description",
	"library-manufacturer", "library-version", "module-name", "module-path",
};

static int
hsm_uri_known_index(const char *name)
{
	size_t i;

	for (i = 0; i < HSM_URI_KNOWN_COUNT; i++)
		if (strcmp(name, hsm_uri_known[i].name) == 0)
			return (int)i;
	return -1;
}

static int
hsm_uri_refuse(const char *name, bool query)
{
	size_t i;

	if (strcmp(name, "pin-value") == 0 || strcmp(name, "pin-source") == 0)
		return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%s\" refused: the PIN comes only from the PIN file", name);
	for (i = 0; i < sizeof(hsm_uri_unsupported) / sizeof(hsm_uri_unsupported[0]); i++)
		if (strcmp(name, hsm_uri_unsupported[i]) == 0)
			return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%s\" is not supported (use token, manufacturer, serial, model, object, id, type)", name);
	return sd_error_set(SD_E_URI, "unknown PKCS#11 URI %sattribute \"%s\"", query ? "query " : "", name);
}

/*
 * Copy the name of the attribute starting at p (ending at '=' or at one of
 * stops) into name. Returns the length of the whole attribute.
 */
static int
hsm_uri_attr_name(const char *p, const char *stops, char name[HSM_URI_NAME_MAX + 1], size_t *attr_len)
{
	size_t len = strcspn(p, stops);
	size_t name_len = strcspn(p, "=");

	*attr_len = len;
	if (len == 0)
		return sd_error_set(SD_E_URI, "PKCS#11 URI has an empty attribute");
	if (name_len >= len)
		return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%.*s\" has no '='",
		    (int)(len > HSM_URI_NAME_MAX ? HSM_URI_NAME_MAX : len), p);
	if (name_len == 0)
		return sd_error_set(SD_E_URI, "PKCS#11 URI has an attribute with no name");
	if (name_len > HSM_URI_NAME_MAX)
		return sd_error_set(SD_E_URI, "unknown PKCS#11 URI attribute \"%.*s...\"", HSM_URI_NAME_MAX, p);
	memcpy(name, p, name_len);
	name[name_len] = '\0';
	return 0;
}

/* Whether the attribute at p (len bytes, "name=value") percent-encodes a NUL byte. */
static bool
hsm_uri_has_nul(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 2 < len; i++)
		if (p[i] == '%' && p[i + 1] == '0' && p[i + 2] == '0')
			return true;
	return false;
}

/*
 * First pass: every attribute is one we act on, and none repeats. A token
 * attribute may not hold a NUL: p11-kit copies it into the token field,
 * where a leading NUL reads as "not named" (matching every token) and a
 * later one cuts the value short.
 */
static int
hsm_uri_check_names(const char *p)
{
	char name[HSM_URI_NAME_MAX + 1];
	bool seen[HSM_URI_KNOWN_COUNT] = { false };
	size_t len;
	int k, rc;

	if (*p != '\0' && *p != '?') {
		for (;;) {
			if ((rc = hsm_uri_attr_name(p, ";?", name, &len)) != 0)
				return rc;
			if ((k = hsm_uri_known_index(name)) < 0)
				return hsm_uri_refuse(name, false);
			if (seen[k])
				return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%s\" appears more than once", name);
			if (hsm_uri_known[k].token_text && hsm_uri_has_nul(p, len))
				return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%s\" holds a NUL byte (%%00)", name);
			seen[k] = true;
			p += len;
			if (*p != ';')
				break;
			p++;
		}
	}
	if (*p != '?')
		return 0;
	p++;
	/* No query attribute is used: the module comes from the configuration, the PIN from a file. */
	if ((rc = hsm_uri_attr_name(p, "&", name, &len)) != 0)
		return rc;
	return hsm_uri_refuse(name, true);
}

/* p11-kit flagged a value it could not keep: find which attribute. */
static int
hsm_uri_unrecognized(const char *path)
{
	char name[HSM_URI_NAME_MAX + 1], one[HSM_URI_MAX + sizeof(HSM_URI_SCHEME)];
	P11KitUri *uri = NULL;
	size_t len;
	int k, n, rc = SD_E_URI;

	if ((uri = p11_kit_uri_new()) == NULL)
		return SD_E_NOMEM;
	while (*path != '\0' && *path != '?') {
		if (hsm_uri_attr_name(path, ";?", name, &len) != 0)
			break;
		n = snprintf(one, sizeof(one), "%s%.*s", HSM_URI_SCHEME, (int)len, path);
		if (n < 0 || (size_t)n >= sizeof(one))
			break;
		if (p11_kit_uri_parse(one, P11_KIT_URI_FOR_ANY, uri) == P11_KIT_URI_OK &&
		    p11_kit_uri_any_unrecognized(uri)) {
			k = hsm_uri_known_index(name);
			rc = sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"%s\": value %s", name,
			    k >= 0 ? hsm_uri_known[k].limit : "not recognised");
			goto out;
		}
		path += len;
		if (*path == ';')
			path++;
	}
	rc = sd_error_set(SD_E_URI, "PKCS#11 URI has an attribute p11-kit does not recognise");
out:
	p11_kit_uri_free(uri);
	return rc;
}

/* Copy a blank-padded token field as a trimmed C string; false if the URI does not name it. */
static bool
hsm_uri_field(const unsigned char *field, size_t width, char *out)
{
	size_t len = width;

	out[0] = '\0';
	/* p11-kit leaves fields the URI does not name zeroed, and blank-pads the others. */
	if (field[0] == '\0')
		return false;
	while (len > 0 && field[len - 1] == ' ')
		len--;
	memcpy(out, field, len);
	out[len] = '\0';
	return true;
}

static int
hsm_uri_class_of(CK_OBJECT_CLASS cls, enum hsm_uri_class *out)
{
	switch (cls) {
	case CKO_PRIVATE_KEY:
		*out = HSM_URI_CLASS_PRIVATE;
		return 0;
	case CKO_PUBLIC_KEY:
		*out = HSM_URI_CLASS_PUBLIC;
		return 0;
	case CKO_CERTIFICATE:
		*out = HSM_URI_CLASS_CERT;
		return 0;
	case CKO_SECRET_KEY:
		*out = HSM_URI_CLASS_SECRET;
		return 0;
	case CKO_DATA:
		*out = HSM_URI_CLASS_DATA;
		return 0;
	default:
		return sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"type\": value not supported");
	}
}

int
hsm_uri_parse(const char *text, struct hsm_uri **out)
{
	struct hsm_uri *res = NULL;
	P11KitUri *uri = NULL;
	CK_TOKEN_INFO *ti;
	CK_ATTRIBUTE *attr;
	CK_OBJECT_CLASS cls;
	size_t len, i;
	int prc, rc;

	*out = NULL;
	if (text == NULL || text[0] == '\0')
		return sd_error_set(SD_E_URI, "empty PKCS#11 URI");
	len = strnlen(text, HSM_URI_MAX + 1);
	if (len > HSM_URI_MAX)
		return sd_error_set(SD_E_URI, "PKCS#11 URI longer than %d characters", HSM_URI_MAX);
	if (len < strlen(HSM_URI_SCHEME) || strncasecmp(text, HSM_URI_SCHEME, strlen(HSM_URI_SCHEME)) != 0)
		return sd_error_set(SD_E_URI, "not a PKCS#11 URI (must start with \"pkcs11:\")");
	/* p11-kit drops whitespace; refuse it instead, so "my key" cannot quietly mean "mykey". */
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
			return sd_error_set(SD_E_URI, "PKCS#11 URI has a space, control or non-ASCII character at offset %zu (percent-encode it)", i);
	if ((rc = hsm_uri_check_names(text + strlen(HSM_URI_SCHEME))) != 0)
		goto out;

	if ((uri = p11_kit_uri_new()) == NULL || (res = calloc(1, sizeof(*res))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((prc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri)) != P11_KIT_URI_OK) {
		rc = sd_error_set(prc == P11_KIT_URI_UNEXPECTED ? SD_E_NOMEM : SD_E_URI,
		    "PKCS#11 URI: %s", p11_kit_uri_message(prc));
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		rc = hsm_uri_unrecognized(text + strlen(HSM_URI_SCHEME));
		goto out;
	}

	ti = p11_kit_uri_get_token_info(uri);
	res->has_token = hsm_uri_field(ti->label, sizeof(ti->label), res->token);
	res->has_manufacturer = hsm_uri_field(ti->manufacturerID, sizeof(ti->manufacturerID), res->manufacturer);
	res->has_model = hsm_uri_field(ti->model, sizeof(ti->model), res->model);
	res->has_serial = hsm_uri_field(ti->serialNumber, sizeof(ti->serialNumber), res->serial);

	if ((attr = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL) {
		if (attr->ulValueLen == 0 || attr->ulValueLen > HSM_LABEL_MAX) {
			rc = sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"object\" must be 1 to %d bytes", HSM_LABEL_MAX);
			goto out;
		}
		if ((res->object = malloc(attr->ulValueLen + 1)) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		memcpy(res->object, attr->pValue, attr->ulValueLen);
		res->object[attr->ulValueLen] = '\0';
		res->object_len = attr->ulValueLen;
	}
	if ((attr = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL) {
		if (attr->ulValueLen == 0 || attr->ulValueLen > HSM_ID_MAX) {
			rc = sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"id\" must be 1 to %d bytes", HSM_ID_MAX);
			goto out;
		}
		if ((res->id = malloc(attr->ulValueLen)) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		memcpy(res->id, attr->pValue, attr->ulValueLen);
		res->id_len = attr->ulValueLen;
	}
	res->type = HSM_URI_CLASS_ANY;
	if ((attr = p11_kit_uri_get_attribute(uri, CKA_CLASS)) != NULL) {
		if (attr->ulValueLen != sizeof(cls)) {
			rc = sd_error_set(SD_E_URI, "PKCS#11 URI attribute \"type\": value not supported");
			goto out;
		}
		memcpy(&cls, attr->pValue, sizeof(cls));
		if ((rc = hsm_uri_class_of(cls, &res->type)) != 0)
			goto out;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	p11_kit_uri_free(uri);
	hsm_uri_free(res);
	return rc;
}

void
hsm_uri_free(struct hsm_uri *uri)
{
	if (uri == NULL)
		return;
	free(uri->object);
	free(uri->id);
	free(uri);
}

bool
hsm_uri_has_token_attrs(const struct hsm_uri *uri)
{
	return uri->has_token || uri->has_manufacturer || uri->has_serial || uri->has_model;
}

bool
hsm_uri_has_object_attrs(const struct hsm_uri *uri)
{
	return uri->object != NULL || uri->id != NULL || uri->type != HSM_URI_CLASS_ANY;
}

/* Compare a trimmed URI value with a blank-padded token field. */
static bool
hsm_uri_field_match(bool has, const char *want, const unsigned char *field, size_t width)
{
	size_t len, i;

	if (!has)
		return true;
	len = strlen(want);
	if (len > width || memcmp(want, field, len) != 0)
		return false;
	for (i = len; i < width; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

bool
hsm_uri_token_match(const struct hsm_uri *uri, const unsigned char label[32],
    const unsigned char manufacturer[32], const unsigned char model[16],
    const unsigned char serial[16])
{
	return hsm_uri_field_match(uri->has_token, uri->token, label, 32) &&
	    hsm_uri_field_match(uri->has_manufacturer, uri->manufacturer, manufacturer, 32) &&
	    hsm_uri_field_match(uri->has_model, uri->model, model, 16) &&
	    hsm_uri_field_match(uri->has_serial, uri->serial, serial, 16);
}
