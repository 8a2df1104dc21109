#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sd_file.h"

#define SD_SECRET_MAX 256

static int
sd_fd_read_all(int fd, const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t have = 0;
	ssize_t n;
	int rc;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = sd_error_set(SD_E_IO, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = sd_error_set(SD_E_TOO_LARGE, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	while (have < (size_t)st.st_size) {
		n = read(fd, buf + have, (size_t)st.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = sd_error_set(SD_E_IO, "%s: read failed", path);
			goto out;
		}
		have += (size_t)n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	return rc;
}

int
sd_file_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd, rc;

	*out = NULL;
	*len = 0;
	/* Symlinks are followed: what is checked (a regular file, its size) is the final target. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	rc = sd_fd_read_all(fd, path, max, out, len);
	close(fd);
	return rc;
}

/*
 * Open the PIN file, or the systemd credential of the same name. Under
 * systemd (LoadCredential=user.pin:/etc/signerd/user.pin) the PIN file is
 * root's and unreadable by the service user; systemd hands its content over
 * as $CREDENTIALS_DIRECTORY/user.pin. A credential named as the file's last
 * component is what the service manager chose for us: it wins over the path.
 * *shown is the path opened, for messages (in alt when it is the credential).
 */
static int
sd_secret_open(const char *path, char alt[PATH_MAX], const char **shown, bool *credential)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	const char *name = strrchr(path, '/');
	int fd, n;

	*shown = path;
	*credential = false;
	name = name != NULL ? name + 1 : path;
	if (dir != NULL && dir[0] != '\0' && name[0] != '\0') {
		n = snprintf(alt, PATH_MAX, "%s/%s", dir, name);
		if (n < 0 || n >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		/* Symlinks are followed; sd_secret_read() checks the file they end at. */
		fd = open(alt, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) {
			*shown = alt;
			*credential = true;
			return fd;
		}
	}
	/* Symlinks are followed (Kubernetes secret volumes are links), as above. */
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
sd_secret_read(const char *path, char **out, size_t *len)
{
	struct stat st;
	char alt[PATH_MAX];
	const char *shown;
	uint8_t *buf = NULL;
	size_t n = 0;
	mode_t forbidden;
	bool credential;
	int fd, rc;

	*out = NULL;
	*len = 0;
	if ((fd = sd_secret_open(path, alt, &shown, &credential)) < 0)
		return sd_error_set(SD_E_PIN, "PIN file %s: %s", shown, strerror(errno));
	/*
	 * Where the credential file system takes ACLs (tmpfs), systemd grants the
	 * service user read access by an ACL entry, and the group bits then show
	 * that ACL's mask (r--): read by group is the service user, nobody else.
	 */
	forbidden = credential ? (S_IWGRP | S_IXGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);
	if (fstat(fd, &st) != 0 || (st.st_mode & forbidden) != 0) {
		close(fd);
		return sd_error_set(SD_E_PIN, "PIN file %s must not be accessible by group or others (chmod 600)", shown);
	}
	/* Someone else's file, however private, could be swapped under us by its owner. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return sd_error_set(SD_E_PIN, "PIN file %s must belong to this user or root", shown);
	}
	rc = sd_fd_read_all(fd, shown, SD_SECRET_MAX, &buf, &n);
	close(fd);
	if (rc != 0)
		return rc == SD_E_NOMEM ? rc : sd_error_set(SD_E_PIN, "PIN file %s unreadable or too long", shown);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0) {
		sd_secret_free((char *)buf, 1);
		return sd_error_set(SD_E_PIN, "PIN file %s is empty", shown);
	}
	*out = (char *)buf;
	*len = n;
	return 0;
}

void
sd_secret_free(char *secret, size_t len)
{
	if (secret == NULL)
		return;
	OPENSSL_cleanse(secret, len);
	free(secret);
}

int
sd_file_write_at(int dirfd, const char *dir_label, const char *name, const void *data, size_t len, unsigned mode,
    unsigned flags)
{
	char tmp[NAME_MAX + 1];
	const uint8_t *p = data;
	bool sync = !(flags & SD_FILE_NOSYNC);
	size_t done = 0;
	ssize_t n;
	int fd = -1, rc = 0, k;

	/* Hidden, so that a directory's reader never takes it for a file written whole. */
	k = snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld", name, (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp) || strchr(name, '/') != NULL)
		return sd_error_set(SD_E_IO, "%s/%s: not a file name, or too long", dir_label, name);
	if (!(flags & SD_FILE_OVERWRITE) && faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return sd_error_set(SD_E_IO, "%s/%s: already exists", dir_label, name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a process of the same pid that died writing it. */
		(void)unlinkat(dirfd, tmp, 0);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0)
		return sd_error_set(SD_E_IO, "%s/%s: %s", dir_label, tmp, strerror(errno));
	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = sd_error_set(SD_E_IO, "%s/%s: write: %s", dir_label, tmp, n < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && sync && fsync(fd) != 0)
		rc = sd_error_set(SD_E_IO, "%s/%s: fsync: %s", dir_label, tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = sd_error_set(SD_E_IO, "%s/%s: close: %s", dir_label, tmp, strerror(errno));
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = sd_error_set(SD_E_IO, "%s/%s: %s", dir_label, name, strerror(errno));
	/* The rename itself is durable only once the directory is. */
	if (rc == 0 && sync && fsync(dirfd) != 0)
		rc = sd_error_set(SD_E_IO, "%s: fsync: %s", dir_label, strerror(errno));
	if (rc != 0)
		(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

int
sd_file_write(const char *path, const void *data, size_t len, unsigned mode, int overwrite)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *name = slash != NULL ? slash + 1 : path;
	size_t dlen = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	int dfd, rc;

	if (dlen >= sizeof(dir))
		return sd_error_set(SD_E_IO, "%s: path too long", path);
	memcpy(dir, slash == NULL ? "." : path, dlen);
	dir[dlen] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sd_error_set(SD_E_IO, "%s: %s", dir, strerror(errno));
	rc = sd_file_write_at(dfd, dir, name, data, len, mode, overwrite ? SD_FILE_OVERWRITE : 0);
	close(dfd);
	return rc;
}

void
sd_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
sd_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
sd_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strnlen(hex, 2 * cap + 1), i;
	int hi, lo;

	*len = 0;
	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return sd_error_set(SD_E_INVAL, "not 1 to %zu bytes of hex", cap);
	for (i = 0; i < n / 2; i++) {
		if ((hi = sd_hex_digit(hex[2 * i])) < 0 || (lo = sd_hex_digit(hex[2 * i + 1])) < 0)
			return sd_error_set(SD_E_INVAL, "not hex: '%c' at %zu", hi < 0 ? hex[2 * i] : hex[2 * i + 1],
			    hi < 0 ? 2 * i : 2 * i + 1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}
