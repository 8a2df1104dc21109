/*
 * Witness tests (c2sp.org/tlog-witness): add-checkpoint's request parsing
 * and every answer the spec names, against consistency proofs made by
 * merkle.c; notes with several signatures; vkeys; cosignatures that verify
 * and that do not; state that survives a reopen; the state lock.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "journal/checkpoint_note.h"
#include "journal/merkle.h"
#include "sd_test.h"
#include "witness/witness.h"

#define LEAVES 40
#define ORIGIN "log.example/test"
#define WNAME "witness.example/w1"
#define NOW 1700000000ULL

static uint8_t g_leaves[LEAVES][32];
static EVP_PKEY *g_log;			/* the log's key */
static EVP_PKEY *g_other;		/* a key no witness knows */
static struct witness_vkey g_log_vk;
static char g_dir[PATH_MAX];

static void
ref_mth(uint64_t a, uint64_t b, uint8_t out[32])	/* NOLINT(misc-no-recursion): RFC 9162 2.1.1 */
{
	uint8_t l[32], r[32];
	uint64_t k = 1;

	if (b - a == 1) {
		memcpy(out, g_leaves[a], 32);
		return;
	}
	while (k < b - a - k)
		k <<= 1;
	ref_mth(a, a + k, l);
	ref_mth(a + k, b, r);
	CU_ASSERT_EQUAL_FATAL(merkle_node_hash(l, r, out), 0);
}

static int
mem_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	uint64_t a = index << level, b = (index + 1) << level;

	(void)ctx;
	if (b > LEAVES)
		return SD_E_NOT_FOUND;
	ref_mth(a, b, out);
	return 0;
}

static void
root_of(uint64_t n, uint8_t out[32])
{
	struct merkle_source src = { mem_node, NULL };

	CU_ASSERT_EQUAL_FATAL(merkle_range_hash(&src, 0, n, out), 0);
}

/* A checkpoint of size and root signed by key as ORIGIN (or origin), into out. */
static void
make_note(EVP_PKEY *key, const char *origin, uint64_t size, const uint8_t root[32], char *out, size_t cap)
{
	uint8_t pub[32], id[4], blob[68];
	size_t plen = 32, slen = 64;
	char text[256], b64r[64], b64s[128];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int n;

	CU_ASSERT_FATAL(ctx != NULL);
	checkpoint_b64(root, 32, b64r);
	n = snprintf(text, sizeof(text), "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64r);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(text));
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(key, pub, &plen) == 1);
	CU_ASSERT_EQUAL_FATAL(checkpoint_key_id(origin, pub, id), 0);
	memcpy(blob, id, 4);
	CU_ASSERT_FATAL(EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key, NULL) == 1);
	CU_ASSERT_FATAL(EVP_DigestSign(ctx, blob + 4, &slen, (const unsigned char *)text, (size_t)n) == 1);
	EVP_MD_CTX_free(ctx);
	checkpoint_b64(blob, sizeof(blob), b64s);
	n = snprintf(out, cap, "%s\n\xe2\x80\x94 %s %s\n", text, origin, b64s);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < cap);
}

/* An add-checkpoint body: old, the proof from old to size (none when old is 0), the note. */
static size_t
make_request(uint64_t old, uint64_t size, const char *note, char *out, size_t cap)
{
	struct merkle_source src = { mem_node, NULL };
	uint8_t proof[MERKLE_PROOF_MAX][32];
	size_t n = 0, i, len;
	char b64[64];
	int k;

	if (old > 0 && old <= size)
		CU_ASSERT_EQUAL_FATAL(merkle_consistency_proof(&src, old, size, proof, &n), 0);
	k = snprintf(out, cap, "old %llu\n", (unsigned long long)old);
	CU_ASSERT_FATAL(k > 0);
	len = (size_t)k;
	for (i = 0; i < n; i++) {
		checkpoint_b64(proof[i], 32, b64);
		k = snprintf(out + len, cap - len, "%s\n", b64);
		CU_ASSERT_FATAL(k > 0 && (size_t)k < cap - len);
		len += (size_t)k;
	}
	k = snprintf(out + len, cap - len, "\n%s", note);
	CU_ASSERT_FATAL(k > 0 && (size_t)k < cap - len);
	return len + (size_t)k;
}

