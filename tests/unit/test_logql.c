/* test_logql.c - the LogQL subset: parse errors that name position and expectation, and
 * evaluation over a real store. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/logs/logql.h"
#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/json.h"

/* ---- parsing ------------------------------------------------------------------------- */

static void parse_ok(const char *q)
{
	struct logql_expr *e = NULL;
	struct diag d = { 0 };
	int r = logql_parse(q, &e, &d);

	if (r != 0)
		fail_msg("'%s' did not parse: %s", q, d.msg);
	logql_free(e);
}

static void parse_err(const char *q, const char *want)
{
	struct logql_expr *e = NULL;
	struct diag d = { 0 };

	if (logql_parse(q, &e, &d) == 0)
		fail_msg("'%s' parsed but should not", q);
	if (!strstr(d.msg, want))
		fail_msg("'%s': got '%s', want '%s'", q, d.msg, want);
	assert_null(e);
}

static void valid_queries_parse(void **state)
{
	(void)state;
	parse_ok("{app=\"api\"}");
	parse_ok("{app=\"api\", level!=\"debug\", file=~\".*\\\\.log\", unit!~\"cron.*\"}");
	parse_ok("{app=\"api\"} |= \"timeout\" != \"health\" |~ `5\\d\\d` !~ \"(?i)ping\"");
	parse_ok("{app=\"api\"} | json | status >= 500 and method=\"GET\", duration > 250ms");
	parse_ok("{app=\"api\"} | logfmt | level=~\"err|warn\" | line_format \"{{.msg}}\"");
	parse_ok("count_over_time({app=\"api\"}[5m])");
	parse_ok("rate({app=\"api\"} |= \"reset\" [1h30m])");
	parse_ok("sum by (file) (bytes_over_time({host=\"a\"}[1m]))");
	parse_ok("sum(count_over_time({host=\"a\"}[1m])) by (level)");
	parse_ok("topk(3, sum by (unit) (rate({source=\"journal\"}[10m])))");
	parse_ok("avg without (file) (bytes_rate({host=\"a\"}[1m]))");
	parse_ok("(count_over_time(({a=\"b\"})[1m]))");
	parse_ok("{a=\"b\"} # a comment\n |= \"x\"");
}

static void errors_name_position_and_expectation(void **state)
{
	(void)state;
	parse_err("{app>\"x\"}",
	          "at 1:5: expected '=', '!=', '=~' or '!~' after label name 'app', got '>\"x\"}'");
	parse_err("{}", "at 1:1: a stream selector needs at least one matcher");
	parse_err("{app=\"x\" level=\"y\"}", "at 1:10: expected ',' or '}' after a matcher");
	parse_err("{app=\"x}", "at 1:6: unterminated string");
	parse_err("{app=~\"(\"}", "at 1:7: invalid regular expression");
	parse_err("count_over_time({a=\"b\"})", "at 1:24: expected a range such as [5m]");
	parse_err("count_over_time({a=\"b\"}[5x])", "at 1:25: expected a positive duration");
	parse_err("rat({a=\"b\"}[5m])", "at 1:1: unknown function 'rat' (did you mean 'rate'?)");
	parse_err("sum_over_time({a=\"b\"}[5m])", "'sum_over_time' is not in the supported");
	parse_err("{a=\"b\"} | unwrap bytes", "at 1:11: 'unwrap' is not in the supported");
	parse_err("{a=\"b\"} |= \"x\" or \"y\"", "'or' in line filters is not supported");
	parse_err("{a=\"b\"} | x > \"5\"", "compares numbers; write the value without quotes");
	parse_err("{a=\"b\"} | x > fast", "expected a number, a duration (250ms) or a size");
	parse_err("{a=\"b\"} extra", "at 1:9: expected a pipeline stage");
	parse_err("sum({a=\"b\"})", "sum needs a metric query");
	parse_err("topk(0, count_over_time({a=\"b\"}[1m]))", "expected k between 1 and");
	parse_err("", "at 1:1: expected a stream selector");
	parse_err("{a=\"b\"}\n  |= 42", "at 2:6: expected a string");
	parse_err("{a=\"b\\q\"}", "unknown escape");
}

