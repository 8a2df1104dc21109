/*
 * C_Sign on a pooled session, with one retry on a fresh session after a
 * session or token fault, within a time budget; a fault that persists marks
 * the token down (hsm_recover.c).
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
		/* The key's session copy when session_keys is on, else the token key. */
		if ((rc = hsm_key_sign_handle(key, s, refresh, &h, rv_out)) == 0)
			rv = fn->C_SignInit(s->handle, m, h);
		else
			rv = *rv_out;
		if ((rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) && !refresh) {
			refresh = true;
			continue;
		}
		if (rc != 0)
			return rc;
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

/* A fault after which the session is dropped and the operation tried once more. */
static bool
hsm_sign_fault(int rc, CK_RV rv)
{
	/* A key found at start that no search finds now: the token's objects went away. */
	return hsm_rv_is_fault(rv) || hsm_rv_is_module_fault(rv) || rc == SD_E_KEY_NOT_FOUND;
}

/* Sign on pooled sessions until deadline_ms; one retry on a fresh session after a fault. Caller is admitted. */
static int
hsm_sign_admitted(struct hsm_key *key, CK_MECHANISM *m, const uint8_t *in, size_t in_len, uint8_t *sig,
    size_t *sig_len, uint64_t deadline_ms, CK_RV *rv_out)
{
	struct hsm *hsm = key->hsm;
	struct hsm_session *s = NULL;
	unsigned attempt;
	CK_RV rv;
	bool broken;
	int rc;

	for (attempt = 0;; attempt++) {
		rv = CKR_OK;
		if ((rc = hsm_pool_get(hsm->pool, deadline_ms, attempt > 0, &s, &rv)) == 0) {
			rc = hsm_sign_on(key, s, m, in, in_len, sig, sig_len, &rv);
			/* CKR_BUFFER_TOO_SMALL leaves the operation active: that session cannot be reused either. */
			broken = rc != 0 && (hsm_sign_fault(rc, rv) || rv == CKR_BUFFER_TOO_SMALL);
			/* The session is broken: it never goes back to the pool as it is. */
			hsm_pool_put(hsm->pool, s, broken);
			s = NULL;
		}
		*rv_out = rv;
		if (rc == 0 || !hsm_sign_fault(rc, rv) || attempt + 1 >= HSM_SIGN_ATTEMPTS)
			return rc;
		if ((rc = hsm_recover(hsm, rv, deadline_ms)) != 0)
			return rc;
	}
}

int
hsm_sign_probe(struct hsm_key *key, uint64_t deadline_ms, CK_RV *rv_out)
{
	static const uint8_t zero[HSM_DI_PREFIX_LEN + 32];
	uint8_t in[HSM_DI_PREFIX_LEN + 32], sig[HSM_SIG_MAX];
	enum hsm_mech mech;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	size_t in_len, sig_len;
	int rc;

	memcpy(in, zero, sizeof(in));
	if (hsm_type_is_rsa(key->type)) {
		mech = HSM_MECH_RSA_PKCS;
		memcpy(in, hsm_di_sha256, HSM_DI_PREFIX_LEN);
		in_len = HSM_DI_PREFIX_LEN + 32;
	} else if (hsm_type_is_ecdsa(key->type)) {
		mech = HSM_MECH_ECDSA;
		in_len = 32;
	} else {
		mech = HSM_MECH_EDDSA;
		in_len = 1;
	}
	if ((rc = hsm_sign_mechanism(key, mech, HSM_HASH_SHA256, in, in_len, &m, &pss)) != 0)
		return rc;
	return hsm_sign_admitted(key, &m, in, in_len, sig, &sig_len, deadline_ms, rv_out);
}

int
hsm_sign(struct hsm_key *key, enum hsm_mech mech, enum hsm_hash hash, const uint8_t *in, size_t in_len,
    uint8_t *sig, size_t *sig_len)
{
	struct hsm *hsm;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_RV rv = CKR_OK;
	char why[HSM_REASON_MAX];
	uint64_t deadline;
	bool probe;
	int rc;

	if (sig_len != NULL)
		*sig_len = 0;
	if (key == NULL || sig == NULL || sig_len == NULL || in == NULL)
		return sd_error_set(SD_E_INVAL, "hsm_sign: missing argument");
	hsm = key->hsm;
	if ((rc = hsm_sign_mechanism(key, mech, hash, in, in_len, &m, &pss)) != 0)
		return rc;

	/* Every wait below ends by this deadline: no request hangs on a sick token. */
	deadline = hsm_now_ms() + HSM_SIGN_BUDGET_MS;
	if ((rc = hsm_admit(hsm, deadline, &probe)) != 0)
		return rc;
	rc = hsm_sign_admitted(key, &m, in, in_len, sig, sig_len, deadline, &rv);
	if (rc == 0) {
		if (probe)
			hsm_mark_ok(hsm);
	} else if (probe || hsm_sign_fault(rc, rv) || rc == SD_E_PIN) {
		/* The detail lives in the buffer sd_error_set() rewrites; a truncated copy is still useful. */
		(void)snprintf(why, sizeof(why), "%s", sd_error_detail(rc));
		hsm_mark_down(hsm, hsm_rv_is_module_fault(rv) || rc == SD_E_KEY_NOT_FOUND, "%s", why);
		rc = sd_error_set(SD_E_HSM_UNAVAILABLE, "token %s: %s", hsm->token_label, why);
	}
	hsm_release(hsm, probe);
	if (rc != 0)
		*sig_len = 0;
	return rc;
}
