/*
 * signerctl: the operator tool. Key ceremony (token initialisation, key
 * generation inside the HSM, root and intermediate certificates) and journal
 * inspection. Reads the same configuration file as signerd.
 *
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error;
 * "journal verify" exits 1 when the journal does not verify.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceremony.h"
#include "config.h"
#include "ctl/ctl_audit.h"
#include "ctl/ctl_certs.h"
#include "ctl/ctl_acme.h"
#include "ctl/ctl_crl.h"
#include "ctl/ctl_hsm.h"
#include "ctl/ctl_revoke.h"
#include "hsm.h"
#include "journal.h"
#include "sd_error.h"
#include "sd_file.h"

#define CTL_PEM_MAX (64 * 1024)

static const char *ctl_config_path = "signerd.conf";

static void __attribute__((noreturn))
usage_to(FILE *out, int code)
{
	fprintf(out,
	    "usage: signerctl [-c CONFIG] COMMAND [options]\n"
	    "       signerctl --version | --help\n"
	    "\n"
	    "  token init --label LABEL --so-pin-file FILE\n"
	    "      initialise a free token slot (SoftHSM; user PIN from [hsm] pin_file)\n"
	    "  keygen --type TYPE --key URI\n"
	    "      generate a CA key pair inside the token (TYPE: rsa2048 rsa3072 rsa4096\n"
	    "      p256 p384 p521 ed25519; URI e.g. pkcs11:token=T;object=root-ca)\n"
	    "  root --key URI --subject /O=Org/CN=Root --days N --out FILE [--path-len N]\n"
	    "      [--signature pkcs1|pss]\n"
	    "      make a self-signed root certificate from an HSM key\n"
	    "  intermediate --key URI --issuer-key URI --issuer-cert FILE --subject S\n"
	    "      --days N --out FILE [--path-len N] [--signature pkcs1|pss]\n"
	    "      make an intermediate certificate signed by an HSM root key\n"
	    "      (--signature pss: RSASSA-PSS by an RSA signing key; default pkcs1)\n"
	    "  ocsp-responder --key URI --issuer-key URI --issuer-cert FILE --subject S\n"
	    "      [--days N] --out FILE\n"
	    "      make a delegated OCSP responder certificate (OCSPSigning, ocsp-nocheck)\n"
	    "      for an HSM key, signed by the issuing CA's HSM key (default 365 days)\n"
	    "  hsm info | slots | keys\n"
	    "      the module and token mechanisms, every slot and token with its flags,\n"
	    "      or the token's private keys with their security attributes\n"
	    "  journal list [--from SEQ] [--journal DIR]\n"
	    "  journal verify [--journal DIR]\n"
	    "  journal backup DEST [--journal DIR]\n"
	    "  audit verify|export|show|find|prove|consistency|pubkey|report ...  (signerctl audit help)\n"
	    "  audit witness keygen|vkey|serve|submit ...  a C2SP witness (signerctl audit witness help)\n"
	    "  certs list [--profile P] [--client SUBJECT] [--san VALUE] [--valid-at T] [--expires-before T] [--limit N]\n"
	    "  certs show SERIAL | certs expiring --within 7d | certs reindex   [--journal DIR]\n"
	    "      the certificate index beside the journal (T: RFC 3339, e.g. 2027-01-01T00:00:00Z)\n"
	    "  revoke SERIAL [--reason NAME] [--detail TEXT] [--journal DIR]\n"
	    "      journal a revocation (NAME: unspecified, keyCompromise, superseded, ...; final)\n"
	    "  crl [--out FILE] [--pem] [--journal DIR]\n"
	    "      sign and journal the issuing CA's complete CRL now (DER, or PEM; stdout\n"
	    "      without --out); its number, entries and nextUpdate on stderr\n"
	    "  acme eab add --profile P [--profile Q ...] [--dns-suffix S ...] [--kid K]\n"
	    "      add an External Account Binding key for ACME directories; prints its kid\n"
	    "      and HMAC key (base64url, shown once)\n"
	    "  acme eab list | acme eab remove KID\n"
	    "      the EAB keys (never their HMAC keys), or remove one (its account stays)\n"
	    "  config keys\n"
	    "      every configuration key: section, type, default, reloadable, secret (a\n"
	    "      Markdown table; the README's reference is this output)\n");
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	usage_to(stderr, 2);
}

static void __attribute__((noreturn))
ctl_fail(int rc, const char *what)
{
	fprintf(stderr, "signerctl: %s: %s\n", what, sd_error_detail(rc));
	exit(1);
}

static struct sd_config *
ctl_config(void)
{
	struct sd_config *cfg = NULL;
	int rc;

	if ((rc = sd_config_load(ctl_config_path, &cfg)) != 0)
		ctl_fail(rc, "configuration");
	if ((rc = sd_config_apply_environment(cfg)) != 0)
		ctl_fail(rc, "configuration");
	return cfg;
}

static struct hsm *
ctl_hsm(const struct sd_config *cfg)
{
	struct hsm_config hc = {
		.module_path = cfg->hsm_module,
		.token_uri = cfg->hsm_token_uri,
		.pin_file = cfg->hsm_pin_file,
		.pool_size = 1,
	};
	struct hsm *hsm = NULL;
	int rc;

	if ((rc = hsm_open(&hc, &hsm)) != 0)
		ctl_fail(rc, "HSM");
	return hsm;
}

static struct hsm_key *
ctl_key(struct hsm *hsm, const char *uri)
{
	struct hsm_key *key = NULL;
	int rc;

	if ((rc = hsm_key_find(hsm, uri, false, &key)) != 0)
		ctl_fail(rc, uri);
	return key;
}

/* Options shared by the subcommands; each uses the ones it needs. */
struct ctl_opts {
	const char *label, *so_pin_file, *type, *key, *issuer_key, *issuer_cert;
	const char *subject, *out, *journal;
	uint64_t days, from;
	int path_len;
	bool pss;
};

