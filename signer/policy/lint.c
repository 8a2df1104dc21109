#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/der.h"
#include "csr/csr.h"
#include "lint.h"
#include "profile_check.h"
#include "x509/x509_ext.h"

#define LINT_FAIL(name, ...) sd_error_set(SD_E_INTERNAL, "lint " name ": " __VA_ARGS__)

/*
 * The TBS split into its fields. The lints used to wrap the TBS into a
 * placeholder Certificate for d2i_X509(), which decodes the subject public
 * key through OpenSSL 3's decoder set-up: the costliest step of an
 * issuance. Here the TBS's TLV headers are walked strictly (der_read()),
 * each field other than the key is parsed by OpenSSL on its own and must
 * re-encode to its own bytes (so the TBS as a whole is DER), and the key is
 * read from its bytes (csr_spki_key_type(), x509_ext_key_id()) without
 * being decoded.
 */
struct lint_tbs_parts {
	ASN1_INTEGER *serial;
	ASN1_TIME *not_before, *not_after;
	X509_NAME *subject;
	const uint8_t *spki;		/* borrowed from the TBS */
	size_t spki_len;
	STACK_OF(X509_EXTENSION) *exts;	/* NULL when there are none */
};

static void
lint_parts_free(struct lint_tbs_parts *t)
{
	ASN1_INTEGER_free(t->serial);
	ASN1_TIME_free(t->not_before);
	ASN1_TIME_free(t->not_after);
	X509_NAME_free(t->subject);
	sk_X509_EXTENSION_pop_free(t->exts, X509_EXTENSION_free);
	memset(t, 0, sizeof(*t));
}

/* Whether a field OpenSSL parsed (n bytes encoded into enc) re-encodes to its TLV. */
static bool
lint_same(int n, unsigned char *enc, const struct der_tlv *f)
{
	bool same = n > 0 && enc != NULL && (size_t)n == f->tlv_len && memcmp(enc, f->tlv, f->tlv_len) == 0;

	OPENSSL_free(enc);
	return same;
}

/* Parse field f with d2i; it must take all of f's bytes and re-encode to them with i2d. */
#define LINT_D2I(type, f, out) do { \
	unsigned char *le_ = NULL; \
	int ln_; \
	X509_D2I_PART(type, *(f), out); \
	if ((out) == NULL) \
		goto bad; \
	ln_ = i2d_##type((out), &le_); \
	if (!lint_same(ln_, le_, (f))) \
		goto bad; \
} while (0)

/*
 * OpenSSL re-encodes an Extension's critical BOOLEAN as it read it, so the
 * re-encoding cannot show that it is DER: critical must be absent (DEFAULT
 * FALSE) or exactly 01 01 ff.
 */
static int
lint_ext_der(const struct der_tlv *list)
{
	struct der_tlv ext, f;
	const uint8_t *p = list->val, *q;
	size_t avail = list->len, left, n;

	for (n = 1; avail > 0; n++) {
		if (der_next(&p, &avail, DER_TAG_SEQUENCE, &ext) != 0)
			return LINT_FAIL("tbs_der", "extension %zu is not DER", n);
		q = ext.val;
		left = ext.len;
		if (der_next(&q, &left, DER_TAG_OID, &f) != 0)
			return LINT_FAIL("tbs_der", "extension %zu is not DER", n);
		if (der_peek_tag(q, left, DER_TAG_BOOLEAN) &&
		    (der_next(&q, &left, DER_TAG_BOOLEAN, &f) != 0 || f.len != 1 || f.val[0] != 0xff))
			return LINT_FAIL("tbs_der", "extension %zu's critical flag is not DER (FALSE is omitted, TRUE is "
			    "0xff)", n);
	}
	return 0;
}

