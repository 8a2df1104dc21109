#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api_json.h"

#define API_FIELD_SHOWN 64	/* bytes of an unknown field name echoed in a detail */

static const struct {
	const char *slug;
	const char *title;
	unsigned status;
} api_problem_table[API_P_COUNT] = {
	[API_P_UNAUTHENTICATED] = { "unauthenticated", "Valid client certificate required", 401 },
	[API_P_FORBIDDEN] = { "forbidden", "Forbidden", 403 },
	[API_P_BAD_JSON] = { "bad-json", "Request body is not valid JSON", 400 },
	[API_P_BAD_REQUEST] = { "bad-request", "Malformed request", 400 },
	[API_P_BODY_TOO_LARGE] = { "body-too-large", "Request body too large", 413 },
	[API_P_UNSUPPORTED_MEDIA_TYPE] = { "unsupported-media-type", "Unsupported media type", 415 },
	[API_P_NOT_FOUND] = { "not-found", "Not found", 404 },
	[API_P_METHOD_NOT_ALLOWED] = { "method-not-allowed", "Method not allowed", 405 },
	[API_P_BAD_HTTP] = { "bad-http", "Malformed HTTP request", 400 },
	[API_P_LENGTH_REQUIRED] = { "length-required", "Content-Length required", 411 },
	[API_P_NOT_IMPLEMENTED] = { "not-implemented", "Not implemented", 501 },
};

/*
 * The one mapping from signerd error codes to HTTP statuses. Codes left out
 * are server faults: 500 with a generic detail.
 */
static const struct {
	unsigned status;
	unsigned retry_after;		/* seconds */
} api_error_table[SD_ERROR_COUNT] = {
	[-SD_E_CSR] = { 400, 0 },
	[-SD_E_CSR_SIGNATURE] = { 400, 0 },
	[-SD_E_KEY_REFUSED] = { 400, 0 },
	[-SD_E_NAME_REFUSED] = { 400, 0 },
	[-SD_E_TTL] = { 400, 0 },
	[-SD_E_INVAL] = { 400, 0 },
	[-SD_E_PROFILE_UNKNOWN] = { 400, 0 },
	[-SD_E_TOO_LARGE] = { 400, 0 },
	[-SD_E_HSM_UNAVAILABLE] = { 503, 5 },
	[-SD_E_HSM] = { 503, 5 },
	[-SD_E_JOURNAL] = { 503, 5 },
	[-SD_E_JOURNAL_FULL] = { 503, 5 },
	[-SD_E_NOT_FOUND] = { 404, 0 },
	[-SD_E_QUOTA] = { 429, 1 },	/* at least: sd_error_retry_after() says how long */
	[-SD_E_FORBIDDEN] = { 403, 0 },
	[-SD_E_BUSY] = { 503, 1 },	/* at least: the gate says how long its queue takes to drain */
};

void
api_problem_set(struct api_problem *p, enum api_problem_kind kind, const char *fmt, ...)
{
	va_list ap;
	int n;

	if ((unsigned)kind >= API_P_COUNT)
		abort();
	p->status = api_problem_table[kind].status;
	p->slug = api_problem_table[kind].slug;
	p->title = api_problem_table[kind].title;
	p->retry_after = 0;
	va_start(ap, fmt);
	n = vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	/* A truncated detail is still useful; a failed format is not. */
	if (n < 0)
		p->detail[0] = '\0';
}

unsigned
api_error_status(int err, unsigned *retry_after)
{
	unsigned status = 500, retry = 0;

	if (err < 0 && err > -SD_ERROR_COUNT && api_error_table[-err].status != 0) {
		status = api_error_table[-err].status;
		retry = api_error_table[-err].retry_after;
	}
	if (retry_after != NULL)
		*retry_after = retry;
	return status;
}

void
api_problem_from_error(struct api_problem *p, int err)
{
	const char *detail;
	int n;

	p->status = api_error_status(err, &p->retry_after);
	if (p->retry_after != 0 && sd_error_retry_after(err) > p->retry_after)
		p->retry_after = sd_error_retry_after(err);
	p->slug = sd_error_name(err);
	if (p->status == 500) {
		p->title = "Internal server error";
		detail = "the request could not be completed; the server log has the details";
	} else {
		p->title = sd_strerror(err);
		detail = sd_error_detail(err);
	}
	n = snprintf(p->detail, sizeof(p->detail), "%s", detail);
	if (n < 0)
		p->detail[0] = '\0';
}

/*
 * A JSON string from text that may not be UTF-8 (a detail from a CSR's
 * names, or one truncated inside a multi-byte character): non-ASCII bytes
 * become '?' when the text is not valid UTF-8.
 */
