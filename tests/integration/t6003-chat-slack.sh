#!/bin/sh
test_description='Slack: Socket Mode mentions and thread replies, streamed edits, approve buttons with roles and double-sign, refresh reconnects, rate limits, acks'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"

# Slack is tests/mock/slack_mock.py (Socket Mode + Web API as documented); the edges are
# tests/mock/edge_stub.py, a stand-in for the edge's agent that answers "investigate" with
# a fixed report. The relay is the real one.

event() { # TYPE USER TS TEXT [EXTRA]: an events_api envelope in C111
	mock_post slack _event "{\"type\":\"events_api\",\"payload\":{\"team_id\":\"T111\",\"api_app_id\":\"A111\",\"type\":\"event_callback\",\"event_id\":\"Ev$3$1\",\"event\":{\"type\":\"$1\",\"user\":\"$2\",\"text\":\"$4\",\"ts\":\"$3\",\"channel\":\"C111\",\"event_ts\":\"$3\"${5:+,$5}}}}" >/dev/null
}
press() { # USER ACTION_ID VALUE MESSAGE_TS THREAD_TS
	mock_post slack _event "{\"type\":\"interactive\",\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":\"$1\",\"username\":\"u\",\"team_id\":\"T111\"},\"team\":{\"id\":\"T111\",\"domain\":\"acme\"},\"container\":{\"type\":\"message\",\"message_ts\":\"$4\",\"channel_id\":\"C111\",\"is_ephemeral\":false,\"thread_ts\":\"$5\"},\"channel\":{\"id\":\"C111\",\"name\":\"ops\"},\"actions\":[{\"type\":\"button\",\"action_id\":\"$2\",\"block_id\":\"approval:x\",\"value\":\"$3\",\"action_ts\":\"1.2\"}]}}" >/dev/null
}
slog() { mock_get slack _log "$TRASH/slog.json"; json_get "$TRASH/slog.json" "$1"; }
smsgs() { mock_get slack _messages "$TRASH/smsgs.json"; json_get "$TRASH/smsgs.json" "$1"; }
ninv() { stub_log_get "len([x for x in d if x[\"type\"] == \"investigate\"])"; }
ndecide() { stub_log_get "len([x for x in d if x[\"type\"] == \"approval.decide\"])"; }
button_ts() { # ACTION_ID VALUE: the ts of the message carrying that button
	smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$1\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]"
}
T1=1610241741.000200
T2=1610241800.000100

