/*
 * signerctl certs (ctl_certs.h): listing, showing and rebuilding the
 * certificate index from the journal named in the configuration (or
 * --journal DIR). Reads open the journal read-only; reindex opens it as a
 * writer, which LMDB serialises with a running signerd, and rebuilds the
 * index in one transaction.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "config.h"
#include "ctl_certs.h"
#include "journal.h"
#include "sd_file.h"
#include "sd_time.h"

struct cc_opts {
	const char *journal;
	struct journal_cert_query q;
	uint64_t limit;			/* 0: all */
	uint64_t within;		/* expiring: seconds */
	bool has_within;
	int nargs;
	char **args;
};

static int
cc_usage(void)
{
	fprintf(stderr,
	    "usage: signerctl [-c CONFIG] certs list [--profile P] [--client SUBJECT] [--san VALUE]\n"
	    "                 [--valid-at RFC3339] [--expires-before RFC3339] [--limit N] [--journal DIR]\n"
	    "       signerctl [-c CONFIG] certs show SERIAL [--journal DIR]\n"
	    "       signerctl [-c CONFIG] certs expiring --within DURATION (90s, 15m, 12h, 30d) [--journal DIR]\n"
	    "       signerctl [-c CONFIG] certs reindex [--journal DIR]\n");
	return 2;
}

static int
cc_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: %s: %s\n", what, sd_error_detail(rc));
	return 1;
}

