/*
 * Inside signer/privsep/ only: the signer's record of its front, shared by
 * privsep_monitor.c (start, serve, stop) and privsep_reload.c.
 */
#ifndef PRIVSEP_FRONT_H
#define PRIVSEP_FRONT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "signer.h"

struct privsep_front {
	pid_t pid;
	int control;
	int *fds;			/* the signer's ends of the request channels */
	pthread_t *threads;
	unsigned n, started;
	int port;			/* --port (-1: the configured one), sent again with each reload */
	/*
	 * Held shared while a request is served, exclusively while a reload
	 * swaps the configuration (writers first: a reload is not starved).
	 */
	pthread_rwlock_t lock;
	bool lock_ready;
	const struct sd_config *cfg;
	struct signer *signer;
	atomic_bool refused;		/* the front broke the permit table */
};

#endif
