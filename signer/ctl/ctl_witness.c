/*
 * signerctl audit witness keygen|vkey|serve: the C2SP witness an auditor
 * runs on a machine of their own (signer/witness/witness.h). Its key is a
 * file of the auditor's, never an object of the signerd token.
 */
#include <getopt.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_witness.h"
#include "config.h"
#include "journal.h"
#include "sd_file.h"
#include "sd_log.h"
#include "witness/witness.h"

#define CW_LOGS_MAX 16

struct cw_opts {
	const char *key, *name, *state, *listen, *ready_file, *journal;
	const char *logs[CW_LOGS_MAX];
	size_t nlogs;
	const char *witnesses[CONFIG_LIST_MAX];
	size_t nwitnesses;
	long port, interval;
	bool follow;
};

static void cw_time(uint64_t t, char out[32]);

static int
cw_usage(void)
{
	fprintf(stderr,
	    "usage: signerctl audit witness keygen --key FILE --name NAME\n"
	    "       signerctl audit witness vkey --key FILE --name NAME\n"
	    "       signerctl audit witness serve --key FILE --name NAME --log-key FILE [--log-key FILE ...]\n"
	    "           --state DIR [--listen ADDR] [--port N] [--ready-file FILE]\n"
	    "       signerctl [-c CONFIG] audit witness submit [--journal DIR] [--witness 'VKEY URL' ...]\n"
	    "           [--follow [--interval S]]\n"
	    "  submit: the journal's newest checkpoint to each [journal] witness (or --witness), the\n"
	    "  cosignatures stored in the journal's directory (cosignatures/); --follow: each new one,\n"
	    "  every S seconds (default 2), until SIGTERM\n"
	    "  --log-key: the log's vkey line (name+id+key, type 01), or its Ed25519 PEM public key\n"
	    "  (signerctl audit pubkey), which takes the origin each checkpoint names\n");
	return 2;
}

static int
cw_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: %s: %s\n", what, sd_error_detail(rc));
	return 1;
}

