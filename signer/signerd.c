/*
 * signerd: the signing daemon. Loads the configuration, opens the HSM and
 * the journal (through the signer), serves the HTTPS API until SIGINT or
 * SIGTERM.
 */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "sd_error.h"
#include "sd_file.h"
#include "sd_process.h"
#include "signer.h"

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
	struct api_server *api = NULL;
	sigset_t stop_signals;
	long port = -1;
	char *end;
	int opt, sig, rc, rc2;
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

	/* Block the stop signals before any thread starts, so only sigwait() sees them. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop_signals, NULL) != 0) {
		fprintf(stderr, "signerd: cannot block signals\n");
		return 1;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	/*
	 * One thread per connection would otherwise give up to 8 malloc arenas
	 * per core, each holding freed memory. 8 shared arenas keep RSS low
	 * (50 MB at 64 connections) while threads seldom wait for an arena's
	 * lock (4 cost some 10% more CPU per certificate). MALLOC_ARENA_MAX in
	 * the environment overrides.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, 8);

	/* Before any secret is read: no core files, not dumpable, files private. */
	if ((rc = sd_process_harden()) != 0 ||
	    (rc = sd_path_private(config_path, "configuration")) != 0 ||
	    (rc = sd_config_load(config_path, &cfg)) != 0 ||
	    (rc = sd_dir_private(cfg->journal_path, "journal directory")) != 0 ||
	    (rc = sd_config_apply_environment(cfg)) != 0)
		goto out;
	if (port >= 0)
		cfg->api_port = (uint16_t)port;
	if ((rc = signer_open(cfg, &signer)) != 0 ||
	    (rc = signer_service_start(signer, config_path)) != 0 ||
	    (rc = api_server_start(cfg, signer, &api)) != 0)
		goto out;
	started = true;
	fprintf(stderr, "signerd: serving https://%s%s%s:%u/ (%u workers)\n",
	    strchr(cfg->api_listen, ':') != NULL ? "[" : "", cfg->api_listen,
	    strchr(cfg->api_listen, ':') != NULL ? "]" : "",
	    (unsigned)api_server_port(api), cfg->api_workers);
	if (ready_file != NULL && (rc = write_ready_file(ready_file, api_server_port(api))) != 0)
		goto out;

	if (sigwait(&stop_signals, &sig) != 0)
		sig = 0;
	fprintf(stderr, "signerd: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "signerd: %s\n", sd_error_detail(rc));
	api_server_stop(api);
	/* After the API: nothing is issued past the stop record and the last checkpoint. */
	if (started && (rc2 = signer_service_stop(signer)) != 0) {
		fprintf(stderr, "signerd: journal at stop: %s\n", sd_error_detail(rc2));
		rc = rc2;
	}
	signer_close(signer);
	sd_config_free(cfg);
	return rc == 0 ? 0 : 1;
}
