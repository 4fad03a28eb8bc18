/* report.c - the report document, the one contract between the agent, the CLI and chat
 * (../shared/DESIGN.md "Report format"). Builders keep the key order of the contract so
 * the JSON reads top-down the way a human reads the text version.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

static const char *const category_names[_CAT_MAX] = {
	"unknown", "cpu", "memory", "disk", "network", "service", "config", "dependency",
};

const char *agent_category_name(enum agent_category c)
{
	return c >= 0 && c < _CAT_MAX ? category_names[c] : "unknown";
}

cJSON *report_new(const char *question, const char *host, const char *planner, int64_t started_ms)
{
	cJSON *rep = json_obj(), *rc = json_obj(), *tok = json_obj();
	char when[40];

	clock_format_rfc3339(when, sizeof(when), started_ms);
	json_add_str(rep, "question", question);
	json_add_str(rep, "host", host);
	json_add_str(rep, "planner", planner);
	json_add_str(rep, "started_at", when);
	json_add_num(rep, "duration_ms", 0);
	json_add_str(rep, "summary", "");
	json_add_str(rc, "statement", "no cause found");
	json_add_str(rc, "category", "unknown");
	json_add_str(rc, "component", "");
	json_add_num(rc, "confidence", 0);
	json_add(rep, "root_cause", rc);
	json_add(rep, "evidence", json_arr());
	json_add(rep, "actions", json_arr());
	json_add(rep, "timeline", json_arr());
	json_add_num(tok, "input", 0);
	json_add_num(tok, "output", 0);
	json_add(rep, "tokens", tok);
	return rep;
}

const char *report_add_evidence(cJSON *rep, const char *agent, const char *tool, const cJSON *args,
                                const char *finding)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(rep, "evidence"), *e = json_obj();
	char id[24];

	snprintf(id, sizeof(id), "e%d", cJSON_GetArraySize(arr) + 1);
	json_add_str(e, "id", id);
	json_add_str(e, "agent", agent);
	json_add_str(e, "tool", tool);
	json_add(e, "args", args ? cJSON_Duplicate(args, true) : json_obj());
	json_add_str(e, "finding", finding);
	json_push(arr, e);
	return cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring;
}

static void replace(cJSON *obj, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

void report_set_root_cause(cJSON *rep, const char *statement, enum agent_category cat,
                           const char *component, double confidence)
{
	cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause");

	if (confidence < 0 || isnan(confidence))
		confidence = 0;
	if (confidence > 1)
		confidence = 1;
	replace(rc, "statement", cJSON_CreateString(statement));
	replace(rc, "category", cJSON_CreateString(agent_category_name(cat)));
	replace(rc, "component", cJSON_CreateString(component ? component : ""));
	/* two decimals: a confidence is a judgement, not a measurement */
	replace(rc, "confidence", cJSON_CreateNumber(round(confidence * 100) / 100));
}

void report_add_action(cJSON *rep, const char *tool, const cJSON *args, const char *class_name,
                       const char *status, const char *rationale)
{
	cJSON *a = json_obj();

	json_add_str(a, "tool", tool);
	json_add(a, "args", args ? cJSON_Duplicate(args, true) : json_obj());
	json_add_str(a, "class", class_name);
	json_add_str(a, "status", status);
	json_add_str(a, "rationale", rationale ? rationale : "");
	json_push(cJSON_GetObjectItemCaseSensitive(rep, "actions"), a);
}

void report_finish(cJSON *rep, const char *summary, int64_t duration_ms, const cJSON *timeline,
                   int64_t tokens_in, int64_t tokens_out)
{
	cJSON *tok = json_obj();

	replace(rep, "summary", cJSON_CreateString(summary ? summary : ""));
	replace(rep, "duration_ms", cJSON_CreateNumber((double)duration_ms));
	replace(rep, "timeline", timeline ? cJSON_Duplicate(timeline, true) : json_arr());
	json_add_num(tok, "input", (double)tokens_in);
	json_add_num(tok, "output", (double)tokens_out);
	replace(rep, "tokens", tok);
}

/* ---- the contract check ------------------------------------------------------------ */

static const char *str_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; s && *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* Whether the timeline has a tool_result for tool with exactly these arguments. */
static bool has_result(const cJSON *timeline, const char *tool, const cJSON *args)
{
	const cJSON *ev;

	cJSON_ArrayForEach(ev, timeline) {
		const cJSON *det = cJSON_GetObjectItemCaseSensitive(ev, "detail");
		const char *e = str_of(ev, "event"), *t = str_of(det, "tool");

		if (!e || strcmp(e, "tool_result") != 0 || !t || strcmp(t, tool) != 0)
			continue;
		if (cJSON_Compare(cJSON_GetObjectItemCaseSensitive(det, "args"), args, true))
			return true;
	}
	return false;
}

