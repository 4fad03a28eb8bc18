#!/bin/sh
test_description='ongrid-edge logs and patterns: LogQL over indexed files, errors that name the position, patterns new or spiked since T'
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p logs data
cat >edge.conf <<EOF
name = "t3002";
data_dir = "$TRASH/data";
logs = { paths = ["$TRASH/logs/*.log"]; labels = ["env=test", "team=ops"]; };
EOF

# Lines carry their own RFC 3339 times (relative to now) so the windows are exact:
# an hour of steady "checkpoint" lines, then in the last 10 minutes 240 connection
# resets from different peers (new) and a spike of slow queries.
cat >gen.py <<'PYEOF'
import datetime, json, sys
now = datetime.datetime.now(datetime.timezone.utc)
def ts(minutes_ago, sec=0):
    t = now - datetime.timedelta(minutes=minutes_ago) + datetime.timedelta(seconds=sec)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
api = open("logs/api.log", "w")
db = open("logs/db.log", "w")
for m in range(70, 10, -1):
    db.write("%s INFO checkpoint complete in %d ms\n" % (ts(m), 10 + m))
    db.write("%s WARN slow query on table orders took %d ms\n" % (ts(m, 1), 500 + m))
for i in range(240):
    api.write("%s ERROR read tcp 10.0.%d.%d:%d->10.0.0.7:5432: read: connection reset by peer\n"
              % (ts(8, i), i % 4, i % 250, 30000 + i * 7))
for i in range(60):
    db.write("%s WARN slow query on table orders took %d ms\n" % (ts(7, i), 900 + i))
for i in range(10):
    api.write(json.dumps({"time": ts(5, i), "level": "error" if i < 4 else "info",
                          "status": 503 if i < 4 else 200, "path": "/v1/orders"}) + "\n")
PYEOF

test_expect_success 'no index yet: logs says so and exits 1' '
	test_expect_code 1 "$EDGE" logs -c edge.conf "{env=\"test\"}" 2>err &&
	grep -q "no log index in .*data/logs. yet" err
'

test_expect_success PYTHON3 'tail --once indexes both files and says the journal is absent' '
	"$PY" gen.py &&
	"$EDGE" tail -c edge.conf --once --json >tail.json &&
	test "$(json_get tail.json .lines_indexed_now)" = 430 &&
	if [ ! -d /var/log/journal ] && [ ! -d /run/log/journal ]; then
		json_get tail.json .journal | grep -q "no systemd journal on this host"
	fi
'

test_expect_success PYTHON3 'a selector with line filters prints time, labels and line' '
	"$EDGE" logs -c edge.conf "{file=~\".*/api.log\"} |= \"reset by peer\" |~ \"10\\\\.0\\\\.3\\\\.\"" --limit 1000 >out &&
	test $(wc -l <out) = 60 &&
	head -1 out | grep -q "^20[0-9-]*T[0-9:.]*Z {env=\"test\",file=\".*/api.log\",host=\"t3002\",level=\"error\",team=\"ops\"} .* connection reset by peer$"
'

