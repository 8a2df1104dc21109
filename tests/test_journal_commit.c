/*
 * Journal tests: the record byte format, and the LMDB store on real
 * environments in temp dirs. Tampering goes straight through lmdb.h on a
 * copy of a journal, as an attacker with file access would.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "journal/merkle.h"
#include "sd_test.h"

#define MAP_DEFAULT ((uint64_t)64 * 1024 * 1024)
#define FIXTURE_RECORDS 100

/* One issuance with storage for its fields, filled from an id. */
struct tiss {
	struct journal_issuance in;
	char subject[64];
	char profile[16];
	uint8_t serial[8];
	uint8_t *cert;
};

static void
be64_put(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t
be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

static void
be32_put(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

static void
tiss_init(struct tiss *t, uint64_t id, size_t cert_len)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	if (snprintf(t->subject, sizeof(t->subject), "CN=client-%llu,O=Example", (unsigned long long)id) < 0)
		abort();
	if (snprintf(t->profile, sizeof(t->profile), "server") < 0)
		abort();
	be64_put(t->serial, id);
	if ((t->cert = malloc(cert_len)) == NULL)
		abort();
	for (i = 0; i < cert_len; i++)
		t->cert[i] = (uint8_t)(id * 31 + i);
	t->in.time_ms = 1700000000000LL + (int64_t)id;
	t->in.client_subject = t->subject;
	memset(t->in.client_spki_sha256, (int)(id & 0xff), JOURNAL_HASH_LEN);
	t->in.profile = t->profile;
	memset(t->in.csr_sha256, (int)((id ^ 0x5a) & 0xff), JOURNAL_HASH_LEN);
	t->in.serial = t->serial;
	t->in.serial_len = sizeof(t->serial);
	t->in.cert_der = t->cert;
	t->in.cert_der_len = cert_len;
}

static void
tiss_free(struct tiss *t)
{
	free(t->cert);
	t->cert = NULL;
}

static void
sha256(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	if (EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL) != 1)
		abort();
}

static bool
detail_has(int err, const char *needle)
{
	const char *d = sd_error_detail(err);

	if (strstr(d, needle) != NULL)
		return true;
	fprintf(stderr, "\n    detail \"%s\" lacks \"%s\"\n", d, needle);
	return false;
}

/* Append ids first..first+n-1; each must get the next seq. */
static void
append_n(struct journal *j, uint64_t first, size_t n, size_t cert_len)
{
	struct tiss t;
	uint64_t seq, last;
	size_t i;

	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL_FATAL(journal_last_seq(j, &last), 0);
		tiss_init(&t, first + i, cert_len);
		CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &t.in, &seq), 0);
		CU_ASSERT_EQUAL_FATAL(seq, last + 1);
		tiss_free(&t);
	}
}

static void
expect_verify(struct journal *j, uint64_t want_count)
{
	uint64_t count = 99, bad = 99;
	int rc;

	rc = journal_verify(j, &count, &bad);
	if (rc != 0)
		fprintf(stderr, "\n    verify: %s\n", sd_error_detail(rc));
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(count, want_count);
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---- record format ---- */

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
		snprintf(hex + 2 * i, 3, "%02x", dec->hash[i]);
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
	CU_ASSERT_EQUAL(decode_mutated(&s, 5, 10, false, 0), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "unknown type 10"));
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
	ENC_REJECT(type, 10);
	ENC_REJECT(type, JOURNAL_REC_RELOAD);
	ENC_REJECT(seq, 0);
	CU_ASSERT_EQUAL(journal_record_encode(NULL, &enc, &len), SD_E_INVAL);
#undef ENC_REJECT
#undef ENC_ACCEPT
	free(big_text);
	free(big);
}

/* ---- store ---- */

static void
test_store_append_verify(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct journal *j = NULL;
	struct stat st;
	uint64_t last = 7;

	sd_test_tmpdir(dir, "journal");
	if (snprintf(path, sizeof(path), "%s/j", dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(journal_open(path, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 0);
	expect_verify(j, 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	append_n(j, 1, 100, 500);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 100);
	expect_verify(j, 100);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	journal_close(j);

	/* Directory 0700, data file 0600. */
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	if (snprintf(path, sizeof(path), "%s/j/data.mdb", dir) < 0)
		abort();
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	sd_test_rmtree(dir);
}

static void
test_store_chain(void)
{
	struct journal_record *rec = NULL, *prev = NULL;
	uint8_t zero[JOURNAL_HASH_LEN] = { 0 };
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t n;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1000, 20, 300);
	for (n = 1; n <= 20; n++) {
		CU_ASSERT_EQUAL_FATAL(journal_get(j, n, &rec), 0);
		CU_ASSERT_EQUAL(rec->seq, n);
		CU_ASSERT(memcmp(rec->prev_hash, prev != NULL ? prev->hash : zero, JOURNAL_HASH_LEN) == 0);
		/* Every field as appended. */
		tiss_init(&t, 1000 + n - 1, 300);
		CU_ASSERT_EQUAL(rec->time_ms, t.in.time_ms);
		CU_ASSERT_STRING_EQUAL(rec->client_subject, t.subject);
		CU_ASSERT_STRING_EQUAL(rec->profile, t.profile);
		CU_ASSERT(memcmp(rec->client_spki_sha256, t.in.client_spki_sha256, JOURNAL_HASH_LEN) == 0);
		CU_ASSERT(memcmp(rec->csr_sha256, t.in.csr_sha256, JOURNAL_HASH_LEN) == 0);
		CU_ASSERT(rec->serial_len == 8 && memcmp(rec->serial, t.serial, 8) == 0);
		CU_ASSERT(rec->cert_der_len == 300 && memcmp(rec->cert_der, t.cert, 300) == 0);
		tiss_free(&t);
		journal_record_free(prev);
		prev = rec;
		rec = NULL;
	}
	journal_record_free(prev);
	CU_ASSERT_EQUAL(journal_get(j, 0, &rec), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(journal_get(j, 21, &rec), SD_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(rec);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The stored bytes are exactly the documented encoding, keyed by BE seq. */
static void
test_store_on_disk(void)
{
	struct journal_record *rec = NULL;
	struct journal *j = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi recs, sers;
	MDB_val k, v;
	uint8_t key[8], *enc = NULL, hash[JOURNAL_HASH_LEN];
	char dir[PATH_MAX];
	size_t len;
	uint64_t n;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 5, 64);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 3, &rec), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(rec, &enc, &len), 0);
	journal_close(j);

	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_set_maxdbs(env, 8), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "records", 0, &recs), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "serials", 0, &sers), 0);
	be64_put(key, 3);
	k.mv_size = 8;
	k.mv_data = key;
	CU_ASSERT_EQUAL_FATAL(mdb_get(txn, recs, &k, &v), 0);
	CU_ASSERT(v.mv_size == len && memcmp(v.mv_data, enc, len) == 0);
	sha256(v.mv_data, v.mv_size, hash);
	CU_ASSERT(memcmp(hash, rec->hash, JOURNAL_HASH_LEN) == 0);
	for (n = 1; n <= 5; n++) {
		be64_put(key, n);	/* serials were the ids 1..5 */
		CU_ASSERT_EQUAL(mdb_get(txn, sers, &k, &v), 0);
		CU_ASSERT(v.mv_size == 8 && be64_get(v.mv_data) == n);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	journal_record_free(rec);
	free(enc);
	sd_test_rmtree(dir);
}

