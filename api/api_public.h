/*
 * What the two listeners share: api_server.c runs the daemon (guard,
 * framing checks, routes, access log) for the HTTPS API and for the
 * plain-HTTP public listener alike; api_public.c starts the latter
 * (include/api.h).
 */
#ifndef API_PUBLIC_H
#define API_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"

/* What differs between the listeners. */
struct api_listen_spec {
	unsigned listener;		/* enum api_listener: API_LISTENER_TLS reads the TLS files and serves TLS */
	const char *key;		/* the [api] key of its address, for messages */
	const char *address;		/* an IPv4 or IPv6 literal */
	uint16_t port;			/* 0: ephemeral */
	uint8_t *ca_der;		/* the CA certificate in DER for its routes, or NULL; taken on success */
	size_t ca_der_len;
};

/*
 * Start a listener as api_server_start() describes, on spec's address,
 * serving the permit table's routes for spec->listener. The server takes
 * spec->ca_der (spec->ca_der is then NULL) once it has started.
 * Errors: as api_server_start().
 */
SD_WUR int api_server_listen(const struct sd_config *cfg, struct signer *s, struct api_listen_spec *spec,
    struct api_server **out);

#endif
