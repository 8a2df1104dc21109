#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "profile_check.h"

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
	size_t i;
	int rc;

	if ((rc = profile_check_dns_syntax(name, len)) != 0) {
		/* Copy first: the detail buffer is rewritten by sd_error_set(); a truncated copy is still useful. */
		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		return sd_error_set(rc, "%s (profile %s)", detail, profile_name(profile));
	}
	for (i = 0; profile != NULL && i < profile->n_dns_suffixes && i < CONFIG_LIST_MAX; i++)
		if (profile_dns_suffix_match(name, len, profile->dns_suffixes[i]))
			return 0;
	profile_show(name, len, show);
	return sd_error_set(SD_E_NAME_REFUSED, "DNS name \"%s\" is not under any DNS suffix of profile %s", show,
	    profile_name(profile));
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
		snprintf(show, sizeof(show), "(unprintable)");
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
