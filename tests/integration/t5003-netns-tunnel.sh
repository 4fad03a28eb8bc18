#!/bin/sh
test_description='edges in their own network namespaces reach the relay only outbound; everything else rides the tunnel'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"

if ! test_have_prereq ROOT,NETNS,NFT,PYTHON3; then
	skip_all "needs root, network namespaces, nft and python3"
fi

# Three namespaces of our own: R runs the relay, A and B each run an edge, linked to R by
# veth pairs on 10.200.5x.0/30. Nothing touches the root namespace's interfaces.
S=$$
NR=ongrid-r-$S NA=ongrid-a-$S NB=ongrid-b-$S
at_exit "ip netns del $NR; ip netns del $NA; ip netns del $NB"
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

test_expect_success 'setup: namespaces, veth links, inbound drop in the edges' '
	ip netns add $NR && ip netns add $NA && ip netns add $NB &&
	for n in $NR $NA $NB; do in_ns $n ip link set lo up || return 1; done &&
	ip link add va$S type veth peer name ra$S &&
	ip link set va$S netns $NA && ip link set ra$S netns $NR &&
	ip link add vb$S type veth peer name rb$S &&
	ip link set vb$S netns $NB && ip link set rb$S netns $NR &&
	in_ns $NR ip addr add 10.200.51.1/30 dev ra$S && in_ns $NR ip link set ra$S up &&
	in_ns $NR ip addr add 10.200.52.1/30 dev rb$S && in_ns $NR ip link set rb$S up &&
	in_ns $NA ip addr add 10.200.51.2/30 dev va$S && in_ns $NA ip link set va$S up &&
	in_ns $NB ip addr add 10.200.52.2/30 dev vb$S && in_ns $NB ip link set vb$S up &&
	for n in $NA $NB; do
		in_ns $n nft -f - <<-EONFT || return 1
		table inet edge {
			chain input {
				type filter hook input priority 0; policy drop;
				iif lo accept
				ct state established,related accept
			}
		}
		EONFT
	done
'

test_expect_success 'setup: relay in R, an edge in A and one in B' '
	relay_setup 0.0.0.0 &&
	URL="wss://10.200.51.1:$PORT/" && key_create a && key_create b &&
	RELAY_WRAP="ip netns exec $NR" relay_start &&
	edge_conf a a &&
	EDGE_URL="wss://10.200.52.1:$PORT/" edge_conf b b &&
	cat >a.json <<-EOJ &&
	{"addresses": ["10.200.51.2"], "listen": [{"port": 8080, "process": "api"}],
	 "connect": [{"peer": "10.200.52.2:5432", "process": "api"}, {"peer": "10.200.51.1:$PORT"}]}
	EOJ
	cat >b.json <<-EOJ &&
	{"addresses": ["10.200.52.2"], "listen": [{"port": 5432, "process": "postgres"}], "connect": []}
	EOJ
	EDGE_WRAP="ip netns exec $NA" edge_start a --topology "$TRASH/a.json" &&
	EDGE_WRAP="ip netns exec $NB" edge_start b --topology "$TRASH/b.json" &&
	wait_for 15 "edge_connected a && edge_connected b"
'

test_expect_success 'the relay sees each edge at its own namespace address' '
	"$RELAY" edges --json -c "$TRASH/relay.conf" >edges.json &&
	json_get edges.json "d[0][\"address\"]" | grep -q "^10.200.51.2:" &&
	json_get edges.json "d[1][\"address\"]" | grep -q "^10.200.52.2:"
'

test_expect_success 'nothing can dial into an edge, even from the relay namespace' '
	in_ns $NA $PY -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"10.200.51.2\", 8080)); s.listen(1); time.sleep(6)" &
	listener=$! &&
	sleep 0.5 &&
	in_ns $NA $PY -c "
