#!/bin/sh
test_description='probe_tcp, probe_http and probe_dns against servers started here on loopback'
. "$(dirname "$0")/../lib/test-lib.sh"

export ONGRID_DATA_DIR="$TRASH/data"
tool() { "$EDGE" tool "$@" --json; }

test_expect_success PYTHON3 'setup: an HTTP server and a DNS responder on 127.0.0.1' '
	mkdir www && echo "healthy" >www/health && mkdir www/boom &&
	HPORT=$(free_port) && echo $HPORT >hport &&
	daemon_start http "$PY" -m http.server --bind 127.0.0.1 --directory www $HPORT &&
	DPORT=$(free_port) && echo $DPORT >dport &&
	cat >dns.py <<-\PYEOF &&
	import socket, struct, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", int(sys.argv[1])))
	while True:
	    q, peer = s.recvfrom(512)
	    tid, flags, qd = struct.unpack("!HHH", q[:6])
	    i = 12
	    labels = []
	    while q[i]:
	        labels.append(q[i + 1:i + 1 + q[i]].decode()); i += q[i] + 1
	    question = q[12:i + 5]
	    name = ".".join(labels)
	    if name == "db.ongrid.test":
	        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton("10.9.8.7")
	        s.sendto(struct.pack("!HHHHHH", tid, 0x8180, 1, 1, 0, 0) + question + ans, peer)
	    else:
	        s.sendto(struct.pack("!HHHHHH", tid, 0x8183, 1, 0, 0, 0) + question, peer)
	PYEOF
	daemon_start dns "$PY" dns.py $DPORT &&
	wait_for 5 "\"$EDGE\" tool probe_tcp \"{\\\"host\\\":\\\"127.0.0.1\\\",\\\"port\\\":$HPORT,\\\"count\\\":1}\" --json | grep -q \"\\\"connected\\\":.*1\"" &&
	sleep 0.3
'

test_expect_success PYTHON3 'probe_tcp: a listening port connects, with handshake times' '
	tool probe_tcp "{\"host\":\"127.0.0.1\",\"port\":$(cat hport),\"count\":3}" >out &&
	test "$(json_get out .evidence.connected)" = 3 &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "accepts connections: 3 of 3 connected"
'

test_expect_success 'probe_tcp: a closed port is refused, not an error' '
	port=$(free_port) &&
	tool probe_tcp "{\"host\":\"127.0.0.1\",\"port\":$port,\"count\":2}" >out &&
	test "$(json_get out .status)" = executed &&
	test "$(json_get out .evidence.connected)" = 0 &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "2 of 2 attempts refused"
'

test_expect_success 'probe_tcp: a name that does not resolve says so' '
	tool probe_tcp "{\"host\":\"no-such-host.invalid\",\"port\":80,\"count\":1}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "does not resolve"
'

test_expect_success PYTHON3 'probe_http: status, body start and timings of a real server' '
	tool probe_http "{\"url\":\"http://127.0.0.1:$(cat hport)/health\"}" >out &&
	test "$(json_get out .evidence.status)" = 200 &&
	test "$(json_get out .evidence.body_start)" = healthy &&
	json_get out "d[\"evidence\"][\"timings\"][\"total_ms\"] > 0" | grep -qx true &&
	tool probe_http "{\"url\":\"http://127.0.0.1:$(cat hport)/missing\"}" >out &&
	test "$(json_get out .evidence.status)" = 404 &&
	json_get out "d[\"evidence\"][\"findings\"]" | grep -q "client error"
'

test_expect_success 'probe_http: a refused connection and a non-HTTP scheme' '
	tool probe_http "{\"url\":\"http://127.0.0.1:$(free_port)/\"}" >out &&
	test "$(json_get out .evidence.ok)" = false &&
	test_expect_code 2 "$EDGE" tool probe_http "{\"url\":\"file:///etc/passwd\"}" 2>err &&
	grep -q "args.url" err
'

test_expect_success PYTHON3 'probe_dns: a server answers A with a TTL, and NXDOMAIN for an unknown name' '
	tool probe_dns "{\"name\":\"db.ongrid.test\",\"server\":\"127.0.0.1\",\"port\":$(cat dport)}" >out &&
	test "$(json_get out .evidence.rcode)" = NOERROR &&
	test "$(json_get out .evidence.answers[0].address)" = 10.9.8.7 &&
	test "$(json_get out .evidence.answers[0].ttl)" = 300 &&
	tool probe_dns "{\"name\":\"nope.ongrid.test\",\"server\":\"127.0.0.1\",\"port\":$(cat dport)}" >out &&
	test "$(json_get out .evidence.rcode)" = NXDOMAIN &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "answered NXDOMAIN"
'

test_expect_success 'probe_dns: a silent server times out' '
	tool probe_dns "{\"name\":\"x.test\",\"server\":\"127.0.0.1\",\"port\":$(free_port),\"timeout_ms\":300}" >out &&
	json_get out "d[\"evidence\"][\"findings\"][0]" | grep -q "did not answer\|could not be sent"
'

test_expect_success 'probe_dns: the system resolver sees /etc/hosts' '
	tool probe_dns "{\"name\":\"localhost\"}" >out &&
	test "$(json_get out .evidence.resolved)" = true &&
	test "$(json_get out .evidence.answers[0].address)" = 127.0.0.1
'

test_done
