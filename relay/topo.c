/* topo.c - merged topology, find and expand; see topo.h. */
#define LOG_MODULE "topo"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <uthash.h>

#include "relay/inbox.h"
#include "relay/modules.h"
#include "relay/topo.h"
#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define ADDR_MAX 64 /* "[v6]:port" fits */

enum node_kind { NODE_HOST, NODE_SERVICE, NODE_EXTERNAL };
static const char *const kind_names[] = { "host", "service", "external" };

struct node {
	char id[AUTH_EDGE_ID_MAX + ADDR_MAX + 16];
	enum node_kind kind;
	char host[AUTH_EDGE_ID_MAX + 1]; /* hosts and services: the edge */
	char addr[ADDR_MAX];             /* services: listen address; externals: peer address */
	int port;
	char process[64];
	cJSON *addresses;        /* hosts: their addresses (owned) */
	size_t *out, nout, aout; /* indices of links leaving this node */
	size_t *in, nin, ain;    /* ... and arriving */
	UT_hash_handle hh;
};

struct link {
	size_t from, to;
	const char *rel; /* "connects" (host -> service), "served_by" (service -> host) */
};

/* Where an address:port is served: "10.0.0.5:5432" -> service node index. */
struct endpoint {
	char key[ADDR_MAX + 8];
	size_t node;
	UT_hash_handle hh;
};

struct topo_graph {
	struct node **nodes;
	size_t n, alloc;
	struct link *links;
	size_t nlinks, alinks;
	struct node *by_id;
	struct endpoint *endpoints;
};

/* ---- validating reports --------------------------------------------------------- */

static bool valid_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* "1.2.3.4:80" or "[::1]:80" -> addr, port */
static int split_peer(const char *s, char *addr, size_t addrsz, int *port)
{
	const char *colon;
	const char *a = s;
	size_t al;
	int64_t p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		a = s + 1;
		al = (size_t)(close - a);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		al = (size_t)(colon - s);
	}
	if (al == 0 || al >= addrsz)
		return -EINVAL;
	memcpy(addr, a, al);
	addr[al] = '\0';
	if (!valid_ip(addr) || str_to_i64(colon + 1, &p) < 0 || p < 1 || p > 65535)
		return -EINVAL;
	*port = (int)p;
	return 0;
}

