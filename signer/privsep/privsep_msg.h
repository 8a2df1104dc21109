/*
 * The messages between signerd-front and the signer: one request type per
 * call of include/signer.h, and the replies. Encoders and decoders for
 * both sides; every decoder bounds every field and lends strings out of
 * the payload it was given.
 */
#ifndef PRIVSEP_MSG_H
#define PRIVSEP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "privsep_wire.h"
#include "signer.h"

enum ps_type {
	PS_CONFIG = 1,			/* signer -> front, control channel, once: the configuration */
	PS_READY = 2,			/* front -> signer, control channel, once: serving on a port */
	PS_RELOAD = 3,			/* signer -> front, control channel: a new configuration (as PS_CONFIG) */
	PS_CHAIN = 16,			/* front -> signer, and the replies below */
	PS_ISSUE = 17,
	PS_HEALTH = 18,
	PS_AUDIT_RECORDS = 19,
	PS_AUDIT_CHECKPOINT = 20,
	PS_AUDIT_PROOF = 21,
	PS_CERTS_LIST = 22,
	PS_CERT_GET = 23,
	PS_METRICS = 24,		/* payload as PS_AUDIT_CHECKPOINT: who asks */
	PS_REVOKE = 25,
	PS_CRL = 26,			/* no payload: the CRL is public */
	PS_OCSP = 27,			/* the DER OCSPRequest */
	PS_CRL_DELTA = 28,		/* no payload; the reply as PS_CRL's */
	PS_ACME = 29,			/* one ACME request (signer_acme()) */
	PS_ACME_VALIDATED = 30,		/* a validation's outcome (signer_acme_validated()) */
	PS_API_REFUSALS = 31,		/* the front's refusal counts of a window (signer_api_refusals()) */
};
#define PS_REPLY 0x80000000u		/* a reply's type is its request's with this bit */

#define PS_NAME_MAX 1024		/* a client CN or subject, a profile name, bytes */
#define PS_PEM_MAX (64 * 1024)		/* one certificate or checkpoint note */
#define PS_RECORD_B64_MAX (1024 * 1024)	/* one encoded journal record */
#define PS_CONFIG_MAX (1024 * 1024)	/* the configuration file (as config_load.c) */
#define PS_PATH_MAX 4096
#define PS_SERIAL_HEX_MAX 40		/* characters of a serial in hex (20 bytes) */
#define PS_CHANNELS_MAX 256		/* request channels (privsep_channels()) */
#define PS_RETRY_MAX (2 * 86400)	/* seconds of a reply's retry-after (a daily quota: at most a day) */
/*
 * A CRL reply is its status, the DER and four numbers in one frame: the DER
 * leaves 4 KiB of PS_FRAME_MAX for the rest (SIGNER_CRL_MAX is the frame's
 * size itself, so the smaller bound is the one that holds here).
 */
#define PS_CRL_DER_MAX (PS_FRAME_MAX - 4096u < SIGNER_CRL_MAX ? PS_FRAME_MAX - 4096u : SIGNER_CRL_MAX)
/* PS_OCSP's payload: the request as one length-prefixed string. */
#define PS_OCSP_MSG_MAX (SIGNER_OCSP_REQUEST_MAX + 4)

/*
 * PS_ACME's payload: op, head, then profile, base, id and the body with
 * their length prefixes and NULs; 4 KiB covers the fixed fields and strings.
 */
#define PS_ACME_MSG_MAX (SIGNER_ACME_BODY_MAX + 4096)
/* PS_ACME_VALIDATED's: profile, challenge id, problem type, detail. */
#define PS_ACME_VALIDATED_MSG_MAX 4096
#define PS_ACME_TYPE_MAX 32		/* an ACME problem type's last part */
#define PS_ACME_DETAIL_MAX 512		/* a validation's detail (signer_acme_validated()) */

/* PS_CONFIG: what the front needs to start. */
struct ps_config {
	const char *path;		/* the configuration file, for messages and relative paths */
	const char *text;		/* its bytes, NUL-terminated */
	size_t text_len;
	int32_t port;			/* --port, or -1 */
	uint32_t channels;		/* request channels: fds 4 .. 4 + channels - 1 */
};

