#!/bin/sh
test_description='ongrid-edge run tails the configured logs: lines written while the daemon runs are queryable through it, patterns included, and nothing is lost across a restart'
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p logs
PORT=$(free_port)
cat >edge.conf <<EOF
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect: { interval = "1s"; };
metrics: { listen = "127.0.0.1:$PORT"; };
logs: { paths = ["$TRASH/logs/*.log"]; journal = false; };
EOF

# count: lines with "reset by peer" in api.log, as the running daemon answers.
count() {
	"$EDGE" logs -c edge.conf 'sum(count_over_time({file=~".*api.log"} |= "reset by peer" [1h]))' \
		--json >q.json 2>q.err &&
	"$PY" -c 'import json; d=json.load(open("q.json")); r=d["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}

test_expect_success 'the daemon starts with log tailing on' '
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 20 "test -S run/edge.sock"
'

test_expect_success 'lines appended while it runs are answered through the daemon' '
	i=0 && while [ $i -lt 500 ]; do
		echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ERROR read: connection reset by peer from 10.1.$((i % 7)).$((i % 250)):$((40000 + i)) seq=$i"
		i=$((i + 1)); done >>logs/api.log &&
	wait_for 20 "test \"\$(count)\" = 500"
'

# pattern_count: how many lines the one "reset by peer" pattern has, as the daemon answers.
pattern_count() {
	"$EDGE" patterns -c edge.conf --since 1h --json >p.json &&
	"$PY" - p.json <<-\PYEOF
	import json, sys
	d = json.load(open(sys.argv[1]))
	hits = [p for p in d["patterns"] if "reset by peer" in p["template"]]
	assert len(hits) == 1, hits
	print(hits[0]["count"])
	PYEOF
}

test_expect_success 'the flood is one pattern with its count' '
	wait_for 20 "test \"\$(pattern_count)\" = 500"
'

test_expect_success 'lines written while the daemon is down are read after restart, once' '
	daemon_stop edge &&
	i=500 && while [ $i -lt 700 ]; do
		echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ERROR read: connection reset by peer seq=$i"
		i=$((i + 1)); done >>logs/api.log &&
	daemon_start edge2 "$EDGE" run -c edge.conf &&
	wait_for 20 "test \"\$(count)\" = 700"
'

test_done