static void
test_store_reopen(void)
{
	struct journal_record *r100 = NULL, *r101 = NULL;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t last = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 100, 200);
	journal_close(j);
	j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 100);
	append_n(j, 101, 5, 200);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 100, &r100), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 101, &r101), 0);
	CU_ASSERT(memcmp(r101->prev_hash, r100->hash, JOURNAL_HASH_LEN) == 0);
	expect_verify(j, 105);
	journal_close(j);
	j = NULL;

	/* A different map size on reopen keeps the data. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, 2 * MAP_DEFAULT, &j), 0);
	expect_verify(j, 105);
	journal_close(j);
	journal_record_free(r100);
	journal_record_free(r101);
	sd_test_rmtree(dir);
}

struct visit {
	uint64_t seen[128];
	size_t n;
	uint64_t stop_at;
};

static int
visit_fn(const struct journal_record *rec, void *ctx)
{
	struct visit *v = ctx;

	if (v->n < 128)
		v->seen[v->n++] = rec->seq;
	return rec->seq == v->stop_at ? 7 : 0;
}

static void
test_store_foreach(void)
{
	struct journal *j = NULL;
	struct visit v;
	char dir[PATH_MAX];
	size_t i;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 60, 100);
	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(journal_foreach(j, 40, visit_fn, &v), 0);
	CU_ASSERT_EQUAL(v.n, 21);
	for (i = 0; i < v.n; i++)
		CU_ASSERT_EQUAL(v.seen[i], 40 + i);
	memset(&v, 0, sizeof(v));
	v.stop_at = 45;
	CU_ASSERT_EQUAL(journal_foreach(j, 0, visit_fn, &v), 7);
	CU_ASSERT_EQUAL(v.n, 45);
	memset(&v, 0, sizeof(v));
	CU_ASSERT_EQUAL(journal_foreach(j, 61, visit_fn, &v), 0);
	CU_ASSERT_EQUAL(v.n, 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_duplicate_serial(void)
{
	struct journal_record *r1 = NULL, *r2 = NULL;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss a, b;
	uint64_t seq = 9, last;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	tiss_init(&a, 5, 100);
	tiss_init(&b, 6, 100);
	memcpy(b.serial, a.serial, sizeof(a.serial));
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &a.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &b.in, &seq), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "serial 0000000000000005 is already journaled (record 1)"));
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 1);
	CU_ASSERT_EQUAL(journal_get(j, 2, &r2), SD_E_NOT_FOUND);
	expect_verify(j, 1);

	/* The refused append left the chain where it was. */
	b.serial[7] = 0x66;
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, &b.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 1, &r1), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 2, &r2), 0);
	CU_ASSERT(memcmp(r2->prev_hash, r1->hash, JOURNAL_HASH_LEN) == 0);
	expect_verify(j, 2);
	journal_record_free(r1);
	journal_record_free(r2);
	tiss_free(&a);
	tiss_free(&b);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_inval(void)
{
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq = 3, last;
	char big[JOURNAL_TEXT_MAX + 2];

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 3, 100);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	tiss_init(&t, 50, JOURNAL_CERT_MAX + 1);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "cert_der is 65537 bytes"));
	CU_ASSERT_EQUAL(seq, 0);
	t.in.cert_der_len = 100;
	t.in.serial_len = JOURNAL_SERIAL_MAX + 1;
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.serial_len = 8;
	t.in.client_subject = big;
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.client_subject = t.subject;
	t.in.profile = "";
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_INVAL);
	t.in.profile = t.profile;
	CU_ASSERT_EQUAL(journal_append_issuance(j, NULL, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, NULL), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), 0);
	CU_ASSERT_EQUAL(seq, 4);
	expect_verify(j, 4);
	tiss_free(&t);
	journal_close(j);
	journal_close(NULL);
	sd_test_rmtree(dir);
}

