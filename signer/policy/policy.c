#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "lint.h"
#include "policy.h"
#include "profile_check.h"
#include "x509/x509_cert.h"

int
policy_check_key(const struct config_profile *profile, const struct csr *csr, const struct ca *ca,
    const struct weakkey_blocklist *bl, unsigned *ku)
{
	uint8_t sha[32];
	int rc;

	*ku = 0;
	if ((rc = profile_check_key_type(profile, csr->key_type)) != 0)
		return rc;
	if (ca_key_is_ca(ca, csr->pubkey))
		return sd_error_set(SD_E_KEY_REFUSED, "the subject key is the public key of a CA in this signer's chain");
	if (bl != NULL) {
		if (EVP_Digest(csr->spki, csr->spki_len, sha, NULL, EVP_sha256(), NULL) != 1)
			return sd_error_set(SD_E_CRYPTO, "SHA-256 of the subject public key failed");
		if (weakkey_blocklist_has(bl, sha))
			return sd_error_set(SD_E_KEY_REFUSED, "the subject key is on the key blocklist (compromised key)");
	}
	return profile_key_usage(profile, csr->key_type, ku);
}

static void
policy_lower(char *s, size_t from, size_t len)
{
	size_t i;

	for (i = from; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/* One name from the request body as a SAN, or a refusal. */
static int
policy_body_san(const struct signer_san *in, struct x509_san *san)
{
	char text[INET6_ADDRSTRLEN + 1];

	memset(san, 0, sizeof(*san));
	if (in->value == NULL || in->len == 0 || in->len > X509_SAN_NAME_MAX)
		return sd_error_set(SD_E_NAME_REFUSED, "a name in the request is empty or longer than %d bytes",
		    X509_SAN_NAME_MAX);
	switch (in->type) {
	case SIGNER_SAN_DNS:
		san->type = X509_SAN_DNS;
		break;
	case SIGNER_SAN_URI:
		san->type = X509_SAN_URI;
		break;
	case SIGNER_SAN_EMAIL:
		san->type = X509_SAN_EMAIL;
		break;
	case SIGNER_SAN_IP:
		if (in->len >= sizeof(text) || memchr(in->value, '\0', in->len) != NULL)
			return sd_error_set(SD_E_NAME_REFUSED, "\"%.*s\" is not an IP address", (int)(in->len > 64 ? 64 : in->len),
			    in->value);
		memcpy(text, in->value, in->len);
		text[in->len] = '\0';
		if (inet_pton(AF_INET, text, san->ip) == 1) {
			san->ip_len = 4;
		} else if (inet_pton(AF_INET6, text, san->ip) == 1) {
			san->ip_len = 16;
		} else {
			return sd_error_set(SD_E_NAME_REFUSED, "\"%s\" is not an IP address", text);
		}
		san->type = X509_SAN_IP;
		return 0;
	default:
		return sd_error_set(SD_E_NAME_REFUSED, "unknown name type %d in the request", (int)in->type);
	}
	memcpy(san->name, in->value, in->len);
	san->name[in->len] = '\0';
	san->name_len = in->len;
	return 0;
}

static bool
policy_same_san(const struct x509_san *a, const struct x509_san *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == X509_SAN_IP)
		return a->ip_len == b->ip_len && memcmp(a->ip, b->ip, a->ip_len) == 0;
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

int
policy_names(const struct config_profile *profile, const struct csr *csr, const struct signer_san *body,
    size_t n_body, struct x509_san *sans, size_t *n)
{
	struct x509_san *san;
	const char *at;
	size_t i, j, total = n_body > 0 ? n_body : csr->n_sans, n_uri = 0, n_spiffe = 0;
	bool dup;
	int rc;

	*n = 0;
	if (total > SIGNER_SAN_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "%zu names requested; at most %d", total, SIGNER_SAN_MAX);
	for (i = 0; i < total; i++) {
		san = &sans[*n];
		if (n_body > 0) {
			if ((rc = policy_body_san(&body[i], san)) != 0)
				return rc;
		} else {
			*san = csr->sans[i];
		}
		switch (san->type) {
		case X509_SAN_DNS:
			if ((rc = profile_check_dns(profile, san->name, san->name_len)) != 0)
				return rc;
			policy_lower(san->name, 0, san->name_len);
			break;
		case X509_SAN_IP:
			if ((rc = profile_check_ip(profile, san->ip_len == 4 ? AF_INET : AF_INET6, san->ip, san->ip_len)) != 0)
				return rc;
			break;
		case X509_SAN_URI:
			if ((rc = profile_check_uri(profile, san->name, san->name_len)) != 0)
				return rc;
			break;
		case X509_SAN_EMAIL:
			if ((rc = profile_check_email(profile, san->name, san->name_len)) != 0)
				return rc;
			/* The domain part is case-insensitive; the local part is left as asked. */
			at = memchr(san->name, '@', san->name_len);
			policy_lower(san->name, (size_t)(at - san->name), san->name_len);
			break;
		default:
			return sd_error_set(SD_E_INTERNAL, "unknown SAN type %d", (int)san->type);
		}
		for (j = 0, dup = false; j < *n && !dup; j++)
			dup = policy_same_san(&sans[j], san);
		if (dup)
			continue;
		if (san->type == X509_SAN_URI) {
			n_uri++;
			n_spiffe += san->name_len >= 7 && memcmp(san->name, "spiffe:", 7) == 0;
		}
		(*n)++;
	}
	/* X.509-SVID, section 2: exactly one URI SAN, the SPIFFE ID. */
	if (n_spiffe > 0 && n_uri > 1)
		return sd_error_set(SD_E_NAME_REFUSED, "a certificate with a SPIFFE ID carries exactly one URI SAN; "
		    "%zu were requested (profile %s)", n_uri, profile->name);
	if (*n == 0 && !profile->ca)
		return sd_error_set(SD_E_NAME_REFUSED, "the %s requests no subjectAltName (profile %s)",
		    n_body > 0 ? "request" : "CSR", profile->name);
	return 0;
}

/* The CSR's CN in the normalised form of the SAN it names, into out; false when it names none. */
static bool
policy_cn_as_san(const struct csr *csr, const struct x509_san *sans, size_t n, char out[INET6_ADDRSTRLEN + CSR_CN_MAX])
{
	char lower[CSR_CN_MAX + 1];
	uint8_t ip[16];
	size_t i, len = strlen(csr->cn);

	memcpy(lower, csr->cn, len + 1);
	policy_lower(lower, 0, len);
	for (i = 0; i < n; i++) {
		if (sans[i].type == X509_SAN_DNS && sans[i].name_len == len && memcmp(sans[i].name, lower, len) == 0) {
			memcpy(out, sans[i].name, len + 1);
			return true;
		}
		if (sans[i].type == X509_SAN_IP && inet_pton(sans[i].ip_len == 4 ? AF_INET : AF_INET6, csr->cn, ip) == 1 &&
		    memcmp(ip, sans[i].ip, sans[i].ip_len) == 0 &&
		    inet_ntop(sans[i].ip_len == 4 ? AF_INET : AF_INET6, sans[i].ip, out, INET6_ADDRSTRLEN) != NULL)
			return true;
	}
	return false;
}

int
policy_subject(const struct config_profile *profile, const struct csr *csr, const struct x509_san *sans, size_t n,
    X509_NAME **out, bool *empty)
{
	X509_NAME *name = NULL;
	char cn[INET6_ADDRSTRLEN + CSR_CN_MAX];
	const char *value;
	bool cn_done = false;
	size_t i;
	int rc;

	*out = NULL;
	*empty = true;
	if ((name = X509_NAME_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < csr->n_attrs; i++) {
		if (!(profile->subject_attributes & csr->attrs[i].type))
			continue;
		value = csr->attrs[i].value;
		if (csr->attrs[i].type == CONFIG_SUBJ_CN) {
			/* Exactly one CN (csr->has_cn), once. */
			if (!csr->has_cn || cn_done)
				continue;
			cn_done = true;
			if (profile->cn_must_be_san) {
				if (!policy_cn_as_san(csr, sans, n, cn))
					continue;
				value = cn;
			}
		}
		if (X509_NAME_add_entry_by_NID(name, csr->attrs[i].nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1,
		    0) != 1) {
			rc = sd_error_set(SD_E_CRYPTO, "cannot set subject attribute %s", OBJ_nid2sn(csr->attrs[i].nid));
			goto out;
		}
	}
	*empty = X509_NAME_entry_count(name) == 0;
	if (*empty && profile->ca) {
		rc = sd_error_set(SD_E_NAME_REFUSED, "profile %s issues CA certificates, which need a subject; the CSR's "
		    "subject has none of the attributes the profile lets pass", profile->name);
		goto out;
	}
	*out = name;
	name = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	return rc;
}

/* The profile's name constraints as subtrees; *np and *nx counts. */
static void
policy_subtrees(const struct config_profile *p, struct x509_subtree *perm, size_t *np, struct x509_subtree *excl,
    size_t *nx)
{
	size_t i;

	*np = *nx = 0;
	for (i = 0; i < p->n_permitted_dns; i++)
		perm[(*np)++] = (struct x509_subtree){ .type = X509_SAN_DNS, .dns = p->permitted_dns[i] };
	for (i = 0; i < p->n_permitted_ip; i++) {
		perm[*np] = (struct x509_subtree){ .type = X509_SAN_IP, .prefix = p->permitted_ip[i].prefix,
		    .ip_len = p->permitted_ip[i].family == AF_INET ? 4 : 16 };
		memcpy(perm[(*np)++].ip, p->permitted_ip[i].addr, 16);
	}
	for (i = 0; i < p->n_excluded_dns; i++)
		excl[(*nx)++] = (struct x509_subtree){ .type = X509_SAN_DNS, .dns = p->excluded_dns[i] };
	for (i = 0; i < p->n_excluded_ip; i++) {
		excl[*nx] = (struct x509_subtree){ .type = X509_SAN_IP, .prefix = p->excluded_ip[i].prefix,
		    .ip_len = p->excluded_ip[i].family == AF_INET ? 4 : 16 };
		memcpy(excl[(*nx)++].ip, p->excluded_ip[i].addr, 16);
	}
}

int
policy_extensions(const struct config_profile *profile, const struct csr *csr, unsigned ku, const uint8_t *ca_keyid,
    size_t ca_keyid_len, const struct x509_san *sans, size_t n, bool empty_subject, bool short_lived,
    STACK_OF(X509_EXTENSION) **out)
{
	const char *ocsp_url;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct x509_subtree *perm = NULL, *excl = NULL;
	uint8_t keyid[X509_KEYID_LEN];
	size_t np = 0, nx = 0;
	int rc;

	*out = NULL;
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = x509_ext_add_basic_constraints(exts, profile->ca, profile->ca ? profile->path_len : -1)) != 0 ||
	    (rc = x509_ext_add_key_usage(exts, ku)) != 0)
		goto out;
	if (profile->ext_key_usage != 0 && (rc = x509_ext_add_ext_key_usage(exts, profile->ext_key_usage)) != 0)
		goto out;
	if ((rc = x509_ext_key_id(csr->spki, csr->spki_len, keyid)) != 0 ||
	    (rc = x509_ext_add_ski(exts, keyid, sizeof(keyid))) != 0 ||
	    (rc = x509_ext_add_aki(exts, ca_keyid, ca_keyid_len)) != 0)
		goto out;
	if (n > 0 && (rc = x509_ext_add_san(exts, sans, n, empty_subject)) != 0)
		goto out;
	if (profile->ca && profile->n_permitted_dns + profile->n_permitted_ip + profile->n_excluded_dns +
	    profile->n_excluded_ip > 0) {
		if ((perm = calloc(2 * CONFIG_LIST_MAX, sizeof(*perm))) == NULL ||
		    (excl = calloc(2 * CONFIG_LIST_MAX, sizeof(*excl))) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		policy_subtrees(profile, perm, &np, excl, &nx);
		if ((rc = x509_ext_add_name_constraints(exts, perm, np, excl, nx)) != 0)
			goto out;
	}
	/* Short lifetime replaces revocation: nothing points at a CRL or a responder that will not list it. */
	ocsp_url = short_lived ? NULL : profile->ocsp_url;
	if (!short_lived && profile->crl_url != NULL && (rc = x509_ext_add_crl_dp(exts, profile->crl_url)) != 0)
		goto out;
	if ((ocsp_url != NULL || profile->ca_issuers_url != NULL) &&
	    (rc = x509_ext_add_aia(exts, ocsp_url, profile->ca_issuers_url)) != 0)
		goto out;
	*out = exts;
	exts = NULL;
	rc = 0;
out:
	free(perm);
	free(excl);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
policy_check_ca_profile(const struct config_profile *p, const struct ca *ca)
{
	if (!p->ca || ca->path_len < 0)
		return 0;
	if (ca->path_len == 0 || (p->path_len >= 0 ? p->path_len >= ca->path_len : ca->path_len < 1))
		return sd_error_set(SD_E_CONFIG, "profile %s issues CA certificates (path_len %d) but the issuing "
		    "CA's pathLenConstraint is %ld: it may issue CA certificates only with path_len below that",
		    p->name, p->path_len, ca->path_len);
	return 0;
}

int
policy_lint(const struct config_profile *profile, const struct ca *ca, const struct x509_tbs_template *t,
    const uint8_t *algid, size_t algid_len, time_t now, uint8_t **tbs, size_t *tbs_len)
{
	struct x509_tbs_template tmpl = *t;
	struct lint_input in;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*tbs = NULL;
	*tbs_len = 0;
	tmpl.algid = algid;
	tmpl.algid_len = algid_len;
	if ((rc = x509_tbs_build(&tmpl, &der, &len)) != 0)
		goto out;
	in = (struct lint_input){
		.tbs = der,
		.tbs_len = len,
		.profile = profile,
		.now = now,
		.ca_not_after = ca->not_after,
		.ca_keyid = ca->keyid,
		.ca_keyid_len = ca->keyid_len,
	};
	if ((rc = lint_tbs(&in)) != 0)
		goto out;
	*tbs = der;
	*tbs_len = len;
	der = NULL;
	rc = 0;
out:
	free(der);
	return rc;
}

int
policy_same_tbs(const uint8_t *der, size_t der_len, const uint8_t *tbs, size_t tbs_len)
{
	const uint8_t *got = NULL;
	size_t got_len = 0;

	if (x509_cert_tbs_peek(der, der_len, &got, &got_len) != 0 || got_len != tbs_len ||
	    memcmp(got, tbs, tbs_len) != 0)
		return sd_error_set(SD_E_INTERNAL, "the signed TBS differs from the linted TBS");
	return 0;
}

int
policy_serial(uint8_t serial[X509_SERIAL_LEN], int (*exists)(void *, const uint8_t *, size_t), void *ctx)
{
	int tries, rc;

	for (tries = 0; tries < 4; tries++) {
		if ((rc = x509_tbs_serial_random(serial)) != 0)
			return rc;
		if (exists == NULL || (rc = exists(ctx, serial, X509_SERIAL_LEN)) == 0)
			return 0;
		if (rc < 0)
			return rc;
	}
	return sd_error_set(SD_E_INTERNAL, "four fresh serial numbers were all taken: the random generator is broken");
}
