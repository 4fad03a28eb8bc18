#!/bin/sh
test_description='the drill: web -> api -> db as three network namespaces, each with its own edge and service, all dialling one relay; db crash-loops, the alert fires on web, the investigation walks the topology to db and names it in the Slack thread with evidence from db'"'"'s edge, once; the fix, and the alert resolves in the same thread'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"
. "$SRC/tests/mock/llm_mock.sh"
. "$SRC/tests/lib/drill-lib.sh"
. "$SRC/tests/lib/alert-lib.sh"

# Everything is real but Slack (tests/mock/slack_mock.py): the relay on the bridge address
# 10.209.0.1, and in each host's namespace the edge daemon (collecting, eBPF), its tunnel
# (`ongrid-edge connect`) and the host's service (tests/lib/drill_svc.py). Prometheus
# scrapes web's service, Alertmanager posts to the relay, which routes the alert to web.
#
# One kernel serves the three "hosts". Each has its own network and pid namespace, so its
# edge lists only its own processes and connections; but eBPF sees the whole kernel, so
# only db's edge runs the eBPF collectors: web and api see db's crash loop (or another
# test's lossy link) no more than real hosts would, and web can only learn of it by asking
# db's edge.

if ! test_have_prereq ROOT,NETNS,BPF,PYTHON3,PROMETHEUS,ALERTMANAGER; then
	skip_all "needs root, network namespaces, eBPF, python3, prometheus and alertmanager"
fi

HTTP=$(free_port)
PPORT=$(free_port)
APORT=$(free_port)
TOKEN=t0ken-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")
ALERT=DrillUpstreamErrors
NO_EBPF='disable = [ "procexec", "tcp", "oomkill", "biolatency", "runqlat" ];'

smsgs() { mock_get slack _messages "$TRASH/smsgs.json"; json_get "$TRASH/smsgs.json" "$1"; }
alert_row() { # SQL over the relay's alerts table, one value
	"$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
		"$TRASH/relay/relay.sqlite" "$1"
}
inv_rows() { # SQL over web's timeline.db, one value (0 before it exists)
	if [ -f "$TRASH/web/timeline.db" ]; then
		"$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
			"$TRASH/web/timeline.db" "$1"
	else
		echo 0
	fi
}
in_thread() { # THREAD TEXT: how many messages of the thread contain TEXT
	smsgs "len([m for m in d.values() if \"$2\" in (m[\"text\"] or \"\") and m.get(\"thread_ts\") == \"$1\"])"
}

test_expect_success 'three hosts on a bridge, each with its service: web asks api, api asks db' '
	drill_net &&
	drill_services &&
	in_host web "$PY" -c "import urllib.request; print(urllib.request.urlopen(\"http://10.209.0.2:9100/metrics\").read().decode())" >m &&
	grep -q "^drill_request_errors_total 0" m
'

test_expect_success 'the relay with Slack (mock), a model (mock) and its alert webhook; each host'"'"'s edge dials out to it' '
	mock_start slack slack_mock.py &&
	llm_mock_start &&
	relay_setup 10.209.0.1 &&
	LLM_CONF_FILE=llm.part llm_conf "retries = 3;" &&
	sed -n "/^llm = {/,\$p" llm.part >>"$TRASH/relay.conf" &&
	alert_relay_conf &&
	relay_start &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	for h in web api db; do key_create $h || return 1; done &&
	drill_edge db "" "agent: { window = \"1m\"; mode = \"offline\"; };" &&
	drill_edge api "$NO_EBPF" "agent: { window = \"1m\"; mode = \"offline\"; };" &&
	drill_edge web "$NO_EBPF" \
		"agent: { window = \"1m\"; mode = \"offline\"; deadline = \"20s\"; };" &&
	wait_for 20 "edge_connected web && edge_connected api && edge_connected db"
'

