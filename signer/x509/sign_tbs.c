#include <stdlib.h>

#include "sign_tbs.h"
#include "x509_cert.h"
#include "x509_sigalg.h"

int
x509_sign_alg(struct hsm_key *key, const struct x509_sigalg *alg, const struct x509_sigalg **out)
{
	*out = NULL;
	if (alg == NULL)
		return x509_sigalg_for(hsm_key_type(key), out);
	if (alg->key_type != hsm_key_type(key))
		return sd_error_set(SD_E_INVAL, "%s is for %s keys, not %s", alg->name, hsm_key_type_name(alg->key_type),
		    hsm_key_type_name(hsm_key_type(key)));
	*out = alg;
	return 0;
}

int
x509_sign_tbs(struct hsm_key *key, const struct x509_sigalg *want, const uint8_t *tbs, size_t tbs_len,
    uint8_t **sig, size_t *sig_len)
{
	const struct x509_sigalg *alg;
	uint8_t buf[X509_SIGALG_INPUT_MAX];
	uint8_t raw[HSM_SIG_MAX];
	const uint8_t *in;
	size_t in_len, raw_len = 0;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	if ((rc = x509_sign_alg(key, want, &alg)) != 0)
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

int
x509_sign_cert(struct hsm_key *key, const struct x509_sigalg *want, const struct x509_tbs_template *t,
    EVP_PKEY *verify_key, uint8_t **der, size_t *der_len, X509 **cert)
{
	const struct x509_sigalg *alg;
	struct x509_tbs_template tmpl = *t;
	uint8_t *tbs = NULL, *sig = NULL, *out_der = NULL;
	size_t tbs_len = 0, sig_len = 0, out_len = 0;
	int rc;

	*der = NULL;
	*der_len = 0;
	if (cert != NULL)
		*cert = NULL;
	if ((rc = x509_sign_alg(key, want, &alg)) != 0)
		goto out;
	tmpl.algid = alg->algid;
	tmpl.algid_len = alg->algid_len;
	if ((rc = x509_tbs_build(&tmpl, &tbs, &tbs_len)) != 0)
		goto out;
	if ((rc = x509_sign_tbs(key, alg, tbs, tbs_len, &sig, &sig_len)) != 0)
		goto out;
	if ((rc = x509_cert_assemble(tbs, tbs_len, alg->algid, alg->algid_len, sig, sig_len, &out_der, &out_len)) != 0)
		goto out;
	if ((rc = x509_cert_check(out_der, out_len, tbs, tbs_len, verify_key, cert)) != 0)
		goto out;
	*der = out_der;
	*der_len = out_len;
	out_der = NULL;
	rc = 0;
out:
	free(out_der);
	free(sig);
	free(tbs);
	return rc;
}
