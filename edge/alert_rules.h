/* alert_rules.h - local alert rules over the edge's own store (docs/alerts.md).
 *
 * A rule is a PromQL expression (the subset of edge/tsdb/promql.h), a `for` duration, a
 * severity and a summary. Every evaluation runs each expression as an instant query; each
 * series it returns is active. A series active for `for` goes pending -> firing; one that
 * stops being returned is resolved (if it fired) or forgotten (if it was pending). The
 * built-in rules (alert_rules_defaults) are chosen to stay quiet on a healthy host.
 *
 * Rules file (libconfig, like edge.conf):
 *
 *   rules = (
 *     { name = "DiskAlmostFull";
 *       expr = "ongrid_filesystem_avail_bytes / ongrid_filesystem_size_bytes < 0.05";
 *       for = "5m"; severity = "critical"; summary = "a filesystem is 95% full"; }
 *   );
 *
 * A rule in the file with a built-in rule's name replaces it; `enabled = false;` turns
 * one off. Pure apart from reading the store; alerting.c drives it from the daemon.
 */
#ifndef ONGRID_EDGE_ALERT_RULES_H
#define ONGRID_EDGE_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/tsdb/tsdb.h"
#include "shared/diag.h"

#define ALERT_RULES_MAX      128 /* rules in one set */
#define ALERT_SERIES_MAX     64  /* active series tracked per rule; more are ignored */
#define ALERT_NAME_MAX       64
#define ALERT_TEXT_MAX       1024 /* expr and summary */
#define ALERT_RULES_FILE_MAX (256u << 10)

struct alert_rules;

enum alert_state { ALERT_PENDING, ALERT_FIRING, ALERT_RESOLVED };
const char *alert_state_name(enum alert_state s);

/* One transition, for the caller's callback; valid during the call. */
struct alert_event {
	const char *rule, *severity, *summary, *expr;
	enum alert_state state;
	const char *key;     /* rule + labels: stable for the life of one active series */
	const cJSON *labels; /* object of strings */
	double value;
	int64_t active_since; /* ms: when the series became active */
	int64_t at;           /* ms: this evaluation */
};
typedef void alert_event_fn(void *udata, const struct alert_event *ev);

/* The built-in rules, then those of path (NULL or "": none), unless defaults is false.
 * -EINVAL with d naming the file, rule and field ("rules.conf: rules[2].for: ...") or
 * the PromQL error. */
int alert_rules_load(const char *path, bool defaults, struct alert_rules **ret, struct diag *d);
void alert_rules_free(struct alert_rules *rs); /* NULL-safe */
size_t alert_rules_count(const struct alert_rules *rs);

/* Evaluate every rule at now; fn gets each transition. Returns the number of rules whose
 * evaluation failed (logged at debug: a metric may simply not exist on this host). */
int alert_rules_eval(struct alert_rules *rs, struct tsdb *db, int64_t now, alert_event_fn *fn,
                     void *udata);

/* A reload: each rule of to that is the same rule as one of from (name, expression and
 * `for` unchanged) takes over its active series, so an alert that fires keeps firing
 * without a second notification and a pending one keeps its clock. Firing series of
 * rules that are gone or changed get fn(ALERT_RESOLVED) at now: their threads close.
 * Returns how many rules kept their state; from is left without active series. */
size_t alert_rules_adopt(struct alert_rules *to, struct alert_rules *from, int64_t now,
                         alert_event_fn *fn, void *udata);

/* The rules and their active series: [{name, expr, for_ms, severity, summary, active:
 * [{labels, value, state, since_ms}]}]. Caller frees. */
cJSON *alert_rules_json(const struct alert_rules *rs);

/* The built-in rule set as rules-file text (docs/alerts.md shows it). */
const char *alert_rules_defaults(void);

#endif
