/* cmd_tools.c - `ongrid-edge tools`: every tool in the registry with its class, what it is
 * for and its argument schema. The class column is what the gate enforces. */
#include <stdio.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/tools/tool.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

int cmd_tools(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "tools", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge tools: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (json) {
		cJSON *arr = json_arr();
		for (size_t i = 0; i < tool_registry_count; i++) {
			const struct tool *t = tool_registry[i];
			cJSON *o = json_obj(), *schema = cJSON_Parse(t->args_schema);
			json_add_str(o, "name", t->name);
			json_add_str(o, "class", tool_class_name(t->class));
			json_add_str(o, "summary", t->summary);
			json_add_str(o, "description", t->description);
			json_add(o, "args_schema", schema ? schema : cJSON_CreateNull());
			json_push(arr, o);
		}
		r = json_print_stdout(arr, true) < 0 ? 1 : 0;
		cJSON_Delete(arr);
		return r;
	}
	printf("%-20s %-11s %s\n", "NAME", "CLASS", "SUMMARY");
	for (size_t i = 0; i < tool_registry_count; i++)
		printf("%-20s %-11s %s\n", tool_registry[i]->name,
		       tool_class_name(tool_registry[i]->class), tool_registry[i]->summary);
	return 0;
}
