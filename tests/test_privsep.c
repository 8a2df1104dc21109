/*
 * Privilege separation (signer/privsep/): the frame and message codecs
 * refuse every malformed or oversized input, and the signer's side ends a
 * front that breaks its permit table and refuses calls the configuration
 * does not allow, attacked by tests/tools/privsep/privsep_evil.c.
 */
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "privsep.h"
#include "privsep/privsep_msg.h"
#include "sd_test.h"

static char tmp[PATH_MAX];
static char evil[PATH_MAX];

/* --- frames --- */

static void
test_frame_round_trip(void)
{
	uint8_t *p = NULL;
	uint32_t type;
	size_t len;
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_EQUAL(ps_frame_send(sv[0], PS_HEALTH, NULL, 0), 0);
	CU_ASSERT_EQUAL(ps_frame_send(sv[0], PS_ISSUE, "abc", 3), 0);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 16, &type, &p, &len), 0);
	CU_ASSERT_EQUAL(type, PS_HEALTH);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 16, &type, &p, &len), 0);
	CU_ASSERT_EQUAL(type, PS_ISSUE);
	CU_ASSERT_TRUE(len == 3 && p != NULL && memcmp(p, "abc", 3) == 0);
	free(p);
	/* Over the reader's limit: refused on the header, nothing allocated. */
	CU_ASSERT_EQUAL(ps_frame_send(sv[0], PS_ISSUE, "0123456789", 10), 0);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 9, &type, &p, &len), SD_E_TOO_LARGE);
	CU_ASSERT_PTR_NULL(p);
	close(sv[0]);
	close(sv[1]);
}

static void
test_frame_truncated(void)
{
	uint8_t head[8] = { 0, 0, 0, PS_ISSUE, 0, 0, 0, 100 }, *p = NULL;
	uint32_t type;
	size_t len;
	int sv[2];

	/* The peer closes before a frame: end of file, not an error. */
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	close(sv[0]);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 1024, &type, &p, &len), SD_E_NOT_FOUND);
	close(sv[1]);
	/* Inside a header. */
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_EQUAL(write(sv[0], head, 5), 5);
	close(sv[0]);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 1024, &type, &p, &len), SD_E_IO);
	close(sv[1]);
	/* Inside a payload. */
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CU_ASSERT_EQUAL(write(sv[0], head, 8), 8);
	CU_ASSERT_EQUAL(write(sv[0], "short", 5), 5);
	close(sv[0]);
	CU_ASSERT_EQUAL(ps_frame_recv(sv[1], 1024, &type, &p, &len), SD_E_IO);
	CU_ASSERT_PTR_NULL(p);
	close(sv[1]);
}

static void
test_codec_bounds(void)
{
	static const uint8_t no_nul[] = { 0, 0, 0, 2, 'a', 'b' };
	static const uint8_t inner_nul[] = { 0, 0, 0, 3, 'a', 0, 0 };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 'a', 0 };
	static const uint8_t ok[] = { 0, 0, 0, 2, 'a', 0, 7 };
	struct ps_in in;
	size_t len;

	ps_in_init(&in, no_nul, sizeof(no_nul));
	CU_ASSERT_STRING_EQUAL(ps_in_str(&in, 16), "");
	CU_ASSERT_FALSE(ps_in_done(&in));
	ps_in_init(&in, inner_nul, sizeof(inner_nul));
	(void)ps_in_str(&in, 16);
	CU_ASSERT_FALSE(ps_in_done(&in));
	ps_in_init(&in, huge, sizeof(huge));
	CU_ASSERT_PTR_NULL(ps_in_bytes(&in, SIZE_MAX, &len));
	CU_ASSERT_FALSE(ps_in_done(&in));
	/* One more byte than the string's limit. */
	ps_in_init(&in, ok, sizeof(ok));
	(void)ps_in_str(&in, 0);
	CU_ASSERT_FALSE(ps_in_done(&in));
	/* Within limits, but a byte is left over. */
	ps_in_init(&in, ok, sizeof(ok));
	CU_ASSERT_STRING_EQUAL(ps_in_str(&in, 1), "a");
	CU_ASSERT_FALSE(ps_in_done(&in));
	CU_ASSERT_EQUAL(ps_in_u8(&in), 7);
	CU_ASSERT_TRUE(ps_in_done(&in));
	/* Negative numbers survive the trip. */
	{
		struct ps_out o;

		ps_out_init(&o);
		ps_out_i32(&o, SD_E_INTERNAL);
		ps_out_i32(&o, INT32_MIN);
		CU_ASSERT_FATAL(!ps_out_failed(&o));
		ps_in_init(&in, o.data, o.len);
		CU_ASSERT_EQUAL(ps_in_i32(&in), SD_E_INTERNAL);
		CU_ASSERT_EQUAL(ps_in_i32(&in), INT32_MIN);
		CU_ASSERT_TRUE(ps_in_done(&in));
		ps_out_free(&o);
	}
}

/* --- messages --- */

static const struct signer_san sans[] = {
	{ SIGNER_SAN_DNS, "a.example.com", 13 },
	{ SIGNER_SAN_IP, "10.0.0.1", 8 },
	{ SIGNER_SAN_URI, "spiffe://example.com/x", 22 },
};

static void
issue_request(struct signer_request *req)
{
	memset(req, 0, sizeof(*req));
	req->csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n";
	req->csr_pem_len = strlen(req->csr_pem);
	req->profile = "server";
	req->ttl = 3600;
	req->client_subject = "CN=issuer,O=Example";
	memset(req->client_spki_sha256, 0xab, sizeof(req->client_spki_sha256));
	req->sans = sans;
	req->n_sans = 3;
}

