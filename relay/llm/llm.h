/* llm.h - the provider-neutral shape of an LLM call, and the provider interface.
 *
 * Inside ongrid an LLM call is always this shape: messages (system, user, assistant with
 * optional tool calls and reasoning, tool results), tool definitions, a tool choice and a
 * few knobs; the answer is text, tool calls, a stop reason and usage. Each provider in
 * relay/llm/{openai,anthropic,gemini}.c is a pure translator between this shape and its
 * wire format, with no I/O, so each is unit-tested on recorded bytes. Transport, retries,
 * fallbacks, parameter downgrades, accounting and budgets live in router.c.
 *
 * The neutral JSON (what edges send in "llm.request" and what `ongrid-relay llm ask
 * --json` prints) is documented in docs/llm.md; llm_request_from_json() and
 * llm_response_to_json() are its only readers and writers.
 */
#ifndef ONGRID_LLM_H
#define ONGRID_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/buf.h"
#include "shared/compiler.h"
#include "shared/diag.h"
#include "shared/limits.h"

enum llm_role { LLM_ROLE_SYSTEM, LLM_ROLE_USER, LLM_ROLE_ASSISTANT, LLM_ROLE_TOOL, _LLM_ROLE_MAX };

struct llm_tool_call {
	char *id;        /* "call_…", "toolu_…"; generated for Gemini calls without one */
	char *name;      /* tool name */
	char *args;      /* JSON text; an object when args_valid */
	char *signature; /* Gemini thoughtSignature to echo back unchanged, or NULL */
	bool args_valid; /* args parsed as a JSON object (model output is hostile) */
};

struct llm_message {
	enum llm_role role;
	char *text; /* content; NULL when an assistant turn only calls tools */
	/* Assistant turns: reasoning the provider requires to be sent back (DeepSeek/Kimi
	 * reasoning_content, Anthropic thinking with its signature). */
	char *reasoning;
	char *reasoning_signature;
	struct llm_tool_call *calls;
	size_t ncalls;
	/* Tool turns: the call answered and whether the tool failed. */
	char *tool_call_id;
	char *tool_name;
	bool is_error;
};

struct llm_tool {
	char *name;
	char *description;
	char *parameters; /* JSON Schema text (an object) */
};

struct llm_request {
	struct llm_message *msgs;
	size_t nmsgs;
	struct llm_tool *tools;
	size_t ntools;
	char *tool_choice;      /* NULL or "auto" | "none" | "required" | a tool name */
	int64_t max_tokens;     /* 0 = the router's default */
	double temperature;     /* < 0 = unset */
	double top_p;           /* < 0 = unset */
	char *reasoning_effort; /* NULL or "low" | "medium" | "high" (OpenAI-style) */
	bool stream;            /* stream text deltas to the caller */
};

struct llm_usage {
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t reasoning_tokens; /* part of output_tokens where the provider says so */
	int64_t cached_tokens;    /* part of input_tokens */
};

/* Neutral stop reasons. */
enum llm_stop {
	LLM_STOP_NONE, /* stream ended without saying why */
	LLM_STOP_END,
	LLM_STOP_TOOL_CALLS,
	LLM_STOP_MAX_TOKENS,
	LLM_STOP_FILTERED, /* content filter, safety, refusal, recitation */
	LLM_STOP_OTHER,
	_LLM_STOP_MAX
};

struct llm_response {
	char *text;
	char *reasoning;
	char *reasoning_signature;
	struct llm_tool_call *calls;
	size_t ncalls;
	enum llm_stop stop;
	struct llm_usage usage;
	char *provider; /* config name of the provider that answered */
	char *model;
	double cost_usd;
	unsigned attempts; /* HTTP requests this call took, over all routes */
};

/* ---- neutral shape helpers (llm.c) ---- */

void llm_request_release(struct llm_request *req);
void llm_response_release(struct llm_response *resp);
void llm_tool_call_release(struct llm_tool_call *c);
const char *llm_role_name(enum llm_role role);
const char *llm_stop_name(enum llm_stop stop);

/* Parse the neutral request JSON (docs/llm.md). Every error names the field:
 * "messages[2].role: expected system, user, assistant or tool". Limits: ONGRID_LLM_MAX_*. */
