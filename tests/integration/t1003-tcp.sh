#!/bin/sh
test_description='tcp: resets, failed connects, connect latency, lifetimes, retransmits and srtt land on the right peer'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/ebpf-lib.sh"

# Each scenario uses its own loopback addresses (all of 127/8 is local), so what the
# collector attributes to a peer can be checked exactly even while other tests use
# 127.0.0.1. Lossy link: two network namespaces joined by a veth, the server's side
# dropping 20% of incoming TCP with an nftables rule (no netem on our kernels). The
# addresses are from 198.18.0.0/15, the range set aside for benchmarking, and live only
# inside the two namespaces.
N=20
NSA=ongrid-t1003a-$$
NSB=ongrid-t1003b-$$

cat >tcpload.py <<'PYEOF'
import socket, struct, sys, threading, time

def listener(addr):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    s.listen(128)
    return s

def connect(src, dst):
    c = socket.socket()
    c.bind((src, 0))
    c.settimeout(5)
    c.connect(dst)
    return c

def resets(n):
    """Server 127.0.0.22 aborts every connection (SO_LINGER 0): one RST each to 127.0.0.21."""
    s = listener("127.0.0.22")
    def serve():
        for _ in range(n):
            a, _ = s.accept()
            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            a.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    got = 0
    for _ in range(n):
        # The reset can beat connect() back to user space: then connect() reports it.
        try:
            c = connect("127.0.0.21", s.getsockname())
            c.recv(1)
            c.close()
        except ConnectionResetError:
            got += 1
    t.join(5)
    print("resets", got)

def refused(n):
    """Nobody listens on 127.0.0.24: the kernel answers each SYN from 127.0.0.23 with a RST."""
    s = listener("127.0.0.24")
    port = s.getsockname()[1]
    s.close()
    got = 0
    for _ in range(n):
        try:
            connect("127.0.0.23", ("127.0.0.24", port)).close()
        except ConnectionRefusedError:
            got += 1
    print("refused", got)

def held(n, hold):
    """Connections from 127.0.0.25 to 127.0.0.26 that stay open `hold` seconds."""
    s = listener("127.0.0.26")
    def serve():
        conns = [s.accept()[0] for _ in range(n)]
        for a in conns:
            a.recv(1)
            a.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cs = [connect("127.0.0.25", s.getsockname()) for _ in range(n)]
    time.sleep(hold)
    for c in cs:
        c.close()
    t.join(5)
    print("held", n)

def sink(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    print("ready", flush=True)
    a, _ = s.accept()
    while a.recv(65536):
        pass

def send(addr, port, nbytes):
    c = socket.create_connection((addr, port), timeout=20)
    c.sendall(b"x" * nbytes)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    print("sent", nbytes)

cmd = sys.argv[1]
if cmd == "loopback":
    n = int(sys.argv[2])
    resets(n); refused(n); held(n, 0.3)
elif cmd == "sink":
    sink(sys.argv[2], int(sys.argv[3]))
elif cmd == "send":
    send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
PYEOF

test_expect_success BPF,PYTHON3 'loopback: resets, refusals and held connections' '
	collect_bg lo.json tcp 6 &&
	timeout 30 "$PY" tcpload.py loopback $N >load.out &&
	collect_wait &&
	grep -qx "resets $N" load.out && grep -qx "refused $N" load.out
'

test_expect_success BPF,PYTHON3 'an aborting server: resets sent to the client, received from the server' '
	test "$(sample lo.json ongrid_tcp_resets_sent_total peer=127.0.0.21)" = "$N" &&
	test "$(sample lo.json ongrid_tcp_resets_received_total peer=127.0.0.22)" = "$N" &&
	test "$(sample lo.json ongrid_tcp_resets_sent_total peer=127.0.0.22)" = 0 &&
	test "$(hist_count lo.json ongrid_tcp_connect_latency_seconds peer=127.0.0.22)" -ge "$N"
'

test_expect_success BPF,PYTHON3 'a closed port: failed connects to it, resets sent without a socket to the client' '
	test "$(sample lo.json ongrid_tcp_connect_failures_total peer=127.0.0.24)" = "$N" &&
	test "$(sample lo.json ongrid_tcp_resets_received_total peer=127.0.0.24)" = "$N" &&
	test "$(sample lo.json ongrid_tcp_resets_sent_total peer=127.0.0.23)" = "$N" &&
	test "$(hist_count lo.json ongrid_tcp_connect_latency_seconds peer=127.0.0.24)" = 0
'

test_expect_success BPF,PYTHON3 'held connections: lifetimes of about 0.3 s on both sides, an srtt, no retransmits' '
	test "$(hist_count lo.json ongrid_tcp_connection_lifetime_seconds peer=127.0.0.26)" -ge "$N" &&
	test "$(hist_count lo.json ongrid_tcp_connection_lifetime_seconds peer=127.0.0.25)" -ge "$N" &&
	q=$(hist_q lo.json ongrid_tcp_connection_lifetime_seconds 0.5 peer=127.0.0.26) &&
	report "held connection lifetime median bucket le=$q s" &&
	fcmp "$q" ">=" 0.256 && fcmp "$q" "<=" 1.024 &&
	srtt=$(sample lo.json ongrid_tcp_srtt_seconds peer=127.0.0.26) &&
	fcmp "$srtt" ">" 0 && fcmp "$srtt" "<" 0.1 &&
	test "$(sample lo.json ongrid_tcp_retransmits_total peer=127.0.0.26)" = 0
'

test_expect_success BPF,PYTHON3,NETNS,NFT 'a lossy link: retransmits go to the far peer only' '
	ip netns add $NSA && at_exit "ip netns del $NSA" &&
	ip netns add $NSB && at_exit "ip netns del $NSB" &&
	ip link add ong$$a netns $NSA type veth peer name ong$$b netns $NSB &&
	ip -n $NSA addr add 198.18.0.1/30 dev ong$$a && ip -n $NSA link set ong$$a up &&
	# segments of one MTU, not 64 KiB GSO bursts: more, smaller losses to retransmit
	ip -n $NSA link set ong$$a gso_max_size 1500 &&
	ip -n $NSB addr add 198.18.0.2/30 dev ong$$b && ip -n $NSB link set ong$$b up &&
	ip -n $NSA link set lo up && ip -n $NSB link set lo up &&
	ip netns exec $NSB nft -f - <<-NFT &&
	table inet ongrid_t1003 {
		chain input {
			type filter hook input priority 0;
			tcp dport 5001 numgen random mod 100 < 20 drop
		}
	}
	NFT
	{ timeout 30 ip netns exec $NSB "$PY" tcpload.py sink 198.18.0.2 5001 >sink.out & } &&
	wait_for 5 "grep -q ready sink.out" &&
	collect_bg loss.json tcp 10 &&
	timeout 30 ip netns exec $NSA "$PY" tcpload.py send 198.18.0.2 5001 1500000 >send.out &&
	collect_wait &&
	r=$(sample loss.json ongrid_tcp_retransmits_total peer=198.18.0.2) &&
	back=$(sample loss.json ongrid_tcp_retransmits_total peer=198.18.0.1) &&
	srtt=$(sample loss.json ongrid_tcp_srtt_seconds peer=198.18.0.2) &&
	report "lossy link: $r retransmits to 198.18.0.2, ${back:-0} to 198.18.0.1, srtt $srtt s" &&
	test "$r" -ge 30 && test "${back:-0}" -le $((r / 5)) && fcmp "$srtt" ">" 0
'

report_show
test_done
