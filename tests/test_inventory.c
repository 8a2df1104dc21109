/*
 * The certificate index (include/journal.h "certificate inventory") on a
 * real LMDB environment: entries derived from real certificates, each
 * filter, pagination with cursors, the bounded scan, the rebuild giving the
 * same index, a journal without an index, journal_verify_full()
 * catching a tampered index, and an index that trails the journal.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "journal.h"
#include "journal_fixture.h"
#include "sd_test.h"

#define T0 1800000000		/* a fixed "now": 2027-01-15 */
#define DAY 86400

static EVP_PKEY *test_key;

/* A self-signed certificate valid [nb, na] with the SANs in san_conf ("DNS:a,IP:10.0.0.1"), as DER. */
static uint8_t *
make_cert(uint64_t serial, int64_t nb, int64_t na, const char *san_conf, size_t *len)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	uint8_t *der = NULL;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	if (test_key == NULL)
		test_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_PTR_NOT_NULL_FATAL(test_key);
	CU_ASSERT_FATAL(X509_set_version(x, 2) == 1);
	CU_ASSERT_FATAL(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL);
	CU_ASSERT_FATAL(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL);
	CU_ASSERT_FATAL(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"t", -1, -1, 0) == 1);
	CU_ASSERT_FATAL(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1);
	CU_ASSERT_FATAL(X509_set_pubkey(x, test_key) == 1);
	if (san_conf != NULL) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san_conf);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ext);
		CU_ASSERT_FATAL(X509_add_ext(x, ext, -1) == 1);
		X509_EXTENSION_free(ext);
	}
	CU_ASSERT_FATAL(X509_sign(x, test_key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	CU_ASSERT_FATAL(n > 0);
	X509_free(x);
	*len = (size_t)n;
	return der;
}

/* Journal one issuance (intent + result) and return the result's seq. */
static uint64_t
issue(struct journal *j, uint64_t id, const char *profile, const char *client, int64_t nb, int64_t na,
    const char *sans)
{
	struct journal_record r;
	uint8_t serial[8], *cert;
	uint64_t in = 0, out = 0;
	size_t len = 0;

	cert = make_cert(id, nb, na, sans, &len);
	rec_intent(&r, serial, id);
	/* Borrowed for the append only. */
	r.profile = (char *)(uintptr_t)profile;
	r.client_subject = (char *)(uintptr_t)client;
	memset(r.client_spki_sha256, (int)id, JOURNAL_HASH_LEN);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &in), 0);
	rec_result(&r, serial, in, cert, len);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &out), 0);
	OPENSSL_free(cert);
	return out;
}

static struct journal *
fresh(char dir[PATH_MAX])
{
	struct journal *j = NULL;

	sd_test_tmpdir(dir, "inventory");
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	return j;
}

