/* logql.h - the LogQL subset the edge answers (docs/logql.md): its syntax tree, parser
 * and evaluator.
 *
 *   log query     {app="api", level=~"err|warn"} |= "timeout" != "health" |~ "5\\d\\d"
 *                   | json | status >= 500 | line_format "{{.method}} {{.path}}"
 *   metric query  sum by (file) (rate({host="web-1"} |= "reset by peer" [5m]))
 *                 topk(3, sum by (unit) (count_over_time({source="journal"}[1h])))
 *
 * Stream matchers: = != =~ !~. Line filters: |= != |~ !~ (chained; regexes are PCRE2,
 * anchored like Loki's: a filter regex matches anywhere in the line, a label regex the
 * whole value). Parsers: json (nested keys joined with _), logfmt. Label filters:
 * = != =~ !~ on strings, == != > >= < <= on numbers (also durations such as 250ms and
 * sizes such as 5MiB), joined with "," or "and". line_format with {{.label}}.
 * Range functions: count_over_time, rate, bytes_over_time, bytes_rate. Aggregations:
 * sum, avg, min, max, count with by/without, topk and bottomk.
 *
 * Errors name the position (1-based line:column) and what was expected:
 *   "at 1:18: expected '=', '!=', '=~' or '!~' after label name 'app', got '>'".
 */
#ifndef ONGRID_LOGS_LOGQL_H
#define ONGRID_LOGS_LOGQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <cjson/cJSON.h>

#include "shared/diag.h"

/* A query is typed by a person or a model: 16 KiB is far past any real one. Nesting is
 * bounded so a hostile query cannot exhaust the stack. */
#define LOGQL_MAX_QUERY_BYTES   (16u << 10)
#define LOGQL_MAX_DEPTH         32
#define LOGQL_MAX_STAGES        64
/* Lines a metric query may hold timestamps for at once (16 bytes each: 320 MiB worst). */
#define LOGQL_MAX_SAMPLES       (20u << 20)
#define LOGQL_MAX_SERIES        10000
#define LOGQL_MAX_STEPS         11000
#define LOGQL_MAX_LIMIT         1000000
/* A regex from a person or a model may backtrack catastrophically ((a+)+$): each match
 * of one line or value gives up (as a non-match) after this much work. */
#define LOGQL_REGEX_MATCH_LIMIT 100000
#define LOGQL_REGEX_DEPTH_LIMIT 10000

enum logql_op { LQ_EQ, LQ_NEQ, LQ_RE, LQ_NRE, LQ_GT, LQ_GE, LQ_LT, LQ_LE, LQ_EQEQ };

struct logql_matcher {
	char *name, *value;
	enum logql_op op;
	pcre2_code *re; /* for =~ !~, anchored at both ends */
};

enum logql_stage_kind {
	LQ_LINE_HAS,    /* |= */
	LQ_LINE_HASNT,  /* != */
	LQ_LINE_RE,     /* |~ */
	LQ_LINE_NOT_RE, /* !~ */
	LQ_JSON,
	LQ_LOGFMT,
	LQ_LABEL_FILTER,
	LQ_LINE_FORMAT,
};

struct logql_stage {
	enum logql_stage_kind kind;
	char *str; /* literal, regex source, label value or line_format template */
	size_t len;
	pcre2_code *re; /* line regexes and label =~ !~ */
	char *label;    /* label filters */
	enum logql_op op;
	bool numeric; /* label filter compares numbers: num holds the operand */
	double num;
};

struct logql_log {
	struct logql_matcher *m;
	size_t nm;
	struct logql_stage *st;
	size_t nst;
};

enum logql_range_fn { LQ_COUNT_OVER_TIME, LQ_RATE, LQ_BYTES_OVER_TIME, LQ_BYTES_RATE };
enum logql_agg { LQ_SUM, LQ_AVG, LQ_MIN, LQ_MAX, LQ_COUNT, LQ_TOPK, LQ_BOTTOMK };

enum logql_kind { LQ_EXPR_LOG, LQ_EXPR_RANGE, LQ_EXPR_AGG };

struct logql_expr {
	enum logql_kind kind;
	struct logql_log log; /* LOG, RANGE */
	enum logql_range_fn fn;
	int64_t range_ms;
	enum logql_agg agg;
	int64_t k; /* topk, bottomk */
	char **by;
	size_t nby;
	bool without, grouped;
	struct logql_expr *arg; /* AGG */
};

int logql_parse(const char *query, struct logql_expr **ret, struct diag *d);
void logql_free(struct logql_expr *e); /* NULL-safe */

/* The match context every LogQL regex runs with (LOGQL_REGEX_*_LIMIT). */
pcre2_match_context *logql_match_context(void);

/* Does a full-anchored matcher (or a filter) accept value? */
bool logql_matcher_ok(const struct logql_matcher *m, const char *value);

struct logstore;

struct logql_params {
	int64_t start_ms, end_ms; /* inclusive */
	int64_t step_ms;          /* metric queries: 0 = one instant at end_ms */
	size_t limit;             /* log queries: newest lines returned */
};

/* Run e over the store. Result: {"resultType": "streams"|"vector"|"matrix",
 * "result": [...], "stats": {...}} (docs/logql.md). */
int logql_eval(struct logstore *s, const struct logql_expr *e, const struct logql_params *p,
               cJSON **ret, struct diag *d);

#endif
