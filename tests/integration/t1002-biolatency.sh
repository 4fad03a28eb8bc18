#!/bin/sh
test_description='biolatency: I/O latency and sizes per disk and operation; a throttled disk shows its latency'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/ebpf-lib.sh"

# Two loop devices on files (direct I/O, so reads reach the backing disk): loop A is read
# by a process in a cgroup whose reads from the backing disk are throttled to 100 IOPS
# (cgroup v1 blkio.throttle, or io.max on cgroup2; the loop worker issues the backing
# I/O in the issuer's cgroup), loop B is written to without a limit.
BLKIO=$(awk '$3 == "cgroup" && $4 ~ /(^|,)blkio(,|$)/ { print $2; exit }' /proc/self/mounts)
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$BLKIO" ]; then
	CG=$BLKIO/ongrid-t1002-$$
else
	CG=$CG2/ongrid-t1002-$$
fi

# throttle DEV: limit reads from DEV (MAJ:MIN of a whole disk) to 100 IOPS in $CG.
throttle() {
	if [ -n "$BLKIO" ]; then
		echo "$1 100" >"$CG/blkio.throttle.read_iops_device"
	else
		echo +io >"$CG2/cgroup.subtree_control" && echo "$1 riops=100" >"$CG/io.max"
	fi
}

test_expect_success BPF,FIO 'set up two loop devices and a throttled cgroup' '
	test -n "$BLKIO$CG2" &&
	dd if=/dev/urandom of=a.img bs=1M count=32 conv=fsync status=none &&
	dd if=/dev/urandom of=b.img bs=1M count=32 conv=fsync status=none &&
	LA=$(losetup -f --show --direct-io=on a.img) && at_exit "losetup -d $LA" &&
	LB=$(losetup -f --show --direct-io=on b.img) && at_exit "losetup -d $LB" &&
	echo "$LA" >la && echo "$LB" >lb &&
	backing=$(stat -c %d a.img) &&
	dev="$((backing >> 8 & 0xfff)):$((backing & 0xff | (backing >> 12 & 0xfff00)))" &&
	{ [ ! -e "/sys/dev/block/$dev/partition" ] ||
		dev=$(cat "/sys/dev/block/$dev/../dev"); } &&
	mkdir "$CG" && at_exit "rmdir $CG" &&
	throttle "$dev"
'
LA=$(cat la 2>/dev/null) LB=$(cat lb 2>/dev/null)
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
