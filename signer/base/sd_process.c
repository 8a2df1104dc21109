#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sd_process.h"

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
