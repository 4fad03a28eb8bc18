/* test_planner.c - the offline planner's rules on synthetic evidence: each fault picks its
 * category and component over the noise of a busy shared host, and every evidence item of
 * the report is one of the tool calls it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/agent/agent.h"

#define T0 1764000000.0 /* window start, seconds */

static cJSON *facts;

static void fact(const char *agent, const char *tool, const char *key, const char *args,
                 const char *evidence)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "agent", agent);
	cJSON_AddStringToObject(f, "tool", tool);
	cJSON_AddItemToObject(f, "args", cJSON_Parse(args));
	cJSON_AddStringToObject(f, "key", key);
	cJSON_AddItemToObject(f, "evidence", cJSON_Parse(evidence));
	assert_non_null(cJSON_GetObjectItem(f, "evidence"));
	cJSON_AddItemToArray(facts, f);
}

/* A matrix series: 60 points a second apart from T0, value a before `at` and b from it.
 * appear > 0: the series starts at that second (a counter born in the window). */
static void series(char *out, size_t n, const char *labels, double a, double b, int at, int appear)
{
	size_t o = (size_t)snprintf(out, n, "{\"metric\":{%s},\"values\":[", labels);

	for (int i = appear; i < 60 && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s[%.0f,\"%g\"]", i > appear ? "," : "",
		                      T0 + i, i < at ? a : b);
	snprintf(out + o, n - o, "]}");
}

static void metric_fact(const char *agent, const char *key, const char *query,
                        const char *series_json)
{
	char args[512], ev[32768];

	snprintf(args, sizeof(args), "{\"query\":\"%s\",\"minutes\":1,\"step_s\":1}", query);
	snprintf(ev, sizeof(ev),
	         "{\"findings\":[\"n series\"],\"history\":\"on\",\"data\":{\"resultType\":"
	         "\"matrix\",\"result\":[%s]}}",
	         series_json);
	fact(agent, "query_metrics", key, args, ev);
}

/* The noise of a busy build machine: clang at 87% and the host CPUs busy. */
static void busy_host_noise(void)
{
	char s[4096];

	series(s, sizeof(s), "", 0.95, 0.97, 30, 0);
	metric_fact("sre", "cpu_busy", "busy", s);
	series(s, sizeof(s), "\"mountpoint\":\"/\"", 0.69, 0.69, 0, 0);
	metric_fact("disk", "fs_used", "fs", s);
}

static void processes(const char *rows)
{
	char ev[4096];

	snprintf(ev, sizeof(ev), "{\"findings\":[\"busiest\"],\"processes\":[%s]}", rows);
	fact("ops", "list_processes", "processes", "{\"sort\":\"cpu\",\"limit\":8}", ev);
}

static cJSON *conclude(enum agent_category hint)
{
	cJSON *rep = report_new("q", "h", "offline", 0);
	const cJSON *e, *f;

	planner_conclude(facts, hint, rep);
	/* the evidence discipline: every item is one of the calls made */
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(rep, "evidence")) {
		bool found = false;

		cJSON_ArrayForEach(f, facts)
			found |= strcmp(cJSON_GetObjectItem(f, "tool")->valuestring,
			                cJSON_GetObjectItem(e, "tool")->valuestring) == 0 &&
			         cJSON_Compare(cJSON_GetObjectItem(f, "args"),
			                       cJSON_GetObjectItem(e, "args"), true);
		if (!found)
			fail_msg("evidence %s names no call made",
			         cJSON_GetObjectItem(e, "id")->valuestring);
	}
	return rep;
}

static void expect_cause(enum agent_category hint, const char *cat, const char *component)
{
	cJSON *rep = conclude(hint);
	const cJSON *rc = cJSON_GetObjectItem(rep, "root_cause");

	assert_string_equal(cJSON_GetObjectItem(rc, "category")->valuestring, cat);
	assert_string_equal(cJSON_GetObjectItem(rc, "component")->valuestring, component);
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(rep, "evidence")) >= 1);
	assert_true(strlen(cJSON_GetObjectItem(rep, "summary")->valuestring) > 20);
	cJSON_Delete(rep);
}

