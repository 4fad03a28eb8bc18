/* openai.c - OpenAI Chat Completions and the OpenAI-compatible servers (DeepSeek, Zhipu
 * GLM, Moonshot Kimi, Ollama /v1, vLLM, llama.cpp server) <-> the neutral shape.
 *
 * Wire details: shared/reference/protocols.md §4 (OpenAI) and §7 (compatible servers).
 * The vendors differ in small, known ways; they live in the quirks table below, not in
 * scattered ifs. What an endpoint rejects at run time is learned by the router as
 * LLM_DG_* bits (classify() names the bit, build() applies it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/llm.h"
#include "relay/llm/wire.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

/* What each vendor needs from the start, before any error teaches us more. */
static const struct quirk {
	bool max_completion_tokens; /* official OpenAI: max_tokens is deprecated */
	bool stream_options;        /* honours stream_options.include_usage */
	bool tool_choice_auto_only; /* Zhipu: tool_choice only "auto"; Kimi: send auto */
	bool send_reasoning;        /* reasoning_content must go back on tool-call turns */
	bool temperature_unit;      /* clamp temperature/top_p to [0,1] (Zhipu) */
} quirks[_LLM_VENDOR_MAX] = {
	[LLM_VENDOR_OPENAI] = { .max_completion_tokens = true, .stream_options = true },
	[LLM_VENDOR_GENERIC] = { .stream_options = true },
	[LLM_VENDOR_DEEPSEEK] = { .stream_options = true, .send_reasoning = true },
	[LLM_VENDOR_ZHIPU] = { .tool_choice_auto_only = true, .temperature_unit = true },
	[LLM_VENDOR_MOONSHOT] = { .stream_options = true,
	                          .tool_choice_auto_only = true,
	                          .send_reasoning = true },
	[LLM_VENDOR_OLLAMA] = { .stream_options = true },
	[LLM_VENDOR_VLLM] = { .stream_options = true },
	[LLM_VENDOR_LLAMACPP] = { .stream_options = true },
};

static void openai_normalize(const char *base_url, enum llm_vendor vendor, char *out, size_t outsz)
{
	const char *host = strstr(base_url, "://");
	size_t n;

	(void)vendor;
	str_copy(out, base_url, outsz);
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	if (str_endswith(out, "/chat/completions"))
		out[n -= strlen("/chat/completions")] = '\0';
	/* "https://api.openai.com" and "http://localhost:11434" mean their /v1 (DeepSeek
	 * serves both); a base with any path ("/api/paas/v4") is taken as written. */
	host = host ? host + 3 : out;
	if (!strchr(host, '/') && n + 3 < outsz)
		memcpy(out + n, "/v1", 4);
}

static cJSON *message_json(const struct llm_message *m, const struct llm_endpoint *ep,
                           bool send_reasoning)
{
	static const char *const roles[_LLM_ROLE_MAX] = { "system", "user", "assistant", "tool" };
	cJSON *o = json_obj();

	json_add_str(o, "role", roles[m->role]);
	if (m->role == LLM_ROLE_TOOL) {
		json_add_str(o, "tool_call_id", m->tool_call_id);
		json_add_str(o, "content", m->text ? m->text : "");
		return o;
	}
	if (m->text)
		json_add_str(o, "content", m->text);
	else
		json_add(o, "content", cJSON_CreateNull());
	if (m->role != LLM_ROLE_ASSISTANT)
		return o;
	/* DeepSeek/Kimi thinking: the reasoning of a tool-call turn must be sent back;
	 * Ollama calls the field "reasoning" but does not require it back. */
	if (m->reasoning && m->ncalls && send_reasoning)
		json_add_str(o, "reasoning_content", m->reasoning);
	if (m->ncalls) {
		cJSON *calls = json_arr();
		for (size_t i = 0; i < m->ncalls; i++) {
			cJSON *c = json_obj(), *f = json_obj();
			json_add_str(c, "id", m->calls[i].id);
			json_add_str(c, "type", "function");
			json_add_str(f, "name", m->calls[i].name);
			json_add_str(f, "arguments", m->calls[i].args ? m->calls[i].args : "{}");
			json_add(c, "function", f);
			json_push(calls, c);
		}
		json_add(o, "tool_calls", calls);
	}
	(void)ep;
	return o;
}

