#!/bin/sh
test_description='change events: a dpkg.log line, a file written under a watched dir (with its writer), a binary replaced, a service restarted, an OOM kill in a memory cgroup; queried by time window'
. "$(dirname "$0")/../lib/test-lib.sh"

mkdir -p etc/app bin run data
: >dpkg.log
: >history.log
: >auth.log
cat >edge.conf <<EOF
name = "t4105";
data_dir = "$TRASH/data";
control_socket = "$TRASH/run/edge.sock";
collect = { interval = "1s"; disable = ["runqlat", "biolatency", "tcp", "procexec", "oomkill", "proc"]; };
metrics = { enabled = false; };
logs = { journal = false; };
changes = { watch = ["$TRASH/etc"]; bin_dirs = ["$TRASH/bin"]; dpkg_log = "$TRASH/dpkg.log";
            apt_log = "$TRASH/history.log"; auth_log = "$TRASH/auth.log"; wtmp = ""; };
EOF
tool() { "$EDGE" tool -c edge.conf "$@" --json; }
events() { "$EDGE" tool -c edge.conf query_change_events "$1" --json >ev.json && json_get ev.json "$2"; }

# A child of our own memory cgroup, limited to 48 MiB (cgroup2 or v1, as t1005).
MEMV1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/self/mounts)
if [ -n "$MEMV1" ]; then
	MOUNT=$MEMV1; SELF=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup); LIMIT_FILE=memory.limit_in_bytes
else
	MOUNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts); SELF=$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup); LIMIT_FILE=memory.max
fi
SELF=${SELF%/}
CG=$SELF/ongrid-t4105-$$

test_expect_success 'without a daemon: packages come from dpkg.log, and history is said to be partly off' '
	echo "$(date "+%Y-%m-%d %H:%M:%S") upgrade libfoo1:amd64 1.2-1 1.3-1" >>dpkg.log &&
	echo "$(date "+%Y-%m-%d %H:%M:%S") status installed libfoo1:amd64 1.3-1" >>dpkg.log &&
	events "{\"minutes\":5}" "d[\"evidence\"][\"history\"]" | grep -q "^partly off" &&
	test "$(json_get ev.json "[e[\"detail\"] for e in d[\"evidence\"][\"events\"] if e[\"subject\"]==\"libfoo1\"][0]")" = "upgrade 1.2-1 -> 1.3-1" &&
	test "$(json_get ev.json "d[\"evidence\"][\"by_kind\"][\"package\"]")" = 1
'

test_expect_success 'reading the same log again adds nothing' '
	events "{\"minutes\":5,\"kind\":\"package\"}" .evidence.by_kind.package >n &&
	test "$(cat n)" = 1
'

test_expect_success 'the daemon starts and records continuously' '
	daemon_start edge "$EDGE" run -c edge.conf &&
	wait_for 10 "test -S $TRASH/run/edge.sock" &&
	wait_for 15 "\"$EDGE\" status -c edge.conf --json >st.json && test \$(json_get st.json .daemon.rounds) -ge 2" &&
	events "{\"minutes\":5}" "d[\"evidence\"][\"history\"]" | grep -q "^on"
'

test_expect_success 'a package installed and an apt command line are recorded' '
	echo "$(date "+%Y-%m-%d %H:%M:%S") install ongrid-test-pkg:all <none> 0.1" >>dpkg.log &&
	printf "\nStart-Date: %s\nCommandline: apt-get install ongrid-test-pkg\nRequested-By: alice (1000)\nInstall: ongrid-test-pkg:all (0.1)\nEnd-Date: %s\n" "$(date "+%Y-%m-%d  %H:%M:%S")" "$(date "+%Y-%m-%d  %H:%M:%S")" >>history.log &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"package\\\",\\\"match\\\":\\\"ongrid-test-pkg\\\"}\" .evidence.by_kind.package | grep -qx 2" &&
	json_get ev.json "[e[\"detail\"] for e in d[\"evidence\"][\"events\"] if e[\"subject\"]==\"apt\"][0]" | grep -q "apt-get install ongrid-test-pkg (by alice (1000)); Install: ongrid-test-pkg"
'

test_expect_success 'a file written under a watched directory, with the writer when the kernel can tell' '
	sleep 0.5 &&
	sh -c "echo listen 8080 >$TRASH/etc/app/app.conf; sleep 3" &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"file\\\",\\\"match\\\":\\\"app.conf\\\"}\" .evidence.events | grep -q app.conf" &&
	detail=$(json_get ev.json "[e[\"detail\"] for e in d[\"evidence\"][\"events\"] if e[\"detail\"].startswith(\"written\")][0]") &&
	echo "$detail" &&
	case "$detail" in
	"written by pid "*" (sh)") ;;
	"written by pid "*" (exited)") ;;
	"written; writer unknown (inotify cannot tell)") ;;
	*) false ;;
	esac
'

test_expect_success 'a new subdirectory is watched too' '
	mkdir etc/app/conf.d && sleep 2 &&
	echo x >etc/app/conf.d/extra.conf &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"file\\\",\\\"match\\\":\\\"extra.conf\\\"}\" .evidence.events | grep -q extra.conf"
'

test_expect_success 'a binary replaced by rename under a bin dir' '
	cp /bin/true bin/.mytool.tmp && mv bin/.mytool.tmp bin/mytool &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"binary\\\"}\" .evidence.events | grep -q \"bin/mytool\"" &&
	json_get ev.json "d[\"evidence\"][\"events\"]" | grep -q "moved into place (binary replaced)"
'

