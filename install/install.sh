#!/bin/sh
# install/install.sh - install, upgrade or remove the ongrid relay on a Debian, Ubuntu or
# RHEL-family host (docs/install.md).
#
#   install.sh [--from DIR] [--root DIR] [--prefix DIR] [--listen HOST:PORT]
#              [--http-listen HOST:PORT] [--hostname NAME] [--http-proxy URL]
#              [--foreground | --systemd] [--no-start] [--no-deps] [--user NAME]
#   install.sh --uninstall [--keep-data] [--root DIR] [--prefix DIR]
#
# There is no package registry for ongrid: the binaries come from a local build (--from,
# default: the build/ directory next to this script). Re-running the script is an
# upgrade: binaries and units are replaced, relay.conf and the data directory are kept.
# --root puts every file under another directory, and relay.conf names those paths (for
# tests and side-by-side installs):
# no user is created and files keep the caller's ownership.
set -eu

prog=install.sh
die() { echo "$prog: $*" >&2; exit 1; }
usage() { sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bad() { echo "$prog: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
from="$here/../build"
root=""
prefix=/usr/local
listen="0.0.0.0:8443"
http_listen="0.0.0.0:8444"
hostname_opt=""
proxy=""
mode=auto
start=yes
deps=yes
user=ongrid
uninstall=no
keep_data=no

need() { [ $# -ge 2 ] && [ -n "$2" ] || bad "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--from) need "$@"; from=$2; shift ;;
	--root) need "$@"; root=${2%/}; shift ;;
	--prefix) need "$@"; prefix=${2%/}; shift ;;
	--listen) need "$@"; listen=$2; shift ;;
	--http-listen) need "$@"; http_listen=$2; shift ;;
	--hostname) need "$@"; hostname_opt=$2; shift ;;
	--http-proxy) need "$@"; proxy=$2; shift ;;
	--user) need "$@"; user=$2; shift ;;
	--foreground) mode=foreground ;;
	--systemd) mode=systemd ;;
	--no-start) start=no ;;
	--no-deps) deps=no ;;
	--uninstall) uninstall=yes ;;
	--keep-data) keep_data=yes ;;
	-h | --help) usage ;;
	*) bad "unknown option '$1' (see --help)" ;;
	esac
	shift
done

case "$listen" in *:[0-9]*) ;; *) bad "--listen '$listen': expected HOST:PORT" ;; esac
case "$http_listen" in "" | *:[0-9]*) ;; *) bad "--http-listen '$http_listen': expected HOST:PORT" ;; esac
case "$proxy" in "" | http://* | https://* | socks5://* | socks5h://*) ;;
*) bad "--http-proxy '$proxy': expected http://HOST:PORT (or https://, socks5://)" ;; esac
case "$user" in *[!A-Za-z0-9_-]* | "") bad "--user '$user': expected a user name" ;; esac

bindir=$root$prefix/bin
sharedir=$root$prefix/share/ongrid
etc=$root/etc/ongrid
conf=$etc/relay.conf
data=$root/var/lib/ongrid-relay
unitdir=$root/etc/systemd/system
unit=$unitdir/ongrid-relay.service
pidfile=$root/run/ongrid-relay.pid
logfile=$root/var/log/ongrid-relay.log

