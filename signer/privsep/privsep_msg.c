#include <string.h>

#include "privsep_msg.h"

void
ps_config_encode(struct ps_out *out, const struct ps_config *c)
{
	ps_out_str(out, c->path);
	ps_out_bytes(out, c->text, c->text_len);
	ps_out_i32(out, c->port);
	ps_out_u32(out, c->channels);
}

int
ps_config_decode(const uint8_t *p, size_t len, struct ps_config *out)
{
	struct ps_in in;
	const uint8_t *text;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->path = ps_in_str(&in, PS_PATH_MAX);
	text = ps_in_bytes(&in, PS_CONFIG_MAX + 1, &out->text_len);
	out->port = ps_in_i32(&in);
	out->channels = ps_in_u32(&in);
	if (!ps_in_done(&in) || out->port < -1 || out->port > 65535 || out->channels == 0 || out->channels > PS_CHANNELS_MAX)
		return sd_error_set(SD_E_INVAL, "malformed configuration message");
	/* The text travels with its NUL, so the parser can read it as a string. */
	if (out->text_len == 0 || text[out->text_len - 1] != '\0' || memchr(text, '\0', out->text_len - 1) != NULL)
		return sd_error_set(SD_E_INVAL, "configuration text is not one NUL-terminated string");
	out->text = (const char *)text;
	out->text_len--;
	return 0;
}

void
ps_issue_encode(struct ps_out *out, const char *client, const struct signer_request *req)
{
	size_t i;

	ps_out_str(out, client);
	ps_out_str(out, req->client_subject);
	ps_out_bytes(out, req->client_spki_sha256, sizeof(req->client_spki_sha256));
	ps_out_str(out, req->profile);
	ps_out_u64(out, req->ttl);
	ps_out_bytes(out, req->csr_pem, req->csr_pem_len);
	if (req->n_sans > SIGNER_SAN_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)req->n_sans);
	for (i = 0; i < req->n_sans; i++) {
		ps_out_u8(out, (uint8_t)req->sans[i].type);
		ps_out_bytes(out, req->sans[i].value, req->sans[i].len);
	}
	ps_out_str(out, req->reenroll_serial != NULL ? req->reenroll_serial : "");
}

