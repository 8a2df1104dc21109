/*
 * Cosignatures kept beside the journal (witness.h, WITNESS_STORE_DIR): per
 * witness the latest checkpoint it cosigned, which is also the size the
 * next submission proves consistency from. A file per witness rather than
 * records of the journal: a cosignature arrives after its checkpoint is
 * journaled, from outside, and is not evidence of issuance; the hash chain
 * stays what the log itself signed, and a lost file costs only a new
 * submission from size 0 (answered 409 with the witness's size).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sd_file.h"
#include "journal/checkpoint_note.h"
#include "witness.h"

#define WS_FILES_MAX 64

static int
ws_path(const char *journal_dir, const char *file, char *out, size_t cap)
{
	int n;

	if (file != NULL)
		n = snprintf(out, cap, "%s/" WITNESS_STORE_DIR "/%s", journal_dir, file);
	else
		n = snprintf(out, cap, "%s/" WITNESS_STORE_DIR, journal_dir);
	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "%s: path too long", journal_dir);
	return 0;
}

/* Write the store's file hex (64 hex digits) durably: temp file, fsync, rename, fsync of the directory. */
static int
ws_write(const char *journal_dir, const char *hex, const char *note, size_t len)
{
	char dir[4096];
	int dfd, rc;

	if ((rc = ws_path(journal_dir, NULL, dir, sizeof(dir))) != 0)
		return rc;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
	/* Public data (auditors read it); the directory's owner alone may replace it. */
	rc = sd_file_write_at(dfd, dir, hex, note, len, 0644, SD_FILE_OVERWRITE);
	close(dfd);
	return rc;
}

int
witness_store_put(const char *journal_dir, const char *name, const char *note, size_t len)
{
	char hex[65];
	int rc;

	if ((rc = witness_origin_hash(name, hex)) != 0)
		return rc;
	return ws_write(journal_dir, hex, note, len);
}

int
witness_store_get(const char *journal_dir, const char *name, char *buf, size_t cap, size_t *len)
{
	char path[4200], hex[65];
	uint8_t *data = NULL;
	size_t n = 0;
	int rc;

	*len = 0;
	if ((rc = witness_origin_hash(name, hex)) != 0 || (rc = ws_path(journal_dir, hex, path, sizeof(path))) != 0)
		return rc;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if ((rc = sd_file_read(path, cap > 0 ? cap - 1 : 0, &data, &n)) != 0)
		return rc;
	memcpy(buf, data, n);
	buf[n] = '\0';
	*len = n;
	free(data);
	return 0;
}

static int
ws_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The store's files (64 hex digits each), sorted: the same store reads the same twice. None is no error. */
static int
ws_list(const char *journal_dir, char (**names)[65], size_t *n)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;
	int rc;

	*names = NULL;
	*n = 0;
	if ((rc = ws_path(journal_dir, NULL, dir, sizeof(dir))) != 0)
		return rc;
	if ((d = opendir(dir)) == NULL)
		return 0;
	if ((*names = calloc(WS_FILES_MAX, sizeof((*names)[0]))) == NULL) {
		closedir(d);
		return SD_E_NOMEM;
	}
	/* readdir() on a stream of this call's own is thread-safe in glibc; readdir_r() is deprecated. */
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL && *n < WS_FILES_MAX) {
		if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
			continue;
		memcpy((*names)[(*n)++], de->d_name, 65);
	}
	closedir(d);
	qsort(*names, *n, sizeof((*names)[0]), ws_cmp);
	return 0;
}

/* The "time <ms>" line of a checkpoint text (its fourth line), or 0. */
static int64_t
ws_note_time(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	uint64_t v;
	int line;

	for (line = 0; line < 3 && p < end; line++)
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		else
			p = nl + 1;
	if (end - p < 6 || strncmp(p, "time ", 5) != 0 || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    checkpoint_u64(p + 5, (size_t)(nl - p - 5), &v) != 0 || v > INT64_MAX)
		return 0;
	return (int64_t)v;
}

