#!/bin/sh
test_description='Slack thread to a real edge: a crash loop investigated on the edge, its restart proposed with buttons; a viewer and a lone admin cannot run it; two admins run it on the edge, recorded there with who and when; no second run'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

# Slack is tests/mock/slack_mock.py; the model is tests/mock/llm_mock.py behind the relay's
# LLM router; everything else is real: the relay, the edge daemon collecting (eBPF), and
# `ongrid-edge connect` holding the tunnel, serving investigate and approval.decide.
#
# The fault: t6005-worker fails at start while $TRASH/broken exists and a shell loop
# restarts it (a crash loop the planner names). Its restart command removes the cause and
# counts itself in $TRASH/restarts, so a run of the approved action shows as a healthy
# worker and one line there.

cat >t6005-worker <<EOS
#!/bin/sh
if [ -e "$TRASH/broken" ]; then
	echo "t6005-worker: cannot read /etc/t6005.conf" >&2
	exit 1
fi
touch "$TRASH/healthy"
exec sleep 2
EOS
cat >restart.sh <<EOS
#!/bin/sh
date +%s >>"$TRASH/restarts"
if [ -e "$TRASH/slow" ]; then sleep 5; fi
rm -f "$TRASH/broken"
EOS
chmod +x t6005-worker restart.sh
touch broken

T1=1610243000.000100
T2=1610243100.000100
T3=1610243200.000100
T4=1610243300.000100
T5=1610243400.000100
T6=1610243500.000100
# the model: propose the restart, then conclude
SCRIPT='{"rules":[{"provider":"openai","steps":[
	{"type":"tool_call","id":"c1","name":"restart_service","arguments":{"unit":"t6005-worker"}},
	{"type":"text","text":"{\"statement\":\"t6005-worker crash-loops\",\"category\":\"service\",\"component\":\"t6005-worker\",\"confidence\":0.8}","usage":[300,40]}]}]}'
CRASHES='sum(ongrid_process_exits_total{comm="t6005-worker",code!="0"}) >= 3'

event() { # TYPE USER TS TEXT [EXTRA]: an events_api envelope in C111
	mock_post slack _event "{\"type\":\"events_api\",\"payload\":{\"team_id\":\"T111\",\"api_app_id\":\"A111\",\"type\":\"event_callback\",\"event_id\":\"Ev$3$1\",\"event\":{\"type\":\"$1\",\"user\":\"$2\",\"text\":\"$4\",\"ts\":\"$3\",\"channel\":\"C111\",\"event_ts\":\"$3\"${5:+,$5}}}}" >/dev/null
}
press() { # USER ACTION_ID VALUE MESSAGE_TS THREAD_TS
	mock_post slack _event "{\"type\":\"interactive\",\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":\"$1\",\"username\":\"u\",\"team_id\":\"T111\"},\"team\":{\"id\":\"T111\",\"domain\":\"acme\"},\"container\":{\"type\":\"message\",\"message_ts\":\"$4\",\"channel_id\":\"C111\",\"is_ephemeral\":false,\"thread_ts\":\"$5\"},\"channel\":{\"id\":\"C111\",\"name\":\"ops\"},\"actions\":[{\"type\":\"button\",\"action_id\":\"$2\",\"block_id\":\"approval:x\",\"value\":\"$3\",\"action_ts\":\"1.2\"}]}}" >/dev/null
}
smsgs() { mock_get slack _messages "$TRASH/smsgs.json"; json_get "$TRASH/smsgs.json" "$1"; }
in_thread() { # TEXT [THREAD]: a message in the thread (T1 unless named) contains TEXT
	smsgs "any(\"$1\" in (m[\"text\"] or \"\") and m[\"thread_ts\"] == \"${2:-$T1}\" for m in d.values())" | grep -q true
}
in_thread_re() { # REGEX THREAD: a message in the thread matches the Python regex
	smsgs "any(__import__(\"re\").search(r\"$1\", m[\"text\"] or \"\") and m[\"thread_ts\"] == \"$2\" for m in d.values())" | grep -q true
}
button_of() { # THREAD: the approve button's value (the edge's approval id) in that thread
	smsgs "[e[\"value\"] for m in d.values() if m[\"thread_ts\"] == \"$1\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []) if e.get(\"action_id\") == \"approve\"][0]"
}
edge_db() { # SQL over the edge's approvals.db, one row as JSON
	"$PY" -c 'import json,sqlite3,sys; print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))' \
		"$TRASH/web-6/approvals.db" "$1"
}
crash_again_and_ask() { # THREAD QUESTION: break the worker again, ask; the new id into FILE $1.id
	touch broken &&
	wait_for 40 "\"$EDGE\" query -c web-6.conf \"sum(increase(ongrid_process_exits_total{comm=\\\"t6005-worker\\\",code!=\\\"0\\\"}[20s])) >= 3\" 2>/dev/null | grep -q ." &&
	llm_mock_script "$SCRIPT" &&
	event app_mention U222 "$1" "$2" &&
	wait_for 60 "button_of $1 >$1.id" &&
	test -s "$1.id"
}
nrestarts() { if [ -f restarts ]; then wc -l <restarts; else echo 0; fi; }

