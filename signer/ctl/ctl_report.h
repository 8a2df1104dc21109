/*
 * signerctl audit report --html OUT.html: one self-contained page for an
 * auditor, from a journal directory or an export. ctl_report.c gathers
 * (verification, then one streaming pass that aggregates into bounded
 * tables), ctl_report_html.c writes the page.
 */
#ifndef SIGNER_CTL_REPORT_H
#define SIGNER_CTL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sd_error.h"
#include "witness/witness.h"

/* Days charted, ending with the day of --now; older records count in the totals only. */
#define CTL_REPORT_DAYS 31
/* Distinct names counted one by one per dimension; later new names go to "others". */
#define CTL_REPORT_KEYS_MAX 256
/* Names drawn in a chart; the rest are summed as "others". */
#define CTL_REPORT_TOP 8
/* Newest events listed per table (ceremony, service, refusal). */
#define CTL_REPORT_EVENTS 25
/* Bytes of a journal text kept for a listed event (it is cut beyond, with "…"). */
#define CTL_REPORT_TEXT_MAX 240

/* One counted name: its total and its count on each charted day. */
struct ctl_report_key {
	char *name;
	uint64_t total;
	uint64_t days[CTL_REPORT_DAYS];
};

struct ctl_report_keys {
	struct ctl_report_key keys[CTL_REPORT_KEYS_MAX];
	size_t n;
	struct ctl_report_key others;	/* names past CTL_REPORT_KEYS_MAX */
};

/* One listed event: a ring of the newest CTL_REPORT_EVENTS. Texts are copies, cut. */
struct ctl_report_event {
	uint64_t seq;
	int64_t time_ms;
	char what[CTL_REPORT_TEXT_MAX + 4];	/* operation and phase, service event, refusal reason */
	char who[CTL_REPORT_TEXT_MAX + 4];	/* actor or client subject */
	char extra[CTL_REPORT_TEXT_MAX + 4];	/* key URI, profile, configuration hash */
	char detail[CTL_REPORT_TEXT_MAX + 4];
};

struct ctl_report_events {
	struct ctl_report_event ev[CTL_REPORT_EVENTS];
	uint64_t total;			/* all seen; the ring holds the last min(total, CTL_REPORT_EVENTS) */
};

struct ctl_report {
	/* The source and when the report was made. */
	char source[512];
	bool from_export;
	int64_t now;			/* Unix seconds (--now, else the clock) */
	int64_t first_day;		/* day number (Unix days) of days[0] */

	/* The full verification (as audit verify). */
	bool verified;			/* true: green */
	bool key_checked;		/* checkpoint signatures were checked */
	char key_fp[65];		/* the audit key's fingerprint, "" when none */
	uint64_t bad_seq;		/* first bad record, 0 when none or not a record's fault */
	char verdict[1024];		/* the one-line verdict audit verify prints */
	uint64_t open_intents, first_open_intent;
	uint64_t unresolved, first_unresolved;	/* intents closed with outcome unknown */

	/* Counts over the whole journal. */
	uint64_t records;
	uint64_t by_type[16];		/* index: record type (0: undecodable) */
	uint64_t issued;		/* results and legacy issuances */
	uint64_t issued_before, issued_after;	/* outside the charted days */
	struct ctl_report_keys *profiles, *clients, *reasons;
	uint64_t refused;		/* refusal records */
	uint64_t refused_summarized;	/* counted in the core's refusal summaries */
	/* The front's account of what the API answered (summaries whose detail starts "api "). */
	struct ctl_report_keys *api_reasons;
	uint64_t api_refused;
	uint64_t revocations, crls, acme;

	/* Checkpoint coverage. */
	uint64_t last_cp_seq, last_cp_tree_size;
	int64_t last_cp_time_ms;
	uint64_t checkpoints;
	/* Witnesses whose cosignature of the newest checkpoint is stored beside the journal, comma-separated. */
	char cosigned[512];
	/* The newest checkpoint any witness cosigned, when it is not the newest one. */
	struct witness_cosigned cosigned_newest;
	char journal_dir[4096];		/* "" for an export */

	/* Certificates from the index (a journal directory only). */
	bool have_certs;
	char certs_note[256];		/* why not, or how far the index reaches */
	uint64_t valid, valid_revoked, expiring7, expiring30;

	struct ctl_report_events ceremonies, services, refusals;
};

/* Unix day of a time in milliseconds (floor division: times before 1970 are fine). */
int64_t ctl_report_day(int64_t time_ms);

/*
 * The slot of name in k (NULL or "" is "-"), added when new: *slot is its
 * index, or CTL_REPORT_KEYS_MAX for "others" once k is full.
 * Errors: SD_E_NOMEM.
 */
SD_WUR int ctl_report_key_slot(struct ctl_report_keys *k, const char *name, size_t *slot);

/*
 * Count n at day (a Unix day) into slot of k, with first_day the day of
 * days[0]; a day outside the charted ones counts in the total only.
 */
void ctl_report_key_add(struct ctl_report_keys *k, size_t slot, int64_t day, int64_t first_day, uint64_t n);

/* ctl_report_key_slot() then ctl_report_key_add() of 1. Errors: SD_E_NOMEM. */
SD_WUR int ctl_report_count(struct ctl_report_keys *k, const char *name, int64_t day, int64_t first_day);
void ctl_report_keys_free(struct ctl_report_keys *k);

/*
 * A refusal summary's count into k by reason: its detail lists
 * "reason=N" separated by spaces (signer_journal.c); what the detail does
 * not account for (a cut detail, a malformed one) counts as
 * CTL_REPORT_SUMMARIZED. A token is taken only while the counts stay
 * within count. Errors: SD_E_NOMEM.
 */
#define CTL_REPORT_SUMMARIZED "(summarized, reason not given)"
SD_WUR int ctl_report_summary(struct ctl_report_keys *k, const char *detail, uint64_t count, int64_t day,
    int64_t first_day);

/*
 * Copy text into out (cap bytes, cap >= 4), cut at a UTF-8 character
 * boundary with "…" when it does not fit; NULL gives "".
 */
void ctl_report_text(char *out, size_t cap, const char *text);

/*
 * Write s HTML-escaped to f, safe in element text and in quoted attribute
 * values: & < > " ' become entities, control characters and bytes that are
 * not UTF-8 become U+FFFD. Returns 0 or SD_E_IO.
 */
SD_WUR int ctl_report_html_escape(FILE *f, const char *s);

/* Write the page for r to f. Errors: SD_E_IO. */
SD_WUR int ctl_report_html_write(FILE *f, const struct ctl_report *r);

/*
 * "signerctl audit report --html OUT ...": argv[0] is "report". Returns the
 * exit code: 0 the page was written (whatever the verification said), 1 an
 * I/O or journal error, 2 usage.
 */
int ctl_report_main(const char *config_path, int argc, char **argv);

#endif
