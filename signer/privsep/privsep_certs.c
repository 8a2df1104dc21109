/*
 * The certificate inventory's messages (PS_CERTS_LIST, PS_CERT_GET) and
 * their replies: encoders for both sides, the request decoders the signer
 * runs (every field bounded, strings lent out of the payload).
 */
#include <string.h>

#include "privsep_msg.h"

/* An optional string: a presence octet, then the string. */
static void
ps_out_opt(struct ps_out *out, const char *s)
{
	ps_out_u8(out, s != NULL);
	if (s != NULL)
		ps_out_str(out, s);
}

static const char *
ps_in_opt(struct ps_in *in, size_t max)
{
	uint8_t present = ps_in_u8(in);

	if (present > 1)
		in->failed = true;
	return present == 1 && !in->failed ? ps_in_str(in, max) : NULL;
}

void
ps_certs_list_encode(struct ps_out *out, const char *client, const struct signer_certs_query *q)
{
	ps_out_str(out, client);
	ps_out_opt(out, q->profile);
	ps_out_opt(out, q->client);
	ps_out_opt(out, q->san);
	ps_out_u8(out, q->has_valid_at);
	ps_out_u64(out, (uint64_t)q->valid_at);
	ps_out_u8(out, q->has_expires_before);
	ps_out_u64(out, (uint64_t)q->expires_before);
	ps_out_opt(out, q->cursor);
	ps_out_u32(out, (uint32_t)q->limit);
}

int
ps_certs_list_decode(const uint8_t *p, size_t len, struct ps_certs_list *out)
{
	struct ps_in in;
	uint8_t va, eb;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->client = ps_in_str(&in, PS_NAME_MAX);
	out->q.profile = ps_in_opt(&in, SIGNER_CERTS_FILTER_MAX);
	out->q.client = ps_in_opt(&in, SIGNER_CERTS_FILTER_MAX);
	out->q.san = ps_in_opt(&in, SIGNER_CERTS_FILTER_MAX);
	va = ps_in_u8(&in);
	out->q.valid_at = (int64_t)ps_in_u64(&in);
	eb = ps_in_u8(&in);
	out->q.expires_before = (int64_t)ps_in_u64(&in);
	out->q.cursor = ps_in_opt(&in, SIGNER_CERTS_CURSOR_MAX);
	out->q.limit = ps_in_u32(&in);
	if (!ps_in_done(&in) || out->client[0] == '\0' || va > 1 || eb > 1 || out->q.limit == 0 ||
	    out->q.limit > SIGNER_CERTS_LIMIT_MAX)
		return sd_error_set(SD_E_INVAL, "malformed certificate list request");
	out->q.has_valid_at = va == 1;
	out->q.has_expires_before = eb == 1;
	return 0;
}

void
ps_caller_encode(struct ps_out *out, const struct signer_caller *c)
{
	ps_out_str(out, c->client);
	ps_out_str(out, c->subject);
	ps_out_bytes(out, c->spki_sha256, sizeof(c->spki_sha256));
}

void
ps_caller_decode(struct ps_in *in, struct signer_caller *c)
{
	const uint8_t *spki;
	size_t spki_len = 0;

	c->client = ps_in_str(in, PS_NAME_MAX);
	c->subject = ps_in_str(in, PS_NAME_MAX);
	spki = ps_in_bytes(in, sizeof(c->spki_sha256), &spki_len);
	if (spki != NULL && spki_len == sizeof(c->spki_sha256))
		memcpy(c->spki_sha256, spki, spki_len);
	else
		in->failed = true;
}

void
ps_cert_get_encode(struct ps_out *out, const struct signer_caller *c, const char *serial_hex)
{
	ps_caller_encode(out, c);
	ps_out_str(out, serial_hex);
}

int
ps_cert_get_decode(const uint8_t *p, size_t len, struct ps_cert_get *out)
{
	struct ps_in in;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	ps_caller_decode(&in, &out->caller);
	out->serial_hex = ps_in_str(&in, PS_SERIAL_HEX_MAX);
	if (!ps_in_done(&in) || out->caller.client[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed certificate request");
	return 0;
}

void
ps_cert_encode(struct ps_out *out, const struct signer_cert *c)
{
	size_t i;

	ps_out_str(out, c->serial_hex);
	ps_out_str(out, c->profile);
	ps_out_str(out, c->client);
	ps_out_str(out, c->client_spki_sha256_hex);
	ps_out_str(out, c->issued);
	ps_out_str(out, c->not_before);
	ps_out_str(out, c->not_after);
	ps_out_str(out, c->status);
	ps_out_u64(out, c->journal_seq);
	ps_out_u64(out, c->intent_seq);
	if (c->n_sans > UINT32_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)c->n_sans);
	for (i = 0; i < c->n_sans; i++) {
		ps_out_u8(out, (uint8_t)c->sans[i].type);
		ps_out_str(out, c->sans[i].value);
	}
	ps_out_opt(out, c->cert_pem);
}

void
ps_certs_encode(struct ps_out *out, const struct signer_certs *c)
{
	size_t i;

	if (c->n > SIGNER_CERTS_LIMIT_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)c->n);
	for (i = 0; i < c->n; i++)
		ps_cert_encode(out, &c->items[i]);
	ps_out_opt(out, c->next_cursor);
}