static uint64_t
be64_get(const uint8_t b[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* Run q and return its page (fatal on error). */
static struct journal_cert_page *
list(struct journal *j, const struct journal_cert_query *q)
{
	struct journal_cert_page *p = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_certs_list(j, q, &p), 0);
	return p;
}

/* The serials (as the ids they were made from) of a whole listing, page by page; returns the count. */
static size_t
list_all(struct journal *j, struct journal_cert_query q, uint64_t *ids, size_t max, size_t *pages)
{
	struct journal_cert_page *p;
	char cursor[JOURNAL_CURSOR_MAX + 1] = "";
	size_t n = 0, i;

	*pages = 0;
	for (;;) {
		q.cursor = cursor[0] != '\0' ? cursor : NULL;
		p = list(j, &q);
		(*pages)++;
		for (i = 0; i < p->n; i++) {
			CU_ASSERT_FATAL(n < max);
			CU_ASSERT_EQUAL(p->items[i]->serial_len, 8);
			ids[n++] = be64_get(p->items[i]->serial);
		}
		if (p->next_cursor == NULL) {
			journal_cert_page_free(p);
			return n;
		}
		CU_ASSERT_FATAL(strlen(p->next_cursor) <= JOURNAL_CURSOR_MAX);
		(void)snprintf(cursor, sizeof(cursor), "%s", p->next_cursor);
		journal_cert_page_free(p);
	}
}

static void
test_entry_fields(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert *c = NULL;
	uint8_t serial[8], *der;
	size_t len = 0;
	uint64_t seq;

	seq = issue(j, 7, "server", "CN=alice,O=Example", T0, T0 + 30 * DAY,
	    "DNS:www.example.com,IP:192.0.2.1,IP:2001:db8::1,URI:spiffe://example.com/web,email:a@example.com");
	be64_put(serial, 7);
	CU_ASSERT_EQUAL_FATAL(journal_cert_get(j, serial, 8, &c), 0);
	CU_ASSERT_EQUAL(c->seq, seq);
	CU_ASSERT_EQUAL(c->intent_seq, seq - 1);
	CU_ASSERT(c->parsed);
	CU_ASSERT_EQUAL(c->not_before, T0);
	CU_ASSERT_EQUAL(c->not_after, T0 + 30 * DAY);
	CU_ASSERT_STRING_EQUAL(c->profile, "server");
	CU_ASSERT_STRING_EQUAL(c->client_subject, "CN=alice,O=Example");
	CU_ASSERT_EQUAL(c->client_spki_sha256[0], 7);
	CU_ASSERT_EQUAL_FATAL(c->n_sans, 5);
	CU_ASSERT_EQUAL(c->sans[0].type, JOURNAL_SAN_DNS);
	CU_ASSERT_STRING_EQUAL(c->sans[0].value, "www.example.com");
	CU_ASSERT_EQUAL(c->sans[1].type, JOURNAL_SAN_IP);
	CU_ASSERT_STRING_EQUAL(c->sans[1].value, "192.0.2.1");
	CU_ASSERT_STRING_EQUAL(c->sans[2].value, "2001:db8::1");
	CU_ASSERT_EQUAL(c->sans[3].type, JOURNAL_SAN_URI);
	CU_ASSERT_STRING_EQUAL(c->sans[3].value, "spiffe://example.com/web");
	CU_ASSERT_EQUAL(c->sans[4].type, JOURNAL_SAN_EMAIL);
	CU_ASSERT_STRING_EQUAL(c->sans[4].value, "a@example.com");
	der = make_cert(7, T0, T0 + 30 * DAY, NULL, &len);
	CU_ASSERT_PTR_NOT_NULL(c->cert_der);
	CU_ASSERT(c->cert_der_len > len);	/* the journaled one, with its SANs */
	OPENSSL_free(der);
	CU_ASSERT_STRING_EQUAL(journal_cert_status(c, T0), "valid");
	CU_ASSERT_STRING_EQUAL(journal_cert_status(c, T0 + 30 * DAY + 1), "expired");
	journal_cert_free(c);
	c = NULL;
	be64_put(serial, 8);
	CU_ASSERT_EQUAL(journal_cert_get(j, serial, 8, &c), SD_E_NOT_FOUND);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(journal_cert_get(j, serial, 21, &c), SD_E_NOT_FOUND);
	expect_verify(j, 2);
	{
		/* A SAN past INV_SAN_TEXT_MAX is keyed by its hash, and still found exactly. */
		struct journal_cert_query q = { .limit = 10 };
		struct journal_cert_page *p;
		char conf[400], uri[340];

		memset(uri, 'a', sizeof(uri) - 1);
		uri[sizeof(uri) - 1] = '\0';
		memcpy(uri, "https://example.com/", 20);
		(void)snprintf(conf, sizeof(conf), "DNS:example.com,URI:%s", uri);
		(void)issue(j, 9, "server", "CN=bob", T0, T0 + DAY, conf);
		q.san = uri;
		p = list(j, &q);
		CU_ASSERT_EQUAL_FATAL(p->n, 1);
		CU_ASSERT_EQUAL(p->items[0]->serial[7], 9);
		journal_cert_page_free(p);
		uri[300] = 'b';
		p = list(j, &q);
		CU_ASSERT_EQUAL(p->n, 0);
		journal_cert_page_free(p);
		/* A bare domain and its names: reversed labels keep them apart. */
		q.san = "example.com";
		p = list(j, &q);
		CU_ASSERT_EQUAL_FATAL(p->n, 1);
		CU_ASSERT_EQUAL(p->items[0]->serial[7], 9);
		journal_cert_page_free(p);
		q.san = "com.example";
		p = list(j, &q);
		CU_ASSERT_EQUAL(p->n, 0);
		journal_cert_page_free(p);
		expect_verify(j, 4);
	}
	journal_close(j);
	sd_test_rmtree(dir);
}

/* A certificate that does not parse is still indexed, as "unknown", and found by serial, profile and client. */
static void
test_entry_unparsed(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert_query q = { .limit = 10, .profile = "server" };
	struct journal_cert_page *p;
	struct journal_record r;
	uint8_t serial[8], cert[2] = { 0x30, 0x00 };
	uint64_t in = 0, out = 0;

	rec_intent(&r, serial, 1);
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &in), 0);
	rec_result(&r, serial, in, cert, sizeof(cert));
	CU_ASSERT_EQUAL_FATAL(journal_append(j, &r, &out), 0);
	p = list(j, &q);
	CU_ASSERT_EQUAL_FATAL(p->n, 1);
	CU_ASSERT(!p->items[0]->parsed);
	CU_ASSERT_STRING_EQUAL(journal_cert_status(p->items[0], T0), "unknown");
	journal_cert_page_free(p);
	/* Time filters never match it. */
	q.has_valid_at = true;
	q.valid_at = 0;
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 0);
	journal_cert_page_free(p);
	expect_verify(j, 2);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* Ten certificates: ids 1..10, profiles alternating, clients by thirds, validity staggered by a day. */
