#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <idn2.h>

#include "profile_check.h"
#include "x509/x509_ext.h"
#include "sd_file.h"

/* A DNS name as shown in details: printable ASCII kept, anything else as \xNN, truncated. */
#define PROFILE_SHOW_MAX 300

static void
profile_show(const char *in, size_t len, char out[PROFILE_SHOW_MAX])
{
	static const char digits[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (o + 8 >= PROFILE_SHOW_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 0xf];
		}
	}
	out[o] = '\0';
}

static const char *
profile_name(const struct config_profile *profile)
{
	return profile != NULL && profile->name != NULL ? profile->name : "(unnamed)";
}

static bool
profile_is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

int
profile_check_alabel(const char *label, size_t len)
{
	char lower[64];
	uint8_t *out = NULL;
	size_t i;
	int rc;

	if (len < 4 || (label[0] | 0x20) != 'x' || (label[1] | 0x20) != 'n' || label[2] != '-' || label[3] != '-')
		return 0;
	if (len >= sizeof(lower))
		return sd_error_set(SD_E_NAME_REFUSED, "DNS label of %zu characters; at most 63", len);
	/* A-labels compare without case; IDNA2008 itself takes them in lower case. */
	for (i = 0; i < len; i++)
		lower[i] = (char)(label[i] >= 'A' && label[i] <= 'Z' ? label[i] + ('a' - 'A') : label[i]);
	lower[len] = '\0';
	/* IDNA2008 proper (no UTS #46 mapping): the label must be the A-label of a valid U-label. */
	rc = idn2_lookup_u8((const uint8_t *)lower, &out, IDN2_NO_TR46);
	if (rc == IDN2_OK && strcmp((const char *)out, lower) != 0)
		rc = IDN2_PUNYCODE_BAD_INPUT;
	idn2_free(out);
	if (rc != IDN2_OK)
		return sd_error_set(SD_E_NAME_REFUSED, "DNS label \"%s\" is not a valid IDNA2008 A-label: %s", lower,
		    idn2_strerror(rc));
	return 0;
}

int
profile_check_dns_syntax(const char *name, size_t len)
{
	char show[PROFILE_SHOW_MAX];
	size_t i, start = 0, label;
	bool numeric = true;
	unsigned char c;

	if (name == NULL || len == 0)
		return sd_error_set(SD_E_NAME_REFUSED, "empty DNS name");
	profile_show(name, len, show);
	if (memchr(name, '\0', len) != NULL)
		return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" contains a NUL byte", show);
	if (len > 253)
		return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" is %zu characters long; at most 253",
		    show, len);
	if (memchr(name, '*', len) != NULL)
		return sd_error_set(SD_E_NAME_REFUSED, "wildcard DNS name \"%s\" is not allowed", show);
	if (name[len - 1] == '.')
		return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" ends with a dot", show);
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '.') {
			c = (unsigned char)name[i];
			if (!profile_is_ldh(c) && c > 0x20 && c < 0x7f)
				return sd_error_set(SD_E_NAME_REFUSED,
				    "DNS name \"%s\" has character '%c' at offset %zu (only letters, digits, '-' and '.')",
				    show, c, i);
			if (!profile_is_ldh(c))
				return sd_error_set(SD_E_NAME_REFUSED,
				    "DNS name \"%s\" has byte 0x%02x at offset %zu (only letters, digits, '-' and '.')",
				    show, c, i);
			if (c < '0' || c > '9')
				numeric = false;
			continue;
		}
		label = i - start;
		if (label == 0)
			return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" has an empty label", show);
		if (label > 63)
			return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" has a label of %zu characters; at most 63",
			    show, label);
		if (name[start] == '-' || name[i - 1] == '-')
			return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" has a label starting or ending with '-'",
			    show);
		if (profile_check_alabel(name + start, label) != 0)
			return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\": %s", show, sd_error_detail(SD_E_NAME_REFUSED));
		if (i < len)
			numeric = true;	/* only the last label counts */
		start = i + 1;
	}
	/* No top-level domain is all digits: such a name is an IP address in disguise. */
	if (numeric)
		return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" has an all-numeric last label (use an IP address SAN)",
		    show);
	return 0;
}

