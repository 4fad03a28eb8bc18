/* llm_fixture.h - helpers the LLM translator tests share: feed recorded SSE bytes through
 * shared/sse.c into a provider's parse(), in chunks of every size, and look into the JSON
 * a provider built. Header-only: each test binary is one .c file. */
#ifndef ONGRID_TEST_LLM_FIXTURE_H
#define ONGRID_TEST_LLM_FIXTURE_H

#include <string.h>

#include "relay/llm/llm.h"
#include "shared/json.h"
#include "shared/sse.h"

struct fx {
	const struct llm_provider *p;
	struct llm_stream st;
	struct diag d;
	char emitted[4096];
	size_t nemitted;
};

static inline void fx_emit(void *udata, enum llm_delta_kind kind, const char *t, size_t n)
{
	struct fx *f = udata;

	if (kind == LLM_DELTA_TEXT && f->nemitted + n < sizeof(f->emitted)) {
		memcpy(f->emitted + f->nemitted, t, n);
		f->nemitted += n;
		f->emitted[f->nemitted] = '\0';
	}
}

static inline int fx_event(void *udata, const char *event, const char *data, size_t len)
{
	struct fx *f = udata;

	return f->p->parse(&f->st, event, data, len, fx_emit, f, &f->d);
}

/* Parse a whole SSE capture fed in chunks of `chunk` bytes; fills resp. Returns the
 * first error of the parser or the provider. */
static inline int fx_stream(const struct llm_provider *p, const char *bytes, size_t chunk,
                            struct llm_response *resp, struct fx *f)
{
	struct sse_parser sp;
	size_t len = strlen(bytes);
	int r = 0;

	memset(f, 0, sizeof(*f));
	f->p = p;
	llm_stream_init(&f->st);
	sse_init(&sp, 1 << 20);
	for (size_t i = 0; i < len && r == 0; i += chunk)
		r = sse_feed(&sp, bytes + i, len - i < chunk ? len - i : chunk, fx_event, f);
	if (r == 0)
		r = sse_finish(&sp, fx_event, f);
	if (r == 0 && sp.stray.len && !f->st.done)
		r = p->parse(&f->st, NULL, sp.stray.data, sp.stray.len, NULL, NULL, &f->d);
	sse_release(&sp);
	llm_stream_finish(&f->st, resp);
	return r;
}

static inline int fx_whole(const struct llm_provider *p, const char *body,
                           struct llm_response *resp, struct fx *f)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->p = p;
	llm_stream_init(&f->st);
	r = p->parse(&f->st, NULL, body, strlen(body), fx_emit, f, &f->d);
	llm_stream_finish(&f->st, resp);
	return r;
}

/* Build req for ep and parse the body; caller cJSON_Delete()s. url is returned too. */
static inline cJSON *fx_build(const struct llm_provider *p, const struct llm_endpoint *ep,
                              const struct llm_request *req, char *url, size_t urlsz)
{
	struct llm_http_req h = { 0 };
	struct diag d = { 0 };
	cJSON *j = NULL;

	if (p->build(ep, req, &h, &d) == 0) {
		j = cJSON_Parse(h.body);
		if (url)
			snprintf(url, urlsz, "%s", h.url);
	}
	llm_http_req_release(&h);
	return j;
}

/* A request from neutral JSON text (asserting it parses). */
static inline int fx_request(const char *json, struct llm_request *req)
{
	struct diag d = { 0 };
	cJSON *j = cJSON_Parse(json);
	int r = j ? llm_request_from_json(j, req, &d) : -EINVAL;

	cJSON_Delete(j);
	return r;
}

/* Print a cJSON subtree compactly for string comparison. */
static inline char *fx_str(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

#endif