static void
fill10(struct journal *j)
{
	char san[128];
	uint64_t id;

	for (id = 1; id <= 10; id++) {
		(void)snprintf(san, sizeof(san), "DNS:h%llu.example.com,DNS:shared.example.com,DNS:h%llu.example.com",
		    (unsigned long long)id, (unsigned long long)id);
		(void)issue(j, id, id % 2 ? "server" : "client", id <= 3 ? "CN=a" : id <= 6 ? "CN=b" : "CN=c",
		    T0 + (int64_t)id * DAY, T0 + (int64_t)id * DAY + 10 * DAY, san);
	}
}

static size_t
ids_of(struct journal *j, struct journal_cert_query q, uint64_t *ids)
{
	size_t pages;

	if (q.limit == 0)
		q.limit = 100;
	return list_all(j, q, ids, 64, &pages);
}

static void
test_filters(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert_query q;
	uint64_t ids[64];
	size_t n;

	fill10(j);
	memset(&q, 0, sizeof(q));
	n = ids_of(j, q, ids);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT(ids[0] == 1 && ids[9] == 10);		/* journal order */
	q.profile = "client";
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 5 && ids[0] == 2 && ids[4] == 10);
	q.profile = "nope";
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 0);
	memset(&q, 0, sizeof(q));
	q.client = "CN=b";
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 3 && ids[0] == 4 && ids[2] == 6);
	q.profile = "server";				/* both: 5 */
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 1 && ids[0] == 5);
	memset(&q, 0, sizeof(q));
	q.san = "h7.example.com";
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 1 && ids[0] == 7);
	q.san = "shared.example.com";
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 10);
	q.san = "H7.example.com";			/* exact */
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 0);
	/* Valid at T0 + 12 days: not_before <= t (ids <= 12), not_after >= t (ids >= 2). */
	memset(&q, 0, sizeof(q));
	q.has_valid_at = true;
	q.valid_at = T0 + 12 * DAY;
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 9 && ids[0] == 2 && ids[8] == 10);	/* not_after order */
	q.valid_at = T0 + 2 * DAY + 10 * DAY;		/* exactly id 2's not_after: still valid */
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 9);
	q.valid_at = T0;
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 0);
	/* Expiring before T0 + 14 days: not_after = T0 + (id + 10) days < that: ids 1..3. */
	memset(&q, 0, sizeof(q));
	q.has_expires_before = true;
	q.expires_before = T0 + 14 * DAY;
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 3 && ids[0] == 1 && ids[2] == 3);
	q.has_valid_at = true;				/* and still valid at T0 + 12.5 days: id 2 expired at 12 */
	q.valid_at = T0 + 12 * DAY + DAY / 2;
	n = ids_of(j, q, ids);
	CU_ASSERT(n == 1 && ids[0] == 3);
	q.profile = "client";
	CU_ASSERT_EQUAL(ids_of(j, q, ids), 0);
	journal_close(j);
	sd_test_rmtree(dir);
}

