#!/bin/sh
test_description='llm ask reaches OpenAI, Anthropic, Gemini and an OpenAI-compatible server in their own wire formats, streamed and whole, with tool calls'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

test_expect_success PYTHON3 'start the mock and write relay.conf' '
	llm_mock_start && llm_conf "" && "$RELAY" config -c relay.conf --check
'

test_expect_success PYTHON3 'OpenAI: streamed text, Bearer key, /v1/chat/completions' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"The gateway is fine, 0.12 errors/s.\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf "why 5xx?" >out 2>err &&
	echo "The gateway is fine, 0.12 errors/s." >expect && test_cmp expect out &&
	grep -q "^# oai/gpt-4o: 12 input + 5 output tokens" err &&
	llm_mock_requests req &&
	test "$(json_get req .0.path)" = /v1/chat/completions &&
	test "$(json_get req .0.headers.authorization)" = "Bearer sk-test-1" &&
	test "$(json_get req .0.body.stream)" = true &&
	test "$(json_get req .0.body.stream_options.include_usage)" = true &&
	test "$(json_get req .0.body.messages.0.content)" = "why 5xx?"
'

test_expect_success PYTHON3 'Anthropic: x-api-key from api_key_env, anthropic-version, /v1/messages' '
	llm_mock_script "{\"rules\":[{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"Looks like a bad deploy at 14:02.\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p summarize --system "You are ongrid." "summarise" >out &&
	echo "Looks like a bad deploy at 14:02." >expect && test_cmp expect out &&
	llm_mock_requests req &&
	test "$(json_get req .0.path)" = /v1/messages &&
	test "$(json_get req .0.headers.x-api-key)" = ak-test-2 &&
	test "$(json_get req .0.headers.anthropic-version)" = 2023-06-01 &&
	test "$(json_get req .0.body.system)" = "You are ongrid." &&
	test "$(json_get req .0.body.max_tokens)" = 4096
'

test_expect_success PYTHON3 'Gemini: x-goog-api-key, streamGenerateContent?alt=sse, systemInstruction' '
	llm_mock_script "{\"rules\":[{\"provider\":\"gemini\",\"steps\":[{\"type\":\"text\",\"text\":\"classified as: disk\",\"reasoning\":\"disk full\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p classify --system "Classify." "disk at 100%" >out &&
	echo "classified as: disk" >expect && test_cmp expect out &&
	llm_mock_requests req &&
	test "$(json_get req .0.path)" = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" &&
	test "$(json_get req .0.headers.x-goog-api-key)" = g-key &&
	test "$(json_get req .0.body.systemInstruction.parts.0.text)" = Classify. &&
	test "$(json_get req .0.body.contents.0.role)" = user
'

test_expect_success PYTHON3 'OpenAI-compatible without a key: no Authorization header, max_tokens' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"keepalive\":true,\"whole_tool_calls\":true,\"steps\":[{\"type\":\"text\",\"text\":\"local answer\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p local --json "hi" >out &&
	test "$(json_get out .text)" = "local answer" &&
	llm_mock_requests req &&
	test "$(json_get req "\"authorization\" in d[0][\"headers\"]")" = false &&
	test "$(json_get req .0.body.max_tokens)" = 4096
'

cat >req.json <<'JSON'
{"system": "You are ongrid.",
 "messages": [{"role": "user", "content": "Why is api-gateway throwing 5xx?"}],
 "tools": [{"name": "query_metrics", "description": "Run PromQL on the edge",
            "parameters": {"type": "object", "properties": {"expr": {"type": "string"}},
                           "required": ["expr"]}}],
 "tool_choice": "auto", "stream": true}
JSON

