/*
 * TEMPORARY: signer_crl_delta() until the core's lands in signer.c, so that
 * signerd links with PS_CRL_DELTA served. Delete this file on that merge.
 */
#include "signer.h"

int
signer_crl_delta(struct signer *s, struct signer_crl **out)
{
	(void)s;
	*out = NULL;
	return sd_error_set(SD_E_NOT_FOUND, "delta CRLs are off");
}
