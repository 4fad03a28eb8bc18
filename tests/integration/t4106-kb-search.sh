#!/bin/sh
test_description='kb_search ranks the runbooks of kb.dir for a query'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
export ONGRID_KB_DIR="$TRASH/runbooks"
tool() { "$EDGE" tool "$@" --json; }

test_expect_success 'setup: a runbook directory with subdirectories' '
	mkdir -p runbooks/db runbooks/net &&
	printf "# Postgres: too many connections\n\nSymptom: FATAL too many connections for role.\nCheck pg_stat_activity; raise max_connections or add pgbouncer.\n" >runbooks/db/pg-connections.md &&
	printf "# Disk full\n\nFind the largest directories with du; rotate logs.\nPostgres may stop when its disk is full.\n" >runbooks/disk-full.md &&
	printf "# TCP retransmits\n\nRetransmits to a peer: check packet loss with mtr; nftables drops.\n" >runbooks/net/retransmits.md &&
	printf "postgres postgres postgres\n" >runbooks/not-a-runbook.log
'

test_expect_success 'the runbook about the symptom ranks first, with the matching line' '
	tool kb_search "{\"query\":\"postgres too many connections\"}" >out &&
	test "$(json_get out .evidence.results[0].title)" = "Postgres: too many connections" &&
	test "$(json_get out "len(d[\"evidence\"][\"results\"])")" = 2 &&
	json_get out .evidence.results[0].snippet | grep -q "too many connections for role" &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^2 of 3 runbooks match"
'

test_expect_success 'a different query ranks a different runbook first' '
	tool kb_search "{\"query\":\"retransmits packet loss\"}" >out &&
	json_get out .evidence.results[0].path | grep -q "net/retransmits.md$"
'

test_expect_success 'no match, and a missing kb.dir, are said plainly' '
	tool kb_search "{\"query\":\"kubernetes\"}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "no runbook among 3" &&
	ONGRID_KB_DIR=$TRASH/nope test_expect_code 1 "$EDGE" tool kb_search "{\"query\":\"disk\"}" >out &&
	grep -q "no runbook directory" out
'

test_done
