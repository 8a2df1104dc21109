#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "der.h"
#include "lint.h"
#include "x509_ext.h"

/* A placeholder AlgorithmIdentifier (ecdsa-with-SHA256) so the TBS parses as a Certificate; never verified. */
static const uint8_t lint_dummy_algid[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
/* An empty BIT STRING: the signature that does not exist yet. */
static const uint8_t lint_empty_sig[] = { 0x03, 0x01, 0x00 };

#define LINT_FAIL(name, ...) sd_error_set(SD_E_INTERNAL, "lint " name ": " __VA_ARGS__)

/* Parse the TBS with OpenSSL by wrapping it as a Certificate with no signature. */
static int
lint_parse(const struct lint_input *in, X509 **out)
{
	struct der_piece pieces[3];
	uint8_t *der = NULL;
	const unsigned char *p;
	unsigned char *enc = NULL;
	size_t len = 0;
	X509 *x = NULL;
	int n, rc;

	*out = NULL;
	if (in->tbs == NULL || in->tbs_len == 0) {
		rc = LINT_FAIL("tbs_der", "no TBS");
		goto out;
	}
	pieces[0] = (struct der_piece){ in->tbs, in->tbs_len };
	pieces[1] = (struct der_piece){ lint_dummy_algid, sizeof(lint_dummy_algid) };
	pieces[2] = (struct der_piece){ lint_empty_sig, sizeof(lint_empty_sig) };
	if ((rc = der_wrap(DER_TAG_SEQUENCE, pieces, 3, &der, &len)) != 0) {
		rc = rc == SD_E_NOMEM ? rc : LINT_FAIL("tbs_der", "TBS of %zu bytes cannot be wrapped", in->tbs_len);
		goto out;
	}
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len) {
		rc = LINT_FAIL("tbs_der", "TBS does not parse");
		goto out;
	}
	n = i2d_re_X509_tbs(x, &enc);
	if (n <= 0 || (size_t)n != in->tbs_len || memcmp(enc, in->tbs, in->tbs_len) != 0) {
		rc = LINT_FAIL("tbs_der", "TBS does not re-encode to the same bytes (not DER)");
		goto out;
	}
	if (X509_get_version(x) != X509_VERSION_3) {
		rc = LINT_FAIL("tbs_der", "version %ld is not v3", X509_get_version(x) + 1);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(enc);
	X509_free(x);
	free(der);
	return rc;
}

static int
lint_serial(X509 *x)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	unsigned char *enc = NULL;
	int n, content;

	if (serial == NULL || ASN1_STRING_type(serial) != V_ASN1_INTEGER)
		return LINT_FAIL("serial", "serial number is not a positive INTEGER");
	if (ASN1_STRING_length(serial) == 0 || ASN1_STRING_get0_data(serial)[0] == 0)
		return LINT_FAIL("serial", "serial number is zero or not minimally encoded");
	if ((n = i2d_ASN1_INTEGER(serial, &enc)) <= 2) {
		OPENSSL_free(enc);
		return LINT_FAIL("serial", "serial number does not encode");
	}
	content = n - 2;	/* short-form length: at most 127 content octets */
	OPENSSL_free(enc);
	if (content < LINT_SERIAL_MIN || content > 20)
		return LINT_FAIL("serial", "serial number has %d content octets; %d to 20 required", content,
		    LINT_SERIAL_MIN);
	return 0;
}

