/* logs.h - the edge's log pipeline: tail files and the journal, label and index the
 * lines, mine their templates; and answer LogQL and pattern queries.
 *
 * The daemon owns one struct logs: it calls logs_poll() from a timer (every 250 ms to
 * 1 s; again at once while it returns 1) and logs_close() at exit. `ongrid-edge tail`
 * runs the same pipeline in the foreground. The CLI without a daemon opens the store
 * read-only with logs_open_readonly() and queries what was indexed.
 *
 * At most once a second (sooner under a flood, and always with final) a poll ends with
 * a commit: the lines, the files' read positions, the journal cursor and the pattern
 * counts become durable together (logstore.h), so after a crash or kill -9 the pipeline
 * resumes exactly where the index ends. Readers of the store see lines once committed.
 *
 * Labels of a stream: host (edge name), file (the glob match) or unit plus
 * source="journal" for the journal, level when the line shows one (critical, error,
 * warn, info, debug, trace), and logs.labels from the configuration.
 * Lines are stored as valid UTF-8: invalid bytes and NULs become U+FFFD, a trailing CR
 * is dropped, and a line cut at logs.max_line ends with "…[truncated]".
 * Time of a line: the RFC 3339 time it starts with (2026-11-24T02:46:01Z, or in
 * brackets) when that is within the retention window and not in the future, else the
 * time it was read; journal entries keep their own time.
 */
#ifndef ONGRID_LOGS_H
#define ONGRID_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/edge.h"
#include "shared/diag.h"

struct logs;

/* Open the pipeline for writing: the store in <data_dir>/logs, the tailer, the journal
 * (unless logs.journal is off; where the host has none this is said once at info level
 * and the pipeline goes on), the template miner. */
int logs_open(const struct edge_conf *c, struct logs **ret, struct diag *d);
/* Open the store in <data_dir>/logs for queries only. -ENOENT when nothing was indexed. */
int logs_open_readonly(const struct edge_conf *c, struct logs **ret, struct diag *d);
/* Commit what is pending and free. NULL-safe. */
void logs_close(struct logs *l);

/* Read what is new, index it, commit. With final, rotated files are closed as soon as
 * they are read (one-shot runs). Returns 1 when more input is waiting (call again
 * soon), 0 when caught up, or a negative errno (d set) when the store failed. */
int logs_poll(struct logs *l, int64_t now_ms, bool final, struct diag *d);
/* Bytes of files read per poll (default 8 MiB, for one-shot runs). An event loop that
 * must not block for more than a few milliseconds sets about 256 KiB (about 2,500 lines,
 * a few ms) and polls again at once while logs_poll() returns 1. */
void logs_set_budget(struct logs *l, size_t bytes);

/* Commit lines read but not yet committed. */
int logs_flush(struct logs *l, int64_t now_ms, struct diag *d);

/* Why the journal is not read ("" when it is). */
const char *logs_journal_status(const struct logs *l);

/* Lines indexed since open. */
uint64_t logs_lines_ingested(const struct logs *l);

/* LogQL over [start, end] (ms). step 0: a metric query is evaluated at end only.
 * *ret: see logql.h. -EINVAL with d naming the position for a bad query. */
int logs_query_json(struct logs *l, const char *logql, int64_t start, int64_t end, int64_t step,
                    size_t limit, cJSON **ret, struct diag *d);

/* Templates mined by drain (drain.h).
 * LOGS_PATTERNS_TOP: the `limit` patterns with the most lines in [start, end], each with
 *   its count per minute and its first-seen time.
 * LOGS_PATTERNS_CHANGED: patterns that are new (first seen at or after `since`) or
 *   spiked (at least 3x their per-minute rate in the hour before `since`, and at least
 *   10 lines) in [since, end]. Minute granularity. */
enum logs_patterns_mode { LOGS_PATTERNS_TOP, LOGS_PATTERNS_CHANGED };
int logs_patterns_json(struct logs *l, enum logs_patterns_mode mode, int64_t start_ms,
                       int64_t end_ms, size_t limit, cJSON **ret, struct diag *d);

/* Store figures: {"bytes_on_disk", "raw_bytes", "lines", "blocks", "streams", ...}. */
int logs_stats_json(struct logs *l, cJSON **ret, struct diag *d);

/* Control-socket handlers (ctl_handler_fn in edge/ctl.h; udata is the struct logs):
 *   {"cmd": "logs", "query": "...", "start": ms, "end": ms, "step": ms, "limit": n}
 *   {"cmd": "log_patterns", "mode": "top"|"changed", "start": ms, "end": ms, "limit": n}
 * Missing times default to the last hour. The daemon registers them under those names. */
int logs_ctl_query(void *udata, const cJSON *req, cJSON **ret, struct diag *d);
int logs_ctl_patterns(void *udata, const cJSON *req, cJSON **ret, struct diag *d);

#endif
