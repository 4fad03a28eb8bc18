/* test_report.c - the report contract: a built report passes the check, and the check names
 * what is wrong when a key, an enum value or the evidence discipline is broken. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/agent/agent.h"

static cJSON *timeline_with_result(const char *tool, const char *args_json)
{
	cJSON *tl = cJSON_CreateArray(), *e = cJSON_CreateObject(), *det = cJSON_CreateObject();

	cJSON_AddNumberToObject(e, "t_ms", 12);
	cJSON_AddStringToObject(e, "agent", "disk");
	cJSON_AddStringToObject(e, "event", "tool_result");
	cJSON_AddStringToObject(det, "tool", tool);
	cJSON_AddItemToObject(det, "args", cJSON_Parse(args_json));
	cJSON_AddItemToObject(e, "detail", det);
	cJSON_AddItemToArray(tl, e);
	return tl;
}

static cJSON *good_report(void)
{
	cJSON *rep = report_new("why is /data full", "web-1", "offline", 1764000000000);
	cJSON *args = cJSON_Parse("{\"query\":\"ongrid_filesystem_avail_bytes\",\"minutes\":5}");
	cJSON *tl = timeline_with_result(
	        "query_metrics", "{\"minutes\":5,\"query\":\"ongrid_filesystem_avail_bytes\"}");

	assert_string_equal(report_add_evidence(rep, "disk", "query_metrics", args,
	                                        "/data used went from 80% to 99%"),
	                    "e1");
	report_set_root_cause(rep, "filesystem /data is 99% full", CAT_DISK, "/data", 0.856);
	report_add_action(rep, "bash", args, "safe-read", "proposed", "see who writes");
	report_finish(rep, "Most likely /data filling.", 840, tl, 0, 0);
	cJSON_Delete(args);
	cJSON_Delete(tl);
	return rep;
}

static void a_built_report_meets_the_contract(void **state)
{
	struct diag d = { 0 };
	cJSON *rep = good_report();
	const cJSON *rc = cJSON_GetObjectItem(rep, "root_cause");
	static const char *const keys[] = { "question",    "host",     "planner",    "started_at",
		                            "duration_ms", "summary",  "root_cause", "evidence",
		                            "actions",     "timeline", "tokens" };
	const cJSON *k = rep->child;

	(void)state;
	assert_int_equal(report_check(rep, &d), 0);
	/* the contract's key order, so the JSON reads like the text */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++, k = k->next)
		assert_string_equal(k->string, keys[i]);
	assert_string_equal(cJSON_GetObjectItem(rc, "category")->valuestring, "disk");
	assert_float_equal(cJSON_GetObjectItem(rc, "confidence")->valuedouble, 0.86, 1e-9);
	assert_string_equal(cJSON_GetObjectItem(rep, "started_at")->valuestring,
	                    "2025-11-24T16:00:00Z");
	cJSON_Delete(rep);
}

static void evidence_without_a_tool_result_is_refused(void **state)
{
	struct diag d = { 0 };
	cJSON *rep = good_report();
	cJSON *args = cJSON_Parse("{\"sort\":\"cpu\"}");

	(void)state;
	report_add_evidence(rep, "ops", "list_processes", args, "a claim nobody measured");
	assert_int_equal(report_check(rep, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "report.evidence[1] (e2)"));
	assert_non_null(strstr(d.msg, "list_processes"));
	cJSON_Delete(args);
	cJSON_Delete(rep);
}

static void same_tool_other_arguments_is_not_a_source(void **state)
{
	struct diag d = { 0 };
	cJSON *rep = good_report();
	cJSON *args = cJSON_Parse("{\"query\":\"ongrid_load1\",\"minutes\":5}");

	(void)state;
	report_add_evidence(rep, "sre", "query_metrics", args, "load is 40");
	assert_int_equal(report_check(rep, &d), -EINVAL);
	cJSON_Delete(args);
	cJSON_Delete(rep);
}

static void bad_values_are_named(void **state)
{
	struct diag d = { 0 };
	cJSON *rep = good_report();
	cJSON *rc = cJSON_GetObjectItem(rep, "root_cause");
	cJSON *act = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "actions"), 0);

	(void)state;
	cJSON_ReplaceItemInObject(rc, "category", cJSON_CreateString("gremlins"));
	assert_int_equal(report_check(rep, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "root_cause.category"));
	cJSON_ReplaceItemInObject(rc, "category", cJSON_CreateString("network"));
	cJSON_ReplaceItemInObject(act, "status", cJSON_CreateString("done"));
	memset(&d, 0, sizeof(d));
	assert_int_equal(report_check(rep, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "actions[0]"));
	cJSON_ReplaceItemInObject(act, "status", cJSON_CreateString("executed"));
	cJSON_DeleteItemFromObject(rep, "tokens");
	memset(&d, 0, sizeof(d));
	assert_int_equal(report_check(rep, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "tokens"));
	cJSON_Delete(rep);
}

static void confidence_is_clamped(void **state)
{
	cJSON *rep = report_new("q", "h", "offline", 0);

	(void)state;
	report_set_root_cause(rep, "s", CAT_CPU, "stress-ng", 7.5);
	assert_float_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "root_cause"), "confidence")
	                           ->valuedouble,
	                   1.0, 1e-9);
	cJSON_Delete(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_built_report_meets_the_contract),
		cmocka_unit_test(evidence_without_a_tool_result_is_refused),
		cmocka_unit_test(same_tool_other_arguments_is_not_a_source),
		cmocka_unit_test(bad_values_are_named),
		cmocka_unit_test(confidence_is_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
