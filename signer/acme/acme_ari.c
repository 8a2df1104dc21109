/*
 * ACME Renewal Information (RFC 9773): certIDs, the suggested window of a
 * certificate this CA issued with its current or a retired key ([ca]
 * retired_certificates), and newOrder's "replaces".
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_ari.h"
#include "acme_internal.h"
#include "sd_file.h"
#include "sd_time.h"

int
acme_ari_cert_id(const uint8_t *aki, size_t aki_len, const uint8_t *serial, size_t serial_len, char *out, size_t cap)
{
	char a[(ACME_ARI_AKI_MAX + 2) / 3 * 4 + 1], s[(ACME_ARI_SERIAL_MAX + 2) / 3 * 4 + 1];
	size_t na, ns;

	if (cap > 0)
		out[0] = '\0';
	if (aki_len == 0 || aki_len > ACME_ARI_AKI_MAX || serial_len == 0 || serial_len > ACME_ARI_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "a certID of a %zu-byte key identifier and a %zu-byte serial", aki_len,
		    serial_len);
	na = acme_b64url_encode(aki, aki_len, a);
	ns = acme_b64url_encode(serial, serial_len, s);
	if (na + 1 + ns + 1 > cap)
		return sd_error_set(SD_E_TOO_LARGE, "a certID longer than %zu bytes", cap);
	memcpy(out, a, na);
	out[na] = '.';
	memcpy(out + na + 1, s, ns);
	out[na + 1 + ns] = '\0';
	return 0;
}

/* One base64url part of a certID into buf (at most max bytes). */
static int
acme_ari_part(const char *text, size_t len, size_t max, const char *what, uint8_t *buf, size_t *buf_len)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	int rc;

	if (len == 0)
		return sd_error_set(SD_E_INVAL, "the certID's %s is empty", what);
	/* acme_b64url_decode() refuses '=' too; saying so here makes the detail precise. */
	if (memchr(text, '=', len) != NULL)
		return sd_error_set(SD_E_INVAL, "the certID's %s is padded: base64url without padding is required",
		    what);
	if ((rc = acme_b64url_decode(text, len, max, &raw, &n)) != 0) {
		if (rc == SD_E_NOMEM)
			return rc;
		if (rc == SD_E_TOO_LARGE)
			return sd_error_set(SD_E_INVAL, "the certID's %s is longer than %zu bytes", what, max);
		return sd_error_set(SD_E_INVAL, "the certID's %s is not base64url (%s)", what, sd_error_detail(rc));
	}
	if (n == 0) {
		free(raw);
		return sd_error_set(SD_E_INVAL, "the certID's %s is empty", what);
	}
	memcpy(buf, raw, n);
	*buf_len = n;
	free(raw);
	return 0;
}

int
acme_ari_id_parse(const char *cert_id, struct acme_ari_id *out)
{
	uint8_t serial[ACME_ARI_SERIAL_MAX];
	const char *dot;
	size_t len = 0, skip = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cert_id == NULL || (dot = strchr(cert_id, '.')) == NULL)
		return sd_error_set(SD_E_INVAL, "a certID is keyIdentifier \".\" serial");
	if (strchr(dot + 1, '.') != NULL)
		return sd_error_set(SD_E_INVAL, "a certID has exactly one \".\"");
	if ((rc = acme_ari_part(cert_id, (size_t)(dot - cert_id), ACME_ARI_AKI_MAX, "keyIdentifier", out->aki,
	         &out->aki_len)) != 0)
		return rc;
	if ((rc = acme_ari_part(dot + 1, strlen(dot + 1), ACME_ARI_SERIAL_MAX, "serial", serial, &len)) != 0)
		return rc;
	/*
	 * The DER INTEGER content: a negative serial or a non-minimal encoding
	 * names no certificate this CA wrote, and accepting both spellings of
	 * one serial would give it two certIDs.
	 */
	if (serial[0] & 0x80)
		return sd_error_set(SD_E_INVAL, "the certID's serial is negative");
	if (serial[0] == 0x00) {
		if (len == 1 || !(serial[1] & 0x80))
			return sd_error_set(SD_E_INVAL, "the certID's serial is not a minimal DER INTEGER");
		skip = 1;
	}
	if (len - skip > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "the certID's serial is longer than %d bytes", JOURNAL_SERIAL_MAX);
	out->serial_len = len - skip;
	memcpy(out->serial, serial + skip, out->serial_len);
	sd_hex_encode(out->serial, out->serial_len, out->serial_hex);
	return 0;
}

