#!/bin/sh
test_description='kill_process: proposed, not run; approve runs it; double_sign, deny and bad ids'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"

start_victim() {
	sleep 300 &
	echo $! >victim.pid
	at_exit "kill $! 2>/dev/null"
}

alive() {
	kill -0 "$(cat victim.pid)" 2>/dev/null &&
	! grep -q "^State:.*Z" "/proc/$(cat victim.pid)/status" 2>/dev/null
}

propose_kill() {
	"$EDGE" tool kill_process "{\"pid\":$(cat victim.pid)}" --role admin --json "$@" >proposal &&
	test "$(json_get proposal .status)" = proposed &&
	json_get proposal .id >id
}

test_expect_success 'kill_process returns a proposal with an id and the process lives' '
	start_victim &&
	propose_kill &&
	test "$(json_get proposal .class)" = dangerous &&
	json_get proposal .reason | grep -q "SIGTERM to pid $(cat victim.pid) (sleep)" &&
	sleep 0.3 && alive
'

test_expect_success 'approve --list shows it waiting' '
	"$EDGE" approve --list >out &&
	grep -q "^$(cat id)  kill_process" out
'

test_expect_success 'approve --as alice runs it (the id pasted in capitals); the process is gone' '
	"$EDGE" approve "$(tr a-f A-F <id)" --as alice --json >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .evidence.exited)" = true &&
	wait_for 5 "! alive"
'

test_expect_success 'approving it again exits 1 and runs nothing' '
	test_expect_code 1 "$EDGE" approve "$(cat id)" --as bob 2>err &&
	grep -q "no longer pending (done)" err
'

test_expect_success 'two approvers racing: the call runs exactly once' '
	printf "#!/bin/sh\necho ran >>\"%s/ran\"\n" "$TRASH" >once.sh && chmod +x once.sh &&
	printf "tools: { restart_commands = [\"once=%s/once.sh\"]; };\n" "$TRASH" >race.conf &&
	"$EDGE" tool restart_service "{\"unit\":\"once\"}" -c race.conf --role admin --json >p &&
	id=$(json_get p .id) &&
	for who in a b c d e f; do
		"$EDGE" approve "$id" -c race.conf --as $who >out.$who 2>err.$who &
	done &&
	wait &&
	test "$(wc -l <ran)" = 1 &&
	test "$(cat err.* | grep -c "no longer pending")" = 5
'

test_expect_success 'an unknown or malformed id exits 2' '
	test_expect_code 2 "$EDGE" approve 0123456789abcdef --as alice 2>err &&
	grep -q "no approval with id" err &&
	test_expect_code 2 "$EDGE" approve "1; DROP TABLE approvals" --as alice 2>err
'

test_expect_success 'deny records the decision and the call never runs' '
	start_victim &&
	propose_kill &&
	"$EDGE" deny "$(cat id)" --as alice >out &&
	grep -q "denied" out &&
	test_expect_code 1 "$EDGE" approve "$(cat id)" --as bob 2>err &&
	grep -q "denied" err &&
	alive
'

test_expect_success 'double_sign: not the requester, not the same approver twice, then two run it' '
	printf "tools: { double_sign = true; };\n" >ds.conf &&
	start_victim &&
	propose_kill -c ds.conf --as bob &&
	test "$(json_get proposal .needed)" = 2 &&
	test_expect_code 1 "$EDGE" approve "$(cat id)" -c ds.conf --as bob 2>err &&
	grep -q "requested this call and cannot approve it" err &&
	"$EDGE" approve "$(cat id)" -c ds.conf --as alice >out &&
	grep -q "1 of 2" out &&
	alive &&
	test_expect_code 1 "$EDGE" approve "$(cat id)" -c ds.conf --as alice 2>err &&
	grep -q "already approved" err &&
	alive &&
	"$EDGE" approve "$(cat id)" -c ds.conf --as carol --json >out &&
	test "$(json_get out .status)" = executed &&
	wait_for 5 "! alive"
'

test_expect_success 'tools.approvers limits who may decide' '
	printf "tools: { approvers = [\"alice\"]; };\n" >ap.conf &&
	start_victim &&
	propose_kill -c ap.conf &&
	test_expect_code 1 "$EDGE" approve "$(cat id)" -c ap.conf --as mallory 2>err &&
	grep -q "not in tools.approvers" err &&
	alive &&
	"$EDGE" deny "$(cat id)" -c ap.conf --as alice >/dev/null
'

test_expect_success 'a viewer or operator cannot even propose it' '
	start_victim &&
	test_expect_code 1 "$EDGE" tool kill_process "{\"pid\":$(cat victim.pid)}" 2>err &&
	grep -q "may not call dangerous" err &&
	alive
'

test_expect_success 'the approvals database and its journal files are private' '
	bad=0 &&
	for f in "$ONGRID_DATA_DIR"/approvals.db*; do
		test "$(stat -c %a "$f")" = 600 || { echo "$f is $(stat -c %a "$f")"; bad=1; }
	done &&
	test $bad = 0
'

test_done
