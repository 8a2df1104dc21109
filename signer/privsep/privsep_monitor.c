/*
 * The signer's side of privilege separation: start signerd-front, then
 * serve its requests, one thread per request channel, through the permit
 * table below.
 */
#define _GNU_SOURCE	/* close_range */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "privsep.h"
#include "privsep_front.h"
#include "privsep_msg.h"
#include "sd_log.h"

struct ps_channel {
	struct privsep_front *f;
	unsigned index;
};

/*
 * Check again what the front decided: the client it names exists and holds
 * role (and may use profile); for an issuance (spki non-NULL) the client
 * certificate's key is one of the client's pins, if it has any.
 */
static int
ps_client_check(const struct privsep_front *f, const char *name, unsigned role, const char *profile,
    const uint8_t *spki)
{
	const struct config_client *c = sd_config_client_by_name(f->cfg, name);

	if (c == NULL || (c->roles & role) == 0 || (profile != NULL && !sd_config_client_may_use(c, profile)) ||
	    (spki != NULL && !sd_config_client_pinned_to(c, spki))) {
		sd_log(SD_LOG_ERROR, "privsep: the front asked for client \"%.64s\"%s%.64s%s%s, which the "
		    "configuration does not allow; refused", name, profile != NULL ? " with profile \"" : "",
		    profile != NULL ? profile : "", profile != NULL ? "\"" : "",
		    c != NULL && spki != NULL && !sd_config_client_pinned_to(c, spki) ?
		    " and a key it is not pinned to" : "");
		return sd_error_set(SD_E_INTERNAL, "the signer refused a request the front had authorised");
	}
	return 0;
}

static int
ps_serve_chain(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	const char *pems[SIGNER_CHAIN_MAX];
	size_t i, n = signer_chain_count(f->signer);

	(void)p;
	(void)len;
	if (n > SIGNER_CHAIN_MAX) {
		ps_status_encode(reply, SD_E_INTERNAL, "chain too long");
		return 0;
	}
	for (i = 0; i < n; i++)
		pems[i] = signer_chain_pem(f->signer, i);
	ps_status_encode(reply, 0, NULL);
	ps_chain_encode(reply, pems, n);
	return 0;
}

static int
ps_serve_issue(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_result *r = NULL;
	struct ps_issue *m;
	int rc;

	if ((m = malloc(sizeof(*m))) == NULL)
		return SD_E_NOMEM;
	if ((rc = ps_issue_decode(p, len, m)) != 0)
		goto out;
	/* A holder's re-enrollment names no client: signer_issue() checks the certificate it names instead. */
	m->req.client = m->client[0] != '\0' ? m->client : NULL;
	if (m->req.client == NULL ||
	    (rc = ps_client_check(f, m->client, CONFIG_ROLE_ISSUER, m->req.profile, m->req.client_spki_sha256)) == 0)
		rc = signer_issue(f->signer, &m->req, &r);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_result_encode(reply, r);
	rc = 0;
out:
	signer_result_free(r);
	free(m);
	return rc;
}

static int
ps_serve_health(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	int rc;

	(void)p;
	(void)len;
	rc = signer_health(f->signer);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	return 0;
}

static int
ps_serve_audit(struct privsep_front *f, uint32_t type, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_audit_records *records = NULL;
	struct signer_audit_proof *proof = NULL;
	struct ps_audit a;
	uint64_t seq = 0;
	char *note = NULL;
	int rc;

	if ((rc = ps_audit_decode(type, p, len, &a)) != 0)
		return rc;
	if ((rc = ps_client_check(f, a.client, CONFIG_ROLE_AUDITOR, NULL, NULL)) == 0) {
		if (type == PS_AUDIT_RECORDS)
			rc = signer_audit_records(f->signer, a.client, a.from, a.limit, &records);
		else if (type == PS_AUDIT_CHECKPOINT)
			rc = signer_audit_checkpoint(f->signer, a.client, &note, &seq);
		else
			rc = signer_audit_proof(f->signer, a.client, a.serial_hex, &proof);
	}
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0 && records != NULL)
		ps_records_encode(reply, records);
	else if (rc == 0 && note != NULL)
		ps_checkpoint_encode(reply, note, seq);
	else if (rc == 0 && proof != NULL)
		ps_proof_encode(reply, proof);
	signer_audit_records_free(records);
	signer_audit_proof_free(proof);
	free(note);
	return 0;
}

