#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "revocation.h"
#include "revocation_crl.h"
#include "revocation_ocsp.h"
#include "sd_log.h"
#include "sd_metrics.h"

#define REVOCATION_RETRY 10		/* s between attempts once making a CRL failed */

struct revocation {
	const struct sd_config *cfg;
	struct journal *j;
	struct hsm_key *key;
	const struct ca *ca;
	struct revocation_ocsp *ocsp;	/* NULL: no responder configured */
	pthread_mutex_t make;		/* one CRL made at a time; held around crl and due */
	struct signer_crl *crl;		/* the current one, or NULL before the first */
	int64_t due;			/* a new CRL is due at this time; 0: none */
	int64_t failed;			/* the last failed attempt; 0: none */
	uint64_t failures;		/* attempts that failed */
	pthread_mutex_t lock;		/* stop, wake */
	pthread_cond_t wake;
	bool stop;
	bool started;
	pthread_t thread;
};

static int64_t
revocation_now(void)
{
	return (int64_t)time(NULL);
}

static int
revocation_crl_copy(const struct signer_crl *from, struct signer_crl **out)
{
	struct signer_crl *c;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->der = malloc(from->len)) == NULL) {
		free(c);
		return SD_E_NOMEM;
	}
	memcpy(c->der, from->der, from->len);
	c->len = from->len;
	c->number = from->number;
	c->this_update = from->this_update;
	c->next_update = from->next_update;
	*out = c;
	return 0;
}

/* Whether the current CRL should be made again at now; r->make held. */
static bool
revocation_crl_due(const struct revocation *r, int64_t now)
{
	if (r->crl == NULL)
		return true;
	if (r->due != 0 && now >= r->due)
		return true;
	return now >= r->crl->this_update + (r->crl->next_update - r->crl->this_update) / 2;
}

/* Make the CRL of now into r->crl; r->make held. */
static int
revocation_crl_renew(struct revocation *r, int64_t now)
{
	struct signer_crl *c = NULL;
	int rc;

	if ((rc = revocation_crl_make(r->j, r->cfg, r->key, r->ca, now, &c)) != 0) {
		r->failed = now;
		r->failures++;
		sd_log(SD_LOG_WARN, "no new CRL: %s", sd_error_detail(rc));
		return rc;
	}
	signer_crl_free(r->crl);
	r->crl = c;
	r->due = 0;
	r->failed = 0;
	return 0;
}

int
revocation_crl(struct revocation *r, struct signer_crl **out)
{
	int64_t now = revocation_now();
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&r->make);
	if (revocation_crl_due(r, now))
		rc = revocation_crl_renew(r, now);
	/* A CRL that could not be made again still stands until its nextUpdate. */
	if (r->crl != NULL && now < r->crl->next_update)
		rc = revocation_crl_copy(r->crl, out);
	else if (rc == 0)
		rc = sd_error_set(SD_E_INTERNAL, "no current CRL");
	pthread_mutex_unlock(&r->make);
	return rc;
}

int
revocation_ocsp(struct revocation *r, const uint8_t *req, size_t len, struct signer_ocsp **out)
{
	return revocation_ocsp_answer(r->ocsp, req, len, revocation_now(), out);
}

void
revocation_metrics_text(struct revocation *r, struct sd_metrics_text *t)
{
	uint64_t number = 0, failures;
	int64_t left = 0;
	bool any;

	pthread_mutex_lock(&r->make);
	any = r->crl != NULL;
	if (any) {
		number = r->crl->number;
		left = r->crl->next_update - revocation_now();
	}
	failures = r->failures;
	pthread_mutex_unlock(&r->make);
	sd_metrics_family(t, "signerd_crl_number", "gauge", "cRLNumber of the CRL served now (0: none made since start).");
	sd_metrics_printf(t, "signerd_crl_number %llu\n", (unsigned long long)number);
	if (any) {
		sd_metrics_family(t, "signerd_crl_next_update_seconds", "gauge",
		    "Seconds until the served CRL's nextUpdate.");
		sd_metrics_printf(t, "signerd_crl_next_update_seconds %lld\n", (long long)left);
	}
	sd_metrics_family(t, "signerd_crl_failures_total", "counter", "Attempts to make a CRL that failed.");
	sd_metrics_printf(t, "signerd_crl_failures_total %llu\n", (unsigned long long)failures);
	revocation_ocsp_metrics_text(r->ocsp, t);
}

void
revocation_revoked(struct revocation *r, const uint8_t *serial, size_t len)
{
	int64_t now = revocation_now();

	revocation_ocsp_forget(r->ocsp, serial, len);
	pthread_mutex_lock(&r->make);
	/* The first revocation sets the time; those within crl_delay of it join the same CRL. */
	if (r->crl != NULL && r->due == 0)
		r->due = now + (int64_t)r->cfg->ca_crl_delay;
	pthread_mutex_unlock(&r->make);
	pthread_mutex_lock(&r->lock);
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

/* Once a second: a CRL that is due (after a failure, every REVOCATION_RETRY s), OCSP answers to sign again. */
static void *
revocation_thread(void *arg)
{
	struct revocation *r = arg;
	struct timespec until;
	int64_t now;
	bool stop;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		if (!r->stop) {
			(void)clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			(void)pthread_cond_timedwait(&r->wake, &r->lock, &until);
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop)
			return NULL;
		now = revocation_now();
		pthread_mutex_lock(&r->make);
		if (r->crl != NULL && revocation_crl_due(r, now) && (r->failed == 0 || now >= r->failed + REVOCATION_RETRY))
			(void)revocation_crl_renew(r, now);
		pthread_mutex_unlock(&r->make);
		revocation_ocsp_refresh(r->ocsp, now);
	}
}

int
revocation_open(const struct sd_config *cfg, struct hsm *hsm, struct journal *j, struct hsm_key *key,
    const struct ca *ca, struct revocation **out)
{
	struct revocation *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SD_E_NOMEM;
	r->cfg = cfg;
	r->j = j;
	r->key = key;
	r->ca = ca;
	if (pthread_mutex_init(&r->make, NULL) != 0 || pthread_mutex_init(&r->lock, NULL) != 0 ||
	    pthread_cond_init(&r->wake, NULL) != 0) {
		free(r);
		return SD_E_NOMEM;
	}
	if (cfg->ca_ocsp_key != NULL && (rc = revocation_ocsp_open(cfg, hsm, j, ca, &r->ocsp)) != 0) {
		revocation_close(r);
		return rc;
	}
	if (pthread_create(&r->thread, NULL, revocation_thread, r) != 0) {
		revocation_close(r);
		return sd_error_set(SD_E_INTERNAL, "cannot start the revocation thread");
	}
	r->started = true;
	*out = r;
	return 0;
}

void
revocation_close(struct revocation *r)
{
	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		(void)pthread_join(r->thread, NULL);
	}
	revocation_ocsp_close(r->ocsp);
	signer_crl_free(r->crl);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->make);
	free(r);
}
