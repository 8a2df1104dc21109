/*
 * Journal record byte format (README.md, "Journal format"): a fixed 54-byte
 * header, then the fields of the record type, each as a big-endian uint32
 * length and the bytes. The format has exactly one encoding per record, so
 * the SHA-256 of the bytes is a stable record hash that the next record
 * commits to.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_internal.h"
#include "merkle.h"
#include "sd_crl_reason.h"

enum jr_kind {
	JR_TEXT,	/* UTF-8 without NUL; decoded NUL-terminated */
	JR_BYTES,	/* variable length */
	JR_HASH,	/* exactly JOURNAL_HASH_LEN bytes */
	JR_U64,		/* 8 bytes big-endian */
	JR_I64,		/* 8 bytes big-endian two's complement */
	JR_U8,		/* 1 byte; min..max bound the value */
};

struct jr_field {
	const char *name;
	enum jr_kind kind;
	size_t min;
	size_t max;
	size_t off;		/* of the value in struct journal_record */
	size_t len_off;		/* JR_BYTES: of its size_t length */
	uint32_t holes;		/* JR_U8: bit v set refuses value v inside min..max */
};

#define JR_F(n, k, lo, hi, field) { n, k, lo, hi, offsetof(struct journal_record, field), 0, 0 }
#define JR_B(n, lo, hi, field, len) \
	{ n, JR_BYTES, lo, hi, offsetof(struct journal_record, field), offsetof(struct journal_record, len), 0 }
#define JR_U8_HOLES(n, lo, hi, holes, field) \
	{ n, JR_U8, lo, hi, offsetof(struct journal_record, field), 0, holes }

