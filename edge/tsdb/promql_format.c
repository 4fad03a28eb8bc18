/* promql_format.c - render a parsed expression and values back to text.
 *
 * The rendering is canonical and fully parenthesised so a test can assert what the
 * parser understood ("1 + 2 * 3" -> "(1 + (2 * 3))"); values use Prometheus' API
 * spelling so the JSON we return reads like Prometheus'.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge/tsdb/promql_ast.h"
#include "shared/compiler.h"
#include "shared/banned.h"

void promql_format_value(double v, char *out, size_t outsz)
{
	int prec;

	if (isnan(v)) {
		snprintf(out, outsz, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, outsz, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* the shortest decimal that reads back as the same double (Go's 'f', -1 shape) */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, outsz, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	if (strchr(out, 'e') && fabs(v) < 1e21 && fabs(v) >= 1e-4) {
		/* %g switched to an exponent for a number Go would print plainly */
		char tmp[64];
		int dec = 0;
		for (dec = 0; dec <= 20; dec++) {
			snprintf(tmp, sizeof(tmp), "%.*f", dec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		snprintf(out, outsz, "%s", tmp);
	}
}

static int add_quoted(struct buf *b, const char *s)
{
	int r = buf_addc(b, '"');

	if (!s)
		s = "";

	for (; r >= 0 && *s; s++) {
		switch (*s) {
		case '"':
			r = buf_adds(b, "\\\"");
			break;
		case '\\':
			r = buf_adds(b, "\\\\");
			break;
		case '\n':
			r = buf_adds(b, "\\n");
			break;
		default:
			r = buf_addc(b, *s);
			break;
		}
	}
	return r < 0 ? r : buf_addc(b, '"');
}

static int add_duration(struct buf *b, int64_t ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "y", 365LL * 86400000 },
		      { "w", 7LL * 86400000 },
		      { "d", 86400000 },
		      { "h", 3600000 },
		      { "m", 60000 },
		      { "s", 1000 },
		      { "ms", 1 } };
	size_t i;
	int r = 0;

	if (ms < 0) {
		r = buf_addc(b, '-');
		ms = -ms;
	}
	if (ms == 0)
		return buf_adds(b, "0s");
	for (i = 0; r >= 0 && i < ARRAY_SIZE(units); i++) {
		if (ms >= units[i].ms) {
			r = buf_addf(b, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			ms %= units[i].ms;
		}
	}
	return r;
}

static int add_labels(struct buf *b, char **v, size_t n)
{
	size_t i;
	int r = buf_addc(b, '(');

	for (i = 0; r >= 0 && v && i < n; i++)
		r = buf_addf(b, "%s%s", i ? ", " : "", v[i]);
	return r < 0 ? r : buf_addc(b, ')');
}

/* Can name be written bare, as `name{...}`? Not when it is not an identifier, or when the
 * lexer would read it as something else (a keyword, Inf, NaN). */
static bool bare_name_ok(const char *name)
{
	static const char *const words[] = { "by",         "without",     "on",     "ignoring",
		                             "group_left", "group_right", "bool",   "offset",
		                             "and",        "or",          "unless", "atan2",
		                             "inf",        "nan" };
	const char *c;
	size_t i;

	if (!*name || (*name >= '0' && *name <= '9'))
		return false;
	for (c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == ':'))
			return false;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(name, words[i]) == 0)
			return false;
	return true;
}

