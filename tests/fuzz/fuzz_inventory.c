/*
 * The certificate index's readers (signer/journal/inventory_*.c): what
 * reindex and audit verify meet in a journal that may have been tampered
 * with. The first byte picks the reader: even, the certificate parser
 * (validity and SANs with the strict DER reader) on the rest; odd, the
 * index entry decoder, whose accepted input must encode back to the very
 * same bytes (one encoding per entry, so verify's byte comparison is sound).
 *
 * fuzz-options: -max_len=70000 (a 64 KiB certificate)
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "journal/inventory.h"

static void
fuzz_cert(const uint8_t *data, size_t size)
{
	struct journal_cert *c = calloc(1, sizeof(*c));
	size_t i, total = 0;

	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(inv_cert_parse(data, size, c) == 0);
	FUZZ_CHECK(c->parsed || (c->n_sans == 0 && c->sans == NULL && c->not_after == 0));
	for (i = 0; i < c->n_sans; i++) {
		FUZZ_CHECK(c->sans[i].type >= JOURNAL_SAN_DNS && c->sans[i].type <= JOURNAL_SAN_EMAIL);
		FUZZ_CHECK(c->sans[i].value[0] != '\0');
		total += strlen(c->sans[i].value);
	}
	/* Nothing read past the input: every SAN's text came from it (an IP's from at most 16 bytes). */
	FUZZ_CHECK(total <= size * 3);
	journal_cert_free(c);
}

static void
fuzz_entry(const uint8_t *data, size_t size)
{
	struct journal_cert *c = NULL;
	uint8_t *out = NULL;
	size_t len = 0;

	if (inv_entry_decode(data, size, &c) != 0)
		return;
	FUZZ_CHECK(c->serial_len >= 1 && c->serial_len <= JOURNAL_SERIAL_MAX && c->seq != 0);
	FUZZ_CHECK(inv_entry_encode(c, &out, &len) == 0);
	FUZZ_CHECK(len == size && memcmp(out, data, size) == 0);
	free(out);
	journal_cert_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_cert(data + 1, size - 1);
	else
		fuzz_entry(data + 1, size - 1);
	return 0;
}
