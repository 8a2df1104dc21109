/*
 * signerd-push's senders (push.h): one thread and one libcurl handle per
 * receiver. Only signerd-push links this file; libcurl stays out of the
 * process that holds the HSM (README "Pushing checkpoints").
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "push.h"
#include "sd_log.h"
#include "sd_time.h"

#define PUSH_CONNECT_TIMEOUT_S 10L
#define PUSH_TIMEOUT_S 30L		/* one POST, answer included */
#define PUSH_LAST_TIMEOUT_S 3L		/* one POST of the last pass, at stop */
#define PUSH_ANSWER_MAX (64 * 1024)	/* bytes of a receiver's answer read (and dropped) */
#define PUSH_IDLE_MS 1000		/* an empty spool is looked at again this often */

struct push_sender {
	struct push_senders *all;
	char *url;
	bool witness;			/* a C2SP witness's add-checkpoint: the exchange of push.h */
	char dir[PUSH_DIR_MAX];
	pthread_t thread;
	bool started;
};

struct push_senders {
	struct push_send_options o;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct push_sender s[2 * CONFIG_PUSH_MAX];
	size_t n;
};

/* What came back: a receiver's answer is counted and dropped, a witness's kept (buf NULL: dropped). */
struct push_answer {
	char *buf;
	size_t len, cap;
};

/* Up to PUSH_ANSWER_MAX bytes, or the room of buf; more fails the transfer. */
static size_t
push_take(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct push_answer *a = ctx;
	size_t max = a->buf != NULL ? a->cap - 1 : PUSH_ANSWER_MAX, n;

	if (nmemb != 0 && size > max / nmemb)
		return 0;
	n = size * nmemb;
	if (n > max - a->len)
		return 0;
	if (a->buf != NULL) {
		memcpy(a->buf + a->len, data, n);
		a->buf[a->len + n] = '\0';
	}
	a->len += n;
	return n;
}

/*
 * POST one note. Returns the HTTP status, or 0 when none came back (why in
 * err). Checkpoint-Tree-Size is the note's idempotency key: a receiver that
 * keeps one note per tree size (per origin) gets each exactly once, though
 * signerd-push may send one again after a crash or a lost answer.
 */
static long
push_post(CURL *h, const struct push_sender *snd, const char *note, size_t len, uint64_t size, long timeout,
    struct push_answer *answer, char err[CURL_ERROR_SIZE])
{
	struct curl_slist *headers = NULL, *more;
	char size_header[64];
	long status = 0;
	CURLcode cc;

	err[0] = '\0';
	answer->len = 0;
	/* A witness takes the tlog-witness body as it is; the header is for checkpoint receivers. */
	(void)snprintf(size_header, sizeof(size_header), "Checkpoint-Tree-Size: %" PRIu64, size);
	if ((headers = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8")) == NULL ||
	    (more = snd->witness ? headers : curl_slist_append(headers, size_header)) == NULL) {
		(void)snprintf(err, CURL_ERROR_SIZE, "out of memory");
		curl_slist_free_all(headers);
		return 0;
	}
	headers = more;
	curl_easy_reset(h);
	if (curl_easy_setopt(h, CURLOPT_URL, snd->url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, note) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "signerd-push") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, PUSH_CONNECT_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, push_take) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, answer) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    /* The server is verified (libcurl's default, said again): system CAs or checkpoint_ca. */
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (snd->all->o.ca != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, snd->all->o.ca) != CURLE_OK)) {
		if (err[0] == '\0')
			(void)snprintf(err, CURL_ERROR_SIZE, "libcurl refused an option");
		curl_slist_free_all(headers);
		return 0;
	}
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else if (err[0] == '\0')
		(void)snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
	/* Nothing of this request may outlive it. */
	(void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	return cc == CURLE_OK ? status : 0;
}

/* Wait until until_ms (or stop); returns whether the senders are stopping. */
static bool
push_wait(struct push_senders *all, int64_t until_ms)
{
	struct timespec ts;
	bool stopping;

	ts.tv_sec = (time_t)(until_ms / 1000);
	ts.tv_nsec = (long)(until_ms % 1000) * 1000000;
	if (pthread_mutex_lock(&all->lock) != 0)
		abort();
	while (!all->stopping && sd_time_now_ms() < until_ms)
		if (pthread_cond_timedwait(&all->wake, &all->lock, &ts) == ETIMEDOUT)
			break;
	stopping = all->stopping;
	if (pthread_mutex_unlock(&all->lock) != 0)
		abort();
	return stopping;
}

