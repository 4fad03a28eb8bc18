#!/bin/sh
test_description='install.sh sets up a relay, the relay serves install-edge.sh, one curl command installs and enrols an edge, upgrades keep data, uninstall leaves only kept data (foreground mode, under --root)'
. "$(dirname "$0")/../lib/test-lib.sh"

# A private copy of the build: the scripts install from it, and a rebuild meanwhile
# must not swap a binary under a running test.
mkdir -p "$TRASH/from"
cp "$RELAY" "$EDGE" "$TRASH/from/"
R=$TRASH/root
E=$TRASH/eroot
WSS=$(free_port)
HTTP=$(free_port)
MET=$(free_port)
conf=$R/etc/ongrid/relay.conf
at_exit "sh '$SRC/install/install-edge.sh' --uninstall --root '$E' >/dev/null 2>&1; sh '$SRC/install/install.sh' --uninstall --root '$R' >/dev/null 2>&1"

relay_bin=$R/usr/local/bin/ongrid-relay
edge_bin=$E/usr/local/bin/ongrid-edge

test_expect_success 'the example configurations parse' '
	"$EDGE" config --check -c "$SRC/install/edge.conf.example" &&
	"$RELAY" config --check -c "$SRC/install/relay.conf.example"
'

test_expect_success 'bad options are refused with exit 2 and name the option' '
	test_expect_code 2 sh "$SRC/install/install.sh" --root "$R" --listen nope 2>err &&
	grep -q "listen .nope.: expected HOST:PORT" err &&
	test_expect_code 2 sh "$SRC/install/install.sh" --root "$R" --http-proxy ftp://x 2>err &&
	grep -q "http-proxy .ftp://x." err &&
	test_expect_code 2 sh "$SRC/install/install.sh" --bogus 2>err && grep -q "unknown option" err &&
	test ! -e "$R"
'

test_expect_success 'install.sh installs the relay: binary, commented config, data dir, CA, running in foreground mode' '
	sh "$SRC/install/install.sh" --root "$R" --from "$TRASH/from" --foreground \
		--listen 127.0.0.1:$WSS --http-listen 127.0.0.1:$HTTP --hostname localhost \
		--http-proxy http://127.0.0.1:3128 >out 2>&1 &&
	cat out &&
	test -x "$relay_bin" && test -x "$R/usr/local/share/ongrid/ongrid-edge" &&
	test -f "$R/usr/local/share/ongrid/install-edge.sh" &&
	grep -q "^# Edges dial in here" "$conf" &&
	grep -q "^listen = \"127.0.0.1:$WSS\";" "$conf" &&
	grep -q "^  proxy = \"http://127.0.0.1:3128\";" "$conf" &&
	test "$(grep -c "proxy = \"http://127.0.0.1:3128\"" "$conf")" = 2 &&
	test "$(stat -c %a "$conf")" = 600 &&
	"$relay_bin" config --check -c "$conf" &&
	"$relay_bin" config --json -c "$conf" >cfg.json &&
	test "$(json_get cfg.json "d[\"llm.proxy\"]")" = http://127.0.0.1:3128 &&
	test -f "$R/var/lib/ongrid-relay/ca.key" &&
	test "$(stat -c %a "$R/var/lib/ongrid-relay/server.key")" = 600 &&
	grep -q "fingerprint  sha256:[0-9a-f]\{64\}" out &&
	kill -0 "$(cat "$R/run/ongrid-relay.pid")" &&
	grep -q "HTTP on 127.0.0.1:$HTTP" "$R/var/log/ongrid-relay.log"
'

test_expect_success 'the relay serves the edge installer with its URL, fingerprint and the binary hash filled in' '
	curl -fsS "http://127.0.0.1:$HTTP/install/edge.sh" >edge.sh &&
	fp=$("$relay_bin" enrol --fingerprint -c "$conf") &&
	grep -q "^fingerprint=\"$fp\"" edge.sh &&
	grep -q "^relay_url=\"wss://127.0.0.1:$WSS/\"" edge.sh &&
	grep -q "^base_url=\"http://127.0.0.1:$HTTP\"" edge.sh &&
	grep -q "^edge_sha256=\"$(sha256sum "$TRASH/from/ongrid-edge" | cut -d" " -f1)\"" edge.sh &&
	curl -fsS "http://127.0.0.1:$HTTP/install/ongrid-edge.service" | grep -q "^ExecStart=@BINDIR@/ongrid-edge run -c @CONF@" &&
	curl -fsS "http://127.0.0.1:$HTTP/install/ongrid-edge-tunnel.service" | grep -q "ongrid-edge connect" &&
	curl -fsS "http://127.0.0.1:$HTTP/install/ongrid-edge" -o bin &&
	cmp bin "$TRASH/from/ongrid-edge" &&
	test "$(curl -s -o /dev/null -w %{http_code} "http://127.0.0.1:$HTTP/install/nothing")" = 404 &&
	test "$(curl -s -o /dev/null -w %{http_code} -H "Host: x;rm -rf /" "http://127.0.0.1:$HTTP/install/edge.sh")" = 400
