/*
 * CSRs and the policy a request meets before the HSM signs: csr_parse(),
 * then, for a CSR it takes, what signer_issue() does next against the three
 * profiles of fuzz_profiles() (a leaf profile with every kind of name, a
 * SPIFFE profile, a subordinate CA with name constraints):
 * policy_check_ca_profile(), policy_check_key(), policy_names(),
 * profile_check_ttl(), policy_subject(), policy_extensions() and
 * policy_lint() on the TBS they make. A request that policy accepts must
 * pass the lints: a lint refusal there is a 500 for a request that should
 * have been refused by name or issued.
 *
 * Input: a PEM CSR (starting with '-' or white space) as the API passes it,
 * or else DER, which is wrapped in PEM first, so that mutations reach the
 * structure directly. A mutated CSR no longer matches its signature, which
 * would stop nearly every mutation at the proof of possession; when the
 * signature is all that fails, the harness puts its own key of the same
 * kind in the request, signs it, and parses that too.
 *
 * fuzz-options: -max_len=17000 (SIGNER_CSR_MAX: 16 KiB of PEM)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/der.h"
#include "config.h"
#include "csr/csr.h"
#include "csr/csr_der.h"
#include "harness.h"
#include "policy/lint.h"
#include "policy/policy.h"
#include "policy/profile_check.h"
#include "sd_error.h"
#include "x509/ca.h"

/* A fixed issuance time (2026-01-01T00:00:00Z), so that a crash replays. */
#define FUZZ_NOW ((time_t)1767225600)

static const char *const fuzz_profile_names[] = { "leaf", "spiffe", "sub-ca" };
#define FUZZ_PROFILES (sizeof(fuzz_profile_names) / sizeof(fuzz_profile_names[0]))

/* The harness's own keys, one per kind of CSR key it re-signs for. */
enum fuzz_kind { FUZZ_EC, FUZZ_RSA, FUZZ_ED25519, FUZZ_KINDS };