static int
lint_parse(const struct lint_input *in, struct lint_tbs_parts *t)
{
	struct der_tlv seq, f, nb, na, inner;
	X509_ALGOR *alg = NULL;
	X509_NAME *issuer = NULL;
	const uint8_t *p, *q;
	size_t avail, left;
	int rc;

	memset(t, 0, sizeof(*t));
	if (in->tbs == NULL || in->tbs_len == 0 || in->tbs_len > (size_t)INT32_MAX) {
		rc = LINT_FAIL("tbs_der", "no TBS");
		goto out;
	}
	if (der_read(in->tbs, in->tbs_len, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE || seq.tlv_len != in->tbs_len)
		goto bad;
	p = seq.val;
	avail = seq.len;
	/* version [0] EXPLICIT INTEGER: absent means v1. */
	if (!der_peek_tag(p, avail, DER_TAG_CONTEXT_0)) {
		rc = LINT_FAIL("tbs_der", "version 1 is not v3");
		goto out;
	}
	if (der_next(&p, &avail, DER_TAG_CONTEXT_0, &f) != 0 || f.len != 3 || f.val[0] != DER_TAG_INTEGER ||
	    f.val[1] != 1)
		goto bad;
	if (f.val[2] != 2) {
		rc = LINT_FAIL("tbs_der", "version %d is not v3", f.val[2] + 1);
		goto out;
	}
	if (der_next(&p, &avail, DER_TAG_INTEGER, &f) != 0)
		goto bad;
	LINT_D2I(ASN1_INTEGER, &f, t->serial);
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &f) != 0)
		goto bad;
	LINT_D2I(X509_ALGOR, &f, alg);
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &f) != 0)
		goto bad;
	LINT_D2I(X509_NAME, &f, issuer);
	/* Validity ::= SEQUENCE { notBefore Time, notAfter Time } */
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &f) != 0)
		goto bad;
	q = f.val;
	left = f.len;
	if (der_read(q, left, &nb) != 0 || nb.tlv_len >= left || der_read(q + nb.tlv_len, left - nb.tlv_len, &na) != 0 ||
	    nb.tlv_len + na.tlv_len != left)
		goto bad;
	LINT_D2I(ASN1_TIME, &nb, t->not_before);
	LINT_D2I(ASN1_TIME, &na, t->not_after);
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &f) != 0)
		goto bad;
	LINT_D2I(X509_NAME, &f, t->subject);
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &f) != 0)
		goto bad;
	t->spki = f.tlv;
	t->spki_len = f.tlv_len;
	{
		struct der_tlv algid;
		const uint8_t *key;
		size_t key_len;

		if (x509_spki_split(t->spki, t->spki_len, &algid, &key, &key_len) != 0)
			goto bad;
	}
	if (avail > 0 && !der_peek_tag(p, avail, DER_TAG_CONTEXT_3)) {
		rc = LINT_FAIL("tbs_der", "TBS has fields signerd never makes (unique identifiers) or trailing bytes");
		goto out;
	}
	if (avail > 0) {
		/* extensions [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension */
		if (der_next(&p, &avail, DER_TAG_CONTEXT_3, &f) != 0 || avail != 0 ||
		    der_read(f.val, f.len, &inner) != 0 || inner.tag != DER_TAG_SEQUENCE || inner.tlv_len != f.len ||
		    inner.len == 0)
			goto bad;
		LINT_D2I(X509_EXTENSIONS, &inner, t->exts);
		if ((rc = lint_ext_der(&inner)) != 0)
			goto out;
	}
	rc = 0;
	goto out;
bad:
	rc = LINT_FAIL("tbs_der", "TBS does not parse as a DER TBSCertificate");
out:
	ERR_clear_error();
	X509_ALGOR_free(alg);
	X509_NAME_free(issuer);
	if (rc != 0)
		lint_parts_free(t);
	return rc;
}

