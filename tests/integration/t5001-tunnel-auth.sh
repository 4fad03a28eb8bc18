#!/bin/sh
test_description='relay and edges as real processes: enrolment, pinned TLS, HMAC auth, replays, revocation, shared keys, hostile frames'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/lib/relay-lib.sh"

relay_setup

test_expect_success 'keys create prints a ready edge.conf fragment and --json the same facts' '
	"$RELAY" keys create frag -c "$TRASH/relay.conf" >frag.out &&
	grep -q "^  access_key = \"ogk_[0-9a-f]\{24\}\";" frag.out &&
	grep -q "^  secret_key = \"ogs_[0-9a-f]\{64\}\";" frag.out &&
	grep -q "^  fingerprint = \"sha256:[0-9a-f]\{64\}\";" frag.out &&
	key_create web-1 && key_create web-2 safe-write && key_create shared &&
	test "$(key_get web-1 role)" = safe-read && test "$(key_get web-2 role)" = safe-write
'

test_expect_success 'the relay stores no secret, only a verifier, and keeps its keys and database private' '
	secret=$(key_get web-1 secret_key) &&
	! grep -q -a "$secret" "$TRASH"/relay/* &&
	test "$(stat -c %a "$TRASH/relay/server.key")" = 600 &&
	test "$(stat -c %a "$TRASH/relay/ca.key")" = 600 &&
	test "$(stat -c %a "$TRASH/relay/relay.sqlite")" = 600
'

test_expect_success 'bad key names and roles are bad input (exit 2)' '
	test_expect_code 2 "$RELAY" keys create "bad name" -c "$TRASH/relay.conf" 2>err &&
	grep -q "key name .bad name." err &&
	test_expect_code 2 "$RELAY" keys create x --role root -c "$TRASH/relay.conf" 2>err &&
	grep -q "role .root." err &&
	test_expect_code 2 "$RELAY" keys create web-1 -c "$TRASH/relay.conf" 2>err &&
	grep -q "already exists" err
'

test_expect_success 'the relay starts with TLS and logs the fingerprint keys create printed' '
	relay_start &&
	grep -q "$(key_get web-1 fingerprint)" "$TRASH/relay.log" &&
	grep -q "listening on wss://127.0.0.1:$PORT" "$TRASH/relay.log"
'

test_expect_success 'an enrolled edge connects and is listed with labels, version, address' '
	edge_conf web-1 web-1 && edge_start web-1 &&
	wait_for 10 "edge_connected web-1" &&
	"$RELAY" edges --json -c "$TRASH/relay.conf" >edges.json &&
	test "$(json_get edges.json "d[0][\"labels\"][\"env\"]")" = test &&
	test "$(json_get edges.json "d[0][\"version\"]")" = "$(cat "$SRC/VERSION")" &&
	json_get edges.json "d[0][\"address\"]" | grep -q "^127.0.0.1:[0-9]*$" &&
	json_get edges.json "d[0][\"connected_since\"]" | grep -q "^20..-..-..T" &&
	json_get edges.json "d[0][\"last_heartbeat\"]" | grep -q "^20..-..-..T" &&
	"$RELAY" edges -c "$TRASH/relay.conf" >edges.txt &&
	grep -q "^web-1 *yes *127.0.0.1:" edges.txt
'

test_expect_success 'heartbeats keep last_heartbeat moving' '
	"$RELAY" edges --json -c "$TRASH/relay.conf" >a.json && sleep 4.5 &&
	"$RELAY" edges --json -c "$TRASH/relay.conf" >b.json &&
	test "$(json_get a.json "d[0][\"last_heartbeat\"]")" != "$(json_get b.json "d[0][\"last_heartbeat\"]")"
'

test_expect_success 'requests go both ways over the tunnel: a CLI session asks the relay' '
	"$EDGE" connect -c "$TRASH/web-1.conf" --call heartbeat --json >hb.json &&
	json_get hb.json .time_ms | grep -q "^[0-9]" &&
	test_expect_code 1 "$EDGE" connect -c "$TRASH/web-1.conf" --call no.such 2>err &&
	grep -q "unknown_type" err &&
	edge_connected web-1
'

test_expect_success 'many requests in flight both ways stay matched; a deadline cancels downstream' '
	key_create inflight-a && key_create inflight-b &&
	edgepy inflight "$URL" "$(key_get inflight-a access_key)" "$(key_get inflight-a secret_key)" \
		"$(key_get inflight-b access_key)" "$(key_get inflight-b secret_key)" >out &&
	test "$(json_get out .matched)" = 50 &&
	"$PY" -c "import json,sys; d=json.load(open(\"out\")); assert d[\"concurrent_s\"] < 5, d" &&
	test "$(json_get out .late_code)" = timeout &&
	"$PY" -c "import json,sys; d=json.load(open(\"out\")); assert 0.4 < d[\"late_s\"] < 2.5, d" &&
	test "$(json_get out .b_cancelled)" = 1
'

test_expect_success 'a wrong secret is refused and the secret never crossed the wire' '
	edge_conf bad web-1 &&
	sed -i "s/secret_key = \"ogs_[0-9a-f]*\"/secret_key = \"ogs_$(printf "%064d" 0)\"/" "$TRASH/bad.conf" &&
	test_expect_code 1 "$EDGE" connect -c "$TRASH/bad.conf" --call heartbeat --timeout 3s 2>err &&
	grep -q "bad signature" err &&
	grep -q "refused authentication.*bad signature" "$TRASH/relay.log"
'

test_expect_success 'an unknown access key is refused' '
	test_expect_code 1 edgepy auth "$URL" ogk_000000000000000000000000 "$(key_get web-1 secret_key)" ghost >out &&
	test "$(json_get out .ok)" = false && test "$(json_get out .code)" = unauthorized &&
	grep -q "unknown access key" out
'

test_expect_success 'a stale timestamp is refused' '
	test_expect_code 1 edgepy auth "$URL" "$(key_get web-1 access_key)" "$(key_get web-1 secret_key)" old \
		--ts-offset -600000 >out &&
	test "$(json_get out .ok)" = false && grep -q "outside the allowed window" out
'

test_expect_success 'a replayed auth frame is refused on a new connection' '
	edgepy replay "$URL" "$(key_get web-1 access_key)" "$(key_get web-1 secret_key)" replayer >out &&
	head -n 1 out >first && test "$(json_get first .ok)" = false &&
	grep -q "nonce is not the one this relay issued" first &&
	tail -n 1 out >last && test "$(json_get last .code)" = 1008
'

test_expect_success 'a certificate other than the pinned one is refused before auth' '
	edge_conf pinned web-1 &&
	sed -i "s/fingerprint = \"sha256:[0-9a-f]*\"/fingerprint = \"sha256:$(printf "%064d" 0)\"/" "$TRASH/pinned.conf" &&
	test_expect_code 1 "$EDGE" connect -c "$TRASH/pinned.conf" --call heartbeat --timeout 3s 2>err &&
	grep -q "does not match relay.fingerprint" err &&
	! grep -q "pinned" "$TRASH/relay.log"
'

test_expect_success 'plain ws:// needs relay.insecure, never silently' '
	EDGE_URL="ws://127.0.0.1:$PORT/" edge_conf plain web-1 &&
	test_expect_code 2 "$EDGE" connect -c "$TRASH/plain.conf" --call heartbeat 2>err &&
	grep -q "relay.url: ws:// is plain text" err
'

test_expect_success 'two edges with the same key are both reported' '
	edge_conf s-1 shared && edge_conf s-2 shared &&
	edge_start s-1 && edge_start s-2 &&
	wait_for 10 "edge_connected s-1 && edge_connected s-2" &&
	"$RELAY" edges --json -c "$TRASH/relay.conf" >edges.json &&
	"$PY" -c "import json; d={e[\"name\"]: e for e in json.load(open(\"edges.json\"))}; assert d[\"s-1\"][\"shared_key\"] and d[\"s-2\"][\"shared_key\"]" &&
	grep -q "use the same key .shared." "$TRASH/relay.log" &&
	"$RELAY" edges -c "$TRASH/relay.conf" | grep "^s-1" | grep -q "key shared"
'

# duplicates NAME: the relay's edge.duplicate audit rows for edge NAME.
duplicates() {
	"$PY" -c "import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM audit WHERE event = 'edge.duplicate' AND edge = ?\", (sys.argv[2],)).fetchone()[0])" \
		"$TRASH/relay/relay.sqlite" "$1"
}

test_expect_success 'two edges with one name are reported and back off instead of trading it several times a second' '
	key_create twin &&
	for side in a b; do
		edge_conf twin-$side twin &&
		sed -i "s/^name = .*/name = \"twin\";/; s/backoff_max = .*/backoff_max = \"30s\";/" \
			"$TRASH/twin-$side.conf" || return 1
	done &&
	edge_start twin-a && wait_for 10 "edge_connected twin" &&
	edge_start twin-b && sleep 12 &&
	n=$(duplicates twin) && note "takeovers in 12 s: $n" &&
	test "$n" -ge 2 && test "$n" -le 10 &&
	grep -q "edge .twin. connected from .* while already connected from" "$TRASH/relay.log" &&
	grep -q "another process connected as edge .twin. (two edges with one name?)" "$TRASH/edge-twin-a.log" &&
	grep -q "another process connected as edge .twin. (two edges with one name?)" "$TRASH/edge-twin-b.log" &&
	pid=$(cat "$TRASH/edge-twin-b.pid") && kill $pid && { wait $pid 2>/dev/null; true; } &&
	wait_for 40 "edge_connected twin" &&
	n=$(duplicates twin) && sleep 3 && test "$(duplicates twin)" = "$n" && edge_connected twin