static void nesting_and_size_are_bounded(void **state)
{
	char q[4096];
	size_t n = 0;
	struct logql_expr *e = NULL;
	struct diag d = { 0 };
	char *big;

	(void)state;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "sum(");
	n += (size_t)snprintf(q + n, sizeof(q) - n, "count_over_time({a=\"b\"}[1m])");
	for (int i = 0; i < 100; i++)
		q[n++] = ')';
	q[n] = '\0';
	assert_int_equal(logql_parse(q, &e, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "nested deeper than"));
	big = xmalloc(LOGQL_MAX_QUERY_BYTES + 10);
	memset(big, ' ', LOGQL_MAX_QUERY_BYTES + 9);
	big[LOGQL_MAX_QUERY_BYTES + 9] = '\0';
	assert_int_equal(logql_parse(big, &e, &d), -E2BIG);
	free(big);
}

/* ---- evaluation ---------------------------------------------------------------------- */

struct fixture {
	char dir[64];
	struct logstore *s;
};

static void add(struct logstore *s, const char *labels, int64_t ts, const char *line)
{
	struct diag d = { 0 };
	uint32_t id;

	assert_int_equal(logstore_stream(s, labels, &id, &d), 0);
	assert_int_equal(logstore_append(s, ts, id, line, strlen(line), &d), 0);
}

#define API  "{app=\"api\",file=\"/var/log/api.log\",level=\"error\"}"
#define API2 "{app=\"api\",file=\"/var/log/api.log\",level=\"info\"}"
#define DB   "{app=\"db\",file=\"/var/log/db.log\"}"

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct logstore_opts o = { 64u << 20, 0, false };
	struct diag d = { 0 };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_logql.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(logstore_open(f->dir, &o, &f->s, &d), 0);
	/* minute 0..9: 10 api errors per minute, one info per minute, db lines */
	for (int m = 0; m < 10; m++) {
		for (int i = 0; i < 10; i++) {
			char line[200];
			snprintf(line, sizeof(line),
			         "{\"level\":\"error\",\"status\":%d,\"path\":\"/v1/"
			         "%s\",\"msg\":\"upstream "
			         "timeout\",\"latency\":\"%dms\"}",
			         i < 3 ? 503 : 200, i % 2 ? "users" : "orders", 100 * i);
			add(f->s, API, m * 60000 + i * 1000, line);
		}
		add(f->s, API2, m * 60000 + 30000, "health check ok");
		add(f->s, DB, m * 60000 + 45000,
		    m == 7 ? "level=error msg=\"deadlock detected\" table=orders"
		           : "level=info msg=\"checkpoint complete\" table=orders");
	}
	assert_int_equal(logstore_commit(f->s, 0, NULL, NULL, &d), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	logstore_close(f->s);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

static cJSON *run(struct fixture *f, const char *q, int64_t start, int64_t end, int64_t step,
                  size_t limit)
{
	struct logql_params p = { start, end, step, limit };
	struct logql_expr *e = NULL;
	struct diag d = { 0 };
	cJSON *out = NULL;

	if (logql_parse(q, &e, &d) < 0)
		fail_msg("parse '%s': %s", q, d.msg);
	if (logql_eval(f->s, e, &p, &out, &d) < 0)
		fail_msg("eval '%s': %s", q, d.msg);
	logql_free(e);
	return out;
}

static int nresults(const cJSON *out)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(out, "result"));
}

static const char *line_at(const cJSON *out, int i)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(out, "result"), i),
	                           "line")
	        ->valuestring;
}

static double value_of(const cJSON *out, const char *label, const char *want)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(out, "result")) {
		const cJSON *m = cJSON_GetObjectItem(it, "metric");
		const cJSON *l = label ? cJSON_GetObjectItem(m, label) : NULL;
		if (label && (!l || strcmp(l->valuestring, want) != 0))
			continue;
		return atof(cJSON_GetArrayItem(cJSON_GetObjectItem(it, "value"), 1)->valuestring);
	}
	return NAN;
}

