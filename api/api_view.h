/*
 * What a request reads of the configuration: the parsed file and the
 * client trust list (client CA and CRL) built from it. A request takes a
 * reference to the view current when it starts and keeps it to its end,
 * so that a reload (a new view) never changes a request half-way and the
 * old view is freed when its last request ends.
 */
#ifndef API_VIEW_H
#define API_VIEW_H

#include <stdatomic.h>

#include "api_auth.h"
#include "config.h"
#include "sd_error.h"

#define API_VIEW_FILE_MAX (1024 * 1024)	/* bytes of the client CA or CRL file */

struct api_view {
	const struct sd_config *cfg;
	struct sd_config *owned;	/* cfg, when the view frees it (a reload's); NULL: borrowed */
	struct api_auth *auth;
	atomic_uint refs;
};

/*
 * A view of cfg with one reference: reads [api] client_ca and client_crl and
 * builds the trust list. owned (cfg itself, or NULL) is freed with the view,
 * and only on success. Errors: as api_auth_new(); SD_E_CONFIG naming a
 * file that cannot be read; SD_E_NOMEM.
 */
SD_WUR int api_view_new(const struct sd_config *cfg, struct sd_config *owned, struct api_view **out);

/* One more reference (v not NULL), or one less: the last frees the view. */
struct api_view *api_view_ref(struct api_view *v);
void api_view_put(struct api_view *v);

#endif