import socket; socket.create_connection((\"10.200.51.2\", 8080), 2)" &&
	in_ns $NR $PY -c "
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect((\"10.200.51.2\", 8080))
except OSError:
    sys.exit(0)
sys.exit(1)" &&
	kill $listener 2>/dev/null; wait $listener 2>/dev/null; true
'

test_expect_success 'a cross-host tool call from A runs on B through both tunnels' '
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call edge.call \
		"{\"target\": \"b\", \"tool\": \"ping\"}" --json >out &&
	test "$(json_get out .edge)" = b && test "$(json_get out .pong)" = true
'

test_expect_success 'a safe-read caller cannot make B run a safe-write tool; B refuses it' '
	test_expect_code 1 in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call edge.call \
		"{\"target\": \"b\", \"tool\": \"note\", \"args\": {\"text\": \"x\"}}" 2>err &&
	grep -q "forbidden: edge .b.: tool .note. is safe-write; the caller .a. may run at most safe-read" err &&
	test ! -e "$TRASH/b/notes.log"
'

test_expect_success 'registry tools run through B'"'"'s own gate with the caller'"'"'s class ceiling' '
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call edge.call \
		"{\"target\": \"b\", \"tool\": \"list_processes\", \"args\": {}}" --json >out &&
	test "$(json_get out .status)" = executed && test "$(json_get out .class)" = safe-read &&
	test_expect_code 1 in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call edge.call \
		"{\"target\": \"b\", \"tool\": \"restart_service\", \"args\": {\"unit\": \"ongrid-none\"}}" 2>err &&
	grep -q "forbidden: edge .b.: role .viewer. may not call dangerous tools" err
'

test_expect_success 'find_topology_node by name and by address' '
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call topology.find "{\"query\": \"10.200.52.2\"}" --json >out &&
	test "$(json_get out "d[\"nodes\"][0][\"id\"]")" = host:b &&
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call topology.find "{\"query\": \"postgres\"}" --json >out &&
	test "$(json_get out "d[\"nodes\"][0][\"id\"]")" = service:b:5432
'

test_expect_success 'expand_topology joins the edges by address:port: a -> postgres on b' '
	in_ns $NB "$EDGE" connect -c "$TRASH/b.conf" --call topology.expand \
		"{\"node\": \"a\", \"hops\": 1, \"direction\": \"upstream\"}" --json >up &&
	"$PY" -c "
import json; d = json.load(open(\"up\"))
ids = {n[\"id\"] for n in d[\"nodes\"]}
assert {\"host:a\", \"service:b:5432\", \"host:b\"} <= ids, ids
links = {(l[\"from\"], l[\"to\"]) for l in d[\"links\"]}
assert (\"host:a\", \"service:b:5432\") in links and (\"service:b:5432\", \"host:b\") in links, links
" &&
	in_ns $NB "$EDGE" connect -c "$TRASH/b.conf" --call topology.expand \
		"{\"node\": \"b\", \"hops\": 1, \"direction\": \"downstream\"}" --json >down &&
	"$PY" -c "
import json; d = json.load(open(\"down\"))
assert \"host:a\" in {n[\"id\"] for n in d[\"nodes\"]}, d
"
'

test_expect_success 'cutting A off: the relay drops it; A queues, reconnects, delivers once' '
	in_ns $NA ip link set va$S down &&
	wait_for 20 "! edge_connected a" &&
	for i in 1 2 3 4 5; do
		in_ns $NA "$EDGE" outbox add report "{\"n\": $i}" -c "$TRASH/a.conf" >/dev/null || return 1
	done &&
	in_ns $NA ip link set va$S up &&
	wait_for 30 "edge_connected a" &&
	wait_for 15 "test \"\$(\"$EDGE\" outbox count -c \"$TRASH/a.conf\")\" = 0" &&
	"$PY" -c "
import sqlite3
db = sqlite3.connect(\"$TRASH/relay/relay.sqlite\")
n = db.execute(\"SELECT count(*), count(DISTINCT body) FROM inbox WHERE edge = \x27a\x27 AND kind = \x27report\x27\").fetchone()
assert n == (5, 5), n
"
'

# The host's graph is a state the outbox carries too: C (a third edge, in B's namespace)
# scans it every second; a listener started there while the relay is down waits in C's
# outbox as one "topology" message however many scans run, and reaches the relay once.
topo_rows() { # DB TABLE EDGE [TEXT]: topology messages of EDGE in DB's TABLE (with TEXT)
	"$PY" - "$@" <<-\EOPY
	import sqlite3, sys
	db, table, edge = sys.argv[1:4]
	text = sys.argv[4] if len(sys.argv) > 4 else ""
	sql = "SELECT count(*) FROM " + table + " WHERE kind = 'topology' AND instr(body, ?) > 0"
	args = [text]
	if table == "inbox":  # the relay's: every edge's messages
	    sql, args = sql + " AND edge = ?", args + [edge]
	print(sqlite3.connect(db).execute(sql, args).fetchone()[0])
	EOPY
}
outbox_topo() { topo_rows "$TRASH/$1/outbox.sqlite" outbox "$@"; }
inbox_topo() { topo_rows "$TRASH/relay/relay.sqlite" inbox "$@"; }

test_expect_success 'a service started while the relay is down reaches its topology after the restart, through the outbox, once' '
	key_create c &&
	EDGE_URL="wss://10.200.52.1:$PORT/" edge_conf c c &&
	sed -i "s/backoff_max = \"2s\";/backoff_max = \"2s\"; topology_interval = \"1s\";/" c.conf &&
	grep -q "topology_interval = \"1s\"" c.conf &&
	EDGE_WRAP="ip netns exec $NB" edge_start c &&
	wait_for 15 "edge_connected c" &&
	wait_for 15 "test \$(inbox_topo c) -ge 1" &&
	relay_kill9 &&
	daemon_start listener ip netns exec $NB "$PY" -c "import socket, time
s = socket.socket(); s.bind((\"0.0.0.0\", 6390)); s.listen(); time.sleep(100000)" &&
	wait_for 15 "test \$(outbox_topo c 6390) = 1" &&
	sleep 3 &&
	test "$(outbox_topo c)" = 1 &&
	test "$(inbox_topo c 6390)" = 0 &&
	RELAY_WRAP="ip netns exec $NR" relay_start &&
	wait_for 30 "edge_connected c" &&
	wait_for 15 "test \$(outbox_topo c) = 0" &&
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call topology.find "{\"query\": \"c\"}" --json >cnode &&
	test "$(json_get cnode "d[\"nodes\"][0][\"id\"]")" = host:c &&
	in_ns $NA "$EDGE" connect -c "$TRASH/a.conf" --call topology.expand "{\"node\": \"c\", \"hops\": 1, \"direction\": \"both\"}" --json >cgraph &&
	grep -q "service:c:6390" cgraph &&
	sleep 3 &&
	test "$(inbox_topo c 6390)" = 1
'

test_done