int report_check(const cJSON *rep, struct diag *d)
{
	static const char *const top[] = { "question",   "host",    "planner",
		                           "started_at", "summary", NULL };
	static const char *const statuses[] = { "proposed", "approved", "executed",
		                                "denied",   "failed",   NULL };
	static const char *const classes[] = { "safe-read", "safe-write", "dangerous", NULL };
	static const char *const events[] = { "dispatch", "tool_call", "tool_result",
		                              "llm_call", "approval",  NULL };
	const cJSON *rc, *arr, *it, *timeline, *tok;
	const char *cats[_CAT_MAX + 1];
	double conf;
	int i = 0;

	for (int c = 0; c < _CAT_MAX; c++)
		cats[c] = category_names[c];
	cats[_CAT_MAX] = NULL;
	if (!cJSON_IsObject(rep))
		return diag_set(d, -EINVAL, "report: not an object");
	for (const char *const *k = top; *k; k++)
		if (!str_of(rep, *k))
			return diag_set(d, -EINVAL, "report.%s: missing or not a string", *k);
	if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(rep, "duration_ms")))
		return diag_set(d, -EINVAL, "report.duration_ms: missing or not a number");
	rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause");
	if (!cJSON_IsObject(rc) || !str_of(rc, "statement") || !str_of(rc, "component"))
		return diag_set(d, -EINVAL,
		                "report.root_cause: needs statement and component strings");
	if (!one_of(str_of(rc, "category"), cats))
		return diag_set(d, -EINVAL,
		                "report.root_cause.category: not one of the categories");
	conf = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "confidence"));
	if (isnan(conf) || conf < 0 || conf > 1)
		return diag_set(d, -EINVAL, "report.root_cause.confidence: not a number in [0, 1]");
	timeline = cJSON_GetObjectItemCaseSensitive(rep, "timeline");
	if (!cJSON_IsArray(timeline))
		return diag_set(d, -EINVAL, "report.timeline: not an array");
	cJSON_ArrayForEach(it, timeline) {
		if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(it, "t_ms")) ||
		    !str_of(it, "agent") || !one_of(str_of(it, "event"), events) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(it, "detail")))
			return diag_set(d, -EINVAL,
			                "report.timeline[%d]: needs t_ms, agent, event, detail", i);
		i++;
	}
	arr = cJSON_GetObjectItemCaseSensitive(rep, "evidence");
	if (!cJSON_IsArray(arr))
		return diag_set(d, -EINVAL, "report.evidence: not an array");
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "args");

		if (!str_of(it, "id") || !str_of(it, "agent") || !str_of(it, "tool") ||
		    !str_of(it, "finding") || !cJSON_IsObject(args))
			return diag_set(d, -EINVAL,
			                "report.evidence[%d]: needs id, agent, tool, args, finding",
			                i);
		/* the evidence discipline: a claim points at a call that really ran */
		if (!has_result(timeline, str_of(it, "tool"), args))
			return diag_set(d, -EINVAL,
			                "report.evidence[%d] (%s): no tool_result of %s with these "
			                "arguments in the timeline",
			                i, str_of(it, "id"), str_of(it, "tool"));
		i++;
	}
	arr = cJSON_GetObjectItemCaseSensitive(rep, "actions");
	if (!cJSON_IsArray(arr))
		return diag_set(d, -EINVAL, "report.actions: not an array");
	i = 0;
	cJSON_ArrayForEach(it, arr) {
		if (!str_of(it, "tool") ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(it, "args")) ||
		    !one_of(str_of(it, "class"), classes) ||
		    !one_of(str_of(it, "status"), statuses) || !str_of(it, "rationale"))
			return diag_set(
			        d, -EINVAL,
			        "report.actions[%d]: needs tool, args, class, status, rationale",
			        i);
		i++;
	}
	tok = cJSON_GetObjectItemCaseSensitive(rep, "tokens");
	if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(tok, "input")) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(tok, "output")))
		return diag_set(d, -EINVAL, "report.tokens: needs input and output numbers");
	return 0;
}

/* For printing: a missing string prints as nothing rather than crashing the CLI. */
static const char *sv(const cJSON *o, const char *k)
{
	const char *s = str_of(o, k);

	return s ? s : "";
}

void report_print_text(const cJSON *rep)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause"), *it;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(rep, "tokens");

	printf("%s\n\n", sv(rep, "summary"));
	printf("root cause: %s\n", sv(rc, "statement"));
	printf("  category %s, component %s, confidence %.2f\n", sv(rc, "category"),
	       *sv(rc, "component") ? sv(rc, "component") : "-",
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rc, "confidence")));
	printf("\nevidence:\n");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "evidence")) {
		char *args = json_print(cJSON_GetObjectItemCaseSensitive(it, "args"), false);

		printf("  [%s] %s: %s\n       (%s %s)\n", sv(it, "id"), sv(it, "agent"),
		       sv(it, "finding"), sv(it, "tool"), args);
		free(args);
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "actions")) > 0) {
		printf("\nactions:\n");
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "actions")) {
			char *args =
			        json_print(cJSON_GetObjectItemCaseSensitive(it, "args"), false);

			const char *id = str_of(it, "id"), *host = str_of(it, "host");

			printf("  %s %s%s%s [%s, %s]: %s\n", sv(it, "tool"), args,
			       host ? " on " : "", host ? host : "", sv(it, "class"),
			       sv(it, "status"), sv(it, "rationale"));
			/* where a person decides it: this host's CLI, or the host that holds it */
			if (id && !host)
				printf("      decide: ongrid-edge approve %s | ongrid-edge deny "
				       "%s\n",
				       id, id);
			else if (id)
				printf("      decide: in the chat thread, or on %s: ongrid-edge "
				       "approve "
				       "%s\n",
				       host, id);
			free(args);
		}
	}
	printf("\nplanner %s, %d steps, %.0f ms, tokens %.0f in / %.0f out\n", sv(rep, "planner"),
	       cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "timeline")),
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "duration_ms")),
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tok, "input")),
	       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tok, "output")));
}
