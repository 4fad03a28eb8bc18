#!/bin/sh
# bench/overhead.sh - what the eBPF collectors cost the work they watch (issue 3 targets:
# at most 5% under a context-switch storm, 3% under fio at queue depth 16, 10% under a
# loopback connection storm).
#
# Three loads, each measured by the number it reports itself:
#   switch  stress-ng --switch (pipe ping-pong), bogo ops/s        runqlat
#   fio     fio 4 KiB random reads, direct, libaio, iodepth 16, IOPS   biolatency
#   storm   loopback connect/abort loop (Python), connections/s    tcp
# and for each, compare.py runs the load side by side (interleaved, medians):
#   - with `ongrid-edge collect --only C --interval 1s` attached vs nothing attached;
#   - with the libbpf-tools equivalent attached (runqlat, biolatency, tcplife; Debian's
#     libbpf-tools, as shipped, output to /dev/null) vs nothing attached.
# The overhead is 1 - ratio. Knobs: OVERHEAD_ROUNDS (5), OVERHEAD_SECONDS (5),
# OVERHEAD_LOADS ("switch fio storm").
#
#   sh bench/overhead.sh                 (bench/run overhead does the same)
#   sh bench/overhead.sh one LOAD MODE   one measurement; MODE none|ongrid|tools
#   sh bench/overhead.sh events          per-event cost of each program (bpf_stats), ours
#                                        and libbpf-tools', under each load
set -eu
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-${ONGRID_BUILD:-$SRC/build}}
COMPARE=${COMPARE:-/usr/bin/python3 $SRC/bench/compare.py}
ROUNDS=${OVERHEAD_ROUNDS:-5}
SECS=${OVERHEAD_SECONDS:-5}
LOADS=${OVERHEAD_LOADS:-switch fio storm}
EDGE=$BUILD/ongrid-edge
WORK=$BUILD/bench/overhead
PY=/usr/bin/python3

storm_py() {
	cat <<'PYEOF'
import socket, sys, time, multiprocessing as mp
DUR = float(sys.argv[1])
def server(s):
    while True:
        a, _ = s.accept()
        a.close()
def client(addr, q):
    n, end = 0, time.monotonic() + DUR
    while time.monotonic() < end:
        c = socket.socket()
        # Abort instead of close: no TIME_WAIT, so the port range never runs out.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        c.connect(addr)
        c.close()
        n += 1
    q.put(n)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
mp.Process(target=server, args=(s,), daemon=True).start()
q = mp.Queue()
c = mp.Process(target=client, args=(s.getsockname(), q))
c.start()
n = q.get()
c.join()
print("connections_per_s", n / DUR)
PYEOF
}

# run_tool CMD...: a libbpf-tools program. tcplife attaches a classic tracepoint, which
# needs tracefs; it is mounted for it alone, in a private mount namespace.
run_tool() {
	if [ "$1" = tcplife ]; then
		unshare -m sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec /usr/sbin/tcplife'
	else
		"/usr/sbin/$1" ${2:+"$2"}
	fi
}

# The load alone; prints "METRIC VALUE".
load() {
	case $1 in
	switch)
		stress-ng --switch 2 -t "${SECS}s" --metrics-brief 2>&1 |
			awk '$4 == "switch" && $5 ~ /^[0-9]+$/ { print "switch_ops_per_s", $9 }'
		;;
	fio)
		fio --name=overhead --filename="$WORK/fio.dat" --size=256M --rw=randread --bs=4k \
			--direct=1 --ioengine=libaio --iodepth=16 --runtime="$SECS" --time_based \
			--output-format=json |
			"$PY" -c 'import json,sys; print("iops", json.load(sys.stdin)["jobs"][0]["read"]["iops"])'
		;;
	storm)
		storm_py >"$WORK/storm.py" && "$PY" "$WORK/storm.py" "$SECS"
		;;
	esac
}

# one LOAD MODE: the load with MODE's observer attached for its whole run.
one() {
	case $1 in
	switch) c=runqlat tool="runqlat 1" ;;
	fio) c=biolatency tool="biolatency 1" ;;
	storm) c=tcp tool="tcplife" ;;
	*) echo "overhead.sh: unknown load '$1' (switch, fio, storm)" >&2 && exit 2 ;;
	esac
	pid=""
	case $2 in
	none) ;;
	ongrid) "$EDGE" collect --only "$c" --interval 1s --rounds $((SECS + 4)) >/dev/null 2>&1 &
		pid=$! ;;
	tools) run_tool $tool >/dev/null 2>&1 &
		pid=$! ;;
	*) echo "overhead.sh: unknown mode '$2' (none, ongrid, tools)" >&2 && exit 2 ;;
	esac
	# Both load their programs in well under a second; start the load once attached.
	[ -z "$pid" ] || sleep 1.5
	load "$1"
	if [ -n "$pid" ]; then
		pkill -P "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

# events LOAD MODE: the per-event run time of each BPF program MODE attaches, under
# LOAD (kernel.bpf_stats_enabled; robust to other load on the host, unlike throughput).
events() {
	before=$(bpftool -j prog show | "$PY" -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
	old=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	case $2 in
	ongrid) "$EDGE" collect --only "$3" --interval 1s --rounds $((SECS + 4)) >/dev/null 2>&1 & ;;
	tools) run_tool $4 >/dev/null 2>&1 & ;;
	esac
	pid=$!
	sleep 1.5
	load "$1" >/dev/null
	bpftool -j prog show | BEFORE="$before" WHO="$2" "$PY" -c '
import json, os, sys
old = set(os.environ["BEFORE"].split())
for p in json.load(sys.stdin):
    if str(p["id"]) not in old and p.get("run_cnt", 0) > 100:
        print("| %s | %s | %d | %.0f |" % (os.environ["WHO"], p["name"], p["run_cnt"],
                                         p["run_time_ns"] / p["run_cnt"]))'
	pkill -P "$pid" 2>/dev/null || true
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled="$old"
}

mkdir -p "$WORK"
if [ "${1:-}" = events ]; then
	[ -f "$WORK/fio.dat" ] || dd if=/dev/urandom of="$WORK/fio.dat" bs=1M count=256 status=none
	echo "| attached | program | events | ns per event |"
	echo "|---|---|---|---|"
	for l in $LOADS; do
		case $l in
		switch) events switch ongrid runqlat && events switch tools - "runqlat 1" ;;
		fio) events fio ongrid biolatency && events fio tools - "biolatency 1" ;;
		storm) events storm ongrid tcp && events storm tools - tcplife ;;
		esac
	done
	exit 0
fi
if [ "${1:-}" = one ]; then
	one "$2" "$3"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "overhead.sh: needs root to attach BPF programs" >&2; exit 1; }
[ -f "$WORK/fio.dat" ] || dd if=/dev/urandom of="$WORK/fio.dat" bs=1M count=256 status=none
ME="sh $SRC/bench/overhead.sh one"
for l in $LOADS; do
	case $l in
	switch) m=switch_ops_per_s u=ops/s ;;
	fio) m=iops u=IOPS ;;
	storm) m=connections_per_s u=conn/s ;;
	esac
	$COMPARE --name "overhead_${l}_ongrid" --rounds "$ROUNDS" --metric $m --unit $u \
		--higher-is-better --ours "$ME $l ongrid" --baseline "$ME $l none"
	$COMPARE --name "overhead_${l}_libbpf_tools" --rounds "$ROUNDS" --metric $m --unit $u \
		--higher-is-better --ours "$ME $l tools" --baseline "$ME $l none"
done
