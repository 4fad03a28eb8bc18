#!/bin/sh
# bench/footprint.sh - idle memory and CPU of `ongrid-edge run` (every collector on)
# against prometheus-node-exporter (default collectors), each run alone on this host for
# FOOTPRINT_SECONDS (default 60) and scraped every 15 s, interleaved by compare.py.
# Prints three rows: RSS, CPU time, and how many samples each /metrics page holds.
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
COMPARE=${COMPARE:-/usr/bin/python3 $SRC/bench/compare.py}
ROUNDS=${FOOTPRINT_ROUNDS:-3}
A="sh $SRC/bench/footprint_agent"
$COMPARE --name footprint_rss --rounds "$ROUNDS" --metric rss_kib --unit KiB \
	--ours "$A ongrid" --baseline "$A node_exporter"
$COMPARE --name footprint_cpu --rounds "$ROUNDS" --metric cpu_ms --unit ms \
	--ours "$A ongrid" --baseline "$A node_exporter"
# Same duration as above: the edge's per-process series need two rounds, and the eBPF
# histograms fill as events arrive.
$COMPARE --name footprint_samples --rounds 1 --metric samples --unit samples \
	--higher-is-better --ours "$A ongrid" --baseline "$A node_exporter"
