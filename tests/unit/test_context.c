/* test_context.c - what a question arrives with: a good context is kept compact and
 * redacted, a wrong shape is refused naming the field, and taking a context twice keeps it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge/agent/agent.h"
#include "shared/json.h"

static cJSON *take(const char *text)
{
	struct diag d = { 0 };
	cJSON *out = NULL;

	if (agent_context_parse(text, strlen(text), &out, &d) < 0)
		fail_msg("agent_context_parse(%s): %s", text, d.msg);
	return out;
}

static void expect_refused(const char *text, const char *msg)
{
	struct diag d = { 0 };
	cJSON *out = NULL;

	assert_int_equal(agent_context_parse(text, strlen(text), &out, &d), -EINVAL);
	assert_null(out);
	if (!strstr(d.msg, msg))
		fail_msg("agent_context_parse(%s): \"%s\", expected \"%s\"", text, d.msg, msg);
}

static void a_long_thread_keeps_its_latest_messages_within_budget(void **state)
{
	char *big = malloc(200000), *p = big;
	cJSON *c;
	const cJSON *turns;
	size_t total = 0;

	(void)state;
	p += sprintf(p, "{\"context\":[");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s{\"who\":\"u%d\",\"text\":\"%0*d\"}", i ? "," : "", i, 900, i);
	sprintf(p, "]}");
	c = take(big);
	turns = cJSON_GetObjectItemCaseSensitive(c, "context");
	assert_true(cJSON_GetArraySize(turns) >= 1 && cJSON_GetArraySize(turns) <= 12);
	assert_int_equal(cJSON_GetArraySize(turns) +
	                         (int)cJSON_GetNumberValue(
	                                 cJSON_GetObjectItemCaseSensitive(c, "context_omitted")),
	                 40);
	assert_string_equal(
	        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                cJSON_GetArrayItem(turns, cJSON_GetArraySize(turns) - 1), "who")),
	        "u39");
	for (int i = 0; i < cJSON_GetArraySize(turns); i++) {
		const char *t = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(turns, i), "text"));
		assert_true(strlen(t) <= 600);
		assert_non_null(strstr(t, " [...]"));
		total += strlen(t);
	}
	assert_true(total <= 4096 + 600);
	cJSON_Delete(c);
	free(big);
}

static void secrets_are_redacted_and_the_alert_trimmed(void **state)
{
	cJSON *c = take("{\"context\":[{\"who\":\"a\",\"text\":\"password=hunter2 please\"}],"
	                "\"alert\":{\"labels\":{\"alertname\":\"X\",\"dsn\":\"postgres://u:"
	                "s3cret@db/x\"},\"generatorURL\":\"http://p\",\"fingerprint\":\"f\"},"
	                "\"requester\":{\"platform\":\"slack\",\"user\":\"U1\",\"role\":\"admin\"},"
	                "\"follow_up\":true,\"unknown\":1}");
	char *s = json_print(c, false);

	(void)state;
	assert_null(strstr(s, "hunter2"));
	assert_null(strstr(s, "s3cret"));
	assert_null(strstr(s, "generatorURL"));
	assert_null(strstr(s, "unknown"));
	assert_non_null(strstr(s, "\"alertname\":\"X\""));
	assert_non_null(strstr(s, "\"role\":\"admin\""));
	assert_non_null(strstr(s, "\"follow_up\":true"));
	free(s);
	cJSON_Delete(c);
}

static void taking_it_twice_keeps_it(void **state)
{
	cJSON *a = take(
	              "{\"context\":[{\"who\":\"a\",\"text\":\"caf\xc3\xa9 "
	              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}],"
	              "\"follow_up\":false}"),
	      *b;
	char *sa = json_print(a, false), *sb;

	(void)state;
	b = take(sa);
	sb = json_print(b, false);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void a_cut_never_splits_a_character(void **state)
{
	/* 700 bytes of two-byte characters: the cut lands inside one unless it backs off */
	char text[2000] = "{\"context\":[{\"who\":\"a\",\"text\":\"", *p = text + strlen(text);
	const char *t;
	cJSON *c;

	(void)state;
	for (int i = 0; i < 350; i++)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "x\"}]}");
	c = take(text);
	t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "context"), 0), "text"));
	for (size_t i = 0; t[i]; i++)
		if ((unsigned char)t[i] == 0xc3)
			assert_int_equal((unsigned char)t[i + 1], 0xa9);
	cJSON_Delete(c);
}

static void wrong_shapes_name_the_field(void **state)
{
	(void)state;
	expect_refused("[]", "expected an object");
	expect_refused("{\"context\":{}}", "context: expected an array");
	expect_refused("{\"context\":[1]}", "context[0]: expected");
	expect_refused("{\"context\":[{\"who\":\"a\"}]}",
	               "context[0]: expected \"who\" and \"text\"");
	expect_refused("{\"context\":[{\"who\":\"a\",\"text\":\"b\"},{\"who\":2,\"text\":\"c\"}]}",
	               "context[1].who: expected a string");
	expect_refused("{\"follow_up\":1}", "follow_up: expected true or false");
	expect_refused("{\"requester\":\"me\"}", "requester: expected");
	expect_refused("{\"requester\":{\"role\":7}}", "requester.role: expected a string");
	expect_refused("{\"alert\":[]}", "alert: expected an object");
	expect_refused("{\"context\":", "invalid JSON");
}

static void the_alert_name_is_read_as_words(void **state)
{
	cJSON *c = take("{\"alert\":{\"labels\":{\"alertname\":\"NodeFilesystemAlmostOutOfSpace\"},"
	                "\"annotations\":{\"summary\":\"disk nearly full\"}}}");
	char out[512];

	(void)state;
	agent_context_classify_text("why?", c, out, sizeof(out));
	assert_string_equal(out, "why? Node Filesystem Almost Out Of Space disk nearly full");
	agent_context_classify_text("why?", NULL, out, sizeof(out));
	assert_string_equal(out, "why?");
	cJSON_Delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_long_thread_keeps_its_latest_messages_within_budget),
		cmocka_unit_test(secrets_are_redacted_and_the_alert_trimmed),
		cmocka_unit_test(taking_it_twice_keeps_it),
		cmocka_unit_test(a_cut_never_splits_a_character),
		cmocka_unit_test(wrong_shapes_name_the_field),
		cmocka_unit_test(the_alert_name_is_read_as_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
