/* router.c - routes, transport (libcurl multi), retries, fallbacks, downgrades,
 * accounting and budgets for LLM calls. Policy lives here; the translators in
 * openai.c, anthropic.c and gemini.c only convert shapes (see router.h). */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "relay/llm/accounting.h"
#include "relay/llm/router.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/sse.h"
#include "shared/str.h"
#include "shared/banned.h"

/* Backoff without a retry-after: 0.5 s, 1 s, 2 s … capped, minus up to 25 % jitter so
 * that relays retrying together spread out (the SDKs' policy, reference §0.3). */
#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS  8000

struct target {
	char *provider; /* config name */
	char *model;
	char *kind;
	const struct llm_provider *prov;
	char base[512]; /* normalised base URL */
	char *key;      /* owned copy; never logged */
	enum llm_vendor vendor;
	double in_price, out_price;
	char skip[256]; /* non-empty: unusable, and why */
};

enum call_state { CALL_WAITING, CALL_RUNNING };

struct llm_call {
	struct list_head node;
	struct llm_router *r;
	const struct llm_request *req;
	struct llm_call_opts o;
	char *purpose, *edge, *incident;
	struct target targets[ONGRID_LLM_MAX_FALLBACKS];
	size_t ntargets, ti;
	enum call_state state;
	int64_t wake_at_ms;
	unsigned attempt;  /* retries used on the current target */
	unsigned attempts; /* HTTP requests over all targets */
	unsigned dg_steps; /* downgrades applied on the current target */
	unsigned dg;       /* downgrades in force for the current target */
	/* one attempt */
	CURL *easy;
	struct curl_slist *hdrs;
	struct llm_http_req http;
	long status;
	bool sse_mode, decided, overflow;
	struct sse_parser sse;
	struct buf body;
	struct llm_stream st;
	struct diag parse_err;
	int64_t hdr_retry_ms;
	int should_retry; /* x-should-retry: -1 absent, 0 false, 1 true */
	size_t received;
	char curl_err[CURL_ERROR_SIZE];
	char last_err[512];
};

struct llm_router {
	const struct llm_conf *conf;
	struct llm_acct *acct;
	CURLM *multi;
	struct pollfd *fds; /* what curl wants watched (CURLMOPT_SOCKETFUNCTION) */
	size_t nfds, fds_alloc;
	int64_t curl_deadline_ms; /* CURLMOPT_TIMERFUNCTION, mono_ms(); -1 = none */
	struct llm_loop_ops loop; /* the host's loop, when it drives us */
	struct list_head calls;
	unsigned ncalls;
};

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp);
static int on_timer(CURLM *m, long timeout_ms, void *userp);

/* ---- lifecycle ---- */

int llm_router_new(const struct llm_conf *conf, const char *data_dir, struct llm_router **ret,
                   struct diag *d)
{
	static bool curl_ready;
	struct llm_router *r;
	int rc;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return diag_set(d, -EIO, "cannot initialise libcurl");
		curl_ready = true;
	}
	r = xcalloc(1, sizeof(*r));
	r->conf = conf;
	list_init(&r->calls);
	rc = llm_acct_open(data_dir, &r->acct, d);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->multi = curl_multi_init();
	if (!r->multi) {
		llm_acct_close(r->acct);
		free(r);
		return diag_set(d, -ENOMEM, "cannot create a libcurl multi handle");
	}
	r->curl_deadline_ms = -1;
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
	*ret = r;
	return 0;
}

int llm_router_reload(struct llm_router *r, const struct llm_conf *conf, struct diag *d)
{
	int rc = llm_conf_check(conf, d);

	if (rc < 0)
		return rc;
	r->conf = conf;
	return 0;
}

struct llm_acct *llm_router_acct(struct llm_router *r)
{
	return r->acct;
}

const struct llm_conf *llm_router_conf(const struct llm_router *r)
{
	return r->conf;
}

static void attempt_release(struct llm_call *c)
{
	if (c->easy) {
		curl_multi_remove_handle(c->r->multi, c->easy);
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
	}
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	llm_http_req_release(&c->http);
	sse_release(&c->sse);
	buf_release(&c->body);
	llm_stream_release(&c->st);
}

static void call_free(struct llm_call *c)
{
	attempt_release(c);
	for (size_t i = 0; i < c->ntargets; i++) {
		free(c->targets[i].provider);
		free(c->targets[i].model);
		free(c->targets[i].kind);
		free(c->targets[i].key);
	}
	free(c->purpose);
	free(c->edge);
	free(c->incident);
	free(c);
}

