/*
 * privsep-evil: a hostile signerd-front for tests/test_privsep.c. signerd's
 * monitor code starts it as it would the real front (control channel on
 * fd 3, request channels from fd 4); PRIVSEP_EVIL in the environment says
 * which attack to make. Attacks the signer must answer with a refusal end
 * by sending READY with port 1 when the refusal came, 0 when it did not;
 * attacks the signer must answer by ending the front just wait to die.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep.h"
#include "privsep/privsep_msg.h"

#define CHANNEL (PRIVSEP_CONTROL_FD + 1)

/* Send a request and report whether the reply is the signer's refusal (SD_E_INTERNAL). */
static int
refused(uint32_t type, const struct ps_out *o)
{
	struct ps_in in;
	uint8_t *reply = NULL;
	uint32_t got;
	size_t len;
	int rc, status = 0;

	if (ps_frame_send(CHANNEL, type, o->data, o->len) != 0 ||
	    ps_frame_recv(CHANNEL, PS_FRAME_MAX, &got, &reply, &len) != 0)
		return 0;
	ps_in_init(&in, reply, len);
	rc = ps_status_decode(&in, &status);
	free(reply);
	return got == (type | PS_REPLY) && rc == 0 && status == SD_E_INTERNAL;
}

int
main(void)
{
	const char *mode = getenv("PRIVSEP_EVIL");
	struct signer_request req;
	struct ps_audit a;
	struct signer_certs_query q;
	struct signer_caller c;
	struct ps_acme_validated v;
	struct ps_out o;
	uint8_t head[8] = { 0 };
	int ok = 0, sent = 0;

	if (mode == NULL)
		return 2;
	ps_out_init(&o);
	memset(&req, 0, sizeof(req));
	req.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
	req.csr_pem_len = strlen(req.csr_pem);
	req.client_subject = "CN=x";
	if (strcmp(mode, "forbidden-type") == 0) {
		sent = ps_frame_send(CHANNEL, 99, NULL, 0);
	} else if (strcmp(mode, "config-on-channel") == 0) {
		sent = ps_frame_send(CHANNEL, PS_CONFIG, NULL, 0);
	} else if (strcmp(mode, "reply-type") == 0) {
		sent = ps_frame_send(CHANNEL, PS_HEALTH | PS_REPLY, NULL, 0);
	} else if (strcmp(mode, "oversize") == 0) {
		/* A header announcing 300 kB of issue request; the body never comes. */
		head[3] = PS_ISSUE;
		head[5] = 0x04;
		head[6] = 0x93;
		head[7] = 0xe0;
		sent = write(CHANNEL, head, sizeof(head)) == (ssize_t)sizeof(head) ? 0 : -1;
	} else if (strcmp(mode, "malformed") == 0) {
		sent = ps_frame_send(CHANNEL, PS_ISSUE, "0123456789", 10);
	} else if (strcmp(mode, "health-with-body") == 0) {
		sent = ps_frame_send(CHANNEL, PS_HEALTH, "x", 1);
	} else if (strcmp(mode, "crl-delta-with-body") == 0) {
		/* PS_CRL_DELTA's limit is 0 bytes, as PS_CRL's. */
		sent = ps_frame_send(CHANNEL, PS_CRL_DELTA, "x", 1);
	} else if (strcmp(mode, "acme-unknown-op") == 0) {
		/* Framed as the encoder would, but an operation the signer does not have. */
		ps_out_u32(&o, SIGNER_ACME_OP_MAX + 1);
		ps_out_u8(&o, 0);
		ps_out_str(&o, "server");
		ps_out_str(&o, "https://ca.example");
		ps_out_str(&o, "");
		ps_out_bytes(&o, "", 0);
		sent = ps_out_failed(&o) ? -1 : ps_frame_send(CHANNEL, PS_ACME, o.data, o.len);
	} else if (strcmp(mode, "acme-oversize") == 0) {
		/* A header announcing one byte more than an ACME request may carry; the body never comes. */
		head[3] = PS_ACME;
		head[4] = (uint8_t)((PS_ACME_MSG_MAX + 1) >> 24);
		head[5] = (uint8_t)((PS_ACME_MSG_MAX + 1) >> 16);
		head[6] = (uint8_t)((PS_ACME_MSG_MAX + 1) >> 8);
		head[7] = (uint8_t)(PS_ACME_MSG_MAX + 1);
		sent = write(CHANNEL, head, sizeof(head)) == (ssize_t)sizeof(head) ? 0 : -1;
	} else if (strcmp(mode, "acme-validated-no-challenge") == 0) {
		/* A validation outcome naming no challenge: nothing a real front would send. */
		memset(&v, 0, sizeof(v));
		v.profile = "server";
		v.challenge = "";
		ps_acme_validated_encode(&o, &v);
		sent = ps_out_failed(&o) ? -1 : ps_frame_send(CHANNEL, PS_ACME_VALIDATED, o.data, o.len);
	} else if (strcmp(mode, "acme-validated-trailing") == 0) {
		/* A well-formed outcome with bytes after it. */
		memset(&v, 0, sizeof(v));
		v.profile = "server";
		v.challenge = "AAAAAAAAAAAAAAAAAAAAAA.0";
		ps_acme_validated_encode(&o, &v);
		ps_out_u8(&o, 0);
		sent = ps_out_failed(&o) ? -1 : ps_frame_send(CHANNEL, PS_ACME_VALIDATED, o.data, o.len);
	} else if (strcmp(mode, "malformed-certs") == 0) {
		memset(&q, 0, sizeof(q));
		q.limit = 0;	/* no page has no items */
		ps_certs_list_encode(&o, "auditor", &q);
		sent = ps_out_failed(&o) ? -1 : ps_frame_send(CHANNEL, PS_CERTS_LIST, o.data, o.len);
	} else {
		/* Well-formed requests the configuration does not allow. */
		if (strcmp(mode, "no-role") == 0) {
			req.profile = "server";
			ps_issue_encode(&o, "auditor", &req);
			ok = refused(PS_ISSUE, &o);
		} else if (strcmp(mode, "cn-as-name") == 0) {
			/* The auditor's CN, not its section name: clients are named by section. */
			memset(&a, 0, sizeof(a));
			a.client = "audit-team";
			ps_audit_encode(&o, PS_AUDIT_CHECKPOINT, &a);
			ok = refused(PS_AUDIT_CHECKPOINT, &o);
		} else if (strcmp(mode, "wrong-pin") == 0) {
			/* A pinned client, asked for with a certificate key it is not pinned to. */
			req.profile = "server";
			memset(req.client_spki_sha256, 0x11, sizeof(req.client_spki_sha256));
			ps_issue_encode(&o, "pinned", &req);
			ok = refused(PS_ISSUE, &o);
		} else if (strcmp(mode, "wrong-profile") == 0) {
			req.profile = "internal";
			ps_issue_encode(&o, "issuer", &req);
			ok = refused(PS_ISSUE, &o);
		} else if (strcmp(mode, "unknown-client") == 0) {
			req.profile = "server";
			ps_issue_encode(&o, "mallory", &req);
			ok = refused(PS_ISSUE, &o);
		} else if (strcmp(mode, "issuer-reads-journal") == 0) {
			memset(&a, 0, sizeof(a));
			a.client = "issuer";
			a.from = 1;
			a.limit = 10;
			ps_audit_encode(&o, PS_AUDIT_RECORDS, &a);
			ok = refused(PS_AUDIT_RECORDS, &o);
		} else if (strcmp(mode, "issuer-lists-certs") == 0) {
			memset(&q, 0, sizeof(q));
			q.limit = 10;
			ps_certs_list_encode(&o, "issuer", &q);
			ok = refused(PS_CERTS_LIST, &o);
		} else if (strcmp(mode, "unknown-reads-cert") == 0) {
			memset(&c, 0, sizeof(c));
			c.client = "mallory";
			c.subject = "CN=mallory";
			ps_cert_get_encode(&o, &c, "0a0b");
			ok = refused(PS_CERT_GET, &o);
		} else {
			return 2;
		}
		ps_out_free(&o);
		return privsep_ready_send(PRIVSEP_CONTROL_FD, (uint16_t)ok) == 0 ? 0 : 1;
	}
	if (sent != 0)
		return 1;
	/* Wait for the signer to end this process. */
	for (;;)
		pause();
}
