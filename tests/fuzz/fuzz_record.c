/*
 * Journal records (README "Journal format"): journal_record_decode() on
 * arbitrary bytes, as the auditor reads an export or a damaged journal.
 * A record that decodes must encode back to the very same bytes: the
 * format has one encoding per record, and the next record's prev_hash
 * commits to them.
 *
 * fuzz-options: -max_len=8192 (the texts' 4 KiB limit; longer fields are only claimed)
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "journal.h"
#include "sd_error.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_record *rec = NULL;
	uint8_t *again = NULL;
	size_t len = 0;
	int rc;

	rc = journal_record_decode(data, size, &rec);
	FUZZ_CHECK(rc == 0 || rc == SD_E_JOURNAL_CORRUPT);
	FUZZ_CHECK((rc == 0) == (rec != NULL));
	if (rc != 0)
		return 0;
	FUZZ_CHECK(strcmp(journal_record_type_name(rec->type), "unknown") != 0);
	rc = journal_record_encode(rec, &again, &len);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
	free(again);
	journal_record_free(rec);
	return 0;
}
