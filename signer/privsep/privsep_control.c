/* The front's side of the control channel: its configuration in, "serving" out, then reloads. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "privsep.h"
#include "privsep_msg.h"

int
privsep_config_receive(int fd, struct sd_config **cfg, int *port, unsigned *channels)
{
	struct ps_config c;
	struct stat st;
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int rc;

	*cfg = NULL;
	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return sd_error_set(SD_E_IO, "signerd-front is started by signerd, not by hand (fd %d is no socket)", fd);
	if ((rc = ps_frame_recv(fd, PS_CONFIG_MAX + PS_PATH_MAX + 64, &type, &payload, &len)) != 0)
		return sd_error_set(SD_E_IO, "no configuration from signerd: %s", sd_error_detail(rc));
	if (type != PS_CONFIG)
		rc = sd_error_set(SD_E_IO, "signerd sent message type %u instead of the configuration", type);
	else if ((rc = ps_config_decode(payload, len, &c)) == 0 &&
	    (rc = sd_config_parse(c.path, c.text, c.text_len, cfg)) == 0) {
		*port = c.port;
		*channels = c.channels;
	}
	free(payload);
	return rc;
}

int
privsep_ready_send(int fd, uint16_t port)
{
	struct ps_out o;
	int rc;

	ps_out_init(&o);
	ps_out_u32(&o, port);
	rc = ps_out_failed(&o) ? SD_E_NOMEM : ps_frame_send(fd, PS_READY, o.data, o.len);
	ps_out_free(&o);
	return rc;
}

int
privsep_control_receive(int fd, struct sd_config **next)
{
	struct ps_config c;
	uint8_t *payload = NULL;
	uint32_t type;
	size_t len;
	int rc;

	*next = NULL;
	if ((rc = ps_frame_recv(fd, PS_CONFIG_MAX + PS_PATH_MAX + 64, &type, &payload, &len)) != 0)
		return rc == SD_E_NOT_FOUND ? rc : sd_error_set(SD_E_IO, "control channel: %s", sd_error_detail(rc));
	if (type != PS_RELOAD)
		rc = sd_error_set(SD_E_IO, "signerd sent message type %u on the control channel", type);
	else if (ps_config_decode(payload, len, &c) != 0)
		rc = sd_error_set(SD_E_IO, "signerd sent a malformed reload");
	else if ((rc = sd_config_parse(c.path, c.text, c.text_len, next)) == 0 && c.port >= 0)
		(*next)->api_port = (uint16_t)c.port;	/* --port, as at start */
	free(payload);
	return rc;
}

int
privsep_reload_answer(int fd, int rc)
{
	struct ps_out o;
	int sent;

	ps_out_init(&o);
	ps_status_encode(&o, rc, sd_error_detail(rc));
	sent = ps_out_failed(&o) ? SD_E_NOMEM : ps_frame_send(fd, PS_RELOAD | PS_REPLY, o.data, o.len);
	ps_out_free(&o);
	return sent;
}