int
ps_issue_decode(const uint8_t *p, size_t len, struct ps_issue *out)
{
	struct ps_in in;
	const uint8_t *spki;
	const char *reenroll;
	size_t n, i, spki_len;
	uint8_t type;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->client = ps_in_str(&in, PS_NAME_MAX);
	out->req.client_subject = ps_in_str(&in, PS_NAME_MAX);
	spki = ps_in_bytes(&in, sizeof(out->req.client_spki_sha256), &spki_len);
	if (spki != NULL && spki_len == sizeof(out->req.client_spki_sha256))
		memcpy(out->req.client_spki_sha256, spki, spki_len);
	else
		in.failed = true;
	out->req.profile = ps_in_str(&in, PS_NAME_MAX);
	out->req.ttl = ps_in_u64(&in);
	out->req.csr_pem = (const char *)ps_in_bytes(&in, SIGNER_CSR_MAX, &out->req.csr_pem_len);
	n = ps_in_u32(&in);
	if (n > SIGNER_SAN_MAX)
		in.failed = true;
	for (i = 0; i < n && !in.failed; i++) {
		type = ps_in_u8(&in);
		if (type < SIGNER_SAN_DNS || type > SIGNER_SAN_EMAIL)
			in.failed = true;
		out->sans[i].type = (enum signer_san_type)type;
		out->sans[i].value = (const char *)ps_in_bytes(&in, SIGNER_SAN_VALUE_MAX, &out->sans[i].len);
	}
	reenroll = ps_in_str(&in, PS_SERIAL_HEX_MAX);
	/* No client only for a holder's re-enrollment, which names the certificate instead. */
	if (!ps_in_done(&in) || (out->client[0] == '\0') == (reenroll[0] == '\0') || out->req.profile[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed issue request");
	out->req.sans = n > 0 ? out->sans : NULL;
	out->req.n_sans = n;
	out->req.reenroll_serial = reenroll[0] != '\0' ? reenroll : NULL;
	return 0;
}

void
ps_audit_encode(struct ps_out *out, uint32_t type, const struct ps_audit *a)
{
	ps_out_str(out, a->client);
	if (type == PS_AUDIT_RECORDS) {
		ps_out_u64(out, a->from);
		ps_out_u32(out, a->limit);
	} else if (type == PS_AUDIT_PROOF) {
		ps_out_str(out, a->serial_hex);
	}
}

int
ps_audit_decode(uint32_t type, const uint8_t *p, size_t len, struct ps_audit *out)
{
	struct ps_in in;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->client = ps_in_str(&in, PS_NAME_MAX);
	if (type == PS_AUDIT_RECORDS) {
		out->from = ps_in_u64(&in);
		out->limit = ps_in_u32(&in);
		if (out->limit == 0 || out->limit > SIGNER_AUDIT_RECORDS_MAX)
			in.failed = true;
	} else if (type == PS_AUDIT_PROOF) {
		out->serial_hex = ps_in_str(&in, PS_SERIAL_HEX_MAX);
	} else if (type != PS_AUDIT_CHECKPOINT && type != PS_METRICS) {
		in.failed = true;
	}
	if (!ps_in_done(&in) || out->client[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed audit request");
	return 0;
}

void
ps_status_encode(struct ps_out *out, int rc, const char *detail)
{
	ps_out_i32(out, rc);
	ps_out_str(out, rc == 0 ? "" : detail);
	ps_out_u32(out, rc == 0 ? 0 : sd_error_retry_after(rc));
}

int
ps_status_decode(struct ps_in *in, int *rc)
{
	const char *detail;
	uint32_t retry;
	int32_t code;

	code = ps_in_i32(in);
	detail = ps_in_str(in, 1024);
	retry = ps_in_u32(in);
	*rc = 0;
	if (in->failed || code > 0 || code <= -SD_ERROR_COUNT || retry > PS_RETRY_MAX)
		return sd_error_set(SD_E_INVAL, "malformed reply status");
	if (code != 0) {
		*rc = sd_error_set(code, "%s", detail);
		sd_error_set_retry_after(retry);
	}
	return 0;
}

void
ps_result_encode(struct ps_out *out, const struct signer_result *r)
{
	ps_out_str(out, r->serial_hex);
	ps_out_str(out, r->cert_pem);
	ps_out_str(out, r->not_after);
	ps_out_u64(out, r->journal_seq);
}

void
ps_chain_encode(struct ps_out *out, const char *const *pems, size_t n)
{
	size_t i;

	if (n > SIGNER_CHAIN_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)n);
	for (i = 0; i < n; i++)
		ps_out_str(out, pems[i]);
}

void
ps_records_encode(struct ps_out *out, const struct signer_audit_records *r)
{
	size_t i;

	ps_out_u64(out, r->last_seq);
	if (r->n > SIGNER_AUDIT_RECORDS_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)r->n);
	for (i = 0; i < r->n; i++) {
		ps_out_u64(out, r->items[i].seq);
		ps_out_str(out, r->items[i].type);
		ps_out_u64(out, (uint64_t)r->items[i].time_ms);
		ps_out_str(out, r->items[i].hash_hex);
		ps_out_str(out, r->items[i].leaf_hash_hex);
		ps_out_str(out, r->items[i].record_b64);
	}
}

void
ps_checkpoint_encode(struct ps_out *out, const char *note, uint64_t seq)
{
	ps_out_u64(out, seq);
	ps_out_str(out, note);
}

void
ps_proof_encode(struct ps_out *out, const struct signer_audit_proof *p)
{
	size_t i;

	ps_out_u64(out, p->intent_seq);
	ps_out_u64(out, p->seq);
	ps_out_u64(out, p->leaf_index);
	ps_out_u64(out, p->tree_size);
	ps_out_u64(out, p->checkpoint_seq);
	ps_out_str(out, p->leaf_hash_hex);
	if (p->n > SIGNER_AUDIT_PROOF_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)p->n);
	for (i = 0; i < p->n; i++)
		ps_out_str(out, p->hashes_hex[i]);
	ps_out_str(out, p->checkpoint);
}

void
ps_api_refusals_encode(struct ps_out *out, const struct ps_api_refusals *r)
{
	if (r->detail == NULL || strlen(r->detail) > SIGNER_API_REFUSALS_DETAIL_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u64(out, (uint64_t)r->window_start_ms);
	ps_out_u64(out, r->count);
	ps_out_str(out, r->detail);
}

int
ps_api_refusals_decode(const uint8_t *p, size_t len, struct ps_api_refusals *out)
{
	struct ps_in in;
	uint64_t start;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	start = ps_in_u64(&in);
	out->count = ps_in_u64(&in);
	out->detail = ps_in_str(&in, SIGNER_API_REFUSALS_DETAIL_MAX);
	if (!ps_in_done(&in) || start > INT64_MAX)
		return sd_error_set(SD_E_INVAL, "malformed refusal summary message");
	out->window_start_ms = (int64_t)start;
	return 0;
}
