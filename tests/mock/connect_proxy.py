#!/usr/bin/python3
"""connect_proxy.py - an HTTP proxy on loopback for the chat tests: CONNECT tunnels (what
libwebsockets uses for the Slack Socket Mode socket) and absolute-URI requests (what curl
sends for http:// URLs). Each request is appended to --log as {"kind": "connect"|"forward",
"target": "host:port", "path"}; a connection-scoped keep-alive is honoured for forwards.

  connect_proxy.py --port-file FILE --log FILE
"""
import argparse
import asyncio
import json
import os
import urllib.parse


def record(a, kind, target, path=""):
    with open(a.log, "a") as f:
        f.write(json.dumps({"kind": kind, "target": target, "path": path}) + "\n")


async def pipe(r, w):
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            w.write(b)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            w.close()
        except Exception:  # noqa: BLE001
            pass


async def read_head(r):
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], [l for l in lines[1:] if l]


async def handle(a, cr, cw):
    try:
        while True:
            try:
                line, headers = await read_head(cr)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            method, target, version = line.split(" ", 2)
            if method == "CONNECT":
                record(a, "connect", target)
                host, port = target.rsplit(":", 1)
                ur, uw = await asyncio.open_connection(host, int(port))
                cw.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await cw.drain()
                await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
                return
            u = urllib.parse.urlsplit(target)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            record(a, "forward", u.netloc, path)
            n = 0
            for h in headers:
                if h.lower().startswith("content-length:"):
                    n = int(h.split(":", 1)[1])
            body = await cr.readexactly(n) if n else b""
            ur, uw = await asyncio.open_connection(u.hostname, u.port or 80)
            keep = [h for h in headers if not h.lower().startswith(("proxy-", "connection:"))]
            uw.write(("%s %s %s\r\n" % (method, path, version)).encode("latin-1") +
                     "".join(h + "\r\n" for h in keep + ["Connection: close"]).encode("latin-1") +
                     b"\r\n" + body)
            await uw.drain()
            resp = await ur.read()
            uw.close()
            cw.write(resp)
            await cw.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            cw.close()
        except Exception:  # noqa: BLE001
            pass


async def main_async(a):
    srv = await asyncio.start_server(lambda r, w: handle(a, r, w), "127.0.0.1", 0)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.sockets[0].getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    await srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
