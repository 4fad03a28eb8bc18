/* test_llm_gemini: Gemini generateContent / streamGenerateContent <-> the neutral shape,
 * on recorded bytes (reference §6). */
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

/* Reference §6.2 */
static const char whole[] =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{"
        "\"name\":\"query_metrics\",\"args\":{\"expr\":\"rate(http_5xx[5m])\"}}}]},"
        "\"finishReason\":\"STOP\",\"index\":0,\"safetyRatings\":[]}],"
        "\"usageMetadata\":{\"promptTokenCount\":31,\"candidatesTokenCount\":12,"
        "\"totalTokenCount\":43,\"thoughtsTokenCount\":0},"
        "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"mO8uaM-ZN8Ol\"}";

static void a_function_call_ends_with_stop_but_means_tool_calls(void **state)
{
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_whole(&gemini_provider, whole, &resp, &f), 0);
	assert_int_equal(resp.ncalls, 1);
	assert_string_equal(resp.calls[0].name, "query_metrics");
	assert_string_equal(resp.calls[0].args, "{\"expr\":\"rate(http_5xx[5m])\"}");
	/* No id on the wire: one is made up, and marked as ours. */
	assert_non_null(resp.calls[0].id);
	assert_int_equal(resp.stop, LLM_STOP_TOOL_CALLS);
	assert_int_equal(resp.usage.input_tokens, 31);
	assert_int_equal(resp.usage.output_tokens, 12);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static const char stream[] =
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
        "\"Let me \",\"thought\":true}]},\"index\":0}],\"usageMetadata\":{"
        "\"promptTokenCount\":31}}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
        "\"The error \"}]},\"index\":0}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
        "\"rate is 0.12\"}]},\"index\":0}]}\r\n\r\n"
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{"
        "\"name\":\"query_logs\",\"args\":{\"q\":\"5xx\"},\"id\":\"fc_9\"},\"thoughtSignature\":"
        "\"c2lnbmF0dXJl\"}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
        "\"promptTokenCount\":31,\"candidatesTokenCount\":20,\"thoughtsTokenCount\":7}}\r\n\r\n";

static void stream_separates_thoughts_text_and_a_signed_call(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk < sizeof(stream); chunk += 13) {
		struct llm_response resp;
		struct fx f;
		assert_int_equal(fx_stream(&gemini_provider, stream, chunk, &resp, &f), 0);
		assert_string_equal(resp.reasoning, "Let me ");
		assert_string_equal(resp.text, "The error rate is 0.12");
		assert_string_equal(f.emitted, "The error rate is 0.12");
		assert_int_equal(resp.ncalls, 1);
		assert_string_equal(resp.calls[0].id, "fc_9");
		assert_string_equal(resp.calls[0].signature, "c2lnbmF0dXJl");
		assert_int_equal(resp.usage.output_tokens, 27);
		assert_int_equal(resp.usage.reasoning_tokens, 7);
		llm_response_release(&resp);
		llm_stream_release(&f.st);
	}
}

static void a_bare_multiline_error_in_the_stream_is_recovered(void **state)
{
	const char *in = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}]}}]}"
	                 "\r\n\r\n{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The "
	                 "model is overloaded.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_stream(&gemini_provider, in, 10, &resp, &f), 0);
	assert_true(f.st.failed);
	assert_true(f.st.err.retryable);
	assert_string_equal(f.st.err.msg, "The model is overloaded.");
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static void a_blocked_prompt_is_filtered(void **state)
{
	const char *body = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{"
	                   "\"promptTokenCount\":4}}";
	struct llm_response resp;
	struct fx f;

	(void)state;
	assert_int_equal(fx_whole(&gemini_provider, body, &resp, &f), 0);
	assert_int_equal(resp.stop, LLM_STOP_FILTERED);
	llm_response_release(&resp);
	llm_stream_release(&f.st);
}

static const char history[] =
        "{\"system\":\"You are ongrid.\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"Why 5xx?\"},"
        "{\"role\":\"assistant\",\"tool_calls\":["
        "{\"id\":\"fc_9\",\"name\":\"query_logs\",\"arguments\":{\"q\":\"5xx\"},"
        "\"signature\":\"c2ln\"},"
        "{\"id\":\"gemini-call-2\",\"name\":\"query_metrics\",\"arguments\":{}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"fc_9\",\"name\":\"query_logs\","
        "\"content\":\"{\\\"lines\\\":3}\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"gemini-call-2\",\"name\":\"query_metrics\","
        "\"content\":\"no data\",\"is_error\":true}],"
        "\"tools\":[{\"name\":\"query_logs\",\"parameters\":{\"type\":\"object\",\"$schema\":"
        "\"x\",\"additionalProperties\":false,\"properties\":{\"type\":{\"type\":\"string\","
        "\"additionalProperties\":false},\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}}],"
        "\"tool_choice\":\"query_logs\",\"max_tokens\":50,\"stream\":true}";

static void build_echoes_signatures_and_never_made_up_ids(void **state)
{
	struct llm_endpoint ep = { .base_url = "https://generativelanguage.googleapis.com/v1beta",
		                   .api_key = "g",
		                   .model = "gemini-2.5-flash" };
	struct llm_request req;
	char url[256], *s;
	cJSON *b, *contents;

	(void)state;
	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&gemini_provider, &ep, &req, url, sizeof(url));
	assert_string_equal(url, "https://generativelanguage.googleapis.com/v1beta/models/"
	                         "gemini-2.5-flash:streamGenerateContent?alt=sse");
	s = fx_str(cJSON_GetObjectItem(b, "systemInstruction"));
	assert_string_equal(s, "{\"parts\":[{\"text\":\"You are ongrid.\"}]}");
	free(s);
	contents = cJSON_GetObjectItem(b, "contents");
	assert_int_equal(cJSON_GetArraySize(contents), 3);
	s = fx_str(cJSON_GetArrayItem(contents, 1));
	assert_string_equal(s,
	                    "{\"role\":\"model\",\"parts\":["
	                    "{\"functionCall\":{\"name\":\"query_logs\",\"args\":{\"q\":\"5xx\"},"
	                    "\"id\":\"fc_9\"},\"thoughtSignature\":\"c2ln\"},"
	                    "{\"functionCall\":{\"name\":\"query_metrics\",\"args\":{}}}]}");
	free(s);
	s = fx_str(cJSON_GetArrayItem(contents, 2));
	assert_string_equal(s, "{\"role\":\"user\",\"parts\":["
	                       "{\"functionResponse\":{\"name\":\"query_logs\",\"id\":\"fc_9\","
	                       "\"response\":{\"output\":{\"lines\":3}}}},"
	                       "{\"functionResponse\":{\"name\":\"query_metrics\",\"response\":{"
	                       "\"error\":\"no data\"}}}]}");
	free(s);
	s = fx_str(cJSON_GetObjectItem(b, "toolConfig"));
	assert_string_equal(s, "{\"functionCallingConfig\":{\"mode\":\"ANY\","
	                       "\"allowedFunctionNames\":[\"query_logs\"]}}");
	free(s);
	assert_int_equal(
	        cJSON_GetObjectItem(cJSON_GetObjectItem(b, "generationConfig"), "maxOutputTokens")
	                ->valueint,
	        50);
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void strip_schema_keeps_the_openapi_subset_and_property_names(void **state)
{
	struct llm_endpoint ep = { .base_url = "http://g/v1beta",
		                   .model = "m",
		                   .downgrades = LLM_DG_STRIP_SCHEMA };
	struct llm_request req;
	cJSON *b, *params;
	char *s;

	(void)state;
	assert_int_equal(fx_request(history, &req), 0);
	b = fx_build(&gemini_provider, &ep, &req, NULL, 0);
	params = cJSON_GetObjectItem(
	        cJSON_GetArrayItem(
	                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "tool"
	                                                                              "s"),
	                                                       0),
	                                    "functionDeclarations"),
	                0),
	        "parameters");
	s = fx_str(params);
	assert_string_equal(s, "{\"type\":\"object\",\"properties\":{\"type\":{\"type\":"
	                       "\"string\"},\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}");
	free(s);
	cJSON_Delete(b);
	llm_request_release(&req);
}

