/*
 * C_Sign on a pooled session, with one retry on a fresh session after a
 * session or token fault.
 */
#include <stdio.h>
#include <string.h>

#include "hsm_int.h"

/* DER DigestInfo prefixes (RFC 8017, 9.2 note 1). */
static const uint8_t hsm_di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const uint8_t hsm_di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 };
static const uint8_t hsm_di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };

static const struct {
	enum hsm_hash hash;
	const char *name;
	size_t len;
	CK_MECHANISM_TYPE mech;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const uint8_t *digest_info;
} hsm_hashes[] = {
	{ HSM_HASH_SHA256, "SHA-256", 32, CKM_SHA256, CKG_MGF1_SHA256, hsm_di_sha256 },
	{ HSM_HASH_SHA384, "SHA-384", 48, CKM_SHA384, CKG_MGF1_SHA384, hsm_di_sha384 },
	{ HSM_HASH_SHA512, "SHA-512", 64, CKM_SHA512, CKG_MGF1_SHA512, hsm_di_sha512 },
};
#define HSM_DI_PREFIX_LEN sizeof(hsm_di_sha256)

static bool
hsm_type_is_rsa(enum hsm_key_type t)
{
	return t == HSM_KEY_RSA2048 || t == HSM_KEY_RSA3072 || t == HSM_KEY_RSA4096;
}

static bool
hsm_type_is_ecdsa(enum hsm_key_type t)
{
	return t == HSM_KEY_P256 || t == HSM_KEY_P384 || t == HSM_KEY_P521;
}

/* Check that mech fits the key and the input, and fill in the Cryptoki mechanism. */
static int
hsm_sign_mechanism(const struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash, const uint8_t *in,
    size_t in_len, CK_MECHANISM *m, CK_RSA_PKCS_PSS_PARAMS *pss)
{
	const char *kn = hsm_key_type_name(key->type);
	size_t h;

	for (h = 0; h < sizeof(hsm_hashes) / sizeof(hsm_hashes[0]); h++)
		if (hsm_hashes[h].hash == hash)
			break;
	if (h == sizeof(hsm_hashes) / sizeof(hsm_hashes[0]) && mech != HSM_MECH_EDDSA)
		return sd_error_set(SD_E_INVAL, "unknown hash %d", (int)hash);
	*m = (CK_MECHANISM){ 0, NULL, 0 };
	switch (mech) {
	case HSM_MECH_RSA_PKCS:
		if (!hsm_type_is_rsa(key->type))
			return sd_error_set(SD_E_INVAL, "RSA PKCS#1 v1.5 does not fit a %s key", kn);
		if (in_len != HSM_DI_PREFIX_LEN + hsm_hashes[h].len ||
		    memcmp(in, hsm_hashes[h].digest_info, HSM_DI_PREFIX_LEN) != 0)
			return sd_error_set(SD_E_INVAL, "RSA PKCS#1 v1.5 input is not a %s DigestInfo", hsm_hashes[h].name);
		m->mechanism = CKM_RSA_PKCS;
		return 0;
	case HSM_MECH_RSA_PSS:
		if (!hsm_type_is_rsa(key->type))
			return sd_error_set(SD_E_INVAL, "RSA-PSS does not fit a %s key", kn);
		if (in_len != hsm_hashes[h].len)
			return sd_error_set(SD_E_INVAL, "RSA-PSS input is %zu bytes, a %s digest is %zu", in_len, hsm_hashes[h].name, hsm_hashes[h].len);
		pss->hashAlg = hsm_hashes[h].mech;
		pss->mgf = hsm_hashes[h].mgf;
		pss->sLen = hsm_hashes[h].len;
		m->mechanism = CKM_RSA_PKCS_PSS;
		m->pParameter = pss;
		m->ulParameterLen = sizeof(*pss);
		return 0;
	case HSM_MECH_ECDSA:
		if (!hsm_type_is_ecdsa(key->type))
			return sd_error_set(SD_E_INVAL, "ECDSA does not fit a %s key", kn);
		if (in_len != hsm_hashes[h].len)
			return sd_error_set(SD_E_INVAL, "ECDSA input is %zu bytes, a %s digest is %zu", in_len, hsm_hashes[h].name, hsm_hashes[h].len);
		m->mechanism = CKM_ECDSA;
		return 0;
	case HSM_MECH_EDDSA:
		if (key->type != HSM_KEY_ED25519)
			return sd_error_set(SD_E_INVAL, "EdDSA does not fit a %s key", kn);
		if (in_len == 0 || in_len > HSM_SIGN_IN_MAX)
			return sd_error_set(SD_E_INVAL, "EdDSA input of %zu bytes (1 to %u accepted)", in_len, HSM_SIGN_IN_MAX);
		/* No parameters: pure Ed25519 (RFC 8032), as X.509 uses it. */
		m->mechanism = CKM_EDDSA;
		return 0;
	}
	return sd_error_set(SD_E_INVAL, "unknown signature mechanism %d", (int)mech);
}

