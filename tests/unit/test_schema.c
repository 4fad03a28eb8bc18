/* test_schema: the argument validator says which field is wrong and why, refuses what a
 * schema forbids, and refuses schemas it would not fully enforce. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/tools/schema.h"
#include "edge/tools/tool.h"
#include "shared/json.h"

static const char *const schema =
        "{\"type\":\"object\",\"required\":[\"unit\"],\"additionalProperties\":false,"
        "\"properties\":{"
        "\"unit\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8,"
        "\"pattern\":\"^[a-z][a-z0-9.-]*$\"},"
        "\"pid\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":100},"
        "\"signal\":{\"enum\":[\"TERM\",\"KILL\"]},"
        "\"opts\":{\"type\":\"object\",\"properties\":{\"depth\":{\"type\":[\"integer\",\"null\"]}}"
        "},"
        "\"paths\":{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"string\"}}}}";

static int check(const char *args, char *msg, size_t msgsz)
{
	struct diag d = { 0 };
	cJSON *a = json_parse(args, strlen(args), 1 << 16, &d);
	int r;

	assert_non_null(a);
	r = schema_validate_text(schema, a, "args", &d);
	cJSON_Delete(a);
	if (msg)
		snprintf(msg, msgsz, "%s", d.msg);
	return r;
}

static void valid_arguments_pass(void **state)
{
	(void)state;
	assert_int_equal(check("{\"unit\":\"nginx\"}", NULL, 0), 0);
	assert_int_equal(check("{\"unit\":\"a.b-c\",\"pid\":7,\"signal\":\"KILL\","
	                       "\"opts\":{\"depth\":null},\"paths\":[\"/a\",\"/b\"]}",
	                       NULL, 0),
	                 0);
}

static void errors_name_the_field(void **state)
{
	static const struct {
		const char *args, *msg;
	} cases[] = {
		{ "{}", "args: missing required field 'unit'" },
		{ "{\"unit\":5}", "args.unit: expected a string, got a number" },
		{ "[]", "args: expected an object, got an array" },
		{ "{\"unit\":\"x\",\"pid\":1.5}", "args.pid: expected an integer, got a number" },
		{ "{\"unit\":\"x\",\"pid\":1}", "args.pid: 1 is less than the minimum 2" },
		{ "{\"unit\":\"x\",\"pid\":101}", "args.pid: 101 is more than the maximum 100" },
		{ "{\"unit\":\"x\",\"signal\":\"HUP\"}",
		  "args.signal: expected one of \"TERM\", \"KILL\", got \"HUP\"" },
		{ "{\"unit\":\"x\",\"extra\":1}",
		  "args.extra: unknown field (allowed: unit, pid, signal, opts, paths)" },
		{ "{\"unit\":\"x\",\"opts\":{\"depth\":\"deep\"}}",
		  "args.opts.depth: expected integer or null, got a string" },
		{ "{\"unit\":\"x\",\"paths\":[\"a\",7]}",
		  "args.paths[1]: expected a string, got a number" },
		{ "{\"unit\":\"x\",\"paths\":[\"a\",\"b\",\"c\",\"d\"]}",
		  "args.paths: more than 3 items" },
		{ "{\"unit\":\"\"}", "args.unit: shorter than 1 characters" },
		{ "{\"unit\":\"abcdefghi\"}", "args.unit: longer than 8 characters" },
		{ "{\"unit\":\"Nginx\"}",
		  "args.unit: 'Nginx' does not match the pattern '^[a-z][a-z0-9.-]*$'" },
		{ "{\"unit\":\"x\",\"unit\":\"y\"}", "args.unit: duplicate field" },
		{ "{\"unit\":\"../etc\"}",
		  "args.unit: '../etc' does not match the pattern '^[a-z][a-z0-9.-]*$'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[512];
		int r = check(cases[i].args, msg, sizeof(msg));

		if (r != -EINVAL || strcmp(msg, cases[i].msg) != 0)
			fail_msg("%s: got %d '%s', wanted '%s'", cases[i].args, r, msg,
			         cases[i].msg);
	}
}

static void lengths_count_characters_not_bytes(void **state)
{
	(void)state;
	/* 8 two-byte characters: within maxLength 8 only if counted as characters; the pattern
	 * refuses them anyway, so use a schema without one */
	{
		const char *s = "{\"type\":\"string\",\"maxLength\":3}";
		struct diag d = { 0 };
		cJSON *v = cJSON_CreateString("\xc3\xa9\xc3\xa9\xc3\xa9");
		assert_int_equal(schema_validate_text(s, v, "args.x", &d), 0);
		cJSON_Delete(v);
		v = cJSON_CreateString("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
		assert_int_equal(schema_validate_text(s, v, "args.x", &d), -EINVAL);
		cJSON_Delete(v);
	}
}

static void a_catastrophic_pattern_fails_instead_of_hanging(void **state)
{
	const char *s = "{\"type\":\"string\",\"pattern\":\"^(a+)+$\"}";
	struct diag d = { 0 };
	char buf[64];
	cJSON *v;

	(void)state;
	memset(buf, 'a', 40);
	buf[40] = 'b';
	buf[41] = '\0';
	v = cJSON_CreateString(buf);
	assert_int_equal(schema_validate_text(s, v, "args.x", &d), -EINVAL);
	cJSON_Delete(v);
}

static void schemas_with_unknown_keywords_are_refused(void **state)
{
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(schema_check(schema, &d), 0);
	assert_int_equal(schema_check("{\"type\":\"object\",\"properties\":{\"n\":"
	                              "{\"type\":\"integer\",\"exclusiveMinimum\":0}}}",
	                              &d),
	                 -EINVAL);
	assert_string_equal(d.msg, "schema.properties.n: unknown keyword 'exclusiveMinimum'");
	assert_int_equal(schema_check("{\"type\":\"strin\"}", &d), -EINVAL);
	assert_int_equal(schema_check("{\"pattern\":\"([a\"}", &d), -EINVAL);
	assert_non_null(strstr(d.msg, "does not compile"));
	assert_int_equal(schema_check("{\"maxLength\":-1}", &d), -EINVAL);
	assert_int_equal(schema_check("[1]", &d), -EINVAL);
	assert_int_equal(schema_check("{", &d), -EINVAL);
}

static void every_registered_tool_has_a_valid_schema_and_a_unique_name(void **state)
{
	(void)state;
	assert_true(tool_registry_count >= 4);
	for (size_t i = 0; i < tool_registry_count; i++) {
		struct diag d = { 0 };
		const struct tool *t = tool_registry[i];

		if (schema_check(t->args_schema, &d) < 0)
			fail_msg("tool '%s': %s", t->name, d.msg);
		assert_non_null(t->run);
		assert_true(t->summary && *t->summary && t->description && *t->description);
		assert_true(t->class >= TOOL_SAFE_READ && t->class < _TOOL_CLASS_MAX);
		for (size_t j = i + 1; j < tool_registry_count; j++)
			assert_string_not_equal(t->name, tool_registry[j]->name);
		assert_ptr_equal(tool_find(t->name), t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_arguments_pass),
		cmocka_unit_test(errors_name_the_field),
		cmocka_unit_test(lengths_count_characters_not_bytes),
		cmocka_unit_test(a_catastrophic_pattern_fails_instead_of_hanging),
		cmocka_unit_test(schemas_with_unknown_keywords_are_refused),
		cmocka_unit_test(every_registered_tool_has_a_valid_schema_and_a_unique_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
