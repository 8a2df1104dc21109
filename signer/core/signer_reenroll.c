/*
 * RFC 7030 4.2.2 lets the holder of a certificate renew it with that very
 * certificate as its TLS identity. The front vouches only that the client
 * proved the key of the certificate it names; everything else is decided
 * here, from the journal.
 */
#include <stdbool.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sd_file.h"
#include "signer_reenroll.h"
#include "signer_revoke.h"

/* Whether every name of a is in b (GENERAL_NAME_cmp: type and value). */
static bool
signer_reenroll_names_in(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	int i, k;
	bool found;

	for (i = 0; i < sk_GENERAL_NAME_num(a); i++) {
		found = false;
		for (k = 0; k < sk_GENERAL_NAME_num(b) && !found; k++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i), sk_GENERAL_NAME_value(b, k)) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* Whether the new certificate's names (exts) are the old one's (x), as sets. */
static bool
signer_reenroll_same_names(const X509 *x, const STACK_OF(X509_EXTENSION) * exts)
{
	GENERAL_NAMES *old = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	GENERAL_NAMES *now = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	bool same;

	if (old == NULL || now == NULL)
		same = old == NULL && now == NULL;
	else
		same = signer_reenroll_names_in(old, now) && signer_reenroll_names_in(now, old);
	GENERAL_NAMES_free(old);
	GENERAL_NAMES_free(now);
	return same;
}

int
signer_reenroll_holder(struct journal *j, const char *serial_hex, const uint8_t spki_sha256[32], const char *profile,
    int64_t now, X509 **renewed)
{
	struct journal_cert *jc = NULL;
	uint8_t serial[JOURNAL_SERIAL_MAX];
	const unsigned char *p;
	size_t len;
	int rc;

	*renewed = NULL;
	if (sd_hex_decode(serial_hex, serial, sizeof(serial), &len) != 0 ||
	    (rc = journal_cert_get(j, serial, len, &jc)) == SD_E_NOT_FOUND) {
		rc = sd_error_set(SD_E_FORBIDDEN, "the client certificate (serial %.40s) is not one this CA issued",
		    serial_hex);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (!signer_cert_holds_key(jc->cert_der, jc->cert_der_len, spki_sha256)) {
		rc = sd_error_set(SD_E_FORBIDDEN, "the client key is not the key of certificate %.40s", serial_hex);
		goto out;
	}
	if (jc->revoked || !jc->parsed || now < jc->not_before || now > jc->not_after) {
		rc = sd_error_set(SD_E_FORBIDDEN, "certificate %.40s is %s: only a current certificate is renewed",
		    serial_hex,
		    jc->revoked     ? "revoked" :
		        !jc->parsed ? "unreadable" :
		                      "not valid now");
		goto out;
	}
	if (jc->profile == NULL || strcmp(jc->profile, profile) != 0) {
		rc = sd_error_set(SD_E_FORBIDDEN, "certificate %.40s was issued under profile \"%.64s\", not \"%.64s\"",
		    serial_hex, jc->profile != NULL ? jc->profile : "", profile);
		goto out;
	}
	p = jc->cert_der;
	if ((*renewed = d2i_X509(NULL, &p, (long)jc->cert_der_len)) == NULL) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate %.40s does not parse", serial_hex);
		goto out;
	}
	rc = 0;
out:
	journal_cert_free(jc);
	return rc;
}

int
signer_reenroll_same(const X509 *renewed, const X509_NAME *subject, const STACK_OF(X509_EXTENSION) * exts)
{
	if (X509_NAME_cmp(X509_get_subject_name(renewed), subject) == 0 && signer_reenroll_same_names(renewed, exts))
		return 0;
	return sd_error_set(SD_E_NAME_REFUSED,
	    "simplereenroll must repeat the subject and subjectAltNames of the "
	    "certificate it renews (RFC 7030 4.2.2)");
}
