#!/bin/sh
test_description='Telegram: mentions and replies start and continue incidents, progress edits, buttons with roles and double-sign, long reports split, 429 retry_after, offsets, proxy'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"

# The Bot API is tests/mock/telegram_mock.py (it validates HTML and lengths as Telegram
# does); the edges are tests/mock/edge_stub.py, a stand-in for the edge's agent that
# answers "investigate" with a fixed report. The relay is the real one.

GROUP=-1001234567890

update() { # a Telegram Update (without update_id)
	mock_post tg _update "$1" >/dev/null
}
msg() { # FROM_ID MSG_ID TEXT [EXTRA_JSON_FIELDS]
	update "{\"message\":{\"message_id\":$2,\"from\":{\"id\":$1,\"is_bot\":false,\"first_name\":\"u$1\",\"username\":\"u$1\"},\"chat\":{\"id\":$GROUP,\"type\":\"supergroup\"},\"date\":1700000000,\"text\":\"$3\"${4:+,$4}}}"
}
press() { # FROM_ID QUERY_ID MSG_ID DATA
	update "{\"callback_query\":{\"id\":\"$2\",\"from\":{\"id\":$1,\"is_bot\":false,\"first_name\":\"u$1\"},\"message\":{\"message_id\":$3,\"chat\":{\"id\":$GROUP,\"type\":\"supergroup\"},\"date\":1700000010,\"text\":\"x\"},\"chat_instance\":\"-88\",\"data\":\"$4\"}}"
}
tglog() { mock_get tg _log "$TRASH/tglog.json"; json_get "$TRASH/tglog.json" "$1"; }
tgmsgs() { mock_get tg _messages "$TRASH/tgmsgs.json"; json_get "$TRASH/tgmsgs.json" "$1"; }
ninv() { stub_log_get "len([x for x in d if x[\"type\"] == \"investigate\"])"; }
MENTION='"entities":[{"type":"mention","offset":0,"length":11}]'

test_expect_success PYTHON3 'start the Bot API mock, a relay with Telegram on, two edges' '
	mock_start tg telegram_mock.py &&
	relay_setup &&
	cat >>"$TRASH/relay.conf" <<-EOC &&
	chat: {
	  users = [ "telegram:111=admin", "telegram:222=viewer", "telegram:333=admin" ];
	  edit_interval = "300ms";
	  telegram: { token = "123:ABC"; api_base = "http://127.0.0.1:$(mock_port tg)";
	              allowed_chats = [ "$GROUP", "111" ]; poll_timeout = "2s"; };
	};
	approvals: { double_sign = true; };
	EOC
	relay_start &&
	wait_for 10 "grep -q \"connected as @ongrid_bot\" \"$TRASH/relay.log\"" &&
	stub_start web-1 --steps 4 --step-delay 0.5 && stub_start big-1 --evidence 90
'

