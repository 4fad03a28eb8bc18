/* test_promql_parse: what the parser understands (rendered back, fully parenthesised) and
 * the exact position and wording of each error a person can make. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tsdb/promql.h"
#include "shared/alloc.h"
#include "shared/buf.h"

static void assert_parses_as(const char *query, const char *want)
{
	struct promql_expr *e = NULL;
	struct diag d = { 0 };
	struct buf b = BUF_INIT(1 << 20);
	int r;

	r = promql_parse(query, &e, &d);
	if (r < 0)
		fail_msg("'%s' did not parse: %s", query, d.msg);
	assert_int_equal(promql_expr_format(e, &b), 0);
	if (strcmp(buf_str(&b), want) != 0)
		fail_msg("'%s' parsed as '%s', wanted '%s'", query, buf_str(&b), want);
	buf_release(&b);
	promql_expr_free(e);
}

static void assert_fails_with(const char *query, const char *want)
{
	struct promql_expr *e = NULL;
	struct diag d = { 0 };
	int r;

	r = promql_parse(query, &e, &d);
	if (r >= 0)
		fail_msg("'%s' parsed, wanted error '%s'", query, want);
	assert_null(e);
	assert_true(r == -EINVAL || r == -E2BIG);
	if (strncmp(d.msg, want, strlen(want)) != 0)
		fail_msg("'%s' failed with '%s', wanted '%s'", query, d.msg, want);
}

static void precedence_and_associativity_follow_prometheus(void **state)
{
	(void)state;
	assert_parses_as("1 + 2 * 3", "(1 + (2 * 3))");
	assert_parses_as("1 * 2 + 3", "((1 * 2) + 3)");
	assert_parses_as("10 - 4 - 3", "((10 - 4) - 3)");
	assert_parses_as("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))");
	assert_parses_as("-2 ^ 2", "(-(2 ^ 2))");
	assert_parses_as("-2 * 3", "((-2) * 3)");
	assert_parses_as("(-2) ^ 2", "((-2) ^ 2)");
	assert_parses_as("2 ^ -1", "(2 ^ (-1))");
	assert_parses_as("a > 5 + 1", "(a > (5 + 1))");
	assert_parses_as("a + b > bool c * 2", "((a + b) > bool (c * 2))");
	assert_parses_as("(1 + 2) * 3", "((1 + 2) * 3)");
	assert_parses_as("a % 2 == 0", "((a % 2) == 0)");
	assert_parses_as("- -a", "(-(-a))");
	assert_parses_as("+a", "a");
}

static void selectors_matchers_ranges_and_offsets(void **state)
{
	(void)state;
	assert_parses_as("http_requests_total", "http_requests_total");
	assert_parses_as("node:cpu:rate5m", "node:cpu:rate5m");
	assert_parses_as("x{job=\"api\",code=~\"5..\",path!=\"/\",m!~'GET|HEAD',}",
	                 "x{job=\"api\", code=~\"5..\", path!=\"/\", m!~\"GET|HEAD\"}");
	assert_parses_as("{__name__=\"x\", a=\"b\"}", "x{a=\"b\"}");
	assert_parses_as("{job=\"api\"}", "{job=\"api\"}");
	assert_parses_as("x[5m]", "x[5m]");
	assert_parses_as("x[1h30m]", "x[1h30m]");
	assert_parses_as("x[90s]", "x[1m30s]");
	assert_parses_as("x[250ms]", "x[250ms]");
	assert_parses_as("x[1d] offset 1w", "x[1d] offset 1w");
	assert_parses_as("x offset -5m", "x offset -5m");
	assert_parses_as("x OFFSET 5m", "x offset 5m");
	assert_parses_as("rate(x[5m] offset 1h)", "rate(x[5m] offset 1h)");
	assert_parses_as("# the rate\nrate(x[5m]) # per second", "rate(x[5m])");
}

static void strings_take_go_escapes(void **state)
{
	(void)state;
	assert_parses_as("x{a=\"b\\\"c\\\\d\\n\"}", "x{a=\"b\\\"c\\\\d\\n\"}");
	assert_parses_as("x{a='it\\'s'}", "x{a=\"it's\"}");
	assert_parses_as("x{a=`raw\\d+`}", "x{a=\"raw\\\\d+\"}");
	assert_parses_as("x{a=\"\\u00e9\\x41\\101\\t\"}", "x{a=\"\xc3\xa9"
	                                                  "AA\t\"}");
}

static void numbers_in_every_spelling(void **state)
{
	(void)state;
	assert_parses_as("0x10 + 1e3 + .5 + 2.5e-1", "(((16 + 1000) + 0.5) + 0.25)");
	assert_parses_as("Inf - -inf", "(+Inf - (-Inf))");
	assert_parses_as("NaN", "NaN");
	assert_parses_as("1.5", "1.5");
}

static void functions_and_aggregations(void **state)
{
	(void)state;
	assert_parses_as("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))");
	assert_parses_as("sum(rate(x[5m])) by (job, instance)",
	                 "sum by (job, instance) (rate(x[5m]))");
	assert_parses_as("SUM without (cpu) (x)", "sum without (cpu) (x)");
	assert_parses_as("avg by () (x)", "avg by () (x)");
	assert_parses_as("topk(3, x)", "topk(3, x)");
	assert_parses_as("bottomk by (job) (2, x)", "bottomk by (job) (2, x)");
	assert_parses_as("count(x) + max(x) - min(x)", "((count(x) + max(x)) - min(x))");
	assert_parses_as("histogram_quantile(0.9, sum by (le) (rate(runqlat_bucket[5m])))",
	                 "histogram_quantile(0.9, sum by (le) (rate(runqlat_bucket[5m])))");
	assert_parses_as("quantile_over_time(0.5, x[10m])", "quantile_over_time(0.5, x[10m])");
	assert_parses_as("irate(x[1m]) + increase(x[1h]) + delta(g[5m])",
	                 "((irate(x[1m]) + increase(x[1h])) + delta(g[5m]))");
	assert_parses_as("time() - scalar(x)", "(time() - scalar(x))");
	assert_parses_as("clamp_max(abs(x), 10)", "clamp_max(abs(x), 10)");
	assert_parses_as("a / on(job) b", "(a / on(job) b)");
	assert_parses_as("a == bool ignoring(code, le) b", "(a == bool ignoring(code, le) b)");
	assert_parses_as("rate((x[5m]))", "rate(x[5m])");
	/* a metric may be called like an aggregation when it is not followed by '(' */
	assert_parses_as("count > 1", "(count > 1)");
}