static void
test_pages(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert_query q;
	struct journal_cert_page *p = NULL;
	uint64_t ids[64];
	size_t n, pages, i;

	fill10(j);
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	n = list_all(j, q, ids, 64, &pages);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(pages, 4);
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(ids[i], i + 1);
	/* A last page that fills exactly carries no cursor. */
	q.limit = 5;
	n = list_all(j, q, ids, 64, &pages);
	CU_ASSERT(n == 10 && pages == 2);
	/* The same through each driving index. */
	q.limit = 2;
	q.san = "shared.example.com";
	n = list_all(j, q, ids, 64, &pages);
	CU_ASSERT(n == 10 && pages == 5 && ids[9] == 10);
	q.san = NULL;
	q.has_expires_before = true;
	q.expires_before = T0 + 100 * DAY;
	n = list_all(j, q, ids, 64, &pages);
	CU_ASSERT(n == 10 && pages == 5 && ids[9] == 10);
	/* A cursor belongs to its filters. */
	q.cursor = NULL;
	p = list(j, &q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->next_cursor);
	q.cursor = p->next_cursor;
	q.expires_before = T0 + 99 * DAY;
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "other filters"));
	q.has_expires_before = false;
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	journal_cert_page_free(p);
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	q.cursor = "zz";
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	q.cursor = "01000000000000000000000000000000000X";
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	q.cursor = NULL;
	q.limit = 0;
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	q.limit = JOURNAL_CERTS_LIMIT_MAX + 1;
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &(struct journal_cert_page *){ NULL }), SD_E_INVAL);
	CU_ASSERT(detail_has(SD_E_INVAL, "limit"));
	journal_close(j);
	sd_test_rmtree(dir);
}

