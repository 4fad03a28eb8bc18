/* drain.h - mine log lines into templates as they arrive (Drain: He et al., ICWS 2017).
 *
 * A line is split on blanks into at most DRAIN_MAX_TOKENS tokens; tokens that are
 * variables by their shape are masked first (<IP> with an optional :port, <UUID>, <HEX>,
 * <NUM>, and <*> for any other token holding a digit). Lines with the same token count
 * and the same first masked token share a leaf; in the leaf the most similar cluster
 * (share of positions equal, <*> matching anything) takes the line if the share is at
 * least sim_threshold, and positions that differ become <*>. Otherwise the line starts a
 * new cluster.
 *
 * Memory is bounded: at most max_clusters clusters; the least recently seen one is
 * evicted for a new one (its history stays in the store). Counts per cluster and minute
 * are kept until drain_save() writes them into the log store (tables patterns and
 * pattern_minutes, in the commit's transaction), where they are kept for
 * DRAIN_KEEP_MINUTES; queries (logs_patterns_json) read them from there.
 */
#ifndef ONGRID_LOGS_DRAIN_H
#define ONGRID_LOGS_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "shared/diag.h"

#define DRAIN_MAX_TOKENS   64
#define DRAIN_KEEP_MINUTES 1440 /* 24 hours */

struct drain;

struct drain_opts {
	size_t max_clusters;  /* default 2000 */
	double sim_threshold; /* default 0.5 */
};

struct drain *drain_new(const struct drain_opts *o);
void drain_free(struct drain *dr); /* NULL-safe */

/* Mine one line seen at ts_ms. */
void drain_add(struct drain *dr, const char *line, size_t len, int64_t ts_ms);

/* The current template of the cluster line would join, written into out (for tests and
 * for explaining a pattern); returns out. */
const char *drain_template_of(struct drain *dr, const char *line, size_t len, char *out,
                              size_t outsz);
size_t drain_nclusters(const struct drain *dr);

/* Load templates saved earlier (most recently seen first), so a restart keeps ids. */
int drain_restore(struct drain *dr, sqlite3 *db, struct diag *d);
/* Write changed templates and counts (inside the caller's transaction); prune minutes
 * older than DRAIN_KEEP_MINUTES before now_ms. */
int drain_save(struct drain *dr, sqlite3 *db, int64_t now_ms, struct diag *d);

#endif