static int
cw_parse(int argc, char **argv, struct cw_opts *o)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "log-key", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "journal", required_argument, NULL, 'j' },
		{ "witness", required_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1";
	o->port = 0;
	o->interval = 2;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'k': o->key = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': o->state = optarg; break;
		case 'a': o->listen = optarg; break;
		case 'r': o->ready_file = optarg; break;
		case 'j': o->journal = optarg; break;
		case 'w':
			if (o->nwitnesses == CONFIG_LIST_MAX)
				return -1;
			o->witnesses[o->nwitnesses++] = optarg;
			break;
		case 'l':
			if (o->nlogs == CW_LOGS_MAX)
				return -1;
			o->logs[o->nlogs++] = optarg;
			break;
		case 'f': o->follow = true; break;
		case 'i':
			o->interval = strtol(optarg, &end, 10);
			if (*end != '\0' || optarg[0] < '1' || optarg[0] > '9' || o->interval > 3600)
				return -1;
			break;
		case 'p':
			o->port = strtol(optarg, &end, 10);
			if (*end != '\0' || optarg[0] < '0' || optarg[0] > '9' || o->port > 65535)
				return -1;
			break;
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static int
cw_print_vkey(const struct witness_signer *s)
{
	char line[WITNESS_VKEY_MAX + 1];
	int rc;

	if ((rc = witness_vkey_format(witness_signer_vkey(s), line, sizeof(line))) != 0)
		return rc;
	printf("%s\n", line);
	return 0;
}

static int
cw_keygen(const struct cw_opts *o)
{
	struct witness_signer *s = NULL;
	struct witness_vkey probe;
	static const uint8_t zero[WITNESS_ED25519_LEN];
	int rc;

	/* The name first: no key file is left behind for a name that cannot be used. */
	if ((rc = witness_vkey_make(o->name, WITNESS_TYPE_COSIG, zero, &probe)) != 0)
		return cw_fail(rc, "--name");
	if ((rc = witness_key_generate(o->key)) != 0)
		return cw_fail(rc, "witness keygen");
	if ((rc = witness_signer_load(o->key, o->name, &s)) != 0 || (rc = cw_print_vkey(s)) != 0) {
		witness_signer_free(s);
		return cw_fail(rc, "witness keygen");
	}
	witness_signer_free(s);
	return 0;
}

static int
cw_vkey(const struct cw_opts *o)
{
	struct witness_signer *s = NULL;
	int rc;

	if ((rc = witness_signer_load(o->key, o->name, &s)) != 0 || (rc = cw_print_vkey(s)) != 0) {
		witness_signer_free(s);
		return cw_fail(rc, "witness vkey");
	}
	witness_signer_free(s);
	return 0;
}

static int
cw_serve(const struct cw_opts *o)
{
	struct witness_vkey logs[CW_LOGS_MAX];
	struct witness_signer *s = NULL;
	struct witness_http *h = NULL;
	struct witness *w = NULL;
	char line[WITNESS_VKEY_MAX + 1], port[16];
	uint16_t bound = 0;
	sigset_t set;
	size_t i;
	int rc, n, sig = 0;

	if (o->state == NULL || o->nlogs == 0)
		return cw_usage();
	sd_log_init("signerctl-witness", false);
	for (i = 0; i < o->nlogs; i++)
		if ((rc = witness_vkey_load(o->logs[i], WITNESS_TYPE_ED25519, &logs[i])) != 0)
			return cw_fail(rc, "--log-key");
	if ((rc = witness_signer_load(o->key, o->name, &s)) != 0)
		return cw_fail(rc, "--key");
	if ((rc = witness_vkey_format(witness_signer_vkey(s), line, sizeof(line))) != 0) {
		witness_signer_free(s);
		return cw_fail(rc, "--name");
	}
	/* Blocked before any thread starts, so that only sigwait() below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
		witness_signer_free(s);
		return cw_fail(sd_error_set(SD_E_INTERNAL, "cannot block signals"), "witness serve");
	}
	if ((rc = witness_open(o->state, s, logs, o->nlogs, &w)) != 0)
		return cw_fail(rc, "--state");
	if ((rc = witness_http_start(w, o->listen, (uint16_t)o->port, &h, &bound)) != 0) {
		witness_close(w);
		return cw_fail(rc, "witness serve");
	}
	printf("witness %s listening on http://%s:%u\n", line, o->listen, (unsigned)bound);
	(void)fflush(stdout);
	if (o->ready_file != NULL) {
		n = snprintf(port, sizeof(port), "%u\n", (unsigned)bound);
		if (n < 0 || (size_t)n >= sizeof(port))
			rc = sd_error_set(SD_E_INTERNAL, "port truncated");
		else
			rc = sd_file_write(o->ready_file, port, (size_t)n, 0644, 1);
		if (rc != 0) {
			witness_http_stop(h);
			witness_close(w);
			return cw_fail(rc, "--ready-file");
		}
	}
	while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
		;
	witness_http_stop(h);
	witness_close(w);
	return 0;
}

/* A witness of submit, and (--follow) where it stands. */
struct cw_target {
	struct witness_target t;
	uint64_t done;			/* checkpoint record last cosigned */
	time_t next;			/* no try before (after a failure) */
	unsigned backoff;		/* s */
};

#define CW_BACKOFF_MAX 60U

/* One pass: each witness that has not cosigned the newest checkpoint gets it. 0, or 1 when one failed. */
static int
cw_submit_pass(const char *dir, struct cw_target *ts, size_t n, bool follow)
{
	struct journal *j = NULL;
	uint64_t size, when, seq = 0;
	time_t now = time(NULL);
	char at[32];
	size_t i;
	int rc, status = 0;

	if ((rc = journal_open_readonly(dir, &j)) != 0 || (rc = journal_last_checkpoint(j, &seq)) != 0) {
		fprintf(stderr, "signerctl: journal: %s\n", sd_error_detail(rc));
		journal_close(j);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (follow && (seq == 0 || ts[i].done == seq || now < ts[i].next))
			continue;
		if ((rc = witness_submit(j, dir, &ts[i].t, &size, &when)) != 0) {
			fprintf(stderr, "signerctl: witness %s: %s\n", ts[i].t.vk.name, sd_error_detail(rc));
			/* Retried from 1 s, doubling to CW_BACKOFF_MAX: a witness that is down is not hammered. */
			ts[i].backoff = ts[i].backoff == 0 ? 1 : ts[i].backoff * 2;
			if (ts[i].backoff > CW_BACKOFF_MAX)
				ts[i].backoff = CW_BACKOFF_MAX;
			ts[i].next = now + (time_t)ts[i].backoff;
			status = 1;
			continue;
		}
		ts[i].done = seq;
		ts[i].backoff = 0;
		cw_time(when, at);
		printf("witness %s cosigned tree size %llu at %s\n", ts[i].t.vk.name, (unsigned long long)size, at);
	}
	(void)fflush(stdout);
	(void)fflush(stderr);
	journal_close(j);
	return status;
}

/*
 * The journal's newest checkpoint to each witness: read-only on the
 * journal (beside a running signerd), the cosignatures written beside it.
 * --follow: again each --interval seconds for each new checkpoint, until
 * SIGINT or SIGTERM (a service beside signerd: issuance never waits on it).
 */
static int
cw_submit(const char *config_path, const struct cw_opts *o)
{
	const char *const *items = o->witnesses;
	struct sd_config *cfg = NULL;
	struct cw_target *ts = NULL;
	const char *dir = o->journal;
	struct timespec wait;
	size_t i, n = o->nwitnesses;
	sigset_t set;
	int rc, status = 0;

	if (dir == NULL || n == 0) {
		if ((rc = sd_config_load(config_path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0) {
			sd_config_free(cfg);
			return cw_fail(rc, "configuration");
		}
		if (dir == NULL)
			dir = cfg->journal_path;
		if (n == 0) {
			items = (const char *const *)cfg->journal_witness;
			n = cfg->n_journal_witness;
		}
	}
	if (n == 0) {
		sd_config_free(cfg);
		fprintf(stderr, "signerctl: no witness: [journal] witness = VKEY URL, or --witness 'VKEY URL'\n");
		return 2;
	}
	if ((ts = calloc(n, sizeof(*ts))) == NULL) {
		sd_config_free(cfg);
		return cw_fail(SD_E_NOMEM, "witness submit");
	}
	for (i = 0; i < n; i++) {
		if ((rc = witness_target_parse(items[i], &ts[i].t)) != 0) {
			fprintf(stderr, "signerctl: witness '%s': %s\n", items[i], sd_error_detail(rc));
			status = 1;
			goto out;
		}
	}
	if (!o->follow) {
		status = cw_submit_pass(dir, ts, n, false);
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
		status = cw_fail(sd_error_set(SD_E_INTERNAL, "cannot block signals"), "witness submit");
		goto out;
	}
	for (;;) {
		(void)cw_submit_pass(dir, ts, n, true);
		wait.tv_sec = (time_t)o->interval;
		wait.tv_nsec = 0;
		rc = sigtimedwait(&set, NULL, &wait);
		if (rc == SIGINT || rc == SIGTERM)
			break;
	}
out:
	free(ts);
	sd_config_free(cfg);
	return status;
}

int
ctl_witness_main(const char *config_path, int argc, char **argv)
{
	struct cw_opts o;

	if (argc < 1 || cw_parse(argc, argv, &o) != 0)
		return cw_usage();
	if (strcmp(argv[0], "submit") == 0)
		return cw_submit(config_path, &o);
	if (o.key == NULL || o.name == NULL)
		return cw_usage();
	if (strcmp(argv[0], "keygen") == 0)
		return cw_keygen(&o);
	if (strcmp(argv[0], "vkey") == 0)
		return cw_vkey(&o);
	if (strcmp(argv[0], "serve") == 0)
		return cw_serve(&o);
	return cw_usage();
}

static void
cw_time(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "%llu", (unsigned long long)t);
}

/*
 * The cosignature of vk stored beside the journal, checked against the
 * journal's newest checkpoint (note, cp). 0 when it cosigns that one.
 */
static int
cw_stored(const struct witness_vkey *vk, const char *note, const struct witness_note *wn,
    const struct witness_checkpoint *cp, struct journal *j, const char *dir, uint64_t records)
{
	char hex[65], path[4096], when[32];
	uint8_t *buf = NULL, root[32];
	struct witness_note sn;
	struct witness_checkpoint scp;
	size_t len = 0;
	uint64_t t = 0;
	int rc, n;

	if ((rc = witness_origin_hash(vk->name, hex)) != 0)
		return rc;
	n = snprintf(path, sizeof(path), "%s/" WITNESS_STORE_DIR "/%s", dir, hex);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sd_error_set(SD_E_TOO_LARGE, "journal path too long");
	if (sd_file_read(path, WITNESS_NOTE_MAX, &buf, &len) != 0) {
		rc = sd_error_set(SD_E_NOT_FOUND, "no cosignature of %s stored (%s)", vk->name, path);
		goto out;
	}
	if ((rc = witness_note_parse((const char *)buf, len, &sn)) != 0 ||
	    (rc = witness_checkpoint_parse((const char *)buf, sn.text_len, &scp)) != 0 ||
	    (rc = witness_cosig_verify((const char *)buf, &sn, vk, &t)) != 0)
		goto out;
	if (strcmp(scp.origin, cp->origin) != 0) {
		rc = sd_error_set(SD_E_INVAL, "%s cosigned a checkpoint of origin %s, not %s", vk->name, scp.origin, cp->origin);
		goto out;
	}
	if (scp.size > records) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s cosigned tree size %llu, but the journal holds %llu records "
		    "(records deleted from record %llu on)", vk->name, (unsigned long long)scp.size,
		    (unsigned long long)records, (unsigned long long)records + 1);
		goto out;
	}
	if ((rc = journal_tree_root(j, scp.size, root)) != 0)
		goto out;
	if (memcmp(root, scp.root, 32) != 0) {
		rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s cosigned tree size %llu with another root than the journal's "
		    "first %llu records have (history rewritten)", vk->name, (unsigned long long)scp.size,
		    (unsigned long long)scp.size);
		goto out;
	}
	if (sn.text_len != wn->text_len || memcmp(buf, note, sn.text_len) != 0) {
		rc = sd_error_set(SD_E_NOT_FOUND, "%s cosigned tree size %llu, not the newest checkpoint (tree size %llu)",
		    vk->name, (unsigned long long)scp.size, (unsigned long long)cp->size);
		goto out;
	}
	cw_time(t, when);
	printf("newest checkpoint (tree size %llu) cosigned by %s at %s (stored beside the journal)\n",
	    (unsigned long long)cp->size, vk->name, when);
	rc = 0;
out:
	free(buf);
	return rc;
}

