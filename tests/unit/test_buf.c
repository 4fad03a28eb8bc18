#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared/buf.h"

static void add_past_max_fails_and_keeps_contents(void **state)
{
	struct buf b = BUF_INIT(8);

	(void)state;
	assert_int_equal(buf_add(&b, "abcdef", 6), 0);
	assert_int_equal(buf_add(&b, "ghi", 3), -E2BIG);
	assert_string_equal(b.data, "abcdef");
	assert_int_equal(b.len, 6);
	assert_int_equal(buf_add(&b, "gh", 2), 0);
	assert_string_equal(buf_str(&b), "abcdefgh");
	buf_release(&b);
}

static void addf_formats_and_respects_cap(void **state)
{
	struct buf b = BUF_INIT(16);

	(void)state;
	assert_int_equal(buf_addf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(buf_str(&b), "42-x");
	assert_int_equal(buf_addf(&b, "%s", "this is far too long"), -E2BIG);
	assert_string_equal(buf_str(&b), "42-x");
	buf_release(&b);
}

static void empty_buffer_is_an_empty_string(void **state)
{
	struct buf b = BUF_INIT(4);
	size_t len = 99;
	char *s;

	(void)state;
	assert_string_equal(buf_str(&b), "");
	s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void consume_drops_prefix(void **state)
{
	struct buf b = BUF_INIT(64);

	(void)state;
	assert_int_equal(buf_adds(&b, "line1\nline2\n"), 0);
	buf_consume(&b, 6);
	assert_string_equal(buf_str(&b), "line2\n");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static void grows_across_many_appends(void **state)
{
	struct buf b = BUF_INIT(1 << 20);

	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[9999], 'a' + 9999 % 26);
	assert_int_equal(b.data[10000], '\0');
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_past_max_fails_and_keeps_contents),
		cmocka_unit_test(addf_formats_and_respects_cap),
		cmocka_unit_test(empty_buffer_is_an_empty_string),
		cmocka_unit_test(consume_drops_prefix),
		cmocka_unit_test(grows_across_many_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
