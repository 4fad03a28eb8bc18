/* gemini.c - Google Gemini generateContent / streamGenerateContent <-> the neutral shape.
 *
 * Wire details: shared/reference/protocols.md §6. Differences that matter: roles are
 * user/model and tool results are user-role functionResponse parts; a function call
 * arrives whole (never fragmented) and may carry no id, so we make one up and never send
 * a made-up id back; thoughtSignature parts must be echoed unchanged; the stream is
 * complete GenerateContentResponse objects and ends when the connection closes; tool
 * parameters are an OpenAPI subset, so JSON-Schema keywords may need stripping.
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

/* Ids we invent for calls that came without one; they are never sent back. */
#define GEMINI_ID_PREFIX "gemini-call-"

static void gemini_normalize(const char *base_url, enum llm_vendor vendor, char *out, size_t outsz)
{
	const char *host;
	char *models;
	size_t n;

	(void)vendor;
	str_copy(out, base_url, outsz);
	models = strstr(out, "/models");
	if (models)
		*models = '\0';
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	/* A bare host means the stable generateContent path, /v1beta. */
	host = strstr(out, "://");
	host = host ? host + 3 : out;
	if (!strchr(host, '/') && n + 8 < outsz)
		memcpy(out + n, "/v1beta", 8);
}

/* The OpenAPI 3.0 subset functionDeclarations.parameters accepts (§6.1). */
static bool schema_key_ok(const char *k)
{
	static const char *const ok[] = {
		"type",     "format",     "description",      "nullable",
		"enum",     "properties", "required",         "items",
		"minItems", "maxItems",   "minimum",          "maximum",
		"title",    "anyOf",      "minLength",        "maxLength",
		"pattern",  "default",    "propertyOrdering",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!strcmp(k, ok[i]))
			return true;
	return false;
}

/* Remove keys outside the subset, recursing into sub-schemas. Depth is bounded by
 * json_parse()'s ONGRID_JSON_MAX_DEPTH. Under "properties" the keys are property names,
 * not keywords, so only their values are cleaned. */
static void strip_schema(cJSON *s, bool names) /* NOLINT(misc-no-recursion) */
{
	cJSON *c = s ? s->child : NULL;

	while (c) {
		cJSON *next = c->next;
		if (!names && cJSON_IsObject(s) && c->string && !schema_key_ok(c->string)) {
			cJSON_Delete(cJSON_DetachItemViaPointer(s, c));
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			bool props = c->string && !names && !strcmp(c->string, "properties");
			strip_schema(c, props); /* NOLINT(misc-no-recursion) */
		}
		c = next;
	}
}

static cJSON *turn(cJSON *contents, const char *role)
{
	cJSON *last = cJSON_GetArrayItem(contents, cJSON_GetArraySize(contents) - 1);
	cJSON *m, *parts;

	if (last && !strcmp(wire_str(last, "role"), role))
		return cJSON_GetObjectItemCaseSensitive(last, "parts");
	m = json_obj();
	parts = json_arr();
	json_add_str(m, "role", role);
	json_add(m, "parts", parts);
	json_push(contents, m);
	return parts;
}

static void add_message(cJSON *contents, const struct llm_message *m)
{
	cJSON *parts, *p, *fc, *resp;

	switch (m->role) {
	case LLM_ROLE_USER:
		p = json_obj();
		json_add_str(p, "text", m->text ? m->text : "");
		json_push(turn(contents, "user"), p);
		break;
	case LLM_ROLE_ASSISTANT:
		parts = turn(contents, "model");
		if (m->text && *m->text) {
			p = json_obj();
			json_add_str(p, "text", m->text);
			json_push(parts, p);
		}
		for (size_t i = 0; i < m->ncalls; i++) {
			p = json_obj();
			fc = json_obj();
			json_add_str(fc, "name", m->calls[i].name);
			json_add(fc, "args", wire_args_object(m->calls[i].args));
			if (m->calls[i].id && !str_startswith(m->calls[i].id, GEMINI_ID_PREFIX))
				json_add_str(fc, "id", m->calls[i].id);
			json_add(p, "functionCall", fc);
			if (m->calls[i].signature)
				json_add_str(p, "thoughtSignature", m->calls[i].signature);
			json_push(parts, p);
		}
		break;
	case LLM_ROLE_TOOL: {
		cJSON *val = m->text ? json_parse(m->text, strlen(m->text),
		                                  ONGRID_LLM_MAX_REQUEST_BYTES, NULL)
		                     : NULL;
		p = json_obj();
		fc = json_obj();
		resp = json_obj();
		json_add_str(fc, "name", m->tool_name);
		if (m->tool_call_id && !str_startswith(m->tool_call_id, GEMINI_ID_PREFIX))
			json_add_str(fc, "id", m->tool_call_id);
		/* The result goes under "output", a failure under "error" (python-genai). */
		if (val)
			json_add(resp, m->is_error ? "error" : "output", val);
		else
			json_add_str(resp, m->is_error ? "error" : "output",
			             m->text ? m->text : "");
		json_add(fc, "response", resp);
		json_add(p, "functionResponse", fc);
		json_push(turn(contents, "user"), p);
		break;
	}
	default:
		break;
	}
}