static struct witness *
open_witness(const char *dir)
{
	char key[PATH_MAX];
	struct witness_signer *s = NULL;
	struct witness *w = NULL;
	int n;

	n = snprintf(key, sizeof(key), "%s/witness.key", g_dir);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(key));
	CU_ASSERT_EQUAL_FATAL(witness_signer_load(key, WNAME, &s), 0);
	CU_ASSERT_EQUAL_FATAL(witness_open(dir, s, &g_log_vk, 1, &w), 0);
	return w;
}

/* POST one checkpoint of size (root of the first size leaves unless root given) from old. */
static unsigned
submit(struct witness *w, uint64_t old, uint64_t size, const uint8_t *root, struct witness_response *r)
{
	char note[1024], req[8192];
	uint8_t real[32];
	size_t len;

	if (root == NULL) {
		if (size > 0)
			root_of(size, real);
		else
			CU_ASSERT_EQUAL_FATAL(merkle_sha256(NULL, 0, real), 0);
		root = real;
	}
	make_note(g_log, ORIGIN, size, root, note, sizeof(note));
	len = make_request(old, size, note, req, sizeof(req));
	witness_add_checkpoint(w, req, len, NOW, r);
	return r->status;
}

static int
req_rc(const char *req)
{
	uint8_t proof[WITNESS_PROOF_MAX][32];
	uint64_t old;
	size_t n, off;

	return witness_request_parse(req, strlen(req), &old, proof, &n, &off);
}

static int
note_rc(const char *note)
{
	struct witness_note wn;

	return witness_note_parse(note, strlen(note), &wn);
}

