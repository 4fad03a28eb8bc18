#!/bin/sh
# bench/tsdb.sh - the edge's time-series store against Prometheus' own TSDB, on the same
# synthetic day: 500 series at 15 s = 2.88M samples (40% cpu-seconds counters in
# hundredths, 30% load-like gauges in hundredths, 20% memory gauges moving in pages, 10%
# ratios with arbitrary bits). bench/tsdb_bench.c generates the data for both.
#
#   tsdb-bytes-per-sample  ours: every file under the store after a day of flushes each
#                          minute and compaction, as the daemon runs it. Baseline: the
#                          blocks (chunks + index + meta) that `promtool tsdb
#                          create-blocks-from openmetrics` writes for the same samples.
#   tsdb-query-24h         every sample of every series over the whole day, decoded.
#                          Ours: tsdb_query_* on a read-only store. Baseline: a Prometheus
#                          server on those blocks answering
#                          count_over_time({__name__=~"bench_.*"}[1d]) over HTTP.
#                          Both: median of 5 after one warm-up.
set -eu
: "${BUILD:=build}"
: "${COMPARE:?run me through bench/run}"
BIN=$BUILD/tsdb_bench
W=$BUILD/bench/tsdb-work
PY=/usr/bin/python3

command -v promtool >/dev/null && command -v prometheus >/dev/null || {
	echo "bench/tsdb.sh: promtool and prometheus are needed for the baseline" >&2
	exit 1
}
rm -rf "$W"
mkdir -p "$W"

"$BIN" openmetrics >"$W/data.om"
promtool tsdb create-blocks-from openmetrics "$W/data.om" "$W/prom" >/dev/null
rm -f "$W/data.om"

$COMPARE --name tsdb-bytes-per-sample --rounds 1 --metric bytes_per_sample --unit B \
	--ours "rm -rf '$W/ours' && '$BIN' write '$W/ours'" \
	--baseline "'$BIN' dirsize '$W/prom'"

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1h\n' >"$W/prometheus.yml"
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/prom" \
	--storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
	>"$W/prometheus.log" 2>&1 &
prom_pid=$!
trap 'kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null || true' EXIT INT TERM

cat >"$W/promq.py" <<EOF
import json, statistics, sys, time, urllib.parse, urllib.request
base = "http://127.0.0.1:$port"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/-/ready", timeout=1).read()
        break
    except Exception:
        time.sleep(0.1)
q = urllib.parse.urlencode({"query": 'count_over_time({__name__=~"bench_.*"}[1d])',
                            "time": "1700086399"})
ms, total = [], 0
for i in range(6):
    t0 = time.monotonic()
    body = urllib.request.urlopen(base + "/api/v1/query?" + q, timeout=60).read()
    ms.append((time.monotonic() - t0) * 1000)
    total = sum(int(r["value"][1]) for r in json.loads(body)["data"]["result"])
print("samples", total)
print("query_ms %.3f" % statistics.median(ms[1:]))
sys.exit(0 if total == 2880000 else 1)
EOF

$COMPARE --name tsdb-query-24h --rounds 3 --metric query_ms --unit ms \
	--ours "'$BIN' query '$W/ours'" \
	--baseline "$PY '$W/promq.py'"
