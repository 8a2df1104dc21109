#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "ctl_certs.h"
#include "ctl_crl.h"
#include "hsm.h"
#include "journal.h"
#include "revocation/revocation_crl.h"
#include "sd_file.h"
#include "sd_time.h"
#include "x509/ca.h"

static int
ccrl_usage(void)
{
	fprintf(stderr, "usage: signerctl [-c CONFIG] crl [--out FILE] [--pem] [--journal DIR]\n");
	return 2;
}

static int
ccrl_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: crl: %s: %s\n", what, sd_error_detail(rc));
	return 1;
}

/* The CA key and certificate as signerd loads them (signer_open()), with one HSM session. */
static int
ccrl_ca(const struct sd_config *cfg, struct hsm **hsm, struct hsm_key **key, struct ca **ca)
{
	struct hsm_config hc = {
		.module_path = cfg->hsm_module,
		.token_uri = cfg->hsm_token_uri,
		.pin_file = cfg->hsm_pin_file,
		.pool_size = 1,
	};
	int rc;

	if (cfg->ca_key_uri == NULL || cfg->ca_certificate == NULL)
		return ccrl_fail(sd_error_set(SD_E_CONFIG, "no [ca] key or certificate"), "configuration");
	if ((rc = hsm_open(&hc, hsm)) != 0)
		return ccrl_fail(rc, "HSM");
	if ((rc = hsm_key_find(*hsm, cfg->ca_key_uri, false, key)) != 0)
		return ccrl_fail(rc, cfg->ca_key_uri);
	if ((rc = ca_load(*key, cfg->ca_key_uri, cfg->ca_certificate, cfg->ca_chain, cfg->ca_signature_pss, ca)) != 0)
		return ccrl_fail(rc, "CA certificate");
	return 0;
}

/* The number of entries, from the DER just made (the CRL itself is the record of what it lists). */
static int
ccrl_entries(const struct signer_crl *c, X509_CRL **crl)
{
	const unsigned char *p = c->der;
	STACK_OF(X509_REVOKED) *revoked;

	if (c->len > LONG_MAX || (*crl = d2i_X509_CRL(NULL, &p, (long)c->len)) == NULL ||
	    p != c->der + c->len)
		return -1;
	revoked = X509_CRL_get_REVOKED(*crl);
	return revoked != NULL ? sk_X509_REVOKED_num(revoked) : 0;
}

/* Write data to path (replacing an older CRL), or to stdout when path is NULL. */
static int
ccrl_write(const char *path, const void *data, size_t len)
{
	int rc;

	if (path != NULL) {
		if ((rc = sd_file_write(path, data, len, 0644, 1)) != 0)
			return ccrl_fail(rc, path);
		return 0;
	}
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "signerctl: crl: cannot write to standard output\n");
		return 1;
	}
	return 0;
}

static int
ccrl_output(const struct signer_crl *c, const char *out, bool pem)
{
	X509_CRL *crl = NULL;
	BIO *bio = NULL;
	char *data = NULL, next[SD_TIME_RFC3339_LEN];
	long len;
	int n, rc = 1;

	if ((n = ccrl_entries(c, &crl)) < 0) {
		fprintf(stderr, "signerctl: crl: the CRL just made does not parse\n");
		goto out;
	}
	if (!pem) {
		rc = ccrl_write(out, c->der, c->len);
	} else {
		if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_CRL(bio, crl) != 1 ||
		    (len = BIO_get_mem_data(bio, &data)) <= 0) {
			fprintf(stderr, "signerctl: crl: cannot encode the CRL as PEM\n");
			goto out;
		}
		rc = ccrl_write(out, data, (size_t)len);
	}
	if (rc != 0)
		goto out;
	if (sd_time_format(c->next_update, next) != 0)
		(void)snprintf(next, sizeof(next), "-");
	fprintf(stderr, "CRL %llu: %d entries, next update %s%s%s\n", (unsigned long long)c->number, n, next,
	    out != NULL ? ", written to " : "", out != NULL ? out : "");
out:
	BIO_free(bio);
	X509_CRL_free(crl);
	return rc;
}

int
ctl_crl_main(const char *config_path, int argc, char **argv)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pem", no_argument, NULL, 'p' },
		{ "journal", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *journal_dir = NULL;
	struct sd_config *cfg = NULL;
	struct hsm *hsm = NULL;
	struct hsm_key *key = NULL;
	struct ca *ca = NULL;
	struct journal *j = NULL;
	struct signer_crl *c = NULL;
	bool pem = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'p': pem = true; break;
		case 'j': journal_dir = optarg; break;
		default: return ccrl_usage();
		}
	}
	if (optind != argc)
		return ccrl_usage();
	/* The key, certificate and [ca] settings come from the configuration even with --journal. */
	if ((rc = sd_config_load(config_path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0) {
		rc = ccrl_fail(rc, "configuration");
		goto out;
	}
	if ((rc = ccrl_ca(cfg, &hsm, &key, &ca)) != 0)
		goto out;
	/* A writer beside a running signerd: LMDB serialises the two, the journal keeps CRL numbers unique. */
	if ((rc = ctl_certs_journal(config_path, journal_dir, true, &j)) != 0)
		goto out;
	if ((rc = revocation_crl_make(j, cfg, key, ca, (int64_t)time(NULL), NULL, &c)) != 0) {
		rc = ccrl_fail(rc, "CRL");
		goto out;
	}
	rc = ccrl_output(c, out, pem);
out:
	signer_crl_free(c);
	journal_close(j);
	ca_free(ca);
	hsm_key_free(key);
	hsm_close(hsm);
	sd_config_free(cfg);
	return rc;
}
