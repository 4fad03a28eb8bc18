#!/usr/bin/python3
"""edge_stub.py - a STAND-IN for the edge's investigation agent, for the chat tests (t60xx).

The agent (issue 8) does not exist yet; this stub lets the relay's chat router be tested
end to end over the real tunnel protocol (tests/mock/edgeclient.py, written from
docs/protocol.md). It is NOT the agent: it answers every "investigate" with the same
fixed report in the DESIGN.md report format, after streaming a few progress lines with
"investigate.progress", and answers "approval.decide" by recording the decision, as the
edge's gate (edge/tools/approvals.c) would. Everything it receives is appended to LOG as
one JSON object per line, so tests can check what the relay sent (context, requester,
approvers).

  edge_stub.py URL AK SECRET EDGE --log FILE [--steps N] [--step-delay S]
               [--class CLASS] [--evidence N] [--fingerprint FP]

--evidence N pads the report with N evidence items (to exercise long-message splitting).
Prints {"ready": true} once authenticated; runs until killed.
"""
import argparse
import asyncio
import json
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from edgeclient import EdgeClient  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("ak")
    ap.add_argument("secret")
    ap.add_argument("edge")
    ap.add_argument("--log", required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--step-delay", type=float, default=0.4)
    ap.add_argument("--class", dest="cls", default="dangerous")
    ap.add_argument("--evidence", type=int, default=2)
    ap.add_argument("--fingerprint")
    a = ap.parse_args()
    asyncio.run(run(a))


def record(a, kind, payload):
    with open(a.log, "a") as f:
        f.write(json.dumps({"edge": a.edge, "type": kind, "payload": payload}) + "\n")


async def run(a):
    n = {"inv": 0}
    first = True
    while True:  # reconnect when the relay restarts, as an edge does
        try:
            c = await EdgeClient.connect(a.url, a.ak, a.secret, a.edge,
                                         fingerprint=a.fingerprint)
        except (OSError, ConnectionError, asyncio.TimeoutError) as e:
            if first:
                raise
            print(json.dumps({"reconnect_failed": str(e)}), flush=True)
            await asyncio.sleep(0.5)
            continue
        first = False
        await serve(a, c, n)
        await asyncio.sleep(0.2)


async def serve(a, c, n):
    async def investigate(p):
        record(a, "investigate", p)
        n["inv"] += 1
        for i in range(a.steps):
            await asyncio.sleep(a.step_delay)
            await c.request("investigate.progress",
                            {"incident_id": p["incident_id"],
                             "text": "step %d: checked <metrics> & logs_%d" % (i + 1, i + 1)})
        evidence = [{"id": "e%d" % (i + 1), "agent": "sre", "tool": "query_metrics",
                     "args": {"expr": "rate(errors[5m])"},
                     "finding": "item %d: 5xx rose from 0/s to 40/s at 02:46 (*_[x]_*)" % (i + 1)}
                    for i in range(a.evidence)]
        return {
            "question": p["question"],
            "host": a.edge,
            "planner": "offline",
            "started_at": "2026-11-24T02:47:10Z",
            "duration_ms": 1840,
            "summary": "nginx on %s returns 502 because upstream api <pool> is exhausted & "
                       "queueing (answer %d)" % (a.edge, n["inv"]),
            "root_cause": {"statement": "api worker pool exhausted", "category": "service",
                           "component": "api.service", "confidence": 0.8},
            "evidence": evidence,
            "actions": [{"id": "act-%s-%d" % (a.edge, n["inv"]), "tool": "restart_service",
                         "args": {"unit": "api"}, "class": a.cls, "status": "proposed",
                         "rationale": "restart clears the stuck workers"}],
            "timeline": [{"t_ms": 12, "agent": "coordinator", "event": "dispatch", "detail": {}}],
            "tokens": {"input": 0, "output": 0},
        }

    async def decide(p):
        record(a, "approval.decide", p)
        return {"action_id": p["action_id"], "status":
                "approved" if p["decision"] == "approve" else "denied", "recorded": True}

    async def heartbeats():
        # The relay drops an edge silent for three heartbeat intervals.
        every = c.welcome.get("heartbeat_ms", 15000) / 1000.0 / 2
        while not c.closed.done():
            await asyncio.sleep(every)
            try:
                await c.request("heartbeat", {})
            except Exception:  # noqa: BLE001
                return

    c.handlers["investigate"] = investigate
    c.handlers["approval.decide"] = decide
    hb = asyncio.ensure_future(heartbeats())
    print(json.dumps({"ready": True}), flush=True)
    await c.closed
    hb.cancel()


if __name__ == "__main__":
    main()