static int check_report(const cJSON *rep, struct diag *d)
{
	const cJSON *addrs, *listen, *conn, *it;
	int i = 0, total = 0;

	if (!cJSON_IsObject(rep))
		return diag_set(d, -EINVAL, "topology: expected an object");
	addrs = cJSON_GetObjectItemCaseSensitive(rep, "addresses");
	listen = cJSON_GetObjectItemCaseSensitive(rep, "listen");
	conn = cJSON_GetObjectItemCaseSensitive(rep, "connect");
	if ((addrs && !cJSON_IsArray(addrs)) || (listen && !cJSON_IsArray(listen)) ||
	    (conn && !cJSON_IsArray(conn)))
		return diag_set(d, -EINVAL,
		                "topology: addresses, listen and connect must be arrays");
	cJSON_ArrayForEach(it, addrs) {
		if (!cJSON_IsString(it) || !valid_ip(it->valuestring))
			return diag_set(d, -EINVAL,
			                "topology.addresses[%d]: expected an IP address", i);
		if (++total > TOPO_MAX_ENTRIES)
			return diag_set(d, -E2BIG, "topology: more than %d entries",
			                TOPO_MAX_ENTRIES);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(it, listen) {
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(it, "port");
		const cJSON *addr = cJSON_GetObjectItemCaseSensitive(it, "addr");
		const cJSON *proc = cJSON_GetObjectItemCaseSensitive(it, "process");

		if (!cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
		    port->valuedouble != (double)(int)port->valuedouble)
			return diag_set(d, -EINVAL, "topology.listen[%d].port: expected 1-65535",
			                i);
		if (addr && (!cJSON_IsString(addr) || !valid_ip(addr->valuestring)))
			return diag_set(d, -EINVAL,
			                "topology.listen[%d].addr: expected an IP address", i);
		if (proc && (!cJSON_IsString(proc) || strlen(proc->valuestring) > 63))
			return diag_set(d, -EINVAL,
			                "topology.listen[%d].process: expected at most 63 bytes",
			                i);
		if (++total > TOPO_MAX_ENTRIES)
			return diag_set(d, -E2BIG, "topology: more than %d entries",
			                TOPO_MAX_ENTRIES);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(it, conn) {
		const cJSON *peer = cJSON_GetObjectItemCaseSensitive(it, "peer");
		const cJSON *proc = cJSON_GetObjectItemCaseSensitive(it, "process");
		char a[ADDR_MAX];
		int port;

		if (!cJSON_IsString(peer) || split_peer(peer->valuestring, a, sizeof(a), &port) < 0)
			return diag_set(d, -EINVAL,
			                "topology.connect[%d].peer: expected ADDRESS:PORT", i);
		if (proc && (!cJSON_IsString(proc) || strlen(proc->valuestring) > 63))
			return diag_set(d, -EINVAL,
			                "topology.connect[%d].process: expected at most 63 bytes",
			                i);
		if (++total > TOPO_MAX_ENTRIES)
			return diag_set(d, -E2BIG, "topology: more than %d entries",
			                TOPO_MAX_ENTRIES);
		i++;
	}
	return 0;
}

int topo_store(sqlite3 *db, const char *edge, const cJSON *report, struct diag *d)
{
	sqlite3_stmt *st;
	char *text;
	int r;

	r = check_report(report, d);
	if (r < 0)
		return r;
	r = db_prepare(db,
	               "INSERT INTO topology(edge, graph, updated_ms) VALUES (?, ?, ?) "
	               "ON CONFLICT(edge) DO UPDATE SET graph = excluded.graph, "
	               "updated_ms = excluded.updated_ms",
	               &st, d);
	if (r < 0)
		return r;
	text = json_print(report, false);
	sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	free(text);
	return r;
}

/* ---- building the graph --------------------------------------------------------- */

static size_t node_add(struct topo_graph *g, const char *id, enum node_kind kind)
{
	struct node *n;

	HASH_FIND_STR(g->by_id, id, n);
	if (n) {
		for (size_t i = 0; i < g->n; i++)
			if (g->nodes[i] == n)
				return i;
	}
	n = xcalloc(1, sizeof(*n));
	str_copy(n->id, id, sizeof(n->id));
	n->kind = kind;
	HASH_ADD_STR(g->by_id, id, n);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, on purpose */
	ALLOC_GROW(g->nodes, g->n + 1, g->alloc);
	g->nodes[g->n] = n;
	return g->n++;
}

static void link_add(struct topo_graph *g, size_t from, size_t to, const char *rel)
{
	struct node *a = g->nodes[from], *b = g->nodes[to];

	for (size_t i = 0; i < a->nout; i++)
		if (g->links[a->out[i]].to == to)
			return;
	ALLOC_GROW(g->links, g->nlinks + 1, g->alinks);
	g->links[g->nlinks] = (struct link){ from, to, rel };
	ALLOC_GROW(a->out, a->nout + 1, a->aout);
	a->out[a->nout++] = g->nlinks;
	ALLOC_GROW(b->in, b->nin + 1, b->ain);
	b->in[b->nin++] = g->nlinks;
	g->nlinks++;
}

static void endpoint_add(struct topo_graph *g, const char *addr, int port, size_t node)
{
	struct endpoint *e;
	char key[ADDR_MAX + 8];

	snprintf(key, sizeof(key), "%s:%d", addr, port);
	HASH_FIND_STR(g->endpoints, key, e);
	if (e)
		return; /* first reporter wins; two hosts claiming one address is a config error */
	e = xcalloc(1, sizeof(*e));
	str_copy(e->key, key, sizeof(e->key));
	e->node = node;
	HASH_ADD_STR(g->endpoints, key, e);
}

static bool wildcard(const char *addr)
{
	return !addr || !*addr || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::");
}

int topo_load(sqlite3 *db, struct topo_graph **ret, struct diag *d)
{
	struct topo_graph *g = xcalloc(1, sizeof(*g));
	sqlite3_stmt *st;
	cJSON **reports = NULL;
	size_t *rep_host = NULL, nrep = 0, arep = 0, arep_host = 0;
	char id[sizeof(((struct node *)0)->id)];
	int r;

	r = db_prepare(db, "SELECT edge, graph FROM topology ORDER BY edge", &st, d);
	if (r < 0) {
		free(g);
		return r;
	}
	/* Pass 1: hosts, their services and the endpoints they serve. */
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *edge = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);
		cJSON *rep = cJSON_Parse(text ? text : "{}"), *it;
		size_t h;

		if (!rep)
			continue;
		snprintf(id, sizeof(id), "host:%s", edge);
		h = node_add(g, id, NODE_HOST);
		str_copy(g->nodes[h]->host, edge, sizeof(g->nodes[h]->host));
		g->nodes[h]->addresses =
		        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rep, "addresses"), true);
		if (!g->nodes[h]->addresses)
			g->nodes[h]->addresses = json_arr();
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "listen")) {
			const cJSON *addr = cJSON_GetObjectItemCaseSensitive(it, "addr");
			const cJSON *proc = cJSON_GetObjectItemCaseSensitive(it, "process");
			int port = (int)cJSON_GetObjectItemCaseSensitive(it, "port")->valuedouble;
			const char *a = cJSON_IsString(addr) ? addr->valuestring : "0.0.0.0";
			const cJSON *ha;
			size_t s;

			snprintf(id, sizeof(id), "service:%s:%d", edge, port);
			s = node_add(g, id, NODE_SERVICE);
			str_copy(g->nodes[s]->host, edge, sizeof(g->nodes[s]->host));
			str_copy(g->nodes[s]->addr, a, sizeof(g->nodes[s]->addr));
			g->nodes[s]->port = port;
			if (cJSON_IsString(proc))
				str_copy(g->nodes[s]->process, proc->valuestring,
				         sizeof(g->nodes[s]->process));
			link_add(g, s, h, "served_by");
			if (wildcard(a)) {
				cJSON_ArrayForEach(ha, g->nodes[h]->addresses) {
					endpoint_add(g, ha->valuestring, port, s);
				}
			} else {
				endpoint_add(g, a, port, s);
			}
		}
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		ALLOC_GROW(reports, nrep + 1, arep);
		ALLOC_GROW(rep_host, nrep + 1, arep_host);
		rep_host[nrep] = h;
		reports[nrep++] = rep;
	}
	sqlite3_finalize(st);
	/* Pass 2: connections, resolved against every edge's endpoints. */
	for (size_t i = 0; i < nrep; i++) {
		const cJSON *it;
		size_t h = rep_host[i];

		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(reports[i], "connect")) {
			const char *peer =
			        cJSON_GetObjectItemCaseSensitive(it, "peer")->valuestring;
			char a[ADDR_MAX], key[ADDR_MAX + 8];
			struct endpoint *e;
			int port;
			size_t x;

			if (split_peer(peer, a, sizeof(a), &port) < 0)
				continue;
			snprintf(key, sizeof(key), "%s:%d", a, port);
			HASH_FIND_STR(g->endpoints, key, e);
			if (e) {
				if (g->nodes[e->node]->host[0] &&
				    !strcmp(g->nodes[e->node]->host, g->nodes[h]->host))
					continue; /* a host talking to itself is not a dependency edge */
				link_add(g, h, e->node, "connects");
				continue;
			}
			snprintf(id, sizeof(id), "external:%s", key);
			x = node_add(g, id, NODE_EXTERNAL);
			str_copy(g->nodes[x]->addr, a, sizeof(g->nodes[x]->addr));
			g->nodes[x]->port = port;
			link_add(g, h, x, "connects");
		}
	}
	for (size_t i = 0; i < nrep; i++)
		cJSON_Delete(reports[i]);
	free(reports);
	free(rep_host);
	*ret = g;
	return 0;
}

