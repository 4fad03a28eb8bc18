/* evidence.h - what every evidence tool shares: the findings-first document, argument
 * getters with defaults, the path rules from configuration, questions to the running
 * daemon, and two live collection rounds when the daemon is not there.
 *
 * Shape of every result: {"findings": ["short sentence with numbers", ...], "history":
 * "on"|"off: why", <tool's own keys>, <capped row arrays>}. findings come first so a reader
 * who stops after them still has the answer.
 */
#ifndef ONGRID_EVIDENCE_H
#define ONGRID_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/collect/snapshot.h"
#include "edge/edge.h"
#include "edge/tools/path_rules.h"
#include "shared/compiler.h"
#include "shared/diag.h"

/* At most this many findings per result; later ones are dropped (the first say most). */
#define EVIDENCE_MAX_FINDINGS 16
/* Rows a tool returns unless its "limit" argument says fewer. */
#define EVIDENCE_ROWS_DEFAULT 20
#define EVIDENCE_ROWS_MAX     200

/* {"findings": []}. */
cJSON *evidence_new(void);
/* Append one finding (printf format, cut at 300 bytes). */
void evidence_say(cJSON *ev, const char *fmt, ...) _printf_(2, 3);
/* A new array under key (borrowed pointer into ev). */
cJSON *evidence_rows(cJSON *ev, const char *key);
/* The number of findings so far. */
size_t evidence_nfindings(const cJSON *ev);

/* Arguments (already validated by the gate against the schema). */
int64_t arg_int(const cJSON *args, const char *key, int64_t def);
const char *arg_str(const cJSON *args, const char *key, const char *def);
bool arg_bool(const cJSON *args, const char *key, bool def);
/* "limit" clamped to [1, EVIDENCE_ROWS_MAX], default EVIDENCE_ROWS_DEFAULT. */
size_t arg_limit(const cJSON *args);

/* The path rules of tools.read_paths / tools.deny_paths / data_dir, as the bash tool uses. */
void evidence_path_rules(const struct edge_conf *c, struct path_rules *ret);

/* Ask the running daemon over the control socket. -ENOENT/-ECONNREFUSED: no daemon. */
int evidence_ctl(const struct edge_conf *c, cJSON *req, int64_t timeout_ms, cJSON **ret,
                 struct diag *d);
/* A PromQL instant query at the daemon: the "result" array of its answer (owned), or a
 * negative errno (-ENOENT when no daemon runs). */
int evidence_promql(const struct edge_conf *c, const char *query, int64_t at_ms, cJSON **ret,
                    struct diag *d);
/* The value of the first series of an instant vector answer, or NAN. */
double evidence_promql_first(const cJSON *result);

/* A logs request ({"cmd": "logs"|"log_patterns", ...}, see edge/logs/logs.h) to the
 * daemon, or to the index on disk opened read-only when no daemon serves it (query_logs.c).
 * *ret_source says which answered. */
struct tool_ctx;
int query_logs_ask(struct tool_ctx *ctx, cJSON *req, cJSON **ret, const char **ret_source,
                   bool patterns);

/* Two collection rounds gap_ms apart with the collectors in `only` (comma-separated), the
 * way `ongrid-edge collect` runs them: the caller releases both snapshots. Collectors that
 * could not start are listed in *ret_off (owned, may be empty). */
int evidence_sample(const struct edge_conf *c, const char *only, int64_t gap_ms, struct snapshot *a,
                    struct snapshot *b, cJSON **ret_off, struct diag *d);
/* The value of series name with the given label (NULL = any), or NAN. */
double snap_value(const struct snapshot *s, const char *name, const char *lk, const char *lv);
/* A label value of a sample, or "". */
const char *snap_label(const struct snapshot_sample *x, const char *key);
/* Per-second rate of a counter between a and b (both with the same labels as x), or NAN. */
double snap_rate(const struct snapshot *a, const struct snapshot *b,
                 const struct snapshot_sample *x);

/* Sum over the series of name (with label lk=lv when lk is set) of b - a; NAN if none. */
double snap_delta(const struct snapshot *a, const struct snapshot *b, const char *name,
                  const char *lk, const char *lv);
/* Quantile q of a histogram family (base name without _bucket) from the bucket deltas
 * between a and b, summed over all its series; NAN when nothing was counted. */
double snap_hist_quantile(const struct snapshot *a, const struct snapshot *b, const char *base,
                          double q);
/* The same over the series with label lk=lv only (all when lk is NULL); *ret_count (may be
 * NULL) is how many observations it is over. */
double snap_hist_quantile_where(const struct snapshot *a, const struct snapshot *b,
                                const char *base, double q, const char *lk, const char *lv,
                                double *ret_count);

/* When the daemon runs: the value of an instant PromQL query at now - ago_ms for each of
 * n offsets (NAN where absent). Returns false when no daemon answered. */
bool evidence_history(const struct edge_conf *c, const char *query, const int64_t *ago_ms, size_t n,
                      double *ret);

/* A trend finding from evidence_history() values 30, 15 and 5 minutes ago and now:
 * "busy: 30 min ago 12%, 15 min ago 40%, now 97%", leaving out points the store does not
 * have (and saying so when it has none). */
enum trend_unit { TREND_PCT, TREND_BYTES, TREND_PER_S };
void evidence_trend(cJSON *ev, const char *what, const double *ago3, double now,
                    enum trend_unit unit);

/* Human sizes: "1.5 GiB". */
void evidence_bytes(char *out, size_t outsz, double bytes);

/* Read a small /proc or /sys file into a NUL-terminated buffer (owned); -errno. */
int evidence_read(const char *path, size_t max, char **ret);

#endif
