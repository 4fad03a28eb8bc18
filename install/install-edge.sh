#!/bin/sh
# install/install-edge.sh - install, upgrade or remove the ongrid edge on this host, and
# enrol it with a relay (docs/install.md). The relay serves this script at
# GET /install/edge.sh with its URL, fingerprint and the edge binary's SHA-256 filled in,
# so on a new host one command does it:
#
#   curl -fsSL http://RELAY:8444/install/edge.sh | sh -s -- --access-key ogk_... --secret-key ogs_...
#
# options: --access-key KEY --secret-key KEY [--relay wss://HOST:PORT/] [--fingerprint sha256:...]
#          [--name NAME] [--base-url http://RELAY:8444] [--from DIR] [--root DIR] [--prefix DIR]
#          [--metrics-listen HOST:PORT] [--foreground | --systemd] [--no-start]
#          --uninstall [--keep-data] [--root DIR] [--prefix DIR]
#
# Re-running it is an upgrade: the binary and units are replaced, edge.conf (unless new
# keys are given) and the data directory are kept. --root puts every file under another
# directory and edge.conf names those paths (tests, side-by-side installs).
set -eu

prog=install-edge.sh
die() { echo "$prog: $*" >&2; exit 1; }
bad() { echo "$prog: $*" >&2; exit 2; }

# Filled in by the relay when it serves this file; "@...@" means "not served".
relay_url="@RELAY_URL@"
fingerprint="@FINGERPRINT@"
base_url="@BASE_URL@"
edge_sha256="@EDGE_SHA256@"
unfilled() { case "$1" in @*@) return 0 ;; *) return 1 ;; esac; }
unfilled "$relay_url" && relay_url=""
unfilled "$fingerprint" && fingerprint=""
unfilled "$base_url" && base_url=""
unfilled "$edge_sha256" && edge_sha256=""

access_key=""
secret_key=""
name=""
from=""
root=""
prefix=/usr/local
metrics_listen="127.0.0.1:9256"
mode=auto
start=yes
uninstall=no
keep_data=no

need() { [ $# -ge 2 ] && [ -n "$2" ] || bad "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--access-key) need "$@"; access_key=$2; shift ;;
	--secret-key) need "$@"; secret_key=$2; shift ;;
	--relay) need "$@"; relay_url=$2; shift ;;
	--fingerprint) need "$@"; fingerprint=$2; shift ;;
	--name) need "$@"; name=$2; shift ;;
	--base-url) need "$@"; base_url=${2%/}; shift ;;
	--from) need "$@"; from=$2; shift ;;
	--root) need "$@"; root=${2%/}; shift ;;
	--prefix) need "$@"; prefix=${2%/}; shift ;;
	--metrics-listen) need "$@"; metrics_listen=$2; shift ;;
	--foreground) mode=foreground ;;
	--systemd) mode=systemd ;;
	--no-start) start=no ;;
	--uninstall) uninstall=yes ;;
	--keep-data) keep_data=yes ;;
	-h | --help) sed -n '2,16p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	*) bad "unknown option '$1'" ;;
	esac
	shift
done

bindir=$root$prefix/bin
etc=$root/etc/ongrid
conf=$etc/edge.conf
data=$root/var/lib/ongrid
rundir=$root/run/ongrid
unitdir=$root/etc/systemd/system
logdir=$root/var/log

