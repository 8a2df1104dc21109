/*
 * ACME dns-01 validation (RFC 8555 8.4): the TXT records of
 * "_acme-challenge." NAME, asked of the one configured [acme] resolver.
 *
 * Everything the answer holds is bounded here: one UDP query and at most
 * one TCP query share the validation's deadline, at most
 * AV_DNS_CNAMES_MAX CNAMEs are followed inside the answer, and at most
 * AV_DNS_TXT_SHOW bytes of a TXT record are looked at.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
/*
 * dns-01 through ldns rather than glibc's libresolv: ldns takes the one
 * server as an address of either family and a port through its API, reads
 * no resolv.conf, and bounds each query by a timeout of ours, where
 * res_nquery() would need its IPv6 server written into the private
 * _u._ext fields of struct __res_state. Not <ldns/ldns.h>: its DNSSEC
 * headers bring OpenSSL's deprecated RSA and DSA types along.
 */
#include <ldns/packet.h> /* before resolver.h: tsig.h, which it includes, uses ldns_pkt */
#include <ldns/dname.h>
#include <ldns/resolver.h>

#include "acme_validate.h"
#include "acme_validate_internal.h"
#include "sd_error.h"

#define AV_DNS_PREFIX "_acme-challenge."
#define AV_DNS_CNAMES_MAX 8	/* CNAMEs followed in one answer */
#define AV_DNS_TXT_SHOW 64	/* bytes of one TXT record kept: more than the 43 that can match */
#define AV_DNS_EDNS_SIZE 1232	/* the UDP answer size asked for (DNS flag day 2020) */
#define AV_B64_SHA256_LEN 43	/* base64url of 32 bytes, unpadded */

/* The RFC 1035 name of a response code (ldns keeps its table in a header this file does not include). */
static const char *
av_dns_rcode_name(ldns_pkt_rcode rcode)
{
	switch (rcode) {
	case LDNS_RCODE_FORMERR: return "FORMERR";
	case LDNS_RCODE_SERVFAIL: return "SERVFAIL";
	case LDNS_RCODE_NXDOMAIN: return "NXDOMAIN";
	case LDNS_RCODE_NOTIMPL: return "NOTIMP";
	case LDNS_RCODE_REFUSED: return "REFUSED";
	default: return "an error";
	}
}

/* RFC 8555 8.4: base64url(SHA-256(key authorization)), unpadded, into out. */
SD_WUR static int
av_dns_digest(const char *ka, char out[AV_B64_SHA256_LEN + 1], struct acme_validate_error *err)
{
	unsigned char digest[AV_SHA256_LEN];
	gnutls_datum_t in = { digest, sizeof(digest) }, b64 = { NULL, 0 };
	size_t i;
	int rc = 0;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, ka, strlen(ka), digest) != 0)
		return av_internal(err, SD_E_CRYPTO, "SHA-256 of the key authorization failed");
	if (gnutls_base64_encode2(&in, &b64) != 0)
		return av_internal(err, SD_E_NOMEM, "no memory for base64");
	/* 32 bytes are 44 characters, the last one '=': drop it, and use the URL alphabet. */
	if (b64.size < AV_B64_SHA256_LEN + 1 || b64.data[AV_B64_SHA256_LEN] != '=') {
		rc = av_internal(err, SD_E_CRYPTO, "base64 of a SHA-256 digest is not 44 characters");
		goto out;
	}
	for (i = 0; i < AV_B64_SHA256_LEN; i++)
		out[i] = b64.data[i] == '+' ? '-' : b64.data[i] == '/' ? '_' : (char)b64.data[i];
	out[AV_B64_SHA256_LEN] = '\0';
out:
	gnutls_free(b64.data);
	return rc;
}

/*
 * A resolver that asks o->resolver and nothing else: no resolv.conf, no
 * search list, one try, no pause after a failure (ldns sleeps "retrans"
 * seconds between tries unless "fail" is set), and no TCP fallback of its
 * own (av_dns_query() asks over TCP itself, within the deadline).
 */
