/*
 * signerd-front: the network-facing process of signerd (include/privsep.h).
 * Started by signerd with its channels on fds 3 (control) and 4 on; it
 * serves the HTTPS API (and the plain-HTTP public listener, when
 * configured) and reaches the signer only through those channels.
 * It never loads the PKCS#11 module, never sees the PIN and cannot write
 * the journal.
 */
#include <stdbool.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "privsep.h"
#include "sd_error.h"
#include "sd_process.h"
#include "signer.h"
#include "sd_log.h"

/*
 * Until signerd asks (SIGTERM) or goes away (its end of the control channel
 * closes), apply the reloads it sends. A SIGHUP sent to the front itself is
 * ignored: reloading is signerd's to start, in both processes.
 */
/* Whether ACME is served, so that the front validates challenges and must reach the network. */
static bool
front_acme(const struct sd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].acme)
			return true;
	return false;
}

static void
front_serve(int sigfd, struct api_server *api)
{
	struct pollfd fds[2] = { { sigfd, POLLIN, 0 }, { PRIVSEP_CONTROL_FD, POLLIN, 0 } };
	struct signalfd_siginfo si;
	struct sd_config *next;
	int rc;

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (fds[0].revents & POLLIN) {
			if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si) || si.ssi_signo != SIGHUP)
				return;
			continue;
		}
		if (fds[1].revents == 0)
			continue;
		if ((rc = privsep_control_receive(PRIVSEP_CONTROL_FD, &next)) == SD_E_NOT_FOUND)
			return;
		if (rc == SD_E_IO) {
			sd_log(SD_LOG_ERROR, "%s", sd_error_detail(rc));
			return;
		}
		if (rc == 0 && (rc = api_server_reload(api, next)) != 0)
			sd_config_free(next);
		if (privsep_reload_answer(PRIVSEP_CONTROL_FD, rc) != 0)
			return;
	}
}

int
main(int argc, char **argv)
{
	struct sd_config *cfg = NULL;
	struct signer *signer = NULL;
	struct api_server *api = NULL, *pub = NULL;
	unsigned channels = 0;
	int port = -1, rc, sigfd;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "signerd-front: takes no arguments; signerd starts it\n");
		return 2;
	}
	sd_log_init("signerd-front", true);
	if (sd_process_start(&sigfd) != 0) {
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(SD_E_INTERNAL));
		return 1;
	}

	/* Bind (perhaps a low port as root), then become the service user, then the filter. */
	if ((rc = sd_process_harden()) != 0 ||
	    (rc = privsep_config_receive(PRIVSEP_CONTROL_FD, &cfg, &port, &channels)) != 0)
		goto out;
	if (port >= 0)
		cfg->api_port = (uint16_t)port;
	if ((rc = privsep_signer_open(PRIVSEP_CONTROL_FD + 1, channels, &signer)) != 0 ||
	    (rc = api_server_start(cfg, signer, &api)) != 0 || (rc = api_public_start(cfg, signer, &pub)) != 0 ||
	    (rc = sd_process_become_user(cfg->process_user)) != 0 ||
	    (rc = sd_process_sandbox(front_acme(cfg) ? SD_SANDBOX_FRONT_ACME : SD_SANDBOX_FRONT,
	         cfg->process_seccomp)) != 0 ||
	    (rc = privsep_ready_send(PRIVSEP_CONTROL_FD, api_server_port(api))) != 0)
		goto out;
	front_serve(sigfd, api);
	rc = 0;
out:
	if (rc != 0)
		sd_log(SD_LOG_ERROR, "%s", sd_error_detail(rc));
	api_server_stop(pub);
	api_server_stop(api);
	signer_close(signer);
	sd_config_free(cfg);
	close(sigfd);
	return rc == 0 ? 0 : 1;
}
