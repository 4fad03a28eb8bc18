#!/bin/sh
test_description='the service tools where systemd is PID 1: service_status, service_logs and restart_service against a real systemd (PID 1 of a namespace of our own), a running unit and a failing one'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/systemd-ns.sh"

# On these machines PID 1 is not systemd, so the tools' systemd branches need a systemd of
# their own: tests/lib/systemd-ns.sh boots one as PID 1 of a PID and mount namespace, with
# these units. The edge runs inside that namespace (nsenter), where it sees systemd as PID 1.
if ! test_have_prereq ROOT || [ ! -x /lib/systemd/systemd ] || [ ! -x /usr/bin/dbus-daemon ] ||
	! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
	skip_all "needs root, systemd, dbus-daemon, unshare and nsenter"
fi

mkdir -p units
cat >units/ogweb4110.service <<EOF
[Unit]
Description=ongrid test web
DefaultDependencies=no
[Service]
ExecStart=/bin/sh -c 'while :; do echo "ogweb4110 alive \$\$\$\$"; sleep 1; done'
EOF
cat >units/ogbad4110.service <<EOF
[Unit]
Description=ongrid test service that cannot start
DefaultDependencies=no
[Service]
ExecStart=/bin/sh -c 'echo "ogbad4110: cannot read /etc/ogbad.conf" >&2; exit 3'
EOF
edge() { sd_in env ONGRID_DATA_DIR="$TRASH/data" ONGRID_NAME=t4110 "$EDGE" "$@"; }
show() { # TOOL JSON: the tool's result in out.json
	edge tool "$1" "$2" --json >out.json
}

test_expect_success 'systemd boots as PID 1 of our namespace and runs the units' '
	marker=$(mktemp /tmp/ongrid-t4110.XXXXXX) && echo "$marker" >marker &&
	at_exit "rm -f $marker" &&
	sd_boot "$TRASH/units" &&
	test "$(sd_in cat /proc/1/comm)" = systemd &&
	wait_for 10 "sd_in systemctl is-active ogweb4110.service | grep -qx active"
'

test_expect_success 'service_status: systemd'"'"'s view of a running unit, its main pid a real process' '
	show service_status "{\"name\":\"ogweb4110\"}" &&
	test "$(json_get out.json .evidence.manager)" = systemd &&
	json_get out.json "d[\"evidence\"][\"findings\"][0]" | grep -q "ogweb4110.service: ActiveState=active, NRestarts=0" &&
	json_get out.json .evidence.systemctl_show >show.txt &&
	pid=$(sed -n "s/^MainPID=//p" show.txt) && test "$pid" -gt 1 &&
	test "$(sd_in cat /proc/$pid/comm)" = sh &&
	grep -qx "SubState=running" show.txt
'

test_expect_success 'service_status: a unit that exited 3 is failed, with its exit status' '
	wait_for 10 "sd_in systemctl is-failed ogbad4110.service | grep -qx failed" &&
	show service_status "{\"name\":\"ogbad4110.service\"}" &&
	json_get out.json "d[\"evidence\"][\"findings\"][0]" | grep -q "ActiveState=failed" &&
	json_get out.json .evidence.systemctl_show >show.txt &&
	grep -qx "Result=exit-code" show.txt &&
	grep -qx "ExecMainStatus=3" show.txt
'

test_expect_success 'service_logs: the unit'"'"'s own lines from the journal' '
	wait_for 10 "sd_in journalctl -u ogweb4110.service -n 3 --no-pager | grep -q \"ogweb4110 alive\"" &&
	show service_logs "{\"name\":\"ogweb4110\",\"lines\":5}" &&
	json_get out.json "d[\"evidence\"][\"findings\"][0]" | grep -q "journal lines of ogweb4110.service" &&
	json_get out.json .evidence.journal | grep -q "ogweb4110 alive" &&
	show service_logs "{\"name\":\"ogbad4110\",\"lines\":20}" &&
	json_get out.json .evidence.journal | grep -q "ogbad4110: cannot read /etc/ogbad.conf"
'

test_expect_success 'restart_service: proposed, not run; approved, systemd restarts it under a new main pid' '
	old=$(sd_in systemctl show -p MainPID --value ogweb4110.service) && test "$old" -gt 1 &&
	edge tool restart_service "{\"unit\":\"ogweb4110\"}" --role admin --json >prop.json &&
	test "$(json_get prop.json .status)" = proposed &&
	id=$(json_get prop.json .id) &&
	test "$(sd_in systemctl show -p MainPID --value ogweb4110.service)" = "$old" &&
	edge approve --as alice "$id" --json >run.json &&
	test "$(json_get run.json .status)" = executed &&
	test "$(json_get run.json .evidence.method)" = systemd &&
	test "$(json_get run.json .evidence.state.output)" = active &&
	new=$(sd_in systemctl show -p MainPID --value ogweb4110.service) &&
	test "$new" -gt 1 && test "$new" != "$old" &&
	show service_status "{\"name\":\"ogweb4110\"}" &&
	json_get out.json .evidence.systemctl_show | grep -qx "MainPID=$new"
'

test_expect_success 'without D-Bus, service_status says why systemctl could not answer' '
	sd_in systemctl stop dbus.socket dbus.service &&
	show service_status "{\"name\":\"ogweb4110\"}" &&
	json_get out.json "d[\"evidence\"][\"findings\"][0]" | grep -q "systemctl show failed (exit [1-9][0-9]*): Failed to connect to bus"
'

test_expect_success 'stopping the namespace leaves no process and no cgroup of its own behind, and the host'"'"'s /tmp as it was' '
	sd_stop &&
	test -f "$(cat marker)" &&
	! pgrep -f "ogweb4110 alive" &&
	sd_cgroup_dirs | comm -13 .sd-cgroups-before - >left &&
	test ! -s left
'

test_done
