/* list_processes.c - the processes running now, busiest first, with CPU measured over a
 * short look rather than since the process started (what `top` shows, not `ps`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static bool matches(const struct proc_row *p, const char *match, const char *user)
{
	if (p->pid == getpid())
		return false; /* the tool itself: its command line holds the match string */
	if (user && strcmp(p->user, user) != 0)
		return false;
	if (match && !strstr(p->comm, match) && !strstr(p->cmdline, match))
		return false;
	return true;
}

static int pid_order(const void *a, const void *b)
{
	return ((const struct proc_row *)a)->pid - ((const struct proc_row *)b)->pid;
}

static int list_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *sort = arg_str(args, "sort", "cpu"), *match = arg_str(args, "match", NULL);
	const char *user = arg_str(args, "user", NULL);
	size_t limit = arg_limit(args), n, shown = 0, matched = 0, states[4] = { 0 };
	struct proc_row *rows;
	int truncated;
	double cpu_total = 0;
	cJSON *ev, *out;
	char b[32];

	(void)ctx;
	procs_scan(500, &rows, &n, &truncated);
	qsort(rows, n, sizeof(*rows),
	      strcmp(sort, "rss") == 0   ? procs_by_rss
	      : strcmp(sort, "pid") == 0 ? pid_order
	                                 : procs_by_cpu);
	ev = evidence_new();
	json_add_str(ev, "history", "off: measured over 0.5 s now");
	json_add_str(ev, "sort", sort);
	out = evidence_rows(ev, "processes");
	for (size_t i = 0; i < n; i++) {
		if (!matches(&rows[i], match, user))
			continue;
		matched++;
		cpu_total += rows[i].cpu_pct;
		if (rows[i].state == 'R')
			states[0]++;
		else if (rows[i].state == 'D')
			states[1]++;
		else if (rows[i].state == 'Z')
			states[2]++;
		if (shown < limit) {
			json_push(out, procs_json(&rows[i]));
			shown++;
		}
	}
	if (match || user)
		evidence_say(ev, "%zu of %zu processes match%s%s%s%s", matched, n,
		             match ? " '" : "", match ? match : "", match ? "'" : "",
		             user ? " for that user" : "");
	else
		evidence_say(ev,
		             "%zu processes: %zu running, %zu in uninterruptible sleep (D), %zu "
		             "zombies",
		             n, states[0], states[1], states[2]);
	if (matched && strcmp(sort, "cpu") == 0) {
		const cJSON *top = cJSON_GetArrayItem(out, 0);
		evidence_say(
		        ev, "busiest: pid %d (%s) at %.0f%% of one CPU; all listed together %.0f%%",
		        (int)cJSON_GetObjectItem(top, "pid")->valuedouble,
		        cJSON_GetObjectItem(top, "comm")->valuestring,
		        cJSON_GetObjectItem(top, "cpu_pct")->valuedouble, cpu_total);
	} else if (matched && strcmp(sort, "rss") == 0) {
		const cJSON *top = cJSON_GetArrayItem(out, 0);
		evidence_bytes(b, sizeof(b), cJSON_GetObjectItem(top, "rss_bytes")->valuedouble);
		evidence_say(ev, "largest resident: pid %d (%s) with %s",
		             (int)cJSON_GetObjectItem(top, "pid")->valuedouble,
		             cJSON_GetObjectItem(top, "comm")->valuestring, b);
	}
	if (states[2] > 0 && !match && !user)
		evidence_say(ev, "%zu zombie processes: a parent is not reaping its children",
		             states[2]);
	if (truncated)
		evidence_say(ev, "more than %d processes: the rest were not looked at", PROCS_MAX);
	json_add_num(ev, "matched", (double)matched);
	json_add_num(ev, "total", (double)n);
	free(rows);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_list_processes = {
	.name = "list_processes",
	.class = TOOL_SAFE_READ,
	.summary = "processes now, busiest first (CPU over 0.5 s, RSS, owner, command line)",
	.description = "List running processes with CPU measured over half a second, resident "
	               "memory, owner, state, start time and command line. Filter by a "
	               "substring of the name or command line, or by user; sort by cpu, rss or "
	               "pid. Use it to find which process is busy or large, or to get a pid.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"sort\":{\"type\":\"string\",\"enum\":[\"cpu\",\"rss\",\"pid\"]},"
	               "\"match\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":128},"
	               "\"user\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = list_run,
};
