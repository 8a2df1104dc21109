#include <stddef.h>

#include "acme_problem.h"

/*
 * Statuses as Pebble and Boulder send them, so that clients written against
 * either read ours the same way: 403 where the client is known and refused,
 * 429 for rate limits, 400 for everything the client can fix in its request.
 */
static const struct {
	const char *type;
	int status;
} acme_problems[] = {
	[ACME_P_NONE] = { "about:blank", 200 },
	[ACME_P_MALFORMED] = { "urn:ietf:params:acme:error:malformed", 400 },
	[ACME_P_BAD_NONCE] = { "urn:ietf:params:acme:error:badNonce", 400 },
	[ACME_P_BAD_SIGNATURE_ALGORITHM] = { "urn:ietf:params:acme:error:badSignatureAlgorithm", 400 },
	[ACME_P_BAD_PUBLIC_KEY] = { "urn:ietf:params:acme:error:badPublicKey", 400 },
	[ACME_P_UNAUTHORIZED] = { "urn:ietf:params:acme:error:unauthorized", 403 },
	[ACME_P_ACCOUNT_DOES_NOT_EXIST] = { "urn:ietf:params:acme:error:accountDoesNotExist", 400 },
	[ACME_P_EXTERNAL_ACCOUNT_REQUIRED] = { "urn:ietf:params:acme:error:externalAccountRequired", 403 },
	[ACME_P_REJECTED_IDENTIFIER] = { "urn:ietf:params:acme:error:rejectedIdentifier", 400 },
	[ACME_P_UNSUPPORTED_IDENTIFIER] = { "urn:ietf:params:acme:error:unsupportedIdentifier", 400 },
	[ACME_P_RATE_LIMITED] = { "urn:ietf:params:acme:error:rateLimited", 429 },
	[ACME_P_ORDER_NOT_READY] = { "urn:ietf:params:acme:error:orderNotReady", 403 },
	[ACME_P_BAD_CSR] = { "urn:ietf:params:acme:error:badCSR", 400 },
	[ACME_P_BAD_REVOCATION_REASON] = { "urn:ietf:params:acme:error:badRevocationReason", 400 },
	[ACME_P_ALREADY_REVOKED] = { "urn:ietf:params:acme:error:alreadyRevoked", 400 },
	[ACME_P_CONNECTION] = { "urn:ietf:params:acme:error:connection", 400 },
	[ACME_P_INCORRECT_RESPONSE] = { "urn:ietf:params:acme:error:incorrectResponse", 400 },
	[ACME_P_TLS] = { "urn:ietf:params:acme:error:tls", 400 },
	[ACME_P_DNS] = { "urn:ietf:params:acme:error:dns", 400 },
	[ACME_P_UNSUPPORTED_CONTACT] = { "urn:ietf:params:acme:error:unsupportedContact", 400 },
	[ACME_P_INVALID_CONTACT] = { "urn:ietf:params:acme:error:invalidContact", 400 },
	[ACME_P_SERVER_INTERNAL] = { "urn:ietf:params:acme:error:serverInternal", 500 },
	[ACME_P_NOT_FOUND] = { "about:blank", 404 },
	/* 409 as Boulder sends it: the order conflicts with the one that replaced the certificate first. */
	[ACME_P_ALREADY_REPLACED] = { "urn:ietf:params:acme:error:alreadyReplaced", 409 },
};

/* An out-of-range value is a bug in the engine, but the client still gets an answer: serverInternal. */
const char *
acme_problem_type(enum acme_problem p)
{
	if ((unsigned)p >= sizeof(acme_problems) / sizeof(acme_problems[0]))
		p = ACME_P_SERVER_INTERNAL;
	return acme_problems[p].type;
}

int
acme_problem_status(enum acme_problem p)
{
	if ((unsigned)p >= sizeof(acme_problems) / sizeof(acme_problems[0]))
		p = ACME_P_SERVER_INTERNAL;
	return acme_problems[p].status;
}
