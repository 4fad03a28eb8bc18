#!/bin/sh
test_description='both daemons: usage, exit codes, configuration errors that name file, line and key'
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'edge --help lists the commands and exits 0' '
	"$EDGE" --help >out &&
	grep -q "^usage: ongrid-edge COMMAND" out &&
	grep -q "  status" out && grep -q "  config" out
'

test_expect_success 'relay --help exits 0' '
	"$RELAY" --help >out && grep -q "^usage: ongrid-relay" out
'

test_expect_success 'no command is bad usage (2) with usage on stderr' '
	test_expect_code 2 "$EDGE" 2>err &&
	grep -q "^usage:" err
'

test_expect_success 'an unknown command exits 2 and names it' '
	test_expect_code 2 "$EDGE" frobnicate 2>err &&
	grep -q "unknown command .frobnicate." err
'

test_expect_success 'an unknown option exits 2 and names it' '
	test_expect_code 2 "$EDGE" status --frob 2>err &&
	grep -q "unknown option .--frob." err
'

test_expect_success 'status --json is valid JSON with the host facts' '
	"$EDGE" status --json >out &&
	json_get out .host >host && test -s host &&
	json_get out .system.kernel >kernel && test "$(cat kernel)" = "$(uname -r)"
'

test_expect_success 'a config file overrides a default and -c is honoured' '
	printf "name = \"web-7\";\nlog: { level = \"debug\"; };\n" >edge.conf &&
	"$EDGE" config -c edge.conf --json >out &&
	test "$(json_get out .name)" = web-7 &&
	test "$(json_get out "d[\"log.level\"]")" = debug
'

test_expect_success 'ONGRID_* variables override the file' '
	printf "name = \"web-7\";\n" >edge.conf &&
	ONGRID_NAME=web-8 "$EDGE" config -c edge.conf --json >out &&
	test "$(json_get out .name)" = web-8
'

test_expect_success 'an unknown key exits 2 naming file, line and key' '
	printf "name = \"a\";\nlog: {\n  levle = \"info\";\n};\n" >edge.conf &&
	test_expect_code 2 "$EDGE" config -c edge.conf 2>err &&
	grep -q "edge.conf:3: unknown key .log.levle." err
'

test_expect_success 'a bad value exits 2 naming the key and the accepted values' '
	printf "log: { level = \"loud\"; };\n" >edge.conf &&
	test_expect_code 2 "$EDGE" status -c edge.conf 2>err &&
	grep -q "edge.conf:1: log.level: expected one of err|warn|info|debug, got .loud." err
'

test_expect_success 'a syntax error exits 2 naming the line' '
	printf "name = \"a\";\nlog = {\n" >edge.conf &&
	test_expect_code 2 "$EDGE" config -c edge.conf 2>err &&
	grep -q "edge.conf:[23]: syntax error" err
'

test_expect_success 'a missing -c file exits 2 and says so' '
	test_expect_code 2 "$EDGE" config -c nope.conf 2>err &&
	grep -q "nope.conf: cannot read" err
'

test_expect_success 'config --check accepts a good file' '
	printf "data_dir = \"/tmp/x\";\n" >edge.conf &&
	"$EDGE" config --check -c edge.conf >out && grep -q "configuration OK" out
'

test_expect_success 'printed configuration reads back as the same configuration' '
	printf "name = \"web-9\";\nlog: { format = \"journal\"; };\n" >edge.conf &&
	"$EDGE" config -c edge.conf >printed.conf &&
	"$EDGE" config -c printed.conf --json >a.json &&
	"$EDGE" config -c edge.conf --json >b.json &&
	test_cmp a.json b.json
'

test_expect_success 'docs/config-edge.md and docs/config-relay.md match the key tables' '
	"$EDGE" config --doc >edge.md &&
	sed -n "/^| key |/,/^$/p" "$SRC/docs/config-edge.md" | sed "/^$/d" >edge-doc.md &&
	test_cmp edge.md edge-doc.md &&
	"$RELAY" config --doc >relay.md &&
	sed -n "/^| key |/,/^$/p" "$SRC/docs/config-relay.md" | sed "/^$/d" >relay-doc.md &&
	test_cmp relay.md relay-doc.md
'

test_done
