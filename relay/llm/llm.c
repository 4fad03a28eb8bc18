/* llm.c - the neutral request/response shape: release, JSON in and out, stream assembly,
 * and the small tables (roles, stop reasons, vendors, downgrade names) every translator
 * shares. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/llm.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const role_names[_LLM_ROLE_MAX] = { "system", "user", "assistant", "tool" };
static const char *const stop_names[_LLM_STOP_MAX] = { "none",       "end",      "tool_calls",
	                                               "max_tokens", "filtered", "other" };
static const char *const vendor_names[_LLM_VENDOR_MAX] = {
	"openai", "generic", "deepseek", "zhipu", "moonshot", "ollama", "vllm", "llamacpp",
};
static const char *const downgrade_names[LLM_DG_COUNT] = {
	"swap max_tokens/max_completion_tokens",
	"drop temperature",
	"drop top_p",
	"drop stream_options",
	"drop reasoning_effort",
	"tool_choice only auto",
	"strip unsupported schema keywords",
	"send reasoning_content back",
	"temperature only 1",
	"drop max_tokens",
	"toggle /v1 in the base URL",
};

const char *llm_role_name(enum llm_role role)
{
	return role < _LLM_ROLE_MAX ? role_names[role] : "?";
}

const char *llm_stop_name(enum llm_stop stop)
{
	return stop < _LLM_STOP_MAX ? stop_names[stop] : "?";
}

const char *llm_vendor_name(enum llm_vendor v)
{
	return v < _LLM_VENDOR_MAX ? vendor_names[v] : "?";
}

int llm_vendor_parse(const char *s, enum llm_vendor *ret)
{
	for (int i = 0; i < _LLM_VENDOR_MAX; i++)
		if (strcmp(s, vendor_names[i]) == 0) {
			*ret = (enum llm_vendor)i;
			return 0;
		}
	return -EINVAL;
}

enum llm_vendor llm_vendor_guess(const char *base_url)
{
	static const struct {
		const char *needle;
		enum llm_vendor v;
	} hints[] = {
		{ "api.openai.com", LLM_VENDOR_OPENAI },
		{ "deepseek.com", LLM_VENDOR_DEEPSEEK },
		{ "bigmodel.cn", LLM_VENDOR_ZHIPU },
		{ "api.z.ai", LLM_VENDOR_ZHIPU },
		{ "moonshot.cn", LLM_VENDOR_MOONSHOT },
		{ "moonshot.ai", LLM_VENDOR_MOONSHOT },
		{ "kimi.com", LLM_VENDOR_MOONSHOT },
		{ ":11434", LLM_VENDOR_OLLAMA },
		{ "ollama", LLM_VENDOR_OLLAMA },
		{ ":8000", LLM_VENDOR_VLLM },
		{ "vllm", LLM_VENDOR_VLLM },
		{ ":8080", LLM_VENDOR_LLAMACPP },
		{ "llama", LLM_VENDOR_LLAMACPP },
	};

	for (size_t i = 0; i < ARRAY_SIZE(hints); i++)
		if (strstr(base_url, hints[i].needle))
			return hints[i].v;
	return LLM_VENDOR_GENERIC;
}

const char *llm_downgrade_name(unsigned bit)
{
	for (unsigned i = 0; i < LLM_DG_COUNT; i++)
		if (bit == (1u << i))
			return downgrade_names[i];
	return "?";
}

const struct llm_provider *llm_provider_find(const char *kind)
{
	if (strcmp(kind, "openai") == 0 || strcmp(kind, "openai-compatible") == 0)
		return &openai_provider;
	if (strcmp(kind, "anthropic") == 0)
		return &anthropic_provider;
	if (strcmp(kind, "gemini") == 0)
		return &gemini_provider;
	return NULL;
}

const char *llm_kind_detect(const char *base_url)
{
	if (strstr(base_url, "anthropic"))
		return "anthropic";
	if (strstr(base_url, "generativelanguage") || strstr(base_url, "/v1beta") ||
	    strstr(base_url, "gemini"))
		return "gemini";
	return "openai-compatible";
}

bool llm_status_retryable(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500 || status == 0;
}

bool llm_is_json_object(const char *text, size_t len)
{
	cJSON *j = json_parse(text, len, ONGRID_LLM_MAX_RESPONSE_BYTES, NULL);
	bool ok = j && cJSON_IsObject(j);

	cJSON_Delete(j);
	return ok;
}

/* ---- release ---- */