static cJSON *tool_choice_json(const char *choice, bool auto_only)
{
	cJSON *o, *f;

	if (auto_only)
		return cJSON_CreateString("auto");
	if (!strcmp(choice, "auto") || !strcmp(choice, "none") || !strcmp(choice, "required"))
		return cJSON_CreateString(choice);
	o = json_obj();
	f = json_obj();
	json_add_str(o, "type", "function");
	json_add_str(f, "name", choice);
	json_add(o, "function", f);
	return o;
}

static int openai_build(const struct llm_endpoint *ep, const struct llm_request *req,
                        struct llm_http_req *out, struct diag *d)
{
	const struct quirk *q = &quirks[ep->vendor < _LLM_VENDOR_MAX ? ep->vendor : 0];
	unsigned dg = ep->downgrades;
	bool completion = q->max_completion_tokens != !!(dg & LLM_DG_SWAP_MAX_TOKENS);
	bool send_reasoning = q->send_reasoning || (dg & LLM_DG_SEND_REASONING);
	int64_t max_tokens = req->max_tokens ? req->max_tokens : ep->default_max_tokens;
	cJSON *body = json_obj(), *msgs = json_arr();

	json_add_str(body, "model", ep->model);
	for (size_t i = 0; i < req->nmsgs; i++)
		json_push(msgs, message_json(&req->msgs[i], ep, send_reasoning));
	json_add(body, "messages", msgs);
	if (req->ntools) {
		cJSON *tools = json_arr();
		for (size_t i = 0; i < req->ntools; i++) {
			cJSON *t = json_obj(), *f = json_obj();
			cJSON *params = wire_args_object(req->tools[i].parameters);
			json_add_str(t, "type", "function");
			json_add_str(f, "name", req->tools[i].name);
			if (req->tools[i].description)
				json_add_str(f, "description", req->tools[i].description);
			json_add(f, "parameters", params);
			json_add(t, "function", f);
			json_push(tools, t);
		}
		json_add(body, "tools", tools);
		if (req->tool_choice)
			json_add(body, "tool_choice",
			         tool_choice_json(req->tool_choice,
			                          q->tool_choice_auto_only ||
			                                  (dg & LLM_DG_TOOL_CHOICE_AUTO)));
	}
	if (req->stream) {
		json_add_bool(body, "stream", true);
		if (q->stream_options && !(dg & LLM_DG_NO_STREAM_OPTIONS)) {
			cJSON *so = json_obj();
			json_add_bool(so, "include_usage", true);
			json_add(body, "stream_options", so);
		}
	}
	if (max_tokens > 0 && !(dg & LLM_DG_NO_MAX_TOKENS))
		json_add_num(body, completion ? "max_completion_tokens" : "max_tokens",
		             (double)max_tokens);
	if (dg & LLM_DG_TEMPERATURE_ONE) {
		if (req->temperature >= 0)
			json_add_num(body, "temperature", 1);
	} else if (req->temperature >= 0 && !(dg & LLM_DG_NO_TEMPERATURE)) {
		double t = req->temperature;
		json_add_num(body, "temperature", q->temperature_unit && t > 1 ? 1 : t);
	}
	if (req->top_p >= 0 && !(dg & LLM_DG_NO_TOP_P))
		json_add_num(body, "top_p", req->top_p);
	if (req->reasoning_effort && !(dg & LLM_DG_NO_REASONING_EFFORT))
		json_add_str(body, "reasoning_effort", req->reasoning_effort);

