#!/bin/sh
# install/deps.sh - install every build, test and benchmark dependency of ongrid
# from Debian 12 packages. Idempotent: packages already present are left alone and
# apt is not touched at all when nothing is missing, so `make` stays fast.
#
# usage: install/deps.sh [build|test|bench|all]     (default: all)
set -eu

build_pkgs="build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev libdw-dev
zlib1g-dev libcurl4-openssl-dev libcjson-dev libwebsockets-dev libwebsockets-evlib-ev
libev-dev libsqlite3-dev libssl-dev libconfig-dev libpcre2-dev libzstd-dev libxxhash-dev
uthash-dev libseccomp-dev libcap-ng-dev libsystemd-dev"
test_pkgs="libcmocka-dev libclang-rt-14-dev python3 python3-websockets stress-ng fio
nftables iproute2 procps psmisc prometheus prometheus-alertmanager sqlite3 curl
cppcheck clang-tidy clang-format util-linux e2fsprogs systemd-journal-remote systemd dbus"
bench_pkgs="prometheus-node-exporter libbpf-tools hyperfine zstd"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
all) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Daemons from these packages must not start on install (tests start their own).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
