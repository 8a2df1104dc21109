/*
 * signerd's own submissions to its witnesses ([journal] witness, README
 * "Witnesses"), in the signer process: requests out and answers judged,
 * through each witness's exchange in the spool (push/push.h); signerd-push
 * does the network. Used by signer_journal.c only.
 */
#ifndef SIGNER_CORE_WITNESS_H
#define SIGNER_CORE_WITNESS_H

#include "config.h"
#include "sd_error.h"

struct journal;
struct sd_metrics_text;
struct signer_witness;

/*
 * The witnesses of cfg, on journal j (borrowed), or *out NULL when cfg has
 * none. Their exchanges are made in the spool. Errors: SD_E_CONFIG (a
 * witness line that does not parse; an add-checkpoint URL that is also a
 * checkpoint_url), those of push_exchange_prepare().
 */
SD_WUR int signer_witness_open(const struct sd_config *cfg, struct journal *j, struct signer_witness **out);
void signer_witness_free(struct signer_witness *sw);

/*
 * A new checkpoint (note, just journaled): its add-checkpoint body for
 * each witness, with a consistency proof from the size that witness
 * stands at, replaces the older in its exchange. Failures are logged (the
 * next checkpoint tries again). NULL is a no-op.
 */
void signer_witness_checkpoint(struct signer_witness *sw, const char *note);

/*
 * The answers signerd-push wrote back, judged and removed: a 200's
 * cosignature verified against the journal's own checkpoint and stored; a
 * 409 makes the request again from the witness's size (once per size);
 * anything else logged as a refusal. NULL is a no-op.
 */
void signer_witness_poll(struct signer_witness *sw);

/*
 * signerd_witness_cosigned_tree_size, signerd_witness_cosigned_age_seconds
 * (now minus the time line of the newest checkpoint the witness cosigned)
 * and signerd_witness_refusals_total, labelled witness="NAME".
 */
void signer_witness_metrics_text(struct signer_witness *sw, struct sd_metrics_text *t);

#endif
