/*
 * The privilege-separation wire format: frames on a stream socketpair and
 * the bounded codec their payloads are written and read with.
 *
 * A frame is an 8-byte header, type then payload length (both big-endian
 * uint32), followed by the payload. Payload fields are big-endian integers
 * and length-prefixed byte strings; a string carries its NUL and may hold
 * no other, so a decoder can lend it out in place.
 */
#ifndef PRIVSEP_WIRE_H
#define PRIVSEP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sd_error.h"

#define PS_FRAME_HEADER 8
#define PS_FRAME_MAX (16u * 1024 * 1024)	/* no payload is larger, either way */

/* A growing payload being written. Any failure sticks: check ps_out_failed() once at the end. */
struct ps_out {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

void ps_out_init(struct ps_out *o);
void ps_out_free(struct ps_out *o);
void ps_out_u8(struct ps_out *o, uint8_t v);
void ps_out_u32(struct ps_out *o, uint32_t v);
void ps_out_u64(struct ps_out *o, uint64_t v);
void ps_out_i32(struct ps_out *o, int32_t v);
void ps_out_bytes(struct ps_out *o, const void *p, size_t len);	/* u32 length, then the bytes */
void ps_out_str(struct ps_out *o, const char *s);		/* NULL is written as "" */
bool ps_out_failed(const struct ps_out *o);			/* out of memory or over PS_FRAME_MAX */

/* A payload being read, borrowed. Any failure sticks: check ps_in_ok() before using what was read. */
struct ps_in {
	const uint8_t *p;
	size_t left;
	bool failed;
};

void ps_in_init(struct ps_in *in, const uint8_t *p, size_t len);
uint8_t ps_in_u8(struct ps_in *in);
uint32_t ps_in_u32(struct ps_in *in);
uint64_t ps_in_u64(struct ps_in *in);
int32_t ps_in_i32(struct ps_in *in);
/* At most max bytes; *len is set, the bytes are borrowed from the payload. */
const uint8_t *ps_in_bytes(struct ps_in *in, size_t max, size_t *len);
/* A string of at most max bytes before its NUL, borrowed; "" on failure. */
const char *ps_in_str(struct ps_in *in, size_t max);
/* A fixed-size field of exactly len bytes, copied. */
void ps_in_fixed(struct ps_in *in, void *out, size_t len);
/* True when nothing failed and every byte was read. */
bool ps_in_done(const struct ps_in *in);

/*
 * Send one frame, retrying short writes and EINTR.
 * Errors: SD_E_INVAL (payload over PS_FRAME_MAX), SD_E_IO (peer gone).
 */
SD_WUR int ps_frame_send(int fd, uint32_t type, const void *payload, size_t len);

/*
 * Read a frame's header. Errors: SD_E_NOT_FOUND (the peer closed before a
 * header began), SD_E_IO (read failed or the peer closed inside it).
 */
SD_WUR int ps_frame_recv_header(int fd, uint32_t *type, uint32_t *len);

/* Read a payload of len bytes into a new buffer (*payload, free(); NULL when len is 0). Errors: SD_E_IO, SD_E_NOMEM. */
SD_WUR int ps_frame_recv_payload(int fd, uint32_t len, uint8_t **payload);

/*
 * Read one frame: the header, then a payload of at most max bytes into a new
 * buffer (*payload, free() it; NULL when empty). A header announcing more
 * than max reads nothing further.
 * Errors: SD_E_NOT_FOUND (the peer closed before a header began), SD_E_IO
 * (read failed or the peer closed inside a frame), SD_E_TOO_LARGE (over
 * max; *type is set), SD_E_NOMEM.
 */
SD_WUR int ps_frame_recv(int fd, size_t max, uint32_t *type, uint8_t **payload, size_t *len);

#endif
