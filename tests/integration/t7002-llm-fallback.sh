#!/bin/sh
test_description='retries honour retry-after, then the next route; fatal errors fall back at once; mid-stream errors and timeouts'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

now_ms() { "$PY" -c 'import time; print(int(time.time() * 1000))'; }

test_expect_success PYTHON3 'start the mock' '
	llm_mock_start && llm_conf ""
'

test_expect_success PYTHON3 '429 with retry-after is retried twice, then the fallback answers' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":429,\"retry_after\":\"1\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"from the fallback\"}]}]}" &&
	t0=$(now_ms) &&
	"$RELAY" llm ask -c relay.conf --json "x" >out 2>err &&
	t1=$(now_ms) &&
	test "$(json_get out .text)" = "from the fallback" &&
	test "$(json_get out .provider)" = claude &&
	test "$(json_get out .attempts)" = 4 &&
	llm_mock_requests req &&
	test "$(llm_mock_count req openai)" = 3 &&
	test "$(llm_mock_count req anthropic)" = 1 &&
	# two waits of retry-after: 1 s each, and not much more
	test $((t1 - t0)) -ge 2000 && test $((t1 - t0)) -lt 10000 &&
	# the gaps between the 429s are the retry-after, not the backoff
	json_get req "all(1.0 <= d[i+1][\"time\"] - d[i][\"time\"] < 3.0 for i in range(2))" >gaps &&
	test "$(cat gaps)" = true &&
	test "$(grep -c "retrying in 1.0s" err)" = 2 &&
	test "$(grep -c "falling back to claude/claude-sonnet-4-5" err)" = 1
'

test_expect_success PYTHON3 'retry-after-ms wins over retry-after' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":429,\"retry_after\":\"30\",\"retry_after_ms\":\"200\"},{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	t0=$(now_ms) && "$RELAY" llm ask -c relay.conf --json "x" >out 2>err && t1=$(now_ms) &&
	test "$(json_get out .provider)" = oai &&
	test $((t1 - t0)) -lt 10000 && grep -q "retrying in 0.2s" err
'

test_expect_success PYTHON3 'a retry-after above llm.max_retry_wait moves to the next route at once' '
	llm_conf "max_retry_wait = \"5s\";" &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":429,\"retry_after\":\"120\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"fb\"}]}]}" &&
	t0=$(now_ms) && "$RELAY" llm ask -c relay.conf --json "x" >out 2>err && t1=$(now_ms) &&
	test "$(json_get out .provider)" = claude && test $((t1 - t0)) -lt 10000 &&
	grep -q "asks to wait 120.0s, more than llm.max_retry_wait" err &&
	llm_conf ""
'

test_expect_success PYTHON3 'Anthropic 529 overloaded is retried on the same route' '
	llm_mock_script "{\"rules\":[{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"error\",\"status\":529,\"retry_after\":\"0.1\"},{\"type\":\"text\",\"text\":\"second time lucky\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf -p summarize --json "x" >out 2>err &&
	test "$(json_get out .text)" = "second time lucky" && test "$(json_get out .attempts)" = 2 &&
	grep -q "HTTP 529: Overloaded, retrying" err
'

test_expect_success PYTHON3 'Gemini RESOURCE_EXHAUSTED honours RetryInfo.retryDelay' '
	llm_mock_script "{\"rules\":[{\"provider\":\"gemini\",\"steps\":[{\"type\":\"error\",\"status\":429,\"retry_delay\":\"1s\"},{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	t0=$(now_ms) && "$RELAY" llm ask -c relay.conf -p classify --json "x" >out 2>err && t1=$(now_ms) &&
	test "$(json_get out .attempts)" = 2 && test $((t1 - t0)) -ge 1000 &&
	grep -q "retrying in 1.0s" err
'

