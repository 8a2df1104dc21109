/*
 * The raw HSM limit: hsm_sign() on the issuing CA key from several threads,
 * one pooled session per thread, with exactly the input signerd forms for a
 * certificate (x509_sigalg_hsm_input() on a TBS-sized message), so the rate
 * is what signerd could reach if everything but the signature were free.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "bench.h"
#include "hsm.h"
#include "x509/x509_sigalg.h"

struct bench_hsm {
	struct hsm *hsm;
	struct hsm_key *key;
	const struct x509_sigalg *alg;
	unsigned max_threads;
	uint8_t tbs[BENCH_TBS_LEN];
	uint8_t buf[X509_SIGALG_INPUT_MAX];
	const uint8_t *in;		/* into buf (digest, DigestInfo) or tbs (Ed25519) */
	size_t in_len;
};

struct bench_hsm_thread {
	struct bench_hsm *bh;
	pthread_barrier_t *start;
	double seconds;
	uint64_t signs;
	uint64_t errors;
	char first_error[BENCH_ERROR_TEXT];
};

int
bench_hsm_open(const struct sd_config *cfg, unsigned max_threads, struct bench_hsm **out)
{
	struct bench_hsm *bh = NULL;
	struct hsm_config hc;
	int rc;

	*out = NULL;
	if (max_threads == 0 || max_threads > BENCH_HSM_THREADS_MAX) {
		rc = sd_error_set(SD_E_INVAL, "%u HSM threads (1 to %u)", max_threads, BENCH_HSM_THREADS_MAX);
		goto out;
	}
	if ((bh = calloc(1, sizeof(*bh))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	bh->max_threads = max_threads;
	hc = (struct hsm_config){
		.module_path = cfg->hsm_module,
		.token_uri = cfg->hsm_token_uri,
		.pin_file = cfg->hsm_pin_file,
		.pool_size = max_threads,
	};
	if ((rc = hsm_open(&hc, &bh->hsm)) != 0)
		goto out;
	/* Measure the HSM the way signerd uses it. */
	hsm_session_keys_set(bh->hsm, cfg->hsm_session_keys);
	if ((rc = hsm_key_find(bh->hsm, cfg->ca_key_uri, false, &bh->key)) != 0)
		goto out;
	if ((rc = x509_sigalg_for(hsm_key_type(bh->key), &bh->alg)) != 0)
		goto out;
	if (RAND_bytes(bh->tbs, sizeof(bh->tbs)) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "RAND_bytes failed");
		goto out;
	}
	/* Hashed once: the rate is the HSM's, not SHA-256's. */
	if ((rc = x509_sigalg_hsm_input(bh->alg, bh->tbs, sizeof(bh->tbs), bh->buf, &bh->in, &bh->in_len)) != 0)
		goto out;
	*out = bh;
	bh = NULL;
	rc = 0;
out:
	bench_hsm_close(bh);
	return rc;
}

void
bench_hsm_close(struct bench_hsm *bh)
{
	if (bh == NULL)
		return;
	hsm_key_free(bh->key);
	hsm_close(bh->hsm);
	free(bh);
}

const char *
bench_hsm_key_type(const struct bench_hsm *bh)
{
	return hsm_key_type_name(hsm_key_type(bh->key));
}

static void *
bench_hsm_thread_main(void *arg)
{
	struct bench_hsm_thread *t = arg;
	struct bench_hsm *bh = t->bh;
	uint8_t sig[HSM_SIG_MAX];
	size_t sig_len;
	double deadline;
	int rc;

	(void)pthread_barrier_wait(t->start);
	deadline = bench_now() + t->seconds;
	while (bench_now() < deadline) {
		rc = hsm_sign(bh->key, bh->alg->mech, bh->alg->hash, bh->in, bh->in_len, sig, &sig_len);
		if (rc == 0) {
			t->signs++;
			continue;
		}
		if (t->errors++ == 0)
			(void)snprintf(t->first_error, sizeof(t->first_error), "%s: %s", sd_error_name(rc), sd_error_detail(rc));
	}
	ERR_clear_error();
	return NULL;
}

int
bench_hsm_rate(struct bench_hsm *bh, unsigned threads, double seconds, struct bench_hsm_result *res)
{
	struct bench_hsm_thread *t = NULL;
	pthread_t *tid = NULL;
	pthread_barrier_t start;
	bool barrier = false;
	double t0;
	unsigned i, started = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (threads == 0 || threads > bh->max_threads || !(seconds > 0)) {
		rc = sd_error_set(SD_E_INVAL, "%u HSM threads for %.1f s (1 to %u threads)", threads, seconds,
		    bh->max_threads);
		goto out;
	}
	if ((t = calloc(threads, sizeof(*t))) == NULL || (tid = calloc(threads, sizeof(*tid))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (pthread_barrier_init(&start, NULL, threads + 1) != 0) {
		rc = sd_error_set(SD_E_INTERNAL, "pthread_barrier_init failed");
		goto out;
	}
	barrier = true;
	for (i = 0; i < threads; i++) {
		t[i] = (struct bench_hsm_thread){ .bh = bh, .start = &start, .seconds = seconds };
		if (pthread_create(&tid[i], NULL, bench_hsm_thread_main, &t[i]) != 0)
			abort();	/* the barrier would never open; a benchmark may stop here */
		started++;
	}
	(void)pthread_barrier_wait(&start);
	t0 = bench_now();
	for (i = 0; i < started; i++)
		(void)pthread_join(tid[i], NULL);
	res->seconds = bench_now() - t0;
	res->threads = threads;
	for (i = 0; i < threads; i++) {
		res->signs += t[i].signs;
		if (t[i].errors > 0 && res->errors == 0)
			memcpy(res->first_error, t[i].first_error, sizeof(res->first_error));
		res->errors += t[i].errors;
	}
	res->rate = res->seconds > 0 ? (double)res->signs / res->seconds : 0;
	rc = 0;
out:
	if (barrier)
		(void)pthread_barrier_destroy(&start);
	free(tid);
	free(t);
	return rc;
}
