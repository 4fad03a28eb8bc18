/* tsdb.h - the edge's embedded time-series store.
 *
 * Series are identified by their label set (which includes __name__). Samples are
 * (int64 ms, double) pairs appended in time order per series, compressed with
 * delta-of-delta timestamps and XOR or lossless decimal values (chunk.h), kept in an
 * in-memory head and flushed to immutable files under dir every flush interval
 * (segment.h; docs/internals/tsdb.md). Retention drops data older
 * than retention_ms and, when the files pass max_bytes, the oldest data first.
 *
 * Crash safety: files are written to a temporary name, fsynced and renamed; a kill -9
 * loses at most the samples appended since the last flush and never leaves a file that
 * fails to load. A torn or corrupt file found at open is reported and skipped, never
 * trusted.
 *
 * Ownership: the store owns everything it returns; pointers from tsdb_query_next() are
 * valid until the next call on that query. Single-threaded: one event loop owns the
 * store (the CLI opens its own copy read-only when no daemon runs).
 */
#ifndef ONGRID_TSDB_H
#define ONGRID_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/diag.h"

struct tsdb;

struct label {
	const char *name;
	const char *value;
};

struct tsdb_opts {
	const char *dir;           /* NULL: memory only (tests, one-shot commands) */
	int64_t retention_ms;      /* drop samples older than now - retention */
	uint64_t max_bytes;        /* bound on the files under dir; oldest dropped first */
	int64_t flush_interval_ms; /* the most a kill -9 can lose */
	bool read_only;            /* never write (the CLI reading a daemon's store) */
};

/* Open (creating dir unless read-only) and load every valid file's index. A writer holds
 * dir/LOCK: a second writer gets -EBUSY; read-only openers take no lock and may run
 * beside the daemon. Damaged files are logged and counted in tsdb_stats.damaged_files. */
int tsdb_open(const struct tsdb_opts *o, struct tsdb **ret, struct diag *d);
/* Flush (unless read-only) and free. NULL-safe. */
void tsdb_close(struct tsdb *db);

/* Find or create the series for labels (any order; __name__ required; names must match
 * [a-zA-Z_][a-zA-Z0-9_]*; a label with an empty value is the same as no label). The ref
 * stays valid while the series gets samples: once it got none for a few flush intervals
 * (and its samples are on disk) or all of them have aged out, tsdb_maintain takes it out
 * of memory, tsdb_append with the old ref returns -ENOENT and tsdb_series gives a new
 * ref (to the same data: queries still find the old samples). -E2BIG past
 * ONGRID_TSDB_MAX_SERIES series in memory. */
int tsdb_series(struct tsdb *db, const struct label *labels, size_t n, uint64_t *ret_ref,
                struct diag *d);
/* Append one sample. A timestamp older than the series' last one is refused with -ERANGE
 * (the sample is dropped); an equal timestamp replaces nothing and returns 0. -ENOENT for
 * an unknown or forgotten ref, -EROFS on a read-only store. */
int tsdb_append(struct tsdb *db, uint64_t ref, int64_t t_ms, double v);

/* Persist the head as one new file. The store runs no timers: the daemon calls this every
 * flush_interval_ms and tsdb_close at shutdown. A no-op without dir or when read-only. On
 * failure the head is kept for the next try. */
int tsdb_flush(struct tsdb *db, struct diag *d);
/* Compaction and retention by age and bytes, relative to now_ms; also takes out of
 * memory the series with no samples left and those idle for three flush intervals whose
 * samples are all on disk (not while a query is open). Retention drops whole files, so up
 * to a day past retention_ms may remain. A no-op when read-only. */
int tsdb_maintain(struct tsdb *db, int64_t now_ms, struct diag *d);

enum tsdb_match_op { TSDB_MATCH_EQ, TSDB_MATCH_NEQ, TSDB_MATCH_RE, TSDB_MATCH_NRE };

struct tsdb_matcher {
	const char *name;
	enum tsdb_match_op op;
	const char *value; /* regexes are fully anchored, as in Prometheus */
};

struct tsdb_query;

/* Select the series matching every matcher, with their samples in [mint, maxt]. A bad
 * regex is -EINVAL with d naming it. */
int tsdb_query_open(struct tsdb *db, const struct tsdb_matcher *m, size_t nm, int64_t mint,
                    int64_t maxt, struct tsdb_query **ret, struct diag *d);
/* The next series: its labels (sorted by name) and samples in ascending time. Returns 1,
 * 0 when there are no more, or a negative errno. */
int tsdb_query_next(struct tsdb_query *q, const struct label **ret_labels, size_t *ret_nlabels,
                    const int64_t **ret_t, const double **ret_v, size_t *ret_n);
void tsdb_query_close(struct tsdb_query *q);

struct tsdb_stats {
	uint64_t series; /* in memory: those written to lately, or brought back by a query */
	uint64_t head_samples;
	uint64_t disk_samples;
	uint64_t disk_bytes;
	uint64_t files;
	int64_t mint, maxt;     /* oldest and newest sample, 0 when empty */
	uint64_t damaged_files; /* torn or corrupt files found at open and ignored */
};
void tsdb_get_stats(struct tsdb *db, struct tsdb_stats *ret);

#endif