/* One page looks at most scan_max index entries, even when it finds nothing there. */
static void
test_bounded_scan(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert_query q;
	struct journal_cert_page *p;
	char cursor[JOURNAL_CURSOR_MAX + 1];
	uint64_t id;

	for (id = 1; id <= 25; id++)
		(void)issue(j, id, id == 23 ? "rare" : "server", "CN=same", T0, T0 + DAY, "DNS:x.example.com");
	memset(&q, 0, sizeof(q));
	q.client = "CN=same";		/* drives: the client index, 25 entries */
	q.profile = "rare";
	q.limit = 10;
	q.scan_max = 10;
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->scanned, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->next_cursor);
	(void)snprintf(cursor, sizeof(cursor), "%s", p->next_cursor);
	journal_cert_page_free(p);
	q.cursor = cursor;
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 0);
	CU_ASSERT_EQUAL(p->scanned, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->next_cursor);
	(void)snprintf(cursor, sizeof(cursor), "%s", p->next_cursor);
	journal_cert_page_free(p);
	p = list(j, &q);
	CU_ASSERT_EQUAL_FATAL(p->n, 1);
	CU_ASSERT_EQUAL(p->items[0]->serial[7], 23);
	CU_ASSERT_EQUAL(p->scanned, 5);
	CU_ASSERT_PTR_NULL(p->next_cursor);
	journal_cert_page_free(p);
	/* scan_max above the ceiling is the ceiling. */
	q.cursor = NULL;
	q.scan_max = 1000000;
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 1);
	CU_ASSERT_EQUAL(p->scanned, 25);
	journal_cert_page_free(p);
	/* A page ends once what it keeps reaches bytes_max, its cursor after its last item. */
	memset(&q, 0, sizeof(q));
	q.limit = 10;
	q.bytes_max = 1;
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p->next_cursor);
	(void)snprintf(cursor, sizeof(cursor), "%s", p->next_cursor);
	journal_cert_page_free(p);
	q.cursor = cursor;
	p = list(j, &q);
	CU_ASSERT_EQUAL_FATAL(p->n, 1);
	CU_ASSERT_EQUAL(p->items[0]->serial[7], 2);
	journal_cert_page_free(p);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* The raw LMDB environment of a closed journal, for what only an attacker or an old version writes. */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn)
{
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(env), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_set_maxdbs(*env, 16), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(*env, dir, 0, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

static void
raw_close(MDB_env *env, MDB_txn *txn)
{
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Bytes of a full listing, to compare two indexes. */
static char *
dump(struct journal *j)
{
	struct journal_cert_query q = { .limit = JOURNAL_CERTS_LIMIT_MAX };
	struct journal_cert_page *p = list(j, &q);
	char *out = calloc(1, 64 * 1024), line[512];
	size_t i, k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (i = 0; i < p->n; i++) {
		(void)snprintf(line, sizeof(line), "%llu %llu %lld %lld %lld %s %s %zu:",
		    (unsigned long long)p->items[i]->seq, (unsigned long long)p->items[i]->intent_seq,
		    (long long)p->items[i]->issued_ms, (long long)p->items[i]->not_before,
		    (long long)p->items[i]->not_after, p->items[i]->profile, p->items[i]->client_subject,
		    p->items[i]->n_sans);
		strncat(out, line, 64 * 1024 - strlen(out) - 1);
		for (k = 0; k < p->items[i]->n_sans; k++) {
			strncat(out, p->items[i]->sans[k].value, 64 * 1024 - strlen(out) - 1);
			strncat(out, ",", 64 * 1024 - strlen(out) - 1);
		}
		strncat(out, "\n", 64 * 1024 - strlen(out) - 1);
	}
	journal_cert_page_free(p);
	return out;
}

static void
test_reindex(void)
{
	char dir[PATH_MAX], *before, *after;
	struct journal *j = fresh(dir);
	struct journal_cert_query q = { .limit = 10 };
	struct journal_cert_page *p = NULL;
	struct journal_issuance *legacy;
	struct tiss t;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t n = 0, seq = 0;
	const char *names[] = { "inventory", "inv_meta" };
	size_t i;

	fill10(j);
	/* A legacy issuance is indexed too (its own intent). */
	tiss_init(&t, 99, 2);
	legacy = &t.in;
	CU_ASSERT_EQUAL_FATAL(journal_append_issuance(j, legacy, &seq), 0);
	tiss_free(&t);
	before = dump(j);
	CU_ASSERT_EQUAL(journal_certs_reindex(j, &n), 0);
	CU_ASSERT_EQUAL(n, 11);
	after = dump(j);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(after);
	expect_verify(j, 21);
	journal_close(j);

	/* A journal from before the index: the databases do not exist. */
	raw_open(dir, &env, &txn);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, names[i], 0, &dbi), 0);
		CU_ASSERT_EQUAL(mdb_drop(txn, dbi, 1), 0);
	}
	raw_close(env, txn);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &p), SD_E_NOT_FOUND);
	CU_ASSERT(detail_has(SD_E_NOT_FOUND, "signerctl certs reindex"));
	CU_ASSERT_EQUAL(journal_certs_reindex(j, &n), SD_E_JOURNAL);
	{
		struct journal_verify_report r;

		CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), SD_E_JOURNAL_CORRUPT);
		CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, "certificate index: missing"));
	}
	journal_close(j);
	/* A writer's open builds it. */
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	after = dump(j);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(after);
	free(before);
	expect_verify(j, 21);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* A read-only verify of the journal in dir fails, naming needle. */
