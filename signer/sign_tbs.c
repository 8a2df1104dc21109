#include <stdlib.h>

#include "sign_tbs.h"
#include "x509_sigalg.h"

int
x509_sign_tbs(struct hsm_key *key, const uint8_t *tbs, size_t tbs_len, uint8_t **sig, size_t *sig_len)
{
	const struct x509_sigalg *alg;
	uint8_t buf[X509_SIGALG_INPUT_MAX];
	uint8_t raw[HSM_SIG_MAX];
	const uint8_t *in;
	size_t in_len, raw_len = 0;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	if ((rc = x509_sigalg_for(hsm_key_type(key), &alg)) != 0)
		goto out;
	if ((rc = x509_sigalg_hsm_input(alg, tbs, tbs_len, buf, &in, &in_len)) != 0)
		goto out;
	if ((rc = hsm_sign(key, alg->mech, alg->hash, in, in_len, raw, &raw_len)) != 0)
		goto out;
	if (raw_len > sizeof(raw))
		abort();	/* hsm_sign() broke its contract */
	rc = x509_sigalg_finish(alg, raw, raw_len, sig, sig_len);
out:
	return rc;
}
