/*
 * Checkpoints leave the box (README "Checkpoints", "Pushing checkpoints"):
 * the signer spools each signed note durably, once per receiver
 * ([journal] checkpoint_url), and signerd-push, a process of its own that
 * never maps the HSM module nor opens the journal, POSTs the spooled
 * notes oldest first and removes each only once its receiver answered 2xx.
 *
 * The spool is the only channel between the two: a directory per receiver,
 * <spool>/<first 16 hex digits of SHA-256(URL)>/, holding
 *   NNNNNNNNNNNNNNNNNNNN.note   one note, named by its tree size (20 digits,
 *                               so that name order is tree order)
 *   url                         the receiver's URL, for whoever looks
 *   acked                       "<tree size> <note time ms> <ack time ms>\n"
 *                               of the newest note the receiver took
 * so that whatever the spool holds survives a restart of either process.
 *
 * push_spool.c (this header's first half) is linked into signerd and
 * signerd-push and knows no libcurl; push_send.c (the senders) only into
 * signerd-push; push_proc.c (starting and stopping it) only into signerd.
 */
#ifndef SIGNER_PUSH_H
#define SIGNER_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sd_error.h"

#define PUSH_NOTE_MAX 4096		/* bytes of one spooled note (a checkpoint note is at most 1 KiB) */
#define PUSH_DIR_MAX 4096		/* bytes of a receiver's spool directory path */
#define PUSH_SCAN_MAX 200000		/* note files one scan of a directory lists (checkpoint_spool_max <= 100000) */
#define PUSH_ID_LEN 16			/* hex digits naming a receiver's directory */

/* The spool's side in the signer: each receiver's directory and bound. Opaque. */
struct push_spool;

/*
 * Make the spool of cfg ([journal] checkpoint_spool, 0700, and its parent
 * when missing) and one directory per checkpoint_url, each with its url
 * file. Called by signerd before it starts signerd-push (so that both see
 * the directories) and again by the journal's checkpointer.
 * Errors: SD_E_CONFIG (the spool is writable by others, or not a
 * directory), SD_E_IO, SD_E_NOMEM, SD_E_CRYPTO.
 */
SD_WUR int push_spool_prepare(const struct sd_config *cfg);

/*
 * The signer's handle on the spool of cfg (push_spool_prepare() first), or
 * *out NULL when cfg has no checkpoint_url. Errors: those of
 * push_spool_prepare().
 */
SD_WUR int push_spool_open(const struct sd_config *cfg, struct push_spool **out);
void push_spool_free(struct push_spool *s);

/*
 * Spool note (a signed checkpoint of tree size) for every receiver: file,
 * fsync, rename, fsync of the directory, before it returns. Past
 * checkpoint_spool_max notes a receiver's oldest are removed and a warning
 * logged. A receiver whose spool cannot be written is logged and skipped;
 * the error of the last such is returned (SD_E_IO), the others still got
 * the note. Thread-safe against signerd-push, which only reads and removes.
 */
SD_WUR int push_spool_put(struct push_spool *s, uint64_t size, const char *note, size_t len);

/*
 * The spool's gauges for GET /metrics, per receiver (label receiver="URL"):
 * signerd_checkpoint_push_spooled, signerd_checkpoint_push_acked_age_seconds
 * (now minus the time line of the newest note the receiver acknowledged),
 * signerd_checkpoint_push_acked_tree_size and
 * signerd_checkpoint_push_dropped_total (since start).
 */
struct sd_metrics_text;
void push_spool_metrics_text(struct push_spool *s, struct sd_metrics_text *t);

/* Shared by both processes. */

/* dir (cap bytes) = spool/<id of url>. Errors: SD_E_TOO_LARGE, SD_E_CRYPTO. */
SD_WUR int push_receiver_dir(const char *spool, const char *url, char *dir, size_t cap);

/*
 * The tree sizes of the notes in dir, ascending, in a new array (*sizes,
 * free()); at most PUSH_SCAN_MAX. A missing directory holds none.
 * Errors: SD_E_IO, SD_E_NOMEM.
 */
SD_WUR int push_spool_scan(const char *dir, uint64_t **sizes, size_t *n);

/*
 * Read the note of tree size in dir into buf (cap bytes, NUL-terminated);
 * *time_ms is its "time" line. Errors: SD_E_NOT_FOUND (gone: sent or
 * dropped meanwhile), SD_E_TOO_LARGE, SD_E_INVAL (not a checkpoint note),
 * SD_E_IO.
 */
SD_WUR int push_spool_read(const char *dir, uint64_t size, char *buf, size_t cap, size_t *len, int64_t *time_ms);

/* Remove the note of tree size from dir (gone already is fine). Errors: SD_E_IO. */
SD_WUR int push_spool_remove(const char *dir, uint64_t size);