/* PS_ISSUE, as the signer reads it: the request and who the front says sent it. */
struct ps_issue {
	const char *client;
	struct signer_request req;
	struct signer_san sans[SIGNER_SAN_MAX];
};

/* PS_AUDIT_*: who asks, and the arguments of the one call. */
struct ps_audit {
	const char *client;
	uint64_t from;			/* PS_AUDIT_RECORDS */
	uint32_t limit;			/* PS_AUDIT_RECORDS, 1 .. SIGNER_AUDIT_RECORDS_MAX */
	const char *serial_hex;		/* PS_AUDIT_PROOF, at most 40 characters */
};

/* PS_CERTS_LIST, as the signer reads it. */
struct ps_certs_list {
	const char *client;
	struct signer_certs_query q;
};

/* PS_CERT_GET, as the signer reads it. */
struct ps_cert_get {
	struct signer_caller caller;
	const char *serial_hex;		/* at most 40 characters */
};

/* PS_REVOKE, as the signer reads it. */
struct ps_revoke {
	struct signer_caller caller;
	const char *serial_hex;		/* at most 40 characters */
	uint8_t reason;
	const char *detail;		/* NULL: none */
};

/* PS_OCSP, as the signer reads it: the DER request, borrowed. */
struct ps_ocsp_request {
	const uint8_t *der;
	size_t len;			/* at most SIGNER_OCSP_REQUEST_MAX */
};

/* PS_ACME_VALIDATED, as the signer reads it: error_type NULL when the validation succeeded. */
struct ps_acme_validated {
	const char *profile;
	const char *challenge;
	const char *error_type;
	const char *detail;
};

/* Who asks (client, subject, key hash): the head of PS_CERT_GET and PS_REVOKE; the decoder lends from in. */
void ps_caller_encode(struct ps_out *out, const struct signer_caller *c);
void ps_caller_decode(struct ps_in *in, struct signer_caller *c);

/* Encoders: the payload goes to out (check ps_out_failed()). */
void ps_config_encode(struct ps_out *out, const struct ps_config *c);
void ps_issue_encode(struct ps_out *out, const char *client, const struct signer_request *req);
void ps_audit_encode(struct ps_out *out, uint32_t type, const struct ps_audit *a);
/* Every reply starts with the call's result: 0 or an error and its detail. */
void ps_status_encode(struct ps_out *out, int rc, const char *detail);
void ps_result_encode(struct ps_out *out, const struct signer_result *r);
void ps_chain_encode(struct ps_out *out, const char *const *pems, size_t n);
void ps_records_encode(struct ps_out *out, const struct signer_audit_records *r);
void ps_checkpoint_encode(struct ps_out *out, const char *note, uint64_t seq);
void ps_proof_encode(struct ps_out *out, const struct signer_audit_proof *p);
void ps_certs_list_encode(struct ps_out *out, const char *client, const struct signer_certs_query *q);
void ps_cert_get_encode(struct ps_out *out, const struct signer_caller *c, const char *serial_hex);
/* Replies: a page (items, then the cursor) and one certificate (with its PEM). */
void ps_certs_encode(struct ps_out *out, const struct signer_certs *c);
void ps_cert_encode(struct ps_out *out, const struct signer_cert *c);
void ps_revoke_encode(struct ps_out *out, const struct signer_caller *c, const char *serial_hex, uint8_t reason,
    const char *detail);
void ps_revocation_encode(struct ps_out *out, const struct signer_revocation *r);
void ps_ocsp_request_encode(struct ps_out *out, const uint8_t *req, size_t len);
/*
 * Replies: a CRL (complete or delta: PS_CRL, PS_CRL_DELTA) of more than
 * PS_CRL_DER_MAX, or whose base_number is not below its number, or an OCSP
 * answer of more than SIGNER_OCSP_RESPONSE_MAX fails out.
 */
void ps_crl_encode(struct ps_out *out, const struct signer_crl *c);
void ps_ocsp_encode(struct ps_out *out, const struct signer_ocsp *o);

