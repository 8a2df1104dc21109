/*
 * What the server spends: its CPU time and RSS from /proc/PID, summed over
 * signerd and its front (signerd-front, its one child; a peer such as cfssl
 * serve is one process), and the journal's durable commits from LMDB's last
 * transaction id (mdb_env_info() on a read-only handle of the same
 * environment; one id per commit; none for a peer).
 * RSS is also split: anonymous (heap, malloc arenas, thread stacks,
 * libmicrohttpd's connection pools), the LMDB maps (the journal's and the
 * ACME store's data.mdb: page cache of files signerd wrote, resident in
 * signerd because it reads them through the map) and the other files
 * (the programs and their libraries, counted in each process).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "bench.h"

/* One process of the server. */
struct bench_proc {
	char stat_path[64];
	char status_path[64];
	char clear_refs_path[64];
	char smaps_path[64];
};

struct bench_server {
	pid_t pid;
	MDB_env *env;
	struct bench_proc procs[2];	/* signerd, then signerd-front */
	size_t n_procs;
};

static int
bench_proc_paths(struct bench_proc *p, long pid)
{
	if (snprintf(p->stat_path, sizeof(p->stat_path), "/proc/%ld/stat", pid) < 0 ||
	    snprintf(p->status_path, sizeof(p->status_path), "/proc/%ld/status", pid) < 0 ||
	    snprintf(p->clear_refs_path, sizeof(p->clear_refs_path), "/proc/%ld/clear_refs", pid) < 0 ||
	    snprintf(p->smaps_path, sizeof(p->smaps_path), "/proc/%ld/smaps", pid) < 0)
		return sd_error_set(SD_E_INTERNAL, "snprintf failed");
	return 0;
}

static int bench_read_text(const char *path, char *buf, size_t cap);

/* signerd's front: its one child, named in /proc/PID/task/PID/children. */
static long
bench_front_pid(pid_t pid)
{
	char path[96], text[64], *end;
	long child;

	if (snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)pid, (long)pid) < 0 ||
	    bench_read_text(path, text, sizeof(text)) != 0)
		return 0;
	errno = 0;
	child = strtol(text, &end, 10);
	return errno == 0 && end != text && child > 0 ? child : 0;
}

int
bench_server_open(pid_t pid, const char *journal_path, struct bench_server **out)
{
	struct bench_server *srv = NULL;
	long child;
	int mrc, rc;

	*out = NULL;
	if (pid <= 0 || kill(pid, 0) != 0) {
		rc = sd_error_set(SD_E_IO, "no process %ld", (long)pid);
		goto out;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	srv->pid = pid;
	if ((rc = bench_proc_paths(&srv->procs[0], (long)pid)) != 0)
		goto out;
	srv->n_procs = 1;
	if ((child = bench_front_pid(pid)) > 0) {
		if ((rc = bench_proc_paths(&srv->procs[1], child)) != 0)
			goto out;
		srv->n_procs = 2;
	}
	if (journal_path != NULL && ((mrc = mdb_env_create(&srv->env)) != 0 ||
	    (mrc = mdb_env_open(srv->env, journal_path, MDB_RDONLY | MDB_NOTLS, 0600)) != 0)) {
		rc = sd_error_set(SD_E_JOURNAL, "journal %s: %s", journal_path, mdb_strerror(mrc));
		goto out;
	}
	*out = srv;
	srv = NULL;
	rc = 0;
out:
	bench_server_close(srv);
	return rc;
}

void
bench_server_close(struct bench_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->env != NULL)
		mdb_env_close(srv->env);
	free(srv);
}

bool
bench_server_alive(const struct bench_server *srv)
{
	return kill(srv->pid, 0) == 0;
}

long
bench_server_ticks_per_second(void)
{
	long t = sysconf(_SC_CLK_TCK);

	return t > 0 ? t : 100;
}

static int
bench_read_text(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	n = read(fd, buf, cap - 1);
	(void)close(fd);
	if (n <= 0)
		return sd_error_set(SD_E_IO, "%s: cannot read", path);
	buf[n] = '\0';
	return 0;
}

