/*
 * The base room's file and process helpers (signer/base/sd_file.c,
 * sd_process.c): files read through symlinks are judged by their final
 * target, secrets must be private and owned by us or root, and the daemon's
 * self-hardening takes effect.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "sd_file.h"
#include "sd_log.h"
#include "sd_metrics.h"
#include "sd_process.h"
#include "sd_test.h"

static char tmp[PATH_MAX];

/* tmp/name as a path. */
static void
path_of(const char *name, char out[PATH_MAX])
{
	CU_ASSERT_FATAL(snprintf(out, PATH_MAX, "%s/%s", tmp, name) < PATH_MAX);
}

/* A symlink tmp/link -> target (a name in tmp or an absolute path). */
static void
link_to(const char *target, const char *link, char out[PATH_MAX])
{
	path_of(link, out);
	(void)unlink(out);
	CU_ASSERT_FATAL(symlink(target, out) == 0);
}

static void
test_file_read_follows_links(void)
{
	char file[PATH_MAX], link[PATH_MAX], dirlink[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	sd_test_write(tmp, "plain.txt", "hello\n", 0644, file);
	CU_ASSERT_EQUAL(sd_file_read(file, 64, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, 6);
	free(buf);
	buf = NULL;
	/* A symlink farm (Kubernetes secret volume: ..data/file) reads as its target. */
	link_to("plain.txt", "plain.link", link);
	CU_ASSERT_EQUAL(sd_file_read(link, 64, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_TRUE(buf != NULL && memcmp(buf, "hello\n", 6) == 0);
	free(buf);
	buf = NULL;
	/* The final target is what must be a regular file, and what the size limit applies to. */
	link_to(tmp, "dir.link", dirlink);
	CU_ASSERT_EQUAL(sd_file_read(dirlink, 64, &buf, &len), SD_E_IO);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(sd_file_read(link, 3, &buf, &len), SD_E_TOO_LARGE);
	CU_ASSERT_PTR_NULL(buf);
	link_to("missing.txt", "dangling.link", link);
	CU_ASSERT_EQUAL(sd_file_read(link, 64, &buf, &len), SD_E_IO);
}

/* The names in tmp that start with prefix. */
static int
count_prefixed(const char *prefix)
{
	DIR *d = opendir(tmp);
	const struct dirent *de;
	int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void
test_file_write(void)
{
	char path[PATH_MAX], link[PATH_MAX], other[PATH_MAX];
	uint8_t *buf = NULL;
	struct stat st;
	size_t len = 0;
	int dfd;

	path_of("w.txt", path);
	(void)unlink(path);
	CU_ASSERT_EQUAL(sd_file_write(path, "one\n", 4, 0640, 0), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
	/* Not replaced unless asked; then replaced whole. */
	CU_ASSERT_EQUAL(sd_file_write(path, "two\n", 4, 0640, 0), SD_E_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_IO), "already exists"));
	CU_ASSERT_EQUAL(sd_file_write(path, "three\n", 6, 0640, 1), 0);
	CU_ASSERT_EQUAL(sd_file_read(path, 64, &buf, &len), 0);
	CU_ASSERT_TRUE(len == 6 && memcmp(buf, "three\n", 6) == 0);
	free(buf);
	buf = NULL;
	/* A stale temporary file of this pid (a crash) is no obstacle; none is left behind. */
	CU_ASSERT_FATAL(snprintf(other, sizeof(other), "%s/.w.txt.tmp.%ld", tmp, (long)getpid()) < PATH_MAX);
	sd_test_write(tmp, strrchr(other, '/') + 1, "stale", 0600, other);
	CU_ASSERT_EQUAL(sd_file_write(path, "four\n", 5, 0640, 1), 0);
	CU_ASSERT_EQUAL(count_prefixed(".w.txt.tmp"), 0);
	/* The name itself being a symlink: replaced by the file, the target untouched. */
	sd_test_write(tmp, "target.txt", "keep\n", 0644, other);
	link_to("target.txt", "w.link", link);
	dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dfd >= 0);
	CU_ASSERT_EQUAL(sd_file_write_at(dfd, tmp, "w.link", "new\n", 4, 0600, SD_FILE_OVERWRITE), 0);
	CU_ASSERT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(sd_file_read(other, 64, &buf, &len), 0);
	CU_ASSERT_TRUE(len == 5 && memcmp(buf, "keep\n", 5) == 0);
	free(buf);
	/* Unsynced, still atomic; names that are not a file name refused. */
	CU_ASSERT_EQUAL(sd_file_write_at(dfd, tmp, "n.txt", "x", 1, 0600, SD_FILE_OVERWRITE | SD_FILE_NOSYNC), 0);
	CU_ASSERT_EQUAL(sd_file_write_at(dfd, tmp, "../n.txt", "x", 1, 0600, SD_FILE_OVERWRITE), SD_E_IO);
	CU_ASSERT_EQUAL(count_prefixed(".n.txt"), 0);
	close(dfd);
	/* A missing directory. */
	path_of("no/such/dir.txt", path);
	CU_ASSERT_EQUAL(sd_file_write(path, "x", 1, 0600, 1), SD_E_IO);
}

static void
test_secret_through_links(void)
{
	char pin[PATH_MAX], link[PATH_MAX], open_pin[PATH_MAX];
	char *secret = NULL;
	size_t len = 0;

	sd_test_write(tmp, "user.pin", "1234\n", 0600, pin);
	CU_ASSERT_EQUAL(sd_secret_read(pin, &secret, &len), 0);
	CU_ASSERT_EQUAL(len, 4);
	CU_ASSERT_TRUE(secret != NULL && strcmp(secret, "1234") == 0);
	sd_secret_free(secret, len);
	secret = NULL;
	link_to("user.pin", "pin.link", link);
	CU_ASSERT_EQUAL(sd_secret_read(link, &secret, &len), 0);
	CU_ASSERT_TRUE(secret != NULL && strcmp(secret, "1234") == 0);
	sd_secret_free(secret, len);
	secret = NULL;
	/* A private link to a readable file is a readable secret: the target's mode counts. */
	sd_test_write(tmp, "open.pin", "1234\n", 0644, open_pin);
	link_to("open.pin", "open.link", link);
	CU_ASSERT_EQUAL(sd_secret_read(link, &secret, &len), SD_E_PIN);
	CU_ASSERT_PTR_NULL(secret);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_PIN), "group or others"));
	CU_ASSERT_EQUAL(chmod(open_pin, 0640), 0);
	CU_ASSERT_EQUAL(sd_secret_read(open_pin, &secret, &len), SD_E_PIN);
	sd_test_write(tmp, "empty.pin", "\n", 0600, pin);
	CU_ASSERT_EQUAL(sd_secret_read(pin, &secret, &len), SD_E_PIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_PIN), "empty"));
}