void topo_graph_free(struct topo_graph *g)
{
	struct endpoint *e, *enext;

	if (!g)
		return;
	/* Free through the arrays and the items' own links after dropping the hash tables'
	 * buckets: no HASH_DEL on items about to be freed. */
	e = g->endpoints;
	HASH_CLEAR(hh, g->by_id);
	HASH_CLEAR(hh, g->endpoints);
	for (size_t i = 0; i < g->n; i++) {
		cJSON_Delete(g->nodes[i]->addresses);
		free(g->nodes[i]->out);
		free(g->nodes[i]->in);
		free(g->nodes[i]);
	}
	for (; e; e = enext) {
		enext = e->hh.next;
		free(e);
	}
	free(g->nodes);
	free(g->links);
	free(g);
}

/* ---- queries -------------------------------------------------------------------- */

static cJSON *node_json(const struct node *n)
{
	cJSON *o = json_obj();

	json_add_str(o, "id", n->id);
	json_add_str(o, "kind", kind_names[n->kind]);
	if (n->host[0])
		json_add_str(o, "host", n->host);
	if (n->kind == NODE_HOST)
		json_add(o, "addresses", cJSON_Duplicate(n->addresses, true));
	if (n->kind != NODE_HOST) {
		json_add_str(o, "address", n->addr);
		json_add_num(o, "port", n->port);
	}
	if (n->process[0])
		json_add_str(o, "process", n->process);
	return o;
}

