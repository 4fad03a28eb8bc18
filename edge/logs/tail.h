/* tail.h - follow log files named by globs, across rotation, truncation and restarts.
 *
 * A file is known by its identity (st_dev, st_ino), not its name, plus a fingerprint (a
 * hash of its first bytes, up to 1 KiB) that tells a truncated-and-rewritten file (or a
 * reused inode) from the one we were reading.
 *
 * Every poll: expand the globs (new files are read from their start); a tracked file
 * whose name now points at another inode, or at nothing, was rotated by rename: it is
 * read to its end through the descriptor we hold, kept open for a grace period in case
 * the writer has not reopened yet, then closed. A file that shrank below our offset, or
 * whose first bytes changed, was truncated (copytruncate): before reading it again from
 * 0, the sibling whose first bytes match ours and which is at least as long as our offset
 * (the copy logrotate just made) is read from our offset to its end, so the lines written
 * before the copy are not lost.
 *
 * Lines: a partial last line is held until its newline arrives; a line longer than
 * max_line is cut (the rest skipped up to its newline) and flagged. The offset saved for
 * a file is the start of its first incomplete line, so a restart re-reads exactly the
 * unfinished line.
 *
 * Positions are saved by tail_save() into the log store's SQLite (table tail_files) in
 * the transaction that commits the lines, so lines and positions survive together.
 * At start, each saved file is looked up by inode under its name or, when the name now
 * holds another file, among the siblings that start with its name (app.log.1,
 * app.log-20261124): rotation while the edge was down loses nothing either.
 *
 * Not covered (documented in docs/internals/logs.md): rotated files moved to another
 * directory or compressed before we read them; two copytruncate rotations while down;
 * lines written between logrotate's copy and its truncate (no reader can see those).
 */
#ifndef ONGRID_LOGS_TAIL_H
#define ONGRID_LOGS_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "shared/conf.h"
#include "shared/diag.h"

struct tail;

/* One complete line, without its newline. `path` is the name the file had when a glob
 * matched it (the `file` label), even while reading it under its rotated name.
 * Return 0, or a negative errno to stop the poll (the line counts as not read). */
typedef int tail_line_fn(void *udata, const char *path, const char *line, size_t len,
                         bool truncated);

struct tail_opts {
	const struct conf_strlist *globs;
	size_t max_line;        /* bytes kept per line */
	int64_t drain_grace_ms; /* keep a rotated file open this long after its last growth */
};

/* Create the tailer and restore positions saved in db (may be NULL: start fresh). */
int tail_open(const struct tail_opts *o, sqlite3 *db, struct tail **ret, struct diag *d);
void tail_close(struct tail *t); /* NULL-safe */

/* Find new and rotated files and read what is new, up to about budget bytes. With
 * final, rotated files are closed as soon as they are read to their end (one-shot runs).
 * Returns 1 when more data is waiting, 0 when everything was read, or a negative errno
 * (from fn or a read error). Problems with single files are logged, not returned. */
int tail_poll(struct tail *t, int64_t now_ms, size_t budget, bool final, tail_line_fn *fn,
              void *udata);

/* Replace the saved positions with the current ones (inside the caller's transaction). */
int tail_save(struct tail *t, sqlite3 *db, struct diag *d);

/* Number of files tracked (open or being drained). */
size_t tail_nfiles(const struct tail *t);

#endif
