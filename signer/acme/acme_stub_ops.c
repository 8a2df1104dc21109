/*
 * TEMPORARY: placeholders for the ACME handlers being written in
 * acme_account.c, acme_order.c and acme_ari.c, so that signerd links
 * while they do not exist. Every one answers serverInternal. Delete this
 * file when those files are merged.
 */
#include "acme_internal.h"

#define ACME_STUB(name)                                                                      \
	int name(struct acme_call *c)                                                        \
	{                                                                                    \
		return acme_answer_problem(c, ACME_P_SERVER_INTERNAL, "not yet: %s", #name); \
	}

ACME_STUB(acme_op_new_account)
ACME_STUB(acme_op_account)
ACME_STUB(acme_op_key_change)
ACME_STUB(acme_op_new_order)
ACME_STUB(acme_op_order)
ACME_STUB(acme_op_finalize)
ACME_STUB(acme_op_authz)
ACME_STUB(acme_op_challenge)
ACME_STUB(acme_op_cert)
ACME_STUB(acme_op_revoke)
ACME_STUB(acme_op_renewal_info)

int
acme_challenge_validated(struct acme *a, const char *profile, const char *challenge, const char *error_type,
    const char *detail, int64_t now)
{
	(void)a;
	(void)profile;
	(void)error_type;
	(void)detail;
	(void)now;
	return sd_error_set(SD_E_NOT_FOUND, "not yet: no challenge \"%.64s\" is being validated", challenge);
}

int
acme_ari_replaces(struct acme_call *c, const char *cert_id, char serial_hex[41], enum acme_problem *problem)
{
	(void)c;
	(void)cert_id;
	serial_hex[0] = '\0';
	*problem = ACME_P_SERVER_INTERNAL;
	return sd_error_set(SD_E_INVAL, "not yet: renewal information");
}
