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

static int
x509_ext_general_name(const struct x509_san *san, GENERAL_NAME **out)
{
	GENERAL_NAME *gn = NULL;
	ASN1_STRING *s = NULL;
	int rc, type;

	*out = NULL;
	switch (san->type) {
	case X509_SAN_DNS:
		if (san->dns_len == 0 || san->dns_len > X509_DNS_MAX || memchr(san->dns, '\0', san->dns_len) != NULL) {
			rc = sd_error_set(SD_E_INVAL, "DNS name of %zu bytes cannot be encoded", san->dns_len);
			goto out;
		}
		s = ASN1_IA5STRING_new();
		type = GEN_DNS;
		if (s != NULL && ASN1_STRING_set(s, san->dns, (int)san->dns_len) != 1) {
			rc = SD_E_NOMEM;
			goto out;
		}
		break;
	case X509_SAN_IP:
		if (san->ip_len != 4 && san->ip_len != 16) {
			rc = sd_error_set(SD_E_INVAL, "IP address of %zu bytes", san->ip_len);
			goto out;
		}
		s = ASN1_OCTET_STRING_new();
		type = GEN_IPADD;
		if (s != NULL && ASN1_OCTET_STRING_set(s, san->ip, (int)san->ip_len) != 1) {
			rc = SD_E_NOMEM;
			goto out;
		}
		break;
	default:
		rc = sd_error_set(SD_E_INVAL, "unknown subjectAltName type %d", (int)san->type);
		goto out;
	}
	if (s == NULL || (gn = GENERAL_NAME_new()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	GENERAL_NAME_set0_value(gn, type, s);
	s = NULL;
	*out = gn;
	rc = 0;
out:
	ASN1_STRING_free(s);
	return rc;
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

int
x509_ext_key_id(const uint8_t *spki, size_t spki_len, uint8_t keyid[X509_KEYID_LEN])
{
	X509_PUBKEY *pub = NULL;
	const unsigned char *p = spki, *key = NULL;
	unsigned int dlen = 0;
	int key_len = 0, rc;

	if (spki == NULL || spki_len == 0 || spki_len > LONG_MAX) {
		rc = sd_error_set(SD_E_INVAL, "no public key");
		goto out;
	}
	if ((pub = d2i_X509_PUBKEY(NULL, &p, (long)spki_len)) == NULL || p != spki + spki_len) {
		rc = sd_error_set(SD_E_INVAL, "not a DER SubjectPublicKeyInfo");
		goto out;
	}
	if (X509_PUBKEY_get0_param(NULL, &key, &key_len, NULL, pub) != 1 || key == NULL || key_len <= 0) {
		rc = sd_error_set(SD_E_INVAL, "SubjectPublicKeyInfo without a key");
		goto out;
	}
	if (EVP_Digest(key, (size_t)key_len, keyid, &dlen, EVP_sha1(), NULL) != 1 || dlen != X509_KEYID_LEN) {
		rc = sd_error_set(SD_E_CRYPTO, "SHA-1 of the public key failed");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_PUBKEY_free(pub);
	return rc;
}
