/*
 * The certificate inventory's answers as JSON (jansson): a page
 * {"items": [...], "next_cursor"} and one certificate with its PEM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_json.h"

static int
api_certs_dump(const json_t *doc, char **out, size_t *len)
{
	char *text;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return SD_E_NOMEM;
	*out = text;
	*len = strlen(text);
	return 0;
}

static const char *
api_san_type(enum signer_san_type t)
{
	switch (t) {
	case SIGNER_SAN_DNS: return "dns";
	case SIGNER_SAN_IP: return "ip";
	case SIGNER_SAN_URI: return "uri";
	case SIGNER_SAN_EMAIL: return "email";
	default: return "other";
	}
}

/* An RFC 3339 time, or null when the certificate did not parse. */
static json_t *
api_time_or_null(const char *t)
{
	return t[0] != '\0' ? json_string(t) : json_null();
}

/* The fields a list item and a single certificate share. */
static json_t *
api_cert_object(const struct signer_cert *c)
{
	json_t *o = NULL, *sans, *san;
	size_t i;

	if (c->journal_seq > (uint64_t)INT64_MAX || c->intent_seq > (uint64_t)INT64_MAX || c->profile == NULL ||
	    c->client == NULL || c->status == NULL || (sans = json_array()) == NULL)
		return NULL;
	for (i = 0; i < c->n_sans; i++) {
		san = json_pack("{s:s,s:s}", "type", api_san_type(c->sans[i].type), "value", c->sans[i].value);
		if (san == NULL || json_array_append_new(sans, san) != 0) {
			json_decref(sans);
			return NULL;
		}
	}
	/* Subjects and profiles are UTF-8 already (the journal refuses anything else). */
	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:I}", "serial", c->serial_hex, "profile", c->profile, "client",
	    c->client, "not_before", api_time_or_null(c->not_before), "not_after", api_time_or_null(c->not_after),
	    "sans", sans, "status", c->status, "journal_seq", (json_int_t)c->journal_seq);
	return o;
}

int
api_certs_json(const struct signer_certs *certs, char **out, size_t *len)
{
	json_t *doc = NULL, *items = NULL, *it;
	size_t i;
	int rc;

	*out = NULL;
	*len = 0;
	if ((items = json_array()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < certs->n; i++) {
		if ((it = api_cert_object(&certs->items[i])) == NULL || json_array_append_new(items, it) != 0) {
			rc = SD_E_NOMEM;
			goto out;
		}
	}
	doc = json_pack("{s:o}", "items", items);
	items = NULL;	/* "o" steals it, success or not */
	if (doc == NULL ||
	    (certs->next_cursor != NULL && json_object_set_new(doc, "next_cursor", json_string(certs->next_cursor)) != 0)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	rc = api_certs_dump(doc, out, len);
out:
	json_decref(items);
	json_decref(doc);
	return rc;
}

int
api_cert_json(const struct signer_cert *c, char **out, size_t *len)
{
	json_t *doc;
	int rc;

	*out = NULL;
	*len = 0;
	if (c->cert_pem == NULL)
		return SD_E_INTERNAL;
	if ((doc = api_cert_object(c)) == NULL)
		return SD_E_NOMEM;
	if (json_object_set_new(doc, "certificate", json_string(c->cert_pem)) != 0 ||
	    json_object_set_new(doc, "client_spki_sha256", json_string(c->client_spki_sha256_hex)) != 0 ||
	    json_object_set_new(doc, "requested_at", json_string(c->issued)) != 0 ||
	    json_object_set_new(doc, "intent_seq", json_integer((json_int_t)c->intent_seq)) != 0) {
		json_decref(doc);
		return SD_E_NOMEM;
	}
	rc = api_certs_dump(doc, out, len);
	json_decref(doc);
	return rc;
}
