#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_audit.h"
#include "ctl_certs.h"
#include "ctl_revoke.h"
#include "journal.h"
#include "sd_crl_reason.h"
#include "sd_file.h"
#include "sd_time.h"

static int
cr_usage(void)
{
	fprintf(stderr, "usage: signerctl [-c CONFIG] revoke SERIAL [--reason NAME (unspecified, keyCompromise, "
	    "superseded, ...)]\n                 [--detail TEXT] [--journal DIR]\n");
	return 2;
}

/* "revoked SERIAL at TIME (reason)", or "... was revoked before ..." for a repeat. */
static void
cr_print(const char *hex, const struct journal_record *rec, bool before)
{
	char at[SD_TIME_RFC3339_LEN];

	if (sd_time_format(rec->time_ms / 1000, at) != 0)
		(void)snprintf(at, sizeof(at), "-");
	printf("%s %s at %s (%s), journal record %llu\n", hex, before ? "was revoked before" : "revoked", at,
	    sd_crl_reason_name(rec->revocation_reason) != NULL ? sd_crl_reason_name(rec->revocation_reason) : "?",
	    (unsigned long long)rec->seq);
}

int
ctl_revoke_main(const char *config_path, int argc, char **argv)
{
	static const struct option options[] = {
		{ "journal", required_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "detail", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *journal_dir = NULL, *detail = NULL, *reason_name = "unspecified";
	struct journal_record *existing = NULL, rec;
	struct journal_revocation in;
	struct journal *j = NULL;
	uint8_t serial[JOURNAL_SERIAL_MAX], reason;
	char hex[2 * JOURNAL_SERIAL_MAX + 1], actor[256];
	struct timespec now;
	size_t len;
	uint64_t seq = 0;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'j': journal_dir = optarg; break;
		case 'r': reason_name = optarg; break;
		case 'd': detail = optarg; break;
		default: return cr_usage();
		}
	}
	if (argc - optind != 1)
		return cr_usage();
	if (sd_hex_decode(argv[optind], serial, sizeof(serial), &len) != 0) {
		fprintf(stderr, "signerctl: revoke: \"%.48s\" is not 1..%d bytes of hex\n", argv[optind],
		    JOURNAL_SERIAL_MAX);
		return 2;
	}
	if (sd_crl_reason_parse(reason_name, &reason) != 0 || sd_crl_reason_final(reason) != 0) {
		fprintf(stderr, "signerctl: revoke: --reason: %s\n", sd_error_detail(SD_E_INVAL));
		return 2;
	}
	if (detail != NULL && strlen(detail) > 512) {
		fprintf(stderr, "signerctl: revoke: --detail is longer than 512 bytes\n");
		return 2;
	}
	if ((rc = ctl_certs_journal(config_path, journal_dir, true, &j)) != 0)
		return rc;
	sd_hex_encode(serial, len, hex);
	ctl_actor(actor, sizeof(actor));
	memset(&in, 0, sizeof(in));
	if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
		rc = 1;
		goto out;
	}
	in.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	in.serial = serial;
	in.serial_len = len;
	in.reason = reason;
	in.client_subject = actor;
	in.detail = detail;
	if ((rc = journal_revoke(j, &in, &seq, &existing)) != 0 && existing != NULL) {
		cr_print(hex, existing, true);
		rc = 0;
	} else if (rc != 0) {
		fprintf(stderr, "signerctl: revoke: %s\n", sd_error_detail(rc));
		rc = 1;
	} else {
		memset(&rec, 0, sizeof(rec));
		rec.time_ms = in.time_ms;
		rec.revocation_reason = reason;
		rec.seq = seq;
		cr_print(hex, &rec, false);
	}
out:
	journal_record_free(existing);
	journal_close(j);
	return rc;
}
