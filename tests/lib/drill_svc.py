#!/usr/bin/python3
"""drill_svc.py - the small real service of each drill host (t9900), run as a copy of the
interpreter named web-svc, api-svc or db-svc so the edges see three commands.

  drill_svc.py db  ADDR PORT BROKEN   answers "OK" to every line once it has written a
                                      4 KiB log record into db-data/ next to BROKEN (a
                                      new file renamed over the last: a full disk fails
                                      it, and then it answers "ERR db: ..."); exits 1 at
                                      start while the file BROKEN exists (a bad setting:
                                      a crash loop under its restart loop); its pid goes
                                      to db-svc.pid next to BROKEN
  drill_svc.py api ADDR PORT DB       answers each line by asking DB over one kept
                                      connection: "OK", or "ERR <why>" when db fails
  drill_svc.py web ADDR PORT API      asks API every 0.2 s over one kept connection and
                                      serves drill_requests_total and
                                      drill_request_errors_total on http://ADDR:PORT/metrics

Every service ends when its parent does (a restart loop killed with -9 leaves no orphan).
"""
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

role, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
parent = os.getppid()


def watch_parent():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watch_parent, daemon=True).start()


class Upstream:
    """One kept connection to HOST:PORT; reconnects after a failure."""

    def __init__(self, target):
        host, p = target.rsplit(":", 1)
        self.target = (host, int(p))
        self.sock = None
        self.file = None
        self.lock = threading.Lock()

    def ask(self):
        with self.lock:
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.target, timeout=2)
                    self.file = self.sock.makefile("rb")
                self.sock.sendall(b"GET\n")
                line = self.file.readline().decode().strip()
                if not line:
                    raise OSError("connection closed")
                return line
            except OSError as e:
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
                return "ERR %s:%d: %s" % (self.target[0], self.target[1], e)


def serve_lines(answer):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def client(c):
        f = c.makefile("rb")
        try:
            for _ in iter(f.readline, b""):
                c.sendall((answer() + "\n").encode())
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=client, args=(c,), daemon=True).start()


if role == "db":
    if os.path.exists(sys.argv[4]):
        print("db-svc: cannot open the data directory: %s exists" % sys.argv[4],
              file=sys.stderr)
        sys.exit(1)
    base = os.path.dirname(sys.argv[4])
    wal = os.path.join(base, "db-data", "wal")
    with open(os.path.join(base, "db-svc.pid"), "w") as f:
        f.write("%d\n" % os.getpid())

    def commit():
        try:
            with open(wal + ".tmp", "wb") as f:
                f.write(os.urandom(4096))
            os.replace(wal + ".tmp", wal)
            return "OK"
        except OSError as e:
            return "ERR db: cannot write its log: %s" % e.strerror

    serve_lines(commit)
elif role == "api":
    db = Upstream(sys.argv[4])
    serve_lines(lambda: "OK" if db.ask() == "OK" else "ERR db")
else:
    api = Upstream(sys.argv[4])
    counts = {"requests": 0, "errors": 0}

    def loop():
        while True:
            ok = api.ask() == "OK"
            counts["requests"] += 1
            counts["errors"] += 0 if ok else 1
            time.sleep(0.2)

    class Metrics(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = ("# TYPE drill_requests_total counter\ndrill_requests_total %d\n"
                    "# TYPE drill_request_errors_total counter\n"
                    "drill_request_errors_total %d\n" % (counts["requests"], counts["errors"])).encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    threading.Thread(target=loop, daemon=True).start()
    ThreadingHTTPServer((addr, port), Metrics).serve_forever()