static void
test_issue_round_trip(void)
{
	struct signer_request req;
	struct ps_issue *m = malloc(sizeof(*m));
	struct ps_out o;
	size_t i, cut;

	CU_ASSERT_FATAL(m != NULL);
	issue_request(&req);
	ps_out_init(&o);
	ps_issue_encode(&o, "issuer", &req);
	CU_ASSERT_FATAL(!ps_out_failed(&o));
	CU_ASSERT_EQUAL_FATAL(ps_issue_decode(o.data, o.len, m), 0);
	CU_ASSERT_STRING_EQUAL(m->client, "issuer");
	CU_ASSERT_PTR_NULL(m->req.reenroll_serial);
	CU_ASSERT_STRING_EQUAL(m->req.profile, "server");
	CU_ASSERT_STRING_EQUAL(m->req.client_subject, "CN=issuer,O=Example");
	CU_ASSERT_EQUAL(m->req.ttl, 3600);
	CU_ASSERT_EQUAL(m->req.csr_pem_len, req.csr_pem_len);
	CU_ASSERT_EQUAL(memcmp(m->req.csr_pem, req.csr_pem, req.csr_pem_len), 0);
	CU_ASSERT_EQUAL(memcmp(m->req.client_spki_sha256, req.client_spki_sha256, 32), 0);
	CU_ASSERT_EQUAL_FATAL(m->req.n_sans, 3);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(m->req.sans[i].type, sans[i].type);
		CU_ASSERT_TRUE(m->req.sans[i].len == sans[i].len &&
		    memcmp(m->req.sans[i].value, sans[i].value, sans[i].len) == 0);
	}
	/* Every truncation, and one byte too many, is refused. */
	for (cut = 0; cut < o.len; cut++)
		CU_ASSERT_EQUAL(ps_issue_decode(o.data, cut, m), SD_E_INVAL);
	ps_out_u8(&o, 0);
	CU_ASSERT_EQUAL(ps_issue_decode(o.data, o.len, m), SD_E_INVAL);
	ps_out_free(&o);
	free(m);
}

/* Encode req as the front would, then change it: the decoder must refuse. */
static int
issue_decode_of(const char *cn, const struct signer_request *req)
{
	struct ps_issue *m = malloc(sizeof(*m));
	struct ps_out o;
	int rc;

	CU_ASSERT_FATAL(m != NULL);
	ps_out_init(&o);
	ps_issue_encode(&o, cn, req);
	rc = ps_out_failed(&o) ? SD_E_NOMEM : ps_issue_decode(o.data, o.len, m);
	ps_out_free(&o);
	free(m);
	return rc;
}

/* A busy refusal crosses the channel whole: its code, its detail and its Retry-After. */
static void
test_status_busy(void)
{
	struct ps_out out;
	struct ps_in in;
	int rc = 0;

	ps_out_init(&out);
	(void)sd_error_set(SD_E_BUSY, "the HSM is busy: the wait queue is full");
	sd_error_set_retry_after(3);
	ps_status_encode(&out, SD_E_BUSY, sd_error_detail(SD_E_BUSY));
	CU_ASSERT_FATAL(!ps_out_failed(&out));
	sd_error_clear();
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_status_decode(&in, &rc), 0);
	CU_ASSERT_EQUAL(rc, SD_E_BUSY);
	CU_ASSERT_STRING_EQUAL(sd_error_detail(rc), "the HSM is busy: the wait queue is full");
	CU_ASSERT_EQUAL(sd_error_retry_after(rc), 3);
	CU_ASSERT_TRUE(ps_in_done(&in));
	ps_out_free(&out);
	sd_error_clear();
}

static void
test_issue_refused(void)
{
	struct signer_san many[SIGNER_SAN_MAX + 1], bad_type = { 9, "x", 1 };
	struct signer_san long_value = { SIGNER_SAN_URI, NULL, SIGNER_SAN_VALUE_MAX + 1 };
	struct signer_request req;
	char *big;
	size_t i;

	issue_request(&req);
	CU_ASSERT_EQUAL(issue_decode_of("", &req), SD_E_INVAL);
	/* A holder's re-enrollment names the certificate instead of a client: one or the other. */
	req.reenroll_serial = "7f0102";
	CU_ASSERT_EQUAL(issue_decode_of("", &req), 0);
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_INVAL);
	req.reenroll_serial = "7f01020304050607080910111213141516171819a";	/* 41 characters */
	CU_ASSERT_EQUAL(issue_decode_of("", &req), SD_E_INVAL);
	req.reenroll_serial = NULL;
	req.profile = "";
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_INVAL);
	issue_request(&req);
	req.sans = &bad_type;
	req.n_sans = 1;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_INVAL);
	/* The encoder itself will not write more SANs than a request may hold. */
	for (i = 0; i <= SIGNER_SAN_MAX; i++)
		many[i] = sans[0];
	req.sans = many;
	req.n_sans = SIGNER_SAN_MAX + 1;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_NOMEM);
	req.n_sans = SIGNER_SAN_MAX;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), 0);
	big = malloc(SIGNER_CSR_MAX + SIGNER_SAN_VALUE_MAX + 2);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'A', SIGNER_CSR_MAX + SIGNER_SAN_VALUE_MAX + 2);
	long_value.value = big;
	req.sans = &long_value;
	req.n_sans = 1;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_INVAL);
	issue_request(&req);
	req.csr_pem = big;
	req.csr_pem_len = SIGNER_CSR_MAX + 1;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), SD_E_INVAL);
	req.csr_pem_len = SIGNER_CSR_MAX;
	CU_ASSERT_EQUAL(issue_decode_of("issuer", &req), 0);
	free(big);
}