static int setup(void **state)
{
	(void)state;
	facts = cJSON_CreateArray();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cJSON_Delete(facts);
	return 0;
}

static void cpu_saturation_names_the_command(void **state)
{
	char s[4096];

	(void)state;
	series(s, sizeof(s), "", 0.3, 0.99, 20, 0);
	metric_fact("sre", "cpu_busy", "busy", s);
	processes("{\"pid\":10,\"comm\":\"stress-ng\",\"cpu_pct\":95},"
	          "{\"pid\":11,\"comm\":\"stress-ng\",\"cpu_pct\":94},"
	          "{\"pid\":12,\"comm\":\"cc1\",\"cpu_pct\":40}");
	expect_cause(CAT_UNKNOWN, "cpu", "stress-ng");
}

static void the_command_that_rose_beats_a_steady_busier_one(void **state)
{
	char s[8192], a[4096], b[4096];

	(void)state;
	series(s, sizeof(s), "", 0.9, 1.0, 30, 0);
	metric_fact("sre", "cpu_busy", "busy", s);
	/* a steady compiler at 90% of a core, and a newcomer at 60% from the middle */
	series(a, sizeof(a), "\"comm\":\"clang-tidy\"", 0.9, 0.9, 0, 0);
	series(b, sizeof(b), "\"comm\":\"stress-ng-cpu\"", 0.6, 0.6, 0, 30);
	snprintf(s, sizeof(s), "%s,%s", a, b);
	metric_fact("sre", "proc_cpu", "rate", s);
	expect_cause(CAT_CPU, "cpu", "stress-ng-cpu");
}

static void a_filling_filesystem_beats_a_busy_cpu(void **state)
{
	char s[8192], a[4096], b[4096];

	(void)state;
	processes("{\"pid\":12,\"comm\":\"clang\",\"cpu_pct\":87}");
	series(s, sizeof(s), "", 0.95, 0.99, 30, 0);
	metric_fact("sre", "cpu_busy", "busy", s);
	series(a, sizeof(a), "\"mountpoint\":\"/\"", 0.69, 0.69, 0, 0);
	series(b, sizeof(b), "\"mountpoint\":\"/tmp/t8002/fill\"", 0.05, 0.99, 40, 0);
	snprintf(s, sizeof(s), "%s,%s", a, b);
	metric_fact("disk", "fs_used", "fs", s);
	expect_cause(CAT_UNKNOWN, "disk", "/tmp/t8002/fill");
}

static void a_full_but_still_filesystem_needs_the_question(void **state)
{
	char s[4096];

	(void)state;
	series(s, sizeof(s), "\"mountpoint\":\"/snap/x\"", 1.0, 1.0, 0, 0);
	metric_fact("disk", "fs_used", "fs", s);
	expect_cause(CAT_UNKNOWN, "unknown", "");
	expect_cause(CAT_DISK, "disk", "/snap/x");
}

static void without_history_a_full_disk_comes_from_the_probe(void **state)
{
	(void)state;
	fact("disk", "host_probe_disk", "probe_disk", "{}",
	     "{\"findings\":[\"/srv/spool is 97% full: 1.0 MiB free of 32.0 MiB\","
	     "\"/ is 40% full\"]}");
	expect_cause(CAT_UNKNOWN, "disk", "/srv/spool");
}

static void slow_block_io_names_the_disk(void **state)
{
	char s[8192], a[4096], b[4096];

	(void)state;
	busy_host_noise();
	series(a, sizeof(a), "\"disk\":\"vda\"", 0.002, 0.004, 30, 0);
	series(b, sizeof(b), "\"disk\":\"loop7\"", 0.001, 0.25, 30, 0);
	snprintf(s, sizeof(s), "%s,%s", a, b);
	metric_fact("disk", "bio_p99", "p99", s);
	expect_cause(CAT_UNKNOWN, "disk", "loop7");
}

