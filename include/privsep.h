/*
 * Privilege separation (README, "Privilege separation"), in the manner of
 * OpenSSH's monitor. signerd is the signer: it alone loads the PKCS#11
 * module, reads the PIN and writes the journal. It starts signerd-front,
 * which terminates TLS, parses HTTP and JSON and authenticates clients,
 * and which reaches the signer only through the calls of signer.h carried
 * as messages over socketpairs: one control channel and
 * privsep_channels() request channels, each carrying one call at a time.
 *
 * The signer serves only the requests in its permit table, each with a
 * size limit; anything else is logged and ends the front. It checks again
 * that the client the front names may make the call (role, profile).
 */
#ifndef PRIVSEP_H
#define PRIVSEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sd_error.h"
#include "signer.h"

#define PRIVSEP_CONTROL_FD 3		/* in signerd-front; request channels follow it */

/* --- The signer's side --- */

struct privsep_front;

/* Request channels: [api] max_connections, at most 256. */
unsigned privsep_channels(const struct sd_config *cfg);

/*
 * Start the front program at path with a control channel and
 * privsep_channels(cfg) request channels, and send it the configuration: the
 * path and the exact bytes text (len) the signer read, and port (-1: the
 * configured one). Call before the HSM is opened: the front is a new
 * program (fork and exec) that inherits nothing else.
 * Errors: SD_E_IO (socketpair, fork; exec failure shows later as an exit), SD_E_NOMEM.
 */
SD_WUR int privsep_front_spawn(const char *path, const struct sd_config *cfg, const char *text, size_t len,
    int port, struct privsep_front **out);

/*
 * Serve the front's requests with s: one thread per request channel.
 * cfg and s must outlive the front.
 * Errors: SD_E_NOMEM, SD_E_IO (thread).
 */
SD_WUR int privsep_front_serve(struct privsep_front *f, const struct sd_config *cfg, struct signer *s);

/*
 * Wait until the front serves (its port in *port).
 * Errors: SD_E_IO (the front exited or broke the protocol; detail says how).
 */
SD_WUR int privsep_front_ready(struct privsep_front *f, uint16_t *port);

/* The control channel: readable (end of file) when the front has gone. */
int privsep_front_fd(const struct privsep_front *f);
pid_t privsep_front_pid(const struct privsep_front *f);

/*
 * Stop the front (SIGTERM: it finishes requests in flight, then exits;
 * SIGKILL after 30 s), stop serving, free f. NULL is a no-op. Returns 0
 * when the front exited by itself with status 0 after being asked to stop,
 * else SD_E_IO with a detail telling how it ended.
 */
SD_WUR int privsep_front_stop(struct privsep_front *f);

/* --- The front's side --- */

/*
 * Read the configuration the signer sends on fd (PRIVSEP_CONTROL_FD) and
 * parse it; *port is the port to serve on (-1: the configured one) and
 * *channels the number of request channels.
 * Errors: SD_E_IO (not started by signerd), SD_E_CONFIG, SD_E_NOMEM.
 */
SD_WUR int privsep_config_receive(int fd, struct sd_config **cfg, int *port, unsigned *channels);

/*
 * A signer (include/signer.h) that forwards each call to the signer
 * process over n request channels from first_fd on; signer_close() frees
 * it. Fetches the issuing chain, so it returns once the signer serves.
 * Errors: SD_E_INTERNAL (the signer is gone or answered nonsense), SD_E_NOMEM.
 */
SD_WUR int privsep_signer_open(int first_fd, unsigned n, struct signer **out);

/* Tell the signer that the front serves on port. Errors: SD_E_IO. */
SD_WUR int privsep_ready_send(int fd, uint16_t port);

/*
 * Wait on the control channel fd for the signer's next message: a reload,
 * whose configuration is parsed into *next; answer it with
 * privsep_reload_answer(fd, rc of applying it). Errors: SD_E_NOT_FOUND
 * (signerd closed the channel: stop), SD_E_IO (a message the front does not
 * know: stop), SD_E_CONFIG (the text does not parse: answer it), SD_E_NOMEM.
 */
SD_WUR int privsep_control_receive(int fd, struct sd_config **next);
SD_WUR int privsep_reload_answer(int fd, int rc);

/* --- Reload, the signer's side --- */

/*
 * Apply next (passed sd_config_reload_check(); text, len: its bytes) in both
 * processes: the signer prepares (signer_reload_prepare()), the front
 * applies it and answers (within 30 s), then the signer swaps it in while
 * no request is served. On failure nothing changed in the signer, and the
 * detail says what the front refused. next must outlive f, or the next
 * reload. Errors: SD_E_CONFIG (refused; detail names why), SD_E_IO (the
 * front did not answer), SD_E_NOMEM.
 */
SD_WUR int privsep_front_reload(struct privsep_front *f, const struct sd_config *next, const char *text, size_t len);

#endif