static const struct jr_field jr_issuance[] = {
	JR_F("client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX, client_subject),
	JR_F("client_spki_sha256", JR_HASH, 0, 0, client_spki_sha256),
	JR_F("profile", JR_TEXT, 1, JOURNAL_TEXT_MAX, profile),
	JR_F("csr_sha256", JR_HASH, 0, 0, csr_sha256),
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_B("cert_der", 1, JOURNAL_CERT_MAX, cert_der, cert_der_len),
};

static const struct jr_field jr_intent[] = {
	JR_F("client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX, client_subject),
	JR_F("client_spki_sha256", JR_HASH, 0, 0, client_spki_sha256),
	JR_F("profile", JR_TEXT, 1, JOURNAL_TEXT_MAX, profile),
	JR_F("csr_sha256", JR_HASH, 0, 0, csr_sha256),
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_F("tbs_sha256", JR_HASH, 0, 0, tbs_sha256),
};

static const struct jr_field jr_intent_tbs[] = {
	JR_F("client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX, client_subject),
	JR_F("client_spki_sha256", JR_HASH, 0, 0, client_spki_sha256),
	JR_F("profile", JR_TEXT, 1, JOURNAL_TEXT_MAX, profile),
	JR_F("csr_sha256", JR_HASH, 0, 0, csr_sha256),
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_B("tbs_der", 1, JOURNAL_CERT_MAX, tbs_der, tbs_der_len),
};

static const struct jr_field jr_unresolved[] = {
	JR_F("intent_seq", JR_U64, 1, UINT64_MAX, intent_seq),
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_F("tbs_sha256", JR_HASH, 0, 0, tbs_sha256),
	JR_F("detail", JR_TEXT, 0, 512, detail),
};

static const struct jr_field jr_result[] = {
	JR_F("intent_seq", JR_U64, 1, UINT64_MAX, intent_seq),
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_B("cert_der", 1, JOURNAL_CERT_MAX, cert_der, cert_der_len),
};

static const struct jr_field jr_refusal[] = {
	JR_F("client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX, client_subject),
	JR_F("client_spki_sha256", JR_HASH, 0, 0, client_spki_sha256),
	JR_F("profile", JR_TEXT, 0, JOURNAL_SHORT_MAX, profile),
	JR_F("csr_sha256", JR_HASH, 0, 0, csr_sha256),
	JR_F("reason", JR_TEXT, 1, JOURNAL_SHORT_MAX, reason),
	JR_F("detail", JR_TEXT, 0, 512, detail),
};

static const struct jr_field jr_summary[] = {
	JR_F("window_start_ms", JR_I64, 0, 0, window_start_ms),
	JR_F("count", JR_U64, 1, UINT64_MAX, count),
	JR_F("detail", JR_TEXT, 0, 512, detail),
};

static const struct jr_field jr_ceremony[] = {
	JR_F("operation", JR_TEXT, 1, JOURNAL_SHORT_MAX, reason),
	JR_F("phase", JR_U8, JOURNAL_CEREMONY_BEGIN, JOURNAL_CEREMONY_FAILED, phase),
	JR_F("actor", JR_TEXT, 1, 256, actor),
	JR_F("key_uri", JR_TEXT, 1, JOURNAL_TEXT_MAX, key_uri),
	JR_F("detail", JR_TEXT, 0, JOURNAL_TEXT_MAX, detail),
	JR_B("output", 0, JOURNAL_CERT_MAX, output, output_len),
};

static const struct jr_field jr_service[] = {
	JR_F("event", JR_U8, JOURNAL_SERVICE_START, JOURNAL_SERVICE_RELOAD, event),
	JR_F("config_sha256", JR_HASH, 0, 0, config_sha256),
	JR_F("detail", JR_TEXT, 0, 512, detail),
};

static const struct jr_field jr_checkpoint[] = {
	JR_F("tree_size", JR_U64, 0, UINT64_MAX, tree_size),
	JR_F("root_hash", JR_HASH, 0, 0, root_hash),
	JR_F("note", JR_TEXT, 1, JOURNAL_TEXT_MAX, note),
};

/* RFC 5280 CRLReason: 0..10, 7 unassigned (a CRL may not carry it). */
static const struct jr_field jr_revocation[] = {
	JR_B("serial", 1, JOURNAL_SERIAL_MAX, serial, serial_len),
	JR_U8_HOLES("reason", JOURNAL_CRL_UNSPECIFIED, JOURNAL_CRL_REASON_MAX, 1u << 7, revocation_reason),
	JR_F("client_subject", JR_TEXT, 1, JOURNAL_TEXT_MAX, client_subject),
	JR_F("client_spki_sha256", JR_HASH, 0, 0, client_spki_sha256),
	JR_F("detail", JR_TEXT, 0, 512, detail),
};

/* Beside the table, jr_crl_check() holds base_number < number and this_update < next_update. */
static const struct jr_field jr_crl[] = {
	JR_F("number", JR_U64, 1, UINT64_MAX, crl_number),
	JR_F("base_number", JR_U64, 0, UINT64_MAX, crl_base_number),
	JR_F("this_update", JR_I64, 0, 0, crl_this_update),
	JR_F("next_update", JR_I64, 0, 0, crl_next_update),
	JR_F("entries", JR_U64, 0, UINT64_MAX, crl_entries),
	JR_F("sha256", JR_HASH, 0, 0, crl_sha256),
};

/* Beside the table, jr_record_relations() holds the fields each event needs. */
static const struct jr_field jr_acme[] = {
	JR_F("event", JR_U8, JOURNAL_ACME_ACCOUNT_CREATED, JOURNAL_ACME_EVENT_MAX, acme_event),
	JR_F("account", JR_TEXT, 0, JOURNAL_SHORT_MAX, acme_account),
	JR_F("key_sha256", JR_HASH, 0, 0, acme_key_sha256),
	JR_F("eab_kid", JR_TEXT, 0, JOURNAL_SHORT_MAX, acme_eab_kid),
	JR_F("profile", JR_TEXT, 0, JOURNAL_SHORT_MAX, profile),
	JR_F("actor", JR_TEXT, 0, 256, actor),
	JR_F("detail", JR_TEXT, 0, JOURNAL_TEXT_MAX, detail),
};

#define JR_FIELDS_MAX 7

struct jr_type {
	const char *name;
	const struct jr_field *fields;	/* NULL: reserved or unknown */
	size_t n;
};

#define JR_T(n, f) { n, f, sizeof(f) / sizeof((f)[0]) }
static const struct jr_type jr_types[JOURNAL_REC_TYPE_MAX + 1] = {
	[JOURNAL_REC_ISSUANCE] = JR_T("issuance", jr_issuance),
	[JOURNAL_REC_INTENT] = JR_T("intent", jr_intent),
	[JOURNAL_REC_RESULT] = JR_T("result", jr_result),
	[JOURNAL_REC_REFUSAL] = JR_T("refusal", jr_refusal),
	[JOURNAL_REC_REFUSAL_SUMMARY] = JR_T("refusal-summary", jr_summary),
	[JOURNAL_REC_CEREMONY] = JR_T("ceremony", jr_ceremony),
	[JOURNAL_REC_SERVICE] = JR_T("service", jr_service),
	[JOURNAL_REC_RELOAD] = { "reload", NULL, 0 },
	[JOURNAL_REC_CHECKPOINT] = JR_T("checkpoint", jr_checkpoint),
	[JOURNAL_REC_REVOCATION] = JR_T("revocation", jr_revocation),
	[JOURNAL_REC_CRL] = JR_T("crl", jr_crl),
	[JOURNAL_REC_ACME] = JR_T("acme", jr_acme),
	[JOURNAL_REC_INTENT_TBS] = JR_T("intent-tbs", jr_intent_tbs),
	[JOURNAL_REC_UNRESOLVED] = JR_T("unresolved", jr_unresolved),
};

struct jr_span {
	const uint8_t *p;
	size_t len;
	uint8_t num[8];		/* the encoding of a number field */
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
	/* merkle.c keeps the one SHA-256 fetch the journal's hashes share. */
	if (merkle_sha256(buf, len, out) != 0)
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

/* Encoded length bounds of a field. */
static void
jr_len_bounds(const struct jr_field *f, size_t *lo, size_t *hi)
{
	switch (f->kind) {
	case JR_HASH: *lo = *hi = JOURNAL_HASH_LEN; break;
	case JR_U64:
	case JR_I64: *lo = *hi = 8; break;
	case JR_U8: *lo = *hi = 1; break;
	default: *lo = f->min; *hi = f->max; break;
	}
}

/*
 * Check one field value against its limits. where names the record in the
 * detail ("intent" when encoding, "record 7" when decoding); err is
 * SD_E_INVAL for input from the signer and SD_E_JOURNAL_CORRUPT for bytes
 * read back from disk.
 */
static int
jr_field_len_check(const struct jr_field *f, size_t len, const char *where, int err)
{
	size_t lo, hi;

	jr_len_bounds(f, &lo, &hi);
	if (len >= lo && len <= hi)
		return 0;
	if (lo == hi)
		return sd_error_set(err, "%s: %s is %zu bytes, must be %zu", where, f->name, len, lo);
	return sd_error_set(err, "%s: %s is %zu bytes, must be %zu..%zu", where, f->name, len, lo, hi);
}

/* As jr_field_len_check, then the content: s->p must hold s->len bytes. */
static int
jr_field_check(const struct jr_field *f, const struct jr_span *s, const char *where, int err)
{
	const uint8_t *nul;
	uint64_t v;
	size_t off;
	int rc;

	if ((rc = jr_field_len_check(f, s->len, where, err)) != 0)
		return rc;
	if (s->p == NULL && s->len > 0)
		return sd_error_set(err, "%s: %s is missing", where, f->name);
	if (f->kind == JR_U8 || f->kind == JR_U64) {
		v = f->kind == JR_U8 ? s->p[0] : journal_be64_get(s->p);
		if (v < f->min || v > f->max)
			return sd_error_set(err, "%s: %s is %llu, must be %zu..%llu", where, f->name,
			    (unsigned long long)v, f->min, (unsigned long long)f->max);
		if (v < 32 && (f->holes >> v & 1) != 0)
			return sd_error_set(err, "%s: %s %llu is not an assigned value", where, f->name,
			    (unsigned long long)v);
		return 0;
	}
	if (f->kind != JR_TEXT || s->len == 0)
		return 0;
	if ((nul = memchr(s->p, '\0', s->len)) != NULL)
		return sd_error_set(err, "%s: %s contains a NUL byte at offset %zu", where, f->name,
		    (size_t)(nul - s->p));
	if (!jr_utf8_valid(s->p, s->len, &off))
		return sd_error_set(err, "%s: %s is not valid UTF-8 at offset %zu", where, f->name, off);
	return 0;
}

/* A C string's length, or max + 1 when it is longer than max (0 for NULL). */
static size_t
jr_text_len(const char *s, size_t max)
{
	return s == NULL ? 0 : strnlen(s, max + 1);
}

const char *
journal_record_type_name(uint8_t type)
{
	if (type > JOURNAL_REC_TYPE_MAX || jr_types[type].name == NULL)
		return "unknown";
	return jr_types[type].name;
}

const char *
journal_crl_reason_name(uint8_t reason)
{
	return sd_crl_reason_name(reason);
}

/* The fields an ACME event needs (the table allows every one empty). */
static int
jr_acme_relations(const struct journal_record *rec, const char *where, int err)
{
	bool eab = rec->acme_event == JOURNAL_ACME_EAB_ADDED || rec->acme_event == JOURNAL_ACME_EAB_REMOVED;

	/* Decoded texts are never NULL; a record being encoded may leave them NULL (empty). */
	if (!eab && (rec->acme_account == NULL || rec->acme_account[0] == '\0'))
		return sd_error_set(err, "%s: event %u needs an account", where, (unsigned)rec->acme_event);
	if (eab && (rec->acme_eab_kid == NULL || rec->acme_eab_kid[0] == '\0'))
		return sd_error_set(err, "%s: event %u needs an eab_kid", where, (unsigned)rec->acme_event);
	if (eab && (rec->actor == NULL || rec->actor[0] == '\0'))
		return sd_error_set(err, "%s: event %u needs an actor", where, (unsigned)rec->acme_event);
	return 0;
}

/*
 * What a field table cannot say: the limits between the fields of one
 * record. Checked on encode and decode, so a stored record holds them too.
 */
static int
jr_record_relations(const struct journal_record *rec, const char *where, int err)
{
	if (rec->type == JOURNAL_REC_ACME)
		return jr_acme_relations(rec, where, err);
	if (rec->type != JOURNAL_REC_CRL)
		return 0;
	if (rec->crl_base_number >= rec->crl_number)
		return sd_error_set(err, "%s: base_number %llu is not below number %llu", where,
		    (unsigned long long)rec->crl_base_number, (unsigned long long)rec->crl_number);
	if (rec->crl_next_update <= rec->crl_this_update)
		return sd_error_set(err, "%s: next_update %lld is not after this_update %lld", where,
		    (long long)rec->crl_next_update, (long long)rec->crl_this_update);
	return 0;
}

/* The field table of a type that can be written and read, or an error with err. */
static int
jr_type_get(uint8_t type, int err, const struct jr_type **out)
{
	*out = NULL;
	if (type == JOURNAL_REC_RELOAD)
		return sd_error_set(err, "record: type %u (configuration reload) is reserved", (unsigned)type);
	if (type > JOURNAL_REC_TYPE_MAX || jr_types[type].fields == NULL)
		return sd_error_set(err, "record: unknown type %u", (unsigned)type);
	*out = &jr_types[type];
	return 0;
}

/* The spans of rec's fields, checked. */
static int
jr_spans(const struct journal_record *rec, const struct jr_type *t, struct jr_span *f)
{
	const char *base = (const char *)rec;
	const struct jr_field *d;
	size_t i;
	int rc;

	for (i = 0; i < t->n; i++) {
		d = &t->fields[i];
		memset(&f[i], 0, sizeof(f[i]));
		switch (d->kind) {
		case JR_TEXT:
			f[i].p = *(const uint8_t *const *)(const void *)(base + d->off);
			f[i].len = jr_text_len((const char *)f[i].p, d->max);
			break;
		case JR_BYTES:
			f[i].p = *(const uint8_t *const *)(const void *)(base + d->off);
			f[i].len = *(const size_t *)(const void *)(base + d->len_off);
			break;
		case JR_HASH:
			f[i].p = (const uint8_t *)(base + d->off);
			f[i].len = JOURNAL_HASH_LEN;
			break;
		case JR_U64:
		case JR_I64:
			journal_be64_put(f[i].num, *(const uint64_t *)(const void *)(base + d->off));
			f[i].p = f[i].num;
			f[i].len = 8;
			break;
		case JR_U8:
			f[i].num[0] = *(const uint8_t *)(base + d->off);
			f[i].p = f[i].num;
			f[i].len = 1;
			break;
		}
		if ((rc = jr_field_check(d, &f[i], t->name, SD_E_INVAL)) != 0)
			return rc;
	}
	return jr_record_relations(rec, t->name, SD_E_INVAL);
}

int
journal_record_check(const struct journal_record *rec)
{
	struct jr_span f[JR_FIELDS_MAX] = { 0 };	/* clang's analyzer cannot tie t->n to the spans set */
	const struct jr_type *t;
	int rc;

	if (rec == NULL)
		return sd_error_set(SD_E_INVAL, "journal record: none");
	if ((rc = jr_type_get(rec->type, SD_E_INVAL, &t)) != 0)
		return rc;
	return jr_spans(rec, t, f);
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
		if (f[i].len > 0)
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
journal_record_encode_at(const struct journal_record *rec, uint64_t seq, const uint8_t prev_hash[JOURNAL_HASH_LEN],
    uint8_t **out, size_t *len)
{
	struct jr_span f[JR_FIELDS_MAX] = { 0 };	/* clang's analyzer cannot tie t->n to the spans set */
	const struct jr_type *t;
	int rc;

	*out = NULL;
	*len = 0;
	if (rec == NULL || prev_hash == NULL)
		return sd_error_set(SD_E_INVAL, "journal record: none");
	if ((rc = jr_type_get(rec->type, SD_E_INVAL, &t)) != 0)
		return rc;
	if ((rc = jr_spans(rec, t, f)) != 0)
		return rc;
	return jr_encode(rec->type, seq, rec->time_ms, prev_hash, f, t->n, out, len);
}

int
journal_record_encode(const struct journal_record *rec, uint8_t **out, size_t *len)
{
	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (rec == NULL || out == NULL || len == NULL)
		return sd_error_set(SD_E_INVAL, "journal_record_encode: NULL argument");
	if (rec->version != JOURNAL_FORMAT_VERSION)
		return sd_error_set(SD_E_INVAL, "journal record: version %u is not %u",
		    (unsigned)rec->version, (unsigned)JOURNAL_FORMAT_VERSION);
	return journal_record_encode_at(rec, rec->seq, rec->prev_hash, out, len);
}

/* A copy of s, NUL-terminated (texts rely on it), or NULL when out of memory. */
static void *
jr_dup(const struct jr_span *s)
{
	uint8_t *p;

	/* s->len is bounded by the field table, so + 1 cannot wrap. */
	if ((p = malloc(s->len + 1)) == NULL)
		return NULL;
	if (s->len > 0)
		memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	return p;
}

/* Store a checked span into its field of rec. */
static int
jr_store(struct journal_record *rec, const struct jr_field *d, const struct jr_span *s)
{
	char *base = (char *)rec;
	void *copy;

	switch (d->kind) {
	case JR_TEXT:
	case JR_BYTES:
		if ((copy = jr_dup(s)) == NULL)
			return SD_E_NOMEM;
		*(void **)(void *)(base + d->off) = copy;
		if (d->kind == JR_BYTES)
			*(size_t *)(void *)(base + d->len_off) = s->len;
		break;
	case JR_HASH:
		memcpy(base + d->off, s->p, JOURNAL_HASH_LEN);
		break;
	case JR_U64:
	case JR_I64:
		*(uint64_t *)(void *)(base + d->off) = journal_be64_get(s->p);
		break;
	case JR_U8:
		*(uint8_t *)(base + d->off) = s->p[0];
		break;
	}
	return 0;
}

int
journal_record_decode_nohash(const uint8_t *buf, size_t len, struct journal_record **out)
{
	struct journal_record *rec = NULL;
	const struct jr_type *t;
	struct jr_span s;
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
	if ((rc = jr_type_get(rec->type, SD_E_JOURNAL_CORRUPT, &t)) != 0)
		goto out;
	if (rec->seq == 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "record: seq 0 (seqs start at 1)");
		goto out;
	}
	if (snprintf(where, sizeof(where), "record %llu", (unsigned long long)rec->seq) >= (int)sizeof(where))
		abort();
	off = JOURNAL_HEADER_LEN;
	for (i = 0; i < t->n; i++) {
		if (len - off < 4) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: truncated before the length of %s",
			    where, t->fields[i].name);
			goto out;
		}
		flen = jr_be32_get(buf + off);
		off += 4;
		if ((rc = jr_field_len_check(&t->fields[i], flen, where, SD_E_JOURNAL_CORRUPT)) != 0)
			goto out;
		if (flen > len - off) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: %s of %u bytes runs past the end (%zu left)",
			    where, t->fields[i].name, (unsigned)flen, len - off);
			goto out;
		}
		s.p = buf + off;
		s.len = flen;
		if ((rc = jr_field_check(&t->fields[i], &s, where, SD_E_JOURNAL_CORRUPT)) != 0)
			goto out;
		if ((rc = jr_store(rec, &t->fields[i], &s)) != 0)
			goto out;
		off += flen;
	}
	if (off != len) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: %zu trailing bytes", where, len - off);
		goto out;
	}
	if ((rc = jr_record_relations(rec, where, SD_E_JOURNAL_CORRUPT)) != 0)
		goto out;
	/* Readers compare intents by the TBS hash, whichever form holds it. */
	if (rec->type == JOURNAL_REC_INTENT_TBS && (rc = journal_hash(rec->tbs_der, rec->tbs_der_len, rec->tbs_sha256)) != 0)
		goto out;
	*out = rec;
	rec = NULL;
	rc = 0;
out:
	journal_record_free(rec);
	return rc;
}

