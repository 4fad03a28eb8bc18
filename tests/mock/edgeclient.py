#!/usr/bin/python3
"""edgeclient.py - an independent edge for tests and benchmarks, written from
docs/protocol.md (not from edge/tunnel.c), so a shared misreading cannot agree with itself.

Library: `await EdgeClient.connect(url, access_key, secret, edge_id, fingerprint=None)`,
then `await c.request(type, payload)`; handlers for relay requests in `c.handlers`.

CLI (one JSON line per result on stdout):
  edgeclient.py auth URL AK SECRET EDGE [--fingerprint FP] [--hold SECONDS]
  edgeclient.py raw URL FRAME...            send raw text frames before auth, print replies
  edgeclient.py replay URL AK SECRET EDGE   capture one auth frame, send it on a second
                                            connection, print the relay's answer
  edgeclient.py inflight URL AKA SKA AKB SKB
                                            edges A and B: 50 concurrent edge.call A->B with
                                            shuffled delays, then one past its deadline;
                                            prints a summary (matching, timeout, cancel seen)
  edgeclient.py call URL AK SECRET EDGE TYPE JSON [--times N]
                                            authenticate, send the request N times (same
                                            payload), print each reply
"""
import asyncio
import hashlib
import hmac
import json
import ssl
import sys
import time

import websockets

SUBPROTOCOL = "ongrid-v1"


def derive_key(secret):
    return hmac.new(secret.encode(), b"ongrid-edge-key-v1", hashlib.sha256).digest()


def sign(secret, access_key, edge_id, nonce, ts_ms):
    msg = "ongrid-auth-v1\n%s\n%s\n%s\n%d" % (access_key, edge_id, nonce, ts_ms)
    return hmac.new(derive_key(secret), msg.encode(), hashlib.sha256).hexdigest()


def ssl_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # pinned by fingerprint below
    return ctx


def check_pin(ws, fingerprint):
    if not fingerprint:
        return
    der = ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
    got = "sha256:" + hashlib.sha256(der).hexdigest()
    if got != fingerprint.lower():
        raise RuntimeError("relay certificate %s does not match the pin %s" % (got, fingerprint))


async def open_ws(url, fingerprint=None, **kw):
    args = dict(subprotocols=[SUBPROTOCOL], max_size=None, ping_interval=None, **kw)
    if url.startswith("wss://"):
        args["ssl"] = ssl_context()
    ws = await websockets.connect(url, **args)
    if url.startswith("wss://"):
        check_pin(ws, fingerprint)
    return ws


class RelayError(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class EdgeClient:
    def __init__(self, ws, edge_id):
        self.ws = ws
        self.edge_id = edge_id
        self.next_id = 0
        self.pending = {}
        self.handlers = {}
        self.errors = []
        self.cancelled = []
        self.hello = None
        self.closed = asyncio.get_event_loop().create_future()
        self.reader = None

    @classmethod
    async def connect(cls, url, access_key, secret, edge_id, fingerprint=None, labels=None,
                      version="pyedge", ts_offset_ms=0):
        ws = await open_ws(url, fingerprint)
        c = cls(ws, edge_id)
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        c.hello = hello["payload"]
        ts = int(time.time() * 1000) + ts_offset_ms
        payload = {"access_key": access_key, "edge_id": edge_id, "nonce": c.hello["nonce"],
                   "ts_ms": ts, "mac": sign(secret, access_key, edge_id, c.hello["nonce"], ts),
                   "version": version, "labels": labels or {}}
        c.auth_frame = json.dumps({"type": "auth", "id": "auth", "payload": payload})
        await ws.send(c.auth_frame)
        reply = json.loads(await ws.recv())
        if reply.get("type") != "reply" or not reply.get("ok"):
            await ws.close()
            err = reply.get("error", {})
            raise RelayError(err.get("code", "?"), err.get("message", json.dumps(reply)))
        c.welcome = reply["payload"]
        c.reader = asyncio.ensure_future(c._read())
        return c

    async def _read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                t = m.get("type")
                if t == "reply":
                    fut = self.pending.pop(m.get("id"), None)
                    if fut and not fut.done():
                        fut.set_result(m)
                elif t == "error":
                    self.errors.append(m)
                elif t == "cancel":
                    self.cancelled.append(m.get("id"))
                else:
                    asyncio.ensure_future(self._serve(m))
        except websockets.ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("relay closed the connection"))
            if not self.closed.done():
                self.closed.set_result(True)

    async def _serve(self, m):
        h = self.handlers.get(m["type"])
        if h is None:
            out = {"type": "reply", "id": m["id"], "ok": False,
                   "error": {"code": "unknown_type", "message": "no handler"}}
        else:
            try:
                out = {"type": "reply", "id": m["id"], "ok": True,
                       "payload": await h(m.get("payload", {}))}
            except RelayError as e:
                out = {"type": "reply", "id": m["id"], "ok": False,
                       "error": {"code": e.code, "message": e.message}}
        try:
            await self.ws.send(json.dumps(out))
        except websockets.ConnectionClosed:
            pass

    async def request(self, type_, payload=None, deadline_ms=10000, timeout=None):
        self.next_id += 1
        rid = "p%d" % self.next_id
        fut = asyncio.get_event_loop().create_future()
        self.pending[rid] = fut
        await self.ws.send(json.dumps({"type": type_, "id": rid, "deadline_ms": deadline_ms,
                                       "payload": payload or {}}))
        m = await asyncio.wait_for(fut, timeout or deadline_ms / 1000 + 5)
        if not m.get("ok"):
            raise RelayError(m["error"]["code"], m["error"].get("message", ""))
        return m.get("payload", {})

    async def close(self):
        await self.ws.close()
        if self.reader:
            await self.reader