test_expect_success PYTHON3 'start the Slack mock, a relay with Slack on, two edges' '
	mock_start slack slack_mock.py &&
	relay_setup &&
	cat >>"$TRASH/relay.conf" <<-EOC &&
	chat: {
	  users = [ "slack:U222=admin", "slack:U333=admin", "slack:U444=viewer", "slack:U555=operator" ];
	  edit_interval = "300ms";
	  slack: { app_token = "xapp-1-A111-test"; bot_token = "xoxb-test";
	           api_base = "http://127.0.0.1:$(mock_port slack)/";
	           allowed_workspaces = [ "T111" ]; allowed_channels = [ "C111" ]; };
	};
	approvals: { double_sign = true; };
	EOC
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	test "$(slog "[c[\"method\"] for c in d[\"calls\"]][:2]")" = "[\"auth.test\", \"apps.connections.open\"]" &&
	test "$(slog "[c[\"token\"] for c in d[\"calls\"]][:2]")" = "[\"xoxb-\", \"xapp-\"]" &&
	stub_start web-1 --class safe-write --steps 4 --step-delay 0.5 &&
	stub_start db-1 --class dangerous
'

test_expect_success PYTHON3 'an app_mention starts an investigation; the answer streams into one message in the thread' '
	event app_mention U222 $T1 "<@UBOT> why is web-1 slow?" &&
	wait_for 15 "test \$(ninv) = 1" &&
	test "$(stub_log_get "d[-1][\"payload\"][\"question\"]")" = "why is web-1 slow?" &&
	test "$(stub_log_get "d[-1][\"edge\"]")" = web-1 &&
	wait_for 15 "smsgs \"any(\\\"*Summary*\\\" in (m[\\\"text\\\"] or \\\"\\\") for m in d.values())\" | grep -q true" &&
	first=$(smsgs "sorted(d)[0]") &&
	test "$(smsgs "d[\"$first\"][\"thread_ts\"]")" = $T1 &&
	test "$(smsgs "d[\"$first\"][\"updates\"] >= 2")" = true &&
	smsgs "d[\"$first\"][\"text\"]" >report &&
	grep -q "upstream api &lt;pool&gt; is exhausted &amp; queueing" report &&
	echo "$first" >first
'

test_expect_success PYTHON3 'the proposed action gets approve/deny buttons in the thread' '
	wait_for 10 "button_ts act-web-1-1" &&
	b=$(button_ts act-web-1-1) &&
	test "$(smsgs "d[\"$b\"][\"thread_ts\"]")" = $T1 &&
	test "$(smsgs "[e[\"action_id\"] for e in d[\"$b\"][\"blocks\"][1][\"elements\"]]")" = "[\"approve\", \"deny\"]"
'

test_expect_success PYTHON3 'own messages, other bots, edits and duplicate deliveries are ignored' '
	event message UBOT 1610241760.000001 "I am the bot" "\"thread_ts\":\"$T1\"" &&
	event message U999 1610241760.000002 "a bot says hi" "\"thread_ts\":\"$T1\",\"bot_id\":\"B999\"" &&
	event message U222 1610241760.000003 "edited" "\"thread_ts\":\"$T1\",\"subtype\":\"message_changed\"" &&
	event message U222 $T1 "<@UBOT> why is web-1 slow?" &&
	sleep 2 && test "$(ninv)" = 1
'

test_expect_success PYTHON3 'a reply in the thread is a follow-up on the same edge with the context' '
	event message U222 1610241770.000001 "and since when?" "\"thread_ts\":\"$T1\",\"parent_user_id\":\"U222\"" &&
	wait_for 15 "test \$(ninv) = 2" &&
	test "$(stub_log_get "d[-1][\"edge\"]")" = web-1 &&
	test "$(stub_log_get "d[-1][\"payload\"][\"follow_up\"]")" = true &&
	stub_log_get "d[-1][\"payload\"][\"context\"]" | grep -q "why is web-1 slow?"
'

test_expect_success PYTHON3 'approve from a viewer is refused and audited; from an operator it reaches the edge' '
	b=$(button_ts act-web-1-1) &&
	press U444 approve act-web-1-1 "$b" $T1 &&
	wait_for 10 "audit_has chat.approval.refused \"slack:U444 refused, role viewer may not (needs operator)\"" &&
	wait_for 10 "smsgs \"any(\\\"slack:U444 may not decide act-web-1-1\\\" in (m[\\\"text\\\"] or \\\"\\\") and m[\\\"thread_ts\\\"] == \\\"$T1\\\" for m in d.values())\" | grep -q true" &&
	test "$(ndecide)" = 0 &&
	press U555 approve act-web-1-1 "$b" $T1 &&
	wait_for 10 "test \$(ndecide) = 1" &&
	test "$(stub_log_get "[x for x in d if x[\"type\"] == \"approval.decide\"][-1][\"payload\"][\"approvers\"]")" = "[\"slack:U555\"]" &&
	wait_for 10 "audit_has chat.approval.approved \"act-web-1-1 (restart_service safe-write) approved by slack:U555\"" &&
	wait_for 10 "smsgs \"d[\\\"$b\\\"][\\\"blocks\\\"] == [] and \\\"Approved act-web-1-1\\\" in d[\\\"$b\\\"][\\\"text\\\"]\" | grep -q true"
'

test_expect_success PYTHON3 'double-sign: a dangerous action needs two different admins' '
	event app_mention U222 $T2 "<@UBOT> is db-1 disk full?" &&
	wait_for 15 "button_ts act-db-1-1" &&
	b=$(button_ts act-db-1-1) &&
	press U222 approve act-db-1-1 "$b" $T2 &&
	wait_for 10 "audit_has chat.approval.first \"first approval by slack:U222\"" &&
	press U222 approve act-db-1-1 "$b" $T2 &&
	wait_for 10 "audit_has chat.approval.same_user \"act-db-1-1: second approval by slack:U222\"" &&
	test "$(ndecide)" = 1 &&
	press U333 approve act-db-1-1 "$b" $T2 &&
	wait_for 10 "test \$(ndecide) = 2" &&
	test "$(stub_log_get "[x for x in d if x[\"type\"] == \"approval.decide\"][-1][\"payload\"][\"approvers\"]")" = "[\"slack:U222\", \"slack:U333\"]"
'

test_expect_success PYTHON3 'a channel off the allowlist is ignored and audited' '
	mock_post slack _event "{\"type\":\"events_api\",\"payload\":{\"team_id\":\"T111\",\"event_id\":\"EvX\",\"event\":{\"type\":\"app_mention\",\"user\":\"U222\",\"text\":\"<@UBOT> hi web-1\",\"ts\":\"5.1\",\"channel\":\"C999\"}}}" >/dev/null &&
	wait_for 10 "audit_has chat.refused \"chat C999 is not in the allowlist\"" &&
	test "$(ninv)" = 3
'

test_expect_success PYTHON3 'disconnect refresh_requested: a fresh URL, a new socket, events flow on it' '
	n0=$(slog "len([c for c in d[\"calls\"] if c[\"method\"] == \"apps.connections.open\"])") &&
	mock_post slack _disconnect "{\"reason\":\"refresh_requested\"}" >/dev/null &&
	wait_for 10 "test \$(slog \"len([c for c in d[\\\"connections\\\"] if c[\\\"open\\\"]])\") = 1 && test \$(slog \"len(d[\\\"connections\\\"])\") = 2" &&
	test "$(slog "len([c for c in d[\"calls\"] if c[\"method\"] == \"apps.connections.open\"])")" = $((n0 + 1)) &&
	test "$(slog "[c[\"refused\"] for c in d[\"connections\"]]")" = "[false, false]" &&
	test "$(slog "d[\"connections\"][0][\"ticket\"] != d[\"connections\"][1][\"ticket\"]")" = true &&
	event app_mention U222 1610241900.000001 "<@UBOT> incidents" &&
	wait_for 10 "smsgs \"any(\\\"Open incidents\\\" in (m[\\\"text\\\"] or \\\"\\\") for m in d.values())\" | grep -q true"
'

test_expect_success PYTHON3 'a 429 from chat.postMessage is retried after Retry-After' '
	mock_post slack _ratelimit "{\"method\":\"chat.postMessage\",\"count\":1,\"retry_after\":2}" >/dev/null &&
	event app_mention U222 1610241950.000001 "<@UBOT> status" &&
	wait_for 15 "smsgs \"any(\\\"web-1: connected\\\" in (m[\\\"text\\\"] or \\\"\\\") for m in d.values())\" | grep -q true" &&
	slog "[c for c in d[\"calls\"] if c[\"method\"] == \"chat.postMessage\"][-2:]" >pm &&
	test "$(json_get pm "[c[\"status\"] for c in d]")" = "[429, 200]" &&
	test "$(json_get pm "d[1][\"t\"] - d[0][\"t\"] >= 1.9")" = true
'

test_expect_success PYTHON3 'every envelope was acknowledged with its envelope_id within 3 s' '
	test "$(slog "all(e[\"acked\"] is not None and e[\"acked\"] - e[\"sent\"] < 3 for e in d[\"envelopes\"])")" = true &&
	test "$(slog "len(d[\"envelopes\"]) >= 14")" = true
'

test_expect_success PYTHON3 'a question naming no host is asked back; the answer in the thread starts it there' '
	event app_mention U222 1610241990.000001 "<@UBOT> why is the disk full?" &&
	wait_for 10 "smsgs \"any(\\\"Which host? Name one in this thread: \\\" in (m[\\\"text\\\"] or \\\"\\\") and \\\"db-1\\\" in m[\\\"text\\\"] and m[\\\"thread_ts\\\"] == \\\"1610241990.000001\\\" for m in d.values())\" | grep -q true" &&
	test "$(ninv)" = 3 &&
	event message U222 1610241991.000001 "db-1" "\"thread_ts\":\"1610241990.000001\"" &&
	wait_for 10 "test \$(ninv) = 4" &&
	test "$(stub_log_get "d[-1][\"edge\"]")" = db-1 &&
	test "$(stub_log_get "[x for x in d if x[\"type\"] == \"investigate\"][-1][\"payload\"][\"question\"]")" = "why is the disk full?"
'

test_expect_success PYTHON3 'SIGTERM during an investigation shuts the relay down cleanly' '
	event app_mention U222 1610242000.000001 "<@UBOT> web-1 again?" &&
	wait_for 10 "test \$(ninv) = 5" &&
	pid=$(cat "$TRASH/relay.pid") && kill -TERM "$pid" &&
	wait_for 10 "! kill -0 $pid" &&
	! grep -q "Sanitizer\|runtime error" "$TRASH/relay.log"
'

test_expect_success PYTHON3 'chat.slack.proxy: the Web API and the Socket Mode socket both go through it' '
	mock_start proxy connect_proxy.py --log "$TRASH/proxy.log" &&
	sed -i "s|api_base = \"http://127.0.0.1:\([0-9]*\)/\";|api_base = \"http://127.0.0.1:\1/\"; proxy = \"http://127.0.0.1:$(mock_port proxy)\";|" "$TRASH/relay.conf" &&
	grep -q "proxy = " "$TRASH/relay.conf" &&
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	grep -q "\"kind\": \"forward\".*\"/apps.connections.open\"" "$TRASH/proxy.log" &&
	grep -q "\"kind\": \"connect\", \"target\": \"127.0.0.1:$(sed -n 2p "$TRASH/slack.port")\"" "$TRASH/proxy.log" &&
	event app_mention U222 1610242100.000001 "<@UBOT> help" &&
	wait_for 10 "smsgs \"any(\\\"Commands: status\\\" in (m[\\\"text\\\"] or \\\"\\\") for m in d.values())\" | grep -q true"
'

test_done
