#!/bin/sh
test_description='a question asked at the relay (ongrid-relay ask) reaches the edge, which investigates with the offline planner and answers with the report'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"

test_expect_success PYTHON3 'a relay, and an edge holding the tunnel' '
	relay_setup &&
	echo "chat: { edit_interval = \"100ms\"; };" >>"$TRASH/relay.conf" &&
	relay_start &&
	key_create web-9 &&
	edge_conf web-9 web-9 "control_socket = \"$TRASH/run/edge.sock\";
agent = { window = \"1m\"; mode = \"offline\"; };" &&
	edge_start web-9 &&
	wait_for 15 "edge_connected web-9"
'

test_expect_success PYTHON3 'ask: the report comes back from a real investigation on the edge' '
	"$RELAY" ask -c "$TRASH/relay.conf" web-9 "why is this host slow?" </dev/null >out 2>err &&
	grep -q "Summary: " out &&
	grep -q "Root cause (" out &&
	test -s "$TRASH/web-9/timeline.db" &&
	"$PY" -c "import sqlite3,sys; n=sqlite3.connect(sys.argv[1]).execute(\"select count(*) from investigations where question = ?\", (\"why is this host slow?\",)).fetchone()[0]; sys.exit(0 if n == 1 else 1)" "$TRASH/web-9/timeline.db"
'

test_expect_success PYTHON3 'the edge streams its steps into the thread before the report' '
	"$RELAY" ask -c "$TRASH/relay.conf" --json web-9 "why is the disk slow?" </dev/null >stream.json &&
	"$PY" - stream.json <<-\PYEOF
	import json, sys
	msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	texts = [m.get("text", "") for m in msgs if m.get("type") in ("message", "edit")]
	steps = [i for i, t in enumerate(texts) if "specialist takes it" in t]
	tools = [i for i, t in enumerate(texts) if "query_metrics: " in t or "host_probe_disk: " in t]
	final = [i for i, t in enumerate(texts) if "Root cause" in t]
	print(steps, tools, final)
	assert steps and tools and final and steps[0] < final[-1] and tools[0] < final[-1]
	PYEOF
'

test_expect_success PYTHON3 'a follow-up in the thread is the same incident on the edge' '
	printf "and since when?\n" | "$RELAY" ask -c "$TRASH/relay.conf" web-9 "is the disk full?" >out2 2>err2 &&
	"$PY" -c "
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(\"select incident from investigations where question in (?, ?)\", (\"is the disk full?\", \"and since when?\")).fetchall()
sys.exit(0 if len(rows) == 2 and rows[0][0] and rows[0][0] == rows[1][0] else 1)" "$TRASH/web-9/timeline.db"
'

test_expect_success PYTHON3 'the follow-up arrives with the thread so far and who asked' '
	"$PY" -c "
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(detail,) = db.execute(\"select s.detail from steps s join investigations i on i.id = s.investigation where i.question = ? and s.event = ?\", (\"and since when?\", \"dispatch\")).fetchone()
ctx = json.loads(detail)[\"context\"]
print(json.dumps(ctx))
assert ctx[\"follow_up\"] is True
assert ctx[\"requester\"][\"platform\"] == \"local\" and ctx[\"requester\"][\"role\"]
assert any(t[\"text\"] == \"is the disk full?\" for t in ctx[\"context\"])
" "$TRASH/web-9/timeline.db" >ctx.out
'

test_done
