#!/bin/sh
test_description='query_metrics, query_logs and log_patterns: from the running daemon, and from the stores on disk when it is gone'
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p logs data run
cat >edge.conf <<EOF
name = "t4103";
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect = { interval = "1s"; disable = ["runqlat", "biolatency", "tcp", "procexec", "oomkill"]; };
metrics = { enabled = false; };
logs = { paths = ["$TRASH/logs/*.log"]; };
EOF
tool() { "$EDGE" tool -c edge.conf "$@" --json; }

test_expect_success 'no daemon and no store: query_metrics says history is off' '
	test_expect_code 1 "$EDGE" tool -c edge.conf query_metrics "{\"query\":\"ongrid_load1\"}" >out &&
	grep -q "history off: no daemon is running" out
'

test_expect_success 'with the daemon running, query_metrics answers an instant and a range query' '
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "test -S $TRASH/run/edge.sock" &&
	wait_for 15 "\"$EDGE\" status -c edge.conf --json >st.json && test \$(json_get st.json .daemon.rounds) -ge 4" &&
	tool query_metrics "{\"query\":\"ongrid_cpus\"}" >out &&
	test "$(json_get out .evidence.source)" = daemon &&
	test "$(json_get out .evidence.data.result[0].value[1])" = "$(nproc)" &&
	json_get out "d[\"evidence\"][\"findings\"][1]" | grep -q "^ongrid_cpus{} = $(nproc)$" &&
	tool query_metrics "{\"query\":\"ongrid_memory_total_bytes\",\"minutes\":1,\"step_s\":1}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][1]" | grep -q "steady at [0-9]"
'

test_expect_success 'with the daemon running, host probes say history is on and give the trend they have' '
	tool host_probe_cpu "{\"limit\":1}" >out &&
	test "$(json_get out .evidence.history)" = on &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "CPU busy: \(the daemon.s store has no samples from the last 30 minutes yet\|.*now [0-9]*%\)" &&
	tool host_probe_memory "{\"limit\":1}" >out &&
	test "$(json_get out .evidence.history)" = on
'

test_expect_success 'a bad PromQL query fails with its position' '
	test_expect_code 1 "$EDGE" tool -c edge.conf query_metrics "{\"query\":\"rate(x[5m]\"}" >out &&
	grep -q "position" out
'

test_expect_success 'with the daemon stopped, query_metrics reads the store on disk' '
	daemon_stop edge &&
	tool query_metrics "{\"query\":\"ongrid_cpus\",\"minutes\":5}" >out &&
	json_get out .evidence.source | grep -q "store on disk" &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^1 series"
'

test_expect_success PYTHON3 'query_logs: lines matching a LogQL filter, newest first, counted' '
	"$PY" -c "
import datetime
now = datetime.datetime.now(datetime.timezone.utc)
with open(\"logs/api.log\", \"w\") as f:
    for i in range(40):
        t = (now - datetime.timedelta(seconds=120 - i)).strftime(\"%Y-%m-%dT%H:%M:%S.000Z\")
        f.write(\"%s ERROR upstream 10.0.0.7:5432 connection reset by peer after %d ms\n\" % (t, i))
        f.write(\"%s INFO request served in %d ms\n\" % (t, i))
" &&
	"$EDGE" tail -c edge.conf --once >/dev/null &&
	tool query_logs "{\"query\":\"{file=~\\\".*api.log\\\"} |= \\\"reset by peer\\\"\",\"limit\":5}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^40 lines match in the last 60 minutes" &&
	json_get out "d[\"evidence\"][\"findings\"][1]" | grep -q "after 39 ms" &&
	test "$(json_get out "len(d[\"evidence\"][\"data\"][\"result\"])")" = 5
'

test_expect_success PYTHON3 'log_patterns: the reset template is new in the window, with its count' '
	tool log_patterns "{\"mode\":\"changed\",\"minutes\":10}" >out &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "new: 40 lines.*connection reset by peer" &&
	tool log_patterns "{\"mode\":\"top\",\"minutes\":10}" >out &&
	test "$(json_get out "len(d[\"evidence\"][\"data\"][\"patterns\"])")" = 2
'

test_expect_success 'a bad LogQL query fails and names the position' '
	test_expect_code 1 "$EDGE" tool -c edge.conf query_logs "{\"query\":\"{file=\"}" >out &&
	grep -qi "position\|expected" out
'

test_done
