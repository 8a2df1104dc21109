/*
 * The HTTPS API: mutual TLS (libmicrohttpd with GnuTLS), client
 * authorisation, JSON in and out. It reaches the issuance core only through
 * signer.h.
 */
#ifndef API_H
#define API_H

#include <stdint.h>

#include "config.h"
#include "sd_error.h"
#include "signer.h"

struct api_server;

/*
 * Load the TLS identity and client CA named in cfg and start serving on
 * cfg->api_listen:cfg->api_port with cfg->api_workers threads.
 * cfg and s must outlive the server.
 * Errors: SD_E_CONFIG (TLS files), SD_E_IO (cannot bind), SD_E_NOMEM.
 */
SD_WUR int api_server_start(const struct sd_config *cfg, struct signer *s, struct api_server **out);

/*
 * Apply a reloaded configuration: next (which passed sd_config_reload_check()
 * against the one in force) with the client CA and CRL read again, the
 * clients and profiles, and the guard's limits (lowered only, for
 * max_connections and the request and idle timeouts). Requests already
 * started finish with the configuration they started with. On success the
 * server owns next. Errors: SD_E_CONFIG (what a reload cannot change, a
 * client CA or CRL that does not load; detail names it), SD_E_NOMEM.
 */
SD_WUR int api_server_reload(struct api_server *srv, struct sd_config *next);

/* The bound port (useful when cfg->api_port is 0). */
uint16_t api_server_port(const struct api_server *srv);

/* Stop accepting, finish in-flight requests, free. NULL is a no-op. */
void api_server_stop(struct api_server *srv);

/*
 * The plain-HTTP public listener on cfg->api_public_listen:api_public_port:
 * GET /v1/crl, /v1/ca/NAME/crl, /v1/ca/NAME/certificate and OCSP (POST
 * /ocsp, GET /ocsp/REQUEST), nothing else, with the HTTPS listener's
 * connection limits, deadlines, framing checks and access log. *out is
 * NULL when public_listen is not set. A reload leaves it alone (its keys
 * are restart-only). Stop it with api_server_stop(); api_server_port()
 * tells its port. Errors: SD_E_CONFIG (address, the CA certificate),
 * SD_E_IO (cannot bind), SD_E_NOMEM.
 */
SD_WUR int api_public_start(const struct sd_config *cfg, struct signer *s, struct api_server **out);

#endif
