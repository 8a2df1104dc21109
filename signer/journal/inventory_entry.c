/*
 * A certificate index entry: derived from journal records, encoded as the
 * inv_certs value, decoded back, and the keys it is found under
 * (inventory.h gives the byte layout).
 */
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "journal_internal.h"

#define INV_ENTRY_VERSION 1
#define INV_FLAG_PARSED 0x01
#define INV_FIXED_LEN (3 + JOURNAL_SERIAL_MAX + 5 * 8 + JOURNAL_HASH_LEN)

void
journal_cert_free(struct journal_cert *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	free(c->profile);
	free(c->client_subject);
	free(c->cert_der);
	free(c);
}

const char *
journal_cert_status(const struct journal_cert *c, int64_t now)
{
	if (c->revoked)
		return "revoked";
	if (!c->parsed)
		return "unknown";
	return now > c->not_after ? "expired" : "valid";
}

int
inv_entry_base(const struct journal_record *res, uint64_t seq, const struct journal_record *intent,
    struct journal_cert **out)
{
	struct journal_cert *c;

	*out = NULL;
	if (res->serial_len == 0 || res->serial_len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "certificate index: serial of %zu bytes", res->serial_len);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SD_E_NOMEM;
	memcpy(c->serial, res->serial, res->serial_len);
	c->serial_len = res->serial_len;
	c->seq = seq;
	c->intent_seq = intent != NULL ? intent->seq : seq;
	if (intent == NULL)
		intent = res;
	c->issued_ms = res->time_ms;
	memcpy(c->client_spki_sha256, intent->client_spki_sha256, JOURNAL_HASH_LEN);
	if ((c->profile = strdup(intent->profile != NULL ? intent->profile : "")) == NULL ||
	    (c->client_subject = strdup(intent->client_subject != NULL ? intent->client_subject : "")) == NULL) {
		journal_cert_free(c);
		return SD_E_NOMEM;
	}
	*out = c;
	return 0;
}

int
inv_entry_from(const struct journal_record *res, uint64_t seq, const struct journal_record *intent,
    struct journal_cert **out)
{
	struct journal_cert *c = NULL;
	int rc;