static bool matches(const struct node *n, const char *q)
{
	const cJSON *a;
	char ap[ADDR_MAX + 8];

	if (!strcmp(n->id, q) || (n->kind == NODE_HOST && !strcasecmp(n->host, q)))
		return true;
	if (n->kind == NODE_HOST) {
		cJSON_ArrayForEach(a, n->addresses) {
			if (!strcmp(a->valuestring, q))
				return true;
		}
		return false;
	}
	snprintf(ap, sizeof(ap), "%s:%d", n->addr, n->port);
	if (!strcmp(ap, q) || (n->process[0] && !strcmp(n->process, q)))
		return true;
	return false;
}

static bool service_at(const struct topo_graph *g, const struct node *n, const char *q)
{
	struct endpoint *e;

	HASH_FIND_STR(g->endpoints, q, e);
	return e && g->nodes[e->node] == n;
}

cJSON *topo_find(const struct topo_graph *g, const char *query)
{
	cJSON *out = json_obj(), *arr = json_arr();

	for (size_t i = 0; i < g->n; i++)
		if (matches(g->nodes[i], query) || service_at(g, g->nodes[i], query))
			json_push(arr, node_json(g->nodes[i]));
	json_add(out, "nodes", arr);
	return out;
}

int topo_dir_parse(const char *s, enum topo_dir *ret)
{
	if (!strcmp(s, "upstream"))
		*ret = TOPO_UPSTREAM;
	else if (!strcmp(s, "downstream"))
		*ret = TOPO_DOWNSTREAM;
	else if (!strcmp(s, "both"))
		*ret = TOPO_BOTH;
	else
		return -EINVAL;
	return 0;
}

