/*
 * Signed notes, verifier keys and Ed25519 cosignatures (see witness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "journal/checkpoint_note.h"
#include "sd_file.h"
#include "witness.h"

#define WN_DASH "\xe2\x80\x94 "
#define WN_DASH_LEN 4
#define WN_KEY_FILE_MAX (8 * 1024)
#define WN_COSIG_HEADER "cosignature/v1\ntime "
/* key id || time || Ed25519 signature */
#define WN_COSIG_BLOB (4 + 8 + 64)

struct witness_signer {
	EVP_PKEY *key;
	struct witness_vkey vk;
};

/* A key name or origin: non-empty, no spaces, no '+', no control characters. */
static int
wn_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > WITNESS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '+')
			return 0;
	return 1;
}

int
witness_note_parse(const char *note, size_t len, struct witness_note *out)
{
	size_t i, start, sep = 0, off;
	const char *line, *sp;
	struct witness_sig *sig;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (len > WITNESS_NOTE_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "note: %zu bytes, over %d", len, WITNESS_NOTE_MAX);
	if (len == 0 || note[len - 1] != '\n')
		return sd_error_set(SD_E_INVAL, "note: does not end with a newline");
	for (i = 0; i < len; i++)
		if (((unsigned char)note[i] < 0x20 && note[i] != '\n') || note[i] == 0x7f)
			return sd_error_set(SD_E_INVAL, "note: a control character at byte %zu", i);
	/* The text ends at the last blank line: the signatures follow it, and hold none. */
	for (i = 1; i < len; i++) {
		if (note[i] == '\n' && note[i - 1] == '\n') {
			sep = i;
			found = true;
		}
	}
	if (!found)
		return sd_error_set(SD_E_INVAL, "note: no blank line before the signatures");
	out->text_len = sep;
	for (off = sep + 1; off < len; off = start) {
		start = (size_t)((const char *)memchr(note + off, '\n', len - off) - note) + 1;
		line = note + off;
		if (out->nsigs == WITNESS_SIGS_MAX)
			return sd_error_set(SD_E_TOO_LARGE, "note: more than %d signatures", WITNESS_SIGS_MAX);
		if (start - off < WN_DASH_LEN + 3 || memcmp(line, WN_DASH, WN_DASH_LEN) != 0)
			return sd_error_set(SD_E_INVAL, "note: line %zu after the blank line is not a signature", out->nsigs + 1);
		sig = &out->sigs[out->nsigs];
		sig->line = line;
		sig->line_len = start - off;
		sig->name = line + WN_DASH_LEN;
		if ((sp = memchr(sig->name, ' ', (size_t)(note + start - 1 - sig->name))) == NULL)
			return sd_error_set(SD_E_INVAL, "note: signature %zu has no key name", out->nsigs + 1);
		sig->name_len = (size_t)(sp - sig->name);
		sig->b64 = sp + 1;
		sig->b64_len = (size_t)(note + start - 1 - sig->b64);
		if (!wn_name_ok(sig->name, sig->name_len) || sig->b64_len < 8 || memchr(sig->b64, ' ', sig->b64_len) != NULL)
			return sd_error_set(SD_E_INVAL, "note: signature %zu is malformed", out->nsigs + 1);
		out->nsigs++;
	}
	if (out->nsigs == 0)
		return sd_error_set(SD_E_INVAL, "note: no signature");
	return 0;
}

int
witness_checkpoint_parse(const char *text, size_t len, struct witness_checkpoint *out)
{
	const char *nl, *line = text;
	size_t n, got = 0;

	memset(out, 0, sizeof(*out));
	/* origin */
	if ((nl = memchr(line, '\n', len)) == NULL || !wn_name_ok(line, (size_t)(nl - line)))
		return sd_error_set(SD_E_INVAL, "checkpoint: bad origin line");
	n = (size_t)(nl - line);
	memcpy(out->origin, line, n);
	out->origin[n] = '\0';
	line = nl + 1;
	if ((nl = memchr(line, '\n', (size_t)(text + len - line))) == NULL || checkpoint_u64(line, (size_t)(nl - line), &out->size) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: bad tree size line");
	line = nl + 1;
	if ((nl = memchr(line, '\n', (size_t)(text + len - line))) == NULL ||
	    checkpoint_b64_decode(line, (size_t)(nl - line), out->root, sizeof(out->root), &got) != 0 || got != 32)
		return sd_error_set(SD_E_INVAL, "checkpoint: bad root hash line");
	/* Extension lines: any, but none empty (the blank line ends the text). */
	for (line = nl + 1; line < text + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(text + len - line))) == NULL || nl == line)
			return sd_error_set(SD_E_INVAL, "checkpoint: bad extension line");
	}
	return 0;
}

