/* test_promql_eval: PromQL answers over an in-memory store, checked against values
 * computed by hand from Prometheus' definitions (extrapolatedRate, bucketQuantile, ...). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tsdb/promql.h"
#include "edge/tsdb/tsdb.h"
#include "shared/json.h"

#define S 1000 /* ms per second */

static struct tsdb *db;

/* add("name", "k1", "v1", ..., NULL) -> series ref */
static uint64_t series(const char *name, ...)
{
	struct label l[16];
	size_t n = 1;
	uint64_t ref;
	struct diag d = { 0 };
	va_list ap;
	const char *k;

	l[0].name = "__name__";
	l[0].value = name;
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		l[n].name = k;
		l[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	if (tsdb_series(db, l, n, &ref, &d) < 0)
		fail_msg("tsdb_series: %s", d.msg);
	return ref;
}

static void put(uint64_t ref, int64_t t_s, double v)
{
	assert_int_equal(tsdb_append(db, ref, t_s * S, v), 0);
}

static int setup(void **state)
{
	struct tsdb_opts o = { 0 };
	struct diag d = { 0 };

	(void)state;
	if (tsdb_open(&o, &db, &d) < 0)
		fail_msg("tsdb_open: %s", d.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsdb_close(db);
	db = NULL;
	return 0;
}

static struct promql_result *range_q(const char *q, int64_t start_s, int64_t end_s, int64_t step_s)
{
	struct promql_expr *e;
	struct promql_result *res;
	struct diag d = { 0 };

	if (promql_parse(q, &e, &d) < 0)
		fail_msg("'%s': %s", q, d.msg);
	if (promql_eval(db, e, start_s * S, end_s * S, step_s * S, &res, &d) < 0)
		fail_msg("'%s': %s", q, d.msg);
	promql_expr_free(e);
	return res;
}

static struct promql_result *instant(const char *q, int64_t t_s)
{
	return range_q(q, t_s, t_s, 0);
}

static int eval_error(const char *q, int64_t start_s, int64_t end_s, int64_t step_s, struct diag *d)
{
	struct promql_expr *e;
	struct promql_result *res = NULL;
	int r;

	if (promql_parse(q, &e, d) < 0)
		fail_msg("'%s': %s", q, d->msg);
	r = promql_eval(db, e, start_s * S, end_s * S, step_s * S, &res, d);
	promql_expr_free(e);
	promql_result_free(res);
	assert_true(r < 0);
	return r;
}

static bool has_label(const struct promql_series *s, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return value && strcmp(s->labels[i].value, value) == 0;
	return !value;
}

/* The series whose label name has value (NULL value: the series without that label). */
static const struct promql_series *find(const struct promql_result *r, const char *name,
                                        const char *value)
{
	size_t i;

	for (i = 0; i < r->nseries; i++)
		if (has_label(&r->series[i], name, value))
			return &r->series[i];
	fail_msg("no series with %s=%s", name, value ? value : "(none)");
	return NULL;
}

static double one_value(const char *q, int64_t t_s)
{
	struct promql_result *r = instant(q, t_s);
	double v;

	if (r->nseries != 1)
		fail_msg("'%s' at %llds: %zu series, wanted 1", q, (long long)t_s, r->nseries);
	v = r->series[0].v[0];
	promql_result_free(r);
	return v;
}

static size_t count_series(const char *q, int64_t t_s)
{
	struct promql_result *r = instant(q, t_s);
	size_t n = r->nseries;

	promql_result_free(r);
	return n;
}

static void close_to(double got, double want, int line)
{
	if (!(fabs(got - want) < 1e-9 * (1 + fabs(want))))
		fail_msg("line %d: got %.17g, wanted %.17g", line, got, want);
}
#define assert_close(a, b) close_to((a), (b), __LINE__)

static void rate_extrapolates_like_prometheus(void **state)
{
	uint64_t c = series("req_total", "job", "api", NULL);
	int64_t t;

	(void)state;
	/* one sample every 10s from 100s to 300s, rising 2 per second from 1000 */
	for (t = 100; t <= 300; t += 10)
		put(c, t, 1000 + 2.0 * (double)(t - 100));
	/* At 400s the 5m window (100s, 400s] holds 110s..300s: 20 samples, +380. The gap to
	 * the start (10s) is under 1.1 x the 10s average, so it is extrapolated fully; the
	 * gap to the end (100s) is not, so only half an interval (5s) is added: 380 * 205 /
	 * 190 = 410 over 300s. */
	assert_close(one_value("increase(req_total[5m])", 400), 410);
	assert_close(one_value("rate(req_total[5m])", 400), 410.0 / 300);
	assert_close(one_value("delta(req_total[5m])", 400), 410);
	/* inside the data, windows are full: exactly 2/s and 600 per 5m */
	assert_close(one_value("rate(req_total[1m])", 300), 2);
	assert_close(one_value("irate(req_total[1m])", 300), 2);
	/* fewer than two samples in the window: no result at all */
	assert_int_equal(count_series("rate(req_total[5s])", 300), 0);
	assert_int_equal(count_series("rate(req_total[5m])", 700), 0);
}

static void counter_resets_are_added_back(void **state)
{
	uint64_t c = series("c_total", NULL);
	uint64_t zero = series("z_total", NULL);

	(void)state;
	put(c, 10, 10);
	put(c, 20, 20);
	put(c, 30, 30);
	put(c, 40, 5); /* restart */
	put(c, 50, 15);
	/* raw increase 5, plus 30 lost at the reset = 35 over 40s sampled; 10s gaps to both
	 * edges of (0s, 60s] are extrapolated: 35 * 60 / 40 = 52.5 */
	assert_close(one_value("increase(c_total[1m])", 60), 52.5);
	assert_close(one_value("rate(c_total[1m])", 60), 52.5 / 60);
	/* delta() is for gauges: no reset handling, 15 - 10 = 5 -> 5 * 60 / 40 */
	assert_close(one_value("delta(c_total[1m])", 60), 7.5);
	/* irate: the last two samples; across the reset only the new value counts */
	assert_close(one_value("irate(c_total[1m])", 60), 1);
	assert_close(one_value("irate(c_total[1m])", 45), 0.5);
	assert_close(one_value("idelta(c_total[1m])", 45), -25);

	/* a counter starting near zero is not extrapolated below zero: samples 2,4,6 at
	 * 20,30,40s; window (0, 40]: to_start would be 20s > 11s, so 5s; the zero point is
	 * 20 * 2/4 = 10s away, longer than 5s, so 5s stands: 4 * 25 / 20 = 5 */
	put(zero, 20, 2);
	put(zero, 30, 4);
	put(zero, 40, 6);
	assert_close(one_value("increase(z_total[40s])", 40), 5);
	/* samples 1,3 at 30,40s; window (0,40]: to_start 30s -> 5s, zero point 10 * 1/2 =
	 * 5s: equal, so 5s; result 2 * 15 / 10 = 3 */
	{
		uint64_t z2 = series("z2_total", NULL);
		put(z2, 30, 1);
		put(z2, 40, 3);
		assert_close(one_value("increase(z2_total[40s])", 40), 3);
	}
	/* samples 0.2, 2.2 at 30,40s: the zero point is 1s away, closer than 5s: 2 * 11/10 */
	{
		uint64_t z3 = series("z3_total", NULL);
		put(z3, 30, 0.2);
		put(z3, 40, 2.2);
		assert_close(one_value("increase(z3_total[40s])", 40), 2.2);
	}
}

static void over_time_functions(void **state)
{
	uint64_t g = series("temp", "room", "a", NULL);

	(void)state;
	put(g, 10, 1);
	put(g, 20, 4);
	put(g, 30, 2);
	put(g, 40, 8);
	put(g, 50, 5);
	assert_close(one_value("avg_over_time(temp[1m])", 60), 4);
	assert_close(one_value("min_over_time(temp[1m])", 60), 1);
	assert_close(one_value("max_over_time(temp[1m])", 60), 8);
	assert_close(one_value("sum_over_time(temp[1m])", 60), 20);
	assert_close(one_value("count_over_time(temp[1m])", 60), 5);
	assert_close(one_value("last_over_time(temp[1m])", 60), 5);
	/* sorted 1 2 4 5 8: the median is rank 2; q=0.9 is rank 3.6: 5*0.4 + 8*0.6 */
	assert_close(one_value("quantile_over_time(0.5, temp[1m])", 60), 4);
	assert_close(one_value("quantile_over_time(0.9, temp[1m])", 60), 6.8);
	assert_true(isinf(one_value("quantile_over_time(2, temp[1m])", 60)));
	/* the sorted window slides from step to step: medians of pairs, then a single */
	{
		static const double want[] = { 2.5, 3, 5, 6.5, 5 };
		struct promql_result *r = range_q("quantile_over_time(0.5, temp[20s])", 20, 60, 10);
		size_t i;
		assert_int_equal(r->series[0].n, 5);
		for (i = 0; i < 5; i++)
			assert_close(r->series[0].v[i], want[i]);
		promql_result_free(r);
	}
	/* NaN ranks lowest, as in Prometheus */
	{
		uint64_t nn = series("withnan", NULL);
		put(nn, 10, NAN);
		put(nn, 20, 1);
		put(nn, 30, 3);
		assert_close(one_value("quantile_over_time(0.5, withnan[1m])", 30), 1);
		assert_close(one_value("quantile_over_time(1, withnan[1m])", 30), 3);
		assert_true(isnan(one_value("quantile_over_time(0, withnan[1m])", 30)));
	}
	/* the window is left-open: (10s, 50s] leaves out the sample at 10s */
	assert_close(one_value("count_over_time(temp[40s])", 50), 4);
	/* functions drop the metric name, except last_over_time */
	{
		struct promql_result *r = instant("max_over_time(temp[1m])", 60);
		assert_true(has_label(&r->series[0], "__name__", NULL));
		assert_true(has_label(&r->series[0], "room", "a"));
		promql_result_free(r);
		r = instant("last_over_time(temp[1m])", 60);
		assert_true(has_label(&r->series[0], "__name__", "temp"));
		promql_result_free(r);
	}
}

static void histogram_quantile_interpolates_in_buckets(void **state)
{
	static const char *const les[] = { "0.1", "0.5", "1", "+Inf" };
	static const double counts[] = { 10, 30, 40, 50 };
	uint64_t ref;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		ref = series("lat_bucket", "le", les[i], "disk", "sda", NULL);
		put(ref, 100, counts[i]);
		/* a second disk, each bucket twice as full: the same quantiles */
		ref = series("lat_bucket", "le", les[i], "disk", "sdb", NULL);
		put(ref, 100, 2 * counts[i]);
	}
	/* rank 25 of 50 falls in (0.1, 0.5] holding 20: 0.1 + 0.4 * 15/20 */
	assert_close(one_value("histogram_quantile(0.5, lat_bucket{disk=\"sda\"})", 100), 0.4);
	/* rank 5 in the first bucket, interpolated from 0 */
	assert_close(one_value("histogram_quantile(0.1, lat_bucket{disk=\"sda\"})", 100), 0.05);
	/* rank 47.5 lands in +Inf: the answer is the last finite bound */
	assert_close(one_value("histogram_quantile(0.95, lat_bucket{disk=\"sda\"})", 100), 1);
	assert_true(isinf(one_value("histogram_quantile(1.5, lat_bucket{disk=\"sda\"})", 100)));
	{
		struct promql_result *r = instant("histogram_quantile(0.5, lat_bucket)", 100);
		assert_int_equal(r->nseries, 2);
		assert_close(find(r, "disk", "sdb")->v[0], 0.4);
		assert_true(has_label(&r->series[0], "le", NULL));
		assert_true(has_label(&r->series[0], "__name__", NULL));
		promql_result_free(r);
	}
	/* over aggregated rates, the usual way eBPF histograms are read */
	assert_close(one_value("histogram_quantile(0.5, sum by (le) (lat_bucket))", 100), 0.4);
	/* without an +Inf bucket the quantile is undefined */
	assert_true(isnan(
	        one_value("histogram_quantile(0.5, lat_bucket{disk=\"sda\",le!=\"+Inf\"})", 100)));
}

static void aggregation_by_and_without(void **state)
{
	(void)state;
	put(series("up", "job", "api", "instance", "1", NULL), 100, 1);
	put(series("up", "job", "api", "instance", "2", NULL), 100, 2);
	put(series("up", "job", "db", "instance", "3", NULL), 100, 4);
	{
		struct promql_result *r = instant("sum by (job) (up)", 100);
		assert_int_equal(r->nseries, 2);
		assert_close(find(r, "job", "api")->v[0], 3);
		assert_close(find(r, "job", "db")->v[0], 4);
		assert_int_equal(find(r, "job", "api")->nlabels, 1); /* only job survives */
		promql_result_free(r);
		r = instant("avg without (instance) (up)", 100);
		assert_int_equal(r->nseries, 2);
		assert_close(find(r, "job", "api")->v[0], 1.5);
		assert_int_equal(find(r, "job", "api")->nlabels, 1); /* no __name__, no instance */
		promql_result_free(r);
		r = instant("count by (job) (up)", 100);
		assert_close(find(r, "job", "api")->v[0], 2);
		promql_result_free(r);
	}
	assert_close(one_value("sum(up)", 100), 7);
	assert_close(one_value("max(up)", 100), 4);
	assert_close(one_value("min(up)", 100), 1);
	assert_close(one_value("count(up)", 100), 3);
	assert_close(one_value("avg(up)", 100), 7.0 / 3);
	assert_close(one_value("sum(up{job=~\"a.*\"})", 100), 3);
	assert_close(one_value("sum(up{job!=\"api\"})", 100), 4);
	assert_close(one_value("sum(up{instance!~\"1|2\"})", 100), 4);
}

static void topk_and_bottomk_keep_labels(void **state)
{
	(void)state;
	put(series("load", "host", "a", NULL), 100, 1);
	put(series("load", "host", "b", NULL), 100, 5);
	put(series("load", "host", "c", NULL), 100, 3);
	put(series("load", "host", "d", NULL), 100, NAN);
	{
		struct promql_result *r = instant("topk(2, load)", 100);
		assert_int_equal(r->nseries, 2);
		/* ordered by value, with every label including the name */
		assert_true(has_label(&r->series[0], "host", "b"));
		assert_true(has_label(&r->series[0], "__name__", "load"));
		assert_true(has_label(&r->series[1], "host", "c"));
		promql_result_free(r);
		r = instant("bottomk(1, load)", 100);
		assert_int_equal(r->nseries, 1);
		assert_true(has_label(&r->series[0], "host", "a"));
		promql_result_free(r);
	}
	assert_int_equal(count_series("topk(0, load)", 100), 0);
	assert_int_equal(count_series("topk(10, load)", 100), 4);
}

static void offset_and_lookback(void **state)
{
	uint64_t x = series("x", NULL);
	int64_t t;

	(void)state;
	for (t = 0; t <= 600; t += 60)
		put(x, t, (double)t / 60);
	assert_close(one_value("x", 600), 10);
	assert_close(one_value("x offset 2m", 600), 8);
	assert_close(one_value("x offset 90s", 600), 8); /* the newest at or before 510s */
	assert_close(one_value("x", 630), 10);
	/* the 5m lookback is left-open: at 900s the 600s sample is out */
	assert_close(one_value("x", 899), 10);
	assert_int_equal(count_series("x", 900), 0);
	assert_close(one_value("x offset -1m", 480), 9);
	assert_close(one_value("max_over_time(x[2m] offset 5m)", 600), 5);
	assert_close(one_value("rate(x[5m] offset 1m)", 600), 1.0 / 60);
}

static void arithmetic_and_comparisons(void **state)
{
	(void)state;
	put(series("a", "job", "x", NULL), 100, 6);
	put(series("a", "job", "y", NULL), 100, 1);
	put(series("b", "job", "x", NULL), 100, 3);
	put(series("b", "job", "z", NULL), 100, 9);
	put(series("b2", "job", "x", "extra", "1", NULL), 100, 2);
	assert_close(one_value("1 + 2 * 3", 100), 7);
	assert_close(one_value("2 ^ 3 ^ 2", 100), 512);
	assert_close(one_value("-2 ^ 2", 100), -4);
	assert_close(one_value("7 % 3", 100), 1);
	assert_close(one_value("1 < bool 2", 100), 1);
	assert_close(one_value("(1 + 1) * -(3)", 100), -6);
	{
		struct promql_result *r = instant("a * 2 + 1", 100);
		assert_close(find(r, "job", "x")->v[0], 13);
		assert_true(has_label(find(r, "job", "x"), "__name__", NULL));
		promql_result_free(r);
		/* a comparison filters and keeps the name */
		r = instant("a > 2", 100);
		assert_int_equal(r->nseries, 1);
		assert_true(has_label(&r->series[0], "__name__", "a"));
		assert_close(r->series[0].v[0], 6);
		promql_result_free(r);
		/* with the scalar on the left the vector's value is kept */
		r = instant("2 < a", 100);
		assert_int_equal(r->nseries, 1);
		assert_close(r->series[0].v[0], 6);
		promql_result_free(r);
		/* bool: every series, 0 or 1, no name */
		r = instant("a > bool 2", 100);
		assert_int_equal(r->nseries, 2);
		assert_close(find(r, "job", "y")->v[0], 0);
		assert_true(has_label(find(r, "job", "y"), "__name__", NULL));
		promql_result_free(r);
		/* vector / vector matches on all labels but the name: only job=x pairs */
		r = instant("a / b", 100);
		assert_int_equal(r->nseries, 1);
		assert_close(r->series[0].v[0], 2);
		assert_true(has_label(&r->series[0], "job", "x"));
		promql_result_free(r);
		r = instant("a > b", 100);
		assert_int_equal(r->nseries, 1);
		assert_true(has_label(&r->series[0], "__name__", "a"));
		promql_result_free(r);
		assert_int_equal(count_series("a < b", 100), 0);
		/* on/ignoring choose the labels to match on */
		assert_int_equal(count_series("a - b2", 100), 0);
		r = instant("a - on(job) b2", 100);
		assert_int_equal(r->nseries, 1);
		assert_close(r->series[0].v[0], 4);
		assert_int_equal(r->series[0].nlabels, 1);
		promql_result_free(r);
		r = instant("b2 - ignoring(extra) a", 100);
		assert_int_equal(r->nseries, 1);
		assert_close(r->series[0].v[0], -4);
		promql_result_free(r);
	}
	assert_close(one_value("abs(-1 * a{job=\"x\"})", 100), 6);
	assert_close(one_value("clamp_max(a{job=\"x\"}, 4)", 100), 4);
	assert_close(one_value("clamp_min(a{job=\"x\"}, 7)", 100), 7);
	/* NaN wins, as with Go's math.Max in Prometheus */
	assert_true(isnan(one_value("clamp_min(a{job=\"x\"}, NaN)", 100)));
	assert_close(one_value("scalar(a{job=\"x\"}) + 1", 100), 7);
	assert_true(isnan(one_value("scalar(a)", 100)));
	assert_close(one_value("time()", 100), 100);
	assert_close(one_value("sum(vector(3))", 100), 3);
}

static void errors_at_evaluation(void **state)
{
	struct diag d = { 0 };

	(void)state;
	put(series("m1", "k", "v", NULL), 100, 1);
	put(series("m2", "k", "v", NULL), 100, 2);
	put(series("dup", "k", "v", "i", "1", NULL), 100, 1);
	put(series("dup", "k", "v", "i", "2", NULL), 100, 1);
	put(series("one", "k", "v", NULL), 100, 1);
	/* dropping __name__ makes two series equal */
	assert_int_equal(eval_error("-{__name__=~\"m.\"}", 100, 100, 0, &d), -EINVAL);
	assert_string_equal(d.msg,
	                    "vector cannot contain metrics with the same labelset: {k=\"v\"}");
	memset(&d, 0, sizeof(d));
	assert_int_equal(eval_error("one + ignoring(i) dup", 100, 100, 0, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "duplicate series for the match group"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(eval_error("m1[5m]", 0, 100, 10, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "a range query needs a scalar or instant vector"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(eval_error("m1", 0, 12000, 1, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "at most 11000 steps"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(eval_error("m1", 100, 0, 1, &d), -EINVAL);
}

static void range_queries_step_through_time(void **state)
{
	uint64_t c = series("ticks_total", NULL);
	struct promql_result *r;
	int64_t t;

	(void)state;
	for (t = 0; t <= 3600; t += 15)
		put(c, t, (double)t * 3); /* 3 per second */
	r = range_q("rate(ticks_total[1m])", 600, 1200, 60);
	assert_int_equal(r->type, PROMQL_MATRIX);
	assert_int_equal(r->nseries, 1);
	assert_int_equal(r->series[0].n, 11);
	for (t = 0; t < 11; t++) {
		assert_int_equal(r->series[0].t[t], (600 + t * 60) * S);
		assert_close(r->series[0].v[t], 3);
	}
	promql_result_free(r);
	/* a scalar in a range query becomes one unlabelled series */
	r = range_q("time()", 0, 30, 15);
	assert_int_equal(r->type, PROMQL_MATRIX);
	assert_int_equal(r->series[0].n, 3);
	assert_close(r->series[0].v[2], 30);
	promql_result_free(r);
	/* an instant query of a range selector returns the raw samples of the window */
	r = instant("ticks_total[1m]", 600);
	assert_int_equal(r->type, PROMQL_MATRIX);
	assert_int_equal(r->series[0].n, 4); /* 555, 570, 585, 600 */
	assert_int_equal(r->series[0].t[0], 555 * S);
	promql_result_free(r);
	/* series that become equal once the name is dropped may follow each other in time */
	{
		uint64_t gone = series("gone", "k", "v", NULL),
		         fresh = series("fresh", "k", "v", NULL);
		put(gone, 10, 1);
		put(gone, 20, 2);
		put(fresh, 500, 3);
		put(fresh, 510, 4);
		r = range_q("-{__name__=~\"gone|fresh\"}", 0, 600, 100);
		assert_int_equal(r->nseries, 1);
		assert_int_equal(r->series[0].n, 5); /* 100, 200, 300 from one; 500, 600 */
		assert_close(r->series[0].v[2], -2);
		assert_close(r->series[0].v[4], -4);
		promql_result_free(r);
	}
	/* topk in a range query picks per step */
	{
		uint64_t a = series("flip", "s", "a", NULL), b = series("flip", "s", "b", NULL);
		put(a, 10, 1);
		put(b, 10, 2);
		put(a, 20, 3);
		put(b, 20, 0);
		r = range_q("topk(1, flip)", 10, 20, 10);
		assert_int_equal(r->nseries, 2);
		assert_int_equal(find(r, "s", "a")->n, 1);
		assert_int_equal(find(r, "s", "a")->t[0], 20 * S);
		assert_int_equal(find(r, "s", "b")->t[0], 10 * S);
		promql_result_free(r);
	}
}

static void json_is_shaped_like_prometheus_api(void **state)
{
	cJSON *j = NULL;
	struct diag d = { 0 };
	char *s;

	(void)state;
	put(series("up", "job", "api", NULL), 100, 1);
	assert_int_equal(promql_query_json(db, "up", 100 * S, 100 * S, 0, &j, &d), 0);
	s = json_print(j, false);
	assert_string_equal(s, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
	                       "\"up\",\"job\":\"api\"},\"value\":[100,\"1\"]}]}");
	free(s);
	cJSON_Delete(j);
	assert_int_equal(promql_query_json(db, "1 / 0", 100500, 100500, 0, &j, &d), 0);
	s = json_print(j, false);
	assert_string_equal(s, "{\"resultType\":\"scalar\",\"result\":[100.5,\"+Inf\"]}");
	free(s);
	cJSON_Delete(j);
	assert_int_equal(promql_query_json(db, "up * 2", 90 * S, 100 * S, 10 * S, &j, &d), 0);
	s = json_print(j, false);
	assert_string_equal(s, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"job\":"
	                       "\"api\"},\"values\":[[100,\"2\"]]}]}");
	free(s);
	cJSON_Delete(j);
	assert_int_equal(promql_query_json(db, "rate(up[5m]", 0, 0, 0, &j, &d), -EINVAL);
	assert_string_equal(d.msg, "position 12: expected ')' or ',', got end of input");
}

static void many_series_stream_within_limits(void **state)
{
	char host[16];
	struct diag d = { 0 };
	struct promql_result *r;
	int i, t;

	(void)state;
	/* 500 series x 2h at 15s: the evaluator streams each series, keeping only step values */
	for (i = 0; i < 500; i++) {
		uint64_t ref;
		snprintf(host, sizeof(host), "h%03d", i);
		ref = series("cpu_seconds_total", "host", host, NULL);
		for (t = 0; t <= 7200; t += 15)
			put(ref, t, (double)t * (i + 1));
	}
	r = range_q("sum(rate(cpu_seconds_total[5m]))", 3600, 7200, 60);
	assert_int_equal(r->nseries, 1);
	assert_int_equal(r->series[0].n, 61);
	assert_close(r->series[0].v[0], 500.0 * 501 / 2);
	promql_result_free(r);
	r = range_q("topk(3, rate(cpu_seconds_total[5m]))", 3600, 7200, 60);
	assert_int_equal(r->nseries, 3);
	promql_result_free(r);
	/* the answer itself is capped: 500 series x 721 steps of raw values is too many */
	memset(&d, 0, sizeof(d));
	assert_int_equal(eval_error("cpu_seconds_total", 0, 7200, 10, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "the answer would hold 360500 points"));
	memset(&d, 0, sizeof(d));
	/* 500 series x 11000 steps is over the points budget: a clear error, not 40 MB more */
	assert_int_equal(eval_error("cpu_seconds_total", 0, 10999, 1, &d), -E2BIG);
	assert_non_null(strstr(d.msg, "points (series x steps)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rate_extrapolates_like_prometheus, setup, teardown),
		cmocka_unit_test_setup_teardown(counter_resets_are_added_back, setup, teardown),
		cmocka_unit_test_setup_teardown(over_time_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(histogram_quantile_interpolates_in_buckets, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(aggregation_by_and_without, setup, teardown),
		cmocka_unit_test_setup_teardown(topk_and_bottomk_keep_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(offset_and_lookback, setup, teardown),
		cmocka_unit_test_setup_teardown(arithmetic_and_comparisons, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_at_evaluation, setup, teardown),
		cmocka_unit_test_setup_teardown(range_queries_step_through_time, setup, teardown),
		cmocka_unit_test_setup_teardown(json_is_shaped_like_prometheus_api, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(many_series_stream_within_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
