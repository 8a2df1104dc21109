/*
 * The certificate inventory as the API sees it (signer_certs_list() and
 * signer_cert_get() in signer.h): the journal's certificate index turned
 * into plain data, and who may read which certificate.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sd_file.h"
#include "sd_time.h"
#include "signer_certs.h"

static void
signer_cert_clear(struct signer_cert *c)
{
	size_t i;

	for (i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	free(c->profile);
	free(c->client);
	free(c->cert_pem);
	memset(c, 0, sizeof(*c));
}

void
signer_cert_free(struct signer_cert *c)
{
	if (c == NULL)
		return;
	signer_cert_clear(c);
	free(c);
}

void
signer_certs_free(struct signer_certs *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		signer_cert_clear(&c->items[i]);
	free(c->items);
	free(c->next_cursor);
	free(c);
}

static void
signer_cert_time(int64_t t, char out[32])
{
	if (sd_time_format(t, out) != 0)
		out[0] = '\0';
}

/* Copy what the index says into out (zeroed by the caller). Errors: SD_E_NOMEM. */
static int
signer_cert_fill(const struct journal_cert *jc, int64_t now, struct signer_cert *out)
{
	size_t i;

	sd_hex_encode(jc->serial, jc->serial_len, out->serial_hex);
	sd_hex_encode(jc->client_spki_sha256, JOURNAL_HASH_LEN, out->client_spki_sha256_hex);
	signer_cert_time(jc->issued_ms / 1000, out->issued);
	if (jc->parsed) {
		signer_cert_time(jc->not_before, out->not_before);
		signer_cert_time(jc->not_after, out->not_after);
	}
	out->status = journal_cert_status(jc, now);
	out->journal_seq = jc->seq;
	out->intent_seq = jc->intent_seq;
	if ((out->profile = strdup(jc->profile)) == NULL || (out->client = strdup(jc->client_subject)) == NULL)
		return SD_E_NOMEM;
	if (jc->n_sans > 0 && (out->sans = calloc(jc->n_sans, sizeof(*out->sans))) == NULL)
		return SD_E_NOMEM;
	for (i = 0; i < jc->n_sans; i++) {
		out->sans[i].type = (enum signer_san_type)jc->sans[i].type;
		if ((out->sans[i].value = strdup(jc->sans[i].value)) == NULL)
			return SD_E_NOMEM;
		out->n_sans = i + 1;
	}
	return 0;
}

static bool
signer_filter_ok(const char *v)
{
	return v == NULL || strnlen(v, SIGNER_CERTS_FILTER_MAX + 1) <= SIGNER_CERTS_FILTER_MAX;
}

int
signer_certs_list_journal(struct journal *j, const struct signer_certs_query *q, struct signer_certs **out)
{
	struct journal_cert_query jq;
	struct journal_cert_page *p = NULL;
	struct signer_certs *r = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc;

	*out = NULL;
	if (j == NULL || q == NULL)
		return sd_error_set(SD_E_INTERNAL, "no journal");
	if (q->limit == 0 || q->limit > SIGNER_CERTS_LIMIT_MAX)
		return sd_error_set(SD_E_INVAL, "limit must be 1..%d", SIGNER_CERTS_LIMIT_MAX);
	if (!signer_filter_ok(q->profile) || !signer_filter_ok(q->client) || !signer_filter_ok(q->san))
		return sd_error_set(SD_E_INVAL, "a filter value is longer than %d bytes", SIGNER_CERTS_FILTER_MAX);
	if (q->cursor != NULL && strnlen(q->cursor, SIGNER_CERTS_CURSOR_MAX + 1) > SIGNER_CERTS_CURSOR_MAX)
		return sd_error_set(SD_E_INVAL, "cursor is longer than %d characters", SIGNER_CERTS_CURSOR_MAX);
	memset(&jq, 0, sizeof(jq));
	jq.profile = q->profile;
	jq.client = q->client;
	jq.san = q->san;
	jq.has_valid_at = q->has_valid_at;
	jq.valid_at = q->valid_at;
	jq.has_expires_before = q->has_expires_before;
	jq.expires_before = q->expires_before;
	jq.cursor = q->cursor;
	jq.limit = q->limit;
	jq.scan_max = SIGNER_CERTS_SCAN_MAX;
	/* Far below the privilege-separation frame (16 MiB), whatever the SANs. */
	jq.bytes_max = SIGNER_CERTS_PAGE_BYTES;
	if ((rc = journal_certs_list(j, &jq, &p)) != 0)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL || (p->n > 0 && (r->items = calloc(p->n, sizeof(*r->items))) == NULL)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < p->n; i++) {
		r->n = i + 1;
		if ((rc = signer_cert_fill(p->items[i], now, &r->items[i])) != 0)
			goto out;
	}
	if (p->next_cursor != NULL) {
		r->next_cursor = p->next_cursor;
		p->next_cursor = NULL;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	signer_certs_free(r);
	journal_cert_page_free(p);
	return rc;
}