int
witness_vkey_make(const char *name, uint8_t type, const uint8_t pub[WITNESS_ED25519_LEN], struct witness_vkey *out)
{
	uint8_t buf[WITNESS_NAME_MAX + 2 + WITNESS_ED25519_LEN], md[32];
	size_t len = strlen(name);

	memset(out, 0, sizeof(*out));
	if (!wn_name_ok(name, len))
		return sd_error_set(SD_E_INVAL, "key name must be 1..%d printable characters without spaces or '+'",
		    WITNESS_NAME_MAX);
	memcpy(buf, name, len);
	buf[len] = '\n';
	buf[len + 1] = type;
	memcpy(buf + len + 2, pub, WITNESS_ED25519_LEN);
	if (EVP_Digest(buf, len + 2 + WITNESS_ED25519_LEN, md, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of a note key failed");
	memcpy(out->name, name, len + 1);
	out->type = type;
	memcpy(out->id, md, 4);
	memcpy(out->pub, pub, WITNESS_ED25519_LEN);
	return 0;
}

int
witness_vkey_parse(const char *text, size_t len, struct witness_vkey *out)
{
	char name[WITNESS_NAME_MAX + 1];
	const char *p1, *p2;
	uint8_t raw[1 + WITNESS_ED25519_LEN], id[4];
	size_t got = 0, hexlen;
	char hex[9];
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > WITNESS_VKEY_MAX || (p1 = memchr(text, '+', len)) == NULL ||
	    (p2 = memchr(p1 + 1, '+', (size_t)(text + len - p1 - 1))) == NULL)
		return sd_error_set(SD_E_INVAL, "vkey: not name+id+key");
	if ((size_t)(p1 - text) > WITNESS_NAME_MAX || !wn_name_ok(text, (size_t)(p1 - text)))
		return sd_error_set(SD_E_INVAL, "vkey: bad key name");
	memcpy(name, text, (size_t)(p1 - text));
	name[p1 - text] = '\0';
	hexlen = (size_t)(p2 - p1 - 1);
	if (hexlen != 8)
		return sd_error_set(SD_E_INVAL, "vkey: the key id is 8 hex digits");
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	if (sd_hex_decode(hex, id, sizeof(id), &got) != 0 || got != 4)
		return sd_error_set(SD_E_INVAL, "vkey: the key id is 8 hex digits");
	if (checkpoint_b64_decode(p2 + 1, (size_t)(text + len - p2 - 1), raw, sizeof(raw), &got) != 0 || got < 1)
		return sd_error_set(SD_E_INVAL, "vkey: the key is not base64");
	if ((raw[0] != WITNESS_TYPE_ED25519 && raw[0] != WITNESS_TYPE_COSIG) || got != sizeof(raw))
		return sd_error_set(SD_E_UNSUPPORTED, "vkey: signature type 0x%02x is not Ed25519 (0x01) or an Ed25519 "
		    "cosignature (0x04)", raw[0]);
	if ((rc = witness_vkey_make(name, raw[0], raw + 1, out)) != 0)
		return rc;
	if (memcmp(out->id, id, 4) != 0) {
		memset(out, 0, sizeof(*out));
		return sd_error_set(SD_E_INVAL, "vkey: the key id is not the one its name and key make");
	}
	return 0;
}

int
witness_vkey_format(const struct witness_vkey *k, char *out, size_t cap)
{
	uint8_t raw[1 + WITNESS_ED25519_LEN];
	char b64[64], hex[9];
	int n;

	if (k->name[0] == '\0')
		return sd_error_set(SD_E_INVAL, "vkey: a key without a name");
	raw[0] = k->type;
	memcpy(raw + 1, k->pub, WITNESS_ED25519_LEN);
	checkpoint_b64(raw, sizeof(raw), b64);
	sd_hex_encode(k->id, 4, hex);
	n = snprintf(out, cap, "%s+%s+%s", k->name, hex, b64);
	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "vkey too long");
	return 0;
}

