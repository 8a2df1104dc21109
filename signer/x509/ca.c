#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "sd_file.h"
#include "x509_cert.h"

/* PEM text of cert as a new NUL-terminated string. */
static int
ca_cert_pem(X509 *cert, char **out)
{
	unsigned char *der = NULL;
	int len, rc;

	*out = NULL;
	if ((len = i2d_X509(cert, &der)) <= 0)
		return sd_error_set(SD_E_CRYPTO, "cannot encode a certificate");
	rc = x509_cert_pem(der, (size_t)len, out);
	OPENSSL_free(der);
	return rc;
}

/* Read every PEM certificate in pem; refuses other PEM objects and anything past max. */
static int
ca_read_certs(const char *pem, size_t len, const char *source, X509 **certs, size_t max, size_t *n)
{
	BIO *bio = NULL;
	X509 *cert;
	unsigned long err;
	int rc;

	*n = 0;
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (;;) {
		ERR_set_mark();
		cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (cert == NULL) {
			err = ERR_peek_last_error();
			ERR_pop_to_mark();
			/* Running out of input is the normal end; anything else is a broken file. */
			if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE && *n > 0)
				break;
			rc = sd_error_set(SD_E_CONFIG, "%s: %s", source,
			    *n == 0 ? "no PEM certificate" : "malformed PEM certificate");
			goto out;
		}
		ERR_clear_last_mark();
		if (*n == max) {
			X509_free(cert);
			rc = sd_error_set(SD_E_CONFIG, "%s: more than %zu certificates", source, max);
			goto out;
		}
		certs[(*n)++] = cert;
	}
	rc = 0;
out:
	if (rc != 0) {
		while (*n > 0)
			X509_free(certs[--(*n)]);
	}
	BIO_free(bio);
	return rc;
}

static int
ca_check_key(struct ca *ca, struct hsm_key *key, const char *key_name, const char *source)
{
	EVP_PKEY *hsm_pub = NULL;
	const uint8_t *spki;
	const unsigned char *p;
	size_t spki_len = 0;
	int rc;

	if ((spki = hsm_key_spki_peek(key, &spki_len)) == NULL || spki_len == 0 || spki_len > LONG_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "HSM key has no public key");
		goto out;
	}
	p = spki;
	if ((hsm_pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL || p != spki + spki_len) {
		rc = sd_error_set(SD_E_CONFIG, "HSM key's public key does not parse");
		goto out;
	}
	if (EVP_PKEY_eq(ca->pubkey, hsm_pub) != 1) {
		rc = sd_error_set(SD_E_CONFIG, "certificate %s does not match key %s", source, key_name);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(hsm_pub);
	return rc;
}

static int
ca_prepare(struct ca *ca, struct hsm_key *key, const char *key_name, const char *source)
{
	const ASN1_OCTET_STRING *ski;
	const X509_NAME *subject;
	unsigned char *der = NULL, *name = NULL;
	struct tm tm;
	int n, rc;

	if (X509_check_ca(ca->cert) != 1) {
		rc = sd_error_set(SD_E_CONFIG, "certificate %s is not a CA certificate (basicConstraints cA and "
		    "keyUsage keyCertSign)", source);
		goto out;
	}
	if ((ca->pubkey = X509_get_pubkey(ca->cert)) == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "certificate %s: public key does not parse", source);
		goto out;
	}
	if ((rc = ca_check_key(ca, key, key_name, source)) != 0)
		goto out;
	if ((rc = x509_sigalg_for(hsm_key_type(key), &ca->sigalg)) != 0 ||
	    (rc = x509_verifier_new(ca->pubkey, ca->sigalg, &ca->verifier)) != 0)
		goto out;
	subject = X509_get_subject_name(ca->cert);
	if ((n = i2d_X509_NAME(subject, &name)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "certificate %s: cannot encode the subject", source);
		goto out;
	}
	ca->issuer = name;
	ca->issuer_len = (size_t)n;
	name = NULL;
	ski = X509_get0_subject_key_id(ca->cert);
	if (ski != NULL && ASN1_STRING_length(ski) > 0 && ASN1_STRING_length(ski) <= X509_KEYID_MAX) {
		ca->keyid_len = (size_t)ASN1_STRING_length(ski);
		memcpy(ca->keyid, ASN1_STRING_get0_data(ski), ca->keyid_len);
	} else {
		if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca->cert), &der)) <= 0) {
			rc = sd_error_set(SD_E_CRYPTO, "certificate %s: cannot encode the public key", source);
			goto out;
		}
		if ((rc = x509_ext_key_id(der, (size_t)n, ca->keyid)) != 0)
			goto out;
		ca->keyid_len = X509_KEYID_LEN;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(ca->cert), &tm) != 1) {
		rc = sd_error_set(SD_E_CONFIG, "certificate %s: malformed notAfter", source);
		goto out;
	}
	ca->not_after = timegm(&tm);
	ca->path_len = X509_get_pathlen(ca->cert);
	if (EVP_PKEY_up_ref(ca->pubkey) != 1) {
		rc = SD_E_CRYPTO;
		goto out;
	}
	ca->chain_keys[0] = ca->pubkey;
	ca->n_chain_keys = 1;
	rc = 0;
out:
	OPENSSL_free(der);
	OPENSSL_free(name);
	return rc;
}

