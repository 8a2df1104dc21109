/*
 * What the daemon does to itself before it reads a secret, and the checks
 * that refuse to start on files others could read or change.
 */
#ifndef SD_PROCESS_H
#define SD_PROCESS_H

#include "sd_error.h"

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

#endif
