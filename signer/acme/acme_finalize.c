/*
 * ACME finalize (RFC 8555 7.4): the CSR checked against the order, the
 * certificate issued through the core's issue operation (the path of
 * POST /v1/sign), and its download (7.4.2).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_order.h"
#include "sd_file.h"

/* --- finalize --- */

/* Add the lower-cased name (len bytes) to set, once. Errors: SD_E_NOMEM, SD_E_CSR. */
static int
acme_csr_name_add(json_t *set, const unsigned char *name, int len)
{
	char buf[SIGNER_ACME_NAME_MAX + 3];
	int i;

	if (len <= 0 || (size_t)len >= sizeof(buf))
		return sd_error_set(SD_E_CSR, "a name of %d bytes", len);
	for (i = 0; i < len; i++) {
		if (name[i] == '\0')
			return sd_error_set(SD_E_CSR, "a name with a NUL byte");
		buf[i] = (char)tolower(name[i]);
	}
	buf[len] = '\0';
	return json_object_set_new(set, buf, json_true()) == 0 ? 0 : SD_E_NOMEM;
}

/* The names of req: its DNS subjectAltNames and its CN, lower-cased, into set. Errors: SD_E_CSR, SD_E_NOMEM. */
static int
acme_csr_names(X509_REQ *req, json_t *set)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	const X509_NAME *subject = X509_REQ_get_subject_name(req);
	const GENERAL_NAME *g;
	const ASN1_STRING *cn;
	int i, loc, rc = 0;

	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	if (sk_GENERAL_NAME_num(gens) > SIGNER_SAN_MAX) {
		rc = sd_error_set(SD_E_CSR, "more than %d subjectAltNames", SIGNER_SAN_MAX);
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS) {
			rc = sd_error_set(SD_E_CSR, "a subjectAltName that is not a DNS name");
			goto out;
		}
		if ((rc = acme_csr_name_add(set, ASN1_STRING_get0_data(g->d.dNSName),
		         ASN1_STRING_length(g->d.dNSName))) != 0)
			goto out;
	}
	loc = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (loc >= 0) {
		cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, loc));
		if (X509_NAME_get_index_by_NID(subject, NID_commonName, loc) >= 0) {
			rc = sd_error_set(SD_E_CSR, "more than one CN");
			goto out;
		}
		rc = acme_csr_name_add(set, ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
	}
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* The hex SHA-256 of req's DER SubjectPublicKeyInfo into hex. Errors: SD_E_CSR, SD_E_CRYPTO. */
static int
acme_csr_key_hash(X509_REQ *req, char hex[2 * ACME_KEY_HASH_LEN + 1])
{
	uint8_t md[ACME_KEY_HASH_LEN];
	unsigned char *der = NULL;
	int len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &der);
	int rc = 0;

	if (len <= 0)
		return sd_error_set(SD_E_CSR, "the CSR's public key does not encode");
	if (EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "SHA-256 of the CSR's public key");
	else
		sd_hex_encode(md, sizeof(md), hex);
	OPENSSL_free(der);
	return rc;
}

/*
 * Check the payload's CSR against order's identifiers; its PEM (of the
 * exact DER received) into *pem and its key's hash into key_hex. 0 with
 * badCSR answered when refused.
 */
