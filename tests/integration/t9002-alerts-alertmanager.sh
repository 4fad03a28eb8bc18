#!/bin/sh
test_description='Alertmanager to root cause: a real Prometheus scrapes the edge and fires, a real Alertmanager posts to the relay, the relay routes to the real edge, which investigates, and opens a Slack thread (mock) with its report; resolved lands in the same thread; webhook auth and malformed payloads'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"
. "$SRC/tests/mock/chat_lib.sh"
. "$SRC/tests/lib/alert-lib.sh"

# web-1 is the real edge: `ongrid-edge run` (collecting, serving /metrics, which
# Prometheus scrapes as instance="web-1:PORT") and `ongrid-edge connect` holding the
# tunnel, which runs the investigation the alert asks for (offline planner). db-1, which
# only receives hand-posted alerts, is tests/mock/edge_stub.py.

test_have_prereq PROMETHEUS || skip_all "prometheus and promtool are not installed"
command -v prometheus-alertmanager >/dev/null || skip_all "prometheus-alertmanager is not installed"

HTTP=$(free_port)
MET=$(free_port)
PPORT=$(free_port)
APORT=$(free_port)
TOKEN=t0ken-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")
hook=http://127.0.0.1:$HTTP/alerts/alertmanager

smsgs() { mock_get slack _messages "$TRASH/smsgs.json"; json_get "$TRASH/smsgs.json" "$1"; }
ninv() { # EDGE: investigations it was asked for (web-1: those it ran, from its timeline)
	if [ "$1" = web-1 ]; then
		inv_rows "SELECT count(*) FROM investigations"
	else
		stub_log_get "len([x for x in d if x[\"type\"] == \"investigate\" and x[\"edge\"] == \"$1\"])"
	fi
}
inv_rows() { # SQL over the real edge's timeline.db, one value (0 before it exists)
	if [ -f "$TRASH/web-1/timeline.db" ]; then
		"$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
			"$TRASH/web-1/timeline.db" "$1"
	else
		echo 0
	fi
}
alert_row() { # SQL over the relay's alerts table, one value
	"$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' \
		"$TRASH/relay/relay.sqlite" "$1"
}
post() { # AUTH_HEADER BODY_FILE: status code, body in post.out
	curl -s -o post.out -w "%{http_code}" ${1:+-H "$1"} -H "Content-Type: application/json" \
		--data-binary "@$2" "$hook"
}

test_expect_success PYTHON3 'relay with Slack (mock) and the HTTP listener; the real edge web-1 (daemon serving /metrics, tunnel); db-1 a stand-in' '
	mock_start slack slack_mock.py &&
	relay_setup &&
	alert_relay_conf &&
	relay_start &&
	grep -q "HTTP on 127.0.0.1:$HTTP" "$TRASH/relay.log" &&
	wait_for 10 "grep -q \"Socket Mode connected\" \"$TRASH/relay.log\"" &&
	stub_start db-1 &&
	key_create web-1 &&
	edge_conf web-1 web-1 "control_socket = \"$TRASH/edge.sock\";
