/* promql_parse.c - PromQL text -> typed syntax tree (recursive descent).
 *
 * Precedence, lowest first, as in Prometheus: comparisons (== != > < >= <=), + -, * / %,
 * unary minus, ^ (right-associative). Types are checked here, so the evaluator never sees
 * rate() of an instant vector. Every error names the 1-based column and what was expected.
 *
 * Recursion goes through parse_expr() only, which counts depth; chains built in a loop
 * ("1+1+1+...") are bounded by each node's height. Both stop at ONGRID_PROMQL_MAX_DEPTH,
 * which also bounds every later walk of the tree (evaluation, formatting, freeing).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "edge/tsdb/promql_ast.h"
#include "shared/alloc.h"
#include "shared/compiler.h"
#include "shared/limits.h"
#include "shared/banned.h"

const char *const promql_op_names[_OP_MAX] = {
	[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*",   [OP_DIV] = "/",
	[OP_MOD] = "%", [OP_POW] = "^", [OP_EQLC] = "==", [OP_NEQ] = "!=",
	[OP_GTR] = ">", [OP_LSS] = "<", [OP_GTE] = ">=",  [OP_LTE] = "<=",
};

const char *const promql_agg_names[_AGG_MAX] = {
	[AGG_SUM] = "sum",     [AGG_AVG] = "avg",   [AGG_MIN] = "min",         [AGG_MAX] = "max",
	[AGG_COUNT] = "count", [AGG_TOPK] = "topk", [AGG_BOTTOMK] = "bottomk",
};

#define S PROMQL_SCALAR
#define V PROMQL_VECTOR
#define M PROMQL_MATRIX
const struct promql_func promql_funcs[_FN_MAX] = {
	{ "rate", FN_RATE, 1, { M }, V },
	{ "irate", FN_IRATE, 1, { M }, V },
	{ "increase", FN_INCREASE, 1, { M }, V },
	{ "delta", FN_DELTA, 1, { M }, V },
	{ "idelta", FN_IDELTA, 1, { M }, V },
	{ "avg_over_time", FN_AVG_OVER_TIME, 1, { M }, V },
	{ "min_over_time", FN_MIN_OVER_TIME, 1, { M }, V },
	{ "max_over_time", FN_MAX_OVER_TIME, 1, { M }, V },
	{ "sum_over_time", FN_SUM_OVER_TIME, 1, { M }, V },
	{ "count_over_time", FN_COUNT_OVER_TIME, 1, { M }, V },
	{ "last_over_time", FN_LAST_OVER_TIME, 1, { M }, V },
	{ "quantile_over_time", FN_QUANTILE_OVER_TIME, 2, { S, M }, V },
	{ "histogram_quantile", FN_HISTOGRAM_QUANTILE, 2, { S, V }, V },
	{ "abs", FN_ABS, 1, { V }, V },
	{ "ceil", FN_CEIL, 1, { V }, V },
	{ "floor", FN_FLOOR, 1, { V }, V },
	{ "sqrt", FN_SQRT, 1, { V }, V },
	{ "exp", FN_EXP, 1, { V }, V },
	{ "ln", FN_LN, 1, { V }, V },
	{ "clamp_min", FN_CLAMP_MIN, 2, { V, S }, V },
	{ "clamp_max", FN_CLAMP_MAX, 2, { V, S }, V },
	{ "scalar", FN_SCALAR, 1, { V }, S },
	{ "vector", FN_VECTOR, 1, { S }, V },
	{ "time", FN_TIME, 0, { S }, S },
};
#undef S
#undef V
#undef M

const struct promql_func *promql_func_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(promql_funcs); i++)
		if (strlen(promql_funcs[i].name) == len &&
		    memcmp(promql_funcs[i].name, name, len) == 0)
			return &promql_funcs[i];
	return NULL;
}

/* Names Prometheus has that this subset refuses by name rather than as unknown. */
static const char *const unsupported_aggs[] = { "quantile", "stddev", "stdvar",     "count_values",
	                                        "group",    "limitk", "limit_ratio" };
static const char *const keywords[] = { "by",         "without",     "on",     "ignoring",
	                                "group_left", "group_right", "bool",   "offset",
	                                "and",        "or",          "unless", "atan2" };

const char *promql_type_name(enum promql_type t)
{
	switch (t) {
	case PROMQL_SCALAR:
		return "scalar";
	case PROMQL_VECTOR:
		return "instant vector";
	case PROMQL_MATRIX:
		return "range vector";
	case PROMQL_STRING:
		return "string";
	default:
		return "?";
	}
}

