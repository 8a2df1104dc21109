/*
 * The front's side of the request channels (signer/privsep/privsep_client.c,
 * linked here as in signerd-front) against a signer played by this test
 * over a socketpair: with every channel held by a call, the next one waits
 * a bounded time for a free channel and is then refused busy, with a
 * Retry-After, instead of piling up; the held call still completes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "privsep.h"
#include "privsep/privsep_msg.h"
#include "sd_metrics.h"
#include "sd_test.h"
#include "signer.h"

static const char chain_pem[] = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";

/* The signer's end: the chain at open, then health requests answered only when released. */
struct fake_signer {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool release;
	unsigned served;
};

static int
fake_reply(int fd, uint32_t type, int rc, bool chain)
{
	const char *pems[1] = { chain_pem };
	struct ps_out out;
	int err;

	ps_out_init(&out);
	ps_status_encode(&out, rc, rc != 0 ? sd_error_detail(rc) : NULL);
	if (chain)
		ps_chain_encode(&out, pems, 1);
	err = ps_out_failed(&out) ? SD_E_NOMEM : ps_frame_send(fd, type | PS_REPLY, out.data, out.len);
	ps_out_free(&out);
	return err;
}

static void *
fake_main(void *arg)
{
	struct fake_signer *f = arg;
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;

	while (ps_frame_recv(f->fd, PS_FRAME_MAX, &type, &payload, &len) == 0) {
		free(payload);
		payload = NULL;
		if (type == PS_CHAIN) {
			if (fake_reply(f->fd, type, 0, true) != 0)
				break;
			continue;
		}
		pthread_mutex_lock(&f->lock);
		while (!f->release)
			pthread_cond_wait(&f->cond, &f->lock);
		f->served++;
		pthread_mutex_unlock(&f->lock);
		if (fake_reply(f->fd, type, 0, false) != 0)
			break;
	}
	return NULL;
}

struct caller {
	struct signer *s;
	int rc;
	double took_ms;
	char detail[256];		/* the caller's thread's detail and Retry-After */
	unsigned retry;
};

static void *
caller_main(void *arg)
{
	struct caller *c = arg;
	uint64_t t0 = sd_monotonic_us();

	c->rc = signer_health(c->s);
	c->took_ms = (double)(sd_monotonic_us() - t0) / 1000.0;
	(void)snprintf(c->detail, sizeof(c->detail), "%s", sd_error_detail(c->rc));
	c->retry = sd_error_retry_after(c->rc);
	return NULL;
}

static unsigned
served(struct fake_signer *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->served;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void
test_channel_wait_bounded(void)
{
	struct fake_signer f = { .fd = -1, .release = false, .served = 0 };
	struct caller held = { .rc = -1 }, late = { .rc = -1 };
	struct signer *s = NULL;
	pthread_t fake, t_held, t_late;
	int sv[2];

	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f.fd = sv[1];
	CU_ASSERT_EQUAL_FATAL(pthread_mutex_init(&f.lock, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_cond_init(&f.cond, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&fake, NULL, fake_main, &f), 0);
	/* One channel: the chain comes over it at open. */
	CU_ASSERT_EQUAL_FATAL(privsep_signer_open(sv[0], 1, &s), 0);
	CU_ASSERT_EQUAL(signer_chain_count(s), 1);
	held.s = late.s = s;
	/* A call that holds the only channel until the signer answers it. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t_held, NULL, caller_main, &held), 0);
	sd_test_sleep_ms(100);
	/* The next one waits for a channel, then is busy: about 2 s, not for ever. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t_late, NULL, caller_main, &late), 0);
	CU_ASSERT_EQUAL(pthread_join(t_late, NULL), 0);
	CU_ASSERT_EQUAL(late.rc, SD_E_BUSY);
	CU_ASSERT_TRUE(late.took_ms >= 1900 && late.took_ms < 4000);
	CU_ASSERT_PTR_NOT_NULL(strstr(late.detail, "all 1 request channels to the signer stayed busy for 2000 ms"));
	CU_ASSERT_EQUAL(late.retry, 1);
	CU_ASSERT_EQUAL(served(&f), 0);
	/* The held call completes once the signer answers, and the channel serves again. */
	pthread_mutex_lock(&f.lock);
	f.release = true;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	CU_ASSERT_EQUAL(pthread_join(t_held, NULL), 0);
	CU_ASSERT_EQUAL(held.rc, 0);
	CU_ASSERT_EQUAL(signer_health(s), 0);
	CU_ASSERT_EQUAL(served(&f), 2);
	/* Closing the front's end ends the fake signer's loop. */
	signer_close(s);
	CU_ASSERT_EQUAL(pthread_join(fake, NULL), 0);
	close(sv[1]);
	(void)pthread_cond_destroy(&f.cond);
	(void)pthread_mutex_destroy(&f.lock);
	sd_error_clear();
}

int
main(void)
{
	static const struct sd_test_case channels[] = {
		{ "every channel held: the next call is busy after 2 s", test_channel_wait_bounded },
	};

	SD_TEST_SUITE("request channels", channels);
	return sd_test_run("test_privsep_client");
}
