/* query_logs.c - LogQL over the edge's log index: the running daemon answers when it
 * serves logs; otherwise the index on disk is opened read-only. Findings count lines per
 * stream and quote the newest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/logs/logs.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Ask the daemon (cmd), else open the index read-only and call fn. */
static int ask(struct tool_ctx *ctx, cJSON *req, cJSON **ret, const char **ret_source,
               int (*local)(void *udata, const cJSON *req, cJSON **ret, struct diag *d))
{
	struct logs *l;
	int r;

	r = evidence_ctl(ctx->conf, req, tool_time_left_ms(ctx), ret, &ctx->diag);
	/* An older daemon without the logs command answers "unknown command": read the
	 * index ourselves then, as with no daemon. */
	if (r >= 0)
		*ret_source = "daemon";
	if (r == -ENOENT || r == -ECONNREFUSED || (r < 0 && strstr(ctx->diag.msg, "unknown"))) {
		memset(&ctx->diag, 0, sizeof(ctx->diag));
		r = logs_open_readonly(ctx->conf, &l, &ctx->diag);
		if (r == -ENOENT)
			return diag_set(
			        &ctx->diag, -ENOENT,
			        "history off: no daemon is running and no logs were indexed "
			        "under '%s'",
			        ctx->conf->data_dir);
		if (r < 0)
			return r;
		r = local(l, req, ret, &ctx->diag);
		logs_close(l);
		*ret_source = "index on disk (no daemon running)";
	}
	return r;
}

int query_logs_ask(struct tool_ctx *ctx, cJSON *req, cJSON **ret, const char **ret_source,
                   bool patterns)
{
	return ask(ctx, req, ret, ret_source, patterns ? logs_ctl_patterns : logs_ctl_query);
}

static int ql_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *q = arg_str(args, "query", ""), *source = "";
	int64_t minutes = arg_int(args, "minutes", 60), end = now_ms();
	cJSON *req = json_obj(), *data = NULL, *ev, *s;
	int r, total = 0;

	json_add_str(req, "cmd", "logs");
	json_add_str(req, "query", q);
	json_add_num(req, "start", (double)(end - minutes * 60000));
	json_add_num(req, "end", (double)end);
	json_add_num(req, "limit", (double)arg_limit(args));
	r = ask(ctx, req, &data, &source, logs_ctl_query);
	cJSON_Delete(req);
	if (r < 0)
		return r;
	ev = evidence_new();
	json_add_str(ev, "history", "on");
	json_add_str(ev, "source", source);
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(data, "resultType"));
	cJSON *result = cJSON_GetObjectItem(data, "result");
	if (type && strcmp(type, "streams") == 0) {
		/* rows: {"time", "ts_ms", "labels", "line"}, newest first */
		cJSON *stats = cJSON_GetObjectItem(data, "stats");
		double matched = cJSON_GetNumberValue(cJSON_GetObjectItem(stats, "lines_matched"));
		bool limited = cJSON_IsTrue(cJSON_GetObjectItem(data, "limited"));
		total = cJSON_GetArraySize(result);
		evidence_say(ev, "%.0f lines match in the last %lld minutes%s", matched,
		             (long long)minutes, limited ? "; the newest are shown" : "");
		s = cJSON_GetArrayItem(result, 0);
		if (s)
			evidence_say(ev, "newest at %s: %.200s",
			             cJSON_GetStringValue(cJSON_GetObjectItem(s, "time")),
			             cJSON_GetStringValue(cJSON_GetObjectItem(s, "line")));
		s = cJSON_GetArrayItem(result, total - 1);
		if (s && total > 1)
			evidence_say(ev, "oldest shown at %s",
			             cJSON_GetStringValue(cJSON_GetObjectItem(s, "time")));
	} else {
		evidence_say(ev, "%d series from a metric query", cJSON_GetArraySize(result));
	}
	json_add(ev, "data", data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_query_logs = {
	.name = "query_logs",
	.class = TOOL_SAFE_READ,
	.summary = "LogQL over this host's indexed logs (last N minutes)",
	.description = "Run a LogQL query ({job=\"nginx\"} |= \"error\", or a metric query "
	               "such as sum by (job) (count_over_time({job=~\".+\"} |= \"error\" [5m]))) "
	               "over the lines the edge indexed in the last `minutes`. Log queries return "
	               "the newest `limit` lines.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"query\"],\"properties\":{"
	               "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
	               "\"minutes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10080},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = ql_run,
};
