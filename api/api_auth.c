#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "api_auth.h"

struct api_auth {
	gnutls_x509_trust_list_t trust;
};

int
api_auth_new(const uint8_t *pem, size_t len, const char *name, struct api_auth **out)
{
	struct api_auth *auth = NULL;
	gnutls_datum_t d;
	int rc, n;

	*out = NULL;
	if (len > UINT32_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "client CA %s: too large", name);
		goto out;
	}
	if ((auth = calloc(1, sizeof(*auth))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if (gnutls_x509_trust_list_init(&auth->trust, 0) < 0) {
		auth->trust = NULL;
		rc = SD_E_NOMEM;
		goto out;
	}
	d.data = (unsigned char *)pem;
	d.size = (unsigned)len;
	n = gnutls_x509_trust_list_add_trust_mem(auth->trust, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (n < 0) {
		rc = n == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_CONFIG, "client CA %s: %s", name, gnutls_strerror(n));
		goto out;
	}
	if (n == 0) {
		rc = sd_error_set(SD_E_CONFIG, "client CA %s: no PEM certificate found", name);
		goto out;
	}
	*out = auth;
	auth = NULL;
	rc = 0;
out:
	api_auth_free(auth);
	return rc;
}

void
api_auth_free(struct api_auth *auth)
{
	if (auth == NULL)
		return;
	if (auth->trust != NULL)
		gnutls_x509_trust_list_deinit(auth->trust, 1);
	free(auth);
}

/* Map a GnuTLS failure: memory is memory, anything else is a crypto fault. */
static int
api_auth_gnutls_error(int gerr, const char *what)
{
	if (gerr == GNUTLS_E_MEMORY_ERROR)
		return SD_E_NOMEM;
	return sd_error_set(SD_E_CRYPTO, "%s: %s", what, gnutls_strerror(gerr));
}

static int
api_auth_chain_verify(const struct api_auth *auth, gnutls_x509_crt_t *chain, unsigned n)
{
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (void *)GNUTLS_KP_TLS_WWW_CLIENT,
		.size = 0,
	};
	gnutls_datum_t why = { NULL, 0 };
	unsigned status = 0;
	int g, rc;

	/* Default flags check validity times; the purpose restricts to clientAuth. */
	g = gnutls_x509_trust_list_verify_crt2(auth->trust, chain, n, &purpose, 1, 0, &status, NULL);
	if (g < 0)
		return api_auth_gnutls_error(g, "client certificate verification");
	if (status == 0)
		return 0;
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) < 0) {
		rc = sd_error_set(SD_E_INVAL, "client certificate not trusted");
	} else {
		/* GnuTLS ends each sentence with a space. */
		while (why.size > 0 && (why.data[why.size - 1] == ' ' || why.data[why.size - 1] == '\0'))
			why.data[--why.size] = '\0';
		rc = sd_error_set(SD_E_INVAL, "client certificate not trusted: %s", (const char *)why.data);
		gnutls_free(why.data);
	}
	return rc;
}

