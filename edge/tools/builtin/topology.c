/* topology.c - find_topology_node and expand_topology over the local graph (edge/topo.h):
 * which local process talks to which peer, what listens here and who connects to it.
 * Node ids follow the relay's (docs/protocol.md): host:NAME, service:HOST:PORT,
 * external:ADDR:PORT; the relay answers the same questions across hosts. When the daemon
 * runs, the tcp eBPF collector's per-peer retransmits and RTT of the last 15 minutes are
 * added to each peer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/topo.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Downstream clients listed per service. */
#define TOPO_CLIENTS_MAX 50

/* The daemon's per-peer history (peer address -> retransmits in 15 m), or NULL. */
static cJSON *peer_history(const struct edge_conf *c, const char *expr)
{
	struct diag d = { 0 };
	cJSON *res = NULL;

	if (evidence_promql(c, expr, 0, &res, &d) < 0)
		return NULL;
	return res;
}

static double history_for(const cJSON *res, const char *addr)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, res) {
		const cJSON *m = cJSON_GetObjectItem(s, "metric");
		const char *peer = cJSON_GetStringValue(cJSON_GetObjectItem(m, "peer"));
		if (peer && strcmp(peer, addr) == 0) {
			const char *v = cJSON_GetStringValue(
			        cJSON_GetArrayItem(cJSON_GetObjectItem(s, "value"), 1));
			return v ? strtod(v, NULL) : NAN;
		}
	}
	return NAN;
}

static cJSON *service_node(const struct edge_conf *conf, const struct topo_listen *l)
{
	cJSON *o = json_obj();
	char id[128];

	snprintf(id, sizeof(id), "service:%s:%d", conf->name, l->port);
	json_add_str(o, "id", id);
	json_add_str(o, "kind", "service");
	json_add_str(o, "addr", l->addr);
	json_add_num(o, "port", l->port);
	json_add_str(o, "process", l->process);
	json_add_num(o, "pid", l->pid);
	json_add_num(o, "connections", l->connections);
	json_add_num(o, "clients", l->clients);
	return o;
}

static cJSON *peer_node(const struct topo_connect *c, const cJSON *retr, const cJSON *rtt)
{
	cJSON *o = json_obj();
	char id[128];

	snprintf(id, sizeof(id), "external:%s", c->peer);
	json_add_str(o, "id", id);
	json_add_str(o, "kind", "external");
	json_add_str(o, "peer", c->peer);
	json_add_str(o, "process", c->process);
	json_add_num(o, "pid", c->pid);
	json_add_num(o, "connections", c->count);
	json_add_num(o, "bytes_sent", (double)c->bytes_sent);
	json_add_num(o, "bytes_received", (double)c->bytes_received);
	json_add_num(o, "rtt_ms", (double)(int64_t)(c->rtt_ms * 1000) / 1000);
	json_add_num(o, "retransmits", (double)c->retransmits);
	if (c->recent) { /* every connection the kernel saw in the last hour, however short */
		json_add_num(o, "connections_1h", (double)c->recent_connections);
		json_add_num(o, "failed_connects_1h", (double)c->recent_failures);
		json_add_num(o, "connect_ms_avg",
		             (double)(int64_t)(c->recent_connect_ms * 1000) / 1000);
		json_add_num(o, "bytes_sent_1h", (double)c->recent_bytes_sent);
		json_add_num(o, "bytes_received_1h", (double)c->recent_bytes_received);
		json_add_num(o, "retransmits_1h", (double)c->recent_retransmits);
		json_add_num(o, "idle_s", (double)c->recent_idle_s);
	}
	double h = history_for(retr, c->peer_addr);
	if (!isnan(h))
		json_add_num(o, "retransmits_15m", h);
	h = history_for(rtt, c->peer_addr);
	if (!isnan(h))
		json_add_num(o, "srtt_ms_ebpf", h * 1000);
	return o;
}

static bool listen_matches(const struct topo_listen *l, const char *q)
{
	char ap[80];

	snprintf(ap, sizeof(ap), "%s:%d", l->addr, l->port);
	return strcmp(l->process, q) == 0 || strcmp(ap, q) == 0 ||
	       (strspn(q, "0123456789") == strlen(q) && strtol(q, NULL, 10) == l->port) ||
	       (strncmp(q, "service:", 8) == 0 && strrchr(q, ':') &&
	        strtol(strrchr(q, ':') + 1, NULL, 10) == l->port);
}

static bool connect_matches(const struct topo_connect *c, const char *q)
{
	return strcmp(c->process, q) == 0 || strcmp(c->peer, q) == 0 ||
	       strcmp(c->peer_addr, q) == 0 ||
	       (strncmp(q, "external:", 9) == 0 && strcmp(c->peer, q + 9) == 0);
}