void llm_tool_call_release(struct llm_tool_call *c)
{
	free(c->id);
	free(c->name);
	free(c->args);
	free(c->signature);
	memset(c, 0, sizeof(*c));
}

static void message_release(struct llm_message *m)
{
	free(m->text);
	free(m->reasoning);
	free(m->reasoning_signature);
	for (size_t i = 0; i < m->ncalls; i++)
		llm_tool_call_release(&m->calls[i]);
	free(m->calls);
	free(m->tool_call_id);
	free(m->tool_name);
}

void llm_request_release(struct llm_request *req)
{
	for (size_t i = 0; i < req->nmsgs; i++)
		message_release(&req->msgs[i]);
	free(req->msgs);
	for (size_t i = 0; i < req->ntools; i++) {
		free(req->tools[i].name);
		free(req->tools[i].description);
		free(req->tools[i].parameters);
	}
	free(req->tools);
	free(req->tool_choice);
	free(req->reasoning_effort);
	memset(req, 0, sizeof(*req));
}

void llm_response_release(struct llm_response *resp)
{
	free(resp->text);
	free(resp->reasoning);
	free(resp->reasoning_signature);
	for (size_t i = 0; i < resp->ncalls; i++)
		llm_tool_call_release(&resp->calls[i]);
	free(resp->calls);
	free(resp->provider);
	free(resp->model);
	memset(resp, 0, sizeof(*resp));
}

void llm_http_req_release(struct llm_http_req *h)
{
	free(h->url);
	for (size_t i = 0; i < h->nheaders; i++)
		free(h->headers[i]);
	free(h->body);
	memset(h, 0, sizeof(*h));
}

void llm_http_req_header(struct llm_http_req *h, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	/* Programmer error: the providers add at most five headers. */
	if (h->nheaders >= LLM_HTTP_MAX_HEADERS)
		abort();
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	h->headers[h->nheaders++] = xstrdup(line);
}

void llm_request_simple(struct llm_request *ret, const char *system, const char *prompt)
{
	memset(ret, 0, sizeof(*ret));
	ret->temperature = -1;
	ret->top_p = -1;
	ret->msgs = xcalloc(2, sizeof(*ret->msgs));
	if (system && *system) {
		ret->msgs[ret->nmsgs].role = LLM_ROLE_SYSTEM;
		ret->msgs[ret->nmsgs++].text = xstrdup(system);
	}
	ret->msgs[ret->nmsgs].role = LLM_ROLE_USER;
	ret->msgs[ret->nmsgs++].text = xstrdup(prompt);
}

/* ---- neutral JSON in ---- */

static int opt_str(const cJSON *o, const char *key, char **ret, const char *what, struct diag *d)
{
	const char *s = NULL;
	int r = json_get_string(o, key, &s, what, d);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
		if (cJSON_IsNull(v))
			return 0; /* "content": null is how OpenAI writes "no text" */
		return r;
	}
	*ret = xstrdup(s);
	return 0;
}

/* A JSON value that must be an object, kept as text (tool arguments, schemas). A string
 * holding an object is accepted too: that is how OpenAI carries arguments. */
static int obj_text(const cJSON *v, char **ret, const char *what, struct diag *d)
{
	if (cJSON_IsObject(v)) {
		*ret = json_print(v, false);
		return 0;
	}
	if (cJSON_IsString(v) && llm_is_json_object(v->valuestring, strlen(v->valuestring))) {
		*ret = xstrdup(v->valuestring);
		return 0;
	}
	return diag_set(d, -EINVAL, "%s: expected a JSON object", what);
}