static void
test_store_open_errors(void)
{
	struct journal *j = (struct journal *)1;
	char dir[PATH_MAX], path[PATH_MAX + 16], file[PATH_MAX];
	uint64_t last = 0, count, bad;

	sd_test_tmpdir(dir, "journal");
	if (snprintf(path, sizeof(path), "%s/missing", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(journal_open_readonly(path, &j), SD_E_JOURNAL);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT(detail_has(SD_E_JOURNAL, "No such file or directory"));
	/* An existing directory without a journal: not created by a reader. */
	CU_ASSERT_EQUAL(journal_open_readonly(dir, &j), SD_E_JOURNAL);
	CU_ASSERT_PTR_NULL(j);
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) < 0)
		abort();
	CU_ASSERT(access(path, F_OK) != 0);
	/* Parent missing, path a file, map size 0. */
	if (snprintf(path, sizeof(path), "%s/no/such", dir) < 0)
		abort();
	CU_ASSERT_EQUAL(journal_open(path, MAP_DEFAULT, &j), SD_E_JOURNAL);
	sd_test_write(dir, "plain", "x", 0600, file);
	CU_ASSERT_EQUAL(journal_open(file, MAP_DEFAULT, &j), SD_E_JOURNAL);
	CU_ASSERT(detail_has(SD_E_JOURNAL, "is not a directory"));
	CU_ASSERT_EQUAL(journal_open(dir, 0, &j), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_open(NULL, MAP_DEFAULT, &j), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(j);

	/* A reader of a real journal sees it but cannot write. */
	if (snprintf(path, sizeof(path), "%s/j", dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(journal_open(path, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 3, 100);
	journal_close(j);
	j = NULL;
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(path, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL(journal_verify(j, &count, &bad), 0);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL);
	{
		struct tiss t;
		uint64_t seq = 1;

		tiss_init(&t, 9, 10);
		CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_JOURNAL);
		CU_ASSERT(detail_has(SD_E_JOURNAL, "read-only"));
		CU_ASSERT_EQUAL(seq, 0);
		tiss_free(&t);
	}
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_store_full(void)
{
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq, last = 0, n = 0, i;
	const uint64_t tiny = 256 * 1024;
	int rc = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, tiny, &j), 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	for (i = 1; i <= 200; i++) {
		tiss_init(&t, i, 10 * 1024);
		rc = journal_append_issuance(j, &t.in, &seq);
		tiss_free(&t);
		if (rc != 0)
			break;
		CU_ASSERT_EQUAL(seq, i);
		n = seq;
	}
	CU_ASSERT_EQUAL_FATAL(rc, SD_E_JOURNAL_FULL);
	CU_ASSERT(detail_has(rc, "journal map of 262144 bytes is full"));
	CU_ASSERT(n >= 3);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, n);
	/* Still full, still nothing written, and the health check says so. */
	tiss_init(&t, 500, 10 * 1024);
	CU_ASSERT_EQUAL(journal_append_issuance(j, &t.in, &seq), SD_E_JOURNAL_FULL);
	tiss_free(&t);
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL_FULL);
	expect_verify(j, n);
	journal_close(j);
	j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open(dir, tiny, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, n);
	expect_verify(j, n);
	journal_close(j);
	j = NULL;

	/* A larger map takes more records on the same chain. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_health(j), 0);
	append_n(j, 1000, 3, 10 * 1024);
	expect_verify(j, n + 3);
	journal_close(j);
	sd_test_rmtree(dir);
}

#define THREADS 4
#define PER_THREAD 250

struct worker {
	struct journal *j;
	unsigned id;
	uint64_t seqs[PER_THREAD];
	int failures;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct tiss t;
	size_t i;

	for (i = 0; i < PER_THREAD; i++) {
		tiss_init(&t, (uint64_t)(w->id + 1) << 32 | i, 200 + i);
		if (journal_append_issuance(w->j, &t.in, &w->seqs[i]) != 0)
			w->failures++;
		tiss_free(&t);
	}
	return NULL;
}

static void
test_store_threads(void)
{
	static struct worker w[THREADS];
	static bool seen[THREADS * PER_THREAD + 1];
	pthread_t tid[THREADS];
	struct journal *j = NULL;
	char dir[PATH_MAX];
	unsigned i;
	size_t k;
	int dup = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].j = j;
		w[i].id = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(w[i].failures, 0);
		for (k = 0; k < PER_THREAD; k++) {
			uint64_t s = w[i].seqs[k];

			if (s == 0 || s > THREADS * PER_THREAD || seen[s])
				dup++;
			else
				seen[s] = true;
			/* Each thread's own appends are ordered. */
			if (k > 0 && s <= w[i].seqs[k - 1])
				dup++;
		}
	}
	CU_ASSERT_EQUAL(dup, 0);
	expect_verify(j, THREADS * PER_THREAD);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* ---- tampering ---- */

static char fixture_dir[PATH_MAX];

/* A 100-record journal, built once; tests tamper with copies of it. */
static const char *
fixture(void)
{
	struct journal *j = NULL;

	if (fixture_dir[0] != '\0')
		return fixture_dir;
	sd_test_tmpdir(fixture_dir, "journal-fixture");
	if (journal_open(fixture_dir, MAP_DEFAULT, &j) != 0)
		abort();
	append_n(j, 1, FIXTURE_RECORDS, 300);
	journal_close(j);
	return fixture_dir;
}

/* Copy the fixture to a new dir and open the copy for writing with lmdb.h. */
struct raw {
	char dir[PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi recs;
	MDB_dbi sers;
};

static void
raw_copy_open(struct raw *r)
{
	MDB_env *src = NULL;

	memset(r, 0, sizeof(*r));
	sd_test_tmpdir(r->dir, "journal-tamper");
	if (mdb_env_create(&src) != 0 || mdb_env_set_maxdbs(src, 8) != 0 ||
	    mdb_env_open(src, fixture(), MDB_RDONLY, 0600) != 0 || mdb_env_copy(src, r->dir) != 0)
		abort();
	mdb_env_close(src);
	if (mdb_env_create(&r->env) != 0 || mdb_env_set_maxdbs(r->env, 8) != 0 ||
	    mdb_env_open(r->env, r->dir, 0, 0600) != 0 || mdb_txn_begin(r->env, NULL, 0, &r->txn) != 0 ||
	    mdb_dbi_open(r->txn, "records", 0, &r->recs) != 0 ||
	    mdb_dbi_open(r->txn, "serials", 0, &r->sers) != 0)
		abort();
}

static void
raw_commit(struct raw *r)
{
	if (mdb_txn_commit(r->txn) != 0)
		abort();
	mdb_env_close(r->env);
	r->txn = NULL;
	r->env = NULL;
}

/* A malloc'd copy of record seq's value. */
static uint8_t *
raw_get(struct raw *r, uint64_t seq, size_t *len)
{
	uint8_t key[8], *copy;
	MDB_val k = { 8, key }, v;

	be64_put(key, seq);
	if (mdb_get(r->txn, r->recs, &k, &v) != 0 || (copy = malloc(v.mv_size)) == NULL)
		abort();
	memcpy(copy, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return copy;
}

static void
raw_put(struct raw *r, uint64_t seq, const uint8_t *buf, size_t len)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v = { len, (void *)buf };

	be64_put(key, seq);
	if (mdb_put(r->txn, r->recs, &k, &v, 0) != 0)
		abort();
}

static void
raw_del(struct raw *r, uint64_t seq)
{
	uint8_t key[8];
	MDB_val k = { 8, key };

	be64_put(key, seq);
	if (mdb_del(r->txn, r->recs, &k, NULL) != 0)
		abort();
}

/* Open the tampered copy (reader or writer) and verify it. */
static int
raw_verify(struct raw *r, bool readonly, uint64_t *bad)
{
	struct journal *j = NULL;
	uint64_t count;
	int rc;

	if (readonly)
		rc = journal_open_readonly(r->dir, &j);
	else
		rc = journal_open(r->dir, MAP_DEFAULT, &j);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	rc = journal_verify(j, &count, bad);
	journal_close(j);
	return rc;
}

static void
test_tamper_flip(void)
{
	/* magic, seq, time_ms, prev_hash, subject text, last cert byte */
	static const long offsets[] = { 0, 13, 20, 30, 60, -1 };
	struct raw r;
	uint8_t *val;
	size_t len, i;
	uint64_t bad;
	int rc;

	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		raw_copy_open(&r);
		val = raw_get(&r, 50, &len);
		val[offsets[i] < 0 ? len - 1 : (size_t)offsets[i]] ^= 0x01;
		raw_put(&r, 50, val, len);
		raw_commit(&r);
		free(val);
		bad = 0;
		rc = raw_verify(&r, i % 2 == 0, &bad);
		CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
		if (bad != 50)
			fprintf(stderr, "\n    offset %ld: bad_seq %llu: %s\n", offsets[i],
			    (unsigned long long)bad, sd_error_detail(rc));
		CU_ASSERT_EQUAL(bad, 50);
		CU_ASSERT(detail_has(rc, "50"));
		sd_test_rmtree(r.dir);
	}
}

