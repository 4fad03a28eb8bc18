/* cmd_tools.c - `ongrid-edge tools`: every tool in the registry with its class, what it is
 * for and its argument schema. The class column is what the gate enforces. */
#include <stdio.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/tools/gate.h"
#include "edge/tools/tool.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

int cmd_tools(int argc, char **argv)
{
	const char *path = NULL, *role = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "role", 0, true, &role, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct edge_conf c;
	struct diag d = { 0 };
	struct gate *g = NULL;
	cJSON *arr = NULL;
	const cJSON *t;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "tools", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge tools: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	r = gate_open(&c, NULL, 0, &g, &d);
	if (r == 0 && role) {
		r = gate_catalogue(g, role, &arr, &d);
	} else if (r == 0) {
		/* every tool, whoever may call it */
		arr = json_arr();
		for (size_t i = 0; i < tool_registry_count; i++) {
			cJSON *o = json_obj(), *schema = cJSON_Parse(tool_registry[i]->args_schema);
			json_add_str(o, "name", tool_registry[i]->name);
			json_add_str(o, "class", tool_class_name(tool_registry[i]->class));
			json_add_str(o, "summary", tool_registry[i]->summary);
			json_add_str(o, "description", tool_registry[i]->description);
			json_add(o, "args_schema", schema ? schema : cJSON_CreateNull());
			json_push(arr, o);
		}
	}
	if (r < 0) {
		fprintf(stderr, "ongrid-edge tools: %s\n", d.msg);
		r = diag_exit_status(r);
	} else if (json) {
		r = json_print_stdout(arr, true) < 0 ? 1 : 0;
	} else {
		printf("%-20s %-11s %s\n", "NAME", "CLASS", "SUMMARY");
		cJSON_ArrayForEach(t, arr) {
			printf("%-20s %-11s %s\n",
			       cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring,
			       cJSON_GetObjectItemCaseSensitive(t, "class")->valuestring,
			       cJSON_GetObjectItemCaseSensitive(t, "summary")->valuestring);
		}
	}
	cJSON_Delete(arr);
	gate_close(g);
	edge_conf_release(&c);
	return r;
}