/* Options; a bad value is a usage error naming it. */
static int
cc_parse(int argc, char **argv, struct cc_opts *o)
{
	static const struct option options[] = {
		{ "journal", required_argument, NULL, 'j' },
		{ "profile", required_argument, NULL, 'p' },
		{ "client", required_argument, NULL, 'c' },
		{ "san", required_argument, NULL, 's' },
		{ "valid-at", required_argument, NULL, 'v' },
		{ "expires-before", required_argument, NULL, 'e' },
		{ "limit", required_argument, NULL, 'l' },
		{ "within", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt, rc;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'j': o->journal = optarg; break;
		case 'p': o->q.profile = optarg; break;
		case 'c': o->q.client = optarg; break;
		case 's': o->q.san = optarg; break;
		case 'v':
		case 'e':
			rc = sd_time_parse(optarg, opt == 'v' ? &o->q.valid_at : &o->q.expires_before);
			if (rc != 0) {
				fprintf(stderr, "signerctl: --%s: %s\n", opt == 'v' ? "valid-at" : "expires-before",
				    sd_error_detail(rc));
				return -1;
			}
			if (opt == 'v')
				o->q.has_valid_at = true;
			else
				o->q.has_expires_before = true;
			break;
		case 'l':
			o->limit = strtoull(optarg, &end, 10);
			if (*end != '\0' || optarg[0] < '1' || optarg[0] > '9') {
				fprintf(stderr, "signerctl: --limit: \"%s\" is not a positive number\n", optarg);
				return -1;
			}
			break;
		case 'w':
			if (sd_config_parse_duration(optarg, &o->within) != 0 || o->within > (uint64_t)INT32_MAX * 100) {
				fprintf(stderr, "signerctl: --within: \"%s\" is not a duration (90s, 15m, 12h, 30d)\n",
				    optarg);
				return -1;
			}
			o->has_within = true;
			break;
		default: return -1;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

int
ctl_certs_journal(const char *config_path, const char *journal_dir, bool writer, struct journal **j)
{
	/* With --journal and no configuration: the map as the file has it, grown (reindex) up to 16 GiB. */
	struct journal_options jo = { (uint64_t)1 << 20, (uint64_t)16 << 30, false, 0 };
	struct sd_config *cfg = NULL;
	const char *path = journal_dir;
	int rc;

	*j = NULL;
	if (path == NULL) {
		if ((rc = sd_config_load(config_path, &cfg)) != 0 || (rc = sd_config_apply_environment(cfg)) != 0) {
			sd_config_free(cfg);
			return cc_fail(rc, "configuration");
		}
		path = cfg->journal_path;
		jo.map_size = cfg->journal_map_size;
		jo.map_max = cfg->journal_map_max;
	}
	/* A writer's open of a journal that has no index builds it already; reindex then rebuilds it. */
	rc = writer ? journal_open_opts(path, &jo, j) : journal_open_readonly(path, j);
	sd_config_free(cfg);
	return rc != 0 ? cc_fail(rc, "journal") : 0;
}

static void
cc_time(int64_t t, char out[SD_TIME_RFC3339_LEN])
{
	if (sd_time_format(t, out) != 0)
		(void)snprintf(out, SD_TIME_RFC3339_LEN, "%s", "-");
}

static const char *
cc_san_type(uint8_t type)
{
	switch (type) {
	case JOURNAL_SAN_DNS: return "dns";
	case JOURNAL_SAN_IP: return "ip";
	case JOURNAL_SAN_URI: return "uri";
	case JOURNAL_SAN_EMAIL: return "email";
	default: return "other";
	}
}

/* One line: serial, status, not_after, profile, client, SANs (tab-separated). */
static void
cc_line(const struct journal_cert *c, int64_t now)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1], na[SD_TIME_RFC3339_LEN];
	size_t i;

	sd_hex_encode(c->serial, c->serial_len, hex);
	if (c->parsed)
		cc_time(c->not_after, na);
	else
		(void)snprintf(na, sizeof(na), "-");
	printf("%s\t%s\t%s\t%s\t%s\t", hex, journal_cert_status(c, now), na, c->profile, c->client_subject);
	for (i = 0; i < c->n_sans; i++)
		printf("%s%s", i > 0 ? "," : "", c->sans[i].value);
	printf("\n");
}

/* Every page of q (each scans a bounded part of the index) until the end or o->limit certificates. */
static int
cc_list(struct journal *j, struct cc_opts *o)
{
	struct journal_cert_page *p = NULL;
	char cursor[JOURNAL_CURSOR_MAX + 1] = "";
	int64_t now = (int64_t)time(NULL);
	uint64_t shown = 0, through, last;
	size_t i;
	int rc;

	/* The index trails the journal: say so when the newest records are not in it yet. */
	if (journal_certs_indexed(j, &through, &last) == 0 && through < last)
		fprintf(stderr, "signerctl: the certificate index covers records up to %" PRIu64 " of %" PRIu64
		    "; signerd indexes the rest while it runs (or: signerctl certs reindex)\n", through, last);
	o->q.limit = JOURNAL_CERTS_LIMIT_MAX;
	for (;;) {
		o->q.cursor = cursor[0] != '\0' ? cursor : NULL;
		rc = journal_certs_list(j, &o->q, &p);
		o->q.cursor = NULL;	/* it pointed at this frame's buffer */
		if (rc != 0)
			return cc_fail(rc, "certs list");
		for (i = 0; i < p->n && (o->limit == 0 || shown < o->limit); i++, shown++)
			cc_line(p->items[i], now);
		if (p->next_cursor == NULL || (o->limit != 0 && shown >= o->limit) ||
		    strlen(p->next_cursor) > JOURNAL_CURSOR_MAX) {
			journal_cert_page_free(p);
			return 0;
		}
		(void)snprintf(cursor, sizeof(cursor), "%s", p->next_cursor);
		journal_cert_page_free(p);
		p = NULL;
	}
}

/* The certificate as PEM, 64 characters a line. */
static int
cc_pem(const uint8_t *der, size_t len)
{
	unsigned char *b64;
	size_t n, i;

	if (len > JOURNAL_CERT_MAX || (b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return SD_E_NOMEM;
	n = (size_t)EVP_EncodeBlock(b64, der, (int)len);
	printf("-----BEGIN CERTIFICATE-----\n");
	for (i = 0; i < n; i += 64)
		printf("%.*s\n", (int)(n - i < 64 ? n - i : 64), b64 + i);
	printf("-----END CERTIFICATE-----\n");
	free(b64);
	return 0;
}

static int
cc_show(struct journal *j, const char *serial_hex)
{
	char hex[2 * JOURNAL_SERIAL_MAX + 1], spki[2 * JOURNAL_HASH_LEN + 1], t[SD_TIME_RFC3339_LEN];
	uint8_t serial[JOURNAL_SERIAL_MAX];
	struct journal_cert *c = NULL;
	size_t len, i;
	int rc;

	if ((rc = sd_hex_decode(serial_hex, serial, sizeof(serial), &len)) != 0)
		return cc_fail(rc, "certs show: serial");
	if ((rc = journal_cert_get(j, serial, len, &c)) != 0)
		return cc_fail(rc, "certs show");
	sd_hex_encode(c->serial, c->serial_len, hex);
	sd_hex_encode(c->client_spki_sha256, JOURNAL_HASH_LEN, spki);
	printf("serial: %s\nstatus: %s\nprofile: %s\nclient: %s\nclient_spki_sha256: %s\n", hex,
	    journal_cert_status(c, (int64_t)time(NULL)), c->profile, c->client_subject, spki);
	cc_time(c->issued_ms / 1000, t);
	printf("issued: %s\n", t);
	if (c->parsed) {
		cc_time(c->not_before, t);
		printf("not_before: %s\n", t);
		cc_time(c->not_after, t);
		printf("not_after: %s\n", t);
	}
	for (i = 0; i < c->n_sans; i++)
		printf("san: %s:%s\n", cc_san_type(c->sans[i].type), c->sans[i].value);
	printf("journal_seq: %" PRIu64 "\nintent_seq: %" PRIu64 "\n", c->seq, c->intent_seq);
	rc = cc_pem(c->cert_der, c->cert_der_len);
	journal_cert_free(c);
	return rc != 0 ? cc_fail(rc, "certs show") : 0;
}

int
ctl_certs_main(const char *config_path, int argc, char **argv)
{
	struct journal *j = NULL;
	struct cc_opts o;
	const char *action;
	uint64_t n = 0;
	int64_t now;
	int rc;

	if (argc < 1)
		return cc_usage();
	action = argv[0];
	if (cc_parse(argc, argv, &o) != 0)
		return cc_usage();
	if (strcmp(action, "list") == 0 && o.nargs == 0 && !o.has_within) {
		if ((rc = ctl_certs_journal(config_path, o.journal, false, &j)) != 0)
			return rc;
		rc = cc_list(j, &o);
	} else if (strcmp(action, "expiring") == 0 && o.nargs == 0 && o.has_within && o.q.profile == NULL &&
	    o.q.client == NULL && o.q.san == NULL && !o.q.has_valid_at && !o.q.has_expires_before) {
		/* Still valid now, and not after now + within. */
		now = (int64_t)time(NULL);
		o.q.has_valid_at = true;
		o.q.valid_at = now;
		o.q.has_expires_before = true;
		o.q.expires_before = now + (int64_t)o.within + 1;
		if ((rc = ctl_certs_journal(config_path, o.journal, false, &j)) != 0)
			return rc;
		rc = cc_list(j, &o);
	} else if (strcmp(action, "show") == 0 && o.nargs == 1) {
		if ((rc = ctl_certs_journal(config_path, o.journal, false, &j)) != 0)
			return rc;
		rc = cc_show(j, o.args[0]);
	} else if (strcmp(action, "reindex") == 0 && o.nargs == 0) {
		if ((rc = ctl_certs_journal(config_path, o.journal, true, &j)) != 0)
			return rc;
		if ((rc = journal_certs_reindex(j, &n)) != 0)
			rc = cc_fail(rc, "certs reindex");
		else
			printf("certificate index rebuilt: %" PRIu64 " certificates\n", n);
	} else {
		return cc_usage();
	}
	journal_close(j);
	return rc;
}