static int gemini_build(const struct llm_endpoint *ep, const struct llm_request *req,
                        struct llm_http_req *out, struct diag *d)
{
	unsigned dg = ep->downgrades;
	int64_t max_tokens = req->max_tokens ? req->max_tokens : ep->default_max_tokens;
	cJSON *body = json_obj(), *contents = json_arr(), *sys = NULL, *gen = json_obj();

	(void)d;
	for (size_t i = 0; i < req->nmsgs; i++) {
		const struct llm_message *m = &req->msgs[i];
		if (m->role == LLM_ROLE_SYSTEM) {
			cJSON *p = json_obj();
			if (!sys) {
				sys = json_obj();
				json_add(sys, "parts", json_arr());
			}
			json_add_str(p, "text", m->text ? m->text : "");
			json_push(cJSON_GetObjectItemCaseSensitive(sys, "parts"), p);
			continue;
		}
		add_message(contents, m);
	}
	if (sys)
		json_add(body, "systemInstruction", sys);
	json_add(body, "contents", contents);
	if (req->ntools) {
		cJSON *tools = json_arr(), *t = json_obj(), *decls = json_arr();
		for (size_t i = 0; i < req->ntools; i++) {
			cJSON *f = json_obj(), *params = wire_args_object(req->tools[i].parameters);
			json_add_str(f, "name", req->tools[i].name);
			if (req->tools[i].description)
				json_add_str(f, "description", req->tools[i].description);
			if (dg & LLM_DG_STRIP_SCHEMA)
				strip_schema(params, false);
			json_add(f, "parameters", params);
			json_push(decls, f);
		}
		json_add(t, "functionDeclarations", decls);
		json_push(tools, t);
		json_add(body, "tools", tools);
		if (req->tool_choice) {
			cJSON *tc = json_obj(), *fcc = json_obj();
			const char *c = (dg & LLM_DG_TOOL_CHOICE_AUTO) ? "auto" : req->tool_choice;
			if (!strcmp(c, "auto")) {
				json_add_str(fcc, "mode", "AUTO");
			} else if (!strcmp(c, "none")) {
				json_add_str(fcc, "mode", "NONE");
			} else if (!strcmp(c, "required")) {
				json_add_str(fcc, "mode", "ANY");
			} else {
				cJSON *names = json_arr();
				json_push(names, cJSON_CreateString(c));
				json_add_str(fcc, "mode", "ANY");
				json_add(fcc, "allowedFunctionNames", names);
			}
			json_add(tc, "functionCallingConfig", fcc);
			json_add(body, "toolConfig", tc);
		}
	}
	if (req->temperature >= 0 && !(dg & LLM_DG_NO_TEMPERATURE))
		json_add_num(gen, "temperature", req->temperature);
	if (req->top_p >= 0 && !(dg & LLM_DG_NO_TOP_P))
		json_add_num(gen, "topP", req->top_p);
	if (max_tokens > 0 && !(dg & LLM_DG_NO_MAX_TOKENS))
		json_add_num(gen, "maxOutputTokens", (double)max_tokens);
	if (cJSON_GetArraySize(gen))
		json_add(body, "generationConfig", gen);
	else
		cJSON_Delete(gen);

