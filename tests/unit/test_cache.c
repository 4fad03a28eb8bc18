/* test_cache.c - identical tool calls are answered once per investigation: same tool and
 * same arguments hit, anything else misses, and results stay valid as the cache grows past
 * its first size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/agent/agent.h"

static void same_call_hits_other_calls_miss(void **state)
{
	struct tool_cache *c = tool_cache_new(2);
	const cJSON *kept = tool_cache_put(c, "query_metrics", "{\"query\":\"up\"}",
	                                   cJSON_Parse("{\"evidence\":{\"findings\":[\"1\"]}}"));

	(void)state;
	assert_ptr_equal(tool_cache_get(c, "query_metrics", "{\"query\":\"up\"}"), kept);
	assert_null(tool_cache_get(c, "query_metrics", "{\"query\":\"down\"}"));
	assert_null(tool_cache_get(c, "query_logs", "{\"query\":\"up\"}"));
	assert_int_equal(tool_cache_hits(c), 1);
	tool_cache_free(c);
}

static void results_survive_growth(void **state)
{
	struct tool_cache *c = tool_cache_new(1);
	const cJSON *first = tool_cache_put(c, "a", "{}", cJSON_Parse("{\"n\":0}"));
	char args[32];

	(void)state;
	for (int i = 1; i < 40; i++) {
		snprintf(args, sizeof(args), "{\"i\":%d}", i);
		tool_cache_put(c, "a", args, cJSON_CreateNumber(i));
	}
	/* the first result is still the same object, readable */
	assert_ptr_equal(tool_cache_get(c, "a", "{}"), first);
	assert_int_equal(cJSON_GetObjectItem(first, "n")->valueint, 0);
	assert_int_equal((int)cJSON_GetNumberValue(tool_cache_get(c, "a", "{\"i\":39}")), 39);
	tool_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_call_hits_other_calls_miss),
		cmocka_unit_test(results_survive_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
