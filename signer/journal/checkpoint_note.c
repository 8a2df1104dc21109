/*
 * C2SP tlog-checkpoint bodies and Ed25519 signed notes (see checkpoint_note.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "checkpoint_note.h"
#include "sd_file.h"

/* U+2014 EM DASH, which starts every signature line. */
#define CP_DASH "\xe2\x80\x94"
#define CP_DASH_LEN 3

void
checkpoint_b64(const uint8_t *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	out[n < 0 ? 0 : n] = '\0';
}

/*
 * Strict standard base64 decode: EVP_DecodeBlock() also takes '=' inside
 * the text, white space around it and stray bits in the last character;
 * only the one canonical encoding of the bytes passes, so that one note has
 * one text (the text its signatures cover).
 */
int
checkpoint_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t buf[CHECKPOINT_B64_MAX];
	char again[sizeof(buf) / 3 * 4 + 8];
	size_t pad = 0;
	int n;

	if (in_len == 0 || in_len % 4 != 0 || in_len / 4 * 3 > sizeof(buf))
		return -1;
	if (in[in_len - 1] == '=')
		pad++;
	if (in_len > 1 && in[in_len - 2] == '=')
		pad++;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)in_len)) < 0 || (size_t)n < pad ||
	    (size_t)n - pad > cap)
		return -1;
	checkpoint_b64(buf, (size_t)n - pad, again);
	if (strlen(again) != in_len || memcmp(again, in, in_len) != 0)
		return -1;
	memcpy(out, buf, (size_t)n - pad);
	*out_len = (size_t)n - pad;
	return 0;
}

/* Exactly want bytes of strict base64. */
static int
cp_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t want)
{
	size_t got = 0;

	return checkpoint_b64_decode(in, in_len, out, want, &got) == 0 && got == want ? 0 : -1;
}

static int
cp_origin_ok(const char *origin)
{
	size_t i, len = strlen(origin);

	if (len == 0 || len > CHECKPOINT_ORIGIN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)origin[i] < 0x21 || origin[i] == 0x7f || origin[i] == '+')
			return 0;
	return 1;
}

int
checkpoint_body(const char *origin, uint64_t size, const uint8_t root[32], int64_t time_ms, char *out, size_t cap,
    size_t *len)
{
	char b64[64];
	int n;

	*len = 0;
	if (origin == NULL || !cp_origin_ok(origin))
		return sd_error_set(SD_E_INVAL, "checkpoint origin must be 1..%d printable characters without spaces or '+'",
		    CHECKPOINT_ORIGIN_MAX);
	checkpoint_b64(root, 32, b64);
	n = snprintf(out, cap, "%s\n%" PRIu64 "\n%s\ntime %" PRId64 "\n", origin, size, b64, time_ms);
	if (n < 0 || (size_t)n >= cap)
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint body too long");
	*len = (size_t)n;
	return 0;
}

