/* fuzz_llm_parse: model and provider output is hostile. Each translator's parse() and
 * classify() must survive any bytes, as SSE events or as a whole body, and what they
 * assemble must survive llm_stream_finish() and llm_response_to_json().
 * Byte 0 picks the provider, byte 1 the mode (SSE or whole body) and the chunk size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/llm.h"
#include "shared/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const struct llm_provider *p;
	struct llm_stream st;
	struct diag d;
};

static void on_delta(void *udata, enum llm_delta_kind kind, const char *t, size_t n)
{
	(void)udata;
	(void)kind;
	(void)t;
	(void)n;
}

static int on_event(void *udata, const char *event, const char *data, size_t len)
{
	struct ctx *c = udata;

	return c->p->parse(&c->st, event, data, len, on_delta, c, &c->d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct llm_provider *const provs[] = { &openai_provider, &anthropic_provider,
		                                            &gemini_provider };
	struct ctx c;
	struct llm_response resp;
	struct llm_error e;
	cJSON *j;
	char *s;

	if (size < 2)
		return 0;
	memset(&c, 0, sizeof(c));
	c.p = provs[data[0] % 3];
	llm_stream_init(&c.st);
	if (data[1] & 1) {
		struct sse_parser sp;
		size_t chunk = (size_t)(data[1] >> 1) + 1;
		int r = 0;
		sse_init(&sp, 1 << 16);
		for (size_t i = 2; i < size && r == 0; i += chunk)
			r = sse_feed(&sp, (const char *)data + i,
			             size - i < chunk ? size - i : chunk, on_event, &c);
		if (r == 0)
			r = sse_finish(&sp, on_event, &c);
		if (r == 0 && sp.stray.len)
			(void)c.p->parse(&c.st, NULL, sp.stray.data, sp.stray.len, NULL, NULL,
			                 &c.d);
		sse_release(&sp);
	} else {
		(void)c.p->parse(&c.st, NULL, (const char *)data + 2, size - 2, on_delta, &c, &c.d);
	}
	llm_stream_finish(&c.st, &resp);
	j = llm_response_to_json(&resp);
	s = cJSON_PrintUnformatted(j);
	free(s);
	cJSON_Delete(j);
	llm_response_release(&resp);
	llm_stream_release(&c.st);
	c.p->classify(400 + data[1] % 200, (const char *)data + 2, size - 2, data[1],
	              LLM_VENDOR_GENERIC, &e);
	return 0;
}
