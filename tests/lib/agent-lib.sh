# agent-lib.sh - helpers for the investigation tests (t80xx), sourced after test-lib.sh.
#
#   agent_conf [EXTRA]       write edge.conf: data and socket under $TRASH, collection every
#                            second, a one-minute look-back; EXTRA is appended
#   agent_daemon ROUNDS      start the daemon and wait until it has ROUNDS rounds
#   store_shows 'PROMQL'     the daemon's store answers PROMQL with at least one series
#                            (a comparison such as '... > 0.05' filters): the fault has
#                            reached the metrics, so the investigation can find it
#   investigate OUT "Q"      run `ongrid-edge investigate --json`, the report into OUT
#   report_is OUT CATEGORY COMPONENT_RE
#                            the root cause has CATEGORY and a component matching the
#                            Python regular expression; every evidence item names a
#                            tool_result of the same tool and arguments, in the report's
#                            timeline and in data/timeline.db

agent_conf() {
	mkdir -p "$TRASH/data" "$TRASH/run" "$TRASH/logs"
	cat >"$TRASH/edge.conf" <<EOF
name = "t80xx";
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect = { interval = "1s"; };
metrics = { enabled = false; };
logs = { paths = ["$TRASH/logs/*.log"]; };
agent = { window = "1m"; };
${1:-}
EOF
}

agent_daemon() {
	daemon_start edge "$EDGE" run -c "$TRASH/edge.conf" &&
	wait_for 15 "test -S $TRASH/run/edge.sock" &&
	wait_for 20 "\"$EDGE\" status -c \"$TRASH/edge.conf\" --json >\"$TRASH/st.json\" && test \$(json_get \"$TRASH/st.json\" .daemon.rounds) -ge $1"
}

store_shows() {
	"$EDGE" query -c "$TRASH/edge.conf" "$1" >"$TRASH/store_shows.out" 2>/dev/null &&
		grep -q . "$TRASH/store_shows.out"
}

investigate() {
	"$EDGE" investigate -c "$TRASH/edge.conf" --json "$2" >"$1"
}

report_is() {
	"$PY" - "$1" "$2" "$3" "$TRASH/data/timeline.db" <<'PYEOF'
import json, re, sqlite3, sys
rep = json.load(open(sys.argv[1]))
cat, comp_re, db = sys.argv[2], sys.argv[3], sys.argv[4]
rc = rep["root_cause"]
ok = True
def bad(msg):
    global ok
    ok = False
    print("report_is: " + msg, file=sys.stderr)
if rc["category"] != cat:
    bad("category %r, wanted %r (%s)" % (rc["category"], cat, rc["statement"]))
if not re.search(comp_re, rc["component"]):
    bad("component %r does not match %r" % (rc["component"], comp_re))
if not rep["evidence"]:
    bad("no evidence")
results = [e["detail"] for e in rep["timeline"] if e["event"] == "tool_result"]
inv = [e["detail"].get("investigation") for e in rep["timeline"] if e["event"] == "dispatch"][0]
rows = sqlite3.connect(db).execute(
    "SELECT tool, args FROM steps WHERE investigation = ? AND event = 'tool_result'", (inv,)).fetchall()
stored = [(t, json.loads(a)) for t, a in rows if a]
for ev in rep["evidence"]:
    if not any(r.get("tool") == ev["tool"] and r.get("args") == ev["args"] for r in results):
        bad("evidence %s (%s %s) has no tool_result in the timeline" % (ev["id"], ev["tool"], ev["args"]))
    if not any(t == ev["tool"] and a == ev["args"] for t, a in stored):
        bad("evidence %s (%s) has no tool_result row in timeline.db" % (ev["id"], ev["tool"]))
print("# %s: %s (%s, %s, %.2f) in %d ms" % (sys.argv[1], rc["statement"], rc["category"],
      rc["component"], rc["confidence"], rep["duration_ms"]))
sys.exit(0 if ok else 1)
PYEOF
}