static bool
profile_equal_nocase(const char *a, const char *b, size_t len)
{
	size_t i;
	unsigned char x, y;

	for (i = 0; i < len; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

bool
profile_dns_suffix_match(const char *name, size_t len, const char *suffix)
{
	size_t slen;

	if (name == NULL || suffix == NULL)
		return false;
	if (suffix[0] == '.')
		suffix++;
	slen = strlen(suffix);
	if (slen == 0 || len < slen)
		return false;
	if (!profile_equal_nocase(name + (len - slen), suffix, slen))
		return false;
	return len == slen || name[len - slen - 1] == '.';
}

int
profile_check_dns(const struct config_profile *profile, const char *name, size_t len)
{
	char show[PROFILE_SHOW_MAX], detail[512];
	const char *base = name;
	size_t i, blen = len;
	bool wild = false;
	int rc;

	if (name != NULL && len >= 2 && name[0] == '*' && name[1] == '.' && profile != NULL && profile->wildcards &&
	    memchr(name + 1, '*', len - 1) == NULL) {
		base = name + 2;
		blen = len - 2;
		wild = true;
	} else if (name != NULL && memchr(name, '*', len) != NULL) {
		profile_show(name, len, show);
		if (profile != NULL && profile->wildcards)
			return sd_error_set(SD_E_NAME_REFUSED, "wildcard in DNS name \"%s\" must be the whole left-most "
			    "label, as in *.example.com (profile %s)", show, profile_name(profile));
		return sd_error_set(SD_E_NAME_REFUSED, "wildcard DNS name \"%s\" is not allowed (profile %s has "
		    "wildcards = false)", show, profile_name(profile));
	}
	if ((rc = profile_check_dns_syntax(base, blen)) != 0) {
		/* Copy first: the detail buffer is rewritten by sd_error_set(); a truncated copy is still useful. */
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		return sd_error_set(rc, "%s%s (profile %s)", wild ? "after \"*.\": " : "", detail, profile_name(profile));
	}
	if (wild && memchr(base, '.', blen) == NULL) {
		profile_show(name, len, show);
		return sd_error_set(SD_E_NAME_REFUSED, "wildcard DNS name \"%s\" covers a whole top-level domain "
		    "(profile %s)", show, profile_name(profile));
	}
	for (i = 0; profile != NULL && i < profile->n_dns_suffixes && i < CONFIG_LIST_MAX; i++)
		if (profile_dns_suffix_match(base, blen, profile->dns_suffixes[i]))
			return 0;
	profile_show(name, len, show);
	return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" is not under any DNS suffix of profile %s", show,
	    profile_name(profile));
}

static bool
profile_spiffe_td_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool
profile_spiffe_path_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
	    c == '_';
}

/* Why c may not appear in a SPIFFE ID's trust domain or path. */
static const char *
profile_spiffe_why(unsigned char c, bool in_td)
{
	switch (c) {
	case '?':
		return "a query";
	case '#':
		return "a fragment";
	case '%':
		return "percent-encoding";
	case ':':
		return in_td ? "a port" : "a ':'";
	case '@':
		return in_td ? "userinfo" : "an '@'";
	default:
		if (in_td && c >= 'A' && c <= 'Z')
			return "an upper-case trust domain";
		return "a character outside [A-Za-z0-9.-_]";
	}
}

