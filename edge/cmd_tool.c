/* cmd_tool.c - `ongrid-edge tool NAME ['JSON'] [--role ROLE]`: one tool call through the
 * same gate the agent uses. A dangerous call prints its proposal and the approve command;
 * nothing dangerous runs from here. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/gate.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Who is at the keyboard: --as, else the sudo caller, else the login of the real uid. */
const char *cmd_tool_identity(const char *as)
{
	const char *sudo = getenv("SUDO_USER");
	const struct passwd *pw;

	if (as && *as)
		return as;
	if (sudo && *sudo)
		return sudo;
	pw = getpwuid(getuid());
	return pw && pw->pw_name ? pw->pw_name : "unknown";
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_text(const cJSON *res)
{
	const char *status = jstr(res, "status");
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(res, "evidence");

	if (strcmp(status, "proposed") == 0) {
		printf("proposed: %s is dangerous and waits for approval\n", jstr(res, "tool"));
		if (*jstr(res, "reason"))
			printf("  reason:  %s\n", jstr(res, "reason"));
		printf("  id:      %s\n  expires: %s\n", jstr(res, "id"), jstr(res, "expires"));
		printf("  approve: ongrid-edge approve %s --as NAME\n", jstr(res, "id"));
		printf("  deny:    ongrid-edge deny %s --as NAME\n", jstr(res, "id"));
		return;
	}
	if (strcmp(status, "failed") == 0) {
		printf("failed: %s\n", jstr(res, "error"));
		return;
	}
	if (*jstr(ev, "finding"))
		printf("%s\n", jstr(ev, "finding"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ev, "output"))) {
		const char *out = jstr(ev, "output");
		fputs(out, stdout);
		if (*out && out[strlen(out) - 1] != '\n')
			putchar('\n');
	} else if (ev) {
		char *s = json_print(ev, true);
		printf("%s\n", s);
		free(s);
	}
}

/* Exit status of a result: a call that ran and failed is a run-time failure. */
int cmd_tool_print(const cJSON *res, bool json)
{
	if (json) {
		if (json_print_stdout(res, true) < 0)
			return 1;
	} else {
		print_text(res);
	}
	return strcmp(jstr(res, "status"), "failed") == 0 ? 1 : 0;
}

int cmd_tool(int argc, char **argv)
{
	const char *path = NULL, *role = "viewer", *as = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "role", 0, true, &role, NULL },
		{ "as", 0, true, &as, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct gate_caller who;
	struct edge_conf c;
	struct diag d = { 0 };
	struct gate *g = NULL;
	cJSON *res = NULL;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "tool", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs < 1 || nargs > 2) {
		fprintf(stderr, "ongrid-edge tool: expected NAME and optional 'JSON' arguments "
		                "(see 'ongrid-edge tools')\n");
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	who.role = role;
	who.identity = cmd_tool_identity(as);
	r = gate_open(&c, NULL, 0, &g, &d);
	if (r == 0)
		r = gate_call(g, args[0], nargs == 2 ? args[1] : NULL, &who, &res, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge tool: %s\n", d.msg);
		r = r == -ENOENT || r == -EINVAL || r == -E2BIG || r == -ERANGE ? 2 : 1;
	} else {
		r = cmd_tool_print(res, json);
	}
	cJSON_Delete(res);
	gate_close(g);
	edge_conf_release(&c);
	return r;
}