int
witness_store_cosigned(const char *journal_dir, const char *note, char **out)
{
	char path[4200], (*names)[65] = NULL, *res = NULL;
	struct witness_note wn, sn;
	size_t nnames = 0, i, k, len = strlen(note), res_len, n = 0, added = 0;
	uint8_t *data = NULL;
	int rc;

	*out = NULL;
	if ((rc = witness_note_parse(note, len, &wn)) != 0)
		return rc;
	if ((res = malloc(WITNESS_NOTE_MAX + 1)) == NULL)
		return SD_E_NOMEM;
	memcpy(res, note, len + 1);
	res_len = len;
	/* None cosigned yet, or none readable: the note as it is (the auditor's check says what is missing). */
	if ((rc = ws_list(journal_dir, &names, &nnames)) != 0)
		goto out;
	for (i = 0; i < nnames; i++) {
		free(data);
		data = NULL;
		if (ws_path(journal_dir, names[i], path, sizeof(path)) != 0 ||
		    sd_file_read(path, WITNESS_NOTE_MAX, &data, &n) != 0 ||
		    witness_note_parse((const char *)data, n, &sn) != 0)
			continue;
		/* Only a cosignature of this very checkpoint: another text would not verify with it. */
		if (sn.text_len != wn.text_len || memcmp(data, note, wn.text_len) != 0)
			continue;
		for (k = 0; k < sn.nsigs; k++) {
			const struct witness_sig *s = &sn.sigs[k];

			/* The log's own line is in the note already. */
			if (s->name_len == wn.sigs[0].name_len && memcmp(s->name, wn.sigs[0].name, s->name_len) == 0)
				continue;
			if (wn.nsigs + added >= WITNESS_SIGS_MAX || res_len + s->line_len > WITNESS_NOTE_MAX)
				break;
			memcpy(res + res_len, s->line, s->line_len);
			res_len += s->line_len;
			res[res_len] = '\0';
			added++;
		}
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	free(data);
	free(names);
	free(res);
	return rc;
}

int
witness_store_newest(const char *journal_dir, const char *origin, struct witness_cosigned *out)
{
	char path[4200], (*names)[65] = NULL;
	struct witness_checkpoint cp;
	struct witness_note sn;
	size_t nnames = 0, i, k, n = 0, used;
	uint8_t *data = NULL;
	int rc, m;

	memset(out, 0, sizeof(*out));
	if ((rc = ws_list(journal_dir, &names, &nnames)) != 0)
		return rc;
	for (i = 0; i < nnames; i++) {
		free(data);
		data = NULL;
		if (ws_path(journal_dir, names[i], path, sizeof(path)) != 0 ||
		    sd_file_read(path, WITNESS_NOTE_MAX, &data, &n) != 0 ||
		    witness_note_parse((const char *)data, n, &sn) != 0 ||
		    witness_checkpoint_parse((const char *)data, sn.text_len, &cp) != 0 || strcmp(cp.origin, origin) != 0 ||
		    sn.nsigs < 2 || (out->size != 0 && cp.size < out->size))
			continue;
		if (cp.size > out->size) {
			out->size = cp.size;
			out->time_ms = ws_note_time((const char *)data, sn.text_len);
			out->by[0] = '\0';
		}
		/* The witnesses' lines (the first is the log's own). */
		for (k = 1; k < sn.nsigs; k++) {
			used = strlen(out->by);
			m = snprintf(out->by + used, sizeof(out->by) - used, "%s%.*s", used > 0 ? ", " : "",
			    (int)sn.sigs[k].name_len, sn.sigs[k].name);
			if (m < 0 || (size_t)m >= sizeof(out->by) - used) {
				out->by[used] = '\0';
				break;
			}
		}
	}
	free(data);
	free(names);
	return 0;
}

int
witness_store_copy(const char *from_dir, const char *to_dir, size_t *copied)
{
	char path[4200], (*names)[65] = NULL;
	uint8_t *data = NULL;
	size_t nnames = 0, i, n = 0;
	int rc;

	*copied = 0;
	if ((rc = ws_list(from_dir, &names, &nnames)) != 0)
		return rc;
	for (i = 0; i < nnames && rc == 0; i++) {
		free(data);
		data = NULL;
		if ((rc = ws_path(from_dir, names[i], path, sizeof(path))) != 0 ||
		    (rc = sd_file_read(path, WITNESS_NOTE_MAX, &data, &n)) != 0 ||
		    (rc = ws_write(to_dir, names[i], (const char *)data, n)) != 0)
			break;
		(*copied)++;
	}
	free(data);
	free(names);
	return rc;
}
