/* anthropic.c - Anthropic Messages API <-> the neutral shape.
 *
 * Wire details: shared/reference/protocols.md §5. The differences from the neutral shape
 * that matter: system is a top-level field; roles are only user/assistant and alternate,
 * so tool results become tool_result blocks of the next user turn; tool input is an
 * object; a streamed tool call's input is assembled from input_json_delta fragments;
 * thinking blocks with their signature must be sent back before tool results.
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

#define ANTHROPIC_VERSION "2023-06-01"

enum { BLOCK_TEXT = 1, BLOCK_TOOL, BLOCK_THINKING, BLOCK_OTHER };

static void anthropic_normalize(const char *base_url, enum llm_vendor vendor, char *out,
                                size_t outsz)
{
	static const char *const tails[] = { "/messages", "/v1" };
	size_t n;

	(void)vendor;
	str_copy(out, base_url, outsz);
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	/* build() appends /v1/messages: accept a base written with or without either. */
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		if (str_endswith(out, tails[i])) {
			n -= strlen(tails[i]);
			out[n] = '\0';
		}
	}
}

/* Append a block to the last message if it has role, else start a new message: the API
 * wants alternating turns, and tool results of one turn in one user message. */
static cJSON *turn(cJSON *msgs, const char *role)
{
	cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
	cJSON *m, *content;

	if (last && !strcmp(wire_str(last, "role"), role))
		return cJSON_GetObjectItemCaseSensitive(last, "content");
	m = json_obj();
	content = json_arr();
	json_add_str(m, "role", role);
	json_add(m, "content", content);
	json_push(msgs, m);
	return content;
}

static void add_text_block(cJSON *content, const char *text)
{
	cJSON *b = json_obj();

	json_add_str(b, "type", "text");
	json_add_str(b, "text", text);
	json_push(content, b);
}

static void add_message(cJSON *msgs, const struct llm_message *m)
{
	cJSON *content, *b;

	switch (m->role) {
	case LLM_ROLE_USER:
		add_text_block(turn(msgs, "user"), m->text ? m->text : "");
		break;
	case LLM_ROLE_TOOL:
		content = turn(msgs, "user");
		b = json_obj();
		json_add_str(b, "type", "tool_result");
		json_add_str(b, "tool_use_id", m->tool_call_id);
		json_add_str(b, "content", m->text ? m->text : "");
		if (m->is_error)
			json_add_bool(b, "is_error", true);
		json_push(content, b);
		break;
	case LLM_ROLE_ASSISTANT:
		content = turn(msgs, "assistant");
		/* Thinking goes back unmodified, first, and only with its signature. */
		if (m->reasoning && m->reasoning_signature) {
			b = json_obj();
			json_add_str(b, "type", "thinking");
			json_add_str(b, "thinking", m->reasoning);
			json_add_str(b, "signature", m->reasoning_signature);
			json_push(content, b);
		}
		if (m->text && *m->text)
			add_text_block(content, m->text);
		for (size_t i = 0; i < m->ncalls; i++) {
			b = json_obj();
			json_add_str(b, "type", "tool_use");
			json_add_str(b, "id", m->calls[i].id);
			json_add_str(b, "name", m->calls[i].name);
			json_add(b, "input", wire_args_object(m->calls[i].args));
			json_push(content, b);
		}
		break;
	default:
		break; /* system messages go to the top-level field */
	}
}

static cJSON *tool_choice_json(const char *choice)
{
	cJSON *o = json_obj();

	if (!strcmp(choice, "auto") || !strcmp(choice, "none")) {
		json_add_str(o, "type", choice);
	} else if (!strcmp(choice, "required")) {
		json_add_str(o, "type", "any");
	} else {
		json_add_str(o, "type", "tool");
		json_add_str(o, "name", choice);
	}
	return o;
}

static int anthropic_build(const struct llm_endpoint *ep, const struct llm_request *req,
                           struct llm_http_req *out, struct diag *d)
{
	unsigned dg = ep->downgrades;
	int64_t max_tokens = req->max_tokens ? req->max_tokens : ep->default_max_tokens;
	cJSON *body = json_obj(), *msgs = json_arr();
	struct buf system = BUF_INIT(ONGRID_LLM_MAX_REQUEST_BYTES);

