#!/bin/sh
# bench/footprint_busy.sh - memory of `ongrid-edge run` (every collector on, default
# collect.interval and tsdb.flush_interval) over a long run on a busy host, against
# prometheus-node-exporter under the same load at the same time.
#
# Both agents run side by side for FOOTPRINT_BUSY_SECONDS (default 900) while a churn load
# runs: short-lived processes under FOOTPRINT_BUSY_NAMES (default 3000) command names
# (symlinks to /bin/sh, since the kernel names a process after the file it executed) that
# exit with varied codes (four in five fail), a crash loop ("busy-crashy", exit 1 every
# 2 s), a command that fails six times in the first minute only ("busy-early"), and
# stress-ng forking and spinning workers. Both are scraped every 15 s. Every 30 s it samples both VmRSS and the series
# the edge holds in memory (`ongrid-edge status`: "store N series"); the samples go to
# build/bench/footprint_busy.tsv.
#
# Prints rows for bench/run: peak and final RSS against node_exporter's, and the final
# series count (no baseline). At the end it checks, and fails otherwise, that the crash
# loop is exported under its own name and that `ongrid-edge query` over the whole run
# still returns busy-early's exits (exported for 10 minutes after its last run, then idle:
# after 15 minutes its series has left the store's memory, or is about to).
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$SRC/build}
SECONDS_RUN=${FOOTPRINT_BUSY_SECONDS:-900}
NAMES=${FOOTPRINT_BUSY_NAMES:-3000}
SAMPLE=30
SCRAPE=15
PY=/usr/bin/python3
OUT=$BUILD/bench/footprint_busy.tsv
EDGE=$BUILD/ongrid-edge
mkdir -p "$BUILD/bench"
[ "$(id -u)" = 0 ] || { echo "footprint_busy: needs root (eBPF collectors)" >&2; exit 1; }

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
eport=$(free_port)
nport=$(free_port)
tmp=$(mktemp -d /tmp/ongrid-footprint-busy.XXXXXX)
pids=

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap 'rc=$?; cleanup; exit $rc' EXIT
trap 'exit 1' INT TERM

cat >"$tmp/edge.conf" <<EOC
data_dir = "$tmp/data";
control_socket = "$tmp/run/edge.sock";
metrics: { listen = "127.0.0.1:$eport"; };
EOC
"$EDGE" run -c "$tmp/edge.conf" >"$tmp/edge.log" 2>&1 &
epid=$!
pids="$pids $epid"
prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" >"$tmp/ne.log" 2>&1 &
npid=$!
pids="$pids $npid"

i=0
until curl -sf "http://127.0.0.1:$eport/metrics" >/dev/null &&
	curl -sf "http://127.0.0.1:$nport/metrics" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "footprint_busy: an agent did not serve /metrics" >&2; cat "$tmp/edge.log" "$tmp/ne.log" >&2; exit 1; }
	sleep 0.1
done
start_s=$(date +%s)

# The churn: one process at a time, each under the next of NAMES names, exiting with
# code n % 5 (most 0, some failures); links are made as the names come up.
mkdir "$tmp/bin"
ln -s /bin/sh "$tmp/bin/busy-crashy"
ln -s /bin/sh "$tmp/bin/busy-early"
(
	n=0
	while :; do
		name=$tmp/bin/busy-$((n % NAMES))
		[ -e "$name" ] || ln -s /bin/sh "$name"
		"$name" -c "exit $((n % 5))" || true
		n=$((n + 1))
		sleep 0.05
	done
) >/dev/null 2>&1 &
pids="$pids $!"
(
	while :; do
		"$tmp/bin/busy-crashy" -c 'exit 1' || true
		sleep 2
	done
) >/dev/null 2>&1 &
pids="$pids $!"
(
	for k in 1 2 3 4 5 6; do
		"$tmp/bin/busy-early" -c 'exit 2' || true
		sleep 10
	done
) >/dev/null 2>&1 &
pids="$pids $!"
# forking workers with fresh pids, and CPU spinners, for the top-process series
stress-ng --fork 1 --cpu 1 --cpu-load 20 --timeout "${SECONDS_RUN}s" >/dev/null 2>&1 &
pids="$pids $!"

rss() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
# the anonymous part (heap, stacks): VmRSS less the shared-library and binary pages
anon() {
	awk '/^RssAnon:/ {print $2}' "/proc/$1/status"
}
series() {
	"$EDGE" status -c "$tmp/edge.conf" 2>/dev/null | sed -n 's/^store *\([0-9]*\) series.*/\1/p'
}

printf 't_s\tedge_rss_kib\tedge_anon_kib\tnode_exporter_rss_kib\tedge_series\n' >"$OUT"
elapsed=0
while [ $elapsed -lt "$SECONDS_RUN" ]; do
	curl -sf "http://127.0.0.1:$eport/metrics" >/dev/null
	curl -sf "http://127.0.0.1:$nport/metrics" >/dev/null
	sleep $SCRAPE
	elapsed=$(($(date +%s) - start_s))
	if [ $((elapsed / SAMPLE)) -gt "${last_sample:--1}" ]; then
		last_sample=$((elapsed / SAMPLE))
		printf '%s\t%s\t%s\t%s\t%s\n' "$elapsed" "$(rss $epid)" "$(anon $epid)" \
			"$(rss $npid)" "$(series)" >>"$OUT"
	fi
done

# The crash loop keeps its name, and a series that left memory minutes ago still answers.
crashy=$("$EDGE" query -c "$tmp/edge.conf" 'ongrid_process_exits_total{comm="busy-crashy",code="1"}' 2>&1 || true)
early=$("$EDGE" query -c "$tmp/edge.conf" --since "$((elapsed + 60))s" --step 30s \
	'ongrid_process_exits_total{comm="busy-early"}' 2>&1 || true)
echo "$crashy" | grep -q busy-crashy ||
	{ echo "footprint_busy: the crash loop is not exported by name: $crashy" >&2; exit 1; }
echo "$early" | grep -q busy-early ||
	{ echo "footprint_busy: busy-early's samples are gone from the store: $early" >&2; exit 1; }

$PY - "$OUT" "$SECONDS_RUN" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
e = [int(r["edge_rss_kib"]) for r in rows]
a = [int(r["edge_anon_kib"]) for r in rows]
n = [int(r["node_exporter_rss_kib"]) for r in rows]
s = [int(r["edge_series"] or 0) for r in rows]
mins = int(sys.argv[2]) // 60
print(f"| footprint_busy_peak_rss ({mins} min) | {max(e)} KiB | {max(n)} KiB | {max(e) / max(n):.3f} | 1 |")
print(f"| footprint_busy_final_rss ({mins} min) | {e[-1]} KiB | {n[-1]} KiB | {e[-1] / n[-1]:.3f} | 1 |")
print(f"| footprint_busy_anon_rss ({mins} min, peak {max(a)}) | {a[-1]} KiB | - | - | 1 |")
print(f"| footprint_busy_series (peak {max(s)}) | {s[-1]} series | - | - | 1 |")
EOF