# systemd manages the relay only when it is PID 1 on this (real) root.
if [ "$mode" = auto ]; then
	if [ -z "$root" ] && [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
		mode=systemd
	else
		mode=foreground
	fi
fi

stop_foreground() {
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

if [ "$uninstall" = yes ]; then
	if [ -f "$unit" ] && [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now ongrid-relay.service >/dev/null 2>&1 || true
	fi
	stop_foreground
	rm -f "$unit" "$bindir/ongrid-relay" "$sharedir/ongrid-edge" "$sharedir/install-edge.sh" \
		"$sharedir/edge.conf.example" "$sharedir/relay.conf.example" \
		"$sharedir/ongrid-edge.service" "$sharedir/ongrid-edge-tunnel.service"
	rmdir "$sharedir" 2>/dev/null || true
	[ -z "$root" ] && command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
	if [ "$keep_data" = yes ]; then
		echo "$prog: removed the relay; kept $conf and $data"
	else
		rm -rf "$data" "$logfile"
		rm -f "$conf"
		rmdir "$etc" 2>/dev/null || true
		echo "$prog: removed the relay, its configuration and its data"
	fi
	if [ -z "$root" ] && [ "$keep_data" = no ] && id "$user" >/dev/null 2>&1 &&
		[ ! -e /etc/ongrid/edge.conf ]; then
		userdel "$user" 2>/dev/null || true
	fi
	exit 0
fi

[ -x "$from/ongrid-relay" ] || die "no relay binary at $from/ongrid-relay (build with make, or pass --from DIR)"

# Runtime libraries: the binary names what it lacks; the package manager provides it.
if [ "$deps" = yes ] && [ -z "$root" ]; then
	missing=$(ldd "$from/ongrid-relay" 2>/dev/null | awk '/not found/ {print $1}')
	if [ -n "$missing" ]; then
		if command -v apt-get >/dev/null 2>&1; then
			pkgs="libwebsockets17 libwebsockets-evlib-ev libev4 libcjson1 libconfig9 libcurl4 libsqlite3-0 libssl3 libpcre2-8-0 libzstd1 libxxhash0"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
				die "apt-get could not install the runtime libraries: $missing"
		elif command -v dnf >/dev/null 2>&1; then
			dnf install -y -q libwebsockets libev cjson libconfig libcurl sqlite-libs openssl-libs pcre2 libzstd xxhash-libs >/dev/null ||
				die "dnf could not install the runtime libraries: $missing"
		elif command -v yum >/dev/null 2>&1; then
			yum install -y -q libwebsockets libev cjson libconfig libcurl sqlite-libs openssl-libs pcre2 libzstd xxhash-libs >/dev/null ||
				die "yum could not install the runtime libraries: $missing"
		else
			die "no apt-get, dnf or yum to install: $missing"
		fi
	fi
fi

if [ -z "$root" ] && ! id "$user" >/dev/null 2>&1; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --no-create-home --home-dir /var/lib/ongrid-relay --shell "$nologin" "$user" ||
		die "cannot create user '$user'"
fi

upgrade=no
[ -f "$bindir/ongrid-relay" ] && upgrade=yes
[ "$mode" = foreground ] && stop_foreground

mkdir -p "$bindir" "$sharedir" "$etc" "$data" "$root/run" "$root/var/log"
chmod 0750 "$data"
# Replace the binary by rename: a running copy keeps its old inode.
cp "$from/ongrid-relay" "$bindir/.ongrid-relay.new"
chmod 0755 "$bindir/.ongrid-relay.new"
mv -f "$bindir/.ongrid-relay.new" "$bindir/ongrid-relay"
# What the relay serves to new edges (GET /install/edge.sh, /install/ongrid-edge).
if [ -x "$from/ongrid-edge" ]; then
	cp "$from/ongrid-edge" "$sharedir/.ongrid-edge.new"
	chmod 0755 "$sharedir/.ongrid-edge.new"
	mv -f "$sharedir/.ongrid-edge.new" "$sharedir/ongrid-edge"
else
	echo "$prog: no $from/ongrid-edge: the relay will not serve the edge binary" >&2
fi
cp "$here/install-edge.sh" "$sharedir/install-edge.sh"
cp "$here/ongrid-edge.service" "$here/ongrid-edge-tunnel.service" "$sharedir/"
cp "$here/edge.conf.example" "$here/relay.conf.example" "$sharedir/" 2>/dev/null || true

# Proxy lines carry a marker so an upgrade with --http-proxy can rewrite them in place.
mark="# install.sh --http-proxy"
if [ -n "$proxy" ]; then
	proxy_line="proxy = \"$proxy\";  $mark"
else
	proxy_line="# proxy = \"http://proxy.example:3128\";  $mark"
fi
if [ -f "$conf" ]; then
	echo "$prog: keeping $conf"
	if [ -n "$proxy" ]; then
		sed -i "s|^\( *\)#\{0,1\} *proxy = .*$mark\$|\1$proxy_line|" "$conf"
		grep -q "^ *proxy = \"$proxy\"" "$conf" ||
			echo "$prog: $conf has no proxy lines from install.sh; set llm.proxy and chat.telegram.proxy by hand" >&2
	fi
else
	host_line="# hostname = \"relay.example.net\";"
	[ -n "$hostname_opt" ] && host_line="hostname = \"$hostname_opt\";"
	umask 077
	cat >"$conf.tmp" <<EOF
# /etc/ongrid/relay.conf - written by install.sh on $(date -u +%Y-%m-%d). Every key and its
# default: docs/config-relay.md, or \`ongrid-relay config --doc\`. Check a change with
# \`ongrid-relay config --check -c $conf\` before restarting.

# SQLite database, CA, server certificate and key (mode 0600), audit rows.
data_dir = "$data";

# Edges dial in here (WSS). TLS with the relay's own CA; edges pin its fingerprint.
listen = "$listen";
tls: {
  $host_line
};

# Plain HTTP for Alertmanager webhooks (POST /alerts/alertmanager) and the edge
# installer (GET /install/edge.sh). Put it behind TLS or keep it on a trusted network.
http: {
  listen = "$http_listen";
};
install: {
  dir = "$sharedir";
};

# Alertmanager authenticates with this bearer token (http_config.authorization).
alerts: {
  token = "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')";
  # Where alert threads open: "slack:C0123", "telegram:-100123", "local:alerts".
  # channel = "slack:C0123";
};

log: {
  level = "info";
  format = "$([ "$mode" = systemd ] && echo journal || echo text)";
};

# Outbound HTTP(S) proxy for LLM providers and the Telegram Bot API.
llm: {
  $proxy_line
};
chat: {
  telegram: {
    $proxy_line
  };
};
EOF
	umask 022
	mv "$conf.tmp" "$conf"
	echo "$prog: wrote $conf"
fi

if [ -z "$root" ]; then
	chown -R "$user:$user" "$data"
	chgrp "$user" "$conf" && chmod 0640 "$conf"
fi

"$bindir/ongrid-relay" config --check -c "$conf" >/dev/null || die "$conf does not parse (see above)"

# The CA and server certificate, made now so the fingerprint can be printed.
if [ -z "$root" ]; then
	runas="runuser -u $user --"
	command -v runuser >/dev/null 2>&1 || runas="su -s /bin/sh $user -c"
else
	runas=""
fi
fp=$($runas "$bindir/ongrid-relay" enrol --fingerprint -c "$conf") || die "cannot make the relay certificate"

if [ "$mode" = systemd ]; then
	mkdir -p "$unitdir"
	sed -e "s|@BINDIR@|$bindir|g" -e "s|@CONF@|$conf|g" -e "s|@USER@|$user|g" \
		"$here/ongrid-relay.service" >"$unit"
	# Under --root the unit is for another system (an image): it is only written.
	if [ -z "$root" ]; then
		systemctl daemon-reload
		if [ "$start" = yes ]; then
			systemctl enable ongrid-relay.service >/dev/null 2>&1
			systemctl restart ongrid-relay.service
		fi
		started="systemctl status ongrid-relay"
	else
		started="unit written to $unit"
	fi
else
	cmd="$bindir/ongrid-relay run -c $conf"
	if [ "$start" = yes ]; then
		# Foreground mode: no service manager, so the relay runs detached with a pid file;
		# re-running install.sh (or --uninstall) stops it.
		if [ -n "$runas" ]; then
			setsid $runas $cmd >>"$logfile" 2>&1 </dev/null &
		else
			setsid $cmd >>"$logfile" 2>&1 </dev/null &
		fi
		echo $! >"$pidfile"
		i=0
		while ! grep -q "ongrid-relay: ready" "$logfile" 2>/dev/null; do
			i=$((i + 1))
			[ $i -lt 100 ] || die "the relay did not start; see $logfile"
			kill -0 "$(cat "$pidfile")" 2>/dev/null || die "the relay exited; see $logfile"
			sleep 0.1
		done
		started="running, pid $(cat "$pidfile"), log $logfile"
	else
		started="not started; run: $cmd"
	fi
fi

[ "$upgrade" = yes ] && what=upgraded || what=installed
cat <<EOF
$prog: relay $what ($started)
  binary       $bindir/ongrid-relay ($("$bindir/ongrid-relay" --version 2>/dev/null || echo ?))
  config       $conf
  data         $data
  fingerprint  $fp
Enrol an edge: ongrid-relay enrol NAME -c $conf   (prints the one command to run on it)
EOF