'

test_expect_success 'enrol prints the one command; it installs and enrols an edge that connects' '
	"$relay_bin" enrol web-1 -c "$conf" >enrol.out &&
	cat enrol.out &&
	cmd=$(grep "^curl " enrol.out) &&
	case "$cmd" in "curl -fsSL http://127.0.0.1:$HTTP/install/edge.sh | sh -s -- --name web-1 --access-key ogk_"*) ;; *) false ;; esac &&
	eval "$cmd --root \"$E\" --metrics-listen 127.0.0.1:$MET --foreground" >edge.out 2>&1 &&
	cat edge.out &&
	test -x "$edge_bin" &&
	grep -q "^# This host.s name" "$E/etc/ongrid/edge.conf" &&
	grep -q "^name = \"web-1\";" "$E/etc/ongrid/edge.conf" &&
	test "$(stat -c %a "$E/etc/ongrid/edge.conf")" = 600 &&
	"$edge_bin" config --check -c "$E/etc/ongrid/edge.conf" &&
	wait_for 15 "\"$relay_bin\" edges -c \"$conf\" | grep -q \"^web-1 *yes\"" &&
	"$relay_bin" edges -c "$conf" | grep -q "^web-1 *yes"
'

test_expect_success 'a tool runs on the installed edge through the installed relay' '
	"$edge_bin" connect -c "$E/etc/ongrid/edge.conf" --call edge.call \
		"{\"target\": \"web-1\", \"tool\": \"list_processes\", \"args\": {}}" --json >call.json &&
	test "$(json_get call.json .status)" = executed
'

test_expect_success 'the installed edge investigates with its own store (ongrid-edge investigate)' '
	wait_for 20 "test -S \"$E/run/ongrid/edge.sock\"" &&
	"$edge_bin" investigate "is this host healthy" -c "$E/etc/ongrid/edge.conf" --offline --json >inv.json &&
	json_get inv.json .summary | grep -q . &&
	test "$(json_get inv.json .host)" = web-1
'

test_expect_success 'a question asked at the installed relay is investigated by the installed edge (ongrid-relay ask)' '
	"$relay_bin" ask -c "$conf" web-1 "is this host healthy?" </dev/null >ask.out 2>ask.err &&
	cat ask.out &&
	grep -q "Summary: " ask.out &&
	grep -q "Root cause (" ask.out &&
	"$PY" -c "import sqlite3,sys; n=sqlite3.connect(sys.argv[1]).execute(\"select count(*) from investigations where question = ?\", (\"is this host healthy?\",)).fetchone()[0]; sys.exit(0 if n == 1 else 1)" "$E/var/lib/ongrid/timeline.db"
'

test_expect_success 'a wrong binary hash stops the edge install before anything is written' '
	sed "s/^edge_sha256=\".*\"/edge_sha256=\"$(printf "%064d" 0)\"/" edge.sh >bad.sh &&
	test_expect_code 1 sh bad.sh --access-key ogk_x --secret-key ogs_x --root "$TRASH/bad" 2>err &&
	grep -q "SHA-256 is .*, the relay announced 0000" err &&
	test ! -e "$TRASH/bad/etc"
'