static void finish(struct llm_call *c, int err, struct llm_response *resp, const char *msg)
{
	struct llm_response empty = { 0 };

	list_del(&c->node);
	c->r->ncalls--;
	attempt_release(c);
	c->o.on_done(c->o.udata, err, resp ? resp : &empty, msg);
	call_free(c);
}

void llm_call_cancel(struct llm_call *c)
{
	finish(c, -ECANCELED, NULL, "cancelled");
}

void llm_router_free(struct llm_router *r)
{
	struct list_head *p, *n;

	if (!r)
		return;
	list_for_each_safe(p, n, &r->calls)
		llm_call_cancel(list_entry(p, struct llm_call, node));
	r->loop.watch = NULL;
	r->loop.timer = NULL;
	curl_multi_cleanup(r->multi);
	llm_acct_close(r->acct);
	free(r->fds);
	free(r);
}

/* ---- routes and targets ---- */

static const struct llm_route_conf *conf_route(const struct llm_conf *c, const char *purpose)
{
	for (size_t i = 0; i < c->routes.n; i++)
		if (!strcmp(c->routes.v[i].purpose, purpose))
			return &c->routes.v[i];
	return NULL;
}

int llm_router_route(struct llm_router *r, const char *purpose, char ***ret, bool *ret_override,
                     struct diag *d)
{
	const struct llm_route_conf *rc;
	char **v;
	int rr = llm_acct_route_get(r->acct, purpose, ret, d);

	if (rr != -ENOENT) {
		*ret_override = true;
		return rr;
	}
	*ret_override = false;
	rc = conf_route(r->conf, purpose);
	if (!rc)
		return diag_set(d, -ENOENT,
		                "no LLM route for purpose '%s' (configure llm.routes.%s "
		                "or run `ongrid-relay model use %s PROVIDER/MODEL`)",
		                purpose, purpose, purpose);
	v = xcalloc(rc->ntargets + 1, sizeof(*v));
	for (size_t i = 0; i < rc->ntargets; i++)
		v[i] = xstrdup(rc->targets[i]);
	*ret = v;
	return 0;
}

static bool needs_key(const struct target *t)
{
	return strcmp(t->kind, "openai-compatible") != 0 || t->vendor == LLM_VENDOR_OPENAI ||
	       t->vendor == LLM_VENDOR_DEEPSEEK || t->vendor == LLM_VENDOR_ZHIPU ||
	       t->vendor == LLM_VENDOR_MOONSHOT;
}

static void resolve_target(const struct llm_conf *conf, const char *spec, struct target *t)
{
	const struct llm_provider_conf *pc;
	const struct llm_model_conf *mc;
	char prov[65];
	const char *model = "";
	const char *key = NULL;

	if (llm_target_split(spec, prov, sizeof(prov), &model) < 0) {
		t->provider = xstrdup(spec);
		t->model = xstrdup("");
		t->kind = xstrdup("");
		snprintf(t->skip, sizeof(t->skip), "'%s' is not provider/model", spec);
		return;
	}
	t->provider = xstrdup(prov);
	t->model = xstrdup(model);
	pc = llm_conf_provider(conf, prov);
	if (!pc) {
		t->kind = xstrdup("");
		snprintf(t->skip, sizeof(t->skip), "provider '%s' is not in llm.providers", prov);
		return;
	}
	t->kind = xstrdup(strcmp(pc->kind, "auto") ? pc->kind : llm_kind_detect(pc->base_url));
	t->prov = llm_provider_find(t->kind);
	if (pc->vendor)
		(void)llm_vendor_parse(pc->vendor, &t->vendor);
	else if (!strcmp(t->kind, "openai"))
		t->vendor = LLM_VENDOR_OPENAI;
	else
		t->vendor = llm_vendor_guess(pc->base_url);
	t->prov->normalize(pc->base_url, t->vendor, t->base, sizeof(t->base));
	mc = llm_conf_model(pc, model);
	if (mc) {
		t->in_price = mc->input_per_mtok;
		t->out_price = mc->output_per_mtok;
	}
	if (pc->api_key)
		key = pc->api_key;
	else if (pc->api_key_env)
		key = getenv(pc->api_key_env);
	t->key = xstrdup(key ? key : "");
	if (!*t->key && needs_key(t))
		snprintf(t->skip, sizeof(t->skip), "provider '%s' has no API key (%s%s%s)", prov,
		         pc->api_key_env ? "variable '" : "set api_key or api_key_env",
		         pc->api_key_env ? pc->api_key_env : "",
		         pc->api_key_env ? "' is unset or empty" : "");
}