/* utime + stime: fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name. */
static int
bench_cpu_ticks(const struct bench_proc *srv, uint64_t *ticks)
{
	char buf[1024], *p, *end;
	unsigned long long ut, st;
	int rc, field;

	if ((rc = bench_read_text(srv->stat_path, buf, sizeof(buf))) != 0)
		return rc;
	if ((p = strrchr(buf, ')')) == NULL)
		return sd_error_set(SD_E_IO, "%s: unexpected format", srv->stat_path);
	p++;
	/* After ")" comes field 3 (state); skip fields 3..13. */
	for (field = 3; field <= 13; field++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	errno = 0;
	ut = strtoull(p, &end, 10);
	st = strtoull(end, &end, 10);
	if (errno != 0 || end == p)
		return sd_error_set(SD_E_IO, "%s: no utime/stime", srv->stat_path);
	*ticks = ut + st;
	return 0;
}

static uint64_t
bench_status_kb(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	return p != NULL ? strtoull(p + strlen(name), NULL, 10) : 0;
}

int
bench_server_sample(struct bench_server *srv, struct bench_server_sample *s)
{
	char status[4096];
	MDB_envinfo info;
	uint64_t ticks = 0;
	size_t i;
	int mrc, rc;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < srv->n_procs; i++) {
		if ((rc = bench_cpu_ticks(&srv->procs[i], &ticks)) != 0)
			return rc;
		s->cpu_ticks += ticks;
		if ((rc = bench_read_text(srv->procs[i].status_path, status, sizeof(status))) != 0)
			return rc;
		s->rss_kb += bench_status_kb(status, "\nVmRSS:");
		s->anon_kb += bench_status_kb(status, "\nRssAnon:");
		s->hwm_kb += bench_status_kb(status, "\nVmHWM:");
	}
	if (srv->env == NULL)	/* a peer: no journal */
		return 0;
	if ((mrc = mdb_env_info(srv->env, &info)) != 0)
		return sd_error_set(SD_E_JOURNAL, "mdb_env_info: %s", mdb_strerror(mrc));
	s->txnid = (uint64_t)info.me_last_txnid;
	return 0;
}

bool
bench_server_hwm_reset(struct bench_server *srv)
{
	ssize_t n;
	size_t i;
	int fd;

	for (i = 0; i < srv->n_procs; i++) {
		if ((fd = open(srv->procs[i].clear_refs_path, O_WRONLY | O_CLOEXEC)) < 0)
			return false;
		n = write(fd, "5", 1);
		(void)close(fd);
		if (n != 1)
			return false;
	}
	return true;
}

/*
 * Resident kB of each mapping of /proc/PID/smaps, by what it maps. A header
 * line is "start-end perms offset dev inode [path]"; its fields follow as
 * "Name: N kB" lines. Reading smaps walks every page table (some 10 ms for
 * signerd's 260 threads): once per step, not per sample.
 */
/* The kB of a "Name: N kB" line of smaps that begins with name, else -1. */
static long long
bench_smaps_kb(const char *line, const char *name)
{
	size_t n = strlen(name);
	unsigned long long kb;
	char *end;

	if (strncmp(line, name, n) != 0)
		return -1;
	errno = 0;
	kb = strtoull(line + n, &end, 10);
	return errno == 0 && end != line + n && kb <= LLONG_MAX ? (long long)kb : -1;
}

/*
 * The path of a mapping's header line "start-end perms offset dev inode
 * [path]" ("" for an anonymous one), or NULL when line is another field.
 */
static char *
bench_smaps_path(char *line)
{
	char *p = line, *end;
	int field;

	errno = 0;
	(void)strtoull(line, &end, 16);
	if (errno != 0 || end == line || *end != '-')
		return NULL;
	for (field = 0; field < 5; field++) {
		p += strcspn(p, " \n");
		if (*p != ' ')
			return NULL;
		p += strspn(p, " ");
	}
	p[strcspn(p, "\n")] = '\0';
	return p;
}

static int
bench_proc_maps(const struct bench_proc *p, uint64_t *lmdb_kb, uint64_t *lib_kb)
{
	char line[4352], *path;
	enum { OTHER, LMDB, LIB } kind = OTHER;
	long long kb;
	size_t n;
	FILE *f;

	if ((f = fopen(p->smaps_path, "re")) == NULL)
		return sd_error_set(SD_E_IO, "%s: %s", p->smaps_path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((kb = bench_smaps_kb(line, "Rss:")) >= 0) {
			if (kind == LMDB)
				*lmdb_kb += (uint64_t)kb;
			else if (kind == LIB)
				*lib_kb += (uint64_t)kb;
			continue;
		}
		/* A library's written pages (relocations, .data) are anonymous: RssAnon has them. */
		if ((kb = bench_smaps_kb(line, "Anonymous:")) >= 0) {
			if (kind == LIB && *lib_kb >= (uint64_t)kb)
				*lib_kb -= (uint64_t)kb;
			continue;
		}
		if ((path = bench_smaps_path(line)) == NULL)
			continue;	/* another field of the mapping */
		n = strlen(path);
		if (path[0] != '/')
			kind = OTHER;	/* anonymous, [heap], [stack], [vdso] */
		else if (n >= 4 && strcmp(path + n - 4, ".mdb") == 0)
			kind = LMDB;
		else
			kind = LIB;
	}
	(void)fclose(f);
	return 0;
}

int
bench_server_maps(struct bench_server *srv, uint64_t *lmdb_kb, uint64_t *lib_kb)
{
	size_t i;
	int rc;

	*lmdb_kb = 0;
	*lib_kb = 0;
	for (i = 0; i < srv->n_procs; i++)
		if ((rc = bench_proc_maps(&srv->procs[i], lmdb_kb, lib_kb)) != 0)
			return rc;
	return 0;
}