static int parse_calls(const cJSON *arr, struct llm_message *m, const char *what, struct diag *d)
{
	int n = cJSON_GetArraySize(arr);
	char w[160];
	int r;

	if (!cJSON_IsArray(arr))
		return diag_set(d, -EINVAL, "%s.tool_calls: expected an array", what);
	if (n > ONGRID_LLM_MAX_TOOL_CALLS)
		return diag_set(d, -E2BIG, "%s.tool_calls: %d calls exceed the limit of %d", what,
		                n, ONGRID_LLM_MAX_TOOL_CALLS);
	m->calls = xcalloc((size_t)n + 1, sizeof(*m->calls));
	for (int i = 0; i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(arr, i);
		struct llm_tool_call *tc = &m->calls[m->ncalls++];
		snprintf(w, sizeof(w), "%s.tool_calls[%d]", what, i);
		if (!cJSON_IsObject(c))
			return diag_set(d, -EINVAL, "%s: expected an object", w);
		r = opt_str(c, "id", &tc->id, w, d);
		if (r == 0)
			r = opt_str(c, "name", &tc->name, w, d);
		if (r == 0)
			r = opt_str(c, "signature", &tc->signature, w, d);
		if (r < 0)
			return r;
		if (!tc->id || !tc->name)
			return diag_set(d, -EINVAL, "%s: needs id and name", w);
		snprintf(w, sizeof(w), "%s.tool_calls[%d].arguments", what, i);
		r = obj_text(cJSON_GetObjectItemCaseSensitive(c, "arguments"), &tc->args, w, d);
		if (r < 0)
			return r;
		tc->args_valid = true;
	}
	return 0;
}

static int parse_message(const cJSON *o, struct llm_message *m, int i, struct diag *d)
{
	char what[64];
	const char *role = NULL;
	int r;

	snprintf(what, sizeof(what), "messages[%d]", i);
	if (!cJSON_IsObject(o))
		return diag_set(d, -EINVAL, "%s: expected an object", what);
	r = json_get_string(o, "role", &role, what, d);
	if (r == -ENOENT)
		return diag_set(d, -EINVAL, "%s.role: missing", what);
	if (r < 0)
		return r;
	for (m->role = 0; m->role < _LLM_ROLE_MAX; m->role++)
		if (strcmp(role, role_names[m->role]) == 0)
			break;
	if (m->role == _LLM_ROLE_MAX)
		return diag_set(d, -EINVAL,
		                "%s.role: expected system, user, assistant or tool, got '%s'", what,
		                role);
	r = opt_str(o, "content", &m->text, what, d);
	if (r < 0)
		return r;
	if (m->role == LLM_ROLE_ASSISTANT) {
		const cJSON *tc = cJSON_GetObjectItemCaseSensitive(o, "tool_calls");
		r = opt_str(o, "reasoning", &m->reasoning, what, d);
		if (r == 0)
			r = opt_str(o, "reasoning_signature", &m->reasoning_signature, what, d);
		if (r == 0 && tc && !cJSON_IsNull(tc))
			r = parse_calls(tc, m, what, d);
		if (r < 0)
			return r;
	} else if (m->role == LLM_ROLE_TOOL) {
		bool err = false;
		r = opt_str(o, "tool_call_id", &m->tool_call_id, what, d);
		if (r == 0)
			r = opt_str(o, "name", &m->tool_name, what, d);
		if (r < 0)
			return r;
		if (!m->tool_call_id || !m->tool_name)
			return diag_set(d, -EINVAL, "%s: a tool result needs tool_call_id and name",
			                what);
		r = json_get_bool(o, "is_error", &err, what, d);
		if (r < 0 && r != -ENOENT)
			return r;
		m->is_error = err;
	}
	if (!m->text && m->role != LLM_ROLE_ASSISTANT)
		return diag_set(d, -EINVAL, "%s.content: missing", what);
	if (!m->text && m->role == LLM_ROLE_ASSISTANT && !m->ncalls)
		return diag_set(d, -EINVAL, "%s: an assistant turn needs content or tool_calls",
		                what);
	return 0;
}

