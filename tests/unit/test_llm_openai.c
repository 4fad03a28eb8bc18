/* test_llm_openai: OpenAI Chat Completions and compatible servers <-> the neutral shape,
 * on recorded bytes (reference §4, §7). */
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

/* Reference §4.3: the real capture, with the argument fragments written out. */
static const char stream_tool_call[] =
        "data: {\"id\":\"chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr\",\"object\":\"chat.completion."
        "chunk\",\"created\":1727346176,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":"
        "\"fp_7568d46099\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\""
        ":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_c91SqDXlYFuETYv8mUHzz6pp\",\"type\":"
        "\"function\",\"function\":{\"name\":\"GetWeatherArgs\",\"arguments\":\"\"}}],\"refusal"
        "\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"chatcmpl-ABfw8\",\"object\":\"chat.completion.chunk\",\"choices\":[{"
        "\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"\""
        "}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        "data: {\"id\":\"chatcmpl-ABfw8\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
        "\"index\":0,\"function\":{\"arguments\":\"city\"}}]},\"logprobs\":null,\"finish_reason"
        "\":null}]}\n\n"
        "data: {\"id\":\"chatcmpl-ABfw8\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
        "\"index\":0,\"function\":{\"arguments\":\"\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":"
        "null}],\"obfuscation\":\"Qx\"}\n\n"
        "data: {\"id\":\"chatcmpl-ABfw8\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":"
        "null,\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: {\"id\":\"chatcmpl-ABfw8\",\"choices\":[],\"usage\":{\"prompt_tokens\":76,"
        "\"completion_tokens\":24,\"total_tokens\":100,\"completion_tokens_details\":{"
        "\"reasoning_tokens\":0}}}\n\n"
        "data: [DONE]\n\n";

static void streamed_tool_call_is_assembled_from_fragments_at_any_split(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk < sizeof(stream_tool_call); chunk += 7) {
		struct llm_response resp;
		struct fx f;
		assert_int_equal(fx_stream(&openai_provider, stream_tool_call, chunk, &resp, &f),
		                 0);
		assert_true(f.st.done);
		assert_int_equal(resp.ncalls, 1);
		assert_string_equal(resp.calls[0].id, "call_c91SqDXlYFuETYv8mUHzz6pp");
		assert_string_equal(resp.calls[0].name, "GetWeatherArgs");
		assert_string_equal(resp.calls[0].args, "{\"city\":\"Paris\"}");
		assert_true(resp.calls[0].args_valid);
		assert_int_equal(resp.stop, LLM_STOP_TOOL_CALLS);
		assert_int_equal(resp.usage.input_tokens, 76);
		assert_int_equal(resp.usage.output_tokens, 24);
		assert_null(resp.text);
		llm_response_release(&resp);
		llm_stream_release(&f.st);
	}
}

