/*
 * External Account Binding keys, added, listed and removed by the operator
 * (signerctl acme eab). The key is made here, shown once, and kept only in
 * the ACME state store, which the signer reads when a newAccount binds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "acme_eab.h"
#include "acme_jws.h"
#include "acme_store.h"
#include "policy/profile_check.h"

/* A kid is printed, journaled and typed into clients: a short, plain token. */
static int
acme_eab_kid_check(const char *kid)
{
	size_t i, len = strlen(kid);

	if (len == 0 || len > ACME_EAB_KID_MAX)
		return sd_error_set(SD_E_INVAL, "an EAB kid has 1..%d characters", ACME_EAB_KID_MAX);
	for (i = 0; i < len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", kid[i]) == NULL)
			return sd_error_set(SD_E_INVAL, "EAB kid \"%.64s\": only A-Z a-z 0-9 . _ -", kid);
	return 0;
}

/* The profiles exist and serve ACME; the suffixes are names inside every one of them. */
static int
acme_eab_policy(const struct sd_config *cfg, const char *const *profiles, size_t n_profiles,
    const char *const *suffixes, size_t n_suffixes)
{
	const struct config_profile *p;
	size_t i, k, m;
	bool inside;

	if (n_profiles == 0 || n_profiles > ACME_EAB_PROFILES_MAX)
		return sd_error_set(SD_E_CONFIG, "an EAB key names 1..%d profiles", ACME_EAB_PROFILES_MAX);
	if (n_suffixes > CONFIG_LIST_MAX)
		return sd_error_set(SD_E_NAME_REFUSED, "more than %d DNS suffixes", CONFIG_LIST_MAX);
	for (i = 0; i < n_profiles; i++) {
		if ((p = sd_config_profile(cfg, profiles[i])) == NULL || !p->acme)
			return sd_error_set(SD_E_CONFIG, "profile \"%.64s\" has no ACME directory (acme = true)",
			    profiles[i]);
		for (k = 0; k < n_suffixes; k++) {
			if (profile_check_dns_syntax(suffixes[k], strlen(suffixes[k])) != 0)
				return SD_E_NAME_REFUSED;
			inside = false;
			for (m = 0; m < p->n_dns_suffixes && !inside; m++)
				inside = profile_dns_suffix_match(suffixes[k], strlen(suffixes[k]), p->dns_suffixes[m]);
			if (!inside)
				return sd_error_set(SD_E_NAME_REFUSED, "DNS suffix \"%.64s\" is outside profile %s",
				    suffixes[k], p->name);
		}
	}
	return 0;
}

/* names joined by commas (free()), or NULL on memory failure. */
static char *
acme_eab_join(const char *const *names, size_t n)
{
	size_t i, len = 1, at = 0, l;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i != 0)
			s[at++] = ',';
		l = strlen(names[i]);
		memcpy(s + at, names[i], l);
		at += l;
	}
	s[at] = '\0';
	return s;
}

static int
acme_eab_journal(struct journal *j, uint8_t event, const char *kid, const char *profile, const char *actor,
    const char *detail, int64_t now)
{
	struct journal_acme e;
	uint64_t seq = 0;

	memset(&e, 0, sizeof(e));
	e.time_ms = now * 1000;
	e.event = event;
	e.account = "";
	e.eab_kid = kid;
	e.profile = profile;
	e.actor = actor;
	e.detail = detail;
	return journal_acme_append(j, &e, &seq);
}