/* L * pct / 100 without overflowing for any lifetime (pct <= 100). */
static int64_t
acme_ari_share(int64_t lifetime, unsigned pct)
{
	if (pct > 100)
		pct = 100;
	return lifetime / 100 * (int64_t)pct + lifetime % 100 * (int64_t)pct / 100;
}

void
acme_ari_window(int64_t not_before, int64_t not_after, unsigned start_pct, unsigned end_pct, bool at_once, int64_t now,
    int64_t *start, int64_t *end)
{
	int64_t lifetime;

	if (at_once) {
		*start = now - 2 * 3600;
		*end = now - 3600;
		return;
	}
	/* The difference of two int64_t can overflow; a window past a backwards validity is empty anyway. */
	if (not_after <= not_before || (not_before < 0 && not_after > INT64_MAX + not_before))
		lifetime = not_after <= not_before ? 0 : INT64_MAX;
	else
		lifetime = not_after - not_before;
	*start = not_before + acme_ari_share(lifetime, start_pct);
	*end = not_before + acme_ari_share(lifetime, end_pct);
}

int
acme_ca_get(struct acme *a, X509 **out)
{
	const char *pem;
	BIO *bio = NULL;
	int rc = 0;

	*out = NULL;
	if (a->ops.chain_pem == NULL || (pem = a->ops.chain_pem(a->ops.ctx, 0)) == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "no issuing CA certificate");
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		rc = sd_error_set(SD_E_CONFIG, "the issuing CA certificate does not parse");
out:
	BIO_free(bio);
	return rc;
}

#define ACME_ARI_RETIRED_KEY "[ca] retired_certificates"

int
acme_ari_retired_load(const char *path, X509 *ca, struct acme_ari_ski *skis, size_t *n)
{
	const ASN1_OCTET_STRING *ski, *ca_ski = NULL;
	uint8_t *pem = NULL;
	size_t len = 0, i;
	unsigned long err;
	BIO *bio = NULL;
	X509 *x = NULL;
	int rc;

	*n = 0;
	if (ca != NULL && (ca_ski = X509_get0_subject_key_id(ca)) == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "the issuing CA certificate has no subjectKeyIdentifier");
		goto out;
	}
	if ((rc = sd_file_read(path, ACME_ARI_RETIRED_FILE_MAX, &pem, &len)) != 0) {
		if (rc != SD_E_NOMEM)
			rc = sd_error_set(SD_E_CONFIG, ACME_ARI_RETIRED_KEY " %s", sd_error_detail(rc));
		goto out;
	}
	/* len <= ACME_ARI_RETIRED_FILE_MAX: it fits an int. */
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 1;; i++) {
		ERR_set_mark();
		if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			err = ERR_peek_last_error();
			ERR_pop_to_mark();
			/* Running out of input is the normal end; anything else is a broken file. */
			if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
				if (*n > 0)
					break;
				rc = sd_error_set(SD_E_CONFIG, ACME_ARI_RETIRED_KEY " %s: no PEM certificate", path);
			} else {
				rc = sd_error_set(SD_E_CONFIG, ACME_ARI_RETIRED_KEY " %s: certificate %zu is malformed",
				    path, i);
			}
			goto out;
		}
		ERR_clear_last_mark();
		if (*n == ACME_ARI_RETIRED_MAX) {
			rc = sd_error_set(SD_E_CONFIG, ACME_ARI_RETIRED_KEY " %s: more than %d certificates", path,
			    ACME_ARI_RETIRED_MAX);
			goto out;
		}
		/* NULL also when the extension does not decode. */
		if ((ski = X509_get0_subject_key_id(x)) == NULL || ASN1_STRING_length(ski) <= 0) {
			rc = sd_error_set(SD_E_CONFIG,
			    ACME_ARI_RETIRED_KEY " %s: certificate %zu has no "
			                         "subjectKeyIdentifier",
			    path, i);
			goto out;
		}
		if (ASN1_STRING_length(ski) > ACME_ARI_AKI_MAX) {
			rc = sd_error_set(SD_E_CONFIG,
			    ACME_ARI_RETIRED_KEY " %s: certificate %zu has a "
			                         "subjectKeyIdentifier longer than %d bytes",
			    path, i, ACME_ARI_AKI_MAX);
			goto out;
		}
		if (ca_ski != NULL && ASN1_OCTET_STRING_cmp(ski, ca_ski) == 0) {
			rc = sd_error_set(SD_E_CONFIG,
			    ACME_ARI_RETIRED_KEY " %s: certificate %zu is of the current "
			                         "issuing key ([ca] certificate)",
			    path, i);
			goto out;
		}
		skis[*n].len = (size_t)ASN1_STRING_length(ski);
		memcpy(skis[*n].id, ASN1_STRING_get0_data(ski), skis[*n].len);
		(*n)++;
		X509_free(x);
		x = NULL;
	}
	rc = 0;