static int
ps_serve_metrics(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct ps_audit a;
	char *text = NULL;
	int rc;

	if ((rc = ps_audit_decode(PS_METRICS, p, len, &a)) != 0)
		return rc;
	if ((rc = ps_client_check(f, a.client, CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN, NULL, NULL)) == 0)
		rc = signer_metrics(f->signer, a.client, &text);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_out_str(reply, text);
	free(text);
	return 0;
}

static int
ps_serve_audit_records(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	return ps_serve_audit(f, PS_AUDIT_RECORDS, p, len, reply);
}

static int
ps_serve_audit_checkpoint(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	return ps_serve_audit(f, PS_AUDIT_CHECKPOINT, p, len, reply);
}

static int
ps_serve_audit_proof(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	return ps_serve_audit(f, PS_AUDIT_PROOF, p, len, reply);
}

/* The inventory: auditors and admins list; an issuer may also read one certificate, its own (the core checks). */
static int
ps_serve_certs_list(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_certs *certs = NULL;
	struct ps_certs_list m;
	int rc;

	if ((rc = ps_certs_list_decode(p, len, &m)) != 0)
		return rc;
	if ((rc = ps_client_check(f, m.client, CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN, NULL, NULL)) == 0)
		rc = signer_certs_list(f->signer, m.client, &m.q, &certs);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_certs_encode(reply, certs);
	signer_certs_free(certs);
	return 0;
}

static int
ps_serve_cert_get(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_cert *cert = NULL;
	struct ps_cert_get m;
	int rc;

	if ((rc = ps_cert_get_decode(p, len, &m)) != 0)
		return rc;
	if ((rc = ps_client_check(f, m.caller.client, CONFIG_ROLE_ISSUER | CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN,
	    NULL, NULL)) == 0)
		rc = signer_cert_get(f->signer, &m.caller, m.serial_hex, &cert);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_cert_encode(reply, cert);
	signer_cert_free(cert);
	return 0;
}

/* Any configured client may ask: the signer decides who may revoke what (self-revocation). */
static int
ps_serve_revoke(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_revocation r;
	struct ps_revoke m;
	int rc;

	if ((rc = ps_revoke_decode(p, len, &m)) != 0)
		return rc;
	if ((rc = ps_client_check(f, m.caller.client, CONFIG_ROLE_ISSUER | CONFIG_ROLE_AUDITOR | CONFIG_ROLE_ADMIN |
	    CONFIG_ROLE_REVOKER, NULL, NULL)) == 0)
		rc = signer_revoke(f->signer, &m.caller, m.serial_hex, m.reason, m.detail, &r);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_revocation_encode(reply, &r);
	return 0;
}

/*
 * Revocation status is public: no client is named, none is checked. A
 * delta's SD_E_NOT_FOUND (delta CRLs are off) goes back as any error does.
 */
static int
ps_serve_crl_of(struct privsep_front *f, bool delta, struct ps_out *reply)
{
	struct signer_crl *c = NULL;
	int rc;

	rc = delta ? signer_crl_delta(f->signer, &c) : signer_crl(f->signer, &c);
	if (rc == 0 && (c->len == 0 || c->len > PS_CRL_DER_MAX))
		rc = sd_error_set(SD_E_INTERNAL, "a CRL of %zu bytes does not fit a privsep frame", c->len);
	if (rc == 0 && (delta ? c->base_number == 0 || c->base_number >= c->number : c->base_number != 0))
		rc = sd_error_set(SD_E_INTERNAL, "CRL %llu has base %llu, which its kind does not allow",
		    (unsigned long long)c->number, (unsigned long long)c->base_number);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_crl_encode(reply, c);
	signer_crl_free(c);
	return 0;
}

static int
ps_serve_crl(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	(void)p;
	(void)len;
	return ps_serve_crl_of(f, false, reply);
}

