/* cmd_config.c - `ongrid-relay config`: the effective configuration, the key reference
 * (docs/config-relay.md is its output), or a syntax and type check of a file. */
#include <stdio.h>

#include "relay/relay.h"
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
	struct relay_conf c;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "config", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-relay config: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	if (doc) {
		conf_write_doc(&relay_conf_table, stdout);
		return 0;
	}
	r = relay_conf_load(&c, path);
	if (r)
		return r;
	if (check)
		printf("configuration OK\n");
	else
		r = conf_print(&relay_conf_table, &c, json);
	relay_conf_release(&c);
	return r;
}
