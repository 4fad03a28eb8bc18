#!/bin/sh
# bench/logs.sh - the edge's log pipeline and index on 1,000,000 synthetic lines (~100 MB:
# access lines, connection resets, JSON, slow queries, cache lines; times over the last
# 50 minutes; three needle lines with a trace id). bench/logs_bench.c makes the file and
# drives the pipeline.
#
#   logs-ingest-lines-per-cpu-s  ours: tail + label + Drain + zstd blocks + trigram
#                                bitmaps + commits (logs_bench ingest, pinned to one core).
#                                Baseline: `zstd -3 -T1` of the same file, the compression
#                                alone. Per CPU second, since the machine is shared; the
#                                wall-clock rate is in build/bench/logs-ingest-lines-per-s.json.
#   logs-ingest-rss-kb           peak RSS of the same two runs.
#   logs-index-bytes             ours: every file under data_dir/logs after the ingest.
#                                Baseline: the raw log.
#   logs-query-literal           |= "trace_id=4bf9..." (3 matches) via `ongrid-edge logs`
#                                on the read-only index vs `grep -F` on the raw file.
#   logs-query-regex-selective   |~ "trace_id=4bf9[0-9a-f]+" vs `grep -E`.
#   logs-query-regex-count       count of |~ "took [0-9]{4} ms" (~90,000 matches, every
#                                block must be read) vs `grep -cE`.
set -eu
: "${BUILD:=build}"
: "${COMPARE:?run me through bench/run}"
BIN=$BUILD/logs_bench
EDGE=$BUILD/ongrid-edge
W=$BUILD/bench/logs-work
N=1000000
rm -rf "$W"
mkdir -p "$W"
"$BIN" gen "$W/raw.log" $N
cat >"$W/edge.conf" <<CONF
name = "bench";
data_dir = "$W/data";
control_socket = "$W/none.sock";
logs = { paths = ["$W/raw.log"]; journal = false; };
CONF
ingest="rm -rf '$W/data' && taskset -c 0 '$BIN' ingest '$W/edge.conf' $N"
zstd="taskset -c 0 '$BIN' rate $N \"zstd -q -3 -T1 -c '$W/raw.log' >/dev/null\""

$COMPARE --name logs-ingest-lines-per-cpu-s --rounds 3 --metric lines_per_cpu_s \
	--unit lines/s --higher-is-better --ours "$ingest" --baseline "$zstd"
$COMPARE --name logs-ingest-lines-per-s --rounds 3 --metric lines_per_s \
	--unit lines/s --higher-is-better --ours "$ingest" --baseline "$zstd" >/dev/null
$COMPARE --name logs-ingest-rss-kb --rounds 1 --metric rss_kb --unit KiB \
	--ours "$ingest" --baseline "$zstd"
$COMPARE --name logs-index-bytes --rounds 1 --metric bytes --unit B \
	--ours "'$BIN' bytes '$W/data/logs'" --baseline "'$BIN' bytes '$W/raw.log'"

# Output goes to a file on both sides: GNU grep stops at the first match when its output
# is /dev/null, which would measure nothing.
q() { printf "'%s' logs -c '%s' --since 2h" "$EDGE" "$W/edge.conf"; }
cat "$W/raw.log" >/dev/null # both sides start from a warm page cache
$COMPARE --name logs-query-literal --rounds 7 \
	--ours "$(q) --limit 1000 '{file=~\".+\"} |= \"trace_id=4bf92f3577b34da6\"' >'$W/out.ours'" \
	--baseline "grep -F 'trace_id=4bf92f3577b34da6' '$W/raw.log' >'$W/out.grep'"
$COMPARE --name logs-query-regex-selective --rounds 7 \
	--ours "$(q) --limit 1000 '{file=~\".+\"} |~ \"trace_id=4bf9[0-9a-f]+\"' >'$W/out.ours'" \
	--baseline "grep -E 'trace_id=4bf9[0-9a-f]+' '$W/raw.log' >'$W/out.grep'"
$COMPARE --name logs-query-regex-count --rounds 3 \
	--ours "$(q) 'sum(count_over_time({file=~\".+\"} |~ \"took [0-9]{4} ms\" [2h]))' >'$W/out.ours'" \
	--baseline "grep -cE 'took [0-9]{4} ms' '$W/raw.log' >'$W/out.grep'"
