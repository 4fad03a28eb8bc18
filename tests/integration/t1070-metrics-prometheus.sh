#!/bin/sh
test_description='/metrics passes promtool and a real Prometheus scrapes the edge'
. "$(dirname "$0")/../lib/test-lib.sh"

test_have_prereq PROMETHEUS || skip_all "prometheus and promtool are not installed"

PORT=$(free_port)
cat >edge.conf <<EOC
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect: { interval = "1s"; };
metrics: { listen = "127.0.0.1:$PORT"; };
EOC

test_expect_success 'the edge serves /metrics on loopback' '
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "curl -sf http://127.0.0.1:$PORT/metrics >m.txt" &&
	grep -q "^# TYPE ongrid_cpu_seconds_total counter" m.txt &&
	curl -sI "http://127.0.0.1:$PORT/metrics" | grep -qi "^content-type: text/plain; version=0.0.4"
'

test_expect_success 'promtool check metrics accepts the page, lint included' '
	curl -sf "http://127.0.0.1:$PORT/metrics" >m.txt &&
	test -s m.txt &&
	{ promtool check metrics <m.txt >lint.txt 2>&1 && test ! -s lint.txt ||
		{ cat lint.txt; false; }; }
'

test_expect_success 'each family has exactly one HELP and one TYPE line' '
	test "$(grep -c "^# TYPE" m.txt)" = "$(grep "^# TYPE" m.txt | sort -u | wc -l)" &&
	test "$(grep -c "^# HELP" m.txt)" = "$(grep -c "^# TYPE" m.txt)"
'

test_expect_success 'the round-duration histogram is a Prometheus histogram' '
	grep -q "^# TYPE ongrid_edge_round_duration_seconds histogram" m.txt &&
	grep -q "^ongrid_edge_round_duration_seconds_bucket{le=\"+Inf\"} " m.txt &&
	grep -q "^ongrid_edge_round_duration_seconds_count " m.txt
'

PPORT=$(free_port)
cat >prom.yml <<EOC
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ongrid-edge
    static_configs: [ { targets: [ "127.0.0.1:$PORT" ] } ]
EOC

test_expect_success 'a real Prometheus scrapes the edge: target up' '
	daemon_start prom prometheus --config.file=prom.yml --storage.tsdb.path="$TRASH/prom" \
		--web.listen-address="127.0.0.1:$PPORT" &&
	wait_for 60 "curl -sf http://127.0.0.1:$PPORT/api/v1/targets >t.json && json_get t.json \"d[\\\"data\\\"][\\\"activeTargets\\\"][0][\\\"health\\\"]\" | grep -qx up" &&
	test "$(json_get t.json "d[\"data\"][\"activeTargets\"][0][\"lastError\"]")" = ""
'

test_expect_success 'Prometheus returns our memory total, equal to /proc/meminfo' '
	wait_for 30 "curl -sf \"http://127.0.0.1:$PPORT/api/v1/query?query=ongrid_memory_total_bytes\" >q.json && json_get q.json \"len(d[\\\"data\\\"][\\\"result\\\"])\" | grep -qx 1" &&
	want=$(awk "/^MemTotal:/ {printf \"%.0f\", \$2 * 1024}" /proc/meminfo) &&
	test "$(json_get q.json "d[\"data\"][\"result\"][0][\"value\"][1]")" = "$want"
'

test_expect_success 'Prometheus computes a CPU rate and a histogram quantile from our series' '
	sleep 3 &&
	curl -sf "http://127.0.0.1:$PPORT/api/v1/query" \
		--data-urlencode "query=sum(rate(ongrid_cpu_seconds_total[5s]))" >r.json &&
	n=$(nproc) &&
	v=$(json_get r.json "d[\"data\"][\"result\"][0][\"value\"][1]") &&
	awk -v v="$v" -v n="$n" "BEGIN { exit !(v > n * 0.5 && v < n * 1.5) }" &&
	curl -sf "http://127.0.0.1:$PPORT/api/v1/query" \
		--data-urlencode "query=histogram_quantile(0.5, rate(ongrid_edge_round_duration_seconds_bucket[5s]))" >h.json &&
	h=$(json_get h.json "d[\"data\"][\"result\"][0][\"value\"][1]") &&
	awk -v h="$h" "BEGIN { exit !(h > 0 && h <= 1) }"
'

test_done
