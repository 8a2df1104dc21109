/*
 * Journal tests, ACME records (type 12): the byte layout of README.md, a
 * round trip of every event, the decoder's and the encoder's refusals
 * (unknown events, a missing account, EAB key id or actor, lengths over
 * their bounds, trailing bytes), and journal_acme_append() on a real LMDB
 * environment, read back and verified.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define T_MS 1800000000123LL
#define ACCOUNT "evOfKhNU60wg"
#define KID "kid-1"
#define ACTOR "alice (uid 1000, pid 4242)"
#define PROFILE "tls-server"

/* The fields of one ACME event as a caller would journal it (borrowed strings). */
static void
acme_init(struct journal_acme *a, uint8_t event)
{
	bool eab = event == JOURNAL_ACME_EAB_ADDED || event == JOURNAL_ACME_EAB_REMOVED;

	memset(a, 0, sizeof(*a));
	a->time_ms = T_MS + event;
	a->event = event;
	a->account = eab ? "" : ACCOUNT;
	if (!eab)
		memset(a->key_sha256, 0x40 + event, JOURNAL_HASH_LEN);
	a->eab_kid = eab || event == JOURNAL_ACME_ACCOUNT_CREATED ? KID : "";
	a->profile = PROFILE;
	a->actor = eab ? ACTOR : "";
	switch (event) {
	case JOURNAL_ACME_ACCOUNT_CREATED: a->detail = "mailto:ops@example.com"; break;
	case JOURNAL_ACME_AUTHZ_VALID: a->detail = "dns:www.example.com http-01"; break;
	case JOURNAL_ACME_AUTHZ_INVALID: a->detail = "dns:www.example.com dns-01 no TXT record found"; break;
	case JOURNAL_ACME_EAB_ADDED: a->detail = "names *.example.com; profiles tls-server"; break;
	default: a->detail = ""; break;
	}
}

/* The record journal_acme_append() makes of a (it borrows a's strings). */
static void
acme_rec(struct journal_record *rec, const struct journal_acme *a, uint64_t seq)
{
	memset(rec, 0, sizeof(*rec));
	rec->version = JOURNAL_FORMAT_VERSION;
	rec->type = JOURNAL_REC_ACME;
	rec->seq = seq;
	rec->time_ms = a->time_ms;
	memset(rec->prev_hash, 0x5a, JOURNAL_HASH_LEN);
	rec->acme_event = a->event;
	rec->acme_account = (char *)(uintptr_t)a->account;
	memcpy(rec->acme_key_sha256, a->key_sha256, JOURNAL_HASH_LEN);
	rec->acme_eab_kid = (char *)(uintptr_t)a->eab_kid;
	rec->profile = (char *)(uintptr_t)a->profile;
	rec->actor = (char *)(uintptr_t)a->actor;
	rec->detail = (char *)(uintptr_t)a->detail;
}