/* Next to the tail there is no record after to tell which of the two changed. */
static void
test_tamper_before_tail(void)
{
	struct raw r;
	uint8_t *val;
	size_t len;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	val = raw_get(&r, 99, &len);
	val[len - 1] ^= 0x01;
	raw_put(&r, 99, val, len);
	raw_commit(&r);
	free(val);
	rc = raw_verify(&r, true, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 99);
	CU_ASSERT(detail_has(rc, "record 99 or record 100 modified"));
	sd_test_rmtree(r.dir);
}

/* A deleted record is reported as missing at its own seq, 50 (not 51). */
static void
test_tamper_delete(void)
{
	struct raw r;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	raw_del(&r, 50);
	raw_commit(&r);
	rc = raw_verify(&r, true, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 50);
	CU_ASSERT(detail_has(rc, "record 50 is missing (next is record 51)"));
	sd_test_rmtree(r.dir);

	/* The first record too. */
	raw_copy_open(&r);
	raw_del(&r, 1);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 1);
	sd_test_rmtree(r.dir);
}

static void
test_tamper_swap(void)
{
	uint8_t *a, *b;
	size_t alen, blen;
	struct raw r;
	uint64_t bad = 0;
	int rc;

	raw_copy_open(&r);
	a = raw_get(&r, 30, &alen);
	b = raw_get(&r, 60, &blen);
	raw_put(&r, 30, b, blen);
	raw_put(&r, 60, a, alen);
	raw_commit(&r);
	free(a);
	free(b);
	rc = raw_verify(&r, false, &bad);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 30);
	CU_ASSERT(detail_has(rc, "under key 30 carries seq 60 (records reordered"));
	sd_test_rmtree(r.dir);
}

static void
test_tamper_serial_index(void)
{
	uint8_t key[8], val[8];
	MDB_val k = { 8, key }, v = { 8, val };
	struct raw r;
	uint64_t bad = 0;

	/* Entry removed. */
	raw_copy_open(&r);
	be64_put(key, 70);
	CU_ASSERT_EQUAL_FATAL(mdb_del(r.txn, r.sers, &k, NULL), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 70);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "serial 0000000000000046 of record 70 is missing"));
	sd_test_rmtree(r.dir);

	/* Entry pointing elsewhere. */
	raw_copy_open(&r);
	be64_put(key, 70);
	be64_put(val, 71);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 70);
	sd_test_rmtree(r.dir);

	/* A stray entry for a record that does not exist. */
	raw_copy_open(&r);
	be64_put(key, 5000);
	be64_put(val, 101);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 101);
	sd_test_rmtree(r.dir);

	/* A stray entry for a record that has another serial. */
	raw_copy_open(&r);
	be64_put(key, 5000);
	be64_put(val, 5);
	CU_ASSERT_EQUAL_FATAL(mdb_put(r.txn, r.sers, &k, &v, 0), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, false, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 5);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "which has another serial"));
	sd_test_rmtree(r.dir);
}

static void expect_open_corrupt(struct raw *r, const char *needle);

/*
 * Cutting off the tail (record and index entries) leaves a valid shorter
 * chain: the Merkle node index, and a checkpoint kept outside, reveal it.
 */
static void
test_tamper_truncate_tail(void)
{
	uint8_t key[8];
	MDB_val k = { 8, key };
	struct raw r;
	uint64_t bad = 0;

	raw_copy_open(&r);
	raw_del(&r, 100);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(bad, 100);	/* the serial index still names it */
	sd_test_rmtree(r.dir);

	/* Record and serial entry gone: the Merkle node index still reaches 100. */
	raw_copy_open(&r);
	raw_del(&r, 100);
	be64_put(key, 100);
	CU_ASSERT_EQUAL_FATAL(mdb_del(r.txn, r.sers, &k, NULL), 0);
	raw_commit(&r);
	CU_ASSERT_EQUAL(raw_verify(&r, true, &bad), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "Merkle node index holds"));
	expect_open_corrupt(&r, "Merkle nodes reach record 100 but the records end at 99");
}

static void
expect_open_corrupt(struct raw *r, const char *needle)
{
	struct journal *j = (struct journal *)1;
	int rc;

	rc = journal_open(r->dir, MAP_DEFAULT, &j);
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT(detail_has(rc, needle));
	/* An auditor can still open it and find the damage. */
	CU_ASSERT_EQUAL(journal_open_readonly(r->dir, &j), 0);
	journal_close(j);
	sd_test_rmtree(r->dir);
}

static void
test_tamper_tail_open(void)
{
	uint8_t *val;
	size_t len;
	struct raw r;

	/* Truncated tail value. */
	raw_copy_open(&r);
	val = raw_get(&r, 100, &len);
	raw_put(&r, 100, val, len - 1);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record 100 is undecodable");

	/* Tail prev_hash altered. */
	raw_copy_open(&r);
	val = raw_get(&r, 100, &len);
	val[40] ^= 0x80;
	raw_put(&r, 100, val, len);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record 100 does not chain to record 99");

	/* Record before the tail gone. */
	raw_copy_open(&r);
	raw_del(&r, 99);
	raw_commit(&r);
	expect_open_corrupt(&r, "record 99 before tail record 100 is missing");

	/* A copy of record 99 appended under key 101. */
	raw_copy_open(&r);
	val = raw_get(&r, 99, &len);
	raw_put(&r, 101, val, len);
	raw_commit(&r);
	free(val);
	expect_open_corrupt(&r, "tail record stored under key 101 carries seq 99");
}

/* ---- event records, checkpoints, proofs, group commit, map growth ---- */