/* One attempt on session s; a stale cached key handle is looked up again once. */
static int
hsm_sign_on(struct hsm_key *key, struct hsm_session *s, CK_MECHANISM *m, const uint8_t *in, size_t in_len,
    uint8_t *sig, size_t *sig_len, CK_RV *rv_out)
{
	CK_FUNCTION_LIST *fn = key->hsm->fn;
	CK_OBJECT_HANDLE h;
	CK_ULONG len = HSM_SIG_MAX;
	bool refresh = false;
	CK_RV rv;
	int rc;

	for (;;) {
		if ((rc = hsm_key_handle(key, s, refresh, &h, rv_out)) != 0)
			return rc;
		rv = fn->C_SignInit(s->handle, m, h);
		if ((rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) && !refresh) {
			refresh = true;
			continue;
		}
		break;
	}
	*rv_out = rv;
	if (rv != CKR_OK)
		return hsm_rv_error(rv, "C_SignInit");
	rv = fn->C_Sign(s->handle, (CK_BYTE *)in, in_len, sig, &len);
	*rv_out = rv;
	if (rv != CKR_OK)
		return hsm_rv_error(rv, "C_Sign");
	if (len != key->sig_size)
		return sd_error_set(SD_E_HSM, "C_Sign returned %lu bytes for a %s key, expected %zu",
		    (unsigned long)len, hsm_key_type_name(key->type), key->sig_size);
	*sig_len = len;
	return 0;
}

int
hsm_sign(struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash, const uint8_t *in, size_t in_len,
    uint8_t *sig, size_t *sig_len)
{
	struct hsm_session *s = NULL;
	struct hsm *hsm;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_RV rv = CKR_OK;
	char why[256];
	unsigned attempt;
	bool broken;
	int rc;

	if (sig_len != NULL)
		*sig_len = 0;
	if (key == NULL || sig == NULL || sig_len == NULL || (in == NULL && in_len > 0))
		return sd_error_set(SD_E_INVAL, "hsm_sign: missing argument");
	hsm = key->hsm;
	if ((rc = hsm_sign_mechanism(key, mech, hash, in, in_len, &m, &pss)) != 0)
		return rc;

	if ((rc = hsm_pool_get(hsm->pool, HSM_POOL_WAIT_MS, &s)) != 0) {
		if (rc == SD_E_NOMEM || rc == SD_E_HSM_UNAVAILABLE)
			return rc;
		/* The detail lives in the buffer sd_error_set() rewrites; a truncated copy is still useful. */
		snprintf(why, sizeof(why), "%s", sd_error_detail(rc));
		return sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: no usable session: %s", hsm->token_label, why);
	}
	for (attempt = 0;; attempt++) {
		rc = hsm_sign_on(key, s, &m, in, in_len, sig, sig_len, &rv);
		if (rc == 0 || !hsm_rv_is_fault(rv))
			break;
		/* The session is broken: it never goes back to the pool as it is. */
		if (!hsm_recover(hsm, attempt, rv)) {
			rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: signing failed again on a new session: %s",
			    hsm->token_label, hsm_rv_name(rv));
			break;
		}
		if ((rc = hsm_pool_reopen(hsm->pool, s, &rv)) != 0) {
			snprintf(why, sizeof(why), "%s", sd_error_detail(rc));
			rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: no new session after a fault: %s",
			    hsm->token_label, why);
			break;
		}
	}
	/* CKR_BUFFER_TOO_SMALL leaves the operation active: that session cannot be reused either. */
	broken = rc != 0 && (hsm_rv_is_fault(rv) || rv == CKR_BUFFER_TOO_SMALL || !s->open);
	hsm_pool_put(hsm->pool, s, broken);
	if (rc != 0)
		*sig_len = 0;
	return rc;
}
