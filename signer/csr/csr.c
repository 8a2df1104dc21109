#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "base/der.h"
#include "config.h"
#include "csr.h"
#include "csr_der.h"
#include "signer.h"
#include "weakkey.h"

static bool
csr_only_space(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Show a PEM label in a detail only when it is plain upper-case text. */
static const char *
csr_label_show(const char *label)
{
	size_t i, n = strlen(label);

	if (n == 0 || n > 40)
		return "?";
	for (i = 0; i < n; i++)
		if (!((label[i] >= 'A' && label[i] <= 'Z') || label[i] == ' ' || (label[i] >= '0' && label[i] <= '9')))
			return "?";
	return label;
}

/* Decode the one PEM object in pem into a new DER buffer. */
static int
csr_pem_decode(const char *pem, size_t len, unsigned char **der, long *der_len)
{
	static const char begin[] = "-----BEGIN ";
	BIO *bio = NULL;
	char *name = NULL, *header = NULL, *rest = NULL;
	unsigned char *data = NULL;
	long dlen = 0, rest_len;
	size_t skip = 0;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (memchr(pem, '\0', len) != NULL) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: input contains a NUL byte");
		goto out;
	}
	while (skip < len && csr_only_space(pem + skip, 1))
		skip++;
	if (len - skip < sizeof(begin) - 1 || memcmp(pem + skip, begin, sizeof(begin) - 1) != 0) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: no PEM \"-----BEGIN\" line at the start");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem + skip, (int)(len - skip))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 || dlen <= 0) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: malformed PEM");
		goto out;
	}
	if (strcmp(name, PEM_STRING_X509_REQ) != 0 && strcmp(name, PEM_STRING_X509_REQ_OLD) != 0) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: PEM label is \"%s\"", csr_label_show(name));
		goto out;
	}
	if (header[0] != '\0') {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: PEM headers are not allowed");
		goto out;
	}
	rest_len = BIO_get_mem_data(bio, &rest);
	if (rest_len < 0 || (rest_len > 0 && !csr_only_space(rest, (size_t)rest_len))) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: more than one PEM object or trailing text");
		goto out;
	}
	*der = data;
	*der_len = dlen;
	data = NULL;
	rc = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/* Refuse CSR signatures made with SHA-1 or weaker (or an unknown algorithm): SHA-2, SHA-3 and EdDSA only. */
static int
csr_check_sigalg(const X509_ALGOR *alg)
{
	RSA_PSS_PARAMS *pss = NULL;
	int nid, md = NID_undef, pk = NID_undef, rc;

	if (alg == NULL || (nid = OBJ_obj2nid(alg->algorithm)) == NID_undef) {
		rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR signature algorithm is unknown");
		goto out;
	}
	if (nid == NID_rsassaPss) {
		/* RSASSA-PSS-params: an absent hashAlgorithm means SHA-1 (RFC 4055). */
		if (alg->parameter == NULL || alg->parameter->type != V_ASN1_SEQUENCE ||
		    (pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)) == NULL) {
			rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR signature uses RSASSA-PSS with malformed parameters");
			goto out;
		}
		md = pss->hashAlgorithm != NULL ? OBJ_obj2nid(pss->hashAlgorithm->algorithm) : NID_sha1;
		pk = NID_rsaEncryption;
	} else if (OBJ_find_sigid_algs(nid, &md, &pk) != 1) {
		rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR signature algorithm %s is not supported", OBJ_nid2ln(nid));
		goto out;
	}
	switch (md) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
	case NID_sha3_256:
	case NID_sha3_384:
	case NID_sha3_512:
		break;
	case NID_undef:
		if (pk == NID_ED25519 || pk == NID_ED448)
			break;
		/* FALLTHROUGH */
	default:
		rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR is signed with %s (digest %s): SHA-1 and weaker digests are "
		    "refused; sign with SHA-256 or better", OBJ_nid2ln(nid), md == NID_undef ? "none" : OBJ_nid2sn(md));
		goto out;
	}
	rc = 0;
