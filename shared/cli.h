/* cli.h - the command table both daemons' main() dispatch through (git.c's shape).
 *
 * argv[1] names the command; the command gets argv from its own name on and returns the
 * exit status: 0 success, 1 run-time failure, 2 bad usage or input (one line on stderr
 * naming what is wrong).
 */
#ifndef ONGRID_CLI_H
#define ONGRID_CLI_H

#include <stdbool.h>

typedef int cli_cmd_fn(int argc, char **argv);

struct cli_cmd {
	const char *name;
	cli_cmd_fn *fn;
	const char *usage;   /* "query 'PROMQL' [--since 30m] [--json]" */
	const char *summary; /* one line */
};

struct cli {
	const char *prog;  /* "ongrid-edge" */
	const char *about; /* one paragraph */
	const struct cli_cmd *cmds;
	unsigned ncmds;
};

int cli_main(const struct cli *cli, int argc, char **argv);

/* Print "usage: PROG USAGE" for the command to out (or stderr), for its --help. */
void cli_usage(const char *prog, const struct cli_cmd *cmd, bool to_stdout);

/* Common option parsing for commands: returns 0, or 2 after printing the error. Each
 * command lists the options it accepts; anything else is an error that names it. */
struct cli_opt {
	const char *long_name; /* "since" */
	char short_name;       /* 'c' or 0 */
	bool has_arg;
	const char **str; /* set for options with an argument */
	bool *flag;       /* set for flags */
};
int cli_parse(const char *prog, const char *cmd, int argc, char **argv, const struct cli_opt *opts,
              unsigned nopts, char ***ret_args, int *ret_nargs);

#endif