bool promql_op_is_comparison(enum promql_op op)
{
	return op >= OP_EQLC && op <= OP_LTE;
}

struct parser {
	struct promql_lexer lx;
	struct promql_token tok;
	struct diag *d;
	unsigned depth;
};

/* diag_set(), as an expression whose value the static analyser can see is code (it does
 * not follow variadic calls), so error paths are not mistaken for successes. */
#define perr(p, code, ...)                             \
	({                                             \
		diag_set((p)->d, (code), __VA_ARGS__); \
		(code);                                \
	})

static int next(struct parser *p)
{
	return promql_lex_next(&p->lx, &p->tok, p->d);
}

/* "position N: expected WHAT, got <the current token>" */
static int expected(struct parser *p, const char *what)
{
	char got[96];

	promql_token_describe(&p->lx, &p->tok, got, sizeof(got));
	return perr(p, -EINVAL, "position %zu: expected %s, got %s", p->tok.pos + 1, what, got);
}

static bool tok_is_word(const struct parser *p, const char *w)
{
	size_t n = strlen(w);

	return p->tok.type == TOK_IDENT && p->tok.len == n &&
	       strncasecmp(p->lx.src + p->tok.pos, w, n) == 0;
}

static bool is_keyword(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keywords); i++)
		if (strlen(keywords[i]) == len && strncasecmp(keywords[i], s, len) == 0)
			return true;
	return false;
}

/* The type of the token after the current one, without consuming anything; with
 * ret_grouping, whether that token is the word "by" or "without". */
static enum promql_tok peek_type(const struct parser *p, bool *ret_grouping)
{
	struct promql_lexer lx = p->lx;
	struct promql_token t = { 0 };
	enum promql_tok type;

	*ret_grouping = false;
	if (promql_lex_next(&lx, &t, NULL) < 0)
		return _TOK_MAX;
	type = t.type;
	if (type == TOK_IDENT)
		*ret_grouping = (t.len == 2 && strncasecmp(lx.src + t.pos, "by", 2) == 0) ||
		                (t.len == 7 && strncasecmp(lx.src + t.pos, "without", 7) == 0);
	promql_token_release(&t);
	return type;
}

static struct promql_expr *node_new(enum promql_kind kind, enum promql_type type, size_t pos)
{
	struct promql_expr *e = xcalloc(1, sizeof(*e));

	e->kind = kind;
	e->type = type;
	e->pos = pos;
	e->depth = 1;
	return e;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by the tree height, <= ONGRID_PROMQL_MAX_DEPTH */
void promql_expr_free(struct promql_expr *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nmatchers; i++) {
		free(e->matchers[i].name);
		free(e->matchers[i].value);
	}
	free(e->matchers);
	for (i = 0; i < e->nargs; i++)
		promql_expr_free(e->args[i]);
	promql_expr_free(e->param);
	free_strv(e->grouping, e->ngrouping);
	promql_expr_free(e->lhs);
	promql_expr_free(e->rhs);
	free(e);
}

enum promql_type promql_expr_type(const struct promql_expr *e)
{
	return e->type;
}

/* Set e's height from its children; refuse a tree taller than the limit. */
static int set_depth(struct parser *p, struct promql_expr *e)
{
	unsigned h = 0;
	size_t i;

	for (i = 0; i < e->nargs; i++)
		if (e->args[i]->depth > h)
			h = e->args[i]->depth;
	if (e->param && e->param->depth > h)
		h = e->param->depth;
	if (e->lhs && e->lhs->depth > h)
		h = e->lhs->depth;
	if (e->rhs && e->rhs->depth > h)
		h = e->rhs->depth;
	e->depth = h + 1;
	if (e->depth > ONGRID_PROMQL_MAX_DEPTH)
		return perr(p, -EINVAL,
		            "position %zu: expression nested too deeply (more than %d levels)",
		            e->pos + 1, ONGRID_PROMQL_MAX_DEPTH);
	return 0;
}

static int parse_expr(struct parser *p, int min_prec, struct promql_expr **ret);

static int ident_is_label_name(const struct parser *p)
{
	return p->tok.type == TOK_IDENT && !memchr(p->lx.src + p->tok.pos, ':', p->tok.len);
}

