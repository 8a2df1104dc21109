/*
 * Key types: names, signature sizes and the DER curve parameters that
 * CKA_EC_PARAMS carries.
 */
#include <string.h>

#include "hsm_int.h"

static const uint8_t hsm_oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t hsm_oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t hsm_oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t hsm_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
/* PKCS#11 3.0 also allows the curve name as a PrintableString. */
static const uint8_t hsm_name_ed25519[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9' };

static const struct {
	enum hsm_key_type type;
	const char *name;
	size_t sig_size;
	const uint8_t *params;
	size_t params_len;
} hsm_keytype_table[] = {
	{ HSM_KEY_RSA2048, "rsa2048", 256, NULL, 0 },
	{ HSM_KEY_RSA3072, "rsa3072", 384, NULL, 0 },
	{ HSM_KEY_RSA4096, "rsa4096", 512, NULL, 0 },
	{ HSM_KEY_P256, "p256", 64, hsm_oid_p256, sizeof(hsm_oid_p256) },
	{ HSM_KEY_P384, "p384", 96, hsm_oid_p384, sizeof(hsm_oid_p384) },
	{ HSM_KEY_P521, "p521", 132, hsm_oid_p521, sizeof(hsm_oid_p521) },
	{ HSM_KEY_ED25519, "ed25519", 64, hsm_oid_ed25519, sizeof(hsm_oid_ed25519) },
};
#define HSM_KEYTYPE_COUNT (sizeof(hsm_keytype_table) / sizeof(hsm_keytype_table[0]))

int
hsm_key_type_from_name(const char *name, enum hsm_key_type *out)
{
	size_t i;

	if (name == NULL)
		return sd_error_set(SD_E_INVAL, "no key type given");
	for (i = 0; i < HSM_KEYTYPE_COUNT; i++) {
		if (strcmp(name, hsm_keytype_table[i].name) == 0) {
			*out = hsm_keytype_table[i].type;
			return 0;
		}
	}
	return sd_error_set(SD_E_INVAL, "unknown key type \"%.32s\" (rsa2048, rsa3072, rsa4096, p256, p384, p521, ed25519)", name);
}

const char *
hsm_key_type_name(enum hsm_key_type type)
{
	size_t i;

	for (i = 0; i < HSM_KEYTYPE_COUNT; i++)
		if (hsm_keytype_table[i].type == type)
			return hsm_keytype_table[i].name;
	return "unknown";
}

size_t
hsm_key_type_sig_size(enum hsm_key_type type)
{
	size_t i;

	for (i = 0; i < HSM_KEYTYPE_COUNT; i++)
		if (hsm_keytype_table[i].type == type)
			return hsm_keytype_table[i].sig_size;
	return 0;
}

int
hsm_curve_params(enum hsm_key_type type, const uint8_t **der, size_t *len)
{
	size_t i;

	*der = NULL;
	*len = 0;
	for (i = 0; i < HSM_KEYTYPE_COUNT; i++) {
		if (hsm_keytype_table[i].type == type && hsm_keytype_table[i].params != NULL) {
			*der = hsm_keytype_table[i].params;
			*len = hsm_keytype_table[i].params_len;
			return 0;
		}
	}
	return sd_error_set(SD_E_INVAL, "key type %s has no curve", hsm_key_type_name(type));
}

int
hsm_curve_from_params(const uint8_t *der, size_t len, enum hsm_key_type *out)
{
	size_t i;

	if (len == sizeof(hsm_name_ed25519) && memcmp(der, hsm_name_ed25519, len) == 0) {
		*out = HSM_KEY_ED25519;
		return 0;
	}
	for (i = 0; i < HSM_KEYTYPE_COUNT; i++) {
		if (hsm_keytype_table[i].params != NULL && hsm_keytype_table[i].params_len == len &&
		    memcmp(hsm_keytype_table[i].params, der, len) == 0) {
			*out = hsm_keytype_table[i].type;
			return 0;
		}
	}
	return sd_error_set(SD_E_UNSUPPORTED, "key curve (CKA_EC_PARAMS) is not P-256, P-384, P-521 or Ed25519");
}
