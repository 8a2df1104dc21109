/*
 * journal-fill: build a large journal for the verification benchmark.
 *
 *   journal-fill DIR N [CHECKPOINT_EVERY]
 *
 * Appends N records to the journal in DIR (created): issuance intent and
 * result pairs with 600-byte "certificates", a refusal every 50 records and
 * a checkpoint every CHECKPOINT_EVERY records (default 1000), signed with a
 * fresh software Ed25519 key whose public half is written to DIR.pub.pem
 * (the HSM is not the point here). Commits are batched 1000 records at a
 * time with MDB_NOSYNC. Then time:
 *
 *   signerctl audit verify --journal DIR --pubkey DIR.pub.pem
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "journal.h"
#include "journal/checkpoint_note.h"

#define FILL_BATCH 1000
#define FILL_ORIGIN "bench.signerd/journal"

struct fill_key {
	EVP_PKEY *pkey;
	uint8_t pub[32];
	uint8_t id[4];
};

static void
die(const char *what, int rc)
{
	fprintf(stderr, "journal-fill: %s: %s\n", what, rc != 0 ? sd_error_detail(rc) : "failed");
	exit(1);
}

static int
fill_sign(void *ctx, uint64_t size, const uint8_t root[32], int64_t time_ms, char **note)
{
	struct fill_key *k = ctx;
	EVP_MD_CTX *md;
	uint8_t sig[64];
	char body[CHECKPOINT_NOTE_MAX];
	size_t body_len, sig_len = sizeof(sig);
	int rc;

	if ((rc = checkpoint_body(FILL_ORIGIN, size, root, time_ms, body, sizeof(body), &body_len)) != 0)
		return rc;
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)body, body_len) != 1) {
		EVP_MD_CTX_free(md);
		return sd_error_set(SD_E_CRYPTO, "Ed25519 signing failed");
	}
	EVP_MD_CTX_free(md);
	return checkpoint_note_assemble(body, body_len, FILL_ORIGIN, k->id, sig, note);
}

int
main(int argc, char **argv)
{
	struct journal_options o = { (uint64_t)64 << 30, 0, true, 0 };
	struct journal_record recs[FILL_BATCH], *ptrs[FILL_BATCH];
	static uint8_t serials[FILL_BATCH][16];
	uint8_t cert[600];
	struct fill_key key;
	struct journal *j = NULL;
	char pubpath[4096];
	uint64_t n, every, last = 0, first, seq, done = 0, k = 0, cp, next;
	size_t len = 32, m, i;
	FILE *f;
	int rc;

	if (argc < 3 || (n = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: journal-fill DIR N [CHECKPOINT_EVERY]\n");
		return 2;
	}
	every = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
	if (every == 0)
		every = 1000;
	if ((key.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    EVP_PKEY_get_raw_public_key(key.pkey, key.pub, &len) != 1)
		die("Ed25519 key", 0);
	if ((rc = checkpoint_key_id(FILL_ORIGIN, key.pub, key.id)) != 0)
		die("key id", rc);
	if (snprintf(pubpath, sizeof(pubpath), "%s.pub.pem", argv[1]) >= (int)sizeof(pubpath) ||
	    (f = fopen(pubpath, "w")) == NULL || PEM_write_PUBKEY(f, key.pkey) != 1 || fclose(f) != 0)
		die("writing the public key", 0);
	if ((rc = journal_open_opts(argv[1], &o, &j)) != 0 || (rc = journal_last_seq(j, &last)) != 0)
		die("open", rc);
	memset(cert, 0x5a, sizeof(cert));
	while (done < n) {
		/* The next checkpoint's seq: the smallest multiple of every above last. */
		cp = (last / every + 1) * every;
		m = 0;
		while (m + 2 <= FILL_BATCH && done + m < n && last + m + 1 < cp) {
			next = last + m + 1;
			memset(&recs[m], 0, sizeof(recs[m]));
			recs[m].time_ms = 1700000000000LL + (int64_t)next;
			recs[m].client_subject = "CN=bench,O=signerd";
			recs[m].profile = "server";
			if (next % 50 == 0 || next + 1 == cp || done + m + 1 == n) {
				recs[m].type = JOURNAL_REC_REFUSAL;
				recs[m].reason = "name-refused";
				recs[m].detail = "DNS name evil.test is outside the profile";
				m++;
				continue;
			}
			k++;
			memcpy(serials[m], &k, sizeof(k));
			memcpy(serials[m] + 8, &k, sizeof(k));
			serials[m][0] |= 1;
			recs[m].type = JOURNAL_REC_INTENT;
			recs[m].serial = serials[m];
			recs[m].serial_len = sizeof(serials[m]);
			memset(recs[m].tbs_sha256, (int)(k & 0xff), 32);
			memset(&recs[m + 1], 0, sizeof(recs[m + 1]));
			recs[m + 1].type = JOURNAL_REC_RESULT;
			recs[m + 1].time_ms = recs[m].time_ms;
			recs[m + 1].intent_seq = next;
			recs[m + 1].serial = serials[m];
			recs[m + 1].serial_len = sizeof(serials[m]);
			recs[m + 1].cert_der = cert;
			recs[m + 1].cert_der_len = sizeof(cert);
			m += 2;
		}
		if (m > 0) {
			for (i = 0; i < m; i++)
				ptrs[i] = &recs[i];
			if ((rc = journal_append_batch(j, (const struct journal_record *const *)ptrs, m, &first)) != 0)
				die("append", rc);
			last += m;
			done += m;
		}
		if (last + 1 == cp && done < n) {
			if ((rc = journal_append_checkpoint(j, 1700000000000LL + (int64_t)cp, fill_sign, &key, &seq,
			    NULL)) != 0)
				die("checkpoint", rc);
			last = seq;
			done++;
		}
	}
	journal_close(j);
	EVP_PKEY_free(key.pkey);
	printf("journal-fill: %" PRIu64 " records in %s; public key %s\n", last, argv[1], pubpath);
	return 0;
}
