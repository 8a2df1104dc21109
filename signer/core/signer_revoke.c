/*
 * Revoking a certificate (signer_revoke() in signer.h): who may, which
 * reasons a final revocation can carry, the journal record, and the answer
 * to a repeat.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sd_crl_reason.h"
#include "sd_file.h"
#include "sd_time.h"
#include "signer_revoke.h"

bool
signer_cert_holds_key(const uint8_t *der, size_t len, const uint8_t spki_sha256[32])
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	unsigned char *spki = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int n;
	bool same = false;

	if (x != NULL && (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) > 0 &&
	    EVP_Digest(spki, (size_t)n, md, &md_len, EVP_sha256(), NULL) == 1 && md_len == 32)
		same = CRYPTO_memcmp(md, spki_sha256, 32) == 0;
	OPENSSL_free(spki);
	X509_free(x);
	return same;
}

/* The answer from a revocation record. */
static void
signer_revoke_answer(const struct journal_record *rec, const char *serial_hex, bool already,
    struct signer_revocation *out)
{
	(void)snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", serial_hex);
	if (sd_time_format(rec->time_ms / 1000, out->revoked_at) != 0)
		out->revoked_at[0] = '\0';
	out->reason = rec->revocation_reason;
	out->already = already;
	out->journal_seq = rec->seq;
}

/*
 * The revocation of serial_hex on j, journaled with who and who_spki as the
 * requester. holder non-NULL: only a certificate of the key whose SPKI
 * hashes to it may be revoked (client names the requester in the refusal).
 */
static int
signer_revoke_run(struct journal *j, const char *serial_hex, uint8_t reason, const char *detail, const char *who,
    const uint8_t who_spki[JOURNAL_HASH_LEN], const uint8_t *holder, const char *client,
    struct signer_revocation *out)
{
	struct journal_record *existing = NULL;
	struct journal_revocation in;
	struct journal_cert *jc = NULL;
	uint8_t serial[JOURNAL_SERIAL_MAX];
	char hex[2 * JOURNAL_SERIAL_MAX + 1];
	size_t len;
	struct timespec now;
	uint64_t seq = 0;
	int rc;

	if (sd_hex_decode(serial_hex, serial, sizeof(serial), &len) != 0)
		return sd_error_set(SD_E_INVAL, "serial \"%.48s\" is not 1..%d bytes of hex", serial_hex, JOURNAL_SERIAL_MAX);
	if ((rc = sd_crl_reason_final(reason)) != 0)
		return rc;
	sd_hex_encode(serial, len, hex);
	if ((rc = journal_cert_get(j, serial, len, &jc)) != 0 && rc != SD_E_NOT_FOUND)
		return rc;
	/* Someone else's certificate and an unknown serial look the same to a client without the role. */
	if (holder != NULL && (rc != 0 || !signer_cert_holds_key(jc->cert_der, jc->cert_der_len, holder))) {
		rc = sd_error_set(SD_E_FORBIDDEN, "client \"%.64s\" may revoke only a certificate of its own key "
		    "(the revoker or admin role revokes any)", client);
		goto out;
	}
	if (rc != 0) {
		rc = sd_error_set(SD_E_NOT_FOUND, "no certificate has serial %s", hex);
		goto out;
	}
	memset(&in, 0, sizeof(in));
	if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "no clock");
		goto out;
	}
	in.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	in.serial = serial;
	in.serial_len = len;
	in.reason = reason;
	in.client_subject = who;
	memcpy(in.client_spki_sha256, who_spki, JOURNAL_HASH_LEN);
	in.detail = detail;
	rc = journal_revoke(j, &in, &seq, &existing);
	if (rc != 0 && existing != NULL) {
		signer_revoke_answer(existing, hex, true, out);
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	/* The answer says what was journaled: the record as it went in, under its seq. */
	{
		struct journal_record rec = { .time_ms = in.time_ms, .revocation_reason = reason, .seq = seq };

		signer_revoke_answer(&rec, hex, false, out);
	}
out:
	journal_record_free(existing);
	journal_cert_free(jc);
	return rc;
}

int
signer_revoke_journal(struct journal *j, const struct sd_config *cfg, const struct signer_caller *caller,
    const char *serial_hex, uint8_t reason, const char *detail, struct signer_revocation *out)
{
	const struct config_client *cl;
	bool any;

	memset(out, 0, sizeof(*out));
	if (j == NULL || cfg == NULL || caller == NULL || caller->client == NULL || serial_hex == NULL)
		return sd_error_set(SD_E_INTERNAL, "signer_revoke: NULL argument");
	if ((cl = sd_config_client_by_name(cfg, caller->client)) == NULL)
		return sd_error_set(SD_E_INTERNAL, "client \"%.64s\" is not configured", caller->client);
	any = (cl->roles & (CONFIG_ROLE_REVOKER | CONFIG_ROLE_ADMIN)) != 0;
	return signer_revoke_run(j, serial_hex, reason, detail,
	    caller->subject != NULL ? caller->subject : caller->client, caller->spki_sha256,
	    any ? NULL : caller->spki_sha256, caller->client, out);
}

int
signer_revoke_journal_as(struct journal *j, const char *serial_hex, uint8_t reason, const char *who,
    struct signer_revocation *out)
{
	/* No client certificate stands behind who: its key hash is journaled as zeros. */
	static const uint8_t none[JOURNAL_HASH_LEN];

	memset(out, 0, sizeof(*out));
	if (j == NULL || serial_hex == NULL || who == NULL)
		return sd_error_set(SD_E_INTERNAL, "signer_revoke_journal_as: NULL argument");
	return signer_revoke_run(j, serial_hex, reason, NULL, who, none, NULL, who, out);
}