int
checkpoint_key_id(const char *name, const uint8_t pub[CHECKPOINT_ED25519_LEN], uint8_t id[4])
{
	uint8_t buf[CHECKPOINT_ORIGIN_MAX + 2 + CHECKPOINT_ED25519_LEN], md[32];
	size_t len = strlen(name);

	if (len > CHECKPOINT_ORIGIN_MAX)
		return sd_error_set(SD_E_INVAL, "note key name too long");
	memcpy(buf, name, len);
	buf[len] = 0x0a;
	buf[len + 1] = 0x01;	/* signature type: Ed25519 */
	memcpy(buf + len + 2, pub, CHECKPOINT_ED25519_LEN);
	if (EVP_Digest(buf, len + 2 + CHECKPOINT_ED25519_LEN, md, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of a note key failed");
	memcpy(id, md, 4);
	return 0;
}

int
checkpoint_note_assemble(const char *body, size_t body_len, const char *name, const uint8_t id[4],
    const uint8_t sig[CHECKPOINT_SIG_LEN], char **note)
{
	uint8_t blob[4 + CHECKPOINT_SIG_LEN];
	char b64[(4 + CHECKPOINT_SIG_LEN) / 3 * 4 + 8];
	size_t cap;
	char *out;
	int n;

	*note = NULL;
	memcpy(blob, id, 4);
	memcpy(blob + 4, sig, CHECKPOINT_SIG_LEN);
	checkpoint_b64(blob, sizeof(blob), b64);
	cap = body_len + strlen(name) + strlen(b64) + 16;
	if (cap > CHECKPOINT_NOTE_MAX)
		return sd_error_set(SD_E_TOO_LARGE, "checkpoint note too long");
	if ((out = malloc(cap)) == NULL)
		return SD_E_NOMEM;
	n = snprintf(out, cap, "%.*s\n" CP_DASH " %s %s\n", (int)body_len, body, name, b64);
	if (n < 0 || (size_t)n >= cap) {
		free(out);
		return sd_error_set(SD_E_INTERNAL, "checkpoint note truncated");
	}
	*note = out;
	return 0;
}

/* The next line of s[0..len) at *off, without its newline; -1 when no newline ends it. */
static int
cp_line(const char *s, size_t len, size_t *off, const char **line, size_t *line_len)
{
	const char *nl;

	if (*off >= len || (nl = memchr(s + *off, '\n', len - *off)) == NULL)
		return -1;
	*line = s + *off;
	*line_len = (size_t)(nl - (s + *off));
	*off += *line_len + 1;
	return 0;
}

int
checkpoint_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
checkpoint_parse(const char *note, size_t len, struct checkpoint *out)
{
	const char *line, *sp;
	size_t off = 0, n, name_len;
	uint8_t blob[4 + CHECKPOINT_SIG_LEN];
	uint64_t t;

	memset(out, 0, sizeof(out[0]));
	if (len > CHECKPOINT_NOTE_MAX)
		return sd_error_set(SD_E_INVAL, "checkpoint: %zu bytes, over %d", len, CHECKPOINT_NOTE_MAX);
	if (cp_line(note, len, &off, &line, &n) != 0 || n == 0 || n > CHECKPOINT_ORIGIN_MAX)
		return sd_error_set(SD_E_INVAL, "checkpoint: no origin line");
	memcpy(out->origin, line, n);
	out->origin[n] = '\0';
	/* A NUL would end the origin early: "origin\0junk" must not read as "origin". */
	if (strlen(out->origin) != n || !cp_origin_ok(out->origin))
		return sd_error_set(SD_E_INVAL, "checkpoint: bad origin line");
	if (cp_line(note, len, &off, &line, &n) != 0 || checkpoint_u64(line, n, &out->size) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: bad tree size line");
	if (cp_line(note, len, &off, &line, &n) != 0 || cp_b64_decode(line, n, out->root, 32) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: bad root hash line");
	if (cp_line(note, len, &off, &line, &n) != 0 || n < 6 || memcmp(line, "time ", 5) != 0 ||
	    checkpoint_u64(line + 5, n - 5, &t) != 0 || t > INT64_MAX)
		return sd_error_set(SD_E_INVAL, "checkpoint: bad time line");
	out->time_ms = (int64_t)t;
	out->body_len = off;
	if (cp_line(note, len, &off, &line, &n) != 0 || n != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: no blank line after the body");
	if (cp_line(note, len, &off, &line, &n) != 0 || n < CP_DASH_LEN + 2 || memcmp(line, CP_DASH " ", CP_DASH_LEN + 1) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: no signature line");
	line += CP_DASH_LEN + 1;
	n -= CP_DASH_LEN + 1;
	if ((sp = memchr(line, ' ', n)) == NULL)
		return sd_error_set(SD_E_INVAL, "checkpoint: malformed signature line");
	name_len = (size_t)(sp - line);
	if (name_len != strlen(out->origin) || memcmp(line, out->origin, name_len) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: signature key name is not the origin");
	if (cp_b64_decode(sp + 1, n - name_len - 1, blob, sizeof(blob)) != 0)
		return sd_error_set(SD_E_INVAL, "checkpoint: signature is not base64 of a key id and an Ed25519 signature");
	memcpy(out->key_id, blob, 4);
	memcpy(out->sig, blob + 4, CHECKPOINT_SIG_LEN);
	if (off != len)
		return sd_error_set(SD_E_INVAL, "checkpoint: %zu bytes after the signature line", len - off);
	return 0;
}

int
checkpoint_verify_sig(const char *note, const struct checkpoint *cp, const uint8_t pub[CHECKPOINT_ED25519_LEN])
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t id[4];
	int rc;

	if ((rc = checkpoint_key_id(cp->origin, pub, id)) != 0)
		goto out;
	if (memcmp(id, cp->key_id, 4) != 0) {
		rc = sd_error_set(SD_E_INVAL, "checkpoint: signed by another key (key id %02x%02x%02x%02x, audit key %02x%02x%02x%02x)",
		    cp->key_id[0], cp->key_id[1], cp->key_id[2], cp->key_id[3], id[0], id[1], id[2], id[3]);
		goto out;
	}
	if ((pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, CHECKPOINT_ED25519_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey, NULL) != 1) {
		rc = sd_error_set(SD_E_CRYPTO, "checkpoint: cannot set up Ed25519 verification");
		goto out;
	}
	if (EVP_DigestVerify(ctx, cp->sig, CHECKPOINT_SIG_LEN, (const unsigned char *)note, cp->body_len) != 1) {
		rc = sd_error_set(SD_E_INVAL, "checkpoint: the signature does not verify with the audit key");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
cp_raw_ed25519(EVP_PKEY *pkey, uint8_t pub[CHECKPOINT_ED25519_LEN])
{
	size_t len = CHECKPOINT_ED25519_LEN;

	if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		return sd_error_set(SD_E_UNSUPPORTED, "the audit key is not an Ed25519 key");
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != CHECKPOINT_ED25519_LEN)
		return sd_error_set(SD_E_CRYPTO, "cannot read the Ed25519 public key");
	return 0;
}

int
checkpoint_ed25519_from_spki(const uint8_t *spki, size_t len, uint8_t pub[CHECKPOINT_ED25519_LEN])
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey;
	int rc;

	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	rc = cp_raw_ed25519(pkey, pub);
	EVP_PKEY_free(pkey);
	return rc;
}

int
checkpoint_ed25519_from_pem(const char *pem, size_t len, uint8_t pub[CHECKPOINT_ED25519_LEN])
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int rc;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return sd_error_set(SD_E_INVAL, "audit public key: cannot read");
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return sd_error_set(SD_E_INVAL, "audit public key: not a PEM public key");
	rc = cp_raw_ed25519(pkey, pub);
	EVP_PKEY_free(pkey);
	return rc;
}

int
checkpoint_ed25519_fingerprint(const uint8_t pub[CHECKPOINT_ED25519_LEN], uint8_t fp[32])
{
	/* The one DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410 section 4): prefix, then the key. */
	static const uint8_t prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	uint8_t spki[sizeof(prefix) + CHECKPOINT_ED25519_LEN];

	memcpy(spki, prefix, sizeof(prefix));
	memcpy(spki + sizeof(prefix), pub, CHECKPOINT_ED25519_LEN);
	if (EVP_Digest(spki, sizeof(spki), fp, NULL, EVP_sha256(), NULL) != 1)
		return sd_error_set(SD_E_CRYPTO, "SHA-256 of the audit key failed");
	return 0;
}

int
checkpoint_fingerprint_parse(const char *hex, uint8_t fp[32])
{
	size_t i, len;
	int hi, lo;

	if (hex == NULL)
		return sd_error_set(SD_E_INVAL, "no fingerprint");
	len = strnlen(hex, 65);
	if (len != 64)
		return sd_error_set(SD_E_INVAL, "a SHA-256 fingerprint is 64 hex digits, not %s%zu", len > 64 ? "over " : "",
		    len > 64 ? (size_t)64 : len);
	for (i = 0; i < 32; i++) {
		if ((hi = sd_hex_digit(hex[2 * i])) < 0 || (lo = sd_hex_digit(hex[2 * i + 1])) < 0)
			return sd_error_set(SD_E_INVAL, "fingerprint: character %zu is not a hex digit",
			    hi < 0 ? 2 * i + 1 : 2 * i + 2);
		fp[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
