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
prom_ready() { "$PY" -c "import sys, urllib.request as u; u.urlopen(sys.argv[1])" "http://127.0.0.1:$1/-/ready"; }
series_now() { "$EDGE" query -c edge.conf 'count({__name__=~".+"})' | cut -d" " -f2; }

# A differential check against a real Prometheus (PROMETHEUS prerequisite): the same
# samples go into our store (tsdb_load) and into Prometheus blocks (promtool), and every
# query below must give the same series and values, instant and over a range. Evaluation
# is at T+7s so no sample sits on a window edge, where Prometheus 2 (closed windows, as in
# Debian 12) and 3 (left-open, which we follow) differ.
cat >promdiff.py <<'PYEOF'
# Differential test: the same samples in ongrid's store and in a real Prometheus (blocks
# made by promtool); each query must give the same series and values (1e-9 relative).
import json, math, subprocess, sys, urllib.parse, urllib.request

mode, T = sys.argv[1], int(sys.argv[2])

def gen():
    om, ld = [], []
    def series(name, labels, pts):
        lab = ','.join('%s="%s"' % kv for kv in labels)
        for t, v in pts:
            s = 'NaN' if v != v else repr(float(v))
            om.append('%s{%s} %s %d' % (name, lab, s, t))
            ld.append('%s{%s} %d %s' % (name, lab, t * 1000, s))
    def times():
        return [T - 3600 + 15 * i + (i * 7 % 5) for i in range(241) if T - 3600 + 15 * i + (i * 7 % 5) <= T]
    for job, rate, reset in (('api', 2, 120), ('db', 0.5, 200)):
        v, pts = 100.0, []
        for i, t in enumerate(times()):
            v = 3.0 if i == reset else v + rate * 15 + (i % 3)
            pts.append((t, v))
        series('req_total', [('job', job)], pts)
    for inst, base in (('a', 20), ('b', 22), ('c', 18)):
        series('temp', [('instance', inst), ('room', 'lab')],
               [(t, base + ((i * 37) % 11) / 3.0) for i, t in enumerate(times())])
        series('temp_ref', [('instance', inst), ('room', 'lab')], [(t, base) for t in times()])
    # a series that stops for 20 minutes: holes past the 5m lookback
    series('gappy', [('k', 'v')], [(t, float(i)) for i, t in enumerate(times()) if not 100 <= i < 180])
    series('odd', [('k', 'v')], [(t, float('nan') if i % 7 == 3 else i % 5) for i, t in enumerate(times())])
    les = ['0.001', '0.01', '0.1', '1', '+Inf']
    for inst, scale in (('a', 1), ('b', 3)):
        for j, le in enumerate(les):
            c, pts = 0.0, []
            for i, t in enumerate(times()):
                c += scale * (j + 1) * (1 + i % 4)
                pts.append((t, c))
            series('lat_bucket', [('instance', inst), ('le', le)], pts)
    open('om.txt', 'w').write('\n'.join(om) + '\n# EOF\n')
    open('samples.txt', 'w').write('\n'.join(ld) + '\n')

QUERIES = [
    'rate(req_total[5m])', 'increase(req_total[1h])', 'irate(req_total[5m])',
    'delta(temp[10m])', 'idelta(temp[5m])', 'rate(req_total[5m] offset 10m)',
    'avg_over_time(temp[10m])', 'min_over_time(temp[10m])', 'max_over_time(temp[10m])',
    'sum_over_time(temp[10m])', 'count_over_time(temp[10m])',
    'quantile_over_time(0.3, temp[10m])', 'quantile_over_time(0.9, odd[10m])',
    'max_over_time(odd[10m])', 'avg_over_time(odd[3m])',
    'histogram_quantile(0.9, rate(lat_bucket[5m]))',
    'histogram_quantile(0.5, sum by (le) (rate(lat_bucket[5m])))',
    'histogram_quantile(0.999, sum without (instance) (rate(lat_bucket[10m])))',
    'sum by (job) (rate(req_total[5m]))', 'avg without (instance) (temp)', 'max(temp)',
    'min by (room) (temp)', 'count(temp)', 'topk(2, temp)', 'bottomk(1, temp)',
    'temp > 21', 'temp > bool 21', '21 < temp', '2 * temp + 1 - temp_ref / 4', 'temp offset 10m',
    'temp - temp_ref', 'temp / on(instance, room) temp_ref',
    'temp_ref == bool on(instance) temp', 'clamp_max(temp, 21)', 'abs(-temp)',
    'scalar(max(temp)) + 1', 'time()', 'vector(1) * 3', '-temp ^ 2 % 7',
    'sum(rate(lat_bucket{le=~"0.0.*"}[5m])) / sum(rate(lat_bucket{le="+Inf"}[5m]))',
    'gappy', 'rate(gappy[5m])', 'max_over_time(gappy[2m])', 'sum(temp) by (room)',
    'bottomk by (room) (2, temp)', '-temp', 'temp != bool temp_ref',
    'count_over_time(odd[10m])', 'sum_over_time(odd[10m])', 'min_over_time(odd[10m])',
    'quantile_over_time(0.5, odd[10m])', 'quantile_over_time(0, odd[10m])',
    'histogram_quantile(0.25, lat_bucket)', 'idelta(req_total[1m])', 'irate(req_total[1m])',
    'increase(req_total[2m])', 'delta(req_total[30s])', 'rate(req_total[25s])',
]