out:
	RSA_PSS_PARAMS_free(pss);
	ERR_clear_error();
	return rc;
}

static const char *
csr_san_type_name(int type)
{
	switch (type) {
	case GEN_OTHERNAME:
		return "otherName";
	case GEN_EMAIL:
		return "rfc822Name (email address)";
	case GEN_DNS:
		return "dNSName";
	case GEN_X400:
		return "x400Address";
	case GEN_DIRNAME:
		return "directoryName";
	case GEN_EDIPARTY:
		return "ediPartyName";
	case GEN_URI:
		return "uniformResourceIdentifier (URI)";
	case GEN_IPADD:
		return "iPAddress";
	case GEN_RID:
		return "registeredID";
	default:
		return "unknown";
	}
}

/* Copy an IA5String name (DNS, URI, e-mail) into san, refusing over-long ones. */
static int
csr_san_text(struct x509_san *san, enum x509_san_type type, const ASN1_STRING *str, const char *what, size_t max)
{
	const unsigned char *data = ASN1_STRING_get0_data(str);
	int len = ASN1_STRING_length(str);

	if (len < 0 || (len > 0 && data == NULL))
		return sd_error_set(SD_E_CSR, "malformed %s in subjectAltName", what);
	if ((size_t)len > max)
		return sd_error_set(SD_E_NAME_REFUSED, "%s of %d characters in subjectAltName; at most %zu", what, len,
		    max);
	san->type = type;
	if (len > 0)
		memcpy(san->name, data, (size_t)len);
	san->name[len] = '\0';
	san->name_len = (size_t)len;
	return 0;
}

static int
csr_add_san(struct csr *csr, const GENERAL_NAME *gn)
{
	struct x509_san *san;
	const unsigned char *data;
	int len, rc;

	if (gn->type != GEN_DNS && gn->type != GEN_IPADD && gn->type != GEN_URI && gn->type != GEN_EMAIL)
		return sd_error_set(SD_E_NAME_REFUSED,
		    "subjectAltName of type %s is not allowed (DNS, IP, URI and e-mail only)",
		    csr_san_type_name(gn->type));
	if (csr->n_sans >= CSR_SAN_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "CSR requests more than %d subjectAltNames", CSR_SAN_MAX);
	if (csr->n_sans >= csr->sans_cap)
		abort();	/* csr_san_extension() sized the array for every name */
	san = &csr->sans[csr->n_sans];
	memset(san, 0, sizeof(*san));
	switch (gn->type) {
	case GEN_DNS:
		rc = csr_san_text(san, X509_SAN_DNS, gn->d.dNSName, "DNS name", X509_DNS_MAX);
		break;
	case GEN_URI:
		rc = csr_san_text(san, X509_SAN_URI, gn->d.uniformResourceIdentifier, "URI", X509_SAN_NAME_MAX);
		break;
	case GEN_EMAIL:
		rc = csr_san_text(san, X509_SAN_EMAIL, gn->d.rfc822Name, "e-mail address", X509_SAN_NAME_MAX);
		break;
	default:
		data = ASN1_STRING_get0_data(gn->d.iPAddress);
		len = ASN1_STRING_length(gn->d.iPAddress);
		if ((len != 4 && len != 16) || data == NULL)
			return sd_error_set(SD_E_CSR, "IP address of %d bytes in subjectAltName", len);
		san->type = X509_SAN_IP;
		memcpy(san->ip, data, (size_t)len);
		san->ip_len = (size_t)len;
		rc = 0;
		break;
	}
	if (rc != 0)
		return rc;
	csr->n_sans++;
	return 0;
}

