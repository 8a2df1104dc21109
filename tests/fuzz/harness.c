#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "harness.h"
#include "sd_error.h"

#define FUZZ_TMP_FILES 4

static char fuzz_dir[256];
static char fuzz_files[FUZZ_TMP_FILES][320];
static size_t fuzz_n_files;
static EVP_PKEY *fuzz_key;
static struct sd_config *fuzz_cfg;

static const char fuzz_profiles_text[] =
	"[hsm]\nmodule = module.so\ntoken = pkcs11:token=fuzz\npin_file = pin\n"
	"[ca]\nkey = pkcs11:token=fuzz;object=ca\ncertificate = ca.pem\nchain = chain.pem\n"
	"[journal]\npath = journal\n"
	"[api]\ntls_certificate = server.pem\ntls_key = server.key\nclient_ca = client-ca.pem\n"
	"[profile leaf]\n"
	"default_ttl = 12h\nmax_ttl = 7d\nbackdate = 60s\n"
	"key_usage = digitalSignature, keyEncipherment, keyAgreement\n"
	"ext_key_usage = serverAuth, clientAuth, emailProtection\n"
	"dns_suffixes = example.com, localhost\n"
	"ip_ranges = 10.0.0.0/8, 127.0.0.0/8, fd00::/8, ::1/128\n"
	"uri_prefixes = https://example.com/\n"
	"email_domains = example.com\n"
	"wildcards = true\n"
	"subject_attributes = CN, O, OU, C, ST, L, serialNumber\n"
	"[profile spiffe]\n"
	"default_ttl = 1h\nmax_ttl = 24h\n"
	"ext_key_usage = serverAuth, clientAuth\n"
	"spiffe_trust_domain = example.com\n"
	"subject_attributes = CN, O\ncn_must_be_san = false\n"
	"[profile sub-ca]\n"
	"ca = true\npath_len = 0\ndefault_ttl = 30d\nmax_ttl = 365d\nbackdate = 60s\n"
	"subject_attributes = CN, O, OU, C\n"
	"permitted_dns = example.com\nexcluded_ip = 0.0.0.0/0, ::/0\n"
	"crl_url = http://pki.example.com/ca.crl\nocsp_url = http://ocsp.example.com/\n"
	"ca_issuers_url = http://pki.example.com/ca.der\n";

/* Not a secret: the test key that signs the checkpoint seeds. */
static const uint8_t fuzz_key_seed[32] = {
	0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x70, 0x6f, 0x69, 0x6e, 0x74, 0x2d,
	0x6b, 0x65, 0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x61, 0x2d, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74,
};

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void
fuzz_tmp_cleanup(void)
{
	size_t i;

	for (i = 0; i < fuzz_n_files; i++)
		(void)unlink(fuzz_files[i]);
	if (fuzz_dir[0] != '\0')
		(void)rmdir(fuzz_dir);
}

const char *
fuzz_tmp_path(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	size_t i;
	int n;

	if (fuzz_dir[0] == '\0') {
		n = snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/signerd-fuzz.XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (n < 0 || (size_t)n >= sizeof(fuzz_dir) || mkdtemp(fuzz_dir) == NULL) {
			perror("fuzz: temporary directory");
			abort();
		}
		if (atexit(fuzz_tmp_cleanup) != 0)
			abort();
	}
	for (i = 0; i < fuzz_n_files; i++)
		if (strcmp(strrchr(fuzz_files[i], '/') + 1, name) == 0)
			return fuzz_files[i];
	if (fuzz_n_files == FUZZ_TMP_FILES)
		abort();
	n = snprintf(fuzz_files[fuzz_n_files], sizeof(fuzz_files[0]), "%s/%s", fuzz_dir, name);
	if (n < 0 || (size_t)n >= sizeof(fuzz_files[0]))
		abort();
	return fuzz_files[fuzz_n_files++];
}

void
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f;

	if ((f = fopen(path, "wb")) == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void
fuzz_key_free(void)
{
	EVP_PKEY_free(fuzz_key);
	fuzz_key = NULL;
}

EVP_PKEY *
fuzz_checkpoint_key(void)
{
	if (fuzz_key == NULL) {
		fuzz_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, fuzz_key_seed, sizeof(fuzz_key_seed));
		if (fuzz_key == NULL)
			abort();
		if (atexit(fuzz_key_free) != 0)
			abort();
	}
	return fuzz_key;
}

void
fuzz_checkpoint_pub(uint8_t pub[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(fuzz_checkpoint_key(), pub, &len) != 1 || len != 32)
		abort();
}

static void
fuzz_profiles_free(void)
{
	sd_config_free(fuzz_cfg);
	fuzz_cfg = NULL;
}

const struct sd_config *
fuzz_profiles(void)
{
	const char *path;

	if (fuzz_cfg == NULL) {
		path = fuzz_tmp_path("profiles.conf");
		fuzz_write_file(path, (const uint8_t *)fuzz_profiles_text, sizeof(fuzz_profiles_text) - 1);
		if (sd_config_load(path, &fuzz_cfg) != 0) {
			fprintf(stderr, "fuzz: profiles: %s\n", sd_error_detail(SD_E_CONFIG));
			abort();
		}
		if (atexit(fuzz_profiles_free) != 0)
			abort();
	}
	return fuzz_cfg;
}