/* The acked file of dir: write (atomically) and read. Read errors: SD_E_NOT_FOUND, SD_E_IO, SD_E_INVAL. */
SD_WUR int push_acked_write(const char *dir, uint64_t size, int64_t note_ms, int64_t acked_ms);
SD_WUR int push_acked_read(const char *dir, uint64_t *size, int64_t *note_ms, int64_t *acked_ms);

/*
 * A witness's exchange (README "Witnesses"): the signer writes the
 * add-checkpoint body for its newest checkpoint, signerd-push POSTs it and
 * writes back what the witness answered; the signer checks the answer
 * against the journal. A directory <spool>/<id of the add-checkpoint URL>/
 * holding
 *   NNNNNNNNNNNNNNNNNNNN.request  the body for the checkpoint of that tree size
 *   NNNNNNNNNNNNNNNNNNNN.answer   "<HTTP status>\n" and the witness's answer to it
 *   url
 */
#define PUSH_REQUEST ".request"
#define PUSH_ANSWER ".answer"
#define PUSH_EXCHANGE_MAX (24 * 1024)	/* bytes of a request (63 proof lines and a note) or an answer */

/*
 * Make the spool (0700, and its parent when missing) and url's directory
 * in it (dir, cap bytes), with its url file. Errors: those of
 * push_spool_prepare().
 */
SD_WUR int push_exchange_prepare(const char *spool, const char *url, char *dir, size_t cap);

/* The tree sizes of dir's files of suffix (".note", PUSH_REQUEST, PUSH_ANSWER), as push_spool_scan(). */
SD_WUR int push_exchange_list(const char *dir, const char *suffix, uint64_t **sizes, size_t *n);

/* Write dir/<size><suffix> durably (temp file, fsync, rename, fsync of dir). Errors: SD_E_IO, SD_E_TOO_LARGE. */
SD_WUR int push_exchange_put(const char *dir, uint64_t size, const char *suffix, const char *data, size_t len);

/*
 * Read dir/<size><suffix> into buf (cap bytes, NUL-terminated). Errors:
 * SD_E_NOT_FOUND, SD_E_TOO_LARGE, SD_E_INVAL (empty, or a NUL byte), SD_E_IO.
 */
SD_WUR int push_exchange_get(const char *dir, uint64_t size, const char *suffix, char *buf, size_t cap, size_t *len);

/* Remove dir/<size><suffix> (gone already is fine). Errors: SD_E_IO. */
SD_WUR int push_exchange_remove(const char *dir, uint64_t size, const char *suffix);

/* signerd-push's senders (push_send.c): one thread per receiver. */

struct push_send_options {
	const char *spool;		/* [journal] checkpoint_spool */
	const char *ca;			/* [journal] checkpoint_ca, or NULL: the system's CAs */
	uint64_t retry_max;		/* s: the back-off's ceiling */
};

struct push_senders;

/*
 * Start one sender thread per url, after libcurl's global set-up (call it
 * from a single thread, before any other thread uses libcurl).
 * Each sends its receiver's spooled notes oldest first, POST with
 * Content-Type text/plain; charset=utf-8 and Checkpoint-Tree-Size, removes
 * a note on a 2xx only, and backs off (1 s doubling to retry_max) on
 * anything else. And one per witness (its add-checkpoint URL): the newest
 * request of its exchange, the answer written back.
 * Errors: SD_E_NOMEM, SD_E_INTERNAL (a thread), SD_E_TOO_LARGE.
 */
SD_WUR int push_senders_start(const struct push_send_options *o, char *const *urls, size_t n,
    char *const *witnesses, size_t nw, struct push_senders **out);

/*
 * Stop: each sender makes one last pass over its spool (a short timeout per
 * note, none in back-off skipped, stopping at the first failure), then ends;
 * libcurl's global state goes last. NULL is a no-op.
 */
void push_senders_stop(struct push_senders *all);

/* signerd's side of the process (push_proc.c). */

struct push_proc;

/*
 * Start signerd-push (path) for cfg and the add-checkpoint URLs of nw
 * witnesses (none of either: *out NULL): fork and exec, in its own session,
 * with this process's environment, the settings on its command line and
 * the write end of a pipe as its fd 3, whose closing tells signerd it has
 * ended; it ends itself when signerd does (PR_SET_PDEATHSIG).
 * Errors: SD_E_IO, SD_E_NOMEM, SD_E_TOO_LARGE.
 */
SD_WUR int push_proc_spawn(const char *path, const struct sd_config *cfg, char *const *witnesses, size_t nw,
    struct push_proc **out);

/* The pipe to poll: readable (end of file) once signerd-push has ended; -1 for NULL or once reaped. */
int push_proc_fd(const struct push_proc *p);

/* signerd-push ended on its own (push_proc_fd() readable): reap it and say how, once. */
void push_proc_lost(struct push_proc *p);

/*
 * Stop signerd-push (SIGTERM: its senders make a last pass), wait up to
 * grace_ms, then SIGKILL; free p. NULL is a no-op.
 */
void push_proc_stop(struct push_proc *p, unsigned grace_ms);

#endif