/* A decoded record holds exactly a's fields. */
static void
expect_fields(const struct journal_record *dec, const struct journal_acme *a)
{
	CU_ASSERT_EQUAL(dec->type, JOURNAL_REC_ACME);
	CU_ASSERT_EQUAL(dec->time_ms, a->time_ms);
	CU_ASSERT_EQUAL(dec->acme_event, a->event);
	CU_ASSERT_STRING_EQUAL(dec->acme_account, a->account);
	CU_ASSERT(memcmp(dec->acme_key_sha256, a->key_sha256, JOURNAL_HASH_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(dec->acme_eab_kid, a->eab_kid);
	CU_ASSERT_STRING_EQUAL(dec->profile, a->profile);
	CU_ASSERT_STRING_EQUAL(dec->actor, a->actor);
	CU_ASSERT_STRING_EQUAL(dec->detail, a->detail);
}

static void
be32_put(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

/* A raw field of a hand-built record. */
struct raw_field {
	const uint8_t *p;
	size_t len;
};

/*
 * A type 12 record written out by hand as README.md documents it: the
 * 54-byte header (seq 9, time_ms T_MS, prev_hash 0x5a), then the fields
 * given (any number, any length), then extra trailing bytes. free() it.
 */
static uint8_t *
raw_record(const struct raw_field *f, size_t n, size_t extra, size_t *len)
{
	uint8_t *buf, *p;
	size_t total = 54 + extra, i;

	for (i = 0; i < n; i++)
		total += 4 + f[i].len;
	buf = calloc(1, total);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	p = buf;
	memcpy(p, "SDJR", 4), p += 4;
	*p++ = 1;
	*p++ = 12;
	be64_put(p, 9), p += 8;
	be64_put(p, (uint64_t)T_MS), p += 8;
	memset(p, 0x5a, 32), p += 32;
	for (i = 0; i < n; i++) {
		be32_put(p, (uint32_t)f[i].len), p += 4;
		if (f[i].len > 0)
			memcpy(p, f[i].p, f[i].len);
		p += f[i].len;
	}
	*len = total;
	return buf;
}

/* The seven fields of an ACME record, each given as text (key as its 32 bytes). */
static uint8_t *
raw_acme(uint8_t event, const char *account, const uint8_t key[32], const char *kid, const char *profile,
    const char *actor, const char *detail, size_t extra, size_t *len)
{
	struct raw_field f[7] = {
		{ &event, 1 },
		{ (const uint8_t *)account, strlen(account) },
		{ key, 32 },
		{ (const uint8_t *)kid, strlen(kid) },
		{ (const uint8_t *)profile, strlen(profile) },
		{ (const uint8_t *)actor, strlen(actor) },
		{ (const uint8_t *)detail, strlen(detail) },
	};

	return raw_record(f, 7, extra, len);
}

/* buf must be refused by the decoder with needle in the detail; frees buf. */
static void
decode_refused(uint8_t *buf, size_t len, const char *needle)
{
	struct journal_record *dec = NULL;

	CU_ASSERT_EQUAL(journal_record_decode(buf, len, &dec), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, needle));
	CU_ASSERT_PTR_NULL(dec);
	free(buf);
}

/* rec must be refused by the encoder with needle in the detail. */
static void
encode_refused(const struct journal_record *rec, const char *needle)
{
	uint8_t *enc = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL(journal_record_encode(rec, &enc, &len), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, needle));
	CU_ASSERT_PTR_NULL(enc);
}

/* A text of n copies of c (free()). */
static char *
text_of(size_t n, char c)
{
	char *s = malloc(n + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_acme_layout(void)
{
	struct journal_record rec, *dec = NULL;
	struct journal_acme a;
	uint8_t *want, *enc = NULL;
	size_t want_len = 0, len = 0;

	/* README's layout: header, then event, account, key_sha256, eab_kid, profile, actor, detail. */
	acme_init(&a, JOURNAL_ACME_ACCOUNT_CREATED);
	want = raw_acme(1, ACCOUNT, a.key_sha256, KID, PROFILE, "", "mailto:ops@example.com", 0, &want_len);
	CU_ASSERT_EQUAL(want_len, 54 + 7 * 4 + 1 + 12 + 32 + 5 + 10 + 0 + 22);
	acme_rec(&rec, &a, 9);
	rec.time_ms = T_MS;
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL(len, want_len);
	CU_ASSERT(len == want_len && memcmp(enc, want, len) == 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(want, want_len, &dec), 0);
	CU_ASSERT_EQUAL(dec->seq, 9);
	CU_ASSERT_EQUAL(dec->time_ms, T_MS);
	CU_ASSERT_STRING_EQUAL(dec->acme_account, ACCOUNT);
	CU_ASSERT_STRING_EQUAL(journal_record_type_name(JOURNAL_REC_ACME), "acme");
	CU_ASSERT_STRING_EQUAL(journal_record_type_name(dec->type), "acme");
	journal_record_free(dec);
	free(enc);
	free(want);
}

static void
test_acme_roundtrip(void)
{
	struct journal_record rec, *dec = NULL;
	struct journal_acme a;
	uint8_t *enc = NULL, *enc2 = NULL;
	size_t len = 0, len2 = 0;
	uint8_t event;

	for (event = 1; event <= JOURNAL_ACME_EVENT_MAX; event++) {
		acme_init(&a, event);
		acme_rec(&rec, &a, 100 + event);
		CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
		CU_ASSERT_EQUAL(enc[5], 12);
		CU_ASSERT(enc[54] == 0 && enc[55] == 0 && enc[56] == 0 && enc[57] == 1 && enc[58] == event);
		CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
		CU_ASSERT_EQUAL(dec->seq, 100 + event);
		expect_fields(dec, &a);
		CU_ASSERT_EQUAL_FATAL(journal_record_encode(dec, &enc2, &len2), 0);
		CU_ASSERT(len2 == len && memcmp(enc, enc2, len) == 0);
		journal_record_free(dec);
		dec = NULL;
		free(enc);
		free(enc2);
		enc = enc2 = NULL;
	}

	/* The longest of every field, and an account created without EAB. */
	acme_init(&a, JOURNAL_ACME_ACCOUNT_CREATED);
	a.account = text_of(64, 'a');
	a.eab_kid = "";
	a.profile = text_of(64, 'p');
	a.actor = text_of(256, 'o');
	a.detail = text_of(4096, 'd');
	acme_rec(&rec, &a, 1);
	CU_ASSERT_EQUAL_FATAL(journal_record_encode(&rec, &enc, &len), 0);
	CU_ASSERT_EQUAL_FATAL(journal_record_decode(enc, len, &dec), 0);
	expect_fields(dec, &a);
	journal_record_free(dec);
	free(enc);
	free((char *)(uintptr_t)a.account);
	free((char *)(uintptr_t)a.profile);
	free((char *)(uintptr_t)a.actor);
	free((char *)(uintptr_t)a.detail);
}

static void
test_acme_decode_refused(void)
{
	static const uint8_t key[32] = { 1 };
	static const uint8_t zero[32];
	struct raw_field f[8];
	uint8_t *buf, ev = 1, junk = 0;
	char *lng;
	size_t len = 0;

	/* What the decoder takes, as a baseline for each refusal below. */
	buf = raw_acme(1, ACCOUNT, key, "", PROFILE, "", "", 0, &len);
	{
		struct journal_record *dec = NULL;

		CU_ASSERT_EQUAL(journal_record_decode(buf, len, &dec), 0);
		journal_record_free(dec);
	}
	free(buf);

	/* Events outside 1..7. */
	buf = raw_acme(0, ACCOUNT, key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: event is 0, must be 1..7");
	buf = raw_acme(8, ACCOUNT, key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: event is 8, must be 1..7");
	buf = raw_acme(255, ACCOUNT, key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "event is 255");

	/* Each event's needs. */
	for (ev = 1; ev <= JOURNAL_ACME_EVENT_MAX; ev++) {
		if (ev == JOURNAL_ACME_EAB_ADDED || ev == JOURNAL_ACME_EAB_REMOVED)
			continue;
		buf = raw_acme(ev, "", key, KID, PROFILE, ACTOR, "x", 0, &len);
		decode_refused(buf, len, "needs an account");
	}
	buf = raw_acme(1, "", key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: event 1 needs an account");
	buf = raw_acme(4, "", zero, "", PROFILE, ACTOR, "names *.example.com", 0, &len);
	decode_refused(buf, len, "record 9: event 4 needs an eab_kid");
	buf = raw_acme(7, "", zero, "", PROFILE, ACTOR, "", 0, &len);
	decode_refused(buf, len, "record 9: event 7 needs an eab_kid");
	buf = raw_acme(4, "", zero, KID, PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: event 4 needs an actor");
	buf = raw_acme(7, "", zero, KID, PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: event 7 needs an actor");

	/* Lengths over their bounds. */
	lng = text_of(65, 'a');
	buf = raw_acme(1, lng, key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "record 9: account is 65 bytes, must be 0..64");
	buf = raw_acme(4, "", zero, lng, PROFILE, ACTOR, "", 0, &len);
	decode_refused(buf, len, "record 9: eab_kid is 65 bytes, must be 0..64");
	buf = raw_acme(1, ACCOUNT, key, "", lng, "", "", 0, &len);
	decode_refused(buf, len, "record 9: profile is 65 bytes, must be 0..64");
	free(lng);
	lng = text_of(257, 'o');
	buf = raw_acme(4, "", zero, KID, PROFILE, lng, "", 0, &len);
	decode_refused(buf, len, "record 9: actor is 257 bytes, must be 0..256");
	free(lng);
	lng = text_of(4097, 'd');
	buf = raw_acme(1, ACCOUNT, key, "", PROFILE, "", lng, 0, &len);
	decode_refused(buf, len, "record 9: detail is 4097 bytes, must be 0..4096");
	free(lng);

	/* A key that is not 32 bytes, an event of two bytes. */
	memset(f, 0, sizeof(f));
	f[0].p = &ev;
	f[0].len = 1;
	ev = 1;
	f[1].p = (const uint8_t *)ACCOUNT;
	f[1].len = strlen(ACCOUNT);
	f[2].p = key;
	f[2].len = 31;
	buf = raw_record(f, 7, 0, &len);
	decode_refused(buf, len, "record 9: key_sha256 is 31 bytes, must be 32");
	f[2].len = 32;
	f[0].p = key;
	f[0].len = 2;
	buf = raw_record(f, 7, 0, &len);
	decode_refused(buf, len, "record 9: event is 2 bytes, must be 1");
	f[0].p = &ev;
	f[0].len = 1;

	/* Trailing bytes, one field too many, one too few. */
	buf = raw_acme(1, ACCOUNT, key, "", PROFILE, "", "", 1, &len);
	decode_refused(buf, len, "record 9: 1 trailing bytes");
	f[7].p = &junk;
	f[7].len = 1;
	buf = raw_record(f, 8, 0, &len);
	decode_refused(buf, len, "record 9: 5 trailing bytes");
	buf = raw_record(f, 6, 0, &len);
	decode_refused(buf, len, "truncated before the length of detail");

	/* A NUL or bad UTF-8 in a text. */
	buf = raw_acme(1, "ab\xff", key, "", PROFILE, "", "", 0, &len);
	decode_refused(buf, len, "account is not valid UTF-8 at offset 2");
	buf = raw_acme(1, ACCOUNT, key, "", PROFILE, "", "", 0, &len);
	buf[54 + 4 + 1 + 4 + 2] = '\0'; /* the account's third byte */
	decode_refused(buf, len, "account contains a NUL byte at offset 2");
}

static void
test_acme_encode_refused(void)
{
	struct journal_record rec;
	struct journal_acme a;
	char *lng;

	acme_init(&a, JOURNAL_ACME_AUTHZ_VALID);
	acme_rec(&rec, &a, 3);
	rec.acme_event = 0;
	encode_refused(&rec, "acme: event is 0, must be 1..7");
	rec.acme_event = 8;
	encode_refused(&rec, "acme: event is 8, must be 1..7");
	rec.acme_event = JOURNAL_ACME_AUTHZ_VALID;
	rec.acme_account = NULL;
	encode_refused(&rec, "acme: event 5 needs an account");
	rec.acme_account = "";
	encode_refused(&rec, "acme: event 5 needs an account");

	acme_init(&a, JOURNAL_ACME_EAB_ADDED);
	acme_rec(&rec, &a, 3);
	rec.acme_eab_kid = NULL;
	encode_refused(&rec, "acme: event 4 needs an eab_kid");
	rec.acme_eab_kid = KID;
	rec.actor = "";
	encode_refused(&rec, "acme: event 4 needs an actor");
	rec.actor = ACTOR;

	lng = text_of(65, 'k');
	rec.acme_eab_kid = lng;
	encode_refused(&rec, "acme: eab_kid is 65 bytes, must be 0..64");
	rec.acme_eab_kid = KID;
	rec.profile = lng;
	encode_refused(&rec, "acme: profile is 65 bytes, must be 0..64");
	rec.profile = PROFILE;
	rec.acme_event = JOURNAL_ACME_ACCOUNT_DEACTIVATED;
	rec.acme_account = lng;
	encode_refused(&rec, "acme: account is 65 bytes, must be 0..64");
	free(lng);
	lng = text_of(257, 'o');
	rec.acme_account = ACCOUNT;
	rec.actor = lng;
	encode_refused(&rec, "acme: actor is 257 bytes, must be 0..256");
	free(lng);
	lng = text_of(4097, 'd');
	rec.actor = "";
	rec.detail = lng;
	encode_refused(&rec, "acme: detail is 4097 bytes, must be 0..4096");
	free(lng);
}

static uint64_t
last_seq(struct journal *j)
{
	uint64_t last = 0;

	CU_ASSERT_EQUAL_FATAL(journal_last_seq(j, &last), 0);
	return last;
}

static void
test_acme_append(void)
{
	struct journal_record *rec = NULL;
	struct journal_acme a;
	struct journal *j = NULL;
	char dir[PATH_MAX];
	uint64_t seq = 99, want;
	uint8_t event;

	sd_test_tmpdir(dir, "acme");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	append_n(j, 1, 2, 40);
	for (event = 1; event <= JOURNAL_ACME_EVENT_MAX; event++) {
		acme_init(&a, event);
		CU_ASSERT_EQUAL_FATAL(journal_acme_append(j, &a, &seq), 0);
		CU_ASSERT_EQUAL(seq, 2 + (uint64_t)event);
	}
	append_n(j, 3, 1, 40);
	for (event = 1; event <= JOURNAL_ACME_EVENT_MAX; event++) {
		acme_init(&a, event);
		CU_ASSERT_EQUAL_FATAL(journal_get(j, 2 + (uint64_t)event, &rec), 0);
		expect_fields(rec, &a);
		CU_ASSERT_EQUAL(rec->seq, 2 + (uint64_t)event);
		journal_record_free(rec);
		rec = NULL;
	}
	expect_verify(j, 10);

	/* Refused appends write nothing and leave seq 0. */
	want = last_seq(j);
	acme_init(&a, JOURNAL_ACME_ACCOUNT_KEY_CHANGED);
	a.account = NULL;
	CU_ASSERT_EQUAL(journal_acme_append(j, &a, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "acme: event 3 needs an account"));
	CU_ASSERT_EQUAL(seq, 0);
	acme_init(&a, JOURNAL_ACME_EAB_REMOVED);
	a.actor = NULL;
	CU_ASSERT_EQUAL(journal_acme_append(j, &a, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "acme: event 7 needs an actor"));
	acme_init(&a, JOURNAL_ACME_EAB_ADDED);
	a.event = 8;
	CU_ASSERT_EQUAL(journal_acme_append(j, &a, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "acme: event is 8, must be 1..7"));
	CU_ASSERT_EQUAL(journal_acme_append(j, NULL, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_acme_append(j, &a, NULL), SD_E_INVAL);
	CU_ASSERT_EQUAL(journal_acme_append(NULL, &a, &seq), SD_E_INVAL);
	CU_ASSERT_EQUAL(last_seq(j), want);
	journal_close(j);
	j = NULL;

	/* Durable: a reopen reads them and the chain still verifies; a read-only handle writes nothing. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	expect_verify(j, 10);
	acme_init(&a, JOURNAL_ACME_AUTHZ_INVALID);
	CU_ASSERT_EQUAL_FATAL(journal_acme_append(j, &a, &seq), 0);
	CU_ASSERT_EQUAL(seq, 11);
	journal_close(j);
	j = NULL;
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	CU_ASSERT_EQUAL_FATAL(journal_get(j, 11, &rec), 0);
	expect_fields(rec, &a);
	journal_record_free(rec);
	acme_init(&a, JOURNAL_ACME_AUTHZ_VALID);
	CU_ASSERT_EQUAL(journal_acme_append(j, &a, &seq), SD_E_JOURNAL);
	CU_ASSERT_EQUAL(seq, 0);
	expect_verify(j, 11);
	journal_close(j);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case record[] = {
		{ "layout written out by hand, as README.md documents it", test_acme_layout },
		{ "round trip of every event and of every field at its limit", test_acme_roundtrip },
		{ "decode refuses unknown events, missing fields, over-long fields, trailing bytes",
		    test_acme_decode_refused },
		{ "encode refuses what decode refuses", test_acme_encode_refused },
	};
	static const struct sd_test_case append[] = {
		{ "append every event, read back, verify, refusals write nothing, reopen, read-only",
		    test_acme_append },
	};
	int rc;

	SD_TEST_SUITE("journal_acme_record", record);
	SD_TEST_SUITE("journal_acme_append", append);
	rc = sd_test_run("test_journal_acme");
	tcert_cleanup();
	return rc;
}
