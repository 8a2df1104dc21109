/*
 * The ACME messages (PS_ACME, PS_ACME_VALIDATED) and the answer: encoders
 * for both sides, the request decoders the signer runs and the answer
 * decoder the front runs. Every field is bounded on both sides, and an
 * answer's content type crosses as an index into a fixed table, so the
 * front never sends a type the signer did not choose from it.
 */
#include <stdlib.h>
#include <string.h>

#include "privsep_msg.h"

/* The content types an answer may carry; index 0 is "no body". */
static const char *const ps_acme_types[] = {
	NULL,
	"application/json",
	"application/problem+json",
	"application/pem-certificate-chain",
};
#define PS_ACME_N_TYPES (sizeof(ps_acme_types) / sizeof(ps_acme_types[0]))

/* The largest answer with its strings must fit one frame. */
_Static_assert((uint64_t)SIGNER_ACME_ANSWER_MAX + 64 * 1024 < PS_FRAME_MAX, "an ACME answer does not fit a frame");
_Static_assert(PS_ACME_MSG_MAX < PS_FRAME_MAX, "an ACME request does not fit a frame");

static bool
ps_acme_type_index(const char *type, uint8_t *index)
{
	size_t i;

	for (i = 0; i < PS_ACME_N_TYPES; i++) {
		if ((type == NULL && ps_acme_types[i] == NULL) ||
		    (type != NULL && ps_acme_types[i] != NULL && strcmp(type, ps_acme_types[i]) == 0)) {
			*index = (uint8_t)i;
			return true;
		}
	}
	return false;
}

/* Whether s is a string of at most max bytes (NULL counts as ""). */
static bool
ps_acme_fits(const char *s, size_t max)
{
	return s == NULL || strnlen(s, max + 1) <= max;
}

void
ps_acme_request_encode(struct ps_out *out, const struct signer_acme_request *r)
{
	if (r->op < SIGNER_ACME_DIRECTORY || r->op > SIGNER_ACME_OP_MAX || r->profile == NULL || r->base == NULL ||
	    !ps_acme_fits(r->profile, PS_NAME_MAX) || !ps_acme_fits(r->base, SIGNER_ACME_BASE_MAX) ||
	    !ps_acme_fits(r->id, SIGNER_ACME_PARAM_MAX) || r->body_len > SIGNER_ACME_BODY_MAX ||
	    (r->body == NULL && r->body_len != 0)) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, (uint32_t)r->op);
	ps_out_u8(out, r->head);
	ps_out_str(out, r->profile);
	ps_out_str(out, r->base);
	ps_out_str(out, r->id);
	ps_out_bytes(out, r->body, r->body_len);
}

