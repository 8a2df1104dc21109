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
 * dot, no wildcard. Upper case is accepted. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_dns_syntax(const char *name, size_t len);

/*
 * Whether name equals suffix or ends with "." suffix, ignoring ASCII case
 * ("example.com" matches "a.example.com" but not "badexample.com"). A leading
 * '.' on suffix is ignored; an empty suffix matches nothing.
 */
bool profile_dns_suffix_match(const char *name, size_t len, const char *suffix);

/*
 * name (len bytes, not necessarily NUL-terminated) is a syntactically valid
 * DNS name under one of profile's dns_suffixes. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_dns(const struct config_profile *profile, const char *name, size_t len);

/*
 * The address (family AF_INET with 4 bytes or AF_INET6 with 16) lies in one
 * of profile's ip_ranges of the same family. Errors: SD_E_NAME_REFUSED.
 */
SD_WUR int profile_check_ip(const struct config_profile *profile, int family, const uint8_t *addr, size_t len);

/*
 * The lifetime to issue: requested, or profile's default_ttl when 0; refused
 * when it is 0 or above max_ttl. Errors: SD_E_TTL.
 */
SD_WUR int profile_check_ttl(const struct config_profile *profile, uint64_t requested, uint64_t *ttl);

#endif