int topo_expand(const struct topo_graph *g, const char *query, int hops, enum topo_dir dir,
                cJSON **ret, struct diag *d)
{
	size_t start = (size_t)-1, nmatch = 0;
	int *dist;
	cJSON *out, *nodes, *links;

	if (hops < 1 || hops > TOPO_MAX_HOPS)
		return diag_set(d, -EINVAL, "hops: expected 1-%d, got %d", TOPO_MAX_HOPS, hops);
	for (size_t i = 0; i < g->n; i++) {
		if (!strcmp(g->nodes[i]->id, query)) {
			start = i;
			nmatch = 1;
			break;
		}
		if (matches(g->nodes[i], query) || service_at(g, g->nodes[i], query)) {
			/* An address names a host and its services: prefer the host. */
			if (start != (size_t)-1 && g->nodes[start]->kind == NODE_HOST &&
			    g->nodes[i]->kind != NODE_HOST &&
			    !strcmp(g->nodes[i]->host, g->nodes[start]->host))
				continue;
			if (start != (size_t)-1 && g->nodes[i]->kind == NODE_HOST &&
			    g->nodes[start]->kind != NODE_HOST &&
			    !strcmp(g->nodes[i]->host, g->nodes[start]->host)) {
				start = i;
				continue;
			}
			start = i;
			nmatch++;
		}
	}
	if (start == (size_t)-1)
		return diag_set(d, -ENOENT, "no topology node matches '%s'", query);
	if (nmatch > 1)
		return diag_set(d, -EINVAL,
		                "'%s' matches %zu nodes; use an id from find_topology_node", query,
		                nmatch);
	/* Shortest distances in hops, where a hop is one arrival at a host or external node
	 * (host -> service -> host is one hop; a service belongs to its host). A path of h
	 * hops has at most 2h+1 links, so that many rounds of relaxation settle it. */
	dist = xmalloc(st_mul(g->n, sizeof(*dist)));
	for (size_t i = 0; i < g->n; i++)
		dist[i] = -1;
	dist[start] = 0;
	for (int round = 0; round < 2 * hops + 2; round++) {
		bool changed = false;

		for (size_t li = 0; li < g->nlinks; li++) {
			for (int pass = 0; pass < 2; pass++) {
				bool fwd = pass == 0;
				size_t u = fwd ? g->links[li].from : g->links[li].to;
				size_t v = fwd ? g->links[li].to : g->links[li].from;
				int dv;

				if ((fwd && dir == TOPO_DOWNSTREAM) ||
				    (!fwd && dir == TOPO_UPSTREAM))
					continue;
				if (dist[u] < 0)
					continue;
				dv = dist[u] + (g->nodes[v]->kind == NODE_SERVICE ? 0 : 1);
				if (dv <= hops && (dist[v] < 0 || dv < dist[v])) {
					dist[v] = dv;
					changed = true;
				}
			}
		}
		if (!changed)
			break;
	}
	out = json_obj();
	json_add_str(out, "start", g->nodes[start]->id);
	json_add_str(out, "direction",
	             dir == TOPO_UPSTREAM     ? "upstream"
	             : dir == TOPO_DOWNSTREAM ? "downstream"
	                                      : "both");
	json_add_num(out, "hops", hops);
	nodes = json_arr();
	for (size_t i = 0; i < g->n; i++) {
		if (dist[i] < 0)
			continue;
		cJSON *o = node_json(g->nodes[i]);
		json_add_num(o, "hops", dist[i]);
		json_push(nodes, o);
	}
	links = json_arr();
	for (size_t i = 0; i < g->nlinks; i++) {
		cJSON *o;
		if (dist[g->links[i].from] < 0 || dist[g->links[i].to] < 0)
			continue;
		o = json_obj();
		json_add_str(o, "from", g->nodes[g->links[i].from]->id);
		json_add_str(o, "to", g->nodes[g->links[i].to]->id);
		json_add_str(o, "rel", g->links[i].rel);
		json_push(links, o);
	}
	json_add(out, "nodes", nodes);
	json_add(out, "links", links);
	free(dist);
	*ret = out;
	return 0;
}

/* ---- relay handlers ------------------------------------------------------------- */

struct topo_mod {
	struct relay *relay;
	struct topo_graph *graph; /* cached; NULL after a report */
};

static struct topo_graph *graph_get(struct topo_mod *m, struct diag *d)
{
	if (!m->graph && topo_load(relay_db(m->relay), &m->graph, d) < 0)
		return NULL;
	return m->graph;
}

