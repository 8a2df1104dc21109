#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "config.h"
#include "x509/ca.h"
#include "x509/sign_tbs.h"
#include "x509/x509_cert.h"
#include "x509/x509_ext.h"
#include "x509/x509_tbs.h"

#define CEREMONY_SUBJECT_MAX 1024
#define CEREMONY_DAYS_MAX 36500		/* 100 years */
#define CEREMONY_BACKDATE 300		/* 5 minutes */

/* One "type=value" of the one-line form; '\' escapes the next character. */
static int
ceremony_add_rdn(X509_NAME *name, char *rdn, const char *subject)
{
	char *eq, *r, *w;
	int nid;

	if ((eq = strchr(rdn, '=')) == NULL || eq == rdn || eq[1] == '\0')
		return sd_error_set(SD_E_INVAL, "subject \"%s\": \"%s\" is not type=value", subject, rdn);
	*eq = '\0';
	if ((nid = OBJ_txt2nid(rdn)) == NID_undef)
		return sd_error_set(SD_E_INVAL, "subject \"%s\": unknown attribute type \"%s\"", subject, rdn);
	for (r = w = eq + 1; *r != '\0'; r++) {
		if (*r == '\\' && r[1] != '\0')
			r++;
		*w++ = *r;
	}
	*w = '\0';
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (unsigned char *)(eq + 1), -1, -1, 0) != 1) {
		ERR_clear_error();
		return sd_error_set(SD_E_INVAL, "subject \"%s\": invalid value for %s", subject, OBJ_nid2sn(nid));
	}
	return 0;
}