/* Decode one subjectAltName extension, insisting that it is DER with nothing after it. */
static int
csr_san_extension(struct csr *csr, X509_EXTENSION *ext)
{
	GENERAL_NAMES *names = NULL;
	const ASN1_OCTET_STRING *value;
	unsigned char *enc = NULL;
	int i, n, rc;

	if ((names = X509V3_EXT_d2i(ext)) == NULL) {
		rc = sd_error_set(SD_E_CSR, "malformed subjectAltName extension");
		goto out;
	}
	value = X509_EXTENSION_get_data(ext);
	n = i2d_GENERAL_NAMES(names, &enc);
	if (n <= 0 || value == NULL || n != ASN1_STRING_length(value) ||
	    memcmp(enc, ASN1_STRING_get0_data(value), (size_t)n) != 0) {
		rc = sd_error_set(SD_E_CSR, "malformed subjectAltName extension (not DER or trailing bytes)");
		goto out;
	}
	if (sk_GENERAL_NAME_num(names) <= 0) {
		rc = sd_error_set(SD_E_CSR, "empty subjectAltName extension");
		goto out;
	}
	/* As many entries as names (about 2 KB each), up to the one past the limit that csr_add_san() refuses. */
	csr->sans_cap = sk_GENERAL_NAME_num(names) < CSR_SAN_MAX ? (size_t)sk_GENERAL_NAME_num(names) : CSR_SAN_MAX;
	if ((csr->sans = calloc(csr->sans_cap, sizeof(*csr->sans))) == NULL) {
		csr->sans_cap = 0;
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++)
		if ((rc = csr_add_san(csr, sk_GENERAL_NAME_value(names, i))) != 0)
			goto out;
	rc = 0;
out:
	OPENSSL_free(enc);
	GENERAL_NAMES_free(names);
	return rc;
}

/* Extension i of exts: requested once, and decodable when OpenSSL knows its type. */
static int
csr_check_extension(STACK_OF(X509_EXTENSION) *exts, int i)
{
	X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
	const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
	const X509V3_EXT_METHOD *method;
	char num[64], oid[128];
	void *value;
	int j, nid = OBJ_obj2nid(obj);

	if (OBJ_obj2txt(num, sizeof(num), obj, 1) <= 0)
		(void)snprintf(num, sizeof(num), "?");
	if (snprintf(oid, sizeof(oid), "%s (%s)", nid != NID_undef ? OBJ_nid2sn(nid) : "unknown", num) < 0)
		oid[0] = '\0';
	for (j = 0; j < i; j++)
		if (OBJ_cmp(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j)), obj) == 0)
			return sd_error_set(SD_E_CSR, "CSR requests extension %s more than once", oid);
	if ((method = X509V3_EXT_get(ext)) == NULL)
		return 0;	/* unknown: never copied, so its content does not matter */
	if ((value = X509V3_EXT_d2i(ext)) == NULL) {
		ERR_clear_error();
		return sd_error_set(SD_E_CSR, "CSR requests a malformed %s extension", oid);
	}
	if (method->it != NULL)
		ASN1_item_free(value, ASN1_ITEM_ptr(method->it));
	else if (method->ext_free != NULL)
		method->ext_free(value);
	return 0;
}

/* The extensions requested (ext_req: the extensionRequest value, tlv NULL when none): checked, SANs kept. */
static int
csr_extract_sans(struct csr *csr, const struct der_tlv *ext_req)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext, *san = NULL;
	const unsigned char *p = ext_req->tlv;
	int i, rc;

	if (ext_req->tlv == NULL)
		return 0;
	if (ext_req->tlv_len > LONG_MAX || (exts = d2i_X509_EXTENSIONS(NULL, &p, (long)ext_req->tlv_len)) == NULL ||
	    p != ext_req->tlv + ext_req->tlv_len) {
		rc = sd_error_set(SD_E_CSR, "malformed extensionRequest");
		goto out;
	}
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		ext = sk_X509_EXTENSION_value(exts, i);
		if ((rc = csr_check_extension(exts, i)) != 0)
			goto out;
		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name)
			san = ext;
	}
	rc = san != NULL ? csr_san_extension(csr, san) : 0;