static uint64_t
ctl_number(const char *text, const char *what)
{
	char *end;
	unsigned long long v;

	if (text[0] < '0' || text[0] > '9')
		goto bad;
	v = strtoull(text, &end, 10);
	if (*end != '\0' || v > UINT32_MAX)
		goto bad;
	return v;
bad:
	fprintf(stderr, "signerctl: %s: '%s' is not a number\n", what, text);
	exit(2);
}

static void
ctl_parse(int argc, char **argv, struct ctl_opts *o)
{
	static const struct option options[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "so-pin-file", required_argument, NULL, 'S' },
		{ "type", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "issuer-key", required_argument, NULL, 'K' },
		{ "issuer-cert", required_argument, NULL, 'C' },
		{ "subject", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{ "path-len", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "journal", required_argument, NULL, 'j' },
		{ "from", required_argument, NULL, 'f' },
		{ "signature", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	o->path_len = -1;
	o->from = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'l': o->label = optarg; break;
		case 'S': o->so_pin_file = optarg; break;
		case 't': o->type = optarg; break;
		case 'k': o->key = optarg; break;
		case 'K': o->issuer_key = optarg; break;
		case 'C': o->issuer_cert = optarg; break;
		case 's': o->subject = optarg; break;
		case 'd': o->days = ctl_number(optarg, "--days"); break;
		case 'p': o->path_len = (int)ctl_number(optarg, "--path-len"); break;
		case 'o': o->out = optarg; break;
		case 'j': o->journal = optarg; break;
		case 'f': o->from = ctl_number(optarg, "--from"); break;
		case 'g':
			if (strcmp(optarg, "pkcs1") != 0 && strcmp(optarg, "pss") != 0) {
				fprintf(stderr, "signerctl: --signature must be pkcs1 or pss\n");
				exit(2);
			}
			o->pss = strcmp(optarg, "pss") == 0;
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

static void
ctl_require(const char *value, const char *option)
{
	if (value == NULL) {
		fprintf(stderr, "signerctl: %s is required\n", option);
		exit(2);
	}
}

static int
cmd_token_init(const struct ctl_opts *o)
{
	struct sd_config *cfg = ctl_config();
	int rc;

	ctl_require(o->label, "--label");
	ctl_require(o->so_pin_file, "--so-pin-file");
	if ((rc = hsm_token_init(cfg->hsm_module, o->label, o->so_pin_file, cfg->hsm_pin_file)) != 0)
		ctl_fail(rc, "token init");
	printf("initialised token '%s'\n", o->label);
	sd_config_free(cfg);
	return 0;
}

/*
 * Ceremony records go to the journal named in the configuration, durably,
 * before the HSM is asked and after it answered; no journal, no ceremony.
 */
static struct ctl_ceremony *
ctl_ceremony(const struct sd_config *cfg, const char *operation, const char *key_uri, const char *detail)
{
	struct ctl_ceremony *c = NULL;
	int rc;

	if ((rc = ctl_ceremony_begin(cfg, operation, key_uri, detail, &c)) != 0)
		ctl_fail(rc, "journal (ceremony record)");
	return c;
}

static void
ctl_ceremony_done(struct ctl_ceremony *c, int result, const uint8_t *output, size_t len, const char *what)
{
	int rc;

	rc = ctl_ceremony_end(c, result, output, len);
	if (result != 0)
		ctl_fail(result, what);
	if (rc != 0)
		ctl_fail(rc, "journal (ceremony record)");
}

/* Whether spki is the key [journal] audit_key names (compared by key, not by how the URIs are spelled). */
static bool
ctl_is_audit_key(const struct sd_config *cfg, struct hsm *hsm, const uint8_t *spki, size_t len)
{
	struct hsm_key *key = NULL;
	const uint8_t *p;
	size_t n = 0;
	bool same;

	if (cfg->journal_audit_key == NULL || hsm_key_find(hsm, cfg->journal_audit_key, false, &key) != 0)
		return false;
	p = hsm_key_spki_peek(key, &n);
	same = p != NULL && n == len && memcmp(p, spki, len) == 0;
	hsm_key_free(key);
	return same;
}

static int
cmd_keygen(const struct ctl_opts *o)
{
	char fp[65] = "", key_id[9] = "", note[160];
	bool audit = false;
	struct sd_config *cfg;
	struct hsm *hsm;
	struct hsm_key *key = NULL;
	struct ctl_ceremony *cer;
	const uint8_t *spki = NULL;
	size_t spki_len = 0;
	char detail[64];
	enum hsm_key_type type;
	int rc;

	ctl_require(o->type, "--type");
	ctl_require(o->key, "--key");
	if (hsm_key_type_from_name(o->type, &type) != 0) {
		fprintf(stderr, "signerctl: unknown key type '%s'\n", o->type);
		return 2;
	}
	cfg = ctl_config();
	hsm = ctl_hsm(cfg);
	(void)snprintf(detail, sizeof(detail), "type=%s", hsm_key_type_name(type));
	cer = ctl_ceremony(cfg, "keygen", o->key, detail);
	rc = hsm_keygen(hsm, o->key, type);
	if (rc == 0 && (rc = hsm_key_find(hsm, o->key, false, &key)) == 0)
		spki = hsm_key_spki_peek(key, &spki_len);
	/* The done record carries what auditors compare: the fingerprint, and the note key id. */
	if (rc == 0 && (rc = ctl_key_ids(cfg, spki, spki_len, fp, key_id)) == 0) {
		audit = ctl_is_audit_key(cfg, hsm, spki, spki_len);
		if (snprintf(note, sizeof(note), "spki_sha256=%s%s%s%s%s", fp, key_id[0] != '\0' ? "; checkpoint_key_id=" : "",
		    key_id, audit ? "; " : "", audit ? CTL_AUDIT_KEY_ROLE : "") >= (int)sizeof(note))
			rc = sd_error_set(SD_E_INTERNAL, "ceremony detail truncated");
		else
			rc = ctl_ceremony_note(cer, note);
	}
	ctl_ceremony_done(cer, rc, spki, spki_len, "keygen");
	hsm_key_free(key);
	printf("generated %s key %s\n", hsm_key_type_name(type), o->key);
	printf("SHA-256 fingerprint (of its DER SubjectPublicKeyInfo): %s\n", fp);
	if (key_id[0] != '\0')
		printf("checkpoint key id (C2SP note key hash, name %s): %s\n", cfg->journal_origin, key_id);
	if (audit)
		printf("this is the [journal] audit_key: auditors pin it with signerctl audit verify --pubkey-sha256 %s\n",
		    fp);
	hsm_close(hsm);
	sd_config_free(cfg);
	return 0;
}

static void
ctl_write_pem(const char *path, const char *pem)
{
	int rc;

	if ((rc = sd_file_write(path, pem, strlen(pem), 0644, 0)) != 0)
		ctl_fail(rc, "write certificate");
	printf("wrote %s\n", path);
}

static int
cmd_root(const struct ctl_opts *o)
{
	struct ceremony_ca req = { o->subject, o->days, o->path_len };
	struct sd_config *cfg;
	struct hsm *hsm;
	struct hsm_key *key;
	struct ctl_ceremony *cer;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char detail[1024];
	char *pem = NULL;
	int rc;

	ctl_require(o->key, "--key");
	ctl_require(o->subject, "--subject");
	ctl_require(o->out, "--out");
	if (o->days == 0)
		ctl_require(NULL, "--days (at least 1)");
	cfg = ctl_config();
	hsm = ctl_hsm(cfg);
	key = ctl_key(hsm, o->key);
	(void)snprintf(detail, sizeof(detail), "subject=%s days=%llu path_len=%d out=%s", o->subject,
	    (unsigned long long)o->days, o->path_len, o->out);
	cer = ctl_ceremony(cfg, "root", o->key, detail);
	rc = ceremony_root_sig(key, &req, o->pss, &pem);
	if (rc == 0)
		rc = ctl_pem_cert_der(pem, &der, &der_len);
	ctl_ceremony_done(cer, rc, der, der_len, "root certificate");
	free(der);
	ctl_write_pem(o->out, pem);
	free(pem);
	hsm_key_free(key);
	hsm_close(hsm);
	sd_config_free(cfg);
	return 0;
}

/* What a certificate signed by an issuer key in the HSM is made by: intermediate or ocsp-responder. */
typedef int (*ctl_issue_fn)(const struct ctl_opts *o, struct hsm_key *issuer, const char *issuer_pem,
    size_t issuer_len, struct hsm_key *key, char **pem);

/*
 * The ceremony of a certificate for o->key signed by o->issuer_key (whose
 * certificate is o->issuer_cert): journaled as op with detail, made by make,
 * written to o->out. The record names the certified key; the detail, the
 * signing one.
 */
static int
ctl_issue_ceremony(const struct ctl_opts *o, const char *op, const char *detail, const char *what, ctl_issue_fn make)
{
	struct sd_config *cfg;
	struct hsm *hsm;
	struct hsm_key *key, *issuer;
	uint8_t *issuer_pem = NULL, *der = NULL;
	size_t issuer_len, der_len = 0;
	struct ctl_ceremony *cer;
	char *pem = NULL;
	int rc;

	if ((rc = sd_file_read(o->issuer_cert, CTL_PEM_MAX, &issuer_pem, &issuer_len)) != 0)
		ctl_fail(rc, "issuer certificate");
	cfg = ctl_config();
	hsm = ctl_hsm(cfg);
	key = ctl_key(hsm, o->key);
	issuer = ctl_key(hsm, o->issuer_key);
	cer = ctl_ceremony(cfg, op, o->key, detail);
	rc = make(o, issuer, (const char *)issuer_pem, issuer_len, key, &pem);
	if (rc == 0)
		rc = ctl_pem_cert_der(pem, &der, &der_len);
	ctl_ceremony_done(cer, rc, der, der_len, what);
	free(der);
	ctl_write_pem(o->out, pem);
	free(pem);
	free(issuer_pem);
	hsm_key_free(issuer);
	hsm_key_free(key);
	hsm_close(hsm);
	sd_config_free(cfg);
	return 0;
}

static int
ctl_make_intermediate(const struct ctl_opts *o, struct hsm_key *issuer, const char *issuer_pem, size_t issuer_len,
    struct hsm_key *key, char **pem)
{
	struct ceremony_ca req = { o->subject, o->days, o->path_len };

	return ceremony_intermediate_sig(issuer, issuer_pem, issuer_len, key, &req, o->pss, pem);
}

static int
cmd_intermediate(const struct ctl_opts *o)
{
	char detail[2048];

	ctl_require(o->key, "--key");
	ctl_require(o->issuer_key, "--issuer-key");
	ctl_require(o->issuer_cert, "--issuer-cert");
	ctl_require(o->subject, "--subject");
	ctl_require(o->out, "--out");
	if (o->days == 0)
		ctl_require(NULL, "--days (at least 1)");
	(void)snprintf(detail, sizeof(detail), "subject=%s days=%llu path_len=%d issuer_key=%s out=%s", o->subject,
	    (unsigned long long)o->days, o->path_len, o->issuer_key, o->out);
	return ctl_issue_ceremony(o, "intermediate", detail, "intermediate certificate", ctl_make_intermediate);
}

/* A year unless --days says otherwise: a responder certificate is renewed like any other leaf. */
#define CTL_OCSP_RESPONDER_DAYS 365

static uint64_t
ctl_ocsp_responder_days(const struct ctl_opts *o)
{
	return o->days != 0 ? o->days : CTL_OCSP_RESPONDER_DAYS;
}

static int
ctl_make_ocsp_responder(const struct ctl_opts *o, struct hsm_key *issuer, const char *issuer_pem,
    size_t issuer_len, struct hsm_key *key, char **pem)
{
	return ceremony_ocsp_responder(issuer, issuer_pem, issuer_len, key, o->subject, ctl_ocsp_responder_days(o), pem);
}

static int
cmd_ocsp_responder(const struct ctl_opts *o)
{
	char detail[2048];

	ctl_require(o->key, "--key");
	ctl_require(o->issuer_key, "--issuer-key");
	ctl_require(o->issuer_cert, "--issuer-cert");
	ctl_require(o->subject, "--subject");
	ctl_require(o->out, "--out");
	if (o->path_len != -1 || o->pss) {
		fprintf(stderr, "signerctl: ocsp-responder takes neither --path-len nor --signature\n");
		return 2;
	}
	(void)snprintf(detail, sizeof(detail), "subject=%s days=%llu issuer_key=%s out=%s", o->subject,
	    (unsigned long long)ctl_ocsp_responder_days(o), o->issuer_key, o->out);
	return ctl_issue_ceremony(o, "ocsp-responder", detail, "OCSP responder certificate", ctl_make_ocsp_responder);
}

static int
cmd_hsm(const char *action)
{
	struct sd_config *cfg = ctl_config();
	int rc;

	if ((rc = ctl_hsm_run(cfg, action)) != 0) {
		if (rc == SD_E_INVAL)
			usage();
		ctl_fail(rc, "hsm");
	}
	sd_config_free(cfg);
	return 0;
}

static struct journal *
ctl_journal(const struct ctl_opts *o)
{
	struct sd_config *cfg = NULL;
	struct journal *j = NULL;
	int rc;

	if (o->journal != NULL) {
		rc = journal_open_readonly(o->journal, &j);
	} else {
		cfg = ctl_config();
		rc = journal_open_readonly(cfg->journal_path, &j);
	}
	sd_config_free(cfg);
	if (rc != 0)
		ctl_fail(rc, "journal");
	return j;
}

static void
ctl_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "@%" PRId64, ms);
}

/*
 * "journal list" shows the certificates issued: results (with the client
 * and profile of their intent) and legacy issuance records, one per line.
 * Every other record is shown by "audit export" and "audit show".
 */
static int
ctl_list_one(const struct journal_record *rec, void *ctx)
{
	char when[32], serial[2 * JOURNAL_SERIAL_MAX + 1], hash[2 * JOURNAL_HASH_LEN + 1];
	struct journal_record *intent = NULL;
	const struct journal_record *who = rec;

	if (rec->type != JOURNAL_REC_ISSUANCE && rec->type != JOURNAL_REC_RESULT)
		return 0;
	if (rec->type == JOURNAL_REC_RESULT) {
		if (journal_get(ctx, rec->intent_seq, &intent) != 0)
			return SD_E_JOURNAL_CORRUPT;
		who = intent;
	}
	ctl_time(rec->time_ms, when);
	sd_hex_encode(rec->serial, rec->serial_len, serial);
	sd_hex_encode(rec->hash, sizeof(rec->hash), hash);
	printf("%" PRIu64 "\t%s\tissuance\t%s\t%s\t%.16s\t%s\n", rec->seq, when,
	    who->profile != NULL ? who->profile : "-", serial, hash,
	    who->client_subject != NULL ? who->client_subject : "-");
	journal_record_free(intent);
	return 0;
}

static int
cmd_journal(const char *action, const struct ctl_opts *o)
{
	struct journal *j = ctl_journal(o);
	uint64_t count = 0, bad = 0;
	int rc;

	if (strcmp(action, "list") == 0) {
		printf("seq\ttime\ttype\tprofile\tserial\thash\tclient\n");
		if ((rc = journal_foreach(j, o->from, ctl_list_one, j)) != 0)
			ctl_fail(rc, "journal list");
		journal_close(j);
		return 0;
	}
	rc = journal_verify(j, &count, &bad);
	journal_close(j);
	if (rc == SD_E_JOURNAL_CORRUPT) {
		printf("journal does NOT verify: first bad record %" PRIu64 ": %s\n", bad, sd_error_detail(rc));
		return 1;
	}
	if (rc != 0)
		ctl_fail(rc, "journal verify");
	printf("journal verifies: %" PRIu64 " records, hash chain intact\n", count);
	return 0;
}

/* The parser's own table of keys, so that the reference cannot drift from the code. */
static int
cmd_config_keys(void)
{
	struct config_key_info k;
	size_t i;

	printf("| section | key | type | default | reloadable | secret |\n|---|---|---|---|---|---|\n");
	for (i = 0; sd_config_key(i, &k); i++)
		printf("| `%s` | `%s` | %s | %s | %s | %s |\n", k.section, k.key, k.type,
		    k.required ? "required" : k.default_text, k.reloadable ? "yes" : "", k.secret ? "yes" : "");
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct ctl_opts o;
	const char *cmd;
	int first = 1;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		usage_to(stdout, 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("signerctl %s\n", SD_VERSION);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
		ctl_config_path = argv[2];
		first = 3;
	}
	if (argc <= first)
		usage();
	cmd = argv[first];
	if (strcmp(cmd, "token") == 0 && argc > first + 1 && strcmp(argv[first + 1], "init") == 0) {
		ctl_parse(argc - first - 1, argv + first + 1, &o);
		return cmd_token_init(&o);
	}
	if (strcmp(cmd, "keygen") == 0) {
		ctl_parse(argc - first, argv + first, &o);
		return cmd_keygen(&o);
	}
	if (strcmp(cmd, "root") == 0) {
		ctl_parse(argc - first, argv + first, &o);
		return cmd_root(&o);
	}
	if (strcmp(cmd, "intermediate") == 0) {
		ctl_parse(argc - first, argv + first, &o);
		return cmd_intermediate(&o);
	}
	if (strcmp(cmd, "ocsp-responder") == 0) {
		ctl_parse(argc - first, argv + first, &o);
		return cmd_ocsp_responder(&o);
	}
	if (strcmp(cmd, "crl") == 0)
		return ctl_crl_main(ctl_config_path, argc - first, argv + first);
	if (strcmp(cmd, "config") == 0 && argc == first + 2 && strcmp(argv[first + 1], "keys") == 0)
		return cmd_config_keys();
	if (strcmp(cmd, "hsm") == 0 && argc == first + 2)
		return cmd_hsm(argv[first + 1]);
	if (strcmp(cmd, "certs") == 0 && argc > first + 1)
		return ctl_certs_main(ctl_config_path, argc - first - 1, argv + first + 1);
	if (strcmp(cmd, "revoke") == 0)
		return ctl_revoke_main(ctl_config_path, argc - first, argv + first);
	if (strcmp(cmd, "acme") == 0)
		return ctl_acme_main(ctl_config_path, argc - first, argv + first);
	if (strcmp(cmd, "audit") == 0 && argc > first + 1)
		return ctl_audit_main(ctl_config_path, argc - first - 1, argv + first + 1);
	if (strcmp(cmd, "journal") == 0 && argc > first + 1 && strcmp(argv[first + 1], "backup") == 0)
		return ctl_journal_backup(ctl_config_path, argc - first - 1, argv + first + 1);
	if (strcmp(cmd, "journal") == 0 && argc > first + 1 &&
	    (strcmp(argv[first + 1], "list") == 0 || strcmp(argv[first + 1], "verify") == 0)) {
		ctl_parse(argc - first - 1, argv + first + 1, &o);
		return cmd_journal(argv[first + 1], &o);
	}
	usage();
}