struct tkey {
	EVP_PKEY *pkey;
	struct journal_audit_key ak;
	uint8_t id[4];
};

static void
tkey_init(struct tkey *k)
{
	size_t len = 32;

	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k->pkey);
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(k->pkey, k->ak.ed25519, &len) == 1);
	k->ak.name = "test.signerd/journal";
	CU_ASSERT_EQUAL_FATAL(checkpoint_key_id(k->ak.name, k->ak.ed25519, k->id), 0);
}

static int
tkey_sign(void *ctx, uint64_t size, const uint8_t root[32], int64_t time_ms, char **note)
{
	struct tkey *k = ctx;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sig[64];
	char body[CHECKPOINT_NOTE_MAX];
	size_t body_len = 0, sig_len = sizeof(sig);
	int rc;

	if ((rc = checkpoint_body(k->ak.name, size, root, time_ms, body, sizeof(body), &body_len)) != 0)
		return rc;
	if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)body, body_len) != 1)
		abort();
	EVP_MD_CTX_free(md);
	return checkpoint_note_assemble(body, body_len, k->ak.name, k->id, sig, note);
}

static void
rec_intent(struct journal_record *r, uint8_t serial[8], uint64_t id)
{
	memset(r, 0, sizeof(*r));
	be64_put(serial, id);
	r->type = JOURNAL_REC_INTENT;
	r->time_ms = 1700000000000LL + (int64_t)id;
	r->client_subject = "CN=client,O=Example";
	r->profile = "server";
	r->serial = serial;
	r->serial_len = 8;
	memset(r->tbs_sha256, 0x33, 32);
}

static void
rec_result(struct journal_record *r, uint8_t serial[8], uint64_t intent_seq, uint8_t *cert, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->type = JOURNAL_REC_RESULT;
	r->time_ms = 1700000000001LL;
	r->intent_seq = intent_seq;
	r->serial = serial;
	r->serial_len = 8;
	r->cert_der = cert;
	r->cert_der_len = len;
}

/* One issuance as the signer journals it: intent, then result. */
static uint64_t
issue(struct journal *j, uint64_t id)
{
	struct journal_record r;
	uint8_t serial[8], cert[300];
	uint64_t in = 0, out = 0;

	memset(cert, (int)id, sizeof(cert));
	rec_intent(&r, serial, id);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &in), 0);
	rec_result(&r, serial, in, cert, sizeof(cert));
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &out), 0);
	return out;
}

