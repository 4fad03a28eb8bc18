# systemd-ns.sh - a real systemd as PID 1 of a PID, mount and UTS namespace of the test's
# own, for the systemd branches of the service tools (on these machines PID 1 is not
# systemd). Sourced by tests after test-lib.sh.
#
# The namespace gets tmpfs on /run and /var/log/journal (systemd's and journald's state),
# and only units of ours with DefaultDependencies=no: nothing of sysinit.target runs
# (sysctl, udev, modules, and tmpfiles, which would empty the host's /tmp: /tmp and
# /var/tmp stay the host's, since the test's own files and binaries may live there). A D-Bus system bus is started as dbus.service (systemd
# connects to it by that name), since the tools run systemctl as nobody, which talks to
# systemd over D-Bus as on any Debian host. sd_stop kills the namespace's PID 1 (so the
# kernel kills everything in it) and removes the cgroups systemd made.
#
#   sd_boot UNIT_DIR    boot with the unit files in UNIT_DIR (plus ours); sets SD_PID
#   sd_in CMD...        run CMD inside (its PID and mount namespaces)
#   sd_stop

sd_cgroup_dirs() { # the first-level cgroups of every hierarchy, one per line
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -f "$h/cgroup.procs" ] || continue
		find "$h" -mindepth 1 -maxdepth 1 -type d 2>/dev/null
	done | sort
}

sd_boot() {
	units=$1
	sd_cgroup_dirs >"$TRASH/.sd-cgroups-before"
	cat >"$TRASH/sd-boot.sh" <<-EOF
	#!/bin/sh
	set -e
	mount --make-rprivate /
	mount -t tmpfs tmpfs /run
	if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
	mkdir -p /run/systemd/system /run/lock
	cp "$units"/* /run/systemd/system/
	cat >/run/systemd/system/dbus.socket <<EOU
	[Unit]
	DefaultDependencies=no
	[Socket]
	ListenStream=/run/dbus/system_bus_socket
	EOU
	cat >/run/systemd/system/dbus.service <<EOU
	[Unit]
	DefaultDependencies=no
	[Service]
	ExecStartPre=/bin/mkdir -p /run/dbus
	ExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation
	EOU
	cat >/run/systemd/system/ongrid-test.target <<EOU
	[Unit]
	DefaultDependencies=no
	Wants=systemd-journald.service dbus.socket \$(cd "$units" && ls | grep "\\.service\$" | tr "\\n" " ")
	EOU
	exec env container=ongrid-test /lib/systemd/systemd --system --unit=ongrid-test.target --log-target=console
	EOF
	setsid unshare --pid --fork --mount --uts --mount-proc sh "$TRASH/sd-boot.sh" \
		>"$TRASH/systemd.log" 2>&1 </dev/null &
	echo $! >"$TRASH/.sd-unshare"
	at_exit sd_stop
	wait_for 10 'SD_PID=$(pgrep -P "$(cat "$TRASH/.sd-unshare")" -x systemd) && test -n "$SD_PID"' &&
		SD_PID=$(pgrep -P "$(cat "$TRASH/.sd-unshare")" -x systemd) &&
		export SD_PID &&
		wait_for 20 'sd_in systemctl is-active dbus.socket >/dev/null 2>&1 && sd_in systemctl is-system-running 2>/dev/null | grep -qE "running|degraded|starting"'
}

sd_in() {
	nsenter -t "$SD_PID" -m -p "$@"
}

sd_stop() {
	[ -f "$TRASH/.sd-unshare" ] || return 0
	u=$(cat "$TRASH/.sd-unshare")
	p=$(pgrep -P "$u" -x systemd)
	# systemd first: unshare (its parent) reaps it and exits, and this shell reaps unshare
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$u" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$u" 2>/dev/null
	wait "$u" 2>/dev/null
	rm -f "$TRASH/.sd-unshare"
	# the cgroups systemd made (system.slice, init.scope, dev-mqueue.mount, ...), deepest
	# first; only unit-named ones, so nothing another test made meanwhile is touched
	sd_cgroup_dirs | comm -13 "$TRASH/.sd-cgroups-before" - |
		grep -E "\.(slice|scope|mount|service|socket)\$" | while read -r d; do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}
