#!/bin/sh
test_description='procfs collectors on the real host: sane values, a CPU burn, a filling filesystem'
. "$(dirname "$0")/../lib/test-lib.sh"

# value NAME [LABELS] <FILE: the value of the first line "NAME{LABELS} V" (or "NAME V")
value() {
	if [ -n "${2:-}" ]; then
		grep -F "$1{$2} " | head -n 1 | awk '{print $NF}'
	else
		grep "^$1 " | head -n 1 | awk '{print $NF}'
	fi
}

test_expect_success 'collect --only takes every procfs collector and prints their families' '
	"$EDGE" collect --only cpu,pressure,memory,disk,filesystem,net,netstat,proc \
		--rounds 2 --interval 500ms >out 2>err &&
	test_must_fail test -s err &&
	for m in ongrid_cpu_seconds_total ongrid_load1 ongrid_memory_total_bytes \
		ongrid_filesystem_size_bytes ongrid_net_receive_bytes_total \
		ongrid_netstat_tcp_retrans_segs_total ongrid_process_cpu_seconds_total \
		ongrid_processes; do
		grep -q "^$m" out || { echo "missing $m"; return 1; }
	done
'

test_expect_success 'memory total equals MemTotal of /proc/meminfo, in bytes' '
	"$EDGE" collect --only memory --rounds 1 >out &&
	want=$(awk "/^MemTotal:/ {printf \"%.0f\", \$2 * 1024}" /proc/meminfo) &&
	got=$(value ongrid_memory_total_bytes <out) &&
	test "$got" = "$want"
'

test_expect_success 'cpu seconds per mode add up to about uptime times CPUs' '
	"$EDGE" collect --only cpu --rounds 1 >out &&
	sum=$(grep "^ongrid_cpu_seconds_total{" out | awk "{s += \$NF} END {print s}") &&
	up=$(awk "{print \$1}" /proc/uptime) && n=$(nproc) &&
	awk -v s="$sum" -v u="$up" -v n="$n" "BEGIN { r = s / (u * n); exit !(r > 0.9 && r < 1.1) }"
'

test_expect_success 'the root filesystem is reported with size >= free >= avail' '
	"$EDGE" collect --only filesystem --rounds 1 >out &&
	grep -q "mountpoint=\"/\"" out &&
	l=$(grep "ongrid_filesystem_size_bytes{.*mountpoint=\"/\"}" out | awk "{print \$NF}") &&
	f=$(grep "ongrid_filesystem_free_bytes{.*mountpoint=\"/\"}" out | awk "{print \$NF}") &&
	a=$(grep "ongrid_filesystem_avail_bytes{.*mountpoint=\"/\"}" out | awk "{print \$NF}") &&
	awk -v l="$l" -v f="$f" -v a="$a" "BEGIN { exit !(l > 0 && l >= f && f >= a) }" &&
	! grep -q "fstype=\"proc\"" out && ! grep -q "fstype=\"sysfs\"" out
'

test_expect_success 'an unknown collector name is bad usage and is named' '
	test_expect_code 2 "$EDGE" collect --only cpu,frob 2>err &&
	grep -q "unknown collector .frob." err
'

test_expect_success STRESS 'a CPU burn raises the user-mode CPU rate' '
	"$EDGE" collect --only cpu --rounds 1 >before &&
	t0=$(date +%s.%N) &&
	stress-ng --cpu 2 --timeout 3s --quiet &&
	"$EDGE" collect --only cpu --rounds 1 >after &&
	t1=$(date +%s.%N) &&
	u0=$(value ongrid_cpu_seconds_total "mode=\"user\"" <before) &&
	u1=$(value ongrid_cpu_seconds_total "mode=\"user\"" <after) &&
	echo "user $u0 -> $u1 over $t0..$t1" &&
	awk -v a="$u0" -v b="$u1" -v t0="$t0" -v t1="$t1" \
		"BEGIN { exit !((b - a) / (t1 - t0) > 1.0) }"
'

test_expect_success STRESS 'the CPU burner shows up among the top processes' '
	stress-ng --cpu 1 --timeout 6s --quiet &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null" &&
	sleep 1 &&
	"$EDGE" collect --only proc --rounds 2 --interval 1s >out &&
	grep "^ongrid_process_cpu_seconds_total{comm=\"stress-ng" out &&
	grep -q "^ongrid_process_resident_memory_bytes{comm=\"stress-ng" out &&
	grep -q "^ongrid_process_threads{comm=\"stress-ng" out &&
	grep -q "^ongrid_process_open_fds{comm=\"stress-ng" out
'

test_expect_success 'a process seen in one round only is not reported (no one-sample series)' '
	"$EDGE" collect --only proc --rounds 1 >out &&
	grep -q "^ongrid_processes{" out &&
	! grep -q "^ongrid_process_cpu_seconds_total" out
'

test_expect_success 'collect.top_processes bounds the per-process series' '
	printf "collect: { top_processes = 2; };\n" >top.conf &&
	"$EDGE" collect -c top.conf --only proc --rounds 2 --interval 500ms >out &&
	n=$(grep -c "^ongrid_process_threads{" out) &&
	test "$n" -ge 1 && test "$n" -le 4
'

test_expect_success ROOT 'filling a small tmpfs shows its free bytes dropping' '
	mkdir -p mnt &&
	mount -t tmpfs -o size=64m ongrid-t1050 mnt &&
	test_when_finished "umount $TRASH/mnt" &&
	"$EDGE" collect --only filesystem --rounds 1 >before &&
	fallocate -l 32M mnt/fill &&
	"$EDGE" collect --only filesystem --rounds 1 >after &&
	f0=$(grep "ongrid_filesystem_free_bytes{.*mountpoint=\"$TRASH/mnt\"}" before | awk "{print \$NF}") &&
	f1=$(grep "ongrid_filesystem_free_bytes{.*mountpoint=\"$TRASH/mnt\"}" after | awk "{print \$NF}") &&
	s=$(grep "ongrid_filesystem_size_bytes{.*mountpoint=\"$TRASH/mnt\"}" after | awk "{print \$NF}") &&
	echo "free $f0 -> $f1 of $s" &&
	test "$s" = 67108864 &&
	awk -v a="$f0" -v b="$f1" "BEGIN { exit !(a - b >= 32 * 1048576 && a - b < 33 * 1048576) }"
'

test_done
