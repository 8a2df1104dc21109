/*
 * Key pair generation inside the token. The private key is created
 * sensitive, never extractable and for signing only.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "hsm_int.h"
#include "hsm_uri.h"

#define HSM_KEYGEN_ID_LEN 16

/* Refuse a label or id that some object on the token already carries. */
static int
hsm_keygen_check_free(struct hsm *hsm, CK_SESSION_HANDLE s, CK_ATTRIBUTE_TYPE type, const void *val,
    size_t len, const char *uri, CK_RV *rv_out)
{
	CK_ATTRIBUTE tmpl[1] = { { type, (void *)val, len } };
	CK_OBJECT_HANDLE found[1];
	size_t count;
	int rc;

	if ((rc = hsm_objects_find(hsm, s, tmpl, 1, found, 1, &count, rv_out)) != 0)
		return rc;
	if (count > 0)
		return sd_error_set(SD_E_INVAL, "an object with the %s of %s already exists on token %s",
		    type == CKA_LABEL ? "label" : "id", uri, hsm->token_label);
	return 0;
}

static int
hsm_keygen_run(struct hsm *hsm, CK_SESSION_HANDLE s, enum hsm_key_type type, const struct hsm_uri *uri,
    const uint8_t *id, size_t id_len, CK_RV *rv_out)
{
	static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM m = { 0, NULL, 0 };
	CK_ULONG bits = 0;
	CK_OBJECT_HANDLE pub, priv;
	CK_ATTRIBUTE pub_t[8], priv_t[12];
	CK_ULONG np = 0, nv = 0;
	const uint8_t *params = NULL;
	size_t params_len = 0;
	CK_RV rv;
	int rc;

	pub_t[np++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	pub_t[np++] = (CK_ATTRIBUTE){ CKA_VERIFY, &yes, sizeof(yes) };
	pub_t[np++] = (CK_ATTRIBUTE){ CKA_ENCRYPT, &no, sizeof(no) };
	pub_t[np++] = (CK_ATTRIBUTE){ CKA_WRAP, &no, sizeof(no) };
	pub_t[np++] = (CK_ATTRIBUTE){ CKA_LABEL, uri->object, uri->object_len };
	pub_t[np++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };

	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_PRIVATE, &yes, sizeof(yes) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &yes, sizeof(yes) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &no, sizeof(no) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_SIGN, &yes, sizeof(yes) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_DECRYPT, &no, sizeof(no) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_UNWRAP, &no, sizeof(no) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_DERIVE, &no, sizeof(no) };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_LABEL, uri->object, uri->object_len };
	priv_t[nv++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };

	switch (type) {
	case HSM_KEY_RSA2048:
	case HSM_KEY_RSA3072:
	case HSM_KEY_RSA4096:
		bits = type == HSM_KEY_RSA2048 ? 2048 : type == HSM_KEY_RSA3072 ? 3072 : 4096;
		m.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub_t[np++] = (CK_ATTRIBUTE){ CKA_MODULUS_BITS, &bits, sizeof(bits) };
		pub_t[np++] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent) };
		break;
	case HSM_KEY_P256:
	case HSM_KEY_P384:
	case HSM_KEY_P521:
	case HSM_KEY_ED25519:
		if ((rc = hsm_curve_params(type, &params, &params_len)) != 0)
			return rc;
		/* SoftHSM 2.6 takes Ed25519 as the DER OID 1.3.101.112, not the name "edwards25519". */
		m.mechanism = type == HSM_KEY_ED25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
		pub_t[np++] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)params, params_len };
		break;
	default:
		return sd_error_set(SD_E_INVAL, "unknown key type %d", (int)type);
	}
	rv = hsm->fn->C_GenerateKeyPair(s, &m, pub_t, np, priv_t, nv, &pub, &priv);
	*rv_out = rv;
	if (rv != CKR_OK) {
		rc = hsm_rv_error(rv, "C_GenerateKeyPair");
		if (rv == CKR_MECHANISM_INVALID || rv == CKR_CURVE_NOT_SUPPORTED || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
		    rv == CKR_KEY_SIZE_RANGE || rv == CKR_DOMAIN_PARAMS_INVALID)
			rc = sd_error_set(SD_E_UNSUPPORTED, "token %s cannot generate %s keys: %s", hsm->token_label,
			    hsm_key_type_name(type), hsm_rv_name(rv));
		return rc;
	}
	return 0;
}

int
hsm_keygen(struct hsm *hsm, const char *key_uri, enum hsm_key_type type)
{
	struct hsm_uri *uri = NULL;
	const CK_TOKEN_INFO *ti;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	uint8_t rand_id[HSM_KEYGEN_ID_LEN];
	const uint8_t *id;
	size_t id_len;
	CK_RV rv;
	bool locked = false, admitted = false, probe = false;
	int rc;

	if (hsm == NULL)
		return sd_error_set(SD_E_INVAL, "HSM not open");
	if ((rc = hsm_uri_parse(key_uri, &uri)) != 0)
		goto out;
	if (uri->object == NULL) {
		rc = sd_error_set(SD_E_URI, "key URI %s needs object= to label the new key", key_uri);
		goto out;
	}
	if (uri->type != HSM_URI_CLASS_ANY && uri->type != HSM_URI_CLASS_PRIVATE) {
		rc = sd_error_set(SD_E_URI, "key URI %s: type must be private", key_uri);
		goto out;
	}
	ti = &hsm->token_info;
	if (!hsm_uri_token_match(uri, ti->label, ti->manufacturerID, ti->model, ti->serialNumber)) {
		rc = sd_error_set(SD_E_URI, "key URI %s names another token than the open one (%s)", key_uri, hsm->token_label);
		goto out;
	}
	if (uri->id != NULL) {
		id = uri->id;
		id_len = uri->id_len;
	} else {
		if (RAND_bytes(rand_id, sizeof(rand_id)) != 1) {
			rc = sd_error_set(SD_E_CRYPTO, "no random bytes for a key id");
			goto out;
		}
		id = rand_id;
		id_len = sizeof(rand_id);
	}

	if ((rc = hsm_admit(hsm, hsm_now_ms() + HSM_FIND_BUDGET_MS, &probe)) != 0)
		goto out;
	admitted = true;
	/* The duplicate check and the generation are one step for this process. */
	pthread_mutex_lock(&hsm->keygen_mu);
	locked = true;
	if ((rc = hsm_session_open(hsm, true, &s, &rv)) != 0)
		goto out;
	if ((rc = hsm_keygen_check_free(hsm, s, CKA_LABEL, uri->object, uri->object_len, key_uri, &rv)) != 0 ||
	    (rc = hsm_keygen_check_free(hsm, s, CKA_ID, id, id_len, key_uri, &rv)) != 0)
		goto out;
	rc = hsm_keygen_run(hsm, s, type, uri, id, id_len, &rv);
out:
	hsm_session_close(hsm, s);
	if (locked)
		pthread_mutex_unlock(&hsm->keygen_mu);
	if (admitted)
		hsm_release(hsm, probe);
	hsm_uri_free(uri);
	return rc;
}
