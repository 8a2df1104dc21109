/*
 * signerctl audit report: the page (ctl_report.h). One file that fetches
 * nothing: inline CSS, charts as inline SVG drawn here (rect and text), no
 * script, and a Content-Security-Policy that forbids any load. Every text
 * from the journal is untrusted (client subjects, CSR-derived names in
 * refusal details) and goes through ctl_report_html_escape().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_report.h"
#include "journal.h"
#include "sd_time.h"

#define RH_CHART_W 960
#define RH_CHART_H 200
#define RH_LEFT 48		/* room for the y-axis labels */
#define RH_BOTTOM 22		/* room for the day labels */
#define RH_ROW_H 22		/* a horizontal bar chart's row */
#define RH_LABEL_W 280		/* its labels' column */

/* Series colours, then grey for "others". */
static const char *const rh_colours[CTL_REPORT_TOP] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};
#define RH_OTHERS_COLOUR "#9a9a9a"

/* Writes remember the first failure, so that the page reads top to bottom and is checked once. */
struct rh {
	FILE *f;
	int err;
};

static void rh_printf(struct rh *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
rh_printf(struct rh *h, const char *fmt, ...)
{
	va_list ap;

	if (h->err != 0)
		return;
	va_start(ap, fmt);
	if (vfprintf(h->f, fmt, ap) < 0)
		h->err = sd_error_set(SD_E_IO, "cannot write the page");
	va_end(ap);
}

static void
rh_text(struct rh *h, const char *s)
{
	if (h->err == 0)
		h->err = ctl_report_html_escape(h->f, s);
}

/* Length of the well-formed UTF-8 character at s (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t
rh_utf8_len(const unsigned char *s)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[0] == 0xe0 && s[1] < 0xa0) ||
		    (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
		    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int
ctl_report_html_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	const char *ent;
	size_t n;
	int rc;

	/* A continuation byte is never NUL, so rh_utf8_len() stops at the string's end. */
	for (; *p != '\0'; p += n) {
		n = 1;
		ent = NULL;
		switch (*p) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				ent = "\xef\xbf\xbd";
			else if (*p >= 0x80 && (n = rh_utf8_len(p)) == 0) {
				n = 1;
				ent = "\xef\xbf\xbd";
			}
			break;
		}
		rc = ent != NULL ? fputs(ent, f) : (int)fwrite(p, 1, n, f) == (int)n ? 0 : EOF;
		if (rc == EOF)
			return sd_error_set(SD_E_IO, "cannot write the page");
	}
	return 0;
}

static void
rh_time(int64_t secs, char out[SD_TIME_RFC3339_LEN])
{
	if (sd_time_format(secs, out) != 0)
		(void)snprintf(out, SD_TIME_RFC3339_LEN, "(out of range)");
}

/* "3 d 4 h", "5 h 2 min", "40 s": an age for a person. */
static void
rh_age(int64_t secs, char *out, size_t cap)
{
	if (secs < 0)
		(void)snprintf(out, cap, "in the future (%" PRId64 " s ahead of the report's time)", -secs);
	else if (secs >= 86400)
		(void)snprintf(out, cap, "%" PRId64 " d %" PRId64 " h", secs / 86400, secs % 86400 / 3600);
	else if (secs >= 3600)
		(void)snprintf(out, cap, "%" PRId64 " h %" PRId64 " min", secs / 3600, secs % 3600 / 60);
	else
		(void)snprintf(out, cap, "%" PRId64 " s", secs);
}

static const char rh_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}"
    ".verdict{padding:12px 16px;border-radius:6px;font-weight:600}"
    ".ok{background:#e3f4e1;border:2px solid #2e7d32;color:#1b5e20}"
    ".bad{background:#fde2e1;border:2px solid #c62828;color:#b71c1c}"
    ".warn{background:#fff4d6;border:1px solid #b58900;padding:8px 12px}"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;"
    "vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}td.nw{white-space:nowrap}"
    "td.t{max-width:420px;overflow-wrap:anywhere}"
    ".sw{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}"
    "svg text{font:11px sans-serif;fill:#444}.meta{color:#666}";