	out->url = xasprintf("%s/chat/completions", ep->base_url);
	if (ep->api_key && *ep->api_key)
		llm_http_req_header(out, "Authorization: Bearer %s", ep->api_key);
	llm_http_req_header(out, "Content-Type: application/json");
	llm_http_req_header(out, "Accept: %s",
	                    req->stream ? "text/event-stream" : "application/json");
	out->body = json_print(body, false);
	out->body_len = strlen(out->body);
	cJSON_Delete(body);
	(void)d;
	return 0;
}

static enum llm_stop map_finish(const char *f)
{
	if (!f)
		return LLM_STOP_NONE;
	if (!strcmp(f, "stop"))
		return LLM_STOP_END;
	if (!strcmp(f, "tool_calls") || !strcmp(f, "function_call"))
		return LLM_STOP_TOOL_CALLS;
	if (!strcmp(f, "length"))
		return LLM_STOP_MAX_TOKENS;
	if (!strcmp(f, "content_filter") || !strcmp(f, "sensitive"))
		return LLM_STOP_FILTERED;
	return LLM_STOP_OTHER;
}

static void parse_usage(struct llm_stream *st, const cJSON *u)
{
	const cJSON *cd = wire_obj(u, "completion_tokens_details");
	const cJSON *pd = wire_obj(u, "prompt_tokens_details");

	if (!u)
		return;
	st->usage.input_tokens = wire_int(u, "prompt_tokens");
	st->usage.output_tokens = wire_int(u, "completion_tokens");
	st->usage.reasoning_tokens = cd ? wire_int(cd, "reasoning_tokens") : 0;
	st->usage.cached_tokens =
	        pd ? wire_int(pd, "cached_tokens") : wire_int(u, "prompt_cache_hit_tokens");
}

/* Arguments are a JSON string on the wire (OpenAI) but an object on some compatible
 * servers (Ollama's native shape leaks through older proxies): accept both. */
static int add_args(struct llm_stream_call *c, const cJSON *args)
{
	if (cJSON_IsString(args))
		return buf_adds(&c->args, args->valuestring);
	if (cJSON_IsObject(args)) {
		char *s = json_print(args, false);
		int r = buf_adds(&c->args, s);
		free(s);
		return r;
	}
	return 0;
}

static int parse_calls(struct llm_stream *st, const cJSON *calls, bool whole)
{
	const cJSON *c;
	int pos = 0;

	cJSON_ArrayForEach(c, calls) {
		const cJSON *f = wire_obj(c, "function");
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
		/* Ollama and Zhipu send whole calls without an index: use the position. */
		/* A hostile index (negative, huge, NaN) is no index at all. */
		int index = cJSON_IsNumber(idx) && !whole && idx->valuedouble >= 0 &&
		                            idx->valuedouble < 1e6
		                    ? (int)idx->valuedouble
		                    : pos;
		struct llm_stream_call *sc;
		const char *id = wire_str(c, "id"), *name = f ? wire_str(f, "name") : NULL;

		pos++;
		if (whole)
			index = (int)st->ncalls;
		sc = llm_stream_call(st, index);
		if (!sc)
			return -E2BIG;
		if (id && *id && !sc->id)
			sc->id = xstrdup(id);
		if (name && *name && !sc->name)
			sc->name = xstrdup(name);
		if (f && add_args(sc, cJSON_GetObjectItemCaseSensitive(f, "arguments")) < 0)
			return -E2BIG;
	}
	return 0;
}

static void error_from_json(const cJSON *e, struct llm_error *ret)
{
	const char *msg = cJSON_IsString(e) ? e->valuestring : wire_str(e, "message");
	const char *type = wire_str(e, "type");

	wire_msg(ret->msg, sizeof(ret->msg), msg ? msg : "unknown error");
	/* Mid-stream errors are server trouble unless they say the request was bad. */
	ret->retryable = !(type && strstr(type, "invalid_request"));
}