static json_t *
api_json_string_lossy(const char *text)
{
	json_t *s;
	char *copy;
	size_t i, len;

	if ((s = json_string(text)) != NULL)
		return s;
	len = strlen(text);
	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
	copy[len] = '\0';
	s = json_string(copy);
	free(copy);
	return s;
}

static int
api_json_dump(const json_t *doc, char **out, size_t *len)
{
	char *text;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return SD_E_NOMEM;
	*out = text;
	*len = strlen(text);
	return 0;
}

int
api_problem_json(const struct api_problem *p, char **out, size_t *len)
{
	char type[128];
	json_t *doc = NULL;
	int n, rc;

	*out = NULL;
	*len = 0;
	n = snprintf(type, sizeof(type), API_PROBLEM_URN "%s", p->slug);
	if (n < 0 || (size_t)n >= sizeof(type)) {
		rc = SD_E_INTERNAL;
		goto out;
	}
	if ((doc = json_object()) == NULL ||
	    json_object_set_new(doc, "type", json_string(type)) != 0 ||
	    json_object_set_new(doc, "title", api_json_string_lossy(p->title)) != 0 ||
	    json_object_set_new(doc, "status", json_integer(p->status)) != 0 ||
	    json_object_set_new(doc, "detail", api_json_string_lossy(p->detail)) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = api_json_dump(doc, out, len);
out:
	json_decref(doc);
	return rc;
}

void
api_sign_request_free(struct api_sign_request *req)
{
	size_t i;

	if (req == NULL)
		return;
	free(req->csr_pem);
	free(req->profile);
	for (i = 0; i < req->n_sans && i < SIGNER_SAN_MAX; i++)
		free((char *)req->sans[i].value);
	free(req);
}

static char *
api_strndup(const char *s, size_t len)
{
	char *copy;

	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* A required, non-empty string field of at most max bytes. */
int
api_field_string(const json_t *root, const char *name, size_t max, const char **value, size_t *len,
    struct api_problem *prob)
{
	const json_t *v;

	if ((v = json_object_get(root, name)) == NULL) {
		api_problem_set(prob, API_P_BAD_REQUEST, "missing field \"%s\"", name);
		return SD_E_INVAL;
	}
	if (!json_is_string(v)) {
		api_problem_set(prob, API_P_BAD_REQUEST, "field \"%s\" must be a string", name);
		return SD_E_INVAL;
	}
	*len = json_string_length(v);
	if (*len == 0) {
		api_problem_set(prob, API_P_BAD_REQUEST, "field \"%s\" must not be empty", name);
		return SD_E_INVAL;
	}
	if (*len > max) {
		api_problem_set(prob, API_P_BAD_REQUEST, "field \"%s\" is longer than %zu bytes", name, max);
		return SD_E_INVAL;
	}
	*value = json_string_value(v);
	return 0;
}

/* The optional "sans" object: {"dns": [...], "ip": [...], "uri": [...], "email": [...]}. */
static int
api_field_sans(const json_t *root, struct api_sign_request *req, struct api_problem *prob)
{
	static const struct {
		const char *key;
		enum signer_san_type type;
	} kinds[] = {
		{ "dns", SIGNER_SAN_DNS }, { "ip", SIGNER_SAN_IP }, { "uri", SIGNER_SAN_URI }, { "email", SIGNER_SAN_EMAIL },
	};
	const json_t *sans, *list, *v;
	const char *key;
	size_t i, k, n;
	char *copy;

	if ((sans = json_object_get(root, "sans")) == NULL)
		return 0;
	if (!json_is_object(sans)) {
		api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans\" must be an object of lists "
		    "(\"dns\", \"ip\", \"uri\", \"email\")");
		return SD_E_INVAL;
	}
	json_object_foreach((json_t *)sans, key, list) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(key, kinds[k].key) != 0; k++)
			;
		if (k == sizeof(kinds) / sizeof(kinds[0])) {
			api_problem_set(prob, API_P_BAD_REQUEST,
			    "unknown field \"sans.%.*s\" (expected \"dns\", \"ip\", \"uri\", \"email\")",
			    (int)strnlen(key, API_FIELD_SHOWN), key);
			return SD_E_INVAL;
		}
		if (!json_is_array(list)) {
			api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans.%s\" must be a list of strings", key);
			return SD_E_INVAL;
		}
		json_array_foreach(list, i, v) {
			if (!json_is_string(v)) {
				api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans.%s\" item %zu must be a string",
				    key, i);
				return SD_E_INVAL;
			}
			n = json_string_length(v);
			if (n == 0 || n > SIGNER_SAN_VALUE_MAX || memchr(json_string_value(v), '\0', n) != NULL) {
				api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans.%s\" item %zu must be 1 to %d "
				    "bytes without NUL", key, i, SIGNER_SAN_VALUE_MAX);
				return SD_E_INVAL;
			}
			if (req->n_sans >= SIGNER_SAN_MAX) {
				api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans\" names more than %d names",
				    SIGNER_SAN_MAX);
				return SD_E_INVAL;
			}
			if ((copy = api_strndup(json_string_value(v), n)) == NULL)
				return SD_E_NOMEM;
			req->sans[req->n_sans++] = (struct signer_san){ kinds[k].type, copy, n };
		}
	}
	if (req->n_sans == 0) {
		api_problem_set(prob, API_P_BAD_REQUEST, "field \"sans\" names no name (omit it to use the CSR's)");
		return SD_E_INVAL;
	}
	return 0;
}