test_expect_success 'the relay'"'"'s topology: web depends on api, api on db' '
	"$PY" - "$TRASH/web.topo.json" "$TRASH/api.topo.json" <<-\PYEOF &&
	import json, sys
	web, api = (json.load(open(p)) for p in sys.argv[1:3])
	assert any(c["peer"] == "10.209.0.3:8080" and c["process"] == "web-svc" for c in web["connect"]), web
	assert any(c["peer"] == "10.209.0.4:5432" and c["process"] == "api-svc" for c in api["connect"]), api
	PYEOF
	in_host web "$EDGE" connect -c "$TRASH/web.conf" --call topology.expand \
		"{\"node\": \"web\", \"hops\": 2, \"direction\": \"upstream\"}" --json >up &&
	test "$(json_get up "sorted(n[\"id\"] for n in d[\"nodes\"] if n[\"kind\"] == \"host\")")" = "[\"host:api\", \"host:db\", \"host:web\"]"
'

test_expect_success 'Prometheus scrapes web'"'"'s service (one rule: errors to api) and Alertmanager posts to the relay' '
	cat >rules.yml <<-EOF &&
	groups:
	  - name: drill
	    interval: 1s
	    rules:
	      - alert: $ALERT
	        expr: increase(drill_request_errors_total{job="web"}[10s]) > 0
	        for: 0s
	        labels: { severity: page }
	        annotations: { summary: "web fails its requests to api", description: "errors in the last 10 s" }
	EOF
	prom_alert_stack web 10.209.0.2:9100 web:9100 "http://127.0.0.1:$HTTP/alerts/alertmanager" \
		"$TOKEN" &&
	wait_for 60 "curl -sf \"http://127.0.0.1:$PPORT/api/v1/query?query=up%7Bjob%3D%22web%22%7D%3D%3D1\" | grep -q web:9100" &&
	sleep 2 && test "$(alert_row "SELECT count(*) FROM alerts")" = 0
'

test_expect_success 'the fault: db-svc crash-loops (a bad setting, restarted every 0.1 s); web'"'"'s requests fail' '
	touch db-broken &&
	in_host db kill "$(cat db-svc.pid)" &&
	wait_for 30 "\"$EDGE\" query -c db.conf \"sum(ongrid_process_exits_total{comm=\\\"db-svc\\\",code!=\\\"0\\\"}) >= 3\" 2>/dev/null | grep -q ." &&
	wait_for 20 "curl -s http://10.209.0.2:9100/metrics | grep -q \"^drill_request_errors_total [1-9]\""
'

test_expect_success 'the alert fires on web: the relay routes it to web, which investigates once' '
	wait_for 90 "test \"\$(alert_row \"SELECT edge FROM alerts WHERE alertname = \\\"$ALERT\\\"\")\" = web" &&
	wait_for 60 "test \"\$(inv_rows \"SELECT count(*) FROM investigations WHERE category IS NOT NULL\")\" = 1" &&
	inv_rows "SELECT question FROM investigations" | grep -q "Alert $ALERT is firing on web:9100: web fails its requests to api"
'

test_expect_success 'the investigation walked web -> api -> db: the root cause is db'"'"'s crash loop, with evidence from db'"'"'s edge' '
	inv=$(inv_rows "SELECT id FROM investigations") &&
	test "$(inv_rows "SELECT category FROM investigations")" = service &&
	test "$(inv_rows "SELECT component FROM investigations")" = "db:db-svc" &&
	inv_rows "SELECT statement FROM investigations" | grep -q "^db: db-svc is crash-looping" &&
	"$PY" - "$TRASH/web/timeline.db" "$inv" <<-\PYEOF &&
	import json, sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	rows = db.execute("SELECT tool, args, detail FROM steps WHERE investigation = ? AND event = ?",
	                  (sys.argv[2], "tool_result")).fetchall()
	calls = [(t, json.loads(a) if a else {}, json.loads(d) if d else {}) for t, a, d in rows]
	topo = [c for c in calls if c[0] == "topology.expand"]
	assert topo and topo[0][1] == {"node": "web", "hops": 2, "direction": "upstream"}, calls
	targets = [c[1]["target"] for c in calls if c[0] == "edge.call"]
	# nearest first: api was asked before db, and db answered about its exits
	assert "api" in targets and "db" in targets and targets.index("api") < targets.index("db"), targets
	exits = [c for c in calls if c[0] == "edge.call" and c[1]["target"] == "db"
	         and "ongrid_process_exits_total" in c[1]["args"]["query"]]
	assert exits and exits[0][2].get("status") == "executed", exits
	PYEOF
	audit_has xcall "web -> db tool query_metrics: ok" &&
	audit_has xcall "web -> api tool query_metrics: ok"
'

test_expect_success 'the thread: FIRING, then exactly one report naming db, the category and db'"'"'s evidence' '
	wait_for 20 "test -n \"\$(alert_row \"SELECT thread_id FROM alerts WHERE alertname = \\\"$ALERT\\\"\")\"" &&
	thread=$(alert_row "SELECT thread_id FROM alerts WHERE alertname = \"$ALERT\"") &&
	echo "$thread" >thread &&
	test "$(smsgs "d[\"$thread\"][\"channel\"]")" = C111 &&
	smsgs "d[\"$thread\"][\"text\"]" | grep -q "^FIRING \[page\] $ALERT on web:9100" &&
	wait_for 60 "test \"\$(in_thread $thread \"*Summary*\")\" = 1" &&
	smsgs "[m[\"text\"] for m in d.values() if \"*Summary*\" in (m[\"text\"] or \"\") and m.get(\"thread_ts\") == \"$thread\"][0]" >report.txt &&
	cat report.txt &&
	grep -q "Most likely on db, which web depends on" report.txt &&
	grep -q "db:db-svc" report.txt &&
	grep -q "service" report.txt &&
	grep -q "db-svc exited [0-9]* times with a failure" report.txt
'

test_expect_success 'Alertmanager repeats: no second investigation, no second report' '
	sleep 3 &&
	thread=$(cat thread) &&
	test "$(inv_rows "SELECT count(*) FROM investigations")" = 1 &&
	test "$(alert_row "SELECT count(*) FROM alerts WHERE alertname = \"$ALERT\"")" = 1 &&
	test "$(in_thread $thread "*Summary*")" = 1 &&
	test "$(smsgs "len([m for m in d.values() if (m[\"text\"] or \"\").startswith(\"FIRING\")])")" = 1
'

test_expect_success 'the cause removed on db: web recovers and RESOLVED lands in the same thread' '
	rm -f db-broken &&
	wait_for 30 "curl -s http://10.209.0.2:9100/metrics >m1 && sleep 1.5 && curl -s http://10.209.0.2:9100/metrics >m2 && test \"\$(grep ^drill_request_errors m1)\" = \"\$(grep ^drill_request_errors m2)\"" &&
	thread=$(cat thread) &&
	wait_for 90 "test \"\$(alert_row \"SELECT status FROM alerts WHERE alertname = \\\"$ALERT\\\"\")\" = resolved" &&
	wait_for 20 "test \"\$(in_thread $thread \"RESOLVED: $ALERT on web:9100\")\" = 1" &&
	test "$(in_thread $thread "*Summary*")" = 1 &&
	test "$(inv_rows "SELECT count(*) FROM investigations")" = 1
'

# The same incident again, under faults of ongrid itself: web now asks a model whose
# provider answers 429 and 503 first, web's tunnel restarted just before, Slack
# rate-limiting the relay's posts, the relay killed -9 and restarted while the incident is
# open. The model agrees with the planner, so the root cause is still the walk's. (Not here: the relay killed while web investigates, which loses the
# report today; see the commit that added this.)

test_expect_success 'ongrid faults: web asks a model now, whose provider answers 429 then 503; web'"'"'s tunnel restarted (it reconnects); Slack answers the next two posts with 429' '
	sed -i "s/mode = \"offline\"; deadline/mode = \"llm\"; deadline/" web.conf &&
	grep -q "mode = \"llm\"; deadline" web.conf &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[
		{\"type\":\"error\",\"status\":429,\"retry_after_ms\":\"200\"},
		{\"type\":\"error\",\"status\":503},
		{\"type\":\"text\",\"text\":\"The evidence from db stands: its service keeps exiting.\",\"usage\":[300,20]}]}]}" &&
	old=$(json_get web/tunnel.json .pid) && test -n "$old" &&
	in_host web kill "$old" &&
	wait_for 20 "! edge_connected web" &&
	edge_start web --topology "$TRASH/web.topo.json" &&
	wait_for 30 "edge_connected web" &&
	test "$(json_get web/tunnel.json .pid)" != "$old" &&
	mock_post slack _ratelimit "{\"method\": \"chat.postMessage\", \"count\": 2, \"retry_after\": 1}" >/dev/null
'

test_expect_success 'db crash-loops again: a thread of its own, exactly one report naming db, nothing posted twice' '
	touch db-broken &&
	in_host db kill "$(cat db-svc.pid)" &&
	wait_for 120 "test \"\$(alert_row \"SELECT count(*) FROM alerts WHERE alertname = \\\"$ALERT\\\" AND thread_id != \\\"\\\"\")\" = 2" &&
	thread2=$(alert_row "SELECT thread_id FROM alerts WHERE alertname = \"$ALERT\" AND status = \"firing\"") &&
	test -n "$thread2" && test "$thread2" != "$(cat thread)" && echo "$thread2" >thread2 &&
	wait_for 90 "test \"\$(in_thread $thread2 \"*Summary*\")\" = 1" &&
	smsgs "[m[\"text\"] for m in d.values() if \"*Summary*\" in (m[\"text\"] or \"\") and m.get(\"thread_ts\") == \"$thread2\"][0]" >report2.txt &&
	cat report2.txt &&
	grep -q "Most likely on db, which web depends on" report2.txt &&
	grep -q "db:db-svc" report2.txt &&
	grep -q "db-svc exited [0-9]* times with a failure" report2.txt &&
	grep -q "llm:oai/gpt-4o" report2.txt &&
	llm_mock_requests llm.json &&
	test "$(llm_mock_count llm.json openai)" -ge 3 &&
	grep -q "oai/gpt-4o: HTTP 429.*retrying" "$TRASH/relay.log" &&
	grep -q "oai/gpt-4o: HTTP 503.*retrying" "$TRASH/relay.log" &&
	json_get llm.json "[r for r in d if r[\"provider\"] == \"openai\"][0][\"body\"]" >prompt1 &&
	grep -q "db-svc exited" prompt1 &&
	mock_get slack _log slog.json &&
	test "$(json_get slog.json "len([c for c in d[\"calls\"] if c[\"method\"] == \"chat.postMessage\" and c.get(\"status\") == 429])")" = 2 &&
	sleep 3 &&
	test "$(in_thread $thread2 "*Summary*")" = 1 &&
	test "$(inv_rows "SELECT count(*) FROM investigations")" = 2 &&
	test "$(smsgs "len([m for m in d.values() if (m[\"text\"] or \"\").startswith(\"FIRING\")])")" = 2 &&
	smsgs "[m[\"text\"] for m in d.values() if m.get(\"thread_ts\") == \"$thread2\"]" >texts2.json &&
	test "$(json_get texts2.json "len(d) == len(set(d))")" = true
'

test_expect_success 'the relay killed -9 and restarted with the incident open: RESOLVED still lands once, in its thread' '
	relay_kill9 &&
	relay_start &&
	wait_for 15 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	wait_for 30 "edge_connected web && edge_connected api && edge_connected db" &&
	rm -f db-broken &&
	thread2=$(cat thread2) &&
	wait_for 90 "test \"\$(alert_row \"SELECT count(*) FROM alerts WHERE alertname = \\\"$ALERT\\\" AND status = \\\"resolved\\\"\")\" = 2" &&
	wait_for 20 "test \"\$(in_thread $thread2 \"RESOLVED: $ALERT on web:9100\")\" = 1" &&
	sleep 2 &&
	test "$(in_thread $thread2 "RESOLVED: $ALERT on web:9100")" = 1 &&
	test "$(in_thread "$(cat thread)" "RESOLVED: $ALERT on web:9100")" = 1 &&
	test "$(in_thread $thread2 "*Summary*")" = 1 &&
	test "$(inv_rows "SELECT count(*) FROM investigations")" = 2
'

test_done
