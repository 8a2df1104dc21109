#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "revocation_crl.h"
#include "sd_log.h"
#include "x509/crl.h"

/* What a CRL lists, gathered from the revocations index. */
struct revocation_crl_list {
	const struct sd_config *cfg;
	int64_t now;
	int64_t since_ms;		/* a delta: revoked at or after this; else 0 */
	struct crl_entry *items;
	size_t n, cap;
};

static int
revocation_crl_add(const uint8_t *serial, size_t len, const struct journal_serial_state *st, void *ctx)
{
	struct revocation_crl_list *l = ctx;
	struct crl_entry *e, *grown;
	size_t cap;

	/* RFC 5280 3.3 lets an entry go once its certificate expires; a short-lived one is never listed. */
	if (st->parsed && (st->not_after < l->now || sd_config_short_lived(l->cfg, st->not_after - st->not_before)))
		return 0;
	if (st->revoked_ms < l->since_ms)
		return 0;
	if (len == 0 || len > CRL_SERIAL_MAX)
		return sd_error_set(SD_E_JOURNAL_CORRUPT, "a revoked serial of %zu bytes", len);
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : 2 * l->cap;
		if ((grown = realloc(l->items, cap * sizeof(*grown))) == NULL)
			return SD_E_NOMEM;
		l->items = grown;
		l->cap = cap;
	}
	e = &l->items[l->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->serial, serial, len);
	e->serial_len = len;
	e->revoked_at = st->revoked_ms / 1000;
	e->reason = st->revocation_reason;
	return 0;
}

/* Sign the CRL numbered number over l and journal it; SD_E_INVAL from the journal means the number was taken. */
static int
revocation_crl_sign(struct journal *j, const struct sd_config *cfg, struct hsm_key *key, const struct ca *ca,
    const struct revocation_crl_list *l, const struct signer_crl *base, uint64_t number, struct signer_crl *c)
{
	struct crl_params p;
	struct journal_crl rec;
	unsigned int md_len = 0;
	uint64_t seq = 0;
	int rc;

	memset(&p, 0, sizeof(p));
	p.issuer = ca->cert;
	p.number = number;
	p.this_update = l->now;
	p.next_update = l->now + (int64_t)(base != NULL ? cfg->ca_delta_crl_validity : cfg->ca_crl_validity);
	p.entries = l->items;
	p.n_entries = l->n;
	p.delta = base != NULL;
	p.base_number = base != NULL ? base->number : 0;
	p.freshest_url = cfg->ca_delta_crl_validity > 0 ? cfg->ca_delta_crl_url : NULL;
	if ((rc = crl_sign(key, ca->sigalg, &p, ca->pubkey, &c->der, &c->len)) != 0)
		return rc;
	if (c->len > SIGNER_CRL_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "the CRL is %zu bytes, over %u", c->len, SIGNER_CRL_MAX);
	memset(&rec, 0, sizeof(rec));
	rec.number = number;
	rec.base_number = p.base_number;
	rec.this_update = p.this_update;
	rec.next_update = p.next_update;
	rec.entries = l->n;
	if (EVP_Digest(c->der, c->len, rec.sha256, &md_len, EVP_sha256(), NULL) != 1 || md_len != sizeof(rec.sha256))
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of the CRL failed");
	if ((rc = journal_crl_append(j, &rec, &seq)) != 0)
		return rc;
	c->number = number;
	c->base_number = p.base_number;
	c->this_update = p.this_update;
	c->next_update = p.next_update;
	return 0;
}

int
revocation_crl_make(struct journal *j, const struct sd_config *cfg, struct hsm_key *key, const struct ca *ca,
    int64_t now, const struct signer_crl *base, struct signer_crl **out)
{
	struct revocation_crl_list l = { .cfg = cfg, .now = now };
	struct signer_crl *c = NULL;
	uint64_t last = 0, seq = 0;
	int rc, tries;

	*out = NULL;
	if (base != NULL && (base->base_number != 0 || cfg->ca_delta_crl_validity == 0))
		return sd_error_set(SD_E_INVAL, "a delta CRL needs a complete base and [ca] delta_crl_validity");
	if (base != NULL)
		l.since_ms = (base->this_update - REVOCATION_DELTA_MARGIN) * 1000;
	if ((rc = journal_revoked_foreach(j, revocation_crl_add, &l)) != 0)
		goto out;
	/* signerctl crl may journal a CRL at the same time: the journal keeps numbers unique, a loser takes the next. */
	for (tries = 0; tries < 3; tries++) {
		signer_crl_free(c);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		if ((rc = journal_crl_last(j, &last, &seq)) != 0)
			goto out;
		if (last == UINT64_MAX) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "the last CRL number is the largest there is");
			goto out;
		}
		if ((rc = revocation_crl_sign(j, cfg, key, ca, &l, base, last + 1, c)) != SD_E_INVAL)
			break;
	}
	if (rc != 0)
		goto out;
	sd_log(SD_LOG_INFO, "%s %llu signed: %zu entries, next update in %lld s", base != NULL ? "delta CRL" : "CRL",
	    (unsigned long long)c->number, l.n, (long long)(c->next_update - c->this_update));
	*out = c;
	c = NULL;
out:
	signer_crl_free(c);
	free(l.items);
	return rc;
}

void
signer_crl_free(struct signer_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c);
}
