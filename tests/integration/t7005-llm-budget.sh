#!/bin/sh
test_description='token and cost accounting per edge, incident and purpose; daily and per-investigation caps stop a runaway loop'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

test_expect_success PYTHON3 'start the mock' '
	llm_mock_start &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"ok\",\"usage\":[1000,200]}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"ok\",\"usage\":[100,10]}]}]}"
'

# gpt-4o at $2.50/$10 per Mtok: 1000 in + 200 out = $0.0025 + $0.002 = $0.0045 a call.
test_expect_success PYTHON3 'cost is computed from the configured prices and recorded' '
	llm_conf "" &&
	"$RELAY" llm ask -c relay.conf --json --edge web-7 --incident inc-1 x >out &&
	test "$(json_get out .cost_usd)" = 0.0045 &&
	test "$(json_get out .usage.input_tokens)" = 1000 &&
	"$RELAY" llm ask -c relay.conf -p summarize --json --edge web-7 --incident inc-1 x >/dev/null &&
	"$RELAY" llm ask -c relay.conf --json --edge db-1 --incident inc-2 x >/dev/null &&
	"$RELAY" llm usage -c relay.conf --incident inc-1 --json >u &&
	test "$(json_get u "len(d)")" = 2 &&
	json_get u "sorted((r[\"edge\"], r[\"purpose\"], r[\"model\"], r[\"calls\"], r[\"input_tokens\"], r[\"output_tokens\"]) for r in d)" >rows &&
	echo "[[\"web-7\", \"investigate\", \"gpt-4o\", 1, 1000, 200], [\"web-7\", \"summarize\", \"claude-sonnet-4-5\", 1, 100, 10]]" >expect &&
	test_cmp expect rows &&
	"$RELAY" llm usage -c relay.conf >table &&
	grep -q "db-1 .*inc-2 .*investigate .*oai/gpt-4o .* 1 .* 1000 .* 200 .*0.0045" table
'

test_expect_success PYTHON3 'a per-investigation cap stops the loop with a clear message' '
	rm -rf data && llm_conf "budget = { incident_usd = 0.01; };" &&
	"$RELAY" llm ask -c relay.conf --incident inc-9 x >/dev/null 2>&1 &&
	"$RELAY" llm ask -c relay.conf --incident inc-9 x >/dev/null 2>&1 &&
	"$RELAY" llm ask -c relay.conf --incident inc-9 x >/dev/null 2>&1 &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"ok\",\"usage\":[1000,200]}]}]}" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf --incident inc-9 x 2>err &&
	grep -q "investigation .inc-9. reached its LLM budget: \$0.0135 spent, cap llm.budget.incident_usd = \$0.0100; stopping this investigation" err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 0 &&
	"$RELAY" llm ask -c relay.conf --incident inc-10 --json x >out &&
	test "$(json_get out .text)" = ok
'

test_expect_success PYTHON3 'a daily token cap stops every call for the day' '
	rm -rf data && llm_conf "budget = { day_tokens = 2000; };" &&
	"$RELAY" llm ask -c relay.conf x >/dev/null 2>&1 &&
	"$RELAY" llm ask -c relay.conf x >/dev/null 2>&1 &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf --incident other x 2>err &&
	grep -q "daily LLM token budget exhausted: 2400 tokens today (UTC), cap llm.budget.day_tokens = 2000" err
'

test_expect_success PYTHON3 'a daily spend cap' '
	rm -rf data && llm_conf "budget = { day_usd = 0.004; };" &&
	"$RELAY" llm ask -c relay.conf x >/dev/null 2>&1 &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf x 2>err &&
	grep -q "daily LLM budget exhausted: \$0.0045 spent today (UTC), cap llm.budget.day_usd = \$0.0040; raise it or wait for 00:00 UTC" err
'

test_expect_success PYTHON3 'a running loop is stopped mid-way by the cap' '
	rm -rf data && llm_conf "budget = { incident_tokens = 3000; };" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf --incident loop --repeat 5 --interval 0 x >out 2>err &&
	test "$(grep -c "^ok$" out)" = 3 &&
	grep -q "investigation .loop. reached its LLM token budget: 3600 tokens" err
'

test_done
