/*
 * Journal record byte format (README.md, "Journal format"): a fixed 54-byte
 * header, then the fields of the record type, each as a big-endian uint32
 * length and the bytes. The format has exactly one encoding per record, so
 * the SHA-256 of the bytes is a stable record hash that the next record
 * commits to.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "journal.h"
#include "journal_internal.h"

enum jr_kind {
	JR_TEXT,	/* UTF-8 without NUL; decoded NUL-terminated */
	JR_BYTES,
};

struct jr_field {
	const char *name;
	enum jr_kind kind;
	size_t min;
	size_t max;
};

/* The fields of an issuance record, in wire order. */
enum {
	JR_SUBJECT,
	JR_SPKI,
	JR_PROFILE,
	JR_CSR,
	JR_SERIAL,
	JR_CERT,
	JR_ISSUANCE_NFIELDS,
};

static const struct jr_field jr_issuance_fields[JR_ISSUANCE_NFIELDS] = {
	[JR_SUBJECT] = { "client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX },
	[JR_SPKI] = { "client_spki_sha256", JR_BYTES, JOURNAL_HASH_LEN, JOURNAL_HASH_LEN },
	[JR_PROFILE] = { "profile", JR_TEXT, 1, JOURNAL_TEXT_MAX },
	[JR_CSR] = { "csr_sha256", JR_BYTES, JOURNAL_HASH_LEN, JOURNAL_HASH_LEN },
	[JR_SERIAL] = { "serial", JR_BYTES, 1, JOURNAL_SERIAL_MAX },
	[JR_CERT] = { "cert_der", JR_BYTES, 1, JOURNAL_CERT_MAX },
};

struct jr_span {
	const uint8_t *p;
	size_t len;
};

void
journal_be64_put(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
journal_be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

static void
jr_be32_put(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static uint32_t
jr_be32_get(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

int
journal_hash(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != JOURNAL_HASH_LEN)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of a journal record failed");
	return 0;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool
jr_utf8_valid(const uint8_t *s, size_t len, size_t *bad_off)
{
	size_t i = 0, k, n;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			goto bad;
		if (n > len - i - 1)
			goto bad;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n + 1;
	}
	return true;
bad:
	*bad_off = i;
	return false;
}

/*
 * Check one field value against its limits. where names the record in the
 * detail ("issuance" when encoding, "record 7" when decoding); err is
 * SD_E_INVAL for input from the signer and SD_E_JOURNAL_CORRUPT for bytes
 * read back from disk.
 */
static int
jr_field_len_check(const struct jr_field *f, size_t len, const char *where, int err)
{
	if (len >= f->min && len <= f->max)
		return 0;
	if (f->min == f->max)
		return sd_error_set(err, "%s: %s is %zu bytes, must be %zu", where, f->name, len, f->min);
	return sd_error_set(err, "%s: %s is %zu bytes, must be %zu..%zu", where, f->name, len,
	    f->min, f->max);
}

/* As jr_field_len_check, then the content: s->p must hold s->len bytes. */
static int
jr_field_check(const struct jr_field *f, const struct jr_span *s, const char *where, int err)
{
	const uint8_t *nul;
	size_t off;
	int rc;

	if ((rc = jr_field_len_check(f, s->len, where, err)) != 0)
		return rc;
	if (s->p == NULL)
		return sd_error_set(err, "%s: %s is missing", where, f->name);
	if (f->kind != JR_TEXT)
		return 0;
	if ((nul = memchr(s->p, '\0', s->len)) != NULL)
		return sd_error_set(err, "%s: %s contains a NUL byte at offset %zu", where, f->name,
		    (size_t)(nul - s->p));
	if (!jr_utf8_valid(s->p, s->len, &off))
		return sd_error_set(err, "%s: %s is not valid UTF-8 at offset %zu", where, f->name, off);
	return 0;
}

/* A C string's length, or max + 1 when it is longer than max (or NULL). */
static size_t
jr_text_len(const char *s, size_t max)
{
	return s == NULL ? 0 : strnlen(s, max + 1);
}

static int
jr_issuance_spans(const struct journal_issuance *in, struct jr_span f[JR_ISSUANCE_NFIELDS])
{
	size_t i;
	int rc;

	f[JR_SUBJECT].p = (const uint8_t *)in->client_subject;
	f[JR_SUBJECT].len = jr_text_len(in->client_subject, JOURNAL_TEXT_MAX);
	f[JR_SPKI].p = in->client_spki_sha256;
	f[JR_SPKI].len = JOURNAL_HASH_LEN;
	f[JR_PROFILE].p = (const uint8_t *)in->profile;
	f[JR_PROFILE].len = jr_text_len(in->profile, JOURNAL_TEXT_MAX);
	f[JR_CSR].p = in->csr_sha256;
	f[JR_CSR].len = JOURNAL_HASH_LEN;
	f[JR_SERIAL].p = in->serial;
	f[JR_SERIAL].len = in->serial_len;
	f[JR_CERT].p = in->cert_der;
	f[JR_CERT].len = in->cert_der_len;
	for (i = 0; i < JR_ISSUANCE_NFIELDS; i++)
		if ((rc = jr_field_check(&jr_issuance_fields[i], &f[i], "issuance", SD_E_INVAL)) != 0)
			return rc;
	return 0;
}

int
journal_issuance_check(const struct journal_issuance *in)
{
	struct jr_span f[JR_ISSUANCE_NFIELDS];

	if (in == NULL)
		return sd_error_set(SD_E_INVAL, "issuance: no record");
	return jr_issuance_spans(in, f);
}

static int
jr_encode(uint8_t type, uint64_t seq, int64_t time_ms, const uint8_t prev_hash[JOURNAL_HASH_LEN],
    const struct jr_span *f, size_t nfields, uint8_t **out, size_t *len)
{
	uint8_t *buf = NULL, *p;
	size_t total = JOURNAL_HEADER_LEN, i;
	int rc;

	if (seq == 0) {
		rc = sd_error_set(SD_E_INVAL, "journal record: seq 0 is not allowed (seqs start at 1)");
		goto out;
	}
	for (i = 0; i < nfields; i++) {
		/* Every field is bounded by its table entry; keep the sum honest anyway. */
		if (f[i].len > UINT32_MAX || f[i].len > SIZE_MAX - 4 - total) {
			rc = sd_error_set(SD_E_INVAL, "journal record: too large");
			goto out;
		}
		total += 4 + f[i].len;
	}
	if ((buf = malloc(total)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	p = buf;
	memcpy(p, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
	p += JOURNAL_MAGIC_LEN;
	*p++ = JOURNAL_FORMAT_VERSION;
	*p++ = type;
	journal_be64_put(p, seq);
	p += 8;
	/* Two's complement, so times before 1970 survive the round trip. */
	journal_be64_put(p, (uint64_t)time_ms);
	p += 8;
	memcpy(p, prev_hash, JOURNAL_HASH_LEN);
	p += JOURNAL_HASH_LEN;
	for (i = 0; i < nfields; i++) {
		jr_be32_put(p, (uint32_t)f[i].len);
		p += 4;
		memcpy(p, f[i].p, f[i].len);
		p += f[i].len;
	}
	if ((size_t)(p - buf) != total)
		abort();
	*out = buf;
	*len = total;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

int
journal_issuance_encode(uint64_t seq, const uint8_t prev_hash[JOURNAL_HASH_LEN],
    const struct journal_issuance *in, uint8_t **out, size_t *len)
{
	struct jr_span f[JR_ISSUANCE_NFIELDS];
	int rc;

	*out = NULL;
	*len = 0;
	if (in == NULL || prev_hash == NULL)
		return sd_error_set(SD_E_INVAL, "issuance: no record");
	if ((rc = jr_issuance_spans(in, f)) != 0)
		return rc;
	return jr_encode(JOURNAL_REC_ISSUANCE, seq, in->time_ms, prev_hash, f, JR_ISSUANCE_NFIELDS, out, len);
}

int
journal_record_encode(const struct journal_record *rec, uint8_t **out, size_t *len)
{
	struct journal_issuance in;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (rec == NULL || out == NULL || len == NULL)
		return sd_error_set(SD_E_INVAL, "journal_record_encode: NULL argument");
	if (rec->version != JOURNAL_FORMAT_VERSION)
		return sd_error_set(SD_E_INVAL, "journal record: version %u is not %u",
		    (unsigned)rec->version, (unsigned)JOURNAL_FORMAT_VERSION);
	if (rec->type != JOURNAL_REC_ISSUANCE)
		return sd_error_set(SD_E_INVAL, "journal record: unknown type %u", (unsigned)rec->type);
	memset(&in, 0, sizeof(in));
	in.time_ms = rec->time_ms;
	in.client_subject = rec->client_subject;
	memcpy(in.client_spki_sha256, rec->client_spki_sha256, JOURNAL_HASH_LEN);
	in.profile = rec->profile;
	memcpy(in.csr_sha256, rec->csr_sha256, JOURNAL_HASH_LEN);
	in.serial = rec->serial;
	in.serial_len = rec->serial_len;
	in.cert_der = rec->cert_der;
	in.cert_der_len = rec->cert_der_len;
	return journal_issuance_encode(rec->seq, rec->prev_hash, &in, out, len);
}

/* A copy of s (NUL-terminated if text), or NULL when out of memory. */
static void *
jr_dup(const struct jr_span *s, bool text)
{
	uint8_t *p;

	/* s->len is bounded by the field table, so + 1 cannot wrap. */
	if ((p = malloc(s->len + (text ? 1 : 0))) == NULL)
		return NULL;
	memcpy(p, s->p, s->len);
	if (text)
		p[s->len] = '\0';
	return p;
}

int
journal_record_decode(const uint8_t *buf, size_t len, struct journal_record **out)
{
	struct journal_record *rec = NULL;
	struct jr_span f[JR_ISSUANCE_NFIELDS];
	char where[40];
	size_t off, i;
	uint32_t flen;
	int rc;

	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_record_decode: NULL argument");
	*out = NULL;
	if (buf == NULL || len < JOURNAL_HEADER_LEN) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record of %zu bytes is shorter than the %d-byte header",
		    buf == NULL ? 0 : len, JOURNAL_HEADER_LEN);
		goto out;
	}
	if (memcmp(buf, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record: bad magic %02x%02x%02x%02x (want \"SDJR\")",
		    buf[0], buf[1], buf[2], buf[3]);
		goto out;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rec->version = buf[4];
	rec->type = buf[5];
	rec->seq = journal_be64_get(buf + 6);
	rec->time_ms = (int64_t)journal_be64_get(buf + 14);
	memcpy(rec->prev_hash, buf + 22, JOURNAL_HASH_LEN);
	if (rec->version != JOURNAL_FORMAT_VERSION) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record: unknown format version %u",
		    (unsigned)rec->version);
		goto out;
	}
	if (rec->type != JOURNAL_REC_ISSUANCE) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record: unknown type %u", (unsigned)rec->type);
		goto out;
	}
	if (rec->seq == 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record: seq 0 (seqs start at 1)");
		goto out;
	}
	if (snprintf(where, sizeof(where), "record %llu", (unsigned long long)rec->seq) >= (int)sizeof(where))
		abort();
	off = JOURNAL_HEADER_LEN;
	for (i = 0; i < JR_ISSUANCE_NFIELDS; i++) {
		if (len - off < 4) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: truncated before the length of %s",
			    where, jr_issuance_fields[i].name);
			goto out;
		}
		flen = jr_be32_get(buf + off);
		off += 4;
		rc = jr_field_len_check(&jr_issuance_fields[i], flen, where, SD_E_JOURNAL_CORRUPT);
		if (rc != 0)
			goto out;
		if (flen > len - off) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: %s of %u bytes runs past the end (%zu left)",
			    where, jr_issuance_fields[i].name, (unsigned)flen, len - off);
			goto out;
		}
		f[i].p = buf + off;
		f[i].len = flen;
		if ((rc = jr_field_check(&jr_issuance_fields[i], &f[i], where, SD_E_JOURNAL_CORRUPT)) != 0)
			goto out;
		off += flen;
	}
	if (off != len) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: %zu trailing bytes", where, len - off);
		goto out;
	}
	memcpy(rec->client_spki_sha256, f[JR_SPKI].p, JOURNAL_HASH_LEN);
	memcpy(rec->csr_sha256, f[JR_CSR].p, JOURNAL_HASH_LEN);
	if ((rec->client_subject = jr_dup(&f[JR_SUBJECT], true)) == NULL ||
	    (rec->profile = jr_dup(&f[JR_PROFILE], true)) == NULL ||
	    (rec->serial = jr_dup(&f[JR_SERIAL], false)) == NULL ||
	    (rec->cert_der = jr_dup(&f[JR_CERT], false)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rec->serial_len = f[JR_SERIAL].len;
	rec->cert_der_len = f[JR_CERT].len;
	if ((rc = journal_hash(buf, len, rec->hash)) != 0)
		goto out;
	*out = rec;
	rec = NULL;
	rc = 0;
out:
	journal_record_free(rec);
	return rc;
}

void
journal_record_free(struct journal_record *rec)
{
	if (rec == NULL)
		return;
	free(rec->client_subject);
	free(rec->profile);
	free(rec->serial);
	free(rec->cert_der);
	free(rec);
}
