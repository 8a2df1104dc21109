/*
 * Journal tests, the record byte format: the golden vector of README.md,
 * round trips, and every malformed or over-limit record refused by the
 * decoder and the encoder.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

static void
be32_put(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static void
test_record_golden(void)
{
	static const char want_hash[] = "36515e815cf0cc822fde48c6daa8938938aa9c3dc1a15514e633a5a42d4c6a00";
	uint8_t want[151], *p = want, *enc = NULL, serial[2] = { 0x01, 0x00 }, cert[2] = { 0x30, 0x00 };
	struct journal_record rec, *dec = NULL;
	char hex[2 * JOURNAL_HASH_LEN + 1];
	size_t len = 0, i;

	/* The layout written out by hand, as README.md documents it. */
	memcpy(p, "SDJR", 4), p += 4;
	*p++ = 1;
	*p++ = 1;
	for (i = 1; i <= 8; i++)
		*p++ = (uint8_t)i;
	memset(p, 0xff, 8), p += 8;
	memset(p, 0xaa, 32), p += 32;
	be32_put(p, 4), p += 4;
	memcpy(p, "CN=a", 4), p += 4;
	be32_put(p, 32), p += 4;
	memset(p, 0x11, 32), p += 32;
	be32_put(p, 1), p += 4;
	*p++ = 'p';
	be32_put(p, 32), p += 4;
	memset(p, 0x22, 32), p += 32;
	be32_put(p, 2), p += 4;
	memcpy(p, serial, 2), p += 2;
	be32_put(p, 2), p += 4;
	memcpy(p, cert, 2), p += 2;
	CU_ASSERT_EQUAL_FATAL((size_t)(p - want), sizeof(want));

	memset(&rec, 0, sizeof(rec));
	rec.version = 1;
	rec.type = JOURNAL_REC_ISSUANCE;
	rec.seq = 0x0102030405060708ULL;
	rec.time_ms = -1;
	memset(rec.prev_hash, 0xaa, 32);
	rec.client_subject = "CN=a";
	memset(rec.client_spki_sha256, 0x11, 32);
	rec.profile = "p";
	memset(rec.csr_sha256, 0x22, 32);
	rec.serial = serial;
	rec.serial_len = 2;
	rec.cert_der = cert;
	rec.cert_der_len = 2;
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(want));
	CU_ASSERT(len == sizeof(want) && memcmp(enc, want, len) == 0);

	CU_ASSERT_EQUAL_FATAL(journal_record_decode(want, sizeof(want), &dec), 0);
	for (i = 0; i < JOURNAL_HASH_LEN; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", dec->hash[i]);
	CU_ASSERT_STRING_EQUAL(hex, want_hash);
	CU_ASSERT_EQUAL(dec->time_ms, -1);
	CU_ASSERT_EQUAL(dec->seq, 0x0102030405060708ULL);
	journal_record_free(dec);
	free(enc);
}

