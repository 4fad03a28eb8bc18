#!/bin/sh
test_description='local topology: a server and client pair on loopback is an edge with counts and bytes; find_topology_node and expand_topology'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
export ONGRID_NAME=t4104
tool() { "$EDGE" tool "$@" --json; }

test_expect_success PYTHON3 'setup: ogserver listens, ogclient holds 3 connections and sends 5000 bytes on each' '
	cp "$PY" ogserver && cp "$PY" ogclient &&
	PORT=$(free_port) && echo $PORT >port &&
	cat >server.py <<-\PYEOF &&
	import socket, sys, threading
	s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
	def serve(c):
	    while c.recv(65536): pass
	while True:
	    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
	PYEOF
	cat >client.py <<-\PYEOF &&
	import socket, sys, time
	cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(3)]
	for c in cs: c.sendall(b"x" * 5000)
	time.sleep(600)
	PYEOF
	daemon_start server ./ogserver server.py $PORT &&
	wait_for 5 "\"$EDGE\" tool probe_tcp \"{\\\"host\\\":\\\"127.0.0.1\\\",\\\"port\\\":$PORT,\\\"count\\\":1}\" --json | grep -q \"connected.:.*1\"" &&
	daemon_start client ./ogclient client.py $PORT &&
	wait_for 5 "\"$EDGE\" topology | grep -q \"ogclient -> 127.0.0.1:$PORT  x3\""
'

test_expect_success PYTHON3 'topology --json is the relay report shape with counts and bytes on the edge' '
	PORT=$(cat port) &&
	"$EDGE" topology --json >out &&
	test "$(json_get out "[c[\"count\"] for c in d[\"connect\"] if c[\"peer\"]==\"127.0.0.1:$PORT\" and c[\"process\"]==\"ogclient\"][0]")" = 3 &&
	test "$(json_get out "[c[\"bytes_sent\"] for c in d[\"connect\"] if c[\"process\"]==\"ogclient\"][0] >= 15000")" = true &&
	test "$(json_get out "[l[\"process\"] for l in d[\"listen\"] if l[\"port\"]==$PORT][0]")" = ogserver &&
	test "$(json_get out "[l[\"connections\"] for l in d[\"listen\"] if l[\"port\"]==$PORT][0]")" = 3 &&
	json_get out .addresses >/dev/null
'

test_expect_success PYTHON3 'find_topology_node finds the service by port and the peer by address:port' '
	PORT=$(cat port) &&
	tool find_topology_node "{\"query\":\"$PORT\"}" >out &&
	test "$(json_get out .evidence.nodes[0].id)" = "service:t4104:$PORT" &&
	test "$(json_get out .evidence.nodes[0].process)" = ogserver &&
	tool find_topology_node "{\"query\":\"127.0.0.1:$PORT\"}" >out &&
	test "$(json_get out "[n[\"process\"] for n in d[\"evidence\"][\"nodes\"] if n[\"kind\"]==\"external\"][0]")" = ogclient &&
	tool find_topology_node "{\"query\":\"no-such-thing\"}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "nothing here matches"
'

test_expect_success PYTHON3 'expand_topology: upstream of the client is the server, downstream of the server are 3 connections' '
	PORT=$(cat port) &&
	tool expand_topology "{\"node\":\"ogclient\",\"direction\":\"upstream\"}" >out &&
	test "$(json_get out .evidence.upstream[0].peer)" = "127.0.0.1:$PORT" &&
	test "$(json_get out .evidence.upstream[0].connections)" = 3 &&
	tool expand_topology "{\"node\":\"ogserver\",\"direction\":\"downstream\"}" >out &&
	test "$(json_get out .evidence.downstream[0].clients[0].connections)" = 3 &&
	test "$(json_get out ".evidence.downstream[0].clients[0].bytes_received")" -ge 15000 &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "3 established client connections"
'

# Connections that open and close between two scans are in no socket snapshot; the tcp
# collector (eBPF, in the edge daemon) counts every one, and the graph takes them from
# the daemon.
cat >bpf.conf <<EOF
name = "t4104";
data_dir = "$TRASH/data-bpf";
control_socket = "$TRASH/bpf.sock";
collect = { interval = "1s"; disable = ["runqlat", "biolatency", "procexec", "oomkill"]; };
metrics = { enabled = false; };
logs = { journal = false; };
EOF
cat >short.py <<\PYEOF
import socket, sys
for _ in range(int(sys.argv[2])):
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        continue
    c.sendall(b"y" * 100)
    c.close()
PYEOF
cp "$PY" ogshort
# PORT N: N connections, opened and closed. bytes_sent is what the peer had acknowledged
# at close (tcp_sock.bytes_acked): the last of a connection closed at once may not be.
short_lived() { ./ogshort short.py "$1" "$2"; }

test_expect_success BPF,PYTHON3 'without the daemon, 50 short-lived connections leave no edge, and the graph says kernel flows are off' '
	short_lived $(cat port) 50 &&
	"$EDGE" topology -c bpf.conf --json >out &&
	test "$(json_get out "[c for c in d[\"connect\"] if c[\"process\"] == \"ogshort\"]")" = "[]" &&
	json_get out .kernel_flows | grep -q "^off: "
'

test_expect_success BPF,PYTHON3 'with the daemon'"'"'s tcp collector: the same 50 connections are an edge ogshort -> server with their count and bytes' '
	daemon_start edge-bpf "$EDGE" run -c bpf.conf &&
	wait_for 15 "test -S bpf.sock" &&
	sleep 1 &&
	short_lived $(cat port) 50 &&
	"$EDGE" topology -c bpf.conf --json >out &&
	test "$(json_get out .kernel_flows)" = on &&
	json_get out "[c for c in d[\"connect\"] if c[\"process\"] == \"ogshort\"][0]" >edge.json &&
	test "$(json_get edge.json "d[\"peer\"]")" = "127.0.0.1:$(cat port)" &&
	test "$(json_get edge.json "d[\"count\"]")" = 0 &&
	test "$(json_get edge.json "d[\"recent\"][\"connections\"]")" = 50 &&
	test "$(json_get edge.json "d[\"recent\"][\"failures\"]")" = 0 &&
	test "$(json_get edge.json "2500 <= d[\"recent\"][\"bytes_sent\"] <= 5100")" = true &&
	"$EDGE" tool -c bpf.conf find_topology_node "{\"query\":\"ogshort\"}" --json >out &&
	test "$(json_get out ".evidence.nodes[0].connections_1h")" = 50 &&
	test "$(json_get out .evidence.kernel_flows)" = on
'

test_expect_success BPF,PYTHON3 'a refused connect is a failed connect on its edge' '
	port2=$(free_port) &&
	short_lived $port2 1 &&
	"$EDGE" topology -c bpf.conf --json >out &&
	test "$(json_get out "[c[\"recent\"][\"failures\"] for c in d[\"connect\"] if c[\"peer\"] == \"127.0.0.1:$port2\"][0]")" = 1
'

test_done