static int find_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *q = arg_str(args, "query", "");
	struct topo *t;
	cJSON *ev, *nodes, *retr, *rtt;
	size_t limit = arg_limit(args), nl = 0, nc = 0;
	int r = topo_scan(&t, &ctx->diag);

	if (r < 0)
		return r;
	topo_add_daemon_flows(t, ctx->conf->control_socket);
	retr = peer_history(ctx->conf, "increase(ongrid_tcp_retransmits_total[15m])");
	rtt = peer_history(ctx->conf, "ongrid_tcp_srtt_seconds");
	ev = evidence_new();
	json_add_str(ev, "kernel_flows", t->flows);
	json_add_str(ev, "history",
	             retr ? "on: per-peer retransmits of the last 15 minutes"
	                  : "off: no daemon, live socket figures only");
	nodes = evidence_rows(ev, "nodes");
	bool host = strcmp(q, ctx->conf->name) == 0 ||
	            (strncmp(q, "host:", 5) == 0 && strcmp(q + 5, ctx->conf->name) == 0);
	if (host) {
		cJSON *o = json_obj();
		char id[128];
		snprintf(id, sizeof(id), "host:%s", ctx->conf->name);
		json_add_str(o, "id", id);
		json_add_str(o, "kind", "host");
		json_add_num(o, "services", (double)t->nlisten);
		json_add_num(o, "peers", (double)t->nconnect);
		json_push(nodes, o);
	}
	for (size_t i = 0; i < t->nlisten; i++)
		if (listen_matches(&t->listen[i], q) && (size_t)cJSON_GetArraySize(nodes) < limit) {
			json_push(nodes, service_node(ctx->conf, &t->listen[i]));
			nl++;
		}
	for (size_t i = 0; i < t->nconnect; i++)
		if (connect_matches(&t->connect[i], q) &&
		    (size_t)cJSON_GetArraySize(nodes) < limit) {
			json_push(nodes, peer_node(&t->connect[i], retr, rtt));
			nc++;
		}
	if (cJSON_GetArraySize(nodes) == 0)
		evidence_say(ev,
		             "nothing here matches '%s' (%zu services listen, %zu peers are "
		             "connected to; a remote host is found at the relay)",
		             q, t->nlisten, t->nconnect);
	else
		evidence_say(ev, "'%s' matches %zu local services and %zu peer connections", q, nl,
		             nc);
	topo_free(t);
	cJSON_Delete(retr);
	cJSON_Delete(rtt);
	*ret_evidence = ev;
	return 0;
}

/* Established clients of a local port, grouped by address. */
static void add_clients(cJSON *ev, int port, size_t *ret_total)
{
	struct topo_sock *s;
	size_t n, total = 0;
	struct diag d = { 0 };
	cJSON *rows = evidence_rows(ev, "clients");

	if (topo_sockets(&s, &n, &d) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i].state != 1 || s[i].lport != port)
			continue;
		total++;
		cJSON *row = NULL, *it;
		cJSON_ArrayForEach(it, rows)
			if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "addr")),
			           s[i].raddr) == 0)
				row = it;
		if (!row) {
			if (cJSON_GetArraySize(rows) >= TOPO_CLIENTS_MAX)
				continue;
			row = json_obj();
			json_add_str(row, "addr", s[i].raddr);
			json_add_num(row, "connections", 0);
			json_add_num(row, "bytes_received", 0);
			json_add_num(row, "bytes_sent", 0);
			json_push(rows, row);
		}
		cJSON_SetNumberValue(cJSON_GetObjectItem(row, "connections"),
		                     cJSON_GetNumberValue(cJSON_GetObjectItem(row, "connections")) +
		                             1);
		cJSON_SetNumberValue(
		        cJSON_GetObjectItem(row, "bytes_received"),
		        cJSON_GetNumberValue(cJSON_GetObjectItem(row, "bytes_received")) +
		                (double)s[i].bytes_received);
		cJSON_SetNumberValue(cJSON_GetObjectItem(row, "bytes_sent"),
		                     cJSON_GetNumberValue(cJSON_GetObjectItem(row, "bytes_sent")) +
		                             (double)s[i].bytes_acked);
	}
	free(s);
	*ret_total = total;
}

