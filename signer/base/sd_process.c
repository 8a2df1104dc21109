#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "sd_process.h"

int
sd_process_start(int *sigfd)
{
	sigset_t stop;

	*sigfd = -1;
	/* Before any thread starts, so that only the signalfd sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0 || (*sigfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0)
		return sd_error_set(SD_E_INTERNAL, "cannot block the stop signals: %s", strerror(errno));
	/* A peer gone mid-write is an error where the write is, not a signal. */
	(void)signal(SIGPIPE, SIG_IGN);
	/*
	 * One thread per connection would otherwise give up to 8 malloc arenas
	 * per core, each holding freed memory. 8 shared arenas keep RSS low
	 * (4 to 6 MB resident in each process at 64 connections; README "Where
	 * the memory goes") while threads seldom wait for an arena's lock (4
	 * cost some 10% more CPU per certificate and saved under 0.6 MB).
	 * MALLOC_ARENA_MAX in the environment overrides.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, 8);
	return 0;
}

int
sd_process_harden(void)
{
	struct rlimit none = { 0, 0 };

	(void)umask(077);
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return sd_error_set(SD_E_INTERNAL, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return sd_error_set(SD_E_INTERNAL, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	return 0;
}

int
sd_path_private(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return sd_error_set(SD_E_CONFIG, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return sd_error_set(SD_E_CONFIG, "%s %s: not a regular file", what, path);
	if (st.st_mode & S_IRWXO)
		return sd_error_set(SD_E_CONFIG, "%s %s is accessible by others (mode %04o; chmod o-rwx)", what, path,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

int
sd_dir_private(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : sd_error_set(SD_E_CONFIG, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sd_error_set(SD_E_CONFIG, "%s %s: not a directory", what, path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return sd_error_set(SD_E_CONFIG, "%s %s is writable by group or others (mode %04o; chmod go-w)", what,
		    path, (unsigned)(st.st_mode & 07777));
	return 0;
}
