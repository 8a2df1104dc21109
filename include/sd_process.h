/*
 * What the daemon does to itself before it reads a secret, and the checks
 * that refuse to start on files others could read or change.
 */
#ifndef SD_PROCESS_H
#define SD_PROCESS_H

#include "sd_error.h"

/*
 * What signerd's processes do first: block SIGINT, SIGTERM and SIGHUP in every
 * thread to come and return a signalfd (*sigfd) that receives them, ignore
 * SIGPIPE, share 8 malloc arenas. Errors: SD_E_INTERNAL.
 */
SD_WUR int sd_process_start(int *sigfd);

/*
 * umask 077 (every file signerd makes is its own), no core files
 * (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0: no core, and no
 * ptrace or /proc/PID/mem by other users of the same uid), so that a crash
 * or a debugger does not copy a PIN or key material out of memory.
 * Errors: SD_E_INTERNAL (a call refused; detail names it).
 */
SD_WUR int sd_process_harden(void);

/*
 * path (following symlinks: Kubernetes secrets and systemd credentials are
 * links) must be a regular file that others can neither read nor write.
 * what names it in the message. Errors: SD_E_CONFIG.
 */
SD_WUR int sd_path_private(const char *path, const char *what);

/*
 * A directory others cannot write to (absent is fine: it will be made 0700).
 * Errors: SD_E_CONFIG.
 */
SD_WUR int sd_dir_private(const char *path, const char *what);

/*
 * Started as root: become user for good (its uid and primary group, no
 * supplementary groups, not dumpable again); "root" stays root. Started
 * as anyone else: that must already be user.
 * Errors: SD_E_CONFIG (no such user; not root and not user), SD_E_NOMEM,
 * SD_E_INTERNAL (a call refused).
 */
SD_WUR int sd_process_become_user(const char *user);

/* [process] seccomp: what a system call outside a process's allow-list does. */
enum sd_seccomp {
	SD_SECCOMP_KILL = 1,		/* the process is killed (SIGSYS) */
	SD_SECCOMP_LOG = 2,		/* the kernel logs it (audit), the call goes on: for tuning */
	SD_SECCOMP_OFF = 3,		/* no filter */
};

/* Which process a system call filter is for: their needs differ. */
enum sd_sandbox {
	SD_SANDBOX_SIGNER,		/* the HSM module, the journal (LMDB), checkpoint files */
	SD_SANDBOX_FRONT,		/* sockets, threads, TLS: no file is opened for writing */
	SD_SANDBOX_FRONT_ACME,		/* the front, validating ACME challenges: it also resolves and connects out */
	SD_SANDBOX_PUSH,		/* signerd-push: resolves and connects out, reads and empties the spool */
};

/*
 * Install the seccomp allow-list for sandbox on every thread of the
 * process (mode: enum sd_seccomp; off installs nothing). Outside the
 * list, the kill mode kills the process (SIGSYS), the log mode lets the
 * call through and has the kernel log it.
 * Errors: SD_E_INTERNAL (the kernel or libseccomp refused), SD_E_NOMEM.
 */
SD_WUR int sd_process_sandbox(enum sd_sandbox sandbox, enum sd_seccomp mode);

#endif