static void
rh_head(struct rh *h, const struct ctl_report *r)
{
	char now[SD_TIME_RFC3339_LEN];

	rh_time(r->now, now);
	rh_printf(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	    "<title>signerd audit report %s</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<h1>signerd audit report</h1>\n<p class=\"meta\">Source: ", now, rh_style);
	rh_text(h, r->source);
	rh_printf(h, " &middot; as of <span id=\"now\">%s</span> &middot; daily charts: the %d days to that day (UTC)</p>\n",
	    now, CTL_REPORT_DAYS);
}

static void
rh_verdict(struct rh *h, const struct ctl_report *r)
{
	rh_printf(h, "<section id=\"verification\">\n<h2>Full verification</h2>\n<p id=\"verdict\" class=\"verdict %s\">",
	    r->verified ? "ok" : "bad");
	rh_text(h, r->verdict);
	rh_printf(h, "</p>\n");
	if (!r->verified && r->bad_seq != 0)
		rh_printf(h, "<p>First bad record: <b id=\"bad-seq\">%" PRIu64 "</b>. The figures below count what "
		    "could be read and are not to be trusted past it.</p>\n", r->bad_seq);
	else if (!r->verified)
		rh_printf(h, "<p>The figures below count what could be read and are not to be trusted.</p>\n");
	if (r->key_checked) {
		rh_printf(h, "<p>Checkpoint signatures checked with the audit key of SHA-256 fingerprint <code>");
		rh_text(h, r->key_fp);
		rh_printf(h, "</code>.</p>\n");
	} else {
		rh_printf(h, "<p class=\"warn\">No audit key (--pubkey, --pubkey-sha256 or [journal] audit_key): "
		    "checkpoint signatures were not checked.</p>\n");
	}
	if (r->open_intents > 0)
		rh_printf(h, "<p class=\"warn\">%" PRIu64 " intents without a result (first: record %" PRIu64 "): "
		    "the service stopped between journaling an intent and its certificate's result; signerd's next "
		    "start journals each as unresolved.</p>\n", r->open_intents, r->first_open_intent);
	if (r->unresolved > 0)
		rh_printf(h, "<p class=\"warn\">%" PRIu64 " intents with outcome unknown (first unresolved record: %"
		    PRIu64 "): the service stopped after signing may have begun; a certificate met elsewhere is "
		    "theirs if its TBS is the one the intent holds.</p>\n", r->unresolved, r->first_unresolved);
	rh_printf(h, "</section>\n");
}

static void
rh_figure(struct rh *h, const char *id, const char *label, uint64_t n)
{
	rh_printf(h, "<tr><th>%s</th><td class=\"n\" id=\"%s\">%" PRIu64 "</td></tr>\n", label, id, n);
}

static void
rh_summary(struct rh *h, const struct ctl_report *r)
{
	size_t t;

	rh_printf(h, "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n");
	rh_figure(h, "records", "Records", r->records);
	rh_figure(h, "issued", "Certificates issued", r->issued);
	rh_figure(h, "refused", "Refusals journaled one by one", r->refused);
	rh_figure(h, "refused-summarized", "Refusals counted in summaries", r->refused_summarized);
	rh_figure(h, "api-refused", "Refusals the API answered (the front's summaries)", r->api_refused);
	rh_figure(h, "revocations", "Revocations", r->revocations);
	rh_figure(h, "crls", "CRLs signed", r->crls);
	rh_figure(h, "acme", "ACME events", r->acme);
	rh_figure(h, "ceremonies", "Ceremony records", r->ceremonies.total);
	rh_figure(h, "services", "Service events", r->services.total);
	rh_figure(h, "checkpoints", "Checkpoints", r->checkpoints);
	rh_printf(h, "</table>\n<details><summary>Records by type</summary>\n<table>\n");
	for (t = 0; t < sizeof(r->by_type) / sizeof(r->by_type[0]); t++) {
		if (r->by_type[t] == 0)
			continue;
		rh_printf(h, "<tr><th>%s</th><td class=\"n\">%" PRIu64 "</td></tr>\n",
		    t == 0 ? "(does not decode)" : journal_record_type_name((uint8_t)t), r->by_type[t]);
	}
	rh_printf(h, "</table>\n</details>\n</section>\n");
}

