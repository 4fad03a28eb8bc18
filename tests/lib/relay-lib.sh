# relay-lib.sh - helpers for the t5xxx tunnel tests; source after test-lib.sh.
#
#   relay_setup [LISTEN_HOST]      relay.conf on a free port in $TRASH/relay (PORT, URL set)
#   relay_start / relay_kill9      start (waits for "ready") / kill -9 the relay
#   key_create NAME [ROLE]         $TRASH/NAME.key.json from `keys create --json`
#   key_get NAME FIELD             one field of it
#   edge_conf NAME KEY [LINES]     $TRASH/NAME.conf for edge NAME holding key KEY
#   edge_start NAME [ARGS]         `ongrid-edge connect -c NAME.conf ARGS` in the background
#   edge_connected NAME            true when the registry shows NAME connected
#   edgepy ARGS                    tests/mock/edgeclient.py (an independent edge)

relay_setup() {
	# Private copies: these tests restart daemons many times, and a rebuild of build/
	# meanwhile must not swap the binary under a running test.
	mkdir -p "$TRASH/bin"
	cp "$RELAY" "$EDGE" "$TRASH/bin/" || return 1
	RELAY=$TRASH/bin/ongrid-relay
	EDGE=$TRASH/bin/ongrid-edge
	export RELAY EDGE
	PORT=$(free_port)
	RHOST=${1:-127.0.0.1}
	URL="wss://$RHOST:$PORT/"
	mkdir -p "$TRASH/relay"
	cat >"$TRASH/relay.conf" <<EOC
data_dir = "$TRASH/relay";
listen = "$RHOST:$PORT";
log: { level = "debug"; };
edges: { heartbeat = "2s"; max_frame = "64KiB"; max_bad_frames = 3; };
EOC
	export PORT URL
}

relay_start() {
	: >"$TRASH/relay.log.tmp"
	daemon_start relay ${RELAY_WRAP:-} "$RELAY" run -c "$TRASH/relay.conf"
	wait_for 15 'grep -q "ongrid-relay: ready" "$TRASH/relay.log"'
}

relay_kill9() {
	kill -9 "$(cat "$TRASH/relay.pid")" 2>/dev/null
	wait "$(cat "$TRASH/relay.pid")" 2>/dev/null
	rm -f "$TRASH/relay.pid"
	mv "$TRASH/relay.log" "$TRASH/relay.log.$(date +%s%N)" 2>/dev/null
	return 0
}

key_create() {
	"$RELAY" keys create "$1" --role "${2:-safe-read}" --json -c "$TRASH/relay.conf" \
		>"$TRASH/$1.key.json"
}

key_get() {
	json_get "$TRASH/$1.key.json" ".$2"
}

edge_conf() {
	name=$1
	key=$2
	shift 2
	cat >"$TRASH/$name.conf" <<EOC
name = "$name";
data_dir = "$TRASH/$name";
relay: {
  url = "${EDGE_URL:-$URL}";
  access_key = "$(key_get "$key" access_key)";
  secret_key = "$(key_get "$key" secret_key)";
  fingerprint = "$(key_get "$key" fingerprint)";
  labels = [ "env=test", "edge=$name" ];
  backoff_max = "2s";
};
$*
EOC
}

edge_start() {
	name=$1
	shift
	daemon_start "edge-$name" ${EDGE_WRAP:-} "$EDGE" connect -c "$TRASH/$name.conf" "$@"
}

edge_connected() {
	"$RELAY" edges --json -c "$TRASH/relay.conf" >"$TRASH/.edges.json" 2>/dev/null &&
		"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(e["name"] == sys.argv[2] and e["connected"] for e in d) else 1)' \
			"$TRASH/.edges.json" "$1"
}

edgepy() {
	"$PY" "$SRC/tests/mock/edgeclient.py" "$@"
}