/* Parse the OpenSSL one-line form "/O=x/CN=y" ('\' escapes, e.g. "\/"). */
static int
ceremony_subject(const char *subject, X509_NAME **out)
{
	X509_NAME *name = NULL;
	char *copy = NULL, *p, *start;
	bool last;
	int rc;

	*out = NULL;
	if (subject == NULL || subject[0] != '/' || strlen(subject) > CEREMONY_SUBJECT_MAX) {
		rc = sd_error_set(SD_E_INVAL, "subject must be of the form /O=example/CN=Example CA (at most %d bytes)",
		    CEREMONY_SUBJECT_MAX);
		goto out;
	}
	if ((copy = strdup(subject)) == NULL || (name = X509_NAME_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	start = copy + 1;
	for (p = start;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p != '/' && *p != '\0')
			continue;
		if (p == start) {
			rc = sd_error_set(SD_E_INVAL, "subject \"%s\" has an empty component", subject);
			goto out;
		}
		last = *p == '\0';
		*p = '\0';
		if ((rc = ceremony_add_rdn(name, start, subject)) != 0)
			goto out;
		if (last)
			break;
		start = p + 1;
	}
	*out = name;
	name = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	free(copy);
	return rc;
}

/* A CA's extensions, or (responder) those of a delegated OCSP responder, which signs nothing else. */
static int
ceremony_extensions(const struct ceremony_ca *req, bool responder, const uint8_t *ski, const uint8_t *aki,
    size_t aki_len, STACK_OF(X509_EXTENSION) **out)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int rc;

	*out = NULL;
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (responder)
		rc = x509_ext_add_basic_constraints(exts, false, -1);
	else
		rc = x509_ext_add_basic_constraints(exts, true, req->path_len);
	if (rc != 0)
		goto out;
	if (responder)
		rc = x509_ext_add_key_usage(exts, CONFIG_KU_DIGITAL_SIGNATURE);
	else
		rc = x509_ext_add_key_usage(exts, CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN);
	if (rc != 0)
		goto out;
	if ((responder && (rc = x509_ext_add_ocsp_signing(exts)) != 0) ||
	    (rc = x509_ext_add_ski(exts, ski, X509_KEYID_LEN)) != 0 ||
	    (rc = x509_ext_add_aki(exts, aki, aki_len)) != 0)
		goto out;
	*out = exts;
	exts = NULL;
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/*
 * Build, sign with signing_key and check against verify_key the CA
 * certificate (responder: the OCSP responder certificate) for subject_key.
 * issuer NULL: self-signed (issuer = subject, AKI = SKI). not_after_cap 0:
 * no cap.
 */
static int
ceremony_issue(struct hsm_key *signing_key, EVP_PKEY *verify_key, const uint8_t *issuer, size_t issuer_len,
    const uint8_t *aki, size_t aki_len, time_t not_after_cap, struct hsm_key *subject_key,
    const struct ceremony_ca *req, bool responder, bool pss, char **pem)
{
	X509_NAME *subject = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	EVP_PKEY *self_key = NULL;
	struct x509_tbs_template tmpl;
	const struct x509_sigalg *alg;
	uint8_t serial[X509_SERIAL_LEN], ski[X509_KEYID_LEN];
	unsigned char *subject_der = NULL;
	const unsigned char *p;
	uint8_t *der = NULL;
	const uint8_t *spki;
	size_t spki_len = 0, der_len = 0;
	time_t now;
	int n, rc;

	*pem = NULL;
	if (req == NULL || req->days == 0 || req->days > CEREMONY_DAYS_MAX) {
		rc = sd_error_set(SD_E_INVAL, "validity must be 1 to %d days", CEREMONY_DAYS_MAX);
		goto out;
	}
	if (req->path_len < -1) {
		rc = sd_error_set(SD_E_INVAL, "pathLenConstraint %d: use -1 for none", req->path_len);
		goto out;
	}
	if ((rc = ceremony_subject(req->subject, &subject)) != 0)
		goto out;
	if ((spki = hsm_key_spki_peek(subject_key, &spki_len)) == NULL || spki_len == 0 || spki_len > LONG_MAX) {
		rc = sd_error_set(SD_E_INVAL, "subject key has no public key");
		goto out;
	}
	if ((rc = x509_ext_key_id(spki, spki_len, ski)) != 0)
		goto out;
	if (issuer == NULL) {
		if ((n = i2d_X509_NAME(subject, &subject_der)) <= 0) {
			rc = sd_error_set(SD_E_CRYPTO, "cannot encode the subject");
			goto out;
		}
		issuer = subject_der;
		issuer_len = (size_t)n;
		aki = ski;
		aki_len = sizeof(ski);
		p = spki;
		if ((self_key = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL) {
			rc = sd_error_set(SD_E_CRYPTO, "the key's public key does not parse");
			goto out;
		}
		verify_key = self_key;
	}
	if ((rc = ceremony_extensions(req, responder, ski, aki, aki_len, &exts)) != 0)
		goto out;
	if ((rc = x509_tbs_serial_random(serial)) != 0)
		goto out;
	now = time(NULL);
	tmpl = (struct x509_tbs_template){
		.serial = serial,
		.serial_len = sizeof(serial),
		.issuer = issuer,
		.issuer_len = issuer_len,
		.not_before = now - CEREMONY_BACKDATE,
		.not_after = now + (time_t)req->days * 86400,
		.subject = subject,
		.spki = spki,
		.spki_len = spki_len,
		.exts = exts,
	};
	if (not_after_cap != 0 && tmpl.not_after > not_after_cap)
		tmpl.not_after = not_after_cap;
	if (tmpl.not_after <= now) {
		rc = sd_error_set(SD_E_INVAL, "the issuer certificate has expired");
		goto out;
	}
	if ((rc = x509_sigalg_for_scheme(hsm_key_type(signing_key), pss, &alg)) != 0)
		goto out;
	if ((rc = x509_sign_cert(signing_key, alg, &tmpl, verify_key, &der, &der_len, NULL)) != 0)
		goto out;
	rc = x509_cert_pem(der, der_len, pem);
out:
	if (rc != 0)
		ERR_clear_error();
	free(der);
	OPENSSL_free(subject_der);
	EVP_PKEY_free(self_key);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	return rc;
}

int
ceremony_root(struct hsm_key *key, const struct ceremony_ca *req, char **pem)
{
	return ceremony_root_sig(key, req, false, pem);
}

int
ceremony_intermediate(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *subject_key, const struct ceremony_ca *req, char **pem)
{
	return ceremony_intermediate_sig(issuer_key, issuer_pem, issuer_pem_len, subject_key, req, false, pem);
}

int
ceremony_root_sig(struct hsm_key *key, const struct ceremony_ca *req, bool pss, char **pem)
{
	*pem = NULL;
	if (key == NULL)
		return sd_error_set(SD_E_INVAL, "no key");
	return ceremony_issue(key, NULL, NULL, 0, NULL, 0, 0, key, req, false, pss, pem);
}

int
ceremony_intermediate_sig(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *subject_key, const struct ceremony_ca *req, bool pss, char **pem)
{
	struct ca *ca = NULL;
	long issuer_path_len;
	int rc;

	*pem = NULL;
	if (issuer_key == NULL || subject_key == NULL || req == NULL) {
		rc = sd_error_set(SD_E_INVAL, "no issuer key, subject key or request");
		goto out;
	}
	if ((rc = ca_from_pem(issuer_key, "(issuer key)", issuer_pem, issuer_pem_len, "(issuer PEM)", &ca)) != 0)
		goto out;
	/* Do not make a certificate that path validation would reject under this issuer. */
	issuer_path_len = X509_get_pathlen(ca->cert);
	if (issuer_path_len == 0) {
		rc = sd_error_set(SD_E_INVAL, "the issuer's pathLenConstraint 0 forbids intermediate CAs");
		goto out;
	}
	if (issuer_path_len > 0 && req->path_len > issuer_path_len - 1) {
		rc = sd_error_set(SD_E_INVAL, "pathLenConstraint %d exceeds %ld allowed by the issuer", req->path_len,
		    issuer_path_len - 1);
		goto out;
	}
	rc = ceremony_issue(issuer_key, ca->pubkey, ca->issuer, ca->issuer_len, ca->keyid, ca->keyid_len,
	    ca->not_after, subject_key, req, false, pss, pem);
out:
	ca_free(ca);
	return rc;
}

int
ceremony_ocsp_responder(struct hsm_key *issuer_key, const char *issuer_pem, size_t issuer_pem_len,
    struct hsm_key *responder_key, const char *subject, uint64_t days, char **pem)
{
	struct ceremony_ca req = { subject, days, -1 };
	struct ca *ca = NULL;
	unsigned char *ca_spki = NULL;
	const uint8_t *spki;
	size_t spki_len = 0;
	int n, rc;

	*pem = NULL;
	if (issuer_key == NULL || responder_key == NULL) {
		rc = sd_error_set(SD_E_INVAL, "no issuer key or responder key");
		goto out;
	}
	if ((rc = ca_from_pem(issuer_key, "(issuer key)", issuer_pem, issuer_pem_len, "(issuer PEM)", &ca)) != 0)
		goto out;
	/* A CA answers with its own key without any certificate: delegating to itself is a mistake. */
	if ((n = i2d_PUBKEY(ca->pubkey, &ca_spki)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot encode the issuer's public key");
		goto out;
	}
	if ((spki = hsm_key_spki_peek(responder_key, &spki_len)) != NULL && spki_len == (size_t)n &&
	    memcmp(spki, ca_spki, spki_len) == 0) {
		rc = sd_error_set(SD_E_INVAL, "the responder key is the issuer's own key");
		goto out;
	}
	rc = ceremony_issue(issuer_key, ca->pubkey, ca->issuer, ca->issuer_len, ca->keyid, ca->keyid_len,
	    ca->not_after, responder_key, &req, true, false, pem);
out:
	OPENSSL_free(ca_spki);
	ca_free(ca);
	return rc;
}
