/* cmd_topology.c - `ongrid-edge topology [--json]`: this host's connection graph now, in
 * the report shape the relay merges (feed it to `ongrid-edge connect --topology FILE`). */
#include <stdio.h>
#include <stdlib.h>

#include "edge/edge.h"
#include "edge/topo.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

int cmd_topology(int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = { { "json", 0, false, NULL, &json } };
	struct diag d = { 0 };
	struct topo *t;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "topology", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs != 0) {
		fprintf(stderr, "ongrid-edge topology: expected no arguments, got %d\n", nargs);
		return 2;
	}
	if (topo_scan(&t, &d) < 0) {
		fprintf(stderr, "ongrid-edge topology: %s\n", d.msg);
		return 1;
	}
	cJSON *o = topo_report_json(t);
	if (json) {
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
	} else {
		for (size_t i = 0; i < t->nlisten; i++)
			printf("listen  %s:%d  %s  (%u connections from %u clients)\n",
			       t->listen[i].addr, t->listen[i].port, t->listen[i].process,
			       t->listen[i].connections, t->listen[i].clients);
		for (size_t i = 0; i < t->nconnect; i++)
			printf("connect %s -> %s  x%u  rtt %.2f ms  retrans %llu\n",
			       t->connect[i].process, t->connect[i].peer, t->connect[i].count,
			       t->connect[i].rtt_ms, (unsigned long long)t->connect[i].retransmits);
		r = 0;
	}
	cJSON_Delete(o);
	topo_free(t);
	return r;
}
