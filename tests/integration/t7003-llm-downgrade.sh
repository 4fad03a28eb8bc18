#!/bin/sh
test_description='a 400 naming a rejected parameter is fixed at once, logged once, and remembered for the model'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

test_expect_success PYTHON3 'start the mock' '
	llm_mock_start && llm_conf ""
'

test_expect_success PYTHON3 'max_tokens rejected: renamed to max_completion_tokens on the spot' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"qwen3\",\"reject_params\":[\"max_tokens\"],\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p local --json "x" >out 2>err &&
	test "$(json_get out .text)" = ok &&
	llm_mock_requests req &&
	test "$(json_get req "len(d)")" = 2 &&
	test "$(json_get req "\"max_tokens\" in d[0][\"body\"]")" = true &&
	test "$(json_get req .1.body.max_completion_tokens)" = 4096 &&
	test "$(json_get req "\"max_tokens\" in d[1][\"body\"]")" = false &&
	test "$(grep -c "rejected a parameter" err)" = 1 &&
	grep -q "local/qwen3 rejected a parameter (Unsupported parameter: .max_tokens. is not supported with this model. Use .max_completion_tokens. instead.): retrying with .swap max_tokens/max_completion_tokens., remembered for this model" err
'

test_expect_success PYTHON3 '... and the next call sends the corrected request first time' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"qwen3\",\"reject_params\":[\"max_tokens\"],\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p local --json "x" >out 2>err &&
	llm_mock_requests req &&
	test "$(json_get req "len(d)")" = 1 &&
	test "$(json_get req .0.body.max_completion_tokens)" = 4096 &&
	! grep -q "rejected a parameter" err
'

cat >temp.json <<'JSON'
{"messages": [{"role": "user", "content": "x"}], "temperature": 0.2}
JSON

test_expect_success PYTHON3 'temperature rejected by a reasoning model: dropped, then remembered' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"o3\",\"reject_params\":[\"temperature\"],\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p reasoner --json --request "$TRASH/temp.json" >out 2>err &&
	test "$(json_get out .text)" = ok &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 2 &&
	test "$(json_get req .0.body.temperature)" = 0.2 &&
	test "$(json_get req "\"temperature\" in d[1][\"body\"]")" = false &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"o3\",\"reject_params\":[\"temperature\"],\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p reasoner --json --request "$TRASH/temp.json" >out 2>err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 1 &&
	test "$(json_get req "\"temperature\" in d[0][\"body\"]")" = false &&
	"$RELAY" model list -c relay.conf >list &&
	grep -q "o3 \[drop temperature\]" list &&
	grep -q "^local" list
'

test_expect_success PYTHON3 'the downgrade is per model: gpt-4o still gets its temperature' '
	llm_mock_script "{\"rules\":[]}" &&
	"$RELAY" llm ask -c relay.conf --json --request "$TRASH/temp.json" >out &&
	llm_mock_requests req && test "$(json_get req .0.body.temperature)" = 0.2
'

cat >tools.json <<'JSON'
{"messages": [{"role": "user", "content": "x"}],
 "tools": [{"name": "query_logs", "parameters": {"type": "object", "additionalProperties": false,
            "properties": {"q": {"type": "string"}}, "required": ["q"]}}],
 "tool_choice": "required"}
JSON

test_expect_success PYTHON3 'tool_choice other than auto rejected (GLM style): resent with auto' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"qwen3\",\"reject_params\":[\"tool_choice\"],\"steps\":[{\"type\":\"tool_call\",\"name\":\"query_logs\",\"arguments\":{\"q\":\"5xx\"}}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p local --json --request "$TRASH/tools.json" >out 2>err &&
	test "$(json_get out .tool_calls.0.arguments.q)" = 5xx &&
	llm_mock_requests req &&
	test "$(json_get req .0.body.tool_choice)" = required &&
	test "$(json_get req .1.body.tool_choice)" = auto
'

test_expect_success PYTHON3 'Gemini rejects JSON-Schema keywords: parameters stripped to its subset' '
	llm_mock_script "{\"rules\":[{\"provider\":\"gemini\",\"strict_schema\":true,\"steps\":[{\"type\":\"tool_call\",\"name\":\"query_logs\",\"arguments\":{\"q\":\"oom\"}}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p classify --json --request "$TRASH/tools.json" >out 2>err &&
	test "$(json_get out .tool_calls.0.arguments.q)" = oom &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 2 &&
	test "$(json_get req "\"additionalProperties\" in d[1][\"body\"][\"tools\"][0][\"functionDeclarations\"][0][\"parameters\"]")" = false &&
	test "$(json_get req .1.body.toolConfig.functionCallingConfig.mode)" = ANY &&
	grep -q "strip unsupported schema keywords" err
'

cat >reasoning.json <<'JSON'
{"messages": [
  {"role": "user", "content": "Why 5xx?"},
  {"role": "assistant", "content": null, "reasoning": "metrics first",
   "tool_calls": [{"id": "call_1", "name": "query_metrics", "arguments": {"expr": "up"}}]},
  {"role": "tool", "tool_call_id": "call_1", "name": "query_metrics", "content": "1"}]}
JSON

test_expect_success PYTHON3 'a thinking model that wants reasoning_content back gets it' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"qwen3\",\"require_reasoning_back\":true,\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p local --json --request "$TRASH/reasoning.json" >out 2>err &&
	test "$(json_get out .text)" = ok &&
	llm_mock_requests req &&
	test "$(json_get req .1.body.messages.1.reasoning_content)" = "metrics first"
'

test_expect_success PYTHON3 'Anthropic: temperature and top_p together: top_p dropped' '
	printf "%s\n" "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":0.3,\"top_p\":0.9}" >both.json &&
	llm_mock_script "{\"rules\":[{\"provider\":\"anthropic\",\"reject_params\":[\"temperature\"],\"steps\":[{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p summarize --json --request "$TRASH/both.json" >out 2>err &&
	llm_mock_requests req &&
	test "$(json_get req "\"top_p\" in d[1][\"body\"]")" = false &&
	test "$(json_get req .1.body.temperature)" = 0.3
'

test_expect_success PYTHON3 'a server without native tools is a dead end for this route, not a loop' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"model\":\"qwen3\",\"steps\":[{\"type\":\"error\",\"status\":400,\"message\":\"\\\"auto\\\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set\"}]}]}" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf -p local --request "$TRASH/tools.json" 2>err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 1 &&
	grep -q "enable-auto-tool-choice" err
'

test_done