/* UTCTime for years before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
static int
lint_time_form(const ASN1_TIME *t, time_t v, const char *which)
{
	struct tm tm;

	if (gmtime_r(&v, &tm) == NULL)
		return LINT_FAIL("validity", "%s is out of range", which);
	if ((tm.tm_year + 1900 < 2050) != (ASN1_STRING_type(t) == V_ASN1_UTCTIME))
		return LINT_FAIL("validity", "%s uses the wrong time type for its year", which);
	return 0;
}

static int
lint_validity(X509 *x, const struct lint_input *in)
{
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);
	const struct config_profile *prof = in->profile;
	struct tm tm;
	time_t before, after;
	int rc;

	if (nb == NULL || na == NULL || ASN1_TIME_to_tm(nb, &tm) != 1)
		return LINT_FAIL("validity", "notBefore does not parse");
	before = timegm(&tm);
	if (ASN1_TIME_to_tm(na, &tm) != 1)
		return LINT_FAIL("validity", "notAfter does not parse");
	after = timegm(&tm);
	if ((rc = lint_time_form(nb, before, "notBefore")) != 0 || (rc = lint_time_form(na, after, "notAfter")) != 0)
		return rc;
	if (after <= before)
		return LINT_FAIL("validity", "notAfter is not after notBefore");
	if ((uint64_t)(after - before) > prof->max_ttl + prof->backdate)
		return LINT_FAIL("validity", "lifetime of %lld s exceeds max_ttl %llu s + backdate %llu s",
		    (long long)(after - before), (unsigned long long)prof->max_ttl, (unsigned long long)prof->backdate);
	if (before < in->now - (time_t)prof->backdate - LINT_CLOCK_SLACK ||
	    before > in->now - (time_t)prof->backdate + LINT_CLOCK_SLACK)
		return LINT_FAIL("validity", "notBefore is not the issuance time minus the backdate");
	if (after > in->ca_not_after)
		return LINT_FAIL("validity", "notAfter is after the CA certificate's notAfter");
	return 0;
}

/* Enum config_key_usage bits from the keyUsage BIT STRING; *other set when any other bit is asserted. */
static unsigned
lint_ku_bits(const ASN1_BIT_STRING *bs, bool *other)
{
	static const struct {
		int bit;
		unsigned flag;
	} map[] = {
		{ 0, CONFIG_KU_DIGITAL_SIGNATURE }, { 2, CONFIG_KU_KEY_ENCIPHERMENT }, { 4, CONFIG_KU_KEY_AGREEMENT },
		{ 5, CONFIG_KU_KEY_CERT_SIGN }, { 6, CONFIG_KU_CRL_SIGN },
	};
	unsigned ku = 0;
	size_t i;
	int b;

	*other = false;
	for (b = 0; b < ASN1_STRING_length(bs) * 8; b++) {
		if (!ASN1_BIT_STRING_get_bit(bs, b))
			continue;
		for (i = 0; i < sizeof(map) / sizeof(map[0]) && map[i].bit != b; i++)
			;
		if (i == sizeof(map) / sizeof(map[0]))
			*other = true;
		else
			ku |= map[i].flag;
	}
	return ku;
}

static int
lint_key_usage(X509 *x, const struct config_profile *prof, unsigned key_type)
{
	ASN1_BIT_STRING *bs;
	unsigned ku, bad;
	bool other;
	int crit = -1;

	if ((bs = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL)) == NULL)
		return LINT_FAIL("key_usage", "keyUsage is %s", crit == -2 ? "present twice" : "missing or malformed");
	ku = lint_ku_bits(bs, &other);
	ASN1_BIT_STRING_free(bs);
	if (crit != 1)
		return LINT_FAIL("key_usage", "keyUsage is not critical");
	if (ku == 0 || other)
		return LINT_FAIL("key_usage", "keyUsage is empty or asserts a usage signerd never grants");
	if ((bad = ku & ~sd_config_key_usage_allowed(key_type)) != 0)
		return LINT_FAIL("key_usage", "keyUsage %s is inconsistent with a %s subject key",
		    (bad & CONFIG_KU_KEY_ENCIPHERMENT) ? "keyEncipherment" :
		    (bad & CONFIG_KU_KEY_AGREEMENT) ? "keyAgreement" : "bits", csr_key_type_name(key_type));
	if (prof->ca && !(ku & CONFIG_KU_KEY_CERT_SIGN))
		return LINT_FAIL("key_usage", "a CA certificate without keyCertSign");
	if (!prof->ca && (ku & (CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN)))
		return LINT_FAIL("key_usage", "keyCertSign or cRLSign on a leaf certificate");
	return 0;
}

