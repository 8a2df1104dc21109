/*
 * signerctl audit ... and journal backup, and ceremony records (ctl_audit.h).
 * Everything an auditor needs works from a journal directory or a JSON-lines
 * export plus an exported audit public key: no HSM, no signerd.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ctl_audit.h"
#include "ctl_report.h"
#include "ctl_witness.h"
#include "hsm.h"
#include "journal.h"
#include "journal/checkpoint_note.h"
#include "journal/merkle.h"
#include "sd_file.h"
#include "sd_time.h"
#include "witness/witness.h"

#define CA_EXPORT_LINE_MAX (256 * 1024)
#define CA_CHECKPOINT_FILE_MAX (4 * 1024 * 1024)

struct ca_opts {
	const char *journal, *export, *checkpoint, *pubkey, *pubkey_sha256, *serial;
	const char *witness_keys[CTL_WITNESS_KEYS_MAX];
	size_t nwitness;
	uint64_t from;
	bool sha256, key_id;		/* audit pubkey: print the fingerprint, the checkpoint key id */
	int nargs;
	char **args;
};

static int
ca_usage(void)
{
	fprintf(stderr,
	    "usage: signerctl [-c CONFIG] audit verify [--journal DIR | --export FILE] [--checkpoint FILE]\n"
	    "           [--pubkey PEM] [--pubkey-sha256 HEX] [--witness-key VKEYFILE ...]\n"
	    "       signerctl [-c CONFIG] audit export [--journal DIR] [--from SEQ]\n"
	    "       signerctl [-c CONFIG] audit show SEQ [--journal DIR]\n"
	    "       signerctl [-c CONFIG] audit find --serial HEX [--journal DIR]\n"
	    "       signerctl [-c CONFIG] audit prove --serial HEX [--journal DIR]\n"
	    "       signerctl [-c CONFIG] audit consistency OLD NEW [--journal DIR]   (tree sizes or checkpoint files)\n"
	    "       signerctl [-c CONFIG] audit pubkey [--sha256 | --key-id]\n"
	    "       signerctl [-c CONFIG] audit report --html OUT.html [--journal DIR | --export FILE]\n"
	    "           [--pubkey PEM] [--pubkey-sha256 HEX] [--now RFC3339]\n"
	    "       signerctl audit witness keygen|vkey|serve ...   (signerctl audit witness help)\n"
	    "       signerctl [-c CONFIG] journal backup DEST [--journal DIR]\n");
	return 2;
}

static int
ca_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: %s: %s\n", what, sd_error_detail(rc));
	return 1;
}

