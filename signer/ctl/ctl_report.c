/*
 * signerctl audit report: what the page shows, gathered (ctl_report.h).
 * The journal is read twice and never held: once by the verifier, once by
 * a streaming pass that only adds to fixed-size tables and rings, so that
 * memory does not grow with the journal.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl_audit.h"
#include "ctl_report.h"
#include "journal.h"
#include "journal/checkpoint_note.h"
#include "sd_file.h"
#include "sd_time.h"
#include "witness/witness.h"

#define CR_MS_PER_DAY INT64_C(86400000)
/*
 * Intents waiting for their result, by seq modulo this: a result finds
 * its intent's profile and client here. Results follow their intents
 * within the requests in flight, far fewer than this; an intent pushed
 * out counts its result under CR_NO_INTENT.
 */
#define CR_PENDING 4096
#define CR_NO_INTENT "(intent not in reach)"
/* The page: bounded tables make it small; this only catches a broken invariant. */
#define CR_PAGE_MAX (16 * 1024 * 1024)

struct cr_opts {
	const char *html, *journal, *export, *pubkey, *pubkey_sha256, *now;
};

struct cr_pending {
	uint64_t seq;			/* 0: free */
	size_t profile, client;		/* slots */
};

struct cr_walk {
	struct ctl_report *r;
	struct cr_pending *pending;	/* CR_PENDING of them */
};

int64_t
ctl_report_day(int64_t time_ms)
{
	int64_t d = time_ms / CR_MS_PER_DAY;

	/* C division truncates toward zero: a time before 1970 belongs to the day before. */
	if (time_ms % CR_MS_PER_DAY < 0)
		d--;
	return d;
}

int
ctl_report_key_slot(struct ctl_report_keys *k, const char *name, size_t *slot)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		name = "-";
	for (i = 0; i < k->n; i++) {
		if (strcmp(k->keys[i].name, name) == 0) {
			*slot = i;
			return 0;
		}
	}
	if (k->n == CTL_REPORT_KEYS_MAX) {
		*slot = CTL_REPORT_KEYS_MAX;
		return 0;
	}
	/* Journal texts are at most JOURNAL_TEXT_MAX bytes: strndup bounds a copy all the same. */
	if ((k->keys[k->n].name = strndup(name, JOURNAL_TEXT_MAX)) == NULL)
		return SD_E_NOMEM;
	*slot = k->n++;
	return 0;
}

void
ctl_report_key_add(struct ctl_report_keys *k, size_t slot, int64_t day, int64_t first_day, uint64_t n)
{
	struct ctl_report_key *key;

	if (slot > k->n && slot != CTL_REPORT_KEYS_MAX)
		abort();
	key = slot == CTL_REPORT_KEYS_MAX ? &k->others : &k->keys[slot];
	key->total += n;
	if (day >= first_day && day - first_day < CTL_REPORT_DAYS)
		key->days[day - first_day] += n;
}

int
ctl_report_count(struct ctl_report_keys *k, const char *name, int64_t day, int64_t first_day)
{
	size_t slot;
	int rc;

	if ((rc = ctl_report_key_slot(k, name, &slot)) != 0)
		return rc;
	ctl_report_key_add(k, slot, day, first_day, 1);
	return 0;
}

int
ctl_report_summary(struct ctl_report_keys *k, const char *detail, uint64_t count, int64_t day, int64_t first_day)
{
	char name[JOURNAL_SHORT_MAX + 1];
	const char *p = detail != NULL ? detail : "", *eq, *end;
	uint64_t left = count, n;
	size_t slot, len;
	char *num_end;
	int rc;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL || eq == p || (size_t)(eq - p) > JOURNAL_SHORT_MAX ||
		    eq[1] < '0' || eq[1] > '9')
			break;
		n = strtoull(eq + 1, &num_end, 10);
		if (num_end != end || n > left)
			break;
		len = (size_t)(eq - p);
		memcpy(name, p, len);
		name[len] = '\0';
		if ((rc = ctl_report_key_slot(k, name, &slot)) != 0)
			return rc;
		ctl_report_key_add(k, slot, day, first_day, n);
		left -= n;
		p = end;
	}
	if (left > 0) {
		if ((rc = ctl_report_key_slot(k, CTL_REPORT_SUMMARIZED, &slot)) != 0)
			return rc;
		ctl_report_key_add(k, slot, day, first_day, left);
	}
	return 0;
}

