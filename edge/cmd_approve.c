/* cmd_approve.c - `ongrid-edge approve ID` and `ongrid-edge deny ID`: a human decision on a
 * pending dangerous call. The approval that completes the required number runs the call
 * here and prints what it did. `approve --list` shows what is waiting. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/outbox.h"
#include "edge/tools/gate.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

static void print_pending(const cJSON *list)
{
	const cJSON *e;

	if (cJSON_GetArraySize(list) == 0) {
		printf("nothing waits for approval\n");
		return;
	}
	cJSON_ArrayForEach(e, list) {
		char *args = json_print(cJSON_GetObjectItemCaseSensitive(e, "args"), false);
		printf("%s  %s %s  by %s, expires %s\n",
		       cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(e, "tool")->valuestring, args,
		       cJSON_GetObjectItemCaseSensitive(e, "requested_by")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(e, "expires")->valuestring);
		cJSON_free(args);
	}
}

/* A decision that ended the approval (the call ran, failed or was denied) is queued for
 * the relay as "approval.result", whoever made it: pressed in a chat thread, the outcome
 * still reaches that thread when the link dropped while the call ran (the reply to
 * approval.decide died with it); made here at the host, it reaches the thread that shows
 * the proposal. The outbox delivers it once; the relay posts an outcome once per action. */
static void queue_result(const struct edge_conf *c, const char *id, const char *who,
                         const cJSON *res)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "status"));
	const char *finding = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(res, "evidence"), "finding"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "error"));
	const char *tool = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "tool"));
	struct outbox *ob = NULL;
	struct diag d = { 0 };
	char path[4096];
	cJSON *body;

	if (!c->relay_url || !*c->relay_url || !st ||
	    (strcmp(st, "executed") != 0 && strcmp(st, "failed") != 0 && strcmp(st, "denied") != 0))
		return;
	body = json_obj();
	json_add_str(body, "action_id", id);
	json_add_str(body, "tool", tool ? tool : "");
	json_add_str(body, "status", st);
	json_add_str(body, "by", who);
	if (finding)
		json_add_str(body, "finding", finding);
	if (error)
		json_add_str(body, "error", error);
	snprintf(path, sizeof(path), "%s/%s", c->data_dir, OUTBOX_FILE);
	if (outbox_open(path, c->outbox_max_rows, &ob, &d) < 0 ||
	    outbox_put(ob, "approval.result", body, NULL, &d) < 0)
		fprintf(stderr,
		        "ongrid-edge: warning: the outcome of %s is recorded here but not queued "
		        "for the relay: %s\n",
		        id, d.msg);
	outbox_close(ob);
	cJSON_Delete(body);
}

static int decide(int argc, char **argv, bool approve)
{
	const char *cmd = approve ? "approve" : "deny";
	const char *path = NULL, *as = NULL;
	bool json = false, list = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "as", 0, true, &as, NULL },
		{ "json", 0, false, NULL, &json },
		{ "list", 0, false, NULL, &list },
	};
	struct edge_conf c;
	struct diag d = { 0 };
	struct gate *g = NULL;
	cJSON *res = NULL;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", cmd, argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (list ? nargs != 0 : nargs != 1) {
		fprintf(stderr, "ongrid-edge %s: expected one ID (or --list)\n", cmd);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	r = gate_open(&c, NULL, 0, &g, &d);
	if (r == 0 && list)
		r = gate_pending(g, &res, &d);
	else if (r == 0)
		r = gate_decide(g, args[0], cmd_tool_identity(as), approve, &res, &d);
	if (r == 0 && !list)
		queue_result(&c, args[0], cmd_tool_identity(as), res);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge %s: %s\n", cmd, d.msg);
		r = r == -ENOENT || r == -EINVAL ? 2 : 1;
	} else if (list) {
		if (json)
			r = json_print_stdout(res, true) < 0 ? 1 : 0;
		else
			print_pending(res);
	} else {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(res, "status");
		if (!json && cJSON_IsString(st) && strcmp(st->valuestring, "approved") == 0) {
			printf("approved by %s (%d of %d); waiting for another approver\n",
			       cmd_tool_identity(as),
			       (int)cJSON_GetObjectItemCaseSensitive(res, "approvals")->valuedouble,
			       (int)cJSON_GetObjectItemCaseSensitive(res, "needed")->valuedouble);
			r = 0;
		} else if (!json && cJSON_IsString(st) && strcmp(st->valuestring, "denied") == 0) {
			printf("denied: %s will not run\n", args[0]);
			r = 0;
		} else {
			r = cmd_tool_print(res, json);
		}
	}
	cJSON_Delete(res);
	gate_close(g);
	edge_conf_release(&c);
	return r;
}

int cmd_approve(int argc, char **argv)
{
	return decide(argc, argv, true);
}

int cmd_deny(int argc, char **argv)
{
	return decide(argc, argv, false);
}
