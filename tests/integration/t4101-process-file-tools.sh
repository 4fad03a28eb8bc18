#!/bin/sh
test_description='list_processes, process_detail, read_file and tail_file on a real sleeping process and real files, allowed and denied'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"

tool() { "$EDGE" tool "$@" --json; }

test_expect_success 'setup: a sleeping process with known files open, a busy one' '
	cp "$(command -v sleep)" "$TRASH/ogsleep$$" &&
	{ "$TRASH/ogsleep$$" 600 7>"$TRASH/held.log" & } &&
	echo $! >sleeper.pid &&
	at_exit "kill $(cat sleeper.pid) 2>/dev/null" &&
	{ "$PY" -c "while True: pass" & } &&
	echo $! >busy.pid &&
	at_exit "kill $(cat busy.pid) 2>/dev/null" &&
	sleep 0.3
'

test_expect_success 'list_processes finds the sleeper by its name, with its pid and state' '
	tool list_processes "{\"match\":\"ogsleep$$\",\"sort\":\"pid\"}" >out &&
	test "$(json_get out "d[\"evidence\"][\"processes\"][0][\"pid\"]")" = "$(cat sleeper.pid)" &&
	test "$(json_get out "d[\"evidence\"][\"processes\"][0][\"state\"]")" = S &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^1 of [0-9]* processes match"
'

test_expect_success 'list_processes sorted by CPU puts the busy loop near the top with its share measured now' '
	tool list_processes "{\"sort\":\"cpu\",\"match\":\"while True\"}" >out &&
	json_get out "[p for p in d[\"evidence\"][\"processes\"] if p[\"pid\"]==$(cat busy.pid)][0][\"cpu_pct\"] > 20" | grep -qx true
'

test_expect_success 'process_detail shows state, limits, the open file and the cgroup' '
	pid=$(cat sleeper.pid) &&
	tool process_detail "{\"pid\":$pid}" >out &&
	test "$(json_get out .status)" = executed &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^pid $pid (ogsleep$$) state S" &&
	json_get out "[f[\"target\"] for f in d[\"evidence\"][\"open_files\"]]" | grep -q "held.log" &&
	json_get out "d[\"evidence\"][\"limits\"][\"Max open files\"][\"soft\"]" | grep -q "^[0-9]" &&
	json_get out "d[\"evidence\"][\"cgroup\"]" | grep -q "::" &&
	! grep -q environ out
'

test_expect_success 'process_detail of a pid that does not exist fails and says so' '
	test_expect_code 1 "$EDGE" tool process_detail "{\"pid\":4194000}" >out &&
	grep -q "no process with pid 4194000" out
'

test_expect_success 'setup: files to read, secrets to refuse' '
	mkdir -p "$TRASH/app" "$TRASH/.ssh" &&
	seq 1 500 | sed "s/^/line /" >"$TRASH/app/app.log" &&
	echo "ERROR disk full" >>"$TRASH/app/app.log" && echo "line 501" >>"$TRASH/app/app.log" &&
	printf "%s\n" "-----BEGIN OPENSSH PRIVATE KEY-----" "abc" >"$TRASH/.ssh/id_ed25519" &&
	ln -s /etc/shadow "$TRASH/app/innocent" &&
	ln -s "$TRASH/.ssh/id_ed25519" "$TRASH/app/key-link"
'

test_expect_success 'read_file reads an allowed file from an offset' '
	tool read_file "{\"path\":\"$TRASH/app/app.log\",\"offset\":7,\"max_bytes\":6}" >out &&
	test "$(json_get out .evidence.content | head -1)" = "line 2" &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "more follows"
'

test_expect_success 'tail_file returns the last lines, and the last matching ones' '
	tool tail_file "{\"path\":\"$TRASH/app/app.log\",\"lines\":2}" >out &&
	json_get out .evidence.content >content &&
	printf "ERROR disk full\nline 501\n\n" >want && test_cmp want content &&
	tool tail_file "{\"path\":\"$TRASH/app/app.log\",\"match\":\"ERROR\"}" >out &&
	test "$(json_get out .evidence.lines)" = 1
'

test_expect_success 'secrets are refused: /etc/shadow, ~/.ssh keys, ../ traversal, symlinks into denied places' '
	for p in /etc/shadow "$TRASH/.ssh/id_ed25519" "$TRASH/app/../.ssh/id_ed25519" \
	         "$TRASH/app/innocent" "$TRASH/app/key-link"; do
		test_expect_code 1 "$EDGE" tool read_file "{\"path\":\"$p\"}" >out || return 1
		grep -q "denied\|refused\|private key" out || { cat out; return 1; }
		test_expect_code 1 "$EDGE" tool tail_file "{\"path\":\"$p\"}" >out || return 1
	done
'

test_expect_success 'a private key after certificates is refused, and one past 64 KiB is withheld from what is shown' '
	cert() { echo "-----BEGIN CERTIFICATE-----"; seq 1 40 | sed "s/.*/MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ/"; echo "-----END CERTIFICATE-----"; } &&
	key() { echo "-----BEGIN PRIVATE KEY-----"; echo "KEYBODY0123456789"; echo "-----END PRIVATE KEY-----"; } &&
	{ cert; cert; cert; key; } >"$TRASH/app/site.crt" &&
	test_expect_code 1 "$EDGE" tool read_file "{\"path\":\"$TRASH/app/site.crt\"}" >out &&
	grep -q "holds a private key" out &&
	{ seq 1 9000 | sed "s/^/log line /"; key; echo "after the key"; } >"$TRASH/app/pasted.log" &&
	tool tail_file "{\"path\":\"$TRASH/app/pasted.log\",\"lines\":4}" >out &&
	json_get out .evidence.content >content &&
	! grep -q KEYBODY content &&
	grep -q "private key withheld" content && grep -q "after the key" content &&
	"$EDGE" tool bash "{\"command\":\"grep -A1 BEGIN $TRASH/app/pasted.log\"}" --json >out &&
	! json_get out .evidence.output | grep -q KEYBODY &&
	json_get out .evidence.output | grep -q "private key withheld"
'

test_expect_success 'tools.read_paths confines reading' '
	ONGRID_TOOLS_READ_PATHS="$TRASH/app" "$EDGE" tool read_file "{\"path\":\"$TRASH/app/app.log\"}" >out &&
	test_expect_code 1 env ONGRID_TOOLS_READ_PATHS="$TRASH/app" "$EDGE" tool read_file "{\"path\":\"/etc/hostname\"}" >out &&
	grep -q "outside" out
'

test_expect_success 'a relative path and a directory are bad input' '
	test_expect_code 1 "$EDGE" tool read_file "{\"path\":\"etc/passwd\"}" >out &&
	grep -q "absolute" out &&
	test_expect_code 1 "$EDGE" tool read_file "{\"path\":\"/etc\"}" >out &&
	grep -q "not a regular file" out
'

test_done