static int
api_auth_identity(gnutls_x509_crt_t leaf, struct api_identity *id)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t dn = { NULL, 0 }, spki = { NULL, 0 };
	char extra[8];
	size_t size;
	int g, rc;

	if ((g = gnutls_x509_crt_get_dn3(leaf, &dn, 0)) < 0) {
		rc = sd_error_set(SD_E_INVAL, "client certificate subject unreadable: %s", gnutls_strerror(g));
		goto out;
	}
	if (dn.size >= sizeof(id->subject) || memchr(dn.data, '\0', dn.size) != NULL) {
		rc = sd_error_set(SD_E_INVAL, "client certificate subject is too long or malformed");
		goto out;
	}
	memcpy(id->subject, dn.data, dn.size);
	id->subject[dn.size] = '\0';

	size = sizeof(id->cn);
	g = gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 0, 0, id->cn, &size);
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		rc = sd_error_set(SD_E_INVAL, "client certificate subject has no CN");
		goto out;
	}
	if (g < 0 || size >= sizeof(id->cn) || strlen(id->cn) != size || size == 0) {
		rc = sd_error_set(SD_E_INVAL, "client certificate CN is empty, too long or malformed");
		goto out;
	}
	/* Authorisation is by CN: a subject with two of them names nobody in particular. */
	size = sizeof(extra);
	g = gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 1, 0, extra, &size);
	if (g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		rc = sd_error_set(SD_E_INVAL, "client certificate subject has more than one CN");
		goto out;
	}

	if ((g = gnutls_pubkey_init(&pub)) < 0) {
		pub = NULL;
		rc = api_auth_gnutls_error(g, "public key");
		goto out;
	}
	if ((g = gnutls_pubkey_import_x509(pub, leaf, 0)) < 0 ||
	    (g = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki)) < 0) {
		rc = api_auth_gnutls_error(g, "client public key");
		goto out;
	}
	if ((g = gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, id->spki_sha256)) < 0) {
		rc = api_auth_gnutls_error(g, "SHA-256");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(dn.data);
	gnutls_free(spki.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return rc;
}

/* The peer's certificates, 1..API_AUTH_CHAIN_MAX of them, or SD_E_INVAL. */
static int
api_auth_peers(gnutls_session_t session, const gnutls_datum_t **peers, unsigned *n)
{
	*peers = NULL;
	*n = 0;
	if (session == NULL || gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 ||
	    (*peers = gnutls_certificate_get_peers(session, n)) == NULL || *n == 0)
		return sd_error_set(SD_E_INVAL, "no client certificate presented");
	if (*n > API_AUTH_CHAIN_MAX)
		return sd_error_set(SD_E_INVAL, "client certificate chain longer than %d", API_AUTH_CHAIN_MAX);
	return 0;
}

/* Verify n (1..API_AUTH_CHAIN_MAX) DER certificates; *not_after: the earliest expiry among them. */
static int
api_auth_verify_peers(const struct api_auth *auth, const gnutls_datum_t *peers, unsigned n,
    struct api_identity *id, int64_t *not_after)
{
	gnutls_x509_crt_t chain[API_AUTH_CHAIN_MAX];
	unsigned i, have = 0;
	time_t t;
	int g, rc;

	memset(id, 0, sizeof(*id));
	*not_after = INT64_MIN;
	for (have = 0; have < n; have++) {
		if ((g = gnutls_x509_crt_init(&chain[have])) < 0) {
			rc = api_auth_gnutls_error(g, "certificate");
			goto out;
		}
		if ((g = gnutls_x509_crt_import(chain[have], &peers[have], GNUTLS_X509_FMT_DER)) < 0) {
			gnutls_x509_crt_deinit(chain[have]);
			rc = sd_error_set(SD_E_INVAL, "client certificate %u malformed: %s", have, gnutls_strerror(g));
			goto out;
		}
	}
	if ((rc = api_auth_chain_verify(auth, chain, n)) != 0)
		goto out;
	if ((rc = api_auth_identity(chain[0], id)) != 0)
		goto out;
	/* (time_t)-1 (unreadable) stays below any clock: such a chain is never reused. */
	*not_after = INT64_MAX;
	for (i = 0; i < n; i++) {
		t = gnutls_x509_crt_get_expiration_time(chain[i]);
		if ((int64_t)t < *not_after)
			*not_after = (int64_t)t;
	}
out:
	for (i = 0; i < have; i++)
		gnutls_x509_crt_deinit(chain[i]);
	if (rc != 0)
		memset(id, 0, sizeof(*id));
	return rc;
}

int
api_auth_verify(const struct api_auth *auth, gnutls_session_t session, struct api_identity *id)
{
	const gnutls_datum_t *peers;
	int64_t not_after;
	unsigned n;
	int rc;

	memset(id, 0, sizeof(*id));
	if ((rc = api_auth_peers(session, &peers, &n)) != 0)
		return rc;
	return api_auth_verify_peers(auth, peers, n, id, &not_after);
}

void
api_auth_cache_clear(struct api_auth_cache *cache)
{
	if (cache == NULL)
		return;
	free(cache->der);
	memset(cache, 0, sizeof(*cache));
}

bool
api_auth_cache_match(const struct api_auth_cache *cache, const gnutls_datum_t *peers, unsigned n,
    int64_t now_mono, int64_t now_wall)
{
	size_t at = 0;
	unsigned i;

	if (cache->n == 0 || cache->n != n || cache->der == NULL)
		return false;
	if (now_mono < cache->verified_at || now_mono - cache->verified_at >= API_AUTH_CACHE_SECONDS)
		return false;
	if (now_wall >= cache->not_after)
		return false;
	for (i = 0; i < n; i++) {
		if (peers[i].size != cache->lens[i] || cache->lens[i] > cache->der_len - at ||
		    memcmp(peers[i].data, cache->der + at, cache->lens[i]) != 0)
			return false;
		at += cache->lens[i];
	}
	return at == cache->der_len;
}

int
api_auth_cache_store(struct api_auth_cache *cache, const gnutls_datum_t *peers, unsigned n,
    const struct api_identity *id, int64_t not_after, int64_t now_mono)
{
	size_t total = 0, at = 0;
	unsigned i;
	uint8_t *der;

	api_auth_cache_clear(cache);
	if (n == 0 || n > API_AUTH_CHAIN_MAX)
		return sd_error_set(SD_E_INVAL, "%u certificates to cache; 1 to %d allowed", n, API_AUTH_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		if (peers[i].size == 0 || peers[i].size > SIZE_MAX - total)
			return sd_error_set(SD_E_INVAL, "certificate %u to cache is empty or too large", i);
		total += peers[i].size;
	}
	if ((der = malloc(total)) == NULL)
		return SD_E_NOMEM;
	for (i = 0; i < n; i++) {
		memcpy(der + at, peers[i].data, peers[i].size);
		cache->lens[i] = peers[i].size;
		at += peers[i].size;
	}
	cache->der = der;
	cache->der_len = total;
	cache->n = n;
	cache->verified_at = now_mono;
	cache->not_after = not_after;
	cache->id = *id;
	return 0;
}

/* Seconds of CLOCK_MONOTONIC, or -1. */
static int64_t
api_auth_mono_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec;
}

int
api_auth_verify_cached(const struct api_auth *auth, gnutls_session_t session, struct api_auth_cache *cache,
    struct api_identity *id)
{
	const gnutls_datum_t *peers;
	int64_t mono, not_after;
	unsigned n;
	int rc;

	if (cache == NULL)
		return api_auth_verify(auth, session, id);
	memset(id, 0, sizeof(*id));
	if ((rc = api_auth_peers(session, &peers, &n)) != 0) {
		api_auth_cache_clear(cache);
		return rc;
	}
	mono = api_auth_mono_seconds();
	if (mono >= 0 && api_auth_cache_match(cache, peers, n, mono, (int64_t)time(NULL))) {
		*id = cache->id;
		return 0;
	}
	api_auth_cache_clear(cache);
	if ((rc = api_auth_verify_peers(auth, peers, n, id, &not_after)) != 0)
		return rc;
	/* Not remembered (no clock, no memory): the next request verifies again. */
	if (mono >= 0 && api_auth_cache_store(cache, peers, n, id, not_after, mono) != 0)
		sd_error_clear();
	return 0;
}
