#!/bin/sh
test_description='DingTalk, WeCom and Lark robots: every report is posted, signed as each robot checks, split to its limit, retried when rate-limited'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"

# tests/mock/webhook_mock.py verifies each robot's signature; reports come from
# `ongrid-relay ask` against tests/mock/edge_stub.py (a stand-in for the edge's agent).

hooks() { mock_get hooks _log "$TRASH/hooks.json"; json_get "$TRASH/hooks.json" "$1"; }

test_expect_success PYTHON3 'a relay with the three robots configured' '
	mock_start hooks webhook_mock.py &&
	H=http://127.0.0.1:$(mock_port hooks) &&
	relay_setup &&
	cat >>"$TRASH/relay.conf" <<-EOC &&
	chat: {
	  dingtalk: { webhook = "$H/robot/send?access_token=dt-token"; secret = "SECdingtalk-secret"; };
	  wecom: { webhook = "$H/cgi-bin/webhook/send?key=wk-1"; };
	  lark: { webhook = "$H/open-apis/bot/v2/hook/lk-token"; secret = "lark-secret"; };
	};
	EOC
	relay_start && stub_start web-1 --steps 1 --evidence 40
'

test_expect_success PYTHON3 'a report reaches all three, signed and accepted' '
	"$RELAY" ask -c "$TRASH/relay.conf" web-1 "why 502?" </dev/null >out &&
	wait_for 10 "test \$(hooks \"len(set(e[\\\"robot\\\"] for e in d if e[\\\"ok\\\"]))\") = 3" &&
	test "$(hooks "[e for e in d if not e[\"ok\"]]")" = "[]" &&
	test "$(hooks "[e for e in d if e[\"robot\"] == \"dingtalk\"][0][\"body\"][\"markdown\"][\"title\"]")" = "[ongrid] web-1: why 502?" &&
	hooks "[e for e in d if e[\"robot\"] == \"dingtalk\"][0][\"body\"][\"markdown\"][\"text\"]" | grep -q "\*\*Summary\*\*: nginx on web-1" &&
	hooks "[e for e in d if e[\"robot\"] == \"lark\"][0][\"body\"][\"content\"][\"text\"]" | grep -q "Root cause" &&
	hooks "[e[\"query\"][\"sign\"] for e in d if e[\"robot\"] == \"dingtalk\"][0]" | grep -q "%"
'

test_expect_success PYTHON3 'WeCom gets the long report in pieces under 4,096 bytes, nothing lost' '
	test "$(hooks "len([e for e in d if e[\"robot\"] == \"wecom\"]) >= 2")" = true &&
	hooks "[e[\"body\"][\"markdown\"][\"content\"] for e in d if e[\"robot\"] == \"wecom\"]" >parts &&
	test "$(json_get parts "max(len(p.encode()) for p in d) <= 4096")" = true &&
	test "$(json_get parts "all((\"item %d:\" % i) in \"\".join(d) for i in range(1, 41))")" = true
'

test_expect_success PYTHON3 'a rate-limited robot is retried' '
	mock_post hooks _flood "{\"robot\":\"lark\",\"count\":1}" >/dev/null &&
	n=$(hooks "len([e for e in d if e[\"robot\"] == \"lark\" and e[\"ok\"]])") &&
	"$RELAY" ask -c "$TRASH/relay.conf" web-1 "again?" </dev/null >out &&
	wait_for 10 "grep -q \"lark robot is rate-limiting\" \"$TRASH/relay.log\"" &&
	wait_for 15 "test \$(hooks \"len([e for e in d if e[\\\"robot\\\"] == \\\"lark\\\" and e[\\\"ok\\\"]])\") -gt $n"
'

test_expect_success PYTHON3 'a wrong secret is refused by the robot and logged with its message' '
	relay_kill9 &&
	sed -i "s/secret = \"SECdingtalk-secret\"/secret = \"SECwrong\"/" "$TRASH/relay.conf" &&
	relay_start && wait_for 15 "edge_connected web-1" &&
	"$RELAY" ask -c "$TRASH/relay.conf" web-1 "third?" </dev/null >out &&
	wait_for 10 "grep -q \"dingtalk robot refused the message: HTTP 200 sign not match\" \"$TRASH/relay.log\""
'

test_done
