/*
 * [profile NAME]: the table of profile keys, their defaults, and the checks
 * across keys that make a profile consistent (leaf or CA).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static const struct config_flag config_key_usages[] = {
	{ "digitalSignature", CONFIG_KU_DIGITAL_SIGNATURE },
	{ "keyEncipherment", CONFIG_KU_KEY_ENCIPHERMENT },
	{ "keyAgreement", CONFIG_KU_KEY_AGREEMENT },
	{ "keyCertSign", CONFIG_KU_KEY_CERT_SIGN },
	{ "cRLSign", CONFIG_KU_CRL_SIGN },
	{ NULL, 0 },
};

static const struct config_flag config_ext_key_usages[] = {
	{ "serverAuth", CONFIG_EKU_SERVER_AUTH },
	{ "clientAuth", CONFIG_EKU_CLIENT_AUTH },
	{ "codeSigning", CONFIG_EKU_CODE_SIGNING },
	{ "emailProtection", CONFIG_EKU_EMAIL_PROTECTION },
	{ NULL, 0 },
};

static const struct config_flag config_key_types[] = {
	{ "rsa", CONFIG_KEY_RSA },
	{ "p256", CONFIG_KEY_P256 },
	{ "p384", CONFIG_KEY_P384 },
	{ "p521", CONFIG_KEY_P521 },
	{ "ed25519", CONFIG_KEY_ED25519 },
	{ NULL, 0 },
};

static const struct config_flag config_subject_attrs[] = {
	{ "CN", CONFIG_SUBJ_CN },
	{ "O", CONFIG_SUBJ_O },
	{ "OU", CONFIG_SUBJ_OU },
	{ "C", CONFIG_SUBJ_C },
	{ "ST", CONFIG_SUBJ_ST },
	{ "L", CONFIG_SUBJ_L },
	{ "serialNumber", CONFIG_SUBJ_SERIAL },
	{ NULL, 0 },
};

/* A SPIFFE trust domain name: 1-255 characters of a-z, 0-9, '.', '-', '_' (SPIFFE ID spec, 2.1). */
static int
config_parse_trust_domain(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	const char *c;

	if (strlen(value) > 255)
		return config_fail(p, "key '%s': trust domain is longer than 255 characters", e->key);
	for (c = value; *c != '\0'; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
			return config_fail(p, "key '%s': '%s' is not a trust domain name (a-z, 0-9, '.', '-', '_')",
			    e->key, value);
	return config_set_string(p, config_field(e, obj), e->key, value, false);
}

static const struct config_special config_trust_domain = { "SPIFFE trust domain", CONFIG_STRING,
	config_parse_trust_domain };

/* One percentage of a renewal window: 1 to 3 digits, at most 100. */
static bool
config_percent(const char *text, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 3)
		return false;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)text[i]))
			return false;
		v = v * 10 + (unsigned)(text[i] - '0');
	}
	*out = v;
	return v <= 100;
}

/* renewal_window: "START-END", percentages of a certificate's lifetime, 0 <= START < END <= 100. */
static int
config_parse_renewal_window(struct config_parse *p, const struct config_entry *e, void *obj, const char *value)
{
	struct config_profile *prof = obj;
	const char *dash = strchr(value, '-');
	unsigned start, end;

	/* A parsed window has END > 0, and defaults come after the file: a second line. */
	if (prof->renewal_window_end != 0)
		return config_fail(p, "key '%s' is set twice", e->key);
	if (dash == NULL || !config_percent(value, (size_t)(dash - value), &start) ||
	    !config_percent(dash + 1, strlen(dash + 1), &end) || start >= end)
		return config_fail(p, "key '%s': '%s' is not START-END with 0 <= START < END <= 100", e->key, value);
	prof->renewal_window_start = start;
	prof->renewal_window_end = end;
	return 1;
}

static const struct config_special config_renewal_window = { "percentages START-END", CONFIG_COUNT,
	config_parse_renewal_window };

#define PROF(f) CONFIG_FIELD(config_profile, f)
#define PROF_LIST(f) CONFIG_ARRAY(config_profile, f)

/*
 * [profile NAME]: policy read for each request, so a reload could swap every
 * profile. Checks across keys (a leaf needs ext_key_usage and a name source,
 * keyCertSign needs ca = true, ...) are in config_finish_profile().
 */
