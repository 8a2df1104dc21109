/*
 * External Account Binding keys (RFC 8555 7.3.4), the operator's side:
 * signerctl adds, lists and removes them in the ACME state store st
 * (acme_store_open_config()) while signerd may be running (LMDB lets two
 * processes share the environment).
 * Each key is journaled (journal.h, ACME events 4 and 7) before its store
 * transaction commits.
 */
#ifndef ACME_EAB_H
#define ACME_EAB_H

#include <stddef.h>
#include <stdint.h>

#include "acme_store.h"
#include "config.h"
#include "journal.h"
#include "sd_error.h"

#define ACME_EAB_KID_MAX 64 /* bytes of a key id (the journal's limit) */
#define ACME_EAB_KEY_LEN 32 /* bytes of a new HMAC key */
#define ACME_EAB_KEY_B64_LEN 43 /* its base64url, no padding */
#define ACME_EAB_PROFILES_MAX 16 /* profiles one key may name */

/*
 * Add an EAB key for profiles (1..ACME_EAB_PROFILES_MAX names of profiles
 * with acme = true, else SD_E_CONFIG) whose accounts may only ask for names
 * under dns_suffixes (0..CONFIG_LIST_MAX; each a valid DNS name inside the
 * dns_suffixes of every profile named, else SD_E_NAME_REFUSED; none: the
 * profiles' own). kid: 1..ACME_EAB_KID_MAX characters of A-Z a-z 0-9 . _ -
 * (else SD_E_INVAL), or NULL for a random one. actor: who adds it, as
 * ctl_actor() writes it. A random ACME_EAB_KEY_LEN-byte HMAC key is made,
 * stored, journaled (JOURNAL_ACME_EAB_ADDED) and committed; kid_out gets
 * the kid and key_out its key in base64url, which is shown to the operator
 * once and never again (the caller wipes key_out).
 * Errors: SD_E_INVAL (also "exists": the kid is taken), SD_E_CONFIG,
 * SD_E_NAME_REFUSED, SD_E_CRYPTO, those of journal_acme_append(),
 * SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int acme_eab_add(const struct sd_config *cfg, struct acme_store *st, struct journal *j, const char *kid,
    const char *const *profiles, size_t n_profiles, const char *const *dns_suffixes, size_t n_suffixes, const char *actor,
    char kid_out[ACME_EAB_KID_MAX + 1], char key_out[ACME_EAB_KEY_B64_LEN + 1]);

/*
 * Remove the EAB key kid, journaled (JOURNAL_ACME_EAB_REMOVED) first. An
 * account it made stays. Errors: SD_E_NOT_FOUND, SD_E_INVAL (kid), those of
 * journal_acme_append(), SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int acme_eab_remove(struct acme_store *st, struct journal *j, const char *kid, const char *actor);

/* One EAB key as acme_eab_list() shows it; every field borrowed for the callback's duration. */
struct acme_eab_info {
	const char *kid;
	const char *profiles; /* comma-separated */
	const char *dns_suffixes; /* comma-separated; "" for the profiles' own */
	const char *account; /* the account it made, or NULL (not bound yet) */
	const char *actor; /* who added it */
	int64_t created; /* Unix seconds */
};

/*
 * Call fn for each EAB key in kid order (never its HMAC key) until it
 * returns non-zero (returned). Errors: those of fn, SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int acme_eab_list(struct acme_store *st, int (*fn)(const struct acme_eab_info *info, void *arg),
    void *arg);

#endif
