/* test_llm_anthropic: Anthropic Messages <-> the neutral shape, on recorded bytes
 * (reference §5). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm_fixture.h"

/* Reference §5.3: anthropics/anthropic-sdk-python tests/lib/streaming/fixtures/
 * tool_use_response.txt, verbatim. */
static const char fixture[] =
        "event: message_start\n"
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_019Q1hrJbZG26Fb9BQhrkHEr\","
        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\","
        "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\""
        ":377,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\""
        ":1,\"service_tier\":\"standard\"}}}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
        "\"text\":\"\"}}\n\n"
        "event: ping\n"
        "data: {\"type\": \"ping\"}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
        "\"text\":\"I'll check the current weather in Paris for you.\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
        "\"tool_use\",\"id\":\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"name\":\"get_weather\","
        "\"caller\":{\"type\":\"direct\"},\"input\":{}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"{\\\"locati\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"on\\\": \\\"Paris\\\"}\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
        "\"stop_sequence\":null},\"usage\":{\"output_tokens\":65}}\n\n"
        "event: message_stop\n"
        "data: {\"type\":\"message_stop\"}\n\n";

static void sdk_fixture_gives_text_then_a_tool_call_at_any_split(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk < sizeof(fixture); chunk += 11) {
		struct llm_response resp;
		struct fx f;
		assert_int_equal(fx_stream(&anthropic_provider, fixture, chunk, &resp, &f), 0);
		assert_true(f.st.done);
		assert_string_equal(resp.text, "I'll check the current weather in Paris for you.");
		assert_string_equal(f.emitted, resp.text);
		assert_int_equal(resp.ncalls, 1);
		assert_string_equal(resp.calls[0].id, "toolu_01NRLabsLyVHZPKxbKvkfSMn");
		assert_string_equal(resp.calls[0].name, "get_weather");
		assert_string_equal(resp.calls[0].args, "{\"location\": \"Paris\"}");
		assert_true(resp.calls[0].args_valid);
		assert_int_equal(resp.stop, LLM_STOP_TOOL_CALLS);
		assert_int_equal(resp.usage.input_tokens, 377);
		assert_int_equal(resp.usage.output_tokens, 65);
		llm_response_release(&resp);
		llm_stream_release(&f.st);
	}
}