test_expect_success BPF,PYTHON3 'relay with Slack (mock) and a model (mock); a real edge daemon and its tunnel' '
	mock_start slack slack_mock.py &&
	llm_mock_start && relay_setup &&
	LLM_CONF_FILE=llm.part llm_conf "" &&
	sed -n "/^llm = {/,\$p" llm.part >>"$TRASH/relay.conf" &&
	cat >>"$TRASH/relay.conf" <<-EOC &&
	chat: {
	  users = [ "slack:U222=admin", "slack:U333=admin", "slack:U444=viewer" ];
	  edit_interval = "300ms";
	  slack: { app_token = "xapp-1-A111-test"; bot_token = "xoxb-test";
	           api_base = "http://127.0.0.1:$(mock_port slack)/";
	           allowed_workspaces = [ "T111" ]; allowed_channels = [ "C111" ]; };
	};
	approvals: { double_sign = true; };
	EOC
	key_create web-6 && relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	mkdir -p run &&
	edge_conf web-6 web-6 "control_socket = \"$TRASH/run/web-6.sock\";
collect = { interval = \"1s\"; };
metrics = { enabled = false; };
agent = { window = \"1m\"; };
tools = { double_sign = true; restart_commands = [\"t6005-worker=$TRASH/restart.sh\"]; };" &&
	daemon_start edge-daemon "$EDGE" run -c web-6.conf &&
	wait_for 15 "test -S run/web-6.sock" &&
	edge_start web-6 &&
	wait_for 15 "edge_connected web-6"
'

test_expect_success BPF,PYTHON3 'a question in Slack: the edge investigates the crash loop, the report and its restart proposal land in the thread with buttons' '
	llm_mock_script "$SCRIPT" &&
	daemon_start crashloop sh -c "while :; do ./t6005-worker; sleep 0.2; done" &&
	wait_for 40 "\"$EDGE\" query -c web-6.conf \"\$CRASHES\" 2>/dev/null | grep -q ." &&
	event app_mention U222 $T1 "<@UBOT> why does t6005-worker keep crashing on web-6?" &&
	wait_for 60 "in_thread \"*Summary*\"" &&
	wait_for 10 "button_of $T1 >action_id" &&
	id=$(cat action_id) && test -n "$id" &&
	test "$(edge_db "SELECT tool, status FROM approvals WHERE id = \"$id\"")" = "[[\"restart_service\", \"pending\"]]" &&
	smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$id\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]" >button_ts &&
	test "$(smsgs "d[\"$(cat button_ts)\"][\"thread_ts\"]")" = $T1 &&
	test "$(nrestarts)" = 0
'

test_expect_success BPF,PYTHON3 'a viewer pressing approve is refused in the thread; nothing reaches the edge' '
	id=$(cat action_id) &&
	press U444 approve "$id" "$(cat button_ts)" $T1 &&
	wait_for 10 "in_thread \"slack:U444 may not decide $id\"" &&
	sleep 1 &&
	test "$(nrestarts)" = 0 &&
	test "$(edge_db "SELECT count(*) FROM decisions WHERE approval_id = \"$id\"")" = "[[0]]"
'

test_expect_success BPF,PYTHON3 'double-sign: one admin pressing twice is not enough' '
	id=$(cat action_id) &&
	press U222 approve "$id" "$(cat button_ts)" $T1 &&
	wait_for 10 "in_thread \"Approval 1 of 2 for $id from slack:U222\"" &&
	press U222 approve "$id" "$(cat button_ts)" $T1 &&
	wait_for 10 "in_thread \"$id needs a second approval from a different person\"" &&
	sleep 1 &&
	test "$(nrestarts)" = 0 &&
	test "$(edge_db "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"pending\"]]"
'

test_expect_success BPF,PYTHON3 'a second admin: the restart runs on the edge, which records both approvers and when; the thread shows the result' '
	id=$(cat action_id) &&
	before=$(($(date +%s) * 1000)) &&
	press U333 approve "$id" "$(cat button_ts)" $T1 &&
	wait_for 30 "test \$(nrestarts) = 1" &&
	wait_for 10 "test -e healthy" &&
	wait_for 10 "in_thread \"restart_service on web-6: executed\"" &&
	test "$(edge_db "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"done\"]]" &&
	test "$(edge_db "SELECT who, decision FROM decisions WHERE approval_id = \"$id\" ORDER BY at, who")" = "[[\"slack:U222\", \"approve\"], [\"slack:U333\", \"approve\"]]" &&
	test "$(edge_db "SELECT min(at) >= $before - 1000 FROM decisions WHERE approval_id = \"$id\"")" = "[[1]]"
'

test_expect_success BPF,PYTHON3 'pressing again does not run it twice' '
	id=$(cat action_id) &&
	press U222 approve "$id" "$(cat button_ts)" $T1 &&
	sleep 2 &&
	test "$(nrestarts)" = 1 &&
	test "$(edge_db "SELECT count(*) FROM decisions WHERE approval_id = \"$id\"")" = "[[2]]"
'

test_expect_success BPF,PYTHON3 'the edge counts approvers itself: with double-sign off on the relay, one admin records 1 of 2 there and nothing runs; the same admin again is refused by the edge; a second admin runs it' '
	relay_kill9 &&
	sed -i "s/approvals: { double_sign = true; };/approvals: { double_sign = false; };/" "$TRASH/relay.conf" &&
	grep -q "double_sign = false" "$TRASH/relay.conf" &&
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	wait_for 15 "edge_connected web-6" &&
	crash_again_and_ask $T2 "<@UBOT> t6005-worker crashes again on web-6, why?" &&
	id=$(cat $T2.id) && test "$id" != "$(cat action_id)" &&
	b=$(smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$id\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]") &&
	press U222 approve "$id" "$b" $T2 &&
	wait_for 15 "in_thread \"web-6 recorded the approval of $id by slack:U222 (1 of 2); it needs another approver there\" $T2" &&
	test "$(nrestarts)" = 1 &&
	test "$(edge_db "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"pending\"]]" &&
	test "$(edge_db "SELECT who FROM decisions WHERE approval_id = \"$id\"")" = "[[\"slack:U222\"]]" &&
	press U222 approve "$id" "$b" $T2 &&
	wait_for 15 "in_thread \"web-6 could not record the decision on $id\" $T2" &&
	test "$(nrestarts)" = 1 &&
	press U333 approve "$id" "$b" $T2 &&
	wait_for 30 "test \$(nrestarts) = 2" &&
	wait_for 10 "in_thread \"restart_service on web-6: executed\" $T2" &&
	test "$(edge_db "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"done\"]]"
'

test_expect_success BPF,PYTHON3 'the edge refuses an approver its tools.approvers does not name, and an action it does not hold' '
	sed -i "s|tools = { double_sign = true;|tools = { double_sign = true; approvers = [ \"slack:U333\" ];|" web-6.conf &&
	grep -q "approvers = \[ \"slack:U333\" \]" web-6.conf &&
	crash_again_and_ask $T3 "<@UBOT> and now? t6005-worker on web-6" &&
	id=$(cat $T3.id) &&
	b=$(smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$id\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]") &&
	press U222 approve "$id" "$b" $T3 &&
	wait_for 15 "in_thread_re \"web-6 could not record the decision on $id: .slack:U222. is not in tools.approvers\" $T3" &&
	test "$(edge_db "SELECT count(*) FROM decisions WHERE approval_id = \"$id\"")" = "[[0]]" &&
	"$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"DELETE FROM approvals WHERE id = ?\", (sys.argv[2],)); c.commit()" "$TRASH/web-6/approvals.db" "$id" &&
	press U333 approve "$id" "$b" $T3 &&
	wait_for 15 "in_thread_re \"web-6 could not record the decision on $id: no action .$id. on this edge\" $T3" &&
	test "$(nrestarts)" = 2
'

# The edge's answer must not depend on the relay that asked staying up: the model is slow
# to answer, the relay is killed meanwhile and started again; the edge finishes (the
# planner's conclusion stands when the model is gone) and delivers the report through its
# outbox, and the restarted relay posts it in the thread it belongs to, once.
test_expect_success BPF,PYTHON3 'the relay killed -9 while the edge investigates: the report still lands in the thread, once' '
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"too late\",\"delay_ms\":5000}]}]}" &&
	event app_mention U222 $T4 "<@UBOT> why is t6005-worker slow on web-6?" &&
	wait_for 30 "llm_mock_requests reqs.json && test \$(json_get reqs.json \"len([r for r in d if r[\\\"provider\\\"] == \\\"openai\\\"])\") -ge 1" &&
	! in_thread "*Summary*" $T4 &&
	relay_kill9 && relay_start &&
	wait_for 60 "in_thread \"*Summary*\" $T4" &&
	grep -q "was lost with the link; its report goes through the outbox" "$TRASH/edge-web-6.log" &&
	sleep 2 &&
	test "$(smsgs "len([m for m in d.values() if m[\"thread_ts\"] == \"$T4\" and \"*Summary*\" in (m[\"text\"] or \"\")])")" = 1
'

# The outcome of a decision goes through the edge's outbox too (approval.result): made at
# the host with the CLI, it reaches the thread that shows the proposal; made in the thread
# while the relay dies under the run, it still reaches the thread after the restart. Once.
nposts() { # TEXT THREAD: how many messages in the thread contain TEXT
	smsgs "len([m for m in d.values() if m[\"thread_ts\"] == \"$2\" and \"$1\" in (m[\"text\"] or \"\")])"
}
relay_row() { # SQL over relay.sqlite, one value
	"$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
		"$TRASH/relay/relay.sqlite" "$1"
}

test_expect_success BPF,PYTHON3 'approved at the host with `ongrid-edge approve`: the thread that shows the proposal gets the outcome once, and its buttons are closed' '
	sed -i "s|tools = { double_sign = true; approvers = \[ \"slack:U333\" \];|tools = { double_sign = false;|" web-6.conf &&
	grep -q "tools = { double_sign = false; restart_commands" web-6.conf &&
	crash_again_and_ask $T5 "<@UBOT> t6005-worker on web-6 crashes once more, why?" &&
	id=$(cat $T5.id) &&
	bts=$(smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$id\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]") &&
	n0=$(nrestarts) &&
	"$EDGE" approve -c web-6.conf --as ops-at-host "$id" &&
	test "$(nrestarts)" = $((n0 + 1)) &&
	wait_for 20 "in_thread \"restart_service on web-6: executed\" $T5" &&
	in_thread "(approved by ops-at-host)" $T5 &&
	test "$(relay_row "SELECT status || \" \" || decided_by FROM chat_approvals WHERE action_id = \"$id\"")" = "approved ops-at-host" &&
	wait_for 10 "test \"\$(smsgs \"d[\\\"$bts\\\"][\\\"blocks\\\"]\")\" = \"[]\"" &&
	press U333 approve "$id" "$bts" $T5 &&
	sleep 2 &&
	test "$(nrestarts)" = $((n0 + 1)) &&
	test "$(nposts "restart_service on web-6: executed" $T5)" = 1
'

test_expect_success BPF,PYTHON3 'the relay killed -9 while the approved restart runs: after the restart the thread gets the outcome once; it ran once' '
	crash_again_and_ask $T6 "<@UBOT> and t6005-worker on web-6 again?" &&
	id=$(cat $T6.id) &&
	b=$(smsgs "[ts for ts, m in d.items() if any(e.get(\"value\") == \"$id\" for b in (m[\"blocks\"] or []) for e in b.get(\"elements\", []))][0]") &&
	n0=$(nrestarts) &&
	touch slow && test_when_finished "rm -f slow" &&
	press U333 approve "$id" "$b" $T6 &&
	wait_for 15 "test \$(nrestarts) = $((n0 + 1))" &&
	relay_kill9 &&
	! in_thread "restart_service on web-6: executed" $T6 &&
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	wait_for 30 "in_thread \"restart_service on web-6: executed\" $T6" &&
	test "$(edge_db "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"done\"]]" &&
	test "$(relay_row "SELECT status FROM chat_approvals WHERE action_id = \"$id\"")" = approved &&
	sleep 2 &&
	test "$(nposts "restart_service on web-6: executed" $T6)" = 1 &&
	test "$(nrestarts)" = $((n0 + 1))
'

test_done