static void
test_record_roundtrip(void)
{
	struct journal_record rec, *dec = NULL, *dec2 = NULL;
	uint8_t *enc = NULL, *enc2 = NULL, hash[JOURNAL_HASH_LEN];
	size_t len = 0, len2 = 0;
	struct tiss t;

	tiss_init(&t, 77, 1234);
	memset(&rec, 0, sizeof(rec));
	rec.version = JOURNAL_FORMAT_VERSION;
	rec.type = JOURNAL_REC_ISSUANCE;
	rec.seq = 42;
	rec.time_ms = -86400000LL;	/* before 1970 */
	memset(rec.prev_hash, 0x3c, JOURNAL_HASH_LEN);
	rec.client_subject = "CN=Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80,O=Example";
	memcpy(rec.client_spki_sha256, t.in.client_spki_sha256, JOURNAL_HASH_LEN);
	rec.profile = "server";
	memcpy(rec.csr_sha256, t.in.csr_sha256, JOURNAL_HASH_LEN);
	rec.serial = t.serial;
	rec.serial_len = sizeof(t.serial);
	rec.cert_der = t.cert;
	rec.cert_der_len = 1234;

	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	CU_ASSERT_EQUAL(dec->version, 1);
	CU_ASSERT_EQUAL(dec->type, JOURNAL_REC_ISSUANCE);
	CU_ASSERT_EQUAL(dec->seq, 42);
	CU_ASSERT_EQUAL(dec->time_ms, -86400000LL);
	CU_ASSERT(memcmp(dec->prev_hash, rec.prev_hash, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(dec->client_subject, rec.client_subject);
	CU_ASSERT(memcmp(dec->client_spki_sha256, rec.client_spki_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(dec->profile, "server");
	CU_ASSERT(memcmp(dec->csr_sha256, rec.csr_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_EQUAL(dec->serial_len, sizeof(t.serial));
	CU_ASSERT(memcmp(dec->serial, t.serial, sizeof(t.serial)) == 0);
	CU_ASSERT_EQUAL(dec->cert_der_len, 1234);
	CU_ASSERT(memcmp(dec->cert_der, t.cert, 1234) == 0);
	sha256(enc, len, hash);
	CU_ASSERT(memcmp(dec->hash, hash, JOURNAL_HASH_LEN) == 0);

	/* Deterministic: the decoded record encodes to the same bytes. */
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(dec, &enc2, &len2), 0);
	CU_ASSERT(len2 == len && memcmp(enc, enc2, len) == 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc2, len2, &dec2), 0);
	CU_ASSERT(memcmp(dec2->hash, dec->hash, JOURNAL_HASH_LEN) == 0);

	journal_record_free(dec);
	journal_record_free(dec2);
	journal_record_free(NULL);
	free(enc);
	free(enc2);
	tiss_free(&t);
}

/* A valid record and the offsets of its fields' length prefixes. */
struct sample {
	uint8_t *buf;
	size_t len;
	size_t off[6];	/* subject, spki, profile, csr, serial, cert */
};

static void
sample_new(struct sample *s)
{
	struct journal_record rec;
	uint8_t serial[3] = { 0x7f, 0x01, 0x02 }, cert[100];

	memset(cert, 0x30, sizeof(cert));
	memset(&rec, 0, sizeof(rec));
	rec.version = 1;
	rec.type = 1;
	rec.seq = 5;
	rec.time_ms = 1700000000000LL;
	rec.client_subject = "CN=sample";
	rec.profile = "server";
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	rec.cert_der = cert;
	rec.cert_der_len = sizeof(cert);
	if (journal_record_encode(&rec, &s->buf, &s->len) != 0)
		abort();
	s->off[0] = 54;
	s->off[1] = s->off[0] + 4 + strlen(rec.client_subject);
	s->off[2] = s->off[1] + 4 + 32;
	s->off[3] = s->off[2] + 4 + strlen(rec.profile);
	s->off[4] = s->off[3] + 4 + 32;
	s->off[5] = s->off[4] + 4 + sizeof(serial);
	if (s->off[5] + 4 + sizeof(cert) != s->len)
		abort();
}

/* Decode s with the byte at off set to val (or its 4-byte length at off set to val). */
static int
decode_mutated(const struct sample *s, size_t off, uint32_t val, bool len32, size_t extra)
{
	struct journal_record *rec = (struct journal_record *)1;
	uint8_t *b;
	int rc;

	if ((b = calloc(1, s->len + extra)) == NULL)
		abort();
	memcpy(b, s->buf, s->len);
	if (len32)
		be32_put(b + off, val);
	else
		b[off] = (uint8_t)val;
	rc = journal_record_decode(b, s->len + extra, &rec);
	CU_ASSERT_PTR_NULL(rec);
	free(b);
	return rc;
}

static void
test_record_decode_rejects(void)
{
	struct journal_record *rec = NULL;
	struct sample s;
	size_t n;
	int bad = 0;

	sample_new(&s);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(s.buf, s.len, &rec), 0);
	journal_record_free(rec);
	rec = NULL;

	/* Every truncation, from empty to one byte short. */
	for (n = 0; n < s.len; n++) {
		if (journal_record_decode(s.buf, n, &rec) != SD_E_JOURNAL_CORRUPT || rec != NULL)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(journal_record_decode(NULL, 0, &rec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(journal_record_decode(s.buf, 53, &rec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "shorter than the 54-byte header"));

	CU_ASSERT_EQUAL(decode_mutated(&s, 0, 'X', false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "bad magic"));
	CU_ASSERT_EQUAL(decode_mutated(&s, 3, 'r', false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, 4, 2, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "unknown format version 2"));
	CU_ASSERT_EQUAL(decode_mutated(&s, 4, 0, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, 0, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "unknown type 0"));
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, JOURNAL_REC_TYPE_MAX + 1, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "unknown type 15"));
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, JOURNAL_REC_CRL, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, JOURNAL_REC_ACME, false, 0), SD_E_JOURNAL_CORRUPT);
	/* Nor do they make a revocation. */
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, JOURNAL_REC_REVOCATION, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, 8, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "type 8 (configuration reload) is reserved"));
	/* An issuance record's fields do not make an intent. */
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, 2, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, 13, 0, false, 0), SD_E_JOURNAL_CORRUPT);	/* seq 0 */
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "seq 0"));

	/* Each length below, above and past the end. */
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[0], 0, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 5: client_subject is 0 bytes, must be 1..4096"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[0], JOURNAL_TEXT_MAX + 1, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "client_subject is 4097 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[1], 31, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "client_spki_sha256 is 31 bytes, must be 32"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[1], 33, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[2], 0, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "profile is 0 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[2], JOURNAL_TEXT_MAX + 1, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[3], 0, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "csr_sha256 is 0 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[4], 0, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "serial is 0 bytes, must be 1..20"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[4], JOURNAL_SERIAL_MAX + 1, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[5], 0, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "cert_der is 0 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[5], JOURNAL_CERT_MAX + 1, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "cert_der is 65537 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[5], 0xffffffffu, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[5], 101, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "cert_der of 101 bytes runs past the end (100 left)"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[0], 1000, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "runs past the end"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[4], 200, true, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "serial is 200 bytes"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[4], 20, true, 0), SD_E_JOURNAL_CORRUPT);	/* shifts the rest */

	/* Text: NUL inside, invalid UTF-8. */
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[0] + 4 + 2, 0, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "client_subject contains a NUL byte at offset 2"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[2] + 4 + 5, 0, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "profile contains a NUL byte at offset 5"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[0] + 4 + 3, 0xff, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "client_subject is not valid UTF-8 at offset 3"));
	CU_ASSERT_EQUAL(decode_mutated(&s, s.off[2] + 4 + 5, 0xc3, false, 0), SD_E_JOURNAL_CORRUPT);	/* truncated sequence */

	/* One trailing byte. */
	CU_ASSERT_EQUAL(decode_mutated(&s, s.len, 0, false, 1), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "1 trailing bytes"));

	free(s.buf);
}

