/*
 * The issuance core, as the API sees it: the one narrow interface between
 * the network-facing side and the side that holds the HSM session.
 *
 * signer_issue(), signer_health() and the chain getters are thread-safe:
 * the API calls them from every worker thread at once.
 *
 * Requests and results are plain data with no foreign types, so that the
 * signer can later run as a separate privileged process with these structs
 * serialised over a socket, without either side changing.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sd_error.h"

struct signer;

#define SIGNER_CSR_MAX (16 * 1024)	/* PEM or DER CSR bytes */
#define SIGNER_CHAIN_MAX 8

/* One issuance request; the API has already authenticated and authorised the client. */
struct signer_request {
	const char *csr_pem;		/* PEM "CERTIFICATE REQUEST" */
	size_t csr_pem_len;
	const char *profile;
	uint64_t ttl;			/* seconds; 0 means the profile's default */
	const char *client_subject;	/* RFC 4514 subject of the client certificate */
	uint8_t client_spki_sha256[32];
};

struct signer_result {
	char serial_hex[41];		/* lower-case hex, no leading "0x" */
	char *cert_pem;
	char not_after[32];		/* RFC 3339, UTC, e.g. "2026-11-23T18:00:00Z" */
	uint64_t journal_seq;
};

/*
 * Open the HSM, find the issuing key, load and check the chain (the key must
 * match the issuing certificate), open the journal.
 * Errors: any of hsm_open(), hsm_key_find(), journal_open(); SD_E_CONFIG
 * when the chain is missing or does not match the key.
 */
SD_WUR int signer_open(const struct sd_config *cfg, struct signer **out);
void signer_close(struct signer *s);

/*
 * Check the CSR against the profile, build and sign the certificate in the
 * HSM, verify it with the CA public key, journal it durably, then return it.
 * On any failure nothing is journaled and nothing is returned.
 * Errors (with sd_error_detail()): SD_E_PROFILE_UNKNOWN, SD_E_CSR,
 * SD_E_CSR_SIGNATURE, SD_E_TOO_LARGE, SD_E_KEY_REFUSED, SD_E_NAME_REFUSED,
 * SD_E_TTL, SD_E_HSM, SD_E_HSM_UNAVAILABLE, SD_E_JOURNAL, SD_E_JOURNAL_FULL,
 * SD_E_INTERNAL, SD_E_NOMEM.
 */
SD_WUR int signer_issue(struct signer *s, const struct signer_request *req, struct signer_result **out);
void signer_result_free(struct signer_result *r);

/* The issuing chain as PEM certificates (issuing CA first), borrowed. */
size_t signer_chain_count(const struct signer *s);
const char *signer_chain_pem(const struct signer *s, size_t i);

/* 0 when the HSM and the journal are usable; else the error, with a detail. */
SD_WUR int signer_health(struct signer *s);

#endif
