#include <stdio.h>
#include <string.h>

#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/banned.h"

static void print_help(const struct cli *cli, FILE *out)
{
	fprintf(out, "usage: %s COMMAND [OPTIONS]\n\n%s\n\ncommands:\n", cli->prog, cli->about);
	for (unsigned i = 0; i < cli->ncmds; i++)
		fprintf(out, "  %-46s %s\n", cli->cmds[i].usage, cli->cmds[i].summary);
	fprintf(out,
	        "\nEvery command accepts --help. Exit status: 0 success, 1 failure at run time, "
	        "2 bad usage or input.\n");
}

void cli_usage(const char *prog, const struct cli_cmd *cmd, bool to_stdout)
{
	FILE *out = to_stdout ? stdout : stderr;

	fprintf(out, "usage: %s %s\n  %s\n", prog, cmd->usage, cmd->summary);
}

int cli_main(const struct cli *cli, int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		print_help(cli, stderr);
		return 2;
	}
	name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		print_help(cli, stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("%s %s\n", cli->prog, ONGRID_VERSION);
		return 0;
	}
	for (unsigned i = 0; i < cli->ncmds; i++) {
		if (strcmp(cli->cmds[i].name, name) != 0)
			continue;
		for (int a = 2; a < argc; a++) {
			if (strcmp(argv[a], "--") == 0)
				break;
			if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
				cli_usage(cli->prog, &cli->cmds[i], true);
				return 0;
			}
		}
		return cli->cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", cli->prog, name, cli->prog);
	return 2;
}

static const struct cli_opt *find_long(const struct cli_opt *opts, unsigned n, const char *name,
                                       size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (strlen(opts[i].long_name) == len && strncmp(opts[i].long_name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, unsigned n, char c)
{
	for (unsigned i = 0; i < n; i++)
		if (opts[i].short_name && opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

/* Options may come before or after positional arguments; "--" ends options. Positional
 * arguments are moved, in order, to the front of argv + 1 and returned. */
int cli_parse(const char *prog, const char *cmd, int argc, char **argv, const struct cli_opt *opts,
              unsigned nopts, char ***ret_args, int *ret_nargs)
{
	int npos = 0;
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;
		const char *val = NULL;

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			argv[1 + npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(opts, nopts, a + 2, len);
			if (o && eq)
				val = eq + 1;
		} else if (a[2] == '\0') {
			o = find_short(opts, nopts, a[1]);
		}
		if (!o) {
			fprintf(stderr, "%s %s: unknown option '%s' (see '%s %s --help')\n", prog,
			        cmd, a, prog, cmd);
			return 2;
		}
		if (o->has_arg) {
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "%s %s: option '%s' needs a value\n", prog,
					        cmd, a);
					return 2;
				}
				val = argv[++i];
			}
			*o->str = val;
		} else {
			if (val) {
				fprintf(stderr, "%s %s: option '--%s' takes no value\n", prog, cmd,
				        o->long_name);
				return 2;
			}
			*o->flag = true;
		}
	}
	*ret_args = argv + 1;
	*ret_nargs = npos;
	return 0;
}
