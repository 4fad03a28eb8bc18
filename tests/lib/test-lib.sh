# test-lib.sh - the harness every integration script sources (git's t/test-lib.sh shape).
#
#   test_description='what this script proves'
#   . "$(dirname "$0")/../lib/test-lib.sh"
#   test_expect_success [PREREQ,PREREQ] 'title' 'commands'
#   test_done
#
# Output is TAP ("ok N - title"). Each script runs in its own scratch directory
# ($TRASH, under build/test-results/), which is removed when every test passed.
# Prerequisites: ROOT BTF BPF NETNS NFT STRESS FIO PROMETHEUS ALERTMANAGER PYTHON3 CGROUP2
# (checked lazily, cached); a test whose prerequisite is missing is skipped with the
# reason, never passed.

set -u
TEST_NAME=$(basename "$0" .sh)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${ONGRID_BUILD:-$SRC/build}
EDGE=$BUILD/ongrid-edge
RELAY=$BUILD/ongrid-relay
PY=/usr/bin/python3
TRASH=$BUILD/test-results/trash.$TEST_NAME
export SRC BUILD EDGE RELAY PY TRASH
# Every test gets its own configuration world: no /etc/ongrid, no inherited ONGRID_*.
for v in $(env | sed -n 's/^\(ONGRID_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done

rm -rf "$TRASH"
mkdir -p "$TRASH"
cd "$TRASH" || exit 1
export HOME="$TRASH"

test_count=0
test_failed=0
test_skipped=0
test_cleanup_cmds=""
test_exit_cmds=""
test_prereqs_ok=" "
test_prereqs_missing=" "

say() { printf '%s\n' "$*"; }
note() { printf '# %s\n' "$*"; }

test_have_prereq() {
	for p in $(printf '%s' "$1" | tr ',' ' '); do
		case "$test_prereqs_ok" in *" $p "*) continue ;; esac
		case "$test_prereqs_missing" in *" $p "*) return 1 ;; esac
		if prereq_check "$p"; then
			test_prereqs_ok="$test_prereqs_ok$p "
		else
			test_prereqs_missing="$test_prereqs_missing$p "
			return 1
		fi
	done
	return 0
}

prereq_check() {
	case "$1" in
	ROOT) [ "$(id -u)" = 0 ] ;;
	BTF) [ -r /sys/kernel/btf/vmlinux ] ;;
	BPF) [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ] &&
		"$EDGE" status --json 2>/dev/null | grep -q '"bpf":[[:space:]]*true' ;;
	NETNS) [ "$(id -u)" = 0 ] && command -v ip >/dev/null &&
		ip netns add "ongrid-probe-$$" 2>/dev/null && ip netns del "ongrid-probe-$$" ;;
	NFT) command -v nft >/dev/null ;;
	STRESS) command -v stress-ng >/dev/null ;;
	FIO) command -v fio >/dev/null ;;
	PROMETHEUS) command -v prometheus >/dev/null && command -v promtool >/dev/null ;;
	ALERTMANAGER) command -v prometheus-alertmanager >/dev/null ;;
	PYTHON3) [ -x "$PY" ] ;;
	CGROUP2) grep -q cgroup2 /proc/self/mounts ;;
	*) echo "test-lib: unknown prerequisite $1" >&2; return 1 ;;
	esac
}

# test_when_finished 'cmd': run cmd after the current test, whatever its result.
test_when_finished() {
	test_cleanup_cmds="$1
$test_cleanup_cmds"
}

# at_exit 'cmd': run cmd when the script ends (daemons, namespaces).
at_exit() {
	test_exit_cmds="$1
$test_exit_cmds"
}

test_run_() {
	test_cleanup_cmds=""
	{ eval "$1"; } >"$TRASH/.out" 2>&1
	rc=$?
	cd "$TRASH" || exit 1
	if [ -n "$test_cleanup_cmds" ]; then
		eval "$test_cleanup_cmds" >/dev/null 2>&1
	fi
	return $rc
}

test_expect_success() {
	prereq=""
	if [ $# = 3 ]; then
		prereq=$1
		shift
	fi
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skipped=$((test_skipped + 1))
		say "ok $test_count # skip $1 (missing $(printf '%s' "$prereq" | tr ',' ' ' |
			while read -r x; do for p in $x; do case "$test_prereqs_missing" in
			*" $p "*) printf '%s ' "$p" ;; esac; done; done))"
		return 0
	fi
	if test_run_ "$2"; then
		say "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $1"
		sed -e 's/^/#	/' "$TRASH/.out" | tail -n 40
		printf '%s\n' "$2" | sed -e 's/^/#	> /'
	fi
}

test_done() {
	eval "$test_exit_cmds" >/dev/null 2>&1
	say "1..$test_count"
	note "passed $((test_count - test_failed - test_skipped)), failed $test_failed, skipped $test_skipped"
	if [ "$test_failed" = 0 ]; then
		cd "$SRC" && rm -rf "$TRASH"
		exit 0
	fi
	exit 1
}

skip_all() {
	say "1..0 # SKIP $*"
	exit 0
}

trap 'eval "$test_exit_cmds" >/dev/null 2>&1' EXIT INT TERM

# ---- assertions -------------------------------------------------------------

test_cmp() { diff -u "$1" "$2"; }

# test_must_fail cmd...: cmd must exit non-zero, but not die of a signal or sanitizer.
test_must_fail() {
	"$@"
	rc=$?
	if [ $rc = 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $rc -gt 128 ] && [ $rc -le 192 ]; then
		echo "test_must_fail: '$*' died of signal $((rc - 128))" >&2
		return 1
	fi
	return 0
}

# test_expect_code N cmd...
test_expect_code() {
	want=$1
	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] && return 0
	echo "test_expect_code: '$*' exited $rc, wanted $want" >&2
	return 1
}

# json_get FILE EXPR: print a value from a JSON file with a Python expression over `d`,
# e.g. json_get out '.system.root' or json_get out 'd["evidence"][0]["tool"]'.
json_get() {
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
expr = sys.argv[2]
if expr.startswith('.'):
    v = d
    for part in expr[1:].replace(']', '').replace('[', '.').split('.'):
        if part == '':
            continue
        v = v[int(part)] if isinstance(v, list) else v[part]
else:
    v = eval(expr, {"d": d})
if isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, (dict, list)):
    print(json.dumps(v, sort_keys=True))
else:
    print(v)
PYEOF
}

# wait_for TIMEOUT_S 'condition': poll every 0.1 s.
wait_for() {
	end=$(($(date +%s) + $1))
	while ! eval "$2" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && { echo "wait_for: timed out after $1s: $2" >&2; return 1; }
		sleep 0.1
	done
}

# free_port: a TCP port on 127.0.0.1 nobody listens on now.
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# daemon_start NAME cmd...: start cmd in the background, output to NAME.log, and make
# sure it is killed when the script ends. The pid is in NAME.pid.
daemon_start() {
	name=$1
	shift
	"$@" >"$TRASH/$name.log" 2>&1 &
	echo $! >"$TRASH/$name.pid"
	at_exit "kill -9 $! 2>/dev/null"
}

daemon_stop() {
	[ -f "$TRASH/$1.pid" ] || return 0
	pid=$(cat "$TRASH/$1.pid")
	kill "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$TRASH/$1.pid"
	return 0
}