/* ---- one attempt ---- */

static int64_t parse_retry_after(const char *name, const char *v)
{
	double x;
	time_t when;

	while (*v == ' ')
		v++;
	if (!strcmp(name, "retry-after-ms"))
		return str_to_double(v, &x) == 0 && x > 0 ? (int64_t)x : 0;
	if (str_to_double(v, &x) == 0)
		return x > 0 ? (int64_t)(x * 1000) : 0;
	when = curl_getdate(v, NULL);
	if (when > 0) {
		int64_t ms = (int64_t)when * 1000 - now_ms();
		return ms > 0 ? ms : 0;
	}
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *udata)
{
	struct llm_call *c = udata;
	size_t len = size * n;
	char line[512], *colon, *v;

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		line[--len] = '\0';
	if (!strncmp(line, "HTTP/", 5)) {
		/* A new response (after a proxy's CONNECT or a 100): forget the last. */
		c->hdr_retry_ms = 0;
		c->should_retry = -1;
		return size * n;
	}
	colon = strchr(line, ':');
	if (!colon)
		return size * n;
	*colon = '\0';
	for (char *q = line; *q; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
	v = str_trim(colon + 1);
	if (!strcmp(line, "retry-after-ms") ||
	    (!strcmp(line, "retry-after") && c->hdr_retry_ms == 0))
		c->hdr_retry_ms = parse_retry_after(line, v);
	else if (!strcmp(line, "x-should-retry"))
		c->should_retry = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : -1;
	else if (!strcmp(line, "content-type"))
		c->sse_mode = strstr(v, "text/event-stream") != NULL;
	return size * n;
}

static int on_event(void *udata, const char *event, const char *data, size_t len)
{
	struct llm_call *c = udata;
	const struct target *t = &c->targets[c->ti];

	return t->prov->parse(&c->st, event, data, len, c->o.on_delta, c->o.udata, &c->parse_err);
}

static size_t on_body(char *p, size_t size, size_t n, void *udata)
{
	struct llm_call *c = udata;
	size_t len = size * n;

	if (!c->decided) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
		c->decided = true;
		/* Stream only a successful event-stream; error bodies are read whole. */
		c->sse_mode = c->sse_mode && c->status >= 200 && c->status < 300;
		if (c->status < 200 || c->status >= 300)
			c->body.max = ONGRID_LLM_MAX_ERROR_BYTES;
	}
	c->received += len;
	if (c->received > ONGRID_LLM_MAX_RESPONSE_BYTES) {
		c->overflow = true;
		return 0;
	}
	if (c->sse_mode) {
		if (sse_feed(&c->sse, p, len, on_event, c) < 0) {
			if (!c->parse_err.code)
				diag_set(&c->parse_err, -E2BIG, "an SSE event exceeds %u bytes",
				         ONGRID_SSE_MAX_EVENT_BYTES);
			return 0;
		}
		return len;
	}
	/* An error body past its cap is truncated: only the message matters. */
	if (buf_add(&c->body, p, len) < 0 && c->status >= 200 && c->status < 300) {
		c->overflow = true;
		return 0;
	}
	return len;
}