static void classify_reads_retry_info_and_schema_errors(void **state)
{
	const char *quota = "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted "
	                    "(e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{"
	                    "\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":"
	                    "\"31s\"}]}}";
	const char *schema = "{\"error\":{\"code\":400,\"message\":\"Invalid JSON payload "
	                     "received. Unknown name \\\"additionalProperties\\\" at 'tools[0]."
	                     "function_declarations[0].parameters': Cannot find field.\","
	                     "\"status\":\"INVALID_ARGUMENT\"}}";
	const char *key = "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a "
	                  "valid API key.\",\"status\":\"INVALID_ARGUMENT\"}}";
	struct llm_error e;

	(void)state;
	gemini_provider.classify(429, quota, strlen(quota), 0, LLM_VENDOR_GENERIC, &e);
	assert_true(e.retryable);
	assert_int_equal(e.retry_after_ms, 31000);
	gemini_provider.classify(400, schema, strlen(schema), 0, LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, LLM_DG_STRIP_SCHEMA);
	gemini_provider.classify(400, schema, strlen(schema), LLM_DG_STRIP_SCHEMA,
	                         LLM_VENDOR_GENERIC, &e);
	assert_int_equal(e.downgrade, 0);
	gemini_provider.classify(400, key, strlen(key), 0, LLM_VENDOR_GENERIC, &e);
	assert_true(e.fatal_for_route);
	assert_int_equal(e.downgrade, 0);
}

static void base_urls_are_normalised(void **state)
{
	char out[256];

	(void)state;
	gemini_provider.normalize("https://generativelanguage.googleapis.com", LLM_VENDOR_GENERIC,
	                          out, sizeof(out));
	assert_string_equal(out, "https://generativelanguage.googleapis.com/v1beta");
	gemini_provider.normalize("https://generativelanguage.googleapis.com/v1beta/models/x:"
	                          "generateContent",
	                          LLM_VENDOR_GENERIC, out, sizeof(out));
	assert_string_equal(out, "https://generativelanguage.googleapis.com/v1beta");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_function_call_ends_with_stop_but_means_tool_calls),
		cmocka_unit_test(stream_separates_thoughts_text_and_a_signed_call),
		cmocka_unit_test(a_bare_multiline_error_in_the_stream_is_recovered),
		cmocka_unit_test(a_blocked_prompt_is_filtered),
		cmocka_unit_test(build_echoes_signatures_and_never_made_up_ids),
		cmocka_unit_test(strip_schema_keeps_the_openapi_subset_and_property_names),
		cmocka_unit_test(classify_reads_retry_info_and_schema_errors),
		cmocka_unit_test(base_urls_are_normalised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
