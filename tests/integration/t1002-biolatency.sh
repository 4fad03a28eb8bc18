#!/bin/sh
test_description='biolatency: I/O latency and sizes per disk and operation; a throttled disk shows its latency'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/ebpf-lib.sh"
. "$SRC/tests/lib/loop-lib.sh"

# Two loop devices on files (direct I/O, so reads reach the backing disk): loop A is read
# by a process in a cgroup whose reads from the backing disk are throttled to 100 IOPS
# (cgroup v1 blkio.throttle, or io.max on cgroup2; the loop worker issues the backing
# I/O in the issuer's cgroup), loop B is written to without a limit.
test_expect_success BPF,FIO 'set up two loop devices and a throttled cgroup' '
	loop_dio a.img 32 && LA=$LOOP_DEV &&
	loop_dio b.img 32 && LB=$LOOP_DEV &&
	loop_backing_disk a.img && throttle_cgroup ongrid-t1002-$$ "$DISK_DEV" 100
'
LA=${LA:-} LB=${LB:-} CG=${THROTTLE_CG:-}
A=${LA#/dev/} B=${LB#/dev/}

test_expect_success BPF,FIO 'reads and writes show up per disk and op, with their sizes' '
	collect_bg bio.json biolatency 5 &&
	{ sh -c "echo \$\$ >$CG/cgroup.procs && exec fio --name=a --filename=$LA --rw=randread \
		--bs=4k --direct=1 --ioengine=libaio --iodepth=4 --runtime=3 --time_based" >fa.out & } &&
	fa_pid=$! &&
	fio --name=b --filename=$LB --rw=randwrite --bs=16k --direct=1 --ioengine=libaio \
		--iodepth=4 --runtime=3 --time_based >fb.out &&
	wait $fa_pid && collect_wait &&
	ra=$(hist_count bio.json ongrid_bio_latency_seconds disk=$A op=read) &&
	wb=$(hist_count bio.json ongrid_bio_latency_seconds disk=$B op=write) &&
	wa=$(hist_count bio.json ongrid_bio_latency_seconds disk=$A op=write) &&
	report "$A reads $ra, $A writes $wa, $B writes $wb" &&
	test "$ra" -ge 50 && test "$wb" -ge 100 && test "$wa" = 0 &&
	test "$(hist_q bio.json ongrid_bio_size_bytes 0.5 disk=$A op=read)" = 8192.0 &&
	test "$(hist_q bio.json ongrid_bio_size_bytes 0.5 disk=$B op=write)" = 32768.0 &&
	test "$(hist_count bio.json ongrid_bio_size_bytes disk=$A op=read)" = "$ra"
'

test_expect_success BPF,FIO 'the throttled disk has the higher latency' '
	sa=$(sample bio.json ongrid_bio_latency_seconds_sum disk=$A op=read) &&
	sb=$(sample bio.json ongrid_bio_latency_seconds_sum disk=$B op=write) &&
	ma=$(awk -v s="$sa" -v n="$ra" "BEGIN { print s / n }") &&
	mb=$(awk -v s="$sb" -v n="$wb" "BEGIN { print s / n }") &&
	p90=$(hist_q bio.json ongrid_bio_latency_seconds 0.9 disk=$A op=read) &&
	report "mean latency $A $ma s, $B $mb s; $A p90 $p90 s" &&
	fcmp "$ma" ">" "$mb * 10" && fcmp "$p90" ">=" 0.004
'

report_show
test_done