static int parse_tools(const cJSON *arr, struct llm_request *req, struct diag *d)
{
	int n = cJSON_GetArraySize(arr);
	char what[64];
	int r;

	if (!cJSON_IsArray(arr))
		return diag_set(d, -EINVAL, "tools: expected an array");
	if (n > ONGRID_LLM_MAX_TOOLS)
		return diag_set(d, -E2BIG, "tools: %d tools exceed the limit of %d", n,
		                ONGRID_LLM_MAX_TOOLS);
	req->tools = xcalloc((size_t)n + 1, sizeof(*req->tools));
	for (int i = 0; i < n; i++) {
		const cJSON *t = cJSON_GetArrayItem(arr, i);
		struct llm_tool *tool = &req->tools[req->ntools++];
		const cJSON *p;
		snprintf(what, sizeof(what), "tools[%d]", i);
		if (!cJSON_IsObject(t))
			return diag_set(d, -EINVAL, "%s: expected an object", what);
		r = opt_str(t, "name", &tool->name, what, d);
		if (r == 0)
			r = opt_str(t, "description", &tool->description, what, d);
		if (r < 0)
			return r;
		if (!tool->name || !*tool->name || strlen(tool->name) > 64 ||
		    strspn(tool->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                       "0123456789_-") != strlen(tool->name))
			return diag_set(d, -EINVAL, "%s.name: expected 1-64 of a-z A-Z 0-9 _ -",
			                what);
		p = cJSON_GetObjectItemCaseSensitive(t, "parameters");
		if (p) {
			snprintf(what, sizeof(what), "tools[%d].parameters", i);
			r = obj_text(p, &tool->parameters, what, d);
			if (r < 0)
				return r;
		} else {
			tool->parameters = xstrdup("{\"type\":\"object\",\"properties\":{}}");
		}
	}
	return 0;
}

int llm_request_from_json(const cJSON *j, struct llm_request *ret, struct diag *d)
{
	struct llm_request req = { .temperature = -1, .top_p = -1 };
	const cJSON *msgs, *tools;
	const char *system = NULL;
	int n, r;
	bool stream = false;

	if (!cJSON_IsObject(j))
		return diag_set(d, -EINVAL, "request: expected a JSON object");
	msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
	if (!cJSON_IsArray(msgs))
		return diag_set(d, -EINVAL, "messages: expected an array");
	n = cJSON_GetArraySize(msgs);
	if (n > ONGRID_LLM_MAX_MESSAGES)
		return diag_set(d, -E2BIG, "messages: %d messages exceed the limit of %d", n,
		                ONGRID_LLM_MAX_MESSAGES);
	r = json_get_string(j, "system", &system, "request", d);
	if (r < 0 && r != -ENOENT)
		return r;
	req.msgs = xcalloc((size_t)n + 2, sizeof(*req.msgs));
	if (system) {
		req.msgs[0].role = LLM_ROLE_SYSTEM;
		req.msgs[0].text = xstrdup(system);
		req.nmsgs = 1;
	}
	for (int i = 0; i < n; i++) {
		r = parse_message(cJSON_GetArrayItem(msgs, i), &req.msgs[req.nmsgs], i, d);
		req.nmsgs++;
		if (r < 0)
			goto out_release;
	}
	if (req.nmsgs == 0) {
		r = diag_set(d, -EINVAL, "messages: empty");
		goto out_release;
	}
	tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
	if (tools && !cJSON_IsNull(tools)) {
		r = parse_tools(tools, &req, d);
		if (r < 0)
			goto out_release;
	}
	r = opt_str(j, "tool_choice", &req.tool_choice, "request", d);
	if (r == 0)
		r = opt_str(j, "reasoning_effort", &req.reasoning_effort, "request", d);
	if (r < 0)
		goto out_release;
	if (req.tool_choice && strcmp(req.tool_choice, "auto") != 0 &&
	    strcmp(req.tool_choice, "none") != 0 && strcmp(req.tool_choice, "required") != 0) {
		bool found = false;
		for (size_t i = 0; i < req.ntools; i++)
			found = found || strcmp(req.tools[i].name, req.tool_choice) == 0;
		if (!found) {
			r = diag_set(
			        d, -EINVAL,
			        "tool_choice: expected auto, none, required or a tool name, got "
			        "'%s'",
			        req.tool_choice);
			goto out_release;
		}
	}
	r = json_get_int(j, "max_tokens", &req.max_tokens, "request", d);
	if (r == 0 && (req.max_tokens < 1 || req.max_tokens > 1000000))
		r = diag_set(d, -EINVAL, "max_tokens: expected 1..1000000");
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = json_get_number(j, "temperature", &req.temperature, "request", d);
	if (r == 0 && (req.temperature < 0 || req.temperature > 2))
		r = diag_set(d, -EINVAL, "temperature: expected 0..2");
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = json_get_number(j, "top_p", &req.top_p, "request", d);
	if (r == 0 && (req.top_p < 0 || req.top_p > 1))
		r = diag_set(d, -EINVAL, "top_p: expected 0..1");
	if (r == -ENOENT)
		r = 0;
	if (r == 0)
		r = json_get_bool(j, "stream", &stream, "request", d);
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		goto out_release;
	req.stream = stream;
	*ret = req;
	return 0;

out_release:
	llm_request_release(&req);
	return r;
}

