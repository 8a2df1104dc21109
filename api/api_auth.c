#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#include "api_auth.h"
#include "sd_log.h"

struct api_auth {
	gnutls_x509_trust_list_t trust;
	bool require_client_auth_eku;
	bool any_purpose;		/* holders: no clientAuth purpose required */
	uint64_t generation;		/* unique per trust list: a connection's cache is bound to one */
};

static atomic_uint_fast64_t api_auth_generations;

/* Import a CRL written as PEM or DER. */
static int
api_auth_crl_import(gnutls_x509_crl_t crl, const gnutls_datum_t *d, const char *name)
{
	int g;

	if (gnutls_x509_crl_import(crl, d, GNUTLS_X509_FMT_PEM) >= 0 ||
	    (g = gnutls_x509_crl_import(crl, d, GNUTLS_X509_FMT_DER)) >= 0)
		return 0;
	if (g == GNUTLS_E_MEMORY_ERROR)
		return SD_E_NOMEM;
	return sd_error_set(SD_E_CONFIG, "client CRL %s: neither a PEM nor a DER CRL: %s", name, gnutls_strerror(g));
}

/*
 * Check the CRL against the client CA bundle before trusting its list: a
 * CRL GnuTLS cannot verify would otherwise be ignored without a word. One
 * past its nextUpdate still names certificates that are revoked, so it is
 * used, with a warning: refusing to start would leave no CRL at all.
 */
static int
api_auth_crl_check(gnutls_x509_crl_t crl, const struct api_auth_material *m)
{
	gnutls_x509_crt_t *cas = NULL;
	gnutls_datum_t d = { (unsigned char *)m->ca_pem, (unsigned)m->ca_len };
	unsigned n = 0, i, status = 0;
	int g, rc;

	if ((g = gnutls_x509_crt_list_import2(&cas, &n, &d, GNUTLS_X509_FMT_PEM, 0)) < 0) {
		cas = NULL;
		n = 0;
		rc = g == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_CONFIG, "client CA %s: %s", m->ca_name, gnutls_strerror(g));
		goto out;
	}
	if ((g = gnutls_x509_crl_verify(crl, cas, n, 0, &status)) < 0) {
		rc = g == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_CONFIG, "client CRL %s: cannot verify: %s", m->crl_name, gnutls_strerror(g));
		goto out;
	}
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		rc = sd_error_set(SD_E_CONFIG, "client CRL %s: not issued by a certificate of the client CA %s",
		    m->crl_name, m->ca_name);
		goto out;
	}
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE) {
		rc = sd_error_set(SD_E_CONFIG, "client CRL %s: its signature does not verify with the client CA %s",
		    m->crl_name, m->ca_name);
		goto out;
	}
	if (status & GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE) {
		rc = sd_error_set(SD_E_CONFIG, "client CRL %s: thisUpdate is in the future", m->crl_name);
		goto out;
	}
	if (status & ~(unsigned)(GNUTLS_CERT_INVALID | GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)) {
		rc = sd_error_set(SD_E_CONFIG, "client CRL %s: does not verify with the client CA %s (status 0x%x)",
		    m->crl_name, m->ca_name, status);
		goto out;
	}
	if (status & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)
		sd_log(SD_LOG_WARN, "api: client CRL %s is past its nextUpdate; its revocations still apply: "
		    "install a fresh one", m->crl_name);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(cas[i]);
	gnutls_free(cas);
	return rc;
}

/* Verify m's CRL and hand it to the trust list, which owns it from then on. */
static int
api_auth_add_crl(struct api_auth *auth, const struct api_auth_material *m)
{
	gnutls_x509_crl_t crl = NULL;
	gnutls_datum_t d;
	int g, rc;

	if (m->crl_len == 0 || m->crl_len > UINT32_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "client CRL %s: empty or too large", m->crl_name);
		goto out;
	}
	if (gnutls_x509_crl_init(&crl) < 0) {
		crl = NULL;
		rc = SD_E_NOMEM;
		goto out;
	}
	d.data = (unsigned char *)m->crl;
	d.size = (unsigned)m->crl_len;
	if ((rc = api_auth_crl_import(crl, &d, m->crl_name)) != 0 || (rc = api_auth_crl_check(crl, m)) != 0)
		goto out;
	if ((g = gnutls_x509_trust_list_add_crls(auth->trust, &crl, 1, 0, 0)) != 1) {
		rc = g == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_CONFIG, "client CRL %s: not accepted: %s", m->crl_name,
		    g < 0 ? gnutls_strerror(g) : "no issuer in the client CA");
		goto out;
	}
	crl = NULL;
	rc = 0;
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	return rc;
}