if [ "$mode" = auto ]; then
	if [ -z "$root" ] && [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		mode=systemd
	else
		mode=foreground
	fi
fi

stop_foreground() {
	for p in "$rundir/ongrid-edge.pid" "$rundir/ongrid-edge-tunnel.pid"; do
		[ -f "$p" ] || continue
		pid=$(cat "$p")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			i=0
			while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$p"
	done
}

if [ "$uninstall" = yes ]; then
	if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && [ -f "$unitdir/ongrid-edge.service" ]; then
		systemctl disable --now ongrid-edge.service ongrid-edge-tunnel.service >/dev/null 2>&1 || true
	fi
	stop_foreground
	rm -f "$unitdir/ongrid-edge.service" "$unitdir/ongrid-edge-tunnel.service" "$bindir/ongrid-edge"
	rm -rf "$rundir"
	[ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
	if [ "$keep_data" = yes ]; then
		echo "$prog: removed the edge; kept $conf and $data"
	else
		rm -rf "$data" "$logdir/ongrid-edge.log" "$logdir/ongrid-edge-tunnel.log"
		rm -f "$conf"
		rmdir "$etc" 2>/dev/null || true
		echo "$prog: removed the edge, its configuration and its data"
	fi
	exit 0
fi

case "$relay_url" in "" | ws://* | wss://*) ;; *) bad "--relay '$relay_url': expected wss://HOST:PORT/" ;; esac
case "$fingerprint" in "" | sha256:*) ;; *) bad "--fingerprint '$fingerprint': expected sha256:<64 hex digits>" ;; esac
case "$access_key" in "" | ogk_*) ;; *) bad "--access-key: expected ogk_..., from 'ongrid-relay enrol' or 'keys create'" ;; esac
case "$secret_key" in "" | ogs_*) ;; *) bad "--secret-key: expected ogs_..., from 'ongrid-relay enrol' or 'keys create'" ;; esac
case "$name" in *[!A-Za-z0-9._-]*) bad "--name '$name': expected letters, digits, '.', '_' or '-'" ;; esac
if [ ! -f "$conf" ] || [ -n "$access_key" ]; then
	[ -n "$access_key" ] && [ -n "$secret_key" ] || bad "--access-key and --secret-key are needed to enrol"
	[ -n "$relay_url" ] || bad "--relay wss://HOST:PORT/ is needed (the relay fills it in when it serves this script)"
	case "$relay_url" in wss://*) [ -n "$fingerprint" ] || bad "--fingerprint is needed with wss:// (ongrid-relay enrol prints it)" ;; esac
fi

# The binary: a local build, or the relay's copy checked against the hash it announced.
tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd"' EXIT
if [ -n "$from" ]; then
	[ -x "$from/ongrid-edge" ] || die "no edge binary at $from/ongrid-edge"
	cp "$from/ongrid-edge" "$tmpd/ongrid-edge"
else
	[ -n "$base_url" ] || bad "--from DIR or --base-url http://RELAY:PORT is needed to get the binary"
	command -v curl >/dev/null 2>&1 || die "curl is needed to download the edge binary"
	curl -fsS --retry 3 -o "$tmpd/ongrid-edge" "$base_url/install/ongrid-edge" ||
		die "cannot download $base_url/install/ongrid-edge"
	if [ -n "$edge_sha256" ]; then
		got=$(sha256sum "$tmpd/ongrid-edge" | cut -d' ' -f1)
		[ "$got" = "$edge_sha256" ] || die "the downloaded binary's SHA-256 is $got, the relay announced $edge_sha256"
	fi
fi
chmod 0755 "$tmpd/ongrid-edge"
"$tmpd/ongrid-edge" --version >/dev/null 2>&1 ||
	die "the edge binary does not run here (missing libraries? ldd $tmpd/ongrid-edge)"

upgrade=no
[ -f "$bindir/ongrid-edge" ] && upgrade=yes
[ "$mode" = foreground ] && stop_foreground
mkdir -p "$bindir" "$etc" "$data" "$rundir" "$logdir"
chmod 0700 "$data" "$rundir"
mv -f "$tmpd/ongrid-edge" "$bindir/ongrid-edge"

if [ -z "$name" ]; then
	name=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
fi
if [ -f "$conf" ] && [ -z "$access_key" ]; then
	echo "$prog: keeping $conf"
else
	[ -f "$conf" ] && cp -p "$conf" "$conf.bak" && echo "$prog: new keys; the old $conf is $conf.bak"
	umask 077
	cat >"$conf.tmp" <<EOF