static void
test_audit_and_config(void)
{
	struct ps_audit a = { "auditor", 5, 100, "0a0b" }, got;
	struct ps_config c = { "/etc/signerd/signerd.conf", "[api]\n", 7, -1, 16 }, cgot;
	struct ps_out o;

	ps_out_init(&o);
	ps_audit_encode(&o, PS_AUDIT_RECORDS, &a);
	CU_ASSERT_EQUAL(ps_audit_decode(PS_AUDIT_RECORDS, o.data, o.len, &got), 0);
	CU_ASSERT_TRUE(got.from == 5 && got.limit == 100 && strcmp(got.client, "auditor") == 0);
	/* The same bytes are no proof request, and no other type decodes. */
	CU_ASSERT_EQUAL(ps_audit_decode(PS_AUDIT_PROOF, o.data, o.len, &got), SD_E_INVAL);
	CU_ASSERT_EQUAL(ps_audit_decode(PS_ISSUE, o.data, o.len, &got), SD_E_INVAL);
	ps_out_free(&o);
	a.limit = SIGNER_AUDIT_RECORDS_MAX + 1;
	ps_out_init(&o);
	ps_audit_encode(&o, PS_AUDIT_RECORDS, &a);
	CU_ASSERT_EQUAL(ps_audit_decode(PS_AUDIT_RECORDS, o.data, o.len, &got), SD_E_INVAL);
	ps_out_free(&o);
	a.serial_hex = "00112233445566778899aabbccddeeff001122330";	/* 41 digits */
	ps_out_init(&o);
	ps_audit_encode(&o, PS_AUDIT_PROOF, &a);
	CU_ASSERT_EQUAL(ps_audit_decode(PS_AUDIT_PROOF, o.data, o.len, &got), SD_E_INVAL);
	ps_out_free(&o);

	ps_out_init(&o);
	ps_config_encode(&o, &c);
	CU_ASSERT_EQUAL(ps_config_decode(o.data, o.len, &cgot), 0);
	CU_ASSERT_TRUE(cgot.text_len == 6 && strcmp(cgot.text, "[api]\n") == 0 && cgot.port == -1 &&
	    cgot.channels == 16);
	ps_out_free(&o);
	c.channels = 257;
	ps_out_init(&o);
	ps_config_encode(&o, &c);
	CU_ASSERT_EQUAL(ps_config_decode(o.data, o.len, &cgot), SD_E_INVAL);
	ps_out_free(&o);
	c.channels = 1;
	c.text_len = 6;	/* without its NUL */
	ps_out_init(&o);
	ps_config_encode(&o, &c);
	CU_ASSERT_EQUAL(ps_config_decode(o.data, o.len, &cgot), SD_E_INVAL);
	ps_out_free(&o);
}

/* --- the signer against a hostile front --- */

static const char *config_text =
    "[hsm]\n"
    "module = /usr/lib/softhsm/libsofthsm2.so\n"
    "token = pkcs11:token=t\n"
    "pin_file = pin\n"
    "[ca]\n"
    "key = pkcs11:token=t;object=ica\n"
    "certificate = ca.pem\n"
    "chain = chain.pem\n"
    "[journal]\n"
    "path = journal\n"
    "[process]\n"
    "user = root\n"
    "[api]\n"
    "tls_certificate = server.pem\n"
    "tls_key = server.key\n"
    "client_ca = client-ca.pem\n"
    "workers = 2\n"
    "max_connections = 16\n"
    "[profile server]\n"
    "default_ttl = 2h\n"
    "max_ttl = 1d\n"
    "key_usage = digitalSignature\n"
    "ext_key_usage = serverAuth\n"
    "dns_suffixes = example.com\n"
    "[profile internal]\n"
    "default_ttl = 2h\n"
    "max_ttl = 1d\n"
    "key_usage = digitalSignature\n"
    "ext_key_usage = serverAuth\n"
    "dns_suffixes = internal.example\n"
    "[client issuer]\n"
    "roles = issuer\n"
    "profiles = server\n"
    "[client auditor]\n"
    "subject_cn = audit-team\n"
    "roles = auditor\n"
    "[client pinned]\n"
    "spki_sha256 = 2222222222222222222222222222222222222222222222222222222222222222\n"
    "roles = issuer\n"
    "profiles = server\n";

/* Start privsep-evil in mode against a signer with no HSM behind it (every refusal comes first). */
static struct privsep_front *
evil_start(const char *mode, struct sd_config **cfg)
{
	struct privsep_front *f = NULL;

	CU_ASSERT_EQUAL_FATAL(sd_config_parse("/nonexistent/signerd.conf", config_text, strlen(config_text), cfg), 0);
	CU_ASSERT_FATAL(setenv("PRIVSEP_EVIL", mode, 1) == 0);
	CU_ASSERT_EQUAL_FATAL(privsep_front_spawn(evil, *cfg, config_text, strlen(config_text), -1, &f), 0);
	CU_ASSERT_EQUAL_FATAL(privsep_front_serve(f, *cfg, NULL), 0);
	return f;
}

/* A front that breaks the permit table is killed: its control channel closes within 5 s. */
static void
expect_killed(const char *mode)
{
	struct sd_config *cfg = NULL;
	struct privsep_front *f = evil_start(mode, &cfg);
	struct pollfd p = { privsep_front_fd(f), POLLIN, 0 };
	int rc;

	CU_ASSERT_EQUAL(poll(&p, 1, 5000), 1);
	rc = privsep_front_stop(f);
	CU_ASSERT_EQUAL(rc, SD_E_IO);
	if (rc != SD_E_IO || strstr(sd_error_detail(rc), "signal 9") == NULL)
		fprintf(stderr, "%s: front ended: %s\n", mode, sd_error_detail(rc));
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(rc), "signal 9"));
	sd_config_free(cfg);
}

