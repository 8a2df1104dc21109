/*
 * The signer as signerd-front sees it: include/signer.h implemented over
 * the request channels to the signer process. Linked only into
 * signerd-front, in place of signer/core; the API above it does not change.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privsep.h"
#include "privsep_msg.h"
#include "sd_metrics.h"

/*
 * How long a request waits for a free channel. There is one per connection
 * the front serves at once, so this wait happens only past that (both
 * listeners together): then 503 busy, rather than threads piling up here.
 */
#define PS_CHANNEL_WAIT_MS 2000

struct signer {
	pthread_mutex_t lock;
	pthread_cond_t freed;		/* on CLOCK_MONOTONIC */
	int *fds;			/* the request channels */
	bool *busy;
	unsigned n;
	char *chain[SIGNER_CHAIN_MAX];	/* fetched once: the chain does not change while serving */
	size_t n_chain;
};

/*
 * Take a free channel, waiting for one up to PS_CHANNEL_WAIT_MS; -1 when
 * every channel is broken, -2 when none was freed in time.
 */
static int
ps_channel_take(struct signer *s, unsigned *slot)
{
	struct timespec deadline;
	unsigned i;
	bool any;
	int err = 0;

	(void)clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += PS_CHANNEL_WAIT_MS / 1000;
	deadline.tv_nsec += (long)(PS_CHANNEL_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	for (;;) {
		any = false;
		for (i = 0; i < s->n; i++) {
			if (s->fds[i] < 0)
				continue;
			any = true;
			if (!s->busy[i]) {
				s->busy[i] = true;
				*slot = i;
				pthread_mutex_unlock(&s->lock);
				return s->fds[i];
			}
		}
		if (!any)
			break;
		if (err == ETIMEDOUT) {
			pthread_mutex_unlock(&s->lock);
			return -2;
		}
		/* Looked once more after the time-out: a channel freed at the deadline is still taken. */
		err = pthread_cond_timedwait(&s->freed, &s->lock, &deadline);
		if (err != 0 && err != ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return -1;
}

/* Give a channel back; one that failed mid-call is closed, since its framing is lost. */
static void
ps_channel_give(struct signer *s, unsigned slot, bool broken)
{
	pthread_mutex_lock(&s->lock);
	if (broken) {
		close(s->fds[slot]);
		s->fds[slot] = -1;
	}
	s->busy[slot] = false;
	/* One freed channel serves one waiter; a lost one may leave them all without. */
	if (broken)
		pthread_cond_broadcast(&s->freed);
	else
		pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/*
 * One call: send the request, read the reply, check its type and status.
 * On success (*rc_call holds the call's own result) *reply is the payload
 * (free()) and in is positioned after the status.
 */
static int
ps_call(struct signer *s, uint32_t type, const struct ps_out *req, uint8_t **reply, struct ps_in *in, int *rc_call)
{
	uint32_t got;
	size_t len = 0;
	unsigned slot;
	int fd, rc;

	*reply = NULL;
	*rc_call = 0;
	if (req != NULL && ps_out_failed(req))
		return SD_E_NOMEM;
	if ((fd = ps_channel_take(s, &slot)) == -2) {
		rc = sd_error_set(SD_E_BUSY, "all %u request channels to the signer stayed busy for %d ms", s->n,
		    PS_CHANNEL_WAIT_MS);
		sd_error_set_retry_after(1);
		return rc;
	}
	if (fd < 0)
		return sd_error_set(SD_E_INTERNAL, "the signer process is gone");
	if ((rc = ps_frame_send(fd, type, req != NULL ? req->data : NULL, req != NULL ? req->len : 0)) != 0 ||
	    (rc = ps_frame_recv(fd, PS_FRAME_MAX, &got, reply, &len)) != 0) {
		ps_channel_give(s, slot, true);
		return sd_error_set(SD_E_INTERNAL, "the signer process is gone (%s)", sd_error_detail(rc));
	}
	ps_channel_give(s, slot, false);
	ps_in_init(in, *reply, len);
	if (got != (type | PS_REPLY) || ps_status_decode(in, rc_call) != 0) {
		free(*reply);
		*reply = NULL;
		return sd_error_set(SD_E_INTERNAL, "malformed reply from the signer (type %u)", got);
	}
	return 0;
}

/* A string of the reply, copied into dst (cap bytes with its NUL). */
static void
ps_in_str_copy(struct ps_in *in, char *dst, size_t cap)
{
	const char *v = ps_in_str(in, cap - 1);

	memcpy(dst, v, strlen(v) + 1);
}

/* A string of the reply, newly allocated; NULL (and in failed) when malformed or out of memory. */
static char *
ps_in_str_dup(struct ps_in *in, size_t max)
{
	const char *v = ps_in_str(in, max);
	char *copy;

	if (in->failed)
		return NULL;
	if ((copy = strdup(v)) == NULL)
		in->failed = true;
	return copy;
}

static int
ps_chain_decode(struct ps_in *in, char **pems, size_t cap, size_t *n)
{
	uint32_t count = ps_in_u32(in);
	size_t i;

	*n = 0;
	if (count == 0 || count > cap)
		in->failed = true;
	for (i = 0; i < count && !in->failed; i++)
		if ((pems[i] = ps_in_str_dup(in, PS_PEM_MAX)) != NULL)
			*n = i + 1;
	if (!ps_in_done(in))
		return sd_error_set(SD_E_INTERNAL, "malformed chain from the signer");
	return 0;
}

int
privsep_signer_open(int first_fd, unsigned n, struct signer **out)
{
	pthread_condattr_t attr;
	struct signer *s = NULL;
	struct ps_in in;
	uint8_t *reply = NULL;
	unsigned i;
	int rc, rc_call;

	*out = NULL;
	if (n == 0 || (s = calloc(1, sizeof(*s))) == NULL || (s->fds = calloc(n, sizeof(*s->fds))) == NULL ||
	    (s->busy = calloc(n, sizeof(*s->busy))) == NULL) {
		if (s != NULL)
			free(s->fds);
		free(s);
		return n == 0 ? sd_error_set(SD_E_INVAL, "no request channel") : SD_E_NOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_condattr_init(&attr) != 0 || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->freed, &attr) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s->busy);
		free(s->fds);
		free(s);
		return sd_error_set(SD_E_INTERNAL, "cannot set up the request channels' condition");
	}
	(void)pthread_condattr_destroy(&attr);
	for (i = 0; i < n; i++)
		s->fds[i] = first_fd + (int)i;
	s->n = n;
	if ((rc = ps_call(s, PS_CHAIN, NULL, &reply, &in, &rc_call)) != 0)
		goto out;
	if ((rc = rc_call) != 0)
		goto out;
	if ((rc = ps_chain_decode(&in, s->chain, SIGNER_CHAIN_MAX, &s->n_chain)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(reply);
	signer_close(s);
	return rc;
}

void
signer_close(struct signer *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	for (i = 0; i < s->n_chain; i++)
		free(s->chain[i]);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s->busy);
	free(s->fds);
	free(s);
}

size_t
signer_chain_count(const struct signer *s)
{
	return s->n_chain;
}

const char *
signer_chain_pem(const struct signer *s, size_t i)
{
	return i < s->n_chain ? s->chain[i] : NULL;
}

int
signer_issue(struct signer *s, const struct signer_request *req, struct signer_result **out)
{
	struct signer_result *r = NULL;
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	*out = NULL;
	ps_out_init(&msg);
	ps_issue_encode(&msg, req->client, req);
	if ((rc = ps_call(s, PS_ISSUE, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	ps_in_str_copy(&in, r->serial_hex, sizeof(r->serial_hex));
	r->cert_pem = ps_in_str_dup(&in, PS_PEM_MAX);
	ps_in_str_copy(&in, r->not_after, sizeof(r->not_after));
	r->journal_seq = ps_in_u64(&in);
	if (!ps_in_done(&in)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed issue result from the signer");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	signer_result_free(r);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_result_free(struct signer_result *r)
{
	if (r == NULL)
		return;
	free(r->cert_pem);
	free(r);
}

int
signer_health(struct signer *s)
{
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	if ((rc = ps_call(s, PS_HEALTH, NULL, &reply, &in, &rc_call)) == 0) {
		rc = rc_call;
		if (rc == 0 && !ps_in_done(&in))
			rc = sd_error_set(SD_E_INTERNAL, "malformed health reply from the signer");
	}
	free(reply);
	return rc;
}

int
signer_audit_records(struct signer *s, const char *client, uint64_t from, size_t limit,
    struct signer_audit_records **out)
{
	struct signer_audit_records *r = NULL;
	struct signer_audit_record *x;
	struct ps_audit a = { .client = client, .from = from, .limit = (uint32_t)limit };
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	uint32_t n;
	int rc, rc_call;

	*out = NULL;
	if (limit == 0 || limit > SIGNER_AUDIT_RECORDS_MAX)
		return sd_error_set(SD_E_INVAL, "limit %zu is outside 1 .. %d", limit, SIGNER_AUDIT_RECORDS_MAX);
	ps_out_init(&msg);
	ps_audit_encode(&msg, PS_AUDIT_RECORDS, &a);
	if ((rc = ps_call(s, PS_AUDIT_RECORDS, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	r->last_seq = ps_in_u64(&in);
	n = ps_in_u32(&in);
	if (n > limit)
		in.failed = true;
	if (!in.failed && n > 0 && (r->items = calloc(n, sizeof(*r->items))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (; r->n < n && !in.failed; r->n++) {
		x = &r->items[r->n];
		x->seq = ps_in_u64(&in);
		x->type = ps_in_str_dup(&in, 31);
		x->time_ms = (int64_t)ps_in_u64(&in);
		ps_in_str_copy(&in, x->hash_hex, sizeof(x->hash_hex));
		ps_in_str_copy(&in, x->leaf_hash_hex, sizeof(x->leaf_hash_hex));
		x->record_b64 = ps_in_str_dup(&in, PS_RECORD_B64_MAX);
	}
	if (!ps_in_done(&in)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed audit records from the signer");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	signer_audit_records_free(r);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_audit_records_free(struct signer_audit_records *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		/* Here the type is a copy from the reply, not a static name. */
		free((char *)(uintptr_t)r->items[i].type);
		free(r->items[i].record_b64);
	}
	free(r->items);
	free(r);
}

int
signer_metrics(struct signer *s, const char *client, char **text)
{
	struct ps_audit a = { .client = client };
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	char *got = NULL;
	int rc, rc_call;

	*text = NULL;
	ps_out_init(&msg);
	ps_audit_encode(&msg, PS_METRICS, &a);
	if ((rc = ps_call(s, PS_METRICS, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	got = ps_in_str_dup(&in, SD_METRICS_TEXT_MAX);
	if (!ps_in_done(&in)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed metrics from the signer");
		goto out;
	}
	*text = got;
	got = NULL;
out:
	free(got);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

int
signer_audit_checkpoint(struct signer *s, const char *client, char **note, uint64_t *seq)
{
	struct ps_audit a = { .client = client };
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	char *text = NULL;
	int rc, rc_call;

	*note = NULL;
	*seq = 0;
	ps_out_init(&msg);
	ps_audit_encode(&msg, PS_AUDIT_CHECKPOINT, &a);
	if ((rc = ps_call(s, PS_AUDIT_CHECKPOINT, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	*seq = ps_in_u64(&in);
	text = ps_in_str_dup(&in, PS_PEM_MAX);
	if (!ps_in_done(&in)) {
		*seq = 0;
		rc = sd_error_set(SD_E_INTERNAL, "malformed checkpoint from the signer");
		goto out;
	}
	*note = text;
	text = NULL;
out:
	free(text);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

int
signer_audit_proof(struct signer *s, const char *client, const char *serial_hex, struct signer_audit_proof **out)
{
	struct signer_audit_proof *p = NULL;
	struct ps_audit a = { .client = client, .serial_hex = serial_hex };
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	uint32_t n;
	int rc, rc_call;

	*out = NULL;
	if (strlen(serial_hex) > 40)
		return sd_error_set(SD_E_INVAL, "serial is longer than 40 hex digits");
	ps_out_init(&msg);
	ps_audit_encode(&msg, PS_AUDIT_PROOF, &a);
	if ((rc = ps_call(s, PS_AUDIT_PROOF, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	p->intent_seq = ps_in_u64(&in);
	p->seq = ps_in_u64(&in);
	p->leaf_index = ps_in_u64(&in);
	p->tree_size = ps_in_u64(&in);
	p->checkpoint_seq = ps_in_u64(&in);
	ps_in_str_copy(&in, p->leaf_hash_hex, sizeof(p->leaf_hash_hex));
	n = ps_in_u32(&in);
	if (n > SIGNER_AUDIT_PROOF_MAX)
		in.failed = true;
	for (; p->n < n && !in.failed; p->n++)
		ps_in_str_copy(&in, p->hashes_hex[p->n], sizeof(p->hashes_hex[p->n]));
	p->checkpoint = ps_in_str_dup(&in, PS_PEM_MAX);
	if (!ps_in_done(&in)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed proof from the signer");
		goto out;
	}
	*out = p;
	p = NULL;
out:
	signer_audit_proof_free(p);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_audit_proof_free(struct signer_audit_proof *p)
{
	if (p == NULL)
		return;
	free(p->checkpoint);
	free(p);
}

/* A status the signer may send, as the static string signer.h promises; NULL for any other. */
static const char *
ps_cert_status(const char *s)
{
	static const char *const known[] = { "valid", "expired", "unknown", "revoked" };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return NULL;
}

static void
ps_cert_clear(struct signer_cert *c)
{
	size_t i;

	for (i = 0; i < c->n_sans; i++)
		free(c->sans[i].value);
	free(c->sans);
	free(c->profile);
	free(c->client);
	free(c->cert_pem);
	memset(c, 0, sizeof(*c));
}

/* One certificate of a reply into c (zeroed); a fault sets in->failed. */
static void
ps_cert_decode(struct ps_in *in, struct signer_cert *c)
{
	uint32_t n;
	uint8_t type, pem;

	ps_in_str_copy(in, c->serial_hex, sizeof(c->serial_hex));
	c->profile = ps_in_str_dup(in, PS_NAME_MAX * 4);
	c->client = ps_in_str_dup(in, PS_NAME_MAX * 4);
	ps_in_str_copy(in, c->client_spki_sha256_hex, sizeof(c->client_spki_sha256_hex));
	ps_in_str_copy(in, c->issued, sizeof(c->issued));
	ps_in_str_copy(in, c->not_before, sizeof(c->not_before));
	ps_in_str_copy(in, c->not_after, sizeof(c->not_after));
	if ((c->status = ps_cert_status(ps_in_str(in, 16))) == NULL)
		in->failed = true;
	c->journal_seq = ps_in_u64(in);
	c->intent_seq = ps_in_u64(in);
	n = ps_in_u32(in);
	/* Each SAN takes at least 5 bytes of the reply. */
	if (n > PS_FRAME_MAX / 5)
		in->failed = true;
	if (!in->failed && n > 0 && (c->sans = calloc(n, sizeof(*c->sans))) == NULL)
		in->failed = true;
	for (; c->n_sans < n && !in->failed; c->n_sans++) {
		type = ps_in_u8(in);
		if (type < SIGNER_SAN_DNS || type > SIGNER_SAN_EMAIL)
			in->failed = true;
		c->sans[c->n_sans].type = (enum signer_san_type)type;
		c->sans[c->n_sans].value = ps_in_str_dup(in, PS_PEM_MAX);
	}
	pem = ps_in_u8(in);
	if (pem > 1)
		in->failed = true;
	if (pem == 1)
		c->cert_pem = ps_in_str_dup(in, PS_PEM_MAX * 2);
}

int
signer_certs_list(struct signer *s, const char *client, const struct signer_certs_query *q, struct signer_certs **out)
{
	struct signer_certs *r = NULL;
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL, more;
	uint32_t n;
	int rc, rc_call;

	*out = NULL;
	if (q->limit == 0 || q->limit > SIGNER_CERTS_LIMIT_MAX)
		return sd_error_set(SD_E_INVAL, "limit %zu is outside 1 .. %d", q->limit, SIGNER_CERTS_LIMIT_MAX);
	ps_out_init(&msg);
	ps_certs_list_encode(&msg, client, q);
	if ((rc = ps_call(s, PS_CERTS_LIST, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	n = ps_in_u32(&in);
	if (n > q->limit)
		in.failed = true;
	if (!in.failed && n > 0 && (r->items = calloc(n, sizeof(*r->items))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	for (; r->n < n && !in.failed; r->n++)
		ps_cert_decode(&in, &r->items[r->n]);
	more = ps_in_u8(&in);
	if (more > 1)
		in.failed = true;
	if (more == 1)
		r->next_cursor = ps_in_str_dup(&in, SIGNER_CERTS_CURSOR_MAX);
	if (!ps_in_done(&in)) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed certificate list from the signer");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	signer_certs_free(r);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_certs_free(struct signer_certs *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		ps_cert_clear(&c->items[i]);
	free(c->items);
	free(c->next_cursor);
	free(c);
}

int
signer_cert_get(struct signer *s, const struct signer_caller *caller, const char *serial_hex, struct signer_cert **out)
{
	struct signer_cert *c = NULL;
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	*out = NULL;
	if (strlen(serial_hex) > 40)
		return sd_error_set(SD_E_INVAL, "serial is longer than 40 hex digits");
	ps_out_init(&msg);
	ps_cert_get_encode(&msg, caller, serial_hex);
	if ((rc = ps_call(s, PS_CERT_GET, &msg, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	ps_cert_decode(&in, c);
	if (!ps_in_done(&in) || c->cert_pem == NULL) {
		rc = sd_error_set(SD_E_INTERNAL, "malformed certificate from the signer");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	signer_cert_free(c);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_cert_free(struct signer_cert *c)
{
	if (c == NULL)
		return;
	ps_cert_clear(c);
	free(c);
}

int
signer_revoke(struct signer *s, const struct signer_caller *caller, const char *serial_hex, uint8_t reason,
    const char *detail, struct signer_revocation *out)
{
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	memset(out, 0, sizeof(*out));
	if (strlen(serial_hex) > 40)
		return sd_error_set(SD_E_INVAL, "serial is longer than 40 hex digits");
	if (detail != NULL && strlen(detail) > SIGNER_REVOKE_DETAIL_MAX)
		return sd_error_set(SD_E_INVAL, "detail is longer than %d bytes", SIGNER_REVOKE_DETAIL_MAX);
	ps_out_init(&msg);
	ps_revoke_encode(&msg, caller, serial_hex, reason, detail);
	if ((rc = ps_call(s, PS_REVOKE, &msg, &reply, &in, &rc_call)) == 0 && (rc = rc_call) == 0)
		rc = ps_revocation_decode(&in, out);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

/* PS_CRL or PS_CRL_DELTA: the same reply; the kind is checked by its base. */
static int
ps_crl_call(struct signer *s, uint32_t type, struct signer_crl **out)
{
	struct signer_crl *c = NULL;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	*out = NULL;
	if ((rc = ps_call(s, type, NULL, &reply, &in, &rc_call)) != 0 || (rc = rc_call) != 0 ||
	    (rc = ps_crl_decode(&in, &c)) != 0)
		goto out;
	if ((type == PS_CRL_DELTA) != (c->base_number != 0)) {
		rc = sd_error_set(SD_E_INTERNAL, "the signer sent a %s CRL for a %s one",
		    c->base_number != 0 ? "delta" : "complete", type == PS_CRL_DELTA ? "delta" : "complete");
		goto out;
	}
	*out = c;
	c = NULL;
out:
	signer_crl_free(c);
	free(reply);
	return rc;
}

int
signer_crl(struct signer *s, struct signer_crl **out)
{
	return ps_crl_call(s, PS_CRL, out);
}

int
signer_crl_delta(struct signer *s, struct signer_crl **out)
{
	return ps_crl_call(s, PS_CRL_DELTA, out);
}

void
signer_crl_free(struct signer_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c);
}

int
signer_ocsp(struct signer *s, const uint8_t *req, size_t len, struct signer_ocsp **out)
{
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	*out = NULL;
	if (len > SIGNER_OCSP_REQUEST_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "OCSP request of %zu bytes; the limit is %d", len,
		    SIGNER_OCSP_REQUEST_MAX);
	ps_out_init(&msg);
	ps_ocsp_request_encode(&msg, req, len);
	if ((rc = ps_call(s, PS_OCSP, &msg, &reply, &in, &rc_call)) == 0 && (rc = rc_call) == 0)
		rc = ps_ocsp_decode(&in, out);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

void
signer_ocsp_free(struct signer_ocsp *o)
{
	if (o == NULL)
		return;
	free(o->der);
	free(o);
}

int
signer_acme(struct signer *s, const struct signer_acme_request *req, struct signer_acme_answer **out)
{
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	*out = NULL;
	if (req == NULL || req->profile == NULL || req->base == NULL || req->op < SIGNER_ACME_DIRECTORY ||
	    req->op > SIGNER_ACME_OP_MAX || strlen(req->profile) > PS_NAME_MAX ||
	    strlen(req->base) > SIGNER_ACME_BASE_MAX || (req->id != NULL && strlen(req->id) > SIGNER_ACME_PARAM_MAX) ||
	    req->body_len > SIGNER_ACME_BODY_MAX)
		return sd_error_set(SD_E_INVAL, "ACME request out of bounds");
	ps_out_init(&msg);
	ps_acme_request_encode(&msg, req);
	if ((rc = ps_call(s, PS_ACME, &msg, &reply, &in, &rc_call)) == 0 && (rc = rc_call) == 0)
		rc = ps_acme_answer_decode(&in, out);
	free(reply);
	ps_out_free(&msg);
	return rc;
}

/* The front's copy: signer/acme, which defines it in the signer, is not linked here. */
void
signer_acme_answer_free(struct signer_acme_answer *a)
{
	if (a == NULL)
		return;
	free(a->body);
	free(a);
}

int
signer_acme_validated(struct signer *s, const char *profile, const char *challenge, const char *error_type,
    const char *detail)
{
	struct ps_acme_validated v = { profile, challenge, error_type, detail };
	char cut[PS_ACME_DETAIL_MAX + 1];
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	if (profile == NULL || challenge == NULL || strlen(profile) > PS_NAME_MAX ||
	    strlen(challenge) > SIGNER_ACME_PARAM_MAX || (error_type != NULL && strlen(error_type) > PS_ACME_TYPE_MAX))
		return sd_error_set(SD_E_INVAL, "ACME validation report out of bounds");
	/* The signer takes at most PS_ACME_DETAIL_MAX bytes of detail: a longer one is cut, not refused. */
	if (detail != NULL && strlen(detail) > PS_ACME_DETAIL_MAX) {
		memcpy(cut, detail, PS_ACME_DETAIL_MAX);
		cut[PS_ACME_DETAIL_MAX] = '\0';
		v.detail = cut;
	}
	ps_out_init(&msg);
	ps_acme_validated_encode(&msg, &v);
	if ((rc = ps_call(s, PS_ACME_VALIDATED, &msg, &reply, &in, &rc_call)) == 0)
		rc = rc_call;
	free(reply);
	ps_out_free(&msg);
	return rc;
}

int
signer_api_refusals(struct signer *s, int64_t window_start_ms, uint64_t count, const char *detail)
{
	struct ps_api_refusals r = { window_start_ms, count, detail };
	struct ps_out msg;
	struct ps_in in;
	uint8_t *reply = NULL;
	int rc, rc_call;

	if (detail == NULL || strlen(detail) > SIGNER_API_REFUSALS_DETAIL_MAX || window_start_ms < 0)
		return sd_error_set(SD_E_INVAL, "refusal summary out of bounds");
	ps_out_init(&msg);
	ps_api_refusals_encode(&msg, &r);
	if ((rc = ps_call(s, PS_API_REFUSALS, &msg, &reply, &in, &rc_call)) == 0)
		rc = rc_call;
	free(reply);
	ps_out_free(&msg);
	return rc;
}