static int expand_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *q = arg_str(args, "node", ""), *dir = arg_str(args, "direction", "both");
	bool up = strcmp(dir, "downstream") != 0, down = strcmp(dir, "upstream") != 0;
	bool host = strcmp(q, ctx->conf->name) == 0 ||
	            (strncmp(q, "host:", 5) == 0 && strcmp(q + 5, ctx->conf->name) == 0);
	struct topo *t;
	cJSON *ev, *links, *retr, *rtt, *services;
	int r = topo_scan(&t, &ctx->diag);

	if (r < 0)
		return r;
	topo_add_daemon_flows(t, ctx->conf->control_socket);
	retr = peer_history(ctx->conf, "increase(ongrid_tcp_retransmits_total[15m])");
	rtt = peer_history(ctx->conf, "ongrid_tcp_srtt_seconds");
	ev = evidence_new();
	json_add_str(ev, "node", q);
	json_add_str(ev, "direction", dir);
	json_add_str(ev, "kernel_flows", t->flows);
	json_add_str(ev, "history",
	             retr ? "on: per-peer retransmits of the last 15 minutes"
	                  : "off: no daemon, live socket figures only");
	services = evidence_rows(ev, "services");
	links = evidence_rows(ev, "upstream");
	/* the processes the node stands for */
	size_t nproc = 0, nup = 0;
	const char *procs[64];
	for (size_t i = 0; i < t->nlisten && nproc < 64; i++)
		if (host || listen_matches(&t->listen[i], q)) {
			procs[nproc++] = t->listen[i].process;
			json_push(services, service_node(ctx->conf, &t->listen[i]));
		}
	if (!host && nproc == 0)
		procs[nproc++] = q; /* a process that only connects out */
	if (up) {
		for (size_t i = 0; i < t->nconnect; i++) {
			bool mine = host;
			for (size_t k = 0; k < nproc && !mine; k++)
				mine = strcmp(t->connect[i].process, procs[k]) == 0;
			if (!mine || (size_t)cJSON_GetArraySize(links) >= arg_limit(args))
				continue;
			json_push(links, peer_node(&t->connect[i], retr, rtt));
			nup++;
		}
		evidence_say(ev, "upstream of %s: %zu peers it connects to", q, nup);
		/* the worst peer by retransmits */
		cJSON *it, *worst = NULL;
		cJSON_ArrayForEach(it, links)
			if (!worst ||
			    cJSON_GetNumberValue(cJSON_GetObjectItem(it, "retransmits")) >
			            cJSON_GetNumberValue(cJSON_GetObjectItem(worst, "retransmits")))
				worst = it;
		if (worst && cJSON_GetNumberValue(cJSON_GetObjectItem(worst, "retransmits")) > 0)
			evidence_say(
			        ev,
			        "most retransmits: %s (%s), %.0f on %.0f open connections, "
			        "RTT %.2f ms",
			        cJSON_GetStringValue(cJSON_GetObjectItem(worst, "peer")),
			        cJSON_GetStringValue(cJSON_GetObjectItem(worst, "process")),
			        cJSON_GetNumberValue(cJSON_GetObjectItem(worst, "retransmits")),
			        cJSON_GetNumberValue(cJSON_GetObjectItem(worst, "connections")),
			        cJSON_GetNumberValue(cJSON_GetObjectItem(worst, "rtt_ms")));
	}
	if (down) {
		cJSON *it;
		size_t total = 0, all = 0;
		cJSON *downs = evidence_rows(ev, "downstream");
		cJSON_ArrayForEach(it, services) {
			cJSON *one = json_obj();
			json_add_num(one, "port",
			             cJSON_GetNumberValue(cJSON_GetObjectItem(it, "port")));
			add_clients(one, (int)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "port")),
			            &total);
			all += total;
			json_push(downs, one);
		}
		evidence_say(ev,
		             "downstream of %s: %zu established client connections to %d "
		             "listening services",
		             q, all, cJSON_GetArraySize(services));
	}
	evidence_say(ev, "this is the local view; hops across hosts are expanded at the relay");
	topo_free(t);
	cJSON_Delete(retr);
	cJSON_Delete(rtt);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_find_topology_node = {
	.name = "find_topology_node",
	.class = TOOL_SAFE_READ,
	.summary = "find a service, process or peer in this host's connection graph",
	.description = "Look up a process name, a local port, an address, address:port or a "
	               "node id (host:NAME, service:HOST:PORT, external:ADDR:PORT) in the "
	               "local graph: listening services with their connection and client "
	               "counts, and peers with connections, bytes, RTT and retransmits.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"query\"],\"properties\":{"
	               "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = find_run,
};

const struct tool tool_expand_topology = {
	.name = "expand_topology",
	.class = TOOL_SAFE_READ,
	.summary = "what a local service or process depends on, and who depends on it",
	.description = "From a node (this host's name, a process, a port, a service id): "
	               "upstream = the peers it connects to, with connections, bytes, RTT and "
	               "retransmits (and the last 15 minutes' retransmits per peer when the "
	               "daemon runs); downstream = the clients connected to its listening "
	               "ports, per address.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"node\"],\"properties\":{"
	               "\"node\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
	               "\"direction\":{\"type\":\"string\",\"enum\":[\"upstream\",\"downstream\","
	               "\"both\"]},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = expand_run,
};
