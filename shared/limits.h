/* limits.h - every hard limit in ongrid, each with its reason (SQLite's sqliteLimit.h). */
#ifndef ONGRID_LIMITS_H
#define ONGRID_LIMITS_H

/* A configuration file larger than this is a mistake, not a configuration. */
#define ONGRID_CONF_MAX_BYTES (1u << 20)

/* JSON from outside (CLI arguments, frames, model output) is parsed only up to this size,
 * so a hostile peer cannot make us allocate without bound. */
#define ONGRID_JSON_MAX_BYTES (16u << 20)

/* cJSON recurses per nesting level; cap the depth we accept before parsing. */
#define ONGRID_JSON_MAX_DEPTH 64

/* Files we read whole (procfs, small state files) never exceed this. */
#define ONGRID_READ_FILE_MAX (64u << 20)

/* One diagnostic message: enough for "file:line:col: key 'x': expected ..." */
#define ONGRID_DIAG_MAX 512

/* PromQL (edge/tsdb/promql_*.c). A query is typed by a person or a model; 64 KiB is far
 * beyond any real one. The parser and evaluator recurse per nesting level, so a hostile
 * query is refused past PROMQL_MAX_DEPTH instead of exhausting the stack. */
#define ONGRID_PROMQL_MAX_QUERY_BYTES (64u << 10)
#define ONGRID_PROMQL_MAX_DEPTH 128
/* One result (or intermediate) vector holds at most this many series: more is a query
 * that needs a narrower selector, not more memory. */
#define ONGRID_PROMQL_MAX_SERIES 10000
/* Steps per range query, as in Prometheus (11,000 points per series). */
#define ONGRID_PROMQL_MAX_STEPS 11000
/* Points (series x steps) alive at once during one evaluation: 4M doubles = 32 MiB. */
#define ONGRID_PROMQL_MAX_POINTS (4u << 20)

#endif
