/*
 * Pure policy checks of a request against a profile: names and lifetimes.
 * Each refusal sets a detail naming the value and the profile.
 */
#ifndef SIGNER_PROFILE_CHECK_H
#define SIGNER_PROFILE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sd_error.h"

/*
 * DNS name syntax: LDH labels of 1-63 characters not starting or ending with
 * '-', separated by single dots, at most 253 characters, no NUL, no trailing
 * dot, no wildcard; a label starting "xn--" must be a valid IDNA2008 A-label
 * (profile_check_alabel()). Upper case is accepted. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_dns_syntax(const char *name, size_t len);

/*
 * One LDH label of len bytes (no NUL needed): when it starts "xn--" (any
 * case), it must be the A-label of a valid IDNA2008 U-label (libidn2, no
 * UTS #46 mapping), e.g. "xn--bcher-kva" but not "xn--zz". Other labels
 * pass. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_alabel(const char *label, size_t len);

/*
 * Whether name equals suffix or ends with "." suffix, ignoring ASCII case
 * ("example.com" matches "a.example.com" but not "badexample.com"). A leading
 * '.' on suffix is ignored; an empty suffix matches nothing.
 */
bool profile_dns_suffix_match(const char *name, size_t len, const char *suffix);

/*
 * name (len bytes, not necessarily NUL-terminated) is a syntactically valid
 * DNS name under one of profile's dns_suffixes. With profile->wildcards, a
 * name may also be "*." followed by a valid name of at least two labels
 * under a suffix (the '*' is a whole left-most label; never "*.com", never
 * "f*o.example.com"). Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_dns(const struct config_profile *profile, const char *name, size_t len);

/*
 * The address (family AF_INET with 4 bytes or AF_INET6 with 16) lies in one
 * of profile's ip_ranges of the same family. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_ip(const struct config_profile *profile, int family, const uint8_t *addr, size_t len);

#define PROFILE_SPIFFE_MAX 2048	/* bytes in a SPIFFE ID */

/*
 * SPIFFE ID syntax (SPIFFE ID specification): "spiffe://" then a trust
 * domain of 1-255 characters of a-z, 0-9, '.', '-', '_' (so no port,
 * userinfo or upper case), then a path of segments "/" [A-Za-z0-9.-_]+ that
 * are never "." or ".."; no empty segment, no trailing '/', no query or
 * fragment, no percent-encoding; at most PROFILE_SPIFFE_MAX bytes.
 * *td and *td_len (optional) locate the trust domain inside id; *has_path
 * (optional) tells whether a path follows it. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_spiffe_id(const char *id, size_t len, const char **td, size_t *td_len, bool *has_path);

/*
 * A URI SAN: an absolute URI of RFC 3986 characters (valid percent-encoding,
 * no space, NUL or control character) at most X509_SAN_NAME_MAX bytes; a
 * "spiffe:" URI must be a valid SPIFFE ID with a path. Allowed when it
 * starts with one of profile's uri_prefixes, or when it is a SPIFFE ID in
 * profile's spiffe_trust_domain. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_uri(const struct config_profile *profile, const char *uri, size_t len);

/*
 * An e-mail SAN: local-part "@" domain, ASCII only; the local part a
 * dot-atom of RFC 5322 atext (1-64 bytes), the domain a valid DNS name equal
 * (ignoring case) to one of profile's email_domains; at most 254 bytes.
 * Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_email(const struct config_profile *profile, const char *addr, size_t len);

/*
 * The subject key type (one enum config_key_type bit) is in profile's
 * key_types. Errors: SD_E_KEY_REFUSED.
 */
SD_WUR int profile_check_key_type(const struct config_profile *profile, unsigned key_type);

/*
 * The keyUsage bits to certify for a key_type subject key: the profile's
 * bits that the key type can carry (sd_config_key_usage_allowed(); e.g.
 * keyEncipherment is dropped for EC keys). Errors: SD_E_KEY_REFUSED when
 * none is left.
 */
SD_WUR int profile_key_usage(const struct config_profile *profile, unsigned key_type, unsigned *ku);

/*
 * The lifetime to issue: requested, or profile's default_ttl when 0; refused
 * when it is 0 or above max_ttl. Errors: SD_E_TTL.
 */
SD_WUR int profile_check_ttl(const struct config_profile *profile, uint64_t requested, uint64_t *ttl);

#endif
