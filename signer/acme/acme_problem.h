/*
 * ACME problem types (RFC 8555 6.7): what every refusal of the ACME engine
 * names, beside the sd_error code and detail of the call that refused.
 */
#ifndef ACME_PROBLEM_H
#define ACME_PROBLEM_H

enum acme_problem {
	ACME_P_NONE = 0,
	ACME_P_MALFORMED,		/* malformed */
	ACME_P_BAD_NONCE,		/* badNonce */
	ACME_P_BAD_SIGNATURE_ALGORITHM,	/* badSignatureAlgorithm */
	ACME_P_BAD_PUBLIC_KEY,		/* badPublicKey */
	ACME_P_UNAUTHORIZED,		/* unauthorized */
	ACME_P_ACCOUNT_DOES_NOT_EXIST,	/* accountDoesNotExist */
	ACME_P_EXTERNAL_ACCOUNT_REQUIRED,	/* externalAccountRequired */
	ACME_P_REJECTED_IDENTIFIER,	/* rejectedIdentifier */
	ACME_P_UNSUPPORTED_IDENTIFIER,	/* unsupportedIdentifier */
	ACME_P_RATE_LIMITED,		/* rateLimited */
	ACME_P_ORDER_NOT_READY,		/* orderNotReady */
	ACME_P_BAD_CSR,			/* badCSR */
	ACME_P_BAD_REVOCATION_REASON,	/* badRevocationReason */
	ACME_P_ALREADY_REVOKED,		/* alreadyRevoked */
	ACME_P_CONNECTION,		/* connection */
	ACME_P_INCORRECT_RESPONSE,	/* incorrectResponse */
	ACME_P_TLS,			/* tls */
	ACME_P_DNS,			/* dns */
	ACME_P_UNSUPPORTED_CONTACT,	/* unsupportedContact */
	ACME_P_INVALID_CONTACT,		/* invalidContact */
	ACME_P_SERVER_INTERNAL,		/* serverInternal */
	ACME_P_NOT_FOUND,		/* no ACME type: a plain 404 problem */
	ACME_P_ALREADY_REPLACED,	/* alreadyReplaced (RFC 9773) */
};

/* "urn:ietf:params:acme:error:malformed", ...; static. */
const char *acme_problem_type(enum acme_problem p);
/* The HTTP status RFC 8555 and common practice pair with p (400, 401, 403, 404, 409, 429, 500). */
int acme_problem_status(enum acme_problem p);

#endif
