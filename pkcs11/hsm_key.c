/*
 * Keys by PKCS#11 URI: exactly one private key, its safety attributes, its
 * public half as a DER SubjectPublicKeyInfo, and object handles cached per
 * pooled session (with the key's session copy when [hsm] session_keys is
 * on; see hsm_keycopy.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "hsm_int.h"
#include "hsm_uri.h"
#include "sd_log.h"

int
hsm_objects_find(struct hsm *hsm, CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n,
    CK_OBJECT_HANDLE *found, size_t max, size_t *count, CK_RV *rv_out)
{
	CK_ULONG got;
	CK_RV rv;

	*count = 0;
	if ((rv = hsm->fn->C_FindObjectsInit(session, tmpl, n)) != CKR_OK) {
		*rv_out = rv;
		return hsm_rv_error(rv, "C_FindObjectsInit");
	}
	while (*count < max) {
		rv = hsm->fn->C_FindObjects(session, found + *count, max - *count, &got);
		if (rv != CKR_OK || got == 0)
			break;
		*count += got;
	}
	if (rv != CKR_OK) {
		(void)hsm->fn->C_FindObjectsFinal(session);
		*rv_out = rv;
		return hsm_rv_error(rv, "C_FindObjects");
	}
	rv = hsm->fn->C_FindObjectsFinal(session);
	*rv_out = rv;
	return rv == CKR_OK ? 0 : hsm_rv_error(rv, "C_FindObjectsFinal");
}

/* Read a variable-length attribute into a new buffer (at least 1 byte allocated). */
static int
hsm_attr_get(struct hsm *hsm, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    const char *name, uint8_t **out, size_t *len, CK_RV *rv_out)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	uint8_t *buf = NULL;
	CK_RV rv;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rv = hsm->fn->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		*rv_out = rv;
		return hsm_rv_error(rv, name);
	}
	*rv_out = CKR_OK;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > HSM_ATTR_MAX)
		return sd_error_set(SD_E_HSM, "%s: unavailable or larger than %u bytes", name, HSM_ATTR_MAX);
	if ((buf = malloc(a.ulValueLen > 0 ? a.ulValueLen : 1)) == NULL)
		return SD_E_NOMEM;
	a.pValue = buf;
	if ((rv = hsm->fn->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		*rv_out = rv;
		rc = hsm_rv_error(rv, name);
		free(buf);
		return rc;
	}
	*out = buf;
	*len = a.ulValueLen;
	return 0;
}

/* Read a fixed-size attribute (CK_BBOOL, CK_ULONG). */
static int
hsm_attr_fixed(struct hsm *hsm, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    const char *name, void *out, size_t len, CK_RV *rv_out)
{
	CK_ATTRIBUTE a = { type, out, len };
	CK_RV rv;

	if ((rv = hsm->fn->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		*rv_out = rv;
		return hsm_rv_error(rv, name);
	}
	*rv_out = CKR_OK;
	if (a.ulValueLen != len)
		return sd_error_set(SD_E_HSM, "%s: unexpected size %lu", name, (unsigned long)a.ulValueLen);
	return 0;
}

int
hsm_key_handle(struct hsm_key *key, struct hsm_session *s, bool refresh, CK_OBJECT_HANDLE *out, CK_RV *rv_out)
{
	struct hsm_key_cache *c = &key->cache[s->index];
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BBOOL on_token = CK_TRUE;
	CK_ATTRIBUTE tmpl[4];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	size_t count;
	int rc;

	*rv_out = CKR_OK;
	if (!refresh && c->epoch != 0 && c->epoch == s->epoch) {
		*out = c->handle;
		return 0;
	}
	/* A copy made earlier on this session is forgotten, not destroyed: its handle may be stale. */
	c->epoch = 0;
	c->copy = CK_INVALID_HANDLE;
	c->copy_tried = false;
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	/* Token objects only: session copies of this key carry the same label and id. */
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_TOKEN, &on_token, sizeof(on_token) };
	if (key->label != NULL)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, key->label, key->label_len };
	if (key->id != NULL)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, key->id, key->id_len };
	hsm_objects_lock();
	rc = hsm_objects_find(key->hsm, s->handle, tmpl, n, found, 2, &count, rv_out);
	hsm_objects_unlock();
	if (rc != 0)
		return rc;
	if (count == 0)
		return sd_error_set(SD_E_KEY_NOT_FOUND, "no private key matches %s on token %s", key->uri, key->hsm->token_label);
	if (count > 1)
		return sd_error_set(SD_E_KEY_AMBIGUOUS, "several private keys match %s on token %s; add id=", key->uri, key->hsm->token_label);
	c->handle = found[0];
	c->epoch = s->epoch;
	*out = found[0];
	return 0;
}