	out->url = xasprintf("%s/models/%s:%s", ep->base_url, ep->model,
	                     req->stream ? "streamGenerateContent?alt=sse" : "generateContent");
	llm_http_req_header(out, "x-goog-api-key: %s", ep->api_key ? ep->api_key : "");
	llm_http_req_header(out, "Content-Type: application/json");
	out->body = json_print(body, false);
	out->body_len = strlen(out->body);
	cJSON_Delete(body);
	return 0;
}

static enum llm_stop map_finish(const char *f)
{
	static const char *const filtered[] = { "SAFETY",      "RECITATION",         "BLOCKLIST",
		                                "LANGUAGE",    "PROHIBITED_CONTENT", "SPII",
		                                "IMAGE_SAFETY" };

	if (!f)
		return LLM_STOP_NONE;
	if (!strcmp(f, "STOP"))
		return LLM_STOP_END;
	if (!strcmp(f, "MAX_TOKENS"))
		return LLM_STOP_MAX_TOKENS;
	for (size_t i = 0; i < ARRAY_SIZE(filtered); i++)
		if (!strcmp(f, filtered[i]))
			return LLM_STOP_FILTERED;
	return LLM_STOP_OTHER;
}

static int add_call(struct llm_stream *st, const cJSON *part, const cJSON *fc)
{
	struct llm_stream_call *c = llm_stream_call(st, (int)st->gemini_calls);
	const char *id = wire_str(fc, "id"), *name = wire_str(fc, "name");
	const char *sig = wire_str(part, "thoughtSignature");
	const cJSON *args = wire_obj(fc, "args");
	char *s;
	int r;

	if (!c)
		return -E2BIG;
	st->gemini_calls++;
	c->id = id && *id ? xstrdup(id) : xasprintf(GEMINI_ID_PREFIX "%u", st->gemini_calls);
	c->name = xstrdup(name ? name : "");
	if (sig)
		c->signature = xstrdup(sig);
	s = args ? json_print(args, false) : xstrdup("{}");
	r = buf_adds(&c->args, s);
	free(s);
	return r;
}

static void usage_from(struct llm_stream *st, const cJSON *u)
{
	if (!u)
		return;
	/* Thoughts are billed as output; report them inside output_tokens. */
	st->usage.input_tokens = wire_int(u, "promptTokenCount");
	st->usage.reasoning_tokens = wire_int(u, "thoughtsTokenCount");
	st->usage.output_tokens = wire_int(u, "candidatesTokenCount") + st->usage.reasoning_tokens;
	st->usage.cached_tokens = wire_int(u, "cachedContentTokenCount");
}

static void error_from(struct llm_stream *st, const cJSON *e)
{
	const char *status = wire_str(e, "status"), *msg = wire_str(e, "message");

	st->failed = true;
	st->err.retryable =
	        status &&
	        (!strcmp(status, "UNAVAILABLE") || !strcmp(status, "RESOURCE_EXHAUSTED") ||
	         !strcmp(status, "INTERNAL") || !strcmp(status, "DEADLINE_EXCEEDED"));
	wire_msg(st->err.msg, sizeof(st->err.msg), msg ? msg : "error");
}

