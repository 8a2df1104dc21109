/*
 * TEMPORARY: acme_ari_replaces() until acme_ari.c (renewalInfo, revokeCert)
 * is merged; delete this file then. It refuses every "replaces", so that no
 * order can claim a certificate it was not checked against.
 */
#include "acme_internal.h"

int
acme_ari_replaces(struct acme_call *c, const char *cert_id, char serial_hex[41], enum acme_problem *problem)
{
	(void)c;
	(void)cert_id;
	serial_hex[0] = '\0';
	*problem = ACME_P_MALFORMED;
	return sd_error_set(SD_E_INVAL, "\"replaces\" is not supported yet");
}
