/*
 * Journal tests, event records and what an auditor checks: every record
 * type, the rules between intents and results, a signed checkpoint verified
 * with its key, inclusion and consistency proofs from the store, and the
 * streaming verifier.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "journal/merkle.h"
#include "journal_fixture.h"
#include "sd_file.h"
#include "sd_test.h"

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
	r.event = 4;	/* 1 start, 2 stop, 3 reload */
	CU_ASSERT_EQUAL(journal_append(j, &r, &seq), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "event is 4, must be 1..3"));
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

/*
 * A note parses only in its one text: base64 with '=' inside or stray bits
 * in its last character decodes to the same bytes with OpenSSL, and an
 * origin line "origin\0..." was read as "origin"; each is refused (found by
 * tests/fuzz/fuzz_checkpoint.c).
 */
static void
test_events_checkpoint_text(void)
{
	static const uint8_t id[4] = { 1, 2, 3, 4 };
	uint8_t root[32], sig[CHECKPOINT_SIG_LEN];
	struct checkpoint cp;
	char body[CHECKPOINT_NOTE_MAX], *note = NULL, *line;
	size_t len, i;

	for (i = 0; i < sizeof(root); i++)
		root[i] = (uint8_t)(i * 7 + 1);
	memset(sig, 0x5a, sizeof(sig));
	CU_ASSERT_EQUAL_FATAL(checkpoint_body("test.signerd/journal", 7, root, 1700000000000LL, body, sizeof(body),
	    &len), 0);
	CU_ASSERT_EQUAL_FATAL(checkpoint_note_assemble(body, len, "test.signerd/journal", id, sig, &note), 0);
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), 0);
	CU_ASSERT(cp.size == 7 && memcmp(cp.root, root, sizeof(root)) == 0 && memcmp(cp.sig, sig, sizeof(sig)) == 0);
	/* The root line: "AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=". */
	line = note + strlen("test.signerd/journal\n7\n");
	CU_ASSERT_EQUAL_FATAL(strncmp(line, "AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o=\n", 45), 0);
	line[25] = '=';
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "bad root hash line"));
	line[25] = '4';
	line[42] = 'p';		/* 'o' and 'p' differ only in bits past the 32 bytes */
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), SD_E_INVAL);
	line[42] = 'o';
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), 0);
	/* A NUL in the origin line does not end the origin there. */
	memmove(note + 21, note + 20, strlen(note + 20) + 1);
	note[20] = '\0';
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note + 21) + 21, &cp), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "bad origin line"));
	memmove(note + 20, note + 21, strlen(note + 21) + 1);
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), 0);
	/* The signature line's base64 too. */
	line = strrchr(note, ' ') + 1;
	line[10] = '=';
	CU_ASSERT_EQUAL(checkpoint_parse(note, strlen(note), &cp), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "signature is not base64"));
	free(note);
}

/* The audit key's fingerprint: SHA-256 of its DER SPKI (RFC 8410 section 10.1's example key), and pins as typed. */
static void
test_events_fingerprint(void)
{
	static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
	static const char want[] = "a1e9156054e04fac899ae9f275132cdc07a5dbc4ea2c2ad3a1ffc6e0d253681f";
	uint8_t pub[CHECKPOINT_ED25519_LEN], fp[32], pin[32];
	char hex[65], upper[65], bad[66];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(checkpoint_ed25519_from_pem(pem, strlen(pem), pub), 0);
	CU_ASSERT_EQUAL_FATAL(checkpoint_ed25519_fingerprint(pub, fp), 0);
	sd_hex_encode(fp, 32, hex);
	CU_ASSERT_STRING_EQUAL(hex, want);
	/* The same from `openssl pkey -pubin -outform DER | sha256sum`'s bytes: the SPKI is DER, one encoding. */
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(want, pin), 0);
	CU_ASSERT_EQUAL(memcmp(pin, fp, 32), 0);
	for (i = 0; i < 64; i++)
		upper[i] = (char)(want[i] >= 'a' ? want[i] - 'a' + 'A' : want[i]);
	upper[64] = '\0';
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(upper, pin), 0);
	CU_ASSERT_EQUAL(memcmp(pin, fp, 32), 0);
	/* Refused: short, long, empty, not hex; each says why. */
	memcpy(bad, want, 63);
	bad[63] = '\0';
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(bad, pin), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "64 hex digits, not 63"));
	memcpy(bad, want, 64);
	bad[64] = '0';
	bad[65] = '\0';
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(bad, pin), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "not over 64"));
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse("", pin), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "not 0"));
	memcpy(bad, want, 65);
	bad[10] = 'g';
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(bad, pin), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "character 11 is not a hex digit"));
	CU_ASSERT_EQUAL(checkpoint_fingerprint_parse(NULL, pin), SD_E_INVAL);
}

int
main(void)
{
	static const struct sd_test_case events[] = {
		{ "every record type, a signed checkpoint, verify with the key", test_events_all_types },
		{ "results need their intent; open intents are counted", test_events_rules },
		{ "inclusion and consistency proofs from the store", test_events_proofs },
		{ "stream verifier over raw records", test_events_stream },
		{ "a checkpoint note parses only in its canonical text", test_events_checkpoint_text },
		{ "the audit key's fingerprint, and a pin as typed", test_events_fingerprint },
	};

	SD_TEST_SUITE("journal_events", events);
	return sd_test_run("test_journal_events");
}