/*
 * Decoders of requests (the signer's side). Strings in *out are borrowed
 * from p. Errors: SD_E_INVAL (malformed, out of bounds, trailing bytes).
 */
SD_WUR int ps_config_decode(const uint8_t *p, size_t len, struct ps_config *out);
SD_WUR int ps_issue_decode(const uint8_t *p, size_t len, struct ps_issue *out);
SD_WUR int ps_audit_decode(uint32_t type, const uint8_t *p, size_t len, struct ps_audit *out);
SD_WUR int ps_certs_list_decode(const uint8_t *p, size_t len, struct ps_certs_list *out);
SD_WUR int ps_cert_get_decode(const uint8_t *p, size_t len, struct ps_cert_get *out);
SD_WUR int ps_revoke_decode(const uint8_t *p, size_t len, struct ps_revoke *out);
SD_WUR int ps_ocsp_request_decode(const uint8_t *p, size_t len, struct ps_ocsp_request *out);

/* The revocation reply after its status (the front's side). Errors: SD_E_INTERNAL (malformed). */
SD_WUR int ps_revocation_decode(struct ps_in *in, struct signer_revocation *out);

/*
 * The CRL (PS_CRL, PS_CRL_DELTA) and OCSP replies after their status (the
 * front's side): a new struct with a copy of the DER (signer_crl_free(),
 * signer_ocsp_free()). Errors: SD_E_INTERNAL (malformed, over its bound, a
 * base_number not 0 and not below number), SD_E_NOMEM.
 */
SD_WUR int ps_crl_decode(struct ps_in *in, struct signer_crl **out);
SD_WUR int ps_ocsp_decode(struct ps_in *in, struct signer_ocsp **out);

/*
 * ACME (privsep_acme.c). A request out of signer.h's bounds, or an answer
 * whose content type is not one of the few the signer may send, or whose
 * parts are over their bounds, fails out.
 */
void ps_acme_request_encode(struct ps_out *out, const struct signer_acme_request *r);
void ps_acme_answer_encode(struct ps_out *out, const struct signer_acme_answer *a);
void ps_acme_validated_encode(struct ps_out *out, const struct ps_acme_validated *v);
/*
 * The signer's side: strings and the body borrowed from p; an empty id is
 * NULL, an empty body NULL. Errors: SD_E_INVAL (malformed, out of bounds,
 * trailing bytes).
 */
SD_WUR int ps_acme_request_decode(const uint8_t *p, size_t len, struct signer_acme_request *out);
SD_WUR int ps_acme_validated_decode(const uint8_t *p, size_t len, struct ps_acme_validated *out);
/*
 * The answer after its status (the front's side): a new answer
 * (signer_acme_answer_free()) with its content type mapped back to the
 * static string. Errors: SD_E_INTERNAL (malformed, over a bound, a content
 * type not in the table), SD_E_NOMEM.
 */
SD_WUR int ps_acme_answer_decode(struct ps_in *in, struct signer_acme_answer **out);

/* PS_API_REFUSALS: the window's start, its count and the detail (signer_api_refusals()). */
struct ps_api_refusals {
	int64_t window_start_ms;
	uint64_t count;
	const char *detail;
};
#define PS_API_REFUSALS_MSG_MAX (16 + 4 + SIGNER_API_REFUSALS_DETAIL_MAX + 1)

/* A detail over SIGNER_API_REFUSALS_DETAIL_MAX fails out. */
void ps_api_refusals_encode(struct ps_out *out, const struct ps_api_refusals *r);
/* The detail borrowed from p. Errors: SD_E_INVAL (malformed, out of bounds, trailing bytes). */
SD_WUR int ps_api_refusals_decode(const uint8_t *p, size_t len, struct ps_api_refusals *out);

/*
 * The reply's status, at the start of every reply: 0, or an error whose
 * detail is recorded with sd_error_set(). Leaves in after it.
 * Errors: SD_E_INVAL (malformed).
 */
SD_WUR int ps_status_decode(struct ps_in *in, int *rc);

#endif