static void parse_types(void **state)
{
	struct promql_expr *e;

	(void)state;
	assert_int_equal(promql_parse("x[5m]", &e, NULL), 0);
	assert_int_equal(promql_expr_type(e), PROMQL_MATRIX);
	promql_expr_free(e);
	assert_int_equal(promql_parse("1 + 2", &e, NULL), 0);
	assert_int_equal(promql_expr_type(e), PROMQL_SCALAR);
	promql_expr_free(e);
	assert_int_equal(promql_parse("x * 2", &e, NULL), 0);
	assert_int_equal(promql_expr_type(e), PROMQL_VECTOR);
	promql_expr_free(e);
	assert_int_equal(promql_parse("scalar(x)", &e, NULL), 0);
	assert_int_equal(promql_expr_type(e), PROMQL_SCALAR);
	promql_expr_free(e);
}

static void syntax_errors_name_position_and_expectation(void **state)
{
	(void)state;
	assert_fails_with("rate(foo[5m]", "position 13: expected ')' or ',', got end of input");
	assert_fails_with("", "position 1: expected expression, got end of input");
	assert_fails_with("foo + ", "position 7: expected expression, got end of input");
	assert_fails_with("foo bar", "position 5: expected operator or end of input, got "
	                             "identifier 'bar'");
	assert_fails_with("foo{job=\"a\"", "position 12: expected ',' or '}', got end of input");
	assert_fails_with("foo{job=a}", "position 9: expected quoted label value, got "
	                                "identifier 'a'");
	assert_fails_with("foo{job~\"a\"}", "position 8: unexpected character '~'");
	assert_fails_with("foo{\"job\"=\"a\"}", "position 5: expected label name or '}', got "
	                                        "string \"job\"");
	assert_fails_with("foo{job==\"a\"}", "position 8: expected one of '=', '!=', '=~', "
	                                     "'!~', got '=='");
	assert_fails_with("foo[5]", "position 5: expected duration with a unit such as '5m', "
	                            "got number '5'");
	assert_fails_with("foo[5m", "position 7: expected ']', got end of input");
	assert_fails_with("foo[5m:1m]", "position 7: subqueries are not supported");
	assert_fails_with("foo[1m1h]", "position 5: bad duration");
	assert_fails_with("foo[5min]", "position 5: bad number or duration");
	assert_fails_with("foo offset 5m [5m]", "position 15: a range '[...]' must come before "
	                                        "offset");
	assert_fails_with("(foo)[5m]", "position 6: a range '[...]' is only allowed after a "
	                               "vector selector, not after parentheses");
	assert_fails_with("(foo) offset 5m", "position 7: offset is only allowed after a vector "
	                                     "selector");
	assert_fails_with("foo[1000y]", "position 5: duration longer than 100 years");
	assert_fails_with("sum(foo) offset 5m", "position 10: offset is only allowed after a "
	                                        "vector selector");
	assert_fails_with("foo @ 100", "position 5: the @ modifier is not supported");
	assert_fails_with("\"text\"", "position 1: expected expression, got string \"text\"");
	assert_fails_with("x{a=\"abc", "position 5: unterminated string");
	assert_fails_with("x{a=\"\\q\"}", "position 6: unknown escape sequence in string");
	assert_fails_with("x{a=\"\\x00\"}", "position 6: string contains a NUL character");
	assert_fails_with("foo ! bar", "position 5: unexpected character '!'");
	assert_fails_with("sum by job (x)", "position 8: expected '(' to start the label list, "
	                                    "got identifier 'job'");
	assert_fails_with("sum by (job) (x) by (a)", "position 18: grouping given twice");
	assert_fails_with("topk(x)", "position 7: expected ',' after the parameter, got ')'");
}

