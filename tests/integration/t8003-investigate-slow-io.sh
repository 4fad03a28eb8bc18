#!/bin/sh
test_description='investigate: slow block I/O on a throttled loop device is found, with the device named'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"
. "$SRC/tests/lib/loop-lib.sh"

# As t1002: a loop device on a file (direct I/O), read by fio in a cgroup whose reads from
# the backing disk are throttled (here to 50 IOPS with 8 in flight: each read waits about
# 160 ms).
agent_conf

test_expect_success BPF,FIO 'a loop device whose reads are throttled' '
	loop_dio a.img 16 && loop_backing_disk a.img &&
	throttle_cgroup ongrid-t8003-$$ "$DISK_DEV" 20
'
LA=${LOOP_DEV:-} CG=${THROTTLE_CG:-}
SLOW_READS="histogram_quantile(0.99, sum by (le) \
(rate(ongrid_bio_latency_seconds_bucket{disk=\"${LA#/dev/}\",op=\"read\"}[10s]))) > 0.05"

# When the store never shows the slow reads, say what it does show and what the kernel
# throttled, so that a failure on another machine can be told apart from a regression.
slow_io_diag() {
	echo "loop $LA (dio $(cat /sys/block/${LA#/dev/}/loop/dio)) on disk $DISK_DEV, cgroup $CG"
	grep -H . "$CG"/blkio.throttle.read_iops_device "$CG"/blkio.throttle.io_serviced \
		"$CG"/io.max "$CG"/io.stat "$CG"/cgroup.procs 2>/dev/null
	losetup -l "$LA"
	"$EDGE" status -c edge.conf
	echo "a second reader, for 3 s:" &&
		"$EDGE" collect --only biolatency --interval 3s --rounds 2 --json | grep -o "disk[^,]*" | sort | uniq -c
	for q in "ongrid_bio_latency_seconds_count" "histogram_quantile(0.99, sum by (disk, op, le) \
		(rate(ongrid_bio_latency_seconds_bucket[10s])))"; do
		echo "query: $q" && "$EDGE" query -c edge.conf "$q"
	done
}

test_expect_success BPF,FIO 'reads wait: category disk, component the loop device' '
	agent_daemon 3 &&
	fio_throttled "$CG" "$LA" --name=a --rw=randread --bs=4k --direct=1 --ioengine=libaio \
		--iodepth=16 --runtime=40 --time_based &&
	test_when_finished "kill $FIO_PID 2>/dev/null; wait $FIO_PID 2>/dev/null" &&
	{ wait_for 30 "store_shows \"\$SLOW_READS\"" || { slow_io_diag; false; }; } &&
	investigate io.json "why is the database so slow to read?" &&
	report_is io.json disk "^${LA#/dev/}\$" &&
	json_get io.json "d[\"evidence\"][0][\"finding\"]" | grep -q "block I/O p99 on ${LA#/dev/} rose to"
'

test_done
