#!/bin/sh
test_description='a running relay answers llm.request from an edge through the router; model use, budgets and relay.conf re-read on SIGHUP reach it without a restart'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

call() { # PAYLOAD: one llm.request from edge web-1, the reply as one JSON line in $TRASH/reply
	edgepy call "$URL" "$(key_get web-1 access_key)" "$(key_get web-1 secret_key)" web-1 \
		llm.request "$1" >"$TRASH/reply"
}

test_expect_success PYTHON3 'start the mock and a relay whose llm section points at it' '
	llm_mock_start && relay_setup &&
	LLM_CONF_FILE=llm.part llm_conf "budget = { incident_tokens = 30; };" &&
	sed -n "/^llm = {/,\$p" llm.part >>"$TRASH/relay.conf" &&
	key_create web-1 && relay_start &&
	grep -q "llm router: 4 providers, 5 routes" relay.log &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"tool_call\",\"name\":\"query_metrics\",\"arguments\":{\"expr\":\"up\"}}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"from claude\"}]}]}"
'

test_expect_success PYTHON3 'llm.request returns the neutral response, tool calls included' '
	call "{\"purpose\":\"investigate\",\"incident\":\"inc-1\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"why?\"}],\"tools\":[{\"name\":\"query_metrics\",\"parameters\":{\"type\":\"object\"}}]}}" &&
	test "$(json_get reply .ok)" = true &&
	test "$(json_get reply .payload.provider)" = oai &&
	test "$(json_get reply .payload.tool_calls.0.arguments.expr)" = up &&
	"$RELAY" llm usage -c "$TRASH/relay.conf" --incident inc-1 --json >u &&
	test "$(json_get u .0.edge)" = web-1
'

test_expect_success PYTHON3 'model use on the CLI changes the next call of the running relay' '
	"$RELAY" model use -c "$TRASH/relay.conf" investigate claude/claude-sonnet-4-5 >/dev/null &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .payload.text)" = "from claude" &&
	"$RELAY" model reset -c "$TRASH/relay.conf" investigate >/dev/null
'

test_expect_success PYTHON3 'retries and fallbacks happen on the relay loop' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":429,\"retry_after\":\"0.5\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"fallback\"}]}]}" &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .payload.text)" = fallback &&
	test "$(json_get reply .payload.attempts)" = 4 &&
	grep -q "falling back to claude/claude-sonnet-4-5" relay.log
'

test_expect_success PYTHON3 'when every route fails the edge gets unavailable with the last error' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":401}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"error\",\"status\":403,\"message\":\"region not allowed\"}]}]}" &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .code)" = unavailable &&
	grep -q "last: claude/claude-sonnet-4-5: HTTP 403: region not allowed" reply &&
	grep -q "llm.request from .web-1. (purpose .investigate.) failed" relay.log
'

test_expect_success PYTHON3 'an investigation over its budget gets budget_exhausted' '
	llm_mock_script "{\"rules\":[]}" &&
	call "{\"purpose\":\"investigate\",\"incident\":\"inc-7\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	call "{\"purpose\":\"investigate\",\"incident\":\"inc-7\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	call "{\"purpose\":\"investigate\",\"incident\":\"inc-7\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .ok)" = false &&
	test "$(json_get reply .code)" = budget_exhausted &&
	grep -q "investigation .inc-7. reached its LLM token budget" reply
'

test_expect_success PYTHON3 'bad requests are bad_request and name the field' '
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .code)" = bad_request &&
	grep -q "messages\[0\].role" reply &&
	call "{\"purpose\":\"nosuch\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .code)" = bad_request &&
	grep -q "no LLM route for purpose" reply
'

test_expect_success PYTHON3 'SIGHUP re-reads relay.conf: the next call takes the new route, no restart' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"from gpt\"}]},{\"provider\":\"gemini\",\"steps\":[{\"type\":\"text\",\"text\":\"from gemini\"}]}]}" &&
	pid=$(cat relay.pid) &&
	cp relay.conf relay.conf.orig &&
	sed -i "s|investigate = \[ \"oai/gpt-4o\", \"claude/claude-sonnet-4-5\" \];|investigate = [ \"gem/gemini-2.5-flash\" ];|" relay.conf &&
	grep -q "investigate = \[ \"gem/gemini-2.5-flash\" \];" relay.conf &&
	kill -HUP $pid &&
	wait_for 10 "grep -q \"reloaded: llm router now has 4 providers, 5 routes\" relay.log" &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .payload.text)" = "from gemini" &&
	"$RELAY" model list -c relay.conf >out && grep -q "^investigate  *config  *gem/gemini-2.5-flash$" out &&
	kill -0 $pid && test "$(cat relay.pid)" = $pid
'

test_expect_success PYTHON3 'a relay.conf that does not load changes nothing and says why' '
	pid=$(cat relay.pid) &&
	cp relay.conf relay.conf.good &&
	echo "llm = { routes = { investigate = [ \"nosuch/model\" ]; }; };" >>relay.conf &&
	kill -HUP $pid &&
	wait_for 10 "grep -q \"reload failed: the configuration does not load\" relay.log" &&
	grep -q "relay.conf:[0-9]*: duplicate setting name" relay.log &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .payload.text)" = "from gemini" &&
	cp relay.conf.good relay.conf &&
	sed -i "s|gem/gemini-2.5-flash\" \];|nosuch/model\" ];|" relay.conf &&
	kill -HUP $pid &&
	wait_for 10 "test \$(grep -c \"reload failed\" relay.log) = 2" &&
	grep -q "relay.conf:[0-9]*: llm.routes.investigate: unknown provider .nosuch." relay.log &&
	call "{\"purpose\":\"investigate\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}" &&
	test "$(json_get reply .payload.text)" = "from gemini" &&
	kill -0 $pid
'

test_done
