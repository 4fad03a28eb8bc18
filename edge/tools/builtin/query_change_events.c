/* query_change_events.c - what changed on this host in a time window: packages, files
 * under watched directories, binaries replaced, processes (re)started, logins, kernel
 * events (edge/change.h). The daemon records them continuously; without it, the logs,
 * wtmp and the kernel ring buffer are read once now, and file writes and restarts (which
 * only a running watcher sees) are said to be missing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/change.h"
#include "edge/edge.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

static bool daemon_running(const struct edge_conf *c)
{
	cJSON *req = json_obj(), *res = NULL;
	struct diag d = { 0 };
	int r;

	json_add_str(req, "cmd", "status");
	r = evidence_ctl(c, req, 3000, &res, &d);
	cJSON_Delete(req);
	cJSON_Delete(res);
	return r >= 0;
}

static int changes_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *kind = arg_str(args, "kind", NULL), *match = arg_str(args, "match", NULL);
	const char *since_s = arg_str(args, "since", NULL), *until_s = arg_str(args, "until", NULL);
	int64_t until = now_ms(), since = until - arg_int(args, "minutes", 60) * 60000;
	cJSON *data = NULL, *ev, *e;
	bool live = daemon_running(ctx->conf);
	int r;

	if (since_s && clock_parse_time(since_s, &since) < 0)
		return diag_set(&ctx->diag, -EINVAL,
		                "args.since: expected RFC 3339 or Unix seconds, "
		                "got '%s'",
		                since_s);
	if (until_s && clock_parse_time(until_s, &until) < 0)
		return diag_set(&ctx->diag, -EINVAL,
		                "args.until: expected RFC 3339 or Unix seconds, "
		                "got '%s'",
		                until_s);
	if (until < since)
		return diag_set(&ctx->diag, -EINVAL, "args: until is before since");
	if (!live) {
		r = change_scan(ctx->conf, &ctx->diag);
		if (r < 0)
			return r;
	}
	r = change_query_json(ctx->conf, since, until, kind, match, arg_limit(args), &data,
	                      &ctx->diag);
	if (r < 0)
		return r;
	ev = evidence_new();
	json_add_str(ev, "history",
	             live ? "on: recorded continuously by the daemon"
	                  : "partly off: no daemon running; packages, logins and kernel events "
	                    "were read from their logs now, file writes and process restarts "
	                    "are only recorded while the daemon runs");
	double total = cJSON_GetNumberValue(cJSON_GetObjectItem(data, "total"));
	char from[40], to[40];
	clock_format_rfc3339(from, sizeof(from), since);
	clock_format_rfc3339(to, sizeof(to), until);
	if (total == 0) {
		evidence_say(ev, "no %s changes between %s and %s", kind ? kind : "recorded", from,
		             to);
	} else {
		char kinds[200] = "";
		size_t o = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(data, "by_kind")) {
			if (o < sizeof(kinds))
				o += (size_t)snprintf(kinds + o, sizeof(kinds) - o, "%s%.0f %s",
				                      o ? ", " : "", e->valuedouble, e->string);
		}
		evidence_say(ev, "%.0f changes between %s and %s: %s", total, from, to, kinds);
		int i = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(data, "events")) {
			if (i++ >= 8)
				break;
			evidence_say(ev, "%s %s %s: %.200s",
			             cJSON_GetStringValue(cJSON_GetObjectItem(e, "time")),
			             cJSON_GetStringValue(cJSON_GetObjectItem(e, "kind")),
			             cJSON_GetStringValue(cJSON_GetObjectItem(e, "subject")),
			             cJSON_GetStringValue(cJSON_GetObjectItem(e, "detail")));
		}
	}
	json_add_str(ev, "since", from);
	json_add_str(ev, "until", to);
	json_add(ev, "by_kind", cJSON_DetachItemFromObject(data, "by_kind"));
	json_add(ev, "events", cJSON_DetachItemFromObject(data, "events"));
	cJSON_Delete(data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_query_change_events = {
	.name = "query_change_events",
	.class = TOOL_SAFE_READ,
	.summary = "what changed in a time window: packages, files, binaries, restarts, logins, "
	           "kernel",
	.description = "Change events, newest first, in the last `minutes` or between since and "
	               "until (RFC 3339): package installs/upgrades/removals (dpkg, apt), files "
	               "written under watched directories (with the writing process when the "
	               "kernel can tell), binaries replaced, processes started or restarted, "
	               "logins, kernel OOM kills, I/O errors and link changes. Filter by kind "
	               "or a substring.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"minutes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":525600},"
	               "\"since\":{\"type\":\"string\",\"maxLength\":40},"
	               "\"until\":{\"type\":\"string\",\"maxLength\":40},"
	               "\"kind\":{\"type\":\"string\",\"enum\":[\"package\",\"file\",\"binary\","
	               "\"process\",\"login\",\"kernel\"]},"
	               "\"match\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = changes_run,
};
