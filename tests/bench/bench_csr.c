/*
 * The request pool: P-256 CSRs made before any clock starts (client key
 * generation is not what signerd is measured on), each already wrapped in
 * the exact HTTP/1.1 request bytes a client sends: to signerd, and with a
 * peer, the same CSR to cfssl serve.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bench.h"

#define BENCH_POOL_MAX 65536
#define BENCH_NAME_MAX 64

int
bench_csr_pem(size_t i, char **out)
{
	EVP_PKEY *pkey = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	X509_EXTENSION *ext = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	BIO *bio = NULL;
	char cn[BENCH_NAME_MAX], san[BENCH_NAME_MAX + 8], *data, *pem = NULL;
	long len;
	int n, rc;

	*out = NULL;
	n = snprintf(cn, sizeof(cn), "bench-%zu.example.com", i);
	if (n < 0 || (size_t)n >= sizeof(cn) || snprintf(san, sizeof(san), "DNS:%s", cn) != n + 4) {
		rc = sd_error_set(SD_E_INVAL, "CSR name %zu too long", i);
		goto out;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL || (req = X509_REQ_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL || (exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (bio = BIO_new(BIO_s_mem())) == NULL) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot allocate CSR %zu", i);
		goto out;
	}
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1 ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot fill CSR %zu", i);
		goto out;
	}
	ext = NULL;	/* owned by exts */
	if (X509_REQ_add_extensions(req, exts) != 1 || X509_REQ_sign(req, pkey, EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(bio, req) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot sign or encode CSR %zu", i);
		goto out;
	}
	if ((pem = malloc((size_t)len + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
	*out = pem;
	rc = 0;
out:
	BIO_free(bio);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	return rc;
}

/* The HTTP request for api: signerd's {"csr": pem, "profile": profile} or cfssl's {"certificate_request": pem}. */
static int
bench_request_new(const char *pem, const char *profile, enum bench_api api, struct bench_request *r)
{
	json_t *obj = NULL;
	char *body = NULL, *http = NULL;
	const char *path;
	size_t body_len, cap;
	int n, rc;

	if (api == BENCH_API_CFSSL) {
		obj = json_pack("{s:s}", "certificate_request", pem);
		path = "/api/v1/cfssl/sign";
	} else {
		obj = json_pack("{s:s, s:s}", "csr", pem, "profile", profile);
		path = "/v1/sign";
	}
	if (obj == NULL || (body = json_dumps(obj, JSON_COMPACT)) == NULL) {
		rc = sd_error_set(SD_E_NOMEM, "cannot encode a request body");
		goto out;
	}
	body_len = strlen(body);
	cap = body_len + 256;
	if ((http = malloc(cap)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(http, cap,
	    "POST %s HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s", path, body_len, body);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_INVAL, "request of %zu bytes does not fit", body_len);
		goto out;
	}
	r->http = http;
	r->http_len = (size_t)n;
	r->api = api;
	http = NULL;
	rc = 0;
out:
	free(http);
	free(body);
	json_decref(obj);
	return rc;
}

static int
bench_pool_make(size_t n, const char *profile, bool cfssl, struct bench_pool **out)
{
	struct bench_pool *pool = NULL;
	char *pem = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0 || n > BENCH_POOL_MAX) {
		rc = sd_error_set(SD_E_INVAL, "pool of %zu CSRs (1 to %d)", n, BENCH_POOL_MAX);
		goto out;
	}
	if ((pool = calloc(1, sizeof(*pool))) == NULL || (pool->req = calloc(n, sizeof(*pool->req))) == NULL ||
	    (cfssl && (pool->cfssl = calloc(n, sizeof(*pool->cfssl))) == NULL)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = bench_csr_pem(i, &pem)) != 0)
			goto out;
		/* pool->n counts the entries bench_pool_free() frees: both requests, or neither. */
		if ((rc = bench_request_new(pem, profile, BENCH_API_SIGNERD, &pool->req[i])) != 0)
			goto out;
		if (cfssl && (rc = bench_request_new(pem, profile, BENCH_API_CFSSL, &pool->cfssl[i])) != 0) {
			free(pool->req[i].http);
			goto out;
		}
		pool->n++;
		free(pem);
		pem = NULL;
	}
	*out = pool;
	pool = NULL;
	rc = 0;
out:
	free(pem);
	bench_pool_free(pool);
	return rc;
}

int
bench_pool_new(size_t n, const char *profile, struct bench_pool **out)
{
	return bench_pool_make(n, profile, false, out);
}

int
bench_pool_new_cfssl(size_t n, const char *profile, struct bench_pool **out)
{
	return bench_pool_make(n, profile, true, out);
}

void
bench_pool_free(struct bench_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->n; i++) {
		free(pool->req[i].http);
		if (pool->cfssl != NULL)
			free(pool->cfssl[i].http);
	}
	free(pool->req);
	free(pool->cfssl);
	free(pool);
}
