/*
 * The revocation message (PS_REVOKE) and its reply: encoders for both
 * sides, the request decoder the signer runs (every field bounded, strings
 * lent out of the payload).
 */
#include <stdio.h>
#include <string.h>

#include "privsep_msg.h"

void
ps_revoke_encode(struct ps_out *out, const struct signer_caller *c, const char *serial_hex, uint8_t reason,
    const char *detail)
{
	ps_caller_encode(out, c);
	ps_out_str(out, serial_hex);
	ps_out_u8(out, reason);
	ps_out_str(out, detail != NULL ? detail : "");
}

int
ps_revoke_decode(const uint8_t *p, size_t len, struct ps_revoke *out)
{
	struct ps_in in;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	ps_caller_decode(&in, &out->caller);
	out->serial_hex = ps_in_str(&in, PS_SERIAL_HEX_MAX);
	out->reason = ps_in_u8(&in);
	out->detail = ps_in_str(&in, SIGNER_REVOKE_DETAIL_MAX);
	if (!ps_in_done(&in) || out->caller.client[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed revocation request");
	if (out->detail[0] == '\0')
		out->detail = NULL;
	return 0;
}

void
ps_revocation_encode(struct ps_out *out, const struct signer_revocation *r)
{
	ps_out_str(out, r->serial_hex);
	ps_out_str(out, r->revoked_at);
	ps_out_u8(out, r->reason);
	ps_out_u8(out, r->already);
	ps_out_u64(out, r->journal_seq);
}

int
ps_revocation_decode(struct ps_in *in, struct signer_revocation *out)
{
	const char *serial, *at;
	uint8_t already;

	memset(out, 0, sizeof(*out));
	serial = ps_in_str(in, sizeof(out->serial_hex) - 1);
	at = ps_in_str(in, sizeof(out->revoked_at) - 1);
	out->reason = ps_in_u8(in);
	already = ps_in_u8(in);
	out->journal_seq = ps_in_u64(in);
	if (!ps_in_done(in) || already > 1)
		return sd_error_set(SD_E_INTERNAL, "malformed revocation from the signer");
	(void)snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", serial);
	(void)snprintf(out->revoked_at, sizeof(out->revoked_at), "%s", at);
	out->already = already == 1;
	return 0;
}
