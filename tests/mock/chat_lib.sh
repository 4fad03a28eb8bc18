# chat_lib.sh - sourced by the t60xx chat scripts after test-lib.sh and relay-lib.sh.
#
#   stub_start NAME [ARGS]   tests/mock/edge_stub.py as edge NAME (a stand-in for the
#                            edge's agent: fixed report, recorded approvals); waits until
#                            the relay lists it. Its requests land in $TRASH/stub.log.
#   stub_log_get EXPR        a Python expression over `d`, the list of what stubs received
#   audit_has EVENT TEXT     an audit row of EVENT whose detail contains TEXT
#   mock_start NAME SCRIPT   a python mock writing its port to $TRASH/NAME.port
#   mock_get NAME PATH FILE  GET http://127.0.0.1:PORT/PATH into FILE
#   mock_post NAME PATH JSON POST JSON to the mock, response on stdout

stub_start() {
	stub_name=$1
	shift
	key_create "$stub_name" dangerous || return 1
	daemon_start "stub-$stub_name" "$PY" "$SRC/tests/mock/edge_stub.py" "$URL" \
		"$(key_get "$stub_name" access_key)" "$(key_get "$stub_name" secret_key)" \
		"$stub_name" --fingerprint "$(key_get "$stub_name" fingerprint)" \
		--log "$TRASH/stub.log" "$@"
	wait_for 15 "edge_connected $stub_name"
}

stub_log_get() {
	"$PY" - "$TRASH/stub.log" "$1" <<'PYEOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
v = eval(sys.argv[2], {"d": d})
print(json.dumps(v) if isinstance(v, (dict, list)) else ("true" if v is True else "false" if v is False else v))
PYEOF
}

audit_has() {
	"$PY" - "$TRASH/relay/relay.sqlite" "$1" "$2" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT detail FROM audit WHERE event = ?", (sys.argv[2],)).fetchall()
sys.exit(0 if any(sys.argv[3] in r[0] for r in rows) else 1)
PYEOF
}

mock_start() {
	mock_name=$1
	mock_script=$2
	shift 2
	rm -f "$TRASH/$mock_name.port"
	daemon_start "$mock_name" "$PY" "$SRC/tests/mock/$mock_script" \
		--port-file "$TRASH/$mock_name.port" "$@"
	wait_for 10 "test -s '$TRASH/$mock_name.port'" || return 1
}

mock_port() {
	head -n1 "$TRASH/$1.port"
}

mock_get() {
	"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
		"http://127.0.0.1:$(mock_port "$1")/$2" >"$3"
}

mock_post() {
	"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST")).read().decode())' \
		"http://127.0.0.1:$(mock_port "$1")/$2" "$3"
}