int
profile_check_spiffe_id(const char *id, size_t len, const char **td, size_t *td_len, bool *has_path)
{
	static const char scheme[] = "spiffe://";
	char show[PROFILE_SHOW_MAX];
	size_t p, start, seg;

	if (td != NULL)
		*td = NULL;
	if (td_len != NULL)
		*td_len = 0;
	if (has_path != NULL)
		*has_path = false;
	if (id == NULL || len == 0)
		return sd_error_set(SD_E_NAME_REFUSED, "empty SPIFFE ID");
	profile_show(id, len, show);
	if (len > PROFILE_SPIFFE_MAX)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" is %zu bytes long; at most %d", show, len,
		    PROFILE_SPIFFE_MAX);
	if (memchr(id, '\0', len) != NULL)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" contains a NUL byte", show);
	if (len < sizeof(scheme) - 1 || memcmp(id, scheme, sizeof(scheme) - 1) != 0)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" does not start with \"spiffe://\" (lower case)",
		    show);
	for (p = start = sizeof(scheme) - 1; p < len && id[p] != '/'; p++)
		if (!profile_spiffe_td_char((unsigned char)id[p]))
			return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has %s in its trust domain (offset %zu)",
			    show, profile_spiffe_why((unsigned char)id[p], true), p);
	if (p == start)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has no trust domain", show);
	if (p - start > 255)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has a trust domain over 255 characters", show);
	if (td != NULL)
		*td = id + start;
	if (td_len != NULL)
		*td_len = p - start;
	while (p < len) {
		/* id[p] == '/' */
		for (seg = ++p; p < len && id[p] != '/'; p++)
			if (!profile_spiffe_path_char((unsigned char)id[p]))
				return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has %s in its path (offset %zu)",
				    show, profile_spiffe_why((unsigned char)id[p], false), p);
		if (p == seg)
			return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has an empty path segment "
			    "(\"//\" or a trailing '/')", show);
		if ((p - seg == 1 && id[seg] == '.') || (p - seg == 2 && id[seg] == '.' && id[seg + 1] == '.'))
			return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has a \".\" or \"..\" path segment", show);
		if (has_path != NULL)
			*has_path = true;
	}
	return 0;
}

/* RFC 3986 unreserved, gen-delims, sub-delims, and '%'. */
static bool
profile_uri_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

