/* profile_cpu.c - which code is burning the CPU: a few seconds of on-CPU stack samples on
 * every CPU (edge/tools/profile.h), the busiest processes with their top functions and
 * stacks. Safe-read: it observes, and the sampling stops when the call returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/profile.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static int profile_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	struct profile_opts o = {
		.duration_ms = (int)arg_int(args, "duration_s", 5) * 1000,
		.hz = (int)arg_int(args, "hz", 49),
		.pid = (int)arg_int(args, "pid", 0),
		.processes = (size_t)arg_int(args, "processes", 5),
	};
	cJSON *data = NULL, *ev, *p;
	int r;

	if (o.duration_ms + 2000 > tool_time_left_ms(ctx))
		o.duration_ms =
		        (int)(tool_time_left_ms(ctx) - 2000 > 100 ? tool_time_left_ms(ctx) - 2000
		                                                  : 100);
	r = profile_cpu_json(&o, &data, &ctx->diag);
	if (r < 0)
		return r;
	ev = evidence_new();
	double total = cJSON_GetNumberValue(cJSON_GetObjectItem(data, "samples"));
	double idle = cJSON_GetNumberValue(cJSON_GetObjectItem(data, "idle_samples"));
	evidence_say(ev, "%.0f samples over %.1f s on %.0f CPUs at %d Hz: %.0f%% idle", total,
	             o.duration_ms / 1000.0,
	             cJSON_GetNumberValue(cJSON_GetObjectItem(data, "cpus")), o.hz,
	             total > 0 ? idle / total * 100 : 0);
	int i = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(data, "processes")) {
		if (i++ >= 3)
			break;
		cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "functions"), 0);
		evidence_say(ev,
		             "pid %.0f (%s): %.1f%% of samples; top function %s (%.0f%% of its "
		             "samples)",
		             cJSON_GetNumberValue(cJSON_GetObjectItem(p, "pid")),
		             cJSON_GetStringValue(cJSON_GetObjectItem(p, "comm")),
		             cJSON_GetNumberValue(cJSON_GetObjectItem(p, "pct")),
		             f ? cJSON_GetStringValue(cJSON_GetObjectItem(f, "name")) : "?",
		             f ? cJSON_GetNumberValue(cJSON_GetObjectItem(f, "pct")) : 0);
	}
	if (i == 0)
		evidence_say(ev,
		             o.pid ? "pid %d was never on a CPU while sampling"
		                   : "no process was on a CPU while sampling",
		             o.pid);
	/* the figures and rows after the findings */
	for (cJSON *it = data->child; it; it = it->next)
		json_add(ev, it->string, cJSON_Duplicate(it, true));
	cJSON_Delete(data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_profile_cpu = {
	.name = "profile_cpu",
	.class = TOOL_SAFE_READ,
	.summary = "sample on-CPU stacks for a few seconds: top processes, functions, stacks",
	.description = "Sample every CPU (cpu-clock perf event with an eBPF stack recorder) for "
	               "duration_s seconds and return the busiest processes with their top "
	               "functions (user space symbolised with elfutils, kernel with kallsyms, "
	               "marked [k]) and their top folded stacks. Use it when a process burns CPU "
	               "and you need to know which code.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"duration_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":30},"
	               "\"hz\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":999},"
	               "\"pid\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4194304},"
	               "\"processes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50}},"
	               "\"additionalProperties\":false}",
	.run = profile_run,
};