/*
 * The series of a chart: the CTL_REPORT_TOP largest names by total (ties by
 * name), then "others" (the rest summed, and the names past
 * CTL_REPORT_KEYS_MAX) in *others. A selection: CTL_REPORT_TOP passes over
 * at most CTL_REPORT_KEYS_MAX names.
 */
static size_t
rh_series(const struct ctl_report_keys *k, const struct ctl_report_key **top, struct ctl_report_key *others)
{
	bool picked[CTL_REPORT_KEYS_MAX] = { false };
	const struct ctl_report_key *key;
	size_t i, d, n, best;

	for (n = 0; n < CTL_REPORT_TOP; n++) {
		best = k->n;
		for (i = 0; i < k->n; i++) {
			key = &k->keys[i];
			if (!picked[i] && (best == k->n || key->total > k->keys[best].total ||
			    (key->total == k->keys[best].total && strcmp(key->name, k->keys[best].name) < 0)))
				best = i;
		}
		if (best == k->n)
			break;
		picked[best] = true;
		top[n] = &k->keys[best];
	}
	*others = k->others;
	others->name = NULL;
	for (i = 0; i < k->n; i++) {
		if (picked[i])
			continue;
		others->total += k->keys[i].total;
		for (d = 0; d < CTL_REPORT_DAYS; d++)
			others->days[d] += k->keys[i].days[d];
	}
	return n;
}

/* A stacked bar per day, one colour per series, and a table of the totals beside. */
static void
rh_daily(struct rh *h, const char *id, const char *title, const struct ctl_report_keys *k, const struct ctl_report *r)
{
	const struct ctl_report_key *top[CTL_REPORT_TOP];
	struct ctl_report_key others;
	char day[SD_TIME_RFC3339_LEN];
	uint64_t max = 0, sum, v;
	size_t n, i, d;
	double bw, plot_h = RH_CHART_H - RH_BOTTOM - 8, y, bh;

	n = rh_series(k, top, &others);
	for (d = 0; d < CTL_REPORT_DAYS; d++) {
		sum = others.days[d];
		for (i = 0; i < n; i++)
			sum += top[i]->days[d];
		if (sum > max)
			max = sum;
	}
	rh_printf(h, "<h3>%s</h3>\n<svg id=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
	    title, id, RH_CHART_W, RH_CHART_H, RH_CHART_W, RH_CHART_H);
	rh_printf(h, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>\n", RH_LEFT, 8 + plot_h,
	    RH_CHART_W, 8 + plot_h);
	rh_printf(h, "<text x=\"%d\" y=\"16\" text-anchor=\"end\">%" PRIu64 "</text>\n<text x=\"%d\" y=\"%.1f\" "
	    "text-anchor=\"end\">0</text>\n", RH_LEFT - 4, max, RH_LEFT - 4, 8 + plot_h);
	bw = (double)(RH_CHART_W - RH_LEFT) / CTL_REPORT_DAYS;
	for (d = 0; d < CTL_REPORT_DAYS; d++) {
		y = 8 + plot_h;
		for (i = 0; i <= n; i++) {
			v = i < n ? top[i]->days[d] : others.days[d];
			if (v == 0 || max == 0)
				continue;
			bh = plot_h * (double)v / (double)max;
			y -= bh;
			rh_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
			    RH_LEFT + bw * (double)d + 1, y, bw - 2, bh, i < n ? rh_colours[i] : RH_OTHERS_COLOUR);
			rh_text(h, i < n ? top[i]->name : "others");
			rh_printf(h, ": %" PRIu64 "</title></rect>\n", v);
		}
		/* A label every fifth day and on the last, counted back from the report's day. */
		if ((CTL_REPORT_DAYS - 1 - d) % 5 == 0) {
			rh_time((r->first_day + (int64_t)d) * 86400, day);
			day[10] = '\0';
			rh_printf(h, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			    RH_LEFT + bw * ((double)d + 0.5), RH_CHART_H - 6, day + 5);
		}
	}
	if (max == 0)
		rh_printf(h, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">none in these days</text>\n",
		    (RH_CHART_W + RH_LEFT) / 2, RH_CHART_H / 2);
	rh_printf(h, "</svg>\n<table id=\"%s-table\">\n<tr><th>%s</th><th>total</th><th>in these days</th></tr>\n",
	    id, strcmp(id, "by-client") == 0 ? "client identity" : strcmp(id, "by-profile") == 0 ? "profile" : "name");
	for (i = 0; i <= n; i++) {
		const struct ctl_report_key *key = i < n ? top[i] : &others;

		if (i == n && key->total == 0)
			break;
		sum = 0;
		for (d = 0; d < CTL_REPORT_DAYS; d++)
			sum += key->days[d];
		rh_printf(h, "<tr><td class=\"t\"><span class=\"sw\" style=\"background:%s\"></span>",
		    i < n ? rh_colours[i] : RH_OTHERS_COLOUR);
		if (i < n)
			rh_text(h, key->name);
		else
			rh_printf(h, "<i>others</i>");
		rh_printf(h, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td></tr>\n", key->total,
		    sum);
	}
	rh_printf(h, "</table>\n");
}