int llm_request_from_json(const cJSON *j, struct llm_request *ret, struct diag *d);
/* A request with one user message (and an optional system prompt). */
void llm_request_simple(struct llm_request *ret, const char *system, const char *prompt);
cJSON *llm_request_to_json(const struct llm_request *req);
cJSON *llm_response_to_json(const struct llm_response *resp);

/* Is text a JSON object? (tool arguments, schemas) */
bool llm_is_json_object(const char *text, size_t len);

/* ---- the provider interface ---- */

/* Parameter downgrades: bits of what an endpoint rejected, remembered per (base URL,
 * model) and applied by build(). The table in docs/llm.md maps errors to bits. */
enum {
	LLM_DG_SWAP_MAX_TOKENS = 1u << 0, /* max_tokens <-> max_completion_tokens */
	LLM_DG_NO_TEMPERATURE = 1u << 1,
	LLM_DG_NO_TOP_P = 1u << 2,
	LLM_DG_NO_STREAM_OPTIONS = 1u << 3,
	LLM_DG_NO_REASONING_EFFORT = 1u << 4,
	LLM_DG_TOOL_CHOICE_AUTO = 1u << 5, /* only "auto" is accepted (Zhipu, Kimi) */
	LLM_DG_STRIP_SCHEMA = 1u << 6,     /* drop JSON-Schema keys outside OpenAPI's subset */
	LLM_DG_SEND_REASONING = 1u << 7,   /* send reasoning_content back on tool-call turns */
	LLM_DG_TEMPERATURE_ONE = 1u << 8,  /* only temperature 1 (Kimi thinking models) */
	LLM_DG_NO_MAX_TOKENS = 1u << 9,    /* neither name is accepted */
	LLM_DG_PATH_V1 = 1u << 10,         /* the base URL wants /v1 added (or removed) */
};
#define LLM_DG_COUNT 11
/* "max_tokens->max_completion_tokens", "no temperature", …: for logs and `model list`. */
const char *llm_downgrade_name(unsigned bit);

/* OpenAI-compatible vendors whose known differences openai.c applies (quirks table). */
enum llm_vendor {
	LLM_VENDOR_OPENAI,
	LLM_VENDOR_GENERIC, /* an unknown OpenAI-compatible server */
	LLM_VENDOR_DEEPSEEK,
	LLM_VENDOR_ZHIPU,
	LLM_VENDOR_MOONSHOT,
	LLM_VENDOR_OLLAMA,
	LLM_VENDOR_VLLM,
	LLM_VENDOR_LLAMACPP,
	_LLM_VENDOR_MAX
};
const char *llm_vendor_name(enum llm_vendor v);
int llm_vendor_parse(const char *s, enum llm_vendor *ret);
/* Guess the vendor from a base URL's host and port ("api.deepseek.com", ":11434"). */
enum llm_vendor llm_vendor_guess(const char *base_url);

/* Where and how to send one attempt. Strings are borrowed for the build() call. */
struct llm_endpoint {
	const char *base_url; /* normalised by the provider's normalize() */
	const char *api_key;  /* may be "" for local servers */
	const char *model;
	enum llm_vendor vendor;
	unsigned downgrades;        /* LLM_DG_* bits to apply */
	int64_t default_max_tokens; /* used when the request says 0 */
};

#define LLM_HTTP_MAX_HEADERS 8
/* One HTTP request, built without I/O. Everything is owned; llm_http_req_release frees. */
struct llm_http_req {
	char *url;
	char *headers[LLM_HTTP_MAX_HEADERS]; /* "Name: value" */
	size_t nheaders;
	char *body; /* JSON */
	size_t body_len;
};
void llm_http_req_release(struct llm_http_req *h);
void llm_http_req_header(struct llm_http_req *h, const char *fmt, ...) _printf_(2, 3);

/* What an error response means. */
struct llm_error {
	bool retryable;         /* 408/409/429/5xx/529, overloaded, rate limited */
	int64_t retry_after_ms; /* from the body (Gemini RetryInfo); headers are the router's */
	unsigned downgrade;     /* an LLM_DG_* bit that would fix the request, or 0 */
	bool fatal_for_route;   /* never retry this route (auth, quota, unknown model) */
	char msg[256];          /* the provider's message, for the log and the caller */
};

