#!/bin/sh
test_description='ongrid-edge query: PromQL over a real store, with and without a daemon; bad queries exit 2 naming the position'
. "$(dirname "$0")/../lib/test-lib.sh"

LOAD=$BUILD/tests/tsdb_load
# Whole minutes, a minute ago: every sample below is at T minus a multiple of 15s.
T=$(( $(date +%s) / 60 * 60 - 60 ))

cat >edge.conf <<EOF
data_dir = "$TRASH/data";
control_socket = "$TRASH/edge.sock";
metrics = { enabled = false; };
EOF

# approx GOT WANT: equal to 1e-9 relative
approx() {
	awk -v g="$1" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w;
		exit !(d <= 1e-9 * (1 + a)) }' || { echo "got $1, wanted $2" >&2; return 1; }
}

q() { "$EDGE" query -c edge.conf --time "$T" "$@"; }
series_now() { "$EDGE" query -c edge.conf 'count({__name__=~".+"})' | cut -d" " -f2; }

test_expect_success 'load samples into the store with tests/tools/tsdb_load' '
	test -x "$LOAD" || { echo "build $LOAD first (make check-build)" >&2; false; } &&
	i=0 &&
	while [ $i -le 40 ]; do
		t=$(( (T - 600 + i * 15) * 1000 ))
		# a counter rising 2/s for job api, 0.5/s for job db, restarted at i=20
		echo "req_total{job=\"api\",code=\"200\"} $t $(( 1000 + i * 30 ))"
		if [ $i -lt 20 ]; then v=$(( 500 + i * 15 / 2 )); else v=$(( (i - 20) * 15 / 2 )); fi
		echo "req_total{job=\"db\",code=\"200\"} $t $v"
		echo "temp_celsius{room=\"lab\"} $t $(( i % 5 ))"
		i=$((i + 1))
	done >samples &&
	cat >>samples <<-EOF &&
	lat_bucket{disk="sda",le="0.1"} $(( T * 1000 )) 10
	lat_bucket{disk="sda",le="0.5"} $(( T * 1000 )) 30
	lat_bucket{disk="sda",le="1"} $(( T * 1000 )) 40
	lat_bucket{disk="sda",le="+Inf"} $(( T * 1000 )) 50
	EOF
	"$LOAD" data/tsdb <samples &&
	ls data/tsdb | grep -q .
'

test_expect_success 'an instant selector prints one line per series, name and labels first' '
	q "req_total{job=\"api\"}" >out &&
	echo "req_total{code=\"200\", job=\"api\"} 2200" >expect &&
	test_cmp expect out
'

test_expect_success 'rate() over the store is 2 per second for a counter rising 2 per second' '
	q "rate(req_total{job=\"api\"}[5m])" >out &&
	grep -q "^{code=\"200\", job=\"api\"} " out &&
	approx "$(cut -d" " -f3 out)" 2
'

test_expect_success 'increase() adds back a counter reset' '
	# db: 0.5/s with a restart at T-300s; over 10m the increase is still about 300
	q "increase(req_total{job=\"db\"}[10m])" >out &&
	v=$(cut -d" " -f3 out) &&
	awk -v v="$v" "BEGIN { exit !(v > 290 && v < 310) }"
'

test_expect_success 'sum by, *_over_time and histogram_quantile give hand-computed values' '
	q "sum by (job) (req_total)" >out &&
	grep -qx "{job=\"api\"} 2200" out && grep -qx "{job=\"db\"} 150" out &&
	q "max_over_time(temp_celsius[1m])" >out && grep -qx "{room=\"lab\"} 4" out &&
	q "count_over_time(temp_celsius[1m])" >out && grep -qx "{room=\"lab\"} 4" out &&
	q "histogram_quantile(0.5, lat_bucket)" >out &&
	approx "$(cut -d" " -f2 out)" 0.4 &&
	q "histogram_quantile(0.95, lat_bucket)" >out && grep -qx "{disk=\"sda\"} 1" out
'

test_expect_success 'offset, comparisons and arithmetic' '
	q "req_total{job=\"api\"} offset 5m" >out && grep -q " 1600$" out &&
	q "req_total > 1000" >out && test "$(wc -l <out)" -eq 1 &&
	q "req_total > bool 1000" >out && test "$(wc -l <out)" -eq 2 && grep -q "^{code" out &&
	q "2 * 3 + 1" >out && echo 7 >expect && test_cmp expect out