static void
verify_fails(const char *dir, const char *needle)
{
	struct journal_verify_report r;
	struct journal *j = NULL;

	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), SD_E_JOURNAL_CORRUPT);
	CU_ASSERT(detail_has(SD_E_JOURNAL_CORRUPT, needle));
	journal_close(j);
}

/* Change the index behind the journal's back, expect verify to name it, and put it back. */
static void
tamper_expect(const char *dir, const char *db, const uint8_t *key, size_t klen, const void *val, size_t vlen,
    const char *needle)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)(uintptr_t)key }, v, old = { 0, NULL };
	uint8_t saved[4096];
	bool had;

	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, db, 0, &dbi), 0);
	had = mdb_get(txn, dbi, &k, &v) == 0;
	if (had) {
		CU_ASSERT_FATAL(v.mv_size <= sizeof(saved));
		memcpy(saved, v.mv_data, v.mv_size);
		old.mv_size = v.mv_size;
		old.mv_data = saved;
	}
	if (val == NULL) {
		CU_ASSERT_EQUAL(mdb_del(txn, dbi, &k, NULL), 0);
	} else {
		v.mv_size = vlen;
		v.mv_data = (void *)(uintptr_t)val;
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	raw_close(env, txn);
	verify_fails(dir, needle);
	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (had) {
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &old, 0), 0);
	} else {
		CU_ASSERT_EQUAL(mdb_del(txn, dbi, &k, NULL), 0);
	}
	raw_close(env, txn);
}

/* A key of the "inventory" database: kind, then up to two be64 values. */
static size_t
inv_key(uint8_t *key, uint8_t kind, uint64_t a, uint64_t b, bool two)
{
	key[0] = kind;
	be64_put(key + 1, a);
	if (!two)
		return 9;
	be64_put(key + 9, b);
	return 17;
}

static void
test_verify_tampered(void)
{
	char dir[PATH_MAX];
	struct journal *j = fresh(dir);
	struct journal_cert *c = NULL;
	uint8_t serial[8], ckey[9], *entry, ekey[17], akey[41], one = 1;
	size_t len;

	fill10(j);
	be64_put(serial, 4);
	CU_ASSERT_EQUAL_FATAL(journal_cert_get(j, serial, 8, &c), 0);
	journal_close(j);
	(void)inv_key(ckey, 'C', c->seq, 0, false);
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = { sizeof(ckey), ckey }, v;

		raw_open(dir, &env, &txn);
		CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "inventory", 0, &dbi), 0);
		CU_ASSERT_EQUAL_FATAL(mdb_get(txn, dbi, &k, &v), 0);
		len = v.mv_size;
		entry = malloc(len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(entry);
		memcpy(entry, v.mv_data, len);
		mdb_txn_abort(txn);
		mdb_env_close(env);
	}
	/* not_after ends at byte 50: version, flags, serial length, 8-byte serial, then five be64. */
	entry[50] ^= 1;
	tamper_expect(dir, "inventory", ckey, sizeof(ckey), entry, len, "differs in not_after");
	entry[50] ^= 1;
	entry[len - 1] ^= 1;	/* the last SAN's last byte */
	tamper_expect(dir, "inventory", ckey, sizeof(ckey), entry, len, "differs in the SANs");
	entry[len - 1] ^= 1;
	entry[10] ^= 1;		/* the serial's last byte */
	tamper_expect(dir, "inventory", ckey, sizeof(ckey), entry, len, "differs in the serial");
	entry[10] ^= 1;
	tamper_expect(dir, "inventory", ckey, sizeof(ckey), NULL, 0, "serial 0000000000000004");
	(void)inv_key(ekey, 'E', (uint64_t)c->not_after ^ (UINT64_C(1) << 63), c->seq, true);
	tamper_expect(dir, "inventory", ekey, sizeof(ekey), NULL, 0, "expiry entry of serial 0000000000000004");
	tamper_expect(dir, "inventory", ekey, sizeof(ekey), &one, 1, "unexpected bytes");
	memset(akey, 's', sizeof(akey));	/* an 's' 's' ... key: no SAN has it */
	tamper_expect(dir, "inventory", akey, sizeof(akey), "", 0, "stray entries");
	(void)inv_key(ckey, 'C', 1000, 0, false);
	tamper_expect(dir, "inventory", ckey, sizeof(ckey), entry, len, "stray entries");
	free(entry);
	journal_cert_free(c);
	/* Put back exactly: verify holds again. */
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	expect_verify(j, 20);
	journal_close(j);
	sd_test_rmtree(dir);
}

