#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "privsep_wire.h"

void
ps_out_init(struct ps_out *o)
{
	memset(o, 0, sizeof(*o));
}

void
ps_out_free(struct ps_out *o)
{
	free(o->data);
	memset(o, 0, sizeof(*o));
}

static void
ps_out_raw(struct ps_out *o, const void *p, size_t len)
{
	uint8_t *grown;
	size_t cap;

	if (o->failed)
		return;
	if (len > PS_FRAME_MAX - o->len) {
		o->failed = true;
		return;
	}
	if (o->len + len > o->cap) {
		cap = o->cap < 256 ? 256 : o->cap;
		while (cap < o->len + len)
			cap *= 2;
		if ((grown = realloc(o->data, cap)) == NULL) {
			o->failed = true;
			return;
		}
		o->data = grown;
		o->cap = cap;
	}
	if (len > 0)
		memcpy(o->data + o->len, p, len);
	o->len += len;
}

void
ps_out_u8(struct ps_out *o, uint8_t v)
{
	ps_out_raw(o, &v, 1);
}

void
ps_out_u32(struct ps_out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	ps_out_raw(o, b, sizeof(b));
}

void
ps_out_u64(struct ps_out *o, uint64_t v)
{
	ps_out_u32(o, (uint32_t)(v >> 32));
	ps_out_u32(o, (uint32_t)v);
}

void
ps_out_i32(struct ps_out *o, int32_t v)
{
	ps_out_u32(o, (uint32_t)v);
}

void
ps_out_bytes(struct ps_out *o, const void *p, size_t len)
{
	if (len > PS_FRAME_MAX) {
		o->failed = true;
		return;
	}
	ps_out_u32(o, (uint32_t)len);
	ps_out_raw(o, p, len);
}

void
ps_out_str(struct ps_out *o, const char *s)
{
	if (s == NULL)
		s = "";
	ps_out_bytes(o, s, strlen(s) + 1);
}

bool
ps_out_failed(const struct ps_out *o)
{
	return o->failed;
}

void
ps_in_init(struct ps_in *in, const uint8_t *p, size_t len)
{
	in->p = p;
	in->left = p == NULL ? 0 : len;
	in->failed = false;
}

static const uint8_t *
ps_in_raw(struct ps_in *in, size_t len)
{
	const uint8_t *at;

	if (in->failed || len > in->left) {
		in->failed = true;
		return NULL;
	}
	at = in->p;
	in->p += len;
	in->left -= len;
	return at;
}

uint8_t
ps_in_u8(struct ps_in *in)
{
	const uint8_t *b = ps_in_raw(in, 1);

	return b == NULL ? 0 : b[0];
}

