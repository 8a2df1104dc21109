/*
 * signerd-push: sends the checkpoints signerd spools to the receivers of
 * [journal] checkpoint_url (README "Pushing checkpoints"). signerd starts it
 * before it reads the PIN or loads the HSM module, as its own user; it
 * never maps the module, opens no journal and holds no key: what it reads
 * is the spool, and all a receiver can do to it is answer. A witness's
 * answer goes back through the spool too, for signerd to judge (push.h). libcurl (and
 * what libcurl parses off the network) lives in this process only.
 *
 * signerd-push --spool DIR --retry-max SECONDS --seccomp kill|log|off
 *              [--ca FILE] [--witness ADD_CHECKPOINT_URL]... -- [URL...]
 * Its fd 3 is a pipe whose other end signerd polls: it closes when this
 * process ends. SIGTERM or SIGINT: a last pass over each spool, then exit.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "push/push.h"
#include "sd_log.h"
#include "sd_process.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: signerd-push --spool DIR --retry-max SECONDS --seccomp kill|log|off [--ca FILE] "
	    "[--witness URL]... -- [URL...]\n(signerd starts it; see [journal] checkpoint_url and witness)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "retry-max", required_argument, NULL, 'r' },
		{ "seccomp", required_argument, NULL, 'S' },
		{ "ca", required_argument, NULL, 'c' },
		{ "witness", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct push_send_options o = { NULL, NULL, 0 };
	struct push_senders *senders = NULL;
	char *witnesses[CONFIG_PUSH_MAX];
	size_t nw = 0;
	struct signalfd_siginfo si;
	struct pollfd pfd;
	enum sd_seccomp seccomp = SD_SECCOMP_KILL;
	pid_t parent = getppid();
	unsigned long long v;
	char *end;
	int opt, rc, sigfd = -1, n;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's': o.spool = optarg; break;
		case 'c': o.ca = optarg; break;
		case 'w':
			if (nw == CONFIG_PUSH_MAX)
				usage();
			witnesses[nw++] = optarg;
			break;
		case 'r':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || v == 0 || v > 86400)
				usage();
			o.retry_max = v;
			break;
		case 'S':
			if (strcmp(optarg, "kill") == 0)
				seccomp = SD_SECCOMP_KILL;
			else if (strcmp(optarg, "log") == 0)
				seccomp = SD_SECCOMP_LOG;
			else if (strcmp(optarg, "off") == 0)
				seccomp = SD_SECCOMP_OFF;
			else
				usage();
			break;
		default: usage();
		}
	}
	n = argc - optind;
	if (o.spool == NULL || o.retry_max == 0 || n < 0 || n > CONFIG_PUSH_MAX || (n == 0 && nw == 0))
		usage();

	sd_log_init("signerd-push", true);
	if ((rc = sd_process_start(&sigfd)) != 0 || (rc = sd_process_harden()) != 0 ||
	    (rc = push_senders_start(&o, argv + optind, (size_t)n, witnesses, nw, &senders)) != 0 ||
	    (rc = sd_process_sandbox(SD_SANDBOX_PUSH, seccomp)) != 0)
		goto out;
	sd_log(SD_LOG_INFO, "signerd-push: %d receiver%s, %zu witness%s, spool %s", n, n == 1 ? "" : "s", nw,
	    nw == 1 ? "" : "es", o.spool);
	pfd = (struct pollfd){ sigfd, POLLIN, 0 };
	for (;;) {
		/* Ends with signerd: its death sends SIGTERM (PR_SET_PDEATHSIG); the parent check is the backstop. */
		if (getppid() != parent)
			break;
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			break;
		if ((pfd.revents & POLLIN) && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    si.ssi_signo != SIGHUP)
			break;
	}
	rc = 0;
out:
	if (rc != 0)
		sd_log(SD_LOG_ERROR, "signerd-push: %s", sd_error_detail(rc));
	push_senders_stop(senders);
	if (sigfd >= 0)
		close(sigfd);
	return rc == 0 ? 0 : 1;
}