static void
test_record_utf8(void)
{
	static const char *const bad[] = {
		"\xc0\x80",		/* overlong NUL */
		"\xe0\x80\xaf",		/* overlong '/' */
		"\xed\xa0\x80",		/* surrogate U+D800 */
		"\xf4\x90\x80\x80",	/* above U+10FFFF */
		"\x80",			/* lone continuation */
		"\xe6\x97",		/* truncated */
		"\xf8\x88\x80\x80\x80",	/* 5-byte form */
	};
	struct journal_record rec;
	uint8_t *enc = NULL, serial = 1, cert = 0x30;
	size_t len, i;

	memset(&rec, 0, sizeof(rec));
	rec.version = 1;
	rec.type = 1;
	rec.seq = 1;
	rec.profile = "p";
	rec.serial = &serial;
	rec.serial_len = 1;
	rec.cert_der = &cert;
	rec.cert_der_len = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rec.client_subject = (char *)bad[i];
		CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
		CU_ASSERT_PTR_NULL(enc);
	}
	rec.client_subject = "\xf4\x8f\xbf\xbf \xef\xbf\xbd \xc2\x80";	/* U+10FFFF, U+FFFD, U+0080 */
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0);
	free(enc);
}

static void
test_record_encode_rejects(void)
{
	struct journal_record rec, base;
	char *big_text;
	uint8_t *enc = NULL, *big, serial[JOURNAL_SERIAL_MAX + 1];
	size_t len = 7;

	if ((big_text = malloc(JOURNAL_TEXT_MAX + 2)) == NULL || (big = calloc(1, JOURNAL_CERT_MAX + 1)) == NULL)
		abort();
	memset(big_text, 'a', JOURNAL_TEXT_MAX + 1);
	big_text[JOURNAL_TEXT_MAX + 1] = '\0';
	memset(serial, 1, sizeof(serial));
	memset(&base, 0, sizeof(base));
	base.version = 1;
	base.type = 1;
	base.seq = 1;
	base.client_subject = "CN=x";
	base.profile = "p";
	base.serial = serial;
	base.serial_len = 1;
	base.cert_der = big;
	base.cert_der_len = 1;

#define ENC_REJECT(field, value) do { \
		rec = base; \
		rec.field = value; \
		CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL); \
		CU_ASSERT_PTR_NULL(enc); \
		CU_ASSERT_EQUAL(len, 0); \
	} while (0)
