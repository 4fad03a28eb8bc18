/* logstore.h - the edge's local log index: labelled lines in compressed blocks.
 *
 * Layout under dir: index.sqlite (streams, block metadata, checkpoints of the readers
 * that feed the store) and seg-NNNNNNNN.dat files holding blocks back to back. A block is
 * up to LOGSTORE_BLOCK_RAW bytes of lines (each: time, stream id, bytes), compressed with
 * zstd, with a 24-byte header (magic, sizes, xxh64 of the compressed bytes). Its index
 * row carries the time range, the stream ids in it and a 64 Kibit bitmap (stored zstd-
 * compressed) of the (ASCII-lowercased) trigrams of its lines, so a literal filter skips every block that
 * lacks one of the literal's trigrams without decompressing it.
 *
 * Crash safety: appends go to an open block in memory; logstore_commit() seals it,
 * writes it, fdatasync()s the segments and only then inserts the block rows, in the same
 * SQLite transaction as the caller's own rows (the tailers' read positions). So the index
 * never names bytes that are not on disk, and a reader's checkpoint always matches the
 * lines stored: after a kill -9 the lines since the last commit are read again, once.
 * Bytes past the last committed block (a torn tail) are cut off at the next open.
 *
 * Bounds: the segments are kept under max_bytes (oldest segment first) and lines older
 * than retention_ms are dropped a segment at a time (a segment also rolls when it spans
 * an eighth of the retention). Once a minute, runs of small blocks (a quiet host commits
 * a few lines at a time) are merged into one, in one transaction.
 *
 * One writer per directory (a lock file refuses a second); any number of read-only
 * openers (the CLI while a daemon runs). Single-threaded per handle.
 */
#ifndef ONGRID_LOGS_LOGSTORE_H
#define ONGRID_LOGS_LOGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "shared/diag.h"

/* Raw bytes per block: big enough to compress well, small enough that a selective query
 * decompresses little beyond what matches. */
#define LOGSTORE_BLOCK_RAW   (256u << 10)
#define LOGSTORE_BLOCK_LINES 8192u
#define LOGSTORE_GRAM_BITS   65536u
#define LOGSTORE_GRAM_BYTES  (LOGSTORE_GRAM_BITS / 8)

struct logstore;

struct logstore_opts {
	uint64_t max_bytes;   /* bound on the segment files */
	int64_t retention_ms; /* 0: keep until max_bytes */
	bool read_only;
};

/* Open (and create, unless read_only) the store in dir. Read-only on a directory with
 * no index gives -ENOENT. A second writer gets -EBUSY. */
int logstore_open(const char *dir, const struct logstore_opts *o, struct logstore **ret,
                  struct diag *d);
/* Frees the handle; lines appended since the last commit are dropped (never half-kept).
 * NULL-safe. */
void logstore_close(struct logstore *s);

/* The id of the stream named by canonical label text (labels.h), created if new. */
int logstore_stream(struct logstore *s, const char *labels, uint32_t *ret, struct diag *d);

/* Append one line (any bytes; the store does not look inside). */
int logstore_append(struct logstore *s, int64_t ts_ms, uint32_t stream, const char *line,
                    size_t len, struct diag *d);

/* Lines appended and not yet committed. */
size_t logstore_pending(const struct logstore *s);

/* Make everything appended durable, and run fn (if not NULL) inside the same SQLite
 * transaction so the caller's rows commit with the lines or not at all. Then apply
 * retention and the size bound at now_ms. */
typedef int logstore_commit_fn(void *udata, sqlite3 *db, struct diag *d);
int logstore_commit(struct logstore *s, int64_t now_ms, logstore_commit_fn *fn, void *udata,
                    struct diag *d);

/* The store's SQLite handle, for the feeders to read their checkpoints at start. */
sqlite3 *logstore_db(struct logstore *s);

/* --- reading --- */

struct logstore_block_info {
	int64_t t_min, t_max;
	uint32_t nlines;
	const uint32_t *streams; /* sorted */
	size_t nstreams;
	const uint8_t *grams; /* LOGSTORE_GRAM_BYTES */
};

/* Called per block, newest first (by t_max) when backward, else oldest first: return 1 to
 * read it, 0 to skip it, -1 to stop the scan. */
typedef int logstore_block_fn(void *udata, const struct logstore_block_info *b);
/* Called per line of a block that was read (in reverse order within the block when
 * backward): return 0 to go on, 1 to stop, or a negative errno to fail the scan. */
typedef int logstore_line_fn(void *udata, int64_t ts_ms, uint32_t stream, const char *line,
                             size_t len);

struct logstore_scan_stats {
	uint64_t blocks_total, blocks_read, lines_read, corrupt_blocks;
};

int logstore_scan(struct logstore *s, int64_t start_ms, int64_t end_ms, bool backward,
                  logstore_block_fn *bfn, logstore_line_fn *lfn, void *udata,
                  struct logstore_scan_stats *st, struct diag *d);

/* Every stream: fn(udata, id, canonical labels). */
typedef int logstore_stream_fn(void *udata, uint32_t id, const char *labels);
int logstore_streams(struct logstore *s, logstore_stream_fn *fn, void *udata, struct diag *d);

/* Whether a block's bitmap can hold the literal (case-insensitively). Literals shorter
 * than 3 bytes always may. */
bool logstore_grams_may_contain(const uint8_t *grams, const char *lit, size_t n);

struct logstore_stats {
	uint64_t segment_bytes, index_bytes, raw_bytes, lines, blocks, streams;
	int64_t t_min, t_max;
};
int logstore_stats(struct logstore *s, struct logstore_stats *st, struct diag *d);

#endif
