#!/bin/sh
# bench/drill.sh - the footprint of the end-to-end drill (tests/integration/t9900-drill.sh):
# three hosts as network namespaces, each with its edge daemon (`run`, eBPF on db) and
# tunnel (`connect`), one relay, three incidents (a crash loop offline, the same under
# ongrid's own faults with a model, a full disk fixed after an approval). At the end of the
# run, each ongrid process's peak and current RSS and its CPU per second alive
# (tests/lib/drill_footprint.py), and the model's load for the last incident. There is no
# baseline program for the drill: the baseline column holds issue 3's 10 MiB budget for
# an edge's RSS where it applies, "-" elsewhere.
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$SRC/build}
OUT=$BUILD/bench/drill.json
rm -f "$OUT"
DRILL_FOOTPRINT=$OUT sh "$SRC/tests/run" t9900 >"$BUILD/bench/drill-test.txt" 2>&1 || {
	tail -20 "$BUILD/bench/drill-test.txt" >&2
	exit 1
}
/usr/bin/python3 - "$OUT" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["processes"]:
    budget = 10240 if p["role"].endswith(" run") and not p["role"].startswith("relay") else None
    print("| drill-%s-peak-rss | %d KiB | %s | %s | 1 |" % (
        p["role"].replace(" ", "-"), p["VmHWM"], "%d KiB (target)" % budget if budget else "-",
        "%.3f" % (p["VmHWM"] / budget) if budget else "-"))
    print("| drill-%s-rss-at-end | %d KiB (anon %d) | - | - | 1 |" % (
        p["role"].replace(" ", "-"), p["VmRSS"], p.get("RssAnon", 0)))
    print("| drill-%s-cpu | %.2f%% of a CPU over %.0f s | - | - | 1 |" % (
        p["role"].replace(" ", "-"), p["cpu_pct"], p["alive_s"]))
m = d.get("model", {})
if m.get("requests"):
    print("| drill-model-requests-last-incident | %d requests, %d bytes (~%d tokens) | - | - | 1 |" % (
        m["requests"], m["request_bytes"], m["request_bytes"] / 4))
PYEOF