int
api_json_object_parse(const char *body, size_t len, const char *const *fields, json_t **out,
    struct api_problem *prob)
{
	char expected[256];
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	size_t i, at = 0;
	bool known;
	int n;

	*out = NULL;
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return SD_E_NOMEM;
		api_problem_set(prob, API_P_BAD_JSON, "invalid JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return SD_E_INVAL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		api_problem_set(prob, API_P_BAD_REQUEST, "request body must be a JSON object");
		return SD_E_INVAL;
	}
	json_object_foreach(root, key, v) {
		for (i = 0, known = false; fields[i] != NULL && !known; i++)
			known = strcmp(key, fields[i]) == 0;
		if (known)
			continue;
		expected[0] = '\0';
		for (i = 0; fields[i] != NULL; i++) {
			n = snprintf(expected + at, sizeof(expected) - at, "%s\"%s\"", i > 0 ? ", " : "", fields[i]);
			if (n < 0 || (size_t)n >= sizeof(expected) - at)
				break;
			at += (size_t)n;
		}
		api_problem_set(prob, API_P_BAD_REQUEST, "unknown field \"%.*s\" (expected %s)",
		    (int)strnlen(key, API_FIELD_SHOWN), key, expected);
		json_decref(root);
		return SD_E_INVAL;
	}
	*out = root;
	return 0;
}

static const char *const api_sign_fields[] = { "csr", "profile", "ttl", "sans", NULL };

int
api_sign_request_parse(const char *body, size_t len, struct api_sign_request **out,
    struct api_problem *prob)
{
	struct api_sign_request *req = NULL;
	json_t *root = NULL, *v;
	const char *csr, *profile;
	size_t csr_len, profile_len;
	int rc;

