#!/bin/sh
test_description='model list shows routes; model use switches a purpose for the next call of a running router, model reset returns to relay.conf'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

test_expect_success PYTHON3 'start the mock' '
	llm_mock_start && llm_conf "" &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"from gpt\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"from claude\"}]},{\"provider\":\"gemini\",\"steps\":[{\"type\":\"text\",\"text\":\"from gemini\"}]}]}"
'

test_expect_success PYTHON3 'model list shows each purpose, its fallbacks and where it comes from' '
	"$RELAY" model list -c relay.conf >out &&
	grep -q "^investigate  *config  *oai/gpt-4o, claude/claude-sonnet-4-5$" out &&
	grep -q "^claude  *anthropic  *set  *claude-sonnet-4-5$" out &&
	T_ANTHROPIC_KEY= "$RELAY" model list -c relay.conf >out &&
	grep -q "^claude  *anthropic  *missing" out &&
	"$RELAY" model list -c relay.conf --json >out.json &&
	test "$(json_get out.json .routes.0.purpose)" = investigate &&
	test "$(json_get out.json .routes.0.source)" = config
'

test_expect_success PYTHON3 'model use puts a model first and keeps the fallbacks' '
	"$RELAY" model use -c relay.conf investigate claude/claude-sonnet-4-5 >out &&
	grep -q "^investigate: claude/claude-sonnet-4-5, oai/gpt-4o (override;" out &&
	"$RELAY" model list -c relay.conf --json >out.json &&
	test "$(json_get out.json .routes.0.source)" = override &&
	test "$(json_get out.json .routes.0.targets)" = "[\"claude/claude-sonnet-4-5\", \"oai/gpt-4o\"]" &&
	"$RELAY" llm ask -c relay.conf --json x >out && test "$(json_get out .text)" = "from claude"
'

test_expect_success PYTHON3 'a running router picks up model use on its next call' '
	"$RELAY" model reset -c relay.conf investigate >/dev/null &&
	"$RELAY" llm ask -c relay.conf --repeat 2 --interval 5s x >answers 2>err &
	pid=$! &&
	wait_for 10 "grep -q \"from gpt\" answers" &&
	"$RELAY" model use -c relay.conf investigate gem/gemini-2.5-flash --only >/dev/null &&
	wait $pid &&
	printf "from gpt\nfrom gemini\n" >expect && test_cmp expect answers
'

test_expect_success PYTHON3 'a purpose that only an override names works too' '
	"$RELAY" model use -c relay.conf triage oai/o3 >/dev/null &&
	"$RELAY" llm ask -c relay.conf -p triage --json x >out &&
	test "$(json_get out .model)" = o3 &&
	"$RELAY" model list -c relay.conf >out && grep -q "^triage  *override  *oai/o3$" out
'

test_expect_success PYTHON3 'model reset returns to relay.conf' '
	"$RELAY" model reset -c relay.conf investigate >out &&
	grep -q "back to relay.conf" out &&
	"$RELAY" llm ask -c relay.conf --json x >out && test "$(json_get out .text)" = "from gpt"
'

test_expect_success 'bad model use is bad usage (2) and says what exists' '
	test_expect_code 2 "$RELAY" model use -c relay.conf investigate opnai/gpt-4o 2>err &&
	grep -q "unknown provider .opnai. (llm.providers has: oai claude gem local)" err &&
	test_expect_code 2 "$RELAY" model use -c relay.conf investigate oai/gpt-5 2>err &&
	grep -q "provider .oai. lists no model .gpt-5. (it has: gpt-4o o3)" err &&
	test_expect_code 2 "$RELAY" model use -c relay.conf investigate gpt-4o 2>err &&
	grep -q "expected PROVIDER/MODEL, got .gpt-4o." err &&
	test_expect_code 2 "$RELAY" model frob 2>err && grep -q "^usage:" err
'

test_done