'

test_expect_success 'topk keeps every label' '
	q "topk(1, req_total)" >out &&
	echo "req_total{code=\"200\", job=\"api\"} 2200" >expect && test_cmp expect out
'

test_expect_success '--json is shaped like the Prometheus API data' '
	q "req_total{job=\"api\"}" --json >out &&
	test "$(json_get out .resultType)" = vector &&
	test "$(json_get out .result[0].metric.job)" = api &&
	test "$(json_get out .result[0].value[1])" = 2200 &&
	test "$(json_get out "int(d[\"result\"][0][\"value\"][0])")" = "$T"
'

test_expect_success 'a range query steps from now-since to now' '
	q "rate(req_total{job=\"api\"}[1m])" --since 5m --step 1m --json >out &&
	test "$(json_get out .resultType)" = matrix &&
	test "$(json_get out "len(d[\"result\"][0][\"values\"])")" = 6 &&
	test "$(json_get out "int(d[\"result\"][0][\"values\"][0][0])")" = $((T - 300)) &&
	q "rate(req_total{job=\"api\"}[1m])" --since 5m --step 1m >out &&
	grep -q "(6 points)" out
'

test_expect_success 'an instant query of a range selector returns the raw samples' '
	q "temp_celsius[1m]" --json >out &&
	test "$(json_get out .resultType)" = matrix &&
	test "$(json_get out "len(d[\"result\"][0][\"values\"])")" = 4
'

test_expect_success 'a bad query exits 2 and names the position' '
	test_expect_code 2 q "rate(foo[5m]" 2>err &&
	grep -q "^ongrid-edge query: position 13: expected .). or .,., got end of input$" err &&
	test_expect_code 2 q "rat(foo[5m])" 2>err &&
	grep -q "position 1: unknown function .rat. (did you mean .rate.?)" err &&
	test_expect_code 2 q "foo{job=bar}" 2>err &&
	grep -q "position 9: expected quoted label value" err &&
	test_expect_code 2 q "rate(foo)" 2>err &&
	grep -q "position 6: expected range vector as argument 1 of .rate., got instant vector" err
'

test_expect_success 'a hostile query (10000 nested parentheses) is a clean error' '
	deep=$(awk "BEGIN { for (i = 0; i < 10000; i++) printf \"(\"; printf \"1\" }") &&
	test_expect_code 2 q "$deep" 2>err &&
	grep -q "nested too deeply" err
'

test_expect_success 'bad options and a range over a range vector exit 2' '
	test_expect_code 2 q "up" --step 0s 2>err && grep -q -- "--step" err &&
	test_expect_code 2 q "up" --since 30d --step 1s 2>err && grep -q "steps" err &&
	test_expect_code 2 q "up[5m]" --since 5m 2>err && grep -q "range vector" err &&
	test_expect_code 2 "$EDGE" query -c edge.conf 2>err && grep -q "one PROMQL argument" err
'

test_expect_success 'no daemon and no store: a run-time error (1) that says so' '
	printf "data_dir = \"%s/nowhere\";\ncontrol_socket = \"%s/none.sock\";\n" "$TRASH" "$TRASH" >empty.conf &&
	test_expect_code 1 "$EDGE" query -c empty.conf up 2>err &&
	grep -q "no daemon is running and there is no time-series store" err
'

test_expect_success ROOT 'with a daemon running, the daemon answers the same query' '
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "test -S \"$TRASH/edge.sock\"" &&
	# the collectors'"'"' first samples are only in the daemon'"'"'s head, not on disk yet:
	# more than the 7 loaded series proves the daemon evaluated the query
	wait_for 20 "test \"\$(series_now)\" -gt 7" &&
	q "sum by (job) (req_total)" >out &&
	grep -qx "{job=\"api\"} 2200" out &&
	q "req_total{job=\"api\"}" --json >out &&
	test "$(json_get out .result[0].value[1])" = 2200 &&
	test_expect_code 2 q "sum(req_total" 2>err &&
	grep -q "position 14: expected .)." err &&
	daemon_stop edge
'

test_done
