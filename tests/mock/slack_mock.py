#!/usr/bin/python3
"""slack_mock.py - Slack's Socket Mode and Web API on loopback for the t60xx tests, written
from shared/reference/protocols.md section 1 (not from relay/chat/slack.c).

Web API (HTTP, first port in --port-file): POST /<method>, Authorization: Bearer TOKEN.
  apps.connections.open  app token (xapp-…) only; returns a fresh single-use
                         ws://127.0.0.1:<ws port>/link/?ticket=N
  auth.test              bot token (xoxb-…): user_id UBOT, bot_id BBOT, team_id T111
  chat.postMessage       recorded; ts returned; checks channel, text/blocks, section ≤ 3,000
  chat.update            recorded on the message; message_not_found for an unknown ts
  Errors are HTTP 200 {"ok": false, "error"}; a method put under /_ratelimit gets HTTP 429
  with Retry-After and {"ok": false, "error": "ratelimited"}.
Socket Mode (WebSocket, second port): a ticket not issued, or used before, is refused;
  hello first; envelopes must be acknowledged with their envelope_id (time recorded).
Control: POST /_event {"type": "events_api"|"interactive", "payload": {...}} sends an
  envelope on the newest socket; POST /_disconnect {"reason"}; POST /_ratelimit
  {"method", "count", "retry_after"}; GET /_log; GET /_messages.
"""
import argparse
import asyncio
import itertools
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets

APP_TOKEN = "xapp-1-A111-test"
BOT_TOKEN = "xoxb-test"

lock = threading.Lock()
state = {"calls": [], "envelopes": {}, "conns": [], "tickets": {}, "limits": {},
         "messages": {}, "frames_in": []}
ticket_seq = itertools.count(1)
ts_seq = itertools.count(1)
LOOP = None
WS_PORT = 0