static void selectors_and_line_filters(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	o = run(f, "{app=\"api\"}", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 110);
	cJSON_Delete(o);
	o = run(f, "{app=~\"a.*\", level!=\"info\"}", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 100);
	cJSON_Delete(o);
	o = run(f, "{app!~\"api|web\"} |= \"deadlock\"", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 1);
	assert_non_null(strstr(line_at(o, 0), "deadlock detected"));
	cJSON_Delete(o);
	o = run(f, "{file=~\"/var/log/.*\"} |= \"orders\" != \"checkpoint\" |~ \"dead|timeout\"", 0,
	        600000, 0, 1000);
	assert_int_equal(nresults(o), 51); /* 5 order errors x 10 minutes + the deadlock */
	cJSON_Delete(o);
	o = run(f, "{app=\"api\"} !~ \"(?i)HEALTH\"", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 100);
	cJSON_Delete(o);
}

static void newest_first_with_limit_and_time_window(void **state)
{
	struct fixture *f = *state;
	cJSON *o = run(f, "{app=\"api\", level=\"error\"}", 60000, 179999, 0, 3);

	assert_int_equal(nresults(o), 3);
	/* the newest in [1:00, 2:59.999]: minute 2's last three */
	assert_non_null(strstr(line_at(o, 0), "\"latency\":\"900ms\""));
	assert_non_null(strstr(line_at(o, 2), "\"latency\":\"700ms\""));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "limited")));
	cJSON_Delete(o);
}

static void json_and_logfmt_parsers_with_label_filters(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	o = run(f, "{app=\"api\"} | json | status >= 500", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 30);
	cJSON_Delete(o);
	o = run(f, "{app=\"api\"} | json | status == 200, path=\"/v1/users\" and latency > 500ms",
	        0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 20); /* i = 7, 9 */
	cJSON_Delete(o);
	o = run(f, "{app=\"db\"} | logfmt | level=\"error\" | line_format \"{{.table}}: {{.msg}}\"",
	        0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 1);
	assert_string_equal(line_at(o, 0), "orders: deadlock detected");
	cJSON_Delete(o);
	/* a line that is not JSON does not pass a filter on a JSON field */
	o = run(f, "{app=\"api\"} | json | status > 0", 0, 600000, 0, 1000);
	assert_int_equal(nresults(o), 100);
	cJSON_Delete(o);
}

static void metric_queries(void **state)
{
	struct fixture *f = *state;
	cJSON *o;

	o = run(f, "count_over_time({app=\"api\"}[10m])", 0, 599999, 0, 0);
	assert_int_equal(nresults(o), 2);
	assert_true(value_of(o, "level", "error") == 100);
	assert_true(value_of(o, "level", "info") == 10);
	cJSON_Delete(o);
	o = run(f, "sum by (app) (count_over_time({file=~\".+\"}[10m]))", 0, 599999, 0, 0);
	assert_true(value_of(o, "app", "api") == 110);
	assert_true(value_of(o, "app", "db") == 10);
	cJSON_Delete(o);
	o = run(f, "sum(rate({app=\"api\"} |= \"timeout\" [5m]))", 0, 599999, 0, 0);
	assert_true(fabs(value_of(o, NULL, NULL) - 50.0 / 300.0) < 1e-9);
	cJSON_Delete(o);
	o = run(f, "sum by (status) (count_over_time({app=\"api\"} | json [10m]))", 0, 599999, 0,
	        0);
	assert_true(value_of(o, "status", "503") == 30);
	assert_true(value_of(o, "status", "200") == 70);
	cJSON_Delete(o);
	o = run(f, "bytes_over_time({app=\"api\", level=\"info\"}[10m])", 0, 599999, 0, 0);
	assert_true(value_of(o, "level", "info") == 10 * strlen("health check ok"));
	cJSON_Delete(o);
	o = run(f, "topk(1, sum by (app) (count_over_time({file=~\".+\"}[10m])))", 0, 599999, 0, 0);
	assert_int_equal(nresults(o), 1);
	assert_true(value_of(o, "app", "api") == 110);
	cJSON_Delete(o);
	o = run(f, "bottomk(1, sum by (app) (count_over_time({file=~\".+\"}[10m])))", 0, 599999, 0,
	        0);
	assert_int_equal(nresults(o), 1);
	assert_true(value_of(o, "app", "db") == 10);
	cJSON_Delete(o);
}

