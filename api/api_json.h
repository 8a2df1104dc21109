/*
 * The API's JSON and problem documents: request parsing into plain C with
 * enforced limits, RFC 9457 problem bodies, the one table that maps signerd
 * error codes to HTTP statuses, and the issuance response. Pure functions:
 * no network, no global state; safe to call from any thread.
 */
#ifndef API_JSON_H
#define API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sd_error.h"
#include "signer.h"

#define API_PROFILE_MAX 64		/* bytes in a profile name */
#define API_DETAIL_MAX 512		/* bytes in a problem detail, NUL included */
#define API_PROBLEM_URN "urn:signerd:problem:"

/* Problems the API itself raises (signer errors go through api_problem_from_error()). */
enum api_problem_kind {
	API_P_UNAUTHENTICATED,		/* 401: no or unverified client certificate */
	API_P_FORBIDDEN,		/* 403: unknown client, missing role or profile */
	API_P_BAD_JSON,			/* 400: body is not JSON */
	API_P_BAD_REQUEST,		/* 400: JSON of the wrong shape */
	API_P_BODY_TOO_LARGE,		/* 413 */
	API_P_UNSUPPORTED_MEDIA_TYPE,	/* 415 */
	API_P_NOT_FOUND,		/* 404 */
	API_P_METHOD_NOT_ALLOWED,	/* 405 */
	API_P_BAD_HTTP,			/* 400: request framing (Host, Content-Length, Transfer-Encoding, path) */
	API_P_LENGTH_REQUIRED,		/* 411: a body without Content-Length */
	API_P_NOT_IMPLEMENTED,		/* 501: a transfer coding other than chunked */
	API_P_COUNT
};

/* One problem to report; slug and title are static strings. */
struct api_problem {
	unsigned status;
	const char *slug;
	const char *title;
	unsigned retry_after;		/* seconds for "Retry-After", 0: none */
	char detail[API_DETAIL_MAX];
};

/* A parsed POST /v1/sign body; every string is NUL-terminated and bounded. */
struct api_sign_request {
	char *csr_pem;			/* at most SIGNER_CSR_MAX bytes */
	size_t csr_pem_len;
	char *profile;			/* 1 .. API_PROFILE_MAX bytes */
	uint64_t ttl;			/* 0: not given (the profile's default) */
	/* "sans" from the body (each value owned, NUL-terminated); n_sans 0: not given. */
	struct signer_san sans[SIGNER_SAN_MAX];
	size_t n_sans;
};