static void thinking_and_signature_are_collected(void **state)
{
	const char *in =
	        "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	        "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\r\n\r\n"
	        "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	        "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"check \"}}\r\n\r\n"
	        "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	        "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"errors\"}}\r\n\r\n"
	        "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	        "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCg\"}}\r\n\r\n"
	        "event: content_block_start\r\ndata: {\"type\":\"content_block_start\",\"index\":1,"
	        "\"content_block\":{\"type\":\"text\",\"text\":\"Done.\"}}\r\n\r\n"
	        "event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{"
	        "\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\r\n\r\n"
	        "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&anthropic_provider, in, 17, &resp, &f), 0);
	assert_string_equal(resp.reasoning, "check errors");
	assert_string_equal(resp.reasoning_signature, "EqQBCg");
	assert_string_equal(resp.text, "Done.");
	assert_string_equal(f.emitted, "Done.");
	assert_int_equal(resp.stop, LLM_STOP_END);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void error_event_midstream_is_retryable_when_overloaded(void **state)
{
	const char *in = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	                 "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&anthropic_provider, in, 100, &resp, &f), 0);
	assert_true(f.st.failed);
	assert_true(f.st.err.retryable);
	assert_string_equal(f.st.err.msg, "Overloaded");
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void whole_message_body(void **state)
{
	const char *body =
	        "{\"id\":\"msg_019Q1hrJbZG26Fb9BQhrkHEr\",\"type\":\"message\",\"role\":"
	        "\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[{\"type\":"
	        "\"text\",\"text\":\"I'll check the error rate.\"},{\"type\":\"tool_use\",\"id\":"
	        "\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"name\":\"query_metrics\",\"input\":{\"expr\":"
	        "\"rate(http_5xx[5m])\"}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
	        "\"usage\":{\"input_tokens\":377,\"output_tokens\":65,\"cache_creation_input_tokens"
	        "\":0,\"cache_read_input_tokens\":0,\"service_tier\":\"standard\"}}";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_whole(&anthropic_provider, body, &resp, &f), 0);
	assert_string_equal(resp.text, "I'll check the error rate.");
	assert_int_equal(resp.ncalls, 1);
	assert_string_equal(resp.calls[0].args, "{\"expr\":\"rate(http_5xx[5m])\"}");
	assert_int_equal(resp.stop, LLM_STOP_TOOL_CALLS);
	assert_int_equal(resp.usage.output_tokens, 65);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static const char history[] =
        "{\"messages\":["
        "{\"role\":\"system\",\"content\":\"You are ongrid.\"},"
        "{\"role\":\"user\",\"content\":\"Why 5xx?\"},"
        "{\"role\":\"assistant\",\"content\":\"Checking.\",\"reasoning\":\"think\","
        "\"reasoning_signature\":\"sig\",\"tool_calls\":["
        "{\"id\":\"toolu_1\",\"name\":\"query_metrics\",\"arguments\":{\"expr\":\"up\"}},"
        "{\"id\":\"toolu_2\",\"name\":\"query_logs\",\"arguments\":\"{\\\"q\\\":\\\"x\\\"}\"}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"name\":\"query_metrics\","
        "\"content\":\"0.12\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_2\",\"name\":\"query_logs\","
        "\"content\":\"timeout\",\"is_error\":true},"
        "{\"role\":\"user\",\"content\":\"and now?\"}],"
        "\"tools\":[{\"name\":\"query_metrics\",\"parameters\":{\"type\":\"object\"}},"
        "{\"name\":\"query_logs\"}],"
        "\"tool_choice\":\"required\",\"temperature\":0.5,\"top_p\":0.9,\"stream\":true}";

static void build_puts_system_on_top_and_tool_results_in_one_user_turn(void **state)
{
	struct llm_endpoint ep = { .base_url = "https://api.anthropic.com",
		                   .api_key = "k",
		                   .model = "claude-sonnet-4-5",
		                   .default_max_tokens = 2048 };
	struct llm_request req;
	char url[256], *s;
	cJSON *b, *msgs;

	(void)state;
	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&anthropic_provider, &ep, &req, url, sizeof(url));
	assert_string_equal(url, "https://api.anthropic.com/v1/messages");
	assert_string_equal(cJSON_GetObjectItem(b, "system")->valuestring, "You are ongrid.");
	assert_int_equal(cJSON_GetObjectItem(b, "max_tokens")->valueint, 2048);
	msgs = cJSON_GetObjectItem(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 3); /* user, assistant, user */
	s = fx_str(cJSON_GetArrayItem(msgs, 1));
	assert_string_equal(s,
	                    "{\"role\":\"assistant\",\"content\":["
	                    "{\"type\":\"thinking\",\"thinking\":\"think\",\"signature\":\"sig\"},"
	                    "{\"type\":\"text\",\"text\":\"Checking.\"},"
	                    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"query_metrics\","
	                    "\"input\":{\"expr\":\"up\"}},"
	                    "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"query_logs\","
	                    "\"input\":{\"q\":\"x\"}}]}");
	free(s);
	s = fx_str(cJSON_GetArrayItem(msgs, 2));
	assert_string_equal(s, "{\"role\":\"user\",\"content\":["
	                       "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":"
	                       "\"0.12\"},"
	                       "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\",\"content\":"
	                       "\"timeout\",\"is_error\":true},"
	                       "{\"type\":\"text\",\"text\":\"and now?\"}]}");
	free(s);
	s = fx_str(cJSON_GetObjectItem(b, "tool_choice"));
	assert_string_equal(s, "{\"type\":\"any\"}");
	free(s);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "tools"), 0),
	                                    "input_schema"));
	assert_non_null(cJSON_GetObjectItem(b, "top_p"));
	cJSON_Delete(b);
	ep.downgrades = LLM_DG_NO_TOP_P;
	b = fx_build(&anthropic_provider, &ep, &req, NULL, 0);
	assert_null(cJSON_GetObjectItem(b, "top_p"));
	assert_non_null(cJSON_GetObjectItem(b, "temperature"));
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void classify_maps_errors(void **state)
{
	const char *both = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
	                   "\"message\":\"`temperature` and `top_p` cannot both be specified for "
	                   "this model. Please use only one.\"},\"request_id\":\"req_011\"}";
	const char *over = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	                   "\"message\":\"Overloaded\"}}";
	const char *auth = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
	                   "\"message\":\"invalid x-api-key\"}}";
	struct llm_error e;

	(void)state;
	anthropic_provider.classify(400, both, strlen(both), 0, LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, LLM_DG_NO_TOP_P);
	assert_false(e.retryable);
	anthropic_provider.classify(529, over, strlen(over), 0, LLM_VENDOR_GENERIC, &e);
	assert_true(e.retryable);
	assert_string_equal(e.msg, "Overloaded");
	anthropic_provider.classify(401, auth, strlen(auth), 0, LLM_VENDOR_GENERIC, &e);
	assert_true(e.fatal_for_route);
	assert_false(e.retryable);
}

static void base_urls_are_normalised(void **state)
{
	char out[256];

	(void)state;
	anthropic_provider.normalize("https://api.anthropic.com/v1/", LLM_VENDOR_GENERIC, out,
	                             sizeof(out));
	assert_string_equal(out, "https://api.anthropic.com");
	anthropic_provider.normalize("https://api.deepseek.com/anthropic/v1/messages",
	                             LLM_VENDOR_GENERIC, out, sizeof(out));
	assert_string_equal(out, "https://api.deepseek.com/anthropic");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sdk_fixture_gives_text_then_a_tool_call_at_any_split),
		cmocka_unit_test(thinking_and_signature_are_collected),
		cmocka_unit_test(error_event_midstream_is_retryable_when_overloaded),
		cmocka_unit_test(whole_message_body),
		cmocka_unit_test(build_puts_system_on_top_and_tool_results_in_one_user_turn),
		cmocka_unit_test(classify_maps_errors),
		cmocka_unit_test(base_urls_are_normalised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
