/*
 * The issuance core, as the API sees it: the one narrow interface between
 * the network-facing side and the side that holds the HSM session.
 *
 * signer_issue(), signer_health() and the chain getters are thread-safe:
 * the API calls them from every worker thread at once.
 *
 * Requests and results are plain data with no foreign types: signerd
 * runs the signer as its own process, and signerd-front implements these
 * calls by sending them there (include/privsep.h). Calls made for a client
 * name it (the [client NAME] section its certificate matched, see
 * sd_config_client_match()), so that the signer process can check the
 * authorisation again; the signer core itself ignores it.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sd_error.h"

struct signer;

#define SIGNER_CSR_MAX (16 * 1024)	/* PEM or DER CSR bytes */
#define SIGNER_CHAIN_MAX 8

#define SIGNER_SAN_MAX 100		/* subjectAltNames in one request (CSR or body) */
#define SIGNER_SAN_VALUE_MAX 2048	/* bytes of one SAN value (a URI may be this long) */

enum signer_san_type {
	SIGNER_SAN_DNS = 1,	/* "host.example.com" or, if the profile allows, "*.example.com" */
	SIGNER_SAN_IP = 2,	/* textual IPv4 or IPv6 address, e.g. "10.0.0.1", "::1" */
	SIGNER_SAN_URI = 3,	/* e.g. "spiffe://example.com/ns/web" */
	SIGNER_SAN_EMAIL = 4,	/* "user@example.com" */
};

/* One subjectAltName named in the request body; value is borrowed, len bytes, no NUL required. */
struct signer_san {
	enum signer_san_type type;
	const char *value;
	size_t len;
};

