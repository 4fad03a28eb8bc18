#!/bin/sh
test_description='bash tool: allowlisted commands run read-only; everything else is refused or proposed, never run'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"

bash_json() {
	"$PY" -c 'import json,sys; print(json.dumps({"command": sys.argv[1]}))' "$1"
}

test_expect_success 'an allowlisted command runs and its output is the evidence' '
	"$EDGE" tool bash "$(bash_json "uname -r")" --role viewer --json >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .class)" = safe-read &&
	test "$(json_get out .evidence.exit_code)" = 0 &&
	test "$(json_get out .evidence.output)" = "$(uname -r)"
'

test_expect_success 'a pipeline of allowlisted programs runs without a shell' '
	sleep 61 & pid=$! &&
	test_when_finished "kill $pid" &&
	"$EDGE" tool bash "$(bash_json "ps -eo pid,args | grep -F \"sleep 61\" | wc -l")" --json >out &&
	test "$(json_get out .evidence.output)" -ge 1
'

test_expect_success ROOT 'read-only commands run as uid 65534' '
	"$EDGE" tool bash "$(bash_json "id -u")" --json >out &&
	test "$(json_get out .evidence.output)" = 65534
'

test_expect_success 'a secret is refused with the reason, for a viewer exit 1' '
	test_expect_code 1 "$EDGE" tool bash "$(bash_json "cat /etc/shadow")" 2>err &&
	grep -q "password hashes" err
'

test_expect_success 'every hostile command of the corpus is refused for a viewer and never runs' '
	ONGRID_DATA_DIR=/var/lib/ongrid "$PY" - "$EDGE" "$SRC/tests/fixtures/hostile-commands.txt" <<-\PYEOF
	import json, subprocess, sys
	edge, corpus = sys.argv[1], sys.argv[2]
	bad = 0
	n = 0
	for line in open(corpus, encoding="utf-8"):
	    cmd = line.rstrip("\n")
	    if not cmd:
	        continue
	    n += 1
	    p = subprocess.run([edge, "tool", "bash", json.dumps({"command": cmd}), "--json"],
	                       capture_output=True, text=True)
	    if p.returncode != 1 or "may not call dangerous" not in p.stderr or p.stdout.strip():
	        print("NOT REFUSED:", cmd, p.returncode, p.stdout[:200], p.stderr[:200])
	        bad += 1
	print(n, "hostile commands,", bad, "not refused")
	sys.exit(1 if bad or n < 100 else 0)
	PYEOF
'

test_expect_success 'for an admin a refused command becomes a proposal and does not run' '
	"$EDGE" tool bash "$(bash_json "touch $TRASH/marker; id")" --role admin --json >out &&
	test "$(json_get out .status)" = proposed &&
	test "$(json_get out .class)" = dangerous &&
	json_get out .reason | grep -q "is not supported" &&
	test_must_fail test -e "$TRASH/marker" &&
	json_get out .id >id
'

test_expect_success 'once approved, the proposed command runs (through a shell)' '
	"$EDGE" approve "$(cat id)" --as alice --json >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .evidence.mode)" = approved-shell &&
	test -e "$TRASH/marker"
'

test_expect_success 'the timeout kills the command and says so' '
	printf "tools: { bash_timeout = \"1s\"; };\n" >edge.conf &&
	start=$(date +%s) &&
	"$EDGE" tool bash "$(bash_json "vmstat 1 5")" -c edge.conf --json >out &&
	test $(($(date +%s) - start)) -le 3 &&
	test "$(json_get out .evidence.timed_out)" = true &&
	json_get out .evidence.finding | grep -q "timeout"
'

test_expect_success 'output is capped at tools.output_max and marked' '
	printf "tools: { output_max = \"1KiB\"; };\n" >edge.conf &&
	"$EDGE" tool bash "$(bash_json "cat /etc/services")" -c edge.conf --json >out &&
	test "$(json_get out .evidence.truncated)" = true &&
	json_get out .evidence.output | grep -q "truncated at 1024 bytes"
'

test_expect_success 'tools.deny_paths adds denied places' '
	mkdir -p private && echo secret >private/x &&
	printf "tools: { deny_paths = [\"%s/private\"]; };\n" "$TRASH" >edge.conf &&
	test_expect_code 1 "$EDGE" tool bash "$(bash_json "cat $TRASH/private/x")" -c edge.conf 2>err &&
	grep -q "tools.deny_paths" err
'

test_expect_success 'the data directory is denied to the bash tool' '
	"$EDGE" tool add_incident_note "{\"incident\":\"i\",\"note\":\"n\"}" --role admin >/dev/null &&
	test_expect_code 1 "$EDGE" tool bash "$(bash_json "ls $ONGRID_DATA_DIR")" 2>err &&
	grep -q "data directory" err
'

test_done