test_expect_success PYTHON3 'a mention in a group starts an investigation; progress is edited in; the report replies to the question' '
	msg 111 42 "@ongrid_bot why is web-1 slow?" "$MENTION" &&
	wait_for 15 "test \$(ninv) = 1" &&
	test "$(stub_log_get "d[-1][\"payload\"][\"question\"]")" = "why is web-1 slow?" &&
	test "$(stub_log_get "d[-1][\"edge\"]")" = web-1 &&
	wait_for 15 "tgmsgs \"any(\\\"Summary\\\" in m[\\\"visible\\\"] for m in d.values())\" | grep -q true" &&
	first=$(tgmsgs "min(int(k) for k in d)") &&
	test "$(tgmsgs "d[\"$first\"][\"reply_to\"]")" = 42 &&
	test "$(tgmsgs "d[\"$first\"][\"edits\"] >= 2")" = true &&
	tgmsgs "d[\"$first\"][\"text\"]" >report &&
	grep -q "<b>Summary</b>: nginx on web-1 returns 502 because upstream api &lt;pool&gt; is exhausted &amp; queueing" report &&
	test "$(tglog "all(e[\"body\"].get(\"parse_mode\") == \"HTML\" for e in d if e[\"method\"] in (\"sendMessage\", \"editMessageText\"))")" = true &&
	test "$(tglog "[e[\"status\"] for e in d if e[\"method\"] in (\"sendMessage\", \"editMessageText\") and e[\"status\"] != 200]")" = "[]"
'

test_expect_success PYTHON3 'approve/deny buttons are an inline keyboard with short callback data' '
	wait_for 10 "tgmsgs \"any(m[\\\"reply_markup\\\"] for m in d.values())\" | grep -q true" &&
	btn=$(tgmsgs "[k for k, m in d.items() if m[\"reply_markup\"]][0]") &&
	test "$(tgmsgs "d[\"$btn\"][\"reply_markup\"][\"inline_keyboard\"][0][0][\"callback_data\"]")" = "ap:act-web-1-1" &&
	test "$(tgmsgs "d[\"$btn\"][\"reply_markup\"][\"inline_keyboard\"][0][1][\"callback_data\"]")" = "dn:act-web-1-1" &&
	echo "$btn" >btn
'

test_expect_success PYTHON3 'group chatter that does not address the bot is ignored' '
	msg 111 43 "web-1 is slow again, lunch?" &&
	sleep 3 && test "$(ninv)" = 1
'

test_expect_success PYTHON3 'a reply to the bot is a follow-up: same edge, same incident, with context' '
	first=$(tgmsgs "min(int(k) for k in d)") &&
	msg 111 44 "and since when?" "\"reply_to_message\":{\"message_id\":$first,\"from\":{\"id\":999,\"is_bot\":true,\"first_name\":\"ongrid\"},\"chat\":{\"id\":$GROUP,\"type\":\"supergroup\"},\"date\":1,\"text\":\"x\"}" &&
	wait_for 15 "test \$(ninv) = 2" &&
	test "$(stub_log_get "d[-1][\"payload\"][\"follow_up\"]")" = true &&
	test "$(stub_log_get "d[-1][\"payload\"][\"incident_id\"] == [x for x in d if x[\"type\"] == \"investigate\"][0][\"payload\"][\"incident_id\"]")" = true &&
	stub_log_get "d[-1][\"payload\"][\"context\"]" | grep -q "why is web-1 slow?" &&
	wait_for 15 "tgmsgs \"sum(1 for m in d.values() if m[\\\"reply_markup\\\"])\" | grep -q 2"
'

test_expect_success PYTHON3 'a viewer pressing approve is refused, told so and audited' '
	btn=$(cat btn) &&
	press 222 q1 "$btn" ap:act-web-1-1 &&
	wait_for 10 "tglog \"[e[\\\"body\\\"][\\\"text\\\"] for e in d if e[\\\"method\\\"] == \\\"answerCallbackQuery\\\" and e[\\\"body\\\"][\\\"callback_query_id\\\"] == \\\"q1\\\"]\" | grep -q Refused" &&
	audit_has chat.approval.refused "telegram:222 refused, role viewer may not (needs admin)" &&
	test "$(stub_log_get "len([x for x in d if x[\"type\"] == \"approval.decide\"])")" = 0
'

test_expect_success PYTHON3 'double-sign: the same admin twice is not enough; a second admin approves; the edge gets both names' '
	btn=$(cat btn) &&
	press 111 q2 "$btn" ap:act-web-1-1 &&
	wait_for 10 "audit_has chat.approval.first telegram:111" &&
	press 111 q3 "$btn" ap:act-web-1-1 &&
	wait_for 10 "audit_has chat.approval.same_user telegram:111" &&
	test "$(stub_log_get "len([x for x in d if x[\"type\"] == \"approval.decide\"])")" = 0 &&
	press 333 q4 "$btn" ap:act-web-1-1 &&
	wait_for 10 "test \$(stub_log_get \"len([x for x in d if x[\\\"type\\\"] == \\\"approval.decide\\\"])\") = 1" &&
	test "$(stub_log_get "[x for x in d if x[\"type\"] == \"approval.decide\"][0][\"payload\"][\"approvers\"]")" = "[\"telegram:111\", \"telegram:333\"]" &&
	test "$(stub_log_get "[x for x in d if x[\"type\"] == \"approval.decide\"][0][\"payload\"][\"decision\"]")" = approve &&
	wait_for 10 "audit_has chat.approval.approved \"by telegram:111 and telegram:333\"" &&
	wait_for 10 "tgmsgs \"d[\\\"$btn\\\"][\\\"reply_markup\\\"] is None and \\\"Approved\\\" in d[\\\"$btn\\\"][\\\"visible\\\"]\" | grep -q true" &&
	press 333 q5 "$btn" dn:act-web-1-1 &&
	wait_for 10 "tglog \"[e[\\\"body\\\"][\\\"text\\\"] for e in d if e[\\\"method\\\"] == \\\"answerCallbackQuery\\\" and e[\\\"body\\\"][\\\"callback_query_id\\\"] == \\\"q5\\\"]\" | grep -q \"already approved\""
'

test_expect_success PYTHON3 'an unknown user is told no and audited; a chat off the allowlist is ignored' '
	msg 444 50 "@ongrid_bot status" "$MENTION" &&
	wait_for 10 "tgmsgs \"any(\\\"not authorised\\\" in m[\\\"visible\\\"] for m in d.values())\" | grep -q true" &&
	audit_has chat.refused "user 444 is not authorised" &&
	update "{\"message\":{\"message_id\":7,\"from\":{\"id\":111,\"is_bot\":false,\"first_name\":\"a\"},\"chat\":{\"id\":-200,\"type\":\"group\"},\"date\":1,\"text\":\"@ongrid_bot why web-1\",$MENTION}}" &&
	wait_for 10 "audit_has chat.refused \"chat -200 is not in the allowlist\"" &&
	test "$(ninv)" = 2
'

test_expect_success PYTHON3 'a direct message needs no mention; the answer goes to that chat' '
	update "{\"message\":{\"message_id\":9,\"from\":{\"id\":111,\"is_bot\":false,\"first_name\":\"a\"},\"chat\":{\"id\":111,\"type\":\"private\"},\"date\":1,\"text\":\"incidents\"}}" &&
	wait_for 10 "tgmsgs \"any(m[\\\"chat_id\\\"] == 111 and \\\"Open incidents\\\" in m[\\\"visible\\\"] and m[\\\"reply_to\\\"] == 9 for m in d.values())\" | grep -q true"
'

test_expect_success PYTHON3 'a report over 4,096 characters is split into valid messages' '
	msg 111 60 "@ongrid_bot what about big-1 disk?" "$MENTION" &&
	wait_for 20 "tgmsgs \"any(\\\"item 90\\\" in m[\\\"visible\\\"] for m in d.values())\" | grep -q true" &&
	tgmsgs "[m[\"visible\"] for m in d.values() if \"item \" in m[\"visible\"]]" >parts &&
	test "$(json_get parts "len(d) >= 2")" = true &&
	test "$(json_get parts "max(len(p.encode(\"utf-16-le\")) // 2 for p in d) <= 4096")" = true &&
	test "$(json_get parts "all((\"item %d:\" % i) in \"\".join(d) for i in range(1, 91))")" = true &&
	test "$(tglog "[e[\"status\"] for e in d if e[\"method\"] == \"sendMessage\" and e[\"status\"] != 200]")" = "[]"
'

test_expect_success PYTHON3 'a 429 is retried after parameters.retry_after seconds' '
	mock_post tg _flood "{\"method\":\"sendMessage\",\"count\":1,\"retry_after\":2}" >/dev/null &&
	msg 111 70 "/status@ongrid_bot" "\"entities\":[{\"type\":\"bot_command\",\"offset\":0,\"length\":18}]" &&
	wait_for 15 "tgmsgs \"any(\\\"web-1: connected\\\" in m[\\\"visible\\\"] for m in d.values())\" | grep -q true" &&
	tglog "[e[\"t\"] for e in d if e[\"method\"] == \"sendMessage\"][-2:]" >ts &&
	test "$(tglog "[e[\"status\"] for e in d if e[\"method\"] == \"sendMessage\"][-2:]")" = "[429, 200]" &&
	test "$(json_get ts "d[1] - d[0] >= 1.9")" = true
'

test_expect_success PYTHON3 'offsets: each poll confirms what was handled; no update is handled twice' '
	tglog "[e[\"body\"].get(\"offset\", 0) for e in d if e[\"method\"] == \"getUpdates\"]" >offs &&
	test "$(json_get offs "d == sorted(d) and max(d) > 100000001")" = true &&
	test "$(ninv)" = 3
'

test_expect_success PYTHON3 'chat.telegram.proxy: every Bot API call goes through the proxy' '
	relay_kill9 &&
	sed -i "s|api_base = \"http://127.0.0.1:[0-9]*\"|api_base = \"http://telegram.invalid:81\"; proxy = \"http://127.0.0.1:$(mock_port tg)\"|" "$TRASH/relay.conf" &&
	relay_start &&
	wait_for 10 "grep -q \"connected as @ongrid_bot\" \"$TRASH/relay.log\"" &&
	test "$(tglog "[e[\"via_proxy\"] for e in d if e[\"method\"] == \"getMe\"][-1]")" = true
'

test_expect_success PYTHON3 'SIGTERM during a long poll and an investigation shuts down cleanly' '
	wait_for 20 "edge_connected web-1" &&
	msg 111 80 "@ongrid_bot web-1 once more?" "$MENTION" &&
	wait_for 10 "test \$(ninv) = 4" &&
	pid=$(cat "$TRASH/relay.pid") && kill -TERM "$pid" &&
	wait_for 10 "! kill -0 $pid" &&
	! grep -q "Sanitizer\|runtime error" "$TRASH/relay.log"
'

test_done
