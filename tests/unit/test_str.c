#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shared/clock.h"
#include "shared/str.h"

static void durations_parse_prometheus_syntax(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(str_to_duration_ms("15s", &ms), 0);
	assert_int_equal(ms, 15000);
	assert_int_equal(str_to_duration_ms("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(str_to_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(str_to_duration_ms("7d", &ms), 0);
	assert_int_equal(ms, 7LL * 86400000);
	assert_int_equal(str_to_duration_ms("30", &ms), 0);
	assert_int_equal(ms, 30000);
}

static void malformed_durations_are_rejected_untouched(void **state)
{
	int64_t ms = 123;

	(void)state;
	assert_int_equal(str_to_duration_ms("", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("15", &ms), 0);
	ms = 123;
	assert_int_equal(str_to_duration_ms("15x", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("s", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("5mh", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("-5s", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("15s ", &ms), -EINVAL);
	assert_int_equal(str_to_duration_ms("99999999999999999999y", &ms), -ERANGE);
	assert_int_equal(ms, 123);
}

static void durations_format_back(void **state)
{
	char out[32];

	(void)state;
	str_format_duration(out, sizeof(out), 5400000);
	assert_string_equal(out, "1h30m");
	str_format_duration(out, sizeof(out), 1500);
	assert_string_equal(out, "1s500ms");
	str_format_duration(out, sizeof(out), 0);
	assert_string_equal(out, "0s");
}

static void sizes_use_binary_units(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(str_to_size("64MiB", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(str_to_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(str_to_size("2G", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(str_to_size("12 MiB", &v), -EINVAL);
	assert_int_equal(str_to_size("MiB", &v), -EINVAL);
	assert_int_equal(str_to_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(str_to_size("17179869184TiB", &v), -ERANGE);
}

static void integers_and_bools_are_strict(void **state)
{
	int64_t i = 7;
	bool b = false;

	(void)state;
	assert_int_equal(str_to_i64("-42", &i), 0);
	assert_int_equal(i, -42);
	assert_int_equal(str_to_i64("12abc", &i), -EINVAL);
	assert_int_equal(str_to_i64(" 1", &i), -EINVAL);
	assert_int_equal(str_to_i64("99999999999999999999", &i), -ERANGE);
	assert_int_equal(i, -42);
	assert_int_equal(str_to_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(str_to_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(str_to_bool("maybe", &b), -EINVAL);
}

static void times_round_trip_rfc3339(void **state)
{
	int64_t t = 0;
	char out[40];

	(void)state;
	assert_int_equal(clock_parse_time("2026-11-24T02:47:10Z", &t), 0);
	assert_int_equal(t, 1795488430000LL);
	clock_format_rfc3339(out, sizeof(out), t);
	assert_string_equal(out, "2026-11-24T02:47:10Z");
	assert_int_equal(clock_parse_time("2026-11-24T03:47:10.5+01:00", &t), 0);
	assert_int_equal(t, 1795488430500LL);
	assert_int_equal(clock_parse_time("1795488430.25", &t), 0);
	assert_int_equal(t, 1795488430250LL);
	assert_int_equal(clock_parse_time("2026-11-24 02:47", &t), -EINVAL);
	assert_int_equal(clock_parse_time("2026-11-24T02:47:10", &t), -EINVAL);
}

static void copy_truncates_and_terminates(void **state)
{
	char small[4];

	(void)state;
	assert_int_equal(str_copy(small, "abcdef", sizeof(small)), 6);
	assert_string_equal(small, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations_parse_prometheus_syntax),
		cmocka_unit_test(malformed_durations_are_rejected_untouched),
		cmocka_unit_test(durations_format_back),
		cmocka_unit_test(sizes_use_binary_units),
		cmocka_unit_test(integers_and_bools_are_strict),
		cmocka_unit_test(times_round_trip_rfc3339),
		cmocka_unit_test(copy_truncates_and_terminates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
