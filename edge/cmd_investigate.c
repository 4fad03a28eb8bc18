/* cmd_investigate.c - `ongrid-edge investigate "QUESTION" [--json] [-c FILE] [--incident ID]
 * [--context FILE] [--offline]`: one investigation on this host, printed as the report (text
 * or the JSON contract). --context gives what the question came with (the chat thread,
 * follow_up, the requester, the alert; agent.h, context.c), "-" for standard input.
 * --progress-fd N writes one line per step to descriptor N while it runs (serve.c streams
 * them into the chat thread).
 *
 * The investigation runs in this process. When a daemon runs, its "investigate" control
 * command says so and the tools read its history (metrics, logs, changes) through the
 * control socket; when none runs, the tools read live values and the report says history
 * is off. The control socket is not asked to run the investigation itself: the daemon
 * answers one request at a time, and the tools of an investigation are requests to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "edge/ctl.h"
#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Whether a daemon answers, and if not, why (for the report). */
static bool daemon_history(const struct edge_conf *c, char *why, size_t n)
{
	cJSON *req = json_obj(), *res = NULL;
	struct diag d = { 0 };
	int r;

	json_add_str(req, "cmd", "investigate");
	r = ctl_call(c->control_socket, req, 2000, &res, &d);
	cJSON_Delete(req);
	if (r == 0) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(res, "history");
		bool on = cJSON_IsString(h) && strcmp(h->valuestring, "on") == 0;

		if (!on)
			snprintf(why, n, "the daemon keeps no history");
		cJSON_Delete(res);
		return on;
	}
	if (r == -ENOENT || r == -ECONNREFUSED)
		snprintf(why, n, "no daemon is running");
	else
		snprintf(why, n, "the daemon did not answer: %s", d.msg);
	return false;
}

int cmd_investigate(int argc, char **argv)
{
	const char *path = NULL, *incident = NULL, *context = NULL, *progress = NULL;
	bool json = false, offline = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },   { "incident", 0, true, &incident, NULL },
		{ "context", 0, true, &context, NULL }, { "progress-fd", 0, true, &progress, NULL },
		{ "json", 0, false, NULL, &json },      { "offline", 0, false, NULL, &offline },
	};
	struct agent_opts o = { 0 };
	struct edge_conf c;
	struct diag d = { 0 };
	cJSON *rep = NULL, *ctx = NULL;
	char why[640] = "";
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "investigate", argc, argv, opts, ARRAY_SIZE(opts), &args,
	              &nargs);
	if (r)
		return r;
	if (nargs != 1 || !*args[0]) {
		fprintf(stderr, "ongrid-edge investigate: expected one \"QUESTION\" argument\n");
		return 2;
	}
	if (progress) {
		char *end;
		long fd = strtol(progress, &end, 10);

		if (*end || end == progress || fd < 3 || fd > 1023 || fcntl((int)fd, F_GETFD) < 0) {
			fprintf(stderr,
			        "ongrid-edge investigate: --progress-fd: expected an open "
			        "descriptor "
			        "3 to 1023, got '%s'\n",
			        progress);
			return 2;
		}
		o.progress_fd = (int)fd;
		signal(SIGPIPE, SIG_IGN); /* a reader that goes away costs lines, not the report */
	}
	if (context && agent_context_load(context, &ctx, &d) < 0) {
		fprintf(stderr, "ongrid-edge investigate: --context %s\n", d.msg);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r) {
		cJSON_Delete(ctx);
		return r;
	}
	o.question = args[0];
	o.context = ctx;
	o.incident = incident;
	o.mode = offline ? "offline" : NULL;
	o.history = daemon_history(&c, why, sizeof(why));
	o.history_why = why;
	r = agent_investigate(&c, &o, &rep, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge investigate: %s\n", d.msg);
		r = r == -EINVAL || r == -ENOTSUP ? 2 : 1;
		goto out;
	}
	r = 0;
	if (json)
		r = json_print_stdout(rep, true) < 0 ? 1 : 0;
	else
		report_print_text(rep);
out:
	cJSON_Delete(rep);
	cJSON_Delete(ctx);
	edge_conf_release(&c);
	return r;
}