test_expect_success PYTHON3 '5xx without retry-after backs off exponentially' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":500},{\"type\":\"error\",\"status\":503},{\"type\":\"text\",\"text\":\"ok\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf --json "x" >out 2>err &&
	test "$(json_get out .provider)" = oai && test "$(json_get out .attempts)" = 3 &&
	llm_mock_requests req &&
	json_get req "0.3 <= d[1][\"time\"] - d[0][\"time\"] and 0.7 <= d[2][\"time\"] - d[1][\"time\"]" >gaps &&
	test "$(cat gaps)" = true
'

test_expect_success PYTHON3 'insufficient_quota is not retried: straight to the fallback' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":429,\"code\":\"insufficient_quota\",\"retry_after\":\"1\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"fb\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf --json "x" >out 2>err &&
	test "$(json_get out .provider)" = claude &&
	llm_mock_requests req && test "$(llm_mock_count req openai)" = 1 &&
	grep -q "exceeded your current quota" err
'

test_expect_success PYTHON3 'x-should-retry: false is obeyed' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":500,\"should_retry\":\"false\"}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"fb\"}]}]}" &&
	"$RELAY" llm ask -c relay.conf --json "x" >out 2>err &&
	llm_mock_requests req && test "$(llm_mock_count req openai)" = 1
'

for prov in openai:investigate anthropic:summarize gemini:classify; do
	p=${prov%%:*} purpose=${prov#*:}
	test_expect_success PYTHON3 "$p: a mid-stream error before any text is retried" '
		llm_mock_script "{\"rules\":[{\"provider\":\"'$p'\",\"steps\":[{\"type\":\"midstream_error\"},{\"type\":\"text\",\"text\":\"recovered\"}]}]}" &&
		"$RELAY" llm ask -c relay.conf -p '$purpose' "x" >out 2>err &&
		echo recovered >expect && test_cmp expect out &&
		llm_mock_requests req && test "$(llm_mock_count req '$p')" = 2
	'
done

test_expect_success PYTHON3 'a mid-stream error after text was streamed fails clearly, without a repeat' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"midstream_error\",\"text_before\":\"The gateway\"}]}]}" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf "x" >out 2>err &&
	grep -q "The gateway" out &&
	grep -q "the response broke off after text was streamed: oai/gpt-4o: The server had an error" err &&
	llm_mock_requests req && test "$(llm_mock_count req openai)" = 1
'

test_expect_success PYTHON3 'a server that never answers times out, is retried, then falls back' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"hang\",\"seconds\":30}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"text\",\"text\":\"fb\"}]}]}" &&
	llm_conf "timeout = \"1s\"; retries = 1;" &&
	t0=$(now_ms) && "$RELAY" llm ask -c relay.conf --json "x" >out 2>err && t1=$(now_ms) &&
	test "$(json_get out .provider)" = claude &&
	test $((t1 - t0)) -lt 20000 && grep -q "oai/gpt-4o: timed out, retrying" err
'

test_expect_success PYTHON3 'when every route fails the last error is named and the exit is 1' '
	llm_conf "" &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"error\",\"status\":401}]},{\"provider\":\"anthropic\",\"steps\":[{\"type\":\"error\",\"status\":404,\"message\":\"model: claude-sonnet-4-5 not found\"}]}]}" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf "x" 2>err &&
	grep -q "every route for purpose .investigate. failed; last: claude/claude-sonnet-4-5: HTTP 404: model: claude-sonnet-4-5 not found" err &&
	llm_mock_requests req && test "$(json_get req "len(d)")" = 2
'

test_expect_success 'a refused connection is retried and reported' '
	port=$(free_port) &&
	cat >dead.conf <<-CONF &&
	data_dir = "$TRASH/data";
	llm = { retries = 1; providers = ( { name = "x"; kind = "openai-compatible"; base_url = "http://127.0.0.1:$port"; } );
	        routes = { investigate = [ "x/m" ]; }; };
	CONF
	test_expect_code 1 "$RELAY" llm ask -c dead.conf "x" 2>err &&
	grep -q "x/m: .*[Cc]onnect.*, retrying" err &&
	grep -q "every route for purpose .investigate. failed" err
'

test_done
