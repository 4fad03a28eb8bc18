# loop-lib.sh - slow disks for the block I/O tests: loop devices whose reads reach the
# backing disk, read from a cgroup whose reads from that disk are throttled. The helpers
# set variables rather than print, so that the cleanups they register with at_exit are
# not lost in a $(...) subshell.
#
#   loop_dio IMG MB          make IMG (MB MiB of random data), attach a loop device to it
#                            with direct I/O and set LOOP_DEV=/dev/loopN. Fails, saying
#                            why, when the kernel cannot do direct I/O on it.
#   loop_backing_disk IMG    set DISK_DEV to MAJ:MIN of the whole disk IMG lives on
#   throttle_cgroup NAME DISK IOPS
#                            create cgroup NAME (removed at exit) whose reads from DISK
#                            are limited to IOPS (blkio.throttle on cgroup v1, io.max on
#                            cgroup2) and set THROTTLE_CG to its directory
#   fio_throttled CG FILE FIO_ARGS...
#                            run fio (--thread, so one process) on FILE and move it into
#                            cgroup CG once it has FILE open; set FIO_PID (stopped at exit)
#
# Why the care: a loop device without direct I/O reads through the page cache, and an
# image just written is in the page cache, so its reads never reach the disk and no
# throttle slows them. losetup only warns when it cannot switch direct I/O on (for
# example when the backing disk's logical sectors are larger than the loop device's), so
# the image is written around the cache and the loop device's own `dio` flag is checked.

loop_dio() {
	dd if=/dev/urandom of="$1" bs=1M count="$2" oflag=direct status=none || return 1
	for ss in "" 4096; do
		LOOP_DEV=$(losetup -f --show --direct-io=on ${ss:+--sector-size $ss} "$1") ||
			return 1
		if [ "$(cat "/sys/block/${LOOP_DEV#/dev/}/loop/dio" 2>/dev/null)" = 1 ]; then
			at_exit "losetup -d $LOOP_DEV"
			return 0
		fi
		losetup -d "$LOOP_DEV"
	done
	echo "loop_dio: the kernel will not do direct I/O on a loop device over $1" >&2
	return 1
}

loop_backing_disk() {
	DISK_DEV=$(stat -c %d "$1") || return 1
	DISK_DEV="$((DISK_DEV >> 8 & 0xfff)):$((DISK_DEV & 0xff | (DISK_DEV >> 12 & 0xfff00)))"
	if [ ! -e "/sys/dev/block/$DISK_DEV" ]; then
		echo "loop_backing_disk: $1 is not on a block device ($DISK_DEV)" >&2
		return 1
	fi
	[ ! -e "/sys/dev/block/$DISK_DEV/partition" ] ||
		DISK_DEV=$(cat "/sys/dev/block/$DISK_DEV/../dev")
}

throttle_cgroup() {
	blkio_=$(awk '$3 == "cgroup" && $4 ~ /(^|,)blkio(,|$)/ { print $2; exit }' /proc/self/mounts)
	cg2_=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	if [ -n "$blkio_" ]; then
		THROTTLE_CG=$blkio_/$1
		mkdir "$THROTTLE_CG" && at_exit "rmdir $THROTTLE_CG" &&
			echo "$2 $3" >"$THROTTLE_CG/blkio.throttle.read_iops_device"
	elif [ -n "$cg2_" ]; then
		THROTTLE_CG=$cg2_/$1
		echo +io >"$cg2_/cgroup.subtree_control" && mkdir "$THROTTLE_CG" &&
			at_exit "rmdir $THROTTLE_CG" && echo "$2 riops=$3" >"$THROTTLE_CG/io.max"
	else
		echo "throttle_cgroup: no blkio or cgroup2 hierarchy is mounted" >&2
		return 1
	fi
}

# fio starts outside the throttled cgroup: started inside it, its own exec and libraries
# are read through the throttle too, and on a cold page cache (a fresh CI machine) fio
# spent the whole test at 20 IOPS loading itself before issuing a single read.
fio_throttled() {
	cg_=$1 file_=$2
	shift 2
	fio --thread --filename="$file_" "$@" >"$TRASH/fio.out" 2>&1 &
	FIO_PID=$!
	at_exit "kill $FIO_PID 2>/dev/null"
	i_=0
	while ! ls -l "/proc/$FIO_PID/fd" 2>/dev/null | grep -q -- "-> $file_\$"; do
		i_=$((i_ + 1))
		if [ $i_ -gt 300 ] || ! kill -0 $FIO_PID 2>/dev/null; then
			echo "fio_throttled: fio never opened $file_:" >&2
			cat "$TRASH/fio.out" >&2
			return 1
		fi
		sleep 0.1
	done
	echo $FIO_PID >"$cg_/cgroup.procs"
}
