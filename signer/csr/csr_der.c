#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "csr_der.h"

/* The OBJECT IDENTIFIER TLVs of PKCS#9 extensionRequest and Microsoft's (1.3.6.1.4.1.311.2.1.14). */
static const uint8_t csr_oid_ext_req[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e };
static const uint8_t csr_oid_ms_ext_req[] = {
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0e,
};

static bool
csr_oid_is(const struct der_tlv *oid, const uint8_t *want, size_t want_len)
{
	return oid->tlv_len == want_len && memcmp(oid->tlv, want, want_len) == 0;
}

static int
csr_malformed(void)
{
	sd_error_clear();
	return sd_error_set(SD_E_CSR, "not a certificate request: malformed DER");
}

/* Walk the attributes (the content of [0]) and find the one extensionRequest, if any. */
static int
csr_der_attributes(const struct der_tlv *attrs, struct der_tlv *ext_req)
{
	struct der_tlv attr, oid, values, v, first;
	const uint8_t *p = attrs->val, *q, *r;
	size_t avail = attrs->len, qa, ra, n_values;
	int n_ext_req = 0;

	memset(ext_req, 0, sizeof(*ext_req));
	while (avail > 0) {
		if (der_next(&p, &avail, DER_TAG_SEQUENCE, &attr) != 0)
			return csr_malformed();
		q = attr.val;
		qa = attr.len;
		if (der_next(&q, &qa, DER_TAG_OID, &oid) != 0 || der_next(&q, &qa, DER_TAG_SET, &values) != 0 ||
		    qa != 0)
			return csr_malformed();
		n_values = 0;
		memset(&first, 0, sizeof(first));
		for (r = values.val, ra = values.len; ra > 0; r += v.tlv_len, ra -= v.tlv_len) {
			if (der_read(r, ra, &v) != 0)
				return csr_malformed();
			if (n_values++ == 0)
				first = v;
		}
		if (!csr_oid_is(&oid, csr_oid_ext_req, sizeof(csr_oid_ext_req)) &&
		    !csr_oid_is(&oid, csr_oid_ms_ext_req, sizeof(csr_oid_ms_ext_req)))
			continue;
		if (n_values != 1)
			return sd_error_set(SD_E_CSR, "extensionRequest attribute must have exactly one value");
		n_ext_req++;
		*ext_req = first;
	}
	if (n_ext_req > 1)
		return sd_error_set(SD_E_CSR, "CSR has %d extensionRequest attributes", n_ext_req);
	return 0;
}

int
csr_der_split(const uint8_t *der, size_t len, struct csr_der *out)
{
	struct der_tlv req, attrs;
	const uint8_t *p;
	size_t avail;

	memset(out, 0, sizeof(*out));
	if (der_read(der, len, &req) != 0 || req.tag != DER_TAG_SEQUENCE)
		return csr_malformed();
	if (req.tlv_len != len)
		return sd_error_set(SD_E_CSR, "not a certificate request: %zu bytes after the DER", len - req.tlv_len);
	p = req.val;
	avail = req.len;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &out->info) != 0 ||
	    der_next(&p, &avail, DER_TAG_SEQUENCE, &out->sigalg) != 0 ||
	    der_next(&p, &avail, DER_TAG_BIT_STRING, &out->sig) != 0 || avail != 0)
		return csr_malformed();
	p = out->info.val;
	avail = out->info.len;
	if (der_next(&p, &avail, DER_TAG_INTEGER, &out->version) != 0 ||
	    der_next(&p, &avail, DER_TAG_SEQUENCE, &out->subject) != 0 ||
	    der_next(&p, &avail, DER_TAG_SEQUENCE, &out->spki) != 0 ||
	    der_next(&p, &avail, DER_TAG_CONTEXT_0, &attrs) != 0 || avail != 0)
		return csr_malformed();
	return csr_der_attributes(&attrs, &out->ext_req);
}

int
csr_der_verify(const struct csr_der *d, const X509_ALGOR *alg, EVP_PKEY *pkey)
{
	ASN1_BIT_STRING *sig = NULL;
	ASN1_STRING *info = NULL;
	ASN1_TYPE signed_part;
	const unsigned char *p = d->sig.tlv;
	int rc;

	if (d->sig.tlv_len > LONG_MAX || d->info.tlv_len > INT_MAX ||
	    (sig = d2i_ASN1_BIT_STRING(NULL, &p, (long)d->sig.tlv_len)) == NULL || p != d->sig.tlv + d->sig.tlv_len) {
		rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR signature is not a well-formed BIT STRING");
		goto out;
	}
	/*
	 * The signed bytes as they are: an ANY holding a SEQUENCE encodes as
	 * its stored TLV, so OpenSSL verifies exactly what the client signed
	 * (and applies the algorithm's parameters, RSASSA-PSS included).
	 */
	if ((info = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) == NULL ||
	    ASN1_STRING_set(info, d->info.tlv, (int)d->info.tlv_len) != 1) {
		rc = SD_E_NOMEM;
		goto out;
	}
	signed_part.type = V_ASN1_SEQUENCE;
	signed_part.value.sequence = info;
	if (ASN1_item_verify_ex(ASN1_ITEM_rptr(ASN1_ANY), alg, sig, &signed_part, NULL, pkey, NULL, NULL) != 1) {
		rc = sd_error_set(SD_E_CSR_SIGNATURE, "CSR signature does not verify with its own public key");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	ASN1_STRING_free(info);
	ASN1_BIT_STRING_free(sig);
	return rc;
}