static int start_transfer(struct llm_call *c, struct diag *d)
{
	struct llm_router *r = c->r;
	const struct target *t = &c->targets[c->ti];
	struct llm_endpoint ep = {
		.base_url = t->base,
		.api_key = t->key,
		.model = t->model,
		.vendor = t->vendor,
		.default_max_tokens = r->conf->max_tokens,
	};
	char base[sizeof(t->base) + 4];
	int rc;

	attempt_release(c);
	if (c->attempt == 0 && c->dg_steps == 0)
		(void)llm_acct_downgrades_get(r->acct, t->base, t->model, &c->dg);
	ep.downgrades = c->dg;
	if (c->dg & LLM_DG_PATH_V1) {
		size_t n = strlen(t->base);
		if (n >= 3 && !strcmp(t->base + n - 3, "/v1"))
			snprintf(base, sizeof(base), "%.*s", (int)(n - 3), t->base);
		else
			snprintf(base, sizeof(base), "%.500s/v1", t->base);
		ep.base_url = base;
	}
	rc = t->prov->build(&ep, c->req, &c->http, d);
	if (rc < 0)
		return rc;
	sse_init(&c->sse, ONGRID_SSE_MAX_EVENT_BYTES);
	buf_init(&c->body, ONGRID_LLM_MAX_RESPONSE_BYTES);
	llm_stream_init(&c->st);
	memset(&c->parse_err, 0, sizeof(c->parse_err));
	c->status = 0;
	c->decided = c->overflow = c->sse_mode = false;
	c->hdr_retry_ms = 0;
	c->should_retry = -1;
	c->received = 0;
	c->curl_err[0] = '\0';
	for (size_t i = 0; i < c->http.nheaders; i++) {
		struct curl_slist *nh = curl_slist_append(c->hdrs, c->http.headers[i]);
		if (!nh)
			return diag_set(d, -ENOMEM, "out of memory building headers");
		c->hdrs = nh;
	}
	c->easy = curl_easy_init();
	if (!c->easy)
		return diag_set(d, -ENOMEM, "cannot create a libcurl handle");
	curl_easy_setopt(c->easy, CURLOPT_URL, c->http.url);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->http.body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->http.body_len);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)r->conf->timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)r->conf->connect_timeout_ms);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c->easy, CURLOPT_LOW_SPEED_TIME,
	                 (long)((r->conf->idle_timeout_ms + 999) / 1000));
	curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "ongrid-relay/" ONGRID_VERSION);
	/* An explicit proxy wins; otherwise libcurl reads https_proxy/http_proxy/NO_PROXY. */
	if (r->conf->proxy && *r->conf->proxy)
		curl_easy_setopt(c->easy, CURLOPT_PROXY, r->conf->proxy);
	if (curl_multi_add_handle(r->multi, c->easy) != CURLM_OK)
		return diag_set(d, -EIO, "cannot start a libcurl transfer");
	c->state = CALL_RUNNING;
	c->attempts++;
	log_debug("llm: %s/%s attempt %u: POST %s", t->provider, t->model, c->attempt + 1,
	          c->http.url);
	return 0;
}

/* Start the current target, skipping unusable ones; finish when none is left. */
static void launch(struct llm_call *c)
{
	struct diag d = { 0 };
	char msg[700];

	while (c->ti < c->ntargets) {
		struct target *t = &c->targets[c->ti];
		if (!t->skip[0] && start_transfer(c, &d) == 0)
			return;
		snprintf(c->last_err, sizeof(c->last_err), "%.64s/%.128s: %.300s", t->provider,
		         t->model, t->skip[0] ? t->skip : d.msg);
		log_warn("llm: %s, skipping this route", c->last_err);
		attempt_release(c);
		c->ti++;
		c->attempt = c->dg_steps = c->dg = 0;
		memset(&d, 0, sizeof(d));
	}
	snprintf(msg, sizeof(msg), "every route for purpose '%s' failed; last: %s", c->purpose,
	         c->last_err[0] ? c->last_err : "no usable target");
	finish(c, -EHOSTUNREACH, NULL, msg);
}

static void wait_then(struct llm_call *c, int64_t delay_ms)
{
	attempt_release(c);
	c->state = CALL_WAITING;
	c->wake_at_ms = mono_ms() + (delay_ms > 0 ? delay_ms : 0);
}

static void next_target(struct llm_call *c)
{
	c->ti++;
	c->attempt = c->dg_steps = c->dg = 0;
	if (c->ti < c->ntargets)
		log_warn("llm: %s, falling back to %s/%s", c->last_err, c->targets[c->ti].provider,
		         c->targets[c->ti].model);
	wait_then(c, 0);
}

static int64_t backoff_ms(unsigned attempt)
{
	int64_t ms = BACKOFF_BASE_MS;

	for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	return ms - (ms / 4) * (mono_ns() % 1000) / 1000;
}

static double cost_of(const struct target *t, const struct llm_usage *u)
{
	return ((double)u->input_tokens * t->in_price + (double)u->output_tokens * t->out_price) /
	       1e6;
}