int
hsm_key_sign_handle(struct hsm_key *key, struct hsm_session *s, bool refresh, CK_OBJECT_HANDLE *out, CK_RV *rv_out)
{
	struct hsm_key_cache *c = &key->cache[s->index];
	CK_OBJECT_HANDLE h, copy;
	int rc;

	/* The fast path: both handles known for this session. */
	if (!refresh && c->epoch != 0 && c->epoch == s->epoch && (c->copy_tried || !key->copies)) {
		*rv_out = CKR_OK;
		*out = c->copy != CK_INVALID_HANDLE ? c->copy : c->handle;
		return 0;
	}
	if ((rc = hsm_key_handle(key, s, refresh, &h, rv_out)) != 0)
		return rc;
	if (!key->copies || atomic_load(&key->copy_off)) {
		*out = h;
		return 0;
	}
	if ((rc = hsm_key_copy_make(key, s, h, &copy, rv_out)) != 0)
		return rc;
	c->copy = copy;
	c->copy_tried = true;
	*out = copy != CK_INVALID_HANDLE ? copy : h;
	return 0;
}

/* Exactly one public key object with the given attribute; *found false when none. */
static int
hsm_pub_find(struct hsm_key *key, CK_SESSION_HANDLE s, CK_ATTRIBUTE_TYPE type, const uint8_t *val,
    size_t len, CK_OBJECT_HANDLE *out, bool *found, CK_RV *rv_out)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ type, (void *)val, len },
	};
	CK_OBJECT_HANDLE objs[2];
	size_t count;
	int rc;

	*found = false;
	if ((rc = hsm_objects_find(key->hsm, s, tmpl, 2, objs, 2, &count, rv_out)) != 0)
		return rc;
	if (count > 1)
		return sd_error_set(SD_E_KEY_AMBIGUOUS, "several public keys have the %s of %s", type == CKA_ID ? "id" : "label", key->uri);
	if (count == 1) {
		*out = objs[0];
		*found = true;
	}
	return 0;
}

static int
hsm_spki_from_pkey(struct hsm_key *key, EVP_PKEY *pkey)
{
	unsigned char *p;
	int len;

	if ((len = i2d_PUBKEY(pkey, NULL)) <= 0)
		return sd_error_set(SD_E_CRYPTO, "cannot encode the public key of %s", key->uri);
	if ((key->spki = malloc((size_t)len)) == NULL)
		return SD_E_NOMEM;
	p = key->spki;
	if (i2d_PUBKEY(pkey, &p) != len)
		return sd_error_set(SD_E_CRYPTO, "cannot encode the public key of %s", key->uri);
	key->spki_len = (size_t)len;
	return 0;
}