test_expect_success PYTHON3 'a service under init that exits and comes back is a restart' '
	cp "$PY" ogsvc4105 &&
	cat >svc.py <<-\PYEOF &&
	import os, sys, time
	if os.fork(): sys.exit(0)
	os.setsid()
	if os.fork(): sys.exit(0)
	open(sys.argv[1], "w").write(str(os.getpid()))
	time.sleep(float(sys.argv[2]))
	PYEOF
	./ogsvc4105 svc.py svc1.pid 12 && wait_for 5 "test -s svc1.pid" &&
	at_exit "kill \$(cat $TRASH/svc1.pid) 2>/dev/null" &&
	wait_for 25 "! kill -0 \$(cat svc1.pid)" && sleep 2 &&
	./ogsvc4105 svc.py svc2.pid 60 && wait_for 5 "test -s svc2.pid" &&
	at_exit "kill \$(cat $TRASH/svc2.pid) 2>/dev/null" &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"process\\\",\\\"match\\\":\\\"ogsvc4105\\\"}\" .evidence.events | grep -q restarted" &&
	json_get ev.json "[e[\"detail\"] for e in d[\"evidence\"][\"events\"] if \"restarted\" in e[\"detail\"]][0]" | grep -q "restarted as pid $(cat svc2.pid) (pid $(cat svc1.pid) exited"
'

test_expect_success CGROUP2,PYTHON3 'an OOM kill in a memory cgroup is a kernel event naming the victim' '
	test -n "$MOUNT" && mkdir "$MOUNT$CG" && at_exit "rmdir $MOUNT$CG" &&
	echo $((48 * 1024 * 1024)) >"$MOUNT$CG/$LIMIT_FILE" &&
	{ [ ! -e "$MOUNT$CG/memory.swap.max" ] || echo 0 >"$MOUNT$CG/memory.swap.max"; } &&
	ln -s "$PY" ogoom4105 &&
	test_expect_code 137 sh -c "echo \$\$ >$MOUNT$CG/cgroup.procs && exec ./ogoom4105 -c \"
import os
print(os.getpid(), flush=True)
b = [bytearray(1 << 20) for _ in range(200)]
\"" >victim.pid &&
	wait_for 10 "events \"{\\\"kind\\\":\\\"kernel\\\",\\\"match\\\":\\\"ogoom4105\\\"}\" .evidence.events | grep -q \"OOM kill of pid $(cat victim.pid) \"" &&
	json_get ev.json "d[\"evidence\"][\"events\"][0][\"detail\"]" | grep -q "OOM kill of pid $(cat victim.pid) (ogoom4105)" &&
	json_get ev.json "d[\"evidence\"][\"findings\"][1]" | grep -q "kernel ogoom4105"
'

# Link flaps: veth prints nothing to kmsg on a carrier change, so these come from rtnetlink.
# A second edge daemon runs inside a network namespace of our own (netlink is per
# namespace), with a veth pair in it: one end taken down, the other loses its carrier.
NS=ongrid-t4105-$$
sed -e "s|$TRASH/data|$TRASH/data-ns|" -e "s|$TRASH/run/edge.sock|$TRASH/run/edge-ns.sock|" \
	edge.conf >edge-ns.conf
nsevents() { "$EDGE" tool -c edge-ns.conf query_change_events "{\"kind\":\"kernel\",\"match\":\"$1\",\"minutes\":10}" --json >nsev.json && json_get nsev.json "$2"; }

test_expect_success NETNS 'a link losing its carrier and getting it back: down, then up, in order (from rtnetlink)' '
	ip netns add $NS && at_exit "ip netns del $NS" &&
	ip -n $NS link add ogv4105a type veth peer name ogv4105b &&
	ip -n $NS link set ogv4105a up && ip -n $NS link set ogv4105b up &&
	daemon_start edge-ns ip netns exec $NS "$EDGE" run -c edge-ns.conf &&
	wait_for 15 "test -S run/edge-ns.sock" &&
	sleep 2 &&
	nsevents ogv4105 .evidence.events >before.txt &&
	test "$(cat before.txt)" = "[]" &&
	ip -n $NS link set ogv4105b down &&
	wait_for 10 "nsevents ogv4105a .evidence.events | grep -q \"link ogv4105a down (no carrier)\"" &&
	ip -n $NS link set ogv4105b up &&
	wait_for 10 "nsevents ogv4105a .evidence.events | grep -q \"link ogv4105a up\"" &&
	json_get nsev.json "[e[\"detail\"] for e in reversed(d[\"evidence\"][\"events\"])]" >a.txt &&
	test "$(cat a.txt)" = "[\"link ogv4105a down (no carrier)\", \"link ogv4105a up\"]" &&
	test "$(json_get nsev.json "[e[\"source\"] for e in d[\"evidence\"][\"events\"]]")" = "[\"netlink\", \"netlink\"]" &&
	nsevents ogv4105b .evidence.events >b.txt &&
	grep -q "link ogv4105b down (administratively)" b.txt &&
	ip -n $NS link del ogv4105a &&
	wait_for 10 "nsevents ogv4105a .evidence.events | grep -q \"link ogv4105a removed\""
'

test_expect_success 'a time window excludes what came before it' '
	events "{\"since\":\"$(date -u -d "+1 minute" +%Y-%m-%dT%H:%M:%SZ)\",\"until\":\"$(date -u -d "+2 minutes" +%Y-%m-%dT%H:%M:%SZ)\"}" .evidence.findings >f &&
	grep -q "no recorded changes between" f
'

test_expect_success 'bad times are bad input' '
	test_expect_code 1 "$EDGE" tool -c edge.conf query_change_events "{\"since\":\"yesterday\"}" >out &&
	grep -q "args.since: expected RFC 3339" out
'

test_done
