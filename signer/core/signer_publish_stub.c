/*
 * PLACEHOLDER, to be deleted when the signer core's signer_crl() and
 * signer_ocsp() land (signer/core, signer/revocation): it lets signerd link
 * while the front side and the privsep transport (PS_CRL, PS_OCSP) are built
 * and tested ahead of the core. Every call answers SD_E_UNSUPPORTED.
 */
#include <stdlib.h>

#include "signer.h"

int
signer_crl(struct signer *s, struct signer_crl **out)
{
	(void)s;
	*out = NULL;
	return sd_error_set(SD_E_UNSUPPORTED, "CRL publishing is not implemented yet (placeholder)");
}

void
signer_crl_free(struct signer_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c);
}

int
signer_ocsp(struct signer *s, const uint8_t *req, size_t len, struct signer_ocsp **out)
{
	(void)s;
	(void)req;
	(void)len;
	*out = NULL;
	return sd_error_set(SD_E_UNSUPPORTED, "OCSP is not implemented yet (placeholder)");
}

void
signer_ocsp_free(struct signer_ocsp *o)
{
	if (o == NULL)
		return;
	free(o->der);
	free(o);
}