out:
	if (rc != 0)
		*n = 0;
	X509_free(x);
	BIO_free(bio);
	free(pem);
	return rc;
}

static bool
acme_ari_key_is(const uint8_t *ski, size_t ski_len, const struct acme_ari_id *id)
{
	return ski_len == id->aki_len && memcmp(ski, id->aki, id->aki_len) == 0;
}

/*
 * Which issuing key id's keyIdentifier names: the issuing CA's
 * subjectKeyIdentifier, or one of [ca] retired_certificates'. Errors: those
 * of acme_ca_get(), SD_E_CONFIG (the CA has no subjectKeyIdentifier).
 */
static int
acme_ari_issuer_of(struct acme *a, const struct acme_ari_id *id, enum acme_ari_issuer *issuer)
{
	const ASN1_OCTET_STRING *ski;
	X509 *ca = NULL;
	size_t i;
	int rc;

	*issuer = ACME_ARI_FOREIGN;
	if ((rc = acme_ca_get(a, &ca)) != 0)
		goto out;
	if ((ski = X509_get0_subject_key_id(ca)) == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "the issuing CA certificate has no subjectKeyIdentifier");
		goto out;
	}
	if (acme_ari_key_is(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), id)) {
		*issuer = ACME_ARI_CURRENT;
		goto out;
	}
	for (i = 0; i < a->n_retired; i++) {
		if (acme_ari_key_is(a->retired[i].id, a->retired[i].len, id)) {
			*issuer = ACME_ARI_RETIRED;
			break;
		}
	}
out:
	X509_free(ca);
	return rc;
}

/*
 * Whether jc, the journal's certificate of id's serial, has id's
 * keyIdentifier as its authorityKeyIdentifier: a certID pairing one key's
 * identifier with a serial another key signed names no certificate.
 * Errors: SD_E_JOURNAL (the journal's DER does not parse here).
 */
static int
acme_ari_cert_under(const struct journal_cert *jc, const struct acme_ari_id *id, bool *under)
{
	const unsigned char *p = jc->cert_der;
	const ASN1_OCTET_STRING *aki;
	X509 *x = NULL;
	int rc = 0;

	*under = false;
	if (!jc->parsed)
		goto out;
	if (jc->cert_der == NULL || jc->cert_der_len > LONG_MAX ||
	    (x = d2i_X509(NULL, &p, (long)jc->cert_der_len)) == NULL) {
		ERR_clear_error();
		rc = sd_error_set(SD_E_JOURNAL, "the journal's certificate %s does not parse", id->serial_hex);
		goto out;
	}
	aki = X509_get0_authority_key_id(x);
	*under = aki != NULL && acme_ari_key_is(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki), id);
out:
	X509_free(x);
	return rc;
}