/* A well-formed call the configuration does not allow is answered with a refusal. */
static void
expect_refused(const char *mode)
{
	struct sd_config *cfg = NULL;
	struct privsep_front *f = evil_start(mode, &cfg);
	struct pollfd p = { privsep_front_fd(f), POLLIN, 0 };
	uint16_t answer = 0;

	CU_ASSERT_EQUAL(privsep_front_ready(f, &answer), 0);
	if (answer != 1)
		fprintf(stderr, "%s: the signer did not refuse\n", mode);
	CU_ASSERT_EQUAL(answer, 1);
	/* It exits by itself (status 0), not killed: let it finish before stopping. */
	CU_ASSERT_EQUAL(poll(&p, 1, 5000), 1);
	CU_ASSERT_EQUAL(privsep_front_stop(f), 0);
	sd_config_free(cfg);
}

/* The inventory's requests: round trips, every truncation refused, each bound kept. */
static void
test_certs_messages(void)
{
	struct signer_certs_query q = { "server", "CN=issuer,O=Example", "www.example.com", true, 1700000000, true,
	    -5, "01ab", 1000 };
	struct signer_caller c = { "issuer", "CN=issuer,O=Example", { 7 } };
	struct ps_certs_list lgot;
	struct ps_cert_get ggot;
	struct ps_out o;
	size_t cut;

	ps_out_init(&o);
	ps_certs_list_encode(&o, "auditor", &q);
	CU_ASSERT_EQUAL_FATAL(ps_certs_list_decode(o.data, o.len, &lgot), 0);
	CU_ASSERT_TRUE(strcmp(lgot.client, "auditor") == 0 && strcmp(lgot.q.profile, "server") == 0 &&
	    strcmp(lgot.q.client, q.client) == 0 && strcmp(lgot.q.san, q.san) == 0 && lgot.q.has_valid_at &&
	    lgot.q.valid_at == 1700000000 && lgot.q.has_expires_before && lgot.q.expires_before == -5 &&
	    strcmp(lgot.q.cursor, "01ab") == 0 && lgot.q.limit == 1000);
	for (cut = 0; cut < o.len; cut++)
		CU_ASSERT_EQUAL(ps_certs_list_decode(o.data, cut, &lgot), SD_E_INVAL);
	ps_out_free(&o);
	/* Absent filters stay absent. */
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	ps_out_init(&o);
	ps_certs_list_encode(&o, "auditor", &q);
	CU_ASSERT_EQUAL(ps_certs_list_decode(o.data, o.len, &lgot), 0);
	CU_ASSERT_TRUE(lgot.q.profile == NULL && lgot.q.client == NULL && lgot.q.san == NULL && lgot.q.cursor == NULL &&
	    !lgot.q.has_valid_at && !lgot.q.has_expires_before);
	ps_out_free(&o);
	q.limit = SIGNER_CERTS_LIMIT_MAX + 1;
	ps_out_init(&o);
	ps_certs_list_encode(&o, "auditor", &q);
	CU_ASSERT_EQUAL(ps_certs_list_decode(o.data, o.len, &lgot), SD_E_INVAL);
	ps_out_free(&o);
	q.limit = 1;
	q.cursor = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890";	/* 131 characters */
	ps_out_init(&o);
	ps_certs_list_encode(&o, "auditor", &q);
	CU_ASSERT_EQUAL(ps_certs_list_decode(o.data, o.len, &lgot), SD_E_INVAL);
	ps_out_free(&o);

	ps_out_init(&o);
	ps_cert_get_encode(&o, &c, "0a0b");
	CU_ASSERT_EQUAL_FATAL(ps_cert_get_decode(o.data, o.len, &ggot), 0);
	CU_ASSERT_TRUE(strcmp(ggot.caller.client, "issuer") == 0 && strcmp(ggot.caller.subject, c.subject) == 0 &&
	    ggot.caller.spki_sha256[0] == 7 && strcmp(ggot.serial_hex, "0a0b") == 0);
	for (cut = 0; cut < o.len; cut++)
		CU_ASSERT_EQUAL(ps_cert_get_decode(o.data, cut, &ggot), SD_E_INVAL);
	ps_out_free(&o);
	ps_out_init(&o);
	ps_cert_get_encode(&o, &c, "00112233445566778899aabbccddeeff001122330");	/* 41 digits */
	CU_ASSERT_EQUAL(ps_cert_get_decode(o.data, o.len, &ggot), SD_E_INVAL);
	ps_out_free(&o);
}

static void test_kill_forbidden_type(void) { expect_killed("forbidden-type"); }
static void test_kill_config_on_channel(void) { expect_killed("config-on-channel"); }
static void test_kill_reply_type(void) { expect_killed("reply-type"); }
static void test_kill_oversize(void) { expect_killed("oversize"); }
static void test_kill_malformed(void) { expect_killed("malformed"); }
static void test_kill_health_with_body(void) { expect_killed("health-with-body"); }
static void test_kill_crl_delta_with_body(void) { expect_killed("crl-delta-with-body"); }
static void test_refuse_no_role(void) { expect_refused("no-role"); }
static void test_refuse_wrong_profile(void) { expect_refused("wrong-profile"); }
static void test_refuse_unknown_client(void) { expect_refused("unknown-client"); }
static void test_refuse_issuer_reads_journal(void) { expect_refused("issuer-reads-journal"); }
static void test_refuse_cn_as_name(void) { expect_refused("cn-as-name"); }
static void test_refuse_wrong_pin(void) { expect_refused("wrong-pin"); }
static void test_refuse_issuer_lists_certs(void) { expect_refused("issuer-lists-certs"); }
static void test_refuse_unknown_reads_cert(void) { expect_refused("unknown-reads-cert"); }
static void test_kill_malformed_certs(void) { expect_killed("malformed-certs"); }
static void test_kill_acme_unknown_op(void) { expect_killed("acme-unknown-op"); }
static void test_kill_acme_oversize(void) { expect_killed("acme-oversize"); }
static void test_kill_acme_validated_no_challenge(void) { expect_killed("acme-validated-no-challenge"); }
static void test_kill_acme_validated_trailing(void) { expect_killed("acme-validated-trailing"); }


