/* cmd_run.c - `ongrid-edge run`: the edge daemon in the foreground (systemd, or a plain
 * supervisor, keeps it running). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "edge/daemon.h"
#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/log.h"
#include "shared/banned.h"

int cmd_run(int argc, char **argv)
{
	const char *path = NULL;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
	};
	struct daemon dm;
	struct diag d = { 0 };
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "run", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge run: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = daemon_open(&dm, path, &d);
	if (r < 0) {
		/* A bad configuration was already printed by the loader. */
		if (strcmp(d.msg, "bad configuration") != 0)
			log_err("cannot start: %s", d.msg);
		return r == -EINVAL ? 2 : 1;
	}
	daemon_run(&dm);
	daemon_close(&dm);
	return 0;
}
