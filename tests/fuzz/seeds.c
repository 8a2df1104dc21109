/*
 * fuzz-seeds DIR: the seed inputs of the record and checkpoint targets,
 * made with the journal's own encoder (tests/fuzz/make_seeds.sh runs it).
 * Writes DIR/record/<type>.bin, one record of each type the decoder
 * takes, and DIR/checkpoint/<name>.txt, notes signed with the fixed key of
 * harness.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "harness.h"
#include "journal.h"
#include "journal/checkpoint_note.h"

static void
die(const char *what, int rc)
{
	fprintf(stderr, "fuzz-seeds: %s: %s\n", what, rc != 0 ? sd_error_detail(rc) : "failed");
	exit(1);
}

static void
put(const char *dir, const char *sub, const char *name, const void *data, size_t len)
{
	char path[4096];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		die(name, 0);
	fuzz_write_file(path, data, len);
}

static char *
note(uint64_t size, const uint8_t root[32], int64_t time_ms)
{
	char body[CHECKPOINT_NOTE_MAX], *out = NULL;
	uint8_t pub[32], id[4], sig[64];
	size_t body_len, sig_len = sizeof(sig);
	EVP_MD_CTX *md;
	int rc;

	fuzz_checkpoint_pub(pub);
	if ((rc = checkpoint_body(FUZZ_CHECKPOINT_ORIGIN, size, root, time_ms, body, sizeof(body), &body_len)) != 0 ||
	    (rc = checkpoint_key_id(FUZZ_CHECKPOINT_ORIGIN, pub, id)) != 0)
		die("checkpoint body", rc);
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, fuzz_checkpoint_key()) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)body, body_len) != 1)
		die("Ed25519 signature", 0);
	EVP_MD_CTX_free(md);
	if ((rc = checkpoint_note_assemble(body, body_len, FUZZ_CHECKPOINT_ORIGIN, id, sig, &out)) != 0)
		die("checkpoint note", rc);
	return out;
}

static void
record(const char *dir, struct journal_record *rec, uint64_t *seq, uint8_t prev[JOURNAL_HASH_LEN])
{
	char name[64];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rec->version = JOURNAL_FORMAT_VERSION;
	rec->seq = ++*seq;
	rec->time_ms = 1767225600000 + (int64_t)*seq * 1000;
	memcpy(rec->prev_hash, prev, JOURNAL_HASH_LEN);
	if ((rc = journal_record_encode(rec, &buf, &len)) != 0)
		die(journal_record_type_name(rec->type), rc);
	if (EVP_Digest(buf, len, prev, NULL, EVP_sha256(), NULL) != 1)
		die("SHA-256", 0);
	(void)snprintf(name, sizeof(name), "%02u-%s.bin", (unsigned)rec->type, journal_record_type_name(rec->type));
	put(dir, "record", name, buf, len);
	free(buf);
}

int
main(int argc, char **argv)
{
	uint8_t prev[JOURNAL_HASH_LEN] = { 0 }, serial[16], cert[96], spki[91], root[32];
	struct journal_record rec;
	uint64_t seq = 0;
	char *text;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	for (i = 0; i < sizeof(serial); i++)
		serial[i] = (uint8_t)(0x40 + i);
	/* Not real DER: the journal keeps the bytes it is given. */
	memset(cert, 0x30, sizeof(cert));
	memset(spki, 0x31, sizeof(spki));
	for (i = 0; i < sizeof(root); i++)
		root[i] = (uint8_t)(i * 7 + 1);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CEREMONY;
	rec.reason = "keygen";
	rec.phase = JOURNAL_CEREMONY_DONE;
	rec.actor = "root (uid 0)";
	rec.key_uri = "pkcs11:token=signerd-demo;object=intermediate-ca";
	rec.detail = "";
	rec.output = spki;
	rec.output_len = sizeof(spki);
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_SERVICE;
	rec.event = JOURNAL_SERVICE_START;
	memset(rec.config_sha256, 0x11, sizeof(rec.config_sha256));
	rec.detail = "signerd 0.1 pid 42";
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_ISSUANCE;
	rec.client_subject = "CN=issuer";
	memset(rec.client_spki_sha256, 0x22, sizeof(rec.client_spki_sha256));
	rec.profile = "server";
	memset(rec.csr_sha256, 0x33, sizeof(rec.csr_sha256));
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	rec.cert_der = cert;
	rec.cert_der_len = sizeof(cert);
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_INTENT;
	rec.client_subject = "CN=issuer,O=Example \xc3\xa9";
	memset(rec.client_spki_sha256, 0x22, sizeof(rec.client_spki_sha256));
	rec.profile = "server";
	memset(rec.csr_sha256, 0x44, sizeof(rec.csr_sha256));
	serial[0] = 0x41;
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	memset(rec.tbs_sha256, 0x55, sizeof(rec.tbs_sha256));
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_RESULT;
	rec.intent_seq = seq;
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	rec.cert_der = cert;
	rec.cert_der_len = sizeof(cert);
	record(argv[1], &rec, &seq, prev);

	/* An intent holding the whole TBS, and one closed as unresolved. */
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_INTENT_TBS;
	rec.client_subject = "CN=issuer";
	rec.profile = "server";
	serial[0] = 0x42;
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	rec.tbs_der = cert;
	rec.tbs_der_len = sizeof(cert);
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_UNRESOLVED;
	rec.intent_seq = seq;
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	memset(rec.tbs_sha256, 0x66, sizeof(rec.tbs_sha256));
	rec.detail = "found without a result at start-up";
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REFUSAL;
	rec.client_subject = "CN=issuer";
	memset(rec.client_spki_sha256, 0x22, sizeof(rec.client_spki_sha256));
	rec.profile = "server";
	rec.reason = "name-refused";
	rec.detail = "DNS name evil.example.org is under none of the dns_suffixes of profile server";
	record(argv[1], &rec, &seq, prev);

	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REFUSAL_SUMMARY;
	rec.window_start_ms = 1767225600000;
	rec.count = 1234;
	rec.detail = "refusals over 60 per minute";
	record(argv[1], &rec, &seq, prev);

	text = note(seq, root, 1767225700000);
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CHECKPOINT;
	rec.tree_size = seq;
	memcpy(rec.root_hash, root, sizeof(root));
	rec.note = text;
	record(argv[1], &rec, &seq, prev);
	put(argv[1], "checkpoint", "size7.txt", text, strlen(text));
	free(text);

	/* After the checkpoint, so that the tree of size7.txt stays the first seven records. */
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_REVOCATION;
	rec.serial = serial;
	rec.serial_len = sizeof(serial);
	rec.revocation_reason = JOURNAL_CRL_KEY_COMPROMISE;
	rec.client_subject = "CN=admin";
	memset(rec.client_spki_sha256, 0x66, sizeof(rec.client_spki_sha256));
	rec.detail = "key found in a public repository";
	record(argv[1], &rec, &seq, prev);

	/* After the revocation, so that the seeds before it stay as they were. */
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_ACME;
	rec.acme_event = JOURNAL_ACME_ACCOUNT_CREATED;
	rec.acme_account = "evOfKhNU60wg";
	memset(rec.acme_key_sha256, 0x77, sizeof(rec.acme_key_sha256));
	rec.acme_eab_kid = "kid-1";
	rec.profile = "tls-server";
	rec.detail = "mailto:ops@example.com";
	record(argv[1], &rec, &seq, prev);

	text = note(0, root, 0);
	put(argv[1], "checkpoint", "empty.txt", text, strlen(text));
	free(text);
	text = note(UINT64_C(18446744073709551615), root, INT64_MAX);
	put(argv[1], "checkpoint", "max.txt", text, strlen(text));
	free(text);
	return 0;
}