def ongrid(q, rng):
    args = [EDGE, 'query', '-c', CONF, '--time', str(T + 7), '--json']
    if rng:
        args += ['--since', '30m', '--step', '1m']
    out = subprocess.run(args + ['--', q], capture_output=True, text=True)
    if out.returncode != 0:
        return {'error': out.stderr.strip()}
    return json.loads(out.stdout)

def prom(q, rng):
    if rng:
        p = {'query': q, 'start': T + 7 - 1800, 'end': T + 7, 'step': 60}
        url = BASE + '/api/v1/query_range?' + urllib.parse.urlencode(p)
    else:
        url = BASE + '/api/v1/query?' + urllib.parse.urlencode({'query': q, 'time': T + 7})
    return json.load(urllib.request.urlopen(url))['data']

def num(s):
    return float(s)

def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= 1e-9 * (1 + abs(b))

def canon(d):
    if d['resultType'] == 'scalar':
        return {(): [(d['result'][0], num(d['result'][1]))]}
    out = {}
    for r in d['result']:
        key = tuple(sorted(r['metric'].items()))
        pts = [r['value']] if 'value' in r else r['values']
        out[key] = [(p[0], num(p[1])) for p in pts]
    return out

def compare(q, rng):
    a, b = ongrid(q, rng), prom(q, rng)
    if 'error' in a:
        return 'ongrid failed: ' + a['error']
    if a['resultType'] != b['resultType']:
        return 'type %s vs %s' % (a['resultType'], b['resultType'])
    ca, cb = canon(a), canon(b)
    global POINTS
    POINTS += sum(len(v) for v in ca.values())
    if not ca:
        return 'empty answer: the comparison would prove nothing'
    if set(ca) != set(cb):
        return 'series differ:\n  ongrid %s\n  prom   %s' % (sorted(ca), sorted(cb))
    for k in ca:
        pa, pb = ca[k], cb[k]
        if [p[0] for p in pa] != [p[0] for p in pb]:
            return '%s: timestamps differ %s vs %s' % (k, pa[:3], pb[:3])
        for x, y in zip(pa, pb):
            if not same(x[1], y[1]):
                return '%s at %s: ongrid %r, prometheus %r' % (k, x[0], x[1], y[1])
    return None

if mode == 'gen':
    gen()
    sys.exit(0)
EDGE, BASE, CONF = sys.argv[3], sys.argv[4], sys.argv[5]
bad = 0
POINTS = 0
for q in QUERIES:
    for rng in (False, True):
        err = compare(q, rng)
        if err:
            bad += 1
            print('MISMATCH %s%s: %s' % (q, ' (range)' if rng else '', err))
print('%d queries x 2, %d points compared, %d mismatches' % (len(QUERIES), POINTS, bad))
sys.exit(1 if bad else 0)
PYEOF

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

test_expect_success PROMETHEUS 'answers equal a real Prometheus on the same samples' '
	"$PY" promdiff.py gen "$T" &&
	promtool tsdb create-blocks-from openmetrics om.txt prom-data -q >/dev/null &&
	"$LOAD" pdata/tsdb <samples.txt &&
	printf "data_dir = \"%s/pdata\";\ncontrol_socket = \"%s/p.sock\";\n" "$TRASH" "$TRASH" >edge.conf.p &&
	printf "global:\n  scrape_interval: 1h\n" >prom.yml &&
	port=$(free_port) &&
	daemon_start prometheus prometheus --config.file=prom.yml --storage.tsdb.path=prom-data \
		--web.listen-address=127.0.0.1:$port &&
	wait_for 30 "prom_ready $port" &&
	"$PY" promdiff.py cmp "$T" "$EDGE" "http://127.0.0.1:$port" edge.conf.p >diff.out 2>&1
	rc=$?; cat diff.out; daemon_stop prometheus; test $rc = 0
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