static int openai_parse(struct llm_stream *st, const char *event, const char *data, size_t len,
                        llm_emit_fn *emit, void *udata, struct diag *d)
{
	const cJSON *choices, *ch, *delta, *err;
	cJSON *j;
	int r = 0;

	(void)event;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		st->done = true;
		return 0;
	}
	j = json_parse(data, len,
	               ONGRID_SSE_MAX_EVENT_BYTES > ONGRID_LLM_MAX_RESPONSE_BYTES
	                       ? ONGRID_SSE_MAX_EVENT_BYTES
	                       : ONGRID_LLM_MAX_RESPONSE_BYTES,
	               d);
	if (!j)
		return diag_prefix(d, "openai: ");
	if (!cJSON_IsObject(j)) {
		r = diag_set(d, -EPROTO, "openai: expected a JSON object");
		goto out;
	}
	err = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (err && !cJSON_IsNull(err)) {
		st->failed = true;
		error_from_json(err, &st->err);
		goto out;
	}
	if (wire_str(j, "object") && !strcmp(wire_str(j, "object"), "error")) {
		st->failed = true;
		error_from_json(j, &st->err);
		goto out;
	}
	parse_usage(st, wire_obj(j, "usage"));
	choices = wire_arr(j, "choices");
	if (!choices) {
		if (!wire_obj(j, "usage"))
			r = diag_set(d, -EPROTO, "openai: a chunk without choices or usage");
		goto out;
	}
	ch = cJSON_GetArrayItem(choices, 0);
	if (!ch)
		goto out; /* the include_usage chunk: choices is [] */
	delta = wire_obj(ch, event ? "delta" : "message");
	if (delta) {
		const char *text = wire_str(delta, "content");
		const char *reas = wire_str(delta, "reasoning_content");
		const cJSON *calls = wire_arr(delta, "tool_calls");
		if (!reas)
			reas = wire_str(delta, "reasoning"); /* Ollama, newer vLLM */
		if (reas)
			r = llm_stream_text(st, LLM_DELTA_REASONING, reas, strlen(reas), emit,
			                    udata);
		if (r == 0 && text)
			r = llm_stream_text(st, LLM_DELTA_TEXT, text, strlen(text), emit, udata);
		if (r == 0 && calls)
			r = parse_calls(st, calls, !event);
		if (r < 0) {
			r = diag_set(d, r, "openai: response exceeds the limits");
			goto out;
		}
	}
	if (wire_str(ch, "finish_reason"))
		st->stop = map_finish(wire_str(ch, "finish_reason"));
	if (!event)
		st->done = true; /* a whole (non-streamed) body */
out:
	cJSON_Delete(j);
	return r;
}

/* Does the message say that this parameter is the problem? Compatible servers rarely
 * fill error.param, so the message is the fallback (§4.5). */
static bool names(const char *param, const char *msg, const char *what)
{
	return (param && !strcmp(param, what)) || wire_has(msg, what);
}

static unsigned downgrade_for(const char *param, const char *msg, unsigned cur,
                              enum llm_vendor vendor)
{
	const struct quirk *q = &quirks[vendor < _LLM_VENDOR_MAX ? vendor : 0];
	bool completion = q->max_completion_tokens != !!(cur & LLM_DG_SWAP_MAX_TOKENS);
	const char *sent = completion ? "max_completion_tokens" : "max_tokens";

	if (wire_has(msg, "reasoning_content") &&
	    (wire_has(msg, "passed back") || wire_has(msg, "missing")))
		return LLM_DG_SEND_REASONING;
	if (names(param, msg, "stream_options"))
		return LLM_DG_NO_STREAM_OPTIONS;
	if (names(param, msg, "reasoning_effort"))
		return LLM_DG_NO_REASONING_EFFORT;
	if (names(param, msg, "tool_choice"))
		return LLM_DG_TOOL_CHOICE_AUTO;
	/* "Use 'max_completion_tokens' instead" names both: what matters is which we sent.
	 * "max_tokens" is not a substring of "max_completion_tokens". */
	if ((param && !strcmp(param, sent)) || (!param && wire_has(msg, sent))) {
		if (!(cur & LLM_DG_SWAP_MAX_TOKENS))
			return LLM_DG_SWAP_MAX_TOKENS;
		return LLM_DG_NO_MAX_TOKENS;
	}
	if (names(param, msg, "temperature")) {
		if (wire_has(msg, "only 1") && !(cur & LLM_DG_TEMPERATURE_ONE))
			return LLM_DG_TEMPERATURE_ONE;
		return LLM_DG_NO_TEMPERATURE;
	}
	if (names(param, msg, "top_p"))
		return LLM_DG_NO_TOP_P;
	return 0;
}

