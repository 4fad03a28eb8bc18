#!/usr/bin/python3
"""telegram_mock.py - a local Telegram Bot API for the t60xx tests, written from the Bot API
documentation (shared/reference/protocols.md section 2), not from relay/chat/telegram.c.

  /bot<TOKEN>/<method>    getMe, getUpdates (long polling, offset semantics), sendMessage,
                          editMessageText, answerCallbackQuery; JSON bodies; wrong token
                          -> 401 {"ok":false,"error_code":401,"description":"Unauthorized"}
  POST /_update           queue an Update (update_id assigned); returns it
  POST /_flood            {"method": M, "count": N, "retry_after": S}: the next N calls of M
                          get 429 with parameters.retry_after = S
  GET  /_log              every call: {"method", "body", "t", "status", "via_proxy"}
  GET  /_messages         the chat's messages by id: {"id": {"text", "chat_id", ...}}

Checks as the real server does: parse_mode HTML must be well formed (only the documented
tags, balanced, entities known) else 400 "Bad Request: can't parse entities: ...";
text is 1-4096 characters after entity parsing (UTF-16 units) else 400 "Bad Request:
message is too long"; an edit with the same text gets 400 "Bad Request: message is not
modified: ..."; callback_data must be 1-64 bytes. A request line with an absolute URL
(a proxy's request) is served too and marked via_proxy.
"""
import argparse
import html.parser
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "123:ABC"
BOT = {"id": 999, "is_bot": True, "first_name": "ongrid", "username": "ongrid_bot"}
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "a", "code",
        "pre", "blockquote", "span"}

lock = threading.Condition()
state = {"updates": [], "next_update": 100000001, "log": [], "flood": {}, "messages": {},
         "next_msg": 500}


class HtmlCheck(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.text = []
        self.error = None

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.error = "unsupported start tag \"%s\"" % tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.error = "can't find end tag corresponding to start tag \"%s\"" % tag
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def handle_entityref(self, name):
        self.error = "unsupported entity"

    def unknown_decl(self, data):
        self.error = "bad markup"


def visible_text(text, parse_mode):
    if parse_mode != "HTML":
        return text, None
    # Telegram accepts only &lt; &gt; &amp; &quot; and numeric references.
    i = 0
    while True:
        i = text.find("&", i)
        if i < 0:
            break
        j = text.find(";", i)
        ent = text[i:j + 1] if j > 0 else ""
        if not (ent in ("&lt;", "&gt;", "&amp;", "&quot;") or ent.startswith("&#")):
            return None, "Bad Request: can't parse entities: unsupported entity at byte %d" % i
        i += 1
    p = HtmlCheck()
    try:
        p.feed(text)
        p.close()
    except Exception as e:  # noqa: BLE001
        return None, "Bad Request: can't parse entities: %s" % e
    if p.error or p.stack:
        return None, "Bad Request: can't parse entities: %s" % (p.error or "unclosed tag")
    return "".join(p.text), None


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, via_proxy = self.local_path()
        if path == "/_log":
            with lock:
                return self.reply(200, state["log"])
        if path == "/_messages":
            with lock:
                return self.reply(200, state["messages"])
        self.api(path, {}, via_proxy)

    def local_path(self):
        p = self.path
        if p.startswith("http://") or p.startswith("https://"):
            return "/" + p.split("/", 3)[3], True
        return p, False

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        path, via_proxy = self.local_path()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.reply(400, {"ok": False, "error_code": 400,
                                    "description": "Bad Request: invalid JSON"})
        if path == "/_update":
            with lock:
                body["update_id"] = state["next_update"]
                state["next_update"] += 1
                state["updates"].append(body)
                lock.notify_all()
            return self.reply(200, body)
        if path == "/_flood":
            with lock:
                state["flood"][body["method"]] = [body.get("count", 1), body.get("retry_after", 1)]
            return self.reply(200, {})
        self.api(path, body, via_proxy)

    def api(self, path, body, via_proxy):
        parts = path.split("/")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = parts[1][3:], parts[2]
        entry = {"method": method, "body": body, "t": time.time(), "via_proxy": via_proxy}
        status, out = self.serve(token, method, body)
        entry["status"] = status
        with lock:
            state["log"].append(entry)
        self.reply(status, out)

    def serve(self, token, method, body):
        if token != TOKEN:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with lock:
            f = state["flood"].get(method)
            if f and f[0] > 0:
                f[0] -= 1
                return 429, {"ok": False, "error_code": 429,
                             "description": "Too Many Requests: retry after %d" % f[1],
                             "parameters": {"retry_after": f[1]}}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method == "getUpdates":
            return self.get_updates(body)
        if method in ("sendMessage", "editMessageText"):
            return self.message(method, body)
        if method == "answerCallbackQuery":
            if not body.get("callback_query_id"):
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: query id is empty"}
            if len(body.get("text", "")) > 200:
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: text is too long"}
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    def get_updates(self, body):
        offset = body.get("offset")
        timeout = min(int(body.get("timeout", 0)), 50)
        deadline = time.time() + timeout
        with lock:
            while True:
                if offset is not None:
                    # Confirmed: every update below offset is forgotten for good.
                    state["updates"] = [u for u in state["updates"] if u["update_id"] >= offset]
                ready = list(state["updates"])
                left = deadline - time.time()
                if ready or left <= 0:
                    break
                lock.wait(min(left, 0.5))
        return 200, {"ok": True, "result": ready[:body.get("limit", 100)]}

    def message(self, method, body):
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: message text is empty"}
        visible, err = visible_text(text, body.get("parse_mode"))
        if err:
            return 400, {"ok": False, "error_code": 400, "description": err}
        if utf16_len(visible) > 4096:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: message is too long"}
        for row in (body.get("reply_markup") or {}).get("inline_keyboard", []):
            for b in row:
                d = b.get("callback_data", "")
                if not 1 <= len(d.encode()) <= 64:
                    return 400, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: BUTTON_DATA_INVALID"}
        with lock:
            if method == "sendMessage":
                mid = state["next_msg"]
                state["next_msg"] += 1
                m = {"message_id": mid, "chat_id": body.get("chat_id"), "text": text,
                     "visible": visible, "reply_to": (body.get("reply_parameters") or {})
                     .get("message_id"), "reply_markup": body.get("reply_markup"), "edits": 0}
                state["messages"][str(mid)] = m
            else:
                m = state["messages"].get(str(body.get("message_id")))
                if not m or m["chat_id"] != body.get("chat_id"):
                    return 400, {"ok": False, "error_code": 400,
                                 "description": "Bad Request: message to edit not found"}
                if m["text"] == text and m["reply_markup"] == body.get("reply_markup"):
                    return 400, {"ok": False, "error_code": 400, "description":
                                 "Bad Request: message is not modified: specified new message "
                                 "content and reply markup are exactly the same as a current "
                                 "content and reply markup of the message"}
                m.update(text=text, visible=visible, reply_markup=body.get("reply_markup"))
                m["edits"] += 1
            result = {"message_id": m["message_id"], "date": int(time.time()),
                      "chat": {"id": m["chat_id"], "type": "supergroup"},
                      "from": BOT, "text": visible}
        return 200, {"ok": True, "result": result}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    __import__("os").rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