for p in openai:investigate anthropic:summarize gemini:classify; do
	prov=${p%%:*} purpose=${p#*:}
	test_expect_success PYTHON3 "$prov: a streamed tool call comes back whole with its arguments" '
		llm_mock_script "{\"rules\":[{\"provider\":\"'$prov'\",\"steps\":[{\"type\":\"tool_call\",\"name\":\"query_metrics\",\"arguments\":{\"expr\":\"rate(http_5xx[5m])\"},\"id\":\"call_7\"}]}]}" &&
		"$RELAY" llm ask -c relay.conf -p '$purpose' --json --request "$TRASH/req.json" >out &&
		test "$(json_get out .stop)" = tool_calls &&
		test "$(json_get out .tool_calls.0.name)" = query_metrics &&
		test "$(json_get out .tool_calls.0.id)" = call_7 &&
		test "$(json_get out .tool_calls.0.arguments.expr)" = "rate(http_5xx[5m])"
	'
done

cat >history.json <<'JSON'
{"messages": [
  {"role": "user", "content": "Why 5xx?"},
  {"role": "assistant", "content": null, "reasoning": "check metrics first",
   "reasoning_signature": "EqQBCg",
   "tool_calls": [{"id": "toolu_1", "name": "query_metrics", "arguments": {"expr": "up"},
                   "signature": "c2ln"}]},
  {"role": "tool", "tool_call_id": "toolu_1", "name": "query_metrics", "content": "0.12"}],
 "tools": [{"name": "query_metrics", "parameters": {"type": "object"}}]}
JSON

test_expect_success PYTHON3 'tool results and reasoning go back in each provider'"'"'s shape' '
	llm_mock_script "{\"rules\":[]}" &&
	"$RELAY" llm ask -c relay.conf -p summarize --json --request "$TRASH/history.json" >/dev/null &&
	"$RELAY" llm ask -c relay.conf -p classify --json --request "$TRASH/history.json" >/dev/null &&
	llm_mock_requests req &&
	test "$(json_get req .0.body.messages.1.content.0.type)" = thinking &&
	test "$(json_get req .0.body.messages.1.content.0.signature)" = EqQBCg &&
	test "$(json_get req .0.body.messages.2.content.0.type)" = tool_result &&
	test "$(json_get req .0.body.messages.2.content.0.tool_use_id)" = toolu_1 &&
	test "$(json_get req .1.body.contents.1.parts.0.thoughtSignature)" = c2ln &&
	test "$(json_get req .1.body.contents.2.parts.0.functionResponse.response.output)" = 0.12
'

test_expect_success PYTHON3 'a provider without its key is skipped with the variable named' '
	llm_mock_script "{\"rules\":[]}" &&
	T_ANTHROPIC_KEY= test_expect_code 1 "$RELAY" llm ask -c relay.conf -p summarize "x" 2>err &&
	grep -q "provider .claude. has no API key (variable .T_ANTHROPIC_KEY. is unset or empty)" err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 0
'

test_expect_success PYTHON3 'a purpose without a route is bad usage (2) and says how to add one' '
	test_expect_code 2 "$RELAY" llm ask -c relay.conf -p nosuch "x" 2>err &&
	grep -q "no LLM route for purpose .nosuch." err
'

test_expect_success 'config errors name file, line and the setting' '
	cat >bad1.conf <<-\CONF &&
	llm = {
	  providers = ( { name = "a"; kind = "openai"; api_kee = "x"; } );
	};
	CONF
	test_expect_code 2 "$RELAY" config -c bad1.conf --check 2>err &&
	grep -q "bad1.conf:2: llm.providers\[\]: unknown key .api_kee." err &&
	cat >bad2.conf <<-\CONF &&
	llm = {
	  providers = ( { name = "a"; kind = "openai"; } );
	  routes = {
	    investigate = [ "a/gpt-4o", "opnai/gpt-4o" ];
	  };
	};
	CONF
	test_expect_code 2 "$RELAY" config -c bad2.conf --check 2>err &&
	grep -q "bad2.conf:4: llm.routes.investigate: unknown provider .opnai." err &&
	cat >bad3.conf <<-\CONF &&
	llm = { providers = ( { name = "a"; kind = "openai-compatible"; } ); };
	CONF
	test_expect_code 2 "$RELAY" config -c bad3.conf --check 2>err &&
	grep -q "llm.providers.a.base_url: required for kind openai-compatible" err &&
	cat >bad4.conf <<-\CONF &&
	llm = { providers = ( { name = "a"; kind = "grok"; base_url = "http://x"; } ); };
	CONF
	test_expect_code 2 "$RELAY" config -c bad4.conf --check 2>err &&
	grep -q "llm.providers.a.kind: expected anthropic, openai, openai-compatible, gemini or auto, got .grok." err
'

test_expect_success PYTHON3 'kind auto: the wire format of a gateway is told by its URL' '
	cat >auto.conf <<-CONF &&
	data_dir = "$TRASH/data";
	llm = {
	  providers = (
	    { name = "gw-a"; kind = "auto"; base_url = "$MOCK_URL/anthropic"; api_key = "k"; },
	    { name = "gw-g"; kind = "auto"; base_url = "$MOCK_URL/v1beta"; api_key = "k"; },
	    { name = "gw-o"; kind = "auto"; base_url = "$MOCK_URL/gw"; }
	  );
	  routes = { a = [ "gw-a/claude-x" ]; g = [ "gw-g/gemini-x" ]; o = [ "gw-o/m" ]; };
	};
	CONF
	llm_mock_script "{\"rules\":[]}" &&
	"$RELAY" llm ask -c auto.conf -p a x >/dev/null &&
	"$RELAY" llm ask -c auto.conf -p g x >/dev/null &&
	llm_mock_requests req &&
	test "$(json_get req .0.path)" = /anthropic/v1/messages &&
	test "$(json_get req .1.path)" = "/v1beta/models/gemini-x:streamGenerateContent?alt=sse"
'

test_expect_success PYTHON3 'a base URL missing its /v1 is found on a 404, and remembered' '
	llm_mock_script "{\"prefix\":\"/gw/v1\",\"rules\":[]}" &&
	"$RELAY" llm ask -c auto.conf -p o x >out 2>err &&
	echo ok >expect && test_cmp expect out &&
	llm_mock_requests req &&
	test "$(json_get req .0.path)" = /gw/chat/completions &&
	test "$(json_get req .1.path)" = /gw/v1/chat/completions &&
	grep -q "toggle /v1 in the base URL" err &&
	llm_mock_script "{\"prefix\":\"/gw/v1\",\"rules\":[]}" &&
	"$RELAY" llm ask -c auto.conf -p o x >out 2>err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 1 &&
	test "$(json_get req .0.path)" = /gw/v1/chat/completions
'

test_expect_success PYTHON3 'config prints providers without their keys' '
	"$RELAY" config -c relay.conf --json >out &&
	test "$(json_get out "d[\"llm.providers\"][0][\"api_key\"]")" = "(set)" &&
	! grep -q sk-test-1 out &&
	"$RELAY" config -c relay.conf >out.conf && ! grep -q sk-test-1 out.conf &&
	grep -q "investigate = \[\"oai/gpt-4o\", \"claude/claude-sonnet-4-5\"\];" out.conf
'

test_done
