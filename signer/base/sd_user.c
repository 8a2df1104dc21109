/* Becoming the service user after a root start. */
#define _GNU_SOURCE	/* setresuid, setresgid */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sd_process.h"

#define SD_PW_BUF 16384

int
sd_process_become_user(const char *user)
{
	struct passwd pw, *found = NULL;
	char *buf;
	uid_t uid;
	gid_t gid;
	int err;

	if ((buf = malloc(SD_PW_BUF)) == NULL)
		return SD_E_NOMEM;
	err = getpwnam_r(user, &pw, buf, SD_PW_BUF, &found);
	if (found == NULL) {
		free(buf);
		return sd_error_set(SD_E_CONFIG, "[process] user \"%s\": %s", user,
		    err != 0 ? strerror(err) : "no such user");
	}
	uid = pw.pw_uid;
	gid = pw.pw_gid;
	free(buf);
	if (geteuid() != 0) {
		if (getuid() != uid || geteuid() != uid)
			return sd_error_set(SD_E_CONFIG, "[process] user is \"%s\", but signerd runs as uid %u and "
			    "cannot change user: start it as root or as %s", user, (unsigned)geteuid(), user);
		return 0;
	}
	if (uid == 0)
		return 0;	/* "root": a deliberate choice (the demo, the tests as root) */
	/* Groups first: once the uid is gone, they can no longer be changed. */
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		return sd_error_set(SD_E_INTERNAL, "cannot become user \"%s\": %s", user, strerror(errno));
	if (setuid(0) == 0 || geteuid() != uid || getegid() != gid)
		return sd_error_set(SD_E_INTERNAL, "user change to \"%s\" did not hold", user);
	/* A change of credentials makes the process dumpable again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return sd_error_set(SD_E_INTERNAL, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	return 0;
}
