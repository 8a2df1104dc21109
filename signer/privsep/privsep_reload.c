/*
 * A reload across both processes (privsep_front_reload()): nothing in the
 * signer changes until the front has taken the new file, and the swap in
 * the signer, which cannot fail, waits for the requests being served.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "privsep.h"
#include "privsep_front.h"
#include "privsep_msg.h"

#define PS_RELOAD_WAIT_MS 30000

/* The front's answer to a reload: 0, or its error (with the front's detail). */
static int
ps_reload_answer(struct privsep_front *f)
{
	struct pollfd p = { f->control, POLLIN, 0 };
	struct ps_in in;
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int rc, n, front_rc;

	while ((n = poll(&p, 1, PS_RELOAD_WAIT_MS)) < 0 && errno == EINTR)
		;
	if (n == 0)
		return sd_error_set(SD_E_IO, "signerd-front did not answer the reload within %d s", PS_RELOAD_WAIT_MS / 1000);
	if ((rc = ps_frame_recv(f->control, 2048, &type, &payload, &len)) != 0)
		return sd_error_set(SD_E_IO, "signerd-front did not answer the reload (%s)", sd_error_detail(rc));
	ps_in_init(&in, payload, len);
	if (type != (PS_RELOAD | PS_REPLY) || ps_status_decode(&in, &front_rc) != 0 || !ps_in_done(&in))
		rc = sd_error_set(SD_E_IO, "signerd-front answered the reload with message type %u", type);
	else
		rc = front_rc;	/* its detail is set */
	free(payload);
	return rc;
}

int
privsep_front_reload(struct privsep_front *f, const struct sd_config *next, const char *text, size_t len)
{
	struct ps_config msg = { next->path, text, len + 1, f->port, f->n };
	struct signer_reload *r = NULL;
	struct ps_out o;
	int rc;

	if ((rc = signer_reload_prepare(f->signer, next, &r)) != 0)
		return rc;
	/* The text travels with its NUL (ps_config_decode()). */
	ps_out_init(&o);
	ps_config_encode(&o, &msg);
	if (ps_out_failed(&o))
		rc = SD_E_NOMEM;
	else if (ps_frame_send(f->control, PS_RELOAD, o.data, o.len) != 0)
		rc = sd_error_set(SD_E_IO, "cannot send the reload to signerd-front");
	else
		rc = ps_reload_answer(f);
	ps_out_free(&o);
	if (rc != 0) {
		signer_reload_abort(r);
		return rc;
	}
	(void)pthread_rwlock_wrlock(&f->lock);
	signer_reload_commit(f->signer, r);
	f->cfg = next;
	(void)pthread_rwlock_unlock(&f->lock);
	return 0;
}