SD_WUR static int
av_dns_resolver(const struct acme_validate_options *o, struct acme_validate_error *err, ldns_resolver **out)
{
	ldns_resolver *r = NULL;
	ldns_rdf *ns = NULL;
	int rc;

	*out = NULL;
	if ((r = ldns_resolver_new()) == NULL)
		return av_internal(err, SD_E_NOMEM, "no memory for a DNS resolver");
	/* The configuration checked the literal: only memory can make it fail here. */
	ns = ldns_rdf_new_frm_str(strchr(o->resolver, ':') != NULL ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
	    o->resolver);
	if (ns == NULL || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
		rc = av_internal(err, SD_E_NOMEM, "no memory for the DNS server %s", o->resolver);
		goto out;
	}
	ldns_resolver_set_port(r, o->resolver_port);
	ldns_resolver_set_retry(r, 1);
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_fail(r, true);
	ldns_resolver_set_fallback(r, false);
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_edns_udp_size(r, AV_DNS_EDNS_SIZE);
	*out = r;
	r = NULL;
	rc = 0;
out:
	ldns_rdf_deep_free(ns);
	if (r != NULL)
		ldns_resolver_deep_free(r);
	return rc;
}

/* Ask r for the TXT records of qname (shown as show) over UDP or TCP before deadline; the answer in *out. */
SD_WUR static int
av_dns_query(ldns_resolver *r, const ldns_rdf *qname, bool tcp, uint64_t deadline, const char *show,
    const struct acme_validate_options *o, struct acme_validate_error *err, ldns_pkt **out)
{
	ldns_pkt *q = NULL, *a = NULL;
	ldns_status st;
	int left = av_left_ms(deadline), rc;

	*out = NULL;
	if (left == 0)
		return av_fail(err, "dns", "no answer for %s from %s port %u within %u ms", show, o->resolver,
		    (unsigned)o->resolver_port, o->timeout_ms);
	ldns_resolver_set_timeout(r, (struct timeval){ .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 });
	ldns_resolver_set_usevc(r, tcp);
	if (ldns_resolver_prepare_query_pkt(&q, r, qname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD) !=
	    LDNS_STATUS_OK) {
		rc = av_internal(err, SD_E_NOMEM, "no memory for a DNS query");
		goto out;
	}
	st = ldns_resolver_send_pkt(&a, r, q);
	if (st != LDNS_STATUS_OK || a == NULL) {
		if (av_left_ms(deadline) == 0)
			rc = av_fail(err, "dns", "no answer for %s from %s port %u within %u ms", show, o->resolver,
			    (unsigned)o->resolver_port, o->timeout_ms);
		else
			rc = av_fail(err, "dns", "asking %s port %u for %s%s: %s", o->resolver,
			    (unsigned)o->resolver_port, show, tcp ? " over TCP" : "", ldns_get_errorstr_by_id(st));
		goto out;
	}
	/* ldns takes any datagram that comes back: the answer must at least be to our query. */
	if (ldns_pkt_id(a) != ldns_pkt_id(q) || !ldns_pkt_qr(a)) {
		rc = av_fail(err, "dns", "the answer from %s port %u is not to the query for %s", o->resolver,
		    (unsigned)o->resolver_port, show);
		goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	ldns_pkt_free(q);
	ldns_pkt_free(a);
	return rc;
}

/* The target of the CNAME owned by name in ans, or NULL. */
static const ldns_rdf *
av_dns_cname_of(const ldns_rr_list *ans, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
		    ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			return ldns_rr_rdf(rr, 0);
	}
	return NULL;
}

/*
 * The name the TXT records of qname are at in answer a: qname, or the end of
 * the CNAME chain from it that the answer holds (a recursive resolver sends
 * the chain with the records); NULL when the chain runs past
 * AV_DNS_CNAMES_MAX. Borrowed from a or qname.
 */
static const ldns_rdf *
av_dns_target(const ldns_pkt *a, const ldns_rdf *qname)
{
	const ldns_rr_list *ans = ldns_pkt_answer(a);
	const ldns_rdf *cur = qname, *next;
	size_t hops = 0;

	while ((next = av_dns_cname_of(ans, cur)) != NULL) {
		/* A chain still going at the bound is too long or a loop: no name at its end. */
		if (hops++ == AV_DNS_CNAMES_MAX)
			return NULL;
		cur = next;
	}
	return cur;
}

/* One TXT record's character-strings joined into buf (cap bytes, *len of them; a longer record is cut). */
static void
av_dns_txt(const ldns_rr *rr, unsigned char *buf, size_t cap, size_t *len, bool *cut)
{
	size_t i, n, o = 0;

	*cut = false;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);

		/* A character-string: its length byte, then the bytes. */
		if (ldns_rdf_get_type(f) != LDNS_RDF_TYPE_STR || ldns_rdf_size(f) < 1)
			continue;
		n = d[0];
		if (n > ldns_rdf_size(f) - 1)
			n = ldns_rdf_size(f) - 1;
		if (n > cap - o) {
			n = cap - o;
			*cut = true;
		}
		memcpy(buf + o, d + 1, n);
		o += n;
	}
	*len = o;
}

