#!/bin/sh
test_description='local alert rules: the built-in rules stay quiet for 60 s on this idle host; a rule under real load (stress-ng) goes pending, then firing after its for, starts an investigation, reaches the relay through the outbox and opens a Slack thread (mock) with the report; resolved lands in the same thread'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"

smsgs() { mock_get slack _messages "$TRASH/smsgs.json"; json_get "$TRASH/smsgs.json" "$1"; }
alerts_json() { "$EDGE" alerts --json -c "$1" >"$TRASH/alerts.json" && json_get "$TRASH/alerts.json" "$2"; }

test_expect_success 'a bad rules file is refused with exit 2, naming the rule and field' '
	cat >bad.rules <<-EOF &&
	rules = ( { name = "A"; expr = "ongrid_load1 > 1"; for = "5x"; } );
	EOF
	test_expect_code 2 "$EDGE" alerts --check bad.rules 2>err &&
	grep -q "rules\[0\] (A).for: expected a duration" err &&
	cat >bad2.rules <<-EOF &&
	rules = ( { name = "B"; expr = "rate(ongrid_load1"; } );
	EOF
	test_expect_code 2 "$EDGE" alerts --check bad2.rules 2>err &&
	grep -q "rules\[0\] (B).expr: " err &&
	cat >q.conf <<-EOF &&
	data_dir = "$TRASH/q0"; control_socket = "$TRASH/q0.sock";
	metrics: { enabled = false; };
	alerts: { rules_file = "$TRASH/bad.rules"; };
	EOF
	test_expect_code 2 "$EDGE" run -c q.conf 2>err &&
	grep -q "(A).for" err &&
	"$EDGE" alerts --defaults >defaults.rules && "$EDGE" alerts --check defaults.rules >out &&
	grep -q "^6 rules OK" out
'