static void type_and_semantic_errors(void **state)
{
	(void)state;
	assert_fails_with("rate(foo)", "position 6: expected range vector as argument 1 of "
	                               "'rate', got instant vector");
	assert_fails_with("histogram_quantile(x, y)", "position 20: expected scalar as argument "
	                                              "1 of 'histogram_quantile', got instant "
	                                              "vector");
	assert_fails_with("rate(foo[5m], 1)", "position 15: function 'rate' takes 1 argument, got "
	                                      "more");
	assert_fails_with("quantile_over_time(x[5m])", "position 25: function "
	                                               "'quantile_over_time' takes 2 arguments, "
	                                               "got 1");
	assert_fails_with("rat(foo[5m])", "position 1: unknown function 'rat' (did you mean "
	                                  "'rate'?)");
	assert_fails_with("frobnicate(x)", "position 1: unknown function 'frobnicate'");
	assert_fails_with("sum(foo[5m])", "position 5: expected instant vector in aggregation "
	                                  "'sum', got range vector");
	assert_fails_with("topk(x, y)", "position 6: expected scalar as the parameter of 'topk', "
	                                "got instant vector");
	assert_fails_with("quantile(0.5, x)", "position 1: aggregation 'quantile' is not "
	                                      "supported");
	assert_fails_with("1 > 2", "position 5: comparisons between scalars must use the bool "
	                           "modifier");
	assert_fails_with("1 + bool x", "position 5: bool modifier is only allowed on "
	                                "comparison operators");
	assert_fails_with("x + on(job) 1", "position 13: vector matching (on/ignoring) is only "
	                                   "allowed between instant vectors");
	assert_fails_with("x / on(job) group_left y", "position 13: group_left/group_right");
	assert_fails_with("foo and bar", "position 5: set operator 'and' is not supported");
	assert_fails_with("foo OR bar", "position 5: set operator 'OR' is not supported");
	assert_fails_with("foo atan2 bar", "position 5: operator 'atan2' is not supported");
	assert_fails_with("x[5m] + 1", "position 1: expected scalar or instant vector as an "
	                               "operand of '+', got range vector");
	assert_fails_with("-x[5m]", "position 2: unary expression only allowed on scalars and "
	                            "instant vectors, got range vector");
	assert_fails_with("{job=~\".*\"}", "position 1: vector selector must contain at least "
	                                   "one non-empty matcher");
	assert_fails_with("{job=\"\"}", "position 1: vector selector must contain at least one "
	                                "non-empty matcher");
	assert_fails_with("foo{a=~\"(\"}", "position 8: bad regular expression '(': ");
	assert_fails_with("x{__name__=\"y\"}", "position 3: metric name must not be set twice");
}

