/*
 * The ACME validator pool (acme_validator.h): a fixed ring of jobs under
 * one mutex, worked by [acme] validations threads. A validation waits on
 * the network for up to [acme] validation_timeout, so it never runs on a
 * request's thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_validate.h"
#include "acme_validator.h"
#include "api_routes.h"
#include "sd_log.h"

#define ACME_VALIDATOR_QUEUE_PER_THREAD 4

struct acme_validator_job {
	char profile[API_ROUTE_PARAM_MAX + 1];
	struct signer_acme_validation v;
};

struct acme_validator {
	struct signer *signer;
	struct acme_validate_options opts;
	struct acme_validate_host hosts[CONFIG_LIST_MAX];
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct acme_validator_job *queue; /* a ring of cap jobs */
	size_t cap, head, count;
	bool stopping;
	pthread_t *threads;
	unsigned n_threads; /* started */
};

/* Run one validation and report it; the signer's refusal of the report is only logged. */
static void
acme_validator_run(struct acme_validator *p, const struct acme_validator_job *j)
{
	struct acme_validate_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	if (strcmp(j->v.type, "tls-alpn-01") == 0)
		rc = acme_validate_tls_alpn01(j->v.name, j->v.key_authorization, &p->opts, &err);
	else if (strcmp(j->v.type, "http-01") == 0)
		rc = acme_validate_http01(j->v.name, j->v.token, j->v.key_authorization, &p->opts, &err);
	else if (strcmp(j->v.type, "dns-01") == 0)
		rc = acme_validate_dns01(j->v.name, j->v.key_authorization, &p->opts, &err);
	else {
		err.type = "serverInternal";
		(void)snprintf(err.detail, sizeof(err.detail), "challenge type \"%.15s\" is not validated here",
		    j->v.type);
		rc = SD_E_INVAL;
	}
	if (rc != 0 && err.type == NULL)
		err.type = "serverInternal";
	if ((rc = signer_acme_validated(p->signer, j->profile, j->v.challenge, rc == 0 ? NULL : err.type,
	         rc == 0 ? NULL : err.detail)) != 0)
		sd_log(SD_LOG_WARN, "acme: reporting the validation of challenge %.64s: %s", j->v.challenge,
		    sd_error_detail(rc));
}

static void *
acme_validator_main(void *arg)
{
	struct acme_validator *p = arg;
	struct acme_validator_job j;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		j = p->queue[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		pthread_mutex_unlock(&p->lock);
		sd_error_clear();
		acme_validator_run(p, &j);
	}
	return NULL;
}

int
acme_validator_new(const struct sd_config *cfg, struct signer *s, struct acme_validator **out)
{
	struct acme_validator *p = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (cfg->acme_validations == 0)
		return sd_error_set(SD_E_CONFIG, "[acme] validations is 0");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SD_E_NOMEM;
	p->signer = s;
	p->opts.http_port = cfg->acme_http_port;
	p->opts.tls_port = cfg->acme_tls_port;
	for (i = 0; i < cfg->n_acme_hosts && i < CONFIG_LIST_MAX; i++)
		p->hosts[i] = (struct acme_validate_host){ cfg->acme_hosts[i].name, cfg->acme_hosts[i].address };
	p->opts.hosts = p->hosts;
	p->opts.n_hosts = i;
	/* Without it the signer offers no dns-01; one still asked for (a restart dropped it) fails. */
	if (cfg->acme_resolver != NULL) {
		p->opts.resolver = cfg->acme_resolver_address;
		p->opts.resolver_port = cfg->acme_resolver_port;
	}
	p->opts.timeout_ms = cfg->acme_validation_timeout > UINT32_MAX / 1000 ?
	    UINT32_MAX :
	    (unsigned)cfg->acme_validation_timeout * 1000;
	p->cap = (size_t)cfg->acme_validations * ACME_VALIDATOR_QUEUE_PER_THREAD;
	if ((p->queue = calloc(p->cap, sizeof(*p->queue))) == NULL ||
	    (p->threads = calloc(cfg->acme_validations, sizeof(*p->threads))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0 || pthread_cond_init(&p->more, NULL) != 0)
		abort();
	for (p->n_threads = 0; p->n_threads < cfg->acme_validations; p->n_threads++) {
		if (pthread_create(&p->threads[p->n_threads], NULL, acme_validator_main, p) != 0) {
			rc = sd_error_set(SD_E_INTERNAL, "cannot start ACME validator %u", p->n_threads);
			goto out;
		}
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	acme_validator_free(p);
	return rc;
}

void
acme_validator_submit(struct acme_validator *p, const char *profile, const struct signer_acme_validation *v)
{
	struct acme_validator_job *j;
	bool full;
	int rc;

	if (p == NULL || strlen(profile) > API_ROUTE_PARAM_MAX)
		return;
	pthread_mutex_lock(&p->lock);
	full = p->stopping || p->count == p->cap;
	if (!full) {
		j = &p->queue[(p->head + p->count) % p->cap];
		memcpy(j->profile, profile, strlen(profile) + 1);
		j->v = *v;
		p->count++;
		pthread_cond_signal(&p->more);
	}
	pthread_mutex_unlock(&p->lock);
	if (!full)
		return;
	/* Nobody will run it: fail it now so the client retries instead of polling forever. */
	sd_log(SD_LOG_WARN, "acme: validation queue full; challenge %.64s failed", v->challenge);
	if ((rc = signer_acme_validated(p->signer, profile, v->challenge, "connection",
	         "validation queue full; retry")) != 0)
		sd_log(SD_LOG_WARN, "acme: reporting challenge %.64s: %s", v->challenge, sd_error_detail(rc));
}

void
acme_validator_free(struct acme_validator *p)
{
	unsigned i;

	if (p == NULL)
		return;
	if (p->threads != NULL) {
		pthread_mutex_lock(&p->lock);
		p->stopping = true;
		pthread_cond_broadcast(&p->more);
		pthread_mutex_unlock(&p->lock);
		for (i = 0; i < p->n_threads; i++)
			(void)pthread_join(p->threads[i], NULL);
		pthread_cond_destroy(&p->more);
		pthread_mutex_destroy(&p->lock);
	}
	free(p->threads);
	free(p->queue);
	free(p);
}