/* '(' [label {',' label} [',']] ')' for by/without/on/ignoring. */
static int parse_label_list(struct parser *p, char ***ret, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;
	int r;

	if (p->tok.type != TOK_LPAREN)
		return expected(p, "'(' to start the label list");
	if ((r = next(p)) < 0)
		return r;
	while (p->tok.type != TOK_RPAREN) {
		if (!ident_is_label_name(p)) {
			r = expected(p, "label name or ')'");
			goto out_free;
		}
		if (n >= 64) {
			r = perr(p, -E2BIG, "position %zu: more than 64 labels in a list",
			         p->tok.pos + 1);
			goto out_free;
		}
		ALLOC_GROW(v, n + 1, alloc);
		v[n++] = xstrndup(p->lx.src + p->tok.pos, p->tok.len);
		if ((r = next(p)) < 0)
			goto out_free;
		if (p->tok.type == TOK_COMMA) {
			if ((r = next(p)) < 0)
				goto out_free;
		} else if (p->tok.type != TOK_RPAREN) {
			r = expected(p, "',' or ')' in the label list");
			goto out_free;
		}
	}
	if ((r = next(p)) < 0)
		goto out_free;
	*ret = v;
	*ret_n = n;
	return 0;

out_free:
	free_strv(v, n);
	return r;
}

/* Does the matcher select series that lack the label? Prometheus refuses a selector made
 * only of such matchers, since it would select every series in the store. */
static int matcher_check(struct parser *p, const struct promql_matcher *m, size_t pos,
                         bool *ret_matches_empty)
{
	pcre2_code *re;
	pcre2_match_data *md;
	char *pat;
	int err, rc;
	PCRE2_SIZE erroff;

	if (m->op == TSDB_MATCH_EQ || m->op == TSDB_MATCH_NEQ) {
		bool empty = m->value[0] == '\0';
		*ret_matches_empty = m->op == TSDB_MATCH_EQ ? empty : !empty;
		return 0;
	}
	pat = xasprintf("^(?:%s)$", m->value);
	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_DOTALL, &err,
	                   &erroff, NULL);
	free(pat);
	if (!re) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return perr(p, -EINVAL, "position %zu: bad regular expression '%s': %s", pos + 1,
		            m->value, (const char *)msg);
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md) {
		pcre2_code_free(re);
		return perr(p, -ENOMEM, "out of memory compiling a regular expression");
	}
	rc = pcre2_match(re, (PCRE2_SPTR) "", 0, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	*ret_matches_empty = m->op == TSDB_MATCH_RE ? rc >= 0 : rc < 0;
	return 0;
}

/* [name] ['{' matchers '}'] with the current token on the name or '{'. */
static int parse_selector(struct parser *p, struct promql_expr **ret)
{
	struct promql_expr *e = node_new(NODE_SELECTOR, PROMQL_VECTOR, p->tok.pos);
	size_t alloc = 0;
	bool named = false, nonempty = false;
	int r;

	if (p->tok.type == TOK_IDENT) {
		ALLOC_GROW(e->matchers, 1, alloc);
		e->matchers[0].name = xstrdup("__name__");
		e->matchers[0].op = TSDB_MATCH_EQ;
		e->matchers[0].value = xstrndup(p->lx.src + p->tok.pos, p->tok.len);
		e->nmatchers = 1;
		named = true;
		if ((r = next(p)) < 0)
			goto out_free;
		if (p->tok.type != TOK_LBRACE)
			goto done;
	}
	if ((r = next(p)) < 0) /* past '{' */
		goto out_free;
	while (p->tok.type != TOK_RBRACE) {
		struct promql_matcher m = { 0 };
		size_t mpos = p->tok.pos;
		bool empty = false;

		if (!ident_is_label_name(p)) {
			r = expected(p, "label name or '}'");
			goto out_free;
		}
		if (e->nmatchers >= 64) {
			r = perr(p, -E2BIG, "position %zu: more than 64 matchers in a selector",
			         p->tok.pos + 1);
			goto out_free;
		}
		m.name = xstrndup(p->lx.src + p->tok.pos, p->tok.len);
		ALLOC_GROW(e->matchers, e->nmatchers + 1, alloc);
		e->matchers[e->nmatchers++] = m;
		if ((r = next(p)) < 0)
			goto out_free;
		switch (p->tok.type) {
		case TOK_ASSIGN:
			m.op = TSDB_MATCH_EQ;
			break;
		case TOK_NEQ:
			m.op = TSDB_MATCH_NEQ;
			break;
		case TOK_RE:
			m.op = TSDB_MATCH_RE;
			break;
		case TOK_NRE:
			m.op = TSDB_MATCH_NRE;
			break;
		default:
			r = expected(p, "one of '=', '!=', '=~', '!~'");
			goto out_free;
		}
		e->matchers[e->nmatchers - 1].op = m.op;
		if ((r = next(p)) < 0)
			goto out_free;
		if (p->tok.type != TOK_STRING) {
			r = expected(p, "quoted label value");
			goto out_free;
		}
		e->matchers[e->nmatchers - 1].value = p->tok.str;
		p->tok.str = NULL;
		if (named && strcmp(m.name, "__name__") == 0) {
			r = perr(p, -EINVAL, "position %zu: metric name must not be set twice",
			         mpos + 1);
			goto out_free;
		}
		r = matcher_check(p, &e->matchers[e->nmatchers - 1], p->tok.pos, &empty);
		if (r < 0)
			goto out_free;
		nonempty |= !empty;
		if ((r = next(p)) < 0)
			goto out_free;
		if (p->tok.type == TOK_COMMA) {
			if ((r = next(p)) < 0)
				goto out_free;
		} else if (p->tok.type != TOK_RBRACE) {
			r = expected(p, "',' or '}'");
			goto out_free;
		}
	}
	if ((r = next(p)) < 0) /* past '}' */
		goto out_free;
done:
	if (!named && !nonempty) {
		r = perr(p, -EINVAL,
		         "position %zu: vector selector must contain at least one non-empty "
		         "matcher",
		         e->pos + 1);
		goto out_free;
	}
	*ret = e;
	return 0;

out_free:
	promql_expr_free(e);
	return r;
}

