/*
 * signerd's side of signerd-push (push.h): start it once, at start, before
 * the PIN is read or the HSM module loaded, and stop it last.
 */
#define _GNU_SOURCE	/* close_range */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "push.h"
#include "sd_log.h"

#define PUSH_FD 3			/* signerd-push's end of the pipe */
#define PUSH_ARGV_MAX (12 + 3 * CONFIG_PUSH_MAX)

struct push_proc {
	pid_t pid;			/* -1 once reaped */
	int fd;				/* our end of the pipe, -1 once reaped */
};

int
push_proc_fd(const struct push_proc *p)
{
	return p != NULL ? p->fd : -1;
}

/* How a child ended, for the log. */
static void
push_status_text(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		(void)snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)snprintf(buf, cap, "was killed by signal %d%s", WTERMSIG(status),
		    WTERMSIG(status) == SIGSYS ? " (a system call outside its seccomp allow-list)" : "");
	else
		(void)snprintf(buf, cap, "ended (status %d)", status);
}

int
push_proc_spawn(const char *path, const struct sd_config *cfg, char *const *witnesses, size_t nw,
    struct push_proc **out)
{
	static const char *const seccomp[] = { "kill", "kill", "log", "off" };
	struct push_proc *p = NULL;
	char retry[24];
	const char *argv[PUSH_ARGV_MAX];
	size_t a = 0, i;
	pid_t parent = getpid();
	int pipefd[2] = { -1, -1 }, child, rc;

	*out = NULL;
	if (cfg->n_journal_checkpoint_url == 0 && nw == 0)
		return 0;
	if (nw > CONFIG_PUSH_MAX || cfg->n_journal_checkpoint_url > CONFIG_PUSH_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "more than %d witnesses or checkpoint_url receivers", CONFIG_PUSH_MAX);
	if (cfg->process_seccomp >= sizeof(seccomp) / sizeof(seccomp[0]))
		abort();
	(void)snprintf(retry, sizeof(retry), "%" PRIu64, cfg->journal_checkpoint_retry_max);
	/* No secret here: config.c refuses a URL with a user or password. */
	argv[a++] = "signerd-push";
	argv[a++] = "--spool";
	argv[a++] = cfg->journal_checkpoint_spool;
	argv[a++] = "--retry-max";
	argv[a++] = retry;
	argv[a++] = "--seccomp";
	argv[a++] = seccomp[cfg->process_seccomp];
	if (cfg->journal_checkpoint_ca != NULL) {
		argv[a++] = "--ca";
		argv[a++] = cfg->journal_checkpoint_ca;
	}
	for (i = 0; i < nw; i++) {
		argv[a++] = "--witness";
		argv[a++] = witnesses[i];
	}
	argv[a++] = "--";
	for (i = 0; i < cfg->n_journal_checkpoint_url; i++)
		argv[a++] = cfg->journal_checkpoint_url[i];
	argv[a] = NULL;
	if ((rc = push_spool_prepare(cfg)) != 0)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SD_E_NOMEM;
	p->pid = -1;
	p->fd = -1;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		rc = sd_error_set(SD_E_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((p->pid = fork()) < 0) {
		rc = sd_error_set(SD_E_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (p->pid == 0) {
		/* The child: only async-signal-safe calls until exec. It ends with signerd, however that ends. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(127);
		if ((child = fcntl(pipefd[1], F_DUPFD_CLOEXEC, PUSH_FD + 1)) < 0 || dup2(child, PUSH_FD) < 0)
			_exit(127);
		(void)close_range((unsigned)PUSH_FD + 1, ~0u, 0);
		/* Its own session: a terminal's ^C goes to signerd, which stops it in order. */
		(void)setsid();
		execve(path, (char *const *)(uintptr_t)argv, environ);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	p->fd = pipefd[0];
	pipefd[0] = -1;
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	push_proc_stop(p, 0);
	return rc;
}

void
push_proc_lost(struct push_proc *p)
{
	char how[128];
	int status;

	if (p == NULL || p->pid < 0)
		return;
	if (waitpid(p->pid, &status, 0) != p->pid)
		return;
	push_status_text(status, how, sizeof(how));
	sd_log(SD_LOG_ERROR, "signerd-push (pid %ld) %s: checkpoints stay spooled until signerd starts again; "
	    "issuance goes on", (long)p->pid, how);
	p->pid = -1;
	close(p->fd);
	p->fd = -1;
}

void
push_proc_stop(struct push_proc *p, unsigned grace_ms)
{
	struct timespec tick = { 0, 50 * 1000000 };
	char how[128];
	unsigned waited = 0;
	int status = 0;
	pid_t r;

	if (p == NULL)
		return;
	if (p->pid > 0) {
		(void)kill(p->pid, SIGTERM);
		while ((r = waitpid(p->pid, &status, WNOHANG)) == 0 && waited < grace_ms) {
			(void)nanosleep(&tick, NULL);
			waited += 50;
		}
		if (r == 0) {
			sd_log(SD_LOG_WARN, "signerd-push did not end within %u ms of SIGTERM: killed; what it had "
			    "not sent stays spooled", grace_ms);
			(void)kill(p->pid, SIGKILL);
			r = waitpid(p->pid, &status, 0);
		}
		if (r == p->pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
		    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			push_status_text(status, how, sizeof(how));
			sd_log(SD_LOG_ERROR, "signerd-push %s", how);
		}
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}
