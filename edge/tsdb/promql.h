/* promql.h - the PromQL subset the edge answers, over its own time-series store.
 *
 * What is supported, and how it differs from Prometheus, is in docs/internals/promql.md.
 * In short: selectors with = != =~ !~, range selectors, offset; rate irate increase delta
 * idelta and the *_over_time family; histogram_quantile; sum avg min max count topk
 * bottomk with by/without; arithmetic, comparison (with bool) and one-to-one vector
 * matching with on/ignoring. Semantics follow Prometheus 3 (left-open range windows and
 * lookback, extrapolated rate, __name__ dropped where the meaning changes).
 *
 * A query is parsed once (promql_parse) into a tree the caller owns, then evaluated at
 * start, start+step, ... end (promql_eval). An instant query is start == end. Every
 * error a person can make in a query is -EINVAL with d reading
 * "position N: expected X, got Y" (N is the 1-based column). Limits (query size,
 * nesting, series, points) are in shared/limits.h; passing one is -E2BIG.
 */
#ifndef ONGRID_PROMQL_H
#define ONGRID_PROMQL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/tsdb/tsdb.h"
#include "shared/buf.h"
#include "shared/diag.h"

enum promql_type { PROMQL_SCALAR, PROMQL_VECTOR, PROMQL_MATRIX, PROMQL_STRING, _PROMQL_TYPE_MAX };

struct promql_expr;

/* Parse query (NUL-terminated). On success *ret is a tree the caller frees with
 * promql_expr_free(). */
int promql_parse(const char *query, struct promql_expr **ret, struct diag *d);
void promql_expr_free(struct promql_expr *e); /* NULL-safe */

/* The type of a parsed expression: scalar, instant vector or range vector. */
enum promql_type promql_expr_type(const struct promql_expr *e);
/* "scalar", "instant vector", "range vector", "string". */
const char *promql_type_name(enum promql_type t);

/* Append a canonical, fully parenthesised rendering of e to b ("(1 + (2 * 3))",
 * "sum by (job) (rate(x{a=\"b\"}[5m]))"): what the parser understood, and text that parses
 * back to the same tree. -E2BIG when b is full. */
int promql_expr_format(const struct promql_expr *e, struct buf *b);

/* Append labels the way Prometheus prints a series: name{k="v", ...}, or {k="v"} without
 * a name, or {} for none. -E2BIG when b is full. */
int promql_labels_format(const struct label *l, size_t n, struct buf *b);

/* One result series. Labels are sorted by name and include __name__ when it survived.
 * For an instant vector n == 1; for a scalar there are no labels. */
struct promql_series {
	struct label *labels; /* owned, with owned strings */
	size_t nlabels;
	int64_t *t; /* ms */
	double *v;
	size_t n;
};

struct promql_result {
	enum promql_type type; /* SCALAR or VECTOR for an instant query, MATRIX otherwise
	                          (or for an instant query of a bare range selector) */
	struct promql_series *series;
	size_t nseries;
};

/* Evaluate e at start, start+step, ... <= end (all ms; step > 0 unless start == end).
 * Series are streamed from db one at a time; raw samples are never gathered. A range
 * query whose expression is a range vector is -EINVAL. *ret is the caller's. */
int promql_eval(struct tsdb *db, const struct promql_expr *e, int64_t start, int64_t end,
                int64_t step, struct promql_result **ret, struct diag *d);
void promql_result_free(struct promql_result *r); /* NULL-safe */

/* The result as Prometheus' API `data` member (see promql_query_json). */
cJSON *promql_result_json(const struct promql_result *res);

/* Parse and evaluate query and return a document shaped like the `data` member of
 * Prometheus' HTTP API: {"resultType": "vector|matrix|scalar", "result": [...]}, with
 * times in float seconds and values as strings ("1.5", "+Inf", "NaN"). Called by
 * `ongrid-edge query` and by the daemon's control-socket handler. *ret is the caller's. */
int promql_query_json(struct tsdb *db, const char *query, int64_t start, int64_t end, int64_t step,
                      cJSON **ret, struct diag *d);

/* Format v the way Prometheus' API does: shortest round-trip decimal, "+Inf", "-Inf",
 * "NaN". out must hold 32 bytes. */
void promql_format_value(double v, char *out, size_t outsz);

#endif