int
profile_check_uri(const struct config_profile *profile, const char *uri, size_t len)
{
	char show[PROFILE_SHOW_MAX], detail[512];
	const char *td;
	size_t i, td_len = 0, scheme_len, plen;
	bool has_path = false, spiffe;
	int rc;

	if (uri == NULL || len == 0)
		return sd_error_set(SD_E_NAME_REFUSED, "empty URI (profile %s)", profile_name(profile));
	profile_show(uri, len, show);
	if (len > X509_SAN_NAME_MAX)
		return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" is %zu bytes long; at most %d", show, len,
		    X509_SAN_NAME_MAX);
	for (i = 0; i < len; i++) {
		if (!profile_uri_char((unsigned char)uri[i]))
			return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" has byte 0x%02x at offset %zu (not an RFC 3986 "
			    "character)", show, (unsigned char)uri[i], i);
		if (uri[i] == '%') {
			if (i + 2 >= len || sd_hex_digit(uri[i + 1]) < 0 ||
			    sd_hex_digit(uri[i + 2]) < 0)
				return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" has a bad percent-encoding at offset %zu",
				    show, i);
			/* An encoded dot could hide a dot-segment from the prefix check. */
			if (uri[i + 1] == '2' && (uri[i + 2] == 'e' || uri[i + 2] == 'E'))
				return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" has a percent-encoded '.'", show);
		}
	}
	for (scheme_len = 0; scheme_len < len && uri[scheme_len] != ':'; scheme_len++)
		if (!((uri[scheme_len] >= 'a' && uri[scheme_len] <= 'z') || (uri[scheme_len] >= 'A' && uri[scheme_len] <= 'Z') ||
		    (scheme_len > 0 && ((uri[scheme_len] >= '0' && uri[scheme_len] <= '9') || uri[scheme_len] == '+' ||
		    uri[scheme_len] == '-' || uri[scheme_len] == '.'))))
			break;
	if (scheme_len == 0 || scheme_len >= len || uri[scheme_len] != ':' || scheme_len + 1 == len)
		return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" is not an absolute URI (scheme:...)", show);
	/* Dot-segments could climb out of an allowed prefix once a relying party normalises the path. */
	for (i = scheme_len; i + 1 < len; i++) {
		if (uri[i] != '/' || uri[i + 1] != '.')
			continue;
		if (i + 2 == len || uri[i + 2] == '/' || uri[i + 2] == '?' || uri[i + 2] == '#' ||
		    (uri[i + 2] == '.' && (i + 3 == len || uri[i + 3] == '/' || uri[i + 3] == '?' || uri[i + 3] == '#')))
			return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" has a \".\" or \"..\" path segment", show);
	}
	spiffe = scheme_len == 6 && strncasecmp(uri, "spiffe", 6) == 0;
	if (spiffe) {
		if ((rc = profile_check_spiffe_id(uri, len, &td, &td_len, &has_path)) != 0) {
			if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
				detail[0] = '\0';
			return sd_error_set(rc, "%s (profile %s)", detail, profile_name(profile));
		}
		if (!has_path)
			return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" has no path: an X.509-SVID names a workload, "
			    "not the trust domain (profile %s)", show, profile_name(profile));
		if (profile != NULL && profile->spiffe_trust_domain != NULL &&
		    strlen(profile->spiffe_trust_domain) == td_len && memcmp(profile->spiffe_trust_domain, td, td_len) == 0)
			return 0;
	}
	for (i = 0; profile != NULL && i < profile->n_uri_prefixes && i < CONFIG_LIST_MAX; i++) {
		plen = strlen(profile->uri_prefixes[i]);
		if (len >= plen && memcmp(uri, profile->uri_prefixes[i], plen) == 0)
			return 0;
	}
	if (spiffe && profile != NULL && profile->spiffe_trust_domain != NULL)
		return sd_error_set(SD_E_NAME_REFUSED, "SPIFFE ID \"%s\" is not in trust domain %s of profile %s", show,
		    profile->spiffe_trust_domain, profile_name(profile));
	return sd_error_set(SD_E_NAME_REFUSED, "URI \"%s\" does not start with any uri_prefixes of profile %s", show,
	    profile_name(profile));
}

/* RFC 5322 atext. */
static bool
profile_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
profile_check_email(const struct config_profile *profile, const char *addr, size_t len)
{
	char show[PROFILE_SHOW_MAX], detail[512];
	const char *at = NULL, *domain;
	size_t i, local, dlen;
	int rc;

	if (addr == NULL || len == 0)
		return sd_error_set(SD_E_NAME_REFUSED, "empty e-mail address (profile %s)", profile_name(profile));
	profile_show(addr, len, show);
	if (len > 254)
		return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" is %zu bytes long; at most 254", show, len);
	for (i = 0; i < len; i++) {
		if (addr[i] == '@') {
			if (at != NULL)
				return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" has more than one '@'", show);
			at = addr + i;
		}
	}
	if (at == NULL)
		return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" has no '@'", show);
	local = (size_t)(at - addr);
	if (local == 0 || local > 64)
		return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" has a local part of %zu bytes; 1 to 64",
		    show, local);
	for (i = 0; i < local; i++) {
		if (addr[i] == '.' && i > 0 && i + 1 < local && addr[i - 1] != '.')
			continue;
		if (!profile_atext((unsigned char)addr[i]))
			return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" has a local part that is not a "
			    "dot-atom (byte 0x%02x at offset %zu)", show, (unsigned char)addr[i], i);
	}
	domain = at + 1;
	dlen = len - local - 1;
	if ((rc = profile_check_dns_syntax(domain, dlen)) != 0) {
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		return sd_error_set(rc, "e-mail address \"%s\": %s (profile %s)", show, detail, profile_name(profile));
	}
	for (i = 0; profile != NULL && i < profile->n_email_domains && i < CONFIG_LIST_MAX; i++)
		if (strlen(profile->email_domains[i]) == dlen && profile_equal_nocase(domain, profile->email_domains[i], dlen))
			return 0;
	return sd_error_set(SD_E_NAME_REFUSED, "e-mail address \"%s\" is not in any email_domains of profile %s",
	    show, profile_name(profile));
}

