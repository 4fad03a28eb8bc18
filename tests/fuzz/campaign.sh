#!/bin/sh
# campaign.sh SECONDS [NAME...] - run each fuzz target (all of build/fuzz/fuzz_*, or the
# NAMEs given) for SECONDS at nice 19 on a scratch copy of its seed corpus, and print one
# line per target: executions, new inputs, crashes and leaks found. The figures in
# docs/RELIABILITY.md come from this script. Findings are kept under
# build/fuzz-campaign/NAME/ (crash-*, leak-*, timeout-*), the corpora it grew beside them.
#
#   make fuzz FUZZ_SECONDS=120     (builds the targets, then runs this script)
set -u
secs=${1:?usage: campaign.sh SECONDS [NAME...]}
shift
cd "$(dirname "$0")/../.." || exit 1
out=build/fuzz-campaign
mkdir -p "$out"
names=$*
[ -n "$names" ] || names=$(ls build/fuzz/ | sed -n 's/^fuzz_\([a-z_]*\)$/\1/p')
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
total=0 bad=0
for n in $names; do
	bin=build/fuzz/fuzz_$n
	[ -x "$bin" ] || { echo "$n: no $bin (make fuzz)"; bad=$((bad + 1)); continue; }
	rm -rf "$out/$n" && mkdir -p "$out/$n/corpus"
	cp tests/fuzz/corpus/$n/* "$out/$n/corpus/" 2>/dev/null
	nice -n 19 "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/$n/" "$out/$n/corpus" >"$out/$n/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n/log")
	new=$(sed -n 's/^stat::new_units_added: *//p' "$out/$n/log")
	found=$(ls "$out/$n" | grep -c '^\(crash\|leak\|timeout\|oom\)-')
	echo "$n: ${runs:-0} runs, ${new:-0} new inputs, $found findings, exit $rc"
	total=$((total + ${runs:-0}))
	[ "$found" = 0 ] && [ "$rc" = 0 ] || bad=$((bad + 1))
done
echo "campaign: $total runs in all, $bad targets with findings, ${secs}s each"
[ "$bad" = 0 ]
