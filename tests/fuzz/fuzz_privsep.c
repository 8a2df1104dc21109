/*
 * The privilege-separation decoder (signer/privsep/privsep_msg.c): what
 * the signer reads from a front that may be hostile. The first byte picks
 * the message ('L' certificate list, 'G' certificate; else, modulo 6, issue,
 * the three audit reads, the configuration, a reply's status), the rest is
 * its payload. A payload that decodes must encode back to the very
 * same bytes: each message has one encoding, so nothing the decoder
 * skipped or guessed reaches the signer.
 *
 * fuzz-options: -max_len=300000 (an issue request's 256 KiB limit)
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "privsep/privsep_msg.h"
#include "sd_error.h"

static void
fuzz_issue(const uint8_t *data, size_t size)
{
	static struct ps_issue m;
	struct ps_out o;
	size_t i;

	if (ps_issue_decode(data, size, &m) != 0)
		return;
	FUZZ_CHECK(m.req.n_sans <= SIGNER_SAN_MAX && m.req.csr_pem_len <= SIGNER_CSR_MAX);
	FUZZ_CHECK(m.client[0] != '\0' && m.req.profile[0] != '\0');
	for (i = 0; i < m.req.n_sans; i++)
		FUZZ_CHECK(m.req.sans[i].type >= SIGNER_SAN_DNS && m.req.sans[i].type <= SIGNER_SAN_EMAIL &&
		    m.req.sans[i].len <= SIGNER_SAN_VALUE_MAX);
	ps_out_init(&o);
	ps_issue_encode(&o, m.client, &m.req);
	FUZZ_CHECK(!ps_out_failed(&o) && o.len == size && memcmp(o.data, data, size) == 0);
	ps_out_free(&o);
}

static void
fuzz_audit(uint32_t type, const uint8_t *data, size_t size)
{
	struct ps_audit a;
	struct ps_out o;

	if (ps_audit_decode(type, data, size, &a) != 0)
		return;
	FUZZ_CHECK(a.client[0] != '\0');
	FUZZ_CHECK(type != PS_AUDIT_RECORDS || (a.limit >= 1 && a.limit <= SIGNER_AUDIT_RECORDS_MAX));
	FUZZ_CHECK(type != PS_AUDIT_PROOF || strlen(a.serial_hex) <= 40);
	ps_out_init(&o);
	ps_audit_encode(&o, type, &a);
	FUZZ_CHECK(!ps_out_failed(&o) && o.len == size && memcmp(o.data, data, size) == 0);
	ps_out_free(&o);
}

static void
fuzz_certs_list(const uint8_t *data, size_t size)
{
	struct ps_certs_list m;
	struct ps_out o;

	if (ps_certs_list_decode(data, size, &m) != 0)
		return;
	FUZZ_CHECK(m.client[0] != '\0' && m.q.limit >= 1 && m.q.limit <= SIGNER_CERTS_LIMIT_MAX);
	FUZZ_CHECK(m.q.cursor == NULL || strlen(m.q.cursor) <= SIGNER_CERTS_CURSOR_MAX);
	FUZZ_CHECK(m.q.profile == NULL || strlen(m.q.profile) <= SIGNER_CERTS_FILTER_MAX);
	ps_out_init(&o);
	ps_certs_list_encode(&o, m.client, &m.q);
	FUZZ_CHECK(!ps_out_failed(&o) && o.len == size && memcmp(o.data, data, size) == 0);
	ps_out_free(&o);
}

static void
fuzz_cert_get(const uint8_t *data, size_t size)
{
	struct ps_cert_get m;
	struct ps_out o;

	if (ps_cert_get_decode(data, size, &m) != 0)
		return;
	FUZZ_CHECK(m.caller.client[0] != '\0' && strlen(m.serial_hex) <= 40);
	ps_out_init(&o);
	ps_cert_get_encode(&o, &m.caller, m.serial_hex);
	FUZZ_CHECK(!ps_out_failed(&o) && o.len == size && memcmp(o.data, data, size) == 0);
	ps_out_free(&o);
}

static void
fuzz_config(const uint8_t *data, size_t size)
{
	struct ps_config c;
	struct ps_out o;

	if (ps_config_decode(data, size, &c) != 0)
		return;
	FUZZ_CHECK(c.channels >= 1 && c.channels <= 256 && c.port >= -1 && c.port <= 65535);
	FUZZ_CHECK(strlen(c.text) == c.text_len);
	c.text_len++;	/* the encoder takes the length with the NUL */
	ps_out_init(&o);
	ps_config_encode(&o, &c);
	FUZZ_CHECK(!ps_out_failed(&o) && o.len == size && memcmp(o.data, data, size) == 0);
	ps_out_free(&o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ps_in in;
	int rc = 0;

	if (size == 0)
		return 0;
	/* Two selectors of their own, so that the older inputs keep their meaning. */
	if (data[0] == 'L') {
		fuzz_certs_list(data + 1, size - 1);
		return 0;
	}
	if (data[0] == 'G') {
		fuzz_cert_get(data + 1, size - 1);
		return 0;
	}
	switch (data[0] % 6) {
	case 0: fuzz_issue(data + 1, size - 1); break;
	case 1: fuzz_audit(PS_AUDIT_RECORDS, data + 1, size - 1); break;
	case 2: fuzz_audit(PS_AUDIT_CHECKPOINT, data + 1, size - 1); break;
	case 3: fuzz_audit(PS_AUDIT_PROOF, data + 1, size - 1); break;
	case 4: fuzz_config(data + 1, size - 1); break;
	default:
		/* The front's side: a reply's status. */
		ps_in_init(&in, data + 1, size - 1);
		if (ps_status_decode(&in, &rc) == 0)
			FUZZ_CHECK(rc <= 0 && rc > -SD_ERROR_COUNT);
		break;
	}
	return 0;
}