/* PS_CRL, PS_CRL_DELTA and PS_OCSP: round trips, every truncation refused, bounds on both sides. */
static void
test_publish_messages(void)
{
	static uint8_t der[64], big[SIGNER_OCSP_REQUEST_MAX + 1];
	struct signer_crl crl = { .der = der, .len = sizeof(der), .number = 7, .this_update = 1700000000,
	    .next_update = 1700086400 }, *crl_got = NULL;
	struct signer_ocsp o = { der, 5, false, 0, 0, false }, *o_got = NULL;
	struct ps_ocsp_request req;
	struct ps_out out;
	struct ps_in in;
	size_t cut;

	memset(der, 0x30, sizeof(der));
	ps_out_init(&out);
	ps_crl_encode(&out, &crl);
	CU_ASSERT_FALSE(ps_out_failed(&out));
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl_got);
	CU_ASSERT_EQUAL(crl_got->len, sizeof(der));
	CU_ASSERT_EQUAL(crl_got->number, 7);
	CU_ASSERT_EQUAL(crl_got->base_number, 0);
	CU_ASSERT_EQUAL(crl_got->this_update, 1700000000);
	CU_ASSERT_EQUAL(crl_got->next_update, 1700086400);
	CU_ASSERT_EQUAL(memcmp(crl_got->der, der, sizeof(der)), 0);
	signer_crl_free(crl_got);
	for (cut = 0; cut < out.len; cut++) {
		ps_in_init(&in, out.data, cut);
		CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), SD_E_INTERNAL);
		CU_ASSERT_PTR_NULL(crl_got);
	}
	ps_out_free(&out);
	/* A delta: its base (an earlier number) travels too, and every truncation is refused. */
	crl.number = 9;
	crl.base_number = 8;
	ps_out_init(&out);
	ps_crl_encode(&out, &crl);
	CU_ASSERT_FALSE(ps_out_failed(&out));
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crl_got);
	CU_ASSERT_EQUAL(crl_got->number, 9);
	CU_ASSERT_EQUAL(crl_got->base_number, 8);
	CU_ASSERT_EQUAL(crl_got->this_update, 1700000000);
	signer_crl_free(crl_got);
	for (cut = 0; cut < out.len; cut++) {
		ps_in_init(&in, out.data, cut);
		CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), SD_E_INTERNAL);
		CU_ASSERT_PTR_NULL(crl_got);
	}
	/* One byte more after it is refused. */
	ps_out_u8(&out, 0);
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), SD_E_INTERNAL);
	CU_ASSERT_PTR_NULL(crl_got);
	ps_out_free(&out);
	/* A base at or above its own number is neither sent nor accepted. */
	crl.base_number = 9;
	ps_out_init(&out);
	ps_crl_encode(&out, &crl);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	crl.base_number = 10;
	ps_out_init(&out);
	ps_crl_encode(&out, &crl);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	ps_out_init(&out);
	ps_out_bytes(&out, der, sizeof(der));
	ps_out_u64(&out, 9);
	ps_out_u64(&out, 9);	/* base == number */
	ps_out_u64(&out, 1700000000);
	ps_out_u64(&out, 1700086400);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), SD_E_INTERNAL);
	CU_ASSERT_PTR_NULL(crl_got);
	ps_out_free(&out);
	ps_out_init(&out);
	ps_out_bytes(&out, der, sizeof(der));
	ps_out_u64(&out, 9);
	ps_out_u64(&out, UINT64_MAX);	/* base above number */
	ps_out_u64(&out, 1700000000);
	ps_out_u64(&out, 1700086400);
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_crl_decode(&in, &crl_got), SD_E_INTERNAL);
	CU_ASSERT_PTR_NULL(crl_got);
	ps_out_free(&out);
	/* The delta's request is its own type, outside every earlier one, with no payload. */
	CU_ASSERT_EQUAL(PS_CRL_DELTA, 28);
	crl.number = 7;
	crl.base_number = 0;
	/* A CRL that would not fit the frame is not encoded. */
	crl.len = (size_t)PS_CRL_DER_MAX + 1;
	ps_out_init(&out);
	ps_crl_encode(&out, &crl);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);

	ps_out_init(&out);
	ps_ocsp_encode(&out, &o);
	CU_ASSERT_FALSE(ps_out_failed(&out));
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_ocsp_decode(&in, &o_got), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o_got);
	CU_ASSERT_EQUAL(o_got->len, 5);
	CU_ASSERT_FALSE(o_got->successful);
	signer_ocsp_free(o_got);
	for (cut = 0; cut < out.len; cut++) {
		ps_in_init(&in, out.data, cut);
		CU_ASSERT_EQUAL(ps_ocsp_decode(&in, &o_got), SD_E_INTERNAL);
	}
	/* A flag other than 0 or 1 is malformed. */
	out.data[out.len - 1] = 2;
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_ocsp_decode(&in, &o_got), SD_E_INTERNAL);
	ps_out_free(&out);
	o.len = SIGNER_OCSP_RESPONSE_MAX + 1;
	ps_out_init(&out);
	ps_ocsp_encode(&out, &o);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);

	/* The request: at most SIGNER_OCSP_REQUEST_MAX bytes, nothing after it. */
	ps_out_init(&out);
	ps_ocsp_request_encode(&out, big, SIGNER_OCSP_REQUEST_MAX);
	CU_ASSERT_TRUE(out.len <= PS_OCSP_MSG_MAX);
	CU_ASSERT_EQUAL(ps_ocsp_request_decode(out.data, out.len, &req), 0);
	CU_ASSERT_EQUAL(req.len, SIGNER_OCSP_REQUEST_MAX);
	ps_out_free(&out);
	ps_out_init(&out);
	ps_ocsp_request_encode(&out, big, sizeof(big));
	CU_ASSERT_EQUAL(ps_ocsp_request_decode(out.data, out.len, &req), SD_E_INVAL);
	ps_out_free(&out);
	ps_out_init(&out);
	ps_ocsp_request_encode(&out, big, 10);
	ps_out_u8(&out, 0);
	CU_ASSERT_EQUAL(ps_ocsp_request_decode(out.data, out.len, &req), SD_E_INVAL);
	ps_out_free(&out);
}

