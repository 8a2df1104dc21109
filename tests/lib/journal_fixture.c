/*
 * Helpers shared by the journal test programs (journal_fixture.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "journal.h"
#include "journal/checkpoint_note.h"
#include "journal_fixture.h"

static EVP_PKEY *tcert_key;

uint8_t *
tcert_der(uint64_t serial, int64_t nb, int64_t na, size_t *len)
{
	X509 *x = X509_new();
	uint8_t *der = NULL;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	if (tcert_key == NULL)
		tcert_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tcert_key);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1);
	CU_ASSERT_FATAL(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"t", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1);
	CU_ASSERT_FATAL(X509_set_pubkey(x, tcert_key) == 1);
	CU_ASSERT_FATAL(X509_sign(x, tcert_key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	X509_free(x);
	*len = (size_t)n;
	return der;
}

void
tcert_cleanup(void)
{
	EVP_PKEY_free(tcert_key);
	tcert_key = NULL;
}

void
be64_put(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

void
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

void
tiss_free(struct tiss *t)
{
	free(t->cert);
	t->cert = NULL;
}

void
sha256(const uint8_t *buf, size_t len, uint8_t out[JOURNAL_HASH_LEN])
{
	if (EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL) != 1)
		abort();
}

bool
detail_has(int err, const char *needle)
{
	const char *d = sd_error_detail(err);

	if (strstr(d, needle) != NULL)
		return true;
	fprintf(stderr, "\n    detail \"%s\" lacks \"%s\"\n", d, needle);
	return false;
}

/* Append ids first..first+n-1; each must get the next seq. */
void
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

void
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

void
tkey_init(struct tkey *k)
{
	size_t len = 32;

	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k->pkey);
	CU_ASSERT_FATAL(EVP_PKEY_get_raw_public_key(k->pkey, k->ak.ed25519, &len) == 1);
	k->ak.name = "test.signerd/journal";
	CU_ASSERT_EQUAL_FATAL(checkpoint_key_id(k->ak.name, k->ak.ed25519, k->id), 0);
}

int
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

void
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

void
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
