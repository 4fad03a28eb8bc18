#!/bin/sh
test_description='investigate: a small filesystem filled with fallocate is found offline, with its mountpoint'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/agent-lib.sh"

agent_conf
MNT=$TRASH/fill

test_expect_success ROOT 'a 32 MiB tmpfs, half full while the daemon watches' '
	mkdir -p "$MNT" && mount -t tmpfs -o size=32m ongrid-t8002 "$MNT" &&
	at_exit "umount -l $MNT" &&
	fallocate -l 8m "$MNT/a" &&
	agent_daemon 3 && sleep 3
'

test_expect_success ROOT 'filled to the brim: category disk, component the mountpoint' '
	fallocate -l 23m "$MNT/b" &&
	sleep 4 &&
	investigate disk.json "why are writes failing on this host?" &&
	report_is disk.json disk "^$MNT\$" &&
	json_get disk.json "d[\"evidence\"][0][\"finding\"]" | grep -q "above 90%"
'

test_expect_success ROOT 'a follow-up in the same incident carries the earlier conclusion' '
	"$EDGE" investigate -c edge.conf --incident inc-8002 --json "is the disk full?" >f1.json &&
	"$EDGE" investigate -c edge.conf --incident inc-8002 --json "what else?" >f2.json &&
	json_get f2.json "d[\"timeline\"][0][\"detail\"][\"earlier\"][0][\"component\"]" >earlier &&
	echo "$MNT" >want && test_cmp want earlier
'

test_done
