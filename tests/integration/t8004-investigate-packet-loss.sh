#!/bin/sh
test_description='investigate: packet loss to one peer (nftables drop in a network namespace) is found, with the peer named'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

# The peer lives in its own namespace behind a veth, and drops 20% of the TCP it receives
# (no netem on our kernels). 198.18.0.0/15 is set aside for benchmarking; these addresses
# exist only on the veth.
agent_conf
NS=ongrid-t8004-$$
HOST_IF=og8004h$$
PEER=198.18.84.2

cat >load.py <<'PYEOF'
import socket, sys, time
if sys.argv[1] == "sink":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[2], 5004)); s.listen(8); print("ready", flush=True)
    while True:
        c, _ = s.accept()
        while c.recv(65536):
            pass
else:
    end = time.time() + float(sys.argv[3])
    c = socket.create_connection((sys.argv[2], 5004), timeout=5)
    buf = b"x" * 16384
    while time.time() < end:
        c.sendall(buf)
        time.sleep(0.005)
PYEOF

test_expect_success BPF,PYTHON3,NETNS,NFT 'a peer behind a lossy link' '
	ip netns add $NS && at_exit "ip netns del $NS" &&
	ip link add ${HOST_IF} type veth peer name og8004p netns $NS &&
	at_exit "ip link del ${HOST_IF} 2>/dev/null" &&
	ip addr add 198.18.84.1/30 dev ${HOST_IF} && ip link set ${HOST_IF} up &&
	ip link set ${HOST_IF} gso_max_size 1500 &&
	ip -n $NS addr add $PEER/30 dev og8004p && ip -n $NS link set og8004p up &&
	ip -n $NS link set lo up &&
	ip netns exec $NS nft -f - <<-NFT &&
	table inet ongrid_t8004 {
		chain input {
			type filter hook input priority 0;
			tcp dport 5004 numgen random mod 100 < 20 drop
		}
	}
	NFT
	{ timeout 40 ip netns exec $NS "$PY" load.py sink $PEER >sink.out 2>&1 & } &&
	wait_for 5 "grep -q ready sink.out"
'

# the planner's threshold for loss on a path (planner.c RETRANS_PER_S)
RETRANS="sum by (peer) (rate(ongrid_tcp_retransmits_total{peer=\"$PEER\"}[10s])) > 1"

test_expect_success BPF,PYTHON3,NETNS,NFT 'retransmits to that peer: category network, component the peer' '
	agent_daemon 3 &&
	{ timeout 45 "$PY" load.py send $PEER 40 >send.out 2>&1 & } &&
	send_pid=$! &&
	test_when_finished "kill $send_pid 2>/dev/null" &&
	wait_for 30 "store_shows \"\$RETRANS\"" &&
	investigate loss.json "why are requests to the database timing out?" &&
	report_is loss.json network "^198\\.18\\.84\\.2\$" &&
	json_get loss.json "d[\"evidence\"][0][\"finding\"]" | grep -q "retransmits to $PEER rose to"
'

test_done
