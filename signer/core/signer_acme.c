/*
 * signer_acme() and signer_acme_validated() (signer.h): the ACME engine
 * runs in the signer and reaches the core only through the operations
 * below, so an ACME certificate takes the path of POST /v1/sign.
 */
#include "signer_acme.h"

static int
signer_acme_issue(void *ctx, const struct signer_request *req, struct signer_result **out)
{
	return signer_issue(ctx, req, out);
}

static int
signer_acme_revoke(void *ctx, const char *serial_hex, uint8_t reason, const char *who, struct signer_revocation *out)
{
	return signer_revoke_as(ctx, serial_hex, reason, who, out);
}

static size_t
signer_acme_chain_count(void *ctx)
{
	return signer_chain_count(ctx);
}

static const char *
signer_acme_chain_pem(void *ctx, size_t i)
{
	return signer_chain_pem(ctx, i);
}

int
signer_acme_open(struct signer *s, const struct sd_config *cfg, struct journal *j, struct acme **out)
{
	/* The engine copies the operations; ctx is s, which outlives it. */
	const struct acme_ops ops = {
		.ctx = s,
		.issue = signer_acme_issue,
		.revoke = signer_acme_revoke,
		.chain_count = signer_acme_chain_count,
		.chain_pem = signer_acme_chain_pem,
	};

	return acme_open(cfg, j, &ops, out);
}

int
signer_acme(struct signer *s, const struct signer_acme_request *req, struct signer_acme_answer **out)
{
	/* A NULL engine answers every directory 404. */
	return acme_serve(signer_acme_peek(s), req, out);
}

int
signer_acme_validated(struct signer *s, const char *profile, const char *challenge, const char *error_type,
    const char *detail)
{
	return acme_validated(signer_acme_peek(s), profile, challenge, error_type, detail);
}