def live_conns():
    return [c for c in state["conns"] if c["open"]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            if self.path == "/_log":
                return self.reply(200, {"calls": state["calls"],
                                        "envelopes": list(state["envelopes"].values()),
                                        "connections": [{k: v for k, v in c.items() if k != "ws"}
                                                        for c in state["conns"]],
                                        "frames_in": state["frames_in"]})
            if self.path == "/_messages":
                return self.reply(200, state["messages"])
        self.reply(404, {"ok": False, "error": "unknown_method"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path = self.path.lstrip("/")
        ctype = self.headers.get("Content-Type", "")
        try:
            body = json.loads(raw) if raw and ("json" in ctype or path.startswith("_")) else {}
        except ValueError:
            return self.reply(200, {"ok": False, "error": "invalid_json"})
        if path == "_event":
            return self.control_event(body)
        if path == "_disconnect":
            return self.control_send({"type": "disconnect", "reason": body.get("reason", "warning"),
                                      "debug_info": {"host": "applink-mock"}})
        if path == "_ratelimit":
            with lock:
                state["limits"][body["method"]] = [body.get("count", 1), body.get("retry_after", 1)]
            return self.reply(200, {"ok": True})
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        entry = {"method": path, "body": body, "t": time.time(), "token": token[:5]}
        with lock:
            state["calls"].append(entry)
            lim = state["limits"].get(path)
            if lim and lim[0] > 0:
                lim[0] -= 1
                entry["status"] = 429
                return self.reply(429, {"ok": False, "error": "ratelimited"},
                                  {"Retry-After": str(lim[1])})
        entry["status"] = 200
        out = self.method(path, token, body)
        entry["ok"] = out.get("ok")
        self.reply(200, out)

    def method(self, path, token, body):
        if path == "apps.connections.open":
            if token.startswith("xoxb-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            if token != APP_TOKEN:
                return {"ok": False, "error": "invalid_auth"}
            t = str(next(ticket_seq))
            with lock:
                state["tickets"][t] = False
            return {"ok": True, "url": "ws://127.0.0.1:%d/link/?ticket=%s&app_id=A111" %
                    (WS_PORT, t)}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "not_allowed_token_type" if token.startswith("xapp-")
                    else "invalid_auth"}
        if path == "auth.test":
            return {"ok": True, "url": "https://mock.slack.com/", "team": "Testing Workspace",
                    "user": "ongrid", "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT",
                    "is_enterprise_install": False}
        if path == "chat.postMessage":
            err = self.check_message(body)
            if err:
                return {"ok": False, "error": err}
            ts = "1700000000.%06d" % next(ts_seq)
            with lock:
                state["messages"][ts] = {"channel": body["channel"], "thread_ts":
                                         body.get("thread_ts"), "text": body.get("text"),
                                         "blocks": body.get("blocks"), "updates": 0}
            return {"ok": True, "channel": body["channel"], "ts": ts,
                    "message": {"text": body.get("text"), "user": "UBOT", "ts": ts}}
        if path == "chat.update":
            with lock:
                m = state["messages"].get(body.get("ts"))
                if not m or m["channel"] != body.get("channel"):
                    return {"ok": False, "error": "message_not_found"}
            err = self.check_message(body)
            if err:
                return {"ok": False, "error": err}
            with lock:
                m["text"] = body.get("text", m["text"])
                if "blocks" in body:  # omitted blocks are retained, [] removes them
                    m["blocks"] = body["blocks"]
                m["updates"] += 1
            return {"ok": True, "channel": body["channel"], "ts": body["ts"],
                    "text": body.get("text")}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def check_message(b):
        if not b.get("channel"):
            return "channel_not_found"
        if not b.get("text") and not b.get("blocks"):
            return "no_text"
        if len(b.get("text") or "") > 40000:
            return "msg_too_long"
        blocks = b.get("blocks") or []
        if len(blocks) > 50:
            return "invalid_blocks"
        for bl in blocks:
            if bl.get("type") == "section" and len(bl.get("text", {}).get("text", "")) > 3000:
                return "invalid_blocks"
            if bl.get("type") == "actions":
                for e in bl.get("elements", []):
                    if e.get("type") != "button" or not e.get("action_id") or \
                            e.get("text", {}).get("type") != "plain_text":
                        return "invalid_blocks"
        return None

    def control_send(self, frame):
        with lock:
            conns = live_conns()
        if not conns:
            return self.reply(409, {"ok": False, "error": "no_socket"})
        ws = conns[-1]["ws"]
        asyncio.run_coroutine_threadsafe(ws.send(json.dumps(frame)), LOOP).result(5)
        return self.reply(200, {"ok": True, "ticket": conns[-1]["ticket"]})

    def control_event(self, body):
        eid = str(uuid.uuid4())
        frame = {"envelope_id": eid, "type": body.get("type", "events_api"),
                 "accepts_response_payload": False, "payload": body["payload"]}
        if frame["type"] == "events_api":
            frame["retry_attempt"] = body.get("retry_attempt", 0)
            frame["retry_reason"] = ""
        with lock:
            state["envelopes"][eid] = {"envelope_id": eid, "sent": time.time(), "acked": None,
                                       "type": frame["type"]}
        return self.control_send(frame)


async def ws_handler(ws, path=None):
    path = path or getattr(ws, "path", "") or ws.request.path
    ticket = path.split("ticket=")[1].split("&")[0] if "ticket=" in path else ""
    with lock:
        ok = state["tickets"].get(ticket) is False
        if ok:
            state["tickets"][ticket] = True
        conn = {"ticket": ticket, "opened": time.time(), "closed": None, "open": ok, "ws": ws,
                "refused": not ok}
        state["conns"].append(conn)
    if not ok:
        await ws.close(4001, "invalid or used ticket")
        return
    await ws.send(json.dumps({"type": "hello", "num_connections": len(live_conns()),
                              "debug_info": {"host": "applink-mock", "build_number": 10,
                                             "approximate_connection_time": 18060},
                              "connection_info": {"app_id": "A111"}}))
    try:
        async for raw in ws:
            now = time.time()
            with lock:
                state["frames_in"].append(raw if isinstance(raw, str) else raw.decode())
                try:
                    m = json.loads(raw)
                except ValueError:
                    continue
                env = state["envelopes"].get(m.get("envelope_id"))
                if env and env["acked"] is None:
                    env["acked"] = now
                    env["ticket"] = ticket
    except websockets.ConnectionClosed:
        pass
    finally:
        with lock:
            conn["open"] = False
            conn["closed"] = time.time()


async def main_async(a):
    global LOOP, WS_PORT
    LOOP = asyncio.get_running_loop()
    server = await websockets.serve(ws_handler, "127.0.0.1", 0, ping_interval=None)
    WS_PORT = server.sockets[0].getsockname()[1]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n%d\n" % (srv.server_address[1], WS_PORT))
    os.rename(a.port_file + ".tmp", a.port_file)
    await asyncio.Future()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