out:
	ERR_clear_error();
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* A subject value as shown in details: printable ASCII kept, other bytes as \\xNN, at most 64 bytes. */
static void
csr_show(const unsigned char *in, size_t len, char out[4 * 64 + 4])
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < len && i < 64; i++) {
		if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '\\') {
			out[o++] = (char)in[i];
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[in[i] >> 4];
			out[o++] = digits[in[i] & 0xf];
		}
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Attribute types a profile may keep, with their upper bounds (RFC 5280 Appendix A). */
static const struct {
	int nid;
	unsigned type;
	size_t max;
} csr_attr_types[] = {
	{ NID_commonName, CONFIG_SUBJ_CN, 64 },
	{ NID_organizationName, CONFIG_SUBJ_O, 64 },
	{ NID_organizationalUnitName, CONFIG_SUBJ_OU, 64 },
	{ NID_countryName, CONFIG_SUBJ_C, 2 },
	{ NID_stateOrProvinceName, CONFIG_SUBJ_ST, 128 },
	{ NID_localityName, CONFIG_SUBJ_L, 128 },
	{ NID_serialNumber, CONFIG_SUBJ_SERIAL, 64 },
};

/* One subject value (UTF-8, n bytes): no NUL, no C0 or C1 control character, no DEL. */
static int
csr_check_value(const char *attr, const unsigned char *v, int n)
{
	char show[4 * 64 + 4];
	int i;

	csr_show(v, (size_t)n, show);
	for (i = 0; i < n; i++) {
		if (v[i] < 0x20 || v[i] == 0x7f || (v[i] == 0xc2 && i + 1 < n && v[i + 1] >= 0x80 && v[i + 1] <= 0x9f))
			return sd_error_set(SD_E_NAME_REFUSED, "subject attribute %s \"%s\" contains %s at offset %d",
			    attr, show, v[i] == 0 ? "a NUL byte" : "a control character", i);
	}
	return 0;
}

/*
 * Every subject attribute: a string type, valid UTF-8 once decoded, no NUL or
 * control characters, at most 256 bytes (within the RFC 5280 bound for the
 * types a profile may keep; C is two letters A-Z). Kept types are copied to
 * csr->attrs in order.
 */