uint32_t
ps_in_u32(struct ps_in *in)
{
	const uint8_t *b = ps_in_raw(in, 4);

	if (b == NULL)
		return 0;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

uint64_t
ps_in_u64(struct ps_in *in)
{
	uint64_t hi = ps_in_u32(in);

	return hi << 32 | ps_in_u32(in);
}

int32_t
ps_in_i32(struct ps_in *in)
{
	uint32_t v = ps_in_u32(in);

	/* Two's complement without implementation-defined conversion. */
	return v <= INT32_MAX ? (int32_t)v : -(int32_t)(UINT32_MAX - v) - 1;
}

const uint8_t *
ps_in_bytes(struct ps_in *in, size_t max, size_t *len)
{
	uint32_t n = ps_in_u32(in);
	const uint8_t *at;

	*len = 0;
	if (in->failed || n > max) {
		in->failed = true;
		return NULL;
	}
	if ((at = ps_in_raw(in, n)) != NULL)
		*len = n;
	return at;
}

const char *
ps_in_str(struct ps_in *in, size_t max)
{
	const uint8_t *at;
	size_t len;

	at = ps_in_bytes(in, max == SIZE_MAX ? max : max + 1, &len);
	/* The NUL is the last byte and the only one. */
	if (at == NULL || len == 0 || at[len - 1] != '\0' || memchr(at, '\0', len - 1) != NULL) {
		in->failed = true;
		return "";
	}
	return (const char *)at;
}

void
ps_in_fixed(struct ps_in *in, void *out, size_t len)
{
	const uint8_t *at = ps_in_raw(in, len);

	if (at == NULL)
		memset(out, 0, len);
	else
		memcpy(out, at, len);
}

bool
ps_in_done(const struct ps_in *in)
{
	return !in->failed && in->left == 0;
}

int
ps_frame_send(int fd, uint32_t type, const void *payload, size_t len)
{
	uint8_t head[PS_FRAME_HEADER];
	struct iovec iov[2];
	struct msghdr msg;
	size_t total, done = 0, skip;
	ssize_t n;
	int i;

	if (len > PS_FRAME_MAX)
		return sd_error_set(SD_E_INVAL, "privsep frame of %zu bytes", len);
	for (i = 0; i < 4; i++) {
		head[i] = (uint8_t)(type >> (24 - 8 * i));
		head[4 + i] = (uint8_t)(len >> (24 - 8 * i));
	}
	total = sizeof(head) + len;
	while (done < total) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		if (done < sizeof(head)) {
			iov[0] = (struct iovec){ head + done, sizeof(head) - done };
			iov[1] = (struct iovec){ (void *)(uintptr_t)payload, len };
			msg.msg_iovlen = len > 0 ? 2 : 1;
		} else {
			skip = done - sizeof(head);
			iov[0] = (struct iovec){ (uint8_t *)(uintptr_t)payload + skip, len - skip };
			msg.msg_iovlen = 1;
		}
		/* MSG_NOSIGNAL: a vanished peer is an error here, not a SIGPIPE. */
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sd_error_set(SD_E_IO, "privsep channel: %s", n < 0 ? strerror(errno) : "closed");
		done += (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes. Returns 0, SD_E_NOT_FOUND (EOF before the first byte) or SD_E_IO. */
static int
ps_read_full(int fd, uint8_t *p, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && done == 0)
			return SD_E_NOT_FOUND;
		if (n <= 0)
			return sd_error_set(SD_E_IO, "privsep channel: %s", n < 0 ? strerror(errno) : "closed inside a frame");
		done += (size_t)n;
	}
	return 0;
}

int
ps_frame_recv_header(int fd, uint32_t *type, uint32_t *len)
{
	uint8_t head[PS_FRAME_HEADER];
	int rc;

	*type = 0;
	*len = 0;
	if ((rc = ps_read_full(fd, head, sizeof(head))) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(rc, "privsep channel closed") : rc;
	*type = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
	*len = (uint32_t)head[4] << 24 | (uint32_t)head[5] << 16 | (uint32_t)head[6] << 8 | head[7];
	return 0;
}

int
ps_frame_recv_payload(int fd, uint32_t len, uint8_t **payload)
{
	uint8_t *buf;
	int rc;

	*payload = NULL;
	if (len == 0)
		return 0;
	if ((buf = malloc(len)) == NULL)
		return SD_E_NOMEM;
	if ((rc = ps_read_full(fd, buf, len)) != 0) {
		free(buf);
		return rc == SD_E_NOT_FOUND ? sd_error_set(SD_E_IO, "privsep channel closed inside a frame") : rc;
	}
	*payload = buf;
	return 0;
}

int
ps_frame_recv(int fd, size_t max, uint32_t *type, uint8_t **payload, size_t *len)
{
	uint32_t n;
	int rc;

	*payload = NULL;
	*len = 0;
	if ((rc = ps_frame_recv_header(fd, type, &n)) != 0)
		return rc;
	if (n > max || n > PS_FRAME_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "privsep frame type %u of %u bytes (limit %zu)", *type, n, max);
	if ((rc = ps_frame_recv_payload(fd, n, payload)) != 0)
		return rc;
	*len = n;
	return 0;
}
