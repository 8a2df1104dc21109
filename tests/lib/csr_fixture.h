/*
 * CSRs made with OpenSSL for the CSR test programs (never shipped). A helper
 * aborts when OpenSSL fails: a fixture that cannot be built is no test result.
 */
#ifndef CSR_FIXTURE_H
#define CSR_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct csr;

/* A P-256 and an RSA-2048 key, made on first use and kept until csr_fixture_free_keys(). */
EVP_PKEY *key_p256(void);
EVP_PKEY *key_rsa2048(void);

/* Free the two kept keys, once the tests have run. */
void csr_fixture_free_keys(void);

/* RSA-2048, P-256 (shared), P-384, P-521, Ed25519 (new: free_keys_of_each_type()). */
void one_key_of_each_type(EVP_PKEY *keys[5]);
void free_keys_of_each_type(EVP_PKEY *keys[5]);

/* The contents of a memory BIO as a string (free()). */
char *bio_text(BIO *bio);

/* der as PEM under label (free()). */
char *pem_of(const char *label, const uint8_t *der, size_t len);

/* Add one extension, made from OpenSSL's config syntax (e.g. "DNS:a,IP:1.2.3.4"), to exts. */
void push_conf_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value);

/*
 * A signed CSR for k with subject O=Org and CN cn (NULL: none) and the
 * extensions in exts (NULL: no extensionRequest), as DER (OPENSSL_free()).
 */
uint8_t *make_csr_der(EVP_PKEY *k, const char *cn, STACK_OF(X509_EXTENSION) *exts, size_t *len);

/* The same as PEM, with the subjectAltName san in OpenSSL's config syntax (NULL: no extensionRequest) (free()). */
char *make_csr(EVP_PKEY *k, const char *cn, const char *san);

/*
 * A CSR with subject name (or O=Org when NULL), signed with md ("SHA1",
 * "SHA256"; NULL for EdDSA), PSS if asked, as PEM (free()).
 */
char *make_csr_full(EVP_PKEY *k, X509_NAME *name, STACK_OF(X509_EXTENSION) *exts, const char *md, bool pss);

/* csr_parse() of the PEM string pem, with no RSA minimum beyond the built-in one. */
int parse(const char *pem, struct csr **out);

/* The same, for the result code alone; a refusal must leave no CSR behind. */
int parse_only(const char *pem);

#endif
