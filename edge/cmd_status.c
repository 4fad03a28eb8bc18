/* cmd_status.c - `ongrid-edge status`: what this host lets the edge do, and why not. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/hostinfo.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

static void print_text(const struct edge_conf *c, const struct hostinfo *h)
{
	printf("host        %s\n", c->name);
	printf("version     %s\n", ONGRID_VERSION);
	printf("kernel      %s %s, %ld cpus\n", h->kernel, h->arch, h->ncpu);
	printf("privileges  %s\n", h->root ? "root" : "unprivileged");
	printf("btf         %s\n", h->btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	if (h->bpf_tracing)
		printf("bpf         yes (tracepoint programs load)\n");
	else
		printf("bpf         off: %s\n", h->bpf_why);
	printf("psi         %s\n", h->psi ? "yes (/proc/pressure)" : "no");
	printf("cgroup2     %s\n", h->cgroup2 ? h->cgroup2_path : "not mounted");
	printf("init        %s\n", h->systemd ? "systemd" : "not systemd (plain processes)");
	printf("data_dir    %s\n", c->data_dir);
}

int cmd_status(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct edge_conf c;
	struct hostinfo h;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "status", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge status: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	hostinfo_probe(&h);
	if (json) {
		cJSON *o = json_obj();
		json_add_str(o, "host", c.name);
		json_add_str(o, "version", ONGRID_VERSION);
		json_add(o, "system", hostinfo_json(&h));
		json_add_str(o, "data_dir", c.data_dir);
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
		cJSON_Delete(o);
	} else {
		print_text(&c, &h);
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	edge_conf_release(&c);
	return r;
}
