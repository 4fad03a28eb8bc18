/* cache.c - one investigation's tool results by (tool, arguments). A model that asks for the
 * same metric three times, or two specialists that both list processes, get the first
 * answer again: same evidence, no second cost, and a loop shows up as hits.
 */
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/alloc.h"
#include "shared/banned.h"

struct cache_entry {
	char *tool;
	char *args; /* the arguments as compact JSON: the key */
	cJSON *result;
};

struct tool_cache {
	struct cache_entry *e;
	size_t n, max, hits;
};

struct tool_cache *tool_cache_new(size_t max_entries)
{
	struct tool_cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries;
	c->e = xcalloc(max_entries ? max_entries : 1, sizeof(*c->e));
	return c;
}

void tool_cache_free(struct tool_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].tool);
		free(c->e[i].args);
		cJSON_Delete(c->e[i].result);
	}
	free(c->e);
	free(c);
}

const cJSON *tool_cache_get(struct tool_cache *c, const char *tool, const char *args_json)
{
	/* linear: an investigation makes tens of calls, never thousands (agent.max_steps) */
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].tool, tool) == 0 && strcmp(c->e[i].args, args_json) == 0) {
			c->hits++;
			return c->e[i].result;
		}
	return NULL;
}

const cJSON *tool_cache_put(struct tool_cache *c, const char *tool, const char *args_json,
                            cJSON *result)
{
	/* max is the step budget, which already bounds the calls: growing past it is a bug
	 * elsewhere, not a reason to lose evidence the report points at */
	if (c->n >= c->max) {
		c->max = c->max ? c->max * 2 : 8;
		c->e = xrealloc(c->e, st_mul(c->max, sizeof(*c->e)));
	}
	c->e[c->n].tool = xstrdup(tool);
	c->e[c->n].args = xstrdup(args_json);
	c->e[c->n].result = result;
	return c->e[c->n++].result;
}

size_t tool_cache_hits(const struct tool_cache *c)
{
	return c->hits;
}