/* Whether answer a holds, at target, a TXT record that is want; *n_txt counts the records there. */
static bool
av_dns_match(const ldns_pkt *a, const ldns_rdf *target, const char *want, size_t *n_txt, char *show, size_t cap)
{
	const ldns_rr_list *ans = ldns_pkt_answer(a);
	unsigned char txt[AV_DNS_TXT_SHOW];
	char esc[AV_SHOW_ESCAPED];
	size_t i, len, wlen = strlen(want);
	bool cut;

	*n_txt = 0;
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_dname_compare(ldns_rr_owner(rr), target) != 0)
			continue;
		av_dns_txt(rr, txt, sizeof(txt), &len, &cut);
		if (!cut && len == wlen && memcmp(txt, want, wlen) == 0)
			return true;
		if ((*n_txt)++ == 0) {
			av_escape(txt, cut ? len + 1 : len, esc);
			(void)snprintf(show, cap, "%s", esc);
		}
	}
	return false;
}

int
acme_validate_dns01(const char *name, const char *key_authorization, const struct acme_validate_options *o,
    struct acme_validate_error *err)
{
	char qtext[sizeof(AV_DNS_PREFIX) + ACME_VALIDATE_NAME_MAX + 1], want[AV_B64_SHA256_LEN + 1];
	char first[AV_SHOW_ESCAPED] = "";
	uint64_t deadline = av_now_ms() + o->timeout_ms;
	ldns_resolver *r = NULL;
	ldns_rdf *qname = NULL;
	ldns_pkt *a = NULL;
	ldns_pkt_rcode rcode;
	const ldns_rdf *target;
	size_t n_txt = 0;
	int rc;

	err->type = NULL;
	err->detail[0] = '\0';
	if ((rc = av_check_name(name, err)) != 0 || (rc = av_check_keyauth(key_authorization, err)) != 0)
		return rc;
	if (o->resolver == NULL)
		return av_fail(err, "serverInternal", "dns-01 needs [acme] resolver, which is not configured");
	if ((rc = av_dns_digest(key_authorization, want, err)) != 0)
		return rc;
	/* Absolute (the final dot): no search list could ever be appended. name is at most 253 bytes. */
	(void)snprintf(qtext, sizeof(qtext), AV_DNS_PREFIX "%s.", name);
	if ((qname = ldns_dname_new_frm_str(qtext)) == NULL) {
		rc = av_fail(err, "malformed", "%s is not a DNS name", qtext);
		goto out;
	}
	qtext[strlen(qtext) - 1] = '\0';
	if ((rc = av_dns_resolver(o, err, &r)) != 0 || (rc = av_dns_query(r, qname, false, deadline, qtext, o, err, &a)) != 0)
		goto out;
	if (ldns_pkt_tc(a)) {
		ldns_pkt_free(a);
		a = NULL;
		if ((rc = av_dns_query(r, qname, true, deadline, qtext, o, err, &a)) != 0)
			goto out;
	}
	rcode = ldns_pkt_get_rcode(a);
	if (rcode != LDNS_RCODE_NOERROR) {
		rc = av_fail(err, "dns", "%s port %u answered %s for %s", o->resolver, (unsigned)o->resolver_port,
		    av_dns_rcode_name(rcode), qtext);
		goto out;
	}
	if ((target = av_dns_target(a, qname)) == NULL) {
		rc = av_fail(err, "dns", "the CNAME chain from %s is longer than %d names or a loop", qtext,
		    AV_DNS_CNAMES_MAX);
		goto out;
	}
	if (av_dns_match(a, target, want, &n_txt, first, sizeof(first))) {
		rc = 0;
		goto out;
	}
	if (n_txt == 0)
		rc = av_fail(err, "dns", "no TXT record at %s", qtext);
	else
		rc = av_fail(err, "incorrectResponse", "%zu TXT record%s at %s, none the key authorization's digest "
		    "(the first is \"%s\")", n_txt, n_txt == 1 ? "" : "s", qtext, first);
out:
	ldns_pkt_free(a);
	ldns_rdf_deep_free(qname);
	if (r != NULL)
		ldns_resolver_deep_free(r);
	return rc;
}