void
ctl_report_keys_free(struct ctl_report_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++)
		free(k->keys[i].name);
	free(k);
}

void
ctl_report_text(char *out, size_t cap, const char *text)
{
	size_t len, cut;

	if (cap < 4)
		abort();
	if (text == NULL)
		text = "";
	len = strlen(text);
	if (len < cap) {
		memcpy(out, text, len + 1);
		return;
	}
	/* Room for "…" (3 bytes) and the NUL; back off to the start of a UTF-8 character. */
	cut = cap - 4;
	while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(out, text, cut);
	memcpy(out + cut, "\xe2\x80\xa6", 4);
}

static struct ctl_report_event *
cr_event(struct ctl_report_events *e, const struct journal_record *rec)
{
	struct ctl_report_event *ev = &e->ev[e->total % CTL_REPORT_EVENTS];

	e->total++;
	memset(ev, 0, sizeof(*ev));
	ev->seq = rec->seq;
	ev->time_ms = rec->time_ms;
	return ev;
}

static const char *
cr_phase(uint8_t phase)
{
	switch (phase) {
	case JOURNAL_CEREMONY_BEGIN: return "begin";
	case JOURNAL_CEREMONY_DONE: return "done";
	case JOURNAL_CEREMONY_FAILED: return "failed";
	default: return "?";
	}
}

static const char *
cr_service(uint8_t event)
{
	switch (event) {
	case JOURNAL_SERVICE_START: return "start";
	case JOURNAL_SERVICE_STOP: return "stop";
	case JOURNAL_SERVICE_RELOAD: return "reload";
	default: return "?";
	}
}

static int
cr_issued(struct cr_walk *w, const struct journal_record *rec, int64_t day)
{
	struct ctl_report *r = w->r;
	struct cr_pending *p;
	size_t profile, client;
	int rc;

	r->issued++;
	if (day < r->first_day)
		r->issued_before++;
	else if (day - r->first_day >= CTL_REPORT_DAYS)
		r->issued_after++;
	if (rec->type == JOURNAL_REC_ISSUANCE) {
		if ((rc = ctl_report_key_slot(r->profiles, rec->profile, &profile)) != 0 ||
		    (rc = ctl_report_key_slot(r->clients, rec->client_subject, &client)) != 0)
			return rc;
	} else {
		p = &w->pending[rec->intent_seq % CR_PENDING];
		if (p->seq == rec->intent_seq && p->seq != 0) {
			profile = p->profile;
			client = p->client;
			p->seq = 0;
		} else if ((rc = ctl_report_key_slot(r->profiles, CR_NO_INTENT, &profile)) != 0 ||
		    (rc = ctl_report_key_slot(r->clients, CR_NO_INTENT, &client)) != 0) {
			return rc;
		}
	}
	ctl_report_key_add(r->profiles, profile, day, r->first_day, 1);
	ctl_report_key_add(r->clients, client, day, r->first_day, 1);
	return 0;
}

