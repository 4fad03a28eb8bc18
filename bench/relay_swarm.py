#!/usr/bin/python3
"""relay_swarm.py - N simulated edges against a real `ongrid-relay run` on loopback.

Each simulated edge is tests/mock/edgeclient.py's protocol (TLS, pinned certificate, HMAC
auth, heartbeats at the relay's interval, answers tool.run), all in one asyncio process;
reconnects use the edge's own schedule: exponential from 500 ms, capped at 60 s, each
delay drawn from [d/2, d].

Phases, each printing "NAME VALUE" lines for bench/relay.sh:
  connect   all N edges authenticated                       connect_s
  rest      relay RSS and CPU over REST_S seconds at rest    rss_kib cpu_pct
  latency   edge 0 asks the relay to run "ping" on edge 1, one call at a time, CALLS times:
            the relayed round trip (edge -> relay -> edge -> relay -> edge)  p50_ms p99_ms
  storm     kill -9 the relay, start it again: time until all N are back     storm_s

usage: relay_swarm.py RELAY_BIN WORKDIR [--edges N] [--rest S] [--calls N]
"""
import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "mock"))
import edgeclient  # noqa: E402


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Swarm:
    def __init__(self, relay_bin, work, n):
        self.relay_bin = relay_bin
        self.work = work
        self.n = n
        self.port = free_port()
        self.url = "wss://127.0.0.1:%d/" % self.port
        self.conf = os.path.join(work, "relay.conf")
        self.keys = []
        self.clients = [None] * n
        self.up = asyncio.Event()
        self.nup = 0
        self.proc = None

    def setup(self):
        os.makedirs(os.path.join(self.work, "data"), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write('data_dir = "%s/data";\nlisten = "127.0.0.1:%d";\nlog: { level = "warn"; };\n'
                    % (self.work, self.port))
        out = subprocess.run([self.relay_bin, "keys", "create", "bench-0", "--json", "-c", self.conf],
                             check=True, capture_output=True, text=True).stdout
        k0 = json.loads(out)
        self.fingerprint = k0["fingerprint"]
        self.keys.append((k0["access_key"], k0["secret_key"]))
        # The other keys go straight into relay.sqlite, derived exactly as keys.c does
        # (shared/auth.h): 999 process starts would only slow the setup down.
        db = sqlite3.connect(os.path.join(self.work, "data", "relay.sqlite"))
        now = int(time.time() * 1000)
        rows = []
        for i in range(1, self.n):
            ak = "ogk_" + os.urandom(12).hex()
            sk = "ogs_" + os.urandom(32).hex()
            ver = hmac.new(sk.encode(), b"ongrid-edge-key-v1", hashlib.sha256).hexdigest()
            rows.append(("bench-%d" % i, ak, ver, "safe-read", now))
            self.keys.append((ak, sk))
        db.executemany("INSERT INTO keys(name, access_key, verifier, role, created_ms) VALUES (?,?,?,?,?)", rows)
        db.commit()
        db.close()

    def start_relay(self):
        self.proc = subprocess.Popen([self.relay_bin, "run", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "ongrid-relay: ready" in line:
                break
        # keep draining stderr so the relay never blocks on a full pipe
        asyncio.get_event_loop().run_in_executor(None, lambda p=self.proc: [None for _ in p.stderr])

    def kill_relay(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def edge(self, i):
        ak, sk = self.keys[i]
        attempt = 0
        while True:
            try:
                c = await edgeclient.EdgeClient.connect(self.url, ak, sk, "bench-%d" % i,
                                                        fingerprint=self.fingerprint)
            except Exception:
                d = min(60000, 500 * 2 ** attempt)
                attempt = min(attempt + 1, 16)
                await asyncio.sleep(random.uniform(d / 2, d) / 1000)
                continue
            attempt = 0

            async def tool_run(p, i=i):
                return {"tool": p.get("tool"), "edge": "bench-%d" % i, "pong": True}
            c.handlers["tool.run"] = tool_run
            self.clients[i] = c
            self.nup += 1
            if self.nup == self.n:
                self.up.set()
            hb = asyncio.ensure_future(self.heartbeats(c))
            await c.closed
            hb.cancel()
            self.clients[i] = None
            self.nup -= 1

    async def heartbeats(self, c):
        interval = c.hello.get("heartbeat_ms", 15000) / 1000
        try:
            while True:
                await asyncio.sleep(interval * random.uniform(0.9, 1.0))
                await c.request("heartbeat", {}, deadline_ms=int(interval * 1000))
        except Exception:
            pass


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def run_probe(args):
    import gc
    url, fp, ak0, sk0, ak1, sk1, calls = args
    callee = await edgeclient.EdgeClient.connect(url, ak1, sk1, "bench-1", fingerprint=fp)

    async def tool_run(p):
        return {"tool": p.get("tool"), "edge": "bench-1", "pong": True}
    callee.handlers["tool.run"] = tool_run
    caller = await edgeclient.EdgeClient.connect(url, ak0, sk0, "bench-0", fingerprint=fp)
    for _ in range(100):  # warm up
        await caller.request("edge.call", {"target": "bench-1", "tool": "ping"})
    gc.disable()
    lat = []
    for _ in range(int(calls)):
        t = time.perf_counter()
        r = await caller.request("edge.call", {"target": "bench-1", "tool": "ping"})
        lat.append((time.perf_counter() - t) * 1000)
        assert r["pong"], r
    lat.sort()
    print("p50_ms %.3f" % lat[len(lat) // 2], flush=True)
    print("p99_ms %.3f" % lat[int(len(lat) * 0.99) - 1], flush=True)
    os._exit(0)


async def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        return await run_probe(sys.argv[2:])
    ap = argparse.ArgumentParser()
    ap.add_argument("relay_bin")
    ap.add_argument("work")
    ap.add_argument("--edges", type=int, default=1000)
    ap.add_argument("--rest", type=float, default=30)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))

    s = Swarm(a.relay_bin, a.work, a.edges)
    s.setup()
    s.start_relay()
    t0 = time.monotonic()
    tasks = []
    for i in range(a.edges):
        tasks.append(asyncio.ensure_future(s.edge(i)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(s.up.wait(), 300)
    print("connect_s %.3f" % (time.monotonic() - t0), flush=True)

    await asyncio.sleep(5)
    pid = s.proc.pid
    c0, w0 = proc_cpu_ticks(pid), time.monotonic()
    await asyncio.sleep(a.rest)
    c1, w1 = proc_cpu_ticks(pid), time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    print("rss_kib %d" % proc_rss_kib(pid), flush=True)
    print("cpu_pct %.3f" % (100.0 * (c1 - c0) / hz / (w1 - w0)), flush=True)

    # The two edges of the latency probe live in a process of their own, so the other
    # edges' heartbeats in this asyncio loop do not sit in the measured path.
    for i in (0, 1):
        tasks[i].cancel()
        await s.clients[i].close()
    s.n -= 2  # the storm below counts the other edges
    s.nup -= 2
    probe = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "--probe", s.url, s.fingerprint,
        *s.keys[0], *s.keys[1], str(a.calls), stdout=asyncio.subprocess.PIPE)
    out, _ = await probe.communicate()
    sys.stdout.write(out.decode())
    print("rss_after_calls_kib %d" % proc_rss_kib(pid), flush=True)

    s.up.clear()
    s.kill_relay()
    await asyncio.sleep(0.2)  # every edge notices the drop and starts backing off
    t0 = time.monotonic()
    s.start_relay()
    await asyncio.wait_for(s.up.wait(), 600)
    print("storm_s %.3f" % (time.monotonic() - t0), flush=True)
    await asyncio.sleep(10)
    print("rss_after_storm_kib %d" % proc_rss_kib(s.proc.pid), flush=True)
    s.kill_relay()
    for t in tasks:
        t.cancel()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