test_expect_success 're-running install.sh upgrades: config and data kept, relay restarted' '
	echo "# my own note" >>"$conf" &&
	keys_before=$("$relay_bin" keys list -c "$conf" | grep -c web-1) &&
	old=$(cat "$R/run/ongrid-relay.pid") &&
	sh "$SRC/install/install.sh" --root "$R" --from "$TRASH/from" --foreground \
		--listen 127.0.0.1:$WSS --http-listen 127.0.0.1:$HTTP >out 2>&1 &&
	grep -q "relay upgraded" out && grep -q "keeping" out &&
	grep -q "^# my own note" "$conf" &&
	test "$("$relay_bin" keys list -c "$conf" | grep -c web-1)" = "$keys_before" &&
	test "$(cat "$R/run/ongrid-relay.pid")" != "$old" && ! kill -0 "$old" 2>/dev/null &&
	wait_for 15 "\"$relay_bin\" edges -c \"$conf\" | grep -q \"^web-1 *yes\""
'

test_expect_success 're-running the edge installer upgrades and keeps edge.conf and data' '
	sh "$R/usr/local/share/ongrid/install-edge.sh" --root "$E" --from "$TRASH/from" \
		--foreground >out 2>&1 &&
	grep -q "keeping" out && grep -q "upgraded" out &&
	grep -q "^name = \"web-1\";" "$E/etc/ongrid/edge.conf" &&
	test -d "$E/var/lib/ongrid"
'

test_expect_success 'uninstall --keep-data leaves only the config and data' '
	sh "$SRC/install/install-edge.sh" --uninstall --keep-data --root "$E" &&
	sh "$SRC/install/install.sh" --uninstall --keep-data --root "$R" &&
	test ! -e "$edge_bin" && test ! -e "$relay_bin" && test ! -e "$R/run/ongrid-relay.pid" &&
	! kill -0 "$old" 2>/dev/null &&
	test -f "$conf" && test -f "$R/var/lib/ongrid-relay/ca.key" &&
	test -f "$E/etc/ongrid/edge.conf" && test -d "$E/var/lib/ongrid" &&
	find "$R" "$E" -type f | grep -v -e "^$R/etc/ongrid/" -e "^$R/var/lib/ongrid-relay/" \
		-e "^$E/etc/ongrid/" -e "^$E/var/lib/ongrid/" -e "^$R/var/log/ongrid-relay.log" \
		-e "^$E/var/log/ongrid-edge" >left || true &&
	test ! -s left
'

test_expect_success 'systemd mode writes units with the installed paths, and systemd-analyze accepts them' '
	S=$TRASH/sroot &&
	sh "$SRC/install/install.sh" --root "$S" --from "$TRASH/from" --systemd --no-start >out 2>&1 &&
	grep -q "unit written to $S/etc/systemd/system/ongrid-relay.service" out &&
	u=$S/etc/systemd/system/ongrid-relay.service &&
	grep -q "^ExecStart=$S/usr/local/bin/ongrid-relay run -c $S/etc/ongrid/relay.conf$" "$u" &&
	grep -q "^User=ongrid$" "$u" && ! grep -q "@" "$u" &&
	grep -q "^  format = \"journal\";" "$S/etc/ongrid/relay.conf" &&
	fp=$("$S/usr/local/bin/ongrid-relay" enrol --fingerprint -c "$S/etc/ongrid/relay.conf") &&
	sh "$SRC/install/install-edge.sh" --root "$S" --from "$TRASH/from" --systemd --no-start \
		--relay wss://127.0.0.1:1/ --fingerprint "$fp" --access-key ogk_1 --secret-key ogs_1 >out 2>&1 &&
	for n in ongrid-edge ongrid-edge-tunnel; do
		grep -q "^ExecStart=$S/usr/local/bin/ongrid-edge " "$S/etc/systemd/system/$n.service" &&
		! grep -q "@" "$S/etc/systemd/system/$n.service" || return 1
	done &&
	if command -v systemd-analyze >/dev/null; then
		systemd-analyze verify --man=no "$u" "$S/etc/systemd/system/ongrid-edge.service" \
			"$S/etc/systemd/system/ongrid-edge-tunnel.service" 2>verify.err ||
		{ cat verify.err; false; }
	fi &&
	sh "$SRC/install/install-edge.sh" --uninstall --root "$S" &&
	sh "$SRC/install/install.sh" --uninstall --root "$S" &&
	find "$S" -type f >left && test ! -s left
'

test_expect_success 'uninstall without --keep-data leaves nothing' '
	sh "$SRC/install/install-edge.sh" --uninstall --root "$E" &&
	sh "$SRC/install/install.sh" --uninstall --root "$R" &&
	find "$R" "$E" -type f >left && test ! -s left
'

test_done
