/*
 * ACME accounts (RFC 8555 7.3): what other handlers of the engine share
 * with acme_account.c.
 */
#ifndef ACME_ACCOUNT_H
#define ACME_ACCOUNT_H

#include <stddef.h>

#include <jansson.h>

#include "acme_internal.h"

#define ACME_ACCOUNT_CONTACTS_MAX 4 /* "mailto:" URIs of one account */
#define ACME_ACCOUNT_CONTACT_MAX 254 /* bytes of one, "mailto:" included */

/*
 * The ACME_T_ACCOUNT_KEY key of a key's thumbprint in profile: P "/" T,
 * into out (cap bytes). Errors: SD_E_TOO_LARGE.
 */
SD_WUR int acme_account_key_name(const char *profile, const char *thumbprint, char *out, size_t cap);

/*
 * The account object a client is shown (RFC 8555 7.1.2) for stored account
 * id: {"status", "contact", "orders"}; a new reference in *out.
 * Errors: SD_E_TOO_LARGE (the orders URL), SD_E_NOMEM.
 */
SD_WUR int acme_account_view(const struct acme_call *c, const char *id, const json_t *account, json_t **out);

/*
 * Check a "contact" member (NULL: absent, accepted): an array of at most
 * ACME_ACCOUNT_CONTACTS_MAX "mailto:" URIs of at most
 * ACME_ACCOUNT_CONTACT_MAX bytes, one address each, no hfields ("?"), a
 * valid DNS domain. *problem says what the client is told:
 * ACME_P_UNSUPPORTED_CONTACT (another scheme), ACME_P_INVALID_CONTACT.
 * Errors: SD_E_INVAL (with the detail to answer).
 */
SD_WUR int acme_account_contacts_check(const json_t *contact, enum acme_problem *problem);

#endif
