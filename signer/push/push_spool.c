/*
 * The checkpoint spool (push.h): written by the signer, read and emptied by
 * signerd-push. Nothing here knows libcurl, so that signerd never links it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "push.h"
#include "sd_file.h"
#include "sd_log.h"
#include "sd_metrics.h"
#include "sd_time.h"

#define PUSH_NAME_DIGITS 20		/* a tree size in a file name: UINT64_MAX has 20 digits */
#define PUSH_ACKED_MAX 128

struct push_receiver {
	char *url;
	char dir[PUSH_DIR_MAX];
	uint64_t dropped;		/* notes removed unsent past the bound, since start */
};

struct push_spool {
	pthread_mutex_t lock;		/* one put at a time; dropped counters */
	struct push_receiver r[CONFIG_PUSH_MAX];
	size_t n;
	uint64_t max;
};

int
push_receiver_dir(const char *spool, const char *url, char *dir, size_t cap)
{
	uint8_t md[32];
	char hex[65];
	int n;

	if (EVP_Digest(url, strlen(url), md, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of a checkpoint_url failed");
	sd_hex_encode(md, PUSH_ID_LEN / 2, hex);
	n = snprintf(dir, cap, "%s/%s", spool, hex);
	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint_spool %s: path too long", spool);
	return 0;
}

/* A durable directory entry: what was renamed into or removed from dir stays so after a crash. */
static int
push_dir_sync(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = sd_error_set(SD_E_IO, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/* mkdir 0700 unless it is there; an existing one must be a directory others cannot write. */
static int
push_mkdir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sd_error_set(SD_E_IO, "checkpoint spool %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0)
		return sd_error_set(SD_E_IO, "checkpoint spool %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sd_error_set(SD_E_CONFIG, "checkpoint spool %s is not a directory", dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return sd_error_set(SD_E_CONFIG, "checkpoint spool %s is writable by group or others", dir);
	return 0;
}

/* Write name in dir atomically; durable: the file and the directory synced. */
static int
push_write_file(const char *dir, const char *name, const void *data, size_t len, bool durable)
{
	int dfd, rc;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "checkpoint spool %s: %s", dir, strerror(errno));
	rc = sd_file_write_at(dfd, dir, name, data, len, 0600, SD_FILE_OVERWRITE | (durable ? 0 : SD_FILE_NOSYNC));
	close(dfd);
	return rc;
}

int
push_exchange_prepare(const char *spool, const char *url, char *dir, size_t cap)
{
	char parent[PUSH_DIR_MAX], *slash;
	int n, rc;

	/* The default lives in the journal's directory, which the journal's open would make later. */
	n = snprintf(parent, sizeof(parent), "%s", spool);
	if (n < 0 || (size_t)n >= sizeof(parent))
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint_spool %s: path too long", spool);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (access(parent, F_OK) != 0 && (rc = push_mkdir(parent)) != 0)
			return rc;
	}
	if ((rc = push_mkdir(spool)) != 0 || (rc = push_receiver_dir(spool, url, dir, cap)) != 0 ||
	    (rc = push_mkdir(dir)) != 0)
		return rc;
	/* For whoever lists the spool: which receiver a directory is. */
	return push_write_file(dir, "url", url, strlen(url), false);
}

int
push_spool_prepare(const struct sd_config *cfg)
{
	char dir[PUSH_DIR_MAX];
	size_t i;
	int rc;

	for (i = 0; i < cfg->n_journal_checkpoint_url; i++)
		if ((rc = push_exchange_prepare(cfg->journal_checkpoint_spool, cfg->journal_checkpoint_url[i], dir,
		    sizeof(dir))) != 0)
			return rc;
	return 0;
}

int
push_spool_open(const struct sd_config *cfg, struct push_spool **out)
{
	struct push_spool *s = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->n_journal_checkpoint_url == 0)
		return 0;
	if ((rc = push_spool_prepare(cfg)) != 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SD_E_NOMEM;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	s->max = cfg->journal_checkpoint_spool_max;
	for (i = 0; i < cfg->n_journal_checkpoint_url; i++) {
		if ((s->r[i].url = strdup(cfg->journal_checkpoint_url[i])) == NULL) {
			rc = SD_E_NOMEM;
			goto out;
		}
		s->n++;
		if ((rc = push_receiver_dir(cfg->journal_checkpoint_spool, s->r[i].url, s->r[i].dir,
		    sizeof(s->r[i].dir))) != 0)
			goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	push_spool_free(s);
	return rc;
}

void
push_spool_free(struct push_spool *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->r[i].url);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* "NNNNNNNNNNNNNNNNNNNN<suffix>" into *size; anything else (temp files, url, acked) is not one. */
static bool
push_file_name(const char *name, const char *suffix, uint64_t *size)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < PUSH_NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + PUSH_NAME_DIGITS, suffix) != 0)
		return false;
	*size = v;
	return true;
}

static int
push_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
push_spool_scan(const char *dir, uint64_t **sizes, size_t *n)
{
	return push_exchange_list(dir, ".note", sizes, n);
}

int
push_exchange_list(const char *dir, const char *suffix, uint64_t **sizes, size_t *n)
{
	struct dirent *de;
	uint64_t *v = NULL, *grown, size;
	size_t cap = 0, count = 0;
	DIR *d;
	int rc = 0;

	*sizes = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
	errno = 0;
	/* readdir() on a stream of this call's own is thread-safe in glibc; readdir_r() is deprecated. */
	/* cppcheck-suppress readdirCalled */
	while (count < PUSH_SCAN_MAX && (de = readdir(d)) != NULL) {
		if (!push_file_name(de->d_name, suffix, &size))
			continue;
		if (count == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = SD_E_NOMEM;
				goto out;
			}
			v = grown;
		}
		v[count++] = size;
		errno = 0;
	}
	if (count < PUSH_SCAN_MAX && errno != 0) {
		rc = sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (count > 1)
		qsort(v, count, sizeof(*v), push_cmp_u64);
	*sizes = v;
	*n = count;
	v = NULL;
out:
	closedir(d);
	free(v);
	return rc;
}

static int
push_file_path(const char *dir, uint64_t size, const char *suffix, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%020" PRIu64 "%s", dir, size, suffix);

	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint spool %s: path too long", dir);
	return 0;
}

/* The "time <ms>" line of a note (its fourth), or -1 when it has none. */
static int64_t
push_note_time(const char *note)
{
	const char *p = note;
	int64_t v = 0;
	int line;

	for (line = 0; line < 3; line++)
		if ((p = strchr(p, '\n')) == NULL)
			return -1;
		else
			p++;
	if (strncmp(p, "time ", 5) != 0)
		return -1;
	for (p += 5; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return *p == '\n' ? v : -1;
}

int
push_exchange_get(const char *dir, uint64_t size, const char *suffix, char *buf, size_t cap, size_t *len)
{
	char path[PUSH_DIR_MAX + 64];
	size_t off = 0;
	ssize_t r;
	int fd, rc = 0;

	*len = 0;
	if (cap == 0)
		return sd_error_set(SD_E_TOO_LARGE, "no room for a spooled file");
	if ((rc = push_file_path(dir, size, suffix, path, sizeof(path))) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? SD_E_NOT_FOUND : sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (off == cap - 1) {
			rc = sd_error_set(SD_E_TOO_LARGE, "%s: longer than %zu bytes", path, cap - 1);
			break;
		}
		if ((r = read(fd, buf + off, cap - 1 - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	if (rc != 0)
		return rc;
	buf[off] = '\0';
	if (off == 0 || strlen(buf) != off)
		return sd_error_set(SD_E_INVAL, "%s: empty, or not text", path);
	*len = off;
	return 0;
}

int
push_spool_read(const char *dir, uint64_t size, char *buf, size_t cap, size_t *len, int64_t *time_ms)
{
	int rc;

	*time_ms = -1;
	if ((rc = push_exchange_get(dir, size, ".note", buf, cap, len)) != 0)
		return rc;
	if ((*time_ms = push_note_time(buf)) < 0) {
		*len = 0;
		return sd_error_set(SD_E_INVAL, "%s/%020" PRIu64 ".note: not a checkpoint note", dir, size);
	}
	return 0;
}

int
push_exchange_put(const char *dir, uint64_t size, const char *suffix, const char *data, size_t len)
{
	char name[PUSH_NAME_DIGITS + 16];

	if (strlen(suffix) > 8)
		return sd_error_set(SD_E_INTERNAL, "a spool suffix of over 8 bytes");
	(void)snprintf(name, sizeof(name), "%020" PRIu64 "%s", size, suffix);
	return push_write_file(dir, name, data, len, true);
}

int
push_exchange_remove(const char *dir, uint64_t size, const char *suffix)
{
	char path[PUSH_DIR_MAX + 64];
	int rc;

	if ((rc = push_file_path(dir, size, suffix, path, sizeof(path))) != 0)
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	return push_dir_sync(dir);
}

int
push_spool_remove(const char *dir, uint64_t size)
{
	return push_exchange_remove(dir, size, ".note");
}

int
push_acked_write(const char *dir, uint64_t size, int64_t note_ms, int64_t acked_ms)
{
	char text[PUSH_ACKED_MAX];
	int n;

	n = snprintf(text, sizeof(text), "%" PRIu64 " %" PRId64 " %" PRId64 "\n", size, note_ms, acked_ms);
	if (n < 0 || (size_t)n >= sizeof(text))
		return sd_error_set(SD_E_INTERNAL, "acked line too long");
	/* Observability only: no fsync; a crash loses at most which note was the newest acknowledged. */
	return push_write_file(dir, "acked", text, (size_t)n, false);
}

int
push_acked_read(const char *dir, uint64_t *size, int64_t *note_ms, int64_t *acked_ms)
{
	char path[PUSH_DIR_MAX + 16], text[PUSH_ACKED_MAX], *p, *end;
	unsigned long long s;
	long long nm = 0, am = 0;
	ssize_t r;
	int fd, n;
	bool ok;

	n = snprintf(path, sizeof(path), "%s/acked", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint spool %s: path too long", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? SD_E_NOT_FOUND : sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	r = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (r <= 0)
		return sd_error_set(SD_E_IO, "%s: cannot read it", path);
	text[r] = '\0';
	/* "SIZE NOTE_MS ACKED_MS\n", decimal; anything else is not ours. */
	errno = 0;
	s = strtoull(text, &end, 10);
	ok = isdigit((unsigned char)text[0]) && *end == ' ';
	if (ok) {
		nm = strtoll(p = end + 1, &end, 10);
		ok = end != p && *end == ' ';
	}
	if (ok) {
		am = strtoll(p = end + 1, &end, 10);
		ok = end != p && strcmp(end, "\n") == 0;
	}
	if (!ok || errno != 0)
		return sd_error_set(SD_E_INVAL, "%s: not an acked line", path);
	*size = (uint64_t)s;
	*note_ms = (int64_t)nm;
	*acked_ms = (int64_t)am;
	return 0;
}

/* Drop the oldest notes of r past max (lock held). */
static void
push_bound(struct push_spool *s, struct push_receiver *r)
{
	uint64_t *sizes = NULL;
	size_t n = 0, i, drop;
	int rc;

	if ((rc = push_spool_scan(r->dir, &sizes, &n)) != 0) {
		sd_log(SD_LOG_ERROR, "checkpoint push: %s", sd_error_detail(rc));
		return;
	}
	if (n > s->max) {
		drop = (size_t)(n - s->max);
		for (i = 0; i < drop; i++)
			if ((rc = push_spool_remove(r->dir, sizes[i])) != 0)
				sd_log(SD_LOG_ERROR, "checkpoint push: %s", sd_error_detail(rc));
		r->dropped += drop;
		sd_log(SD_LOG_WARN, "checkpoint push: the spool of %s held %zu notes, more than "
		    "[journal] checkpoint_spool_max %llu: dropped the oldest %zu (tree sizes %llu to %llu), which "
		    "that receiver will not get", r->url, n, (unsigned long long)s->max, drop,
		    (unsigned long long)sizes[0], (unsigned long long)sizes[drop - 1]);
	}
	free(sizes);
}

int
push_spool_put(struct push_spool *s, uint64_t size, const char *note, size_t len)
{
	char name[PUSH_NAME_DIGITS + 8];
	size_t i;
	int rc, last = 0;

	if (s == NULL)
		return 0;
	if (len == 0 || len >= PUSH_NOTE_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "a checkpoint note of %zu bytes", len);
	(void)snprintf(name, sizeof(name), "%020" PRIu64 ".note", size);
	if (pthread_mutex_lock(&s->lock) != 0)
		abort();
	for (i = 0; i < s->n; i++) {
		/* Durable before signerd-push may see it: a receiver gets each note whole or not at all. */
		if ((rc = push_write_file(s->r[i].dir, name, note, len, true)) != 0) {
			sd_log(SD_LOG_ERROR, "checkpoint push: tree size %llu not spooled for %s: %s",
			    (unsigned long long)size, s->r[i].url, sd_error_detail(rc));
			last = rc;
			continue;
		}
		push_bound(s, &s->r[i]);
	}
	if (pthread_mutex_unlock(&s->lock) != 0)
		abort();
	return last;
}

void
push_spool_metrics_text(struct push_spool *s, struct sd_metrics_text *t)
{
	uint64_t *sizes, acked_size[CONFIG_PUSH_MAX] = { 0 }, dropped[CONFIG_PUSH_MAX] = { 0 };
	int64_t note_ms[CONFIG_PUSH_MAX] = { 0 }, acked_ms, now = sd_time_now_ms();
	size_t spooled[CONFIG_PUSH_MAX] = { 0 }, i;
	bool acked[CONFIG_PUSH_MAX] = { false };

	if (s == NULL)
		return;
	if (pthread_mutex_lock(&s->lock) != 0)
		abort();
	for (i = 0; i < s->n; i++)
		dropped[i] = s->r[i].dropped;
	if (pthread_mutex_unlock(&s->lock) != 0)
		abort();
	for (i = 0; i < s->n; i++) {
		spooled[i] = 0;
		sizes = NULL;
		if (push_spool_scan(s->r[i].dir, &sizes, &spooled[i]) != 0)
			spooled[i] = 0;
		free(sizes);
		acked[i] = push_acked_read(s->r[i].dir, &acked_size[i], &note_ms[i], &acked_ms) == 0;
	}
	sd_error_clear();
	sd_metrics_family(t, "signerd_checkpoint_push_spooled", "gauge",
	    "Checkpoint notes spooled for the receiver and not yet acknowledged by it.");
	for (i = 0; i < s->n; i++) {
		sd_metrics_printf(t, "signerd_checkpoint_push_spooled{receiver=\"");
		sd_metrics_label(t, s->r[i].url);
		sd_metrics_printf(t, "\"} %zu\n", spooled[i]);
	}
	sd_metrics_family(t, "signerd_checkpoint_push_dropped_total", "counter",
	    "Checkpoint notes dropped unsent past [journal] checkpoint_spool_max, since start.");
	for (i = 0; i < s->n; i++) {
		sd_metrics_printf(t, "signerd_checkpoint_push_dropped_total{receiver=\"");
		sd_metrics_label(t, s->r[i].url);
		sd_metrics_printf(t, "\"} %llu\n", (unsigned long long)dropped[i]);
	}
	sd_metrics_family(t, "signerd_checkpoint_push_acked_age_seconds", "gauge",
	    "Seconds since the newest checkpoint the receiver acknowledged was signed (absent: none yet).");
	for (i = 0; i < s->n; i++) {
		if (!acked[i])
			continue;
		sd_metrics_printf(t, "signerd_checkpoint_push_acked_age_seconds{receiver=\"");
		sd_metrics_label(t, s->r[i].url);
		sd_metrics_printf(t, "\"} %.3f\n", (double)(now - note_ms[i]) / 1000.0);
	}
	sd_metrics_family(t, "signerd_checkpoint_push_acked_tree_size", "gauge",
	    "Tree size of the newest checkpoint the receiver acknowledged.");
	for (i = 0; i < s->n; i++) {
		if (!acked[i])
			continue;
		sd_metrics_printf(t, "signerd_checkpoint_push_acked_tree_size{receiver=\"");
		sd_metrics_label(t, s->r[i].url);
		sd_metrics_printf(t, "\"} %llu\n", (unsigned long long)acked_size[i]);
	}
}