static const char *
profile_key_type_name(unsigned t)
{
	switch (t) {
	case CONFIG_KEY_RSA:
		return "rsa";
	case CONFIG_KEY_P256:
		return "p256";
	case CONFIG_KEY_P384:
		return "p384";
	case CONFIG_KEY_P521:
		return "p521";
	case CONFIG_KEY_ED25519:
		return "ed25519";
	default:
		return "unknown";
	}
}

int
profile_check_key_type(const struct config_profile *profile, unsigned key_type)
{
	char allowed[64];
	size_t o = 0;
	unsigned t;
	int n;

	if (profile != NULL && key_type != 0 && (profile->key_types & key_type) == key_type)
		return 0;
	allowed[0] = '\0';
	for (t = 1; profile != NULL && t <= CONFIG_KEY_ED25519; t <<= 1) {
		if (!(profile->key_types & t))
			continue;
		n = snprintf(allowed + o, sizeof(allowed) - o, "%s%s", o > 0 ? ", " : "", profile_key_type_name(t));
		if (n < 0 || (size_t)n >= sizeof(allowed) - o)
			break;
		o += (size_t)n;
	}
	return sd_error_set(SD_E_KEY_REFUSED, "%s subject keys are not allowed by profile %s (key_types = %s)",
	    profile_key_type_name(key_type), profile_name(profile), allowed);
}

int
profile_key_usage(const struct config_profile *profile, unsigned key_type, unsigned *ku)
{
	*ku = profile->key_usage & sd_config_key_usage_allowed(key_type);
	if (*ku == 0)
		return sd_error_set(SD_E_KEY_REFUSED, "profile %s's key_usage allows nothing for a %s subject key",
		    profile_name(profile), profile_key_type_name(key_type));
	return 0;
}

static bool
profile_ip_in_range(const struct config_ip_range *r, int family, const uint8_t *addr, size_t len)
{
	size_t full, i;
	unsigned rest;
	uint8_t mask;

	if (r->family != family || r->prefix > len * 8)
		return false;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	for (i = 0; i < full; i++)
		if (addr[i] != r->addr[i])
			return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == (r->addr[full] & mask);
}

int
profile_check_ip(const struct config_profile *profile, int family, const uint8_t *addr, size_t len)
{
	char show[INET6_ADDRSTRLEN];
	size_t i;

	if (addr == NULL || !((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)))
		return sd_error_set(SD_E_NAME_REFUSED, "IP address of %zu bytes (family %d) in profile %s", len,
		    family, profile_name(profile));
	for (i = 0; profile != NULL && i < profile->n_ip_ranges && i < CONFIG_LIST_MAX; i++)
		if (profile_ip_in_range(&profile->ip_ranges[i], family, addr, len))
			return 0;
	if (inet_ntop(family, addr, show, sizeof(show)) == NULL)
		(void)snprintf(show, sizeof(show), "(unprintable)");
	return sd_error_set(SD_E_NAME_REFUSED, "IP address %s is not in any IP range of profile %s", show,
	    profile_name(profile));
}

int
profile_check_ttl(const struct config_profile *profile, uint64_t requested, uint64_t *ttl)
{
	uint64_t want;

	*ttl = 0;
	want = requested != 0 ? requested : profile->default_ttl;
	if (want == 0)
		return sd_error_set(SD_E_TTL, "no lifetime requested and profile %s has no default", profile_name(profile));
	if (want > profile->max_ttl)
		return sd_error_set(SD_E_TTL, "%s lifetime of %llu s exceeds the maximum %llu s of profile %s",
		    requested != 0 ? "requested" : "default", (unsigned long long)want,
		    (unsigned long long)profile->max_ttl, profile_name(profile));
	*ttl = want;
	return 0;
}