test_expect_success PYTHON3 'lines come newest first and --limit caps them' '
	"$EDGE" logs -c edge.conf "{team=\"ops\", file=~\".*db.log\"} != \"checkpoint\"" --limit 2 --json >out.json &&
	test "$(json_get out.json "len(d[\"result\"])")" = 2 &&
	json_get out.json "d[\"result\"][0][\"line\"]" | grep -q "took 959 ms" &&
	test "$(json_get out.json .limited)" = true
'

test_expect_success PYTHON3 '--since narrows the window by the lines own times' '
	"$EDGE" logs -c edge.conf "{file=~\".*db.log\"} |= \"checkpoint\"" --since 35m --limit 1000 --json >out.json &&
	test "$(json_get out.json "len(d[\"result\"])")" = 24
'

test_expect_success PYTHON3 'json parser and a numeric label filter' '
	"$EDGE" logs -c edge.conf "{file=~\".*api.log\"} | json | status >= 500 | line_format \"{{.path}} {{.status}}\"" --json >out.json &&
	test "$(json_get out.json "len(d[\"result\"])")" = 4 &&
	test "$(json_get out.json "d[\"result\"][0][\"line\"]")" = "/v1/orders 503"
'

test_expect_success PYTHON3 'count_over_time summed by level' '
	"$EDGE" logs -c edge.conf "sum by (level) (count_over_time({env=\"test\"}[2h]))" --json >out.json &&
	json_get out.json "sorted((r[\"metric\"].get(\"level\",\"-\"), r[\"value\"][1]) for r in d[\"result\"])" >got &&
	echo "[[\"error\", \"244\"], [\"info\", \"66\"], [\"warn\", \"120\"]]" >want &&
	test_cmp want got
'

test_expect_success PYTHON3 'rate and topk' '
	"$EDGE" logs -c edge.conf "topk(1, sum by (file) (rate({env=\"test\"} |= \"reset\" [10m])))" --json >out.json &&
	test "$(json_get out.json "len(d[\"result\"])")" = 1 &&
	test "$(json_get out.json "d[\"result\"][0][\"value\"][1]")" = 0.40000000000000002
'

test_expect_success PYTHON3 'a range query gives one point per step' '
	"$EDGE" logs -c edge.conf "sum(count_over_time({file=~\".*db.log\"} |= \"checkpoint\" [10m]))" --since 1h --step 10m --json >out.json &&
	test "$(json_get out.json .resultType)" = matrix &&
	test "$(json_get out.json "len(d[\"result\"][0][\"values\"])")" -ge 5
'

test_expect_success 'a bad query exits 2 naming the position and what was expected' '
	test_expect_code 2 "$EDGE" logs -c edge.conf "{app>\"x\"}" 2>err &&
	grep -q "^ongrid-edge logs: at 1:5: expected .=., .!=., .=~. or .!~. after label name .app." err &&
	test_expect_code 2 "$EDGE" logs -c edge.conf "rat({a=\"b\"}[5m])" 2>err &&
	grep -q "unknown function .rat. (did you mean .rate.?)" err &&
	test_expect_code 2 "$EDGE" logs -c edge.conf "{a=\"b\"}" --limit lots 2>err &&
	grep -q -- "--limit: expected 0 to 1000000, got .lots." err
'

test_expect_success PYTHON3 'patterns: 240 resets from different peers are one pattern with count and first seen' '
	"$EDGE" patterns -c edge.conf --since 2h --json >p.json &&
	json_get p.json "[p for p in d[\"patterns\"] if \"connection reset by peer\" in p[\"template\"]]" >resets &&
	test "$(json_get p.json "len([p for p in d[\"patterns\"] if \"connection reset by peer\" in p[\"template\"]])")" = 1 &&
	test "$(json_get p.json "[p for p in d[\"patterns\"] if \"reset by peer\" in p[\"template\"]][0][\"count\"]")" = 240 &&
	json_get p.json "[p for p in d[\"patterns\"] if \"reset by peer\" in p[\"template\"]][0][\"template\"]" >tmpl &&
	echo "<*> ERROR read tcp <*> read: connection reset by peer" >want && test_cmp want tmpl &&
	test "$(json_get p.json "sum(x[\"count\"] for x in [p for p in d[\"patterns\"] if \"reset by peer\" in p[\"template\"]][0][\"per_minute\"])")" = 240 &&
	grep -m1 "reset by peer" logs/api.log | cut -d" " -f1 >want_first &&
	json_get p.json "[p for p in d[\"patterns\"] if \"reset by peer\" in p[\"template\"]][0][\"first_seen\"]" >got_first &&
	test_cmp want_first got_first
'

test_expect_success PYTHON3 'patterns --changed-since: the resets are new, slow queries spiked, checkpoints are not listed' '
	"$EDGE" patterns -c edge.conf --changed-since 9m --json >c.json &&
	json_get c.json "[(p[\"status\"], p[\"template\"].split()[1] + \" \" + p[\"template\"].split()[2]) for p in d[\"patterns\"]]" >got &&
	grep -q "\"new\", \"ERROR read\"" got &&
	grep -q "\"spiked\", \"WARN slow\"" got &&
	! grep -q checkpoint got
'

test_expect_success 'a bad logs.labels item is refused naming it' '
	printf "data_dir = \"%s/d2\";\nlogs = { paths = [\"/tmp/x.log\"]; labels = [\"no equals\"]; };\n" "$TRASH" >bad.conf &&
	test_expect_code 2 "$EDGE" tail -c bad.conf --once 2>err &&
	grep -q "logs.labels: expected items like \"env=prod\".*got .no equals." err
'

test_done
