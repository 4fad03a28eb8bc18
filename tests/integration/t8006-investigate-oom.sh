#!/bin/sh
test_description='investigate: an OOM kill in a memory-limited cgroup is found, with the cgroup named'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

agent_conf
# A child of our own memory cgroup limited to 32 MiB (as t1005): a process there allocates
# 200 MiB and is killed.
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
CG=$SELF/ongrid-t8006-$$
ln -s "$PY" t8006-hog

test_expect_success BPF,PYTHON3 'a process over its cgroup limit is killed: category memory, component the cgroup' '
	test -n "$MOUNT" && mkdir "$MOUNT$CG" && at_exit "rmdir $MOUNT$CG" &&
	echo $((32 * 1024 * 1024)) >"$MOUNT$CG/$LIMIT_FILE" &&
	{ [ ! -e "$MOUNT$CG/memory.swap.max" ] || echo 0 >"$MOUNT$CG/memory.swap.max"; } &&
	agent_daemon 3 &&
	test_expect_code 137 sh -c "echo \$\$ >$MOUNT$CG/cgroup.procs && exec ./t8006-hog -c \"
b = [bytearray(1 << 20) for _ in range(200)]
\"" &&
	sleep 3 &&
	investigate oom.json "why did my batch job die?" &&
	report_is oom.json memory "ongrid-t8006-$$\$" &&
	json_get oom.json "d[\"root_cause\"][\"statement\"]" | grep -q "OOM killer killed t8006-hog"
'

test_done
