/*
 * What the certificate index reads from a certificate: its validity and
 * its subjectAltNames, with the strict DER reader (no OpenSSL here, so
 * that an index entry is a pure function of the journaled bytes).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/der.h"
#include "inventory.h"
#include "sd_time.h"

#define DER_TAG_UTCTIME 0x17
#define DER_TAG_GENTIME 0x18
#define DER_TAG_OCTET 0x04

/* 2.5.29.17 subjectAltName */
static const uint8_t inv_oid_san[] = { 0x55, 0x1d, 0x11 };

static bool
inv_digits(const uint8_t *p, size_t n, unsigned *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*out = *out * 10 + (unsigned)(p[i] - '0');
	}
	return true;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5) as Unix seconds. */
static bool
inv_time(const struct der_tlv *t, int64_t *out)
{
	unsigned y, mo, d, h, mi, s;
	const uint8_t *p = t->val;
	size_t yl;

	if (t->tag == DER_TAG_UTCTIME && t->len == 13)
		yl = 2;
	else if (t->tag == DER_TAG_GENTIME && t->len == 15)
		yl = 4;
	else
		return false;
	if (p[t->len - 1] != 'Z' || !inv_digits(p, yl, &y) || !inv_digits(p + yl, 2, &mo) ||
	    !inv_digits(p + yl + 2, 2, &d) || !inv_digits(p + yl + 4, 2, &h) || !inv_digits(p + yl + 6, 2, &mi) ||
	    !inv_digits(p + yl + 8, 2, &s))
		return false;
	if (yl == 2)
		y += y < 50 ? 2000 : 1900;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
		return false;
	*out = sd_days_from_civil((int64_t)y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + (int64_t)s;
	return true;
}

static int
inv_san_add(struct journal_cert *c, uint8_t type, const uint8_t *v, size_t len)
{
	struct journal_san *n;
	char ip[INET6_ADDRSTRLEN], *s;

	if (type == JOURNAL_SAN_IP) {
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET : AF_INET6, v, ip, sizeof(ip)) == NULL)
			return 0;
		v = (const uint8_t *)ip;
		len = strlen(ip);
	}
	/* A NUL inside a name could not be asked for: leave it out. */
	if (len == 0 || memchr(v, '\0', len) != NULL)
		return 0;
	if (c->n_sans >= SIZE_MAX / sizeof(*n) - 1)
		return SD_E_NOMEM;
	if ((n = realloc(c->sans, (c->n_sans + 1) * sizeof(*n))) == NULL)
		return SD_E_NOMEM;
	c->sans = n;
	if ((s = malloc(len + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(s, v, len);
	s[len] = '\0';
	c->sans[c->n_sans].type = type;
	c->sans[c->n_sans].value = s;
	c->n_sans++;
	return 0;
}

/* GeneralNames in the extension's OCTET STRING; with c NULL, only checked. */
static int
inv_sans(const uint8_t *p, size_t avail, struct journal_cert *c)
{
	struct der_tlv seq, gn;
	uint8_t type;
	int rc;

	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &seq) != 0 || avail != 0)
		return 1;
	p = seq.val;
	avail = seq.len;
	while (avail > 0) {
		if (der_read(p, avail, &gn) != 0)
			return 1;
		p += gn.tlv_len;
		avail -= gn.tlv_len;
		switch (gn.tag) {
		case 0x81: type = JOURNAL_SAN_EMAIL; break;
		case 0x82: type = JOURNAL_SAN_DNS; break;
		case 0x86: type = JOURNAL_SAN_URI; break;
		case 0x87: type = JOURNAL_SAN_IP; break;
		default: continue;
		}
		if (c != NULL && (rc = inv_san_add(c, type, gn.val, gn.len)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Returns 0, SD_E_NOMEM, or 1 for DER that is not a certificate. Without
 * sans, the SANs are checked but not kept (nothing is allocated), so that
 * both readers call the same DER a certificate.
 */
static int
inv_cert_read(const uint8_t *der, size_t len, struct journal_cert *c, bool sans)
{
	struct der_tlv cert, tbs, t, validity, nb, na, exts, ext, oid, val;
	const uint8_t *p = der, *q, *e;
	size_t avail = len, qa, ea;

	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &cert) != 0 || avail != 0)
		return 1;
	p = cert.val;
	avail = cert.len;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &tbs) != 0)
		return 1;
	p = tbs.val;
	avail = tbs.len;
	if (der_peek_tag(p, avail, DER_TAG_CONTEXT_0) && der_next(&p, &avail, DER_TAG_CONTEXT_0, &t) != 0)
		return 1;
	if (der_next(&p, &avail, DER_TAG_INTEGER, &t) != 0 || der_next(&p, &avail, DER_TAG_SEQUENCE, &t) != 0 ||
	    der_next(&p, &avail, DER_TAG_SEQUENCE, &t) != 0 || der_next(&p, &avail, DER_TAG_SEQUENCE, &validity) != 0)
		return 1;
	q = validity.val;
	qa = validity.len;
	if (der_read(q, qa, &nb) != 0)
		return 1;
	q += nb.tlv_len;
	qa -= nb.tlv_len;
	if (der_read(q, qa, &na) != 0 || na.tlv_len != qa || !inv_time(&nb, &c->not_before) ||
	    !inv_time(&na, &c->not_after))
		return 1;
	/* subject, then subjectPublicKeyInfo, then optional [1] [2] [3]. */
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &t) != 0)
		return 1;
	if (der_next(&p, &avail, DER_TAG_SEQUENCE, &t) != 0)
		return 1;
	while (avail > 0) {
		if (der_read(p, avail, &t) != 0)
			return 1;
		p += t.tlv_len;
		avail -= t.tlv_len;
		if (t.tag != DER_TAG_CONTEXT_3)
			continue;
		q = t.val;
		qa = t.len;
		if (der_next(&q, &qa, DER_TAG_SEQUENCE, &exts) != 0 || qa != 0)
			return 1;
		e = exts.val;
		ea = exts.len;
		while (ea > 0) {
			if (der_next(&e, &ea, DER_TAG_SEQUENCE, &ext) != 0)
				return 1;
			q = ext.val;
			qa = ext.len;
			if (der_next(&q, &qa, DER_TAG_OID, &oid) != 0)
				return 1;
			if (der_peek_tag(q, qa, DER_TAG_BOOLEAN) && der_next(&q, &qa, DER_TAG_BOOLEAN, &val) != 0)
				return 1;
			if (der_next(&q, &qa, DER_TAG_OCTET, &val) != 0 || qa != 0)
				return 1;
			if (oid.len == sizeof(inv_oid_san) && memcmp(oid.val, inv_oid_san, oid.len) == 0)
				return inv_sans(val.val, val.len, sans ? c : NULL);
		}
	}
	return 0;
}

int
inv_cert_parse(const uint8_t *der, size_t len, struct journal_cert *c)
{
	size_t i;
	int rc;

	c->parsed = false;
	c->not_before = c->not_after = 0;
	rc = der != NULL ? inv_cert_read(der, len, c, true) : 1;
	if (rc == 0) {
		c->parsed = true;
		return 0;
	}
	/* Not a certificate (or out of memory): nothing of it is indexed. */
	for (i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	c->sans = NULL;
	c->n_sans = 0;
	c->not_before = c->not_after = 0;
	return rc == SD_E_NOMEM ? SD_E_NOMEM : 0;
}

bool
inv_cert_validity(const uint8_t *der, size_t len, int64_t *not_before, int64_t *not_after)
{
	struct journal_cert c;

	memset(&c, 0, sizeof(c));
	*not_before = *not_after = 0;
	if (der == NULL || inv_cert_read(der, len, &c, false) != 0)
		return false;
	*not_before = c.not_before;
	*not_after = c.not_after;
	return true;
}