static const uint8_t fuzz_algid_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const uint8_t fuzz_algid_rsa_sha256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
};
static const uint8_t fuzz_algid_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t fuzz_oid_rsa[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t fuzz_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

static struct {
	const struct sd_config *cfg;
	const struct config_profile *profiles[FUZZ_PROFILES];
	struct ca ca;			/* only what policy reads: issuer, keyid, notAfter, pathLen */
	EVP_PKEY *keys[FUZZ_KINDS];
	uint8_t *spki[FUZZ_KINDS];
	size_t spki_len[FUZZ_KINDS];
} fuzz;

static void
fuzz_cleanup(void)
{
	size_t i;

	for (i = 0; i < FUZZ_KINDS; i++) {
		EVP_PKEY_free(fuzz.keys[i]);
		OPENSSL_free(fuzz.spki[i]);
	}
	OPENSSL_free(fuzz.ca.issuer);
}

static void
fuzz_init(void)
{
	X509_NAME *issuer;
	unsigned char *p;
	size_t i;
	int len;

	fuzz.cfg = fuzz_profiles();
	for (i = 0; i < FUZZ_PROFILES; i++)
		if ((fuzz.profiles[i] = sd_config_profile(fuzz.cfg, fuzz_profile_names[i])) == NULL)
			abort();
	fuzz.keys[FUZZ_EC] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fuzz.keys[FUZZ_RSA] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fuzz.keys[FUZZ_ED25519] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (i = 0; i < FUZZ_KINDS; i++) {
		p = NULL;
		if (fuzz.keys[i] == NULL || (len = i2d_PUBKEY(fuzz.keys[i], &p)) <= 0)
			abort();
		fuzz.spki[i] = p;
		fuzz.spki_len[i] = (size_t)len;
	}
	/* The issuing CA as policy sees it: pathLenConstraint 1 lets the sub-ca profile (path_len 0) pass. */
	if ((issuer = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8, (const unsigned char *)"Fuzz Issuing CA", -1, -1,
	    0) != 1)
		abort();
	p = NULL;
	if ((len = i2d_X509_NAME(issuer, &p)) <= 0)
		abort();
	X509_NAME_free(issuer);
	fuzz.ca.issuer = p;
	fuzz.ca.issuer_len = (size_t)len;
	memset(fuzz.ca.keyid, 0xca, X509_KEYID_LEN);
	fuzz.ca.keyid_len = X509_KEYID_LEN;
	fuzz.ca.not_after = FUZZ_NOW + (time_t)20 * 365 * 86400;
	fuzz.ca.path_len = 1;
	if (atexit(fuzz_cleanup) != 0)
		abort();
}

static bool
fuzz_has(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
	size_t i;

	for (i = 0; hay_len >= len && i <= hay_len - len; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return true;
	return false;
}

/* der as a new PEM "CERTIFICATE REQUEST" (free()), or NULL. */
static char *
fuzz_pem(const uint8_t *der, size_t len, size_t *pem_len)
{
	BIO *bio;
	char *text, *pem = NULL;
	long n;

	if (len > INT32_MAX || (bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio(bio, PEM_STRING_X509_REQ, "", der, (long)len) > 0 && (n = BIO_get_mem_data(bio, &text)) > 0) {
		pem = fuzz_strndup((const uint8_t *)text, (size_t)n);
		*pem_len = (size_t)n;
	}
	BIO_free(bio);
	return pem;
}

/* The DER inside a PEM input (OPENSSL_free()), or NULL. */
static uint8_t *
fuzz_unpem(const uint8_t *data, size_t size, size_t *len)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long n = 0;
	BIO *bio;

	if (size > INT32_MAX || (bio = BIO_new_mem_buf(data, (int)size)) == NULL)
		return NULL;
	if (PEM_read_bio(bio, &name, &header, &der, &n) != 1 || n <= 0) {
		OPENSSL_free(der);
		der = NULL;
	}
	*len = der != NULL ? (size_t)n : 0;
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return der;
}

/*
 * The request der with the harness's key of the same kind in place of its
 * own, signed with it, as PEM (free()); NULL when der is no CSR structure.
 */
static char *
fuzz_resign(const uint8_t *der, size_t len, size_t *pem_len)
{
	struct csr_der parts;
	struct der_piece info[3], req[3];
	uint8_t *new_info = NULL, *bits = NULL, *out = NULL, sig[512];
	size_t new_info_len, bits_len, out_len, sig_len = sizeof(sig);
	const uint8_t *algid;
	size_t algid_len;
	enum fuzz_kind kind;
	EVP_MD_CTX *md = NULL;
	char *pem = NULL;

	if (csr_der_split(der, len, &parts) != 0)
		return NULL;
	if (fuzz_has(parts.spki.tlv, parts.spki.tlv_len, fuzz_oid_rsa, sizeof(fuzz_oid_rsa))) {
		kind = FUZZ_RSA;
		algid = fuzz_algid_rsa_sha256;
		algid_len = sizeof(fuzz_algid_rsa_sha256);
	} else if (fuzz_has(parts.spki.tlv, parts.spki.tlv_len, fuzz_oid_ed25519, sizeof(fuzz_oid_ed25519))) {
		kind = FUZZ_ED25519;
		algid = fuzz_algid_ed25519;
		algid_len = sizeof(fuzz_algid_ed25519);
	} else {
		kind = FUZZ_EC;
		algid = fuzz_algid_ecdsa_sha256;
		algid_len = sizeof(fuzz_algid_ecdsa_sha256);
	}
	info[0] = (struct der_piece){ parts.info.val, (size_t)(parts.spki.tlv - parts.info.val) };
	info[1] = (struct der_piece){ fuzz.spki[kind], fuzz.spki_len[kind] };
	info[2] = (struct der_piece){ parts.spki.tlv + parts.spki.tlv_len,
	    parts.info.len - (size_t)(parts.spki.tlv + parts.spki.tlv_len - parts.info.val) };
	if (der_wrap(DER_TAG_SEQUENCE, info, 3, &new_info, &new_info_len) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, kind == FUZZ_ED25519 ? NULL : "SHA256", NULL, NULL, fuzz.keys[kind],
	    NULL) != 1 || EVP_DigestSign(md, sig, &sig_len, new_info, new_info_len) != 1)
		abort();
	if (der_bit_string(sig, sig_len, &bits, &bits_len) != 0)
		goto out;
	req[0] = (struct der_piece){ new_info, new_info_len };
	req[1] = (struct der_piece){ algid, algid_len };
	req[2] = (struct der_piece){ bits, bits_len };
	if (der_wrap(DER_TAG_SEQUENCE, req, 3, &out, &out_len) != 0)
		goto out;
	pem = fuzz_pem(out, out_len, pem_len);
out:
	EVP_MD_CTX_free(md);
	free(new_info);
	free(bits);
	free(out);
	return pem;
}

/* What signer_issue() does with a parsed CSR before the journal and the HSM. */
static void
fuzz_policy(const struct config_profile *profile, const struct csr *csr)
{
	static const uint8_t serial[X509_SERIAL_LEN] = { 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
		0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct x509_tbs_template tmpl;
	struct x509_san *sans;
	X509_NAME *subject = NULL;
	uint8_t *tbs = NULL;
	size_t n = 0, tbs_len = 0;
	unsigned ku = 0;
	uint64_t ttl = 0;
	bool empty = true;
	int rc;

	FUZZ_CHECK(policy_check_ca_profile(profile, &fuzz.ca) == 0);
	if ((rc = policy_check_key(profile, csr, &fuzz.ca, NULL, &ku)) != 0) {
		FUZZ_CHECK(rc == SD_E_KEY_REFUSED);
		return;
	}
	FUZZ_CHECK(ku != 0 && (ku & ~profile->key_usage) == 0);
	if ((sans = malloc((csr->n_sans > 0 ? csr->n_sans : 1) * sizeof(*sans))) == NULL)
		abort();
	if ((rc = policy_names(profile, csr, NULL, 0, sans, &n)) != 0) {
		FUZZ_CHECK(rc == SD_E_NAME_REFUSED || rc == SD_E_TOO_LARGE);
		goto out;
	}
	FUZZ_CHECK(n <= csr->n_sans && (n > 0 || profile->ca));
	FUZZ_CHECK(profile_check_ttl(profile, 0, &ttl) == 0 && ttl == profile->default_ttl);
	if ((rc = policy_subject(profile, csr, sans, n, &subject, &empty)) != 0) {
		FUZZ_CHECK(rc == SD_E_NAME_REFUSED);
		goto out;
	}
	rc = policy_extensions(profile, csr, ku, fuzz.ca.keyid, fuzz.ca.keyid_len, sans, n, empty, n % 2 == 0, &exts);
	if (rc != 0)
		fprintf(stderr, "fuzz_csr: profile %s: policy_extensions: %s\n", profile->name, sd_error_detail(rc));
	FUZZ_CHECK(rc == 0);
	tmpl = (struct x509_tbs_template){
		.serial = serial,
		.serial_len = sizeof(serial),
		.issuer = fuzz.ca.issuer,
		.issuer_len = fuzz.ca.issuer_len,
		.not_before = FUZZ_NOW - (time_t)profile->backdate,
		.not_after = FUZZ_NOW + (time_t)ttl,
		.subject = subject,
		.spki = csr->spki,
		.spki_len = csr->spki_len,
		.exts = exts,
	};
	rc = policy_lint(profile, &fuzz.ca, &tmpl, fuzz_algid_ecdsa_sha256, sizeof(fuzz_algid_ecdsa_sha256), FUZZ_NOW,
	    &tbs, &tbs_len);
	if (rc != 0)
		fprintf(stderr, "fuzz_csr: profile %s: policy_lint: %s\n", profile->name, sd_error_detail(rc));
	FUZZ_CHECK(rc == 0 && tbs != NULL && tbs_len > 0);
out:
	free(tbs);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	free(sans);
}

/* csr_parse() on pem; 0 or its error. */
static int
fuzz_parse(const char *pem, size_t len)
{
	struct csr *csr = NULL;
	size_t i;
	int rc;

	rc = csr_parse(pem, len, 2048, &csr);
	FUZZ_CHECK(rc == 0 || rc == SD_E_TOO_LARGE || rc == SD_E_CSR || rc == SD_E_KEY_REFUSED ||
	    rc == SD_E_CSR_SIGNATURE || rc == SD_E_NAME_REFUSED || rc == SD_E_NOMEM);
	FUZZ_CHECK((rc == 0) == (csr != NULL));
	if (rc != 0)
		return rc;
	FUZZ_CHECK(csr->pubkey != NULL && csr->spki != NULL && csr->spki_len > 0);
	FUZZ_CHECK(csr->key_type != 0 && (csr->key_type & ~CONFIG_KEY_ALL) == 0 &&
	    (csr->key_type & (csr->key_type - 1)) == 0);
	FUZZ_CHECK(csr->n_sans <= CSR_SAN_MAX && csr->n_attrs <= CSR_ATTR_MAX);
	FUZZ_CHECK(!csr->has_cn || (strlen(csr->cn) > 0 && strlen(csr->cn) <= CSR_CN_MAX));
	for (i = 0; i < csr->n_sans; i++)
		FUZZ_CHECK(csr->sans[i].type == X509_SAN_IP ? csr->sans[i].ip_len == 4 || csr->sans[i].ip_len == 16 :
		    csr->sans[i].name_len <= X509_SAN_NAME_MAX && csr->sans[i].name[csr->sans[i].name_len] == '\0');
	for (i = 0; i < FUZZ_PROFILES; i++)
		fuzz_policy(fuzz.profiles[i], csr);
	csr_free(csr);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *der;
	uint8_t *decoded = NULL;
	size_t len = size, pem_len = 0;
	char *pem = NULL, *again;
	bool is_pem;

	if (fuzz.cfg == NULL)
		fuzz_init();
	is_pem = size > 0 && (data[0] == '-' || data[0] == ' ' || data[0] == '\t' || data[0] == '\r' ||
	    data[0] == '\n');
	if (is_pem) {
		pem = fuzz_strndup(data, size);
		pem_len = size;
	} else if ((pem = fuzz_pem(data, size, &pem_len)) == NULL) {
		return 0;
	}
	if (fuzz_parse(pem, pem_len) == SD_E_CSR_SIGNATURE) {
		if (!is_pem)
			der = data;
		else if ((der = decoded = fuzz_unpem(data, size, &len)) == NULL)
			goto out;
		if ((again = fuzz_resign(der, len, &pem_len)) != NULL) {
			(void)fuzz_parse(again, pem_len);
			free(again);
		}
	}
out:
	OPENSSL_free(decoded);
	free(pem);
	return 0;
}