/* The DER as a PEM certificate. Errors: SD_E_NOMEM. */
static int
signer_cert_pem(const uint8_t *der, size_t len, char **out)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n", tail[] = "-----END CERTIFICATE-----\n";
	unsigned char *b64 = NULL;
	size_t n, i, at, cap;
	char *pem;

	*out = NULL;
	if (len > JOURNAL_CERT_MAX || (b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return SD_E_NOMEM;
	n = (size_t)EVP_EncodeBlock(b64, der, (int)len);
	cap = sizeof(head) + n + n / 64 + 1 + sizeof(tail);
	if ((pem = malloc(cap)) == NULL) {
		free(b64);
		return SD_E_NOMEM;
	}
	memcpy(pem, head, sizeof(head) - 1);
	at = sizeof(head) - 1;
	for (i = 0; i < n; i += 64) {
		memcpy(pem + at, b64 + i, n - i < 64 ? n - i : 64);
		at += n - i < 64 ? n - i : 64;
		pem[at++] = '\n';
	}
	memcpy(pem + at, tail, sizeof(tail));
	free(b64);
	*out = pem;
	return 0;
}

int
signer_cert_get_journal(struct journal *j, const struct sd_config *cfg, const struct signer_caller *caller,
    const char *serial_hex, struct signer_cert **out)
{
	const struct config_client *cl;
	uint8_t serial[JOURNAL_SERIAL_MAX];
	struct journal_cert *jc = NULL;
	struct signer_cert *c = NULL;
	size_t len;
	bool any;
	int rc;

	*out = NULL;
	if (j == NULL || cfg == NULL || caller == NULL || caller->client == NULL || serial_hex == NULL)
		return sd_error_set(SD_E_INTERNAL, "signer_cert_get: NULL argument");
	cl = sd_config_client_by_name(cfg, caller->client);
	if (cl == NULL || (cl->roles & (CONFIG_ROLE_ISSUER | CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN)) == 0)
		return sd_error_set(SD_E_INTERNAL, "client \"%.64s\" may not read certificates", caller->client);
	any = (cl->roles & (CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN)) != 0;
	if (sd_hex_decode(serial_hex, serial, sizeof(serial), &len) != 0)
		return sd_error_set(SD_E_INVAL, "serial \"%.48s\" is not 1..%d bytes of hex", serial_hex, JOURNAL_SERIAL_MAX);
	if ((rc = journal_cert_get(j, serial, len, &jc)) != 0) {
		if (rc == SD_E_NOT_FOUND)
			rc = sd_error_set(SD_E_NOT_FOUND, "no certificate has serial %.40s", serial_hex);
		goto out;
	}
	/* An issuer reads only what it requested: the same subject and the same key. */
	if (!any && (caller->subject == NULL || strcmp(caller->subject, jc->client_subject) != 0 ||
	    memcmp(caller->spki_sha256, jc->client_spki_sha256, JOURNAL_HASH_LEN) != 0)) {
		rc = sd_error_set(SD_E_NOT_FOUND, "no certificate has serial %.40s", serial_hex);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = signer_cert_fill(jc, (int64_t)time(NULL), c)) != 0 ||
	    (rc = signer_cert_pem(jc->cert_der, jc->cert_der_len, &c->cert_pem)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	signer_cert_free(c);
	journal_cert_free(jc);
	return rc;
}
