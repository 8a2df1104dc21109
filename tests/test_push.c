/*
 * Unit tests for the checkpoint spool (signer/push/push_spool.c) and the
 * senders (push_send.c) against a receiver in the test; signerd-push as a
 * whole runs in integration/test_checkpoint_push.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "push/push.h"
#include "sd_metrics.h"
#include "sd_test.h"

static char tmp[PATH_MAX];

#define URL_A "http://127.0.0.1:9/a"
#define URL_B "https://receiver.example/checkpoints"

/* A config with two receivers, its spool under tmp/tag and spool_max notes each. */
static struct sd_config *
push_config(const char *tag, unsigned spool_max)
{
	struct sd_config *cfg = NULL;
	char text[2048], path[PATH_MAX];

	(void)snprintf(text, sizeof(text),
	    "[hsm]\nmodule = /m.so\ntoken = pkcs11:token=t\npin_file = pin\n"
	    "[ca]\nkey = pkcs11:token=t;object=ica\ncertificate = ica.pem\nchain = chain.pem\n"
	    "[journal]\npath = journal-%s\naudit_key = pkcs11:token=t;object=audit\n"
	    "checkpoint_url = " URL_A "\ncheckpoint_url = " URL_B "\ncheckpoint_spool = spool-%s/s\n"
	    "checkpoint_spool_max = %u\n"
	    "[api]\ntls_certificate = s.pem\ntls_key = s.key\nclient_ca = c.pem\n", tag, tag, spool_max);
	sd_test_write(tmp, "signerd.conf", text, 0600, path);
	CU_ASSERT_EQUAL_FATAL(sd_config_load(path, &cfg), 0);
	return cfg;
}