static size_t edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[40], i, j;

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

static int unknown_function(struct parser *p)
{
	const char *name = p->lx.src + p->tok.pos, *best = NULL;
	size_t i, bd = 3;

	for (i = 0; i < ARRAY_SIZE(promql_funcs); i++) {
		size_t dd = edit_distance(name, p->tok.len, promql_funcs[i].name);
		if (dd < bd) {
			bd = dd;
			best = promql_funcs[i].name;
		}
	}
	for (i = 0; i < _AGG_MAX; i++) {
		size_t dd = edit_distance(name, p->tok.len, promql_agg_names[i]);
		if (dd < bd) {
			bd = dd;
			best = promql_agg_names[i];
		}
	}
	if (best)
		return diag_set(
		        p->d, -EINVAL, "position %zu: unknown function '%.*s' (did you mean '%s'?)",
		        p->tok.pos + 1, (int)(p->tok.len > 64 ? 64 : p->tok.len), name, best);
	return perr(p, -EINVAL, "position %zu: unknown function '%.*s'", p->tok.pos + 1,
	            (int)(p->tok.len > 64 ? 64 : p->tok.len), name);
}

static int check_arg(struct parser *p, const char *fname, unsigned i, enum promql_type want,
                     const struct promql_expr *arg)
{
	if (arg->type == want)
		return 0;
	return perr(p, -EINVAL, "position %zu: expected %s as argument %u of '%s', got %s",
	            arg->pos + 1, promql_type_name(want), i + 1, fname,
	            promql_type_name(arg->type));
}

/* name '(' args ')' with the current token on the name. */
/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_call(struct parser *p, const struct promql_func *fn, struct promql_expr **ret)
{
	struct promql_expr *e = node_new(NODE_CALL, fn->ret, p->tok.pos);
	size_t rparen;
	unsigned i;
	int r;

	e->fn = fn;
	if ((r = next(p)) < 0 || (r = next(p)) < 0) /* name, '(' */
		goto out_free;
	while (p->tok.type != TOK_RPAREN) {
		struct promql_expr *arg;

		if (e->nargs >= fn->nargs) {
			r = perr(p, -EINVAL,
			         "position %zu: function '%s' takes %u argument%s, got more",
			         p->tok.pos + 1, fn->name, fn->nargs, fn->nargs == 1 ? "" : "s");
			goto out_free;
		}
		r = parse_expr(p, 0, &arg);
		if (r < 0)
			goto out_free;
		e->args[e->nargs++] = arg;
		if (p->tok.type == TOK_COMMA) {
			if ((r = next(p)) < 0)
				goto out_free;
		} else if (p->tok.type != TOK_RPAREN) {
			r = expected(p, "')' or ','");
			goto out_free;
		}
	}
	rparen = p->tok.pos;
	if (e->nargs != fn->nargs) {
		r = perr(p, -EINVAL, "position %zu: function '%s' takes %u argument%s, got %u",
		         rparen + 1, fn->name, fn->nargs, fn->nargs == 1 ? "" : "s", e->nargs);
		goto out_free;
	}
	for (i = 0; i < e->nargs; i++)
		if ((r = check_arg(p, fn->name, i, fn->args[i], e->args[i])) < 0)
			goto out_free;
	if ((r = set_depth(p, e)) < 0 || (r = next(p)) < 0)
		goto out_free;
	*ret = e;
	return 0;

out_free:
	promql_expr_free(e);
	return r;
}