/*
 * Send one note (tree size) of snd's spool. 1: sent and removed (or gone
 * meanwhile); 0: the receiver did not take it; -1: the spooled file is
 * unusable (logged and removed, so that it cannot stop every later note).
 */
static int
push_one(CURL *h, struct push_sender *snd, uint64_t size, long timeout, char *why, size_t why_cap)
{
	char note[PUSH_NOTE_MAX], err[CURL_ERROR_SIZE];
	struct push_answer dropped = { NULL, 0, 0 };
	int64_t note_ms;
	size_t len;
	long status;
	int rc;

	if ((rc = push_spool_read(snd->dir, size, note, sizeof(note), &len, &note_ms)) == SD_E_NOT_FOUND)
		return 1;
	if (rc != 0) {
		sd_log(SD_LOG_ERROR, "checkpoint push: %s: %s; removed", snd->url, sd_error_detail(rc));
		if ((rc = push_spool_remove(snd->dir, size)) != 0)
			sd_log(SD_LOG_ERROR, "checkpoint push: %s", sd_error_detail(rc));
		return -1;
	}
	status = push_post(h, snd, note, len, size, timeout, &dropped, err);
	if (status < 200 || status > 299) {
		if (status == 0)
			(void)snprintf(why, why_cap, "%s", err);
		else
			(void)snprintf(why, why_cap, "HTTP status %ld", status);
		return 0;
	}
	if ((rc = push_spool_remove(snd->dir, size)) != 0)
		sd_log(SD_LOG_ERROR, "checkpoint push: %s (it may be sent again)", sd_error_detail(rc));
	if ((rc = push_acked_write(snd->dir, size, note_ms, sd_time_now_ms())) != 0)
		sd_log(SD_LOG_ERROR, "checkpoint push: %s", sd_error_detail(rc));
	{
		const struct sd_log_field f[] = {
			SD_LOG_STR("receiver", snd->url),
			SD_LOG_NUM("tree_size", size),
			SD_LOG_NUM("status", status),
			SD_LOG_NUM("acked_age_ms", sd_time_now_ms() - note_ms),
		};
		sd_log_fields(SD_LOG_INFO, "checkpoint push: acknowledged", f, sizeof(f) / sizeof(f[0]));
	}
	return 1;
}

/*
 * Send the request of tree size to snd, a witness, and write its answer
 * back for the signer, which judges it against the journal (push.h): any
 * answer the witness gave on purpose (2xx, or 4xx but 429) ends this
 * request; none, a 429 or a 5xx is retried. Returns as push_one().
 */
