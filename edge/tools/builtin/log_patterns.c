/* log_patterns.c - log templates (drain): the most frequent, or the ones that are new or
 * spiked since a moment, which is usually where an incident shows first in the logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

static int lp_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *mode = arg_str(args, "mode", "changed"), *source = "";
	int64_t minutes = arg_int(args, "minutes", 30), end = now_ms();
	cJSON *req = json_obj(), *data = NULL, *ev, *p;
	int r, i = 0;

	json_add_str(req, "cmd", "log_patterns");
	json_add_str(req, "mode", mode);
	json_add_num(req, "start", (double)(end - minutes * 60000));
	json_add_num(req, "end", (double)end);
	json_add_num(req, "limit", (double)arg_limit(args));
	r = query_logs_ask(ctx, req, &data, &source, true);
	cJSON_Delete(req);
	if (r < 0)
		return r;
	ev = evidence_new();
	json_add_str(ev, "history", "on");
	json_add_str(ev, "source", source);
	cJSON *pats = cJSON_GetObjectItem(data, "patterns");
	if (strcmp(mode, "changed") == 0)
		evidence_say(ev, "%d patterns new or spiked in the last %lld minutes",
		             cJSON_GetArraySize(pats), (long long)minutes);
	else
		evidence_say(ev, "top %d patterns in the last %lld minutes",
		             cJSON_GetArraySize(pats), (long long)minutes);
	cJSON_ArrayForEach(p, pats) {
		if (i++ >= 5)
			break;
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(p, "status"));
		double count = cJSON_GetNumberValue(cJSON_GetObjectItem(p, "count"));
		const char *tmpl = cJSON_GetStringValue(cJSON_GetObjectItem(p, "template"));
		if (status && strcmp(status, "spiked") == 0)
			evidence_say(
			        ev, "spiked: %.0f lines (%.0f in the hour before): %.160s", count,
			        cJSON_GetNumberValue(cJSON_GetObjectItem(p, "count_hour_before")),
			        tmpl ? tmpl : "?");
		else if (status)
			evidence_say(ev, "new: %.0f lines, first seen %s: %.160s", count,
			             cJSON_GetStringValue(cJSON_GetObjectItem(p, "first_seen")),
			             tmpl ? tmpl : "?");
		else
			evidence_say(ev, "%.0f lines: %.160s", count, tmpl ? tmpl : "?");
	}
	json_add(ev, "data", data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_log_patterns = {
	.name = "log_patterns",
	.class = TOOL_SAFE_READ,
	.summary = "log templates: the most frequent, or new and spiked ones",
	.description = "Log lines grouped into templates (numbers, ids and addresses replaced "
	               "by <*>). mode=changed (default): templates first seen in the last "
	               "`minutes` or at least 3x their rate of the hour before; mode=top: the "
	               "most frequent. Each with counts per minute and a sample line.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"mode\":{\"type\":\"string\",\"enum\":[\"top\",\"changed\"]},"
	               "\"minutes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1440},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = lp_run,
};
