#!/bin/sh
test_description='oomkill: an OOM kill in a memory-limited cgroup is recorded with victim, cgroup, usage and limit'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/ebpf-lib.sh"

# A child of our own memory cgroup (so the test stays inside whatever limit it runs
# under), limited to 64 MiB; a process there allocates 200 MiB and is killed. cgroup v1
# memory controller when mounted, else cgroup2.
LIMIT=$((64 * 1024 * 1024))
MEMV1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/self/mounts)
if [ -n "$MEMV1" ]; then
	MOUNT=$MEMV1
	SELF=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
	LIMIT_FILE=memory.limit_in_bytes
else
	MOUNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	SELF=$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)
	LIMIT_FILE=memory.max
fi
SELF=${SELF%/}
CG=$SELF/ongrid-t1005-$$
ln -s "$PY" ongrid-oomer

test_expect_success BPF,PYTHON3 'a memory-limited cgroup' '
	test -n "$MOUNT" && mkdir "$MOUNT$CG" && at_exit "rmdir $MOUNT$CG" &&
	echo $LIMIT >"$MOUNT$CG/$LIMIT_FILE" &&
	{ [ ! -e "$MOUNT$CG/memory.swap.max" ] || echo 0 >"$MOUNT$CG/memory.swap.max"; }
'

test_expect_success BPF,PYTHON3 'a process over the limit is killed and recorded' '
	collect_bg oom.json oomkill,procexec 6 &&
	t0=$(date +%s) &&
	test_expect_code 137 sh -c "echo \$\$ >$MOUNT$CG/cgroup.procs && exec ./ongrid-oomer -c \"
import os
print(os.getpid(), flush=True)
b = [bytearray(1 << 20) for _ in range(200)]
\"" >victim.pid &&
	collect_wait &&
	test "$(sample oom.json ongrid_oom_kills_total comm=ongrid-oomer cgroup=$CG)" = 1 &&
	pid=$(cat victim.pid) &&
	lim=$(sample oom.json ongrid_oom_kill_memory_limit_bytes pid=$pid comm=ongrid-oomer cgroup=$CG) &&
	use=$(sample oom.json ongrid_oom_kill_memory_usage_bytes pid=$pid comm=ongrid-oomer cgroup=$CG) &&
	when=$(sample oom.json ongrid_oom_kill_timestamp_seconds pid=$pid comm=ongrid-oomer cgroup=$CG) &&
	report "victim $pid in $CG: usage $use of limit $lim bytes at $when" &&
	fcmp "$lim" "==" "$LIMIT" &&
	fcmp "$use" ">=" "$LIMIT * 0.9" && fcmp "$use" "<=" "$LIMIT" &&
	fcmp "$when" ">=" "$t0 - 1" && fcmp "$when" "<=" "$(date +%s) + 1"
'

test_expect_success BPF,PYTHON3 'procexec sees the same death as SIGKILL' '
	test "$(sample oom.json ongrid_process_exits_total comm=ongrid-oomer signal=SIGKILL)" = 1
'

test_expect_success BPF 'no record was dropped' '
	test "$(sample oom.json ongrid_oom_kill_records_dropped_total)" = 0
'

report_show
test_done
