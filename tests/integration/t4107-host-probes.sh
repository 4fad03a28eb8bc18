#!/bin/sh
test_description='host_probe_cpu, _memory, _disk and _net under real load: stress-ng, a memory hog, a full tmpfs, a loopback server, a lossy netns peer'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
tool() { "$EDGE" tool "$@" --json; }
NS=ongrid-t4107-$$
# the daemon's store has a retransmit rate to the lossy peer (two samples apart)
retrans_in_store() {
	"$EDGE" query -c edge.conf 'rate(ongrid_tcp_retransmits_total{peer="198.18.7.2"}[1m]) > 0' \
		2>/dev/null | grep -q .
}

test_expect_success STRESS 'host_probe_cpu: two stress-ng workers make the CPU busy and top the process list' '
	{ stress-ng --cpu 2 --timeout 30 >/dev/null 2>&1 & } &&
	echo $! >stress.pid && at_exit "kill $(cat stress.pid) 2>/dev/null" &&
	sleep 2 &&
	tool host_probe_cpu "{\"limit\":5}" >out &&
	test "$(json_get out "d[\"evidence\"][\"utilisation_pct\"][\"busy_pct\"] >= 60")" = true &&
	json_get out "[p[\"comm\"] for p in d[\"evidence\"][\"top_processes\"][:3]]" | grep -q stress-ng &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^CPU [0-9]*% busy over 1 s" &&
	json_get out .evidence.history | grep -q "^off" &&
	kill $(cat stress.pid); wait $(cat stress.pid) 2>/dev/null; true
'

test_expect_success PYTHON3 'host_probe_memory: a process holding 300 MiB is the largest resident one' '
	cp "$PY" ogmemhog &&
	{ ./ogmemhog -c "b = bytearray(300 << 20); import time; time.sleep(60)" & } &&
	echo $! >hog.pid && at_exit "kill $(cat hog.pid) 2>/dev/null" &&
	wait_for 10 "grep -q \"VmRSS:.*[0-9]\\{6\\} kB\" /proc/$(cat hog.pid)/status" &&
	tool host_probe_memory "{\"limit\":3}" >out &&
	test "$(json_get out .evidence.top_rss[0].pid)" = "$(cat hog.pid)" &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "largest process: pid $(cat hog.pid) (ogmemhog)" &&
	json_get out "d[\"evidence\"][\"memory\"][\"available_bytes\"] > 0" | grep -qx true &&
	kill $(cat hog.pid)
'