/* Only root can hand a file to another user: the ownership rule is tested there. */
static void
test_secret_owner(void)
{
	char pin[PATH_MAX];
	char *secret = NULL;
	size_t len = 0;

	if (geteuid() != 0)
		return;
	sd_test_write(tmp, "other.pin", "1234\n", 0600, pin);
	CU_ASSERT_EQUAL_FATAL(chown(pin, 4242, 4242), 0);
	CU_ASSERT_EQUAL(sd_secret_read(pin, &secret, &len), SD_E_PIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_PIN), "must belong to this user or root"));
	CU_ASSERT_EQUAL(chown(pin, 0, 0), 0);
	CU_ASSERT_EQUAL(sd_secret_read(pin, &secret, &len), 0);
	sd_secret_free(secret, len);
}

/*
 * systemd credentials (LoadCredential=user.pin:/etc/signerd/user.pin): the
 * credential named as the PIN file's last component wins over the file.
 */
static void
test_secret_credential(void)
{
	char creds[PATH_MAX], file[PATH_MAX], cred[PATH_MAX];
	char *secret = NULL;
	size_t len = 0;

	path_of("credentials", creds);
	CU_ASSERT_FATAL(mkdir(creds, 0700) == 0);
	sd_test_write(tmp, "cred.pin", "file\n", 0600, file);
	CU_ASSERT_FATAL(setenv("CREDENTIALS_DIRECTORY", creds, 1) == 0);
	/* No credential of that name: the file. */
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), 0);
	CU_ASSERT_TRUE(secret != NULL && strcmp(secret, "file") == 0);
	sd_secret_free(secret, len);
	secret = NULL;
	sd_test_write(creds, "cred.pin", "credential\n", 0400, cred);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), 0);
	CU_ASSERT_TRUE(secret != NULL && strcmp(secret, "credential") == 0);
	sd_secret_free(secret, len);
	secret = NULL;
	/* The file need not exist or be readable: under systemd it is root's. */
	CU_ASSERT_EQUAL(unlink(file), 0);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), 0);
	sd_secret_free(secret, len);
	secret = NULL;
	/* systemd's ACL for the service user shows as group read: taken. */
	CU_ASSERT_EQUAL(chmod(cred, 0440), 0);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), 0);
	sd_secret_free(secret, len);
	secret = NULL;
	/* Anything more is refused, naming the credential. */
	CU_ASSERT_EQUAL(chmod(cred, 0460), 0);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), SD_E_PIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_PIN), "credentials/cred.pin must not be accessible"));
	CU_ASSERT_EQUAL(chmod(cred, 0404), 0);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), SD_E_PIN);
	CU_ASSERT_PTR_NULL(secret);
	/* Outside the credential directory a group-readable PIN file stays refused. */
	sd_test_write(tmp, "group.pin", "1234\n", 0440, file);
	CU_ASSERT_EQUAL(sd_secret_read(file, &secret, &len), SD_E_PIN);
	CU_ASSERT_EQUAL(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

static void
test_path_private(void)
{
	char conf[PATH_MAX], link[PATH_MAX];

	sd_test_write(tmp, "private.conf", "x", 0600, conf);
	CU_ASSERT_EQUAL(sd_path_private(conf, "configuration"), 0);
	link_to("private.conf", "conf.link", link);
	CU_ASSERT_EQUAL(sd_path_private(link, "configuration"), 0);
	CU_ASSERT_EQUAL(chmod(conf, 0640), 0);
	CU_ASSERT_EQUAL(sd_path_private(conf, "configuration"), 0);	/* group may read: the operator's call */
	CU_ASSERT_EQUAL(chmod(conf, 0604), 0);
	CU_ASSERT_EQUAL(sd_path_private(link, "configuration"), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "accessible by others (mode 0604"));
	CU_ASSERT_EQUAL(sd_path_private(tmp, "configuration"), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "not a regular file"));
	path_of("nowhere.conf", conf);
	CU_ASSERT_EQUAL(sd_path_private(conf, "configuration"), SD_E_CONFIG);
}