static void openai_classify(long status, const char *body, size_t len, unsigned cur,
                            enum llm_vendor vendor, struct llm_error *ret)
{
	cJSON *j = json_parse(body, len, ONGRID_LLM_MAX_ERROR_BYTES, NULL);
	const cJSON *e = wire_obj(j, "error");
	const char *msg = NULL, *param = NULL, *type = NULL, *code = NULL;
	unsigned dg;

	memset(ret, 0, sizeof(*ret));
	if (!e && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "error")))
		msg = wire_str(j, "error"); /* Ollama native: {"error":"..."} */
	if (!e && wire_str(j, "object") && !strcmp(wire_str(j, "object"), "error"))
		e = j; /* old vLLM: the error fields at the top level */
	if (e) {
		msg = wire_str(e, "message");
		param = wire_str(e, "param");
		type = wire_str(e, "type");
		code = wire_str(e, "code"); /* a string (OpenAI, Zhipu) or a number (vLLM) */
	}
	if (msg)
		wire_msg(ret->msg, sizeof(ret->msg), msg);
	else if (len)
		snprintf(ret->msg, sizeof(ret->msg),
		         "HTTP %ld with a body that is not an error "
		         "object",
		         status);
	else
		snprintf(ret->msg, sizeof(ret->msg), "HTTP %ld", status);

	ret->retryable = llm_status_retryable(status);
	/* 429 insufficient_quota is a billing state, not a rate: retrying cannot help.
	 * Zhipu 1113 (arrears) likewise. */
	if ((code && (!strcmp(code, "insufficient_quota") || !strcmp(code, "1113"))) ||
	    (type && !strcmp(type, "insufficient_quota")) ||
	    (type && strstr(type, "exceeded_current_quota"))) {
		ret->retryable = false;
		ret->fatal_for_route = true;
	}
	if (status == 401 || status == 402 || status == 403 || status == 404)
		ret->fatal_for_route = true;
	/* A 404 that is not about the model: the base URL probably lacks (or has one too
	 * many) /v1, as when a gateway fronts the server. Try the other form once. */
	if (status == 404 && !(cur & LLM_DG_PATH_V1) && !wire_has(msg, "model") &&
	    !(code && wire_has(code, "model"))) {
		ret->fatal_for_route = false;
		ret->downgrade = LLM_DG_PATH_V1;
	}
	if ((status == 400 || status == 422) && !ret->fatal_for_route) {
		/* No native tools on this endpoint: we do not emulate them (yet), so the route
		 * cannot serve a tool-using call; another route may. */
		if (wire_has(msg, "does not support tools") || wire_has(msg, "--jinja") ||
		    wire_has(msg, "enable-auto-tool-choice")) {
			ret->fatal_for_route = true;
		} else {
			dg = downgrade_for(param, msg, cur, vendor);
			if (dg && !(cur & dg))
				ret->downgrade = dg;
		}
	}
	/* llama.cpp reports "tools param requires --jinja flag" as a 500. */
	if (status >= 500 && wire_has(msg, "--jinja")) {
		ret->retryable = false;
		ret->fatal_for_route = true;
	}
	cJSON_Delete(j);
}

const struct llm_provider openai_provider = {
	.name = "openai",
	.normalize = openai_normalize,
	.build = openai_build,
	.parse = openai_parse,
	.classify = openai_classify,
};
