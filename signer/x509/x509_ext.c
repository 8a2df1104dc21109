#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "x509_ext.h"

/* Encode value as extension nid and append it; value stays the caller's. */
static int
x509_ext_push(STACK_OF(X509_EXTENSION) *exts, int nid, bool critical, void *value)
{
	X509_EXTENSION *ext;

	if (exts == NULL)
		return sd_error_set(SD_E_INVAL, "no extension list");
	if ((ext = X509V3_EXT_i2d(nid, critical ? 1 : 0, value)) == NULL) {
		ERR_clear_error();
		return sd_error_set(SD_E_CRYPTO, "cannot encode extension %s", OBJ_nid2sn(nid));
	}
	if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		return SD_E_NOMEM;
	}
	return 0;
}

int
x509_ext_add_basic_constraints(STACK_OF(X509_EXTENSION) *exts, bool ca, int path_len)
{
	BASIC_CONSTRAINTS *bc = NULL;
	int rc;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* cA is DEFAULT FALSE: left 0 it is omitted from the DER, as it must be. */
	bc->ca = ca ? 0xff : 0;
	if (ca && path_len >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if (ASN1_INTEGER_set(bc->pathlen, path_len) != 1) {
			rc = sd_error_set(SD_E_CRYPTO, "cannot set pathLenConstraint %d", path_len);
			goto out;
		}
	}
	rc = x509_ext_push(exts, NID_basic_constraints, true, bc);
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

int
x509_ext_add_key_usage(STACK_OF(X509_EXTENSION) *exts, unsigned ku)
{
	/* KeyUsage bit numbers (RFC 5280 4.2.1.3). */
	static const struct {
		unsigned flag;
		int bit;
	} bits[] = {
		{ CONFIG_KU_DIGITAL_SIGNATURE, 0 },
		{ CONFIG_KU_KEY_ENCIPHERMENT, 2 },
		{ CONFIG_KU_KEY_AGREEMENT, 4 },
		{ CONFIG_KU_KEY_CERT_SIGN, 5 },
		{ CONFIG_KU_CRL_SIGN, 6 },
	};
	ASN1_BIT_STRING *bs = NULL;
	unsigned known = 0;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		known |= bits[i].flag;
	if (ku == 0 || (ku & ~known) != 0) {
		rc = sd_error_set(SD_E_INVAL, "key usage bits 0x%x: none set or unknown", ku);
		goto out;
	}
	if ((bs = ASN1_BIT_STRING_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* OpenSSL encodes a named bit list without trailing zero bits, as DER requires. */
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if ((ku & bits[i].flag) != 0 && ASN1_BIT_STRING_set_bit(bs, bits[i].bit, 1) != 1) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	rc = x509_ext_push(exts, NID_key_usage, true, bs);
out:
	ASN1_BIT_STRING_free(bs);
	return rc;
}

int
x509_ext_add_ext_key_usage(STACK_OF(X509_EXTENSION) *exts, unsigned eku)
{
	static const struct {
		unsigned flag;
		int nid;
	} purposes[] = {
		{ CONFIG_EKU_SERVER_AUTH, NID_server_auth },
		{ CONFIG_EKU_CLIENT_AUTH, NID_client_auth },
		{ CONFIG_EKU_CODE_SIGNING, NID_code_sign },
		{ CONFIG_EKU_EMAIL_PROTECTION, NID_email_protect },
	};
	EXTENDED_KEY_USAGE *list = NULL;
	ASN1_OBJECT *obj;
	unsigned known = 0;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++)
		known |= purposes[i].flag;
	if (eku == 0 || (eku & ~known) != 0) {
		rc = sd_error_set(SD_E_INVAL, "extended key usage bits 0x%x: none set or unknown", eku);
		goto out;
	}
	if ((list = sk_ASN1_OBJECT_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < sizeof(purposes) / sizeof(purposes[0]); i++) {
		if ((eku & purposes[i].flag) == 0)
			continue;
		if ((obj = OBJ_nid2obj(purposes[i].nid)) == NULL) {
			rc = sd_error_set(SD_E_CRYPTO, "unknown purpose %d", purposes[i].nid);
			goto out;
		}
		/* Built-in objects are static: pop_free below leaves them alone. */
		if (sk_ASN1_OBJECT_push(list, obj) <= 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	rc = x509_ext_push(exts, NID_ext_key_usage, false, list);
out:
	sk_ASN1_OBJECT_pop_free(list, ASN1_OBJECT_free);
	return rc;
}

int
x509_ext_add_ocsp_signing(STACK_OF(X509_EXTENSION) *exts)
{
	EXTENDED_KEY_USAGE *list = NULL;
	ASN1_NULL *nocheck = NULL;
	ASN1_OBJECT *obj;
	int rc;

	if ((list = sk_ASN1_OBJECT_new_null()) == NULL || (nocheck = ASN1_NULL_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((obj = OBJ_nid2obj(NID_OCSP_sign)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "unknown purpose OCSPSigning");
		goto out;
	}
	/* A built-in object is static: pop_free below leaves it alone. */
	if (sk_ASN1_OBJECT_push(list, obj) <= 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = x509_ext_push(exts, NID_ext_key_usage, false, list)) != 0)
		goto out;
	/* Relying parties need not ask whether the responder's own certificate is revoked (RFC 6960 4.2.2.2.1). */
	rc = x509_ext_push(exts, NID_id_pkix_OCSP_noCheck, false, nocheck);
out:
	ASN1_NULL_free(nocheck);
	sk_ASN1_OBJECT_pop_free(list, ASN1_OBJECT_free);
	return rc;
}

static int
x509_ext_octets(const uint8_t *data, size_t len, ASN1_OCTET_STRING **out)
{
	ASN1_OCTET_STRING *os;

	*out = NULL;
	if (data == NULL || len == 0 || len > X509_KEYID_MAX)
		return sd_error_set(SD_E_INVAL, "key identifier of %zu bytes", len);
	if ((os = ASN1_OCTET_STRING_new()) == NULL)
		return SD_E_NOMEM;
	if (ASN1_OCTET_STRING_set(os, data, (int)len) != 1) {
		ASN1_OCTET_STRING_free(os);
		return SD_E_NOMEM;
	}
	*out = os;
	return 0;
}

int
x509_ext_add_ski(STACK_OF(X509_EXTENSION) *exts, const uint8_t *keyid, size_t len)
{
	ASN1_OCTET_STRING *os = NULL;
	int rc;

	if ((rc = x509_ext_octets(keyid, len, &os)) != 0)
		goto out;
	rc = x509_ext_push(exts, NID_subject_key_identifier, false, os);
out:
	ASN1_OCTET_STRING_free(os);
	return rc;
}

int
x509_ext_add_aki(STACK_OF(X509_EXTENSION) *exts, const uint8_t *keyid, size_t len)
{
	AUTHORITY_KEYID *aki = NULL;
	int rc;

	if ((aki = AUTHORITY_KEYID_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = x509_ext_octets(keyid, len, &aki->keyid)) != 0)
		goto out;
	rc = x509_ext_push(exts, NID_authority_key_identifier, false, aki);
out:
	AUTHORITY_KEYID_free(aki);
	return rc;
}

/* A new IA5String GeneralName of the given GEN_* type. */
static int
x509_ext_ia5_name(int type, const char *text, size_t len, GENERAL_NAME **out)
{
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *s = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (text == NULL || len == 0 || len > X509_SAN_NAME_MAX) {
		rc = sd_error_set(SD_E_INVAL, "name of %zu bytes cannot be encoded", len);
		goto out;
	}
	/* IA5String is 7-bit; a NUL or control character never reaches a certificate. */
	for (i = 0; i < len; i++) {
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f) {
			rc = sd_error_set(SD_E_INVAL, "name with byte 0x%02x at offset %zu cannot be encoded",
			    (unsigned char)text[i], i);
			goto out;
		}
	}
	if ((s = ASN1_IA5STRING_new()) == NULL || ASN1_STRING_set(s, text, (int)len) != 1 ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	s = NULL;
	*out = gn;
	gn = NULL;
	rc = 0;
out:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	return rc;
}

/* A new iPAddress GeneralName of len (4, 8, 16 or 32) octets. */
static int
x509_ext_ip_name(const uint8_t *octets, size_t len, GENERAL_NAME **out)
{
	GENERAL_NAME *gn = NULL;
	ASN1_OCTET_STRING *s = NULL;
	int rc;

	*out = NULL;
	if (len != 4 && len != 8 && len != 16 && len != 32) {
		rc = sd_error_set(SD_E_INVAL, "IP address of %zu bytes", len);
		goto out;
	}
	if ((s = ASN1_OCTET_STRING_new()) == NULL || ASN1_OCTET_STRING_set(s, octets, (int)len) != 1 ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
	s = NULL;
	*out = gn;
	gn = NULL;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(s);
	GENERAL_NAME_free(gn);
	return rc;
}

static int
x509_ext_general_name(const struct x509_san *san, GENERAL_NAME **out)
{
	*out = NULL;
	switch (san->type) {
	case X509_SAN_DNS:
		if (san->name_len > X509_DNS_MAX)
			return sd_error_set(SD_E_INVAL, "DNS name of %zu bytes cannot be encoded", san->name_len);
		return x509_ext_ia5_name(GEN_DNS, san->name, san->name_len, out);
	case X509_SAN_URI:
		return x509_ext_ia5_name(GEN_URI, san->name, san->name_len, out);
	case X509_SAN_EMAIL:
		return x509_ext_ia5_name(GEN_EMAIL, san->name, san->name_len, out);
	case X509_SAN_IP:
		if (san->ip_len != 4 && san->ip_len != 16)
			return sd_error_set(SD_E_INVAL, "IP address of %zu bytes", san->ip_len);
		return x509_ext_ip_name(san->ip, san->ip_len, out);
	default:
		return sd_error_set(SD_E_INVAL, "unknown subjectAltName type %d", (int)san->type);
	}
}

int
x509_ext_add_san(STACK_OF(X509_EXTENSION) *exts, const struct x509_san *sans, size_t n, bool critical)
{
	GENERAL_NAMES *names = NULL;
	GENERAL_NAME *gn = NULL;
	size_t i;
	int rc;

	if (sans == NULL || n == 0 || n > INT_MAX) {
		rc = sd_error_set(SD_E_INVAL, "subjectAltName needs at least one name");
		goto out;
	}
	if ((names = GENERAL_NAMES_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = x509_ext_general_name(&sans[i], &gn)) != 0)
			goto out;
		if (sk_GENERAL_NAME_push(names, gn) <= 0) {
			GENERAL_NAME_free(gn);
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	rc = x509_ext_push(exts, NID_subject_alt_name, critical, names);
out:
	GENERAL_NAMES_free(names);
	return rc;
}

/* Append the subtrees to a new stack in *out. */
static int
x509_ext_subtrees(const struct x509_subtree *trees, size_t n, STACK_OF(GENERAL_SUBTREE) **out)
{
	STACK_OF(GENERAL_SUBTREE) *stack = NULL;
	GENERAL_SUBTREE *st = NULL;
	uint8_t octets[32];
	size_t i, b;
	int rc;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((stack = sk_GENERAL_SUBTREE_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((st = GENERAL_SUBTREE_new()) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		/* GENERAL_SUBTREE_new() allocates a base we replace. */
		GENERAL_NAME_free(st->base);
		st->base = NULL;
		if (trees[i].type == X509_SAN_DNS) {
			rc = trees[i].dns != NULL ? x509_ext_ia5_name(GEN_DNS, trees[i].dns, strlen(trees[i].dns), &st->base) :
			    sd_error_set(SD_E_INVAL, "DNS subtree without a name");
		} else if (trees[i].type == X509_SAN_IP && (trees[i].ip_len == 4 || trees[i].ip_len == 16) &&
		    trees[i].prefix <= trees[i].ip_len * 8) {
			/* RFC 5280 4.2.1.10: address followed by its mask. */
			memcpy(octets, trees[i].ip, trees[i].ip_len);
			memset(octets + trees[i].ip_len, 0, trees[i].ip_len);
			for (b = 0; b < trees[i].prefix; b++)
				octets[trees[i].ip_len + b / 8] |= (uint8_t)(0x80 >> (b % 8));
			rc = x509_ext_ip_name(octets, trees[i].ip_len * 2, &st->base);
		} else {
			rc = sd_error_set(SD_E_INVAL, "name constraint subtree of type %d", (int)trees[i].type);
		}
		if (rc != 0)
			goto out;
		if (sk_GENERAL_SUBTREE_push(stack, st) <= 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
		st = NULL;
	}
	*out = stack;
	stack = NULL;
	rc = 0;
out:
	GENERAL_SUBTREE_free(st);
	sk_GENERAL_SUBTREE_pop_free(stack, GENERAL_SUBTREE_free);
	return rc;
}

int
x509_ext_add_name_constraints(STACK_OF(X509_EXTENSION) *exts, const struct x509_subtree *permitted,
    size_t n_permitted, const struct x509_subtree *excluded, size_t n_excluded)
{
	NAME_CONSTRAINTS *nc = NULL;
	int rc;

	if (n_permitted + n_excluded == 0) {
		rc = sd_error_set(SD_E_INVAL, "name constraints without a subtree");
		goto out;
	}
	if ((nc = NAME_CONSTRAINTS_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = x509_ext_subtrees(permitted, n_permitted, &nc->permittedSubtrees)) != 0 ||
	    (rc = x509_ext_subtrees(excluded, n_excluded, &nc->excludedSubtrees)) != 0)
		goto out;
	rc = x509_ext_push(exts, NID_name_constraints, true, nc);
out:
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/* One distributionPoint fullName URI, under nid: cRLDistributionPoints or freshestCRL (the same syntax). */
static int
x509_ext_add_dist_point(STACK_OF(X509_EXTENSION) *exts, int nid, const char *url)
{
	CRL_DIST_POINTS *dps = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	int rc;

	if (url == NULL) {
		rc = sd_error_set(SD_E_INVAL, "no CRL URL");
		goto out;
	}
	if ((dps = sk_DIST_POINT_new_null()) == NULL || (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	dp->distpoint->type = 0;	/* fullName */
	if ((rc = x509_ext_ia5_name(GEN_URI, url, strlen(url), &gn)) != 0)
		goto out;
	if (sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) <= 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	gn = NULL;
	if (sk_DIST_POINT_push(dps, dp) <= 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	dp = NULL;
	rc = x509_ext_push(exts, nid, false, dps);
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return rc;
}

int
x509_ext_add_crl_dp(STACK_OF(X509_EXTENSION) *exts, const char *url)
{
	return x509_ext_add_dist_point(exts, NID_crl_distribution_points, url);
}

int
x509_ext_add_freshest_crl(STACK_OF(X509_EXTENSION) *exts, const char *url)
{
	return x509_ext_add_dist_point(exts, NID_freshest_crl, url);
}

static int
x509_ext_aia_push(AUTHORITY_INFO_ACCESS *aia, int method_nid, const char *url)
{
	ACCESS_DESCRIPTION *ad = NULL;
	int rc;

	if ((ad = ACCESS_DESCRIPTION_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	ASN1_OBJECT_free(ad->method);
	if ((ad->method = OBJ_nid2obj(method_nid)) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "unknown access method %d", method_nid);
		goto out;
	}
	GENERAL_NAME_free(ad->location);
	ad->location = NULL;
	if ((rc = x509_ext_ia5_name(GEN_URI, url, strlen(url), &ad->location)) != 0)
		goto out;
	if (sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	ad = NULL;
	rc = 0;
out:
	ACCESS_DESCRIPTION_free(ad);
	return rc;
}

int
x509_ext_add_aia(STACK_OF(X509_EXTENSION) *exts, const char *ocsp_url, const char *ca_issuers_url)
{
	AUTHORITY_INFO_ACCESS *aia = NULL;
	int rc;

	if (ocsp_url == NULL && ca_issuers_url == NULL) {
		rc = sd_error_set(SD_E_INVAL, "authorityInfoAccess without a URL");
		goto out;
	}
	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (ocsp_url != NULL && (rc = x509_ext_aia_push(aia, NID_ad_OCSP, ocsp_url)) != 0)
		goto out;
	if (ca_issuers_url != NULL && (rc = x509_ext_aia_push(aia, NID_ad_ca_issuers, ca_issuers_url)) != 0)
		goto out;
	rc = x509_ext_push(exts, NID_info_access, false, aia);
out:
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rc;
}

int
x509_spki_split(const uint8_t *spki, size_t spki_len, struct der_tlv *algid, const uint8_t **key, size_t *key_len)
{
	struct der_tlv seq, oid, bits;
	const uint8_t *p, *q;
	size_t avail, left;

	memset(algid, 0, sizeof(*algid));
	*key = NULL;
	*key_len = 0;
	if (spki == NULL || der_read(spki, spki_len, &seq) != 0 || seq.tag != DER_TAG_SEQUENCE ||
	    seq.tlv_len != spki_len)
		goto bad;
	p = seq.val;
	avail = seq.len;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, algid) != 0 || der_next(&p, &avail, DER_TAG_BIT_STRING, &bits) != 0 ||
	    avail != 0)
		goto bad;
	/* AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL } */
	q = algid->val;
	left = algid->len;
	if (der_next(&q, &left, DER_TAG_OID, &oid) != 0 || oid.len == 0)
		goto bad;
	/* A key is whole octets: the unused-bits octet is 0 and at least one key octet follows. */
	if (bits.len < 2 || bits.val[0] != 0)
		goto bad;
	*key = bits.val + 1;
	*key_len = bits.len - 1;
	return 0;
bad:
	memset(algid, 0, sizeof(*algid));
	return sd_error_set(SD_E_INVAL, "not a DER SubjectPublicKeyInfo");
}

int
x509_ext_key_id(const uint8_t *spki, size_t spki_len, uint8_t keyid[X509_KEYID_LEN])
{
	struct der_tlv algid;
	const uint8_t *key;
	size_t key_len;
	unsigned int dlen = 0;
	int rc;

	/* Hash the key's bytes where they lie in the DER: decoding the key would only cost time. */
	if ((rc = x509_spki_split(spki, spki_len, &algid, &key, &key_len)) != 0)
		return rc;
	if (EVP_Digest(key, key_len, keyid, &dlen, EVP_sha1(), NULL) != 1 || dlen != X509_KEYID_LEN) {
		ERR_clear_error();
		return sd_error_set(SD_E_CRYPTO, "SHA-1 of the public key failed");
	}
	return 0;
}