static int parse_grouping(struct parser *p, struct promql_expr *e)
{
	size_t pos = p->tok.pos;
	bool without = tok_is_word(p, "without");
	int r;

	if (e->grouping || e->without)
		return perr(p, -EINVAL, "position %zu: grouping given twice", pos + 1);
	if ((r = next(p)) < 0)
		return r;
	r = parse_label_list(p, &e->grouping, &e->ngrouping);
	if (r < 0)
		return r;
	e->without = without;
	if (!e->grouping && !without)
		e->grouping = xcalloc(1, sizeof(char *)); /* "by ()": one group */
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_aggregation(struct parser *p, enum promql_agg agg, struct promql_expr **ret)
{
	struct promql_expr *e = node_new(NODE_AGG, PROMQL_VECTOR, p->tok.pos);
	struct promql_expr *arg = NULL;
	int r;

	e->agg = agg;
	if ((r = next(p)) < 0)
		goto out_free;
	if (tok_is_word(p, "by") || tok_is_word(p, "without"))
		if ((r = parse_grouping(p, e)) < 0)
			goto out_free;
	if (p->tok.type != TOK_LPAREN) {
		r = expected(p, "'('");
		goto out_free;
	}
	if ((r = next(p)) < 0)
		goto out_free;
	if (agg == AGG_TOPK || agg == AGG_BOTTOMK) {
		r = parse_expr(p, 0, &e->param);
		if (r < 0)
			goto out_free;
		if (p->tok.type != TOK_COMMA) {
			r = expected(p, "',' after the parameter");
			goto out_free;
		}
		if (e->param->type != PROMQL_SCALAR) {
			r = perr(p, -EINVAL,
			         "position %zu: expected scalar as the parameter of "
			         "'%s', got %s",
			         e->param->pos + 1, promql_agg_names[agg],
			         promql_type_name(e->param->type));
			goto out_free;
		}
		if ((r = next(p)) < 0)
			goto out_free;
	}
	r = parse_expr(p, 0, &arg);
	if (r < 0)
		goto out_free;
	e->lhs = arg;
	if (p->tok.type != TOK_RPAREN) {
		r = expected(p, "')'");
		goto out_free;
	}
	if (arg->type != PROMQL_VECTOR) {
		r = perr(p, -EINVAL,
		         "position %zu: expected instant vector in aggregation '%s', got %s",
		         arg->pos + 1, promql_agg_names[agg], promql_type_name(arg->type));
		goto out_free;
	}
	if ((r = next(p)) < 0)
		goto out_free;
	if (tok_is_word(p, "by") || tok_is_word(p, "without"))
		if ((r = parse_grouping(p, e)) < 0)
			goto out_free;
	if ((r = set_depth(p, e)) < 0)
		goto out_free;
	*ret = e;
	return 0;

out_free:
	promql_expr_free(e);
	return r;
}

/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_ident(struct parser *p, struct promql_expr **ret)
{
	const char *name = p->lx.src + p->tok.pos;
	size_t len = p->tok.len, i;
	bool grouping;
	enum promql_tok after = peek_type(p, &grouping);

	for (i = 0; i < _AGG_MAX; i++)
		if (strlen(promql_agg_names[i]) == len &&
		    strncasecmp(promql_agg_names[i], name, len) == 0 &&
		    (after == TOK_LPAREN || grouping))
			return parse_aggregation(p, (enum promql_agg)i, ret);
	for (i = 0; i < ARRAY_SIZE(unsupported_aggs); i++)
		if (strlen(unsupported_aggs[i]) == len &&
		    strncasecmp(unsupported_aggs[i], name, len) == 0 && after == TOK_LPAREN)
			return diag_set(
			        p->d, -EINVAL,
			        "position %zu: aggregation '%s' is not supported (supported: "
			        "sum, avg, min, max, count, topk, bottomk)",
			        p->tok.pos + 1, unsupported_aggs[i]);
	if (after == TOK_LPAREN) {
		const struct promql_func *fn = promql_func_lookup(name, len);
		if (!fn)
			return unknown_function(p);
		return parse_call(p, fn, ret);
	}
	if (is_keyword(name, len))
		return expected(p, "expression");
	return parse_selector(p, ret);
}

/* ret_paren says the expression was in parentheses, which leave no node in the tree but
 * forbid a following range or offset, as in Prometheus. */
/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_primary(struct parser *p, struct promql_expr **ret, bool *ret_paren)
{
	struct promql_expr *e = NULL;
	int r;

	*ret_paren = false;
	switch (p->tok.type) {
	case TOK_NUMBER:
		e = node_new(NODE_NUMBER, PROMQL_SCALAR, p->tok.pos);
		e->num = p->tok.num;
		if ((r = next(p)) < 0) {
			promql_expr_free(e);
			return r;
		}
		*ret = e;
		return 0;
	case TOK_LPAREN:
		if ((r = next(p)) < 0 || (r = parse_expr(p, 0, &e)) < 0)
			goto out_free;
		if (p->tok.type != TOK_RPAREN) {
			r = expected(p, "')'");
			goto out_free;
		}
		if ((r = next(p)) < 0)
			goto out_free;
		*ret = e;
		*ret_paren = true;
		return 0;
	case TOK_LBRACE:
		return parse_selector(p, ret);
	case TOK_IDENT:
		return parse_ident(p, ret);
	default:
		return expected(p, "expression");
	}

out_free:
	promql_expr_free(e);
	return r;
}

static int parse_duration_tok(struct parser *p, int64_t *ret_ms)
{
	int r;

	if (p->tok.type == TOK_NUMBER)
		return expected(p, "duration with a unit such as '5m'");
	if (p->tok.type != TOK_DURATION)
		return expected(p, "duration such as '5m'");
	if (p->tok.dur_ms > PROMQL_MAX_DURATION_MS)
		return perr(p, -EINVAL, "position %zu: duration longer than 100 years",
		            p->tok.pos + 1);
	*ret_ms = p->tok.dur_ms;
	r = next(p);
	return r < 0 ? r : 0;
}

/* primary ['[' duration ']'] ['offset' ['-'] duration] */
/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_postfix(struct parser *p, struct promql_expr **ret)
{
	struct promql_expr *e;
	size_t pos;
	bool paren;
	int r;

	r = parse_primary(p, &e, &paren);
	if (r < 0)
		return r;
	if (p->tok.type == TOK_LBRACKET) {
		pos = p->tok.pos;
		if (e->kind != NODE_SELECTOR || paren || e->range_ms) {
			r = perr(p, -EINVAL,
			         "position %zu: a range '[...]' is only allowed after a vector "
			         "selector, not after %s",
			         pos + 1, paren ? "parentheses" : promql_type_name(e->type));
			goto out_free;
		}
		if ((r = next(p)) < 0)
			goto out_free;
		if ((r = parse_duration_tok(p, &e->range_ms)) < 0)
			goto out_free;
		if (p->tok.type == TOK_COLON ||
		    (p->tok.type == TOK_IDENT && p->lx.src[p->tok.pos] == ':')) {
			r = perr(p, -EINVAL, "position %zu: subqueries are not supported",
			         p->tok.pos + 1);
			goto out_free;
		}
		if (p->tok.type != TOK_RBRACKET) {
			r = expected(p, "']'");
			goto out_free;
		}
		if (e->range_ms <= 0) {
			r = perr(p, -EINVAL, "position %zu: range must be greater than 0", pos + 2);
			goto out_free;
		}
		e->type = PROMQL_MATRIX;
		if ((r = next(p)) < 0)
			goto out_free;
	}
	if (tok_is_word(p, "offset")) {
		bool neg = false;
		pos = p->tok.pos;
		if (e->kind != NODE_SELECTOR || paren) {
			r = perr(p, -EINVAL,
			         "position %zu: offset is only allowed after a vector selector",
			         pos + 1);
			goto out_free;
		}
		if ((r = next(p)) < 0)
			goto out_free;
		if (p->tok.type == TOK_SUB) {
			neg = true;
			if ((r = next(p)) < 0)
				goto out_free;
		}
		if ((r = parse_duration_tok(p, &e->offset_ms)) < 0)
			goto out_free;
		if (neg)
			e->offset_ms = -e->offset_ms;
	}
	if (p->tok.type == TOK_AT) {
		r = perr(p, -EINVAL, "position %zu: the @ modifier is not supported",
		         p->tok.pos + 1);
		goto out_free;
	}
	if (p->tok.type == TOK_LBRACKET) {
		r = perr(p, -EINVAL,
		         "position %zu: a range '[...]' must come before offset, and only once",
		         p->tok.pos + 1);
		goto out_free;
	}
	*ret = e;
	return 0;

out_free:
	promql_expr_free(e);
	return r;
}

enum { PREC_CMP = 1, PREC_ADD, PREC_MUL, PREC_POW };

static int binary_op(const struct parser *p, enum promql_op *ret_op)
{
	static const struct {
		enum promql_tok tok;
		enum promql_op op;
		int prec;
	} ops[] = {
		{ TOK_EQLC, OP_EQLC, PREC_CMP }, { TOK_NEQ, OP_NEQ, PREC_CMP },
		{ TOK_GTR, OP_GTR, PREC_CMP },   { TOK_LSS, OP_LSS, PREC_CMP },
		{ TOK_GTE, OP_GTE, PREC_CMP },   { TOK_LTE, OP_LTE, PREC_CMP },
		{ TOK_ADD, OP_ADD, PREC_ADD },   { TOK_SUB, OP_SUB, PREC_ADD },
		{ TOK_MUL, OP_MUL, PREC_MUL },   { TOK_DIV, OP_DIV, PREC_MUL },
		{ TOK_MOD, OP_MOD, PREC_MUL },   { TOK_POW, OP_POW, PREC_POW },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (p->tok.type == ops[i].tok) {
			*ret_op = ops[i].op;
			return ops[i].prec;
		}
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): recursion passes through parse_expr, capped at MAX_RECURSION */
static int parse_unary(struct parser *p, struct promql_expr **ret)
{
	struct promql_expr *e, *operand;
	size_t pos = p->tok.pos;
	bool neg;
	int r;

	if (p->tok.type != TOK_SUB && p->tok.type != TOK_ADD)
		return parse_postfix(p, ret);
	neg = p->tok.type == TOK_SUB;
	if ((r = next(p)) < 0)
		return r;
	/* unary minus binds tighter than * but looser than ^: -2^2 is -(2^2) */
	r = parse_expr(p, PREC_POW, &operand);
	if (r < 0)
		return r;
	if (operand->type != PROMQL_SCALAR && operand->type != PROMQL_VECTOR) {
		r = perr(p, -EINVAL,
		         "position %zu: unary expression only allowed on scalars and instant "
		         "vectors, got %s",
		         operand->pos + 1, promql_type_name(operand->type));
		promql_expr_free(operand);
		return r;
	}
	if (!neg) {
		*ret = operand;
		return 0;
	}
	if (operand->kind == NODE_NUMBER) { /* fold -1 into a literal, as Prometheus does */
		operand->num = -operand->num;
		operand->pos = pos;
		*ret = operand;
		return 0;
	}
	e = node_new(NODE_UNARY, operand->type, pos);
	e->lhs = operand;
	if ((r = set_depth(p, e)) < 0) {
		promql_expr_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static int parse_bin_modifiers(struct parser *p, struct promql_expr *e)
{
	int r;

	if (tok_is_word(p, "bool")) {
		if (!promql_op_is_comparison(e->op))
			return perr(p, -EINVAL,
			            "position %zu: bool modifier is only allowed on comparison "
			            "operators",
			            p->tok.pos + 1);
		e->bool_mod = true;
		if ((r = next(p)) < 0)
			return r;
	}
	if (tok_is_word(p, "on") || tok_is_word(p, "ignoring")) {
		e->on = tok_is_word(p, "on");
		e->ignoring = !e->on;
		if ((r = next(p)) < 0)
			return r;
		r = parse_label_list(p, &e->grouping, &e->ngrouping);
		if (r < 0)
			return r;
		if (tok_is_word(p, "group_left") || tok_is_word(p, "group_right"))
			return diag_set(
			        p->d, -EINVAL,
			        "position %zu: group_left/group_right (many-to-one matching) "
			        "is not supported",
			        p->tok.pos + 1);
	}
	return 0;
}

static int check_binary(struct parser *p, struct promql_expr *e)
{
	const struct promql_expr *bad = NULL;

	if (e->lhs->type != PROMQL_SCALAR && e->lhs->type != PROMQL_VECTOR)
		bad = e->lhs;
	else if (e->rhs->type != PROMQL_SCALAR && e->rhs->type != PROMQL_VECTOR)
		bad = e->rhs;
	if (bad)
		return perr(p, -EINVAL,
		            "position %zu: expected scalar or instant vector as an operand of "
		            "'%s', got %s",
		            bad->pos + 1, promql_op_names[e->op], promql_type_name(bad->type));
	if (e->lhs->type == PROMQL_SCALAR && e->rhs->type == PROMQL_SCALAR) {
		if (promql_op_is_comparison(e->op) && !e->bool_mod)
			return diag_set(
			        p->d, -EINVAL,
			        "position %zu: comparisons between scalars must use the bool "
			        "modifier",
			        e->rhs->pos + 1);
		e->type = PROMQL_SCALAR;
	} else {
		e->type = PROMQL_VECTOR;
	}
	if ((e->on || e->ignoring) && e->type == PROMQL_SCALAR)
		return diag_set(
		        p->d, -EINVAL,
		        "position %zu: vector matching (on/ignoring) is only allowed between "
		        "instant vectors",
		        e->rhs->pos + 1);
	if ((e->on || e->ignoring) &&
	    (e->lhs->type == PROMQL_SCALAR || e->rhs->type == PROMQL_SCALAR))
		return diag_set(
		        p->d, -EINVAL,
		        "position %zu: vector matching (on/ignoring) is only allowed between "
		        "instant vectors",
		        e->rhs->pos + 1);
	return set_depth(p, e);
}

/* Precedence climbing over binary operators; the only recursive entry point. */
/* Recursion allowed while parsing. Twice the tree height, because the canonical rendering
 * of a tree of height h (promql_expr_format) nests up to 2h + 1 levels of parentheses and
 * operands, and must parse back; still a few hundred small frames at most. */
#define MAX_RECURSION (2 * ONGRID_PROMQL_MAX_DEPTH + 8)

/* NOLINTNEXTLINE(misc-no-recursion): p->depth caps it at MAX_RECURSION */
static int parse_expr(struct parser *p, int min_prec, struct promql_expr **ret)
{
	struct promql_expr *lhs = NULL, *e;
	enum promql_op op = OP_ADD;
	int prec, r;

	if (++p->depth > MAX_RECURSION) {
		r = perr(p, -EINVAL,
		         "position %zu: expression nested too deeply (more than %d levels)",
		         p->tok.pos + 1, MAX_RECURSION);
		goto out;
	}
	r = parse_unary(p, &lhs);
	if (r < 0)
		goto out;
	while ((prec = binary_op(p, &op)) >= min_prec && prec > 0) {
		e = node_new(NODE_BINARY, PROMQL_VECTOR, lhs->pos);
		e->op = op;
		e->lhs = lhs;
		lhs = e;
		if ((r = next(p)) < 0 || (r = parse_bin_modifiers(p, e)) < 0)
			goto out;
		/* ^ is right-associative: its right side may hold another ^ */
		r = parse_expr(p, op == OP_POW ? prec : prec + 1, &e->rhs);
		if (r < 0)
			goto out;
		if ((r = check_binary(p, e)) < 0)
			goto out;
	}
	if (tok_is_word(p, "and") || tok_is_word(p, "or") || tok_is_word(p, "unless")) {
		r = perr(p, -EINVAL, "position %zu: set operator '%.*s' is not supported",
		         p->tok.pos + 1, (int)p->tok.len, p->lx.src + p->tok.pos);
		goto out;
	}
	if (tok_is_word(p, "atan2")) {
		r = perr(p, -EINVAL, "position %zu: operator 'atan2' is not supported",
		         p->tok.pos + 1);
		goto out;
	}
	*ret = lhs;
	lhs = NULL;
out:
	promql_expr_free(lhs);
	p->depth--;
	return r;
}

int promql_parse(const char *query, struct promql_expr **ret, struct diag *d)
{
	struct parser p = { 0 };
	struct promql_expr *e = NULL;
	size_t len = strlen(query);
	int r;

	if (len > ONGRID_PROMQL_MAX_QUERY_BYTES)
		return diag_set(d, -E2BIG, "query is longer than %u bytes",
		                ONGRID_PROMQL_MAX_QUERY_BYTES);
	p.lx.src = query;
	p.lx.len = len;
	p.d = d;
	if ((r = next(&p)) < 0)
		goto out;
	if (p.tok.type == TOK_EOF) {
		r = expected(&p, "expression");
		goto out;
	}
	if ((r = parse_expr(&p, 0, &e)) < 0)
		goto out;
	if (p.tok.type != TOK_EOF) {
		r = expected(&p, "operator or end of input");
		goto out;
	}
	*ret = e;
	e = NULL;
out:
	promql_expr_free(e);
	promql_token_release(&p.tok);
	return r;
}