/* PS_ACME and its answer: round trips, every truncation refused, bounds and the content-type table. */
static void
test_acme_messages(void)
{
	static uint8_t body[SIGNER_ACME_BODY_MAX + 1];
	static char big[SIGNER_ACME_ANSWER_MAX + 1];
	struct signer_acme_request r = { SIGNER_ACME_FINALIZE, "server", "https://127.0.0.1:8443", "abc", false,
	    body, 10 }, got;
	struct signer_acme_answer a, *ag = NULL;
	char longid[SIGNER_ACME_PARAM_MAX + 2];
	struct ps_out out;
	struct ps_in in;
	size_t cut;

	memset(body, '{', sizeof(body));
	ps_out_init(&out);
	ps_acme_request_encode(&out, &r);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	CU_ASSERT_EQUAL_FATAL(ps_acme_request_decode(out.data, out.len, &got), 0);
	CU_ASSERT_EQUAL(got.op, SIGNER_ACME_FINALIZE);
	CU_ASSERT_STRING_EQUAL(got.profile, "server");
	CU_ASSERT_STRING_EQUAL(got.base, "https://127.0.0.1:8443");
	CU_ASSERT_STRING_EQUAL(got.id, "abc");
	CU_ASSERT_FALSE(got.head);
	CU_ASSERT_EQUAL(got.body_len, 10);
	CU_ASSERT_EQUAL(memcmp(got.body, body, 10), 0);
	for (cut = 0; cut < out.len; cut++)
		CU_ASSERT_EQUAL(ps_acme_request_decode(out.data, cut, &got), SD_E_INVAL);
	ps_out_u8(&out, 0);
	CU_ASSERT_EQUAL(ps_acme_request_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	/* No id and no body decode as NULL; HEAD travels. */
	r = (struct signer_acme_request){ SIGNER_ACME_NEW_NONCE, "server", "https://h", NULL, true, NULL, 0 };
	ps_out_init(&out);
	ps_acme_request_encode(&out, &r);
	CU_ASSERT_EQUAL_FATAL(ps_acme_request_decode(out.data, out.len, &got), 0);
	CU_ASSERT_PTR_NULL(got.id);
	CU_ASSERT_PTR_NULL(got.body);
	CU_ASSERT_TRUE(got.head);
	ps_out_free(&out);
	/* The largest body fits the permit row; one byte more is neither sent nor accepted. */
	r = (struct signer_acme_request){ SIGNER_ACME_NEW_ORDER, "server", "https://h", NULL, false, body,
	    SIGNER_ACME_BODY_MAX };
	ps_out_init(&out);
	ps_acme_request_encode(&out, &r);
	CU_ASSERT_FALSE(ps_out_failed(&out));
	CU_ASSERT_TRUE(out.len <= PS_ACME_MSG_MAX);
	ps_out_free(&out);
	r.body_len = SIGNER_ACME_BODY_MAX + 1;
	ps_out_init(&out);
	ps_acme_request_encode(&out, &r);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	ps_out_init(&out);
	ps_out_u32(&out, SIGNER_ACME_NEW_ORDER);
	ps_out_u8(&out, 0);
	ps_out_str(&out, "server");
	ps_out_str(&out, "https://h");
	ps_out_str(&out, "");
	ps_out_bytes(&out, body, SIGNER_ACME_BODY_MAX + 1);
	CU_ASSERT_EQUAL(ps_acme_request_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	/* An op outside the enum, a head flag other than 0 or 1, an id over its bound. */
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	r = (struct signer_acme_request){ SIGNER_ACME_ORDER, "server", "https://h", longid, false, NULL, 0 };
	ps_out_init(&out);
	ps_acme_request_encode(&out, &r);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	{
		static const uint32_t ops[] = { 0, SIGNER_ACME_OP_MAX + 1, UINT32_MAX };
		size_t i;

		for (i = 0; i < 3; i++) {
			ps_out_init(&out);
			ps_out_u32(&out, ops[i]);
			ps_out_u8(&out, 0);
			ps_out_str(&out, "server");
			ps_out_str(&out, "https://h");
			ps_out_str(&out, "");
			ps_out_bytes(&out, NULL, 0);
			CU_ASSERT_EQUAL(ps_acme_request_decode(out.data, out.len, &got), SD_E_INVAL);
			ps_out_free(&out);
		}
		ps_out_init(&out);
		ps_out_u32(&out, SIGNER_ACME_DIRECTORY);
		ps_out_u8(&out, 2);
		ps_out_str(&out, "server");
		ps_out_str(&out, "https://h");
		ps_out_str(&out, "");
		ps_out_bytes(&out, NULL, 0);
		CU_ASSERT_EQUAL(ps_acme_request_decode(out.data, out.len, &got), SD_E_INVAL);
		ps_out_free(&out);
	}

	/* The answer: every field back, the content type as the static string. */
	memset(&a, 0, sizeof(a));
	a.status = 201;
	a.content_type = "application/json";
	a.body = (char *)"{\"status\":\"pending\"}";
	a.body_len = strlen(a.body);
	(void)snprintf(a.location, sizeof(a.location), "https://h/acme/server/order/X");
	(void)snprintf(a.links[0], sizeof(a.links[0]), "<https://h/acme/server/directory>;rel=\"index\"");
	(void)snprintf(a.links[1], sizeof(a.links[1]), "<https://h/acme/server/cert/1/1>;rel=\"alternate\"");
	a.n_links = 2;
	(void)snprintf(a.nonce, sizeof(a.nonce), "NONCE123");
	a.retry_after = 5;
	a.validate = true;
	(void)snprintf(a.validation.challenge, sizeof(a.validation.challenge), "AUTHZ.0");
	(void)snprintf(a.validation.type, sizeof(a.validation.type), "http-01");
	(void)snprintf(a.validation.name, sizeof(a.validation.name), "www.example.test");
	(void)snprintf(a.validation.token, sizeof(a.validation.token), "tok");
	(void)snprintf(a.validation.key_authorization, sizeof(a.validation.key_authorization), "tok.thumb");
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL_FATAL(ps_acme_answer_decode(&in, &ag), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ag);
	CU_ASSERT_EQUAL(ag->status, 201);
	CU_ASSERT_STRING_EQUAL(ag->content_type, "application/json");
	CU_ASSERT_EQUAL(ag->body_len, a.body_len);
	CU_ASSERT_EQUAL(memcmp(ag->body, a.body, a.body_len), 0);
	CU_ASSERT_STRING_EQUAL(ag->location, a.location);
	CU_ASSERT_EQUAL(ag->n_links, 2);
	CU_ASSERT_STRING_EQUAL(ag->links[1], a.links[1]);
	CU_ASSERT_STRING_EQUAL(ag->nonce, "NONCE123");
	CU_ASSERT_EQUAL(ag->retry_after, 5);
	CU_ASSERT_TRUE(ag->validate);
	CU_ASSERT_STRING_EQUAL(ag->validation.challenge, "AUTHZ.0");
	CU_ASSERT_STRING_EQUAL(ag->validation.type, "http-01");
	CU_ASSERT_STRING_EQUAL(ag->validation.name, "www.example.test");
	CU_ASSERT_STRING_EQUAL(ag->validation.token, "tok");
	CU_ASSERT_STRING_EQUAL(ag->validation.key_authorization, "tok.thumb");
	signer_acme_answer_free(ag);
	ag = NULL;
	for (cut = 0; cut < out.len; cut++) {
		ps_in_init(&in, out.data, cut);
		CU_ASSERT_EQUAL(ps_acme_answer_decode(&in, &ag), SD_E_INTERNAL);
		CU_ASSERT_PTR_NULL(ag);
	}
	ps_out_u8(&out, 0);
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_acme_answer_decode(&in, &ag), SD_E_INTERNAL);
	ps_out_free(&out);
	/* A content type not in the table is not sent; an index past it is not accepted. */
	a.content_type = "text/html";
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	a.content_type = "application/pem-certificate-chain";
	a.validate = false;
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	CU_ASSERT_EQUAL(out.data[4], 3);
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL_FATAL(ps_acme_answer_decode(&in, &ag), 0);
	CU_ASSERT_STRING_EQUAL(ag->content_type, "application/pem-certificate-chain");
	signer_acme_answer_free(ag);
	ag = NULL;
	out.data[4] = 4;
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_acme_answer_decode(&in, &ag), SD_E_INTERNAL);
	/* A body without a type is refused. */
	out.data[4] = 0;
	ps_in_init(&in, out.data, out.len);
	CU_ASSERT_EQUAL(ps_acme_answer_decode(&in, &ag), SD_E_INTERNAL);
	ps_out_free(&out);
	/* The largest body fits a frame; one byte more, or too many links, is not sent. */
	memset(big, 'A', sizeof(big));
	a.body = big;
	a.body_len = SIGNER_ACME_ANSWER_MAX;
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_FALSE(ps_out_failed(&out));
	CU_ASSERT_TRUE(out.len <= PS_FRAME_MAX);
	ps_out_free(&out);
	a.body_len = SIGNER_ACME_ANSWER_MAX + 1;
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	a.body_len = 1;
	a.n_links = SIGNER_ACME_LINKS_MAX + 1;
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	/* A status outside HTTP's is refused. */
	a.n_links = 0;
	a.status = 600;
	ps_out_init(&out);
	ps_acme_answer_encode(&out, &a);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
}

