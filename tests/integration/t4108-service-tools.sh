#!/bin/sh
test_description='service_status and service_logs on a plain process without systemd: processes, ports, restarts, the log file it writes'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
tool() { "$EDGE" tool "$@" --json; }

test_expect_success 'setup: no systemd as PID 1 here' '
	test ! -d /run/systemd/system
'

test_expect_success PYTHON3 'setup: ogwebsvc listens on a port and writes a log file it keeps open' '
	cp "$PY" ogwebsvc && PORT=$(free_port) && echo $PORT >port &&
	cat >svc.py <<-\PYEOF &&
	import socket, sys, time
	log = open(sys.argv[2], "a", buffering=1)
	s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
	for i in range(5):
	    log.write("request %d served in %d ms\n" % (i, 10 + i))
	log.write("ERROR upstream timeout\n")
	time.sleep(120)
	PYEOF
	{ ./ogwebsvc svc.py $PORT "$TRASH/ogwebsvc.log" & } &&
	echo $! >svc.pid && at_exit "kill $(cat svc.pid) 2>/dev/null" &&
	wait_for 5 "grep -q ERROR ogwebsvc.log"
'

test_expect_success PYTHON3 'service_status: running, with its pid, start time and listening port' '
	tool service_status "{\"name\":\"ogwebsvc\"}" >out &&
	test "$(json_get out .evidence.processes[0].pid)" = "$(cat svc.pid)" &&
	test "$(json_get out .evidence.listening[0].port)" = "$(cat port)" &&
	json_get out .evidence.manager | grep -q "plain processes" &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "^ogwebsvc is running: 1 processes (pid $(cat svc.pid) first), up since .*, listening on 1 ports"
'

test_expect_success PYTHON3 'service_logs: the last lines of the log file the process has open' '
	tool service_logs "{\"name\":\"ogwebsvc\",\"lines\":2}" >out &&
	test "$(json_get out .evidence.files[0].path)" = "$TRASH/ogwebsvc.log" &&
	json_get out .evidence.files[0].content >content &&
	printf "request 4 served in 14 ms\nERROR upstream timeout\n\n" >want &&
	test_cmp want content
'

test_expect_success PYTHON3 'service_logs: a log in a denied place is refused, not read' '
	mkdir -p .ssh && cp "$PY" ogsecret &&
	{ ./ogsecret -c "import time; f = open(\"$TRASH/.ssh/x.log\", \"w\"); f.write(\"secret\\n\"); f.flush(); time.sleep(60)" & } &&
	echo $! >sec.pid && at_exit "kill $(cat sec.pid) 2>/dev/null" &&
	wait_for 5 "test -s .ssh/x.log" &&
	tool service_logs "{\"name\":\"ogsecret\"}" >out &&
	json_get out .evidence.files[0].refused | grep -q denied &&
	! grep -q "secret$" out
'

test_expect_success PYTHON3 'service_status: a stopped service is not running' '
	kill $(cat svc.pid) && wait_for 5 "! kill -0 $(cat svc.pid)" &&
	tool service_status "{\"name\":\"ogwebsvc\"}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "ogwebsvc is not running"
'

test_expect_success 'a bad service name is bad input' '
	test_expect_code 2 "$EDGE" tool service_status "{\"name\":\"../etc\"}" 2>err &&
	grep -q "args.name" err
'

test_done