static json_t *
acme_eab_array(const char *const *names, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(names[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

int
acme_eab_add(const struct sd_config *cfg, struct acme_store *st, struct journal *j, const char *kid,
    const char *const *profiles,
    size_t n_profiles, const char *const *dns_suffixes, size_t n_suffixes, const char *actor,
    char kid_out[ACME_EAB_KID_MAX + 1], char key_out[ACME_EAB_KEY_B64_LEN + 1])
{
	struct acme_txn *txn = NULL;
	uint8_t key[ACME_EAB_KEY_LEN];
	char b64[ACME_EAB_KEY_B64_LEN + 2], id[ACME_ID_LEN + 1];
	char *ps = NULL, *ss = NULL, *detail = NULL;
	json_t *o = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t len;
	int n, rc;

	kid_out[0] = '\0';
	key_out[0] = '\0';
	if (kid == NULL) {
		if ((rc = acme_store_id_new(id)) != 0)
			goto out;
		kid = id;
	}
	if ((rc = acme_eab_kid_check(kid)) != 0 ||
	    (rc = acme_eab_policy(cfg, profiles, n_profiles, dns_suffixes, n_suffixes)) != 0)
		goto out;
	if (actor == NULL || actor[0] == '\0') {
		rc = sd_error_set(SD_E_INVAL, "an EAB key needs its actor");
		goto out;
	}
	if ((ps = acme_eab_join(profiles, n_profiles)) == NULL ||
	    (ss = acme_eab_join(dns_suffixes, n_suffixes)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	len = strlen(ps) + strlen(ss) + 32;
	if ((detail = malloc(len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = snprintf(detail, len, "profiles=%s dns_suffixes=%s", ps, ss);
	if (n < 0 || (size_t)n >= len) {
		rc = sd_error_set(SD_E_INTERNAL, "EAB detail");
		goto out;
	}
	if (RAND_bytes(key, sizeof(key)) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "RAND_bytes for an EAB key");
		goto out;
	}
	if (acme_b64url_encode(key, sizeof(key), b64) != ACME_EAB_KEY_B64_LEN) {
		rc = sd_error_set(SD_E_INTERNAL, "EAB key encoding");
		goto out;
	}
	o = json_pack("{s:s, s:o, s:o, s:I, s:s, s:n}", "key", b64, "profiles", acme_eab_array(profiles, n_profiles),
	    "dns_suffixes", acme_eab_array(dns_suffixes, n_suffixes), "created", (json_int_t)now, "actor", actor,
	    "account");
	if (o == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((rc = acme_store_begin(st, true, &txn)) != 0 || (rc = acme_store_add(txn, ACME_T_EAB, kid, o, 0)) != 0)
		goto out;
	/* Journal, then commit (as acme_account.c): never a usable key the journal has not heard of. */
	if ((rc = acme_eab_journal(j, JOURNAL_ACME_EAB_ADDED, kid, profiles[0], actor, detail, now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	memcpy(kid_out, kid, strlen(kid) + 1);
	memcpy(key_out, b64, ACME_EAB_KEY_B64_LEN + 1);
out:
	acme_store_abort(txn);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(b64, sizeof(b64));
	json_decref(o);
	free(ps);
	free(ss);
	free(detail);
	return rc;
}

int
acme_eab_remove(struct acme_store *st, struct journal *j, const char *kid, const char *actor)
{
	struct acme_txn *txn = NULL;
	json_t *o = NULL, *v;
	const char *profile = "", *account;
	char detail[ACME_ID_LEN + 32] = "";
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = acme_eab_kid_check(kid)) != 0)
		goto out;
	if (actor == NULL || actor[0] == '\0') {
		rc = sd_error_set(SD_E_INVAL, "an EAB key needs its actor");
		goto out;
	}
	if ((rc = acme_store_begin(st, true, &txn)) != 0)
		goto out;
	if ((rc = acme_store_get(txn, ACME_T_EAB, kid, &o)) != 0) {
		if (rc == SD_E_NOT_FOUND)
			rc = sd_error_set(SD_E_NOT_FOUND, "no EAB key \"%s\"", kid);
		goto out;
	}
	if (json_is_string(v = json_array_get(json_object_get(o, "profiles"), 0)))
		profile = json_string_value(v);
	if ((account = json_string_value(json_object_get(o, "account"))) != NULL)
		(void)snprintf(detail, sizeof(detail), "account=%.22s", account);
	if ((rc = acme_store_del(txn, ACME_T_EAB, kid)) != 0 ||
	    (rc = acme_eab_journal(j, JOURNAL_ACME_EAB_REMOVED, kid, profile, actor, detail, now)) != 0)
		goto out;
	rc = acme_store_commit(txn);
	txn = NULL;
out:
	acme_store_abort(txn);
	json_decref(o);
	return rc;
}

struct acme_eab_walk {
	int (*fn)(const struct acme_eab_info *info, void *arg);
	void *arg;
};

/* names (a JSON array of strings) joined by commas (free()). */
static char *
acme_eab_join_json(const json_t *names)
{
	const char *list[CONFIG_LIST_MAX];
	const json_t *v;
	size_t i, n = 0;

	json_array_foreach(names, i, v) if (json_is_string(v) && n < CONFIG_LIST_MAX) list[n++] = json_string_value(v);
	return acme_eab_join(list, n);
}

static int
acme_eab_visit(const char *key, const json_t *value, void *arg)
{
	struct acme_eab_walk *w = arg;
	struct acme_eab_info info;
	char *ps = acme_eab_join_json(json_object_get(value, "profiles"));
	char *ss = acme_eab_join_json(json_object_get(value, "dns_suffixes"));
	int rc;

	if (ps == NULL || ss == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.kid = key;
	info.profiles = ps;
	info.dns_suffixes = ss;
	info.account = json_string_value(json_object_get(value, "account"));
	info.actor = json_string_value(json_object_get(value, "actor"));
	info.created = json_integer_value(json_object_get(value, "created"));
	rc = w->fn(&info, w->arg);
out:
	free(ps);
	free(ss);
	return rc;
}

int
acme_eab_list(struct acme_store *st, int (*fn)(const struct acme_eab_info *info, void *arg), void *arg)
{
	struct acme_eab_walk w = { fn, arg };
	struct acme_txn *txn = NULL;
	int rc;

	if ((rc = acme_store_begin(st, false, &txn)) != 0)
		goto out;
	rc = acme_store_foreach(txn, ACME_T_EAB, NULL, SIZE_MAX, acme_eab_visit, &w);
out:
	acme_store_abort(txn);
	return rc;
}