static int
lint_basic_constraints(X509 *x, const struct config_profile *prof)
{
	BASIC_CONSTRAINTS *bc;
	long path_len = -1;
	bool ca;
	int crit = -1;

	if ((bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL)) == NULL)
		return LINT_FAIL("basic_constraints", "basicConstraints is %s",
		    crit == -2 ? "present twice" : "missing or malformed");
	ca = bc->ca != 0;
	if (bc->pathlen != NULL)
		path_len = ASN1_INTEGER_get(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	if (crit != 1)
		return LINT_FAIL("basic_constraints", "basicConstraints is not critical");
	if (ca != prof->ca)
		return LINT_FAIL("basic_constraints", "cA is %s but profile %s has ca = %s", ca ? "TRUE" : "FALSE",
		    prof->name, prof->ca ? "true" : "false");
	if (path_len != (prof->ca ? prof->path_len : -1))
		return LINT_FAIL("basic_constraints", "pathLenConstraint %ld differs from the profile's %d", path_len,
		    prof->ca ? prof->path_len : -1);
	return 0;
}

static int
lint_names(X509 *x, const struct config_profile *prof)
{
	GENERAL_NAMES *sans;
	bool empty_subject = X509_NAME_entry_count(X509_get_subject_name(x)) == 0;
	int crit = -1, n;

	if (prof->ca && empty_subject)
		return LINT_FAIL("subject", "a CA certificate has an empty subject");
	sans = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	n = sans != NULL ? sk_GENERAL_NAME_num(sans) : 0;
	GENERAL_NAMES_free(sans);
	if (crit == -2)
		return LINT_FAIL("san", "subjectAltName is present twice");
	if (crit >= 0 && sans == NULL)
		return LINT_FAIL("san", "subjectAltName is malformed");
	if (crit >= 0 && n <= 0)
		return LINT_FAIL("san", "subjectAltName is empty");
	if (empty_subject && crit != 1)
		return LINT_FAIL("subject", "empty subject without a critical subjectAltName");
	if (!prof->ca && crit < 0)
		return LINT_FAIL("san", "a leaf certificate without subjectAltName");
	if (!empty_subject && crit == 1)
		return LINT_FAIL("san", "subjectAltName is critical although the subject is not empty");
	return 0;
}

static int
lint_eku(X509 *x, const struct config_profile *prof)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = -1, i, n;
	bool any = false;

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	n = eku != NULL ? sk_ASN1_OBJECT_num(eku) : 0;
	for (i = 0; i < n; i++)
		any = any || OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_anyExtendedKeyUsage;
	EXTENDED_KEY_USAGE_free(eku);
	if (crit == -2 || (crit >= 0 && (eku == NULL || n <= 0)))
		return LINT_FAIL("ext_key_usage", "extendedKeyUsage is duplicated, malformed or empty");
	if (!prof->ca && crit < 0)
		return LINT_FAIL("ext_key_usage", "a leaf certificate without extendedKeyUsage");
	if (crit == 1)
		return LINT_FAIL("ext_key_usage", "extendedKeyUsage is critical");
	if (any)
		return LINT_FAIL("ext_key_usage", "anyExtendedKeyUsage is asserted");
	return 0;
}

