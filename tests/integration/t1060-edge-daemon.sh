#!/bin/sh
test_description='ongrid-edge run: control socket, status from the daemon, signals, crash safety, unprivileged start'
. "$(dirname "$0")/../lib/test-lib.sh"

PORT=$(free_port)
write_conf() {
	cat >edge.conf <<EOC
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect: { interval = "1s"; $1 };
metrics: { listen = "127.0.0.1:$PORT"; };
tsdb: { flush_interval = "1s"; };
EOC
}

# ctl JSON: one request on the control socket, the answer on stdout.
ctl() {
	"$PY" - "$TRASH/run/edge.sock" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
sys.stdout.write(buf.decode())
PYEOF
}

start_edge() {
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "test -S $TRASH/run/edge.sock" &&
	wait_for 10 "\"$EDGE\" status -c edge.conf --json >st.json && test \$(json_get st.json .daemon.rounds) -ge 1"
}

test_expect_success 'the daemon starts, with the socket 0600 in a 0700 directory' '
	write_conf "" &&
	start_edge &&
	test "$(stat -c %a run)" = 700 &&
	test "$(stat -c %a run/edge.sock)" = 600
'

test_expect_success 'status --json comes from the daemon and lists the collectors' '
	"$EDGE" status -c edge.conf --json >st.json &&
	test "$(json_get st.json .daemon.running)" = true &&
	test "$(json_get st.json .daemon.pid)" = "$(cat edge.pid)" &&
	for c in cpu pressure memory disk filesystem net netstat proc; do
		test "$(json_get st.json "[x[\"on\"] for x in d[\"collectors\"] if x[\"name\"] == \"$c\"][0]")" = true ||
		{ echo "$c is not on"; return 1; }
	done &&
	test "$(json_get st.json .tsdb.series)" -gt 100
'

test_expect_success 'status text says the daemon runs and shows each collector' '
	"$EDGE" status -c edge.conf >st.txt &&
	grep -q "^daemon      running (pid $(cat edge.pid)" st.txt &&
	grep -q "^  cpu  *on   procfs" st.txt &&
	grep -q "^store       [0-9]* series" st.txt
'

test_expect_success 'a query over the control socket returns a stored series' '
	ctl "{\"cmd\":\"query\",\"query\":\"ongrid_memory_total_bytes\"}" >q.json &&
	want=$(awk "/^MemTotal:/ {printf \"%.0f\", \$2 * 1024}" /proc/meminfo) &&
	test "$(json_get q.json "d[\"result\"][\"result\"][0][\"value\"][1]")" = "$want"
'

test_expect_success 'bad control requests get errors that name the problem' '
	ctl "{\"cmd\":\"frob\"}" >e.json &&
	test "$(json_get e.json .ok)" = false &&
	test "$(json_get e.json .code)" = 2 &&
	grep -q "unknown command" e.json &&
	ctl "not json" >e2.json &&
	grep -q "invalid JSON" e2.json
'

test_expect_success '/healthz answers, other paths and methods are refused' '
	curl -sf "http://127.0.0.1:$PORT/healthz" >h && test "$(cat h)" = ok &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$PORT/etc/passwd")" = 404 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -X POST "http://127.0.0.1:$PORT/metrics")" = 405 &&
	big=$(head -c 9000 /dev/zero | tr "\0" a) &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -H "X-Big: $big" "http://127.0.0.1:$PORT/metrics")" = 431 &&
	curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null
'

test_expect_success 'a second daemon on the same socket refuses to start' '
	test_expect_code 1 "$EDGE" run -c edge.conf 2>err2 &&
	grep -q "another ongrid-edge daemon listens" err2
'

test_expect_success 'SIGHUP reloads: collect.disable turns a collector off with the reason' '
	write_conf "disable = [\"proc\"];" &&
	kill -HUP "$(cat edge.pid)" &&
	wait_for 10 "\"$EDGE\" status -c edge.conf --json >st.json && json_get st.json \"[x[\\\"why\\\"] for x in d[\\\"collectors\\\"] if x[\\\"name\\\"] == \\\"proc\\\"][0]\" | grep -q collect.disable"
'

test_expect_success 'SIGHUP with a bad file keeps the running configuration' '
	printf "collect: { interval = \"soon\"; };\n" >edge.conf &&
	kill -HUP "$(cat edge.pid)" &&
	sleep 0.5 &&
	kill -0 "$(cat edge.pid)" &&
	grep -q "configuration unchanged" edge.log &&
	write_conf "" && ctl "{\"cmd\":\"status\"}" | grep -q "\"ok\":true"