static void retransmits_to_one_peer_name_the_peer(void **state)
{
	char s[8192], a[4096], b[4096];

	(void)state;
	busy_host_noise();
	series(a, sizeof(a), "\"peer\":\"127.0.0.1\"", 0, 0.2, 30, 0);
	series(b, sizeof(b), "\"peer\":\"10.77.0.2\"", 0, 12, 30, 0);
	snprintf(s, sizeof(s), "%s,%s", a, b);
	metric_fact("network", "retrans", "retrans", s);
	expect_cause(CAT_UNKNOWN, "network", "10.77.0.2");
}

static void a_crash_loop_beats_grep_saying_no_match(void **state)
{
	char s[8192], a[4096], b[4096];

	(void)state;
	busy_host_noise();
	series(a, sizeof(a), "\"comm\":\"grep\",\"code\":\"1\"", 10, 400, 10, 0);
	series(b, sizeof(b), "\"comm\":\"t8005-worker\",\"code\":\"1\"", 1, 25, 30, 20);
	snprintf(s, sizeof(s), "%s,%s", a, b);
	metric_fact("ops", "exits", "exits", s);
	expect_cause(CAT_UNKNOWN, "service", "t8005-worker");
}

static void an_oom_kill_names_the_cgroup(void **state)
{
	char s[4096];

	(void)state;
	busy_host_noise();
	series(s, sizeof(s), "\"cgroup\":\"/sys/ongrid-t8006\",\"comm\":\"hog\"", 1, 1, 0, 45);
	metric_fact("sre", "oom", "oom", s);
	expect_cause(CAT_UNKNOWN, "memory", "/sys/ongrid-t8006");
}

static void errors_after_a_change_point_at_the_change(void **state)
{
	(void)state;
	busy_host_noise();
	fact("ops", "log_patterns", "log_patterns", "{\"mode\":\"changed\",\"minutes\":1}",
	     "{\"findings\":[\"new: 'ERROR upstream <*> refused' 240 times since 12:00:03\"]}");
	fact("ops", "query_change_events", "changes", "{\"minutes\":1}",
	     "{\"findings\":[\"1 change\"],\"events\":[{\"time\":\"2025-11-24T16:00:01Z\","
	     "\"kind\":\"file\",\"path\":\"/etc/app/app.conf\"}]}");
	expect_cause(CAT_UNKNOWN, "config", "/etc/app/app.conf");
}

static void nothing_moved_is_unknown_with_what_was_checked(void **state)
{
	char s[4096];
	cJSON *rep;

	(void)state;
	series(s, sizeof(s), "", 0.2, 0.25, 30, 0);
	metric_fact("sre", "cpu_busy", "busy", s);
	rep = conclude(CAT_UNKNOWN);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "root_cause"), "category")
	                            ->valuestring,
	                    "unknown");
	assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "root_cause"), "confidence")
	                    ->valuedouble < 0.5);
	cJSON_Delete(rep);
}

static void classify_reads_the_question(void **state)
{
	enum agent_category c;

	(void)state;
	assert_string_equal(agent_classify("why is /data out of space?", &c), "disk");
	assert_int_equal(c, CAT_DISK);
	assert_string_equal(agent_classify("packet loss to the database", &c), "network");
	assert_string_equal(agent_classify("api keeps crashing and restarting", &c), "ops");
	assert_int_equal(c, CAT_SERVICE);
	assert_string_equal(agent_classify("OOM killed my job", &c), "sre");
	assert_int_equal(c, CAT_MEMORY);
	agent_classify("hello", &c);
	assert_int_equal(c, CAT_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cpu_saturation_names_the_command, setup, teardown),
		cmocka_unit_test_setup_teardown(the_command_that_rose_beats_a_steady_busier_one,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(a_filling_filesystem_beats_a_busy_cpu, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_full_but_still_filesystem_needs_the_question,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(without_history_a_full_disk_comes_from_the_probe,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(slow_block_io_names_the_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(retransmits_to_one_peer_name_the_peer, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_crash_loop_beats_grep_saying_no_match, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_oom_kill_names_the_cgroup, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_after_a_change_point_at_the_change, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(nothing_moved_is_unknown_with_what_was_checked,
		                                setup, teardown),
		cmocka_unit_test(classify_reads_the_question),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