/* through and last of the index (fatal on error). */
static void
indexed(struct journal *j, uint64_t *through, uint64_t *last)
{
	CU_ASSERT_EQUAL_FATAL(journal_certs_indexed(j, through, last), 0);
}

/* Set inv_meta's "through" (or delete it with NULL) and its "version" behind the journal's back. */
static void
meta_set(const char *dir, const uint64_t *through, uint8_t version)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t b[8];
	MDB_val tk = { 7, (void *)(uintptr_t)"through" }, vk = { 7, (void *)(uintptr_t)"version" };
	MDB_val tv = { 8, b }, vv = { 1, &version };

	raw_open(dir, &env, &txn);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "inv_meta", 0, &dbi), 0);
	if (through != NULL) {
		be64_put(b, *through);
		CU_ASSERT_EQUAL(mdb_put(txn, dbi, &tk, &tv, 0), 0);
	} else {
		CU_ASSERT_EQUAL(mdb_del(txn, dbi, &tk, NULL), 0);
	}
	CU_ASSERT_EQUAL(mdb_put(txn, dbi, &vk, &vv, 0), 0);
	raw_close(env, txn);
}

static void
test_trailing(void)
{
	char dir[PATH_MAX], *before, *after;
	struct journal_options o = { MAP_DEFAULT, 0, false, 20 };
	struct journal_cert_query q = { .limit = 100 };
	struct journal_verify_report r;
	struct journal_cert_page *p;
	struct journal_cert *c = NULL, *d = NULL;
	struct journal_stats st;
	struct journal *j = fresh(dir);
	uint8_t serial[8];
	uint64_t through, last, at;
	pid_t pid;
	int status, i;

	/* Appends leave the index behind; get by serial derives what it lacks. */
	fill10(j);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 0);
	CU_ASSERT_EQUAL(last, 20);
	be64_put(serial, 7);
	CU_ASSERT_EQUAL_FATAL(journal_cert_get(j, serial, 8, &c), 0);
	CU_ASSERT_EQUAL(c->seq, 14);
	CU_ASSERT_EQUAL(c->n_sans, 3);
	CU_ASSERT_PTR_NOT_NULL(c->cert_der);
	/* A query catches up first: all ten, and the same entry from the index. */
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 10);
	journal_cert_page_free(p);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 20);
	CU_ASSERT_EQUAL_FATAL(journal_cert_get(j, serial, 8, &d), 0);
	CU_ASSERT_EQUAL(d->not_after, c->not_after);
	CU_ASSERT_STRING_EQUAL(d->sans[1].value, c->sans[1].value);
	CU_ASSERT_EQUAL(d->cert_der_len, c->cert_der_len);
	journal_cert_free(c);
	journal_cert_free(d);
	before = dump(j);
	journal_close(j);

	/* A crash between appends and the next batch: the index trails, verify holds, the next open catches up. */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		j = NULL;
		if (journal_open(dir, MAP_DEFAULT, &j) != 0)
			_exit(2);
		(void)issue(j, 11, "server", "CN=d", T0, T0 + DAY, "DNS:late.example.com");
		_exit(0);	/* no close: nothing indexes it */
	}
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 20);
	CU_ASSERT_EQUAL(last, 22);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), 0);
	p = list(j, &q);
	CU_ASSERT_EQUAL(p->n, 10);	/* a reader sees what was indexed */
	journal_cert_page_free(p);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 22);
	expect_verify(j, 22);
	journal_close(j);

	/* The indexing thread catches up on its own. */
	CU_ASSERT_EQUAL_FATAL(journal_open_opts(dir, &o, &j), 0);
	(void)issue(j, 12, "server", "CN=d", T0, T0 + DAY, "DNS:later.example.com");
	for (i = 0, at = 0; i < 200 && at < 24; i++) {
		indexed(j, &at, &last);
		if (at < 24)
			sd_test_sleep_ms(10);
	}
	CU_ASSERT_EQUAL(at, 24);
	journal_stats_get(j, &st);
	CU_ASSERT(st.index_batches >= 1);
	CU_ASSERT_EQUAL(st.indexed_through, 24);
	CU_ASSERT_EQUAL(st.index_failures, 0);
	journal_close(j);

	/* An index of version 1 (no "through") is complete up to the last record. */
	meta_set(dir, NULL, 1);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 24);
	CU_ASSERT_EQUAL(journal_verify_full(j, NULL, &r), 0);
	journal_close(j);
	/* "through" short of entries that exist: they are stray; past the journal: refused. */
	through = 22;
	meta_set(dir, &through, 2);
	verify_fails(dir, "stray entries");
	through = 30;
	meta_set(dir, &through, 2);
	verify_fails(dir, "past the last");
	/* A version this build does not know: readers find no index, a writer's open rebuilds it. */
	through = 24;
	meta_set(dir, &through, 9);
	CU_ASSERT_EQUAL_FATAL(journal_open_readonly(dir, &j), 0);
	CU_ASSERT_EQUAL(journal_certs_list(j, &q, &p), SD_E_NOT_FOUND);
	journal_close(j);
	CU_ASSERT_EQUAL_FATAL(journal_open(dir, MAP_DEFAULT, &j), 0);
	indexed(j, &through, &last);
	CU_ASSERT_EQUAL(through, 24);
	after = dump(j);
	CU_ASSERT(strncmp(after, before, strlen(before)) == 0);	/* the first ten as before, then the two later */
	expect_verify(j, 24);
	free(after);
	free(before);
	journal_close(j);
	sd_test_rmtree(dir);
}

int
main(void)
{
	static const struct sd_test_case entries[] = {
		{ "validity, SANs, client and profile of a real certificate; get by serial", test_entry_fields },
		{ "a certificate that does not parse is indexed as unknown", test_entry_unparsed },
	};
	static const struct sd_test_case queries[] = {
		{ "each filter and their combinations", test_filters },
		{ "pages and cursors through each driving index; bad cursors and limits", test_pages },
		{ "a page scans at most scan_max entries and says where to go on", test_bounded_scan },
	};
	static const struct sd_test_case rebuild[] = {
		{ "reindex gives the same index; an old journal gets one at a writer's open", test_reindex },
		{ "verify names a tampered, missing or stray index entry", test_verify_tampered },
		{ "the index trails the journal: batches, a crash, the thread, older and newer versions", test_trailing },
	};
	int rc;

	SD_TEST_SUITE("inventory_entries", entries);
	SD_TEST_SUITE("inventory_queries", queries);
	SD_TEST_SUITE("inventory_rebuild", rebuild);
	rc = sd_test_run("test_inventory");
	EVP_PKEY_free(test_key);
	return rc;
}
