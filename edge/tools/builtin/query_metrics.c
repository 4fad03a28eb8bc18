/* query_metrics.c - PromQL over the edge's own time-series store: the running daemon
 * answers when there is one; otherwise the store on disk is read (what the daemon kept
 * until it stopped). Findings summarise each series - last value, and for a range its
 * lowest and highest and when it moved most - so a reader need not scan the points. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edge/edge.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "edge/tsdb/promql.h"
#include "edge/tsdb/tsdb.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Series summarised in findings; points kept per series in the rows. */
#define QM_FINDING_SERIES 5
#define QM_POINTS_KEPT    60

static void series_name(const cJSON *metric, char *out, size_t outsz)
{
	const cJSON *l;
	size_t o = 0;

	out[0] = '\0';
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(metric, "__name__");
	if (cJSON_IsString(name))
		o += (size_t)snprintf(out, outsz, "%s", name->valuestring);
	if (o < outsz)
		o += (size_t)snprintf(out + o, outsz - o, "{");
	bool first = true;
	cJSON_ArrayForEach(l, metric) {
		if (strcmp(l->string, "__name__") == 0 || !cJSON_IsString(l) || o >= outsz)
			continue;
		o += (size_t)snprintf(out + o, outsz - o, "%s%s=\"%s\"", first ? "" : ",",
		                      l->string, l->valuestring);
		first = false;
	}
	if (o < outsz)
		snprintf(out + o, outsz - o, "}");
}

static double point_value(const cJSON *p, double *t)
{
	*t = cJSON_GetArrayItem(p, 0)->valuedouble;
	const cJSON *v = cJSON_GetArrayItem(p, 1);
	return cJSON_IsString(v) ? strtod(v->valuestring, NULL) : NAN;
}

static void summarise(cJSON *ev, cJSON *data)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(data, "resultType"));
	cJSON *result = cJSON_GetObjectItem(data, "result"), *s;
	int n = cJSON_GetArraySize(result), i = 0;
	char name[200], when[40];

	if (!type)
		type = "?";
	if (strcmp(type, "scalar") == 0) {
		double t;
		evidence_say(ev, "scalar %g", point_value(result, &t));
		return;
	}
	if (n == 0) {
		evidence_say(ev, "no series match (the metric may not exist on this host, or "
		                 "nothing was recorded in the window)");
		return;
	}
	evidence_say(ev, "%d series", n);
	cJSON_ArrayForEach(s, result) {
		if (i++ >= QM_FINDING_SERIES)
			break;
		series_name(cJSON_GetObjectItem(s, "metric"), name, sizeof(name));
		if (strcmp(type, "vector") == 0) {
			double t, v = point_value(cJSON_GetObjectItem(s, "value"), &t);
			evidence_say(ev, "%s = %g", name, v);
			continue;
		}
		cJSON *vals = cJSON_GetObjectItem(s, "values"), *p;
		double lo = INFINITY, hi = -INFINITY, first = NAN, last = NAN, prev = NAN, jump = 0,
		       jump_t = 0, t;
		cJSON_ArrayForEach(p, vals) {
			double v = point_value(p, &t);
			if (isnan(first))
				first = v;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
			if (!isnan(prev) && fabs(v - prev) > fabs(jump)) {
				jump = v - prev;
				jump_t = t;
			}
			prev = last = v;
		}
		if (jump != 0) {
			clock_format_rfc3339(when, sizeof(when), (int64_t)(jump_t * 1000));
			evidence_say(
			        ev,
			        "%s went from %g to %g (min %g, max %g); biggest step %+g at %s",
			        name, first, last, lo, hi, jump, when);
		} else {
			evidence_say(ev, "%s steady at %g", name, last);
		}
		/* keep the last points only */
		while (cJSON_GetArraySize(vals) > QM_POINTS_KEPT)
			cJSON_DeleteItemFromArray(vals, 0);
	}
}

static int read_store(struct tool_ctx *ctx, const char *q, int64_t start, int64_t end, int64_t step,
                      cJSON **ret)
{
	char *dir = xasprintf("%s/tsdb", ctx->conf->data_dir);
	struct tsdb_opts o = { .dir = dir, .read_only = true };
	struct tsdb *db;
	struct stat st;
	int r;

	if (stat(dir, &st) < 0) {
		r = diag_set(&ctx->diag, -ENOENT,
		             "history off: no daemon is running and there is no time-series store "
		             "in '%s'",
		             dir);
		goto out;
	}
	r = tsdb_open(&o, &db, &ctx->diag);
	if (r < 0)
		goto out;
	r = promql_query_json(db, q, start, end, step, ret, &ctx->diag);
	tsdb_close(db);
out:
	free(dir);
	return r;
}

static int qm_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *q = arg_str(args, "query", "");
	int64_t minutes = arg_int(args, "minutes", 0), end = now_ms(), start = end, step = 0;
	cJSON *req, *data = NULL, *ev;
	const char *source = "daemon";
	int r;

	if (minutes > 0) {
		start = end - minutes * 60000;
		step = arg_int(args, "step_s", 0) * 1000;
		if (step <= 0)
			step = minutes * 60000 / 60 > 15000 ? minutes * 60000 / 60 : 15000;
	}
	req = json_obj();
	json_add_str(req, "cmd", "query");
	json_add_str(req, "query", q);
	json_add_num(req, "start", (double)start);
	json_add_num(req, "end", (double)end);
	json_add_num(req, "step", (double)step);
	json_add_num(req, "time", (double)end);
	r = evidence_ctl(ctx->conf, req, tool_time_left_ms(ctx), &data, &ctx->diag);
	cJSON_Delete(req);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		memset(&ctx->diag, 0, sizeof(ctx->diag));
		source = "store on disk (no daemon running)";
		r = read_store(ctx, q, start, end, step, &data);
	}
	if (r < 0)
		return r;
	ev = evidence_new();
	json_add_str(ev, "history", "on");
	json_add_str(ev, "source", source);
	json_add_str(ev, "query", q);
	summarise(ev, data);
	json_add(ev, "data", data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_query_metrics = {
	.name = "query_metrics",
	.class = TOOL_SAFE_READ,
	.summary = "PromQL over this host's metrics (instant, or a range of the last N minutes)",
	.description = "Evaluate a PromQL expression over the edge's own store (ongrid_* "
	               "metrics: CPU, memory, pressure, disk, network, TCP per peer, processes). "
	               "minutes = 0 is an instant query now; otherwise a range query over the "
	               "last `minutes` with step_s. Findings give each series' first, last, "
	               "lowest, highest value and its biggest step with the time.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"query\"],\"properties\":{"
	               "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
	               "\"minutes\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":10080},"
	               "\"step_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400}},"
	               "\"additionalProperties\":false}",
	.run = qm_run,
};
