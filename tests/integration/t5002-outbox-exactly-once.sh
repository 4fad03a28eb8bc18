#!/bin/sh
test_description='the outbox delivers exactly once from several edges across relay kill -9, relay restarts and edge restarts'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"

relay_setup

# inbox_count KIND [EDGE]: rows the relay accepted from EDGE (web-1) of that kind, and
# distinct bodies.
inbox_count() {
	"$PY" - "$TRASH/relay/relay.sqlite" "$1" "${2:-web-1}" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT body FROM inbox WHERE edge = ? AND kind = ?", (sys.argv[3], sys.argv[2])).fetchall()
print(len(rows), len(set(r[0] for r in rows)))
PYEOF
}

# queued [EDGE]: rows still in EDGE's (web-1's) outbox.
queued() {
	"$EDGE" outbox count -c "$TRASH/${1:-web-1}.conf"
}

# queue_burst EDGE N: queue burst messages {"n": 1..N} one CLI call each, as fast as it can.
queue_burst() {
	i=1
	while [ $i -le $2 ]; do
		"$EDGE" outbox add burst "{\"n\": $i}" -c "$TRASH/$1.conf" >/dev/null || return 1
		i=$((i + 1))
	done
}

test_expect_success 'setup: relay, key, edge' '
	key_create web-1 && relay_start &&
	edge_conf web-1 web-1 && edge_start web-1 &&
	wait_for 10 "edge_connected web-1"
'

test_expect_success 'messages queued while connected arrive once, in full' '
	for i in 1 2 3 4 5; do
		"$EDGE" outbox add report "{\"n\": $i}" -c "$TRASH/web-1.conf" >/dev/null || return 1
	done &&
	wait_for 10 "test \"\$(queued)\" = 0" &&
	test "$(inbox_count report)" = "5 5"
'

test_expect_success 'bad kinds and bodies are bad input' '
	test_expect_code 2 "$EDGE" outbox add "Not A Kind" "{}" -c "$TRASH/web-1.conf" 2>err &&
	grep -q "kind .Not A Kind." err &&
	test_expect_code 2 "$EDGE" outbox add report "{nope" -c "$TRASH/web-1.conf" 2>err &&
	grep -q "message body" err
'

N=300
M=100
test_expect_success "kill -9 the relay four times while three edges queue $N, $M and $M messages: each arrives once" '
	key_create web-2 && key_create web-3 &&
	edge_conf web-2 web-2 && edge_start web-2 &&
	edge_conf web-3 web-3 && edge_start web-3 &&
	wait_for 10 "edge_connected web-2 && edge_connected web-3" &&
	{ queue_burst web-1 $N & } && w1=$! &&
	{ queue_burst web-2 $M & } && w2=$! &&
	{ queue_burst web-3 $M & } && w3=$! &&
	for pause in 0.3 0.5 0.2 0.4; do
		sleep $pause && relay_kill9 && sleep 0.3 && relay_start || return 1
	done &&
	wait $w1 && wait $w2 && wait $w3 &&
	wait_for 60 "test \"\$(queued web-1)\" = 0 && test \"\$(queued web-2)\" = 0 && test \"\$(queued web-3)\" = 0" &&
	test "$(inbox_count burst web-1)" = "$N $N" &&
	test "$(inbox_count burst web-2)" = "$M $M" &&
	test "$(inbox_count burst web-3)" = "$M $M" &&
	"$PY" -c "
import sqlite3, json
db = sqlite3.connect(\"$TRASH/relay/relay.sqlite\")
for edge, n in ((\"web-1\", $N), (\"web-2\", $M), (\"web-3\", $M)):
    ns = sorted(json.loads(b)[\"n\"] for (b,) in db.execute(\"SELECT body FROM inbox WHERE kind = \x27burst\x27 AND edge = ?\", (edge,)))
    assert ns == list(range(1, n + 1)), (edge, ns[:10])
" &&
	note "resends the relay recognised as duplicates: $(cat "$TRASH"/relay.log* | grep -c "already delivered")"
'

test_expect_success 'a restarted edge delivers what it queued while it was down' '
	kill -9 "$(cat "$TRASH/edge-web-1.pid")" &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$EDGE" outbox add offline "{\"n\": $i}" -c "$TRASH/web-1.conf" >/dev/null || return 1
	done &&
	test "$(queued)" = 10 &&
	edge_start web-1 &&
	wait_for 15 "test \"\$(queued)\" = 0" &&
	test "$(inbox_count offline)" = "10 10"
'

test_expect_success 'a resent message is acked as a duplicate and kept once' '
	edgepy call "$URL" "$(key_get web-1 access_key)" "$(key_get web-1 secret_key)" web-1 \
		outbox.deliver "{\"msg_id\":\"mdup\",\"kind\":\"dup\",\"body\":{\"x\":1},\"created_ms\":1}" \
		--times 2 >out &&
	head -n 1 out >first && tail -n 1 out >second &&
	test "$(json_get first .payload.duplicate)" = false &&
	test "$(json_get second .payload.duplicate)" = true &&
	test "$(inbox_count dup)" = "1 1"
'

test_expect_success 'a delivery without msg_id is refused, not stored' '
	edgepy call "$URL" "$(key_get web-1 access_key)" "$(key_get web-1 secret_key)" web-1 \
		outbox.deliver "{\"kind\":\"dup\",\"body\":{},\"created_ms\":1}" >out &&
	test "$(json_get out .code)" = bad_request && grep -q "msg_id" out
'

test_done