int
witness_vkey_load(const char *path, uint8_t want, struct witness_vkey *out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sd_file_read(path, WN_KEY_FILE_MAX, &buf, &len)) != 0)
		return rc;
	if (len >= 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
		if (want != WITNESS_TYPE_ED25519) {
			rc = sd_error_set(SD_E_UNSUPPORTED, "%s: a PEM key has no witness name: give its vkey line "
			    "(signerctl audit witness vkey)", path);
			goto out;
		}
		out->type = WITNESS_TYPE_ED25519;
		rc = checkpoint_ed25519_from_pem((const char *)buf, len, out->pub);
		goto out;
	}
	if ((rc = witness_vkey_parse((const char *)buf, len, out)) != 0)
		goto out;
	if (out->type != want)
		rc = sd_error_set(SD_E_UNSUPPORTED, "%s: a vkey of signature type 0x%02x, not 0x%02x", path, out->type, want);
out:
	if (rc != 0) {
		char detail[256];

		if (snprintf(detail, sizeof(detail), "%s", sd_error_detail(rc)) < 0)
			detail[0] = '\0';
		memset(out, 0, sizeof(*out));
		if (strncmp(detail, path, strlen(path)) != 0)
			(void)sd_error_set(rc, "%s: %s", path, detail);
	}
	free(buf);
	return rc;
}

