/*
 * Signed checkpoints (C2SP tlog-checkpoint in a signed note): the parser
 * that `signerctl audit verify --checkpoint` and the journal's own
 * checkpoint records go through, checkpoint_parse(), then the signature
 * check with the fixed key the seeds are signed with. A note that parses
 * has exactly the body checkpoint_body() makes of what was parsed, so that
 * one checkpoint has one text (what its signature covers).
 *
 * fuzz-options: -max_len=1100 (CHECKPOINT_NOTE_MAX: 1024 bytes)
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "journal/checkpoint_note.h"
#include "sd_error.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pub[CHECKPOINT_ED25519_LEN];
	static int have_pub;
	struct checkpoint cp;
	char body[CHECKPOINT_NOTE_MAX], *note;
	size_t body_len;
	int rc;

	if (!have_pub) {
		fuzz_checkpoint_pub(pub);
		have_pub = 1;
	}
	rc = checkpoint_parse((const char *)data, size, &cp);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL);
	if (rc != 0)
		return 0;
	FUZZ_CHECK(cp.body_len > 0 && cp.body_len < size);
	FUZZ_CHECK(checkpoint_body(cp.origin, cp.size, cp.root, cp.time_ms, body, sizeof(body), &body_len) == 0);
	FUZZ_CHECK(body_len == cp.body_len && memcmp(body, data, body_len) == 0);
	/* checkpoint_verify_sig() reads the note as a C string, as its callers keep it. */
	note = fuzz_strndup(data, size);
	rc = checkpoint_verify_sig(note, &cp, pub);
	FUZZ_CHECK(rc == 0 || rc == SD_E_INVAL);
	free(note);
	return 0;
}