static void
test_dir_private(void)
{
	char dir[PATH_MAX], file[PATH_MAX];

	path_of("journal", dir);
	CU_ASSERT_EQUAL(sd_dir_private(dir, "journal directory"), 0);	/* absent: made 0700 later */
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	CU_ASSERT_EQUAL(sd_dir_private(dir, "journal directory"), 0);
	CU_ASSERT_EQUAL(chmod(dir, 0757), 0);
	CU_ASSERT_EQUAL(sd_dir_private(dir, "journal directory"), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "writable by group or others (mode 0757"));
	CU_ASSERT_EQUAL(chmod(dir, 0770), 0);
	CU_ASSERT_EQUAL(sd_dir_private(dir, "journal directory"), SD_E_CONFIG);
	CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
	CU_ASSERT_EQUAL(sd_dir_private(dir, "journal directory"), 0);
	sd_test_write(tmp, "journal.file", "x", 0600, file);
	CU_ASSERT_EQUAL(sd_dir_private(file, "journal directory"), SD_E_CONFIG);
}

/* Last: it changes this process for good. */
static void
test_process_harden(void)
{
	struct rlimit rl;
	mode_t old;

	(void)umask(022);
	CU_ASSERT_EQUAL(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
	CU_ASSERT_EQUAL(sd_process_harden(), 0);
	old = umask(077);
	CU_ASSERT_EQUAL(old, 077);
	CU_ASSERT_EQUAL(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(getrlimit(RLIMIT_CORE, &rl), 0);
	CU_ASSERT_EQUAL(rl.rlim_cur, 0);
	CU_ASSERT_EQUAL(rl.rlim_max, 0);
}

/*
 * Run attempt() in a child after the sandbox for sb in mode; returns how the
 * child ended: the signal that killed it, or -(exit status).
 */
static int
sandboxed(enum sd_sandbox sb, enum sd_seccomp mode, int (*attempt)(void))
{
	pid_t pid;
	int status;

	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (sd_process_sandbox(sb, mode) != 0)
			_exit(100);
		_exit(attempt() == 0 ? 0 : 101);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

/* What a hijacked front would want: a new socket to the network, a file to write, a shell. */
static int
attempt_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0)
		close(fd);
	return 0;
}

/* What a PKCS#11 module does to log: syslog(3) over a Unix socket. */
static int
attempt_syslog_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

static int
attempt_write_file(void)
{
	char path[PATH_MAX];
	int fd;

	path_of("sandbox-written", path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
		close(fd);
	return 0;
}

static int
attempt_read_file(void)
{
	int fd = open("/etc/hostname", O_RDONLY);

	if (fd >= 0)
		close(fd);
	return 0;
}

static int
attempt_exec(void)
{
	char *argv[] = { "true", NULL };

	execv("/bin/true", argv);
	return 0;
}

/* valgrind does not implement seccomp(2): tests/valgrind.sh says so and these checks step aside. */
static bool
under_valgrind(void)
{
	if (getenv("SD_TEST_VALGRIND") == NULL)
		return false;
	fprintf(stderr, "seccomp checks skipped: valgrind cannot run seccomp(2)\n");
	return true;
}

static void
test_sandbox_front(void)
{
	if (under_valgrind())
		return;
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_KILL, attempt_socket), SIGSYS);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_KILL, attempt_write_file), SIGSYS);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_KILL, attempt_exec), SIGSYS);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_KILL, attempt_read_file), 0);
	/* Log mode lets the call through (the kernel logs it); off installs nothing. */
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_LOG, attempt_socket), 0);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_LOG, attempt_write_file), 0);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_OFF, attempt_exec), 0);
}

