#!/bin/sh
# bench/investigate.sh - one offline investigation, on a daemon with a minute of history and
# a live fault (two stress-ng CPU workers), measured by bench/investigate_bench.c:
#
#   investigate-offline-wall-ms   median wall time of 5 offline investigations (target:
#                                 under 3000 ms; the "baseline" column is that target)
#   investigate-input-tokens      model input tokens (estimated as bytes / 4): ongrid's
#                                 first message with the planner's evidence fenced, two
#                                 round trips; baseline: a naive loop making the same tool
#                                 calls and sending raw results, the conversation resent on
#                                 every round trip (target: at most half)
set -eu
: "${BUILD:=build}"
EDGE=$BUILD/ongrid-edge
BIN=$BUILD/investigate_bench
W=$BUILD/bench/investigate-work
rm -rf "$W" && mkdir -p "$W/data" "$W/run"
cat >"$W/edge.conf" <<EOF
name = "bench";
data_dir = "$W/data";
control_socket = "$W/run/edge.sock";
collect = { interval = "1s"; };
metrics = { enabled = false; };
agent = { window = "1m"; };
EOF
"$EDGE" run -c "$W/edge.conf" >"$W/daemon.log" 2>&1 &
daemon=$!
stress=
trap 'kill $daemon $stress 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
sleep 20
if command -v stress-ng >/dev/null; then
	stress-ng --cpu 2 --timeout 40s --quiet &
	stress=$!
	sleep 12
fi
"$BIN" -c "$W/edge.conf" --runs 5 "why is the host slow?" >"$BUILD/bench/investigate.json"
/usr/bin/python3 - "$BUILD/bench/investigate.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("| investigate-offline-wall-ms | %d ms | 3000 ms (target) | %.2f | %d |"
      % (d["wall_ms_median"], d["wall_ms_median"] / 3000.0, d["runs"]))
print("| investigate-input-tokens (%d vs %d round trips, %d tool calls) | %d | %d (naive loop) | %.3f | 1 |"
      % (d["ongrid_round_trips"], d["naive_round_trips"], d["tool_calls"],
         d["ongrid_input_tokens_est"], d["naive_input_tokens_est"], d["ratio"]))
PYEOF
