#!/usr/bin/python3
"""compare.py - run ongrid and its baseline side by side, interleaved, and report medians.

Each round runs the baseline and ongrid once each, alternating which goes first, so drift
on the machine (thermal, other load) hits both alike. A command's figure is either its wall
time, or, with --metric NAME, the number it prints on a line "NAME VALUE" (for figures such
as RSS or throughput that the command measures itself).

usage: compare.py --name NAME --rounds N --ours 'CMD' --baseline 'CMD'
                  [--metric NAME] [--unit UNIT] [--lower-is-better | --higher-is-better]
Writes build/bench/NAME.json and prints one Markdown table row:
    | NAME | ours median | baseline median | ratio ours/baseline | rounds |
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_once(cmd, metric):
    t0 = time.monotonic()
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    if p.returncode != 0:
        sys.stderr.write(f"compare.py: command failed ({p.returncode}): {cmd}\n{p.stderr}\n")
        sys.exit(1)
    if metric is None:
        return elapsed
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == metric:
            return float(parts[1])
    sys.stderr.write(f"compare.py: '{cmd}' printed no '{metric} VALUE' line\n{p.stdout}\n")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--metric")
    ap.add_argument("--unit", default="s")
    ap.add_argument("--higher-is-better", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.environ.get("BUILD", "build"), "bench"))
    a = ap.parse_args()

    ours, base = [], []
    for i in range(a.rounds):
        order = [("base", a.baseline), ("ours", a.ours)]
        if i % 2:
            order.reverse()
        for who, cmd in order:
            v = run_once(cmd, a.metric)
            (ours if who == "ours" else base).append(v)
    mo, mb = statistics.median(ours), statistics.median(base)
    ratio = mo / mb if mb else float("inf")
    res = {
        "name": a.name, "rounds": a.rounds, "unit": a.unit, "metric": a.metric or "wall_s",
        "ours": ours, "baseline": base, "ours_median": mo, "baseline_median": mb,
        "ratio": ratio, "higher_is_better": a.higher_is_better,
        "ours_cmd": a.ours, "baseline_cmd": a.baseline,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": os.uname().release,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, a.name + ".json"), "w") as f:
        json.dump(res, f, indent=1)
    print(f"| {a.name} | {mo:.4g} {a.unit} | {mb:.4g} {a.unit} | {ratio:.3f} | {a.rounds} |")


if __name__ == "__main__":
    main()