const struct config_entry config_profile_keys[] = {
	{ "profile", "default_ttl", CONFIG_DURATION, CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(default_ttl),
	    .max = CONFIG_DURATION_MAX, .def = "24h, or max_ttl if shorter" },
	{ "profile", "max_ttl", CONFIG_DURATION, CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(max_ttl),
	    .max = CONFIG_DURATION_MAX, .def = "default_ttl, else 24h" },
	{ "profile", "backdate", CONFIG_DURATION, CONFIG_RELOADABLE, PROF(backdate), .max = CONFIG_DURATION_MAX,
	    .def = "0" },
	{ "profile", "key_usage", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(key_usage),
	    .names = config_key_usages, .def = "digitalSignature; CA: keyCertSign, cRLSign" },
	{ "profile", "ext_key_usage", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ext_key_usage),
	    .names = config_ext_key_usages, .def = config_none },
	{ "profile", "rsa_min_bits", CONFIG_COUNT, CONFIG_RELOADABLE, PROF(rsa_min_bits), .min = 2048, .max = 8192,
	    .def = "2048" },
	{ "profile", "dns_suffixes", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(dns_suffixes),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "ip_ranges", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(ip_ranges), .def = config_none },
	{ "profile", "key_types", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(key_types),
	    .names = config_key_types, .def = "rsa, p256, p384, p521, ed25519" },
	{ "profile", "subject_attributes", CONFIG_FLAGS, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(subject_attributes),
	    .names = config_subject_attrs, .def = "CN" },
	{ "profile", "cn_must_be_san", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED,
	    PROF(cn_must_be_san), .def = "true; CA: false" },
	{ "profile", "wildcards", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(wildcards), .def = "false" },
	{ "profile", "ca", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ca), .def = "false" },
	{ "profile", "path_len", CONFIG_COUNT, CONFIG_ONCE | CONFIG_RELOADABLE | CONFIG_DERIVED, PROF(path_len),
	    .min = 0, .max = 16, .def = config_none },
	{ "profile", "uri_prefixes", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(uri_prefixes),
	    .add = config_add_uri_prefix, .def = config_none },
	{ "profile", "spiffe_trust_domain", CONFIG_SPECIAL, CONFIG_ONCE | CONFIG_RELOADABLE,
	    PROF(spiffe_trust_domain), .def = config_none, .special = &config_trust_domain },
	{ "profile", "email_domains", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(email_domains),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "permitted_dns", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(permitted_dns),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "excluded_dns", CONFIG_LIST, CONFIG_RELOADABLE, PROF_LIST(excluded_dns),
	    .add = config_add_dns_suffix, .def = config_none },
	{ "profile", "permitted_ip", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(permitted_ip), .def = config_none },
	{ "profile", "excluded_ip", CONFIG_IP_RANGES, CONFIG_RELOADABLE, PROF_LIST(excluded_ip), .def = config_none },
	{ "profile", "crl_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(crl_url), .def = config_none },
	{ "profile", "ocsp_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ocsp_url), .def = config_none },
	{ "profile", "ca_issuers_url", CONFIG_URL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(ca_issuers_url),
	    .def = config_none },
	/* ACME (RFC 8555) from this profile: /acme/NAME/directory, end-entity certificates only. */
	{ "profile", "acme", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(acme), .def = "false" },
	{ "profile", "acme_eab", CONFIG_BOOL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(acme_eab), .def = "true" },
	/* The field is the window's start; the parser sets its end too. */
	{ "profile", "renewal_window", CONFIG_SPECIAL, CONFIG_ONCE | CONFIG_RELOADABLE, PROF(renewal_window_start),
	    .def = "33-66", .special = &config_renewal_window },
};
const size_t config_n_profile_keys = sizeof(config_profile_keys) / sizeof(config_profile_keys[0]);
_Static_assert(sizeof(config_profile_keys) / sizeof(config_profile_keys[0]) <= 64,
    "config_profile_keys outgrows the 64-bit config_profile.keys_seen");

unsigned
sd_config_key_usage_allowed(unsigned key_type)
{
	const unsigned ca = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;

	switch (key_type) {
	case CONFIG_KEY_RSA:
		return CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_ENCIPHERMENT | ca;
	case CONFIG_KEY_P256:
	case CONFIG_KEY_P384:
	case CONFIG_KEY_P521:
		return CONFIG_KU_DIGITAL_SIGNATURE | CONFIG_KU_KEY_AGREEMENT | ca;
	case CONFIG_KEY_ED25519:
		return CONFIG_KU_DIGITAL_SIGNATURE | ca;
	default:
		return 0;
	}
}

/* Whether a profile's file gave key. */
static bool
config_profile_given(const struct config_profile *prof, const char *key)
{
	size_t i;

	for (i = 0; i < config_n_profile_keys; i++)
		if (strcmp(config_profile_keys[i].key, key) == 0)
			return (prof->keys_seen >> i) & 1;
	abort();
}

int
config_finish_profile(struct sd_config *cfg, struct config_profile *prof)
{
	const unsigned ca_bits = CONFIG_KU_KEY_CERT_SIGN | CONFIG_KU_CRL_SIGN;
	bool path_len_given = config_profile_given(prof, "path_len");
	bool cn_must_be_san_given = config_profile_given(prof, "cn_must_be_san");
	unsigned t;
	int rc;

	if ((rc = config_defaults(cfg, config_profile_keys, config_n_profile_keys, prof, &prof->keys_seen)) != 0)
		return rc;
	/* The CONFIG_DERIVED defaults. */
	if (!path_len_given)
		prof->path_len = -1;
	if (!cn_must_be_san_given)
		prof->cn_must_be_san = !prof->ca;
	if (prof->key_usage == 0)
		prof->key_usage = prof->ca ? ca_bits : CONFIG_KU_DIGITAL_SIGNATURE;
	if (prof->max_ttl == 0)
		prof->max_ttl = prof->default_ttl != 0 ? prof->default_ttl : 24 * 3600;
	if (prof->default_ttl == 0)
		prof->default_ttl = prof->max_ttl < 24 * 3600 ? prof->max_ttl : 24 * 3600;

	if (prof->ca) {
		if (!(prof->key_usage & CONFIG_KU_KEY_CERT_SIGN))
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: ca = true needs keyCertSign in key_usage",
			    cfg->path, prof->name);
		if (prof->cn_must_be_san)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: ca = true needs cn_must_be_san = false "
			    "(a CA's subject names the CA, not a host)", cfg->path, prof->name);
		if (prof->wildcards)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: wildcards are for leaf profiles only",
			    cfg->path, prof->name);
		if (prof->acme)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: acme = true is for leaf profiles only "
			    "(ACME issues end-entity certificates, not CAs)", cfg->path, prof->name);
	} else {
		if (prof->key_usage & ca_bits)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: keyCertSign and cRLSign need ca = true",
			    cfg->path, prof->name);
		if (path_len_given)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: path_len needs ca = true", cfg->path,
			    prof->name);
		if (prof->n_permitted_dns + prof->n_excluded_dns + prof->n_permitted_ip + prof->n_excluded_ip != 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: name constraints (permitted_*, excluded_*) "
			    "need ca = true", cfg->path, prof->name);
		if (prof->ext_key_usage == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: a leaf profile needs ext_key_usage",
			    cfg->path, prof->name);
		if (prof->n_dns_suffixes == 0 && prof->n_ip_ranges == 0 && prof->n_uri_prefixes == 0 &&
		    prof->spiffe_trust_domain == NULL && prof->n_email_domains == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s allows no names (set dns_suffixes, ip_ranges, "
			    "uri_prefixes, spiffe_trust_domain and/or email_domains)", cfg->path, prof->name);
	}
	if (prof->wildcards && prof->n_dns_suffixes == 0)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: wildcards = true needs dns_suffixes", cfg->path,
		    prof->name);
	if (!(prof->subject_attributes & CONFIG_SUBJ_CN) && cn_must_be_san_given && prof->cn_must_be_san)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: cn_must_be_san needs CN in subject_attributes",
		    cfg->path, prof->name);
	/* Every accepted key type must keep at least one usage (e.g. keyEncipherment alone cannot serve EC keys). */
	for (t = 1; t <= CONFIG_KEY_ED25519; t <<= 1)
		if ((prof->key_types & t) && (prof->key_usage & sd_config_key_usage_allowed(t)) == 0)
			return sd_error_set(SD_E_CONFIG, "%s: profile %s: key_usage leaves nothing for %s keys "
			    "(restrict key_types or add digitalSignature)", cfg->path, prof->name,
			    config_flag_name(config_key_types, t));
	if (prof->default_ttl > prof->max_ttl)
		return sd_error_set(SD_E_CONFIG, "%s: profile %s: default_ttl exceeds max_ttl", cfg->path, prof->name);
	return 0;
}

const struct config_profile *
sd_config_profile(const struct sd_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_profiles; i++)
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	return NULL;
}