static void
test_events_all_types(void)
{
	struct journal_verify_report rep;
	struct journal_record r, *got = NULL;
	struct journal *j = NULL;
	struct tkey k;
	uint8_t spki[40];
	char dir[PATH_MAX], *note = NULL;
	uint64_t seq, cps;

	tkey_init(&k);
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_CEREMONY;
	r.reason = "keygen";
	r.phase = JOURNAL_CEREMONY_BEGIN;
	r.actor = "root (uid 0)";
	r.key_uri = "pkcs11:token=t;object=root-ca";
	r.detail = "type=p256";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	r.phase = JOURNAL_CEREMONY_DONE;
	memset(spki, 7, sizeof(spki));
	r.output = spki;
	r.output_len = sizeof(spki);
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_SERVICE;
	r.event = JOURNAL_SERVICE_START;
	memset(r.config_sha256, 0xc0, 32);
	r.detail = "signerd pid 1";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	issue(j, 1);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_REFUSAL;
	r.client_subject = "CN=client";
	r.profile = "";
	r.reason = "name-refused";
	r.detail = "evil.test";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_REFUSAL_SUMMARY;
	r.window_start_ms = 1;
	r.count = 42;
	r.detail = "name-refused=42";
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	CU_ASSERT_EQUAL(journal_append_checkpoint(j, 1700000000000LL, tkey_sign, &k, &cps, &note), 0);
	CU_ASSERT_EQUAL(cps, 8);
	CU_ASSERT_PTR_NOT_NULL(note);
	CU_ASSERT(note != NULL && strncmp(note, "test.signerd/journal\n7\n", 23) == 0);
	free(note);
	CU_ASSERT_EQUAL(journal_last_checkpoint(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, 8);
	CU_ASSERT_EQUAL(journal_get(j, 8, &got), 0);
	CU_ASSERT(got != NULL && got->type == JOURNAL_REC_CHECKPOINT && got->tree_size == 7);
	journal_record_free(got);
	CU_ASSERT_EQUAL(journal_get(j, 2, &got), 0);
	CU_ASSERT(got != NULL && got->output_len == sizeof(spki) && got->phase == JOURNAL_CEREMONY_DONE &&
	    strcmp(got->key_uri, "pkcs11:token=t;object=root-ca") == 0);
	journal_record_free(got);
	CU_ASSERT_EQUAL(journal_verify_full(j, &k.ak, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, 8);
	CU_ASSERT_EQUAL(rep.checkpoints, 1);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	/* Another key does not verify the checkpoint, and the error names it. */
	k.ak.ed25519[0] ^= 1;
	CU_ASSERT_EQUAL(journal_verify_full(j, &k.ak, &rep), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT_EQUAL(rep.bad_seq, 8);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "record 8: checkpoint: signed by another key"));
	journal_close(j);
	EVP_PKEY_free(k.pkey);
	sd_test_rmtree(dir);
}

static void
test_events_rules(void)
{
	struct journal_verify_report rep;
	struct journal_record r;
	struct journal *j = NULL;
	uint8_t serial[8], other[8], cert[10] = { 0 };
	char dir[PATH_MAX];
	uint64_t in = 0, seq = 0, a, b;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	rec_result(&r, serial, 1, cert, sizeof(cert));
	be64_put(serial, 9);
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "result: intent 1 is not an earlier record"));
	rec_intent(&r, serial, 9);
	CU_ASSERT_EQUAL(journal_append(j, &r, &in), 0);
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "is already journaled (record 1)"));
	be64_put(other, 10);
	rec_result(&r, other, in, cert, sizeof(cert));
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "record 1 is not the intent of this serial"));
	/* Crash between intent and result: verify holds, and counts it. */
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.open_intents, 1);
	CU_ASSERT_EQUAL(rep.first_open_intent, 1);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial, 8, &a, &b), 0);
	CU_ASSERT(a == 1 && b == 0);
	rec_result(&r, serial, in, cert, sizeof(cert));
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), 0);
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "intent 1 already has its result"));
	CU_ASSERT_EQUAL(journal_find_serial(j, serial, 8, &a, &b), 0);
	CU_ASSERT(a == 1 && b == 2);
	CU_ASSERT_EQUAL(journal_find_serial(j, other, 8, &a, &b), SD_E_NOT_FOUND);
	memset(&r, 0, sizeof(r));
	r.type = JOURNAL_REC_RELOAD;
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "is reserved"));
	r.type = JOURNAL_REC_CHECKPOINT;
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	r.type = JOURNAL_REC_SERVICE;
	r.event = 3;
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "event is 3, must be 1..2"));
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	CU_ASSERT_EQUAL(rep.count, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* Inclusion proofs of every record and consistency proofs from every size, against the store's roots. */
static void
test_events_proofs(void)
{
	uint8_t proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN], root[32], old[32];
	struct journal_record *rec = NULL;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t i, n = 0, size;
	size_t len;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	for (i = 1; i <= 37; i++)
		n = issue(j, i);
	CU_ASSERT_EQUAL(n, 74);
	CU_ASSERT_EQUAL(journal_tree_head(j, &size, root), 0);
	CU_ASSERT_EQUAL(size, 74);
	CU_ASSERT_EQUAL(journal_tree_root(j, 74, old), 0);
	CU_ASSERT(memcmp(root, old, 32) == 0);
	for (i = 1; i <= n; i++) {
		CU_ASSERT_EQUAL_FATAL(journal_get(j, i, &rec), 0);
		CU_ASSERT_EQUAL(journal_inclusion_proof(j, i, n, proof, &len), 0);
		CU_ASSERT_EQUAL(merkle_inclusion_verify(i - 1, n, rec->leaf_hash, (const uint8_t (*)[32])proof, len, root), 0);
		CU_ASSERT_EQUAL(journal_tree_root(j, i, old), 0);
		CU_ASSERT_EQUAL(journal_consistency_proof(j, i, n, proof, &len), 0);
		CU_ASSERT_EQUAL(merkle_consistency_verify(i, n, old, root, (const uint8_t (*)[32])proof, len), 0);
		journal_record_free(rec);
		rec = NULL;
	}
	CU_ASSERT_EQUAL(journal_inclusion_proof(j, n + 1, n + 1, proof, &len), SD_E_INVAL);
	journal_close(j);
	/* Reopened, the frontier is rebuilt from the stored nodes: same root. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	CU_ASSERT_EQUAL(journal_tree_head(j, &size, old), 0);
	CU_ASSERT(memcmp(root, old, 32) == 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

#define GC_THREADS 16
#define GC_PER_THREAD 40

struct gc_worker {
	struct journal *j;
	unsigned id;
	int failures;
};

static void *
gc_run(void *arg)
{
	struct gc_worker *w = arg;
	struct journal_record r;
	uint8_t serial[8], cert[500];
	uint64_t in, out;
	unsigned i;

	memset(cert, 1, sizeof(cert));
	for (i = 0; i < GC_PER_THREAD; i++) {
		rec_intent(&r, serial, (uint64_t)(w->id + 1) << 32 | i);
		if (journal_append(w->j, &r, &in) != 0) {
			w->failures++;
			continue;
		}
		rec_result(&r, serial, in, cert, sizeof(cert));
		if (journal_append(w->j, &r, &out) != 0)
			w->failures++;
	}
	return NULL;
}

/* 16 concurrent appenders share commits: fewer durable commits than records. */
static void
test_events_group_commit(void)
{
	struct gc_worker w[GC_THREADS];
	pthread_t tid[GC_THREADS];
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct timespec t0, t1;
	double secs;
	unsigned i;
	int failures = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < GC_THREADS; i++) {
		w[i] = (struct gc_worker){ j, i, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, gc_run, &w[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_EQUAL(failures, 0);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.records, 2 * GC_THREADS * GC_PER_THREAD);
	CU_ASSERT(st.commits < st.records);
	fprintf(stderr, "\n    group commit: %d appenders, %llu records in %llu durable commits "
	    "(%.2f commits per record), %.0f records/s\n", GC_THREADS, (unsigned long long)st.records,
	    (unsigned long long)st.commits, (double)st.commits / (double)st.records, (double)st.records / secs);
	expect_verify(j, 2 * GC_THREADS * GC_PER_THREAD);
	journal_close(j);
	sd_test_rmtree(dir);
}

/*
 * A batch in which the store refuses records: the others are committed in
 * order, in one commit, and nothing of a refused record is kept (no record,
 * no index entry, no Merkle node: verify would see it).
 */
static void
test_events_batch_refused(void)
{
	struct journal_verify_report rep;
	struct journal_record r[4], *got = NULL;
	const struct journal_record *p[4] = { &r[0], &r[1], &r[2], &r[3] };
	uint8_t serial[4][8], other[8], cert[100];
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t first = 9, last = 0, in, out;

	memset(cert, 7, sizeof(cert));
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	rec_intent(&r[0], serial[0], 0x100);
	rec_intent(&r[1], serial[1], 0x101);
	rec_intent(&r[2], serial[2], 0x100);	/* the serial of r[0] again */
	rec_intent(&r[3], serial[3], 0x102);
	CU_ASSERT_EQUAL(journal_append_batch(j, p, 4, &first), SD_E_INTERNAL);
	CU_ASSERT(detail_has(SD_E_INTERNAL, "serial 0000000000000100 is already journaled (record 1)"));
	CU_ASSERT_EQUAL(first, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 3);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 3, &got), 0);
	CU_ASSERT(got->serial_len == 8 && memcmp(got->serial, serial[3], 8) == 0);
	journal_record_free(got);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[3], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(in, 3);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.commits, 1);
	CU_ASSERT_EQUAL(st.records, 3);
	expect_verify(j, 3);

	/* A result naming another serial's intent, between two good results. */
	rec_result(&r[0], serial[0], 1, cert, sizeof(cert));
	be64_put(other, 0x102);
	rec_result(&r[1], other, 2, cert, sizeof(cert));
	rec_result(&r[2], serial[3], 3, cert, sizeof(cert));
	CU_ASSERT_EQUAL(journal_append_batch(j, p, 3, &first), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "result: record 2 is not the intent of this serial"));
	CU_ASSERT_EQUAL(first, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, 5);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[0], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 4);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[1], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 0);
	CU_ASSERT_EQUAL(journal_find_serial(j, serial[3], 8, &in, &out), 0);
	CU_ASSERT_EQUAL(out, 5);
	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.commits, 2);
	CU_ASSERT_EQUAL(st.records, 5);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, 5);
	CU_ASSERT_EQUAL(rep.open_intents, 1);
	CU_ASSERT_EQUAL(rep.first_open_intent, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

/*
 * 32 threads, half appending intent/result pairs one by one, half in
 * batches, and a checkpointer, into a map that has to grow meanwhile.
 */
#define CC_THREADS 32
#define CC_ROUNDS 10
#define CC_BATCH 3
#define CC_PER_WORKER (2 * CC_BATCH * CC_ROUNDS)
#define CC_CHECKPOINTS 8
#define CC_RECORDS (CC_THREADS * CC_PER_WORKER + CC_CHECKPOINTS)

struct cc_worker {
	struct journal *j;
	unsigned id;
	bool batch;
	size_t n;
	uint64_t seq[CC_PER_WORKER];	/* what each call said its record got */
	uint64_t serial[CC_PER_WORKER];	/* and the serial (as rec_intent's id) and type of that record */
	uint8_t type[CC_PER_WORKER];
	int failures;
};

static uint64_t
cc_id(unsigned worker, unsigned round, unsigned k)
{
	return (uint64_t)(worker + 1) << 32 | round << 8 | k;
}

static void
cc_note(struct cc_worker *w, uint64_t seq, uint64_t id, uint8_t type)
{
	if (w->n >= CC_PER_WORKER)
		abort();
	w->seq[w->n] = seq;
	w->serial[w->n] = id;
	w->type[w->n] = type;
	w->n++;
}

static void *
cc_run(void *arg)
{
	struct cc_worker *w = arg;
	struct journal_record r[CC_BATCH];
	const struct journal_record *p[CC_BATCH];
	uint8_t serial[CC_BATCH][8], cert[400];
	uint64_t seq;
	unsigned round, k;

	memset(cert, (int)w->id, sizeof(cert));
	for (round = 0; round < CC_ROUNDS; round++) {
		for (k = 0; k < CC_BATCH; k++) {
			rec_intent(&r[k], serial[k], cc_id(w->id, round, k));
			p[k] = &r[k];
		}
		if (!w->batch) {
			for (k = 0; k < CC_BATCH; k++) {
				if (journal_append(w->j, &r[k], &seq) != 0) {
					w->failures++;
					continue;
				}
				cc_note(w, seq, cc_id(w->id, round, k), JOURNAL_REC_INTENT);
				rec_result(&r[k], serial[k], seq, cert, sizeof(cert));
				if (journal_append(w->j, &r[k], &seq) != 0) {
					w->failures++;
					continue;
				}
				cc_note(w, seq, cc_id(w->id, round, k), JOURNAL_REC_RESULT);
			}
			continue;
		}
		if (journal_append_batch(w->j, p, CC_BATCH, &seq) != 0) {
			w->failures++;
			continue;
		}
		for (k = 0; k < CC_BATCH; k++) {
			cc_note(w, seq + k, cc_id(w->id, round, k), JOURNAL_REC_INTENT);
			rec_result(&r[k], serial[k], seq + k, cert, sizeof(cert));
		}
		if (journal_append_batch(w->j, p, CC_BATCH, &seq) != 0) {
			w->failures++;
			continue;
		}
		for (k = 0; k < CC_BATCH; k++)
			cc_note(w, seq + k, cc_id(w->id, round, k), JOURNAL_REC_RESULT);
	}
	return NULL;
}

struct cc_checkpointer {
	struct journal *j;
	struct tkey *k;
	uint64_t seq[CC_CHECKPOINTS];
	int failures;
};

static void *
cc_checkpoint_run(void *arg)
{
	struct cc_checkpointer *c = arg;
	unsigned i;

	for (i = 0; i < CC_CHECKPOINTS; i++) {
		usleep(2000);
		if (journal_append_checkpoint(c->j, 1, tkey_sign, c->k, &c->seq[i], NULL) != 0)
			c->failures++;
	}
	return NULL;
}

static void
test_events_concurrent(void)
{
	struct journal_options o = { 256 * 1024, 64 * 1024 * 1024, false };
	static struct cc_worker w[CC_THREADS];
	static uint64_t want_serial[CC_RECORDS + 1];
	static uint8_t want_type[CC_RECORDS + 1];
	struct cc_checkpointer cp;
	struct journal_verify_report rep;
	struct journal_record *got;
	pthread_t tid[CC_THREADS], cp_tid;
	struct journal_stats st;
	struct journal *j = NULL;
	struct tkey k;
	char dir[PATH_MAX];
	uint8_t serial[8];
	uint64_t last = 0, s;
	unsigned i;
	size_t n;
	int failures = 0, bad = 0, wrong = 0;

	tkey_init(&k);
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	memset(want_type, 0, sizeof(want_type));
	cp = (struct cc_checkpointer){ .j = j, .k = &k };
	CU_ASSERT_EQUAL_FATAL(pthread_create(&cp_tid, NULL, cc_checkpoint_run, &cp), 0);
	for (i = 0; i < CC_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].j = j;
		w[i].id = i;
		w[i].batch = i % 2 == 1;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, cc_run, &w[i]), 0);
	}
	for (i = 0; i < CC_THREADS; i++)
		CU_ASSERT_EQUAL(pthread_join(tid[i], NULL), 0);
	CU_ASSERT_EQUAL(pthread_join(cp_tid, NULL), 0);

	/* Every call got its own seq, 1..CC_RECORDS between them, each thread's in order. */
	failures = cp.failures;
	for (i = 0; i < CC_CHECKPOINTS; i++) {
		s = cp.seq[i];
		if (s == 0 || s > CC_RECORDS || want_type[s] != 0 || (i > 0 && s <= cp.seq[i - 1]))
			bad++;
		else
			want_type[s] = JOURNAL_REC_CHECKPOINT;
	}
	for (i = 0; i < CC_THREADS; i++) {
		failures += w[i].failures;
		CU_ASSERT_EQUAL(w[i].n, CC_PER_WORKER);
		for (n = 0; n < w[i].n; n++) {
			s = w[i].seq[n];
			if (s == 0 || s > CC_RECORDS || want_type[s] != 0 || (n > 0 && s <= w[i].seq[n - 1])) {
				bad++;
				continue;
			}
			want_type[s] = w[i].type[n];
			want_serial[s] = w[i].serial[n];
		}
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &last), 0);
	CU_ASSERT_EQUAL(last, CC_RECORDS);

	/* Each seq holds the record its caller appended. */
	for (s = 1; s <= CC_RECORDS; s++) {
		got = NULL;
		if (journal_get(j, s, &got) != 0 || got->type != want_type[s]) {
			wrong++;
		} else if (got->type != JOURNAL_REC_CHECKPOINT) {
			be64_put(serial, want_serial[s]);
			if (got->serial_len != 8 || memcmp(got->serial, serial, 8) != 0)
				wrong++;
		}
		journal_record_free(got);
	}
	CU_ASSERT_EQUAL(wrong, 0);

	journal_stats_get(j, &st);
	CU_ASSERT_EQUAL(st.records, CC_RECORDS);
	CU_ASSERT(st.commits < st.records);
	CU_ASSERT(st.grows >= 1);
	fprintf(stderr, "\n    %d threads and a checkpointer: %llu records in %llu commits, %llu map grows\n",
	    CC_THREADS, (unsigned long long)st.records, (unsigned long long)st.commits,
	    (unsigned long long)st.grows);
	CU_ASSERT_EQUAL(journal_verify_full(j, &k.ak, &rep), 0);
	CU_ASSERT_EQUAL(rep.count, CC_RECORDS);
	CU_ASSERT_EQUAL(rep.checkpoints, CC_CHECKPOINTS);
	CU_ASSERT_EQUAL(rep.open_intents, 0);
	journal_close(j);
	EVP_PKEY_free(k.pkey);
	sd_test_rmtree(dir);
}

