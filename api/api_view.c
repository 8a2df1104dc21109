/* Views of the configuration (api_view.h). */
#include <stdio.h>
#include <stdlib.h>

#include "api_view.h"
#include "sd_file.h"

/* SD_E_CONFIG naming what the file is for; sd_file's detail already names the path. */
static int
api_view_file_error(int rc, const char *what)
{
	char why[256];

	if (rc == SD_E_NOMEM)
		return rc;
	/* Copied first: the detail lives in the buffer sd_error_set() rewrites. */
	(void)snprintf(why, sizeof(why), "%s", sd_error_detail(rc));
	return sd_error_set(SD_E_CONFIG, "%s: %s", what, why);
}

int
api_view_new(const struct sd_config *cfg, struct sd_config *owned, struct api_view **out)
{
	struct api_auth_material m;
	struct api_view *v = NULL;
	uint8_t *ca = NULL, *crl = NULL;
	size_t ca_len = 0, crl_len = 0;
	int rc;

	*out = NULL;
	if ((rc = sd_file_read(cfg->api_client_ca, API_VIEW_FILE_MAX, &ca, &ca_len)) != 0) {
		rc = api_view_file_error(rc, "[api] client CA");
		goto out;
	}
	if (cfg->api_client_crl != NULL &&
	    (rc = sd_file_read(cfg->api_client_crl, API_VIEW_FILE_MAX, &crl, &crl_len)) != 0) {
		rc = api_view_file_error(rc, "[api] client CRL");
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	m = (struct api_auth_material){
		.ca_pem = ca,
		.ca_len = ca_len,
		.ca_name = cfg->api_client_ca,
		.crl = crl,
		.crl_len = crl_len,
		.crl_name = cfg->api_client_crl,
		.require_client_auth_eku = cfg->api_require_client_auth_eku,
	};
	if ((rc = api_auth_new(&m, &v->auth)) != 0)
		goto out;
	v->cfg = cfg;
	v->owned = owned;
	atomic_init(&v->refs, 1);
	*out = v;
	v = NULL;
out:
	free(v);
	free(ca);
	free(crl);
	return rc;
}

struct api_view *
api_view_ref(struct api_view *v)
{
	atomic_fetch_add(&v->refs, 1);
	return v;
}

void
api_view_put(struct api_view *v)
{
	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	api_auth_free(v->auth);
	sd_config_free(v->owned);
	free(v);
}
