/* coordinator.c - one investigation from question to report: classify, dispatch, keep every
 * tool call on the gate, the cache and the timeline, conclude within the budgets.
 *
 * The agent calls tools as role "viewer" with identity "agent": whatever a specialist (or a
 * model, or a log line a model read) asks for, the gate decides, and a mutating call can at
 * most come back "proposed" for a human.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "edge/tools/gate.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/log.h"
#include "shared/banned.h"

/* A digest of a result for the timeline: its first finding or its error, cut short. */
#define DIGEST_MAX 240

struct keyword {
	const char *word;
	enum agent_category cat;
};

/* Words that point at a specialist. Matched on word starts, case-insensitive; the category
 * with most hits wins, ties go to the earlier entry. */
static const struct keyword keywords[] = {
	{ "oom", CAT_MEMORY },      { "out of memory", CAT_MEMORY },
	{ "memory", CAT_MEMORY },   { "swap", CAT_MEMORY },
	{ "killed", CAT_MEMORY },   { "disk", CAT_DISK },
	{ "space", CAT_DISK },      { "full", CAT_DISK },
	{ "filesystem", CAT_DISK }, { "i/o", CAT_DISK },
	{ "iops", CAT_DISK },       { "storage", CAT_DISK },
	{ "mount", CAT_DISK },      { "write", CAT_DISK },
	{ "read", CAT_DISK },       { "packet", CAT_NETWORK },
	{ "loss", CAT_NETWORK },    { "network", CAT_NETWORK },
	{ "retrans", CAT_NETWORK }, { "unreachable", CAT_NETWORK },
	{ "connect", CAT_NETWORK }, { "dns", CAT_NETWORK },
	{ "peer", CAT_NETWORK },    { "timeout", CAT_NETWORK },
	{ "cpu", CAT_CPU },         { "load", CAT_CPU },
	{ "busy", CAT_CPU },        { "saturat", CAT_CPU },
	{ "crash", CAT_SERVICE },   { "restart", CAT_SERVICE },
	{ "exit", CAT_SERVICE },    { "dying", CAT_SERVICE },
	{ "service", CAT_SERVICE }, { "down", CAT_SERVICE },
	{ "config", CAT_CONFIG },   { "deploy", CAT_CONFIG },
	{ "change", CAT_CONFIG },   { "upgrade", CAT_CONFIG },
};

const char *agent_classify(const char *question, enum agent_category *ret_hint)
{
	int hits[_CAT_MAX] = { 0 };
	enum agent_category best = CAT_UNKNOWN;
	size_t qlen = strlen(question);

	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		size_t wl = strlen(keywords[i].word);

		for (size_t p = 0; p + wl <= qlen; p++)
			if ((p == 0 || !isalnum((unsigned char)question[p - 1])) &&
			    strncasecmp(question + p, keywords[i].word, wl) == 0)
				hits[keywords[i].cat]++;
	}
	for (int c = 1; c < _CAT_MAX; c++)
		if (hits[c] > hits[best])
			best = (enum agent_category)c;
	*ret_hint = best;
	return specialist_for(best)->name;
}

static char *digest_of(const cJSON *res)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(res, "evidence");
	const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "findings"), 0);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(res, "error");
	const char *s =
	        cJSON_IsString(f) ? f->valuestring
	        : cJSON_IsString(err)
	                ? err->valuestring
	                : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "status"));
	char *d = xstrdup(s ? s : "");

	if (strlen(d) > DIGEST_MAX)
		memcpy(d + DIGEST_MAX - 4, "...", 4);
	return d;
}

static cJSON *step_detail(const char *tool, const cJSON *args)
{
	cJSON *d = json_obj();

	json_add_str(d, "tool", tool);
	json_add(d, "args", cJSON_Duplicate(args, true));
	return d;
}

int agent_tool(struct agent_run *run, const char *agent, const char *tool, const cJSON *args,
               const cJSON **ret_evidence)
{
	const struct specialist *sp = specialist_find(agent);
	struct gate_caller who = { .role = "viewer", .identity = "agent" };
	cJSON *empty = NULL, *res = NULL, *det;
	const cJSON *hit;
	struct diag d = { 0 };
	int64_t t0;
	char *args_json, *dig;
	int r;

	if (!tool_find(tool))
		return -ENOENT; /* not on this edge (yet): the caller carries on without it */
	if (sp && !specialist_allows(sp, tool))
		return -EPERM;
	if (run->steps >= run->max_steps || mono_ms() >= run->deadline_ms)
		return -ETIMEDOUT;
	run->steps++;
	if (!args)
		args = empty = json_obj();
	args_json = json_print(args, false);
	timeline_add(run->tl, agent, "tool_call", step_detail(tool, args));
	hit = tool_cache_get(run->cache, tool, args_json);
	if (hit) {
		det = step_detail(tool, args);
		json_add_str(det, "status", "cached");
		dig = digest_of(hit);
		json_add_str(det, "digest", dig);
		free(dig);
		json_add_num(det, "duration_ms", 0);
		timeline_add(run->tl, agent, "tool_result", det);
		*ret_evidence = cJSON_GetObjectItemCaseSensitive(hit, "evidence");
		r = 0;
		goto out;
	}
	t0 = mono_ms();
	r = gate_call(run->gate, tool, args_json, &who, &res, &d);
	det = step_detail(tool, args);
	if (r < 0) {
		/* refused before running: still a result in the timeline, with why */
		json_add_str(det, "status", "refused");
		json_add_str(det, "digest", d.msg);
		json_add_num(det, "duration_ms", (double)(mono_ms() - t0));
		timeline_add(run->tl, agent, "tool_result", det);
		goto out;
	}
	/* nothing of a tool's output leaves this function unredacted */
	redact_json(res);
	if (!cJSON_GetObjectItemCaseSensitive(res, "evidence")) {
		cJSON *ev = json_obj();
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(res, "error");

		json_add_str(ev, "error", cJSON_IsString(err) ? err->valuestring : "no evidence");
		json_add(res, "evidence", ev);
	}
	{
		const char *st =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "status"));
		json_add_str(det, "status", st ? st : "executed");
	}
	dig = digest_of(res);
	json_add_str(det, "digest", dig);
	free(dig);
	json_add_num(det, "duration_ms", (double)(mono_ms() - t0));
	timeline_add(run->tl, agent, "tool_result", det);
	hit = tool_cache_put(run->cache, tool, args_json, res);
	*ret_evidence = cJSON_GetObjectItemCaseSensitive(hit, "evidence");
	r = 0;