static void
test_sandbox_signer(void)
{
	if (under_valgrind())
		return;
	/* The signer writes its journal and checkpoint files, but opens no socket and runs nothing. */
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_SIGNER, SD_SECCOMP_KILL, attempt_write_file), 0);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_SIGNER, SD_SECCOMP_KILL, attempt_syslog_socket), 0);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_FRONT, SD_SECCOMP_KILL, attempt_syslog_socket), SIGSYS);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_SIGNER, SD_SECCOMP_KILL, attempt_socket), SIGSYS);
	CU_ASSERT_EQUAL(sandboxed(SD_SANDBOX_SIGNER, SD_SECCOMP_KILL, attempt_exec), SIGSYS);
}

static int
attempt_become_nobody(void)
{
	if (sd_process_become_user("nobody") != 0)
		return 1;
	/* For good: no way back to root, not dumpable again, no supplementary group left. */
	if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0 || prctl(PR_GET_DUMPABLE) != 0 ||
	    getgroups(0, NULL) != 0)
		return 1;
	/* Not root any more, it cannot become another user. */
	return sd_process_become_user("root") == SD_E_CONFIG ? 0 : 1;
}

static void
test_become_user(void)
{
	pid_t pid;
	int status;

	CU_ASSERT_EQUAL(sd_process_become_user("no-such-user-signerd"), SD_E_CONFIG);
	if (geteuid() != 0) {
		/* Not root: only who we already are is accepted. */
		CU_ASSERT_EQUAL(sd_process_become_user("root"), SD_E_CONFIG);
		return;
	}
	/* "root" keeps a root start as root. */
	CU_ASSERT_EQUAL(sd_process_become_user("root"), 0);
	CU_ASSERT_EQUAL(geteuid(), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(attempt_become_nobody());
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A log line is one JSON object with the fields given, whatever bytes they hold. */
static void
test_log_format(void)
{
	static const char nasty[] = "quote\" back\\ nl\n tab\t bell\a bad\xff\xfe utf8 \xc3\xa9 end";
	struct sd_log_field f[3] = { SD_LOG_STR("cn", nasty), SD_LOG_NUM("status", 429), SD_LOG_STR("empty", NULL) };
	char line[SD_LOG_LINE_MAX], *big;
	json_error_t err;
	json_t *o;
	size_t len, i;

	len = sd_log_format(line, sizeof(line), 1733480000123, SD_LOG_WARN, "hello", f, 3);
	CU_ASSERT_TRUE_FATAL(len > 0 && len < sizeof(line));
	CU_ASSERT_EQUAL(line[len - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(line, '\n', len - 1));	/* one line */
	o = json_loadb(line, len, 0, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "time")), "2024-12-06T10:13:20.123Z");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "level")), "warn");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "msg")), "hello");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "status")), 429);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "empty")), "");
	/* Bad UTF-8 becomes U+FFFD; good UTF-8 and escapes come back as they were. */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "cn")),
	    "quote\" back\\ nl\n tab\t bell\a bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9 end");
	json_decref(o);

	/* A value longer than a line is cut, and the line is still one whole JSON object. */
	big = malloc(3 * SD_LOG_LINE_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (i = 0; i < 3 * SD_LOG_LINE_MAX - 1; i++)
		big[i] = (char)(i % 3 == 0 ? '"' : 'a');
	big[i] = '\0';
	f[0] = SD_LOG_STR("cn", big);
	for (i = 64; i <= sizeof(line); i += 61) {
		len = sd_log_format(line, i, 0, SD_LOG_INFO, big, f, 3);
		CU_ASSERT_TRUE(len <= i && len > 0 && line[len - 1] == '\n');
		o = json_loadb(line, len, 0, &err);
		CU_ASSERT_PTR_NOT_NULL(o);
		if (o == NULL)
			fprintf(stderr, "size %zu: %s: %.*s\n", i, err.text, (int)len, line);
		json_decref(o);
	}
	free(big);
}