/* Horizontal bars: one row per label. */
struct rh_bar {
	const char *label;
	uint64_t n;
	const char *colour;
};

static void
rh_bars(struct rh *h, const char *id, const struct rh_bar *bars, size_t n)
{
	uint64_t max = 0;
	size_t i;
	double w;

	for (i = 0; i < n; i++)
		if (bars[i].n > max)
			max = bars[i].n;
	rh_printf(h, "<svg id=\"%s\" width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\">\n",
	    id, RH_CHART_W, n * RH_ROW_H + 4, RH_CHART_W, n * RH_ROW_H + 4);
	for (i = 0; i < n; i++) {
		w = max == 0 ? 0 : (double)(RH_CHART_W - RH_LABEL_W - 80) * (double)bars[i].n / (double)max;
		rh_printf(h, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", RH_LABEL_W - 8, i * RH_ROW_H + 15);
		rh_text(h, bars[i].label);
		rh_printf(h, "</text>\n<rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n"
		    "<text x=\"%.1f\" y=\"%zu\">%" PRIu64 "</text>\n", RH_LABEL_W, i * RH_ROW_H + 3, w, RH_ROW_H - 6,
		    bars[i].colour, RH_LABEL_W + w + 6, i * RH_ROW_H + 15, bars[i].n);
	}
	rh_printf(h, "</svg>\n");
}

/* A refusal table and chart: id and the ids of its parts, its title, the keys. */
static void
rh_refusal_table(struct rh *h, const char *id, const char *title, const char *none, const struct ctl_report_keys *k,
    const struct ctl_report *r)
{
	const struct ctl_report_key *top[CTL_REPORT_TOP];
	struct ctl_report_key others;
	struct rh_bar bars[CTL_REPORT_TOP + 1];
	size_t n, i, m = 0;

	char part[64];

	rh_printf(h, "<section id=\"%s\">\n<h2>", id);
	rh_text(h, title);
	rh_printf(h, "</h2>\n");
	n = rh_series(k, top, &others);
	for (i = 0; i < n; i++)
		bars[m++] = (struct rh_bar){ top[i]->name, top[i]->total, rh_colours[i] };
	if (others.total > 0)
		bars[m++] = (struct rh_bar){ "others", others.total, RH_OTHERS_COLOUR };
	(void)snprintf(part, sizeof(part), "%s-chart", id);
	if (m == 0) {
		rh_printf(h, "<p>");
		rh_text(h, none);
		rh_printf(h, "</p>\n");
	} else {
		rh_bars(h, part, bars, m);
	}
	rh_printf(h, "<table id=\"%s-reasons\">\n<tr><th>reason</th><th>total</th></tr>\n", id);
	for (i = 0; i < m; i++) {
		rh_printf(h, "<tr><td class=\"t\">");
		rh_text(h, bars[i].label);
		rh_printf(h, "</td><td class=\"n\">%" PRIu64 "</td></tr>\n", bars[i].n);
	}
	rh_printf(h, "</table>\n");
	(void)snprintf(part, sizeof(part), "%s-by-reason", id);
	rh_daily(h, part, "per day by reason", k, r);
	rh_printf(h, "</section>\n");
}

static void
rh_refusals(struct rh *h, const struct ctl_report *r)
{
	rh_refusal_table(h, "refusals", "Refusals by reason (the issuance core's records and summaries)",
	    "No refusal is journaled.", r->reasons, r);
	rh_refusal_table(h, "api-refusals", "Refusals the API answered, by problem type (the front's summaries)",
	    "No summary of the API's refusals is journaled.", r->api_reasons, r);
}

static void
rh_certs(struct rh *h, const struct ctl_report *r)
{
	struct rh_bar bars[4] = {
		{ "valid now, not revoked", r->valid, "#2ca02c" },
		{ "of them expiring within 30 days", r->expiring30, "#ff7f0e" },
		{ "of them expiring within 7 days", r->expiring7, "#d62728" },
		{ "valid now but revoked", r->valid_revoked, "#9a9a9a" },
	};

	rh_printf(h, "<section id=\"certificates\">\n<h2>Certificates</h2>\n");
	if (r->certs_note[0] != '\0') {
		rh_printf(h, "<p class=\"warn\">");
		rh_text(h, r->certs_note);
		rh_printf(h, "</p>\n");
	}
	if (r->have_certs) {
		rh_bars(h, "cert-chart", bars, 4);
		rh_printf(h, "<table>\n");
		rh_figure(h, "valid", "Valid now, not revoked", r->valid);
		rh_figure(h, "expiring30", "Expiring within 30 days", r->expiring30);
		rh_figure(h, "expiring7", "Expiring within 7 days", r->expiring7);
		rh_figure(h, "valid-revoked", "Valid now but revoked", r->valid_revoked);
		rh_printf(h, "</table>\n");
	}
	rh_printf(h, "</section>\n");
}

static void
rh_coverage(struct rh *h, const struct ctl_report *r)
{
	char when[SD_TIME_RFC3339_LEN], age[96];
	uint64_t uncovered;

	rh_printf(h, "<section id=\"coverage\">\n<h2>Checkpoint coverage</h2>\n");
	/* A checkpoint covers the records before it: from its own record on, nothing is covered yet. */
	uncovered = r->records - (r->last_cp_tree_size < r->records ? r->last_cp_tree_size : r->records);
	rh_printf(h, "<table>\n");
	rh_figure(h, "uncovered", "Records not yet covered by a checkpoint", uncovered);
	if (r->last_cp_seq != 0) {
		rh_time(r->last_cp_time_ms / 1000, when);
		rh_age(r->now - r->last_cp_time_ms / 1000, age, sizeof(age));
		rh_printf(h, "<tr><th>Newest checkpoint</th><td id=\"newest-checkpoint\">record %" PRIu64 ", tree size %"
		    PRIu64 ", signed %s</td></tr>\n<tr><th>Its age</th><td id=\"checkpoint-age\">%s</td></tr>\n",
		    r->last_cp_seq, r->last_cp_tree_size, when, age);
	} else {
		rh_printf(h, "<tr><th>Newest checkpoint</th><td id=\"newest-checkpoint\">none: nothing is covered</td></tr>\n");
	}
	/* Names only: the page has no witness keys to check the cosignatures with. */
	if (r->cosigned[0] != '\0') {
		rh_printf(h, "<tr><th>Newest cosigned checkpoint</th><td id=\"cosigned\">the newest checkpoint, cosigned by ");
		rh_text(h, r->cosigned);
		rh_printf(h, " (stored beside the journal; checked by signerctl audit verify --witness-key)</td></tr>\n"
		    "</table>\n</section>\n");
	} else if (r->cosigned_newest.size > 0) {
		rh_time(r->cosigned_newest.time_ms / 1000, when);
		rh_age(r->now - r->cosigned_newest.time_ms / 1000, age, sizeof(age));
		rh_printf(h, "<tr><th>Newest cosigned checkpoint</th><td id=\"cosigned\">tree size %" PRIu64 ", signed %s "
		    "(%s), cosigned by ", r->cosigned_newest.size, when, age);
		rh_text(h, r->cosigned_newest.by);
		rh_printf(h, "; not the newest checkpoint: the records after it are not witnessed yet</td></tr>\n"
		    "</table>\n</section>\n");
	} else {
		rh_printf(h, "<tr><th>Newest cosigned checkpoint</th><td id=\"cosigned\">cosignatures: none (no witness "
		    "cosignature of the newest checkpoint is stored: [journal] witness, signerctl audit witness "
		    "submit)</td></tr>\n</table>\n</section>\n");
	}
}

/* The ring's events, newest first. */
static void
rh_events(struct rh *h, const char *id, const char *title, const char *cols, const struct ctl_report_events *e)
{
	const struct ctl_report_event *ev;
	char when[SD_TIME_RFC3339_LEN];
	uint64_t shown, i;

	rh_printf(h, "<h3>%s</h3>\n", title);
	if (e->total == 0) {
		rh_printf(h, "<p>None.</p>\n");
		return;
	}
	shown = e->total;
	if (shown > CTL_REPORT_EVENTS) {
		shown = CTL_REPORT_EVENTS;
		rh_printf(h, "<p>The newest %d of %" PRIu64 ".</p>\n", CTL_REPORT_EVENTS, e->total);
	}
	rh_printf(h, "<table id=\"%s\">\n<tr><th>record</th><th>time</th>%s</tr>\n", id, cols);
	for (i = 0; i < shown; i++) {
		ev = &e->ev[(e->total - 1 - i) % CTL_REPORT_EVENTS];
		rh_time(ev->time_ms / 1000, when);
		rh_printf(h, "<tr><td class=\"n\">%" PRIu64 "</td><td class=\"nw\">%s</td><td class=\"t\">", ev->seq, when);
		rh_text(h, ev->what);
		rh_printf(h, "</td><td class=\"t\">");
		rh_text(h, ev->who);
		rh_printf(h, "</td><td class=\"t\">");
		rh_text(h, ev->extra);
		rh_printf(h, "</td><td class=\"t\">");
		rh_text(h, ev->detail);
		rh_printf(h, "</td></tr>\n");
	}
	rh_printf(h, "</table>\n");
}

int
ctl_report_html_write(FILE *f, const struct ctl_report *r)
{
	struct rh h = { f, 0 };

	rh_head(&h, r);
	rh_verdict(&h, r);
	rh_summary(&h, r);
	rh_printf(&h, "<section id=\"issuance\">\n<h2>Issuances</h2>\n<p>%" PRIu64 " in all; %" PRIu64
	    " before these days, %" PRIu64 " after the report's time.</p>\n", r->issued, r->issued_before,
	    r->issued_after);
	rh_daily(&h, "by-profile", "Issuances per day by profile", r->profiles, r);
	rh_daily(&h, "by-client", "Issuances per day by client identity", r->clients, r);
	rh_printf(&h, "</section>\n");
	rh_refusals(&h, r);
	rh_certs(&h, r);
	rh_coverage(&h, r);
	rh_printf(&h, "<section id=\"events\">\n<h2>Ceremony and service events</h2>\n");
	rh_events(&h, "ceremony-events", "Key ceremonies",
	    "<th>operation</th><th>operator</th><th>key</th><th>detail</th>", &r->ceremonies);
	rh_events(&h, "service-events", "Service events",
	    "<th>event</th><th></th><th>configuration SHA-256</th><th>detail</th>", &r->services);
	rh_events(&h, "refusal-events", "Latest refusals",
	    "<th>reason</th><th>client</th><th>profile</th><th>detail</th>", &r->refusals);
	rh_printf(&h, "</section>\n</body>\n</html>\n");
	return h.err;
}