static int
push_witness_one(CURL *h, struct push_sender *snd, uint64_t size, long timeout, char *why, size_t why_cap)
{
	char *req = NULL, *out = NULL, err[CURL_ERROR_SIZE], line[8];
	struct push_answer a = { NULL, 0, 0 };
	size_t len;
	long status;
	int rc, r = 0, n;

	if ((req = malloc(PUSH_EXCHANGE_MAX)) == NULL || (out = malloc(PUSH_EXCHANGE_MAX)) == NULL) {
		(void)snprintf(why, why_cap, "out of memory");
		goto out;
	}
	if ((rc = push_exchange_get(snd->dir, size, PUSH_REQUEST, req, PUSH_EXCHANGE_MAX, &len)) == SD_E_NOT_FOUND) {
		r = 1;
		goto out;
	}
	if (rc != 0) {
		sd_log(SD_LOG_ERROR, "witness: %s: %s; removed", snd->url, sd_error_detail(rc));
		if ((rc = push_exchange_remove(snd->dir, size, PUSH_REQUEST)) != 0)
			sd_log(SD_LOG_ERROR, "witness: %s", sd_error_detail(rc));
		r = -1;
		goto out;
	}
	/* The answer goes after its status line: "NNN\n" is 4 bytes. */
	a.buf = out + 4;
	a.cap = PUSH_EXCHANGE_MAX - 4;
	status = push_post(h, snd, req, len, size, timeout, &a, err);
	if (status < 100 || status > 499 || status == 429) {
		if (status == 0)
			(void)snprintf(why, why_cap, "%s", err);
		else
			(void)snprintf(why, why_cap, "HTTP status %ld", status);
		goto out;
	}
	n = snprintf(line, sizeof(line), "%03ld\n", status);
	if (n != 4 || memchr(a.buf, '\0', a.len) != NULL) {
		(void)snprintf(why, why_cap, "HTTP status %ld with a NUL byte in its answer", status);
		goto out;
	}
	memcpy(out, line, 4);
	if ((rc = push_exchange_put(snd->dir, size, PUSH_ANSWER, out, 4 + a.len)) != 0) {
		(void)snprintf(why, why_cap, "%s", sd_error_detail(rc));
		goto out;
	}
	if ((rc = push_exchange_remove(snd->dir, size, PUSH_REQUEST)) != 0)
		sd_log(SD_LOG_ERROR, "witness: %s (it may be sent again)", sd_error_detail(rc));
	{
		const struct sd_log_field f[] = {
			SD_LOG_STR("witness", snd->url),
			SD_LOG_NUM("tree_size", size),
			SD_LOG_NUM("status", status),
		};
		sd_log_fields(SD_LOG_INFO, "witness: answered", f, sizeof(f) / sizeof(f[0]));
	}
	r = 1;
out:
	free(req);
	free(out);
	return r;
}

/*
 * What snd has to send, oldest first: a receiver's spooled notes; a
 * witness's newest request only (a newer checkpoint supersedes the older,
 * which are removed: a witness wants the newest, with a proof from where
 * it stands).
 */
static int
push_pending(struct push_sender *snd, uint64_t **sizes, size_t *n)
{
	size_t i;
	int rc;

	if (!snd->witness)
		return push_spool_scan(snd->dir, sizes, n);
	if ((rc = push_exchange_list(snd->dir, PUSH_REQUEST, sizes, n)) != 0 || *n < 2)
		return rc;
	for (i = 0; i + 1 < *n; i++)
		if ((rc = push_exchange_remove(snd->dir, (*sizes)[i], PUSH_REQUEST)) != 0)
			sd_log(SD_LOG_ERROR, "witness: %s", sd_error_detail(rc));
	(*sizes)[0] = (*sizes)[*n - 1];
	*n = 1;
	return 0;
}

static int
push_send(CURL *h, struct push_sender *snd, uint64_t size, long timeout, char *why, size_t why_cap)
{
	return snd->witness ? push_witness_one(h, snd, size, timeout, why, why_cap) :
	    push_one(h, snd, size, timeout, why, why_cap);
}

