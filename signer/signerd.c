/*
 * signerd: the signing daemon, and the signer of its privilege separation
 * (include/privsep.h). Loads the configuration, starts signerd-front (which
 * serves the HTTPS API), opens the HSM and the journal, and answers the
 * front's requests until SIGINT or SIGTERM, or until the front ends.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "privsep.h"
#include "push/push.h"
#include "sd_error.h"
#include "sd_file.h"
#include "sd_process.h"
#include "signer.h"
#include "sd_log.h"
#include "witness/witness.h"

#ifndef SD_LIBEXECDIR
#define SD_LIBEXECDIR "/usr/local/libexec/signerd"
#endif
#define SIGNERD_CONFIG_MAX (1024 * 1024)
#define SIGNERD_PUSH_GRACE_MS 5000	/* signerd-push's last pass at stop: then it is killed */

static void __attribute__((noreturn))
usage(FILE *out, int code)
{
	fprintf(out, "usage: signerd -c CONFIG [--port PORT] [--ready-file PATH]\n"
	    "       signerd --version | --help\n");
	exit(code);
}

static int
write_ready_file(const char *path, uint16_t port)
{
	char text[16];
	int n;

	n = snprintf(text, sizeof(text), "%u\n", (unsigned)port);
	if (n < 0 || (size_t)n >= sizeof(text))
		return SD_E_INTERNAL;
	return sd_file_write(path, text, (size_t)n, 0644, 1);
}

/* A helper program (signerd-front, signerd-push) beside this program (a build tree), else where it is installed. */
static int
helper_path_find(const char *name, char *path, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;
	int len;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			len = snprintf(path, cap, "%s/%s", self, name);
			if (len > 0 && (size_t)len < cap && access(path, X_OK) == 0)
				return 0;
		}
	}
	len = snprintf(path, cap, "%s/%s", SD_LIBEXECDIR, name);
	if (len < 0 || (size_t)len >= cap)
		return sd_error_set(SD_E_INTERNAL, "%s path too long", name);
	if (access(path, X_OK) != 0)
		return sd_error_set(SD_E_CONFIG, "cannot run %s: %s", path, strerror(errno));
	return 0;
}

/*
 * SIGHUP: read the file at path again and apply it in both processes if a
 * reload can (sd_config_reload_check()); otherwise say why, and the
 * configuration in force stays. *current is the one in force; start, the
 * one read at start, lives until exit.
 */
static void
reload(const char *path, int port, struct privsep_front *front, struct signer *signer, struct sd_config **current,
    struct sd_config *start)
{
	struct sd_config *next = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = sd_path_private(path, "configuration")) != 0 ||
	    (rc = sd_file_read(path, SIGNERD_CONFIG_MAX, &text, &len)) != 0 ||
	    (rc = sd_config_parse(path, (const char *)text, len, &next)) != 0)
		goto out;
	if (port >= 0)
		next->api_port = (uint16_t)port;	/* --port, as at start */
	if ((rc = sd_config_reload_check(*current, next)) != 0 ||
	    (rc = privsep_front_reload(front, next, (const char *)text, len)) != 0)
		goto out;
	if (*current != start)
		sd_config_free(*current);
	*current = next;
	next = NULL;
	if ((rc = signer_service_reload(signer, text, len)) != 0)
		sd_log(SD_LOG_ERROR, "reloaded %s, but the reload is not journaled: %s", path, sd_error_detail(rc));
	else
		sd_log(SD_LOG_INFO, "reloaded %s: %zu profiles, %zu clients", path, (*current)->n_profiles,
		    (*current)->n_clients);
	rc = 0;
out:
	if (rc != 0)
		sd_log(SD_LOG_ERROR, "reload refused, the configuration in force stays: %s", sd_error_detail(rc));
	sd_config_free(next);
	free(text);
}

/*
 * Wait for a signal (SIGINT, SIGTERM: stop; SIGHUP: reload), the end of the
 * front or the end of signerd-push (push_fd, -1: none). Returns the signal,
 * 0 when the front ended, -1 when signerd-push did.
 */
