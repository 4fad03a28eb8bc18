#!/bin/sh
test_description='procexec: execs and exits per command, exit codes and signals, one exit per process'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/ebpf-lib.sh"

# The kernel names a process after the file it executed, so links give our test
# processes command names nobody else uses.
ln -s /bin/sh ongrid-crashy
ln -s /bin/sh ongrid-segv
ln -s "$PY" ongrid-thr

test_expect_success BPF,PYTHON3 'a crash loop, a segfault and a threaded exit' '
	collect_bg p.json procexec 5 &&
	for i in 1 2 3 4 5; do ./ongrid-crashy -c "exit 3"; done;
	for i in 1 2 3; do ./ongrid-segv -c "kill -SEGV \$\$"; done;
	./ongrid-thr -c "
import os, threading, time
ts = [threading.Thread(target=time.sleep, args=(5,), daemon=True) for _ in range(4)]
[t.start() for t in ts]
os._exit(7)" ;
	./ongrid-crashy -c "exit 0" &&
	collect_wait
'

test_expect_success BPF,PYTHON3 'a crash loop is counted per exit code' '
	test "$(sample p.json ongrid_process_execs_total comm=ongrid-crashy)" = 6 &&
	test "$(sample p.json ongrid_process_exits_total comm=ongrid-crashy code=3 signal=)" = 5 &&
	test "$(sample p.json ongrid_process_exits_total comm=ongrid-crashy code=0)" = 1
'

test_expect_success BPF,PYTHON3 'a process killed by a signal shows the signal, not a code' '
	test "$(sample p.json ongrid_process_exits_total comm=ongrid-segv signal=SIGSEGV)" = 3 &&
	json_get p.json "[s[\"labels\"] for s in d[\"samples\"] if s[\"labels\"].get(\"comm\")==\"ongrid-segv\" and s[\"name\"]==\"ongrid_process_exits_total\"]" >labels &&
	echo "[{\"comm\": \"ongrid-segv\", \"signal\": \"SIGSEGV\"}]" >expect &&
	test_cmp expect labels
'

test_expect_success BPF,PYTHON3 'a process with five threads exits once' '
	test "$(sample p.json ongrid_process_exits_total comm=ongrid-thr code=7)" = 1
'

test_expect_success BPF 'more commands than the map holds: the rest count under comm="other"' '
	mkdir many &&
	i=0 && while [ $i -lt 1100 ]; do ln -s /bin/true many/ongrid-m$i; i=$((i + 1)); done &&
	collect_bg many.json procexec 10 &&
	for f in many/*; do ./$f; done &&
	collect_wait &&
	"$PY" - many.json >counts <<-\PYEOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	ex = [s for s in d["samples"] if s["name"] == "ongrid_process_execs_total"]
	mine = sum(s["value"] for s in ex if s["labels"]["comm"].startswith("ongrid-m"))
	other = sum(s["value"] for s in ex if s["labels"]["comm"] == "other")
	keys = len([s for s in d["samples"] if s["name"].startswith("ongrid_process_")])
	print(len(ex), int(mine), int(other), keys)
	PYEOF
	read nexec mine other keys <counts &&
	report "1100 commands: $nexec exec series, $mine execs by name, $other under other, $keys series in all" &&
	test "$keys" -le 1026 && test "$other" -gt 0 && test $((mine + other)) -ge 1100
'

test_expect_success BPF 'among 300 failing commands a crash loop keeps its name; the rest count under "other"' '
	mkdir fails &&
	ln -s /bin/sh fails/ongrid-loop &&
	i=0 && while [ $i -lt 300 ]; do ln -s /bin/sh fails/ongrid-f$i; i=$((i + 1)); done &&
	collect_bg fails.json procexec 10 &&
	for i in 1 2 3 4 5 6 7 8; do ./fails/ongrid-loop -c "exit 4"; done;
	for f in fails/ongrid-f*; do ./$f -c "exit 1"; done;
	collect_wait &&
	test "$(sample fails.json ongrid_process_exits_total comm=ongrid-loop code=4)" = 8 &&
	"$PY" - fails.json >counts <<-\PYEOF &&
	import json, sys
	d = json.load(open(sys.argv[1]))
	ex = [s for s in d["samples"] if s["name"] == "ongrid_process_exits_total"]
	comms = {s["labels"]["comm"] for s in ex}
	mine = sum(s["value"] for s in ex if s["labels"]["comm"].startswith("ongrid-f"))
	other = sum(s["value"] for s in ex
	            if s["labels"]["comm"] == "other" and s["labels"].get("code") == "1")
	print(len(comms), int(mine), int(other))
	PYEOF
	read ncomms mine other <counts &&
	report "300 failing commands: $ncomms commands by name (other included), $mine exits by name, $other under other with code 1" &&
	test "$ncomms" -le 65 && test "$other" -gt 0 && test $((mine + other)) -ge 300
'

report_show
test_done
