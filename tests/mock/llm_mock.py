#!/usr/bin/python3
"""llm_mock.py - one local server that speaks three LLM wire formats, for tests.

Written from shared/reference/protocols.md (sections 0, 4, 5, 6, 7), never from the
relay's C code, so a misreading on one side cannot agree with itself.

  POST .../chat/completions                        OpenAI Chat Completions (+ compatibles)
  POST .../v1/messages                             Anthropic Messages
  POST .../models/MODEL:generateContent            Gemini
  POST .../models/MODEL:streamGenerateContent?alt=sse
  GET  /_requests                                  every request received, as JSON
  POST /_script                                    replace the script (JSON body)
  POST /_reset                                     forget the requests received

Usage: llm_mock.py --port-file FILE [--script FILE] [--log FILE]

The script is JSON: {"rules": [RULE, ...], "prefix": "/gw/v1"}. With "prefix", API paths
outside it get a 404 "Unknown path" (a gateway mounted under a path). A request uses the first rule whose
"provider" ("openai" | "anthropic" | "gemini") and "model" (exact, or absent = any)
match. A rule holds
  "steps": [STEP, ...]   consumed one per request; the last one repeats
and switches that model a real server's behaviour:
  "reject_params": ["max_tokens", "temperature", "max_completion_tokens",
                    "stream_options", "tool_choice", "top_p"]
        a request carrying one gets the provider's 400 for it (no step is used);
        "tool_choice" rejects any value except "auto" (Zhipu);
  "strict_schema": true    Gemini: parameters with additionalProperties/$schema -> 400
  "require_reasoning_back": true   DeepSeek/Kimi: an assistant tool-call turn without
        reasoning_content -> 400
  "reasoning_field": "reasoning_content" | "reasoning"   (OpenAI-compatible streams)
  "whole_tool_calls": true   a streamed tool call arrives in one chunk (Ollama, GLM)
  "keepalive": true          ": keep-alive" SSE comments before the first event
  "error_style": "openai" | "vllm_old" | "ollama" | "zhipu"
A STEP is one of
  {"type": "text", "text": "...", "reasoning": "...", "usage": [in, out]}
  {"type": "tool_call", "name": "...", "arguments": {...}, "id": "...", "text": "...",
   "signature": "..." (Gemini thoughtSignature / Anthropic thinking signature)}
  {"type": "error", "status": 429, "retry_after": "1", "retry_after_ms": "200",
   "should_retry": "false", "code": "insufficient_quota"}
  {"type": "midstream_error", "text_before": "..."}  (streamed requests only)
  {"type": "hang", "seconds": 5}                     (say nothing, then close)
with an optional "delay_ms" before answering.
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"script": {"rules": []}, "requests": [], "pos": {}, "log": None}


def log(msg):
    if STATE["log"]:
        with open(STATE["log"], "a") as f:
            f.write(msg + "\n")


def find_rule(provider, model):
    for i, r in enumerate(STATE["script"].get("rules", [])):
        if r.get("provider", provider) != provider:
            continue
        if "model" in r and r["model"] != model:
            continue
        return i, r
    return None, None


def next_step(idx, rule):
    steps = rule.get("steps") or [{"type": "text", "text": "ok"}]
    with LOCK:
        p = STATE["pos"].get(idx, 0)
        STATE["pos"][idx] = p + 1
    return steps[min(p, len(steps) - 1)]


# ---------------------------------------------------------------- error bodies

def openai_error(style, status, message, etype, param=None, code=None):
    if style == "vllm_old":
        return {"object": "error", "message": message, "type": etype, "param": param,
                "code": status}
    if style == "ollama":
        return {"error": message}
    if style == "zhipu":
        return {"error": {"code": code or "1214", "message": message}}
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def anthropic_error(etype, message):
    return {"type": "error", "error": {"type": etype, "message": message},
            "request_id": "req_011CTfrnTsra8hsUuM24BzEC"}


GEMINI_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
                 504: "DEADLINE_EXCEEDED"}
ANTHROPIC_TYPE = {400: "invalid_request_error", 401: "authentication_error",
                  402: "billing_error", 403: "permission_error", 404: "not_found_error",
                  413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                  504: "timeout_error", 529: "overloaded_error"}


def status_error(provider, step, style):
    st = step.get("status", 500)
    if provider == "anthropic":
        t = ANTHROPIC_TYPE.get(st, "api_error")
        msg = {429: "Number of request tokens has exceeded your per-minute rate limit",
               529: "Overloaded"}.get(st, "Internal server error")
        return st, anthropic_error(t, step.get("message", msg))
    if provider == "gemini":
        status = GEMINI_STATUS.get(st, "INTERNAL")
        msg = {429: "Resource has been exhausted (e.g. check quota).",
               503: "The model is overloaded. Please try again later."}.get(
                   st, "An internal error has occurred.")
        err = {"code": st, "message": step.get("message", msg), "status": status}
        if "retry_delay" in step:
            err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                               "retryDelay": step["retry_delay"]}]
        return st, {"error": err}
    if st == 429:
        code = step.get("code", "rate_limit_exceeded")
        msg = ("You exceeded your current quota, please check your plan and billing details."
               if code == "insufficient_quota" else
               "Rate limit reached for requests. Please try again in 1s.")
        return st, openai_error(style, st, step.get("message", msg),
                                "insufficient_quota" if code == "insufficient_quota"
                                else "requests", None, code)
    if st == 401:
        return st, openai_error(style, st, "Incorrect API key provided",
                                "invalid_request_error", None, "invalid_api_key")
    return st, openai_error(style, st, step.get(
        "message", "The server had an error while processing your request."),
        "server_error")


def rejection(provider, rule, body):
    """A 400 for a parameter this model rejects, worded as each provider words it."""
    rej = rule.get("reject_params", [])
    style = rule.get("error_style", "openai")
    if provider == "openai":
        if "max_tokens" in rej and "max_tokens" in body:
            return openai_error(style, 400, "Unsupported parameter: 'max_tokens' is not "
                                "supported with this model. Use 'max_completion_tokens' "
                                "instead.", "invalid_request_error", "max_tokens",
                                "unsupported_parameter")
        if "max_completion_tokens" in rej and "max_completion_tokens" in body:
            # vLLM/pydantic style: unknown fields are forbidden, param not filled.
            return openai_error(style, 400, "[{'type': 'extra_forbidden', 'loc': ('body', "
                                "'max_completion_tokens'), 'msg': 'Extra inputs are not "
                                "permitted'}]", "BadRequestError")
        if "temperature" in rej and "temperature" in body and body["temperature"] != 1:
            return openai_error(style, 400, "Unsupported value: 'temperature' does not "
                                "support %s with this model. Only the default (1) value is "
                                "supported." % body["temperature"], "invalid_request_error",
                                "temperature", "unsupported_value")
        if "top_p" in rej and "top_p" in body:
            return openai_error(style, 400, "Unsupported parameter: 'top_p' is not "
                                "supported with this model.", "invalid_request_error",
                                "top_p", "unsupported_parameter")
        if "stream_options" in rej and "stream_options" in body:
            return openai_error(style, 400, "Unrecognized request argument supplied: "
                                "stream_options", "invalid_request_error")
        if "tool_choice" in rej and body.get("tool_choice", "auto") != "auto":
            return openai_error("zhipu" if style == "openai" else style, 400,
                                "Invalid tool_choice: only \"auto\" is supported",
                                "invalid_request_error", None, "1214")
        if rule.get("require_reasoning_back"):
            for m in body.get("messages", []):
                if m.get("role") == "assistant" and m.get("tool_calls") and \
                        "reasoning_content" not in m:
                    return openai_error(style, 400, "The `reasoning_content` in the "
                                        "thinking mode must be passed back to the API.",
                                        "invalid_request_error")
    elif provider == "anthropic":
        if "temperature" in rej and "temperature" in body and "top_p" in body:
            return anthropic_error("invalid_request_error", "`temperature` and `top_p` "
                                   "cannot both be specified for this model. Please use "
                                   "only one.")
        if "tool_choice" in rej and body.get("tool_choice", {}).get("type", "auto") != "auto":
            return anthropic_error("invalid_request_error", "tool_choice: only auto is "
                                   "supported for this model")
    elif provider == "gemini":
        if rule.get("strict_schema"):
            for t in body.get("tools", []):
                for i, f in enumerate(t.get("functionDeclarations", [])):
                    bad = find_key(f.get("parameters", {}), ("additionalProperties", "$schema"))
                    if bad:
                        return {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                          "message": "Invalid JSON payload received. Unknown "
                                          "name \"%s\" at 'tools[0].function_declarations[%d]"
                                          ".parameters': Cannot find field." % (bad, i)}}
        if "temperature" in rej and "temperature" in body.get("generationConfig", {}):
            return {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                              "message": "temperature is not supported for this model"}}
    return None


def find_key(o, names):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in names:
                return k
            r = find_key(v, names)
            if r:
                return r
    elif isinstance(o, list):
        for v in o:
            r = find_key(v, names)
            if r:
                return r
    return None


def usage_of(step):
    u = step.get("usage", [12, 5])
    return u[0], u[1]


# ---------------------------------------------------------------- OpenAI (§4, §7)

def openai_whole(model, step, rule):
    inp, out = usage_of(step)
    msg = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    finish = "stop"
    if step.get("text") is not None or step["type"] == "text":
        msg["content"] = step.get("text", "")
    if step.get("reasoning"):
        msg[rule.get("reasoning_field", "reasoning_content")] = step["reasoning"]
    if step["type"] == "tool_call":
        msg["tool_calls"] = [{"id": step.get("id", "call_c91SqDXlYFuETYv8mUHzz6pp"),
                              "type": "function",
                              "function": {"name": step["name"],
                                           "arguments": json.dumps(step.get("arguments", {}))}}]
        finish = "tool_calls"
    return {"id": "chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr", "object": "chat.completion",
            "created": 1727346176, "model": model,
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": msg}],
            "usage": {"prompt_tokens": inp, "completion_tokens": out,
                      "total_tokens": inp + out, "prompt_tokens_details": {"cached_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0}},
            "system_fingerprint": "fp_7568d46099", "service_tier": "default"}


def openai_chunks(model, step, rule, include_usage):
    """The data: payloads of a Chat Completions stream (reference §4.3)."""
    base = {"id": "chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr", "object": "chat.completion.chunk",
            "created": 1727346176, "model": model, "system_fingerprint": "fp_7568d46099"}
    usage_null = {"usage": None} if include_usage else {}

    def chunk(delta, finish=None):
        c = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}], **usage_null)
        c["obfuscation"] = "x1"
        return c

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    rf = rule.get("reasoning_field", "reasoning_content")
    if step.get("reasoning"):
        r = step["reasoning"]
        out += [chunk({rf: r[:len(r) // 2]}), chunk({rf: r[len(r) // 2:]})]
    text = step.get("text")
    if text:
        # split in a few pieces, one of them a multi-byte boundary test
        pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
        out += [chunk({"content": p}) for p in pieces]
    finish = "stop"
    if step["type"] == "tool_call":
        args = json.dumps(step.get("arguments", {}))
        cid = step.get("id", "call_c91SqDXlYFuETYv8mUHzz6pp")
        if rule.get("whole_tool_calls"):
            out.append(chunk({"tool_calls": [{"id": cid, "type": "function", "index": 0,
                                              "function": {"name": step["name"],
                                                           "arguments": args}}]}))
        else:
            out.append(chunk({"role": "assistant", "content": None,
                              "tool_calls": [{"index": 0, "id": cid, "type": "function",
                                              "function": {"name": step["name"],
                                                           "arguments": ""}}]}))
            for i in range(0, len(args), 5):
                out.append(chunk({"tool_calls": [{"index": 0,
                                                  "function": {"arguments": args[i:i + 5]}}]}))
        finish = "tool_calls"
    out.append(chunk({}, finish))
    if include_usage:
        inp, o = usage_of(step)
        out.append(dict(base, choices=[], usage={"prompt_tokens": inp, "completion_tokens": o,
                                                 "total_tokens": inp + o,
                                                 "completion_tokens_details":
                                                     {"reasoning_tokens": 0}}))
    return out


# ---------------------------------------------------------------- Anthropic (§5)

def anthropic_blocks(step):
    blocks = []
    if step.get("reasoning"):
        blocks.append({"type": "thinking", "thinking": step["reasoning"],
                       "signature": step.get("signature", "EqQBCgIYAhIM1gbcDa9GJwZA2b3h")})
    if step.get("text") or step["type"] == "text":
        blocks.append({"type": "text", "text": step.get("text", "")})
    if step["type"] == "tool_call":
        blocks.append({"type": "tool_use", "id": step.get("id", "toolu_01NRLabsLyVHZPKxbKvkfSMn"),
                       "name": step["name"], "input": step.get("arguments", {})})
    return blocks


def anthropic_whole(model, step):
    inp, out = usage_of(step)
    return {"id": "msg_019Q1hrJbZG26Fb9BQhrkHEr", "type": "message", "role": "assistant",
            "model": model, "content": anthropic_blocks(step),
            "stop_reason": "tool_use" if step["type"] == "tool_call" else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": inp, "output_tokens": out,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "service_tier": "standard"}}


def anthropic_events(model, step):
    inp, out = usage_of(step)
    ev = [("message_start", {"type": "message_start", "message": {
        "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr", "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": inp, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "output_tokens": 1,
                  "service_tier": "standard"}}})]
    for i, b in enumerate(anthropic_blocks(step)):
        if b["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            ev.append(("ping", {"type": "ping"}))
            t = b["text"]
            for k in range(0, len(t), 9):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "text_delta",
                                                             "text": t[k:k + 9]}}))
        elif b["type"] == "thinking":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "thinking",
                                                                 "thinking": ""}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "thinking_delta",
                                                         "thinking": b["thinking"]}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "signature_delta",
                                                         "signature": b["signature"]}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "tool_use",
                                                                 "id": b["id"],
                                                                 "name": b["name"],
                                                                 "caller": {"type": "direct"},
                                                                 "input": {}}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": ""}}))
            args = json.dumps(b["input"])
            for k in range(0, len(args), 6):
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": args[k:k + 6]}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "tool_use" if step["type"] == "tool_call"
                                           else "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": out}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


# ---------------------------------------------------------------- Gemini (§6)

def gemini_parts(step):
    parts = []
    if step.get("reasoning"):
        parts.append({"text": step["reasoning"], "thought": True})
    if step.get("text") or step["type"] == "text":
        parts.append({"text": step.get("text", "")})
    if step["type"] == "tool_call":
        p = {"functionCall": {"name": step["name"], "args": step.get("arguments", {})}}
        if "id" in step:
            p["functionCall"]["id"] = step["id"]
        if "signature" in step:
            p["thoughtSignature"] = step["signature"]
        parts.append(p)
    return parts


def gemini_response(model, parts, finish, usage):
    cand = {"content": {"role": "model", "parts": parts}, "index": 0, "safetyRatings": []}
    if finish:
        cand["finishReason"] = finish
    r = {"candidates": [cand], "modelVersion": model, "responseId": "mO8uaM-ZN8Ol"}
    if usage:
        r["usageMetadata"] = {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1],
                              "totalTokenCount": usage[0] + usage[1], "thoughtsTokenCount": 0}
    return r


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        if self.path.startswith("/_requests"):
            with LOCK:
                self.send_json(200, STATE["requests"])
            return
        self.send_json(404, {"error": {"message": "not found", "type": "not_found",
                                       "param": None, "code": None}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n) if n else b""
        if self.path.startswith("/_reset"):
            with LOCK:
                STATE["requests"] = []
            self.send_json(200, {"ok": True})
            return
        if self.path.startswith("/_script"):
            with LOCK:
                STATE["script"] = json.loads(raw)
                STATE["pos"] = {}
            self.send_json(200, {"ok": True})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "We could not parse the JSON body of "
                                           "your request.", "type": "invalid_request_error",
                                           "param": None, "code": None}})
            return
        path = self.path.split("?")[0]
        prefix = STATE["script"].get("prefix")
        if prefix and not path.startswith(prefix + "/"):
            with LOCK:
                STATE["requests"].append({"provider": None, "model": None, "path": self.path,
                                          "headers": {}, "body": body, "time": time.time()})
            self.send_json(404, {"error": {"message": "Unknown path %s" % path,
                                           "type": "invalid_request_error", "param": None,
                                           "code": "unknown_url"}})
            return
        if path.endswith("/chat/completions"):
            provider, model = "openai", body.get("model")
        elif path.endswith("/v1/messages"):
            provider, model = "anthropic", body.get("model")
        elif ":generateContent" in path or ":streamGenerateContent" in path:
            provider = "gemini"
            model = path.rsplit("/models/", 1)[-1].split(":")[0]
        else:
            self.send_json(404, {"error": {"message": "Unknown path %s" % path,
                                           "type": "invalid_request_error", "param": None,
                                           "code": "unknown_url"}})
            return
        hdrs = {k.lower(): v for k, v in self.headers.items()
                if k.lower() in ("authorization", "x-api-key", "anthropic-version",
                                 "x-goog-api-key", "content-type", "accept")}
        with LOCK:
            STATE["requests"].append({"provider": provider, "model": model, "path": self.path,
                                      "headers": hdrs, "body": body, "time": time.time()})
        idx, rule = find_rule(provider, model)
        if rule is None:
            rule, idx = {"steps": [{"type": "text", "text": "ok"}]}, -1
        style = rule.get("error_style", "openai")
        rej = rejection(provider, rule, body)
        if rej is not None:
            self.send_json(400, rej)
            return
        step = next_step(idx, rule)
        if step.get("delay_ms"):
            time.sleep(step["delay_ms"] / 1000.0)
        stream = (provider == "gemini" and ":streamGenerateContent" in self.path) or \
            (provider != "gemini" and body.get("stream") is True)
        t = step["type"]
        if t == "hang":
            time.sleep(step.get("seconds", 5))
            self.close_connection = True
            return
        if t == "error":
            st, err = status_error(provider, step, style)
            h = {}
            if "retry_after" in step:
                h["retry-after"] = step["retry_after"]
            if "retry_after_ms" in step:
                h["retry-after-ms"] = step["retry_after_ms"]
            if "should_retry" in step:
                h["x-should-retry"] = step["should_retry"]
            self.send_json(st, err, h)
            return
        if not stream:
            if provider == "openai":
                self.send_json(200, openai_whole(model, step, rule))
            elif provider == "anthropic":
                self.send_json(200, anthropic_whole(model, step))
            else:
                self.send_json(200, gemini_response(model, gemini_parts(step), "STOP",
                                                    usage_of(step)))
            return
        self.start_stream()
        if rule.get("keepalive"):
            self.chunk(": keep-alive\n\n")
        if provider == "openai":
            self.stream_openai(model, step, rule, body)
        elif provider == "anthropic":
            self.stream_anthropic(model, step)
        else:
            self.stream_gemini(model, step)
        self.end_stream()

    def stream_openai(self, model, step, rule, body):
        include = bool(body.get("stream_options", {}).get("include_usage"))
        if step["type"] == "midstream_error":
            if step.get("text_before"):
                s = dict(step, type="text", text=step["text_before"])
                for c in openai_chunks(model, s, rule, False)[:-1]:
                    self.chunk("data: %s\n\n" % json.dumps(c))
            self.chunk("data: %s\n\n" % json.dumps(
                {"error": {"message": "The server had an error while processing your "
                           "request.", "type": "server_error", "param": None, "code": None}}))
            return
        for c in openai_chunks(model, step, rule, include):
            self.chunk("data: %s\n\n" % json.dumps(c))
        self.chunk("data: [DONE]\n\n")

    def stream_anthropic(self, model, step):
        if step["type"] == "midstream_error":
            evs = anthropic_events(model, dict(step, type="text",
                                               text=step.get("text_before", "")))
            for name, data in evs[:1] + (evs[1:4] if step.get("text_before") else []):
                self.chunk("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))
            self.chunk("event: error\ndata: %s\n\n" % json.dumps(
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
            return
        for name, data in anthropic_events(model, step):
            # CRLF line ends on this stream: the parser must accept both.
            self.chunk("event: %s\r\ndata: %s\r\n\r\n" % (name, json.dumps(data)))

    def stream_gemini(self, model, step):
        if step["type"] == "midstream_error":
            if step.get("text_before"):
                r = gemini_response(model, [{"text": step["text_before"]}], None, None)
                self.chunk("data: %s\r\n\r\n" % json.dumps(r))
            # Reference §0.1/§6.3: a bare, multi-line JSON error without "data:".
            self.chunk(json.dumps({"error": {"code": 503, "message": "The model is "
                                             "overloaded. Please try again later.",
                                             "status": "UNAVAILABLE"}}, indent=2) + "\n")
            return
        parts = gemini_parts(step)
        inp, out = usage_of(step)
        text_parts = [p for p in parts if "text" in p]
        other = [p for p in parts if "text" not in p]
        # Text arrives as incremental pieces; a function call arrives whole.
        for p in text_parts:
            t = p["text"]
            for k in range(0, max(len(t), 1), 8):
                q = dict(p, text=t[k:k + 8])
                r = gemini_response(model, [q], None, (inp, 0))
                self.chunk("data: %s\r\n\r\n" % json.dumps(r))
        r = gemini_response(model, other, "STOP", (inp, out))
        self.chunk("data: %s\r\n\r\n" % json.dumps(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--script")
    ap.add_argument("--log")
    a = ap.parse_args()
    if a.script:
        with open(a.script) as f:
            STATE["script"] = json.load(f)
    STATE["log"] = a.log
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