static void on_report(struct relay_call *call, const cJSON *p, void *udata)
{
	struct topo_mod *m = udata;
	struct diag d = { 0 };
	int r = topo_store(relay_db(m->relay), relay_call_edge(call), p, &d);

	if (r < 0) {
		relay_reply_error(call, r, "%s", d.msg);
		return;
	}
	topo_graph_free(m->graph);
	m->graph = NULL;
	relay_reply(call, NULL);
}

/* The same report, delivered through the outbox (exactly once, survives relay downtime). */
static void on_outbox_report(void *udata, const char *edge, const char *msg_id, const cJSON *body)
{
	struct topo_mod *m = udata;
	struct diag d = { 0 };

	if (topo_store(relay_db(m->relay), edge, body, &d) < 0) {
		log_warn("topology update '%s' from '%s' refused: %s", msg_id, edge, d.msg);
		return;
	}
	topo_graph_free(m->graph);
	m->graph = NULL;
}

static void on_find(struct relay_call *call, const cJSON *p, void *udata)
{
	struct topo_mod *m = udata;
	const char *q = NULL;
	struct diag d = { 0 };
	struct topo_graph *g;
	cJSON *out;

	if (!p || json_get_string(p, "query", &q, "topology.find", &d) < 0 || !q || !*q ||
	    strlen(q) > 128) {
		relay_reply_error(call, -EINVAL, "%s",
		                  d.code ? d.msg : "topology.find.query: 1-128 characters");
		return;
	}
	g = graph_get(m, &d);
	if (!g) {
		relay_reply_error(call, -EIO, "%s", d.msg);
		return;
	}
	out = topo_find(g, q);
	relay_reply(call, out);
	cJSON_Delete(out);
}

static void on_expand(struct relay_call *call, const cJSON *p, void *udata)
{
	struct topo_mod *m = udata;
	const char *q = NULL, *dir_s = "upstream";
	int64_t hops = 1;
	enum topo_dir dir;
	struct diag d = { 0 };
	struct topo_graph *g;
	cJSON *out = NULL;
	int r;

	if (!p || json_get_string(p, "node", &q, "topology.expand", &d) < 0 || !q ||
	    strlen(q) > 128 || json_get_int(p, "hops", &hops, "topology.expand", &d) == -EINVAL ||
	    json_get_string(p, "direction", &dir_s, "topology.expand", &d) == -EINVAL) {
		relay_reply_error(call, -EINVAL, "%s",
		                  d.code ? d.msg : "topology.expand.node: 1-128 characters");
		return;
	}
	if (!dir_s)
		dir_s = "upstream";
	if (topo_dir_parse(dir_s, &dir) < 0) {
		relay_reply_error(call, -EINVAL,
		                  "topology.expand.direction: upstream, downstream or both");
		return;
	}
	g = graph_get(m, &d);
	if (!g) {
		relay_reply_error(call, -EIO, "%s", d.msg);
		return;
	}
	r = topo_expand(g, q, hops > 1000 ? 1000 : (int)hops, dir, &out, &d);
	if (r < 0) {
		relay_reply_error(call, r, "%s", d.msg);
		return;
	}
	relay_reply(call, out);
	cJSON_Delete(out);
}

static void topo_mod_free(void *udata)
{
	struct topo_mod *m = udata;

	topo_graph_free(m->graph);
	free(m);
}

int topo_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	struct topo_mod *m = xcalloc(1, sizeof(*m));
	int rc;

	(void)conf;
	m->relay = r;
	relay_at_free(r, topo_mod_free, m);
	rc = relay_register_handler(r, "topology.report", on_report, m);
	if (rc == 0)
		rc = relay_register_handler(r, "topology.find", on_find, m);
	if (rc == 0)
		rc = relay_register_handler(r, "topology.expand", on_expand, m);
	if (rc == 0)
		rc = inbox_subscribe(r, "topology", on_outbox_report, m);
	if (rc < 0)
		return diag_set(d, rc, "cannot register the topology handlers");
	return 0;
}