int
api_auth_new(const struct api_auth_material *m, struct api_auth **out)
{
	struct api_auth *auth = NULL;
	gnutls_datum_t d;
	int rc, n;

	*out = NULL;
	if (m->ca_len > UINT32_MAX) {
		rc = sd_error_set(SD_E_CONFIG, "client CA %s: too large", m->ca_name);
		goto out;
	}
	if ((auth = calloc(1, sizeof(*auth))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	auth->require_client_auth_eku = m->require_client_auth_eku;
	auth->any_purpose = m->any_purpose;
	if (gnutls_x509_trust_list_init(&auth->trust, 0) < 0) {
		auth->trust = NULL;
		rc = SD_E_NOMEM;
		goto out;
	}
	d.data = (unsigned char *)m->ca_pem;
	d.size = (unsigned)m->ca_len;
	n = gnutls_x509_trust_list_add_trust_mem(auth->trust, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
	if (n < 0) {
		rc = n == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_CONFIG, "client CA %s: %s", m->ca_name, gnutls_strerror(n));
		goto out;
	}
	if (n == 0) {
		rc = sd_error_set(SD_E_CONFIG, "client CA %s: no PEM certificate found", m->ca_name);
		goto out;
	}
	if (m->crl != NULL && (rc = api_auth_add_crl(auth, m)) != 0)
		goto out;
	auth->generation = atomic_fetch_add(&api_auth_generations, 1) + 1;
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
	g = gnutls_x509_trust_list_verify_crt2(auth->trust, chain, n, auth->any_purpose ? NULL : &purpose,
	    auth->any_purpose ? 0 : 1, 0, &status, NULL);
	if (g < 0)
		return api_auth_gnutls_error(g, "client certificate verification");
	if (status == 0)
		return 0;
	if (status & GNUTLS_CERT_REVOKED)
		return sd_error_set(SD_E_INVAL, "client certificate is revoked ([api] client_crl lists its serial)");
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

/*
 * The leaf's URI and DNS subjectAltNames into id, as "URI:..." and "DNS:...".
 * A name longer than a [client] san can be is left out: it could never
 * equal one, so leaving it out only narrows what the certificate matches.
 */
static int
api_auth_sans(gnutls_x509_crt_t leaf, struct api_identity *id)
{
	gnutls_subject_alt_names_t names = NULL;
	gnutls_datum_t ext = { NULL, 0 }, v, oid;
	unsigned critical, type, i;
	const char *prefix;
	int g, rc;

	id->n_sans = 0;
	g = gnutls_x509_crt_get_extension_by_oid2(leaf, GNUTLS_X509EXT_OID_SAN, 0, &ext, &critical);
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (g < 0)
		return sd_error_set(SD_E_INVAL, "client certificate subjectAltName unreadable: %s", gnutls_strerror(g));
	if ((g = gnutls_subject_alt_names_init(&names)) < 0) {
		names = NULL;
		rc = api_auth_gnutls_error(g, "subjectAltName");
		goto out;
	}
	if ((g = gnutls_x509_ext_import_subject_alt_names(&ext, names, 0)) < 0) {
		rc = g == GNUTLS_E_MEMORY_ERROR ? SD_E_NOMEM :
		    sd_error_set(SD_E_INVAL, "client certificate subjectAltName malformed: %s", gnutls_strerror(g));
		goto out;
	}
	for (i = 0;; i++) {
		g = gnutls_subject_alt_names_get(names, i, &type, &v, &oid);
		if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (g < 0) {
			rc = sd_error_set(SD_E_INVAL, "client certificate subjectAltName %u unreadable: %s", i,
			    gnutls_strerror(g));
			goto out;
		}
		if (i >= API_AUTH_SAN_SCAN_MAX) {
			rc = sd_error_set(SD_E_INVAL, "client certificate has more than %d subjectAltNames",
			    API_AUTH_SAN_SCAN_MAX);
			goto out;
		}
		if (type == GNUTLS_SAN_URI)
			prefix = "URI:";
		else if (type == GNUTLS_SAN_DNSNAME)
			prefix = "DNS:";
		else
			continue;
		if (v.size > CONFIG_CLIENT_SAN_MAX - 4 || memchr(v.data, '\0', v.size) != NULL)
			continue;
		if (id->n_sans >= API_AUTH_SAN_MAX) {
			rc = sd_error_set(SD_E_INVAL, "client certificate has more than %d URI and DNS subjectAltNames",
			    API_AUTH_SAN_MAX);
			goto out;
		}
		memcpy(id->sans[id->n_sans], prefix, 4);
		memcpy(id->sans[id->n_sans] + 4, v.data, v.size);
		id->sans[id->n_sans][4 + v.size] = '\0';
		id->n_sans++;
	}
	rc = 0;
out:
	if (names != NULL)
		gnutls_subject_alt_names_deinit(names);
	gnutls_free(ext.data);
	if (rc != 0)
		id->n_sans = 0;
	return rc;
}

#define API_AUTH_EKU_MAX 32	/* key purposes looked at */

/*
 * [api] require_client_auth_eku: GnuTLS refuses a leaf whose extendedKeyUsage
 * lacks clientAuth, but accepts one without the extension (RFC 5280: any
 * use); this refuses that too.
 */
static int
api_auth_eku(gnutls_x509_crt_t leaf)
{
	char oid[128];
	size_t size;
	unsigned i;
	int g;

	for (i = 0; i < API_AUTH_EKU_MAX; i++) {
		size = sizeof(oid);
		g = gnutls_x509_crt_get_key_purpose_oid(leaf, i, oid, &size, NULL);
		if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (g < 0)
			return sd_error_set(SD_E_INVAL, "client certificate extendedKeyUsage unreadable: %s",
			    gnutls_strerror(g));
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			return 0;
	}
	if (i == 0)
		return sd_error_set(SD_E_INVAL, "client certificate has no extendedKeyUsage extension, and "
		    "[api] require_client_auth_eku is true");
	return sd_error_set(SD_E_INVAL, "client certificate extendedKeyUsage lacks clientAuth");
}

/* The leaf's serial in lower-case hex, without leading zero bytes (as the signer writes serials). */
static int
api_auth_serial(gnutls_x509_crt_t leaf, struct api_identity *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char serial[32];
	size_t size = sizeof(serial), i = 0, k;

	if (gnutls_x509_crt_get_serial(leaf, serial, &size) < 0 || size == 0 || size > sizeof(serial))
		return sd_error_set(SD_E_INVAL, "client certificate serial unreadable");
	while (i + 1 < size && serial[i] == 0)
		i++;
	if (size - i > (sizeof(id->serial_hex) - 1) / 2)
		return sd_error_set(SD_E_INVAL, "client certificate serial is longer than 20 bytes");
	for (k = 0; i < size; i++) {
		id->serial_hex[k++] = hex[serial[i] >> 4];
		id->serial_hex[k++] = hex[serial[i] & 15];
	}
	id->serial_hex[k] = '\0';
	return 0;
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
	/* No CN: only a client pinned by spki_sha256 or san, without subject_cn, can match it. */
	if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		id->cn[0] = '\0';
	} else if (g < 0 || size >= sizeof(id->cn) || strlen(id->cn) != size || size == 0) {
		rc = sd_error_set(SD_E_INVAL, "client certificate CN is empty, too long or malformed");
		goto out;
	}
	/* Authorisation may be by CN: a subject with two of them names nobody in particular. */
	size = sizeof(extra);
	g = gnutls_x509_crt_get_dn_by_oid(leaf, GNUTLS_OID_X520_COMMON_NAME, 1, 0, extra, &size);
	if (id->cn[0] != '\0' && g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
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
	if ((rc = api_auth_serial(leaf, id)) != 0)
		goto out;
	rc = api_auth_sans(leaf, id);
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
	if (auth->require_client_auth_eku && (rc = api_auth_eku(chain[0])) != 0)
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
	/* A reload's trust list (a new CRL) verifies every connection again. */
	if (mono >= 0 && cache->generation == auth->generation &&
	    api_auth_cache_match(cache, peers, n, mono, (int64_t)time(NULL))) {
		*id = cache->id;
		return 0;
	}
	api_auth_cache_clear(cache);
	if ((rc = api_auth_verify_peers(auth, peers, n, id, &not_after)) != 0)
		return rc;
	/* Not remembered (no clock, no memory): the next request verifies again. */
	if (mono >= 0 && api_auth_cache_store(cache, peers, n, id, not_after, mono) != 0)
		sd_error_clear();
	cache->generation = auth->generation;
	return 0;
}