#define ENC_ACCEPT(field, value) do { \
		rec = base; \
		rec.field = value; \
		CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0); \
		free(enc); \
		enc = NULL; \
	} while (0)

	ENC_ACCEPT(seq, 1);
	ENC_REJECT(client_subject, big_text);
	CU_ASSERT(detail_has(SD_E_INVAL, "client_subject is 4097 bytes"));
	ENC_ACCEPT(client_subject, big_text + 1);	/* exactly 4096 */
	ENC_REJECT(client_subject, "");
	ENC_REJECT(client_subject, NULL);
	ENC_REJECT(profile, big_text);
	ENC_REJECT(profile, "");
	ENC_REJECT(serial_len, JOURNAL_SERIAL_MAX + 1);
	CU_ASSERT(detail_has(SD_E_INVAL, "serial is 21 bytes, must be 1..20"));
	ENC_ACCEPT(serial_len, JOURNAL_SERIAL_MAX);
	ENC_REJECT(serial_len, 0);
	ENC_REJECT(serial, NULL);
	ENC_REJECT(cert_der_len, JOURNAL_CERT_MAX + 1);
	ENC_ACCEPT(cert_der_len, JOURNAL_CERT_MAX);
	ENC_REJECT(cert_der_len, 0);
	ENC_REJECT(cert_der, NULL);
	ENC_REJECT(version, 2);
	ENC_REJECT(type, 11);
	ENC_REJECT(type, JOURNAL_REC_RELOAD);
	ENC_REJECT(seq, 0);
	CU_ASSERT_EQUAL(journal_record_encode(NULL, &enc, &len), SD_E_INVAL);
#undef ENC_REJECT
#undef ENC_ACCEPT
	free(big_text);
	free(big);
}

/* A revocation record of the given reason, borrowing serial. */
static void
revocation_init(struct journal_record *rec, uint8_t *serial, size_t serial_len, uint8_t reason)
{
	memset(rec, 0, sizeof(*rec));
	rec->version = JOURNAL_FORMAT_VERSION;
	rec->type = JOURNAL_REC_REVOCATION;
	rec->seq = 9;
	rec->time_ms = 1800000000123LL;
	memset(rec->prev_hash, 0x5e, JOURNAL_HASH_LEN);
	rec->serial = serial;
	rec->serial_len = serial_len;
	rec->revocation_reason = reason;
	rec->client_subject = "CN=admin,O=Example";
	memset(rec->client_spki_sha256, 0x44, JOURNAL_HASH_LEN);
	rec->detail = "key left on a laptop";
}