static void
test_request_parse(void)
{
	uint8_t proof[WITNESS_PROOF_MAX][32];
	uint64_t old;
	size_t n, off;
	char big[WITNESS_PROOF_MAX * 45 + 128];
	const char *ok = "old 20852014\n"
	    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
	    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
	    "\nexample.com/x\n1\nAAAA\n";
	size_t i, len;

	CU_ASSERT_EQUAL(witness_request_parse(ok, strlen(ok), &old, proof, &n, &off), 0);
	CU_ASSERT_EQUAL(old, 20852014);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(ok + off, "example.com/x\n1\nAAAA\n");
	CU_ASSERT_EQUAL(proof[1][0], 0x8e);
	CU_ASSERT_EQUAL(witness_request_parse("old 0\n\nx\n", 9, &old, proof, &n, &off), 0);
	CU_ASSERT_EQUAL(old, 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(req_rc("old 05\n\nx\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("old -1\n\nx\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("old  1\n\nx\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("new 1\n\nx\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("old 99999999999999999999\n\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("old 1\nAAAA\n\nx\n"), SD_E_INVAL);
	CU_ASSERT_EQUAL(req_rc("old 1\n"), SD_E_INVAL);
	/* A proof line that is base64 of 32 bytes in a non-canonical spelling. */
	CU_ASSERT_EQUAL(req_rc("old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkax=\n\nx\n"), SD_E_INVAL);
	/* 63 proof lines pass, 64 do not. */
	len = (size_t)snprintf(big, sizeof(big), "old 1\n");
	for (i = 0; i < WITNESS_PROOF_MAX; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n");
	len += (size_t)snprintf(big + len, sizeof(big) - len, "\nx\n");
	CU_ASSERT_EQUAL(witness_request_parse(big, len, &old, proof, &n, &off), 0);
	CU_ASSERT_EQUAL(n, WITNESS_PROOF_MAX);
	len = (size_t)snprintf(big, sizeof(big), "old 1\n");
	for (i = 0; i <= WITNESS_PROOF_MAX; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n");
	len += (size_t)snprintf(big + len, sizeof(big) - len, "\nx\n");
	CU_ASSERT_EQUAL(witness_request_parse(big, len, &old, proof, &n, &off), SD_E_TOO_LARGE);
}

static void
test_note_parse(void)
{
	struct witness_note wn;
	struct witness_checkpoint cp;
	const char *two = "o.example/x\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n\n"
	    "\xe2\x80\x94 o.example/x AAAAAAAAAAAA\n\xe2\x80\x94 w.example/w BBBBBBBBBBBB\n";
	char many[4096];
	size_t len, i;

	CU_ASSERT_EQUAL(witness_note_parse(two, strlen(two), &wn), 0);
	CU_ASSERT_EQUAL(wn.nsigs, 2);
	CU_ASSERT_EQUAL(wn.text_len, strlen("o.example/x\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n"));
	CU_ASSERT_EQUAL(wn.sigs[1].name_len, strlen("w.example/w"));
	CU_ASSERT_EQUAL(memcmp(wn.sigs[1].name, "w.example/w", wn.sigs[1].name_len), 0);
	CU_ASSERT_EQUAL(witness_checkpoint_parse(two, wn.text_len, &cp), 0);
	CU_ASSERT_STRING_EQUAL(cp.origin, "o.example/x");
	CU_ASSERT_EQUAL(cp.size, 5);
	CU_ASSERT_EQUAL(note_rc("a\n\xe2\x80\x94 k AAAAAAAA\n"), SD_E_INVAL);	/* no blank line */
	CU_ASSERT_EQUAL(note_rc("a\n\n"), SD_E_INVAL);				/* no signature */
	CU_ASSERT_EQUAL(note_rc("a\n\n\xe2\x80\x94 k AAAAAAAA"), SD_E_INVAL);	/* no final newline */
	CU_ASSERT_EQUAL(note_rc("a\tb\n\n\xe2\x80\x94 k AAAAAAAA\n"), SD_E_INVAL);	/* a tab */
	CU_ASSERT_EQUAL(note_rc("a\n\n- k AAAAAAAA\n"), SD_E_INVAL);		/* a hyphen */
	CU_ASSERT_EQUAL(note_rc("a\n\n\xe2\x80\x94 k+1 AAAAAAAA\n"), SD_E_INVAL);	/* '+' in a name */
	len = (size_t)snprintf(many, sizeof(many), "a\n\n");
	for (i = 0; i <= WITNESS_SIGS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "\xe2\x80\x94 k AAAAAAAA\n");
	CU_ASSERT_EQUAL(witness_note_parse(many, len, &wn), SD_E_TOO_LARGE);
	CU_ASSERT_EQUAL(witness_checkpoint_parse("o\n01\nAAAA\n", 10, &cp), SD_E_INVAL);
	CU_ASSERT_EQUAL(witness_checkpoint_parse("o\n1\nAAAA\n", 9, &cp), SD_E_INVAL);
}

static void
test_vkey(void)
{
	static const uint8_t pub[32] = { 1, 2, 3 };
	struct witness_vkey k, back;
	char line[WITNESS_VKEY_MAX + 1];
	/* The example of c2sp.org/signed-note. */
	const char *spec = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n";

	CU_ASSERT_EQUAL(witness_vkey_parse(spec, strlen(spec), &k), 0);
	CU_ASSERT_EQUAL(k.type, WITNESS_TYPE_ED25519);
	CU_ASSERT_STRING_EQUAL(k.name, "example.com/foo");
	CU_ASSERT_EQUAL(witness_vkey_make(WNAME, WITNESS_TYPE_COSIG, pub, &k), 0);
	CU_ASSERT_EQUAL(witness_vkey_format(&k, line, sizeof(line)), 0);
	CU_ASSERT_EQUAL(witness_vkey_parse(line, strlen(line), &back), 0);
	CU_ASSERT_EQUAL(memcmp(&k, &back, sizeof(k)), 0);
	/* Another id: refused. */
	line[strlen(WNAME) + 1] = line[strlen(WNAME) + 1] == '0' ? '1' : '0';
	CU_ASSERT_EQUAL(witness_vkey_parse(line, strlen(line), &back), SD_E_INVAL);
	CU_ASSERT_EQUAL(witness_vkey_parse("a+00000000+AgAA", 15, &back), SD_E_UNSUPPORTED);
	CU_ASSERT_EQUAL(witness_vkey_parse("a+0000+AQAA", 11, &back), SD_E_INVAL);
	CU_ASSERT_EQUAL(witness_vkey_parse("no plus", 7, &back), SD_E_INVAL);
	CU_ASSERT_EQUAL(witness_vkey_make("a b", WITNESS_TYPE_COSIG, pub, &k), SD_E_INVAL);
}

/* The cosignature in r verifies with the witness's key over note; a changed byte does not. */
static void
check_cosig(const struct witness_response *r, uint64_t size)
{
	char note[2048], key[PATH_MAX];
	uint8_t root[32];
	struct witness_signer *s = NULL;
	struct witness_vkey as_cosig;
	struct witness_note wn;
	uint64_t t = 0;
	size_t len;

	root_of(size, root);
	make_note(g_log, ORIGIN, size, root, note, sizeof(note));
	len = strlen(note);
	CU_ASSERT_FATAL(len + r->body_len < sizeof(note));
	memcpy(note + len, r->body, r->body_len + 1);
	CU_ASSERT_EQUAL_FATAL(witness_note_parse(note, strlen(note), &wn), 0);
	CU_ASSERT_EQUAL(wn.nsigs, 2);
	CU_ASSERT_FATAL(snprintf(key, sizeof(key), "%s/witness.key", g_dir) > 0);
	CU_ASSERT_EQUAL_FATAL(witness_signer_load(key, WNAME, &s), 0);
	CU_ASSERT_EQUAL(witness_cosig_verify(note, &wn, witness_signer_vkey(s), &t), 0);
	CU_ASSERT_EQUAL(t, NOW);
	/* The log's key as a cosigner key has another id: its line is not taken for a cosignature. */
	CU_ASSERT_EQUAL_FATAL(witness_vkey_make(ORIGIN, WITNESS_TYPE_COSIG, g_log_vk.pub, &as_cosig), 0);
	CU_ASSERT_EQUAL(witness_cosig_verify(note, &wn, &as_cosig, &t), SD_E_NOT_FOUND);
	note[strlen(ORIGIN) + 1] ^= 1;	/* the size line */
	CU_ASSERT_EQUAL(witness_cosig_verify(note, &wn, witness_signer_vkey(s), &t), SD_E_INVAL);
	witness_signer_free(s);
}

static void
test_add_checkpoint(void)
{
	struct witness_response *r = malloc(sizeof(*r));
	char state[PATH_MAX], req[8192], note[1024], bad[1024];
	uint8_t root[32], other[32];
	struct witness *w, *second = NULL;
	size_t len;
	int n;

	CU_ASSERT_FATAL(r != NULL);
	n = snprintf(state, sizeof(state), "%s/state", g_dir);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(state));
	w = open_witness(state);

	/* First sight: old 0, no proof. */
	CU_ASSERT_EQUAL(submit(w, 0, 5, NULL, r), 200);
	CU_ASSERT_EQUAL(memcmp(r->body, "\xe2\x80\x94 " WNAME " ", strlen(WNAME) + 5), 0);
	check_cosig(r, 5);
	/* old is not the latest: 409 with the size, text/x.tlog.size. */
	CU_ASSERT_EQUAL(submit(w, 0, 8, NULL, r), 409);
	CU_ASSERT_STRING_EQUAL(r->body, "5\n");
	CU_ASSERT_STRING_EQUAL(r->content_type, "text/x.tlog.size");
	CU_ASSERT_EQUAL(submit(w, 3, 8, NULL, r), 409);
	/* A real proof from 5 to 8 (merkle.c's), then to 13. */
	CU_ASSERT_EQUAL(submit(w, 5, 8, NULL, r), 200);
	check_cosig(r, 8);
	CU_ASSERT_EQUAL(submit(w, 8, 13, NULL, r), 200);
	/* The same size again, same root: cosigned again; another root: 422. */
	CU_ASSERT_EQUAL(submit(w, 13, 13, NULL, r), 200);
	root_of(12, other);
	CU_ASSERT_EQUAL(submit(w, 13, 13, other, r), 422);
	/* A rewritten history: a root the proof from 13 cannot reach. */
	root_of(20, root);
	root[0] ^= 1;
	CU_ASSERT_EQUAL(submit(w, 13, 20, root, r), 422);
	/* old over the checkpoint's size: 400. */
	CU_ASSERT_EQUAL(submit(w, 13, 12, NULL, r), 400);
	/* A proof that does not lead to the new root: the right size and root, another tree's proof. */
	root_of(20, root);
	make_note(g_log, ORIGIN, 20, root, note, sizeof(note));
	len = make_request(13, 21, note, req, sizeof(req));
	witness_add_checkpoint(w, req, len, NOW, r);
	CU_ASSERT_EQUAL(r->status, 422);
	/* Unknown origin: 404; signed by a key the witness does not know: 403; a bad signature: 403. */
	make_note(g_log, "other.example/log", 20, root, note, sizeof(note));
	len = make_request(13, 20, note, req, sizeof(req));
	witness_add_checkpoint(w, req, len, NOW, r);
	CU_ASSERT_EQUAL(r->status, 404);
	make_note(g_other, ORIGIN, 20, root, note, sizeof(note));
	len = make_request(13, 20, note, req, sizeof(req));
	witness_add_checkpoint(w, req, len, NOW, r);
	CU_ASSERT_EQUAL(r->status, 403);
	make_note(g_log, ORIGIN, 20, root, note, sizeof(note));
	memcpy(bad, note, sizeof(bad));
	bad[strlen(ORIGIN) + 2] = bad[strlen(ORIGIN) + 2] == '1' ? '2' : '1';	/* "20" -> "21"/"10": the signature fails */
	len = make_request(13, 20, bad, req, sizeof(req));
	witness_add_checkpoint(w, req, len, NOW, r);
	CU_ASSERT_EQUAL(r->status, 403);
	/* Malformed: 400. */
	witness_add_checkpoint(w, "old 13\n\nnot a note\n", 19, NOW, r);
	CU_ASSERT_EQUAL(r->status, 400);
	witness_add_checkpoint(w, "garbage", 7, NOW, r);
	CU_ASSERT_EQUAL(r->status, 400);
	/* Nothing above moved the state: 13 is still the latest. */
	CU_ASSERT_EQUAL(submit(w, 0, 13, NULL, r), 409);
	CU_ASSERT_STRING_EQUAL(r->body, "13\n");
	/* A second witness on the same state: refused by the lock. */
	{
		char key[PATH_MAX];
		struct witness_signer *s = NULL;

		CU_ASSERT_FATAL(snprintf(key, sizeof(key), "%s/witness.key", g_dir) > 0);
		CU_ASSERT_EQUAL_FATAL(witness_signer_load(key, WNAME, &s), 0);
		CU_ASSERT_EQUAL(witness_open(state, s, &g_log_vk, 1, &second), SD_E_IO);
		CU_ASSERT_PTR_NULL(second);
	}
	witness_close(w);

	/* Reopened: the state survived; the fork is still refused, the real history goes on. */
	w = open_witness(state);
	CU_ASSERT_EQUAL(submit(w, 0, 20, NULL, r), 409);
	CU_ASSERT_STRING_EQUAL(r->body, "13\n");
	root_of(20, root);
	root[0] ^= 1;
	CU_ASSERT_EQUAL(submit(w, 13, 20, root, r), 422);
	CU_ASSERT_EQUAL(submit(w, 13, 20, NULL, r), 200);
	/* The monitoring URL: the latest cosigned note, with the log's and the witness's lines. */
	{
		char hex[65];
		struct witness_note wn;
		struct witness_checkpoint cp;

		CU_ASSERT_EQUAL_FATAL(witness_origin_hash(ORIGIN, hex), 0);
		witness_get_checkpoint(w, hex, r);
		CU_ASSERT_EQUAL(r->status, 200);
		CU_ASSERT_EQUAL_FATAL(witness_note_parse(r->body, r->body_len, &wn), 0);
		CU_ASSERT_EQUAL(wn.nsigs, 2);
		CU_ASSERT_EQUAL_FATAL(witness_checkpoint_parse(r->body, wn.text_len, &cp), 0);
		CU_ASSERT_EQUAL(cp.size, 20);
		hex[0] = hex[0] == 'a' ? 'b' : 'a';
		witness_get_checkpoint(w, hex, r);
		CU_ASSERT_EQUAL(r->status, 404);
		witness_get_checkpoint(w, "../state", r);
		CU_ASSERT_EQUAL(r->status, 404);
	}
	witness_close(w);

	/* Size 0 and proofs from 0, on a fresh state. */
	n = snprintf(state, sizeof(state), "%s/state0", g_dir);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(state));
	w = open_witness(state);
	root_of(3, other);
	CU_ASSERT_EQUAL(submit(w, 0, 0, other, r), 422);
	CU_ASSERT_EQUAL(submit(w, 0, 0, NULL, r), 200);
	root_of(6, root);
	make_note(g_log, ORIGIN, 6, root, note, sizeof(note));
	len = (size_t)snprintf(req, sizeof(req), "old 0\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n%s", note);
	witness_add_checkpoint(w, req, len, NOW, r);
	CU_ASSERT_EQUAL(r->status, 422);
	witness_close(w);
	free(r);
}

static void
test_keys(void)
{
	char key[PATH_MAX], pub[PATH_MAX];
	struct witness_signer *s = NULL;
	struct witness_vkey vk;

	/* keygen refuses to replace a key. */
	CU_ASSERT_FATAL(snprintf(key, sizeof(key), "%s/witness.key", g_dir) > 0);
	CU_ASSERT_EQUAL(witness_key_generate(key), SD_E_IO);
	/* A key others may read is refused. */
	sd_test_write(g_dir, "open.key", "-----BEGIN PRIVATE KEY-----\n", 0644, pub);
	CU_ASSERT_EQUAL(witness_signer_load(pub, WNAME, &s), SD_E_INVAL);
	sd_test_write(g_dir, "junk.key", "junk\n", 0600, pub);
	CU_ASSERT_EQUAL(witness_signer_load(pub, WNAME, &s), SD_E_INVAL);
	CU_ASSERT_EQUAL(witness_signer_load(key, "bad name", &s), SD_E_INVAL);
	CU_ASSERT_PTR_NULL(s);
	/* A log key as PEM: any origin; a witness key as PEM: refused (no name). */
	{
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem = NULL, text[512];
		long n;

		CU_ASSERT_FATAL(bio != NULL && PEM_write_bio_PUBKEY(bio, g_other) == 1);
		n = BIO_get_mem_data(bio, &pem);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(text));
		memcpy(text, pem, (size_t)n);
		text[n] = '\0';
		BIO_free(bio);
		sd_test_write(g_dir, "log.pem", text, 0644, pub);
	}
	CU_ASSERT_EQUAL(witness_vkey_load(pub, WITNESS_TYPE_ED25519, &vk), 0);
	CU_ASSERT_STRING_EQUAL(vk.name, "");
	CU_ASSERT_EQUAL(witness_vkey_load(pub, WITNESS_TYPE_COSIG, &vk), SD_E_UNSUPPORTED);
}

static int
setup(void)
{
	char key[PATH_MAX];
	uint8_t pub[32];
	size_t plen = sizeof(pub);

	sd_test_tmpdir(g_dir, "witness");
	if ((g_log = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (g_other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    EVP_PKEY_get_raw_public_key(g_log, pub, &plen) != 1 ||
	    witness_vkey_make(ORIGIN, WITNESS_TYPE_ED25519, pub, &g_log_vk) != 0)
		return -1;
	if (snprintf(key, sizeof(key), "%s/witness.key", g_dir) <= 0 || witness_key_generate(key) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	static const struct sd_test_case parse[] = {
		{ "add-checkpoint request", test_request_parse },
		{ "signed note with cosignatures", test_note_parse },
		{ "vkey lines", test_vkey },
	};
	static const struct sd_test_case service[] = {
		{ "add-checkpoint answers and state", test_add_checkpoint },
		{ "witness and log key files", test_keys },
	};
	uint8_t leaf[8];
	size_t i;
	int rc;

	for (i = 0; i < LEAVES; i++) {
		memset(leaf, (int)i, sizeof(leaf));
		if (merkle_leaf_hash(leaf, sizeof(leaf), g_leaves[i]) != 0)
			return 1;
	}
	if (setup() != 0) {
		fprintf(stderr, "test_witness: setup failed\n");
		return 1;
	}
	SD_TEST_SUITE("witness parsing", parse);
	SD_TEST_SUITE("witness service", service);
	rc = sd_test_run("test_witness");
	EVP_PKEY_free(g_log);
	EVP_PKEY_free(g_other);
	sd_test_rmtree(g_dir);
	return rc;
}