	*out = NULL;
	if ((rc = inv_entry_base(res, seq, intent, &c)) != 0)
		return rc;
	if ((rc = inv_cert_parse(res->cert_der, res->cert_der_len, c)) != 0) {
		journal_cert_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
inv_record_entry(struct journal *j, MDB_txn *txn, const struct journal_record *rec, struct journal_cert **out)
{
	struct journal_record *intent = NULL;
	int rc;

	*out = NULL;
	if (rec->type == JOURNAL_REC_ISSUANCE)
		return inv_entry_from(rec, rec->seq, NULL, out);
	if (rec->type != JOURNAL_REC_RESULT)
		return 0;
	/* Only its fields are read: no need to hash it. */
	if ((rc = journal_txn_get_hash(j, txn, rec->intent_seq, false, &intent)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_JOURNAL_CORRUPT, "result %llu: its intent %llu is missing",
		    (unsigned long long)rec->seq, (unsigned long long)rec->intent_seq) : rc;
	rc = inv_entry_from(rec, rec->seq, intent, out);
	journal_record_free(intent);
	return rc;
}

/* Bounded writer over a buffer sized beforehand. */
struct inv_w {
	uint8_t *p;
	size_t at, cap;
};

static void
inv_w_bytes(struct inv_w *w, const void *b, size_t n)
{
	if (n > w->cap - w->at)
		abort();	/* sized beforehand: cannot happen */
	memcpy(w->p + w->at, b, n);
	w->at += n;
}

static void
inv_w_u64(struct inv_w *w, uint64_t v)
{
	uint8_t b[8];

	journal_be64_put(b, v);
	inv_w_bytes(w, b, 8);
}

static void
inv_w_u32(struct inv_w *w, size_t n)
{
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	inv_w_bytes(w, b, 4);
}

static void
inv_w_str(struct inv_w *w, const char *s, size_t n)
{
	inv_w_u32(w, n);
	inv_w_bytes(w, s, n);
}

int
inv_entry_encode(const struct journal_cert *c, uint8_t **out, size_t *len)
{
	struct inv_w w = { NULL, 0, 0 };
	size_t i, need = INV_FIXED_LEN + 12, pl = strlen(c->profile), sl = strlen(c->client_subject), vl;
	uint8_t hdr[2] = { INV_ENTRY_VERSION, c->parsed ? INV_FLAG_PARSED : 0 }, slen;

	*out = NULL;
	*len = 0;
	if (c->serial_len == 0 || c->serial_len > JOURNAL_SERIAL_MAX)
		return sd_error_set(SD_E_INVAL, "certificate index: serial of %zu bytes", c->serial_len);
	/* Every piece is bounded by the record it came from (64 KiB certificate, 4 KiB texts). */
	if (pl > JOURNAL_TEXT_MAX || sl > JOURNAL_TEXT_MAX || c->n_sans > JOURNAL_CERT_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "certificate index: entry too large");
	need += pl + sl;
	for (i = 0; i < c->n_sans; i++) {
		vl = strlen(c->sans[i].value);
		if (vl > JOURNAL_CERT_MAX)
			return sd_error_set(SD_E_TOO_LARGE, "certificate index: SAN too large");
		need += 5 + vl;
	}
	if ((w.p = malloc(need)) == NULL)
		return SD_E_NOMEM;
	w.cap = need;
	inv_w_bytes(&w, hdr, 2);
	slen = (uint8_t)c->serial_len;
	inv_w_bytes(&w, &slen, 1);
	inv_w_bytes(&w, c->serial, c->serial_len);
	inv_w_u64(&w, c->seq);
	inv_w_u64(&w, c->intent_seq);
	inv_w_u64(&w, (uint64_t)c->issued_ms);
	inv_w_u64(&w, (uint64_t)c->not_before);
	inv_w_u64(&w, (uint64_t)c->not_after);
	inv_w_bytes(&w, c->client_spki_sha256, JOURNAL_HASH_LEN);
	inv_w_str(&w, c->profile, pl);
	inv_w_str(&w, c->client_subject, sl);
	inv_w_u32(&w, c->n_sans);
	for (i = 0; i < c->n_sans; i++) {
		inv_w_bytes(&w, &c->sans[i].type, 1);
		inv_w_str(&w, c->sans[i].value, strlen(c->sans[i].value));
	}
	*out = w.p;
	*len = w.at;
	return 0;
}

/* Bounded reader; any overrun sets bad. */
struct inv_r {
	const uint8_t *p;
	size_t at, len;
	bool bad;
};

static const uint8_t *
inv_r_take(struct inv_r *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->at) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->at;
	r->at += n;
	return p;
}

static uint64_t
inv_r_u64(struct inv_r *r)
{
	const uint8_t *p = inv_r_take(r, 8);

	return p != NULL ? journal_be64_get(p) : 0;
}

static uint32_t
inv_r_u32(struct inv_r *r)
{
	const uint8_t *p = inv_r_take(r, 4);

	return p != NULL ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

/* A string of at most max bytes without NUL, copied; NULL with r->bad or on ENOMEM (*nomem). */
static char *
inv_r_str(struct inv_r *r, size_t max, bool *nomem)
{
	uint32_t n = inv_r_u32(r);
	const uint8_t *p;
	char *s;

	if (n > max) {
		r->bad = true;
		return NULL;
	}
	if ((p = inv_r_take(r, n)) == NULL)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		r->bad = true;
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		*nomem = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
inv_entry_decode(const uint8_t *buf, size_t len, struct journal_cert **out)
{
	struct inv_r r = { buf, 0, len, false };
	struct journal_cert *c = NULL;
	const uint8_t *p;
	bool nomem = false;
	uint32_t n, i;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	p = inv_r_take(&r, 3);
	if (p == NULL || p[0] != INV_ENTRY_VERSION || (p[1] & ~INV_FLAG_PARSED) != 0 || p[2] == 0 ||
	    p[2] > JOURNAL_SERIAL_MAX) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: entry of another version");
		goto out;
	}
	c->parsed = (p[1] & INV_FLAG_PARSED) != 0;
	c->serial_len = p[2];
	if ((p = inv_r_take(&r, c->serial_len)) != NULL)
		memcpy(c->serial, p, c->serial_len);
	c->seq = inv_r_u64(&r);
	c->intent_seq = inv_r_u64(&r);
	c->issued_ms = (int64_t)inv_r_u64(&r);
	c->not_before = (int64_t)inv_r_u64(&r);
	c->not_after = (int64_t)inv_r_u64(&r);
	if ((p = inv_r_take(&r, JOURNAL_HASH_LEN)) != NULL)
		memcpy(c->client_spki_sha256, p, JOURNAL_HASH_LEN);
	c->profile = inv_r_str(&r, JOURNAL_TEXT_MAX, &nomem);
	c->client_subject = inv_r_str(&r, JOURNAL_TEXT_MAX, &nomem);
	n = inv_r_u32(&r);
	/* Each SAN takes at least 6 bytes: n is bounded by what is left. */
	if (!r.bad && !nomem && n > (len - r.at) / 6)
		r.bad = true;
	if (!r.bad && !nomem && n > 0 && (c->sans = calloc(n, sizeof(*c->sans))) == NULL)
		nomem = true;
	for (i = 0; i < n && !r.bad && !nomem; i++) {
		p = inv_r_take(&r, 1);
		c->sans[i].value = inv_r_str(&r, JOURNAL_CERT_MAX, &nomem);
		if (p == NULL || c->sans[i].value == NULL)
			break;
		c->sans[i].type = *p;
		c->n_sans = (size_t)i + 1;
	}
	if (nomem) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (r.bad || r.at != len || c->seq == 0 || c->n_sans != n) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "certificate index: an entry does not decode");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	journal_cert_free(c);
	return rc;
}

/* Whether a SAN value is kept as text in reversed labels: a name, not a URI, e-mail or IPv6 address. */
static bool
inv_reversible(const char *v, size_t n)
{
	return memchr(v, ':', n) == NULL && memchr(v, '/', n) == NULL && memchr(v, '@', n) == NULL;
}

/* v's dot-separated labels in reverse order into out (n bytes): "www.example.com" -> "com.example.www". */
static void
inv_reverse_labels(const char *v, size_t n, uint8_t *out)
{
	size_t end = n, start, at = 0;

	for (;;) {
		for (start = end; start > 0 && v[start - 1] != '.'; start--)
			;
		memcpy(out + at, v + start, end - start);
		at += end - start;
		if (start == 0)
			break;
		out[at++] = '.';
		end = start - 1;
	}
}

int
inv_attr_prefix(uint8_t kind, const char *value, uint8_t out[INV_PREFIX_MAX], size_t *len)
{
	size_t n = strlen(value);
	int rc;

	out[0] = kind;
	if (kind == INV_KIND_SAN && n <= INV_SAN_TEXT_MAX) {
		out[1] = 'T';
		if (inv_reversible(value, n))
			inv_reverse_labels(value, n, out + 2);
		else
			memcpy(out + 2, value, n);
		/* SAN values hold no NUL: the terminator ends the text unambiguously. */
		out[2 + n] = 0;
		*len = 3 + n;
		return 0;
	}
	if (kind == INV_KIND_SAN) {
		out[1] = 'H';
		*len = 2 + JOURNAL_HASH_LEN;
	} else {
		*len = 1 + JOURNAL_HASH_LEN;
	}
	if ((rc = journal_hash((const uint8_t *)value, n, out + *len - JOURNAL_HASH_LEN)) != 0)
		return rc;
	return 0;
}

void
inv_expiry_key(int64_t not_after, uint64_t seq, uint8_t key[INV_EXPIRY_KEY_LEN])
{
	key[0] = INV_KIND_EXPIRY;
	/* Flipping the sign bit makes byte order the numeric order of signed values. */
	journal_be64_put(key + 1, (uint64_t)not_after ^ (UINT64_C(1) << 63));
	journal_be64_put(key + 9, seq);
}

void
inv_cert_key(uint64_t seq, uint8_t key[INV_CERT_KEY_LEN])
{
	key[0] = INV_KIND_CERT;
	journal_be64_put(key + 1, seq);
}

bool
inv_san_repeats(const struct journal_cert *c, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (strcmp(c->sans[k].value, c->sans[i].value) == 0)
			return true;
	return false;
}

/* The attr key of (kind, value) for c->seq in *k. */
static int
inv_attr_key(const struct journal_cert *c, uint8_t kind, const char *value, const char *what, struct inv_key *k)
{
	int rc;

	if ((rc = inv_attr_prefix(kind, value, k->key, &k->len)) != 0)
		return rc;
	journal_be64_put(k->key + k->len, c->seq);
	k->len += 8;
	k->what = what;
	return 0;
}

int
inv_entry_keys(const struct journal_cert *c, struct inv_key **keys, size_t *n)
{
	struct inv_key *k;
	size_t i, at = 0;
	int rc;

	*keys = NULL;
	*n = 0;
	if (c->n_sans > SIZE_MAX / sizeof(*k) - 3 || (k = calloc(3 + c->n_sans, sizeof(*k))) == NULL)
		return SD_E_NOMEM;
	if (c->parsed) {
		inv_expiry_key(c->not_after, c->seq, k[at].key);
		k[at].len = INV_EXPIRY_KEY_LEN;
		k[at++].what = "expiry";
	}
	if ((rc = inv_attr_key(c, INV_KIND_PROFILE, c->profile, "profile", &k[at++])) != 0 ||
	    (rc = inv_attr_key(c, INV_KIND_CLIENT, c->client_subject, "client", &k[at++])) != 0)
		goto fail;
	for (i = 0; i < c->n_sans; i++) {
		if (!inv_san_repeats(c, i) && (rc = inv_attr_key(c, INV_KIND_SAN, c->sans[i].value, "SAN", &k[at++])) != 0)
			goto fail;
	}
	*keys = k;
	*n = at;
	return 0;
fail:
	free(k);
	return rc;
}