static int
hsm_spki_rsa(struct hsm_key *key, const uint8_t *mod, size_t mod_len, const uint8_t *exp, size_t exp_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int rc, bits;

	if ((n = BN_bin2bn(mod, (int)mod_len, NULL)) == NULL || (e = BN_bin2bn(exp, (int)exp_len, NULL)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits == 2048)
		key->type = HSM_KEY_RSA2048;
	else if (bits == 3072)
		key->type = HSM_KEY_RSA3072;
	else if (bits == 4096)
		key->type = HSM_KEY_RSA4096;
	else {
		rc = sd_error_set(SD_E_UNSUPPORTED, "RSA key %s has %d bits (2048, 3072 or 4096 supported)", key->uri, bits);
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot build the RSA public key of %s", key->uri);
		goto out;
	}
	rc = hsm_spki_from_pkey(key, pkey);
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

/*
 * CKA_EC_POINT is a DER OCTET STRING around the point (SoftHSM, PKCS#11 2.40),
 * though some tokens return the bare point. raw_len is the bare length.
 */
static void
hsm_point_unwrap(const uint8_t *in, size_t len, size_t raw_len, const uint8_t **pt, size_t *pt_len)
{
	size_t hdr, body;

	*pt = in;
	*pt_len = len;
	if (len == raw_len || len < 2 || in[0] != 0x04)
		return;
	if (in[1] < 0x80) {
		hdr = 2;
		body = in[1];
	} else if (in[1] == 0x81 && len >= 3) {
		hdr = 3;
		body = in[2];
	} else if (in[1] == 0x82 && len >= 4) {
		hdr = 4;
		body = ((size_t)in[2] << 8) | in[3];
	} else
		return;
	if (hdr + body == len) {
		*pt = in + hdr;
		*pt_len = body;
	}
}

static int
hsm_spki_ec(struct hsm_key *key, const uint8_t *point, size_t point_len)
{
	static const struct {
		enum hsm_key_type type;
		const char *group;
		size_t field;
	} curves[] = {
		{ HSM_KEY_P256, "P-256", 32 },
		{ HSM_KEY_P384, "P-384", 48 },
		{ HSM_KEY_P521, "P-521", 66 },
	};
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	const uint8_t *pt;
	size_t pt_len, i;
	int rc;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].type == key->type)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return sd_error_set(SD_E_INTERNAL, "hsm_spki_ec: not an EC key type");
	hsm_point_unwrap(point, point_len, 1 + 2 * curves[i].field, &pt, &pt_len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curves[i].group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, pt_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "public key of %s is not a valid %s point", key->uri, curves[i].group);
		goto out;
	}
	rc = hsm_spki_from_pkey(key, pkey);
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
hsm_spki_ed25519(struct hsm_key *key, const uint8_t *point, size_t point_len)
{
	EVP_PKEY *pkey = NULL;
	const uint8_t *pt;
	size_t pt_len;
	int rc;

	hsm_point_unwrap(point, point_len, 32, &pt, &pt_len);
	if (pt_len != 32)
		return sd_error_set(SD_E_CRYPTO, "Ed25519 public key of %s is %zu bytes, not 32", key->uri, pt_len);
	if ((pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pt, pt_len)) == NULL)
		return sd_error_set(SD_E_CRYPTO, "cannot build the Ed25519 public key of %s", key->uri);
	rc = hsm_spki_from_pkey(key, pkey);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Find the public half: same non-empty CKA_ID, else same non-empty label. */
static int
hsm_key_pub(struct hsm_key *key, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE *pub,
    bool *found, CK_RV *rv_out)
{
	uint8_t *id = NULL, *label = NULL;
	size_t id_len, label_len;
	int rc;

	*found = false;
	if ((rc = hsm_attr_get(key->hsm, s, priv, CKA_ID, "CKA_ID", &id, &id_len, rv_out)) != 0)
		goto out;
	if (id_len > 0 && (rc = hsm_pub_find(key, s, CKA_ID, id, id_len, pub, found, rv_out)) != 0)
		goto out;
	if (*found)
		goto out;
	if ((rc = hsm_attr_get(key->hsm, s, priv, CKA_LABEL, "CKA_LABEL", &label, &label_len, rv_out)) != 0)
		goto out;
	if (label_len > 0)
		rc = hsm_pub_find(key, s, CKA_LABEL, label, label_len, pub, found, rv_out);
out:
	free(id);
	free(label);
	return rc;
}