int
ca_from_pem(struct hsm_key *key, const char *key_name, const char *pem, size_t len, const char *source,
    struct ca **out)
{
	struct ca *ca = NULL;
	X509 *certs[1] = { NULL };
	size_t n = 0;
	int rc;

	*out = NULL;
	if (key == NULL || pem == NULL || len == 0) {
		rc = sd_error_set(SD_E_CONFIG, "%s: no certificate", source);
		goto out;
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = ca_read_certs(pem, len, source, certs, 1, &n)) != 0)
		goto out;
	ca->cert = certs[0];
	if ((rc = ca_prepare(ca, key, key_name, source)) != 0)
		goto out;
	if ((rc = ca_cert_pem(ca->cert, &ca->chain_pem[0])) != 0)
		goto out;
	ca->n_chain = 1;
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	ca_free(ca);
	return rc;
}

/* Replace the chain with the one in chain_path after checking it links up. */
static int
ca_load_chain(struct ca *ca, const char *chain_path)
{
	X509 *certs[SIGNER_CHAIN_MAX];
	EVP_PKEY *next_key, *keys[SIGNER_CHAIN_MAX] = { NULL };
	uint8_t *text = NULL;
	char *pems[SIGNER_CHAIN_MAX] = { NULL };
	size_t len = 0, n = 0, i;
	int rc;

	if ((rc = sd_file_read(chain_path, CA_FILE_MAX, &text, &len)) != 0)
		goto out;
	if ((rc = ca_read_certs((const char *)text, len, chain_path, certs, SIGNER_CHAIN_MAX, &n)) != 0)
		goto out;
	if (X509_cmp(certs[0], ca->cert) != 0) {
		rc = sd_error_set(SD_E_CONFIG, "%s: the first certificate is not the issuing certificate", chain_path);
		goto out;
	}
	for (i = 0; i + 1 < n; i++) {
		next_key = X509_get0_pubkey(certs[i + 1]);
		if (X509_check_issued(certs[i + 1], certs[i]) != X509_V_OK || next_key == NULL ||
		    X509_verify(certs[i], next_key) != 1) {
			rc = sd_error_set(SD_E_CONFIG, "%s: certificate %zu is not issued by certificate %zu", chain_path,
			    i + 1, i + 2);
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if ((rc = ca_cert_pem(certs[i], &pems[i])) != 0)
			goto out;
	for (i = 0; i < n; i++) {
		if ((keys[i] = X509_get0_pubkey(certs[i])) == NULL || EVP_PKEY_up_ref(keys[i]) != 1) {
			keys[i] = NULL;
			rc = sd_error_set(SD_E_CONFIG, "%s: certificate %zu has an unusable public key", chain_path, i + 1);
			goto out;
		}
	}
	for (i = 0; i < ca->n_chain; i++)
		free(ca->chain_pem[i]);
	for (i = 0; i < ca->n_chain_keys; i++)
		EVP_PKEY_free(ca->chain_keys[i]);
	for (i = 0; i < n; i++) {
		ca->chain_pem[i] = pems[i];
		pems[i] = NULL;
		ca->chain_keys[i] = keys[i];
		keys[i] = NULL;
	}
	ca->n_chain = n;
	ca->n_chain_keys = n;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	for (i = 0; i < n; i++) {
		X509_free(certs[i]);
		free(pems[i]);
		EVP_PKEY_free(keys[i]);
	}
	free(text);
	return rc;
}

int
ca_load(struct hsm_key *key, const char *key_name, const char *cert_path, const char *chain_path, bool pss,
    struct ca **out)
{
	struct ca *ca = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (cert_path == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "no CA certificate configured");
		goto out;
	}
	if ((rc = sd_file_read(cert_path, CA_FILE_MAX, &text, &len)) != 0)
		goto out;
	if ((rc = ca_from_pem(key, key_name, (const char *)text, len, cert_path, &ca)) != 0)
		goto out;
	if (pss && (rc = x509_sigalg_for_scheme(hsm_key_type(key), true, &ca->sigalg)) != 0) {
		rc = sd_error_set(SD_E_CONFIG, "[ca] signature = pss: %s", sd_error_detail(rc));
		goto out;
	}
	if (pss) {
		x509_verifier_free(ca->verifier);
		ca->verifier = NULL;
		if ((rc = x509_verifier_new(ca->pubkey, ca->sigalg, &ca->verifier)) != 0)
			goto out;
	}
	if (chain_path != NULL && (rc = ca_load_chain(ca, chain_path)) != 0)
		goto out;
	*out = ca;
	ca = NULL;
	rc = 0;
out:
	free(text);
	ca_free(ca);
	return rc;
}

void
ca_free(struct ca *ca)
{
	size_t i;

	if (ca == NULL)
		return;
	for (i = 0; i < ca->n_chain; i++)
		free(ca->chain_pem[i]);
	for (i = 0; i < ca->n_chain_keys; i++)
		EVP_PKEY_free(ca->chain_keys[i]);
	OPENSSL_free(ca->issuer);
	x509_verifier_free(ca->verifier);
	EVP_PKEY_free(ca->pubkey);
	X509_free(ca->cert);
	free(ca);
}

bool
ca_key_is_ca(const struct ca *ca, const EVP_PKEY *pkey)
{
	size_t i;
	bool same = false;

	for (i = 0; ca != NULL && pkey != NULL && i < ca->n_chain_keys && !same; i++)
		same = EVP_PKEY_eq(ca->chain_keys[i], pkey) == 1;
	ERR_clear_error();
	return same;
}