# /etc/ongrid/edge.conf - written by install-edge.sh on $(date -u +%Y-%m-%d). Every key and
# its default: docs/config-edge.md, or \`ongrid-edge config --doc\`. Check a change with
# \`ongrid-edge config --check -c $conf\`.

# This host's name in reports, chat threads and alert routing (an alert's "instance"
# label names it).
name = "$name";

# Time series, log index, timelines and the outbox. Keep it on a local disk.
data_dir = "$data";
control_socket = "$rundir/edge.sock";

# Prometheus can scrape this host's samples here.
metrics: {
  listen = "$metrics_listen";
};

relay: {
  url = "$relay_url";
  # The secret stays on this host: the relay keeps only a verifier. Mode 0600.
  access_key = "$access_key";
  secret_key = "$secret_key";
  # The relay's certificate, pinned: any other is refused.
  fingerprint = "$fingerprint";
$(case "$relay_url" in ws://*) echo '  insecure = true;  # plain ws://: only on a trusted link' ;; esac)
};
EOF
	umask 022
	mv "$conf.tmp" "$conf"
	chmod 0600 "$conf"
	echo "$prog: wrote $conf"
fi
"$bindir/ongrid-edge" config --check -c "$conf" >/dev/null || die "$conf does not parse (see above)"

if [ "$mode" = systemd ]; then
	mkdir -p "$unitdir"
	[ -n "$base_url" ] && for u in ongrid-edge.service ongrid-edge-tunnel.service; do
		curl -fsS -o "$tmpd/$u" "$base_url/install/$u" || die "cannot download $base_url/install/$u"
	done
	[ -z "$base_url" ] && cp "$(dirname "$0")/ongrid-edge.service" "$(dirname "$0")/ongrid-edge-tunnel.service" "$tmpd/"
	for u in ongrid-edge.service ongrid-edge-tunnel.service; do
		sed -e "s|@BINDIR@|$bindir|g" -e "s|@CONF@|$conf|g" "$tmpd/$u" >"$unitdir/$u"
	done
	# Under --root the units are for another system (an image): they are only written.
	if [ -z "$root" ]; then
		systemctl daemon-reload
		if [ "$start" = yes ]; then
			systemctl enable ongrid-edge.service ongrid-edge-tunnel.service >/dev/null 2>&1
			systemctl restart ongrid-edge.service ongrid-edge-tunnel.service
		fi
		state="systemctl status ongrid-edge ongrid-edge-tunnel"
	else
		state="units written to $unitdir"
	fi
elif [ "$start" = yes ]; then
	# No service manager: both run detached with pid files; re-running this script or
	# --uninstall stops them.
	setsid "$bindir/ongrid-edge" run -c "$conf" >>"$logdir/ongrid-edge.log" 2>&1 </dev/null &
	echo $! >"$rundir/ongrid-edge.pid"
	if [ -n "$relay_url" ]; then
		setsid "$bindir/ongrid-edge" connect -c "$conf" >>"$logdir/ongrid-edge-tunnel.log" 2>&1 </dev/null &
		echo $! >"$rundir/ongrid-edge-tunnel.pid"
	fi
	sleep 0.5
	for p in "$rundir"/ongrid-edge*.pid; do
		kill -0 "$(cat "$p")" 2>/dev/null || die "$(basename "$p" .pid) exited at once; see $logdir/$(basename "$p" .pid).log"
	done
	state="running: pids $(cat "$rundir"/ongrid-edge*.pid | tr '\n' ' ')logs $logdir/ongrid-edge*.log"
else
	state="not started; run: $bindir/ongrid-edge run -c $conf  and  $bindir/ongrid-edge connect -c $conf"
fi

[ "$upgrade" = yes ] && what=upgraded || what=installed
echo "$prog: edge '$name' $what ($state)"
