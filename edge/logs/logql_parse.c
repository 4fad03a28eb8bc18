/* logql_parse.c - recursive-descent parser for the LogQL subset in logql.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/logs/logql.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/str.h"
#include "shared/banned.h"

struct parser {
	const char *src, *p;
	struct diag *d;
	int depth;
	bool failed;
};

static void pos_of(const struct parser *ps, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *c = ps->src; c < at; c++) {
		if (*c == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* What is at p, for "got ..." in messages. */
static void describe(const char *p, char *out, size_t n)
{
	size_t k = 0;

	if (!*p) {
		snprintf(out, n, "end of query");
		return;
	}
	while (p[k] && !isspace((unsigned char)p[k]) && k < 16)
		k++;
	if (!k)
		k = 1;
	snprintf(out, n, "'%.*s'", (int)k, p);
}

static int fail_at(struct parser *ps, const char *at, const char *fmt, ...) _printf_(3, 4);
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
	char msg[ONGRID_DIAG_MAX - 32];
	int line, col;
	va_list ap;

	if (ps->failed)
		return -EINVAL;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pos_of(ps, at, &line, &col);
	return diag_set(ps->d, -EINVAL, "at %d:%d: %s", line, col, msg);
}

static int expected(struct parser *ps, const char *what)
{
	char got[40];

	describe(ps->p, got, sizeof(got));
	return fail_at(ps, ps->p, "expected %s, got %s", what, got);
}

static void skip_ws(struct parser *ps)
{
	for (;;) {
		while (isspace((unsigned char)*ps->p))
			ps->p++;
		if (*ps->p == '#') { /* comment to end of line, as in Loki */
			while (*ps->p && *ps->p != '\n')
				ps->p++;
			continue;
		}
		return;
	}
}