	*out = NULL;
	if ((rc = api_json_object_parse(body, len, api_sign_fields, &root, prob)) != 0)
		goto out;
	if ((rc = api_field_string(root, "csr", SIGNER_CSR_MAX, &csr, &csr_len, prob)) != 0 ||
	    (rc = api_field_string(root, "profile", API_PROFILE_MAX, &profile, &profile_len, prob)) != 0)
		goto out;
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((v = json_object_get(root, "ttl")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			api_problem_set(prob, API_P_BAD_REQUEST,
			    "field \"ttl\" must be a positive integer number of seconds");
			rc = SD_E_INVAL;
			goto out;
		}
		req->ttl = (uint64_t)json_integer_value(v);
	}
	if ((rc = api_field_sans(root, req, prob)) != 0)
		goto out;
	if ((req->csr_pem = api_strndup(csr, csr_len)) == NULL ||
	    (req->profile = api_strndup(profile, profile_len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	req->csr_pem_len = csr_len;
	*out = req;
	req = NULL;
	rc = 0;
out:
	api_sign_request_free(req);
	json_decref(root);
	return rc;
}

static bool
api_result_field_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL && s[0] != '\0';
}

int
api_sign_response_json(const struct signer_result *r, const char *const *chain, size_t n,
    char **out, size_t *len)
{
	json_t *doc = NULL, *arr = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*len = 0;
	if (r->cert_pem == NULL || !api_result_field_ok(r->serial_hex, sizeof(r->serial_hex)) ||
	    !api_result_field_ok(r->not_after, sizeof(r->not_after)) ||
	    r->journal_seq > (uint64_t)INT64_MAX) {
		rc = SD_E_INTERNAL;
		goto out;
	}
	if ((doc = json_object()) == NULL || (arr = json_array()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (chain[i] == NULL) {
			rc = SD_E_INTERNAL;
			goto out;
		}
		if (json_array_append_new(arr, json_string(chain[i])) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	if (json_object_set_new(doc, "serial_number", json_string(r->serial_hex)) != 0 ||
	    json_object_set_new(doc, "certificate", json_string(r->cert_pem)) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	/* json_object_set_new() takes arr even when it fails. */
	rc = json_object_set_new(doc, "ca_chain", arr);
	arr = NULL;
	if (rc != 0 ||
	    json_object_set_new(doc, "not_after", json_string(r->not_after)) != 0 ||
	    json_object_set_new(doc, "journal_seq", json_integer((json_int_t)r->journal_seq)) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = api_json_dump(doc, out, len);
out:
	json_decref(arr);
	json_decref(doc);
	return rc;
}

const char *
api_health_ok_json(void)
{
	return "{\"status\":\"ok\"}";
}

const char *
api_health_json(bool checkpoints)
{
	if (checkpoints)
		return api_health_ok_json();
	return "{\"status\":\"ok\",\"details\":{\"checkpoints\":"
	    "\"disabled: the journal is unprotected against rewriting\"}}";
}

bool
api_content_type_is_json(const char *value)
{
	return api_content_type_is(value, "application/json");
}

bool
api_content_type_is(const char *value, const char *want)
{
	size_t n = strlen(want);

	if (value == NULL)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, want, n) != 0)
		return false;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	return *value == '\0' || *value == ';';
}

int
api_content_length_parse(const char *value, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	*out = 0;
	if (value == NULL || *value == '\0')
		return SD_E_INVAL;
	for (; *value != '\0'; value++) {
		if (*value < '0' || *value > '9')
			return SD_E_INVAL;
		d = (unsigned)(*value - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SD_E_INVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
api_query_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t def, uint64_t *out,
    struct api_problem *prob)
{
	uint64_t v = 0;
	size_t i;

	*out = def;
	if (value == NULL)
		return 0;
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] < '0' || value[i] > '9' || i >= 19)
			goto bad;
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	if (i == 0 || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	api_problem_set(prob, API_P_BAD_REQUEST, "query parameter %s must be a number in %llu..%llu", name,
	    (unsigned long long)min, (unsigned long long)max);
	return SD_E_INVAL;
}

int
api_audit_records_json(const struct signer_audit_records *r, char **out, size_t *len)
{
	json_t *doc = NULL, *arr = NULL, *it;
	size_t i;
	int rc;

	*out = NULL;
	*len = 0;
	if ((doc = json_object()) == NULL || (arr = json_array()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		const struct signer_audit_record *x = &r->items[i];

		if (x->seq > (uint64_t)INT64_MAX || x->record_b64 == NULL) {
			rc = SD_E_INTERNAL;
			goto out;
		}
		it = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s}", "seq", (json_int_t)x->seq, "type", x->type, "time_ms",
		    (json_int_t)x->time_ms, "hash", x->hash_hex, "leaf_hash", x->leaf_hash_hex, "record", x->record_b64);
		if (it == NULL || json_array_append_new(arr, it) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	rc = json_object_set_new(doc, "records", arr);
	arr = NULL;
	if (rc != 0 || r->last_seq > (uint64_t)INT64_MAX ||
	    json_object_set_new(doc, "last_seq", json_integer((json_int_t)r->last_seq)) != 0 ||
	    json_object_set_new(doc, "next", r->n > 0 ? json_integer((json_int_t)r->items[r->n - 1].seq + 1) :
	    json_null()) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = api_json_dump(doc, out, len);
out:
	json_decref(arr);
	json_decref(doc);
	return rc;
}

int
api_audit_proof_json(const struct signer_audit_proof *p, const char *serial_hex, char **out, size_t *len)
{
	json_t *doc = NULL, *arr = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*len = 0;
	if (p->n > SIGNER_AUDIT_PROOF_MAX || p->checkpoint == NULL || p->tree_size > (uint64_t)INT64_MAX ||
	    p->checkpoint_seq > (uint64_t)INT64_MAX) {
		rc = SD_E_INTERNAL;
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		if (json_array_append_new(arr, json_string(p->hashes_hex[i])) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	doc = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:o,s:s}", "serial_number", serial_hex, "intent_seq",
	    (json_int_t)p->intent_seq, "seq", (json_int_t)p->seq, "leaf_index", (json_int_t)p->leaf_index, "tree_size",
	    (json_int_t)p->tree_size, "checkpoint_seq", (json_int_t)p->checkpoint_seq, "leaf_hash", p->leaf_hash_hex,
	    "inclusion_path", arr, "checkpoint", p->checkpoint);
	/* "o" steals arr whether or not json_pack() succeeds. */
	arr = NULL;
	if (doc == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = api_json_dump(doc, out, len);
out:
	json_decref(arr);
	json_decref(doc);
	return rc;
}
