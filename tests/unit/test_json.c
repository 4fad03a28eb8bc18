#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shared/json.h"

static void parses_bounded_input_without_nul(void **state)
{
	const char text[] = "{\"a\":1}garbage";
	struct diag d = { 0 };
	cJSON *j;
	int64_t v = 0;

	(void)state;
	j = json_parse(text, 7, 1024, &d);
	assert_non_null(j);
	assert_int_equal(json_get_int(j, "a", &v, "x", &d), 0);
	assert_int_equal(v, 1);
	cJSON_Delete(j);
}

static void syntax_error_reports_offset(void **state)
{
	const char *text = "{\"a\": [1, 2,, 3]}";
	struct diag d = { 0 };

	(void)state;
	assert_null(json_parse(text, strlen(text), 1024, &d));
	assert_int_equal(d.code, -EINVAL);
	assert_non_null(strstr(d.msg, "invalid JSON at offset 12"));
}

static void trailing_data_is_rejected(void **state)
{
	const char *text = "{\"a\":1} {\"b\":2}";
	struct diag d = { 0 };

	(void)state;
	assert_null(json_parse(text, strlen(text), 1024, &d));
	assert_non_null(strstr(d.msg, "trailing data"));
}

static void oversized_and_deep_input_is_refused(void **state)
{
	struct diag d = { 0 };
	char *deep = malloc(10001);

	(void)state;
	assert_null(json_parse("[1,2,3]", 7, 4, &d));
	assert_int_equal(d.code, -E2BIG);
	memset(deep, '[', 10000);
	deep[10000] = '\0';
	assert_null(json_parse(deep, 10000, 1 << 20, &d));
	assert_non_null(strstr(d.msg, "nested deeper"));
	free(deep);
}

static void getters_name_the_field_on_type_errors(void **state)
{
	const char *text = "{\"unit\": 5, \"n\": 1.5, \"ok\": \"yes\"}";
	struct diag d = { 0 };
	const char *s;
	int64_t n;
	bool b;
	cJSON *j;

	(void)state;
	j = json_parse(text, strlen(text), 1024, &d);
	assert_non_null(j);
	assert_int_equal(json_get_string(j, "unit", &s, "args", &d), -EINVAL);
	assert_string_equal(d.msg, "args.unit: expected a string");
	assert_int_equal(json_get_int(j, "n", &n, "args", &d), -EINVAL);
	assert_string_equal(d.msg, "args.n: expected an integer");
	assert_int_equal(json_get_bool(j, "ok", &b, "args", &d), -EINVAL);
	assert_int_equal(json_get_string(j, "absent", &s, "args", &d), -ENOENT);
	cJSON_Delete(j);
}

static void non_finite_numbers_become_null(void **state)
{
	cJSON *o = json_obj();
	char *s;

	(void)state;
	json_add_num(o, "x", 0.0 / 0.0);
	s = json_print(o, false);
	assert_string_equal(s, "{\"x\":null}");
	free(s);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_bounded_input_without_nul),
		cmocka_unit_test(syntax_error_reports_offset),
		cmocka_unit_test(trailing_data_is_rejected),
		cmocka_unit_test(oversized_and_deep_input_is_refused),
		cmocka_unit_test(getters_name_the_field_on_type_errors),
		cmocka_unit_test(non_finite_numbers_become_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