static bool accept(struct parser *ps, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(ps);
	if (strncmp(ps->p, tok, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static bool peek(struct parser *ps, const char *tok)
{
	skip_ws(ps);
	return strncmp(ps->p, tok, strlen(tok)) == 0;
}

static bool is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* An identifier (returned malloc'ed), or NULL when none is here. */
static char *ident(struct parser *ps)
{
	const char *s;

	skip_ws(ps);
	if (!is_ident_start(*ps->p))
		return NULL;
	s = ps->p;
	while (is_ident(*ps->p))
		ps->p++;
	return xstrndup(s, (size_t)(ps->p - s));
}

/* A keyword: the identifier kw, not a prefix of a longer one. */
static bool keyword(struct parser *ps, const char *kw)
{
	size_t n = strlen(kw);

	skip_ws(ps);
	if (strncmp(ps->p, kw, n) != 0 || is_ident(ps->p[n]))
		return false;
	ps->p += n;
	return true;
}

/* "double quoted" with Go escapes, or `raw`. */
static int string_lit(struct parser *ps, char **ret, size_t *ret_len)
{
	struct buf b = BUF_INIT(LOGQL_MAX_QUERY_BYTES);
	const char *start;
	char q;

	skip_ws(ps);
	start = ps->p;
	q = *ps->p;
	if (q != '"' && q != '`')
		return expected(ps, "a string in double quotes or backticks");
	ps->p++;
	while (*ps->p && *ps->p != q) {
		char c = *ps->p++;
		int r;
		if (q == '"' && c == '\\') {
			char e = *ps->p++;
			switch (e) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case '\\':
				c = '\\';
				break;
			case '"':
				c = '"';
				break;
			case '\'':
				c = '\'';
				break;
			default:
				buf_release(&b);
				return fail_at(
				        ps, ps->p - 2,
				        "unknown escape '\\%c' in string (write '\\\\' for a "
				        "backslash)",
				        e ? e : ' ');
			}
		}
		r = buf_addc(&b, c);
		if (r < 0) {
			buf_release(&b);
			return fail_at(ps, start, "string too long");
		}
	}
	if (*ps->p != q) {
		buf_release(&b);
		return fail_at(ps, start, "unterminated string");
	}
	ps->p++;
	*ret = buf_detach(&b, ret_len);
	return 0;
}

static int compile_re(struct parser *ps, const char *at, const char *src, bool anchored,
                      pcre2_code **ret)
{
	int err;
	PCRE2_SIZE off;
	char *pat = anchored ? xasprintf("^(?:%s)$", src) : xstrdup(src);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	                               PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);

	free(pat);
	if (!re) {
		PCRE2_UCHAR msg[200];
		pcre2_get_error_message(err, msg, sizeof(msg));
		return fail_at(ps, at, "invalid regular expression: %s", (const char *)msg);
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	*ret = re;
	return 0;
}

static int match_op(struct parser *ps, enum logql_op *op, bool numeric_ok)
{
	skip_ws(ps);
	if (accept(ps, "=~"))
		*op = LQ_RE;
	else if (accept(ps, "!~"))
		*op = LQ_NRE;
	else if (accept(ps, "!="))
		*op = LQ_NEQ;
	else if (numeric_ok && accept(ps, "=="))
		*op = LQ_EQEQ;
	else if (accept(ps, "="))
		*op = LQ_EQ;
	else if (numeric_ok && accept(ps, ">="))
		*op = LQ_GE;
	else if (numeric_ok && accept(ps, "<="))
		*op = LQ_LE;
	else if (numeric_ok && accept(ps, ">"))
		*op = LQ_GT;
	else if (numeric_ok && accept(ps, "<"))
		*op = LQ_LT;
	else
		return -1;
	return 0;
}

static int selector(struct parser *ps, struct logql_log *l)
{
	size_t alloc = 0;

	if (!accept(ps, "{"))
		return expected(ps, "'{' to start a stream selector");
	if (accept(ps, "}"))
		return fail_at(
		        ps, ps->p - 2,
		        "a stream selector needs at least one matcher, as in {file=~\".+\"}");
	for (;;) {
		struct logql_matcher m = { 0 };
		const char *at;
		int r;

		m.name = ident(ps);
		if (!m.name)
			return expected(ps, "a label name");
		if (match_op(ps, &m.op, false) < 0) {
			char what[128];
			snprintf(what, sizeof(what),
			         "'=', '!=', '=~' or '!~' after label name '%s'", m.name);
			free(m.name);
			return expected(ps, what);
		}
		skip_ws(ps);
		at = ps->p;
		r = string_lit(ps, &m.value, &(size_t){ 0 });
		if (r == 0 && (m.op == LQ_RE || m.op == LQ_NRE))
			r = compile_re(ps, at, m.value, true, &m.re);
		ALLOC_GROW(l->m, l->nm + 1, alloc);
		l->m[l->nm++] = m;
		if (r < 0)
			return r;
		if (accept(ps, "}"))
			break;
		if (!accept(ps, ","))
			return expected(ps, "',' or '}' after a matcher");
	}
	return 0;
}

/* A number, or a duration/size with a unit, for label filters. */
static int number_lit(struct parser *ps, double *ret)
{
	const char *s;
	char *tok;
	int64_t ms;
	uint64_t sz;
	int r = 0;

	skip_ws(ps);
	s = ps->p;
	if (*ps->p == '-' || *ps->p == '+')
		ps->p++;
	while (isalnum((unsigned char)*ps->p) || *ps->p == '.')
		ps->p++;
	if (ps->p == s)
		return expected(ps, "a number, a duration (250ms) or a size (5MiB)");
	tok = xstrndup(s, (size_t)(ps->p - s));
	if (str_to_double(tok, ret) == 0 && isfinite(*ret))
		;
	else if (str_to_duration_ms(tok, &ms) == 0 && !isdigit((unsigned char)tok[strlen(tok) - 1]))
		*ret = (double)ms / 1000.0; /* seconds, as Loki compares durations */
	else if (str_to_size(tok, &sz) == 0)
		*ret = (double)sz;
	else
		r = fail_at(ps, s,
		            "expected a number, a duration (250ms) or a size (5MiB), got '%s'",
		            tok);
	free(tok);
	return r;
}

static int label_filter(struct parser *ps, struct logql_log *l, size_t *alloc, char *name,
                        const char *at)
{
	struct logql_stage st = { .kind = LQ_LABEL_FILTER, .label = name };
	int r;

	if (match_op(ps, &st.op, true) < 0) {
		char what[128];
		snprintf(what, sizeof(what), "a comparison (= != =~ !~ == > >= < <=) after '%s'",
		         name);
		free(name);
		return expected(ps, what);
	}
	skip_ws(ps);
	at = ps->p;
	if (*ps->p == '"' || *ps->p == '`') {
		r = string_lit(ps, &st.str, &st.len);
		if (r == 0 && st.op >= LQ_GT && st.op != LQ_EQEQ) {
			r = fail_at(ps, at, "'%s' compares numbers; write the value without quotes",
			            st.op == LQ_GT   ? ">"
			            : st.op == LQ_GE ? ">="
			            : st.op == LQ_LT ? "<"
			                             : "<=");
		}
		if (r == 0 && st.op == LQ_EQEQ)
			st.op = LQ_EQ;
		if (r == 0 && (st.op == LQ_RE || st.op == LQ_NRE))
			r = compile_re(ps, at, st.str, true, &st.re);
	} else {
		if (st.op == LQ_RE || st.op == LQ_NRE)
			r = expected(ps, "a regular expression in quotes");
		else
			r = number_lit(ps, &st.num);
		st.numeric = true;
		if (st.op == LQ_EQ)
			st.op = LQ_EQEQ;
	}
	if (l->nst >= LOGQL_MAX_STAGES && r == 0)
		r = fail_at(ps, at, "more than %d pipeline stages", LOGQL_MAX_STAGES);
	ALLOC_GROW(l->st, l->nst + 1, *alloc);
	l->st[l->nst++] = st;
	return r;
}

static int pipeline(struct parser *ps, struct logql_log *l)
{
	size_t alloc = 0;

	for (;;) {
		struct logql_stage st = { 0 };
		const char *at = NULL;
		int r = 0;

		if (accept(ps, "|="))
			st.kind = LQ_LINE_HAS;
		else if (accept(ps, "!="))
			st.kind = LQ_LINE_HASNT;
		else if (accept(ps, "|~"))
			st.kind = LQ_LINE_RE;
		else if (accept(ps, "!~"))
			st.kind = LQ_LINE_NOT_RE;
		else if (accept(ps, "|")) {
			char *name;
			skip_ws(ps);
			at = ps->p;
			name = ident(ps);
			if (!name)
				return expected(
				        ps,
				        "json, logfmt, line_format or a label filter after '|'");
			if (strcmp(name, "json") == 0 || strcmp(name, "logfmt") == 0) {
				st.kind = name[0] == 'j' ? LQ_JSON : LQ_LOGFMT;
				free(name);
				if (peek(ps, "\"") || peek(ps, "`"))
					return fail_at(
					        ps, ps->p,
					        "parser parameters are not supported; use '| %s' "
					        "alone",
					        st.kind == LQ_JSON ? "json" : "logfmt");
			} else if (strcmp(name, "line_format") == 0) {
				free(name);
				st.kind = LQ_LINE_FORMAT;
				r = string_lit(ps, &st.str, &st.len);
			} else if (strcmp(name, "unwrap") == 0 || strcmp(name, "regexp") == 0 ||
			           strcmp(name, "pattern") == 0 ||
			           strcmp(name, "label_format") == 0 || strcmp(name, "drop") == 0 ||
			           strcmp(name, "keep") == 0 || strcmp(name, "unpack") == 0 ||
			           strcmp(name, "decolorize") == 0) {
				r = fail_at(ps, at,
				            "'%s' is not in the supported LogQL subset (see "
				            "docs/logql.md)",
				            name);
				free(name);
				return r;
			} else {
				r = label_filter(ps, l, &alloc, name, at);
				while (r == 0 && (accept(ps, ",") || keyword(ps, "and"))) {
					skip_ws(ps);
					at = ps->p;
					name = ident(ps);
					if (!name)
						return expected(ps,
						                "a label name after ',' or 'and'");
					r = label_filter(ps, l, &alloc, name, at);
				}
				if (r == 0 && keyword(ps, "or"))
					r = fail_at(ps, ps->p - 2,
					            "'or' between label filters is not supported; "
					            "use a "
					            "regex such as level=~\"error|warn\"");
				if (r < 0)
					return r;
				continue;
			}
			if (r < 0)
				return r;
			goto add;
		} else {
			return 0;
		}
		skip_ws(ps);
		at = ps->p;
		r = string_lit(ps, &st.str, &st.len);
		if (r == 0 && (st.kind == LQ_LINE_RE || st.kind == LQ_LINE_NOT_RE))
			r = compile_re(ps, at, st.str, false, &st.re);
		if (r == 0 && keyword(ps, "or"))
			r = fail_at(ps, ps->p - 2,
			            "'or' in line filters is not supported; use |~ \"a|b\"");
		if (r < 0) {
			free(st.str);
			pcre2_code_free(st.re);
			return r;
		}
add:
		if (l->nst >= LOGQL_MAX_STAGES) {
			free(st.str); /* not in l yet: l's release would not see it */
			pcre2_code_free(st.re);
			return fail_at(ps, at, "more than %d pipeline stages", LOGQL_MAX_STAGES);
		}
		ALLOC_GROW(l->st, l->nst + 1, alloc);
		l->st[l->nst++] = st;
	}
}

/* NOLINTNEXTLINE(misc-no-recursion): parentheses count toward LOGQL_MAX_DEPTH via expr() */
static int log_expr(struct parser *ps, struct logql_log *l)
{
	int r;

	skip_ws(ps);
	if (*ps->p == '(') {
		ps->p++;
		r = log_expr(ps, l);
		if (r == 0 && !accept(ps, ")"))
			r = expected(ps, "')'");
		return r;
	}
	r = selector(ps, l);
	if (r == 0)
		r = pipeline(ps, l);
	return r;
}

static const struct {
	const char *name;
	enum logql_range_fn fn;
} range_fns[] = {
	{ "count_over_time", LQ_COUNT_OVER_TIME },
	{ "rate", LQ_RATE },
	{ "bytes_over_time", LQ_BYTES_OVER_TIME },
	{ "bytes_rate", LQ_BYTES_RATE },
};

static const struct {
	const char *name;
	enum logql_agg agg;
} aggs[] = {
	{ "sum", LQ_SUM },     { "avg", LQ_AVG },   { "min", LQ_MIN },         { "max", LQ_MAX },
	{ "count", LQ_COUNT }, { "topk", LQ_TOPK }, { "bottomk", LQ_BOTTOMK },
};

static const char *const known_unsupported[] = {
	"absent_over_time", "avg_over_time",  "sum_over_time",
	"max_over_time",    "min_over_time",  "quantile_over_time",
	"first_over_time",  "last_over_time", "stddev_over_time",
	"stdvar_over_time", "sort",           "sort_desc",
	"label_replace",    "vector",         "stddev",
	"stdvar",
};

static int grouping(struct parser *ps, struct logql_expr *e)
{
	size_t alloc = 0;

	if (keyword(ps, "by"))
		e->without = false;
	else if (keyword(ps, "without"))
		e->without = true;
	else
		return 0;
	e->grouped = true;
	if (!accept(ps, "("))
		return expected(ps, "'(' and label names after by/without");
	if (accept(ps, ")"))
		return 0;
	for (;;) {
		char *n = ident(ps);
		if (!n)
			return expected(ps, "a label name");
		ALLOC_GROW(e->by, e->nby + 1, alloc);
		e->by[e->nby++] = n;
		if (e->nby > 64)
			return fail_at(ps, ps->p, "more than 64 grouping labels");
		if (accept(ps, ")"))
			return 0;
		if (!accept(ps, ","))
			return expected(ps, "',' or ')' in the grouping labels");
	}
}

static int expr(struct parser *ps, struct logql_expr **ret);

/* NOLINTNEXTLINE(misc-no-recursion): capped at LOGQL_MAX_DEPTH by expr() */
static int metric_call(struct parser *ps, const char *name, const char *at, struct logql_expr *e)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(range_fns); i++) {
		if (strcmp(name, range_fns[i].name) != 0)
			continue;
		e->kind = LQ_EXPR_RANGE;
		e->fn = range_fns[i].fn;
		if (!accept(ps, "("))
			return expected(ps, "'(' after the function name");
		r = log_expr(ps, &e->log);
		if (r < 0)
			return r;
		if (!accept(ps, "[")) {
			return expected(ps, "a range such as [5m] after the log query");
		} else {
			const char *s;
			char *dur;
			skip_ws(ps);
			s = ps->p;
			while (*ps->p && *ps->p != ']')
				ps->p++;
			if (*ps->p != ']')
				return fail_at(ps, s, "expected ']' to close the range");
			dur = xstrndup(s, (size_t)(ps->p - s));
			r = str_to_duration_ms(str_trim(dur), &e->range_ms);
			free(dur);
			if (r < 0 || e->range_ms <= 0)
				return fail_at(
				        ps, s,
				        "expected a positive duration such as 5m in the range");
			ps->p++;
		}
		if (!accept(ps, ")"))
			return expected(ps, "')' to close the function call");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(aggs); i++) {
		if (strcmp(name, aggs[i].name) != 0)
			continue;
		e->kind = LQ_EXPR_AGG;
		e->agg = aggs[i].agg;
		r = grouping(ps, e);
		if (r < 0)
			return r;
		if (!accept(ps, "("))
			return expected(ps, "'(' after the aggregation");
		if (e->agg == LQ_TOPK || e->agg == LQ_BOTTOMK) {
			double k;
			const char *ks;
			skip_ws(ps);
			ks = ps->p;
			r = number_lit(ps, &k);
			if (r < 0)
				return r;
			if (k < 1 || k > LOGQL_MAX_SERIES || k != floor(k))
				return fail_at(ps, ks, "expected k between 1 and %d for %s",
				               LOGQL_MAX_SERIES, name);
			e->k = (int64_t)k;
			if (!accept(ps, ","))
				return expected(ps, "',' after k");
		}
		r = expr(ps, &e->arg);
		if (r < 0)
			return r;
		if (e->arg->kind == LQ_EXPR_LOG)
			return fail_at(
			        ps, at,
			        "%s needs a metric query such as count_over_time(...[5m]), not a "
			        "log query",
			        name);
		if (!accept(ps, ")"))
			return expected(ps, "')' to close the aggregation");
		if (!e->grouped)
			r = grouping(ps, e);
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(known_unsupported); i++)
		if (strcmp(name, known_unsupported[i]) == 0)
			return fail_at(ps, at,
			               "'%s' is not in the supported LogQL subset (see "
			               "docs/logql.md)",
			               name);
	{
		/* nearest known name, for typos */
		const char *best = NULL;
		size_t bestd = 3;
		for (size_t i = 0; i < ARRAY_SIZE(range_fns) + ARRAY_SIZE(aggs); i++) {
			const char *c = i < ARRAY_SIZE(range_fns)
			                        ? range_fns[i].name
			                        : aggs[i - ARRAY_SIZE(range_fns)].name;
			size_t n = strlen(name), m = strlen(c), d0 = n > m ? n - m : m - n,
			       diff = d0;
			for (size_t k = 0; k < n && k < m; k++)
				diff += name[k] != c[k];
			if (diff < bestd) {
				bestd = diff;
				best = c;
			}
		}
		if (best)
			return fail_at(ps, at, "unknown function '%s' (did you mean '%s'?)", name,
			               best);
		return fail_at(ps, at, "unknown function '%s'", name);
	}
}

/* NOLINTNEXTLINE(misc-no-recursion): capped at LOGQL_MAX_DEPTH */
static int expr(struct parser *ps, struct logql_expr **ret)
{
	struct logql_expr *e = xcalloc(1, sizeof(*e));
	const char *at;
	char *name;
	int r;

	*ret = e;
	if (++ps->depth > LOGQL_MAX_DEPTH) {
		ps->depth--;
		return fail_at(ps, ps->p, "query nested deeper than %d levels", LOGQL_MAX_DEPTH);
	}
	skip_ws(ps);
	at = ps->p;
	if (*ps->p == '{' || *ps->p == '(') {
		if (*ps->p == '(') {
			/* a parenthesised metric or log query */
			ps->p++;
			free(e);
			r = expr(ps, ret);
			if (r == 0 && !accept(ps, ")"))
				r = expected(ps, "')'");
			ps->depth--;
			return r;
		}
		e->kind = LQ_EXPR_LOG;
		r = log_expr(ps, &e->log);
	} else {
		name = ident(ps);
		if (!name) {
			ps->depth--;
			return expected(ps, "a stream selector '{...}' or a function such as "
			                    "count_over_time");
		}
		r = metric_call(ps, name, at, e);
		free(name);
	}
	ps->depth--;
	return r;
}

int logql_parse(const char *query, struct logql_expr **ret, struct diag *d)
{
	struct parser ps = { query, query, d, 0, false };
	struct logql_expr *e = NULL;
	int r;

	if (strlen(query) > LOGQL_MAX_QUERY_BYTES)
		return diag_set(d, -E2BIG, "query longer than %u bytes", LOGQL_MAX_QUERY_BYTES);
	r = expr(&ps, &e);
	if (r == 0) {
		skip_ws(&ps);
		if (*ps.p) {
			if (e->kind == LQ_EXPR_LOG)
				r = expected(
				        &ps,
				        "a pipeline stage (|= != |~ !~ | json | logfmt | label "
				        "filter) or the end of the query");
			else
				r = expected(&ps, "the end of the query");
		}
	}
	if (r < 0) {
		logql_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static void log_free(struct logql_log *l)
{
	for (size_t i = 0; i < l->nm; i++) {
		free(l->m[i].name);
		free(l->m[i].value);
		pcre2_code_free(l->m[i].re);
	}
	free(l->m);
	for (size_t i = 0; i < l->nst; i++) {
		free(l->st[i].str);
		free(l->st[i].label);
		pcre2_code_free(l->st[i].re);
	}
	free(l->st);
}

/* NOLINTNEXTLINE(misc-no-recursion): the tree is at most LOGQL_MAX_DEPTH high */
void logql_free(struct logql_expr *e)
{
	if (!e)
		return;
	log_free(&e->log);
	for (size_t i = 0; i < e->nby; i++)
		free(e->by[i]);
	free(e->by);
	logql_free(e->arg);
	free(e);
}

pcre2_match_context *logql_match_context(void)
{
	static pcre2_match_context *ctx;

	if (!ctx) {
		ctx = pcre2_match_context_create(NULL);
		if (!ctx)
			return NULL; /* out of memory: PCRE2's defaults still bound the match */
		pcre2_set_match_limit(ctx, LOGQL_REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(ctx, LOGQL_REGEX_DEPTH_LIMIT);
	}
	return ctx;
}

bool logql_matcher_ok(const struct logql_matcher *m, const char *value)
{
	bool hit;

	if (!value)
		value = "";
	switch (m->op) {
	case LQ_EQ:
		return strcmp(value, m->value) == 0;
	case LQ_NEQ:
		return strcmp(value, m->value) != 0;
	case LQ_RE:
	case LQ_NRE: {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(m->re, NULL);
		hit = pcre2_match(m->re, (PCRE2_SPTR)value, strlen(value), 0, 0, md,
		                  logql_match_context()) >= 0;
		pcre2_match_data_free(md);
		return m->op == LQ_RE ? hit : !hit;
	}
	default:
		return false;
	}
}