/* One issuance request; the API has already authenticated and authorised the client. */
struct signer_request {
	const char *csr_pem;		/* PEM "CERTIFICATE REQUEST" */
	size_t csr_pem_len;
	const char *profile;
	uint64_t ttl;			/* seconds; 0 means the profile's default */
	const char *client;		/* the [client NAME] section the certificate matched */
	const char *client_subject;	/* RFC 4514 subject of the client certificate */
	uint8_t client_spki_sha256[32];
	/*
	 * SANs named in the body (n_sans <= SIGNER_SAN_MAX), or none. When given,
	 * they are the requested set and the CSR's own subjectAltName is ignored;
	 * either way every name is checked against the profile.
	 */
	const struct signer_san *sans;
	size_t n_sans;
	/*
	 * EST simplereenroll by a holder (RFC 7030 4.2.2): the serial (hex) of
	 * the signerd certificate the client authenticated with, client NULL.
	 * The signer issues only when that certificate is its own, current, of
	 * the same profile, held by the key client_spki_sha256 names, and the
	 * new certificate carries exactly its subject and subjectAltNames.
	 */
	const char *reenroll_serial;
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
 * SD_E_CSR_SIGNATURE (also a SHA-1 or weaker CSR signature), SD_E_TOO_LARGE,
 * SD_E_KEY_REFUSED (type, size, weak or blocklisted key, a CA key),
 * SD_E_NAME_REFUSED (a SAN or subject attribute outside the profile; for a
 * reenroll_serial, a subject or name set not the renewed certificate's),
 * SD_E_TTL, SD_E_FORBIDDEN (reenroll_serial: not a current signerd
 * certificate of this profile held by the client's key), SD_E_HSM,
 * SD_E_HSM_UNAVAILABLE, SD_E_JOURNAL, SD_E_JOURNAL_FULL, SD_E_QUOTA and
 * SD_E_BUSY (the HSM's queue is full or its wait ran out: [hsm] queue,
 * queue_wait_ms; before anything is parsed or journaled), both with
 * sd_error_retry_after(), SD_E_INTERNAL (also a failed pre-issuance lint,
 * "lint <name>: ..."), SD_E_NOMEM. Over the privsep channels also SD_E_BUSY
 * when no channel to the signer was free within 2 s.
 */
SD_WUR int signer_issue(struct signer *s, const struct signer_request *req, struct signer_result **out);
void signer_result_free(struct signer_result *r);

/* The issuing chain as PEM certificates (issuing CA first), borrowed. */
size_t signer_chain_count(const struct signer *s);
const char *signer_chain_pem(const struct signer *s, size_t i);

/* 0 when the HSM and the journal are usable; else the error, with a detail. */
SD_WUR int signer_health(struct signer *s);

/*
 * The front's account of the refusals a listener answered (every 4xx, by
 * problem type; README "Refusals"): count answers from window_start_ms on,
 * detail "<listener>: slug=count ..." (at most
 * SIGNER_API_REFUSALS_DETAIL_MAX bytes, made printable). Journaled as a
 * refusal summary (type 5) whose detail starts "api ". At most one a
 * SIGNER_API_REFUSALS_MIN_MS per listener name is taken: the front's word
 * cannot fill the journal. Errors: SD_E_INVAL (count 0, a window in the
 * future), SD_E_QUOTA (too soon), SD_E_CONFIG (no journal), those of the journal.
 */
#define SIGNER_API_REFUSALS_DETAIL_MAX 480
#define SIGNER_API_REFUSALS_MIN_MS 10000
SD_WUR int signer_api_refusals(struct signer *s, int64_t window_start_ms, uint64_t count, const char *detail);

/*
 * The signer's metrics in the Prometheus text format (new string, at most
 * SD_METRICS_TEXT_MAX bytes): issuances by profile and client, failures by
 * reason, quota refusals, issuance, HSM signature and journal commit
 * latency, HSM sessions, journal size and fill, last checkpoint age.
 * client is the auditor or admin asking (its [client] name). Errors: SD_E_NOMEM, SD_E_TOO_LARGE.
 */
SD_WUR int signer_metrics(struct signer *s, const char *client, char **text);

/*
 * signerd's lifecycle in the journal: a start record with the SHA-256 of
 * the configuration file's bytes (config, len: the bytes signerd parsed),
 * then the checkpointer (when [journal] audit_key is set); at stop, a stop
 * record and a last checkpoint.
 * Errors: SD_E_CRYPTO, SD_E_JOURNAL, SD_E_JOURNAL_FULL, SD_E_HSM, SD_E_NOMEM.
 */
SD_WUR int signer_service_start(struct signer *s, const void *config, size_t len);
SD_WUR int signer_service_stop(struct signer *s);

/*
 * A live reload (SIGHUP), in two steps so that nothing can fail once the
 * front has applied the new file: prepare builds what next needs (quota
 * and counters, carried over by client and profile name; the key
 * blocklist, read again); commit swaps it in and cannot fail, and no other
 * call of s may run during it; abort drops it. next has passed
 * sd_config_reload_check() and must outlive s, or the next reload's commit.
 * Then signer_service_reload() journals the new file's SHA-256 (config,
 * len: its bytes). Errors: SD_E_NOMEM, SD_E_CONFIG (blocklist), SD_E_IO;
 * signer_service_reload: as signer_service_start().
 */
struct signer_reload;
SD_WUR int signer_reload_prepare(const struct signer *s, const struct sd_config *next, struct signer_reload **out);
void signer_reload_commit(struct signer *s, struct signer_reload *r);
void signer_reload_abort(struct signer_reload *r);
SD_WUR int signer_service_reload(struct signer *s, const void *config, size_t len);

/*
 * Revocation status for relying parties (README "Revocation"): public,
 * no client named. Thread-safe.
 */
#define SIGNER_CRL_MAX (16u * 1024 * 1024)	/* bytes of a CRL */
#define SIGNER_OCSP_REQUEST_MAX 8192		/* bytes of a DER OCSPRequest */
#define SIGNER_OCSP_RESPONSE_MAX (64 * 1024)	/* bytes of a DER OCSPResponse */

struct signer_crl {
	uint8_t *der;
	size_t len;
	uint64_t number;			/* its cRLNumber */
	uint64_t base_number;			/* a delta CRL: the complete CRL it completes; 0: complete */
	int64_t this_update, next_update;	/* Unix seconds */
};

/*
 * The issuing CA's current complete CRL, signed in the HSM and journaled
 * (a CRL record) before it is first returned; it is signed again after
 * revocations ([ca] crl_delay) and once half its validity has passed.
 * Errors: SD_E_HSM_UNAVAILABLE, SD_E_HSM (no CRL could be signed yet),
 * SD_E_JOURNAL, SD_E_JOURNAL_FULL, SD_E_NOMEM.
 */
SD_WUR int signer_crl(struct signer *s, struct signer_crl **out);
void signer_crl_free(struct signer_crl *c);

/*
 * The current delta CRL ([ca] delta_crl_validity set): the revocations since
 * the current complete CRL (its base), numbered in the same sequence, made
 * again after revocations ([ca] crl_delay), with every new complete CRL,
 * and once half its validity has passed. Errors: SD_E_NOT_FOUND (delta CRLs
 * are off), those of signer_crl().
 */
SD_WUR int signer_crl_delta(struct signer *s, struct signer_crl **out);

struct signer_ocsp {
	uint8_t *der;				/* a DER OCSPResponse: successful or an error status */
	size_t len;
	bool successful;			/* responseStatus successful (a signed answer) */
	int64_t this_update, next_update;	/* successful: of its answers (the earliest next_update) */
	bool has_nonce;				/* successful: it echoes the request's nonce (not cacheable) */
};

/*
 * Answer the DER OCSPRequest req (len <= SIGNER_OCSP_REQUEST_MAX bytes)
 * for the issuing CA: good, revoked or unknown for each CertID, signed by
 * the delegated responder key in the HSM ([ca] ocsp_key). Answers without
 * a nonce come from a cache of pre-signed responses refreshed ahead of
 * expiry; fresh signatures (a nonce, a miss) are limited to [ca]
 * ocsp_signatures_per_second, past which the answer is tryLater. Every
 * refusal is an OCSPResponse too: malformedRequest, unauthorized (no
 * responder, or a CertID of another issuer), tryLater (the HSM is away or
 * the budget spent), internalError. Errors (no answer at all): SD_E_NOMEM.
 */
SD_WUR int signer_ocsp(struct signer *s, const uint8_t *req, size_t len, struct signer_ocsp **out);
void signer_ocsp_free(struct signer_ocsp *o);

/*
 * The auditor role's view of the journal: plain data, thread-safe. client
 * is the auditor's [client NAME] section.
 */
#define SIGNER_AUDIT_RECORDS_MAX 100	/* records in one answer */
#define SIGNER_AUDIT_PROOF_MAX 128

struct signer_audit_record {
	uint64_t seq;
	const char *type;		/* static: "intent", "result", ... */
	int64_t time_ms;
	char hash_hex[65];		/* SHA-256 of the record */
	char leaf_hash_hex[65];		/* RFC 9162 leaf hash */
	char *record_b64;		/* the encoded record, base64 */
};

struct signer_audit_records {
	struct signer_audit_record *items;
	size_t n;
	uint64_t last_seq;		/* records in the journal now */
};

/*
 * At most limit (<= SIGNER_AUDIT_RECORDS_MAX) records from seq from on.
 * Errors: SD_E_INVAL (limit), SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int signer_audit_records(struct signer *s, const char *client, uint64_t from, size_t limit, struct signer_audit_records **out);
void signer_audit_records_free(struct signer_audit_records *r);

/* The latest signed checkpoint (C2SP text, new string) and its record seq. Errors: SD_E_NOT_FOUND, SD_E_JOURNAL. */
SD_WUR int signer_audit_checkpoint(struct signer *s, const char *client, char **note, uint64_t *seq);

struct signer_audit_proof {
	uint64_t intent_seq;
	uint64_t seq;			/* the record proven: the result (or the intent when none) */
	uint64_t leaf_index;		/* seq - 1 */
	uint64_t tree_size;		/* of the checkpoint */
	uint64_t checkpoint_seq;
	char leaf_hash_hex[65];
	char hashes_hex[SIGNER_AUDIT_PROOF_MAX][65];	/* RFC 9162 inclusion path, leaf first */
	size_t n;
	char *checkpoint;		/* the checkpoint text the proof leads to */
};

/*
 * Inclusion proof for the certificate with serial serial_hex against the
 * latest checkpoint. Errors: SD_E_INVAL (not hex), SD_E_NOT_FOUND (unknown
 * serial, or not yet covered by a checkpoint), SD_E_JOURNAL, SD_E_NOMEM.
 */
SD_WUR int signer_audit_proof(struct signer *s, const char *client, const char *serial_hex, struct signer_audit_proof **out);
void signer_audit_proof_free(struct signer_audit_proof *p);

/*
 * The certificate inventory (README "Certificate index"): the index beside
 * the journal, as plain data; thread-safe. Times are Unix seconds in
 * queries and RFC 3339 (UTC) in answers.
 */
#define SIGNER_CERTS_LIMIT_DEFAULT 100
#define SIGNER_CERTS_LIMIT_MAX 1000	/* items in one page */
#define SIGNER_CERTS_SCAN_MAX 10000	/* index entries one page looks at */
#define SIGNER_CERTS_CURSOR_MAX 128	/* characters of a cursor */
#define SIGNER_CERTS_FILTER_MAX 1024	/* bytes of one filter value */
#define SIGNER_CERTS_PAGE_BYTES (4u * 1024 * 1024)	/* a page ends early past this much index data */

struct signer_cert_san {
	enum signer_san_type type;
	char *value;			/* textual (an IP as inet_ntop() writes it) */
};

struct signer_cert {
	char serial_hex[41];		/* lower-case hex */
	char *profile;
	char *client;			/* the requester's certificate subject, as journaled */
	char client_spki_sha256_hex[65];
	char issued[32];		/* RFC 3339: when its result was journaled */
	char not_before[32];		/* RFC 3339, "" when the certificate did not parse */
	char not_after[32];
	const char *status;		/* static: "valid", "expired", "unknown" or "revoked" */
	uint64_t journal_seq;		/* its result record */
	uint64_t intent_seq;
	struct signer_cert_san *sans;
	size_t n_sans;
	char *cert_pem;			/* signer_cert_get() only; else NULL */
};

struct signer_certs_query {
	const char *profile;		/* NULL: any; else at most SIGNER_CERTS_FILTER_MAX bytes */
	const char *client;		/* the requester's subject as journaled (RFC 4514) */
	const char *san;		/* exact SAN value, any type */
	bool has_valid_at;
	int64_t valid_at;		/* not_before <= valid_at <= not_after */
	bool has_expires_before;
	int64_t expires_before;		/* not_after < expires_before */
	const char *cursor;		/* the previous page's next_cursor, or NULL */
	size_t limit;			/* 1 .. SIGNER_CERTS_LIMIT_MAX */
};

struct signer_certs {
	struct signer_cert *items;
	size_t n;
	char *next_cursor;		/* NULL at the end */
};

/*
 * One page of certificates (at most SIGNER_CERTS_SCAN_MAX index entries
 * looked at, about SIGNER_CERTS_PAGE_BYTES of them kept: a page may hold
 * fewer than limit and still have a cursor).
 * client is the caller's [client] section name (the signer re-checks its
 * role: auditor or admin).
 * Errors: SD_E_INVAL (limit, a filter too long, a cursor not from these
 * filters), SD_E_NOT_FOUND (no certificate index yet), SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int signer_certs_list(struct signer *s, const char *client, const struct signer_certs_query *q,
    struct signer_certs **out);
void signer_certs_free(struct signer_certs *c);

/* Who asks for one certificate. */
struct signer_caller {
	const char *client;		/* the caller's [client] section name (the signer re-checks its role) */
	const char *subject;		/* RFC 4514 subject of the caller's certificate */
	uint8_t spki_sha256[32];	/* SHA-256 of its SubjectPublicKeyInfo */
};

/*
 * The certificate with serial serial_hex, as PEM with who requested it.
 * An auditor or admin reads any; an issuer only one it requested (the
 * journaled client subject and key hash are its own): any other is
 * SD_E_NOT_FOUND, exactly as an unknown serial, so that serials of other
 * clients are not disclosed. The signer decides this from its own
 * configuration.
 * Errors: SD_E_INVAL (not 1..20 bytes of hex), SD_E_NOT_FOUND, SD_E_INTERNAL
 * (the caller holds none of the three roles), SD_E_JOURNAL,
 * SD_E_JOURNAL_CORRUPT, SD_E_NOMEM.
 */
SD_WUR int signer_cert_get(struct signer *s, const struct signer_caller *caller, const char *serial_hex,
    struct signer_cert **out);
void signer_cert_free(struct signer_cert *c);

#define SIGNER_REVOKE_DETAIL_MAX 512	/* bytes of a revocation's free text */

/* What a revocation answers. */
struct signer_revocation {
	char serial_hex[41];		/* lower-case hex */
	char revoked_at[32];		/* RFC 3339 */
	uint8_t reason;			/* RFC 5280 CRLReason (enum journal_crl_reason) */
	bool already;			/* revoked before this request: the original time and reason */
	uint64_t journal_seq;		/* its revocation record */
};

/*
 * Revoke the certificate with serial serial_hex for reason, journaled
 * durably before it answers. A revoker or admin revokes any certificate;
 * any other client only one whose key is its own (it authenticated with
 * that key: self-revocation); for anyone else the answer is the same
 * whether the serial exists or not. A certificate revoked before is
 * answered with the original time and reason (out->already), nothing new
 * journaled. certificateHold (6) and removeFromCRL (8) are refused: a
 * revocation here is final. detail (optional, at most
 * SIGNER_REVOKE_DETAIL_MAX bytes) is journaled with it.
 * Errors: SD_E_INVAL (serial not 1..20 bytes of hex, reason), SD_E_FORBIDDEN,
 * SD_E_NOT_FOUND (no certificate has this serial), SD_E_JOURNAL,
 * SD_E_JOURNAL_FULL, SD_E_NOMEM.
 */
SD_WUR int signer_revoke(struct signer *s, const struct signer_caller *caller, const char *serial_hex, uint8_t reason,
    const char *detail, struct signer_revocation *out);

/*
 * ACME (RFC 8555, renewal information RFC 9773; README "ACME and EST").
 * The protocol runs here, in the signer: the JWS of every request is
 * verified, nonces and state are kept, and certificates are issued with
 * signer_issue()'s policy, lints and journal. The front carries requests
 * and answers unchanged and runs the challenge validations the answers
 * ask for (it holds the network). Thread-safe.
 */
#define SIGNER_ACME_BODY_MAX (64 * 1024)	/* bytes of a request's JWS */
#define SIGNER_ACME_BASE_MAX 512		/* bytes of "https://host[:port]" */
#define SIGNER_ACME_PARAM_MAX 256		/* bytes of a path's {id} (ids, certIDs) */
#define SIGNER_ACME_URL_MAX 1024		/* bytes of a URL in an answer's headers */
#define SIGNER_ACME_LINKS_MAX 4
#define SIGNER_ACME_ANSWER_MAX (256 * 1024)	/* bytes of an answer's body (a certificate chain) */

/* What the request's path names: /acme/{profile}/... */
enum signer_acme_op {
	SIGNER_ACME_DIRECTORY = 1,		/* GET directory */
	SIGNER_ACME_NEW_NONCE = 2,		/* HEAD or GET new-nonce */
	SIGNER_ACME_NEW_ACCOUNT = 3,		/* POST new-account */
	SIGNER_ACME_ACCOUNT = 4,		/* POST acct/{id} */
	SIGNER_ACME_KEY_CHANGE = 5,		/* POST key-change */
	SIGNER_ACME_NEW_ORDER = 6,		/* POST new-order */
	SIGNER_ACME_ORDER = 7,			/* POST order/{id} */
	SIGNER_ACME_FINALIZE = 8,		/* POST order/{id}/finalize */
	SIGNER_ACME_AUTHZ = 9,			/* POST authz/{id} */
	SIGNER_ACME_CHALLENGE = 10,		/* POST chall/{id} */
	SIGNER_ACME_CERT = 11,			/* POST cert/{id} */
	SIGNER_ACME_REVOKE = 12,		/* POST revoke-cert */
	SIGNER_ACME_RENEWAL_INFO = 13,		/* GET renewal-info/{certID} */
	SIGNER_ACME_ORDERS = 14,		/* POST acct/{id}/orders[/{cursor}]: the id is "{id}[/{cursor}]" */
};
#define SIGNER_ACME_OP_MAX 14

struct signer_acme_request {
	enum signer_acme_op op;
	const char *profile;			/* the directory's profile */
	const char *base;			/* "https://host[:port]" as the client addressed signerd (Host) */
	const char *id;				/* the path's {id}, or NULL */
	bool head;				/* HEAD: the answer's body is not sent */
	const uint8_t *body;			/* POST: the flattened JWS; else NULL */
	size_t body_len;
};

#define SIGNER_ACME_NAME_MAX 253		/* a DNS identifier */
#define SIGNER_ACME_TOKEN_MAX 64
#define SIGNER_ACME_KEYAUTH_MAX 128

/* A challenge the front must validate, then report with signer_acme_validated(). */
struct signer_acme_validation {
	char challenge[SIGNER_ACME_PARAM_MAX + 1];	/* its id */
	char type[16];					/* "http-01" or "tls-alpn-01" */
	char name[SIGNER_ACME_NAME_MAX + 1];		/* the DNS identifier */
	char token[SIGNER_ACME_TOKEN_MAX + 1];
	char key_authorization[SIGNER_ACME_KEYAUTH_MAX + 1];
};

struct signer_acme_answer {
	unsigned status;			/* HTTP status */
	const char *content_type;		/* static; NULL: no body */
	char *body;
	size_t body_len;
	char location[SIGNER_ACME_URL_MAX + 1];	/* "" : none */
	char links[SIGNER_ACME_LINKS_MAX][SIGNER_ACME_URL_MAX + 32];	/* whole Link values: <url>;rel="index" */
	size_t n_links;
	char nonce[64];				/* Replay-Nonce, "" : none */
	unsigned retry_after;			/* seconds, 0: none */
	bool validate;				/* the front runs validation, then signer_acme_validated() */
	struct signer_acme_validation validation;
};

/*
 * Serve one ACME request. Every outcome, refusals included, is an answer
 * (an RFC 8555 problem document for errors), so only a failure to answer
 * at all is an error. Errors: SD_E_NOMEM, SD_E_INVAL (req out of bounds).
 */
SD_WUR int signer_acme(struct signer *s, const struct signer_acme_request *req, struct signer_acme_answer **out);
void signer_acme_answer_free(struct signer_acme_answer *a);

/*
 * The outcome of a validation an answer asked for: error_type NULL when it
 * succeeded, else the ACME problem type's last part ("connection",
 * "incorrectResponse", "tls", "dns") and a detail (at most 512 bytes).
 * Errors: SD_E_NOT_FOUND (no such challenge being validated), SD_E_JOURNAL,
 * SD_E_JOURNAL_FULL, SD_E_NOMEM.
 */
SD_WUR int signer_acme_validated(struct signer *s, const char *profile, const char *challenge,
    const char *error_type, const char *detail);

#endif