/* {"suggestedWindow": {"start": ..., "end": ...}} */
static int
acme_ari_answer(struct acme_call *c, int64_t start, int64_t end)
{
	char s[SD_TIME_RFC3339_LEN], e[SD_TIME_RFC3339_LEN];
	json_t *body;
	int rc;

	if ((rc = sd_time_format(start, s)) != 0 || (rc = sd_time_format(end, e)) != 0)
		return rc;
	if ((body = json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start", s, "end", e)) == NULL)
		return SD_E_NOMEM;
	if ((rc = acme_answer_json(c, 200, body)) != 0)
		return rc;
	c->ans->retry_after = ACME_ARI_RETRY_AFTER;
	return 0;
}

int
acme_op_renewal_info(struct acme_call *c)
{
	const struct config_profile *issued_under;
	struct journal_cert *jc = NULL;
	struct acme_ari_id id;
	unsigned sp = ACME_ARI_DEFAULT_START, ep = ACME_ARI_DEFAULT_END;
	enum acme_ari_issuer issuer = ACME_ARI_FOREIGN;
	int64_t start = 0, end = 0;
	bool under = false;
	int rc;

	if ((rc = acme_ari_id_parse(c->req->id, &id)) != 0) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "%s", sd_error_detail(rc));
		goto out;
	}
	if ((rc = acme_ari_issuer_of(c->a, &id, &issuer)) != 0)
		goto out;
	if (issuer == ACME_ARI_FOREIGN) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "certID %.64s names another issuer", c->req->id);
		goto out;
	}
	rc = journal_cert_get(c->a->journal, id.serial, id.serial_len, &jc);
	/* Any certificate of this CA has a window, not only ACME ones: Certbot and others ask for all. */
	if (rc == SD_E_NOT_FOUND || (rc == 0 && !jc->parsed)) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no certificate has serial %s", id.serial_hex);
		goto out;
	}
	if (rc != 0 || (rc = acme_ari_cert_under(jc, &id, &under)) != 0)
		goto out;
	if (!under) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "certificate %s was not issued under the certID's key",
		    id.serial_hex);
		goto out;
	}
	/* The profile it was issued under decides, not the directory asked: a reloaded config may lack it. */
	if (jc->profile != NULL && (issued_under = sd_config_profile(c->a->cfg, jc->profile)) != NULL &&
	    issued_under->renewal_window_start < issued_under->renewal_window_end) {
		sp = issued_under->renewal_window_start;
		ep = issued_under->renewal_window_end;
	}
	/* A retired key's certificates go as revoked ones do: the operator wants them replaced now. */
	acme_ari_window(jc->not_before, jc->not_after, sp, ep, jc->revoked || issuer == ACME_ARI_RETIRED, c->now,
	    &start, &end);
	rc = acme_ari_answer(c, start, end);
out:
	journal_cert_free(jc);
	return rc;
}

int
acme_ari_replaces(struct acme_call *c, const char *cert_id, char serial_hex[41], enum acme_problem *problem)
{
	struct acme_txn *txn = NULL;
	struct acme_ari_id id;
	json_t *issued = NULL;
	const json_t *replaced_by;
	const char *account, *profile;
	struct journal_cert *jc = NULL;
	enum acme_ari_issuer issuer = ACME_ARI_FOREIGN;
	bool under = false;
	int rc;

	serial_hex[0] = '\0';
	*problem = ACME_P_NONE;
	if ((rc = acme_ari_id_parse(cert_id, &id)) != 0) {
		*problem = ACME_P_MALFORMED;
		goto out;
	}
	if ((rc = acme_ari_issuer_of(c->a, &id, &issuer)) != 0)
		goto out;
	if (issuer != ACME_ARI_FOREIGN) {
		rc = journal_cert_get(c->a->journal, id.serial, id.serial_len, &jc);
		if (rc != 0 && rc != SD_E_NOT_FOUND)
			goto out;
		if (rc == 0 && (rc = acme_ari_cert_under(jc, &id, &under)) != 0)
			goto out;
	}
	/* A retired key's certificate is replaced like a current one's: that is what retiring it asks for. */
	if (under) {
		if ((rc = acme_store_begin(c->a->store, false, &txn)) != 0)
			goto out;
		rc = acme_store_get(txn, ACME_T_CERT, id.serial_hex, &issued);
		if (rc != 0 && rc != SD_E_NOT_FOUND)
			goto out;
	}
	account = acme_json_str(issued, "account");
	profile = acme_json_str(issued, "profile");
	/* RFC 9773 7: a client replaces only what it was issued; anything else reads the same to it. */
	if (issued == NULL || account == NULL || profile == NULL || strcmp(account, c->account_id) != 0 ||
	    strcmp(profile, c->profile->name) != 0) {
		*problem = ACME_P_MALFORMED;
		rc = sd_error_set(SD_E_INVAL, "the certificate to replace is not one this account was issued");
		goto out;
	}
	if ((replaced_by = json_object_get(issued, "replaced_by")) != NULL && !json_is_null(replaced_by)) {
		*problem = ACME_P_ALREADY_REPLACED;
		rc = sd_error_set(SD_E_INVAL, "certificate %s is already replaced by order %.32s", id.serial_hex,
		    acme_json_str(issued, "replaced_by") != NULL ? acme_json_str(issued, "replaced_by") : "?");
		goto out;
	}
	memcpy(serial_hex, id.serial_hex, strlen(id.serial_hex) + 1);
	rc = 0;
out:
	acme_store_abort(txn);
	json_decref(issued);
	journal_cert_free(jc);
	return rc;
}