/* PS_ACME_VALIDATED: round trip, the empty type is success, bounds. */
static void
test_acme_validated_messages(void)
{
	struct ps_acme_validated v = { "server", "AUTHZ.0", "connection", "refused" }, got;
	char detail[PS_ACME_DETAIL_MAX + 2];
	struct ps_out out;
	size_t cut;

	ps_out_init(&out);
	ps_acme_validated_encode(&out, &v);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	CU_ASSERT_TRUE(out.len <= PS_ACME_VALIDATED_MSG_MAX);
	CU_ASSERT_EQUAL_FATAL(ps_acme_validated_decode(out.data, out.len, &got), 0);
	CU_ASSERT_STRING_EQUAL(got.profile, "server");
	CU_ASSERT_STRING_EQUAL(got.challenge, "AUTHZ.0");
	CU_ASSERT_STRING_EQUAL(got.error_type, "connection");
	CU_ASSERT_STRING_EQUAL(got.detail, "refused");
	for (cut = 0; cut < out.len; cut++)
		CU_ASSERT_EQUAL(ps_acme_validated_decode(out.data, cut, &got), SD_E_INVAL);
	ps_out_free(&out);
	v.error_type = NULL;
	ps_out_init(&out);
	ps_acme_validated_encode(&out, &v);
	CU_ASSERT_EQUAL_FATAL(ps_acme_validated_decode(out.data, out.len, &got), 0);
	CU_ASSERT_PTR_NULL(got.error_type);
	ps_out_free(&out);
	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	v.detail = detail;
	ps_out_init(&out);
	ps_acme_validated_encode(&out, &v);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	ps_out_init(&out);
	ps_out_str(&out, "server");
	ps_out_str(&out, "AUTHZ.0");
	ps_out_str(&out, "");
	ps_out_str(&out, detail);
	CU_ASSERT_EQUAL(ps_acme_validated_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	/* A challenge is always named. */
	ps_out_init(&out);
	ps_out_str(&out, "server");
	ps_out_str(&out, "");
	ps_out_str(&out, "");
	ps_out_str(&out, "");
	CU_ASSERT_EQUAL(ps_acme_validated_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	CU_ASSERT_EQUAL(PS_ACME, 29);
	CU_ASSERT_EQUAL(PS_ACME_VALIDATED, 30);
}

/* PS_API_REFUSALS: round trip, every truncation refused, the detail's bound on both sides. */
static void
test_api_refusals_messages(void)
{
	struct ps_api_refusals r = { 1796600000000, 7, "https: forbidden=2 unauthenticated=5" }, got;
	char detail[SIGNER_API_REFUSALS_DETAIL_MAX + 2];
	struct ps_out out;
	size_t cut;

	ps_out_init(&out);
	ps_api_refusals_encode(&out, &r);
	CU_ASSERT_FALSE_FATAL(ps_out_failed(&out));
	CU_ASSERT_TRUE(out.len <= PS_API_REFUSALS_MSG_MAX);
	CU_ASSERT_EQUAL_FATAL(ps_api_refusals_decode(out.data, out.len, &got), 0);
	CU_ASSERT_EQUAL(got.window_start_ms, 1796600000000);
	CU_ASSERT_EQUAL(got.count, 7);
	CU_ASSERT_STRING_EQUAL(got.detail, "https: forbidden=2 unauthenticated=5");
	for (cut = 0; cut < out.len; cut++)
		CU_ASSERT_EQUAL(ps_api_refusals_decode(out.data, cut, &got), SD_E_INVAL);
	ps_out_free(&out);
	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	r.detail = detail;
	ps_out_init(&out);
	ps_api_refusals_encode(&out, &r);
	CU_ASSERT_TRUE(ps_out_failed(&out));
	ps_out_free(&out);
	ps_out_init(&out);
	ps_out_u64(&out, 1);
	ps_out_u64(&out, 1);
	ps_out_str(&out, detail);
	CU_ASSERT_EQUAL(ps_api_refusals_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	/* A window start past INT64_MAX is no time. */
	ps_out_init(&out);
	ps_out_u64(&out, (uint64_t)INT64_MAX + 1);
	ps_out_u64(&out, 1);
	ps_out_str(&out, "https: x=1");
	CU_ASSERT_EQUAL(ps_api_refusals_decode(out.data, out.len, &got), SD_E_INVAL);
	ps_out_free(&out);
	CU_ASSERT_EQUAL(PS_API_REFUSALS, 31);
}

int
main(void)
{
	static const struct sd_test_case codec[] = {
		{ "frame round trip and limit", test_frame_round_trip },
		{ "frame truncated", test_frame_truncated },
		{ "codec bounds", test_codec_bounds },
		{ "issue round trip, every truncation refused", test_issue_round_trip },
		{ "issue out of bounds refused", test_issue_refused },
		{ "a busy refusal keeps its detail and Retry-After", test_status_busy },
		{ "audit and config messages", test_audit_and_config },
		{ "certificate list and certificate messages", test_certs_messages },
		{ "CRL and OCSP messages", test_publish_messages },
		{ "ACME request and answer messages", test_acme_messages },
		{ "ACME validation messages", test_acme_validated_messages },
		{ "PS_API_REFUSALS: round trip, bounds", test_api_refusals_messages },
	};
	static const struct sd_test_case attacks[] = {
		{ "type outside the permit table", test_kill_forbidden_type },
		{ "configuration on a request channel", test_kill_config_on_channel },
		{ "a reply sent as a request", test_kill_reply_type },
		{ "over the type's size limit", test_kill_oversize },
		{ "malformed issue request", test_kill_malformed },
		{ "health request with a body", test_kill_health_with_body },
		{ "delta CRL request with a body", test_kill_crl_delta_with_body },
		{ "issue for a client without the issuer role", test_refuse_no_role },
		{ "issue with a profile not granted", test_refuse_wrong_profile },
		{ "issue for an unknown client", test_refuse_unknown_client },
		{ "journal read by an issuer", test_refuse_issuer_reads_journal },
		{ "client named by its CN, not its section", test_refuse_cn_as_name },
		{ "issue for a pinned client with another key", test_refuse_wrong_pin },
		{ "certificate list asked for by an issuer", test_refuse_issuer_lists_certs },
		{ "a certificate asked for by an unknown client", test_refuse_unknown_reads_cert },
		{ "malformed certificate list request", test_kill_malformed_certs },
		{ "ACME request of an unknown operation", test_kill_acme_unknown_op },
		{ "ACME request over its bound", test_kill_acme_oversize },
		{ "ACME validation naming no challenge", test_kill_acme_validated_no_challenge },
		{ "ACME validation with trailing bytes", test_kill_acme_validated_trailing },
	};
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int rc;

	/* privsep-evil is built beside this program: $(BUILD)/tests/tools/privsep-evil. */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		abort();
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		abort();
	*slash = '\0';
	if (snprintf(evil, sizeof(evil), "%s/tools/privsep-evil", exe) >= (int)sizeof(evil))
		abort();
	sd_test_tmpdir(tmp, "privsep");
	SD_TEST_SUITE("codec", codec);
	SD_TEST_SUITE("permit table", attacks);
	rc = sd_test_run("test_privsep");
	sd_test_rmtree(tmp);
	return rc;
}