/* Fill p with an API-level problem; the detail is formatted (truncated if long). */
void api_problem_set(struct api_problem *p, enum api_problem_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * HTTP status for a signerd error code, from the one mapping table:
 * refused input 400, HSM and journal trouble 503 (*retry_after set),
 * anything else 500. retry_after may be NULL.
 */
unsigned api_error_status(int err, unsigned *retry_after);

/*
 * Fill p for a signer error: slug sd_error_name(err), status from
 * api_error_status(); the detail is sd_error_detail(err) for 4xx and 503,
 * and a generic sentence for 500 so that internals do not leak (log
 * sd_error_detail() instead).
 */
void api_problem_from_error(struct api_problem *p, int err);

/*
 * Serialise p as application/problem+json:
 * {"type": "urn:signerd:problem:<slug>", "title", "status", "detail"}.
 * On success *out (free with free()) and *len are set.
 * Errors: SD_E_NOMEM, SD_E_INTERNAL (slug too long).
 */
SD_WUR int api_problem_json(const struct api_problem *p, char **out, size_t *len);

/*
 * Parse a POST /v1/sign body: {"csr": "<PEM>", "profile": "<name>", "ttl": n,
 * "sans": {"dns": [..], "ip": [..], "uri": [..], "email": [..]}} with ttl and
 * sans optional (each list in sans optional, at least one name in all).
 * Duplicate keys, unknown keys, wrong types, ttl <= 0, a csr over
 * SIGNER_CSR_MAX, a profile over API_PROFILE_MAX, more than SIGNER_SAN_MAX
 * names, an empty name, one over SIGNER_SAN_VALUE_MAX bytes or one with a
 * NUL are refused. Names are checked against the profile by the signer.
 * On success *out (free with api_sign_request_free()) is set.
 * Errors: SD_E_INVAL with prob filled (bad-json with jansson's line and
 * column, or bad-request naming the field), SD_E_NOMEM.
 */
/*
 * Parse body as one JSON object (duplicate keys refused) whose keys are all
 * in fields (NULL-terminated); *out (json_decref()) on success.
 * Errors: SD_E_INVAL with prob set (bad JSON, not an object, an unknown
 * field, naming the expected ones), SD_E_NOMEM.
 */
SD_WUR int api_json_object_parse(const char *body, size_t len, const char *const *fields, json_t **out,
    struct api_problem *prob);

/* Field name of root: a string of 1..max bytes, borrowed into *value. Errors: SD_E_INVAL with prob set. */
SD_WUR int api_field_string(const json_t *root, const char *name, size_t max, const char **value, size_t *len,
    struct api_problem *prob);

SD_WUR int api_sign_request_parse(const char *body, size_t len, struct api_sign_request **out,
    struct api_problem *prob);
void api_sign_request_free(struct api_sign_request *req);

/*
 * Serialise a successful issuance:
 * {"serial_number", "certificate", "ca_chain": [...], "not_after", "journal_seq"}.
 * chain holds n borrowed PEM strings. On success *out (free with free()) and
 * *len are set. Errors: SD_E_NOMEM, SD_E_INTERNAL (malformed result).
 */
SD_WUR int api_sign_response_json(const struct signer_result *r, const char *const *chain, size_t n,
    char **out, size_t *len);

/*
 * True when a Content-Type value is application/json (any case, optional
 * parameters such as "; charset=utf-8").
 */
bool api_content_type_is_json(const char *value);
/* Whether a Content-Type value is the media type want (any case, parameters allowed). */
bool api_content_type_is(const char *value, const char *want);

/*
 * Parse a Content-Length value (decimal digits only, no sign, no spaces).
 * Errors: SD_E_INVAL (malformed or over UINT64_MAX).
 */
SD_WUR int api_content_length_parse(const char *value, uint64_t *out);

/* {"status":"ok"}, as a static string. */
const char *api_health_ok_json(void);

/*
 * /healthz's answer, as a static string: {"status":"ok"}, and when the
 * journal has no audit key (checkpoints false) a "details" object saying
 * that nothing signed protects it against rewriting. Liveness either way.
 */
const char *api_health_json(bool checkpoints);

/*
 * Auditor answers. Records: {"records": [{"seq", "type", "time_ms", "hash",
 * "leaf_hash", "record" (base64)}...], "last_seq", "next"}; proof:
 * {"serial_number", "intent_seq", "seq", "leaf_index", "tree_size",
 * "checkpoint_seq", "leaf_hash", "inclusion_path": [hex...], "checkpoint"}.
 * On success *out (free()) and *len are set. Errors: SD_E_NOMEM, SD_E_INTERNAL.
 */
SD_WUR int api_audit_records_json(const struct signer_audit_records *r, char **out, size_t *len);
SD_WUR int api_audit_proof_json(const struct signer_audit_proof *p, const char *serial_hex, char **out, size_t *len);

/*
 * The certificate inventory's answers (api_certs_json.c). A page:
 * {"items": [{"serial", "profile", "client", "not_before", "not_after",
 * "sans": [{"type", "value"}], "status", "journal_seq"}], "next_cursor"
 * (absent at the end)}; one certificate: the same fields and
 * "certificate" (PEM), "client_spki_sha256", "requested_at", "intent_seq".
 * On success *out (free()) and *len are set. Errors: SD_E_NOMEM, SD_E_INTERNAL.
 */
SD_WUR int api_certs_json(const struct signer_certs *certs, char **out, size_t *len);
SD_WUR int api_cert_json(const struct signer_cert *c, char **out, size_t *len);

/*
 * A query parameter as a decimal number in min..max; NULL gives def.
 * Errors: SD_E_INVAL with prob filled (bad-request naming the parameter).
 */
SD_WUR int api_query_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t def,
    uint64_t *out, struct api_problem *prob);

#endif