static void *
push_sender_main(void *arg)
{
	struct push_sender *snd = arg;
	struct push_senders *all = snd->all;
	uint64_t *sizes = NULL, backoff = 0;
	size_t n = 0, i;
	char why[CURL_ERROR_SIZE + 32];
	bool stopping = false;
	CURL *h;
	int rc, r;

	if ((h = curl_easy_init()) == NULL) {
		sd_log(SD_LOG_ERROR, "checkpoint push: %s: libcurl has no handle; nothing is sent there", snd->url);
		return NULL;
	}
	while (!stopping) {
		free(sizes);
		sizes = NULL;
		if ((rc = push_pending(snd, &sizes, &n)) != 0) {
			sd_log(SD_LOG_ERROR, "checkpoint push: %s", sd_error_detail(rc));
			n = 0;
		}
		if (n == 0) {
			stopping = push_wait(all, sd_time_now_ms() + PUSH_IDLE_MS);
			continue;
		}
		/* Oldest first, so that a receiver sees the tree grow; a failure keeps the order. */
		for (i = 0, r = 1; i < n && r != 0; i++) {
			if ((r = push_send(h, snd, sizes[i], PUSH_TIMEOUT_S, why, sizeof(why))) != 0)
				backoff = 0;
			if ((stopping = push_wait(all, 0)))
				break;
		}
		if (stopping || r != 0)
			continue;
		/* 1 s, doubling, up to [journal] checkpoint_retry_max. */
		backoff = backoff == 0 ? 1 : backoff * 2 > all->o.retry_max ? all->o.retry_max : backoff * 2;
		{
			const char *error = why;	/* SD_LOG_STR() tests for NULL, which an array never is */
			const struct sd_log_field f[] = {
				SD_LOG_STR("receiver", snd->url),
				SD_LOG_NUM("tree_size", sizes[i - 1]),
				SD_LOG_STR("error", error),
				SD_LOG_NUM("spooled", n - (i - 1)),
				SD_LOG_NUM("retry_in_s", backoff),
			};
			sd_log_fields(SD_LOG_WARN, "checkpoint push: not acknowledged, retrying later", f,
			    sizeof(f) / sizeof(f[0]));
		}
		stopping = push_wait(all, sd_time_now_ms() + (int64_t)backoff * 1000);
	}
	/* The last pass, at stop: short timeouts, until the first failure. */
	free(sizes);
	sizes = NULL;
	if (push_pending(snd, &sizes, &n) != 0)
		n = 0;
	for (i = 0; i < n; i++)
		if (push_send(h, snd, sizes[i], PUSH_LAST_TIMEOUT_S, why, sizeof(why)) == 0) {
			sd_log(SD_LOG_WARN, "checkpoint push: %s: %zu notes stay spooled for the next start (%s)",
			    snd->url, n - i, why);
			break;
		}
	free(sizes);
	curl_easy_cleanup(h);
	return NULL;
}

int
push_senders_start(const struct push_send_options *o, char *const *urls, size_t n, char *const *witnesses,
    size_t nw, struct push_senders **out)
{
	struct push_senders *all;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (n > CONFIG_PUSH_MAX || nw > CONFIG_PUSH_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "%zu receivers and %zu witnesses, at most %d each", n, nw,
		    CONFIG_PUSH_MAX);
	/* Before any thread: libcurl's global state (OpenSSL's too) is set up once. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sd_error_set(SD_E_INTERNAL, "libcurl cannot start");
	if ((all = calloc(1, sizeof(*all))) == NULL) {
		curl_global_cleanup();
		return SD_E_NOMEM;
	}
	all->o = *o;
	if (pthread_mutex_init(&all->lock, NULL) != 0) {
		free(all);
		curl_global_cleanup();
		return sd_error_set(SD_E_INTERNAL, "cannot create a mutex");
	}
	if (pthread_cond_init(&all->wake, NULL) != 0) {
		pthread_mutex_destroy(&all->lock);
		free(all);
		curl_global_cleanup();
		return sd_error_set(SD_E_INTERNAL, "cannot create a condition");
	}
	for (i = 0; i < n + nw && rc == 0; i++) {
		const char *url = i < n ? urls[i] : witnesses[i - n];

		all->s[i].all = all;
		all->s[i].witness = i >= n;
		all->n++;
		if ((all->s[i].url = strdup(url)) == NULL) {
			rc = SD_E_NOMEM;
			break;
		}
		if ((rc = push_receiver_dir(o->spool, url, all->s[i].dir, sizeof(all->s[i].dir))) != 0)
			break;
		if (pthread_create(&all->s[i].thread, NULL, push_sender_main, &all->s[i]) != 0) {
			rc = sd_error_set(SD_E_INTERNAL, "cannot start a sender thread");
			break;
		}
		all->s[i].started = true;
	}
	if (rc != 0) {
		push_senders_stop(all);
		return rc;
	}
	*out = all;
	return 0;
}

void
push_senders_stop(struct push_senders *all)
{
	size_t i;

	if (all == NULL)
		return;
	if (pthread_mutex_lock(&all->lock) != 0)
		abort();
	all->stopping = true;
	pthread_cond_broadcast(&all->wake);
	if (pthread_mutex_unlock(&all->lock) != 0)
		abort();
	for (i = 0; i < all->n; i++) {
		if (all->s[i].started)
			pthread_join(all->s[i].thread, NULL);
		free(all->s[i].url);
	}
	pthread_cond_destroy(&all->wake);
	pthread_mutex_destroy(&all->lock);
	free(all);
	curl_global_cleanup();
}