'

test_expect_success 'revoking a key cuts its live connection at once, and it stays out' '
	edgepy auth "$URL" "$(key_get web-2 access_key)" "$(key_get web-2 secret_key)" web-2 --hold 10 >held &
	pid=$! &&
	wait_for 5 "grep -q welcome held" &&
	"$RELAY" keys revoke web-2 -c "$TRASH/relay.conf" >out &&
	grep -q "revoked key .web-2." out &&
	wait $pid &&
	tail -n 1 held >last && test "$(json_get last .closed_by_relay)" = true &&
	grep -q "key .web-2. was revoked: disconnecting" "$TRASH/relay.log" &&
	test_expect_code 1 edgepy auth "$URL" "$(key_get web-2 access_key)" "$(key_get web-2 secret_key)" web-2 >out &&
	grep -q "revoked" out &&
	test_expect_code 2 "$RELAY" keys revoke web-2 -c "$TRASH/relay.conf" 2>err &&
	grep -q "already revoked" err
'

test_expect_success 'a message before auth is refused and the connection closed' '
	edgepy raw "$URL" "{\"type\":\"ping\",\"id\":\"1\"}" >out &&
	grep -q "authenticate first" out && tail -n 1 out | grep -q "\"code\": 1008"
'

test_expect_success 'malformed frames get an error each, then a disconnect; the relay lives' '
	edgepy raw "$URL" "not json" "[]" "{\"type\":\"x y\",\"id\":\"1\"}" "{\"id\":\"2\"}" >out &&
	test "$(grep -c "\"bad_frame\"" out)" -ge 3 &&
	grep -q "too many malformed or oversized frames" out &&
	tail -n 1 out | grep -q "\"code\": 1008" &&
	kill -0 "$(cat "$TRASH/relay.pid")" && edge_connected web-1
