#!/bin/sh
test_description='investigate: slow block I/O on a throttled loop device is found, with the device named'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

# As t1002: a loop device on a file (direct I/O), read by fio in a cgroup whose reads from
# the backing disk are throttled (here to 50 IOPS with 8 in flight: each read waits about
# 160 ms); blkio.throttle on cgroup v1, io.max on cgroup2.
agent_conf
BLKIO=$(awk '$3 == "cgroup" && $4 ~ /(^|,)blkio(,|$)/ { print $2; exit }' /proc/self/mounts)
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$BLKIO" ]; then
	CG=$BLKIO/ongrid-t8003-$$
else
	CG=$CG2/ongrid-t8003-$$
fi

throttle() {
	if [ -n "$BLKIO" ]; then
		echo "$1 50" >"$CG/blkio.throttle.read_iops_device"
	else
		echo +io >"$CG2/cgroup.subtree_control" && echo "$1 riops=50" >"$CG/io.max"
	fi
}

test_expect_success BPF,FIO 'a loop device whose reads are throttled' '
	test -n "$BLKIO$CG2" &&
	dd if=/dev/urandom of=a.img bs=1M count=16 conv=fsync status=none &&
	LA=$(losetup -f --show --direct-io=on a.img) && at_exit "losetup -d $LA" &&
	echo "$LA" >la &&
	backing=$(stat -c %d a.img) &&
	dev="$((backing >> 8 & 0xfff)):$((backing & 0xff | (backing >> 12 & 0xfff00)))" &&
	{ [ ! -e "/sys/dev/block/$dev/partition" ] ||
		dev=$(cat "/sys/dev/block/$dev/../dev"); } &&
	mkdir "$CG" && at_exit "rmdir $CG" &&
	throttle "$dev"
'
LA=$(cat la 2>/dev/null)

test_expect_success BPF,FIO 'reads wait: category disk, component the loop device' '
	agent_daemon 3 &&
	{ sh -c "echo \$\$ >$CG/cgroup.procs && exec fio --name=a --filename=$LA --rw=randread \
		--bs=4k --direct=1 --ioengine=libaio --iodepth=8 --runtime=14 --time_based" >fa.out & } &&
	fa_pid=$! &&
	test_when_finished "kill $fa_pid 2>/dev/null; wait $fa_pid 2>/dev/null" &&
	sleep 10 &&
	investigate io.json "why is the database so slow to read?" &&
	report_is io.json disk "^${LA#/dev/}\$" &&
	json_get io.json "d[\"evidence\"][0][\"finding\"]" | grep -q "block I/O p99 on ${LA#/dev/} rose to"
'

test_done