static int
csr_check_subject(struct csr *csr, const X509_NAME *name)
{
	const X509_NAME_ENTRY *entry;
	const ASN1_STRING *data;
	unsigned char *utf8 = NULL;
	const char *attr;
	char oid[80];
	size_t k;
	int i, n, nid, len, rc;

	if (name == NULL || (n = X509_NAME_entry_count(name)) == 0)
		return 0;
	if (n > 2 * CSR_ATTR_MAX)
		return sd_error_set(SD_E_NAME_REFUSED, "CSR subject has %d attributes; at most %d", n, 2 * CSR_ATTR_MAX);
	for (i = 0; i < n; i++) {
		entry = X509_NAME_get_entry(name, i);
		data = X509_NAME_ENTRY_get_data(entry);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
		if (nid != NID_undef)
			attr = OBJ_nid2sn(nid);
		else if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(entry), 1) > 0)
			attr = oid;
		else
			attr = "?";
		switch (data != NULL ? ASN1_STRING_type(data) : -1) {
		case V_ASN1_UTF8STRING:
		case V_ASN1_PRINTABLESTRING:
		case V_ASN1_IA5STRING:
		case V_ASN1_T61STRING:
		case V_ASN1_BMPSTRING:
		case V_ASN1_UNIVERSALSTRING:
			break;
		default:
			rc = sd_error_set(SD_E_NAME_REFUSED, "subject attribute %s is not a string", attr);
			goto out;
		}
		if ((len = ASN1_STRING_to_UTF8(&utf8, data)) < 0) {
			rc = sd_error_set(SD_E_NAME_REFUSED, "subject attribute %s is not a valid string", attr);
			goto out;
		}
		if (len == 0 || len > 256) {
			rc = sd_error_set(SD_E_NAME_REFUSED, "subject attribute %s has %d bytes; 1 to 256 allowed", attr, len);
			goto out;
		}
		if ((rc = csr_check_value(attr, utf8, len)) != 0)
			goto out;
		for (k = 0; k < sizeof(csr_attr_types) / sizeof(csr_attr_types[0]) && csr_attr_types[k].nid != nid; k++)
			;
		if (k < sizeof(csr_attr_types) / sizeof(csr_attr_types[0])) {
			if ((size_t)len > csr_attr_types[k].max) {
				rc = sd_error_set(SD_E_NAME_REFUSED, "subject attribute %s has %d bytes; at most %zu", attr,
				    len, csr_attr_types[k].max);
				goto out;
			}
			if (nid == NID_countryName && !(utf8[0] >= 'A' && utf8[0] <= 'Z' && len == 2 &&
			    utf8[1] >= 'A' && utf8[1] <= 'Z')) {
				rc = sd_error_set(SD_E_NAME_REFUSED, "subject attribute C must be two letters A-Z");
				goto out;
			}
			if (csr->n_attrs >= CSR_ATTR_MAX) {
				rc = sd_error_set(SD_E_NAME_REFUSED, "CSR subject has more than %d attributes of kept types",
				    CSR_ATTR_MAX);
				goto out;
			}
			csr->attrs[csr->n_attrs].type = csr_attr_types[k].type;
			csr->attrs[csr->n_attrs].nid = nid;
			memcpy(csr->attrs[csr->n_attrs].value, utf8, (size_t)len);
			csr->attrs[csr->n_attrs].value[len] = '\0';
			csr->n_attrs++;
		}
		OPENSSL_free(utf8);
		utf8 = NULL;
	}
	rc = 0;
out:
	OPENSSL_free(utf8);
	ERR_clear_error();
	return rc;
}

