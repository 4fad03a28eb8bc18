/* test_expose.c - Prometheus text exposition: families grouped whatever the sample
 * order, HELP/TYPE once each, histograms as _bucket/_sum/_count with le, escaping, and
 * values as the format writes them. */
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

#include "edge/tsdb/expose.h"

static const struct metric_desc m_a = { "t_reads_total", METRIC_COUNTER, "Reads" };
static const struct metric_desc m_b = { "t_bytes", METRIC_GAUGE, "Bytes \\ with\nnewline" };
static const struct metric_desc m_h = { "t_latency_seconds", METRIC_HISTOGRAM, "Latency" };

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void interleaved_families_come_out_grouped_once(void **state)
{
	struct snapshot s;
	struct buf b = BUF_INIT(1 << 20);

	(void)state;
	snapshot_init(&s, 0);
	snapshot_add(&s, &m_a, &(struct label){ "disk", "sda" }, 1, 1);
	snapshot_add(&s, &m_b, &(struct label){ "disk", "sda" }, 1, 2);
	snapshot_add(&s, &m_a, &(struct label){ "disk", "sdb" }, 1, 3);
	snapshot_add(&s, &m_b, &(struct label){ "disk", "sdb" }, 1, 4);
	assert_int_equal(expose_snapshot(&s, &b), 0);
	assert_string_equal(b.data, "# HELP t_reads_total Reads\n"
	                            "# TYPE t_reads_total counter\n"
	                            "t_reads_total{disk=\"sda\"} 1\n"
	                            "t_reads_total{disk=\"sdb\"} 3\n"
	                            "# HELP t_bytes Bytes \\\\ with\\nnewline\n"
	                            "# TYPE t_bytes gauge\n"
	                            "t_bytes{disk=\"sda\"} 2\n"
	                            "t_bytes{disk=\"sdb\"} 4\n");
	snapshot_release(&s);
	buf_release(&b);
}

static void histogram_has_cumulative_buckets_inf_sum_and_count(void **state)
{
	const double upper[] = { 0.001, 0.01, 0.1 };
	const uint64_t counts[] = { 1, 2, 3 };
	struct snapshot s;
	struct buf b = BUF_INIT(1 << 20);

	(void)state;
	snapshot_init(&s, 0);
	snapshot_histogram(&s, &m_h, &(struct label){ "cgroup", "/a" }, 1, upper, counts, 3, 4,
	                   1.5);
	assert_int_equal(expose_snapshot(&s, &b), 0);
	assert_int_equal(count(b.data, "# TYPE t_latency_seconds histogram\n"), 1);
	assert_non_null(strstr(b.data, "t_latency_seconds_bucket{cgroup=\"/a\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(b.data, "t_latency_seconds_bucket{cgroup=\"/a\",le=\"0.1\"} 6\n"));
	assert_non_null(strstr(b.data, "t_latency_seconds_bucket{cgroup=\"/a\",le=\"+Inf\"} 10\n"));
	assert_non_null(strstr(b.data, "t_latency_seconds_sum{cgroup=\"/a\"} 1.5\n"));
	assert_non_null(strstr(b.data, "t_latency_seconds_count{cgroup=\"/a\"} 10\n"));
	snapshot_release(&s);
	buf_release(&b);
}

static void label_values_are_escaped_and_invalid_utf8_replaced(void **state)
{
	struct snapshot s;
	struct buf b = BUF_INIT(1 << 20);

	(void)state;
	snapshot_init(&s, 0);
	snapshot_add(&s, &m_b, &(struct label){ "comm", "a\"b\\c\nd\xff\xc3\xa9" }, 1, 1);
	assert_int_equal(expose_snapshot(&s, &b), 0);
	assert_non_null(
	        strstr(b.data, "t_bytes{comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\xc3\xa9\"} 1\n"));
	snapshot_release(&s);
	buf_release(&b);
}

static void values_are_exact_and_special_values_spelled(void **state)
{
	struct buf b = BUF_INIT(1024);

	(void)state;
	assert_int_equal(expose_value(&b, 25276063744.0), 0);
	assert_int_equal(buf_addc(&b, ' '), 0);
	assert_int_equal(expose_value(&b, 0.1), 0);
	assert_int_equal(buf_addc(&b, ' '), 0);
	assert_int_equal(expose_value(&b, NAN), 0);
	assert_int_equal(buf_addc(&b, ' '), 0);
	assert_int_equal(expose_value(&b, -INFINITY), 0);
	assert_int_equal(buf_addc(&b, ' '), 0);
	assert_int_equal(expose_value(&b, 1.0 / 3), 0);
	assert_string_equal(b.data, "25276063744 0.1 NaN -Inf 0.3333333333333333");
	buf_release(&b);
}

static void a_full_buffer_is_an_error_not_a_silent_cut(void **state)
{
	struct snapshot s;
	struct buf b = BUF_INIT(32);

	(void)state;
	snapshot_init(&s, 0);
	snapshot_add(&s, &m_a, NULL, 0, 1);
	assert_int_equal(expose_snapshot(&s, &b), -E2BIG);
	snapshot_release(&s);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interleaved_families_come_out_grouped_once),
		cmocka_unit_test(histogram_has_cumulative_buckets_inf_sum_and_count),
		cmocka_unit_test(label_values_are_escaped_and_invalid_utf8_replaced),
		cmocka_unit_test(values_are_exact_and_special_values_spelled),
		cmocka_unit_test(a_full_buffer_is_an_error_not_a_silent_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
