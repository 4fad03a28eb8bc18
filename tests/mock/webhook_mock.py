#!/usr/bin/python3
"""webhook_mock.py - DingTalk, WeCom and Lark/Feishu group robots on loopback for t6004,
written from shared/reference/protocols.md section 3. Each checks what its real robot
checks and answers in its own envelope:

  POST /robot/send?access_token=TOK&timestamp=MS&sign=S      DingTalk: sign must equal
       urlencode(base64(HMAC-SHA256(SECRET, MS + "\\n" + SECRET))), MS within one hour;
       {"errcode": 0, "errmsg": "ok"} or 310000 "sign not match"
  POST /cgi-bin/webhook/send?key=KEY                          WeCom: markdown.content at
       most 4,096 bytes; errcode 0, or 93000 for a wrong key
  POST /open-apis/bot/v2/hook/TOK                             Lark: body timestamp (s) and
       sign = base64(HMAC-SHA256(key=TS + "\\n" + SECRET, msg="")); {"code": 0} or 19021
  POST /_flood {"robot": "dingtalk|wecom|lark", "count": N}  the next N posts are
       rate-limited (130101 / 45009 / 11232)
  GET  /_log   every post: {"robot", "ok", "code", "body", "query"}

The secrets are fixed: DingTalk "SECdingtalk-secret", Lark "lark-secret", WeCom key "wk-1".
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DING_SECRET = "SECdingtalk-secret"
LARK_SECRET = "lark-secret"
WECOM_KEY = "wk-1"
lock = threading.Lock()
state = {"log": [], "flood": {}}


def b64hmac(key, msg):
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            self.reply(state["log"])

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        u = urllib.parse.urlsplit(self.path)
        # Keep the raw query: the signature must arrive percent-encoded.
        rawq = dict(p.split("=", 1) for p in u.query.split("&") if "=" in p)
        body = json.loads(raw) if raw else {}
        if u.path == "/_flood":
            with lock:
                state["flood"][body["robot"]] = body.get("count", 1)
            return self.reply({})
        if u.path == "/robot/send":
            robot, out = "dingtalk", self.dingtalk(rawq, body)
        elif u.path == "/cgi-bin/webhook/send":
            robot, out = "wecom", self.wecom(rawq, body)
        elif u.path.startswith("/open-apis/bot/v2/hook/"):
            robot, out = "lark", self.lark(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with lock:
            if state["flood"].get(robot, 0) > 0 and out.get("errcode", out.get("code")) == 0:
                state["flood"][robot] -= 1
                out = {"dingtalk": {"errcode": 130101, "errmsg": "send too fast"},
                       "wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
                       "lark": {"code": 11232, "msg": "frequency limited"}}[robot]
            code = out.get("errcode", out.get("code"))
            state["log"].append({"robot": robot, "ok": code == 0, "code": code, "body": body,
                                 "query": rawq, "t": time.time()})
        self.reply(out)

    def dingtalk(self, q, body):
        ts, sign = q.get("timestamp", ""), q.get("sign", "")
        want = urllib.parse.quote_plus(b64hmac(DING_SECRET, ts + "\n" + DING_SECRET))
        if q.get("access_token") != "dt-token":
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600 * 1000 or sign != want:
            return {"errcode": 310000, "errmsg": "sign not match"}
        if body.get("msgtype") != "markdown" or not body.get("markdown", {}).get("text") \
                or not body["markdown"].get("title"):
            return {"errcode": 40035, "errmsg": "missing markdown"}
        return {"errcode": 0, "errmsg": "ok"}

    def wecom(self, q, body):
        if q.get("key") != WECOM_KEY:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        content = body.get("markdown", {}).get("content", "")
        if body.get("msgtype") != "markdown" or not content:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return {"errcode": 0, "errmsg": "ok"}

    def lark(self, body):
        ts, sign = body.get("timestamp", ""), body.get("sign", "")
        if not ts.isdigit() or abs(int(ts) - time.time()) > 3600 or \
                sign != b64hmac(ts + "\n" + LARK_SECRET, ""):
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if body.get("msg_type") != "text" or not body.get("content", {}).get("text"):
            return {"code": 9499, "msg": "Bad Request"}
        return {"code": 0, "msg": "success", "data": {}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
