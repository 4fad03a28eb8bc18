/* cmd_topology.c - `ongrid-edge topology [-c FILE] [--json]`: this host's connection
 * graph, in the report shape the relay merges (feed it to `ongrid-edge connect --topology
 * FILE`): the sockets open now, and, when the edge daemon runs its tcp collector, every
 * connection the kernel saw in the last hour, however short-lived. */
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
	const char *path = NULL;
	const struct cli_opt opts[] = { { "config", 'c', true, &path, NULL },
		                        { "json", 0, false, NULL, &json } };
	struct edge_conf c;
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
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	if (topo_scan(&t, &d) < 0) {
		fprintf(stderr, "ongrid-edge topology: %s\n", d.msg);
		edge_conf_release(&c);
		return 1;
	}
	topo_add_daemon_flows(t, c.control_socket);
	edge_conf_release(&c);
	cJSON *o = topo_report_json(t);
	if (json) {
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
	} else {
		for (size_t i = 0; i < t->nlisten; i++)
			printf("listen  %s:%d  %s  (%u connections from %u clients)\n",
			       t->listen[i].addr, t->listen[i].port, t->listen[i].process,
			       t->listen[i].connections, t->listen[i].clients);
		for (size_t i = 0; i < t->nconnect; i++) {
			const struct topo_connect *e = &t->connect[i];
			printf("connect %s -> %s  x%u open  rtt %.2f ms  retrans %llu", e->process,
			       e->peer, e->count, e->rtt_ms, (unsigned long long)e->retransmits);
			if (e->recent)
				printf("  (last hour: %llu connections, %llu failed, %.2f ms to "
				       "connect, %llu B sent, %llu B received)",
				       (unsigned long long)e->recent_connections,
				       (unsigned long long)e->recent_failures, e->recent_connect_ms,
				       (unsigned long long)e->recent_bytes_sent,
				       (unsigned long long)e->recent_bytes_received);
			printf("\n");
		}
		printf("kernel flows: %s\n", t->flows);
		r = 0;
	}
	cJSON_Delete(o);
	topo_free(t);
	return r;
}