static char *repeat(const char *s, size_t n, const char *tail)
{
	size_t l = strlen(s), tl = strlen(tail), i;
	char *out = xmalloc(l * n + tl + 1);

	for (i = 0; i < n; i++)
		memcpy(out + i * l, s, l);
	memcpy(out + l * n, tail, tl + 1);
	return out;
}

static void hostile_nesting_is_a_clean_error(void **state)
{
	char *q;

	(void)state;
	q = repeat("(", 10000, "1");
	assert_fails_with(q, "position 265: expression nested too deeply (more than 264 levels)");
	free(q);
	q = repeat("-", 10000, "x");
	assert_fails_with(q, "position 265: expression nested too deeply");
	free(q);
	q = repeat("abs(", 10000, "x");
	assert_fails_with(q, "position 1057: expression nested too deeply");
	free(q);
	/* shallow enough to recurse, but a tree taller than the limit */
	{
		char *close = repeat(")", 200, "");
		char *tail = repeat("x", 1, close);
		q = repeat("abs(", 200, tail);
		free(close);
		free(tail);
	}
	assert_fails_with(q, "position 289: expression nested too deeply (more than 128 levels)");
	free(q);
	/* a long chain is built in a loop, not by recursion, but its height still counts */
	q = repeat("1+", 5000, "1");
	assert_fails_with(q, "position 1: expression nested too deeply");
	free(q);
	/* just under the limit parses */
	q = repeat("1+", 100, "1");
	{
		struct promql_expr *e;
		assert_int_equal(promql_parse(q, &e, NULL), 0);
		promql_expr_free(e);
	}
	free(q);
	q = repeat("x", 70000, "");
	assert_fails_with(q, "query is longer than 65536 bytes");
	free(q);
}

static void values_are_formatted_like_prometheus(void **state)
{
	char out[32];

	(void)state;
	promql_format_value(1.5, out, sizeof(out));
	assert_string_equal(out, "1.5");
	promql_format_value(0.1 + 0.2, out, sizeof(out));
	assert_string_equal(out, "0.30000000000000004");
	promql_format_value(1e15, out, sizeof(out));
	assert_string_equal(out, "1000000000000000");
	promql_format_value(-0.0001, out, sizeof(out));
	assert_string_equal(out, "-0.0001");
	promql_format_value(1.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "+Inf");
	promql_format_value(-1.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "-Inf");
	promql_format_value(0.0 / 0.0, out, sizeof(out));
	assert_string_equal(out, "NaN");
	promql_format_value(42, out, sizeof(out));
	assert_string_equal(out, "42");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(precedence_and_associativity_follow_prometheus),
		cmocka_unit_test(selectors_matchers_ranges_and_offsets),
		cmocka_unit_test(strings_take_go_escapes),
		cmocka_unit_test(numbers_in_every_spelling),
		cmocka_unit_test(functions_and_aggregations),
		cmocka_unit_test(parse_types),
		cmocka_unit_test(syntax_errors_name_position_and_expectation),
		cmocka_unit_test(type_and_semantic_errors),
		cmocka_unit_test(hostile_nesting_is_a_clean_error),
		cmocka_unit_test(values_are_formatted_like_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