enum llm_delta_kind { LLM_DELTA_TEXT, LLM_DELTA_REASONING, _LLM_DELTA_MAX };
/* Streaming text to the caller; text is not NUL-terminated and valid during the call. */
typedef void llm_emit_fn(void *udata, enum llm_delta_kind kind, const char *text, size_t len);

/* Assembly state of one response: parse() appends to it; llm_stream_finish() turns the
 * per-index argument fragments into tool calls. */
struct llm_stream_call {
	int index; /* the provider's index (OpenAI tool_calls[].index, Anthropic block) */
	char *id, *name, *signature;
	struct buf args;
};
struct llm_stream {
	struct llm_buf_pair {
		struct buf text, reasoning;
	} out;
	char *reasoning_signature;
	struct llm_stream_call calls[ONGRID_LLM_MAX_TOOL_CALLS];
	size_t ncalls;
	enum llm_stop stop;
	struct llm_usage usage;
	bool done;    /* the provider's terminator was seen ([DONE], message_stop) */
	bool failed;  /* a mid-stream error event was seen; err says what */
	bool emitted; /* text was passed to the caller: a retry would repeat it */
	struct llm_error err;
	int block_kind[ONGRID_LLM_MAX_TOOL_CALLS]; /* Anthropic: content block types by index */
	unsigned gemini_calls;                     /* Gemini: calls seen, for generated ids */
};
void llm_stream_init(struct llm_stream *st);
void llm_stream_release(struct llm_stream *st);
/* Find or add the call with this provider index; NULL past ONGRID_LLM_MAX_TOOL_CALLS. */
struct llm_stream_call *llm_stream_call(struct llm_stream *st, int index);
/* Append text or reasoning and pass it on to emit (which may be NULL). -E2BIG past the
 * response cap. */
int llm_stream_text(struct llm_stream *st, enum llm_delta_kind kind, const char *s, size_t n,
                    llm_emit_fn *emit, void *udata);
/* Move the assembled response into ret (which the caller releases). */
void llm_stream_finish(struct llm_stream *st, struct llm_response *ret);

struct llm_provider {
	/* "anthropic", "openai" (also any OpenAI-compatible base URL), "gemini" */
	const char *name;
	/* Normalise a configured base URL into out ("https://api.openai.com" ->
	 * "https://api.openai.com/v1"; a trailing "/chat/completions" is dropped). */
	void (*normalize)(const char *base_url, enum llm_vendor vendor, char *out, size_t outsz);
	/* Build URL, headers and JSON body for req. No I/O. */
	int (*build)(const struct llm_endpoint *ep, const struct llm_request *req,
	             struct llm_http_req *out, struct diag *d);
	/* Feed one SSE event (event may be "" ), or the whole body when event is NULL.
	 * Returns 0, or -EPROTO for a body that is not this provider's shape (d says why). A
	 * mid-stream error event sets st->failed and st->err and returns 0. */
	int (*parse)(struct llm_stream *st, const char *event, const char *data, size_t len,
	             llm_emit_fn *emit, void *udata, struct diag *d);
	/* Map an error response to {retryable, retry_after, downgrade, message}. */
	void (*classify)(long status, const char *body, size_t len, unsigned current_downgrades,
	                 enum llm_vendor vendor, struct llm_error *ret);
};
extern const struct llm_provider anthropic_provider, openai_provider, gemini_provider;

/* Look a provider up by config kind ("openai-compatible" is openai_provider). */
const struct llm_provider *llm_provider_find(const char *kind);
/* kind "auto": the wire format a base URL most likely speaks, for gateways and relays
 * that front a provider: ".../anthropic", "anthropic" in the host -> "anthropic";
 * "generativelanguage", "/v1beta" -> "gemini"; anything else -> "openai-compatible". */
const char *llm_kind_detect(const char *base_url);

/* Shared by the translators: the retryable statuses of the SDKs' policy
 * (408, 409, 429, >= 500, 529). */
bool llm_status_retryable(long status);

#endif