	json_add_str(body, "model", ep->model);
	/* max_tokens is required by this API. */
	json_add_num(body, "max_tokens", (double)(max_tokens > 0 ? max_tokens : 4096));
	for (size_t i = 0; i < req->nmsgs; i++) {
		const struct llm_message *m = &req->msgs[i];
		if (m->role == LLM_ROLE_SYSTEM) {
			if ((system.len && buf_adds(&system, "\n\n") < 0) ||
			    buf_adds(&system, m->text ? m->text : "") < 0) {
				buf_release(&system);
				cJSON_Delete(body);
				cJSON_Delete(msgs);
				return diag_set(d, -E2BIG, "system prompt exceeds %u bytes",
				                ONGRID_LLM_MAX_REQUEST_BYTES);
			}
			continue;
		}
		add_message(msgs, m);
	}
	if (system.len)
		json_add_str(body, "system", system.data);
	buf_release(&system);
	json_add(body, "messages", msgs);
	if (req->ntools) {
		cJSON *tools = json_arr();
		for (size_t i = 0; i < req->ntools; i++) {
			cJSON *t = json_obj();
			json_add_str(t, "name", req->tools[i].name);
			if (req->tools[i].description)
				json_add_str(t, "description", req->tools[i].description);
			json_add(t, "input_schema", wire_args_object(req->tools[i].parameters));
			json_push(tools, t);
		}
		json_add(body, "tools", tools);
		if (req->tool_choice)
			json_add(body, "tool_choice",
			         tool_choice_json((dg & LLM_DG_TOOL_CHOICE_AUTO)
			                                  ? "auto"
			                                  : req->tool_choice));
	}
	if (req->stream)
		json_add_bool(body, "stream", true);
	if (req->temperature >= 0 && !(dg & LLM_DG_NO_TEMPERATURE))
		json_add_num(body, "temperature", req->temperature > 1 ? 1 : req->temperature);
	if (req->top_p >= 0 && !(dg & LLM_DG_NO_TOP_P))
		json_add_num(body, "top_p", req->top_p);

	out->url = xasprintf("%s/v1/messages", ep->base_url);
	llm_http_req_header(out, "x-api-key: %s", ep->api_key ? ep->api_key : "");
	llm_http_req_header(out, "anthropic-version: %s", ANTHROPIC_VERSION);
	llm_http_req_header(out, "content-type: application/json");
	llm_http_req_header(out, "accept: %s",
	                    req->stream ? "text/event-stream" : "application/json");
	out->body = json_print(body, false);
	out->body_len = strlen(out->body);
	cJSON_Delete(body);
	return 0;
}

static enum llm_stop map_stop(const char *s)
{
	if (!s)
		return LLM_STOP_NONE;
	if (!strcmp(s, "end_turn") || !strcmp(s, "stop_sequence"))
		return LLM_STOP_END;
	if (!strcmp(s, "tool_use"))
		return LLM_STOP_TOOL_CALLS;
	if (!strcmp(s, "max_tokens"))
		return LLM_STOP_MAX_TOKENS;
	if (!strcmp(s, "refusal"))
		return LLM_STOP_FILTERED;
	return LLM_STOP_OTHER;
}

static void parse_usage(struct llm_stream *st, const cJSON *u)
{
	if (!u)
		return;
	/* message_start carries input, message_delta the cumulative output. */
	if (cJSON_GetObjectItemCaseSensitive(u, "input_tokens"))
		st->usage.input_tokens = wire_int(u, "input_tokens") +
		                         wire_int(u, "cache_read_input_tokens") +
		                         wire_int(u, "cache_creation_input_tokens");
	if (cJSON_GetObjectItemCaseSensitive(u, "cache_read_input_tokens"))
		st->usage.cached_tokens = wire_int(u, "cache_read_input_tokens");
	if (cJSON_GetObjectItemCaseSensitive(u, "output_tokens"))
		st->usage.output_tokens = wire_int(u, "output_tokens");
}

