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

/* One kind of CRL as published. */
struct revocation_list {
	struct signer_crl *crl;		/* the current one, or NULL before the first */
	int64_t due;			/* a new one is due at this time; 0: none */
};

struct revocation {
	const struct sd_config *cfg;
	struct journal *j;
	struct hsm_key *key;
	const struct ca *ca;
	struct revocation_ocsp *ocsp;	/* NULL: no responder configured */
	pthread_mutex_t make;		/* one CRL made at a time; held around the lists, failed and failures */
	struct revocation_list complete, delta;
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
	c->base_number = from->base_number;
	c->this_update = from->this_update;
	c->next_update = from->next_update;
	*out = c;
	return 0;
}

/* Whether list should be made again at now (a delta also when its base is not the current complete CRL); r->make held. */
static bool
revocation_list_due(const struct revocation *r, const struct revocation_list *list, int64_t now)
{
	const struct signer_crl *c = list->crl;

	if (c == NULL || (list->due != 0 && now >= list->due))
		return true;
	if (list == &r->delta && (r->complete.crl == NULL || c->base_number != r->complete.crl->number))
		return true;
	return now >= c->this_update + (c->next_update - c->this_update) / 2;
}

/* Make list's CRL of now (a delta over the current complete CRL); r->make held. */
static int
revocation_list_renew(struct revocation *r, struct revocation_list *list, int64_t now)
{
	const struct signer_crl *base = list == &r->delta ? r->complete.crl : NULL;
	struct signer_crl *c = NULL;
	int rc;

	if (list == &r->delta && base == NULL)
		return sd_error_set(SD_E_INTERNAL, "a delta CRL without a complete one");
	if ((rc = revocation_crl_make(r->j, r->cfg, r->key, r->ca, now, base, &c)) != 0) {
		r->failed = now;
		r->failures++;
		sd_log(SD_LOG_WARN, "no new %s: %s", base != NULL ? "delta CRL" : "CRL", sd_error_detail(rc));
		return rc;
	}
	signer_crl_free(list->crl);
	list->crl = c;
	list->due = 0;
	r->failed = 0;
	return 0;
}

/* A copy of list's CRL, made again first when due; r->make held. */
static int
revocation_list_get(struct revocation *r, struct revocation_list *list, int64_t now, struct signer_crl **out)
{
	int rc = 0;

	if (revocation_list_due(r, list, now))
		rc = revocation_list_renew(r, list, now);
	/* A CRL that could not be made again still stands until its nextUpdate. */
	if (list->crl != NULL && now < list->crl->next_update)
		return revocation_crl_copy(list->crl, out);
	return rc != 0 ? rc : sd_error_set(SD_E_INTERNAL, "no current CRL");
}

int
revocation_crl(struct revocation *r, struct signer_crl **out)
{
	int rc;

	*out = NULL;
	pthread_mutex_lock(&r->make);
	rc = revocation_list_get(r, &r->complete, revocation_now(), out);
	pthread_mutex_unlock(&r->make);
	return rc;
}

int
revocation_crl_delta(struct revocation *r, struct signer_crl **out)
{
	struct signer_crl *complete = NULL;
	int64_t now = revocation_now();
	int rc;

	*out = NULL;
	if (r->cfg->ca_delta_crl_validity == 0)
		return sd_error_set(SD_E_NOT_FOUND, "delta CRLs are off ([ca] delta_crl_validity)");
	pthread_mutex_lock(&r->make);
	/* The base first: a delta is made over the complete CRL being served. */
	if ((rc = revocation_list_get(r, &r->complete, now, &complete)) == 0)
		rc = revocation_list_get(r, &r->delta, now, out);
	pthread_mutex_unlock(&r->make);
	signer_crl_free(complete);
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
	any = r->complete.crl != NULL;
	if (any) {
		number = r->complete.crl->number;
		left = r->complete.crl->next_update - revocation_now();
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

	struct revocation_list *list;

	revocation_ocsp_forget(r->ocsp, serial, len);
	pthread_mutex_lock(&r->make);
	/* With delta CRLs a revocation makes a delta; the complete CRL waits for half its validity. */
	list = r->delta.crl != NULL ? &r->delta : &r->complete;
	/* The first revocation sets the time; those within crl_delay of it join the same CRL. */
	if (list->crl != NULL && list->due == 0)
		list->due = now + (int64_t)r->cfg->ca_crl_delay;
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
		/* Only what someone asked for since the start is kept fresh; the delta after its base. */
		if (r->failed == 0 || now >= r->failed + REVOCATION_RETRY) {
			if (r->complete.crl != NULL && revocation_list_due(r, &r->complete, now))
				(void)revocation_list_renew(r, &r->complete, now);
			if (r->delta.crl != NULL && r->complete.crl != NULL && revocation_list_due(r, &r->delta, now))
				(void)revocation_list_renew(r, &r->delta, now);
		}
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
	signer_crl_free(r->complete.crl);
	signer_crl_free(r->delta.crl);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->make);
	free(r);
}