'

test_expect_success 'SIGTERM stops the daemon, flushes the store and removes the socket' '
	pid=$(cat edge.pid) &&
	kill -TERM "$pid" &&
	wait_for 10 "! kill -0 $pid" &&
	grep -q "time-series store flushed" edge.log &&
	test ! -e run/edge.sock &&
	ls data/tsdb/*.seg >/dev/null
'

test_expect_success 'without a daemon, status probes each collector itself and reads the store' '
	"$EDGE" status -c edge.conf --json >st.json &&
	test "$(json_get st.json .daemon.running)" = false &&
	test "$(json_get st.json "[x[\"on\"] for x in d[\"collectors\"] if x[\"name\"] == \"cpu\"][0]")" = true &&
	test "$(json_get st.json .tsdb.series)" -gt 100
'

test_expect_success 'kill -9 then restart keeps the data up to the last flush' '
	write_conf "" &&
	start_edge &&
	sleep 1.5 &&
	ctl "{\"cmd\":\"flush\"}" >f.json &&
	test "$(json_get f.json .ok)" = true &&
	t=$(json_get f.json .result.maxt_ms | cut -d. -f1) &&
	kill -9 "$(cat edge.pid)" &&
	sleep 0.2 &&
	start_edge &&
	ctl "{\"cmd\":\"query\",\"query\":\"ongrid_load1\",\"time\":$t}" >q.json &&
	test "$(json_get q.json "len(d[\"result\"][\"result\"])")" = 1 &&
	ts=$(json_get q.json "round(d[\"result\"][\"result\"][0][\"value\"][0] * 1000)") &&
	test "$ts" = "$t" &&
	daemon_stop edge
'

test_expect_success 'a bad metrics.listen is a configuration error naming the key' '
	printf "data_dir = \"%s\";\ncontrol_socket = \"%s\";\nmetrics: { listen = \"localhost\"; };\n" \
		"$TRASH/data2" "$TRASH/run2/edge.sock" >bad.conf &&
	test_expect_code 2 "$EDGE" run -c bad.conf 2>err &&
	grep -q "metrics.listen: expected HOST:PORT" err
'

test_expect_success 'metrics.listen takes a bracketed IPv6 address' '
	test -e /proc/net/if_inet6 || { echo "no IPv6: nothing to check"; return 0; }
	P6=$(free_port) &&
	printf "data_dir = \"%s\";\ncontrol_socket = \"%s\";\nmetrics: { listen = \"[::1]:%s\"; };\n" \
		"$TRASH/data6" "$TRASH/run6/edge.sock" "$P6" >v6.conf &&
	daemon_start v6 "$EDGE" run -c v6.conf &&
	wait_for 10 "curl -sfg http://[::1]:$P6/healthz" &&
	daemon_stop v6
'

test_expect_success ROOT 'unprivileged, the daemon starts, procfs collectors run, eBPF ones say why not' '
	mkdir -p nobody && chown 65534:65534 nobody &&
	NPORT=$(free_port) &&
	cat >nobody/edge.conf <<EOC &&
data_dir = "$TRASH/nobody/data";
control_socket = "$TRASH/nobody/run/edge.sock";
collect: { interval = "1s"; };
metrics: { listen = "127.0.0.1:$NPORT"; };
EOC
	chmod 755 nobody && chmod 644 nobody/edge.conf &&
	daemon_start nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$EDGE" run -c nobody/edge.conf &&
	wait_for 10 "test -S $TRASH/nobody/run/edge.sock" &&
	wait_for 10 "setpriv --reuid=65534 --regid=65534 --clear-groups \"$EDGE\" status -c nobody/edge.conf --json >ns.json && test \$(json_get ns.json .daemon.rounds) -ge 1" &&
	test "$(json_get ns.json .system.root)" = false &&
	test "$(json_get ns.json "all(x[\"on\"] for x in d[\"collectors\"] if x[\"kind\"] == \"procfs\")")" = true &&
	test "$(json_get ns.json "all((not x[\"on\"]) and len(x[\"why\"]) > 0 for x in d[\"collectors\"] if x[\"kind\"] == \"ebpf\")")" = true &&
	curl -sf "http://127.0.0.1:$NPORT/metrics" | grep -q "^ongrid_cpu_seconds_total" &&
	test "$(stat -c %U nobody/run/edge.sock)" = nobody
'

test_done