'

test_expect_success 'an oversized frame gets too_large without being buffered; the relay lives' '
	edgepy raw "$URL" "@big:200000" >out &&
	grep -q "\"too_large\"" out && grep -q "exceeds the limit of 65536 bytes" out &&
	kill -0 "$(cat "$TRASH/relay.pid")" &&
	"$EDGE" connect -c "$TRASH/web-1.conf" --call heartbeat >/dev/null
'

test_expect_success 'ongrid-edge status shows the tunnel up, with its relay' '
	"$EDGE" status -c "$TRASH/web-1.conf" >st &&
	grep -q "^tunnel      up since 20[0-9-]*T[0-9:.]*Z (relay wss://127.0.0.1:$PORT/)$" st &&
	"$EDGE" status -c "$TRASH/web-1.conf" --json >st.json &&
	test "$(json_get st.json .tunnel.state)" = up &&
	test "$(json_get st.json .tunnel.pid)" = "$(cat "$TRASH/edge-web-1.pid")"
'

test_expect_success 'the edge reconnects by itself after the relay restarts; status says why it was down' '
	relay_kill9 &&
	wait_for 15 "\"$EDGE\" status -c \"$TRASH/web-1.conf\" >st && grep -q \"^tunnel      \\(down\\|connecting\\) (relay .*); last error: .\" st" ||
		{ cat st; relay_start; false; } &&
	relay_start &&
	wait_for 15 "edge_connected web-1" &&
	grep -q "retrying in" "$TRASH/edge-web-1.log" &&
	wait_for 5 "\"$EDGE\" status -c \"$TRASH/web-1.conf\" | grep -q \"^tunnel      up since\""
'

test_expect_success 'a stopped or killed connect reads as stopped' '
	pid=$(cat "$TRASH/edge-web-1.pid") &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	"$EDGE" status -c "$TRASH/web-1.conf" >st &&
	{ grep -q "^tunnel      stopped (relay .*): the connect process is gone" st || { cat st; false; }; } &&
	edge_start web-1 && pid=$(cat "$TRASH/edge-web-1.pid") &&
	wait_for 15 "\"$EDGE\" status -c \"$TRASH/web-1.conf\" --json >st.json && test \"\$(json_get st.json .tunnel.pid)\" = $pid && test \"\$(json_get st.json .tunnel.state)\" = up" &&
	kill $pid && { wait $pid 2>/dev/null; true; } &&
	wait_for 5 "\"$EDGE\" status -c \"$TRASH/web-1.conf\" --json >st.json && test \"\$(json_get st.json .tunnel.state)\" = stopped" &&
	"$EDGE" status -c "$TRASH/web-1.conf" | grep -q "^tunnel      stopped (relay" &&
	! "$EDGE" status -c "$TRASH/web-1.conf" | grep -q "connect process is gone"
'

test_done
