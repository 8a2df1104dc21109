/*
 * The witness's add-checkpoint body (witness_request_parse()) and the
 * signed notes it and audit verify read (witness_note_parse(),
 * witness_checkpoint_parse()): what parses stays inside its input and
 * within its bounds (63 proof lines, 16 signatures).
 *
 * fuzz-options: -max_len=20000 (WITNESS_REQUEST_MAX: 19252 bytes)
 */
#include <string.h>

#include "harness.h"
#include "sd_error.h"
#include "witness/witness.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t proof[WITNESS_PROOF_MAX][32];
	const char *req = (const char *)data, *note;
	struct witness_checkpoint cp;
	struct witness_note wn;
	uint64_t old;
	size_t n, off, i, len;
	int rc;

	rc = witness_request_parse(req, size, &old, proof, &n, &off);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_TOO_LARGE);
	if (rc != 0) {
		/* The same bytes as a note on their own. */
		note = req;
		len = size;
	} else {
		FUZZ_CHECK(n <= WITNESS_PROOF_MAX && off >= 7 && off <= size && data[off - 1] == '\n');
		note = req + off;
		len = size - off;
	}
	rc = witness_note_parse(note, len, &wn);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL || rc == SD_E_TOO_LARGE);
	if (rc != 0)
		return 0;
	FUZZ_CHECK(wn.nsigs >= 1 && wn.nsigs <= WITNESS_SIGS_MAX && wn.text_len < len && note[wn.text_len] == '\n');
	for (i = 0; i < wn.nsigs; i++) {
		const struct witness_sig *s = &wn.sigs[i];

		FUZZ_CHECK(s->line > note + wn.text_len && s->line + s->line_len <= note + len);
		FUZZ_CHECK(s->line[s->line_len - 1] == '\n' && s->name_len > 0 && s->b64 + s->b64_len < s->line + s->line_len);
		FUZZ_CHECK(memchr(s->name, ' ', s->name_len) == NULL);
	}
	rc = witness_checkpoint_parse(note, wn.text_len, &cp);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL);
	if (rc == 0)
		FUZZ_CHECK(strlen(cp.origin) > 0 && strlen(cp.origin) <= WITNESS_NAME_MAX);
	return 0;
}