static void parallel_calls_interleave_by_index(void **state)
{
	const char *in =
	        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":"
	        "\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}},{\"index\":1,\"id\":\"b\","
	        "\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"y\\\"\"}}]}}]}\n\n"
	        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
	        "\"function\":{\"arguments\":\"{\\\"x\\\":1}\"}},{\"index\":1,\"function\":{"
	        "\"arguments\":\":2}\"}}]}}]}\n\n"
	        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"
	        "\n\ndata: [DONE]\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 13, &resp, &f), 0);
	assert_int_equal(resp.ncalls, 2);
	assert_string_equal(resp.calls[0].name, "f");
	assert_string_equal(resp.calls[0].args, "{\"x\":1}");
	assert_string_equal(resp.calls[1].id, "b");
	assert_string_equal(resp.calls[1].args, "{\"y\":2}");
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void text_deltas_are_emitted_in_order(void **state)
{
	const char *in =
	        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
	        "\"content\":\"\"}}]}\n\n"
	        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"}}]}"
	        "\n\n"
	        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
	        "\n\ndata: [DONE]\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 5, &resp, &f), 0);
	assert_string_equal(f.emitted, "Hello \xc3\xa9");
	assert_string_equal(resp.text, "Hello \xc3\xa9");
	assert_int_equal(resp.stop, LLM_STOP_END);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void a_stream_without_done_is_not_complete(void **state)
{
	const char *in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 64, &resp, &f), 0);
	assert_false(f.st.done);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void midstream_error_marks_the_stream_failed(void **state)
{
	const char *in = "data: {\"error\":{\"message\":\"The server had an error\",\"type\":"
	                 "\"server_error\",\"param\":null,\"code\":null}}\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 64, &resp, &f), 0);
	assert_true(f.st.failed);
	assert_true(f.st.err.retryable);
	assert_string_equal(f.st.err.msg, "The server had an error");
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

/* Reference §4.2 */
static void whole_body_with_a_tool_call(void **state)
{
	const char *body =
	        "{\"id\":\"chatcmpl-ABfw8\",\"object\":\"chat.completion\",\"created\":1727346176,"
	        "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"finish_reason\":"
	        "\"tool_calls\",\"logprobs\":null,\"message\":{\"role\":\"assistant\",\"content\":"
	        "null,\"refusal\":null,\"annotations\":[],\"tool_calls\":[{\"id\":\"call_c91\","
	        "\"type\":\"function\",\"function\":{\"name\":\"query_metrics\",\"arguments\":"
	        "\"{\\\"expr\\\":\\\"rate(http_5xx[5m])\\\"}\"}}]}}],\"usage\":{\"prompt_tokens\":"
	        "76,"
	        "\"completion_tokens\":24,\"total_tokens\":100,\"prompt_tokens_details\":{"
	        "\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":2}},"
	        "\"system_fingerprint\":\"fp_7568d46099\",\"service_tier\":\"default\"}";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_whole(&openai_provider, body, &resp, &f), 0);
	assert_int_equal(resp.ncalls, 1);
	assert_string_equal(resp.calls[0].args, "{\"expr\":\"rate(http_5xx[5m])\"}");
	assert_int_equal(resp.usage.cached_tokens, 3);
	assert_int_equal(resp.usage.reasoning_tokens, 2);
	assert_int_equal(resp.stop, LLM_STOP_TOOL_CALLS);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void hostile_arguments_are_flagged_not_trusted(void **state)
{
	const char *body =
	        "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":"
	        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\","
	        "\"type\":\"function\",\"function\":{\"name\":\"x\",\"arguments\":"
	        "\"{\\\"a\\\": [1,2\"}}]}}]}";
	struct llm_response resp;
	struct fx f;
	cJSON *j;
	char *s;

	(void)state;
	assert_int_equal(fx_whole(&openai_provider, body, &resp, &f), 0);
	assert_false(resp.calls[0].args_valid);
	j = llm_response_to_json(&resp);
	s = fx_str(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tool_calls"), 0));
	assert_non_null(strstr(s, "\"arguments_raw\":\"{\\\"a\\\": [1,2\""));
	free(s);
	cJSON_Delete(j);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static const char history[] =
        "{\"system\":\"You are ongrid.\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"Why 5xx?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"reasoning\":\"look at metrics\","
        "\"tool_calls\":[{\"id\":\"call_1\",\"name\":\"query_metrics\",\"arguments\":"
        "{\"expr\":\"up\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"name\":\"query_metrics\","
        "\"content\":\"0.12\"}],"
        "\"tools\":[{\"name\":\"query_metrics\",\"description\":\"PromQL\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{\"expr\":{\"type\":\"string\"}}}}],"
        "\"tool_choice\":\"query_metrics\",\"temperature\":0.2,\"max_tokens\":100,"
        "\"stream\":true}";

static void build_maps_history_tools_and_knobs(void **state)
{
	struct llm_endpoint ep = { .base_url = "https://api.openai.com/v1",
		                   .api_key = "sk",
		                   .model = "gpt-4o",
		                   .vendor = LLM_VENDOR_OPENAI };
	struct llm_request req;
	char url[256], *s;
	cJSON *b, *msgs;

	(void)state;
	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&openai_provider, &ep, &req, url, sizeof(url));
	assert_non_null(b);
	assert_string_equal(url, "https://api.openai.com/v1/chat/completions");
	msgs = cJSON_GetObjectItem(b, "messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 4);
	s = fx_str(cJSON_GetArrayItem(msgs, 2));
	assert_string_equal(s, "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
	                       "\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	                       "\"query_metrics\",\"arguments\":\"{\\\"expr\\\":\\\"up\\\"}\"}}]}");
	free(s);
	s = fx_str(cJSON_GetArrayItem(msgs, 3));
	assert_string_equal(s,
	                    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"0.12\"}");
	free(s);
	s = fx_str(cJSON_GetObjectItem(b, "tool_choice"));
	assert_string_equal(s, "{\"type\":\"function\",\"function\":{\"name\":\"query_metrics\"}}");
	free(s);
	assert_int_equal(cJSON_GetObjectItem(b, "max_completion_tokens")->valueint, 100);
	assert_null(cJSON_GetObjectItem(b, "max_tokens"));
	assert_true(cJSON_IsTrue(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "stream_options"), "include_usage")));
	assert_true(cJSON_GetObjectItem(b, "temperature")->valuedouble == 0.2);
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void downgrades_change_what_is_sent(void **state)
{
	struct llm_endpoint ep = { .base_url = "http://h/v1",
		                   .model = "m",
		                   .vendor = LLM_VENDOR_GENERIC };
	struct llm_request req;
	cJSON *b;

	(void)state;
	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	assert_int_equal(cJSON_GetObjectItem(b, "max_tokens")->valueint, 100);
	assert_non_null(cJSON_GetObjectItem(b, "temperature"));
	cJSON_Delete(b);
	ep.downgrades = LLM_DG_SWAP_MAX_TOKENS | LLM_DG_NO_TEMPERATURE | LLM_DG_NO_STREAM_OPTIONS |
	                LLM_DG_TOOL_CHOICE_AUTO;
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	assert_null(cJSON_GetObjectItem(b, "max_tokens"));
	assert_int_equal(cJSON_GetObjectItem(b, "max_completion_tokens")->valueint, 100);
	assert_null(cJSON_GetObjectItem(b, "temperature"));
	assert_null(cJSON_GetObjectItem(b, "stream_options"));
	assert_string_equal(cJSON_GetObjectItem(b, "tool_choice")->valuestring, "auto");
	cJSON_Delete(b);
	ep.downgrades = LLM_DG_TEMPERATURE_ONE;
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	assert_true(cJSON_GetObjectItem(b, "temperature")->valuedouble == 1);
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void reasoning_content_round_trips_for_deepseek(void **state)
{
	const char *in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
	                 "\"look at \"}}]}\n\n"
	                 "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
	                 "\"metrics\"}}]}\n\n"
	                 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},"
	                 "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
	struct llm_endpoint ep = { .base_url = "https://api.deepseek.com/v1",
		                   .model = "r",
		                   .vendor = LLM_VENDOR_DEEPSEEK };
	struct llm_response resp;
	struct llm_request req;
	struct fx f;
	cJSON *b, *m;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 9, &resp, &f), 0);
	assert_string_equal(resp.reasoning, "look at metrics");
	assert_string_equal(resp.text, "ok");
	assert_string_equal(f.emitted, "ok"); /* reasoning is not shown as the answer */
	llm_response_release(&resp);
	llm_stream_release(&f.st);

	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 2);
	assert_string_equal(cJSON_GetObjectItem(m, "reasoning_content")->valuestring,
	                    "look at metrics");
	cJSON_Delete(b);
	/* A generic server gets it only once it has asked for it. */
	ep.vendor = LLM_VENDOR_GENERIC;
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 2);
	assert_null(cJSON_GetObjectItem(m, "reasoning_content"));
	cJSON_Delete(b);
	ep.downgrades = LLM_DG_SEND_REASONING;
	b = fx_build(&openai_provider, &ep, &req, NULL, 0);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "messages"), 2);
	assert_non_null(cJSON_GetObjectItem(m, "reasoning_content"));
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void ollama_reasoning_field_and_whole_calls(void **state)
{
	const char *in = "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hm\","
	                 "\"tool_calls\":[{\"id\":\"call_x\",\"index\":0,\"type\":\"function\","
	                 "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}\n\n"
	                 "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
	                 "\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&openai_provider, in, 4096, &resp, &f), 0);
	assert_string_equal(resp.reasoning, "hm");
	assert_int_equal(resp.ncalls, 1);
	assert_string_equal(resp.calls[0].args, "{\"a\":1}");
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void classify(long status, const char *body, unsigned cur, enum llm_vendor v,
                     struct llm_error *e)
{
	openai_provider.classify(status, body, strlen(body), cur, v, e);
}

static void classify_maps_errors_to_actions(void **state)
{
	struct llm_error e;

	(void)state;
	classify(400,
	         "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens' is not supported "
	         "with this model. Use 'max_completion_tokens' instead.\",\"type\":"
	         "\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":"
	         "\"unsupported_parameter\"}}",
	         0, LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, LLM_DG_SWAP_MAX_TOKENS);
	assert_false(e.retryable);
	classify(400,
	         "{\"error\":{\"message\":\"Unsupported value: 'temperature' does not support 0.2 "
	         "with this model. Only the default (1) value is supported.\",\"type\":"
	         "\"invalid_request_error\",\"param\":\"temperature\",\"code\":"
	         "\"unsupported_value\"}}",
	         0, LLM_VENDOR_OPENAI, &e);
	assert_int_equal(e.downgrade, LLM_DG_NO_TEMPERATURE);
	/* Already dropped: no second downgrade for the same thing, so no loop. */
	classify(400, "{\"error\":{\"message\":\"bad temperature\",\"param\":\"temperature\"}}",
	         LLM_DG_NO_TEMPERATURE, LLM_VENDOR_OPENAI, &e);
	assert_int_equal(e.downgrade, 0);
	/* vLLM's old envelope, param not filled: the message names the field we sent. */
	classify(400,
	         "{\"object\":\"error\",\"message\":\"[{'type': 'extra_forbidden', 'loc': "
	         "('body', 'max_completion_tokens'), 'msg': 'Extra inputs are not permitted'}]\","
	         "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
	         LLM_DG_SWAP_MAX_TOKENS, LLM_VENDOR_VLLM, &e);
	assert_int_equal(e.downgrade, LLM_DG_NO_MAX_TOKENS);
	classify(400,
	         "{\"error\":{\"message\":\"invalid temperature: only 1 is allowed for this "
	         "model\",\"type\":\"invalid_request_error\"}}",
	         0, LLM_VENDOR_MOONSHOT, &e);
	assert_int_equal(e.downgrade, LLM_DG_TEMPERATURE_ONE);
	classify(400,
	         "{\"error\":{\"message\":\"The `reasoning_content` in the thinking mode must "
	         "be passed back to the API.\",\"type\":\"invalid_request_error\"}}",
	         0, LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, LLM_DG_SEND_REASONING);
	classify(429,
	         "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
	         "\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
	         0, LLM_VENDOR_OPENAI, &e);
	assert_true(e.retryable);
	assert_false(e.fatal_for_route);
	classify(429,
	         "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":"
	         "\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
	         0, LLM_VENDOR_OPENAI, &e);
	assert_false(e.retryable);
	assert_true(e.fatal_for_route);
	classify(500,
	         "{\"error\":{\"code\":500,\"message\":\"tools param requires --jinja flag\","
	         "\"type\":\"server_error\"}}",
	         0, LLM_VENDOR_LLAMACPP, &e);
	assert_true(e.fatal_for_route);
	classify(503, "<html>bad gateway</html>", 0, LLM_VENDOR_GENERIC, &e);
	assert_true(e.retryable);
	classify(400, "{\"error\":\"llama3 does not support tools\"}", 0, LLM_VENDOR_OLLAMA, &e);
	assert_true(e.fatal_for_route);
	assert_string_equal(e.msg, "llama3 does not support tools");
}

static void a_404_not_about_the_model_suggests_the_other_v1_form(void **state)
{
	struct llm_error e;

	(void)state;
	classify(404, "{\"error\":{\"message\":\"Unknown path /gw/chat/completions\"}}", 0,
	         LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, LLM_DG_PATH_V1);
	assert_false(e.fatal_for_route);
	classify(404, "{\"error\":{\"message\":\"Unknown path\"}}", LLM_DG_PATH_V1,
	         LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, 0);
	assert_true(e.fatal_for_route);
	classify(404,
	         "{\"error\":{\"message\":\"The model `gpt-9` does not exist\",\"type\":"
	         "\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
	         0, LLM_VENDOR_OPENAI, &e);
	assert_int_equal(e.downgrade, 0);
	assert_true(e.fatal_for_route);
}

static void kind_auto_reads_the_base_url(void **state)
{
	(void)state;
	assert_string_equal(llm_kind_detect("https://api.deepseek.com/anthropic"), "anthropic");
	assert_string_equal(llm_kind_detect("https://gw.corp/v1beta"), "gemini");
	assert_string_equal(llm_kind_detect("http://litellm:4000"), "openai-compatible");
}

static void base_urls_are_normalised(void **state)
{
	static const char *const cases[][2] = {
		{ "https://api.openai.com", "https://api.openai.com/v1" },
		{ "https://api.openai.com/v1/", "https://api.openai.com/v1" },
		{ "http://127.0.0.1:11434", "http://127.0.0.1:11434/v1" },
		{ "http://h:8000/v1/chat/completions", "http://h:8000/v1" },
		{ "https://open.bigmodel.cn/api/paas/v4", "https://open.bigmodel.cn/api/paas/v4" },
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		openai_provider.normalize(cases[i][0], LLM_VENDOR_GENERIC, out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
	}
}

static void vendors_are_guessed_from_base_urls(void **state)
{
	(void)state;
	assert_int_equal(llm_vendor_guess("https://api.deepseek.com"), LLM_VENDOR_DEEPSEEK);
	assert_int_equal(llm_vendor_guess("https://open.bigmodel.cn/api/paas/v4"),
	                 LLM_VENDOR_ZHIPU);
	assert_int_equal(llm_vendor_guess("https://api.moonshot.ai/v1"), LLM_VENDOR_MOONSHOT);
	assert_int_equal(llm_vendor_guess("http://localhost:11434/v1"), LLM_VENDOR_OLLAMA);
	assert_int_equal(llm_vendor_guess("http://gpu:9999/v1"), LLM_VENDOR_GENERIC);
}

static void neutral_request_errors_name_the_field(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "messages[0].role" },
		{ "{\"messages\":[]}", "messages: empty" },
		{ "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "tool_call_id" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"name\":"
		  "\"bad name\"}]}",
		  "tools[0].name" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"nope\"}",
		  "tool_choice" },
		{ "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"name\":"
		  "\"f\",\"arguments\":\"[1]\"}]}]}",
		  "arguments: expected a JSON object" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct llm_request req;
		struct diag d = { 0 };
		cJSON *j = cJSON_Parse(bad[i][0]);
		assert_true(llm_request_from_json(j, &req, &d) < 0);
		if (!strstr(d.msg, bad[i][1]))
			fail_msg("case %zu: '%s' does not mention '%s'", i, d.msg, bad[i][1]);
		cJSON_Delete(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(streamed_tool_call_is_assembled_from_fragments_at_any_split),
		cmocka_unit_test(parallel_calls_interleave_by_index),
		cmocka_unit_test(text_deltas_are_emitted_in_order),
		cmocka_unit_test(a_stream_without_done_is_not_complete),
		cmocka_unit_test(midstream_error_marks_the_stream_failed),
		cmocka_unit_test(whole_body_with_a_tool_call),
		cmocka_unit_test(hostile_arguments_are_flagged_not_trusted),
		cmocka_unit_test(build_maps_history_tools_and_knobs),
		cmocka_unit_test(downgrades_change_what_is_sent),
		cmocka_unit_test(reasoning_content_round_trips_for_deepseek),
		cmocka_unit_test(ollama_reasoning_field_and_whole_calls),
		cmocka_unit_test(classify_maps_errors_to_actions),
		cmocka_unit_test(a_404_not_about_the_model_suggests_the_other_v1_form),
		cmocka_unit_test(kind_auto_reads_the_base_url),
		cmocka_unit_test(base_urls_are_normalised),
		cmocka_unit_test(vendors_are_guessed_from_base_urls),
		cmocka_unit_test(neutral_request_errors_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
