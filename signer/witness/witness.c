/*
 * The witness service: add-checkpoint's checks in the spec's order, and its
 * state (see witness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/merkle.h"
#include "sd_file.h"
#include "sd_log.h"
#include "witness.h"

#define W_LOGS_MAX 16
#define W_TEXT_PLAIN "text/plain; charset=utf-8"
#define W_TEXT_SIZE "text/x.tlog.size"

struct witness {
	int dir;			/* the state directory, open */
	int lock;			/* its lock file, flock()ed */
	struct witness_signer *signer;
	struct witness_vkey logs[W_LOGS_MAX];
	size_t nlogs;
	pthread_mutex_t mu;		/* check-and-store is one step */
};

/* SHA-256 of the empty string: the root of the tree of size 0. */
static const uint8_t w_empty_root[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

int
witness_open(const char *state_dir, struct witness_signer *signer, const struct witness_vkey *logs, size_t nlogs,
    struct witness **out)
{
	struct witness *w = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (nlogs == 0 || nlogs > W_LOGS_MAX) {
		witness_signer_free(signer);
		return sd_error_set(SD_E_INVAL, "a witness needs 1..%d log keys", W_LOGS_MAX);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		witness_signer_free(signer);
		return SD_E_NOMEM;
	}
	w->signer = signer;
	w->dir = w->lock = -1;
	memcpy(w->logs, logs, nlogs * sizeof(logs[0]));
	w->nlogs = nlogs;
	if (pthread_mutex_init(&w->mu, NULL) != 0) {
		witness_signer_free(signer);
		free(w);
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		rc = sd_error_set(SD_E_IO, "%s: %s", state_dir, strerror(errno));
		goto out;
	}
	if ((w->dir = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(w->dir, &st) != 0) {
		rc = sd_error_set(SD_E_IO, "%s: %s", state_dir, strerror(errno));
		goto out;
	}
	/* Whoever may write the state may make the witness cosign a fork. */
	if ((st.st_mode & 022) != 0 || st.st_uid != geteuid()) {
		rc = sd_error_set(SD_E_INVAL, "%s: the state directory must be this user's and writable by no one else", state_dir);
		goto out;
	}
	if ((w->lock = openat(w->dir, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		rc = sd_error_set(SD_E_IO, "%s/lock: %s", state_dir, strerror(errno));
		goto out;
	}
	if (flock(w->lock, LOCK_EX | LOCK_NB) != 0) {
		rc = sd_error_set(SD_E_IO, "%s: another witness holds its lock", state_dir);
		goto out;
	}
	*out = w;
	w = NULL;
	rc = 0;
out:
	witness_close(w);
	return rc;
}

void
witness_close(struct witness *w)
{
	if (w == NULL)
		return;
	if (w->lock >= 0)
		close(w->lock);
	if (w->dir >= 0)
		close(w->dir);
	witness_signer_free(w->signer);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

static void
w_answer(struct witness_response *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
w_answer(struct witness_response *r, unsigned status, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->status = status;
	r->content_type = W_TEXT_PLAIN;
	va_start(ap, fmt);
	n = vsnprintf(r->body, sizeof(r->body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	r->body_len = (size_t)n < sizeof(r->body) ? (size_t)n : sizeof(r->body) - 1;
}

/*
 * The stored note of origin into buf (cap bytes), *len 0 when there is none.
 * Errors: SD_E_IO, SD_E_TOO_LARGE.
 */
static int
w_state_read(struct witness *w, const char *hex, char *buf, size_t cap, size_t *len)
{
	ssize_t n;
	size_t off = 0;
	int fd, rc = 0;

	*len = 0;
	if ((fd = openat(w->dir, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return sd_error_set(SD_E_IO, "state %s: %s", hex, strerror(errno));
	}
	for (;;) {
		if (off == cap) {
			rc = sd_error_set(SD_E_TOO_LARGE, "state %s: over %zu bytes", hex, cap);
			break;
		}
		if ((n = read(fd, buf + off, cap - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = sd_error_set(SD_E_IO, "state %s: %s", hex, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (rc == 0)
		*len = off;
	return rc;
}

/* Replace origin's state with note durably: temp file, fsync, rename, fsync of the directory. */
static int
w_state_write(struct witness *w, const char *hex, const char *note, size_t len)
{
	return sd_file_write_at(w->dir, "witness state", hex, note, len, 0600, SD_FILE_OVERWRITE);
}

/* The size and root last cosigned for origin (0 and the empty root when never). */
static int
w_latest(struct witness *w, const char *origin, const char *hex, uint64_t *size, uint8_t root[32])
{
	char buf[WITNESS_NOTE_MAX];
	struct witness_note wn;
	struct witness_checkpoint cp;
	size_t len = 0;
	int rc;

	*size = 0;
	memcpy(root, w_empty_root, 32);
	if ((rc = w_state_read(w, hex, buf, sizeof(buf), &len)) != 0)
		return rc;
	if (len == 0)
		return 0;
	/* A state that does not parse stops the witness for that log: never read it as "none". */
	if ((rc = witness_note_parse(buf, len, &wn)) != 0 || (rc = witness_checkpoint_parse(buf, wn.text_len, &cp)) != 0)
		return sd_error_set(SD_E_IO, "state %s is damaged: %s", hex, sd_error_detail(rc));
	if (strcmp(cp.origin, origin) != 0)
		return sd_error_set(SD_E_IO, "state %s holds origin %s, not %s", hex, cp.origin, origin);
	*size = cp.size;
	memcpy(root, cp.root, 32);
	return 0;
}

void
witness_add_checkpoint(struct witness *w, const char *req, size_t len, uint64_t now, struct witness_response *resp)
{
	uint8_t proof[WITNESS_PROOF_MAX][32], old_root[32];
	char hex[65], line[WITNESS_COSIG_LINE_MAX], *stored = NULL;
	struct witness_checkpoint cp;
	struct witness_note wn;
	const char *note;
	size_t n = 0, off = 0, note_len, i, sig = 0, line_len = 0, st_len;
	uint64_t old = 0, latest = 0;
	bool known = false, signed_ok = false;
	int rc;

	memset(resp, 0, offsetof(struct witness_response, body));
	resp->body[0] = '\0';
	if ((rc = witness_request_parse(req, len, &old, proof, &n, &off)) != 0) {
		w_answer(resp, 400, "%s\n", sd_error_detail(rc));
		return;
	}
	note = req + off;
	note_len = len - off;
	if ((rc = witness_note_parse(note, note_len, &wn)) != 0 || (rc = witness_checkpoint_parse(note, wn.text_len, &cp)) != 0) {
		w_answer(resp, 400, "%s\n", sd_error_detail(rc));
		return;
	}
	/* Signatures of unknown keys are ignored; one of a known key that does not verify is refused. */
	for (i = 0; i < w->nlogs; i++) {
		if (w->logs[i].name[0] != '\0' && strcmp(w->logs[i].name, cp.origin) != 0)
			continue;
		known = true;
		rc = witness_note_verify_log(note, &wn, cp.origin, &w->logs[i], &sig);
		if (rc == 0) {
			signed_ok = true;
			break;
		}
		if (rc != SD_E_NOT_FOUND) {
			w_answer(resp, 403, "%s\n", sd_error_detail(rc));
			return;
		}
	}
	if (!known) {
		w_answer(resp, 404, "unknown log origin %s\n", cp.origin);
		return;
	}
	if (!signed_ok) {
		w_answer(resp, 403, "no signature of a known key for %s\n", cp.origin);
		return;
	}
	if (old > cp.size) {
		w_answer(resp, 400, "old size %" PRIu64 " is over the checkpoint's %" PRIu64 "\n", old, cp.size);
		return;
	}
	if ((rc = witness_origin_hash(cp.origin, hex)) != 0) {
		w_answer(resp, 500, "%s\n", sd_error_detail(rc));
		return;
	}
	if (pthread_mutex_lock(&w->mu) != 0)
		abort();
	if ((rc = w_latest(w, cp.origin, hex, &latest, old_root)) != 0) {
		sd_log(SD_LOG_ERROR, "witness: %s: %s", cp.origin, sd_error_detail(rc));
		w_answer(resp, 500, "the witness cannot read its state\n");
		goto out;
	}
	if (old != latest) {
		w_answer(resp, 409, "%" PRIu64 "\n", latest);
		resp->content_type = W_TEXT_SIZE;
		goto out;
	}
	if (cp.size == 0 && memcmp(cp.root, w_empty_root, 32) != 0) {
		w_answer(resp, 422, "a tree of size 0 has the root of the empty tree\n");
		goto out;
	}
	if (old == 0 && n != 0) {
		w_answer(resp, 422, "a proof from size 0 is empty\n");
		goto out;
	}
	if (old == cp.size) {
		if (n != 0 || memcmp(cp.root, old_root, 32) != 0) {
			w_answer(resp, 422, "tree size %" PRIu64 " was cosigned with another root hash\n", old);
			sd_log(SD_LOG_WARN, "witness: %s: another root at tree size %" PRIu64 " (a fork?)", cp.origin, old);
			goto out;
		}
	} else if (old > 0 && (rc = merkle_consistency_verify(old, cp.size, old_root, cp.root, proof, n)) != 0) {
		w_answer(resp, 422, "the consistency proof from %" PRIu64 " to %" PRIu64 " does not verify\n", old, cp.size);
		sd_log(SD_LOG_WARN, "witness: %s: no consistency from %" PRIu64 " to %" PRIu64 ": %s", cp.origin, old,
		    cp.size, sd_error_detail(rc));
		goto out;
	}
	if ((rc = witness_cosign(w->signer, note, wn.text_len, now, line, sizeof(line), &line_len)) != 0) {
		w_answer(resp, 500, "%s\n", sd_error_detail(rc));
		goto out;
	}
	/* What the monitoring URL serves: the text, the log signature verified, this cosignature. */
	st_len = wn.text_len + 1 + wn.sigs[sig].line_len + line_len;
	if ((stored = malloc(st_len)) == NULL) {
		w_answer(resp, 500, "out of memory\n");
		goto out;
	}
	memcpy(stored, note, wn.text_len + 1);
	memcpy(stored + wn.text_len + 1, wn.sigs[sig].line, wn.sigs[sig].line_len);
	memcpy(stored + wn.text_len + 1 + wn.sigs[sig].line_len, line, line_len);
	/* Durable before release: a cosignature the witness could forget lets it cosign a fork later. */
	if ((rc = w_state_write(w, hex, stored, st_len)) != 0) {
		sd_log(SD_LOG_ERROR, "witness: %s: %s", cp.origin, sd_error_detail(rc));
		w_answer(resp, 500, "the witness cannot store its state\n");
		goto out;
	}
	w_answer(resp, 200, "%s", line);
	sd_log(SD_LOG_INFO, "witness: %s: cosigned tree size %" PRIu64 " (from %" PRIu64 ")", cp.origin, cp.size, old);
out:
	if (pthread_mutex_unlock(&w->mu) != 0)
		abort();
	free(stored);
}

void
witness_get_checkpoint(struct witness *w, const char *origin_hash, struct witness_response *resp)
{
	size_t i, len = 0;
	int rc;

	memset(resp, 0, offsetof(struct witness_response, body));
	resp->body[0] = '\0';
	for (i = 0; origin_hash[i] != '\0'; i++)
		if (i >= 64 || !((origin_hash[i] >= '0' && origin_hash[i] <= '9') || (origin_hash[i] >= 'a' && origin_hash[i] <= 'f')))
			break;
	if (i != 64 || origin_hash[i] != '\0') {
		w_answer(resp, 404, "not the lower-case hex SHA-256 of an origin\n");
		return;
	}
	if (pthread_mutex_lock(&w->mu) != 0)
		abort();
	rc = w_state_read(w, origin_hash, resp->body, sizeof(resp->body) - 1, &len);
	if (pthread_mutex_unlock(&w->mu) != 0)
		abort();
	if (rc != 0) {
		w_answer(resp, 500, "the witness cannot read its state\n");
		return;
	}
	if (len == 0) {
		w_answer(resp, 404, "no checkpoint cosigned for that log\n");
		return;
	}
	resp->status = 200;
	resp->content_type = W_TEXT_PLAIN;
	resp->body[len] = '\0';
	resp->body_len = len;
}
