/* reviewer.c - the check between a model's proposal and a human. A model that read a
 * hostile log line may well propose what the line asked for; the reviewer lets through
 * only a remediation the evidence supports, and the gate then makes it a pending approval.
 *
 * Rules, in order:
 *   1. the tool is a remediation (restart_service, kill_process), declared dangerous, so
 *      the gate can only turn it into a pending approval: a free-form command line
 *      (bash) is never a remediation the reviewer can check;
 *   2. its target (the unit, the pid) appears in the investigation's evidence or root
 *      cause: an action on something no tool call showed is ungrounded;
 *   3. a runbook (kb_search) that says not to do it ("do not restart", "never kill") for
 *      the target stops it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static const char *const remediations[] = { "restart_service", "kill_process", NULL };

/* needle in hay as a whole word: "api" is not in "rapid", "1" is not in "10.0.0.1". */
static bool has_word(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) {
		char before = p == hay ? ' ' : p[-1], after = p[n];

		if (!isalnum((unsigned char)before) && !strchr("._-/", before) &&
		    !isalnum((unsigned char)after) && !strchr("._-", after))
			return true;
	}
	return false;
}

/* Whether needle appears in any evidence finding or in the root cause. */
static bool grounded(const cJSON *rep, const char *needle)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause"), *e;
	const char *comp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc, "component"));
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc, "statement"));

	if (!needle || !*needle)
		return false;
	if ((comp && has_word(comp, needle)) || (st && has_word(st, needle)))
		return true;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rep, "evidence")) {
		const char *f =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "finding"));

		if (f && has_word(f, needle))
			return true;
	}
	return false;
}

/* A runbook that forbids the action for target. */
static bool runbook_forbids(struct agent_run *run, const char *target, char *why, size_t n)
{
	const cJSON *ev = NULL, *f;
	cJSON *a = json_obj();
	bool no = false;

	json_add_str(a, "query", target);
	if (agent_tool(run, "reviewer", "kb_search", a, &ev) == 0) {
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(ev, "findings")) {
			const char *s = cJSON_GetStringValue(f);

			if (s &&
			    (strcasestr(s, "do not restart") || strcasestr(s, "never restart") ||
			     strcasestr(s, "do not kill") || strcasestr(s, "never kill"))) {
				snprintf(why, n, "runbook says: %.200s", s);
				no = true;
				break;
			}
		}
	}
	cJSON_Delete(a);
	return no;
}

int reviewer_check(struct agent_run *run, const char *tool, const cJSON *args, char *why,
                   size_t whylen)
{
	const struct tool *t = tool_find(tool);
	const cJSON *target;
	char tbuf[64];
	const char *tname;
	bool remedy = false;

	for (const char *const *r = remediations; *r; r++)
		remedy |= strcmp(*r, tool) == 0;
	if (!t || !remedy || t->class != TOOL_DANGEROUS) {
		snprintf(why, whylen,
		         "reviewer: %s is not a remediation it can check (only restart_service and "
		         "kill_process are proposed)",
		         tool);
		return -EPERM;
	}
	target = cJSON_GetObjectItemCaseSensitive(args, strcmp(tool, "kill_process") == 0 ? "pid"
	                                                                                  : "unit");
	if (cJSON_IsNumber(target)) {
		/* a pid is only grounded as "pid N": a bare number is in every finding */
		snprintf(tbuf, sizeof(tbuf), "pid %lld", (long long)target->valuedouble);
		tname = tbuf;
	} else {
		tname = cJSON_GetStringValue(target);
	}
	if (!tname || !grounded(run->report, tname)) {
		snprintf(why, whylen, "reviewer: no evidence of this investigation names '%s'",
		         tname ? tname : "(no target)");
		return -EPERM;
	}
	if (runbook_forbids(run, tname, why, whylen))
		return -EPERM;
	snprintf(why, whylen, "reviewer: '%s' is named by the evidence", tname);
	return 0;
}