static int
ps_serve_crl_delta(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	(void)p;
	(void)len;
	return ps_serve_crl_of(f, true, reply);
}

static int
ps_serve_ocsp(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_ocsp *o = NULL;
	struct ps_ocsp_request m;
	int rc;

	if ((rc = ps_ocsp_request_decode(p, len, &m)) != 0)
		return rc;
	rc = signer_ocsp(f->signer, m.der, m.len, &o);
	if (rc == 0 && (o->len == 0 || o->len > SIGNER_OCSP_RESPONSE_MAX))
		rc = sd_error_set(SD_E_INTERNAL, "an OCSP response of %zu bytes is over the limit", o->len);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_ocsp_encode(reply, o);
	signer_ocsp_free(o);
	return 0;
}

/*
 * ACME requests name no client: the engine authenticates each by its JWS,
 * and an answer goes back whatever it says (refusals are answers too).
 */
static int
ps_serve_acme(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct signer_acme_answer *a = NULL;
	struct signer_acme_request req;
	int rc;

	if ((rc = ps_acme_request_decode(p, len, &req)) != 0)
		return rc;
	rc = signer_acme(f->signer, &req, &a);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	if (rc == 0)
		ps_acme_answer_encode(reply, a);
	signer_acme_answer_free(a);
	return 0;
}

static int
ps_serve_acme_validated(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct ps_acme_validated v;
	int rc;

	if ((rc = ps_acme_validated_decode(p, len, &v)) != 0)
		return rc;
	rc = signer_acme_validated(f->signer, v.profile, v.challenge, v.error_type, v.detail);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	return 0;
}

static int
ps_serve_api_refusals(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply)
{
	struct ps_api_refusals r;
	int rc;

	if ((rc = ps_api_refusals_decode(p, len, &r)) != 0)
		return rc;
	rc = signer_api_refusals(f->signer, r.window_start_ms, r.count, r.detail);
	ps_status_encode(reply, rc, sd_error_detail(rc));
	return 0;
}

/*
 * The permit table: every request the front may make on a request channel
 * and its largest payload. A handler returns non-zero only for a request
 * that does not decode: like a type missing here, that ends the front.
 */
static const struct ps_permit {
	uint32_t type;
	const char *name;
	uint32_t max_len;
	int (*serve)(struct privsep_front *f, const uint8_t *p, size_t len, struct ps_out *reply);
} ps_permits[] = {
	{ PS_CHAIN, "chain", 0, ps_serve_chain },
	{ PS_ISSUE, "issue", 256 * 1024, ps_serve_issue },
	{ PS_HEALTH, "health", 0, ps_serve_health },
	{ PS_METRICS, "metrics", 2048, ps_serve_metrics },
	{ PS_AUDIT_RECORDS, "audit records", 2048, ps_serve_audit_records },
	{ PS_AUDIT_CHECKPOINT, "audit checkpoint", 2048, ps_serve_audit_checkpoint },
	{ PS_AUDIT_PROOF, "audit proof", 2048, ps_serve_audit_proof },
	/* A client name, three filters, a cursor: 5 KiB at most. */
	{ PS_CERTS_LIST, "certificate list", 8192, ps_serve_certs_list },
	/* A client name and subject, a key hash, a serial. */
	{ PS_CERT_GET, "certificate", 4096, ps_serve_cert_get },
	/* A client name and subject, a key hash, a serial, a reason, a detail. */
	{ PS_REVOKE, "revoke", 4096, ps_serve_revoke },
	{ PS_CRL, "crl", 0, ps_serve_crl },
	{ PS_CRL_DELTA, "delta crl", 0, ps_serve_crl_delta },
	/* The DER request and its length prefix. */
	{ PS_OCSP, "ocsp", PS_OCSP_MSG_MAX, ps_serve_ocsp },
	/* An op, a profile, the Host's base, an id and the JWS. */
	{ PS_ACME, "acme", PS_ACME_MSG_MAX, ps_serve_acme },
	/* A profile, a challenge id, a problem type and a detail. */
	{ PS_ACME_VALIDATED, "acme validated", PS_ACME_VALIDATED_MSG_MAX, ps_serve_acme_validated },
	/* A window's start, its count and a detail; the signer takes one per listener every 10 s. */
	{ PS_API_REFUSALS, "refusal summary", PS_API_REFUSALS_MSG_MAX, ps_serve_api_refusals },
};