test_expect_success 'the built-in rules are quiet on this idle host: 60 s, evaluated every second, none fires' '
	cat >quiet.conf <<-EOF &&
	name = "quiet";
	data_dir = "$TRASH/quiet";
	control_socket = "$TRASH/quiet.sock";
	collect: { interval = "1s"; };
	metrics: { enabled = false; };
	alerts: { interval = "1s"; investigate = false; };
	EOF
	daemon_start quiet "$EDGE" run -c quiet.conf &&
	wait_for 10 "test -S \"$TRASH/quiet.sock\"" &&
	sleep 60 &&
	test "$(alerts_json quiet.conf "len(d[\"rules\"])")" = 6 &&
	test "$(alerts_json quiet.conf "d[\"evaluations\"] >= 50")" = true &&
	test "$(alerts_json quiet.conf "d[\"fired\"]")" = 0 &&
	test "$(alerts_json quiet.conf "[a for r in d[\"rules\"] for a in r[\"active\"] if a[\"state\"] == \"firing\"]")" = "[]" &&
	! grep -q "firing" "$TRASH/quiet.log" &&
	"$EDGE" alerts -c quiet.conf >text && grep -q "^DiskAlmostFull *ok" text &&
	daemon_stop quiet
'

test_expect_success 'SIGHUP reloads the rules: a new rule fires; a bad file changes nothing; an unchanged rule keeps firing once; a removed one resolves' '
	cat >hup.conf <<-EOF &&
	name = "hup";
	data_dir = "$TRASH/hup";
	control_socket = "$TRASH/hup.sock";
	collect: { interval = "1s"; };
	metrics: { enabled = false; };
	alerts: { interval = "1s"; investigate = false; default_rules = false; rules_file = "$TRASH/hup.rules"; };
	EOF
	echo "rules = ( );" >hup.rules &&
	daemon_start hup "$EDGE" run -c hup.conf &&
	wait_for 10 "test -S \"$TRASH/hup.sock\"" &&
	test "$(alerts_json hup.conf "len(d[\"rules\"])")" = 0 &&
	cat >hup.rules <<-EOF &&
	rules = ( { name = "Up"; expr = "ongrid_load1 >= 0"; for = "1s"; },
	          { name = "AlsoUp"; expr = "ongrid_load1 >= 0"; for = "1s"; } );
	EOF
	kill -HUP "$(cat hup.pid)" &&
	wait_for 20 "test \"\$(alerts_json hup.conf \"d[\\\"fired\\\"]\")\" = 2" &&
	echo "rules = ( { name = \"Up\"; expr = \"rate(ongrid_load1\"; } );" >hup.rules &&
	kill -HUP "$(cat hup.pid)" &&
	wait_for 10 "grep -q \"reload: .*hup.rules.*configuration unchanged\" hup.log" &&
	test "$(alerts_json hup.conf "len(d[\"rules\"])")" = 2 &&
	echo "rules = ( { name = \"Up\"; expr = \"ongrid_load1 >= 0\"; for = \"1s\"; } );" >hup.rules &&
	kill -HUP "$(cat hup.pid)" &&
	wait_for 10 "grep -q \"alert AlsoUp resolved\" hup.log" &&
	sleep 2 &&
	test "$(alerts_json hup.conf "[r[\"name\"] for r in d[\"rules\"]]")" = "[\"Up\"]" &&
	test "$(alerts_json hup.conf "[a[\"state\"] for a in d[\"rules\"][0][\"active\"]]")" = "[\"firing\"]" &&
	test "$(grep -c "alert Up firing" hup.log)" = 1 &&
	test "$(alerts_json hup.conf "d[\"fired\"]")" = 2 &&
	daemon_stop hup
'

test_expect_success PYTHON3 'relay with Slack (mock) and a local-alert channel; the edge daemon and its tunnel' '
	mock_start slack slack_mock.py &&
	relay_setup &&
	cat >>"$TRASH/relay.conf" <<-EOC &&
	chat: {
	  users = [ "slack:U222=admin" ];
	  slack: { app_token = "xapp-1-A111-test"; bot_token = "xoxb-test";
	           api_base = "http://127.0.0.1:$(mock_port slack)/"; };
	};
	alerts: { channel = "slack:C111"; };
	EOC
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	key_create web-1 &&
	edge_conf web-1 web-1 "control_socket = \"$TRASH/web-1.sock\";
collect: { interval = \"1s\"; };
metrics: { enabled = false; };
alerts: { interval = \"1s\"; default_rules = false; rules_file = \"$TRASH/stress.rules\"; };" &&
	edge_start web-1 &&
	wait_for 15 "edge_connected web-1"
'

# The rule names this test's stress-ng workers by pid: other tests on this machine may
# run stress-ng too, and their load must not count.
test_expect_success STRESS 'under stress-ng the rule goes pending, then firing once its for (4 s) has passed' '
	daemon_start stress stress-ng --cpu 2 --timeout 40s &&
	wait_for 10 "pgrep -P $(cat "$TRASH/stress.pid") >workers" &&
	pids=$(tr "\n" "|" <workers | sed "s/|$//") &&
	cat >stress.rules <<-EOF &&
	rules = (
	  { name = "StressBusy";
	    expr = "sum(rate(ongrid_process_cpu_seconds_total{pid=~\"$pids\"}[5s])) > 0.3";
	    for = "4s"; severity = "warning"; summary = "stress-ng keeps the CPUs busy"; }
	);
	EOF
	daemon_start web-1-run "$EDGE" run -c "$TRASH/web-1.conf" &&
	wait_for 30 "test \"\$(alerts_json \"$TRASH/web-1.conf\" \"[a[\\\"state\\\"] for a in d[\\\"rules\\\"][0][\\\"active\\\"]]\")\" = \"[\\\"pending\\\"]\"" &&
	wait_for 20 "grep -q \"alert StressBusy firing\" \"$TRASH/web-1-run.log\"" &&
	pend=$(grep "alert StressBusy pending" "$TRASH/web-1-run.log" | head -n1 | cut -c12-23) &&
	fire=$(grep "alert StressBusy firing" "$TRASH/web-1-run.log" | head -n1 | cut -c12-23) &&
	"$PY" -c "import sys; t=lambda s: sum(float(x)*m for x, m in zip(s.split(\":\"), (3600, 60, 1))); d=t(sys.argv[2])-t(sys.argv[1]); assert 3.5 <= d <= 8, d" "$pend" "$fire" &&
	test "$(alerts_json "$TRASH/web-1.conf" "d[\"fired\"]")" = 1
'

test_expect_success STRESS 'the firing alert started an investigation on the edge; the relay opened a thread and the report landed in it' '
	wait_for 60 "ls \"$TRASH/web-1/alerts/\"alert-StressBusy-*.json >/dev/null 2>&1 && grep -q summary \"$TRASH/web-1/alerts/\"alert-StressBusy-*.json" &&
	json_get "$(ls "$TRASH/web-1/alerts/"alert-StressBusy-*.json | head -n1)" .summary >summary &&
	test -s summary &&
	wait_for 20 "smsgs \"[ts for ts, m in d.items() if (m[\\\"text\\\"] or \\\"\\\").startswith(\\\"FIRING [warning] StressBusy on web-1\\\")][0]\" >thread" &&
	thread=$(cat thread) &&
	test "$(smsgs "d[\"$thread\"][\"channel\"]")" = C111 &&
	head -c 40 summary >sum40 &&
	wait_for 90 "smsgs \"any(open(\\\"sum40\\\").read() in (m[\\\"text\\\"] or \\\"\\\") and m.get(\\\"thread_ts\\\") == \\\"$thread\\\" for m in d.values())\" | grep -q true"
'

test_expect_success STRESS 'stress-ng ends: the alert resolves and resolved lands in the same thread' '
	daemon_stop stress &&
	wait_for 30 "grep -q \"alert StressBusy resolved\" \"$TRASH/web-1-run.log\"" &&
	thread=$(cat thread) &&
	wait_for 20 "smsgs \"any((m[\\\"text\\\"] or \\\"\\\").startswith(\\\"RESOLVED: StressBusy on web-1\\\") and m.get(\\\"thread_ts\\\") == \\\"$thread\\\" for m in d.values())\" | grep -q true" &&
	test "$(alerts_json "$TRASH/web-1.conf" "d[\"resolved\"]")" = 1
'

test_done