static int
cr_visit(uint64_t key, const uint8_t *raw, size_t len, void *ctx)
{
	struct cr_walk *w = ctx;
	struct ctl_report *r = w->r;
	struct journal_record *rec = NULL;
	struct ctl_report_event *ev;
	struct cr_pending *p;
	char hex[65];
	const char *colon;
	int64_t day;
	int rc;

	(void)key;
	r->records++;
	/* A record that does not decode is the verifier's to name; here it is only counted. */
	if ((rc = journal_record_decode(raw, len, &rec)) != 0) {
		r->by_type[0]++;
		return rc == SD_E_NOMEM ? rc : 0;
	}
	if (rec->type < sizeof(r->by_type) / sizeof(r->by_type[0]))
		r->by_type[rec->type]++;
	day = ctl_report_day(rec->time_ms);
	rc = 0;
	switch (rec->type) {
	case JOURNAL_REC_INTENT:
	case JOURNAL_REC_INTENT_TBS:
		p = &w->pending[rec->seq % CR_PENDING];
		p->seq = rec->seq;
		if ((rc = ctl_report_key_slot(r->profiles, rec->profile, &p->profile)) != 0 ||
		    (rc = ctl_report_key_slot(r->clients, rec->client_subject, &p->client)) != 0)
			p->seq = 0;
		break;
	case JOURNAL_REC_ISSUANCE:
	case JOURNAL_REC_RESULT:
		rc = cr_issued(w, rec, day);
		break;
	case JOURNAL_REC_REFUSAL:
		r->refused++;
		if ((rc = ctl_report_count(r->reasons, rec->reason, day, r->first_day)) != 0)
			break;
		ev = cr_event(&r->refusals, rec);
		ctl_report_text(ev->what, sizeof(ev->what), rec->reason);
		ctl_report_text(ev->who, sizeof(ev->who), rec->client_subject);
		ctl_report_text(ev->extra, sizeof(ev->extra), rec->profile);
		ctl_report_text(ev->detail, sizeof(ev->detail), rec->detail);
		break;
	case JOURNAL_REC_REFUSAL_SUMMARY:
		/* "api https: slug=count ...": the front's answers, which may repeat the core's refusals. */
		if (rec->detail != NULL && strncmp(rec->detail, "api ", 4) == 0 && (colon = strchr(rec->detail, ':')) != NULL) {
			r->api_refused += rec->count;
			rc = ctl_report_summary(r->api_reasons, colon + 1, rec->count, day, r->first_day);
			break;
		}
		r->refused_summarized += rec->count;
		rc = ctl_report_summary(r->reasons, rec->detail, rec->count, day, r->first_day);
		break;
	case JOURNAL_REC_CEREMONY:
		ev = cr_event(&r->ceremonies, rec);
		if (snprintf(ev->what, sizeof(ev->what), "%.*s %s", CTL_REPORT_TEXT_MAX - 8,
		    rec->reason != NULL ? rec->reason : "", cr_phase(rec->phase)) < 0)
			ev->what[0] = '\0';
		ctl_report_text(ev->who, sizeof(ev->who), rec->actor);
		ctl_report_text(ev->extra, sizeof(ev->extra), rec->key_uri);
		ctl_report_text(ev->detail, sizeof(ev->detail), rec->detail);
		break;
	case JOURNAL_REC_SERVICE:
		ev = cr_event(&r->services, rec);
		ctl_report_text(ev->what, sizeof(ev->what), cr_service(rec->event));
		sd_hex_encode(rec->config_sha256, JOURNAL_HASH_LEN, hex);
		ctl_report_text(ev->extra, sizeof(ev->extra), hex);
		ctl_report_text(ev->detail, sizeof(ev->detail), rec->detail);
		break;
	case JOURNAL_REC_CHECKPOINT:
		r->checkpoints++;
		r->last_cp_seq = rec->seq;
		r->last_cp_tree_size = rec->tree_size;
		r->last_cp_time_ms = rec->time_ms;
		break;
	case JOURNAL_REC_REVOCATION:
		r->revocations++;
		break;
	case JOURNAL_REC_CRL:
		r->crls++;
		break;
	case JOURNAL_REC_ACME:
		r->acme++;
		break;
	default:
		break;
	}
	journal_record_free(rec);
	return rc;
}

