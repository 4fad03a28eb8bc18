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

# the tunnels send their host's connections to the relay every 2 s (60 s by default)
export ONGRID_RELAY_TOPOLOGY_INTERVAL=2s
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
press() { # USER VALUE MESSAGE_TS THREAD_TS: USER presses Approve on the message (Slack block_actions)
	mock_post slack _event "{\"type\":\"interactive\",\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":\"$1\",\"username\":\"u\",\"team_id\":\"T111\"},\"team\":{\"id\":\"T111\",\"domain\":\"acme\"},\"container\":{\"type\":\"message\",\"message_ts\":\"$3\",\"channel_id\":\"C111\",\"is_ephemeral\":false,\"thread_ts\":\"$4\"},\"channel\":{\"id\":\"C111\",\"name\":\"ops\"},\"actions\":[{\"type\":\"button\",\"action_id\":\"approve\",\"block_id\":\"approval:x\",\"value\":\"$2\",\"action_ts\":\"1.2\"}]}}" >/dev/null
}
db_approvals() { # SQL over db's approvals.db, one row as JSON
	"$PY" -c 'import json,sqlite3,sys; print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))' \
		"$TRASH/db/approvals.db" "$1"
}
edge_pid() { # HOST ROLE: the pid (root namespace) of HOST's `ongrid-edge ROLE`
	for p in $(pgrep -x ongrid-edge); do
		tr "\0" " " <"/proc/$p/cmdline" 2>/dev/null | grep -q "ongrid-edge $2 -c $TRASH/$1.conf" && echo "$p"
	done
	return 0
}
web_errors() { curl -s http://10.209.0.2:9100/metrics | sed -n "s/^drill_request_errors_total //p"; }

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
	key_create web dangerous && key_create api && key_create db &&
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

test_expect_success 'a service started on db after the tunnels connected reaches the relay'"'"'s topology: api depends on it now' '
	cp "$PY" db-cache &&
	daemon_start cache $(host_enter db) "$TRASH/db-cache" -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"10.209.0.4\", 6379)); s.listen(8)
conns = [s.accept()[0] for _ in range(8)]" &&
	wait_for 10 "drill_listens db 6379" &&
	daemon_start cache-client $(host_enter api) "$PY" -c "import socket, time
c = socket.create_connection((\"10.209.0.4\", 6379)); time.sleep(100000)" &&
	wait_for 20 "in_host web \"$EDGE\" connect -c \"$TRASH/web.conf\" --call topology.find \"{\\\"query\\\": \\\"db-cache\\\"}\" --json >found 2>/dev/null && test \"\$(json_get found \"d[\\\"nodes\\\"][0][\\\"id\\\"]\")\" = service:db:6379" &&
	wait_for 20 "in_host web \"$EDGE\" connect -c \"$TRASH/web.conf\" --call topology.expand \"{\\\"node\\\": \\\"api\\\", \\\"hops\\\": 1, \\\"direction\\\": \\\"upstream\\\"}\" --json >up2 2>/dev/null && grep -q service:db:6379 up2" &&
	cat up2 &&
	test "$(json_get up2 "sorted(n[\"id\"] for n in d[\"nodes\"] if n[\"kind\"] != \"host\")")" = "[\"service:db:5432\", \"service:db:6379\"]"
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
# open. The model agrees with the planner, so the root cause is still the walk's. (The
# relay killed while web investigates is the third incident's.)

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
	EDGE_WRAP="$(host_enter web)" edge_start web &&
	wait_for 30 "edge_connected web" &&
	test "$(json_get web/tunnel.json .pid)" != "$old" &&
	mock_post slack _ratelimit "{\"method\": \"chat.postMessage\", \"count\": 2, \"retry_after\": 1}" >/dev/null
'

test_expect_success 'db crash-loops again, with db'"'"'s tunnel down when web'"'"'s walk first asks it (it waits, asks again once db is back): a thread of its own, exactly one report naming db, nothing posted twice' '
	dold=$(json_get db/tunnel.json .pid) && test -n "$dold" &&
	in_host db kill "$dold" &&
	wait_for 20 "! edge_connected db" &&
	touch db-broken &&
	in_host db kill "$(cat db-svc.pid)" &&
	wait_for 120 "test \"\$(alert_row \"SELECT count(*) FROM alerts WHERE alertname = \\\"$ALERT\\\" AND thread_id != \\\"\\\"\")\" = 2" &&
	thread2=$(alert_row "SELECT thread_id FROM alerts WHERE alertname = \"$ALERT\" AND status = \"firing\"") &&
	test -n "$thread2" && test "$thread2" != "$(cat thread)" && echo "$thread2" >thread2 &&
	wait_for 90 "grep -q \"walk: db is not connected to the relay\" \"$TRASH/edge-web.log\"" &&
	EDGE_WRAP="$(host_enter db)" edge_start db &&
	wait_for 30 "edge_connected db" &&
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

# The third incident: db's disk. A runaway export on db unlinks its spool file and keeps
# writing it, so the data file system fills with space `du` cannot find, db-svc cannot
# write its log and answers errors. db's edge daemon is killed -9 and restarted meanwhile. The relay is killed -9 while web investigates: web's
# calls through it are asked again once its tunnel is back, and the report, whose request
# died with the relay, comes through web's outbox. The fix is to stop the export: a dangerous call, which
# web's investigation proposes on db (web's key may propose there, db's gate records it)
# and which runs on db only when an admin approves it in the thread.

test_expect_success 'db'"'"'s disk fills: a runaway export holds a deleted spool file; db'"'"'s edge daemon is killed -9 and restarted, then the relay is killed -9 while web investigates; the thread still gets, once, db'"'"'s full file system and a proposal to stop the export on db, which does not run' '
	truncate -s 32M db-data.img && mkfs.ext4 -q -F -m 0 db-data.img &&
	in_host db mount -o loop "$TRASH/db-data.img" "$TRASH/db-data" &&
	at_exit "$(host_enter db) umount \"$TRASH/db-data\" 2>/dev/null" &&
	in_host db findmnt -n "$TRASH/db-data" >/dev/null &&
	! findmnt -n "$TRASH/db-data" >/dev/null &&
	# the earlier crash loop out of the window the walk looks at (agent.window 1m)
	wait_for 100 "! \"$EDGE\" query -c db.conf \"sum(increase(ongrid_process_exits_total{comm=\\\"db-svc\\\",code!=\\\"0\\\"}[75s])) > 0\" 2>/dev/null | grep -q ." &&
	cp "$PY" db-export &&
	cat >export.py <<-\PYEOF &&
	import os, sys, time
	spool = os.path.join(sys.argv[1], "export.spool")
	fd = os.open(spool, os.O_WRONLY | os.O_CREAT, 0o644)
	os.unlink(spool)  # "cleaned up" early: the file lives on while it is open
	while True:  # a block at a time, so it takes the last free block too
	    try:
	        os.write(fd, b"\0" * 4096)
	    except OSError:
	        time.sleep(0.2)
	PYEOF
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[
		{\"type\":\"text\",\"text\":\"The evidence from db stands: its data disk is full.\",\"usage\":[300,20],\"delay_ms\":8000},
		{\"type\":\"text\",\"text\":\"The evidence from db stands: its data disk is full.\",\"usage\":[300,20]}]}]}" &&
	errors0=$(web_errors) &&
	daemon_start export $(host_enter db) "$TRASH/db-export" "$TRASH/export.py" "$TRASH/db-data" &&
	wait_for 20 "test \"\$(in_host db df --output=avail \"$TRASH/db-data\" | tail -1)\" -lt 1024" &&
	wait_for 20 "test \"\$(web_errors)\" -gt $errors0" &&
	# db'"'"'s edge daemon killed -9 in the middle of it and started again: what it had
	# recorded of the filling disk is still there for the walk
	dpid=$(edge_pid db run) && test -n "$dpid" && kill -9 "$dpid" &&
	wait_for 10 "test -z \"\$(edge_pid db run)\"" &&
	# gone from the process list is not gone from the socket yet: an exit that tears down
	# a large address space (ASan'"'"'s shadow) closes its files last
	wait_for 20 "\"$EDGE\" status -c db.conf --json >dbst0.json 2>/dev/null; test \"\$(json_get dbst0.json .daemon.running)\" = false" &&
	daemon_start daemon-db-again $(host_enter db) "$EDGE" run -c "$TRASH/db.conf" &&
	wait_for 20 "\"$EDGE\" status -c db.conf --json >dbst.json 2>/dev/null && test \$(json_get dbst.json .daemon.rounds) -ge 2" &&
	wait_for 120 "test \"\$(alert_row \"SELECT count(*) FROM alerts WHERE alertname = \\\"$ALERT\\\" AND thread_id != \\\"\\\"\")\" = 3" &&
	thread3=$(alert_row "SELECT thread_id FROM alerts WHERE alertname = \"$ALERT\" AND status = \"firing\"") &&
	test -n "$thread3" && echo "$thread3" >thread3 &&
	# the relay killed -9 while web investigates, its first model call held by the provider
	wait_for 60 "llm_mock_requests reqs3.json && test \$(json_get reqs3.json \"len([r for r in d if r[\\\"provider\\\"] == \\\"openai\\\"])\") -ge 1" &&
	test "$(in_thread $thread3 "*Summary*")" = 0 &&
	relay_kill9 &&
	relay_start &&
	wait_for 15 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	wait_for 30 "edge_connected web && edge_connected api && edge_connected db" &&
	wait_for 90 "test \"\$(in_thread $thread3 \"*Summary*\")\" = 1" &&
	grep -q "the link to the relay dropped; asking again now that it is back" "$TRASH/edge-web.log" &&
	smsgs "[m[\"text\"] for m in d.values() if \"*Summary*\" in (m[\"text\"] or \"\") and m.get(\"thread_ts\") == \"$thread3\"][0]" >report3.txt &&
	cat report3.txt &&
	grep -q "Most likely on db, which web depends on" report3.txt &&
	grep -q "db:$TRASH/db-data" report3.txt &&
	grep -q "filesystem $TRASH/db-data is 100% full" report3.txt &&
	grep -q "db: pid [0-9]* (db-export) holds [0-9.]* MiB of deleted files on $TRASH/db-data" report3.txt &&
	grep -q "kill_process.*{\"pid\":[0-9]*}.* on db dangerous, proposed" report3.txt &&
	wait_for 10 "test \"\$(in_thread $thread3 \"Proposed action\")\" = 1" &&
	smsgs "[ts for ts, m in d.items() if m.get(\"thread_ts\") == \"$thread3\" and \"Proposed action\" in (m[\"text\"] or \"\")][0]" >button_ts &&
	smsgs "d[\"$(cat button_ts)\"][\"text\"]" >proposal.txt &&
	grep -q "kill_process" proposal.txt && grep -q " on db " proposal.txt &&
	smsgs "[e[\"value\"] for b in (d[\"$(cat button_ts)\"][\"blocks\"] or []) for e in b.get(\"elements\", []) if e.get(\"action_id\") == \"approve\"][0]" >action_id &&
	id=$(cat action_id) && test -n "$id" &&
	# db holds it, pending, proposed by web for the export (its pid in db'"'"'s namespace)
	test "$(db_approvals "SELECT tool, status, requested_by FROM approvals WHERE id = \"$id\"")" = "[[\"kill_process\", \"pending\", \"web\"]]" &&
	grep -q "pid $(db_approvals "SELECT json_extract(args, \"\$.pid\") FROM approvals WHERE id = \"$id\"" | tr -d "[]") (db-export)" report3.txt &&
	test "$(alert_row "SELECT edge FROM chat_approvals WHERE action_id = \"$id\"")" = db &&
	sleep 2 &&
	pgrep -x db-export >/dev/null &&
	test "$(in_host db df --output=avail "$TRASH/db-data" | tail -1)" -lt 1024
'

test_expect_success 'the fix: a viewer'"'"'s approval is refused; the admin'"'"'s runs kill_process on db, the space comes back, web recovers and RESOLVED lands in the thread' '
	id=$(cat action_id) && thread3=$(cat thread3) &&
	press U444 "$id" "$(cat button_ts)" "$thread3" &&
	wait_for 10 "test \"\$(in_thread $thread3 \"slack:U444 may not decide $id\")\" = 1" &&
	sleep 1 &&
	pgrep -x db-export >/dev/null &&
	test "$(db_approvals "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"pending\"]]" &&
	press U222 "$id" "$(cat button_ts)" "$thread3" &&
	wait_for 30 "test \"\$(in_thread $thread3 \"kill_process on db: executed\")\" = 1" &&
	wait_for 10 "! pgrep -x db-export >/dev/null" &&
	test "$(db_approvals "SELECT status FROM approvals WHERE id = \"$id\"")" = "[[\"done\"]]" &&
	test "$(db_approvals "SELECT who, decision FROM decisions WHERE approval_id = \"$id\"")" = "[[\"slack:U222\", \"approve\"]]" &&
	test "$(in_host db df --output=avail "$TRASH/db-data" | tail -1)" -gt 16384 &&
	wait_for 30 "e1=\$(web_errors) && sleep 1.5 && test \"\$(web_errors)\" = \"\$e1\"" &&
	wait_for 90 "test \"\$(alert_row \"SELECT count(*) FROM alerts WHERE alertname = \\\"$ALERT\\\" AND status = \\\"resolved\\\"\")\" = 3" &&
	wait_for 20 "test \"\$(in_thread $thread3 \"RESOLVED: $ALERT on web:9100\")\" = 1" &&
	test "$(in_thread $thread3 "*Summary*")" = 1 &&
	test "$(smsgs "len([m for m in d.values() if (m[\"text\"] or \"\").startswith(\"FIRING\")])")" = 3 &&
	test "$(in_thread $thread3 "Approved $id (kill_process) on its way to the edge by slack:U222: db recorded it.")" = 1 &&
	test "$(in_thread $thread3 "kill_process on db: executed")" = 1 &&
	test "$(inv_rows "SELECT count(*) FROM investigations")" = 3
'

test_expect_success 'after three incidents and the faults, every edge daemon and tunnel and the relay are up; what each used (bench/drill.sh reports it)' '
	llm_mock_requests llm.json &&
	"$PY" "$SRC/tests/lib/drill_footprint.py" "$TRASH" footprint.json &&
	cat footprint.json &&
	test "$(json_get footprint.json "sorted(p[\"role\"] for p in d[\"processes\"])")" = "[\"api connect\", \"api run\", \"db connect\", \"db run\", \"relay run\", \"web connect\", \"web run\"]" &&
	{ test -z "${DRILL_FOOTPRINT:-}" || cp footprint.json "$DRILL_FOOTPRINT"; }
'

test_done
