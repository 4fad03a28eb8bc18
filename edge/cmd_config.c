/* cmd_config.c - `ongrid-edge config`: the effective configuration, the key reference
 * (docs/config-edge.md is its output), or a syntax and type check of a file. */
#include <stdio.h>

#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/banned.h"

int cmd_config(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, doc = false, check = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
		{ "doc", 0, false, NULL, &doc },
		{ "check", 0, false, NULL, &check },
	};
	struct edge_conf c;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "config", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge config: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (doc) {
		conf_write_doc(&edge_conf_table, stdout);
		return 0;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	if (check)
		printf("configuration OK\n");
	else
		r = conf_print(&edge_conf_table, &c, json);
	edge_conf_release(&c);
	return r;
}