static int
wn_ed25519_verify(const uint8_t pub[WITNESS_ED25519_LEN], const uint8_t *sig, const uint8_t *msg, size_t len)
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc;

	if ((pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, WITNESS_ED25519_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot set up Ed25519 verification");
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, 64, msg, len) == 1 ? 0 : SD_E_INVAL;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

/* The signature line of name and id in wn, from *index on; its blob (key id first) in blob. */
static int
wn_find(const struct witness_note *wn, const char *name, const uint8_t id[4], size_t *index, uint8_t *blob,
    size_t cap, size_t *blob_len)
{
	size_t i, len = strlen(name), got;
	uint8_t head[6];

	for (i = *index; i < wn->nsigs; i++) {
		const struct witness_sig *s = &wn->sigs[i];

		if (s->name_len != len || memcmp(s->name, name, len) != 0)
			continue;
		/* The first 8 characters are the key id and 2 more bytes: unknown kinds of signature are skipped unread. */
		if (checkpoint_b64_decode(s->b64, 8, head, sizeof(head), &got) != 0 || memcmp(head, id, 4) != 0)
			continue;
		*index = i;
		if (checkpoint_b64_decode(s->b64, s->b64_len, blob, cap, blob_len) != 0)
			return sd_error_set(SD_E_INVAL, "the signature of %s is not base64 of its key id and signature", name);
		return 0;
	}
	return SD_E_NOT_FOUND;
}

int
witness_note_verify_log(const char *note, const struct witness_note *wn, const char *origin,
    const struct witness_vkey *k, size_t *index)
{
	struct witness_vkey per;
	uint8_t blob[WN_COSIG_BLOB];
	size_t len = 0, i = 0;
	int rc;

	if (k->name[0] == '\0') {
		if ((rc = witness_vkey_make(origin, WITNESS_TYPE_ED25519, k->pub, &per)) != 0)
			return rc;
		k = &per;
	}
	if ((rc = wn_find(wn, k->name, k->id, &i, blob, sizeof(blob), &len)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(rc, "no signature by the log key %s", k->name) : rc;
	if (len != 4 + 64)
		return sd_error_set(SD_E_INVAL, "the log signature of %s is %zu bytes, not an Ed25519 one", k->name, len);
	if ((rc = wn_ed25519_verify(k->pub, blob + 4, (const uint8_t *)note, wn->text_len)) != 0)
		return rc == SD_E_INVAL ? sd_error_set(rc, "the log signature of %s does not verify", k->name) : rc;
	*index = i;
	return 0;
}

int
witness_cosig_verify(const char *note, const struct witness_note *wn, const struct witness_vkey *k, uint64_t *time)
{
	uint8_t blob[WN_COSIG_BLOB], *msg = NULL;
	size_t len = 0, i = 0, hlen;
	char head[64];
	uint64_t t = 0;
	int rc, n;

	*time = 0;
	if ((rc = wn_find(wn, k->name, k->id, &i, blob, sizeof(blob), &len)) != 0)
		return rc == SD_E_NOT_FOUND ? sd_error_set(rc, "no cosignature by %s", k->name) : rc;
	if (len != WN_COSIG_BLOB)
		return sd_error_set(SD_E_INVAL, "the cosignature of %s is %zu bytes, not a timestamped Ed25519 one", k->name, len);
	for (n = 0; n < 8; n++)
		t = t << 8 | blob[4 + n];
	if (t == 0 || t > INT64_MAX)
		return sd_error_set(SD_E_INVAL, "the cosignature of %s has no valid time", k->name);
	n = snprintf(head, sizeof(head), WN_COSIG_HEADER "%" PRIu64 "\n", t);
	if (n < 0 || (size_t)n >= sizeof(head))
		return sd_error_set(SD_E_INTERNAL, "cosignature header truncated");
	hlen = (size_t)n;
	if ((msg = malloc(hlen + wn->text_len)) == NULL)
		return SD_E_NOMEM;
	memcpy(msg, head, hlen);
	memcpy(msg + hlen, note, wn->text_len);
	rc = wn_ed25519_verify(k->pub, blob + 12, msg, hlen + wn->text_len);
	free(msg);
	if (rc != 0)
		return rc == SD_E_INVAL ? sd_error_set(rc, "the cosignature of %s does not verify", k->name) : rc;
	*time = t;
	return 0;
}

int
witness_origin_hash(const char *origin, char hex[65])
{
	uint8_t md[32];

	if (EVP_Digest(origin, strlen(origin), md, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of an origin failed");
	sd_hex_encode(md, 32, hex);
	return 0;
}

int
witness_key_generate(const char *path)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long len = 0;
	size_t off = 0;
	ssize_t n;
	int fd = -1, rc;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 || (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		rc = sd_error_set(SD_E_CRYPTO, "cannot make an Ed25519 key");
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		rc = sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (off < (size_t)len) {
		if ((n = write(fd, pem + off, (size_t)len - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = sd_error_set(SD_E_IO, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = sd_error_set(SD_E_IO, "%s: close: %s", path, strerror(errno));
	if (rc != 0 && fd >= 0)
		unlink(path);
	if (pem != NULL && len > 0)
		OPENSSL_cleanse(pem, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

int
witness_signer_load(const char *path, const char *name, struct witness_signer **out)
{
	struct witness_signer *s = NULL;
	uint8_t *buf = NULL, pub[WITNESS_ED25519_LEN];
	size_t len = 0, plen = sizeof(pub);
	struct stat st;
	BIO *bio = NULL;
	int rc;

	*out = NULL;
	if (stat(path, &st) != 0)
		return sd_error_set(SD_E_IO, "%s: %s", path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return sd_error_set(SD_E_INVAL, "%s: the witness key must not be readable by group or others (chmod 600)", path);
	if ((rc = sd_file_read(path, WN_KEY_FILE_MAX, &buf, &len)) != 0)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = SD_E_NOMEM;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (s->key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		rc = sd_error_set(SD_E_INVAL, "%s: not a PEM private key", path);
		goto out;
	}
	if (EVP_PKEY_get_id(s->key) != EVP_PKEY_ED25519) {
		rc = sd_error_set(SD_E_UNSUPPORTED, "%s: the witness key is not Ed25519", path);
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(s->key, pub, &plen) != 1 || plen != sizeof(pub)) {
		rc = sd_error_set(SD_E_CRYPTO, "%s: cannot read the public key", path);
		goto out;
	}
	if ((rc = witness_vkey_make(name, WITNESS_TYPE_COSIG, pub, &s->vk)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	witness_signer_free(s);
	return rc;
}

void
witness_signer_free(struct witness_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s);
}

const struct witness_vkey *
witness_signer_vkey(const struct witness_signer *s)
{
	return &s->vk;
}

int
witness_cosign(const struct witness_signer *s, const char *text, size_t text_len, uint64_t time, char *line,
    size_t cap, size_t *line_len)
{
	uint8_t blob[WN_COSIG_BLOB], *msg = NULL;
	char head[64], b64[(WN_COSIG_BLOB + 2) / 3 * 4 + 1];
	EVP_MD_CTX *ctx = NULL;
	size_t hlen, sig_len = 64;
	int rc, n, i;

	*line_len = 0;
	if (time == 0 || time > INT64_MAX)
		return sd_error_set(SD_E_INVAL, "a cosignature needs a time after 1970");
	if (text_len > WITNESS_NOTE_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint text too long");
	n = snprintf(head, sizeof(head), WN_COSIG_HEADER "%" PRIu64 "\n", time);
	if (n < 0 || (size_t)n >= sizeof(head))
		return sd_error_set(SD_E_INTERNAL, "cosignature header truncated");
	hlen = (size_t)n;
	if ((msg = malloc(hlen + text_len)) == NULL)
		return SD_E_NOMEM;
	memcpy(msg, head, hlen);
	memcpy(msg + hlen, text, text_len);
	memcpy(blob, s->vk.id, 4);
	for (i = 0; i < 8; i++)
		blob[4 + i] = (uint8_t)(time >> (56 - 8 * i));
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, s->key, NULL) != 1 ||
	    EVP_DigestSign(ctx, blob + 12, &sig_len, msg, hlen + text_len) != 1 || sig_len != 64) {
		rc = sd_error_set(SD_E_CRYPTO, "Ed25519 cosignature failed");
		goto out;
	}
	checkpoint_b64(blob, sizeof(blob), b64);
	n = snprintf(line, cap, WN_DASH "%s %s\n", s->vk.name, b64);
	if (n < 0 || (size_t)n >= cap) {
		rc = sd_error_set(SD_E_TOO_LARGE, "cosignature line too long");
		goto out;
	}
	*line_len = (size_t)n;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(msg);
	return rc;
}

int
witness_request_parse(const char *req, size_t len, uint64_t *old, uint8_t proof[][32], size_t *n, size_t *note_off)
{
	const char *nl, *line = req, *end = req + len;
	size_t got = 0;

	*old = 0;
	*n = 0;
	*note_off = 0;
	if (len > WITNESS_REQUEST_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "request: %zu bytes, over %d", len, WITNESS_REQUEST_MAX);
	if ((nl = memchr(line, '\n', len)) == NULL || nl - line < 5 || memcmp(line, "old ", 4) != 0 ||
	    checkpoint_u64(line + 4, (size_t)(nl - line - 4), old) != 0)
		return sd_error_set(SD_E_INVAL, "request: the first line is not \"old <size>\"");
	for (line = nl + 1;; line = nl + 1) {
		if (line >= end || (nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			return sd_error_set(SD_E_INVAL, "request: no blank line before the checkpoint");
		if (nl == line)
			break;
		if (*n == WITNESS_PROOF_MAX)
			return sd_error_set(SD_E_TOO_LARGE, "request: more than %d consistency proof lines", WITNESS_PROOF_MAX);
		if (checkpoint_b64_decode(line, (size_t)(nl - line), proof[*n], 32, &got) != 0 || got != 32)
			return sd_error_set(SD_E_INVAL, "request: proof line %zu is not a base64 hash", *n + 1);
		(*n)++;
	}
	*note_off = (size_t)(nl + 1 - req);
	return 0;
}