static bool retryable_type(const char *type)
{
	return type && (!strcmp(type, "overloaded_error") || !strcmp(type, "api_error") ||
	                !strcmp(type, "rate_limit_error") || !strcmp(type, "timeout_error"));
}

static int block_start(struct llm_stream *st, int index, const cJSON *b, llm_emit_fn *emit,
                       void *udata)
{
	const char *type = wire_str(b, "type");
	int kind = BLOCK_OTHER;
	struct llm_stream_call *c;

	if (type && !strcmp(type, "text")) {
		const char *t = wire_str(b, "text");
		kind = BLOCK_TEXT;
		if (t && llm_stream_text(st, LLM_DELTA_TEXT, t, strlen(t), emit, udata) < 0)
			return -E2BIG;
	} else if (type && !strcmp(type, "thinking")) {
		const char *t = wire_str(b, "thinking"), *sig = wire_str(b, "signature");
		kind = BLOCK_THINKING;
		if (t && llm_stream_text(st, LLM_DELTA_REASONING, t, strlen(t), emit, udata) < 0)
			return -E2BIG;
		if (sig && *sig && !st->reasoning_signature)
			st->reasoning_signature = xstrdup(sig);
	} else if (type && !strcmp(type, "tool_use")) {
		const char *id = wire_str(b, "id"), *name = wire_str(b, "name");
		const cJSON *input = wire_obj(b, "input");
		kind = BLOCK_TOOL;
		c = llm_stream_call(st, index);
		if (!c)
			return -E2BIG;
		if (id && !c->id)
			c->id = xstrdup(id);
		if (name && !c->name)
			c->name = xstrdup(name);
		/* Whole bodies carry the real input; streams an {} placeholder. */
		if (input && cJSON_GetArraySize(input) > 0 && !c->args.len) {
			char *s = json_print(input, false);
			int r = buf_adds(&c->args, s);
			free(s);
			if (r < 0)
				return -E2BIG;
		}
	}
	if (index >= 0 && index < ONGRID_LLM_MAX_TOOL_CALLS)
		st->block_kind[index] = kind;
	return 0;
}

static int block_delta(struct llm_stream *st, int index, const cJSON *delta, llm_emit_fn *emit,
                       void *udata)
{
	const char *type = wire_str(delta, "type");
	const char *s;
	struct llm_stream_call *c;

	if (!type)
		return 0;
	if (!strcmp(type, "text_delta") && (s = wire_str(delta, "text")))
		return llm_stream_text(st, LLM_DELTA_TEXT, s, strlen(s), emit, udata);
	if (!strcmp(type, "thinking_delta") && (s = wire_str(delta, "thinking")))
		return llm_stream_text(st, LLM_DELTA_REASONING, s, strlen(s), emit, udata);
	if (!strcmp(type, "signature_delta") && (s = wire_str(delta, "signature"))) {
		char *sig = xasprintf("%s%s",
		                      st->reasoning_signature ? st->reasoning_signature : "", s);
		free(st->reasoning_signature);
		st->reasoning_signature = sig;
		return 0;
	}
	if (!strcmp(type, "input_json_delta") && (s = wire_str(delta, "partial_json"))) {
		/* Fragments for a block that never started as tool_use are dropped. */
		if (index < 0 || index >= ONGRID_LLM_MAX_TOOL_CALLS ||
		    st->block_kind[index] != BLOCK_TOOL)
			return 0;
		c = llm_stream_call(st, index);
		return c ? buf_adds(&c->args, s) : -E2BIG;
	}
	return 0; /* citations_delta and future types */
}

static int whole_message(struct llm_stream *st, const cJSON *j, llm_emit_fn *emit, void *udata)
{
	const cJSON *b;
	int i = 0, r;

	cJSON_ArrayForEach(b, wire_arr(j, "content")) {
		r = block_start(st, i++, b, emit, udata);
		if (r < 0)
			return r;
		if (i >= ONGRID_LLM_MAX_TOOL_CALLS)
			break;
	}
	st->stop = map_stop(wire_str(j, "stop_reason"));
	parse_usage(st, wire_obj(j, "usage"));
	st->done = true;
	return 0;
}