test_expect_success ROOT 'host_probe_disk: a tmpfs filled to 94% is named with its free space, and its largest file found' '
	mkdir mnt && mount -t tmpfs -o size=32m ogt4107 "$TRASH/mnt" && at_exit "umount $TRASH/mnt" &&
	mkdir mnt/data && dd if=/dev/zero of=mnt/data/big.bin bs=1M count=30 2>/dev/null &&
	dd if=/dev/zero of=mnt/small.bin bs=1k count=100 2>/dev/null &&
	tool host_probe_disk "{\"path\":\"$TRASH/mnt\"}" >out &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "$TRASH/mnt is 9[0-9]% full" &&
	test "$(json_get out "[m[\"used_pct\"] >= 90 for m in d[\"evidence\"][\"mounts\"] if m[\"mountpoint\"]==\"$TRASH/mnt\"][0]")" = true &&
	test "$(json_get out .evidence.largest_files[0].path)" = "$TRASH/mnt/data/big.bin" &&
	test "$(json_get out .evidence.largest_dirs[0].path)" = "$TRASH/mnt/data"
'

test_expect_success 'host_probe_disk: a path in a denied place is refused' '
	mkdir -p .ssh &&
	test_expect_code 1 "$EDGE" tool host_probe_disk "{\"path\":\"$TRASH/.ssh\"}" >out &&
	grep -q denied out
'

test_expect_success PYTHON3 'host_probe_net: a loopback server is listed with its process and connections' '
	cp "$PY" ogsrv4107 && PORT=$(free_port) &&
	{ ./ogsrv4107 -c "
import socket, time
s = socket.socket(); s.bind((\"127.0.0.1\", $PORT)); s.listen(8)
c = socket.create_connection((\"127.0.0.1\", $PORT)); a, _ = s.accept(); time.sleep(60)" & } &&
	echo $! >srv.pid && at_exit "kill $(cat srv.pid) 2>/dev/null" &&
	wait_for 5 "\"$EDGE\" topology | grep -q \":$PORT  ogsrv4107\"" &&
	tool host_probe_net "{\"limit\":200}" >out &&
	test "$(json_get out "[l[\"process\"] for l in d[\"evidence\"][\"listening\"] if l[\"port\"]==$PORT][0]")" = ogsrv4107 &&
	test "$(json_get out "[l[\"connections\"] for l in d[\"evidence\"][\"listening\"] if l[\"port\"]==$PORT][0]")" = 1 &&
	json_get out "d[\"evidence\"][\"socket_states\"][\"LISTEN\"] >= 1" | grep -qx true
'

test_expect_success BPF,PYTHON3 'host_probe_net: connect latency per peer, on the peer and its connections' '
	cp "$PY" ogconn4107 && PORT=$(free_port) &&
	{ ./ogconn4107 -c "
import socket, threading, time
s = socket.socket(); s.bind((\"127.0.0.1\", $PORT)); s.listen(64)
def serve():
    while True:
        s.accept()[0].close()
held = socket.create_connection((\"127.0.0.1\", $PORT))
kept = s.accept()[0]
threading.Thread(target=serve, daemon=True).start()
print(\"up\", flush=True)
end = time.time() + 60
while time.time() < end:
    socket.create_connection((\"127.0.0.1\", $PORT)).close()
    time.sleep(0.02)" >conn.out & } &&
	echo $! >conn.pid && at_exit "kill $(cat conn.pid) 2>/dev/null" &&
	wait_for 10 "grep -q up conn.out" &&
	tool host_probe_net "{\"limit\":200}" >out &&
	json_get out "[p[\"connects\"] for p in d[\"evidence\"][\"connect_latency\"] if p[\"peer\"]==\"127.0.0.1\"][0] >= 5" | grep -qx true &&
	json_get out "[p[\"p99_ms\"] for p in d[\"evidence\"][\"connect_latency\"] if p[\"peer\"]==\"127.0.0.1\"][0] > 0" | grep -qx true &&
	json_get out "[p[\"connect_latency_p99_ms\"] for p in d[\"evidence\"][\"peers\"] if p[\"peer\"]==\"127.0.0.1:$PORT\" and p[\"process\"]==\"ogconn4107\"][0] > 0" | grep -qx true &&
	kill $(cat conn.pid)
'

test_expect_success NETNS,NFT,PYTHON3 'host_probe_net: a peer behind a 20% drop shows retransmits on its connection' '
	ip netns add $NS && at_exit "ip netns del $NS" &&
	ip link add og$$a type veth peer name og$$b netns $NS && at_exit "ip link del og$$a 2>/dev/null" &&
	ip addr add 198.18.7.1/30 dev og$$a && ip link set og$$a up && ip link set og$$a gso_max_size 1500 &&
	ip -n $NS addr add 198.18.7.2/30 dev og$$b && ip -n $NS link set og$$b up && ip -n $NS link set lo up &&
	ip netns exec $NS nft -f - <<-NFT &&
	table inet ongrid_t4107 {
		chain input {
			type filter hook input priority 0;
			tcp dport { 5001, 5002 } numgen random mod 100 < 20 drop
		}
	}
	NFT
	{ timeout 60 ip netns exec $NS "$PY" -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"198.18.7.2\", 5001)); s.listen(8)
a, _ = s.accept()
while a.recv(65536): pass" & } &&
	sleep 0.5 && cp "$PY" oglossy &&
	{ ./oglossy -c "
import socket, time
c = socket.create_connection((\"198.18.7.2\", 5001), timeout=20)
c.sendall(b\"x\" * 1500000)
print(\"sent\", flush=True)
time.sleep(60)" >lossy.out & } &&
	echo $! >lossy.pid && at_exit "kill $(cat lossy.pid) 2>/dev/null" &&
	wait_for 30 "grep -q sent lossy.out" &&
	tool host_probe_net "{}" >out &&
	test "$(json_get out .evidence.peers[0].peer)" = 198.18.7.2:5001 &&
	test "$(json_get out .evidence.peers[0].process)" = oglossy &&
	test "$(json_get out ".evidence.peers[0].retransmits")" -ge 5 &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "most retransmits on open connections: 198.18.7.2:5001 from oglossy"
'

test_expect_success BPF,NETNS,NFT,PYTHON3 'with the daemon, the lossy peer is named from the tcp eBPF collector with its rate' '
	mkdir -p run && cat >edge.conf <<-EOF &&
	data_dir = "$TRASH/data";
	control_socket = "$TRASH/run/edge.sock";
	collect = { interval = "1s"; };
	metrics = { enabled = false; };
	changes = { watch = []; bin_dirs = []; };
	EOF
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "test -S $TRASH/run/edge.sock" &&
	wait_for 20 "\"$EDGE\" status -c edge.conf --json >st.json && test \$(json_get st.json .daemon.rounds) -ge 2" &&
	{ timeout 60 ip netns exec $NS "$PY" -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"198.18.7.2\", 5002)); s.listen(8)
a, _ = s.accept()
while a.recv(65536): pass" & } &&
	sleep 0.5 &&
	./oglossy -c "
import socket, time
c = socket.create_connection((\"198.18.7.2\", 5002), timeout=20)
for _ in range(10):  # over 5 s: rate() needs the counter seen before it grew
    c.sendall(b\"x\" * 150000)
    time.sleep(0.5)
c.shutdown(socket.SHUT_WR)
c.recv(1)" &&
	wait_for 20 retrans_in_store &&
	"$EDGE" tool -c edge.conf host_probe_net "{}" --json >out &&
	test "$(json_get out .evidence.history)" = on &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "retransmits to 198.18.7.2: [0-9.]*/s over the last 5 min (eBPF)" &&
	test "$(json_get out .evidence.peers_history[0].peer)" = 198.18.7.2
'

test_done