int
journal_record_dup(const struct journal_record *rec, struct journal_record **out)
{
	struct jr_span f[JR_FIELDS_MAX];
	struct journal_record *copy;
	const struct jr_type *t;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = jr_type_get(rec->type, SD_E_INVAL, &t)) != 0 || (rc = jr_spans(rec, t, f)) != 0)
		return rc;
	if ((copy = calloc(1, sizeof(*copy))) == NULL)
		return SD_E_NOMEM;
	copy->version = rec->version;
	copy->type = rec->type;
	copy->time_ms = rec->time_ms;
	/* Only the fields of its type: the rest of a borrowed record may be anything. */
	for (i = 0; i < t->n; i++) {
		if ((rc = jr_store(copy, &t->fields[i], &f[i])) != 0) {
			journal_record_free(copy);
			return rc;
		}
	}
	*out = copy;
	return 0;
}

int
journal_record_hashes(const uint8_t *buf, size_t len, uint8_t hash[JOURNAL_HASH_LEN], uint8_t leaf[JOURNAL_HASH_LEN])
{
	int rc;

	if ((rc = journal_hash(buf, len, hash)) != 0)
		return rc;
	return merkle_leaf_hash(buf, len, leaf);
}

int
journal_record_decode(const uint8_t *buf, size_t len, struct journal_record **out)
{
	struct journal_record *rec = NULL;
	int rc;

	if (out == NULL)
		return sd_error_set(SD_E_INVAL, "journal_record_decode: NULL argument");
	*out = NULL;
	if ((rc = journal_record_decode_nohash(buf, len, &rec)) != 0)
		return rc;
	if ((rc = journal_record_hashes(buf, len, rec->hash, rec->leaf_hash)) != 0) {
		journal_record_free(rec);
		return rc;
	}
	*out = rec;
	return 0;
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
	free(rec->tbs_der);
	free(rec->reason);
	free(rec->detail);
	free(rec->actor);
	free(rec->key_uri);
	free(rec->output);
	free(rec->note);
	free(rec->acme_account);
	free(rec->acme_eab_kid);
	free(rec);
}