static int gemini_parse(struct llm_stream *st, const char *event, const char *data, size_t len,
                        llm_emit_fn *emit, void *udata, struct diag *d)
{
	cJSON *j = json_parse(data, len, ONGRID_LLM_MAX_RESPONSE_BYTES, d);
	const cJSON *cand, *part, *fb, *root;
	int r = 0;

	if (!j)
		return diag_prefix(d, "gemini: ");
	/* A non-streamed body may be an array of responses (streamGenerateContent without
	 * alt=sse); take them in order. */
	root = cJSON_IsArray(j) ? j->child : j;
	for (; root; root = cJSON_IsArray(j) ? root->next : NULL) {
		if (!cJSON_IsObject(root)) {
			r = diag_set(d, -EPROTO, "gemini: expected a JSON object");
			break;
		}
		if (wire_obj(root, "error")) {
			error_from(st, wire_obj(root, "error"));
			break;
		}
		usage_from(st, wire_obj(root, "usageMetadata"));
		fb = wire_obj(root, "promptFeedback");
		if (fb && wire_str(fb, "blockReason")) {
			st->stop = LLM_STOP_FILTERED;
			st->done = true;
		}
		cand = cJSON_GetArrayItem(wire_arr(root, "candidates"), 0);
		cJSON_ArrayForEach(part, wire_arr(wire_obj(cand, "content"), "parts")) {
			const char *text = wire_str(part, "text");
			const cJSON *fc = wire_obj(part, "functionCall");
			const cJSON *thought = cJSON_GetObjectItemCaseSensitive(part, "thought");
			if (text)
				r = llm_stream_text(st,
				                    cJSON_IsTrue(thought) ? LLM_DELTA_REASONING
				                                          : LLM_DELTA_TEXT,
				                    text, strlen(text), emit, udata);
			else if (fc)
				r = add_call(st, part, fc);
			if (r < 0) {
				r = diag_set(d, r, "gemini: response exceeds the limits");
				break;
			}
		}
		if (r < 0)
			break;
		if (cand && wire_str(cand, "finishReason")) {
			st->stop = map_finish(wire_str(cand, "finishReason"));
			st->done = true; /* the stream itself ends by closing */
		}
		if (!cand && !fb && !wire_obj(root, "usageMetadata")) {
			r = diag_set(d, -EPROTO, "gemini: a response without candidates");
			break;
		}
	}
	if (!event && r == 0 && !st->failed)
		st->done = true;
	cJSON_Delete(j);
	return r;
}

/* "31s" or "1.5s" (google.protobuf.Duration JSON) -> ms; 0 if unreadable. */
static int64_t parse_delay(const char *s)
{
	char *end;
	double v;

	if (!s)
		return 0;
	v = strtod(s, &end);
	if (end == s || strcmp(end, "s") != 0 || !(v > 0) || v > 86400)
		return 0;
	return (int64_t)(v * 1000);
}

static void gemini_classify(long status, const char *body, size_t len, unsigned cur,
                            enum llm_vendor vendor, struct llm_error *ret)
{
	cJSON *j = json_parse(body, len, ONGRID_LLM_MAX_ERROR_BYTES, NULL);
	const cJSON *e, *det, *details;
	const char *msg, *st;

	(void)vendor;
	memset(ret, 0, sizeof(*ret));
	/* Errors sometimes come as a one-element array. */
	e = wire_obj(cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : j, "error");
	msg = e ? wire_str(e, "message") : NULL;
	st = e ? wire_str(e, "status") : NULL;
	if (msg)
		wire_msg(ret->msg, sizeof(ret->msg), msg);
	else
		snprintf(ret->msg, sizeof(ret->msg), "HTTP %ld", status);
	ret->retryable = llm_status_retryable(status) ||
	                 (st && (!strcmp(st, "UNAVAILABLE") || !strcmp(st, "RESOURCE_EXHAUSTED")));
	details = e ? wire_arr(e, "details") : NULL;
	cJSON_ArrayForEach(det, details) {
		const char *type = wire_str(det, "@type");
		if (type && strstr(type, "RetryInfo"))
			ret->retry_after_ms = parse_delay(wire_str(det, "retryDelay"));
	}
	if (status == 401 || status == 403 || status == 404 || wire_has(msg, "API key not valid"))
		ret->fatal_for_route = true;
	if (status == 400 && !ret->fatal_for_route) {
		unsigned dg = 0;
		if (wire_has(msg, "Unknown name") || wire_has(msg, "schema"))
			dg = LLM_DG_STRIP_SCHEMA;
		else if (wire_has(msg, "temperature"))
			dg = LLM_DG_NO_TEMPERATURE;
		else if (wire_has(msg, "topP") || wire_has(msg, "top_p"))
			dg = LLM_DG_NO_TOP_P;
		if (dg && !(cur & dg))
			ret->downgrade = dg;
	}
	cJSON_Delete(j);
}

const struct llm_provider gemini_provider = {
	.name = "gemini",
	.normalize = gemini_normalize,
	.build = gemini_build,
	.parse = gemini_parse,
	.classify = gemini_classify,
};
