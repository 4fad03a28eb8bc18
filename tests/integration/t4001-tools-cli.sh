#!/bin/sh
test_description='tools and tool: the catalogue, argument errors that name the field, role refusals and their exit codes'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"

test_expect_success 'tools lists every tool with its class' '
	"$EDGE" tools >out &&
	grep -q "^bash  *safe-read " out &&
	grep -q "^add_incident_note  *safe-write " out &&
	grep -q "^kill_process  *dangerous " out &&
	grep -q "^restart_service  *dangerous " out
'

test_expect_success 'tools --json carries classes and schemas' '
	"$EDGE" tools --json >out &&
	test "$(json_get out "[t[\"class\"] for t in d if t[\"name\"]==\"kill_process\"][0]")" = dangerous &&
	test "$(json_get out "[t[\"args_schema\"][\"required\"][0] for t in d if t[\"name\"]==\"bash\"][0]")" = command
'

test_expect_success 'tools --role shows only what that role may call' '
	"$EDGE" tools --role viewer --json >out &&
	test "$(json_get out "sorted(set(t[\"class\"] for t in d))")" = "[\"safe-read\"]" &&
	test "$(json_get out "\"bash\" in [t[\"name\"] for t in d]")" = true &&
	"$EDGE" tools --role admin >out &&
	grep -q "^kill_process " out &&
	test_expect_code 2 "$EDGE" tools --role guest 2>err &&
	grep -q "unknown role .guest." err
'

test_expect_success 'docs/tools.md lists every tool with its class' '
	"$EDGE" tools --json >out &&
	"$PY" -c "import json,sys; [print(t[\"name\"], t[\"class\"]) for t in json.load(open(\"out\"))]" >tools &&
	missing=0 &&
	while read -r name class; do
		grep -q "^| \`$name\` | $class" "$SRC/docs/tools.md" ||
			{ echo "tool $name ($class) has no row in docs/tools.md: add one"; missing=1; }
	done <tools &&
	test $(wc -l <tools) -ge 4 && test $missing = 0
'

test_expect_success 'an unknown tool exits 2 and names it' '
	test_expect_code 2 "$EDGE" tool frobnicate "{}" 2>err &&
	grep -q "unknown tool .frobnicate." err
'

test_expect_success 'malformed JSON exits 2 with the offset' '
	test_expect_code 2 "$EDGE" tool bash "{\"command\":" 2>err &&
	grep -q "args: invalid JSON at offset" err
'

test_expect_success 'a wrong type exits 2 naming the field, and nothing runs' '
	test_expect_code 2 "$EDGE" tool kill_process "{\"pid\":\"1\"}" --role admin 2>err &&
	grep -q "args.pid: expected an integer, got a string" err &&
	test_must_fail test -e "$ONGRID_DATA_DIR/approvals.db"
'

test_expect_success 'a missing required field and an unknown field are named' '
	test_expect_code 2 "$EDGE" tool bash "{}" 2>err &&
	grep -q "args: missing required field .command." err &&
	test_expect_code 2 "$EDGE" tool bash "{\"command\":\"id\",\"sudo\":true}" 2>err &&
	grep -q "args.sudo: unknown field" err
'

test_expect_success 'an unknown role exits 2' '
	test_expect_code 2 "$EDGE" tool bash "{\"command\":\"id\"}" --role root 2>err &&
	grep -q "unknown role .root." err
'

test_expect_success 'a viewer may not write: exit 1 with the reason' '
	test_expect_code 1 "$EDGE" tool add_incident_note "{\"incident\":\"inc-1\",\"note\":\"x\"}" 2>err &&
	grep -q "role .viewer. may not call safe-write tools" err
'

test_expect_success 'an operator may not propose dangerous calls' '
	sleep 60 & pid=$! &&
	test_when_finished "kill $pid" &&
	test_expect_code 1 "$EDGE" tool kill_process "{\"pid\":$pid}" --role operator 2>err &&
	grep -q "role .operator. may not call dangerous tools" err &&
	kill -0 $pid
'

test_expect_success 'an operator adds incident notes; they accumulate' '
	"$EDGE" tool add_incident_note "{\"incident\":\"inc-1\",\"note\":\"disk full\"}" --role operator --json >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .class)" = safe-write &&
	"$EDGE" tool add_incident_note "{\"incident\":\"inc-1\",\"note\":\"cleaned\"}" --role operator --json >out &&
	test "$(json_get out .evidence.notes)" = 2
'

test_expect_success 'roles are configurable: a viewer given safe-write may write' '
	printf "tools: { roles: { viewer = [\"safe-read\", \"safe-write\"]; }; };\n" >edge.conf &&
	"$EDGE" tool add_incident_note "{\"incident\":\"inc-2\",\"note\":\"x\"}" -c edge.conf --json >out &&
	test "$(json_get out .status)" = executed
'

test_expect_success 'a role list with a class that does not exist is a config error' '
	printf "tools: { roles: { viewer = [\"safe-reed\"]; }; };\n" >edge.conf &&
	test_expect_code 2 "$EDGE" tool bash "{\"command\":\"id\"}" -c edge.conf 2>err &&
	grep -q "tools.roles.viewer: .safe-reed. is not a class" err
'

test_done
