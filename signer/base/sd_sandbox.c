/*
 * The seccomp allow-lists of signerd's two processes (README, "Privilege
 * separation"). Each is installed once initialisation is over, on every
 * thread: what a process does only while starting (loading the PKCS#11
 * module, binding, reading its files, changing user) needs no entry here.
 */
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "sd_process.h"

/* Both processes: memory, threads, time, signals, stderr, their sockets. */
static const char *const sd_sandbox_common[] = {
	"read", "readv", "write", "writev", "pread64", "pwrite64", "close", "lseek",
	"fstat", "newfstatat", "statx", "fcntl", "dup", "dup3",
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk",
	"futex", "set_robust_list", "rseq", "clone", "clone3", "exit", "exit_group",
	"sched_yield", "sched_getaffinity", "getrandom",
	"rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "tgkill",
	"restart_syscall",
	"gettid", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "prlimit64",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_ctl",
	"sendmsg", "recvmsg", "sendto", "recvfrom", "shutdown", "getsockopt", "setsockopt",
	"getsockname", "getpeername",
};

/* signerd (the signer): the HSM module's token files, the journal, the checkpoint file, the front's end. */
static const char *const sd_sandbox_signer[] = {
	"openat", "open", "stat", "lstat", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
	"getdents64", "getcwd", "statfs", "fstatfs", "umask",
	"fsync", "fdatasync", "msync", "ftruncate", "fallocate", "flock",
	"mlock", "mlock2", "munlock",	/* SoftHSM keeps key material in locked pages */
	"rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "fchmod", "fchown",
	"kill", "wait4", "waitid", "pipe2", "eventfd2",
	"sysinfo",	/* glibc's qsort() reads the memory size before it sorts a large array (the certificate index) */
};

/* signerd-front: accept and serve connections; it opens files only to read them. */
static const char *const sd_sandbox_front[] = {
	"accept", "accept4", "pipe2", "eventfd2",
};

/* signerd-front with ACME: resolve a name, connect to it (the name service reads files and asks the kernel). */
static const char *const sd_sandbox_outbound[] = {
	"connect", "bind", "uname", "stat", "access", "faccessat", "faccessat2",
};

/*
 * signerd-push: libcurl (HTTP and TLS with OpenSSL, its CA file, name
 * resolution, a wake-up socket pair for its resolver threads) and the spool,
 * whose notes it reads and removes; it writes only its acked files.
 */
static const char *const sd_sandbox_push[] = {
	"openat", "open", "stat", "lstat", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
	"getdents64", "statfs", "fstatfs", "getcwd", "uname", "sysinfo",
	"fsync", "fdatasync", "rename", "renameat", "renameat2", "unlink", "unlinkat",
	"connect", "bind", "socketpair", "pipe2", "eventfd2", "sendmmsg", "recvmmsg",
	"epoll_create1", "select", "pselect6",
};

#if defined(__SANITIZE_ADDRESS__)
/* An ASan build's runtime: the leak check at exit stops the threads with ptrace and reads /proc (read-only). */
static const char *const sd_sandbox_sanitizer[] = {
	"ptrace", "wait4", "waitid", "prctl", "getdents", "getdents64", "readlink", "kill", "sched_getaffinity",
	"pipe2", "socketpair", "unlinkat",
};
#endif

static int
sd_sandbox_add(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		/* A name this architecture lacks (an old one, a new one) needs no entry. */
		if ((nr = seccomp_syscall_resolve_name(names[i])) == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow %s", names[i]);
	}
	return 0;
}

int
sd_process_sandbox(enum sd_sandbox sandbox, enum sd_seccomp mode)
{
	scmp_filter_ctx ctx;
	int rc, err;

	if (mode == SD_SECCOMP_OFF)
		return 0;
	if ((ctx = seccomp_init(mode == SD_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS)) == NULL)
		return SD_E_NOMEM;
	/* Every thread, the ones already running included. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot synchronise threads");
		goto out;
	}
	if ((rc = sd_sandbox_add(ctx, sd_sandbox_common,
	    sizeof(sd_sandbox_common) / sizeof(sd_sandbox_common[0]))) != 0)
		goto out;
	/* Threads name themselves (libmicrohttpd does). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0)) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow prctl");
		goto out;
	}
#if defined(__SANITIZE_ADDRESS__)
	if ((rc = sd_sandbox_add(ctx, sd_sandbox_sanitizer,
	    sizeof(sd_sandbox_sanitizer) / sizeof(sd_sandbox_sanitizer[0]))) != 0)
		goto out;
#endif
	/* ioctl only to ask whether stderr is a terminal. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS, 0)) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow ioctl");
		goto out;
	}
	if (sandbox == SD_SANDBOX_PUSH) {
		rc = sd_sandbox_add(ctx, sd_sandbox_push, sizeof(sd_sandbox_push) / sizeof(sd_sandbox_push[0]));
		/* Receivers over IPv4 or IPv6; netlink and Unix sockets for getaddrinfo(3) and nscd. */
		if (rc == 0 && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) != 0))
			rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow signerd-push's sockets");
	} else if (sandbox == SD_SANDBOX_SIGNER) {
		rc = sd_sandbox_add(ctx, sd_sandbox_signer, sizeof(sd_sandbox_signer) / sizeof(sd_sandbox_signer[0]));
		/* PKCS#11 modules log with syslog(3): a Unix socket to /dev/log, nothing on the network. */
		if (rc == 0 && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0) != 0))
			rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow syslog's socket");
	} else {
		rc = sd_sandbox_add(ctx, sd_sandbox_front, sizeof(sd_sandbox_front) / sizeof(sd_sandbox_front[0]));
		/* Reading only: the front writes no file once it serves. */
		if (rc == 0 && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY)) != 0))
			rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow reading files");
		/*
		 * ACME validation (api/acme_validate.c) connects to the identifier's
		 * address, and getaddrinfo(3) asks DNS (UDP or TCP) and the
		 * kernel's addresses (netlink); nothing else opens a socket.
		 */
		if (rc == 0 && sandbox == SD_SANDBOX_FRONT_ACME && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket),
		    1, SCMP_A0(SCMP_CMP_EQ, AF_INET, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0)) != 0 || seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) != 0 || sd_sandbox_add(ctx, sd_sandbox_outbound,
		    sizeof(sd_sandbox_outbound) / sizeof(sd_sandbox_outbound[0])) != 0))
			rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot allow ACME validation's sockets");
	}
	if (rc != 0)
		goto out;
	if ((err = seccomp_load(ctx)) != 0)
		rc = sd_error_set(SD_E_INTERNAL, "seccomp: cannot load the filter: %s", strerror(-err));
out:
	seccomp_release(ctx);
	return rc;
}