out:
	free(args_json);
	cJSON_Delete(empty);
	return r;
}

/* inv-<epoch ms>-<8 hex>: unique enough across CLI runs and the daemon, sortable by time. */
static void make_id(char *out, size_t n)
{
	unsigned int rnd = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			rnd = (unsigned int)mono_ns();
		close(fd);
	} else {
		rnd = (unsigned int)mono_ns();
	}
	snprintf(out, n, "inv-%lld-%08x", (long long)now_ms(), rnd);
}

int agent_investigate(const struct edge_conf *conf, const struct agent_opts *o, cJSON **ret_report,
                      struct diag *d)
{
	const char *mode = o->mode ? o->mode : conf->agent_mode, *spec, *why = NULL;
	struct agent_run run = { 0 };
	enum agent_category hint;
	char id[48], *summary;
	cJSON *det, *history = NULL;
	int64_t started = now_ms();
	int r;

	if (!o->question || !*o->question)
		return diag_set(d, -EINVAL, "question: empty");
	if (strlen(o->question) > ONGRID_AGENT_QUESTION_MAX_BYTES)
		return diag_set(d, -EINVAL, "question: longer than %u bytes",
		                ONGRID_AGENT_QUESTION_MAX_BYTES);
	if (o->incident && (strlen(o->incident) == 0 || strlen(o->incident) > 128))
		return diag_set(d, -EINVAL, "incident: expected 1 to 128 characters");
	if (mode && strcmp(mode, "llm") == 0)
		return diag_set(d, -ENOTSUP,
		                "agent.mode llm: no model is reachable from this command (the LLM "
		                "path runs in the daemon through the relay); use --offline or "
		                "agent.mode auto");
	r = gate_open(conf, NULL, 0, &run.gate, d);
	if (r < 0)
		return r;
	make_id(id, sizeof(id));
	timeline_open(conf->data_dir, id, o->incident, o->question, &run.tl, d);
	run.conf = conf;
	run.question = o->question;
	run.max_steps = (int)conf->agent_max_steps;
	run.deadline_ms = mono_ms() + conf->agent_deadline_ms;
	run.cache = tool_cache_new((size_t)run.max_steps);
	run.report = report_new(o->question, conf->name, "offline", started);

	spec = agent_classify(o->question, &hint);
	det = json_obj();
	json_add_str(det, "investigation", id);
	json_add_str(det, "question", o->question);
	json_add_str(det, "specialist", spec);
	json_add_str(det, "hint", agent_category_name(hint));
	json_add_str(det, "mode", "offline");
	json_add_str(det, "history", o->history ? "on" : o->history_why ? o->history_why : "off");
	/* a follow-up carries what the incident already established, compacted to its
	 * conclusions, not the earlier tool output */
	if (o->incident) {
		json_add_str(det, "incident", o->incident);
		if (timeline_incident_history(conf->data_dir, o->incident, 5, &history, d) == 0)
			json_add(det, "earlier", history);
		memset(d, 0, sizeof(*d));
	}
	timeline_add(run.tl, "coordinator", "dispatch", det);

	r = planner_run(&run, hint);
	if (r < 0)
		goto out;
	{
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(run.report, "summary");
		const char *base = cJSON_IsString(s) ? s->valuestring : "";

		summary =
		        xasprintf("%s%s%s%s", base, o->history ? "" : " History is off (",
		                  o->history ? "" : (o->history_why ? o->history_why : "no daemon"),
		                  o->history ? "" : "): only live readings were used.");
	}
	report_finish(run.report, summary, now_ms() - started, timeline_events(run.tl),
	              run.tokens_in, run.tokens_out);
	free(summary);
	timeline_conclude(run.tl, run.report);
	/* the report still stands without its diary; the operator hears why once */
	if (!timeline_persistent(run.tl, &why) && why && *why)
		log_warn("timeline not stored: %s", why);
	*ret_report = run.report;
	run.report = NULL;
out:
	cJSON_Delete(run.report);
	tool_cache_free(run.cache);
	timeline_close(run.tl);
	gate_close(run.gate);
	return r;
}