/* The subject CN when there is exactly one, valid UTF-8, without NUL and short enough; else none. */
static int
csr_extract_cn(struct csr *csr, const X509_NAME *name)
{
	const X509_NAME_ENTRY *entry;
	unsigned char *utf8 = NULL;
	int idx, n;

	csr->has_cn = false;
	if (name == NULL || (idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return 0;
	if ((entry = X509_NAME_get_entry(name, idx)) == NULL)
		return 0;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
	if (n > 0 && n <= CSR_CN_MAX && memchr(utf8, '\0', (size_t)n) == NULL) {
		memcpy(csr->cn, utf8, (size_t)n);
		csr->cn[n] = '\0';
		csr->has_cn = true;
	}
	OPENSSL_free(utf8);
	ERR_clear_error();
	return 0;
}

/*
 * csr->spki: the CSR's own SubjectPublicKeyInfo bytes, not a re-encoding
 * of the decoded key, which costs an encoder set-up per request. Only when
 * those bytes are not the canonical DER of an accepted key type
 * (csr_spki_key_type()), e.g. RSA without NULL parameters, is the key
 * re-encoded by OpenSSL; the result must then be canonical and of the type
 * the key check found.
 */
static int
csr_set_spki(struct csr *csr, const struct der_tlv *spki)
{
	int n;

	if (csr_spki_key_type(spki->tlv, spki->tlv_len) == csr->key_type) {
		csr->spki = spki->tlv;
		csr->spki_len = spki->tlv_len;
		return 0;
	}
	if ((n = i2d_PUBKEY(csr->pubkey, &csr->spki_enc)) <= 0)
		return sd_error_set(SD_E_CRYPTO, "cannot encode the subject public key");
	if (csr_spki_key_type(csr->spki_enc, (size_t)n) != csr->key_type)
		return sd_error_set(SD_E_KEY_REFUSED, "the subject public key has no canonical encoding (e.g. a hybrid "
		    "EC point)");
	csr->spki = csr->spki_enc;
	csr->spki_len = (size_t)n;
	return 0;
}

/* The version INTEGER: 0, which RFC 2986 calls v1. */
static int
csr_check_version(const struct der_tlv *version)
{
	if (version->len == 1 && version->val[0] == 0)
		return 0;
	if (version->len == 1 && version->val[0] < 0x80)
		return sd_error_set(SD_E_CSR, "CSR version %d is not 1", version->val[0] + 1);
	return sd_error_set(SD_E_CSR, "CSR version is not 1");
}

int
csr_parse(const char *pem, size_t len, unsigned rsa_min_bits, struct csr **out)
{
	struct csr *csr = NULL;
	struct csr_der parts;
	X509_NAME *subject = NULL;
	X509_ALGOR *sigalg = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	int rc;

	*out = NULL;
	if (pem == NULL || len == 0) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: empty");
		goto out;
	}
	if (len > SIGNER_CSR_MAX) {
		rc = sd_error_set(SD_E_TOO_LARGE, "CSR of %zu bytes exceeds the limit of %d", len, SIGNER_CSR_MAX);
		goto out;
	}
	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = csr_pem_decode(pem, len, &der, &der_len)) != 0)
		goto out;
	if (der_len > CSR_DER_MAX) {
		rc = sd_error_set(SD_E_TOO_LARGE, "CSR of %ld DER bytes exceeds the limit of %d", der_len, CSR_DER_MAX);
		goto out;
	}
	if ((rc = csr_der_split(der, (size_t)der_len, &parts)) != 0)
		goto out;
	X509_D2I_PART(X509_NAME, parts.subject, subject);
	X509_D2I_PART(X509_ALGOR, parts.sigalg, sigalg);
	if (subject == NULL || sigalg == NULL) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: malformed DER");
		goto out;
	}
	if ((rc = csr_check_version(&parts.version)) != 0)
		goto out;
	if (x509_spki_split(parts.spki.tlv, parts.spki.tlv_len, &(struct der_tlv){ 0 }, &(const uint8_t *){ NULL },
	    &(size_t){ 0 }) != 0) {
		rc = sd_error_set(SD_E_CSR, "not a certificate request: malformed DER");
		goto out;
	}
	if ((rc = csr_key_decode(parts.spki.tlv, parts.spki.tlv_len, &csr->pubkey)) != 0)
		goto out;
	/* The cheap policy check first, so refused keys cost no signature verification. */
	if ((rc = csr_check_key(csr->pubkey, rsa_min_bits)) != 0 || (rc = weakkey_check(csr->pubkey)) != 0)
		goto out;
	csr->key_type = csr_key_type(csr->pubkey);
	if ((rc = csr_check_sigalg(sigalg)) != 0 || (rc = csr_der_verify(&parts, sigalg, csr->pubkey)) != 0)
		goto out;
	if (EVP_Digest(der, (size_t)der_len, csr->sha256, NULL, EVP_sha256(), NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "SHA-256 of the CSR failed");
		goto out;
	}
	csr->der = der;
	der = NULL;
	if ((rc = csr_set_spki(csr, &parts.spki)) != 0)
		goto out;
	if ((rc = csr_check_subject(csr, subject)) != 0 || (rc = csr_extract_cn(csr, subject)) != 0 ||
	    (rc = csr_extract_sans(csr, &parts.ext_req)) != 0)
		goto out;
	*out = csr;
	csr = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_ALGOR_free(sigalg);
	X509_NAME_free(subject);
	OPENSSL_free(der);
	csr_free(csr);
	return rc;
}

void
csr_free(struct csr *csr)
{
	if (csr == NULL)
		return;
	EVP_PKEY_free(csr->pubkey);
	free(csr->sans);
	OPENSSL_free(csr->spki_enc);
	OPENSSL_free(csr->der);
	free(csr);
}