static void range_queries_make_one_point_per_step(void **state)
{
	struct fixture *f = *state;
	cJSON *o = run(f, "sum(count_over_time({app=\"api\", level=\"error\"}[1m]))", 59999, 599999,
	               60000, 0);
	const cJSON *vals;

	assert_string_equal(cJSON_GetObjectItem(o, "resultType")->valuestring, "matrix");
	assert_int_equal(nresults(o), 1);
	vals = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "result"), 0),
	                           "values");
	assert_int_equal(cJSON_GetArraySize(vals), 10);
	for (int i = 0; i < 10; i++)
		assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(vals, i), 1)->valuestring,
		                    "10");
	cJSON_Delete(o);
}

static void selective_filters_skip_blocks(void **state)
{
	struct fixture *f = *state;
	struct logstore_opts o = { 64u << 20, 0, false };
	struct diag d = { 0 };
	const cJSON *st;
	cJSON *out;
	char dir[] = "/tmp/test_logql_skip.XXXXXX";
	struct logstore *s;
	struct fixture g;
	char *cmd;

	(void)f;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(logstore_open(dir, &o, &s, &d), 0);
	for (int b = 0; b < 30; b++) {
		for (int i = 0; i < 3000; i++) {
			char line[160];
			snprintf(line, sizeof(line), "req %d.%d served in %d ms by worker-%d%s", b,
			         i, i % 97, i % 8, b == 17 && i == 1234 ? " trace=f00dfeed" : "");
			add(s, "{app=\"web\"}", b * 100000 + i, line);
		}
		assert_int_equal(logstore_commit(s, 0, NULL, NULL, &d), 0);
	}
	g.s = s;
	out = run(&g, "{app=\"web\"} |= \"trace=f00dfeed\"", 0, INT64_MAX / 2, 0, 100);
	assert_int_equal(nresults(out), 1);
	st = cJSON_GetObjectItem(out, "stats");
	assert_true(cJSON_GetObjectItem(st, "blocks_read")->valuedouble <= 2);
	assert_true(cJSON_GetObjectItem(st, "blocks_total")->valuedouble >= 30);
	cJSON_Delete(out);
	/* a regex's literal runs skip blocks too, and an alternation needs one branch */
	out = run(&g, "{app=\"web\"} |~ \"trace=f00d(feed|beef)|nomatch-anywhere\"", 0,
	          INT64_MAX / 2, 0, 100);
	assert_int_equal(nresults(out), 1);
	st = cJSON_GetObjectItem(out, "stats");
	assert_true(cJSON_GetObjectItem(st, "blocks_read")->valuedouble <= 2);
	cJSON_Delete(out);
	/* an optional char must not become required */
	out = run(&g, "{app=\"web\"} |~ \"trace=f00dx?feed\"", 0, INT64_MAX / 2, 0, 100);
	assert_int_equal(nresults(out), 1);
	cJSON_Delete(out);
	logstore_close(s);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void catastrophic_regex_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct logstore_opts o = { 64u << 20, 0, false };
	struct diag d = { 0 };
	char dir[] = "/tmp/test_logql_redos.XXXXXX", line[4096], *cmd;
	struct fixture g;
	cJSON *out;

	(void)f;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(logstore_open(dir, &o, &g.s, &d), 0);
	memset(line, 'a', 3000);
	line[3000] = '!';
	line[3001] = '\0';
	for (int i = 0; i < 20; i++)
		add(g.s, "{app=\"x\"}", i, line);
	assert_int_equal(logstore_commit(g.s, 0, NULL, NULL, &d), 0);
	/* (a+)+$ backtracks exponentially on "aaa...!": the limit turns it into no match */
	out = run(&g, "{app=\"x\"} |~ \"(a+)+$\"", 0, 1000, 0, 100);
	assert_int_equal(nresults(out), 0);
	cJSON_Delete(out);
	logstore_close(g.s);
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_queries_parse),
		cmocka_unit_test(errors_name_position_and_expectation),
		cmocka_unit_test(nesting_and_size_are_bounded),
		cmocka_unit_test_setup_teardown(selectors_and_line_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(newest_first_with_limit_and_time_window, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(json_and_logfmt_parsers_with_label_filters, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(metric_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(range_queries_make_one_point_per_step, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(selective_filters_skip_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(catastrophic_regex_is_bounded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