static int add_selector(struct buf *b, const struct promql_expr *e)
{
	static const char *const ops[] = { "=", "!=", "=~", "!~" };
	size_t i, first = 0;
	int r = 0;

	if (e->nmatchers && strcmp(e->matchers[0].name, "__name__") == 0 &&
	    e->matchers[0].op == TSDB_MATCH_EQ && bare_name_ok(e->matchers[0].value)) {
		r = buf_adds(b, e->matchers[0].value);
		first = 1;
	}
	if (r >= 0 && (e->nmatchers > first || first == 0)) {
		r = buf_addc(b, '{');
		for (i = first; r >= 0 && i < e->nmatchers; i++) {
			r = buf_addf(b, "%s%s%s", i > first ? ", " : "", e->matchers[i].name,
			             ops[e->matchers[i].op]);
			if (r >= 0)
				r = add_quoted(b, e->matchers[i].value);
		}
		if (r >= 0)
			r = buf_addc(b, '}');
	}
	if (r >= 0 && e->range_ms > 0) {
		r = buf_addc(b, '[');
		if (r >= 0)
			r = add_duration(b, e->range_ms);
		if (r >= 0)
			r = buf_addc(b, ']');
	}
	if (r >= 0 && e->offset_ms != 0) {
		r = buf_adds(b, " offset ");
		if (r >= 0)
			r = add_duration(b, e->offset_ms);
	}
	return r;
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
int promql_expr_format(const struct promql_expr *e, struct buf *b)
{
	char num[32];
	unsigned i;
	int r = 0;

	switch (e->kind) {
	case NODE_NUMBER:
		promql_format_value(e->num, num, sizeof(num));
		/* "(-2) ^ 2" is not "-2 ^ 2" = -(2 ^ 2): keep a negative literal whole */
		if (signbit(e->num) && !isnan(e->num))
			return buf_addf(b, "(%s%s)", num[0] == '-' ? "" : "-", num);
		return buf_adds(b, num);
	case NODE_SELECTOR:
		return add_selector(b, e);
	case NODE_UNARY:
		r = buf_adds(b, "(-");
		if (r >= 0)
			r = promql_expr_format(e->lhs, b);
		return r < 0 ? r : buf_addc(b, ')');
	case NODE_CALL:
		r = buf_addf(b, "%s(", e->fn->name);
		for (i = 0; r >= 0 && i < e->nargs; i++) {
			if (i)
				r = buf_adds(b, ", ");
			if (r >= 0)
				r = promql_expr_format(e->args[i], b);
		}
		return r < 0 ? r : buf_addc(b, ')');
	case NODE_AGG:
		r = buf_adds(b, promql_agg_names[e->agg]);
		if (r >= 0 && (e->grouping || e->without)) {
			r = buf_adds(b, e->without ? " without " : " by ");
			if (r >= 0)
				r = add_labels(b, e->grouping, e->ngrouping);
			if (r >= 0)
				r = buf_addc(b, ' ');
		}
		if (r >= 0)
			r = buf_addc(b, '(');
		if (r >= 0 && e->param) {
			r = promql_expr_format(e->param, b);
			if (r >= 0)
				r = buf_adds(b, ", ");
		}
		if (r >= 0)
			r = promql_expr_format(e->lhs, b);
		return r < 0 ? r : buf_addc(b, ')');
	case NODE_BINARY:
		r = buf_addc(b, '(');
		if (r >= 0)
			r = promql_expr_format(e->lhs, b);
		if (r >= 0)
			r = buf_addf(b, " %s ", promql_op_names[e->op]);
		if (r >= 0 && e->bool_mod)
			r = buf_adds(b, "bool ");
		if (r >= 0 && (e->on || e->ignoring)) {
			r = buf_adds(b, e->on ? "on" : "ignoring");
			if (r >= 0)
				r = add_labels(b, e->grouping, e->ngrouping);
			if (r >= 0)
				r = buf_addc(b, ' ');
		}
		if (r >= 0)
			r = promql_expr_format(e->rhs, b);
		return r < 0 ? r : buf_addc(b, ')');
	}
	return -EINVAL;
}

int promql_labels_format(const struct label *l, size_t n, struct buf *b)
{
	const char *name = NULL;
	size_t i;
	bool first = true;
	int r = 0;

	for (i = 0; i < n; i++)
		if (strcmp(l[i].name, "__name__") == 0)
			name = l[i].value;
	if (name)
		r = buf_adds(b, name);
	if (r >= 0 && (!name || n > 1))
		r = buf_addc(b, '{');
	for (i = 0; r >= 0 && i < n; i++) {
		if (strcmp(l[i].name, "__name__") == 0)
			continue;
		r = buf_addf(b, "%s%s=", first ? "" : ", ", l[i].name);
		if (r >= 0)
			r = add_quoted(b, l[i].value);
		first = false;
	}
	if (r >= 0 && (!name || n > 1))
		r = buf_addc(b, '}');
	return r;
}