/* ---- neutral JSON out ---- */

static void add_args(cJSON *o, const struct llm_tool_call *c)
{
	cJSON *a = c->args_valid ? cJSON_Parse(c->args) : NULL;

	if (a)
		json_add(o, "arguments", a);
	else
		json_add_str(o, "arguments_raw", c->args ? c->args : "");
}

static cJSON *calls_json(const struct llm_tool_call *calls, size_t n)
{
	cJSON *arr = json_arr();

	for (size_t i = 0; i < n; i++) {
		cJSON *c = json_obj();
		json_add_str(c, "id", calls[i].id ? calls[i].id : "");
		json_add_str(c, "name", calls[i].name ? calls[i].name : "");
		add_args(c, &calls[i]);
		if (calls[i].signature)
			json_add_str(c, "signature", calls[i].signature);
		json_push(arr, c);
	}
	return arr;
}

cJSON *llm_request_to_json(const struct llm_request *req)
{
	cJSON *o = json_obj(), *msgs = json_arr();

	for (size_t i = 0; i < req->nmsgs; i++) {
		const struct llm_message *m = &req->msgs[i];
		cJSON *mo = json_obj();
		json_add_str(mo, "role", llm_role_name(m->role));
		if (m->text)
			json_add_str(mo, "content", m->text);
		if (m->reasoning)
			json_add_str(mo, "reasoning", m->reasoning);
		if (m->reasoning_signature)
			json_add_str(mo, "reasoning_signature", m->reasoning_signature);
		if (m->ncalls)
			json_add(mo, "tool_calls", calls_json(m->calls, m->ncalls));
		if (m->role == LLM_ROLE_TOOL) {
			json_add_str(mo, "tool_call_id", m->tool_call_id ? m->tool_call_id : "");
			json_add_str(mo, "name", m->tool_name ? m->tool_name : "");
			json_add_bool(mo, "is_error", m->is_error);
		}
		json_push(msgs, mo);
	}
	json_add(o, "messages", msgs);
	if (req->ntools) {
		cJSON *tools = json_arr();
		for (size_t i = 0; i < req->ntools; i++) {
			cJSON *t = json_obj();
			json_add_str(t, "name", req->tools[i].name);
			if (req->tools[i].description)
				json_add_str(t, "description", req->tools[i].description);
			json_add(t, "parameters", cJSON_Parse(req->tools[i].parameters));
			json_push(tools, t);
		}
		json_add(o, "tools", tools);
	}
	if (req->tool_choice)
		json_add_str(o, "tool_choice", req->tool_choice);
	if (req->max_tokens)
		json_add_num(o, "max_tokens", (double)req->max_tokens);
	if (req->temperature >= 0)
		json_add_num(o, "temperature", req->temperature);
	if (req->top_p >= 0)
		json_add_num(o, "top_p", req->top_p);
	if (req->reasoning_effort)
		json_add_str(o, "reasoning_effort", req->reasoning_effort);
	if (req->stream)
		json_add_bool(o, "stream", true);
	return o;
}

