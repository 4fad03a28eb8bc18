#!/bin/sh
test_description='ongrid-relay ask: the chat conversation in a terminal, over the relay socket, against a stand-in edge'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"

# tests/mock/edge_stub.py stands in for the edge's investigation agent (not built yet):
# it streams three progress lines and answers with a fixed report. The relay side (router,
# incidents, approvals, audit) is the real one.

test_expect_success PYTHON3 'a relay with two edges connected' '
	relay_setup &&
	echo "approvals: { double_sign = true; };" >>"$TRASH/relay.conf" &&
	relay_start &&
	test -S "$TRASH/relay/chat.sock" &&
	test "$(stat -c %a "$TRASH/relay/chat.sock")" = 600 &&
	stub_start web-1 && stub_start db-1
'

test_expect_success PYTHON3 'ask streams progress and prints the report' '
	"$RELAY" ask -c "$TRASH/relay.conf" web-1 "why is nginx throwing 502?" </dev/null >out 2>err &&
	grep -q "Investigating on web-1" out &&
	grep -q "step 1: checked <metrics> & logs_1" out &&
	grep -q "Summary: nginx on web-1 returns 502" out &&
	grep -q "Root cause (service, confidence 80%): api worker pool exhausted" out &&
	grep -q "Proposed action restart_service" out &&
	test "$(stub_log_get "d[-1][\"payload\"][\"question\"]")" = "why is nginx throwing 502?" &&
	test "$(stub_log_get "d[-1][\"payload\"][\"requester\"][\"role\"]")" = admin
'

test_expect_success PYTHON3 'follow-ups on stdin go to the same edge and incident, with the context' '
	printf "and since when?\n" |
		"$RELAY" ask -c "$TRASH/relay.conf" --json db-1 "disk full?" >out.json &&
	test "$(stub_log_get "[x[\"edge\"] for x in d if x[\"type\"] == \"investigate\"][-2:]")" = "[\"db-1\", \"db-1\"]" &&
	inc1=$(stub_log_get "d[-2][\"payload\"][\"incident_id\"]") &&
	inc2=$(stub_log_get "d[-1][\"payload\"][\"incident_id\"]") &&
	test "$inc1" = "$inc2" &&
	test "$(stub_log_get "d[-1][\"payload\"][\"follow_up\"]")" = true &&
	stub_log_get "d[-1][\"payload\"][\"context\"]" >ctx &&
	grep -q "disk full?" ctx && grep -q "answer 1" ctx &&
	test $(grep -c "\"type\":\"done\"" out.json) = 2
'

test_expect_success PYTHON3 'double-sign: one person cannot approve a dangerous action twice' '
	printf "approve act-web-1-1\napprove act-web-1-1\n" |
		"$RELAY" ask -c "$TRASH/relay.conf" web-1 "check again" >out2 &&
	grep -q "Approval 1 of 2" out2 &&
	grep -q "needs a second approval from a different person" out2 &&
	audit_has chat.approval.first "act-web-1-1" &&
	audit_has chat.approval.same_user "act-web-1-1" &&
	test "$(stub_log_get "len([x for x in d if x[\"type\"] == \"approval.decide\"])")" = 0
'

test_expect_success PYTHON3 'commands: status, incidents, help; an unknown host is refused' '
	printf "status\nincidents\nhelp\n" | "$RELAY" ask -c "$TRASH/relay.conf" web-1 "help" >cmds &&
	grep -q "web-1: connected" cmds && grep -q "db-1: connected" cmds &&
	grep -q "Open incidents" cmds && grep -q "on db-1" cmds &&
	grep -q "Commands: status" cmds &&
	"$RELAY" ask -c "$TRASH/relay.conf" nosuch "hello?" </dev/null >nos &&
	grep -q "nosuch is not connected to the relay" nos
'

test_expect_success PYTHON3 'an edge that goes away mid-investigation: the thread says so' '
	stub_start slow-1 --steps 30 --step-delay 0.3 &&
	{ (sleep 2; kill -9 "$(cat "$TRASH/stub-slow-1.pid")") & } &&
	"$RELAY" ask -c "$TRASH/relay.conf" slow-1 "why so slow?" </dev/null >slow &&
	grep -q "step 1: checked" slow &&
	grep -q "The investigation on slow-1 failed" slow &&
	audit_has chat.investigate.failed "incident inc-"
'

test_expect_success PYTHON3 'ask without a running relay says so and exits 1' '
	relay_kill9 &&
	test_expect_code 1 "$RELAY" ask -c "$TRASH/relay.conf" web-1 "x" </dev/null 2>err &&
	grep -q "cannot reach the relay" err &&
	test_expect_code 2 "$RELAY" ask -c "$TRASH/relay.conf" web-1 2>err
'

test_done