collect: { interval = \"1s\"; };
metrics: { listen = \"127.0.0.1:$MET\"; };
agent: { window = \"1m\"; mode = \"offline\"; };" &&
	daemon_start edge "$EDGE" run -c web-1.conf &&
	wait_for 10 "curl -sf http://127.0.0.1:$MET/metrics >/dev/null" &&
	edge_start web-1 &&
	wait_for 15 "edge_connected web-1"
'

test_expect_success 'no credentials or a wrong token: 401, nothing recorded' '
	cat >one.json <<-EOF &&
	{"version":"4","groupKey":"{}:{alertname=\"X\"}","status":"firing","receiver":"ongrid",
	 "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
	 "alerts":[{"status":"firing","labels":{"alertname":"X","instance":"db-1:9100"},
	   "annotations":{"summary":"s"},"startsAt":"2026-08-20T10:02:11.123Z",
	   "endsAt":"0001-01-01T00:00:00Z","fingerprint":"f00d"}]}
	EOF
	test "$(post "" one.json)" = 401 && grep -q "unauthorized" post.out &&
	test "$(post "Authorization: Bearer wrong" one.json)" = 401 &&
	test "$(post "Authorization: Bearer ${TOKEN}x" one.json)" = 401 &&
	test "$(post "Authorization: Basic $(printf "a:b" | base64)" one.json)" = 401 &&
	test "$(alert_row "SELECT count(*) FROM alerts")" = 0 &&
	test "$(ninv db-1)" = 0
'

test_expect_success 'malformed payloads: 400 naming what is wrong; other paths and methods' '
	printf "{not json" >bad1.json &&
	test "$(post "Authorization: Bearer $TOKEN" bad1.json)" = 400 && grep -q "malformed payload" post.out &&
	sed "s/\"version\":\"4\"/\"version\":\"3\"/" one.json >bad2.json &&
	test "$(post "Authorization: Bearer $TOKEN" bad2.json)" = 400 && grep -q "version: expected \"4\"" post.out &&
	sed "s/\"labels\":{\"alertname\":\"X\",\"instance\":\"db-1:9100\"}/\"labels\":[1]/" one.json >bad3.json &&
	test "$(post "Authorization: Bearer $TOKEN" bad3.json)" = 400 && grep -q "alerts\[0\].labels: expected an object" post.out &&
	sed "s/\"status\":\"firing\",\"labels\"/\"status\":\"burning\",\"labels\"/" one.json >bad4.json &&
	test "$(post "Authorization: Bearer $TOKEN" bad4.json)" = 400 && grep -q "alerts\[0\].status: expected firing or resolved" post.out &&
	test "$(curl -s -o /dev/null -w %{http_code} "$hook")" = 405 &&
	test "$(curl -s -o /dev/null -w %{http_code} "http://127.0.0.1:$HTTP/nope")" = 404 &&
	head -c 2000000 /dev/zero | tr "\0" " " >big.json &&
	test "$(post "Authorization: Bearer $TOKEN" big.json)" = 413 &&
	test "$(alert_row "SELECT count(*) FROM alerts")" = 0
'

test_expect_success 'a hand-posted alert for db-1 routes there by instance; a repeat is counted, not re-posted' '
	test "$(post "Authorization: Bearer $TOKEN" one.json)" = 200 &&
	test "$(json_get post.out "d[\"alerts\"][0][\"edge\"]")" = db-1 &&
	wait_for 15 "test \$(ninv db-1) = 1" &&
	test "$(ninv web-1)" = 0 &&
	stub_log_get "d[-1][\"payload\"][\"question\"]" | grep -q "Alert X is firing on db-1:9100" &&
	test "$(post "Authorization: Bearer $TOKEN" one.json)" = 200 &&
	test "$(json_get post.out "d[\"alerts\"][0][\"action\"]")" = repeat &&
	test "$(alert_row "SELECT repeats FROM alerts WHERE fingerprint = \"f00d\"")" = 1 &&
	sleep 1 && test "$(ninv db-1)" = 1 &&
	test "$(smsgs "len([m for m in d.values() if m[\"text\"] and m[\"text\"].startswith(\"FIRING\") and \" X on \" in m[\"text\"]])")" = 1
'

test_expect_success 'basic auth works too when alerts.user is set' '
	daemon_stop relay && mv "$TRASH/relay.log" "$TRASH/relay.log.1" &&
	sed -i "s/alerts: { token = \"$TOKEN\";/alerts: { user = \"am\"; password = \"pw\";/" "$TRASH/relay.conf" &&
	relay_start &&
	sed -e "s/f00d/beef/" -e "s/\"alertname\":\"X\"/\"alertname\":\"Y\"/" one.json >two.json &&
	test "$(post "Authorization: Basic $(printf "am:pw" | base64)" two.json)" = 200 &&
	test "$(post "Authorization: Basic $(printf "am:px" | base64)" two.json)" = 401 &&
	test "$(post "Authorization: Bearer $TOKEN" two.json)" = 401 &&
	daemon_stop relay && mv "$TRASH/relay.log" "$TRASH/relay.log.2" &&
	sed -i "s/alerts: { user = \"am\"; password = \"pw\";/alerts: { token = \"$TOKEN\";/" "$TRASH/relay.conf" &&
	relay_start && wait_for 15 "edge_connected web-1" && wait_for 15 "edge_connected db-1"
'

test_expect_success 'start Prometheus (scraping the edge, one rule) and Alertmanager (webhook to the relay)' '
	cat >rules.yml <<-EOF &&
	groups:
	  - name: ongrid
	    interval: 1s
	    rules:
	      - alert: EdgeScraped
	        expr: up{job="ongrid-edge"} == 1
	        for: 0s
	        labels: { severity: page }
	        annotations: { summary: "the ongrid edge answers scrapes", description: "up is 1" }
	EOF
	prom_alert_stack ongrid-edge "127.0.0.1:$MET" "web-1:$MET" "$hook" "$TOKEN"
'

test_expect_success 'the alert fires: the relay records it, routes it to web-1, and web-1 is asked to investigate' '
	wait_for 90 "test \"\$(alert_row \"SELECT edge FROM alerts WHERE alertname = \\\"EdgeScraped\\\"\")\" = web-1" &&
	wait_for 60 "test \$(ninv web-1) = 1" &&
	inv_rows "SELECT question FROM investigations" >q &&
	grep -q "Alert EdgeScraped is firing on web-1:$MET: the ongrid edge answers scrapes" q &&
	audit_has alert.firing "EdgeScraped on web-1:$MET"
'

test_expect_success 'the alert opened a thread in C111 and the report landed in it' '
	wait_for 20 "test -n \"\$(alert_row \"SELECT thread_id FROM alerts WHERE alertname = \\\"EdgeScraped\\\"\")\"" &&
	thread=$(alert_row "SELECT thread_id FROM alerts WHERE alertname = \"EdgeScraped\"") &&
	echo "$thread" >thread &&
	test "$(smsgs "d[\"$thread\"][\"channel\"]")" = C111 &&
	smsgs "d[\"$thread\"][\"text\"]" | grep -q "^FIRING \[page\] EdgeScraped on web-1:$MET" &&
	wait_for 60 "smsgs \"any(\\\"*Summary*\\\" in (m[\\\"text\\\"] or \\\"\\\") and m.get(\\\"thread_ts\\\") == \\\"$thread\\\" for m in d.values())\" | grep -q true" &&
	inv_rows "SELECT summary FROM investigations" >summary && test -s summary &&
	smsgs "any(__import__(\"html\").escape(open(\"summary\").read().strip()[:60], quote=False) in (m[\"text\"] or \"\") and m.get(\"thread_ts\") == \"$thread\" for m in d.values())" | grep -q true &&
	test -n "$(alert_row "SELECT incident FROM alerts WHERE alertname = \"EdgeScraped\"")" &&
	inc=$(alert_row "SELECT incident FROM alerts WHERE alertname = \"EdgeScraped\"") &&
	test "$(alert_row "SELECT thread_id FROM chat_incidents WHERE id = \"$inc\"")" = "$thread" &&
	test "$(alert_row "SELECT edge FROM chat_incidents WHERE id = \"$inc\"")" = web-1
'

test_expect_success 'Alertmanager repeats do not open a second thread or investigation' '
	sleep 3 &&
	test "$(ninv web-1)" = 1 &&
	test "$(alert_row "SELECT count(*) FROM alerts WHERE alertname = \"EdgeScraped\"")" = 1
