/*
 * The plain-HTTP public listener ([api] public_listen): the CRL, the CA
 * certificate and OCSP for relying parties, which fetch them without TLS
 * (RFC 5280 4.2.1.13, RFC 6960 A.1, RFC 5019). It is api_server.c's daemon
 * with the public routes and no TLS; it is not reloaded.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "api_public.h"
#include "api_routes.h"
#include "sd_log.h"

/* The issuing CA certificate (the chain's first PEM) in DER, new (free()). */
static int
api_public_ca_der(struct signer *s, uint8_t **der, size_t *len)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t in, out = { NULL, 0 };
	const char *pem;
	size_t n;
	int rc;

	*der = NULL;
	*len = 0;
	/* GnuTLS, not OpenSSL: api/ holds no OpenSSL types (tests/check_layers.sh). */
	if (signer_chain_count(s) == 0 || (pem = signer_chain_pem(s, 0)) == NULL)
		return sd_error_set(SD_E_CONFIG, "the signer has no CA certificate");
	if ((n = strlen(pem)) > UINT32_MAX)
		return sd_error_set(SD_E_CONFIG, "the CA certificate is too large");
	if (gnutls_x509_crt_init(&crt) < 0)
		return SD_E_NOMEM;
	in.data = (unsigned char *)(uintptr_t)pem;
	in.size = (unsigned)n;
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0) {
		rc = sd_error_set(SD_E_CONFIG, "the CA certificate does not parse");
		goto out;
	}
	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &out) < 0) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((*der = malloc(out.size)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(*der, out.data, out.size);
	*len = out.size;
	rc = 0;
out:
	gnutls_free(out.data);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

int
api_public_start(const struct sd_config *cfg, struct signer *s, struct api_server **out)
{
	struct api_listen_spec spec = { API_LISTENER_PUBLIC, "public_listen", cfg->api_public_listen,
		cfg->api_public_port, NULL, 0 };
	int rc;

	*out = NULL;
	if (cfg->api_public_listen == NULL)
		return 0;
	if ((rc = api_public_ca_der(s, &spec.ca_der, &spec.ca_der_len)) != 0)
		return rc;
	rc = api_server_listen(cfg, s, &spec, out);
	free(spec.ca_der);	/* NULL once the server took it */
	if (rc == 0)
		sd_log(SD_LOG_INFO, "public listener on %s port %u", cfg->api_public_listen,
		    (unsigned)api_server_port(*out));
	return rc;
}
