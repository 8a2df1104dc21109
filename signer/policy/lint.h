/*
 * Pre-issuance lints: the TBSCertificate about to be signed is parsed back
 * and checked against the RFC 5280 profile rules signerd enforces and the
 * profile it was built for. Nothing is signed unless every lint passes. The
 * lints read the TBS itself: no throwaway signature is needed. Its fields
 * are parsed one by one (the subject public key is read from its bytes,
 * never decoded), which keeps the lints cheap enough for every issuance.
 */
#ifndef SIGNER_LINT_H
#define SIGNER_LINT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "sd_error.h"

/* Serial numbers: at least this many content octets (so at least 64 random bits fit), at most 20. */
#define LINT_SERIAL_MIN 9
/* Clock slack, in seconds, allowed between the builder's "now" and notBefore + backdate. */
#define LINT_CLOCK_SLACK 5

struct lint_input {
	const uint8_t *tbs;		/* DER TBSCertificate */
	size_t tbs_len;
	const struct config_profile *profile;
	time_t now;			/* the issuance time the TBS was built for */
	time_t ca_not_after;		/* issuing CA's notAfter */
	const uint8_t *ca_keyid;	/* expected authorityKeyIdentifier keyIdentifier */
	size_t ca_keyid_len;
};

/*
 * Run every lint on in->tbs. The lints, by name:
 *   tbs_der            a v3 TBSCertificate in DER: strict TLV headers, each field
 *                      parses and re-encodes to its own bytes, no unique identifiers,
 *                      a non-empty extension list when present, critical flags
 *                      absent or 0xff, nothing trailing
 *   serial             positive, LINT_SERIAL_MIN to 20 content octets
 *   validity           notBefore < notAfter; notBefore = now - backdate (+/- slack);
 *                      lifetime <= max_ttl + backdate; notAfter <= the CA's; UTCTime
 *                      before 2050, GeneralizedTime from 2050
 *   subject_key        the subject key is the canonical encoding of a type in the
 *                      profile's key_types (csr_spki_key_type())
 *   subject            non-empty subject, or a critical SAN; a CA has a non-empty subject
 *   san                present (leaf), not empty, critical iff the subject is empty
 *   basic_constraints  present, critical, cA equal to the profile's ca, pathLen only
 *                      on a CA and equal to the profile's path_len
 *   key_usage          present, critical, consistent with the key type (no
 *                      keyEncipherment for EC or Ed25519 keys, no keyAgreement for
 *                      RSA or Ed25519); keyCertSign iff CA, no cRLSign on a leaf
 *   ext_key_usage      present and not critical on a leaf; never anyExtendedKeyUsage
 *   ski                present, not critical, the RFC 5280 method 1 hash of the key
 *   aki                present, not critical, keyIdentifier only, equal to the CA's
 *   name_constraints   only on a CA, critical
 *   duplicate_extension  no extension appears twice
 *   extensions         no extension signerd does not make; CRL DP and AIA not critical
 * Errors: SD_E_INTERNAL with "lint <name>: <what>" as the detail (the first
 * failure), SD_E_NOMEM.
 */
SD_WUR int lint_tbs(const struct lint_input *in);

#endif