static int
acme_finalize_csr(struct acme_call *c, const json_t *order, char **pem, size_t *pem_len,
    char key_hex[2 * ACME_KEY_HASH_LEN + 1])
{
	static const char head[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
	static const char tail[] = "-----END CERTIFICATE REQUEST-----\n";
	const char *b64 = acme_json_str(c->payload, "csr"), *name;
	const unsigned char *p;
	uint8_t *der = NULL;
	X509_REQ *req = NULL;
	json_t *set = NULL, *v;
	size_t len = 0, i, off, cap;
	int rc;

	*pem = NULL;
	*pem_len = 0;
	if (b64 == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "finalize needs a \"csr\"");
		goto out;
	}
	if ((rc = acme_b64url_decode(b64, strlen(b64), SIGNER_CSR_MAX, &der, &len)) != 0) {
		rc = rc == SD_E_NOMEM ? rc : acme_answer_problem(c, ACME_P_BAD_CSR, "\"csr\": %s", sd_error_detail(rc));
		goto out;
	}
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len) {
		rc = acme_answer_problem(c, ACME_P_BAD_CSR, "the CSR is not one DER CertificationRequest");
		goto out;
	}
	if ((set = json_object()) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_csr_names(req, set)) != 0 || (rc = acme_csr_key_hash(req, key_hex)) != 0) {
		rc = rc == SD_E_NOMEM || rc == SD_E_CRYPTO ? rc :
		                                            acme_answer_problem(c, ACME_P_BAD_CSR, "%s", sd_error_detail(rc));
		goto out;
	}
	json_array_foreach(json_object_get(order, "identifiers"), i, v)
	{
		name = acme_json_str(v, "value");
		if (name == NULL || json_object_get(set, name) == NULL) {
			rc = acme_answer_problem(c, ACME_P_BAD_CSR, "the CSR lacks the order's identifier %s",
			    name != NULL ? name : "?");
			goto out;
		}
		(void)json_object_del(set, name);
	}
	if (json_object_size(set) != 0) {
		rc = acme_answer_problem(c, ACME_P_BAD_CSR, "the CSR names %s, not in the order",
		    json_object_iter_key(json_object_iter(set)));
		goto out;
	}
	/* The exact DER received, so that the core checks the signature the client made. */
	cap = sizeof(head) + sizeof(tail) + (len + 2) / 3 * 4 + len / 48 + 2;
	if ((*pem = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(*pem, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	for (i = 0; i < len; i += 48) {
		off +=
		    (size_t)EVP_EncodeBlock((unsigned char *)*pem + off, der + i, (int)(len - i < 48 ? len - i : 48));
		(*pem)[off++] = '\n';
	}
	memcpy(*pem + off, tail, sizeof(tail));
	*pem_len = off + sizeof(tail) - 1;
	rc = 0;
out:
	json_decref(set);
	X509_REQ_free(req);
	free(der);
	return rc;
}

int
acme_finalize_record(struct acme_txn *txn, const char *order_id, json_t *order, const char *serial_hex)
{
	json_t *cert = NULL, *old = NULL;
	const char *rs;
	int rc = SD_E_NOMEM;

	if (json_object_set_new(order, "status", json_string("valid")) != 0 ||
	    json_object_set_new(order, "certificate", json_string(serial_hex)) != 0 ||
	    (cert = json_pack("{s:s?, s:s, s:s?, s:n}", "account", acme_json_str(order, "account"), "order", order_id,
	         "profile", acme_json_str(order, "profile"), "replaced_by")) == NULL)
		goto out;
	if ((rc = acme_store_put(txn, ACME_T_ORDER, order_id, order, acme_json_int(order, "expires", 0))) != 0 ||
	    (rc = acme_store_put(txn, ACME_T_CERT, serial_hex, cert, 0)) != 0)
		goto out;
	if ((rs = acme_json_str(order, "replaces_serial")) != NULL) {
		rc = acme_store_get(txn, ACME_T_CERT, rs, &old);
		if (rc == 0) {
			rc = json_object_set_new(old, "replaced_by", json_string(order_id)) == 0 ? 0 : SD_E_NOMEM;
			if (rc == 0)
				rc = acme_store_put(txn, ACME_T_CERT, rs, old, 0);
		} else if (rc == SD_E_NOT_FOUND) {
			rc = 0; /* issued before this engine knew it: nothing to mark */
		}
	}
out:
	json_decref(cert);
	json_decref(old);
	return rc;
}

/* Record the certificate res names as the order's, in a transaction of its own. */
static int
acme_finalize_done(struct acme_call *c, const struct signer_result *res, json_t **order)
{
	struct acme_txn *txn = NULL;
	int rc;

	json_decref(*order);
	*order = NULL;
	if ((rc = acme_store_begin(c->a->store, true, &txn)) != 0 ||
	    (rc = acme_store_get(txn, ACME_T_ORDER, c->req->id, order)) != 0 ||
	    (rc = acme_finalize_record(txn, c->req->id, *order, res->serial_hex)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
out:
	acme_store_abort(txn);
	return rc;
}

/* The core refused or failed: the order invalid (the request's fault) or ready again (retry), answered. */
static int
acme_finalize_refused(struct acme_call *c, int err, json_t *order)
{
	enum acme_problem p = ACME_P_SERVER_INTERNAL;
	char detail[512];
	struct acme_txn *txn = NULL;
	bool retry = true;
	unsigned busy_retry = err == SD_E_BUSY ? sd_error_retry_after(err) : 0;
	int rc;

	(void)snprintf(detail, sizeof(detail), "%s", sd_error_detail(err));
	if (err == SD_E_NAME_REFUSED || err == SD_E_KEY_REFUSED || err == SD_E_CSR || err == SD_E_CSR_SIGNATURE) {
		p = ACME_P_BAD_CSR;
		retry = false;
	} else if (err == SD_E_TTL) {
		p = ACME_P_MALFORMED;
		retry = false;
	} else if (err == SD_E_BUSY) {
		p = ACME_P_RATE_LIMITED;	/* RFC 8555 has no "busy": a limit, with the time to come back */
	}
	if (retry)
		rc = json_object_set_new(order, "status", json_string("ready")) == 0 ? 0 : SD_E_NOMEM;
	else
		rc = acme_order_fail(order, acme_problem_json(p, detail));
	if (rc != 0 || (rc = acme_store_begin(c->a->store, true, &txn)) != 0 ||
	    (rc = acme_store_put(txn, ACME_T_ORDER, c->req->id, order, acme_json_int(order, "expires", 0))) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	if (err == SD_E_HSM_UNAVAILABLE || err == SD_E_JOURNAL_FULL)
		c->ans->retry_after = 5;
	else if (err == SD_E_BUSY)
		c->ans->retry_after = busy_retry > 0 ? busy_retry : 1;	/* the order is ready again: finalize later */
	rc = acme_answer_problem(c, p, "%s", detail);
out:
	acme_store_abort(txn);
	return rc;
}

int
acme_op_finalize(struct acme_call *c)
{
	char subject[SIGNER_ACME_PARAM_MAX + 64], key_hex[2 * ACME_KEY_HASH_LEN + 1];
	struct signer_san sans[SIGNER_SAN_MAX];
	struct signer_request req;
	struct signer_result *res = NULL;
	struct acme_txn *txn = NULL;
	json_t *order = NULL, *v;
	char *pem = NULL;
	const char *status;
	int64_t not_after;
	size_t i, pem_len = 0, n = 0;
	int rc;

	if ((rc = acme_order_load(c, &txn, &order)) != 0 || c->ans->status != 0)
		goto out;
	status = acme_json_str(order, "status");
	if (status == NULL || strcmp(status, "ready") != 0) {
		if ((rc = acme_store_commit(txn)) == 0)
			rc = acme_answer_problem(c, ACME_P_ORDER_NOT_READY, "the order is %s",
			    status != NULL ? status : "unusable");
		txn = NULL;
		goto out;
	}
	if (c->payload == NULL) {
		rc = acme_answer_problem(c, ACME_P_MALFORMED, "finalize needs a payload");
		goto out;
	}
	if ((rc = acme_finalize_csr(c, order, &pem, &pem_len, key_hex)) != 0 || c->ans->status != 0)
		goto out;
	json_array_foreach(json_object_get(order, "identifiers"), i, v)
	{
		if (n == SIGNER_SAN_MAX || acme_json_str(v, "value") == NULL) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "order %s: its identifiers", c->req->id);
			goto out;
		}
		sans[n].type = SIGNER_SAN_DNS;
		sans[n].value = acme_json_str(v, "value");
		sans[n].len = strlen(sans[n].value);
		n++;
	}
	/*
	 * Processing before the core is asked: a second finalize meanwhile gets
	 * orderNotReady. The key tells this finalize's certificate in the journal
	 * should its answer be lost (acme_finalize_lost()).
	 */
	if (json_object_set_new(order, "status", json_string("processing")) != 0 ||
	    json_object_set_new(order, "processing_at", json_integer(c->now)) != 0 ||
	    json_object_set_new(order, "csr_key", json_string(key_hex)) != 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_put(txn, ACME_T_ORDER, c->req->id, order, acme_json_int(order, "expires", 0))) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	(void)snprintf(subject, sizeof(subject), "acme:%s/%s", c->req->profile, c->account_id);
	not_after = acme_json_int(order, "not_after", 0);
	memset(&req, 0, sizeof(req));
	req.csr_pem = pem;
	req.csr_pem_len = pem_len;
	req.profile = c->req->profile;
	req.ttl = not_after > c->now ? (uint64_t)(not_after - c->now) : 0;
	req.client = NULL;
	req.client_subject = subject;
	memcpy(req.client_spki_sha256, c->spki_sha256, sizeof(req.client_spki_sha256));
	req.sans = sans;
	req.n_sans = n;
	if ((rc = c->a->ops.issue(c->a->ops.ctx, &req, &res)) != 0) {
		rc = acme_finalize_refused(c, rc, order);
		goto out;
	}
	if ((rc = acme_finalize_done(c, res, &order)) != 0)
		goto out;
	rc = acme_order_answer(c, 200, c->req->id, order);
out:
	acme_store_abort(txn);
	signer_result_free(res);
	free(pem);
	json_decref(order);
	return rc;
}

/* --- certificate --- */

/* Append the PEM of der to buf at *off (cap bytes). Errors: SD_E_TOO_LARGE. */
static int
acme_pem_append(char *buf, size_t cap, size_t *off, const uint8_t *der, size_t len)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n", tail[] = "-----END CERTIFICATE-----\n";
	size_t i, need = sizeof(head) + sizeof(tail) + (len + 2) / 3 * 4 + len / 48 + 2;

	if (need > cap - *off)
		return sd_error_set(SD_E_TOO_LARGE, "a certificate chain over %zu bytes", cap);
	memcpy(buf + *off, head, sizeof(head) - 1);
	*off += sizeof(head) - 1;
	for (i = 0; i < len; i += 48) {
		*off +=
		    (size_t)EVP_EncodeBlock((unsigned char *)buf + *off, der + i, (int)(len - i < 48 ? len - i : 48));
		buf[(*off)++] = '\n';
	}
	memcpy(buf + *off, tail, sizeof(tail) - 1);
	*off += sizeof(tail) - 1;
	return 0;
}

int
acme_op_cert(struct acme_call *c)
{
	uint8_t serial[20];
	struct acme_txn *txn = NULL;
	struct journal_cert *jc = NULL;
	json_t *entry = NULL;
	const char *id = c->req->id, *owner, *pem;
	char *buf = NULL;
	size_t i, len = strlen(id), off = 0, plen;
	int rc;

	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			break;
	if (len == 0 || len % 2 != 0 || len > 2 * sizeof(serial) || i != len) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no such certificate");
		goto out;
	}
	if ((rc = acme_store_begin(c->a->store, false, &txn)) != 0)
		goto out;
	rc = acme_store_get(txn, ACME_T_CERT, id, &entry);
	acme_store_abort(txn);
	txn = NULL;
	owner = acme_json_str(entry, "account");
	if (rc == SD_E_NOT_FOUND || (rc == 0 && (owner == NULL || strcmp(owner, c->account_id) != 0))) {
		rc = acme_answer_problem(c, ACME_P_NOT_FOUND, "no such certificate");
		goto out;
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < len / 2; i++)
		serial[i] = (uint8_t)strtoul((char[3]){ id[2 * i], id[2 * i + 1], '\0' }, NULL, 16);
	if ((rc = journal_cert_get(c->a->journal, serial, len / 2, &jc)) != 0)
		goto out;
	if ((buf = malloc(SIGNER_ACME_ANSWER_MAX)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_pem_append(buf, SIGNER_ACME_ANSWER_MAX, &off, jc->cert_der, jc->cert_der_len)) != 0)
		goto out;
	for (i = 0; c->a->ops.chain_count != NULL && i < c->a->ops.chain_count(c->a->ops.ctx); i++) {
		pem = c->a->ops.chain_pem(c->a->ops.ctx, i);
		plen = pem != NULL ? strlen(pem) : 0;
		if (plen > SIGNER_ACME_ANSWER_MAX - off) {
			rc = sd_error_set(SD_E_TOO_LARGE, "a certificate chain over %d bytes", SIGNER_ACME_ANSWER_MAX);
			goto out;
		}
		if (plen > 0)
			memcpy(buf + off, pem, plen);
		off += plen;
	}
	rc = acme_answer_bytes(c, 200, "application/pem-certificate-chain", buf, off);
out:
	acme_store_abort(txn);
	journal_cert_free(jc);
	json_decref(entry);
	free(buf);
	return rc;
}