/* Label values are escaped; a histogram's buckets are cumulative and end with +Inf. */
static void
test_metrics_text(void)
{
	struct sd_metrics_text t = { NULL, 0, 0, false };
	struct sd_histogram h;
	char *text = NULL;
	size_t len = 0;

	memset(&h, 0, sizeof(h));
	sd_histogram_observe(&h, 500);		/* 0.5 ms: first bucket */
	sd_histogram_observe(&h, 3000);		/* 3 ms: le 0.005 */
	sd_histogram_observe(&h, 60000000);	/* a minute: +Inf only */
	sd_metrics_family(&t, "x_seconds", "histogram", "help");
	sd_histogram_text(&t, "x_seconds", "route=\"/a\"", &h);
	sd_metrics_printf(&t, "y{v=\"");
	sd_metrics_label(&t, "a\"b\\c\nd");
	sd_metrics_printf(&t, "\"} 1\n");
	CU_ASSERT_EQUAL_FATAL(sd_metrics_text_take(&t, &text, &len), 0);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE x_seconds histogram\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_bucket{route=\"/a\",le=\"0.001\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_bucket{route=\"/a\",le=\"0.0025\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_bucket{route=\"/a\",le=\"0.005\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_bucket{route=\"/a\",le=\"10\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_count{route=\"/a\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "x_seconds_sum{route=\"/a\"} 60.003500\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "y{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
	free(text);
}

int
main(void)
{
	static const struct sd_test_case files[] = {
		{ "sd_file_read follows symlinks, judges the target", test_file_read_follows_links },
		{ "atomic writes: replace or not, stale temporaries, symlinks, names", test_file_write },
		{ "secrets through symlinks: the target must be private", test_secret_through_links },
		{ "secrets owned by another user refused", test_secret_owner },
		{ "a systemd credential of the PIN file's name wins", test_secret_credential },
		{ "configuration file others cannot access", test_path_private },
		{ "journal directory others cannot write", test_dir_private },
	};
	static const struct sd_test_case logs[] = {
		{ "JSON log lines", test_log_format },
		{ "Prometheus text and histograms", test_metrics_text },
	};
	static const struct sd_test_case process[] = {
		{ "umask 077, no core, not dumpable", test_process_harden },
		{ "front seccomp: no socket, no write, no exec", test_sandbox_front },
		{ "signer seccomp: files yes, sockets and exec no", test_sandbox_signer },
		{ "become the service user for good", test_become_user },
	};
	int rc;

	sd_test_tmpdir(tmp, "base");
	SD_TEST_SUITE("files", files);
	SD_TEST_SUITE("process", process);
	SD_TEST_SUITE("logs and metrics", logs);
	rc = sd_test_run("test_base");
	sd_test_rmtree(tmp);
	return rc;
}