static void
test_record_revocation(void)
{
	static const uint8_t head[] = { 'S', 'D', 'J', 'R', 1, 10 };
	struct journal_record rec, *dec = NULL;
	uint8_t serial[JOURNAL_SERIAL_MAX + 1] = { 0x01, 0x02, 0x03 }, *enc = NULL, *enc2 = NULL;
	char big[514];
	size_t len = 0, len2 = 0, off;
	unsigned r;

	revocation_init(&rec, serial, 3, JOURNAL_CRL_KEY_COMPROMISE);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	/* The layout README gives: header, then serial, reason, client_subject, client_spki_sha256, detail. */
	CU_ASSERT_EQUAL_FATAL(len, 54 + 4 + 3 + 4 + 1 + 4 + strlen(rec.client_subject) + 4 + 32 + 4 +
	    strlen(rec.detail));
	CU_ASSERT(memcmp(enc, head, sizeof(head)) == 0);
	CU_ASSERT(memcmp(enc + 54, "\0\0\0\3\x01\x02\x03\0\0\0\1\x01", 12) == 0);
	off = 54 + 12;
	CU_ASSERT(enc[off + 3] == strlen(rec.client_subject));
	CU_ASSERT(memcmp(enc + off + 4, rec.client_subject, strlen(rec.client_subject)) == 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	CU_ASSERT_EQUAL(dec->type, JOURNAL_REC_REVOCATION);
	CU_ASSERT_EQUAL(dec->seq, 9);
	CU_ASSERT_EQUAL(dec->time_ms, 1800000000123LL);
	CU_ASSERT(dec->serial_len == 3 && memcmp(dec->serial, serial, 3) == 0);
	CU_ASSERT_EQUAL(dec->revocation_reason, JOURNAL_CRL_KEY_COMPROMISE);
	CU_ASSERT_STRING_EQUAL(dec->client_subject, "CN=admin,O=Example");
	CU_ASSERT(memcmp(dec->client_spki_sha256, rec.client_spki_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(dec->detail, "key left on a laptop");
	CU_ASSERT_STRING_EQUAL(journal_record_type_name(JOURNAL_REC_REVOCATION), "revocation");
	/* Deterministic. */
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(dec, &enc2, &len2), 0);
	CU_ASSERT(len2 == len && memcmp(enc, enc2, len) == 0);
	journal_record_free(dec);
	dec = NULL;
	free(enc2);
	enc2 = NULL;

	/* The decoder holds the reason to RFC 5280 too. */
	enc[54 + 11] = 7;
	CU_ASSERT_EQUAL(journal_record_decode(enc, len, &dec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 9: reason 7 is not an assigned value"));
	enc[54 + 11] = 11;
	CU_ASSERT_EQUAL(journal_record_decode(enc, len, &dec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "reason is 11, must be 0..10"));
	CU_ASSERT_PTR_NULL(dec);
	free(enc);
	enc = NULL;

	/* Every assigned code is accepted, 7 and anything above 10 refused. */
	for (r = 0; r <= 255; r++) {
		revocation_init(&rec, serial, 3, (uint8_t)r);
		if (r <= 10 && r != 7) {
			CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0);
			CU_ASSERT_PTR_NOT_NULL(journal_crl_reason_name((uint8_t)r));
		} else {
			CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
			CU_ASSERT_PTR_NULL(journal_crl_reason_name((uint8_t)r));
		}
		free(enc);
		enc = NULL;
	}
	revocation_init(&rec, serial, 3, 7);
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "revocation: reason 7 is not an assigned value"));
	CU_ASSERT_STRING_EQUAL(journal_crl_reason_name(JOURNAL_CRL_AA_COMPROMISE), "aACompromise");

	/* Limits: serial 1..20, subject 1..4096, detail 0..512. */
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	revocation_init(&rec, serial, JOURNAL_SERIAL_MAX + 1, 0);
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "serial is 21 bytes, must be 1..20"));
	revocation_init(&rec, serial, JOURNAL_SERIAL_MAX, 0);
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0);
	free(enc);
	enc = NULL;
	revocation_init(&rec, serial, 0, 0);
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	revocation_init(&rec, serial, 3, 0);
	rec.client_subject = "";
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	rec.client_subject = NULL;
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	revocation_init(&rec, serial, 3, 0);
	rec.detail = big;
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "detail is 513 bytes, must be 0..512"));
	rec.detail = big + 1;
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0);
	free(enc);
	enc = NULL;
	rec.detail = NULL;	/* no detail: an empty field */
	CU_ASSERT_EQUAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	CU_ASSERT_STRING_EQUAL(dec->detail, "");
	journal_record_free(dec);
	free(enc);
}

/* A CRL record: number 5, a delta of 3, a week, 2 entries. */
static void
crl_init(struct journal_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->version = JOURNAL_FORMAT_VERSION;
	rec->type = JOURNAL_REC_CRL;
	rec->seq = 12;
	rec->time_ms = 1800000000456LL;
	memset(rec->prev_hash, 0x6c, JOURNAL_HASH_LEN);
	rec->crl_number = 5;
	rec->crl_base_number = 3;
	rec->crl_this_update = 1800000000;
	rec->crl_next_update = 1800000000 + 7 * 86400;
	rec->crl_entries = 2;
	memset(rec->crl_sha256, 0xc7, JOURNAL_HASH_LEN);
}

/* rec must encode to SD_E_INVAL with needle in the detail. */
static void
crl_refused(const struct journal_record *rec, const char *needle)
{
	uint8_t *enc = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(journal_record_encode(rec, &enc, &len), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, needle));
	CU_ASSERT_PTR_NULL(enc);
}

/* Overwrite the 8-byte field value at off of enc with v, then decoding must fail naming needle. */
static void
crl_decode_refused(uint8_t *enc, size_t len, size_t off, uint64_t v, const char *needle)
{
	struct journal_record *dec = NULL;
	uint8_t save[8];

	memcpy(save, enc + off, 8);
	be64_put(enc + off, v);
	CU_ASSERT_EQUAL(journal_record_decode(enc, len, &dec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, needle));
	CU_ASSERT_PTR_NULL(dec);
	memcpy(enc + off, save, 8);
}