static const struct ps_permit *
ps_permit_find(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(ps_permits) / sizeof(ps_permits[0]); i++)
		if (ps_permits[i].type == type)
			return &ps_permits[i];
	return NULL;
}

/* The front broke the protocol: log it once and end the front, which ends signerd. */
static void
ps_front_refuse(struct privsep_front *f, unsigned channel, const char *what)
{
	if (!atomic_exchange(&f->refused, true)) {
		sd_log(SD_LOG_ERROR, "privsep: request channel %u: %s; stopping the front", channel, what);
		(void)kill(f->pid, SIGKILL);
	}
}

/* The configuration lock, writers first. */
static int
ps_lock_init(struct privsep_front *f)
{
	pthread_rwlockattr_t attr;
	int err;

	if ((err = pthread_rwlockattr_init(&attr)) != 0)
		return sd_error_set(SD_E_IO, "rwlock attributes: %s", strerror(err));
	(void)pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = pthread_rwlock_init(&f->lock, &attr);
	(void)pthread_rwlockattr_destroy(&attr);
	if (err != 0)
		return sd_error_set(SD_E_IO, "rwlock: %s", strerror(err));
	f->lock_ready = true;
	return 0;
}

static void *
ps_channel_main(void *arg)
{
	struct ps_channel *ch = arg;
	struct privsep_front *f = ch->f;
	const struct ps_permit *permit;
	struct ps_out reply;
	uint8_t *payload = NULL;
	uint32_t type, len;
	char what[160];
	int fd = f->fds[ch->index], rc;

	for (;;) {
		sd_error_clear();
		if ((rc = ps_frame_recv_header(fd, &type, &len)) != 0) {
			if (rc != SD_E_NOT_FOUND)
				ps_front_refuse(f, ch->index, sd_error_detail(rc));
			break;
		}
		if ((permit = ps_permit_find(type)) == NULL || len > permit->max_len) {
			(void)snprintf(what, sizeof(what), permit == NULL ?
			    "message type %u (%u bytes) is not in the permit table" :
			    "message type %u of %u bytes is over its limit", type, len);
			ps_front_refuse(f, ch->index, what);
			break;
		}
		if ((rc = ps_frame_recv_payload(fd, len, &payload)) != 0) {
			ps_front_refuse(f, ch->index, sd_error_detail(rc));
			break;
		}
		ps_out_init(&reply);
		(void)pthread_rwlock_rdlock(&f->lock);
		rc = permit->serve(f, payload, len, &reply);
		(void)pthread_rwlock_unlock(&f->lock);
		free(payload);
		payload = NULL;
		if (rc == 0 && ps_out_failed(&reply)) {
			/* The answer did not fit or memory ran out: say so instead. */
			ps_out_free(&reply);
			ps_out_init(&reply);
			ps_status_encode(&reply, SD_E_INTERNAL, "the signer's reply could not be encoded");
		}
		if (rc != 0) {
			(void)snprintf(what, sizeof(what), "%s (a %s request)", sd_error_detail(rc), permit->name);
			ps_out_free(&reply);
			ps_front_refuse(f, ch->index, what);
			break;
		}
		rc = ps_frame_send(fd, type | PS_REPLY, reply.data, reply.len);
		ps_out_free(&reply);
		if (rc != 0)
			break;
	}
	/* The front sees its channel close: nothing more goes through it. */
	(void)shutdown(fd, SHUT_RDWR);
	free(ch);
	return NULL;
}

unsigned
privsep_channels(const struct sd_config *cfg)
{
	/*
	 * As many as the front may have requests in flight, so that each waits
	 * at the signer, where a journal commit can carry all of them, rather
	 * than in the front for a channel (PS_CHANNELS_MAX bounds the threads).
	 */
	return cfg->api_max_connections < PS_CHANNELS_MAX ? cfg->api_max_connections : PS_CHANNELS_MAX;
}