/* The map grows up to its maximum, then refuses with nothing written; the journal still verifies. */
static void
test_events_map_grow(void)
{
	struct journal_options o = { 256 * 1024, 2 * 1024 * 1024, false };
	struct journal_stats st;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	struct tiss t;
	uint64_t seq, last = 0, i;
	int rc = 0;

	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	for (i = 1; i <= 1000; i++) {
		tiss_init(&t, i, 10 * 1024);
		rc = journal_append_issuance(j, &t.in, &seq);
		tiss_free(&t);
		if (rc != 0)
			break;
		last = seq;
	}
	CU_ASSERT_EQUAL(rc, SD_E_JOURNAL_FULL);
	CU_ASSERT(detail_has(rc, "(the configured maximum); nothing was written"));
	journal_stats_get(j, &st);
	CU_ASSERT(st.grows >= 2);
	CU_ASSERT_EQUAL(st.map_size, 2 * 1024 * 1024);
	CU_ASSERT(last > 100);	/* far more than the 256 KiB map held */
	CU_ASSERT_EQUAL(journal_health(j), SD_E_JOURNAL_FULL);
	expect_verify(j, last);
	journal_close(j);
	/* Reopened with the same maximum: still full, still consistent. */
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	CU_ASSERT_EQUAL(journal_last_seq(j, &seq), 0);
	CU_ASSERT_EQUAL(seq, last);
	expect_verify(j, last);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The streaming verifier sees exactly what journal_verify_full() sees. */
struct tstream {
	struct journal_stream *s;
	int rc;
};

static int
tstream_add(uint64_t key, const uint8_t *raw, size_t len, void *ctx)
{
	struct tstream *t = ctx;

	return t->rc = journal_stream_add(t->s, key, raw, len, NULL);
}

static void
test_events_stream(void)
{
	struct journal_verify_report rep;
	struct journal *j = NULL;
	struct tstream ts;
	struct tkey k;
	uint8_t root[32], want[32];
	char dir[PATH_MAX];
	uint64_t i, seq;

	tkey_init(&k);
	sd_test_tmpdir(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	for (i = 1; i <= 10; i++) {
		issue(j, i);
		if (i % 3 == 0)
			CU_ASSERT_EQUAL(journal_append_checkpoint(j, 1, tkey_sign, &k, &seq, NULL), 0);
	}
	CU_ASSERT_EQUAL(journal_tree_root(j, 7, want), 0);
	CU_ASSERT_EQUAL_FATAL(journal_stream_new(&k.ak, &ts.s), 0);
	journal_stream_want_root(ts.s, 7);
	CU_ASSERT_EQUAL(journal_foreach_raw(j, 1, tstream_add, &ts), 0);
	CU_ASSERT_EQUAL(journal_stream_finish(ts.s), 0);
	journal_stream_report(ts.s, &rep);
	CU_ASSERT_EQUAL(rep.count, 23);
	CU_ASSERT_EQUAL(rep.checkpoints, 3);
	CU_ASSERT_EQUAL(journal_stream_root(ts.s, root), 0);
	CU_ASSERT(memcmp(root, want, 32) == 0);
	journal_stream_free(ts.s);
	journal_close(j);
	EVP_PKEY_free(k.pkey);
	sd_test_rmtree(dir);
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
	};
	static const struct sd_test_case store[] = {
		{ "append 100 and verify", test_store_append_verify },
		{ "hash chain via journal_get", test_store_chain },
		{ "on-disk layout", test_store_on_disk },
		{ "reopen and continue", test_store_reopen },
		{ "foreach", test_store_foreach },
		{ "duplicate serial refused", test_store_duplicate_serial },
		{ "field over limit", test_store_inval },
		{ "open errors and read-only", test_store_open_errors },
		{ "tiny map fills up", test_store_full },
		{ "4 threads x 250 appends", test_store_threads },
	};
	static const struct sd_test_case events[] = {
		{ "every record type, a signed checkpoint, verify with the key", test_events_all_types },
		{ "results need their intent; open intents are counted", test_events_rules },
		{ "inclusion and consistency proofs from the store", test_events_proofs },
		{ "16 appenders share durable commits", test_events_group_commit },
		{ "a batch keeps the records the store does not refuse", test_events_batch_refused },
		{ "32 threads: appends, batches, checkpoints, map growth", test_events_concurrent },
		{ "the map grows to its maximum, then refuses", test_events_map_grow },
		{ "stream verifier over raw records", test_events_stream },
	};
	static const struct sd_test_case tamper[] = {
		{ "flipped byte in record 50", test_tamper_flip },
		{ "flipped byte before the tail", test_tamper_before_tail },
		{ "deleted record", test_tamper_delete },
		{ "swapped records", test_tamper_swap },
		{ "serial index altered", test_tamper_serial_index },
		{ "tail truncation", test_tamper_truncate_tail },
		{ "corrupted tail refused at open", test_tamper_tail_open },
	};
	int rc;

	SD_TEST_SUITE("journal_record", record);
	SD_TEST_SUITE("journal_store", store);
	SD_TEST_SUITE("journal_tamper", tamper);
	SD_TEST_SUITE("journal_events", events);
	rc = sd_test_run("test_journal");
	if (fixture_dir[0] != '\0')
		sd_test_rmtree(fixture_dir);
	return rc;
}