/* Everything hsm_key_find() learns, on one session. */
static int
hsm_key_load(struct hsm_key *key, struct hsm_session *s, bool allow_unsafe, CK_RV *rv_out)
{
	struct hsm *hsm = key->hsm;
	CK_OBJECT_HANDLE priv, pub;
	CK_KEY_TYPE kt, pub_kt;
	CK_BBOOL sensitive, extractable, can_sign, copyable = CK_TRUE;
	CK_ATTRIBUTE copyable_attr = { CKA_COPYABLE, &copyable, sizeof(copyable) };
	uint8_t *a = NULL, *b = NULL;
	size_t a_len, b_len;
	bool found;
	int rc;

	if ((rc = hsm_key_handle(key, s, true, &priv, rv_out)) != 0)
		goto out;
	if ((rc = hsm_attr_fixed(hsm, s->handle, priv, CKA_KEY_TYPE, "CKA_KEY_TYPE", &kt, sizeof(kt), rv_out)) != 0 ||
	    (rc = hsm_attr_fixed(hsm, s->handle, priv, CKA_SENSITIVE, "CKA_SENSITIVE", &sensitive, sizeof(sensitive), rv_out)) != 0 ||
	    (rc = hsm_attr_fixed(hsm, s->handle, priv, CKA_EXTRACTABLE, "CKA_EXTRACTABLE", &extractable, sizeof(extractable), rv_out)) != 0 ||
	    (rc = hsm_attr_fixed(hsm, s->handle, priv, CKA_SIGN, "CKA_SIGN", &can_sign, sizeof(can_sign), rv_out)) != 0)
		goto out;
	if ((sensitive != CK_TRUE || extractable != CK_FALSE) && !allow_unsafe) {
		rc = sd_error_set(SD_E_KEY_UNSAFE, "key %s is %s%s%s: its private part can leave the token", key->uri,
		    sensitive != CK_TRUE ? "not sensitive" : "",
		    sensitive != CK_TRUE && extractable != CK_FALSE ? " and " : "",
		    extractable != CK_FALSE ? "extractable" : "");
		goto out;
	}
	if (can_sign != CK_TRUE) {
		rc = sd_error_set(SD_E_UNSUPPORTED, "key %s may not sign (CKA_SIGN is false)", key->uri);
		goto out;
	}
	if (kt != CKK_RSA && kt != CKK_EC && kt != CKK_EC_EDWARDS) {
		rc = sd_error_set(SD_E_UNSUPPORTED, "key %s has unsupported CKA_KEY_TYPE 0x%lx", key->uri, (unsigned long)kt);
		goto out;
	}
	/* Session copies only of a safe key, and never of one its owner marked not copyable. */
	key->copies = false;
	if (atomic_load(&hsm->session_keys) && !allow_unsafe && sensitive == CK_TRUE && extractable == CK_FALSE) {
		*rv_out = hsm->fn->C_GetAttributeValue(s->handle, priv, &copyable_attr, 1);
		/* CKR_ATTRIBUTE_TYPE_INVALID: a module before PKCS#11 2.40; C_CopyObject itself decides. */
		if (*rv_out != CKR_OK && *rv_out != CKR_ATTRIBUTE_TYPE_INVALID) {
			rc = hsm_rv_error(*rv_out, "CKA_COPYABLE");
			goto out;
		}
		*rv_out = CKR_OK;
		key->copies = copyable != CK_FALSE;
		if (!key->copies && !atomic_exchange(&key->copy_logged, true))
			sd_log(SD_LOG_WARN, "hsm: key %s has CKA_COPYABLE false: session_keys does not apply to it; "
			    "signing with the token object", key->uri);
	}

	if ((rc = hsm_key_pub(key, s->handle, priv, &pub, &found, rv_out)) != 0)
		goto out;
	if (found) {
		if ((rc = hsm_attr_fixed(hsm, s->handle, pub, CKA_KEY_TYPE, "CKA_KEY_TYPE", &pub_kt, sizeof(pub_kt), rv_out)) != 0)
			goto out;
		if (pub_kt != kt) {
			rc = sd_error_set(SD_E_KEY_NOT_FOUND, "public key object for %s has a different key type", key->uri);
			goto out;
		}
	} else if (kt == CKK_RSA) {
		/* An RSA private key object carries its modulus and public exponent. */
		pub = priv;
	} else {
		rc = sd_error_set(SD_E_KEY_NOT_FOUND, "no public key object with the id or label of %s", key->uri);
		goto out;
	}

	if (kt == CKK_RSA) {
		if ((rc = hsm_attr_get(hsm, s->handle, pub, CKA_MODULUS, "CKA_MODULUS", &a, &a_len, rv_out)) != 0 ||
		    (rc = hsm_attr_get(hsm, s->handle, pub, CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT", &b, &b_len, rv_out)) != 0)
			goto out;
		rc = hsm_spki_rsa(key, a, a_len, b, b_len);
	} else {
		if ((rc = hsm_attr_get(hsm, s->handle, pub, CKA_EC_PARAMS, "CKA_EC_PARAMS", &a, &a_len, rv_out)) != 0 ||
		    (rc = hsm_attr_get(hsm, s->handle, pub, CKA_EC_POINT, "CKA_EC_POINT", &b, &b_len, rv_out)) != 0 ||
		    (rc = hsm_curve_from_params(a, a_len, &key->type)) != 0)
			goto out;
		if ((kt == CKK_EC_EDWARDS) != (key->type == HSM_KEY_ED25519)) {
			rc = sd_error_set(SD_E_UNSUPPORTED, "key %s: key type and curve disagree", key->uri);
			goto out;
		}
		rc = kt == CKK_EC ? hsm_spki_ec(key, b, b_len) : hsm_spki_ed25519(key, b, b_len);
	}
	if (rc == 0)
		key->sig_size = hsm_key_type_sig_size(key->type);
out:
	free(a);
	free(b);
	return rc;
}

static void *
hsm_memdup(const void *src, size_t len)
{
	void *p;

	if ((p = malloc(len > 0 ? len : 1)) != NULL)
		memcpy(p, src, len);
	return p;
}

int
hsm_key_find(struct hsm *hsm, const char *key_uri, bool allow_unsafe, struct hsm_key **out)
{
	struct hsm_key *key = NULL;
	struct hsm_uri *uri = NULL;
	struct hsm_session *s = NULL;
	const CK_TOKEN_INFO *ti;
	CK_RV rv = CKR_OK;
	uint64_t deadline;
	unsigned attempt;
	bool probe;
	size_t n;
	int rc;

	*out = NULL;
	if (hsm == NULL)
		return sd_error_set(SD_E_INVAL, "HSM not open");
	if ((rc = hsm_uri_parse(key_uri, &uri)) != 0)
		goto out;
	if (uri->object == NULL && uri->id == NULL) {
		rc = sd_error_set(SD_E_URI, "key URI %s needs object= or id=", key_uri);
		goto out;
	}
	if (uri->type != HSM_URI_CLASS_ANY && uri->type != HSM_URI_CLASS_PRIVATE) {
		rc = sd_error_set(SD_E_URI, "key URI %s: type must be private", key_uri);
		goto out;
	}
	ti = &hsm->token_info;
	if (!hsm_uri_token_match(uri, ti->label, ti->manufacturerID, ti->model, ti->serialNumber)) {
		rc = sd_error_set(SD_E_KEY_NOT_FOUND, "key URI %s names another token than the open one (%s)", key_uri, hsm->token_label);
		goto out;
	}
	n = hsm_pool_size(hsm->pool);
	if ((key = calloc(1, sizeof(*key))) == NULL || (key->cache = calloc(n, sizeof(*key->cache))) == NULL ||
	    (key->uri = strdup(key_uri)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	key->hsm = hsm;
	key->n_cache = n;
	atomic_init(&key->copy_off, false);
	atomic_init(&key->copy_logged, false);
	if ((uri->object != NULL && (key->label = hsm_memdup(uri->object, uri->object_len)) == NULL) ||
	    (uri->id != NULL && (key->id = hsm_memdup(uri->id, uri->id_len)) == NULL)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	key->label_len = uri->object_len;
	key->id_len = uri->id_len;

	deadline = hsm_now_ms() + HSM_FIND_BUDGET_MS;
	if ((rc = hsm_admit(hsm, deadline, &probe)) != 0)
		goto out;
	for (attempt = 0;; attempt++) {
		rv = CKR_OK;
		if ((rc = hsm_pool_get(hsm->pool, deadline, attempt > 0, &s, &rv)) == 0) {
			rc = hsm_key_load(key, s, allow_unsafe, &rv);
			hsm_pool_put(hsm->pool, s, hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv));
			s = NULL;
		}
		if (rc == 0 || !(hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv)) || attempt + 1 >= HSM_SIGN_ATTEMPTS)
			break;
		if ((rc = hsm_recover(hsm, rv, deadline)) != 0)
			break;
		free(key->spki);
		key->spki = NULL;
		key->spki_len = 0;
	}
	if (rc != 0 && (hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv))) {
		/* sd_error_set() formats aside: the current detail may be its own argument. */
		rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "finding %s: %s", key_uri, sd_error_detail(rc));
	}
	if (probe)
		hsm_mark_ok(hsm);	/* the token answered, whatever it said about this key */
	hsm_release(hsm, probe);
	if (rc == 0 && !allow_unsafe) {
		pthread_mutex_lock(&hsm->st.mu);
		if (hsm->st.probe_key == NULL)
			hsm->st.probe_key = key;
		pthread_mutex_unlock(&hsm->st.mu);
	}
	if (rc != 0)
		goto out;
	*out = key;
	key = NULL;
out:
	hsm_uri_free(uri);
	hsm_key_free(key);
	return rc;
}

void
hsm_key_free(struct hsm_key *key)
{
	if (key == NULL)
		return;
	if (key->hsm != NULL) {
		pthread_mutex_lock(&key->hsm->st.mu);
		if (key->hsm->st.probe_key == key)
			key->hsm->st.probe_key = NULL;
		pthread_mutex_unlock(&key->hsm->st.mu);
		if (key->cache != NULL && key->hsm->pool != NULL)
			hsm_key_copies_destroy(key);
	}
	free(key->uri);
	free(key->label);
	free(key->id);
	free(key->spki);
	free(key->cache);
	free(key);
}

enum hsm_key_type
hsm_key_type(const struct hsm_key *key)
{
	return key->type;
}

const uint8_t *
hsm_key_spki_peek(const struct hsm_key *key, size_t *len)
{
	*len = key->spki_len;
	return key->spki;
}