/* Certificates valid at r->now, and those of them expiring within 7 and 30 days, from the index. */
static int
cr_certs(struct journal *j, struct ctl_report *r)
{
	struct journal_cert_query q;
	struct journal_cert_page *page = NULL;
	char *cursor = NULL;
	uint64_t through = 0, last = 0;
	size_t i;
	int rc;

	if ((rc = journal_certs_indexed(j, &through, &last)) == SD_E_NOT_FOUND) {
		(void)snprintf(r->certs_note, sizeof(r->certs_note),
		    "the journal has no certificate index (signerctl certs reindex)");
		return 0;
	}
	if (rc != 0)
		return rc;
	if (through < last)
		(void)snprintf(r->certs_note, sizeof(r->certs_note), "the certificate index covers records 1 to %"
		    PRIu64 " of %" PRIu64 ": later certificates are not counted", through, last);
	do {
		memset(&q, 0, sizeof(q));
		q.has_valid_at = true;
		q.valid_at = r->now;
		q.cursor = cursor;
		q.limit = JOURNAL_CERTS_LIMIT_MAX;
		if ((rc = journal_certs_list(j, &q, &page)) != 0)
			goto out;
		for (i = 0; i < page->n; i++) {
			if (page->items[i]->revoked) {
				r->valid_revoked++;
				continue;
			}
			r->valid++;
			if (page->items[i]->not_after < r->now + 7 * 86400)
				r->expiring7++;
			if (page->items[i]->not_after < r->now + 30 * 86400)
				r->expiring30++;
		}
		free(cursor);
		cursor = NULL;
		/* The page owns its cursor: keep a copy for the next query. */
		if (page->next_cursor != NULL && (cursor = strdup(page->next_cursor)) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		journal_cert_page_free(page);
		page = NULL;
	} while (cursor != NULL);
	r->have_certs = true;
	rc = 0;
out:
	journal_cert_page_free(page);
	free(cursor);
	return rc;
}

static int
cr_usage(void)
{
	fprintf(stderr,
	    "usage: signerctl [-c CONFIG] audit report --html OUT.html [--journal DIR | --export FILE]\n"
	    "           [--pubkey PEM] [--pubkey-sha256 HEX] [--now RFC3339]\n");
	return 2;
}

static int
cr_parse(int argc, char **argv, struct cr_opts *o)
{
	static const struct option options[] = {
		{ "html", required_argument, NULL, 'o' },
		{ "journal", required_argument, NULL, 'j' },
		{ "export", required_argument, NULL, 'e' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "pubkey-sha256", required_argument, NULL, 'P' },
		{ "now", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'o': o->html = optarg; break;
		case 'j': o->journal = optarg; break;
		case 'e': o->export = optarg; break;
		case 'p': o->pubkey = optarg; break;
		case 'P': o->pubkey_sha256 = optarg; break;
		case 'n': o->now = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc || o->html == NULL || o->html[0] == '\0' || (o->journal != NULL && o->export != NULL))
		return -1;
	return 0;
}

static int
cr_open(const char *config_path, const struct cr_opts *o, struct ctl_report *r, struct journal **j)
{
	struct sd_config *cfg = NULL;
	const char *path = o->journal;
	int rc;

	*j = NULL;
	if (o->export != NULL) {
		r->from_export = true;
		(void)snprintf(r->source, sizeof(r->source), "export %s", o->export);
		return 0;
	}
	if (path == NULL) {
		if ((rc = sd_config_load(config_path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0)
			goto out;
		path = cfg->journal_path;
	}
	(void)snprintf(r->source, sizeof(r->source), "journal %s", path);
	if ((size_t)snprintf(r->journal_dir, sizeof(r->journal_dir), "%s", path) >= sizeof(r->journal_dir))
		r->journal_dir[0] = '\0';
	rc = journal_open_readonly(path, j);
out:
	sd_config_free(cfg);
	return rc;
}

/*
 * The names of the witnesses whose cosignature of the newest checkpoint is
 * stored beside the journal (signerctl audit witness submit). Not verified
 * here: the page has no witness keys; audit verify --witness-key checks them.
 */
static void
cr_cosigned(struct journal *j, struct ctl_report *r)
{
	struct journal_record *rec = NULL;
	struct witness_checkpoint cp;
	struct witness_note wn;
	char *note = NULL;
	size_t i, used = 0;
	int n;

	r->cosigned[0] = '\0';
	if (j == NULL || r->last_cp_seq == 0 || r->journal_dir[0] == '\0' || journal_get(j, r->last_cp_seq, &rec) != 0)
		return;
	if (rec->note != NULL && witness_note_parse(rec->note, strlen(rec->note), &wn) == 0 &&
	    witness_checkpoint_parse(rec->note, wn.text_len, &cp) == 0 &&
	    witness_store_newest(r->journal_dir, cp.origin, &r->cosigned_newest) != 0)
		memset(&r->cosigned_newest, 0, sizeof(r->cosigned_newest));
	if (rec->note != NULL && witness_store_cosigned(r->journal_dir, rec->note, &note) == 0 &&
	    witness_note_parse(note, strlen(note), &wn) == 0) {
		/* The first line is the log's own. */
		for (i = 1; i < wn.nsigs; i++) {
			n = snprintf(r->cosigned + used, sizeof(r->cosigned) - used, "%s%.*s", used > 0 ? ", " : "",
			    (int)wn.sigs[i].name_len, wn.sigs[i].name);
			if (n < 0 || (size_t)n >= sizeof(r->cosigned) - used)
				break;
			used += (size_t)n;
		}
	}
	free(note);
	journal_record_free(rec);
}

static int
cr_stream_add(uint64_t key, const uint8_t *raw, size_t len, void *ctx)
{
	return journal_stream_add(ctx, key, raw, len, NULL);
}

/*
 * The full verification, as audit verify makes it. Only an error that keeps
 * it from running is returned; every verdict, a bad key included, goes to r.
 */
static int
cr_verify(const char *config_path, const struct cr_opts *o, struct journal *j, struct ctl_report *r)
{
	struct journal_verify_report vr;
	struct journal_audit_key key;
	struct journal_stream *s = NULL;
	uint8_t pin[32], fp[32];
	uint64_t other = 0, count = 0;
	bool have = false;
	int rc;

	memset(&vr, 0, sizeof(vr));
	if (o->pubkey_sha256 != NULL && checkpoint_fingerprint_parse(o->pubkey_sha256, pin) != 0)
		return SD_E_INVAL;
	rc = ctl_audit_key(config_path, j, o->export, o->pubkey, o->pubkey_sha256 != NULL ? pin : NULL, &key, fp,
	    &have, &other);
	if (rc == SD_E_INVAL || rc == SD_E_NOT_FOUND) {
		/* The key the auditor pinned is not to be had: nothing can be said to verify. */
		(void)snprintf(r->verdict, sizeof(r->verdict), "audit key: %s", sd_error_detail(rc));
		return 0;
	}
	if (rc != 0)
		return rc;
	r->key_checked = have;
	if (have)
		sd_hex_encode(fp, 32, r->key_fp);
	if (o->export != NULL) {
		if ((rc = journal_stream_new(have ? &key : NULL, &s)) != 0)
			return rc;
		if ((rc = ctl_audit_export_walk(o->export, cr_stream_add, s, &count)) == 0)
			rc = journal_stream_finish(s);
		journal_stream_report(s, &vr);
		journal_stream_free(s);
	} else {
		rc = journal_verify_full(j, have ? &key : NULL, &vr);
	}
	if (rc == SD_E_JOURNAL_CORRUPT) {
		r->bad_seq = vr.bad_seq;
		if (vr.bad_seq != 0)
			(void)snprintf(r->verdict, sizeof(r->verdict), "journal does NOT verify: first bad record %" PRIu64
			    ": %s", vr.bad_seq, sd_error_detail(rc));
		else
			(void)snprintf(r->verdict, sizeof(r->verdict), "journal does NOT verify: %s", sd_error_detail(rc));
		return 0;
	}
	if (rc != 0)
		return rc;
	if (other != 0) {
		(void)snprintf(r->verdict, sizeof(r->verdict), "audit key ceremony does NOT match: record %" PRIu64
		    " made another [journal] audit_key", other);
		return 0;
	}
	r->verified = true;
	r->open_intents = vr.open_intents;
	r->first_open_intent = vr.first_open_intent;
	r->unresolved = vr.unresolved;
	r->first_unresolved = vr.first_unresolved;
	(void)snprintf(r->verdict, sizeof(r->verdict), "journal verifies: %" PRIu64 " records, %s, %" PRIu64
	    " checkpoints (roots%s)", vr.count, o->export != NULL ?
	    "hash chain intact, Merkle tree recomputed (an export has no stored nodes or indexes to check)" :
	    "hash chain intact, Merkle nodes and indexes match", vr.checkpoints,
	    have ? " and signatures" : " only: no audit key, signatures NOT checked");
	return 0;
}

static struct ctl_report *
cr_new(void)
{
	struct ctl_report *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->profiles = calloc(1, sizeof(*r->profiles))) == NULL ||
	    (r->clients = calloc(1, sizeof(*r->clients))) == NULL ||
	    (r->reasons = calloc(1, sizeof(*r->reasons))) == NULL ||
	    (r->api_reasons = calloc(1, sizeof(*r->api_reasons))) == NULL) {
		ctl_report_keys_free(r->profiles);
		ctl_report_keys_free(r->clients);
		ctl_report_keys_free(r->reasons);
		free(r);
		return NULL;
	}
	return r;
}

static void
cr_free(struct ctl_report *r)
{
	if (r == NULL)
		return;
	ctl_report_keys_free(r->profiles);
	ctl_report_keys_free(r->clients);
	ctl_report_keys_free(r->reasons);
	ctl_report_keys_free(r->api_reasons);
	free(r);
}

/* The page into memory, then atomically to path: a reader never sees half a report. */
static int
cr_write(const char *path, const struct ctl_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return SD_E_NOMEM;
	rc = ctl_report_html_write(f, r);
	if (fclose(f) != 0 && rc == 0)
		rc = sd_error_set(SD_E_IO, "cannot write the page");
	if (rc == 0 && len > CR_PAGE_MAX)
		rc = sd_error_set(SD_E_TOO_LARGE, "the page is over %d bytes", CR_PAGE_MAX);
	if (rc == 0)
		rc = sd_file_write(path, buf, len, 0644, 1);
	free(buf);
	return rc;
}

int
ctl_report_main(const char *config_path, int argc, char **argv)
{
	struct ctl_report *r = NULL;
	struct journal *j = NULL;
	struct cr_walk w = { NULL, NULL };
	struct cr_opts o;
	uint64_t count = 0;
	uint8_t pin[32];
	int rc, status = 1;

	if (cr_parse(argc, argv, &o) != 0)
		return cr_usage();
	if (o.pubkey_sha256 != NULL && checkpoint_fingerprint_parse(o.pubkey_sha256, pin) != 0) {
		fprintf(stderr, "signerctl: --pubkey-sha256: %s\n", sd_error_detail(SD_E_INVAL));
		return 2;
	}
	if ((r = cr_new()) == NULL || (w.pending = calloc(CR_PENDING, sizeof(*w.pending))) == NULL) {
		rc = SD_E_NOMEM;
		goto fail;
	}
	w.r = r;
	if (o.now != NULL) {
		if (sd_time_parse(o.now, &r->now) != 0) {
			fprintf(stderr, "signerctl: --now: %s\n", sd_error_detail(SD_E_INVAL));
			status = 2;
			goto out;
		}
	} else {
		r->now = (int64_t)time(NULL);
	}
	r->first_day = ctl_report_day(r->now * 1000) - (CTL_REPORT_DAYS - 1);
	if ((rc = cr_open(config_path, &o, r, &j)) != 0 || (rc = cr_verify(config_path, &o, j, r)) != 0)
		goto fail;
	if (j != NULL)
		rc = journal_foreach_raw(j, 1, cr_visit, &w);
	else
		rc = ctl_audit_export_walk(o.export, cr_visit, &w, &count);
	/* A tampered journal still gets its page: what could be read is counted, the verdict says the rest. */
	if (rc != 0 && rc != SD_E_JOURNAL_CORRUPT)
		goto fail;
	if (j != NULL && (rc = cr_certs(j, r)) != 0)
		goto fail;
	cr_cosigned(j, r);
	if (j == NULL)
		(void)snprintf(r->certs_note, sizeof(r->certs_note),
		    "not counted: an export has no certificate index (report from the journal directory)");
	if ((rc = cr_write(o.html, r)) != 0)
		goto fail;
	printf("%s\n", r->verdict);
	if (r->open_intents > 0)
		printf("WARNING: %" PRIu64 " intents without a result (first: record %" PRIu64 ")\n", r->open_intents,
		    r->first_open_intent);
	if (r->unresolved > 0)
		printf("WARNING: %" PRIu64 " intents with outcome unknown (first unresolved record: %" PRIu64 ")\n",
		    r->unresolved, r->first_unresolved);
	printf("report written to %s\n", o.html);
	status = 0;
	goto out;
fail:
	fprintf(stderr, "signerctl: audit report: %s\n", sd_error_detail(rc));
	status = 1;
out:
	journal_close(j);
	free(w.pending);
	cr_free(r);
	return status;
}