static int
lint_key_ids(X509 *x, const struct lint_input *in)
{
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *aki;
	unsigned char *spki = NULL;
	uint8_t want[X509_KEYID_LEN];
	int crit = -1, n, rc;
	bool ok;

	if ((ski = X509_get_ext_d2i(x, NID_subject_key_identifier, &crit, NULL)) == NULL)
		return LINT_FAIL("ski", "subjectKeyIdentifier is %s", crit == -2 ? "present twice" : "missing or malformed");
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	rc = n > 0 ? x509_ext_key_id(spki, (size_t)n, want) : SD_E_CRYPTO;
	ok = rc == 0 && ASN1_STRING_length(ski) == X509_KEYID_LEN &&
	    memcmp(ASN1_STRING_get0_data(ski), want, X509_KEYID_LEN) == 0;
	OPENSSL_free(spki);
	ASN1_OCTET_STRING_free(ski);
	if (crit != 0)
		return LINT_FAIL("ski", "subjectKeyIdentifier is critical");
	if (!ok)
		return LINT_FAIL("ski", "subjectKeyIdentifier is not the SHA-1 of the subject public key");
	crit = -1;
	if ((aki = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL)) == NULL)
		return LINT_FAIL("aki", "authorityKeyIdentifier is %s",
		    crit == -2 ? "present twice" : "missing or malformed");
	ok = aki->keyid != NULL && aki->issuer == NULL && aki->serial == NULL &&
	    (in->ca_keyid == NULL || ((size_t)ASN1_STRING_length(aki->keyid) == in->ca_keyid_len &&
	    memcmp(ASN1_STRING_get0_data(aki->keyid), in->ca_keyid, in->ca_keyid_len) == 0));
	AUTHORITY_KEYID_free(aki);
	if (crit != 0)
		return LINT_FAIL("aki", "authorityKeyIdentifier is critical");
	if (!ok)
		return LINT_FAIL("aki", "authorityKeyIdentifier is not the issuing CA's keyIdentifier alone");
	return 0;
}

/* Each extension once, of a type signerd makes, with the criticality it must have. */
static int
lint_extensions(X509 *x, const struct config_profile *prof)
{
	X509_EXTENSION *ext;
	char oid[80];
	int i, j, n = X509_get_ext_count(x), nid, crit;

	for (i = 0; i < n; i++) {
		ext = X509_get_ext(x, i);
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			(void)snprintf(oid, sizeof(oid), "?");
		for (j = 0; j < i; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(X509_get_ext(x, j)), X509_EXTENSION_get_object(ext)) == 0)
				return LINT_FAIL("duplicate_extension", "extension %s appears twice", oid);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		crit = X509_EXTENSION_get_critical(ext);
		switch (nid) {
		case NID_basic_constraints:
		case NID_key_usage:
		case NID_ext_key_usage:
		case NID_subject_key_identifier:
		case NID_authority_key_identifier:
		case NID_subject_alt_name:
			break;	/* criticality checked by their own lints */
		case NID_name_constraints:
			if (!prof->ca)
				return LINT_FAIL("name_constraints", "nameConstraints on a leaf certificate");
			if (!crit)
				return LINT_FAIL("name_constraints", "nameConstraints is not critical");
			break;
		case NID_crl_distribution_points:
		case NID_info_access:
			if (crit)
				return LINT_FAIL("extensions", "%s is critical", OBJ_nid2sn(nid));
			break;
		default:
			return LINT_FAIL("extensions", "unexpected extension %s", oid);
		}
	}
	return 0;
}

int
lint_tbs(const struct lint_input *in)
{
	X509 *x = NULL;
	unsigned key_type;
	int rc;

	if (in == NULL || in->profile == NULL)
		return LINT_FAIL("tbs_der", "no TBS or profile");
	if ((rc = lint_parse(in, &x)) != 0)
		goto out;
	if ((rc = lint_serial(x)) != 0 || (rc = lint_validity(x, in)) != 0)
		goto out;
	key_type = csr_key_type(X509_get0_pubkey(x));
	if (key_type == 0 || !(in->profile->key_types & key_type)) {
		rc = LINT_FAIL("subject_key", "subject key type %s is not in the profile's key_types",
		    csr_key_type_name(key_type));
		goto out;
	}
	if ((rc = lint_extensions(x, in->profile)) != 0 || (rc = lint_names(x, in->profile)) != 0 ||
	    (rc = lint_basic_constraints(x, in->profile)) != 0 ||
	    (rc = lint_key_usage(x, in->profile, key_type)) != 0 || (rc = lint_eku(x, in->profile)) != 0 ||
	    (rc = lint_key_ids(x, in)) != 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	return rc;
}