int
ps_acme_request_decode(const uint8_t *p, size_t len, struct signer_acme_request *out)
{
	struct ps_in in;
	uint32_t op;
	uint8_t head;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	op = ps_in_u32(&in);
	head = ps_in_u8(&in);
	out->profile = ps_in_str(&in, PS_NAME_MAX);
	out->base = ps_in_str(&in, SIGNER_ACME_BASE_MAX);
	out->id = ps_in_str(&in, SIGNER_ACME_PARAM_MAX);
	out->body = ps_in_bytes(&in, SIGNER_ACME_BODY_MAX, &out->body_len);
	if (!ps_in_done(&in) || op < SIGNER_ACME_DIRECTORY || op > SIGNER_ACME_OP_MAX || head > 1 ||
	    out->profile[0] == '\0' || out->base[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed ACME request message");
	out->op = (enum signer_acme_op)op;
	out->head = head == 1;
	if (out->id[0] == '\0')
		out->id = NULL;
	if (out->body_len == 0)
		out->body = NULL;
	return 0;
}

void
ps_acme_answer_encode(struct ps_out *out, const struct signer_acme_answer *a)
{
	const struct signer_acme_validation *v = &a->validation;
	uint8_t type = 0;
	size_t i;

	if (!ps_acme_type_index(a->content_type, &type) || a->body_len > SIGNER_ACME_ANSWER_MAX ||
	    (a->body == NULL && a->body_len != 0) || a->status < 100 || a->status > 599 ||
	    a->n_links > SIGNER_ACME_LINKS_MAX) {
		out->failed = true;
		return;
	}
	ps_out_u32(out, a->status);
	ps_out_u8(out, type);
	ps_out_bytes(out, a->body, a->body_len);
	ps_out_str(out, a->location);
	ps_out_u32(out, (uint32_t)a->n_links);
	for (i = 0; i < a->n_links; i++)
		ps_out_str(out, a->links[i]);
	ps_out_str(out, a->nonce);
	ps_out_u32(out, a->retry_after);
	ps_out_u8(out, a->validate);
	if (a->validate) {
		ps_out_str(out, v->challenge);
		ps_out_str(out, v->type);
		ps_out_str(out, v->name);
		ps_out_str(out, v->token);
		ps_out_str(out, v->key_authorization);
	}
}

/* A string of at most cap - 1 bytes into dst; "" (and in failed) when malformed. */
static void
ps_acme_str_copy(struct ps_in *in, char *dst, size_t cap)
{
	const char *v = ps_in_str(in, cap - 1);

	memcpy(dst, v, strlen(v) + 1);
}

int
ps_acme_answer_decode(struct ps_in *in, struct signer_acme_answer **out)
{
	struct signer_acme_answer *a = NULL;
	struct signer_acme_validation *v;
	const uint8_t *body;
	uint32_t n_links, retry;
	uint8_t type, validate;
	size_t i, len = 0;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	v = &a->validation;
	a->status = ps_in_u32(in);
	type = ps_in_u8(in);
	body = ps_in_bytes(in, SIGNER_ACME_ANSWER_MAX, &len);
	ps_acme_str_copy(in, a->location, sizeof(a->location));
	n_links = ps_in_u32(in);
	if (n_links > SIGNER_ACME_LINKS_MAX)
		in->failed = true;
	for (i = 0; i < n_links && !in->failed; i++)
		ps_acme_str_copy(in, a->links[i], sizeof(a->links[i]));
	a->n_links = in->failed ? 0 : n_links;
	ps_acme_str_copy(in, a->nonce, sizeof(a->nonce));
	retry = ps_in_u32(in);
	validate = ps_in_u8(in);
	if (validate == 1) {
		ps_acme_str_copy(in, v->challenge, sizeof(v->challenge));
		ps_acme_str_copy(in, v->type, sizeof(v->type));
		ps_acme_str_copy(in, v->name, sizeof(v->name));
		ps_acme_str_copy(in, v->token, sizeof(v->token));
		ps_acme_str_copy(in, v->key_authorization, sizeof(v->key_authorization));
	}
	/* A body needs a type to go with it; a validation needs its challenge. */
	if (!ps_in_done(in) || type >= PS_ACME_N_TYPES || a->status < 100 || a->status > 599 || validate > 1 ||
	    retry > PS_RETRY_MAX || (type == 0 && len != 0) ||
	    (validate == 1 && (v->challenge[0] == '\0' || v->name[0] == '\0'))) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed ACME answer from the signer");
		goto out;
	}
	a->content_type = ps_acme_types[type];
	a->retry_after = retry;
	a->validate = validate == 1;
	if (len != 0) {
		if ((a->body = malloc(len)) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		memcpy(a->body, body, len);
		a->body_len = len;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	if (a != NULL)
		free(a->body);
	free(a);
	return rc;
}

void
ps_acme_validated_encode(struct ps_out *out, const struct ps_acme_validated *v)
{
	if (v->profile == NULL || v->challenge == NULL || !ps_acme_fits(v->profile, PS_NAME_MAX) ||
	    !ps_acme_fits(v->challenge, SIGNER_ACME_PARAM_MAX) || !ps_acme_fits(v->error_type, PS_ACME_TYPE_MAX) ||
	    !ps_acme_fits(v->detail, PS_ACME_DETAIL_MAX)) {
		out->failed = true;
		return;
	}
	ps_out_str(out, v->profile);
	ps_out_str(out, v->challenge);
	ps_out_str(out, v->error_type);
	ps_out_str(out, v->detail);
}

int
ps_acme_validated_decode(const uint8_t *p, size_t len, struct ps_acme_validated *out)
{
	struct ps_in in;

	memset(out, 0, sizeof(*out));
	ps_in_init(&in, p, len);
	out->profile = ps_in_str(&in, PS_NAME_MAX);
	out->challenge = ps_in_str(&in, SIGNER_ACME_PARAM_MAX);
	out->error_type = ps_in_str(&in, PS_ACME_TYPE_MAX);
	out->detail = ps_in_str(&in, PS_ACME_DETAIL_MAX);
	if (!ps_in_done(&in) || out->profile[0] == '\0' || out->challenge[0] == '\0')
		return sd_error_set(SD_E_INVAL, "malformed ACME validation message");
	if (out->error_type[0] == '\0')
		out->error_type = NULL;
	return 0;
}