static void
test_record_crl(void)
{
	static const uint8_t head[] = { 'S', 'D', 'J', 'R', 1, 11 };
	static const uint8_t fields[] = {
		0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 5,
		0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3,
		0, 0, 0, 8, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0x00,
		0, 0, 0, 8, 0, 0, 0, 0, 0x6b, 0x53, 0x0c, 0x80,
		0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2,
		0, 0, 0, 32,
	};
	struct journal_record rec, *dec = NULL;
	uint8_t *enc = NULL, *enc2 = NULL;
	size_t len = 0, len2 = 0;

	crl_init(&rec);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	/* README's layout: header, then number, base_number, this_update, next_update, entries, sha256. */
	CU_ASSERT_EQUAL_FATAL(len, 54 + 5 * 12 + 4 + 32);
	CU_ASSERT(memcmp(enc, head, sizeof(head)) == 0);
	CU_ASSERT(memcmp(enc + 54, fields, sizeof(fields)) == 0);
	CU_ASSERT(enc[len - 1] == 0xc7 && enc[len - 32] == 0xc7);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	CU_ASSERT_EQUAL(dec->type, JOURNAL_REC_CRL);
	CU_ASSERT_EQUAL(dec->seq, 12);
	CU_ASSERT_EQUAL(dec->time_ms, 1800000000456LL);
	CU_ASSERT_EQUAL(dec->crl_number, 5);
	CU_ASSERT_EQUAL(dec->crl_base_number, 3);
	CU_ASSERT_EQUAL(dec->crl_this_update, 1800000000);
	CU_ASSERT_EQUAL(dec->crl_next_update, 1800000000 + 7 * 86400);
	CU_ASSERT_EQUAL(dec->crl_entries, 2);
	CU_ASSERT(memcmp(dec->crl_sha256, rec.crl_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(journal_record_type_name(JOURNAL_REC_CRL), "crl");
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(dec, &enc2, &len2), 0);
	CU_ASSERT(len2 == len && memcmp(enc, enc2, len) == 0);
	journal_record_free(dec);
	dec = NULL;
	free(enc2);
	enc2 = NULL;

	/* The decoder holds the same limits: number 0, base not below number, next not after this. */
	crl_decode_refused(enc, len, 54 + 4, 0, "record 12: number is 0, must be 1..");
	crl_decode_refused(enc, len, 54 + 16, 5, "record 12: base_number 5 is not below number 5");
	crl_decode_refused(enc, len, 54 + 16, 9, "base_number 9 is not below number 5");
	crl_decode_refused(enc, len, 54 + 40, 1800000000, "record 12: next_update 1800000000 is not after this_update");
	crl_decode_refused(enc, len, 54 + 40, (uint64_t)-1, "next_update -1 is not after this_update 1800000000");
	/* A truncated digest. */
	enc[54 + 60 + 3] = 31;
	CU_ASSERT_EQUAL(journal_record_decode(enc, len, &dec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "sha256 is 31 bytes, must be 32"));
	free(enc);
	enc = NULL;

	/* A complete CRL (base 0), times before 1970, a huge number: all fine. */
	crl_init(&rec);
	rec.crl_base_number = 0;
	rec.crl_this_update = -86400;
	rec.crl_next_update = -1;
	rec.crl_number = UINT64_MAX;
	rec.crl_entries = 0;
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	CU_ASSERT(dec->crl_this_update == -86400 && dec->crl_next_update == -1 && dec->crl_number == UINT64_MAX);
	journal_record_free(dec);
	free(enc);
	enc = NULL;

	crl_init(&rec);
	rec.crl_number = 0;
	rec.crl_base_number = 0;
	crl_refused(&rec, "crl: number is 0, must be 1..");
	crl_init(&rec);
	rec.crl_base_number = 5;
	crl_refused(&rec, "crl: base_number 5 is not below number 5");
	crl_init(&rec);
	rec.crl_next_update = rec.crl_this_update;
	crl_refused(&rec, "crl: next_update 1800000000 is not after this_update 1800000000");
	rec.crl_next_update = rec.crl_this_update - 1;
	crl_refused(&rec, "is not after this_update");
}

int
main(void)
{
	static const struct sd_test_case record[] = {
		{ "golden vector", test_record_golden },
		{ "round trip of every field", test_record_roundtrip },
		{ "decode rejects malformed records", test_record_decode_rejects },
		{ "text must be strict UTF-8", test_record_utf8 },
		{ "encode rejects fields over limits", test_record_encode_rejects },
		{ "revocation: layout, round trip, reason codes and limits", test_record_revocation },
		{ "crl: layout, round trip and limits on both sides", test_record_crl },
	};

	SD_TEST_SUITE("journal_record", record);
	return sd_test_run("test_journal_record");
}