static int
lint_serial(const struct lint_tbs_parts *t)
{
	const ASN1_INTEGER *serial = t->serial;
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
lint_validity(const struct lint_tbs_parts *t, const struct lint_input *in)
{
	const ASN1_TIME *nb = t->not_before, *na = t->not_after;
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
lint_key_usage(const struct lint_tbs_parts *t, const struct config_profile *prof, unsigned key_type)
{
	ASN1_BIT_STRING *bs;
	unsigned ku, bad;
	bool other;
	int crit = -1;

	if ((bs = X509V3_get_d2i(t->exts, NID_key_usage, &crit, NULL)) == NULL)
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
lint_basic_constraints(const struct lint_tbs_parts *t, const struct config_profile *prof)
{
	BASIC_CONSTRAINTS *bc;
	long path_len = -1;
	bool ca;
	int crit = -1;

	if ((bc = X509V3_get_d2i(t->exts, NID_basic_constraints, &crit, NULL)) == NULL)
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

/* Every "xn--" label of the DNS names in sans is a valid IDNA2008 A-label. */
static int
lint_dns_idna(const GENERAL_NAMES *sans)
{
	const GENERAL_NAME *g;
	const char *name;
	size_t len, start, i;
	int k;

	for (k = 0; k < sk_GENERAL_NAME_num(sans); k++) {
		g = sk_GENERAL_NAME_value(sans, k);
		if (g->type != GEN_DNS || ASN1_STRING_length(g->d.dNSName) < 0)
			continue;
		name = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		len = (size_t)ASN1_STRING_length(g->d.dNSName);
		for (start = 0, i = 0; i <= len; i++) {
			if (i < len && name[i] != '.')
				continue;
			if (profile_check_alabel(name + start, i - start) != 0)
				return LINT_FAIL("dns_idna", "%s", sd_error_detail(SD_E_NAME_REFUSED));
			start = i + 1;
		}
	}
	return 0;
}

static int
lint_names(const struct lint_tbs_parts *t, const struct config_profile *prof)
{
	GENERAL_NAMES *sans;
	bool empty_subject = X509_NAME_entry_count(t->subject) == 0;
	int crit = -1, n, rc = 0;

	if (prof->ca && empty_subject)
		return LINT_FAIL("subject", "a CA certificate has an empty subject");
	sans = X509V3_get_d2i(t->exts, NID_subject_alt_name, &crit, NULL);
	n = sans != NULL ? sk_GENERAL_NAME_num(sans) : 0;
	if (sans != NULL)
		rc = lint_dns_idna(sans);
	GENERAL_NAMES_free(sans);
	if (rc != 0)
		return rc;
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
lint_eku(const struct lint_tbs_parts *t, const struct config_profile *prof)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = -1, i, n;
	bool any = false;

	eku = X509V3_get_d2i(t->exts, NID_ext_key_usage, &crit, NULL);
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
lint_key_ids(const struct lint_tbs_parts *t, const struct lint_input *in)
{
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *aki;
	uint8_t want[X509_KEYID_LEN];
	int crit = -1, rc;
	bool ok;

	if ((ski = X509V3_get_d2i(t->exts, NID_subject_key_identifier, &crit, NULL)) == NULL)
		return LINT_FAIL("ski", "subjectKeyIdentifier is %s", crit == -2 ? "present twice" : "missing or malformed");
	/* The SHA-1 of the key's bytes in the TBS itself. */
	rc = x509_ext_key_id(t->spki, t->spki_len, want);
	ok = rc == 0 && ASN1_STRING_length(ski) == X509_KEYID_LEN &&
	    memcmp(ASN1_STRING_get0_data(ski), want, X509_KEYID_LEN) == 0;
	ASN1_OCTET_STRING_free(ski);
	if (crit != 0)
		return LINT_FAIL("ski", "subjectKeyIdentifier is critical");
	if (!ok)
		return LINT_FAIL("ski", "subjectKeyIdentifier is not the SHA-1 of the subject public key");
	crit = -1;
	if ((aki = X509V3_get_d2i(t->exts, NID_authority_key_identifier, &crit, NULL)) == NULL)
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
lint_extensions(const struct lint_tbs_parts *t, const struct config_profile *prof)
{
	X509_EXTENSION *ext;
	char oid[80];
	int i, j, n = X509v3_get_ext_count(t->exts), nid, crit;

	for (i = 0; i < n; i++) {
		ext = X509v3_get_ext(t->exts, i);
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			(void)snprintf(oid, sizeof(oid), "?");
		for (j = 0; j < i; j++)
			if (OBJ_cmp(X509_EXTENSION_get_object(X509v3_get_ext(t->exts, j)), X509_EXTENSION_get_object(ext)) == 0)
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
	struct lint_tbs_parts t;
	unsigned key_type;
	int rc;

	if (in == NULL || in->profile == NULL)
		return LINT_FAIL("tbs_der", "no TBS or profile");
	if ((rc = lint_parse(in, &t)) != 0)
		return rc;
	if ((rc = lint_serial(&t)) != 0 || (rc = lint_validity(&t, in)) != 0)
		goto out;
	key_type = csr_spki_key_type(t.spki, t.spki_len);
	if (key_type == 0 || !(in->profile->key_types & key_type)) {
		rc = LINT_FAIL("subject_key", "subject key type %s is not in the profile's key_types",
		    csr_key_type_name(key_type));
		goto out;
	}
	if ((rc = lint_extensions(&t, in->profile)) != 0 || (rc = lint_names(&t, in->profile)) != 0 ||
	    (rc = lint_basic_constraints(&t, in->profile)) != 0 ||
	    (rc = lint_key_usage(&t, in->profile, key_type)) != 0 || (rc = lint_eku(&t, in->profile)) != 0 ||
	    (rc = lint_key_ids(&t, in)) != 0)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	lint_parts_free(&t);
	return rc;
}