static int anthropic_parse(struct llm_stream *st, const char *event, const char *data, size_t len,
                           llm_emit_fn *emit, void *udata, struct diag *d)
{
	cJSON *j = json_parse(data, len, ONGRID_LLM_MAX_RESPONSE_BYTES, d);
	const char *type;
	const cJSON *idx;
	int index, r = 0;

	if (!j)
		return diag_prefix(d, "anthropic: ");
	type = wire_str(j, "type");
	if (!cJSON_IsObject(j) || !type) {
		r = diag_set(d, -EPROTO, "anthropic: an event without a type");
		goto out;
	}
	(void)event; /* the data's own "type" is authoritative; event: repeats it */
	idx = cJSON_GetObjectItemCaseSensitive(j, "index");
	index = cJSON_IsNumber(idx) && idx->valuedouble >= 0 &&
	                        idx->valuedouble < ONGRID_LLM_MAX_TOOL_CALLS
	                ? (int)idx->valuedouble
	                : -1;
	if (!strcmp(type, "message")) {
		r = whole_message(st, j, emit, udata);
	} else if (!strcmp(type, "message_start")) {
		parse_usage(st, wire_obj(wire_obj(j, "message"), "usage"));
	} else if (!strcmp(type, "content_block_start")) {
		if (index >= 0)
			r = block_start(st, index, wire_obj(j, "content_block"), emit, udata);
	} else if (!strcmp(type, "content_block_delta")) {
		r = block_delta(st, index, wire_obj(j, "delta"), emit, udata);
	} else if (!strcmp(type, "message_delta")) {
		const cJSON *dl = wire_obj(j, "delta");
		if (dl && wire_str(dl, "stop_reason"))
			st->stop = map_stop(wire_str(dl, "stop_reason"));
		parse_usage(st, wire_obj(j, "usage"));
	} else if (!strcmp(type, "message_stop")) {
		st->done = true;
	} else if (!strcmp(type, "error")) {
		const cJSON *e = wire_obj(j, "error");
		const char *msg = e ? wire_str(e, "message") : NULL;
		st->failed = true;
		st->err.retryable = retryable_type(e ? wire_str(e, "type") : NULL);
		wire_msg(st->err.msg, sizeof(st->err.msg), msg ? msg : "error event");
	} /* ping, content_block_stop and unknown events: nothing to do */
	if (r < 0)
		r = diag_set(d, r, "anthropic: response exceeds the limits");
out:
	cJSON_Delete(j);
	return r;
}

static void anthropic_classify(long status, const char *body, size_t len, unsigned cur,
                               enum llm_vendor vendor, struct llm_error *ret)
{
	cJSON *j = json_parse(body, len, ONGRID_LLM_MAX_ERROR_BYTES, NULL);
	const cJSON *e = wire_obj(j, "error");
	const char *msg = e ? wire_str(e, "message") : NULL, *type = e ? wire_str(e, "type") : NULL;
	unsigned dg = 0;

	(void)vendor;
	memset(ret, 0, sizeof(*ret));
	if (msg)
		wire_msg(ret->msg, sizeof(ret->msg), msg);
	else
		snprintf(ret->msg, sizeof(ret->msg), "HTTP %ld", status);
	ret->retryable = llm_status_retryable(status) || retryable_type(type);
	if (status == 401 || status == 402 || status == 403 || status == 404)
		ret->fatal_for_route = true;
	if (status == 400) {
		/* "`temperature` and `top_p` cannot both be specified": keep temperature. */
		if (wire_has(msg, "top_p"))
			dg = LLM_DG_NO_TOP_P;
		else if (wire_has(msg, "temperature"))
			dg = LLM_DG_NO_TEMPERATURE;
		else if (wire_has(msg, "tool_choice"))
			dg = LLM_DG_TOOL_CHOICE_AUTO;
		if (dg && !(cur & dg))
			ret->downgrade = dg;
	}
	cJSON_Delete(j);
}

const struct llm_provider anthropic_provider = {
	.name = "anthropic",
	.normalize = anthropic_normalize,
	.build = anthropic_build,
	.parse = anthropic_parse,
	.classify = anthropic_classify,
};
