#!/bin/sh
test_description='LLM calls go through llm.proxy, or the https_proxy/http_proxy variables when it is unset'
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SRC/tests/mock/llm_mock.sh"

# A tiny forward proxy on loopback: absolute-URI requests and CONNECT tunnels, one line
# per request in proxy.log.
cat >proxy.py <<'PYEOF'
import http.client, select, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[2]

def note(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")

class P(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_CONNECT(self):
        note("CONNECT " + self.path)
        host, port = self.path.rsplit(":", 1)
        up = socket.create_connection((host, int(port)))
        self.send_response(200, "Connection established")
        self.end_headers()
        socks = [self.connection, up]
        while True:
            r, _, _ = select.select(socks, [], [], 10)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (up if s is self.connection else self.connection).sendall(data)
    def do_POST(self):
        note("POST " + self.path)
        assert self.path.startswith("http://")
        rest = self.path[len("http://"):]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("proxy-connection", "connection", "host")}
        c.request("POST", "/" + path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = ThreadingHTTPServer(("127.0.0.1", 0), P)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
PYEOF

test_expect_success PYTHON3 'start the mock and the proxy' '
	llm_mock_start &&
	daemon_start proxy "$PY" "$TRASH/proxy.py" "$TRASH/proxy.port" "$TRASH/proxy.log" &&
	wait_for 10 "test -s \"$TRASH/proxy.port\"" &&
	PROXY_PORT=$(cat proxy.port) && : >proxy.log &&
	llm_mock_script "{\"rules\":[{\"provider\":\"openai\",\"steps\":[{\"type\":\"text\",\"text\":\"via proxy\"}]}]}"
'

test_expect_success PYTHON3 'without a proxy setting the call goes direct' '
	llm_conf "" &&
	env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u ALL_PROXY -u all_proxy \
		"$RELAY" llm ask -c relay.conf x >out &&
	echo "via proxy" >expect && test_cmp expect out &&
	test ! -s proxy.log
'

test_expect_success PYTHON3 'llm.proxy sends every call through the proxy' '
	llm_conf "proxy = \"http://127.0.0.1:$PROXY_PORT\";" &&
	"$RELAY" llm ask -c relay.conf x >out &&
	"$RELAY" llm ask -c relay.conf -p summarize x >out2 &&
	test_cmp expect out &&
	test "$(grep -c "^POST http://127.0.0.1:$MOCK_PORT/" proxy.log)" = 2 &&
	grep -q "^POST http://127.0.0.1:$MOCK_PORT/v1/messages" proxy.log
'

test_expect_success PYTHON3 'the standard http_proxy variable is honoured when llm.proxy is unset' '
	: >proxy.log && llm_conf "" &&
	http_proxy=http://127.0.0.1:$PROXY_PORT "$RELAY" llm ask -c relay.conf x >out &&
	test_cmp expect out &&
	test "$(grep -c "^POST " proxy.log)" = 1
'

test_expect_success PYTHON3 'a dead proxy is a retried connection error naming the route' '
	port=$(free_port) &&
	llm_conf "proxy = \"http://127.0.0.1:$port\"; retries = 0;" &&
	test_expect_code 1 "$RELAY" llm ask -c relay.conf -p classify x 2>err &&
	grep -q "gem/gemini-2.5-flash: .*onnect" err
'

test_done