cJSON *llm_response_to_json(const struct llm_response *resp)
{
	cJSON *o = json_obj(), *u = json_obj();

	if (resp->text)
		json_add_str(o, "text", resp->text);
	else
		json_add(o, "text", cJSON_CreateNull());
	if (resp->reasoning)
		json_add_str(o, "reasoning", resp->reasoning);
	if (resp->reasoning_signature)
		json_add_str(o, "reasoning_signature", resp->reasoning_signature);
	json_add(o, "tool_calls", calls_json(resp->calls, resp->ncalls));
	json_add_str(o, "stop", llm_stop_name(resp->stop));
	json_add_num(u, "input_tokens", (double)resp->usage.input_tokens);
	json_add_num(u, "output_tokens", (double)resp->usage.output_tokens);
	json_add_num(u, "reasoning_tokens", (double)resp->usage.reasoning_tokens);
	json_add_num(u, "cached_tokens", (double)resp->usage.cached_tokens);
	json_add(o, "usage", u);
	if (resp->provider)
		json_add_str(o, "provider", resp->provider);
	if (resp->model)
		json_add_str(o, "model", resp->model);
	json_add_num(o, "cost_usd", resp->cost_usd);
	json_add_num(o, "attempts", resp->attempts);
	return o;
}

/* ---- stream assembly ---- */

void llm_stream_init(struct llm_stream *st)
{
	memset(st, 0, sizeof(*st));
	buf_init(&st->out.text, ONGRID_LLM_MAX_RESPONSE_BYTES);
	buf_init(&st->out.reasoning, ONGRID_LLM_MAX_RESPONSE_BYTES);
}

void llm_stream_release(struct llm_stream *st)
{
	buf_release(&st->out.text);
	buf_release(&st->out.reasoning);
	free(st->reasoning_signature);
	for (size_t i = 0; i < st->ncalls; i++) {
		free(st->calls[i].id);
		free(st->calls[i].name);
		free(st->calls[i].signature);
		buf_release(&st->calls[i].args);
	}
	memset(st, 0, sizeof(*st));
}

struct llm_stream_call *llm_stream_call(struct llm_stream *st, int index)
{
	struct llm_stream_call *c;

	for (size_t i = 0; i < st->ncalls; i++)
		if (st->calls[i].index == index)
			return &st->calls[i];
	if (st->ncalls >= ONGRID_LLM_MAX_TOOL_CALLS)
		return NULL;
	c = &st->calls[st->ncalls++];
	c->index = index;
	buf_init(&c->args, ONGRID_LLM_MAX_RESPONSE_BYTES);
	return c;
}

int llm_stream_text(struct llm_stream *st, enum llm_delta_kind kind, const char *s, size_t n,
                    llm_emit_fn *emit, void *udata)
{
	struct buf *b = kind == LLM_DELTA_TEXT ? &st->out.text : &st->out.reasoning;

	if (!n)
		return 0;
	if (buf_add(b, s, n) < 0)
		return -E2BIG;
	if (emit) {
		emit(udata, kind, s, n);
		st->emitted = st->emitted || kind == LLM_DELTA_TEXT;
	}
	return 0;
}

void llm_stream_finish(struct llm_stream *st, struct llm_response *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (st->out.text.len)
		ret->text = buf_detach(&st->out.text, NULL);
	if (st->out.reasoning.len)
		ret->reasoning = buf_detach(&st->out.reasoning, NULL);
	ret->reasoning_signature = st->reasoning_signature;
	st->reasoning_signature = NULL;
	ret->calls = xcalloc(st->ncalls + 1, sizeof(*ret->calls));
	for (size_t i = 0; i < st->ncalls; i++) {
		struct llm_stream_call *c = &st->calls[i];
		struct llm_tool_call *out = &ret->calls[ret->ncalls];
		if (!c->name)
			continue; /* argument fragments for a call that never started */
		out->id = c->id ? c->id : xasprintf("call_%zu", i);
		out->name = c->name;
		out->signature = c->signature;
		c->id = c->name = c->signature = NULL;
		/* Anthropic: an empty input means {}; model output is hostile: check it. */
		out->args = c->args.len ? buf_detach(&c->args, NULL) : xstrdup("{}");
		out->args_valid = llm_is_json_object(out->args, strlen(out->args));
		ret->ncalls++;
	}
	ret->stop = st->stop;
	if (ret->ncalls && (ret->stop == LLM_STOP_END || ret->stop == LLM_STOP_NONE))
		ret->stop = LLM_STOP_TOOL_CALLS; /* Gemini says STOP; Ollama sometimes too */
	ret->usage = st->usage;
}
