#!/usr/bin/python3
"""drill_footprint.py TRASH OUT - what each ongrid process of the drill (t9900) used, as
JSON in OUT: for every ongrid-edge and ongrid-relay process whose command line names a
file under TRASH, its role ("web run", "db connect", "relay run"), peak and current
resident memory (VmHWM, VmRSS, RssAnon from /proc/PID/status), CPU seconds (utime +
stime) and seconds alive, so CPU per second of life; and the model's load per incident:
request bytes the relay sent the provider (the mock's log, llm.json beside it) and the
investigations that used a model (web/timeline.db). Exit 1 when no process is found.
"""
import json
import os
import sqlite3
import sys

trash, out = sys.argv[1], sys.argv[2]
hz = os.sysconf("SC_CLK_TCK")
uptime = float(open("/proc/uptime").read().split()[0])


def status(pid):
    vals = {}
    for line in open("/proc/%s/status" % pid):
        k, _, v = line.partition(":")
        if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            vals[k] = int(v.split()[0])
    return vals


procs = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        exe = os.path.basename(os.readlink("/proc/%s/exe" % pid))
        if exe not in ("ongrid-edge", "ongrid-relay") or len(argv) < 2:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        conf = next((a for a in args if a.startswith(trash + "/") and a.endswith(".conf")), None)
        if not conf:
            continue
        host = "relay" if exe == "ongrid-relay" else os.path.basename(conf)[:-5]
        stat = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        cpu_s = (int(stat[11]) + int(stat[12])) / hz  # utime, stime
        alive_s = uptime - int(stat[19]) / hz  # starttime
        row = {"role": "%s %s" % (host, args[1]), "pid": int(pid), "cpu_s": round(cpu_s, 2),
               "alive_s": round(alive_s, 1), "cpu_pct": round(100 * cpu_s / max(alive_s, 1), 3)}
        row.update(status(pid))
        procs.append(row)
    except (OSError, IndexError, ValueError):
        continue  # gone between two reads, or not ours

model = {}
try:
    reqs = json.load(open(os.path.join(trash, "llm.json")))
    model["requests"] = len(reqs)
    model["request_bytes"] = sum(len(json.dumps(r.get("body", ""))) for r in reqs)
except (OSError, ValueError):
    pass
try:
    db = sqlite3.connect(os.path.join(trash, "web", "timeline.db"))
    model["incidents"] = db.execute(
        "SELECT count(DISTINCT investigation) FROM steps WHERE event = 'llm_call'").fetchone()[0]
    model["investigations"] = db.execute("SELECT count(*) FROM investigations").fetchone()[0]
except sqlite3.Error:
    pass
json.dump({"processes": sorted(procs, key=lambda p: p["role"]), "model": model},
          open(out, "w"), indent=1)
sys.exit(0 if procs else 1)
