/*
 * The revocation-status messages (PS_CRL, PS_CRL_DELTA, PS_OCSP) and their replies:
 * encoders for both sides, the request decoder the signer runs and the
 * reply decoders the front runs. Every length is bounded on both sides: the
 * signer never sends, and the front never accepts, more than signer.h allows.
 */
#include <stdlib.h>
#include <string.h>

#include "privsep_msg.h"

void
ps_ocsp_request_encode(struct ps_out *out, const uint8_t *req, size_t len)
{
	ps_out_bytes(out, req, len);
}

int
ps_ocsp_request_decode(const uint8_t *p, size_t len, struct ps_ocsp_request *out)
{
	struct ps_in in;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->der = ps_in_bytes(&in, SIGNER_OCSP_REQUEST_MAX, &out->len);
	if (!ps_in_done(&in))
		return sd_error_set(SD_E_INVAL, "malformed OCSP request message");
	return 0;
}

void
ps_crl_encode(struct ps_out *out, const struct signer_crl *c)
{
	/*
	 * Over the frame's room, or a delta whose base is not an earlier CRL, it
	 * could not be read back: fail the reply (an error status instead).
	 */
	if (c->len == 0 || c->len > PS_CRL_DER_MAX || (c->base_number != 0 && c->base_number >= c->number)) {
		out->failed = true;
		return;
	}
	ps_out_bytes(out, c->der, c->len);
	ps_out_u64(out, c->number);
	ps_out_u64(out, c->base_number);
	ps_out_u64(out, (uint64_t)c->this_update);
	ps_out_u64(out, (uint64_t)c->next_update);
}

int
ps_crl_decode(struct ps_in *in, struct signer_crl **out)
{
	struct signer_crl *c = NULL;
	const uint8_t *der;
	size_t len;
	int rc;

	*out = NULL;
	der = ps_in_bytes(in, PS_CRL_DER_MAX, &len);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	c->number = ps_in_u64(in);
	c->base_number = ps_in_u64(in);
	c->this_update = (int64_t)ps_in_u64(in);
	c->next_update = (int64_t)ps_in_u64(in);
	/* A delta completes an earlier complete CRL of the same sequence. */
	if (!ps_in_done(in) || der == NULL || len == 0 || c->next_update < c->this_update ||
	    (c->base_number != 0 && c->base_number >= c->number)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed CRL from the signer");
		goto out;
	}
	if ((c->der = malloc(len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(c->der, der, len);
	c->len = len;
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(c);
	return rc;
}

void
ps_ocsp_encode(struct ps_out *out, const struct signer_ocsp *o)
{
	if (o->len == 0 || o->len > SIGNER_OCSP_RESPONSE_MAX) {
		out->failed = true;
		return;
	}
	ps_out_bytes(out, o->der, o->len);
	ps_out_u8(out, o->successful);
	ps_out_u64(out, (uint64_t)o->this_update);
	ps_out_u64(out, (uint64_t)o->next_update);
	ps_out_u8(out, o->has_nonce);
}

int
ps_ocsp_decode(struct ps_in *in, struct signer_ocsp **out)
{
	struct signer_ocsp *o = NULL;
	const uint8_t *der;
	uint8_t successful, nonce;
	size_t len;
	int rc;

	*out = NULL;
	der = ps_in_bytes(in, SIGNER_OCSP_RESPONSE_MAX, &len);
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	successful = ps_in_u8(in);
	o->this_update = (int64_t)ps_in_u64(in);
	o->next_update = (int64_t)ps_in_u64(in);
	nonce = ps_in_u8(in);
	if (!ps_in_done(in) || der == NULL || len == 0 || successful > 1 || nonce > 1) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed OCSP response from the signer");
		goto out;
	}
	if ((o->der = malloc(len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(o->der, der, len);
	o->len = len;
	o->successful = successful == 1;
	o->has_nonce = nonce == 1;
	*out = o;
	o = NULL;
	rc = 0;
out:
	free(o);
	return rc;
}
