/*
 * Bounded file reading, including secret files (PINs).
 */
#ifndef SD_FILE_H
#define SD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

/*
 * Read the whole regular file at path (symlinks followed; the final target
 * must be a regular file) into
 * a new NUL-terminated buffer. Fails with SD_E_TOO_LARGE past max bytes,
 * SD_E_IO when it cannot be opened or read. On success *out (free with free())
 * and *len (excluding the NUL) are set; on failure *out is NULL.
 */
SD_WUR int sd_file_read(const char *path, size_t max, uint8_t **out, size_t *len);

/*
 * Read a secret (PIN) file: at most 256 bytes, one trailing newline removed,
 * refused with SD_E_PIN if group- or world-accessible, owned by another user
 * than this one or root, empty, or unreadable (checked on the final target
 * of symlinks).
 * Free the result with sd_secret_free(), which wipes it. When
 * $CREDENTIALS_DIRECTORY (systemd, LoadCredential=) holds a credential named
 * as path's last component, that credential is read instead of path; its
 * group bits may show read (systemd's ACL mask for the service user).
 */
SD_WUR int sd_secret_read(const char *path, char **out, size_t *len);
void sd_secret_free(char *secret, size_t len);

/*
 * Write data to path atomically (temp file + rename), with the given mode,
 * refusing to replace an existing file unless overwrite is true; durable
 * (file and directory synced) when it returns.
 */
SD_WUR int sd_file_write(const char *path, const void *data, size_t len, unsigned mode, int overwrite);

#define SD_FILE_OVERWRITE 1u	/* replace an existing file */
#define SD_FILE_NOSYNC 2u	/* atomic but not synced: data that can be made again */

/*
 * The same for name in the directory dirfd (dir_label names it in errors):
 * a hidden temporary file (".NAME.tmp.PID", O_EXCL, O_NOFOLLOW) written,
 * synced, renamed over name, and the directory synced, unless flags say
 * SD_FILE_NOSYNC. Errors: SD_E_IO.
 */
SD_WUR int sd_file_write_at(int dirfd, const char *dir_label, const char *name, const void *data, size_t len,
    unsigned mode, unsigned flags);

/* Lower-case hex of in into out (2*len+1 bytes). */
void sd_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Hex (either case, an even number of digits, at least two) into out (cap
 * bytes); *len is the byte count. Errors: SD_E_INVAL (empty, odd, not hex,
 * longer than cap bytes).
 */
SD_WUR int sd_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len);

/* The value of one hexadecimal digit (either case), or -1. */
int sd_hex_digit(char c);

#endif