static int
ca_parse(int argc, char **argv, struct ca_opts *o)
{
	static const struct option options[] = {
		{ "journal", required_argument, NULL, 'j' },
		{ "export", required_argument, NULL, 'e' },
		{ "checkpoint", required_argument, NULL, 'k' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "pubkey-sha256", required_argument, NULL, 'P' },
		{ "sha256", no_argument, NULL, 'H' },
		{ "key-id", no_argument, NULL, 'K' },
		{ "serial", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "witness-key", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	memset(o, 0, sizeof(*o));
	o->from = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'j': o->journal = optarg; break;
		case 'e': o->export = optarg; break;
		case 'k': o->checkpoint = optarg; break;
		case 'p': o->pubkey = optarg; break;
		case 'P': o->pubkey_sha256 = optarg; break;
		case 'H': o->sha256 = true; break;
		case 'K': o->key_id = true; break;
		case 's': o->serial = optarg; break;
		case 'w':
			if (o->nwitness == CTL_WITNESS_KEYS_MAX)
				return -1;
			o->witness_keys[o->nwitness++] = optarg;
			break;
		case 'f':
			o->from = strtoull(optarg, &end, 10);
			if (*end != '\0' || optarg[0] < '0' || optarg[0] > '9')
				return -1;
			break;
		default: return -1;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

static struct sd_config *
ca_config(const char *path, bool quiet)
{
	struct sd_config *cfg = NULL;
	int rc;

	if ((rc = sd_config_load(path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0) {
		if (!quiet)
			(void)ca_fail(rc, "configuration");
		sd_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static int
ca_journal(const char *config_path, const struct ca_opts *o, struct journal **j)
{
	struct sd_config *cfg;
	int rc;

	*j = NULL;
	if (o->journal != NULL)
		return journal_open_readonly(o->journal, j);
	if ((cfg = ca_config(config_path, false)) == NULL)
		return SD_E_CONFIG;
	rc = journal_open_readonly(cfg->journal_path, j);
	sd_config_free(cfg);
	return rc;
}

/* The audit key's SPKI from the HSM named in the configuration (new buffer). */
static int
ca_hsm_spki(const char *config_path, uint8_t **spki, size_t *len)
{
	struct sd_config *cfg;
	struct hsm *hsm = NULL;
	struct hsm_key *key = NULL;
	struct hsm_config hc;
	const uint8_t *p;
	int rc;

	*spki = NULL;
	if ((cfg = ca_config(config_path, false)) == NULL)
		return SD_E_CONFIG;
	if (cfg->journal_audit_key == NULL) {
		rc = sd_error_set(SD_E_CONFIG, "%s has no [journal] audit_key", config_path);
		goto out;
	}
	hc = (struct hsm_config){ cfg->hsm_module, cfg->hsm_token_uri, cfg->hsm_pin_file, 1 };
	if ((rc = hsm_open(&hc, &hsm)) != 0 || (rc = hsm_key_find(hsm, cfg->journal_audit_key, false, &key)) != 0)
		goto out;
	p = hsm_key_spki_peek(key, len);
	if ((*spki = malloc(*len)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	memcpy(*spki, p, *len);
	rc = 0;
out:
	hsm_key_free(key);
	hsm_close(hsm);
	sd_config_free(cfg);
	return rc;
}

/* The audit key for verification: --pubkey, else the HSM's when configured; *have false when neither. */
static int
ca_audit_key(const char *config_path, const struct ca_opts *o, struct journal_audit_key *key, bool *have)
{
	struct sd_config *cfg;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*have = false;
	memset(key, 0, sizeof(*key));
	if (o->pubkey != NULL) {
		if ((rc = sd_file_read(o->pubkey, 64 * 1024, &buf, &len)) != 0)
			return rc;
		rc = checkpoint_ed25519_from_pem((const char *)buf, len, key->ed25519);
		free(buf);
		*have = rc == 0;
		return rc;
	}
	if ((cfg = ca_config(config_path, true)) == NULL)
		return 0;
	if (cfg->journal_audit_key == NULL) {
		sd_config_free(cfg);
		return 0;
	}
	sd_config_free(cfg);
	if ((rc = ca_hsm_spki(config_path, &buf, &len)) != 0)
		return rc;
	rc = checkpoint_ed25519_from_spki(buf, len, key->ed25519);
	free(buf);
	*have = rc == 0;
	return rc;
}

/* Strict base64 of a whole record. */
static int
ca_b64_decode(const char *in, size_t in_len, uint8_t **out, size_t *len)
{
	uint8_t *buf;
	size_t pad = 0;
	int n;

	*out = NULL;
	if (in_len == 0 || in_len % 4 != 0 || in_len > INT32_MAX)
		return -1;
	if ((buf = malloc(in_len / 4 * 3 + 1)) == NULL)
		return -1;
	if (in[in_len - 1] == '=')
		pad++;
	if (in[in_len - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)in_len)) < 0 || (size_t)n < pad) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)n - pad;
	return 0;
}

/*
 * Saved checkpoints in a file: each ends with its signature lines (the
 * log's, then any witnesses' cosignatures). Calls fn for each with the
 * whole note and the checkpoint its log signature line makes.
 */
typedef int (*ca_note_fn)(const char *note, size_t len, const struct checkpoint *cp, void *ctx);

/* A cosigned note: checkpoint_parse() reads the text with the origin's signature line alone. */
static int
ca_note_parse(const char *note, size_t len, struct checkpoint *cp)
{
	char one[CHECKPOINT_NOTE_MAX + 1];
	struct witness_note wn;
	const char *nl;
	size_t i, origin_len;

	/* One signature line, or no note at all: checkpoint_parse() says what it always said. */
	if (witness_note_parse(note, len, &wn) != 0 || wn.nsigs == 1)
		return checkpoint_parse(note, len, cp);
	if ((nl = memchr(note, '\n', wn.text_len)) == NULL)
		return sd_error_set(SD_E_INVAL, "checkpoint: no origin line");
	origin_len = (size_t)(nl - note);
	for (i = 0; i < wn.nsigs; i++) {
		if (wn.sigs[i].name_len != origin_len || memcmp(wn.sigs[i].name, note, origin_len) != 0)
			continue;
		if (wn.text_len + 1 + wn.sigs[i].line_len > CHECKPOINT_NOTE_MAX)
			return sd_error_set(SD_E_INVAL, "checkpoint: over %d bytes", CHECKPOINT_NOTE_MAX);
		memcpy(one, note, wn.text_len + 1);
		memcpy(one + wn.text_len + 1, wn.sigs[i].line, wn.sigs[i].line_len);
		return checkpoint_parse(one, wn.text_len + 1 + wn.sigs[i].line_len, cp);
	}
	return sd_error_set(SD_E_INVAL, "checkpoint: no signature line named after its origin");
}

static int
ca_notes(const char *path, ca_note_fn fn, void *ctx, int *count)
{
	uint8_t *buf = NULL, *nl;
	struct checkpoint cp;
	size_t len = 0, start = 0, off, next;
	bool in_sigs = false, is_sig;
	int rc = 0;

	*count = 0;
	if ((rc = sd_file_read(path, CA_CHECKPOINT_FILE_MAX, &buf, &len)) != 0)
		return rc;
	/* A note ends with its last signature line: the next line that is none starts another. */
	for (off = 0; off < len; off = next) {
		if ((nl = memchr(buf + off, '\n', len - off)) == NULL)
			break;
		next = (size_t)(nl - buf) + 1;
		is_sig = next - off > 4 && memcmp(buf + off, "\xe2\x80\x94 ", 4) == 0;
		if (in_sigs && !is_sig) {
			if ((rc = ca_note_parse((const char *)buf + start, off - start, &cp)) != 0 ||
			    (rc = fn((const char *)buf + start, off - start, &cp, ctx)) != 0)
				goto out;
			(*count)++;
			start = off;
		}
		in_sigs = is_sig;
	}
	if (in_sigs && off == len) {
		if ((rc = ca_note_parse((const char *)buf + start, len - start, &cp)) != 0 ||
		    (rc = fn((const char *)buf + start, len - start, &cp, ctx)) != 0)
			goto out;
		(*count)++;
		start = len;
	}
	if (*count == 0 || start != len)
		rc = sd_error_set(SD_E_INVAL, "%s: %s", path, *count == 0 ? "no checkpoint" : "trailing bytes after the last checkpoint");
	else
		rc = 0;
out:
	free(buf);
	return rc;
}

struct ca_saved {
	const char *path;
	int n;				/* the saved checkpoint being checked, from 1 */
	struct journal *j;		/* NULL for an export */
	struct journal_stream *s;
	const struct journal_audit_key *key;
	uint64_t size;			/* records in the journal */
	uint8_t root[32];
	uint64_t want;			/* export: the size whose root the walk captured */
};

static int
ca_saved_check(const char *note, size_t len, const struct checkpoint *cp, void *vctx)
{
	struct ca_saved *c = vctx;
	uint8_t proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN], root[32];
	char *copy, detail[256];
	size_t n = 0;
	int rc;

	c->n++;
	if (c->key != NULL) {
		if ((copy = malloc(len + 1)) == NULL)
			return SD_E_NOMEM;
		memcpy(copy, note, len);
		copy[len] = '\0';
		rc = checkpoint_verify_sig(copy, cp, c->key->ed25519);
		free(copy);
		if (rc != 0) {
			/* Name the offending one: a file holds many. */
			if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
				detail[0] = '\0';
			return sd_error_set(rc, "saved checkpoint %d in %s (tree size %llu): %s", c->n, c->path,
			    (unsigned long long)cp->size, detail);
		}
	}
	/* An export walk captured the root of one size only: the last saved checkpoint's. */
	if (c->j == NULL && cp->size != c->want)
		return 0;
	if (cp->size > c->size)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "saved checkpoint of tree size %llu, but the journal holds %llu records (records deleted from "
		    "record %llu on)", (unsigned long long)cp->size, (unsigned long long)c->size,
		    (unsigned long long)c->size + 1);
	if (c->j != NULL)
		rc = journal_tree_root(c->j, cp->size, root);
	else
		rc = journal_stream_root(c->s, root);
	if (rc != 0)
		return rc;
	if (memcmp(root, cp->root, 32) != 0)
		return sd_error_set(SD_E_JOURNAL_CORRUPT,
		    "saved checkpoint of tree size %llu: the journal's first %llu records have another root (history rewritten)",
		    (unsigned long long)cp->size, (unsigned long long)cp->size);
	/* And the RFC 9162 consistency proof from it to today's tree verifies. */
	if (c->j != NULL && cp->size > 0) {
		if ((rc = journal_consistency_proof(c->j, cp->size, c->size, proof, &n)) != 0 ||
		    (rc = merkle_consistency_verify(cp->size, c->size, cp->root, c->root, proof, n)) != 0)
			return rc == SD_E_INVAL ? sd_error_set(SD_E_JOURNAL_CORRUPT, "%s", sd_error_detail(rc)) : rc;
	}
	printf("saved checkpoint of tree size %" PRIu64 " is consistent with the journal (%" PRIu64 " records)%s\n",
	    cp->size, c->size, c->key != NULL ? ", signature verified" : "");
	return 0;
}

/* The newest note of a file (for --witness-key): a copy in a ca_last_note. */
struct ca_last_note {
	char *note;
	size_t len;
};

static int
ca_keep_last(const char *note, size_t len, const struct checkpoint *cp, void *ctx)
{
	struct ca_last_note *last = ctx;
	char *copy;

	(void)cp;
	if ((copy = malloc(len + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(copy, note, len);
	copy[len] = '\0';
	free(last->note);
	last->note = copy;
	last->len = len;
	return 0;
}

static int
ca_last_size(const char *note, size_t len, const struct checkpoint *cp, void *ctx)
{
	(void)note;
	(void)len;
	*(uint64_t *)ctx = cp->size;
	return 0;
}

/* Call fn (key 0) with each of an export's records, in order. */
static int
ca_export_walk(const char *path, journal_visit_raw_fn fn, void *ctx, uint64_t *count)
{
	FILE *f;
	char *line = NULL, *p, *q;
	uint8_t *raw = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;
	int rc = 0;

	*count = 0;
	if ((f = fopen(path, "re")) == NULL)
		return sd_error_set(SD_E_IO, "%s: cannot open", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > CA_EXPORT_LINE_MAX) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: line %llu is too long", path,
			    (unsigned long long)*count + 1);
			break;
		}
		/* Only "record" is authoritative; every other member is derived from it. */
		if ((p = strstr(line, "\"record\"")) != NULL) {
			for (p += 8; *p == ' ' || *p == ':'; p++)
				;
		}
		if (p == NULL || *p != '"' || (q = strchr(p + 1, '"')) == NULL ||
		    ca_b64_decode(p + 1, (size_t)(q - p - 1), &raw, &len) != 0) {
			rc = sd_error_set(SD_E_JOURNAL_CORRUPT, "%s: line %llu has no base64 \"record\"", path,
			    (unsigned long long)*count + 1);
			break;
		}
		rc = fn(0, raw, len, ctx);
		free(raw);
		raw = NULL;
		if (rc != 0)
			break;
		(*count)++;
	}
	free(line);
	(void)fclose(f);	/* read only: nothing to lose */
	return rc;
}

static int
ca_stream_add(uint64_t key, const uint8_t *raw, size_t len, void *ctx)
{
	return journal_stream_add(ctx, key, raw, len, NULL);
}

/*
 * The key ceremonies of Ed25519 keys in a journal: the one that made the
 * pinned key (its public key is then the journal's own), and the first
 * that made another key as the [journal] audit_key (CTL_AUDIT_KEY_ROLE).
 */
struct ca_ceremonies {
	const uint8_t *pin;
	uint64_t found_seq;		/* 0: no ceremony made the pinned key */
	uint8_t pub[CHECKPOINT_ED25519_LEN];
	uint64_t other_seq;		/* 0: none */
	uint8_t other_fp[32];
	char other_uri[256];
};

static int
ca_ceremony_visit(uint64_t key, const uint8_t *raw, size_t len, void *vctx)
{
	struct ca_ceremonies *c = vctx;
	struct journal_record *rec = NULL;
	uint8_t pub[CHECKPOINT_ED25519_LEN], fp[32];
	int rc;

	(void)key;
	/* Byte 5 is the type: only ceremony records are decoded; a bad record is the verify walk's to name. */
	if (len < 6 || raw[5] != JOURNAL_REC_CEREMONY)
		return 0;
	if ((rc = journal_record_decode(raw, len, &rec)) != 0)
		return rc == SD_E_NOMEM ? rc : 0;
	if (rec->phase != JOURNAL_CEREMONY_DONE || rec->reason == NULL || strcmp(rec->reason, "keygen") != 0 ||
	    rec->output_len == 0 || checkpoint_ed25519_from_spki(rec->output, rec->output_len, pub) != 0)
		goto out;
	/* What signerctl keygen printed: SHA-256 over the SPKI bytes the record holds. */
	if (EVP_Digest(rec->output, rec->output_len, fp, NULL, EVP_sha256(), NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	if (CRYPTO_memcmp(fp, c->pin, 32) == 0) {
		if (c->found_seq == 0) {
			c->found_seq = rec->seq;
			memcpy(c->pub, pub, sizeof(pub));
		}
	} else if (c->other_seq == 0 && rec->detail != NULL && strstr(rec->detail, CTL_AUDIT_KEY_ROLE) != NULL) {
		c->other_seq = rec->seq;
		memcpy(c->other_fp, fp, 32);
		if (snprintf(c->other_uri, sizeof(c->other_uri), "%s", rec->key_uri) < 0)
			c->other_uri[0] = '\0';
	}
out:
	journal_record_free(rec);
	return rc;
}

static int
ca_ceremonies_scan(struct journal *j, const char *export, struct ca_ceremonies *c)
{
	uint64_t count = 0;

	if (j != NULL)
		return journal_foreach_raw(j, 1, ca_ceremony_visit, c);
	return ca_export_walk(export, ca_ceremony_visit, c, &count);
}

/*
 * The key checkpoints must be signed with, and its fingerprint: --pubkey,
 * else with --pubkey-sha256 the key ceremony in the journal that made it,
 * else the HSM's ([journal] audit_key). A pinned fingerprint that the key
 * found does not have is an error.
 */
static int
ca_verify_key(const char *config_path, const struct ca_opts *o, struct journal *j, const uint8_t *pin,
    struct journal_audit_key *key, uint8_t fp[32], bool *have, struct ca_ceremonies *c)
{
	char want[65], got[65];
	int rc;

	*have = false;
	memset(key, 0, sizeof(*key));
	memset(c, 0, sizeof(*c));
	if (pin != NULL && o->pubkey == NULL) {
		c->pin = pin;
		if ((rc = ca_ceremonies_scan(j, o->export, c)) != 0)
			return rc;
		if (c->found_seq != 0) {
			memcpy(key->ed25519, c->pub, CHECKPOINT_ED25519_LEN);
			memcpy(fp, pin, 32);
			*have = true;
			printf("audit key: the pinned key, made by the key ceremony in record %" PRIu64 "\n",
			    c->found_seq);
			return 0;
		}
	}
	if ((rc = ca_audit_key(config_path, o, key, have)) != 0)
		return rc;
	if (pin != NULL)
		sd_hex_encode(pin, 32, want);
	if (!*have) {
		if (pin != NULL)
			return sd_error_set(SD_E_NOT_FOUND, "no key ceremony in the journal made the pinned key %s; "
			    "give its public key with --pubkey", want);
		return 0;
	}
	if ((rc = checkpoint_ed25519_fingerprint(key->ed25519, fp)) != 0)
		return rc;
	if (pin != NULL && CRYPTO_memcmp(fp, pin, 32) != 0) {
		*have = false;
		sd_hex_encode(fp, 32, got);
		return sd_error_set(SD_E_INVAL, "%s has the fingerprint %s, not the pinned %s",
		    o->pubkey != NULL ? o->pubkey : "the HSM's [journal] audit_key", got, want);
	}
	/* The scan above, if any, looked for another fingerprint. */
	memset(c, 0, sizeof(*c));
	return 0;
}

int
ctl_audit_export_walk(const char *path, journal_visit_raw_fn fn, void *ctx, uint64_t *count)
{
	return ca_export_walk(path, fn, ctx, count);
}

int
ctl_audit_key(const char *config_path, struct journal *j, const char *export, const char *pubkey, const uint8_t *pin,
    struct journal_audit_key *key, uint8_t fp[32], bool *have, uint64_t *other_seq)
{
	struct ca_ceremonies cer;
	struct ca_opts o;
	int rc;

	*other_seq = 0;
	memset(&o, 0, sizeof(o));
	o.export = export;
	o.pubkey = pubkey;
	if ((rc = ca_verify_key(config_path, &o, j, pin, key, fp, have, &cer)) != 0 || !*have)
		return rc;
	/* As ca_verify(): a ceremony that made another audit key. */
	if (cer.pin == NULL) {
		cer.pin = fp;
		if ((rc = ca_ceremonies_scan(j, export, &cer)) != 0)
			return rc;
	}
	*other_seq = cer.other_seq;
	return 0;
}

/*
 * --witness-key: each witness cosigned the newest checkpoint, the last of
 * --checkpoint FILE, else the journal's newest with the cosignatures
 * stored beside it. 0 when all did; else 1, each missing one printed.
 */
static int
ca_witnesses(const char *config_path, const struct ca_opts *o, struct journal *j, uint64_t records)
{
	struct ca_last_note last = { NULL, 0 };
	struct sd_config *cfg = NULL;
	const char *dir = o->journal;
	int rc, notes = 0, status;

	if (o->checkpoint != NULL) {
		if ((rc = ca_notes(o->checkpoint, ca_keep_last, &last, &notes)) != 0) {
			free(last.note);
			return ca_fail(rc, "--checkpoint");
		}
	} else if (j == NULL) {
		fprintf(stderr, "signerctl: --witness-key with --export needs --checkpoint (the witness's cosigned checkpoint)\n");
		return 1;
	} else if (dir == NULL) {
		if ((cfg = ca_config(config_path, false)) == NULL)
			return 1;
		dir = cfg->journal_path;
	}
	status = ctl_witness_verify(o->witness_keys, o->nwitness, last.note, last.len, o->checkpoint, j, dir, records);
	free(last.note);
	sd_config_free(cfg);
	return status;
}

static int
ca_verify(const char *config_path, const struct ca_opts *o)
{
	struct ca_ceremonies cer;
	uint8_t pin[32], fp[32];
	char hex[65], other[65];
	bool pinned = false, ceremony_bad = false;
	struct journal_verify_report r;
	struct journal_audit_key key;
	struct journal_stream *s = NULL;
	struct journal *j = NULL;
	struct ca_saved saved;
	uint64_t count = 0, want = 0;
	bool have_key;
	int rc, notes = 0, status;

	memset(&r, 0, sizeof(r));
	if (o->journal != NULL && o->export != NULL)
		return ca_usage();
	if (o->pubkey_sha256 != NULL) {
		if (checkpoint_fingerprint_parse(o->pubkey_sha256, pin) != 0) {
			fprintf(stderr, "signerctl: --pubkey-sha256: %s (SHA-256 of the audit key's DER "
			    "SubjectPublicKeyInfo: signerctl audit pubkey --sha256)\n", sd_error_detail(SD_E_INVAL));
			return 2;
		}
		pinned = true;
	}
	if (o->export == NULL && (rc = ca_journal(config_path, o, &j)) != 0)
		goto fail;
	if ((rc = ca_verify_key(config_path, o, j, pinned ? pin : NULL, &key, fp, &have_key, &cer)) != 0) {
		journal_close(j);
		return ca_fail(rc, "audit key");
	}
	if (!have_key)
		printf("note: no audit public key (--pubkey, --pubkey-sha256 or [journal] audit_key): checkpoint "
		    "signatures are NOT checked\n");
	if (have_key) {
		sd_hex_encode(fp, 32, hex);
		printf("audit key: SHA-256 %s%s\n", hex, pinned ? " (pinned)" : "");
		/* A ceremony that made another audit key: the journal names a key the auditor does not trust. */
		if (cer.pin == NULL) {
			cer.pin = fp;
			if ((rc = ca_ceremonies_scan(j, o->export, &cer)) != 0)
				goto fail;
		}
		if (cer.other_seq != 0) {
			sd_hex_encode(cer.other_fp, 32, other);
			printf("audit key ceremony does NOT match: record %" PRIu64 " made the [journal] audit_key %s with "
			    "the fingerprint %s, not %s\n", cer.other_seq, cer.other_uri, other, hex);
			ceremony_bad = true;
		}
	}
	if (o->export != NULL) {
		if ((rc = journal_stream_new(have_key ? &key : NULL, &s)) != 0)
			goto fail;
		if (o->checkpoint != NULL && (rc = ca_notes(o->checkpoint, ca_last_size, &want, &notes)) != 0)
			goto fail;
		journal_stream_want_root(s, want);
		if ((rc = ca_export_walk(o->export, ca_stream_add, s, &count)) == 0)
			rc = journal_stream_finish(s);
		journal_stream_report(s, &r);
	} else {
		rc = journal_verify_full(j, have_key ? &key : NULL, &r);
	}
	if (rc == SD_E_JOURNAL_CORRUPT) {
		/* A fault no record carries (an index alone) has no record to name. */
		if (r.bad_seq != 0)
			printf("journal does NOT verify: first bad record %" PRIu64 ": %s\n", r.bad_seq,
			    sd_error_detail(rc));
		else
			printf("journal does NOT verify: %s\n", sd_error_detail(rc));
		status = 1;
		goto out;
	}
	if (rc != 0)
		goto fail;
	/* Only what was checked: an export holds no stored Merkle nodes and no indexes. */
	if (o->export != NULL)
		printf("journal verifies: %" PRIu64 " records (export), hash chain intact, results match their intents, "
		    "Merkle tree recomputed, %" PRIu64 " checkpoints (roots%s); stored Merkle nodes and indexes not "
		    "checked (an export has none)\n", r.count, r.checkpoints, have_key ? " and signatures" : " only");
	else
		printf("journal verifies: %" PRIu64 " records, hash chain intact, Merkle nodes and indexes match, "
		    "%" PRIu64 " checkpoints (roots%s)\n", r.count, r.checkpoints, have_key ? " and signatures" : " only");
	status = ceremony_bad ? 1 : 0;
	if (o->checkpoint != NULL) {
		memset(&saved, 0, sizeof(saved));
		saved.path = o->checkpoint;
		saved.j = j;
		saved.s = s;
		saved.key = have_key ? &key : NULL;
		saved.size = r.count;
		saved.want = want;
		if (j != NULL && (rc = journal_tree_root(j, r.count, saved.root)) != 0)
			goto fail;
		if ((rc = ca_notes(o->checkpoint, ca_saved_check, &saved, &notes)) != 0) {
			printf("saved checkpoint does NOT match the journal: %s\n", sd_error_detail(rc));
			status = 1;
			goto out;
		}
	}
	if (o->nwitness > 0 && ca_witnesses(config_path, o, j, r.count) != 0)
		status = 1;
	if (r.open_intents > 0) {
		printf("WARNING: %" PRIu64 " intents without a result (first: record %" PRIu64 "): the service stopped "
		    "between journaling an intent and its result; signerd's next start journals each as unresolved\n",
		    r.open_intents, r.first_open_intent);
		if (status == 0)
			status = 3;
	}
	if (r.unresolved > 0) {
		printf("WARNING: %" PRIu64 " intents with outcome unknown (first unresolved record: %" PRIu64 "): the "
		    "service stopped after journaling them and before their result; a certificate may have been "
		    "released, and its TBS is the one its intent holds\n", r.unresolved, r.first_unresolved);
		if (status == 0)
			status = 3;
	}
out:
	journal_stream_free(s);
	journal_close(j);
	return status;
fail:
	journal_stream_free(s);
	journal_close(j);
	return ca_fail(rc, "audit verify");
}

/* JSON string of printable text (records' texts are checked UTF-8; escape the rest). */
static void
ca_json_str(const char *s)
{
	putchar('"');
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned)(unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
ca_json_hex(const char *name, const uint8_t *p, size_t len)
{
	char hex[2 * 64 + 1];

	if (len > 64)
		abort();
	sd_hex_encode(p, len, hex);
	printf(",\"%s\":\"%s\"", name, hex);
}

/*
 * A CRL record's times in RFC 3339; a time sd_time_format() cannot write
 * (past year 9999) as "@" and its Unix seconds, which cannot pass for one.
 */
static void
ca_crl_times(const struct journal_record *rec, char this_update[40], char next_update[40])
{
	char t[SD_TIME_RFC3339_LEN];

	if (sd_time_format(rec->crl_this_update, t) == 0)
		(void)snprintf(this_update, 40, "%s", t);
	else
		(void)snprintf(this_update, 40, "@%" PRId64, rec->crl_this_update);
	if (sd_time_format(rec->crl_next_update, t) == 0)
		(void)snprintf(next_update, 40, "%s", t);
	else
		(void)snprintf(next_update, 40, "@%" PRId64, rec->crl_next_update);
}

static const char *
ca_acme_event(uint8_t event)
{
	switch (event) {
	case JOURNAL_ACME_ACCOUNT_CREATED: return "account-created";
	case JOURNAL_ACME_ACCOUNT_DEACTIVATED: return "account-deactivated";
	case JOURNAL_ACME_ACCOUNT_KEY_CHANGED: return "account-key-changed";
	case JOURNAL_ACME_EAB_ADDED: return "eab-added";
	case JOURNAL_ACME_AUTHZ_VALID: return "authorization-valid";
	case JOURNAL_ACME_AUTHZ_INVALID: return "authorization-invalid";
	case JOURNAL_ACME_EAB_REMOVED: return "eab-removed";
	default: return "unknown";	/* the decoder refuses the rest */
	}
}

/* An ACME record's fields as JSON members: all of them, empty ones included, so a consumer sees one shape. */
static void
ca_export_acme(const struct journal_record *rec)
{
	printf(",\"acme_event\":%u,\"acme_event_name\":\"%s\",\"acme_account\":", (unsigned)rec->acme_event,
	    ca_acme_event(rec->acme_event));
	ca_json_str(rec->acme_account);
	ca_json_hex("acme_key_sha256", rec->acme_key_sha256, JOURNAL_HASH_LEN);
	printf(",\"acme_eab_kid\":");
	ca_json_str(rec->acme_eab_kid);
	printf(",\"profile\":");
	ca_json_str(rec->profile);
	printf(",\"actor\":");
	ca_json_str(rec->actor);
	printf(",\"detail\":");
	ca_json_str(rec->detail);
}

static int
ca_export_one(uint64_t key, const uint8_t *raw, size_t len, void *ctx)
{
	struct journal_record *rec = NULL;
	char this_update[40], next_update[40];
	char *b64;
	int rc;

	(void)ctx;
	if ((rc = journal_record_decode(raw, len, &rec)) != 0)
		return rc;
	if ((b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL) {
		journal_record_free(rec);
		return SD_E_NOMEM;
	}
	checkpoint_b64(raw, len, b64);
	printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"time_ms\":%" PRId64, key, journal_record_type_name(rec->type),
	    rec->time_ms);
	ca_json_hex("hash", rec->hash, JOURNAL_HASH_LEN);
	ca_json_hex("leaf_hash", rec->leaf_hash, JOURNAL_HASH_LEN);
	if (rec->serial_len > 0)
		ca_json_hex("serial", rec->serial, rec->serial_len);
	if (rec->type == JOURNAL_REC_RESULT || rec->type == JOURNAL_REC_UNRESOLVED)
		printf(",\"intent_seq\":%" PRIu64, rec->intent_seq);
	if (rec->type == JOURNAL_REC_REVOCATION)
		printf(",\"crl_reason\":%u", (unsigned)rec->revocation_reason);
	if (rec->type == JOURNAL_REC_CRL) {
		ca_crl_times(rec, this_update, next_update);
		printf(",\"crl_number\":%" PRIu64 ",\"crl_base_number\":%" PRIu64 ",\"this_update\":\"%s\""
		    ",\"next_update\":\"%s\",\"crl_entries\":%" PRIu64, rec->crl_number, rec->crl_base_number,
		    this_update, next_update, rec->crl_entries);
		ca_json_hex("crl_sha256", rec->crl_sha256, JOURNAL_HASH_LEN);
	}
	if (rec->type == JOURNAL_REC_ACME)
		ca_export_acme(rec);
	if (rec->type == JOURNAL_REC_CHECKPOINT) {
		printf(",\"tree_size\":%" PRIu64, rec->tree_size);
		ca_json_hex("root_hash", rec->root_hash, JOURNAL_HASH_LEN);
	}
	if (rec->client_subject != NULL) {
		printf(",\"client\":");
		ca_json_str(rec->client_subject);
	}
	printf(",\"record\":\"%s\"}\n", b64);
	free(b64);
	journal_record_free(rec);
	return 0;
}

static void
ca_time(int64_t ms, char out[40])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 40, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 40, "@%" PRId64, ms);
}

static void
ca_show_hex(const char *name, const uint8_t *p, size_t len)
{
	char *hex;

	if ((hex = malloc(2 * len + 1)) == NULL)
		return;
	sd_hex_encode(p, len, hex);
	printf("%-18s %s\n", name, hex);
	free(hex);
}

static void
ca_show(const struct journal_record *rec)
{
	static const uint8_t zero[JOURNAL_HASH_LEN];
	char when[40], this_update[40], next_update[40];

	ca_time(rec->time_ms, when);
	printf("%-18s %" PRIu64 "\n%-18s %s (%u)\n%-18s %s (%" PRId64 ")\n", "seq", rec->seq, "type",
	    journal_record_type_name(rec->type), (unsigned)rec->type, "time", when, rec->time_ms);
	ca_show_hex("hash", rec->hash, JOURNAL_HASH_LEN);
	ca_show_hex("leaf_hash", rec->leaf_hash, JOURNAL_HASH_LEN);
	ca_show_hex("prev_hash", rec->prev_hash, JOURNAL_HASH_LEN);
	if (rec->client_subject != NULL)
		printf("%-18s %s\n", "client", rec->client_subject);
	if (memcmp(rec->client_spki_sha256, zero, JOURNAL_HASH_LEN) != 0)
		ca_show_hex("client_spki_sha256", rec->client_spki_sha256, JOURNAL_HASH_LEN);
	if (rec->profile != NULL)
		printf("%-18s %s\n", "profile", rec->profile);
	if (memcmp(rec->csr_sha256, zero, JOURNAL_HASH_LEN) != 0)
		ca_show_hex("csr_sha256", rec->csr_sha256, JOURNAL_HASH_LEN);
	if (rec->serial_len > 0)
		ca_show_hex("serial", rec->serial, rec->serial_len);
	if (journal_rec_is_intent(rec->type) || rec->type == JOURNAL_REC_UNRESOLVED)
		ca_show_hex("tbs_sha256", rec->tbs_sha256, JOURNAL_HASH_LEN);
	if (rec->type == JOURNAL_REC_INTENT_TBS)
		printf("%-18s %zu bytes\n", "tbs_der", rec->tbs_der_len);
	if (rec->type == JOURNAL_REC_RESULT || rec->type == JOURNAL_REC_UNRESOLVED)
		printf("%-18s %" PRIu64 "\n", "intent_seq", rec->intent_seq);
	if (rec->reason != NULL)
		printf("%-18s %s\n", rec->type == JOURNAL_REC_CEREMONY ? "operation" : "reason", rec->reason);
	if (rec->type == JOURNAL_REC_CEREMONY)
		printf("%-18s %s\n%-18s %s\n%-18s %s\n", "phase",
		    rec->phase == JOURNAL_CEREMONY_BEGIN ? "begin" : rec->phase == JOURNAL_CEREMONY_DONE ? "done" : "failed",
		    "actor", rec->actor, "key", rec->key_uri);
	/* The core's summary counts refusals not journaled one by one; the front's, the 4xx the API answered. */
	if (rec->type == JOURNAL_REC_REFUSAL_SUMMARY)
		printf("%-18s %" PRIu64 " since %" PRId64 "\n",
		    rec->detail != NULL && strncmp(rec->detail, "api ", 4) == 0 ? "answered" : "suppressed", rec->count,
		    rec->window_start_ms);
	if (rec->type == JOURNAL_REC_REVOCATION)
		printf("%-18s %s (%u)\n", "crl_reason", journal_crl_reason_name(rec->revocation_reason),
		    (unsigned)rec->revocation_reason);
	if (rec->type == JOURNAL_REC_CRL) {
		ca_crl_times(rec, this_update, next_update);
		printf("%-18s %" PRIu64 "\n%-18s %" PRIu64 "%s\n%-18s %s (%" PRId64 ")\n%-18s %s (%" PRId64 ")\n"
		    "%-18s %" PRIu64 "\n", "crl_number", rec->crl_number, "crl_base_number", rec->crl_base_number,
		    rec->crl_base_number == 0 ? " (a complete CRL)" : " (a delta CRL)", "this_update", this_update,
		    rec->crl_this_update, "next_update", next_update, rec->crl_next_update, "crl_entries",
		    rec->crl_entries);
		ca_show_hex("crl_sha256", rec->crl_sha256, JOURNAL_HASH_LEN);
	}
	if (rec->type == JOURNAL_REC_ACME) {
		printf("%-18s %s (%u)\n%-18s %s\n", "acme_event", ca_acme_event(rec->acme_event),
		    (unsigned)rec->acme_event, "acme_account", rec->acme_account);
		ca_show_hex("acme_key_sha256", rec->acme_key_sha256, JOURNAL_HASH_LEN);
		printf("%-18s %s\n%-18s %s\n", "acme_eab_kid", rec->acme_eab_kid, "actor", rec->actor);
	}
	if (rec->type == JOURNAL_REC_SERVICE) {
		printf("%-18s %s\n", "event", rec->event == JOURNAL_SERVICE_START ? "start" :
		    rec->event == JOURNAL_SERVICE_STOP ? "stop" : "reload");
		ca_show_hex("config_sha256", rec->config_sha256, JOURNAL_HASH_LEN);
	}
	if (rec->detail != NULL && rec->detail[0] != '\0')
		printf("%-18s %s\n", "detail", rec->detail);
	if (rec->type == JOURNAL_REC_CHECKPOINT) {
		printf("%-18s %" PRIu64 "\n", "tree_size", rec->tree_size);
		ca_show_hex("root_hash", rec->root_hash, JOURNAL_HASH_LEN);
		printf("checkpoint:\n%s", rec->note);
	}
	if (rec->cert_der_len > 0)
		ca_show_hex("certificate", rec->cert_der, rec->cert_der_len);
	if (rec->output_len > 0)
		ca_show_hex("output", rec->output, rec->output_len);
}

static int
ca_prove(struct journal *j, const char *serial_hex)
{
	uint8_t serial[JOURNAL_SERIAL_MAX], proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN];
	struct journal_record *rec = NULL, *cp = NULL;
	char hex[65];
	uint64_t intent, result, cps, seq;
	size_t len, n, i;
	int rc;

	if (sd_hex_decode(serial_hex, serial, sizeof(serial), &len) != 0)
		return sd_error_set(SD_E_INVAL, "--serial must be 1..20 bytes of hex");
	if ((rc = journal_find_serial(j, serial, len, &intent, &result)) != 0)
		return rc;
	seq = result != 0 ? result : intent;
	if ((rc = journal_last_checkpoint(j, &cps)) != 0)
		return rc;
	if (cps == 0)
		return sd_error_set(SD_E_NOT_FOUND, "the journal holds no checkpoint yet");
	if ((rc = journal_get(j, cps, &cp)) != 0 || (rc = journal_get(j, seq, &rec)) != 0)
		goto out;
	if (seq > cp->tree_size) {
		rc = sd_error_set(SD_E_NOT_FOUND, "record %llu is not yet covered by a checkpoint", (unsigned long long)seq);
		goto out;
	}
	if ((rc = journal_inclusion_proof(j, seq, cp->tree_size, proof, &n)) != 0)
		goto out;
	/* Check it before showing it. */
	if ((rc = merkle_inclusion_verify(seq - 1, cp->tree_size, rec->leaf_hash, (const uint8_t (*)[32])proof, n,
	    cp->root_hash)) != 0)
		goto out;
	printf("{\"serial_number\":\"%s\",\"intent_seq\":%" PRIu64 ",\"seq\":%" PRIu64 ",\"leaf_index\":%" PRIu64
	    ",\"tree_size\":%" PRIu64 ",\"checkpoint_seq\":%" PRIu64, serial_hex, intent, seq, seq - 1, cp->tree_size,
	    cps);
	sd_hex_encode(rec->leaf_hash, 32, hex);
	printf(",\"leaf_hash\":\"%s\",\"inclusion_path\":[", hex);
	for (i = 0; i < n; i++) {
		sd_hex_encode(proof[i], 32, hex);
		printf("%s\"%s\"", i > 0 ? "," : "", hex);
	}
	printf("],\"checkpoint\":");
	ca_json_str(cp->note);
	printf("}\n");
	rc = 0;
out:
	journal_record_free(rec);
	journal_record_free(cp);
	return rc;
}

/* A tree size, or the size of the last checkpoint in a file. */
static int
ca_size_arg(const char *arg, uint64_t *size)
{
	struct stat st;
	char *end;
	int n;

	if (stat(arg, &st) == 0)
		return ca_notes(arg, ca_last_size, size, &n);
	*size = strtoull(arg, &end, 10);
	if (*end != '\0' || arg[0] < '0' || arg[0] > '9')
		return sd_error_set(SD_E_INVAL, "'%s' is neither a tree size nor a checkpoint file", arg);
	return 0;
}

static int
ca_consistency(struct journal *j, const char *a, const char *b)
{
	uint8_t proof[JOURNAL_PROOF_MAX][JOURNAL_HASH_LEN], ra[32], rb[32];
	uint64_t m, n;
	char hex[65];
	size_t count, i;
	int rc;

	if ((rc = ca_size_arg(a, &m)) != 0 || (rc = ca_size_arg(b, &n)) != 0)
		return rc;
	if ((rc = journal_tree_root(j, m, ra)) != 0 || (rc = journal_tree_root(j, n, rb)) != 0 ||
	    (rc = journal_consistency_proof(j, m, n, proof, &count)) != 0 ||
	    (rc = merkle_consistency_verify(m, n, ra, rb, (const uint8_t (*)[32])proof, count)) != 0)
		return rc;
	printf("{\"old_size\":%" PRIu64 ",\"new_size\":%" PRIu64, m, n);
	sd_hex_encode(ra, 32, hex);
	printf(",\"old_root\":\"%s\"", hex);
	sd_hex_encode(rb, 32, hex);
	printf(",\"new_root\":\"%s\",\"consistency_path\":[", hex);
	for (i = 0; i < count; i++) {
		sd_hex_encode(proof[i], 32, hex);
		printf("%s\"%s\"", i > 0 ? "," : "", hex);
	}
	printf("]}\n");
	return 0;
}

/*
 * --sha256: the audit key's fingerprint, SHA-256 over its DER
 * SubjectPublicKeyInfo (what an auditor pins); --key-id: its C2SP note key
 * id under [journal] origin (what each checkpoint's signature starts with).
 */
static int
ca_pubkey_ids(const char *config_path, const uint8_t *spki, size_t len, bool key_id)
{
	struct sd_config *cfg;
	uint8_t pub[CHECKPOINT_ED25519_LEN], md[32];
	char hex[65];
	int rc;

	if (!key_id) {
		if (EVP_Digest(spki, len, md, NULL, EVP_sha256(), NULL) != 1)
			return sd_error_set(SD_E_CRYPTO, "SHA-256 failed");
		sd_hex_encode(md, 32, hex);
		printf("%s\n", hex);
		return 0;
	}
	if ((cfg = ca_config(config_path, false)) == NULL)
		return SD_E_CONFIG;
	if ((rc = checkpoint_ed25519_from_spki(spki, len, pub)) == 0 &&
	    (rc = checkpoint_key_id(cfg->journal_origin, pub, md)) == 0) {
		sd_hex_encode(md, 4, hex);
		printf("%s\n", hex);
	}
	sd_config_free(cfg);
	return rc;
}

static int
ca_pubkey(const char *config_path, const struct ca_opts *o)
{
	const unsigned char *p;
	uint8_t *spki = NULL;
	EVP_PKEY *pkey = NULL;
	size_t len = 0;
	int rc;

	if (o->sha256 && o->key_id)
		return ca_usage();
	if ((rc = ca_hsm_spki(config_path, &spki, &len)) != 0)
		return ca_fail(rc, "audit pubkey");
	if (o->sha256 || o->key_id) {
		rc = ca_pubkey_ids(config_path, spki, len, o->key_id);
		free(spki);
		return rc == 0 ? 0 : ca_fail(rc, "audit pubkey");
	}
	p = spki;
	if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) == NULL || PEM_write_PUBKEY(stdout, pkey) != 1)
		rc = sd_error_set(SD_E_CRYPTO, "cannot write the audit public key");
	EVP_PKEY_free(pkey);
	free(spki);
	return rc == 0 ? 0 : ca_fail(rc, "audit pubkey");
}

int
ctl_audit_main(const char *config_path, int argc, char **argv)
{
	struct journal_record *rec = NULL;
	struct journal *j = NULL;
	struct ca_opts o;
	const char *action;
	uint8_t serial[JOURNAL_SERIAL_MAX];
	uint64_t seq, intent, result;
	size_t len;
	char *end;
	int rc;

	if (argc < 1)
		return ca_usage();
	action = argv[0];
	/* Options of its own (--html, --now): parsed there. */
	if (strcmp(action, "report") == 0)
		return ctl_report_main(config_path, argc, argv);
	if (strcmp(action, "witness") == 0)
		return ctl_witness_main(config_path, argc - 1, argv + 1);
	if (ca_parse(argc, argv, &o) != 0)
		return ca_usage();
	if (strcmp(action, "verify") == 0)
		return o.nargs == 0 && !o.sha256 && !o.key_id ? ca_verify(config_path, &o) : ca_usage();
	if (strcmp(action, "pubkey") == 0)
		return o.nargs == 0 ? ca_pubkey(config_path, &o) : ca_usage();
	if (strcmp(action, "export") != 0 && strcmp(action, "show") != 0 && strcmp(action, "find") != 0 &&
	    strcmp(action, "prove") != 0 && strcmp(action, "consistency") != 0)
		return ca_usage();
	if ((strcmp(action, "show") == 0 && o.nargs != 1) || (strcmp(action, "consistency") == 0 && o.nargs != 2) ||
	    ((strcmp(action, "find") == 0 || strcmp(action, "prove") == 0) && (o.serial == NULL || o.nargs != 0)) ||
	    (strcmp(action, "export") == 0 && o.nargs != 0))
		return ca_usage();
	if ((rc = ca_journal(config_path, &o, &j)) != 0)
		return ca_fail(rc, "journal");
	if (strcmp(action, "export") == 0) {
		rc = journal_foreach_raw(j, o.from, ca_export_one, NULL);
	} else if (strcmp(action, "show") == 0) {
		seq = strtoull(o.args[0], &end, 10);
		if (*end != '\0' || o.args[0][0] < '0' || o.args[0][0] > '9')
			rc = sd_error_set(SD_E_INVAL, "SEQ must be a number");
		else if ((rc = journal_get(j, seq, &rec)) == 0)
			ca_show(rec);
	} else if (strcmp(action, "find") == 0) {
		if (sd_hex_decode(o.serial, serial, sizeof(serial), &len) != 0)
			rc = sd_error_set(SD_E_INVAL, "--serial must be 1..20 bytes of hex");
		else if ((rc = journal_find_serial(j, serial, len, &intent, &result)) == 0) {
			printf("serial %s: intent record %" PRIu64 ", result record %" PRIu64 "%s\n", o.serial, intent,
			    result, result == 0 ? " (none: no certificate was released)" : "");
			/* A second line only for a revoked serial, so that the first stays as scripts read it. */
			if ((rc = journal_revocation_get(j, serial, len, &rec)) == 0)
				printf("serial %s: revoked by record %" PRIu64 " (%s)\n", o.serial, rec->seq,
				    journal_crl_reason_name(rec->revocation_reason));
			else if (rc == SD_E_NOT_FOUND)
				rc = 0;
		}
	} else if (strcmp(action, "prove") == 0) {
		rc = ca_prove(j, o.serial);
	} else {
		rc = ca_consistency(j, o.args[0], o.args[1]);
	}
	journal_record_free(rec);
	journal_close(j);
	return rc == 0 ? 0 : ca_fail(rc, action);
}

int
ctl_journal_backup(const char *config_path, int argc, char **argv)
{
	struct journal *j = NULL;
	struct sd_config *cfg = NULL;
	struct ca_opts o;
	const char *dir;
	size_t cosigned = 0;
	int rc;

	if (ca_parse(argc, argv, &o) != 0 || o.nargs != 1)
		return ca_usage();
	if (mkdir(o.args[0], 0700) != 0) {
		fprintf(stderr, "signerctl: journal backup: cannot create %s (it must not exist)\n", o.args[0]);
		return 1;
	}
	if ((rc = ca_journal(config_path, &o, &j)) != 0)
		return ca_fail(rc, "journal");
	rc = journal_backup(j, o.args[0]);
	journal_close(j);
	if (rc != 0)
		return ca_fail(rc, "journal backup");
	/* The witnesses' cosignatures live beside the journal, not in it: the copy takes them too. */
	if (o.journal != NULL) {
		dir = o.journal;
	} else {
		if ((cfg = ca_config(config_path, false)) == NULL)
			return 1;
		dir = cfg->journal_path;
	}
	rc = witness_store_copy(dir, o.args[0], &cosigned);
	sd_config_free(cfg);
	if (rc != 0)
		return ca_fail(rc, "journal backup: the cosignatures");
	printf("journal copied to %s (compacted), with %zu stored cosignature%s\n", o.args[0], cosigned,
	    cosigned == 1 ? "" : "s");
	return 0;
}

struct ctl_ceremony {
	struct journal *j;
	const char *operation;
	char *key_uri;
	char *detail;
	char actor[256];
};

void
ctl_actor(char *out, size_t len)
{
	struct passwd pwd, *pw = NULL;
	char pwbuf[1024];

	if (getpwuid_r(geteuid(), &pwd, pwbuf, sizeof(pwbuf), &pw) != 0)
		pw = NULL;
	if (snprintf(out, len, "%s (uid %ld) pid %ld", pw != NULL ? pw->pw_name : "?", (long)geteuid(),
	    (long)getpid()) < 0 && len > 0)
		out[0] = '\0';
}

int
ctl_ceremony_begin(const struct sd_config *cfg, const char *operation, const char *key_uri, const char *detail,
    struct ctl_ceremony **out)
{
	struct journal_options opts = { cfg->journal_map_size, cfg->journal_map_max, false, 0 };
	struct ctl_ceremony *c = NULL;
	struct journal_record rec;
	uint64_t seq;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->key_uri = strdup(key_uri)) == NULL ||
	    (c->detail = strdup(detail != NULL ? detail : "")) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	c->operation = operation;
	ctl_actor(c->actor, sizeof(c->actor));
	if ((rc = journal_open_opts(cfg->journal_path, &opts, &c->j)) != 0)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CEREMONY;
	rec.time_ms = sd_time_now_ms();
	rec.reason = (char *)(uintptr_t)operation;
	rec.phase = JOURNAL_CEREMONY_BEGIN;
	rec.actor = c->actor;
	rec.key_uri = c->key_uri;
	rec.detail = c->detail;
	if ((rc = journal_append(c->j, &rec, &seq)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	if (c != NULL) {
		journal_close(c->j);
		free(c->key_uri);
		free(c->detail);
		free(c);
	}
	return rc;
}

int
ctl_key_ids(const struct sd_config *cfg, const uint8_t *spki, size_t len, char fp[65], char key_id[9])
{
	uint8_t md[32], pub[CHECKPOINT_ED25519_LEN], id[4];
	int rc;

	fp[0] = key_id[0] = '\0';
	if (EVP_Digest(spki, len, md, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 failed");
	sd_hex_encode(md, 32, fp);
	if (checkpoint_ed25519_from_spki(spki, len, pub) != 0)
		return 0;	/* not Ed25519: no note key */
	if ((rc = checkpoint_key_id(cfg->journal_origin, pub, id)) != 0)
		return rc;
	sd_hex_encode(id, 4, key_id);
	return 0;
}

int
ctl_ceremony_note(struct ctl_ceremony *c, const char *more)
{
	size_t have, add;
	char *grown;

	if (c == NULL || more == NULL)
		return sd_error_set(SD_E_INVAL, "no ceremony");
	have = strlen(c->detail);
	add = strlen(more);
	if (add > CTL_CEREMONY_DETAIL_MAX || have + 2 + add > CTL_CEREMONY_DETAIL_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "ceremony detail over %d bytes", CTL_CEREMONY_DETAIL_MAX);
	if ((grown = realloc(c->detail, have + 2 + add + 1)) == NULL)
		return SD_E_NOMEM;
	c->detail = grown;
	(void)snprintf(grown + have, 2 + add + 1, "%s%s", have > 0 ? "; " : "", more);
	return 0;
}

int
ctl_ceremony_end(struct ctl_ceremony *c, int result, const uint8_t *output, size_t len)
{
	struct journal_record rec;
	char detail[CTL_CEREMONY_DETAIL_MAX + 1];
	uint64_t seq;
	int rc;

	if (c == NULL)
		return sd_error_set(SD_E_INVAL, "no ceremony");
	if (snprintf(detail, sizeof(detail), "%s%s%s", c->detail, result != 0 ? "; failed: " : "",
	    result != 0 ? sd_error_detail(result) : "") < 0)
		detail[0] = '\0';
	memset(&rec, 0, sizeof(rec));
	rec.type = JOURNAL_REC_CEREMONY;
	rec.time_ms = sd_time_now_ms();
	rec.reason = (char *)(uintptr_t)c->operation;
	rec.phase = result == 0 ? JOURNAL_CEREMONY_DONE : JOURNAL_CEREMONY_FAILED;
	rec.actor = c->actor;
	rec.key_uri = c->key_uri;
	rec.detail = detail;
	rec.output = result == 0 ? (uint8_t *)(uintptr_t)output : NULL;
	rec.output_len = result == 0 ? len : 0;
	rc = journal_append(c->j, &rec, &seq);
	journal_close(c->j);
	free(c->key_uri);
	free(c->detail);
	free(c);
	return rc;
}

int
ctl_pem_cert_der(const char *pem, uint8_t **der, size_t *len)
{
	X509 *x = NULL;
	BIO *bio;
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return SD_E_NOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (x == NULL || (n = i2d_X509(x, &p)) <= 0) {
		X509_free(x);
		return sd_error_set(SD_E_INVAL, "not a PEM certificate");
	}
	X509_free(x);
	*der = p;
	*len = (size_t)n;
	return 0;
}