static int
wait_for_stop(int sigfd, int front_fd, int push_fd)
{
	struct signalfd_siginfo si;
	struct pollfd fds[3] = { { sigfd, POLLIN, 0 }, { front_fd, POLLIN, 0 }, { push_fd, POLLIN, 0 } };

	for (;;) {
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if ((fds[0].revents & POLLIN) && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			return (int)si.ssi_signo;
		if (fds[1].revents != 0)
			return 0;
		if (fds[2].revents != 0)
			return -1;
	}
}

/* The add-checkpoint URLs of cfg's witnesses, for signerd-push (targets hold them). */
static int
witness_urls(const struct sd_config *cfg, struct witness_target *targets, char **urls, size_t *n)
{
	size_t i;
	int rc;

	*n = 0;
	if (cfg->n_journal_witness > CONFIG_PUSH_MAX)
		return sd_error_set(SD_E_CONFIG, "more than %d witnesses", CONFIG_PUSH_MAX);
	for (i = 0; i < cfg->n_journal_witness; i++) {
		if ((rc = witness_target_parse(cfg->journal_witness[i], &targets[i])) != 0)
			return sd_error_set(SD_E_CONFIG, "[journal] witness: %s", sd_error_detail(rc));
		urls[i] = targets[i].url;
	}
	*n = i;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *ready_file = NULL;
	struct sd_config *cfg = NULL;
	struct signer *signer = NULL;
	struct privsep_front *front = NULL;
	struct push_proc *pusher = NULL;
	struct witness_target witnesses[CONFIG_PUSH_MAX];
	char *witness_url[CONFIG_PUSH_MAX];
	size_t n_witness = 0;
	uint8_t *text = NULL;
	size_t text_len = 0;
	char front_path[PATH_MAX], push_path[PATH_MAX];
	uint16_t bound = 0;
	long port = -1;
	char *end;
	int opt, sig, rc, rc2, sigfd = -1;
	struct sd_config *current = NULL;
	bool started = false;

	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'r': ready_file = optarg; break;
		case 'h': usage(stdout, 0);
		case 'V':
			printf("signerd %s\n", SD_VERSION);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || port < 0 || port > 65535)
				usage(stderr, 2);
			break;
		default: usage(stderr, 2);
		}
	}
	if (config_path == NULL || optind != argc)
		usage(stderr, 2);

	sd_log_init("signerd", true);
	if (sd_process_start(&sigfd) != 0) {
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(SD_E_INTERNAL));
		return 1;
	}

	/* Before any secret is read: no core files, not dumpable, files private. */
	if ((rc = sd_process_harden()) != 0 ||
	    (rc = sd_path_private(config_path, "configuration")) != 0 ||
	    (rc = sd_file_read(config_path, SIGNERD_CONFIG_MAX, &text, &text_len)) != 0 ||
	    (rc = sd_config_parse(config_path, (const char *)text, text_len, &cfg)) != 0 ||
	    (rc = sd_dir_private(cfg->journal_path, "journal directory")) != 0 ||
	    (rc = helper_path_find("signerd-front", front_path, sizeof(front_path))) != 0 ||
	    (rc = witness_urls(cfg, witnesses, witness_url, &n_witness)) != 0 ||
	    ((cfg->n_journal_checkpoint_url > 0 || n_witness > 0) &&
	    (rc = helper_path_find("signerd-push", push_path, sizeof(push_path))) != 0))
		goto out;
	if (port >= 0)
		cfg->api_port = (uint16_t)port;
	/*
	 * The front first, while this process holds nothing secret; it gets the
	 * exact bytes just parsed. Then the user change and signerd-push (as
	 * that user, without the HSM's environment: it sends the spooled
	 * checkpoints and must never map the module or hold the PIN), and only
	 * then the PIN, the HSM module and the journal.
	 */
	if ((rc = privsep_front_spawn(front_path, cfg, (const char *)text, text_len, (int)port, &front)) != 0 ||
	    (rc = sd_process_become_user(cfg->process_user)) != 0 ||
	    ((cfg->n_journal_checkpoint_url > 0 || n_witness > 0) &&
	    (rc = push_proc_spawn(push_path, cfg, witness_url, n_witness, &pusher)) != 0) ||
	    (rc = sd_config_apply_environment(cfg)) != 0 ||
	    (rc = signer_open(cfg, &signer)) != 0 ||
	    (rc = signer_service_start(signer, text, text_len)) != 0)
		goto out;
	started = true;
	if ((rc = privsep_front_serve(front, cfg, signer)) != 0 ||
	    (rc = privsep_front_ready(front, &bound)) != 0 ||
	    (rc = sd_process_sandbox(SD_SANDBOX_SIGNER, cfg->process_seccomp)) != 0)
		goto out;
	sd_log(SD_LOG_INFO, "serving https://%s%s%s:%u/ (%u workers; front pid %ld)",
	    strchr(cfg->api_listen, ':') != NULL ? "[" : "", cfg->api_listen,
	    strchr(cfg->api_listen, ':') != NULL ? "]" : "",
	    (unsigned)bound, cfg->api_workers, (long)privsep_front_pid(front));
	/* Not an error (a test bench may run so), but nothing signed then shows that records were rewritten. */
	if (cfg->journal_audit_key == NULL)
		sd_log(SD_LOG_WARN, "no [journal] audit_key: checkpoints are disabled, the journal is unprotected "
		    "against rewriting");
	if (ready_file != NULL && (rc = write_ready_file(ready_file, bound)) != 0)
		goto out;

	current = cfg;
	while ((sig = wait_for_stop(sigfd, privsep_front_fd(front), push_proc_fd(pusher))) == SIGHUP || sig < 0) {
		/* Issuance never waits on the receivers: without signerd-push, checkpoints stay spooled. */
		if (sig < 0)
			push_proc_lost(pusher);
		else
			reload(config_path, (int)port, front, signer, &current, cfg);
	}
	if (sig == 0) {
		/* Only this process stops the front: on its own it has failed, whatever its status. */
		rc = privsep_front_stop(front);
		front = NULL;
		if (rc == 0)
			rc = sd_error_set(SD_E_IO, "signerd-front exited unasked");
		goto out;
	}
	sd_log(SD_LOG_INFO, "stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	if (rc != 0)
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(rc));
	/* The front first: it finishes the requests in flight, so nothing is issued past the stop record. */
	if ((rc2 = privsep_front_stop(front)) != 0) {
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(rc2));
		if (rc == 0)
			rc = rc2;
	}
	if (started && (rc2 = signer_service_stop(signer)) != 0) {
		sd_log(SD_LOG_ERROR, "journal at stop: %s", sd_error_detail(rc2));
		rc = rc2;
	}
	/* Last: the stop's checkpoint is spooled by now, and signerd-push gets a last try at sending it. */
	push_proc_stop(pusher, SIGNERD_PUSH_GRACE_MS);
	signer_close(signer);
	if (current != cfg)
		sd_config_free(current);
	sd_config_free(cfg);
	free(text);
	if (sigfd >= 0)
		close(sigfd);
	return rc == 0 ? 0 : 1;
}