'

test_expect_success 'the edge stops answering: resolved lands in the same thread' '
	daemon_stop edge &&
	thread=$(cat thread) &&
	wait_for 90 "test \"\$(alert_row \"SELECT status FROM alerts WHERE alertname = \\\"EdgeScraped\\\"\")\" = resolved" &&
	wait_for 20 "smsgs \"any((m[\\\"text\\\"] or \\\"\\\").startswith(\\\"RESOLVED: EdgeScraped on web-1:$MET\\\") and m.get(\\\"thread_ts\\\") == \\\"$thread\\\" for m in d.values())\" | grep -q true" &&
	test "$(ninv web-1)" = 1
'

test_expect_success 'post-mortem draft: timeline with the alert, report and resolution; posted into the thread and to DingTalk' '
	inc=$(alert_row "SELECT incident FROM alerts WHERE alertname = \"EdgeScraped\"") &&
	"$RELAY" postmortem "$inc" -c "$TRASH/relay.conf" >pm.md &&
	cat pm.md &&
	grep -q "^# Post-mortem (draft): EdgeScraped on web-1:$MET" pm.md &&
	grep -q "^- \*\*Host\*\*: web-1" pm.md &&
	grep -q "^- \*\*Resolved\*\*: " pm.md &&
	grep -q "alert \*\*EdgeScraped\*\* fired on web-1:$MET (severity page)" pm.md &&
	grep -q "alert \*\*EdgeScraped\*\* resolved" pm.md &&
	grep -q "report from web-1: " pm.md &&
	grep -q "asked (user): Alert EdgeScraped is firing" pm.md &&
	test "$(grep -n "fired on" pm.md | cut -d: -f1)" -lt "$(grep -n "EdgeScraped\*\* resolved" pm.md | cut -d: -f1)" &&
	test_expect_code 2 "$RELAY" postmortem nope -c "$TRASH/relay.conf" 2>err && grep -q "no incident .nope." err &&
	test_expect_code 2 "$RELAY" postmortem "$inc" --to email -c "$TRASH/relay.conf" 2>err &&
	"$RELAY" postmortem "$inc" --to thread -c "$TRASH/relay.conf" &&
	thread=$(cat thread) &&
	wait_for 10 "smsgs \"any((m[\\\"text\\\"] or \\\"\\\").startswith(\\\"# Post-mortem (draft)\\\") and m.get(\\\"thread_ts\\\") == \\\"$thread\\\" for m in d.values())\" | grep -q true" &&
	test_expect_code 2 "$RELAY" postmortem "$inc" --to dingtalk -c "$TRASH/relay.conf" 2>err &&
	grep -q "chat.dingtalk.webhook is not set" err &&
	mock_start hooks webhook_mock.py &&
	cat >pm.conf <<-EOF &&
	data_dir = "$TRASH/relay";
	chat: { dingtalk: { webhook = "http://127.0.0.1:$(mock_port hooks)/robot/send?access_token=dt-token";
	                    secret = "SECdingtalk-secret"; }; };
	EOF
	"$RELAY" postmortem "$inc" --to dingtalk -c pm.conf >out &&
	grep -q "posted to dingtalk" out &&
	mock_get hooks _log hooks.json &&
	test "$(json_get hooks.json "[e[\"ok\"] for e in d if e[\"robot\"] == \"dingtalk\"]")" = "[true]" &&
	json_get hooks.json "[e for e in d if e[\"robot\"] == \"dingtalk\"][0][\"body\"][\"markdown\"][\"text\"]" | grep -q "EdgeScraped\*\* resolved" &&
	test "$(json_get hooks.json "[e for e in d if e[\"robot\"] == \"dingtalk\"][0][\"body\"][\"markdown\"][\"title\"]")" = "[ongrid] post-mortem $inc"
'

test_done