def out(obj):
    print(json.dumps(obj), flush=True)


async def cmd_auth(args):
    url, ak, secret, edge = args[:4]
    fp = None
    hold = 0.0
    ts_offset = 0
    rest = args[4:]
    while rest:
        if rest[0] == "--ts-offset":
            ts_offset = int(rest[1])
            rest = rest[2:]
        elif rest[0] == "--fingerprint":
            fp = rest[1]
            rest = rest[2:]
        elif rest[0] == "--hold":
            hold = float(rest[1])
            rest = rest[2:]
        else:
            raise SystemExit("unknown option " + rest[0])
    try:
        c = await EdgeClient.connect(url, ak, secret, edge, fingerprint=fp,
                                     ts_offset_ms=ts_offset)
    except RelayError as e:
        out({"ok": False, "code": e.code, "message": e.message})
        return 1
    out({"ok": True, "welcome": c.welcome})
    if hold:
        try:
            await asyncio.wait_for(asyncio.shield(c.closed), hold)
            out({"closed_by_relay": True, "errors": c.errors})
            return 0
        except asyncio.TimeoutError:
            out({"closed_by_relay": False})
    await c.close()
    return 0


async def cmd_raw(args):
    url, frames = args[0], args[1:]
    ws = await open_ws(url)
    out({"hello": json.loads(await ws.recv())["type"]})
    for f in frames:
        if f.startswith("@big:"):  # a request whose payload is N bytes: too big for argv
            f = json.dumps({"type": "ping", "id": "big", "payload": {"x": "a" * int(f[5:])}})
        await ws.send(f)
    try:
        while True:
            out(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    except websockets.ConnectionClosed as e:
        out({"closed": True, "code": e.code})
    except asyncio.TimeoutError:
        out({"closed": False})
    return 0


async def cmd_replay(args):
    url, ak, secret, edge = args[:4]
    c = await EdgeClient.connect(url, ak, secret, edge)
    captured = c.auth_frame
    await c.close()
    ws = await open_ws(url)
    await ws.recv()  # a fresh hello with a fresh nonce
    await ws.send(captured)
    out(json.loads(await ws.recv()))
    try:
        await asyncio.wait_for(ws.recv(), 5)
        await asyncio.wait_for(ws.recv(), 5)
        out({"closed": False})
    except websockets.ConnectionClosed as e:
        out({"closed": True, "code": e.code})
    return 0


async def cmd_call(args):
    url, ak, secret, edge, type_, payload = args[:6]
    times = int(args[7]) if len(args) > 7 and args[6] == "--times" else 1
    c = await EdgeClient.connect(url, ak, secret, edge)
    for _ in range(times):
        try:
            out({"ok": True, "payload": await c.request(type_, json.loads(payload))})
        except RelayError as e:
            out({"ok": False, "code": e.code, "message": e.message})
    await c.close()
    return 0


async def cmd_inflight(args):
    url, aka, ska, akb, skb = args[:5]
    b = await EdgeClient.connect(url, akb, skb, "inflight-b")
    a = await EdgeClient.connect(url, aka, ska, "inflight-a")

    async def slow(p):
        await asyncio.sleep(p["args"]["sleep_ms"] / 1000)
        return {"echo": p["args"]["tag"]}
    b.handlers["tool.run"] = slow
    import random
    tags = ["t%d" % i for i in range(50)]

    async def one(tag):
        r = await a.request("edge.call", {"target": "inflight-b", "tool": "slow",
                                          "args": {"tag": tag, "sleep_ms": random.randint(0, 300)}})
        return r["echo"] == tag
    t0 = time.monotonic()
    ok = await asyncio.gather(*(one(t) for t in tags))
    concurrent_s = time.monotonic() - t0
    t0 = time.monotonic()
    code = None
    try:
        await a.request("edge.call", {"target": "inflight-b", "tool": "slow",
                                      "args": {"tag": "late", "sleep_ms": 3000}}, deadline_ms=500)
    except RelayError as e:
        code = e.code
    timeout_s = time.monotonic() - t0
    await asyncio.sleep(0.3)
    out({"matched": sum(ok), "total": len(tags), "concurrent_s": round(concurrent_s, 3),
         "late_code": code, "late_s": round(timeout_s, 3), "b_cancelled": len(b.cancelled)})
    await a.close()
    await b.close()
    return 0


def main():
    cmds = {"inflight": cmd_inflight, "auth": cmd_auth, "raw": cmd_raw, "replay": cmd_replay, "call": cmd_call}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        raise SystemExit(__doc__)
    sys.exit(asyncio.run(cmds[sys.argv[1]](sys.argv[2:])))


if __name__ == "__main__":
    main()