int
ctl_witness_verify(const char *const *keys, size_t nkeys, const char *note, size_t note_len, const char *source,
    struct journal *j, const char *journal_dir, uint64_t records)
{
	struct journal_record *rec = NULL;
	struct witness_checkpoint cp;
	struct witness_note wn;
	struct witness_vkey vk;
	char when[32];
	uint64_t seq = 0, t = 0;
	size_t i;
	int rc = 0, status = 0;

	if (note == NULL) {
		if ((rc = journal_last_checkpoint(j, &seq)) != 0 || seq == 0 || (rc = journal_get(j, seq, &rec)) != 0) {
			printf("NOT witnessed: %s\n", rc != 0 ? sd_error_detail(rc) : "the journal holds no checkpoint");
			return 1;
		}
		note = rec->note;
		note_len = strlen(note);
	}
	if ((rc = witness_note_parse(note, note_len, &wn)) != 0 ||
	    (rc = witness_checkpoint_parse(note, wn.text_len, &cp)) != 0) {
		printf("NOT witnessed: the newest checkpoint%s%s: %s\n", source != NULL ? " of " : "",
		    source != NULL ? source : "", sd_error_detail(rc));
		journal_record_free(rec);
		return 1;
	}
	for (i = 0; i < nkeys; i++) {
		if ((rc = witness_vkey_load(keys[i], WITNESS_TYPE_COSIG, &vk)) != 0) {
			printf("NOT witnessed: --witness-key %s\n", sd_error_detail(rc));
			status = 1;
			continue;
		}
		if (rec != NULL) {
			rc = cw_stored(&vk, note, &wn, &cp, j, journal_dir, records);
		} else if ((rc = witness_cosig_verify(note, &wn, &vk, &t)) == 0) {
			cw_time(t, when);
			printf("newest checkpoint of %s (tree size %llu) cosigned by %s at %s\n", source,
			    (unsigned long long)cp.size, vk.name, when);
		}
		if (rc != 0) {
			printf("newest checkpoint (tree size %llu) NOT witnessed by %s: %s\n", (unsigned long long)cp.size,
			    vk.name, sd_error_detail(rc));
			status = 1;
		}
	}
	journal_record_free(rec);
	return status;
}