/* A note as the checkpointer makes them (only its time line matters to the spool). */
static size_t
note_text(uint64_t size, int64_t time_ms, char *out, size_t cap)
{
	int n = snprintf(out, cap, "test/journal\n%" PRIu64 "\nAAAA\ntime %" PRId64 "\n\n\xe2\x80\x94 test/journal AAAA\n",
	    size, time_ms);

	CU_ASSERT_FATAL(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void
put(struct push_spool *s, uint64_t size, int64_t time_ms)
{
	char note[256];
	size_t len = note_text(size, time_ms, note, sizeof(note));

	CU_ASSERT_EQUAL(push_spool_put(s, size, note, len), 0);
}

/* The tree sizes spooled in dir, as "a,b,c". */
static void
scanned(const char *dir, char *out, size_t cap)
{
	uint64_t *sizes = NULL;
	size_t n = 0, i, at = 0;

	out[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(push_spool_scan(dir, &sizes, &n), 0);
	for (i = 0; i < n && at < cap; i++)
		at += (size_t)snprintf(out + at, cap - at, "%s%" PRIu64, i > 0 ? "," : "", sizes[i]);
	free(sizes);
}

static void
test_receiver_dirs(void)
{
	char a[PUSH_DIR_MAX], b[PUSH_DIR_MAX], again[PUSH_DIR_MAX];

	CU_ASSERT_EQUAL(push_receiver_dir("/spool", URL_A, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(push_receiver_dir("/spool", URL_B, b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(push_receiver_dir("/spool", URL_A, again, sizeof(again)), 0);
	CU_ASSERT_STRING_EQUAL(a, again);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(strlen(a), strlen("/spool/") + PUSH_ID_LEN);
	CU_ASSERT_EQUAL(strspn(a + strlen("/spool/"), "0123456789abcdef"), PUSH_ID_LEN);
	CU_ASSERT_EQUAL(push_receiver_dir("/spool", URL_A, a, 10), SD_E_TOO_LARGE);
}

/* Notes in, oldest first out, read back, removed; the bound drops the oldest and counts them. */
static void
test_spool_order_and_bound(void)
{
	struct sd_config *cfg = push_config("order", 3);
	struct sd_metrics_text t = { NULL, 0, 0, false };
	struct push_spool *s = NULL;
	char dir[PUSH_DIR_MAX], list[256], buf[PUSH_NOTE_MAX], want[256], *text = NULL;
	struct stat st;
	int64_t time_ms;
	size_t len, tlen;

	CU_ASSERT_EQUAL_FATAL(push_spool_open(cfg, &s), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(push_receiver_dir(cfg->journal_checkpoint_spool, URL_B, dir, sizeof(dir)), 0);
	CU_ASSERT_EQUAL_FATAL(stat(cfg->journal_checkpoint_spool, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "");
	put(s, 10, 1000);
	put(s, 5, 500);
	put(s, 7, 700);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "5,7,10");
	CU_ASSERT_EQUAL(push_spool_read(dir, 7, buf, sizeof(buf), &len, &time_ms), 0);
	CU_ASSERT_EQUAL(time_ms, 700);
	CU_ASSERT_EQUAL(len, note_text(7, 700, want, sizeof(want)));
	CU_ASSERT_STRING_EQUAL(buf, want);
	/* A fourth note: the oldest (5) goes, for both receivers. */
	put(s, 12, 1200);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "7,10,12");
	CU_ASSERT_EQUAL(push_spool_read(dir, 5, buf, sizeof(buf), &len, &time_ms), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(push_receiver_dir(cfg->journal_checkpoint_spool, URL_A, dir, sizeof(dir)), 0);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "7,10,12");
	/* Sent: removed, twice is fine; acknowledged: the acked file. */
	CU_ASSERT_EQUAL(push_spool_remove(dir, 7), 0);
	CU_ASSERT_EQUAL(push_spool_remove(dir, 7), 0);
	CU_ASSERT_EQUAL(push_acked_write(dir, 7, 700, 800), 0);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "10,12");
	push_spool_metrics_text(s, &t);
	CU_ASSERT_EQUAL_FATAL(sd_metrics_text_take(&t, &text, &tlen), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_checkpoint_push_spooled{receiver=\"" URL_A "\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_checkpoint_push_spooled{receiver=\"" URL_B "\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_checkpoint_push_dropped_total{receiver=\"" URL_A "\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_checkpoint_push_acked_tree_size{receiver=\"" URL_A "\"} 7\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "signerd_checkpoint_push_acked_age_seconds{receiver=\"" URL_A "\"} "));
	/* Nothing acknowledged by B: no age for it. */
	CU_ASSERT_PTR_NULL(strstr(text, "signerd_checkpoint_push_acked_age_seconds{receiver=\"" URL_B "\"}"));
	free(text);
	push_spool_free(s);
	/* Across a reopen (a restart), what was spooled is still there. */
	s = NULL;
	CU_ASSERT_EQUAL_FATAL(push_spool_open(cfg, &s), 0);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "10,12");
	push_spool_free(s);
	sd_config_free(cfg);
}

static void
test_acked_file(void)
{
	struct sd_config *cfg = push_config("acked", 10);
	char dir[PUSH_DIR_MAX], path[PATH_MAX];
	uint64_t size;
	int64_t note_ms, acked_ms;

	CU_ASSERT_EQUAL_FATAL(push_spool_prepare(cfg), 0);
	CU_ASSERT_EQUAL_FATAL(push_receiver_dir(cfg->journal_checkpoint_spool, URL_A, dir, sizeof(dir)), 0);
	CU_ASSERT_EQUAL(push_acked_read(dir, &size, &note_ms, &acked_ms), SD_E_NOT_FOUND);
	CU_ASSERT_EQUAL(push_acked_write(dir, 42, 1700000000000, 1700000001000), 0);
	CU_ASSERT_EQUAL(push_acked_read(dir, &size, &note_ms, &acked_ms), 0);
	CU_ASSERT_EQUAL(size, 42);
	CU_ASSERT_EQUAL(note_ms, 1700000000000);
	CU_ASSERT_EQUAL(acked_ms, 1700000001000);
	sd_test_write(dir, "acked", "42 17\n", 0600, path);
	CU_ASSERT_EQUAL(push_acked_read(dir, &size, &note_ms, &acked_ms), SD_E_INVAL);
	sd_config_free(cfg);
}

/* What is not a note is not sent: other names are ignored, a bad file refused by name. */
static void
test_not_notes(void)
{
	struct sd_config *cfg = push_config("junk", 10);
	char dir[PUSH_DIR_MAX], path[PATH_MAX], list[256], buf[PUSH_NOTE_MAX], big[PUSH_NOTE_MAX + 10];
	uint64_t *none = NULL;
	int64_t time_ms;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(push_spool_prepare(cfg), 0);
	CU_ASSERT_EQUAL_FATAL(push_receiver_dir(cfg->journal_checkpoint_spool, URL_A, dir, sizeof(dir)), 0);
	sd_test_write(dir, ".00000000000000000003.tmp", "half", 0600, path);
	sd_test_write(dir, "3.note", "short name", 0600, path);
	sd_test_write(dir, "0000000000000000000x.note", "not digits", 0600, path);
	sd_test_write(dir, "99999999999999999999.note", "past UINT64_MAX", 0600, path);
	sd_test_write(dir, "00000000000000000004.notes", "suffix", 0600, path);
	sd_test_write(dir, "00000000000000000008.note", "no time line\n", 0600, path);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sd_test_write(dir, "00000000000000000009.note", big, 0600, path);
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "8,9");
	CU_ASSERT_EQUAL(push_spool_read(dir, 8, buf, sizeof(buf), &len, &time_ms), SD_E_INVAL);
	CU_ASSERT_EQUAL(push_spool_read(dir, 9, buf, sizeof(buf), &len, &time_ms), SD_E_TOO_LARGE);
	CU_ASSERT_EQUAL(push_spool_read(dir, 10, buf, sizeof(buf), &len, &time_ms), SD_E_NOT_FOUND);
	/* A missing directory holds nothing. */
	CU_ASSERT_EQUAL(push_spool_scan("/nonexistent/spool/dir", &none, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NULL(none);
	sd_config_free(cfg);
}

/* A spool others may write to, or a file where it should be, stops the start. */
static void
test_spool_refused(void)
{
	struct sd_config *cfg = push_config("mode", 10);
	struct push_spool *s = NULL;
	char parent[PATH_MAX], path[PATH_MAX], *slash;

	(void)snprintf(parent, sizeof(parent), "%s", cfg->journal_checkpoint_spool);
	CU_ASSERT_FATAL((slash = strrchr(parent, '/')) != NULL);
	*slash = '\0';
	CU_ASSERT_EQUAL_FATAL(mkdir(parent, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(cfg->journal_checkpoint_spool, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(cfg->journal_checkpoint_spool, 0777), 0);
	CU_ASSERT_EQUAL(push_spool_open(cfg, &s), SD_E_CONFIG);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "writable by group or others"));
	CU_ASSERT_EQUAL_FATAL(rmdir(cfg->journal_checkpoint_spool), 0);
	sd_test_write(parent, "s", "a file", 0600, path);
	CU_ASSERT_EQUAL(push_spool_open(cfg, &s), SD_E_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(sd_error_detail(SD_E_CONFIG), "is not a directory"));
	sd_config_free(cfg);
}

/* A receiver in the test: answers each request with status, keeps the tree sizes it answered 2xx. */
struct fake_receiver {
	int fd;
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t lock;
	int status;
	bool stop;
	size_t posts;
	char first[32];			/* Checkpoint-Tree-Size of the first request */
	char taken[512];		/* ... of each answered 2xx, comma-separated */
	char content_type[128];
	char answer[256];		/* the body of each answer ("": none) */
	char body[2048];		/* the last request's body */
	bool size_header;		/* the last request had a Checkpoint-Tree-Size */
};

/* The value of header name (as curl writes it) in the request head, or "". */
static void
header_value(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = strstr(head, name), *end;
	size_t n;

	out[0] = '\0';
	if (p == NULL || (end = strstr(p, "\r\n")) == NULL)
		return;
	p += strlen(name);
	n = (size_t)(end - p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void *
fake_receiver_main(void *arg)
{
	struct fake_receiver *r = arg;
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	char buf[16384], size[32], type[128], length[32], reply[512];
	const char *end;
	size_t len;
	ssize_t n;
	int c, status;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		pthread_mutex_unlock(&r->lock);
		if (poll(&pfd, 1, 50) <= 0 || (c = accept(r->fd, NULL, NULL)) < 0)
			continue;
		len = 0;
		end = NULL;
		length[0] = '\0';
		/* The head, then Content-Length bytes of body. */
		while ((n = recv(c, buf + len, sizeof(buf) - 1 - len, 0)) > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL)
				header_value(buf, "Content-Length: ", length, sizeof(length));
			if (end != NULL && len >= (size_t)(end + 4 - buf) + strtoul(length, NULL, 10))
				break;
			if (len == sizeof(buf) - 1)
				break;
		}
		header_value(buf, "Checkpoint-Tree-Size: ", size, sizeof(size));
		header_value(buf, "Content-Type: ", type, sizeof(type));
		pthread_mutex_lock(&r->lock);
		r->size_header = strstr(buf, "Checkpoint-Tree-Size: ") != NULL;
		(void)snprintf(r->body, sizeof(r->body), "%s", end != NULL ? end + 4 : "");
		status = r->status;
		if (r->posts++ == 0)
			(void)snprintf(r->first, sizeof(r->first), "%s", size);
		if (status / 100 == 2) {
			len = strlen(r->taken);
			(void)snprintf(r->taken + len, sizeof(r->taken) - len, "%s%s", len > 0 ? "," : "", size);
			(void)snprintf(r->content_type, sizeof(r->content_type), "%s", type);
		}
		pthread_mutex_unlock(&r->lock);
		pthread_mutex_lock(&r->lock);
		n = snprintf(reply, sizeof(reply), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    status, strlen(r->answer), r->answer);
		pthread_mutex_unlock(&r->lock);
		if (n > 0)
			(void)send(c, reply, (size_t)n, MSG_NOSIGNAL);
		close(c);
	}
}

static void
fake_receiver_start(struct fake_receiver *r, int status)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	memset(r, 0, sizeof(*r));
	r->status = status;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	CU_ASSERT_FATAL(bind(r->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(r->fd, 16) == 0);
	CU_ASSERT_FATAL(getsockname(r->fd, (struct sockaddr *)&a, &alen) == 0);
	r->port = ntohs(a.sin_port);
	CU_ASSERT_FATAL(pthread_mutex_init(&r->lock, NULL) == 0);
	CU_ASSERT_FATAL(pthread_create(&r->thread, NULL, fake_receiver_main, r) == 0);
}

static void
fake_receiver_stop(struct fake_receiver *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	close(r->fd);
}

/* From now on, answer with status and body. */
static void
fake_receiver_answer(struct fake_receiver *r, int status, const char *body)
{
	pthread_mutex_lock(&r->lock);
	r->status = status;
	(void)snprintf(r->answer, sizeof(r->answer), "%s", body);
	pthread_mutex_unlock(&r->lock);
}

/* Whether dir's spool is empty within ms milliseconds. */
static bool
spool_empties(const char *dir, unsigned ms)
{
	uint64_t *sizes = NULL;
	size_t n = 1;
	unsigned waited;

	for (waited = 0; waited <= ms; waited += 50) {
		if (push_spool_scan(dir, &sizes, &n) == 0 && n == 0)
			return true;
		free(sizes);
		sizes = NULL;
		sd_test_sleep_ms(50);
	}
	return false;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The senders against a receiver in the test: 503 keeps every note (the
 * oldest tried first, again after a back-off), 204 takes them oldest first,
 * one POST each, text/plain; the acked file names the newest; stop is prompt.
 */
static void
test_senders(void)
{
	struct fake_receiver r;
	struct push_send_options o;
	struct push_senders *senders = NULL;
	char spool[PATH_MAX * 2], dir[PUSH_DIR_MAX], url[64], note[256], name[64], path[PATH_MAX], list[256];
	char *urls[1] = { url };
	static const uint64_t sizes[] = { 10, 5, 7 };
	uint64_t size, t0;
	int64_t note_ms, acked_ms;
	size_t i, posts;

	fake_receiver_start(&r, 503);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/checkpoints", (unsigned)r.port);
	(void)snprintf(spool, sizeof(spool), "%s/send-spool", tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(spool, 0700), 0);
	CU_ASSERT_EQUAL_FATAL(push_receiver_dir(spool, url, dir, sizeof(dir)), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		(void)note_text(sizes[i], (int64_t)sizes[i] * 100, note, sizeof(note));
		(void)snprintf(name, sizeof(name), "%020" PRIu64 ".note", sizes[i]);
		sd_test_write(dir, name, note, 0600, path);
	}
	o = (struct push_send_options){ spool, NULL, 1 };
	CU_ASSERT_EQUAL_FATAL(push_senders_start(&o, urls, 1, NULL, 0, &senders), 0);
	sd_test_sleep_ms(1500);
	pthread_mutex_lock(&r.lock);
	posts = r.posts;
	pthread_mutex_unlock(&r.lock);
	/* Tried (the oldest first), and again after the back-off; nothing taken, nothing removed. */
	CU_ASSERT(posts >= 2);
	CU_ASSERT_STRING_EQUAL(r.first, "5");
	CU_ASSERT_STRING_EQUAL(r.taken, "");
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "5,7,10");
	CU_ASSERT_EQUAL(push_acked_read(dir, &size, &note_ms, &acked_ms), SD_E_NOT_FOUND);
	pthread_mutex_lock(&r.lock);
	r.status = 204;
	pthread_mutex_unlock(&r.lock);
	CU_ASSERT_TRUE(spool_empties(dir, 5000));
	pthread_mutex_lock(&r.lock);
	CU_ASSERT_STRING_EQUAL(r.taken, "5,7,10");
	CU_ASSERT_STRING_EQUAL(r.content_type, "text/plain; charset=utf-8");
	pthread_mutex_unlock(&r.lock);
	CU_ASSERT_EQUAL(push_acked_read(dir, &size, &note_ms, &acked_ms), 0);
	CU_ASSERT_EQUAL(size, 10);
	CU_ASSERT_EQUAL(note_ms, 1000);
	t0 = now_ms();
	push_senders_stop(senders);
	CU_ASSERT(now_ms() - t0 < 3000);
	fake_receiver_stop(&r);
}

/* dir's file of size and suffix, or "" when there is none. */
static void
exchange_file(const char *dir, uint64_t size, const char *suffix, char *out, size_t cap)
{
	size_t len = 0;

	if (push_exchange_get(dir, size, suffix, out, cap, &len) != 0)
		out[0] = '\0';
	sd_error_clear();
}

/* Whether dir's file of size and suffix reads want within ms milliseconds. */
static bool
exchange_becomes(const char *dir, uint64_t size, const char *suffix, const char *want, unsigned ms)
{
	char got[1024];
	unsigned waited;

	for (waited = 0; waited <= ms; waited += 50) {
		exchange_file(dir, size, suffix, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return true;
		sd_test_sleep_ms(50);
	}
	return false;
}

/*
 * A witness's sender: only the newest request goes (the older are
 * removed), as it is, without Checkpoint-Tree-Size; a 503 keeps it; a 409
 * and a 200 are written back with their status line and the request goes.
 */
static void
test_witness_sender(void)
{
	struct fake_receiver r;
	struct push_send_options o;
	struct push_senders *senders = NULL;
	char spool[PATH_MAX * 2], dir[PUSH_DIR_MAX], url[80], list[256], got[1024];
	char *witnesses[1] = { url };
	static const char req8[] = "old 5\nAAAA\n\ntest/journal\n8\nroot\ntime 1\n\n\xe2\x80\x94 test/journal AAAA\n";
	uint64_t *sizes = NULL;
	size_t n = 0;

	fake_receiver_start(&r, 503);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/w/add-checkpoint", (unsigned)r.port);
	(void)snprintf(spool, sizeof(spool), "%s/witness-spool", tmp);
	CU_ASSERT_EQUAL_FATAL(push_exchange_prepare(spool, url, dir, sizeof(dir)), 0);
	CU_ASSERT_EQUAL_FATAL(push_exchange_put(dir, 3, PUSH_REQUEST, "old 0\n\nthree", 12), 0);
	CU_ASSERT_EQUAL_FATAL(push_exchange_put(dir, 8, PUSH_REQUEST, req8, strlen(req8)), 0);
	CU_ASSERT_EQUAL_FATAL(push_exchange_put(dir, 6, PUSH_REQUEST, "old 0\n\nsix", 10), 0);
	o = (struct push_send_options){ spool, NULL, 1 };
	CU_ASSERT_EQUAL_FATAL(push_senders_start(&o, NULL, 0, witnesses, 1, &senders), 0);
	sd_test_sleep_ms(1500);
	/* Tried, again after the back-off: the newest only, the others gone; nothing written back. */
	CU_ASSERT_EQUAL(push_exchange_list(dir, PUSH_REQUEST, &sizes, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(n == 1 && sizes[0] == 8);
	free(sizes);
	pthread_mutex_lock(&r.lock);
	CU_ASSERT(r.posts >= 2);
	CU_ASSERT_STRING_EQUAL(r.body, req8);
	CU_ASSERT_FALSE(r.size_header);
	pthread_mutex_unlock(&r.lock);
	fake_receiver_answer(&r, 409, "5\n");
	CU_ASSERT_TRUE(exchange_becomes(dir, 8, PUSH_ANSWER, "409\n5\n", 5000));
	exchange_file(dir, 8, PUSH_REQUEST, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "");
	/* A new request, a cosignature back. */
	fake_receiver_answer(&r, 200, "\xe2\x80\x94 w.example/w1 AAAA\n");
	CU_ASSERT_EQUAL_FATAL(push_exchange_put(dir, 9, PUSH_REQUEST, "old 8\n\nnine", 11), 0);
	CU_ASSERT_TRUE(exchange_becomes(dir, 9, PUSH_ANSWER, "200\n\xe2\x80\x94 w.example/w1 AAAA\n", 5000));
	scanned(dir, list, sizeof(list));
	CU_ASSERT_STRING_EQUAL(list, "");
	push_senders_stop(senders);
	fake_receiver_stop(&r);
}

int
main(void)
{
	static const struct sd_test_case spool[] = {
		{ "a directory per receiver", test_receiver_dirs },
		{ "oldest first, read back, removed, bounded, kept across a reopen", test_spool_order_and_bound },
		{ "the acked file", test_acked_file },
		{ "files that are not notes", test_not_notes },
		{ "a spool others can write, a file in its place", test_spool_refused },
	};
	static const struct sd_test_case senders[] = {
		{ "503 keeps, 2xx removes, oldest first, acked, prompt stop", test_senders },
		{ "a witness: the newest request as it is, its answers written back", test_witness_sender },
	};
	int rc;

	sd_test_tmpdir(tmp, "push");
	SD_TEST_SUITE("spool", spool);
	SD_TEST_SUITE("senders", senders);
	rc = sd_test_run("test_push");
	sd_test_rmtree(tmp);
	return rc;
}
