#!/bin/sh
test_description='profile_cpu: a C busy loop and a python busy loop are the top process, with the burning function named'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
tool() { "$EDGE" tool "$@" --json; }

cat >burn.c <<'EOF'
volatile unsigned long sink;
__attribute__((noinline)) void burn_cycles(void)
{
	for (unsigned long i = 0; i < 100000000UL; i++)
		sink += i * i;
}
int main(void)
{
	for (;;)
		burn_cycles();
}
EOF

test_expect_success BPF 'setup: a C busy loop with symbols' '
	cc -O1 -g -fno-omit-frame-pointer -o ogburn burn.c &&
	{ ./ogburn & } && echo $! >burn.pid && at_exit "kill $(cat burn.pid) 2>/dev/null"
'

test_expect_success BPF 'the busy loop is the top process and burn_cycles its top function' '
	tool profile_cpu "{\"duration_s\":3,\"processes\":3}" >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out "d[\"evidence\"][\"samples\"] > 100")" = true &&
	test "$(json_get out "[p[\"comm\"] for p in d[\"evidence\"][\"processes\"]][:2].count(\"ogburn\")")" = 1 &&
	test "$(json_get out "[p for p in d[\"evidence\"][\"processes\"] if p[\"comm\"]==\"ogburn\"][0][\"functions\"][0][\"name\"]")" = burn_cycles &&
	test "$(json_get out "[p for p in d[\"evidence\"][\"processes\"] if p[\"comm\"]==\"ogburn\"][0][\"functions\"][0][\"pct\"] >= 80")" = true &&
	json_get out "[p for p in d[\"evidence\"][\"processes\"] if p[\"comm\"]==\"ogburn\"][0][\"stacks\"][0][\"stack\"]" | grep -q "burn_cycles$"
'

test_expect_success BPF 'pid narrows the result to one process, and its finding names the function' '
	tool profile_cpu "{\"duration_s\":2,\"pid\":$(cat burn.pid)}" >out &&
	test "$(json_get out "len(d[\"evidence\"][\"processes\"])")" = 1 &&
	json_get out "d[\"evidence\"][\"findings\"][1]" | grep -q "^pid $(cat burn.pid) (ogburn): .*top function burn_cycles"
'

test_expect_success BPF,PYTHON3 'a python busy loop is found as its interpreter, with libpython frames' '
	kill $(cat burn.pid) && cp "$PY" ogpyburn &&
	{ ./ogpyburn -c "while True: pass" & } && echo $! >py.pid && at_exit "kill $(cat py.pid) 2>/dev/null" &&
	sleep 0.5 &&
	tool profile_cpu "{\"duration_s\":3,\"pid\":$(cat py.pid)}" >out &&
	test "$(json_get out .evidence.processes[0].comm)" = ogpyburn &&
	test "$(json_get out "d[\"evidence\"][\"processes\"][0][\"samples\"] > 50")" = true &&
	json_get out "[f[\"name\"] for f in d[\"evidence\"][\"processes\"][0][\"functions\"]]" | grep -q "_PyEval\|Py\|python"
'

test_done