static void succeed(struct llm_call *c)
{
	struct target *t = &c->targets[c->ti];
	struct llm_response resp;
	struct diag d = { 0 };

	llm_stream_finish(&c->st, &resp);
	resp.provider = xstrdup(t->provider);
	resp.model = xstrdup(t->model);
	resp.cost_usd = cost_of(t, &resp.usage);
	resp.attempts = c->attempts;
	if (llm_acct_record(c->r->acct, c->edge, c->incident, c->purpose, t->provider, t->model,
	                    &resp.usage, resp.cost_usd, &d) < 0)
		log_warn("llm: cannot record usage: %s, ignoring", d.msg);
	if (c->ti > 0 || c->attempts > 1)
		log_info("llm: purpose '%s' answered by %s/%s after %u attempts", c->purpose,
		         t->provider, t->model, c->attempts);
	finish(c, 0, &resp, NULL);
	llm_response_release(&resp);
}

/* The transfer ended: decide between success, downgrade, retry, fallback and failure. */
static void transfer_done(struct llm_call *c, CURLcode cc)
{
	const struct llm_conf *conf = c->r->conf;
	struct target *t = &c->targets[c->ti];
	struct llm_error e = { 0 };
	struct diag d = { 0 };
	int64_t delay;

	if (!c->decided)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->overflow) {
		snprintf(e.msg, sizeof(e.msg), "response exceeds %u bytes",
		         ONGRID_LLM_MAX_RESPONSE_BYTES);
		e.fatal_for_route = true;
	} else if (c->parse_err.code) {
		str_copy(e.msg, c->parse_err.msg, sizeof(e.msg));
		e.retryable = true;
	} else if (cc != CURLE_OK) {
		str_copy(e.msg,
		         cc == CURLE_OPERATION_TIMEDOUT ? "timed out"
		         : c->curl_err[0]               ? c->curl_err
		                                        : curl_easy_strerror(cc),
		         sizeof(e.msg));
		e.retryable = true;
	} else if (c->status >= 200 && c->status < 300) {
		int rc = 0;
		if (c->sse_mode) {
			rc = sse_finish(&c->sse, on_event, c);
			/* Gemini may send a bare JSON error without "data:". */
			if (rc == 0 && !c->st.done && !c->st.failed && c->sse.stray.len)
				rc = t->prov->parse(&c->st, NULL, c->sse.stray.data,
				                    c->sse.stray.len, NULL, NULL, &c->parse_err);
		} else {
			rc = t->prov->parse(&c->st, NULL, buf_str(&c->body), c->body.len,
			                    c->o.on_delta, c->o.udata, &c->parse_err);
		}
		if (rc < 0) {
			str_copy(e.msg, c->parse_err.code ? c->parse_err.msg : "malformed response",
			         sizeof(e.msg));
			e.retryable = true;
		} else if (c->st.failed) {
			e = c->st.err;
		} else if (!c->st.done) {
			snprintf(e.msg, sizeof(e.msg), "the stream ended before the response did");
			e.retryable = true;
		} else {
			succeed(c);
			return;
		}
	} else {
		t->prov->classify(c->status, buf_str(&c->body), c->body.len, c->dg, t->vendor, &e);
		if (c->should_retry == 1)
			e.retryable = true;
		else if (c->should_retry == 0)
			e.retryable = false;
	}
	if (c->status >= 300)
		snprintf(c->last_err, sizeof(c->last_err), "%.64s/%.128s: HTTP %ld: %s",
		         t->provider, t->model, c->status, e.msg);
	else
		snprintf(c->last_err, sizeof(c->last_err), "%.64s/%.128s: %s", t->provider,
		         t->model, e.msg);

	if (e.downgrade && !(c->dg & e.downgrade) && c->dg_steps < LLM_DG_COUNT) {
		c->dg |= e.downgrade;
		c->dg_steps++;
		if (llm_acct_downgrades_add(c->r->acct, t->base, t->model, e.downgrade, &d) < 0)
			log_warn("llm: cannot remember a downgrade: %s, ignoring", d.msg);
		log_warn("llm: %s/%s rejected a parameter (%s): retrying with '%s', remembered for "
		         "this model",
		         t->provider, t->model, e.msg, llm_downgrade_name(e.downgrade));
		wait_then(c, 0);
		return;
	}
	if (c->st.emitted) {
		/* Text already reached the caller: a retry would repeat it. */
		char msg[700];
		snprintf(msg, sizeof(msg), "the response broke off after text was streamed: %s",
		         c->last_err);
		finish(c, -EIO, NULL, msg);
		return;
	}
	delay = c->hdr_retry_ms ? c->hdr_retry_ms : e.retry_after_ms;
	if (e.retryable && !e.fatal_for_route && c->attempt < (unsigned)conf->retries) {
		if (delay > conf->max_retry_wait_ms) {
			log_warn("llm: %s asks to wait %.1fs, more than llm.max_retry_wait",
			         c->last_err, (double)delay / 1000);
			next_target(c);
			return;
		}
		if (delay <= 0)
			delay = backoff_ms(c->attempt);
		c->attempt++;
		log_info("llm: %s, retrying in %.1fs (retry %u of %lld)", c->last_err,
		         (double)delay / 1000, c->attempt, (long long)conf->retries);
		wait_then(c, delay);
		return;
	}
	next_target(c);
}