int
privsep_front_spawn(const char *path, const struct sd_config *cfg, const char *text, size_t len, int port,
    struct privsep_front **out)
{
	struct privsep_front *f = NULL;
	struct ps_config msg;
	struct ps_out o;
	int pair[2], control_child = -1, *child = NULL, fd, high, rc;
	unsigned i, n = privsep_channels(cfg);
	char *argv[] = { "signerd-front", NULL };

	*out = NULL;
	ps_out_init(&o);
	if ((f = calloc(1, sizeof(*f))) == NULL || (f->fds = calloc(n, sizeof(int))) == NULL ||
	    (f->threads = calloc(n, sizeof(pthread_t))) == NULL || (child = calloc(n, sizeof(int))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	f->pid = -1;
	f->control = -1;
	f->n = n;
	f->port = port;
	if ((rc = ps_lock_init(f)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		f->fds[i] = child[i] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		rc = sd_error_set(SD_E_IO, "socketpair: %s", strerror(errno));
		goto out;
	}
	f->control = pair[0];
	control_child = pair[1];
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
			rc = sd_error_set(SD_E_IO, "socketpair: %s", strerror(errno));
			goto out;
		}
		f->fds[i] = pair[0];
		child[i] = pair[1];
	}
	msg = (struct ps_config){ cfg->path, text, len + 1, port, n };
	ps_config_encode(&o, &msg);
	if (ps_out_failed(&o)) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((f->pid = fork()) < 0) {
		rc = sd_error_set(SD_E_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (f->pid == 0) {
		/*
		 * The child: only async-signal-safe calls until exec. Move the
		 * channels above their final numbers first, so that placing one
		 * never closes another, then onto 3, 4, ...
		 */
		high = PRIVSEP_CONTROL_FD + 1 + (int)n;
		if ((control_child = fcntl(control_child, F_DUPFD_CLOEXEC, high)) < 0)
			_exit(127);
		for (i = 0; i < n; i++)
			if ((child[i] = fcntl(child[i], F_DUPFD_CLOEXEC, high)) < 0)
				_exit(127);
		if (dup2(control_child, PRIVSEP_CONTROL_FD) < 0)
			_exit(127);
		for (i = 0; i < n; i++)
			if (dup2(child[i], PRIVSEP_CONTROL_FD + 1 + (int)i) < 0)
				_exit(127);
		(void)close_range((unsigned)high, ~0u, 0);
		/* Its own session: a terminal's ^C goes to signerd, which stops the front in order. */
		(void)setsid();
		execve(path, argv, environ);
		_exit(127);
	}
	close(control_child);
	control_child = -1;
	for (i = 0; i < n; i++) {
		close(child[i]);
		child[i] = -1;
	}
	fd = f->control;
	if (ps_frame_send(fd, PS_CONFIG, o.data, o.len) != 0) {
		rc = sd_error_set(SD_E_IO, "cannot start %s: it did not take its configuration", path);
		goto out;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	if (control_child >= 0)
		close(control_child);
	if (child != NULL)
		for (i = 0; i < n; i++)
			if (child[i] >= 0)
				close(child[i]);
	free(child);
	ps_out_free(&o);
	if (f != NULL && privsep_front_stop(f) != 0)
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(SD_E_IO));
	return rc;
}

int
privsep_front_serve(struct privsep_front *f, const struct sd_config *cfg, struct signer *s)
{
	struct ps_channel *ch;
	pthread_attr_t attr;
	int err;

	f->cfg = cfg;
	f->signer = s;
	/* Small stacks, as the front's connection threads had when they ran the signer themselves. */
	if ((err = pthread_attr_init(&attr)) != 0 || (err = pthread_attr_setstacksize(&attr, 256 * 1024)) != 0)
		return sd_error_set(SD_E_IO, "privsep thread attributes: %s", strerror(err));
	for (; f->started < f->n; f->started++) {
		if ((ch = malloc(sizeof(*ch))) == NULL) {
			err = ENOMEM;
			break;
		}
		*ch = (struct ps_channel){ f, f->started };
		if ((err = pthread_create(&f->threads[f->started], &attr, ps_channel_main, ch)) != 0) {
			free(ch);
			break;
		}
	}
	(void)pthread_attr_destroy(&attr);
	if (f->started < f->n)
		return err == ENOMEM ? SD_E_NOMEM : sd_error_set(SD_E_IO, "cannot start a privsep thread: %s", strerror(err));
	return 0;
}

/* How the front ended, for a message. */
static void
ps_exit_describe(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		(void)snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		(void)snprintf(buf, cap, "was killed by SIGSYS: a system call outside its seccomp allow-list "
		    "([process] seccomp = log names it)");
	else if (WIFSIGNALED(status))
		(void)snprintf(buf, cap, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		(void)snprintf(buf, cap, "ended with status 0x%x", (unsigned)status);
}

int
privsep_front_ready(struct privsep_front *f, uint16_t *port)
{
	struct ps_in in;
	uint8_t *payload = NULL;
	uint32_t type, value;
	size_t len;
	char how[160];
	int status, rc;

	*port = 0;
	rc = ps_frame_recv(f->control, 16, &type, &payload, &len);
	if (rc == 0 && type == PS_READY) {
		ps_in_init(&in, payload, len);
		value = ps_in_u32(&in);
		free(payload);
		if (!ps_in_done(&in) || value > 65535)
			return sd_error_set(SD_E_IO, "signerd-front sent a malformed ready message");
		*port = (uint16_t)value;
		return 0;
	}
	free(payload);
	if (rc == 0 || rc == SD_E_TOO_LARGE)
		return sd_error_set(SD_E_IO, "signerd-front sent message type %u before it was ready", type);
	/* The front closed its control channel: it has exited, usually having said why. */
	if (waitpid(f->pid, &status, 0) == f->pid) {
		f->pid = -1;
		ps_exit_describe(status, how, sizeof(how));
		return sd_error_set(SD_E_IO, "signerd-front %s before it was ready", how);
	}
	return sd_error_set(SD_E_IO, "signerd-front closed its control channel before it was ready");
}

int
privsep_front_fd(const struct privsep_front *f)
{
	return f->control;
}

pid_t
privsep_front_pid(const struct privsep_front *f)
{
	return f->pid;
}

/* Wait up to ms for pid; 1 when it has exited (status set), 0 if not yet. */
static int
ps_wait(pid_t pid, int *status, unsigned ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	unsigned waited;
	pid_t r;

	for (waited = 0;; waited += 10) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return 1;
		if (waited >= ms)
			return 0;
		(void)nanosleep(&tick, NULL);
	}
}

int
privsep_front_stop(struct privsep_front *f)
{
	char how[160];
	int status = 0, rc = 0;
	unsigned i;

	if (f == NULL)
		return 0;
	if (f->pid > 0) {
		/* Not serving yet, the front may wait on a channel: closing them lets it go. */
		if (f->started == 0)
			for (i = 0; i < f->n; i++)
				if (f->fds[i] >= 0)
					(void)shutdown(f->fds[i], SHUT_RDWR);
		(void)kill(f->pid, SIGTERM);
		if (!ps_wait(f->pid, &status, 30 * 1000)) {
			sd_log(SD_LOG_ERROR, "signerd-front did not stop within 30 s; killing it");
			(void)kill(f->pid, SIGKILL);
			(void)ps_wait(f->pid, &status, 60 * 1000);
		}
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			ps_exit_describe(status, how, sizeof(how));
			rc = sd_error_set(SD_E_IO, "signerd-front %s", how);
		}
	}
	/* Its ends are closed now: each serving thread reads end of file and returns. */
	for (i = 0; i < f->started; i++)
		(void)pthread_join(f->threads[i], NULL);
	for (i = 0; i < f->n; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	if (f->control >= 0)
		close(f->control);
	free(f->threads);
	free(f->fds);
	if (f->lock_ready)
		(void)pthread_rwlock_destroy(&f->lock);
	free(f);
	return rc;
}