/* ---- driving ---- */

static void start_due(struct llm_router *r)
{
	struct list_head *p, *n;
	int64_t now = mono_ms();

	list_for_each_safe(p, n, &r->calls) {
		struct llm_call *c = list_entry(p, struct llm_call, node);
		if (c->state == CALL_WAITING && c->wake_at_ms <= now)
			launch(c);
	}
}

/* The earliest of curl's timer and the retry wake-ups, in ms from now; -1 for none. */
int64_t llm_router_timeout_ms(struct llm_router *r)
{
	struct list_head *p;
	int64_t best = -1, now = mono_ms();

	list_for_each(p, &r->calls) {
		struct llm_call *c = list_entry(p, struct llm_call, node);
		if (c->state == CALL_WAITING) {
			int64_t w = c->wake_at_ms > now ? c->wake_at_ms - now : 0;
			if (best < 0 || w < best)
				best = w;
		}
	}
	if (r->curl_deadline_ms >= 0) {
		int64_t w = r->curl_deadline_ms > now ? r->curl_deadline_ms - now : 0;
		if (best < 0 || w < best)
			best = w;
	}
	return best;
}

static void notify_timer(struct llm_router *r)
{
	if (r->loop.timer)
		r->loop.timer(r->loop.udata, llm_router_timeout_ms(r));
}

/* CURLMOPT_SOCKETFUNCTION: keep the set of fds to watch, and tell the host loop. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct llm_router *r = userp;
	short ev = (short)((what == CURL_POLL_IN || what == CURL_POLL_INOUT ? POLLIN : 0) |
	                   (what == CURL_POLL_OUT || what == CURL_POLL_INOUT ? POLLOUT : 0));
	size_t i;

	(void)e;
	(void)socketp;
	for (i = 0; i < r->nfds && r->fds[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < r->nfds)
			r->fds[i] = r->fds[--r->nfds];
	} else {
		if (i == r->nfds) {
			ALLOC_GROW(r->fds, r->nfds + 1, r->fds_alloc);
			r->nfds++;
		}
		r->fds[i].fd = fd;
		r->fds[i].events = ev;
		r->fds[i].revents = 0;
	}
	if (r->loop.watch)
		r->loop.watch(r->loop.udata, fd,
		              (ev & POLLIN ? LLM_WATCH_IN : 0u) |
		                      (ev & POLLOUT ? LLM_WATCH_OUT : 0u));
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct llm_router *r = userp;

	(void)m;
	r->curl_deadline_ms = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	notify_timer(r);
	return 0;
}

/* After curl did work: finish transfers, start what is due, re-arm the host timer. */
static void after_action(struct llm_router *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left))) {
		struct llm_call *c = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c)
			transfer_done(c, m->data.result);
	}
	start_due(r);
	notify_timer(r);
}

void llm_router_set_loop(struct llm_router *r, const struct llm_loop_ops *ops)
{
	r->loop = *ops;
	for (size_t i = 0; i < r->nfds && r->loop.watch; i++)
		r->loop.watch(r->loop.udata, r->fds[i].fd,
		              (r->fds[i].events & POLLIN ? LLM_WATCH_IN : 0u) |
		                      (r->fds[i].events & POLLOUT ? LLM_WATCH_OUT : 0u));
	notify_timer(r);
}

void llm_router_fd_ready(struct llm_router *r, int fd, unsigned events)
{
	int running = 0;
	int flags = (events & LLM_WATCH_IN ? CURL_CSELECT_IN : 0) |
	            (events & LLM_WATCH_OUT ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(r->multi, fd, flags, &running);
	after_action(r);
}

void llm_router_timer_expired(struct llm_router *r)
{
	int running = 0;

	if (r->curl_deadline_ms >= 0 && r->curl_deadline_ms <= mono_ms()) {
		r->curl_deadline_ms = -1;
		curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	after_action(r);
}

int llm_router_poll(struct llm_router *r, int timeout_ms)
{
	struct pollfd *set;
	size_t n;
	int64_t wait;
	int rc;

	start_due(r);
	if (!r->ncalls)
		return 0;
	wait = llm_router_timeout_ms(r);
	if (wait < 0 || wait > timeout_ms)
		wait = timeout_ms;
	/* Poll a copy: curl's socket callback edits r->fds while we act on the results. */
	n = r->nfds;
	set = xcalloc(n + 1, sizeof(*set));
	if (n)
		memcpy(set, r->fds, n * sizeof(*set));
	rc = poll(set, n, (int)wait);
	for (size_t i = 0; rc > 0 && i < n; i++) {
		int running = 0, flags = 0;
		if (!set[i].revents)
			continue;
		flags |= set[i].revents & (POLLIN | POLLHUP) ? CURL_CSELECT_IN : 0;
		flags |= set[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0;
		flags |= set[i].revents & (POLLERR | POLLNVAL) ? CURL_CSELECT_ERR : 0;
		curl_multi_socket_action(r->multi, set[i].fd, flags, &running);
	}
	free(set);
	llm_router_timer_expired(r);
	return (int)r->ncalls;
}

int llm_router_submit(struct llm_router *r, const struct llm_request *req,
                      const struct llm_call_opts *o, struct llm_call **ret_call, struct diag *d)
{
	struct llm_call *c;
	char **route = NULL;
	bool override;
	int rc;

	if (!o->purpose || !*o->purpose || !o->on_done)
		return diag_set(d, -EINVAL, "an LLM call needs a purpose and a done callback");
	if (r->ncalls >= ONGRID_LLM_MAX_CALLS)
		return diag_set(d, -EBUSY, "%d LLM calls are already in flight",
		                ONGRID_LLM_MAX_CALLS);
	rc = llm_acct_check_budget(r->acct, r->conf, o->incident, d);
	if (rc < 0)
		return rc;
	rc = llm_router_route(r, o->purpose, &route, &override, d);
	if (rc < 0)
		return rc;
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->req = req;
	c->o = *o;
	c->purpose = xstrdup(o->purpose);
	c->edge = o->edge ? xstrdup(o->edge) : NULL;
	c->incident = o->incident ? xstrdup(o->incident) : NULL;
	for (size_t i = 0; route[i] && c->ntargets < ONGRID_LLM_MAX_FALLBACKS; i++)
		resolve_target(r->conf, route[i], &c->targets[c->ntargets++]);
	llm_strv_free(route);
	c->state = CALL_WAITING;
	c->wake_at_ms = 0;
	list_add_tail(&c->node, &r->calls);
	r->ncalls++;
	if (ret_call)
		*ret_call = c;
	notify_timer(r); /* the call starts from the host's loop, at once */
	return 0;
}

struct sync_state {
	llm_emit_fn *on_delta; /* the caller's, with its udata */
	void *udata;
	bool done;
	int err;
	struct llm_response resp;
	char msg[ONGRID_DIAG_MAX];
};

static void sync_delta(void *udata, enum llm_delta_kind kind, const char *text, size_t len)
{
	struct sync_state *s = udata;

	s->on_delta(s->udata, kind, text, len);
}

static void sync_done(void *udata, int err, struct llm_response *resp, const char *msg)
{
	struct sync_state *s = udata;

	s->done = true;
	s->err = err;
	if (err == 0) {
		s->resp = *resp;
		memset(resp, 0, sizeof(*resp));
	} else {
		snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "failed");
	}
}

int llm_router_call(struct llm_router *r, const struct llm_request *req,
                    const struct llm_call_opts *o, struct llm_response *ret, struct diag *d)
{
	struct sync_state s = { 0 };
	struct llm_call_opts so = *o;
	int rc;

	s.on_delta = o->on_delta;
	s.udata = o->udata;
	so.on_delta = o->on_delta ? sync_delta : NULL;
	so.on_done = sync_done;
	so.udata = &s;
	rc = llm_router_submit(r, req, &so, NULL, d);
	if (rc < 0)
		return rc;
	while (!s.done)
		llm_router_poll(r, 1000);
	if (s.err < 0)
		return diag_set(d, s.err, "%s", s.msg);
	*ret = s.resp;
	return 0;
}
